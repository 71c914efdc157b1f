/*
 * merge.h - merging duplicate records, and undoing it.
 *
 * A merge keeps one record (the survivor), fills its empty fields from the
 * other, moves the other's links (deals, interactions, tasks, contacts of
 * an account) to it, and points the other at it with merged_into, so its
 * id and its (source, external id) still resolve. Everything it changed
 * is recorded in the merges table with a snapshot, and crm_merge_undo()
 * puts it back, keeping any edits made to the survivor since.
 */
#ifndef CRM_MERGE_H
#define CRM_MERGE_H

#include "entity.h"
#include "store/store.h"
#include "id.h"
#include "util.h"

struct crm_merge_info {
	double probability, weight;	/* of the pair; NAN if unknown */
	const char *reason;		/* "auto", "review" or "manual" */
	const char *actor;		/* who, for the audit trail; NULL: this process */
};

/*
 * Merge records a and b of type t. The survivor is the more complete of
 * the two (then the older). Two different owners: the owner of the record
 * created first stays, and the merge goes to the audit trail as
 * "merge-across-owners" (automatic merges never get here: crm_dedupe_apply
 * sends such pairs to review). Runs in a savepoint: on failure nothing
 * changed (its own transaction, or a savepoint in the
 * caller's). *merge_id (CRM_ID_MAX bytes) receives the merge's id and
 * *survivor the survivor's. Returns 0, or -1 with e: CRM_EDATA when a or b
 * does not exist or was already merged away.
 */
int crm_merge(struct crm_store *db, const struct crm_entity *t, const char *a,
	      const char *b, const struct crm_merge_info *info,
	      char *merge_id, char *survivor, struct crm_err *e);

/*
 * Undo merge merge_id: the merged record comes back as it was, with its
 * links; each survivor field the merge changed gets its old value unless
 * it was edited since. Refused (CRM_EDATA) when the survivor was itself
 * merged away later: undo that merge first.
 */
int crm_merge_undo(struct crm_store *db, const char *merge_id, struct crm_err *e);

/* Every merge made, oldest first, as rows (id, entity, survivor_id,
 * merged_id, probability, weight, reason, status, decisions, created_at,
 * undone_at). */
int crm_merge_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e);

/*
 * Follow id (CRM_ID_MAX bytes) of type t to the record it was merged into,
 * through any chain of merges: id becomes the live survivor. 1 when id is
 * live itself, 2 when it was merged (id changed), 0 when there is no such
 * record, -1 on a database error.
 */
int crm_merge_survivor(struct crm_store *db, const struct crm_entity *t, char *id);

#endif
