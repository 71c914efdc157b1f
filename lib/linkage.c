/*
 * linkage.c - Fellegi-Sunter record linkage with EM, as crm-dedupe uses it.
 *
 * The steps are the ones Splink popularised, written for one process and
 * millions of records:
 *   load     one string per record and field, already normalised for its
 *            comparator (folded names with nicknames resolved, email and
 *            phone match keys, dates as YYYYMMDD), in a bump arena;
 *   block    each rule maps a record to a 64-bit hash of one or two field
 *            keys; records are sorted by it and paired within equal runs
 *            up to block_cap long; the pairs of all rules are merged;
 *   compare  a level per field and pair (company names by IDF-weighted
 *            words, counted once at blocking);
 *   train    u from random pairs, in rounds that leave out the pairs the
 *            last round took for matches, each field's u given the field
 *            it goes with between strangers (a Chow-Liu tree); m by EM
 *            over the distinct comparison patterns of each blocking
 *            rule's sample, the rule's fields left out; lambda, over all
 *            pairs, by EM over a histogram of the candidates' weights;
 *   score    weight = sum of log2(m/u), adjusted for how common each
 *            shared value is; p from weight and lambda;
 *   cluster  strongest links first, every pair across two groups checked.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store/store.h"
#include "crypt.h"
#include <jansson.h>

#include "linkage.h"
#include "ndjson.h"
#include "row.h"
#include "normalize.h"
#include "similarity.h"
#include "stats.h"

#define ARENA_CHUNK ((size_t)1 << 20)
#define DEFAULT_BLOCK_CAP 64
#define U_SAMPLES 300000
#define RULE_SAMPLE 50000	/* pairs per rule that m is trained on */
#define RULE_MAX_PAIRS 20	/* per record: a rule pairing more is dropped */
#define NAME_MAX_PAIRS 4	/* the same for a name alone, a weak key */
#define EM_MAX_ITER 200
#define M_PRIOR 10.0	/* weight of the prior on m, in pairs */
#define LABEL_PRIOR 100.0	/* weight of the unsupervised m and u against labels */
#define TF_SCALE 8.0		/* value frequencies in eighths of a bit */
#define TF_MAX_GAIN 3.0		/* bits a rare value may add to its level's weight */
#define MI_MIN 0.0005		/* nats: fields less related go as independent */
#define U_SHRINK 20.0		/* pseudo-pairs pulling u given a parent towards u */
#define U_ROUNDS 4		/* rounds of u without the random pairs that match */
#define U_STRANGERS 20.0	/* strangers per match, for u given a level */
#define M_CONFLICT 0.01		/* most m of "fuzzy" or "different" for an organisation's name */

/* Starting m, and the centre of its prior: how matches usually compare. */
static const double m0[CRM_LEVELS] = { 1, 0.90, 0.05, 0.03, 0.02 };

static const char *const cmp_names[] = { "name", "text", "company", "email",
					 "phone", "id", "date", "code", "address" };
static const char *const level_names[] = { "missing", "exact", "close",
					   "fuzzy", "different" };

int crm_cmp_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(cmp_names) / sizeof(cmp_names[0]); i++)
		if (!strcmp(s, cmp_names[i]))
			return (int)i;
	return -1;
}

const char *crm_cmp_name(enum crm_cmp c)
{
	return cmp_names[c];
}

const char *crm_level_name(int level)
{
	return level >= 0 && level < CRM_LEVELS ? level_names[level] : "?";
}

void crm_linkage_init(struct crm_linkage *lk, const struct crm_entity *type)
{
	memset(lk, 0, sizeof(*lk));
	lk->type = type;
	lk->block_cap = DEFAULT_BLOCK_CAP;
}

void crm_linkage_release(struct crm_linkage *lk)
{
	for (size_t i = 0; i < lk->nf; i++)
		free(lk->f[i].name);
	free(lk->tf);
	free(lk->ucond);
	free(lk->words);
	for (size_t i = 0; i < lk->nchunks; i++)
		free(lk->chunks[i]);
	free(lk->chunks);
	free(lk->id);
	free(lk->val);
	free(lk->pairs);
	free(lk->byid);
	free(lk->labelled);
	for (size_t i = 0; i < lk->nrules; i++)
		free(lk->rules[i].sample);
	memset(lk, 0, sizeof(*lk));
}

/* A copy of s[0..n) in the arena; NULL when out of memory. */
static char *arena_dup(struct crm_linkage *lk, const char *s, size_t n)
{
	size_t used = lk->arena_used;
	char *p;

	if (!lk->nchunks || used + n + 1 > ARENA_CHUNK) {
		size_t size = n + 1 > ARENA_CHUNK ? n + 1 : ARENA_CHUNK;
		char **c = realloc(lk->chunks, (lk->nchunks + 1) * sizeof(*c));

		if (!c)
			return NULL;
		lk->chunks = c;
		if (!(c[lk->nchunks] = malloc(size)))
			return NULL;
		lk->nchunks++;
		used = 0;
		if (size > ARENA_CHUNK) {	/* a giant value gets its own */
			lk->arena_used = ARENA_CHUNK;
			memcpy(c[lk->nchunks - 1], s, n);
			c[lk->nchunks - 1][n] = '\0';
			return c[lk->nchunks - 1];
		}
	}
	p = lk->chunks[lk->nchunks - 1] + used;
	memcpy(p, s, n);
	p[n] = '\0';
	lk->arena_used = used + n + 1;
	return p;
}

int crm_linkage_add_field(struct crm_linkage *lk, const char *name,
			  enum crm_cmp cmp, struct crm_err *e)
{
	if (lk->nf == CRM_LINK_MAXF)
		return crm_err_set(e, CRM_EUSAGE, "at most %d compared fields",
				   CRM_LINK_MAXF);
	if (strncmp(name, "attrs.", 6) != 0 &&
	    crm_entity_field(lk->type, name) < 0 && strcmp(name, "external_id"))
		return crm_err_set(e, CRM_EUSAGE, "%ss have no field '%s'",
				   lk->type->kind, name);
	if (!(lk->f[lk->nf].name = strdup(name)))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	lk->f[lk->nf].cmp = cmp;
	lk->f[lk->nf].parent = -1;
	lk->nf++;
	return 0;
}

/* A comparator for a custom field, from its name and some values. */
static enum crm_cmp guess_cmp(const char *key, char **vals, size_t n)
{
	char tmp[128], k[128];
	size_t digits = 0, dates = 0, longish = 0;

	snprintf(tmp, sizeof(tmp), "%s", key);	/* cut long keys first */
	crm_norm_key(tmp, k);
	if (strstr(k, "email"))
		return CRM_CMP_EMAIL;
	if (strstr(k, "phone") || strstr(k, "mobile") || strstr(k, "tel"))
		return CRM_CMP_PHONE;
	if (strstr(k, "name") && !strstr(k, "company"))
		return CRM_CMP_NAME;
	if (strstr(k, "company") || strstr(k, "employer"))
		return CRM_CMP_COMPANY;
	if (strstr(k, "addr") || strstr(k, "street"))
		return CRM_CMP_ADDRESS;
	if (strstr(k, "website") || strstr(k, "domain") || strstr(k, "url"))
		return CRM_CMP_ID;
	for (size_t i = 0; i < n; i++) {
		char out[CRM_TIME_MAX];
		const char *why, *p = vals[i];
		size_t len = strlen(p), d = 0;

		for (; *p; p++)
			d += *p >= '0' && *p <= '9';
		if (len && d == len)
			digits++;
		if (len >= 8 && crm_parse_time(vals[i], CRM_DATE_MDY, out, &why) == 0)
			dates++;
		if (len > 12)
			longish++;
	}
	if (strstr(k, "date") || strstr(k, "dob") || strstr(k, "birth") ||
	    (n && dates * 10 >= n * 8))
		return CRM_CMP_DATE;
	if (n && digits * 10 >= n * 8)
		return digits && strstr(k, "id") ? CRM_CMP_ID : CRM_CMP_CODE;
	if (n && longish * 2 >= n)
		return CRM_CMP_TEXT;
	return strstr(k, "id") ? CRM_CMP_ID : CRM_CMP_TEXT;
}

int crm_linkage_auto_fields(struct crm_linkage *lk, struct crm_store *db,
			    struct crm_err *e)
{
	static const struct {
		const char *kind, *field;
		enum crm_cmp cmp;
	} own[] = {
		{ "contact", "first_name", CRM_CMP_NAME },
		{ "contact", "last_name", CRM_CMP_NAME },
		{ "contact", "email", CRM_CMP_EMAIL },
		{ "contact", "phone", CRM_CMP_PHONE },
		{ "contact", "company", CRM_CMP_COMPANY },
		{ "contact", "city", CRM_CMP_TEXT },
		{ "account", "name", CRM_CMP_COMPANY },
		{ "account", "domain", CRM_CMP_ID },
		{ "account", "country", CRM_CMP_TEXT },
		{ "account", "city", CRM_CMP_TEXT },
		{ "user", "name", CRM_CMP_NAME },
		{ "user", "email", CRM_CMP_EMAIL },
		{ "product", "name", CRM_CMP_COMPANY },
	};
	struct crm_buf sql;
	struct crm_stmt *st = NULL;
	long long total = 0;
	int rc = -1;

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strcmp(own[i].kind, lk->type->kind) &&
		    crm_linkage_add_field(lk, own[i].field, own[i].cmp, e) < 0)
			return -1;
	/* Custom fields most records have, compared by what they look like. */
	crm_buf_init(&sql, 0);
	if (crm_buf_addf(&sql, "SELECT count(*) FROM %s WHERE merged_into IS NULL",
			 lk->type->table) < 0 ||
	    crm_store_prepare(db, sql.data, 0, &st, e) < 0)
		goto out;
	if (crm_stmt_step(st, e) > 0)
		total = crm_stmt_int64(st, 0);
	crm_stmt_free(st);
	st = NULL;
	crm_buf_reset(&sql);
	if (crm_buf_addf(&sql, "SELECT j.key, count(*) FROM %s, %s(%s.attrs) AS j "
			 "WHERE merged_into IS NULL AND %s "
			 "GROUP BY j.key HAVING count(*) * 3 >= ?1 ORDER BY count(*) DESC, j.key",
			 lk->type->table, crm_store_sql(db, CRM_SQL_JSON_EACH), lk->type->table,
			 crm_store_sql(db, CRM_SQL_EACH_TEXT_OR_NUMBER)) < 0 ||
	    crm_store_prepare(db, sql.data, 0, &st, e) < 0)
		goto out;
	crm_stmt_bind_int64(st, 1, total);
	while (crm_stmt_step(st, e) > 0 && lk->nf < CRM_LINK_MAXF) {
		const char *key = crm_stmt_text(st, 0);
		char name[300], path[300], *vals[200];
		size_t nv = 0;
		struct crm_stmt *q;

		snprintf(name, sizeof(name), "attrs.%s", key);
		crm_store_attr_key(db, key, path, sizeof(path));
		crm_buf_reset(&sql);
		crm_buf_adds(&sql, "SELECT v FROM (SELECT ");
		crm_store_attr(db, &sql, "attrs", 1, 0);
		crm_buf_addf(&sql, " AS v FROM %s) x WHERE v IS NOT NULL LIMIT 200", lk->type->table);
		if (crm_store_prepare(db, sql.data, 0, &q, e) < 0)
			continue;
		crm_stmt_bind_text(q, 1, path, (size_t)-1);
		while (nv < 200 && crm_stmt_step(q, e) > 0)
			if ((vals[nv] = strdup(crm_stmt_text(q, 0))))
				nv++;
		crm_stmt_free(q);
		rc = crm_linkage_add_field(lk, name, guess_cmp(key, vals, nv), e);
		for (size_t i = 0; i < nv; i++)
			free(vals[i]);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	crm_stmt_free(st);
	crm_buf_release(&sql);
	return rc;
}

/* The match value of raw for comparator c into out (>= 2 * len + 24). */
static void match_value(enum crm_cmp c, const char *raw, char *out)
{
	char t[CRM_TIME_MAX];
	const char *why;

	switch (c) {
	case CRM_CMP_NAME: {
		const char *nick;

		crm_fold(raw, out);
		nick = crm_nickname(out);
		if (nick != out)
			memmove(out, nick, strlen(nick) + 1);
		break;
	}
	case CRM_CMP_TEXT:
		crm_fold(raw, out);
		break;
	case CRM_CMP_COMPANY:
		crm_sim_key_company(raw, out);
		break;
	case CRM_CMP_EMAIL:
		crm_sim_key_email(raw, out);
		break;
	case CRM_CMP_PHONE:
		crm_sim_key_phone(raw, out);
		break;
	case CRM_CMP_ADDRESS:
		crm_sim_key_address(raw, out);
		break;
	case CRM_CMP_DATE:
		if (crm_parse_time(raw, CRM_DATE_MDY, t, &why) == 0) {
			/* YYYY-MM-DD... -> YYYYMMDD */
			out[0] = t[0]; out[1] = t[1]; out[2] = t[2]; out[3] = t[3];
			out[4] = t[5]; out[5] = t[6]; out[6] = t[8]; out[7] = t[9];
			out[8] = '\0';
			break;
		}
		/* Not a date: compare what is there as a code. */
		__attribute__((fallthrough));
	case CRM_CMP_ID:
	case CRM_CMP_CODE: {
		size_t k = 0;
		const char *host = strstr(raw, "://");
		char site[256];

		/* A website is its host: https://www.acme.com/about is acme.com. */
		if (host || !strncasecmp(raw, "www.", 4)) {
			raw = host ? host + 3 : raw;
			if (!strncasecmp(raw, "www.", 4))
				raw += 4;
			snprintf(site, sizeof(site), "%.*s", (int)strcspn(raw, "/?#"), raw);
			raw = site;
		}
		crm_fold(raw, out);
		for (size_t i = 0; out[i]; i++)
			if (out[i] != ' ')
				out[k++] = out[i];
		out[k] = '\0';
		break;
	}
	}
}

/* SQL expression for field f: a checked column name, or a custom field
 * as text. */
static int field_expr(struct crm_linkage *lk, struct crm_store *db, size_t i, struct crm_buf *sql)
{
	const char *name = lk->f[i].name;

	if (!strncmp(name, "attrs.", 6))
		return crm_buf_adds(sql, ", ") < 0 ? -1 : crm_store_attr(db, sql, "attrs", (int)i + 1, 0);
	return crm_buf_addf(sql, ", \"%s\"", name);
}

/* Add record id with the raw values of its fields (NULL: none); one
 * without any is counted as skipped. -1 when out of memory. */
static int add_row(struct crm_linkage *lk, const char *id, const char *const *raw,
		   struct crm_buf *buf, size_t *alloc)
{
	size_t present = 0;
	char *vals[CRM_LINK_MAXF];

	for (size_t i = 0; i < lk->nf; i++) {
		size_t len;

		vals[i] = NULL;
		if (!raw[i] || !*raw[i])
			continue;
		len = strlen(raw[i]);
		crm_buf_reset(buf);
		if (crm_buf_grow(buf, 2 * len + 32) < 0)
			return -1;
		match_value(lk->f[i].cmp, raw[i], buf->data);
		if (!buf->data[0])
			continue;
		if (!(vals[i] = arena_dup(lk, buf->data, strlen(buf->data))))
			return -1;
		present++;
	}
	if (!present) {
		lk->skipped++;
		return 0;
	}
	if (lk->n == *alloc || !lk->id) {
		size_t na = *alloc > lk->n ? *alloc : lk->n ? lk->n * 2 : 4096;
		char **idv = realloc(lk->id, na * sizeof(*idv));
		char **v;

		if (!idv)
			return -1;
		lk->id = idv;
		v = realloc(lk->val, na * lk->nf * sizeof(*v));
		if (!v)
			return -1;
		lk->val = v;
		*alloc = na;
	}
	if (!(lk->id[lk->n] = arena_dup(lk, id, strlen(id))))
		return -1;
	memcpy(&lk->val[lk->n * lk->nf], vals, lk->nf * sizeof(*vals));
	lk->n++;
	return 0;
}

int crm_linkage_add_record(struct crm_linkage *lk, const char *id, const char *const *raw,
			   struct crm_err *e)
{
	struct crm_buf buf;
	size_t alloc = lk->n + 1;
	int rc;

	crm_buf_init(&buf, 0);
	/* Room for one more, in the arrays as they are. */
	if (lk->id) {
		char **idv = realloc(lk->id, alloc * sizeof(*idv));
		char **v = idv ? realloc(lk->val, alloc * lk->nf * sizeof(*v)) : NULL;

		if (idv)
			lk->id = idv;
		if (v)
			lk->val = v;
		if (!idv || !v)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	rc = add_row(lk, id, raw, &buf, &alloc);
	crm_buf_release(&buf);
	free(lk->byid);		/* the id index is built again when asked */
	lk->byid = NULL;
	return rc < 0 ? crm_err_set(e, CRM_ESOFTWARE, "out of memory") : 0;
}

int crm_linkage_load(struct crm_linkage *lk, struct crm_store *db, struct crm_err *e)
{
	struct crm_buf sql, buf, plain[CRM_LINK_MAXF] = { { 0 } };
	struct crm_stmt *st = NULL;
	size_t alloc = 0;
	int rc = -1, step, sealed[CRM_LINK_MAXF] = { 0 };

	crm_buf_init(&sql, 0);
	crm_buf_init(&buf, 0);
	if (!lk->nf)
		return crm_err_set(e, CRM_EUSAGE, "no fields to compare");
	for (size_t i = 0; i < lk->nf; i++)
		sealed[i] = crm_store_crypt(db) && strncmp(lk->f[i].name, "attrs.", 6) &&
			    crm_entity_personal_column(lk->type, lk->f[i].name);
	crm_buf_adds(&sql, "SELECT id");
	for (size_t i = 0; i < lk->nf; i++)
		field_expr(lk, db, i, &sql);
	if (crm_buf_addf(&sql, " FROM %s WHERE merged_into IS NULL ORDER BY %s",
			 lk->type->table, crm_store_rowid(db)) < 0 ||
	    crm_store_prepare(db, sql.data, CRM_STMT_STREAM, &st, e) < 0)
		goto out;
	for (size_t i = 0; i < lk->nf; i++)
		if (!strncmp(lk->f[i].name, "attrs.", 6)) {
			char path[300];

			crm_store_attr_key(db, lk->f[i].name + 6, path, sizeof(path));
			crm_stmt_bind_text(st, (int)i + 1, path, (size_t)-1);
		}
	while ((step = crm_stmt_step(st, e)) == 1) {
		const char *raw[CRM_LINK_MAXF];

		for (size_t i = 0; i < lk->nf; i++) {
			raw[i] = crm_stmt_text(st, (int)i + 1);
			/* Sealed cells are compared as plain text, in memory only. */
			if (sealed[i]) {
				int r = crm_row_cell(st, (int)i + 1, lk->type->table, lk->f[i].name,
						     crm_stmt_text(st, 0), &plain[i], e);

				if (r < 0)
					goto out;
				raw[i] = r ? plain[i].data : NULL;
			}
		}
		if (add_row(lk, crm_stmt_text(st, 0), raw, &buf, &alloc) < 0)
			goto nomem;
	}
	if (step < 0)
		goto out;
	if (lk->n > UINT32_MAX - 1) {
		crm_err_set(e, CRM_EUSAGE, "too many records");
		goto out;
	}
	lk->n_db = lk->n;
	rc = 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	crm_stmt_free(st);
	crm_buf_release(&sql);
	crm_buf_release(&buf);
	for (size_t i = 0; i < CRM_LINK_MAXF; i++)
		crm_buf_release(&plain[i]);
	return rc;
}

static int cmp_byid(const void *a, const void *b, void *ids)
{
	char **id = ids;

	return strcmp(id[*(const uint32_t *)a], id[*(const uint32_t *)b]);
}

long crm_linkage_find(struct crm_linkage *lk, const char *id)
{
	size_t lo = 0, hi = lk->n;

	if (!lk->byid) {
		if (!(lk->byid = malloc((lk->n ? lk->n : 1) * sizeof(*lk->byid))))
			return -1;
		for (uint32_t i = 0; i < lk->n; i++)
			lk->byid[i] = i;
		if (lk->n)
			qsort_r(lk->byid, lk->n, sizeof(*lk->byid), cmp_byid, lk->id);
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(id, lk->id[lk->byid[mid]]);

		if (!c)
			return lk->byid[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* ---- comparison ---------------------------------------------------------- */

static const char *V(const struct crm_linkage *lk, size_t r, size_t f)
{
	return lk->val[r * lk->nf + f];
}

/* Do a and b hold the same digits in the same order? */
static int same_digits(const char *a, const char *b)
{
	for (;;) {
		while (*a && (*a < '0' || *a > '9'))
			a++;
		while (*b && (*b < '0' || *b > '9'))
			b++;
		if (*a != *b)
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

/* The house number of a street address key: its first word of digits. */
static size_t house_number(const char *s, const char **num)
{
	for (const char *w = s; *w;) {
		size_t len = strcspn(w, " ");

		if (w[0] >= '0' && w[0] <= '9') {
			*num = w;
			return len;
		}
		w += len;
		while (*w == ' ')
			w++;
	}
	*num = NULL;
	return 0;
}

/*
 * Two address keys: equal is exact; the same house number and a close
 * street is close; the same number and a fuzzy street is fuzzy; two
 * different numbers are different buildings whatever the street.
 */
static int compare_address(const char *a, const char *b)
{
	const char *na, *nb;
	size_t la = house_number(a, &na), lb = house_number(b, &nb);
	double jw = crm_jaro_winkler(a, b), ts = crm_sim_token_set(a, b);

	if (la && lb && (la != lb || strncmp(na, nb, la)))
		return CRM_LV_DIFF;
	if (jw >= 0.92 || ts == 1.0)
		return la && lb ? CRM_LV_CLOSE : CRM_LV_FUZZY;
	if (jw >= 0.80 || ts >= 0.5)
		return CRM_LV_FUZZY;
	return CRM_LV_DIFF;
}

/* Days since 1970 of a date written YYYYMMDD; -1 if it is not one. */
static int date_days(const char *s, long long *days)
{
	int v[8];

	for (int i = 0; i < 8; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v[i] = s[i] - '0';
	}
	*days = (long long)crm_days_from_civil(v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3],
					       v[4] * 10 + v[5], v[6] * 10 + v[7]);
	return 0;
}

static int compare_field(enum crm_cmp c, const char *a, const char *b)
{
	long long da, db;
	double jw;

	if (!a || !b)
		return CRM_LV_MISSING;
	if (!strcmp(a, b))
		return CRM_LV_EXACT;
	switch (c) {
	case CRM_CMP_NAME:
		jw = crm_jaro_winkler(a, b);
		return jw >= 0.92 ? CRM_LV_CLOSE : jw >= 0.80 ? CRM_LV_FUZZY : CRM_LV_DIFF;
	case CRM_CMP_TEXT:
	case CRM_CMP_COMPANY:	/* by its words' rarity in compare_company() */
		jw = crm_jaro_winkler(a, b);
		/* One typo in a word of five letters or more is close
		 * wherever it is: Jaro's window pairs a letter put in front
		 * ("nLondon") with the wrong letters and says 0.79. */
		if (jw >= 0.92 || crm_sim_token_set(a, b) == 1.0 ||
		    (strlen(a) >= 5 && strlen(b) >= 5 && crm_edit_distance(a, b, 1) <= 1))
			return CRM_LV_CLOSE;
		return jw >= 0.80 ? CRM_LV_FUZZY : CRM_LV_DIFF;
	case CRM_CMP_EMAIL: {
		const char *x = strchr(a, '@'), *y = strchr(b, '@');
		size_t la = x ? (size_t)(x - a) : strlen(a), lb = y ? (size_t)(y - b) : strlen(b);

		/* One typo inside the local part is close; not at its ends,
		 * where an initial sits (jsmith, msmith; jamesk, jamesr), nor
		 * in its digits (john.smith1, john.smith2): those are two
		 * people. */
		if (la >= 5 && lb >= 5 && a[0] == b[0] && a[la - 1] == b[lb - 1] &&
		    crm_edit_distance(a, b, 1) <= 1 && same_digits(a, b))
			return CRM_LV_CLOSE;
		/* Two mailboxes at one domain are two people (colleagues, or
		 * two accounts of one provider). Mailboxes at two domains are
		 * no such conflict: a new work domain is a new employer,
		 * which the company field counts already (domain and company
		 * go together), and the same local part elsewhere is made
		 * from the name, which the name fields count. */
		if (x && y && !strcmp(x, y))
			return CRM_LV_DIFF;
		/* A personal address beside a work one: another channel of
		 * anyone; nothing to compare. */
		if (crm_email_personal(a) != crm_email_personal(b))
			return CRM_LV_MISSING;
		return CRM_LV_FUZZY;
	}
	case CRM_CMP_ADDRESS:
		return compare_address(a, b);
	case CRM_CMP_DATE:
		if (strlen(a) == 8 && strlen(b) == 8) {
			/* Day and month swapped, or one digit wrong. */
			if (!memcmp(a, b, 4) && !memcmp(a + 4, b + 6, 2) &&
			    !memcmp(a + 6, b + 4, 2))
				return CRM_LV_CLOSE;
			if (crm_edit_distance(a, b, 1) <= 1)
				return CRM_LV_CLOSE;
			/* Within a year, as a date misremembered or retyped
			 * is (the same calendar year across New Year too). */
			if (!memcmp(a, b, 4) ||
			    (!date_days(a, &da) && !date_days(b, &db) && llabs(da - db) <= 366))
				return CRM_LV_FUZZY;
			return CRM_LV_DIFF;
		}
		__attribute__((fallthrough));
	case CRM_CMP_PHONE:
	case CRM_CMP_ID:
	case CRM_CMP_CODE:
		return crm_edit_distance(a, b, 1) <= 1 ? CRM_LV_CLOSE : CRM_LV_DIFF;
	}
	return CRM_LV_DIFF;
}

/* Index of the first and last name fields of people, or -1. */
static void name_fields(const struct crm_linkage *lk, int *first, int *last)
{
	*first = *last = -1;
	for (size_t i = 0; i < lk->nf; i++) {
		char k[64];

		if (lk->f[i].cmp != CRM_CMP_NAME || strlen(lk->f[i].name) >= sizeof(k))
			continue;
		crm_norm_key(lk->f[i].name, k);
		if (*first < 0 && (strstr(k, "first") || strstr(k, "given") ||
				   strstr(k, "forename")))
			*first = (int)i;
		else if (*last < 0 && (strstr(k, "last") || strstr(k, "surname") ||
				       strstr(k, "family")))
			*last = (int)i;
	}
}

static uint64_t hash_str(uint64_t h, const char *s, size_t n);

/* Does s, up to end (NULL: all of it), hold the word w[0..n)? */
static int has_word(const char *s, const char *end, const char *w, size_t n)
{
	while (*s && (!end || s < end)) {
		size_t m = strcspn(s, " ");

		if (m == n && !strncmp(s, w, n))
			return 1;
		s += m;
		while (*s == ' ')
			s++;
	}
	return 0;
}

/* Records whose company names hold a word, from the table of words. */
static double word_df(const struct crm_linkage *lk, const char *w, size_t n)
{
	uint64_t h = hash_str(0xcbf29ce484222325ULL, w, n) | 1;

	if (!lk->words)
		return 0;
	for (size_t s = h & (lk->nwords_cap - 1); lk->words[s].h; s = (s + 1) & (lk->nwords_cap - 1))
		if (lk->words[s].h == h)
			return lk->words[s].n;
	return 0;
}

/* The sum of the squared IDF of s's distinct words; in *shared, of those
 * also in t (when t). */
static double idf_mass(const struct crm_linkage *lk, const char *s, const char *t,
		       double *shared)
{
	double sum = 0, both = 0, docs = (double)lk->nwords_docs + 1;

	for (const char *w = s; *w;) {
		size_t n = strcspn(w, " ");

		if (n && !has_word(s, w, w, n)) {	/* each word once */
			double idf = log(docs / (word_df(lk, w, n) + 0.5));

			idf = idf > 0 ? idf * idf : 0;
			sum += idf;
			both += t && has_word(t, NULL, w, n) ? idf : 0;
		}
		w += n;
		while (*w == ' ')
			w++;
	}
	if (shared)
		*shared = both;
	return sum;
}

/*
 * Company names, by the words they share weighted by how rare each word is
 * (TF-IDF cosine): "Acme Holdings" and "Acme Corp Europe" share the word
 * that matters; "Ritz-Carlton Cafe" and "Ritz-Carlton Dining Room" share
 * the brand and differ in what tells two outlets apart. A typo is close.
 */
static int compare_company(const struct crm_linkage *lk, const char *a, const char *b)
{
	double shared, sa, sb, cosine;
	size_t la = strlen(a), lb = strlen(b);

	if (!strcmp(a, b))
		return CRM_LV_EXACT;
	if (!lk->words)
		return compare_field(CRM_CMP_TEXT, a, b);
	if ((la > lb ? la : lb) >= 6 && crm_edit_distance(a, b, 1) <= 1)
		return CRM_LV_CLOSE;
	sa = idf_mass(lk, a, b, &shared);
	sb = idf_mass(lk, b, NULL, NULL);
	cosine = sa > 0 && sb > 0 ? shared / sqrt(sa * sb) : 0;
	if (cosine >= 0.8)
		return CRM_LV_CLOSE;
	if (cosine >= 0.4 || crm_jaro_winkler(a, b) >= 0.92)
		return CRM_LV_FUZZY;
	return CRM_LV_DIFF;
}

static void compare_pair(const struct crm_linkage *lk, uint32_t a, uint32_t b,
			 int fi, int li, uint8_t *lev)
{
	for (size_t i = 0; i < lk->nf; i++)
		lev[i] = (uint8_t)(lk->f[i].cmp == CRM_CMP_COMPANY && V(lk, a, i) && V(lk, b, i) ?
				   compare_company(lk, V(lk, a, i), V(lk, b, i)) :
				   compare_field(lk->f[i].cmp, V(lk, a, i), V(lk, b, i)));
	/*
	 * An email's local part is made from the name: where the names
	 * differ, a one-letter difference between two addresses is that
	 * same difference (mark.hernandez, mary.hernandez), not a typo. Two
	 * mailboxes at one domain are then two people; at two, no more.
	 */
	for (size_t i = 0; i < lk->nf; i++)
		if (lk->f[i].cmp == CRM_CMP_EMAIL && lev[i] == CRM_LV_CLOSE &&
		    ((fi >= 0 && lev[fi] >= CRM_LV_FUZZY) || (li >= 0 && lev[li] >= CRM_LV_FUZZY))) {
			const char *x = strchr(V(lk, a, i), '@'), *y = strchr(V(lk, b, i), '@');

			lev[i] = x && y && !strcmp(x, y) ? CRM_LV_DIFF : CRM_LV_FUZZY;
		}
	/*
	 * A name in the other field: "Imogen" as the last name of one and
	 * the first of the other, whose last name is not there. As close as
	 * the two are crosswise (equal is close: the swap is a difference),
	 * where the crosswise pair that is left has nothing to say against.
	 */
	if (fi >= 0 && li >= 0)
		for (int s = 0; s < 2; s++) {
			size_t f1 = (size_t)(s ? li : fi), f2 = (size_t)(s ? fi : li);
			uint32_t x = a, y = b;

			for (int t = 0; t < 2; t++, x = b, y = a)
				if (lev[f1] == CRM_LV_DIFF && lev[f2] == CRM_LV_MISSING && V(lk, x, f1) &&
				    V(lk, y, f2)) {
					int c = compare_field(CRM_CMP_NAME, V(lk, x, f1), V(lk, y, f2));

					if (c <= CRM_LV_FUZZY)
						lev[f1] = (uint8_t)(c <= CRM_LV_CLOSE ? CRM_LV_CLOSE : c);
				}
		}
	/* First and last name swapped: close on both, if crosswise equal. */
	if (fi >= 0 && li >= 0 && lev[fi] >= CRM_LV_FUZZY && lev[li] >= CRM_LV_FUZZY &&
	    compare_field(CRM_CMP_NAME, V(lk, a, (size_t)fi), V(lk, b, (size_t)li)) <= CRM_LV_CLOSE &&
	    compare_field(CRM_CMP_NAME, V(lk, a, (size_t)li), V(lk, b, (size_t)fi)) <= CRM_LV_CLOSE &&
	    lev[fi] != CRM_LV_MISSING && lev[li] != CRM_LV_MISSING)
		lev[fi] = lev[li] = CRM_LV_CLOSE;
}

void crm_linkage_compare(const struct crm_linkage *lk, uint32_t a, uint32_t b,
			 uint8_t *lev)
{
	int fi, li;

	name_fields(lk, &fi, &li);
	compare_pair(lk, a, b, fi, li, lev);
}

/* ---- blocking ------------------------------------------------------------ */

static uint64_t hash_str(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

/*
 * The blocking key part of a value: a phonetic code for names, the
 * first word of a company, the whole value otherwise. Into out (>= 64).
 */
static size_t block_part(enum crm_cmp c, const char *v, char *out)
{
	size_t n;

	switch (c) {
	case CRM_CMP_NAME:
		crm_nysiis(v, out);
		return strlen(out);
	case CRM_CMP_ADDRESS: {
		/* The house number and the street's first word. */
		const char *sp = strchr(v, ' ');

		n = sp ? (size_t)(sp - v) + 1 + strcspn(sp + 1, " ") : strlen(v);
		if (n > 63)
			n = 63;
		memcpy(out, v, n);
		out[n] = '\0';
		return n;
	}
	case CRM_CMP_COMPANY:
	case CRM_CMP_TEXT:
		n = strcspn(v, " ");
		if (n > 63)
			n = 63;
		memcpy(out, v, n);
		out[n] = '\0';
		return n;
	default:
		n = strlen(v);
		if (n > 63)
			n = 63;
		memcpy(out, v, n);
		out[n] = '\0';
		return n;
	}
}

struct hidx {
	uint64_t h;
	uint32_t i;
};

static int cmp_hidx(const void *x, const void *y)
{
	const struct hidx *a = x, *b = y;

	if (a->h != b->h)
		return a->h < b->h ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * Least-significant-digit radix sorts, a byte a pass, passes where every
 * key has the same byte skipped (pair keys are two ids under 2^32, hash
 * keys use all eight): millions of keys sort several times faster than
 * with qsort, in the same room (a buffer as large as the array, which
 * glibc's merge sort takes too). Stable. -1 when the buffer cannot be had.
 */
#define RADIX_SORT(NAME, T, KEY)						\
static int NAME(T *a, size_t n)							\
{										\
	T *tmp, *src = a, *dst;							\
	size_t count[8][256] = { { 0 } };					\
										\
	if (n < 2)								\
		return 0;							\
	tmp = malloc(n * sizeof(*tmp));						\
	if (!tmp)								\
		return -1;							\
	dst = tmp;								\
	for (size_t i = 0; i < n; i++)						\
		for (int d = 0; d < 8; d++)					\
			count[d][(KEY(a[i]) >> (8 * d)) & 0xff]++;		\
	for (int d = 0; d < 8; d++) {						\
		size_t pos = 0;							\
		T *t;								\
										\
		if (count[d][(KEY(a[0]) >> (8 * d)) & 0xff] == n)		\
			continue;	/* one value of this byte: in order */	\
		for (int b = 0; b < 256; b++) {					\
			size_t c = count[d][b];					\
										\
			count[d][b] = pos;					\
			pos += c;						\
		}								\
		for (size_t i = 0; i < n; i++)					\
			dst[count[d][(KEY(src[i]) >> (8 * d)) & 0xff]++] = src[i];	\
		t = src;							\
		src = dst;							\
		dst = t;							\
	}									\
	if (src != a)								\
		memcpy(a, src, n * sizeof(*a));					\
	free(tmp);								\
	return 0;								\
}

#define KEY_U64(x) (x)
#define KEY_HIDX(x) ((x).h)
RADIX_SORT(sort_u64, uint64_t, KEY_U64)
RADIX_SORT(sort_hidx, struct hidx, KEY_HIDX)

struct pairbuf {
	uint64_t *p;
	size_t n, alloc;
};

static int pair_add(struct pairbuf *pb, uint32_t a, uint32_t b)
{
	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	if (pb->n == pb->alloc) {
		size_t na = pb->alloc ? pb->alloc * 2 : 1 << 16;
		uint64_t *p = realloc(pb->p, na * sizeof(*p));

		if (!p)
			return -1;
		pb->p = p;
		pb->alloc = na;
	}
	pb->p[pb->n++] = (uint64_t)a << 32 | b;
	return 0;
}

/* How a blocking rule reads its values. */
enum { BLOCK_PLAIN, BLOCK_SWAP };

/*
 * One blocking rule: fields x and y (y < 0: x alone). mode BLOCK_SWAP:
 * the two parts in sorted order, so swapped first and last names meet.
 */
static int block_rule(struct crm_linkage *lk, int x, int y, int mode, uint64_t most,
		      struct hidx *keys, struct pairbuf *pb)
{
	int swap = mode == BLOCK_SWAP;

	size_t nk = 0;

	for (uint32_t r = 0; r < lk->n; r++) {
		char p1[64], p2[64];
		const char *a = V(lk, r, (size_t)x), *b = y >= 0 ? V(lk, r, (size_t)y) : "";
		size_t n1, n2;
		uint64_t h = 0xcbf29ce484222325ULL + (uint64_t)(x * 31 + y + swap * 7);

		if (!a || !b)
			continue;
		n1 = block_part(lk->f[x].cmp, a, p1);
		n2 = y >= 0 ? block_part(lk->f[y].cmp, b, p2) : 0;
		if (!n1 || (y >= 0 && !n2))
			continue;
		if (swap && strcmp(p1, p2) > 0) {
			h = hash_str(h, p2, n2);
			h = hash_str(h, p1, n1);
		} else {
			h = hash_str(h, p1, n1);
			if (y >= 0)
				h = hash_str(h, p2, n2);
		}
		keys[nk].h = h;
		keys[nk].i = r;
		nk++;
	}
	/* Stable by hash: records of one key stay in index order. */
	if (sort_hidx(keys, nk) < 0)
		qsort(keys, nk, sizeof(*keys), cmp_hidx);
	{
		/* Count first: a rule on two common values (first name and
		 * city) pairs mostly strangers, and is left out. */
		uint64_t count = 0, big = 0;
		size_t start = pb->n;
		struct crm_lrule *rule;

		for (size_t s = 0; s < nk;) {
			size_t end = s + 1;

			while (end < nk && keys[end].h == keys[s].h)
				end++;
			if (end - s > lk->block_cap)
				big++;
			else
				count += (uint64_t)(end - s) * (end - s - 1) / 2;
			s = end;
		}
		if (count > most * lk->n + 1000 ||
		    lk->nrules == CRM_LINK_MAXRULES) {
			lk->dropped_rules++;
			return 0;
		}
		lk->big_blocks += big;
		for (size_t s = 0; s < nk;) {
			size_t end = s + 1;

			while (end < nk && keys[end].h == keys[s].h)
				end++;
			if (end - s <= lk->block_cap)
				for (size_t i = s; i < end; i++)
					for (size_t k = i + 1; k < end; k++)
						if (pair_add(pb, keys[i].i, keys[k].i) < 0)
							return -1;
			s = end;
		}
		rule = &lk->rules[lk->nrules];
		rule->x = x;
		rule->y = y;
		rule->pairs = pb->n - start;
		rule->nsample = rule->pairs < RULE_SAMPLE ? rule->pairs : RULE_SAMPLE;
		rule->sample = malloc((rule->nsample ? rule->nsample : 1) * sizeof(uint64_t));
		if (!rule->sample)
			return -1;
		/* Evenly spread over the rule's pairs, which are in key order. */
		for (size_t i = 0; i < rule->nsample; i++)
			rule->sample[i] = pb->p[start + i * rule->pairs / rule->nsample];
		lk->nrules++;
	}
	return 0;
}

struct slice {
	struct crm_linkage *lk;
	size_t from, to;
	int fi, li;
};

static void *compare_slice(void *arg)
{
	struct slice *s = arg;

	for (size_t i = s->from; i < s->to; i++) {
		struct crm_pair *p = &s->lk->pairs[i];

		compare_pair(s->lk, p->a, p->b, s->fi, s->li, p->lev);
	}
	return NULL;
}

/*
 * Compare every candidate pair, on as many threads as there are cores (up
 * to 8): each pair writes only its own levels, records are read-only.
 */
static void compare_all(struct crm_linkage *lk, int fi, int li)
{
	struct slice s[8];
	pthread_t th[8];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cores < 1 ? 1 : cores > 8 ? 8 : (size_t)cores, started = 1;

	if (lk->npairs < 100000)
		n = 1;
	s[0].lk = lk;	/* the first slice always runs, here */
	s[0].fi = fi;
	s[0].li = li;
	s[0].from = 0;
	s[0].to = lk->npairs / n;
	for (size_t t = 1; t < n; t++) {
		s[t].lk = lk;
		s[t].fi = fi;
		s[t].li = li;
		s[t].from = lk->npairs * t / n;
		s[t].to = lk->npairs * (t + 1) / n;
	}
	for (size_t t = 1; t < n; t++, started++)
		if (pthread_create(&th[t], NULL, compare_slice, &s[t]) != 0)
			break;
	compare_slice(&s[0]);
	/* A slice whose thread did not start is done here. */
	for (size_t t = started; t < n; t++)
		compare_slice(&s[t]);
	for (size_t t = 1; t < started; t++)
		pthread_join(th[t], NULL);
}

/* Count one word of a company name: -1 when out of memory. */
static int word_add(struct crm_linkage *lk, const char *w, size_t len)
{
	uint64_t h = hash_str(0xcbf29ce484222325ULL, w, len) | 1;
	size_t s;

	if (2 * (lk->nwords + 1) > lk->nwords_cap) {
		size_t cap = lk->nwords_cap ? 2 * lk->nwords_cap : 1024;
		struct crm_word *t = calloc(cap, sizeof(*t));

		if (!t)
			return -1;
		for (size_t i = 0; i < lk->nwords_cap; i++)
			if (lk->words[i].h) {
				for (s = lk->words[i].h & (cap - 1); t[s].h; s = (s + 1) & (cap - 1))
					;
				t[s] = lk->words[i];
			}
		free(lk->words);
		lk->words = t;
		lk->nwords_cap = cap;
	}
	for (s = h & (lk->nwords_cap - 1); lk->words[s].h && lk->words[s].h != h;
	     s = (s + 1) & (lk->nwords_cap - 1))
		;
	if (!lk->words[s].h) {
		lk->words[s].h = h;
		lk->nwords++;
	}
	lk->words[s].n++;
	return 0;
}

/* The words of company names, and in how many names each is. */
static int count_words(struct crm_linkage *lk)
{
	free(lk->words);
	lk->words = NULL;
	lk->nwords = lk->nwords_cap = lk->nwords_docs = 0;
	for (size_t i = 0; i < lk->nf; i++) {
		if (lk->f[i].cmp != CRM_CMP_COMPANY)
			continue;
		for (uint32_t r = 0; r < lk->n; r++) {
			const char *v = V(lk, r, i);

			if (!v)
				continue;
			lk->nwords_docs++;
			for (const char *w = v; *w;) {
				size_t len = strcspn(w, " ");

				if (len && !has_word(v, w, w, len) && word_add(lk, w, len) < 0)
					return -1;
				w += len;
				while (*w == ' ')
					w++;
			}
		}
	}
	return 0;
}

int crm_linkage_block(struct crm_linkage *lk, struct crm_err *e)
{
	struct hidx *keys;
	struct pairbuf pb = { 0 };
	int fi, li, rc = -1;
	size_t k = 0;

	if (lk->n < 2)
		return 0;
	if (count_words(lk) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	keys = malloc(lk->n * sizeof(*keys));
	if (!keys)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	name_fields(lk, &fi, &li);
	/* Exact keys alone: email, phone, ids; a date (of birth) alone, and
	 * a name alone by its sound, so copies whose every other field has a
	 * typo, or is missing, meet. A rule that would pair too many is left
	 * out in block_rule(): a name alone soon does, being shared by
	 * strangers, and is kept in small lists only. */
	for (size_t i = 0; i < lk->nf; i++) {
		enum crm_cmp c = lk->f[i].cmp;

		if ((c == CRM_CMP_EMAIL || c == CRM_CMP_PHONE || c == CRM_CMP_ID ||
		     c == CRM_CMP_DATE || c == CRM_CMP_NAME) &&
		    block_rule(lk, (int)i, -1, BLOCK_PLAIN,
			       c == CRM_CMP_NAME ? NAME_MAX_PAIRS : RULE_MAX_PAIRS, keys, &pb) < 0)
			goto nomem;
	}
	/* Every two fields together; names by sound. */
	for (size_t i = 0; i < lk->nf; i++)
		for (size_t j = i + 1; j < lk->nf; j++) {
			enum crm_cmp a = lk->f[i].cmp, b = lk->f[j].cmp;

			if (a == CRM_CMP_EMAIL || b == CRM_CMP_EMAIL ||
			    a == CRM_CMP_PHONE || b == CRM_CMP_PHONE ||
			    a == CRM_CMP_ID || b == CRM_CMP_ID)
				continue;
			if (block_rule(lk, (int)i, (int)j,
				       (int)i == fi && (int)j == li ? BLOCK_SWAP : BLOCK_PLAIN,
				       RULE_MAX_PAIRS, keys, &pb) < 0)
				goto nomem;
		}
	/* A company alone, and an address alone, for accounts: two lists
	 * that spell a firm's name apart still give its street the same. */
	for (size_t i = 0; i < lk->nf; i++)
		if ((lk->f[i].cmp == CRM_CMP_COMPANY || lk->f[i].cmp == CRM_CMP_ADDRESS) &&
		    !strcmp(lk->type->kind, "account") &&
		    block_rule(lk, (int)i, -1, BLOCK_PLAIN, RULE_MAX_PAIRS, keys, &pb) < 0)
			goto nomem;
	if (pb.n)
		if (sort_u64(pb.p, pb.n) < 0)
			qsort(pb.p, pb.n, sizeof(*pb.p), cmp_u64);
	for (size_t i = 0; i < pb.n; i++)
		if (!i || pb.p[i] != pb.p[i - 1])
			pb.p[k++] = pb.p[i];
	if (k && k < pb.alloc) {	/* give back the room of the repeats first */
		uint64_t *p = realloc(pb.p, k * sizeof(*p));

		if (p)
			pb.p = p;
	}
	free(lk->pairs);
	lk->pairs = calloc(k ? k : 1, sizeof(*lk->pairs));
	if (!lk->pairs)
		goto nomem;
	for (size_t i = 0; i < k; i++) {
		lk->pairs[i].a = (uint32_t)(pb.p[i] >> 32);
		lk->pairs[i].b = (uint32_t)pb.p[i];
	}
	lk->npairs = k;
	compare_all(lk, fi, li);
	rc = 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	free(keys);
	free(pb.p);
	return rc;
}

/* ---- training ------------------------------------------------------------ */

/* Count a label and keep it; w may be NULL (weights unknown). */
static void keep_label(struct crm_linkage *lk, uint32_t a, uint32_t b, const uint8_t *lev,
		       const float *w, double p, int match)
{
	for (size_t i = 0; i < lk->nf; i++)
		lk->lab[match != 0][i][lev[i]]++;
	lk->nlabels[match != 0]++;
	if (lk->nlabelled == lk->labelled_cap) {
		size_t cap = lk->labelled_cap ? 2 * lk->labelled_cap : 64;
		struct crm_plabel *t = realloc(lk->labelled, cap * sizeof(*t));

		if (!t)
			return;	/* counted for m and u all the same */
		lk->labelled = t;
		lk->labelled_cap = cap;
	}
	{
		struct crm_plabel *l = &lk->labelled[lk->nlabelled++];

		memset(l, 0, sizeof(*l));
		l->a = a;
		l->b = b;
		l->match = match != 0;
		l->p = (float)p;
		memcpy(l->lev, lev, lk->nf);
		for (size_t i = 0; i < CRM_LINK_MAXF; i++)
			l->w[i] = w && i < lk->nf ? w[i] : NAN;
	}
}

void crm_linkage_label(struct crm_linkage *lk, uint32_t a, uint32_t b,
		       int match)
{
	uint8_t lev[CRM_LINK_MAXF];
	int fi, li;

	if (a >= lk->n || b >= lk->n || a == b)
		return;
	name_fields(lk, &fi, &li);
	compare_pair(lk, a < b ? a : b, a < b ? b : a, fi, li, lev);
	keep_label(lk, a < b ? a : b, a < b ? b : a, lev, NULL, NAN, match);
}

int crm_linkage_label_json(struct crm_linkage *lk, const char *fields, double p, int match)
{
	json_t *o = json_loads(fields, 0, NULL), *f;
	uint8_t lev[CRM_LINK_MAXF];
	float w[CRM_LINK_MAXF];
	int ok = json_is_object(o);

	for (size_t i = 0; ok && i < lk->nf; i++) {
		const char *l;
		json_t *wv;

		f = json_object_get(o, lk->f[i].name);
		l = json_string_value(json_object_get(f, "level"));
		wv = json_object_get(f, "weight");
		w[i] = json_is_number(wv) ? (float)json_number_value(wv) : NAN;
		ok = 0;
		for (int k = 0; l && k < CRM_LEVELS && !ok; k++)
			if (!strcmp(l, level_names[k]))
				lev[i] = (uint8_t)k, ok = 1;
	}
	json_decref(o);
	if (!ok)
		return 0;	/* compared on other fields: says nothing of these */
	keep_label(lk, UINT32_MAX, UINT32_MAX, lev, w, p, match);
	return 1;
}

/* Blend labelled counts into a distribution estimated without them. */
static void refine(double *est, const double *counts)
{
	double n = 0;

	for (int l = 1; l < CRM_LEVELS; l++)
		n += counts[l];
	if (!n)
		return;
	for (int l = 1; l < CRM_LEVELS; l++)
		est[l] = (LABEL_PRIOR * est[l] + counts[l] + 1e-3) /
			 (LABEL_PRIOR + n + 1e-3 * (CRM_LEVELS - 1));
}

struct pattern {
	uint8_t lev[CRM_LINK_MAXF];
	double count;
	int used;
};

struct ptable {
	struct pattern *t;
	size_t cap, n;
};

/* Count one comparison pattern, w times; -1 when out of memory. */
static int ptable_add(struct ptable *pt, const uint8_t *lev, size_t nf, double w)
{
	uint64_t h;
	size_t s;

	if (pt->n * 2 >= pt->cap) {
		struct ptable big = { calloc(pt->cap ? pt->cap * 2 : 1024, sizeof(struct pattern)),
				      pt->cap ? pt->cap * 2 : 1024, 0 };

		if (!big.t)
			return -1;
		for (size_t i = 0; i < pt->cap; i++)
			if (pt->t[i].used) {
				h = hash_str(0xcbf29ce484222325ULL, (const char *)pt->t[i].lev, nf);
				for (s = h & (big.cap - 1); big.t[s].used; s = (s + 1) & (big.cap - 1))
					;
				big.t[s] = pt->t[i];
				big.n++;
			}
		free(pt->t);
		*pt = big;
	}
	h = hash_str(0xcbf29ce484222325ULL, (const char *)lev, nf);
	for (s = h & (pt->cap - 1); pt->t[s].used && memcmp(pt->t[s].lev, lev, nf);
	     s = (s + 1) & (pt->cap - 1))
		;
	if (!pt->t[s].used) {
		pt->t[s].used = 1;
		memcpy(pt->t[s].lev, lev, nf);
		pt->n++;
	}
	pt->t[s].count += w;
	return 0;
}

/*
 * u of field j at level l, given the levels of the pair: between
 * strangers, conditioned on the level of the field it goes with.
 */
static double *ucond(const struct crm_linkage *lk, size_t i, size_t j)
{
	return lk->ucond + ((i * CRM_LINK_MAXF + j) * CRM_LEVELS * CRM_LEVELS);
}

/* u of field j at its level in lev, given the levels of the fields in
 * the bit set cond[j]: the largest of the u given each (none: j's own). */
static double u_of(const struct crm_linkage *lk, size_t j, const uint8_t *lev,
		   const uint32_t *cond)
{
	double u = 0;

	if (!cond[j])
		return lk->f[j].u[lev[j]];
	for (size_t k = 0; k < lk->nf; k++)
		if (cond[j] >> k & 1)
			u = fmax(u, ucond(lk, k, j)[lev[k] * CRM_LEVELS + lev[j]]);
	return u;
}

/* log of the Bayes factor of a pattern under m and u; masked fields
 * (the session's own) are left out, but still condition the others. */
static double log_bf(const struct crm_linkage *lk, double m[][CRM_LEVELS],
		     const uint8_t *lev, const uint8_t *mask, const uint32_t *cond)
{
	double w = 0;

	for (size_t i = 0; i < lk->nf; i++)
		if (lev[i] != CRM_LV_MISSING && !mask[i])
			w += log(m[i][lev[i]] / u_of(lk, i, lev, cond));
	return w;
}

/*
 * EM over the patterns of pt: lambda always, m too when learn_m, for the
 * fields not masked. Fields missing in every pattern keep their m.
 * Returns iterations.
 */
static int em(const struct crm_linkage *lk, const struct ptable *pt,
	      double m[][CRM_LEVELS], double *lambda, const uint8_t *mask,
	      const uint32_t *cond)
{
	int it;

	for (it = 1; it <= EM_MAX_ITER; it++) {
		double mc[CRM_LINK_MAXF][CRM_LEVELS] = { { 0 } }, pm = 0, tot = 0, delta = 0;
		double prior = log(*lambda / (1 - *lambda));

		for (size_t s = 0; s < pt->cap; s++) {
			const struct pattern *p = &pt->t[s];
			double w, q;

			if (!p->used)
				continue;
			w = prior + log_bf(lk, m, p->lev, mask, cond);
			q = w > 30 ? 1.0 : w < -30 ? 0.0 : 1.0 / (1.0 + exp(-w));
			pm += q * p->count;
			tot += p->count;
			for (size_t i = 0; i < lk->nf; i++)
				mc[i][p->lev[i]] += q * p->count;
		}
		for (size_t i = 0; i < lk->nf; i++) {
			double sum = 0;

			if (mask[i])
				continue;
			for (int l = 1; l < CRM_LEVELS; l++)
				sum += mc[i][l];
			if (sum == 0)
				continue;	/* not compared in this session */
			for (int l = 1; l < CRM_LEVELS; l++) {
				/* A Dirichlet prior worth M_PRIOR pairs,
				 * centred on m0: few candidates lean on it,
				 * many outweigh it. */
				double v = (mc[i][l] + M_PRIOR * m0[l]) / (sum + M_PRIOR);

				delta = fmax(delta, fabs(v - m[i][l]));
				m[i][l] = v;
			}
		}
		pm = tot ? pm / tot : 0;
		pm = fmin(fmax(pm, 1e-7), 1 - 1e-7);
		delta = fmax(delta, fabs(pm - *lambda));
		*lambda = pm;
		if (delta < 1e-7)
			break;
	}
	return it;
}

static uint32_t find(uint32_t *parent, uint32_t x);

struct gkey {
	uint64_t h;
	uint32_t g, i;
};

static int cmp_gkey(const void *x, const void *y)
{
	const struct gkey *a = x, *b = y;

	if (a->h != b->h)
		return a->h < b->h ? -1 : 1;
	return a->g < b->g ? -1 : a->g > b->g;
}

/*
 * Value frequencies: for each record and field, -TF_SCALE log2 of the
 * share of the other people with the field who hold the same value. A
 * person is a group of records (group: each record's group, NULL: every
 * record its own), so that in a set full of copies a name is not common
 * for being copied.
 */
static int term_frequencies(struct crm_linkage *lk, const uint32_t *group)
{
	struct gkey *keys = malloc((lk->n ? lk->n : 1) * sizeof(*keys));

	free(lk->tf);
	lk->tf = calloc(lk->n * lk->nf + 1, 1);
	if (!keys || !lk->tf) {
		free(keys);
		return -1;
	}
	for (size_t f = 0; f < lk->nf; f++) {
		size_t nk = 0, people = 0;

		for (uint32_t r = 0; r < lk->n; r++) {
			const char *v = V(lk, r, f);

			if (!v)
				continue;
			keys[nk].h = hash_str(0xcbf29ce484222325ULL, v, strlen(v));
			keys[nk].g = group ? group[r] : r;
			keys[nk].i = r;
			nk++;
		}
		qsort(keys, nk, sizeof(*keys), cmp_gkey);
		for (size_t k = 0; k < nk; k++)
			people += !k || keys[k].h != keys[k - 1].h || keys[k].g != keys[k - 1].g;
		for (size_t s = 0; s < nk;) {
			size_t end = s + 1, held = 1;
			double q;

			for (; end < nk && keys[end].h == keys[s].h; end++)
				held += keys[end].g != keys[end - 1].g;
			/* Leave the person out; a value no third person holds
			 * says nothing of how common it is (0: the field's own
			 * weight). */
			q = held < 3 ? 0 : -TF_SCALE * log2((double)(held - 1) / (double)people);
			for (size_t i = s; i < end; i++)
				lk->tf[(size_t)keys[i].i * lk->nf + f] =
					(uint8_t)(held < 3 ? 0 : q < 1 ? 1 : q > 255 ? 255 : lround(q));
			s = end;
		}
	}
	free(keys);
	return 0;
}

/* Does level l count as agreement (exact or close)? */
static int agrees(int l)
{
	return l == CRM_LV_EXACT || l == CRM_LV_CLOSE;
}

double crm_linkage_pair_weights(const struct crm_linkage *lk, const struct crm_pair *p,
				double *w)
{
	double sum = 0, fw[CRM_LINK_MAXF];

	for (size_t j = 0; j < lk->nf; j++) {
		const struct crm_lfield *f = &lk->f[j];
		int l = p->lev[j];
		double x = f->parent >= 0 ? f->wc[p->lev[f->parent]][l] : f->w[l];

		/* A value's rarity says nothing more where the field it goes
		 * with explains the agreement (one mail domain, one company). */
		int explained = f->parent >= 0 &&
				ucond(lk, (size_t)f->parent, j)[p->lev[f->parent] * CRM_LEVELS + CRM_LV_EXACT] >
				2 * f->u[CRM_LV_EXACT];

		if ((l == CRM_LV_EXACT || l == CRM_LV_CLOSE) && lk->tf && x > 0 && !explained) {
			/* Equal values: as rare as this value, not as the
			 * field's values are on average; close ones no rarer
			 * than the commoner of the two. */
			uint8_t qa = lk->tf[(size_t)p->a * lk->nf + j], qb = lk->tf[(size_t)p->b * lk->nf + j];
			uint8_t q = l == CRM_LV_EXACT || !qb || (qa && qa < qb) ? qa : qb;
			double adj = log2(f->u[CRM_LV_EXACT]) + q / TF_SCALE;

			if (q)
				x = fmax(x + fmin(adj, l == CRM_LV_EXACT ? TF_MAX_GAIN : 0), 0);
		}
		fw[j] = x;
	}
	/*
	 * An address and a phone that both agree are one fact, not two:
	 * the people of a household, the organisations of a site (the
	 * outlets of a hotel, the firms of a building, a parent and its
	 * subsidiary) share the address and the number together. The
	 * stronger counts; the other adds nothing.
	 */
	{
		int best = -1;

		for (size_t j = 0; j < lk->nf; j++)
			if ((lk->f[j].cmp == CRM_CMP_ADDRESS || lk->f[j].cmp == CRM_CMP_PHONE) &&
			    agrees(p->lev[j]) && fw[j] > 0) {
				if (best < 0 || fw[j] > fw[best]) {
					if (best >= 0)
						fw[best] = 0;
					best = (int)j;
				} else {
					fw[j] = 0;
				}
			}
	}
	for (size_t j = 0; j < lk->nf; j++)
		sum += fw[j];
	if (w)
		memcpy(w, fw, lk->nf * sizeof(*w));
	return sum;
}

double crm_linkage_prob(const struct crm_linkage *lk, double w)
{
	double t = w + log2(lk->lambda / (1 - lk->lambda));

	return t > 60 ? 1.0 : t < -60 ? 0.0 : 1.0 / (1.0 + exp2(-t));
}

/* The probability of pair p, and (weight, if not NULL) its fields'
 * log2 Bayes factor: the evidence alone, before the prior. */
static double pair_prob(const struct crm_linkage *lk, const struct crm_pair *p, double *weight)
{
	double w[CRM_LINK_MAXF], sum = crm_linkage_pair_weights(lk, p, w), t;
	double lambda = fmin(fmax(lk->lambda, 1e-12), 1 - 1e-12);

	if (weight)
		*weight = sum;
	if (!lk->adjust)
		return crm_linkage_prob(lk, sum);
	t = (sum + log2(lambda / (1 - lambda))) * M_LN2;
	t = lk->adjust(lk->adjust_ctx, lk, p->lev, w, t);
	return t > 40 ? 1.0 : t < -40 ? 0.0 : 1.0 / (1.0 + exp(-t));
}

double crm_linkage_pair_prob(const struct crm_linkage *lk, const struct crm_pair *p)
{
	return pair_prob(lk, p, NULL);
}

void crm_linkage_rescore(struct crm_linkage *lk)
{
	for (size_t k = 0; k < lk->npairs; k++) {
		struct crm_pair *p = &lk->pairs[k];
		double q = crm_linkage_pair_prob(lk, p);

		p->p = (float)q;
		/* The weight the probability stands for, under the prior. */
		q = fmin(fmax(q, 1e-12), 1 - 1e-12);
		p->weight = (float)(log2(q / (1 - q)) - log2(lk->lambda / (1 - lk->lambda)));
	}
}

/*
 * lambda, the chance that two records picked at random are one, by EM
 * with m and u fixed; each candidate's weight is kept in its pair. Every field of a pair counts, those the blocking
 * rules chose it by too, so the prior is over all pairs, not over the
 * candidates (which would count the blocking fields twice); pairs that
 * are no candidates are taken as strangers. Over a histogram of the
 * candidates' weights.
 */
static int em_lambda(struct crm_linkage *lk)
{
	enum { BINS = 4001 };	/* 0.05 bits each, -100 .. +100 */
	double *count = calloc(BINS, sizeof(*count));
	double all = (double)lk->n * (double)(lk->n - 1) / 2;
	int it;

	if (!count)
		return -1;
	for (size_t k = 0; k < lk->npairs; k++) {
		double w = crm_linkage_pair_weights(lk, &lk->pairs[k], NULL);
		long b = lround(w * 20) + BINS / 2;

		lk->pairs[k].weight = (float)w;
		count[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
	}
	if (lk->lambda_given > 0) {	/* the saved prior: a pair scores as it did */
		lk->lambda = lk->lambda_given;
		free(count);
		return 0;
	}
	lk->lambda = fmin(0.01 * (double)lk->npairs / all, 0.5);
	for (it = 1; it <= EM_MAX_ITER; it++) {
		double prior = log2(lk->lambda / (1 - lk->lambda)), pm = 0;

		for (int b = 0; b < BINS; b++) {
			double t;

			if (!count[b])
				continue;
			t = (b - BINS / 2) / 20.0 + prior;
			pm += count[b] * (t > 60 ? 1.0 : t < -60 ? 0.0 : 1.0 / (1.0 + exp2(-t)));
		}
		pm = fmin(fmax(pm / all, 1e-12), 0.5);
		if (fabs(pm - lk->lambda) < 1e-6 * pm) {
			lk->lambda = pm;
			break;
		}
		lk->lambda = pm;
	}
	lk->iterations += it;
	free(count);
	return 0;
}

/* Levels of the random pairs u is measured on. */
struct usample {
	uint8_t (*lev)[CRM_LINK_MAXF];
	uint32_t (*ab)[2];
	float *keep;		/* weight: 1 - the chance it is a match */
	size_t n;
};

/*
 * u from the kept random pairs: each field's levels, and, along a tree
 * joining the fields that go together most between strangers (Chow and
 * Liu's, on mutual information), each field's levels given its parent's.
 * lambda and m are the last estimates (of how many random pairs match,
 * and how).
 */
static void estimate_u(struct crm_linkage *lk, const struct usample *us, double lambda)
{
	static double c[CRM_LINK_MAXF][CRM_LINK_MAXF][CRM_LEVELS][CRM_LEVELS];
	double tot = 0, mi[CRM_LINK_MAXF][CRM_LINK_MAXF] = { { 0 } };
	int comp[CRM_LINK_MAXF], adj[CRM_LINK_MAXF][CRM_LINK_MAXF] = { { 0 } };

	memset(c, 0, sizeof(c));
	for (size_t s = 0; s < us->n; s++) {
		double k = us->keep[s];

		if (k <= 0)
			continue;
		tot += k;
		for (size_t i = 0; i < lk->nf; i++)
			for (size_t j = 0; j < lk->nf; j++)
				c[i][j][us->lev[s][i]][us->lev[s][j]] += k;
	}
	for (size_t i = 0; i < lk->nf; i++) {
		double n = 0;

		for (int l = 1; l < CRM_LEVELS; l++)
			n += c[i][i][l][l];
		for (int l = 1; l < CRM_LEVELS; l++)
			lk->f[i].u[l] = (c[i][i][l][l] + 0.5) / (n + 0.5 * (CRM_LEVELS - 1));
		lk->f[i].u[0] = 1;
		lk->f[i].parent = -1;
		comp[i] = (int)i;
	}
	/* Mutual information of each two fields' levels. */
	for (size_t i = 0; i < lk->nf; i++)
		for (size_t j = i + 1; j < lk->nf && tot > 0; j++) {
			double v = 0;

			for (int a = 0; a < CRM_LEVELS; a++)
				for (int b = 0; b < CRM_LEVELS; b++) {
					double pij = c[i][j][a][b] / tot;
					double pi = c[i][i][a][a] / tot, pj = c[j][j][b][b] / tot;

					if (pij > 0)
						v += pij * log(pij / (pi * pj));
				}
			mi[i][j] = mi[j][i] = v;
		}
	/* The tree: strongest links first, none that closes a loop. */
	for (;;) {
		double best = MI_MIN;
		size_t bi = 0, bj = 0;

		for (size_t i = 0; i < lk->nf; i++)
			for (size_t j = i + 1; j < lk->nf; j++)
				if (comp[i] != comp[j] && mi[i][j] > best) {
					best = mi[i][j];
					bi = i;
					bj = j;
				}
		if (best <= MI_MIN)
			break;
		adj[bi][bj] = adj[bj][bi] = 1;
		for (size_t k = 0, from = (size_t)comp[bj]; k < lk->nf; k++)
			if ((size_t)comp[k] == from)
				comp[k] = comp[bi];
	}
	/* Rooted at each part's first field: every other field's parent is
	 * its neighbour towards the root. */
	{
		int seen[CRM_LINK_MAXF] = { 0 }, queue[CRM_LINK_MAXF], qh = 0, qt = 0;

		for (size_t r = 0; r < lk->nf; r++) {
			if (seen[r])
				continue;
			seen[r] = 1;
			queue[qt++] = (int)r;
			while (qh < qt) {
				int x = queue[qh++];

				for (size_t y = 0; y < lk->nf; y++)
					if (adj[x][y] && !seen[y]) {
						seen[y] = 1;
						lk->f[y].parent = x;
						queue[qt++] = (int)y;
					}
			}
		}
	}
	/*
	 * Conditional tables for every two related fields, shrunk towards
	 * the field's own u where the given level is rare; and only where
	 * strangers outnumber the matches among random pairs with that level
	 * by far: in a small set full of copies, random pairs agreeing on a
	 * name are as often one person as two.
	 */
	for (size_t i = 0; i < lk->nf; i++)
		for (size_t j = 0; j < lk->nf; j++) {
			double *t = ucond(lk, i, j);

			lk->mi[i][j] = (float)mi[i][j];
			for (int a = 0; a < CRM_LEVELS; a++) {
				double n = 0, ui = tot > 0 ? c[i][i][a][a] / tot : 0;
				/* A field left empty says nothing of the others. */
				int own = i == j || a == CRM_LV_MISSING ||
					  ui < U_STRANGERS * lambda * lk->f[i].m[a];

				for (int l = 1; l < CRM_LEVELS; l++)
					n += c[i][j][a][l];
				t[a * CRM_LEVELS] = 1;
				for (int l = 1; l < CRM_LEVELS; l++)
					t[a * CRM_LEVELS + l] = own ? lk->f[j].u[l] :
						(c[i][j][a][l] + U_SHRINK * lk->f[j].u[l]) / (n + U_SHRINK);
			}
		}
}

/*
 * Weights from m and u: log2(m/u), per level and, for a field with a
 * parent, per level of the parent; a better level never weighs less than
 * a worse one (a rare "fuzzy" must not cost more than "different"), and
 * levels never seen weigh 0.
 */
static void weights(struct crm_linkage *lk, int seen[][CRM_LEVELS])
{
	for (size_t i = 0; i < lk->nf; i++) {
		struct crm_lfield *f = &lk->f[i];

		for (int a = -1; a < CRM_LEVELS; a++) {
			double *w = a < 0 ? f->w : f->wc[a], floor = -INFINITY;
			const double *u = a < 0 || f->parent < 0 ? f->u :
					  ucond(lk, (size_t)f->parent, i) + a * CRM_LEVELS;

			w[0] = 0;
			for (int l = CRM_LEVELS - 1; l >= 1; l--) {
				if (!seen[i][l]) {
					w[l] = 0;
					continue;
				}
				w[l] = fmax(log2(f->m[l] / u[l]), floor);
				/* Two mailboxes at one domain are no worse a
				 * sign than two at two domains, nor better:
				 * the email levels below close are kinds, not
				 * ranks. */
				floor = f->cmp == CRM_CMP_EMAIL && l == CRM_LV_DIFF ? -INFINITY : w[l];
			}
		}
	}
}

/*
 * m: one EM session per blocking rule, on a sample of its pairs. The
 * rule's own fields are left out: pairs that were chosen for agreeing on
 * them say nothing about how matches compare there (Splink's way); they
 * still condition u of the fields that go with them (between colleagues,
 * who share a company, two mailboxes at one domain are no surprise).
 * Each field's m is the mean over the sessions that could see it,
 * weighted by the matches each found.
 */
static int estimate_m(struct crm_linkage *lk, int fi, int li)
{
	double msum[CRM_LINK_MAXF][CRM_LEVELS] = { { 0 } }, mweight[CRM_LINK_MAXF] = { 0 };
	double m[CRM_LINK_MAXF][CRM_LEVELS];
	uint32_t *deg = calloc(lk->n ? lk->n : 1, sizeof(*deg));

	if (!deg)
		return -1;
	for (size_t r = 0; r < lk->nrules; r++) {
		const struct crm_lrule *rule = &lk->rules[r];
		struct ptable pt = { 0 };
		double lambda = 0.01, total = 0;
		uint8_t mask[CRM_LINK_MAXF] = { 0 };
		uint32_t cond[CRM_LINK_MAXF];

		for (size_t i = 0; i < lk->nf; i++)
			memcpy(m[i], m0, sizeof(m0));
		mask[rule->x] = 1;
		if (rule->y >= 0)
			mask[rule->y] = 1;
		/* u of each field given its parent and the rule's fields it
		 * goes with: colleagues, chosen for sharing a company, share
		 * its mail domain and its city too. */
		for (size_t j = 0; j < lk->nf; j++) {
			cond[j] = lk->f[j].parent >= 0 ? 1u << lk->f[j].parent : 0;
			for (size_t k = 0; k < lk->nf; k++)
				if (mask[k] && k != j && lk->mi[k][j] > MI_MIN)
					cond[j] |= 1u << k;
		}
		/*
		 * Each pair weighs 1 / sqrt(the pairs its two records have in
		 * the rule): a record's evidence counts about once, however
		 * many partners its block gives it. Else the pairs of one big
		 * family (the thirty sites of a chain under its name, 435
		 * pairs) outweigh hundreds of true copies, and EM learns the
		 * family, not the record: that sites of a chain differ in
		 * their address, so an address would tell nothing. For the
		 * same reason a session counts in the mean of m by the
		 * matches it found over the partners a record has in it: a
		 * key that many records share at once (a chain's website, its
		 * switchboard) speaks for a coarser grain than the record's.
		 */
		size_t records = 0;

		for (size_t k = 0; k < rule->nsample; k++) {
			records += !deg[rule->sample[k] >> 32]++;
			records += !deg[(uint32_t)rule->sample[k]]++;
		}
		for (size_t k = 0; k < rule->nsample; k++) {
			uint32_t a = (uint32_t)(rule->sample[k] >> 32), b = (uint32_t)rule->sample[k];
			uint8_t lev[CRM_LINK_MAXF];
			double w = 1 / sqrt((double)deg[a] * (double)deg[b]);

			compare_pair(lk, a, b, fi, li, lev);
			total += w;
			if (ptable_add(&pt, lev, lk->nf, w) < 0) {
				free(pt.t);
				free(deg);
				return -1;
			}
		}
		for (size_t k = 0; k < rule->nsample; k++)
			deg[rule->sample[k] >> 32] = deg[(uint32_t)rule->sample[k]] = 0;
		if (pt.n) {
			double found;

			lk->iterations += em(lk, &pt, m, &lambda, mask, cond);
			found = lambda * total * (double)records / (2.0 * (double)rule->nsample);
			for (size_t i = 0; i < lk->nf; i++) {
				if (mask[i])
					continue;
				for (int l = 1; l < CRM_LEVELS; l++)
					msum[i][l] += found * m[i][l];
				mweight[i] += found;
			}
		}
		free(pt.t);
	}
	for (size_t i = 0; i < lk->nf; i++) {
		for (int l = 0; l < CRM_LEVELS; l++)
			lk->f[i].m[l] = mweight[i] > 0 && l ? msum[i][l] / mweight[i] : m0[l];
		/* An organisation is its name: two accounts whose names do
		 * not hold one another are two (two outlets of one brand
		 * share words, not the name), also at one address with one
		 * switchboard (restaurants of a hotel, firms of a building),
		 * which EM, seeing all else agree, would take for one. */
		if (lk->f[i].cmp == CRM_CMP_COMPANY && !strcmp(lk->f[i].name, "name")) {
			double *mi = lk->f[i].m, over = 0;

			for (int l = CRM_LV_FUZZY; l <= CRM_LV_DIFF; l++)
				if (mi[l] > M_CONFLICT) {
					over += mi[l] - M_CONFLICT;
					mi[l] = M_CONFLICT;
				}
			mi[CRM_LV_EXACT] += over;
		}
	}
	/* Labelled pairs, when given, pull m and u towards what they show. */
	for (size_t i = 0; i < lk->nf; i++) {
		refine(lk->f[i].m, lk->lab[1][i]);
		refine(lk->f[i].u, lk->lab[0][i]);
	}
	free(deg);
	return 0;
}

int crm_linkage_m_json(const struct crm_linkage *lk, struct crm_buf *b)
{
	int rc = crm_buf_addf(b, "{\"records\":%zu,\"lambda\":%.6g,\"fields\":[", lk->n, lk->lambda);

	for (size_t i = 0; i < lk->nf; i++) {
		rc |= crm_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		rc |= crm_json_str(b, lk->f[i].name, strlen(lk->f[i].name));
		rc |= crm_buf_addf(b, ",\"cmp\":\"%s\",\"m\":[", crm_cmp_name(lk->f[i].cmp));
		for (int l = 1; l < CRM_LEVELS; l++)
			rc |= crm_buf_addf(b, "%s%.6g", l > 1 ? "," : "", lk->f[i].m[l]);
		rc |= crm_buf_adds(b, "]}");
	}
	return rc | crm_buf_adds(b, "]}");
}

int crm_linkage_m_take(struct crm_linkage *lk, const char *json)
{
	json_t *o = json_loads(json, 0, NULL), *fs = json_object_get(o, "fields");
	double m[CRM_LINK_MAXF][CRM_LEVELS] = { { 0 } };
	double lambda = json_number_value(json_object_get(o, "lambda"));
	int ok = json_is_array(fs) && json_array_size(fs) == lk->nf && lambda > 0 && lambda < 1;

	for (size_t i = 0; ok && i < lk->nf; i++) {
		json_t *f = json_array_get(fs, i), *mv = json_object_get(f, "m");
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *cmp = json_string_value(json_object_get(f, "cmp"));

		ok = name && cmp && !strcmp(name, lk->f[i].name) &&
		     !strcmp(cmp, crm_cmp_name(lk->f[i].cmp)) && json_array_size(mv) == CRM_LEVELS - 1;
		for (int l = 1; ok && l < CRM_LEVELS; l++) {
			json_t *v = json_array_get(mv, (size_t)l - 1);

			m[i][l] = json_number_value(v);
			ok = json_is_number(v) && m[i][l] >= 0 && m[i][l] <= 1;
		}
	}
	json_decref(o);
	if (!ok)
		return 0;
	for (size_t i = 0; i < lk->nf; i++)
		memcpy(lk->f[i].m, m[i], sizeof(m[i]));
	lk->m_given = 1;
	lk->lambda_given = lambda;
	return 1;
}

int crm_linkage_train(struct crm_linkage *lk, uint64_t seed, struct crm_err *e)
{
	int fi, li;
	int seen[CRM_LINK_MAXF][CRM_LEVELS] = { { 0 } };
	struct usample us = { 0 };
	struct crm_rng rng;
	size_t samples = U_SAMPLES;
	double pairs = (double)lk->n * (double)(lk->n - 1) / 2, lambda0 = 0;
	uint32_t *group = NULL;
	int rc = -1;

	if (lk->n < 2 || !lk->npairs)
		return 0;
	if (term_frequencies(lk, NULL) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	crm_rng_seed(&rng, seed);
	name_fields(lk, &fi, &li);
	if (pairs < (double)samples)
		samples = (size_t)pairs;
	us.lev = malloc((samples ? samples : 1) * sizeof(*us.lev));
	us.ab = malloc((samples ? samples : 1) * sizeof(*us.ab));
	us.keep = malloc((samples ? samples : 1) * sizeof(*us.keep));
	free(lk->ucond);
	lk->ucond = calloc(CRM_LINK_MAXF * CRM_LINK_MAXF * CRM_LEVELS * CRM_LEVELS, sizeof(double));
	if (!us.lev || !us.ab || !us.keep || !lk->ucond)
		goto nomem;
	/* Random pairs: strangers, nearly all. */
	for (size_t s = 0; s < samples; s++) {
		uint32_t a = (uint32_t)(crm_rng_next(&rng) % lk->n);
		uint32_t b = (uint32_t)(crm_rng_next(&rng) % lk->n);

		if (a == b)
			continue;
		compare_pair(lk, a < b ? a : b, a < b ? b : a, fi, li, us.lev[us.n]);
		us.ab[us.n][0] = a < b ? a : b;
		us.ab[us.n][1] = a < b ? b : a;
		us.keep[us.n] = 1;
		for (size_t i = 0; i < lk->nf; i++)
			seen[i][us.lev[us.n][i]] = 1;
		us.n++;
	}
	/* A first guess at lambda: candidates that agree on every field both
	 * have, two at least. */
	for (size_t k = 0; k < lk->npairs; k++) {
		int both = 0, agree = 0;

		for (size_t i = 0; i < lk->nf; i++) {
			int l = lk->pairs[k].lev[i];

			seen[i][l] = 1;
			both += l != CRM_LV_MISSING;
			agree += l == CRM_LV_EXACT || l == CRM_LV_CLOSE;
		}
		lambda0 += both >= 2 && agree == both;
	}
	lambda0 = fmax(lambda0, 1) / pairs;
	for (size_t i = 0; i < lk->nf; i++) {
		if (!lk->m_given)
			memcpy(lk->f[i].m, m0, sizeof(m0));
		else	/* labels pull a given m once */
			refine(lk->f[i].m, lk->lab[1][i]);
	}
	for (size_t i = 0; i < lk->nf; i++)
		for (int l = 1; l < CRM_LEVELS; l++)
			if (lk->lab[0][i][l] > 0 || lk->lab[1][i][l] > 0)
				seen[i][l] = 1;
	/*
	 * Rounds: the random pairs hold some true matches (many, in a small
	 * set full of copies), which make fields look more alike, and more
	 * correlated, between strangers than they are; each round measures
	 * u again with each random pair weighted by the chance the last
	 * round gives that it is no match, until that settles.
	 */
	for (int round = 0, again = 1; again && round < U_ROUNDS; round++) {
		double matches = 0, before = 0;

		for (size_t s = 0; s < us.n; s++)
			before += 1 - us.keep[s];
		estimate_u(lk, &us, round ? lk->lambda : lambda0);
		if (!lk->m_given && estimate_m(lk, fi, li) < 0)
			goto nomem;
		if (lk->m_given)	/* m was refined once, below */
			for (size_t i = 0; i < lk->nf; i++)
				refine(lk->f[i].u, lk->lab[0][i]);
		weights(lk, seen);
		if (em_lambda(lk) < 0)
			goto nomem;
		for (size_t s = 0; s < us.n; s++) {
			struct crm_pair p = { .a = us.ab[s][0], .b = us.ab[s][1] };

			memcpy(p.lev, us.lev[s], sizeof(p.lev));
			us.keep[s] = (float)(1 - crm_linkage_prob(lk, crm_linkage_pair_weights(lk, &p, NULL)));
			matches += 1 - us.keep[s];
		}
		/* A round that expects more than two matches per record has
		 * run away (most pairs in a set are strangers): it is not to
		 * be trusted with leaving random pairs out. */
		if (lk->lambda * pairs > 2.0 * (double)lk->n) {
			for (size_t s = 0; s < us.n; s++)
				us.keep[s] = 1;
			break;
		}
		again = fabs(matches - before) > 0.02 * matches + 1;
	}
	/* Value frequencies again, counting people, not records: records
	 * the model links (p >= 0.5) under the same name are one. */
	if (!(group = malloc(lk->n * sizeof(*group))))
		goto nomem;
	for (uint32_t i = 0; i < lk->n; i++)
		group[i] = i;
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];
		int named = 1;

		/* Only where the names are the same: two outlets of one
		 * brand, linked by a shared site, are two. */
		for (size_t i = 0; i < lk->nf; i++)
			if ((lk->f[i].cmp == CRM_CMP_NAME || lk->f[i].cmp == CRM_CMP_COMPANY) &&
			    p->lev[i] != CRM_LV_EXACT && p->lev[i] != CRM_LV_MISSING)
				named = 0;
		if (named && crm_linkage_prob(lk, p->weight) >= 0.5) {
			uint32_t x = find(group, p->a), y = find(group, p->b);

			group[x > y ? x : y] = x > y ? y : x;
		}
	}
	for (uint32_t i = 0; i < lk->n; i++)
		group[i] = find(group, i);
	if (term_frequencies(lk, group) < 0 || em_lambda(lk) < 0)
		goto nomem;
	for (size_t k = 0; k < lk->npairs; k++)
		lk->pairs[k].p = (float)crm_linkage_prob(lk, lk->pairs[k].weight);
	rc = 0;
	goto out;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	free(us.lev);
	free(us.ab);
	free(us.keep);
	free(group);
	return rc;
}

double crm_linkage_field_weight(const struct crm_linkage *lk, size_t i, int lev)
{
	return lk->f[i].w[lev];
}

double crm_linkage_estimate(const struct crm_linkage *lk, double threshold,
			    double *precision, double *recall, double *unsure)
{
	double all = 0, above = 0, nabove = 0, mid = 0;

	for (size_t k = 0; k < lk->npairs; k++) {
		double p = lk->pairs[k].p;

		all += p;
		if (p >= threshold) {
			above += p;
			nabove++;
		} else if (p >= 0.1) {
			mid += p;
		}
	}
	*precision = nabove ? above / nabove : 1;
	*recall = all > 0 ? above / all : 1;
	*unsure = all > 0 ? mid / all : 0;
	return all;
}

int crm_linkage_check(const struct crm_linkage *lk, double threshold, char *msg, size_t n)
{
	double prec, rec, unsure, expect = crm_linkage_estimate(lk, threshold, &prec, &rec, &unsure);

	*msg = 0;
	if (!lk->npairs)
		return 0;
	if (expect > 0.95 * (double)lk->npairs && lk->npairs > 100) {
		snprintf(msg, n, "the model takes %.0f of the %zu candidate pairs for matches: it cannot "
			 "tell them apart (fields that agree between strangers?)", expect, lk->npairs);
		return CRM_LINK_BLIND;
	}
	if (prec < 0.99) {
		snprintf(msg, n, "the model expects a precision of %.3f at %g: raise --auto-merge, "
			 "or label some pairs (--train)", prec, threshold);
		return CRM_LINK_IMPRECISE;
	}
	if (unsure > 0.25) {
		snprintf(msg, n, "the model cannot call %.0f%% of the matches it expects (between 0.1 "
			 "and %g): label some pairs (--train), or compare more fields", 100 * unsure, threshold);
		return CRM_LINK_UNSURE;
	}
	return 0;
}

/* ---- clustering -------------------------------------------------------- */

static uint32_t find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static int cmp_pair_p(const void *x, const void *y)
{
	const struct crm_pair *const *a = x, *const *b = y;

	if ((*a)->p != (*b)->p)
		return (*a)->p > (*b)->p ? -1 : 1;
	return (*a)->weight > (*b)->weight ? -1 : (*a)->weight < (*b)->weight;
}

/* Probability of records a and b, compared now (fi, li: the name fields). */
static double pair_p(const struct crm_linkage *lk, uint32_t a, uint32_t b, int fi, int li,
		     double *weight)
{
	struct crm_pair p = { .a = a < b ? a : b, .b = a < b ? b : a };

	compare_pair(lk, p.a, p.b, fi, li, p.lev);
	return pair_prob(lk, &p, weight);
}

struct crm_pair *crm_linkage_pair_find(const struct crm_linkage *lk, uint32_t a, uint32_t b)
{
	size_t lo = 0, hi = lk->npairs;

	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct crm_pair *p = &lk->pairs[mid];

		if (p->a < a || (p->a == a && p->b < b))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < lk->npairs && lk->pairs[lo].a == a && lk->pairs[lo].b == b ? &lk->pairs[lo] : NULL;
}

/* Is (a, b) a candidate? */
static int candidate(const struct crm_linkage *lk, uint32_t a, uint32_t b)
{
	return crm_linkage_pair_find(lk, a, b) != NULL;
}

int crm_linkage_merge_estimate(const struct crm_linkage *lk, const uint32_t *cluster,
			       size_t sample, struct crm_merge_estimate *out, struct crm_err *e)
{
	struct crm_rng rng;	/* the same sample every run */
	uint32_t *next = NULL, *head = NULL;
	double right = 0, var_right = 0, together = 0, cand = 0, var_cand = 0;
	int fi, li;

	memset(out, 0, sizeof(*out));
	if (lk->n < 2)
		return 0;
	crm_rng_seed(&rng, 42);
	name_fields(lk, &fi, &li);
	for (size_t k = 0; k < lk->npairs; k++) {
		cand += lk->pairs[k].p;
		var_cand += lk->pairs[k].p * (1 - lk->pairs[k].p);
	}
	/* The pairs put together: every two members of a group. */
	if (!(next = malloc(lk->n * sizeof(*next))) || !(head = malloc(lk->n * sizeof(*head)))) {
		free(next);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	for (uint32_t i = 0; i < lk->n; i++)
		head[i] = UINT32_MAX;
	for (uint32_t i = lk->n; i-- > 0;) {
		next[i] = head[cluster[i]];
		head[cluster[i]] = i;
	}
	for (uint32_t g = 0; g < lk->n; g++)
		for (uint32_t a = head[g]; a != UINT32_MAX; a = next[a])
			for (uint32_t b = next[a]; b != UINT32_MAX; b = next[b]) {
				double p = pair_p(lk, a < b ? a : b, a < b ? b : a, fi, li, NULL);

				right += p;
				var_right += p * (1 - p);
				together++;
			}
	/* The matches no rule compared: a sample of the pairs outside the
	 * candidates, scored, scaled to all of them. */
	double all = (double)lk->n * (double)(lk->n - 1) / 2, outside = all - (double)lk->npairs;
	double s_sum = 0, s_sq = 0;
	size_t drawn = 0;

	for (size_t t = 0; t < sample * 4 && drawn < sample && outside > 0; t++) {
		uint32_t a = (uint32_t)(crm_rng_next(&rng) % lk->n), b = (uint32_t)(crm_rng_next(&rng) % lk->n);

		if (a == b)
			continue;
		if (a > b) {
			uint32_t x = a;

			a = b;
			b = x;
		}
		if (candidate(lk, a, b))
			continue;	/* counted above */
		double p = pair_p(lk, a, b, fi, li, NULL);

		s_sum += p;
		s_sq += p * p;
		drawn++;
	}
	double mean = drawn ? s_sum / (double)drawn : 0;
	double sd_mean = drawn > 1 ? sqrt(fmax(s_sq / (double)drawn - mean * mean, 0) / (double)(drawn - 1)) : 0;
	double missed = mean * outside, sd_missed = sd_mean * outside;
	double total = cand + missed;

	out->together = together;
	out->expected_right = right;
	out->expected_matches = total;
	out->outside = missed;
	out->precision = together > 0 ? right / together : 1;
	out->precision_sd = together > 0 ? sqrt(var_right) / together : 0;
	out->recall = total > 0 ? fmin(right / total, 1) : 1;
	/* from the spread of what was put together and of what was missed */
	out->recall_sd = total > 0 ? sqrt(var_right + var_cand + sd_missed * sd_missed) / total : 0;
	out->sampled = drawn;
	out->completeness = total > 0 ? cand / total : 1;
	free(next);
	free(head);
	return 0;
}

/* Fields that say two records differ this strongly (as a likelihood
 * ratio) keep their groups apart, whatever the rest. */
#define CLUSTER_VETO 0.001

int crm_linkage_cluster(const struct crm_linkage *lk, double threshold,
			double doubt, size_t max, uint32_t **cluster,
			float **weakest, struct crm_err *e)
{
	uint32_t *parent = malloc((lk->n ? lk->n : 1) * sizeof(*parent));
	uint32_t *size = malloc((lk->n ? lk->n : 1) * sizeof(*size));
	uint32_t *next = malloc((lk->n ? lk->n : 1) * sizeof(*next));	/* members, a ring */
	float *low = malloc((lk->n ? lk->n : 1) * sizeof(*low));
	const struct crm_pair **order = NULL;
	size_t n = 0;
	int fi, li;

	name_fields(lk, &fi, &li);
	*cluster = NULL;
	if (weakest)
		*weakest = NULL;
	if (!parent || !size || !next || !low)
		goto nomem;
	for (uint32_t i = 0; i < lk->n; i++) {
		parent[i] = next[i] = i;
		size[i] = 1;
		low[i] = 1;
	}
	order = malloc((lk->npairs ? lk->npairs : 1) * sizeof(*order));
	if (!order)
		goto nomem;
	for (size_t k = 0; k < lk->npairs; k++)
		if (lk->pairs[k].p >= threshold)
			order[n++] = &lk->pairs[k];
	/* Strongest links first, so a weak one cannot join two groups early. */
	qsort(order, n, sizeof(*order), cmp_pair_p);
	for (size_t k = 0; k < n; k++) {
		uint32_t a = find(parent, order[k]->a), b = find(parent, order[k]->b);
		double lowest = order[k]->p;
		int ok = 1;

		if (a == b || size[a] + size[b] > max)
			continue;
		/*
		 * Two groups join on the evidence of all their pairs, not of
		 * the one link: across them, the pairs must hold on average
		 * (their mean log-odds at least the review threshold's), and
		 * none may be a clear non-match: fields that say so 1,000 to
		 * 1 (the evidence itself, not a posterior that a small prior
		 * pulls below any bar: two corrupted copies that share little
		 * are no evidence against each other). One sure link between
		 * two different people is outvoted by their other pairs; a
		 * copy too corrupted to match every other copy is held by the
		 * rest of its group.
		 */
		if (size[a] + size[b] > 2) {
			uint32_t x = a;
			double sum = 0, floor_logit = log(doubt / (1 - doubt));
			size_t pairs = 0;

			do {
				uint32_t y = b;

				do {
					double w, p = pair_p(lk, x, y, fi, li, &w);

					if (w < log2(CLUSTER_VETO))
						ok = 0;
					p = fmin(fmax(p, 1e-9), 1 - 1e-9);
					sum += log(p / (1 - p));
					pairs++;
					lowest = fmin(lowest, p);
					y = next[y];
				} while (ok && y != b);
				x = next[x];
			} while (ok && x != a);
			if (ok && (sum / (double)pairs < floor_logit))
				ok = 0;
		}
		if (!ok)
			continue;
		if (a > b) {
			uint32_t t = a;

			a = b;
			b = t;
		}
		parent[b] = a;
		size[a] += size[b];
		low[a] = (float)fmin(fmin(low[a], low[b]), lowest);
		{	/* splice the rings */
			uint32_t t = next[a];

			next[a] = next[b];
			next[b] = t;
		}
	}
	for (uint32_t i = 0; i < lk->n; i++)
		parent[i] = find(parent, i);
	/* Roots are the smallest index of their group: unions keep the lower. */
	free(size);
	free(next);
	free(order);
	*cluster = parent;
	if (weakest)
		*weakest = low;
	else
		free(low);
	return 0;
nomem:
	free(parent);
	free(size);
	free(next);
	free(low);
	free(order);
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
}

int crm_linkage_add_fields(struct crm_linkage *lk, const char *spec, struct crm_err *e)
{
	char *list = strdup(spec), *p = list, *tok;
	int rc = 0;

	if (!list)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	while (rc == 0 && (tok = strsep(&p, ",")) != NULL) {
		char *colon = strrchr(tok, ':');
		int cmp = CRM_CMP_TEXT;

		if (!*tok)
			continue;
		if (colon) {
			*colon = '\0';
			if ((cmp = crm_cmp_parse(colon + 1)) < 0) {
				rc = crm_err_set(e, CRM_EUSAGE, "unknown comparator '%s' (want name, text, company, "
						 "email, phone, id, date, code or address)", colon + 1);
				break;
			}
		}
		rc = crm_linkage_add_field(lk, tok, (enum crm_cmp)cmp, e);
	}
	free(list);
	return rc;
}

int crm_linkage_read_labels(struct crm_linkage *lk, const char *path,
			    void (*warn)(void *ctx, const char *msg), void *ctx, struct crm_err *e)
{
	struct crm_reader r;
	char msg[600];
	json_t *o;
	int rc;

	if (crm_reader_open(&r, path, 0, e) < 0)
		return -1;
	while ((rc = crm_ndjson_next(&r, &o, e)) != CRM_REC_EOF) {
		const char *id[2];
		long x[2];
		json_t *m;

		if (rc == CRM_REC_FATAL) {
			crm_reader_release(&r);
			return -1;
		}
		if (rc == CRM_REC_BAD) {
			warn(ctx, e->msg);
			continue;
		}
		id[0] = json_string_value(json_object_get(o, "a"));
		id[1] = json_string_value(json_object_get(o, "b"));
		m = json_object_get(o, "match");
		if (!id[0] || !id[1] || !json_is_boolean(m)) {
			snprintf(msg, sizeof(msg), "%s:%ld: want {\"a\": ID, \"b\": ID, \"match\": true|false}",
				 path, r.lineno);
			warn(ctx, msg);
			json_decref(o);
			continue;
		}
		x[0] = crm_linkage_find(lk, id[0]);
		x[1] = crm_linkage_find(lk, id[1]);
		if (x[0] < 0 || x[1] < 0) {
			snprintf(msg, sizeof(msg), "%s:%ld: no live record '%.80s'", path, r.lineno,
				 x[0] < 0 ? id[0] : id[1]);
			warn(ctx, msg);
		} else {
			crm_linkage_label(lk, (uint32_t)x[0], (uint32_t)x[1], json_is_true(m));
		}
		json_decref(o);
	}
	crm_reader_release(&r);
	return 0;
}

int crm_linkage_keep_best(struct crm_linkage *lk, int (*incoming)(void *ctx, const char *id), void *ctx)
{
	size_t *best = malloc((lk->n ? lk->n : 1) * sizeof(*best));

	if (!best)
		return -1;
	for (size_t i = 0; i < lk->n; i++)
		best[i] = SIZE_MAX;
	for (size_t k = 0; k < lk->npairs; k++) {
		const struct crm_pair *p = &lk->pairs[k];
		uint32_t side[2] = { p->a, p->b };

		for (int s = 0; s < 2; s++)
			if (incoming(ctx, lk->id[side[s]]) &&
			    (best[side[s]] == SIZE_MAX || p->p > lk->pairs[best[side[s]]].p))
				best[side[s]] = k;
	}
	for (size_t k = 0; k < lk->npairs; k++)
		if (best[lk->pairs[k].a] != k && best[lk->pairs[k].b] != k)
			lk->pairs[k].p = 0;
	free(best);
	return 0;
}
