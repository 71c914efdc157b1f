/*
 * report.c - the HTML audit report. No script, no external resource: one
 * file that opens anywhere, plots drawn as inline SVG.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "report.h"
#include "store/store.h"

static const char *const colours[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
	"#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
#define NCOLOURS (sizeof(colours) / sizeof(colours[0]))

void crm_report_init(struct crm_report *r)
{
	crm_buf_init(&r->body, 0);
	r->min_ratio = 0.8;
}

void crm_report_release(struct crm_report *r)
{
	crm_buf_release(&r->body);
}

static void cell(struct crm_buf *b, double v, int pct)
{
	if (isfinite(v))
		crm_buf_addf(b, pct ? "<td>%.1f%%</td>" : "<td>%.3f</td>", pct ? 100 * v : v);
	else
		crm_buf_adds(b, "<td>-</td>");
}

/* Plot area: 480 x 220, margins for axes. */
#define PW 480
#define PH 220
#define ML 40
#define MB 30

static double px(double x)
{
	return ML + x * (PW - ML - 10);
}

static double py(double y)
{
	return PH - MB - y * (PH - MB - 10);
}

static void axes(struct crm_buf *b, const char *xlabel, const char *ylabel, double ymax)
{
	crm_buf_addf(b, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">"
		     "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
		     "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
		     PW, PH, PW, PH, ML, PH - MB, PW - 10, PH - MB, ML, ML, PH - MB);
	for (int t = 0; t <= 4; t++)
		crm_buf_addf(b, "<text x=\"%d\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%.2g</text>",
			     ML - 4, py(t / 4.0) + 3, ymax * t / 4);
	crm_buf_addf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">", (PW + ML) / 2, PH - 4);
	crm_buf_add_xml(b, xlabel);
	crm_buf_addf(b, "</text><text x=\"12\" y=\"%d\" font-size=\"11\" transform=\"rotate(-90 12 %d)\" "
		     "text-anchor=\"middle\">", PH / 2, PH / 2);
	crm_buf_add_xml(b, ylabel);
	crm_buf_adds(b, "</text>");
}

static void legend(struct crm_buf *b, const struct crm_fair *f)
{
	crm_buf_adds(b, "<p class=\"legend\">");
	for (size_t k = 0, c = 0; k < f->ng; k++) {
		if (!f->g[k].n && !f->g[k].labelled)
			continue;
		crm_buf_addf(b, "<span style=\"color:%s\">&#9632; ", colours[c++ % NCOLOURS]);
		crm_buf_add_xml(b, f->g[k].name);
		crm_buf_adds(b, "</span> ");
	}
	crm_buf_adds(b, "</p>");
}

int crm_report_bias(struct crm_report *r, const char *label,
		    const struct crm_fair *f, unsigned fail_on)
{
	struct crm_buf *b = &r->body;
	size_t shown = 0, c;
	double ymax = 0;

	crm_buf_adds(b, "<section><h2>");
	crm_buf_add_xml(b, label);
	crm_buf_addf(b, "</h2><p>Demographic parity difference %.3f, ratio %.3f; equalized odds difference %.3f.</p>",
		     f->dp_difference, f->dp_ratio, f->eo_difference);
	crm_buf_adds(b, "<table><tr><th>group</th><th>n</th><th>selected</th><th>interval</th>"
		     "<th>impact ratio</th><th>interval</th><th>parity diff.</th><th>TPR diff.</th>"
		     "<th>FPR diff.</th><th>predicted</th><th>observed</th><th>verdict</th></tr>");
	for (size_t k = 0; k < f->ng; k++) {
		const struct crm_fair_group *g = &f->g[k];
		unsigned v = crm_fair_violations(f, k, fail_on);

		if (!g->n && !g->labelled)
			continue;
		shown++;
		if (isfinite(g->rate.hi))
			ymax = fmax(ymax, g->rate.hi);
		crm_buf_addf(b, "<tr class=\"%s\"><td>", v ? "bad" : "");
		crm_buf_add_xml(b, g->name);
		crm_buf_addf(b, "</td><td>%zu</td>", g->n);
		cell(b, g->rate.v, 1);
		if (isfinite(g->rate.lo))
			crm_buf_addf(b, "<td>%.1f-%.1f%%</td>", 100 * g->rate.lo, 100 * g->rate.hi);
		else
			crm_buf_adds(b, "<td>-</td>");
		cell(b, g->ratio.v, 0);
		if (isfinite(g->ratio.lo))
			crm_buf_addf(b, "<td>%.2f-%.2f</td>", g->ratio.lo, g->ratio.hi);
		else
			crm_buf_adds(b, "<td>-</td>");
		cell(b, g->parity.v, 0);
		cell(b, g->tpr_diff.v, 0);
		cell(b, g->fpr_diff.v, 0);
		cell(b, g->labelled ? g->pred_sum / (double)g->labelled : NAN, 1);
		cell(b, g->labelled ? (double)(g->tp + g->fn) / (double)g->labelled : NAN, 1);
		crm_buf_adds(b, "<td>");
		if (v) {
			for (unsigned bit = 1; bit <= CRM_FAIR_CALIB; bit <<= 1)
				if (v & bit)
					crm_buf_addf(b, "%s ", crm_fair_metric_name(bit));
		} else {
			crm_buf_adds(b, g->small ? "too small" : (long)k == f->ref ? "reference" : "ok");
		}
		crm_buf_adds(b, "</td></tr>");
	}
	crm_buf_adds(b, "</table><div class=\"plots\">");
	/* Selection rate per group, with intervals and the four-fifths line. */
	ymax = ymax > 0 ? fmin(1, ymax * 1.15) : 1;
	crm_buf_adds(b, "<figure>");
	axes(b, "group", "selection rate", ymax);
	c = 0;
	for (size_t k = 0; k < f->ng; k++) {
		const struct crm_fair_group *g = &f->g[k];
		double w = (PW - ML - 20.0) / (double)(shown ? shown : 1), x = ML + 5 + w * (double)c;

		if (!g->n && !g->labelled)
			continue;
		if (isfinite(g->rate.v))
			crm_buf_addf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
				     x, py(g->rate.v / ymax), w * 0.7, py(0) - py(g->rate.v / ymax), colours[c % NCOLOURS]);
		else
			crm_buf_adds(b, "<g><title>");
		crm_buf_add_xml(b, g->name);
		crm_buf_addf(b, ": %.1f%%</title>%s", 100 * g->rate.v, isfinite(g->rate.v) ? "</rect>" : "</g>");
		if (isfinite(g->rate.lo))
			crm_buf_addf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>",
				     x + w * 0.35, x + w * 0.35, py(g->rate.lo / ymax), py(g->rate.hi / ymax));
		c++;
	}
	if (f->ref >= 0 && isfinite(f->g[f->ref].rate.v))
		crm_buf_addf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"4\"/>"
			     "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" fill=\"#d62728\" text-anchor=\"end\">%.0f%% of the reference</text>",
			     ML, PW - 10, py(r->min_ratio * f->g[f->ref].rate.v / ymax), py(r->min_ratio * f->g[f->ref].rate.v / ymax),
			     PW - 12, py(r->min_ratio * f->g[f->ref].rate.v / ymax) - 3, 100 * r->min_ratio);
	crm_buf_adds(b, "</svg><figcaption>Selection rate per group with its interval; the dashed line is the four-fifths bar.</figcaption></figure>");
	/* Calibration: predicted against observed, per group. */
	crm_buf_adds(b, "<figure>");
	axes(b, "predicted", "observed", 1);
	crm_buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#aaa\" stroke-dasharray=\"3\"/>",
		     px(0), py(0), px(1), py(1));
	c = 0;
	for (size_t k = 0; k < f->ng; k++) {
		const struct crm_fair_group *g = &f->g[k];

		if (!g->n && !g->labelled)
			continue;
		crm_buf_addf(b, "<polyline fill=\"none\" stroke=\"%s\" points=\"", colours[c++ % NCOLOURS]);
		for (int i = 0; i < CRM_FAIR_BINS; i++)
			if (g->cal_n[i] >= 5)
				crm_buf_addf(b, "%.1f,%.1f ", px(g->cal_pred[i]), py(g->cal_obs[i]));
		crm_buf_adds(b, "\"/>");
	}
	crm_buf_adds(b, "</svg><figcaption>Calibration on the holdout: observed outcome rate against predicted probability.</figcaption></figure>");
	/* Score distributions. */
	crm_buf_adds(b, "<figure>");
	axes(b, "score", "share of the group", 0.5);
	c = 0;
	for (size_t k = 0; k < f->ng; k++) {
		const struct crm_fair_group *g = &f->g[k];

		if (!g->n && !g->labelled)
			continue;
		crm_buf_addf(b, "<polyline fill=\"none\" stroke=\"%s\" points=\"", colours[c++ % NCOLOURS]);
		for (int i = 0; i < CRM_FAIR_BINS && g->n; i++)
			crm_buf_addf(b, "%.1f,%.1f ", px((i + 0.5) / CRM_FAIR_BINS),
				     py(fmin(1, (double)g->hist[i] / (double)g->n / 0.5)));
		crm_buf_adds(b, "\"/>");
	}
	crm_buf_adds(b, "</svg><figcaption>Score distribution per group (deciles).</figcaption></figure></div>");
	legend(b, f);
	return crm_buf_adds(b, "</section>");
}

static int json_block(struct crm_report *r, const char *heading, const char *json)
{
	crm_buf_addf(&r->body, "<section><h3>%s</h3><pre>", heading);
	crm_buf_add_xml(&r->body, json);
	return crm_buf_adds(&r->body, "</pre></section>");
}

int crm_report_override(struct crm_report *r, const char *json)
{
	return json_block(r, "Override in force", json);
}

int crm_report_whatif(struct crm_report *r, const char *json)
{
	return json_block(r, "What if", json);
}

int crm_report_history(struct crm_report *r, struct crm_store *db, const char *kind,
		       const char *entity, struct crm_err *e)
{
	struct crm_buf *b = &r->body;
	struct crm_stmt *st;
	double v[512];
	char when[512][24];
	int fail[512], rc = 0;
	size_t n = 0;

	/* The lowest impact ratio among judged groups of each run, last 512. */
	if (crm_store_prepare(db, "SELECT at, verdict, findings FROM (SELECT at, verdict, findings FROM audits "
			      "WHERE kind = ?1 AND (entity = ?2 OR (entity IS NULL AND CAST(?2 AS text) IS NULL)) "
			      "ORDER BY at DESC LIMIT 512) a ORDER BY at", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, kind, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, entity, (size_t)-1);
	while (n < 512 && (rc = crm_stmt_step(st, e)) > 0) {
		json_t *fs = json_loads(crm_stmt_text(st, 2) ?: "", 0, NULL), *f;
		size_t i;

		snprintf(when[n], sizeof(when[n]), "%.19s", crm_stmt_text(st, 0));
		fail[n] = !strcmp(crm_stmt_text(st, 1), "fail");
		v[n] = NAN;
		json_array_foreach(fs, i, f) {
			const char *verdict = json_string_value(json_object_get(f, "verdict"));
			json_t *di = json_object_get(f, "disparate_impact");

			if (verdict && (!strcmp(verdict, "ok") || !strcmp(verdict, "violation")) &&
			    json_is_number(di) && (isnan(v[n]) || json_number_value(di) < v[n]))
				v[n] = json_number_value(di);
		}
		json_decref(fs);
		n++;
	}
	crm_stmt_free(st);
	if (rc < 0)
		return -1;
	crm_buf_addf(b, "<section><h2>History</h2><p>%zu audit%s: the lowest impact ratio of each.</p><figure>",
		     n, n == 1 ? "" : "s");
	axes(b, "audit", "lowest impact ratio", 1.2);
	crm_buf_addf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"4\"/>",
		     ML, PW - 10, py(r->min_ratio / 1.2), py(r->min_ratio / 1.2));
	crm_buf_adds(b, "<polyline class=\"history\" fill=\"none\" stroke=\"#1f77b4\" points=\"");
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			crm_buf_addf(b, "%.1f,%.1f ", px(n > 1 ? (double)i / (double)(n - 1) : 0.5), py(fmin(v[i], 1.2) / 1.2));
	crm_buf_adds(b, "\"/>");
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			crm_buf_addf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s: %.3f</title></circle>",
				     px(n > 1 ? (double)i / (double)(n - 1) : 0.5), py(fmin(v[i], 1.2) / 1.2),
				     fail[i] ? "#d62728" : "#2ca02c", when[i], v[i]);
	crm_buf_adds(b, "</svg><figcaption>Red: a failed audit. The dashed line is the four-fifths bar.</figcaption></figure></section>");
	return 0;
}

int crm_report_write(const struct crm_report *r, const char *path,
		     const char *title, struct crm_err *e)
{
	struct crm_buf tmp;
	FILE *fp;
	char now[32];
	int ok;

	crm_buf_init(&tmp, 0);
	crm_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	crm_timestamp(now, sizeof(now));
	if (!(fp = fopen(tmp.data, "w"))) {
		crm_err_set(e, CRM_EIO, "%s: %s", tmp.data, strerror(errno));
		crm_buf_release(&tmp);
		return -1;
	}
	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>"
		"<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}"
		"table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
		"td:first-child{text-align:left}tr.bad{background:#fde0e0}.plots{display:flex;flex-wrap:wrap;gap:1em}"
		"figure{margin:0}figcaption{font-size:12px;color:#555;max-width:480px}pre{background:#f5f5f5;padding:.5em}"
		".legend span{margin-right:1em}</style></head><body><h1>%s</h1><p>Written %s by crm-audit.</p>\n",
		title, title, now);
	fwrite(r->body.data ? r->body.data : "", 1, r->body.len, fp);
	fputs("\n</body></html>\n", fp);
	ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
	ok &= fclose(fp) == 0;
	if (!ok || rename(tmp.data, path) < 0) {
		crm_err_set(e, CRM_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp.data);
		crm_buf_release(&tmp);
		return -1;
	}
	crm_buf_release(&tmp);
	return 0;
}
