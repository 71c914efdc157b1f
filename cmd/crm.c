/*
 * crm - the dispatcher: "crm import ..." runs "crm-import ...", found next
 * to this program, else on $PATH (git's way). Built in: init, help,
 * version.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/config.h"
#include "../lib/crypt.h"
#include "../lib/ndjson.h"
#include "../lib/store/store.h"
#include "cli.h"

static const struct cli_opt opts[] = {
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm", "[--db PATH] COMMAND [args...]",
	"An AI CRM as a Unix toolkit. Commands:\n\n"
	"  init      create the database, or bring its schema up to date\n"
	"  import    load records from CSV or NDJSON (crm-import(1))\n"
	"  export    write records as NDJSON or CSV (crm-export(1))\n"
	"  dedupe    find duplicates by probabilistic matching (crm-dedupe(1))\n"
	"  score     score deals and leads from won/lost history (crm-score(1))\n"
	"  explain   the reasons behind a score (crm-explain(1))\n"
	"  audit     bias, data-quality and privacy audits (crm-audit(1))\n"
	"  transcribe  calls to transcripts, action items and tasks (crm-transcribe(1))\n"
	"  notify    a message to Slack (crm-notify(1))\n"
	"  serve     the HTTP API, event stream, webhooks and page (crm-serve(1))\n"
	"  events    the change log as NDJSON, followed (crm-events(1))\n"
	"  key       the master key of field encryption: init, rotate, status (crm-key(1))\n"
	"  forget    erase a person, with a receipt (crm-forget(1))\n"
	"  purge     delete what is past its retention period (crm-purge(1))\n"
	"  db        the database: schema, row counts, copy to PostgreSQL and back (crm-db(1))\n"
	"  doctor    check the database, keys, models, disk and servers (crm-doctor(1))\n"
	"  config    each setting, its value and where it came from\n"
	"  help      show help for crm or a command\n"
	"  version   show the version",
	opts,
};

static const char *const commands[] = { "init", "import", "export", "dedupe",
					"score", "explain", "audit", "transcribe", "notify", "serve",
					"events", "key", "forget", "purge", "db", "doctor", "config", "help",
					"version", NULL };

static int cmd_init(int argc, char **argv)
{
	struct crm_err e = { 0 };
	struct crm_store *s;
	int from = 0, to = 0;

	if (argc > 1)
		cli_die(CRM_EUSAGE, "init: unexpected argument '%s'", argv[1]);
	if (crm_store_open(&s, crm_store_target(cli_db), CRM_STORE_CREATE | CRM_STORE_NOMIGRATE, &e) < 0 ||
	    crm_store_migrate(s, &from, &to, &e) < 0)
		cli_die_err(&e);
	if (from == to)
		cli_log(CLI_INFO, "%s: schema is current (version %d)", crm_store_name(s), to);
	else
		cli_log(CLI_INFO, "%s: schema version %d -> %d", crm_store_name(s), from, to);
	crm_store_close(s);
	return cli_finish(0);
}

/* A value in single quotes for sh. */
static void sh_quote(struct crm_buf *b, const char *v)
{
	crm_buf_addc(b, '\'');
	for (; *v; v++)
		if (*v == '\'')
			crm_buf_adds(b, "'\\''");
		else
			crm_buf_addc(b, *v);
	crm_buf_addc(b, '\'');
}

/*
 * config: every setting, its value and where it came from (an option,
 * the environment, a configuration file and its line, or the default);
 * secrets are shown set or not, never their value. --sh: the settings
 * the files gave, as sh assignments to export (crm-nightly's).
 */
static int cmd_config(int argc, char **argv, const char *db_option)
{
	static const char *const keys[] = { "setting:24", "value:34", "source:30", "what", NULL };
	int sh = argc > 1 && !strcmp(argv[1], "--sh"), table = cli_isatty(1), header = 0;
	struct crm_buf b;

	if (argc > 1 + sh)
		cli_die(CRM_EUSAGE, "config: unexpected argument '%s' (want --sh or nothing)", argv[1 + sh]);
	crm_buf_init(&b, 0);
	for (const struct crm_setting *s = crm_settings; s->name; s++) {
		const char *v = getenv(s->name), *from = cli_config_source(s->name);
		const char *src = !strcmp(s->name, "CRM_DB") && db_option ? "option --db" :
				  from ? from : v ? "environment" : "default";

		crm_buf_reset(&b);
		if (sh) {
			if (!from)
				continue;
			crm_buf_addf(&b, "export %s=", s->name);
			sh_quote(&b, v);
			crm_buf_addc(&b, '\n');
			cli_write(b.data, b.len);
			continue;
		}
		crm_buf_adds(&b, "{\"setting\":");
		crm_json_str(&b, s->name, strlen(s->name));
		crm_buf_adds(&b, ",\"value\":");
		if (s->secret)
			crm_buf_adds(&b, v ? "\"(set)\"" : "null");
		else if (v)
			crm_json_str(&b, v, strlen(v));
		else
			crm_json_str(&b, s->fallback, strlen(s->fallback));
		crm_buf_adds(&b, ",\"source\":");
		crm_json_str(&b, src, strlen(src));
		crm_buf_adds(&b, ",\"what\":");
		crm_json_str(&b, s->what, strlen(s->what));
		crm_buf_adds(&b, "}\n");
		if (table)
			cli_table_record(b.data, b.len, keys, &header);
		else
			cli_write(b.data, b.len);
	}
	crm_buf_release(&b);
	return cli_finish(0);
}

/* Directory of this executable, for finding crm-* beside it. */
static int self_dir(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	char *slash;

	if (len <= 0)
		return -1;
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

static void run(const char *name, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX + 192], prog[128];

	snprintf(prog, sizeof(prog), "crm-%s", name);
	argv[0] = prog;
	if (self_dir(dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, prog);
		if (access(path, X_OK) == 0) {
			execv(path, argv);
			cli_die(CRM_ESOFTWARE, "cannot run '%s': %s", path, strerror(errno));
		}
	}
	execvp(prog, argv);
	if (errno == ENOENT)
		cli_die(CRM_EUSAGE, "'%s' is not a crm command. See 'crm help'.", name);
	cli_die(CRM_ESOFTWARE, "cannot run '%s': %s", prog, strerror(errno));
}

int main(int argc, char **argv)
{
	const char *arg, *cmd;
	int key;

	/* Options after the command belong to it. */
	setenv("POSIXLY_CORRECT", "1", 1);
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1)
		;
	unsetenv("POSIXLY_CORRECT");
	if (optind >= argc) {
		cli_usage(&cli, stderr);
		return CRM_EUSAGE;
	}
	if (cli_db)
		setenv("CRM_DB", cli_db, 1);
	if (!strcmp(argv[optind], "config"))
		return cmd_config(argc - optind, argv + optind, cli_db);
	if (crm_crypt_key_file())	/* --key-file reaches the command */
		setenv("CRM_KEY_FILE", crm_crypt_key_file(), 1);
	cmd = argv[optind];
	argv += optind;
	argc -= optind;
	if (!strcmp(cmd, "init"))
		return cmd_init(argc, argv);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("crm %s\n", cli_version);
		return cli_finish(0);
	}
	if (!strcmp(cmd, "commands")) {	/* for completion */
		for (int i = 0; commands[i]; i++)
			printf("%s\n", commands[i]);
		return cli_finish(0);
	}
	if (!strcmp(cmd, "help")) {
		if (argc < 2) {
			cli_usage(&cli, stdout);
			return cli_finish(0);
		}
		if (!strcmp(argv[1], "init") || !strcmp(argv[1], "version") ||
		    !strcmp(argv[1], "help")) {
			cli_usage(&cli, stdout);
			return cli_finish(0);
		}
		{
			char *hargv[] = { NULL, (char *)"--help", NULL };

			run(argv[1], hargv);
		}
	}
	run(cmd, argv);
	return CRM_ESOFTWARE;
}
