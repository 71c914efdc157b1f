/*
 * crm-explain - why a deal or lead has its score: the factors behind it,
 * in sentences built from the record's own values.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/store/store.h"
#include "../lib/explain.h"
#include "../lib/scoring.h"
#include "../lib/patterns.h"
#include "../lib/ndjson.h"
#include "../lib/reader.h"
#include "cli.h"

static int with_nba;

enum { O_TOP = 256, O_NBA, O_PATTERNS, O_SUPPORT, O_ALPHA };

static const struct cli_opt opts[] = {
	{ "top", O_TOP, "N", "factors shown per record (default 3)" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ "next-action", O_NBA, NULL, "also the next best action, with its reasons" },
	{ "patterns", O_PATTERNS, NULL, "segments that win or close differently from the rest" },
	{ "type", 't', "TYPE", "patterns: deal (default) or contact" },
	{ "min-support", O_SUPPORT, "N", "patterns: fewest records in a segment (default 30)" },
	{ "alpha", O_ALPHA, "Q", "patterns: false discovery rate allowed (default 0.05)" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-explain", "[options] [ID | FILE | -]... (records with an id, from files or stdin)",
	"Explain scores: the factors that raise and lower each record's score.",
	opts,
};

/* Describe a segment: "Job title VP Sales and Product GTX Pro". */
static void segment_text(struct crm_buf *b, const struct crm_dataset *d,
			 const struct crm_pattern *p)
{
	crm_buf_reset(b);
	crm_explain_sentence(b, d, (size_t)p->a, (float)p->va, NULL);
	if (p->b >= 0) {
		crm_buf_adds(b, " and ");
		crm_explain_sentence(b, d, (size_t)p->b, (float)p->vb, NULL);
	}
}

static int cmd_patterns(struct crm_store *db, const struct crm_entity *t, size_t support,
			double alpha, int table)
{
	struct crm_dataset d;
	struct crm_pattern *p;
	size_t n, tested;
	struct crm_err e = { 0 };
	struct crm_buf seg, b;
	const char *won = !strcmp(t->kind, "deal") ? "won" : "converted";

	crm_dataset_init(&d, t);
	if (crm_dataset_build(&d, db, NULL, NULL, &e) < 0 ||
	    crm_patterns(&d, support, alpha, &p, &n, &tested, &e) < 0)
		cli_die_err(&e);
	crm_buf_init(&seg, 0);
	crm_buf_init(&b, 0);
	for (size_t k = 0; k < n; k++) {
		const struct crm_pattern *x = &p[k];
		char text[512];

		segment_text(&seg, &d, x);
		if (x->measure == 0)
			snprintf(text, sizeof(text), "%s: %s %.0f%% of the time against %.0f%% for the rest (%+.0f%%, n=%zu)",
				 seg.data, won, 100 * x->value, 100 * x->rest, 100 * x->effect, x->n);
		else
			snprintf(text, sizeof(text), "%s: %s close %.0f%% %s (%.0f days against %.0f, n=%zu)",
				 seg.data, !strcmp(t->kind, "deal") ? "won deals" : "converted leads",
				 100 * fabs(x->effect), x->effect < 0 ? "faster" : "slower",
				 x->value, x->rest, x->n);
		crm_buf_reset(&b);
		if (table) {
			crm_buf_addf(&b, "%s  (q=%.3g)\n", text, x->q);
		} else {
			crm_buf_adds(&b, "{\"type\":\"pattern\",\"segment\":{");
			crm_json_str(&b, d.feat[x->a].name, strlen(d.feat[x->a].name));
			crm_buf_addc(&b, ':');
			crm_json_str(&b, d.feat[x->a].cats[x->va], strlen(d.feat[x->a].cats[x->va]));
			if (x->b >= 0) {
				crm_buf_addc(&b, ',');
				crm_json_str(&b, d.feat[x->b].name, strlen(d.feat[x->b].name));
				crm_buf_addc(&b, ':');
				crm_json_str(&b, d.feat[x->b].cats[x->vb], strlen(d.feat[x->b].cats[x->vb]));
			}
			crm_buf_addf(&b, "},\"measure\":\"%s\",\"n\":%zu,\"n_rest\":%zu,\"value\":%.4f,"
				     "\"rest\":%.4f,\"effect\":%.4f,\"p\":%.3g,\"q\":%.3g,\"text\":",
				     x->measure ? "days_to_close" : "win_rate", x->n, x->n_rest,
				     x->value, x->rest, x->effect, x->p, x->q);
			crm_json_str(&b, text, strlen(text));
			crm_buf_adds(&b, "}\n");
		}
		if (cli_write(b.data, b.len) < 0)
			break;
	}
	cli_log(CLI_INFO, "%zu segments tested on %zu closed %ss, %zu found at a false discovery rate of %g", tested, d.nclosed, t->kind, n, alpha);
	free(p);
	crm_buf_release(&seg);
	crm_buf_release(&b);
	crm_dataset_release(&d);
	return 0;
}

static const char **realloc_ids(const char **v, size_t n)
{
	const char **p = realloc(v, (n ? n : 1) * sizeof(*p));

	if (!p)
		cli_die(CRM_ESOFTWARE, "out of memory");
	return p;
}

/* Explain ids[0..n) (crm_scorings_explain) and write them out: 0, or
 * CRM_EDATA when some could not be explained (each said). */
static int explain_chunk(struct crm_scorings *x, const char *const *ids, size_t n, size_t top, int table)
{
	struct crm_buf out;
	struct crm_err e = { 0 };
	int r;

	crm_buf_init(&out, 0);
	r = crm_scorings_explain(x, ids, n, top, (table ? CRM_EXPLAIN_TABLE : 0) |
				 (with_nba ? CRM_EXPLAIN_NEXT : 0), &out, cli_warn_cb, NULL, &e);
	if (r < 0)
		cli_die_err(&e);
	cli_write(out.data, out.len);
	crm_buf_release(&out);
	return r ? CRM_EDATA : 0;
}

int main(int argc, char **argv)
{
	const char *arg;
	const struct crm_entity *ptype = crm_entity_find("deal");
	size_t top = 3, support = 30;
	double alpha = 0.05;
	int patterns = 0;
	int key, table = cli_isatty(1), status = 0;
	struct crm_store *db;
	struct crm_scorings sc;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case O_TOP:
			top = (size_t)cli_num("top", arg, 1, 1000);
			break;
		case O_NBA:
			with_nba = 1;
			break;
		case O_PATTERNS:
			patterns = 1;
			break;
		case 't':
			ptype = cli_type(arg, "deal", "contact");
			break;
		case O_SUPPORT:
			support = (size_t)cli_num("min-support", arg, 2, 1e9);
			break;
		case O_ALPHA:
			alpha = strtod(arg, NULL);
			if (alpha <= 0 || alpha >= 1)
				cli_die(CRM_EUSAGE, "--alpha: want a number between 0 and 1, not '%s'", arg);
			break;
		case 'f':
			table = cli_table(arg);
			break;
		}
	}
	if (patterns) {
		db = cli_open(0);
		cmd_patterns(db, ptype, support, alpha, table);
		crm_store_close(db);
		return cli_finish(0);
	}
	db = cli_open(CRM_STORE_READONLY);
	crm_scorings_init(&sc, db);
	/* Operands that are ids are explained; the others are files of
	 * records (or -), read a chunk at a time like stdin. */
	{
		char **files = calloc((size_t)(argc - optind) + 1, sizeof(*files));
		const char **idv = calloc((size_t)(argc - optind) + 1, sizeof(*idv));
		int nfiles = 0;
		size_t nid = 0;
		struct cli_in in;

		if (!files || !idv)
			cli_die(CRM_ESOFTWARE, "out of memory");
		for (int a = optind; a < argc; a++) {
			if (!strcmp(argv[a], "-") || (!crm_entity_by_id(argv[a]) && access(argv[a], F_OK) == 0))
				files[nfiles++] = argv[a];
			else
				idv[nid++] = argv[a];
		}
		if (nid)
			status |= explain_chunk(&sc, idv, nid, top, table);
		if (nfiles || !nid) {
			if (!nfiles && cli_isatty(0))
				cli_die(CRM_EUSAGE, "give record ids or files of records, or pipe records in");
			cli_in_init(&in, files, nfiles);
			while (cli_in_chunk(&in, 500)) {
				size_t k = 0;
				json_t **o = calloc(in.n, sizeof(*o));

				if (!o)
					cli_die(CRM_ESOFTWARE, "out of memory");
				idv = realloc_ids(idv, in.n);
				for (size_t x = 0; x < in.n; x++) {
					const char *id;

					o[x] = json_loadb(in.line[x], in.len[x], 0, NULL);
					if (!o[x]) {
						cli_warn("not a JSON record: left out: %.60s", in.line[x]);
						continue;
					}
					if ((id = json_string_value(json_object_get(o[x], "id"))))
						idv[k++] = id;
				}
				status |= explain_chunk(&sc, idv, k, top, table);
				for (size_t x = 0; x < in.n; x++)
					json_decref(o[x]);
				free(o);
			}
			cli_in_release(&in);
		}
		free(files);
		free(idv);
	}
	crm_scorings_release(&sc);
	crm_store_close(db);
	return cli_finish(status);
}
