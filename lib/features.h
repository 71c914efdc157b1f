/*
 * features.h - turning deals and leads into model features, as of a time.
 *
 * Each record is described as it stood at its as-of time: a closed
 * record at the moment its outcome was known (closed_at, outcome_at), an
 * open one now. Nothing from after that moment is used, neither its own
 * interactions nor other records' outcomes, so what a model learns from
 * history is what it can know when it scores an open record.
 */
#ifndef CRM_FEATURES_H
#define CRM_FEATURES_H

#include "entity.h"
#include "store/store.h"
#include "util.h"

#define CRM_MAXFEAT 96
#define CRM_MAXCATS 64		/* distinct values kept per category */

enum crm_feat_kind { CRM_FEAT_NUM, CRM_FEAT_CAT };

struct crm_feature {
	char *name;		/* "amount", "account.industry", "visits_pricing_7d" */
	enum crm_feat_kind kind;
	char *source;		/* SQL-free description of where it comes from */
	char *cats[CRM_MAXCATS];	/* category values; code = index; last is "(other)" */
	size_t ncats;
};

struct crm_dataset {
	const struct crm_entity *type;	/* deal or contact */
	size_t n, nfeat;
	struct crm_feature feat[CRM_MAXFEAT];
	float *x;		/* n * nfeat, NAN when missing */
	float *y;		/* 1 won/converted, 0 lost, NAN open */
	char **id;		/* record ids */
	char **asof;		/* as-of times, ISO 8601 */
	float *days;		/* closed records: days from creation to the outcome */
	double base_rate;	/* share of wins among closed records */
	size_t nclosed;
	const char *only_id;	/* set before building: just this record */
	int only_listed;	/* or the records listed in temp.crm_only */
	size_t *byid, nbyid;	/* rows sorted by id, for refreshes */
};

void crm_dataset_init(struct crm_dataset *d, const struct crm_entity *type);
void crm_dataset_release(struct crm_dataset *d);

/*
 * Build the features of every live record of the type (deal or contact)
 * as of its own time. now is the as-of time of open records (NULL: the
 * current time). With a schema (a previous dataset's features, for
 * scoring with a trained model) the same features and category codes are
 * used; unknown categories become "(other)".
 */
int crm_dataset_build(struct crm_dataset *d, struct crm_store *db, const char *now,
		      const struct crm_dataset *schema, struct crm_err *e);

/*
 * Recompute, as of now, the features of record id in d (built with the
 * same schema): its fields and engagement; its history features, which
 * change only when records close, stay. A record not in d is appended.
 * *row gets its row. 0, or -1 with e (CRM_EDATA: no such live record).
 */
int crm_dataset_refresh(struct crm_dataset *d, struct crm_store *db, const char *id,
			const char *now, size_t *row, struct crm_err *e);

/*
 * The history features of open records (the win rates over all closed
 * history, per category code) as JSON into b:
 *   {"history.product": {"0": 0.51, "3": 0.62}, ...}
 * crm_dataset_set_history() applies such a table to rows built one by
 * one, so they get what a full build would give them.
 */
int crm_dataset_history_json(const struct crm_dataset *d, struct crm_buf *b);
int crm_dataset_set_history(struct crm_dataset *d, const char *json,
			    struct crm_err *e);

/*
 * Build d (initialised here, released by the caller) with just record id
 * as of now, with schema's features and, if hist is not NULL, the history
 * rates a scoring run stored (crm_dataset_history_json), so the row is
 * what a full build would give it. 0, 1 when id is no live record of
 * type, -1 with e.
 */
int crm_dataset_build_one(struct crm_dataset *d, struct crm_store *db, const struct crm_entity *type,
			  const char *id, const struct crm_dataset *schema,
			  const char *hist, struct crm_err *e);

/*
 * Build d (initialised here) with the live records among ids[0..n) as of
 * now: crm_dataset_build_one for a chunk of records at once. Ids that are
 * no live record of type are left out (find rows with crm_dataset_row).
 */
int crm_dataset_build_ids(struct crm_dataset *d, struct crm_store *db, const struct crm_entity *type,
			  const char *const *ids, size_t n, const struct crm_dataset *schema,
			  const char *hist, struct crm_err *e);

/*
 * Sort n row indexes of d by as-of time, then by row (input order): the
 * order records learn from each other in, and the holdout split's.
 */
void crm_dataset_sort_asof(const struct crm_dataset *d, size_t *idx, size_t n);

/* Row of record id in d (by the id index), or -1. */
long crm_dataset_row(struct crm_dataset *d, const char *id);

/* Build the id index refreshes use (else built by the first one); 0 or -1. */
int crm_dataset_index(struct crm_dataset *d);

/* Remove feature j from the dataset (columns shift left). */
void crm_dataset_drop(struct crm_dataset *d, size_t j);

/* Index of a feature by name, or -1. */
int crm_dataset_feature(const struct crm_dataset *d, const char *name);

#endif
