/*
 * score-model.c - crm-score's models: train one, list them, activate
 * one, and the weights people set on features.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../lib/privacy.h"
#include "cli.h"
#include "crm-score.h"

const char *const score_subs[] = { "train", "models", "activate", "weight", "weights", NULL };

static int write_dump(void *ctx, const char *line, size_t len)
{
	return fwrite(line, 1, len, ctx) == len ? 0 : -1;
}

/* train: a model, its record, and the report; the rows to dump_path. */
static void train(struct crm_store *db, struct score_model_args *a)
{
	struct crm_model m;
	struct crm_err e = { 0 };
	struct crm_buf b;
	FILE *dump = a->dump_path ? fopen(a->dump_path, "w") : NULL;
	int activated;

	if (a->dump_path && !dump)
		cli_die(CRM_EIO, "%s: %s", a->dump_path, strerror(errno));
	a->o.dump = dump ? write_dump : NULL;
	a->o.dump_ctx = dump;
	crm_model_init(&m);
	crm_buf_init(&b, 0);
	if (crm_model_train(db, a->t, &a->o, &m, &activated, &e) < 0)
		cli_die_err(&e);
	if (dump && fclose(dump) != 0)
		cli_die(CRM_EIO, "%s: %s", a->dump_path, strerror(errno));
	crm_model_json(&b, &m, activated);
	cli_write(b.data, b.len);
	if (!a->quiet) {
		crm_buf_reset(&b);
		crm_model_report(&b, &m, activated);
		cli_log_report(b.data);
	}
	crm_buf_release(&b);
	crm_model_release(&m);
}

/* weight FEATURE: an override set, and said. */
static void weight(struct crm_store *db, const char *feature, struct score_model_args *a)
{
	struct crm_err e = { 0 };
	struct crm_buf b;
	char actor[160];

	if (!a->why)
		cli_die(CRM_EUSAGE, "weight: say why with --why (it is recorded)");
	if (!a->who || !*a->who) {	/* as the audit trail names a command's user */
		crm_actor_cli(actor, sizeof(actor));
		a->who = actor;
	}
	if (crm_override_add(db, a->t, feature, a->action, a->value, a->who, a->why, &e) < 0)
		cli_die_err(&e);
	crm_buf_init(&b, 0);
	crm_override_json(&b, a->t->kind, feature, a->action);
	cli_write(b.data, b.len);
	crm_buf_release(&b);
	if (!a->quiet && strcmp(a->action, "scale"))
		cli_log(CLI_INFO, "takes effect when the next model is trained ('crm-score train')");
}

void score_model(struct crm_store *db, int sub, char **args, int nargs, struct score_model_args *a)
{
	static const char *const model_keys[] = { "id", "entity", "active", "created_at", NULL };
	static const char *const weight_keys[] = { "id", "entity", "feature", "action", "value", "who",
						   "why:30", NULL };
	const char *kind = a->t_given ? a->t->kind : NULL;
	struct crm_err e = { 0 };
	struct crm_stmt *st;

	switch (sub) {
	case SCORE_TRAIN:
		train(db, a);
		break;
	case SCORE_MODELS:	/* metrics and params as JSON columns, written as JSON (row.h) */
		if (crm_model_rows(db, kind, &st, &e) < 0)
			cli_die_err(&e);
		cli_rows(st, cli_row_kind, (void *)"model", model_keys, a->table);
		break;
	case SCORE_ACTIVATE:
		if (nargs != 1)
			cli_die(CRM_EUSAGE, "activate: give one model id (see 'crm-score models')");
		if (crm_model_activate(db, args[0], kind, &e) < 0)
			cli_die_err(&e);
		printf("{\"type\":\"model\",\"id\":\"%s\",\"active\":true}\n", args[0]);
		break;
	case SCORE_WEIGHT:
		if (nargs != 1 || !a->action)
			cli_die(CRM_EUSAGE, "weight: give one FEATURE and --exclude, --scale X, --monotone DIR or --clear");
		weight(db, args[0], a);
		break;
	case SCORE_WEIGHTS:	/* every override ever made, newest last: the audit trail */
		if (crm_override_rows(db, NULL, 1, &st, &e) < 0)
			cli_die_err(&e);
		cli_rows(st, cli_row_kind, (void *)"weight", weight_keys, a->table);
		break;
	}
}
