/*
 * crm-explain - why a deal or lead has its score: the factors behind it,
 * in sentences built from the record's own values.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/db.h"
#include "../lib/explain.h"
#include "../lib/model.h"
#include "../lib/nba.h"
#include "../lib/patterns.h"
#include "../lib/ndjson.h"
#include "../lib/reader.h"
#include "cli.h"

static int with_nba;

enum { O_TOP = 256, O_NBA, O_PATTERNS, O_SUPPORT, O_ALPHA };

static const struct cli_opt opts[] = {
	{ "top", O_TOP, "N", "factors shown per record (default 5)" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ "next-action", O_NBA, NULL, "also the next best action, with its reasons" },
	{ "patterns", O_PATTERNS, NULL, "segments that win or close differently from the rest" },
	{ "type", 't', "TYPE", "patterns: deal (default) or contact" },
	{ "min-support", O_SUPPORT, "N", "patterns: fewest records in a segment (default 30)" },
	{ "alpha", O_ALPHA, "Q", "patterns: false discovery rate allowed (default 0.05)" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-explain", "[options] ID... (or records with an id on stdin)",
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

static int cmd_patterns(sqlite3 *db, const struct crm_entity *t, size_t support,
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
	fprintf(stderr, "%s: %zu segments tested on %zu closed %ss, %zu found at a false discovery rate of %g\n",
		cli_prog, tested, d.nclosed, t->kind, n, alpha);
	free(p);
	crm_buf_release(&seg);
	crm_buf_release(&b);
	crm_dataset_release(&d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *arg;
	const struct crm_entity *ptype = crm_entity_find("deal");
	size_t top = 5, nids = 0, support = 30;
	double alpha = 0.05;
	int patterns = 0;
	int key, table = cli_isatty(1), status = 0;
	char **ids = NULL;
	struct crm_err e = { 0 };
	sqlite3 *db;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case O_TOP:
			top = strtoul(arg, NULL, 10);
			if (!top)
				cli_die(CRM_EUSAGE, "--top: want a positive number, not '%s'", arg);
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
			support = strtoul(arg, NULL, 10);
			if (support < 2)
				cli_die(CRM_EUSAGE, "--min-support: want 2 or more, not '%s'", arg);
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
		if (crm_db_open(&db, cli_db, 0, &e) < 0)
			cli_die_err(&e);
		cmd_patterns(db, ptype, support, alpha, table);
		crm_db_close(db);
		return cli_finish(0);
	}
	if (optind < argc) {
		ids = argv + optind;
		nids = (size_t)(argc - optind);
	} else {
		struct crm_reader r;
		json_t *o;
		int rc;

		if (cli_isatty(0))
			cli_die(CRM_EUSAGE, "give record ids, or pipe records in");
		if (crm_reader_open(&r, "-", 0, &e) < 0)
			cli_die_err(&e);
		while ((rc = crm_ndjson_next(&r, &o, &e)) != CRM_REC_EOF) {
			const char *id;

			if (rc != CRM_REC_OK) {
				cli_warn("%s", e.msg);
				continue;
			}
			id = json_string_value(json_object_get(o, "id"));
			if (id) {
				char **p = realloc(ids, (nids + 1) * sizeof(*p));

				if (!p || !(p[nids] = strdup(id)))
					cli_die(CRM_ESOFTWARE, "out of memory");
				ids = p;
				nids++;
			}
			json_decref(o);
		}
		crm_reader_release(&r);
	}
	if (crm_db_open(&db, cli_db, CRM_DB_READONLY, &e) < 0)
		cli_die_err(&e);
	/* One model and one dataset per type met. */
	for (int pass = 0; pass < 2; pass++) {
		const struct crm_entity *t = crm_entity_find(pass ? "contact" : "deal");
		struct crm_model m;
		struct crm_dataset d;
		struct crm_buf b;
		char *hist = NULL;
		int loaded = 0;

		crm_model_init(&m);
		crm_dataset_init(&d, t);
		crm_buf_init(&b, 0);
		for (size_t k = 0; k < nids; k++) {
			long row;

			if (crm_entity_by_id(ids[k]) != t)
				continue;
			if (!loaded) {
				if (crm_model_load(db, t, NULL, &m, &e) < 0 ||
				    crm_override_load(db, t, &m, &e) < 0)
					cli_die_err(&e);
				hist = crm_explain_history(db, m.id);
				/* Without the rates of a scoring run, build it all. */
				if (!hist && crm_dataset_build(&d, db, NULL, &m.schema, &e) < 0)
					cli_die_err(&e);
				loaded = 1;
			}
			if (hist) {
				/* Just this record, with the history rates that
				 * the last scoring run stored. */
				struct crm_dataset one;
				int rc = crm_dataset_build_one(&one, db, t, ids[k], &m.schema, hist, &e);

				if (rc < 0)
					cli_die_err(&e);
				if (rc) {
					cli_warn("no %s '%s'", t->kind, ids[k]);
					status = CRM_EDATA;
				} else {
					crm_buf_reset(&b);
					if (crm_explain_record(with_nba ? db : NULL, &m, &one, 0, top, table, &b, &e) < 0)
						cli_die_err(&e);
					if (cli_write(b.data, b.len) < 0)
						k = nids;
				}
				crm_dataset_release(&one);
				continue;
			}
			if ((row = crm_dataset_row(&d, ids[k])) < 0) {
				cli_warn("no %s '%s'", t->kind, ids[k]);
				status = CRM_EDATA;
				continue;
			}
			crm_buf_reset(&b);
			if (crm_explain_record(with_nba ? db : NULL, &m, &d, (size_t)row, top, table, &b, &e) < 0)
				cli_die_err(&e);
			if (cli_write(b.data, b.len) < 0)
				break;
		}
		crm_buf_release(&b);
		crm_dataset_release(&d);
		crm_model_release(&m);
		free(hist);
	}
	for (size_t k = 0; k < nids; k++)
		if (!crm_entity_by_id(ids[k]) ||
		    (strcmp(crm_entity_by_id(ids[k])->kind, "deal") &&
		     strcmp(crm_entity_by_id(ids[k])->kind, "contact"))) {
			cli_warn("'%s' is not a deal or contact id", ids[k]);
			status = CRM_EDATA;
		}
	if (optind >= argc) {
		for (size_t k = 0; k < nids; k++)
			free(ids[k]);
		free(ids);
	}
	crm_db_close(db);
	return cli_finish(status);
}
