/*
 * dedupe-review.c - crm-dedupe's decisions: the review queue and the
 * merges made, a pair accepted or rejected, a merge undone, two records
 * merged by hand.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../lib/dedupe.h"
#include "../lib/merge.h"
#include "cli.h"
#include "crm-dedupe.h"

const char *const dedupe_subs[] = { "review", "merges", "accept", "reject", "undo", "merge", NULL };

static const char *const row_keys[] = { "id", "a_id", "b_id", "survivor_id", "merged_id",
					"probability", "reason", NULL };

/* review or merges: the review queue or the merges made, as rows of kind. */
static int cmd_list(int (*rows)(struct crm_store *db, struct crm_stmt **st, struct crm_err *e),
		    const char *kind, int table)
{
	struct crm_store *db = cli_open(CRM_STORE_READONLY);
	struct crm_err e = { 0 };
	struct crm_stmt *st;

	if (rows(db, &st, &e) < 0)
		cli_die_err(&e);
	cli_rows(st, cli_row_kind, (void *)kind, row_keys, table);
	crm_store_close(db);
	return cli_finish(0);
}

/* accept or reject review ids. */
static int cmd_decide(int accept, int argc, char **argv)
{
	struct crm_store *db = cli_open(0);
	struct crm_err e = { 0 };
	int status = 0;

	if (argc < 1)
		cli_die(CRM_EUSAGE, "%s: give review ids (see 'crm-dedupe review')",
			accept ? "accept" : "reject");
	for (int i = 0; i < argc; i++) {
		char mid[CRM_ID_MAX], surv[CRM_ID_MAX], merged[CRM_ID_MAX];

		if (crm_review_decide(db, argv[i], accept, mid, surv, merged, &e) < 0) {
			if (e.code != CRM_EDATA)
				cli_die_err(&e);
			cli_warn("%s", e.msg);
			status = e.code;
			continue;
		}
		if (accept)
			printf("{\"type\":\"merge\",\"id\":\"%s\",\"review\":\"%s\",\"survivor_id\":\"%s\",\"merged_id\":\"%s\"}\n",
			       mid[0] ? mid : "-", argv[i], surv, merged);
	}
	crm_store_close(db);
	return cli_finish(status);
}

static int cmd_undo(int argc, char **argv)
{
	struct crm_store *db = cli_open(0);
	struct crm_err e = { 0 };
	int status = 0;

	if (argc < 1)
		cli_die(CRM_EUSAGE, "undo: give merge ids (see 'crm-dedupe merges')");
	for (int i = 0; i < argc; i++) {
		if (crm_store_begin(db, &e) < 0)
			cli_die_err(&e);
		if (crm_merge_undo(db, argv[i], &e) < 0) {
			crm_store_rollback(db);
			cli_warn("undo %s: %s", argv[i], e.msg);
			status = e.code;
			continue;
		}
		if (crm_store_commit(db, &e) < 0)
			cli_die_err(&e);
		printf("{\"type\":\"merge\",\"id\":\"%s\",\"status\":\"undone\"}\n", argv[i]);
	}
	crm_store_close(db);
	return cli_finish(status);
}

static int cmd_merge(int argc, char **argv)
{
	struct crm_store *db = cli_open(0);
	struct crm_err e = { 0 };
	struct crm_merge_info info = { NAN, NAN, "manual", NULL };
	char mid[CRM_ID_MAX], surv[CRM_ID_MAX];
	const struct crm_entity *t;

	if (argc != 2)
		cli_die(CRM_EUSAGE, "merge: give two record ids");
	t = crm_entity_by_id(argv[0]);
	if (!t || t != crm_entity_by_id(argv[1]))
		cli_die(CRM_EUSAGE, "merge: '%s' and '%s' are not records of one type", argv[0], argv[1]);
	if (crm_store_begin(db, &e) < 0 ||
	    crm_merge(db, t, argv[0], argv[1], &info, mid, surv, &e) < 0 ||
	    crm_store_commit(db, &e) < 0) {
		crm_store_rollback(db);
		cli_die_err(&e);
	}
	printf("{\"type\":\"merge\",\"id\":\"%s\",\"survivor_id\":\"%s\",\"merged_id\":\"%s\"}\n",
	       mid, surv, strcmp(surv, argv[0]) ? argv[0] : argv[1]);
	crm_store_close(db);
	return cli_finish(0);
}

int dedupe_review(int sub, char **args, int nargs, int table)
{
	switch (sub) {
	case DEDUPE_REVIEW:
	case DEDUPE_MERGES:
		if (nargs)
			cli_die(CRM_EUSAGE, "%s: takes no arguments", dedupe_subs[sub]);
		return sub == DEDUPE_REVIEW ? cmd_list(crm_dedupe_review_rows, "review", table) :
					      cmd_list(crm_merge_rows, "merge", table);
	case DEDUPE_ACCEPT:
	case DEDUPE_REJECT:
		return cmd_decide(sub == DEDUPE_ACCEPT, nargs, args);
	case DEDUPE_UNDO:
		return cmd_undo(nargs, args);
	default:
		return cmd_merge(nargs, args);
	}
}
