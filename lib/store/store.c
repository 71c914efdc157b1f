/*
 * store.c - one interface over the backends (backend.h): the target
 * picks one, and every call goes to it. What is the same on both is
 * here: migrations, the list helpers, and the bulk load by INSERT that
 * a backend without a faster way uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "backend.h"

int crm_store_is_url(const char *target)
{
	return target && (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11));
}

/* target with the password of a URL masked. */
static void display_name(char *out, size_t n, const char *target)
{
	const char *scheme = strstr(target, "://"), *at, *colon;

	if (!crm_store_is_url(target) || !scheme ||
	    !(at = strchr(scheme + 3, '@')) ||
	    !(colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3)))) {
		snprintf(out, n, "%s", target);
		return;
	}
	snprintf(out, n, "%.*s:***%s", (int)(colon - target), target, at);
}

int crm_store_connect(struct crm_store **out, const char *target, int flags, struct crm_err *e)
{
	const struct crm_store_ops *ops = crm_store_is_url(target) ? &crm_store_pg : &crm_store_sqlite_ops;
	/* The name is kept after the struct, in the same allocation. */
	struct crm_store *s = calloc(1, sizeof(*s) + CRM_STORE_NAME_MAX);
	int v;

	*out = NULL;
	if (!s)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	s->ops = ops;
	s->flags = flags;
	s->patience = -1;
	display_name((char *)(s + 1), CRM_STORE_NAME_MAX, target);
	s->name = (const char *)(s + 1);
	if (ops->open(s, target, flags, e) < 0) {
		free(s);
		return -1;
	}
	if ((flags & CRM_STORE_DURABLE) && ops->kind == CRM_STORE_SQLITE &&
	    ops->exec(s, "PRAGMA synchronous=FULL", e) < 0) {
		crm_store_close(s);
		return -1;
	}
	if (flags & CRM_STORE_OTHER) {
		*out = s;
		return 0;
	}
	if (!(flags & (CRM_STORE_NOMIGRATE | CRM_STORE_READONLY))) {
		if (crm_store_migrate(s, NULL, NULL, e) < 0)
			goto fail;
	} else if (!(flags & CRM_STORE_NOMIGRATE)) {
		if (crm_store_version(s, &v, e) < 0)
			goto fail;
		if (v != crm_store_schema_version()) {
			crm_err_set(e, CRM_EDATA, "%s: schema version %d, this build needs %d%s",
				    s->name, v, crm_store_schema_version(),
				    v > crm_store_schema_version() ? ": upgrade crm" : " (run 'crm init')");
			goto fail;
		}
	}
	/* A copy that did not finish is no database to work on: only
	 * crm db (CRM_STORE_PLAIN) opens it, to count it or copy again. */
	if (!(flags & CRM_STORE_PLAIN)) {
		char from[CRM_STORE_NAME_MAX] = "";
		struct crm_err ignored;

		if (crm_store_text1(s, "SELECT value FROM meta WHERE key = 'copy.incomplete'", NULL, from,
				    sizeof(from), &ignored) > 0) {
			crm_err_set(e, CRM_EDATA, "%s is a copy of %s that did not finish: run the same "
				    "'crm db copy' again to complete it", s->name, from);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	crm_store_close(s);
	return -1;
}

void crm_store_close(struct crm_store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	if (s->crypt_release)
		s->crypt_release(s->crypt);
	free(s);
}

const char *crm_store_name(const struct crm_store *s)
{
	return s->name;
}

int crm_store_exec(struct crm_store *s, const char *sql, struct crm_err *e)
{
	return s->ops->exec(s, sql, e);
}

void crm_store_set_patience(struct crm_store *s, long ms)
{
	s->patience = ms;
}

long crm_store_patience(const struct crm_store *s)
{
	long busy = crm_db_busy_limit();

	return s->patience >= 0 ? s->patience : busy >= 0 ? busy : 60000;
}

long crm_store_resets(const struct crm_store *s)
{
	return s->resets;
}

int crm_store_begin(struct crm_store *s, struct crm_err *e)
{
	return s->ops->begin(s, e);
}

int crm_store_try_begin(struct crm_store *s, struct crm_err *e)
{
	return s->ops->try_begin(s, e);
}

int crm_store_begin_read(struct crm_store *s, struct crm_err *e)
{
	/* Not READ ONLY on PostgreSQL: that forbids making temporary
	 * tables, which readers use (features.c), as SQLite allows. */
	return s->ops->exec(s, s->ops->kind == CRM_STORE_POSTGRES ?
			    "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN", e);
}

int crm_store_columns(struct crm_store *s, const char *table, char ***out, struct crm_err *e)
{
	const char *sql = s->ops->kind == CRM_STORE_POSTGRES ?
		"SELECT column_name FROM information_schema.columns WHERE table_schema = "
		"current_schema() AND table_name = ? ORDER BY ordinal_position" :
		"SELECT name FROM pragma_table_info(?) ORDER BY cid";
	struct crm_stmt *st;
	char **list = calloc(1, sizeof(*list));
	size_t n = 0;
	int rc;

	*out = NULL;
	if (!list)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (crm_store_prepare(s, sql, 0, &st, e) < 0) {
		free(list);
		return -1;
	}
	crm_stmt_bind_text(st, 1, table, strlen(table));
	while ((rc = crm_stmt_step(st, e)) > 0) {
		char **grown = realloc(list, (n + 2) * sizeof(*list));

		if (!grown || !(grown[n] = strdup(crm_stmt_text(st, 0)))) {
			if (grown)
				list = grown;
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			break;
		}
		list = grown;
		list[++n] = NULL;
	}
	crm_stmt_free(st);
	if (rc < 0) {
		crm_store_free_list(list);
		return -1;
	}
	*out = list;
	return 0;
}

int crm_store_integrity(struct crm_store *s, char *out, size_t n, struct crm_err *e)
{
	if (s->ops->kind != CRM_STORE_SQLITE)
		return 2;
	if (crm_store_text1(s, "PRAGMA quick_check", NULL, out, n, e) < 0)
		return -1;
	return strcmp(out, "ok") != 0;
}

void crm_store_bulk(struct crm_store *s, int mib, int checkpoints)
{
	char sql[96];

	if (s->ops->kind != CRM_STORE_SQLITE)
		return;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d%s", mib * 1024,
		 checkpoints ? "; PRAGMA wal_autocheckpoint = 16384" : "");
	s->ops->exec(s, sql, NULL);
}

int crm_store_text1(struct crm_store *s, const char *sql, const char *p, char *out, size_t n,
		    struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	if (crm_store_prepare(s, sql, 0, &st, e) < 0)
		return -1;
	if (p)
		crm_stmt_bind_text_ref(st, 1, p, (size_t)-1);
	rc = crm_stmt_step(st, e);
	if (rc > 0) {
		const char *v = crm_stmt_text(st, 0);

		snprintf(out, n, "%s", v ? v : "");
	}
	crm_stmt_free(st);
	return rc;
}

long long crm_store_run(struct crm_store *s, const char *sql, const char *const *p, int n,
			struct crm_err *e)
{
	struct crm_stmt *st;
	long long changes;

	if (crm_store_prepare(s, sql, 0, &st, e) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		crm_stmt_bind_text_ref(st, i + 1, p[i], (size_t)-1);
	changes = crm_stmt_step(st, e) < 0 ? -1 : crm_stmt_changes(st);
	crm_stmt_free(st);
	return changes;
}

int crm_store_set_meta(struct crm_store *s, const char *key, const char *value,
		       struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	if (crm_store_prepare(s, "INSERT INTO meta (key, value) VALUES (?, ?) "
			      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text_ref(st, 1, key, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, value, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

int crm_store_readonly(const struct crm_store *s)
{
	return s->flags & CRM_STORE_READONLY;
}

void crm_store_set_crypt(struct crm_store *s, struct crm_crypt *c,
			 void (*release)(struct crm_crypt *))
{
	s->crypt = c;
	s->crypt_release = release;
}

struct crm_crypt *crm_store_crypt(struct crm_store *s)
{
	return s->crypt;
}

int crm_store_sealed(struct crm_store *s)
{
	char on[8] = "";
	struct crm_err e;

	return !crm_store_crypt(s) &&
	       crm_store_text1(s, "SELECT value FROM meta WHERE key = 'crypt.enabled'", NULL, on,
			       sizeof(on), &e) > 0 && !strcmp(on, "1");
}

struct crm_store *crm_stmt_store(struct crm_stmt *st)
{
	return st->s;
}

int crm_store_commit(struct crm_store *s, struct crm_err *e)
{
	return s->ops->commit(s, e);
}

void crm_store_rollback(struct crm_store *s)
{
	s->ops->rollback(s);
}

int crm_store_version(struct crm_store *s, int *v, struct crm_err *e)
{
	return s->ops->version(s, v, e);
}

int crm_store_schema_version(void)
{
	return (int)crm_nmigrations;
}

/* "NAME: " for messages, or nothing for a store around a handle that
 * its opener names (crm_db_migrate). */
static const char *who(const struct crm_store *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s", s->name, *s->name ? ": " : "");
	return buf;
}

static int migrate(struct crm_store *s, int *from, int *to, struct crm_err *e)
{
	char name[CRM_STORE_NAME_MAX + 2];
	int v;

	if (crm_store_version(s, &v, e) < 0)
		return -1;
	if (from)
		*from = v;
	if (v > crm_store_schema_version())
		return crm_err_set(e, CRM_EDATA,
				   "%sschema version %d is newer than this build of crm knows (%d): upgrade crm",
				   who(s, name, sizeof(name)), v, crm_store_schema_version());
	while (v < crm_store_schema_version()) {
		if (crm_store_begin(s, e) < 0)
			return -1;
		/* Another process may have migrated while we waited. */
		if (crm_store_version(s, &v, e) < 0)
			goto fail;
		if (v >= crm_store_schema_version()) {
			crm_store_rollback(s);
			break;
		}
		if (s->ops->apply(s, v + 1, e) < 0) {
			char msg[CRM_ERR_MAX];

			/* The backend's message may name the database already. */
			who(s, name, sizeof(name));
			snprintf(msg, sizeof(msg), "%s", *s->name && !strncmp(e->msg, name, strlen(name)) ?
				 e->msg + strlen(name) : e->msg);
			crm_err_set(e, e->code, "%smigration %d: %s", name, v + 1, msg);
			goto fail;
		}
		if (crm_store_commit(s, e) < 0)
			return -1;
		v++;
	}
	if (to)
		*to = v;
	return 0;
fail:
	crm_store_rollback(s);
	return -1;
}

int crm_store_migrate(struct crm_store *s, int *from, int *to, struct crm_err *e)
{
	struct crm_err ignore = { 0 };
	int rc;

	if (s->ops->migrating && s->ops->migrating(s, 1, e) < 0)
		return -1;
	rc = migrate(s, from, to, e);
	if (s->ops->migrating)
		s->ops->migrating(s, 0, &ignore);
	return rc;
}

int crm_store_tables(struct crm_store *s, char ***out, struct crm_err *e)
{
	return s->ops->tables(s, out, e);
}

void crm_store_free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

int crm_store_load_begin(struct crm_store *s, struct crm_err *e)
{
	return s->ops->load_begin(s, e);
}

int crm_store_load_end(struct crm_store *s, struct crm_err *e)
{
	return s->ops->load_end(s, e);
}

int crm_store_counters(struct crm_store *s, struct crm_counter *out, size_t max, size_t *n,
		       struct crm_err *e)
{
	*n = 0;
	return s->ops->counters(s, out, max, n, e);
}

int crm_store_set_counter(struct crm_store *s, const char *table, long long last,
			  struct crm_err *e)
{
	return s->ops->set_counter(s, table, last, e);
}

int crm_store_listen(struct crm_store *s, struct crm_err *e)
{
	return s->ops->listen(s, e);
}

struct crm_stmt *crm_store_events(struct crm_store *s, long long since, const char *entity,
				  const char *op, int limit, struct crm_err *e)
{
	struct crm_stmt *st = crm_store_stmt(s, "SELECT seq, at, entity, entity_id, op, payload FROM events "
					     "WHERE seq > ?1 AND (CAST(?2 AS text) IS NULL OR entity = ?2) "
					     "AND (CAST(?3 AS text) IS NULL OR op = ?3) ORDER BY seq LIMIT ?4", e);

	if (st) {
		crm_stmt_bind_int64(st, 1, since);
		crm_stmt_bind_text(st, 2, entity, (size_t)-1);
		crm_stmt_bind_text(st, 3, op, (size_t)-1);
		crm_stmt_bind_int64(st, 4, limit);
	}
	return st;
}

int crm_store_last_event(struct crm_store *s, long long *seq, struct crm_err *e)
{
	struct crm_stmt *st = crm_store_stmt(s, "SELECT coalesce(max(seq), 0) FROM events", e);
	int rc;

	if (!st)
		return -1;
	rc = crm_stmt_step(st, e);
	if (rc > 0)
		*seq = crm_stmt_int64(st, 0);
	crm_store_stmt_done(st);
	return rc > 0 ? 0 : rc < 0 ? -1 : crm_err_set(e, CRM_ESOFTWARE, "no answer for the last event");
}

int crm_store_wait(struct crm_store *s, int ms, struct crm_err *e)
{
	return s->ops->wait(s, ms < 0 ? 0 : ms, e);
}

/* INSERT INTO "t" ("c", ...) VALUES (?, ...) for the columns of st. */
static char *insert_sql(const char *table, struct crm_stmt *st)
{
	int nc = crm_stmt_columns(st), bad = 0;
	struct crm_buf b;

	crm_buf_init(&b, 0);
	bad |= crm_buf_addf(&b, "INSERT INTO \"%s\" (", table);
	for (int i = 0; i < nc; i++) {
		const char *c = crm_stmt_column_name(st, i);

		bad |= !c || strchr(c, '"') != NULL;
		bad |= crm_buf_addf(&b, "%s\"%s\"", i ? ", " : "", c ? c : "");
	}
	bad |= crm_buf_adds(&b, ") VALUES (");
	for (int i = 0; i < nc; i++)
		bad |= crm_buf_adds(&b, i ? ", ?" : "?");
	bad |= crm_buf_adds(&b, ")");
	if (bad) {
		crm_buf_release(&b);
		return NULL;
	}
	return crm_buf_detach(&b, NULL);
}

static int bind_value(struct crm_stmt *to, int i, struct crm_stmt *from, int c)
{
	switch (crm_stmt_type(from, c)) {
	case CRM_NULL:
		return crm_stmt_bind_null(to, i);
	case CRM_INTEGER:
		return crm_stmt_bind_int64(to, i, crm_stmt_int64(from, c));
	case CRM_REAL:
		return crm_stmt_bind_double(to, i, crm_stmt_double(from, c));
	case CRM_TEXT:
		return crm_stmt_bind_text(to, i, crm_stmt_text(from, c), crm_stmt_bytes(from, c));
	case CRM_BLOB:
		return crm_stmt_bind_blob(to, i, crm_stmt_blob(from, c), crm_stmt_bytes(from, c));
	}
	return -1;
}

int crm_store_bulk_begin(struct crm_store *s, const char *table, struct crm_stmt *from,
			 struct crm_bulk **out, struct crm_err *e)
{
	struct crm_bulk *b;
	char *sql;
	int rc;

	*out = NULL;
	if (strchr(table, '"') || strlen(table) >= sizeof(b->table))
		return crm_err_set(e, CRM_EDATA, "odd table name '%s'", table);
	if (!(b = calloc(1, sizeof(*b))))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	b->s = s;
	snprintf(b->table, sizeof(b->table), "%s", table);
	if (s->ops->bulk_begin) {
		rc = s->ops->bulk_begin(b, from, e);
	} else if (!(sql = insert_sql(table, from))) {
		rc = crm_err_set(e, CRM_EDATA, "%s: cannot name its columns", table);
	} else {
		rc = crm_store_prepare(s, sql, 0, &b->ins, e);
		free(sql);
	}
	if (rc < 0) {
		free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int crm_bulk_row(struct crm_bulk *b, struct crm_stmt *from, struct crm_err *e)
{
	char msg[CRM_ERR_MAX];

	b->rows++;
	if (b->s->ops->bulk_row)
		return b->s->ops->bulk_row(b, from, e);
	for (int c = 0; c < crm_stmt_columns(from); c++)
		if (bind_value(b->ins, c + 1, from, c) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "%s, row %lld: cannot bind column %s",
					   b->table, b->rows, crm_stmt_column_name(from, c));
	if (crm_stmt_step(b->ins, e) < 0) {
		snprintf(msg, sizeof(msg), "%s", e->msg);
		return crm_err_set(e, e->code, "%s, row %lld: %s", b->table, b->rows, msg);
	}
	crm_stmt_reset(b->ins);
	return 0;
}

int crm_bulk_end(struct crm_bulk *b, struct crm_err *e)
{
	int rc = 0;

	if (!b)
		return 0;
	if (b->s->ops->bulk_end)
		rc = b->s->ops->bulk_end(b, e);
	crm_stmt_free(b->ins);
	free(b);
	return rc;
}

int crm_store_copy_rows(struct crm_store *s, const char *table, struct crm_stmt *from,
			void (*progress)(const char *table, long long rows, int done, void *arg),
			void *arg, long long *rows, struct crm_err *e)
{
	struct crm_bulk *b = NULL;
	int rc;

	*rows = 0;
	while ((rc = crm_stmt_step(from, e)) == 1) {
		if ((!b && crm_store_bulk_begin(s, table, from, &b, e) < 0) || crm_bulk_row(b, from, e) < 0) {
			rc = -1;
			break;
		}
		if (++*rows % 10000 == 0 && progress)
			progress(table, *rows, 0, arg);
	}
	if (rc < 0) {
		struct crm_err ignore = { 0 };

		crm_bulk_end(b, &ignore);
		return -1;
	}
	return crm_bulk_end(b, e);
}

int crm_store_prepare(struct crm_store *s, const char *sql, int flags,
		      struct crm_stmt **out, struct crm_err *e)
{
	return s->ops->prepare(s, sql, flags, out, e);
}

int crm_stmt_bind_null(struct crm_stmt *st, int i)
{
	return st->ops->bind(st, i, CRM_NULL, 0, 0, NULL, 0, 0);
}

int crm_stmt_bind_int64(struct crm_stmt *st, int i, long long v)
{
	return st->ops->bind(st, i, CRM_INTEGER, v, 0, NULL, 0, 0);
}

int crm_stmt_bind_double(struct crm_stmt *st, int i, double v)
{
	return st->ops->bind(st, i, CRM_REAL, 0, v, NULL, 0, 0);
}

int crm_stmt_bind_text(struct crm_stmt *st, int i, const char *v, size_t n)
{
	if (!v)
		return crm_stmt_bind_null(st, i);
	return st->ops->bind(st, i, CRM_TEXT, 0, 0, v, n == (size_t)-1 ? strlen(v) : n, 0);
}

int crm_stmt_bind_text_ref(struct crm_stmt *st, int i, const char *v, size_t n)
{
	if (!v)
		return crm_stmt_bind_null(st, i);
	return st->ops->bind(st, i, CRM_TEXT, 0, 0, v, n == (size_t)-1 ? strlen(v) : n, 1);
}

int crm_stmt_bind_blob(struct crm_stmt *st, int i, const void *v, size_t n)
{
	return st->ops->bind(st, i, CRM_BLOB, 0, 0, v ? v : "", n, 0);
}

int crm_stmt_step(struct crm_stmt *st, struct crm_err *e)
{
	return st->ops->step(st, e);
}

long long crm_stmt_changes(struct crm_stmt *st)
{
	return st->ops->changes(st);
}

int crm_stmt_columns(struct crm_stmt *st)
{
	return st->ops->ncolumns(st);
}

const char *crm_stmt_column_name(struct crm_stmt *st, int i)
{
	return st->ops->column_name(st, i);
}

enum crm_type crm_stmt_type(struct crm_stmt *st, int i)
{
	return st->ops->type(st, i);
}

long long crm_stmt_int64(struct crm_stmt *st, int i)
{
	return st->ops->int64(st, i);
}

double crm_stmt_double(struct crm_stmt *st, int i)
{
	return st->ops->dbl(st, i);
}

const char *crm_stmt_text(struct crm_stmt *st, int i)
{
	if (st->ops->type(st, i) == CRM_NULL)
		return NULL;
	return st->ops->bytes(st, i, NULL);
}

const void *crm_stmt_blob(struct crm_stmt *st, int i)
{
	return st->ops->bytes(st, i, NULL);
}

size_t crm_stmt_bytes(struct crm_stmt *st, int i)
{
	size_t n = 0;

	st->ops->bytes(st, i, &n);
	return n;
}

int crm_store_scrub(struct crm_store *s, const char *const *tables)
{
	return s->ops->scrub(s, tables, 0);
}

int crm_store_scrub_full(struct crm_store *s, const char *const *tables)
{
	return s->ops->scrub(s, tables, 1);
}

int crm_store_in_transaction(struct crm_store *s)
{
	return s->ops->in_transaction(s);
}

struct crm_stmt *crm_store_stmt(struct crm_store *s, const char *sql, struct crm_err *e)
{
	return s->ops->cached(s, sql, e);
}

struct crm_stmt *crm_store_stmt_text(struct crm_store *s, const char *sql, struct crm_err *e)
{
	return s->ops->cached_text(s, sql, e);
}

void crm_store_stmt_done(struct crm_stmt *st)
{
	if (st)
		st->ops->cached_done(st);
}

void crm_stmt_reset(struct crm_stmt *st)
{
	st->ops->reset(st);
}

void crm_stmt_free(struct crm_stmt *st)
{
	if (st)
		st->ops->free(st);
}

const char *crm_store_target(const char *path)
{
	const char *env;

	if (path && *path)
		return path;
	env = getenv("CRM_DB");
	if (env && *env)
		return env;
	return "crm.db";
}
