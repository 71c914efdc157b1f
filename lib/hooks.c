/*
 * hooks.c - webhooks: events to deliveries, deliveries to receivers.
 *
 * Several processes may run passes on one database (the server and a
 * cron job): turning events into deliveries happens in one IMMEDIATE
 * transaction with the cursor, and a delivery is claimed (its next_at
 * moved a minute ahead) before it is posted, so none is sent twice.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auth.h"
#include "digest.h"
#include "store/store.h"
#include "hooks.h"
#include "row.h"
#include "notify.h"

#define HOOK_BACKOFF 2.0	/* seconds before the first retry, when not given */
#define HOOK_ATTEMPTS 8		/* attempts before a delivery is dead, when not given */

int crm_hook_add(struct crm_store *db, const char *url, const char *format, const char *events,
		 int threshold, const char *secret, char *id_out, char *secret_out,
		 struct crm_err *e)
{
	json_t *ev = json_array();
	char now[32], *evtext, *copy, *save = NULL;
	struct crm_stmt *st;
	int rc;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return crm_err_set(e, CRM_EUSAGE, "a webhook URL starts with https:// (or http://)");
	if (strcmp(format, "slack") && strcmp(format, "json"))
		return crm_err_set(e, CRM_EUSAGE, "format '%s': want slack or json", format);
	if (threshold > 100)
		return crm_err_set(e, CRM_EUSAGE, "threshold %d: want 0 to 100", threshold);
	copy = strdup(events);
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		const char *types = CRM_HOOK_TYPES;
		const char *hit = strstr(types, t);
		size_t n = strlen(t);

		if (strcmp(t, "*") && (!hit || (hit[n] && hit[n] != ' ') || (hit > types && hit[-1] != ' '))) {
			crm_err_set(e, CRM_EUSAGE, "event type '%s': want one of %s, or *", t, CRM_HOOK_TYPES);
			free(copy);
			json_decref(ev);
			return -1;
		}
		json_array_append_new(ev, json_string(t));
	}
	free(copy);
	if (!json_array_size(ev)) {
		json_decref(ev);
		return crm_err_set(e, CRM_EUSAGE, "no event types given");
	}
	secret_out[0] = '\0';
	if (!strcmp(format, "json")) {
		if (secret) {
			snprintf(secret_out, 65, "%s", secret);
		} else {
			unsigned char raw[24];

			if (crm_random(raw, sizeof(raw)) < 0) {
				json_decref(ev);
				return crm_err_set(e, CRM_ESOFTWARE, "no random bytes from the kernel");
			}
			memcpy(secret_out, "whsec_", 6);
			for (size_t i = 0; i < sizeof(raw); i++)
				snprintf(secret_out + 6 + 2 * i, 3, "%02x", raw[i]);
		}
	}
	evtext = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	crm_id_new("wh_", id_out);
	crm_timestamp(now, sizeof(now));
	if (crm_store_begin(db, e) < 0) {
		free(evtext);
		return -1;
	}
	if (crm_store_prepare(db, "INSERT INTO webhooks (id, url, format, events, threshold, secret, created_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", 0, &st, e) < 0) {
		free(evtext);
		crm_store_rollback(db);
		return -1;
	}
	crm_stmt_bind_text_ref(st, 1, id_out, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, url, (size_t)-1);
	crm_stmt_bind_text_ref(st, 3, format, (size_t)-1);
	crm_stmt_bind_text_ref(st, 4, evtext, (size_t)-1);
	crm_stmt_bind_int64(st, 5, threshold < 0 ? 70 : threshold);
	crm_stmt_bind_text_ref(st, 6, *secret_out ? secret_out : NULL, (size_t)-1);
	crm_stmt_bind_text_ref(st, 7, now, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_stmt_free(st);
	free(evtext);
	if (rc < 0) {
		crm_store_rollback(db);
		return -1;
	}
	/* The first subscription starts the cursor at the log's end: a new
	 * receiver is not sent the whole history. */
	if (crm_store_exec(db, "INSERT INTO meta (key, value) "
			   "SELECT 'hooks.cursor', coalesce(max(seq), 0) FROM events WHERE true "
			   "ON CONFLICT (key) DO NOTHING", e) < 0) {
		crm_store_rollback(db);
		return -1;
	}
	return crm_store_commit(db, e);
}

int crm_hook_remove(struct crm_store *db, const char *id, struct crm_err *e)
{
	long long changes;

	if ((changes = crm_store_run(db, "DELETE FROM webhooks WHERE id = ?1", &id, 1, e)) < 0)
		return -1;
	if (!changes)
		return crm_err_set(e, CRM_EDATA, "no webhook '%s'", id);
	return 0;
}

long crm_hook_requeue(struct crm_store *db, const char *id, struct crm_err *e)
{
	struct crm_stmt *st;
	long long changes;
	int rc;

	if (crm_store_prepare(db, "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?2 "
			       "WHERE status = 'dead' AND (CAST(?1 AS text) IS NULL OR webhook_id = ?1)", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	crm_stmt_bind_double(st, 2, crm_now());
	rc = crm_stmt_step(st, e);
	changes = crm_stmt_changes(st);
	crm_stmt_free(st);
	return rc < 0 ? -1 : (long)changes;
}

/* ---- events to deliveries ----------------------------------------------- */

/* Name, company and owner of a contact or deal, for messages. */
static void describe(struct crm_store *db, const char *id, json_t *data)
{
	static const char *const keys[] = { "name", "company", "owner" };
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	struct crm_buf first, last;
	int deal = !strncmp(id, "d_", 2);

	if (crm_store_prepare(db, deal ? "SELECT name, NULL, owner FROM deals WHERE id = ?1"
				       : "SELECT first_name, company, owner, last_name FROM contacts WHERE id = ?1",
			      0, &st, &e) < 0)
		return;
	crm_buf_init(&first, 0);
	crm_buf_init(&last, 0);
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	if (crm_stmt_step(st, &e) > 0)
		for (int c = 0; c < 3; c++) {
			const char *v = crm_stmt_text(st, c);

			if (!c && !deal) {	/* the person's name, opened */
				int f = crm_row_cell(st, 0, "contacts", "first_name", id, &first, &e);
				int l = crm_row_cell(st, 3, "contacts", "last_name", id, &last, &e);

				if (f < 0 || l < 0)
					continue;
				if (first.len && last.len)
					crm_buf_addc(&first, ' ');
				if (last.len)
					crm_buf_adds(&first, last.data);
				v = first.len ? first.data : NULL;
			}
			if (v)
				json_object_set_new(data, keys[c], json_string(v));
		}
	crm_stmt_free(st);
	crm_buf_release(&first);
	crm_buf_release(&last);
}

/* Does a subscription to events (a JSON array of types) want type? */
static int wants(const json_t *events, const char *type)
{
	const json_t *v;
	size_t i;

	json_array_foreach(events, i, v)
		if (json_is_string(v) && (!strcmp(json_string_value(v), "*") ||
					  !strcmp(json_string_value(v), type)))
			return 1;
	return 0;
}

/* The active subscriptions, once a pass: [{id, format, threshold,
 * events}...], or NULL with e. */
static json_t *subscriptions(struct crm_store *db, struct crm_err *e)
{
	json_t *subs = json_array();
	struct crm_stmt *st;
	int rc;

	if (crm_store_prepare(db, "SELECT id, format, threshold, events FROM webhooks WHERE active = 1 ORDER BY id",
			      0, &st, e) < 0) {
		json_decref(subs);
		return NULL;
	}
	while ((rc = crm_stmt_step(st, e)) > 0) {
		const char *ev = crm_stmt_text(st, 3);

		json_array_append_new(subs, json_pack("{s:s, s:s, s:I, s:o}", "id", crm_stmt_text(st, 0),
						      "format", crm_stmt_text(st, 1), "threshold",
						      (json_int_t)crm_stmt_int64(st, 2), "events",
						      (ev ? json_loads(ev, 0, NULL) : NULL) ?: json_array()));
	}
	crm_stmt_free(st);
	if (rc < 0) {
		json_decref(subs);
		return NULL;
	}
	return subs;
}

/* The webhook type of an event the enqueue query selected. */
static const char *hook_type(const char *entity)
{
	return !strcmp(entity, "score") ? "score.crossed" : !strcmp(entity, "call") ? "call.hesitant" :
	       !strcmp(entity, "task") ? "task.due" : "merge.done";
}

/* Did a score/changed event cross thr, up or down? */
static int crossed(json_t *payload, int thr)
{
	json_t *pv = json_object_get(payload, "previous");
	long s = (long)json_integer_value(json_object_get(payload, "score"));
	long p = json_is_integer(pv) ? (long)json_integer_value(pv) : -1;

	return (p < thr && s >= thr) || (p >= thr && s < thr && p >= 0);
}

/* The Slack message of a delivery. */
static char *slack_body(const char *type, json_t *data, int thr)
{
	const char *name = json_string_value(json_object_get(data, "name"));
	const char *company = json_string_value(json_object_get(data, "company"));
	const char *owner = json_string_value(json_object_get(data, "owner"));
	const char *id = json_string_value(json_object_get(data, "id"));
	char title[128], text[1024], f1[200], f2[200];
	const char *fields[2];
	struct crm_note n = { 0 };

	if (!name)
		name = id ? id : "?";
	n.fields = fields;
	if (owner) {
		snprintf(f1, sizeof(f1), "Owner=%s", owner);
		fields[n.nfields++] = f1;
	}
	if (!strcmp(type, "score.crossed")) {
		long s = (long)json_integer_value(json_object_get(data, "score"));
		json_t *pv = json_object_get(data, "previous");

		snprintf(title, sizeof(title), "Score %s %d", s >= thr ? "rose above" : "fell below", thr);
		snprintf(text, sizeof(text), "*%s*%s%s%s: score %ld%s", name, company ? " (" : "",
			 company ? company : "", company ? ")" : "", s,
			 json_is_integer(pv) ? "" : " (first score)");
		if (json_is_integer(pv)) {
			snprintf(f2, sizeof(f2), "Before=%ld", (long)json_integer_value(pv));
			fields[n.nfields++] = f2;
		}
		n.status = s >= thr ? "ok" : "warn";
	} else if (!strcmp(type, "call.hesitant")) {
		snprintf(title, sizeof(title), "Hesitation on a call");
		snprintf(text, sizeof(text), "*%s*%s%s%s hesitated (%.2f). Worth a follow-up.", name,
			 company ? " (" : "", company ? company : "", company ? ")" : "",
			 json_number_value(json_object_get(data, "hesitation")));
		n.status = "warn";
	} else if (!strcmp(type, "task.due")) {
		const char *t = json_string_value(json_object_get(data, "title"));
		const char *due = json_string_value(json_object_get(data, "due_at"));

		snprintf(title, sizeof(title), "Task due");
		snprintf(text, sizeof(text), "%s%s%s", t ? t : "(untitled)", due ? " — due " : "", due ? due : "");
		n.status = "warn";
	} else {
		snprintf(title, sizeof(title), "Duplicates merged");
		snprintf(text, sizeof(text), "%s %s merged into %s (probability %.2f)",
			 json_string_value(json_object_get(data, "entity")) ? json_string_value(json_object_get(data, "entity")) : "record",
			 json_string_value(json_object_get(data, "merged_id")) ? json_string_value(json_object_get(data, "merged_id")) : "?",
			 json_string_value(json_object_get(data, "survivor_id")) ? json_string_value(json_object_get(data, "survivor_id")) : "?",
			 json_number_value(json_object_get(data, "probability")));
		n.status = "ok";
	}
	n.title = title;
	n.text = text;
	n.context = "crm webhook";
	return crm_slack_payload(&n);
}

/* Tasks whose due time passed since the last pass become task/due events. */
static int tasks_due(struct crm_store *db, const char *now, struct crm_err *e)
{
	char until[64] = "";
	struct crm_stmt *st;
	int rc;

	if (crm_store_text1(db, "SELECT value FROM meta WHERE key = ?1", "hooks.due_until",
			 until, sizeof(until), e) < 0)
		return -1;
	if (*until) {
		char sql[512];

		/* json_object is json_build_object on PostgreSQL */
		snprintf(sql, sizeof(sql), "INSERT INTO events (at, entity, entity_id, op, payload) "
			 "SELECT ?2, 'task', id, 'due', %s('title', title, 'owner', owner, "
			 "'due_at', due_at, 'contact_id', contact_id, 'deal_id', deal_id) FROM tasks "
			 "WHERE status = 'open' AND merged_into IS NULL AND due_at > ?1 AND due_at <= ?2 "
			 "ORDER BY due_at", crm_store_sql(db, CRM_SQL_JSON_OBJECT));
		if (crm_store_prepare(db, sql, 0, &st, e) < 0)
			return -1;
		crm_stmt_bind_text_ref(st, 1, until, (size_t)-1);
		crm_stmt_bind_text_ref(st, 2, now, (size_t)-1);
		rc = crm_stmt_step(st, e);
		crm_stmt_free(st);
		if (rc < 0)
			return -1;
	}
	return crm_store_set_meta(db, "hooks.due_until", now, e);
}

/* The event data of a delivery: the payload, the record's id, and who it is about. */
static json_t *event_data(struct crm_store *db, const char *entity, const char *eid, json_t *payload)
{
	json_t *data = json_deep_copy(payload);
	struct crm_err e = { 0 };

	json_object_set_new(data, "id", json_string(eid));
	if (!strcmp(entity, "score")) {
		describe(db, eid, data);
	} else if (!strcmp(entity, "call") || !strcmp(entity, "task")) {
		char cid[CRM_ID_MAX] = "";

		crm_store_text1(db, !strcmp(entity, "call") ? "SELECT contact_id FROM interactions WHERE id = ?1" :
			     "SELECT contact_id FROM tasks WHERE id = ?1", eid, cid, sizeof(cid), &e);
		if (*cid) {
			json_object_set_new(data, "contact_id", json_string(cid));
			describe(db, cid, data);
		}
	}
	return data;
}

/*
 * New events of the four kinds webhooks carry become deliveries, one per
 * subscription that wants the type, in one transaction with the cursor
 * (which moves past the events no one wants too).
 */
static int enqueue(struct crm_store *db, struct crm_hooks_stats *hs, struct crm_err *e)
{
	char cur[32] = "", now[32];
	struct crm_stmt *ev = NULL, *ins = NULL;
	json_t *subs = NULL;
	long long cursor, last;
	int rc = -1, n = 0;

	crm_timestamp(now, sizeof(now));
	if (crm_store_begin(db, e) < 0)
		return -1;
	if (tasks_due(db, now, e) < 0)
		goto out;
	if (crm_store_text1(db, "SELECT value FROM meta WHERE key = ?1", "hooks.cursor", cur, sizeof(cur), e) < 0 ||
	    crm_store_last_event(db, &last, e) < 0)
		goto out;
	if (!*cur) {	/* no subscription yet */
		rc = 0;
		goto out;
	}
	cursor = atoll(cur);
	if (crm_store_prepare(db, "SELECT seq, at, entity, entity_id, payload FROM events WHERE seq > ?1 AND seq <= ?2 "
			       "AND ((entity = 'score' AND op = 'changed') OR (entity = 'call' AND op = 'analysed') "
			       "OR (entity = 'task' AND op = 'due') OR (entity = 'merge' AND op = 'done')) "
			       "ORDER BY seq LIMIT 1000", 0, &ev, e) < 0 ||
	    !(subs = subscriptions(db, e)) ||
	    crm_store_prepare(db, "INSERT INTO webhook_deliveries (webhook_id, seq, type, body, next_at, created_at) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING", 0, &ins, e) < 0)
		goto out;
	crm_stmt_bind_int64(ev, 1, cursor);
	crm_stmt_bind_int64(ev, 2, last);
	while ((rc = crm_stmt_step(ev, e)) == 1) {
		long long seq = crm_stmt_int64(ev, 0);
		const char *entity = crm_stmt_text(ev, 2);
		const char *ptext = crm_stmt_text(ev, 4);
		const char *type = hook_type(entity);
		json_t *payload = ptext ? json_loads(ptext, 0, NULL) : NULL;
		json_t *data = event_data(db, entity, crm_stmt_text(ev, 3),
					  payload ? payload : json_object());

		/* a call: only when the analysis found hesitation */
		json_t *h = json_object_get(payload, "hesitant");
		int wanted = strcmp(entity, "call") || json_is_true(h) ||
			     (json_is_integer(h) && json_integer_value(h));

		json_decref(payload);
		cursor = seq;
		n++;
		json_t *sub;
		size_t k;

		json_array_foreach(wanted ? subs : NULL, k, sub) {
			const char *wid = json_string_value(json_object_get(sub, "id"));
			int thr = (int)json_integer_value(json_object_get(sub, "threshold"));
			char *body;

			if (!wants(json_object_get(sub, "events"), type))
				continue;
			if (!strcmp(entity, "score")) {
				if (!crossed(data, thr))
					continue;
				json_object_set_new(data, "threshold", json_integer(thr));
			}
			if (!strcmp(json_string_value(json_object_get(sub, "format")), "slack")) {
				body = slack_body(type, data, thr);
			} else {
				char did[64];
				json_t *o;

				snprintf(did, sizeof(did), "%s-%lld", wid, seq);
				o = json_pack("{s:s, s:s, s:I, s:s, s:O}", "id", did, "type", type, "seq",
					      (json_int_t)seq, "at", crm_stmt_text(ev, 1),
					      "data", data);
				body = json_dumps(o, JSON_COMPACT);
				json_decref(o);
			}
			if (!body)
				continue;
			crm_stmt_bind_text(ins, 1, wid, (size_t)-1);
			crm_stmt_bind_int64(ins, 2, seq);
			crm_stmt_bind_text_ref(ins, 3, type, (size_t)-1);
			crm_stmt_bind_text(ins, 4, body, (size_t)-1);
			crm_stmt_bind_double(ins, 5, crm_now());
			crm_stmt_bind_text_ref(ins, 6, now, (size_t)-1);
			free(body);
			rc = crm_stmt_step(ins, e);
			crm_stmt_reset(ins);
			if (rc < 0) {
				json_decref(data);
				goto out;
			}
			hs->queued += (size_t)crm_stmt_changes(ins);
		}
		json_decref(data);
	}
	if (rc < 0)
		goto out;
	/* A short page reached the end of the log as it stood. */
	if (n < 1000)
		cursor = last;
	snprintf(cur, sizeof(cur), "%lld", cursor);
	rc = crm_store_set_meta(db, "hooks.cursor", cur, e);
out:
	crm_stmt_free(ev);
	json_decref(subs);
	crm_stmt_free(ins);
	if (rc < 0) {
		crm_store_rollback(db);
		return -1;
	}
	return crm_store_commit(db, e);
}

/* ---- deliveries --------------------------------------------------------- */

struct due {
	long long id;
	char *url, *format, *secret, *body, *type, *wh;
	int attempts;
};

static void due_free(struct due *d)
{
	free(d->url);
	free(d->format);
	free(d->secret);
	free(d->body);
	free(d->type);
	free(d->wh);
}

static char *col(struct crm_stmt *st, int c)
{
	const char *v = crm_stmt_text(st, c);

	return v ? strdup(v) : NULL;
}

/* Claim up to max deliveries that are due; their count. */
static int claim(struct crm_store *db, struct due *d, int max, struct crm_err *e)
{
	struct crm_stmt *q, *u;
	double now = crm_now();
	int n = 0, rc;

	if (crm_store_begin(db, e) < 0)
		return -1;
	if (crm_store_prepare(db, "SELECT d.id, w.url, w.format, w.secret, d.body, d.type, d.attempts, w.id "
			       "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
			       "WHERE d.status = 'pending' AND d.next_at <= ?1 AND w.active = 1 "
			       "ORDER BY d.next_at LIMIT ?2", 0, &q, e) < 0) {
		crm_store_rollback(db);
		return -1;
	}
	if (crm_store_prepare(db, "UPDATE webhook_deliveries SET next_at = ?2 WHERE id = ?1", 0, &u, e) < 0) {
		crm_stmt_free(q);
		crm_store_rollback(db);
		return -1;
	}
	crm_stmt_bind_double(q, 1, now);
	crm_stmt_bind_int64(q, 2, max);
	while ((rc = crm_stmt_step(q, e)) == 1 && n < max) {
		struct due *x = &d[n++];

		x->id = crm_stmt_int64(q, 0);
		x->url = col(q, 1);
		x->format = col(q, 2);
		x->secret = col(q, 3);
		x->body = col(q, 4);
		x->type = col(q, 5);
		x->attempts = (int)crm_stmt_int64(q, 6);
		x->wh = col(q, 7);
		/* A lease: another process leaves it alone for a minute. */
		crm_stmt_bind_int64(u, 1, x->id);
		crm_stmt_bind_double(u, 2, now + 60);
		crm_stmt_step(u, e);
		crm_stmt_reset(u);
	}
	crm_stmt_free(q);
	crm_stmt_free(u);
	if (crm_store_commit(db, e) < 0) {
		for (int i = 0; i < n; i++)
			due_free(&d[i]);
		return -1;
	}
	return n;
}

static int settle(struct crm_store *db, const struct due *d, int ok, long status, const char *err,
		  const struct crm_hooks_opts *o, struct crm_hooks_stats *hs, struct crm_err *e)
{
	struct crm_stmt *st;
	char now[32];
	int most = o->attempts > 0 ? o->attempts : HOOK_ATTEMPTS, attempts = d->attempts + 1;
	int dead = !ok && (attempts >= most || status == 410);
	double delay = (o->backoff > 0 ? o->backoff : HOOK_BACKOFF) * pow(2, attempts - 1);
	int rc;

	if (delay > 3600)
		delay = 3600;
	crm_timestamp(now, sizeof(now));
	if (crm_store_prepare(db, "UPDATE webhook_deliveries SET status = ?2, attempts = ?3, next_at = ?4, "
			      "last_status = ?5, last_error = ?6, delivered_at = ?7 WHERE id = ?1", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_int64(st, 1, d->id);
	crm_stmt_bind_text_ref(st, 2, ok ? "delivered" : dead ? "dead" : "pending", (size_t)-1);
	crm_stmt_bind_int64(st, 3, attempts);
	crm_stmt_bind_double(st, 4, crm_now() + delay);
	if (status)
		crm_stmt_bind_int64(st, 5, status);
	crm_stmt_bind_text_ref(st, 6, ok ? NULL : err, (size_t)-1);
	crm_stmt_bind_text_ref(st, 7, ok ? now : NULL, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_stmt_free(st);
	if (rc < 0)
		return -1;
	if (ok)
		hs->delivered++;
	if (dead)
		hs->dead++;
	return 0;
}

static int deliver(struct crm_store *db, const struct crm_hooks_opts *o, struct crm_hooks_stats *hs,
		   struct crm_err *e)
{
	struct due d[16];
	int n = claim(db, d, 16, e);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char ts[32], sig[80], h[4][200], mac[65];
		const char *hdr[4];
		size_t nh = 0;
		struct crm_err pe = { 0 };
		long status = 0;
		int ok;

		if (!strcmp(d[i].format, "json")) {
			struct crm_buf m;

			snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
			crm_buf_init(&m, 0);
			crm_buf_addf(&m, "%s.%s", ts, d[i].body);
			crm_hmac_sha256_hex(d[i].secret ? d[i].secret : "", d[i].secret ? strlen(d[i].secret) : 0,
					    m.data, m.len, mac);
			crm_buf_release(&m);
			snprintf(sig, sizeof(sig), "v1=%s", mac);
			snprintf(h[0], sizeof(h[0]), "X-CRM-Timestamp: %s", ts);
			snprintf(h[1], sizeof(h[1]), "X-CRM-Signature: %s", sig);
			snprintf(h[2], sizeof(h[2]), "X-CRM-Event: %s", d[i].type);
			snprintf(h[3], sizeof(h[3]), "X-CRM-Delivery: %lld", d[i].id);
			for (nh = 0; nh < 4; nh++)
				hdr[nh] = h[nh];
		}
		ok = crm_webhook_send(d[i].url, d[i].body, hdr, nh, 0, o->timeout > 0 ? o->timeout : 10,
				      &status, &pe) == 0;
		hs->tried++;
		if (!ok && hs->nfailures < CRM_HOOKS_MAXFAIL)
			snprintf(hs->failures[hs->nfailures++], sizeof(hs->failures[0]), "%s: %s", d[i].wh, pe.msg);
		if (settle(db, &d[i], ok, status, pe.msg, o, hs, e) < 0) {
			for (int k = i; k < n; k++)
				due_free(&d[k]);
			return -1;
		}
		due_free(&d[i]);
		if (o->stop && atomic_load(o->stop)) {
			/* The rest keep their lease and go out after it. */
			for (int k = i + 1; k < n; k++)
				due_free(&d[k]);
			break;
		}
	}
	return 0;
}

int crm_hooks_pass(struct crm_store *db, const struct crm_hooks_opts *o,
		   struct crm_hooks_stats *hs, struct crm_err *e)
{
	if (enqueue(db, hs, e) < 0)
		return -1;
	return deliver(db, o, hs, e);
}

int crm_hook_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e)
{
	return crm_store_prepare(db, "SELECT id, format, events, threshold, active, created_at, "
				 "(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id "
				 "AND status = 'pending') AS pending, "
				 "(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id "
				 "AND status = 'dead') AS dead, url FROM webhooks w ORDER BY created_at", 0, st, e);
}

int crm_hook_delivery_rows(struct crm_store *db, int dead, struct crm_stmt **st, struct crm_err *e)
{
	return crm_store_prepare(db, dead ?
		"SELECT id, webhook_id AS webhook, seq, type, status, attempts, last_status, last_error, "
		"created_at FROM webhook_deliveries WHERE status = 'dead' ORDER BY id" :
		"SELECT id, webhook_id AS webhook, seq, type, status, attempts, last_status, last_error, "
		"created_at, delivered_at FROM webhook_deliveries ORDER BY id", 0, st, e);
}

int crm_hooks_run(struct crm_store *db, const struct crm_hooks_opts *o, int once,
		  volatile sig_atomic_t *stop, void (*failed)(void *ctx, const char *what),
		  void *ctx, struct crm_hooks_stats *total, struct crm_err *e)
{
	while (!*stop) {
		struct crm_hooks_stats hs = { 0 };

		if (crm_hooks_pass(db, o, &hs, e) < 0)
			return -1;
		for (size_t i = 0; i < hs.nfailures; i++)
			failed(ctx, hs.failures[i]);
		total->queued += hs.queued;
		total->tried += hs.tried;
		total->delivered += hs.delivered;
		total->dead += hs.dead;
		if (once && !hs.tried && !hs.queued)
			break;
		if (!hs.tried) {
			struct timespec ts = { 0, 500 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
