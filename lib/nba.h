/*
 * nba.h - the next best action for a deal or lead, with its reasons.
 */
#ifndef CRM_NBA_H
#define CRM_NBA_H

#include "store/store.h"

#include "features.h"
#include "util.h"

struct crm_action {
	const char *action;	/* follow_up, call_now, send_pricing, re_engage, nurture,
				 * book_meeting, propose_next_step, none */
	const char *title;	/* "Call now" */
	char reason[4][200];	/* why, in sentences */
	int nreasons;
};

/*
 * Decide the next action for row i of d (features as of now) with score
 * probability p, looking at the record's open tasks in db. The rules, in
 * order: an open task due within two days, or any open task of a record
 * scoring 20 or more (an item or a hesitation from a call); a burst of
 * interest (pricing views this week, engagement up) without a meeting;
 * engaged but not yet at pricing; a likely win gone quiet; an unlikely
 * one; a likely one with nothing open (book a meeting, or propose the
 * next step after one); else nothing, saying why.
 */
int crm_next_action(struct crm_store *db, const struct crm_dataset *d, size_t i,
		    double p, struct crm_action *a, struct crm_err *e);

#endif
