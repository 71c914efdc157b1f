/*
 * crm-events - the database's change log as NDJSON, for pipelines that
 * react to changes: every insert, update and delete of a record, scores
 * that moved, calls analysed, merges, tasks fallen due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/crypt.h"
#include "../lib/ndjson.h"
#include "../lib/store/store.h"
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
	"Print the change log (the events table) as NDJSON, and follow it; on SQLite or PostgreSQL.",
	opts,
};

/* One event as the NDJSON line of the change log: {"seq":..,"at":..,
 * "entity":..,"id":..,"op":..,"payload":..}. */
static int event_line(struct crm_buf *b, struct crm_stmt *st)
{
	const char *payload = crm_stmt_text(st, 5);
	int bad = 0;

	crm_buf_reset(b);
	bad |= crm_json_key(b, "seq") < 0 || crm_json_int(b, crm_stmt_int64(st, 0)) < 0;
	for (int c = 1; c <= 4; c++) {
		static const char *const keys[] = { NULL, "at", "entity", "id", "op" };
		const char *v = crm_stmt_text(st, c);

		bad |= crm_json_key(b, keys[c]) < 0 || crm_json_str(b, v ? v : "", v ? strlen(v) : 0) < 0;
	}
	bad |= crm_json_key(b, "payload") < 0;
	bad |= payload ? crm_json_compact(b, payload, strlen(payload)) < 0 : crm_buf_adds(b, "null") < 0;
	bad |= crm_buf_adds(b, "}\n") < 0;
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *arg, *entity = NULL, *op = NULL;
	long long since = -1, limit = -1, n = 0;
	double interval = 0.2;
	int k, follow = 0, table = cli_isatty(1), rc = 0, done = 0;
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	struct crm_store *s;
	struct crm_buf line;

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
	s = cli_open(CRM_STORE_READONLY);
	/* Heard from before the first look: nothing logged between the two
	 * goes unnoticed until the next interval. */
	if (follow && crm_store_listen(s, &e) < 0)
		cli_die_err(&e);
	if (since < 0) {
		since = 0;
		if (follow && crm_store_last_event(s, &since, &e) < 0)
			cli_die_err(&e);
	}
	crm_buf_init(&line, 0);
	cli_catch_stop();
	while (!cli_stopping && !done) {
		int got = 0;

		if (!(st = crm_store_events(s, since, entity, op, 1000, &e)))
			cli_die_err(&e);
		while ((rc = crm_stmt_step(st, &e)) == 1) {
			int w;

			since = crm_stmt_int64(st, 0);
			got++;
			if (table) {
				crm_buf_reset(&line);
				crm_buf_addf(&line, "%8lld  %.19s  %-11s %-22s %s\n", since,
					     crm_stmt_text(st, 1), crm_stmt_text(st, 2),
					     crm_stmt_text(st, 3), crm_stmt_text(st, 4));
			} else if (event_line(&line, st) < 0) {
				cli_die(CRM_ESOFTWARE, "out of memory");
			}
			w = cli_write(line.data, line.len);
			if (w < 0 || (limit > 0 && ++n >= limit)) {
				done = 1;
				break;
			}
		}
		if (rc < 0)
			cli_die_err(&e);
		crm_store_stmt_done(st);
		fflush(stdout);
		if (got)
			continue;
		if (!follow)
			break;
		if (crm_store_wait(s, (int)(interval * 1000), &e) < 0)
			cli_die_err(&e);
	}
	crm_buf_release(&line);
	crm_store_close(s);
	return cli_finish(0);
}
