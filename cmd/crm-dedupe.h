/*
 * crm-dedupe.h - crm-dedupe's subcommands of decisions (dedupe-review.c).
 */
#ifndef CRM_DEDUPE_CMD_H
#define CRM_DEDUPE_CMD_H

/* The subcommands, in this order; any other argument is a file of
 * records. */
extern const char *const dedupe_subs[];
enum { DEDUPE_REVIEW, DEDUPE_MERGES, DEDUPE_ACCEPT, DEDUPE_REJECT, DEDUPE_UNDO, DEDUPE_MERGE };

/* Run subcommand sub with args[0..nargs); a table where table is set.
 * The exit status. */
int dedupe_review(int sub, char **args, int nargs, int table);

#endif
