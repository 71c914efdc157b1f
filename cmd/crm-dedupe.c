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

static double parse_p(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s || errno || v < 0 || v > 1)
		cli_die(CRM_EUSAGE, "--%s: want a probability from 0 to 1, not '%s'", opt, s);
	return v;
}

static void write_pair(struct crm_buf *b, const struct crm_linkage *lk,
		       const struct crm_pair *p, uint32_t cluster, double weakest,
		       const char *action, const char *why)
{
	crm_buf_adds(b, "{\"type\":\"match\",\"a\":");
	crm_json_str(b, lk->id[p->a], strlen(lk->id[p->a]));
	crm_buf_adds(b, ",\"b\":");
	crm_json_str(b, lk->id[p->b], strlen(lk->id[p->b]));
	crm_buf_adds(b, ",\"probability\":");
	crm_json_num(b, round((double)p->p * 1e6) / 1e6);
	crm_buf_adds(b, ",\"weight\":");
	crm_json_num(b, round((double)p->weight * 1e3) / 1e3);
	crm_buf_addf(b, ",\"action\":\"%s\",", action);
	if (*why) {
		crm_buf_adds(b, "\"why\":");
		crm_json_str(b, why, strlen(why));
		crm_buf_addc(b, ',');
	}
	crm_buf_adds(b, "\"group\":");
	crm_json_str(b, lk->id[cluster], strlen(lk->id[cluster]));
	if (weakest < 1) {
		crm_buf_adds(b, ",\"weakest\":");
		crm_json_num(b, round(weakest * 1e6) / 1e6);
	}
	crm_buf_adds(b, ",\"fields\":");
	crm_dedupe_fields_json(lk, p, b);
	crm_buf_adds(b, "}\n");
}


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
static const char *const row_keys[] = { "id", "a_id", "b_id", "survivor_id", "merged_id",
					"probability", "reason", NULL };

static int cmd_review(void)
{
	struct crm_store *db = cli_open(CRM_STORE_READONLY);
	struct crm_err e = { 0 };
	struct crm_stmt *st;

	if (crm_dedupe_review_rows(db, &st, &e) < 0)
		cli_die_err(&e);
	cli_rows(st, cli_row_kind, (void *)"review", row_keys, table);
	crm_store_close(db);
	return cli_finish(0);
}

static int cmd_merges(void)
{
	struct crm_store *db = cli_open(CRM_STORE_READONLY);
	struct crm_err e = { 0 };
	struct crm_stmt *st;

	if (crm_merge_rows(db, &st, &e) < 0)
		cli_die_err(&e);
	cli_rows(st, cli_row_kind, (void *)"merge", row_keys, table);
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

static int cmd_merge(const struct crm_entity *type, int argc, char **argv)
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
	(void)type;
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

/*
 * Incoming records that are not in the database (a dry run upstream, or
 * records from elsewhere) join the comparison with their own fields.
 * Returns how many.
 */
static size_t add_outsiders(struct crm_store *db, struct crm_linkage *lk, const struct incoming *in)
{
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	char sql[96];
	size_t added = 0;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = ?1", lk->type->table);
	if (crm_store_prepare(db, sql, 0, &st, &e) < 0)
		cli_die_err(&e);
	for (size_t k = 0; k < in->n; k++) {
		json_t *o = json_loads(in->line[k], 0, NULL), *t, *attrs;
		const char *id, *raw[CRM_LINK_MAXF];
		char num[CRM_LINK_MAXF][32];
		int there;

		t = json_object_get(o, "type");
		id = json_string_value(json_object_get(o, "id"));
		if (!id || (json_is_string(t) && crm_entity_find(json_string_value(t)) != lk->type) ||
		    crm_linkage_find(lk, id) >= 0) {
			json_decref(o);
			continue;
		}
		crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
		there = crm_stmt_step(st, &e) > 0;
		crm_stmt_reset(st);
		if (there) {	/* merged away: its survivor speaks for it */
			json_decref(o);
			continue;
		}
		attrs = json_object_get(o, "attrs");
		for (size_t i = 0; i < lk->nf; i++) {
			const char *name = lk->f[i].name;
			json_t *v = !strncmp(name, "attrs.", 6) ? json_object_get(attrs, name + 6)
								: json_object_get(o, name);

			raw[i] = json_string_value(v);
			if (!raw[i] && json_is_number(v)) {
				snprintf(num[i], sizeof(num[i]), "%.17g", json_number_value(v));
				raw[i] = num[i];
			}
		}
		if (crm_linkage_add_record(lk, id, raw, &e) < 0)
			cli_die_err(&e);
		added++;
		json_decref(o);
	}
	crm_stmt_free(st);
	return added;
}

static int is_incoming(const struct incoming *in, const char *id)
{
	return in->nids && bsearch(&id, in->ids, in->nids, sizeof(*in->ids), cmp_str) != NULL;
}

/*
 * Write the incoming records again, each of the type with a "duplicate"
 * key: its most likely match, the probability, the action, and the
 * record it was merged into, if it was.
 */
static void write_incoming(struct crm_store *db, const struct incoming *in,
			   struct crm_linkage *lk, const uint32_t *cluster,
			   double automerge, double review, int dry)
{
	const struct crm_pair **best = calloc(lk->n ? lk->n : 1, sizeof(*best));
	char sql[128];
	struct crm_err e = { 0 };
	struct crm_stmt *mi = NULL;

	if (!best)
		cli_die(CRM_ESOFTWARE, "out of memory");
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];

		if (!best[p->a] || p->p > best[p->a]->p)
			best[p->a] = p;
		if (!best[p->b] || p->p > best[p->b]->p)
			best[p->b] = p;
	}
	snprintf(sql, sizeof(sql), "SELECT merged_into FROM %s WHERE id = ?1", lk->type->table);
	if (!dry && crm_store_prepare(db, sql, 0, &mi, &e) < 0)
		cli_die_err(&e);
	for (size_t i = 0; i < in->n; i++) {
		json_t *o = json_loads(in->line[i], 0, NULL), *id;
		char *text;

		if (!o || !json_is_string(id = json_object_get(o, "id")) ||
		    !is_incoming(in, json_string_value(id))) {
			out_lines(in->line[i], strlen(in->line[i]), rec_keys);
			if (!table)
				cli_write("\n", 1);
			json_decref(o);
			continue;
		}
		{
			const char *rid = json_string_value(id);
			const struct crm_pair *p = NULL;
			json_t *d = json_object();
			long x = crm_linkage_find(lk, rid);

			if (x >= 0)
				p = best[x];
			if (p && p->p >= review) {
				char why[340];
				const char *act = crm_dedupe_action(db, lk, p, cluster, automerge,
								    review, why, sizeof(why));

				json_object_set_new(d, "of", json_string(lk->id[(long)p->a == x ? p->b : p->a]));
				json_object_set_new(d, "probability", json_real(round((double)p->p * 1e6) / 1e6));
				json_object_set_new(d, "action", json_string(act));
				if (*why)
					json_object_set_new(d, "why", json_string(why));
			} else {
				json_object_set_new(d, "action", json_string("distinct"));
			}
			if (!dry && mi) {
				crm_stmt_bind_text_ref(mi, 1, rid, (size_t)-1);
				if (crm_stmt_step(mi, &e) > 0 &&
				    crm_stmt_type(mi, 0) != CRM_NULL)
					json_object_set_new(d, "merged_into",
						json_string(crm_stmt_text(mi, 0)));
				crm_stmt_reset(mi);
			}
			json_object_set_new(o, "duplicate", d);
		}
		text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
		if (text) {
			out_lines(text, strlen(text), rec_keys);
			if (!table)
				cli_write("\n", 1);
		}
		free(text);
		json_decref(o);
	}
	crm_stmt_free(mi);
	free(best);
}

/*
 * Labelled pairs: {"a": ID, "b": ID, "match": true|false} per line. Ids
 * not among the records are reported and skipped.
 */
/* ---- the run -------------------------------------------------------------- */

static int incoming_cb(void *ctx, const char *id)
{
	return is_incoming(ctx, id);
}

int main(int argc, char **argv)
{
	const struct crm_entity *type = crm_entity_find("contact");
	const char *arg, *fields = NULL, *train = NULL;
	double automerge = 0.98, review = 0.80;
	uint64_t seed = 1;
	size_t cap = 0;
	int key, all = 0, quiet = 0, allpairs = 0, dry = 0, learn = 1, retrain = 0;
	char saved[40] = "";
	struct crm_pairmodel pm = { 0 };
	double before[2] = { NAN, NAN };
	struct crm_dedupe_result res = { 0 };
	struct crm_linkage lk;
	struct crm_err e = { 0 };
	struct crm_buf out;
	struct incoming in = { 0 };
	uint32_t *cluster;
	float *weakest;
	size_t nmerge = 0, nreview = 0, outsiders = 0, learnt = 0;
	double t0;
	struct crm_store *db;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't':
			type = cli_type(arg, "contact", "account");
			break;
		case O_ALL: all = 1; break;
		case O_FIELDS: fields = arg; break;
		case O_AUTO: automerge = parse_p("auto-merge", arg); break;
		case O_REVIEW: review = parse_p("review", arg); break;
		case O_PAIRS: allpairs = 1; break;
		case O_TRAIN: train = arg; break;
		case O_NOLEARN: learn = 0; break;
		case O_RETRAIN: retrain = 1; break;
		case O_SEED: seed = (uint64_t)cli_num("seed", arg, 0, 1e15); break;
		case O_CAP: cap = (size_t)cli_num("block-cap", arg, 1, 1e9); break;
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

		if (!strcmp(cmd, "review") && !n)
			return cmd_review();
		if (!strcmp(cmd, "merges") && !n)
			return cmd_merges();
		if (!strcmp(cmd, "accept") || !strcmp(cmd, "reject"))
			return cmd_decide(!strcmp(cmd, "accept"), n, rest);
		if (!strcmp(cmd, "undo"))
			return cmd_undo(n, rest);
		if (!strcmp(cmd, "merge"))
			return cmd_merge(type, n, rest);
		/* Else files of records (or -), like a pipe. */
		if (strcmp(cmd, "-") && access(cmd, F_OK) != 0)
			cli_die(CRM_EUSAGE, "'%s' is no command (review, accept, reject, merges, undo, merge) "
				"and no file", cmd);
	}
	if (!all && optind >= argc && isatty(0))
		cli_die(CRM_EUSAGE, "say --all to check the whole database, or give or pipe records in");
	if (!all)
		read_incoming(&in, type, argv + optind, argc - optind);
	if (review > automerge)
		cli_die(CRM_EUSAGE, "--review must not be above --auto-merge");
	db = cli_open(dry ? CRM_STORE_READONLY : 0);
	t0 = crm_now();
	crm_linkage_init(&lk, type);
	if (cap)
		lk.block_cap = cap;
	if (fields && crm_linkage_add_fields(&lk, fields, &e) < 0)
		cli_die(e.code, "--fields: %s", e.msg);
	else if (crm_linkage_auto_fields(&lk, db, &e) < 0)
		cli_die_err(&e);
	if (crm_linkage_load(&lk, db, &e) < 0)
		cli_die_err(&e);
	if (!all && (outsiders = add_outsiders(db, &lk, &in)) && !quiet)
		cli_warn("%zu incoming records are not in the database: compared by their own fields, never merged",
			 outsiders);
	if (crm_linkage_block(&lk, &e) < 0)
		cli_die_err(&e);
	if (train && crm_linkage_read_labels(&lk, train, cli_warn_cb, NULL, &e) < 0)
		cli_die_err(&e);
	if (learn && crm_dedupe_learn_reviews(db, &lk, &learnt, &e) < 0)
		cli_die_err(&e);
	if (!retrain && !fields && crm_dedupe_model_load(db, &lk, saved, sizeof(saved), &e) < 0)
		cli_die_err(&e);
	if (crm_linkage_train(&lk, seed, &e) < 0)
		cli_die_err(&e);
	if (crm_dedupe_drop_rejected(db, &lk, &e) < 0)
		cli_die_err(&e);
	if (lk.nlabelled && lk.npairs) {
		double unsure;

		crm_linkage_estimate(&lk, automerge, &before[0], &before[1], &unsure);
		if (crm_pairmodel_learn(&pm, &lk, seed, &e) < 0)
			cli_die_err(&e);
	}
	if (crm_dedupe_hold_open(db, &lk, automerge, &e) < 0)
		cli_die_err(&e);
	/* From a pipe: each incoming record may join its best match only;
	 * duplicates among the records already there are --all's business. */
	if (!all && crm_linkage_keep_best(&lk, incoming_cb, &in) < 0)
		cli_die(CRM_ESOFTWARE, "out of memory");
	/* No cap worth the name on a group: 20 copies of one person come
	 * together; the bound only keeps one runaway join from costing n^2. */
	if (crm_linkage_cluster(&lk, automerge, review, 5000, &cluster, &weakest, &e) < 0)
		cli_die_err(&e);
	crm_buf_init(&out, 0);
	for (size_t k = 0; k < lk.npairs; k++) {
		const struct crm_pair *p = &lk.pairs[k];
		const char *action;
		char why[340];

		if (p->p >= automerge)
			nmerge++;
		else if (p->p >= review)
			nreview++;
		if ((!allpairs && p->p < review) || !all)
			continue;
		action = crm_dedupe_action(db, &lk, p, cluster, automerge, review, why, sizeof(why));
		write_pair(&out, &lk, p, cluster[p->a], weakest[cluster[p->a]], action, why);
		if (out.len > 65536) {
			if (out_lines(out.data, out.len, pair_keys) < 0)
				break;
			crm_buf_reset(&out);
		}
	}
	if (out.len)
		out_lines(out.data, out.len, pair_keys);
	if (!dry && crm_dedupe_apply(db, &lk, cluster, automerge, review, cli_warn_cb,
				     NULL, &res, &e) < 0)
		cli_die_err(&e);
	if (!all)
		write_incoming(db, &in, &lk, cluster, automerge, review, dry);
	if (!quiet) {
		double all_pairs = (double)lk.n * (double)(lk.n ? lk.n - 1 : 0) / 2;
		struct crm_buf m;

		crm_buf_init(&m, 0);
		crm_buf_addf(&m, "%zu %s", lk.n, type->table);
		if (lk.skipped)
			crm_buf_addf(&m, " (%zu skipped: none of the compared fields)", lk.skipped);
		crm_buf_addf(&m, ", %zu fields, %zu pairs compared (%.4f%% of all %.0f)",
			lk.nf, lk.npairs, all_pairs ? 100.0 * (double)lk.npairs / all_pairs : 0.0,
			all_pairs);
		crm_buf_addf(&m, " by %zu blocking rules", lk.nrules);
		if (lk.dropped_rules)
			crm_buf_addf(&m, " (%zu more dropped: too broad)", lk.dropped_rules);
		if (lk.big_blocks)
			crm_buf_addf(&m, ", %llu blocks over the cap", (unsigned long long)lk.big_blocks);
		if (lk.nlabels[0] + lk.nlabels[1]) {
			crm_buf_addf(&m, "; %zu labelled pairs (%zu matches", lk.nlabels[0] + lk.nlabels[1], lk.nlabels[1]);
			if (learnt)
				crm_buf_addf(&m, "; %zu from decisions in the review queue", learnt);
			crm_buf_addc(&m, ')');
		}
		if (lk.m_given)
			crm_buf_addf(&m, "; how copies differ as learnt by the run of %s (--retrain to learn it again)",
				saved);
		crm_buf_addf(&m, "; EM %d iterations, %.0f matches expected; %zu pairs >= %.2f, %zu to review",
			lk.iterations, lk.lambda * all_pairs, nmerge, automerge, nreview);
		if (dry)
			crm_buf_addf(&m, "; dry run: nothing changed");
		else
			crm_buf_addf(&m, "; %zu records merged, %zu new reviews", res.merged, res.queued);
		if (!dry && res.held)
			crm_buf_addf(&m, " (%zu sure pairs of two owners or of a parent and child among them, left to a person)", res.held);
		crm_buf_addf(&m, "; %.2f s", crm_now() - t0);
		cli_log(CLI_INFO, "%s", m.data);
		for (size_t i = 0; i < lk.nf; i++) {
			crm_buf_reset(&m);
			crm_buf_addf(&m, "%-24s %-8s exact %+6.2f  close %+6.2f  fuzzy %+6.2f  different %+6.2f",
				     lk.f[i].name, crm_cmp_name(lk.f[i].cmp),
				     crm_linkage_field_weight(&lk, i, 1), crm_linkage_field_weight(&lk, i, 2),
				     crm_linkage_field_weight(&lk, i, 3), crm_linkage_field_weight(&lk, i, 4));
			if (lk.f[i].parent >= 0)
				crm_buf_addf(&m, "  (between strangers, goes with %s)", lk.f[lk.f[i].parent].name);
			cli_log_more("%s", m.data);
		}
		crm_buf_release(&m);
		if (lk.npairs) {
			double prec, rec, unsure;

			crm_linkage_estimate(&lk, automerge, &prec, &rec, &unsure);
			cli_log_more("the model's own estimate at %g: precision %.4f, recall %.4f "
				"of the matches among the candidates", automerge, prec, rec);
			if (pm.used)
				cli_log_more("pair model from %zu decisions (%zu matches) and %zu sure pairs: "
					"%d rounds, held-out log loss %.3f with the weights alone, %.3f with it; "
					"the estimate before it: precision %.4f, recall %.4f",
					pm.decisions, pm.matches, pm.anchors, pm.rounds, pm.loss_weights,
					pm.loss_model, before[0], before[1]);
			else if (pm.why[0])
				cli_log_more("no pair model: %s", pm.why);
		}
		if (cluster) {
			struct crm_merge_estimate me;

			if (crm_linkage_merge_estimate(&lk, cluster, 20000, &me, &e) == 0) {
				cli_log_more("the groups the merge leaves, as the model sees them: precision %.3f "
					"(+-%.3f), recall %.3f (+-%.3f) of the %.0f it expects, %.0f of them outside "
					"the candidates (%zu pairs sampled)", me.precision, 2 * me.precision_sd,
					me.recall, 2 * me.recall_sd, me.expected_matches, me.outside, me.sampled);
				cli_log_more("blocking: the candidates hold %.1f%% of the matches expected",
					100 * me.completeness);
			}
		}
	}
	{
		char doubt[300];
		int poor = crm_linkage_check(&lk, automerge, doubt, sizeof(doubt));

		if (poor)
			cli_warn("warning: %s", doubt);
		/* What a sound run learnt of how copies differ serves the
		 * runs after it, which see the copies merged. */
		if (!dry && all && !fields && !lk.m_given && (!poor || poor == CRM_LINK_UNSURE) &&
		    lk.lambda * (double)lk.n * (double)(lk.n ? lk.n - 1 : 0) / 2 >= MODEL_MIN_MATCHES &&
		    crm_dedupe_model_save(db, &lk, &e) < 0)
			cli_warn("warning: the model was not saved: %s", e.msg);
	}
	free(cluster);
	free(weakest);
	crm_pairmodel_release(&pm);
	for (size_t i = 0; i < in.n; i++)
		free(in.line[i]);
	for (size_t i = 0; i < in.nids; i++)
		free(in.ids[i]);
	free(in.line);
	free(in.ids);
	crm_buf_release(&out);
	crm_linkage_release(&lk);
	crm_store_close(db);
	return cli_finish(0);
}
