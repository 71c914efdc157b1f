/*
 * dialect.c - what SQLite and PostgreSQL write differently, by name
 * (store.h): SQL built above the store asks here, and never asks which
 * backend it is on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

const char *crm_store_sql(const struct crm_store *s, enum crm_sql what)
{
	static const char *const names[][2] = {
		[CRM_SQL_JSON_EACH] = { "json_each", "jsonb_each" },
		[CRM_SQL_JSON_OBJECT] = { "json_object", "json_build_object" },
		[CRM_SQL_SCHEMA] = { "main", "public" },
		[CRM_SQL_TEMP_SCHEMA] = { "temp", "pg_temp" },
		[CRM_SQL_AS_TEXT] = { "", "::text" },
		[CRM_SQL_AS_JSON] = { "", "::json" },
		[CRM_SQL_VERSION] = { "sqlite_version()", "current_setting('server_version')" },
		[CRM_SQL_ILIKE] = { "LIKE", "ILIKE" },
		[CRM_SQL_GREATEST] = { "max", "greatest" },
		[CRM_SQL_JSON_TEXT] = { "->> '$'", "#>> '{}'" },
		[CRM_SQL_EACH_NUMBER] = { "j.type IN ('integer', 'real')", "jsonb_typeof(j.value) = 'number'" },
		[CRM_SQL_EACH_TEXT_OR_NUMBER] = { "j.type IN ('text', 'integer', 'real')",
						  "jsonb_typeof(j.value) IN ('string', 'number')" },
		[CRM_SQL_EACH_SCALAR] = { "j.type IN ('integer', 'real', 'text', 'true', 'false')",
					  "jsonb_typeof(j.value) IN ('number', 'string', 'boolean')" },
		[CRM_SQL_KEYS_HIGH] = { "(SELECT seq FROM sqlite_sequence WHERE name = 'keys')",
					"(SELECT last_value FROM keys_high)" },
		[CRM_SQL_KEYS_SCHEMA] = {
	"CREATE TABLE IF NOT EXISTS masters ("
			" version INTEGER PRIMARY KEY,"
			" tag BLOB NOT NULL,"
			" created_at TEXT NOT NULL);"
			"CREATE TABLE IF NOT EXISTS keys ("
			" id INTEGER PRIMARY KEY AUTOINCREMENT,"
			" version INTEGER NOT NULL,"
			" wrapped BLOB NOT NULL,"
			" created_at TEXT NOT NULL);",
	"SET client_min_messages = warning;"
			"CREATE TABLE IF NOT EXISTS masters ("
			" version integer PRIMARY KEY,"
			" tag bytea NOT NULL,"
			" created_at text NOT NULL);"
			"CREATE TABLE IF NOT EXISTS keys ("
			" id bigint PRIMARY KEY,"
			" version integer NOT NULL,"
			" wrapped bytea NOT NULL,"
			" created_at text NOT NULL);"
			"CREATE SEQUENCE IF NOT EXISTS keys_high MINVALUE 0 START 0;" },
		[CRM_SQL_KEYS_NOTE] = { "UPDATE sqlite_sequence SET seq = max(seq, CAST(?1 AS INTEGER)) "
					"WHERE name = 'keys'",
					"SELECT setval('keys_high', greatest((SELECT last_value FROM keys_high), "
					"CAST(?1 AS bigint)))" },
	};

	return names[what][s->ops->kind == CRM_STORE_POSTGRES];
}

int crm_store_attr(const struct crm_store *s, struct crm_buf *sql, const char *col, int k, int num)
{
	if (s->ops->kind != CRM_STORE_POSTGRES)
		return crm_buf_addf(sql, "json_extract(%s, ?%d)", col, k);
	if (num)
		return crm_buf_addf(sql, "(CASE jsonb_typeof(%s -> ?%d) WHEN 'number' "
				    "THEN (%s ->> ?%d)::float8 END)", col, k, col, k);
	return crm_buf_addf(sql, "(%s ->> ?%d)", col, k);
}

void crm_store_attr_key(const struct crm_store *s, const char *key, char *out, size_t n)
{
	if (s->ops->kind == CRM_STORE_POSTGRES)
		snprintf(out, n, "%s", key);
	else
		snprintf(out, n, "$.\"%s\"", key);
}

const char *crm_store_rowid(const struct crm_store *s)
{
	return s->ops->kind == CRM_STORE_POSTGRES ? "id" : "rowid";
}

const char *crm_store_rowid_of(const struct crm_store *s, const char *table)
{
	if (s->ops->kind == CRM_STORE_POSTGRES && !strcmp(table, "transcripts"))
		return "interaction_id";
	return crm_store_rowid(s);
}

int crm_store_json_spaced(const struct crm_store *s)
{
	return s->ops->kind == CRM_STORE_POSTGRES;
}



int crm_store_json_with(const struct crm_store *s, struct crm_buf *sql, const char *col,
			const char *key, const char *val)
{
	if (s->ops->kind == CRM_STORE_POSTGRES)
		return crm_buf_addf(sql, "jsonb_set(%s, ARRAY[CAST(%s AS text)], to_jsonb(CAST(%s AS text)))",
				    col, key, val);
	return crm_buf_addf(sql, "json_set(%s, '$.' || json_quote(%s), %s)", col, key, val);
}

int crm_store_json_without(const struct crm_store *s, struct crm_buf *sql, const char *col,
			   const char *key)
{
	if (s->ops->kind == CRM_STORE_POSTGRES)
		return crm_buf_addf(sql, "(%s - CAST(%s AS text))", col, key);
	return crm_buf_addf(sql, "json_remove(%s, '$.' || json_quote(%s))", col, key);
}

int crm_store_time_minus(const struct crm_store *s, struct crm_buf *sql, const char *t, int days)
{
	if (s->ops->kind == CRM_STORE_POSTGRES)
		return crm_buf_addf(sql, "to_char(crm_instant(%s) - make_interval(days => %d), "
				    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", t, days);
	return crm_buf_addf(sql, "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', %s, '-%d days')", t, days);
}

int crm_store_first_where(const struct crm_store *s, struct crm_buf *sql, const char *what,
			  const char *table, const char *col, const char *order)
{
	/* PostgreSQL's planner would walk the id index in order, filtering,
	 * where the rows of one key are a handful: found first, then sorted. */
	return crm_buf_addf(sql, "WITH m AS %s (SELECT %s AS r_, * FROM %s WHERE %s = ?1) "
			    "SELECT %s FROM m ORDER BY %sr_ LIMIT 1",
			    s->ops->kind == CRM_STORE_POSTGRES ? "MATERIALIZED" : "",
			    crm_store_rowid(s), table, col, what, order ? order : "");
}

int crm_store_data_version(struct crm_store *s, long long *v, struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	if (s->ops->kind == CRM_STORE_POSTGRES)
		return crm_store_last_event(s, v, e);
	if (!(st = crm_store_stmt(s, "PRAGMA data_version", e)))
		return -1;
	if ((rc = crm_stmt_step(st, e)) > 0)
		*v = crm_stmt_int64(st, 0);
	crm_store_stmt_done(st);
	return rc > 0 ? 0 : -1;
}

/* v[0..n) (NULL for NULL) as a PostgreSQL array literal appended to b,
 * to bind as one text[] parameter. -1 when out of memory. */
static int crm_store_text_array(struct crm_buf *b, const char *const *v, size_t n)
{
	int rc = crm_buf_addc(b, '{');

	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= crm_buf_addc(b, ',');
		if (!v[i]) {
			rc |= crm_buf_adds(b, "NULL");
			continue;
		}
		rc |= crm_buf_addc(b, '"');
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				rc |= crm_buf_addc(b, '\\');
			rc |= crm_buf_addc(b, *p);
		}
		rc |= crm_buf_addc(b, '"');
	}
	rc |= crm_buf_addc(b, '}');
	return rc ? -1 : 0;
}

int crm_store_insert_rows(struct crm_store *s, const char *sql, size_t ncols,
			  const char *const *v, size_t n, struct crm_err *e)
{
	struct crm_buf q, *arr = NULL;
	const char **col = NULL;
	struct crm_stmt *st = NULL;
	int rc = -1;

	if (!n)
		return 0;
	crm_buf_init(&q, 0);
	crm_buf_adds(&q, "WITH new_rows (");
	for (size_t j = 0; j < ncols; j++)
		crm_buf_addf(&q, "c%zu, ", j + 1);
	if (s->ops->kind != CRM_STORE_POSTGRES) {
		/* A row at a time: SQLite's statements cost no round trip. */
		crm_buf_adds(&q, "o) AS (VALUES (");
		for (size_t j = 0; j < ncols; j++)
			crm_buf_addf(&q, "?%zu, ", j + 1);
		crm_buf_addf(&q, "?%zu)) %s", ncols + 1, sql);
		/* Outside a transaction, one of its own (a savepoint inside
		 * one would journal every page the rows touch). */
		int own = !crm_store_in_transaction(s);

		if (!q.data || !(st = crm_store_stmt_text(s, q.data, e)) ||
		    (own && crm_store_exec(s, "SAVEPOINT new_rows", e) < 0))
			goto out;
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			for (size_t j = 0; j < ncols; j++)
				crm_stmt_bind_text_ref(st, (int)j + 1, v[i * ncols + j], (size_t)-1);
			crm_stmt_bind_int64(st, (int)ncols + 1, (long long)i + 1);
			rc = crm_stmt_step(st, e) < 0 ? -1 : 0;
			crm_stmt_reset(st);
		}
		if (own && rc < 0)
			crm_store_exec(s, "ROLLBACK TO new_rows", NULL);
		if (own)
			crm_store_exec(s, "RELEASE new_rows", NULL);
		goto out;
	}
	/* All the rows in one statement, a text array a column. */
	crm_buf_adds(&q, "o) AS (SELECT * FROM unnest(");
	for (size_t j = 0; j < ncols; j++)
		crm_buf_addf(&q, "%s?%zu::text[]", j ? ", " : "", j + 1);
	crm_buf_addf(&q, ") WITH ORDINALITY) %s", sql);
	if (!(arr = calloc(ncols, sizeof(*arr))) || !(col = malloc(n * sizeof(*col))))
		goto nomem;
	for (size_t j = 0; j < ncols; j++) {
		crm_buf_init(&arr[j], 0);
		for (size_t i = 0; i < n; i++)
			col[i] = v[i * ncols + j];
		if (crm_store_text_array(&arr[j], col, n) < 0)
			goto nomem;
	}
	if (!q.data || !(st = crm_store_stmt_text(s, q.data, e)))
		goto out;
	for (size_t j = 0; j < ncols; j++)
		crm_stmt_bind_text_ref(st, (int)j + 1, arr[j].data, arr[j].len);
	rc = crm_stmt_step(st, e) < 0 ? -1 : 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	if (st)
		crm_store_stmt_done(st);
	if (arr)
		for (size_t j = 0; j < ncols; j++)
			crm_buf_release(&arr[j]);
	free(arr);
	free(col);
	crm_buf_release(&q);
	return rc;
}

int crm_store_join_each(const struct crm_store *s, struct crm_buf *sql, const char *alias,
			const char *from, const char *where)
{
	if (s->ops->kind == CRM_STORE_POSTGRES)
		return crm_buf_addf(sql, " CROSS JOIN LATERAL (SELECT %s.* FROM %s WHERE %s OFFSET 0) %s",
				    alias, from, where, alias);
	return crm_buf_addf(sql, " JOIN %s WHERE %s", from, where);
}
