/*
 * export.c - the query side of crm-export.
 *
 * Column names in a filter are checked against the table's own columns
 * before they go into the SQL text; values are always bound. attrs.KEY
 * becomes json_extract(attrs, ?) with the path bound too (PostgreSQL:
 * attrs -> ?, the key bound).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Is name one of the columns (cols, NULL-terminated)? */
static int is_column(char **cols, const char *name)
{
	for (; *cols; cols++)
		if (!strcmp(*cols, name))
			return !crm_entity_internal(name);
	return 0;
}

/* Is column col of t sealed on this connection? */
static int sealed(struct crm_store *db, const struct crm_entity *t, const char *col)
{
	return crm_store_crypt(db) && crm_entity_personal_column(t, col);
}

/* The value of attrs key ?k (bound by bind_where) as SQL compares it with
 * a number (num) or text: json_extract's on SQLite; on PostgreSQL a number
 * is compared only with a number, and any other value as its text. */
static int attr_expr(struct crm_buf *sql, int pg, const char *t, int k, int num)
{
	if (!pg)
		return crm_buf_addf(sql, "json_extract(%s.attrs, ?%d)", t, k);
	if (num)
		return crm_buf_addf(sql, "(CASE jsonb_typeof(%s.attrs -> ?%d) WHEN 'number' "
				    "THEN (%s.attrs ->> ?%d)::float8 END)", t, k, t, k);
	return crm_buf_addf(sql, "(%s.attrs ->> ?%d)", t, k);
}

/* Append " WHERE ..." for q to sql; binds are numbered from 1 in order. */
static int where_clause(struct crm_store *db, const struct crm_export_query *q,
			char **cols, struct crm_buf *sql, struct crm_err *e)
{
	const char *t = q->type->table;
	int pg = crm_store_kind(db) == CRM_STORE_POSTGRES;
	int rc = crm_buf_adds(sql, " WHERE true"), k = 1;

	/* Columns are qualified: json_each() has an "id" column too. */
	if (!q->merged)
		rc |= crm_buf_addf(sql, " AND %s.merged_into IS NULL", t);
	if (q->since)
		rc |= crm_buf_addf(sql, " AND %s.updated_at >= ?%d", t, k++);
	for (size_t i = 0; i < q->nfilters; i++) {
		const struct crm_filter *f = &q->filters[i];
		const char *col = f->field;
		int attr = !strncmp(col, "attrs.", 6);

		if (attr) {
			rc |= crm_buf_adds(sql, " AND ");
			rc |= attr_expr(sql, pg, t, k++, strcmp(f->op, "~") &&
					crm_is_plain_number(f->value));
		} else if (!strcmp(col, "id") && !strcmp(f->op, "=") && *f->value && !q->merged) {
			/* A merged id finds the record it was merged into. */
			rc |= crm_buf_addf(sql, " AND %s.id = (WITH RECURSIVE up(id, nxt) AS "
					   "(SELECT id, merged_into FROM %s WHERE id = ?%d UNION ALL "
					   "SELECT x.id, x.merged_into FROM %s x JOIN up ON x.id = up.nxt) "
					   "SELECT id FROM up WHERE nxt IS NULL LIMIT 1)", t, t, k++, t);
			continue;
		} else if (is_column(cols, col) && sealed(db, q->type, col)) {
			/* Sealed: equality on an email or phone by its blind
			 * index, anything else on the opened value. */
			if (q->type->subject && !strcmp(f->op, "=") && *f->value &&
			    (!strcmp(col, "email") || !strcmp(col, "phone"))) {
				rc |= crm_buf_addf(sql, " AND %s.%s_bi = crm_bidx('%s', ?%d)", t, col, col, k++);
				continue;
			}
			rc |= crm_buf_addf(sql, " AND crm_dec(%s.\"%s\", '%s', '%s', %s.id)", t, col, t, col, t);
		} else if (is_column(cols, col)) {
			rc |= crm_buf_addf(sql, " AND %s.\"%s\"", t, col);
		} else {
			return crm_err_set(e, CRM_EUSAGE,
					   "filter '%s%s%s': %ss have no field '%s'",
					   f->field, f->op, f->value, q->type->kind,
					   col);
		}
		/* LIKE is blind to case on SQLite (ASCII), ILIKE on PostgreSQL. */
		if (!*f->value && !strcmp(f->op, "="))
			rc |= crm_buf_adds(sql, " IS NULL");
		else if (!*f->value && !strcmp(f->op, "!="))
			rc |= crm_buf_adds(sql, " IS NOT NULL");
		else if (!strcmp(f->op, "~"))
			rc |= crm_buf_addf(sql, " %s '%%' || ?%d || '%%'", pg ? "ILIKE" : "LIKE", k++);
		else
			rc |= crm_buf_addf(sql, " %s ?%d", f->op, k++);
	}
	if (rc)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 0;
}

static void bind_text(struct crm_stmt *st, int k, const char *v)
{
	crm_stmt_bind_text(st, k, v, strlen(v));
}

static void bind_where(struct crm_stmt *st, const struct crm_export_query *q)
{
	int k = 1, pg = crm_store_kind(crm_stmt_store(st)) == CRM_STORE_POSTGRES;

	if (q->since)
		bind_text(st, k++, q->since);
	for (size_t i = 0; i < q->nfilters; i++) {
		const struct crm_filter *f = &q->filters[i];

		if (!strncmp(f->field, "attrs.", 6)) {
			char path[512];

			/* $."key" so dots and spaces in the key are literal. */
			snprintf(path, sizeof(path), "$.\"%s\"", f->field + 6);
			bind_text(st, k++, pg ? f->field + 6 : path);
		}
		if (!*f->value && (!strcmp(f->op, "=") || !strcmp(f->op, "!=")))
			continue;
		if (strcmp(f->op, "~") != 0 && crm_is_plain_number(f->value))
			crm_stmt_bind_double(st, k++, strtod(f->value, NULL));
		else
			bind_text(st, k++, f->value);
	}
}

int crm_export_prepare(struct crm_store *db, const struct crm_export_query *q,
		       struct crm_stmt **st, struct crm_err *e)
{
	const char *t = q->type->table;
	struct crm_buf sql, cols;
	char **names;
	int rc = -1;

	*st = NULL;
	if (crm_store_columns(db, t, &names, e) < 0)
		return -1;
	crm_buf_init(&sql, 0);
	crm_buf_init(&cols, 0);
	for (char **c = names; *c; c++)
		if (!crm_entity_internal(*c))
			crm_buf_addf(&cols, "%s\"%s\"", cols.len ? ", " : "", *c);
	if (crm_buf_addf(&sql, "SELECT %s FROM %s", cols.data, t) < 0 ||
	    where_clause(db, q, names, &sql, e) < 0 ||
	    crm_buf_addf(&sql, " ORDER BY %s.%s", t, crm_store_rowid(db)) < 0)
		goto out;
	if (crm_store_prepare(db, sql.data, CRM_STMT_STREAM, st, e) < 0)
		goto out;
	bind_where(*st, q);
	rc = 0;
out:
	crm_store_free_list(names);
	crm_buf_release(&sql);
	crm_buf_release(&cols);
	return rc;
}

int crm_export_attr_keys(struct crm_store *db, const struct crm_export_query *q,
			 char ***keys, size_t *n, struct crm_err *e)
{
	struct crm_buf sql;
	struct crm_stmt *st = NULL;
	char **k = NULL, **names;
	size_t cnt = 0;
	int rc = -1, r;

	*keys = NULL;
	*n = 0;
	if (crm_store_columns(db, q->type->table, &names, e) < 0)
		return -1;
	crm_buf_init(&sql, 0);
	if (crm_buf_addf(&sql, "SELECT DISTINCT j.key FROM %s, %s(%s.attrs) AS j", q->type->table,
			 crm_store_kind(db) == CRM_STORE_POSTGRES ? "jsonb_each" : "json_each",
			 q->type->table) < 0 ||
	    where_clause(db, q, names, &sql, e) < 0 ||
	    crm_buf_adds(&sql, " ORDER BY 1") < 0)
		goto out;
	if (crm_store_prepare(db, sql.data, 0, &st, e) < 0)
		goto out;
	bind_where(st, q);
	while ((r = crm_stmt_step(st, e)) > 0) {
		char **p = realloc(k, (cnt + 1) * sizeof(*k));

		if (!p)
			goto nomem;
		k = p;
		k[cnt] = strdup(crm_stmt_text(st, 0));
		if (!k[cnt])
			goto nomem;
		cnt++;
	}
	if (r < 0)
		goto fail;
	*keys = k;
	*n = cnt;
	k = NULL;
	rc = 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
fail:
	for (size_t i = 0; i < cnt; i++)
		free(k[i]);
	free(k);
out:
	crm_store_free_list(names);
	if (st)
		crm_stmt_free(st);
	crm_buf_release(&sql);
	return rc;
}
