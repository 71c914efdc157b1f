/*
 * cireport.h - audit results in the forms CI systems read: JUnit XML
 * (Ant's format, which Jenkins, GitLab, GitHub's test reporters and most
 * others take) and GitHub Actions workflow commands.
 */
#ifndef CRM_CIREPORT_H
#define CRM_CIREPORT_H

#include "util.h"

enum crm_ci_format { CRM_CI_JUNIT, CRM_CI_GITHUB };

/*
 * The audit records in ndjson[0..n), as crm-audit writes them (checks,
 * groups of a bias audit, the trail, the run's summary), written as fmt
 * into b. JUnit: one testsuite named suite, a testcase per check or
 * group (a failure carrying its figures; a group too small to judge or a
 * check not run is skipped), the run's summary as properties. GitHub: an
 * error annotation per failure, a warning per skip, a notice with the
 * verdict. host and stamp ("YYYY-MM-DDTHH:MM:SS", UTC) say where and
 * when, secs how long it took. 0, or -1 with e when a line is not JSON.
 */
int crm_ci_report(struct crm_buf *b, enum crm_ci_format fmt, const char *suite,
		  const char *ndjson, size_t n, const char *host, const char *stamp,
		  double secs, struct crm_err *e);

#endif
