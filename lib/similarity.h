/*
 * similarity.h - string comparators and match keys for record linkage.
 *
 * Comparators work on folded text: crm_fold() turns a value into lower-case
 * ASCII words (accents removed, punctuation to spaces), so "Chloé
 * DUBOIS-Martin" and "chloe dubois martin" compare as equal.
 */
#ifndef CRM_SIMILARITY_H
#define CRM_SIMILARITY_H

#include <stddef.h>

/*
 * Fold s into out (at least 2 * strlen(s) + 1 bytes): lower case, Latin
 * accents removed (ß -> ss, æ -> ae), anything else that is not a letter
 * or digit becomes one space, no leading or trailing space. Returns the
 * length written.
 */
size_t crm_fold(const char *s, char *out);

/* Jaro-Winkler similarity of a and b, 0..1 (1: equal). */
double crm_jaro_winkler(const char *a, const char *b);

/*
 * Damerau-Levenshtein distance (optimal string alignment: insertions,
 * deletions, substitutions, adjacent transpositions). Stops counting past
 * max and returns max + 1 then.
 */
int crm_edit_distance(const char *a, const char *b, int max);

/*
 * Token-set similarity: |A and B| / min(|A|, |B|) over the space-separated
 * words of a and b, so "acme widgets" vs "acme widgets inc" is 1. 0 when
 * either is empty.
 */
double crm_sim_token_set(const char *a, const char *b);

/*
 * NYSIIS phonetic code of a folded name (letters only are used), at most
 * 8 characters, into out (>= 9 bytes). "" when there are no letters.
 */
void crm_nysiis(const char *name, char *out);

/*
 * The usual given name for a nickname ("bill" -> "william", "liz" ->
 * "elizabeth"), or name itself. name is folded, one word.
 */
const char *crm_nickname(const char *name);

/*
 * Match keys, written into out (>= 2 * strlen(s) + 1 bytes, as folding
 * may lengthen; "" when s holds nothing usable):
 *   email: lower case, +tag dropped, dots dropped for gmail.com (and
 *     googlemail.com, which becomes gmail.com);
 *   phone: the last 9 digits (country prefixes and formatting vary more
 *     than the subscriber number does); fewer than 6 digits is nothing;
 *   company: folded, legal suffixes (inc, ltd, gmbh, llc...) dropped.
 */
void crm_sim_key_email(const char *s, char *out);
void crm_sim_key_phone(const char *s, char *out);
void crm_sim_key_company(const char *s, char *out);

/*
 * Street address key: folded, street types, directions and unit words in
 * one short form ("Street" and "St." are "st", "West" is "w", "Suite" is
 * "ste", "and" dropped), so numbers and names can be compared as such.
 */
void crm_sim_key_address(const char *s, char *out);

/* Is the email match key a personal (free-mail) address? */
int crm_email_personal(const char *key);

#endif
