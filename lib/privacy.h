/*
 * privacy.h - data subjects' rights: erasure (GDPR Art. 17, CCPA
 * delete) with crypto-shredding, access and portability (Art. 15/20),
 * adding to the suppression list, retention purges. The audit trail and
 * the suppression list's look-up are below, in trail.h.
 */
#ifndef CRM_PRIVACY_H
#define CRM_PRIVACY_H


#include "store/store.h"
#include "trail.h"
#include "util.h"

struct crm_forget {
	long long request;	/* subject_requests id */
	long long contacts, interactions, transcripts, tasks, scores,
		  events, merges, reviews, deliveries, deals_unlinked,
		  keys_shredded, suppressed;
	int checkpointed;	/* the log was emptied into the file */
	double ms;
};

/*
 * Erase everything held about SUBJECT (an email, a phone or a contact id,
 * with every record merged into it): shred their data keys, delete their
 * rows, interactions, transcripts, tasks, scores, merges and events,
 * unlink their deals, put their email and phone on the suppression list,
 * record the request with its receipt (receipt_json, a JSON object) and
 * checkpoint the log so no freed page keeps their bytes. 0, or 1 when
 * nothing matches SUBJECT (with dry_run: counts only).
 */
int crm_forget(struct crm_store *db, const char *subject, const char *actor,
	       int dry_run, struct crm_forget *f, struct crm_buf *receipt_json,
	       struct crm_err *e);

/*
 * Everything held about SUBJECT as NDJSON records, one emit() per record:
 * the subject's contacts, deals, interactions, transcripts, tasks, scores,
 * merges, events and audit entries. 1 when nothing matches.
 */
int crm_subject_export(struct crm_store *db, const char *subject, const char *actor,
		       int (*emit)(void *ctx, const char *rec, size_t n),
		       void *ctx, struct crm_err *e);

struct crm_purge_rule {
	const char *kind;	/* interactions, transcripts, leads, events, deliveries */
	double days;
};
struct crm_purge {
	long long interactions, transcripts, leads, events, deliveries;
};
/* Delete what is past its retention period (rules with days > 0). */
int crm_purge(struct crm_store *db, const struct crm_purge_rule *rules, size_t n,
	      const char *actor, int dry_run, struct crm_purge *p,
	      struct crm_err *e);

#endif
