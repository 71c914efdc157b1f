/*
 * crm-score - train lead and deal scoring models on won/lost history, and
 * score the open records.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/explain.h"
#include "../lib/model.h"
#include "../lib/scoring.h"
#include "../lib/ndjson.h"
#include "../lib/privacy.h"
#include "cli.h"
#include "crm-score.h"
#include "../lib/store/store.h"

enum { O_ALL = 256, O_HOLDOUT, O_ROUNDS, O_DEPTH, O_ETA, O_FORCE, O_SEED,
       O_EXCLUDE, O_SCALE, O_MONOTONE, O_CLEAR, O_WHY, O_WHO, O_FOLLOW, O_ONCE,
       O_FROM, O_DUMP };

static const struct cli_opt opts[] = {
	{ "type", 't', "TYPE", "deal (default) or contact" },
	{ "all", O_ALL, NULL, "score every open record (the default on a terminal)" },
	{ "holdout", O_HOLDOUT, "SHARE", "train: keep this share out of everything and measure on it (default 0: none)" },
	{ "rounds", O_ROUNDS, "N", "train: most boosting rounds (default 400; cross-validation chooses)" },
	{ "depth", O_DEPTH, "N", "train: tree depth (default: searched, 4 or 6)" },
	{ "eta", O_ETA, "X", "train: learning rate (default 0.1)" },
	{ "seed", O_SEED, "N", "train: random seed (default 1)" },
	{ "force", O_FORCE, NULL, "train: activate the new model even if it is worse" },
	{ "dump-features", O_DUMP, "FILE", "train: also write the training rows as CSV" },
	{ "exclude", O_EXCLUDE, NULL, "weight: leave the feature out of training and scoring" },
	{ "scale", O_SCALE, "X", "weight: multiply the feature's contribution by X" },
	{ "monotone", O_MONOTONE, "DIR", "weight: score may only rise (+1) or fall (-1) with it" },
	{ "clear", O_CLEAR, NULL, "weight: remove the feature's override" },
	{ "why", O_WHY, "TEXT", "weight: the reason, recorded (required)" },
	{ "who", O_WHO, "NAME", "weight: who decides (default: $USER)" },
	{ "follow", O_FOLLOW, NULL, "rescore records as events arrive, printing changed scores" },
	{ "once", O_ONCE, NULL, "follow: handle the events waiting and stop" },
	{ "from-seq", O_FROM, "SEQ", "follow: start after event SEQ (default: where the last run stopped)" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ "quiet", 'q', NULL, "no summary on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-score", "[-t TYPE] [--all | < records.ndjson]\n"
	"       crm-score train [-t TYPE] [--holdout SHARE] [--force]\n"
	"       crm-score models | activate MODEL_ID\n"
	"       crm-score weight FEATURE --exclude|--scale X|--monotone DIR|--clear --why TEXT\n"
	"       crm-score weights",
	"Score open deals or leads with a model trained on their won/lost history.",
	opts,
};

static int table = -1;	/* -f: a table of scores, else NDJSON */
static int header_done;
static struct crm_store *names_db;	/* where the table's names are read */

/* A record out: its NDJSON line, or a line of the table on a terminal,
 * where a person reads who the record is before its id. */
static int out_record(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	static const char *const keys[] = { "rank:5", "score:6", "name:20", "company:20", "owner:14", "id:19",
					    "why", NULL };

	if (table) {
		json_t *o = json_loadb(line, len, 0, NULL);

		if (names_db)
			crm_explain_label_add(names_db, o);
		if (json_object_get(o, "reason") && !json_object_get(o, "why"))	/* not scored */
			json_object_set(o, "why", json_object_get(o, "reason"));
		cli_table_object(o, keys, &header_done);
		json_decref(o);
		return 0;
	}
	if (cli_write(line, len) < 0)
		return -1;
	return len && line[len - 1] == '\n' ? 0 : cli_write("\n", 1);
}

/*
 * Records from files or stdin: each of the type is scored as it is when
 * it arrives (a chunk at a time) and gets score, probability and model
 * keys, or "score": null and the reason; a merged id is scored as its
 * survivor, with merged_into. Everything else passes through.
 */
static int cmd_score_stream(struct crm_store *db, const struct crm_entity *t, int quiet,
			    char **files, int nfiles)
{
	struct crm_scoring sc;
	struct crm_err e = { 0 };
	struct cli_in in;
	struct crm_buf b;

	if (crm_scoring_open(&sc, db, t, &e) < 0)
		cli_die_err(&e);
	crm_buf_init(&b, 0);
	cli_in_init(&in, files, nfiles);
	while (cli_in_chunk(&in, 1000))
		if (crm_scoring_lines(&sc, db, in.line, in.len, in.n, out_record, NULL, &e) != 0) {
			if (e.code)
				cli_die_err(&e);
			break;	/* the reader went away */
		}
	if (crm_scoring_flush(&sc, db, &e) < 0)
		cli_die_err(&e);
	if (!quiet) {
		crm_buf_reset(&b);
		crm_scoring_summary(&b, &sc);
		cli_log(CLI_INFO, "%s", b.data);
	}
	cli_in_release(&in);
	crm_buf_release(&b);
	crm_scoring_release(&sc);
	return 0;
}

static int cmd_score(struct crm_store *db, const struct crm_entity *t, int quiet)
{
	struct crm_scoring_run r;
	struct crm_err e = { 0 };
	struct crm_buf b;
	double t0 = crm_now();

	if (crm_scoring_run(db, t, &r, &e) < 0)
		cli_die_err(&e);
	crm_buf_init(&b, 0);
	for (size_t k = 0; k < r.nopen; k++) {
		crm_buf_reset(&b);
		if (crm_scoring_run_json(&b, &r, k, table, &e) < 0)	/* a person reads why, too */
			cli_die_err(&e);
		if (out_record(NULL, b.data, b.len) < 0)
			break;
	}
	if (!quiet)
		cli_log(CLI_INFO, "%zu open %ss scored with model %s in %.2f s; equal scores "
			"ranked by engagement this week", r.nopen, t->kind, r.m.id, crm_now() - t0);
	crm_buf_release(&b);
	crm_scoring_run_release(&r);
	return 0;
}

static int follow_changed(void *ctx, const struct crm_follow_change *c)
{
	struct crm_buf b;
	int rc;

	crm_buf_init(&b, 0);
	crm_follow_change_json(&b, ctx, c);
	rc = cli_write(b.data, b.len) < 0 || fflush(stdout) != 0 ? -1 : 0;
	crm_buf_release(&b);
	return rc;
}

/* Follow the event log (crm_scoring_follow), printing the scores that moved. */
static int cmd_follow(struct crm_store *db, const struct crm_entity *t, long long from,
		      int once, int quiet)
{
	struct crm_follow_stats st;
	struct crm_err e = { 0 };

	if (crm_scoring_follow(db, t, from, once, follow_changed, (void *)t->kind, &st, &e) < 0 && e.code)
		cli_die_err(&e);
	if (!quiet) {
		struct crm_buf b;

		crm_buf_init(&b, 0);
		crm_follow_summary(&b, &st);
		cli_log(CLI_INFO, "%s", b.data);
		crm_buf_release(&b);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct score_model_args a = { .o = { CRM_TRAIN_DEFAULTS }, .value = NAN, .who = getenv("USER") };
	const struct crm_entity *t = crm_entity_find("deal");
	const char *arg, *cmd = NULL;
	int key, quiet = 0, all = 0, follow = 0, once = 0, sub = -1;
	long long from = -1;
	struct crm_store *db;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't':
			t = cli_type(arg, "deal", "contact");
			a.t_given = 1;
			break;
		case O_ALL: all = 1; break;
		case O_HOLDOUT: a.o.holdout = cli_num("holdout", arg, 0, 0.5); break;
		case O_ROUNDS: a.o.rounds = (int)cli_num("rounds", arg, 1, 10000); break;
		case O_DEPTH: a.o.depth = (int)cli_num("depth", arg, 1, 16); a.o.depth_given = 1; break;
		case O_ETA: a.o.eta = cli_num("eta", arg, 0.001, 1); break;
		case O_SEED: a.o.seed = (unsigned)cli_num("seed", arg, 0, 4294967295.0); break;
		case O_FORCE: a.o.force = 1; break;
		case O_DUMP: a.dump_path = arg; break;
		case O_EXCLUDE: a.action = "exclude"; break;
		case O_SCALE: a.action = "scale"; a.value = cli_num("scale", arg, 0, 10); break;
		case O_MONOTONE:
			a.action = "monotone";
			a.value = cli_choice("monotone", arg, (const char *const[]){ "+1", "-1", "1", NULL }) == 1 ? -1 : 1;
			break;
		case O_CLEAR: a.action = "clear"; break;
		case O_FOLLOW: follow = 1; break;
		case O_ONCE: once = 1; break;
		case O_FROM: from = (long long)cli_num("from-seq", arg, 0, 9e18); break;
		case O_WHY: a.why = arg; break;
		case O_WHO: a.who = arg; break;
		case 'q': quiet = 1; break;
		case 'f': table = cli_table(arg); break;
		}
	}
	if (optind < argc)
		sub = cli_among(cmd = argv[optind], score_subs);
	if (table < 0)
		table = cli_isatty(1);
	db = cli_open(0);
	if (table)
		names_db = db;
	if (!cmd && follow) {
		cmd_follow(db, t, from, once, quiet);
	} else if (!all && (cmd ? sub < 0 : cli_stdin_records())) {
		cmd_score_stream(db, t, quiet, argv + optind, argc - optind);
	} else if (!cmd) {
		cmd_score(db, t, quiet);
	} else if (sub >= 0) {
		a.t = t;
		a.quiet = quiet;
		a.table = table;
		score_model(db, sub, argv + optind + 1, argc - optind - 1, &a);
	} else {
		cli_die(CRM_EUSAGE, "unknown command '%s' (want train, models, activate, weight or weights)", cmd);
	}
	crm_store_close(db);
	return cli_finish(0);
}
