/*
 * patterns.c - segment discovery with multiple-comparison control.
 *
 * With a few dozen attributes and their values, hundreds of segments are
 * tried; at p < 0.05 some would look special by chance alone. Every test
 * made is counted, and Benjamini-Hochberg q-values keep the expected share
 * of false findings among those reported at alpha.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"

/* Two-sided p-value of a standard normal statistic. */
static double p_normal(double z)
{
	return erfc(fabs(z) / sqrt(2.0));
}

struct acc {
	double n, wins, dn, dsum, dsq;	/* all; won ones with days */
};

static void add(struct acc *a, float y, float days)
{
	a->n++;
	a->wins += y;
	if (y > 0.5 && !isnan(days)) {
		a->dn++;
		a->dsum += days;
		a->dsq += (double)days * days;
	}
}

/* Append the tests of one segment (its counts s, the totals t). */
static int test(struct crm_pattern **v, size_t *n, size_t *cap,
		const struct acc *s, const struct acc *t, size_t min,
		struct crm_pattern base)
{
	struct acc r = { t->n - s->n, t->wins - s->wins, t->dn - s->dn,
			 t->dsum - s->dsum, t->dsq - s->dsq };

	if (s->n < (double)min || r.n < (double)min)
		return 0;
	for (int m = 0; m < 2; m++) {
		struct crm_pattern p = base;

		p.measure = m;
		if (m == 0) {
			double p1 = s->wins / s->n, p2 = r.wins / r.n;
			double pool = (s->wins + r.wins) / (s->n + r.n);
			double se = sqrt(pool * (1 - pool) * (1 / s->n + 1 / r.n));

			if (se <= 0 || p2 <= 0)
				continue;
			p.n = (size_t)s->n;
			p.n_rest = (size_t)r.n;
			p.value = p1;
			p.rest = p2;
			p.p = p_normal((p1 - p2) / se);
		} else {
			double m1, m2, v1, v2, se;

			if (s->dn < (double)min || r.dn < (double)min)
				continue;
			m1 = s->dsum / s->dn;
			m2 = r.dsum / r.dn;
			v1 = fmax(s->dsq / s->dn - m1 * m1, 1e-9) * s->dn / (s->dn - 1);
			v2 = fmax(r.dsq / r.dn - m2 * m2, 1e-9) * r.dn / (r.dn - 1);
			se = sqrt(v1 / s->dn + v2 / r.dn);
			if (se <= 0 || m2 <= 0)
				continue;
			p.n = (size_t)s->dn;
			p.n_rest = (size_t)r.dn;
			p.value = m1;
			p.rest = m2;
			p.p = p_normal((m1 - m2) / se);	/* large samples: z */
		}
		p.effect = p.value / p.rest - 1;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct crm_pattern *nv = realloc(*v, nc * sizeof(*nv));

			if (!nv)
				return -1;
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = p;
	}
	return 0;
}

static int cmp_p(const void *a, const void *b)
{
	const struct crm_pattern *x = a, *y = b;

	return (x->p > y->p) - (x->p < y->p);
}

static int cmp_effect(const void *a, const void *b)
{
	const struct crm_pattern *x = a, *y = b;
	double ex = fabs(x->effect), ey = fabs(y->effect);

	return (ex < ey) - (ex > ey);
}

int crm_patterns(const struct crm_dataset *d, size_t min_support,
		 double alpha, struct crm_pattern **out, size_t *n,
		 size_t *tested, struct crm_err *e)
{
	struct crm_pattern *v = NULL;
	size_t nv = 0, cap = 0, keep = 0;
	struct acc total = { 0 };
	int cats[CRM_MAXFEAT], nc = 0;

	*out = NULL;
	*n = *tested = 0;
	for (size_t j = 0; j < d->nfeat; j++)
		if (d->feat[j].kind == CRM_FEAT_CAT && strncmp(d->feat[j].name, "history.", 8))
			cats[nc++] = (int)j;
	for (size_t i = 0; i < d->n; i++)
		if (!isnan(d->y[i]))
			add(&total, d->y[i], d->days[i]);
	for (int x = 0; x < nc; x++) {
		size_t ka = d->feat[cats[x]].ncats;
		struct acc *one = calloc(ka ? ka : 1, sizeof(*one));

		if (!one)
			goto nomem;
		for (size_t i = 0; i < d->n; i++) {
			float c = d->x[i * d->nfeat + (size_t)cats[x]];

			if (!isnan(d->y[i]) && !isnan(c))
				add(&one[(int)c], d->y[i], d->days[i]);
		}
		for (size_t va = 0; va + 1 < ka; va++)	/* not "(other)" */
			if (test(&v, &nv, &cap, &one[va], &total, min_support,
				 (struct crm_pattern){ cats[x], -1, (int)va, -1, 0, 0, 0, 0, 0, 0, 0, 0 }) < 0) {
				free(one);
				goto nomem;
			}
		free(one);
		for (int y = x + 1; y < nc; y++) {
			size_t kb = d->feat[cats[y]].ncats;
			struct acc *two = calloc(ka && kb ? ka * kb : 1, sizeof(*two));

			if (!two)
				goto nomem;
			for (size_t i = 0; i < d->n; i++) {
				float ca = d->x[i * d->nfeat + (size_t)cats[x]];
				float cb = d->x[i * d->nfeat + (size_t)cats[y]];

				if (!isnan(d->y[i]) && !isnan(ca) && !isnan(cb))
					add(&two[(size_t)ca * kb + (size_t)cb], d->y[i], d->days[i]);
			}
			for (size_t va = 0; va + 1 < ka; va++)
				for (size_t vb = 0; vb + 1 < kb; vb++)
					if (test(&v, &nv, &cap, &two[va * kb + vb], &total, min_support,
						 (struct crm_pattern){ cats[x], cats[y], (int)va, (int)vb,
								       0, 0, 0, 0, 0, 0, 0, 0 }) < 0) {
						free(two);
						goto nomem;
					}
			free(two);
		}
	}
	/* Benjamini-Hochberg over every test made. */
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_p);
	for (size_t k = nv; k-- > 0;) {
		double q = v[k].p * (double)nv / (double)(k + 1);

		if (k + 1 < nv && v[k + 1].q < q)
			q = v[k + 1].q;
		v[k].q = fmin(q, 1.0);
	}
	for (size_t k = 0; k < nv; k++)
		if (v[k].q <= alpha)
			v[keep++] = v[k];
	if (keep)
		qsort(v, keep, sizeof(*v), cmp_effect);
	*out = v;
	*n = keep;
	*tested = nv;
	return 0;
nomem:
	free(v);
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
}
