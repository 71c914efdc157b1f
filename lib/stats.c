/*
 * stats.c - random draws and intervals.
 *
 * The binomial sampler is exact: inversion (sequential search) when the
 * mean is small, else the transformed rejection with squeeze of
 * W. Hormann, "The generation of binomial random variates", J. Statist.
 * Comput. Simul. 46 (1993).
 */
#include <math.h>

#include "stats.h"

void crm_rng_seed(struct crm_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t crm_rng_next(struct crm_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double crm_rng_unit(struct crm_rng *r)
{
	return (double)(crm_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Inversion: n * p below 10. */
static uint64_t binomial_inv(struct crm_rng *r, uint64_t n, double p)
{
	double q = 1 - p, s = p / q, a = (double)(n + 1) * s;

	for (;;) {
		double f = pow(q, (double)n), u = crm_rng_unit(r);
		uint64_t x = 0;

		while (u > f) {
			u -= f;
			x++;
			if (x > n)
				break;
			f *= a / (double)x - s;
		}
		if (x <= n)
			return x;
	}
}

/* BTRS: n * p at least 10, p at most 0.5. */
static uint64_t binomial_btrs(struct crm_rng *r, uint64_t n, double p)
{
	double q = 1 - p, spq = sqrt((double)n * p * q);
	double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p;
	double c = (double)n * p + 0.5, vr = 0.92 - 4.2 / b;
	double alpha = (2.83 + 5.1 / b) * spq, lpq = log(p / q);
	double m = floor((double)(n + 1) * p);
	double h = lgamma(m + 1) + lgamma((double)n - m + 1);

	for (;;) {
		double u = crm_rng_unit(r) - 0.5, v = crm_rng_unit(r);
		double us = 0.5 - fabs(u), k = floor((2 * a / us + b) * u + c);

		if (k < 0 || k > (double)n)
			continue;
		if (us >= 0.07 && v <= vr)
			return (uint64_t)k;
		v = log(v * alpha / (a / (us * us) + b));
		if (v <= h - lgamma(k + 1) - lgamma((double)n - k + 1) + (k - m) * lpq)
			return (uint64_t)k;
	}
}

uint64_t crm_rng_binomial(struct crm_rng *r, uint64_t n, double p)
{
	if (n == 0 || !(p > 0))
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - crm_rng_binomial(r, n, 1 - p);
	if ((double)n * p < 10)
		return binomial_inv(r, n, p);
	return binomial_btrs(r, n, p);
}

void crm_rng_multinomial(struct crm_rng *r, uint64_t n, const double *w,
			 size_t k, uint64_t *out)
{
	double left = 0;

	for (size_t i = 0; i < k; i++)
		left += w[i];
	for (size_t i = 0; i < k; i++) {
		if (i + 1 == k) {
			out[i] = n;
			break;
		}
		out[i] = left > 0 && w[i] > 0 ? crm_rng_binomial(r, n, fmin(1, w[i] / left)) : 0;
		n -= out[i];
		left -= w[i];
	}
}

/* P. J. Acklam's rational approximation of the normal quantile. */
static double normal_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
		2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
		2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
		2.445134137142996e+00, 3.754408661907416e+00 };
	double q, t;

	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - 0.02425)
		return -normal_quantile(1 - p);
	q = p - 0.5;
	t = q * q;
	return (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * q /
	       (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
}

double crm_z(double confidence)
{
	return normal_quantile(0.5 + confidence / 2);
}

void crm_wilson(double k, double n, double z, double *lo, double *hi)
{
	double p, den, mid, half;

	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = k / n;
	den = 1 + z * z / n;
	mid = (p + z * z / (2 * n)) / den;
	half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den;
	*lo = fmax(0, mid - half);
	*hi = fmin(1, mid + half);
}

double crm_quantile(const double *v, size_t n, double q)
{
	double pos, f;
	size_t i;

	if (!n)
		return NAN;
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	if (i + 1 >= n)
		return v[n - 1];
	f = pos - (double)i;
	return v[i] + f * (v[i + 1] - v[i]);
}
