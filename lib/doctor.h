/*
 * doctor.h - crm's self-check: the database (it opens, its schema, its
 * pages, its log), the key file and key store, the active models
 * (signal, age, how their predictions hold up since), disk space, the
 * speech model, the language-model server and PostgreSQL's version.
 */
#ifndef CRM_DOCTOR_H
#define CRM_DOCTOR_H

#include "util.h"

enum crm_doctor_status { CRM_DOC_OK, CRM_DOC_WARN, CRM_DOC_FAIL, CRM_DOC_SKIP };

struct crm_doctor_check {
	const char *name;	/* "database.schema" */
	enum crm_doctor_status status;
	char detail[512];	/* what was found, and what to do about it */
};

struct crm_doctor_opts {
	const char *target;	/* the database (crm_store_target's) */
	const char *key_file;	/* the master key file, or NULL for none */
	const char *llm_url;	/* the language-model server, or NULL */
	const char *llm_key;	/* its API key, or NULL */
	const char *speech_dir;	/* the speech model, or NULL for the default */
	double model_days;	/* a model older than this is stale (90) */
	double wal_mib;		/* an SQLite log larger than this is held back (256) */
};

/* The name of a status: "ok", "warn", "fail", "skip". */
const char *crm_doctor_status_name(enum crm_doctor_status s);

/*
 * Run every check in order, handing each to emit as it is made (emit's
 * non-zero return stops the run). Returns how many failed, or -1 when
 * emit stopped it. Checks that need the database are skipped, saying
 * why, when it does not open.
 */
int crm_doctor_run(const struct crm_doctor_opts *o,
		   int (*emit)(void *ctx, const struct crm_doctor_check *c), void *ctx);

#endif
