/*
 * crm-audit - bias audits of the scoring models, data-quality and privacy
 * checks; each a command with an exit status, for cron and CI.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/audit.h"
#include "../lib/cireport.h"
#include "../lib/checks.h"
#include "../lib/crypt.h"
#include "../lib/store/store.h"
#include "../lib/privacy.h"
#include "../lib/fairness.h"
#include "../lib/model.h"
#include "../lib/ndjson.h"
#include "../lib/reader.h"
#include "../lib/report.h"
#include "cli.h"

enum { O_BY = 256, O_MODEL, O_TOP, O_THRESHOLD, O_MIN_RATIO, O_MAX_DIFF,
       O_CONFIDENCE, O_BOOTSTRAP, O_MIN_GROUP, O_BINS, O_FAIL_ON, O_REPORT,
       O_WHAT_IF, O_SEED, O_NO_STORE, O_MAX, O_RETAIN, O_CHECK };

static const struct cli_opt opts[] = {
	{ "by", O_BY, "ATTR", "bias: group by a column or custom field (twice: also their intersection)" },
	{ "type", 't', "TYPE", "contact (default) or deal" },
	{ "model", O_MODEL, "ID", "bias: audit this model (default: the active one)" },
	{ "top", O_TOP, "N|P%", "bias: the operating point is the top N (or P%) of records (default 20%)" },
	{ "threshold", O_THRESHOLD, "SCORE", "bias: the operating point is a score (0-100) instead" },
	{ "min-ratio", O_MIN_RATIO, "X", "bias: lowest fair disparate impact ratio (default 0.8)" },
	{ "max-diff", O_MAX_DIFF, "X", "bias: largest fair difference of rates (default 0.1)" },
	{ "confidence", O_CONFIDENCE, "X", "bias: confidence of the intervals (default 0.95)" },
	{ "bootstrap", O_BOOTSTRAP, "N", "bias: bootstrap resamples (default 1000; 0: none)" },
	{ "min-group", O_MIN_GROUP, "N", "bias: smaller groups are flagged, not judged (default 30)" },
	{ "bins", O_BINS, "N", "bias: bands of a numeric attribute (default 4)" },
	{ "fail-on", O_FAIL_ON, "LIST", "bias: metrics that fail the audit (default ratio,parity,tpr,fpr)" },
	{ "what-if", O_WHAT_IF, "CHANGE", "bias: also measure with exclude:F, scale:F=X, monotone:F=1 or clear:F" },
	{ "report", O_REPORT, "FILE", "write an HTML report with plots and the audit history" },
	{ "seed", O_SEED, "N", "bias: random seed of the bootstrap (default 1)" },
	{ "max", O_MAX, "CHECK=X", "quality, privacy: the threshold of a check" },
	{ "check", O_CHECK, "CHECK", "quality, privacy: run only these checks (repeatable)" },
	{ "retain", O_RETAIN, "KIND=DAYS", "privacy: retention period (interactions, leads, erasure)" },
	{ "no-store", O_NO_STORE, NULL, "do not record this run in the audit history" },
	{ "format", 'f', "FMT", "table (default on a terminal), ndjson, junit or github" },
	{ "quiet", 'q', NULL, "no summary on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-audit", "bias --by ATTR [--by ATTR] [options] [< scored.ndjson]\n"
	"       crm-audit quality [--max CHECK=X]... [--check CHECK]...\n"
	"       crm-audit privacy [--retain KIND=DAYS]... [--max CHECK=X]...\n"
	"       crm-audit history [KIND]\n"
	"       crm-audit trail",
	"Audit the scores for bias, and the data for quality and privacy; exit 1 on a violation.",
	opts,
};

/* What is written: a table, NDJSON, or NDJSON reshaped for CI at the end. */
enum { FMT_NDJSON, FMT_TABLE, FMT_JUNIT, FMT_GITHUB };
static int fmt = -1;

static int tty_out(void)
{
	return fmt == FMT_TABLE;
}

static int parse_format(const char *arg)
{
	static const char *const names[] = { "ndjson", "table", "junit", "github" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(arg, names[i]))
			return i;
	cli_die(CRM_EUSAGE, "--format: want table, ndjson, junit or github, not '%s'", arg);
}

/* The run's NDJSON in captured, written as JUnit XML or GitHub commands. */
static void write_ci(const char *cmd, const struct crm_buf *captured, double secs)
{
	struct crm_buf out, suite;
	struct crm_err e = { 0 };
	char host[256] = "", stamp[32];

	crm_buf_init(&out, 0);
	crm_buf_init(&suite, 0);
	crm_buf_addf(&suite, "crm-audit %s", cmd);
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	crm_timestamp(stamp, sizeof(stamp));
	stamp[19] = '\0';	/* YYYY-MM-DDTHH:MM:SS, as JUnit's schema has it */
	if (crm_ci_report(&out, fmt == FMT_JUNIT ? CRM_CI_JUNIT : CRM_CI_GITHUB, suite.data,
			  captured->data ? captured->data : "", captured->len, host, stamp, secs, &e) < 0)
		cli_die_err(&e);
	cli_write(out.data, out.len);
	crm_buf_release(&out);
	crm_buf_release(&suite);
}

/* trail: check the audit trail's hash chain; exit 1 when it is broken. */
static int cmd_trail(struct crm_store *db)
{
	struct crm_trail_verify v;
	struct crm_err e = { 0 };
	char line[256];

	if (crm_trail_verify(db, &v, &e) < 0)
		cli_die_err(&e);
	snprintf(line, sizeof(line),
		 "{\"type\":\"trail\",\"status\":\"%s\",\"entries\":%lld,\"broken_at\":%lld,\"head\":\"%s\"}\n",
		 v.broken_at ? "fail" : "pass", v.entries, v.broken_at, v.head);
	cli_write(line, strlen(line));
	if (v.broken_at)
		cli_warn("audit trail: entry %lld does not follow from the one before it (changed, inserted or deleted)",
			 v.broken_at);
	return v.broken_at ? CRM_EFINDING : 0;
}

/* Everything the bias command was asked. */
struct bias_args {
	const struct crm_entity *type;
	const char *by[CRM_AUDIT_MAXATTR];
	size_t nby;
	const char *model, *report;
	const char *top;		/* "N" or "P%" */
	double threshold;		/* score, or NAN */
	int bins, store, quiet;
	unsigned fail_on;
	struct crm_fair_opts fo;
	struct crm_override whatif[16];
	const char *whatif_spec[16];
	size_t nwhatif;
};

/* Rows piped in: records with an id and a score or probability, and an
 * outcome where known. */
static void read_stdin(struct crm_audit_pop *pop)
{
	struct crm_reader r;
	struct crm_err e = { 0 };
	size_t unknown = 0;

	if (crm_reader_open(&r, "-", 0, &e) < 0 || crm_audit_pop_read(pop, &r, "stdin", &unknown, &e) < 0)
		cli_die_err(&e);
	crm_reader_release(&r);
	if (unknown)
		cli_warn("%zu records on stdin are not live %ss in the database: left out",
			 unknown, pop->type->kind);
}

/* How one attribute set is shown: a table on a terminal, else its
 * records; and in the report. */
struct shown {
	const struct bias_args *a;
	struct crm_report *rep;
	int print, tty;
};

static void show_set(void *ctx, const char *label, const struct crm_fair *f,
		     const struct crm_buf *groups, const struct crm_buf *line)
{
	const struct shown *s = ctx;

	if (s->rep)
		crm_report_bias(s->rep, label, f, s->a->fail_on);
	if (s->tty) {
		char l2[400];

		struct crm_buf t;

		snprintf(l2, sizeof(l2), "%s (reference %s; parity difference %.3f, ratio %.3f)", label,
			 f->ref >= 0 ? f->g[f->ref].name : "none", f->dp_difference, f->dp_ratio);
		crm_buf_init(&t, 0);
		crm_fair_table(&t, l2, f, s->a->fail_on);
		cli_write(t.data, t.len);
		crm_buf_release(&t);
	} else if (s->print) {
		cli_write(groups->data, groups->len);
		cli_write(line->data, line->len);
	}
}

/* Measure every attribute set of pop (a what-if's quietly); count violations. */
static int measure(struct crm_audit_pop *pop, const struct bias_args *a, float thr,
		   struct crm_buf *findings, struct crm_report *rep, const char *whatif,
		   int print, double *min_ratio)
{
	struct shown s = { a, whatif ? NULL : rep, print && !whatif, print && !whatif && tty_out() };
	struct crm_err e = { 0 };
	int v = crm_audit_measure(pop, &a->fo, a->fail_on, a->bins, thr, findings, show_set, &s,
				  min_ratio, &e);

	if (v < 0)
		cli_die_err(&e);
	return v;
}

/* The operating point as a probability (crm_audit_operating_point). */
static float operating_point(const struct crm_audit_pop *pop, const struct bias_args *a,
			     size_t *nsel)
{
	float thr = crm_audit_operating_point(pop, a->threshold, a->top, nsel);

	if (thr < 0)
		cli_die(CRM_ESOFTWARE, "out of memory");
	return thr;
}

static int cmd_bias(struct crm_store *db, struct bias_args *a)
{
	struct crm_audit_pop pop;
	struct crm_err e = { 0 };
	struct crm_buf findings, params;
	struct crm_report rep;
	char model[CRM_ID_MAX] = "", id[CRM_ID_MAX];
	size_t nsel, nout = 0, nsel_chosen = 0;
	float thr;
	int violations, piped = cli_stdin_records();
	double min_ratio;

	if (!a->nby)
		cli_die(CRM_EUSAGE, "bias: say which attribute to audit with --by (a column or custom field)");
	if ((db ? crm_audit_pop_open(&pop, db, a->type, a->by, a->nby, &e)
		: crm_audit_pop_open_own(&pop, a->type, a->by, a->nby, &e)) < 0)
		cli_die_err(&e);
	if (piped) {
		read_stdin(&pop);
	} else {
		struct crm_model m;

		crm_model_init(&m);
		if (crm_model_load(db, a->type, a->model, &m, &e) < 0)
			cli_die_err(&e);
		snprintf(model, sizeof(model), "%s", m.id);
		crm_model_release(&m);
		if (crm_audit_pop_model(&pop, db, model, &e) < 0)
			cli_die_err(&e);
	}
	thr = operating_point(&pop, a, &nsel);
	for (size_t i = 0; i < pop.n; i++) {
		nout += (pop.role[i] & CRM_FAIR_OUT) != 0;
		nsel_chosen += (pop.role[i] & CRM_FAIR_SEL) && pop.p[i] >= thr;
	}
	if (!pop.n)
		cli_die(CRM_EDATA, "nothing to audit: no scored %ss%s", a->type->kind,
			piped ? " on stdin" : " (run 'crm-score --all' first)");
	crm_buf_init(&findings, 0);
	crm_buf_init(&params, 0);
	crm_buf_addc(&findings, '[');
	crm_report_init(&rep);
	violations = measure(&pop, a, thr, &findings, a->report ? &rep : NULL, NULL, 1, &min_ratio);
	crm_buf_addc(&findings, ']');
	/* The overrides in force, which the audit is partly about. */
	if (db) {
		struct crm_stmt *st;
		struct crm_buf b;

		if (crm_override_rows(db, a->type->kind, 0, &st, &e) < 0)
			cli_die_err(&e);
		crm_buf_init(&b, 0);
		while (crm_stmt_step(st, &e) > 0) {
			crm_buf_reset(&b);
			crm_audit_override_json(&b, st);
			if (tty_out())
				printf("override in force: %s %s (%s: %s)\n", crm_stmt_text(st, 2),
				       crm_stmt_text(st, 1), crm_stmt_text(st, 4), crm_stmt_text(st, 5));
			else
				cli_write(b.data, b.len);
			crm_report_override(&rep, b.data);
		}
		crm_stmt_free(st);
		crm_buf_release(&b);
	}
	/* What if: before and after, in memory, nothing stored. */
	for (size_t w = 0; w < a->nwhatif; w++) {
		struct crm_audit_pop before, after;
		double auc[2], mr[2];
		int v[2];
		float t2[2];
		size_t ns;
		struct crm_buf b;

		if (piped)
			cli_die(CRM_EUSAGE, "--what-if rescores from the database; not with records on stdin");
		if (crm_audit_pop_open(&before, db, a->type, a->by, a->nby, &e) < 0 ||
		    crm_audit_pop_open(&after, db, a->type, a->by, a->nby, &e) < 0 ||
		    crm_audit_whatif(db, &a->whatif[w], 1, &before, &after, auc, &e) < 0)
			cli_die_err(&e);
		t2[0] = operating_point(&before, a, &ns);
		t2[1] = operating_point(&after, a, &ns);
		v[0] = measure(&before, a, t2[0], NULL, NULL, a->whatif_spec[w], 0, &mr[0]);
		v[1] = measure(&after, a, t2[1], NULL, NULL, a->whatif_spec[w], 0, &mr[1]);
		crm_buf_init(&b, 0);
		if (crm_audit_whatif_json(&b, a->whatif_spec[w], v, mr, auc) < 0)
			cli_die(CRM_ESOFTWARE, "out of memory");
		if (tty_out())
			printf("what if %s: violations %d -> %d, lowest impact ratio %.3f -> %.3f, AUC %.4f -> %.4f\n",
			       a->whatif_spec[w], v[0], v[1], mr[0], mr[1], auc[0], auc[1]);
		else
			cli_write(b.data, b.len);
		crm_report_whatif(&rep, b.data);
		crm_buf_release(&b);
		crm_audit_pop_release(&before);
		crm_audit_pop_release(&after);
	}
	if (crm_audit_bias_params(&params, a->by, a->nby, thr, &a->fo, piped ? "stdin" : "scores") < 0)
		cli_die(CRM_ESOFTWARE, "out of memory");
	id[0] = 0;
	if (a->store && db && crm_audit_store(db, "bias", a->type->kind, *model ? model : NULL, params.data,
					findings.data, violations, id, &e) < 0)
		cli_die_err(&e);
	if (tty_out()) {
		printf("%s: %zu scored, top %zu selected (score >= %.0f), %zu with outcomes: %d violation%s\n",
		       violations ? "FAIL" : "PASS", nsel, nsel_chosen, 100 * thr, nout, violations,
		       violations == 1 ? "" : "s");
	} else {
		crm_buf_reset(&params);
		crm_audit_bias_json(&params, *id ? id : NULL, a->type->kind, *model ? model : NULL, thr, nsel,
				    nsel_chosen, nout, violations);
		cli_write(params.data, params.len);
	}
	if (a->report) {
		if ((db && crm_report_history(&rep, db, "bias", a->type->kind, &e) < 0) ||
		    crm_report_write(&rep, a->report, "Bias audit", &e) < 0)
			cli_die_err(&e);
	}
	if (!a->quiet && !tty_out())
		cli_log(CLI_INFO, "bias: %d violation%s among %zu scored %ss (top %zu selected)%s%s", violations, violations == 1 ? "" : "s", nsel, a->type->kind,
			nsel_chosen, a->report ? "; report in " : "", a->report ? a->report : "");
	crm_report_release(&rep);
	crm_buf_release(&findings);
	crm_buf_release(&params);
	crm_audit_pop_release(&pop);
	return violations ? 1 : 0;
}

static const char *const status_name[] = { "pass", "fail", "skip" };

/* quality or privacy: run the checks, print, store; exit 1 on a failure. */
static int cmd_checks(struct crm_store *db, const char *kind, const char *const *max, size_t nmax,
		      const char *const *only, size_t nonly, const struct crm_retention *ret,
		      const char *report, int store, int quiet)
{
	struct crm_check c[32];
	size_t n = crm_checks(kind, c, 32);
	struct crm_err e = { 0 };
	struct crm_buf findings, b;
	const char *key = crm_crypt_key_file();
	char id[CRM_ID_MAX] = "";
	int failed, tty = tty_out();

	for (size_t k = 0; k < nmax; k++)
		if (crm_check_set_max(c, n, max[k]) < 0)
			cli_die(CRM_EUSAGE, "--max '%s': want CHECK=NUMBER with a %s check", max[k], kind);
	if (crm_checks_only(c, n, kind, only, nonly, &e) < 0)
		cli_die_err(&e);
	if ((failed = crm_checks_run(db, c, n, ret, key && *key, &e)) < 0)
		cli_die_err(&e);
	crm_buf_init(&findings, 0);
	crm_buf_init(&b, 0);
	crm_buf_addc(&findings, '[');
	if (tty)
		printf("%-26s %-7s %10s %10s %9s %9s  %s\n", "CHECK", "STATUS", "COUNT", "OF", "VALUE", "MAX", "WHAT");
	for (size_t k = 0; k < n; k++) {
		if (!c[k].run)
			continue;
		crm_buf_reset(&b);
		crm_check_json(&b, kind, &c[k]);
		if (findings.len > 1)
			crm_buf_addc(&findings, ',');
		crm_buf_add(&findings, b.data, b.len);
		crm_buf_addc(&b, '\n');
		if (tty)
			printf("%-26s %-7s %10lld %10lld %9.4g %9g  %s%s%s\n", c[k].name,
			       c[k].status == CRM_CHECK_FAIL ? "FAIL" : status_name[c[k].status],
			       c[k].count, c[k].total, c[k].value, c[k].max, c[k].what,
			       *c[k].note ? "; " : "", c[k].note);
		else
			cli_write(b.data, b.len);
	}
	crm_buf_addc(&findings, ']');
	if (store) {
		crm_buf_reset(&b);
		crm_checks_params(&b, c, n, ret);
		if (crm_audit_store(db, kind, NULL, NULL, b.data, findings.data, failed, id, &e) < 0)
			cli_die_err(&e);
	}
	if (tty) {
		printf("%s: %d check%s failed\n", failed ? "FAIL" : "PASS", failed, failed == 1 ? "" : "s");
	} else {
		crm_buf_reset(&b);
		crm_buf_addf(&b, "{\"type\":\"audit\",\"kind\":\"%s\",\"id\":%s%s%s,\"failed\":%d,\"verdict\":\"%s\"}\n",
			     kind, *id ? "\"" : "", *id ? id : "null", *id ? "\"" : "", failed, failed ? "fail" : "pass");
		cli_write(b.data, b.len);
	}
	if (report) {
		struct crm_report rep;
		char title[64];

		crm_report_init(&rep);
		crm_buf_reset(&b);
		crm_checks_html(&b, c, n);
		crm_buf_add(&rep.body, b.data, b.len);
		snprintf(title, sizeof(title), "%s audit", kind);
		title[0] = (char)(title[0] - 32);
		if (crm_report_write(&rep, report, title, &e) < 0)
			cli_die_err(&e);
		crm_report_release(&rep);
	}
	if (!quiet && !tty)
		cli_log(CLI_INFO, "%s: %d check%s failed", kind, failed, failed == 1 ? "" : "s");
	crm_buf_release(&findings);
	crm_buf_release(&b);
	return failed ? 1 : 0;
}

static int audit_row(struct crm_buf *b, struct crm_stmt *st, void *ctx)
{
	(void)ctx;
	return crm_audit_row_json(b, st);
}

/* The stored audit runs, oldest first. */
static int cmd_history(struct crm_store *db, const char *kind)
{
	static const char *const keys[] = { "id:20", "at:24", "kind:8", "entity:8", "model:20",
					    "violations:10", "verdict", NULL };
	struct crm_err e = { 0 };
	struct crm_stmt *st;

	if (crm_audit_rows(db, kind, &st, &e) < 0)
		cli_die_err(&e);
	cli_rows(st, audit_row, NULL, keys, tty_out());
	return 0;
}

int main(int argc, char **argv)
{
	struct bias_args a;
	struct crm_retention ret;
	const char *arg, *cmd, *max[32], *only[32], *kind = NULL;
	size_t nmax = 0, nonly = 0;
	struct crm_err e = { 0 };
	struct crm_store *db;
	struct crm_buf captured;
	double t0;
	int key, rc = 0;
	long bits;

	memset(&a, 0, sizeof(a));
	a.type = crm_entity_find("contact");
	a.top = "20%";
	a.threshold = NAN;
	a.bins = 4;
	a.store = 1;
	a.fail_on = CRM_FAIR_DEFAULT;
	crm_fair_opts_default(&a.fo);
	crm_retention_default(&ret);
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't': a.type = cli_type(arg, "contact", "deal"); break;
		case O_BY:
			if (a.nby == CRM_AUDIT_MAXATTR)
				cli_die(CRM_EUSAGE, "--by: at most %d attributes (their intersection is audited too)", CRM_AUDIT_MAXATTR);
			a.by[a.nby++] = arg;
			break;
		case O_MODEL: a.model = arg; break;
		case O_TOP: {
			char *end;
			double v = strtod(arg, &end);

			if (end == arg || v <= 0 || (*end && strcmp(end, "%")) || (*end == '%' && v > 100))
				cli_die(CRM_EUSAGE, "--top: want a count or a percentage (20%%), not '%s'", arg);
			a.top = arg;
			break;
		}
		case O_THRESHOLD: a.threshold = cli_num("threshold", arg, 0, 100); break;
		case O_MIN_RATIO: a.fo.min_ratio = cli_num("min-ratio", arg, 0, 1); break;
		case O_MAX_DIFF: a.fo.max_diff = cli_num("max-diff", arg, 0, 1); break;
		case O_CONFIDENCE: a.fo.confidence = cli_num("confidence", arg, 0.5, 0.999); break;
		case O_BOOTSTRAP: a.fo.resamples = (int)cli_num("bootstrap", arg, 0, 100000); break;
		case O_MIN_GROUP: a.fo.min_group = (size_t)cli_num("min-group", arg, 1, 1e9); break;
		case O_BINS: a.bins = (int)cli_num("bins", arg, 2, 64); break;
		case O_SEED: a.fo.seed = (uint64_t)cli_num("seed", arg, 0, 1e18); break;
		case O_FAIL_ON:
			if ((bits = crm_fair_parse_metrics(arg)) < 0)
				cli_die(CRM_EUSAGE, "--fail-on '%s': want a list of ratio, parity, tpr, fpr, calibration (or all, none)", arg);
			a.fail_on = (unsigned)bits;
			break;
		case O_WHAT_IF:
			if (a.nwhatif == 16)
				cli_die(CRM_EUSAGE, "--what-if: at most 16");
			if (crm_override_parse(arg, &a.whatif[a.nwhatif], &e) < 0)
				cli_die(CRM_EUSAGE, "--what-if %s", e.msg);
			a.whatif_spec[a.nwhatif++] = arg;
			break;
		case O_REPORT: a.report = arg; break;
		case O_NO_STORE: a.store = 0; break;
		case O_MAX:
			if (nmax == 32)
				cli_die(CRM_EUSAGE, "--max: at most 32");
			max[nmax++] = arg;
			break;
		case O_CHECK:
			if (nonly == 32)
				cli_die(CRM_EUSAGE, "--check: at most 32");
			only[nonly++] = arg;
			break;
		case O_RETAIN:
			if (crm_retention_set(&ret, arg) < 0)
				cli_die(CRM_EUSAGE, "--retain '%s': want interactions=DAYS, leads=DAYS or erasure=DAYS", arg);
			break;
		case 'q': a.quiet = 1; break;
		case 'f': fmt = parse_format(arg); break;
		}
	}
	if (fmt < 0)
		fmt = cli_isatty(1) ? FMT_TABLE : FMT_NDJSON;
	if (optind >= argc)
		cli_die(CRM_EUSAGE, "say what to audit: bias, quality or privacy (see --help)");
	cmd = argv[optind];
	if (optind + 1 < argc && strcmp(cmd, "history"))
		cli_die(CRM_EUSAGE, "%s: unexpected argument '%s'", cmd, argv[optind + 1]);
	if (crm_store_open(&db, crm_store_target(cli_db), 0, &e) < 0) {
		/* Records piped in are audited from their own fields, and the
		 * run is stored only where a database exists. */
		if (e.code != CRM_ENOINPUT || strcmp(cmd, "bias") || !cli_stdin_records())
			cli_die_err(&e);
		db = NULL;
	}
	if (fmt >= FMT_JUNIT) {
		if (!strcmp(cmd, "history"))
			cli_die(CRM_EUSAGE, "--format %s: for bias, quality, privacy and trail",
				fmt == FMT_JUNIT ? "junit" : "github");
		crm_buf_init(&captured, 0);
		cli_capture(&captured);
	}
	t0 = crm_now();
	if (!strcmp(cmd, "bias"))
		rc = cmd_bias(db, &a);
	else if (!strcmp(cmd, "quality") || !strcmp(cmd, "privacy"))
		rc = cmd_checks(db, cmd, max, nmax, only, nonly, &ret, a.report, a.store, a.quiet);
	else if (!strcmp(cmd, "history")) {
		kind = optind + 1 < argc ? argv[optind + 1] : NULL;
		rc = cmd_history(db, kind);
	} else if (!strcmp(cmd, "trail"))
		rc = cmd_trail(db);
	else
		cli_die(CRM_EUSAGE, "unknown audit '%s' (want bias, quality, privacy, history or trail)", cmd);
	if (fmt >= FMT_JUNIT) {
		cli_capture(NULL);
		write_ci(cmd, &captured, crm_now() - t0);
		crm_buf_release(&captured);
	}
	crm_store_close(db);
	return cli_finish(rc);
}
