/*
 * crm-import - load accounts, contacts, deals, interactions, products,
 * users and tasks from CSV or NDJSON into the database; email from .eml
 * and mbox files and IMAP mailboxes as interactions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../lib/crypt.h"
#include "../lib/store/store.h"
#include "../lib/import.h"
#include "../lib/ingest.h"
#include "../lib/ndjson.h"
#include "../lib/normalize.h"
#include "cli.h"

enum { O_DATES = 256, O_ENCODING, O_DELIM, O_BATCH, O_MAXLINE, O_OUTPUT, O_IMAP, O_SELF, O_LEADS,
       O_PASSFILE, O_TOKENFILE, O_ERP, O_SUPPRESSED };

static const struct cli_opt opts[] = {
	{ "type", 't', "TYPE", "record type: account, contact, deal, interaction, product, user, task (default: guess)" },
	{ "format", 'f', "FMT", "input format: csv, ndjson, mail or auto (default)" },
	{ "source", 's', "NAME", "system the rows come from (default: import)" },
	{ "map", 'm', "H=F[,...]", "map input column H to field F (or attrs)" },
	{ "rejects", 'r', "FILE", "write rejected rows to FILE as NDJSON" },
	{ "dates", O_DATES, "ORDER", "order of slash dates: mdy (default) or dmy" },
	{ "delimiter", O_DELIM, "CHAR", "CSV field separator (default: guess)" },
	{ "batch", O_BATCH, "N", "rows per transaction (default 20000)" },
	{ "encoding", O_ENCODING, "CHARSET", "the input's encoding, e.g. latin1, windows-1252, UTF-16 (default UTF-8)" },
	{ "max-line", O_MAXLINE, "BYTES", "longest input line accepted (default 64M)" },
	{ "output", O_OUTPUT, "MODE", "records out: auto, ndjson, table or none" },
	{ "dry-run", 'n', NULL, "check and resolve everything, write nothing" },
	{ "suppressed", O_SUPPRESSED, "refuse|flag", "contacts erased by crm-forget: reject them (default) or keep them marked, consent denied" },
	{ "erp", O_ERP, NULL, "the files are ERP orders or invoices: won deals of their accounts" },
	{ "imap", O_IMAP, "URL", "new mail from imap[s]://user@host/MAILBOX, as interactions" },
	{ "self", O_SELF, "ADDR", "mail: an address or @domain of ours (repeat; users' addresses count)" },
	{ "create-leads", O_LEADS, NULL, "mail: add unknown correspondents as leads, not skip them" },
	{ "password-file", O_PASSFILE, "FILE", "IMAP password from FILE (or $CRM_IMAP_PASSWORD)" },
	{ "oauth2-token-file", O_TOKENFILE, "FILE", "IMAP OAuth2 bearer token from FILE (or $CRM_IMAP_TOKEN)" },
	{ "quiet", 'q', NULL, "no summary or progress on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-import", "[options] [file...]",
	"Import CRM records from CSV or NDJSON files (or stdin) into the database.",
	opts,
};

enum output { OUT_NDJSON, OUT_TABLE, OUT_NONE };

struct ctx {
	enum output output;
	FILE *rejects;
	const char *rejects_path;
	int quiet, header;
	double started;
	long shown, unshown;	/* table rows printed, and left out */
};

/* A terminal gets the first rows as a table, the rest counted. */
#define TABLE_ROWS 40

static int on_records(void *p, const char *buf, size_t len)
{
	static const char *const keys[] = { "status:9", "type:11", "id:18",
					    "name|email|title|subject|last_name|kind", NULL };
	struct ctx *c = p;

	if (c->output == OUT_NDJSON) {
		/* A closed pipe stops the output, not the import. */
		cli_write(buf, len);
		return 0;
	}
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;

		if (c->shown++ < TABLE_ROWS)
			cli_table_record(buf, n, keys, &c->header);
		else
			c->unshown++;
		buf += n;
		len -= n;
	}
	return 0;
}

static int on_reject(void *p, const char *file, long line, const char *why,
		     const char *raw, size_t rawlen)
{
	struct ctx *c = p;
	struct crm_buf b;
	int rc;

	if (!c->rejects) {
		cli_warn("%s:%ld: %s", file, line, why);
		return 0;
	}
	crm_buf_init(&b, 0);
	rc = crm_import_reject_json(&b, file, line, why, raw, rawlen) < 0 ||
	     fwrite(b.data, 1, b.len, c->rejects) != b.len ? -1 : 0;
	crm_buf_release(&b);
	return rc;
}

static void on_progress(void *p, const char *file,
			const struct crm_import_stats *st)
{
	struct ctx *c = p;
	double dt = crm_now() - c->started;

	if (c->quiet)
		return;
	if (!file)
		cli_progress_clear();
	else
		cli_progress("%s: %lld rows (%.0f rows/s)", file, st->rows, dt > 0 ? (double)st->rows / dt : 0.0);
}

int main(int argc, char **argv)
{
	static const char *const formats[] = { "auto", "csv", "ndjson", "jsonl", "mail", NULL };
	static const enum crm_format format_of[] = { CRM_FMT_AUTO, CRM_FMT_CSV, CRM_FMT_NDJSON,
						     CRM_FMT_NDJSON, CRM_FMT_AUTO };
	static const char *const dates[] = { "mdy", "dmy", NULL };
	static const char *const outputs[] = { "ndjson", "table", "none", "auto", NULL };
	static const char *const suppressed[] = { "refuse", "flag", NULL };
	struct crm_import_opts o = { 0 };
	struct crm_import_hooks h = { 0 };
	struct ctx c = { 0 };
	const struct crm_entity *type = NULL;
	enum crm_format fmt = CRM_FMT_AUTO;
	const char *arg;
	struct crm_import_input *in;
	struct crm_err e = { 0 };
	struct crm_store *s;
	char **maps = NULL;
	size_t nmaps = 0, nin;
	int key, k, status = 0, mail = 0, erp = 0, output = 3;
	struct crm_mail_opts mo = { 0 };
	struct crm_imap_opts io = { 0 };
	struct crm_ingest g = { 0 };
	const char **self = NULL, *passfile = NULL, *tokenfile = NULL;
	size_t nself = 0;
	char *password = NULL, *token = NULL;

	/* --map and --self: at most one an argument */
	if (!(maps = calloc((size_t)argc, sizeof(*maps))) || !(self = calloc((size_t)argc, sizeof(*self))))
		cli_die(CRM_ESOFTWARE, "out of memory");
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't': type = cli_type(arg, NULL, NULL); break;
		case 'f':
			k = cli_choice("format", arg, formats);
			fmt = format_of[k];
			mail = !strcmp(formats[k], "mail");
			break;
		case 's': o.source = arg; break;
		case 'm': maps[nmaps++] = (char *)arg; break;
		case 'r': c.rejects_path = arg; break;
		case O_DATES: o.dates = cli_choice("dates", arg, dates) ? CRM_DATE_DMY : CRM_DATE_MDY; break;
		case O_DELIM:
			if (!strcmp(arg, "\\t") || !strcmp(arg, "tab"))
				o.delim = '\t';
			else if (strlen(arg) == 1)
				o.delim = (unsigned char)arg[0];
			else
				cli_die(CRM_EUSAGE, "--delimiter: want one character, not '%s'", arg);
			break;
		case O_BATCH: o.batch = cli_size("batch", arg); break;
		case O_ENCODING: o.encoding = arg; break;
		case O_MAXLINE: o.line_cap = cli_size("max-line", arg); break;
		case O_OUTPUT: output = cli_choice("output", arg, outputs); break;
		case 'n': o.dry_run = 1; break;
		case O_SUPPRESSED: o.suppressed_flag = cli_choice("suppressed", arg, suppressed); break;
		case 'q': c.quiet = 1; break;
		case O_IMAP: io.url = arg; break;
		case O_SELF: self[nself++] = arg; break;
		case O_LEADS: mo.create_leads = 1; break;
		case O_ERP: erp = 1; break;
		case O_PASSFILE: passfile = arg; break;
		case O_TOKENFILE: tokenfile = arg; break;
		}
	}
	mo.self = self;
	mo.nself = nself;
	if (io.url) {
		if (argc > optind)
			cli_die(CRM_EUSAGE, "--imap takes no files");
		io.password = password = cli_secret(passfile, "CRM_IMAP_PASSWORD");
		io.bearer = token = cli_secret(tokenfile, "CRM_IMAP_TOKEN");
	}
	c.output = output == 3 ? (cli_isatty(1) ? OUT_TABLE : OUT_NDJSON) : (enum output)output;
	o.records = c.output != OUT_NONE;
	if (erp && (type || mail))
		cli_die(CRM_EUSAGE, "--erp files are orders and invoices: no --type or mail format");
	if (crm_ingest_inputs(argv + optind, (size_t)(argc - optind), fmt, type, mail, erp, &o, &in, &nin, &e) < 0)
		cli_die_err(&e);
	for (size_t i = 0; i < nin && !io.url; i++)
		if (!strcmp(in[i].path, "-") && isatty(0))
			cli_warn("reading records from the terminal (end with Ctrl-D)");
	if (c.rejects_path && !(c.rejects = fopen(c.rejects_path, "w")))
		cli_die(CRM_ENOINPUT, "%s: %s", c.rejects_path, strerror(errno));
	s = cli_open(CRM_STORE_CREATE);
	/* Bulk work on SQLite: a fixed 16 MiB page cache (memory stays flat
	 * however big the input) and fewer, larger checkpoints. */
	crm_store_bulk(s, 16, 1);

	h.ctx = &c;
	h.records = on_records;
	h.reject = on_reject;
	h.warn = cli_warn_cb;
	h.progress = on_progress;
	if (!(g.im = crm_import_new(s, &o, &h, &e)))
		cli_die_err(&e);
	for (size_t i = 0; i < nmaps; i++)
		if (crm_import_maps(g.im, maps[i], &e) < 0)
			cli_die_err(&e);
	g.db = s;
	g.erp = erp;
	g.mail = &mo;
	g.reject = on_reject;
	g.arg = &c;
	c.started = crm_now();
	if (io.url) {
		struct crm_imap_state st;
		long n;

		nin = 0;
		if ((n = crm_ingest_imap(&g, &io, &st, &e)) < 0) {
			cli_warn("%s", e.msg);
			status = e.code ? e.code : CRM_ESOFTWARE;
		} else if (!c.quiet) {
			cli_warn("%s: %ld new message%s (UIDVALIDITY %llu, last UID %llu)", io.url, n,
				 n == 1 ? "" : "s", st.uidvalidity, st.uid);
		}
	}
	for (size_t i = 0; i < nin; i++) {
		if (crm_ingest_file(&g, &in[i], &e) < 0) {
			cli_warn("%s", e.msg);
			status = e.code ? e.code : CRM_ESOFTWARE;
			break;
		}
	}
	if (c.unshown)
		printf("... and %ld more (--output ndjson for every record)\n", c.unshown);
	{
		const struct crm_import_stats *st = crm_import_stats(g.im);

		if (!c.quiet) {
			struct crm_buf m;

			crm_buf_init(&m, 0);
			crm_import_summary(&m, st, g.erp_rejected, g.skipped, crm_now() - c.started,
					   o.dry_run, c.rejects != NULL);
			cli_log(CLI_INFO, "%s", m.data);
			crm_buf_release(&m);
		}
		if (!status && (st->rejected || g.erp_rejected))
			status = CRM_EDATA;
	}
	crm_ingest_release(&g);
	crm_import_free(g.im);
	crm_store_close(s);
	if (c.rejects && fclose(c.rejects) != 0) {
		cli_warn("%s: %s", c.rejects_path, strerror(errno));
		status = CRM_EIO;
	}
	free(maps);
	free(in);
	free(self);
	cli_secret_free(password);
	cli_secret_free(token);
	return cli_finish(status);
}
