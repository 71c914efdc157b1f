/*
 * trail.h - the audit trail and the suppression list (see trail.c).
 */
#ifndef CRM_TRAIL_H
#define CRM_TRAIL_H

#include "crypt.h"
#include "store/store.h"
#include "util.h"

/* "cli:USER" for a command run by USER; the API passes "token:NAME". */
void crm_actor_cli(char *out, size_t n);

/*
 * Append to the audit trail: actor did action (import, forget, read...)
 * to entity/entity_id, with detail (a JSON object or NULL). Inside the
 * caller's transaction if one is open, else in one of its own.
 */
int crm_trail_append(struct crm_store *db, const char *actor, const char *action,
		     const char *entity, const char *entity_id,
		     const char *detail, struct crm_err *e);
/* Append n entries at once, in order (one round trip on PostgreSQL). */
struct crm_trail_entry {
	const char *actor, *action, *entity, *entity_id, *detail;
};
int crm_trail_append_all(struct crm_store *db, const struct crm_trail_entry *v, size_t n,
			 struct crm_err *e);

struct crm_trail_verify {
	long long entries;
	long long broken_at;	/* first seq whose hash does not follow, or 0 */
	char head[65];		/* hash of the last entry */
};
/* Recompute the chain. */
int crm_trail_verify(struct crm_store *db, struct crm_trail_verify *v, struct crm_err *e);

/* Is this email or phone ("email", "phone") on the suppression list? */
int crm_suppressed(struct crm_store *db, const char *field, const char *value);

/* The suppression list's keyed hash of an identifier ("email", "phone"). */
int crm_suppress_hash(struct crm_store *db, const char *field, const char *value,
		      char out[CRM_BIDX_MAX], struct crm_err *e);

#endif
