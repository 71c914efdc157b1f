/* Unit tests for lib/features: point-in-time engagement and history. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/crypt.h"
#include "../../lib/store/store.h"
#include "../../lib/features.h"
#include "tap.h"

static struct crm_store *db;
static struct crm_err e;

static void sql(const char *s)
{
	if (crm_store_exec(db, s, &e) < 0)
		printf("# sql failed: %s\n", e.msg);
}

static float val(const struct crm_dataset *d, const char *id, const char *f)
{
	int j = crm_dataset_feature(d, f);

	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->id[i], id))
			return j < 0 ? NAN : d->x[i * d->nfeat + (size_t)j];
	return NAN;
}

int main(void)
{
	char path[64];
	struct crm_dataset d;

	snprintf(path, sizeof(path), "/tmp/crm-features-%d.db", (int)getpid());
	unlink(path);
	if (crm_store_open(&db, path, CRM_STORE_CREATE, &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	sql("INSERT INTO contacts (id, source, src_key, title, created_at, updated_at) VALUES "
	    "('c_1','t','1','CEO','2024-01-01','t'), ('c_2','t','2','CEO','2024-01-01','t'), "
	    "('c_3','t','3','CEO','2024-01-01','t'), ('c_4','t','4','Intern','2024-01-01','t')");
	/* Deal 1 closes (won) on March 1; deal 2 closes (lost) on March 10;
	 * deal 3 closes (won) on March 10 too; deal 4 is open. */
	sql("INSERT INTO deals (id, source, src_key, contact_id, product, outcome, closed_at, created_at, updated_at) VALUES "
	    "('d_1','t','1','c_1','X','won','2024-03-01T00:00:00Z','2024-01-01','t'), "
	    "('d_2','t','2','c_2','X','lost','2024-03-10T00:00:00Z','2024-01-01','t'), "
	    "('d_3','t','3','c_3','X','won','2024-03-10T00:00:00Z','2024-01-01','t'), "
	    "('d_4','t','4','c_4','X',NULL,NULL,'2024-01-01','t')");
	/* c_1: pricing views 2 and 20 days before its close, one after it. */
	sql("INSERT INTO interactions (id, source, src_key, kind, occurred_at, contact_id, subject, created_at, updated_at) VALUES "
	    "('i_1','t','1','page_view','2024-02-28T10:00:00Z','c_1','/pricing','t','t'), "
	    "('i_2','t','2','page_view','2024-02-10T10:00:00Z','c_1','/pricing','t','t'), "
	    "('i_3','t','3','page_view','2024-03-05T10:00:00Z','c_1','/pricing','t','t'), "
	    "('i_4','t','4','meeting','2023-10-01T10:00:00Z','c_1',NULL,'t','t')");

	crm_dataset_init(&d, crm_entity_find("deal"));
	ok(crm_dataset_build(&d, db, "2024-03-20T00:00:00Z", NULL, &e) == 0, "build deals: %s", e.msg);
	is_int(d.n, 4, "four deals");
	is_int(d.nclosed, 3, "three closed");
	ok(fabs(d.base_rate - 2.0 / 3) < 1e-6, "base rate 2/3");
	is_int((int)val(&d, "d_1", "pricing_views_7d"), 1, "7 days before the close: one pricing view");
	is_int((int)val(&d, "d_1", "pricing_views_30d"), 2, "30 days: two; the view after the close is not seen");
	is_int((int)val(&d, "d_1", "touches_90d"), 2, "the meeting five months before is outside 90 days");
	ok(val(&d, "d_1", "days_since_touch") > 1.5 && val(&d, "d_1", "days_since_touch") < 1.6,
	   "last touch 1.58 days before the close (%.2f)", val(&d, "d_1", "days_since_touch"));
	is_int((int)val(&d, "d_2", "touches_90d"), 0, "no interactions: zero, not missing");
	ok(isnan(val(&d, "d_2", "days_since_touch")), "no last touch: missing");
	/* History: win rate of earlier closed deals with the same product. */
	ok(fabs(val(&d, "d_1", "history.product") - 0.5) < 1e-6,
	   "the first deal sees no history: the prior (%.3f)", val(&d, "d_1", "history.product"));
	{
		float h2 = val(&d, "d_2", "history.product"), h3 = val(&d, "d_3", "history.product");

		ok(h2 == h3, "deals closing at the same time do not see each other (%.3f, %.3f)", h2, h3);
		ok(h2 > 0.5, "they see the earlier win (%.3f)", h2);
	}
	ok(val(&d, "d_4", "history.product") > val(&d, "d_2", "history.product") - 1 &&
	   !isnan(val(&d, "d_4", "history.product")), "the open deal sees all closed history");
	ok(isnan(d.y[3]) && d.y[0] == 1 && d.y[1] == 0, "labels: won 1, lost 0, open missing");
	{
		struct crm_dataset s;
		int j = crm_dataset_feature(&d, "contact.title");

		ok(j >= 0 && d.feat[j].kind == CRM_FEAT_CAT, "title is a category");
		/* Scoring with the trained schema maps unknown values to (other). */
		sql("UPDATE contacts SET title = 'Astronaut' WHERE id = 'c_4'");
		crm_dataset_init(&s, crm_entity_find("deal"));
		ok(crm_dataset_build(&s, db, NULL, &d, &e) == 0, "build with a schema");
		is_int(s.nfeat, d.nfeat, "same features");
		is_int((int)val(&s, "d_4", "contact.title"), (int)d.feat[j].ncats - 1,
		       "an unknown category scores as (other)");
		crm_dataset_drop(&s, (size_t)j);
		is_int(s.nfeat, d.nfeat - 1, "drop removes a feature");
		is_int((int)val(&s, "d_1", "pricing_views_30d"), 2, "and keeps the others' values");
		crm_dataset_release(&s);
	}
	/* Refresh: one record rebuilt gives the batch values; new events count. */
	{
		struct crm_dataset full;
		size_t row;
		float before;

		crm_dataset_init(&full, crm_entity_find("deal"));
		crm_dataset_build(&full, db, "2024-03-20T00:00:00Z", &d, &e);
		for (row = 0; row < full.n && strcmp(full.id[row], "d_4"); row++)
			;
		before = full.x[row * full.nfeat + (size_t)crm_dataset_feature(&full, "touches_7d")];
		sql("INSERT INTO interactions (id, source, src_key, kind, occurred_at, contact_id, subject, created_at, updated_at) VALUES "
		    "('i_9','t','9','page_view','2024-03-19T10:00:00Z','c_4','/pricing','t','t')");
		ok(crm_dataset_refresh(&full, db, "d_4", "2024-03-20T00:00:00Z", &row, &e) == 0, "refresh d_4");
		is_int((int)full.x[row * full.nfeat + (size_t)crm_dataset_feature(&full, "touches_7d")],
		       (int)before + 1, "the new interaction counts");
		is_int((int)full.x[row * full.nfeat + (size_t)crm_dataset_feature(&full, "pricing_views_7d")], 1,
		       "as a pricing view");
		{
			struct crm_dataset again;
			size_t r2;
			int same = 1;

			crm_dataset_init(&again, crm_entity_find("deal"));
			crm_dataset_build(&again, db, "2024-03-20T00:00:00Z", &d, &e);
			for (r2 = 0; r2 < again.n && strcmp(again.id[r2], "d_4"); r2++)
				;
			for (size_t j = 0; j < full.nfeat; j++) {
				float a = full.x[row * full.nfeat + j], b = again.x[r2 * again.nfeat + j];

				if (!(a == b || (isnan(a) && isnan(b))))
					same = 0;
			}
			ok(same, "a refreshed row equals the batch build, feature for feature");
			crm_dataset_release(&again);
		}
		sql("INSERT INTO deals (id, source, src_key, contact_id, product, created_at, updated_at) VALUES "
		    "('d_5','t','5','c_1','X','2024-03-15','t')");
		ok(crm_dataset_refresh(&full, db, "d_5", "2024-03-20T00:00:00Z", &row, &e) == 0 && row == full.n - 1,
		   "a new deal is appended");
		ok(full.x[row * full.nfeat + (size_t)crm_dataset_feature(&full, "history.product")] ==
		   full.x[3 * full.nfeat + (size_t)crm_dataset_feature(&full, "history.product")],
		   "with the history rate of its product");
		ok(crm_dataset_refresh(&full, db, "d_nosuch", NULL, &row, &e) < 0 && e.code == CRM_EDATA,
		   "an unknown record is an error");
		crm_dataset_release(&full);
	}
	crm_dataset_release(&d);
	crm_store_close(db);
	unlink(path);
	snprintf(path + strlen(path), 8, "-wal");
	unlink(path);
	return done_testing();
}
