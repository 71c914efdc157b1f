/*
 * merge.c - field-level survivorship, moved links, snapshots, undo.
 *
 * The snapshot of a merge is one JSON object:
 *   {"survivor": {row before}, "merged": {row before},
 *    "after": {survivor after}, "links": [{"table","column","id"}...]}
 * Rows are built by SQLite's json_object() from every column, so a value
 * comes back from json_extract() with its type. Undo restores the merged
 * row whole, moves back the links that still point at the survivor, and
 * resets each survivor field whose value is still the one the merge gave
 * it; a field edited since keeps the edit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "crypt.h"
#include "merge.h"
#include "ndjson.h"
#include "privacy.h"
#include "store/sqlite.h"

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

struct cols {
	char **name;
	size_t n;
};

static void cols_release(struct cols *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->name[i]);
	free(c->name);
	c->name = NULL;
	c->n = 0;
}

static int table_cols(sqlite3 *db, const char *table, struct cols *c,
		      struct crm_err *e)
{
	sqlite3_stmt *st;

	c->name = NULL;
	c->n = 0;
	if (!(st = crm_db_stmt(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid")))
		return crm_db_err(db, e, "cannot read schema");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char **p = realloc(c->name, (c->n + 1) * sizeof(*p));

		if (!p || !(p[c->n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
			if (p)
				c->name = p;
			crm_db_stmt_done(db, st);
			cols_release(c);
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		c->name = p;
		c->n++;
	}
	crm_db_stmt_done(db, st);
	return 0;
}

/* A row as a JSON object of all its columns, into b; 0 found, 1 not, -1. */
static int row_snapshot(sqlite3 *db, const char *table, const struct cols *c,
			const char *id, struct crm_buf *b, struct crm_err *e)
{
	struct crm_buf sql;
	sqlite3_stmt *st;
	int rc;

	crm_buf_init(&sql, 0);
	crm_buf_adds(&sql, "SELECT json_object(");
	for (size_t i = 0; i < c->n; i++)
		crm_buf_addf(&sql, "%s'%s', %s%s%s", i ? ", " : "", c->name[i],
			     strcmp(c->name[i], "attrs") ? "" : "json(",
			     c->name[i], strcmp(c->name[i], "attrs") ? "" : ")");
	if (crm_buf_addf(&sql, ") FROM %s WHERE id = ?1", table) < 0) {
		crm_buf_release(&sql);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	st = crm_db_stmt_text(db, sql.data);
	crm_buf_release(&sql);
	if (!st)
		return crm_db_err(db, e, "cannot read record");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		crm_buf_reset(b);
		crm_buf_add(b, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 1 : crm_db_err(db, e, "cannot read record");
	}
	crm_db_stmt_done(db, st);
	return rc;
}

/* Run sql with text parameters p1..p3 (NULL: unbound); -1 with e. A
 * merge runs the same few statements each time: they are kept prepared. */
static int exec3(sqlite3 *db, const char *sql, const char *p1, const char *p2,
		 const char *p3, struct crm_err *e)
{
	const char *p[3] = { p1, p2, p3 };
	sqlite3_stmt *st = crm_db_stmt_text(db, sql);
	int rc;

	if (!st)
		return crm_db_err(db, e, "write");
	for (int i = 0; i < 3; i++)
		if (p[i])
			sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	crm_db_stmt_done(db, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : crm_db_err(db, e, "write");
}

/* One value of a query with text parameters, as a new string or NULL. */
static char *query1(sqlite3 *db, const char *sql, const char *p1,
		    const char *p2)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (!(st = crm_db_stmt_text(db, sql)))
		return NULL;
	if (p1)
		sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
	if (p2)
		sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	crm_db_stmt_done(db, st);
	return v;
}

/* Number of keys of a JSON object (counts top-level members). */
static int count_keys(const char *json)
{
	int depth = 0, n = 0, str = 0, any = 0;

	for (const char *p = json ? json : ""; *p; p++) {
		if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = 0;
			continue;
		}
		if (*p == '"') {
			str = 1;
			if (depth == 1)
				any = 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (*p == ',' && depth == 1) {
			n++;
		}
	}
	return any ? n + 1 : 0;
}

/* Do the two rows hold the same value in column i? */
static int same_value(sqlite3_stmt *x, sqlite3_stmt *y, int i)
{
	int tx = sqlite3_column_type(x, i), ty = sqlite3_column_type(y, i);

	if (tx != ty)
		return 0;
	switch (tx) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		return sqlite3_column_int64(x, i) == sqlite3_column_int64(y, i);
	case SQLITE_FLOAT:
		return sqlite3_column_double(x, i) == sqlite3_column_double(y, i);
	default:
		return sqlite3_column_bytes(x, i) == sqlite3_column_bytes(y, i) &&
		       !memcmp(sqlite3_column_blob(x, i), sqlite3_column_blob(y, i),
			       (size_t)sqlite3_column_bytes(x, i));
	}
}

static void rollback_to(sqlite3 *db, const char *name)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "ROLLBACK TO %s; RELEASE %s", name, name);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int crm_merge(sqlite3 *db, const struct crm_entity *t, const char *a,
	      const char *b, const struct crm_merge_info *info,
	      char *merge_id, char *survivor, struct crm_err *e)
{
	struct cols c = { 0 };
	struct crm_buf sa, sb, sql, dec, snap, after;
	const char *s_id, *l_id, *s_snap, *l_snap;
	char now[32], *v = NULL, owners[520] = "";
	const char *alt[2];
	int rc = -1, found, nalt = 0;

	crm_buf_init(&sa, 0);
	crm_buf_init(&sb, 0);
	crm_buf_init(&sql, 0);
	crm_buf_init(&dec, 0);
	crm_buf_init(&snap, 0);
	crm_buf_init(&after, 0);
	int sealed = crm_crypt_of(db) != NULL;

	if (!strcmp(a, b))
		return crm_err_set(e, CRM_EDATA, "cannot merge %s with itself", a);
	if (crm_db_exec(db, "SAVEPOINT crm_merge", e) < 0)
		return -1;
	if (table_cols(db, t->table, &c, e) < 0)
		goto fail;
	if ((found = row_snapshot(db, t->table, &c, a, &sa, e)) != 0) {
		if (found > 0)
			crm_err_set(e, CRM_EDATA, "no %s '%s'", t->kind, a);
		goto fail;
	}
	if ((found = row_snapshot(db, t->table, &c, b, &sb, e)) != 0) {
		if (found > 0)
			crm_err_set(e, CRM_EDATA, "no %s '%s'", t->kind, b);
		goto fail;
	}
	/* Both must still be live. */
	v = query1(db, "SELECT coalesce(json_extract(?1, '$.merged_into'), json_extract(?2, '$.merged_into'))",
		   sa.data, sb.data);
	if (v) {
		crm_err_set(e, CRM_EDATA, "%s or %s was already merged into %s", a, b, v);
		goto fail;
	}
	/* Both rows, column by column, compared in C. */
	{
		sqlite3_stmt *ra = NULL, *rb = NULL;
		int ca = 0, cb = 0, a_first, l_newer, ncol;
		int upd = 0;

		crm_buf_reset(&sql);
		crm_buf_addf(&sql, "SELECT * FROM %s WHERE id = ?1", t->table);
		if (!(ra = crm_db_stmt_text(db, sql.data)) || !(rb = crm_db_stmt_text(db, sql.data))) {
			if (ra)
				crm_db_stmt_done(db, ra);
			crm_db_err(db, e, "cannot read records");
			goto fail;
		}
		sqlite3_bind_text(ra, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(rb, 1, b, -1, SQLITE_STATIC);
		if (sqlite3_step(ra) != SQLITE_ROW || sqlite3_step(rb) != SQLITE_ROW) {
			crm_db_stmt_done(db, ra);
			crm_db_stmt_done(db, rb);
			crm_db_err(db, e, "cannot read records");
			goto fail;
		}
		ncol = sqlite3_column_count(ra);
		/* The survivor: more complete (fields, then custom fields), then older. */
		for (int i = 0; i < ncol; i++) {
			const char *col = sqlite3_column_name(ra, i);

			if (!strcmp(col, "attrs")) {
				ca += count_keys((const char *)sqlite3_column_text(ra, i));
				cb += count_keys((const char *)sqlite3_column_text(rb, i));
			} else if (!fixed_column(col)) {
				ca += sqlite3_column_type(ra, i) != SQLITE_NULL;
				cb += sqlite3_column_type(rb, i) != SQLITE_NULL;
			}
		}
		a_first = ca > cb || (ca == cb && strcmp(a, b) < 0);
		s_id = a_first ? a : b;
		l_id = a_first ? b : a;
		s_snap = a_first ? sa.data : sb.data;
		l_snap = a_first ? sb.data : sa.data;
		{
			sqlite3_stmt *ss = a_first ? ra : rb, *ls = a_first ? rb : ra;
			int ucol = -1, ccol = -1, l_older = 0;

			for (int i = 0; i < ncol; i++) {
				if (!strcmp(sqlite3_column_name(ss, i), "updated_at"))
					ucol = i;
				if (!strcmp(sqlite3_column_name(ss, i), "created_at"))
					ccol = i;
			}
			l_older = ccol >= 0 && sqlite3_column_type(ls, ccol) == SQLITE_TEXT &&
				  sqlite3_column_type(ss, ccol) == SQLITE_TEXT &&
				  strcmp((const char *)sqlite3_column_text(ls, ccol),
					 (const char *)sqlite3_column_text(ss, ccol)) < 0;
			l_newer = ucol >= 0 && sqlite3_column_type(ls, ucol) == SQLITE_TEXT &&
				  sqlite3_column_type(ss, ucol) == SQLITE_TEXT &&
				  strcmp((const char *)sqlite3_column_text(ls, ucol),
					 (const char *)sqlite3_column_text(ss, ucol)) > 0;
			/*
			 * Field by field: empty in the survivor -> the other's
			 * value; both set and different -> the more recently
			 * updated record's value, except emails and phones,
			 * where the survivor's stays and the other's is kept
			 * as an alternate in attrs.
			 */
			crm_buf_addc(&dec, '[');
			crm_buf_reset(&sql);
			crm_buf_addf(&sql, "UPDATE %s SET updated_at = updated_at", t->table);
			for (int i = 0; i < ncol; i++) {
				const char *col = sqlite3_column_name(ss, i);
				const char *from, *why;

				if (fixed_column(col) || sqlite3_column_type(ls, i) == SQLITE_NULL ||
				    same_value(ss, ls, i))
					continue;
				if (sqlite3_column_type(ss, i) == SQLITE_NULL) {
					from = "merged";
					why = "filled an empty field";
				} else if (!strcmp(col, "email") || !strcmp(col, "phone")) {
					from = "survivor";
					why = "the other kept as an alternate";
				} else if (!strcmp(col, "owner")) {
					/* Two owners: the record stays with whoever
					 * had it first, never with the newer copy. */
					from = l_older ? "merged" : "survivor";
					why = "owned first";
					snprintf(owners, sizeof(owners), "%s\x1f%s",
						 (const char *)sqlite3_column_text(ss, i),
						 (const char *)sqlite3_column_text(ls, i));
				} else if (l_newer) {
					from = "merged";
					why = "more recent";
				} else {
					from = "survivor";
					why = "more recent";
				}
				if (dec.len > 1)
					crm_buf_addc(&dec, ',');
				crm_buf_adds(&dec, "{\"field\":");
				crm_json_str(&dec, col, strlen(col));
				crm_buf_addf(&dec, ",\"from\":\"%s\",\"why\":\"%s\"}", from, why);
				if (!strcmp(from, "merged") && sealed && crm_entity_personal_column(t, col)) {
					/* A sealed cell is bound to its row: open it
					 * and seal it again for the survivor. */
					crm_buf_addf(&sql, ", \"%s\" = crm_reseal(json_extract(?1, '$.%s'), '%s', '%s', "
						     "json_extract(?1, '$.id'), ?2, coalesce(dk, json_extract(?1, '$.dk'))), "
						     "dk = coalesce(dk, json_extract(?1, '$.dk'))",
						     col, col, t->table, col);
					if (t->subject && (!strcmp(col, "email") || !strcmp(col, "phone")))
						crm_buf_addf(&sql, ", %s_bi = json_extract(?1, '$.%s_bi')", col, col);
					upd = 1;
				} else if (!strcmp(from, "merged")) {
					crm_buf_addf(&sql, ", \"%s\" = json_extract(?1, '$.%s')", col, col);
					if (!strcmp(col, "name") && t->has_name_key)
						crm_buf_adds(&sql, ", name_key = json_extract(?1, '$.name_key')");
					upd = 1;
				} else if (why[0] == 't') {
					alt[nalt++] = !strcmp(col, "email") ? "email" : "phone";
				}
			}
			crm_buf_addc(&dec, ']');
		}
		crm_db_stmt_done(db, ra);
		crm_db_stmt_done(db, rb);
		if (upd) {
			crm_buf_adds(&sql, " WHERE id = ?2");
			if (exec3(db, sql.data, l_snap, s_id, NULL, e) < 0)
				goto fail;
		}
	}
	crm_db_timestamp(now, sizeof(now));
	/* attrs.emails / attrs.phones: the other's values, once each. */
	for (int k = 0; k < nalt; k++) {
		char key[32];

		snprintf(key, sizeof(key), "$.%ss", alt[k]);
		crm_buf_reset(&sql);
		crm_buf_addf(&sql,
			"UPDATE %s SET attrs = json_set(attrs, ?1, "
			"(SELECT json_group_array(value) FROM (SELECT value FROM json_each(coalesce(json_extract(attrs, ?1), '[]')) "
			"UNION SELECT json_extract(?2, '$.%s')))) WHERE id = ?3",
			t->table, alt[k]);
		if (exec3(db, sql.data, key, l_snap, s_id, e) < 0)
			goto fail;
	}
	/* Custom fields: the survivor's win, the other's fill in. The older
	 * created_at stays: the customer has been known since then. */
	crm_buf_reset(&sql);
	crm_buf_addf(&sql,
		"UPDATE %s SET attrs = json_patch(json_extract(?1, '$.attrs'), attrs), "
		"created_at = min(created_at, json_extract(?1, '$.created_at')), updated_at = ?2 WHERE id = ?3",
		t->table);
	if (exec3(db, sql.data, l_snap, now, s_id, e) < 0)
		goto fail;
	/* Links to the merged record now point at the survivor. */
	crm_buf_adds(&snap, "{\"survivor\":");
	crm_buf_adds(&snap, s_snap);
	crm_buf_adds(&snap, ",\"merged\":");
	crm_buf_adds(&snap, l_snap);
	crm_buf_adds(&snap, ",\"links\":[");
	{
		int first = 1;

		for (size_t k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
			sqlite3_stmt *st;

			if (strcmp(links[k].kind, t->kind))
				continue;
			crm_buf_reset(&sql);
			crm_buf_addf(&sql, "SELECT id FROM %s WHERE %s = ?1 AND id != ?2",
				     links[k].table, links[k].column);
			if (!(st = crm_db_stmt_text(db, sql.data))) {
				crm_db_err(db, e, "cannot read links");
				goto fail;
			}
			sqlite3_bind_text(st, 1, l_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, s_id, -1, SQLITE_STATIC);
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *lid = (const char *)sqlite3_column_text(st, 0);

				crm_buf_addf(&snap, "%s{\"table\":\"%s\",\"column\":\"%s\",\"id\":",
					     first ? "" : ",", links[k].table, links[k].column);
				crm_json_str(&snap, lid, strlen(lid));
				crm_buf_addc(&snap, '}');
				first = 0;
			}
			crm_db_stmt_done(db, st);
			crm_buf_reset(&sql);
			crm_buf_addf(&sql, "UPDATE %s SET %s = ?1 WHERE %s = ?2 AND id != ?1",
				     links[k].table, links[k].column, links[k].column);
			if (exec3(db, sql.data, s_id, l_id, NULL, e) < 0)
				goto fail;
		}
	}
	crm_buf_adds(&snap, "]");
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "UPDATE %s SET merged_into = ?1, updated_at = ?2 WHERE id = ?3",
		     t->table);
	if (exec3(db, sql.data, s_id, now, l_id, e) < 0)
		goto fail;
	if (row_snapshot(db, t->table, &c, s_id, &after, e) != 0)
		goto fail;
	crm_buf_adds(&snap, ",\"after\":");
	crm_buf_adds(&snap, after.data);
	crm_buf_addc(&snap, '}');
	crm_id_new("m_", merge_id);
	{
		sqlite3_stmt *st;

		if (!(st = crm_db_stmt(db,
			"INSERT INTO merges (id, entity, survivor_id, merged_id, probability, weight, reason, decisions, snapshot, created_at) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"))) {
			crm_db_err(db, e, "cannot record the merge");
			goto fail;
		}
		sqlite3_bind_text(st, 1, merge_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, l_id, -1, SQLITE_STATIC);
		if (info && !isnan(info->probability))
			sqlite3_bind_double(st, 5, info->probability);
		if (info && !isnan(info->weight))
			sqlite3_bind_double(st, 6, info->weight);
		sqlite3_bind_text(st, 7, info && info->reason ? info->reason : "manual", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, dec.data, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, snap.data, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, now, -1, SQLITE_STATIC);
		found = sqlite3_step(st);
		crm_db_stmt_done(db, st);
		if (found != SQLITE_DONE) {
			crm_db_err(db, e, "cannot record the merge");
			goto fail;
		}
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
		arc = d.data ? crm_audit_append(CRM_SQ_STORE(db), actor, "merge-across-owners", t->kind, s_id, d.data, e)
			     : crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		crm_buf_release(&d);
		if (arc < 0)
			goto fail;
	}
	if (crm_db_exec(db, "RELEASE crm_merge", e) < 0)
		goto fail;
	snprintf(survivor, CRM_ID_MAX, "%s", s_id);
	rc = 0;
	goto out;
fail:
	rollback_to(db, "crm_merge");
out:
	free(v);
	cols_release(&c);
	crm_buf_release(&sa);
	crm_buf_release(&sb);
	crm_buf_release(&sql);
	crm_buf_release(&dec);
	crm_buf_release(&snap);
	crm_buf_release(&after);
	return rc;
}

int crm_merge_undo(sqlite3 *db, const char *merge_id, struct crm_err *e)
{
	const struct crm_entity *t;
	struct cols c = { 0 };
	struct crm_buf sql;
	sqlite3_stmt *st = NULL;
	char *kind = NULL, *s_id = NULL, *l_id = NULL, *snap = NULL, *v = NULL;
	char now[32];
	int rc = -1;

	crm_buf_init(&sql, 0);
	if (crm_db_exec(db, "SAVEPOINT crm_undo", e) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT entity, survivor_id, merged_id, snapshot, status FROM merges WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot read merges");
		goto fail;
	}
	sqlite3_bind_text(st, 1, merge_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		crm_err_set(e, CRM_EDATA, "no merge '%s'", merge_id);
		goto fail;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 4), "merged") != 0) {
		crm_err_set(e, CRM_EDATA, "merge '%s' was already undone", merge_id);
		goto fail;
	}
	kind = strdup((const char *)sqlite3_column_text(st, 0));
	s_id = strdup((const char *)sqlite3_column_text(st, 1));
	l_id = strdup((const char *)sqlite3_column_text(st, 2));
	snap = strdup((const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	st = NULL;
	if (!kind || !s_id || !l_id || !snap) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto fail;
	}
	t = crm_entity_find(kind);
	if (!t || table_cols(db, t->table, &c, e) < 0)
		goto fail;
	crm_buf_addf(&sql, "SELECT merged_into FROM %s WHERE id = ?1", t->table);
	v = query1(db, sql.data, s_id, NULL);
	if (v) {
		crm_err_set(e, CRM_EDATA, "%s was merged into %s since: undo that merge first",
			    s_id, v);
		goto fail;
	}
	crm_db_timestamp(now, sizeof(now));
	/* Survivor fields still as the merge left them go back. */
	for (size_t i = 0; i < c.n; i++) {
		const char *col = c.name[i];
		char path[80];

		if (!strcmp(col, "id") || !strcmp(col, "updated_at"))
			continue;
		snprintf(path, sizeof(path), "$.%s", col);
		crm_buf_reset(&sql);
		if (!strcmp(col, "attrs"))
			crm_buf_addf(&sql,
				"UPDATE %s SET attrs = json_extract(?1, '$.survivor.attrs') "
				"WHERE id = ?3 AND json(attrs) IS json_extract(?1, '$.after.attrs')",
				t->table);
		else
			crm_buf_addf(&sql,
				"UPDATE %s SET \"%s\" = json_extract(?1, '$.survivor.' || substr(?2, 3)) "
				"WHERE id = ?3 AND \"%s\" IS json_extract(?1, '$.after.' || substr(?2, 3))",
				t->table, col, col);
		if (exec3(db, sql.data, snap, path, s_id, e) < 0)
			goto fail;
	}
	/* The merged record as it was. */
	for (size_t i = 0; i < c.n; i++) {
		const char *col = c.name[i];

		if (!strcmp(col, "id"))
			continue;
		crm_buf_reset(&sql);
		crm_buf_addf(&sql, "UPDATE %s SET \"%s\" = json_extract(?1, '$.merged.%s') WHERE id = ?2",
			     t->table, col, col);
		if (exec3(db, sql.data, snap, l_id, NULL, e) < 0)
			goto fail;
	}
	/* Links that still point at the survivor go back. */
	if (sqlite3_prepare_v2(db, "SELECT json_extract(value, '$.table'), json_extract(value, '$.column'), json_extract(value, '$.id') "
			       "FROM json_each(?1, '$.links')", -1, &st, NULL) != SQLITE_OK) {
		crm_db_err(db, e, "cannot read the snapshot");
		goto fail;
	}
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *tbl = (const char *)sqlite3_column_text(st, 0);
		const char *col = (const char *)sqlite3_column_text(st, 1);
		const char *lid = (const char *)sqlite3_column_text(st, 2);
		int known = 0;

		/* Only the link tables we write: never SQL from the snapshot. */
		for (size_t k = 0; k < sizeof(links) / sizeof(links[0]); k++)
			if (!strcmp(links[k].table, tbl) && !strcmp(links[k].column, col))
				known = 1;
		if (!known)
			continue;
		crm_buf_reset(&sql);
		crm_buf_addf(&sql, "UPDATE %s SET %s = ?1 WHERE id = ?2 AND %s = ?3",
			     tbl, col, col);
		if (exec3(db, sql.data, l_id, lid, s_id, e) < 0)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	crm_buf_reset(&sql);
	crm_buf_addf(&sql, "UPDATE %s SET updated_at = ?1 WHERE id IN (?2, ?3)", t->table);
	if (exec3(db, sql.data, now, s_id, l_id, e) < 0 ||
	    exec3(db, "UPDATE merges SET status = 'undone', undone_at = ?1 WHERE id = ?2",
		  now, merge_id, NULL, e) < 0 ||
	    crm_db_exec(db, "RELEASE crm_undo", e) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rollback_to(db, "crm_undo");
out:
	sqlite3_finalize(st);
	free(kind);
	free(s_id);
	free(l_id);
	free(snap);
	free(v);
	cols_release(&c);
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
