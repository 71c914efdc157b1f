/*
 * model.c - gradient-boosted trees through XGBoost's C API.
 *
 * Training holds out the most recent closed records (by as-of time), the
 * way the model will be used: trained on the past, scoring the future.
 * It stops adding trees when the holdout AUC has not improved for 30
 * rounds and keeps the best number. Categorical features are passed to
 * XGBoost as such ("c" feature types, hist trees), missing values as NaN.
 * The stored blob is XGBoost's JSON model, zstd-compressed, with the hash
 * of the uncompressed bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store.h"
#include "model.h"
#include "similarity.h"
#include "ndjson.h"
#include "pack.h"

#define XG(call) do { if ((call) != 0) { \
		crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError()); \
		goto out; } } while (0)

void crm_model_init(struct crm_model *m)
{
	memset(m, 0, sizeof(*m));
}

void crm_model_release(struct crm_model *m)
{
	if (m->booster)
		XGBoosterFree(m->booster);
	for (size_t i = 0; i < m->nleaks; i++) {
		free(m->leak[i]);
		free(m->leak_why[i]);
	}
	crm_dataset_release(&m->schema);
	for (size_t i = 0; i < m->nhold; i++)
		free(m->hold_id[i]);
	free(m->hold_id);
	free(m->hold_p);
	free(m->hold_y);
	memset(m, 0, sizeof(*m));
}

struct ranked {
	float p, y;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->p > y->p) - (x->p < y->p);
}

double crm_auc(const float *p, const float *y, size_t n)
{
	struct ranked *r = malloc((n ? n : 1) * sizeof(*r));
	double pos = 0, neg = 0, sum = 0;

	if (!r)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		r[i].p = p[i];
		r[i].y = y[i];
	}
	qsort(r, n, sizeof(*r), cmp_ranked);
	/* Mann-Whitney U with average ranks for ties. */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double rank, npos = 0;

		while (j < n && r[j].p == r[i].p)
			j++;
		rank = (double)(i + 1 + j) / 2.0;
		for (size_t k = i; k < j; k++)
			npos += r[k].y > 0.5;
		sum += rank * npos;
		pos += npos;
		neg += (double)(j - i) - npos;
		i = j;
	}
	free(r);
	if (!pos || !neg)
		return NAN;
	return (sum - pos * (pos + 1) / 2) / (pos * neg);
}

/* A DMatrix of rows idx (or all when idx NULL) with feature types. */
static DMatrixHandle matrix(const struct crm_dataset *d, const size_t *idx,
			    size_t n, const float *labels, struct crm_err *e)
{
	DMatrixHandle m = NULL;
	float *x = malloc((n ? n : 1) * d->nfeat * sizeof(*x));
	const char *types[CRM_MAXFEAT];

	if (!x) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(&x[i * d->nfeat], &d->x[(idx ? idx[i] : i) * d->nfeat],
		       d->nfeat * sizeof(*x));
	if (XGDMatrixCreateFromMat(x, n, d->nfeat, NAN, &m) != 0) {
		crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
		free(x);
		return NULL;
	}
	free(x);
	for (size_t j = 0; j < d->nfeat; j++)
		types[j] = d->feat[j].kind == CRM_FEAT_CAT ? "c" : "q";
	XGDMatrixSetStrFeatureInfo(m, "feature_type", types, d->nfeat);
	if (labels)
		XGDMatrixSetFloatInfo(m, "label", labels, n);
	return m;
}

/* Predict with the first `trees` rounds (0: all) into out. */
static int predict(BoosterHandle b, DMatrixHandle dm, size_t n, size_t trees,
		   float *out, struct crm_err *e)
{
	char cfg[160];
	const bst_ulong *shape;
	bst_ulong dim;
	const float *res;

	snprintf(cfg, sizeof(cfg),
		 "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
		 "\"iteration_end\": %zu, \"strict_shape\": false}", trees);
	if (XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res) != 0)
		return crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
	memcpy(out, res, n * sizeof(*out));
	return 0;
}

static void metrics_of(const float *p, const float *y, size_t n,
		       struct crm_metrics *mt)
{
	double ll = 0, br = 0;

	mt->auc = crm_auc(p, y, n);
	memset(mt->bin_pred, 0, sizeof(mt->bin_pred));
	memset(mt->bin_obs, 0, sizeof(mt->bin_obs));
	memset(mt->bin_n, 0, sizeof(mt->bin_n));
	for (size_t i = 0; i < n; i++) {
		double q = fmin(fmax(p[i], 1e-7), 1 - 1e-7);
		int b = (int)(p[i] * 10);

		ll -= y[i] * log(q) + (1 - y[i]) * log(1 - q);
		br += (p[i] - y[i]) * (p[i] - y[i]);
		if (b > 9)
			b = 9;
		mt->bin_pred[b] += p[i];
		mt->bin_obs[b] += y[i];
		mt->bin_n[b]++;
	}
	mt->logloss = n ? ll / (double)n : NAN;
	mt->brier = n ? br / (double)n : NAN;
	for (int b = 0; b < 10; b++)
		if (mt->bin_n[b]) {
			mt->bin_pred[b] /= (double)mt->bin_n[b];
			mt->bin_obs[b] /= (double)mt->bin_n[b];
		}
}

/* The schema (features and categories) as JSON. */
static int schema_json(const struct crm_dataset *d, struct crm_buf *b)
{
	int rc = crm_buf_addc(b, '[');

	for (size_t j = 0; j < d->nfeat; j++) {
		const struct crm_feature *f = &d->feat[j];

		rc |= crm_buf_adds(b, j ? ",{\"name\":" : "{\"name\":");
		rc |= crm_json_str(b, f->name, strlen(f->name));
		rc |= crm_buf_addf(b, ",\"kind\":\"%s\",\"source\":",
				   f->kind == CRM_FEAT_CAT ? "category" : "number");
		rc |= crm_json_str(b, f->source, strlen(f->source));
		if (f->kind == CRM_FEAT_CAT) {
			rc |= crm_buf_adds(b, ",\"categories\":[");
			for (size_t k = 0; k < f->ncats; k++) {
				if (k)
					rc |= crm_buf_addc(b, ',');
				rc |= crm_json_str(b, f->cats[k], strlen(f->cats[k]));
			}
			rc |= crm_buf_addc(b, ']');
		}
		rc |= crm_buf_addc(b, '}');
	}
	return rc | crm_buf_addc(b, ']');
}

static int schema_parse(struct crm_dataset *d, const char *json, struct crm_err *e)
{
	json_t *a = json_loads(json, 0, NULL), *f;
	size_t j;

	if (!json_is_array(a)) {
		json_decref(a);
		return crm_err_set(e, CRM_EDATA, "model features are not readable");
	}
	json_array_foreach(a, j, f) {
		struct crm_feature *ft;
		json_t *cats = json_object_get(f, "categories"), *c;
		size_t k;

		if (d->nfeat == CRM_MAXFEAT)
			break;
		ft = &d->feat[d->nfeat++];
		memset(ft, 0, sizeof(*ft));
		ft->name = strdup(json_string_value(json_object_get(f, "name")) ?: "?");
		ft->source = strdup(json_string_value(json_object_get(f, "source")) ?: "");
		ft->kind = !strcmp(json_string_value(json_object_get(f, "kind")) ?: "", "category") ?
			   CRM_FEAT_CAT : CRM_FEAT_NUM;
		json_array_foreach(cats, k, c)
			if (ft->ncats < CRM_MAXCATS)
				ft->cats[ft->ncats++] = strdup(json_string_value(c) ?: "");
	}
	json_decref(a);
	return 0;
}

static int metrics_json(const struct crm_metrics *mt, struct crm_buf *b)
{
	int rc = crm_buf_addf(b, "{\"auc\":%.6f,\"logloss\":%.6f,\"brier\":%.6f,\"base_rate\":%.6f,"
			      "\"train\":%zu,\"holdout\":%zu,\"trees\":%zu,",
			      mt->auc, mt->logloss, mt->brier, mt->base_rate, mt->ntrain,
			      mt->ntest, mt->trees);

	rc |= crm_buf_adds(b, "\"auc_ci\":[");
	rc |= crm_json_num(b, isnan(mt->auc_lo) ? 0 : round(mt->auc_lo * 1e4) / 1e4);
	rc |= crm_buf_addc(b, ',');
	rc |= crm_json_num(b, isnan(mt->auc_hi) ? 0 : round(mt->auc_hi * 1e4) / 1e4);
	rc |= crm_buf_addf(b, "],\"base_logloss\":%.6f,\"signal\":%s,\"folds\":%d,\"fold_order\":\"%s\",",
			   mt->base_logloss, mt->signal ? "true" : "false", mt->folds,
			   mt->by_time ? "time" : "stratified");
	if (!isnan(mt->holdout_auc) && mt->holdout_auc > 0)
		rc |= crm_buf_addf(b, "\"holdout_auc\":%.6f,", mt->holdout_auc);
	rc |= crm_buf_adds(b, "\"reliability\":[");

	for (int i = 0, first = 1; i < 10; i++) {
		if (!mt->bin_n[i])
			continue;
		rc |= crm_buf_addf(b, "%s{\"from\":%.1f,\"predicted\":%.4f,\"observed\":%.4f,\"n\":%zu}",
				   first ? "" : ",", i / 10.0, mt->bin_pred[i], mt->bin_obs[i],
				   mt->bin_n[i]);
		first = 0;
	}
	return rc | crm_buf_adds(b, "]}");
}

/*
 * Leave out features that give the outcome away: present on (nearly) all
 * closed records but (nearly) no open one, so only known once the outcome
 * is; or one number that alone tells won from lost. Returns 0, -1 (e).
 */
static int drop_leaks(struct crm_dataset *d, struct crm_model *m,
		      struct crm_err *e)
{
	float *v = malloc((d->n ? d->n : 1) * sizeof(float));
	float *y = malloc((d->n ? d->n : 1) * sizeof(float));

	if (!v || !y) {
		free(v);
		free(y);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	for (size_t j = 0; j < d->nfeat;) {
		size_t closed = 0, cpres = 0, open = 0, opres = 0, nv = 0;
		char why[160] = "";

		for (size_t i = 0; i < d->n; i++) {
			float x = d->x[i * d->nfeat + j];

			if (isnan(d->y[i])) {
				open++;
				opres += !isnan(x);
			} else {
				closed++;
				cpres += !isnan(x);
				if (!isnan(x)) {
					v[nv] = x;
					y[nv++] = d->y[i];
				}
			}
		}
		if (open >= 20 && cpres >= 0.9 * (double)closed && opres <= 0.1 * (double)open)
			snprintf(why, sizeof(why),
				 "set on %.0f%% of closed records but %.0f%% of open ones: known only at the outcome",
				 100.0 * (double)cpres / (double)closed, 100.0 * (double)opres / (double)open);
		if (!why[0] && d->feat[j].kind == CRM_FEAT_NUM &&
		    strncmp(d->feat[j].name, "history.", 8) && nv >= 0.5 * (double)closed) {
			double auc = crm_auc(v, y, nv);

			if (!isnan(auc) && fmax(auc, 1 - auc) >= 0.98)
				snprintf(why, sizeof(why),
					 "tells won from lost by itself (AUC %.3f): recorded with the outcome",
					 fmax(auc, 1 - auc));
		}
		if (!why[0]) {
			j++;
			continue;
		}
		if (m->nleaks < CRM_MAXLEAKS) {
			m->leak[m->nleaks] = strdup(d->feat[j].name);
			m->leak_why[m->nleaks] = strdup(why);
			m->nleaks++;
		}
		crm_dataset_drop(d, j);
	}
	free(v);
	free(y);
	return 0;
}

/* One CSV field: quoted when it has to be. */
static void csv_field(struct crm_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		crm_buf_adds(b, s);
		return;
	}
	crm_buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			crm_buf_addc(b, '"');
		crm_buf_addc(b, *s);
	}
	crm_buf_addc(b, '"');
}

/*
 * The rows idx[0..nclosed) as CSV: the first nfit trained on, up to ntrain
 * the early-stopping slice ("valid"), the rest the holdout.
 */
static int dump_csv(const struct crm_dataset *d, const size_t *idx, size_t nfit,
		    size_t ntrain, size_t nclosed,
		    int (*out)(void *, const char *, size_t), void *ctx,
		    struct crm_err *e)
{
	struct crm_buf b;
	int rc = 0;

	crm_buf_init(&b, 0);
	crm_buf_adds(&b, "id,split,label");
	for (size_t j = 0; j < d->nfeat; j++) {
		crm_buf_addc(&b, ',');
		csv_field(&b, d->feat[j].name);
	}
	crm_buf_addc(&b, '\n');
	for (size_t k = 0; k < nclosed && !rc; k++) {
		size_t i = idx[k];

		crm_buf_addf(&b, "%s,%s,%d", d->id[i],
			     k < nfit ? "train" : k < ntrain ? "valid" : "holdout", (int)d->y[i]);
		for (size_t j = 0; j < d->nfeat; j++) {
			float v = d->x[i * d->nfeat + j];

			crm_buf_addc(&b, ',');
			if (isnan(v))
				continue;
			if (d->feat[j].kind == CRM_FEAT_CAT)
				csv_field(&b, d->feat[j].cats[(int)v]);
			else
				crm_buf_addf(&b, "%.9g", v);
		}
		crm_buf_addc(&b, '\n');
		if (b.len > 65536 || k + 1 == nclosed) {
			rc = out(ctx, b.data, b.len);
			crm_buf_reset(&b);
		}
	}
	crm_buf_release(&b);
	return rc < 0 ? crm_err_set(e, CRM_EIO, "cannot write the features") : 0;
}

/* Monotone constraints an admin set: "(0,1,0,-1,...)". */
static int set_monotone(const struct crm_model *m, const struct crm_dataset *d,
			BoosterHandle b, struct crm_err *e)
{
	struct crm_buf mc;
	int any = 0, rc = 0;

	crm_buf_init(&mc, 0);
	crm_buf_addc(&mc, '(');
	for (size_t j = 0; j < d->nfeat; j++) {
		int c = 0;

		for (size_t k = 0; k < m->nov; k++)
			if (!strcmp(m->ov[k].action, "monotone") &&
			    !strcmp(m->ov[k].feature, d->feat[j].name) &&
			    d->feat[j].kind == CRM_FEAT_NUM)
				c = m->ov[k].value > 0 ? 1 : -1;
		any |= c != 0;
		crm_buf_addf(&mc, "%s%d", j ? "," : "", c);
	}
	crm_buf_addc(&mc, ')');
	if (any && XGBoosterSetParam(b, "monotone_constraints", mc.data) != 0)
		rc = crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
	crm_buf_release(&mc);
	return rc;
}

/* ---- cross-validation ---------------------------------------------------- */

/*
 * Do the closed records carry business times from their source (created,
 * closed, converted dates that were imported), or only the import's own
 * clock? Times that fall on at least ten days, no day holding half of
 * them, are taken as business times.
 */
static int business_times(const struct crm_dataset *d, const size_t *idx, size_t n)
{
	char (*day)[11] = malloc((n ? n : 1) * sizeof(*day));
	size_t distinct = 0, run = 0, top = 0;

	if (!day)
		return 0;
	for (size_t i = 0; i < n; i++)
		snprintf(day[i], sizeof(day[i]), "%.10s", d->asof[idx[i]] ? d->asof[idx[i]] : "");
	qsort(day, n, sizeof(*day), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(day[i], day[i - 1])) {
			distinct++;
			run = 0;
		}
		if (++run > top)
			top = run;
	}
	free(day);
	return distinct >= 10 && top * 2 < n;
}

/* A small, seeded generator for the folds (xorshift64*). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/*
 * Folds of the n closed records idx[0..n) (sorted by business time when
 * by_time): contiguous blocks in time order, else stratified random
 * folds (each with its share of both outcomes). fold[i] is idx[i]'s.
 */
static void make_folds(const struct crm_dataset *d, const size_t *idx, size_t n, int k,
		       int by_time, unsigned seed, int *fold)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ seed;
	size_t *order, np = 0, nn = 0;

	if (by_time) {
		for (size_t i = 0; i < n; i++)
			fold[i] = (int)(i * (size_t)k / n);
		return;
	}
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order) {
		for (size_t i = 0; i < n; i++)
			fold[i] = (int)(i % (size_t)k);
		return;
	}
	/* Positives first, then negatives, each shuffled; dealt in turn. */
	for (size_t i = 0; i < n; i++)
		if (d->y[idx[i]] > 0.5)
			order[np++] = i;
	for (size_t i = 0; i < n; i++)
		if (d->y[idx[i]] <= 0.5)
			order[np + nn++] = i;
	for (size_t i = np; i > 1; i--) {
		size_t j = rnd(&s) % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (size_t i = nn; i > 1; i--) {
		size_t j = rnd(&s) % i, t = order[np + i - 1];

		order[np + i - 1] = order[np + j];
		order[np + j] = t;
	}
	for (size_t i = 0; i < n; i++)
		fold[order[i]] = (int)(i % (size_t)k);
	free(order);
}

struct cv_config {
	int depth;
	double mcw, lambda;
};

/* A booster over dtr (and dva, evaluated) with config c. */
static int booster_new(const struct crm_model *m, const struct crm_dataset *d,
		       DMatrixHandle dtr, DMatrixHandle dva, const struct cv_config *c,
		       double eta, double rate, unsigned seed, BoosterHandle *out,
		       struct crm_err *e)
{
	DMatrixHandle dm[2] = { dtr, dva };
	BoosterHandle b = NULL;
	char v[64];
	int rc = -1;

	XG(XGBoosterCreate(dm, dva ? 2 : 1, &b));
	XG(XGBoosterSetParam(b, "objective", "binary:logistic"));
	XG(XGBoosterSetParam(b, "eval_metric", "auc"));
	XG(XGBoosterSetParam(b, "eval_metric", "logloss"));
	XG(XGBoosterSetParam(b, "tree_method", "hist"));
	snprintf(v, sizeof(v), "%d", c->depth);
	XG(XGBoosterSetParam(b, "max_depth", v));
	snprintf(v, sizeof(v), "%g", eta);
	XG(XGBoosterSetParam(b, "eta", v));
	snprintf(v, sizeof(v), "%g", c->mcw);
	XG(XGBoosterSetParam(b, "min_child_weight", v));
	snprintf(v, sizeof(v), "%g", c->lambda);
	XG(XGBoosterSetParam(b, "lambda", v));
	snprintf(v, sizeof(v), "%u", seed);
	XG(XGBoosterSetParam(b, "seed", v));
	/* Start from the win rate, not 0.5: calibrated even with few trees. */
	snprintf(v, sizeof(v), "%.6f", fmin(fmax(rate, 0.01), 0.99));
	XG(XGBoosterSetParam(b, "base_score", v));
	XG(XGBoosterSetParam(b, "subsample", "0.9"));
	XG(XGBoosterSetParam(b, "max_cat_to_onehot", "4"));
	XG(XGBoosterSetParam(b, "nthread", "2"));
	XG(XGBoosterSetParam(b, "verbosity", "0"));
	if (set_monotone(m, d, b, e) < 0)
		goto out;
	*out = b;
	b = NULL;
	rc = 0;
out:
	if (b)
		XGBoosterFree(b);
	return rc;
}

/* The AUC XGBoost reports for round r on its second matrix. */
/* The validation AUC and log loss after round r (NAN where undefined). */
static void eval_round(BoosterHandle b, int r, DMatrixHandle dva, double *auc, double *logloss)
{
	const char *names[] = { "v" }, *res = NULL, *p;

	*auc = *logloss = NAN;
	if (XGBoosterEvalOneIter(b, r, &dva, names, 1, &res) != 0)
		return;
	if ((p = strstr(res, "v-auc:")))
		*auc = strtod(p + 6, NULL);
	if ((p = strstr(res, "v-logloss:")))
		*logloss = strtod(p + 10, NULL);
}

/* AUC of p against y with a 95% bootstrap interval (seeded). */
static void auc_interval(const float *p, const float *y, size_t n, unsigned seed,
			 double *lo, double *hi)
{
	enum { B = 200 };
	double a[B];
	float *bp = malloc((n ? n : 1) * sizeof(*bp)), *by = malloc((n ? n : 1) * sizeof(*by));
	uint64_t s = 0xD1B54A32D192ED03ULL ^ seed;
	int k = 0;

	*lo = *hi = NAN;
	if (!bp || !by || n < 10) {
		free(bp);
		free(by);
		return;
	}
	for (int r = 0; r < B; r++) {
		double v;

		for (size_t i = 0; i < n; i++) {
			size_t j = rnd(&s) % n;

			bp[i] = p[j];
			by[i] = y[j];
		}
		if (!isnan(v = crm_auc(bp, by, n)))
			a[k++] = v;
	}
	free(bp);
	free(by);
	if (k < 10)
		return;
	for (int i = 1; i < k; i++)	/* insertion sort: 200 values */
		for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
			double t = a[j];

			a[j] = a[j - 1];
			a[j - 1] = t;
		}
	*lo = a[(int)(0.025 * k)];
	*hi = a[(int)(0.975 * k) < k ? (int)(0.975 * k) : k - 1];
}

/*
 * Cross-validate config c over the K folds of the n records idx[0..n)
 * (labels y): rounds chosen by the mean validation log loss (stopping 40
 * rounds after the best), and the out-of-fold predictions at that round
 * into oof. *rounds and *cv_auc (the mean over folds at that round) are
 * what was found. Not by AUC: the ranking settles within a few rounds
 * while the probabilities, shrunk by eta, are still near the base rate;
 * log loss goes on until they are calibrated, and scores then differ.
 */
static int cross_validate(const struct crm_model *m, const struct crm_dataset *d,
			  const size_t *idx, const float *y, size_t n, const int *fold,
			  int k, const struct cv_config *c, double eta, int max_rounds,
			  unsigned seed, float *oof, int *rounds, double *cv_auc,
			  struct crm_err *e)
{
	BoosterHandle *b = calloc((size_t)k, sizeof(*b));
	DMatrixHandle *dtr = calloc((size_t)k, sizeof(*dtr)), *dva = calloc((size_t)k, sizeof(*dva));
	size_t *ti = malloc((n ? n : 1) * sizeof(*ti)), *vi = malloc((n ? n : 1) * sizeof(*vi));
	float *ty = malloc((n ? n : 1) * sizeof(*ty)), *vy = malloc((n ? n : 1) * sizeof(*vy));
	size_t *nv = calloc((size_t)k, sizeof(*nv));
	double best = NAN, best_loss = INFINITY;
	int best_r = 0, rc = -1;

	if (!b || !dtr || !dva || !ti || !vi || !ty || !vy || !nv) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	for (int f = 0; f < k; f++) {
		size_t nt = 0, nvv = 0;
		double w = 0;

		for (size_t i = 0; i < n; i++)
			if (fold[i] == f)
				vi[nvv] = idx[i], vy[nvv++] = y[i];
			else
				ti[nt] = idx[i], ty[nt++] = y[i], w += y[i];
		nv[f] = nvv;
		if (!(dtr[f] = matrix(d, ti, nt, ty, e)) || !(dva[f] = matrix(d, vi, nvv, vy, e)) ||
		    booster_new(m, d, dtr[f], dva[f], c, eta, nt ? w / (double)nt : 0.5, seed, &b[f], e) < 0)
			goto out;
	}
	for (int r = 0; r < max_rounds; r++) {
		double sum = 0, loss = 0;
		int got = 0, lost = 0;

		for (int f = 0; f < k; f++) {
			double a, l;

			XG(XGBoosterUpdateOneIter(b[f], r, dtr[f]));
			eval_round(b[f], r, dva[f], &a, &l);
			if (!isnan(a))
				sum += a, got++;
			if (!isnan(l))
				loss += l, lost++;
		}
		if (lost && loss / lost < best_loss - 1e-6) {
			best_loss = loss / lost;
			best = got ? sum / got : NAN;
			best_r = r;
		} else if (r - best_r >= 40) {
			break;
		}
	}
	/* The out-of-fold predictions at the chosen round. */
	for (int f = 0; f < k; f++) {
		size_t j = 0;
		float *pv = malloc((nv[f] ? nv[f] : 1) * sizeof(*pv));

		if (!pv || predict(b[f], dva[f], nv[f], (size_t)best_r + 1, pv, e) < 0) {
			free(pv);
			if (!*e->msg)
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (fold[i] == f)
				oof[i] = pv[j++];
		free(pv);
	}
	*rounds = best_r + 1;
	*cv_auc = best;
	rc = 0;
out:
	for (int f = 0; b && dtr && dva && f < k; f++) {
		if (b[f])
			XGBoosterFree(b[f]);
		if (dtr[f])
			XGDMatrixFree(dtr[f]);
		if (dva[f])
			XGDMatrixFree(dva[f]);
	}
	free(b);
	free(dtr);
	free(dva);
	free(ti);
	free(vi);
	free(ty);
	free(vy);
	free(nv);
	return rc;
}

int crm_model_train(struct crm_store *db, const struct crm_entity *type,
		    const struct crm_train_opts *opts, struct crm_model *m,
		    int *activated, struct crm_err *e)
{
	struct crm_train_opts o = { CRM_TRAIN_DEFAULTS };
	struct crm_dataset d;
	size_t *idx = NULL, nclosed = 0, ntest, ntrain, wins = 0;
	float *ytr = NULL, *yte = NULL, *p = NULL, *pv = NULL;
	DMatrixHandle dtr = NULL, dte = NULL;
	struct crm_buf feats, mets, params, blob;
	struct cv_config chosen = { 6, 1, 1 };
	bst_ulong len;
	const char *raw;
	int rc = -1, best_round = 0, by_time = 0, nfolds = 5, *fold = NULL;

	crm_dataset_init(&d, type);
	crm_buf_init(&feats, 0);
	crm_buf_init(&mets, 0);
	crm_buf_init(&params, 0);
	crm_buf_init(&blob, 0);
	if (opts) {
		o = *opts;
		if (o.rounds <= 0) o.rounds = 400;
		if (o.depth <= 0) o.depth = 5;
		if (o.eta <= 0) o.eta = 0.1;
		if (o.holdout < 0 || o.holdout >= 0.9) o.holdout = 0;
	}
	*activated = 0;
	m->type = type;
	if (crm_dataset_build(&d, db, NULL, NULL, e) < 0 || drop_leaks(&d, m, e) < 0 ||
	    crm_override_load(db, type, m, e) < 0 ||
	    crm_override_apply(m, o.extra, o.nextra, e) < 0)
		goto out;
	/* Features an admin excluded are not learned from. */
	for (size_t k = 0; k < m->nov; k++) {
		int j = crm_dataset_feature(&d, m->ov[k].feature);

		if (j >= 0 && !strcmp(m->ov[k].action, "exclude"))
			crm_dataset_drop(&d, (size_t)j);
		/* so is the win rate of its categories */
		if (!strcmp(m->ov[k].action, "exclude")) {
			char h[160];

			snprintf(h, sizeof(h), "history.%s", m->ov[k].feature);
			if ((j = crm_dataset_feature(&d, h)) >= 0)
				crm_dataset_drop(&d, (size_t)j);
		}
	}
	idx = malloc((d.n ? d.n : 1) * sizeof(*idx));
	if (!idx)
		goto nomem;
	for (size_t i = 0; i < d.n; i++)
		if (!isnan(d.y[i])) {
			idx[nclosed++] = i;
			wins += d.y[i] > 0.5;
		}
	if (nclosed < CRM_MIN_CLOSED || wins < CRM_MIN_CLASS || nclosed - wins < CRM_MIN_CLASS) {
		crm_err_set(e, CRM_EDATA,
			"not enough history to learn from: %zu closed %ss (%zu %s, %zu not); "
			"need at least %d closed with %d of each",
			nclosed, type->kind, wins, !strcmp(type->kind, "deal") ? "won" : "converted",
			nclosed - wins, CRM_MIN_CLOSED, CRM_MIN_CLASS);
		goto out;
	}
	/*
	 * The protocol. Folds in business-time order when the records carry
	 * business times, stratified random folds when they do not (all
	 * imported at once: their order is the file's, not time's). A small
	 * search over depth and minimum child weight, each config's rounds
	 * chosen by the mean validation AUC over the folds; the out-of-fold
	 * predictions are the model's out-of-sample record (metrics with an
	 * interval, the stored holdout scores); then the chosen config is
	 * refit on every closed record. With --holdout, a share of them
	 * (the latest, or a stratified random one) is kept out of all of it
	 * and only measured, to compare with other tools on one split.
	 */
	by_time = business_times(&d, idx, nclosed);
	if (by_time)
		crm_dataset_sort_asof(&d, idx, nclosed);
	ntest = o.holdout > 0 ? (size_t)((double)nclosed * o.holdout) : 0;
	if (ntest && !by_time) {	/* a stratified random holdout, at the end */
		int *hf = malloc(nclosed * sizeof(*hf));
		size_t *tmp = malloc(nclosed * sizeof(*tmp)), a = 0, b2 = 0;
		int parts = (int)lround(1.0 / o.holdout);

		if (!hf || !tmp) {
			free(hf);
			free(tmp);
			goto nomem;
		}
		make_folds(&d, idx, nclosed, parts < 2 ? 2 : parts, 0, o.seed, hf);
		for (size_t i = 0; i < nclosed; i++)
			if (hf[i])
				tmp[a++] = idx[i];
		b2 = a;
		for (size_t i = 0; i < nclosed; i++)
			if (!hf[i])
				tmp[b2++] = idx[i];
		memcpy(idx, tmp, nclosed * sizeof(*idx));
		ntest = nclosed - a;
		free(hf);
		free(tmp);
	}
	ntrain = nclosed - ntest;
	nfolds = ntrain >= 200000 ? 3 : 5;
	ytr = malloc(ntrain * sizeof(*ytr));
	yte = malloc((ntest ? ntest : 1) * sizeof(*yte));
	p = malloc((ntrain ? ntrain : 1) * sizeof(*p));
	pv = malloc((ntrain ? ntrain : 1) * sizeof(*pv));
	fold = malloc((ntrain ? ntrain : 1) * sizeof(*fold));
	if (!ytr || !yte || !p || !pv || !fold)
		goto nomem;
	for (size_t i = 0; i < ntrain; i++)
		ytr[i] = d.y[idx[i]];
	for (size_t i = 0; i < ntest; i++)
		yte[i] = d.y[idx[ntrain + i]];
	make_folds(&d, idx, ntrain, nfolds, by_time, o.seed, fold);
	if (o.dump && dump_csv(&d, idx, ntrain, ntrain, nclosed, o.dump, o.dump_ctx, e) < 0)
		goto out;
	{
		/* The search: bounded, smaller on big data (the nightly run). */
		struct cv_config grid[] = {
			{ 4, 1, 1 }, { 6, 1, 1 }, { 4, 5, 5 }, { 6, 5, 5 },
		};
		size_t ngrid = ntrain >= 200000 ? 2 : sizeof(grid) / sizeof(grid[0]);
		double best_cv = -1;

		if (o.depth_given) {	/* a depth asked for is the search */
			grid[0].depth = grid[1].depth = o.depth;
			grid[1].mcw = grid[1].lambda = 5;
			ngrid = 2;
		}
		for (size_t g = 0; g < ngrid; g++) {
			int r;
			double cv;

			if (cross_validate(m, &d, idx, ytr, ntrain, fold, nfolds, &grid[g], o.eta, o.rounds,
					   o.seed, pv, &r, &cv, e) < 0)
				goto out;
			if (cv > best_cv + 1e-6) {
				float *t = p;

				best_cv = cv;
				best_round = r - 1;
				chosen = grid[g];
				p = pv;		/* keep the best config's out-of-fold predictions */
				pv = t;
			}
		}
	}
	/* Out-of-sample metrics, with an interval, from the folds. */
	metrics_of(p, ytr, ntrain, &m->metrics);
	auc_interval(p, ytr, ntrain, o.seed, &m->metrics.auc_lo, &m->metrics.auc_hi);
	{
		double b = 0;

		for (size_t i = 0; i < ntrain; i++)
			b += ytr[i];
		b = fmin(fmax(b / (double)ntrain, 1e-7), 1 - 1e-7);
		m->metrics.base_logloss = -(b * log(b) + (1 - b) * log(1 - b));
		/* Nothing to learn: chance is inside the AUC's interval, or
		 * the predictions are no better than the base rate. */
		m->metrics.signal = !(m->metrics.auc_lo <= 0.5) &&
				    m->metrics.logloss < m->metrics.base_logloss;
	}
	m->metrics.folds = nfolds;
	m->metrics.by_time = by_time;
	/* The refit: every closed record not held out. */
	{
		double w = 0;

		for (size_t i = 0; i < ntrain; i++)
			w += ytr[i];
		if (!(dtr = matrix(&d, idx, ntrain, ytr, e)) ||
		    booster_new(m, &d, dtr, NULL, &chosen, o.eta, w / (double)ntrain, o.seed,
				&m->booster, e) < 0)
			goto out;
		for (int r = 0; r <= best_round; r++)
			XG(XGBoosterUpdateOneIter(m->booster, r, dtr));
	}
	if (ntest) {
		float *ph = malloc(ntest * sizeof(*ph));

		if (!ph || !(dte = matrix(&d, idx + ntrain, ntest, yte, e)) ||
		    predict(m->booster, dte, ntest, 0, ph, e) < 0) {
			free(ph);
			if (!*e->msg)
				goto nomem;
			goto out;
		}
		m->metrics.holdout_auc = crm_auc(ph, yte, ntest);
		free(ph);
	} else {
		m->metrics.holdout_auc = NAN;
	}
	/* The out-of-fold predictions, kept for audits: out-of-sample. */
	m->hold_id = calloc(ntrain ? ntrain : 1, sizeof(*m->hold_id));
	if (!m->hold_id)
		goto nomem;
	for (size_t i = 0; i < ntrain; i++)
		if (!(m->hold_id[m->nhold++] = strdup(d.id[idx[i]])))
			goto nomem;
	m->hold_p = p;
	m->hold_y = ytr;
	p = ytr = NULL;
	m->metrics.trees = (size_t)best_round + 1;
	m->metrics.ntrain = ntrain;
	m->metrics.ntest = ntrain;
	m->metrics.depth = chosen.depth;
	m->metrics.mcw = chosen.mcw;
	m->metrics.base_rate = d.base_rate;
	if (o.no_store) {
		snprintf(m->id, sizeof(m->id), "what-if");
		if (schema_json(&d, &feats) < 0)
			goto nomem;
		goto schema;
	}
	/* Store: schema, metrics, params, compressed model, holdout. */
	XG(XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &len, &raw));
	{
		struct crm_hash h;
		char hex[33], now[32], dh[33];
		struct crm_stmt *st;
		int prev_better = 0;

		if (crm_zstd_pack(raw, len, &blob, e) < 0)
			goto out;
		crm_hash_init(&h);
		crm_hash_add(&h, raw, len);
		crm_hash_hex(&h, hex);
		crm_hash_init(&h);
		for (size_t i = 0; i < nclosed; i++) {
			crm_hash_add(&h, d.id[idx[i]], strlen(d.id[idx[i]]));
			crm_hash_add(&h, &d.x[idx[i] * d.nfeat], d.nfeat * sizeof(float));
			crm_hash_add(&h, &d.y[idx[i]], sizeof(float));
		}
		crm_hash_hex(&h, dh);
		int vmaj, vmin, vpat;

		XGBoostVersion(&vmaj, &vmin, &vpat);
		if (schema_json(&d, &feats) < 0 || metrics_json(&m->metrics, &mets) < 0 ||
		    crm_buf_addf(&params, "{\"rounds\":%d,\"depth\":%d,\"min_child_weight\":%g,\"lambda\":%g,"
				 "\"eta\":%g,\"folds\":%d,\"fold_order\":\"%s\",\"holdout\":%g,\"seed\":%u,"
				 "\"xgboost\":\"%d.%d.%d\",\"left_out\":[",
				 best_round + 1, chosen.depth, chosen.mcw, chosen.lambda, o.eta, nfolds,
				 by_time ? "time" : "stratified", o.holdout, o.seed, vmaj, vmin, vpat) < 0)
			goto nomem;
		for (size_t k = 0; k < m->nleaks; k++) {
			crm_buf_adds(&params, k ? ",{\"feature\":" : "{\"feature\":");
			crm_json_str(&params, m->leak[k], strlen(m->leak[k]));
			crm_buf_adds(&params, ",\"why\":");
			crm_json_str(&params, m->leak_why[k], strlen(m->leak_why[k]));
			crm_buf_addc(&params, '}');
		}
		if (crm_buf_adds(&params, "]}") < 0)
			goto nomem;
		crm_id_new("m_", m->id);
		crm_timestamp(now, sizeof(now));
		if (crm_store_begin(db, e) < 0)
			goto out;
		/* Only better (or as good) models become active by themselves. */
		if (crm_store_prepare(db, "SELECT metrics FROM models WHERE entity = ?1 AND active = 1",
				      0, &st, e) == 0) {
			crm_stmt_bind_text_ref(st, 1, type->kind, (size_t)-1);
			if (crm_stmt_step(st, e) > 0) {
				json_t *pm = json_loads(crm_stmt_text(st, 0) ? crm_stmt_text(st, 0) : "", 0, NULL);

				prev_better = json_number_value(json_object_get(pm, "auc")) > m->metrics.auc + 1e-9;
				json_decref(pm);
			}
			crm_stmt_free(st);
		}
		/* A model that found nothing is not put in charge by itself. */
		*activated = o.force || (!prev_better && m->metrics.signal);
		if (*activated && crm_store_run(db, "UPDATE models SET active = 0 WHERE entity = ?1 AND active = 1",
						&type->kind, 1, e) < 0)
			goto rollback;
		if (crm_store_prepare(db, "INSERT INTO models (id, entity, created_at, params, features, metrics, data_hash, blob, blob_size, blob_hash, active) "
				       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", 0, &st, e) < 0)
			goto rollback;
		crm_stmt_bind_text_ref(st, 1, m->id, (size_t)-1);
		crm_stmt_bind_text_ref(st, 2, type->kind, (size_t)-1);
		crm_stmt_bind_text_ref(st, 3, now, (size_t)-1);
		crm_stmt_bind_text_ref(st, 4, params.data, (size_t)-1);
		crm_stmt_bind_text_ref(st, 5, feats.data, (size_t)-1);
		crm_stmt_bind_text_ref(st, 6, mets.data, (size_t)-1);
		crm_stmt_bind_text_ref(st, 7, dh, (size_t)-1);
		crm_stmt_bind_blob(st, 8, blob.data, blob.len);
		crm_stmt_bind_int64(st, 9, (long long)len);
		crm_stmt_bind_text_ref(st, 10, hex, (size_t)-1);
		crm_stmt_bind_int64(st, 11, *activated);
		if (crm_stmt_step(st, e) < 0) {
			crm_stmt_free(st);
			goto rollback;
		}
		crm_stmt_free(st);
		if (crm_store_prepare(db, "INSERT INTO holdout_scores (model_id, entity_id, probability, label) "
				       "VALUES (?1, ?2, ?3, ?4)", 0, &st, e) < 0)
			goto rollback;
		crm_stmt_bind_text_ref(st, 1, m->id, (size_t)-1);
		for (size_t i = 0; i < m->nhold; i++) {
			crm_stmt_bind_text_ref(st, 2, m->hold_id[i], (size_t)-1);
			crm_stmt_bind_double(st, 3, m->hold_p[i]);
			crm_stmt_bind_int64(st, 4, m->hold_y[i] > 0.5);
			if (crm_stmt_step(st, e) < 0) {
				crm_stmt_free(st);
				goto rollback;
			}
			crm_stmt_reset(st);
		}
		crm_stmt_free(st);
		if (crm_store_commit(db, e) < 0)
			goto out;
	}
schema:
	/* Keep the features as the model's schema. */
	crm_dataset_release(&m->schema);
	crm_dataset_init(&m->schema, type);
	if (schema_parse(&m->schema, feats.data, e) < 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	crm_store_rollback(db);
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	if (dtr)
		XGDMatrixFree(dtr);
	if (dte)
		XGDMatrixFree(dte);
	free(fold);
	free(pv);
	free(idx);
	free(ytr);
	free(yte);
	free(p);
	crm_dataset_release(&d);
	crm_buf_release(&feats);
	crm_buf_release(&mets);
	crm_buf_release(&params);
	crm_buf_release(&blob);
	return rc;
}

int crm_model_load(struct crm_store *db, const struct crm_entity *type, const char *id,
		   struct crm_model *m, struct crm_err *e)
{
	struct crm_stmt *st;
	char *raw = NULL;
	int rc = -1;

	if (crm_store_prepare(db, id ?
		"SELECT id, entity, features, metrics, blob, blob_size, blob_hash FROM models WHERE id = ?1" :
		"SELECT id, entity, features, metrics, blob, blob_size, blob_hash FROM models WHERE entity = ?1 AND active = 1",
		0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, id ? id : type->kind, (size_t)-1);
	if (crm_stmt_step(st, e) <= 0) {
		crm_stmt_free(st);
		return id ? crm_err_set(e, CRM_EDATA, "no model '%s'", id) :
			    crm_err_set(e, CRM_EDATA, "no active %s model: run 'crm-score train -t %s'",
					type->kind, type->kind);
	}
	snprintf(m->id, sizeof(m->id), "%s", crm_stmt_text(st, 0));
	m->type = crm_entity_find(crm_stmt_text(st, 1));
	crm_dataset_init(&m->schema, m->type);
	if (schema_parse(&m->schema, crm_stmt_text(st, 2), e) < 0)
		goto out;
	{
		json_t *mt = json_loads(crm_stmt_text(st, 3), 0, NULL);

		json_t *sg = json_object_get(mt, "signal"), *ci = json_object_get(mt, "auc_ci");

		m->metrics.auc = json_number_value(json_object_get(mt, "auc"));
		m->metrics.base_rate = json_number_value(json_object_get(mt, "base_rate"));
		/* Models from before the verdict count as informative. */
		m->metrics.signal = sg ? json_is_true(sg) : 1;
		m->metrics.auc_lo = json_number_value(json_array_get(ci, 0));
		m->metrics.auc_hi = json_number_value(json_array_get(ci, 1));
		json_decref(mt);
	}
	{
		size_t size = (size_t)crm_stmt_int64(st, 5), z = 0;
		struct crm_hash h;
		struct crm_buf unpacked = { 0 };
		char hex[33];
		int bad = crm_zstd_unpack(crm_stmt_blob(st, 4),
					  crm_stmt_bytes(st, 4), &unpacked, NULL) < 0;

		raw = crm_buf_detach(&unpacked, &z);
		crm_hash_init(&h);
		if (!bad)
			crm_hash_add(&h, raw, z);
		crm_hash_hex(&h, hex);
		if (bad || z != size ||
		    strcmp(hex, crm_stmt_text(st, 6)) != 0) {
			crm_err_set(e, CRM_EDATA, "model %s is damaged: its blob does not match its hash",
				    m->id);
			goto out;
		}
		if (XGBoosterCreate(NULL, 0, &m->booster) != 0 ||
		    XGBoosterLoadModelFromBuffer(m->booster, raw, z) != 0) {
			crm_err_set(e, CRM_EDATA, "model %s: xgboost: %s", m->id, XGBGetLastError());
			goto out;
		}
		XGBoosterSetParam(m->booster, "nthread", "2");
	}
	rc = 0;
out:
	free(raw);
	crm_stmt_free(st);
	return rc;
}

int crm_model_activate(struct crm_store *db, const char *id, const char *kind, struct crm_err *e)
{
	struct crm_stmt *st;
	int ok;

	if (kind) {
		char is[32] = "";

		if (crm_model_kind(db, id, is, sizeof(is), e) < 0)
			return -1;
		if (*is && strcmp(is, kind))
			return crm_err_set(e, CRM_EUSAGE, "%s is a %s model, not a %s model", id, is, kind);
	}
	if (crm_store_begin(db, e) < 0)
		return -1;
	if (crm_store_prepare(db, "UPDATE models SET active = 0 WHERE active = 1 AND entity = "
			      "(SELECT entity FROM models WHERE id = ?1)", 0, &st, e) < 0) {
		crm_store_rollback(db);
		return -1;
	}
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	ok = crm_stmt_step(st, e) == 0;
	crm_stmt_free(st);
	if (!ok || crm_store_prepare(db, "UPDATE models SET active = 1 WHERE id = ?1", 0, &st, e) < 0) {
		crm_store_rollback(db);
		return -1;
	}
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	ok = crm_stmt_step(st, e) == 0 && crm_stmt_changes(st) == 1;
	crm_stmt_free(st);
	if (!ok) {
		crm_store_rollback(db);
		return crm_err_set(e, CRM_EDATA, "no model '%s'", id);
	}
	return crm_store_commit(db, e);
}

int crm_model_predict(const struct crm_model *m, const struct crm_dataset *d,
		      size_t from, size_t n, float *p, struct crm_err *e)
{
	const char *types[CRM_MAXFEAT];
	DMatrixHandle dm;
	int rc;

	/* The rows are contiguous already: no copy, straight to XGBoost. */
	if (XGDMatrixCreateFromMat(&d->x[from * d->nfeat], n, d->nfeat, NAN, &dm) != 0)
		return crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
	for (size_t j = 0; j < d->nfeat; j++)
		types[j] = d->feat[j].kind == CRM_FEAT_CAT ? "c" : "q";
	XGDMatrixSetStrFeatureInfo(dm, "feature_type", types, d->nfeat);
	rc = predict(m->booster, dm, n, 0, p, e);
	XGDMatrixFree(dm);
	return rc;
}

int crm_model_contribs(const struct crm_model *m, const struct crm_dataset *d,
		       size_t i, float *c, struct crm_err *e)
{
	DMatrixHandle dm;
	const bst_ulong *shape;
	bst_ulong dim;
	const float *res;
	int rc = 0;

	dm = matrix(d, &i, 1, NULL, e);
	if (!dm)
		return -1;
	if (XGBoosterPredictFromDMatrix(m->booster, dm,
		"{\"type\": 2, \"training\": false, \"iteration_begin\": 0, "
		"\"iteration_end\": 0, \"strict_shape\": false}", &shape, &dim, &res) != 0)
		rc = crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
	else
		memcpy(c, res, (d->nfeat + 1) * sizeof(*c));
	XGDMatrixFree(dm);
	return rc;
}

int crm_feature_known(struct crm_store *db, const struct crm_entity *t, const char *name,
		      struct crm_buf *near, struct crm_err *e)
{
	struct crm_model m;
	struct crm_dataset d;
	const struct crm_dataset *fs;
	int found = 0, have_model;
	double best[3] = { 0, 0, 0 };
	const char *pick[3] = { NULL, NULL, NULL };

	crm_model_init(&m);
	crm_dataset_init(&d, t);
	/* The active model's features, else those a model would be trained on. */
	have_model = crm_model_load(db, t, NULL, &m, e) == 0;
	crm_err_clear(e);
	if (!have_model && crm_dataset_build(&d, db, NULL, NULL, e) < 0) {
		crm_model_release(&m);
		crm_dataset_release(&d);
		return -1;
	}
	fs = have_model ? &m.schema : &d;
	for (size_t j = 0; j < fs->nfeat && !found; j++) {
		double sim = crm_jaro_winkler(name, fs->feat[j].name);

		if (!strcmp(name, fs->feat[j].name)) {
			found = 1;
			break;
		}
		for (int k = 0; k < 3; k++)
			if (sim > best[k]) {
				for (int q = 2; q > k; q--)
					best[q] = best[q - 1], pick[q] = pick[q - 1];
				best[k] = sim;
				pick[k] = fs->feat[j].name;
				break;
			}
	}
	if (!found && near) {
		crm_buf_reset(near);
		for (int k = 0; k < 3; k++)
			if (pick[k] && best[k] > 0.7)
				crm_buf_addf(near, "%s%s", near->len ? ", " : "", pick[k]);
		if (!near->len)
			crm_buf_add(near, "", 0);
	}
	crm_model_release(&m);
	crm_dataset_release(&d);
	return found;
}

int crm_override_add(struct crm_store *db, const struct crm_entity *type,
		     const char *feature, const char *action, double value,
		     const char *who, const char *why, struct crm_err *e)
{
	struct crm_stmt *st;
	char now[32];
	int rc;

	if (!who || !*who || !why || !*why)
		return crm_err_set(e, CRM_EUSAGE, "an override needs who and why");
	if (!strcmp(action, "monotone") && value != 1 && value != -1)
		return crm_err_set(e, CRM_EUSAGE, "monotone wants +1 or -1");
	if (!strcmp(action, "scale") && (value < 0 || value > 10))
		return crm_err_set(e, CRM_EUSAGE, "scale wants a factor from 0 to 10");
	if (strcmp(action, "clear")) {	/* a feature cleared may be gone since */
		struct crm_buf near;
		int known;

		crm_buf_init(&near, 0);
		if ((known = crm_feature_known(db, type, feature, &near, e)) == 0)
			crm_err_set(e, CRM_EUSAGE, "%ss have no feature '%s'%s%s", type->kind, feature,
				    near.len ? "; close: " : "", near.len ? near.data : "");
		crm_buf_release(&near);
		if (known <= 0)
			return -1;
	}
	crm_timestamp(now, sizeof(now));
	if (crm_store_prepare(db, "INSERT INTO weights (entity, feature, action, value, who, why, at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, type->kind, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, feature, (size_t)-1);
	crm_stmt_bind_text_ref(st, 3, action, (size_t)-1);
	if (!strcmp(action, "scale") || !strcmp(action, "monotone"))
		crm_stmt_bind_double(st, 4, value);
	crm_stmt_bind_text_ref(st, 5, who, (size_t)-1);
	crm_stmt_bind_text_ref(st, 6, why, (size_t)-1);
	crm_stmt_bind_text_ref(st, 7, now, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

int crm_override_rows(struct crm_store *db, const char *kind, int all, struct crm_stmt **st,
		      struct crm_err *e)
{
#define NEWEST "(SELECT max(id) FROM weights w2 WHERE w2.entity = w.entity AND w2.feature = w.feature)"
	if (crm_store_prepare(db, all ?
		"SELECT id, entity, feature, action, value, who, why, at, "
		"id = " NEWEST " AND action != 'clear' AS in_force FROM weights w ORDER BY id" :
		"SELECT entity, feature, action, value, who, why, at FROM weights w "
		"WHERE (CAST(?1 AS text) IS NULL OR entity = ?1) AND id = " NEWEST " "
		"AND action != 'clear' ORDER BY entity, feature", 0, st, e) < 0)
		return -1;
#undef NEWEST
	if (!all)
		crm_stmt_bind_text(*st, 1, kind, (size_t)-1);
	return 0;
}

int crm_override_load(struct crm_store *db, const struct crm_entity *type,
		      struct crm_model *m, struct crm_err *e)
{
	struct crm_stmt *st;

	m->nov = 0;
	if (crm_override_rows(db, type->kind, 0, &st, e) < 0)
		return -1;
	while (crm_stmt_step(st, e) > 0 && m->nov < CRM_MAXOVERRIDES) {
		struct crm_override *o = &m->ov[m->nov++];

		snprintf(o->feature, sizeof(o->feature), "%s", crm_stmt_text(st, 1));
		snprintf(o->action, sizeof(o->action), "%s", crm_stmt_text(st, 2));
		o->value = crm_stmt_double(st, 3);
	}
	crm_stmt_free(st);
	return 0;
}

int crm_override_apply(struct crm_model *m, const struct crm_override *ov,
		       size_t n, struct crm_err *e)
{
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < m->nov; k++)
			if (!strcmp(m->ov[k].feature, ov[i].feature))
				break;
		if (!strcmp(ov[i].action, "clear")) {
			if (k < m->nov)
				m->ov[k] = m->ov[--m->nov];
			continue;
		}
		if (k == m->nov && m->nov == CRM_MAXOVERRIDES)
			return crm_err_set(e, CRM_EUSAGE, "more than %d overrides", CRM_MAXOVERRIDES);
		m->ov[k] = ov[i];
		if (k == m->nov)
			m->nov++;
	}
	return 0;
}

int crm_model_predict_adjusted(const struct crm_model *m,
			       const struct crm_dataset *d, size_t from,
			       size_t n, float *p, struct crm_err *e)
{
	float c[CRM_MAXFEAT + 1];
	int scaled[CRM_MAXFEAT];
	double factor[CRM_MAXFEAT];
	int any = 0;

	for (size_t j = 0; j < d->nfeat; j++) {
		scaled[j] = 0;
		for (size_t k = 0; k < m->nov; k++)
			if (!strcmp(m->ov[k].action, "scale") &&
			    !strcmp(m->ov[k].feature, d->feat[j].name)) {
				scaled[j] = any = 1;
				factor[j] = m->ov[k].value;
			}
	}
	if (!any)
		return crm_model_predict(m, d, from, n, p, e);
	for (size_t i = 0; i < n; i++) {
		double t = 0;

		if (crm_model_contribs(m, d, from + i, c, e) < 0)
			return -1;
		for (size_t j = 0; j <= d->nfeat; j++)
			t += j < d->nfeat && scaled[j] ? factor[j] * c[j] : c[j];
		p[i] = (float)(1.0 / (1.0 + exp(-t)));
	}
	return 0;
}

int crm_score_put(struct crm_store *db, const char *id, const char *model, double p,
		  const char *now, struct crm_err *e)
{
	struct crm_stmt *st = crm_store_stmt(db, "INSERT INTO scores (entity_id, model_id, probability, score, "
					     "computed_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (entity_id, model_id) "
					     "DO UPDATE SET probability = excluded.probability, score = excluded.score, "
					     "computed_at = excluded.computed_at", e);
	int rc;

	if (!st)
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, model, (size_t)-1);
	crm_stmt_bind_double(st, 3, p);
	crm_stmt_bind_int64(st, 4, (int)lround(100.0 * p));
	crm_stmt_bind_text_ref(st, 5, now, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

int crm_score_get(struct crm_store *db, const char *id, const char *model, int *score,
		  struct crm_err *e)
{
	struct crm_stmt *st = crm_store_stmt(db, "SELECT score FROM scores WHERE entity_id = ?1 AND model_id = ?2", e);
	int rc;

	if (!st)
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, model, (size_t)-1);
	if ((rc = crm_stmt_step(st, e)) > 0)
		*score = (int)crm_stmt_int64(st, 0);
	crm_store_stmt_done(st);
	return rc < 0 ? -1 : rc > 0;
}

int crm_override_parse(const char *spec, struct crm_override *o, struct crm_err *e)
{
	const char *colon = strchr(spec, ':'), *eq;
	size_t alen = colon ? (size_t)(colon - spec) : 0;

	if (!colon || alen >= sizeof(o->action))
		return crm_err_set(e, CRM_EUSAGE, "'%s': want ACTION:FEATURE[=VALUE]", spec);
	memcpy(o->action, spec, alen);
	o->action[alen] = 0;
	eq = strchr(colon + 1, '=');
	snprintf(o->feature, sizeof(o->feature), "%.*s",
		 (int)(eq ? (size_t)(eq - colon - 1) : strlen(colon + 1)), colon + 1);
	o->value = 0;
	if (!*o->feature)
		return crm_err_set(e, CRM_EUSAGE, "'%s': no feature", spec);
	if (!strcmp(o->action, "scale")) {
		char *end;

		if (!eq)
			return crm_err_set(e, CRM_EUSAGE, "'%s': scale:FEATURE=FACTOR", spec);
		o->value = strtod(eq + 1, &end);
		if (end == eq + 1 || *end || !(o->value >= 0 && o->value <= 10))
			return crm_err_set(e, CRM_EUSAGE, "'%s': the factor is a number from 0 to 10", spec);
	} else if (!strcmp(o->action, "monotone")) {
		o->value = eq && !strcmp(eq + 1, "-1") ? -1 : 1;
	} else if (strcmp(o->action, "exclude") && strcmp(o->action, "clear")) {
		return crm_err_set(e, CRM_EUSAGE, "'%s': the action is exclude, scale, monotone or clear", spec);
	}
	return 0;
}

int crm_model_rows(struct crm_store *db, const char *kind, struct crm_stmt **st, struct crm_err *e)
{
	if (crm_store_prepare(db, "SELECT id, entity, active, created_at, metrics AS attrs, params AS payload "
			      "FROM models WHERE CAST(?1 AS text) IS NULL OR entity = ?1 ORDER BY created_at, id",
			      0, st, e) < 0)
		return -1;
	crm_stmt_bind_text(*st, 1, kind, (size_t)-1);
	return 0;
}

int crm_model_kind(struct crm_store *db, const char *id, char *kind, size_t n, struct crm_err *e)
{
	*kind = '\0';
	return crm_store_text1(db, "SELECT entity FROM models WHERE id = ?1", id, kind, n, e) < 0 ? -1 : 0;
}

int crm_model_json(struct crm_buf *b, const struct crm_model *m, int activated)
{
	const struct crm_metrics *x = &m->metrics;
	int rc = crm_buf_addf(b, "{\"type\":\"model\",\"id\":\"%s\",\"entity\":\"%s\",\"active\":%s,"
			      "\"auc\":%.4f,\"auc_ci\":[%.4f,%.4f],\"signal\":%s,\"logloss\":%.4f,"
			      "\"base_logloss\":%.4f,\"brier\":%.4f,\"base_rate\":%.4f,\"folds\":%d,"
			      "\"fold_order\":\"%s\",\"train\":%zu,\"trees\":%zu,\"depth\":%d,"
			      "\"min_child_weight\":%g,\"features\":%zu",
			      m->id, m->type->kind, activated ? "true" : "false", x->auc, x->auc_lo,
			      x->auc_hi, x->signal ? "true" : "false", x->logloss, x->base_logloss,
			      x->brier, x->base_rate, x->folds, x->by_time ? "time" : "stratified",
			      x->ntrain, x->trees, x->depth, x->mcw, m->schema.nfeat);

	if (!isnan(x->holdout_auc))
		rc |= crm_buf_addf(b, ",\"holdout_auc\":%.4f", x->holdout_auc);
	if (!x->signal)
		rc |= crm_buf_adds(b, ",\"verdict\":\"no signal\"");
	return rc | crm_buf_adds(b, "}\n");
}

int crm_model_report(struct crm_buf *b, const struct crm_model *m, int activated)
{
	const struct crm_metrics *x = &m->metrics;
	int rc = crm_buf_addf(b, "model %s: %zu features, %zu trees (depth %d), %d-fold cross-validation "
			      "(%s folds) on %zu closed %ss, then refit on all of them\n", m->id,
			      m->schema.nfeat, x->trees, x->depth, x->folds,
			      x->by_time ? "business-time" : "stratified random", x->ntrain, m->type->kind);

	rc |= crm_buf_addf(b, "  cross-validated AUC %.4f (95%% interval %.4f-%.4f), log loss %.4f "
			   "(base rate's %.4f), Brier %.4f, base rate %.1f%%\n", x->auc, x->auc_lo,
			   x->auc_hi, x->logloss, x->base_logloss, x->brier, 100 * x->base_rate);
	if (!isnan(x->holdout_auc))
		rc |= crm_buf_addf(b, "  held-out AUC %.4f\n", x->holdout_auc);
	if (!x->signal)
		rc |= crm_buf_addf(b, "  no signal: %s; the model is %s\n",
				   x->auc_lo <= 0.5 ? "the AUC's 95% interval does not lie above chance (0.5)"
						    : "its log loss is no better than the base rate's",
				   activated ? "active (--force)" : "NOT activated: its scores would rank by chance");
	else if (!activated)
		rc |= crm_buf_adds(b, "  NOT activated: the active model is better (--force)\n");
	for (size_t k = 0; k < m->nleaks; k++)
		rc |= crm_buf_addf(b, "  left out %s: %s\n", m->leak[k], m->leak_why[k]);
	rc |= crm_buf_adds(b, "  reliability: predicted -> observed (n)\n");
	for (int k = 0; k < 10; k++)
		if (x->bin_n[k])
			rc |= crm_buf_addf(b, "    %.1f-%.1f  %.3f -> %.3f (%zu)\n", k / 10.0, (k + 1) / 10.0,
					   x->bin_pred[k], x->bin_obs[k], x->bin_n[k]);
	return rc;
}

int crm_override_json(struct crm_buf *b, const char *kind, const char *feature, const char *action)
{
	int rc = crm_buf_addf(b, "{\"type\":\"weight\",\"entity\":\"%s\",\"feature\":", kind);

	rc |= crm_json_str(b, feature, strlen(feature));
	rc |= crm_buf_addf(b, ",\"action\":\"%s\"}\n", action);
	return rc ? -1 : 0;
}
