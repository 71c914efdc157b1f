/*
 * pairmodel.c - a supervised pair model from people's decisions (see
 * pairmodel.h): XGBoost trees on the fields' levels and weights, started
 * from the weights' log-odds, kept as a flat array and evaluated here.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "pairmodel.h"
#include "stats.h"

#define FOLDS 5
#define MAX_ROUNDS 100
#define MIN_GAIN 0.97		/* held-out loss must fall below this share */
#define SURE_NO 0.01		/* anchors: pairs the weights call this surely */
#define SURE_YES 0.999

/* The training rows: features, labels, weights, base log-odds. */
struct rows {
	float *x, *y, *base;
	size_t n, nfeat;
};

static size_t nfeat(const struct crm_linkage *lk)
{
	return 2 * lk->nf + 1;
}

/* Features of a pair: each field's level (NAN: missing) and weight, and
 * their sum. */
static void features(const struct crm_linkage *lk, const uint8_t *lev, const double *w,
		     float *x)
{
	double sum = 0;

	for (size_t i = 0; i < lk->nf; i++) {
		x[2 * i] = lev[i] ? (float)lev[i] : NAN;
		x[2 * i + 1] = lev[i] ? (float)w[i] : NAN;
		sum += w[i];
	}
	x[2 * lk->nf] = (float)sum;
}

/* The weights' log-odds; p (NAN: now) the probability they gave then. */
static double base_logit(const struct crm_linkage *lk, const double *w, double p)
{
	double sum = 0, lambda = fmin(fmax(lk->lambda, 1e-12), 1 - 1e-12);

	if (!isnan(p)) {
		p = fmin(fmax(p, 1e-9), 1 - 1e-9);
		return log(p / (1 - p));
	}
	for (size_t i = 0; i < lk->nf; i++)
		sum += w[i];
	return (sum + log2(lambda / (1 - lambda))) * M_LN2;
}

static void rows_add(struct rows *r, const struct crm_linkage *lk, const uint8_t *lev,
		     const double *w, double p, int match)
{
	features(lk, lev, w, &r->x[r->n * r->nfeat]);
	r->y[r->n] = (float)match;
	r->base[r->n] = (float)base_logit(lk, w, p);
	r->n++;
}

/* The decisions as rows: weights as scored now where the records are
 * still there, else as they were when decided, with the probability
 * they had then (the prior of a database since merged is no guide). */
static void add_decisions(struct rows *r, const struct crm_linkage *lk)
{
	for (size_t k = 0; k < lk->nlabelled; k++) {
		const struct crm_plabel *l = &lk->labelled[k];
		double w[CRM_LINK_MAXF];

		if (l->a != UINT32_MAX) {
			struct crm_pair p = { .a = l->a, .b = l->b };

			memcpy(p.lev, l->lev, sizeof(p.lev));
			crm_linkage_pair_weights(lk, &p, w);
			rows_add(r, lk, l->lev, w, NAN, l->match);
			continue;
		}
		for (size_t i = 0; i < lk->nf; i++)
			w[i] = isnan(l->w[i]) ? crm_linkage_field_weight(lk, i, l->lev[i]) : l->w[i];
		rows_add(r, lk, l->lev, w, l->p, l->match);
	}
}

/* Anchors: up to want candidates the weights are sure of, labelled so. */
static size_t add_anchors(struct rows *r, const struct crm_linkage *lk, size_t want,
			  uint64_t seed)
{
	struct crm_rng rng;
	size_t got = 0;

	crm_rng_seed(&rng, seed ^ 0xa5a5a5a5ULL);
	for (size_t t = 0; t < 50 * want && got < want && lk->npairs; t++) {
		const struct crm_pair *p = &lk->pairs[crm_rng_next(&rng) % lk->npairs];
		double w[CRM_LINK_MAXF];

		if (p->p > SURE_NO && p->p < SURE_YES)
			continue;
		crm_linkage_pair_weights(lk, p, w);
		rows_add(r, lk, p->lev, w, NAN, p->p >= SURE_YES);
		got++;
	}
	return got;
}

#define XG(call)								\
	do {									\
		if ((call) != 0) {						\
			crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError()); \
			goto out;						\
		}								\
	} while (0)

/* A DMatrix of rows idx[0..n) of r. */
static DMatrixHandle matrix(const struct rows *r, const size_t *idx, size_t n,
			    struct crm_err *e)
{
	DMatrixHandle m = NULL;
	float *x = malloc((n ? n : 1) * r->nfeat * sizeof(*x));
	float *y = malloc((n ? n : 1) * sizeof(*y)), *b = malloc((n ? n : 1) * sizeof(*b));

	if (!x || !y || !b) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(&x[i * r->nfeat], &r->x[idx[i] * r->nfeat], r->nfeat * sizeof(*x));
		y[i] = r->y[idx[i]];
		b[i] = r->base[idx[i]];
	}
	XG(XGDMatrixCreateFromMat(x, n, r->nfeat, NAN, &m));
	XG(XGDMatrixSetFloatInfo(m, "label", y, n));
	XG(XGDMatrixSetFloatInfo(m, "base_margin", b, n));
out:
	free(x);
	free(y);
	free(b);
	return m;
}

static BoosterHandle booster(DMatrixHandle d, uint64_t seed, struct crm_err *e)
{
	BoosterHandle b = NULL;
	char v[32];

	XG(XGBoosterCreate(&d, 1, &b));
	XG(XGBoosterSetParam(b, "objective", "binary:logistic"));
	XG(XGBoosterSetParam(b, "tree_method", "exact"));
	XG(XGBoosterSetParam(b, "max_depth", "2"));
	XG(XGBoosterSetParam(b, "eta", "0.1"));
	XG(XGBoosterSetParam(b, "lambda", "5"));
	XG(XGBoosterSetParam(b, "min_child_weight", "3"));
	XG(XGBoosterSetParam(b, "base_score", "0.5"));	/* margin 0: the base is the weights' */
	XG(XGBoosterSetParam(b, "nthread", "1"));	/* the same trees every run */
	XG(XGBoosterSetParam(b, "verbosity", "0"));
	snprintf(v, sizeof(v), "%u", (unsigned)(seed & 0x7fffffff));
	XG(XGBoosterSetParam(b, "seed", v));
	return b;
out:
	if (b)
		XGBoosterFree(b);
	return NULL;
}

/* Log loss of probabilities q against labels y. */
static double logloss(const float *q, const float *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++) {
		double p = fmin(fmax(q[i], 1e-6), 1 - 1e-6);

		s -= y[i] ? log(p) : log(1 - p);
	}
	return s;
}

/*
 * Cross-validate over the decisions (anchors always in training): the
 * held-out log loss after each round into loss[0..MAX_ROUNDS] (loss[0]:
 * the weights alone).
 */
static int cross_validate(const struct rows *r, size_t decisions, uint64_t seed, double *loss,
			  struct crm_err *e)
{
	size_t *order = malloc(decisions * sizeof(*order));
	size_t *tr = malloc(r->n * sizeof(*tr)), *va = malloc(decisions * sizeof(*va));
	float *y = malloc(decisions * sizeof(*y)), *q = malloc(decisions * sizeof(*q));
	struct crm_rng rng;
	int rc = -1;

	if (!order || !tr || !va || !y || !q) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto done;
	}
	crm_rng_seed(&rng, seed);
	for (size_t i = 0; i < decisions; i++)
		order[i] = i;
	for (size_t i = decisions; i > 1; i--) {
		size_t j = crm_rng_next(&rng) % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (int k = 0; k <= MAX_ROUNDS; k++)
		loss[k] = 0;
	for (size_t f = 0; f < FOLDS; f++) {
		size_t ntr = 0, nva = 0;
		DMatrixHandle dtr = NULL, dva = NULL;
		BoosterHandle b = NULL;

		for (size_t i = 0; i < decisions; i++) {
			if (i % FOLDS == f) {
				y[nva] = r->y[order[i]];
				va[nva++] = order[i];
			} else {
				tr[ntr++] = order[i];
			}
		}
		for (size_t i = decisions; i < r->n; i++)
			tr[ntr++] = i;
		for (size_t i = 0; i < nva; i++) {
			double t = r->base[va[i]];

			q[i] = (float)(1 / (1 + exp(-t)));
		}
		loss[0] += logloss(q, y, nva);
		if (!(dtr = matrix(r, tr, ntr, e)) || !(dva = matrix(r, va, nva, e)) ||
		    !(b = booster(dtr, seed, e)))
			goto out;
		for (int k = 1; k <= MAX_ROUNDS; k++) {
			bst_ulong len;
			const float *out;

			XG(XGBoosterUpdateOneIter(b, k - 1, dtr));
			XG(XGBoosterPredict(b, dva, 0, 0, 0, &len, &out));
			memcpy(q, out, nva * sizeof(*q));
			loss[k] += logloss(q, y, nva);
		}
		rc = 0;
out:
		if (b)
			XGBoosterFree(b);
		if (dtr)
			XGDMatrixFree(dtr);
		if (dva)
			XGDMatrixFree(dva);
		if (rc < 0)
			goto done;
		rc = -1;
	}
	rc = 0;
done:
	free(order);
	free(tr);
	free(va);
	free(y);
	free(q);
	return rc;
}

/* ---- the trees, flat ------------------------------------------------------ */

static int node_add(struct crm_pairmodel *pm, size_t *cap)
{
	if (pm->nnodes == *cap) {
		size_t c = *cap ? 2 * *cap : 256;
		struct crm_pairnode *t = realloc(pm->node, c * sizeof(*t));

		if (!t)
			return -1;
		pm->node = t;
		*cap = c;
	}
	return (int)pm->nnodes++;
}

/* Flatten the dumped node o (and its children); its index, or -1. */
static long flatten(struct crm_pairmodel *pm, json_t *o, size_t *cap)
{
	json_t *kids = json_object_get(o, "children"), *leaf = json_object_get(o, "leaf");
	long self = node_add(pm, cap);
	json_int_t yes, no, miss;

	if (self < 0)
		return -1;
	if (leaf) {
		pm->node[self].feat = -1;
		pm->node[self].cut = (float)json_number_value(leaf);
		return self;
	}
	{
		const char *split = json_string_value(json_object_get(o, "split"));

		if (!split || split[0] != 'f' || !json_is_array(kids))
			return -1;
		pm->node[self].feat = atoi(split + 1);
		pm->node[self].cut = (float)json_number_value(json_object_get(o, "split_condition"));
	}
	yes = json_integer_value(json_object_get(o, "yes"));
	no = json_integer_value(json_object_get(o, "no"));
	miss = json_integer_value(json_object_get(o, "missing"));
	for (size_t k = 0; k < json_array_size(kids); k++) {
		json_t *c = json_array_get(kids, k);
		json_int_t id = json_integer_value(json_object_get(c, "nodeid"));
		long at = flatten(pm, c, cap);

		if (at < 0)
			return -1;
		if (id == yes)
			pm->node[self].yes = (uint32_t)at;
		if (id == no)
			pm->node[self].no = (uint32_t)at;
		if (id == miss)
			pm->node[self].miss = (uint32_t)at;
	}
	return self;
}

static int take_trees(struct crm_pairmodel *pm, BoosterHandle b, struct crm_err *e)
{
	bst_ulong n;
	const char **dump;
	size_t cap = 0;

	if (XGBoosterDumpModelEx(b, "", 0, "json", &n, &dump) != 0)
		return crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
	pm->root = malloc((n ? n : 1) * sizeof(*pm->root));
	if (!pm->root)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	for (bst_ulong t = 0; t < n; t++) {
		json_t *o = json_loads(dump[t], 0, NULL);
		long at = o ? flatten(pm, o, &cap) : -1;

		json_decref(o);
		if (at < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "xgboost: a tree that cannot be read");
		pm->root[pm->ntrees++] = (uint32_t)at;
	}
	return 0;
}

static double trees(const struct crm_pairmodel *pm, const float *x)
{
	double s = 0;

	for (size_t t = 0; t < pm->ntrees; t++) {
		uint32_t k = pm->root[t];

		while (pm->node[k].feat >= 0) {
			const struct crm_pairnode *n = &pm->node[k];
			float v = x[n->feat];

			k = isnan(v) ? n->miss : v < n->cut ? n->yes : n->no;
		}
		s += pm->node[k].cut;
	}
	return s;
}

static double adjust(const void *ctx, const struct crm_linkage *lk, const uint8_t *lev,
		     const double *w, double logit)
{
	float x[2 * CRM_LINK_MAXF + 1];

	features(lk, lev, w, x);
	return logit + trees(ctx, x);
}

/* ---- learning ------------------------------------------------------------- */

int crm_pairmodel_learn(struct crm_pairmodel *pm, struct crm_linkage *lk, uint64_t seed,
			struct crm_err *e)
{
	struct rows r = { 0 };
	double loss[MAX_ROUNDS + 1];
	size_t want, *all = NULL;
	DMatrixHandle d = NULL;
	BoosterHandle b = NULL;
	int rc = -1, best = 0;

	memset(pm, 0, sizeof(*pm));
	pm->nfields = lk->nf;
	pm->decisions = lk->nlabelled;
	for (size_t k = 0; k < lk->nlabelled; k++)
		pm->matches += lk->labelled[k].match;
	if (pm->decisions < CRM_PAIRMODEL_MIN) {
		snprintf(pm->why, sizeof(pm->why), "%zu decisions: the pair model waits for %d",
			 pm->decisions, CRM_PAIRMODEL_MIN);
		return 0;
	}
	/* As many sure pairs as decisions, twice, and 200 at least. */
	want = 2 * pm->decisions > 200 ? 2 * pm->decisions : 200;
	r.nfeat = nfeat(lk);
	r.x = malloc((pm->decisions + want) * r.nfeat * sizeof(*r.x));
	r.y = malloc((pm->decisions + want) * sizeof(*r.y));
	r.base = malloc((pm->decisions + want) * sizeof(*r.base));
	all = malloc((pm->decisions + want) * sizeof(*all));
	if (!r.x || !r.y || !r.base || !all) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	add_decisions(&r, lk);
	pm->anchors = add_anchors(&r, lk, want, seed);
	if (cross_validate(&r, pm->decisions, seed, loss, e) < 0)
		goto out;
	for (int k = 1; k <= MAX_ROUNDS; k++)
		if (loss[k] < loss[best])
			best = k;
	pm->loss_weights = loss[0] / (double)pm->decisions;
	pm->loss_model = loss[best] / (double)pm->decisions;
	pm->rounds = best;
	if (!best || loss[best] > MIN_GAIN * loss[0]) {
		snprintf(pm->why, sizeof(pm->why), "the %zu decisions agree with the weights "
			 "(held-out log loss %.3f; with trees %.3f)", pm->decisions, pm->loss_weights,
			 pm->loss_model);
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < r.n; i++)
		all[i] = i;
	if (!(d = matrix(&r, all, r.n, e)) || !(b = booster(d, seed, e)))
		goto out;
	for (int k = 0; k < best; k++)
		XG(XGBoosterUpdateOneIter(b, k, d));
	if (take_trees(pm, b, e) < 0)
		goto out;
	pm->used = 1;
	lk->adjust = adjust;
	lk->adjust_ctx = pm;
	crm_linkage_rescore(lk);
	rc = 0;
out:
	if (b)
		XGBoosterFree(b);
	if (d)
		XGDMatrixFree(d);
	free(r.x);
	free(r.y);
	free(r.base);
	free(all);
	return rc;
}

void crm_pairmodel_release(struct crm_pairmodel *pm)
{
	free(pm->node);
	free(pm->root);
	memset(pm, 0, sizeof(*pm));
}
