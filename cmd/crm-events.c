/*
 * crm-events - the database's change log as NDJSON, for pipelines that
 * react to changes: every insert, update and delete of a record, scores
 * that moved, calls analysed, merges, tasks fallen due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/db.h"
#include "cli.h"

enum { O_SINCE = 256, O_FOLLOW, O_ENTITY, O_OP, O_LIMIT, O_INTERVAL };

static const struct cli_opt opts[] = {
	{ "since", O_SINCE, "SEQ", "events after sequence SEQ (default 0: from the start; with --follow: from now)" },
	{ "follow", O_FOLLOW, NULL, "keep printing events as they are logged" },
	{ "entity", O_ENTITY, "KIND", "only events of this kind (contact, deal, score, call, task, merge...)" },
	{ "op", O_OP, "OP", "only this operation (insert, update, delete, changed, analysed, due, done)" },
	{ "limit", O_LIMIT, "N", "stop after N events" },
	{ "interval", O_INTERVAL, "SECONDS", "follow: how often to look (default 0.2)" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-events", "[options]",
	"Print the change log (the events table) as NDJSON, and follow it.",
	opts,
};

int main(int argc, char **argv)
{
	const char *arg, *entity = NULL, *op = NULL;
	long long since = -1, limit = -1, n = 0;
	double interval = 0.2;
	int k, follow = 0, table = cli_isatty(1), rc, done = 0;
	struct crm_err e = { 0 };
	sqlite3_stmt *st;
	sqlite3 *db;

	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (k) {
		case O_SINCE: since = (long long)cli_num("since", arg, 0, 9e18); break;
		case O_FOLLOW: follow = 1; break;
		case O_ENTITY: entity = arg; break;
		case O_OP: op = arg; break;
		case O_LIMIT: limit = (long long)cli_num("limit", arg, 1, 9e18); break;
		case O_INTERVAL: interval = cli_num("interval", arg, 0.01, 3600); break;
		case 'f': table = cli_table(arg); break;
		}
	}
	if (optind < argc)
		cli_die(CRM_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (crm_db_open(&db, cli_db, CRM_DB_READONLY, &e) < 0)
		cli_die_err(&e);
	if (since < 0) {
		since = 0;
		if (follow) {
			char v[32];

			if (crm_db_text1(db, "SELECT coalesce(max(seq), 0) FROM events WHERE ?1 IS NULL", NULL,
					 v, sizeof(v), &e) < 0)
				cli_die_err(&e);
			since = atoll(v);
		}
	}
	if (sqlite3_prepare_v2(db, "SELECT seq, json_object('seq', seq, 'at', at, 'entity', entity, 'id', entity_id, "
			       "'op', op, 'payload', json(payload)), at, entity, entity_id, op FROM events "
			       "WHERE seq > ?1 AND (?2 IS NULL OR entity = ?2) AND (?3 IS NULL OR op = ?3) "
			       "ORDER BY seq LIMIT 1000", -1, &st, NULL) != SQLITE_OK)
		cli_die(CRM_ESOFTWARE, "%s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 2, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	cli_catch_stop();
	while (!cli_stopping && !done) {
		int got = 0;

		sqlite3_bind_int64(st, 1, since);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			char line[512];
			const char *json = (const char *)sqlite3_column_text(st, 1);

			since = sqlite3_column_int64(st, 0);
			got++;
			int w;

			if (table) {
				snprintf(line, sizeof(line), "%8lld  %.19s  %-11s %-22s %s\n", since,
					 sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
					 sqlite3_column_text(st, 4), sqlite3_column_text(st, 5));
				w = cli_write(line, strlen(line));
			} else {
				w = cli_write(json, strlen(json)) < 0 ? -1 : cli_write("\n", 1);
			}
			if (w < 0 || (limit > 0 && ++n >= limit)) {
				done = 1;
				break;
			}
		}
		if (!done && rc != SQLITE_DONE)
			cli_die(crm_db_code(rc), "%s", sqlite3_errmsg(db));
		sqlite3_reset(st);
		fflush(stdout);
		if (got)
			continue;
		if (!follow)
			break;
		{
			struct timespec ts = { (time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	sqlite3_finalize(st);
	crm_db_close(db);
	return cli_finish(0);
}
