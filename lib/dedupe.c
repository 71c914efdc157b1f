/*
 * dedupe.c - from scored pairs to merged records and a review queue.
 *
 * crm-dedupe's decisions live here so that any front end (the command,
 * later the server) merges and reviews the same way.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dedupe.h"
#include "id.h"
#include "merge.h"
#include "ndjson.h"
#include "store/store.h"

#define MERGES_PER_TX 500

int crm_dedupe_drop_rejected(struct crm_store *db, struct crm_linkage *lk,
			     struct crm_err *e)
{
	struct crm_stmt *st;

	if (crm_store_prepare(db, "SELECT 1 FROM match_reviews WHERE status = 'rejected' AND "
			      "((a_id = ?1 AND b_id = ?2) OR (a_id = ?2 AND b_id = ?1))", 0, &st, e) < 0)
		return -1;
	for (size_t k = 0; k < lk->npairs; k++) {
		struct crm_pair *p = &lk->pairs[k];

		if (p->p < 0.5)
			continue;
		crm_stmt_bind_text_ref(st, 1, lk->id[p->a], (size_t)-1);
		crm_stmt_bind_text_ref(st, 2, lk->id[p->b], (size_t)-1);
		if (crm_stmt_step(st, e) > 0)
			p->p = 0;
		crm_stmt_reset(st);
	}
	crm_stmt_free(st);
	return 0;
}

/* The index in lk of the record id lives on now (merged_into followed),
 * or -1. */
static long living(struct crm_linkage *lk, struct crm_stmt *up, const char *id)
{
	char cur[CRM_ID_MAX];
	struct crm_err e = { 0 };

	snprintf(cur, sizeof(cur), "%s", id);
	for (int hop = 0; hop < 64; hop++) {
		long i = crm_linkage_find(lk, cur);
		int rc;

		if (i >= 0)
			return i;
		crm_stmt_bind_text_ref(up, 1, cur, (size_t)-1);
		rc = crm_stmt_step(up, &e);
		if (rc == 1 && crm_stmt_type(up, 0) != CRM_NULL)
			snprintf(cur, sizeof(cur), "%s", crm_stmt_text(up, 0));
		crm_stmt_reset(up);
		if (rc != 1)
			return -1;
	}
	return -1;
}

int crm_dedupe_hold_open(struct crm_store *db, struct crm_linkage *lk, double automerge,
			 struct crm_err *e)
{
	struct crm_stmt *st, *up;
	char sql[160];
	float under = nextafterf((float)automerge, 0);
	int rc;

	while ((double)under >= automerge)
		under = nextafterf(under, 0);
	snprintf(sql, sizeof(sql), "SELECT merged_into FROM %s WHERE id = ?1", lk->type->table);
	if (crm_store_prepare(db, "SELECT a_id, b_id FROM match_reviews WHERE entity = ?1 AND "
			      "status = 'open'", 0, &st, e) < 0)
		return -1;
	if (crm_store_prepare(db, sql, 0, &up, e) < 0) {
		crm_stmt_free(st);
		return -1;
	}
	crm_stmt_bind_text_ref(st, 1, lk->type->kind, (size_t)-1);
	while ((rc = crm_stmt_step(st, e)) == 1) {
		long a = living(lk, up, crm_stmt_text(st, 0)), b = living(lk, up, crm_stmt_text(st, 1));
		struct crm_pair *p = a >= 0 && b >= 0 && a != b ?
				     crm_linkage_pair_find(lk, (uint32_t)a, (uint32_t)b) : NULL;

		if (p && p->p >= automerge)
			p->p = under;
	}
	crm_stmt_free(up);
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

int crm_dedupe_learn_reviews(struct crm_store *db, struct crm_linkage *lk, size_t *used,
			     struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	*used = 0;
	if (crm_store_prepare(db, "SELECT fields, status, probability FROM match_reviews WHERE entity = ?1 AND "
			      "status <> 'open' AND fields IS NOT NULL ORDER BY id", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, lk->type->kind, (size_t)-1);
	while ((rc = crm_stmt_step(st, e)) == 1)
		*used += (size_t)crm_linkage_label_json(lk, crm_stmt_text(st, 0),
							crm_stmt_type(st, 2) == CRM_NULL ? NAN :
							crm_stmt_double(st, 2),
							!strcmp(crm_stmt_text(st, 1), "accepted"));
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

/* The meta key of type's saved model, into k (>= 64). */
static void model_key(const struct crm_linkage *lk, char *k)
{
	snprintf(k, 64, "dedupe.model.%s", lk->type->kind);
}

int crm_dedupe_model_load(struct crm_store *db, struct crm_linkage *lk, char *when, size_t n,
			  struct crm_err *e)
{
	char key[64], *v = malloc(65536);
	int rc;

	if (!v)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	model_key(lk, key);
	rc = crm_store_text1(db, "SELECT value FROM meta WHERE key = ?1", key, v, 65536, e);
	if (rc == 1 && (rc = crm_linkage_m_take(lk, v)) == 1) {
		json_t *o = json_loads(v, 0, NULL);
		const char *at = json_string_value(json_object_get(o, "saved_at"));

		snprintf(when, n, "%s", at ? at : "?");
		json_decref(o);
	}
	free(v);
	return rc;
}

int crm_dedupe_model_save(struct crm_store *db, const struct crm_linkage *lk, struct crm_err *e)
{
	struct crm_buf b;
	char key[64], now[40];
	const char *p[2];
	long long rc;

	crm_buf_init(&b, 0);
	if (crm_linkage_m_json(lk, &b) < 0 || !b.len) {
		crm_buf_release(&b);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	crm_timestamp(now, sizeof(now));
	b.len--;	/* the closing brace: the time goes in */
	if (crm_buf_addf(&b, ",\"saved_at\":\"%s\"}", now) < 0) {
		crm_buf_release(&b);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	model_key(lk, key);
	p[0] = key;
	p[1] = b.data;
	rc = crm_store_run(db, "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", p, 2, e);
	crm_buf_release(&b);
	return rc < 0 ? -1 : 0;
}

int crm_dedupe_fields_json(const struct crm_linkage *lk, const struct crm_pair *p,
			   struct crm_buf *f)
{
	int rc = crm_buf_addc(f, '{');
	double w[CRM_LINK_MAXF];

	crm_linkage_pair_weights(lk, p, w);
	for (size_t i = 0; i < lk->nf; i++) {
		if (i)
			rc |= crm_buf_addc(f, ',');
		rc |= crm_json_str(f, lk->f[i].name, strlen(lk->f[i].name));
		rc |= crm_buf_addf(f, ":{\"level\":\"%s\",\"weight\":%.3f}",
				   crm_level_name(p->lev[i]), w[i]);
	}
	return rc | crm_buf_addc(f, '}');
}

/*
 * Do records a and b of t have two different owners? 1 yes (their names
 * into owners, "A and B"), 0 no, -1 on a database error.
 */
static int owners_differ(struct crm_store *db, const struct crm_entity *t, const char *a,
			 const char *b, char *owners, size_t n)
{
	char sql[256];
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	int rc = 0;

	if (crm_entity_field(t, "owner") < 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT x.owner, y.owner FROM %s x, %s y WHERE x.id = ?1 AND y.id = ?2 "
		 "AND x.owner IS NOT NULL AND y.owner IS NOT NULL AND x.owner != y.owner",
		 t->table, t->table);
	if (!(st = crm_store_stmt_text(db, sql, &e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, a, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, b, (size_t)-1);
	if ((rc = crm_stmt_step(st, &e)) == 1)
		snprintf(owners, n, "%s and %s", crm_stmt_text(st, 0), crm_stmt_text(st, 1));
	crm_store_stmt_done(st);
	return rc;
}

/*
 * Is one of records a and b of t the other's parent (an account and its
 * subsidiary)? 1 yes, 0 no, -1 on a database error.
 */
static int parent_child(struct crm_store *db, const struct crm_entity *t, const char *a,
			const char *b)
{
	char sql[256];
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	int rc;

	if (crm_entity_field(t, "parent_id") < 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE (id = ?1 AND parent_id = ?2) OR "
		 "(id = ?2 AND parent_id = ?1)", t->table);
	if (!(st = crm_store_stmt_text(db, sql, &e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, a, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, b, (size_t)-1);
	rc = crm_stmt_step(st, &e);
	crm_store_stmt_done(st);
	return rc;
}

/*
 * Must a person decide on merging a and b? Two owners, or a parent and
 * its child: 1, and why (n bytes); 0 no; -1 on a database error.
 */
static int kept_apart(struct crm_store *db, const struct crm_entity *t, const char *a,
		      const char *b, char *why, size_t n)
{
	char owners[300];
	int rc = parent_child(db, t, a, b);

	if (rc)
		return rc < 0 ? -1 : (snprintf(why, n, "parent and child"), 1);
	if ((rc = owners_differ(db, t, a, b, owners, sizeof(owners))) > 0)
		snprintf(why, n, "two owners: %s", owners);
	return rc;
}

const char *crm_dedupe_action(struct crm_store *db, const struct crm_linkage *lk,
			      const struct crm_pair *p, const uint32_t *cluster,
			      double automerge, double review, char *why, size_t n)
{
	*why = 0;
	if (p->a >= lk->n_db || p->b >= lk->n_db)
		snprintf(why, n, "not in the database (a dry run upstream?): compared by its own fields, not merged");
	if (p->p < review)
		return "distinct";
	if (*why)
		return p->p < automerge ? "review" : "merge";
	if (p->p < automerge)
		return "review";
	if (cluster && cluster[p->a] != cluster[p->b]) {
		snprintf(why, n, "held apart: other records of the two groups do not match");
		return "review";
	}
	if (kept_apart(db, lk->type, lk->id[p->a], lk->id[p->b], why, n) > 0)
		return "review";
	*why = 0;
	return "merge";
}

/* Queue a and b for review (once per pair); 1 if queued, 0 if it was. */
static int queue_review(struct crm_stmt *q, const char *kind, const char *a,
			const char *b, double p, double w, const char *fields,
			const char *reason, const char *now, struct crm_err *e)
{
	char rid[CRM_ID_MAX];

	if (strcmp(a, b) > 0) {
		const char *tmp = a;

		a = b;
		b = tmp;
	}
	crm_id_new("r_", rid);
	crm_stmt_bind_text_ref(q, 1, rid, (size_t)-1);
	crm_stmt_bind_text_ref(q, 2, kind, (size_t)-1);
	crm_stmt_bind_text_ref(q, 3, a, (size_t)-1);
	crm_stmt_bind_text_ref(q, 4, b, (size_t)-1);
	crm_stmt_bind_double(q, 5, p);
	if (isnan(w))
		crm_stmt_bind_null(q, 6);
	else
		crm_stmt_bind_double(q, 6, w);
	crm_stmt_bind_text_ref(q, 7, fields, (size_t)-1);
	crm_stmt_bind_text_ref(q, 8, now, (size_t)-1);
	if (reason)
		crm_stmt_bind_text_ref(q, 9, reason, (size_t)-1);
	else
		crm_stmt_bind_null(q, 9);
	if (crm_stmt_step(q, e) < 0) {
		crm_stmt_reset(q);
		return -1;
	}
	crm_stmt_reset(q);
	return crm_stmt_changes(q) > 0;
}

int crm_dedupe_apply(struct crm_store *db, const struct crm_linkage *lk,
		     const uint32_t *cluster, double automerge, double review,
		     void (*warn)(void *ctx, const char *msg), void *ctx,
		     struct crm_dedupe_result *res, struct crm_err *e)
{
	const char **live = calloc(lk->n ? lk->n : 1, sizeof(*live));	/* group -> survivor */
	double *best = calloc(lk->n ? lk->n : 1, sizeof(*best));
	char *held = calloc(lk->n ? lk->n : 1, 1);	/* left unmerged: two owners */
	struct crm_stmt *q = NULL;
	struct crm_buf f;
	int in_tx = 0, rc = -1;
	char now[32];

	memset(res, 0, sizeof(*res));
	crm_buf_init(&f, 0);
	if (!live || !best || !held) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	/* Each record's strongest link into its group, for the merge log. */
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];

		if (cluster[p->a] == cluster[p->b] && p->p >= automerge) {
			if (p->p > best[p->a])
				best[p->a] = p->p;
			if (p->p > best[p->b])
				best[p->b] = p->p;
		}
	}
	crm_timestamp(now, sizeof(now));
	/* Merging reads and writes pages all over the table and its
	 * indexes: a larger page cache for this connection. */
	crm_store_bulk(db, 64, 0);
	if (crm_store_prepare(db, "INSERT INTO match_reviews (id, entity, a_id, b_id, probability, weight, fields, created_at, reason) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (a_id, b_id) DO NOTHING",
			      0, &q, e) < 0)
		goto out;
	for (uint32_t i = 0; i < lk->n; i++) {
		uint32_t g = cluster[i];
		struct crm_merge_info info = { best[i], NAN, "auto", NULL };
		char mid[CRM_ID_MAX], surv[CRM_ID_MAX], why[340];
		int od;

		if (g == i) {
			live[i] = lk->id[i];
			continue;
		}
		/* A record on its way in but not in the database (a dry run
		 * upstream) is compared, never merged. */
		if (i >= lk->n_db || g >= lk->n_db) {
			held[i] = 1;
			continue;
		}
		if (!in_tx && crm_store_begin(db, e) < 0)
			goto out;
		in_tx = 1;
		/* Records of two owners, or a parent and its child, are never
		 * merged without a person: the pair waits in the review
		 * queue, saying why. */
		if ((od = kept_apart(db, lk->type, live[g], lk->id[i], why, sizeof(why))) < 0) {
			crm_err_set(e, CRM_EUNAVAILABLE, "cannot read the owners of %s and %s", live[g], lk->id[i]);
			goto out;
		}
		if (od) {
			int qr;

			if ((qr = queue_review(q, lk->type->kind, live[g], lk->id[i], best[i], NAN,
					       "{}", why, now, e)) < 0)
				goto out;
			res->queued += qr;
			res->held++;
			held[i] = 1;
			continue;
		}
		if (crm_merge(db, lk->type, live[g], lk->id[i], &info, mid, surv, e) < 0) {
			char msg[CRM_ERR_MAX + 80];

			if (e->code != CRM_EDATA)
				goto out;
			snprintf(msg, sizeof(msg), "merge %s %s: %s", live[g], lk->id[i], e->msg);
			if (warn)
				warn(ctx, msg);
			res->failed++;
			continue;
		}
		if (strcmp(surv, live[g]) != 0)
			live[g] = lk->id[i];
		if (++res->merged % MERGES_PER_TX == 0) {
			if (crm_store_commit(db, e) < 0)
				goto out_committed;
			in_tx = 0;
		}
	}
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];
		int qr;

		if (p->p < review ||
		    (cluster[p->a] == cluster[p->b] && !held[p->a] && !held[p->b]) ||
		    (p->p >= automerge && cluster[p->a] == cluster[p->b]) ||
		    p->a >= lk->n_db || p->b >= lk->n_db)
			continue;
		if (!in_tx && crm_store_begin(db, e) < 0)
			goto out;
		in_tx = 1;
		crm_buf_reset(&f);
		if (crm_dedupe_fields_json(lk, p, &f) < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		/* Between the records that are left: a merged one's survivor. */
		if ((qr = queue_review(q, lk->type->kind,
				       held[p->a] ? lk->id[p->a] : live[cluster[p->a]],
				       held[p->b] ? lk->id[p->b] : live[cluster[p->b]],
				       p->p, p->weight, f.data,
				       p->p >= automerge ? "held apart: other records of the two groups do not match" : NULL,
				       now, e)) < 0)
			goto out;
		res->queued += qr;
	}
	if (in_tx && crm_store_commit(db, e) < 0)
		goto out_committed;
	in_tx = 0;
	rc = 0;
	goto out_committed;
out:
	if (in_tx)
		crm_store_rollback(db);
out_committed:
	crm_stmt_free(q);
	crm_buf_release(&f);
	free(live);
	free(best);
	free(held);
	return rc;
}

int crm_review_decide(struct crm_store *db, const char *review_id, int accept,
		      char *merge_id, char *survivor, char *merged,
		      struct crm_err *e)
{
	const struct crm_entity *t;
	struct crm_stmt *st;
	char a[CRM_ID_MAX], b[CRM_ID_MAX], now[32];
	double p = NAN, w = NAN;

	merge_id[0] = survivor[0] = merged[0] = '\0';
	if (crm_store_begin(db, e) < 0)
		return -1;
	if (crm_store_prepare(db, "SELECT entity, a_id, b_id, probability, weight FROM match_reviews "
			      "WHERE id = ?1 AND status = 'open'", 0, &st, e) < 0)
		goto fail;
	crm_stmt_bind_text_ref(st, 1, review_id, (size_t)-1);
	if (crm_stmt_step(st, e) <= 0 ||
	    !(t = crm_entity_find(crm_stmt_text(st, 0)))) {
		crm_stmt_free(st);
		crm_err_set(e, CRM_EDATA, "no open review '%s'", review_id);
		goto fail;
	}
	snprintf(a, sizeof(a), "%s", crm_stmt_text(st, 1));
	snprintf(b, sizeof(b), "%s", crm_stmt_text(st, 2));
	if (crm_stmt_type(st, 3) != CRM_NULL)
		p = crm_stmt_double(st, 3);
	if (crm_stmt_type(st, 4) != CRM_NULL)
		w = crm_stmt_double(st, 4);
	crm_stmt_free(st);
	if (accept) {
		struct crm_merge_info info = { p, w, "review", NULL };

		/* Either side may have been merged since: use the survivors. */
		if (crm_merge_survivor(db, t, a) <= 0 || crm_merge_survivor(db, t, b) <= 0) {
			crm_err_set(e, CRM_EDATA, "%s: a record of the pair is gone", review_id);
			goto fail;
		}
		if (!strcmp(a, b)) {
			snprintf(survivor, CRM_ID_MAX, "%s", a);
		} else {
			if (crm_merge(db, t, a, b, &info, merge_id, survivor, e) < 0)
				goto fail;
			snprintf(merged, CRM_ID_MAX, "%s", strcmp(survivor, a) ? a : b);
		}
	}
	crm_timestamp(now, sizeof(now));
	{
		const char *par[] = { accept ? "accepted" : "rejected", now, review_id };

		if (crm_store_run(db, "UPDATE match_reviews SET status = ?1, decided_at = ?2 WHERE id = ?3",
				  par, 3, e) < 0)
			goto fail;
	}
	return crm_store_commit(db, e);
fail:
	crm_store_rollback(db);
	return -1;
}

int crm_dedupe_review_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e)
{
	return crm_store_prepare(db, "SELECT id, entity, a_id, b_id, probability, weight, reason, fields, "
				 "created_at FROM match_reviews WHERE status = 'open' "
				 "ORDER BY reason IS NULL, probability DESC", 0, st, e);
}

/* ---- a run -------------------------------------------------------------- */

/* A saved model serves the runs after it when it saw this many matches. */
#define MODEL_MIN_MATCHES 50

int crm_dedupe_load(struct crm_store *db, const struct crm_dedupe_opts *o,
		    struct crm_dedupe_run *r, struct crm_err *e)
{
	memset(r, 0, sizeof(*r));
	r->before[0] = r->before[1] = NAN;
	r->t0 = crm_now();
	crm_linkage_init(&r->lk, o->type);
	if (o->block_cap)
		r->lk.block_cap = o->block_cap;
	if (o->fields) {
		if (crm_linkage_add_fields(&r->lk, o->fields, e) < 0) {
			char msg[CRM_ERR_MAX];

			snprintf(msg, sizeof(msg), "%s", e->msg);
			return crm_err_set(e, e->code, "--fields: %s", msg);
		}
	} else if (crm_linkage_auto_fields(&r->lk, db, e) < 0) {
		return -1;
	}
	return crm_linkage_load(&r->lk, db, e);
}

long crm_dedupe_add_outsiders(struct crm_store *db, struct crm_dedupe_run *r, char *const *lines,
			      size_t n, struct crm_err *e)
{
	struct crm_linkage *lk = &r->lk;
	struct crm_stmt *st;
	char sql[96];
	long added = 0;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = ?1", lk->type->table);
	if (crm_store_prepare(db, sql, 0, &st, e) < 0)
		return -1;
	for (size_t k = 0; k < n && added >= 0; k++) {
		json_t *o = json_loads(lines[k], 0, NULL), *t, *attrs;
		const char *id, *raw[CRM_LINK_MAXF];
		char num[CRM_LINK_MAXF][32];
		int there;

		t = json_object_get(o, "type");
		id = json_string_value(json_object_get(o, "id"));
		if (!id || (json_is_string(t) && crm_entity_find(json_string_value(t)) != lk->type) ||
		    crm_linkage_find(lk, id) >= 0) {
			json_decref(o);
			continue;
		}
		crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
		there = crm_stmt_step(st, e);
		crm_stmt_reset(st);
		if (there != 0) {	/* merged away (its survivor speaks for it), or an error */
			json_decref(o);
			if (there < 0)
				added = -1;
			continue;
		}
		attrs = json_object_get(o, "attrs");
		for (size_t i = 0; i < lk->nf; i++) {
			const char *name = lk->f[i].name;
			json_t *v = !strncmp(name, "attrs.", 6) ? json_object_get(attrs, name + 6)
								: json_object_get(o, name);

			raw[i] = json_string_value(v);
			if (!raw[i] && json_is_number(v)) {
				snprintf(num[i], sizeof(num[i]), "%.17g", json_number_value(v));
				raw[i] = num[i];
			}
		}
		added = crm_linkage_add_record(lk, id, raw, e) < 0 ? -1 : added + 1;
		json_decref(o);
	}
	crm_stmt_free(st);
	return added;
}

int crm_dedupe_fit(struct crm_store *db, const struct crm_dedupe_opts *o, struct crm_dedupe_run *r,
		   int (*incoming)(void *ctx, const char *id), void *ictx, struct crm_err *e)
{
	struct crm_linkage *lk = &r->lk;

	if (crm_linkage_block(lk, e) < 0 ||
	    (o->train && crm_linkage_read_labels(lk, o->train, o->warn, o->ctx, e) < 0) ||
	    (o->learn && crm_dedupe_learn_reviews(db, lk, &r->learnt, e) < 0) ||
	    (!o->retrain && !o->fields && crm_dedupe_model_load(db, lk, r->saved, sizeof(r->saved), e) < 0) ||
	    crm_linkage_train(lk, o->seed, e) < 0 || crm_dedupe_drop_rejected(db, lk, e) < 0)
		return -1;
	if (lk->nlabelled && lk->npairs) {
		double unsure;

		crm_linkage_estimate(lk, o->automerge, &r->before[0], &r->before[1], &unsure);
		if (crm_pairmodel_learn(&r->pm, lk, o->seed, e) < 0)
			return -1;
	}
	if (crm_dedupe_hold_open(db, lk, o->automerge, e) < 0)
		return -1;
	/* From a pipe: each incoming record may join its best match only;
	 * duplicates among the records already there are --all's business. */
	if (incoming && crm_linkage_keep_best(lk, incoming, ictx) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	/* No cap worth the name on a group: 20 copies of one person come
	 * together; the bound only keeps one runaway join from costing n^2. */
	return crm_linkage_cluster(lk, o->automerge, o->review, 5000, &r->cluster, &r->weakest, e);
}

void crm_dedupe_run_release(struct crm_dedupe_run *r)
{
	free(r->cluster);
	free(r->weakest);
	crm_pairmodel_release(&r->pm);
	crm_linkage_release(&r->lk);
	memset(r, 0, sizeof(*r));
}

int crm_dedupe_pair_json(struct crm_buf *b, const struct crm_dedupe_run *r,
			 const struct crm_pair *p, const char *action, const char *why)
{
	const struct crm_linkage *lk = &r->lk;
	uint32_t g = r->cluster[p->a];
	int rc = crm_buf_adds(b, "{\"type\":\"match\",\"a\":");

	rc |= crm_json_str(b, lk->id[p->a], strlen(lk->id[p->a]));
	rc |= crm_buf_adds(b, ",\"b\":");
	rc |= crm_json_str(b, lk->id[p->b], strlen(lk->id[p->b]));
	rc |= crm_buf_adds(b, ",\"probability\":");
	rc |= crm_json_num(b, round((double)p->p * 1e6) / 1e6);
	rc |= crm_buf_adds(b, ",\"weight\":");
	rc |= crm_json_num(b, round((double)p->weight * 1e3) / 1e3);
	rc |= crm_buf_addf(b, ",\"action\":\"%s\",", action);
	if (*why) {
		rc |= crm_buf_adds(b, "\"why\":");
		rc |= crm_json_str(b, why, strlen(why));
		rc |= crm_buf_addc(b, ',');
	}
	rc |= crm_buf_adds(b, "\"group\":");
	rc |= crm_json_str(b, lk->id[g], strlen(lk->id[g]));
	if (r->weakest[g] < 1) {
		rc |= crm_buf_adds(b, ",\"weakest\":");
		rc |= crm_json_num(b, round((double)r->weakest[g] * 1e6) / 1e6);
	}
	rc |= crm_buf_adds(b, ",\"fields\":");
	rc |= crm_dedupe_fields_json(lk, p, b);
	return rc | crm_buf_adds(b, "}\n");
}

const struct crm_pair **crm_dedupe_best(const struct crm_dedupe_run *r)
{
	const struct crm_linkage *lk = &r->lk;
	const struct crm_pair **best = calloc(lk->n ? lk->n : 1, sizeof(*best));

	if (!best)
		return NULL;
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];

		if (!best[p->a] || p->p > best[p->a]->p)
			best[p->a] = p;
		if (!best[p->b] || p->p > best[p->b]->p)
			best[p->b] = p;
	}
	return best;
}

int crm_dedupe_annotate(struct crm_store *db, const struct crm_dedupe_opts *o,
			struct crm_dedupe_run *r, const struct crm_pair *const *best,
			json_t *rec, int dry, struct crm_err *e)
{
	const char *rid = json_string_value(json_object_get(rec, "id"));
	long x = rid ? crm_linkage_find(&r->lk, rid) : -1;
	const struct crm_pair *p = x >= 0 ? best[x] : NULL;
	json_t *d = json_object();
	int rc = 0;

	if (p && p->p >= o->review) {
		char why[340];
		const char *act = crm_dedupe_action(db, &r->lk, p, r->cluster, o->automerge, o->review,
						    why, sizeof(why));

		json_object_set_new(d, "of", json_string(r->lk.id[(long)p->a == x ? p->b : p->a]));
		json_object_set_new(d, "probability", json_real(round((double)p->p * 1e6) / 1e6));
		json_object_set_new(d, "action", json_string(act));
		if (*why)
			json_object_set_new(d, "why", json_string(why));
	} else {
		json_object_set_new(d, "action", json_string("distinct"));
	}
	if (!dry && rid) {
		char sql[128];
		struct crm_stmt *st;

		snprintf(sql, sizeof(sql), "SELECT merged_into FROM %s WHERE id = ?1", r->lk.type->table);
		if (!(st = crm_store_stmt_text(db, sql, e))) {
			rc = -1;
		} else {
			crm_stmt_bind_text_ref(st, 1, rid, (size_t)-1);
			if ((rc = crm_stmt_step(st, e)) > 0 && crm_stmt_type(st, 0) != CRM_NULL)
				json_object_set_new(d, "merged_into", json_string(crm_stmt_text(st, 0)));
			crm_store_stmt_done(st);
			rc = rc < 0 ? -1 : 0;
		}
	}
	json_object_set_new(rec, "duplicate", d);
	return rc;
}

int crm_dedupe_report(struct crm_buf *b, const struct crm_dedupe_opts *o, struct crm_dedupe_run *r,
		      size_t nmerge, size_t nreview, const struct crm_dedupe_result *res)
{
	const struct crm_linkage *lk = &r->lk;
	double all = (double)lk->n * (double)(lk->n ? lk->n - 1 : 0) / 2;
	struct crm_merge_estimate me;
	struct crm_err e = { 0 };
	int rc = crm_buf_addf(b, "%zu %s", lk->n, lk->type->table);

	if (lk->skipped)
		rc |= crm_buf_addf(b, " (%zu skipped: none of the compared fields)", lk->skipped);
	rc |= crm_buf_addf(b, ", %zu fields, %zu pairs compared (%.4f%% of all %.0f) by %zu blocking rules",
			   lk->nf, lk->npairs, all ? 100.0 * (double)lk->npairs / all : 0.0, all, lk->nrules);
	if (lk->dropped_rules)
		rc |= crm_buf_addf(b, " (%zu more dropped: too broad)", lk->dropped_rules);
	if (lk->big_blocks)
		rc |= crm_buf_addf(b, ", %llu blocks over the cap", (unsigned long long)lk->big_blocks);
	if (lk->nlabels[0] + lk->nlabels[1]) {
		rc |= crm_buf_addf(b, "; %zu labelled pairs (%zu matches", lk->nlabels[0] + lk->nlabels[1],
				   lk->nlabels[1]);
		if (r->learnt)
			rc |= crm_buf_addf(b, "; %zu from decisions in the review queue", r->learnt);
		rc |= crm_buf_addc(b, ')');
	}
	if (lk->m_given)
		rc |= crm_buf_addf(b, "; how copies differ as learnt by the run of %s (--retrain to learn it again)",
				   r->saved);
	rc |= crm_buf_addf(b, "; EM %d iterations, %.0f matches expected; %zu pairs >= %.2f, %zu to review",
			   lk->iterations, lk->lambda * all, nmerge, o->automerge, nreview);
	if (!res)
		rc |= crm_buf_adds(b, "; dry run: nothing changed");
	else
		rc |= crm_buf_addf(b, "; %zu records merged, %zu new reviews", res->merged, res->queued);
	if (res && res->held)
		rc |= crm_buf_addf(b, " (%zu sure pairs of two owners or of a parent and child among them, "
				   "left to a person)", res->held);
	rc |= crm_buf_addf(b, "; %.2f s\n", crm_now() - r->t0);
	for (size_t i = 0; i < lk->nf; i++) {
		rc |= crm_buf_addf(b, "  %-24s %-8s exact %+6.2f  close %+6.2f  fuzzy %+6.2f  different %+6.2f",
				   lk->f[i].name, crm_cmp_name(lk->f[i].cmp), crm_linkage_field_weight(lk, i, 1),
				   crm_linkage_field_weight(lk, i, 2), crm_linkage_field_weight(lk, i, 3),
				   crm_linkage_field_weight(lk, i, 4));
		if (lk->f[i].parent >= 0)
			rc |= crm_buf_addf(b, "  (between strangers, goes with %s)", lk->f[lk->f[i].parent].name);
		rc |= crm_buf_addc(b, '\n');
	}
	if (lk->npairs) {
		double prec, rec, unsure;

		crm_linkage_estimate(lk, o->automerge, &prec, &rec, &unsure);
		rc |= crm_buf_addf(b, "  the model's own estimate at %g: precision %.4f, recall %.4f "
				   "of the matches among the candidates\n", o->automerge, prec, rec);
		if (r->pm.used)
			rc |= crm_buf_addf(b, "  pair model from %zu decisions (%zu matches) and %zu sure pairs: "
					   "%d rounds, held-out log loss %.3f with the weights alone, %.3f with it; "
					   "the estimate before it: precision %.4f, recall %.4f\n",
					   r->pm.decisions, r->pm.matches, r->pm.anchors, r->pm.rounds,
					   r->pm.loss_weights, r->pm.loss_model, r->before[0], r->before[1]);
		else if (r->pm.why[0])
			rc |= crm_buf_addf(b, "  no pair model: %s\n", r->pm.why);
	}
	if (r->cluster && crm_linkage_merge_estimate(lk, r->cluster, 20000, &me, &e) == 0) {
		rc |= crm_buf_addf(b, "  the groups the merge leaves, as the model sees them: precision %.3f "
				   "(+-%.3f), recall %.3f (+-%.3f) of the %.0f it expects, %.0f of them outside "
				   "the candidates (%zu pairs sampled)\n", me.precision, 2 * me.precision_sd,
				   me.recall, 2 * me.recall_sd, me.expected_matches, me.outside, me.sampled);
		rc |= crm_buf_addf(b, "  blocking: the candidates hold %.1f%% of the matches expected\n",
				   100 * me.completeness);
	}
	return rc;
}

int crm_dedupe_finish(struct crm_store *db, const struct crm_dedupe_opts *o,
		      struct crm_dedupe_run *r, int save, char *doubt, size_t n, struct crm_err *e)
{
	const struct crm_linkage *lk = &r->lk;
	int poor = crm_linkage_check(lk, o->automerge, doubt, n);

	if (!poor)
		*doubt = '\0';
	if (save && !o->fields && !lk->m_given && (!poor || poor == CRM_LINK_UNSURE) &&
	    lk->lambda * (double)lk->n * (double)(lk->n ? lk->n - 1 : 0) / 2 >= MODEL_MIN_MATCHES)
		return crm_dedupe_model_save(db, lk, e);
	return 0;
}
