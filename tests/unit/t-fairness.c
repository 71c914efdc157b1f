/* Unit tests for lib/stats and lib/fairness: draws, intervals, metrics,
 * verdicts, and the count bootstrap against a row bootstrap. */
#include <math.h>
#include <stdlib.h>

#include "../../lib/fairness.h"
#include "../../lib/stats.h"
#include "tap.h"

static void moments(uint64_t n, double p, int draws, double *mean, double *var)
{
	struct crm_rng r;
	double s = 0, ss = 0;

	crm_rng_seed(&r, 7);
	for (int i = 0; i < draws; i++) {
		double x = (double)crm_rng_binomial(&r, n, p);

		s += x;
		ss += x * x;
	}
	*mean = s / draws;
	*var = ss / draws - *mean * *mean;
}

static void test_draws(void)
{
	double m, v, lo, hi;
	struct crm_rng r;
	uint64_t out[4];
	double w[4] = { 1, 0, 2, 1 };
	int sums = 1, zero = 1;

	moments(1000, 0.3, 40000, &m, &v);
	ok(fabs(m - 300) < 1 && fabs(v - 210) < 10, "binomial(1000, 0.3): mean %.2f, variance %.1f", m, v);
	moments(20, 0.1, 40000, &m, &v);
	ok(fabs(m - 2) < 0.05 && fabs(v - 1.8) < 0.1, "binomial(20, 0.1): mean %.3f, variance %.3f", m, v);
	moments(100000, 0.9, 20000, &m, &v);
	ok(fabs(m - 90000) < 2 && fabs(v - 9000) < 500, "binomial(100000, 0.9): mean %.1f, variance %.0f", m, v);
	moments(50, 0, 10, &m, &v);
	ok(m == 0, "p = 0 gives 0");
	crm_rng_seed(&r, 3);
	for (int i = 0; i < 1000; i++) {
		crm_rng_multinomial(&r, 500, w, 4, out);
		sums &= out[0] + out[1] + out[2] + out[3] == 500;
		zero &= out[1] == 0;
	}
	ok(sums, "multinomial draws add up to n");
	ok(zero, "a cell of weight 0 gets nothing");
	ok(fabs(crm_z(0.95) - 1.959964) < 1e-4, "z(0.95) = %.6f", crm_z(0.95));
	ok(fabs(crm_z(0.99) - 2.575829) < 1e-4, "z(0.99) = %.6f", crm_z(0.99));
	crm_wilson(5, 10, 1.959964, &lo, &hi);
	ok(fabs(lo - 0.2366) < 1e-3 && fabs(hi - 0.7634) < 1e-3, "Wilson 5/10: [%.4f, %.4f]", lo, hi);
	is_int(crm_fair_parse_metrics("ratio,tpr"), CRM_FAIR_RATIO | CRM_FAIR_TPR, "metric list");
	is_int(crm_fair_parse_metrics("disparate_impact"), CRM_FAIR_RATIO, "metric by its long name");
	is_int(crm_fair_parse_metrics("ratio,bogus"), -1, "an unknown metric is refused");
}

/* Rows built from cell counts: per group, true and false positives and
 * negatives at the operating point. Every row is in both populations. */
struct rows {
	uint32_t *g;
	float *p;
	uint8_t *role, *label;
	size_t n;
};

static void make_rows(struct rows *r, const int (*cells)[4], int ng)
{
	size_t n = 0, i = 0;

	for (int k = 0; k < ng; k++)
		n += (size_t)(cells[k][0] + cells[k][1] + cells[k][2] + cells[k][3]);
	r->n = n;
	r->g = malloc(n * sizeof(*r->g));
	r->p = malloc(n * sizeof(*r->p));
	r->role = malloc(n * sizeof(*r->role));
	r->label = malloc(n * sizeof(*r->label));
	for (int k = 0; k < ng; k++)
		for (int c = 0; c < 4; c++)	/* tp, fn, fp, tn */
			for (int j = 0; j < cells[k][c]; j++, i++) {
				r->g[i] = (uint32_t)k;
				r->p[i] = c == 0 || c == 2 ? 0.8f : 0.2f;
				r->role[i] = CRM_FAIR_SEL | CRM_FAIR_OUT;
				r->label[i] = c < 2;
			}
}

static void free_rows(struct rows *r)
{
	free(r->g);
	free(r->p);
	free(r->role);
	free(r->label);
}

static const char *const names[] = { "a", "b" };

static void test_metrics(void)
{
	struct crm_fair f;
	struct crm_fair_opts o;
	struct crm_err e = { 0 };
	struct rows r;

	crm_fair_opts_default(&o);
	o.threshold = 0.5;
	make_rows(&r, (const int[][4]){ { 450, 50, 250, 250 }, { 250, 250, 100, 400 } }, 2);
	ok(crm_fair_measure(&f, r.g, r.p, r.role, r.label, r.n, names, 2, &o, &e) == 0, "measure");
	is_int(f.ref, 0, "the most favoured group is the reference");
	ok(fabs(f.g[0].rate.v - 0.7) < 1e-9, "selection rate a %.3f", f.g[0].rate.v);
	ok(fabs(f.g[1].ratio.v - 0.5) < 1e-9, "ratio b/a 0.35/0.7");
	ok(fabs(f.g[1].tpr_diff.v + 0.4) < 1e-9, "TPR difference 0.5 - 0.9");
	ok(f.g[1].ratio.v < 0.8 && f.g[1].ratio.lo < f.g[1].ratio.v && f.g[1].ratio.v < f.g[1].ratio.hi,
	   "ratio %.3f in [%.3f, %.3f]", f.g[1].ratio.v, f.g[1].ratio.lo, f.g[1].ratio.hi);
	ok(f.g[1].ratio.hi < 0.8, "its interval is below 0.8");
	ok(f.g[1].violations & CRM_FAIR_RATIO, "disparate impact found");
	ok(f.g[1].violations & CRM_FAIR_PARITY, "parity difference found (%.3f)", f.g[1].parity.v);
	ok(f.g[1].violations & CRM_FAIR_TPR, "equal opportunity difference found (%.3f)", f.g[1].tpr_diff.v);
	ok(!(f.g[0].violations & (CRM_FAIR_RATIO | CRM_FAIR_PARITY)), "the reference is not judged against itself");
	ok(fabs(f.dp_difference - (f.g[0].rate.v - f.g[1].rate.v)) < 1e-9, "demographic parity difference %.3f", f.dp_difference);
	crm_fair_release(&f);
	free_rows(&r);

	make_rows(&r, (const int[][4]){ { 300, 100, 100, 500 }, { 290, 100, 100, 510 } }, 2);
	crm_fair_measure(&f, r.g, r.p, r.role, r.label, r.n, names, 2, &o, &e);
	ok(!f.g[0].violations && !f.g[1].violations, "equal rates: no violation (ratio %.3f)", f.g[1].ratio.v);
	ok(f.g[1].ratio.lo < 1 && f.g[1].ratio.hi > 0.9, "interval [%.3f, %.3f]", f.g[1].ratio.lo, f.g[1].ratio.hi);
	crm_fair_release(&f);
	free_rows(&r);

	/* A ratio below 0.8 whose interval reaches above it is not a violation. */
	make_rows(&r, (const int[][4]){ { 15, 15, 15, 15 }, { 6, 6, 6, 22 } }, 2);
	o.min_group = 30;
	crm_fair_measure(&f, r.g, r.p, r.role, r.label, r.n, names, 2, &o, &e);
	ok(f.g[1].ratio.v < 0.8 && f.g[1].ratio.hi > 0.8 && !(f.g[1].violations & CRM_FAIR_RATIO),
	   "uncertain: ratio %.2f, interval up to %.2f, not judged a violation", f.g[1].ratio.v, f.g[1].ratio.hi);
	crm_fair_release(&f);
	free_rows(&r);

	make_rows(&r, (const int[][4]){ { 125, 125, 125, 125 }, { 0, 6, 0, 6 } }, 2);
	crm_fair_measure(&f, r.g, r.p, r.role, r.label, r.n, names, 2, &o, &e);
	ok(f.g[1].small && !f.g[1].violations, "a group of 12 is flagged small, not judged");
	crm_fair_release(&f);
	free_rows(&r);
}

/* The count bootstrap gives the interval a row bootstrap gives. */
static void test_against_rows(void)
{
	struct crm_fair f;
	struct crm_fair_opts o;
	struct crm_err e = { 0 };
	struct rows r;
	struct crm_rng rng;
	enum { R = 2000 };
	double *v = malloc(R * sizeof(*v)), lo, hi;

	crm_fair_opts_default(&o);
	o.resamples = R;
	make_rows(&r, (const int[][4]){ { 120, 280, 120, 280 }, { 40, 160, 40, 160 } }, 2);
	crm_fair_measure(&f, r.g, r.p, r.role, r.label, r.n, names, 2, &o, &e);
	crm_rng_seed(&rng, 99);
	for (int b = 0; b < R; b++) {
		double n[2] = { 0, 0 }, s[2] = { 0, 0 };

		for (size_t i = 0; i < r.n; i++) {
			size_t j = crm_rng_next(&rng) % r.n;

			n[r.g[j]]++;
			s[r.g[j]] += r.p[j] >= o.threshold;
		}
		v[b] = (s[1] / n[1]) / (s[0] / n[0]);
	}
	for (int a = 1; a < R; a++)
		for (int b = a; b > 0 && v[b - 1] > v[b]; b--) {
			double t = v[b];

			v[b] = v[b - 1];
			v[b - 1] = t;
		}
	lo = crm_quantile(v, R, 0.025);
	hi = crm_quantile(v, R, 0.975);
	ok(fabs(lo - f.g[1].ratio.lo) < 0.02 && fabs(hi - f.g[1].ratio.hi) < 0.02,
	   "ratio interval [%.3f, %.3f], rows give [%.3f, %.3f]", f.g[1].ratio.lo, f.g[1].ratio.hi, lo, hi);
	crm_fair_release(&f);
	free_rows(&r);
	free(v);
}

int main(void)
{
	test_draws();
	test_metrics();
	test_against_rows();
	return done_testing();
}
