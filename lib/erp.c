/*
 * erp.c - ERP rows to won deals, accounts found exactly or approximately.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "csvread.h"
#include "crypt.h"
#include "erp.h"
#include "import.h"
#include "ndjson.h"
#include "reader.h"
#include "similarity.h"
#include "store/store.h"

#define MIN_SIM 0.92
#define MARGIN 0.02

struct acct {
	char id[32];
	char *key;	/* crm_sim_key_company of the name */
};

struct crm_erp {
	struct crm_store *db;
	struct crm_crypt *cc;	/* emails sealed: found by blind index */
	struct crm_stmt *by_id, *by_ext, *by_domain, *by_name, *by_email;
	struct acct *a;	/* loaded on first approximate lookup */
	size_t na;
	int loaded;
};

enum col { C_ID, C_DATE, C_AMOUNT, C_CURRENCY, C_ACCOUNT, C_NAME, C_DOMAIN, C_EMAIL,
	   C_PRODUCT, C_STATUS, C_KIND, C_N };

/* Header names per column, folded (lower case, letters and digits only). */
static const char *const NAMES[C_N] = {
	"orderid order ordernumber orderno invoice invoiceid invoicenumber invoiceno documentno docno document number id",
	"date orderdate invoicedate postingdate documentdate created createdat closedat",
	"amount total net netamount totalamount value revenue grandtotal sum",
	"currency cur curr",
	"accountid customerid customerno customernumber account customer debtor debtorid clientid",
	"customername company companyname accountname soldto billto client clientname",
	"domain website web url",
	"email customeremail contactemail billingemail",
	"product item sku description article",
	"status state",
	"type doctype documenttype kind",
};

static void fold(const char *s, char *out, size_t n)
{
	size_t k = 0;

	for (; *s && k + 1 < n; s++)
		if (isalnum((unsigned char)*s))
			out[k++] = (char)tolower((unsigned char)*s);
	out[k] = 0;
}

static int column_of(const char *header)
{
	char f[64];

	fold(header, f, sizeof f);
	for (int c = 0; c < C_N; c++) {
		const char *p = NAMES[c];
		size_t fl = strlen(f);
		while (*p) {
			size_t len = strcspn(p, " ");
			if (len == fl && !strncmp(p, f, len))
				return c;
			p += len + (p[len] == ' ');
		}
	}
	return -1;
}

struct crm_erp *crm_erp_new(struct crm_store *db, struct crm_err *e)
{
	struct crm_erp *x = calloc(1, sizeof *x);

	if (!x) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	x->db = db;
	x->cc = crm_store_crypt(db);
	if (crm_store_prepare(db, "SELECT coalesce(merged_into, id) FROM accounts WHERE id = ?1", 0, &x->by_id, e) < 0 ||
	    crm_store_prepare(db, "SELECT coalesce(merged_into, id) FROM accounts WHERE external_id = ?1 ORDER BY source = 'erp' DESC LIMIT 1", 0, &x->by_ext, e) < 0 ||
	    crm_store_prepare(db, "SELECT coalesce(merged_into, id) FROM accounts WHERE domain = ?1 ORDER BY merged_into IS NOT NULL LIMIT 1", 0, &x->by_domain, e) < 0 ||
	    crm_store_prepare(db, "SELECT coalesce(merged_into, id) FROM accounts WHERE lower(name) = lower(?1) ORDER BY merged_into IS NOT NULL LIMIT 1", 0, &x->by_name, e) < 0 ||
	    crm_store_prepare(db, x->cc ? "SELECT account_id FROM contacts WHERE email_bi = ?1 AND account_id IS NOT NULL LIMIT 1"
				       : "SELECT account_id FROM contacts WHERE email = lower(?1) AND account_id IS NOT NULL LIMIT 1",
			      0, &x->by_email, e) < 0) {
		crm_erp_free(x);
		return NULL;
	}
	return x;
}

void crm_erp_free(struct crm_erp *x)
{
	if (!x)
		return;
	crm_stmt_free(x->by_id);
	crm_stmt_free(x->by_ext);
	crm_stmt_free(x->by_domain);
	crm_stmt_free(x->by_name);
	crm_stmt_free(x->by_email);
	for (size_t i = 0; i < x->na; i++)
		free(x->a[i].key);
	free(x->a);
	free(x);
}

/* The first column of st's first row for v: 1 into out, 0 none, -1 with e. */
static int one(struct crm_stmt *st, const char *v, char out[32], struct crm_err *e)
{
	int found;

	crm_stmt_bind_text_ref(st, 1, v, (size_t)-1);
	found = crm_stmt_step(st, e);
	if (found == 1 && crm_stmt_text(st, 0))
		snprintf(out, 32, "%s", crm_stmt_text(st, 0));
	else if (found == 1)
		found = 0;
	crm_stmt_reset(st);
	return found;
}

/* "https://www.Acme.com/about" to "acme.com". */
static void domain_of(const char *s, char *out, size_t n)
{
	const char *p = strstr(s, "://");

	p = p ? p + 3 : s;
	if (!strncasecmp(p, "www.", 4))
		p += 4;
	size_t k = 0;
	for (; *p && *p != '/' && *p != ':' && k + 1 < n; p++)
		out[k++] = (char)tolower((unsigned char)*p);
	out[k] = 0;
}

static int free_mail(const char *domain)
{
	static const char *const free[] = {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com",
					   "outlook.com", "live.com", "aol.com", "icloud.com",
					   "gmx.de", "web.de", "proton.me", "protonmail.com", NULL};
	for (int i = 0; free[i]; i++)
		if (!strcasecmp(domain, free[i]))
			return 1;
	return 0;
}

static int load_accounts(struct crm_erp *x, struct crm_err *e)
{
	struct crm_stmt *st;
	size_t alloc = 0;
	int rc;

	x->loaded = 1;
	if (crm_store_prepare(x->db, "SELECT id, name FROM accounts WHERE merged_into IS NULL AND name IS NOT NULL",
			      CRM_STMT_STREAM, &st, e) < 0)
		return -1;
	while ((rc = crm_stmt_step(st, e)) == 1) {
		const char *name = crm_stmt_text(st, 1);
		if (x->na == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			struct acct *na = realloc(x->a, alloc * sizeof *na);
			if (!na) {
				crm_stmt_free(st);
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			}
			x->a = na;
		}
		struct acct *a = &x->a[x->na];
		snprintf(a->id, sizeof a->id, "%s", crm_stmt_text(st, 0));
		if (!(a->key = malloc(2 * strlen(name) + 2))) {
			crm_stmt_free(st);
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		crm_sim_key_company(name, a->key);
		x->na++;
	}
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

/* The account of a row: 1 with id and how it was found (match), 0 when
 * none, 2 when the name fits several (match says how many). */
static int find_account(struct crm_erp *x, const char *const v[C_N], char id[32], char *match,
			size_t mn, struct crm_err *e)
{
	char dom[256], ebi[CRM_BIDX_MAX];
	int r;

	if (v[C_ACCOUNT] && ((r = one(x->by_id, v[C_ACCOUNT], id, e)) || (r = one(x->by_ext, v[C_ACCOUNT], id, e)))) {
		if (r < 0)
			return -1;
		snprintf(match, mn, "id");
		return 1;
	}
	if (v[C_DOMAIN]) {
		domain_of(v[C_DOMAIN], dom, sizeof dom);
		if (*dom && (r = one(x->by_domain, dom, id, e))) {
			if (r < 0)
				return -1;
			snprintf(match, mn, "domain");
			return 1;
		}
	}
	if (v[C_EMAIL]) {
		if (x->cc && crm_crypt_bidx_ident(x->cc, "email", v[C_EMAIL], ebi) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		if ((r = one(x->by_email, x->cc ? ebi : v[C_EMAIL], id, e))) {
			if (r < 0)
				return -1;
			snprintf(match, mn, "contact");
			return 1;
		}
		const char *at = strchr(v[C_EMAIL], '@');
		if (at && !free_mail(at + 1)) {
			domain_of(at + 1, dom, sizeof dom);
			if ((r = one(x->by_domain, dom, id, e))) {
				if (r < 0)
					return -1;
				snprintf(match, mn, "email domain");
				return 1;
			}
		}
	}
	/* A customer column that holds a name, then the name column. */
	const char *names[2] = {v[C_NAME], v[C_ACCOUNT]};
	for (int k = 0; k < 2; k++) {
		const char *name = names[k];
		if (!name || !*name)
			continue;
		if ((r = one(x->by_name, name, id, e))) {
			if (r < 0)
				return -1;
			snprintf(match, mn, "name");
			return 1;
		}
		if (!x->loaded && load_accounts(x, e) < 0)
			return -1;
		char *key = malloc(2 * strlen(name) + 2);
		if (!key)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		crm_sim_key_company(name, key);
		/* The same company key (legal forms dropped): one account, or ambiguous. */
		size_t same = 0, si = 0;
		for (size_t i = 0; *key && i < x->na; i++)
			if (!strcmp(key, x->a[i].key))
				same++, si = i;
		if (same == 1) {
			free(key);
			memcpy(id, x->a[si].id, 32);
			snprintf(match, mn, "company name");
			return 1;
		}
		if (same > 1) {
			free(key);
			snprintf(match, mn, "%zu accounts", same);
			return 2;
		}
		double best = 0, second = 0;
		size_t bi = 0;
		for (size_t i = 0; *key && i < x->na; i++) {
			double sim = crm_jaro_winkler(key, x->a[i].key);
			if (sim > best) {
				second = best;
				best = sim, bi = i;
			} else if (sim > second) {
				second = sim;
			}
		}
		free(key);
		if (best >= MIN_SIM && best - second >= MARGIN) {
			memcpy(id, x->a[bi].id, 32);
			snprintf(match, mn, "similar name %.2f", best);
			return 1;
		}
	}
	return 0;
}

/* The first non-empty field of column col in a CSV row. */
static const char *value(const struct crm_csv *c, const int col_of[], int col)
{
	for (size_t i = 0; i < c->ncols && i < c->nfields; i++)
		if (col_of[i] == col) {
			const char *s = crm_csv_field(c, i);
			return *s ? s : NULL;
		}
	return NULL;
}

/* One row's record, or a reason it is not one. */
static int row(struct crm_erp *x, const char *const v[C_N], double amount, int has_amount,
	       struct crm_buf *out, const char **why, char *whybuf, size_t wn, struct crm_err *e)
{
	char id[32], match[48], nm[96];
	int r;

	*why = NULL;
	if (!v[C_ID]) {
		*why = "no order or invoice number";
		return 0;
	}
	if (v[C_STATUS]) {
		char s[32];
		fold(v[C_STATUS], s, sizeof s);
		if (strstr(s, "cancel") || strstr(s, "void") || strstr(s, "refund") || strstr(s, "draft") ||
		    strstr(s, "reversed")) {
			snprintf(whybuf, wn, "status '%s' is not revenue", v[C_STATUS]);
			*why = whybuf;
			return 0;
		}
	}
	if (v[C_KIND]) {
		char s[32];
		fold(v[C_KIND], s, sizeof s);
		if (strstr(s, "credit") || strstr(s, "return")) {
			snprintf(whybuf, wn, "a %s is not revenue", v[C_KIND]);
			*why = whybuf;
			return 0;
		}
	}
	if (!has_amount) {
		*why = "no amount";
		return 0;
	}
	if (!v[C_DATE]) {
		*why = "no date";
		return 0;
	}
	if ((r = find_account(x, v, id, match, sizeof match, e)) < 0)
		return -1;
	if (r == 2) {
		snprintf(whybuf, wn, "'%s' could be %s", v[C_NAME] ? v[C_NAME] : v[C_ACCOUNT], match);
		*why = whybuf;
		return 0;
	}
	if (!r) {
		snprintf(whybuf, wn, "no account matches '%s'",
			 v[C_NAME] ? v[C_NAME] : v[C_ACCOUNT] ? v[C_ACCOUNT] : v[C_DOMAIN] ? v[C_DOMAIN]
			 : v[C_EMAIL] ? v[C_EMAIL] : "");
		*why = whybuf;
		return 0;
	}
	snprintf(nm, sizeof nm, "%s %s", v[C_KIND] ? v[C_KIND] : "Order", v[C_ID]);
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:s,s:s,s:s,s:s}", "type", "deal", "source", "erp",
			      "external_id", v[C_ID], "name", nm, "account", id, "amount", amount,
			      "outcome", "won", "stage", "Closed Won", "closed_at", v[C_DATE],
			      "erp_match", match);
	if (!d)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (v[C_CURRENCY])
		json_object_set_new(d, "currency", json_string(v[C_CURRENCY]));
	if (v[C_PRODUCT])
		json_object_set_new(d, "product", json_string(v[C_PRODUCT]));
	char *s = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	if (!s || crm_buf_adds(out, s) < 0 || crm_buf_addc(out, '\n') < 0) {
		free(s);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	free(s);
	return 1;
}

/* "1.234,50", "$1,234.50", "1234.5" to a number. */
static int parse_amount(const char *s, double *out)
{
	char buf[64];
	size_t k = 0;
	const char *lastsep = NULL;

	if (!s)
		return 0;
	for (const char *p = s; *p; p++)
		if (*p == '.' || *p == ',')
			lastsep = p;
	for (const char *p = s; *p && k + 1 < sizeof buf; p++) {
		if (isdigit((unsigned char)*p) || *p == '-')
			buf[k++] = *p;
		else if (p == lastsep && strlen(p + 1) != 3)
			buf[k++] = '.';
		else if (p == lastsep && (*p == '.' || strchr(p + 1, ',')))
			buf[k++] = '.';
	}
	buf[k] = 0;
	if (!k)
		return 0;
	char *end;
	*out = strtod(buf, &end);
	return *end == 0;
}

long crm_erp_records(struct crm_erp *x, const char *path, struct crm_buf *out,
		     int (*reject)(void *arg, const char *file, long line, const char *why,
				   const char *raw, size_t rawlen),
		     void *arg, struct crm_err *e)
{
	struct crm_reader rd;
	struct crm_csv csv;
	int col_of[256], is_json, rc;
	long rows = 0;
	char whybuf[300];

	if (crm_reader_open(&rd, path, 0, e) < 0)
		return -1;
	int c0 = crm_reader_peek(&rd, e);
	if (c0 == -2) {
		crm_reader_release(&rd);
		return -1;
	}
	is_json = c0 == '{';
	if (!is_json) {
		if (crm_csv_init(&csv, &rd, 0, e) < 0) {
			crm_reader_release(&rd);
			return -1;
		}
		if (crm_csv_header(&csv, e) < 0)
			goto fail;
		for (size_t i = 0; i < csv.ncols && i < 256; i++)
			col_of[i] = column_of(csv.header[i]);
	}
	for (;;) {
		json_t *j = NULL;
		const char *v[C_N];
		const char *raw;
		size_t rawlen;
		long line;
		if (is_json) {
			rc = crm_ndjson_next(&rd, &j, e);
			raw = rd.line.data;
			rawlen = rd.line.len;
			line = rd.lineno;
		} else {
			rc = crm_csv_next(&csv, e);
			raw = csv.raw.data;
			rawlen = csv.raw.len;
			line = csv.line;
		}
		if (rc == CRM_REC_EOF)
			break;
		if (rc == CRM_REC_FATAL)
			goto fail;
		rows++;
		if (rc == CRM_REC_BAD) {
			if (reject(arg, path, line, e->msg, raw, rawlen) < 0)
				goto fail;
			continue;
		}
		if (is_json) {
			/* NDJSON keys: the same names as CSV headers. */
			for (int c = 0; c < C_N; c++)
				v[c] = NULL;
			const char *k;
			json_t *jv;
			json_object_foreach(j, k, jv) {
				int c = column_of(k);
				if (c >= 0 && !v[c])
					v[c] = json_is_string(jv) ? json_string_value(jv) : NULL;
				if (c == C_AMOUNT && json_is_number(jv)) {
					static char num[64];
					snprintf(num, sizeof num, "%.17g", json_number_value(jv));
					v[c] = num;
				}
				if ((c == C_ID || c == C_ACCOUNT) && json_is_integer(jv)) {
					static char ids[2][32];
					snprintf(ids[c == C_ID], 32, "%lld", (long long)json_integer_value(jv));
					v[c] = ids[c == C_ID];
				}
			}
		} else {
			for (int c = 0; c < C_N; c++)
				v[c] = value(&csv, col_of, c);
		}
		double amount = 0;
		int has_amount = parse_amount(v[C_AMOUNT], &amount);
		const char *why;
		int r = row(x, v, amount, has_amount, out, &why, whybuf, sizeof whybuf, e);
		json_decref(j);
		if (r < 0)
			goto fail;
		if (r == 0 && reject(arg, path, line, why, raw, rawlen) < 0)
			goto fail;
	}
	if (!is_json)
		crm_csv_release(&csv);
	crm_reader_release(&rd);
	return rows;
fail:
	if (!is_json)
		crm_csv_release(&csv);
	crm_reader_release(&rd);
	return -1;
}

int crm_erp_import_file(struct crm_erp *x, struct crm_import *im, const char *path,
			int (*reject)(void *arg, const char *file, long line, const char *why,
				      const char *raw, size_t rawlen),
			void *arg, struct crm_err *e)
{
	struct crm_buf b = { 0 };
	int rc = crm_erp_records(x, path, &b, reject, arg, e) < 0 ? -1 : 0;

	if (rc == 0)
		rc = crm_import_buffer(im, path, b.data, b.len, e);
	crm_buf_release(&b);
	return rc;
}
