/*
 * report.h - a self-contained HTML page of an audit: tables, inline SVG
 * plots, and the history of audits from the database.
 */
#ifndef CRM_REPORT_H
#define CRM_REPORT_H


#include "fairness.h"
#include "util.h"

struct crm_store;

struct crm_report {
	struct crm_buf body;
	double min_ratio;
};

void crm_report_init(struct crm_report *r);
void crm_report_release(struct crm_report *r);

/* A section for one attribute: table, selection rates with intervals,
 * calibration curves, score distributions per group. */
int crm_report_bias(struct crm_report *r, const char *label,
		    const struct crm_fair *f, unsigned fail_on);
/* An override in force or a what-if result, as the JSON line printed. */
int crm_report_override(struct crm_report *r, const char *json);
int crm_report_whatif(struct crm_report *r, const char *json);
/* The history of audits of kind (and entity) over time. */
int crm_report_history(struct crm_report *r, struct crm_store *db, const char *kind,
		       const char *entity, struct crm_err *e);

/* Write the page to path (whole or not at all). */
int crm_report_write(const struct crm_report *r, const char *path,
		     const char *title, struct crm_err *e);

#endif
