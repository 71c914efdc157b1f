/*
 * fairness.c - group metrics, bootstrap intervals, verdicts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fairness.h"
#include "ndjson.h"
#include "stats.h"

static const struct {
	unsigned bit;
	const char *name, *alias;
} metrics[] = {
	{ CRM_FAIR_RATIO, "disparate_impact", "ratio" },
	{ CRM_FAIR_PARITY, "parity_difference", "parity" },
	{ CRM_FAIR_TPR, "tpr_difference", "tpr" },
	{ CRM_FAIR_FPR, "fpr_difference", "fpr" },
	{ CRM_FAIR_CALIB, "calibration", "calibration" },
};

const char *crm_fair_metric_name(unsigned bit)
{
	for (size_t k = 0; k < sizeof(metrics) / sizeof(metrics[0]); k++)
		if (metrics[k].bit == bit)
			return metrics[k].name;
	return NULL;
}

long crm_fair_parse_metrics(const char *list)
{
	long bits = 0;
	const char *s = list;

	if (!strcmp(list, "all"))
		return CRM_FAIR_RATIO | CRM_FAIR_PARITY | CRM_FAIR_TPR | CRM_FAIR_FPR | CRM_FAIR_CALIB;
	if (!strcmp(list, "none"))
		return 0;
	while (*s) {
		size_t len = strcspn(s, ","), k;

		for (k = 0; k < sizeof(metrics) / sizeof(metrics[0]); k++)
			if ((strlen(metrics[k].name) == len && !strncmp(s, metrics[k].name, len)) ||
			    (strlen(metrics[k].alias) == len && !strncmp(s, metrics[k].alias, len)))
				break;
		if (k == sizeof(metrics) / sizeof(metrics[0]))
			return -1;
		bits |= metrics[k].bit;
		s += len;
		if (*s == ',')
			s++;
	}
	return bits;
}

void crm_fair_opts_default(struct crm_fair_opts *o)
{
	o->threshold = 0.5;
	o->min_ratio = 0.8;
	o->max_diff = 0.1;
	o->confidence = 0.95;
	o->resamples = 1000;
	o->min_group = 30;
	o->min_class = 10;
	o->seed = 1;
}

static double ratio_of(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

/* The metrics of one group from counts, against the reference's. */
struct counts {
	double n, sel, tp, fn, fp, tn;
};

static double rate_of(const struct counts *c)
{
	return ratio_of(c->sel, c->n);
}

static double tpr_of(const struct counts *c)
{
	return ratio_of(c->tp, c->tp + c->fn);
}

static double fpr_of(const struct counts *c)
{
	return ratio_of(c->fp, c->fp + c->tn);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The interval of the finite values among v[0..n) (sorted in place). */
static void interval(double *v, size_t n, double confidence, struct crm_fair_est *est)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			v[k++] = v[i];
	if (k < 2 || !isfinite(est->v)) {
		est->lo = est->hi = NAN;
		return;
	}
	qsort(v, k, sizeof(*v), cmp_double);
	est->lo = crm_quantile(v, k, (1 - confidence) / 2);
	est->hi = crm_quantile(v, k, 1 - (1 - confidence) / 2);
}

/* Below the bar, and the interval too (or the value when there is none). */
static int below(const struct crm_fair_est *x, double bar)
{
	return x->v < bar && (isnan(x->hi) || x->hi < bar);
}

/* Outside [-bar, bar], and the interval entirely on that side. */
static int outside(const struct crm_fair_est *x, double bar)
{
	if (!isfinite(x->v) || fabs(x->v) <= bar)
		return 0;
	if (isnan(x->lo))
		return 1;
	return x->hi < -bar || x->lo > bar;
}

static void nan_est(struct crm_fair_est *x)
{
	x->v = x->lo = x->hi = NAN;
}

int crm_fair_measure(struct crm_fair *f, const uint32_t *group, const float *p,
		     const uint8_t *role, const uint8_t *label, size_t n,
		     const char *const *names, size_t ng,
		     const struct crm_fair_opts *o, struct crm_err *e)
{
	struct counts *c = NULL, *bc = NULL;
	double *w = NULL, *boot = NULL;
	uint64_t *draw = NULL;
	size_t R = o->resamples > 0 ? (size_t)o->resamples : 0;
	double z = crm_z(o->confidence);

	memset(f, 0, sizeof(*f));
	f->ref = -1;
	f->g = calloc(ng ? ng : 1, sizeof(*f->g));
	c = calloc(ng ? ng : 1, sizeof(*c));
	if (!f->g || !c)
		goto nomem;
	f->ng = ng;
	for (size_t k = 0; k < ng; k++)
		f->g[k].name = names[k];
	for (size_t i = 0; i < n; i++) {
		struct crm_fair_group *g = &f->g[group[i]];
		int sel = p[i] >= o->threshold;
		int bin = (int)(p[i] * CRM_FAIR_BINS);

		bin = bin < 0 ? 0 : bin >= CRM_FAIR_BINS ? CRM_FAIR_BINS - 1 : bin;
		if (role[i] & CRM_FAIR_SEL) {
			g->n++;
			g->selected += sel;
			g->score_sum += p[i];
			g->hist[bin]++;
			f->nsel++;
		}
		if (role[i] & CRM_FAIR_OUT) {
			g->labelled++;
			g->pred_sum += p[i];
			g->cal_pred[bin] += p[i];
			g->cal_obs[bin] += label[i];
			g->cal_n[bin]++;
			if (label[i])
				sel ? g->tp++ : g->fn++;
			else
				sel ? g->fp++ : g->tn++;
			f->nout++;
		}
	}
	/* Point estimates, and the most favoured group. */
	for (size_t k = 0; k < ng; k++) {
		struct crm_fair_group *g = &f->g[k];

		c[k] = (struct counts){ (double)g->n, (double)g->selected, (double)g->tp,
					(double)g->fn, (double)g->fp, (double)g->tn };
		g->small = f->nsel ? g->n < o->min_group : g->labelled < o->min_group;
		g->rate.v = rate_of(&c[k]);
		g->tpr.v = tpr_of(&c[k]);
		g->fpr.v = fpr_of(&c[k]);
		if (!g->small && isfinite(g->rate.v) &&
		    (f->ref < 0 || g->rate.v > f->g[f->ref].rate.v))
			f->ref = (long)k;
		for (int b = 0; b < CRM_FAIR_BINS; b++)
			if (g->cal_n[b]) {
				g->cal_pred[b] /= (double)g->cal_n[b];
				g->cal_obs[b] /= (double)g->cal_n[b];
			}
	}
	for (size_t k = 0; k < ng; k++) {
		struct crm_fair_group *g = &f->g[k];
		const struct counts *r = f->ref >= 0 ? &c[f->ref] : NULL;

		g->ratio.v = r ? ratio_of(g->rate.v, rate_of(r)) : NAN;
		g->parity.v = r ? g->rate.v - rate_of(r) : NAN;
		g->tpr_diff.v = r && g->tp + g->fn >= o->min_class && r->tp + r->fn >= o->min_class ?
			g->tpr.v - tpr_of(r) : NAN;
		g->fpr_diff.v = r && g->fp + g->tn >= o->min_class && r->fp + r->tn >= o->min_class ?
			g->fpr.v - fpr_of(r) : NAN;
		if (g->labelled) {
			double obs = (double)(g->tp + g->fn), pred = g->pred_sum / (double)g->labelled;

			g->calib.v = obs / (double)g->labelled - pred;
			crm_wilson(obs, (double)g->labelled, z, &g->calib.lo, &g->calib.hi);
			g->calib.lo -= pred;
			g->calib.hi -= pred;
		} else {
			nan_est(&g->calib);
		}
		crm_wilson((double)g->selected, (double)g->n, z, &g->rate.lo, &g->rate.hi);
		g->tpr.lo = g->tpr.hi = g->fpr.lo = g->fpr.hi = NAN;
		g->ratio.lo = g->ratio.hi = g->parity.lo = g->parity.hi = NAN;
		g->tpr_diff.lo = g->tpr_diff.hi = g->fpr_diff.lo = g->fpr_diff.hi = NAN;
	}
	/* Bootstrap: multinomial counts over (group, cell). */
	if (R && ng && f->ref >= 0) {
		struct crm_rng rng;

		w = malloc(ng * 4 * sizeof(*w));
		draw = malloc(ng * 4 * sizeof(*draw));
		bc = malloc(ng * sizeof(*bc));
		boot = malloc(4 * ng * R * sizeof(*boot));
		if (!w || !draw || !bc || !boot)
			goto nomem;
		crm_rng_seed(&rng, o->seed);
		for (size_t r = 0; r < R; r++) {
			for (size_t k = 0; k < ng; k++) {
				w[2 * k] = c[k].n - c[k].sel;
				w[2 * k + 1] = c[k].sel;
			}
			crm_rng_multinomial(&rng, f->nsel, w, 2 * ng, draw);
			for (size_t k = 0; k < ng; k++) {
				bc[k].n = (double)(draw[2 * k] + draw[2 * k + 1]);
				bc[k].sel = (double)draw[2 * k + 1];
			}
			for (size_t k = 0; k < ng; k++) {
				w[4 * k] = c[k].tp;
				w[4 * k + 1] = c[k].fn;
				w[4 * k + 2] = c[k].fp;
				w[4 * k + 3] = c[k].tn;
			}
			crm_rng_multinomial(&rng, f->nout, w, 4 * ng, draw);
			for (size_t k = 0; k < ng; k++) {
				bc[k].tp = (double)draw[4 * k];
				bc[k].fn = (double)draw[4 * k + 1];
				bc[k].fp = (double)draw[4 * k + 2];
				bc[k].tn = (double)draw[4 * k + 3];
			}
			for (size_t k = 0; k < ng; k++) {
				const struct counts *rf = &bc[f->ref];
				double *row = boot + 4 * (k * R + r);

				row[0] = ratio_of(rate_of(&bc[k]), rate_of(rf));
				row[1] = rate_of(&bc[k]) - rate_of(rf);
				row[2] = tpr_of(&bc[k]) - tpr_of(rf);
				row[3] = fpr_of(&bc[k]) - fpr_of(rf);
			}
		}
		/* Transpose each group's rows into one series per metric. */
		{
			double *series = malloc(R * sizeof(*series));
			struct crm_fair_est *est[4];

			if (!series)
				goto nomem;
			for (size_t k = 0; k < ng; k++) {
				struct crm_fair_group *g = &f->g[k];

				if ((long)k == f->ref)
					continue;
				est[0] = &g->ratio;
				est[1] = &g->parity;
				est[2] = &g->tpr_diff;
				est[3] = &g->fpr_diff;
				for (int m = 0; m < 4; m++) {
					for (size_t r = 0; r < R; r++)
						series[r] = boot[4 * (k * R + r) + (size_t)m];
					interval(series, R, o->confidence, est[m]);
				}
			}
			free(series);
		}
	}
	/* Verdicts, and the summaries over judged groups. */
	{
		double rmin = INFINITY, rmax = -INFINITY, tmin = INFINITY, tmax = -INFINITY;
		double fmin_ = INFINITY, fmax_ = -INFINITY;

		for (size_t k = 0; k < ng; k++) {
			struct crm_fair_group *g = &f->g[k];

			if (g->small)
				continue;
			if (isfinite(g->rate.v)) {
				rmin = fmin(rmin, g->rate.v);
				rmax = fmax(rmax, g->rate.v);
			}
			if (g->tp + g->fn >= o->min_class) {
				tmin = fmin(tmin, g->tpr.v);
				tmax = fmax(tmax, g->tpr.v);
			}
			if (g->fp + g->tn >= o->min_class) {
				fmin_ = fmin(fmin_, g->fpr.v);
				fmax_ = fmax(fmax_, g->fpr.v);
			}
			if (g->labelled >= o->min_group && outside(&g->calib, o->max_diff))
				g->violations |= CRM_FAIR_CALIB;
			if ((long)k == f->ref)
				continue;
			if (below(&g->ratio, o->min_ratio))
				g->violations |= CRM_FAIR_RATIO;
			if (outside(&g->parity, o->max_diff))
				g->violations |= CRM_FAIR_PARITY;
			if (outside(&g->tpr_diff, o->max_diff))
				g->violations |= CRM_FAIR_TPR;
			if (outside(&g->fpr_diff, o->max_diff))
				g->violations |= CRM_FAIR_FPR;
		}
		f->dp_difference = rmax >= rmin ? rmax - rmin : NAN;
		f->dp_ratio = rmax > 0 && rmax >= rmin ? rmin / rmax : NAN;
		f->eo_difference = NAN;
		if (tmax >= tmin)
			f->eo_difference = tmax - tmin;
		if (fmax_ >= fmin_ && !(fmax_ - fmin_ <= f->eo_difference))
			f->eo_difference = fmax_ - fmin_;
	}
	free(c);
	free(bc);
	free(w);
	free(draw);
	free(boot);
	return 0;
nomem:
	free(c);
	free(bc);
	free(w);
	free(draw);
	free(boot);
	crm_fair_release(f);
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
}

void crm_fair_release(struct crm_fair *f)
{
	free(f->g);
	memset(f, 0, sizeof(*f));
	f->ref = -1;
}

unsigned crm_fair_violations(const struct crm_fair *f, size_t k, unsigned fail_on)
{
	return f->g[k].violations & fail_on;
}

static void est(struct crm_buf *b, const char *key, const struct crm_fair_est *x)
{
	crm_json_figure(b, key, x->v);
	if (isfinite(x->lo) && isfinite(x->hi))
		crm_buf_addf(b, ",\"%s_ci\":[%.4f,%.4f]", key, x->lo, x->hi);
	else
		crm_buf_addf(b, ",\"%s_ci\":null", key);
}

int crm_fair_group_json(const struct crm_fair *f, size_t k, unsigned fail_on,
			struct crm_buf *b)
{
	const struct crm_fair_group *g = &f->g[k];
	unsigned v = crm_fair_violations(f, k, fail_on);
	int first = 1;

	crm_json_key(b, "group");
	crm_json_str(b, g->name, strlen(g->name));
	crm_buf_addf(b, ",\"n\":%zu,\"selected\":%zu", g->n, g->selected);
	est(b, "selection_rate", &g->rate);
	crm_json_figure(b, "mean_score", g->n ? 100 * g->score_sum / (double)g->n : NAN);
	crm_buf_adds(b, ",\"reference\":");
	if (f->ref >= 0)
		crm_json_str(b, f->g[f->ref].name, strlen(f->g[f->ref].name));
	else
		crm_buf_adds(b, "null");
	est(b, "disparate_impact", &g->ratio);
	est(b, "parity_difference", &g->parity);
	crm_buf_addf(b, ",\"labelled\":%zu,\"positives\":%zu", g->labelled, g->tp + g->fn);
	crm_json_figure(b, "tpr", g->tpr.v);
	est(b, "tpr_difference", &g->tpr_diff);
	crm_json_figure(b, "fpr", g->fpr.v);
	est(b, "fpr_difference", &g->fpr_diff);
	crm_json_figure(b, "predicted", g->labelled ? g->pred_sum / (double)g->labelled : NAN);
	crm_json_figure(b, "observed", g->labelled ? (double)(g->tp + g->fn) / (double)g->labelled : NAN);
	est(b, "calibration_gap", &g->calib);
	crm_buf_addf(b, ",\"small\":%s,\"violations\":[", g->small ? "true" : "false");
	for (unsigned bit = 1; bit <= CRM_FAIR_CALIB; bit <<= 1)
		if (v & bit) {
			crm_buf_addf(b, "%s\"%s\"", first ? "" : ",", crm_fair_metric_name(bit));
			first = 0;
		}
	return crm_buf_addf(b, "],\"verdict\":\"%s\"}",
			    v ? "violation" : g->small ? "small" : (long)k == f->ref ? "reference" : "ok");
}

/* An estimate and its interval, as a percentage with pct. */
static void est_text(char *s, size_t n, const struct crm_fair_est *x, int pct)
{
	double k = pct ? 100 : 1;

	if (!isfinite(x->v))
		snprintf(s, n, "-");
	else if (isfinite(x->lo))
		snprintf(s, n, pct ? "%.1f [%.1f,%.1f]" : "%.2f [%.2f,%.2f]", k * x->v, k * x->lo, k * x->hi);
	else
		snprintf(s, n, pct ? "%.1f" : "%.2f", k * x->v);
}

int crm_fair_table(struct crm_buf *b, const char *label, const struct crm_fair *f, unsigned fail_on)
{
	int rc = crm_buf_addf(b, "%s\n  %-24s %7s %-20s %-18s %-20s %-20s %s\n", label, "GROUP", "N",
			      "SELECTED %", "IMPACT RATIO", "TPR DIFF", "FPR DIFF", "VERDICT");

	for (size_t k = 0; k < f->ng; k++) {
		const struct crm_fair_group *g = &f->g[k];
		char a[48], r[48], c[48], d[48];
		unsigned v = crm_fair_violations(f, k, fail_on);

		if (!g->n && !g->labelled)
			continue;
		est_text(a, sizeof(a), &g->rate, 1);
		est_text(r, sizeof(r), &g->ratio, 0);
		est_text(c, sizeof(c), &g->tpr_diff, 0);
		est_text(d, sizeof(d), &g->fpr_diff, 0);
		rc |= crm_buf_addf(b, "  %-24.24s %7zu %-20s %-18s %-20s %-20s ", g->name, g->n, a, r, c, d);
		if (!v) {
			rc |= crm_buf_addf(b, "%s\n", g->small ? "too small to judge" :
							 (long)k == f->ref ? "reference" : "ok");
			continue;
		}
		for (unsigned bit = 1; bit <= CRM_FAIR_CALIB; bit <<= 1)
			if (v & bit)
				rc |= crm_buf_addf(b, "%s ", crm_fair_metric_name(bit));
		rc |= crm_buf_adds(b, "VIOLATION\n");
	}
	return rc;
}
