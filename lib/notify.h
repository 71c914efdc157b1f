/*
 * notify.h - messages to Slack incoming webhooks.
 *
 * The payload is what Slack expects: "text" (the fallback shown in
 * notifications) and "blocks": a header, the body as mrkdwn sections (one
 * per paragraph, each under Slack's 3000-character limit), optional
 * fields, and a context line. Delivery retries connection failures, 429
 * (after Retry-After) and 5xx with exponential backoff.
 */
#ifndef CRM_NOTIFY_H
#define CRM_NOTIFY_H

#include <stddef.h>

#include "util.h"

struct crm_note {
	const char *title;	/* header; NULL for none */
	const char *text;	/* body, Slack mrkdwn */
	const char *status;	/* "ok", "warn", "fail" or NULL: an emoji in the header */
	const char *const *fields;	/* "Label=value" pairs */
	size_t nfields;
	const char *context;	/* small print: "crm nightly on host" */
};

/* The Slack payload as JSON text (free() it), or NULL when out of memory. */
char *crm_slack_payload(const struct crm_note *n);

/* POST body (JSON) to url; retries transient failures. CRM_EUNAVAILABLE
 * when the webhook cannot be reached or keeps failing. */
int crm_webhook_post(const char *url, const char *body, int retries, long timeout,
		     struct crm_err *e);

/*
 * The same, one request with extra header lines ("X-Name: value"), the
 * HTTP status in *status (0 when none came back).
 */
int crm_webhook_send(const char *url, const char *body, const char *const *headers,
		     size_t nheaders, int retries, long timeout, long *status,
		     struct crm_err *e);

#endif
