/*
 * features.c - point-in-time features for deals and leads.
 *
 * Three families:
 *   record   the record's own columns, its account's and contact's, and
 *            every custom field common enough to learn from (numbers stay
 *            numbers; text becomes a category, the rarest values pooled);
 *   engage   interactions before the as-of time: counts in the last 7,
 *            30 and 90 days, the last week against the three before it,
 *            days since the last one, pricing-page views, replies, opens,
 *            meetings, calls;
 *   history  for every category, the win rate of records with the same
 *            value that closed before this record's as-of time (smoothed
 *            towards the running base rate): "similar leads converted 2x
 *            more often", without a record ever seeing its own outcome.
 * Engagement is aggregated by SQLite over a temporary table of as-of times.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store.h"
#include "features.h"

#define HIST_PRIOR 10.0		/* pseudo-records of the base rate per category */
#define MIN_CAT_COUNT 3		/* rarer values go to "(other)" */
#define ATTR_MIN_SHARE 0.05	/* custom fields on fewer records are left out */

/* The columns of a type, as (name, kind, SQL expression). */
struct colspec {
	const char *name;
	enum crm_feat_kind kind;
	const char *expr;
};

static const struct colspec deal_cols[] = {
	{ "amount", CRM_FEAT_NUM, "d.amount" },
	{ "product", CRM_FEAT_CAT, "d.product" },
	{ "owner", CRM_FEAT_CAT, "d.owner" },
	{ "account.industry", CRM_FEAT_CAT, "a.industry" },
	{ "account.employees", CRM_FEAT_NUM, "a.employees" },
	{ "account.revenue", CRM_FEAT_NUM, "a.revenue" },
	{ "account.country", CRM_FEAT_CAT, "a.country" },
	{ "contact.title", CRM_FEAT_CAT, "c.title" },
	{ "contact.lead_source", CRM_FEAT_CAT, "c.lead_source" },
	/* The account's purchases in the ERP before this deal closed (or now):
	 * customer history, as of the deal, never its own invoice. */
	{ "account.erp_orders", CRM_FEAT_NUM,
	  "(SELECT count(*) FROM deals e WHERE e.account_id = d.account_id AND e.source = 'erp'"
	  " AND e.closed_at < CASE WHEN d.outcome IS NOT NULL THEN coalesce(d.closed_at, d.created_at) ELSE '9999' END)" },
	{ NULL, 0, NULL }
};

static const struct colspec contact_cols[] = {
	{ "title", CRM_FEAT_CAT, "c.title" },
	{ "lead_source", CRM_FEAT_CAT, "c.lead_source" },
	{ "owner", CRM_FEAT_CAT, "c.owner" },
	{ "country", CRM_FEAT_CAT, "c.country" },
	{ "has_phone", CRM_FEAT_NUM, "c.phone IS NOT NULL" },
	{ "consent", CRM_FEAT_CAT, "c.consent" },
	{ "account.industry", CRM_FEAT_CAT, "a.industry" },
	{ "account.employees", CRM_FEAT_NUM, "a.employees" },
	{ "account.revenue", CRM_FEAT_NUM, "a.revenue" },
	{ NULL, 0, NULL }
};

static const char *const engage_names[] = {
	"touches_7d", "touches_30d", "touches_90d", "touch_velocity",
	"days_since_touch", "pricing_views_7d", "pricing_views_30d",
	"email_replies_90d", "email_opens_90d", "meetings_90d", "calls_90d",
	NULL
};

void crm_dataset_init(struct crm_dataset *d, const struct crm_entity *type)
{
	memset(d, 0, sizeof(*d));
	d->type = type;
}

void crm_dataset_release(struct crm_dataset *d)
{
	for (size_t i = 0; i < d->nfeat; i++) {
		free(d->feat[i].name);
		free(d->feat[i].source);
		for (size_t k = 0; k < d->feat[i].ncats; k++)
			free(d->feat[i].cats[k]);
	}
	for (size_t i = 0; i < d->n; i++) {
		free(d->id ? d->id[i] : NULL);
		free(d->asof ? d->asof[i] : NULL);
	}
	free(d->id);
	free(d->asof);
	free(d->x);
	free(d->y);
	free(d->days);
	free(d->byid);
	memset(d, 0, sizeof(*d));
}

void crm_dataset_drop(struct crm_dataset *d, size_t j)
{
	if (j >= d->nfeat)
		return;
	free(d->feat[j].name);
	free(d->feat[j].source);
	for (size_t k = 0; k < d->feat[j].ncats; k++)
		free(d->feat[j].cats[k]);
	memmove(&d->feat[j], &d->feat[j + 1], (d->nfeat - j - 1) * sizeof(d->feat[0]));
	for (size_t i = 0; i < d->n; i++) {
		float *row = &d->x[i * d->nfeat], *to = &d->x[i * (d->nfeat - 1)];

		memmove(to, row, j * sizeof(float));
		memmove(to + j, row + j + 1, (d->nfeat - j - 1) * sizeof(float));
	}
	d->nfeat--;
}

static int cmp_byid(const void *a, const void *b, void *ids)
{
	char **id = ids;

	return strcmp(id[*(const size_t *)a], id[*(const size_t *)b]);
}

/*
 * Position of id in d->byid (built on first use): where it is, or where
 * it would go; *found says which.
 */
static size_t byid_find(struct crm_dataset *d, const char *id, int *found)
{
	size_t lo = 0, hi;

	if (d->nbyid != d->n || !d->byid) {
		size_t *b = realloc(d->byid, (d->n ? d->n : 1) * sizeof(*b));

		if (!b) {
			*found = -1;
			return 0;
		}
		d->byid = b;
		for (size_t i = 0; i < d->n; i++)
			b[i] = i;
		if (d->n)
			qsort_r(b, d->n, sizeof(*b), cmp_byid, d->id);
		d->nbyid = d->n;
	}
	hi = d->nbyid;
	*found = 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(id, d->id[d->byid[mid]]);

		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

long crm_dataset_row(struct crm_dataset *d, const char *id)
{
	int found;
	size_t at = byid_find(d, id, &found);

	return found == 1 ? (long)d->byid[at] : -1;
}

int crm_dataset_index(struct crm_dataset *d)
{
	int found;

	byid_find(d, "", &found);
	return found < 0 ? -1 : 0;
}

int crm_dataset_refresh(struct crm_dataset *d, struct crm_store *db, const char *id,
			const char *now, size_t *row, struct crm_err *e)
{
	struct crm_dataset one;
	size_t i, at;
	int rc = -1, found;

	crm_dataset_init(&one, d->type);
	one.only_id = id;
	if (crm_dataset_build(&one, db, now, d, e) < 0)
		goto out;
	if (one.n != 1) {
		crm_err_set(e, CRM_EDATA, "no live %s '%s'", d->type->kind, id);
		goto out;
	}
	at = byid_find(d, id, &found);
	if (found < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	i = found ? d->byid[at] : d->n;
	if (i == d->n) {
		/* A new record: its history features come from its own build,
		 * which saw no closed records; take the base rate. */
		float *x = realloc(d->x, (d->n + 1) * d->nfeat * sizeof(*x));
		float *y = realloc(d->y, (d->n + 1) * sizeof(*y));
		char **ids = realloc(d->id, (d->n + 1) * sizeof(*ids));
		char **asof = realloc(d->asof, (d->n + 1) * sizeof(*asof));
		float *days = realloc(d->days, (d->n + 1) * sizeof(*days));

		if (x) d->x = x;
		if (y) d->y = y;
		if (ids) d->id = ids;
		if (asof) d->asof = asof;
		if (days) d->days = days;
		if (!x || !y || !ids || !asof || !days) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		d->id[i] = one.id[0];
		d->asof[i] = one.asof[0];
		one.id[0] = one.asof[0] = NULL;
		d->y[i] = one.y[0];
		d->days[i] = one.days[0];
		for (size_t j = 0; j < d->nfeat; j++) {
			int base;

			d->x[i * d->nfeat + j] = one.x[j];
			if (strncmp(d->feat[j].name, "history.", 8))
				continue;
			/* Open records with the same value carry the rate of
			 * all closed history: the new one gets the same. */
			d->x[i * d->nfeat + j] = (float)d->base_rate;
			base = crm_dataset_feature(d, d->feat[j].name + 8);
			if (base < 0 || isnan(one.x[base]))
				continue;
			for (size_t k = 0; k < d->n; k++)
				if (isnan(d->y[k]) && d->x[k * d->nfeat + (size_t)base] == one.x[base]) {
					d->x[i * d->nfeat + j] = d->x[k * d->nfeat + j];
					break;
				}
		}
		d->n++;
		/* Keep the id index in order: the new row goes at its place. */
		{
			size_t *b = realloc(d->byid, d->n * sizeof(*b));

			if (!b) {
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				goto out;
			}
			d->byid = b;
			memmove(&b[at + 1], &b[at], (d->nbyid - at) * sizeof(*b));
			b[at] = i;
			d->nbyid = d->n;
		}
	} else {
		for (size_t j = 0; j < d->nfeat; j++)
			if (strncmp(d->feat[j].name, "history.", 8))
				d->x[i * d->nfeat + j] = one.x[j];
		d->y[i] = one.y[0];
	}
	*row = i;
	rc = 0;
out:
	crm_dataset_release(&one);
	return rc;
}

int crm_dataset_feature(const struct crm_dataset *d, const char *name)
{
	for (size_t i = 0; i < d->nfeat; i++)
		if (!strcmp(d->feat[i].name, name))
			return (int)i;
	return -1;
}

static int add_feature(struct crm_dataset *d, const char *name,
		       enum crm_feat_kind kind, const char *source)
{
	struct crm_feature *f;

	if (d->nfeat == CRM_MAXFEAT)
		return 1;	/* enough: the rest is left out */
	f = &d->feat[d->nfeat];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->source = strdup(source);
	f->kind = kind;
	if (!f->name || !f->source)
		return -1;
	d->nfeat++;
	return 0;
}

/* Code of value v in feature f: its index, or the "(other)" code. */
static float cat_code(const struct crm_feature *f, const char *v)
{
	if (!v)
		return NAN;
	for (size_t k = 0; k + 1 < f->ncats; k++)
		if (!strcmp(f->cats[k], v))
			return (float)k;
	return f->ncats ? (float)(f->ncats - 1) : NAN;
}

struct valcount {
	const char *v;
	size_t n;
};

static int cmp_count(const void *a, const void *b)
{
	const struct valcount *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->v, y->v);
}

/*
 * Choose the categories of feature j from the raw values (row stride
 * stride): the most common first, rare ones pooled.
 */
static int choose_cats(struct crm_dataset *d, size_t j, char **raw,
		       size_t stride)
{
	struct valcount *vc = calloc(d->n ? d->n : 1, sizeof(*vc));
	size_t nv = 0;

	if (!vc)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		const char *v = raw[i * stride + j];
		size_t k;

		if (!v)
			continue;
		for (k = 0; k < nv && strcmp(vc[k].v, v); k++)
			;
		if (k == nv) {
			if (nv > 10000)	/* an identifier, not a category */
				continue;
			vc[nv].v = v;
			nv++;
		}
		vc[k].n++;
	}
	qsort(vc, nv, sizeof(*vc), cmp_count);
	for (size_t k = 0; k < nv && d->feat[j].ncats < CRM_MAXCATS - 1; k++) {
		if (vc[k].n < MIN_CAT_COUNT)
			break;
		if (!(d->feat[j].cats[d->feat[j].ncats++] = strdup(vc[k].v))) {
			free(vc);
			return -1;
		}
	}
	free(vc);
	if (!(d->feat[j].cats[d->feat[j].ncats++] = strdup("(other)")))
		return -1;
	return 0;
}

/*
 * A categorical value of row i, feature j: kept as text to choose the
 * categories from (raw, training), or coded at once (raw NULL: a schema).
 */
static void set_cat(struct crm_dataset *d, char **raw, size_t i, size_t j,
		    const char *v)
{
	if (raw)
		raw[i * CRM_MAXFEAT + j] = strdup(v);
	else
		d->x[i * CRM_MAXFEAT + j] = cat_code(&d->feat[j], v);
}

static int cmp_asof(const void *a, const void *b, void *ds)
{
	const struct crm_dataset *d = ds;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(d->asof[x], d->asof[y]);

	return c ? c : (x > y) - (x < y);
}

void crm_dataset_sort_asof(const struct crm_dataset *d, size_t *idx, size_t n)
{
	if (n)
		qsort_r(idx, n, sizeof(*idx), cmp_asof, (void *)d);
}

/*
 * history: for each categorical feature, the smoothed win rate of the
 * records with the same value that closed strictly before this one.
 */
static int add_history(struct crm_dataset *d, size_t nbase)
{
	size_t *order = malloc((d->n ? d->n : 1) * sizeof(*order));
	double (*wins)[CRM_MAXCATS] = calloc(nbase ? nbase : 1, sizeof(*wins));
	double (*cnt)[CRM_MAXCATS] = calloc(nbase ? nbase : 1, sizeof(*cnt));
	double W = 0, N = 0;
	size_t first = d->nfeat;
	int rc = -1;

	if (!order || !wins || !cnt)
		goto out;
	for (size_t j = 0; j < nbase; j++)
		if (d->feat[j].kind == CRM_FEAT_CAT) {
			char name[160];

			snprintf(name, sizeof(name), "history.%s", d->feat[j].name);
			if (add_feature(d, name, CRM_FEAT_NUM, d->feat[j].name) < 0)
				goto out;
		}
	for (size_t i = 0; i < d->n; i++)
		order[i] = i;
	crm_dataset_sort_asof(d, order, d->n);
	for (size_t g = 0; g < d->n;) {
		size_t end = g + 1;

		/* Records with one as-of time do not see each other's outcome. */
		while (end < d->n && !strcmp(d->asof[order[end]], d->asof[order[g]]))
			end++;
		for (size_t k = g; k < end; k++) {
			size_t i = order[k], h = first;
			double base = (W + 1) / (N + 2);

			for (size_t j = 0; j < nbase; j++) {
				float code;

				if (d->feat[j].kind != CRM_FEAT_CAT)
					continue;
				code = d->x[i * CRM_MAXFEAT + j];
				d->x[i * CRM_MAXFEAT + h] = isnan(code) ? NAN :
					(float)((wins[j][(int)code] + HIST_PRIOR * base) /
						(cnt[j][(int)code] + HIST_PRIOR));
				h++;
			}
		}
		for (size_t k = g; k < end; k++) {
			size_t i = order[k];

			if (isnan(d->y[i]))
				continue;
			W += d->y[i];
			N++;
			for (size_t j = 0; j < nbase; j++) {
				float code = d->x[i * CRM_MAXFEAT + j];

				if (d->feat[j].kind != CRM_FEAT_CAT || isnan(code))
					continue;
				wins[j][(int)code] += d->y[i];
				cnt[j][(int)code]++;
			}
		}
		g = end;
	}
	rc = 0;
out:
	free(order);
	free(wins);
	free(cnt);
	return rc;
}

/* Custom fields worth a feature: common enough; numbers or categories. */
static int choose_attrs(struct crm_dataset *d, struct crm_store *db, const char *sql_from,
			const char *where, const char *prefix, const char *attrs_expr,
			struct crm_err *e)
{
	struct crm_buf sql;
	struct crm_stmt *st;
	int rc = 0;

	crm_buf_init(&sql, 0);
	crm_buf_addf(&sql, "SELECT j.key, sum(CASE WHEN %s THEN 1 ELSE 0 END), count(*) FROM %s, %s(%s) AS j "
		     "WHERE %s%s GROUP BY j.key HAVING count(*) >= ?1 ORDER BY count(*) DESC, j.key",
		     crm_store_sql(db, CRM_SQL_EACH_NUMBER), sql_from, crm_store_sql(db, CRM_SQL_JSON_EACH),
		     attrs_expr, crm_store_sql(db, CRM_SQL_EACH_SCALAR), where);
	if (crm_store_prepare(db, sql.data, 0, &st, e) < 0) {
		crm_buf_release(&sql);
		return -1;
	}
	crm_stmt_bind_double(st, 1, fmax(1.0, ATTR_MIN_SHARE * (double)d->n));
	while (crm_stmt_step(st, e) > 0) {
		const char *key = crm_stmt_text(st, 0);
		double nums = crm_stmt_double(st, 1), all = crm_stmt_double(st, 2);
		char name[200];

		snprintf(name, sizeof(name), "%s%s", prefix, key);
		if (add_feature(d, name, nums >= 0.9 * all ? CRM_FEAT_NUM : CRM_FEAT_CAT,
				key) < 0) {
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			break;
		}
	}
	crm_stmt_free(st);
	crm_buf_release(&sql);
	return rc;
}

/* A statement given back: to the connection's cache, or freed. */
static void stmt_release(struct crm_stmt *st, int cached)
{
	if (cached)
		crm_store_stmt_done(st);
	else
		crm_stmt_free(st);
}

/*
 * Each record's as-of time and the bounds of its engagement windows
 * into the temporary table feat_asof2, computed once per record rather
 * than per interaction joined.
 */
static int asof_windows(struct crm_dataset *d, struct crm_store *db, struct crm_err *e)
{
	static const int days[] = { 0, 7, 28, 30, 90 };
	const char **v = malloc(d->n * 3 * sizeof(*v) + 1);
	char (*num)[24] = malloc(d->n * sizeof(*num) + 1);
	struct crm_buf sql;
	int rc = -1;

	crm_buf_init(&sql, 0);
	crm_buf_adds(&sql, "INSERT INTO feat_asof2 SELECT CAST(c1 AS INTEGER), c2");
	for (size_t k = 0; k < sizeof(days) / sizeof(days[0]); k++) {
		crm_buf_adds(&sql, ", ");
		crm_store_time_minus(db, &sql, "c3", days[k]);
	}
	crm_buf_adds(&sql, " FROM new_rows");
	if (!v || !num || !sql.data) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		snprintf(num[i], sizeof(num[i]), "%zu", i);
		v[3 * i] = num[i];
		v[3 * i + 1] = d->id[i];
		v[3 * i + 2] = d->asof[i];
	}
	rc = crm_store_insert_rows(db, sql.data, 3, v, d->n, e);
out:
	crm_buf_release(&sql);
	free(v);
	free(num);
	return rc;
}

int crm_dataset_build(struct crm_dataset *d, struct crm_store *db, const char *now,
		      const struct crm_dataset *schema, struct crm_err *e)
{
	int is_deal = !strcmp(d->type->kind, "deal");
	const struct colspec *cols = is_deal ? deal_cols : contact_cols;
	const char *from = is_deal ?
		"deals d LEFT JOIN accounts a ON a.id = d.account_id LEFT JOIN contacts c ON c.id = d.contact_id" :
		"contacts c LEFT JOIN accounts a ON a.id = c.account_id";
	const char *me = is_deal ? "d" : "c";
	/* ERP invoices are the account's history, not opportunities. */
	const char *only = is_deal ? " AND d.source <> 'erp'" : "";
	struct crm_buf sql;
	struct crm_stmt *st = NULL;
	int cached = 0;	/* st is the connection's: given back, not freed */
	char nowbuf[32], **raw = NULL;
	size_t ncols = 0, nbase, alloc = 0;
	int rc = -1, step;

	crm_buf_init(&sql, 0);
	if (!now) {
		crm_timestamp(nowbuf, sizeof(nowbuf));
		now = nowbuf;
	}
	/* The feature list: from the schema, or chosen from the data. */
	if (schema) {
		for (size_t j = 0; j < schema->nfeat; j++) {
			if (!strncmp(schema->feat[j].name, "history.", 8))
				continue;
			if (add_feature(d, schema->feat[j].name, schema->feat[j].kind,
					schema->feat[j].source) < 0)
				goto nomem;
			for (size_t k = 0; k < schema->feat[j].ncats; k++)
				if (!(d->feat[d->nfeat - 1].cats[k] = strdup(schema->feat[j].cats[k])))
					goto nomem;
			d->feat[d->nfeat - 1].ncats = schema->feat[j].ncats;
		}
	} else {
		struct crm_stmt *cnt;

		for (const struct colspec *c = cols; c->name; c++)
			if (add_feature(d, c->name, c->kind, c->expr) < 0)
				goto nomem;
		for (const char *const *g = engage_names; *g; g++)
			if (add_feature(d, *g, CRM_FEAT_NUM, "interactions") < 0)
				goto nomem;
		crm_buf_addf(&sql, "SELECT count(*) FROM %s WHERE %s.merged_into IS NULL%s", from, me, only);
		if (crm_store_prepare(db, sql.data, 0, &cnt, e) < 0)
			goto out;
		if (crm_stmt_step(cnt, e) > 0)
			d->n = (size_t)crm_stmt_int64(cnt, 0);
		crm_stmt_free(cnt);
		if (choose_attrs(d, db, from, only, "attrs.", is_deal ? "d.attrs" : "c.attrs", e) < 0 ||
		    (is_deal && choose_attrs(d, db, from, only, "account.attrs.", "a.attrs", e) < 0))
			goto out;
		d->n = 0;
	}
	for (ncols = 0; cols[ncols].name; ncols++)
		;
	/* Base rows: own and related columns, as-of time, outcome, attrs. */
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "SELECT %s.id, ", me);
	if (is_deal)
		crm_buf_adds(&sql, "CASE WHEN d.outcome IS NOT NULL THEN coalesce(d.closed_at, d.created_at) END, "
				   "d.outcome = 'won', d.attrs, a.attrs, "
				   "julianday(d.closed_at) - julianday(d.created_at)");
	else
		crm_buf_adds(&sql, "CASE WHEN c.outcome IS NOT NULL THEN coalesce(c.outcome_at, c.created_at) END, "
				   "c.outcome = 'converted', c.attrs, a.attrs, "
				   "julianday(c.outcome_at) - julianday(c.created_at)");
	for (size_t c = 0; c < ncols; c++)
		crm_buf_addf(&sql, ", %s", cols[c].expr);
	/* One record: by its id, no ordering (which could make SQLite walk
	 * the table in rowid order instead of using the id index). */
	if (d->only_id)
		crm_buf_addf(&sql, " FROM %s WHERE %s.id = ?1 AND %s.merged_into IS NULL%s", from, me, me, only);
	else if (d->only_listed)
		crm_buf_addf(&sql, " FROM %s WHERE %s.id IN (SELECT id FROM crm_only) AND %s.merged_into IS NULL%s",
			     from, me, me, only);
	else
		crm_buf_addf(&sql, " FROM %s WHERE %s.merged_into IS NULL%s ORDER BY %s.%s", from, me, only, me,
			     crm_store_rowid(db));
	/* One record (a rescore as an event arrives): a statement the
	 * connection keeps, not one prepared for each request. */
	if (d->only_id) {
		if (!(st = crm_store_stmt_text(db, sql.data, e)))
			goto out;
		cached = 1;
		crm_stmt_bind_text_ref(st, 1, d->only_id, (size_t)-1);
	} else if (crm_store_prepare(db, sql.data, CRM_STMT_STREAM, &st, e) < 0) {
		goto out;
	}
	while ((step = crm_stmt_step(st, e)) > 0) {
		size_t i = d->n;

		if (i == alloc) {
			size_t na = alloc ? alloc * 2 : 1024;
			float *x = realloc(d->x, na * CRM_MAXFEAT * sizeof(*x));
			float *y = realloc(d->y, na * sizeof(*y));
			char **id = realloc(d->id, na * sizeof(*id));
			char **asof = realloc(d->asof, na * sizeof(*asof));
			/* Raw category text is only kept to choose categories;
			 * with a schema, values are coded as they are read. */
			char **rw = schema ? raw : realloc(raw, na * CRM_MAXFEAT * sizeof(*rw));
			float *days = realloc(d->days, na * sizeof(*days));

			if (days) d->days = days;
			if (x) d->x = x;
			if (y) d->y = y;
			if (id) d->id = id;
			if (asof) d->asof = asof;
			if (rw) raw = rw;
			if (!x || !y || !id || !asof || (!rw && !schema) || !days)
				goto nomem;
			alloc = na;
		}
		for (size_t j = 0; j < CRM_MAXFEAT; j++) {
			d->x[i * CRM_MAXFEAT + j] = NAN;
			if (raw)
				raw[i * CRM_MAXFEAT + j] = NULL;
		}
		d->id[i] = strdup(crm_stmt_text(st, 0));
		d->asof[i] = strdup(crm_stmt_type(st, 1) == CRM_NULL ? now :
				    crm_stmt_text(st, 1));
		if (!d->id[i] || !d->asof[i])
			goto nomem;
		d->y[i] = crm_stmt_type(st, 1) == CRM_NULL ? NAN :
			  (float)(int)crm_stmt_int64(st, 2);
		d->days[i] = crm_stmt_type(st, 5) == CRM_NULL || isnan(d->y[i]) ? NAN :
			     (float)crm_stmt_double(st, 5);
		d->n++;
		{
			/* Each record's custom fields are parsed once, when needed. */
			json_t *own = NULL, *acc = NULL;
			int own_done = 0, acc_done = 0;

			for (size_t j = 0; j < d->nfeat; j++) {
				const struct crm_feature *f = &d->feat[j];
				int col = -1;
				json_t *o = NULL, *v;
				const char *key = NULL;

				for (size_t c = 0; c < ncols; c++)
					if (!strcmp(cols[c].name, f->name))
						col = 6 + (int)c;
				if (col < 0 && !strncmp(f->name, "attrs.", 6)) {
					if (!own_done) {
						own = json_loads(crm_stmt_text(st, 3) ?: "{}", 0, NULL);
						own_done = 1;
					}
					o = own;
					key = f->name + 6;
				} else if (col < 0 && !strncmp(f->name, "account.attrs.", 14)) {
					if (!acc_done) {
						acc = json_loads(crm_stmt_text(st, 4) ?: "{}", 0, NULL);
						acc_done = 1;
					}
					o = acc;
					key = f->name + 14;
				}
				if (col >= 0 && crm_stmt_type(st, col) != CRM_NULL) {
					if (f->kind == CRM_FEAT_NUM)
						d->x[i * CRM_MAXFEAT + j] = (float)crm_stmt_double(st, col);
					else
						set_cat(d, raw, i, j, crm_stmt_text(st, col));
					continue;
				}
				if (!key || !(v = json_object_get(o, key)))
					continue;
				if (json_is_number(v) && f->kind == CRM_FEAT_NUM) {
					d->x[i * CRM_MAXFEAT + j] = (float)json_number_value(v);
				} else if (json_is_string(v) && f->kind == CRM_FEAT_CAT) {
					set_cat(d, raw, i, j, json_string_value(v));
				} else if (json_is_number(v) && f->kind == CRM_FEAT_CAT) {
					char num[64];

					snprintf(num, sizeof(num), "%g", json_number_value(v));
					set_cat(d, raw, i, j, num);
				} else if (json_is_boolean(v)) {
					d->x[i * CRM_MAXFEAT + j] = json_is_true(v) ? 1.0f : 0.0f;
				}
			}
			json_decref(own);
			json_decref(acc);
		}
	}
	if (step < 0)
		goto out;
	stmt_release(st, cached);
	st = NULL;
	cached = 0;
	/* Categories chosen from the data, then codes (a schema's were coded
	 * as read). */
	for (size_t j = 0; j < d->nfeat && !schema; j++) {
		if (d->feat[j].kind != CRM_FEAT_CAT)
			continue;
		if (choose_cats(d, j, raw, CRM_MAXFEAT) < 0)
			goto nomem;
		for (size_t i = 0; i < d->n; i++)
			d->x[i * CRM_MAXFEAT + j] = cat_code(&d->feat[j], raw[i * CRM_MAXFEAT + j]);
	}
	/* Engagement, aggregated by SQLite as of each record's time. */
	/* The window bounds are computed once per record, not per row joined. */
	if (crm_store_exec(db, "CREATE TEMP TABLE IF NOT EXISTS feat_asof2 (i INTEGER PRIMARY KEY, rid TEXT, asof TEXT,"
			    " d7 TEXT, d28 TEXT, d30 TEXT, d90 TEXT);"
			    "DELETE FROM feat_asof2", e) < 0)
		goto out;
	if (asof_windows(d, db, e) < 0)
		goto out;
	/* Interactions of the record: a deal's own and its contact's. */
	crm_buf_reset(&sql);
	{
		crm_buf_adds(&sql,
			"SELECT r.i,"
			" count(*) FILTER (WHERE i.occurred_at >= r.d7),"
			" count(*) FILTER (WHERE i.occurred_at >= r.d30),"
			" count(*),"
			" count(*) FILTER (WHERE i.occurred_at >= r.d28 AND i.occurred_at < r.d7),"
			" julianday(r.asof) - julianday(max(i.occurred_at)),"
			" count(*) FILTER (WHERE lower(i.subject) LIKE '%pricing%' AND i.occurred_at >= r.d7),"
			" count(*) FILTER (WHERE lower(i.subject) LIKE '%pricing%' AND i.occurred_at >= r.d30),"
			" count(*) FILTER (WHERE i.kind = 'email' AND i.direction = 'inbound'),"
			" count(*) FILTER (WHERE i.kind = 'email_open'),"
			" count(*) FILTER (WHERE i.kind = 'meeting'),"
			" count(*) FILTER (WHERE i.kind = 'call')"
			" FROM feat_asof2 r");
		/* Each record's looked up by index (PostgreSQL has no
		 * statistics on the temporary table and would otherwise hash
		 * every interaction to join one record). */
		crm_store_join_each(db, &sql, "i", is_deal ?
				    "deals dd JOIN interactions i ON (i.deal_id = dd.id OR i.contact_id = dd.contact_id)" :
				    "interactions i",
				    is_deal ? "dd.id = r.rid AND i.occurred_at < r.asof AND i.occurred_at >= r.d90" :
				    "i.contact_id = r.rid AND i.occurred_at < r.asof AND i.occurred_at >= r.d90");
		crm_buf_adds(&sql, " GROUP BY r.i");
	}
	if (!(st = crm_store_stmt_text(db, sql.data, e)))
		goto out;
	cached = 1;
	{
		int base = crm_dataset_feature(d, "touches_7d");

		/* No interactions is zero touches, not a missing value. */
		if (base >= 0)
			for (size_t i = 0; i < d->n; i++)
				for (int g = 0; engage_names[g]; g++)
					if (strcmp(engage_names[g], "days_since_touch") != 0)
						d->x[i * CRM_MAXFEAT + (size_t)base + (size_t)g] = 0;
		while (base >= 0 && crm_stmt_step(st, e) > 0) {
			size_t i = (size_t)crm_stmt_int64(st, 0);
			float *row = &d->x[i * CRM_MAXFEAT + (size_t)base];
			double before = crm_stmt_double(st, 4) / 3.0;

			row[0] = (float)crm_stmt_double(st, 1);
			row[1] = (float)crm_stmt_double(st, 2);
			row[2] = (float)crm_stmt_double(st, 3);
			/* This week against the average of the three before it. */
			row[3] = (float)((row[0] + 1.0) / (before + 1.0));
			row[4] = (float)crm_stmt_double(st, 5);
			for (int g = 5; g < 11; g++)
				row[g] = (float)crm_stmt_double(st, g + 1);
		}
	}
	stmt_release(st, cached);
	st = NULL;
	cached = 0;
	/* Leave the temporary table empty: the next build, often of one
	 * record, should not pay for this one's rows. */
	crm_store_exec(db, "DELETE FROM feat_asof2", NULL);
	/* History: win rates of earlier records with the same values. */
	nbase = d->nfeat;
	if (add_history(d, nbase) < 0)
		goto nomem;
	for (size_t i = 0; i < d->n; i++)
		if (!isnan(d->y[i])) {
			d->base_rate += d->y[i];
			d->nclosed++;
		}
	if (d->nclosed)
		d->base_rate /= (double)d->nclosed;
	/* Compact rows from stride CRM_MAXFEAT to nfeat. */
	for (size_t i = 0; i < d->n; i++)
		memmove(&d->x[i * d->nfeat], &d->x[i * CRM_MAXFEAT], d->nfeat * sizeof(float));
	rc = 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	stmt_release(st, cached);
	if (raw) {
		for (size_t i = 0; i < d->n; i++)
			for (size_t j = 0; j < CRM_MAXFEAT; j++)
				free(raw[i * CRM_MAXFEAT + j]);
		free(raw);
	}
	crm_buf_release(&sql);
	return rc;
}

int crm_dataset_history_json(const struct crm_dataset *d, struct crm_buf *b)
{
	double W = 0, N = 0, base;
	int rc = crm_buf_addc(b, '{'), firstf = 1;

	/* What add_history() gives a record after all closed history. */
	for (size_t i = 0; i < d->n; i++)
		if (!isnan(d->y[i])) {
			W += d->y[i];
			N++;
		}
	base = (W + 1) / (N + 2);
	for (size_t h = 0; h < d->nfeat; h++) {
		double wins[CRM_MAXCATS] = { 0 }, cnt[CRM_MAXCATS] = { 0 };
		int b0;
		size_t ncats;

		if (strncmp(d->feat[h].name, "history.", 8))
			continue;
		b0 = crm_dataset_feature(d, d->feat[h].name + 8);
		if (b0 < 0)
			continue;
		ncats = d->feat[b0].ncats;
		for (size_t i = 0; i < d->n; i++) {
			float c = d->x[i * d->nfeat + (size_t)b0];

			if (isnan(d->y[i]) || isnan(c))
				continue;
			wins[(int)c] += d->y[i];
			cnt[(int)c]++;
		}
		rc |= crm_buf_addf(b, "%s\"%s\":{", firstf ? "" : ",", d->feat[h].name);
		firstf = 0;
		for (size_t c = 0; c < ncats; c++)
			rc |= crm_buf_addf(b, "%s\"%zu\":%.9g", c ? "," : "", c,
					   (float)((wins[c] + HIST_PRIOR * base) / (cnt[c] + HIST_PRIOR)));
		rc |= crm_buf_addc(b, '}');
	}
	rc |= crm_buf_addf(b, "%s\"base_rate\":%.9g,\"win_rate\":%.9g}", firstf ? "" : ",",
			   base, N ? W / N : 0.0);
	return rc ? -1 : 0;
}

int crm_dataset_build_one(struct crm_dataset *d, struct crm_store *db, const struct crm_entity *type,
			  const char *id, const struct crm_dataset *schema,
			  const char *hist, struct crm_err *e)
{
	crm_dataset_init(d, type);
	d->only_id = id;
	if (crm_dataset_build(d, db, NULL, schema, e) < 0)
		return -1;
	if (d->n != 1)
		return 1;
	if (hist && crm_dataset_set_history(d, hist, e) < 0)
		return -1;
	return 0;
}

int crm_dataset_build_ids(struct crm_dataset *d, struct crm_store *db, const struct crm_entity *type,
			  const char *const *ids, size_t n, const struct crm_dataset *schema,
			  const char *hist, struct crm_err *e)
{
	int rc = -1;

	crm_dataset_init(d, type);
	d->only_listed = 1;
	if (crm_store_exec(db, "CREATE TEMP TABLE IF NOT EXISTS crm_only (id TEXT PRIMARY KEY);"
			   "DELETE FROM crm_only", e) < 0)
		return -1;
	if (crm_store_insert_rows(db, "INSERT INTO crm_only SELECT DISTINCT c1 FROM new_rows WHERE true "
				  "ON CONFLICT DO NOTHING", 1, ids, n, e) < 0)
		return -1;
	if (crm_dataset_build(d, db, NULL, schema, e) == 0 &&
	    (!hist || !d->n || crm_dataset_set_history(d, hist, e) == 0))
		rc = 0;
	crm_store_exec(db, "DELETE FROM crm_only", NULL);
	return rc;
}

int crm_dataset_set_history(struct crm_dataset *d, const char *json,
			    struct crm_err *e)
{
	json_t *t = json_loads(json, 0, NULL);
	double base;

	if (!json_is_object(t)) {
		json_decref(t);
		return crm_err_set(e, CRM_EDATA, "history table is not readable");
	}
	base = json_number_value(json_object_get(t, "base_rate"));
	d->base_rate = json_number_value(json_object_get(t, "win_rate"));
	for (size_t h = 0; h < d->nfeat; h++) {
		json_t *rates;
		int b0;

		if (strncmp(d->feat[h].name, "history.", 8))
			continue;
		rates = json_object_get(t, d->feat[h].name);
		b0 = crm_dataset_feature(d, d->feat[h].name + 8);
		for (size_t i = 0; i < d->n; i++) {
			float c = b0 >= 0 ? d->x[i * d->nfeat + (size_t)b0] : NAN;
			char key[16];
			json_t *v;

			if (isnan(c)) {
				d->x[i * d->nfeat + h] = NAN;
				continue;
			}
			snprintf(key, sizeof(key), "%d", (int)c);
			v = json_object_get(rates, key);
			/* A value no open record had: the prior for no history. */
			d->x[i * d->nfeat + h] = v ? (float)json_number_value(v) : (float)base;
		}
	}
	json_decref(t);
	return 0;
}
