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

struct factor {
	size_t j;
	float c;
};

static int cmp_factor(const void *a, const void *b)
{
	const struct factor *x = a, *y = b;

	return fabsf(y->c) > fabsf(x->c) ? 1 : fabsf(y->c) < fabsf(x->c) ? -1 : 0;
}

/* Explain row i of d; append NDJSON or a table to b. */
/* The history rates stored by the last scoring run of model id, or NULL. */
static char *history_of(sqlite3 *db, const char *model)
{
	sqlite3_stmt *st;
	char key[64], *v = NULL;

	snprintf(key, sizeof(key), "history.%s", model);
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int with_nba;
static sqlite3 *the_db;

static void explain(const struct crm_model *m, const struct crm_dataset *d,
		    size_t i, size_t top, int table, struct crm_buf *b)
{
	struct crm_err e = { 0 };
	float c[CRM_MAXFEAT + 1], p;
	struct factor f[CRM_MAXFEAT];
	double total = 0;
	struct crm_buf text;

	if (crm_model_contribs(m, d, i, c, &e) < 0 ||
	    crm_model_predict_adjusted(m, d, i, 1, &p, &e) < 0)
		cli_die_err(&e);
	for (size_t j = 0; j < d->nfeat; j++) {
		f[j].j = j;
		f[j].c = c[j];
		/* An admin's scale shows in the factor as in the score. */
		for (size_t k = 0; k < m->nov; k++)
			if (!strcmp(m->ov[k].action, "scale") &&
			    !strcmp(m->ov[k].feature, d->feat[j].name))
				f[j].c = (float)(c[j] * m->ov[k].value);
		total += fabs(f[j].c);
	}
	qsort(f, d->nfeat, sizeof(*f), cmp_factor);
	crm_buf_init(&text, 0);
	if (table)
		crm_buf_addf(b, "%s  score %ld (probability %.2f)\n", d->id[i],
			     lround(100.0 * p), p);
	else
		crm_buf_addf(b, "{\"type\":\"explanation\",\"id\":\"%s\",\"entity\":\"%s\","
			     "\"score\":%ld,\"probability\":%.4f,\"model\":\"%s\",\"factors\":[",
			     d->id[i], d->type->kind, lround(100.0 * p), p, m->id);
	for (size_t k = 0, shown = 0; k < d->nfeat && shown < top; k++) {
		size_t j = f[k].j;
		float v = d->x[i * d->nfeat + j];
		const char *catv = NULL;

		if (fabsf(f[k].c) < 1e-4)
			break;
		/* A history factor names the record's own category. */
		if (!strncmp(d->feat[j].name, "history.", 8)) {
			int b0 = crm_dataset_feature(d, d->feat[j].name + 8);

			if (b0 >= 0) {
				float code = d->x[i * d->nfeat + (size_t)b0];

				if (!isnan(code) && (size_t)code < d->feat[b0].ncats)
					catv = d->feat[b0].cats[(int)code];
			}
		}
		crm_buf_reset(&text);
		crm_explain_sentence(&text, d, j, v, catv);
		if (table) {
			crm_buf_addf(b, "  %c %3.0f%%  %s\n", f[k].c > 0 ? '+' : '-',
				     total ? 100.0 * fabs(f[k].c) / total : 0.0, text.data);
		} else {
			crm_buf_adds(b, shown ? ",{\"feature\":" : "{\"feature\":");
			crm_json_str(b, d->feat[j].name, strlen(d->feat[j].name));
			crm_buf_addf(b, ",\"effect\":%.4f,\"share\":%.4f,\"text\":", f[k].c,
				     total ? fabs(f[k].c) / total : 0.0);
			crm_json_str(b, text.data, text.len);
			crm_buf_addc(b, '}');
		}
		shown++;
	}
	if (!table)
		crm_buf_addc(b, ']');
	if (with_nba) {
		struct crm_action a;

		if (crm_next_action(the_db, d, i, p, &a, &e) < 0)
			cli_die_err(&e);
		if (table) {
			crm_buf_addf(b, "  next: %s\n", a.title);
			for (int r = 0; r < a.nreasons; r++)
				crm_buf_addf(b, "        %s\n", a.reason[r]);
		} else {
			crm_buf_addf(b, ",\"next_action\":{\"action\":\"%s\",\"title\":\"%s\",\"reasons\":[",
				     a.action, a.title);
			for (int r = 0; r < a.nreasons; r++) {
				if (r)
					crm_buf_addc(b, ',');
				crm_json_str(b, a.reason[r], strlen(a.reason[r]));
			}
			crm_buf_adds(b, "]}");
		}
	}
	crm_buf_adds(b, table ? "\n" : "}\n");
	crm_buf_release(&text);
}

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
	the_db = db;
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
				hist = history_of(db, m.id);
				/* Without the rates of a scoring run, build it all. */
				if (!hist && crm_dataset_build(&d, db, NULL, &m.schema, &e) < 0)
					cli_die_err(&e);
				loaded = 1;
			}
			if (hist) {
				/* Just this record, with the history rates that
				 * the last scoring run stored. */
				struct crm_dataset one;

				crm_dataset_init(&one, t);
				one.only_id = ids[k];
				if (crm_dataset_build(&one, db, NULL, &m.schema, &e) < 0 ||
				    (one.n == 1 && crm_dataset_set_history(&one, hist, &e) < 0))
					cli_die_err(&e);
				if (one.n != 1) {
					cli_warn("no %s '%s'", t->kind, ids[k]);
					status = CRM_EDATA;
				} else {
					crm_buf_reset(&b);
					explain(&m, &one, 0, top, table, &b);
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
			explain(&m, &d, (size_t)row, top, table, &b);
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
