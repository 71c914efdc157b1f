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
#include "../lib/erp.h"
#include "../lib/import.h"
#include "../lib/mail.h"
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
	int quiet, progress_shown;
	double started;
	const char *mail_file;	/* the file whose messages are being read */
	long skipped;		/* messages not imported: nobody we know */
	long erp_rejected;	/* ERP rows that are not revenue or have no account */
	long shown, unshown;	/* table rows printed, and left out */
};

/* A terminal gets the first rows as a table, the rest counted. */
#define TABLE_ROWS 40

static int on_records(void *p, const char *buf, size_t len)
{
	struct ctx *c = p;

	if (c->output == OUT_NDJSON) {
		/* A closed pipe stops the output, not the import. */
		cli_write(buf, len);
		return 0;
	}
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;
		json_t *o = json_loadb(buf, n, 0, NULL);

		if (o && c->shown >= TABLE_ROWS) {
			c->unshown++;
		} else if (o) {
			const char *label = NULL;
			const char *keys[] = { "name", "email", "title", "subject",
					       "last_name", "kind", NULL };

			for (int i = 0; keys[i] && !label; i++)
				label = json_string_value(json_object_get(o, keys[i]));
			printf("%-9s  %-11s  %-18s  %s\n",
			       json_string_value(json_object_get(o, "status")),
			       json_string_value(json_object_get(o, "type")),
			       json_string_value(json_object_get(o, "id")),
			       label ? label : "");
			c->shown++;
		}
		json_decref(o);
		buf += n;
		len -= n;
	}
	return 0;
}

static void clear_progress(struct ctx *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = 0;
	}
}

static int on_reject(void *p, const char *file, long line, const char *why,
		     const char *raw, size_t rawlen)
{
	struct ctx *c = p;
	struct crm_buf b;
	int rc;

	if (!c->rejects) {
		clear_progress(c);
		cli_warn("%s:%ld: %s", file, line, why);
		return 0;
	}
	crm_buf_init(&b, 0);
	rc = crm_import_reject_json(&b, file, line, why, raw, rawlen) < 0 ||
	     fwrite(b.data, 1, b.len, c->rejects) != b.len ? -1 : 0;
	crm_buf_release(&b);
	return rc;
}

static void on_warn(void *p, const char *msg)
{
	clear_progress(p);
	cli_warn("%s", msg);
}

static void on_progress(void *p, const char *file,
			const struct crm_import_stats *st)
{
	struct ctx *c = p;
	double dt = crm_now() - c->started;

	if (c->quiet || !cli_isatty(2))
		return;
	if (!file) {
		clear_progress(c);
		return;
	}
	fprintf(stderr, "\r\033[K%s: %s: %lld rows (%.0f rows/s)", cli_prog,
		file, st->rows, dt > 0 ? (double)st->rows / dt : 0.0);
	c->progress_shown = 1;
}

static const struct crm_entity *parse_type(const char *s)
{
	const struct crm_entity *t = crm_entity_find(s);

	if (!t)
		cli_die(CRM_EUSAGE, "unknown type '%s' (want account, contact, deal, interaction, product, user or task)", s);
	return t;
}

/* A message not imported: said, and written to the rejects file. */
static void on_skip(void *p, long index, const char *why)
{
	struct ctx *c = p;
	char what[600];

	c->skipped++;
	snprintf(what, sizeof what, "message %ld skipped: %s", index, why);
	on_reject(c, c->mail_file, index, what, NULL, 0);
}

static int on_erp_reject(void *p, const char *file, long line, const char *why,
			 const char *raw, size_t rawlen)
{
	((struct ctx *)p)->erp_rejected++;
	return on_reject(p, file, line, why, raw, rawlen);
}

int main(int argc, char **argv)
{
	struct crm_import_opts o = { 0 };
	struct crm_import_hooks h = { 0 };
	struct ctx c = { 0 };
	const struct crm_entity *type = NULL;
	enum crm_format fmt = CRM_FMT_AUTO;
	const char *arg, *output = "auto";
	struct crm_import *im;
	struct crm_import_input *in;
	struct crm_err e = { 0 };
	struct crm_store *s;
	char **maps = NULL;
	size_t nmaps = 0, nin;
	int key, status = 0, stdin_used = 0, mail = 0, erp = 0;
	struct crm_erp *ex = NULL;
	struct crm_mail_opts mo = { 0 };
	struct crm_imap_opts io = { 0 };
	const char **self = NULL, *passfile = NULL, *tokenfile = NULL;
	size_t nself = 0;
	char *password = NULL, *token = NULL;

	o.records = 1;
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't': type = parse_type(arg); break;
		case 'f':
			if (!strcmp(arg, "csv"))
				fmt = CRM_FMT_CSV;
			else if (!strcmp(arg, "ndjson") || !strcmp(arg, "jsonl"))
				fmt = CRM_FMT_NDJSON;
			else if (!strcmp(arg, "auto"))
				fmt = CRM_FMT_AUTO;
			else if (!strcmp(arg, "mail"))
				mail = 1;
			else
				cli_die(CRM_EUSAGE, "--format: unknown format '%s' (want csv, ndjson, mail or auto)", arg);
			break;
		case 's': o.source = arg; break;
		case 'm': {
			char **m = realloc(maps, (nmaps + 1) * sizeof(*m));

			if (!m)
				cli_die(CRM_ESOFTWARE, "out of memory");
			maps = m;
			maps[nmaps++] = (char *)arg;
			break;
		}
		case 'r': c.rejects_path = arg; break;
		case O_DATES:
			if (!strcmp(arg, "mdy"))
				o.dates = CRM_DATE_MDY;
			else if (!strcmp(arg, "dmy"))
				o.dates = CRM_DATE_DMY;
			else
				cli_die(CRM_EUSAGE, "--dates: want mdy or dmy, not '%s'", arg);
			break;
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
		case O_OUTPUT: output = arg; break;
		case 'n': o.dry_run = 1; break;
		case O_SUPPRESSED:
			if (strcmp(arg, "refuse") && strcmp(arg, "flag"))
				cli_die(CRM_EUSAGE, "--suppressed: want refuse or flag, not '%s'", arg);
			o.suppressed_flag = !strcmp(arg, "flag");
			break;
		case 'q': c.quiet = 1; break;
		case O_IMAP: io.url = arg; break;
		case O_SELF: {
			const char **ns = realloc(self, (nself + 1) * sizeof(*ns));
			if (!ns)
				cli_die(CRM_ESOFTWARE, "out of memory");
			self = ns;
			self[nself++] = arg;
			break;
		}
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
	if (!strcmp(output, "auto"))
		c.output = cli_isatty(1) ? OUT_TABLE : OUT_NDJSON;
	else if (!strcmp(output, "ndjson"))
		c.output = OUT_NDJSON;
	else if (!strcmp(output, "table"))
		c.output = OUT_TABLE;
	else if (!strcmp(output, "none"))
		c.output = OUT_NONE;
	else
		cli_die(CRM_EUSAGE, "--output: want auto, ndjson, table or none, not '%s'", output);
	o.records = c.output != OUT_NONE;

	nin = argc > optind ? (size_t)(argc - optind) : 1;
	in = calloc(nin, sizeof(*in));
	if (!in)
		cli_die(CRM_ESOFTWARE, "out of memory");
	for (size_t i = 0; i < nin; i++) {
		in[i].path = argc > optind ? argv[optind + (int)i] : "-";
		in[i].fmt = fmt;
		in[i].type = type;
		in[i].order = i;
		if (!strcmp(in[i].path, "-")) {
			if (stdin_used++)
				cli_die(CRM_EUSAGE, "stdin ('-') given twice");
			if (isatty(0))
				cli_warn("reading records from the terminal (end with Ctrl-D)");
		}
	}
	for (size_t i = 0; i < nin; i++)
		in[i].mail = !erp && (mail || (fmt == CRM_FMT_AUTO && !type && crm_mail_sniff(in[i].path)));
	if (erp && (type || mail))
		cli_die(CRM_EUSAGE, "--erp files are orders and invoices: no --type or mail format");
	/* Several files: load what others refer to first (accounts before
	 * deals; mail, which refers to contacts, last). */
	if (nin > 1 && !stdin_used && !type && !erp && crm_import_order(in, nin, &o, &e) < 0)
		cli_die_err(&e);
	if (c.rejects_path) {
		c.rejects = fopen(c.rejects_path, "w");
		if (!c.rejects)
			cli_die(CRM_ENOINPUT, "%s: %s", c.rejects_path, strerror(errno));
	}
	s = cli_open(CRM_STORE_CREATE);
	/* Bulk work on SQLite: a fixed 16 MiB page cache (memory stays flat
	 * however big the input) and fewer, larger checkpoints. */
	crm_store_bulk(s, 16, 1);

	h.ctx = &c;
	h.records = on_records;
	h.reject = on_reject;
	h.warn = on_warn;
	h.progress = on_progress;
	im = crm_import_new(s, &o, &h, &e);
	if (!im)
		cli_die_err(&e);
	for (size_t i = 0; i < nmaps; i++)
		if (crm_import_maps(im, maps[i], &e) < 0)
			cli_die_err(&e);
	c.started = crm_now();
	if (io.url) {
		struct crm_imap_state st;
		long n;

		nin = 0;
		c.mail_file = io.url;
		if ((n = crm_mail_import_imap(s, im, &io, &mo, on_skip, &c, &st, &e)) < 0) {
			clear_progress(&c);
			cli_warn("%s", e.msg);
			status = e.code ? e.code : CRM_ESOFTWARE;
		} else if (!c.quiet) {
			cli_warn("%s: %ld new message%s (UIDVALIDITY %llu, last UID %llu)", io.url, n,
				 n == 1 ? "" : "s", st.uidvalidity, st.uid);
		}
	}
	for (size_t i = 0; i < nin; i++) {
		if (in[i].mail && !strcmp(in[i].path, "-"))
			cli_die(CRM_EUSAGE, "mail is read from files, not stdin");
		if (erp && !ex && !(ex = crm_erp_new(s, &e)))
			cli_die_err(&e);
		c.mail_file = in[i].path;
		if (erp ? crm_erp_import_file(ex, im, in[i].path, on_erp_reject, &c, &e) < 0
		    : in[i].mail ? crm_mail_import_file(s, im, in[i].path, &mo, on_skip, &c, &e) < 0
			       : crm_import_file(im, in[i].path, in[i].fmt, in[i].type, &e) < 0) {
			clear_progress(&c);
			cli_warn("%s", e.msg);
			status = e.code ? e.code : CRM_ESOFTWARE;
			break;
		}
	}
	if (c.unshown)
		printf("... and %ld more (--output ndjson for every record)\n", c.unshown);
	{
		const struct crm_import_stats *st = crm_import_stats(im);

		if (!c.quiet) {
			struct crm_buf m;

			crm_buf_init(&m, 0);
			crm_import_summary(&m, st, c.erp_rejected, c.skipped, crm_now() - c.started,
					   o.dry_run, c.rejects != NULL);
			cli_log(CLI_INFO, "%s", m.data);
			crm_buf_release(&m);
		}
		if (!status && (st->rejected || c.erp_rejected))
			status = CRM_EDATA;
	}
	crm_erp_free(ex);
	crm_import_free(im);
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
