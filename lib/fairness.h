/*
 * fairness.h - group fairness of a model's scores, with bootstrap
 * intervals and verdicts.
 *
 * Two populations may be given, each row tagged: the records the model
 * selects from now (CRM_FAIR_SEL: selection rate, disparate impact,
 * demographic parity, score distribution) and records whose outcome is
 * known (CRM_FAIR_OUT: true and false positive rates at the same
 * operating point, calibration). A row may be in both.
 *
 * Every judged metric depends on a group's counts only, so a bootstrap
 * resample of rows is drawn as multinomial counts over (group, cell):
 * the same distribution as resampling rows, at the cost of the number of
 * groups, not of rows.
 */
#ifndef CRM_FAIRNESS_H
#define CRM_FAIRNESS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CRM_FAIR_SEL 1
#define CRM_FAIR_OUT 2

/* Metrics, as bits of a verdict. */
enum {
	CRM_FAIR_RATIO = 1,		/* disparate impact ratio */
	CRM_FAIR_PARITY = 2,		/* demographic parity difference */
	CRM_FAIR_TPR = 4,		/* equal opportunity difference */
	CRM_FAIR_FPR = 8,		/* false positive rate difference */
	CRM_FAIR_CALIB = 16,		/* observed minus predicted */
};
#define CRM_FAIR_DEFAULT (CRM_FAIR_RATIO | CRM_FAIR_PARITY | CRM_FAIR_TPR | CRM_FAIR_FPR)

/* Name of one metric bit ("disparate_impact"...), or NULL. */
const char *crm_fair_metric_name(unsigned bit);
/* Bits of a comma-separated list ("ratio,parity", "all", "none"); -1 if bad. */
long crm_fair_parse_metrics(const char *list);

struct crm_fair_opts {
	double threshold;	/* a row is selected when p >= threshold */
	double min_ratio;	/* 0.8: the four-fifths rule */
	double max_diff;	/* 0.1 */
	double confidence;	/* 0.95 */
	int resamples;		/* bootstrap resamples (1000); 0: none */
	size_t min_group;	/* fewer rows than this: flagged, not judged (30) */
	size_t min_class;	/* TPR/FPR need this many positives/negatives (10) */
	uint64_t seed;
};

void crm_fair_opts_default(struct crm_fair_opts *o);

/* A value with its interval; NAN when it cannot be measured. */
struct crm_fair_est {
	double v, lo, hi;
};

#define CRM_FAIR_BINS 10

struct crm_fair_group {
	const char *name;
	/* selection population */
	size_t n, selected;
	double score_sum;		/* of probabilities */
	size_t hist[CRM_FAIR_BINS];	/* probabilities in tenths */
	/* outcome population */
	size_t labelled, tp, fn, fp, tn;
	double pred_sum;
	double cal_pred[CRM_FAIR_BINS], cal_obs[CRM_FAIR_BINS];
	size_t cal_n[CRM_FAIR_BINS];
	/* results */
	struct crm_fair_est rate, ratio, parity, tpr, tpr_diff, fpr, fpr_diff, calib;
	int small;			/* too few rows to judge */
	unsigned violations;		/* CRM_FAIR_* bits */
};

struct crm_fair {
	struct crm_fair_group *g;
	size_t ng;
	long ref;			/* most favoured judged group, or -1 */
	size_t nsel, nout;
	/* over judged groups: max - min selection rate, min / max, and the
	 * larger of the TPR and FPR ranges (Fairlearn's summaries) */
	double dp_difference, dp_ratio, eo_difference;
};

/*
 * Measure ng groups (names[k] borrowed) over n rows: group[i] < ng, p[i]
 * the probability, role[i] CRM_FAIR_SEL and/or CRM_FAIR_OUT, label[i] 0/1
 * for CRM_FAIR_OUT rows. f is filled (crm_fair_release() frees it).
 */
int crm_fair_measure(struct crm_fair *f, const uint32_t *group, const float *p,
		     const uint8_t *role, const uint8_t *label, size_t n,
		     const char *const *names, size_t ng,
		     const struct crm_fair_opts *o, struct crm_err *e);

void crm_fair_release(struct crm_fair *f);

/*
 * Group k of f as JSON fields added to the object open in b (one is
 * opened if b is empty), which is then closed; no newline. Counts, rates,
 * differences and intervals (null when not measurable), the violations
 * among the metrics in fail_on, and a verdict: violation, ok, small or
 * reference.
 */
int crm_fair_group_json(const struct crm_fair *f, size_t k, unsigned fail_on,
			struct crm_buf *b);

/* Violations of group k among the metrics in fail_on. */
unsigned crm_fair_violations(const struct crm_fair *f, size_t k, unsigned fail_on);

/* The groups of f as a table for a person, under label, appended to b:
 * size, selection rate, impact ratio, TPR and FPR differences (each with
 * its interval) and the verdict (the violated metrics of fail_on). */
int crm_fair_table(struct crm_buf *b, const char *label, const struct crm_fair *f, unsigned fail_on);

#endif
