/*
 * normalize.c - field-level validation and canonical forms.
 *
 * Import calls these once per cell, so they avoid allocation and locale:
 * ASCII case folding by hand, dates parsed with a small hand-written
 * scanner rather than strptime (which differs between libcs and cannot
 * express "M/D/YYYY or D/M/YYYY").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalize.h"
#include "util.h"

int crm_utf8_valid(const char *str, size_t n, size_t *at)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			if (c == 0)
				goto bad;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (i + len > n)
			goto bad;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += len;
	}
	return 1;
bad:
	if (at)
		*at = i;
	return 0;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

char *crm_trim(char *s)
{
	size_t n;

	while (is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && is_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Read 1..max digits at *p; returns the count read, value in *v. */
static int digits(const char **p, int max, int *v)
{
	int n = 0, x = 0;

	while (n < max && is_digit((unsigned char)**p)) {
		x = x * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*v = x;
	return n;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

static int check_date(int y, int m, int d, const char **why)
{
	if (y < 1 || y > 9999) {
		*why = "year out of range";
		return -1;
	}
	if (m < 1 || m > 12) {
		*why = "month out of range";
		return -1;
	}
	if (d < 1 || d > days_in_month(y, m)) {
		*why = "day out of range";
		return -1;
	}
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
int64_t crm_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Copy a formatted time into out, which holds CRM_TIME_MAX bytes. */
static void put_time(char *out, const char *tmp)
{
	size_t n = strlen(tmp);

	if (n >= CRM_TIME_MAX)
		n = CRM_TIME_MAX - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

/* t seconds and ms milliseconds since the epoch, as UTC. */
static void format_utc(int64_t t, int ms, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char tmp[64];

	gmtime_r(&tt, &tm);
	if (ms)
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	else
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	put_time(out, tmp);
}

/*
 * Parse "HH:MM[:SS[.frac]]" with optional AM/PM and zone at *p.
 * Returns seconds of day minus zone offset in *secs.
 */
static int parse_clock(const char **pp, int ampm_ok, int64_t *secs, int *ms,
		       const char **why)
{
	const char *p = *pp;
	int h, mi, s = 0, zh, zm;
	int64_t off = 0;

	if (digits(&p, 2, &h) < 1 || *p++ != ':' || digits(&p, 2, &mi) != 2) {
		*why = "bad time of day";
		return -1;
	}
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &s) != 2) {
			*why = "bad seconds";
			return -1;
		}
		if (*p == '.' || *p == ',') {
			p++;
			if (!is_digit((unsigned char)*p)) {
				*why = "bad fraction of a second";
				return -1;
			}
			for (int k = 0; is_digit((unsigned char)*p); k++, p++)
				if (k < 3)
					*ms += (*p - '0') * (k == 0 ? 100 : k == 1 ? 10 : 1);
		}
	}
	while (*p == ' ')
		p++;
	if (ampm_ok && (p[0] == 'A' || p[0] == 'a' || p[0] == 'P' ||
			p[0] == 'p') && (p[1] == 'M' || p[1] == 'm')) {
		if (h < 1 || h > 12) {
			*why = "hour out of range";
			return -1;
		}
		if (h == 12)
			h = 0;
		if (p[0] == 'P' || p[0] == 'p')
			h += 12;
		p += 2;
	}
	if (h > 23 || mi > 59 || s > 60) {
		*why = "time of day out of range";
		return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &zh) != 2) {
			*why = "bad time zone";
			return -1;
		}
		if (*p == ':')
			p++;
		zm = 0;
		if (is_digit((unsigned char)*p) && digits(&p, 2, &zm) != 2) {
			*why = "bad time zone";
			return -1;
		}
		if (zh > 14 || zm > 59) {
			*why = "time zone out of range";
			return -1;
		}
		off = sign * (zh * 3600 + zm * 60);
	}
	*secs = (int64_t)h * 3600 + mi * 60 + s - off;
	*pp = p;
	return 0;
}

int crm_parse_time(const char *s, enum crm_date_order order, char *out,
		   const char **why)
{
	const char *p = s;
	int y, m, d, a, b, n;
	int64_t secs = 0;
	int has_time = 0, ms = 0;

	while (is_space((unsigned char)*p))
		p++;
	n = 0;
	while (is_digit((unsigned char)p[n]))
		n++;
	if ((n == 10 || n == 13) && (p[n] == '\0' || is_space((unsigned char)p[n]))) {
		/* Unix time in seconds or milliseconds. */
		int64_t t = strtoll(p, NULL, 10);

		if (n == 13) {
			ms = (int)(t % 1000);
			t /= 1000;
		}
		format_utc(t, ms, out);
		return 0;
	}
	if (n == 8) {
		digits(&p, 4, &y);
		digits(&p, 2, &m);
		digits(&p, 2, &d);
	} else if (n == 4 && (p[4] == '-' || p[4] == '/')) {
		char sep = p[4];

		digits(&p, 4, &y);
		p++;
		if (digits(&p, 2, &m) < 1 || *p++ != sep || digits(&p, 2, &d) < 1) {
			*why = "bad date";
			return -1;
		}
	} else if (n == 1 || n == 2) {
		char sep;

		digits(&p, 2, &a);
		sep = *p;
		if (sep != '/' && sep != '.' && sep != '-') {
			*why = "unrecognised date format";
			return -1;
		}
		p++;
		if (digits(&p, 2, &b) < 1 || *p++ != sep) {
			*why = "bad date";
			return -1;
		}
		n = digits(&p, 4, &y);
		if (n == 2)
			y += y < 70 ? 2000 : 1900;
		else if (n != 4) {
			*why = "bad year";
			return -1;
		}
		/* Dotted dates are day first everywhere they are used. */
		if (sep == '.' || order == CRM_DATE_DMY) {
			d = a;
			m = b;
		} else {
			m = a;
			d = b;
		}
	} else {
		*why = "unrecognised date format";
		return -1;
	}
	if (check_date(y, m, d, why) < 0)
		return -1;
	if (*p == 'T' || *p == 't' || (*p == ' ' && is_digit((unsigned char)p[1]))) {
		p++;
		if (parse_clock(&p, 1, &secs, &ms, why) < 0)
			return -1;
		has_time = 1;
	}
	while (is_space((unsigned char)*p))
		p++;
	if (*p) {
		*why = "trailing characters after date";
		return -1;
	}
	if (!has_time) {
		char tmp[48];

		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y, m, d);
		put_time(out, tmp);
		return 0;
	}
	format_utc(crm_days_from_civil(y, m, d) * 86400 + secs, ms, out);
	return 0;
}

/* Copy s into buf without a currency sign and thousands commas. */
static int strip_number(const char *s, char *buf, size_t n, const char **why)
{
	const char *p = s;
	size_t k = 0;
	int neg = 0, ndig = 0, seen_comma = 0, group = -1;

	while (is_space((unsigned char)*p))
		p++;
	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
	}
	if (*p == '$')
		p++;
	else if (!strncmp(p, "\xe2\x82\xac", 3) || !strncmp(p, "\xc2\xa5", 2) ||
		 !strncmp(p, "\xc2\xa3", 2))
		p += (unsigned char)*p == 0xe2 ? 3 : 2;
	if (neg)
		buf[k++] = '-';
	for (; *p && !is_space((unsigned char)*p); p++) {
		if (k + 2 >= n) {
			*why = "number too long";
			return -1;
		}
		if (*p == ',') {
			if (!ndig || (seen_comma && group != 3)) {
				*why = "misplaced thousands separator";
				return -1;
			}
			seen_comma = 1;
			group = 0;
			continue;
		}
		if (is_digit((unsigned char)*p)) {
			ndig++;
			if (group >= 0)
				group++;
		} else if (*p == '.' || *p == 'e' || *p == 'E' || *p == '-' ||
			   *p == '+') {
			if (seen_comma && group != 3 && group >= 0) {
				*why = "misplaced thousands separator";
				return -1;
			}
			group = -1;
		} else {
			*why = "not a number";
			return -1;
		}
		buf[k++] = *p;
	}
	while (is_space((unsigned char)*p))
		p++;
	if (*p) {
		*why = "not a number";
		return -1;
	}
	if (seen_comma && group >= 0 && group != 3) {
		*why = "misplaced thousands separator";
		return -1;
	}
	if (!ndig) {
		*why = "not a number";
		return -1;
	}
	buf[k] = '\0';
	return 0;
}

int crm_parse_number(const char *s, double *out, const char **why)
{
	char buf[64], *end;
	double v;

	if (strip_number(s, buf, sizeof(buf), why) < 0)
		return -1;
	errno = 0;
	v = strtod(buf, &end);
	if (*end || end == buf) {
		*why = "not a number";
		return -1;
	}
	if (errno == ERANGE || !isfinite(v)) {
		*why = "number out of range";
		return -1;
	}
	*out = v;
	return 0;
}

int crm_parse_int(const char *s, int64_t *out, const char **why)
{
	char buf[64], *end;
	long long v;

	if (strip_number(s, buf, sizeof(buf), why) < 0)
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end == '.') {
		/* "12.0" from spreadsheets is still an integer. */
		const char *q = end + 1;

		while (*q == '0')
			q++;
		if (!*q)
			end = (char *)q;
	}
	if (*end || end == buf) {
		*why = "not an integer";
		return -1;
	}
	if (errno == ERANGE) {
		*why = "integer out of range";
		return -1;
	}
	*out = v;
	return 0;
}

int crm_norm_email(const char *s, char *out, const char **why)
{
	const char *p = s, *at = NULL, *dot = NULL;
	size_t k = 0;

	while (is_space((unsigned char)*p))
		p++;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (is_space(c))
			break;
		if (c == '@') {
			if (at) {
				*why = "more than one '@' in email";
				return -1;
			}
			at = p;
		} else if (c == '.' && at) {
			dot = p;
		} else if (c < 0x21 || c == ',' || c == ';' || c == '<' ||
			   c == '>' || c == '"' || c == '(' || c == ')') {
			*why = "invalid character in email";
			return -1;
		}
		out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[k] = '\0';
	while (is_space((unsigned char)*p))
		p++;
	if (*p) {
		*why = "space in email";
		return -1;
	}
	if (!at) {
		*why = "email has no '@'";
		return -1;
	}
	if (at == s || !at[1]) {
		*why = "email lacks a local part or domain";
		return -1;
	}
	if (!dot || dot == at + 1 || !dot[1]) {
		*why = "email domain has no dot";
		return -1;
	}
	return 0;
}

void crm_norm_key(const char *s, char *out)
{
	size_t k = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			out[k++] = (char)(c + 32);
		else if ((c >= 'a' && c <= 'z') || is_digit(c) || c >= 0x80)
			out[k++] = (char)c;
	}
	out[k] = '\0';
}

int crm_is_plain_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (!is_digit((unsigned char)*p))
		return 0;
	if (*p == '0' && is_digit((unsigned char)p[1]))
		return 0;
	while (is_digit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!is_digit((unsigned char)*p))
			return 0;
		while (is_digit((unsigned char)*p))
			p++;
	}
	if (*p)
		return 0;
	/* Keep long digit strings (ids, phone numbers) as text. */
	return p - s <= 15;
}
