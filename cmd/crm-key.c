/*
 * crm-key - the master key of field encryption: create it, rotate it,
 * show where things stand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "../lib/crypt.h"
#include "../lib/privacy.h"
#include "../lib/store/store.h"
#include "../lib/seal.h"
#include "cli.h"

enum { O_BATCH = 256 };

static const struct cli_opt opts[] = {
	{ "format", 'f', "FMT", "status: ndjson or table (default: table on a terminal)" },
	{ "batch", O_BATCH, "N", "seal: rows a transaction (default 1000)" },
	{ "quiet", 'q', NULL, "seal: no progress or summary on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-key", "init | rotate | retire | seal | status   (with --key-file FILE or CRM_KEY_FILE)",
	"Manage the master key that wraps the data keys of field encryption.\n\n"
	"  init     create the key file (mode 0600) and the database's key store\n"
	"  rotate   add a new master key, rewrap every data key under it, move the old\n"
	"           ones to KEY_FILE.retired\n"
	"  retire   rewrap any straggler, then wipe and remove KEY_FILE.retired\n"
	"  seal     seal what the database holds in clear from before the key (people's\n"
	"           fields, natural keys, transcripts, merge snapshots); in batches, a\n"
	"           rerun after an interruption goes on where it stopped\n"
	"  status   the key versions, data keys and where the key store is",
	opts,
};

static const char *need_key_file(void)
{
	const char *k = crm_crypt_key_file();

	if (!k)
		cli_die(CRM_EUSAGE, "say which key file: --key-file FILE or CRM_KEY_FILE");
	return k;
}

/* Note action in the audit trail. Opening the database with the key
 * also makes its key store, for init. */
static void audit(const char *action, const char *detail)
{
	struct crm_err e = { 0 };
	char actor[128];
	struct crm_store *db;

	crm_actor_cli(actor, sizeof(actor));
	if (crm_store_open(&db, crm_store_target(cli_db), CRM_STORE_CREATE, &e) < 0 ||
	    crm_trail_append(db, actor, action, NULL, NULL, detail, &e) < 0)
		cli_die_err(&e);
	crm_store_close(db);
}

static void seal_progress(void *arg, const char *table, const struct crm_seal_stats *st)
{
	(void)arg;
	fprintf(stderr, "\r\033[Kcrm-key: sealing %s: %lld rows, %lld cells", table, st->rows, st->cells);
}

static void seal(long batch, int quiet)
{
	struct crm_err e = { 0 };
	struct crm_seal_stats st;
	char actor[128], detail[160];
	struct crm_store *db;

	crm_actor_cli(actor, sizeof(actor));
	db = cli_open(0);
	if (crm_seal_all(db, batch, &st, quiet || !cli_isatty(2) ? NULL : seal_progress, NULL, &e) < 0) {
		if (!quiet && cli_isatty(2))
			fputs("\r\033[K", stderr);
		cli_die_err(&e);
	}
	if (!quiet && cli_isatty(2))
		fputs("\r\033[K", stderr);
	snprintf(detail, sizeof(detail), "{\"rows\":%lld,\"cells\":%lld,\"keys\":%lld,\"batches\":%lld}",
		 st.rows, st.cells, st.keys, st.batches);
	if (crm_trail_append(db, actor, "key-seal", NULL, NULL, detail, &e) < 0)
		cli_die_err(&e);
	crm_store_close(db);
	if (!quiet)
		cli_log(CLI_INFO, "%lld cells of %lld rows sealed, %lld people given a data key",
			st.cells, st.rows, st.keys);
	printf("%s\n", detail);
}

int main(int argc, char **argv)
{
	struct crm_err e = { 0 };
	const char *arg, *cmd, *kf;
	int k, table = cli_isatty(1);

	long batch = 1000;
	int quiet = 0;

	while ((k = cli_next(&cli, argc, argv, &arg)) != -1)
		if (k == 'f')
			table = cli_table(arg);
		else if (k == O_BATCH)
			batch = (long)cli_num("batch", arg, 1, 1e7);
		else if (k == 'q')
			quiet = 1;
	if (optind >= argc)
		cli_die(CRM_EUSAGE, "say what to do: init, rotate, retire, seal or status (see --help)");
	cmd = argv[optind];
	if (optind + 1 < argc)
		cli_die(CRM_EUSAGE, "unexpected argument '%s'", argv[optind + 1]);
	kf = need_key_file();
	if (!strcmp(cmd, "init")) {
		if (crm_key_init(kf, &e) < 0)
			cli_die_err(&e);
		audit("key-init", "{\"version\":1}");
		cli_log(CLI_INFO, "%s: master key 1 created; keep this file secret, apart from the database and its backups", kf);
	} else if (!strcmp(cmd, "rotate")) {
		long long n;
		char detail[64];

		if (crm_key_rotate(kf, cli_db, &n, &e) < 0)
			cli_die_err(&e);
		snprintf(detail, sizeof(detail), "{\"rewrapped\":%lld}", n);
		audit("key-rotate", detail);
		cli_log(CLI_INFO, "%lld data keys rewrapped under the new master key; "
			"the old one is kept in %s.retired until 'crm key retire'", n, kf);
	} else if (!strcmp(cmd, "retire")) {
		long long n;
		int r;
		char detail[96];

		if (crm_key_retire(kf, cli_db, &r, &n, &e) < 0)
			cli_die_err(&e);
		snprintf(detail, sizeof(detail), "{\"retired\":%d,\"rewrapped\":%lld}", r, n);
		audit("key-retire", detail);
		cli_log(CLI_INFO, "%d retired master key%s removed (%lld stragglers rewrapped first)",
			r, r == 1 ? "" : "s", n);
	} else if (!strcmp(cmd, "seal")) {
		seal(batch, quiet);
	} else if (!strcmp(cmd, "status")) {
		struct crm_key_status st;
		char line[4400];
		json_t *o;
		char *j;

		if (crm_key_status(kf, cli_db, &st, &e) < 0)
			cli_die_err(&e);
		if (table)
			snprintf(line, sizeof(line),
				 "key file     %s\nmaster key   version %d (%d in the file, %d retired kept)\n"
				 "data keys    %lld (%lld under an older master key)\nkey store    %s\n",
				 kf, st.version, st.versions, st.retired, st.keys, st.stale, st.store);
		else if ((o = json_pack("{s:s,s:i,s:i,s:i,s:I,s:I,s:s}", "key_file", kf, "version", st.version,
					"versions", st.versions, "retired", st.retired, "data_keys",
					(json_int_t)st.keys, "stale", (json_int_t)st.stale, "store", st.store)) &&
			 (j = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
			snprintf(line, sizeof(line), "%s\n", j);
			free(j);
			json_decref(o);
		} else
			cli_die(CRM_ESOFTWARE, "out of memory");
		cli_write(line, strlen(line));
	} else {
		cli_die(CRM_EUSAGE, "unknown command '%s' (want init, rotate, retire, seal or status)", cmd);
	}
	return cli_finish(0);
}
