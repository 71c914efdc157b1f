/* Unit tests for lib/db and lib/entity. */
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/store/db.h"
#include "../../lib/store/store.h"
#include "../../lib/entity.h"
#include "tap.h"

static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *pragma_text(sqlite3 *db, const char *sql)
{
	static char buf[64];
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static void test_db(void)
{
	char path[64];
	struct crm_err e = { 0 };
	sqlite3 *db;
	int from, to;

	snprintf(path, sizeof(path), "/tmp/crm-unit-%d.db", (int)getpid());
	unlink(path);
	ok(crm_db_open(&db, path, 0, &e) < 0 && e.code == CRM_ENOINPUT,
	   "missing file without CREATE: %s", e.msg);
	ok(strstr(e.msg, "crm init") != NULL, "message says what to do");
	ok(crm_db_open(&db, path, CRM_DB_CREATE, &e) == 0, "create");
	is_str(pragma_text(db, "PRAGMA journal_mode"), "wal", "WAL");
	is_int(pragma_int(db, "PRAGMA foreign_keys"), 1, "foreign keys on");
	is_int(pragma_int(db, "PRAGMA secure_delete"), 1, "secure_delete on");
	{	/* A second writer waits for the lock, within its bound. */
		sqlite3 *db2;
		double t0;
		int rc;

		crm_store_busy_timeout(300);
		ok(crm_db_open(&db2, path, 0, &e) == 0, "a second connection");
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		t0 = crm_now();
		rc = sqlite3_exec(db2, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		ok(rc == SQLITE_BUSY && crm_now() - t0 >= 0.25, "a writer waits for the lock up to its bound (%.2f s)",
		   crm_now() - t0);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		ok(sqlite3_exec(db2, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL) == SQLITE_OK, "and gets it once free");
		crm_db_close(db2);
		crm_store_busy_timeout(-1);
	}
	is_int(pragma_int(db, "PRAGMA user_version"), crm_db_schema_version(), "schema current");
	for (size_t i = 0; i < crm_nentities; i++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", crm_entities[i].table);
		is_int(pragma_int(db, sql), 0, "table %s exists", crm_entities[i].table);
	}
	is_int(pragma_int(db, "SELECT count(*) FROM events"), 0, "events table exists");
	ok(crm_db_migrate(db, &from, &to, &e) == 0 && from == to, "migrating again is a no-op");
	ok(crm_db_exec(db, "INSERT INTO accounts (id, source, src_key, name, name_key, created_at, updated_at) VALUES ('a_1','s','k','Acme','acme','t','t')", &e) == 0, "insert an account");
	is_int(pragma_int(db, "SELECT count(*) FROM events WHERE entity_id = 'a_1' AND op = 'insert'"), 1, "insert trigger logged an event");
	crm_db_exec(db, "UPDATE accounts SET industry = 'retail' WHERE id = 'a_1'", &e);
	is_str(pragma_text(db, "SELECT payload FROM events WHERE op = 'update'"), "{\"changed\":[\"industry\"]}", "update event names the changed column");
	ok(crm_db_exec(db, "INSERT INTO contacts (id, source, src_key, account_id, created_at, updated_at) VALUES ('c_1','s','k','a_nope','t','t')", &e) < 0 && e.code == CRM_EDATA,
	   "foreign key enforced: %s", e.msg);
	crm_db_exec(db, "PRAGMA user_version = 999", &e);
	crm_db_close(db);
	ok(crm_db_open(&db, path, 0, &e) < 0 && e.code == CRM_EDATA,
	   "a newer schema is refused: %s", e.msg);
	unlink(path);
	{
		char p2[80];

		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
	setenv("CRM_DB", "/tmp/x.db", 1);
	is_str(crm_store_target(NULL), "/tmp/x.db", "$CRM_DB is the default");
	is_str(crm_store_target("a.db"), "a.db", "an explicit path wins");
	unsetenv("CRM_DB");
	is_str(crm_store_target(NULL), "crm.db", "else ./crm.db");
}

static void test_entity(void)
{
	const struct crm_entity *c = crm_entity_find("contact");
	const struct crm_entity *d = crm_entity_find("deals");
	char out[64];
	const char *maven[] = { "opportunity_id", "sales_agent", "product", "account",
			  "deal_stage", "engage_date", "close_date", "close_value" };
	const char *people[] = { "First Name", "Last Name", "E-mail Address", "Phone" };

	ok(c && d, "find by kind and by table");
	is_int(crm_entity_map_header(c, "E-mail Address"), crm_entity_field(c, "email"), "E-mail Address -> email");
	is_int(crm_entity_map_header(c, "email_address"), crm_entity_field(c, "email"), "email_address -> email");
	is_int(crm_entity_map_header(c, "Prospect ID"), CRM_COL_EXTERNAL_ID, "Prospect ID -> external id");
	is_int(crm_entity_map_header(c, "Favourite Colour"), CRM_COL_NONE, "unknown -> attrs");
	is_int(crm_entity_map_header(d, "close_value"), crm_entity_field(d, "amount"), "close_value -> amount");
	is_int(crm_entity_map_header(d, "engage_date"), crm_entity_field(d, "created_at"), "engage_date -> created_at");
	is_int(crm_entity_map_header(d, "account_id"), crm_entity_field(d, "account_id"), "account_id -> account_id");
	ok(crm_entity_enum(&c->fields[crm_entity_field(c, "lifecycle_stage")], "Marketing Qualified Lead", out) == 0, "enum alias");
	is_str(out, "mql", "MQL canonical");
	ok(crm_entity_enum(&c->fields[crm_entity_field(c, "consent")], "Opt-In", out) == 0, "consent alias");
	is_str(out, "granted", "opt-in is granted");
	ok(crm_entity_enum(&c->fields[crm_entity_field(c, "consent")], "maybe", out) < 0, "strict enum rejects");
	ok(crm_entity_enum(&c->fields[crm_entity_field(c, "lifecycle_stage")], "Closed - Nurture", out) == 0, "lenient enum keeps");
	is_str(out, "closed_nurture", "kept readable");
	ok(crm_entity_guess("data/sales_pipeline.csv", NULL, 0) == d, "pipeline file is deals");
	ok(crm_entity_guess("x.csv", maven, 8) == d, "deal headers are deals");
	ok(crm_entity_guess("-", people, 4) == c, "people headers are contacts");
	ok(crm_entity_guess("-", people, 1) == NULL, "one header is not enough to tell");
	ok(crm_entity_by_id("d_01abc") == d, "type by id prefix");
}

int main(void)
{
	test_db();
	test_entity();
	return done_testing();
}
