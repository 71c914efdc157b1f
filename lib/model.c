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

#include "db.h"
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
			      "\"train\":%zu,\"holdout\":%zu,\"trees\":%zu,\"reliability\":[",
			      mt->auc, mt->logloss, mt->brier, mt->base_rate, mt->ntrain,
			      mt->ntest, mt->trees);

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
static int set_monotone(struct crm_model *m, const struct crm_dataset *d,
			struct crm_err *e)
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
	if (any && XGBoosterSetParam(m->booster, "monotone_constraints", mc.data) != 0)
		rc = crm_err_set(e, CRM_ESOFTWARE, "xgboost: %s", XGBGetLastError());
	crm_buf_release(&mc);
	return rc;
}

int crm_model_train(sqlite3 *db, const struct crm_entity *type,
		    const struct crm_train_opts *opts, struct crm_model *m,
		    int *activated, struct crm_err *e)
{
	struct crm_train_opts o = { 300, 5, 0.05, 0.2, 0, 1, NULL, NULL, NULL, 0, 0 };
	struct crm_dataset d;
	size_t *idx = NULL, nclosed = 0, ntest, ntrain, nfit, nval, wins = 0;
	float *ytr = NULL, *yte = NULL, *p = NULL, *pv = NULL;
	DMatrixHandle dtr = NULL, dte = NULL, dva = NULL;
	struct crm_buf feats, mets, params, blob;
	bst_ulong len;
	const char *raw;
	int rc = -1, best_round = 0;
	double best_auc = -1;

	crm_dataset_init(&d, type);
	crm_buf_init(&feats, 0);
	crm_buf_init(&mets, 0);
	crm_buf_init(&params, 0);
	crm_buf_init(&blob, 0);
	if (opts) {
		o = *opts;
		if (o.rounds <= 0) o.rounds = 300;
		if (o.depth <= 0) o.depth = 5;
		if (o.eta <= 0) o.eta = 0.05;
		if (o.holdout <= 0 || o.holdout >= 0.9) o.holdout = 0.2;
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
	/* The latest closed records are the holdout. */
	crm_dataset_sort_asof(&d, idx, nclosed);
	ntest = (size_t)((double)nclosed * o.holdout);
	ntrain = nclosed - ntest;
	ytr = malloc(ntrain * sizeof(*ytr));
	yte = malloc((ntest ? ntest : 1) * sizeof(*yte));
	p = malloc((ntest ? ntest : 1) * sizeof(*p));
	if (!ytr || !yte || !p)
		goto nomem;
	for (size_t i = 0; i < ntrain; i++)
		ytr[i] = d.y[idx[i]];
	for (size_t i = 0; i < ntest; i++)
		yte[i] = d.y[idx[ntrain + i]];
	/*
	 * Early stopping looks at the latest 15% of the training part, never
	 * at the holdout, which is only measured: its AUC is not chosen for.
	 */
	nfit = ntest ? ntrain - ntrain * 15 / 100 : ntrain;
	nval = ntrain - nfit;
	pv = malloc((nval ? nval : 1) * sizeof(*pv));
	if (!pv)
		goto nomem;
	if (o.dump && dump_csv(&d, idx, nfit, ntrain, nclosed, o.dump, o.dump_ctx, e) < 0)
		goto out;
	if (!(dtr = matrix(&d, idx, nfit, ytr, e)) ||
	    (nval && !(dva = matrix(&d, idx + nfit, nval, ytr + nfit, e))) ||
	    !(dte = matrix(&d, idx + ntrain, ntest, yte, e)))
		goto out;
	XG(XGBoosterCreate(&dtr, 1, &m->booster));
	{
		char v[32];

		XG(XGBoosterSetParam(m->booster, "objective", "binary:logistic"));
		XG(XGBoosterSetParam(m->booster, "tree_method", "hist"));
		snprintf(v, sizeof(v), "%d", o.depth);
		XG(XGBoosterSetParam(m->booster, "max_depth", v));
		snprintf(v, sizeof(v), "%g", o.eta);
		XG(XGBoosterSetParam(m->booster, "eta", v));
		snprintf(v, sizeof(v), "%u", o.seed);
		XG(XGBoosterSetParam(m->booster, "seed", v));
		XG(XGBoosterSetParam(m->booster, "min_child_weight", "2"));
		/* Start from the training win rate, not 0.5: calibrated even
		 * when early stopping keeps few trees. */
		{
			double w = 0;

			for (size_t i = 0; i < nfit; i++)
				w += ytr[i];
			snprintf(v, sizeof(v), "%.6f", fmin(fmax(w / (double)nfit, 0.01), 0.99));
			XG(XGBoosterSetParam(m->booster, "base_score", v));
		}
		XG(XGBoosterSetParam(m->booster, "subsample", "0.9"));
		XG(XGBoosterSetParam(m->booster, "max_cat_to_onehot", "4"));
		XG(XGBoosterSetParam(m->booster, "nthread", "2"));
		XG(XGBoosterSetParam(m->booster, "verbosity", "0"));
		if (set_monotone(m, &d, e) < 0)
			goto out;
	}
	for (int r = 0; r < o.rounds; r++) {
		double auc;

		XG(XGBoosterUpdateOneIter(m->booster, r, dtr));
		if (!nval)
			continue;
		if (predict(m->booster, dva, nval, (size_t)r + 1, pv, e) < 0)
			goto out;
		auc = crm_auc(pv, ytr + nfit, nval);
		if (auc > best_auc + 1e-6) {
			best_auc = auc;
			best_round = r;
		} else if (r - best_round >= 30) {
			break;
		}
	}
	if (!nval)
		best_round = o.rounds - 1;
	/* Keep the best number of trees; then measure on the holdout. */
	{
		BoosterHandle cut;

		XG(XGBoosterSlice(m->booster, 0, best_round + 1, 1, &cut));
		XGBoosterFree(m->booster);
		m->booster = cut;
	}
	if (ntest) {
		if (predict(m->booster, dte, ntest, 0, p, e) < 0)
			goto out;
		metrics_of(p, yte, ntest, &m->metrics);
	}
	/* The holdout's predictions, kept for audits. */
	m->hold_id = calloc(ntest ? ntest : 1, sizeof(*m->hold_id));
	if (!m->hold_id)
		goto nomem;
	for (size_t i = 0; i < ntest; i++)
		if (!(m->hold_id[m->nhold++] = strdup(d.id[idx[ntrain + i]])))
			goto nomem;
	m->hold_p = p;
	m->hold_y = yte;
	p = yte = NULL;
	m->metrics.trees = (size_t)best_round + 1;
	m->metrics.ntrain = nfit;
	m->metrics.ntest = ntest;
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
		sqlite3_stmt *st;
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
		    crm_buf_addf(&params, "{\"rounds\":%d,\"depth\":%d,\"eta\":%g,\"holdout\":%g,\"seed\":%u,\"xgboost\":\"%d.%d.%d\",\"left_out\":[",
				 o.rounds, o.depth, o.eta, o.holdout, o.seed, vmaj, vmin, vpat) < 0)
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
		crm_db_timestamp(now, sizeof(now));
		if (crm_db_begin(db, e) < 0)
			goto out;
		/* Only better (or as good) models become active by themselves. */
		if (sqlite3_prepare_v2(db, "SELECT json_extract(metrics, '$.auc') > ?2 + 1e-9 FROM models WHERE entity = ?1 AND active = 1",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, type->kind, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 2, m->metrics.auc);
			if (sqlite3_step(st) == SQLITE_ROW)
				prev_better = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
		*activated = o.force || !prev_better;
		if (*activated) {
			sqlite3_prepare_v2(db, "UPDATE models SET active = 0 WHERE entity = ?1 AND active = 1", -1, &st, NULL);
			sqlite3_bind_text(st, 1, type->kind, -1, SQLITE_STATIC);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
		if (sqlite3_prepare_v2(db, "INSERT INTO models (id, entity, created_at, params, features, metrics, data_hash, blob, blob_size, blob_hash, active) "
				       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", -1, &st, NULL) != SQLITE_OK) {
			crm_db_err(db, e, "cannot store the model");
			goto rollback;
		}
		sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, type->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, params.data, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, feats.data, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, mets.data, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, dh, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, blob.data, (int)blob.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, (sqlite3_int64)len);
		sqlite3_bind_text(st, 10, hex, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 11, *activated);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			crm_db_err(db, e, "cannot store the model");
			goto rollback;
		}
		sqlite3_finalize(st);
		if (sqlite3_prepare_v2(db, "INSERT INTO holdout_scores (model_id, entity_id, probability, label) "
				       "VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK) {
			crm_db_err(db, e, "cannot store the holdout");
			goto rollback;
		}
		sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
		for (size_t i = 0; i < m->nhold; i++) {
			sqlite3_bind_text(st, 2, m->hold_id[i], -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 3, m->hold_p[i]);
			sqlite3_bind_int(st, 4, m->hold_y[i] > 0.5);
			if (sqlite3_step(st) != SQLITE_DONE) {
				sqlite3_finalize(st);
				crm_db_err(db, e, "cannot store the holdout");
				goto rollback;
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
		if (crm_db_commit(db, e) < 0)
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
	crm_db_rollback(db);
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	if (dtr)
		XGDMatrixFree(dtr);
	if (dte)
		XGDMatrixFree(dte);
	if (dva)
		XGDMatrixFree(dva);
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

int crm_model_load(sqlite3 *db, const struct crm_entity *type, const char *id,
		   struct crm_model *m, struct crm_err *e)
{
	sqlite3_stmt *st;
	char *raw = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, id ?
		"SELECT id, entity, features, metrics, blob, blob_size, blob_hash FROM models WHERE id = ?1" :
		"SELECT id, entity, features, metrics, blob, blob_size, blob_hash FROM models WHERE entity = ?1 AND active = 1",
		-1, &st, NULL) != SQLITE_OK)
		return crm_db_err(db, e, "cannot read models");
	sqlite3_bind_text(st, 1, id ? id : type->kind, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return id ? crm_err_set(e, CRM_EDATA, "no model '%s'", id) :
			    crm_err_set(e, CRM_EDATA, "no active %s model: run 'crm-score train -t %s'",
					type->kind, type->kind);
	}
	snprintf(m->id, sizeof(m->id), "%s", sqlite3_column_text(st, 0));
	m->type = crm_entity_find((const char *)sqlite3_column_text(st, 1));
	crm_dataset_init(&m->schema, m->type);
	if (schema_parse(&m->schema, (const char *)sqlite3_column_text(st, 2), e) < 0)
		goto out;
	{
		json_t *mt = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);

		m->metrics.auc = json_number_value(json_object_get(mt, "auc"));
		m->metrics.base_rate = json_number_value(json_object_get(mt, "base_rate"));
		json_decref(mt);
	}
	{
		size_t size = (size_t)sqlite3_column_int64(st, 5), z = 0;
		struct crm_hash h;
		struct crm_buf unpacked = { 0 };
		char hex[33];
		int bad = crm_zstd_unpack(sqlite3_column_blob(st, 4),
					  (size_t)sqlite3_column_bytes(st, 4), &unpacked, NULL) < 0;

		raw = crm_buf_detach(&unpacked, &z);
		crm_hash_init(&h);
		if (!bad)
			crm_hash_add(&h, raw, z);
		crm_hash_hex(&h, hex);
		if (bad || z != size ||
		    strcmp(hex, (const char *)sqlite3_column_text(st, 6)) != 0) {
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
	sqlite3_finalize(st);
	return rc;
}

int crm_model_activate(sqlite3 *db, const char *id, struct crm_err *e)
{
	sqlite3_stmt *st;
	int ok;

	if (crm_db_begin(db, e) < 0)
		return -1;
	sqlite3_prepare_v2(db, "UPDATE models SET active = 0 WHERE active = 1 AND entity = (SELECT entity FROM models WHERE id = ?1)",
			   -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "UPDATE models SET active = 1 WHERE id = ?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
	sqlite3_finalize(st);
	if (!ok) {
		crm_db_rollback(db);
		return crm_err_set(e, CRM_EDATA, "no model '%s'", id);
	}
	return crm_db_commit(db, e);
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

int crm_feature_known(sqlite3 *db, const struct crm_entity *t, const char *name,
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

int crm_override_add(sqlite3 *db, const struct crm_entity *type,
		     const char *feature, const char *action, double value,
		     const char *who, const char *why, struct crm_err *e)
{
	sqlite3_stmt *st;
	char now[32];
	int rc;

	if (!who || !*who || !why || !*why)
		return crm_err_set(e, CRM_EUSAGE, "an override needs who and why");
	if (!strcmp(action, "monotone") && value != 1 && value != -1)
		return crm_err_set(e, CRM_EUSAGE, "monotone wants +1 or -1");
	if (!strcmp(action, "scale") && (value < 0 || value > 10))
		return crm_err_set(e, CRM_EUSAGE, "scale wants a factor from 0 to 10");
	crm_db_timestamp(now, sizeof(now));
	if (sqlite3_prepare_v2(db, "INSERT INTO weights (entity, feature, action, value, who, why, at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(db, e, "cannot record the override");
	sqlite3_bind_text(st, 1, type->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, feature, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	if (!strcmp(action, "scale") || !strcmp(action, "monotone"))
		sqlite3_bind_double(st, 4, value);
	sqlite3_bind_text(st, 5, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, why, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return crm_db_err(db, e, "cannot record the override");
	return 0;
}

int crm_override_load(sqlite3 *db, const struct crm_entity *type,
		      struct crm_model *m, struct crm_err *e)
{
	sqlite3_stmt *st;

	m->nov = 0;
	if (sqlite3_prepare_v2(db,
		"SELECT feature, action, value FROM weights w WHERE entity = ?1 AND id = "
		"(SELECT max(id) FROM weights w2 WHERE w2.entity = w.entity AND w2.feature = w.feature) "
		"AND action != 'clear' ORDER BY feature", -1, &st, NULL) != SQLITE_OK)
		return crm_db_err(db, e, "cannot read overrides");
	sqlite3_bind_text(st, 1, type->kind, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && m->nov < CRM_MAXOVERRIDES) {
		struct crm_override *o = &m->ov[m->nov++];

		snprintf(o->feature, sizeof(o->feature), "%s", sqlite3_column_text(st, 0));
		snprintf(o->action, sizeof(o->action), "%s", sqlite3_column_text(st, 1));
		o->value = sqlite3_column_double(st, 2);
	}
	sqlite3_finalize(st);
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

int crm_score_put(sqlite3 *db, const char *id, const char *model, double p,
		  const char *now, struct crm_err *e)
{
	sqlite3_stmt *st = crm_db_stmt(db, "INSERT INTO scores (entity_id, model_id, probability, score, computed_at) "
				       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (entity_id, model_id) DO UPDATE SET "
				       "probability = excluded.probability, score = excluded.score, "
				       "computed_at = excluded.computed_at");
	int rc;

	if (!st)
		return crm_db_err(db, e, "scores");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, p);
	sqlite3_bind_int(st, 4, (int)lround(100.0 * p));
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	crm_db_stmt_done(db, st);
	return rc == SQLITE_DONE ? 0 : crm_db_err(db, e, "scores");
}
