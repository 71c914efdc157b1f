/*
 * crm-forget - erase a person (GDPR Art. 17, CCPA delete): crypto-shred
 * their data keys, delete what is held about them, suppress them from
 * later imports, and print a receipt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/store/store.h"
#include "../lib/privacy.h"
#include "cli.h"



static const struct cli_opt opts[] = {
	{ "dry-run", 'n', NULL, "count what would be erased, erase nothing" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-forget", "[--dry-run] SUBJECT...   (an email, a phone number or a contact id)",
	"Erase everything held about each SUBJECT and print a receipt per subject (NDJSON).",
	opts,
};

int main(int argc, char **argv)
{
	struct crm_err e = { 0 };
	struct crm_buf receipt;
	const char *arg;
	char actor[128];
	int k, dry = 0, missing = 0;
	struct crm_store *db;

	while ((k = cli_next(&cli, argc, argv, &arg)) != -1)
		if (k == 'n')
			dry = 1;
	if (optind >= argc)
		cli_die(CRM_EUSAGE, "say who to forget: an email, a phone number or a contact id");
	db = cli_open(0);
	crm_actor_cli(actor, sizeof(actor));
	crm_buf_init(&receipt, 0);
	for (int i = optind; i < argc; i++) {
		struct crm_forget f;
		int rc = crm_forget(db, argv[i], actor, dry, &f, &receipt, &e);

		if (rc < 0)
			cli_die_err(&e);
		if (rc > 0) {
			/* The identifier is not echoed: it may be the only
			 * copy of it left. */
			cli_warn("subject %d: no contact matches", i - optind + 1);
			missing = 1;
			continue;
		}
		if (cli_write(receipt.data, receipt.len) < 0 || cli_write("\n", 1) < 0)
			break;
		if (!dry && !f.checkpointed)
			cli_warn("the log could not be emptied now (another process is reading); "
				 "its pages are overwritten at the next checkpoint");
	}
	crm_buf_release(&receipt);
	crm_store_close(db);
	return cli_finish(missing ? CRM_EFINDING : 0);
}
