/*
 * dbcopy.c - a database into another, through the storage interface
 * only, so it copies between any two backends.
 *
 * Values keep their storage class (an integer stays an integer, bytes
 * stay bytes); PostgreSQL's json columns keep their text, jsonb (attrs)
 * its meaning. The destination must be empty: a copy is a move, never a
 * merge of two histories.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbcopy.h"
#include "util.h"

/* A table name from the schema, quoted for SQL (names are checked
 * against the other side's list, never taken from input). */
static int quoted(char *out, size_t n, const char *name)
{
	if (strchr(name, '"') || strlen(name) + 3 > n)
		return -1;
	snprintf(out, n, "\"%s\"", name);
	return 0;
}

static int has(char **list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(*list, name))
			return 1;
	return 0;
}

/* Does dst bear the mark of a copy begun and not finished? */
static int marked(struct crm_store *dst)
{
	char v[8];
	struct crm_err ignored;

	return crm_store_text1(dst, "SELECT 1 FROM meta WHERE key = 'copy.incomplete'", NULL, v, sizeof(v),
			       &ignored) > 0;
}

int crm_dbcopy_mark(struct crm_store *dst, const char *from, struct crm_err *e)
{
	const char *p[1] = { from };

	if (marked(dst))
		return 0;
	return crm_store_run(dst, "INSERT INTO meta (key, value) VALUES ('copy.incomplete', ?1)", p, 1, e) < 0
		       ? -1 : 0;
}

static int count_rows(struct crm_store *s, const char *table, long long *rows, struct crm_err *e)
{
	char q[80], sql[128];
	struct crm_stmt *st;
	int rc;

	if (quoted(q, sizeof(q), table) < 0)
		return crm_err_set(e, CRM_EDATA, "%s: odd table name '%s'", crm_store_name(s), table);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", q);
	if (crm_store_prepare(s, sql, 0, &st, e) < 0)
		return -1;
	rc = crm_stmt_step(st, e);
	*rows = rc == 1 ? crm_stmt_int64(st, 0) : 0;
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

int crm_dbcopy_count(struct crm_store *s, struct crm_copy_table *out, size_t max, size_t *n,
		 struct crm_err *e)
{
	char **tables;
	int rc = 0;

	*n = 0;
	if (crm_store_tables(s, &tables, e) < 0)
		return -1;
	for (char **t = tables; *t && rc == 0; t++) {
		if (*n == max) {
			rc = crm_err_set(e, CRM_ESOFTWARE, "more than %zu tables", max);
			break;
		}
		snprintf(out[*n].name, sizeof(out[*n].name), "%s", *t);
		rc = count_rows(s, *t, &out[*n].rows, e);
		(*n)++;
	}
	crm_store_free_list(tables);
	return rc;
}

static int copy_table(struct crm_store *src, struct crm_store *dst, const char *table,
		      crm_copy_progress *progress, void *arg, long long *rows, struct crm_err *e)
{
	char q[80], sql[128];
	struct crm_stmt *from = NULL;
	int rc;

	*rows = 0;
	if (quoted(q, sizeof(q), table) < 0)
		return crm_err_set(e, CRM_EDATA, "%s: odd table name '%s'", crm_store_name(src), table);
	snprintf(sql, sizeof(sql), "SELECT * FROM %s", q);
	if (crm_store_prepare(src, sql, CRM_STMT_STREAM, &from, e) < 0)
		return -1;
	rc = crm_store_copy_rows(dst, table, from, progress, arg, rows, e);
	crm_stmt_free(from);
	if (rc < 0)
		return -1;
	if (progress)
		progress(table, *rows, 1, arg);
	return 0;
}

/* The numbers given so far go on from where they were. */
static int copy_counters(struct crm_store *src, struct crm_store *dst, struct crm_err *e)
{
	struct crm_counter c[64];
	size_t n;

	if (crm_store_counters(src, c, sizeof(c) / sizeof(c[0]), &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (crm_store_set_counter(dst, c[i].table, c[i].last, e) < 0)
			return -1;
	return 0;
}

int crm_dbcopy(struct crm_store *src, struct crm_store *dst, crm_copy_progress *progress,
		void *arg, struct crm_copy_table *out, size_t max, size_t *n, struct crm_err *e)
{
	char **from = NULL, **to = NULL;
	int vs, vd, rc = -1;

	*n = 0;
	if (crm_store_version(src, &vs, e) < 0 || crm_store_version(dst, &vd, e) < 0)
		return -1;
	if (vs != vd)
		return crm_err_set(e, CRM_EDATA, "%s is at schema version %d, %s at %d: bring both to %d (crm db init)",
				   crm_store_name(src), vs, crm_store_name(dst), vd,
				   crm_store_schema_version());
	if (crm_store_tables(src, &from, e) < 0 || crm_store_tables(dst, &to, e) < 0)
		goto out;
	for (char **t = from; *t; t++) {
		long long rows;

		if (!has(to, *t)) {
			crm_err_set(e, CRM_EDATA, "%s has no table %s", crm_store_name(dst), *t);
			goto out;
		}
		if (count_rows(dst, *t, &rows, e) < 0)
			goto out;
		if (!strcmp(*t, "meta") && rows && marked(dst))
			rows--;		/* the mark of this copy, begun */
		if (rows) {
			crm_err_set(e, CRM_EDATA, "%s is not empty (%s has %lld rows): copy into a new database",
				    crm_store_name(dst), *t, rows);
			goto out;
		}
	}
	/* One snapshot of the source; one transaction on the destination. */
	if (crm_store_begin_read(src, e) < 0)
		goto out;
	if (crm_store_begin(dst, e) < 0 || crm_store_load_begin(dst, e) < 0 ||
	    crm_store_exec(dst, "DELETE FROM meta WHERE key = 'copy.incomplete'", e) < 0)
		goto fail;
	for (char **t = from; *t; t++) {
		if (*n == max) {
			crm_err_set(e, CRM_ESOFTWARE, "more than %zu tables", max);
			goto fail;
		}
		snprintf(out[*n].name, sizeof(out[*n].name), "%s", *t);
		if (copy_table(src, dst, *t, progress, arg, &out[*n].rows, e) < 0)
			goto fail;
		(*n)++;
	}
	if (crm_store_load_end(dst, e) < 0 || copy_counters(src, dst, e) < 0 ||
	    crm_store_commit(dst, e) < 0)
		goto fail;
	crm_store_rollback(src);
	rc = 0;
	goto out;
fail:
	crm_store_rollback(dst);
	crm_store_rollback(src);
out:
	crm_store_free_list(from);
	crm_store_free_list(to);
	return rc;
}
