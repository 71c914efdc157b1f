/*
 * crm-dedupe - find duplicate records with calibrated match probabilities.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/crypt.h"
#include "../lib/linkage.h"
#include "../lib/dedupe.h"
#include "../lib/pairmodel.h"
#include "../lib/merge.h"
#include "../lib/reader.h"
#include "../lib/row.h"
#include "../lib/ndjson.h"
#include "cli.h"
#include "crm-dedupe.h"
#include "../lib/store/store.h"

/* Matches a run must expect to save what it learnt for the next. */
#define MODEL_MIN_MATCHES 50

enum { O_ALL = 256, O_FIELDS, O_AUTO, O_REVIEW, O_SEED, O_CAP, O_PAIRS, O_TRAIN, O_NOLEARN, O_RETRAIN };

static const struct cli_opt opts[] = {
	{ "type", 't', "TYPE", "record type: contact (default) or account" },
	{ "all", O_ALL, NULL, "check every record in the database (default: records on stdin)" },
	{ "fields", O_FIELDS, "LIST", "compared fields, FIELD[:COMPARATOR],... (default: chosen from the data)" },
	{ "auto-merge", O_AUTO, "P", "merge pairs with probability >= P (default 0.98)" },
	{ "review", O_REVIEW, "P", "queue pairs with probability >= P for review (default 0.80)" },
	{ "all-pairs", O_PAIRS, NULL, "write every candidate pair, whatever its probability" },
	{ "train", O_TRAIN, "FILE", "labelled pairs (NDJSON: a, b, match) to refine the weights" },
	{ "retrain", O_RETRAIN, NULL, "learn how copies differ again, not from the model an earlier run saved" },
	{ "no-learning", O_NOLEARN, NULL, "learn nothing from decisions in the review queue (rejected pairs still stay apart)" },
	{ "seed", O_SEED, "N", "seed of the random pairs u is measured on (default 1)" },
	{ "block-cap", O_CAP, "N", "largest block whose records are all paired (default 64)" },
	{ "dry-run", 'n', NULL, "report, change nothing" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ "quiet", 'q', NULL, "no summary on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-dedupe", "[--all] [options] [FILE | -]...   (records from files or stdin)\n"
	"       crm-dedupe review | accept ID... | reject ID... | merges\n"
	"       crm-dedupe undo MERGE_ID... | merge ID ID",
	"Find duplicate contacts or accounts by probabilistic matching, merge\n"
	"them with undo, and queue the uncertain pairs for review.",
	opts,
};

/* ---- subcommands ---------------------------------------------------------- */

static int table = -1;	/* -f: tables, else NDJSON */
static int header_done;

/*
 * NDJSON lines out, or on a terminal the lines of a table of keys: pairs
 * (a, b, probability, action), records (their duplicate), reviews.
 */
static int out_lines(const char *buf, size_t len, const char *const *keys)
{
	if (!table)
		return cli_write(buf, len);
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;

		cli_table_record(buf, n, keys, &header_done);
		buf += n;
		len -= n;
	}
	return 0;
}

static const char *const pair_keys[] = { "a", "b", "probability", "action", "why", NULL };
static const char *const rec_keys[] = { "id", "duplicate.action", "duplicate.of",
					"duplicate.probability", "duplicate.why", NULL };
/* ---- records from a pipe ------------------------------------------------ */

struct incoming {
	char **line;		/* NDJSON lines as read, in order */
	size_t n, cap;
	char **ids;		/* sorted ids of records of the type */
	size_t nids;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read NDJSON records from files (none: stdin) until their end, as
 * dedupe needs them all; bad lines are reported and passed on. */
static void read_incoming(struct incoming *in, const struct crm_entity *type,
			  char **files, int nfiles)
{
	struct cli_in ci;

	cli_in_init(&ci, files, nfiles);
	while (cli_in_chunk(&ci, 1000))
		for (size_t x = 0; x < ci.n; x++) {
			json_t *o, *t, *id;
			char **p;

			if (in->n == in->cap) {
				in->cap = in->cap ? 2 * in->cap : 1024;
				if (!(p = realloc(in->line, in->cap * sizeof(*p))))
					cli_die(CRM_ESOFTWARE, "out of memory");
				in->line = p;
				if (!(p = realloc(in->ids, in->cap * sizeof(*p))))	/* nids <= n */
					cli_die(CRM_ESOFTWARE, "out of memory");
				in->ids = p;
			}
			if (!(in->line[in->n] = strdup(ci.line[x])))
				cli_die(CRM_ESOFTWARE, "out of memory");
			in->n++;
			o = json_loadb(ci.line[x], ci.len[x], 0, NULL);
			if (!o) {
				cli_warn("not a JSON record, passed on as it is: %.60s", ci.line[x]);
				continue;
			}
			t = json_object_get(o, "type");
			id = json_object_get(o, "id");
			if (json_is_string(id) && (!json_is_string(t) ||
						    crm_entity_find(json_string_value(t)) == type)) {
				if (!(in->ids[in->nids] = strdup(json_string_value(id))))
					cli_die(CRM_ESOFTWARE, "out of memory");
				in->nids++;
			}
			json_decref(o);
		}
	cli_in_release(&ci);
	if (in->nids)
		qsort(in->ids, in->nids, sizeof(*in->ids), cmp_str);
}

static int is_incoming(const struct incoming *in, const char *id)
{
	return in->nids && bsearch(&id, in->ids, in->nids, sizeof(*in->ids), cmp_str) != NULL;
}

/*
 * Write the incoming records again, each of the type with a "duplicate"
 * key (crm_dedupe_annotate); the others as they came.
 */
static void write_incoming(struct crm_store *db, const struct incoming *in,
			   const struct crm_dedupe_opts *o, struct crm_dedupe_run *r, int dry)
{
	const struct crm_pair **best = crm_dedupe_best(r);
	struct crm_err e = { 0 };

	if (!best)
		cli_die(CRM_ESOFTWARE, "out of memory");
	for (size_t i = 0; i < in->n; i++) {
		json_t *rec = json_loads(in->line[i], 0, NULL);
		char *text = NULL;

		if (rec && is_incoming(in, json_string_value(json_object_get(rec, "id")))) {
			if (crm_dedupe_annotate(db, o, r, best, rec, dry, &e) < 0)
				cli_die_err(&e);
			text = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));
		}
		out_lines(text ? text : in->line[i], strlen(text ? text : in->line[i]), rec_keys);
		if (!table)
			cli_write("\n", 1);
		free(text);
		json_decref(rec);
	}
	free(best);
}

/* ---- the run -------------------------------------------------------------- */

static int incoming_cb(void *ctx, const char *id)
{
	return is_incoming(ctx, id);
}

int main(int argc, char **argv)
{
	struct crm_dedupe_opts o = { .type = crm_entity_find("contact"), .automerge = 0.98,
				     .review = 0.80, .seed = 1, .learn = 1, .warn = cli_warn_cb };
	const char *arg;
	int key, all = 0, quiet = 0, allpairs = 0, dry = 0;
	struct crm_dedupe_result res = { 0 };
	struct crm_dedupe_run r;
	struct crm_err e = { 0 };
	struct crm_buf out;
	struct incoming in = { 0 };
	size_t nmerge = 0, nreview = 0;
	long outsiders = 0;
	char doubt[300];
	struct crm_store *db;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't': o.type = cli_type(arg, "contact", "account"); break;
		case O_ALL: all = 1; break;
		case O_FIELDS: o.fields = arg; break;
		case O_AUTO: o.automerge = cli_num("auto-merge", arg, 0, 1); break;
		case O_REVIEW: o.review = cli_num("review", arg, 0, 1); break;
		case O_PAIRS: allpairs = 1; break;
		case O_TRAIN: o.train = arg; break;
		case O_NOLEARN: o.learn = 0; break;
		case O_RETRAIN: o.retrain = 1; break;
		case O_SEED: o.seed = (uint64_t)cli_num("seed", arg, 0, 1e15); break;
		case O_CAP: o.block_cap = (size_t)cli_num("block-cap", arg, 1, 1e9); break;
		case 'n': dry = 1; break;
		case 'q': quiet = 1; break;
		case 'f': table = cli_table(arg); break;
		}
	}
	if (table < 0)
		table = cli_isatty(1);
	if (optind < argc) {
		const char *cmd = argv[optind];
		int n = argc - optind - 1;
		char **rest = argv + optind + 1;

		int sub = cli_among(cmd, dedupe_subs);

		if (sub >= 0)
			return dedupe_review(sub, rest, n, table);
		/* Else files of records (or -), like a pipe. */
		if (strcmp(cmd, "-") && access(cmd, F_OK) != 0)
			cli_die(CRM_EUSAGE, "'%s' is no command (review, accept, reject, merges, undo, merge) "
				"and no file", cmd);
	}
	if (!all && optind >= argc && isatty(0))
		cli_die(CRM_EUSAGE, "say --all to check the whole database, or give or pipe records in");
	if (!all)
		read_incoming(&in, o.type, argv + optind, argc - optind);
	if (o.review > o.automerge)
		cli_die(CRM_EUSAGE, "--review must not be above --auto-merge");
	db = cli_open(dry ? CRM_STORE_READONLY : 0);
	if (crm_dedupe_load(db, &o, &r, &e) < 0 ||
	    (!all && (outsiders = crm_dedupe_add_outsiders(db, &r, in.line, in.n, &e)) < 0) ||
	    crm_dedupe_fit(db, &o, &r, all ? NULL : incoming_cb, &in, &e) < 0)
		cli_die_err(&e);
	if (outsiders && !quiet)
		cli_warn("%ld incoming records are not in the database: compared by their own fields, never merged",
			 outsiders);
	crm_buf_init(&out, 0);
	for (size_t k = 0; k < r.lk.npairs; k++) {
		const struct crm_pair *p = &r.lk.pairs[k];
		char why[340];

		nmerge += p->p >= o.automerge;
		nreview += p->p < o.automerge && p->p >= o.review;
		if ((!allpairs && p->p < o.review) || !all)
			continue;
		crm_dedupe_pair_json(&out, &r, p, crm_dedupe_action(db, &r.lk, p, r.cluster, o.automerge,
								     o.review, why, sizeof(why)), why);
		if (out.len > 65536) {
			if (out_lines(out.data, out.len, pair_keys) < 0)
				break;
			crm_buf_reset(&out);
		}
	}
	if (out.len)
		out_lines(out.data, out.len, pair_keys);
	if (!dry && crm_dedupe_apply(db, &r.lk, r.cluster, o.automerge, o.review, cli_warn_cb,
				     NULL, &res, &e) < 0)
		cli_die_err(&e);
	if (!all)
		write_incoming(db, &in, &o, &r, dry);
	if (!quiet) {
		crm_buf_reset(&out);
		crm_dedupe_report(&out, &o, &r, nmerge, nreview, dry ? NULL : &res);
		cli_log_report(out.data);
	}
	if (crm_dedupe_finish(db, &o, &r, !dry && all, doubt, sizeof(doubt), &e) < 0)
		cli_warn("warning: the model was not saved: %s", e.msg);
	if (*doubt)
		cli_warn("warning: %s", doubt);
	for (size_t i = 0; i < in.n; i++)
		free(in.line[i]);
	for (size_t i = 0; i < in.nids; i++)
		free(in.ids[i]);
	free(in.line);
	free(in.ids);
	crm_buf_release(&out);
	crm_dedupe_run_release(&r);
	crm_store_close(db);
	return cli_finish(0);
}
