/*
 * words.h - text as folded words, and phrases matched over them.
 *
 * Folding lower-cases, drops punctuation (keeping apostrophes, and '-',
 * ':' and '/' between digits: "2026-03-02", "14:30", "3/12") and expands
 * contractions ("I'll" is "i will", "let's" is "let us"). A phrase is a
 * sequence of words separated by spaces, each "a|b|c" (any of them) or
 * "*" (any one word).
 */
#ifndef CRM_WORDS_H
#define CRM_WORDS_H

#include <stddef.h>

#define CRM_MAXW 160

struct crm_words {
	char *w[CRM_MAXW];
	size_t n;
	char buf[2048];
};

void crm_words_fold(const char *s, size_t n, struct crm_words *w);
/* dst is a byte copy of src: point its words into its own buffer. */
void crm_words_move(struct crm_words *dst, const struct crm_words *src);
/* Is w one of the alternatives "a|b|c" (altn bytes), or is alt "*"? */
int crm_word_is(const char *w, const char *alt, size_t altn);
int crm_word_in(const char *w, const char *alts);
/* Length in words of phrase ph matched at position i, or 0. */
size_t crm_match_at(const struct crm_words *w, size_t i, const char *ph);
/* First position of ph at or after from, or -1. */
long crm_find(const struct crm_words *w, size_t from, const char *ph);
/* How many of the n phrases occur in w. */
size_t crm_count_any(const struct crm_words *w, const char *const *ph, size_t n);

#endif
