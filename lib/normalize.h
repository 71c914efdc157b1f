/*
 * normalize.h - checking and canonicalising single field values on their
 * way into the database: text encoding, dates, numbers, emails, names.
 *
 * Every parser here takes a NUL-terminated value, returns 0 and writes the
 * canonical form on success, and returns -1 with a short reason ("month 13
 * out of range") in *why (a static string) on failure.
 */
#ifndef CRM_NORMALIZE_H
#define CRM_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* Order of day and month in slash dates such as 3/1/2017. */
enum crm_date_order { CRM_DATE_MDY, CRM_DATE_DMY };

/* Longest canonical time, "YYYY-MM-DDTHH:MM:SS.mmmZ", plus NUL. */
#define CRM_TIME_MAX 25

/*
 * Is s[0..n) well-formed UTF-8 (no overlongs, no surrogates, no NUL)?
 * On failure *at (may be NULL) is the byte offset of the first bad byte.
 */
int crm_utf8_valid(const char *s, size_t n, size_t *at);

/*
 * Parse a date or date-time: 2017-03-01, 2017-03-01T10:30:00+02:00,
 * 2017-03-01 10:30, 3/1/2017 (or 1/3/2017 with CRM_DATE_DMY), 3/1/17,
 * 1.3.2017, 20170301, 2017/03/01, a Unix time in seconds (10 digits) or
 * milliseconds (13 digits), with an optional "10:30 AM" after slash dates.
 * out (CRM_TIME_MAX bytes) gets "YYYY-MM-DD" for a plain date, or the UTC
 * time "YYYY-MM-DDTHH:MM:SSZ" when a time was given, with ".mmm" before
 * the Z when it had a fraction of a second (more digits are cut).
 */
int crm_parse_time(const char *s, enum crm_date_order order, char *out,
		   const char **why);

/*
 * Parse a decimal number: -12, 3.5, 1e3, 1,054.50 (comma thousands
 * groups), with an optional leading currency sign ($, €, £, ¥).
 */
/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1-12). */
int64_t crm_days_from_civil(int64_t y, int m, int d);

int crm_parse_number(const char *s, double *out, const char **why);

/* Parse an integer (optionally with comma thousands groups, or "12.0"). */
int crm_parse_int(const char *s, int64_t *out, const char **why);

/*
 * Check an email address and write it trimmed and lower-cased into out
 * (at least strlen(s) + 1 bytes).
 */
int crm_norm_email(const char *s, char *out, const char **why);

/*
 * A lookup key for a name or a header: ASCII letters and digits, lower
 * case, everything else dropped ("GTX Pro" and "GTXPro" -> "gtxpro";
 * "E-mail Address" -> "emailaddress"). Bytes >= 0x80 are kept so names in
 * other scripts still have a key. out needs strlen(s) + 1 bytes.
 */
void crm_norm_key(const char *s, char *out);

/* Trim ASCII white space in place: returns s advanced, end cut. */
char *crm_trim(char *s);

/* Does s look like a JSON number we may store as one (no leading zeros)? */
int crm_is_plain_number(const char *s);

#endif
