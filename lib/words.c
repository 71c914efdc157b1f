/*
 * words.c - text as folded words, and phrases matched over them.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "words.h"

static const struct { const char *from, *to; } contractions[] = {
	{"i'll", "i will"}, {"we'll", "we will"}, {"you'll", "you will"},
	{"he'll", "he will"}, {"she'll", "she will"}, {"they'll", "they will"},
	{"it'll", "it will"}, {"i'm", "i am"}, {"we're", "we are"},
	{"you're", "you are"}, {"they're", "they are"}, {"it's", "it is"},
	{"that's", "that is"}, {"there's", "there is"}, {"what's", "what is"},
	{"i've", "i have"}, {"we've", "we have"}, {"you've", "you have"},
	{"i'd", "i would"}, {"we'd", "we would"}, {"you'd", "you would"},
	{"don't", "do not"}, {"doesn't", "does not"}, {"didn't", "did not"},
	{"can't", "cannot"}, {"won't", "will not"}, {"wouldn't", "would not"},
	{"couldn't", "could not"}, {"shouldn't", "should not"}, {"isn't", "is not"},
	{"aren't", "are not"}, {"wasn't", "was not"}, {"haven't", "have not"},
	{"hasn't", "has not"}, {"let's", "let us"}, {"gonna", "going to"},
	{"wanna", "want to"}, {"gotta", "have to"}, {"can not", "cannot"},
};

void crm_words_fold(const char *s, size_t n, struct crm_words *w)
{
	char tmp[2048];
	size_t k = 0, b = 0;

	/* Lower case; keep letters, digits, apostrophes and '-' in dates. */
	for (size_t i = 0; i < n && k + 1 < sizeof tmp; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    (unsigned char)s[i + 2] == 0x99)	/* ’ */
			c = '\'', i += 2;
		if (isalnum(c) || c == '\'' || c >= 0x80 ||
		    ((c == '-' || c == ':' || c == '/') && k && isdigit((unsigned char)tmp[k - 1]) &&
		     i + 1 < n && isdigit((unsigned char)s[i + 1])))
			tmp[k++] = (char)tolower(c);
		else
			tmp[k++] = ' ';
	}
	tmp[k] = 0;
	w->n = 0;
	for (char *save = NULL, *t = strtok_r(tmp, " ", &save); t && w->n < CRM_MAXW;
	     t = strtok_r(NULL, " ", &save)) {
		const char *rep = t;
		while (*t == '\'')
			t++;
		rep = t;
		for (size_t c = 0; c < sizeof contractions / sizeof *contractions; c++)
			if (!strcmp(t, contractions[c].from)) {
				rep = contractions[c].to;
				break;
			}
		size_t L = strlen(rep);
		if (!L || b + L + 1 >= sizeof w->buf)
			continue;
		memcpy(w->buf + b, rep, L + 1);
		/* A two-word expansion becomes two words. */
		char *sp = strchr(w->buf + b, ' ');
		w->w[w->n++] = w->buf + b;
		if (sp && w->n < CRM_MAXW) {
			*sp = 0;
			w->w[w->n++] = sp + 1;
		}
		b += L + 1;
	}
}

/* dst is a copy of src: point its words into its own buffer. */
void crm_words_move(struct crm_words *dst, const struct crm_words *src)
{
	for (size_t i = 0; i < src->n; i++)
		dst->w[i] = dst->buf + (src->w[i] - src->buf);
}

/* Does word w match alternative list alt ("a|b|c", "*")? */
int crm_word_is(const char *w, const char *alt, size_t altn)
{
	const char *p = alt, *end = alt + altn;

	if (altn == 1 && *alt == '*')
		return 1;
	while (p < end) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		size_t len = (size_t)((bar ? bar : end) - p);
		if (strlen(w) == len && !memcmp(w, p, len))
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

int crm_word_in(const char *w, const char *alts)
{
	return crm_word_is(w, alts, strlen(alts));
}

/* Length in words of phrase ph matched at position i, or 0. */
size_t crm_match_at(const struct crm_words *w, size_t i, const char *ph)
{
	size_t k = i;

	while (*ph) {
		const char *sp = strchr(ph, ' ');
		size_t len = sp ? (size_t)(sp - ph) : strlen(ph);
		if (k >= w->n || !crm_word_is(w->w[k], ph, len))
			return 0;
		k++;
		ph += len + (sp != NULL);
	}
	return k - i;
}

/* First position of ph at or after from, or -1. */
long crm_find(const struct crm_words *w, size_t from, const char *ph)
{
	for (size_t i = from; i < w->n; i++)
		if (crm_match_at(w, i, ph))
			return (long)i;
	return -1;
}

size_t crm_count_any(const struct crm_words *w, const char *const *ph, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += crm_find(w, 0, ph[i]) >= 0;
	return c;
}
