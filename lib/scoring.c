/*
 * scoring.c - scoring records as they arrive (see scoring.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "db.h"
#include "explain.h"
#include "features.h"
#include "merge.h"
#include "scoring.h"

int crm_scoring_open(struct crm_scoring *s, sqlite3 *db, const struct crm_entity *t,
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
static int write_pending(struct crm_scoring *s, sqlite3 *db, struct crm_err *e)
{
	for (size_t i = 0; i < s->npend; i++)
		if (crm_score_put(db, s->pend[i].id, s->m.id, s->pend[i].p, s->now, e) < 0) {
			crm_db_rollback(db);
			return -1;
		}
	if (crm_db_commit(db, e) < 0)
		return -1;
	s->npend = 0;
	return 0;
}

int crm_scoring_flush(struct crm_scoring *s, sqlite3 *db, struct crm_err *e)
{
	if (!s->npend)
		return 0;
	if (crm_db_begin(db, e) < 0)
		return -1;
	return write_pending(s, db, e);
}

int crm_scoring_chunk(struct crm_scoring *s, sqlite3 *db, const char *const *ids, size_t n,
		      struct crm_scored *out, struct crm_err *e)
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
	if (crm_db_exec(db, "BEGIN", e) < 0) {
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
		if ((r = crm_merge_survivor(db, s->t, out[i].id)) < 0) {
			crm_db_err(db, e, "records");
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
	crm_db_rollback(db);	/* the read transaction: nothing written */
	if (d.n && crm_model_predict_adjusted(&s->m, &d, 0, d.n, p, e) < 0)
		goto out;
	crm_db_timestamp(s->now, sizeof(s->now));
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
	for (size_t i = 0; i < n; i++) {
		long x;

		if (out[i].reason)
			continue;
		if ((x = crm_dataset_row(&d, out[i].id)) < 0) {
			out[i].reason = "no such record in the database";
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
	/* Written now if the lock is free; else with the next chunk, so a
	 * filter never stands still behind another writer's batch. */
	if (s->npend) {
		int r = crm_db_try_begin(db, e);

		if (r < 0 || (r == 0 && write_pending(s, db, e) < 0))
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
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
		crm_db_rollback(db);
	crm_dataset_release(&d);
	free(live);
	free(p);
	return rc;
}
