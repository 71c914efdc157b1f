/*
 * dedupe.h - acting on linkage results: merge groups, queue the pairs a
 * person should look at, and take their decisions.
 */
#ifndef CRM_DEDUPE_H
#define CRM_DEDUPE_H


#include "linkage.h"
#include "store/store.h"
#include "util.h"

struct crm_dedupe_result {
	size_t merged;		/* records merged into others */
	size_t failed;		/* merges refused (reported through warn) */
	size_t queued;		/* new review entries */
	size_t held;		/* sure pairs of two owners, or of a parent and
				 * its child, sent to review */
};

/*
 * Set to 0 the probability of every pair a person rejected before, so it
 * is neither merged nor queued again.
 */
int crm_dedupe_drop_rejected(struct crm_store *db, struct crm_linkage *lk,
			     struct crm_err *e);

/*
 * A pair a person has open in the review queue (by the records its two
 * records now live on) is theirs to decide: it is not merged, however
 * it scores now (the merges since may have taken away the evidence that
 * held it apart). Its probability is set just under automerge.
 */
int crm_dedupe_hold_open(struct crm_store *db, struct crm_linkage *lk, double automerge,
			 struct crm_err *e);

/* The open review queue, those with a reason first, then the likeliest,
 * as rows (id, entity, a_id, b_id, probability, weight, reason, fields,
 * created_at). */
int crm_dedupe_review_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e);

/*
 * Learn from people: every pair a person accepted or rejected in the
 * review queue is a label (by the levels its fields had then, so merged
 * records still count), refining the weights beside the unsupervised
 * estimate, which outweighs a handful of them (LABEL_PRIOR). Call before
 * crm_linkage_train(); *used counts the decisions taken.
 */
int crm_dedupe_learn_reviews(struct crm_store *db, struct crm_linkage *lk, size_t *used,
			     struct crm_err *e);

/*
 * The m of type's comparison saved by an earlier run (see
 * crm_linkage_m_take): 1 taken into lk, its save time in when (n
 * bytes); 0 none saved, or one of another comparison. Before
 * crm_linkage_train.
 */
int crm_dedupe_model_load(struct crm_store *db, struct crm_linkage *lk, char *when, size_t n,
			  struct crm_err *e);
/* Save lk's m (learnt by this run) for the runs after it. */
int crm_dedupe_model_save(struct crm_store *db, const struct crm_linkage *lk, struct crm_err *e);

/*
 * Merge each group of cluster (from crm_linkage_cluster()) into one record
 * and queue the pairs between review and automerge, between the records
 * that remain, in transactions of a few hundred merges. A merge that is
 * refused is passed to warn (may be NULL) and counted. -1 with e on a
 * database error; merges committed before it stay.
 */
int crm_dedupe_apply(struct crm_store *db, const struct crm_linkage *lk,
		     const uint32_t *cluster, double automerge, double review,
		     void (*warn)(void *ctx, const char *msg), void *ctx,
		     struct crm_dedupe_result *res, struct crm_err *e);

/*
 * What crm_dedupe_apply does with pair p: "merge", "review" or
 * "distinct". A sure pair is "review", and why (n bytes) says so, when
 * its records have two different owners, when one is the other's parent,
 * or when cluster (may be NULL) kept them apart (other pairs across their
 * groups do not hold); else why is "".
 */
const char *crm_dedupe_action(struct crm_store *db, const struct crm_linkage *lk,
			      const struct crm_pair *p, const uint32_t *cluster,
			      double automerge, double review, char *why, size_t n);

/*
 * Append the per-field levels and weights of pair p, as the pair's score
 * counts them, to f as a JSON object; -1 when out of memory.
 */
int crm_dedupe_fields_json(const struct crm_linkage *lk, const struct crm_pair *p,
			   struct crm_buf *f);

/*
 * Accept (merge) or reject an open review entry, in one transaction. On
 * accept, merge_id, survivor and merged (CRM_ID_MAX bytes each) say what
 * happened; merge_id is "" when the two were one record already. -1 with
 * e: CRM_EDATA when there is no such open entry or its records are gone.
 */
int crm_review_decide(struct crm_store *db, const char *review_id, int accept,
		      char *merge_id, char *survivor, char *merged,
		      struct crm_err *e);

#endif
