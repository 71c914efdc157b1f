/*
 * store.h - the database behind the tools, through one small interface:
 * connections, prepared statements with bound parameters, rows,
 * transactions and the schema's version, whatever the backend.
 *
 * A target names the backend: "postgresql://..." (or "postgres://...")
 * is a PostgreSQL server, reached through libpq (store/pg.c); anything
 * else is the path of an SQLite file (store/sqlite.c). SQL is written
 * once, in the dialect both accept, with "?" for parameters (PostgreSQL
 * gets $1, $2...); what differs between them is asked for by name here
 * (crm_store_load_begin) rather than written twice by callers.
 *
 * Errors fill a struct crm_err with the tools' exit codes: a constraint
 * is CRM_EDATA, a server that is down or a lock or serialization conflict
 * CRM_EUNAVAILABLE (try again), a full disk CRM_EIO.
 */
#ifndef CRM_STORE_H
#define CRM_STORE_H

#include <stddef.h>

#include "../util.h"

/* The storage class of a value: SQLite's five, which PostgreSQL's column
 * types map onto (integers, floating point, bytea, the rest text). */
enum crm_type { CRM_NULL, CRM_INTEGER, CRM_REAL, CRM_TEXT, CRM_BLOB };

/* Open flags. */
#define CRM_STORE_READONLY	0x1	/* no writes; the schema must be current
					 * (SQLite opens the file read-only) */
#define CRM_STORE_CREATE	0x2	/* create an SQLite file that is not there */
#define CRM_STORE_NOMIGRATE	0x4	/* leave the schema as it is */
#define CRM_STORE_PLAIN		0x8	/* cells as they are, sealed or not, with
					 * no key loaded (crm db) */
#define CRM_STORE_OTHER		0x10	/* a database of another schema (the key
					 * store): no migrations, no encryption */
#define CRM_STORE_DURABLE	0x20	/* every commit on disk when it returns
					 * (SQLite: synchronous=FULL) */

/* Prepare flags. */
#define CRM_STMT_STREAM	0x1	/* rows one at a time (PostgreSQL: the
				 * connection runs nothing else until the
				 * last row, so give it one of its own) */
#define CRM_STMT_ATOMIC	0x2	/* when it fails inside a transaction, only
				 * its own changes are taken back and the
				 * transaction goes on, as every SQLite
				 * statement does (PostgreSQL: a savepoint
				 * around it, in the same round trip; a
				 * failed statement would end the
				 * transaction). For writes that may be
				 * refused one at a time: a rejected row. */

struct crm_store;
struct crm_stmt;

/* Is target a PostgreSQL URL? */
int crm_store_is_url(const char *target);

/* The database a tool opens: target if given, else $CRM_DB, else
 * ./crm.db. Returns a borrowed string. */
const char *crm_store_target(const char *target);

/*
 * How long a connection opened from now on waits for another writer's
 * lock (SQLite) before giving up as busy: ms, or -1 (the default, unless
 * $CRM_BUSY_TIMEOUT gives seconds) for as long as it takes.
 */
void crm_store_busy_timeout(long ms);
/* Waits for a lock so far, by every connection of the process. */
unsigned long crm_store_busy_waits(void);

/*
 * Connect to target (see above) and, unless CRM_STORE_NOMIGRATE or
 * CRM_STORE_READONLY, bring its schema to this build's version. *out is
 * the caller's, closed with crm_store_close(). -1 with e filled.
 *
 * This is the store without its encryption: tools open a database with
 * crm_store_open() (crypt.h), which connects and fills the slot below
 * with the database's keys, or refuses a sealed database without them.
 */
int crm_store_connect(struct crm_store **out, const char *target, int flags, struct crm_err *e);
void crm_store_close(struct crm_store *s);

/* The slot field encryption fills at open: the connection's keys, and
 * what lets them go at crm_store_close(). */
struct crm_crypt;
void crm_store_set_crypt(struct crm_store *s, struct crm_crypt *c,
			 void (*release)(struct crm_crypt *));

/* The target, with a password in a URL replaced by "***": for messages. */
const char *crm_store_name(const struct crm_store *s);

/* The columns of table, in order, as a NULL-terminated list
 * (crm_store_free_list); an empty list when there is no such table. */
int crm_store_columns(struct crm_store *s, const char *table, char ***out, struct crm_err *e);

/* Field encryption on this connection (crypt.h), or NULL when it is off. */
struct crm_crypt *crm_store_crypt(struct crm_store *s);
/*
 * Does the database hold sealed cells this connection cannot open (it
 * was opened with CRM_STORE_PLAIN and no key)? A tool that reads or
 * writes personal fields then refuses, rather than show "enc:..." cells
 * or write plain ones beside them; without CRM_STORE_PLAIN such a
 * database is refused when it is opened (crypt.h).
 */
int crm_store_sealed(struct crm_store *s);
/* The connection a statement was prepared on. */
struct crm_store *crm_stmt_store(struct crm_stmt *st);

/* Opened with CRM_STORE_READONLY? */
int crm_store_readonly(const struct crm_store *s);

/* The first column of the first row of sql, run with text parameter p
 * (NULL: none), into out[n] ("" for NULL): 1 a row, 0 none, -1 with e. */
int crm_store_text1(struct crm_store *s, const char *sql, const char *p, char *out, size_t n,
		    struct crm_err *e);

/* Run sql with text parameters p[0..n) (NULL binds NULL): the rows it
 * changed, or -1 with e. */
long long crm_store_run(struct crm_store *s, const char *sql, const char *const *p, int n,
			struct crm_err *e);

/* meta key = value, inserted or replaced. */
int crm_store_set_meta(struct crm_store *s, const char *key, const char *value,
		       struct crm_err *e);

/* SQL without parameters or results; several statements allowed. */
int crm_store_exec(struct crm_store *s, const char *sql, struct crm_err *e);

/* A write transaction (SQLite: BEGIN IMMEDIATE, waiting for the lock as
 * crm_store_busy_timeout allows), its commit and its rollback. */
int crm_store_begin(struct crm_store *s, struct crm_err *e);
/* crm_store_begin if no other writer holds the lock now: 0 begun, 1 busy
 * (nothing begun; do something else and come back), -1 with e. */
int crm_store_try_begin(struct crm_store *s, struct crm_err *e);
/*
 * How long a connection to a server that went away is tried again
 * before a statement fails (ms): by default the busy timeout
 * (--busy-timeout, CRM_BUSY_TIMEOUT) when one is set, else a minute. A
 * server answering requests sets less, and answers 503 meanwhile.
 */
void crm_store_set_patience(struct crm_store *s, long ms);
long crm_store_patience(const struct crm_store *s);
/* Connections this store has made again since it was opened. */
long crm_store_resets(const struct crm_store *s);

/* A read transaction: one snapshot for every statement until its commit
 * (SQLite: BEGIN; PostgreSQL: REPEATABLE READ). Temporary tables may be
 * made and written in it. */
int crm_store_begin_read(struct crm_store *s, struct crm_err *e);
int crm_store_commit(struct crm_store *s, struct crm_err *e);
void crm_store_rollback(struct crm_store *s);
/* Is a transaction open on s? (A function that must write atomically
 * opens its own only when its caller has none.) */
int crm_store_in_transaction(struct crm_store *s);
/*
 * After rows were deleted for good (an erasure, a purge), outside any
 * transaction: rewrite what still holds their bytes. SQLite writes its
 * log back into the file (whose freed pages secure_delete zeroed) and
 * empties it; PostgreSQL vacuums tables (a NULL-terminated list), so
 * their pages no longer hold the dead rows (its WAL, archives and base
 * backups still do until they are recycled). 1 done, 0 not.
 */
int crm_store_scrub(struct crm_store *s, const char *const *tables);
/* The same, and on PostgreSQL the tables written anew (VACUUM FULL): not
 * even a dead row's bytes stay in their pages. */
int crm_store_scrub_full(struct crm_store *s, const char *const *tables);

/*
 * What the two dialects write differently, by name, for SQL built above
 * the store (SQLite's / PostgreSQL's):
 */
enum crm_sql {
	CRM_SQL_JSON_EACH,	/* a JSON object's keys and values as rows:
				 * json_each / jsonb_each */
	CRM_SQL_JSON_OBJECT,	/* a JSON object of name, value, ...:
				 * json_object / json_build_object */
	CRM_SQL_SCHEMA,		/* the tables' schema: main / public */
	CRM_SQL_TEMP_SCHEMA,	/* temporary tables' schema: temp / pg_temp */
	CRM_SQL_AS_TEXT,	/* after a JSON column, its text: "" / "::text" */
	CRM_SQL_AS_JSON,	/* after text, it as JSON: "" / "::json" */
	CRM_SQL_VERSION,	/* the engine's version, an expression:
				 * sqlite_version() / the server's */
	CRM_SQL_ILIKE,		/* a LIKE that ignores case: LIKE / ILIKE */
	CRM_SQL_GREATEST,	/* the larger of values: max / greatest */
	CRM_SQL_JSON_TEXT,	/* after a JSON column holding a string, that
				 * string as text: ->> '$' / #>> '{}' */
	/* Of a row j of CRM_SQL_JSON_EACH (aliased j), whether its value is */
	CRM_SQL_EACH_NUMBER,	/* a number */
	CRM_SQL_EACH_TEXT_OR_NUMBER,	/* a string or a number */
	CRM_SQL_EACH_SCALAR,	/* a string, a number or a boolean */
	CRM_SQL_KEYS_HIGH,	/* the highest id the key store ever gave, an
				 * expression (NULL when none): sqlite_sequence's
				 * / the keys_high sequence's */
	CRM_SQL_KEYS_SCHEMA,	/* the key store's tables, made if missing */
	CRM_SQL_KEYS_NOTE,	/* a statement that notes ?1 as given, so the
				 * key store never gives it again */
};
const char *crm_store_sql(const struct crm_store *s, enum crm_sql what);

/*
 * Append to sql the value of a custom field of JSON column col, named by
 * parameter ?k: as text, or with num as a number where it is one (on
 * PostgreSQL any other value is then NULL; SQLite's json_extract gives
 * the value as stored). The parameter's text is crm_store_attr_key's.
 */
int crm_store_attr(const struct crm_store *s, struct crm_buf *sql, const char *col, int k, int num);
/* The text of the parameter that names custom field key to crm_store_attr:
 * a JSON path on SQLite ($."key", dots and spaces literal), the key on
 * PostgreSQL. */
void crm_store_attr_key(const struct crm_store *s, const char *key, char *out, size_t n);

/*
 * Check the database's pages and indexes as far as the backend can from
 * a connection: 0 sound, 1 damaged (out says the first fault), 2 nothing
 * to check here (PostgreSQL checks its pages itself), -1 with e.
 */
int crm_store_integrity(struct crm_store *s, char *out, size_t n, struct crm_err *e);

/* This connection does bulk work: on SQLite a page cache of mib MiB
 * (fixed, however big the input) and, with checkpoints set, fewer and
 * larger WAL checkpoints; nothing on PostgreSQL, whose server owns its
 * cache. Best effort: nothing is said if it cannot. */
void crm_store_bulk(struct crm_store *s, int mib, int checkpoints);

/* The column that orders a table's rows oldest first: "rowid" on SQLite,
 * "id" on PostgreSQL (ids sort by the time they were made); of table,
 * where PostgreSQL's has no id (transcripts: their interaction's). */
const char *crm_store_rowid(const struct crm_store *s);
const char *crm_store_rowid_of(const struct crm_store *s, const char *table);

/*
 * Append to sql an expression: JSON column col with the key that SQL
 * expression key names set to the text of expression val; col without
 * that key; the time of expression t (any form crm reads) less days,
 * as crm writes times (2024-05-01T12:00:00.000Z).
 */
int crm_store_json_with(const struct crm_store *s, struct crm_buf *sql, const char *col,
			const char *key, const char *val);
int crm_store_json_without(const struct crm_store *s, struct crm_buf *sql, const char *col,
			   const char *key);
int crm_store_time_minus(const struct crm_store *s, struct crm_buf *sql, const char *t, int days);
/* Append to sql a query of what (columns) of the first row of table
 * whose col is ?1, the oldest first after order (NULL, or terms each
 * followed by ", "): planned to find the key's rows before it sorts. */
int crm_store_first_where(const struct crm_store *s, struct crm_buf *sql, const char *what,
			  const char *table, const char *col, const char *order);

/* Append to sql, after a FROM clause's first table, a join to the rows
 * of from (tables, joined) that where picks for each of its rows,
 * looked up by index for each (PostgreSQL plans a temporary table it has
 * no statistics for as if it were large): nothing but GROUP BY, ORDER BY
 * or LIMIT may follow. Of from, only alias's columns are seen. */
int crm_store_join_each(const struct crm_store *s, struct crm_buf *sql, const char *alias,
			const char *from, const char *where);

/*
 * Run sql, an INSERT ... SELECT from the table new_rows, over n rows of
 * ncols text values each (v: row after row; NULL is NULL). new_rows has
 * the columns c1 ... cN and o, the row's place from 1. PostgreSQL takes
 * them in one statement, SQLite one at a time: outside a transaction all
 * or none; inside one, a failure leaves the rows before it for the
 * caller's rollback. 0, or -1 with e.
 */
int crm_store_insert_rows(struct crm_store *s, const char *sql, size_t ncols,
			  const char *const *v, size_t n, struct crm_err *e);

/* A number that moves when another connection commits a write (on some
 * backends one's own commits move it too: read it again after them). */
int crm_store_data_version(struct crm_store *s, long long *v, struct crm_err *e);

/* Does JSON text read from this backend come spaced (PostgreSQL's jsonb
 * writes ", " and ": "), to be compacted before it is embedded? */
int crm_store_json_spaced(const struct crm_store *s);

/* The schema version of the database (0: empty), and this build's. */
int crm_store_version(struct crm_store *s, int *v, struct crm_err *e);
int crm_store_schema_version(void);
/* Apply the migrations above the database's version, each in its own
 * transaction; *from and *to (may be NULL) get the versions. */
int crm_store_migrate(struct crm_store *s, int *from, int *to, struct crm_err *e);

/*
 * The tables that hold data, in an order rows can be loaded in (a table
 * after those it refers to), as a NULL-terminated array the caller frees
 * with crm_store_free_list(). The schema's own bookkeeping is not listed.
 */
int crm_store_tables(struct crm_store *s, char ***out, struct crm_err *e);
void crm_store_free_list(char **list);

/*
 * Rows that follow, until crm_store_load_end(), are copies of history
 * (crm db copy): no trigger appends events or stage history for them,
 * references are checked at the end, and identity counters are moved
 * past the largest id loaded. Inside a transaction the caller holds.
 */
int crm_store_load_begin(struct crm_store *s, struct crm_err *e);
int crm_store_load_end(struct crm_store *s, struct crm_err *e);

/*
 * The counters that number new rows (events.seq, audit_log.seq, ...): the
 * last value each table's gave, which is not always its largest row (the
 * rows after it may be gone, and a number is never given twice). As
 * crm_dbcopy carries them over: the table's names and values into
 * out[0..*n) (room for max); and setting one, never below a row loaded.
 */
struct crm_counter {
	char table[64];
	long long last;
};
int crm_store_counters(struct crm_store *s, struct crm_counter *out, size_t max, size_t *n,
		       struct crm_err *e);
int crm_store_set_counter(struct crm_store *s, const char *table, long long last,
			  struct crm_err *e);

/*
 * The change log's wake-up. crm_store_listen() starts hearing of new
 * events (PostgreSQL: LISTEN crm_events, which every commit that logged
 * an event notifies); crm_store_wait() then waits until one may have
 * come, or ms pass: 1 woken, 0 timed out, -1 with e. SQLite has no such
 * signal: its wait is the whole ms, and the caller looks again.
 */
int crm_store_listen(struct crm_store *s, struct crm_err *e);
int crm_store_wait(struct crm_store *s, int ms, struct crm_err *e);
/*
 * The change log after event since, oldest first, at most limit events,
 * of entity and of op when they are not NULL: rows (seq, at, entity,
 * entity_id, op, payload). A statement the connection keeps: give it back
 * with crm_store_stmt_done(). NULL with e.
 */
struct crm_stmt *crm_store_events(struct crm_store *s, long long since, const char *entity,
				  const char *op, int limit, struct crm_err *e);
/* The number of the change log's last event (0 when it is empty) into
 * *seq: 0, or -1 with e. */
int crm_store_last_event(struct crm_store *s, long long *seq, struct crm_err *e);

/*
 * Rows in bulk into table (crm_dbcopy): the columns are named by the
 * statement from, and each crm_bulk_row() takes the values of its current
 * row. PostgreSQL streams them with COPY; SQLite inserts them with one
 * prepared statement. A row that does not fit is reported by
 * crm_bulk_row() or, streamed, by crm_bulk_end() (with the table and
 * row named); crm_bulk_end() always frees b.
 */
struct crm_bulk;
int crm_store_bulk_begin(struct crm_store *s, const char *table, struct crm_stmt *from,
			 struct crm_bulk **out, struct crm_err *e);
int crm_bulk_row(struct crm_bulk *b, struct crm_stmt *from, struct crm_err *e);
int crm_bulk_end(struct crm_bulk *b, struct crm_err *e);
/*
 * Every row from gives (a statement, usually of another store, run here)
 * into table of s, by crm_store_bulk_begin and crm_bulk_row; *rows
 * counts them, and progress (when not NULL) hears of every 10,000th.
 * Nothing is begun for no rows. Inside a transaction the caller holds.
 */
int crm_store_copy_rows(struct crm_store *s, const char *table, struct crm_stmt *from,
			void (*progress)(const char *table, long long rows, int done, void *arg),
			void *arg, long long *rows, struct crm_err *e);

/*
 * A prepared statement kept by the connection for the next caller of the
 * same sql, which must be a string constant (it is matched by address):
 * for a statement run once a record, where preparing it each time would
 * cost more than running it. Give it back with crm_store_stmt_done()
 * (which resets it), never crm_stmt_free(). NULL with e on an error.
 */
struct crm_stmt *crm_store_stmt(struct crm_store *s, const char *sql, struct crm_err *e);
void crm_store_stmt_done(struct crm_stmt *st);
/* The same for SQL built at run time, matched by its text (the least
 * recently used given up first); given back with crm_store_stmt_done(). */
struct crm_stmt *crm_store_stmt_text(struct crm_store *s, const char *sql, struct crm_err *e);

/* Statements. Parameters are numbered from 1, columns from 0: "?" takes
 * the next number, "?N" number N (which may come more than once). */
int crm_store_prepare(struct crm_store *s, const char *sql, int flags,
		      struct crm_stmt **out, struct crm_err *e);
int crm_stmt_bind_null(struct crm_stmt *st, int i);
int crm_stmt_bind_int64(struct crm_stmt *st, int i, long long v);
int crm_stmt_bind_double(struct crm_stmt *st, int i, double v);
/* n (size_t)-1: up to the NUL; NULL binds NULL. */
int crm_stmt_bind_text(struct crm_stmt *st, int i, const char *v, size_t n);
int crm_stmt_bind_blob(struct crm_stmt *st, int i, const void *v, size_t n);
/* Text the caller keeps valid and unchanged for as long as it is bound
 * (until rebound, or the statement is freed): SQLite does not copy it.
 * n (size_t)-1: up to its NUL. */
int crm_stmt_bind_text_ref(struct crm_stmt *st, int i, const char *v, size_t n);
/* Run, or go to the next row: 1 a row, 0 done, -1 with e. */
int crm_stmt_step(struct crm_stmt *st, struct crm_err *e);
/* Rows the last run changed. */
long long crm_stmt_changes(struct crm_stmt *st);
int crm_stmt_columns(struct crm_stmt *st);
const char *crm_stmt_column_name(struct crm_stmt *st, int i);
enum crm_type crm_stmt_type(struct crm_stmt *st, int i);
long long crm_stmt_int64(struct crm_stmt *st, int i);
double crm_stmt_double(struct crm_stmt *st, int i);
/* Text or bytes of a value, valid until the next step; NULL for NULL. */
const char *crm_stmt_text(struct crm_stmt *st, int i);
const void *crm_stmt_blob(struct crm_stmt *st, int i);
size_t crm_stmt_bytes(struct crm_stmt *st, int i);
/* Ready to bind and run again; bindings are kept until rebound. */
void crm_stmt_reset(struct crm_stmt *st);
void crm_stmt_free(struct crm_stmt *st);

#endif
