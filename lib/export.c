/*
 * export.c - the query side of crm-export.
 *
 * Column names in a filter are checked against the table's own columns
 * before they go into the SQL text; values are always bound. attrs.KEY
 * becomes json_extract(attrs, ?) with the path bound too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "crypt.h"
#include "export.h"
#include "normalize.h"

static const char *const ops[] = { "!=", "<=", ">=", "=", "<", ">", "~", NULL };

int crm_filter_parse(const char *expr, struct crm_filter *f, struct crm_err *e)
{
	const char *p;

	memset(f, 0, sizeof(*f));
	for (p = expr; *p; p++) {
		for (int i = 0; ops[i]; i++) {
			size_t n = strlen(ops[i]);

			if (strncmp(p, ops[i], n) != 0)
				continue;
			if (p == expr)
				return crm_err_set(e, CRM_EUSAGE,
						   "filter '%s': no field before '%s'",
						   expr, ops[i]);
			f->field = crm_strndup(expr, (size_t)(p - expr));
			memcpy(f->op, ops[i], n + 1);
			f->value = strdup(p + n);
			if (!f->field || !f->value) {
				crm_filter_release(f);
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			}
			{
				char *t = crm_trim(f->field);

				memmove(f->field, t, strlen(t) + 1);
			}
			return 0;
		}
	}
	return crm_err_set(e, CRM_EUSAGE,
			   "filter '%s': want FIELD=VALUE (or != < <= > >= ~)",
			   expr);
}

void crm_filter_release(struct crm_filter *f)
{
	free(f->field);
	free(f->value);
	f->field = f->value = NULL;
}

/* Is name one of the table's columns? */
static int is_column(sqlite3 *db, const char *table, const char *name)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found && !crm_entity_internal(name);
}

/* Is column col of t sealed on this connection? */
static int sealed(sqlite3 *db, const struct crm_entity *t, const char *col)
{
	return crm_crypt_of(db) && crm_entity_personal_column(t, col);
}

/* Append " WHERE ..." for q to sql; binds are numbered from 1 in order. */
static int where_clause(sqlite3 *db, const struct crm_export_query *q,
			struct crm_buf *sql, struct crm_err *e)
{
	const char *t = q->type->table;
	int rc = crm_buf_adds(sql, " WHERE 1");

	/* Columns are qualified: json_each() has an "id" column too. */
	if (!q->merged)
		rc |= crm_buf_addf(sql, " AND %s.merged_into IS NULL", t);
	if (q->since)
		rc |= crm_buf_addf(sql, " AND %s.updated_at >= ?", t);
	for (size_t i = 0; i < q->nfilters; i++) {
		const struct crm_filter *f = &q->filters[i];
		const char *col = f->field;
		int attr = !strncmp(col, "attrs.", 6);

		if (attr) {
			rc |= crm_buf_addf(sql, " AND json_extract(%s.attrs, ?)", t);
		} else if (!strcmp(col, "id") && !strcmp(f->op, "=") && *f->value && !q->merged) {
			/* A merged id finds the record it was merged into. */
			rc |= crm_buf_addf(sql, " AND %s.id = (WITH RECURSIVE up(id, nxt) AS "
					   "(SELECT id, merged_into FROM %s WHERE id = ? UNION ALL "
					   "SELECT x.id, x.merged_into FROM %s x JOIN up ON x.id = up.nxt) "
					   "SELECT id FROM up WHERE nxt IS NULL LIMIT 1)", t, t, t);
			continue;
		} else if (is_column(db, q->type->table, col) && sealed(db, q->type, col)) {
			/* Sealed: equality on an email or phone by its blind
			 * index, anything else on the opened value. */
			if (q->type->subject && !strcmp(f->op, "=") && *f->value &&
			    (!strcmp(col, "email") || !strcmp(col, "phone"))) {
				rc |= crm_buf_addf(sql, " AND %s.%s_bi = crm_bidx('%s', ?)", t, col, col);
				continue;
			}
			rc |= crm_buf_addf(sql, " AND crm_dec(%s.\"%s\", '%s', '%s', %s.id)", t, col, t, col, t);
		} else if (is_column(db, q->type->table, col)) {
			rc |= crm_buf_addf(sql, " AND %s.\"%s\"", t, col);
		} else {
			return crm_err_set(e, CRM_EUSAGE,
					   "filter '%s%s%s': %ss have no field '%s'",
					   f->field, f->op, f->value, q->type->kind,
					   col);
		}
		if (!*f->value && !strcmp(f->op, "="))
			rc |= crm_buf_adds(sql, " IS NULL");
		else if (!*f->value && !strcmp(f->op, "!="))
			rc |= crm_buf_adds(sql, " IS NOT NULL");
		else if (!strcmp(f->op, "~"))
			rc |= crm_buf_adds(sql, " LIKE '%' || ? || '%'");
		else
			rc |= crm_buf_addf(sql, " %s ?", f->op);
	}
	if (rc)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 0;
}

static void bind_where(sqlite3_stmt *st, const struct crm_export_query *q)
{
	int k = 1;

	if (q->since)
		sqlite3_bind_text(st, k++, q->since, -1, SQLITE_STATIC);
	for (size_t i = 0; i < q->nfilters; i++) {
		const struct crm_filter *f = &q->filters[i];

		if (!strncmp(f->field, "attrs.", 6)) {
			char path[512];

			/* $."key" so dots and spaces in the key are literal. */
			snprintf(path, sizeof(path), "$.\"%s\"", f->field + 6);
			sqlite3_bind_text(st, k++, path, -1, SQLITE_TRANSIENT);
		}
		if (!*f->value && (!strcmp(f->op, "=") || !strcmp(f->op, "!=")))
			continue;
		if (strcmp(f->op, "~") != 0 && crm_is_plain_number(f->value))
			sqlite3_bind_double(st, k++, strtod(f->value, NULL));
		else
			sqlite3_bind_text(st, k++, f->value, -1, SQLITE_STATIC);
	}
}

int crm_export_prepare(sqlite3 *db, const struct crm_export_query *q,
		       sqlite3_stmt **st, struct crm_err *e)
{
	struct crm_buf sql, cols;
	sqlite3_stmt *ti;
	int rc = -1;

	*st = NULL;
	crm_buf_init(&sql, 0);
	crm_buf_init(&cols, 0);
	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
			       -1, &ti, NULL) != SQLITE_OK)
		return crm_db_err(db, e, "cannot read schema");
	sqlite3_bind_text(ti, 1, q->type->table, -1, SQLITE_STATIC);
	while (sqlite3_step(ti) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(ti, 0);

		if (crm_entity_internal(c))
			continue;
		crm_buf_addf(&cols, "%s\"%s\"", cols.len ? ", " : "", c);
	}
	sqlite3_finalize(ti);
	if (crm_buf_addf(&sql, "SELECT %s FROM %s", cols.data, q->type->table) < 0 ||
	    where_clause(db, q, &sql, e) < 0 ||
	    crm_buf_addf(&sql, " ORDER BY %s.rowid", q->type->table) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, sql.data, -1, st, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot query");
		goto out;
	}
	bind_where(*st, q);
	rc = 0;
out:
	crm_buf_release(&sql);
	crm_buf_release(&cols);
	return rc;
}

int crm_export_attr_keys(sqlite3 *db, const struct crm_export_query *q,
			 char ***keys, size_t *n, struct crm_err *e)
{
	struct crm_buf sql;
	sqlite3_stmt *st = NULL;
	char **k = NULL;
	size_t cnt = 0;
	int rc = -1;

	*keys = NULL;
	*n = 0;
	crm_buf_init(&sql, 0);
	if (crm_buf_addf(&sql, "SELECT DISTINCT j.key FROM %s, json_each(%s.attrs) AS j",
			 q->type->table, q->type->table) < 0 ||
	    where_clause(db, q, &sql, e) < 0 ||
	    crm_buf_adds(&sql, " ORDER BY 1") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot query");
		goto out;
	}
	bind_where(st, q);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char **p = realloc(k, (cnt + 1) * sizeof(*k));

		if (!p)
			goto nomem;
		k = p;
		k[cnt] = strdup((const char *)sqlite3_column_text(st, 0));
		if (!k[cnt])
			goto nomem;
		cnt++;
	}
	*keys = k;
	*n = cnt;
	k = NULL;
	rc = 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	for (size_t i = 0; i < cnt; i++)
		free(k[i]);
	free(k);
out:
	sqlite3_finalize(st);
	crm_buf_release(&sql);
	return rc;
}
