/*
 * row.c - serialising result rows without building a JSON tree.
 */
#include <string.h>

#include "crypt.h"
#include "entity.h"
#include "ndjson.h"
#include "row.h"

int crm_row_json_e(struct crm_buf *b, sqlite3_stmt *st, const char *kind,
		   const char *status, struct crm_err *e)
{
	int n = sqlite3_column_count(st);
	size_t start = b->len;
	struct crm_crypt *cc = crm_crypt_of(sqlite3_db_handle(st));
	const struct crm_entity *t = cc ? crm_entity_find(kind) : NULL;
	const char *id = NULL;
	struct crm_buf plain;

	crm_buf_init(&plain, 0);
	for (int i = 0; t && i < n; i++)
		if (!strcmp(sqlite3_column_name(st, i), "id"))
			id = (const char *)sqlite3_column_text(st, i);

	if (crm_buf_adds(b, "{\"type\":") < 0 ||
	    crm_json_str(b, kind, strlen(kind)) < 0)
		goto fail;
	if (status && (crm_buf_adds(b, ",\"status\":") < 0 ||
		       crm_json_str(b, status, strlen(status)) < 0))
		goto fail;
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		int type = sqlite3_column_type(st, i);
		int rc = 0;

		if (type == SQLITE_NULL || crm_entity_internal(name))
			continue;
		if (crm_json_key(b, name) < 0)
			goto fail;
		switch (type) {
		case SQLITE_INTEGER:
			rc = crm_json_int(b, sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			rc = crm_json_num(b, sqlite3_column_double(st, i));
			break;
		default: {
			const char *s = (const char *)sqlite3_column_text(st, i);
			size_t len = (size_t)sqlite3_column_bytes(st, i);

			if (!strcmp(name, "attrs") || !strcmp(name, "payload") ||
			    !strcmp(name, "decisions") || !strcmp(name, "fields")) {
				rc = crm_buf_add(b, s, len);
			} else if (id && len > 4 && !memcmp(s, CRM_ENC_PREFIX, 4)) {
				crm_buf_reset(&plain);
				if (crm_crypt_open(cc, t->table, name, id, s, len, &plain, e) == 0) {
					rc = crm_json_str(b, plain.data, plain.len);
				} else if (e->code == CRM_ENOINPUT) {
					/* Its data key was erased: gone for good. */
					rc = crm_buf_adds(b, "null");
				} else {
					b->len = start;
					if (b->data)
						b->data[start] = '\0';
					crm_buf_release(&plain);
					return -2;
				}
			} else {
				rc = crm_json_str(b, s, len);
			}
		}
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

int crm_row_json(struct crm_buf *b, sqlite3_stmt *st, const char *kind,
		 const char *status)
{
	struct crm_err e;

	return crm_row_json_e(b, st, kind, status, &e) < 0 ? -1 : 0;
}
