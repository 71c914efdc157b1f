/*
 * scoring.c - scoring records as they arrive (see scoring.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include <jansson.h>

#include "store/store.h"
#include "explain.h"
#include "features.h"
#include "merge.h"
#include "ndjson.h"
#include "scoring.h"

int crm_scoring_open(struct crm_scoring *s, struct crm_store *db, const struct crm_entity *t,
		     struct crm_err *e)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	crm_model_init(&s->m);
	if (crm_model_load(db, t, NULL, &s->m, e) < 0 ||
	    crm_override_load(db, t, &s->m, e) < 0)
		return -1;
	/* A chunk is small: OpenMP's threads would spin more than work. */
	XGBoosterSetParam(s->m.booster, "nthread", "1");
	/* The history rates of the last full scoring run; without one, they
	 * are taken from all records once, as a full run would. */
	if (!(s->hist = crm_explain_history(db, s->m.id))) {
		struct crm_dataset d;
		struct crm_buf h;
		int rc;

		crm_dataset_init(&d, t);
		crm_buf_init(&h, 0);
		rc = crm_dataset_build(&d, db, NULL, &s->m.schema, e) < 0 ||
		     crm_dataset_history_json(&d, &h) < 0 ? -1 : 0;
		crm_dataset_release(&d);
		if (rc < 0) {
			crm_buf_release(&h);
			return *e->msg ? -1 : crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		s->hist = crm_buf_detach(&h, NULL);
	}
	return 0;
}

void crm_scoring_release(struct crm_scoring *s)
{
	crm_model_release(&s->m);
	free(s->pend);
	free(s->hist);
	memset(s, 0, sizeof(*s));
}

/* Write the pending scores in the transaction open on db. */
static int write_pending(struct crm_scoring *s, struct crm_store *db, struct crm_err *e)
{
	for (size_t i = 0; i < s->npend; i++)
		if (crm_score_put(db, s->pend[i].id, s->m.id, s->pend[i].p, s->now, e) < 0) {
			crm_store_rollback(db);
			return -1;
		}
	if (crm_store_commit(db, e) < 0)
		return -1;
	s->npend = 0;
	return 0;
}

int crm_scoring_flush(struct crm_scoring *s, struct crm_store *db, struct crm_err *e)
{
	if (!s->npend)
		return 0;
	if (crm_store_begin(db, e) < 0)
		return -1;
	return write_pending(s, db, e);
}

/*
 * Score records that are not in the database from their own fields (the
 * JSON of their lines, json[k] for out[k] with k in miss[0..nmiss)): they
 * are put in a temporary table that stands in for the type's table (in
 * SQLite a temp table hides the main one of its name), built and
 * predicted like the others, and not stored. Called inside the chunk's
 * read transaction.
 */
static int score_outsiders(struct crm_scoring *s, struct crm_store *db, const char *const *json,
			   const size_t *miss, size_t nmiss, struct crm_scored *out,
			   struct crm_err *e)
{
	const char *table = s->t->table;
	struct crm_buf sql;
	struct crm_dataset d;
	struct crm_stmt *ins = NULL;
	char **colnames = NULL;
	const char **ids = calloc(nmiss ? nmiss : 1, sizeof(*ids));
	char *names[64];
	size_t ncol = 0;
	float *p = NULL;
	int rc = -1;

	crm_buf_init(&sql, 0);
	crm_dataset_init(&d, s->t);
	if (!ids)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	/* A temporary table of the same name hides the real one from the
	 * statements of this connection (SQLite's temp schema, PostgreSQL's
	 * pg_temp), so the features are read from it. */
	if (crm_store_columns(db, table, &colnames, e) < 0)
		goto out;
	crm_buf_addf(&sql, "CREATE TEMP TABLE %s AS SELECT * FROM %s.%s WHERE false", table,
		     crm_store_sql(db, CRM_SQL_SCHEMA), table);
	if (crm_store_exec(db, sql.data, e) < 0)
		goto out;
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "INSERT INTO %s (", table);
	for (char **c = colnames; *c && ncol < 64; c++) {
		names[ncol] = strdup(*c);
		crm_buf_addf(&sql, "%s\"%s\"", ncol ? "," : "", names[ncol]);
		ncol++;
	}
	crm_buf_adds(&sql, ") VALUES (");
	for (size_t c = 0; c < ncol; c++)
		crm_buf_addf(&sql, "%s?%zu", c ? "," : "", c + 1);
	crm_buf_addc(&sql, ')');
	if (crm_store_prepare(db, sql.data, 0, &ins, e) < 0)
		goto drop;
	for (size_t k = 0; k < nmiss; k++) {
		json_t *o = json_loads(json[miss[k]], 0, NULL);
		int any = 0;

		/* Only a record with something to go by: not a bare id. */
		for (size_t c = 0; c < ncol; c++)
			any |= strcmp(names[c], "id") && strcmp(names[c], "source") &&
			       json_object_get(o, names[c]) && !json_is_null(json_object_get(o, names[c]));
		if (!any) {
			json_decref(o);
			ids[k] = "";
			continue;
		}
		for (size_t c = 0; c < ncol; c++) {
			json_t *v = json_object_get(o, names[c]);
			char *text;

			if (!strcmp(names[c], "merged_into") || !v || json_is_null(v))
				crm_stmt_bind_null(ins, (int)c + 1);
			else if (json_is_string(v))
				crm_stmt_bind_text(ins, (int)c + 1, json_string_value(v), (size_t)-1);
			else if (json_is_integer(v))
				crm_stmt_bind_int64(ins, (int)c + 1, json_integer_value(v));
			else if (json_is_number(v))
				crm_stmt_bind_double(ins, (int)c + 1, json_number_value(v));
			else if ((text = json_dumps(v, JSON_COMPACT))) {
				crm_stmt_bind_text(ins, (int)c + 1, text, (size_t)-1);
				free(text);
			}
		}
		if (!json_object_get(o, "created_at"))
			for (size_t c = 0; c < ncol; c++)
				if (!strcmp(names[c], "created_at"))
					crm_stmt_bind_text_ref(ins, (int)c + 1, s->now, (size_t)-1);
		crm_stmt_step(ins, e);
		crm_stmt_reset(ins);
		for (size_t c = 0; c < ncol; c++)
			crm_stmt_bind_null(ins, (int)c + 1);
		json_decref(o);
		ids[k] = out[miss[k]].id;
	}
	if (crm_dataset_build_ids(&d, db, s->t, ids, nmiss, &s->m.schema, s->hist, e) < 0)
		goto drop;
	if (!(p = malloc((d.n ? d.n : 1) * sizeof(*p)))) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto drop;
	}
	if (d.n && crm_model_predict_adjusted(&s->m, &d, 0, d.n, p, e) < 0)
		goto drop;
	for (size_t k = 0; k < nmiss; k++) {
		long x = *ids[k] ? crm_dataset_row(&d, out[miss[k]].id) : -1;

		if (x < 0)
			continue;
		out[miss[k]].p = p[x];
		out[miss[k]].reason = NULL;
		out[miss[k]].outsider = 1;
	}
	rc = 0;
drop:
	crm_stmt_free(ins);
	crm_store_free_list(colnames);
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "DROP TABLE IF EXISTS %s.%s", crm_store_sql(db, CRM_SQL_TEMP_SCHEMA), table);
	crm_store_exec(db, sql.data, NULL);
out:
	for (size_t c = 0; c < ncol; c++)
		free(names[c]);
	crm_dataset_release(&d);
	crm_buf_release(&sql);
	free(ids);
	free(p);
	return rc;
}

int crm_scoring_chunk(struct crm_scoring *s, struct crm_store *db, const char *const *ids, size_t n,
		      const char *const *json, struct crm_scored *out, struct crm_err *e)
{
	struct crm_dataset d;
	const char **live = calloc(n ? n : 1, sizeof(*live));
	float *p = NULL;
	int rc = -1;

	crm_dataset_init(&d, s->t);
	if (!live)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	/* The chunk is read in one read transaction (one snapshot, and the
	 * file's locks taken once, not per record); written in another. */
	if (crm_store_begin_read(db, e) < 0) {
		free(live);
		return -1;
	}
	/* Each id as it is now: a merged one is its survivor. */
	for (size_t i = 0; i < n; i++) {
		int r;

		snprintf(out[i].id, sizeof(out[i].id), "%s", ids[i]);
		out[i].p = NAN;
		out[i].reason = NULL;
		out[i].merged = 0;
		out[i].outsider = 0;
		if ((r = crm_merge_survivor(db, s->t, out[i].id)) < 0) {
			crm_err_set(e, CRM_EIO, "cannot read merges");
			goto out;
		}
		out[i].merged = r == 2;
		if (!r)
			out[i].reason = "no such record in the database";
		live[i] = out[i].id;
	}
	crm_dataset_release(&d);
	if (crm_dataset_build_ids(&d, db, s->t, live, n, &s->m.schema, s->hist, e) < 0)
		goto out;
	if (!(p = malloc((d.n ? d.n : 1) * sizeof(*p)))) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	crm_timestamp(s->now, sizeof(s->now));
	if (d.n && crm_model_predict_adjusted(&s->m, &d, 0, d.n, p, e) < 0)
		goto out;
	if (s->npend + n > s->apend) {
		size_t na = (s->npend + n) * 2;
		struct crm_pending *np = realloc(s->pend, na * sizeof(*np));

		if (!np) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		s->pend = np;
		s->apend = na;
	}
	{
		size_t *miss = malloc((n ? n : 1) * sizeof(*miss)), nmiss = 0;

		if (!miss) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			long x;

			if (out[i].reason && !out[i].merged && json && json[i]) {
				miss[nmiss++] = i;
				continue;
			}
			if (out[i].reason)
				continue;
			if ((x = crm_dataset_row(&d, out[i].id)) < 0) {
				out[i].reason = "no such record in the database";
				if (json && json[i])
					miss[nmiss++] = i;
				continue;
			}
			if (s->open_only && !isnan(d.y[x])) {
				out[i].reason = "closed: its outcome is known";
				continue;
			}
			out[i].p = p[x];
			memcpy(s->pend[s->npend].id, out[i].id, CRM_ID_MAX);
			s->pend[s->npend++].p = p[x];
		}
		/* Not in the database: scored from their own fields, not stored. */
		if (nmiss && score_outsiders(s, db, json, miss, nmiss, out, e) < 0) {
			free(miss);
			goto out;
		}
		free(miss);
	}
	crm_store_rollback(db);	/* the read transaction: nothing written */
	/* Written now if the lock is free; else with the next chunk, so a
	 * filter never stands still behind another writer's batch. */
	if (s->npend) {
		int r = crm_store_try_begin(db, e);

		if (r < 0 || (r == 0 && write_pending(s, db, e) < 0))
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		s->outsiders += out[i].outsider;
		if (!isnan(out[i].p))
			s->scored++;
		else if (out[i].reason && out[i].reason[0] == 'c')
			s->closed++;
		else
			s->missing++;
		s->merged += out[i].merged;
	}
	rc = 0;
out:
	if (rc < 0)
		crm_store_rollback(db);
	crm_dataset_release(&d);
	free(live);
	free(p);
	return rc;
}

struct ranked {
	float p;
	long score;	/* as shown */
	float week;	/* interactions in the last 7 days */
	float velocity;	/* this week against the weeks before */
	size_t i;
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (isnan(x->p) != isnan(y->p))
		return isnan(x->p) ? 1 : -1;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	if (x->week != y->week && !isnan(x->week) && !isnan(y->week))
		return x->week < y->week ? 1 : -1;
	if (x->velocity != y->velocity && !isnan(x->velocity) && !isnan(y->velocity))
		return x->velocity < y->velocity ? 1 : -1;
	if (x->p != y->p && !isnan(x->p))
		return x->p < y->p ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

void crm_scoring_rank(const struct crm_dataset *d, const float *p, size_t *rows, size_t n)
{
	int wk = crm_dataset_feature(d, "touches_7d"), ve = crm_dataset_feature(d, "touch_velocity");
	struct ranked *r = malloc((n ? n : 1) * sizeof(*r));

	if (!r)		/* out of memory: the rows stay in the dataset's order */
		return;
	for (size_t k = 0; k < n; k++) {
		size_t i = rows[k];

		r[k] = (struct ranked){ p[i], isnan(p[i]) ? -1 : lround(100.0 * p[i]),
			wk >= 0 ? d->x[i * d->nfeat + (size_t)wk] : NAN,
			ve >= 0 ? d->x[i * d->nfeat + (size_t)ve] : NAN, i };
	}
	qsort(r, n, sizeof(*r), by_score);
	for (size_t k = 0; k < n; k++)
		rows[k] = r[k].i;
	free(r);
}

size_t crm_scoring_touched(struct crm_store *db, const struct crm_entity *type,
			   const char *entity, const char *id, int open,
			   char ids[][CRM_ID_MAX], size_t max)
{
	/* ?2: only open records, not merged away. */
	static const struct {
		const char *entity, *type, *sql;
	} via[] = {
		{ "interaction", "contact",
		  "SELECT c.id FROM interactions i JOIN contacts c ON c.id = i.contact_id WHERE i.id = ?1 "
		  "AND (?2 = 0 OR (c.outcome IS NULL AND c.merged_into IS NULL))" },
		{ "interaction", "deal",
		  "SELECT d.id FROM interactions i JOIN deals d ON (d.id = i.deal_id OR d.contact_id = i.contact_id) "
		  "WHERE i.id = ?1 AND (?2 = 0 OR (d.outcome IS NULL AND d.merged_into IS NULL))" },
		{ "task", "contact",
		  "SELECT c.id FROM tasks k JOIN contacts c ON c.id = k.contact_id WHERE k.id = ?1 "
		  "AND (?2 = 0 OR (c.outcome IS NULL AND c.merged_into IS NULL))" },
		{ "task", "deal",
		  "SELECT d.id FROM tasks k JOIN deals d ON d.id = k.deal_id WHERE k.id = ?1 "
		  "AND (?2 = 0 OR (d.outcome IS NULL AND d.merged_into IS NULL))" },
		{ "call", "contact",
		  "SELECT c.id FROM interactions i JOIN contacts c ON c.id = i.contact_id WHERE i.id = ?1 "
		  "AND (?2 = 0 OR (c.outcome IS NULL AND c.merged_into IS NULL))" },
		{ "contact", "deal",
		  "SELECT id FROM deals WHERE contact_id = ?1 AND (?2 = 0 OR (outcome IS NULL AND merged_into IS NULL))" },
		{ "deal", "contact",
		  "SELECT c.id FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE d.id = ?1 "
		  "AND (?2 = 0 OR (c.outcome IS NULL AND c.merged_into IS NULL))" },
		{ "account", "contact",
		  "SELECT id FROM contacts WHERE account_id = ?1 AND (?2 = 0 OR (outcome IS NULL AND merged_into IS NULL))" },
		{ "account", "deal",
		  "SELECT id FROM deals WHERE account_id = ?1 AND (?2 = 0 OR (outcome IS NULL AND merged_into IS NULL))" },
	};
	struct crm_err e = { 0 };
	size_t n = 0;

	if (!max)
		return 0;
	if (!strcmp(entity, type->kind)) {
		snprintf(ids[0], CRM_ID_MAX, "%s", id);
		return 1;
	}
	for (size_t i = 0; i < sizeof(via) / sizeof(via[0]); i++) {
		struct crm_stmt *st;

		if (strcmp(entity, via[i].entity) || strcmp(type->kind, via[i].type) ||
		    !(st = crm_store_stmt(db, via[i].sql, &e)))
			continue;
		crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
		crm_stmt_bind_int64(st, 2, open);
		while (n < max && crm_stmt_step(st, &e) > 0)
			snprintf(ids[n++], CRM_ID_MAX, "%s", crm_stmt_text(st, 0));
		crm_store_stmt_done(st);
	}
	return n;
}

/* The follow cursor into meta, in a transaction of its own. */
static int save_cursor(struct crm_store *db, const char *key, long long cursor, struct crm_err *e)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", cursor);
	if (crm_store_begin(db, e) < 0)
		return -1;
	if (crm_store_set_meta(db, key, v, e) < 0) {
		crm_store_rollback(db);
		return -1;
	}
	return crm_store_commit(db, e);
}

int crm_scoring_follow(struct crm_store *db, const struct crm_entity *type, long long from, int once,
		       int (*changed)(void *ctx, const struct crm_follow_change *c), void *ctx,
		       struct crm_follow_stats *st, struct crm_err *e)
{
	enum { MAX = 512 };
	struct crm_scoring sc;
	char key[64];
	long long cursor = from;
	struct crm_stmt *ev = NULL;
	char (*ids)[CRM_ID_MAX] = calloc(MAX, sizeof(*ids));
	const char **idp = calloc(MAX, sizeof(*idp));
	long long *seqs = calloc(MAX, sizeof(*seqs));
	int *before = calloc(MAX, sizeof(*before));
	struct crm_scored *out = calloc(MAX, sizeof(*out));
	int rc = -1, opened = 0;

	memset(st, 0, sizeof(*st));
	if (!ids || !idp || !seqs || !before || !out) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto done;
	}
	if (crm_scoring_open(&sc, db, type, e) < 0)
		goto done;
	opened = 1;
	sc.open_only = 1;
	snprintf(key, sizeof(key), "score.cursor.%s", type->kind);
	if (cursor < 0) {
		struct crm_stmt *q;

		if (crm_store_prepare(db, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1), "
				      "(SELECT coalesce(max(seq), 0) FROM events))", 0, &q, e) < 0)
			goto done;
		crm_stmt_bind_text_ref(q, 1, key, (size_t)-1);
		cursor = crm_stmt_step(q, e) > 0 ? crm_stmt_int64(q, 0) : 0;
		crm_stmt_free(q);
	}
	/* Where this run starts is where the next one goes on from. */
	if (save_cursor(db, key, cursor, e) < 0 ||
	    crm_store_prepare(db, "SELECT seq, entity, entity_id FROM events WHERE seq > ?1 ORDER BY seq LIMIT 500",
			      0, &ev, e) < 0)
		goto done;
	for (;;) {
		size_t seen = 0, n = 0;
		long long batch_end = cursor;
		double t0;

		crm_stmt_bind_int64(ev, 1, cursor);
		while (crm_stmt_step(ev, e) > 0 && n + 64 <= MAX) {
			char entity[32], eid[CRM_ID_MAX], got[64][CRM_ID_MAX];
			size_t na;

			batch_end = crm_stmt_int64(ev, 0);
			snprintf(entity, sizeof(entity), "%s", crm_stmt_text(ev, 1));
			snprintf(eid, sizeof(eid), "%s", crm_stmt_text(ev, 2));
			seen++;
			na = crm_scoring_touched(db, type, entity, eid, 1, got, 64);
			for (size_t k = 0; k < na; k++) {
				size_t x;

				for (x = 0; x < n && strcmp(ids[x], got[k]); x++)
					;
				if (x == n)
					snprintf(ids[n++], CRM_ID_MAX, "%.*s", CRM_ID_MAX - 1, got[k]);
				seqs[x] = batch_end;
			}
		}
		crm_stmt_reset(ev);
		for (size_t k = 0; k < n; k++) {
			idp[k] = ids[k];
			/* A change is measured against the score last stored. */
			before[k] = -1;
			crm_score_get(db, ids[k], sc.m.id, &before[k], e);
		}
		t0 = crm_now();
		if ((n && crm_scoring_chunk(&sc, db, idp, n, NULL, out, e) < 0) ||
		    crm_scoring_flush(&sc, db, e) < 0)
			goto done;
		for (size_t k = 0; k < n; k++) {
			double ms = 1000 * (crm_now() - t0) / (double)n;
			struct crm_follow_change c;

			if (isnan(out[k].p) || out[k].merged)
				continue;	/* closed, gone, or merged away */
			st->rescored++;
			st->total_ms += ms;
			if (ms > st->max_ms)
				st->max_ms = ms;
			c.id = out[k].id;
			c.model = sc.m.id;
			c.score = (int)lround(100.0 * out[k].p);
			c.previous = before[k];
			c.probability = out[k].p;
			c.ms = ms;
			c.seq = seqs[k];
			if (c.score == before[k])
				continue;
			st->changed++;
			if (changed(ctx, &c)) {
				crm_err_clear(e);
				goto done;
			}
		}
		if (batch_end != cursor) {
			if (save_cursor(db, key, batch_end, e) < 0)
				goto done;
			cursor = batch_end;
		}
		st->cursor = cursor;
		if (!seen) {
			struct timespec ts = { 0, 250 * 1000 * 1000 };

			if (once)
				break;
			nanosleep(&ts, NULL);
		}
	}
	rc = 0;
done:
	st->cursor = cursor;
	crm_stmt_free(ev);
	if (opened)
		crm_scoring_release(&sc);
	free(ids);
	free(idp);
	free(seqs);
	free(before);
	free(out);
	return rc;
}

void crm_scorings_init(struct crm_scorings *x, struct crm_store *db)
{
	memset(x, 0, sizeof(*x));
	x->db = db;
}

void crm_scorings_release(struct crm_scorings *x)
{
	for (int k = 0; k < 2; k++)
		if (x->open[k])
			crm_scoring_release(&x->sc[k]);
	x->open[0] = x->open[1] = 0;
}

/* The scoring of deals (k 0) or contacts (k 1), opened if need be. */
static struct crm_scoring *scorings_get(struct crm_scorings *x, int k, struct crm_err *e)
{
	if (!x->open[k]) {
		if (crm_scoring_open(&x->sc[k], x->db, crm_entity_find(k ? "contact" : "deal"), e) < 0)
			return NULL;
		x->open[k] = 1;
	}
	return &x->sc[k];
}

/* 1 for a contact id, 0 for a deal id, -1 for any other. */
static int scorable(const char *id)
{
	const struct crm_entity *t = crm_entity_by_id(id);

	return !t ? -1 : !strcmp(t->kind, "contact") ? 1 : !strcmp(t->kind, "deal") ? 0 : -1;
}

/* Append the explanation in b to out, saying it was asked for as asked
 * (NDJSON: the object gets "merged_from"). */
static int add_merged_from(struct crm_buf *out, const struct crm_buf *b, const char *asked)
{
	json_t *o = json_loadb(b->data, b->len, 0, NULL);
	char *text;
	int rc = -1;

	if (o && !json_object_set_new(o, "merged_from", json_string(asked)) &&
	    (text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)))) {
		rc = crm_buf_adds(out, text) | crm_buf_addc(out, '\n');
		free(text);
	}
	json_decref(o);
	return rc;
}

int crm_scorings_explain(struct crm_scorings *x, const char *const *ids, size_t n, size_t top,
			 int flags, struct crm_buf *out,
			 void (*note)(void *ctx, const char *what), void *ctx, struct crm_err *e)
{
	struct crm_dataset d[2];
	char (*live)[CRM_ID_MAX] = calloc(n ? n : 1, sizeof(*live)), what[256];
	const char **want[2] = { calloc(n ? n : 1, sizeof(char *)), calloc(n ? n : 1, sizeof(char *)) };
	size_t nwant[2] = { 0, 0 };
	int *merged = calloc(n ? n : 1, sizeof(*merged)), missed = 0, rc = -1, built = 0;
	struct crm_buf b;

	crm_buf_init(&b, 0);
	if (!live || !merged || !want[0] || !want[1]) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	/* The models first, outside the read of the records: opening one
	 * may build the history rates from every record. */
	for (size_t k = 0; k < n; k++)
		if (scorable(ids[k]) >= 0 && !scorings_get(x, scorable(ids[k]), e))
			goto out;
	if (crm_store_begin_read(x->db, e) < 0)
		goto out;
	for (size_t k = 0; k < n; k++) {
		int c = scorable(ids[k]), r;

		snprintf(live[k], CRM_ID_MAX, "%s", ids[k]);
		if (c < 0)
			continue;
		if ((r = crm_merge_survivor(x->db, crm_entity_by_id(ids[k]), live[k])) < 0) {
			crm_err_set(e, CRM_EUNAVAILABLE, "%s: cannot read merges", crm_store_name(x->db));
			goto rollback;
		}
		merged[k] = r == 2;
		want[c][nwant[c]++] = live[k];
	}
	for (int k = 0; k < 2; k++) {
		const struct crm_entity *t = crm_entity_find(k ? "contact" : "deal");

		if (!nwant[k])
			crm_dataset_init(&d[k], t);
		else if (crm_dataset_build_ids(&d[k], x->db, t, want[k], nwant[k], &x->sc[k].m.schema,
					       x->sc[k].hist, e) < 0) {
			crm_dataset_release(&d[k]);	/* as far as it was built */
			if (k)
				crm_dataset_release(&d[0]);
			goto rollback;
		}
	}
	built = 1;
	for (size_t k = 0; k < n; k++) {
		int c = scorable(ids[k]);
		long row;

		if (c < 0) {
			snprintf(what, sizeof(what), "'%s' is not a deal or contact id", ids[k]);
			note(ctx, what);
			missed++;
			continue;
		}
		if ((row = crm_dataset_row(&d[c], live[k])) < 0) {
			snprintf(what, sizeof(what), "no %s '%s'", c ? "contact" : "deal", ids[k]);
			note(ctx, what);
			missed++;
			continue;
		}
		crm_buf_reset(&b);
		if (crm_explain_record(x->db, &x->sc[c].m, &d[c], (size_t)row, top, flags, &b, e) < 0)
			goto rollback;
		if (merged[k] && !(flags & CRM_EXPLAIN_TABLE)) {
			if (add_merged_from(out, &b, ids[k]) < 0) {
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				goto rollback;
			}
			continue;
		}
		if (merged[k]) {
			snprintf(what, sizeof(what), "%s was merged into %s: explained as %s",
				 ids[k], live[k], live[k]);
			note(ctx, what);
		}
		crm_buf_add(out, b.data, b.len);
	}
	rc = missed;
rollback:
	crm_store_rollback(x->db);	/* the read transaction: nothing written */
	if (built) {
		crm_dataset_release(&d[0]);
		crm_dataset_release(&d[1]);
	}
out:
	crm_buf_release(&b);
	free(live);
	free(merged);
	free(want[0]);
	free(want[1]);
	return rc;
}

int crm_scored_json(struct crm_buf *b, const char *line, size_t len, const struct crm_scored *o,
		    const char *model)
{
	size_t end = len;
	int rc = 0;

	crm_buf_reset(b);
	while (end && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\n'))
		end--;
	if (end && line[end - 1] == '}' && !memmem(line, len, "\"score\"", 7) &&
	    !memmem(line, len, "\"merged_into\"", 13) && !memmem(line, len, "\"reason\"", 8) &&
	    !memmem(line, len, "\"probability\"", 13) && !memmem(line, len, "\"model\"", 7)) {
		size_t k = end - 1;

		while (k && (line[k - 1] == ' ' || line[k - 1] == '\t'))
			k--;
		rc |= crm_buf_add(b, line, k);
		if (k && line[k - 1] != '{')
			rc |= crm_buf_addc(b, ',');
		if (o->merged)
			rc |= crm_buf_addf(b, "\"merged_into\":\"%s\",", o->id);
		if (o->outsider)
			rc |= crm_buf_adds(b, "\"in_database\":false,");
		if (isnan(o->p)) {
			rc |= crm_buf_adds(b, "\"score\":null,\"reason\":");
			rc |= crm_json_str(b, o->reason, strlen(o->reason));
		} else {
			rc |= crm_buf_addf(b, "\"score\":%ld,\"probability\":", lround(100.0 * o->p));
			rc |= crm_json_num(b, round(o->p * 1e4) / 1e4);
			rc |= crm_buf_addf(b, ",\"model\":\"%s\"", model);
		}
		return rc | crm_buf_adds(b, "}");
	}
	{
		json_t *j = json_loadb(line, len, 0, NULL);
		char *text;

		if (o->merged)
			json_object_set_new(j, "merged_into", json_string(o->id));
		if (o->outsider)
			json_object_set_new(j, "in_database", json_false());
		if (isnan(o->p)) {
			json_object_set_new(j, "score", json_null());
			json_object_set_new(j, "reason", json_string(o->reason));
		} else {
			json_object_set_new(j, "score", json_integer(lround(100.0 * o->p)));
			json_object_set_new(j, "probability", json_real(round(o->p * 1e4) / 1e4));
			json_object_set_new(j, "model", json_string(model));
		}
		text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
		rc = crm_buf_adds(b, text ? text : "");
		free(text);
		json_decref(j);
	}
	return rc;
}

int crm_scoring_summary(struct crm_buf *b, const struct crm_scoring *s)
{
	int rc = crm_buf_addf(b, "%zu %ss scored with model %s", s->scored, s->t->kind, s->m.id);

	if (s->merged)
		rc |= crm_buf_addf(b, " (%zu as the record they were merged into)", s->merged);
	if (s->closed)
		rc |= crm_buf_addf(b, "; %zu closed, not scored", s->closed);
	if (s->outsiders)
		rc |= crm_buf_addf(b, "; %zu not in the database, scored from their own fields", s->outsiders);
	if (s->missing)
		rc |= crm_buf_addf(b, "; %zu not in the database, not scored", s->missing);
	return rc;
}

void crm_scoring_run_release(struct crm_scoring_run *r)
{
	crm_model_release(&r->m);
	crm_dataset_release(&r->d);
	free(r->p);
	free(r->open);
	memset(r, 0, sizeof(*r));
}

int crm_scoring_run(struct crm_store *db, const struct crm_entity *t, struct crm_scoring_run *r,
		    struct crm_err *e)
{
	struct crm_buf h;
	char key[64], now[32];
	int rc = -1;

	memset(r, 0, sizeof(*r));
	crm_model_init(&r->m);
	crm_dataset_init(&r->d, t);
	if (crm_model_load(db, t, NULL, &r->m, e) < 0 || crm_override_load(db, t, &r->m, e) < 0 ||
	    crm_dataset_build(&r->d, db, NULL, &r->m.schema, e) < 0)
		return -1;
	r->p = malloc((r->d.n ? r->d.n : 1) * sizeof(*r->p));
	r->open = malloc((r->d.n ? r->d.n : 1) * sizeof(*r->open));
	if (!r->p || !r->open)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (r->d.n && crm_model_predict_adjusted(&r->m, &r->d, 0, r->d.n, r->p, e) < 0)
		return -1;
	for (size_t i = 0; i < r->d.n; i++)
		if (isnan(r->d.y[i]))
			r->open[r->nopen++] = i;
	crm_timestamp(now, sizeof(now));
	crm_buf_init(&h, 0);
	snprintf(key, sizeof(key), "history.%s", r->m.id);
	if (crm_dataset_history_json(&r->d, &h) < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	if (crm_store_begin(db, e) < 0)
		goto out;
	if (crm_store_set_meta(db, key, h.data, e) < 0)
		goto rollback;
	for (size_t k = 0; k < r->nopen; k++)
		if (crm_score_put(db, r->d.id[r->open[k]], r->m.id, r->p[r->open[k]], now, e) < 0)
			goto rollback;
	if (crm_store_commit(db, e) < 0)
		goto out;
	crm_scoring_rank(&r->d, r->p, r->open, r->nopen);
	rc = 0;
	goto out;
rollback:
	crm_store_rollback(db);
out:
	crm_buf_release(&h);
	return rc;
}

int crm_scoring_lines(struct crm_scoring *s, struct crm_store *db, char *const *line,
		      const size_t *len, size_t n, int (*put)(void *ctx, const char *line, size_t len),
		      void *ctx, struct crm_err *e)
{
	const char **ids = calloc(n ? n : 1, sizeof(*ids)), **json = calloc(n ? n : 1, sizeof(*json));
	struct crm_scored *out = calloc(n ? n : 1, sizeof(*out));
	char (*idv)[CRM_ID_MAX] = calloc(n ? n : 1, sizeof(*idv));
	struct crm_buf b;
	size_t k = 0;
	int rc = -1;

	crm_buf_init(&b, 0);
	if (!ids || !json || !out || !idv) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		crm_json_id(line[i], len[i], idv[i], CRM_ID_MAX);
		if (crm_entity_by_id(idv[i]) == s->t) {
			json[k] = line[i];
			ids[k++] = idv[i];
		}
	}
	if (crm_scoring_chunk(s, db, ids, k, json, out, e) < 0)
		goto out;
	rc = 0;
	k = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (crm_entity_by_id(idv[i]) != s->t) {	/* passed on */
			rc = put(ctx, line[i], len[i]);
			continue;
		}
		if (crm_scored_json(&b, line[i], len[i], &out[k++], s->m.id) < 0) {
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			break;
		}
		rc = put(ctx, b.data, b.len);
	}
out:
	crm_buf_release(&b);
	free(ids);
	free(json);
	free(out);
	free(idv);
	return rc;
}

int crm_scoring_run_json(struct crm_buf *b, const struct crm_scoring_run *r, size_t k, int why,
			 struct crm_err *e)
{
	size_t i = r->open[k];
	int rc = crm_buf_addf(b, "{\"type\":\"%s\",\"id\":\"%s\",\"score\":%ld,\"probability\":%.4f,"
			      "\"rank\":%zu,\"model\":\"%s\"", r->d.type->kind, r->d.id[i],
			      lround(100.0 * r->p[i]), r->p[i], k + 1, r->m.id);

	if (why) {
		struct crm_buf w;

		crm_buf_init(&w, 0);
		if (crm_explain_reason(&r->m, &r->d, i, &w, e) < 0) {
			crm_buf_release(&w);
			return -1;
		}
		rc |= crm_buf_adds(b, ",\"why\":") | crm_json_str(b, w.data ? w.data : "", w.len);
		crm_buf_release(&w);
	}
	if ((rc | crm_buf_adds(b, "}\n")) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 0;
}

int crm_follow_change_json(struct crm_buf *b, const char *kind, const struct crm_follow_change *c)
{
	return crm_buf_addf(b, "{\"type\":\"%s\",\"id\":\"%s\",\"score\":%d,\"previous\":%d,"
			    "\"probability\":%.4f,\"model\":\"%s\",\"seq\":%lld,\"ms\":%.2f}\n",
			    kind, c->id, c->score, c->previous, c->probability, c->model, c->seq, c->ms);
}

int crm_follow_summary(struct crm_buf *b, const struct crm_follow_stats *st)
{
	return crm_buf_addf(b, "%zu rescores, %zu changed; %.2f ms on average, %.2f at most; cursor %lld",
			    st->rescored, st->changed,
			    st->rescored ? st->total_ms / (double)st->rescored : 0.0, st->max_ms, st->cursor);
}
