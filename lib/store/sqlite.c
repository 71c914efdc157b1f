/*
 * sqlite.c - the SQLite backend: one file, opened as store/db.c opens it
 * (WAL, the busy wait, foreign keys, secure_delete).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "backend.h"

/* The backend's connection and statement. */
struct crm_sq {
	sqlite3 *db;
	char **triggers;	/* "type name\nCREATE ..." of the triggers and indexes
				 * load_begin set aside */
};

struct crm_sq_stmt {
	struct crm_stmt head;
	sqlite3_stmt *st;
	int done;		/* stepped to the end: the next step runs it again */
};


#define DB(s) (((struct crm_sq *)(s)->h)->db)
#define ST(x) (((struct crm_sq_stmt *)(x))->st)

static int sq_open(struct crm_store *s, const char *target, int flags, struct crm_err *e)
{
	struct crm_sq *q = calloc(1, sizeof(*q));
	int dflags = CRM_DB_NOMIGRATE;

	if (!q)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (flags & CRM_STORE_READONLY)
		dflags |= CRM_DB_READONLY;
	if (flags & CRM_STORE_CREATE)
		dflags |= CRM_DB_CREATE;
	if (crm_db_open(&q->db, target, dflags, e) < 0) {
		free(q);
		return -1;
	}
	s->h = q;
	return 0;
}

static void sq_close(struct crm_store *s)
{
	struct crm_sq *q = s->h;

	crm_store_free_list(q->triggers);
	crm_db_close(q->db);
	free(q);
}

static int sq_exec(struct crm_store *s, const char *sql, struct crm_err *e)
{
	return crm_db_exec(DB(s), sql, e);
}

static int sq_begin(struct crm_store *s, struct crm_err *e)
{
	return crm_db_begin(DB(s), e);
}

static int sq_try_begin(struct crm_store *s, struct crm_err *e)
{
	return crm_db_try_begin(DB(s), e);
}

static int sq_commit(struct crm_store *s, struct crm_err *e)
{
	return crm_db_commit(DB(s), e);
}

static void sq_rollback(struct crm_store *s)
{
	crm_db_rollback(DB(s));
}

static int sq_in_transaction(struct crm_store *s)
{
	return !sqlite3_get_autocommit(DB(s));
}

static int sq_scrub(struct crm_store *s, const char *const *tables, int full)
{
	(void)tables;
	(void)full;	/* secure_delete zeroed freed pages already */
	return sqlite3_wal_checkpoint_v2(DB(s), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK;
}

static int sq_version(struct crm_store *s, int *v, struct crm_err *e)
{
	return crm_db_user_version(DB(s), v, e);
}

static int sq_apply(struct crm_store *s, int n, struct crm_err *e)
{
	char sql[64];

	if (crm_db_exec(DB(s), crm_migrations[n - 1], e) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", n);
	return crm_db_exec(DB(s), sql, e);
}

/* The first column of every row of sql, as a NULL-terminated list. */
static int sq_list(struct crm_store *s, const char *sql, char ***out, struct crm_err *e)
{
	sqlite3_stmt *st;
	char **list = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(DB(s), sql, -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(DB(s), e, "cannot list the schema");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **grown = realloc(list, (n + 2) * sizeof(*list));

		if (!grown) {
			rc = SQLITE_NOMEM;
			break;
		}
		list = grown;
		list[n + 1] = NULL;
		if (!(list[n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
			rc = SQLITE_NOMEM;
			break;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		crm_store_free_list(list);
		return rc == SQLITE_NOMEM ? crm_err_set(e, CRM_ESOFTWARE, "out of memory") :
		       crm_db_err(DB(s), e, "cannot list the schema");
	}
	if (!list && !(list = calloc(1, sizeof(*list))))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	*out = list;
	return 0;
}

/* Tables in the order they were made: after those they refer to. */
static int sq_tables(struct crm_store *s, char ***out, struct crm_err *e)
{
	return sq_list(s, "SELECT name FROM sqlite_master WHERE type = 'table' "
			  "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid", out, e);
}

/*
 * SQLite cannot turn triggers off for one connection: they are set aside
 * (dropped, inside the caller's transaction) and made again at the end;
 * so are the indexes, which are built faster once from the loaded rows
 * than row by row. sqlite_sequence follows the largest rowid loaded.
 */
static int sq_load_begin(struct crm_store *s, struct crm_err *e)
{
	struct crm_sq *q = s->h;

	/* A big cache while loading: pages are written once, at commit,
	 * instead of spilled to the log and read back. */
	if (crm_db_exec(q->db, "PRAGMA defer_foreign_keys = ON; PRAGMA cache_size = -262144", e) < 0 ||
	    sq_list(s, "SELECT type || ' ' || name || char(10) || sql FROM sqlite_master "
		       "WHERE type IN ('trigger', 'index') AND sql IS NOT NULL ORDER BY rowid",
		    &q->triggers, e) < 0)
		return -1;
	for (char **t = q->triggers; *t; t++) {
		char drop[256], type[16], name[128];

		if (sscanf(*t, "%15s %127[^\n]", type, name) != 2)
			return crm_err_set(e, CRM_ESOFTWARE, "cannot read the schema: %.60s", *t);
		snprintf(drop, sizeof(drop), "DROP %s \"%s\"", !strcmp(type, "index") ? "INDEX" : "TRIGGER", name);
		if (crm_db_exec(q->db, drop, e) < 0)
			return -1;
	}
	return 0;
}

static int sq_load_end(struct crm_store *s, struct crm_err *e)
{
	struct crm_sq *q = s->h;
	int rc = 0;

	for (char **t = q->triggers; t && *t && rc == 0; t++)
		rc = crm_db_exec(q->db, strchr(*t, '\n') + 1, e);
	crm_store_free_list(q->triggers);
	q->triggers = NULL;
	if (rc == 0)
		rc = crm_db_exec(q->db, "PRAGMA cache_size = -2000", e);
	return rc;
}

static int sq_counters(struct crm_store *s, struct crm_counter *out, size_t max, size_t *n,
			struct crm_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(DB(s), "SELECT name, seq FROM sqlite_sequence ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK)
		return crm_db_err(DB(s), e, "cannot read the counters");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		snprintf(out[*n].table, sizeof(out[*n].table), "%s", (const char *)sqlite3_column_text(st, 0));
		out[(*n)++].last = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return crm_err_set(e, CRM_ESOFTWARE, "more than %zu counters", max);
	return rc == SQLITE_DONE ? 0 : crm_db_err(DB(s), e, "cannot read the counters");
}

static int sq_set_counter(struct crm_store *s, const char *table, long long last,
			  struct crm_err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* sqlite_sequence has a row once the table has had one: made here
	 * when the copy brought no rows. */
	if (sqlite3_prepare_v2(DB(s),
			       "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0 WHERE NOT EXISTS "
			       "(SELECT 1 FROM sqlite_sequence WHERE name = ?1)", -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(DB(s), e, "cannot set a counter");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE ||
	    sqlite3_prepare_v2(DB(s), "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return crm_db_err(DB(s), e, "cannot set a counter");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, last);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : crm_db_err(DB(s), e, "cannot set a counter");
}

static int sq_listen(struct crm_store *s, struct crm_err *e)
{
	(void)s;
	(void)e;
	return 0;
}

static int sq_wait(struct crm_store *s, int ms, struct crm_err *e)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	(void)s;
	(void)e;
	nanosleep(&ts, NULL);
	return 0;
}

static int sq_prepare(struct crm_store *s, const char *sql, int flags,
		      struct crm_stmt **out, struct crm_err *e)
{
	struct crm_sq_stmt *x = calloc(1, sizeof(*x));

	(void)flags;
	*out = NULL;
	if (!x)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (sqlite3_prepare_v2(DB(s), sql, -1, &x->st, NULL) != SQLITE_OK) {
		free(x);
		return crm_db_err(DB(s), e, "prepare");
	}
	x->head.ops = &crm_store_sqlite_ops;
	x->head.s = s;
	*out = &x->head;
	return 0;
}

static int sq_bind(struct crm_stmt *st, int i, enum crm_type t, long long iv, double dv,
		   const void *p, size_t n, int ref)
{
	sqlite3_stmt *x = ST(st);

	if (((struct crm_sq_stmt *)st)->done) {
		sqlite3_reset(x);
		((struct crm_sq_stmt *)st)->done = 0;
	}
	switch (t) {
	case CRM_NULL:
		return sqlite3_bind_null(x, i) == SQLITE_OK ? 0 : -1;
	case CRM_INTEGER:
		return sqlite3_bind_int64(x, i, iv) == SQLITE_OK ? 0 : -1;
	case CRM_REAL:
		return sqlite3_bind_double(x, i, dv) == SQLITE_OK ? 0 : -1;
	case CRM_TEXT:
		return sqlite3_bind_text64(x, i, p, n, ref ? SQLITE_STATIC : SQLITE_TRANSIENT,
					   SQLITE_UTF8) == SQLITE_OK ? 0 : -1;
	case CRM_BLOB:
		return sqlite3_bind_blob64(x, i, p, n, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
	}
	return -1;
}

static int sq_step(struct crm_stmt *st, struct crm_err *e)
{
	struct crm_sq_stmt *x = (struct crm_sq_stmt *)st;
	int rc;

	if (x->done) {
		sqlite3_reset(x->st);
		x->done = 0;
	}
	rc = sqlite3_step(x->st);
	if (rc == SQLITE_ROW)
		return 1;
	x->done = 1;
	if (rc == SQLITE_DONE)
		return 0;
	return crm_db_err(DB(st->s), e, "step");
}

static long long sq_changes(struct crm_stmt *st)
{
	return sqlite3_changes64(DB(st->s));
}

static int sq_columns(struct crm_stmt *st)
{
	return sqlite3_column_count(ST(st));
}

static const char *sq_column_name(struct crm_stmt *st, int i)
{
	return sqlite3_column_name(ST(st), i);
}

static enum crm_type sq_type(struct crm_stmt *st, int i)
{
	switch (sqlite3_column_type(ST(st), i)) {
	case SQLITE_INTEGER:
		return CRM_INTEGER;
	case SQLITE_FLOAT:
		return CRM_REAL;
	case SQLITE_TEXT:
		return CRM_TEXT;
	case SQLITE_BLOB:
		return CRM_BLOB;
	default:
		return CRM_NULL;
	}
}

static long long sq_int64(struct crm_stmt *st, int i)
{
	return sqlite3_column_int64(ST(st), i);
}

static double sq_double(struct crm_stmt *st, int i)
{
	return sqlite3_column_double(ST(st), i);
}

static const void *sq_bytes(struct crm_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_type(ST(st), i) == SQLITE_BLOB ?
			sqlite3_column_blob(ST(st), i) : (const void *)sqlite3_column_text(ST(st), i);

	if (n)
		*n = (size_t)sqlite3_column_bytes(ST(st), i);
	return p;
}

static void sq_reset(struct crm_stmt *st)
{
	sqlite3_reset(ST(st));
	((struct crm_sq_stmt *)st)->done = 0;
}

static void sq_free(struct crm_stmt *st)
{
	sqlite3_finalize(ST(st));
	free(st);
}

/* The statement caches are db.c's (crm_db_stmt, crm_db_stmt_text),
 * shared with the code that holds the handle itself; each caller gets a
 * wrapper of its own. */
static struct crm_stmt *sq_cache(struct crm_store *s, const char *sql, int by_text, struct crm_err *e)
{
	struct crm_sq_stmt *w = calloc(1, sizeof(*w));

	if (!w) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	if (!(w->st = by_text ? crm_db_stmt_text(DB(s), sql) : crm_db_stmt(DB(s), sql))) {
		crm_db_err(DB(s), e, "prepare");
		free(w);
		return NULL;
	}
	w->head.ops = s->ops;
	w->head.s = s;
	return &w->head;
}

static struct crm_stmt *sq_cached(struct crm_store *s, const char *sql, struct crm_err *e)
{
	return sq_cache(s, sql, 0, e);
}

static struct crm_stmt *sq_cached_text(struct crm_store *s, const char *sql, struct crm_err *e)
{
	return sq_cache(s, sql, 1, e);
}

static void sq_cached_done(struct crm_stmt *st)
{
	crm_db_stmt_done(DB(st->s), ST(st));
	free(st);
}

const struct crm_store_ops crm_store_sqlite_ops = {
	.kind = CRM_STORE_SQLITE,
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.try_begin = sq_try_begin,
	.rollback = sq_rollback,
	.in_transaction = sq_in_transaction,
	.scrub = sq_scrub,
	.version = sq_version,
	.apply = sq_apply,
	.tables = sq_tables,
	.load_begin = sq_load_begin,
	.load_end = sq_load_end,
	.counters = sq_counters,
	.set_counter = sq_set_counter,
	.listen = sq_listen,
	.wait = sq_wait,
	.prepare = sq_prepare,
	.bind = sq_bind,
	.step = sq_step,
	.changes = sq_changes,
	.ncolumns = sq_columns,
	.column_name = sq_column_name,
	.type = sq_type,
	.int64 = sq_int64,
	.dbl = sq_double,
	.bytes = sq_bytes,
	.reset = sq_reset,
	.free = sq_free,
	.cached = sq_cached,
	.cached_done = sq_cached_done,
	.cached_text = sq_cached_text,
};

/* crm_db_migrate (db.h): the store's migrations, on a handle of db.c's. */
int crm_db_migrate(sqlite3 *db, int *from, int *to, struct crm_err *e)
{
	struct crm_sq q = { .db = db };
	struct crm_store s = { .ops = &crm_store_sqlite_ops, .name = "", .h = &q };

	return crm_store_migrate(&s, from, to, e);
}
