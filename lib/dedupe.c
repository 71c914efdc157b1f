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

#include "db.h"
#include "dedupe.h"
#include "merge.h"
#include "ndjson.h"

#define MERGES_PER_TX 500

int crm_dedupe_drop_rejected(sqlite3 *db, struct crm_linkage *lk,
			     struct crm_err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM match_reviews WHERE status = 'rejected' AND "
			       "((a_id = ?1 AND b_id = ?2) OR (a_id = ?2 AND b_id = ?1))",
			       -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(db, e, "cannot read the review queue");
	for (size_t k = 0; k < lk->npairs; k++) {
		struct crm_pair *p = &lk->pairs[k];

		if (p->p < 0.5)
			continue;
		sqlite3_bind_text(st, 1, lk->id[p->a], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, lk->id[p->b], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			p->p = 0;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return 0;
}

/* The per-field levels and weights of a pair, as a JSON object. */
static int fields_json(const struct crm_linkage *lk, const struct crm_pair *p,
		       struct crm_buf *f)
{
	int rc = crm_buf_addc(f, '{');

	for (size_t i = 0; i < lk->nf; i++) {
		if (i)
			rc |= crm_buf_addc(f, ',');
		rc |= crm_json_str(f, lk->f[i].name, strlen(lk->f[i].name));
		rc |= crm_buf_addf(f, ":{\"level\":\"%s\",\"weight\":%.3f}",
				   crm_level_name(p->lev[i]),
				   crm_linkage_field_weight(lk, i, p->lev[i]));
	}
	return rc | crm_buf_addc(f, '}');
}

int crm_dedupe_apply(sqlite3 *db, const struct crm_linkage *lk,
		     const uint32_t *cluster, double automerge, double review,
		     void (*warn)(void *ctx, const char *msg), void *ctx,
		     struct crm_dedupe_result *res, struct crm_err *e)
{
	const char **live = calloc(lk->n ? lk->n : 1, sizeof(*live));	/* group -> survivor */
	double *best = calloc(lk->n ? lk->n : 1, sizeof(*best));
	sqlite3_stmt *q = NULL;
	struct crm_buf f;
	int in_tx = 0, rc = -1;
	char now[32];

	memset(res, 0, sizeof(*res));
	crm_buf_init(&f, 0);
	if (!live || !best) {
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
	for (uint32_t i = 0; i < lk->n; i++) {
		uint32_t g = cluster[i];
		struct crm_merge_info info = { best[i], NAN, "auto" };
		char mid[CRM_ID_MAX], surv[CRM_ID_MAX];

		if (g == i) {
			live[i] = lk->id[i];
			continue;
		}
		if (!in_tx && crm_db_begin(db, e) < 0)
			goto out;
		in_tx = 1;
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
			if (crm_db_commit(db, e) < 0)
				goto out_committed;
			in_tx = 0;
		}
	}
	crm_db_timestamp(now, sizeof(now));
	if (sqlite3_prepare_v2(db, "INSERT INTO match_reviews (id, entity, a_id, b_id, probability, weight, fields, created_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (a_id, b_id) DO NOTHING",
			       -1, &q, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot write the review queue");
		goto out;
	}
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];
		const char *ra, *rb;
		char rid[CRM_ID_MAX];

		if (p->p < review || p->p >= automerge || cluster[p->a] == cluster[p->b])
			continue;
		/* Between the records that are left: a merged one's survivor. */
		ra = live[cluster[p->a]];
		rb = live[cluster[p->b]];
		if (strcmp(ra, rb) > 0) {
			const char *tmp = ra;

			ra = rb;
			rb = tmp;
		}
		if (!in_tx && crm_db_begin(db, e) < 0)
			goto out;
		in_tx = 1;
		crm_buf_reset(&f);
		if (fields_json(lk, p, &f) < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		crm_id_new("r_", rid);
		sqlite3_bind_text(q, 1, rid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, lk->type->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, ra, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, rb, -1, SQLITE_STATIC);
		sqlite3_bind_double(q, 5, p->p);
		sqlite3_bind_double(q, 6, p->weight);
		sqlite3_bind_text(q, 7, f.data, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 8, now, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			crm_db_err(db, e, "cannot write the review queue");
			sqlite3_reset(q);
			goto out;
		}
		if (sqlite3_changes(db))
			res->queued++;
		sqlite3_reset(q);
	}
	if (in_tx && crm_db_commit(db, e) < 0)
		goto out_committed;
	in_tx = 0;
	rc = 0;
	goto out_committed;
out:
	if (in_tx)
		crm_db_rollback(db);
out_committed:
	sqlite3_finalize(q);
	crm_buf_release(&f);
	free(live);
	free(best);
	return rc;
}

/* Replace id (CRM_ID_MAX bytes) by the record it was merged into, if any. */
static int survivor_of(sqlite3 *db, const struct crm_entity *t, char *id)
{
	char sql[128];
	sqlite3_stmt *st;
	int found = 0;

	snprintf(sql, sizeof(sql), "SELECT merged_into FROM %s WHERE id = ?1", t->table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (int depth = 0; depth < 32; depth++) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW)
			break;
		found = 1;
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			break;
		snprintf(id, CRM_ID_MAX, "%s", sqlite3_column_text(st, 0));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return found ? 0 : -1;
}

int crm_review_decide(sqlite3 *db, const char *review_id, int accept,
		      char *merge_id, char *survivor, char *merged,
		      struct crm_err *e)
{
	const struct crm_entity *t;
	sqlite3_stmt *st;
	char a[CRM_ID_MAX], b[CRM_ID_MAX], now[32];
	double p = NAN, w = NAN;
	int rc;

	merge_id[0] = survivor[0] = merged[0] = '\0';
	if (crm_db_begin(db, e) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT entity, a_id, b_id, probability, weight FROM match_reviews "
			       "WHERE id = ?1 AND status = 'open'", -1, &st, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot read the review queue");
		goto fail;
	}
	sqlite3_bind_text(st, 1, review_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    !(t = crm_entity_find((const char *)sqlite3_column_text(st, 0)))) {
		sqlite3_finalize(st);
		crm_err_set(e, CRM_EDATA, "no open review '%s'", review_id);
		goto fail;
	}
	snprintf(a, sizeof(a), "%s", sqlite3_column_text(st, 1));
	snprintf(b, sizeof(b), "%s", sqlite3_column_text(st, 2));
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		p = sqlite3_column_double(st, 3);
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		w = sqlite3_column_double(st, 4);
	sqlite3_finalize(st);
	if (accept) {
		struct crm_merge_info info = { p, w, "review" };

		/* Either side may have been merged since: use the survivors. */
		if (survivor_of(db, t, a) < 0 || survivor_of(db, t, b) < 0) {
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
	crm_db_timestamp(now, sizeof(now));
	if (sqlite3_prepare_v2(db, "UPDATE match_reviews SET status = ?1, decided_at = ?2 WHERE id = ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot write the review queue");
		goto fail;
	}
	sqlite3_bind_text(st, 1, accept ? "accepted" : "rejected", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, review_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		crm_db_err(db, e, "cannot write the review queue");
		goto fail;
	}
	return crm_db_commit(db, e);
fail:
	crm_db_rollback(db);
	return -1;
}
