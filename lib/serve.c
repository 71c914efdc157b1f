/*
 * serve.c - the API on the network, with libmicrohttpd.
 *
 * One epoll thread pool answers every connection; a handler runs on its
 * pool thread with that thread's own SQLite connection (WAL: readers never
 * wait for the writer, and cron jobs write the same file). An event stream
 * is a response whose reader suspends its connection when it has caught
 * up with the log; a watcher thread looks at the log's end a few times a
 * second and resumes the streams that are behind. A third thread delivers
 * webhooks, so no request ever waits for a remote server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "api.h"
#include "auth.h"
#include "hooks.h"
#include "ndjson.h"
#include "privacy.h"
#include "serve.h"
#include "store/store.h"

extern const char crm_page_html[];

/* ---- metrics ------------------------------------------------------------ */

enum route {
	R_PAGE, R_HEALTH, R_METRICS, R_EVENTS, R_CONTACTS, R_ACCOUNTS, R_DEALS,
	R_INTERACTIONS, R_TASKS, R_RECORD, R_EXPLAIN, R_LEADS, R_CALLS, R_OTHER,
	R_N
};
static const char *const route_names[R_N] = {
	"page", "health", "metrics", "events", "contacts", "accounts", "deals",
	"interactions", "tasks", "record", "explain", "leads_top", "calls", "other"
};
static const int codes[] = { 200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503, 0 };
#define NCODES (sizeof(codes) / sizeof(codes[0]))
static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct metrics {
	atomic_ulong count[R_N][NCODES];
	atomic_ulong bucket[R_N][NBUCKETS + 1];
	atomic_ulong sum_us[R_N];
	atomic_ulong rate_limited;
	atomic_ulong idle_shut;
	atomic_ulong too_active;	/* 503: a client with too many in flight */
	atomic_long streams;
	atomic_long conns;
};

/* ---- rate limits: a token bucket per API token ---------------------------- */

#define RL_SLOTS 1024

struct bucket {
	char id[CRM_ID_MAX];
	double tokens, at;
};

/* ---- the server --------------------------------------------------------- */

struct sse;

/* Requests in flight of one client address. */
struct inflight {
	char addr[48];
	unsigned n;
};

/* An open connection, for cutting off clients that send too slowly. */
struct conn {
	int fd;
	double since;		/* waiting for a whole request since */
	int busy;		/* a request is being answered */
	int active;		/* a request's headers came: not idle */
	uint32_t addr;		/* the peer's IPv4 address */
	struct conn *prev, *next;
};

/* Tokens recently checked: a revocation takes effect within TK_TTL. */
#define TK_SLOTS 512
#define TK_TTL 2.0

struct tkent {
	char token[CRM_TOKEN_LEN + 1];
	double at;
	struct crm_principal who;
};

struct crm_server {
	struct crm_serve_opts o;
	struct MHD_Daemon *d;
	struct crm_api *api;
	struct metrics m;
	pthread_key_t dbkey;
	pthread_mutex_t rlmu;
	struct bucket rl[RL_SLOTS];
	pthread_mutex_t tkmu;
	struct tkent tk[TK_SLOTS];
	pthread_mutex_t ssemu;
	struct sse *streams;
	pthread_mutex_t connmu;
	struct conn *conns;
	struct inflight *inflight;	/* requests in flight per client (connmu) */
	size_t ninflight;
	/* Audit trail entries of requests, written by the watcher in one
	 * transaction once a second (AUDIT_TICK): a read never waits for a
	 * write, and the writers' lock is taken once a tick, not once a
	 * write. A kill -9 loses at most the last tick; the next start on
	 * the host says so in the trail (instance_begin). */
	pthread_mutex_t audmu;
	struct audit_ent *aud;
	size_t naud, aaud;
	double aud_flushed;
	char instance[320];	/* meta key of this running server */
	atomic_llong last_seq;
	atomic_int stop;
	/* Writes of the API, answered in order by one writer thread: a
	 * write waiting for the database's lock waits in the queue, not in a
	 * worker thread that has reads to answer. */
	pthread_mutex_t wmu;
	pthread_cond_t wcond;
	struct wjob *wq, **wtail;
	int wstop, have_writer;
	pthread_t writer;
	pthread_t watcher, hooker;
	int have_watcher, have_hooker;
	unsigned port;
	char url[96];		/* where it listens, for a person */
	double started;
};

#define AUDIT_TICK 1.0		/* seconds between writes of the trail */
#define AUDIT_MAX_QUEUE 100000	/* or sooner, when this many wait */

struct audit_ent {
	char actor[300];
	char action[16];
	char entity[64];
	char id[64];
	char path[160];
};

struct sse {
	struct crm_server *s;
	struct MHD_Connection *c;
	struct crm_principal who;
	long long cursor;
	int suspended;
	double last_write;
	struct crm_buf out;
	size_t off;
	struct sse *next;
};

struct req {
	double t0;
	enum route route;
	int status;
	int too_big;
	int close;		/* answer, then close the connection */
	int counted;		/* in its client's requests in flight */
	struct wjob *job;	/* a write handed to the writer thread */
	char client[48];	/* the client's address (behind a trusted proxy, its) */
	struct crm_buf body;
};

static void logf_(struct crm_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct crm_server *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_ctx, line);
}

/* libmicrohttpd's messages: fmt is its own, a printf format. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct crm_server *s = cls;
	char line[1024];
	size_t n;

	if (!s->o.log)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	s->o.log(s->o.log_ctx, line);
}

static void close_db(void *p)
{
	crm_api_thread_done();
	crm_store_close(p);
}

/* This thread's connection to the database, opened on first use. A busy
 * database is waited for as every tool waits (crm_store_busy_timeout;
 * crm-serve bounds it). */
static struct crm_store *thread_db(struct crm_server *s, struct crm_err *e)
{
	struct crm_store *db = pthread_getspecific(s->dbkey);

	if (db)
		return db;
	if (crm_store_open(&db, s->o.db_path, CRM_STORE_NOMIGRATE, e) < 0)
		return NULL;
	/* A database that went away is tried again for a second a request,
	 * then answered 503 with Retry-After: the next request tries again. */
	crm_store_set_patience(db, 1000);
	pthread_setspecific(s->dbkey, db);
	return db;
}

/* ---- responses ---------------------------------------------------------- */

static enum MHD_Result send_buf(struct MHD_Connection *c, struct req *r, int status,
				struct crm_buf *b, const char *ctype)
{
	struct MHD_Response *res;
	enum MHD_Result ret;
	size_t len = b->len;
	char *data = crm_buf_detach(b, &len);

	res = MHD_create_response_from_buffer(len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!res) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(res, "Content-Type", ctype);
	MHD_add_response_header(res, "Cache-Control", "no-store");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		MHD_add_response_header(res, "WWW-Authenticate", "Bearer realm=\"crm\"");
	if (status == 429 || status == 503)
		MHD_add_response_header(res, "Retry-After", "1");
	if (r->close)
		MHD_add_response_header(res, "Connection", "close");
	r->status = status;
	ret = MHD_queue_response(c, (unsigned)status, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct req *r, int status,
				  const char *code, const char *msg)
{
	struct crm_api_res rs;
	enum MHD_Result ret;

	crm_buf_init(&rs.body, 0);
	crm_api_error(&rs, status, code, "%s", msg);
	ret = send_buf(c, r, status, &rs.body, "application/json");
	crm_buf_release(&rs.body);
	return ret;
}

/* The database is away or busy: nothing was written; the client may try
 * again (Retry-After comes with every 503). */
static enum MHD_Result send_unavailable(struct MHD_Connection *c, struct req *r, const char *why)
{
	char msg[CRM_ERR_MAX + 80];

	snprintf(msg, sizeof(msg), "the database is busy or away; nothing was written; try again (%s)", why);
	return send_error(c, r, 503, "unavailable", msg);
}

/* ---- metrics ------------------------------------------------------------ */

static void count(struct crm_server *s, struct req *r)
{
	double secs = crm_now() - r->t0;
	size_t k = NCODES - 1, b = 0;

	for (size_t i = 0; i + 1 < NCODES; i++)
		if (codes[i] == r->status)
			k = i;
	atomic_fetch_add(&s->m.count[r->route][k], 1);
	while (b < NBUCKETS && secs > buckets[b])
		b++;
	atomic_fetch_add(&s->m.bucket[r->route][b], 1);
	atomic_fetch_add(&s->m.sum_us[r->route], (unsigned long)(secs * 1e6));
}

/* One metric without labels, with its HELP and TYPE lines. */
static void metric(struct crm_buf *b, const char *name, const char *type, const char *help,
		   double v)
{
	crm_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name, v);
}

static void metrics_text(struct crm_server *s, struct crm_buf *b)
{
	crm_buf_adds(b, "# HELP crm_http_requests_total Requests answered, by route and status.\n"
		     "# TYPE crm_http_requests_total counter\n");
	for (int r = 0; r < R_N; r++)
		for (size_t k = 0; k < NCODES; k++) {
			unsigned long n = atomic_load(&s->m.count[r][k]);

			if (!n)
				continue;
			if (codes[k])
				crm_buf_addf(b, "crm_http_requests_total{route=\"%s\",code=\"%d\"} %lu\n",
					     route_names[r], codes[k], n);
			else
				crm_buf_addf(b, "crm_http_requests_total{route=\"%s\",code=\"other\"} %lu\n",
					     route_names[r], n);
		}
	crm_buf_adds(b, "# HELP crm_http_request_duration_seconds Time from the request to the response.\n"
		     "# TYPE crm_http_request_duration_seconds histogram\n");
	for (int r = 0; r < R_N; r++) {
		unsigned long cum = 0;

		for (size_t k = 0; k <= NBUCKETS; k++)
			cum += atomic_load(&s->m.bucket[r][k]);
		if (!cum)
			continue;
		cum = 0;
		for (size_t k = 0; k <= NBUCKETS; k++) {
			cum += atomic_load(&s->m.bucket[r][k]);
			if (k < NBUCKETS)
				crm_buf_addf(b, "crm_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
					     route_names[r], buckets[k], cum);
			else
				crm_buf_addf(b, "crm_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
					     route_names[r], cum);
		}
		crm_buf_addf(b, "crm_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			     route_names[r], (double)atomic_load(&s->m.sum_us[r]) / 1e6);
		crm_buf_addf(b, "crm_http_request_duration_seconds_count{route=\"%s\"} %lu\n",
			     route_names[r], cum);
	}
	metric(b, "crm_db_busy_retries_total", "counter", "Waits for an SQLite database's lock.",
	       (double)crm_store_busy_waits());
	metric(b, "crm_leads_top_builds_total", "counter",
	       "Answers of /v1/leads/top built rather than served from the cache (at most 1 s old).",
	       (double)crm_api_top_builds(s->api));
	metric(b, "crm_http_rate_limited_total", "counter", "Requests refused with 429.",
	       (double)atomic_load(&s->m.rate_limited));
	metric(b, "crm_http_idle_closed_total", "counter",
	       "Idle connections closed to make room for new ones (near the connection limit).",
	       (double)atomic_load(&s->m.idle_shut));
	{
		unsigned long n = 0;

		pthread_mutex_lock(&s->connmu);
		for (size_t i = 0; i < s->ninflight; i++)
			n += s->inflight[i].n;
		pthread_mutex_unlock(&s->connmu);
		metric(b, "crm_http_client_requests_in_flight", "gauge",
		       "Requests under way that count towards --max-active-per-ip.", (double)n);
	}
	metric(b, "crm_http_client_busy_total", "counter",
	       "Requests refused with 503: their client had --max-active-per-ip in flight.",
	       (double)atomic_load(&s->m.too_active));
	metric(b, "crm_http_connections", "gauge", "Open connections.", (double)atomic_load(&s->m.conns));
	metric(b, "crm_event_streams", "gauge", "Open event streams.", (double)atomic_load(&s->m.streams));
	metric(b, "crm_events_last_seq", "gauge", "Sequence of the newest event in the log.",
	       (double)atomic_load(&s->last_seq));
	metric(b, "crm_uptime_seconds", "gauge", "Seconds since the server started.", crm_now() - s->started);
}

/* ---- rate limits -------------------------------------------------------- */

/* May the token make a request now? Refills rate per second up to burst. */
static int rate_ok(struct crm_server *s, const char *id)
{
	struct bucket *b;
	double now = crm_now();
	int ok;

	if (s->o.rate <= 0)
		return 1;
	b = &s->rl[crm_strhash(id) % RL_SLOTS];
	pthread_mutex_lock(&s->rlmu);
	if (strcmp(b->id, id)) {
		snprintf(b->id, sizeof(b->id), "%s", id);
		b->tokens = s->o.burst;
		b->at = now;
	}
	b->tokens += (now - b->at) * s->o.rate;
	if (b->tokens > s->o.burst)
		b->tokens = s->o.burst;
	b->at = now;
	ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	pthread_mutex_unlock(&s->rlmu);
	return ok;
}

/* The principal of token, from the cache or the database; as crm_token_check. */
static int check_token(struct crm_server *s, struct crm_store *db, const char *token,
		       struct crm_principal *who, const char **why, struct crm_err *e)
{
	struct tkent *k;
	double now = crm_now();
	int rc;

	k = &s->tk[crm_strhash(token) % TK_SLOTS];
	pthread_mutex_lock(&s->tkmu);
	if (!strcmp(k->token, token) && now - k->at < TK_TTL) {
		*who = k->who;
		pthread_mutex_unlock(&s->tkmu);
		*why = NULL;
		return 1;
	}
	pthread_mutex_unlock(&s->tkmu);
	rc = crm_token_check(db, token, who, why, e);
	if (rc == 1 && strlen(token) == CRM_TOKEN_LEN) {
		pthread_mutex_lock(&s->tkmu);
		memcpy(k->token, token, CRM_TOKEN_LEN + 1);
		k->who = *who;
		k->at = now;
		pthread_mutex_unlock(&s->tkmu);
	}
	return rc;
}

/* ---- the event stream --------------------------------------------------- */

/* Append the events after st->cursor that st's reader may see. */
static int sse_fill(struct sse *st, struct crm_store *db)
{
	struct crm_err e = { 0 };
	struct crm_stmt *q;
	int rc, n = 0;

	if (!(q = crm_store_events(db, st->cursor, NULL, NULL, 200, &e)))
		return -1;
	while ((rc = crm_stmt_step(q, &e)) == 1) {
		long long seq = crm_stmt_int64(q, 0);
		const char *entity = crm_stmt_text(q, 2);
		const char *eid = crm_stmt_text(q, 3);
		const char *op = crm_stmt_text(q, 4);
		const char *payload = crm_stmt_text(q, 5);

		st->cursor = seq;
		n++;
		if (crm_api_visible(db, &st->who, entity, eid) != 1)
			continue;
		crm_buf_addf(&st->out, "id: %lld\nevent: %s.%s\ndata: {\"seq\":%lld,\"at\":\"%s\","
			     "\"entity\":\"%s\",\"id\":\"%s\",\"op\":\"%s\",\"payload\":%s}\n\n",
			     seq, entity, op, seq, crm_stmt_text(q, 1), entity, eid, op,
			     payload ? payload : "null");
	}
	crm_store_stmt_done(q);
	return rc == 0 ? n : -1;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *st = cls;
	struct crm_server *s = st->s;
	struct crm_err e = { 0 };
	struct crm_store *db;
	size_t n;

	(void)pos;
	if (atomic_load(&s->stop))
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (st->off == st->out.len) {
		crm_buf_reset(&st->out);
		st->off = 0;
		/* Whole pages of events the reader may not see are skipped. A
		 * database away is no end of the stream: it waits, and goes
		 * on from its cursor when the next wake-up finds it back. */
		db = thread_db(s, &e);
		for (int k = 0; db && k < 50 && !st->out.len; k++) {
			int got = sse_fill(st, db);

			if (got <= 0)
				break;
		}
		if (!st->out.len && crm_now() - st->last_write >= 15)
			crm_buf_adds(&st->out, ": keep-alive\n\n");
		if (!st->out.len) {
			pthread_mutex_lock(&s->ssemu);
			st->suspended = 1;
			MHD_suspend_connection(st->c);
			pthread_mutex_unlock(&s->ssemu);
			return 0;
		}
	}
	n = st->out.len - st->off;
	if (n > max)
		n = max;
	memcpy(buf, st->out.data + st->off, n);
	st->off += n;
	st->last_write = crm_now();
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *st = cls;
	struct crm_server *s = st->s;

	pthread_mutex_lock(&s->ssemu);
	for (struct sse **p = &s->streams; *p; p = &(*p)->next)
		if (*p == st) {
			*p = st->next;
			break;
		}
	pthread_mutex_unlock(&s->ssemu);
	atomic_fetch_sub(&s->m.streams, 1);
	crm_buf_release(&st->out);
	free(st);
}

static enum MHD_Result start_stream(struct crm_server *s, struct MHD_Connection *c,
				    struct req *r, const struct crm_principal *who)
{
	const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	struct MHD_Response *res;
	struct sse *st;
	enum MHD_Result ret;
	char *end;

	if (!last)
		last = since;
	st = calloc(1, sizeof(*st));
	if (!st)
		return send_error(c, r, 500, "internal", "out of memory");
	st->s = s;
	st->c = c;
	st->who = *who;
	st->last_write = crm_now();
	crm_buf_init(&st->out, 0);
	if (last) {
		st->cursor = strtoll(last, &end, 10);
		if (end == last || *end || st->cursor < 0) {
			crm_buf_release(&st->out);
			free(st);
			return send_error(c, r, 400, "bad_parameter", "Last-Event-ID: want an event sequence number");
		}
	} else {
		st->cursor = atomic_load(&s->last_seq);
	}
	/* A comment first, so the client sees the stream open at once. */
	crm_buf_adds(&st->out, ": crm event stream\nretry: 2000\n\n");
	res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, st, sse_free);
	if (!res) {
		crm_buf_release(&st->out);
		free(st);
		return MHD_NO;
	}
	pthread_mutex_lock(&s->ssemu);
	st->next = s->streams;
	s->streams = st;
	pthread_mutex_unlock(&s->ssemu);
	atomic_fetch_add(&s->m.streams, 1);
	MHD_add_response_header(res, "Content-Type", "text/event-stream");
	MHD_add_response_header(res, "Cache-Control", "no-store");
	MHD_add_response_header(res, "X-Accel-Buffering", "no");
	r->status = 200;
	ret = MHD_queue_response(c, 200, res);
	MHD_destroy_response(res);
	return ret;
}

/* Resume the streams that are behind the log, or owe a keep-alive. */
static void wake_streams(struct crm_server *s, int all)
{
	long long last = atomic_load(&s->last_seq);
	double now = crm_now();

	pthread_mutex_lock(&s->ssemu);
	for (struct sse *st = s->streams; st; st = st->next)
		if (st->suspended && (all || st->cursor < last || now - st->last_write >= 15)) {
			st->suspended = 0;
			MHD_resume_connection(st->c);
		}
	pthread_mutex_unlock(&s->ssemu);
}

/*
 * A request must arrive whole within the timeout: a client that trickles
 * its headers or body a byte at a time (slowloris) is not idle, so the
 * library's idle timeout never fires. Its socket is shut down, and the
 * library then closes the connection as one the peer ended.
 */
static void reap(struct crm_server *s)
{
	double now = crm_now();

	pthread_mutex_lock(&s->connmu);
	for (struct conn *k = s->conns; k; k = k->next)
		if (!k->busy && now - k->since > s->o.timeout) {
			shutdown(k->fd, SHUT_RDWR);
			k->since = 1e300;
		}
	pthread_mutex_unlock(&s->connmu);
}

/* Queue an audit entry for request path by who: reads of a person's
 * data, and every change. */
static void audit_queue(struct crm_server *s, const struct crm_principal *who,
			const char *method, const char *path, const struct crm_api_res *rs)
{
	struct audit_ent *a;
	const char *act;
	char seg[3][64] = { "", "", "" };

	if (rs->status >= 300)
		return;
	if (!strcmp(method, "GET"))
		act = rs->subject_read ? "api-read" : NULL;
	else
		act = !strcmp(method, "POST") ? "api-create" : !strcmp(method, "PATCH") ? "api-update" :
		      !strcmp(method, "DELETE") ? "api-delete" : NULL;
	if (!act)
		return;
	sscanf(path, "/v1/%63[^/]/%63[^/]/%63s", seg[0], seg[1], seg[2]);
	if (!seg[1][0] && !strcmp(method, "POST") && rs->body.data) {	/* the new id */
		const char *p = strstr(rs->body.data, "\"id\":\"");

		if (p)
			sscanf(p + 6, "%63[^\"]", seg[1]);
	}
	pthread_mutex_lock(&s->audmu);
	if (s->naud == s->aaud) {
		size_t na = s->aaud ? s->aaud * 2 : 256;
		struct audit_ent *p = realloc(s->aud, na * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&s->audmu);
			logf_(s, "audit trail: out of memory, an entry is lost");
			return;
		}
		s->aud = p;
		s->aaud = na;
	}
	a = &s->aud[s->naud++];
	snprintf(a->actor, sizeof(a->actor), "token:%s/%s", who->name, who->user);
	snprintf(a->action, sizeof(a->action), "%s", act);
	snprintf(a->entity, sizeof(a->entity), "%s", seg[0]);
	snprintf(a->id, sizeof(a->id), "%s", seg[1]);
	snprintf(a->path, sizeof(a->path), "%s", path);
	pthread_mutex_unlock(&s->audmu);
}

/*
 * Entries the database could not take (it is away) go back before the
 * ones that came since, up to a million; 0, or -1 when they would not
 * fit. q is taken.
 */
static int audit_requeue(struct crm_server *s, struct audit_ent *q, size_t n)
{
	struct audit_ent *all;
	int rc = -1;

	pthread_mutex_lock(&s->audmu);
	if (n + s->naud <= 1000000 && (all = malloc((n + s->naud + 1) * sizeof(*all)))) {
		memcpy(all, q, n * sizeof(*q));
		if (s->naud)
			memcpy(all + n, s->aud, s->naud * sizeof(*all));
		free(s->aud);
		s->aud = all;
		s->naud += n;
		s->aaud = s->naud + 1;
		free(q);
		rc = 0;
	}
	pthread_mutex_unlock(&s->audmu);
	return rc;
}

static void audit_flush(struct crm_server *s, struct crm_store *db)
{
	struct audit_ent *q;
	struct crm_trail_entry *v;
	struct crm_err e = { 0 };
	struct crm_buf d;
	size_t n, *off;

	pthread_mutex_lock(&s->audmu);
	q = s->aud;
	n = s->naud;
	s->aud = NULL;
	s->naud = s->aaud = 0;
	pthread_mutex_unlock(&s->audmu);
	if (!n)
		return;
	crm_buf_init(&d, 0);
	v = calloc(n, sizeof(*v));
	off = calloc(n, sizeof(*off));
	/* the details, one after another in d, each ending in its NUL */
	for (size_t i = 0; v && off && i < n; i++) {
		off[i] = d.len;
		crm_buf_adds(&d, "{\"path\":");
		crm_json_str(&d, q[i].path, strlen(q[i].path));
		crm_buf_add(&d, "}", 2);
	}
	if (!v || !off || !d.data) {
		logf_(s, "audit trail: out of memory (%zu entries lost)", n);
	} else {
		for (size_t i = 0; i < n; i++)
			v[i] = (struct crm_trail_entry){ q[i].actor, q[i].action, q[i].entity,
							 q[i].id[0] ? q[i].id : NULL, d.data + off[i] };
		if (crm_trail_append_all(db, v, n, &e) < 0 && e.code == CRM_EUNAVAILABLE &&
		    audit_requeue(s, q, n) == 0) {
			/* kept for the next pass, in their order */
			crm_buf_release(&d);
			free(v);
			free(off);
			return;
		} else if (e.code) {
			logf_(s, "audit trail: %s (%zu entries lost)", e.msg, n);
		}
	}
	crm_buf_release(&d);
	free(v);
	free(off);
	free(q);
}

/*
 * This server's mark in meta ("serve.open.HOST.PID" = when it started),
 * removed by a clean stop. A mark of this host whose process is gone
 * ended without one: the trail says so, and that the reads of its last
 * tick may be missing.
 */
static void instance_begin(struct crm_server *s, struct crm_store *db)
{
	char host[256] = "localhost", prefix[300], now[32], like[310];
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	struct { char key[300], since[40]; } *gone = NULL;
	size_t ngone = 0;

	gethostname(host, sizeof(host) - 1);
	snprintf(prefix, sizeof(prefix), "serve.open.%s.", host);
	snprintf(like, sizeof(like), "%s%%", prefix);
	if (crm_store_prepare(db, "SELECT key, value FROM meta WHERE key LIKE ?1", 0, &st, &e) == 0) {
		crm_stmt_bind_text_ref(st, 1, like, (size_t)-1);
		while (crm_stmt_step(st, &e) > 0) {
			const char *k = crm_stmt_text(st, 0), *v = crm_stmt_text(st, 1);
			char *end;
			long pid;
			void *p;

			if (strncmp(k, prefix, strlen(prefix)))
				continue;
			pid = strtol(k + strlen(prefix), &end, 10);
			if (*end || pid <= 0 || !(kill((pid_t)pid, 0) < 0 && errno == ESRCH))
				continue;
			if (!(p = realloc(gone, (ngone + 1) * sizeof(*gone))))
				break;
			gone = p;
			snprintf(gone[ngone].key, sizeof(gone[0].key), "%s", k);
			snprintf(gone[ngone++].since, sizeof(gone[0].since), "%s", v ? v : "");
		}
		crm_stmt_free(st);
	}
	for (size_t i = 0; i < ngone; i++) {
		const char *p[1] = { gone[i].key }, *instance = gone[i].key + strlen("serve.open.");
		char detail[512];

		snprintf(detail, sizeof(detail), "{\"started\":\"%s\",\"lost\":\"the reads it answered in its "
			 "last %.0f s, if any, are not in the trail\"}", gone[i].since, AUDIT_TICK);
		if (crm_store_begin(db, &e) < 0)
			break;
		if (crm_trail_append(db, "crm-serve", "serve-unclean-stop", "crm-serve", instance, detail, &e) < 0 ||
		    crm_store_run(db, "DELETE FROM meta WHERE key = ?1", p, 1, &e) < 0 ||
		    crm_store_commit(db, &e) < 0) {
			crm_store_rollback(db);
			break;
		}
		logf_(s, "audit trail: the crm-serve that ran as %s did not stop cleanly; said so in the trail",
		      instance);
	}
	free(gone);
	if (e.code)
		logf_(s, "audit trail: %s", e.msg);
	crm_err_clear(&e);
	snprintf(s->instance, sizeof(s->instance), "%s%ld", prefix, (long)getpid());
	crm_timestamp(now, sizeof(now));
	if (crm_store_set_meta(db, s->instance, now, &e) < 0) {
		logf_(s, "audit trail: %s", e.msg);
		s->instance[0] = '\0';
	}
}

static void *watcher(void *arg)
{
	struct crm_server *s = arg;
	struct crm_err e = { 0 };
	struct crm_store *db = NULL;
	long long cursor = -1;

	int away = 0;

	if (crm_store_open(&db, s->o.db_path, CRM_STORE_NOMIGRATE, &e) < 0 ||
	    crm_store_listen(db, &e) < 0) {
		logf_(s, "event watcher: %s", e.msg);
		crm_store_close(db);
		return NULL;
	}
	crm_store_set_patience(db, 1000);
	while (!atomic_load(&s->stop)) {
		struct crm_stmt *q;

		if (cursor < 0 && (q = crm_store_stmt(db, "SELECT coalesce(max(seq), 0) FROM events", &e))) {
			if (crm_stmt_step(q, &e) > 0)
				cursor = crm_stmt_int64(q, 0);
			crm_store_stmt_done(q);
		}
		/* New events: what they touch leaves the caches, then the
		 * streams behind them wake. */
		if (cursor >= 0 && (q = crm_store_stmt(db, "SELECT seq, entity, entity_id FROM events "
						    "WHERE seq > ?1 ORDER BY seq LIMIT 5000", &e))) {
			crm_stmt_bind_int64(q, 1, cursor);
			while (crm_stmt_step(q, &e) > 0) {
				cursor = crm_stmt_int64(q, 0);
				crm_api_invalidate(s->api, db, crm_stmt_text(q, 1),
						   crm_stmt_text(q, 2));
			}
			crm_store_stmt_done(q);
			atomic_store(&s->last_seq, cursor);
		}
		wake_streams(s, 0);
		reap(s);
		if (crm_now() - s->aud_flushed >= AUDIT_TICK || s->naud >= AUDIT_MAX_QUEUE) {
			audit_flush(s, db);
			s->aud_flushed = crm_now();
		}
		/* Woken by a commit on PostgreSQL (another server's too);
		 * SQLite's wait is the whole tenth of a second. */
		/* Said once when the database goes away, once when it is
		 * back; the streams resume from their cursors. */
		if (crm_store_wait(db, 100, &e) < 0) {
			if (!away++)
				logf_(s, "event watcher: %s; trying again", e.msg);
			crm_err_clear(&e);
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
		} else if (away) {
			logf_(s, "event watcher: the database is back");
			away = 0;
		}
		crm_err_clear(&e);
	}
	crm_store_close(db);
	return NULL;
}

/* ---- webhooks ------------------------------------------------------------ */

static void *hooker(void *arg)
{
	struct crm_server *s = arg;
	struct crm_err e = { 0 };
	struct crm_hooks_opts ho = { 0 };
	struct crm_store *db = NULL;

	ho.backoff = s->o.hook_backoff;
	ho.attempts = s->o.hook_attempts;
	ho.stop = &s->stop;
	if (crm_store_open(&db, s->o.db_path, CRM_STORE_NOMIGRATE, &e) < 0) {
		logf_(s, "webhooks: %s", e.msg);
		return NULL;
	}
	while (!atomic_load(&s->stop)) {
		struct crm_hooks_stats hs = { 0 };
		struct timespec ts = { 0, 500 * 1000 * 1000 };

		if (crm_hooks_pass(db, &ho, &hs, &e) < 0) {
			logf_(s, "webhooks: %s", e.msg);
			crm_err_clear(&e);
		}
		for (size_t i = 0; i < hs.nfailures && i < CRM_HOOKS_MAXFAIL; i++)
			logf_(s, "webhook: %s", hs.failures[i]);
		if (!hs.tried)
			nanosleep(&ts, NULL);
	}
	crm_store_close(db);
	return NULL;
}

/* ---- requests ----------------------------------------------------------- */

static enum route route_of(const char *url)
{
	static const struct {
		const char *path;
		enum route r;
	} exact[] = {
		{ "/", R_PAGE }, { "/v1/health", R_HEALTH }, { "/metrics", R_METRICS },
		{ "/v1/events", R_EVENTS }, { "/v1/leads/top", R_LEADS }, { "/v1/calls", R_CALLS },
	}, prefix[] = {
		{ "/v1/contacts", R_CONTACTS }, { "/v1/accounts", R_ACCOUNTS },
		{ "/v1/deals", R_DEALS }, { "/v1/interactions", R_INTERACTIONS },
		{ "/v1/tasks", R_TASKS },
	};

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(url, exact[i].path))
			return exact[i].r;
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
		size_t n = strlen(prefix[i].path);
		const char *rest = url + n;

		if (strncmp(url, prefix[i].path, n))
			continue;
		if (!*rest)
			return prefix[i].r;
		if (*rest == '/' && (strstr(rest, "/explain") || strstr(rest, "/next-action")))
			return R_EXPLAIN;
		return R_RECORD;
	}
	return R_OTHER;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *k,
				   const char *v)
{
	struct crm_api_req *rq = cls;

	(void)kind;
	if (rq->nargs == CRM_API_MAXARGS)
		return MHD_NO;
	rq->args[rq->nargs].k = k;
	rq->args[rq->nargs].v = v;
	rq->nargs++;
	return MHD_YES;
}

/* The bearer token of the request: Authorization header, else cookie. */
static const char *bearer(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	if (h) {
		if (!strncasecmp(h, "Bearer ", 7))
			return h + 7;
		return "";
	}
	return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "crm_token");
}

static enum MHD_Result health(struct crm_server *s, struct MHD_Connection *c, struct req *r)
{
	struct crm_err e = { 0 };
	struct crm_store *db = thread_db(s, &e);
	struct crm_buf b;
	char v[64] = "";

	crm_buf_init(&b, 0);
	if (!db || crm_store_text1(db, "SELECT coalesce(max(seq), 0) FROM events", NULL,
				v, sizeof(v), &e) < 0) {
		/* up, but the database is not: a balancer takes this node out */
		crm_buf_addf(&b, "{\"status\":\"degraded\",\"version\":\"%s\",\"database\":", CRM_VERSION);
		crm_json_str(&b, e.msg, strlen(e.msg));
		crm_buf_addf(&b, ",\"uptime\":%.0f,\"streams\":%ld}\n", crm_now() - s->started,
			     atomic_load(&s->m.streams));
		return send_buf(c, r, 503, &b, "application/json");
	}
	crm_buf_addf(&b, "{\"status\":\"ok\",\"version\":\"%s\",\"schema\":%d,\"last_event\":%s,"
		     "\"uptime\":%.0f,\"streams\":%ld}\n", CRM_VERSION, crm_store_schema_version(), v,
		     crm_now() - s->started, atomic_load(&s->m.streams));
	return send_buf(c, r, 200, &b, "application/json");
}

/*
 * A connection's state: active (a request's headers came) and busy (it is
 * being answered). Back to idle, its clock restarts.
 */
static void conn_state(struct crm_server *s, struct MHD_Connection *c, int active, int busy)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;

	if (!k)
		return;
	pthread_mutex_lock(&s->connmu);
	k->active = active;
	k->busy = busy;
	if (!active)
		k->since = crm_now();
	pthread_mutex_unlock(&s->connmu);
}

/* ---- clients ------------------------------------------------------------ */

/* Is a (dotted IPv4) one of the trusted proxies of the list? */
static int trusted(const char *list, const char *a)
{
	size_t n = strlen(a);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t k = end ? (size_t)(end - p) : strlen(p);

		while (k && *p == ' ')
			p++, k--;
		if (k == n && !strncmp(p, a, n))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/*
 * The client of a request into out: the peer's address; when the peer is
 * a trusted proxy, the last address of X-Forwarded-For that is not one
 * (the one the nearest trusted proxy saw; the earlier ones the client
 * may have written itself).
 */
static void client_of(struct crm_server *s, struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *xff;

	snprintf(out, n, "-");
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
			  out, (socklen_t)n);
	if (!s->o.trusted_proxy || !trusted(s->o.trusted_proxy, out) ||
	    !(xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For")))
		return;
	for (size_t end = strlen(xff); end > 0;) {
		size_t start = end;
		char a[48];

		while (start > 0 && xff[start - 1] != ',')
			start--;
		while (start < end && xff[start] == ' ')
			start++;
		snprintf(a, sizeof(a), "%.*s", (int)(end - start), xff + start);
		while (*a && a[strlen(a) - 1] == ' ')
			a[strlen(a) - 1] = '\0';
		if (*a && !trusted(s->o.trusted_proxy, a)) {
			snprintf(out, n, "%s", a);
			return;
		}
		end = start ? start - 1 : 0;
	}
}

/* One more request in flight for r's client: 0, or -1 when it has
 * max_active_per_ip already (not counted). */
static int inflight_add(struct crm_server *s, struct req *r)
{
	struct inflight *f = NULL;
	int rc = 0;

	pthread_mutex_lock(&s->connmu);
	for (size_t i = 0; i < s->ninflight && !f; i++)
		if (!strcmp(s->inflight[i].addr, r->client))
			f = &s->inflight[i];
	if (!f) {
		struct inflight *p = realloc(s->inflight, (s->ninflight + 1) * sizeof(*p));

		if (p) {
			s->inflight = p;
			f = &p[s->ninflight++];
			snprintf(f->addr, sizeof(f->addr), "%s", r->client);
			f->n = 0;
		}
	}
	if (f && f->n >= s->o.max_active_per_ip) {
		rc = -1;
	} else if (f) {
		f->n++;
		r->counted = 1;
	}
	pthread_mutex_unlock(&s->connmu);
	return rc;
}

static void inflight_done(struct crm_server *s, struct req *r)
{
	pthread_mutex_lock(&s->connmu);
	for (size_t i = 0; i < s->ninflight; i++)
		if (!strcmp(s->inflight[i].addr, r->client)) {
			/* a client with nothing in flight leaves the list */
			if (--s->inflight[i].n == 0)
				s->inflight[i] = s->inflight[--s->ninflight];
			break;
		}
	pthread_mutex_unlock(&s->connmu);
}

/* ---- framing ------------------------------------------------------------ */

struct framing {
	int ncl, nte, bad;	/* Content-Length, Transfer-Encoding headers; bad bytes */
	unsigned long long cl;
	int cl_conflict, cl_invalid;
	char te[64];
	int host;
};

static enum MHD_Result frame_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    size_t klen, const char *value, size_t vlen)
{
	struct framing *f = cls;

	(void)kind;
	if (strlen(key) != klen || memchr(key, '\r', klen) ||
	    (value && (strlen(value) != vlen || memchr(value, '\r', vlen) || memchr(value, '\n', vlen))))
		f->bad = 1;
	if (!strcasecmp(key, "Host"))
		f->host = 1;
	if (!strcasecmp(key, "Content-Length") && value) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(value, &end, 10);
		if (!*value || *end || errno || *value == '-' || *value == '+' || *value == ' ')
			f->cl_invalid = 1;
		if (f->ncl++ && v != f->cl)
			f->cl_conflict = 1;
		f->cl = v;
	}
	if (!strcasecmp(key, "Transfer-Encoding")) {
		f->nte++;
		snprintf(f->te, sizeof(f->te), "%s", value ? value : "");
	}
	return MHD_YES;
}

/*
 * Refuse what request smuggling and stalls are made of, before any body
 * is read: bare CR or NUL in a header, conflicting or malformed
 * Content-Length, Content-Length beside Transfer-Encoding, a coding other
 * than chunked, HTTP/1.1 without Host, and a declared body over the
 * limit. Returns 0, or the status with *msg; the connection is then
 * closed after the answer.
 */
static int frame_check(struct MHD_Connection *c, const char *version, size_t max_body,
		       const char **msg)
{
	struct framing f = { 0 };

	MHD_get_connection_values_n(c, MHD_HEADER_KIND, frame_header, &f);
	if (f.bad)
		return *msg = "a header holds a bare CR, LF or NUL", 400;
	if (f.cl_invalid)
		return *msg = "Content-Length is not a number", 400;
	if (f.cl_conflict)
		return *msg = "two different Content-Length headers", 400;
	if (f.nte && f.ncl)
		return *msg = "Content-Length and Transfer-Encoding together", 400;
	if (f.nte > 1 || (f.nte && strcasecmp(f.te, "chunked")))
		return *msg = "the only transfer coding taken is chunked", 400;
	if (!f.host && version && !strcmp(version, MHD_HTTP_VERSION_1_1))
		return *msg = "HTTP/1.1 without Host", 400;
	if (f.ncl && f.cl > max_body)
		return *msg = "the body is larger than the server takes", 413;
	return 0;
}

/* ---- the writer ---------------------------------------------------------- */

/* A write request, suspended while the writer answers it. It holds its
 * own copy of the request: the connection's may go before it is done. */
struct wjob {
	struct MHD_Connection *c;
	struct crm_principal who;
	struct crm_api_req rq;
	struct crm_api_res rs;
	struct crm_buf copy;	/* method, path, arguments and body */
	int done;		/* answered: the connection may send it */
	int orphan;		/* its connection went first */
	int audited;		/* in the trail's queue */
	struct wjob *next;
};

/* The write is in the trail whether or not its answer reached anyone. */
static void wjob_free(struct crm_server *s, struct wjob *j)
{
	if (!j->audited)
		audit_queue(s, &j->who, j->rq.method, j->rq.path, &j->rs);
	crm_buf_release(&j->rs.body);
	crm_buf_release(&j->copy);
	free(j);
}

static void *writer(void *arg)
{
	struct crm_server *s = arg;

	pthread_mutex_lock(&s->wmu);
	for (;;) {
		struct wjob *j = s->wq;
		struct crm_store *db;
		struct crm_err e = { 0 };

		if (!j) {
			if (s->wstop)
				break;
			pthread_cond_wait(&s->wcond, &s->wmu);
			continue;
		}
		if (!(s->wq = j->next))
			s->wtail = &s->wq;
		pthread_mutex_unlock(&s->wmu);
		crm_buf_init(&j->rs.body, 0);
		if (!(db = thread_db(s, &e))) {
			char msg[CRM_ERR_MAX + 80];

			snprintf(msg, sizeof(msg), "the database is busy or away; nothing was written; try again (%s)",
				 e.msg);
			crm_api_error(&j->rs, 503, "unavailable", "%s", msg);
		} else {
			crm_api_handle(s->api, db, &j->rq, &j->rs);
		}
		pthread_mutex_lock(&s->wmu);
		if (j->orphan) {
			pthread_mutex_unlock(&s->wmu);
			wjob_free(s, j);
			pthread_mutex_lock(&s->wmu);
		} else {
			j->done = 1;
			MHD_resume_connection(j->c);
		}
	}
	pthread_mutex_unlock(&s->wmu);
	return NULL;
}

/* Hand a write to the writer: 0 queued (the connection suspended), -1
 * when there is no writer (stopping): answer it here. */
static int writer_queue(struct crm_server *s, struct MHD_Connection *c, struct req *r,
			const struct crm_principal *who, const struct crm_api_req *rq)
{
	struct wjob *j;

	size_t off[2 + 2 * CRM_API_MAXARGS], k = 0;
	int bad = 0;

	if (!s->have_writer || !(j = calloc(1, sizeof(*j))))
		return -1;
	j->c = c;
	j->who = *who;
	j->rq = *rq;
	j->rq.who = &j->who;
	/* Its own copy of the strings, each NUL-terminated, one buffer. */
	crm_buf_init(&j->copy, 0);
	off[k++] = j->copy.len;
	bad |= crm_buf_add(&j->copy, rq->method, strlen(rq->method) + 1) < 0;
	off[k++] = j->copy.len;
	bad |= crm_buf_add(&j->copy, rq->path, strlen(rq->path) + 1) < 0;
	for (size_t a = 0; a < rq->nargs; a++) {
		off[k++] = j->copy.len;
		bad |= crm_buf_add(&j->copy, rq->args[a].k, strlen(rq->args[a].k) + 1) < 0;
		off[k++] = j->copy.len;
		bad |= crm_buf_add(&j->copy, rq->args[a].v ? rq->args[a].v : "", strlen(rq->args[a].v ? rq->args[a].v : "") + 1) < 0;
	}
	off[k] = j->copy.len;
	bad |= crm_buf_add(&j->copy, rq->body ? rq->body : "", rq->body ? rq->blen : 0) < 0 ||
	       crm_buf_addc(&j->copy, '\0') < 0;
	if (bad) {
		crm_buf_release(&j->copy);
		free(j);
		return -1;
	}
	j->rq.method = j->copy.data + off[0];
	j->rq.path = j->copy.data + off[1];
	for (size_t a = 0; a < rq->nargs; a++) {
		j->rq.args[a].k = j->copy.data + off[2 + 2 * a];
		j->rq.args[a].v = rq->args[a].v ? j->copy.data + off[3 + 2 * a] : NULL;
	}
	j->rq.body = rq->body ? j->copy.data + off[k] : NULL;
	pthread_mutex_lock(&s->wmu);
	if (s->wstop) {
		pthread_mutex_unlock(&s->wmu);
		crm_buf_release(&j->copy);
		free(j);
		return -1;
	}
	r->job = j;
	MHD_suspend_connection(c);
	*s->wtail = j;
	s->wtail = &j->next;
	pthread_cond_signal(&s->wcond);
	pthread_mutex_unlock(&s->wmu);
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct crm_server *s = cls;
	struct req *r = *con_cls;
	struct crm_principal who;
	struct crm_api_req rq;
	struct crm_api_res rs;
	struct crm_err e = { 0 };
	const char *token, *why;
	struct crm_store *db;
	enum MHD_Result ret;
	int rc;

	if (!r) {
		const char *msg;
		int bad;

		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		r->t0 = crm_now();
		r->route = route_of(url);
		crm_buf_init(&r->body, 0);
		*con_cls = r;
		conn_state(s, c, 1, 0);
		/* Answered now, without waiting for a body that is refused
		 * anyway or may never come. */
		if ((bad = frame_check(c, version, s->o.max_body, &msg))) {
			r->close = 1;
			return send_error(c, r, bad, bad == 413 ? "too_large" : "bad_request", msg);
		}
		client_of(s, c, r->client, sizeof(r->client));
		/* Too many at once from one client: refused with 503, the
		 * connections it has kept open. A balancer's health checks
		 * and the metrics are never refused. */
		if (s->o.max_active_per_ip && r->route != R_HEALTH && r->route != R_METRICS &&
		    inflight_add(s, r) < 0) {
			atomic_fetch_add(&s->m.too_active, 1);
			return send_error(c, r, 503, "busy",
					  "too many requests in flight from this client; try again shortly");
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && r->body.len + *upload_size > s->o.max_body) {
			r->too_big = 1;
			crm_buf_release(&r->body);
		}
		if (!r->too_big && crm_buf_add(&r->body, upload, *upload_size) < 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->job) {	/* resumed: the writer has answered */
		struct wjob *j = r->job;
		int done;

		pthread_mutex_lock(&s->wmu);
		done = j->done;
		pthread_mutex_unlock(&s->wmu);
		if (!done)
			return MHD_YES;
		r->job = NULL;
		/* Queued for the trail before the body goes (the new id is
		 * read from it). */
		audit_queue(s, &j->who, j->rq.method, j->rq.path, &j->rs);
		j->audited = 1;
		ret = send_buf(c, r, j->rs.status, &j->rs.body, "application/json");
		wjob_free(s, j);
		return ret;
	}
	conn_state(s, c, 1, 1);
	if (r->too_big)
		return send_error(c, r, 413, "too_large", "the body is larger than the server takes");
	switch (r->route) {
	case R_PAGE: {
		struct MHD_Response *res;

		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return send_error(c, r, 405, "method_not_allowed", "/ takes GET");
		res = MHD_create_response_from_buffer(strlen(crm_page_html), (void *)crm_page_html,
						      MHD_RESPMEM_PERSISTENT);
		if (!res)
			return MHD_NO;
		MHD_add_response_header(res, "Content-Type", "text/html; charset=utf-8");
		MHD_add_response_header(res, "Content-Security-Policy",
					"default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
					"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
		MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
		r->status = 200;
		ret = MHD_queue_response(c, 200, res);
		MHD_destroy_response(res);
		return ret;
	}
	case R_HEALTH:
		return health(s, c, r);
	case R_METRICS: {
		struct crm_buf b;

		crm_buf_init(&b, 0);
		metrics_text(s, &b);
		return send_buf(c, r, 200, &b, "text/plain; version=0.0.4");
	}
	default:
		break;
	}
	if (!(db = thread_db(s, &e)))
		return send_unavailable(c, r, e.msg);
	token = bearer(c);
	if (!token)
		return send_error(c, r, 401, "unauthorized", "send a token: Authorization: Bearer crm_...");
	memset(&who, 0, sizeof(who));
	rc = check_token(s, db, token, &who, &why, &e);
	if (rc < 0)
		return send_unavailable(c, r, e.msg);
	if (!rc)
		return send_error(c, r, 401, "unauthorized", why);
	if (!rate_ok(s, who.token_id)) {
		atomic_fetch_add(&s->m.rate_limited, 1);
		return send_error(c, r, 429, "rate_limited", "too many requests; slow down");
	}
	if (r->route == R_EVENTS) {
		if (strcmp(method, "GET"))
			return send_error(c, r, 405, "method_not_allowed", "/v1/events takes GET");
		return start_stream(s, c, r, &who);
	}
	if (!strcmp(method, "POST") || !strcmp(method, "PATCH")) {
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");

		/* The media type exactly: "application/jsonp" is not JSON. */
		if (!ct || strncasecmp(ct, "application/json", 16) ||
		    (ct[16] && ct[16] != ';' && ct[16] != ' ' && ct[16] != '\t'))
			return send_error(c, r, 415, "unsupported_media_type", "send the body as application/json");
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.who = &who;
	rq.body = r->body.data;
	rq.blen = r->body.len;
	if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &rq) > CRM_API_MAXARGS)
		return send_error(c, r, 400, "bad_parameter", "too many query parameters");
	if (strcmp(method, "GET") && strcmp(method, "HEAD") && writer_queue(s, c, r, &who, &rq) == 0)
		return MHD_YES;
	crm_buf_init(&rs.body, 0);
	crm_api_handle(s->api, db, &rq, &rs);
	audit_queue(s, &who, method, url, &rs);
	ret = send_buf(c, r, rs.status, &rs.body, "application/json");
	crm_buf_release(&rs.body);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct crm_server *s = cls;
	struct req *r = *con_cls;

	(void)toe;
	conn_state(s, c, 0, 0);
	if (!r)
		return;
	if (r->counted)
		inflight_done(s, r);
	if (r->job) {	/* a write whose answer was never sent */
		struct wjob *j = r->job;
		int done;

		pthread_mutex_lock(&s->wmu);
		if (!(done = j->done))
			j->orphan = 1;	/* the writer frees it */
		pthread_mutex_unlock(&s->wmu);
		if (done)
			wjob_free(s, j);
		r->job = NULL;
	}
	if (r->status) {
		count(s, r);
		if (s->o.access_log)
			logf_(s, "%s %s %d %.1f ms", *r->client ? r->client : "-", route_names[r->route],
			      r->status, 1000 * (crm_now() - r->t0));
	}
	crm_buf_release(&r->body);
	free(r);
	*con_cls = NULL;
}

/*
 * Idle connections are reclaimed under pressure only: when the server
 * nears its connection limit, a new connection shuts the oldest idle one
 * (of any address), as nginx and HAProxy do; a balancer's keep-alive
 * pool, all from one address, is left alone otherwise. With
 * max_idle_per_ip set, an address's idle connections are also capped: a
 * new one past it shuts that address's oldest idle one. Called with
 * connmu held; nconns is the connections open, this one included.
 */
static void idle_cap(struct crm_server *s, uint32_t addr, unsigned long nconns)
{
	struct conn *oldest = NULL;
	unsigned n = 0;
	int pressed = nconns + s->o.max_conns / 16 >= s->o.max_conns;

	if (!pressed && !s->o.max_idle_per_ip)
		return;
	for (struct conn *k = s->conns; k; k = k->next) {
		if ((!pressed && k->addr != addr) || k->active || k->busy || k->since > 1e299)
			continue;
		n++;
		if (!oldest || k->since < oldest->since)
			oldest = k;
	}
	if (oldest && (pressed || n >= s->o.max_idle_per_ip)) {
		shutdown(oldest->fd, SHUT_RDWR);
		oldest->since = 1e300;	/* shut: no longer counted */
		atomic_fetch_add(&s->m.idle_shut, 1);
	}
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct crm_server *s = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn *k = calloc(1, sizeof(*k));

		atomic_fetch_add(&s->m.conns, 1);
		if (!k || !ci) {
			free(k);
			return;
		}
		k->fd = ci->connect_fd;
		k->since = crm_now();
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
			k->addr = ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr.s_addr;
		pthread_mutex_lock(&s->connmu);
		idle_cap(s, k->addr, atomic_load(&s->m.conns));
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		pthread_mutex_unlock(&s->connmu);
		*socket_ctx = k;
	} else {
		struct conn *k = *socket_ctx;

		atomic_fetch_sub(&s->m.conns, 1);
		if (!k)
			return;
		pthread_mutex_lock(&s->connmu);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&s->connmu);
		free(k);
		*socket_ctx = NULL;
	}
}

/* ---- start and stop ----------------------------------------------------- */

static int parse_listen(const char *listen, struct sockaddr_in *sa, struct crm_err *e)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return crm_err_set(e, CRM_EUSAGE, "--listen '%s': want ADDRESS:PORT", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535)
		return crm_err_set(e, CRM_EUSAGE, "--listen '%s': bad port", listen);
	if (!*host || !strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return crm_err_set(e, CRM_EUSAGE, "--listen '%s': '%s' is not an IPv4 address", listen, host);
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

struct crm_server *crm_serve_start(const struct crm_serve_opts *o, struct crm_err *e)
{
	struct crm_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *di;
	int loopback;
	struct crm_store *db;

	if (!s) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	s->o = *o;
	if (!s->o.threads)
		s->o.threads = 4;
	if (!s->o.max_conns)
		s->o.max_conns = 2048;
	/* No per-address limits unless asked: behind a balancer every
	 * client has its address. */
	if (s->o.max_per_ip && s->o.max_idle_per_ip >= s->o.max_per_ip)
		s->o.max_idle_per_ip = s->o.max_per_ip > 1 ? s->o.max_per_ip - 1 : 1;
	if (!s->o.timeout)
		s->o.timeout = 15;
	if (!s->o.max_body)
		s->o.max_body = 1 << 20;
	if (s->o.burst <= 0)
		s->o.burst = 2 * s->o.rate;
	s->started = crm_now();
	if (parse_listen(o->listen, &sa, e) < 0)
		goto fail;
	loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
	if (!o->tls_cert && !loopback && !o->insecure) {
		crm_err_set(e, CRM_EUSAGE, "plain HTTP only on loopback: give --tls-cert and --tls-key, "
			    "or --insecure to serve %s without TLS", o->listen);
		goto fail;
	}
	if (o->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		crm_err_set(e, CRM_EUNAVAILABLE, "this libmicrohttpd was built without TLS");
		goto fail;
	}
	/* Bring the schema up to date once, before the threads open it. */
	if (crm_store_open(&db, o->db_path, 0, e) < 0)
		goto fail;
	instance_begin(s, db);
	crm_store_close(db);
	if (!(s->api = crm_api_new())) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto fail;
	}
	pthread_key_create(&s->dbkey, close_db);
	pthread_mutex_init(&s->rlmu, NULL);
	pthread_mutex_init(&s->tkmu, NULL);
	pthread_mutex_init(&s->ssemu, NULL);
	pthread_mutex_init(&s->connmu, NULL);
	pthread_mutex_init(&s->audmu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	pthread_cond_init(&s->wcond, NULL);
	s->wtail = &s->wq;
	if (o->tls_cert)
		flags |= MHD_USE_TLS;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_THREAD_POOL_SIZE, s->o.threads,
				MHD_OPTION_CONNECTION_LIMIT, s->o.max_conns,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->o.max_per_ip,
				MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				MHD_OPTION_STRICT_FOR_CLIENT, 1,
				o->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, o->tls_cert,
				MHD_OPTION_HTTPS_MEM_KEY, o->tls_key,
				MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
				MHD_OPTION_END);
	if (!s->d) {
		crm_err_set(e, CRM_EUNAVAILABLE, "cannot listen on %s%s", o->listen,
			    o->tls_cert ? " (or the certificate and key do not load)" : " (address in use?)");
		goto fail_threads;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : ntohs(sa.sin_port);
	{
		const char *colon = strrchr(o->listen, ':');

		snprintf(s->url, sizeof(s->url), "%s://%.*s:%u", o->tls_cert ? "https" : "http",
			 *o->listen == ':' ? 9 : (int)(colon - o->listen),
			 *o->listen == ':' ? "127.0.0.1" : o->listen, s->port);
	}
	if (pthread_create(&s->watcher, NULL, watcher, s) == 0)
		s->have_watcher = 1;
	if (pthread_create(&s->writer, NULL, writer, s) == 0)
		s->have_writer = 1;
	if (o->hooks && pthread_create(&s->hooker, NULL, hooker, s) == 0)
		s->have_hooker = 1;
	return s;
fail_threads:
	crm_api_free(s->api);
	pthread_key_delete(s->dbkey);
	pthread_mutex_destroy(&s->rlmu);
	pthread_mutex_destroy(&s->tkmu);
	pthread_mutex_destroy(&s->ssemu);
	pthread_mutex_destroy(&s->connmu);
fail:
	free(s);
	return NULL;
}

unsigned crm_serve_port(const struct crm_server *s)
{
	return s->port;
}

const char *crm_serve_url(const struct crm_server *s)
{
	return s->url;
}

void crm_serve_stop(struct crm_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	/* The writes queued are answered, then the writer ends. */
	pthread_mutex_lock(&s->wmu);
	s->wstop = 1;
	pthread_cond_signal(&s->wcond);
	pthread_mutex_unlock(&s->wmu);
	if (s->have_writer)
		pthread_join(s->writer, NULL);
	if (s->have_watcher)
		pthread_join(s->watcher, NULL);
	if (s->have_hooker)
		pthread_join(s->hooker, NULL);
	/* Streams end: each resumed reader sees stop and closes. */
	wake_streams(s, 1);
	MHD_quiesce_daemon(s->d);
	for (int i = 0; i < 50; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		pthread_mutex_lock(&s->ssemu);
		if (!s->streams) {
			pthread_mutex_unlock(&s->ssemu);
			break;
		}
		pthread_mutex_unlock(&s->ssemu);
		wake_streams(s, 1);
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->d);
	{	/* what came in after the watcher's last pass */
		struct crm_err e = { 0 };
		struct crm_store *db;

		if ((s->naud || s->instance[0]) &&
		    crm_store_open(&db, s->o.db_path, CRM_STORE_NOMIGRATE, &e) == 0) {
			const char *p[1] = { s->instance };

			audit_flush(s, db);
			if (s->instance[0] && !s->naud)	/* all written: a clean stop */
				crm_store_run(db, "DELETE FROM meta WHERE key = ?1", p, 1, &e);
			crm_store_close(db);
		}
		free(s->aud);
	}
	pthread_mutex_destroy(&s->audmu);
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->wcond);
	crm_api_free(s->api);
	pthread_key_delete(s->dbkey);
	pthread_mutex_destroy(&s->rlmu);
	pthread_mutex_destroy(&s->tkmu);
	pthread_mutex_destroy(&s->ssemu);
	pthread_mutex_destroy(&s->connmu);
	free(s->inflight);
	free(s);
}
