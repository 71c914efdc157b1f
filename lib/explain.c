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
#include "row.h"

/*
 * A number as a person writes it: "1,250", "12.5", "3.4 million",
 * "1.35 billion"; never an exponent.
 */
/* "2.50" -> "2.5", "3.00" -> "3": the zeros after the point, and a
 * point left bare. */
static void trim_zeros(char *d)
{
	size_t n = strlen(d);

	if (!strchr(d, '.'))
		return;
	while (d[n - 1] == '0')
		d[--n] = '\0';
	if (d[n - 1] == '.')
		d[--n] = '\0';
}

int crm_human_number(struct crm_buf *b, double v)
{
	static const struct {
		double at;
		const char *word;
	} big[] = { { 1e12, "trillion" }, { 1e9, "billion" }, { 1e6, "million" } };
	double a = fabs(v);
	char digits[64];
	size_t n, lead;

	if (!isfinite(v))
		return crm_buf_adds(b, "unknown");
	/* Three figures: 1.35 billion, 12.5 million, 250 million; 12.5, 3.75. */
	for (size_t k = 0; k < sizeof(big) / sizeof(big[0]); k++)
		if (a >= big[k].at) {
			double x = fabs(v / big[k].at);

			snprintf(digits, sizeof(digits), "%.*f", x >= 100 ? 0 : x >= 10 ? 1 : 2, v / big[k].at);
			trim_zeros(digits);
			return crm_buf_addf(b, "%s %s", digits, big[k].word);
		}
	if (a < 10000 && v != floor(v)) {
		snprintf(digits, sizeof(digits), "%.*f", a >= 100 ? 0 : a >= 10 ? 1 : 2, v);
		trim_zeros(digits);
		return crm_buf_adds(b, digits);
	}
	/* Whole numbers with thousands grouped. */
	snprintf(digits, sizeof(digits), "%.0f", a);
	n = strlen(digits);
	if (v < 0 && crm_buf_addc(b, '-') < 0)
		return -1;
	lead = n % 3 ? n % 3 : 3;
	crm_buf_add(b, digits, lead);
	for (size_t k = lead; k < n; k += 3) {
		crm_buf_addc(b, ',');
		crm_buf_add(b, digits + k, 3);
	}
	return 0;
}
/* "1 time", "3 times" */
static const char *plural(float v, const char *one, const char *many)
{
	return v == 1 ? one : many;
}

/* "once", "twice", "3 times" */
static const char *times(float v)
{
	static _Thread_local char t[32];

	if (v == 1)
		return "once";
	if (v == 2)
		return "twice";
	snprintf(t, sizeof(t), "%g times", v);
	return t;
}

/* "this week", "in the last 30 days" */
static const char *period(int days)
{
	static _Thread_local char t[32];

	if (days == 7)
		return "this week";
	snprintf(t, sizeof(t), "in the last %d days", days);
	return t;
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
		{ "account.revenue", "Annual revenue" }, { "has_phone", "Phone number" },
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
			return crm_buf_addf(b, "Has not visited the pricing page %s", period(days));
		return crm_buf_addf(b, "Visited the pricing page %s %s", times(v), period(days));
	}
	if (!strncmp(n, "touches_", 8)) {
		int days = atoi(n + 8);

		if (v == 0)
			return crm_buf_addf(b, "No interactions %s", period(days));
		return crm_buf_addf(b, "%g %s %s", v, plural(v, "interaction", "interactions"), period(days));
	}
	if (!strcmp(n, "touch_velocity"))
		return v >= 1 ? crm_buf_addf(b, "Engagement this week is %.1fx the weekly average of the three weeks before", v)
			      : crm_buf_addf(b, "Engagement this week fell to %.0f%% of the weekly average before", 100 * v);
	if (!strcmp(n, "days_since_touch"))
		return roundf(v) == 0 ? crm_buf_adds(b, "Last interaction today") :
		       roundf(v) == 1 ? crm_buf_adds(b, "Last interaction yesterday") :
		       crm_buf_addf(b, "Last interaction %.0f days ago", v);
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
	if (!strcmp(n, "account.employees")) {
		crm_buf_adds(b, "Company of ");
		crm_human_number(b, v);
		return crm_buf_adds(b, v == 1 ? " employee" : " employees");
	}
	crm_buf_addf(b, "%s ", field_label(n));
	return crm_human_number(b, v);
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

int crm_explain_label(struct crm_store *db, const struct crm_entity *t, const char *id,
		      struct crm_label *l, struct crm_err *e)
{
	int deal = !strcmp(t->kind, "deal");
	struct crm_stmt *st;
	struct crm_buf first, last;
	int rc;

	memset(l, 0, sizeof(*l));
	/* Kept by the connection: asked for every record a person reads. */
	if (!(st = crm_store_stmt(db, deal ?
		"SELECT d.name, NULL, d.owner, a.name, c.first_name, c.last_name, c.id "
		"FROM deals d LEFT JOIN accounts a ON a.id = d.account_id "
		"LEFT JOIN contacts c ON c.id = d.contact_id WHERE d.id = ?1" :
		"SELECT c.first_name, c.last_name, c.owner, coalesce(c.company, a.name), NULL, NULL, NULL "
		"FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id WHERE c.id = ?1", e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	crm_buf_init(&first, 0);
	crm_buf_init(&last, 0);
	if ((rc = crm_stmt_step(st, e)) > 0) {
		const char *cid = deal ? crm_stmt_text(st, 6) : id;
		int k = deal ? 4 : 0;

		snprintf(l->owner, sizeof(l->owner), "%s", crm_stmt_text(st, 2) ? crm_stmt_text(st, 2) : "");
		snprintf(l->company, sizeof(l->company), "%s", crm_stmt_text(st, 3) ? crm_stmt_text(st, 3) : "");
		if (deal)
			snprintf(l->name, sizeof(l->name), "%s", crm_stmt_text(st, 0) ? crm_stmt_text(st, 0) : "");
		/* A person's name, opened where it is sealed. */
		if (cid && (crm_row_cell(st, k, "contacts", "first_name", cid, &first, e) < 0 ||
			    crm_row_cell(st, k + 1, "contacts", "last_name", cid, &last, e) < 0))
			rc = -1;
		else
			snprintf(deal ? l->contact : l->name, sizeof(l->name), "%s%s%s",
				 first.len ? first.data : "", first.len && last.len ? " " : "",
				 last.len ? last.data : "");
	}
	crm_store_stmt_done(st);
	crm_buf_release(&first);
	crm_buf_release(&last);
	return rc < 0 ? -1 : rc;
}

struct factor {
	size_t j;	/* the feature */
	long hist;	/* its history feature, told in the same line, or -1 */
	float c;	/* the two's effect together */
};

static int cmp_factor(const void *a, const void *b)
{
	const struct factor *x = a, *y = b;

	return fabsf(y->c) > fabsf(x->c) ? 1 : fabsf(y->c) < fabsf(x->c) ? -1 : 0;
}

/* The category a history feature j speaks of, for row i, or NULL. */
static const char *history_value(const struct crm_dataset *d, size_t i, size_t j)
{
	int b0 = crm_dataset_feature(d, d->feat[j].name + 8);
	float code;

	if (b0 < 0)
		return NULL;
	code = d->x[i * d->nfeat + (size_t)b0];
	return !isnan(code) && code >= 0 && (size_t)code < d->feat[b0].ncats ? d->feat[b0].cats[(int)code] : NULL;
}

/* Append s with its first letter made small, unless it is an acronym. */
static void add_lower(struct crm_buf *b, const char *s)
{
	if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z')) {
		crm_buf_addc(b, (char)(s[0] - 'A' + 'a'));
		s++;
	}
	crm_buf_adds(b, s);
}

/*
 * The factors of row i under m, strongest first, into f[0..*nf): one per
 * fact (a category and how often its records were won are one reason,
 * their effects added), those with no effect left out; *total the sum of
 * all effects' sizes.
 */
static int factors(const struct crm_model *m, const struct crm_dataset *d, size_t i,
		   struct factor *f, size_t *nf, double *total, struct crm_err *e)
{
	float c[CRM_MAXFEAT + 1];

	*nf = 0;
	*total = 0;
	if (crm_model_contribs(m, d, i, c, e) < 0)
		return -1;
	/* An admin's scale shows in the factor as in the score. */
	for (size_t j = 0; j < d->nfeat; j++)
		for (size_t k = 0; k < m->nov; k++)
			if (!strcmp(m->ov[k].action, "scale") &&
			    !strcmp(m->ov[k].feature, d->feat[j].name))
				c[j] = (float)(c[j] * m->ov[k].value);
	for (size_t j = 0; j < d->nfeat; j++) {
		char hn[256];
		long h;

		if (!strncmp(d->feat[j].name, "history.", 8) &&
		    crm_dataset_feature(d, d->feat[j].name + 8) >= 0)
			continue;
		snprintf(hn, sizeof(hn), "history.%s", d->feat[j].name);
		h = crm_dataset_feature(d, hn);
		f[(*nf)++] = (struct factor){ j, h, c[j] + (h >= 0 ? c[h] : 0) };
	}
	for (size_t k = 0; k < *nf; k++)
		*total += fabs(f[k].c);
	qsort(f, *nf, sizeof(*f), cmp_factor);
	while (*nf && fabsf(f[*nf - 1].c) < 1e-4)
		(*nf)--;
	return 0;
}

int crm_explain_reason(const struct crm_model *m, const struct crm_dataset *d, size_t i,
		       struct crm_buf *b, struct crm_err *e)
{
	struct factor f[CRM_MAXFEAT];
	double total;
	size_t nf;

	if (factors(m, d, i, f, &nf, &total, e) < 0)
		return -1;
	if (!nf)
		return 0;
	crm_buf_addc(b, f[0].c > 0 ? '+' : '-');
	crm_buf_addc(b, ' ');
	crm_explain_sentence(b, d, f[0].j, d->x[i * d->nfeat + f[0].j], NULL);
	return 1;
}

/* Who, for a sentence: "Ana Costa (Acme Ltd)", a deal with its company
 * when its name does not say it. */
static void who(struct crm_buf *b, const struct crm_label *l)
{
	crm_buf_adds(b, l->name);
	if (*l->company && !strstr(l->name, l->company))
		crm_buf_addf(b, " (%s)", l->company);
	else if (*l->contact)
		crm_buf_addf(b, " (%s)", l->contact);
}

/*
 * The sentences a rep could repeat: who, how likely against a typical
 * record, then what counts for it and against it, strongest first.
 */
static void summary(struct crm_buf *b, const struct crm_label *l, const struct crm_model *m,
		    const struct crm_dataset *d, size_t i, double p, const struct factor *f,
		    size_t nf)
{
	int deal = !strcmp(d->type->kind, "deal");
	double base = m->metrics.base_rate;
	const char *how = p >= 0.7 ? "likely" : p >= 0.5 ? "more likely than not" :
			  base > 0 && p >= 1.5 * base ? "more likely than most" :
			  base > 0 && p < 0.67 * base ? "less likely than most" : "about as likely as most";
	struct crm_buf t;

	crm_buf_init(&t, 0);
	if (l && *l->name) {
		who(b, l);
		crm_buf_addf(b, " is %s to %s", how, deal ? "be won" : "convert");
	} else {
		crm_buf_addf(b, "%c%s to %s", how[0] - 'a' + 'A', how + 1, deal ? "be won" : "convert");
	}
	crm_buf_addf(b, " (score %ld", lround(100 * p));
	if (base > 0)
		crm_buf_addf(b, "; a typical %s scores %ld", deal ? "deal" : "lead", lround(100 * base));
	crm_buf_adds(b, ").");
	/* The strongest reason each way; the factor lines give the rest. */
	for (int side = 1; side >= 0; side--)
		for (size_t k = 0; k < nf; k++) {
			if ((f[k].c > 0) != side)
				continue;
			crm_buf_reset(&t);
			crm_explain_sentence(&t, d, f[k].j, d->x[i * d->nfeat + f[k].j], NULL);
			crm_buf_adds(b, side ? " Mostly: " : " Against it: ");
			add_lower(b, t.data);
			crm_buf_addc(b, '.');
			break;
		}
	crm_buf_release(&t);
}

int crm_explain_record(struct crm_store *db, const struct crm_model *m,
		       const struct crm_dataset *d, size_t i, size_t top,
		       int flags, struct crm_buf *b, struct crm_err *e)
{
	float p;
	struct factor f[CRM_MAXFEAT];
	double total = 0;
	size_t nf = 0;
	int table = flags & CRM_EXPLAIN_TABLE;
	struct crm_label label, *l = NULL;
	struct crm_buf text;

	if (crm_model_predict_adjusted(m, d, i, 1, &p, e) < 0 ||
	    factors(m, d, i, f, &nf, &total, e) < 0)
		return -1;
	if (nf > top)
		nf = top;
	if (db) {
		int r = crm_explain_label(db, d->type, d->id[i], &label, e);

		if (r < 0)
			return -1;
		l = r ? &label : NULL;
	}
	crm_buf_init(&text, 0);
	summary(&text, l, m, d, i, p, f, nf);
	if (table) {
		if (l && *l->name)
			who(b, l);
		if (l && *l->owner)
			crm_buf_addf(b, "  (owner %s)", l->owner);
		crm_buf_addf(b, "%s%s  score %ld (probability %.2f)\n", l ? "  " : "", d->id[i],
			     lround(100.0 * p), p);
		crm_buf_addf(b, "  %s\n", text.data);
		if (!m->metrics.signal)
			crm_buf_addf(b, "  note: %s\n", CRM_NO_SIGNAL_NOTE);
		else if (m->metrics.auc < CRM_WEAK_AUC)
			crm_buf_addf(b, "  note: " CRM_WEAK_NOTE "\n", m->metrics.auc);
	} else {
		crm_buf_addf(b, "{\"type\":\"explanation\",\"id\":\"%s\",\"entity\":\"%s\",", d->id[i],
			     d->type->kind);
		if (l) {
			crm_buf_adds(b, "\"name\":");
			crm_json_str(b, l->name, strlen(l->name));
			if (*l->contact) {
				crm_buf_adds(b, ",\"contact\":");
				crm_json_str(b, l->contact, strlen(l->contact));
			}
			crm_buf_adds(b, ",\"company\":");
			crm_json_str(b, l->company, strlen(l->company));
			crm_buf_adds(b, ",\"owner\":");
			crm_json_str(b, l->owner, strlen(l->owner));
			crm_buf_addc(b, ',');
		}
		crm_buf_addf(b, "\"score\":%ld,\"probability\":%.4f,\"model\":\"%s\",",
			     lround(100.0 * p), p, m->id);
		if (!m->metrics.signal)
			crm_buf_addf(b, "\"informative\":false,\"note\":\"%s\",", CRM_NO_SIGNAL_NOTE);
		else if (m->metrics.auc < CRM_WEAK_AUC)
			crm_buf_addf(b, "\"weak\":true,\"note\":\"" CRM_WEAK_NOTE "\",", m->metrics.auc);
		crm_buf_adds(b, "\"summary\":");
		crm_json_str(b, text.data, text.len);
		crm_buf_adds(b, ",\"factors\":[");
	}
	for (size_t k = 0; k < nf; k++) {
		size_t j = f[k].hist >= 0 ? (size_t)f[k].hist : f[k].j;

		crm_buf_reset(&text);
		crm_explain_sentence(&text, d, j, d->x[i * d->nfeat + j],
				     f[k].hist >= 0 ? history_value(d, i, j) : NULL);
		if (table) {
			crm_buf_addf(b, "  %c %3.0f%%  %s\n", f[k].c > 0 ? '+' : '-',
				     total ? 100.0 * fabs(f[k].c) / total : 0.0, text.data);
		} else {
			crm_buf_adds(b, k ? ",{\"feature\":" : "{\"feature\":");
			crm_json_str(b, d->feat[f[k].j].name, strlen(d->feat[f[k].j].name));
			crm_buf_addf(b, ",\"effect\":%.4f,\"share\":%.4f,\"text\":", f[k].c,
				     total ? fabs(f[k].c) / total : 0.0);
			crm_json_str(b, text.data, text.len);
			crm_buf_addc(b, '}');
		}
	}
	if (!table)
		crm_buf_addc(b, ']');
	if (db && (flags & CRM_EXPLAIN_NEXT)) {
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

int crm_explain_id(struct crm_store *db, const struct crm_model *m, const char *hist,
		   const char *id, size_t top, int flags, pthread_mutex_t *lock,
		   struct crm_buf *b, struct crm_err *e)
{
	struct crm_dataset one;
	int rc = crm_dataset_build_one(&one, db, m->type, id, &m->schema, hist, e);

	if (rc == 0) {
		if (lock)
			pthread_mutex_lock(lock);
		rc = crm_explain_record(flags & CRM_EXPLAIN_UNNAMED ? NULL : db, m, &one, 0, top,
					flags & ~CRM_EXPLAIN_UNNAMED, b, e);
		if (lock)
			pthread_mutex_unlock(lock);
	}
	crm_dataset_release(&one);
	return rc;
}

void crm_explain_label_add(struct crm_store *db, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const struct crm_entity *t = id ? crm_entity_by_id(id) : NULL;
	struct crm_label l;
	struct crm_err e = { 0 };

	if (t && crm_explain_label(db, t, id, &l, &e) > 0) {
		json_object_set_new(o, "name", json_string(l.name));
		json_object_set_new(o, "company", json_string(l.company));
		json_object_set_new(o, "owner", json_string(l.owner));
	}
}
