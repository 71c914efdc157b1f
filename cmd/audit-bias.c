/*
 * audit-bias.c - crm-audit bias: how fair the scores' selection is, by
 * group, with what-ifs; printed, stored, and in a report.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/fairness.h"
#include "../lib/reader.h"
#include "../lib/report.h"
#include "cli.h"
#include "crm-audit.h"

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
		crm_report_bias(s->rep, label, f, s->a->b.fail_on);
	if (s->tty) {
		char l2[400];

		struct crm_buf t;

		snprintf(l2, sizeof(l2), "%s (reference %s; parity difference %.3f, ratio %.3f)", label,
			 f->ref >= 0 ? f->g[f->ref].name : "none", f->dp_difference, f->dp_ratio);
		crm_buf_init(&t, 0);
		crm_fair_table(&t, l2, f, s->a->b.fail_on);
		cli_write(t.data, t.len);
		crm_buf_release(&t);
	} else if (s->print) {
		cli_write(groups->data, groups->len);
		cli_write(line->data, line->len);
	}
}

/* Measure every attribute set of pop; count violations. */
static int measure(struct crm_audit_pop *pop, const struct bias_args *a, float thr,
		   struct crm_buf *findings, struct crm_report *rep, double *min_ratio)
{
	struct shown s = { a, rep, 1, a->tty };
	struct crm_err e = { 0 };
	int v = crm_audit_measure(pop, &a->b.fo, a->b.fail_on, a->b.bins, thr, findings, show_set, &s,
				  min_ratio, &e);

	if (v < 0)
		cli_die_err(&e);
	return v;
}

int audit_bias(struct crm_store *db, struct bias_args *a, int tty)
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

	a->tty = tty;

	if (!a->b.nby)
		cli_die(CRM_EUSAGE, "bias: say which attribute to audit with --by (a column or custom field)");
	if ((db ? crm_audit_pop_open(&pop, db, a->b.type, a->b.by, a->b.nby, &e)
		: crm_audit_pop_open_own(&pop, a->b.type, a->b.by, a->b.nby, &e)) < 0)
		cli_die_err(&e);
	if (piped) {
		read_stdin(&pop);
	} else {
		struct crm_model m;

		crm_model_init(&m);
		if (crm_model_load(db, a->b.type, a->model, &m, &e) < 0)
			cli_die_err(&e);
		snprintf(model, sizeof(model), "%s", m.id);
		crm_model_release(&m);
		if (crm_audit_pop_model(&pop, db, model, &e) < 0)
			cli_die_err(&e);
	}
	if ((thr = crm_audit_operating_point(&pop, a->b.threshold, a->b.top, &nsel)) < 0)
		cli_die(CRM_ESOFTWARE, "out of memory");
	for (size_t i = 0; i < pop.n; i++) {
		nout += (pop.role[i] & CRM_FAIR_OUT) != 0;
		nsel_chosen += (pop.role[i] & CRM_FAIR_SEL) && pop.p[i] >= thr;
	}
	if (!pop.n)
		cli_die(CRM_EDATA, "nothing to audit: no scored %ss%s", a->b.type->kind,
			piped ? " on stdin" : " (run 'crm-score --all' first)");
	crm_buf_init(&findings, 0);
	crm_buf_init(&params, 0);
	crm_buf_addc(&findings, '[');
	crm_report_init(&rep);
	violations = measure(&pop, a, thr, &findings, a->report ? &rep : NULL, &min_ratio);
	crm_buf_addc(&findings, ']');
	/* The overrides in force, which the audit is partly about. */
	if (db) {
		struct crm_stmt *st;
		struct crm_buf b;

		if (crm_override_rows(db, a->b.type->kind, 0, &st, &e) < 0)
			cli_die_err(&e);
		crm_buf_init(&b, 0);
		while (crm_stmt_step(st, &e) > 0) {
			crm_buf_reset(&b);
			crm_audit_override_json(&b, st);
			if (a->tty)
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
		struct crm_audit_whatif_result r;
		struct crm_buf b;

		if (piped)
			cli_die(CRM_EUSAGE, "--what-if rescores from the database; not with records on stdin");
		crm_buf_init(&b, 0);
		if (crm_audit_whatif_run(db, &a->b, &a->whatif[w], a->whatif_spec[w], &r, &b, &e) < 0)
			cli_die_err(&e);
		if (a->tty)
			printf("what if %s: violations %d -> %d, lowest impact ratio %.3f -> %.3f, AUC %.4f -> %.4f\n",
			       a->whatif_spec[w], r.violations[0], r.violations[1], r.min_ratio[0],
			       r.min_ratio[1], r.auc[0], r.auc[1]);
		else
			cli_write(b.data, b.len);
		crm_report_whatif(&rep, b.data);
		crm_buf_release(&b);
	}
	if (crm_audit_bias_params(&params, a->b.by, a->b.nby, thr, &a->b.fo, piped ? "stdin" : "scores") < 0)
		cli_die(CRM_ESOFTWARE, "out of memory");
	id[0] = 0;
	if (a->store && db && crm_audit_store(db, "bias", a->b.type->kind, *model ? model : NULL, params.data,
					findings.data, violations, id, &e) < 0)
		cli_die_err(&e);
	if (a->tty) {
		printf("%s: %zu scored, top %zu selected (score >= %.0f), %zu with outcomes: %d violation%s\n",
		       violations ? "FAIL" : "PASS", nsel, nsel_chosen, 100 * thr, nout, violations,
		       violations == 1 ? "" : "s");
	} else {
		crm_buf_reset(&params);
		crm_audit_bias_json(&params, *id ? id : NULL, a->b.type->kind, *model ? model : NULL, thr, nsel,
				    nsel_chosen, nout, violations);
		cli_write(params.data, params.len);
	}
	if (a->report) {
		if ((db && crm_report_history(&rep, db, "bias", a->b.type->kind, &e) < 0) ||
		    crm_report_write(&rep, a->report, "Bias audit", &e) < 0)
			cli_die_err(&e);
	}
	if (!a->quiet && !a->tty)
		cli_log(CLI_INFO, "bias: %d violation%s among %zu scored %ss (top %zu selected)%s%s", violations, violations == 1 ? "" : "s", nsel, a->b.type->kind,
			nsel_chosen, a->report ? "; report in " : "", a->report ? a->report : "");
	crm_report_release(&rep);
	crm_buf_release(&findings);
	crm_buf_release(&params);
	crm_audit_pop_release(&pop);
	return violations ? 1 : 0;
}

