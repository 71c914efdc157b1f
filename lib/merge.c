/*
 * merge.c - field-level survivorship, moved links, snapshots, undo.
 *
 * The snapshot of a merge is one JSON object:
 *   {"survivor": {row before}, "merged": {row before},
 *    "after": {survivor after}, "links": [{"table","column","id"}...]}
 * A row is an object of every column with its value's type (attrs
 * embedded as the object it holds), so a value goes back with its type.
 * Undo restores the merged row whole, moves back the links that still
 * point at the survivor, and resets each survivor field whose value is
 * still the one the merge gave it; a field edited since keeps the edit.
 * The rows are read and compared here, in C, and written with bound
 * values: the same on every backend.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypt.h"
#include "merge.h"
#include "ndjson.h"
#include "trail.h"
#include "store/store.h"

/* Columns that point at a record of a type, moved to the survivor. */
static const struct {
	const char *kind, *table, *column;
} links[] = {
	{ "contact", "deals", "contact_id" },
	{ "contact", "interactions", "contact_id" },
	{ "contact", "tasks", "contact_id" },
	{ "account", "contacts", "account_id" },
	{ "account", "deals", "account_id" },
	{ "account", "interactions", "account_id" },
	{ "account", "accounts", "parent_id" },
};

/* Columns a merge never decides on: identity, bookkeeping. */
static int fixed_column(const char *c)
{
	static const char *const fixed[] = { "id", "source", "external_id",
		"src_key", "name_key", "merged_into", "updated_at", "attrs",
		"created_at", NULL };

	if (crm_entity_internal(c))	/* dk and blind indexes follow their field */
		return 1;
	for (int i = 0; fixed[i]; i++)
		if (!strcmp(c, fixed[i]))
			return 1;
	return 0;
}

/* The row of table with id as a JSON object of its columns; NULL with
 * *found 0 when there is none, or on an error (e set, *found -1). */
static json_t *row_read(struct crm_store *db, const char *table, const char *id, int *found,
			struct crm_err *e)
{
	char sql[96];
	struct crm_stmt *st;
	json_t *o = NULL;
	int rc;

	*found = -1;
	snprintf(sql, sizeof(sql), "SELECT * FROM %s WHERE id = ?1", table);
	if (!(st = crm_store_stmt_text(db, sql, e)))
		return NULL;
	crm_stmt_bind_text_ref(st, 1, id, (size_t)-1);
	if ((rc = crm_stmt_step(st, e)) > 0 && (o = json_object())) {
		for (int i = 0; i < crm_stmt_columns(st); i++) {
			const char *col = crm_stmt_column_name(st, i), *v = crm_stmt_text(st, i);
			json_t *x;

			switch (crm_stmt_type(st, i)) {
			case CRM_NULL:
				x = json_null();
				break;
			case CRM_INTEGER:
				x = json_integer(crm_stmt_int64(st, i));
				break;
			case CRM_REAL:
				x = json_real(crm_stmt_double(st, i));
				break;
			default:
				x = !strcmp(col, "attrs") ? json_loads(v, JSON_DECODE_ANY, NULL) :
							    json_stringn(v, crm_stmt_bytes(st, i));
				if (!x)
					x = json_stringn(v, crm_stmt_bytes(st, i));
			}
			json_object_set_new(o, col, x);
		}
	}
	crm_store_stmt_done(st);
	if (rc > 0 && !o)
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	*found = rc < 0 || (rc > 0 && !o) ? -1 : rc;
	return o;
}

/* Bind a value of a row (row_read) to parameter i, with its type. */
static int bind_json(struct crm_stmt *st, int i, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return crm_stmt_bind_text(st, i, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return crm_stmt_bind_int64(st, i, (long long)json_integer_value(v));
	case JSON_REAL:
		return crm_stmt_bind_double(st, i, json_real_value(v));
	case JSON_TRUE:
	case JSON_FALSE:
		return crm_stmt_bind_int64(st, i, json_is_true(v));
	case JSON_OBJECT:
	case JSON_ARRAY: {
		char *t = json_dumps(v, JSON_COMPACT);
		int rc = t ? crm_stmt_bind_text(st, i, t, (size_t)-1) : -1;

		free(t);
		return rc;
	}
	default:
		return crm_stmt_bind_null(st, i);
	}
}

/*
 * An UPDATE of table's row id built as it goes: set() adds "col" = value,
 * run() sends it (nothing when no column was set). The values are the
 * caller's until run().
 */
struct upd {
	struct crm_buf sql;
	const json_t *v[128];
	int n;
};

static void upd_init(struct upd *u, const char *table)
{
	crm_buf_init(&u->sql, 0);
	crm_buf_addf(&u->sql, "UPDATE %s SET ", table);
	u->n = 0;
}

static int upd_set(struct upd *u, const char *col, const json_t *v)
{
	if (u->n == (int)(sizeof(u->v) / sizeof(u->v[0])))
		return -1;
	u->v[u->n++] = v;
	return crm_buf_addf(&u->sql, "%s\"%s\" = ?%d", u->n > 1 ? ", " : "", col, u->n);
}

static int upd_run(struct crm_store *db, struct upd *u, const char *id, struct crm_err *e)
{
	struct crm_stmt *st;
	int rc = 0;

	if (u->n && crm_buf_addf(&u->sql, " WHERE id = ?%d", u->n + 1) < 0)
		rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	else if (u->n && (st = crm_store_stmt_text(db, u->sql.data, e))) {
		for (int i = 0; i < u->n; i++)
			bind_json(st, i + 1, u->v[i]);
		crm_stmt_bind_text_ref(st, u->n + 1, id, (size_t)-1);
		rc = crm_stmt_step(st, e) < 0 ? -1 : 0;
		crm_store_stmt_done(st);
	} else if (u->n) {
		rc = -1;
	}
	crm_buf_release(&u->sql);
	return rc;
}

/* Run sql with text parameters p1..p3 (NULL: unbound); -1 with e. A
 * merge runs the same few statements each time: they are kept prepared. */
static int exec3(struct crm_store *db, const char *sql, const char *p1, const char *p2,
		 const char *p3, struct crm_err *e)
{
	const char *p[3] = { p1, p2, p3 };
	struct crm_stmt *st;
	int rc;

	if (!(st = crm_store_stmt_text(db, sql, e)))
		return -1;
	for (int i = 0; i < 3; i++)
		if (p[i])
			crm_stmt_bind_text_ref(st, i + 1, p[i], (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/* RFC 7396, as SQLite's json_patch: patch's members over target's. */
static json_t *merge_patch(json_t *target, json_t *patch)
{
	const char *k;
	json_t *v;

	if (!json_is_object(patch))
		return json_incref(patch);
	target = json_is_object(target) ? json_deep_copy(target) : json_object();
	json_object_foreach(patch, k, v) {
		if (json_is_null(v))
			json_object_del(target, k);
		else
			json_object_set_new(target, k, merge_patch(json_object_get(target, k), v));
	}
	return target;
}

/* Fields set, for choosing the survivor: columns a merge decides on, and
 * custom fields. */
static int completeness(json_t *row)
{
	const char *k;
	json_t *v;
	int n = 0;

	json_object_foreach(row, k, v) {
		if (!strcmp(k, "attrs"))
			n += json_is_object(v) ? (int)json_object_size(v) : 0;
		else if (!fixed_column(k))
			n += !json_is_null(v);
	}
	return n;
}

/* Is text column k of x before (<0) or after (>0) that of y? 0 when either
 * is not text. */
static int text_cmp(json_t *x, json_t *y, const char *k)
{
	json_t *a = json_object_get(x, k), *b = json_object_get(y, k);

	return json_is_string(a) && json_is_string(b) ? strcmp(json_string_value(a), json_string_value(b)) : 0;
}

/* A transaction, or a savepoint inside the caller's: begun, its end. */
static int part_begin(struct crm_store *db, const char *name, int *own, struct crm_err *e)
{
	char sql[64];

	if ((*own = !crm_store_in_transaction(db)))
		return crm_store_begin(db, e);
	snprintf(sql, sizeof(sql), "SAVEPOINT %s", name);
	return crm_store_exec(db, sql, e);
}

static int part_end(struct crm_store *db, const char *name, int own, int ok, struct crm_err *e)
{
	char sql[96];

	if (own) {
		if (ok)
			return crm_store_commit(db, e);
		crm_store_rollback(db);
		return -1;
	}
	snprintf(sql, sizeof(sql), ok ? "RELEASE %s" : "ROLLBACK TO %s; RELEASE %s", name, name);
	if (ok)
		return crm_store_exec(db, sql, e);
	crm_store_exec(db, sql, NULL);
	return -1;
}

/* A sealed cell of the merged record, sealed again for the survivor's
 * row and data key dk (0: the cell's own); the value to write. */
static json_t *reseal(struct crm_crypt *cc, const struct crm_entity *t, const char *col,
		      const char *from, const char *to, json_t *v, uint64_t dk, struct crm_err *e)
{
	const char *cell = json_string_value(v);
	struct crm_buf plain, out;
	json_t *r = NULL;

	if (!cell || strncmp(cell, CRM_ENC_PREFIX, 4))
		return json_incref(v);
	crm_buf_init(&plain, 0);
	crm_buf_init(&out, 0);
	if (!dk && !crm_crypt_cell_key(cell, strlen(cell), &dk))
		dk = 0;
	if (crm_crypt_open(cc, t->table, col, from, cell, strlen(cell), &plain, e) == 0 &&
	    crm_crypt_seal(cc, dk, t->table, col, to, plain.data ? plain.data : "", plain.len, &out, e) == 0)
		r = json_stringn(out.data, out.len);
	if (plain.data)
		memset(plain.data, 0, plain.len);
	crm_buf_release(&plain);
	crm_buf_release(&out);
	return r;
}

int crm_merge(struct crm_store *db, const struct crm_entity *t, const char *a,
	      const char *b, const struct crm_merge_info *info,
	      char *merge_id, char *survivor, struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(db);
	json_t *ra = NULL, *rb = NULL, *ss, *ls, *keep = json_array(), *linkv = json_array();
	json_t *attrs = NULL, *after = NULL, *snap = NULL;
	struct crm_buf sql, dec;
	const char *s_id, *l_id, *k;
	char now[32], owners[520] = "", *snaptext = NULL;
	json_t *v;
	struct upd u;
	int rc = -1, own = 0, found, l_newer, l_older;

	crm_buf_init(&sql, 0);
	crm_buf_init(&dec, 0);
	upd_init(&u, t->table);
	if (!strcmp(a, b)) {
		rc = crm_err_set(e, CRM_EDATA, "cannot merge %s with itself", a);
		goto out;
	}
	if (part_begin(db, "crm_merge", &own, e) < 0)
		goto out;
	if (!(ra = row_read(db, t->table, a, &found, e)) || !(rb = row_read(db, t->table, b, &found, e))) {
		if (found == 0)
			crm_err_set(e, CRM_EDATA, "no %s '%s'", t->kind, ra ? b : a);
		goto fail;
	}
	/* Both must still be live. */
	if (!json_is_null(v = json_object_get(ra, "merged_into")) ||
	    !json_is_null(v = json_object_get(rb, "merged_into"))) {
		if (v)
			crm_err_set(e, CRM_EDATA, "%s or %s was already merged into %s", a, b, json_string_value(v));
		else
			crm_err_set(e, CRM_ESOFTWARE, "%s has no merged_into", t->table);
		goto fail;
	}
	/* The survivor: more complete (fields, then custom fields), then older. */
	{
		int ca = completeness(ra), cb = completeness(rb);
		int a_first = ca > cb || (ca == cb && strcmp(a, b) < 0);

		ss = a_first ? ra : rb;
		ls = a_first ? rb : ra;
		s_id = a_first ? a : b;
		l_id = a_first ? b : a;
	}
	l_older = text_cmp(ls, ss, "created_at") < 0;
	l_newer = text_cmp(ls, ss, "updated_at") > 0;
	crm_timestamp(now, sizeof(now));
	/*
	 * Field by field: empty in the survivor -> the other's value; both
	 * set and different -> the more recently updated record's value,
	 * except emails and phones, where the survivor's stays and the
	 * other's is kept as an alternate in attrs.
	 */
	crm_buf_addc(&dec, '[');
	json_object_foreach(ss, k, v) {
		json_t *lv = json_object_get(ls, k);
		const char *from, *why;

		if (fixed_column(k) || !lv || json_is_null(lv) || json_equal(v, lv))
			continue;
		if (json_is_null(v)) {
			from = "merged";
			why = "filled an empty field";
		} else if (!strcmp(k, "email") || !strcmp(k, "phone")) {
			from = "survivor";
			why = "the other kept as an alternate";
		} else if (!strcmp(k, "owner")) {
			/* Two owners: the record stays with whoever had it
			 * first, never with the newer copy. */
			from = l_older ? "merged" : "survivor";
			why = "owned first";
			snprintf(owners, sizeof(owners), "%s\x1f%s", json_string_value(v) ?: "",
				 json_string_value(lv) ?: "");
		} else {
			from = l_newer ? "merged" : "survivor";
			why = "more recent";
		}
		if (dec.len > 1)
			crm_buf_addc(&dec, ',');
		crm_buf_adds(&dec, "{\"field\":");
		crm_json_str(&dec, k, strlen(k));
		crm_buf_addf(&dec, ",\"from\":\"%s\",\"why\":\"%s\"}", from, why);
		if (!strcmp(from, "merged") && cc && crm_entity_personal_column(t, k)) {
			/* A sealed cell is bound to its row: open it and seal
			 * it again for the survivor, under its data key. */
			json_t *dk = json_object_get(ss, "dk");
			json_t *x;

			if (json_is_null(dk))
				dk = json_object_get(ls, "dk");
			x = reseal(cc, t, k, l_id, s_id, lv, json_is_integer(dk) ? (uint64_t)json_integer_value(dk) : 0, e);
			if (!x || json_array_append_new(keep, x) < 0 || upd_set(&u, k, x) < 0)
				goto fail;
			if (json_is_null(json_object_get(ss, "dk")) && json_is_integer(dk))
				upd_set(&u, "dk", dk);
			if (t->subject && (!strcmp(k, "email") || !strcmp(k, "phone"))) {
				char bi[64];

				snprintf(bi, sizeof(bi), "%s_bi", k);
				upd_set(&u, bi, json_object_get(ls, bi) ?: json_null());
			}
		} else if (!strcmp(from, "merged")) {
			upd_set(&u, k, lv);
			if (!strcmp(k, "name") && t->has_name_key)
				upd_set(&u, "name_key", json_object_get(ls, "name_key") ?: json_null());
		} else if (why[0] == 't') {
			/* attrs.emails / attrs.phones: the other's values,
			 * once each */
			char key[16];
			json_t *list;

			if (!attrs)
				attrs = json_is_object(json_object_get(ss, "attrs")) ?
					json_deep_copy(json_object_get(ss, "attrs")) : json_object();
			snprintf(key, sizeof(key), "%ss", k);
			if (!json_is_array(list = json_object_get(attrs, key))) {
				list = json_array();
				json_object_set_new(attrs, key, list);
			}
			{
				size_t i;
				json_t *x;
				int have = 0;

				json_array_foreach(list, i, x)
					have |= json_equal(x, lv);
				if (!have)
					json_array_append(list, lv);
			}
		}
	}
	crm_buf_addc(&dec, ']');
	/* Custom fields: the survivor's win, the other's fill in. The older
	 * created_at stays: the customer has been known since then. */
	{
		json_t *pa = merge_patch(json_object_get(ls, "attrs"),
					 attrs ? attrs : json_object_get(ss, "attrs"));

		if (!pa || json_array_append_new(keep, pa) < 0 || upd_set(&u, "attrs", pa) < 0)
			goto fail;
		if (text_cmp(ls, ss, "created_at") < 0)
			upd_set(&u, "created_at", json_object_get(ls, "created_at"));
		json_array_append_new(keep, json_string(now));
		upd_set(&u, "updated_at", json_array_get(keep, json_array_size(keep) - 1));
		if (upd_run(db, &u, s_id, e) < 0)
			goto fail;
	}
	/* Links to the merged record now point at the survivor. */
	for (size_t n = 0; n < sizeof(links) / sizeof(links[0]); n++) {
		struct crm_stmt *st;

		if (strcmp(links[n].kind, t->kind))
			continue;
		crm_buf_reset(&sql);
		crm_buf_addf(&sql, "SELECT id FROM %s WHERE %s = ?1 AND id != ?2",
			     links[n].table, links[n].column);
		if (!(st = crm_store_stmt_text(db, sql.data, e)))
			goto fail;
		crm_stmt_bind_text_ref(st, 1, l_id, (size_t)-1);
		crm_stmt_bind_text_ref(st, 2, s_id, (size_t)-1);
		while ((found = crm_stmt_step(st, e)) > 0)
			json_array_append_new(linkv, json_pack("{s:s, s:s, s:s}", "table", links[n].table,
							       "column", links[n].column, "id",
							       crm_stmt_text(st, 0)));
		crm_store_stmt_done(st);
		if (found < 0)
			goto fail;
		crm_buf_reset(&sql);
		crm_buf_addf(&sql, "UPDATE %s SET %s = ?1 WHERE %s = ?2 AND id != ?1",
			     links[n].table, links[n].column, links[n].column);
		if (exec3(db, sql.data, s_id, l_id, NULL, e) < 0)
			goto fail;
	}
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "UPDATE %s SET merged_into = ?1, updated_at = ?2 WHERE id = ?3", t->table);
	if (exec3(db, sql.data, s_id, now, l_id, e) < 0)
		goto fail;
	if (!(after = row_read(db, t->table, s_id, &found, e)))
		goto fail;
	snap = json_pack("{s:O, s:O, s:O, s:O}", "survivor", ss, "merged", ls, "links", linkv, "after", after);
	if (!snap || !(snaptext = json_dumps(snap, JSON_COMPACT)) || !dec.data) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto fail;
	}
	crm_id_new("m_", merge_id);
	{
		struct crm_stmt *st;

		if (!(st = crm_store_stmt(db,
			"INSERT INTO merges (id, entity, survivor_id, merged_id, probability, weight, reason, decisions, snapshot, created_at) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", e)))
			goto fail;
		crm_stmt_bind_text_ref(st, 1, merge_id, (size_t)-1);
		crm_stmt_bind_text_ref(st, 2, t->kind, (size_t)-1);
		crm_stmt_bind_text_ref(st, 3, s_id, (size_t)-1);
		crm_stmt_bind_text_ref(st, 4, l_id, (size_t)-1);
		if (info && !isnan(info->probability))
			crm_stmt_bind_double(st, 5, info->probability);
		else
			crm_stmt_bind_null(st, 5);
		if (info && !isnan(info->weight))
			crm_stmt_bind_double(st, 6, info->weight);
		else
			crm_stmt_bind_null(st, 6);
		crm_stmt_bind_text_ref(st, 7, info && info->reason ? info->reason : "manual", (size_t)-1);
		crm_stmt_bind_text_ref(st, 8, dec.data, (size_t)-1);
		crm_stmt_bind_text_ref(st, 9, snaptext, (size_t)-1);
		crm_stmt_bind_text_ref(st, 10, now, (size_t)-1);
		found = crm_stmt_step(st, e);
		crm_store_stmt_done(st);
		if (found < 0)
			goto fail;
	}
	if (*owners) {
		/* A merge across owners is in the audit trail, as such. */
		struct crm_buf d;
		char *us = strchr(owners, '\x1f'), actor[160];
		int arc;

		*us++ = 0;
		if (info && info->actor)
			snprintf(actor, sizeof(actor), "%s", info->actor);
		else
			crm_actor_cli(actor, sizeof(actor));
		crm_buf_init(&d, 0);
		crm_buf_adds(&d, "{\"merge\":");
		crm_json_str(&d, merge_id, strlen(merge_id));
		crm_buf_adds(&d, ",\"merged_id\":");
		crm_json_str(&d, l_id, strlen(l_id));
		crm_buf_adds(&d, ",\"owners\":[");
		crm_json_str(&d, owners, strlen(owners));
		crm_buf_addc(&d, ',');
		crm_json_str(&d, us, strlen(us));
		crm_buf_adds(&d, "]}");
		arc = d.data ? crm_trail_append(db, actor, "merge-across-owners", t->kind, s_id, d.data, e)
			     : crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		crm_buf_release(&d);
		if (arc < 0)
			goto fail;
	}
	snprintf(survivor, CRM_ID_MAX, "%s", s_id);
	rc = part_end(db, "crm_merge", own, 1, e);
	goto out;
fail:
	part_end(db, "crm_merge", own, 0, NULL);
out:
	if (u.sql.data)
		crm_buf_release(&u.sql);
	json_decref(ra);
	json_decref(rb);
	json_decref(keep);
	json_decref(linkv);
	json_decref(attrs);
	json_decref(after);
	json_decref(snap);
	free(snaptext);
	crm_buf_release(&sql);
	crm_buf_release(&dec);
	return rc;
}

int crm_merge_undo(struct crm_store *db, const char *merge_id, struct crm_err *e)
{
	const struct crm_entity *t;
	struct crm_buf sql;
	struct crm_stmt *st = NULL;
	json_t *snap = NULL, *cur = NULL, *sv, *mv, *av, *link;
	char kind[32] = "", s_id[CRM_ID_MAX] = "", l_id[CRM_ID_MAX] = "", now[32], **cols = NULL;
	struct upd u;
	size_t i;
	int rc = -1, own = 0, found;

	crm_buf_init(&sql, 0);
	u.sql.data = NULL;
	if (part_begin(db, "crm_undo", &own, e) < 0)
		return -1;
	if (!(st = crm_store_stmt(db, "SELECT entity, survivor_id, merged_id, snapshot, status FROM merges WHERE id = ?1", e)))
		goto fail;
	crm_stmt_bind_text_ref(st, 1, merge_id, (size_t)-1);
	if ((found = crm_stmt_step(st, e)) <= 0) {
		if (!found)
			crm_err_set(e, CRM_EDATA, "no merge '%s'", merge_id);
		goto fail;
	}
	if (strcmp(crm_stmt_text(st, 4), "merged") != 0) {
		crm_err_set(e, CRM_EDATA, "merge '%s' was already undone", merge_id);
		goto fail;
	}
	snprintf(kind, sizeof(kind), "%s", crm_stmt_text(st, 0));
	snprintf(s_id, sizeof(s_id), "%s", crm_stmt_text(st, 1));
	snprintf(l_id, sizeof(l_id), "%s", crm_stmt_text(st, 2));
	snap = json_loads(crm_stmt_text(st, 3), 0, NULL);
	crm_store_stmt_done(st);
	st = NULL;
	sv = json_object_get(snap, "survivor");
	mv = json_object_get(snap, "merged");
	av = json_object_get(snap, "after");
	if (!json_is_object(sv) || !json_is_object(mv) || !json_is_object(av)) {
		crm_err_set(e, CRM_EDATA, "merge '%s': its snapshot is not one this version reads", merge_id);
		goto fail;
	}
	if (!(t = crm_entity_find(kind)) || crm_store_columns(db, t->table, &cols, e) < 0)
		goto fail;
	if (!(cur = row_read(db, t->table, s_id, &found, e)))
		goto fail;
	if (!json_is_null(json_object_get(cur, "merged_into"))) {
		crm_err_set(e, CRM_EDATA, "%s was merged into %s since: undo that merge first",
			    s_id, json_string_value(json_object_get(cur, "merged_into")));
		goto fail;
	}
	crm_timestamp(now, sizeof(now));
	/* Survivor fields still as the merge left them go back. */
	upd_init(&u, t->table);
	for (i = 0; cols[i]; i++) {
		json_t *was = json_object_get(sv, cols[i]), *left = json_object_get(av, cols[i]);

		if (!strcmp(cols[i], "id") || !strcmp(cols[i], "updated_at") || !was || !left)
			continue;
		if (json_equal(json_object_get(cur, cols[i]), left) && !json_equal(was, left))
			upd_set(&u, cols[i], was);
	}
	if (upd_run(db, &u, s_id, e) < 0)
		goto fail;
	/* The merged record as it was. */
	upd_init(&u, t->table);
	for (i = 0; cols[i]; i++)
		if (strcmp(cols[i], "id"))
			upd_set(&u, cols[i], json_object_get(mv, cols[i]) ?: json_null());
	if (upd_run(db, &u, l_id, e) < 0)
		goto fail;
	/* Links that still point at the survivor go back. */
	json_array_foreach(json_object_get(snap, "links"), i, link) {
		const char *tbl = json_string_value(json_object_get(link, "table"));
		const char *col = json_string_value(json_object_get(link, "column"));
		const char *lid = json_string_value(json_object_get(link, "id"));
		int known = 0;

		/* Only the link tables we write: never SQL from the snapshot. */
		for (size_t k = 0; tbl && col && k < sizeof(links) / sizeof(links[0]); k++)
			if (!strcmp(links[k].table, tbl) && !strcmp(links[k].column, col))
				known = 1;
		if (!known || !lid)
			continue;
		crm_buf_reset(&sql);
		crm_buf_addf(&sql, "UPDATE %s SET %s = ?1 WHERE id = ?2 AND %s = ?3", tbl, col, col);
		if (exec3(db, sql.data, l_id, lid, s_id, e) < 0)
			goto fail;
	}
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "UPDATE %s SET updated_at = ?1 WHERE id IN (?2, ?3)", t->table);
	if (exec3(db, sql.data, now, s_id, l_id, e) < 0 ||
	    exec3(db, "UPDATE merges SET status = 'undone', undone_at = ?1 WHERE id = ?2",
		  now, merge_id, NULL, e) < 0)
		goto fail;
	rc = part_end(db, "crm_undo", own, 1, e);
	goto out;
fail:
	crm_store_stmt_done(st);
	part_end(db, "crm_undo", own, 0, NULL);
out:
	if (u.sql.data)
		crm_buf_release(&u.sql);
	crm_store_free_list(cols);
	json_decref(snap);
	json_decref(cur);
	crm_buf_release(&sql);
	return rc;
}

int crm_merge_survivor(struct crm_store *db, const struct crm_entity *t, char *id)
{
	/* Constant strings: the statements stay prepared (crm_store_stmt),
	 * as a pipe asks this for every record. */
	static const char *const sqls[][2] = {
		{ "contacts", "SELECT merged_into FROM contacts WHERE id = ?1" },
		{ "accounts", "SELECT merged_into FROM accounts WHERE id = ?1" },
		{ "deals", "SELECT merged_into FROM deals WHERE id = ?1" },
		{ "interactions", "SELECT merged_into FROM interactions WHERE id = ?1" },
		{ "tasks", "SELECT merged_into FROM tasks WHERE id = ?1" },
		{ "users", "SELECT merged_into FROM users WHERE id = ?1" },
		{ "products", "SELECT merged_into FROM products WHERE id = ?1" },
	};
	const char *sql = NULL;
	struct crm_stmt *st;
	struct crm_err e;
	int found = 0, rc = 0;

	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++)
		if (!strcmp(sqls[i][0], t->table))
			sql = sqls[i][1];
	if (!sql || !(st = crm_store_stmt(db, sql, &e)))
		return -1;
	for (int depth = 0; depth < 32; depth++) {
		crm_stmt_bind_text(st, 1, id, (size_t)-1);
		if ((rc = crm_stmt_step(st, &e)) <= 0)
			break;
		found = found ? 2 : 1;
		if (crm_stmt_type(st, 0) == CRM_NULL)
			break;
		snprintf(id, CRM_ID_MAX, "%s", crm_stmt_text(st, 0));
		crm_stmt_reset(st);
	}
	crm_store_stmt_done(st);
	return rc < 0 ? -1 : found;
}

int crm_merge_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e)
{
	return crm_store_prepare(db, "SELECT id, entity, survivor_id, merged_id, probability, weight, reason, "
				 "status, decisions, created_at, undone_at FROM merges ORDER BY created_at, id",
				 0, st, e);
}
