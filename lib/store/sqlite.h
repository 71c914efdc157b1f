/*
 * store/sqlite.h - the SQLite backend's handles, for code that reaches
 * the database through sqlite3 directly (lib/db.h) and must hand a
 * statement to a function written on the interface (crm_row_json), or
 * find the SQLite handle under a connection of the interface.
 */
#ifndef CRM_STORE_SQLITE_H
#define CRM_STORE_SQLITE_H

#include <sqlite3.h>

#include "backend.h"

/* The backend's own (store/sqlite.c). */
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

/*
 * A statement of the interface over st, which stays the caller's: w
 * holds it (nothing allocated; no crm_stmt_free). Stepping through it
 * steps st.
 */
struct crm_sq_wrap {
	struct crm_sq_stmt stmt;
	struct crm_store s;
	struct crm_sq q;
};
struct crm_stmt *crm_sq_wrap(struct crm_sq_wrap *w, sqlite3_stmt *st);
/* A connection of the interface over db, held by w likewise (no
 * crm_store_close; db stays open). */
struct crm_store *crm_sq_store(struct crm_sq_wrap *w, sqlite3 *db);
/* The same over a wrapper that lives until the end of the enclosing
 * block: for one call. */
#define CRM_SQ_STORE(db) crm_sq_store(&(struct crm_sq_wrap){ .q.db = NULL }, (db))

/* The SQLite handle under s; NULL on another backend. */
sqlite3 *crm_store_sqlite(struct crm_store *s);

#endif
