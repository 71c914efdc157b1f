/*
 * crm-score.h - what crm-score's model subcommands are given.
 */
#ifndef CRM_SCORE_CMD_H
#define CRM_SCORE_CMD_H

#include "../lib/model.h"
#include "../lib/store/store.h"

/* The subcommands, in this order; any other argument is a file of
 * records to score. */
extern const char *const score_subs[];
enum { SCORE_TRAIN, SCORE_MODELS, SCORE_ACTIVATE, SCORE_WEIGHT, SCORE_WEIGHTS };

struct score_model_args {
	const struct crm_entity *t;
	int t_given, quiet, table;
	struct crm_train_opts o;		/* train */
	const char *dump_path;
	const char *action, *who, *why;		/* weight */
	double value;
};

/* Run subcommand sub with its arguments args[0..nargs). */
void score_model(struct crm_store *db, int sub, char **args, int nargs, struct score_model_args *a);

#endif
