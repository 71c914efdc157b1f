/*
 * hooks.h - webhook subscriptions and their deliveries.
 *
 * Events of the log become deliveries (one per subscription that wants
 * them), and deliveries are posted with retries and exponential backoff;
 * after the last attempt a delivery is dead (the dead-letter list) until
 * requeued. Generic deliveries are signed:
 *   X-CRM-Timestamp: UNIX-SECONDS
 *   X-CRM-Signature: v1=HEX(HMAC-SHA256(secret, TIMESTAMP "." BODY))
 * Slack ones are incoming-webhook messages.
 */
#ifndef CRM_HOOKS_H
#define CRM_HOOKS_H

#include <signal.h>

#include <stdatomic.h>
#include <stddef.h>


#include "id.h"
#include "util.h"

struct crm_store;
struct crm_stmt;

/* Event types a subscription can ask for. */
#define CRM_HOOK_TYPES "score.crossed call.hesitant task.due merge.done"

struct crm_hooks_opts {
	double backoff;		/* first retry after this many seconds (0: 2) */
	int attempts;		/* attempts before dead (0: 8) */
	long timeout;		/* seconds per request (10) */
	const atomic_int *stop;	/* stop between deliveries when set */
};

#define CRM_HOOKS_MAXFAIL 8

struct crm_hooks_stats {
	size_t queued, tried, delivered, dead;
	size_t nfailures;
	char failures[CRM_HOOKS_MAXFAIL][CRM_ERR_MAX + 32];	/* "wh_...: host: HTTP 500" */
};

/*
 * Subscribe url to events (comma-separated types or "*"), format "slack"
 * or "json"; threshold for score.crossed (-1: 70). A json subscription
 * without a secret gets a new one, returned in secret_out[65].
 */
int crm_hook_add(struct crm_store *db, const char *url, const char *format, const char *events,
		 int threshold, const char *secret, char *id_out, char *secret_out,
		 struct crm_err *e);

/* Delete a subscription and its deliveries. */
int crm_hook_remove(struct crm_store *db, const char *id, struct crm_err *e);

/* Requeue dead deliveries (of one subscription, or all with NULL); their count. */
long crm_hook_requeue(struct crm_store *db, const char *id, struct crm_err *e);

/* The subscriptions, oldest first, as rows (id, format, events, threshold,
 * active, created_at, pending, dead, url: a secret, for its host only). */
int crm_hook_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e);
/* The deliveries, oldest first, or only the dead ones, as rows (id,
 * webhook, seq, type, status, attempts, last_status, last_error,
 * created_at, and delivered_at but for the dead). */
int crm_hook_delivery_rows(struct crm_store *db, int dead, struct crm_stmt **st, struct crm_err *e);

/*
 * One pass: tasks fallen due become task/due events; new events become
 * deliveries; deliveries due are tried once each. 0, or -1 with e.
 */
int crm_hooks_pass(struct crm_store *db, const struct crm_hooks_opts *o,
		   struct crm_hooks_stats *st, struct crm_err *e);

/*
 * Passes until *stop is set (or, with once, until a pass finds nothing to
 * do), half a second apart while there is nothing to try; each failure
 * is told to failed. Counts add up in *total (failures not kept). 0, or
 * -1 with e.
 */
int crm_hooks_run(struct crm_store *db, const struct crm_hooks_opts *o, int once,
		  volatile sig_atomic_t *stop, void (*failed)(void *ctx, const char *what),
		  void *ctx, struct crm_hooks_stats *total, struct crm_err *e);

#endif
