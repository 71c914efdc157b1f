/*
 * scoring.c - scoring records as they arrive (see scoring.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
	free(s->hist);
	memset(s, 0, sizeof(*s));
}

int crm_scoring_chunk(struct crm_scoring *s, sqlite3 *db, const char *const *ids, size_t n,
		      struct crm_scored *out, struct crm_err *e)
{
	struct crm_dataset d;
	const char **live = calloc(n ? n : 1, sizeof(*live));
	float *p = NULL;
	char now[32];
	int rc = -1;

	crm_dataset_init(&d, s->t);
	if (!live)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
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
	if (d.n && crm_model_predict_adjusted(&s->m, &d, 0, d.n, p, e) < 0)
		goto out;
	crm_db_timestamp(now, sizeof(now));
	if (crm_db_begin(db, e) < 0)
		goto out;
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
		if (crm_score_put(db, out[i].id, s->m.id, p[x], now, e) < 0) {
			crm_db_rollback(db);
			goto out;
		}
	}
	if (crm_db_commit(db, e) < 0)
		goto out;
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
	crm_dataset_release(&d);
	free(live);
	free(p);
	return rc;
}
