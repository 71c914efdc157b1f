/*
 * ndjson.h - newline-delimited JSON in and out.
 *
 * Reading: one JSON object per line through a capped struct crm_reader;
 * a bad line is reported with file:line and reading goes on.
 * Writing: a small append-only JSON writer into a struct crm_buf, faster
 * than building a jansson tree for every output record.
 */
#ifndef CRM_NDJSON_H
#define CRM_NDJSON_H

#include <jansson.h>

#include "reader.h"
#include "util.h"

/* Results of crm_ndjson_next(). */
enum {
	CRM_REC_FATAL = -2,	/* read error: stop */
	CRM_REC_BAD = -1,	/* this line is bad (e says why): go on */
	CRM_REC_EOF = 0,
	CRM_REC_OK = 1,
};

/* Limits on one record, checked before a tree of it is built. */
#define CRM_JSON_MAX_DEPTH 64
#define CRM_RECORD_MEM_MAX ((size_t)256 << 20)

/*
 * Read the next non-blank line of r as a JSON object. On CRM_REC_OK *out is
 * a new reference the caller must json_decref(). On CRM_REC_BAD e holds
 * "FILE:LINE: reason" and r->line the raw line, for a rejects file: a
 * line that is not UTF-8 or not an object, a key given twice, nesting past
 * CRM_JSON_MAX_DEPTH, or a record whose tree would take more than
 * CRM_RECORD_MEM_MAX of memory.
 */
int crm_ndjson_next(struct crm_reader *r, json_t **out, struct crm_err *e);

/*
 * The string value of key at the top level of the JSON object s[0..n)
 * into out[outn], without building a tree: 1 found, 0 not there, -1 when
 * the text is not that simple (escapes, another type, too long): parse it
 * then. A filter reads each record's id this way.
 */
int crm_json_top_string(const char *s, size_t n, const char *key, char *out, size_t outn);

/* The "id" of the JSON record s[0..n) into id (idn bytes; "" when it has
 * none, or a longer one): read as crm_json_top_string does, else parsed. */
void crm_json_id(const char *s, size_t n, char *id, size_t idn);

/* Append s[0..n) as a quoted JSON string; invalid UTF-8 bytes become U+FFFD. */
int crm_json_str(struct crm_buf *b, const char *s, size_t n);
/* Append the JSON text s[0..n) without the white space between its
 * tokens (numbers and strings kept as written). */
int crm_json_compact(struct crm_buf *b, const char *s, size_t n);
/* Append ,"key": (or {"key": when b is empty or ends in '{'). */
int crm_json_key(struct crm_buf *b, const char *key);
/* Append a number in the shortest form that reads back exactly. */
int crm_json_num(struct crm_buf *b, double v);
int crm_json_int(struct crm_buf *b, long long v);
/* Append ,"key":v for a measured figure: 4 decimals, null when not finite. */
int crm_json_figure(struct crm_buf *b, const char *key, double v);
/* Append a compact serialisation of a jansson value. */
int crm_json_value(struct crm_buf *b, const json_t *v);

#endif
