/*
 * cireport.c - audit results as JUnit XML or GitHub workflow commands
 * (see cireport.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cireport.h"

enum { PASS, FAIL, SKIP };

struct tcase {
	char *classname, *name, *message;
	int status;
};

struct cases {
	struct tcase *v;
	size_t n, alloc;
	json_t *summary;	/* the run's "audit" record, or NULL */
};

static int add_case(struct cases *c, const char *classname, const char *name, int status,
		    const char *message)
{
	struct tcase *t;

	if (c->n == c->alloc) {
		size_t alloc = c->alloc ? 2 * c->alloc : 32;
		struct tcase *v = realloc(c->v, alloc * sizeof(*v));

		if (!v)
			return -1;
		c->v = v;
		c->alloc = alloc;
	}
	t = &c->v[c->n];
	t->classname = strdup(classname);
	t->name = strdup(name);
	t->message = strdup(message ? message : "");
	t->status = status;
	if (!t->classname || !t->name || !t->message) {
		free(t->classname);
		free(t->name);
		free(t->message);
		return -1;
	}
	c->n++;
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* " 0.52 (0.30 to 0.81)": a figure and its interval, if it has one. */
static void figure(struct crm_buf *m, json_t *o, const char *key)
{
	char ci[64];
	json_t *iv;

	crm_buf_addf(m, " %.4g", num(o, key));
	snprintf(ci, sizeof(ci), "%s_ci", key);
	iv = json_object_get(o, ci);
	if (json_array_size(iv) == 2)
		crm_buf_addf(m, " (%.4g to %.4g)", json_number_value(json_array_get(iv, 0)),
			     json_number_value(json_array_get(iv, 1)));
}

/* A quality or privacy check. */
static int from_check(struct cases *c, json_t *o)
{
	struct crm_buf cls, m;
	const char *status = str(o, "status");
	int st = !strcmp(status, "fail") ? FAIL : !strcmp(status, "pass") ? PASS : SKIP, rc;

	crm_buf_init(&cls, 0);
	crm_buf_init(&m, 0);
	crm_buf_addf(&cls, "crm-audit.%s", str(o, "audit"));
	crm_buf_addf(&m, "%s: %.4g (%lld of %lld), at most %.4g", str(o, "what"), num(o, "value"),
		     (long long)num(o, "count"), (long long)num(o, "total"), num(o, "max"));
	if (*str(o, "note"))
		crm_buf_addf(&m, "; %s", str(o, "note"));
	rc = add_case(c, cls.data, str(o, "check"), st, m.data);
	crm_buf_release(&cls);
	crm_buf_release(&m);
	return rc;
}

/* A group of a bias audit: failed by each metric it violates. */
static int from_group(struct cases *c, json_t *o)
{
	static const struct {
		const char *metric, *figure, *says;
	} said[] = {
		{ "disparate_impact", "disparate_impact", "selection rate ratio to the reference" },
		{ "parity_difference", "parity_difference", "selection rate difference" },
		{ "tpr_difference", "tpr_difference", "true positive rate difference" },
		{ "fpr_difference", "fpr_difference", "false positive rate difference" },
		{ "calibration", "calibration_gap", "calibration gap" },
	};
	struct crm_buf cls, m;
	const char *verdict = str(o, "verdict");
	json_t *v = json_object_get(o, "violations"), *x;
	size_t i;
	int st = !strcmp(verdict, "violation") ? FAIL : !strcmp(verdict, "small") ? SKIP : PASS, rc;

	crm_buf_init(&cls, 0);
	crm_buf_init(&m, 0);
	crm_buf_addf(&cls, "crm-audit.bias.%s", str(o, "attribute"));
	crm_buf_addf(&m, "%s = %s: %lld scored, selection rate %.4g (reference %s)", str(o, "attribute"),
		     str(o, "group"), (long long)num(o, "n"), num(o, "selection_rate"), str(o, "reference"));
	if (st == SKIP)
		crm_buf_adds(&m, "; too small to judge");
	json_array_foreach(v, i, x)
		for (size_t k = 0; k < sizeof(said) / sizeof(said[0]); k++)
			if (json_is_string(x) && !strcmp(json_string_value(x), said[k].metric)) {
				crm_buf_addf(&m, "; %s", said[k].says);
				figure(&m, o, said[k].figure);
			}
	rc = add_case(c, cls.data, str(o, "group"), st, m.data);
	crm_buf_release(&cls);
	crm_buf_release(&m);
	return rc;
}

static int from_trail(struct cases *c, json_t *o)
{
	char m[160];
	int fail = !strcmp(str(o, "status"), "fail");

	if (fail)
		snprintf(m, sizeof(m), "%lld entries; the chain breaks at entry %lld",
			 (long long)num(o, "entries"), (long long)num(o, "broken_at"));
	else
		snprintf(m, sizeof(m), "%lld entries, the chain whole", (long long)num(o, "entries"));
	return add_case(c, "crm-audit.trail", "hash chain", fail ? FAIL : PASS, m);
}

static int collect(struct cases *c, const char *ndjson, size_t n, struct crm_err *e)
{
	size_t at = 0, line = 0;

	while (at < n) {
		const char *nl = memchr(ndjson + at, '\n', n - at);
		size_t len = nl ? (size_t)(nl - (ndjson + at)) : n - at;
		json_error_t je;
		json_t *o;
		const char *type;
		int rc = 0;

		line++;
		if (!len) {
			at += 1;
			continue;
		}
		if (!(o = json_loadb(ndjson + at, len, 0, &je)) || !json_is_object(o)) {
			json_decref(o);
			return crm_err_set(e, CRM_EDATA, "audit output line %zu: not a JSON object", line);
		}
		type = str(o, "type");
		if (!strcmp(type, "check"))
			rc = from_check(c, o);
		else if (!strcmp(type, "group"))
			rc = from_group(c, o);
		else if (!strcmp(type, "trail"))
			rc = from_trail(c, o);
		else if (!strcmp(type, "audit")) {
			json_decref(c->summary);
			c->summary = json_incref(o);
		}
		json_decref(o);
		if (rc < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		at += len + (nl != NULL);
	}
	return 0;
}

static void junit(struct crm_buf *b, const struct cases *c, const char *suite, const char *host,
		  const char *stamp, double secs)
{
	size_t fails = 0, skips = 0;
	const char *key;
	json_t *v;

	for (size_t i = 0; i < c->n; i++) {
		fails += c->v[i].status == FAIL;
		skips += c->v[i].status == SKIP;
	}
	crm_buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"");
	crm_buf_add_xml(b, suite);
	crm_buf_adds(b, "\" timestamp=\"");
	crm_buf_add_xml(b, stamp);
	crm_buf_adds(b, "\" hostname=\"");
	crm_buf_add_xml(b, host && *host ? host : "localhost");
	crm_buf_addf(b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
		     c->n, fails, skips, secs);
	crm_buf_adds(b, "  <properties>\n");
	json_object_foreach(c->summary, key, v) {
		char *text;

		if (!strcmp(key, "type") || json_is_null(v))
			continue;
		text = json_is_string(v) ? strdup(json_string_value(v)) :
					   json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
		if (!text)
			continue;
		crm_buf_adds(b, "    <property name=\"");
		crm_buf_add_xml(b, key);
		crm_buf_adds(b, "\" value=\"");
		crm_buf_add_xml(b, text);
		crm_buf_adds(b, "\"/>\n");
		free(text);
	}
	crm_buf_adds(b, "  </properties>\n");
	for (size_t i = 0; i < c->n; i++) {
		const struct tcase *t = &c->v[i];

		crm_buf_adds(b, "  <testcase classname=\"");
		crm_buf_add_xml(b, t->classname);
		crm_buf_adds(b, "\" name=\"");
		crm_buf_add_xml(b, t->name);
		crm_buf_adds(b, "\" time=\"0\"");
		if (t->status == PASS) {
			crm_buf_adds(b, "/>\n");
			continue;
		}
		crm_buf_adds(b, t->status == FAIL ? ">\n    <failure type=\"threshold\" message=\"" :
						    ">\n    <skipped message=\"");
		crm_buf_add_xml(b, t->message);
		crm_buf_adds(b, "\">");
		crm_buf_add_xml(b, t->message);
		crm_buf_adds(b, t->status == FAIL ? "</failure>\n  </testcase>\n" : "</skipped>\n  </testcase>\n");
	}
	crm_buf_adds(b, "  <system-out></system-out>\n  <system-err></system-err>\n</testsuite>\n");
}

/* s in a workflow command: its data (%, CR, LF escaped), or with prop a
 * property's value (':' and ',' too). */
static void gh(struct crm_buf *b, const char *s, int prop)
{
	for (; *s; s++) {
		switch (*s) {
		case '%': crm_buf_adds(b, "%25"); break;
		case '\r': crm_buf_adds(b, "%0D"); break;
		case '\n': crm_buf_adds(b, "%0A"); break;
		case ':': crm_buf_adds(b, prop ? "%3A" : ":"); break;
		case ',': crm_buf_adds(b, prop ? "%2C" : ","); break;
		default: crm_buf_addc(b, *s);
		}
	}
}

static void github(struct crm_buf *b, const struct cases *c, const char *suite)
{
	size_t fails = 0, skips = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct tcase *t = &c->v[i];

		if (t->status == PASS)
			continue;
		fails += t->status == FAIL;
		skips += t->status == SKIP;
		crm_buf_adds(b, t->status == FAIL ? "::error title=" : "::warning title=");
		gh(b, t->classname, 1);
		gh(b, " ", 1);
		gh(b, t->name, 1);
		crm_buf_adds(b, "::");
		gh(b, t->message, 0);
		crm_buf_addc(b, '\n');
	}
	crm_buf_adds(b, "::notice title=");
	gh(b, suite, 1);
	crm_buf_addf(b, "::%zu checked, %zu failed, %zu skipped", c->n, fails, skips);
	if (c->summary && *str(c->summary, "verdict")) {
		crm_buf_adds(b, ": ");
		gh(b, str(c->summary, "verdict"), 0);
	}
	crm_buf_addc(b, '\n');
}

int crm_ci_report(struct crm_buf *b, enum crm_ci_format fmt, const char *suite,
		  const char *ndjson, size_t n, const char *host, const char *stamp,
		  double secs, struct crm_err *e)
{
	struct cases c = { 0 };
	int rc = collect(&c, ndjson, n, e);

	if (rc == 0) {
		if (fmt == CRM_CI_JUNIT)
			junit(b, &c, suite, host, stamp, secs);
		else
			github(b, &c, suite);
	}
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].classname);
		free(c.v[i].name);
		free(c.v[i].message);
	}
	free(c.v);
	json_decref(c.summary);
	return rc;
}
