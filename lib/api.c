/*
 * api.c - the JSON API: records, scores, explanations, next actions.
 *
 * Every handler checks who may see or change the record it touches
 * (crm_auth_owns) and answers 404 for a record the caller may not see,
 * so ids of other people's records are not confirmed. Writes go through
 * the importer, so a record made by the API is normalised, keyed and
 * logged exactly like an imported one, and a body with a field the type
 * does not have is refused instead of being kept in attrs.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <xgboost/c_api.h>

#include "api.h"
#include "calls.h"
#include "merge.h"
#include "crypt.h"
#include "entity.h"
#include "explain.h"
#include "features.h"
#include "import.h"
#include "model.h"
#include "ndjson.h"
#include "row.h"
#include "scoring.h"
#include "store/store.h"

/* ---- scoring models, shared by the threads ----------------------------- */

struct scorer {
	const char *kind;
	pthread_rwlock_t lk;	/* write: (re)loading; read: using */
	pthread_mutex_t xgb;	/* one XGBoost call at a time */
	int state;		/* 0 not loaded, 1 loaded, -1 no active model */
	_Atomic double checked;	/* when the active model id was last read */
	struct crm_model m;
	char *hist;		/* history rates of the last scoring run */
};

/* Explanations by record: dropped when an event touches the record (see
 * crm_api_invalidate), else kept a few minutes, since features counted
 * over time windows drift as the clock moves. */
#define XCACHE 16384
#define XWAYS 4		/* set-associative: ids that hash alike both stay */
#define XCACHE_TTL 300.0

struct xent {
	char id[CRM_ID_MAX];
	double at;
	char *json;
};

/*
 * Whole /v1/leads/top answers. An answer is served as it is for a second
 * (a write shows in the list within that), then while the event log has
 * not moved, up to five seconds (a model changed without an event); one
 * request rebuilds it while the others are served the answer it replaces.
 */
#define TCACHE 64
#define TCACHE_FRESH 1.0
#define TCACHE_TTL 5.0

struct tent {
	char key[400];
	long long seq;
	double at;
	char *json;
	int building;	/* a request is rebuilding it */
};

struct crm_api {
	struct scorer sc[2];	/* contact, deal */
	pthread_mutex_t xmu;
	struct xent *xc;
	struct tent tc[TCACHE];
	_Atomic unsigned long top_builds;	/* /v1/leads/top answers built */
};

unsigned long crm_api_top_builds(struct crm_api *a)
{
	return atomic_load(&a->top_builds);
}

struct crm_api *crm_api_new(void)
{
	struct crm_api *a = calloc(1, sizeof(*a));

	if (!a || !(a->xc = calloc(XCACHE, sizeof(*a->xc)))) {
		free(a);
		return NULL;
	}
	for (int k = 0; k < 2; k++) {
		a->sc[k].kind = k ? "deal" : "contact";
		pthread_rwlock_init(&a->sc[k].lk, NULL);
		pthread_mutex_init(&a->sc[k].xgb, NULL);
		crm_model_init(&a->sc[k].m);
	}
	pthread_mutex_init(&a->xmu, NULL);
	return a;
}

void crm_api_free(struct crm_api *a)
{
	if (!a)
		return;
	for (int k = 0; k < 2; k++) {
		crm_model_release(&a->sc[k].m);
		free(a->sc[k].hist);
		pthread_rwlock_destroy(&a->sc[k].lk);
		pthread_mutex_destroy(&a->sc[k].xgb);
	}
	for (size_t i = 0; i < XCACHE; i++)
		free(a->xc[i].json);
	for (size_t i = 0; i < TCACHE; i++)
		free(a->tc[i].json);
	free(a->xc);
	pthread_mutex_destroy(&a->xmu);
	free(a);
}

/*
 * The scorer of kind with its lock held for reading and the active model
 * loaded; NULL when there is none (lock released) or on an error (e set).
 * The active model is looked up at most once a second, so a model trained
 * by cron is picked up without a restart.
 */
static struct scorer *scorer_get(struct crm_api *a, struct crm_store *db, const char *kind,
				 struct crm_err *e)
{
	struct scorer *s = &a->sc[!strcmp(kind, "deal")];
	char active[CRM_ID_MAX] = "";
	double now = crm_now();
	int stale, asked;

	pthread_rwlock_rdlock(&s->lk);
	/* Asked once a second, whatever the traffic: only a lookup moves
	 * the clock, so a busy server still sees a new model. */
	stale = asked = s->state == 0 || now - atomic_load(&s->checked) > 1.0;
	if (stale) {
		if (crm_store_text1(db, "SELECT id FROM models WHERE entity = ?1 AND active = 1",
				 kind, active, sizeof(active), e) < 0) {
			pthread_rwlock_unlock(&s->lk);
			return NULL;
		}
		stale = s->state == 0 || strcmp(active, s->state == 1 ? s->m.id : "");
	}
	if (stale) {
		pthread_rwlock_unlock(&s->lk);
		pthread_rwlock_wrlock(&s->lk);
		crm_model_release(&s->m);
		crm_model_init(&s->m);
		free(s->hist);
		s->hist = NULL;
		s->state = -1;
		if (*active) {
			const struct crm_entity *t = crm_entity_find(kind);

			if (crm_model_load(db, t, active, &s->m, e) < 0 ||
			    crm_override_load(db, t, &s->m, e) < 0) {
				crm_model_release(&s->m);
				crm_model_init(&s->m);
				s->state = 0;
				pthread_rwlock_unlock(&s->lk);
				return NULL;
			}
			s->hist = crm_explain_history(db, s->m.id);
			/* One record at a time: OpenMP's threads only cost here. */
			XGBoosterSetParam(s->m.booster, "nthread", "1");
			s->state = 1;
		}
		atomic_store(&s->checked, now);
		pthread_rwlock_unlock(&s->lk);
		pthread_rwlock_rdlock(&s->lk);
	} else if (asked) {
		atomic_store(&s->checked, now);
	}
	if (s->state != 1) {
		pthread_rwlock_unlock(&s->lk);
		crm_err_clear(e);
		return NULL;
	}
	return s;
}

static void scorer_put(struct scorer *s)
{
	pthread_rwlock_unlock(&s->lk);
}

/* ---- responses ---------------------------------------------------------- */

int crm_api_error(struct crm_api_res *rs, int status, const char *code,
		  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	crm_buf_reset(&rs->body);
	crm_buf_addf(&rs->body, "{\"error\":\"%s\",\"message\":", code);
	crm_json_str(&rs->body, msg, strlen(msg));
	crm_buf_adds(&rs->body, "}\n");
	rs->status = status;
	return status;
}

/* The answer to a failed database call: 503 when it is busy or down
 * (the client tries again), else 500. */
static int db_error(struct crm_api_res *rs, const struct crm_err *e)
{
	/* The answer to a COMMIT never came: it may or may not be written. */
	if (e->unknown)
		return crm_api_error(rs, 500, "outcome_unknown", "the database did not confirm the write; it "
				     "may have been made: read it back before trying again (%s)", e->msg);
	if (e->code == CRM_EUNAVAILABLE)
		return crm_api_error(rs, 503, e->retry ? "unavailable" : "busy", "the database is %s; nothing "
				     "was written; try again (%s)", e->retry ? "away" : "busy", e->msg);
	return crm_api_error(rs, 500, "internal", "%s", *e->msg ? e->msg : "database error");
}

static const char *arg(const struct crm_api_req *rq, const char *k)
{
	for (size_t i = 0; i < rq->nargs; i++)
		if (!strcmp(rq->args[i].k, k))
			return rq->args[i].v ? rq->args[i].v : "";
	return NULL;
}

/* A count argument within [1, max] (clamped above), or def when absent. */
static long count_arg(const struct crm_api_req *rq, const char *k, long def,
		      long max, struct crm_api_res *rs)
{
	const char *v = arg(rq, k);
	char *end;
	long n;

	if (!v)
		return def;
	n = strtol(v, &end, 10);
	if (end == v || *end || n < 1) {
		crm_api_error(rs, 400, "bad_parameter", "%s: want a positive number, not '%s'", k, v);
		return -1;
	}
	return n > max ? max : n;
}

/* ---- ownership ---------------------------------------------------------- */

static int has_owner(const struct crm_entity *t)
{
	return crm_entity_field(t, "owner") >= 0;
}

/*
 * The SQL condition limiting rows of t (alias al) to what p reaches, and
 * its parameters appended to par; "" for an admin.
 */
static void own_clause(const struct crm_principal *p, const struct crm_entity *t,
		       const char *al, struct crm_buf *sql, const char **par, int *np)
{
	if (p->role == CRM_ROLE_ADMIN)
		return;
	if (!has_owner(t)) {	/* interactions: through their contact */
		crm_buf_addf(sql, " AND %scontact_id IN (SELECT id FROM contacts c2 WHERE ", al);
		al = "c2.";
	} else {
		crm_buf_adds(sql, " AND ");
	}
	if (p->role == CRM_ROLE_MANAGER && *p->team) {
		crm_buf_addf(sql, "(%sowner = ?%d OR %sowner IN (SELECT name FROM users "
			     "WHERE team = ?%d AND merged_into IS NULL))", al, *np + 1, al, *np + 2);
		par[(*np)++] = p->user;
		par[(*np)++] = p->team;
	} else {
		crm_buf_addf(sql, "%sowner = ?%d", al, *np + 1);
		par[(*np)++] = p->user;
	}
	if (!has_owner(t))
		crm_buf_addc(sql, ')');
}

/*
 * Does record id of t exist (1), and may p reach it (*ok)? 0 when there is
 * no such record; -1 on a database error.
 */
static int reach(struct crm_store *db, const struct crm_principal *p,
		 const struct crm_entity *t, const char *id, int *ok, struct crm_err *e)
{
	static const char *const sqls[][2] = {
		{ "contacts", "SELECT owner FROM contacts WHERE id = ?1" },
		{ "accounts", "SELECT owner FROM accounts WHERE id = ?1" },
		{ "deals", "SELECT owner FROM deals WHERE id = ?1" },
		{ "tasks", "SELECT owner FROM tasks WHERE id = ?1" },
		{ "interactions", "SELECT c.owner FROM interactions i "
				  "LEFT JOIN contacts c ON c.id = i.contact_id WHERE i.id = ?1" },
	};
	const char *sql = NULL;
	char owner[256];
	struct crm_stmt *st;
	int rc, null_owner;

	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++)
		if (!strcmp(sqls[i][0], t->table))
			sql = sqls[i][1];
	if (!sql) {
		*ok = p->role == CRM_ROLE_ADMIN;
		return 1;
	}
	if (!(st = crm_store_stmt(db, sql, e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	rc = crm_stmt_step(st, e);
	if (rc != 1) {
		crm_store_stmt_done(st);
		return rc == 0 ? 0 : -1;
	}
	null_owner = crm_stmt_type(st, 0) == CRM_NULL;
	snprintf(owner, sizeof(owner), "%s", null_owner ? "" : crm_stmt_text(st, 0));
	crm_store_stmt_done(st);
	rc = crm_auth_owns(db, p, null_owner ? NULL : owner, e);
	if (rc < 0)
		return -1;
	*ok = rc;
	return 1;
}

int crm_api_visible(struct crm_store *db, const struct crm_principal *p,
		    const char *entity, const char *entity_id)
{
	const struct crm_entity *t;
	struct crm_err e = { 0 };
	int ok = 0, rc;

	if (p->role == CRM_ROLE_ADMIN)
		return 1;
	if (!strcmp(entity, "call"))
		entity = "interaction";
	if (!strcmp(entity, "score") || !strcmp(entity, "merge"))
		t = crm_entity_by_id(entity_id);
	else
		t = crm_entity_find(entity);
	if (!t)
		return 0;
	rc = reach(db, p, t, entity_id, &ok, &e);
	return rc < 0 ? -1 : rc && ok;
}

/* ---- records ------------------------------------------------------------ */

static const char *const api_types[] = {
	"contacts", "accounts", "deals", "interactions", "tasks", NULL
};

static const struct crm_entity *api_type(const char *table)
{
	for (size_t i = 0; api_types[i]; i++)
		if (!strcmp(api_types[i], table))
			return crm_entity_find(table);
	return NULL;
}

/* The statement reading one record of t whole, or NULL for a type the
 * API does not read by id. A constant: the connection keeps it. */
static const char *row_sql(const struct crm_entity *t)
{
	static const char *const sqls[][2] = {
		{ "contacts", "SELECT * FROM contacts WHERE id = ?1" },
		{ "accounts", "SELECT * FROM accounts WHERE id = ?1" },
		{ "deals", "SELECT * FROM deals WHERE id = ?1" },
		{ "tasks", "SELECT * FROM tasks WHERE id = ?1" },
		{ "interactions", "SELECT * FROM interactions WHERE id = ?1" },
	};

	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++)
		if (!strcmp(sqls[i][0], t->table))
			return sqls[i][1];
	return NULL;
}

/* The current row of st as a JSON object on b, without a newline. A row
 * that cannot be written whole (a sealed cell that does not open, the key
 * store gone) is an error, not half a body. */
static int row_body(struct crm_stmt *st, const struct crm_entity *t, struct crm_buf *b,
		    struct crm_err *e)
{
	if (crm_row_json_e(b, st, t->kind, NULL, e) < 0) {
		if (!e->code)
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return -1;
	}
	if (b->len && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	return 0;
}

/* Record id of t as a JSON object on b: 1, 0 when there is none, -1 e. */
static int row_json(struct crm_store *db, const struct crm_entity *t, const char *id,
		    struct crm_buf *b, struct crm_err *e)
{
	const char *sql = row_sql(t);
	struct crm_stmt *st;
	int rc;

	if (!sql || !(st = crm_store_stmt(db, sql, e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	if ((rc = crm_stmt_step(st, e)) == 1 && row_body(st, t, b, e) < 0)
		rc = -1;
	crm_store_stmt_done(st);
	return rc;
}

/*
 * GET of a record in one statement: the row carries its owner and
 * merged_into, so the owner check and the merge check need no statement
 * of their own, nor a transaction around them. 1 answered (200, or 404
 * when missing or not the caller's), 0 when the long way must answer (a
 * merged record, a type whose owner lives elsewhere), -1 with e.
 */
static int record_get_one(struct crm_store *db, const struct crm_principal *who,
			  const struct crm_entity *t, const char *id, struct crm_api_res *rs,
			  struct crm_err *e)
{
	const char *sql = row_sql(t);
	struct crm_stmt *st;
	int rc, owner = -1, merged = -1, ok;

	/* An interaction's owner is its contact's: the long way. */
	if (!sql || crm_entity_field(t, "owner") < 0)
		return 0;
	if (!(st = crm_store_stmt(db, sql, e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	if ((rc = crm_stmt_step(st, e)) <= 0) {
		crm_store_stmt_done(st);
		if (rc < 0)
			return -1;
		crm_api_error(rs, 404, "not_found", "no %s '%s'", t->kind, id);
		return 1;
	}
	for (int c = 0; c < crm_stmt_columns(st); c++) {
		const char *n = crm_stmt_column_name(st, c);

		if (!strcmp(n, "owner"))
			owner = c;
		else if (!strcmp(n, "merged_into"))
			merged = c;
	}
	if (owner < 0 || merged < 0 || crm_stmt_type(st, merged) != CRM_NULL) {
		crm_store_stmt_done(st);
		return 0;
	}
	ok = crm_auth_owns(db, who, crm_stmt_type(st, owner) == CRM_NULL ? NULL : crm_stmt_text(st, owner), e);
	if (ok > 0 && row_body(st, t, &rs->body, e) < 0)
		ok = -1;
	crm_store_stmt_done(st);
	if (ok < 0)
		return -1;
	if (!ok) {
		crm_api_error(rs, 404, "not_found", "no %s '%s'", t->kind, id);
		return 1;
	}
	crm_buf_addc(&rs->body, '\n');
	rs->subject_read = 1;
	rs->status = 200;
	return 1;
}

/* Prepare sql (released here) with its text parameters bound; NULL on an error. */
static struct crm_stmt *prepare_bound(struct crm_store *db, struct crm_buf *sql, const char *const *par, int np,
				      int flags, struct crm_err *e)
{
	struct crm_stmt *st;
	int rc = crm_store_prepare(db, sql->data, flags, &st, e);

	crm_buf_release(sql);
	if (rc < 0)
		return NULL;
	for (int i = 0; i < np; i++)
		crm_stmt_bind_text_ref(st, i + 1, par[i], (size_t)-1);
	return st;
}

/* The index of st's column named name, or -1. */
static int column_of(struct crm_stmt *st, const char *name)
{
	for (int i = 0, n = crm_stmt_columns(st); i < n; i++)
		if (!strcmp(crm_stmt_column_name(st, i), name))
			return i;
	return -1;
}

static int list(struct crm_store *db, const struct crm_api_req *rq, const struct crm_entity *t,
		struct crm_api_res *rs)
{
	const char *par[CRM_API_MAXARGS + 4];
	int np = 0, rc;
	long limit = count_arg(rq, "limit", CRM_API_PAGE_DEFAULT, CRM_API_PAGE_MAX, rs);
	struct crm_buf sql;
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	char last[CRM_ID_MAX] = "";
	char bi[CRM_API_MAXARGS][CRM_BIDX_MAX];
	/* Filters on sealed fields without a blind index: the field and the
	 * value each row's opened cell must equal. */
	const char *opened[CRM_API_MAXARGS][2];
	size_t nopened = 0;
	struct crm_buf cell = { 0 };
	long n = 0;

	if (limit < 0)
		return rs->status;
	crm_buf_init(&sql, 0);
	crm_buf_addf(&sql, "SELECT * FROM %s t WHERE merged_into IS NULL", t->table);
	for (size_t i = 0; i < rq->nargs; i++) {
		const char *k = rq->args[i].k, *v = rq->args[i].v ? rq->args[i].v : "";
		int f;

		if (!strcmp(k, "limit"))
			continue;
		if (!strcmp(k, "cursor")) {
			crm_buf_addf(&sql, " AND id > ?%d", np + 1);
		} else if (!strcmp(k, "updated_since")) {
			crm_buf_addf(&sql, " AND updated_at >= ?%d", np + 1);
		} else if (!strcmp(k, "due_before") && crm_entity_field(t, "due_at") >= 0) {
			crm_buf_addf(&sql, " AND due_at < ?%d", np + 1);
		} else if ((f = crm_entity_field(t, k)) >= 0 &&
			   !(t->fields[f].flags & CRM_F_VIRTUAL)) {
			if (!strcmp(k, "owner") && !strcmp(v, "me"))
				v = rq->who->user;
			if (!crm_store_crypt(db) || !crm_entity_personal_column(t, k)) {
				crm_buf_addf(&sql, " AND %s = ?%d", t->fields[f].name, np + 1);
			} else if (t->subject && (!strcmp(k, "email") || !strcmp(k, "phone"))) {
				/* sealed: found by blind index */
				crm_crypt_bidx_ident(crm_store_crypt(db), k, v, bi[np]);
				crm_buf_addf(&sql, " AND %s_bi = ?%d", k, np + 1);
				v = bi[np];
			} else {	/* sealed, no index: opened row by row */
				opened[nopened][0] = t->fields[f].name;
				opened[nopened++][1] = v;
				continue;
			}
		} else if (!strcmp(k, "external_id") || !strcmp(k, "source")) {
			crm_buf_addf(&sql, " AND %s = ?%d", k, np + 1);
		} else {
			crm_buf_release(&sql);
			return crm_api_error(rs, 400, "unknown_parameter",
					     "%ss cannot be filtered by '%s'", t->kind, k);
		}
		par[np++] = v;
	}
	own_clause(rq->who, t, "t.", &sql, par, &np);
	crm_buf_adds(&sql, " ORDER BY id");
	if (!nopened)
		crm_buf_addf(&sql, " LIMIT %ld", limit + 1);
	if (crm_entity_has_personal(t))
		rs->subject_read = 1;	/* people's data: the audit trail notes it */
	if (!(st = prepare_bound(db, &sql, par, np, nopened ? CRM_STMT_STREAM : 0, &e)))
		return db_error(rs, &e);
	crm_buf_adds(&rs->body, "{\"data\":[");
	while ((rc = crm_stmt_step(st, &e)) == 1) {
		int pass = 1;

		for (size_t i = 0; i < nopened && pass; i++) {
			int c = crm_row_cell(st, column_of(st, opened[i][0]), t->table, opened[i][0],
					     crm_stmt_text(st, 0), &cell, &e);

			if (c < 0) {
				rc = -1;
				break;
			}
			pass = c > 0 && !strcmp(cell.data, opened[i][1]);
		}
		if (rc < 0)
			break;
		if (!pass)
			continue;
		if (n == limit)
			break;
		if (n++)
			crm_buf_addc(&rs->body, ',');
		snprintf(last, sizeof(last), "%s", crm_stmt_text(st, 0));
		if (crm_row_json_e(&rs->body, st, t->kind, NULL, &e) < 0) {
			if (!e.code)
				crm_err_set(&e, CRM_ESOFTWARE, "out of memory");
			rc = -1;
			break;
		}
		if (rs->body.data[rs->body.len - 1] == '\n')
			rs->body.data[--rs->body.len] = '\0';
	}
	crm_buf_release(&cell);
	if (rc < 0) {
		crm_stmt_free(st);
		return db_error(rs, &e);
	}
	crm_buf_adds(&rs->body, "],\"next_cursor\":");
	if (rc == 1)
		crm_buf_addf(&rs->body, "\"%s\"}\n", last);
	else
		crm_buf_adds(&rs->body, "null}\n");
	crm_stmt_free(st);
	rs->status = 200;
	return 200;
}

/* ---- writes through the importer ---------------------------------------- */

struct capture {
	struct crm_buf rec;	/* the record that landed */
	char reason[512];	/* or why it was rejected */
	const struct crm_principal *who;	/* the caller of the write */
	int conflict;		/* the key is someone else's record */
};

static _Thread_local struct {
	struct crm_store *db;
	struct crm_import *im;
	struct capture cap;
} tl;

static int cap_record(void *ctx, const char *buf, size_t len)
{
	struct capture *c = ctx;

	crm_buf_reset(&c->rec);
	return crm_buf_add(&c->rec, buf, len);
}

static int cap_reject(void *ctx, const char *file, long line, const char *reason,
		      const char *raw, size_t rawlen)
{
	struct capture *c = ctx;

	(void)file, (void)line, (void)raw, (void)rawlen;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	return 0;
}

/* An upsert changes only a record the caller reaches. */
static int cap_may_update(void *ctx, const struct crm_entity *t, const char *id)
{
	struct capture *c = ctx;
	struct crm_err e = { 0 };
	int ok = 0, rc;

	rc = reach(tl.db, c->who, t, id, &ok, &e);
	if (rc < 0)
		return -1;
	if (!rc || !ok)
		c->conflict = 1;
	return rc && ok;
}

void crm_api_thread_done(void)
{
	crm_import_free(tl.im);
	crm_buf_release(&tl.cap.rec);
	tl.im = NULL;
	tl.db = NULL;
}

static struct crm_import *importer(struct crm_store *db, struct crm_err *e)
{
	static const struct crm_import_opts o = { .source = "api", .batch = 1, .records = 1 };
	struct crm_import_hooks h = { 0 };

	if (tl.im && tl.db == db)
		return tl.im;
	crm_api_thread_done();
	h.ctx = &tl.cap;
	h.records = cap_record;
	h.reject = cap_reject;
	h.may_update = cap_may_update;
	if (!(tl.im = crm_import_new(db, &o, &h, e)))
		return NULL;
	if (crm_import_map(tl.im, "id=id", e) < 0) {
		crm_api_thread_done();
		return NULL;
	}
	tl.db = db;
	return tl.im;
}

/*
 * Check a body for type t: an object whose keys are fields of t (or
 * attrs, an object, and external_id), with scalar values; owner and
 * references within what the caller reaches. Returns 0, or the status of
 * the error set in rs.
 */
static int check_body(struct crm_store *db, const struct crm_principal *p, const struct crm_entity *t,
		      json_t *o, int create, struct crm_api_res *rs)
{
	const char *k;
	json_t *v;
	struct crm_err e = { 0 };

	if (!json_is_object(o))
		return crm_api_error(rs, 400, "bad_body", "want a JSON object");
	json_object_foreach(o, k, v) {
		int f = crm_entity_field(t, k);

		if (!strcmp(k, "attrs")) {
			if (!json_is_object(v))
				return crm_api_error(rs, 400, "bad_field", "attrs: want an object");
			continue;
		}
		if (!strcmp(k, "external_id")) {
			if (!json_is_string(v))
				return crm_api_error(rs, 400, "bad_field", "external_id: want a string");
			continue;
		}
		if (!strcmp(k, "id") || !strcmp(k, "type") || !strcmp(k, "source") ||
		    !strcmp(k, "merged_into") || !strcmp(k, "updated_at") ||
		    !strcmp(k, "created_at") || crm_entity_internal(k))
			return crm_api_error(rs, 400, "forbidden_field",
					     "'%s' is set by the server, not by a request", k);
		if (f < 0)
			return crm_api_error(rs, 400, "unknown_field", "%ss have no field '%s'", t->kind, k);
		if (json_is_null(v) && !strcmp(k, "owner"))
			return crm_api_error(rs, 422, "bad_field",
					     "owner: a %s must have an owner (a record without one is seen by admins only)",
					     t->kind);
		if (json_is_null(v))
			continue;
		switch (t->fields[f].type) {
		case CRM_T_INT:
		case CRM_T_REAL:
			if (!json_is_number(v) && !json_is_string(v))
				return crm_api_error(rs, 400, "bad_field", "%s: want a number", k);
			break;
		default:
			if (!json_is_string(v))
				return crm_api_error(rs, 400, "bad_field", "%s: want a string", k);
		}
		if (!strcmp(k, "owner")) {
			int rc = crm_auth_owns(db, p, json_string_value(v), &e);

			if (rc < 0)
				return db_error(rs, &e);
			if (!rc)
				return crm_api_error(rs, 403, "forbidden",
						     "you cannot give records to '%s'", json_string_value(v));
		}
		if (t->fields[f].type == CRM_T_REF) {
			const struct crm_entity *rt = crm_entity_find(t->fields[f].arg);
			int ok = 0, rc;

			if (!rt)
				continue;
			rc = reach(db, p, rt, json_string_value(v), &ok, &e);
			if (rc < 0)
				return db_error(rs, &e);
			if ((!rc || !ok) && (p->role != CRM_ROLE_ADMIN || !rc))
				return crm_api_error(rs, 422, "bad_reference", "%s: no %s '%s'",
						     k, rt->kind, json_string_value(v));
		}
	}
	/* A new record without an owner is the caller's (write_record). */
	if (create && has_owner(t) && !json_object_get(o, "owner") && !*p->user)
		return crm_api_error(rs, 422, "bad_field", "owner: say who owns the new %s", t->kind);
	if (create && !has_owner(t) && p->role != CRM_ROLE_ADMIN &&
	    !json_is_string(json_object_get(o, "contact_id")))
		return crm_api_error(rs, 422, "bad_reference", "%ss you write must name a contact_id", t->kind);
	return 0;
}

/*
 * Write o as a record of t for p; the record that landed into rs, or an
 * error. A create is an upsert keyed by (source, key) with source
 * "api:OWNER" (the caller, for types without an owner), so two reps'
 * independent records never share a key; one that finds a record p
 * cannot reach (its owner changed since) is a 409 that shows nothing of
 * it. A found record keeps its owner unless the body names one.
 */
static int write_record(struct crm_store *db, const struct crm_principal *p,
			const struct crm_entity *t, json_t *o, int create,
			struct crm_api_res *rs)
{
	struct crm_err e = { 0 };
	struct crm_import *im = importer(db, &e);
	char *text;
	FILE *fp;
	int rc;

	if (!im)
		return db_error(rs, &e);
	if (crm_import_set_owner(im, create && *p->user ? p->user : NULL) < 0)
		return crm_api_error(rs, 500, "internal", "out of memory");
	if (create) {
		json_t *ow = json_object_get(o, "owner");
		char src[160];

		snprintf(src, sizeof(src), "api:%s", json_is_string(ow) ? json_string_value(ow) : p->user);
		json_object_set_new(o, "source", json_string(src));
	}
	tl.cap.who = p;
	tl.cap.conflict = 0;
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		return crm_api_error(rs, 500, "internal", "out of memory");
	crm_buf_reset(&tl.cap.rec);
	tl.cap.reason[0] = '\0';
	fp = fmemopen(text, strlen(text), "r");
	if (!fp) {
		free(text);
		return crm_api_error(rs, 500, "internal", "out of memory");
	}
	rc = crm_import_stream(im, "request", fp, CRM_FMT_NDJSON, t, &e);
	fclose(fp);
	free(text);
	if (rc < 0) {
		/* A failed batch leaves the importer mid-way: start afresh. */
		crm_api_thread_done();
		return db_error(rs, &e);
	}
	if (!tl.cap.rec.len && tl.cap.conflict)
		return crm_api_error(rs, 409, "conflict",
				     "a %s with this key exists and is not yours to change", t->kind);
	if (!tl.cap.rec.len)
		return crm_api_error(rs, 422, "rejected", "%s",
				     *tl.cap.reason ? tl.cap.reason : "the record was not stored");
	crm_buf_add(&rs->body, tl.cap.rec.data, tl.cap.rec.len);
	rs->status = create && strstr(tl.cap.rec.data, "\"status\":\"inserted\"") ? 201 : 200;
	return rs->status;
}

/* ---- scores ------------------------------------------------------------- */

struct rescore {
	int done;		/* 1 scored, 0 no model or not open */
	int score, previous;	/* previous -1: none */
	double probability, ms;
	char model[CRM_ID_MAX];
};

static void xcache_drop(struct crm_api *a, const char *id);

void crm_api_invalidate(struct crm_api *a, struct crm_store *db, const char *entity,
			const char *entity_id)
{
	if (!strcmp(entity, "score")) {
		xcache_drop(a, entity_id);
		return;
	}
	for (size_t i = 0; i < crm_nentities; i++) {
		char ids[64][CRM_ID_MAX];
		const struct crm_entity *t = &crm_entities[i];
		size_t n;

		if (strcmp(t->kind, "contact") && strcmp(t->kind, "deal"))
			continue;
		n = crm_scoring_touched(db, t, entity, entity_id, 0, ids, 64);
		for (size_t k = 0; k < n; k++)
			xcache_drop(a, ids[k]);
	}
}

/* Score record id of kind now, store it and say how it moved. */
static int rescore(struct crm_api *a, struct crm_store *db, const char *kind, const char *id,
		   struct rescore *r, struct crm_err *e)
{
	struct scorer *s;
	struct crm_dataset one;
	double t0 = crm_now();
	char now[32];
	float p;
	int rc;

	memset(r, 0, sizeof(*r));
	r->previous = -1;
	if (!(s = scorer_get(a, db, kind, e)))
		return *e->msg ? -1 : 0;
	rc = crm_dataset_build_one(&one, db, s->m.type, id, &s->m.schema, s->hist, e);
	if (rc == 0 && !isnan(one.y[0]))
		rc = 1;		/* closed: not scored */
	if (rc == 0) {
		pthread_mutex_lock(&s->xgb);
		rc = crm_model_predict_adjusted(&s->m, &one, 0, 1, &p, e);
		pthread_mutex_unlock(&s->xgb);
	}
	crm_dataset_release(&one);
	if (rc) {
		scorer_put(s);
		return rc < 0 ? -1 : 0;
	}
	snprintf(r->model, sizeof(r->model), "%s", s->m.id);
	scorer_put(s);
	r->done = 1;
	r->probability = p;
	r->score = (int)lround(100.0 * p);
	crm_timestamp(now, sizeof(now));
	if (crm_score_get(db, id, r->model, &r->previous, e) < 0 ||
	    crm_score_put(db, id, r->model, p, now, e) < 0)
		return -1;
	xcache_drop(a, id);
	r->ms = 1000 * (crm_now() - t0);
	return 0;
}

/* ---- explanations, cached for a short while ------------------------------ */

/* The entry of id in its set, or NULL; with make, a slot for it (the
 * oldest of the set when full). Called with xmu held. */
static struct xent *xfind(struct crm_api *a, const char *id, int make)
{
	struct xent *set = &a->xc[(crm_strhash(id) % (XCACHE / XWAYS)) * XWAYS];
	struct xent *victim = set;

	for (size_t w = 0; w < XWAYS; w++) {
		if (!strcmp(set[w].id, id))
			return &set[w];
		if (set[w].at < victim->at)
			victim = &set[w];
	}
	return make ? victim : NULL;
}

static void xcache_drop(struct crm_api *a, const char *id)
{
	struct xent *x;

	pthread_mutex_lock(&a->xmu);
	if ((x = xfind(a, id, 0)))
		x->at = 0;
	pthread_mutex_unlock(&a->xmu);
}

/*
 * The explanation of record id (kind) with its next action, as JSON into
 * b. 1, 0 when there is no model or no such open record, -1 with e.
 */
static int explanation(struct crm_api *a, struct crm_store *db, const char *kind, const char *id,
		       struct crm_buf *b, struct crm_err *e)
{
	struct xent *x;
	struct scorer *s;
	double now = crm_now();
	size_t start = b->len;
	int rc;

	pthread_mutex_lock(&a->xmu);
	x = xfind(a, id, 0);
	if (x && x->json && now - x->at < XCACHE_TTL) {
		crm_buf_adds(b, x->json);
		pthread_mutex_unlock(&a->xmu);
		return 1;
	}
	pthread_mutex_unlock(&a->xmu);
	if (!(s = scorer_get(a, db, kind, e)))
		return *e->msg ? -1 : 0;
	rc = crm_explain_id(db, &s->m, s->hist, id, 3, CRM_EXPLAIN_NEXT, &s->xgb, b, e);
	scorer_put(s);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (b->len > start && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	pthread_mutex_lock(&a->xmu);
	x = xfind(a, id, 1);
	free(x->json);
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->json = crm_strndup(b->data + start, b->len - start);
	x->at = now;
	pthread_mutex_unlock(&a->xmu);
	return 1;
}

static int get_explain(struct crm_api *a, struct crm_store *db, const struct crm_entity *t,
		       const char *id, int nba_only, struct crm_api_res *rs)
{
	struct crm_err e = { 0 };
	struct crm_buf b;
	int rc;

	crm_buf_init(&b, 0);
	rc = explanation(a, db, t->kind, id, &b, &e);
	if (rc <= 0) {
		crm_buf_release(&b);
		if (rc < 0)
			return db_error(rs, &e);
		return crm_api_error(rs, 409, "not_scored", "%s '%s' has no score: no active %s model, or it is closed",
				     t->kind, id, t->kind);
	}
	if (nba_only) {
		json_t *o = json_loadb(b.data, b.len, 0, NULL);
		json_t *na = json_object_get(o, "next_action");
		char *text;

		json_object_set(na, "id", json_object_get(o, "id"));
		json_object_set(na, "score", json_object_get(o, "score"));
		text = na ? json_dumps(na, JSON_COMPACT | JSON_REAL_PRECISION(8)) : NULL;
		if (text)
			crm_buf_adds(&rs->body, text);
		free(text);
		json_decref(o);
	} else {
		crm_buf_add(&rs->body, b.data, b.len);
	}
	crm_buf_addc(&rs->body, '\n');
	crm_buf_release(&b);
	rs->status = 200;
	return 200;
}

/* /v1/leads/top: the caller's open leads by score, with their reasons. */
static int leads_top_build(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq,
		     struct crm_api_res *rs)
{
	const struct crm_entity *t = crm_entity_find("contact");
	const char *par[8], *owner = arg(rq, "owner");
	long limit = count_arg(rq, "limit", 10, 50, rs);
	int np = 0, rc, informative = 1;
	char model[CRM_ID_MAX];
	struct crm_buf sql, b;
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	long n = 0;

	if (limit < 0)
		return rs->status;
	for (size_t i = 0; i < rq->nargs; i++)
		if (strcmp(rq->args[i].k, "limit") && strcmp(rq->args[i].k, "owner"))
			return crm_api_error(rs, 400, "unknown_parameter", "leads/top takes limit and owner, not '%s'",
					     rq->args[i].k);
	rc = crm_store_text1(db, "SELECT id FROM models WHERE entity = ?1 AND active = 1", "contact",
			  model, sizeof(model), &e);
	if (rc < 0)
		return db_error(rs, &e);
	if (!rc)
		return crm_api_error(rs, 409, "no_model", "no active lead model: run 'crm score train -t contact'");
	crm_buf_init(&sql, 0);
	crm_buf_adds(&sql, "SELECT c.id, c.first_name, c.last_name, c.company, c.title, c.owner, "
		     "s.score, s.probability, s.computed_at FROM scores s JOIN contacts c ON c.id = s.entity_id "
		     "WHERE s.model_id = ?1 AND c.outcome IS NULL AND c.merged_into IS NULL");
	par[np++] = model;
	if (owner) {
		crm_buf_adds(&sql, " AND c.owner = ?2");
		par[np++] = !strcmp(owner, "me") ? rq->who->user : owner;
	}
	own_clause(rq->who, t, "c.", &sql, par, &np);
	{	/* A model without signal does not rank: the most recently
		 * active leads come first instead. */
		struct crm_stmt *q = crm_store_stmt(db, "SELECT metrics FROM models WHERE id = ?1", &e);
		json_t *m = NULL;

		if (q) {
			crm_stmt_bind_text_ref(q, 1, model, (size_t)-1);
			if ((rc = crm_stmt_step(q, &e)) > 0 && crm_stmt_text(q, 0))
				m = json_loads(crm_stmt_text(q, 0), 0, NULL);
			crm_store_stmt_done(q);
		}
		if (!q || rc < 0) {
			crm_buf_release(&sql);
			return db_error(rs, &e);
		}
		informative = !json_is_false(json_object_get(m, "signal"));
		json_decref(m);
	}
	if (informative)
		crm_buf_addf(&sql, " ORDER BY s.probability DESC LIMIT %ld", limit);
	else
		crm_buf_addf(&sql, " ORDER BY (SELECT max(occurred_at) FROM interactions i WHERE i.contact_id = c.id) DESC, "
			     "c.id LIMIT %ld", limit);
	if (!(st = prepare_bound(db, &sql, par, np, 0, &e)))
		return db_error(rs, &e);
	crm_buf_init(&b, 0);
	crm_buf_adds(&rs->body, "{\"data\":[");
	while ((rc = crm_stmt_step(st, &e)) == 1) {
		const char *id = crm_stmt_text(st, 0);
		json_t *x = NULL;
		int bad = 0;

		if (n++)
			crm_buf_addc(&rs->body, ',');
		crm_buf_adds(&rs->body, "{\"id\":");
		crm_json_str(&rs->body, id, strlen(id));
		for (int c = 1; c <= 5; c++) {
			const char *v = crm_stmt_text(st, c);

			if (c <= 2) {	/* the name, opened */
				int r = crm_row_cell(st, c, "contacts", crm_stmt_column_name(st, c), id, &b, &e);

				if ((bad = r < 0))
					break;
				v = r ? b.data : NULL;
			}
			crm_buf_addf(&rs->body, ",\"%s\":", crm_stmt_column_name(st, c));
			if (v)
				crm_json_str(&rs->body, v, strlen(v));
			else
				crm_buf_adds(&rs->body, "null");
		}
		if (bad) {
			rc = -1;
			break;
		}
		crm_buf_addf(&rs->body, ",\"score\":%d,\"probability\":%.4f,\"scored_at\":\"%s\"",
			     (int)crm_stmt_int64(st, 6), crm_stmt_double(st, 7),
			     crm_stmt_text(st, 8));
		crm_buf_reset(&b);
		if (explanation(a, db, "contact", id, &b, &e) > 0)
			x = json_loadb(b.data, b.len, 0, NULL);
		crm_buf_adds(&rs->body, ",\"reasons\":[");
		{
			json_t *fs = json_object_get(x, "factors"), *f;
			size_t i, shown = 0;

			json_array_foreach(fs, i, f) {
				const char *text = json_string_value(json_object_get(f, "text"));

				if (shown == 3 || !text)
					break;
				crm_buf_addf(&rs->body, "%s{\"text\":", shown++ ? "," : "");
				crm_json_str(&rs->body, text, strlen(text));
				crm_buf_addf(&rs->body, ",\"effect\":%.4f}",
					     json_real_value(json_object_get(f, "effect")));
			}
		}
		crm_buf_adds(&rs->body, "]");
		{
			const char *title = json_string_value(json_object_get(json_object_get(x, "next_action"), "title"));

			if (title) {
				crm_buf_adds(&rs->body, ",\"next_action\":");
				crm_json_str(&rs->body, title, strlen(title));
			}
		}
		crm_buf_addc(&rs->body, '}');
		json_decref(x);
		crm_err_clear(&e);
	}
	crm_buf_release(&b);
	crm_stmt_free(st);
	if (rc != 0)
		return db_error(rs, &e);
	crm_buf_addf(&rs->body, "],\"model\":\"%s\"", model);
	if (!informative)
		crm_buf_addf(&rs->body, ",\"informative\":false,\"order\":\"latest activity\",\"note\":\"%s\"",
			     CRM_NO_SIGNAL_NOTE);
	crm_buf_adds(&rs->body, "}\n");
	rs->status = 200;
	return 200;
}

static int leads_top(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq,
		     struct crm_api_res *rs)
{
	const struct crm_principal *w = rq->who;
	const char *limit = arg(rq, "limit"), *owner = arg(rq, "owner");
	char key[400];
	long long seq = -1, last;
	struct tent *t;
	struct crm_err e = { 0 };
	double now = crm_now();
	int rc, mine = 0;

	snprintf(key, sizeof(key), "%d|%s|%s|%s|%s|%zu", (int)w->role, w->user, w->team,
		 limit ? limit : "", owner ? owner : "", rq->nargs);
	t = &a->tc[crm_strhash(key) % TCACHE];
	pthread_mutex_lock(&a->xmu);
	if (t->json && !strcmp(t->key, key) && (now - t->at < TCACHE_FRESH || t->building)) {
		crm_buf_adds(&rs->body, t->json);
		pthread_mutex_unlock(&a->xmu);
		rs->status = 200;
		return 200;
	}
	if (!t->building)
		t->building = mine = 1;
	pthread_mutex_unlock(&a->xmu);
	if (crm_store_last_event(db, &last, &e) == 0)
		seq = last;
	pthread_mutex_lock(&a->xmu);
	if (seq >= 0 && t->json && t->seq == seq && now - t->at < TCACHE_TTL && !strcmp(t->key, key)) {
		crm_buf_adds(&rs->body, t->json);
		if (mine)
			t->building = 0;
		pthread_mutex_unlock(&a->xmu);
		rs->status = 200;
		return 200;
	}
	pthread_mutex_unlock(&a->xmu);
	rc = leads_top_build(a, db, rq, rs);
	atomic_fetch_add(&a->top_builds, 1);
	pthread_mutex_lock(&a->xmu);
	if (rc == 200 && seq >= 0) {
		char *json = crm_strndup(rs->body.data, rs->body.len);

		if (json) {
			free(t->json);
			t->json = json;
			snprintf(t->key, sizeof(t->key), "%s", key);
			t->seq = seq;
			t->at = now;
		}
	}
	if (mine)
		t->building = 0;
	pthread_mutex_unlock(&a->xmu);
	return rc;
}

/* The columns a call's row ends with (calls()), after those shown as they
 * are: the contact's names, the contact's id, the analysis. */
#define CALL_TAIL 4

/* Answer {"data":[...]} from st, a row an object of its columns; with
 * calls, the last CALL_TAIL of them a call's (see calls()): its contact's
 * name, opened, and its analysis's summary, hesitation cues and action
 * items with the words they came from. Frees st. */
static int json_rows(struct crm_stmt *st, int calls, struct crm_api_res *rs, struct crm_err *e)
{
	struct crm_store *db = crm_stmt_store(st);
	int rc, n = 0, nc = crm_stmt_columns(st) - (calls ? CALL_TAIL : 0);
	struct crm_buf first = { 0 }, last = { 0 }, an = { 0 };

	crm_buf_adds(&rs->body, "{\"data\":[");
	while ((rc = crm_stmt_step(st, e)) == 1) {
		if (n++)
			crm_buf_addc(&rs->body, ',');
		crm_row_object(&rs->body, st, nc, NULL);
		if (calls) {
			const char *cid = crm_stmt_text(st, nc + 2), *iid = crm_stmt_text(st, 0);
			const char *a = crm_stmt_text(st, nc + 3);
			json_t *x = NULL, *sum, *cues;
			char *t;

			rs->body.data[--rs->body.len] = '\0';	/* the '}' */
			if (crm_row_cell(st, nc, "contacts", "first_name", cid, &first, e) < 0 ||
			    crm_row_cell(st, nc + 1, "contacts", "last_name", cid, &last, e) < 0 ||
			    (a && crm_call_open(db, iid, NULL, 0, a, crm_stmt_bytes(st, nc + 3), NULL, &an, e) < 0)) {
				rc = -1;
				break;
			}
			if (first.len && last.len)
				crm_buf_addc(&first, ' ');
			crm_buf_add(&first, last.data, last.len);
			crm_buf_adds(&rs->body, ",\"name\":");
			crm_json_str(&rs->body, first.data ? first.data : "", first.len);
			x = a ? json_loads(an.data, 0, NULL) : NULL;
			sum = json_object_get(x, "summary");
			cues = json_object_get(json_object_get(x, "hesitation"), "cues");
			crm_buf_adds(&rs->body, ",\"summary\":");
			t = sum ? json_dumps(sum, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			crm_buf_adds(&rs->body, t ? t : "null");
			free(t);
			crm_buf_adds(&rs->body, ",\"cues\":");
			t = cues ? json_dumps(cues, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			crm_buf_adds(&rs->body, t ? t : "null");
			free(t);
			crm_buf_adds(&rs->body, ",\"action_items\":");
			t = json_object_get(x, "action_items")
				    ? json_dumps(json_object_get(x, "action_items"), JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			crm_buf_adds(&rs->body, t ? t : "[]");
			free(t);
			json_decref(x);
			crm_buf_addc(&rs->body, '}');
		}
	}
	crm_buf_release(&first);
	crm_buf_release(&last);
	crm_buf_release(&an);
	crm_stmt_free(st);
	if (rc < 0)
		return db_error(rs, e);
	crm_buf_adds(&rs->body, "]}\n");
	rs->status = 200;
	return 200;
}

/* /v1/calls: recent analysed calls with their hesitation flags. */
static int calls(struct crm_store *db, const struct crm_api_req *rq, struct crm_api_res *rs)
{
	const struct crm_entity *t = crm_entity_find("contact");
	const char *par[8];
	long limit = count_arg(rq, "limit", 10, CRM_API_PAGE_MAX, rs);
	int np = 0;
	struct crm_buf sql;
	struct crm_err e = { 0 };
	struct crm_stmt *st;

	if (limit < 0)
		return rs->status;
	for (size_t i = 0; i < rq->nargs; i++)
		if (strcmp(rq->args[i].k, "limit"))
			return crm_api_error(rs, 400, "unknown_parameter", "calls takes limit, not '%s'",
					     rq->args[i].k);
	crm_buf_init(&sql, 0);
	/* The last CALL_TAIL columns as json_rows takes them. */
	crm_buf_addf(&sql, "SELECT i.id, i.occurred_at, i.contact_id, i.deal_id, "
		     "c.company, t.duration, t.sentiment, t.hesitation, t.hesitant <> 0 AS hesitant, "
		     "c.first_name, c.last_name, c.id, t.analysis%s "
		     "FROM transcripts t JOIN interactions i ON i.id = t.interaction_id "
		     "LEFT JOIN contacts c ON c.id = i.contact_id WHERE i.id IN ("
		     "SELECT i.id FROM transcripts t JOIN interactions i ON i.id = t.interaction_id "
		     "LEFT JOIN contacts c ON c.id = i.contact_id WHERE 1 = 1",
		     crm_store_sql(db, CRM_SQL_AS_TEXT));
	own_clause(rq->who, t, "c.", &sql, par, &np);
	crm_buf_addf(&sql, " ORDER BY i.occurred_at DESC LIMIT %ld) ORDER BY i.occurred_at DESC", limit);
	if (!(st = prepare_bound(db, &sql, par, np, 0, &e)))
		return db_error(rs, &e);
	return json_rows(st, 1, rs, &e);
}

/* /v1/weights: the overrides in force (GET) or a new one (POST), admins only. */
static int weights(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq, json_t *o,
		   struct crm_api_res *rs)
{
	struct crm_err e = { 0 };

	if (rq->who->role != CRM_ROLE_ADMIN)
		return crm_api_error(rs, 403, "forbidden", "model weights are for admins");
	if (!strcmp(rq->method, "GET")) {
		struct crm_stmt *st;

		if (crm_override_rows(db, NULL, 0, &st, &e) < 0)
			return db_error(rs, &e);
		return json_rows(st, 0, rs, &e);
	}
	{
		const char *kind = json_string_value(json_object_get(o, "entity"));
		const char *feature = json_string_value(json_object_get(o, "feature"));
		const char *action = json_string_value(json_object_get(o, "action"));
		const char *why = json_string_value(json_object_get(o, "why"));
		json_t *value = json_object_get(o, "value");
		const struct crm_entity *t = kind ? crm_entity_find(kind) : NULL;
		const char *k;
		json_t *v;

		json_object_foreach(o, k, v)
			if (strcmp(k, "entity") && strcmp(k, "feature") && strcmp(k, "action") &&
			    strcmp(k, "value") && strcmp(k, "why"))
				return crm_api_error(rs, 400, "unknown_field", "weights have no field '%s'", k);
		if (!t || (strcmp(kind, "contact") && strcmp(kind, "deal")))
			return crm_api_error(rs, 400, "bad_field", "entity: want contact or deal");
		if (!feature || !action || !why || !*why)
			return crm_api_error(rs, 400, "bad_field", "feature, action and why are required");
		if (value && !json_is_number(value))
			return crm_api_error(rs, 400, "bad_field", "value: want a number");
		if (crm_override_add(db, t, feature, action, json_number_value(value),
				     rq->who->name, why, &e) < 0) {
			if (e.code == CRM_EDATA || e.code == CRM_EUSAGE)
				return crm_api_error(rs, 422, "rejected", "%s", e.msg);
			return db_error(rs, &e);
		}
		/* Scores and explanations follow the override from now on:
		 * the model is loaded again, with it. */
		{
			struct scorer *sc = &a->sc[!strcmp(kind, "deal")];

			pthread_rwlock_wrlock(&sc->lk);
			sc->state = 0;
			pthread_rwlock_unlock(&sc->lk);
			pthread_mutex_lock(&a->xmu);
			for (size_t i = 0; i < XCACHE; i++)
				a->xc[i].at = 0;
			for (size_t i = 0; i < TCACHE; i++)
				a->tc[i].at = 0;
			pthread_mutex_unlock(&a->xmu);
		}
		crm_buf_adds(&rs->body, "{\"status\":\"added\"}\n");
		rs->status = 201;
		return 201;
	}
}

/* ---- routing ------------------------------------------------------------ */

static int record(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq,
		  const struct crm_entity *t, const char *id, const char *sub,
		  json_t *body, struct crm_api_res *rs)
{
	struct crm_err e = { 0 };
	char live[CRM_ID_MAX];
	const char *merged_from = NULL;
	int ok = 0, rc;

	if (!crm_id_valid(t->prefix, id))
		return crm_api_error(rs, 404, "not_found", "'%s' is not a %s id", id, t->kind);
	/* A merged id still leads to its record: the survivor answers, and
	 * says so. Deleting through an old id is refused. */
	if (strlen(id) >= sizeof(live))
		return crm_api_error(rs, 404, "not_found", "no %s '%s'", t->kind, id);
	memcpy(live, id, strlen(id) + 1);
	if ((rc = crm_merge_survivor(db, t, live)) < 0)
		return db_error(rs, &e);
	if (rc == 2) {
		if (!strcmp(rq->method, "DELETE"))
			return crm_api_error(rs, 409, "merged", "%s '%s' was merged into %s: delete that one",
					     t->kind, id, live);
		merged_from = id;
		id = live;
	}
	rc = reach(db, rq->who, t, id, &ok, &e);
	if (rc < 0)
		return db_error(rs, &e);
	if (!rc || !ok)
		return crm_api_error(rs, 404, "not_found", "no %s '%s'", t->kind, id);
	if (sub) {
		if (strcmp(rq->method, "GET"))
			return crm_api_error(rs, 405, "method_not_allowed", "%s takes GET", rq->path);
		if (rq->nargs)
			return crm_api_error(rs, 400, "unknown_parameter", "'%s' takes no parameters", sub);
		if ((strcmp(sub, "explain") && strcmp(sub, "next-action")) ||
		    (strcmp(t->kind, "contact") && strcmp(t->kind, "deal")))
			return crm_api_error(rs, 404, "not_found", "no route %s", rq->path);
		rs->subject_read = 1;
		return get_explain(a, db, t, id, !strcmp(sub, "next-action"), rs);
	}
	if (!strcmp(rq->method, "GET")) {
		if (rq->nargs)
			return crm_api_error(rs, 400, "unknown_parameter", "a record takes no parameters");
		if (row_json(db, t, id, &rs->body, &e) < 0)
			return db_error(rs, &e);
		if (merged_from && rs->body.len && rs->body.data[rs->body.len - 1] == '}') {
			rs->body.len--;
			crm_buf_addf(&rs->body, ",\"merged_from\":\"%s\"}", merged_from);
		}
		crm_buf_addc(&rs->body, '\n');
		rs->subject_read = 1;
		rs->status = 200;
		return 200;
	}
	if (!strcmp(rq->method, "PATCH")) {
		if ((rc = check_body(db, rq->who, t, body, 0, rs)))
			return rc;
		json_object_set_new(body, "id", json_string(id));
		return write_record(db, rq->who, t, body, 0, rs);
	}
	if (!strcmp(rq->method, "DELETE")) {
		char sql[128];

		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?1", t->table);
		if (crm_store_run(db, sql, &id, 1, &e) < 0)
			return e.code == CRM_EDATA ?
				crm_api_error(rs, 409, "conflict", "%s '%s' has records that refer to it", t->kind, id) :
				db_error(rs, &e);
		crm_buf_addf(&rs->body, "{\"status\":\"deleted\",\"id\":\"%s\"}\n", id);
		rs->status = 200;
		return 200;
	}
	return crm_api_error(rs, 405, "method_not_allowed", "%s takes GET, PATCH or DELETE", rq->path);
}

static int collection(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq,
		      const struct crm_entity *t, json_t *body, struct crm_api_res *rs)
{
	struct crm_err e = { 0 };
	json_t *o, *cid;
	struct rescore r;
	int rc;

	if (!strcmp(rq->method, "GET"))
		return list(db, rq, t, rs);
	if (strcmp(rq->method, "POST"))
		return crm_api_error(rs, 405, "method_not_allowed", "%s takes GET or POST", rq->path);
	if (rq->nargs)
		return crm_api_error(rs, 400, "unknown_parameter", "a new record takes no parameters");
	if ((rc = check_body(db, rq->who, t, body, 1, rs)))
		return rc;
	if ((rc = write_record(db, rq->who, t, body, 1, rs)) >= 300 || strcmp(t->kind, "interaction"))
		return rc;
	/* A new interaction moves its contact's score at once. */
	o = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	cid = json_object_get(o, "contact_id");
	if (json_is_string(cid) && rescore(a, db, "contact", json_string_value(cid), &r, &e) < 0) {
		json_decref(o);
		return db_error(rs, &e);
	}
	if (json_is_string(cid) && r.done) {
		json_t *s = json_pack("{s:s, s:i, s:f, s:s, s:f}", "id", json_string_value(cid),
				      "score", r.score, "probability", round(r.probability * 1e4) / 1e4,
				      "model", r.model, "ms", round(r.ms * 100) / 100);
		char *text;

		json_object_set_new(s, "previous", r.previous < 0 ? json_null() : json_integer(r.previous));
		json_object_set_new(o, "score", s);
		text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(8));
		if (text) {
			crm_buf_reset(&rs->body);
			crm_buf_adds(&rs->body, text);
			crm_buf_addc(&rs->body, '\n');
		}
		free(text);
	}
	json_decref(o);
	return rc;
}

int crm_api_handle(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq,
		   struct crm_api_res *rs)
{
	char seg[5][128];
	size_t nseg = 0;
	const char *p = rq->path;
	json_t *body = NULL;
	int rc;

	rs->status = 0;
	rs->subject_read = 0;
	while (*p == '/')
		p++;
	while (*p && nseg < 5) {
		size_t n = strcspn(p, "/");

		if (n >= sizeof(seg[0]))
			return crm_api_error(rs, 404, "not_found", "no route %s", rq->path);
		memcpy(seg[nseg], p, n);
		seg[nseg++][n] = '\0';
		p += n;
		while (*p == '/')
			p++;
	}
	if (*p || !nseg || strcmp(seg[0], "v1"))
		return crm_api_error(rs, 404, "not_found", "no route %s", rq->path);
	if (!strcmp(rq->method, "POST") || !strcmp(rq->method, "PATCH")) {
		json_error_t je;

		if (!rq->body || !rq->blen)
			return crm_api_error(rs, 400, "bad_body", "%s needs a JSON body", rq->method);
		body = json_loadb(rq->body, rq->blen, JSON_REJECT_DUPLICATES, &je);
		if (!body)
			return crm_api_error(rs, 400, "invalid_json", "body: line %d column %d: %s",
					     je.line, je.column, je.text);
	}
	if (nseg == 2 && !strcmp(seg[1], "me")) {
		const struct crm_principal *w = rq->who;

		crm_buf_adds(&rs->body, "{\"name\":");
		crm_json_str(&rs->body, w->name, strlen(w->name));
		crm_buf_adds(&rs->body, ",\"user\":");
		crm_json_str(&rs->body, w->user, strlen(w->user));
		crm_buf_addf(&rs->body, ",\"role\":\"%s\",\"team\":", crm_role_name(w->role));
		crm_json_str(&rs->body, w->team, strlen(w->team));
		crm_buf_adds(&rs->body, "}\n");
		rs->status = 200;
		rc = 200;
	} else if (nseg == 3 && !strcmp(seg[1], "leads") && !strcmp(seg[2], "top")) {
		rc = strcmp(rq->method, "GET") ? crm_api_error(rs, 405, "method_not_allowed", "takes GET")
					       : leads_top(a, db, rq, rs);
	} else if (nseg == 2 && !strcmp(seg[1], "calls")) {
		rc = strcmp(rq->method, "GET") ? crm_api_error(rs, 405, "method_not_allowed", "takes GET")
					       : calls(db, rq, rs);
	} else if (nseg == 2 && !strcmp(seg[1], "weights")) {
		rc = strcmp(rq->method, "GET") && strcmp(rq->method, "POST") ?
			crm_api_error(rs, 405, "method_not_allowed", "takes GET or POST") :
			weights(a, db, rq, body, rs);
	} else if (nseg >= 2 && nseg <= 4 && api_type(seg[1])) {
		const struct crm_entity *t = api_type(seg[1]);

		struct crm_err e1 = { 0 };
		int one = 0;

		if (nseg == 3 && !strcmp(rq->method, "GET") && !rq->nargs && crm_id_valid(t->prefix, seg[2]) &&
		    (one = record_get_one(db, rq->who, t, seg[2], rs, &e1)) < 0)
			rc = db_error(rs, &e1);
		else if (one)
			rc = rs->status;
		else if (nseg == 2) {
			rc = collection(a, db, rq, t, body, rs);
		} else if (!strcmp(rq->method, "GET")) {
			/* One snapshot: a merge between finding the survivor
			 * and reading it cannot turn a record into a 404. */
			struct crm_err e = { 0 };

			if (crm_store_begin_read(db, &e) < 0) {
				rc = db_error(rs, &e);
			} else {
				rc = record(a, db, rq, t, seg[2], nseg == 4 ? seg[3] : NULL, body, rs);
				/* committed, not rolled back: PostgreSQL would drop
				 * the temporary tables an explanation made */
				if (crm_store_commit(db, &e) < 0)
					crm_store_rollback(db);
			}
		} else {
			rc = record(a, db, rq, t, seg[2], nseg == 4 ? seg[3] : NULL, body, rs);
		}
	} else {
		rc = crm_api_error(rs, 404, "not_found", "no route %s", rq->path);
	}
	json_decref(body);
	return rc;
}
