/*
 * explain.c - sentences for the factors of a score.
 *
 * The sentence comes from what the feature means and the record's own
 * value, never from the raw feature name alone, so a rep reads "Visited
 * the pricing page 3 times in the last 7 days", not "pricing_views_7d=3".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "explain.h"
#include "model.h"
#include "nba.h"
#include "ndjson.h"

/* "1 time", "3 times" */
static const char *plural(float v, const char *one, const char *many)
{
	return v == 1 ? one : many;
}

/* Human name of a field: "contact.title" -> "Job title". */
static const char *field_label(const char *name)
{
	static const struct {
		const char *name, *label;
	} labels[] = {
		{ "contact.title", "Job title" }, { "title", "Job title" },
		{ "product", "Product" }, { "owner", "Owner" },
		{ "account.industry", "Industry" }, { "account.country", "Country" },
		{ "country", "Country" }, { "contact.lead_source", "Lead source" },
		{ "lead_source", "Lead source" }, { "consent", "Marketing consent" },
		{ "amount", "Amount" }, { "account.employees", "Company size" },
		{ "account.revenue", "Company revenue" }, { "has_phone", "Phone number" },
	};

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(labels[i].name, name))
			return labels[i].label;
	if (!strncmp(name, "attrs.", 6))
		return name + 6;
	if (!strncmp(name, "account.attrs.", 14))
		return name + 14;
	return name;
}

int crm_explain_sentence(struct crm_buf *b, const struct crm_dataset *d,
			 size_t j, float v, const char *cat_value)
{
	const struct crm_feature *f = &d->feat[j];
	const char *n = f->name;

	if (isnan(v))
		return crm_buf_addf(b, "%s is not known", field_label(n));
	if (!strncmp(n, "pricing_views_", 14)) {
		int days = atoi(n + 14);

		if (v == 0)
			return crm_buf_addf(b, "Has not visited the pricing page in the last %d days", days);
		return crm_buf_addf(b, "Visited the pricing page %g %s in the last %d days", v,
				    plural(v, "time", "times"), days);
	}
	if (!strncmp(n, "touches_", 8)) {
		int days = atoi(n + 8);

		if (v == 0)
			return crm_buf_addf(b, "No interactions in the last %d days", days);
		return crm_buf_addf(b, "%g %s in the last %d days", v,
				    plural(v, "interaction", "interactions"), days);
	}
	if (!strcmp(n, "touch_velocity"))
		return v >= 1 ? crm_buf_addf(b, "Engagement this week is %.1fx the weekly average of the three weeks before", v)
			      : crm_buf_addf(b, "Engagement this week fell to %.0f%% of the weekly average before", 100 * v);
	if (!strcmp(n, "days_since_touch"))
		return crm_buf_addf(b, "Last interaction %.0f %s ago", v, plural(roundf(v), "day", "days"));
	if (!strcmp(n, "email_replies_90d"))
		return crm_buf_addf(b, "Replied to %g %s in the last 90 days", v, plural(v, "email", "emails"));
	if (!strcmp(n, "email_opens_90d"))
		return crm_buf_addf(b, "Opened %g %s in the last 90 days", v, plural(v, "email", "emails"));
	if (!strcmp(n, "meetings_90d"))
		return crm_buf_addf(b, "%g %s in the last 90 days", v, plural(v, "meeting", "meetings"));
	if (!strcmp(n, "calls_90d"))
		return crm_buf_addf(b, "%g %s in the last 90 days", v, plural(v, "call", "calls"));
	if (!strncmp(n, "history.", 8)) {
		const char *what = !strcmp(d->type->kind, "deal") ? "deals were won" : "leads converted";

		return crm_buf_addf(b, "%s %s: similar %s %.0f%% of the time (%.0f%% overall)",
				    field_label(n + 8), cat_value ? cat_value : "(unknown)",
				    what, 100 * v, 100 * d->base_rate);
	}
	if (f->kind == CRM_FEAT_CAT) {
		int k = (int)v;

		return crm_buf_addf(b, "%s %s", field_label(n),
				    k >= 0 && (size_t)k < f->ncats ? f->cats[k] : "(other)");
	}
	if (!strcmp(n, "has_phone"))
		return crm_buf_adds(b, v > 0 ? "A phone number is on file" : "No phone number on file");
	return crm_buf_addf(b, "%s %g", field_label(n), v);
}

/* The history rates stored by the last scoring run of model id, or NULL. */
char *crm_explain_history(struct crm_store *db, const char *model)
{
	struct crm_stmt *st;
	struct crm_err ign, *e = &ign;
	char key[64], *v = NULL;

	snprintf(key, sizeof(key), "history.%s", model);
	if (crm_store_prepare(db, "SELECT value FROM meta WHERE key = ?1", 0, &st, e) < 0)
		return NULL;
	crm_stmt_bind_text_ref(st, 1, key, (size_t)-1);
	if (crm_stmt_step(st, e) > 0)
		v = strdup(crm_stmt_text(st, 0));
	crm_stmt_free(st);
	return v;
}

struct factor {
	size_t j;
	float c;
};

static int cmp_factor(const void *a, const void *b)
{
	const struct factor *x = a, *y = b;

	return fabsf(y->c) > fabsf(x->c) ? 1 : fabsf(y->c) < fabsf(x->c) ? -1 : 0;
}

int crm_explain_record(struct crm_store *db, const struct crm_model *m,
		       const struct crm_dataset *d, size_t i, size_t top,
		       int table, struct crm_buf *b, struct crm_err *e)
{
	float c[CRM_MAXFEAT + 1], p;
	struct factor f[CRM_MAXFEAT];
	double total = 0;
	struct crm_buf text;

	if (crm_model_contribs(m, d, i, c, e) < 0 ||
	    crm_model_predict_adjusted(m, d, i, 1, &p, e) < 0)
		return -1;
	for (size_t j = 0; j < d->nfeat; j++) {
		f[j].j = j;
		f[j].c = c[j];
		/* An admin's scale shows in the factor as in the score. */
		for (size_t k = 0; k < m->nov; k++)
			if (!strcmp(m->ov[k].action, "scale") &&
			    !strcmp(m->ov[k].feature, d->feat[j].name))
				f[j].c = (float)(c[j] * m->ov[k].value);
		total += fabs(f[j].c);
	}
	qsort(f, d->nfeat, sizeof(*f), cmp_factor);
	crm_buf_init(&text, 0);
	if (table) {
		crm_buf_addf(b, "%s  score %ld (probability %.2f)\n", d->id[i],
			     lround(100.0 * p), p);
		if (!m->metrics.signal)
			crm_buf_addf(b, "  note: %s\n", CRM_NO_SIGNAL_NOTE);
	} else {
		crm_buf_addf(b, "{\"type\":\"explanation\",\"id\":\"%s\",\"entity\":\"%s\","
			     "\"score\":%ld,\"probability\":%.4f,\"model\":\"%s\",",
			     d->id[i], d->type->kind, lround(100.0 * p), p, m->id);
		if (!m->metrics.signal)
			crm_buf_addf(b, "\"informative\":false,\"note\":\"%s\",", CRM_NO_SIGNAL_NOTE);
		crm_buf_adds(b, "\"factors\":[");
	}
	for (size_t k = 0, shown = 0; k < d->nfeat && shown < top; k++) {
		size_t j = f[k].j;
		float v = d->x[i * d->nfeat + j];
		const char *catv = NULL;

		if (fabsf(f[k].c) < 1e-4)
			break;
		/* A history factor names the record's own category. */
		if (!strncmp(d->feat[j].name, "history.", 8)) {
			int b0 = crm_dataset_feature(d, d->feat[j].name + 8);

			if (b0 >= 0) {
				float code = d->x[i * d->nfeat + (size_t)b0];

				if (!isnan(code) && (size_t)code < d->feat[b0].ncats)
					catv = d->feat[b0].cats[(int)code];
			}
		}
		crm_buf_reset(&text);
		crm_explain_sentence(&text, d, j, v, catv);
		if (table) {
			crm_buf_addf(b, "  %c %3.0f%%  %s\n", f[k].c > 0 ? '+' : '-',
				     total ? 100.0 * fabs(f[k].c) / total : 0.0, text.data);
		} else {
			crm_buf_adds(b, shown ? ",{\"feature\":" : "{\"feature\":");
			crm_json_str(b, d->feat[j].name, strlen(d->feat[j].name));
			crm_buf_addf(b, ",\"effect\":%.4f,\"share\":%.4f,\"text\":", f[k].c,
				     total ? fabs(f[k].c) / total : 0.0);
			crm_json_str(b, text.data, text.len);
			crm_buf_addc(b, '}');
		}
		shown++;
	}
	if (!table)
		crm_buf_addc(b, ']');
	if (db) {
		struct crm_action a;

		if (crm_next_action(db, d, i, p, &a, e) < 0) {
			crm_buf_release(&text);
			return -1;
		}
		if (table) {
			crm_buf_addf(b, "  next: %s\n", a.title);
			for (int r = 0; r < a.nreasons; r++)
				crm_buf_addf(b, "        %s\n", a.reason[r]);
		} else {
			crm_buf_addf(b, ",\"next_action\":{\"action\":\"%s\",\"title\":\"%s\",\"reasons\":[",
				     a.action, a.title);
			for (int r = 0; r < a.nreasons; r++) {
				if (r)
					crm_buf_addc(b, ',');
				crm_json_str(b, a.reason[r], strlen(a.reason[r]));
			}
			crm_buf_adds(b, "]}");
		}
	}
	crm_buf_adds(b, table ? "\n" : "}\n");
	crm_buf_release(&text);
	return 0;
}
