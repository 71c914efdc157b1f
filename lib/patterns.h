/*
 * patterns.h - segments that win more or less often, or close faster or
 * slower, than the rest: found, tested, and corrected for the number of
 * segments tried.
 */
#ifndef CRM_PATTERNS_H
#define CRM_PATTERNS_H

#include "features.h"
#include "util.h"

struct crm_pattern {
	int a, b;			/* features; b < 0 for one attribute */
	int va, vb;			/* their category codes */
	int measure;			/* 0: win rate, 1: days to close (wins) */
	size_t n, n_rest;		/* support */
	double value, rest;		/* segment and rest: rate or mean days */
	double effect;			/* value / rest - 1 */
	double p, q;			/* test p-value; Benjamini-Hochberg q */
};

/*
 * Test every value of every categorical feature of the closed records of
 * d, and every pair of values of two features, with at least min_support
 * records: the win rate against the rest (two-proportion z-test) and the
 * days to close of the won ones against the rest's (Welch). q-values
 * control the false discovery rate over all tests made. *out gets a new
 * array of those with q <= alpha, largest effect first (free() it).
 */
int crm_patterns(const struct crm_dataset *d, size_t min_support,
		 double alpha, struct crm_pattern **out, size_t *n,
		 size_t *tested, struct crm_err *e);

#endif
