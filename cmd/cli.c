/*
 * cli.c - what every command shares: option parsing, help and
 * completion, the configuration files, signals, and stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "../lib/config.h"
#include "../lib/crypt.h"
#include "../lib/ndjson.h"
#include "../lib/store/store.h"

#ifndef CRM_VERSION
#define CRM_VERSION "0.0.0"
#endif

const char cli_version[] = CRM_VERSION;
const char *cli_prog = "crm";
const char *cli_db;
int cli_epipe;
int cli_busy_given;

static const struct cli_opt common[] = {
	{ "db", CLI_DB, "PATH", "database file (default: $CRM_DB, else ./crm.db)" },
	{ "key-file", CLI_KEYFILE, "FILE", "master key file (default: $CRM_KEY_FILE; none: no encryption)" },
	{ "busy-timeout", CLI_BUSY, "SECONDS", "give up waiting for another writer's lock after this (default: $CRM_BUSY_TIMEOUT, else wait as long as it takes)" },
	{ "log-format", CLI_LOGFMT, "FMT", "messages on stderr as text, logfmt or json (default: $CRM_LOG_FORMAT, else logfmt under systemd, else text)" },
	{ "help", CLI_HELP, NULL, "show this help and exit" },
	{ "version", CLI_VERSION, NULL, "show the version and exit" },
	{ NULL, 0, NULL, NULL }
};

static void print_opts(const struct cli_opt *o, FILE *fp)
{
	for (; o->name; o++) {
		char left[64];

		if (o->key > 0 && o->key < 128)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key,
				 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(fp, "  %-26s %s\n", left, o->help);
	}
}

void cli_usage(const struct cli *c, FILE *fp)
{
	fprintf(fp, "usage: %s %s\n\n%s\n\noptions:\n", c->name, c->usage, c->about);
	print_opts(c->opts, fp);
	print_opts(common, fp);
	fprintf(fp, "\nSee %s(1) for more.\n", c->name);
}

static void complete_opts(const struct cli_opt *o)
{
	for (; o->name; o++) {
		printf("--%s%s\n", o->name, o->arg ? "=" : "");
		if (o->key > 0 && o->key < 128)
			printf("-%c\n", o->key);
	}
}

/* ---- the configuration files --------------------------------------------- */

static struct {
	const char *name;
	char from[CRM_PATH_MAX + 16];	/* "FILE:LINE" */
} cfg_from[64];
static size_t ncfg;
static unsigned long long env_had;	/* settings set before the files were read, by index */

static void cfg_entry(void *ctx, const char *name, const char *value, int line)
{
	const char *path = ctx;
	const struct crm_setting *s;
	size_t i, k;

	if (!name) {
		cli_warn("%s:%d: %s: ignored", path, line, value);
		return;
	}
	if (!(s = crm_setting_find(name))) {
		cli_warn("%s:%d: no setting %s (crm config lists them): ignored", path, line, name);
		return;
	}
	if (s->secret) {
		cli_warn("%s:%d: %s is a secret: give it in the environment, or in a file by the "
			 "tool's --...-file option, not here: ignored", path, line, name);
		return;
	}
	i = (size_t)(s - crm_settings);
	if (env_had & (1ULL << i))
		return;		/* the environment wins */
	setenv(name, value, 1);
	for (k = 0; k < ncfg && strcmp(cfg_from[k].name, name); k++)
		;
	if (k == ncfg && ncfg < sizeof(cfg_from) / sizeof(cfg_from[0]))
		ncfg++;
	if (k < ncfg) {
		cfg_from[k].name = s->name;
		snprintf(cfg_from[k].from, sizeof(cfg_from[k].from), "%s:%d", path, line);
	}
}

/* Apply the configuration files once, under the environment. A process
 * started by one that read them (the crm dispatcher, crm-nightly) finds
 * their values in its environment already. */
static void cfg_load(void)
{
	char paths[CRM_CONFIG_MAXFILES][CRM_PATH_MAX];
	size_t n;
	struct crm_err e = { 0 };

	if (getenv("CRM_CONFIG_READ"))
		return;
	for (const struct crm_setting *s = crm_settings; s->name; s++)
		if (getenv(s->name))
			env_had |= 1ULL << (s - crm_settings);
	n = crm_config_files(paths);
	for (size_t i = 0; i < n; i++)
		if (crm_config_read(paths[i], cfg_entry, paths[i], &e) < 0)
			cli_warn("%s: ignored", e.msg);
	setenv("CRM_CONFIG_READ", "1", 1);
}

const char *cli_config_source(const char *name)
{
	for (size_t k = 0; k < ncfg; k++)
		if (!strcmp(cfg_from[k].name, name))
			return cfg_from[k].from;
	return NULL;
}

int cli_next(const struct cli *c, int argc, char **argv, const char **arg)
{
	static struct option lopts[64];
	static char sopts[160];
	static const struct cli *built;
	int key;

	if (built != c) {
		size_t n = 0, k = 0;
		const struct cli_opt *tabs[2] = { c->opts, common };

		cli_prog = c->name;
		signal(SIGPIPE, SIG_IGN);
		if (!built)
			cfg_load();
		for (int t = 0; t < 2; t++)
			for (const struct cli_opt *o = tabs[t]; o->name; o++) {
				if (n + 2 >= sizeof(lopts) / sizeof(lopts[0]))
					break;
				lopts[n].name = o->name;
				lopts[n].has_arg = o->arg ? required_argument : no_argument;
				lopts[n].flag = NULL;
				lopts[n].val = o->key;
				n++;
				if (o->key > 0 && o->key < 128 && k + 3 < sizeof(sopts)) {
					sopts[k++] = (char)o->key;
					if (o->arg)
						sopts[k++] = ':';
				}
			}
		lopts[n].name = "complete-options";
		lopts[n].has_arg = no_argument;
		lopts[n].flag = NULL;
		lopts[n].val = CLI_COMPLETE;
		n++;
		memset(&lopts[n], 0, sizeof(lopts[n]));
		sopts[k] = '\0';
		built = c;
	}
	for (;;) {
		key = getopt_long(argc, argv, sopts, lopts, NULL);
		*arg = optarg;
		switch (key) {
		case CLI_HELP:
			cli_usage(c, stdout);
			exit(cli_finish(0));
		case CLI_VERSION:
			printf("%s %s\n", c->name, cli_version);
			exit(cli_finish(0));
		case CLI_COMPLETE:
			complete_opts(c->opts);
			complete_opts(common);
			exit(cli_finish(0));
		case CLI_DB:
			cli_db = optarg;
			continue;
		case CLI_KEYFILE:
			crm_crypt_configure(optarg);
			continue;
		case CLI_LOGFMT:
			if (cli_log_format(optarg) < 0)
				cli_die(CRM_EUSAGE, "--log-format: want text, logfmt or json, not '%s'", optarg);
			setenv("CRM_LOG_FORMAT", optarg, 1);	/* for the programs it runs */
			continue;
		case CLI_BUSY: {
			char *end;
			double secs = strtod(optarg, &end);

			if (end == optarg || *end || secs < 0 || secs > 1e6) {
				fprintf(stderr, "%s: --busy-timeout: want seconds, not '%s'\n", c->name, optarg);
				exit(CRM_EUSAGE);
			}
			crm_store_busy_timeout((long)(secs * 1000));
			cli_busy_given = 1;
			continue;
		}
		case '?':
		case ':':
			fprintf(stderr, "Try '%s --help'.\n", c->name);
			exit(CRM_EUSAGE);
		default:
			return key;
		}
	}
}

static void on_stop(int sig)
{
	(void)sig;
	cli_stopping = 1;
}

void cli_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_isatty(int fd)
{
	return isatty(fd);
}

static struct crm_buf *captured;

void cli_capture(struct crm_buf *b)
{
	captured = b;
}

int cli_write(const void *buf, size_t n)
{
	if (captured)
		return crm_buf_add(captured, buf, n) < 0 ? -1 : 0;
	if (cli_epipe)
		return -1;
	if (!n)		/* nothing, perhaps from an empty buffer (NULL) */
		return 0;
	if (fwrite(buf, 1, n, stdout) != n) {
		if (errno == EPIPE) {
			cli_epipe = 1;
			return -1;
		}
		cli_die(CRM_EIO, "write error: %s", strerror(errno));
	}
	return 0;
}

int cli_finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE || cli_epipe)
			return status;
		fprintf(stderr, "%s: write error: %s\n", cli_prog, strerror(errno));
		return CRM_EIO;
	}
	if (fclose(stdout) != 0 && errno != EPIPE) {
		fprintf(stderr, "%s: write error: %s\n", cli_prog, strerror(errno));
		return CRM_EIO;
	}
	return status;
}
