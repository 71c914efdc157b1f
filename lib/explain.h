/*
 * explain.h - a feature's value and its part in a score, as a sentence a
 * sales rep can read.
 */
#ifndef CRM_EXPLAIN_H
#define CRM_EXPLAIN_H

#include "features.h"
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

#endif
