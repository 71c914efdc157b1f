/*
 * stats.h - a seeded random source, binomial and multinomial draws, and
 * the intervals the audits report.
 */
#ifndef CRM_STATS_H
#define CRM_STATS_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: small, fast, and the same sequence for a seed everywhere. */
struct crm_rng {
	uint64_t s;
};

void crm_rng_seed(struct crm_rng *r, uint64_t seed);
uint64_t crm_rng_next(struct crm_rng *r);
/* Uniform in [0, 1), 53 bits. */
double crm_rng_unit(struct crm_rng *r);

/* A draw from Binomial(n, p): exact (inversion, or Hormann's BTRS). */
uint64_t crm_rng_binomial(struct crm_rng *r, uint64_t n, double p);

/*
 * A draw of n trials over k cells with probabilities proportional to w
 * (need not sum to 1) into out: sequential conditional binomials.
 */
void crm_rng_multinomial(struct crm_rng *r, uint64_t n, const double *w,
			 size_t k, uint64_t *out);

/* The two-sided normal quantile for a confidence (0.95 gives 1.96). */
double crm_z(double confidence);

/* Wilson score interval of k successes in n at quantile z. */
void crm_wilson(double k, double n, double z, double *lo, double *hi);

/* The q quantile (0..1) of n sorted values, linear between neighbours. */
double crm_quantile(const double *sorted, size_t n, double q);

#endif
