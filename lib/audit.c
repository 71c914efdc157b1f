/*
 * audit.c - loading what a bias audit measures; the audit log.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "fairness.h"
#include "id.h"
#include "model.h"
#include "ndjson.h"
#include "reader.h"
#include "store/store.h"

/* Interned strings: code 0 is "(missing)". */
struct crm_intern {
	char **name;
	size_t n, cap;
	uint32_t *slot;		/* code + 1, 0 empty */
	size_t nslot;
};

/* Resize *p to n elements of size bytes; *p is kept when that fails. */
static int grow(void *p, size_t n, size_t size)
{
	void *q = n > SIZE_MAX / size ? NULL : realloc(*(void **)p, n * size);

	if (!q)
		return -1;
	*(void **)p = q;
	return 0;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct crm_intern *intern_new(void)
{
	struct crm_intern *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->nslot = 64;
	in->slot = calloc(in->nslot, sizeof(*in->slot));
	in->cap = 16;
	in->name = malloc(in->cap * sizeof(*in->name));
	if (!in->slot || !in->name || !(in->name[0] = strdup("(missing)"))) {
		free(in->slot);
		free(in->name);
		free(in);
		return NULL;
	}
	in->n = 1;
	return in;
}

static void intern_free(struct crm_intern *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n; i++)
		free(in->name[i]);
	free(in->name);
	free(in->slot);
	free(in);
}

/* Code of s, added if new; UINT32_MAX when out of memory. */
static uint32_t intern(struct crm_intern *in, const char *s)
{
	size_t i;

	if (in->n * 2 >= in->nslot) {
		size_t ns = in->nslot * 2;
		uint32_t *sl = calloc(ns, sizeof(*sl));

		if (!sl)
			return UINT32_MAX;
		for (size_t c = 1; c < in->n; c++) {
			for (i = hash_str(in->name[c]) & (ns - 1); sl[i]; i = (i + 1) & (ns - 1))
				;
			sl[i] = (uint32_t)c + 1;
		}
		free(in->slot);
		in->slot = sl;
		in->nslot = ns;
	}
	for (i = hash_str(s) & (in->nslot - 1); in->slot[i]; i = (i + 1) & (in->nslot - 1))
		if (!strcmp(in->name[in->slot[i] - 1], s))
			return in->slot[i] - 1;
	if (in->n == in->cap) {
		char **nn = realloc(in->name, in->cap * 2 * sizeof(*nn));

		if (!nn)
			return UINT32_MAX;
		in->name = nn;
		in->cap *= 2;
	}
	if (!(in->name[in->n] = strdup(s)))
		return UINT32_MAX;
	in->slot[i] = (uint32_t)in->n + 1;
	return (uint32_t)in->n++;
}

/*
 * The SQL expression of attribute name on type (r: the record, a: its
 * account, c: a deal's contact). A custom field's JSON path goes to path,
 * to be bound; its key is matched without regard to case.
 */
static int attr_sql(struct crm_store *db, const struct crm_entity *t, const char *name,
		    struct crm_buf *sql, char *path, size_t pathlen, struct crm_err *e)
{
	const struct crm_entity *on = t;
	const char *alias = "r", *rest = name, *key = NULL;
	int f, is_deal = !strcmp(t->kind, "deal");
	struct crm_stmt *st;

	*path = 0;
	if (!strncmp(name, "account.", 8)) {
		on = crm_entity_find("account");
		alias = "a";
		rest = name + 8;
	} else if (is_deal && !strncmp(name, "contact.", 8)) {
		on = crm_entity_find("contact");
		alias = "c";
		rest = name + 8;
	}
	if (!strncmp(rest, "attrs.", 6))
		key = rest + 6;
	else if ((f = crm_entity_field(on, rest)) >= 0 && !(on->fields[f].flags & CRM_F_VIRTUAL))
		return crm_buf_addf(sql, ", %s.%s", alias, on->fields[f].name) < 0 ?
			crm_err_set(e, CRM_ESOFTWARE, "out of memory") : 0;
	else
		key = rest;
	if (!*key || strchr(key, '"'))
		return crm_err_set(e, CRM_EUSAGE, "'%s': not a field of %s", name, on->table);
	/* The key as stored, from a sample of the records that have any. */
	{
		struct crm_buf q;
		int found = 0;

		crm_buf_init(&q, 0);
		crm_buf_addf(&q, "SELECT j.key FROM (SELECT attrs FROM %s WHERE attrs != '{}' LIMIT 5000) s, "
			     "%s(s.attrs) j WHERE lower(j.key) = lower(?1) ORDER BY j.key = ?1 DESC LIMIT 1",
			     on->table, crm_store_sql(db, CRM_SQL_JSON_EACH));
		if (crm_store_prepare(db, q.data, 0, &st, e) < 0) {
			crm_buf_release(&q);
			return -1;
		}
		crm_buf_release(&q);
		crm_stmt_bind_text_ref(st, 1, key, (size_t)-1);
		if (crm_stmt_step(st, e) > 0) {
			crm_store_attr_key(db, crm_stmt_text(st, 0), path, pathlen);
			found = 1;
		}
		crm_stmt_free(st);
		if (!found)
			return crm_err_set(e, CRM_EUSAGE, "'%s': no such field or custom field on %s",
					   name, on->table);
	}
	/* the value as JSON text (both dialects' ->), opened by the reader */
	return crm_buf_addf(sql, ", %s.attrs -> ?", alias) < 0 ?
		crm_err_set(e, CRM_ESOFTWARE, "out of memory") : 0;
}

int crm_audit_pop_open(struct crm_audit_pop *pop, struct crm_store *db,
		       const struct crm_entity *type, const char *const *attrs,
		       size_t nattr, struct crm_err *e)
{
	struct crm_buf sql;
	char path[CRM_AUDIT_MAXATTR][256];
	struct crm_stmt *st = NULL;
	size_t cap = 1024;
	int rc = -1, np = 0;

	memset(pop, 0, sizeof(*pop));
	pop->type = type;
	crm_buf_init(&sql, 0);
	if (nattr < 1 || nattr > CRM_AUDIT_MAXATTR)
		return crm_err_set(e, CRM_EUSAGE, "audit by one or two attributes, not %zu", nattr);
	pop->nattr = nattr;
	crm_buf_adds(&sql, "SELECT r.id");
	for (size_t a = 0; a < nattr; a++) {
		if (!(pop->attr[a] = strdup(attrs[a])) || !(pop->values[a] = intern_new()))
			goto nomem;
		if (attr_sql(db, type, attrs[a], &sql, path[a], sizeof(path[a]), e) < 0)
			goto out;
	}
	crm_buf_addf(&sql, " FROM %s r LEFT JOIN accounts a ON a.id = r.account_id%s "
		     "WHERE r.merged_into IS NULL ORDER BY r.id", type->table,
		     !strcmp(type->kind, "deal") ? " LEFT JOIN contacts c ON c.id = r.contact_id" : "");
	if (crm_store_prepare(db, sql.data, 0, &st, e) < 0)
		goto out;
	for (size_t a = 0; a < nattr; a++)
		if (*path[a])
			crm_stmt_bind_text_ref(st, ++np, path[a], (size_t)-1);
	pop->rec_id = malloc(cap * sizeof(*pop->rec_id));
	for (size_t a = 0; a < nattr; a++) {
		pop->rec_val[a] = malloc(cap * sizeof(*pop->rec_val[a]));
		pop->rec_num[a] = malloc(cap * sizeof(*pop->rec_num[a]));
		if (!pop->rec_val[a] || !pop->rec_num[a])
			goto nomem;
	}
	if (!pop->rec_id)
		goto nomem;
	while ((rc = crm_stmt_step(st, e)) == 1) {
		size_t i = pop->nrec;

		if (i == cap) {
			cap *= 2;
			if (grow(&pop->rec_id, cap, sizeof(*pop->rec_id)) < 0)
				goto nomem;
			for (size_t a = 0; a < nattr; a++)
				if (grow(&pop->rec_val[a], cap, sizeof(*pop->rec_val[a])) < 0 ||
				    grow(&pop->rec_num[a], cap, sizeof(*pop->rec_num[a])) < 0)
					goto nomem;
		}
		if (!(pop->rec_id[i] = strdup(crm_stmt_text(st, 0))))
			goto nomem;
		pop->nrec++;
		for (size_t a = 0; a < nattr; a++) {
			int ct = crm_stmt_type(st, (int)a + 1);
			char num[64], text[256];
			const char *v = num;

			pop->rec_num[a][i] = NAN;
			if (ct == CRM_TEXT && *path[a]) {
				/* a custom field as JSON: its number, or its text
				 * (a boolean's too) */
				json_t *x = json_loads(crm_stmt_text(st, (int)a + 1), JSON_DECODE_ANY, NULL);

				if (json_is_number(x)) {
					ct = CRM_REAL;
					pop->rec_num[a][i] = json_number_value(x);
				} else if (json_is_string(x)) {
					snprintf(text, sizeof(text), "%s", json_string_value(x));
				} else if (json_is_boolean(x)) {
					snprintf(text, sizeof(text), "%s", json_is_true(x) ? "true" : "false");
				} else {
					ct = CRM_NULL;
				}
				json_decref(x);
				if (ct == CRM_REAL)
					snprintf(num, sizeof(num), "%g", pop->rec_num[a][i]);
				else
					v = text;
			}
			if (ct == CRM_NULL) {
				pop->rec_val[a][i] = 0;
				continue;
			}
			if (v == text) {
				;
			} else if (ct == CRM_INTEGER || ct == CRM_REAL) {
				if (isnan(pop->rec_num[a][i]))
					pop->rec_num[a][i] = crm_stmt_double(st, (int)a + 1);
				snprintf(num, sizeof(num), "%g", pop->rec_num[a][i]);
			} else {
				v = crm_stmt_text(st, (int)a + 1);
			}
			if (!*v) {
				pop->rec_val[a][i] = 0;
				continue;
			}
			if ((pop->rec_val[a][i] = intern(pop->values[a], v)) == UINT32_MAX)
				goto nomem;
		}
	}
	if (rc < 0)
		goto out;
	rc = 0;
	goto out;
nomem:
	rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
out:
	crm_stmt_free(st);
	crm_buf_release(&sql);
	return rc;
}

/* A row of record r: its probability, role and label. */
static int add_row(struct crm_audit_pop *pop, uint32_t r, float p, uint8_t role,
		   uint8_t label, struct crm_err *e)
{
	if (pop->n == pop->cap) {
		size_t cap = pop->cap ? pop->cap * 2 : 1024;

		if (grow(&pop->p, cap, sizeof(*pop->p)) < 0 ||
		    grow(&pop->role, cap, sizeof(*pop->role)) < 0 ||
		    grow(&pop->label, cap, sizeof(*pop->label)) < 0 ||
		    grow(&pop->rec, cap, sizeof(*pop->rec)) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		pop->cap = cap;
	}
	pop->p[pop->n] = p;
	pop->role[pop->n] = role;
	pop->label[pop->n] = label;
	pop->rec[pop->n] = r;
	pop->n++;
	return 0;
}

int crm_audit_pop_open_own(struct crm_audit_pop *pop, const struct crm_entity *type,
			   const char *const *attrs, size_t nattr, struct crm_err *e)
{
	memset(pop, 0, sizeof(*pop));
	pop->type = type;
	pop->own = 1;
	if (nattr < 1 || nattr > CRM_AUDIT_MAXATTR)
		return crm_err_set(e, CRM_EUSAGE, "audit by one or two attributes, not %zu", nattr);
	pop->nattr = nattr;
	for (size_t a = 0; a < nattr; a++)
		if (!(pop->attr[a] = strdup(attrs[a])) || !(pop->values[a] = intern_new()))
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 0;
}

int crm_audit_pop_add_own(struct crm_audit_pop *pop, const char *id, const char *const *vals,
			  float p, uint8_t role, uint8_t label, struct crm_err *e)
{
	size_t i = pop->nrec;

	if (i == pop->ownrec_cap) {
		size_t cap = pop->ownrec_cap ? pop->ownrec_cap * 2 : 1024;

		if (grow(&pop->rec_id, cap, sizeof(*pop->rec_id)) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		for (size_t a = 0; a < pop->nattr; a++)
			if (grow(&pop->rec_val[a], cap, sizeof(*pop->rec_val[a])) < 0 ||
			    grow(&pop->rec_num[a], cap, sizeof(*pop->rec_num[a])) < 0)
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		pop->ownrec_cap = cap;
	}
	if (!(pop->rec_id[i] = strdup(id)))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	for (size_t a = 0; a < pop->nattr; a++) {
		char *end;
		double num = vals[a] && *vals[a] ? strtod(vals[a], &end) : NAN;

		pop->rec_num[a][i] = vals[a] && *vals[a] && !*end ? num : NAN;
		pop->rec_val[a][i] = 0;
		if (vals[a] && *vals[a] && (pop->rec_val[a][i] = intern(pop->values[a], vals[a])) == UINT32_MAX)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	pop->nrec++;
	return add_row(pop, (uint32_t)i, p, role, label, e);
}

/* Drop the per-attribute codes kept for grouping. */
static void forget_codes(struct crm_audit_pop *pop)
{
	for (size_t a = 0; a < CRM_AUDIT_MAXATTR; a++) {
		for (size_t i = 0; i < pop->nacode[a]; i++)
			free(pop->aname[a][i]);
		free(pop->aname[a]);
		free(pop->acode[a]);
		pop->aname[a] = NULL;
		pop->acode[a] = NULL;
		pop->nacode[a] = 0;
	}
}

void crm_audit_pop_release(struct crm_audit_pop *pop)
{
	for (size_t i = 0; i < pop->nrec; i++)
		free(pop->rec_id[i]);
	free(pop->rec_id);
	for (size_t a = 0; a < CRM_AUDIT_MAXATTR; a++) {
		free(pop->attr[a]);
		free(pop->rec_val[a]);
		free(pop->rec_num[a]);
		intern_free(pop->values[a]);
	}
	free(pop->p);
	free(pop->role);
	free(pop->label);
	free(pop->rec);
	free(pop->group);
	for (size_t g = 0; g < pop->ngroups; g++)
		free(pop->gname[g]);
	free(pop->gname);
	forget_codes(pop);
	memset(pop, 0, sizeof(*pop));
}

static long find_rec(const struct crm_audit_pop *pop, const char *id)
{
	size_t lo = 0, hi = pop->nrec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(pop->rec_id[mid], id);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int crm_audit_pop_add(struct crm_audit_pop *pop, const char *id, float p,
		      uint8_t role, uint8_t label, struct crm_err *e)
{
	long r = find_rec(pop, id);

	if (r < 0)
		return 1;
	if (pop->acode[0] || pop->acode[1])
		forget_codes(pop);	/* the rows change: group anew */
	return add_row(pop, (uint32_t)r, p, role, label, e);
}

int crm_audit_pop_model(struct crm_audit_pop *pop, struct crm_store *db,
			const char *model_id, struct crm_err *e)
{
	char sql[256];
	struct crm_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT s.entity_id, s.probability FROM scores s JOIN %s r ON r.id = s.entity_id "
		 "WHERE s.model_id = ?1 AND r.outcome IS NULL", pop->type->table);
	if (crm_store_prepare(db, sql, 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, model_id, (size_t)-1);
	while ((rc = crm_stmt_step(st, e)) == 1)
		if (crm_audit_pop_add(pop, crm_stmt_text(st, 0),
				      (float)crm_stmt_double(st, 1), 1, 0, e) < 0) {
			crm_stmt_free(st);
			return -1;
		}
	crm_stmt_free(st);
	if (rc != 0)
		return -1;
	if (crm_store_prepare(db, "SELECT entity_id, probability, label FROM holdout_scores WHERE model_id = ?1",
			      0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, model_id, (size_t)-1);
	while ((rc = crm_stmt_step(st, e)) == 1)
		if (crm_audit_pop_add(pop, crm_stmt_text(st, 0),
				      (float)crm_stmt_double(st, 1), 2,
				      (uint8_t)(int)crm_stmt_int64(st, 2), e) < 0) {
			crm_stmt_free(st);
			return -1;
		}
	crm_stmt_free(st);
	return rc == 0 ? 0 : -1;
}

static int cmp_num(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Group codes of attribute a for every row into code (0..*k-1) and their
 * names: bands for a numeric attribute with more values than bins.
 */
static int attr_codes(const struct crm_audit_pop *pop, size_t a, int bins,
		      uint32_t *code, char ***names, size_t *k, struct crm_err *e)
{
	const struct crm_intern *in = pop->values[a];
	double *v = NULL, edge[65];
	size_t nv = 0, distinct = 0, nedge = 0;
	int numeric = 1;
	uint32_t *map = NULL;

	*names = NULL;
	*k = 0;
	for (size_t i = 0; i < pop->n && numeric; i++) {
		uint32_t r = pop->rec[i];

		if (pop->rec_val[a][r] && isnan(pop->rec_num[a][r]))
			numeric = 0;
	}
	if (numeric && bins > 1 && in->n - 1 > (size_t)bins) {
		if (!(v = malloc((pop->n ? pop->n : 1) * sizeof(*v))))
			goto nomem;
		for (size_t i = 0; i < pop->n; i++)
			if (pop->rec_val[a][pop->rec[i]])
				v[nv++] = pop->rec_num[a][pop->rec[i]];
		qsort(v, nv, sizeof(*v), cmp_num);
		for (size_t i = 0; i < nv; i++)
			distinct += !i || v[i] != v[i - 1];
	}
	if (distinct > (size_t)bins) {
		/* Quantile bands [edge[b], edge[b + 1]), the last closed. */
		if (bins > 64)
			bins = 64;
		for (int b = 0; b <= bins; b++) {
			double q = b == bins ? v[nv - 1] : v[(size_t)((double)b / bins * (double)(nv - 1))];

			if (!nedge || q > edge[nedge - 1])
				edge[nedge++] = q;
		}
		if (nedge < 2)
			edge[nedge++] = v[nv - 1];
		if (!(*names = calloc(nedge + 1, sizeof(**names))))
			goto nomem;
		(*names)[0] = strdup("(missing)");
		for (size_t b = 0; b + 1 < nedge; b++) {
			char s[96];

			snprintf(s, sizeof(s), "[%g, %g%c", edge[b], edge[b + 1], b + 2 == nedge ? ']' : ')');
			(*names)[b + 1] = strdup(s);
		}
		*k = nedge;
		for (size_t i = 0; i < *k; i++)
			if (!(*names)[i])
				goto nomem;
		for (size_t i = 0; i < pop->n; i++) {
			uint32_t r = pop->rec[i];
			double x = pop->rec_num[a][r];
			size_t b = 0;

			if (!pop->rec_val[a][r]) {
				code[i] = 0;
				continue;
			}
			while (b + 2 < nedge && x >= edge[b + 1])
				b++;
			code[i] = (uint32_t)b + 1;
		}
		free(v);
		return 0;
	}
	free(v);
	v = NULL;
	if (in->n > CRM_AUDIT_MAXGROUPS + 1)
		return crm_err_set(e, CRM_EDATA, "'%s' has %zu distinct values; an audit compares groups: "
				   "choose a coarser attribute", pop->attr[a], in->n - 1);
	/* The values that occur, in order of first appearance. */
	if (!(map = malloc(in->n * sizeof(*map))) || !(*names = calloc(in->n, sizeof(**names))))
		goto nomem;
	for (size_t c = 0; c < in->n; c++)
		map[c] = UINT32_MAX;
	for (size_t i = 0; i < pop->n; i++) {
		uint32_t c = pop->rec_val[a][pop->rec[i]];

		if (map[c] == UINT32_MAX) {
			map[c] = (uint32_t)*k;
			if (!((*names)[(*k)++] = strdup(in->name[c])))
				goto nomem;
		}
		code[i] = map[c];
	}
	free(map);
	return 0;
nomem:
	free(v);
	free(map);
	if (*names)
		for (size_t i = 0; i < *k + 1; i++)
			free((*names)[i]);
	free(*names);
	*names = NULL;
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
}

int crm_audit_pop_groups(struct crm_audit_pop *pop, unsigned mask, int bins,
			 struct crm_err *e)
{
	size_t use[CRM_AUDIT_MAXATTR], nuse = 0, k0, k1;
	uint32_t *map = NULL;

	for (size_t g = 0; g < pop->ngroups; g++)
		free(pop->gname[g]);
	free(pop->gname);
	free(pop->group);
	pop->gname = NULL;
	pop->ngroups = 0;
	if (!(pop->group = malloc((pop->n ? pop->n : 1) * sizeof(*pop->group))))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (bins != pop->abins)
		forget_codes(pop);
	pop->abins = bins;
	/* Each attribute's codes once, for it alone and its intersection. */
	for (size_t a = 0; a < pop->nattr; a++) {
		if (!(mask & (1u << a)))
			continue;
		use[nuse++] = a;
		if (pop->acode[a])
			continue;
		if (!(pop->acode[a] = malloc((pop->n ? pop->n : 1) * sizeof(*pop->acode[a]))))
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		if (attr_codes(pop, a, bins, pop->acode[a], &pop->aname[a], &pop->nacode[a], e) < 0) {
			free(pop->acode[a]);
			pop->acode[a] = NULL;
			pop->nacode[a] = 0;
			return -1;
		}
	}
	if (nuse == 1) {
		size_t a = use[0];

		memcpy(pop->group, pop->acode[a], pop->n * sizeof(*pop->group));
		if (!(pop->gname = calloc(pop->nacode[a] ? pop->nacode[a] : 1, sizeof(*pop->gname))))
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		for (size_t g = 0; g < pop->nacode[a]; g++, pop->ngroups++)
			if (!(pop->gname[g] = strdup(pop->aname[a][g])))
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return 0;
	}
	/* Intersection: the combinations that occur. */
	k0 = pop->nacode[use[0]];
	k1 = pop->nacode[use[1]];
	if (!(map = malloc((k0 * k1 + 1) * sizeof(*map))) ||
	    !(pop->gname = calloc(k0 * k1 + 1, sizeof(*pop->gname)))) {
		free(map);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	for (size_t c = 0; c < k0 * k1; c++)
		map[c] = UINT32_MAX;
	for (size_t i = 0; i < pop->n; i++) {
		uint32_t c0 = pop->acode[use[0]][i], c1 = pop->acode[use[1]][i];
		size_t c = c0 * k1 + c1;

		if (map[c] == UINT32_MAX) {
			const char *n0 = pop->aname[use[0]][c0], *n1 = pop->aname[use[1]][c1];
			size_t len = strlen(n0) + strlen(n1) + 4;

			map[c] = (uint32_t)pop->ngroups;
			if (!(pop->gname[pop->ngroups] = malloc(len))) {
				free(map);
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			}
			snprintf(pop->gname[pop->ngroups++], len, "%s & %s", n0, n1);
		}
		pop->group[i] = map[c];
	}
	free(map);
	return 0;
}

/* Rows of pop: d's open records and the holdout (ids, labels), with p. */
static int whatif_rows(struct crm_audit_pop *pop, struct crm_dataset *d, const float *p,
		       char *const *hold_id, const float *hold_y, const float *hold_p,
		       size_t nhold, double *auc, struct crm_err *e)
{
	float *hp = malloc((nhold ? nhold : 1) * sizeof(*hp)), *hy = malloc((nhold ? nhold : 1) * sizeof(*hy));
	size_t nh = 0;

	if (!hp || !hy) {
		free(hp);
		free(hy);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	for (size_t i = 0; i < d->n; i++)
		if (isnan(d->y[i]) && crm_audit_pop_add(pop, d->id[i], p[i], 1, 0, e) < 0)
			goto fail;
	for (size_t k = 0; k < nhold; k++) {
		long r = crm_dataset_row(d, hold_id[k]);

		if (r < 0)
			continue;
		/* The out-of-fold prediction where there is one: a refit
		 * model has seen these rows. */
		if (crm_audit_pop_add(pop, hold_id[k], hold_p ? hold_p[k] : p[r], 2, hold_y[k] > 0.5, e) < 0)
			goto fail;
		hp[nh] = hold_p ? hold_p[k] : p[r];
		hy[nh++] = hold_y[k];
	}
	*auc = crm_auc(hp, hy, nh);
	free(hp);
	free(hy);
	return 0;
fail:
	free(hp);
	free(hy);
	return -1;
}

/* The stored holdout of model id: ids and outcomes (new arrays). */
static int stored_holdout(struct crm_store *db, const char *id, char ***hid, float **hy,
			  float **hp, size_t *n, struct crm_err *e)
{
	struct crm_stmt *st;
	size_t cap = 0;
	int rc;

	*hid = NULL;
	*hy = NULL;
	if (hp)
		*hp = NULL;
	*n = 0;
	if (crm_store_prepare(db, "SELECT entity_id, label, probability FROM holdout_scores WHERE model_id = ?1",
			      0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	while ((rc = crm_stmt_step(st, e)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if (grow(hid, cap, sizeof(**hid)) < 0 || grow(hy, cap, sizeof(**hy)) < 0 ||
			    (hp && grow(hp, cap, sizeof(**hp)) < 0))
				break;
		}
		if (!((*hid)[*n] = strdup(crm_stmt_text(st, 0))))
			break;
		if (hp)
			(*hp)[*n] = (float)crm_stmt_double(st, 2);
		(*hy)[(*n)++] = (float)(int)crm_stmt_int64(st, 1);
	}
	crm_stmt_free(st);
	if (rc == 1)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return rc == 0 ? 0 : -1;
}

/* Probabilities of every row of a dataset built now with m's schema. */
static int predict_all(struct crm_store *db, const struct crm_model *m, struct crm_dataset *d,
		       float **p, struct crm_err *e)
{
	crm_dataset_init(d, m->type);
	if (crm_dataset_build(d, db, NULL, &m->schema, e) < 0 || crm_dataset_index(d) < 0)
		return -1;
	if (!(*p = malloc((d->n ? d->n : 1) * sizeof(**p))))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return d->n ? crm_model_predict_adjusted(m, d, 0, d->n, *p, e) : 0;
}

int crm_audit_whatif(struct crm_store *db, const struct crm_override *ov, size_t n,
		     struct crm_audit_pop *before, struct crm_audit_pop *after,
		     double auc[2], struct crm_err *e)
{
	const struct crm_entity *type = before->type;
	struct crm_model m1, m2;
	struct crm_dataset d1, d2;
	float *p1 = NULL, *p2 = NULL, *hy = NULL, *hy1 = NULL, *hp1 = NULL;
	char **hid = NULL, **hid1 = NULL;
	size_t nh = 0, nh1 = 0;
	int retrain = 0, rc = -1;

	crm_model_init(&m1);
	crm_model_init(&m2);
	crm_dataset_init(&d1, type);
	crm_dataset_init(&d2, type);
	if (crm_model_load(db, type, NULL, &m1, e) < 0 || crm_override_load(db, type, &m1, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ov[i].action, "exclude") || !strcmp(ov[i].action, "monotone"))
			retrain = 1;
		for (size_t k = 0; k < m1.nov && !strcmp(ov[i].action, "clear"); k++)
			if (!strcmp(m1.ov[k].feature, ov[i].feature) && strcmp(m1.ov[k].action, "scale"))
				retrain = 1;
	}
	if (predict_all(db, &m1, &d1, &p1, e) < 0)
		goto out;
	if (retrain) {
		struct crm_train_opts o = { CRM_TRAIN_DEFAULTS, .extra = ov, .nextra = n, .no_store = 1,
					    .depth_given = 1 };
		struct crm_stmt *st;
		int activated;

		/* The active model's parameters. */
		if (crm_store_prepare(db, "SELECT params FROM models WHERE id = ?1", 0, &st, e) == 0) {
			json_t *pj = NULL;

			crm_stmt_bind_text_ref(st, 1, m1.id, (size_t)-1);
			if (crm_stmt_step(st, e) > 0 && (pj = json_loads(crm_stmt_text(st, 0) ?: "", 0, NULL))) {
				/* The chosen config again, rounds chosen anew. */
				o.rounds = (int)json_number_value(json_object_get(pj, "rounds")) * 2 + 40;
				o.depth = (int)json_number_value(json_object_get(pj, "depth"));
				o.eta = json_number_value(json_object_get(pj, "eta"));
				o.holdout = json_number_value(json_object_get(pj, "holdout"));
				o.seed = (unsigned)json_number_value(json_object_get(pj, "seed"));
			}
			json_decref(pj);
			crm_stmt_free(st);
		}
		if (crm_model_train(db, type, &o, &m2, &activated, e) < 0 ||
		    predict_all(db, &m2, &d2, &p2, e) < 0)
			goto out;
		/* Both models out of sample: the active one's stored
		 * out-of-fold predictions against the new one's. */
		if (stored_holdout(db, m1.id, &hid1, &hy1, &hp1, &nh1, e) < 0 ||
		    whatif_rows(before, &d1, p1, hid1, hy1, hp1, nh1, &auc[0], e) < 0 ||
		    whatif_rows(after, &d2, p2, m2.hold_id, m2.hold_y, m2.hold_p, m2.nhold, &auc[1], e) < 0)
			goto out;
	} else {
		if (stored_holdout(db, m1.id, &hid, &hy, NULL, &nh, e) < 0)
			goto out;
		if (whatif_rows(before, &d1, p1, hid, hy, NULL, nh, &auc[0], e) < 0 ||
		    crm_override_apply(&m1, ov, n, e) < 0 ||
		    !(p2 = malloc((d1.n ? d1.n : 1) * sizeof(*p2))) ||
		    (d1.n && crm_model_predict_adjusted(&m1, &d1, 0, d1.n, p2, e) < 0) ||
		    whatif_rows(after, &d1, p2, hid, hy, NULL, nh, &auc[1], e) < 0) {
			if (!p2)
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < nh1; i++)
		free(hid1[i]);
	free(hid1);
	free(hy1);
	free(hp1);
	if (!retrain) {
		for (size_t i = 0; i < nh; i++)
			free(hid[i]);
		free(hid);
		free(hy);
	}
	free(p1);
	free(p2);
	crm_dataset_release(&d1);
	crm_dataset_release(&d2);
	crm_model_release(&m1);
	crm_model_release(&m2);
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x < y) - (x > y);
}

float crm_audit_top_threshold(const struct crm_audit_pop *pop, size_t k)
{
	float *v, t;
	size_t n = 0;

	if (!k)
		return 2;	/* nobody */
	if (!(v = malloc((pop->n ? pop->n : 1) * sizeof(*v))))
		return -1;
	for (size_t i = 0; i < pop->n; i++)
		if (pop->role[i] & 1)
			v[n++] = pop->p[i];
	if (!n) {
		free(v);
		return 2;
	}
	qsort(v, n, sizeof(*v), cmp_desc);
	t = v[(k < n ? k : n) - 1];
	free(v);
	return t;
}

int crm_audit_store(struct crm_store *db, const char *kind, const char *entity,
		    const char *model_id, const char *params, const char *findings,
		    int violations, char *id, struct crm_err *e)
{
	struct crm_stmt *st;
	char now[32];
	int rc;

	crm_id_new("au_", id);
	crm_timestamp(now, sizeof(now));
	if (crm_store_prepare(db, "INSERT INTO audits (id, at, kind, entity, model_id, params, findings, violations, verdict) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, now, (size_t)-1);
	crm_stmt_bind_text_ref(st, 3, kind, (size_t)-1);
	crm_stmt_bind_text_ref(st, 4, entity, (size_t)-1);
	crm_stmt_bind_text_ref(st, 5, model_id, (size_t)-1);
	crm_stmt_bind_text_ref(st, 6, params, (size_t)-1);
	crm_stmt_bind_text_ref(st, 7, findings, (size_t)-1);
	crm_stmt_bind_int64(st, 8, violations);
	crm_stmt_bind_text_ref(st, 9, violations ? "fail" : "pass", (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_stmt_free(st);
	return rc == 0 ? 0 : -1;
}

/* Attribute attr of a record: its key, a custom field (attrs.X or X in
 * attrs), or a dotted path ("account.country"). */
static json_t *own_value(json_t *o, const char *attr)
{
	json_t *v = json_object_get(o, attr);
	char part[128];
	const char *dot;

	if (v)
		return v;
	if (!strncmp(attr, "attrs.", 6))
		return json_object_get(json_object_get(o, "attrs"), attr + 6);
	if ((v = json_object_get(json_object_get(o, "attrs"), attr)))
		return v;
	while ((dot = strchr(attr, '.')) && o) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - attr), attr);
		o = json_object_get(o, part);
		attr = dot + 1;
	}
	return o ? json_object_get(o, attr) : NULL;
}

int crm_audit_pop_read(struct crm_audit_pop *pop, struct crm_reader *r, const char *name,
		       size_t *unknown, struct crm_err *e)
{
	size_t line = 0;
	int rc;

	while ((rc = crm_reader_line(r, e)) != CRM_LINE_EOF) {
		json_t *o, *v;
		const char *id, *out;
		double p;
		uint8_t role = CRM_FAIR_SEL, label = 0;

		line++;
		if (rc < 0)
			return -1;
		if (rc == CRM_LINE_TOOLONG || !r->line.len)
			continue;
		if (!(o = json_loadb(r->line.data, r->line.len, 0, NULL)))
			return crm_err_set(e, CRM_EDATA, "%s:%zu: not a JSON object", name, line);
		id = json_string_value(json_object_get(o, "id"));
		if ((v = json_object_get(o, "probability")) && json_is_number(v))
			p = json_number_value(v);
		else if ((v = json_object_get(o, "score")) && json_is_number(v))
			p = json_number_value(v) / 100;
		else
			p = NAN;
		if (!id || !(p >= 0 && p <= 1)) {	/* not a scored record: passed over */
			json_decref(o);
			continue;
		}
		v = json_object_get(o, "outcome");
		if ((out = json_string_value(v))) {
			if (!strcmp(out, "won") || !strcmp(out, "converted")) {
				role |= CRM_FAIR_OUT;
				label = 1;
			} else if (!strcmp(out, "lost")) {
				role |= CRM_FAIR_OUT;
			}
		} else if (json_is_integer(v) || json_is_boolean(v)) {
			role |= CRM_FAIR_OUT;
			label = json_is_true(v) || json_integer_value(v) == 1;
		}
		if (pop->own) {
			/* No database: the record's own fields say its groups. */
			const char *vals[CRM_AUDIT_MAXATTR] = { NULL, NULL };
			char num[CRM_AUDIT_MAXATTR][32];

			for (size_t a = 0; a < pop->nattr; a++) {
				json_t *x = own_value(o, pop->attr[a]);

				vals[a] = json_string_value(x);
				if (json_is_number(x)) {
					snprintf(num[a], sizeof(num[a]), "%.17g", json_number_value(x));
					vals[a] = num[a];
				}
			}
			rc = crm_audit_pop_add_own(pop, id, vals, (float)p, role, label, e);
		} else {
			rc = crm_audit_pop_add(pop, id, (float)p, role, label, e);
			*unknown += rc == 1;
		}
		json_decref(o);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int crm_audit_rows(struct crm_store *db, const char *kind, struct crm_stmt **st, struct crm_err *e)
{
	if (crm_store_prepare(db, "SELECT id, at, kind, entity, model_id, violations, verdict, params FROM audits "
			      "WHERE CAST(?1 AS text) IS NULL OR kind = ?1 ORDER BY at, id", 0, st, e) < 0)
		return -1;
	crm_stmt_bind_text(*st, 1, kind, (size_t)-1);
	return 0;
}

int crm_audit_measure(struct crm_audit_pop *pop, const struct crm_fair_opts *fo, unsigned fail_on,
		      int bins, float thr, struct crm_buf *findings,
		      void (*each)(void *ctx, const char *label, const struct crm_fair *f,
				   const struct crm_buf *groups, const struct crm_buf *line),
		      void *ctx, double *min_ratio, struct crm_err *e)
{
	static const unsigned masks[3] = { 1, 2, 3 };
	size_t nmask = pop->nattr == 2 ? 3 : 1;
	struct crm_fair_opts o = *fo;
	struct crm_buf g, b;
	int violations = 0, bad = 0;

	crm_buf_init(&g, 0);
	crm_buf_init(&b, 0);
	o.threshold = thr;
	*min_ratio = NAN;
	for (size_t m = 0; m < nmask; m++) {
		struct crm_fair f;
		char label[300];
		int nv = 0;

		snprintf(label, sizeof(label), "%s%s%s", m == 1 ? pop->attr[1] : pop->attr[0],
			 m == 2 ? " & " : "", m == 2 ? pop->attr[1] : "");
		if (crm_audit_pop_groups(pop, masks[m], bins, e) < 0 ||
		    crm_fair_measure(&f, pop->group, pop->p, pop->role, pop->label, pop->n,
				     (const char *const *)pop->gname, pop->ngroups, &o, e) < 0) {
			violations = -1;
			break;
		}
		crm_buf_reset(&g);
		for (size_t k = 0; k < f.ng; k++) {
			size_t at = g.len;

			if (!f.g[k].n && !f.g[k].labelled)
				continue;
			nv += crm_fair_violations(&f, k, fail_on) != 0;
			if (!f.g[k].small && (long)k != f.ref && isfinite(f.g[k].ratio.v) &&
			    !(f.g[k].ratio.v >= *min_ratio))
				*min_ratio = f.g[k].ratio.v;
			bad |= crm_buf_adds(&g, "{\"type\":\"group\",\"attribute\":") < 0 ||
			       crm_json_str(&g, label, strlen(label)) < 0 ||
			       crm_fair_group_json(&f, k, fail_on, &g) < 0;
			if (findings)
				bad |= (findings->len > 1 && crm_buf_addc(findings, ',') < 0) ||
				       crm_buf_add(findings, g.data + at, g.len - at) < 0;
			bad |= crm_buf_addc(&g, '\n') < 0;
		}
		crm_buf_reset(&b);
		bad |= crm_buf_adds(&b, "{\"type\":\"attribute\",\"attribute\":") < 0 ||
		       crm_json_str(&b, label, strlen(label)) < 0 ||
		       crm_buf_addf(&b, ",\"groups\":%zu,\"reference\":", f.ng) < 0 ||
		       (f.ref >= 0 ? crm_json_str(&b, f.g[f.ref].name, strlen(f.g[f.ref].name))
				   : crm_buf_adds(&b, "null")) < 0 ||
		       crm_json_figure(&b, "dp_difference", f.dp_difference) < 0 ||
		       crm_json_figure(&b, "dp_ratio", f.dp_ratio) < 0 ||
		       crm_json_figure(&b, "eo_difference", f.eo_difference) < 0 ||
		       crm_buf_addf(&b, ",\"violations\":%d}", nv) < 0;
		if (findings)
			bad |= crm_buf_addc(findings, ',') < 0 || crm_buf_add(findings, b.data, b.len) < 0;
		bad |= crm_buf_addc(&b, '\n') < 0;
		if (!bad && each)
			each(ctx, label, &f, &g, &b);
		violations += nv;
		crm_fair_release(&f);
		if (bad) {
			violations = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			break;
		}
	}
	crm_buf_release(&g);
	crm_buf_release(&b);
	return violations;
}

int crm_audit_whatif_json(struct crm_buf *b, const char *change, const int violations[2],
			  const double min_ratio[2], const double auc[2])
{
	int bad = crm_buf_adds(b, "{\"type\":\"what_if\",\"change\":") < 0 ||
		  crm_json_str(b, change, strlen(change)) < 0;

	for (int k = 0; k < 2; k++)
		bad |= crm_buf_addf(b, ",\"%s\":{\"violations\":%d", k ? "after" : "before",
				    violations[k]) < 0 ||
		       crm_json_figure(b, "min_ratio", min_ratio[k]) < 0 ||
		       crm_json_figure(b, "auc", auc[k]) < 0 || crm_buf_addc(b, '}') < 0;
	bad |= crm_json_figure(b, "auc_cost", auc[0] - auc[1]) < 0 || crm_buf_adds(b, "}\n") < 0;
	return bad ? -1 : 0;
}

int crm_audit_bias_params(struct crm_buf *b, const char *const *by, size_t nby, double thr,
			  const struct crm_fair_opts *fo, const char *source)
{
	int bad = crm_buf_adds(b, "{\"by\":[") < 0;

	for (size_t k = 0; k < nby; k++)
		bad |= (k && crm_buf_addc(b, ',') < 0) || crm_json_str(b, by[k], strlen(by[k])) < 0;
	bad |= crm_buf_addf(b, "],\"threshold\":%.9g,\"min_ratio\":%g,\"max_diff\":%g,\"confidence\":%g,"
			    "\"bootstrap\":%d,\"min_group\":%zu,\"source\":\"%s\"}", thr, fo->min_ratio,
			    fo->max_diff, fo->confidence, fo->resamples, fo->min_group, source) < 0;
	return bad ? -1 : 0;
}

float crm_audit_operating_point(const struct crm_audit_pop *pop, double threshold, const char *top,
				size_t *nsel)
{
	size_t n = 0, k;
	char *end;
	double v;

	for (size_t i = 0; i < pop->n; i++)
		n += pop->role[i] & CRM_FAIR_SEL;
	*nsel = n;
	if (!isnan(threshold))
		return (float)(threshold / 100);
	v = strtod(top, &end);
	k = *end == '%' ? (size_t)ceil(v / 100 * (double)n) : (size_t)v;
	return crm_audit_top_threshold(pop, k);
}

/* s as a JSON string, or null for NULL. */
static int str_or_null(struct crm_buf *b, const char *s)
{
	return s ? crm_json_str(b, s, strlen(s)) : crm_buf_adds(b, "null");
}

int crm_audit_bias_json(struct crm_buf *b, const char *id, const char *kind, const char *model,
			double thr, size_t scored, size_t selected, size_t holdout, int violations)
{
	int rc = crm_buf_adds(b, "{\"type\":\"audit\",\"kind\":\"bias\",\"id\":") | str_or_null(b, id) |
		 crm_buf_addf(b, ",\"entity\":\"%s\",\"model\":", kind) | str_or_null(b, model);

	return rc | crm_buf_addf(b, ",\"threshold\":%.9g,\"scored\":%zu,\"selected\":%zu,\"holdout\":%zu,"
				 "\"violations\":%d,\"verdict\":\"%s\"}\n", thr, scored, selected, holdout,
				 violations, violations ? "fail" : "pass");
}

int crm_audit_override_json(struct crm_buf *b, struct crm_stmt *st)
{
	return crm_buf_adds(b, "{\"type\":\"override\",\"feature\":") |
	       crm_json_str(b, crm_stmt_text(st, 1), crm_stmt_bytes(st, 1)) |
	       crm_buf_addf(b, ",\"action\":\"%s\",\"value\":%g,\"who\":", crm_stmt_text(st, 2),
			    crm_stmt_double(st, 3)) |
	       crm_json_str(b, crm_stmt_text(st, 4), crm_stmt_bytes(st, 4)) |
	       crm_buf_adds(b, ",\"why\":") | crm_json_str(b, crm_stmt_text(st, 5), crm_stmt_bytes(st, 5)) |
	       crm_buf_addf(b, ",\"at\":\"%s\"}\n", crm_stmt_text(st, 6));
}

/* A text column as JSON: null or a string. */
static int nullable(struct crm_buf *b, struct crm_stmt *st, int i)
{
	return str_or_null(b, crm_stmt_type(st, i) == CRM_NULL ? NULL : crm_stmt_text(st, i));
}

int crm_audit_row_json(struct crm_buf *b, struct crm_stmt *st)
{
	int rc = crm_buf_addf(b, "{\"type\":\"audit\",\"id\":\"%s\",\"at\":\"%s\",\"kind\":\"%s\",\"entity\":",
			      crm_stmt_text(st, 0), crm_stmt_text(st, 1), crm_stmt_text(st, 2));

	rc |= nullable(b, st, 3) | crm_buf_adds(b, ",\"model\":") | nullable(b, st, 4);
	return rc | crm_buf_addf(b, ",\"violations\":%d,\"verdict\":\"%s\",\"params\":%s}\n",
				 (int)crm_stmt_int64(st, 5), crm_stmt_text(st, 6), crm_stmt_text(st, 7));
}

void crm_audit_bias_default(struct crm_audit_bias *b)
{
	memset(b, 0, sizeof(*b));
	b->type = crm_entity_find("contact");
	b->top = "20%";
	b->threshold = NAN;
	b->bins = 4;
	b->fail_on = CRM_FAIR_DEFAULT;
	crm_fair_opts_default(&b->fo);
}

int crm_audit_top_valid(const char *top)
{
	char *end;
	double v = strtod(top, &end);

	return end != top && v > 0 && (!*end || (!strcmp(end, "%") && v <= 100));
}

int crm_audit_whatif_run(struct crm_store *db, const struct crm_audit_bias *b,
			 const struct crm_override *o, const char *spec,
			 struct crm_audit_whatif_result *r, struct crm_buf *json, struct crm_err *e)
{
	struct crm_audit_pop pop[2];
	int rc = -1, open = 0;

	memset(r, 0, sizeof(*r));
	for (; open < 2; open++)
		if (crm_audit_pop_open(&pop[open], db, b->type, b->by, b->nby, e) < 0)
			goto out;
	if (crm_audit_whatif(db, o, 1, &pop[0], &pop[1], r->auc, e) < 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		size_t nsel;
		float thr = crm_audit_operating_point(&pop[k], b->threshold, b->top, &nsel);

		if (thr < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
		r->violations[k] = crm_audit_measure(&pop[k], &b->fo, b->fail_on, b->bins, thr, NULL, NULL,
						     NULL, &r->min_ratio[k], e);
		if (r->violations[k] < 0)
			goto out;
	}
	rc = crm_audit_whatif_json(json, spec, r->violations, r->min_ratio, r->auc) < 0 ?
	     crm_err_set(e, CRM_ESOFTWARE, "out of memory") : 0;
out:
	while (open-- > 0)
		crm_audit_pop_release(&pop[open]);
	return rc;
}
