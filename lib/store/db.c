/*
 * db.c - opening the shared SQLite file and keeping its schema current.
 *
 * Every tool opens the same file, often at the same time (cron jobs, the
 * server, a shell). WAL lets readers run beside the one writer; the busy
 * timeout makes a second writer wait instead of failing; secure_delete
 * overwrites freed pages so erased data does not linger. Migrations are
 * numbered SQL files (lib/sql/NNNN-*.sql) compiled into the library and
 * applied in order, each in one transaction, tracked by user_version.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "store.h"

extern const char *const crm_migrations[];
extern const size_t crm_nmigrations;

static int sqlite_configured;

/* How long a writer waits for the lock: -1 for as long as it takes. */
static long busy_ms = -2;	/* -2: not set, read $CRM_BUSY_TIMEOUT */

void crm_store_busy_timeout(long ms)
{
	busy_ms = ms < 0 ? -1 : ms;
}

long crm_db_busy_limit(void)
{
	if (busy_ms == -2) {
		const char *v = getenv("CRM_BUSY_TIMEOUT");
		char *end;
		double secs = v && *v ? strtod(v, &end) : -1;

		busy_ms = v && *v && !*end && secs >= 0 ? (long)(secs * 1000) : -1;
	}
	return busy_ms;
}

/*
 * The lock is held by another writer: wait, with backoff from 1 ms to
 * 10 ms, for as long as crm_store_busy_timeout allows (by default until it
 * is free). Every writer keeps its transactions short, so the wait is
 * that of one transaction; a row is never dropped because of it.
 */
static atomic_ulong busy_waits;

unsigned long crm_store_busy_waits(void)
{
	return atomic_load(&busy_waits);
}

int crm_db_busy_wait(int n)
{
	long limit = crm_db_busy_limit();
	long ms = n < 4 ? 1L << n : 10;
	/* Waited so far: 1 + 2 + 4 + 8 ms, then 10 ms a time: a lock is
	 * taken soon after it is free, and polling costs nothing much. */
	long waited = n < 4 ? (1L << n) - 1 : 15 + (long)(n - 4) * 10;
	struct timespec ts;

	if (limit >= 0 && waited >= limit)
		return 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	atomic_fetch_add(&busy_waits, 1);
	nanosleep(&ts, NULL);
	return 1;
}

static int on_busy(void *arg, int n)
{
	(void)arg;
	return crm_db_busy_wait(n);
}

int crm_db_schema_version(void)
{
	return (int)crm_nmigrations;
}

int crm_db_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return CRM_OK;
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_PERM:
		return CRM_ENOINPUT;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
		return CRM_EDATA;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CRM_EUNAVAILABLE;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CORRUPT:
		return CRM_EIO;
	default:
		return CRM_ESOFTWARE;
	}
}

int crm_db_err(sqlite3 *db, struct crm_err *e, const char *what)
{
	int rc = sqlite3_extended_errcode(db);

	return crm_err_set(e, crm_db_code(rc), "%s: %s", what,
			   sqlite3_errmsg(db));
}

int crm_db_exec(sqlite3 *db, const char *sql, struct crm_err *e)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		crm_err_set(e, crm_db_code(rc), "%s",
			    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int crm_db_begin(sqlite3 *db, struct crm_err *e)
{
	return crm_db_exec(db, "BEGIN IMMEDIATE", e);
}

int crm_db_try_begin(sqlite3 *db, struct crm_err *e)
{
	int rc;

	sqlite3_busy_handler(db, NULL, NULL);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_busy_handler(db, on_busy, NULL);
	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY)
		return 1;
	return crm_db_err(db, e, "begin");
}

int crm_db_commit(sqlite3 *db, struct crm_err *e)
{
	if (crm_db_exec(db, "COMMIT", e) < 0) {
		crm_db_rollback(db);
		return -1;
	}
	return 0;
}

void crm_db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int crm_db_user_version(sqlite3 *db, int *v, struct crm_err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL))
		return crm_db_err(db, e, "cannot read schema version");
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return crm_db_err(db, e, "cannot read schema version");
	}
	*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int crm_db_open(sqlite3 **out, const char *path, int flags, struct crm_err *e)
{
	sqlite3 *db = NULL;
	struct stat st;
	int oflags, rc, v;

	*out = NULL;
	if (!sqlite_configured) {
		/* No global memory statistics, whose mutex every allocation
		 * takes; harmless if SQLite was initialised already. */
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		sqlite_configured = 1;
	}
	path = crm_store_target(path);
	if (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11))
		return crm_err_set(e, CRM_EUSAGE,
				   "%.*s...: a PostgreSQL URL, not an SQLite file (store.h opens either)",
				   (int)strcspn(path, "@/:") + 3, path);
	if (!(flags & CRM_DB_CREATE) && stat(path, &st) < 0)
		return crm_err_set(e, CRM_ENOINPUT, "%s: %s (run 'crm init' first)",
				   path, strerror(errno));
	if (flags & CRM_DB_READONLY)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE |
			 (flags & CRM_DB_CREATE ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		crm_err_set(e, crm_db_code(rc), "%s: %s", path,
			    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_handler(db, on_busy, NULL);
	sqlite3_extended_result_codes(db, 1);
	/* journal_mode=WAL needs write access and is stored in the file. */
	if (!(flags & CRM_DB_READONLY) &&
	    crm_db_exec(db, "PRAGMA journal_mode=WAL", e) < 0)
		goto fail;
	if (crm_db_exec(db, "PRAGMA foreign_keys=ON;"
			    "PRAGMA secure_delete=ON;"
			    "PRAGMA synchronous=NORMAL;"
			    "PRAGMA temp_store=MEMORY", e) < 0)
		goto fail;
	if (!(flags & (CRM_DB_READONLY | CRM_DB_NOMIGRATE))) {
		if (crm_db_migrate(db, NULL, NULL, e) < 0)
			goto fail;
	} else {
		if (crm_db_user_version(db, &v, e) < 0)
			goto fail;
		if (v > (int)crm_nmigrations) {
			crm_err_set(e, CRM_EDATA,
				"%s: schema version %d is newer than this build of crm knows (%zu): upgrade crm",
				path, v, crm_nmigrations);
			goto fail;
		}
		if (v != (int)crm_nmigrations && !(flags & CRM_DB_NOMIGRATE)) {
			crm_err_set(e, CRM_EDATA,
				"%s: schema version %d, this build needs %zu (run 'crm init')",
				path, v, crm_nmigrations);
			goto fail;
		}
	}
	*out = db;
	return 0;
fail:
	{
		char msg[CRM_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
		if (e && strncmp(msg, path, strlen(path)) != 0)
			crm_err_set(e, e->code, "%s: %s", path, msg);
	}
	sqlite3_close(db);
	return -1;
}

/* Statements kept prepared, per thread: a server thread runs the same few
 * queries thousands of times a second on its own connection. */
#define STMT_CACHE 48

static _Thread_local struct {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *st;
} stmt_cache[STMT_CACHE];

sqlite3_stmt *crm_db_stmt(sqlite3 *db, const char *sql)
{
	size_t free_slot = STMT_CACHE;
	sqlite3_stmt *st;

	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (stmt_cache[i].db == db && stmt_cache[i].sql == sql) {
			sqlite3_reset(stmt_cache[i].st);
			sqlite3_clear_bindings(stmt_cache[i].st);
			return stmt_cache[i].st;
		}
		if (!stmt_cache[i].db && free_slot == STMT_CACHE)
			free_slot = i;
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	if (free_slot < STMT_CACHE) {
		stmt_cache[free_slot].db = db;
		stmt_cache[free_slot].sql = sql;
		stmt_cache[free_slot].st = st;
	}
	return st;
}

/* Statements of SQL built at run time, matched by text, the least
 * recently used given up first. */
#define TEXT_CACHE 32

static _Thread_local struct {
	sqlite3 *db;
	char *sql;
	sqlite3_stmt *st;
	int busy;
	unsigned long used;
} text_cache[TEXT_CACHE];
static _Thread_local unsigned long text_clock;

sqlite3_stmt *crm_db_stmt_text(sqlite3 *db, const char *sql)
{
	size_t slot = TEXT_CACHE;
	sqlite3_stmt *st;
	char *copy;

	for (size_t i = 0; i < TEXT_CACHE; i++) {
		if (text_cache[i].db == db && !text_cache[i].busy && !strcmp(text_cache[i].sql, sql)) {
			sqlite3_reset(text_cache[i].st);
			sqlite3_clear_bindings(text_cache[i].st);
			text_cache[i].busy = 1;
			text_cache[i].used = ++text_clock;
			return text_cache[i].st;
		}
		/* The slot to fill: a free one, else the least recently used. */
		if (text_cache[i].busy)
			continue;
		if (slot == TEXT_CACHE ||
		    (text_cache[slot].db && (!text_cache[i].db || text_cache[i].used < text_cache[slot].used)))
			slot = i;
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	if (slot < TEXT_CACHE && (copy = strdup(sql))) {
		if (text_cache[slot].db) {
			sqlite3_finalize(text_cache[slot].st);
			free(text_cache[slot].sql);
		}
		text_cache[slot].db = db;
		text_cache[slot].sql = copy;
		text_cache[slot].st = st;
		text_cache[slot].busy = 1;
		text_cache[slot].used = ++text_clock;
	}
	return st;
}

void crm_db_stmt_done(sqlite3 *db, sqlite3_stmt *st)
{
	for (size_t i = 0; i < STMT_CACHE; i++)
		if (stmt_cache[i].db == db && stmt_cache[i].st == st) {
			sqlite3_reset(st);
			return;
		}
	for (size_t i = 0; i < TEXT_CACHE; i++)
		if (text_cache[i].db == db && text_cache[i].st == st) {
			sqlite3_reset(st);
			text_cache[i].busy = 0;
			return;
		}
	sqlite3_finalize(st);
}

int crm_db_set_meta(sqlite3 *db, const char *key, const char *value, struct crm_err *e)
{
	sqlite3_stmt *st = crm_db_stmt(db, "INSERT INTO meta (key, value) VALUES (?1, ?2) "
				       "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	int rc;

	if (!st)
		return crm_db_err(db, e, "meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	crm_db_stmt_done(db, st);
	return rc == SQLITE_DONE ? 0 : crm_db_err(db, e, "meta");
}

void crm_db_close(sqlite3 *db)
{
	for (size_t i = 0; i < STMT_CACHE; i++)
		if (stmt_cache[i].db == db) {
			sqlite3_finalize(stmt_cache[i].st);
			stmt_cache[i].db = NULL;
			stmt_cache[i].sql = NULL;
			stmt_cache[i].st = NULL;
		}
	for (size_t i = 0; i < TEXT_CACHE; i++)
		if (text_cache[i].db == db) {
			sqlite3_finalize(text_cache[i].st);
			free(text_cache[i].sql);
			memset(&text_cache[i], 0, sizeof(text_cache[i]));
		}
	sqlite3_close(db);
}

long long crm_db_run(sqlite3 *db, const char *sql, const char *const *p, int n,
		     const char *what, struct crm_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(db, e, what);
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return crm_db_err(db, e, what);
	return sqlite3_changes64(db);
}

int crm_db_text1(sqlite3 *db, const char *sql, const char *p, char *out, size_t n,
		 struct crm_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(db, e, "cannot prepare");
	if (p)
		sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		snprintf(out, n, "%s", v ? (const char *)v : "");
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = crm_db_err(db, e, "lookup");
	}
	sqlite3_finalize(st);
	return rc;
}
