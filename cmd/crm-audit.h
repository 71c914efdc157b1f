/*
 * crm-audit.h - what crm-audit's subcommands share.
 */
#ifndef CRM_AUDIT_CMD_H
#define CRM_AUDIT_CMD_H

#include "../lib/audit.h"
#include "../lib/model.h"
#include "../lib/store/store.h"

/* Everything the bias command was asked. */
struct bias_args {
	struct crm_audit_bias b;
	const char *model, *report;
	int store, quiet;
	struct crm_override whatif[16];
	const char *whatif_spec[16];
	size_t nwhatif;
	int tty;		/* a table on a terminal, not records */
};


/* bias: measure, print, store; 1 on a violation. */
int audit_bias(struct crm_store *db, struct bias_args *a, int tty);

#endif
