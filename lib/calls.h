/*
 * calls.h - a transcribed call into the database: the call interaction,
 * its compressed transcript and analysis, and the tasks it gives.
 *
 * Everything for one call is one transaction, keyed by the hash of the
 * input file: processing the same file again changes nothing and creates
 * no second call or task. Rep-owned action items become open tasks for the
 * owner of the deal or contact; customer-owned ones become tasks titled
 * "Waiting on customer: ..." (attrs.waiting_on = "customer"), so the rep
 * sees what to chase; a hesitant call adds a follow-up task.
 */
#ifndef CRM_CALLS_H
#define CRM_CALLS_H

#include <time.h>

#include "callan.h"
#include "id.h"
#include "transcript.h"
#include "util.h"

struct crm_store;

struct crm_call_in {
	const char *file;	/* name shown and stored */
	const char *sha;	/* hex hash of the input bytes */
	const char *format;	/* "wav", "vtt", ... */
	const char *engine;	/* "sphinx", "http", or NULL for transcripts */
	const char *contact;	/* id or email, or NULL */
	const char *deal;	/* id, or NULL */
	time_t call_time;
	int no_tasks;
	const struct crm_transcript *t;
	const struct crm_analysis *a;
};

struct crm_call_out {
	char interaction[CRM_ID_MAX];
	char contact[CRM_ID_MAX];	/* "" when none */
	char deal[CRM_ID_MAX];
	char owner[128];		/* whose queue the tasks went to */
	int existed;			/* the file was processed before */
	int tasks_new;
	int tasks_waiting;		/* of them, waiting on the customer */
};

int crm_call_store(struct crm_store *db, const struct crm_call_in *in, struct crm_call_out *out,
		   struct crm_err *e);

/*
 * Who the call of in (its contact and deal) is between, as the records
 * name them: the first name of the rep (the first word of the owner the
 * tasks would go to) and of the contact, each "" when the records do not
 * say. For the summary of a recording whose speakers are not labelled. A
 * contact or deal that is not there is crm_call_store's to report: here
 * it names no one. -1 with e only when the database fails.
 */
int crm_call_people(struct crm_store *db, const struct crm_call_in *in, char *rep, size_t nrep,
		    char *customer, size_t ncustomer, struct crm_err *e);

/*
 * A stored transcript's cells as they are read (body: the zstd blob, or
 * a sealed cell; analysis: JSON, or the sealed cell as a JSON string):
 * the utterances' JSON into utt and the analysis's into an (either may
 * be NULL), opened with the database's key, decompressed, NUL-terminated.
 */
int crm_call_open(struct crm_store *db, const char *interaction, const void *body, size_t nbody,
		  const char *analysis, size_t nanalysis, struct crm_buf *utt,
		  struct crm_buf *an, struct crm_err *e);
/* The stored transcript of a call interaction (decompressed, opened). */
int crm_call_transcript(struct crm_store *db, const char *interaction, struct crm_transcript *t,
			char **analysis, struct crm_err *e);

/* What a call's file says of it: its name (an email or a c_/d_ id, a
 * date and time), and its sidecar "NAME.meta.json" (contact or email,
 * deal, rep, at or started_at), which says more than the name. */
struct crm_call_hints {
	char contact[256], deal[CRM_ID_MAX], rep[128];
	time_t at;		/* 0 when neither says */
};
void crm_call_name_hints(const char *path, struct crm_call_hints *h);
/* The sidecar's path (allocated; NULL when out of memory). */
char *crm_call_sidecar(const char *path);
/* Read the sidecar of path into h when there is one: 0, or -1 with e
 * naming the sidecar, its line and what is wrong. */
int crm_call_sidecar_hints(const char *path, struct crm_call_hints *h, struct crm_err *e);
/* "2026-11-20", "2026-11-20T10:30", "2026-11-20 10:30:00Z" as UTC: 0, or
 * -1 when it is none of these. */
int crm_call_time(const char *s, time_t *t);

/*
 * One processed call of path, as a person reads it (crm_call_text: lines
 * appended to b) and as a record (crm_call_json: one JSON object, no
 * newline, allocated): what was stored (out; NULL for a dry run), the
 * analysis, and with transcript the utterances. -1 or NULL when out of
 * memory.
 */
int crm_call_text(struct crm_buf *b, const char *path, const struct crm_transcript *t,
		  const struct crm_analysis *a, const struct crm_call_out *out, int transcript);
char *crm_call_json(const char *path, const struct crm_transcript *t, const struct crm_analysis *a,
		    const struct crm_call_out *out, const char *fmt, const char *engine,
		    int transcript);

#endif
