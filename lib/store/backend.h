/*
 * backend.h - what a storage backend provides (store/sqlite.c,
 * store/pg.c); store.c dispatches to it. Not for use above lib/store.
 */
#ifndef CRM_STORE_BACKEND_H
#define CRM_STORE_BACKEND_H

#include "store.h"

enum crm_store_kind { CRM_STORE_SQLITE, CRM_STORE_POSTGRES };

struct crm_store_ops {
	enum crm_store_kind kind;
	int (*open)(struct crm_store *s, const char *target, int flags, struct crm_err *e);
	void (*close)(struct crm_store *s);
	int (*exec)(struct crm_store *s, const char *sql, struct crm_err *e);
	int (*begin)(struct crm_store *s, struct crm_err *e);
	int (*commit)(struct crm_store *s, struct crm_err *e);	/* rolls back if it fails */
	int (*try_begin)(struct crm_store *s, struct crm_err *e);
	void (*rollback)(struct crm_store *s);	/* nothing when none is open */
	int (*in_transaction)(struct crm_store *s);
	int (*scrub)(struct crm_store *s, const char *const *tables, int full);
	int (*version)(struct crm_store *s, int *v, struct crm_err *e);
	/* Run migration n (from 1) and record it, inside a transaction. */
	int (*apply)(struct crm_store *s, int n, struct crm_err *e);
	/* Take (on) or give back the right to migrate; NULL: the write
	 * transaction of each migration is enough (SQLite). */
	int (*migrating)(struct crm_store *s, int on, struct crm_err *e);
	int (*tables)(struct crm_store *s, char ***out, struct crm_err *e);
	int (*load_begin)(struct crm_store *s, struct crm_err *e);
	int (*load_end)(struct crm_store *s, struct crm_err *e);
	int (*counters)(struct crm_store *s, struct crm_counter *out, size_t max, size_t *n,
			struct crm_err *e);
	int (*set_counter)(struct crm_store *s, const char *table, long long last,
			   struct crm_err *e);
	/* Bulk loads; NULL: one INSERT a row (store.c). */
	int (*bulk_begin)(struct crm_bulk *b, struct crm_stmt *from, struct crm_err *e);
	int (*bulk_row)(struct crm_bulk *b, struct crm_stmt *from, struct crm_err *e);
	int (*bulk_end)(struct crm_bulk *b, struct crm_err *e);
	int (*listen)(struct crm_store *s, struct crm_err *e);
	int (*wait)(struct crm_store *s, int ms, struct crm_err *e);
	int (*prepare)(struct crm_store *s, const char *sql, int flags,
		       struct crm_stmt **out, struct crm_err *e);
	/* ref: p stays valid until the statement runs (SQLite need not
	 * copy it). */
	int (*bind)(struct crm_stmt *st, int i, enum crm_type t, long long iv, double dv,
		    const void *p, size_t n, int ref);

	int (*step)(struct crm_stmt *st, struct crm_err *e);
	long long (*changes)(struct crm_stmt *st);
	int (*ncolumns)(struct crm_stmt *st);
	const char *(*column_name)(struct crm_stmt *st, int i);
	enum crm_type (*type)(struct crm_stmt *st, int i);
	long long (*int64)(struct crm_stmt *st, int i);
	double (*dbl)(struct crm_stmt *st, int i);
	const void *(*bytes)(struct crm_stmt *st, int i, size_t *n);	/* n may be NULL */
	void (*reset)(struct crm_stmt *st);
	struct crm_stmt *(*cached)(struct crm_store *s, const char *sql, struct crm_err *e);
	void (*cached_done)(struct crm_stmt *st);
	struct crm_stmt *(*cached_text)(struct crm_store *s, const char *sql, struct crm_err *e);
	void (*free)(struct crm_stmt *st);
};

#define CRM_STORE_NAME_MAX 512

/* The common head of every backend's connection and statement. */
struct crm_store {
	const struct crm_store_ops *ops;
	const char *name;	/* the target, a password masked */
	int flags;		/* as opened */
	void *h;		/* the backend's handle */
	struct crm_crypt *crypt;	/* field encryption, or NULL */
	void (*crypt_release)(struct crm_crypt *);
	long patience;		/* ms to wait for a server that went away;
				 * -1: the busy timeout, else a minute */
	long resets;		/* connections made again */
};

struct crm_stmt {
	const struct crm_store_ops *ops;
	struct crm_store *s;
};

struct crm_bulk {
	struct crm_store *s;
	char table[64];		/* as named: checked, no quotes */
	long long rows;
	struct crm_stmt *ins;	/* the INSERT of the generic load */
	void *h;		/* the backend's */
};

extern const struct crm_store_ops crm_store_sqlite_ops;
extern const struct crm_store_ops crm_store_pg;

/* The migrations of each dialect, compiled in from lib/sql/. */
extern const char *const crm_migrations[];
extern const size_t crm_nmigrations;
extern const char *const crm_pg_migrations[];
extern const size_t crm_pg_nmigrations;

#endif
