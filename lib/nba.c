/*
 * nba.c - rules on top of the score and its features.
 *
 * The score says how likely; the action says what to do about it now.
 * Each rule reads features the model already computed as of now, so the
 * reasons agree with what crm-explain shows.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nba.h"

static float feat(const struct crm_dataset *d, size_t i, const char *name)
{
	int j = crm_dataset_feature(d, name);

	return j < 0 ? NAN : d->x[i * d->nfeat + (size_t)j];
}

__attribute__((format(printf, 2, 3)))
static void reason(struct crm_action *a, const char *fmt, ...)
{
	va_list ap;

	if (a->nreasons >= 4)
		return;
	va_start(ap, fmt);
	vsnprintf(a->reason[a->nreasons++], sizeof(a->reason[0]), fmt, ap);
	va_end(ap);
}

int crm_next_action(struct crm_store *db, const struct crm_dataset *d, size_t i,
		    double p, struct crm_action *a, struct crm_err *e)
{
	float pv7 = feat(d, i, "pricing_views_7d"), pv30 = feat(d, i, "pricing_views_30d");
	float vel = feat(d, i, "touch_velocity"), t30 = feat(d, i, "touches_30d");
	float meet = feat(d, i, "meetings_90d"), since = feat(d, i, "days_since_touch");
	struct crm_stmt *st;
	int is_deal = !strcmp(d->type->kind, "deal");

	memset(a, 0, sizeof(*a));
	/* 1. An open task that is due: do what was promised. 2. Any other
	 * open task (an item from a call, a hesitation to answer) of a
	 * record worth the time, before anything new. */
	if (!(st = crm_store_stmt(db, is_deal ?
		"SELECT title, due_at, CASE WHEN due_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+2 days') THEN 1 ELSE 0 END FROM tasks "
		"WHERE status = 'open' AND (deal_id = ?1 OR contact_id = (SELECT contact_id FROM deals WHERE id = ?1)) "
		"ORDER BY due_at IS NULL, due_at LIMIT 1" :
		"SELECT title, due_at, CASE WHEN due_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+2 days') THEN 1 ELSE 0 END FROM tasks "
		"WHERE status = 'open' AND contact_id = ?1 ORDER BY due_at IS NULL, due_at LIMIT 1", e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, d->id[i], (size_t)-1);
	if (crm_stmt_step(st, e) > 0 && (crm_stmt_int64(st, 2) || p >= 0.2)) {
		const char *due = crm_stmt_text(st, 1);

		a->action = "follow_up";
		a->title = "Follow up on an open action item";
		if (due)
			reason(a, "\"%s\" is due %.10s", crm_stmt_text(st, 0), due);
		else
			reason(a, "\"%s\" is open", crm_stmt_text(st, 0));
		crm_store_stmt_done(st);
		return 0;
	}
	crm_store_stmt_done(st);
	/* 2. Interest is peaking: call while it lasts. */
	if ((pv7 >= 2 || (vel >= 2 && t30 >= 3)) && !(meet > 0 && since < 3)) {
		a->action = "call_now";
		a->title = "Call now";
		if (pv7 >= 1)
			reason(a, "Visited the pricing page %g times in the last 7 days", pv7);
		if (vel >= 2)
			reason(a, "Engagement this week is %.1fx the weekly average before", vel);
		reason(a, "Score %.0f", 100 * p);
		return 0;
	}
	/* 3. Engaged, likely, but has not looked at prices. */
	if (p >= 0.5 && t30 >= 2 && pv30 == 0) {
		a->action = "send_pricing";
		a->title = "Send pricing";
		reason(a, "%g interactions in the last 30 days, none on the pricing page", t30);
		reason(a, "Score %.0f", 100 * p);
		return 0;
	}
	/* 4. A likely win that went quiet. */
	if (p >= 0.3 && (isnan(since) || since >= 21)) {
		a->action = "re_engage";
		a->title = "Re-engage";
		if (isnan(since))
			reason(a, "No interaction in the last %d days", 90);
		else
			reason(a, "Last interaction %.0f days ago", since);
		reason(a, "Score %.0f: still worth it", 100 * p);
		return 0;
	}
	/* 5. Unlikely: keep warm, spend no rep time. */
	if (p < 0.2) {
		a->action = "nurture";
		a->title = "Nurture";
		reason(a, "Score %.0f: similar records are rarely won", 100 * p);
		return 0;
	}
	/* 6. Likely, engaged, nothing open: move it forward. */
	if (p >= 0.5) {
		if (!(meet > 0)) {
			a->action = "book_meeting";
			a->title = "Book a meeting";
			reason(a, "Score %.0f: likely, and no meeting in the last 90 days", 100 * p);
		} else {
			a->action = "propose_next_step";
			a->title = is_deal ? "Propose the next step to close" : "Propose the next step";
			reason(a, "Score %.0f: likely, %g %s in the last 90 days", 100 * p, meet,
			       meet == 1 ? "meeting" : "meetings");
		}
		if (!isnan(since) && roundf(since) <= 1)
			reason(a, "Last interaction %s", roundf(since) ? "yesterday" : "today");
		else if (!isnan(since))
			reason(a, "Last interaction %.0f days ago", since);
		return 0;
	}
	a->action = "none";
	a->title = "Nothing now";
	reason(a, "Score %.0f, engagement steady: nothing new to act on until the next interaction",
	       100 * p);
	return 0;
}
