/*
 * checks.h - data-quality and privacy checks with thresholds, for CI and
 * cron gates.
 */
#ifndef CRM_CHECKS_H
#define CRM_CHECKS_H


#include "util.h"

struct crm_store;

enum crm_check_status { CRM_CHECK_PASS, CRM_CHECK_FAIL, CRM_CHECK_SKIP };

struct crm_check {
	const char *name;	/* "invalid.email" */
	const char *what;	/* what it counts */
	int share;		/* value is count / total (else the count) */
	double max;		/* highest passing value */
	int run;		/* chosen to run */
	/* results */
	long long count, total;
	double value;
	enum crm_check_status status;
	char note[200];
};

/* The checks of a kind ("quality" or "privacy"), with default thresholds. */
size_t crm_checks(const char *kind, struct crm_check *out, size_t max);

/* Apply "NAME=X" to the threshold of a check; -1 if no such check or X. */
int crm_check_set_max(struct crm_check *c, size_t n, const char *spec);

/* Retention periods in days, for the privacy checks. */
struct crm_retention {
	double interactions, leads;
	double erasure_days;	/* an erasure request is overdue after */
};

void crm_retention_default(struct crm_retention *r);
/* Apply "KIND=DAYS"; -1 if unknown. */
int crm_retention_set(struct crm_retention *r, const char *spec);

/*
 * Run the chosen checks of c[0..n) against db. key_configured: field
 * encryption is configured (the plaintext check applies). Returns the
 * number failed, or -1 with e.
 */
int crm_checks_run(struct crm_store *db, struct crm_check *c, size_t n,
		   const struct crm_retention *r, int key_configured,
		   struct crm_err *e);

/* Only the checks named in only[0..nonly) run (none given: all);
 * CRM_EUSAGE naming one that kind has not. */
int crm_checks_only(struct crm_check *c, size_t n, const char *kind, const char *const *only,
		    size_t nonly, struct crm_err *e);

/* Check c of audit kind as a JSON object (no newline), appended to b. */
int crm_check_json(struct crm_buf *b, const char *kind, const struct crm_check *c);

/* A run's parameters as stored with it: each check's limit, and the
 * retention. */
int crm_checks_params(struct crm_buf *b, const struct crm_check *c, size_t n,
		      const struct crm_retention *ret);

/* The checks that ran as an HTML table, appended to b. */
int crm_checks_html(struct crm_buf *b, const struct crm_check *c, size_t n);
/* The same as a page of their own, written to path ("Quality audit"). */
int crm_checks_report(const struct crm_check *c, size_t n, const char *kind, const char *path,
		      struct crm_err *e);

/* The checks that ran as a table for a terminal, with a header line. */
int crm_checks_table(struct crm_buf *b, const struct crm_check *c, size_t n);

/* A run's verdict (NDJSON, its newline too): its stored id (NULL: none)
 * and how many checks failed. */
int crm_checks_verdict_json(struct crm_buf *b, const char *kind, const char *id, int failed);

#endif
