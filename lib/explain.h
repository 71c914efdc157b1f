/*
 * explain.h - a feature's value and its part in a score, as a sentence a
 * sales rep can read.
 */
#ifndef CRM_EXPLAIN_H
#define CRM_EXPLAIN_H

#include <pthread.h>

#include <jansson.h>

#include "store/store.h"

#include "features.h"
#include "model.h"
#include "util.h"

/*
 * Append to b the sentence for feature j of d with value v (a category
 * code for categories): "Visited the pricing page 3 times in the last 7
 * days", "Job title CEO: similar deals were won 71% of the time (46%
 * overall)". cat_value is the category name behind a history feature's
 * record (NULL if none).
 */
int crm_explain_sentence(struct crm_buf *b, const struct crm_dataset *d,
			 size_t j, float v, const char *cat_value);

/* A number as a person writes it: "1,250", "3.4 million"; no exponent. */
int crm_human_number(struct crm_buf *b, double v);

/* Who a record is, for a person reading: a lead's name and company, a
 * deal's name, account and contact; its owner. Sealed names opened. */
struct crm_label {
	char name[160], company[160], owner[96], contact[160];
};

/* The label of record id of type t: 1 found, 0 no such record, -1 e. */
int crm_explain_label(struct crm_store *db, const struct crm_entity *t, const char *id,
		      struct crm_label *l, struct crm_err *e);

/* The same added to the record o by its "id" (as name, company and
 * owner), for a person reading a table; nothing when not found. */
void crm_explain_label_add(struct crm_store *db, json_t *o);

enum {
	CRM_EXPLAIN_TABLE = 1,	/* table lines, not an NDJSON object */
	CRM_EXPLAIN_NEXT = 2,	/* with the next best action (needs db) */
	CRM_EXPLAIN_UNNAMED = 4,	/* not named: no name, company or owner */
};

/*
 * Explain row i of d under model m: a sentence a rep could repeat (who,
 * how likely against a typical record, the reasons for and against) and
 * the top factors by TreeSHAP, one line per fact (a category and its
 * history rate together), as one NDJSON object ({"type":"explanation",
 * ...}) or a few table lines appended to b. With db, the record is named
 * (name, company, owner), and with CRM_EXPLAIN_NEXT the next best action
 * follows.
 */
int crm_explain_record(struct crm_store *db, const struct crm_model *m,
		       const struct crm_dataset *d, size_t i, size_t top,
		       int flags, struct crm_buf *b, struct crm_err *e);

/*
 * Explain record id of m's type as it is now (crm_dataset_build_one with
 * hist, the history rates, then crm_explain_record); lock, if not NULL,
 * is held while the model runs. 0 explained, 1 no such open record, -1
 * with e.
 */
int crm_explain_id(struct crm_store *db, const struct crm_model *m, const char *hist,
		   const char *id, size_t top, int flags, pthread_mutex_t *lock,
		   struct crm_buf *b, struct crm_err *e);

/* The strongest reason of row i under m, "+ 7 interactions this week",
 * appended to b: 1, or 0 when nothing moved the score; -1 with e. */
int crm_explain_reason(const struct crm_model *m, const struct crm_dataset *d, size_t i,
		       struct crm_buf *b, struct crm_err *e);

/* The history rates the last scoring run of model stored, or NULL. */
char *crm_explain_history(struct crm_store *db, const char *model);

#endif
