/*
 * Unit tests for lib/store: the same calls on each backend give the same
 * answers. Runs on a new SQLite file, and on each PostgreSQL URL given as
 * an argument (tests/cli/0151-store.t gives one on a throwaway server).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/crypt.h"
#include "../../lib/store/store.h"
#include "tap.h"

static const char *target;

static long long one_int(struct crm_store *s, const char *sql)
{
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	long long v = -1;

	if (crm_store_prepare(s, sql, 0, &st, &e) == 0) {
		if (crm_stmt_step(st, &e) == 1)
			v = crm_stmt_int64(st, 0);
		crm_stmt_free(st);
	}
	return v;
}

static void suite(void)
{
	struct crm_err e = { 0 };
	struct crm_store *s, *s2;
	struct crm_stmt *st;
	struct crm_counter c[16];
	char **tables;
	size_t n;
	int v, rows, has_contacts = 0, has_schema = 0;
	static const unsigned char blob[] = { 0, 1, 2, '\\', 'x', 0xff, '\n', '\t', 0 };

	ok(crm_store_open(&s, target, CRM_STORE_CREATE, &e) == 0, "%s: open (%s)", target, e.msg);
	ok(crm_store_version(s, &v, &e) == 0 && v == crm_store_schema_version(),
	   "migrated to this build's schema (%d)", v);
	ok(crm_store_tables(s, &tables, &e) == 0, "the tables are listed");
	for (char **t = tables; t && *t; t++) {
		has_contacts |= !strcmp(*t, "contacts");
		has_schema |= !strcmp(*t, "crm_schema") || !strncmp(*t, "sqlite_", 7);
	}
	ok(has_contacts && !has_schema, "data tables, not the bookkeeping");
	crm_store_free_list(tables);

	/* Values of every class, through parameters and back. */
	ok(crm_store_prepare(s, "SELECT ?, ?, ?, ?, ?, '?' || ?", 0, &st, &e) == 0,
	   "a statement with parameters, and a ? in a string ('%s')", e.msg);
	crm_stmt_bind_int64(st, 1, LLONG_MAX);
	crm_stmt_bind_double(st, 2, 0.1);
	crm_stmt_bind_text(st, 3, "na\xc3\xafve 'q' \"d\" \\ tab\t", (size_t)-1);
	crm_stmt_bind_null(st, 4);
	crm_stmt_bind_int64(st, 5, LLONG_MIN);
	crm_stmt_bind_text(st, 6, "x", 1);
	ok(crm_stmt_step(st, &e) == 1, "a row (%s)", e.msg);
	ok(crm_stmt_int64(st, 0) == LLONG_MAX && crm_stmt_int64(st, 4) == LLONG_MIN, "64-bit integers exact");
	ok(crm_stmt_double(st, 1) == 0.1, "a double to the last bit (%.17g)", crm_stmt_double(st, 1));
	is_str(crm_stmt_text(st, 2), "na\xc3\xafve 'q' \"d\" \\ tab\t", "text as it was");
	ok(crm_stmt_type(st, 3) == CRM_NULL && crm_stmt_text(st, 3) == NULL, "NULL is NULL");
	is_str(crm_stmt_text(st, 5), "?x", "a ? inside quotes is not a parameter");
	ok(crm_stmt_step(st, &e) == 0, "then done");
	crm_stmt_free(st);

	/* A write transaction, rolled back, leaves nothing; committed, stays. */
	ok(crm_store_begin(s, &e) == 0, "begin");
	ok(crm_store_exec(s, "INSERT INTO meta (key, value) VALUES ('t-store', 'a')", &e) == 0, "insert");
	crm_store_rollback(s);
	is_int(one_int(s, "SELECT count(*) FROM meta WHERE key = 't-store'"), 0, "rolled back: gone");
	ok(crm_store_prepare(s, "INSERT INTO meta (key, value) VALUES (?, ?)", 0, &st, &e) == 0, "prepare an insert");
	rows = 0;
	for (int i = 0; i < 300; i++) {
		char k[32];

		snprintf(k, sizeof(k), "t-store-%03d", i);
		crm_stmt_bind_text(st, 1, k, (size_t)-1);
		crm_stmt_bind_text(st, 2, i % 2 ? "odd" : "even", (size_t)-1);
		rows += crm_stmt_step(st, &e) == 0 && crm_stmt_changes(st) == 1;
		crm_stmt_reset(st);
	}
	is_int(rows, 300, "one statement run 300 times, a row each");
	crm_stmt_bind_text(st, 1, "t-store-000", (size_t)-1);
	ok(crm_stmt_step(st, &e) < 0 && e.code == CRM_EDATA, "a duplicate key is a data error (%d: %s)", e.code, e.msg);
	crm_stmt_free(st);
	ok(crm_store_prepare(s, "UPDATE meta SET value = 'odd!' WHERE value = ?", 0, &st, &e) == 0 &&
	   crm_stmt_bind_text(st, 1, "odd", 3) == 0 && crm_stmt_step(st, &e) == 0,
	   "an update");
	is_int(crm_stmt_changes(st), 150, "changes: the rows it changed");
	ok(crm_stmt_step(st, &e) == 0 && crm_stmt_changes(st) == 0, "stepped again: run again (none left)");
	crm_stmt_free(st);

	/* Bytes, NULs and all, in a bytea/BLOB column. */
	ok(crm_store_prepare(s, "INSERT INTO models (id, entity, created_at, params, features, metrics, "
			     "data_hash, blob, blob_size, blob_hash) VALUES ('m_t', 'deal', 't', '{}', '[]', '{}', "
			     "'h', ?, 9, 'h')", 0, &st, &e) == 0 &&
	   crm_stmt_bind_blob(st, 1, blob, sizeof(blob)) == 0 && crm_stmt_step(st, &e) == 0,
	   "a blob in (%s)", e.msg);
	crm_stmt_free(st);
	ok(crm_store_prepare(s, "SELECT blob FROM models WHERE id = 'm_t'", 0, &st, &e) == 0 &&
	   crm_stmt_step(st, &e) == 1, "and out");
	ok(crm_stmt_type(st, 0) == CRM_BLOB && crm_stmt_bytes(st, 0) == sizeof(blob) &&
	   !memcmp(crm_stmt_blob(st, 0), blob, sizeof(blob)), "byte for byte (%zu bytes)", crm_stmt_bytes(st, 0));
	crm_stmt_free(st);

	/* Rows streamed on a second connection while the first writes. */
	ok(crm_store_open(&s2, target, 0, &e) == 0, "a second connection");
	ok(crm_store_prepare(s2, "SELECT key FROM meta WHERE key LIKE 't-store-%' ORDER BY key", CRM_STMT_STREAM,
			     &st, &e) == 0, "a streamed select");
	rows = 0;
	while (crm_stmt_step(st, &e) == 1)
		rows++;
	is_int(rows, 300, "every row, one at a time");
	crm_stmt_free(st);
	crm_store_close(s2);

	/* Counters: the events' sequence goes on from where it was set. */
	ok(crm_store_exec(s, "INSERT INTO contacts (id, source, src_key, created_at, updated_at) "
			  "VALUES ('c_t1', 't', 'k1', 't', 't')", &e) == 0, "a contact (and its event)");
	ok(crm_store_set_counter(s, "events", 1000, &e) == 0, "set the events counter to 1000");
	ok(crm_store_exec(s, "UPDATE contacts SET city = 'Oslo' WHERE id = 'c_t1'", &e) == 0, "an update");
	is_int(one_int(s, "SELECT max(seq) FROM events"), 1001, "its event is number 1001");
	ok(crm_store_counters(s, c, 16, &n, &e) == 0, "the counters are read");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c[i].table, "events"))
			is_int(c[i].last, 1001, "events: 1001");
	ok(crm_store_set_counter(s, "events", 5, &e) == 0 &&
	   crm_store_exec(s, "DELETE FROM contacts WHERE id = 'c_t1'", &e) == 0 &&
	   one_int(s, "SELECT max(seq) FROM events") == 1002, "a counter is never set back");

	/* In a transaction, an atomic statement that fails takes back only
	 * itself; the transaction goes on and commits the rest. */
	ok(crm_store_begin(s, &e) == 0 &&
	   crm_store_prepare(s, "INSERT INTO meta (key, value) VALUES (?, 'x'), ('t-atom-b', 'x')",
			     CRM_STMT_ATOMIC, &st, &e) == 0, "an atomic insert of two rows");
	crm_stmt_bind_text(st, 1, "t-atom-a", (size_t)-1);
	ok(crm_stmt_step(st, &e) == 0 && crm_stmt_changes(st) == 2, "both in (%s)", e.msg);
	crm_stmt_reset(st);
	crm_stmt_bind_text(st, 1, "t-atom-c", (size_t)-1);
	ok(crm_stmt_step(st, &e) < 0 && e.code == CRM_EDATA, "again: the second row is a duplicate, refused");
	crm_stmt_reset(st);
	crm_stmt_bind_text(st, 1, "t-atom-d", (size_t)-1);
	ok(crm_stmt_step(st, &e) < 0, "and again");
	crm_stmt_free(st);
	ok(crm_store_exec(s, "INSERT INTO meta (key, value) VALUES ('t-atom-e', 'x')", &e) == 0,
	   "the transaction goes on (%s)", e.msg);
	ok(crm_store_commit(s, &e) == 0, "and commits (%s)", e.msg);
	is_int(one_int(s, "SELECT count(*) FROM meta WHERE key LIKE 't-atom-%'"), 3,
	       "what held is kept; the refused statements left nothing (no t-atom-c or -d)");

	/* SQLite's time functions, as the tools call them, the same on both. */
	{
		static const char *const q[][2] = {
			{ "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2024-03-01T10:00:00.250Z', '-7 days')",
			  "2024-02-23T10:00:00.250Z" },
			{ "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', '2024-03-01', '+2 days')", "2024-03-03T00:00:00Z" },
			{ "SELECT strftime('%Y-%m-%d', '2024-12-31T23:30:00Z', '+1 hours')", "2025-01-01" },
			{ "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2024-02-29 06:07:08')", "2024-02-29T06:07:08.000Z" },
			{ "SELECT julianday('2024-03-01T12:00:00Z') - julianday('2024-02-29')", "1.5" },
			{ "SELECT julianday('2000-01-01T12:00:00Z')", "2451545.0" },
			{ "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || 3 || ' days') < "
			  "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')", "1" },
			{ "SELECT coalesce(julianday('not a time'), -1.0)", "-1.0" },
		};

		for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			char got[64] = "";

			memset(&e, 0, sizeof(e));
			ok(crm_store_prepare(s, q[i][0], 0, &st, &e) == 0 && crm_stmt_step(st, &e) == 1,
			   "%s (%s)", q[i][0], e.msg);
			if (crm_stmt_type(st, 0) == CRM_REAL)
				snprintf(got, sizeof(got), "%.1f", crm_stmt_double(st, 0));
			else if (crm_stmt_type(st, 0) == CRM_INTEGER)
				snprintf(got, sizeof(got), "%lld", crm_stmt_int64(st, 0));
			else if (crm_stmt_text(st, 0))
				snprintf(got, sizeof(got), "%s", crm_stmt_text(st, 0));
			crm_stmt_free(st);
			ok(!strcmp(got, q[i][1]), "gives %s (%s)", q[i][1], got);
		}
	}

	/* Errors name what went wrong. */
	ok(crm_store_prepare(s, "SELECT nosuch FROM meta", 0, &st, &e) < 0 && strstr(e.msg, "nosuch"),
	   "an unknown column: prepare fails, naming it (%s)", e.msg);
	crm_store_close(s);
}

int main(int argc, char **argv)
{
	char path[64];

	snprintf(path, sizeof(path), "/tmp/crm-t-store-%d.db", (int)getpid());
	target = path;
	suite();
	unlink(path);
	snprintf(path, sizeof(path), "/tmp/crm-t-store-%d.db-wal", (int)getpid());
	unlink(path);
	snprintf(path, sizeof(path), "/tmp/crm-t-store-%d.db-shm", (int)getpid());
	unlink(path);
	for (int i = 1; i < argc; i++) {
		target = argv[i];
		suite();
	}
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
