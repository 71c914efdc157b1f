/*
 * crm-db - the database itself, of either backend: make or upgrade its
 * schema, count its rows, copy it from one backend to another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/store/store.h"
#include "../lib/crypt.h"
#include "../lib/dbcopy.h"
#include "../lib/ndjson.h"
#include "cli.h"

#define MAX_TABLES 64

static const struct cli_opt opts[] = {
	{ "quiet", 'q', NULL, "no progress on a terminal" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-db", "init [TARGET] | count [TARGET] | copy SOURCE DEST",
	"The database: 'init' makes or upgrades its schema, 'count' prints the rows of each\n"
	"table, 'copy' moves every row into a new database of either backend. TARGET,\n"
	"SOURCE and DEST are SQLite files or postgresql:// URLs; TARGET defaults to --db\n"
	"or $CRM_DB.",
	opts,
};

static int quiet, as_table = -1;

/* A new SQLite file, its WAL and its key store, taken back after a
 * failed copy. */
static void remove_db(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s.keys", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void progress(const char *table, long long rows, int done, void *arg)
{
	(void)arg;
	if (quiet || !cli_isatty(2))
		return;
	fprintf(stderr, "\r%s: %s %lld rows%s", cli_prog, table, rows, done ? "\033[K\n" : "");
}

static void open_or_die(struct crm_store **s, const char *target, int flags)
{
	struct crm_err e = { 0 };

	if (crm_store_open(s, target, flags, &e) < 0)
		cli_die_err(&e);
}

static void print_counts(const char *type, struct crm_store *from, struct crm_store *to,
			 const struct crm_copy_table *t, size_t n)
{
	struct crm_buf b;
	long long total = 0;

	if (as_table) {
		for (size_t i = 0; i < n; i++) {
			printf("%-22s %12lld\n", t[i].name, t[i].rows);
			total += t[i].rows;
		}
		printf("%-22s %12lld\n", "total", total);
		return;
	}
	crm_buf_init(&b, 0);
	crm_buf_addf(&b, "{\"type\":\"%s\"", type);
	if (from) {
		crm_buf_adds(&b, ",\"from\":");
		crm_json_str(&b, crm_store_name(from), strlen(crm_store_name(from)));
	}
	crm_buf_adds(&b, to && from ? ",\"to\":" : ",\"db\":");
	crm_json_str(&b, crm_store_name(to), strlen(crm_store_name(to)));
	crm_buf_adds(&b, ",\"rows\":{");
	for (size_t i = 0; i < n; i++) {
		crm_buf_adds(&b, i ? "," : "");
		crm_json_str(&b, t[i].name, strlen(t[i].name));
		crm_buf_addf(&b, ":%lld", t[i].rows);
		total += t[i].rows;
	}
	crm_buf_addf(&b, "},\"total\":%lld}\n", total);
	cli_write(b.data, b.len);
	crm_buf_release(&b);
}

int main(int argc, char **argv)
{
	struct crm_copy_table t[MAX_TABLES];
	struct crm_err e = { 0 };
	struct crm_store *s, *d;
	const char *arg, *cmd;
	size_t n;
	long long keys;
	int k, made;

	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		if (k == 'q')
			quiet = 1;
		else if (k == 'f')
			as_table = cli_table(arg);
	}
	if (as_table < 0)
		as_table = cli_isatty(1);
	if (optind >= argc)
		cli_die(CRM_EUSAGE, "say what to do: init, count or copy (see --help)");
	cmd = argv[optind++];
	if (!strcmp(cmd, "init") || !strcmp(cmd, "count")) {
		const char *target = optind < argc ? argv[optind++] : crm_store_target(cli_db);
		int from = 0, to = 0;

		if (optind < argc)
			cli_die(CRM_EUSAGE, "%s: unexpected argument '%s'", cmd, argv[optind]);
		if (!strcmp(cmd, "count")) {
			open_or_die(&s, target, CRM_STORE_READONLY | CRM_STORE_PLAIN);
			if (crm_dbcopy_count(s, t, MAX_TABLES, &n, &e) < 0)
				cli_die_err(&e);
			print_counts("count", NULL, s, t, n);
		} else {
			open_or_die(&s, target, CRM_STORE_CREATE | CRM_STORE_NOMIGRATE | CRM_STORE_PLAIN);
			if (crm_store_migrate(s, &from, &to, &e) < 0)
				cli_die_err(&e);
			if (!quiet)
				cli_log(CLI_INFO, from == to ? "%s: schema is current (version %d)" :
					"%s: schema version %d -> %d", crm_store_name(s), from == to ? to : from, to);
		}
		crm_store_close(s);
		return cli_finish(0);
	}
	if (strcmp(cmd, "copy"))
		cli_die(CRM_EUSAGE, "'%s' is not a crm db command: init, count or copy", cmd);
	if (argc - optind != 2)
		cli_die(CRM_EUSAGE, "copy: want SOURCE and DEST");
	if (!strcmp(argv[optind], argv[optind + 1]))
		cli_die(CRM_EUSAGE, "copy: SOURCE and DEST are the same");
	{
		char kp[4096];

		snprintf(kp, sizeof(kp), "%s.keys", argv[optind + 1]);
		made = !crm_store_is_url(argv[optind + 1]) && access(argv[optind + 1], F_OK) != 0 &&
		       access(kp, F_OK) != 0;
	}
	open_or_die(&s, argv[optind], CRM_STORE_READONLY | CRM_STORE_PLAIN);
	open_or_die(&d, argv[optind + 1], CRM_STORE_CREATE | CRM_STORE_PLAIN);
	/* Whole or nothing. The keys go first (keys no row names are
	 * harmless), then every row in one transaction: a copy stopped at
	 * any point leaves a destination with no rows, which a second run
	 * fills. A destination with rows is never written. */
	if (crm_dbcopy_count(d, t, MAX_TABLES, &n, &e) < 0)
		cli_die_err(&e);
	for (size_t i = 0; i < n; i++)
		if (t[i].rows && strcmp(t[i].name, "meta"))
			cli_die(CRM_EDATA, "copy: %s is not empty (%s has %lld rows): copy into a new database",
				crm_store_name(d), t[i].name, t[i].rows);
	/* Marked first: a copy stopped from here on is refused by every
	 * tool, saying so, until it is run again. */
	if (crm_dbcopy_mark(d, crm_store_name(s), &e) < 0)
		cli_die_err(&e);
	if (crm_crypt_copy_store(argv[optind], argv[optind + 1], 1, &keys, &e) < 0) {
		crm_store_close(d);
		if (made)
			remove_db(argv[optind + 1]);
		cli_die(e.code, "%s (nothing was copied)", e.msg);
	}
	if (crm_dbcopy(s, d, progress, NULL, t, MAX_TABLES, &n, &e) < 0) {
		crm_store_close(d);
		if (made)	/* made here: nothing of it is kept */
			remove_db(argv[optind + 1]);
		cli_die(e.code, "%s (no row was copied)", e.msg);
	}
	print_counts("copy", s, d, t, n);
	crm_store_close(s);
	crm_store_close(d);
	if (keys && !quiet)
		cli_log(CLI_INFO, "%lld data keys copied into the key store of %s", keys,
			argv[optind + 1]);
	return cli_finish(0);
}
