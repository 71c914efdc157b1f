/*
 * crm-serve - the HTTP API, the event stream, webhooks and the "what
 * matters now" page over the database; and the tokens and webhook
 * subscriptions they use.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/auth.h"
#include "../lib/hooks.h"
#include "../lib/ndjson.h"
#include "../lib/row.h"
#include "../lib/serve.h"
#include "../lib/store/store.h"
#include "cli.h"

enum { O_LISTEN = 256, O_CERT, O_KEY, O_INSECURE, O_THREADS, O_MAXCONN, O_PERIP,
       O_TIMEOUT, O_MAXBODY, O_MAXIDLE, O_MAXACTIVE, O_PROXY, O_RATE, O_BURST, O_NOHOOKS, O_BACKOFF, O_ATTEMPTS,
       O_ROLE, O_USER, O_TEAM, O_EXPIRES, O_FORMAT, O_EVENTS, O_THRESHOLD,
       O_SECRETFILE, O_URLFILE, O_ONCE, O_ACCESSLOG, O_DEAD };

static const struct cli_opt opts[] = {
	{ "listen", O_LISTEN, "ADDR:PORT", "where to listen (default 127.0.0.1:8080; port 0: any free one)" },
	{ "tls-cert", O_CERT, "FILE", "serve HTTPS (TLS 1.2+) with this PEM certificate chain" },
	{ "tls-key", O_KEY, "FILE", "the certificate's PEM private key" },
	{ "insecure", O_INSECURE, NULL, "allow plain HTTP on an address other than loopback" },
	{ "threads", O_THREADS, "N", "worker threads (default 4)" },
	{ "max-connections", O_MAXCONN, "N", "open connections in all (default 2048)" },
	{ "max-per-ip", O_PERIP, "N", "open connections per client address (default: no limit)" },
	{ "max-idle-per-ip", O_MAXIDLE, "N", "idle connections per client address; past it the oldest is closed (default: no limit)" },
	{ "max-active-per-ip", O_MAXACTIVE, "N", "requests in flight per client; past it 503 (default: no limit)" },
	{ "trusted-proxy", O_PROXY, "ADDR,...", "balancers whose X-Forwarded-For names the client (IPv4)" },
	{ "timeout", O_TIMEOUT, "SECONDS", "a request must arrive whole, and an idle connection closes, within this (default 15)" },
	{ "max-body", O_MAXBODY, "BYTES", "largest request body (default 1048576)" },
	{ "rate", O_RATE, "N", "requests per second per token, 0 for no limit (default 50)" },
	{ "burst", O_BURST, "N", "requests a token may make at once (default 2 x rate)" },
	{ "no-webhooks", O_NOHOOKS, NULL, "do not deliver webhooks from this server" },
	{ "hook-backoff", O_BACKOFF, "SECONDS", "first webhook retry after (default 2, doubling)" },
	{ "hook-attempts", O_ATTEMPTS, "N", "webhook attempts before the dead-letter list (default 8)" },
	{ "access-log", O_ACCESSLOG, NULL, "a line per request on stderr" },
	{ "role", O_ROLE, "ROLE", "token add: rep, manager or admin (default rep)" },
	{ "user", O_USER, "NAME", "token add: the owner name of the user's records (default NAME)" },
	{ "team", O_TEAM, "TEAM", "token add: a manager's team (users.team)" },
	{ "expires", O_EXPIRES, "TIME", "token add: when the token stops working (ISO 8601)" },
	{ "format", O_FORMAT, "FMT", "hook add: slack or json (default json); lists: ndjson or table" },
	{ "events", O_EVENTS, "TYPES", "hook add: score.crossed,call.hesitant,task.due,merge.done or * (default *)" },
	{ "threshold", O_THRESHOLD, "SCORE", "hook add: the score that score.crossed watches (default 70)" },
	{ "secret-file", O_SECRETFILE, "FILE", "hook add: the signing secret (default: a new one, printed)" },
	{ "url-file", O_URLFILE, "FILE", "hook add: read the URL from FILE (Slack URLs are secrets)" },
	{ "once", O_ONCE, NULL, "hook run: one pass, then exit" },
	{ "dead", O_DEAD, NULL, "hook deliveries: only the dead-letter list" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-serve", "[options] | token add NAME | token list | token revoke ID|NAME | "
	"hook add URL | hook list | hook rm ID | hook deliveries | hook retry [ID] | hook run",
	"Serve the JSON API, the event stream and the page; manage API tokens and webhooks.",
	opts,
};

/* Rows as JSON objects of their first columns (ctx: how many). */
static int plain_row(struct crm_buf *b, struct crm_stmt *st, void *ctx)
{
	return crm_row_object(b, st, *(const int *)ctx, NULL);
}

/* A webhook: its first 8 columns, with "host" for the URL in the 9th,
 * which is a secret (Slack's especially) and is not shown. */
static int hook_row(struct crm_buf *b, struct crm_stmt *st, void *ctx)
{
	const char *url = crm_stmt_text(st, 8), *h = url ? strstr(url, "://") : NULL;

	(void)ctx;
	h = h ? h + 3 : "";
	if (crm_row_object(b, st, 8, "events") < 0)
		return -1;
	b->data[--b->len] = '\0';
	return crm_buf_adds(b, ",\"host\":") | crm_json_str(b, h, strcspn(h, "/?#")) |
	       crm_buf_addc(b, '}');
}

static int cmd_token(struct crm_store *db, int argc, char **argv, const char *role, const char *user,
		     const char *team, const char *expires, int table)
{
	struct crm_err e = { 0 };
	struct crm_stmt *st = NULL;

	if (argc >= 2 && !strcmp(argv[1], "add")) {
		char tok[CRM_TOKEN_LEN + 1], id[CRM_ID_MAX];
		enum crm_role r = crm_role_parse(role ? role : "rep");

		if (argc != 3)
			cli_die(CRM_EUSAGE, "token add NAME: one name");
		if (crm_token_add(db, argv[2], r, user ? user : argv[2], team, expires, tok, id, &e) < 0)
			cli_die_err(&e);
		printf("%s\n", tok);
		cli_log(CLI_INFO, "token %s for %s (%s) created; it is shown only now", id,
			user ? user : argv[2], crm_role_name(r));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "list")) {
		static const char *const keys[] = { "id", "name", "role", "user", "expires_at", "revoked_at", NULL };
		int ncols = 8;

		if (crm_token_rows(db, &st, &e) < 0)
			cli_die_err(&e);
		cli_rows(st, plain_row, &ncols, keys, table);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "revoke")) {
		if (crm_token_revoke(db, argv[2], &e) < 0)
			cli_die_err(&e);
		cli_log(CLI_INFO, "token %s revoked", argv[2]);
		return 0;
	}
	cli_die(CRM_EUSAGE, "token: add NAME, list, or revoke ID|NAME");
}

static void hook_failed(void *ctx, const char *what)
{
	(void)ctx;
	cli_warn("webhook %s", what);
}

struct hookargs {
	const char *format, *events, *secret_file, *url_file;
	int threshold, once, dead;
	struct crm_hooks_opts ho;
};

static int cmd_hook(struct crm_store *db, int argc, char **argv, const struct hookargs *h, int table)
{
	struct crm_err e = { 0 };
	struct crm_stmt *st = NULL;

	if (argc >= 2 && !strcmp(argv[1], "add")) {
		char id[CRM_ID_MAX], secret[65];
		char *url = h->url_file ? cli_secret(h->url_file, NULL) : NULL;
		char *sec = h->secret_file ? cli_secret(h->secret_file, NULL) : NULL;

		if (argc != (url ? 2 : 3))
			cli_die(CRM_EUSAGE, "hook add URL (or --url-file FILE)");
		if (!url && !(url = strdup(argv[2])))
			cli_die(CRM_ESOFTWARE, "out of memory");
		if (crm_hook_add(db, url, h->format ? h->format : "json", h->events ? h->events : "*",
				 h->threshold, sec, id, secret, &e) < 0)
			cli_die_err(&e);
		printf("%s\n", id);
		if (*secret && !sec)
			/* To the person who asked, once; never a log line. */
			fprintf(stderr, "%s: signing secret (shown only now): %s\n", cli_prog, secret);
		free(url);
		free(sec);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "list")) {
		static const char *const keys[] = { "id", "host", "format", "events", "pending", "dead", NULL };

		if (crm_hook_rows(db, &st, &e) < 0)
			cli_die_err(&e);
		cli_rows(st, hook_row, NULL, keys, table);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "rm")) {
		if (crm_hook_remove(db, argv[2], &e) < 0)
			cli_die_err(&e);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "deliveries")) {
		static const char *const keys[] = { "id", "webhook", "type", "status", "attempts", "last_error", NULL };
		int ncols = h->dead ? 9 : 10;

		if (crm_hook_delivery_rows(db, h->dead, &st, &e) < 0)
			cli_die_err(&e);
		cli_rows(st, plain_row, &ncols, keys, table);
		return 0;
	}
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "retry")) {
		long n = crm_hook_requeue(db, argc == 3 ? argv[2] : NULL, &e);

		if (n < 0)
			cli_die_err(&e);
		cli_log(CLI_INFO, "%ld dead deliveries queued again", n);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "run")) {
		struct crm_hooks_stats total = { 0 };

		cli_catch_stop();
		if (crm_hooks_run(db, &h->ho, h->once, &cli_stopping, hook_failed, NULL, &total, &e) < 0)
			cli_die_err(&e);
		cli_log(CLI_INFO, "%zu deliveries queued, %zu tried, %zu delivered, %zu dead",
			total.queued, total.tried, total.delivered, total.dead);
		return 0;
	}
	cli_die(CRM_EUSAGE, "hook: add URL, list, rm ID, deliveries, retry [ID] or run");
}

int main(int argc, char **argv)
{
	struct crm_serve_opts o = { 0 };
	struct hookargs h = { 0 };
	const char *arg, *cert = NULL, *key = NULL, *role = NULL, *user = NULL, *team = NULL;
	const char *expires = NULL;
	struct crm_err e = { 0 };
	struct crm_server *s;
	int k, table = cli_isatty(1);
	sigset_t set;
	struct crm_store *db;

	o.listen = "127.0.0.1:8080";
	o.rate = 50;
	o.hooks = 1;
	h.threshold = -1;
	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (k) {
		case O_LISTEN: o.listen = arg; break;
		case O_CERT: cert = arg; break;
		case O_KEY: key = arg; break;
		case O_INSECURE: o.insecure = 1; break;
		case O_THREADS: o.threads = (unsigned)cli_num("threads", arg, 1, 256); break;
		case O_MAXCONN: o.max_conns = (unsigned)cli_num("max-connections", arg, 1, 100000); break;
		case O_PERIP: o.max_per_ip = (unsigned)cli_num("max-per-ip", arg, 1, 100000); break;
		case O_MAXIDLE: o.max_idle_per_ip = (unsigned)cli_num("max-idle-per-ip", arg, 1, 100000); break;
		case O_MAXACTIVE: o.max_active_per_ip = (unsigned)cli_num("max-active-per-ip", arg, 1, 100000); break;
		case O_PROXY: o.trusted_proxy = arg; break;
		case O_TIMEOUT: o.timeout = (unsigned)cli_num("timeout", arg, 1, 3600); break;
		case O_MAXBODY: o.max_body = (size_t)cli_num("max-body", arg, 64, 1 << 30); break;
		case O_RATE: o.rate = cli_num("rate", arg, 0, 1e6); break;
		case O_BURST: o.burst = cli_num("burst", arg, 1, 1e6); break;
		case O_NOHOOKS: o.hooks = 0; break;
		case O_BACKOFF: o.hook_backoff = h.ho.backoff = cli_num("hook-backoff", arg, 0.01, 3600); break;
		case O_ATTEMPTS: o.hook_attempts = h.ho.attempts = (int)cli_num("hook-attempts", arg, 1, 100); break;
		case O_ACCESSLOG: o.access_log = 1; break;
		case O_ROLE: role = arg; break;
		case O_USER: user = arg; break;
		case O_TEAM: team = arg; break;
		case O_EXPIRES: expires = arg; break;
		case O_FORMAT:
			if (!strcmp(arg, "slack") || !strcmp(arg, "json"))
				h.format = arg;
			else
				table = cli_table(arg);
			break;
		case O_EVENTS: h.events = arg; break;
		case O_THRESHOLD: h.threshold = (int)cli_num("threshold", arg, 0, 100); break;
		case O_SECRETFILE: h.secret_file = arg; break;
		case O_URLFILE: h.url_file = arg; break;
		case O_ONCE: h.once = 1; break;
		case O_DEAD: h.dead = 1; break;
		}
	}
	/* A request waits for another writer's lock at most this long, then
	 * is a 503: a client is answered, a writer elsewhere is not starved. */
	if (!cli_busy_given && !getenv("CRM_BUSY_TIMEOUT"))
		crm_store_busy_timeout(30000);
	if (optind < argc) {
		int status;

		if (strcmp(argv[optind], "token") && strcmp(argv[optind], "hook"))
			cli_die(CRM_EUSAGE, "unknown command '%s' (token or hook)", argv[optind]);
		db = cli_open(0);
		status = !strcmp(argv[optind], "token") ?
			 cmd_token(db, argc - optind, argv + optind, role, user, team, expires, table) :
			 cmd_hook(db, argc - optind, argv + optind, &h, table);
		crm_store_close(db);
		return cli_finish(status);
	}
	if (!cert != !key)
		cli_die(CRM_EUSAGE, "give both --tls-cert and --tls-key");
	o.db_path = crm_store_target(cli_db);
	if (cert) {
		o.tls_cert = cli_file(cert, 1 << 20);
		o.tls_key = cli_file(key, 1 << 20);
	}
	o.log = cli_info_cb;
	/* Signals go to sigwait below, not to the server's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!(s = crm_serve_start(&o, &e)))
		cli_die_err(&e);
	cli_log(CLI_INFO, "listening on %s", crm_serve_url(s));
	k = 0;
	sigwait(&set, &k);
	cli_log(CLI_INFO, "stopping");
	crm_serve_stop(s);
	free((char *)o.tls_cert);
	free((char *)o.tls_key);
	return cli_finish(0);
}
