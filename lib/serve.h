/*
 * serve.h - the HTTP server of crm-serve (libmicrohttpd): the JSON API,
 * the event stream (Server-Sent Events), metrics, the page, limits.
 */
#ifndef CRM_SERVE_H
#define CRM_SERVE_H

#include <stddef.h>

#include "util.h"

struct crm_serve_opts {
	const char *db_path;
	const char *listen;	/* "127.0.0.1:8080"; port 0 picks a free one */
	const char *tls_cert;	/* PEM text, or NULL for plain HTTP */
	const char *tls_key;
	int insecure;		/* plain HTTP on an address other than loopback */
	unsigned threads;	/* worker threads (default 4) */
	unsigned max_conns;	/* connections in all (default 2048) */
	unsigned max_per_ip;	/* connections per client address (0: no limit) */
	unsigned max_idle_per_ip;	/* of them idle, before the oldest is closed (0: no
					 * limit; idle ones are shut near max_conns) */
	unsigned max_active_per_ip;	/* requests in flight per client, past it 503
					 * (0: no limit) */
	const char *trusted_proxy;	/* comma-separated IPv4 addresses whose
					 * X-Forwarded-For names the client */
	unsigned timeout;	/* seconds for a whole request, and idle (default 15) */
	size_t max_body;	/* bytes (default 1 MiB) */
	double rate;		/* requests per second per token (0: no limit) */
	double burst;		/* bucket size (default 2 x rate) */
	int hooks;		/* deliver webhooks from the server (default on) */
	double hook_backoff;	/* first retry delay, seconds (default 2) */
	int hook_attempts;	/* attempts before the dead-letter list (default 8) */
	/* Messages (errors, and with access_log a line per request). */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	int access_log;
};

struct crm_server;

/* Start serving; NULL with e filled (address in use, bad TLS files...). */
struct crm_server *crm_serve_start(const struct crm_serve_opts *o, struct crm_err *e);

/* The port it listens on; where, as a URL ("http://127.0.0.1:8080"). */
unsigned crm_serve_port(const struct crm_server *s);
const char *crm_serve_url(const struct crm_server *s);

/* Stop: close the streams, finish the requests under way, free. */
void crm_serve_stop(struct crm_server *s);

#endif
