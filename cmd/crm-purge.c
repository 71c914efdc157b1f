/*
 * crm-purge - delete what is past its retention period; for cron.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/store/store.h"
#include "../lib/privacy.h"
#include "cli.h"

enum { O_RETAIN = 256 };

static const struct cli_opt opts[] = {
	{ "retain", O_RETAIN, "KIND=DAYS", "keep KIND (interactions, transcripts, leads, events, deliveries) DAYS days (repeatable)" },
	{ "dry-run", 'n', NULL, "count what is due, delete nothing" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-purge", "--retain KIND=DAYS... [--dry-run]",
	"Delete records older than their retention period and print what went (NDJSON).",
	opts,
};

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "interactions", "transcripts", "leads", "events", "deliveries" };
	struct crm_purge_rule rules[8];
	struct crm_purge p;
	struct crm_err e = { 0 };
	const char *arg;
	char actor[128], out[512];
	size_t n = 0;
	int k, dry = 0;
	struct crm_store *db;

	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		if (k == 'n') {
			dry = 1;
		} else if (k == O_RETAIN) {
			const char *eq = strchr(arg, '=');
			size_t i;

			for (i = 0; eq && i < sizeof(kinds) / sizeof(kinds[0]); i++)
				if (strlen(kinds[i]) == (size_t)(eq - arg) && !strncmp(kinds[i], arg, (size_t)(eq - arg)))
					break;
			if (!eq || i == sizeof(kinds) / sizeof(kinds[0]))
				cli_die(CRM_EUSAGE, "--retain '%s': want KIND=DAYS, KIND one of interactions, transcripts, leads, events, deliveries", arg);
			if (n == sizeof(rules) / sizeof(rules[0]))
				cli_die(CRM_EUSAGE, "--retain: too many rules");
			rules[n].kind = kinds[i];
			rules[n++].days = cli_num("retain", eq + 1, 1, 36500);
		}
	}
	if (optind < argc)
		cli_die(CRM_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (!n)
		cli_die(CRM_EUSAGE, "say what to purge: --retain KIND=DAYS (see --help)");
	db = cli_open(0);
	crm_actor_cli(actor, sizeof(actor));
	if (crm_purge(db, rules, n, actor, dry, &p, &e) < 0)
		cli_die_err(&e);
	snprintf(out, sizeof(out),
		 "{\"type\":\"purge\",\"dry_run\":%s,\"interactions\":%lld,\"transcripts\":%lld,\"leads\":%lld,\"events\":%lld,\"deliveries\":%lld}\n",
		 dry ? "true" : "false", p.interactions, p.transcripts, p.leads, p.events, p.deliveries);
	cli_write(out, strlen(out));
	crm_store_close(db);
	return cli_finish(0);
}
