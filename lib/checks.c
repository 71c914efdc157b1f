/*
 * checks.c - data-quality and privacy checks.
 *
 * Each check is one query giving (count, total), except duplicates,
 * which runs crm-dedupe's record linkage and counts the records it would
 * merge away with certainty.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "entity.h"
#include "linkage.h"
#include "ndjson.h"
#include "report.h"
#include "store/store.h"

struct def {
	const char *kind, *name, *what;
	int share;
	double max;
	const char *sql;	/* ?1: days, where the check has a period */
};

/* Digits of a phone number, in SQL. */
#define DIGITS(x) "length(" x ") - length(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(" \
	x ", '0', ''), '1', ''), '2', ''), '3', ''), '4', ''), '5', ''), '6', ''), '7', ''), '8', ''), '9', ''))"

static const struct def defs[] = {
	{ "quality", "missing.contact_reach", "contacts with neither email nor phone", 1, 0.05,
	  "SELECT count(*) FILTER (WHERE email IS NULL AND phone IS NULL), count(*) FROM contacts WHERE merged_into IS NULL" },
	{ "quality", "missing.deal_amount", "open deals without an amount", 1, 0.10,
	  "SELECT count(*) FILTER (WHERE amount IS NULL), count(*) FROM deals WHERE merged_into IS NULL AND outcome IS NULL" },
	{ "quality", "invalid.email", "emails that are not an address", 1, 0.01,
	  "SELECT count(*) FILTER (WHERE NOT glob('?*@?*.?*', email) OR glob('*[ ,;<>]*', email) OR glob('*@*@*', email)), count(*) "
	  "FROM contacts WHERE merged_into IS NULL AND email IS NOT NULL" },
	{ "quality", "invalid.phone", "phone numbers with fewer than 7 or more than 15 digits, or letters", 1, 0.01,
	  "SELECT count(*) FILTER (WHERE " DIGITS("phone") " NOT BETWEEN 7 AND 15 OR glob('*[A-Za-z]*', phone)), count(*) "
	  "FROM contacts WHERE merged_into IS NULL AND phone IS NOT NULL" },
	{ "quality", "duplicates.contacts", "contacts crm-dedupe would merge away (p >= 0.9)", 1, 0.02, NULL },
	{ "quality", "stale.deals", "open deals with no change or activity for 90 days", 1, 0.25,
	  "SELECT count(*) FILTER (WHERE (SELECT max(v) FROM (SELECT d.updated_at AS v UNION ALL "
	  "SELECT max(occurred_at) FROM interactions i "
	  "WHERE i.deal_id = d.id OR (d.contact_id IS NOT NULL AND i.contact_id = d.contact_id)) u) "
	  "< strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days')), count(*) FROM deals d WHERE merged_into IS NULL AND outcome IS NULL" },
	{ "quality", "orphans.deals", "deals without an account", 1, 0.20,
	  "SELECT count(*) FILTER (WHERE account_id IS NULL), count(*) FROM deals WHERE merged_into IS NULL" },
	{ "quality", "orphans.interactions", "interactions with no contact, account or deal", 1, 0.05,
	  "SELECT count(*) FILTER (WHERE contact_id IS NULL AND account_id IS NULL AND deal_id IS NULL), count(*) "
	  "FROM interactions WHERE merged_into IS NULL" },
	{ "quality", "orphans.merged_refs", "records pointing at a record merged away", 0, 0,
	  "SELECT (SELECT count(*) FROM deals d JOIN accounts a ON a.id = d.account_id WHERE d.merged_into IS NULL AND a.merged_into IS NOT NULL) + "
	  "(SELECT count(*) FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE d.merged_into IS NULL AND c.merged_into IS NOT NULL) + "
	  "(SELECT count(*) FROM interactions i JOIN contacts c ON c.id = i.contact_id WHERE i.merged_into IS NULL AND c.merged_into IS NOT NULL), "
	  "(SELECT count(*) FROM deals) + (SELECT count(*) FROM interactions)" },
	{ "quality", "leakage.undated_outcome", "closed records without an outcome date (described after the fact)", 1, 0.01,
	  "SELECT (SELECT count(*) FROM deals WHERE merged_into IS NULL AND outcome IS NOT NULL AND closed_at IS NULL) + "
	  "(SELECT count(*) FROM contacts WHERE merged_into IS NULL AND outcome IS NOT NULL AND outcome_at IS NULL), "
	  "(SELECT count(*) FROM deals WHERE merged_into IS NULL AND outcome IS NOT NULL) + "
	  "(SELECT count(*) FROM contacts WHERE merged_into IS NULL AND outcome IS NOT NULL)" },
	{ "quality", "leakage.stage_outcome", "closed deals whose stage says the other outcome", 1, 0.01,
	  "SELECT count(*) FILTER (WHERE (outcome = 'won' AND lower(stage) LIKE '%lost%') OR (outcome = 'lost' AND lower(stage) LIKE '%won%')), "
	  "count(*) FROM deals WHERE merged_into IS NULL AND outcome IS NOT NULL" },
	{ "quality", "schema.drift", "imports whose columns differ from the previous import of the same source and type", 0, 0,
	  "SELECT count(*) FILTER (WHERE p.columns IS NOT NULL AND CAST(p.columns AS TEXT) != CAST(i.columns AS TEXT)), count(*) FROM imports i "
	  "LEFT JOIN imports p ON p.id = (SELECT max(id) FROM imports q WHERE q.source = i.source AND q.entity = i.entity AND q.id < i.id) "
	  "WHERE i.id IN (SELECT max(id) FROM imports GROUP BY source, entity)" },
	{ "quality", "import.rejects", "rows rejected by the latest import of each source and type", 1, 0.01,
	  "SELECT coalesce(sum(rejected), 0), coalesce(sum(rows), 0) FROM imports WHERE id IN (SELECT max(id) FROM imports GROUP BY source, entity)" },
	{ "privacy", "consent.missing", "contacts with no lawful basis or consent recorded", 1, 0.05,
	  "SELECT count(*) FILTER (WHERE consent IS NULL OR consent = 'unknown'), count(*) FROM contacts WHERE merged_into IS NULL" },
	{ "privacy", "consent.denied_contacted", "outbound messages in the last 30 days to contacts who denied consent", 0, 0,
	  "SELECT count(*), (SELECT count(*) FROM contacts WHERE consent = 'denied') FROM interactions i JOIN contacts c ON c.id = i.contact_id "
	  "WHERE c.consent = 'denied' AND i.direction = 'outbound' AND i.kind IN ('email', 'call') "
	  "AND i.occurred_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')" },
	{ "privacy", "retention.interactions", "interactions older than their retention period", 0, 0,
	  "SELECT count(*) FILTER (WHERE occurred_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days')), count(*) FROM interactions" },
	{ "privacy", "retention.leads", "leads never converted, untouched past their retention period", 0, 0,
	  "SELECT count(*) FILTER (WHERE coalesce(c.outcome, '') != 'converted' AND c.updated_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days') "
	  "AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.contact_id = c.id AND i.occurred_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days')) "
	  "AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = c.id AND d.outcome = 'won')), count(*) FROM contacts c WHERE merged_into IS NULL" },
	{ "privacy", "erasure.overdue", "erasure requests not carried out in time", 0, 0,
	  "SELECT count(*) FILTER (WHERE done_at IS NULL AND received_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days')), "
	  "count(*) FILTER (WHERE done_at IS NULL) FROM subject_requests WHERE kind = 'erasure'" },
	{ "privacy", "encryption.plaintext", "personal fields stored in plain text while a key is configured (crm key seal)", 0, 0,
	  "SELECT count(*) FILTER (WHERE email NOT LIKE 'enc:%' OR phone NOT LIKE 'enc:%' OR first_name NOT LIKE 'enc:%' "
	  "OR last_name NOT LIKE 'enc:%'), count(*) FROM contacts" },
	{ "privacy", "encryption.transcripts", "call transcripts stored in clear while a key is configured (crm key seal)", 0, 0,
	  "SELECT count(*) FILTER (WHERE hex(substr(body, 1, 4)) != '656E633A' OR substr(CAST(analysis AS TEXT), 1, 1) != '\"'), "
	  "count(*) FROM transcripts" },
};

size_t crm_checks(const char *kind, struct crm_check *out, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < sizeof(defs) / sizeof(defs[0]) && n < max; k++) {
		if (strcmp(defs[k].kind, kind))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].name = defs[k].name;
		out[n].what = defs[k].what;
		out[n].share = defs[k].share;
		out[n].max = defs[k].max;
		out[n].run = 1;
		n++;
	}
	return n;
}

int crm_check_set_max(struct crm_check *c, size_t n, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char *end;
	double v;

	if (!eq)
		return -1;
	v = strtod(eq + 1, &end);
	if (*end || end == eq + 1 || v < 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		if (strlen(c[k].name) == (size_t)(eq - spec) && !strncmp(c[k].name, spec, (size_t)(eq - spec))) {
			c[k].max = v;
			return 0;
		}
	return -1;
}

void crm_retention_default(struct crm_retention *r)
{
	r->interactions = 3 * 365;
	r->leads = 2 * 365;
	r->erasure_days = 30;
}

int crm_retention_set(struct crm_retention *r, const char *spec)
{
	double *at = NULL, v;
	char *end;
	const char *eq = strchr(spec, '=');

	if (!eq)
		return -1;
	if (!strncmp(spec, "interactions=", 13))
		at = &r->interactions;
	else if (!strncmp(spec, "leads=", 6))
		at = &r->leads;
	else if (!strncmp(spec, "erasure=", 8))
		at = &r->erasure_days;
	v = strtod(eq + 1, &end);
	if (!at || *end || end == eq + 1 || v < 0)
		return -1;
	*at = v;
	return 0;
}

/* Records crm-dedupe would merge away: linkage at p >= 0.9. */
static int duplicates(struct crm_store *db, struct crm_check *c, struct crm_err *e)
{
	struct crm_linkage lk;
	uint32_t *cl = NULL;
	int rc = -1;

	crm_linkage_init(&lk, crm_entity_find("contact"));
	if (crm_linkage_auto_fields(&lk, db, e) < 0 || crm_linkage_load(&lk, db, e) < 0)
		goto out;
	c->total = (long long)(lk.n + lk.skipped);
	if (lk.n >= 2) {
		if (crm_linkage_block(&lk, e) < 0 || crm_linkage_train(&lk, 1, e) < 0 ||
		    crm_linkage_cluster(&lk, 0.9, 0.5, 50, &cl, NULL, e) < 0)
			goto out;
		for (size_t i = 0; i < lk.n; i++)
			c->count += cl[i] != i;
	}
	rc = 0;
out:
	free(cl);
	crm_linkage_release(&lk);
	return rc;
}

int crm_checks_run(struct crm_store *db, struct crm_check *c, size_t n,
		   const struct crm_retention *r, int key_configured,
		   struct crm_err *e)
{
	int failed = 0;

	for (size_t k = 0; k < n; k++) {
		const struct def *d = NULL;
		struct crm_stmt *st;

		if (!c[k].run)
			continue;
		for (size_t j = 0; j < sizeof(defs) / sizeof(defs[0]); j++)
			if (!strcmp(defs[j].name, c[k].name))
				d = &defs[j];
		c[k].count = c[k].total = 0;
		c[k].note[0] = 0;
		if (!strncmp(c[k].name, "encryption.", 11) && !key_configured) {
			c[k].status = CRM_CHECK_SKIP;
			snprintf(c[k].note, sizeof(c[k].note), "no encryption key is configured (CRM_KEY_FILE)");
			continue;
		}
		if (!d->sql) {
			if (duplicates(db, &c[k], e) < 0)
				return -1;
		} else {
			int rc;

			if (crm_store_prepare(db, d->sql, 0, &st, e) < 0)
				return -1;
			if (strstr(d->sql, "?1")) {	/* the period, in days */
				char days[32];

				snprintf(days, sizeof(days), "%g", !strncmp(c[k].name, "retention.interactions", 22) ?
					 r->interactions : !strncmp(c[k].name, "retention.leads", 15) ? r->leads :
					 r->erasure_days);
				crm_stmt_bind_text(st, 1, days, (size_t)-1);
			}
			if ((rc = crm_stmt_step(st, e)) > 0) {
				c[k].count = crm_stmt_int64(st, 0);
				c[k].total = crm_stmt_int64(st, 1);
			}
			crm_stmt_free(st);
			if (rc < 0)
				return -1;
		}
		c[k].value = c[k].share ? (c[k].total ? (double)c[k].count / (double)c[k].total : 0) :
			(double)c[k].count;
		c[k].status = c[k].value > c[k].max + 1e-12 ? CRM_CHECK_FAIL : CRM_CHECK_PASS;
		failed += c[k].status == CRM_CHECK_FAIL;
	}
	return failed;
}

static const char *const status_name[] = { "pass", "fail", "skip" };

int crm_checks_only(struct crm_check *c, size_t n, const char *kind, const char *const *only,
		    size_t nonly, struct crm_err *e)
{
	if (!nonly)
		return 0;
	for (size_t k = 0; k < n; k++)
		c[k].run = 0;
	for (size_t j = 0; j < nonly; j++) {
		size_t k;

		for (k = 0; k < n && strcmp(c[k].name, only[j]); k++)
			;
		if (k == n)
			return crm_err_set(e, CRM_EUSAGE, "--check '%s': no such %s check", only[j], kind);
		c[k].run = 1;
	}
	return 0;
}

int crm_check_json(struct crm_buf *b, const char *kind, const struct crm_check *c)
{
	int rc = crm_buf_addf(b, "{\"type\":\"check\",\"audit\":\"%s\",\"check\":\"%s\",\"what\":",
			      kind, c->name) |
		 crm_json_str(b, c->what, strlen(c->what)) |
		 crm_buf_addf(b, ",\"count\":%lld,\"total\":%lld,\"value\":%.6g,\"max\":%g,\"status\":\"%s\"",
			      c->count, c->total, c->value, c->max, status_name[c->status]);

	if (*c->note)
		rc |= crm_buf_adds(b, ",\"note\":") | crm_json_str(b, c->note, strlen(c->note));
	return rc | crm_buf_addc(b, '}');
}

int crm_checks_params(struct crm_buf *b, const struct crm_check *c, size_t n,
		      const struct crm_retention *ret)
{
	int rc = crm_buf_adds(b, "{\"thresholds\":{");

	for (size_t k = 0; k < n; k++)
		rc |= crm_buf_addf(b, "%s\"%s\":%g", k ? "," : "", c[k].name, c[k].max);
	return rc | crm_buf_addf(b, "},\"retention\":{\"interactions\":%g,\"leads\":%g,\"erasure\":%g}}",
				 ret->interactions, ret->leads, ret->erasure_days);
}

int crm_checks_html(struct crm_buf *b, const struct crm_check *c, size_t n)
{
	int rc = crm_buf_adds(b, "<section><table><tr><th>check</th><th>status</th><th>count</th>"
			      "<th>of</th><th>value</th><th>max</th><th>what</th></tr>");

	for (size_t k = 0; k < n; k++)
		if (c[k].run)
			rc |= crm_buf_addf(b, "<tr class=\"%s\"><td>%s</td><td>%s</td><td>%lld</td><td>%lld</td>"
					   "<td>%.4g</td><td>%g</td><td>%s</td></tr>",
					   c[k].status == CRM_CHECK_FAIL ? "bad" : "", c[k].name,
					   status_name[c[k].status], c[k].count, c[k].total, c[k].value,
					   c[k].max, c[k].what);
	return rc | crm_buf_adds(b, "</table></section>");
}

int crm_checks_report(const struct crm_check *c, size_t n, const char *kind, const char *path,
		      struct crm_err *e)
{
	struct crm_report rep;
	char title[64];
	int rc;

	crm_report_init(&rep);
	snprintf(title, sizeof(title), "%s audit", kind);
	title[0] = (char)toupper((unsigned char)title[0]);
	rc = crm_checks_html(&rep.body, c, n) < 0 ? crm_err_set(e, CRM_ESOFTWARE, "out of memory") :
	     crm_report_write(&rep, path, title, e);
	crm_report_release(&rep);
	return rc;
}

int crm_checks_table(struct crm_buf *b, const struct crm_check *c, size_t n)
{
	int rc = crm_buf_addf(b, "%-26s %-7s %10s %10s %9s %9s  %s\n", "CHECK", "STATUS", "COUNT", "OF",
			      "VALUE", "MAX", "WHAT");

	for (size_t k = 0; k < n; k++)
		if (c[k].run)
			rc |= crm_buf_addf(b, "%-26s %-7s %10lld %10lld %9.4g %9g  %s%s%s\n", c[k].name,
					   c[k].status == CRM_CHECK_FAIL ? "FAIL" : status_name[c[k].status],
					   c[k].count, c[k].total, c[k].value, c[k].max, c[k].what,
					   *c[k].note ? "; " : "", c[k].note);
	return rc ? -1 : 0;
}

int crm_checks_verdict_json(struct crm_buf *b, const char *kind, const char *id, int failed)
{
	int rc = crm_buf_addf(b, "{\"type\":\"audit\",\"kind\":\"%s\",\"id\":", kind);

	rc |= id && *id ? crm_json_str(b, id, strlen(id)) : crm_buf_adds(b, "null");
	rc |= crm_buf_addf(b, ",\"failed\":%d,\"verdict\":\"%s\"}\n", failed, failed ? "fail" : "pass");
	return rc ? -1 : 0;
}
