/*
 * dedupe.h - acting on linkage results: merge groups, queue the pairs a
 * person should look at, and take their decisions.
 */
#ifndef CRM_DEDUPE_H
#define CRM_DEDUPE_H


#include <jansson.h>

#include "linkage.h"
#include "pairmodel.h"
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

/* ---- a run -------------------------------------------------------------- */

struct crm_dedupe_opts {
	const struct crm_entity *type;
	const char *fields;	/* "name:cmp,..." (crm_linkage_add_fields), else from the data */
	const char *train;	/* a file of labelled pairs, or NULL */
	double automerge, review;	/* the thresholds */
	uint64_t seed;
	size_t block_cap;	/* 0: the default */
	int learn;		/* from the decisions in the review queue */
	int retrain;		/* not from the model a sound run saved */
	void (*warn)(void *ctx, const char *what);
	void *ctx;
};

struct crm_dedupe_run {
	struct crm_linkage lk;
	uint32_t *cluster;	/* each record's group: its root record */
	float *weakest;		/* each group's weakest link, by root */
	struct crm_pairmodel pm;	/* learnt from decisions, when there were some */
	double before[2];	/* the estimate (precision, recall) before the pair model */
	size_t learnt;		/* labels from decisions in the review queue */
	char saved[40];		/* when the model used was saved, when one was */
	double t0;
};

/* Start a run: the records of o->type and the fields compared. Records
 * not in db may join (crm_dedupe_add_outsiders) before crm_dedupe_fit. */
int crm_dedupe_load(struct crm_store *db, const struct crm_dedupe_opts *o,
		    struct crm_dedupe_run *r, struct crm_err *e);

/*
 * The records among the NDJSON lines[0..n) of the run's type that db
 * does not hold (a dry run upstream, records from elsewhere) join the
 * comparison by their own fields; they are never merged. A record merged
 * away is not one of them: its survivor speaks for it. How many, or -1
 * with e.
 */
long crm_dedupe_add_outsiders(struct crm_store *db, struct crm_dedupe_run *r, char *const *lines,
			      size_t n, struct crm_err *e);

/*
 * The candidate pairs, the model (from labels, decisions in the review
 * queue, the saved model unless retrain, EM), the pairs a person rejected
 * or has open set aside, and the groups. With incoming (the records of a
 * pipe), each incoming record may join its best match only. 0, or -1
 * with e.
 */
int crm_dedupe_fit(struct crm_store *db, const struct crm_dedupe_opts *o, struct crm_dedupe_run *r,
		   int (*incoming)(void *ctx, const char *id), void *ictx, struct crm_err *e);
void crm_dedupe_run_release(struct crm_dedupe_run *r);

/* Pair p of the run, with its action and why, as an NDJSON "match"
 * record (newline ended) appended to b. */
int crm_dedupe_pair_json(struct crm_buf *b, const struct crm_dedupe_run *r,
			 const struct crm_pair *p, const char *action, const char *why);

/*
 * The record o of the run (a JSON object with its "id") gets a
 * "duplicate" key: its most likely match with the probability and the
 * action when at least o->review (else "distinct"), and, unless dry, the
 * record it was merged into. best: crm_dedupe_best's. 0, or -1 with e.
 */
int crm_dedupe_annotate(struct crm_store *db, const struct crm_dedupe_opts *o,
			struct crm_dedupe_run *r, const struct crm_pair *const *best,
			json_t *rec, int dry, struct crm_err *e);
/* Each record's likeliest pair (NULL: none), a new array by record. */
const struct crm_pair **crm_dedupe_best(const struct crm_dedupe_run *r);

/*
 * What the run did and learnt, for a person, appended to b: a first line
 * (records, fields, pairs compared by how many rules, labels, EM, pairs
 * at each threshold, merges: res NULL for a dry run, time), then
 * indented lines: each field's weights, the model's estimates, the pair
 * model's, the groups' and blocking's.
 */
int crm_dedupe_report(struct crm_buf *b, const struct crm_dedupe_opts *o, struct crm_dedupe_run *r,
		      size_t nmerge, size_t nreview, const struct crm_dedupe_result *res);

/*
 * The end of a run: its doubt, if any, into doubt (n bytes; "" when
 * sound), and what a sound --all run (save) learnt of how copies differ
 * saved for the runs after it, which see the copies merged. 0, or -1 with
 * e when it could not be saved.
 */
int crm_dedupe_finish(struct crm_store *db, const struct crm_dedupe_opts *o,
		      struct crm_dedupe_run *r, int save, char *doubt, size_t n, struct crm_err *e);

#endif
