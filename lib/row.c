/*
 * row.c - serialising result rows without building a JSON tree.
 */
#include <string.h>

#include "crypt.h"
#include "entity.h"
#include "ndjson.h"
#include "row.h"

/* Is name a word of the space-separated list? */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return 1;
	return 0;
}

/* Does a record column of this name hold JSON, embedded as it is? (On
 * every column of every row exported: compared, not searched.) */
static int json_column(const char *name)
{
	return !strcmp(name, "attrs") || !strcmp(name, "payload") ||
	       !strcmp(name, "decisions") || !strcmp(name, "fields");
}

/* Column i's value as JSON: a number, null, the JSON a column holds
 * (embed; PostgreSQL's spaced form compacted), or a string. */
static int value_json(struct crm_buf *b, struct crm_stmt *st, int i, enum crm_type type, int embed,
		      int spaced)
{
	const char *v;
	size_t len;

	switch (type) {
	case CRM_NULL:
		return crm_buf_adds(b, "null");
	case CRM_INTEGER:
		return crm_json_int(b, crm_stmt_int64(st, i));
	case CRM_REAL:
		return crm_json_num(b, crm_stmt_double(st, i));
	default:
		v = crm_stmt_text(st, i);
		len = crm_stmt_bytes(st, i);
		if (embed)
			return spaced ? crm_json_compact(b, v, len) : crm_buf_add(b, v, len);
		return crm_json_str(b, v, len);
	}
}

int crm_row_json_e(struct crm_buf *b, struct crm_stmt *st, const char *kind,
		   const char *status, struct crm_err *e)
{
	struct crm_store *s = crm_stmt_store(st);
	int n = crm_stmt_columns(st);
	int spaced = crm_store_json_spaced(s);
	size_t start = b->len;
	struct crm_crypt *cc = crm_store_crypt(s);
	const struct crm_entity *t = cc ? crm_entity_find(kind) : NULL;
	const char *id = NULL;
	struct crm_buf plain;

	crm_buf_init(&plain, 0);
	for (int i = 0; t && i < n; i++)
		if (!strcmp(crm_stmt_column_name(st, i), "id"))
			id = crm_stmt_text(st, i);

	if (crm_buf_adds(b, "{\"type\":") < 0 ||
	    crm_json_str(b, kind, strlen(kind)) < 0)
		goto fail;
	if (status && (crm_buf_adds(b, ",\"status\":") < 0 ||
		       crm_json_str(b, status, strlen(status)) < 0))
		goto fail;
	for (int i = 0; i < n; i++) {
		const char *name = crm_stmt_column_name(st, i);
		enum crm_type type = crm_stmt_type(st, i);
		int rc = 0;

		if (type == CRM_NULL || crm_entity_internal(name))
			continue;
		if (crm_json_key(b, name) < 0)
			goto fail;
		if (type != CRM_INTEGER && type != CRM_REAL && id && crm_stmt_bytes(st, i) > 4 &&
		    !memcmp(crm_stmt_text(st, i), CRM_ENC_PREFIX, 4) && !json_column(name)) {
			/* a sealed cell: opened with its row's key (null when
			 * the key was erased: gone for good) */
			int r = crm_row_cell(st, i, t->table, name, id, &plain, e);

			if (r > 0) {
				rc = crm_json_str(b, plain.data, plain.len);
			} else if (r == 0) {
				rc = crm_buf_adds(b, "null");
			} else {
				b->len = start;
				if (b->data)
					b->data[start] = '\0';
				crm_buf_release(&plain);
				return -2;
			}
		} else {
			rc = value_json(b, st, i, type, json_column(name), spaced);
		}
		if (rc < 0)
			goto fail;
	}
	if (crm_buf_add(b, "}\n", 2) < 0)
		goto fail;
	crm_buf_release(&plain);
	return 0;
fail:
	crm_buf_release(&plain);
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	b->len = start;
	if (b->data)
		b->data[start] = '\0';
	return -1;
}

int crm_row_json(struct crm_buf *b, struct crm_stmt *st, const char *kind,
		 const char *status)
{
	struct crm_err e;

	return crm_row_json_e(b, st, kind, status, &e) < 0 ? -1 : 0;
}

int crm_row_object(struct crm_buf *b, struct crm_stmt *st, int ncols, const char *json_cols)
{
	int spaced = crm_store_json_spaced(crm_stmt_store(st));
	int rc = crm_buf_addc(b, '{');

	for (int i = 0; i < ncols && rc >= 0; i++) {
		const char *name = crm_stmt_column_name(st, i);

		if ((i && crm_buf_addc(b, ',') < 0) || crm_json_str(b, name, strlen(name)) < 0 ||
		    crm_buf_addc(b, ':') < 0)
			return -1;
		rc = value_json(b, st, i, crm_stmt_type(st, i), listed(json_cols, name), spaced);
	}
	return rc < 0 || crm_buf_addc(b, '}') < 0 ? -1 : 0;
}

int crm_row_cell(struct crm_stmt *st, int i, const char *table, const char *column,
		 const char *id, struct crm_buf *out, struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(crm_stmt_store(st));
	const char *v = crm_stmt_text(st, i);
	size_t n = crm_stmt_bytes(st, i);

	crm_buf_reset(out);
	if (!v)
		return 0;
	if (n > 4 && !memcmp(v, CRM_ENC_PREFIX, 4)) {
		if (!cc)
			return crm_err_set(e, CRM_EUSAGE, "%s.%s of %s is sealed: give the key (--key-file)",
					   table, column, id ? id : "?");
		if (crm_crypt_open(cc, table, column, id ? id : "", v, n, out, e) == 0)
			return 1;
		return e->code == CRM_ENOINPUT ? 0 : -1;
	}
	if (crm_buf_add(out, v, n) < 0 || crm_buf_add(out, "", 0) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 1;
}
