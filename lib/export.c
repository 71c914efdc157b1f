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
#include <strings.h>

#include "crypt.h"
#include "export.h"
#include "ndjson.h"
#include "normalize.h"
#include "row.h"

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

/* A sealed email or phone compared for equality: by its blind index. */
static int by_index(const struct crm_export_query *q, const struct crm_filter *f)
{
	return q->type->subject && !strcmp(f->op, "=") && *f->value &&
	       (!strcmp(f->field, "email") || !strcmp(f->field, "phone"));
}

/* Is f a filter on a sealed column that SQL cannot see into, left to
 * crm_export_match? */
static int residual(struct crm_store *db, const struct crm_export_query *q,
		    const struct crm_filter *f)
{
	return strncmp(f->field, "attrs.", 6) && sealed(db, q->type, f->field) && !by_index(q, f);
}

/* Append " WHERE ..." for q to sql; binds are numbered from 1 in order. */
static int where_clause(struct crm_store *db, const struct crm_export_query *q,
			char **cols, struct crm_buf *sql, struct crm_err *e)
{
	const char *t = q->type->table;
	char attrs[80];
	int rc = crm_buf_adds(sql, " WHERE true"), k = 1;

	snprintf(attrs, sizeof(attrs), "%s.attrs", t);

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
			/* a number compared as a number, else as text */
			rc |= crm_store_attr(db, sql, attrs, k++, strcmp(f->op, "~") &&
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
			 * index (bound by bind_where); anything else is
			 * compared with the opened value, row by row
			 * (crm_export_match). */
			if (by_index(q, f))
				rc |= crm_buf_addf(sql, " AND %s.%s_bi = ?%d", t, col, k++);
			continue;
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
			rc |= crm_buf_addf(sql, " %s '%%' || ?%d || '%%'", crm_store_sql(db, CRM_SQL_ILIKE), k++);
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
	struct crm_store *db = crm_stmt_store(st);
	int k = 1;

	if (q->since)
		bind_text(st, k++, q->since);
	for (size_t i = 0; i < q->nfilters; i++) {
		const struct crm_filter *f = &q->filters[i];

		if (residual(db, q, f))
			continue;
		if (strncmp(f->field, "attrs.", 6) && sealed(db, q->type, f->field)) {
			char bi[CRM_BIDX_MAX] = "";

			crm_crypt_bidx_ident(crm_store_crypt(db), f->field, f->value, bi);
			bind_text(st, k++, bi);
			continue;
		}

		if (!strncmp(f->field, "attrs.", 6)) {
			char path[512];

			crm_store_attr_key(db, f->field + 6, path, sizeof(path));
			bind_text(st, k++, path);
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

/* Does the opened value v (NULL for none) pass filter f, as SQL would
 * compare it: numbers as numbers, text byte by byte, ~ ignoring the
 * case of ASCII letters? */
static int passes(const struct crm_filter *f, const char *v)
{
	int c;

	if (!*f->value && !strcmp(f->op, "="))
		return !v;
	if (!*f->value && !strcmp(f->op, "!="))
		return v != NULL;
	if (!v)
		return 0;
	if (!strcmp(f->op, "~")) {
		for (const char *p = v; *p; p++)
			if (!strncasecmp(p, f->value, strlen(f->value)))
				return 1;
		return !*f->value;
	}
	if (crm_is_plain_number(f->value) && crm_is_plain_number(v)) {
		double a = strtod(v, NULL), b = strtod(f->value, NULL);

		c = a < b ? -1 : a > b;
	} else {
		c = strcmp(v, f->value);
	}
	if (!strcmp(f->op, "="))
		return c == 0;
	if (!strcmp(f->op, "!="))
		return c != 0;
	if (!strcmp(f->op, "<"))
		return c < 0;
	if (!strcmp(f->op, "<="))
		return c <= 0;
	if (!strcmp(f->op, ">"))
		return c > 0;
	return c >= 0;
}

int crm_export_match(const struct crm_export_query *q, struct crm_stmt *st, struct crm_err *e)
{
	struct crm_store *db = crm_stmt_store(st);
	struct crm_buf v = { 0 };
	const char *id = NULL;
	int ok = 1, n = crm_stmt_columns(st);

	for (size_t i = 0; i < q->nfilters && ok > 0; i++) {
		const struct crm_filter *f = &q->filters[i];
		int col = -1, r;

		if (!residual(db, q, f))
			continue;
		for (int c = 0; c < n; c++) {
			if (!strcmp(crm_stmt_column_name(st, c), f->field))
				col = c;
			if (!id && !strcmp(crm_stmt_column_name(st, c), "id"))
				id = crm_stmt_text(st, c);
		}
		if (col < 0)
			continue;
		if ((r = crm_row_cell(st, col, q->type->table, f->field, id, &v, e)) < 0)
			ok = -1;
		else
			ok = passes(f, r ? v.data : NULL);
	}
	crm_buf_release(&v);
	return ok;
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
			 crm_store_sql(db, CRM_SQL_JSON_EACH),
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

/* Index of column name in st, or -1. */
static int stmt_col(struct crm_stmt *st, const char *name)
{
	for (int i = 0; i < crm_stmt_columns(st); i++)
		if (!strcmp(crm_stmt_column_name(st, i), name))
			return i;
	return -1;
}

static int cols_add(struct crm_export_cols *c, const char *name, int col)
{
	char **n = realloc(c->name, (c->n + 1) * sizeof(*n));
	int *k;

	if (!n)
		return -1;
	c->name = n;
	if (!(k = realloc(c->col, (c->n + 1) * sizeof(*k))))
		return -1;
	c->col = k;
	if (!(c->name[c->n] = strdup(name)))
		return -1;
	c->col[c->n++] = col;
	return 0;
}

void crm_export_columns_release(struct crm_export_cols *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->name[i]);
	free(c->name);
	free(c->col);
	memset(c, 0, sizeof(*c));
}

int crm_export_columns(struct crm_store *db, const struct crm_export_query *q,
		       struct crm_stmt *st, const char *fields, int lenient,
		       struct crm_export_cols *c, struct crm_err *e)
{
	char **keys = NULL;
	size_t n = 0;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->attrs = stmt_col(st, "attrs");
	c->id = stmt_col(st, "id");
	if (fields) {
		char *list = strdup(fields), *p = list, *tok;

		if (!list)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		while (!rc && (tok = strsep(&p, ",")) != NULL) {
			int col = stmt_col(st, tok);

			if (col < 0 && strncmp(tok, "attrs.", 6) && !lenient)
				rc = crm_err_set(e, CRM_EUSAGE, "--fields: %ss have no field '%s'",
						 q->type->kind, tok);
			else if (cols_add(c, tok, col) < 0)
				rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		free(list);
		return rc;
	}
	for (int i = 0; i < crm_stmt_columns(st) && !rc; i++)
		if (strcmp(crm_stmt_column_name(st, i), "attrs") != 0 &&
		    cols_add(c, crm_stmt_column_name(st, i), i) < 0)
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (rc || crm_export_attr_keys(db, q, &keys, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char name[512];

		snprintf(name, sizeof(name), "attrs.%s", keys[i]);
		if (!rc && cols_add(c, name, -1) < 0)
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		free(keys[i]);
	}
	free(keys);
	return rc;
}

int crm_export_cell(struct crm_stmt *st, const char *table, const struct crm_export_cols *c,
		    size_t i, json_t *attrs, struct crm_buf *out, struct crm_err *e)
{
	int col = c->col[i];

	crm_buf_reset(out);
	if (col < 0 && !strncmp(c->name[i], "attrs.", 6)) {
		json_t *v = json_object_get(attrs, c->name[i] + 6);

		if (json_is_string(v))
			crm_buf_add(out, json_string_value(v), json_string_length(v));
		else if (v && !json_is_null(v))
			crm_json_value(out, v);
	} else if (col >= 0 && crm_stmt_type(st, col) == CRM_REAL) {
		crm_json_num(out, crm_stmt_double(st, col));
	} else if (col >= 0 &&
		   crm_row_cell(st, col, table, crm_stmt_column_name(st, col),
				c->id >= 0 ? crm_stmt_text(st, c->id) : NULL, out, e) < 0) {
		return -1;	/* a sealed cell opened; one whose key was erased is empty */
	}
	return out->data ? 0 : crm_buf_add(out, "", 0);
}
