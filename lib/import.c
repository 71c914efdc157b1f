/*
 * import.c - the upsert engine behind crm-import.
 *
 * One record goes through four steps:
 *   1. values: input cells or JSON members mapped to fields, each checked
 *      and put in canonical form (dates, numbers, emails, enums); the rest
 *      collected into an attrs object;
 *   2. references: an account name, external id, domain or contact email
 *      turned into the id of an existing record;
 *   3. key: the external id, or a natural key when there is none;
 *   4. write: INSERT ... RETURNING * for a new key; for a known key, one
 *      UPDATE whose WHERE clause holds only if some value differs, so an
 *      unchanged row is not written at all and the rows it returns tell
 *      "updated" from "unchanged".
 * Anything wrong in steps 1-3 rejects the record with a reason; nothing
 * is written for it. Rows are grouped into transactions of opts.batch
 * rows, and their NDJSON is handed to the records hook after COMMIT, so a
 * consumer never sees a record that a crash could take back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "csvread.h"
#include "id.h"
#include "store/store.h"
#include "crypt.h"
#include "import.h"
#include "trail.h"
#include "ndjson.h"
#include "row.h"

#define DEFAULT_BATCH 20000	/* about 0.2 s of write lock at full speed */
#define OUT_FLUSH_BYTES ((size_t)8 << 20)
#define MAX_FIELDS 32	/* more than any type has (user 6 ... contact 17) */
#define REFCACHE_SIZE 65536	/* entries (56 bytes each, untouched until used); power of two */
#define REFCACHE_WAYS 8		/* a key may sit in any of a set's eight */
#define KEYCACHE_MAX 256
#define CHUNK 512		/* new records written by one INSERT: fewer round trips */
/* SQLite takes at most 32,766 parameters a statement, PostgreSQL 65,535. */
_Static_assert(CHUNK * (10 + MAX_FIELDS) <= 32766, "a chunk's INSERT has too many parameters");
#define CUR(im) (&(im)->recs[(im)->npend])	/* the record being filled */
#define CHECK_EVERY 0.05	/* seconds: see rec_finish */
#define CHUNK_BYTES ((size_t)4 << 20)	/* or fewer, when they are big */
#define CRM_COL_BAD (CRM_COL_IGNORE - 1)	/* a --map naming no field */

struct refcache_ent {
	char *key;		/* source, US, value looked up */
	char id[CRM_ID_MAX];	/* "" when nothing matched... */
	unsigned gen;		/* ...as of this generation of the table */
	unsigned epoch;		/* and of the database (crm_import.epoch) */
	unsigned long used;	/* when last looked at: the set's oldest goes */
};

struct keycache_ent {
	char *key;
	int col;
};

/* Prepared statements and caches for one record type. */
struct tstate {
	const struct crm_entity *t;
	struct crm_stmt *multi, *multi_part;	/* CHUNK rows; multi_n rows */
	size_t multi_n;
	struct crm_stmt *find_key, *find_any_key, *find_id, *insert, *update,
		     *get, *by_name, *by_email, *by_domain, *set_ref,
		     *set_attr;
	struct refcache_ent cache[REFCACHE_SIZE];
	unsigned long clock;	/* look-ups, for the cache's ages */
	unsigned gen;		/* bumped by every write to the table */
	struct keycache_ent keys[KEYCACHE_MAX];
	size_t nkeys;
};

/* A self reference (an account's parent) to resolve at end of file. */
struct deferred {
	struct tstate *ts;
	int field;
	char id[CRM_ID_MAX];
	char *value, *header, *file;
	long line;
};

struct mapping {
	char *header, *field;
};

/* The record being built. */
struct rec {
	struct tstate *ts;
	int has[MAX_FIELDS];		/* field present in input */
	const char *raw[MAX_FIELDS];	/* raw input value, borrowed */
	const char *hdr[MAX_FIELDS];	/* header or key it came from */
	struct crm_buf val[MAX_FIELDS];	/* canonical text value */
	int64_t ival[MAX_FIELDS];
	double dval[MAX_FIELDS];
	const char *id, *source, *external_id;
	struct crm_buf attrs;
	int nattrs;
	struct crm_buf key;
	struct crm_buf why;
	int deferred_field;		/* field to defer, or -1 */
	int owner_default;		/* owner given by crm_import_set_owner */
	const char *file;
	long line;
	/* A queued record keeps copies of what its input no longer holds. */
	char newid[CRM_ID_MAX];
	struct crm_buf own_source, own_ext, own_hdr, own_raw;
};

struct crm_import {
	struct crm_store *db;
	int pg;				/* on PostgreSQL */
	struct crm_err dberr;		/* why the last lookup failed */
	struct crm_import_opts o;
	struct crm_import_hooks h;
	struct crm_import_stats st;
	struct tstate *ts[16];
	struct mapping *maps;
	size_t nmaps;
	struct deferred *defer;
	size_t ndefer, adefer;
	struct rec recs[CHUNK];		/* recs[npend] is being filled */
	size_t npend, pend_bytes;	/* queued new records, their size */
	struct crm_buf out;		/* NDJSON of the open batch */
	struct crm_buf cachekey;
	size_t in_batch;
	int in_tx;
	struct crm_import_stats at_begin;	/* stats when the batch began */
	struct crm_buf hdr;		/* the CSV file's header, as read */
	long hdr_line;
	char now[32];
	char *owner;			/* crm_import_set_owner */
	/* Every record read since the last commit, with its raw text: when
	 * a batch cannot be committed (the database stayed busy past
	 * --busy-timeout, the disk is full), each that did not land is
	 * rejected with its line and the reason, so the counts still add up
	 * to the input. */
	struct jent {
		long line;
		size_t off, len;
		unsigned char state;	/* JR_OPEN, JR_LANDED, JR_REJECTED */
	} *jr;
	size_t njr, ajr;
	struct crm_buf jraw;
	/* Another connection's commit (a merge, say) may have changed what
	 * any cached reference points at: the caches hold only while the
	 * database's data version (crm_store_data_version) stays, as it
	 * stood after this connection's own last commit. */
	long long last_version;
	double checked_at;	/* when cache_check last ran outside a transaction */
	unsigned epoch;
	struct crm_stmt *find_product;
	/* Encryption: the connection's keys, a contact's data key, a cell. */
	struct crm_crypt *cc;
	struct crm_stmt *dk_of;
	struct { char id[CRM_ID_MAX]; uint64_t dk; } dk_cache[512];
	long long nsuppressed;
	struct crm_buf seal;
	double last_progress;
	/* The file being read: its type and header, for the imports log. */
	const struct crm_entity *file_type;
	struct crm_buf file_cols;
};

static void rec_release(struct rec *r)
{
	for (int i = 0; i < MAX_FIELDS; i++)
		crm_buf_release(&r->val[i]);
	crm_buf_release(&r->attrs);
	crm_buf_release(&r->key);
	crm_buf_release(&r->why);
	crm_buf_release(&r->own_source);
	crm_buf_release(&r->own_ext);
	crm_buf_release(&r->own_hdr);
	crm_buf_release(&r->own_raw);
}

static void tstate_free(struct tstate *ts)
{
	if (!ts)
		return;
	crm_stmt_free(ts->multi);
	crm_stmt_free(ts->multi_part);
	crm_stmt_free(ts->find_key);
	crm_stmt_free(ts->find_any_key);
	crm_stmt_free(ts->find_id);
	crm_stmt_free(ts->insert);
	crm_stmt_free(ts->update);
	crm_stmt_free(ts->get);
	crm_stmt_free(ts->by_name);
	crm_stmt_free(ts->by_email);
	crm_stmt_free(ts->by_domain);
	crm_stmt_free(ts->set_ref);
	crm_stmt_free(ts->set_attr);
	for (size_t i = 0; i < REFCACHE_SIZE; i++)
		free(ts->cache[i].key);
	for (size_t i = 0; i < ts->nkeys; i++)
		free(ts->keys[i].key);
	free(ts);
}

static int prepare(struct crm_store *db, struct crm_stmt **st, const char *sql,
		   struct crm_err *e)
{
	return crm_store_prepare(db, sql, 0, st, e);
}

/* A write that may refuse one row: the batch goes on without it. */
static int prepare_write(struct crm_store *db, struct crm_stmt **st, const char *sql,
			 struct crm_err *e)
{
	return crm_store_prepare(db, sql, CRM_STMT_ATOMIC, st, e);
}

/* Parameter numbers in the insert and update statements. */
#define P_ID 1
#define P_SOURCE 2
#define P_EXT 3
#define P_KEY 4
#define P_FIELD(i) (5 + (int)(i))
#define P_NAMEKEY(t) (5 + (int)(t)->nfields)
#define P_ATTRS(t) (6 + (int)(t)->nfields)
#define P_NOW(t) (7 + (int)(t)->nfields)

/* Subject tables (contacts): data key and blind indexes. */
#define P_DK(t) (8 + (int)(t)->nfields)
#define P_EMAILBI(t) (9 + (int)(t)->nfields)
#define P_PHONEBI(t) (10 + (int)(t)->nfields)

#define P_ROW(t) (10 + (int)(t)->nfields)	/* parameters per row */

/* Append the columns of an insert: "(id, source, ..., updated_at)". */
static int insert_columns(const struct crm_entity *t, struct crm_buf *b)
{
	int rc = crm_buf_adds(b, "(id, source, external_id, src_key");

	for (size_t i = 0; i < t->nfields; i++)
		if (!(t->fields[i].flags & CRM_F_VIRTUAL))
			rc |= crm_buf_addf(b, ", %s", t->fields[i].name);
	if (t->has_name_key)
		rc |= crm_buf_adds(b, ", name_key");
	if (t->subject)
		rc |= crm_buf_adds(b, ", dk, email_bi, phone_bi");
	return rc | crm_buf_adds(b, ", attrs, updated_at)");
}

/* Append one row of values, its parameters numbered from base + 1. */
static int insert_tuple(const struct crm_entity *t, struct crm_buf *b, int base)
{
	char dflt[64];
	int rc = crm_buf_addf(b, "(?%d, ?%d, ?%d, ?%d", base + P_ID,
			      base + P_SOURCE, base + P_EXT, base + P_KEY);

	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];

		if (f->flags & CRM_F_VIRTUAL)
			continue;
		if (!strcmp(f->name, "created_at"))
			rc |= crm_buf_addf(b, ", coalesce(?%d, ?%d)",
					   base + P_FIELD(i), base + P_NOW(t));
		else if (crm_entity_default(f, dflt))	/* a constant of the table */
			rc |= crm_buf_addf(b, ", coalesce(?%d, '%s')",
					   base + P_FIELD(i), dflt);
		else
			rc |= crm_buf_addf(b, ", ?%d", base + P_FIELD(i));
	}
	if (t->has_name_key)
		rc |= crm_buf_addf(b, ", ?%d", base + P_NAMEKEY(t));
	if (t->subject)
		rc |= crm_buf_addf(b, ", ?%d, ?%d, ?%d", base + P_DK(t),
				   base + P_EMAILBI(t), base + P_PHONEBI(t));
	return rc | crm_buf_addf(b, ", ?%d, ?%d)", base + P_ATTRS(t),
				 base + P_NOW(t));
}

/*
 * INSERT of n rows, returning the ids of those that went in. A known key
 * is not an error here: the rows that did not go in are updated one by
 * one afterwards.
 */
static int build_insert_sql(const struct crm_entity *t, size_t n,
			    struct crm_buf *b)
{
	int rc = crm_buf_addf(b, "INSERT INTO %s ", t->table);

	rc |= insert_columns(t, b);
	rc |= crm_buf_adds(b, " VALUES ");
	for (size_t k = 0; k < n; k++) {
		if (k)
			rc |= crm_buf_adds(b, ", ");
		rc |= insert_tuple(t, b, (int)k * P_ROW(t));
	}
	return rc | crm_buf_adds(b, " ON CONFLICT (src_key, source) DO NOTHING RETURNING id");
}

static int build_update_sql(const struct crm_entity *t, struct crm_buf *upd)
{
	struct crm_buf cond;
	int rc = 0;

	crm_buf_init(&cond, 0);
	rc |= crm_buf_addf(upd, "UPDATE %s SET external_id = coalesce(external_id, ?%d)",
			   t->table, P_EXT);
	rc |= crm_buf_addf(&cond, "external_id IS DISTINCT FROM coalesce(external_id, ?%d)",
			   P_EXT);
	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];

		if (f->flags & CRM_F_VIRTUAL)
			continue;
		rc |= crm_buf_addf(upd, ", %s = coalesce(?%d, %s)", f->name,
				   P_FIELD(i), f->name);
		rc |= crm_buf_addf(&cond, " OR %s IS DISTINCT FROM coalesce(?%d, %s)",
				   f->name, P_FIELD(i), f->name);
	}
	if (t->has_name_key)
		rc |= crm_buf_addf(upd, ", name_key = coalesce(?%d, name_key)",
				   P_NAMEKEY(t));
	if (t->subject)
		rc |= crm_buf_addf(upd, ", dk = coalesce(dk, ?%d), email_bi = coalesce(?%d, email_bi), phone_bi = coalesce(?%d, phone_bi)",
				   P_DK(t), P_EMAILBI(t), P_PHONEBI(t));
	rc |= crm_buf_addf(upd,
		", attrs = json_patch(attrs, ?%d), updated_at = ?%d WHERE id = ?%d AND "
		"(%s OR attrs IS DISTINCT FROM json_patch(attrs, ?%d)) RETURNING *",
		P_ATTRS(t), P_NOW(t), P_ID, cond.data, P_ATTRS(t));
	crm_buf_release(&cond);
	return rc ? -1 : 0;
}

/*
 * The oldest record of table whose col is ?1 (live ones first, with
 * live_first): its columns what, as new text in b. On PostgreSQL
 * the matches are found first and then ordered: a plan made for any
 * value would rather walk the id index in order, filtering, through the
 * whole table.
 */
#define IDS "id, merged_into"	/* what a reference lookup reads */

static const char *first_sql(struct crm_buf *b, const struct crm_store *db, const char *what,
			     const char *table, const char *col, int live_first)
{
	crm_buf_reset(b);
	crm_store_first_where(db, b, what, table, col, live_first ? "merged_into IS NOT NULL, " : NULL);
	return b->data ? b->data : "";
}

static struct tstate *tstate_get(struct crm_import *im,
				 const struct crm_entity *t, struct crm_err *e)
{
	size_t idx = (size_t)(t - crm_entities);
	struct tstate *ts = im->ts[idx];
	struct crm_buf ins, upd, sql, q;
	struct crm_store *db = im->db;

	if (ts)
		return ts;
	/* Every --map must name a field of each type it is used with. */
	for (size_t i = 0; i < im->nmaps; i++) {
		const char *f = im->maps[i].field;

		if (strcmp(f, "attrs") && strcmp(f, "id") && strcmp(f, "source") &&
		    strcmp(f, "external_id") && crm_entity_field(t, f) < 0) {
			crm_err_set(e, CRM_EUSAGE,
				    "--map '%s=%s': %ss have no field '%s'",
				    im->maps[i].header, f, t->kind, f);
			return NULL;
		}
	}
	ts = calloc(1, sizeof(*ts));
	if (!ts) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	ts->t = t;
	crm_buf_init(&ins, 0);
	crm_buf_init(&upd, 0);
	crm_buf_init(&sql, 0);
	crm_buf_init(&q, 0);
	if (build_insert_sql(t, 1, &ins) < 0 || build_update_sql(t, &upd) < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto fail;
	}
	if (prepare_write(db, &ts->insert, ins.data, e) < 0 ||
	    prepare_write(db, &ts->update, upd.data, e) < 0)
		goto fail;
#define PREP(stmt, ...) do { \
		crm_buf_reset(&sql); \
		if (crm_buf_addf(&sql, __VA_ARGS__) < 0 || \
		    prepare(db, &ts->stmt, sql.data, e) < 0) \
			goto fail; \
	} while (0)
	PREP(find_key, "SELECT id, merged_into FROM %s WHERE source = ?1 AND src_key = ?2",
	     t->table);
	PREP(find_any_key, "%s", first_sql(&q, db, IDS, t->table, "src_key", 0));
	PREP(find_id, "SELECT id, merged_into FROM %s WHERE id = ?1", t->table);
	PREP(get, "SELECT * FROM %s WHERE id = ?1", t->table);
	crm_buf_reset(&q);
	crm_store_json_with(db, &q, "attrs", "?2", "?3");
	PREP(set_attr, "UPDATE %s SET attrs = %s WHERE id = ?1", t->table, q.data ? q.data : "");
	if (t->has_name_key)
		PREP(by_name, "%s", first_sql(&q, db, IDS, t->table, "name_key", 1));
	if (crm_entity_field(t, "email") >= 0)
		PREP(by_email, "%s", first_sql(&q, db, IDS, t->table,
					       t->subject && im->cc ? "email_bi" : "email", 1));
	if (crm_entity_field(t, "domain") >= 0)
		PREP(by_domain, "%s", first_sql(&q, db, IDS, t->table, "domain", 1));
	if (crm_entity_field(t, "parent_id") >= 0)
		PREP(set_ref, "UPDATE %s SET parent_id = ?2 WHERE id = ?1",
		     t->table);
#undef PREP
	crm_buf_release(&ins);
	crm_buf_release(&upd);
	crm_buf_release(&sql);
	crm_buf_release(&q);
	im->ts[idx] = ts;
	return ts;
fail:
	crm_buf_release(&ins);
	crm_buf_release(&upd);
	crm_buf_release(&sql);
	crm_buf_release(&q);
	tstate_free(ts);
	return NULL;
}

struct crm_import *crm_import_new(struct crm_store *db, const struct crm_import_opts *o,
				  const struct crm_import_hooks *h,
				  struct crm_err *e)
{
	struct crm_import *im = calloc(1, sizeof(*im));
	struct crm_buf sql;
	int rc;

	if (!im) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	im->db = db;
	im->cc = crm_store_crypt(db);
	if (!im->cc && crm_store_sealed(db)) {
		/* A connection that takes cells as they are (crm db). */
		crm_err_set(e, CRM_EUSAGE, "%s holds sealed cells and this connection has no key: "
			    "personal fields would be written in plain text beside them",
			    crm_store_name(db));
		free(im);
		return NULL;
	}
	if (im->cc && !im->o.dry_run)
		crm_crypt_mark(db);
	{	/* Is anyone suppressed? Most databases have no one. */
		char n[32] = "0";
		struct crm_err ign;

		crm_store_text1(db, "SELECT count(*) FROM suppressions", NULL, n, sizeof(n), &ign);
		im->nsuppressed = atoll(n);
	}
	if (o)
		im->o = *o;
	if (!im->o.source || !*im->o.source)
		im->o.source = "import";
	if (!im->o.batch)
		im->o.batch = DEFAULT_BATCH;
	if (h)
		im->h = *h;
	crm_buf_init(&im->out, 0);
	crm_buf_init(&im->jraw, 0);
	crm_buf_init(&im->file_cols, 0);
	crm_buf_init(&sql, 0);
	rc = prepare(db, &im->find_product, first_sql(&sql, db, "name", "products", "name_key", 1), e);
	crm_buf_release(&sql);
	if (rc < 0) {
		crm_import_free(im);
		return NULL;
	}
	return im;
}

static void deferred_free(struct deferred *d)
{
	free(d->value);
	free(d->header);
	free(d->file);
}

void crm_import_free(struct crm_import *im)
{
	if (!im)
		return;
	if (im->in_tx)
		crm_store_rollback(im->db);
	for (size_t i = 0; i < 16; i++)
		tstate_free(im->ts[i]);
	for (size_t i = 0; i < im->nmaps; i++) {
		free(im->maps[i].header);
		free(im->maps[i].field);
	}
	free(im->maps);
	crm_buf_release(&im->file_cols);
	for (size_t i = 0; i < im->ndefer; i++)
		deferred_free(&im->defer[i]);
	free(im->defer);
	free(im->owner);
	free(im->jr);
	crm_buf_release(&im->jraw);
	crm_buf_release(&im->hdr);
	crm_stmt_free(im->find_product);
	crm_stmt_free(im->dk_of);
	crm_buf_release(&im->seal);
	for (size_t i = 0; i < CHUNK; i++)
		rec_release(&im->recs[i]);
	crm_buf_release(&im->out);
	crm_buf_release(&im->cachekey);
	free(im);
}

const struct crm_import_stats *crm_import_stats(const struct crm_import *im)
{
	return &im->st;
}

int crm_import_set_owner(struct crm_import *im, const char *owner)
{
	char *o = NULL;

	if (owner && !(o = strdup(owner)))
		return -1;
	free(im->owner);
	im->owner = o;
	return 0;
}

int crm_import_map(struct crm_import *im, const char *spec, struct crm_err *e)
{
	const char *eq = strrchr(spec, '=');
	struct mapping *m;

	if (!eq || eq == spec || !eq[1])
		return crm_err_set(e, CRM_EUSAGE,
				   "bad mapping '%s' (want 'Header=field')", spec);
	m = realloc(im->maps, (im->nmaps + 1) * sizeof(*m));
	if (!m)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	im->maps = m;
	m += im->nmaps;
	m->header = crm_strndup(spec, (size_t)(eq - spec));
	m->field = strdup(eq + 1);
	if (!m->header || !m->field) {
		free(m->header);
		free(m->field);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	im->nmaps++;
	return 0;
}

/* Column for a header: --map first, then the type's own names. */
static int map_column(struct crm_import *im, const struct crm_entity *t,
		      const char *header, struct crm_err *e)
{
	for (size_t i = 0; i < im->nmaps; i++) {
		const char *f = im->maps[i].field;
		int col;

		if (strcmp(im->maps[i].header, header) != 0)
			continue;
		if (!strcmp(f, "attrs"))
			return CRM_COL_NONE;
		if (!strcmp(f, "id"))
			return CRM_COL_ID;
		if (!strcmp(f, "source"))
			return CRM_COL_SOURCE;
		if (!strcmp(f, "external_id"))
			return CRM_COL_EXTERNAL_ID;
		col = crm_entity_field(t, f);
		if (col < 0) {
			crm_err_set(e, CRM_EUSAGE,
				    "--map '%s=%s': %ss have no field '%s'",
				    header, f, t->kind, f);
			return CRM_COL_BAD;
		}
		return col;
	}
	return crm_entity_map_header(t, header);
}

/* Cached header -> column for NDJSON keys, which repeat every record. */
static int key_column(struct crm_import *im, struct tstate *ts,
		      const char *key, struct crm_err *e)
{
	int col;

	for (size_t i = 0; i < ts->nkeys; i++)
		if (!strcmp(ts->keys[i].key, key))
			return ts->keys[i].col;
	col = map_column(im, ts->t, key, e);
	if (ts->nkeys < KEYCACHE_MAX) {
		char *k = strdup(key);

		if (k) {
			ts->keys[ts->nkeys].key = k;
			ts->keys[ts->nkeys].col = col;
			ts->nkeys++;
		}
	}
	return col;
}

/* ---- step 1: values ---------------------------------------------------- */

static void rec_start(struct rec *r, struct tstate *ts, const char *file,
		      long line)
{
	r->ts = ts;
	memset(r->has, 0, sizeof(r->has));
	r->id = r->source = r->external_id = NULL;
	crm_buf_reset(&r->attrs);
	crm_buf_reset(&r->why);
	r->nattrs = 0;
	r->deferred_field = -1;
	r->owner_default = 0;
	r->file = file;
	r->line = line;
}

static int attr_add_raw(struct rec *r, const char *key, const char *json,
			size_t n)
{
	if (crm_buf_addc(&r->attrs, r->nattrs ? ',' : '{') < 0 ||
	    crm_json_str(&r->attrs, key, strlen(key)) < 0 ||
	    crm_buf_addc(&r->attrs, ':') < 0 ||
	    crm_buf_add(&r->attrs, json, n) < 0)
		return -1;
	r->nattrs++;
	return 0;
}

/* A CSV cell kept as a custom field: a number when it plainly is one. */
static int attr_add_text(struct rec *r, const char *key, const char *v)
{
	if (crm_buf_addc(&r->attrs, r->nattrs ? ',' : '{') < 0 ||
	    crm_json_str(&r->attrs, key, strlen(key)) < 0 ||
	    crm_buf_addc(&r->attrs, ':') < 0)
		return -1;
	r->nattrs++;
	if (crm_is_plain_number(v))
		return crm_buf_adds(&r->attrs, v);
	return crm_json_str(&r->attrs, v, strlen(v));
}

/* Record the value v of column col; -1 when out of memory. */
static int rec_set(struct rec *r, int col, const char *header, const char *v)
{
	switch (col) {
	case CRM_COL_ID:
		r->id = v;
		return 0;
	case CRM_COL_SOURCE:
		r->source = v;
		return 0;
	case CRM_COL_EXTERNAL_ID:
		r->external_id = v;
		return 0;
	case CRM_COL_IGNORE:
		return 0;
	case CRM_COL_NONE:
	case CRM_COL_ATTRS:
		return attr_add_text(r, header, v);
	}
	if (r->has[col])	/* a second column for the same field */
		return attr_add_text(r, header, v);
	r->has[col] = 1;
	r->raw[col] = v;
	r->hdr[col] = header;
	return 0;
}

static int reason(struct rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int reason(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	char tmp[CRM_ERR_MAX];

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	crm_buf_reset(&r->why);
	crm_buf_adds(&r->why, tmp);
	return -1;
}

/* Check and canonicalise every present field; -1 with r->why set. */
static int rec_normalize(struct crm_import *im, struct rec *r)
{
	const struct crm_entity *t = r->ts->t;

	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];
		struct crm_buf *b = &r->val[i];
		const char *v, *why = NULL;
		size_t at;

		if (!r->has[i])
			continue;
		v = r->raw[i];
		crm_buf_reset(b);
		if (!crm_utf8_valid(v, strlen(v), &at))
			return reason(r, "column '%s': invalid UTF-8 at byte %zu",
				      r->hdr[i], at + 1);
		switch (f->type) {
		case CRM_T_TEXT:
		case CRM_T_REF:
			if (crm_buf_adds(b, v) < 0)
				return reason(r, "out of memory");
			break;
		case CRM_T_INT:
			if (crm_parse_int(v, &r->ival[i], &why) < 0)
				return reason(r, "column '%s': %s: '%s'", r->hdr[i],
					      why, v);
			break;
		case CRM_T_REAL:
			if (crm_parse_number(v, &r->dval[i], &why) < 0)
				return reason(r, "column '%s': %s: '%s'", r->hdr[i],
					      why, v);
			break;
		case CRM_T_TIME:
			if (crm_buf_grow(b, CRM_TIME_MAX) < 0)
				return reason(r, "out of memory");
			if (crm_parse_time(v, im->o.dates, b->data, &why) < 0)
				return reason(r, "column '%s': %s: '%s'", r->hdr[i],
					      why, v);
			b->len = strlen(b->data);
			break;
		case CRM_T_EMAIL:
			if (crm_buf_grow(b, strlen(v) + 1) < 0)
				return reason(r, "out of memory");
			if (crm_norm_email(v, b->data, &why) < 0)
				return reason(r, "column '%s': %s: '%s'", r->hdr[i],
					      why, v);
			b->len = strlen(b->data);
			break;
		case CRM_T_ENUM:
			if (crm_buf_grow(b, strlen(v) + 1) < 0)
				return reason(r, "out of memory");
			if (crm_entity_enum(f, v, b->data) < 0)
				return reason(r, "column '%s': unknown %s '%s'",
					      r->hdr[i], f->name, v);
			b->len = strlen(b->data);
			if (!b->len)
				r->has[i] = 0;
			break;
		}
	}
	return 0;
}

/* Field index by name, known to exist for this type. */
static int fidx(const struct crm_entity *t, const char *name)
{
	return crm_entity_field(t, name);
}

static int set_val(struct rec *r, int i, const char *v, size_t n)
{
	crm_buf_reset(&r->val[i]);
	r->has[i] = 1;
	return crm_buf_add(&r->val[i], v, n);
}

/* Type-specific derivations: a contact's full name, a deal's outcome. */
static int rec_derive(struct crm_import *im, struct rec *r)
{
	const struct crm_entity *t = r->ts->t;
	int i;

	if (!strcmp(t->kind, "contact")) {
		int n = fidx(t, "name"), fn = fidx(t, "first_name"),
		    ln = fidx(t, "last_name");

		if (r->has[n] && !r->has[fn] && !r->has[ln]) {
			const char *full = r->val[n].data;
			const char *sp = strrchr(full, ' ');

			if (sp) {
				const char *end = sp;

				while (end > full && end[-1] == ' ')
					end--;
				if (set_val(r, fn, full, (size_t)(end - full)) < 0 ||
				    set_val(r, ln, sp + 1, strlen(sp + 1)) < 0)
					return reason(r, "out of memory");
			} else if (set_val(r, fn, full, strlen(full)) < 0) {
				return reason(r, "out of memory");
			}
		}
	} else if (!strcmp(t->kind, "deal")) {
		int st = fidx(t, "stage"), oc = fidx(t, "outcome"),
		    pr = fidx(t, "product");

		if (r->has[st] && !r->has[oc]) {
			char key[32];
			const char *s = r->val[st].data;

			if (strlen(s) < sizeof(key)) {
				crm_norm_key(s, key);
				if (!strcmp(key, "won") || !strcmp(key, "closedwon"))
					set_val(r, oc, "won", 3);
				else if (!strcmp(key, "lost") ||
					 !strcmp(key, "closedlost"))
					set_val(r, oc, "lost", 4);
			}
		}
		/* "GTXPro" in a pipeline export is the catalogue's "GTX Pro". */
		if (r->has[pr]) {
			char *key = malloc(r->val[pr].len + 1);
			struct crm_stmt *q = im->find_product;

			if (!key)
				return reason(r, "out of memory");
			crm_norm_key(r->val[pr].data, key);
			crm_stmt_bind_text_ref(q, 1, key, (size_t)-1);
			if (crm_stmt_step(q, &im->dberr) > 0) {
				const char *name = crm_stmt_text(q, 0);

				set_val(r, pr, name, strlen(name));
			}
			crm_stmt_reset(q);
			free(key);
		}
	}
	for (i = 0; i < (int)t->nfields; i++)
		if ((t->fields[i].flags & CRM_F_REQUIRED) && !r->has[i])
			return reason(r, "missing %s", t->fields[i].name);
	return 0;
}

/* ---- step 2: references ------------------------------------------------ */

/* Follow merged_into pointers from the row q just returned. */
static int follow_merges(struct tstate *ts, struct crm_stmt *q, char *id, struct crm_err *e)
{
	const char *m = crm_stmt_text(q, 1);

	snprintf(id, CRM_ID_MAX, "%s", crm_stmt_text(q, 0));
	for (int depth = 0; m && depth < 32; depth++) {
		char next[CRM_ID_MAX];

		snprintf(next, sizeof(next), "%s", m);
		crm_stmt_reset(q);
		crm_stmt_bind_text(ts->find_id, 1, next, (size_t)-1);
		if (crm_stmt_step(ts->find_id, e) <= 0) {
			crm_stmt_reset(ts->find_id);
			return 0;
		}
		snprintf(id, CRM_ID_MAX, "%s", next);
		m = crm_stmt_text(ts->find_id, 1);
		q = ts->find_id;
	}
	crm_stmt_reset(q);
	return 0;
}

/* Run q (bound) and on a row put the surviving id into id; 1 found, -1
 * with e on an error. */
static int lookup(struct tstate *ts, struct crm_stmt *q, char *id, struct crm_err *e)
{
	int rc = crm_stmt_step(q, e);

	if (rc > 0)
		follow_merges(ts, q, id, e);
	crm_stmt_reset(q);
	return rc;
}

/*
 * Resolve value v to the id of a record of ts's type: an id, an external
 * id (this source first, then any), an email, a domain, or a name.
 * Returns 1 and fills id, 0 if nothing matches, -1 on a database error.
 */
static int resolve(struct crm_import *im, struct tstate *ts, const char *source,
		   const char *v, char *id)
{
	struct refcache_ent *c;
	struct crm_buf *ck = &im->cachekey;
	int found = 0;

	/* Cache hits and misses: a sales pipeline names the same few
	 * accounts thousands of times, a lead list rarely names any. */
	crm_buf_reset(ck);
	if (crm_buf_adds(ck, source) < 0 || crm_buf_addc(ck, '\x1f') < 0 ||
	    crm_buf_adds(ck, v) < 0)
		return -1;
	{	/* set-associative: keys that share a slot do not evict each other */
		struct refcache_ent *set = &ts->cache[crm_strhash(ck->data) & (REFCACHE_SIZE - REFCACHE_WAYS)];

		c = NULL;
		for (int w = 0; w < REFCACHE_WAYS && !c; w++)
			if (set[w].key && !strcmp(set[w].key, ck->data))
				c = &set[w];
		for (int w = 0; w < REFCACHE_WAYS && !c; w++)
			if (!set[w].key)
				c = &set[w];
		if (!c) {
			c = &set[0];
			for (int w = 1; w < REFCACHE_WAYS; w++)
				if (set[w].used < c->used)
					c = &set[w];
		}
		c->used = ++ts->clock;
	}
	if (c->key && !strcmp(c->key, ck->data) && c->epoch == im->epoch) {
		if (c->id[0]) {
			memcpy(id, c->id, CRM_ID_MAX);
			return 1;
		}
		if (c->gen == ts->gen)
			return 0;
	}
	if (crm_id_valid(ts->t->prefix, v)) {
		crm_stmt_bind_text_ref(ts->find_id, 1, v, (size_t)-1);
		found = lookup(ts, ts->find_id, id, &im->dberr);
	}
	/* An address names a person: with encryption on it is looked up by
	 * its blind index only, never sent as an external id in clear. */
	int personal = im->cc && crm_entity_has_personal(ts->t) && strchr(v, '@');

	if (!found && !personal) {
		crm_stmt_bind_text_ref(ts->find_key, 1, source, (size_t)-1);
		crm_stmt_bind_text_ref(ts->find_key, 2, v, (size_t)-1);
		found = lookup(ts, ts->find_key, id, &im->dberr);
	}
	if (!found && !personal) {
		crm_stmt_bind_text_ref(ts->find_any_key, 1, v, (size_t)-1);
		found = lookup(ts, ts->find_any_key, id, &im->dberr);
	}
	if (!found && strchr(v, '@') && ts->by_email) {
		char *em = malloc(strlen(v) + 1);
		const char *why;

		if (em && crm_norm_email(v, em, &why) == 0) {
			char bi[CRM_BIDX_MAX];

			if (ts->t->subject && im->cc)
				crm_crypt_bidx(im->cc, "email", em, strlen(em), bi);
			crm_stmt_bind_text(ts->by_email, 1, ts->t->subject && im->cc ? bi : em,
					   (size_t)-1);
			found = lookup(ts, ts->by_email, id, &im->dberr);
		}
		free(em);
	}
	if (!found && ts->by_domain && strchr(v, '.') && !strchr(v, ' ')) {
		crm_stmt_bind_text_ref(ts->by_domain, 1, v, (size_t)-1);
		found = lookup(ts, ts->by_domain, id, &im->dberr);
	}
	if (!found && ts->by_name) {
		char *key = malloc(strlen(v) + 1);

		if (!key)
			return -1;
		crm_norm_key(v, key);
		if (*key) {
			crm_stmt_bind_text(ts->by_name, 1, key, (size_t)-1);
			found = lookup(ts, ts->by_name, id, &im->dberr);
		}
		free(key);
	}
	if (found < 0)
		return -1;
	if (!c->key || strcmp(c->key, ck->data) != 0) {
		free(c->key);
		c->key = strdup(ck->data);
	}
	if (c->key) {
		if (found)
			memcpy(c->id, id, CRM_ID_MAX);
		else
			c->id[0] = '\0';
		c->gen = ts->gen;
		c->epoch = im->epoch;
	}
	return found;
}

/* The database's version as cache_check compares it. */
static int data_version(struct crm_import *im, long long *v)
{
	struct crm_err e;

	return crm_store_data_version(im->db, v, &e);
}

/* Drop every cached reference if another connection wrote since. */
static void cache_check(struct crm_import *im)
{
	long long v;

	if (data_version(im, &v) < 0)
		return;
	if (v != im->last_version)
		im->epoch++;
	im->last_version = v;
}

static int rec_resolve(struct crm_import *im, struct rec *r, const char *source)
{
	const struct crm_entity *t = r->ts->t;
	struct crm_err e;

	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];
		struct tstate *target;
		char id[CRM_ID_MAX];
		int rc;

		if (f->type != CRM_T_REF)
			continue;
		if (!r->has[i]) {
			/* A contact's company names its account when it can. */
			int co = !strcmp(t->kind, "contact") ? fidx(t, "company") : -1;

			if (co < 0 || !r->has[co])
				continue;
			target = tstate_get(im, crm_entity_find(f->arg), &e);
			if (!target)
				return reason(r, "%s", e.msg);
			rc = resolve(im, target, source, r->val[co].data, id);
			if (rc < 0)
				return reason(r, "lookup failed: %s", im->dberr.msg);
			if (rc == 1 && set_val(r, (int)i, id, strlen(id)) < 0)
				return reason(r, "out of memory");
			continue;
		}
		target = tstate_get(im, crm_entity_find(f->arg), &e);
		if (!target)
			return reason(r, "%s", e.msg);
		rc = resolve(im, target, source, r->val[i].data, id);
		if (rc < 0)
			return reason(r, "lookup failed: %s", im->dberr.msg);
		if (rc == 0) {
			if (f->flags & CRM_F_DEFERRED) {
				r->deferred_field = (int)i;
				r->has[i] = 0;
				continue;
			}
			if (f->flags & CRM_F_SOFT) {
				r->has[i] = 0;
				continue;
			}
			return reason(r, "column '%s': unknown %s '%s'", r->hdr[i],
				      f->arg, r->val[i].data);
		}
		if (set_val(r, (int)i, id, strlen(id)) < 0)
			return reason(r, "out of memory");
	}
	return 0;
}

/* ---- step 3: key ----------------------------------------------------- */

static int rec_key(struct rec *r)
{
	const struct crm_entity *t = r->ts->t;
	struct crm_buf *k = &r->key;
	int i;

	crm_buf_reset(k);
	if (r->external_id && *r->external_id)
		return crm_buf_adds(k, r->external_id);
	if ((i = crm_entity_field(t, "email")) >= 0 && r->has[i])
		return crm_buf_addf(k, "email:%s", r->val[i].data);
	if ((i = crm_entity_field(t, "domain")) >= 0 && r->has[i])
		return crm_buf_addf(k, "domain:%s", r->val[i].data);
	if (t->has_name_key) {
		i = fidx(t, "name");
		if (r->has[i]) {
			if (crm_buf_grow(k, 5 + r->val[i].len) < 0)
				return -1;
			crm_buf_adds(k, "name:");
			crm_norm_key(r->val[i].data, k->data + k->len);
			k->len += strlen(k->data + k->len);
			return 0;
		}
	}
	if ((i = crm_entity_field(t, "phone")) >= 0 && r->has[i]) {
		crm_buf_adds(k, "phone:");
		for (const char *p = r->val[i].data; *p; p++)
			if ((*p >= '0' && *p <= '9') || (*p == '+' && p == r->val[i].data))
				crm_buf_addc(k, *p);
		if (k->len > 8)
			return 0;
		crm_buf_reset(k);
	}
	{
		struct crm_hash h;
		char hex[33];
		int any = 0;

		int whole = t->whole_row_key;

		crm_hash_init(&h);
		if (whole && r->nattrs)
			crm_hash_add(&h, r->attrs.data, r->attrs.len);
		for (size_t f = 0; f < t->nfields; f++) {
			if (!whole && !(t->fields[f].flags & CRM_F_IDENTITY))
				continue;
			if (t->fields[f].flags & CRM_F_VIRTUAL)
				continue;
			if (r->has[f]) {
				any = 1;
				if (t->fields[f].type == CRM_T_TEXT) {
					/* "Ann Lee" and "ann  lee" are one key. */
					char *nk = malloc(r->val[f].len + 1);

					if (!nk)
						return -1;
					crm_norm_key(r->val[f].data, nk);
					crm_hash_add(&h, nk, strlen(nk));
					free(nk);
				} else {
					crm_hash_add(&h, r->val[f].data, r->val[f].len);
				}
			} else {
				crm_hash_add(&h, "", 0);
			}
		}
		if (!any)
			return 1;
		crm_hash_hex(&h, hex);
		return crm_buf_addf(k, "h:%s", hex);
	}
}

/* ---- step 4: write ----------------------------------------------------- */

/*
 * The data key r's cells are sealed under, as row id: a contact's own (a
 * new one for a new contact), an interaction's or task's that of its
 * contact; a fresh one when there is none. 0 when nothing is sealed.
 */
static int rec_dk(struct crm_import *im, struct rec *r, const char *id,
		  int existing, uint64_t *dk, struct crm_err *e)
{
	const struct crm_entity *t = r->ts->t;
	const char *owner = NULL;
	int ci;

	*dk = 0;
	if (!im->cc || !crm_entity_has_personal(t))
		return 0;
	if (t->subject && existing)
		owner = id;
	else if (!t->subject && (ci = crm_entity_field(t, "contact_id")) >= 0 && r->has[ci])
		owner = r->val[ci].data;
	if (owner) {
		/* A contact's data key, once set, never changes: cached. */
		size_t slot = crm_strhash(owner) % (sizeof(im->dk_cache) / sizeof(im->dk_cache[0]));

		if (!strcmp(im->dk_cache[slot].id, owner)) {
			*dk = im->dk_cache[slot].dk;
			return 0;
		}
		if (!im->dk_of && prepare(im->db, &im->dk_of,
				"SELECT dk FROM contacts WHERE id = ?1", e) < 0)
			return -1;
		crm_stmt_bind_text_ref(im->dk_of, 1, owner, (size_t)-1);
		if (crm_stmt_step(im->dk_of, e) > 0)
			*dk = (uint64_t)crm_stmt_int64(im->dk_of, 0);
		crm_stmt_reset(im->dk_of);
		if (*dk && strlen(owner) < CRM_ID_MAX) {
			memcpy(im->dk_cache[slot].id, owner, strlen(owner) + 1);
			im->dk_cache[slot].dk = *dk;
		}
	}
	if (!*dk)
		return crm_crypt_new_key(im->cc, dk, e);
	return 0;
}

/* Bind a blind index of field f of r (email, phone) to parameter p. */
static void bind_bidx(struct crm_import *im, struct rec *r, const char *f,
		      struct crm_stmt *st, int p)
{
	int i = crm_entity_field(r->ts->t, f);
	char bi[CRM_BIDX_MAX];

	if (!im->cc || i < 0 || !r->has[i] ||
	    crm_crypt_bidx_ident(im->cc, f, r->val[i].data, bi) < 0)
		crm_stmt_bind_null(st, p);
	else
		crm_stmt_bind_text(st, p, bi, (size_t)-1);
}

/*
 * Bind r's field values to st, parameters numbered from base + 1, for the
 * row id whose cells are sealed under data key dk (0: none). -1 when a
 * cell cannot be sealed (e).
 */
static int bind_fields(struct crm_import *im, struct rec *r, struct crm_stmt *st,
		       int base, const char *id, uint64_t dk, struct crm_err *e)
{
	const struct crm_entity *t = r->ts->t;
	int ki = dk ? crm_entity_field(t, "kind") : -1;
	const char *kind = ki >= 0 && r->has[ki] ? r->val[ki].data : NULL;

	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];
		int p = base + P_FIELD(i);

		if (f->flags & CRM_F_VIRTUAL)
			continue;
		if (!r->has[i]) {
			crm_stmt_bind_null(st, p);
		} else if (dk && crm_entity_personal(t, f, kind)) {
			crm_buf_reset(&im->seal);
			if (crm_crypt_seal(im->cc, dk, t->table, f->name, id, r->val[i].data,
					   r->val[i].len, &im->seal, e) < 0)
				return -1;
			crm_stmt_bind_text(st, p, im->seal.data, im->seal.len);
		} else if (f->type == CRM_T_INT) {
			crm_stmt_bind_int64(st, p, r->ival[i]);
		} else if (f->type == CRM_T_REAL) {
			crm_stmt_bind_double(st, p, r->dval[i]);
		} else {
			crm_stmt_bind_text_ref(st, p, r->val[i].data, r->val[i].len);
		}
	}
	if (t->has_name_key) {
		int n = fidx(t, "name");

		if (r->has[n]) {
			/* The key is never longer than the name. */
			char *key = malloc(r->val[n].len + 1);

			if (key) {
				crm_norm_key(r->val[n].data, key);
				crm_stmt_bind_text(st, base + P_NAMEKEY(t), key, (size_t)-1);
				free(key);
			}
		} else {
			crm_stmt_bind_null(st, base + P_NAMEKEY(t));
		}
	}
	crm_stmt_bind_text_ref(st, base + P_ATTRS(t), r->nattrs ? r->attrs.data : "{}",
			       (size_t)-1);
	crm_stmt_bind_text_ref(st, base + P_NOW(t), im->now, (size_t)-1);
	if (r->external_id && *r->external_id)
		crm_stmt_bind_text_ref(st, base + P_EXT, r->external_id, (size_t)-1);
	else
		crm_stmt_bind_null(st, base + P_EXT);
	if (t->subject) {
		if (dk)
			crm_stmt_bind_int64(st, base + P_DK(t), (long long)dk);
		else
			crm_stmt_bind_null(st, base + P_DK(t));
		bind_bidx(im, r, "email", st, base + P_EMAILBI(t));
		bind_bidx(im, r, "phone", st, base + P_PHONEBI(t));
	}
	return 0;
}

/*
 * A record whose cells cannot be sealed because of its own data key (the
 * contact it belongs to has a key the key store lacks, or erased) is
 * rejected with why: 1. Anything else stops the import: -1.
 */
static int key_failed(struct rec *r, struct crm_err *e)
{
	if (e->code != CRM_EDATA && e->code != CRM_ENOINPUT)
		return -1;
	reason(r, "%s", e->msg);
	crm_err_clear(e);
	return 1;
}

/* Bind everything a new row of r needs, with id. */
static int bind_insert(struct crm_import *im, struct rec *r, const char *id,
		       struct crm_stmt *st, int base, struct crm_err *e)
{
	uint64_t dk;

	crm_stmt_bind_text_ref(st, base + P_ID, id, (size_t)-1);
	crm_stmt_bind_text_ref(st, base + P_SOURCE, r->source, (size_t)-1);
	crm_stmt_bind_text_ref(st, base + P_KEY, r->key.data, r->key.len);
	if (rec_dk(im, r, id, 0, &dk, e) < 0)
		return -1;
	return bind_fields(im, r, st, base, id, dk, e);
}

enum { JR_OPEN, JR_LANDED, JR_REJECTED };

static int journal_add(struct crm_import *im, long line, const char *raw, size_t len)
{
	if (im->njr == im->ajr) {
		size_t na = im->ajr ? im->ajr * 2 : 256;
		struct jent *j = realloc(im->jr, na * sizeof(*j));

		if (!j)
			return -1;
		im->jr = j;
		im->ajr = na;
	}
	im->jr[im->njr].line = line;
	im->jr[im->njr].off = im->jraw.len;
	im->jr[im->njr].len = len;
	im->jr[im->njr].state = JR_OPEN;
	if (crm_buf_add(&im->jraw, raw, len) < 0)
		return -1;
	im->njr++;
	return 0;
}

/* The record of line has landed or was rejected (the latest such). */
static void journal_mark(struct crm_import *im, long line, int state)
{
	for (size_t i = im->njr; i-- > 0;)
		if (im->jr[i].line == line && im->jr[i].state == JR_OPEN) {
			im->jr[i].state = (unsigned char)state;
			return;
		}
}

/* After a commit: only the records still to be written stay. */
static void journal_committed(struct crm_import *im)
{
	size_t k = 0;
	struct crm_buf b;

	for (size_t i = 0; i < im->njr; i++)
		if (im->jr[i].state == JR_OPEN)
			k++;
	if (!k) {
		im->njr = 0;
		crm_buf_reset(&im->jraw);
		return;
	}
	crm_buf_init(&b, 0);
	k = 0;
	for (size_t i = 0; i < im->njr; i++) {
		if (im->jr[i].state != JR_OPEN)
			continue;
		if (crm_buf_add(&b, im->jraw.data + im->jr[i].off, im->jr[i].len) < 0)
			break;	/* out of memory: keep the journal as it is */
		im->jr[k] = im->jr[i];
		im->jr[k].off = b.len - im->jr[i].len;
		k++;
	}
	if (k == 0 || b.len) {
		crm_buf_release(&im->jraw);
		im->jraw = b;
		im->njr = k;
	} else {
		crm_buf_release(&b);
	}
}

static int batch_commit(struct crm_import *im, struct crm_err *e)
{
	if (!im->in_tx)
		return 0;
	if (im->o.dry_run) {
		crm_store_rollback(im->db);
	} else if (crm_store_commit(im->db, e) < 0) {
		/* Still "in" the batch: the caller counts its rows as lost. */
		char msg[CRM_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		crm_err_set(e, e->code, "%s: commit: %s", crm_store_name(im->db), msg);
		return -1;
	}
	/* Our own writes are not another connection's. */
	data_version(im, &im->last_version);
	im->in_tx = 0;
	im->in_batch = 0;
	journal_committed(im);
	if (im->out.len && im->h.records &&
	    im->h.records(im->h.ctx, im->out.data, im->out.len) < 0) {
		crm_buf_reset(&im->out);
		return crm_err_set(e, CRM_EIO, "write error");
	}
	crm_buf_reset(&im->out);
	return 0;
}

static int batch_begin(struct crm_import *im, struct crm_err *e)
{
	if (im->in_tx)
		return 0;
	if (crm_store_begin(im->db, e) < 0)
		return -1;
	im->in_tx = 1;
	cache_check(im);
	im->at_begin = im->st;
	crm_timestamp(im->now, sizeof(im->now));
	return 0;
}

static int push_deferred(struct crm_import *im, struct rec *r, const char *id)
{
	struct deferred *d;
	int f = r->deferred_field;

	if (im->ndefer == im->adefer) {
		size_t n = im->adefer ? im->adefer * 2 : 64;

		d = realloc(im->defer, n * sizeof(*d));
		if (!d)
			return -1;
		im->defer = d;
		im->adefer = n;
	}
	d = &im->defer[im->ndefer];
	d->ts = r->ts;
	d->field = f;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->value = strdup(r->val[f].data);
	d->header = strdup(r->hdr[f]);
	d->file = strdup(r->file);
	d->line = r->line;
	if (!d->value || !d->header || !d->file) {
		deferred_free(d);
		return -1;
	}
	im->ndefer++;
	return 0;
}

/*
 * The NDJSON of a record just inserted, from the values bound: the same
 * keys in the same order as crm_row_json() gives for a row read back.
 */
static int insert_json(struct crm_import *im, struct rec *r, const char *id,
		       const char *source)
{
	const struct crm_entity *t = r->ts->t;
	struct crm_buf *b = &im->out;
	size_t start = b->len;
	int rc = 0, created = -1;

	rc |= crm_buf_adds(b, "{\"type\":");
	rc |= crm_json_str(b, t->kind, strlen(t->kind));
	rc |= crm_buf_adds(b, ",\"status\":\"inserted\",\"id\":");
	rc |= crm_json_str(b, id, strlen(id));
	rc |= crm_buf_adds(b, ",\"source\":");
	rc |= crm_json_str(b, source, strlen(source));
	if (r->external_id && *r->external_id) {
		rc |= crm_buf_adds(b, ",\"external_id\":");
		rc |= crm_json_str(b, r->external_id, strlen(r->external_id));
	}
	for (size_t i = 0; i < t->nfields; i++) {
		const struct crm_field *f = &t->fields[i];

		if (!strcmp(f->name, "created_at")) {
			created = (int)i;
			continue;
		}
		if (f->flags & CRM_F_VIRTUAL)
			continue;
		if (!r->has[i]) {
			char dflt[64];

			if (crm_entity_default(f, dflt)) {
				rc |= crm_json_key(b, f->name);
				rc |= crm_json_str(b, dflt, strlen(dflt));
			}
			continue;
		}
		rc |= crm_json_key(b, f->name);
		if (f->type == CRM_T_INT)
			rc |= crm_json_int(b, r->ival[i]);
		else if (f->type == CRM_T_REAL)
			rc |= crm_json_num(b, r->dval[i]);
		else
			rc |= crm_json_str(b, r->val[i].data, r->val[i].len);
	}
	rc |= crm_buf_adds(b, ",\"attrs\":");
	rc |= crm_buf_adds(b, r->nattrs ? r->attrs.data : "{}");
	rc |= crm_buf_adds(b, ",\"created_at\":");
	if (created >= 0 && r->has[created])
		rc |= crm_json_str(b, r->val[created].data, r->val[created].len);
	else
		rc |= crm_json_str(b, im->now, strlen(im->now));
	rc |= crm_buf_adds(b, ",\"updated_at\":");
	rc |= crm_json_str(b, im->now, strlen(im->now));
	rc |= crm_buf_add(b, "}\n", 2);
	if (rc) {
		b->len = start;
		return -1;
	}
	return 0;
}

/* Run the bound write st to its end: 0, or -1 with why in *err (a
 * refused row takes back only itself: prepare_write). */
static int write_run(struct crm_stmt *st, struct crm_err *err)
{
	int rc;

	while ((rc = crm_stmt_step(st, err)) > 0)
		;
	crm_stmt_reset(st);
	return rc;
}

/* A write failed with err: reject the record on a constraint (the
 * database's words, without the "step: " of the call), else fatal. */
static int write_failed(struct rec *r, const struct crm_err *err, struct crm_err *e)
{
	const char *why = strstr(err->msg, "step: ");

	if (err->code == CRM_EDATA)
		return reason(r, "%s", why ? why + 6 : err->msg), 1;
	*e = *err;
	return -1;
}

/* Count a record that landed as status, under id; -1 when out of memory. */
static int land(struct crm_import *im, struct rec *r, const char *id,
		const char *status)
{
	if (status[0] == 'i')
		im->st.inserted++;
	else if (status[0] == 'u' && status[2] == 'd')
		im->st.updated++;
	else
		im->st.unchanged++;
	if (status[2] != 'c')	/* not "unchanged": lookups may now differ */
		r->ts->gen++;
	im->in_batch++;
	journal_mark(im, r->line, JR_LANDED);
	if (r->deferred_field >= 0 && push_deferred(im, r, id) < 0)
		return -1;
	return 0;
}

/*
 * r's key or id is known as id: update that record with r's values.
 * Returns 0 when it landed, 1 when rejected (r->why), -1 on fatal error.
 */
static int write_existing(struct crm_import *im, struct rec *r, const char *id,
			  struct crm_err *e)
{
	struct tstate *ts = r->ts;
	struct crm_stmt *st = ts->update;
	const char *status = NULL;
	struct crm_err err = { 0 };
	uint64_t dk;
	int rc;

	if (im->h.may_update) {
		rc = im->h.may_update(im->h.ctx, ts->t, id);
		if (rc < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "cannot check who may change %s %s",
					   ts->t->kind, id);
		if (rc == 0)
			return reason(r, "conflict: this key belongs to a %s you cannot change",
				      ts->t->kind), 1;
	}
	/* A default owner is for new records: a found one keeps its own. */
	if (r->owner_default)
		r->has[crm_entity_field(ts->t, "owner")] = 0;
	if (rec_dk(im, r, id, 1, &dk, e) < 0 ||
	    bind_fields(im, r, st, 0, id, dk, e) < 0)
		return key_failed(r, e);
	crm_stmt_bind_text_ref(st, P_ID, id, (size_t)-1);
	rc = crm_stmt_step(st, &err);
	if (rc > 0) {
		status = "updated";
		if (im->o.records && crm_row_json(&im->out, st, ts->t->kind, status) < 0) {
			crm_stmt_reset(st);
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		rc = crm_stmt_step(st, &err);
	}
	crm_stmt_reset(st);
	if (rc < 0)
		return write_failed(r, &err, e);
	if (!status) {
		status = "unchanged";
		if (im->o.records) {
			crm_stmt_bind_text_ref(ts->get, 1, id, (size_t)-1);
			rc = crm_stmt_step(ts->get, e);
			if (rc > 0 && crm_row_json(&im->out, ts->get, ts->t->kind, status) < 0)
				rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			crm_stmt_reset(ts->get);
			if (rc < 0)
				return -1;
		}
	}
	if (land(im, r, id, status) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 0;
}

/*
 * Write r as one row: an update when its id or key is known (and the
 * may_update hook allows it), else an insert under newid. known says the key is known to exist: no insert is
 * tried. Returns 0, 1 (rejected, r->why) or -1 (fatal, e).
 */
static int write_one(struct crm_import *im, struct rec *r, const char *newid,
		     int known, struct crm_err *e)
{
	struct tstate *ts = r->ts;
	struct crm_stmt *st = ts->insert;
	struct crm_err err;
	char id[CRM_ID_MAX];
	int found;

	if (r->id && *r->id) {
		crm_stmt_bind_text_ref(ts->find_id, 1, r->id, (size_t)-1);
		found = lookup(ts, ts->find_id, id, e);
		if (found < 0)
			return -1;
		if (found)
			return write_existing(im, r, id, e);
		if (!r->key.len)
			return reason(r, "no %s '%s' (and nothing else identifies it)",
				      ts->t->kind, r->id), 1;
	}
	if (!known) {
		if (bind_insert(im, r, newid, st, 0, e) < 0)
			return key_failed(r, e);
		if (write_run(st, &err) < 0)
			return write_failed(r, &err, e);
	}
	if (!known && crm_stmt_changes(st) == 1) {
		if (im->o.records && insert_json(im, r, newid, r->source) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		if (land(im, r, newid, "inserted") < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return 0;
	}
	crm_stmt_bind_text_ref(ts->find_key, 1, r->source, (size_t)-1);
	crm_stmt_bind_text_ref(ts->find_key, 2, r->key.data, r->key.len);
	found = lookup(ts, ts->find_key, id, e);
	if (found < 0)
		return -1;
	if (!found)
		return reason(r, "conflicts with an existing record"), 1;
	return write_existing(im, r, id, e);
}

static int reject(struct crm_import *im, const char *file, long line,
		  const char *why, const char *raw, size_t rawlen,
		  struct crm_err *e);

/* A reader's message without its "FILE:LINE: ", which reject() adds. */
static const char *unprefixed(const char *msg, const char *file, long line)
{
	size_t n = strlen(file);
	char num[32];
	int k;

	if (strncmp(msg, file, n) || msg[n] != ':')
		return msg;
	k = snprintf(num, sizeof(num), "%ld: ", line);
	return strncmp(msg + n + 1, num, (size_t)k) ? msg : msg + n + 1 + k;
}

/* Commit when the batch is full or its output big. */
static int maybe_commit(struct crm_import *im, struct crm_err *e)
{
	if (im->in_batch >= im->o.batch || im->out.len >= OUT_FLUSH_BYTES)
		return batch_commit(im, e);
	return 0;
}

/* The prepared INSERT for n rows of ts. */
static struct crm_stmt *multi_stmt(struct crm_import *im, struct tstate *ts,
				size_t n, struct crm_err *e)
{
	struct crm_stmt **slot = n == CHUNK ? &ts->multi : &ts->multi_part;
	struct crm_buf sql;

	if (n == 1)
		return ts->insert;
	/* Reuse the statement for this many rows if there is one. */
	if (n == CHUNK ? ts->multi != NULL : ts->multi_part != NULL && ts->multi_n == n)
		return *slot;
	crm_stmt_free(*slot);
	*slot = NULL;
	crm_buf_init(&sql, 0);
	if (build_insert_sql(ts->t, n, &sql) < 0) {
		crm_buf_release(&sql);
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	if (prepare_write(im->db, slot, sql.data, e) < 0)
		*slot = NULL;
	crm_buf_release(&sql);
	if (n != CHUNK)
		ts->multi_n = n;
	return *slot;
}

/*
 * Write the queued new records: one INSERT for all of them. Those whose
 * key turned out to be known (or that broke a constraint) are then
 * written one by one. Returns 0 or -1 (fatal).
 */
static int flush_pending(struct crm_import *im, struct crm_err *e)
{
	size_t n = im->npend;
	struct tstate *ts;
	struct crm_stmt *st;
	struct crm_err err;
	char in[CHUNK] = { 0 };	/* went in */
	int rc, failed = 0;

	if (!n)
		return 0;
	ts = im->recs[0].ts;
	if (batch_begin(im, e) < 0)
		return -1;
	st = multi_stmt(im, ts, n, e);
	if (!st)
		return -1;
	int unbound = 0;

	for (size_t k = 0; k < n && !unbound; k++)
		if (bind_insert(im, &im->recs[k], im->recs[k].newid, st,
				(int)k * P_ROW(ts->t), e) < 0) {
			/* one record's data key: it is found and rejected below */
			if (e->code != CRM_EDATA && e->code != CRM_ENOINPUT)
				return -1;
			crm_err_set(&err, CRM_EDATA, "%s", e->msg);
			crm_err_clear(e);
			unbound = 1;
		}
	rc = unbound ? -1 : 0;
	/* The ids returned are those that went in, in the order given. */
	for (size_t k = 0; !unbound && (rc = crm_stmt_step(st, &err)) > 0;) {
		const char *id = crm_stmt_text(st, 0);
		size_t j = k;

		while (j < n && strcmp(im->recs[j].newid, id))
			j++;
		if (j == n)	/* out of order after all: look everywhere */
			for (j = 0; j < n && (in[j] || strcmp(im->recs[j].newid, id)); j++)
				;
		if (j < n) {
			in[j] = 1;
			k = j + 1;
		}
	}
	crm_stmt_reset(st);
	if (rc < 0 && err.code != CRM_EDATA) {
		*e = err;
		return -1;
	}
	if (rc < 0) {	/* nothing went in: find the bad row below */
		failed = 1;
		memset(in, 0, sizeof(in));
	}
	im->npend = 0;
	im->pend_bytes = 0;
	for (size_t k = 0; k < n; k++) {
		struct rec *r = &im->recs[k];

		if (in[k]) {
			if ((im->o.records && insert_json(im, r, r->newid, r->source) < 0) ||
			    land(im, r, r->newid, "inserted") < 0)
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			continue;
		}
		rc = write_one(im, r, r->newid, !failed, e);
		if (rc < 0)
			return -1;
		if (rc > 0 && reject(im, r->file, r->line, r->why.data,
				     r->own_raw.data, r->own_raw.len, e) < 0)
			return -1;
	}
	return maybe_commit(im, e);
}

/*
 * Write the queue while CUR(im) is being filled, and move that record to
 * the first slot, where CUR(im) points once the queue is empty. Returns
 * the record's new place, or NULL on a fatal error (e).
 */
static struct rec *flush_before(struct crm_import *im, struct crm_err *e)
{
	size_t k = im->npend;
	struct rec tmp;

	if (flush_pending(im, e) < 0)
		return NULL;
	tmp = im->recs[0];
	im->recs[0] = im->recs[k];
	im->recs[k] = tmp;
	return CUR(im);
}

/* Copy into r what its input will not hold once the next record is read. */
static int rec_keep(struct rec *r, const char *source, const char *raw,
		    size_t rawlen)
{
	crm_buf_reset(&r->own_source);
	crm_buf_reset(&r->own_ext);
	crm_buf_reset(&r->own_raw);
	if (crm_buf_adds(&r->own_source, source) < 0 ||
	    crm_buf_add(&r->own_raw, raw ? raw : "", raw ? rawlen : 0) < 0)
		return -1;
	r->source = r->own_source.data;
	if (r->external_id && *r->external_id) {
		if (crm_buf_adds(&r->own_ext, r->external_id) < 0)
			return -1;
		r->external_id = r->own_ext.data;
	} else {
		r->external_id = NULL;
	}
	if (r->deferred_field >= 0) {
		crm_buf_reset(&r->own_hdr);
		if (crm_buf_adds(&r->own_hdr, r->hdr[r->deferred_field]) < 0)
			return -1;
		r->hdr[r->deferred_field] = r->own_hdr.data;
	}
	r->id = NULL;
	return 0;
}

static int reject(struct crm_import *im, const char *file, long line,
		  const char *why, const char *raw, size_t rawlen,
		  struct crm_err *e)
{
	journal_mark(im, line, JR_REJECTED);
	im->st.rejected++;
	if (im->h.reject &&
	    im->h.reject(im->h.ctx, file, line, why, raw, rawlen) < 0)
		return crm_err_set(e, CRM_EIO, "cannot write rejects");
	return 0;
}

/*
 * The record CUR(im) is filled: check it, then queue it as a new record
 * or write it at once (it names its id), or reject it. Returns 0 or -1
 * (fatal).
 */
static int rec_finish(struct crm_import *im, const char *raw, size_t rawlen,
		      struct crm_err *e)
{
	struct rec *r = CUR(im);
	const char *source = r->source && *r->source ? r->source : im->o.source;
	int rc;

	if (r->nattrs < 0 || journal_add(im, r->line, raw, rawlen) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	/* Another system's record id (Salesforce's Id, "0035g00000AbCdE")
	 * is an external id; only an id of crm's own shape names a record. */
	if (r->id && *r->id && !crm_id_valid(r->ts->t->prefix, r->id) && !crm_id_like(r->id) &&
	    !(r->external_id && *r->external_id)) {
		r->external_id = r->id;
		r->id = NULL;
	}
	/* Queued records of another type may be what this one refers to. */
	if (im->npend && im->recs[0].ts != r->ts && !(r = flush_before(im, e)))
		return -1;
	/* Between transactions, another connection's writes are looked for
	 * before a record is resolved: always for an input's first record
	 * (a request to the API sees what committed before it came), then at
	 * most every CHECK_EVERY seconds (on PostgreSQL a round trip each),
	 * no wider a window than the one between resolving a record of a
	 * file and writing its batch. */
	if (!im->in_tx) {
		double now = crm_now();

		if (now - im->checked_at >= CHECK_EVERY) {
			cache_check(im);
			im->checked_at = now;
		}
	}
	crm_err_clear(&im->dberr);
	if (rec_normalize(im, r) < 0 || rec_derive(im, r) < 0 ||
	    rec_resolve(im, r, source) < 0) {
		/* The database, not the record: the batch stops (and is read
		 * again when its connection died), the record is not blamed. */
		if (im->dberr.code == CRM_EUNAVAILABLE || im->dberr.code == CRM_EIO) {
			*e = im->dberr;
			return -1;
		}
		return reject(im, r->file, r->line, r->why.data, raw, rawlen, e);
	}
	if (im->owner) {
		int oi = crm_entity_field(r->ts->t, "owner");

		if (oi >= 0 && !r->has[oi]) {
			if (set_val(r, oi, im->owner, strlen(im->owner)) < 0)
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			r->owner_default = 1;
		}
	}
	if (r->ts->t->subject && im->nsuppressed) {
		int hit = 0;

		for (int k = 0; k < 2 && !hit; k++) {
			int i = crm_entity_field(r->ts->t, k ? "phone" : "email");

			hit = i >= 0 && r->has[i] && crm_suppressed(im->db, k ? "phone" : "email",
								    r->val[i].data);
		}
		if (hit && !im->o.suppressed_flag) {
			reason(r, "this person asked to be erased (suppressed); import with --suppressed flag to keep them, marked");
			return reject(im, r->file, r->line, r->why.data, raw, rawlen, e);
		}
		if (hit) {
			int c = crm_entity_field(r->ts->t, "consent");

			if (set_val(r, c, "denied", 6) < 0 ||
			    attr_add_raw(r, "suppressed", "true", 4) < 0)
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			im->st.warnings++;
		}
	}
	if (r->nattrs && crm_buf_addc(&r->attrs, '}') < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	rc = rec_key(r);
	if (rc < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (rc > 0 && !(r->id && *r->id)) {
		reason(r, "nothing identifies this %s (no external id, email, name or other key field)",
		       r->ts->t->kind);
		return reject(im, r->file, r->line, r->why.data, raw, rawlen, e);
	}
	if (rc > 0)	/* its id alone names it: an update, or nothing */
		crm_buf_reset(&r->key);
	if (im->cc && crm_entity_has_personal(r->ts->t) && !(r->external_id && *r->external_id)) {
		/* A natural key made of an email, a phone or names would
		 * show them: keep its blind index instead. */
		char bi[CRM_BIDX_MAX];

		crm_crypt_bidx(im->cc, "key", r->key.data, r->key.len, bi);
		crm_buf_reset(&r->key);
		if (crm_buf_adds(&r->key, bi) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	if (r->id && *r->id) {
		char id[CRM_ID_MAX];

		if (!crm_id_valid(r->ts->t->prefix, r->id)) {
			reason(r, "'%s' is not a %s id", r->id, r->ts->t->kind);
			return reject(im, r->file, r->line, r->why.data, raw, rawlen, e);
		}
		/* Written at once, in input order: the queue goes first. */
		if (!(r = flush_before(im, e)) || batch_begin(im, e) < 0)
			return -1;
		snprintf(id, sizeof(id), "%s", r->id);
		r->source = source;
		rc = write_one(im, r, id, 0, e);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return reject(im, r->file, r->line, r->why.data, raw, rawlen, e);
		return maybe_commit(im, e);
	}
	if (rec_keep(r, source, raw, rawlen) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	crm_id_new(r->ts->t->prefix, r->newid);
	im->npend++;
	im->pend_bytes += rawlen + r->attrs.len;
	if (im->npend == CHUNK || im->in_batch + im->npend >= im->o.batch ||
	    im->pend_bytes >= CHUNK_BYTES)
		return flush_pending(im, e);
	return 0;
}

/*
 * The open batch did not land: its queued records never reached the
 * database, and what it wrote is rolled back, its counts with it.
 */
static void forget_batch(struct crm_import *im)
{
	im->npend = 0;
	im->pend_bytes = 0;
	if (im->in_tx) {
		im->st.inserted = im->at_begin.inserted;
		im->st.updated = im->at_begin.updated;
		im->st.unchanged = im->at_begin.unchanged;
		crm_store_rollback(im->db);
		im->in_tx = 0;
	}
	im->in_batch = 0;
	crm_buf_reset(&im->out);
}

/*
 * The open batch died with its connection: forget it (its counts, its
 * queued records, the ids cached from it) and give its records back to
 * the reader, after the CSV header, to be read again. Rejected records
 * stay rejected; the rows are counted once.
 */
static int again(struct crm_import *im, struct crm_reader *rd, int csv)
{
	forget_batch(im);
	im->epoch++;	/* ids cached from it name nothing */
	if (csv && crm_reader_again(rd, im->hdr_line, im->hdr.data, im->hdr.len) < 0)
		return -1;
	/* Landed in the batch that died is not landed: read again too. */
	for (size_t i = 0; i < im->njr; i++) {
		if (im->jr[i].state == JR_REJECTED)
			continue;
		if (crm_reader_again(rd, im->jr[i].line, im->jraw.data + im->jr[i].off, im->jr[i].len) < 0)
			return -1;
		im->st.rows--;
	}
	im->njr = 0;
	crm_buf_reset(&im->jraw);
	im->st.retried++;
	return 0;
}

/*
 * A fatal error (e) ended the import of rd: every record read and not
 * landed, and every line not read yet, is rejected with the reason, so
 * the counts add up to the input. -1 when the rejects cannot be written.
 */
static int not_written(struct crm_import *im, struct crm_reader *rd, struct crm_err *e)
{
	char why[CRM_ERR_MAX + 32];
	struct crm_err we = { 0 };
	int rc;

	snprintf(why, sizeof(why), "not written: %s", e->msg);
	for (size_t i = 0; i < im->njr; i++) {
		if (im->jr[i].state == JR_REJECTED)
			continue;
		im->st.rejected++;
		if (im->h.reject && im->h.reject(im->h.ctx, rd->name, im->jr[i].line, why,
						 im->jraw.data + im->jr[i].off, im->jr[i].len) < 0)
			return -1;
	}
	im->njr = 0;
	crm_buf_reset(&im->jraw);
	if (e->code == CRM_EIO && strstr(e->msg, "read error"))
		return 0;	/* the input itself failed: nothing more to read */
	while ((rc = crm_reader_line(rd, &we)) > 0) {
		if (!rd->line.len)
			continue;
		im->st.rows++;
		im->st.rejected++;
		if (im->h.reject && im->h.reject(im->h.ctx, rd->name, rd->lineno, why,
						 rd->line.data, rd->line.len) < 0)
			return -1;
	}
	return 0;
}

/* Resolve self references left open until the whole file was read. */
static int finish_deferred(struct crm_import *im, struct crm_err *e)
{
	for (size_t i = 0; i < im->ndefer; i++) {
		struct deferred *d = &im->defer[i];
		const struct crm_field *f = &d->ts->t->fields[d->field];
		char id[CRM_ID_MAX];
		struct crm_stmt *st;
		int rc;

		if (batch_begin(im, e) < 0)
			return -1;
		rc = resolve(im, d->ts, im->o.source, d->value, id);
		if (rc < 0) {
			*e = im->dberr;
			return -1;
		}
		if (rc == 1) {
			st = d->ts->set_ref;
			crm_stmt_bind_text_ref(st, 1, d->id, (size_t)-1);
			crm_stmt_bind_text(st, 2, id, (size_t)-1);
		} else {
			char msg[CRM_ERR_MAX];

			st = d->ts->set_attr;
			crm_stmt_bind_text_ref(st, 1, d->id, (size_t)-1);
			crm_stmt_bind_text_ref(st, 2, d->header, (size_t)-1);
			crm_stmt_bind_text_ref(st, 3, d->value, (size_t)-1);
			im->st.warnings++;
			snprintf(msg, sizeof(msg),
				 "%s:%ld: unknown %s '%s' for %s; kept in attrs as '%s'",
				 d->file, d->line, f->arg, d->value, f->name,
				 d->header);
			if (im->h.warn)
				im->h.warn(im->h.ctx, msg);
		}
		rc = crm_stmt_step(st, e);
		crm_stmt_reset(st);
		if (rc < 0)
			return -1;
	}
	for (size_t i = 0; i < im->ndefer; i++)
		deferred_free(&im->defer[i]);
	im->ndefer = 0;
	return 0;
}

static void progress(struct crm_import *im, const char *file)
{
	double now;

	if (!im->h.progress || (im->st.rows & 4095))
		return;
	now = crm_now();
	if (now - im->last_progress < 0.25)
		return;
	im->last_progress = now;
	im->h.progress(im->h.ctx, file, &im->st);
}

/* ---- formats ----------------------------------------------------------- */

static enum crm_format format_by_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return CRM_FMT_AUTO;
	if (!strcasecmp(dot, ".csv") || !strcasecmp(dot, ".tsv") ||
	    !strcasecmp(dot, ".txt"))
		return CRM_FMT_CSV;
	if (!strcasecmp(dot, ".ndjson") || !strcasecmp(dot, ".jsonl") ||
	    !strcasecmp(dot, ".json"))
		return CRM_FMT_NDJSON;
	return CRM_FMT_AUTO;
}

static int import_csv(struct crm_import *im, struct crm_reader *rd,
		      const struct crm_entity *type, struct crm_err *e)
{
	struct crm_csv c;
	struct tstate *ts;
	int *cols = NULL, rc = -1;

	if (crm_csv_init(&c, rd, im->o.delim, e) < 0)
		return -1;
	if (crm_csv_header(&c, e) < 0)
		goto out;
	/* kept, to read the file's open batch again after a lost connection */
	crm_buf_reset(&im->hdr);
	if (crm_buf_add(&im->hdr, c.raw.data, c.raw.len) < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	im->hdr_line = c.line;
	if (!type)
		type = crm_entity_guess(rd->name, (const char *const *)c.header, c.ncols);
	if (!type) {
		crm_err_set(e, CRM_EUSAGE,
			    "%s: cannot tell what records this file holds; use --type",
			    rd->name);
		goto out;
	}
	ts = tstate_get(im, type, e);
	if (!ts)
		goto out;
	cols = malloc(c.ncols * sizeof(*cols));
	if (!cols) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	im->file_type = type;
	crm_buf_reset(&im->file_cols);
	crm_buf_addc(&im->file_cols, '[');
	for (size_t i = 0; i < c.ncols; i++) {
		cols[i] = map_column(im, type, c.header[i], e);
		if (cols[i] == CRM_COL_BAD)
			goto out;
		if (i)
			crm_buf_addc(&im->file_cols, ',');
		crm_json_str(&im->file_cols, c.header[i], strlen(c.header[i]));
	}
	if (crm_buf_addc(&im->file_cols, ']') < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	/* A --map must name a column the file has. */
	for (size_t m = 0; m < im->nmaps; m++) {
		size_t i;

		for (i = 0; i < c.ncols && strcmp(c.header[i], im->maps[m].header); i++)
			;
		if (i == c.ncols) {
			crm_err_set(e, CRM_EUSAGE, "%s: --map '%s=%s': the file has no column '%s' (it has %s)",
				    rd->name, im->maps[m].header, im->maps[m].field,
				    im->maps[m].header, im->file_cols.data);
			goto out;
		}
	}
	/* A file none of whose columns can tell one record of the type from
	 * another is another type's (deals given --type contact): refused,
	 * not read as hundreds of empty records. */
	{
		size_t keys = 0;

		for (size_t i = 0; i < c.ncols; i++)
			keys += cols[i] == CRM_COL_ID || cols[i] == CRM_COL_EXTERNAL_ID ||
				(cols[i] >= 0 && (type->whole_row_key ||
						  (type->fields[cols[i]].flags & CRM_F_IDENTITY) ||
						  !strcmp(type->fields[cols[i]].name, "email") ||
						  !strcmp(type->fields[cols[i]].name, "phone") ||
						  !strcmp(type->fields[cols[i]].name, "domain") ||
						  !strcmp(type->fields[cols[i]].name, "name")));
		if (!keys) {
			crm_err_set(e, CRM_EDATA, "%s: no column identifies a %s (columns: %s); "
				    "is it another type? (--type)", rd->name, type->kind, im->file_cols.data);
			goto out;
		}
	}
	/* Nor is one whose columns are mostly another type's fields, unless
	 * its columns were mapped by hand (--map). */
	if (!im->nmaps) {
		size_t fit = crm_entity_header_fit(type, (const char *const *)c.header, c.ncols), best;
		const struct crm_entity *other = crm_entity_best_fit((const char *const *)c.header, c.ncols, &best);

		if (other && other != type && best >= 2 * fit && best >= fit + 3) {
			crm_err_set(e, CRM_EDATA, "%s: its columns are %ss' (%zu of %zu are %s fields, %zu %s fields): "
				    "give --type %s, or --map its columns",
				    rd->name, other->kind, best, c.ncols, other->kind, fit, type->kind, other->kind);
			goto out;
		}
	}
	for (;;) {
		int r = crm_csv_next(&c, e);

		if (r == CRM_REC_EOF)
			break;
		if (r == CRM_REC_FATAL)
			goto out;
		im->st.rows++;
		progress(im, rd->name);
		if (r == CRM_REC_BAD) {
			const char *msg = unprefixed(e->msg, rd->name, c.line);

			if (reject(im, rd->name, c.line, msg, c.raw.data,
				   c.raw.len, e) < 0)
				goto out;
			continue;
		}
		if (c.nfields != c.ncols) {
			char why[128];

			snprintf(why, sizeof(why), "expected %zu fields, found %zu",
				 c.ncols, c.nfields);
			if (reject(im, rd->name, c.line, why, c.raw.data,
				   c.raw.len, e) < 0)
				goto out;
			continue;
		}
		rec_start(CUR(im), ts, rd->name, c.line);
		for (size_t i = 0; i < c.ncols; i++) {
			/* The guard crm-export puts on formula-like cells comes off. */
			const char *v = crm_csv_unguard(crm_csv_field(&c, i));
			const char *h = c.header[i];

			if (!*v)
				continue;
			/* crm-export writes custom fields as attrs.KEY columns,
			 * nested values as JSON text. */
			if (cols[i] == CRM_COL_NONE && !strncmp(h, "attrs.", 6) && h[6]) {
				h += 6;
				if (*v == '{' || *v == '[') {
					json_t *j = json_loads(v, 0, NULL);

					json_decref(j);
					if (j) {
						if (attr_add_raw(CUR(im), h, v, strlen(v)) < 0)
							CUR(im)->nattrs = -1;
						continue;
					}
				}
			}
			if (rec_set(CUR(im), cols[i], h, v) < 0)
				CUR(im)->nattrs = -1;
		}
		if (rec_finish(im, c.raw.data, c.raw.len, e) < 0)
			goto out;
	}
	rc = 0;
out:
	free(cols);
	crm_csv_release(&c);
	return rc;
}

/* Text form of a scalar JSON value into b; -1 if not a scalar. */
static int scalar_text(const json_t *v, struct crm_buf *b)
{
	crm_buf_reset(b);
	switch (json_typeof(v)) {
	case JSON_STRING:
		return crm_buf_add(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return crm_buf_addf(b, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return crm_json_num(b, json_real_value(v));
	case JSON_TRUE:
		return crm_buf_adds(b, "true");
	case JSON_FALSE:
		return crm_buf_adds(b, "false");
	default:
		return -1;
	}
}

static int import_ndjson(struct crm_import *im, struct crm_reader *rd,
			 const struct crm_entity *type, struct crm_err *e)
{
	struct crm_buf tmp[MAX_FIELDS + 3], vbuf;
	int rc = -1;

	for (size_t i = 0; i < MAX_FIELDS + 3; i++)
		crm_buf_init(&tmp[i], 0);
	crm_buf_init(&vbuf, 0);
	for (;;) {
		const struct crm_entity *t = type;
		struct tstate *ts;
		const char *key;
		json_t *obj, *v;
		size_t nt = 0;
		int r = crm_ndjson_next(rd, &obj, e);

		if (r == CRM_REC_EOF)
			break;
		if (r == CRM_REC_FATAL)
			goto out;
		im->st.rows++;
		progress(im, rd->name);
		if (r == CRM_REC_BAD) {
			if (reject(im, rd->name, rd->lineno, unprefixed(e->msg, rd->name, rd->lineno),
				   rd->line.data, rd->line.len, e) < 0)
				goto out;
			continue;
		}
		v = json_object_get(obj, "type");
		if (json_is_string(v) && crm_entity_find(json_string_value(v))) {
			const struct crm_entity *rt = crm_entity_find(json_string_value(v));

			if (!t)
				t = rt;
		}
		if (!t)
			t = crm_entity_guess(rd->name, NULL, 0);
		if (!t) {
			char why[160];

			if (json_is_string(v))
				snprintf(why, sizeof(why), "unknown type '%.60s' (want account, contact, deal, "
					 "interaction, product, task or user)", json_string_value(v));
			else
				snprintf(why, sizeof(why), "record has no \"type\" and no --type was given");
			json_decref(obj);
			if (reject(im, rd->name, rd->lineno, why, rd->line.data, rd->line.len, e) < 0)
				goto out;
			continue;
		}
		ts = tstate_get(im, t, e);
		if (!ts) {
			json_decref(obj);
			goto out;
		}
		rec_start(CUR(im), ts, rd->name, rd->lineno);
		json_object_foreach(obj, key, v) {
			int col;

			if (json_is_null(v))
				continue;
			/* "type" names the record type; otherwise it is data
			 * (an interaction's "type": "call"). */
			if (!strcmp(key, "type") && json_is_string(v) &&
			    crm_entity_find(json_string_value(v)))
				continue;
			col = key_column(im, ts, key, e);
			if (col == CRM_COL_BAD) {
				json_decref(obj);
				goto out;
			}
			if (col == CRM_COL_IGNORE)
				continue;
			if (col == CRM_COL_ATTRS && json_is_object(v)) {
				const char *k2;
				json_t *v2;

				json_object_foreach(v, k2, v2) {
					crm_buf_reset(&vbuf);
					if (crm_json_value(&vbuf, v2) < 0 ||
					    attr_add_raw(CUR(im), k2, vbuf.data, vbuf.len) < 0)
						CUR(im)->nattrs = -1;
				}
				continue;
			}
			if (col == CRM_COL_NONE || col == CRM_COL_ATTRS ||
			    !(json_is_string(v) || json_is_number(v) ||
			      json_is_boolean(v)) || (col >= 0 && CUR(im)->has[col])) {
				if (col >= 0 && !json_is_string(v) && !json_is_number(v) &&
				    !json_is_boolean(v)) {
					char why[256];

					snprintf(why, sizeof(why),
						 "\"%s\": expected a string or number",
						 key);
					json_decref(obj);
					if (reject(im, rd->name, rd->lineno, why,
						   rd->line.data, rd->line.len, e) < 0)
						goto out;
					goto next;
				}
				crm_buf_reset(&vbuf);
				if (crm_json_value(&vbuf, v) < 0 ||
				    attr_add_raw(CUR(im), key, vbuf.data, vbuf.len) < 0)
					CUR(im)->nattrs = -1;
				continue;
			}
			if (nt == MAX_FIELDS + 3)
				continue;
			if (scalar_text(v, &tmp[nt]) < 0) {
				CUR(im)->nattrs = -1;
				continue;
			}
			if (!tmp[nt].len && json_is_string(v))
				continue;
			rec_set(CUR(im), col, key, tmp[nt].data);
			nt++;
		}
		if (rec_finish(im, rd->line.data, rd->line.len, e) < 0) {
			json_decref(obj);
			goto out;
		}
		json_decref(obj);
next:		;
	}
	rc = 0;
out:
	for (size_t i = 0; i < MAX_FIELDS + 3; i++)
		crm_buf_release(&tmp[i]);
	crm_buf_release(&vbuf);
	return rc;
}

int crm_import_probe(const char *path, enum crm_format *fmt,
		     const struct crm_entity **type, size_t line_cap,
		     const char *encoding, struct crm_err *e)
{
	struct crm_reader rd;
	int c;

	*type = NULL;
	if (crm_reader_open(&rd, path, line_cap, e) < 0)
		return -1;
	if (crm_reader_encoding(&rd, encoding, e) < 0) {
		crm_reader_release(&rd);
		return -1;
	}
	if (*fmt == CRM_FMT_AUTO)
		*fmt = format_by_name(path);
	c = crm_reader_peek(&rd, e);
	if (c == -2) {
		crm_reader_release(&rd);
		return -1;
	}
	if (*fmt == CRM_FMT_AUTO)
		*fmt = c == '{' ? CRM_FMT_NDJSON : CRM_FMT_CSV;
	if (*fmt == CRM_FMT_CSV) {
		struct crm_csv cs;

		if (crm_csv_init(&cs, &rd, 0, e) == 0) {
			if (crm_csv_header(&cs, e) == 0)
				*type = crm_entity_guess(path, (const char *const *)cs.header, cs.ncols);
			crm_csv_release(&cs);
		}
	} else {
		json_t *obj;

		*type = crm_entity_guess(path, NULL, 0);
		if (!*type && crm_ndjson_next(&rd, &obj, e) == CRM_REC_OK) {
			json_t *t = json_object_get(obj, "type");

			if (json_is_string(t))
				*type = crm_entity_find(json_string_value(t));
			json_decref(obj);
		}
	}
	crm_err_clear(e);
	crm_reader_release(&rd);
	return 0;
}

/* Log a CSV file's import: its header and counts (schema drift checks). */
static int log_import(struct crm_import *im, const char *name,
		      const struct crm_import_stats *before, struct crm_err *e)
{
	struct crm_stmt *st;
	char now[32];
	int rc;

	crm_timestamp(now, sizeof(now));
	if (crm_store_prepare(im->db, "INSERT INTO imports (at, file, source, entity, columns, rows, "
			      "rejected) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, now, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, name, (size_t)-1);
	crm_stmt_bind_text_ref(st, 3, im->o.source ? im->o.source : "import", (size_t)-1);
	crm_stmt_bind_text_ref(st, 4, im->file_type->kind, (size_t)-1);
	crm_stmt_bind_text_ref(st, 5, im->file_cols.data, im->file_cols.len);
	crm_stmt_bind_int64(st, 6, im->st.rows - before->rows);
	crm_stmt_bind_int64(st, 7, im->st.rejected - before->rejected);
	rc = crm_stmt_step(st, e);
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

static int import_reader(struct crm_import *im, struct crm_reader *r,
			 enum crm_format fmt, const struct crm_entity *type,
			 struct crm_err *e);

int crm_import_file(struct crm_import *im, const char *path,
		    enum crm_format fmt, const struct crm_entity *type,
		    struct crm_err *e)
{
	struct crm_reader rd;

	if (crm_reader_open(&rd, path, im->o.line_cap, e) < 0)
		return -1;
	if (crm_reader_encoding(&rd, im->o.encoding, e) < 0) {
		crm_reader_release(&rd);
		return -1;
	}
	return import_reader(im, &rd, fmt, type, e);
}

int crm_import_stream(struct crm_import *im, const char *name, FILE *fp,
		      enum crm_format fmt, const struct crm_entity *type,
		      struct crm_err *e)
{
	struct crm_reader rd;

	if (crm_reader_stream(&rd, name, fp, im->o.line_cap, e) < 0)
		return -1;
	return import_reader(im, &rd, fmt, type, e);
}

/* Import what rd reads; releases rd. */
static int import_reader(struct crm_import *im, struct crm_reader *r,
			 enum crm_format fmt, const struct crm_entity *type,
			 struct crm_err *e)
{
	struct crm_reader rd = *r;
	struct crm_import_stats before = im->st;
	int rc;

	im->file_type = NULL;
	im->checked_at = 0;	/* a new input sees every write made before it */
	if (fmt == CRM_FMT_AUTO)
		fmt = format_by_name(rd.name);
	if (fmt == CRM_FMT_AUTO) {
		int c = crm_reader_peek(&rd, e);

		if (c == -2) {
			crm_reader_release(&rd);
			return -1;
		}
		fmt = c == '{' ? CRM_FMT_NDJSON : CRM_FMT_CSV;
	}
	for (double t0 = crm_now();;) {
		if (fmt == CRM_FMT_CSV)
			rc = import_csv(im, &rd, type, e);
		else
			rc = import_ndjson(im, &rd, type, e);
		if (rc == 0 && (flush_pending(im, e) < 0 || finish_deferred(im, e) < 0 ||
				batch_commit(im, e) < 0))
			rc = -1;
		/* The connection died under the open batch and nothing of it
		 * was written: its records are read again on a new one, for
		 * as long as the store's patience allows. */
		if (rc == 0 || !e->retry || crm_now() - t0 > (double)crm_store_patience(im->db) / 1000 ||
		    again(im, &rd, fmt == CRM_FMT_CSV) < 0)
			break;
		crm_err_clear(e);
	}
	if (rc < 0)
		forget_batch(im);
	/* The database could not take the rows (busy past the timeout, the
	 * disk full): each is rejected with the reason. A file refused
	 * whole (a usage error, bad header) is said once. */
	if (rc < 0 && (e->code == CRM_EUNAVAILABLE || e->code == CRM_EIO) && not_written(im, &rd, e) < 0)
		im->st.lost += (long long)im->njr;	/* not even the rejects could be written */
	if (rc == 0 && im->file_type && !im->o.dry_run)
		rc = log_import(im, rd.name, &before, e);
	if (im->h.progress)
		im->h.progress(im->h.ctx, NULL, &im->st);
	crm_reader_release(&rd);
	return rc;
}

int crm_import_buffer(struct crm_import *im, const char *name, const char *data, size_t len,
		      struct crm_err *e)
{
	FILE *fp;
	int rc;

	if (!len)
		return 0;
	if (!(fp = fmemopen((void *)data, len, "r")))
		return crm_err_set(e, CRM_ESOFTWARE, "fmemopen: %s", strerror(errno));
	rc = crm_import_stream(im, name, fp, CRM_FMT_NDJSON, NULL, e);
	fclose(fp);
	return rc;
}

int crm_import_maps(struct crm_import *im, const char *spec, struct crm_err *e)
{
	char *copy = strdup(spec), *s = copy, *p;
	int rc = 0;

	if (!copy)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	while (!rc && (p = strchr(s, ',')) && strchr(p, '=')) {
		*p = '\0';
		rc = crm_import_map(im, s, e);
		s = p + 1;
	}
	if (!rc)
		rc = crm_import_map(im, s, e);
	free(copy);
	return rc;
}

int crm_import_reject_json(struct crm_buf *b, const char *file, long line, const char *why,
			   const char *raw, size_t rawlen)
{
	int rc = crm_buf_adds(b, "{\"file\":") | crm_json_str(b, file, strlen(file)) |
		 crm_buf_addf(b, ",\"line\":%ld,\"reason\":", line) | crm_json_str(b, why, strlen(why)) |
		 crm_buf_adds(b, ",\"raw\":") | crm_json_str(b, raw ? raw : "", raw ? rawlen : 0);

	if (raw && !crm_utf8_valid(raw, rawlen, NULL)) {
		size_t len = sodium_base64_ENCODED_LEN(rawlen, sodium_base64_VARIANT_ORIGINAL);
		char *enc = malloc(len);

		if (!enc)
			return -1;
		sodium_bin2base64(enc, len, (const unsigned char *)raw, rawlen,
				  sodium_base64_VARIANT_ORIGINAL);
		rc |= crm_buf_addf(b, ",\"raw_base64\":\"%s\"", enc);
		free(enc);
	}
	return rc | crm_buf_adds(b, "}\n");
}

int crm_import_summary(struct crm_buf *b, const struct crm_import_stats *st, long long more,
		       long skipped, double seconds, int dry_run, int rejects_file)
{
	int rc = crm_buf_addf(b, "%lld rows: %lld inserted, %lld updated, %lld unchanged, %lld rejected",
			      st->rows + more, st->inserted, st->updated, st->unchanged, st->rejected + more);

	if (st->lost)
		rc |= crm_buf_addf(b, ", %lld not written", st->lost);
	if (st->retried)
		rc |= crm_buf_addf(b, "; %lld batch%s written again after the connection was lost",
				   st->retried, st->retried == 1 ? "" : "es");
	if (skipped)
		rc |= crm_buf_addf(b, ", %ld message%s skipped", skipped, skipped == 1 ? "" : "s");
	return rc | crm_buf_addf(b, "%s (%.0f rows/s)%s", rejects_file && st->rejected ? " (see rejects file)" : "",
				 seconds > 0 ? (double)st->rows / seconds : 0.0,
				 dry_run ? " [dry run: nothing written]" : "");
}

static int by_type(const void *a, const void *b)
{
	const struct crm_import_input *x = a, *y = b;
	size_t tx = x->type ? (size_t)(x->type - crm_entities) : crm_nentities;
	size_t ty = y->type ? (size_t)(y->type - crm_entities) : crm_nentities;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int crm_import_order(struct crm_import_input *in, size_t n, const struct crm_import_opts *o,
		     struct crm_err *e)
{
	for (size_t i = 0; i < n; i++)
		if (in[i].mail)
			in[i].type = crm_entity_find("interaction");
		else if (!in[i].type &&
			 crm_import_probe(in[i].path, &in[i].fmt, &in[i].type, o->line_cap, o->encoding, e) < 0)
			return -1;
	qsort(in, n, sizeof(*in), by_type);
	return 0;
}
