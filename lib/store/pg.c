/*
 * pg.c - the PostgreSQL backend, through libpq.
 *
 * Statements are prepared on the server once ("?" numbered to $1...) and
 * described, so each parameter is sent the way its column takes it: bytea
 * in binary, everything else as text (integers in decimal, doubles with
 * 17 digits, which PostgreSQL reads back to the same bits). Results come
 * as text; bytea is unescaped when asked for. The schema's version is the
 * one row of crm_schema.
 *
 * Connections heal. A server restarted, a backend terminated, a balancer
 * that cut an idle connection: the next transaction, or statement outside
 * one, finds the connection dead (PQstatus), resets it with backoff for
 * as long as crm_store_patience allows, prepares again what it had
 * prepared (lazily, by a generation count) and listens again. A
 * statement that fails because the connection died is run again only
 * when that is safe: outside a transaction and only reading. A write
 * whose connection died is an error that says so, and a COMMIT whose
 * answer never came says its outcome is unknown (CRM_EUNAVAILABLE, with
 * e->unknown set): the caller checks by key before it reports rows lost.
 */
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "backend.h"

#define BYTEAOID 17
#define BOOLOID 16
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define FLOAT4OID 700
#define FLOAT8OID 701
#define NUMERICOID 1700
#define TEXTOID 25

#define PQ_CACHE 32

struct pq {
	PGconn *conn;
	unsigned next;		/* for statement names */
	unsigned gen;		/* connections made: statements prepared on an
				 * older one are prepared again */
	int listening;		/* LISTEN again after a reset */
	char xid[24];		/* the write transaction's id, to ask its fate */
	int tx;			/* a transaction is open, as the caller sees it:
				 * one that died with its connection fails every
				 * statement until the caller ends it */
	struct {		/* crm_store_stmt's, by the address of their SQL */
		const char *sql;
		struct crm_stmt *st;
		int busy;
	} cache[PQ_CACHE];
	struct {		/* crm_store_stmt_text's, by their text */
		char *sql;
		struct crm_stmt *st;
		int busy;
		unsigned long used;
	} tcache[PQ_CACHE];
	unsigned long clock;
};

struct param {
	char *v;		/* NULL: SQL NULL; else num or buf */
	int len, binary;
	char num[32];
	char *buf;		/* text and bytes */
	size_t cap;
};

struct pq_stmt {
	struct crm_stmt head;
	char name[24];
	char *text;		/* as sent to the server, to prepare it again */
	Oid *types;
	int ntypes;
	unsigned gen;		/* the connection it was prepared on */
	int reads;		/* only reads: safe to run again */
	int nparams, stream, atomic, executed, done, row, nrows;
	const char **values;	/* what run() sends */
	int *lens, *formats;
	Oid *ptypes;
	struct param *p;
	PGresult *res;
	PGresult *desc;		/* the statement's description: its columns */
	long long changes;
	unsigned char **unesc;	/* per column, the bytea of the row */
	size_t *unesc_n;
};

#define CONN(s) (((struct pq *)(s)->h)->conn)

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* An exit code for a server's error, by its SQLSTATE class. */
static int code_of(const char *state)
{
	if (!state)
		return CRM_EUNAVAILABLE;	/* no answer: the connection */
	if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2))
		return CRM_EDATA;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
	    !strncmp(state, "08", 2) || !strncmp(state, "57", 2))
		return CRM_EUNAVAILABLE;
	if (!strncmp(state, "53", 2) || !strncmp(state, "58", 2))
		return CRM_EIO;
	if (!strncmp(state, "28", 2) || !strcmp(state, "3D000"))
		return CRM_ENOINPUT;
	return CRM_ESOFTWARE;
}

static int fail(struct crm_store *s, PGresult *r, struct crm_err *e, const char *what)
{
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char m[CRM_ERR_MAX];

	snprintf(m, sizeof(m), "%s", msg ? msg : PQerrorMessage(CONN(s)));
	m[strcspn(m, "\n")] = '\0';
	return crm_err_set(e, code_of(r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL),
			   "%s: %s: %s", s->name, what, m);
}

/* Did the connection die (server gone, backend terminated)? */
static int lost(struct crm_store *s)
{
	return PQstatus(CONN(s)) == CONNECTION_BAD;
}

/*
 * A dead connection made again: reset with backoff (10 ms doubling to a
 * second) for as long as the store's patience allows. 0, or -1 with e
 * (CRM_EUNAVAILABLE) when the server stayed away.
 */
static int heal(struct crm_store *s, struct crm_err *e)
{
	struct pq *q = s->h;
	long limit = crm_store_patience(s), waited = 0, ms = 10;
	char m[CRM_ERR_MAX];

	if (!lost(s))
		return 0;
	for (;;) {
		PQreset(q->conn);
		if (PQstatus(q->conn) == CONNECTION_OK)
			break;
		if (waited >= limit) {
			snprintf(m, sizeof(m), "%s", PQerrorMessage(q->conn));
			m[strcspn(m, "\n")] = '\0';
			return crm_err_set(e, CRM_EUNAVAILABLE, "%s: the database is away (%s); tried for %.1f s",
					   s->name, m, (double)waited / 1000);
		}
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		waited += ms;
		ms = ms * 2 > 1000 ? 1000 : ms * 2;
	}
	q->gen++;
	s->resets++;
	PQsetNoticeProcessor(q->conn, quiet, NULL);
	if (q->listening) {
		PGresult *r = PQexec(q->conn, "LISTEN crm_events");
		PQclear(r);
	}
	return 0;
}

/* The caller's transaction died with its connection: say so, never run
 * its statements in a new one's autocommit. */
static int died(struct crm_store *s, struct crm_err *e)
{
	struct pq *q = s->h;

	if (!q->tx || (!lost(s) && PQtransactionStatus(q->conn) != PQTRANS_IDLE))
		return 0;
	crm_err_set(e, CRM_EUNAVAILABLE, "%s: the connection was lost; the transaction was rolled back",
		    s->name);
	if (e)
		e->retry = 1;
	return 1;
}

/* Does sql only read? (SELECT or WITH ... SELECT, no data-changing verb) */
static int only_reads(const char *sql)
{
	static const char *const verbs[] = { "insert", "update", "delete", "create", "drop", "alter",
					     "nextval", "setval", "truncate", "copy", "lock", "notify", NULL };

	while (isspace((unsigned char)*sql))
		sql++;
	if (strncasecmp(sql, "select", 6) && strncasecmp(sql, "with", 4))
		return 0;
	/* as words: "updated_at" is a column, not an UPDATE */
	for (const char *const *v = verbs; *v; v++)
		for (const char *p = sql; (p = strcasestr(p, *v)); p++) {
			size_t n = strlen(*v);

			if ((p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
			    !(isalnum((unsigned char)p[n]) || p[n] == '_'))
				return 0;
		}
	return 1;
}

static void pq_close(struct crm_store *s);

static int pq_open(struct crm_store *s, const char *target, int flags, struct crm_err *e)
{
	struct pq *q = calloc(1, sizeof(*q));
	char m[CRM_ERR_MAX];

	if (!q)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	q->conn = PQconnectdb(target);
	if (!q->conn || PQstatus(q->conn) != CONNECTION_OK) {
		snprintf(m, sizeof(m), "%s", q->conn ? PQerrorMessage(q->conn) : "out of memory");
		m[strcspn(m, "\n")] = '\0';
		crm_err_set(e, strstr(m, "does not exist") || strstr(m, "authentication") ||
			       strstr(m, "permission denied") ?
			       CRM_ENOINPUT : CRM_EUNAVAILABLE, "%s: %s", s->name, m);
		PQfinish(q->conn);
		free(q);
		return -1;
	}
	PQsetNoticeProcessor(q->conn, quiet, NULL);
	s->h = q;
	/* CRM_STORE_READONLY is the caller's word here: a read-only session
	 * would refuse the temporary tables readers make. */
	(void)flags;
	return 0;
}

static void pq_close(struct crm_store *s)
{
	struct pq *q = s->h;

	for (int i = 0; i < PQ_CACHE; i++) {
		if (q->cache[i].st)
			crm_stmt_free(q->cache[i].st);
		if (q->tcache[i].st)
			crm_stmt_free(q->tcache[i].st);
		free(q->tcache[i].sql);
	}
	PQfinish(q->conn);
	free(q);
}

static int pq_exec(struct crm_store *s, const char *sql, struct crm_err *e)
{
	struct pq *q = s->h;
	int idle = PQtransactionStatus(CONN(s)) == PQTRANS_IDLE || lost(s);
	int begins = !strncasecmp(sql, "BEGIN", 5);
	PGresult *r;
	ExecStatusType t;

	if (!begins && died(s, e))
		return -1;
	if (begins)
		q->tx = 0;
	if (idle && heal(s, e) < 0)
		return -1;
	r = PQexec(CONN(s), sql);
	t = PQresultStatus(r);
	/* A read, or a transaction begun, on a connection found dead: once
	 * more on a new one. */
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && idle && lost(s) &&
	    (only_reads(sql) || !strncasecmp(sql, "BEGIN", 5) || !strncasecmp(sql, "LISTEN", 6))) {
		PQclear(r);
		if (heal(s, e) < 0)
			return -1;
		r = PQexec(CONN(s), sql);
		t = PQresultStatus(r);
	}
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		fail(s, r, e, "exec");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (begins)
		q->tx = 1;
	return 0;
}

/*
 * Writers take turns, as on SQLite (BEGIN IMMEDIATE): a write
 * transaction holds the lock the change log's numbering takes
 * (crm_event, lib/sql/pg/0001) from its start, not from its first
 * event. Two writers then never wait on each other's rows while one
 * holds that lock (a deadlock, and a batch lost), and a wait longer than
 * the busy timeout (--busy-timeout, CRM_BUSY_TIMEOUT) fails as SQLite's
 * does: CRM_EUNAVAILABLE. Readers do not take it.
 *
 * begin_with: BEGIN, that wait bound, and lock, the advisory lock
 * function to take it with; the lock's result, or NULL with e and
 * nothing begun.
 */
static PGresult *begin_with(struct crm_store *s, const char *lock, struct crm_err *e)
{
	long ms = crm_db_busy_limit();
	char sql[200];
	PGresult *r;

	/* The transaction's id comes with the lock: if the answer to its
	 * COMMIT is lost, the server can say what became of it. */
	snprintf(sql, sizeof(sql), "BEGIN; SET LOCAL lock_timeout = %ld; "
		 "SELECT %s(hashtext('crm.events')), txid_current()", ms < 0 ? 0 : ms > 0 ? ms : 1, lock);
	((struct pq *)s->h)->tx = 0;
	if (heal(s, e) < 0)
		return NULL;
	r = PQexec(CONN(s), sql);	/* the last statement's result */
	if (PQresultStatus(r) != PGRES_TUPLES_OK && lost(s)) {
		/* nothing was begun: on a new connection, once more */
		PQclear(r);
		if (heal(s, e) < 0)
			return NULL;
		r = PQexec(CONN(s), sql);
	}
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		snprintf(((struct pq *)s->h)->xid, sizeof(((struct pq *)s->h)->xid), "%s", PQgetvalue(r, 0, 1));
		((struct pq *)s->h)->tx = 1;
		return r;
	}
	fail(s, r, e, "begin");
	PQclear(r);
	PQclear(PQexec(CONN(s), "ROLLBACK"));
	return NULL;
}

static int pq_begin(struct crm_store *s, struct crm_err *e)
{
	PGresult *r = begin_with(s, "pg_advisory_xact_lock", e);

	PQclear(r);
	return r ? 0 : -1;
}

static int pq_try_begin(struct crm_store *s, struct crm_err *e)
{
	PGresult *r = begin_with(s, "pg_try_advisory_xact_lock", e);
	int got;

	if (!r)
		return -1;
	got = *PQgetvalue(r, 0, 0) == 't';
	PQclear(r);
	if (got)
		return 0;
	PQclear(PQexec(CONN(s), "ROLLBACK"));
	((struct pq *)s->h)->tx = 0;
	return 1;
}

/*
 * The fate of the write transaction whose COMMIT went unanswered, asked
 * on a new connection: 1 committed, 0 rolled back, -1 not known (the
 * server is still away, or a begin without a transaction id).
 */
static int fate(struct crm_store *s)
{
	struct pq *q = s->h;
	const char *v[1] = { q->xid };
	PGresult *r;
	int rc = -1;

	if (!q->xid[0] || heal(s, NULL) < 0)
		return -1;
	r = PQexecParams(q->conn, "SELECT txid_status($1::bigint)", 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0))
		rc = !strcmp(PQgetvalue(r, 0, 0), "committed") ? 1 :
		     !strcmp(PQgetvalue(r, 0, 0), "aborted") ? 0 : -1;
	PQclear(r);
	return rc;
}

/*
 * Is connection c's backend waiting for a synchronous standby (its write
 * committed on this server)? Asked on a connection of its own, made with
 * c's parameters, since c is busy.
 */
static int standby_wait(PGconn *c)
{
	PQconninfoOption *opts = PQconninfo(c);
	const char *kw[64], *val[64];
	char pid[16];
	const char *pv[1] = { pid };
	int n = 0, yes = 0;
	PGconn *o;

	if (!opts)
		return 0;
	for (PQconninfoOption *x = opts; x->keyword && n < 63; x++)
		if (x->val && *x->val)
			kw[n] = x->keyword, val[n++] = x->val;
	kw[n] = val[n] = NULL;
	o = PQconnectdbParams(kw, val, 0);
	PQconninfoFree(opts);
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(c));
	if (PQstatus(o) == CONNECTION_OK) {
		PGresult *r = PQexecParams(o, "SELECT wait_event = 'SyncRep' FROM pg_stat_activity WHERE pid = $1::int",
					   1, NULL, pv, NULL, NULL, 0);

		yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && *PQgetvalue(r, 0, 0) == 't';
		PQclear(r);
	}
	PQfinish(o);
	return yes;
}

/*
 * The answer to what was just sent. A server told to wait for a
 * synchronous standby that never answers would hold a COMMIT, or a write
 * outside a transaction, for ever: every ms the backend is looked at, and
 * when it waits for the standby that wait is cancelled; the server then
 * answers that the transaction is committed on it (not yet on the
 * standby), which is the answer. A statement that is working is left to
 * work. NULL when no answer came at all.
 */
static PGresult *await(struct crm_store *s, long ms)
{
	PGconn *c = CONN(s);
	PGresult *r, *last = NULL;
	double until = crm_now() + (double)ms / 1000;
	int cancelled = 0;

	for (;;) {
		if (!PQconsumeInput(c))
			return last;	/* the connection: lost() says so */
		while (!PQisBusy(c)) {
			if (!(r = PQgetResult(c)))
				return last;
			PQclear(last);
			last = r;
		}
		struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
		double left = until - crm_now();
		int rc = poll(&p, 1, cancelled ? 10000 : left > 0 ? (int)(left * 1000) + 1 : 0);

		if (rc < 0 && errno != EINTR)
			return last;
		if (rc == 0 && cancelled)
			return last;	/* not even the cancel was answered */
		if (rc == 0 && !standby_wait(c)) {
			until = crm_now() + (double)ms / 1000;	/* working: let it */
			continue;
		}
		if (rc == 0) {
			PGcancel *k = PQgetCancel(c);
			char buf[256];

			if (k) {
				PQcancel(k, buf, sizeof(buf));
				PQfreeCancel(k);
			}
			cancelled = 1;
		}
	}
}

/* How often a write's backend is looked at for a standby wait: the
 * store's patience, a second at least. */
static long commit_wait(struct crm_store *s)
{
	return crm_store_patience(s) > 1000 ? crm_store_patience(s) : 1000;
}

static int pq_commit(struct crm_store *s, struct crm_err *e)
{
	PGresult *r;
	int f;

	if (died(s, e)) {
		((struct pq *)s->h)->tx = 0;
		return -1;
	}
	((struct pq *)s->h)->tx = 0;
	r = PQsendQuery(CONN(s), "COMMIT") ? await(s, commit_wait(s)) : NULL;

	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		((struct pq *)s->h)->xid[0] = '\0';
		return 0;
	}
	if ((!r || lost(s)) && (f = fate(s)) >= 0) {
		/* The answer was lost; the server knows what became of it. */
		PQclear(r);
		((struct pq *)s->h)->xid[0] = '\0';
		if (f == 1)
			return 0;
		crm_err_set(e, CRM_EUNAVAILABLE, "%s: the connection was lost at commit; the transaction "
			    "was rolled back", s->name);
		if (e)
			e->retry = 1;
		return -1;
	}
	if (!r || lost(s)) {
		/* The COMMIT went, or did not; its answer never came. */
		crm_err_set(e, CRM_EUNAVAILABLE, "%s: the connection was lost at commit: whether the "
			    "transaction was written is unknown", s->name);
		if (e)
			e->unknown = 1;
	} else {
		fail(s, r, e, "commit");
	}
	PQclear(r);
	if (!lost(s))
		PQclear(PQexec(CONN(s), "ROLLBACK"));
	return -1;
}

/* Outside a transaction this is a warning, which no one hears. */
static void pq_rollback(struct crm_store *s)
{
	((struct pq *)s->h)->tx = 0;
	if (!lost(s))
		PQclear(PQexec(CONN(s), "ROLLBACK"));
}

static int pq_in_transaction(struct crm_store *s)
{
	return ((struct pq *)s->h)->tx || PQtransactionStatus(CONN(s)) != PQTRANS_IDLE;
}

static int pq_scrub(struct crm_store *s, const char *const *tables, int full)
{
	int ok = 1;

	for (size_t i = 0; tables && tables[i]; i++) {
		char sql[96];
		PGresult *r;

		snprintf(sql, sizeof(sql), "VACUUM %s%s", full ? "FULL " : "", tables[i]);
		r = PQexec(CONN(s), sql);
		ok &= PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	return ok;
}

static int pq_version(struct crm_store *s, int *v, struct crm_err *e)
{
	PGresult *r = PQexec(CONN(s), "SELECT to_regclass('crm_schema') IS NOT NULL");

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(s, r, e, "cannot read the schema version");
		PQclear(r);
		return -1;
	}
	*v = 0;
	if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		PQclear(r);
		r = PQexec(CONN(s), "SELECT coalesce(max(version), 0) FROM crm_schema");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fail(s, r, e, "cannot read the schema version");
			PQclear(r);
			return -1;
		}
		*v = atoi(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return 0;
}

/* One migrator at a time, for the whole of its run (a session lock:
 * the next one reads the version after the last commit). */
static int pq_migrating(struct crm_store *s, int on, struct crm_err *e)
{
	return pq_exec(s, on ? "SELECT pg_advisory_lock(hashtext('crm.migrate'))" :
			       "SELECT pg_advisory_unlock(hashtext('crm.migrate'))", e);
}

static int pq_apply(struct crm_store *s, int n, struct crm_err *e)
{
	char sql[160];

	if ((size_t)n > crm_pg_nmigrations)
		return crm_err_set(e, CRM_ESOFTWARE, "no PostgreSQL migration %d", n);
	if (pq_exec(s, crm_pg_migrations[n - 1], e) < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS crm_schema (version integer NOT NULL);"
		 "DELETE FROM crm_schema; INSERT INTO crm_schema VALUES (%d)", n);
	return pq_exec(s, sql, e);
}

static int pq_tables(struct crm_store *s, char ***out, struct crm_err *e)
{
	PGresult *r = PQexec(CONN(s),
			     "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
			     "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
			     "AND c.relname <> 'crm_schema' ORDER BY c.oid");
	char **list;
	int n;

	*out = NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(s, r, e, "cannot list the schema");
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	list = calloc((size_t)n + 1, sizeof(*list));
	for (int i = 0; list && i < n; i++)
		if (!(list[i] = strdup(PQgetvalue(r, i, 0)))) {
			crm_store_free_list(list);
			list = NULL;
		}
	PQclear(r);
	if (!list)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	*out = list;
	return 0;
}

static int pq_load_begin(struct crm_store *s, struct crm_err *e)
{
	return pq_exec(s, "SET LOCAL crm.copy = 'on'; SET CONSTRAINTS ALL DEFERRED", e);
}

/* Identity columns continue after the largest value loaded. */
static int pq_load_end(struct crm_store *s, struct crm_err *e)
{
	return pq_exec(s,
		"DO $$ DECLARE r record; BEGIN "
		"FOR r IN SELECT table_name, column_name FROM information_schema.columns "
		"WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP "
		"EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), "
		"coalesce((SELECT max(%I) FROM %I), 0) + 1, false)', "
		"r.table_name, r.column_name, r.column_name, r.table_name); "
		"END LOOP; END $$; SET LOCAL crm.copy = 'off'", e);
}

/* An identity column's sequence: the last value it gave (none when it
 * gave none since it was set to start past the rows loaded). */
static int pq_counters(struct crm_store *s, struct crm_counter *out, size_t max, size_t *n,
		       struct crm_err *e)
{
	PGresult *r = PQexec(CONN(s),
			     "SELECT table_name, pg_sequence_last_value(pg_get_serial_sequence("
			     "quote_ident(table_name), column_name)) FROM information_schema.columns "
			     "WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY 1");

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(s, r, e, "cannot read the counters");
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 1))
			continue;
		if (*n == max) {
			PQclear(r);
			return crm_err_set(e, CRM_ESOFTWARE, "more than %zu counters", max);
		}
		snprintf(out[*n].table, sizeof(out[*n].table), "%s", PQgetvalue(r, i, 0));
		out[(*n)++].last = atoll(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return 0;
}

static int pq_set_counter(struct crm_store *s, const char *table, long long last,
			  struct crm_err *e)
{
	const char *sql =
		"SELECT setval(pg_get_serial_sequence(quote_ident(table_name), column_name), $2::bigint, true) "
		"FROM information_schema.columns WHERE table_schema = current_schema() "
		"AND table_name = $1 AND is_identity = 'YES' AND $2::bigint > 0 "
		"AND $2::bigint >= coalesce(pg_sequence_last_value(pg_get_serial_sequence("
		"quote_ident(table_name), column_name)), 0)";
	char num[32];
	const char *v[2] = { table, num };
	PGresult *r;

	snprintf(num, sizeof(num), "%lld", last);
	r = PQexecParams(CONN(s), sql, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(s, r, e, "cannot set a counter");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

static int pq_listen(struct crm_store *s, struct crm_err *e)
{
	((struct pq *)s->h)->listening = 1;
	return pq_exec(s, "LISTEN crm_events", e);
}

/* Notifications read so far: any at all is a wake-up. */
static int heard(struct crm_store *s)
{
	PGnotify *n;
	int any = 0;

	while ((n = PQnotifies(CONN(s)))) {
		any = 1;
		PQfreemem(n);
	}
	return any;
}

static int pq_wait(struct crm_store *s, int ms, struct crm_err *e)
{
	struct pollfd p = { .fd = PQsocket(CONN(s)), .events = POLLIN };
	int rc;

	/* The connection died: a new one listens again, and the caller reads
	 * the change log from its cursor, as on any wake-up. */
	if (lost(s) || !PQconsumeInput(CONN(s))) {
		if (!lost(s))
			return fail(s, NULL, e, "wait");
		if (heal(s, e) < 0)
			return -1;
		return 1;
	}
	if (heard(s))
		return 1;
	rc = poll(&p, 1, ms);
	if (rc < 0 && errno != EINTR)
		return crm_err_set(e, CRM_EIO, "%s: wait: %s", s->name, strerror(errno));
	if (rc <= 0)
		return 0;
	if (!PQconsumeInput(CONN(s)))
		return lost(s) ? (heal(s, e) < 0 ? -1 : 1) : fail(s, NULL, e, "wait");
	return heard(s);
}

/*
 * Bulk loads with COPY ... FROM STDIN, in its text format: a row a line,
 * tab between values, \N for NULL, backslash escapes; bytea as \\x and
 * hex. Sent a megabyte at a time; the server checks every value as an
 * INSERT would, and says which line (row) it refused at the end.
 */
struct pq_bulk {
	struct crm_buf buf;
	int ncols, failed;
	unsigned char *bytea;	/* per column: the target column is bytea */
};

static int pq_bulk_begin(struct crm_bulk *b, struct crm_stmt *from, struct crm_err *e)
{
	struct crm_store *s = b->s;
	struct pq_bulk *q = calloc(1, sizeof(*q));
	const char *v[1] = { b->table };
	struct crm_buf sql;
	PGresult *r;
	int nc = crm_stmt_columns(from), bad = 0;

	if (!q || !(q->bytea = calloc((size_t)nc + 1, 1))) {
		free(q);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	q->ncols = nc;
	b->h = q;
	crm_buf_init(&q->buf, 0);
	r = PQexecParams(CONN(s), "SELECT column_name, data_type FROM information_schema.columns "
			 "WHERE table_schema = current_schema() AND table_name = $1", 1, NULL, v,
			 NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(s, r, e, b->table);
		PQclear(r);
		goto fail;
	}
	crm_buf_init(&sql, 0);
	bad |= crm_buf_addf(&sql, "COPY \"%s\" (", b->table);
	for (int c = 0; c < nc; c++) {
		const char *name = crm_stmt_column_name(from, c);
		int i, n = PQntuples(r);

		for (i = 0; i < n && strcmp(PQgetvalue(r, i, 0), name); i++)
			;
		if (i == n || strchr(name, '"')) {
			crm_err_set(e, CRM_EDATA, "%s: table %s has no column %s", s->name, b->table, name);
			PQclear(r);
			crm_buf_release(&sql);
			goto fail;
		}
		q->bytea[c] = !strcmp(PQgetvalue(r, i, 1), "bytea");
		bad |= crm_buf_addf(&sql, "%s\"%s\"", c ? ", " : "", name);
	}
	PQclear(r);
	bad |= crm_buf_adds(&sql, ") FROM STDIN");
	if (bad) {
		crm_buf_release(&sql);
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto fail;
	}
	r = PQexec(CONN(s), sql.data);
	crm_buf_release(&sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fail(s, r, e, b->table);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	return 0;
fail:
	crm_buf_release(&q->buf);
	free(q->bytea);
	free(q);
	b->h = NULL;
	return -1;
}

/* A value in COPY's text format. */
static int copy_text(struct crm_buf *o, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *esc = p[i] == '\\' ? "\\\\" : p[i] == '\n' ? "\\n" : p[i] == '\r' ? "\\r" :
				  p[i] == '\t' ? "\\t" : NULL;

		if (!p[i])
			return 1;	/* text cannot hold a NUL */
		if (esc ? crm_buf_adds(o, esc) < 0 : crm_buf_addc(o, (char)p[i]) < 0)
			return -1;
	}
	return 0;
}

static int copy_flush(struct crm_bulk *b, struct crm_err *e)
{
	struct pq_bulk *q = b->h;

	if (q->buf.len && PQputCopyData(CONN(b->s), q->buf.data, (int)q->buf.len) != 1)
		return fail(b->s, NULL, e, b->table);
	crm_buf_reset(&q->buf);
	return 0;
}

static int pq_bulk_row(struct crm_bulk *b, struct crm_stmt *from, struct crm_err *e)
{
	static const char hex[] = "0123456789abcdef";
	struct pq_bulk *q = b->h;
	struct crm_buf *o = &q->buf;
	int bad = 0;

	for (int c = 0; c < q->ncols && !bad; c++) {
		enum crm_type t = crm_stmt_type(from, c);

		if (c)
			bad |= crm_buf_addc(o, '\t') < 0;
		if (t == CRM_NULL) {
			bad |= crm_buf_adds(o, "\\N") < 0;
		} else if (q->bytea[c]) {
			const unsigned char *p = crm_stmt_blob(from, c);
			size_t n = crm_stmt_bytes(from, c);

			bad |= crm_buf_adds(o, "\\\\x") < 0 || crm_buf_grow(o, 2 * n) < 0;
			for (size_t i = 0; !bad && i < n; i++) {
				o->data[o->len++] = hex[p[i] >> 4];
				o->data[o->len++] = hex[p[i] & 15];
			}
			if (!bad)
				o->data[o->len] = '\0';
		} else if (t == CRM_INTEGER) {
			bad |= crm_buf_addf(o, "%lld", crm_stmt_int64(from, c)) < 0;
		} else if (t == CRM_REAL) {
			bad |= crm_buf_addf(o, "%.17g", crm_stmt_double(from, c)) < 0;
		} else {
			int rc = copy_text(o, crm_stmt_blob(from, c), crm_stmt_bytes(from, c));

			if (rc > 0) {
				q->failed = 1;
				return crm_err_set(e, CRM_EDATA, "%s, row %lld: column %s: text with a NUL byte",
						   b->table, b->rows, crm_stmt_column_name(from, c));
			}
			bad |= rc < 0;
		}
	}
	if (bad || crm_buf_addc(o, '\n') < 0) {
		q->failed = 1;
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	if (o->len >= 1 << 20 && copy_flush(b, e) < 0) {
		q->failed = 1;
		return -1;
	}
	return 0;
}

static int pq_bulk_end(struct crm_bulk *b, struct crm_err *e)
{
	struct pq_bulk *q = b->h;
	PGresult *r;
	int rc = 0;

	if (!q)
		return 0;
	if (!q->failed && copy_flush(b, e) < 0)
		q->failed = 1;
	if (PQputCopyEnd(CONN(b->s), q->failed ? "the copy stopped" : NULL) != 1 && !q->failed)
		rc = fail(b->s, NULL, e, b->table);
	while ((r = PQgetResult(CONN(b->s)))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !q->failed && rc == 0) {
			/* "COPY accounts, line 40, column employees: ..." */
			const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
			const char *line = ctx ? strstr(ctx, "line ") : NULL;
			const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

			rc = crm_err_set(e, code_of(PQresultErrorField(r, PG_DIAG_SQLSTATE)),
					 "%s, row %lld: %s", b->table, line ? atoll(line + 5) : 0LL,
					 msg ? msg : "refused");
		}
		PQclear(r);
	}
	if (q->failed)
		rc = -1;
	crm_buf_release(&q->buf);
	free(q->bytea);
	free(q);
	b->h = NULL;
	return rc;
}

/* sql with "?" numbered as $1, $2... and "?N" as $N, outside quotes;
 * *n the largest number; used[k - 1] set for each $k the text names
 * (room for as many as the text has characters). */
static char *number_params(const char *sql, int *n, char *used)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 12 + 1), *o = out, quote = 0;

	*n = 0;
	if (!out)
		return NULL;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			int k = *n + 1;	/* SQLite's: past the largest so far */

			if (p[1] >= '0' && p[1] <= '9') {
				char *end;

				k = (int)strtol(p + 1, &end, 10);
				p = end - 1;
			}
			if (k < 1 || (size_t)k > strlen(sql)) {
				free(out);
				return NULL;
			}
			if (k > *n)
				*n = k;
			used[k - 1] = 1;
			o += snprintf(o, 12, "$%d", k);
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static int pq_prepare(struct crm_store *s, const char *sql, int flags,
		      struct crm_stmt **out, struct crm_err *e)
{
	struct pq *q = s->h;
	struct pq_stmt *x = calloc(1, sizeof(*x));
	char *text, *used = calloc(strlen(sql) + 1, 1);
	Oid *types;
	PGresult *r;
	int n;

	*out = NULL;
	if (!x || !used || !(text = number_params(sql, &n, used))) {
		free(x);
		free(used);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory or a bad parameter number");
	}
	/* A number the text skips (SQLite allows it) is text to the server,
	 * which could not tell its type otherwise. */
	if (!(types = calloc((size_t)n + 1, sizeof(*types)))) {
		free(x);
		free(used);
		free(text);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	for (int i = 0; i < n; i++)
		types[i] = used[i] ? 0 : TEXTOID;
	free(used);
	x->head.ops = &crm_store_pg;
	x->head.s = s;
	x->stream = flags & CRM_STMT_STREAM;
	x->atomic = flags & CRM_STMT_ATOMIC;
	snprintf(x->name, sizeof(x->name), "crm_%u", q->next++);
	x->reads = only_reads(sql);
	x->text = text;
	x->types = types;
	x->ntypes = n;
	/* On a connection found dead outside a transaction: once more. */
	int away = 0;

	r = NULL;
	for (int round = 0; round < 2 && !away; round++) {
		PQclear(r);
		r = NULL;
		if (heal(s, e) < 0)
			away = 1;
		else if (PQresultStatus(r = PQprepare(q->conn, x->name, text, n, types)) == PGRES_COMMAND_OK ||
			 !lost(s) || q->tx)
			break;
	}
	x->gen = q->gen;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (!away)
			fail(s, r, e, "prepare");
		PQclear(r);
		free(x->text);
		free(x->types);
		free(x);
		return -1;
	}
	PQclear(r);
	r = PQdescribePrepared(q->conn, x->name);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fail(s, r, e, "describe");
		PQclear(r);
		crm_stmt_free(&x->head);
		return -1;
	}
	x->nparams = PQnparams(r);
	x->ptypes = calloc((size_t)x->nparams + 1, sizeof(*x->ptypes));
	x->p = calloc((size_t)x->nparams + 1, sizeof(*x->p));
	x->values = calloc((size_t)x->nparams + 1, sizeof(*x->values));
	x->lens = calloc((size_t)x->nparams + 1, sizeof(*x->lens));
	x->formats = calloc((size_t)x->nparams + 1, sizeof(*x->formats));
	for (int i = 0; x->ptypes && i < x->nparams; i++)
		x->ptypes[i] = PQparamtype(r, i);
	x->desc = r;
	if (!x->ptypes || !x->p || !x->values || !x->lens || !x->formats) {
		crm_stmt_free(&x->head);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	*out = &x->head;
	return 0;
}

static void clear_row(struct pq_stmt *x)
{
	if (x->unesc && x->res) {
		for (int i = 0; i < PQnfields(x->res); i++) {
			free(x->unesc[i]);
			x->unesc[i] = NULL;
		}
	}
}

static void clear_result(struct pq_stmt *x)
{
	clear_row(x);
	free(x->unesc);
	free(x->unesc_n);
	x->unesc = NULL;
	x->unesc_n = NULL;
	PQclear(x->res);
	x->res = NULL;
}

/* Finish a streamed run: read what is left of it. */
static void drain(struct pq_stmt *x)
{
	PGresult *r;

	if (!x->stream || !x->executed)
		return;
	while ((r = PQgetResult(CONN(x->head.s))))
		PQclear(r);
}

static void pq_reset(struct crm_stmt *st)
{
	struct pq_stmt *x = (struct pq_stmt *)st;

	if (x->stream && x->executed && x->res && PQresultStatus(x->res) == PGRES_SINGLE_TUPLE)
		drain(x);
	clear_result(x);
	x->executed = 0;
	x->done = 0;
	x->row = -1;
}

static int pq_bind(struct crm_stmt *st, int i, enum crm_type t, long long iv, double dv,
		   const void *p, size_t n, int ref)
{
	struct pq_stmt *x = (struct pq_stmt *)st;
	struct param *pm;

	if (i < 1 || i > x->nparams)
		return -1;
	if (x->executed)
		pq_reset(st);
	(void)ref;	/* sent when run: always copied */
	pm = &x->p[i - 1];
	pm->v = NULL;
	pm->binary = 0;
	pm->len = 0;
	switch (t) {
	case CRM_NULL:
		return 0;
	case CRM_INTEGER:
		pm->len = snprintf(pm->num, sizeof(pm->num), "%lld", iv);
		pm->v = pm->num;
		return 0;
	case CRM_REAL:
		pm->len = snprintf(pm->num, sizeof(pm->num), "%.17g", dv);
		pm->v = pm->num;
		return 0;
	case CRM_TEXT:
	case CRM_BLOB:
		if (n > 0x7fffffff)
			return -1;
		if (n + 1 > pm->cap) {	/* the buffer is kept for the next value */
			char *grown = realloc(pm->buf, n + 1 > 64 ? n + 1 : 64);

			if (!grown)
				return -1;
			pm->buf = grown;
			pm->cap = n + 1 > 64 ? n + 1 : 64;
		}
		pm->v = pm->buf;
		memcpy(pm->v, p, n);
		pm->v[n] = '\0';
		pm->len = (int)n;
		/* bytea takes the bytes as they are; a text column takes
		 * text (a NUL in it is refused by the server). */
		pm->binary = x->ptypes[i - 1] == BYTEAOID;
		return 0;
	}
	return -1;
}

/*
 * x run inside a savepoint, in one round trip: SAVEPOINT, the statement
 * and RELEASE sent as a pipeline. When the statement fails, the savepoint
 * is rolled back: the transaction goes on without its changes. Outside a
 * transaction a statement is atomic already. The statement's result, or
 * the first error.
 */
static PGresult *exec_atomic(struct pq_stmt *x)
{
	PGconn *c = CONN(x->head.s);
	PGresult *r, *res = NULL;
	int ok;

	if (PQtransactionStatus(c) != PQTRANS_INTRANS)
		return PQsendQueryPrepared(c, x->name, x->nparams, x->values, x->lens, x->formats, 0)
			       ? await(x->head.s, commit_wait(x->head.s)) : NULL;
	if (!PQenterPipelineMode(c))
		return PQexecPrepared(c, x->name, x->nparams, x->values, x->lens, x->formats, 0);
	ok = PQsendQueryParams(c, "SAVEPOINT crm_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
	     PQsendQueryPrepared(c, x->name, x->nparams, x->values, x->lens, x->formats, 0) &&
	     PQsendQueryParams(c, "RELEASE SAVEPOINT crm_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
	     PQpipelineSync(c);
	/* Each query's results end with a NULL; the sync ends the pipeline.
	 * Kept: the statement's result, or the first failure. */
	for (int q = 0; ok && q < 4; q++) {
		while ((r = PQgetResult(c))) {
			ExecStatusType t = PQresultStatus(r);
			int bad = t == PGRES_FATAL_ERROR || t == PGRES_PIPELINE_ABORTED;

			if (t == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				q = 4;
				break;
			}
			if ((q == 1 || bad) && (!res || (bad && PQresultStatus(res) == PGRES_PIPELINE_ABORTED))) {
				PQclear(res);
				res = r;
			} else {
				PQclear(r);
			}
		}
	}
	PQexitPipelineMode(c);
	if (!ok || !res || PQresultStatus(res) == PGRES_FATAL_ERROR ||
	    PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
		PQclear(PQexec(c, "ROLLBACK TO SAVEPOINT crm_stmt; RELEASE SAVEPOINT crm_stmt"));
	return res;
}

/* Prepared on this connection: after a reset, prepared again. */
static int prepared(struct pq_stmt *x, struct crm_err *e)
{
	struct crm_store *s = x->head.s;
	struct pq *q = s->h;
	PGresult *r;

	if (x->gen == q->gen)
		return 0;
	r = PQprepare(q->conn, x->name, x->text, x->ntypes, x->types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fail(s, r, e, "prepare");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	x->gen = q->gen;
	return 0;
}

static int run(struct pq_stmt *x, struct crm_err *e)
{
	struct crm_store *s = x->head.s;
	const char **values = x->values;
	int *lens = x->lens, *formats = x->formats;
	int idle = PQtransactionStatus(CONN(s)) == PQTRANS_IDLE || lost(s);

	/* Outside a transaction, a dead connection is made again first; in
	 * one, the transaction died with it and the caller must know. */
	if (died(s, e))
		return -1;
	if (idle && heal(s, e) < 0)
		return -1;
	if (prepared(x, e) < 0)
		return -1;

	for (int i = 0; i < x->nparams; i++) {
		values[i] = x->p[i].v;
		lens[i] = x->p[i].len;
		formats[i] = x->p[i].binary;
	}
	x->executed = 1;
	x->row = -1;
	x->changes = 0;
	if (x->stream) {
		if (!PQsendQueryPrepared(CONN(s), x->name, x->nparams, values, lens, formats, 0) ||
		    !PQsetSingleRowMode(CONN(s)))
			return fail(s, NULL, e, "query");
		return 0;
	}
	if (x->atomic)
		x->res = exec_atomic(x);
	else if (idle && !x->reads)	/* a write that commits as it runs */
		x->res = PQsendQueryPrepared(CONN(s), x->name, x->nparams, values, lens, formats, 0)
				 ? await(s, commit_wait(s)) : NULL;
	else
		x->res = PQexecPrepared(CONN(s), x->name, x->nparams, values, lens, formats, 0);
	if (PQresultStatus(x->res) != PGRES_TUPLES_OK && PQresultStatus(x->res) != PGRES_COMMAND_OK &&
	    idle && lost(s) && x->reads) {
		/* a read whose connection died: once more, on a new one */
		clear_result(x);
		if (heal(s, e) < 0 || prepared(x, e) < 0)
			return -1;
		x->res = PQexecPrepared(CONN(s), x->name, x->nparams, values, lens, formats, 0);
	}
	if (PQresultStatus(x->res) != PGRES_TUPLES_OK && PQresultStatus(x->res) != PGRES_COMMAND_OK) {
		if (lost(s) && !x->reads && idle) {
			crm_err_set(e, CRM_EUNAVAILABLE, "%s: the connection was lost while writing: whether "
				    "the change was made is unknown", s->name);
			if (e)
				e->unknown = 1;
		} else if (lost(s)) {
			crm_err_set(e, CRM_EUNAVAILABLE, "%s: the connection was lost%s", s->name,
				    idle ? "" : "; the transaction was rolled back");
			if (e)
				e->retry = 1;
		} else {
			fail(s, x->res, e, "step");
		}
		clear_result(x);
		return -1;
	}
	x->nrows = PQntuples(x->res);
	x->changes = atoll(PQcmdTuples(x->res));
	return 0;
}

static int new_row(struct pq_stmt *x, struct crm_err *e)
{
	int nf = PQnfields(x->res);

	if (!x->unesc) {
		x->unesc = calloc((size_t)nf + 1, sizeof(*x->unesc));
		x->unesc_n = calloc((size_t)nf + 1, sizeof(*x->unesc_n));
		if (!x->unesc || !x->unesc_n)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	return 1;
}

static int step(struct pq_stmt *x, struct crm_err *e);

/* As SQLite's: a step after the last row runs the statement again. */
static int pq_step(struct crm_stmt *st, struct crm_err *e)
{
	struct pq_stmt *x = (struct pq_stmt *)st;
	int rc;

	if (x->done)
		pq_reset(st);
	rc = step(x, e);
	x->done = rc <= 0;
	return rc;
}

static int step(struct pq_stmt *x, struct crm_err *e)
{
	struct crm_stmt *st = &x->head;

	if (!x->executed && run(x, e) < 0)
		return -1;
	if (!x->stream) {
		if (!x->res)
			return 0;
		clear_row(x);
		if (++x->row >= x->nrows)
			return 0;
		return new_row(x, e);
	}
	/* Streamed: one result a row, then the end of the set. */
	if (x->res && PQresultStatus(x->res) != PGRES_SINGLE_TUPLE)
		return 0;
	clear_result(x);
	x->res = PQgetResult(CONN(st->s));
	if (!x->res)
		return 0;
	switch (PQresultStatus(x->res)) {
	case PGRES_SINGLE_TUPLE:
		x->row = 0;
		return new_row(x, e);
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		x->changes = atoll(PQcmdTuples(x->res));
		drain(x);
		return 0;
	default:
		fail(st->s, x->res, e, "step");
		drain(x);
		return -1;
	}
}

static long long pq_changes(struct crm_stmt *st)
{
	return ((struct pq_stmt *)st)->changes;
}

static int pq_columns(struct crm_stmt *st)
{
	struct pq_stmt *x = (struct pq_stmt *)st;

	return x->desc ? PQnfields(x->desc) : 0;
}

static const char *pq_column_name(struct crm_stmt *st, int i)
{
	struct pq_stmt *x = (struct pq_stmt *)st;

	return x->desc && i >= 0 && i < PQnfields(x->desc) ? PQfname(x->desc, i) : NULL;
}

static int has_value(struct pq_stmt *x, int i)
{
	return x->res && x->row >= 0 && x->row < PQntuples(x->res) && i >= 0 &&
	       i < PQnfields(x->res) && !PQgetisnull(x->res, x->row, i);
}

static enum crm_type pq_type(struct crm_stmt *st, int i)
{
	struct pq_stmt *x = (struct pq_stmt *)st;

	if (!has_value(x, i))
		return CRM_NULL;
	switch (PQftype(x->res, i)) {
	case INT8OID:
	case INT4OID:
	case INT2OID:
	case BOOLOID:
		return CRM_INTEGER;
	case FLOAT8OID:
	case FLOAT4OID:
	case NUMERICOID:
		return CRM_REAL;
	case BYTEAOID:
		return CRM_BLOB;
	default:
		return CRM_TEXT;
	}
}

static long long pq_int64(struct crm_stmt *st, int i)
{
	struct pq_stmt *x = (struct pq_stmt *)st;
	const char *v;

	if (!has_value(x, i))
		return 0;
	v = PQgetvalue(x->res, x->row, i);
	if (PQftype(x->res, i) == BOOLOID)
		return *v == 't';
	return strtoll(v, NULL, 10);
}

static double pq_double(struct crm_stmt *st, int i)
{
	struct pq_stmt *x = (struct pq_stmt *)st;

	return has_value(x, i) ? strtod(PQgetvalue(x->res, x->row, i), NULL) : 0;
}

static const void *pq_bytes(struct crm_stmt *st, int i, size_t *n)
{
	struct pq_stmt *x = (struct pq_stmt *)st;
	size_t ignore;

	if (!n)
		n = &ignore;
	*n = 0;
	if (!has_value(x, i))
		return NULL;
	if (PQftype(x->res, i) != BYTEAOID) {
		*n = (size_t)PQgetlength(x->res, x->row, i);
		return PQgetvalue(x->res, x->row, i);
	}
	if (!x->unesc[i]) {
		size_t len = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(x->res, x->row, i), &len);
		unsigned char *z = b ? malloc(len + 1) : NULL;	/* NUL-terminated, as text is */

		if (z)
			memcpy(z, b, len);
		PQfreemem(b);
		if (!z)
			return NULL;
		z[len] = '\0';
		x->unesc[i] = z;
		x->unesc_n[i] = len;
	}
	*n = x->unesc_n[i];
	return x->unesc[i];
}

static void pq_free(struct crm_stmt *st)
{
	struct pq_stmt *x = (struct pq_stmt *)st;
	char sql[48];

	pq_reset(st);
	if (x->gen == ((struct pq *)st->s->h)->gen && !lost(st->s)) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", x->name);
		PQclear(PQexec(CONN(st->s), sql));
	}
	free(x->text);
	free(x->types);
	for (int i = 0; x->p && i < x->nparams; i++)
		free(x->p[i].buf);
	free(x->p);
	free(x->ptypes);
	free(x->values);
	free(x->lens);
	free(x->formats);
	PQclear(x->desc);
	free(x);
}

/* A statement the cache holds is reset when given back; one made because
 * the cache was full, or its entry busy, is freed. */
static struct crm_stmt *pq_cached(struct crm_store *s, const char *sql, struct crm_err *e)
{
	struct pq *q = s->h;
	struct crm_stmt *st;
	int slot = -1;

	for (int i = 0; i < PQ_CACHE; i++) {
		if (q->cache[i].sql == sql && !q->cache[i].busy) {
			q->cache[i].busy = 1;
			return q->cache[i].st;
		}
		if (!q->cache[i].sql && slot < 0)
			slot = i;
	}
	if (crm_store_prepare(s, sql, 0, &st, e) < 0)
		return NULL;
	if (slot >= 0) {
		q->cache[slot].sql = sql;
		q->cache[slot].st = st;
		q->cache[slot].busy = 1;
	}
	return st;
}

static struct crm_stmt *pq_cached_text(struct crm_store *s, const char *sql, struct crm_err *e)
{
	struct pq *q = s->h;
	struct crm_stmt *st;
	char *copy;
	int slot = -1;

	for (int i = 0; i < PQ_CACHE; i++) {
		if (q->tcache[i].sql && !q->tcache[i].busy && !strcmp(q->tcache[i].sql, sql)) {
			q->tcache[i].busy = 1;
			q->tcache[i].used = ++q->clock;
			return q->tcache[i].st;
		}
		/* the slot to fill: a free one, else the least recently used */
		if (!q->tcache[i].busy && (slot < 0 || (q->tcache[slot].sql &&
		    (!q->tcache[i].sql || q->tcache[i].used < q->tcache[slot].used))))
			slot = i;
	}
	if (crm_store_prepare(s, sql, 0, &st, e) < 0)
		return NULL;
	if (slot >= 0 && (copy = strdup(sql))) {
		if (q->tcache[slot].st)
			crm_stmt_free(q->tcache[slot].st);
		free(q->tcache[slot].sql);
		q->tcache[slot].sql = copy;
		q->tcache[slot].st = st;
		q->tcache[slot].busy = 1;
		q->tcache[slot].used = ++q->clock;
	}
	return st;
}

static void pq_cached_done(struct crm_stmt *st)
{
	struct pq *q = st->s->h;

	for (int i = 0; i < PQ_CACHE; i++)
		if (q->cache[i].st == st || q->tcache[i].st == st) {
			pq_reset(st);
			if (q->cache[i].st == st)
				q->cache[i].busy = 0;
			else
				q->tcache[i].busy = 0;
			return;
		}
	crm_stmt_free(st);
}

const struct crm_store_ops crm_store_pg = {
	.kind = CRM_STORE_POSTGRES,
	.open = pq_open,
	.close = pq_close,
	.exec = pq_exec,
	.begin = pq_begin,
	.commit = pq_commit,
	.try_begin = pq_try_begin,
	.rollback = pq_rollback,
	.in_transaction = pq_in_transaction,
	.scrub = pq_scrub,
	.version = pq_version,
	.apply = pq_apply,
	.migrating = pq_migrating,
	.tables = pq_tables,
	.load_begin = pq_load_begin,
	.load_end = pq_load_end,
	.counters = pq_counters,
	.set_counter = pq_set_counter,
	.bulk_begin = pq_bulk_begin,
	.bulk_row = pq_bulk_row,
	.bulk_end = pq_bulk_end,
	.listen = pq_listen,
	.wait = pq_wait,
	.prepare = pq_prepare,
	.bind = pq_bind,
	.step = pq_step,
	.changes = pq_changes,
	.ncolumns = pq_columns,
	.column_name = pq_column_name,
	.type = pq_type,
	.int64 = pq_int64,
	.dbl = pq_double,
	.bytes = pq_bytes,
	.reset = pq_reset,
	.free = pq_free,
	.cached = pq_cached,
	.cached_done = pq_cached_done,
	.cached_text = pq_cached_text,
};
