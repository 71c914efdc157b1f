/*
 * crm-doctor - check that crm can run here: the database, its keys, the
 * models, disk space, the speech model and the language-model server.
 * One line per check; exit 1 when one fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/crypt.h"
#include "../lib/doctor.h"
#include "../lib/ndjson.h"
#include "../lib/store/store.h"
#include "cli.h"

enum { O_LLM_URL = 256, O_MODEL_DIR, O_MODEL_DAYS, O_WAL_MIB };

static const struct cli_opt opts[] = {
	{ "llm-url", O_LLM_URL, "URL", "the language-model server to reach ($CRM_LLM_URL)" },
	{ "model-dir", O_MODEL_DIR, "DIR", "the speech model (default: pocketsphinx-en-us's)" },
	{ "max-model-age", O_MODEL_DAYS, "DAYS", "an active model older than this is stale (default 90)" },
	{ "max-wal", O_WAL_MIB, "MIB", "an SQLite log larger than this is held back (default 256)" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ "quiet", 'q', NULL, "no summary on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-doctor", "[options]",
	"Check the database, its keys, the models, disk space, the speech model and the "
	"language-model server; exit 1 when a check fails.",
	opts,
};

static const char *const keys[] = { "status:6", "check:22", "detail", NULL };

struct out {
	int table, header, warned;
};

static int emit(void *ctx, const struct crm_doctor_check *c)
{
	struct out *o = ctx;
	struct crm_buf b;
	int rc;

	o->warned += c->status == CRM_DOC_WARN;
	crm_buf_init(&b, 0);
	crm_buf_adds(&b, "{\"type\":\"check\",\"check\":");
	crm_json_str(&b, c->name, strlen(c->name));
	crm_buf_addf(&b, ",\"status\":\"%s\",\"detail\":", crm_doctor_status_name(c->status));
	crm_json_str(&b, c->detail, strlen(c->detail));
	crm_buf_adds(&b, "}\n");
	if (o->table) {
		json_t *j = json_loadb(b.data, b.len, 0, NULL);

		cli_table_object(j, keys, &o->header);
		json_decref(j);
		rc = 0;
	} else {
		rc = cli_write(b.data, b.len);
	}
	crm_buf_release(&b);
	return rc;
}

int main(int argc, char **argv)
{
	struct crm_doctor_opts o = { .model_days = 90, .wal_mib = 256 };
	struct out out = { .table = cli_isatty(1) };
	const char *arg;
	int key, quiet = 0, failed;

	o.llm_url = getenv("CRM_LLM_URL");
	o.llm_key = getenv("CRM_LLM_API_KEY");
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case O_LLM_URL: o.llm_url = arg; break;
		case O_MODEL_DIR: o.speech_dir = arg; break;
		case O_MODEL_DAYS: o.model_days = cli_num("max-model-age", arg, 0, 1e6); break;
		case O_WAL_MIB: o.wal_mib = cli_num("max-wal", arg, 0, 1e9); break;
		case 'f': out.table = cli_table(arg); break;
		case 'q': quiet = 1; break;
		}
	}
	if (optind < argc)
		cli_die(CRM_EUSAGE, "unexpected argument '%s'", argv[optind]);
	o.target = crm_store_target(cli_db);
	o.key_file = crm_crypt_key_file();
	failed = crm_doctor_run(&o, emit, &out);
	if (failed < 0)
		return cli_finish(0);	/* the reader left */
	if (!quiet)
		cli_log(CLI_INFO, "%d failed, %d to look at", failed, out.warned);
	return cli_finish(failed ? CRM_EFINDING : 0);
}
