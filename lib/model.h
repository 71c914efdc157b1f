/*
 * model.h - training, storing and using the scoring models (XGBoost).
 */
#ifndef CRM_MODEL_H
#define CRM_MODEL_H

#include "store/store.h"
#include <xgboost/c_api.h>

#include "entity.h"
#include "features.h"
#include "id.h"
#include "util.h"

/* Fewest closed records, and of each outcome, a model is trained on. */
#define CRM_MIN_CLOSED 100
#define CRM_MIN_CLASS 20

/* An admin override of a feature, the newest one in force. */
struct crm_override {
	char feature[128];
	char action[16];	/* exclude, scale, monotone */
	double value;
};

#define CRM_MAXOVERRIDES 64

/* An override written "exclude:F", "scale:F=X" (X from 0 to 10),
 * "monotone:F=+1" (or -1) or "clear:F", into o; 0, or -1 with e
 * (CRM_EUSAGE saying what is wrong with it). */
int crm_override_parse(const char *spec, struct crm_override *o, struct crm_err *e);

/* The defaults: at most 400 rounds of trees of depth 5 at eta 0.1, no
 * holdout, seed 1 (CRM_TRAIN_DEFAULTS); a field set after it overrides. */
#define CRM_TRAIN_DEFAULTS .rounds = 400, .depth = 5, .eta = 0.1, .seed = 1

struct crm_train_opts {
	int rounds;		/* most boosting rounds */
	int depth;		/* tree depth */
	double eta;		/* learning rate */
	double holdout;		/* share kept out of training and only measured (0: none) */
	int force;		/* activate even if worse than the active model */
	unsigned seed;
	/* If set: the training data as CSV lines (id, split, label, features),
	 * categories by name, for checking against other tools. */
	int (*dump)(void *ctx, const char *line, size_t len);
	void *dump_ctx;
	/* What-if: overrides applied on top of those in force (a "clear"
	 * removes one), and the model kept in memory, neither stored nor
	 * activated. */
	const struct crm_override *extra;
	size_t nextra;
	int no_store;
	int depth_given;	/* depth was asked for: search only it */
};

struct crm_metrics {
	/* Out-of-fold: every closed record predicted by a model that did
	 * not see it, over K folds. */
	double auc, logloss, brier, base_rate;
	double auc_lo, auc_hi;		/* 95% bootstrap interval of the AUC */
	double base_logloss;		/* the base rate's log loss */
	int signal;			/* the interval excludes chance, log loss beats the base rate */
	int folds, by_time;		/* K; folds in business-time order, else stratified */
	double holdout_auc;		/* on --holdout rows kept out of everything, or NAN */
	int depth;			/* the config chosen */
	double mcw;
	size_t ntrain, ntest, trees;
	double bin_pred[10], bin_obs[10];	/* reliability table */
	size_t bin_n[10];
};

#define CRM_MAXLEAKS 16

struct crm_model {
	char id[CRM_ID_MAX];
	/* Features left out because they are only known at the outcome. */
	char *leak[CRM_MAXLEAKS], *leak_why[CRM_MAXLEAKS];
	size_t nleaks;
	const struct crm_entity *type;
	BoosterHandle booster;
	struct crm_dataset schema;	/* features and categories, no rows */
	struct crm_override ov[CRM_MAXOVERRIDES];	/* in force for this type */
	size_t nov;
	struct crm_metrics metrics;
	/* After training: the holdout's ids, probabilities and outcomes. */
	char **hold_id;
	float *hold_p, *hold_y;
	size_t nhold;
};

void crm_model_init(struct crm_model *m);
void crm_model_release(struct crm_model *m);

/*
 * Train a model for deals or contacts on their closed history, hold out
 * the latest share of it to measure it, store it, and make it the active
 * one unless the active one has a better holdout AUC (or opts->force).
 * *activated says which. The holdout's predictions are kept in m and
 * stored with the model (holdout_scores). Refuses (CRM_EDATA) too little history, saying
 * how much there is and how much is needed.
 */
int crm_model_train(struct crm_store *db, const struct crm_entity *type,
		    const struct crm_train_opts *opts, struct crm_model *m,
		    int *activated, struct crm_err *e);

/*
 * Load a stored model: the active one of type (id NULL) or by id. The blob
 * is checked against its hash before use (CRM_EDATA when damaged).
 */
int crm_model_load(struct crm_store *db, const struct crm_entity *type, const char *id,
		   struct crm_model *m, struct crm_err *e);

/* What a score of a model without signal is said to be, wherever it is
 * shown (explanations, next actions, the leads page). */
#define CRM_NO_SIGNAL_NOTE "the model found no signal in the history: this score does not rank records"
/* Below this cross-validated AUC a model with signal is called weak, and
 * its scores are shown with a note saying so (printf: the AUC). */
#define CRM_WEAK_AUC 0.65
#define CRM_WEAK_NOTE "a weak model (AUC %.2f): it tells records apart only a little; read the reasons more than the score"

/* A trained model as an NDJSON record ({"type":"model","id":...,
 * "active":..., its metrics}), newline ended, appended to b. */
int crm_model_json(struct crm_buf *b, const struct crm_model *m, int activated);

/* The same for a person: a first line ("model ID: N features, ...")
 * and indented ones (AUC, log loss, whether it is active and why not,
 * features left out, the reliability table), appended to b. */
int crm_model_report(struct crm_buf *b, const struct crm_model *m, int activated);

/* Make model id the active one of its type (rollback is this); with
 * kind, only a model of that kind (CRM_EUSAGE else). */
int crm_model_activate(struct crm_store *db, const char *id, const char *kind, struct crm_err *e);

/* The models of entity kind (NULL: every kind), oldest first, as rows
 * (id, entity, active, created_at, attrs: the metrics, payload: the
 * parameters; the last two JSON, as crm_row_json writes them). */
int crm_model_rows(struct crm_store *db, const char *kind, struct crm_stmt **st, struct crm_err *e);
/* The entity kind of model id into kind (n bytes; "" when there is no
 * such model): 0, or -1 with e. */
int crm_model_kind(struct crm_store *db, const char *id, char *kind, size_t n, struct crm_err *e);

/*
 * Probabilities for rows [from, from + n) of a dataset built with the
 * model's schema, into p (n floats).
 */
int crm_model_predict(const struct crm_model *m, const struct crm_dataset *d,
		      size_t from, size_t n, float *p, struct crm_err *e);

/*
 * TreeSHAP contributions of row i of d: c gets nfeat + 1 values in log-odds,
 * one per feature and the bias last; they sum to the row's log-odds.
 */
int crm_model_contribs(const struct crm_model *m, const struct crm_dataset *d,
		       size_t i, float *c, struct crm_err *e);

/*
 * Is name a feature of type t's active model (or, without one, of the
 * records a model would be trained on)? 1, or 0 with up to three close
 * names in near ("" when none), -1 with e.
 */
int crm_feature_known(struct crm_store *db, const struct crm_entity *t, const char *name,
		      struct crm_buf *near, struct crm_err *e);

/*
 * Record an override of feature for type: action "exclude", "scale"
 * (value: factor on the feature's contribution), "monotone" (value +1 or
 * -1: the score may only rise, or only fall, with the feature) or "clear".
 * who and why are required; a feature not known (crm_feature_known) is
 * CRM_EUSAGE, but for "clear".
 */
int crm_override_add(struct crm_store *db, const struct crm_entity *type,
		     const char *feature, const char *action, double value,
		     const char *who, const char *why, struct crm_err *e);
/* An override made, as an NDJSON record (its newline too). */
int crm_override_json(struct crm_buf *b, const char *kind, const char *feature, const char *action);

/*
 * The overrides as rows: those in force (the newest of each feature, not
 * cleared) of entity kind, or of every kind when kind is NULL, by kind
 * and feature, as (entity, feature, action, value, who, why, at); or
 * with all, every override ever made, oldest first, as (id, entity,
 * feature, action, value, who, why, at, in_force): who changed what.
 */
int crm_override_rows(struct crm_store *db, const char *kind, int all, struct crm_stmt **st,
		      struct crm_err *e);

/* Load the overrides in force for type into m->ov. */
int crm_override_load(struct crm_store *db, const struct crm_entity *type,
		      struct crm_model *m, struct crm_err *e);

/*
 * Apply n what-if overrides to m->ov: each replaces the feature's override
 * in force ("clear" removes it). CRM_EUSAGE when there is no room.
 */
int crm_override_apply(struct crm_model *m, const struct crm_override *ov,
		       size_t n, struct crm_err *e);

/*
 * Probabilities with the scale overrides applied: each scaled feature's
 * contribution multiplied by its factor. Same as crm_model_predict()
 * when none is in force.
 */
int crm_model_predict_adjusted(const struct crm_model *m,
			       const struct crm_dataset *d, size_t from,
			       size_t n, float *p, struct crm_err *e);

/*
 * Store probability p as record id's score under model (0-100, rounded),
 * computed at now; the latest score per model is kept. 0, or -1 with e.
 */
int crm_score_put(struct crm_store *db, const char *id, const char *model, double p,
		  const char *now, struct crm_err *e);
/* Record id's stored score under model into *score: 1, 0 when it has
 * none, -1 with e. */
int crm_score_get(struct crm_store *db, const char *id, const char *model, int *score,
		  struct crm_err *e);

/* ROC AUC of probabilities p for labels y (n of them). */
double crm_auc(const float *p, const float *y, size_t n);

#endif
