/*
 * pairmodel.h - a supervised pair model learnt from people's decisions,
 * beside the Fellegi-Sunter weights.
 *
 * Gradient-boosted trees (XGBoost) over each field's level and weight,
 * started from the weights' own log-odds: the trees learn only where the
 * people who decided pairs disagree with the unsupervised model. So that a
 * handful of decisions cannot swing it, it waits for enough of them, is
 * anchored by pairs the weights are sure of, is shallow and regularised,
 * and is used only when it predicts the decisions it was not shown better
 * than the weights do (cross-validated). Trained again from the decisions
 * on every run: the same decisions and seed give the same model.
 */
#ifndef CRM_PAIRMODEL_H
#define CRM_PAIRMODEL_H

#include "linkage.h"
#include "util.h"

#define CRM_PAIRMODEL_MIN 30	/* decisions it waits for */

struct crm_pairmodel {
	/* the trees, flattened: a node splits on feat at cut (yes when
	 * below), or is a leaf (feat < 0) worth cut */
	struct crm_pairnode {
		int feat;
		float cut;
		uint32_t yes, no, miss;
	} *node;
	uint32_t *root;		/* each tree's first node */
	size_t ntrees, nnodes;
	size_t nfields;
	/* how it came about */
	size_t decisions, matches, anchors;
	int rounds;
	double loss_weights, loss_model;	/* log loss on held-out decisions */
	int used;			/* 1: lk->adjust is set to it */
	char why[200];			/* when unused: why */
};

/*
 * Learn from lk->labelled (after crm_linkage_train) and, when it earns
 * its place, set lk->adjust to the model and score lk's pairs again.
 * Unused (pm->used 0, pm->why) is no error. -1 with e on xgboost's or
 * memory's failure.
 */
int crm_pairmodel_learn(struct crm_pairmodel *pm, struct crm_linkage *lk, uint64_t seed,
			struct crm_err *e);

void crm_pairmodel_release(struct crm_pairmodel *pm);

#endif
