/*
 * db.h - the SQLite backend's helper (store/sqlite.c's, and crypt's key
 * store through the store): open the file with the pragmas every tool
 * relies on, wait for a busy writer within its bound, run short write
 * transactions. Nothing above lib/store includes it: the store's
 * interface is store.h.
 */
#ifndef CRM_DB_H
#define CRM_DB_H

#include <sqlite3.h>

#include "../util.h"

/* Open flags for crm_db_open(). */
#define CRM_DB_READONLY	0x1	/* open read-only; the schema must be current */
#define CRM_DB_CREATE	0x2	/* create the file if it does not exist */
#define CRM_DB_NOMIGRATE 0x4	/* do not run migrations (crm init does) */

/*
 * Open the database at path with WAL, busy_timeout, foreign_keys and
 * secure_delete on, and migrate it to the current schema unless
 * CRM_DB_NOMIGRATE or CRM_DB_READONLY. On success *out is a new handle the
 * caller closes with crm_db_close(); on failure returns -1 with e filled
 * (CRM_ENOINPUT when the file is missing or unreadable, CRM_EIO otherwise).
 */
int crm_db_open(sqlite3 **out, const char *path, int flags, struct crm_err *e);
void crm_db_close(sqlite3 *db);

/* That bound in ms, or -1 for none. */
long crm_db_busy_limit(void);
/* The wait of a busy handler's n-th call (from 0) under that bound: 1
 * after waiting, 0 when the bound is reached. */
int crm_db_busy_wait(int n);

/* The schema version this build writes; PRAGMA user_version of a current file. */
int crm_db_schema_version(void);

/*
 * Apply every migration above the file's user_version, each in its own
 * transaction. *from and *to (may be NULL) receive the versions before and
 * after. A file newer than this build is an error (CRM_EDATA). The loop
 * is the storage interface's (store/store.c), on this handle.
 */
int crm_db_migrate(sqlite3 *db, int *from, int *to, struct crm_err *e);
/* PRAGMA user_version: the file's schema version. */
int crm_db_user_version(sqlite3 *db, int *v, struct crm_err *e);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; -1 with e filled on failure. */
int crm_db_begin(sqlite3 *db, struct crm_err *e);
int crm_db_commit(sqlite3 *db, struct crm_err *e);
/* BEGIN IMMEDIATE if the lock is free now: 0 begun, 1 busy (nothing
 * begun; the caller does something else and comes back), -1 with e. For
 * connections opened by crm_db_open. */
int crm_db_try_begin(sqlite3 *db, struct crm_err *e);
void crm_db_rollback(sqlite3 *db);

/* Run SQL without results; -1 with e filled. */
int crm_db_exec(sqlite3 *db, const char *sql, struct crm_err *e);

/* Map an SQLite result code to a crm exit code. */
int crm_db_code(int rc);

/* Fill e from the handle's last error, prefixed by what; returns -1. */
int crm_db_err(sqlite3 *db, struct crm_err *e, const char *what);

/*
 * A prepared statement for sql, kept by this thread for this connection
 * and reset for reuse: sql must be a string constant (it is matched by
 * address). NULL on an error (see sqlite3_errmsg). Give it back with
 * crm_db_stmt_done(), which resets it (or finalizes one the cache had no
 * room for). crm_db_close() finalizes the thread's statements of db.
 */
sqlite3_stmt *crm_db_stmt(sqlite3 *db, const char *sql);
void crm_db_stmt_done(sqlite3 *db, sqlite3_stmt *st);

/*
 * The same for SQL built at run time (a table's name in it): matched by
 * text, a few dozen kept, the least recently used given up first. A
 * statement is one caller's until given back: asking twice for one text
 * gives two.
 */
sqlite3_stmt *crm_db_stmt_text(sqlite3 *db, const char *sql);

/* Set meta key to value (insert or replace); 0, or -1 with e. */
int crm_db_set_meta(sqlite3 *db, const char *key, const char *value, struct crm_err *e);

/*
 * Run sql once with text parameters p[0..n) (NULL binds NULL): the rows
 * it changed, or -1 with e (what names the statement in the message).
 */
long long crm_db_run(sqlite3 *db, const char *sql, const char *const *p, int n,
		     const char *what, struct crm_err *e);

/*
 * The first column of the first row of sql run with text parameter p
 * (NULL binds NULL), copied into out[n] ("" for NULL). 1 when there was a
 * row, 0 when none, -1 with e on an error.
 */
int crm_db_text1(sqlite3 *db, const char *sql, const char *p, char *out, size_t n,
		 struct crm_err *e);

#endif
