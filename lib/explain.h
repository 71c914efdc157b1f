/*
 * explain.h - a feature's value and its part in a score, as a sentence a
 * sales rep can read.
 */
#ifndef CRM_EXPLAIN_H
#define CRM_EXPLAIN_H

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

/*
 * Explain row i of d under model m: the top factors by TreeSHAP with their
 * sentences, as one NDJSON object ({"type":"explanation",...}) or a few
 * table lines appended to b. With db, also the next best action.
 */
int crm_explain_record(struct crm_store *db, const struct crm_model *m,
		       const struct crm_dataset *d, size_t i, size_t top,
		       int table, struct crm_buf *b, struct crm_err *e);

/* The history rates the last scoring run of model stored, or NULL. */
char *crm_explain_history(struct crm_store *db, const char *model);

#endif
