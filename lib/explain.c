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
