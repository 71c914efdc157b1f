/*
 * seal.c - seal a database that holds people's data in clear.
 *
 * Tables are walked in rowid order (on PostgreSQL, by primary key), a batch of rows per transaction; each row
 * that needs it is rewritten in one UPDATE. What is sealed already is
 * left as it is, so a rerun after a kill only finishes the work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypt.h"
#include "entity.h"
#include "id.h"
#include "seal.h"
#include "store/store.h"

static int sealed(const char *s)
{
	return s && !strncmp(s, CRM_ENC_PREFIX, strlen(CRM_ENC_PREFIX));
}

int crm_seal_person_key(struct crm_store *db, struct crm_crypt *cc, const char *id, uint64_t *dk,
			int *given, struct crm_err *e)
{
	struct crm_stmt *q;
	int found = 0, rc;

	*dk = 0;
	*given = 0;
	if (id) {
		if (!(q = crm_store_stmt(db, "SELECT dk FROM contacts WHERE id = ?1", e)))
			return -1;
		crm_stmt_bind_text_ref(q, 1, id, (size_t)-1);
		if ((rc = crm_stmt_step(q, e)) == 1) {
			found = 1;
			*dk = (uint64_t)crm_stmt_int64(q, 0);
		}
		crm_store_stmt_done(q);
		if (rc < 0)
			return -1;
	}
	if (*dk)
		return 0;
	if (crm_crypt_new_key(cc, dk, e) < 0)
		return -1;
	if (found) {
		if (!(q = crm_store_stmt(db, "UPDATE contacts SET dk = ?1 WHERE id = ?2 AND dk IS NULL", e)))
			return -1;
		crm_stmt_bind_int64(q, 1, (long long)*dk);
		crm_stmt_bind_text_ref(q, 2, id, (size_t)-1);
		rc = crm_stmt_step(q, e);
		crm_store_stmt_done(q);
		if (rc < 0)
			return -1;
		*given = 1;
	}
	return 0;
}

static int contact_key(struct crm_store *db, struct crm_crypt *cc, const char *id, uint64_t *dk,
		       struct crm_seal_stats *st, struct crm_err *e)
{
	int given;

	if (crm_seal_person_key(db, cc, id, dk, &given, e) < 0)
		return -1;
	st->keys += given;
	return 0;
}

/* One column's new value, for the row's UPDATE. */
struct set {
	const char *col;
	char *val;		/* owned; NULL binds NULL */
	int blob;
	size_t n;
};

struct change {
	struct set s[32];
	size_t n;
};

static int change_add(struct change *c, const char *col, const void *v, size_t n, int blob)
{
	char *p;

	if (c->n == sizeof(c->s) / sizeof(c->s[0]))
		return -1;
	if (!(p = malloc(n + 1)))
		return -1;
	memcpy(p, v, n);
	p[n] = 0;
	c->s[c->n].col = col;
	c->s[c->n].val = p;
	c->s[c->n].blob = blob;
	c->s[c->n].n = n;
	c->n++;
	return 0;
}

static void change_free(struct change *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->s[i].val);
	c->n = 0;
}


/* UPDATE table SET the changed columns WHERE the row is row r's (its
 * order_col in column 0 of r). */
static int change_write(struct crm_store *db, const char *table, struct crm_stmt *r, struct change *c,
			struct crm_seal_stats *st, struct crm_err *e)
{
	struct crm_buf sql;
	struct crm_stmt *q;
	int rc;

	if (!c->n)
		return 0;
	crm_buf_init(&sql, 0);
	crm_buf_addf(&sql, "UPDATE %s SET ", table);
	for (size_t i = 0; i < c->n; i++)
		crm_buf_addf(&sql, "%s%s = ?%zu", i ? ", " : "", c->s[i].col, i + 1);
	if (crm_buf_addf(&sql, " WHERE %s = ?%zu", crm_store_rowid_of(db, table), c->n + 1) < 0) {
		crm_buf_release(&sql);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	q = crm_store_stmt_text(db, sql.data, e);
	crm_buf_release(&sql);
	if (!q)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		if (c->s[i].blob)
			crm_stmt_bind_blob(q, (int)i + 1, c->s[i].val, c->s[i].n);
		else
			crm_stmt_bind_text_ref(q, (int)i + 1, c->s[i].val, c->s[i].n);
	}
	if (crm_stmt_type(r, 0) == CRM_INTEGER)
		crm_stmt_bind_int64(q, (int)c->n + 1, crm_stmt_int64(r, 0));
	else
		crm_stmt_bind_text(q, (int)c->n + 1, crm_stmt_text(r, 0), (size_t)-1);
	rc = crm_stmt_step(q, e);
	crm_store_stmt_done(q);
	if (rc < 0)
		return -1;
	st->rows++;
	return 0;
}

/* Seal text v as table.col of row id under dk into the change. */
static int seal_into(struct crm_crypt *cc, uint64_t dk, const char *table, const char *col,
		     const char *id, const void *v, size_t n, const char *wrap, struct change *c,
		     struct crm_seal_stats *st, struct crm_err *e)
{
	struct crm_buf b;
	int rc;

	crm_buf_init(&b, 0);
	if ((wrap && crm_buf_adds(&b, wrap) < 0) ||
	    crm_crypt_seal(cc, dk, table, col, id, v, n, &b, e) < 0 ||
	    (wrap && crm_buf_adds(&b, wrap) < 0)) {
		crm_buf_release(&b);
		return *e->msg ? -1 : crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	/* A sealed cell of a BLOB column stays a blob (the transcript's
	 * compressed body): one storage class per column, on every backend. */
	rc = change_add(c, col, b.data, b.len, !strcmp(table, "transcripts") && !strcmp(col, "body"));
	crm_buf_release(&b);
	if (rc < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	st->cells++;
	return 0;
}

/* A merge keeps the other record's emails and phones in attrs: each
 * sealed as the row's own email and phone would be. */
static int seal_alternates(struct crm_store *db, struct crm_crypt *cc, const struct crm_entity *t,
			   const char *id, uint64_t *dk, json_t *o, int *changed,
			   struct crm_seal_stats *st, struct crm_err *e)
{
	static const char *const keys[][2] = { { "emails", "email" }, { "phones", "phone" } };

	for (size_t k = 0; json_is_object(o) && k < 2; k++) {
		json_t *arr = json_object_get(o, keys[k][0]), *v;
		size_t i;

		json_array_foreach(arr, i, v) {
			const char *s = json_string_value(v);
			struct crm_buf b;

			if (!s || !*s || sealed(s))
				continue;
			if (!*dk && contact_key(db, cc, id, dk, st, e) < 0)
				return -1;
			crm_buf_init(&b, 0);
			if (crm_crypt_seal(cc, *dk, t->table, keys[k][1], id, s, strlen(s), &b, e) < 0) {
				crm_buf_release(&b);
				return -1;
			}
			json_array_set_new(arr, i, json_stringn(b.data, b.len));
			crm_buf_release(&b);
			st->cells++;
			*changed = 1;
		}
	}
	return 0;
}

/* The same for a row's attrs text, into the row's change. */
static int seal_attrs(struct crm_store *db, struct crm_crypt *cc, const struct crm_entity *t,
		      const char *id, uint64_t *dk, const char *attrs, struct change *c,
		      struct crm_seal_stats *st, struct crm_err *e)
{
	json_t *o = json_loads(attrs, 0, NULL);
	int changed = 0, rc;

	rc = seal_alternates(db, cc, t, id, dk, o, &changed, st, e);
	if (rc == 0 && changed) {
		char *text = json_dumps(o, JSON_COMPACT);

		if (!text || change_add(c, "attrs", text, strlen(text), 0) < 0)
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		free(text);
	}
	json_decref(o);
	return rc;
}

/*
 * Contacts, interactions, tasks: each personal cell sealed under the
 * person's key, the natural key replaced by its blind index, and for
 * contacts the blind indexes of email and phone.
 */
static int seal_row(struct crm_store *db, struct crm_crypt *cc, const struct crm_entity *t,
		    struct crm_stmt *r, struct crm_seal_stats *st, struct crm_err *e)
{
	struct change c = { .n = 0 };
	const char *id = crm_stmt_text(r, 1);
	const char *owner = crm_stmt_text(r, 2);
	const char *kind = crm_stmt_text(r, 3);
	const char *ext = crm_stmt_text(r, 4);
	const char *key = crm_stmt_text(r, 5);
	const char *source = crm_stmt_text(r, 6);
	uint64_t dk = 0;
	int col = 7, rc = -1;

	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];
		const char *v;

		if (!(f->flags & CRM_F_PERSONAL))
			continue;
		v = crm_stmt_text(r, col++);
		if (!v || !*v || sealed(v) || !crm_entity_personal(t, f, kind))
			continue;
		if (!dk && contact_key(db, cc, t->subject ? id : owner, &dk, st, e) < 0)
			goto out;
		if (seal_into(cc, dk, t->table, f->name, id, v, strlen(v), NULL, &c, st, e) < 0)
			goto out;
		if (t->subject && (!strcmp(f->name, "email") || !strcmp(f->name, "phone"))) {
			char bi[CRM_BIDX_MAX];

			if (crm_crypt_bidx_ident(cc, f->name, v, bi) < 0) {
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				goto out;
			}
			if (change_add(&c, !strcmp(f->name, "email") ? "email_bi" : "phone_bi", bi,
				       strlen(bi), 0) < 0) {
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				goto out;
			}
		}
	}
	/* A merge keeps the other record's email and phone as alternates
	 * in attrs: sealed as the row's own email and phone would be. */
	if (t->subject && crm_stmt_type(r, col) == CRM_TEXT &&
	    seal_attrs(db, cc, t, id, &dk, crm_stmt_text(r, col), &c, st, e) < 0)
		goto out;
	/* A natural key of names and emails shows them: its blind index
	 * instead, as the importer keeps with a key. A call's key is the
	 * hash of its file, not a person's data. */
	if (!ext && key && strncmp(key, "bi1:", 4) && (!source || strcmp(source, "transcribe"))) {
		char bi[CRM_BIDX_MAX];

		crm_crypt_bidx(cc, "key", key, strlen(key), bi);
		if (change_add(&c, "src_key", bi, strlen(bi), 0) < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
	}
	rc = change_write(db, t->table, r, &c, st, e);
out:
	change_free(&c);
	return rc;
}

/* A transcript: its utterances, analysis and file name, for its person. */
static int seal_transcript(struct crm_store *db, struct crm_crypt *cc, struct crm_stmt *r,
			   struct crm_seal_stats *st, struct crm_err *e)
{
	struct change c = { .n = 0 };
	const char *id = crm_stmt_text(r, 1);
	const char *contact = crm_stmt_text(r, 2);
	const void *body = crm_stmt_blob(r, 3);
	size_t nbody = crm_stmt_bytes(r, 3);
	const char *analysis = crm_stmt_text(r, 4);
	const char *file = crm_stmt_text(r, 5);
	uint64_t dk = 0, k;
	int rc = -1;

	if (body && !crm_crypt_cell_key(body, nbody, &k)) {
		if (contact_key(db, cc, contact, &dk, st, e) < 0 ||
		    seal_into(cc, dk, "transcripts", "body", id, body, nbody, NULL, &c, st, e) < 0)
			goto out;
	}
	if (analysis && analysis[0] != '"') {	/* sealed: a JSON string */
		if ((!dk && contact_key(db, cc, contact, &dk, st, e) < 0) ||
		    seal_into(cc, dk, "transcripts", "analysis", id, analysis, strlen(analysis), "\"", &c,
			      st, e) < 0)
			goto out;
	}
	if (file && *file && !sealed(file)) {
		if ((!dk && contact_key(db, cc, contact, &dk, st, e) < 0) ||
		    seal_into(cc, dk, "transcripts", "file", id, file, strlen(file), NULL, &c, st, e) < 0)
			goto out;
	}
	rc = change_write(db, "transcripts", r, &c, st, e);
out:
	change_free(&c);
	return rc;
}

/*
 * A merge snapshot keeps whole contact rows (before and after) that undo
 * writes back: their personal fields sealed for the row they restore,
 * with its key and blind indexes, as that row would hold them now.
 */
static int seal_snapshot_row(struct crm_store *db, struct crm_crypt *cc, json_t *row, int *changed,
			     struct crm_seal_stats *st, struct crm_err *e)
{
	const struct crm_entity *t = crm_entity_find("contact");
	const char *id = json_string_value(json_object_get(row, "id"));
	uint64_t dk = (uint64_t)json_integer_value(json_object_get(row, "dk"));
	const char *key = json_string_value(json_object_get(row, "src_key"));

	if (!id)
		return 0;
	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];
		const char *v = json_string_value(json_object_get(row, f->name));
		struct crm_buf b;

		if (!crm_entity_personal(t, f, NULL) || !v || !*v || sealed(v))
			continue;
		if (!dk) {
			if (contact_key(db, cc, id, &dk, st, e) < 0)
				return -1;
			json_object_set_new(row, "dk", json_integer((json_int_t)dk));
		}
		if (t->subject && (!strcmp(f->name, "email") || !strcmp(f->name, "phone"))) {
			char bi[CRM_BIDX_MAX];

			if (crm_crypt_bidx_ident(cc, f->name, v, bi) < 0)
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			json_object_set_new(row, !strcmp(f->name, "email") ? "email_bi" : "phone_bi", json_string(bi));
		}
		crm_buf_init(&b, 0);
		if (crm_crypt_seal(cc, dk, t->table, f->name, id, v, strlen(v), &b, e) < 0) {
			crm_buf_release(&b);
			return -1;
		}
		json_object_set_new(row, f->name, json_stringn(b.data, b.len));
		crm_buf_release(&b);
		st->cells++;
		*changed = 1;
	}
	if (seal_alternates(db, cc, t, id, &dk, json_object_get(row, "attrs"), changed, st, e) < 0)
		return -1;
	if (dk && !json_integer_value(json_object_get(row, "dk")))
		json_object_set_new(row, "dk", json_integer((json_int_t)dk));
	if (key && strncmp(key, "bi1:", 4) && json_is_null(json_object_get(row, "external_id"))) {
		char bi[CRM_BIDX_MAX];

		crm_crypt_bidx(cc, "key", key, strlen(key), bi);
		json_object_set_new(row, "src_key", json_string(bi));
		*changed = 1;
	}
	return 0;
}

static int seal_merge(struct crm_store *db, struct crm_crypt *cc, struct crm_stmt *r,
		      struct crm_seal_stats *st, struct crm_err *e)
{
	static const char *const parts[] = { "survivor", "merged", "after" };
	const char *snap = crm_stmt_text(r, 2);
	json_t *o;
	int changed = 0, rc = 0;

	if (!snap || strcmp(crm_stmt_text(r, 1), "contact"))
		return 0;
	if (!(o = json_loads(snap, 0, NULL)))
		return crm_err_set(e, CRM_EDATA, "merge %s: its snapshot is not JSON", crm_stmt_text(r, 3));
	for (size_t i = 0; i < 3 && rc == 0; i++) {
		json_t *row = json_object_get(o, parts[i]);

		if (json_is_object(row))
			rc = seal_snapshot_row(db, cc, row, &changed, st, e);
	}
	if (rc == 0 && changed) {
		char *text = json_dumps(o, JSON_COMPACT);
		struct change c = { .n = 0 };

		if (!text || change_add(&c, "snapshot", text, strlen(text), 0) < 0)
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		else
			rc = change_write(db, "merges", r, &c, st, e);
		change_free(&c);
		free(text);
	}
	json_decref(o);
	return rc;
}

enum { K_ROW, K_TRANSCRIPT, K_MERGE };

/* The query of a table's next batch: its order_col first, after ?1, ?2
 * rows. */
static int batch_sql(struct crm_store *db, const struct crm_entity *t, int kind, struct crm_buf *sql)
{
	const char *o = crm_store_rowid_of(db, kind == K_TRANSCRIPT ? "transcripts" : kind == K_MERGE ? "merges" : t->table);
	int rc = 0;

	if (kind == K_TRANSCRIPT)
		return crm_buf_addf(sql, "SELECT t.%s, t.interaction_id, i.contact_id, t.body, t.analysis, t.file "
				    "FROM transcripts t LEFT JOIN interactions i ON i.id = t.interaction_id "
				    "WHERE t.%s > ?1 ORDER BY t.%s LIMIT ?2", o, o, o);
	if (kind == K_MERGE)
		return crm_buf_addf(sql, "SELECT %s, entity, snapshot, id FROM merges "
				    "WHERE %s > ?1 ORDER BY %s LIMIT ?2", o, o, o);
	rc |= crm_buf_addf(sql, "SELECT %s, id, %s, %s, external_id, src_key, source", o,
			   t->subject ? "NULL" : "contact_id",
			   crm_entity_field(t, "kind") >= 0 ? "kind" : "NULL");
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].flags & CRM_F_PERSONAL)
			rc |= crm_buf_addf(sql, ", %s", t->fields[i].name);
	if (t->subject)
		rc |= crm_buf_adds(sql, ", attrs");
	return rc | crm_buf_addf(sql, " FROM %s WHERE %s > ?1 ORDER BY %s LIMIT ?2", t->table, o, o);
}

static int seal_table(struct crm_store *db, struct crm_crypt *cc, const struct crm_entity *t, int kind,
		      long batch, struct crm_seal_stats *st,
		      void (*progress)(void *, const char *, const struct crm_seal_stats *),
		      void *arg, struct crm_err *e)
{
	const char *name = kind == K_TRANSCRIPT ? "transcripts" : kind == K_MERGE ? "merges" : t->table;
	struct crm_buf sql;
	char last[CRM_ID_MAX + 8] = "";	/* the order column of the last row done */
	int more = 1, byint = !strcmp(crm_store_rowid_of(db, name), "rowid");

	crm_buf_init(&sql, 0);
	if (batch_sql(db, t, kind, &sql) < 0) {
		crm_buf_release(&sql);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	while (more) {
		struct crm_stmt *r;
		long n = 0;
		int rc = 0, step = 0;

		if (crm_store_begin(db, e) < 0)
			goto fail;
		if (!(r = crm_store_stmt_text(db, sql.data, e))) {
			crm_store_rollback(db);
			goto fail;
		}
		if (byint)
			crm_stmt_bind_int64(r, 1, atoll(last));
		else
			crm_stmt_bind_text(r, 1, last, (size_t)-1);
		crm_stmt_bind_int64(r, 2, batch);
		while (rc == 0 && (step = crm_stmt_step(r, e)) == 1) {
			/* The row's bytes stay ours while it is rewritten:
			 * the UPDATE is another statement. */
			snprintf(last, sizeof(last), "%s", crm_stmt_text(r, 0));
			n++;
			rc = kind == K_TRANSCRIPT ? seal_transcript(db, cc, r, st, e)
			     : kind == K_MERGE ? seal_merge(db, cc, r, st, e)
			     : seal_row(db, cc, t, r, st, e);
		}
		crm_store_stmt_done(r);
		if (rc < 0 || step < 0) {
			crm_store_rollback(db);
			goto fail;
		}
		if (crm_store_commit(db, e) < 0)
			goto fail;
		st->batches++;
		crm_fault("seal-batch");
		if (progress)
			progress(arg, name, st);
		more = n == batch;
	}
	crm_buf_release(&sql);
	return 0;
fail:
	crm_buf_release(&sql);
	return -1;
}

int crm_seal_all(struct crm_store *db, long batch, struct crm_seal_stats *st,
		 void (*progress)(void *arg, const char *table, const struct crm_seal_stats *st),
		 void *arg, struct crm_err *e)
{
	static const char *const types[] = { "contact", "interaction", "task" };
	static const char *const tables[] = { "contacts", "interactions", "tasks", "transcripts",
					      "merges", NULL };
	struct crm_crypt *cc = crm_store_crypt(db);
	struct crm_buf sql;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!cc)
		return crm_err_set(e, CRM_EUSAGE, "sealing needs the master key (--key-file or CRM_KEY_FILE)");
	if (batch < 1)
		batch = 1000;
	crm_crypt_mark(db);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (seal_table(db, cc, crm_entity_find(types[i]), K_ROW, batch, st, progress, arg, e) < 0)
			return -1;
	if (seal_table(db, cc, NULL, K_TRANSCRIPT, batch, st, progress, arg, e) < 0 ||
	    seal_table(db, cc, NULL, K_MERGE, batch, st, progress, arg, e) < 0)
		return -1;
	/* What a call's rows said in clear beside the sealed cells. */
	crm_buf_init(&sql, 0);
	crm_buf_adds(&sql, "UPDATE interactions SET attrs = ");
	crm_store_json_without(db, &sql, "attrs", "'file'");
	crm_buf_adds(&sql, " WHERE kind = 'call' AND attrs -> 'file' IS NOT NULL; UPDATE tasks SET attrs = ");
	crm_store_json_without(db, &sql, "attrs", "'speaker'");
	crm_buf_adds(&sql, " WHERE origin = 'call' AND attrs -> 'speaker' IS NOT NULL");
	rc = !sql.data ? crm_err_set(e, CRM_ESOFTWARE, "out of memory") :
	     crm_store_begin(db, e) < 0 || crm_store_exec(db, sql.data, e) < 0 ||
	     crm_store_commit(db, e) < 0 ? -1 : 0;
	crm_buf_release(&sql);
	if (rc < 0) {
		crm_store_rollback(db);
		return -1;
	}
	/* The clear text is in SQLite's log, or in PostgreSQL's dead rows:
	 * written back and emptied, or vacuumed. */
	crm_store_scrub(db, tables);
	return 0;
}
