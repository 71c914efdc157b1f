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
#include "crm-audit.h"

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
static int fmt = -1;

static int tty_out(void)
{
	return fmt == CLI_TABLE;
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
	int failed;

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
	for (size_t k = 0; k < n; k++) {
		if (!c[k].run)
			continue;
		crm_buf_reset(&b);
		crm_check_json(&b, kind, &c[k]);
		if (findings.len > 1)
			crm_buf_addc(&findings, ',');
		crm_buf_add(&findings, b.data, b.len);
		crm_buf_addc(&b, '\n');
		if (!tty_out())
			cli_write(b.data, b.len);
	}
	crm_buf_addc(&findings, ']');
	if (store) {
		crm_buf_reset(&b);
		crm_checks_params(&b, c, n, ret);
		if (crm_audit_store(db, kind, NULL, NULL, b.data, findings.data, failed, id, &e) < 0)
			cli_die_err(&e);
	}
	crm_buf_reset(&b);
	if (tty_out()) {
		crm_checks_table(&b, c, n);
		crm_buf_addf(&b, "%s: %d check%s failed\n", failed ? "FAIL" : "PASS", failed, failed == 1 ? "" : "s");
	} else {
		crm_checks_verdict_json(&b, kind, id, failed);
	}
	cli_write(b.data, b.len);
	if (report && crm_checks_report(c, n, kind, report, &e) < 0)
		cli_die_err(&e);
	if (!quiet && !tty_out())
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
	char suite[64];
	int key, rc = 0;
	long bits;

	memset(&a, 0, sizeof(a));
	crm_audit_bias_default(&a.b);
	a.store = 1;
	crm_retention_default(&ret);
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't': a.b.type = cli_type(arg, "contact", "deal"); break;
		case O_BY:
			if (a.b.nby == CRM_AUDIT_MAXATTR)
				cli_die(CRM_EUSAGE, "--by: at most %d attributes (their intersection is audited too)", CRM_AUDIT_MAXATTR);
			a.b.by[a.b.nby++] = arg;
			break;
		case O_MODEL: a.model = arg; break;
		case O_TOP:
			if (!crm_audit_top_valid(arg))
				cli_die(CRM_EUSAGE, "--top: want a count or a percentage (20%%), not '%s'", arg);
			a.b.top = arg;
			break;
		case O_THRESHOLD: a.b.threshold = cli_num("threshold", arg, 0, 100); break;
		case O_MIN_RATIO: a.b.fo.min_ratio = cli_num("min-ratio", arg, 0, 1); break;
		case O_MAX_DIFF: a.b.fo.max_diff = cli_num("max-diff", arg, 0, 1); break;
		case O_CONFIDENCE: a.b.fo.confidence = cli_num("confidence", arg, 0.5, 0.999); break;
		case O_BOOTSTRAP: a.b.fo.resamples = (int)cli_num("bootstrap", arg, 0, 100000); break;
		case O_MIN_GROUP: a.b.fo.min_group = (size_t)cli_num("min-group", arg, 1, 1e9); break;
		case O_BINS: a.b.bins = (int)cli_num("bins", arg, 2, 64); break;
		case O_SEED: a.b.fo.seed = (uint64_t)cli_num("seed", arg, 0, 1e18); break;
		case O_FAIL_ON:
			if ((bits = crm_fair_parse_metrics(arg)) < 0)
				cli_die(CRM_EUSAGE, "--fail-on '%s': want a list of ratio, parity, tpr, fpr, calibration (or all, none)", arg);
			a.b.fail_on = (unsigned)bits;
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
		case 'f': fmt = cli_format(arg); break;
		}
	}
	if (fmt < 0)
		fmt = cli_format(NULL);
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
	if (fmt >= CLI_JUNIT && !strcmp(cmd, "history"))
		cli_die(CRM_EUSAGE, "--format %s: for bias, quality, privacy and trail",
			fmt == CLI_JUNIT ? "junit" : "github");
	cli_ci_begin(fmt);
	if (!strcmp(cmd, "bias"))
		rc = audit_bias(db, &a, tty_out());
	else if (!strcmp(cmd, "quality") || !strcmp(cmd, "privacy"))
		rc = cmd_checks(db, cmd, max, nmax, only, nonly, &ret, a.report, a.store, a.quiet);
	else if (!strcmp(cmd, "history")) {
		kind = optind + 1 < argc ? argv[optind + 1] : NULL;
		rc = cmd_history(db, kind);
	} else if (!strcmp(cmd, "trail"))
		rc = cmd_trail(db);
	else
		cli_die(CRM_EUSAGE, "unknown audit '%s' (want bias, quality, privacy, history or trail)", cmd);
	snprintf(suite, sizeof(suite), "crm-audit %s", cmd);
	cli_ci_end(fmt, suite);
	crm_store_close(db);
	return cli_finish(rc);
}
