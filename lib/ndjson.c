/*
 * ndjson.c - NDJSON records in, compact JSON out.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "normalize.h"

/*
 * What parsing s[0..n) would cost, found without building anything: the
 * values it holds, the deepest nesting and an estimate of the memory a
 * jansson tree of it takes (a container about 128 bytes, a scalar 64,
 * plus the text). The cap on a line alone does not bound that: 63 MB of
 * "[[],[],..." is 21 million arrays, 3.5 GB.
 */
/* Is the number s[0..n) one that would silently become 0 or lose its
 * value (1e-400)? jansson reads it as 0 without a word. */
static int underflows(const char *s, size_t n)
{
	char buf[64], *end;
	double v;

	if (n >= sizeof(buf) || (!memchr(s, 'e', n) && !memchr(s, 'E', n)))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	v = strtod(buf, &end);
	return errno == ERANGE && fabs(v) < 1.0;
}

static void json_cost(const char *s, size_t n, size_t *values, int *depth, size_t *bytes,
		      int *range)
{
	size_t containers = 0, scalars = 0, start = 0;
	int d = 0, in_str = 0, in_scalar = 0;

	*depth = 0;
	*range = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : ' ';

		if (in_scalar && (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' ||
				  c == '\r' || c == '\n' || c == ':') &&
		    underflows(s + start, i - start))
			*range = 1;
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			scalars++;
			in_scalar = 0;
			break;
		case '[':
		case '{':
			containers++;
			if (++d > *depth)
				*depth = d;
			in_scalar = 0;
			break;
		case ']':
		case '}':
			d--;
			in_scalar = 0;
			break;
		case ',':
		case ':':
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			in_scalar = 0;
			break;
		default:	/* a number, true, false, null */
			if (!in_scalar)
				scalars++, start = i;
			in_scalar = 1;
		}
	}
	*values = containers + scalars;
	*bytes = containers * 128 + scalars * 64 + n;
}

int crm_ndjson_next(struct crm_reader *r, json_t **out, struct crm_err *e)
{
	size_t values, bytes;
	int depth, range;
	json_error_t je;
	json_t *v;
	size_t at;
	int rc;

	*out = NULL;
	for (;;) {
		rc = crm_reader_line(r, e);
		if (rc < 0)
			return CRM_REC_FATAL;
		if (rc == CRM_LINE_EOF)
			return CRM_REC_EOF;
		if (rc == CRM_LINE_TOOLONG) {
			crm_err_set(e, CRM_EDATA,
				    "%s:%ld: line longer than %zu bytes",
				    r->name, r->lineno, r->cap);
			return CRM_REC_BAD;
		}
		{
			size_t i = 0;

			while (i < r->line.len && (r->line.data[i] == ' ' ||
						   r->line.data[i] == '\t'))
				i++;
			if (i < r->line.len)
				break;
		}
	}
	if (!crm_utf8_valid(r->line.data, r->line.len, &at)) {
		crm_err_set(e, CRM_EDATA, "%s:%ld: invalid UTF-8 at byte %zu",
			    r->name, r->lineno, at + 1);
		return CRM_REC_BAD;
	}
	json_cost(r->line.data, r->line.len, &values, &depth, &bytes, &range);
	if (range) {
		crm_err_set(e, CRM_EDATA, "%s:%ld: a number too small to hold (it would read as 0)",
			    r->name, r->lineno);
		return CRM_REC_BAD;
	}
	if (depth > CRM_JSON_MAX_DEPTH) {
		crm_err_set(e, CRM_EDATA, "%s:%ld: nested deeper than %d levels",
			    r->name, r->lineno, CRM_JSON_MAX_DEPTH);
		return CRM_REC_BAD;
	}
	if (bytes > CRM_RECORD_MEM_MAX) {
		crm_err_set(e, CRM_EDATA,
			    "%s:%ld: record too big: %zu values would take about %zu MiB in memory (at most %zu)",
			    r->name, r->lineno, values, bytes >> 20, CRM_RECORD_MEM_MAX >> 20);
		return CRM_REC_BAD;
	}
	/* A key given twice is a reject: which of the two was meant? */
	v = json_loadb(r->line.data, r->line.len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		crm_err_set(e, CRM_EDATA, "%s:%ld: %s (column %d)", r->name,
			    r->lineno, je.text, je.column);
		return CRM_REC_BAD;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		crm_err_set(e, CRM_EDATA, "%s:%ld: record is not a JSON object",
			    r->name, r->lineno);
		return CRM_REC_BAD;
	}
	*out = v;
	return CRM_REC_OK;
}

static const char hex[] = "0123456789abcdef";

int crm_json_compact(struct crm_buf *b, const char *s, size_t n)
{
	int in = 0, esc = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in = 0;
		} else if (c == '"') {
			in = 1;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue;
		}
		if (crm_buf_addc(b, c) < 0)
			return -1;
	}
	return 0;
}

int crm_json_str(struct crm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;

	/* Worst case 6 bytes per input byte plus quotes. */
	if (crm_buf_grow(b, n + 2) < 0)
		return -1;
	b->data[b->len++] = '"';
	while (i < n) {
		run = i;
		while (run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			if (crm_buf_add(b, s + i, run - i) < 0)
				return -1;
			i = run;
			continue;
		}
		if (s[i] >= 0x80) {
			size_t at;
			size_t len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;

			if (i + len <= n && crm_utf8_valid((const char *)s + i, len, &at)) {
				if (crm_buf_add(b, s + i, len) < 0)
					return -1;
				i += len;
			} else {
				if (crm_buf_add(b, "\xef\xbf\xbd", 3) < 0)
					return -1;
				i++;
			}
			continue;
		}
		{
			char esc[7] = { '\\', 0 };
			size_t k = 2;

			switch (s[i]) {
			case '"': esc[1] = '"'; break;
			case '\\': esc[1] = '\\'; break;
			case '\n': esc[1] = 'n'; break;
			case '\r': esc[1] = 'r'; break;
			case '\t': esc[1] = 't'; break;
			case '\b': esc[1] = 'b'; break;
			case '\f': esc[1] = 'f'; break;
			default:
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 15];
				k = 6;
			}
			if (crm_buf_add(b, esc, k) < 0)
				return -1;
			i++;
		}
	}
	return crm_buf_addc(b, '"');
}

int crm_json_key(struct crm_buf *b, const char *key)
{
	if (crm_buf_addc(b, b->len && b->data[b->len - 1] != '{' ? ',' : '{') < 0 ||
	    crm_json_str(b, key, strlen(key)) < 0)
		return -1;
	return crm_buf_addc(b, ':');
}

int crm_json_figure(struct crm_buf *b, const char *key, double v)
{
	if (crm_json_key(b, key) < 0)
		return -1;
	return crm_json_num(b, isfinite(v) ? round(v * 1e4) / 1e4 : v);
}

int crm_json_num(struct crm_buf *b, double v)
{
	char tmp[32];

	if (!isfinite(v))
		return crm_buf_adds(b, "null");
	if (v == (double)(long long)v && fabs(v) < 1e15)
		return crm_json_int(b, (long long)v);
	snprintf(tmp, sizeof(tmp), "%.17g", v);
	/* Prefer the shortest representation that reads back the same. */
	for (int prec = 6; prec < 17; prec++) {
		char t2[32];

		snprintf(t2, sizeof(t2), "%.*g", prec, v);
		if (strtod(t2, NULL) == v) {
			snprintf(tmp, sizeof(tmp), "%s", t2);
			break;
		}
	}
	return crm_buf_adds(b, tmp);
}

int crm_json_int(struct crm_buf *b, long long v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return crm_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - 1 - p));
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return crm_buf_add(data, buf, size);
}

int crm_json_value(struct crm_buf *b, const json_t *v)
{
	return json_dump_callback(v, dump_cb, b,
				  JSON_COMPACT | JSON_ENCODE_ANY);
}

int crm_json_top_string(const char *s, size_t n, const char *key, char *out, size_t outn)
{
	size_t klen = strlen(key), i = 0;
	int depth = 0, expect_key = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			size_t j = i + 1, start = j;
			int esc = 0;

			while (j < n && s[j] != '"') {
				if (s[j] == '\\')
					esc = 1, j++;
				j++;
			}
			if (j >= n)
				return -1;
			if (depth == 1 && expect_key && !esc && j - start == klen &&
			    !memcmp(s + start, key, klen)) {
				/* The key: its value must be a plain string. */
				size_t k = j + 1, vs;

				while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == ':'))
					k++;
				if (k >= n || s[k] != '"')
					return -1;
				vs = ++k;
				while (k < n && s[k] != '"' && s[k] != '\\')
					k++;
				if (k >= n || s[k] != '"' || k - vs >= outn)
					return -1;
				memcpy(out, s + vs, k - vs);
				out[k - vs] = 0;
				return 1;
			}
			expect_key = 0;
			i = j + 1;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		if ((c == '{' || c == ',') && depth == 1)
			expect_key = 1;
		i++;
	}
	return 0;
}

void crm_json_id(const char *s, size_t n, char *id, size_t idn)
{
	*id = 0;
	if (crm_json_top_string(s, n, "id", id, idn) < 0) {
		json_t *o = json_loadb(s, n, 0, NULL);
		const char *v = json_string_value(json_object_get(o, "id"));

		if (v && strlen(v) < idn)
			memcpy(id, v, strlen(v) + 1);
		json_decref(o);
	}
}
