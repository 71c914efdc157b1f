/*
 * crm-import - load accounts, contacts, deals, interactions, products,
 * users and tasks from CSV or NDJSON into the database.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/db.h"
#include "../lib/import.h"
#include "../lib/ndjson.h"
#include "cli.h"

enum { O_DATES = 256, O_DELIM, O_BATCH, O_MAXLINE, O_OUTPUT };

static const struct cli_opt opts[] = {
	{ "type", 't', "TYPE", "record type: account, contact, deal, interaction, product, user, task (default: guess)" },
	{ "format", 'f', "FMT", "input format: csv, ndjson or auto (default)" },
	{ "source", 's', "NAME", "system the rows come from (default: import)" },
	{ "map", 'm', "H=F[,...]", "map input column H to field F (or attrs)" },
	{ "rejects", 'r', "FILE", "write rejected rows to FILE as NDJSON" },
	{ "dates", O_DATES, "ORDER", "order of slash dates: mdy (default) or dmy" },
	{ "delimiter", O_DELIM, "CHAR", "CSV field separator (default: guess)" },
	{ "batch", O_BATCH, "N", "rows per transaction (default 20000)" },
	{ "max-line", O_MAXLINE, "BYTES", "longest input line accepted (default 64M)" },
	{ "output", O_OUTPUT, "MODE", "records out: auto, ndjson, table or none" },
	{ "dry-run", 'n', NULL, "check and resolve everything, write nothing" },
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
};

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

		if (o) {
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
			json_decref(o);
		}
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

	if (!c->rejects) {
		clear_progress(c);
		cli_warn("%s:%ld: %s", file, line, why);
		return 0;
	}
	{
		struct crm_buf b;
		int rc = 0;

		crm_buf_init(&b, 0);
		if (crm_buf_adds(&b, "{\"file\":") < 0 ||
		    crm_json_str(&b, file, strlen(file)) < 0 ||
		    crm_buf_addf(&b, ",\"line\":%ld,\"reason\":", line) < 0 ||
		    crm_json_str(&b, why, strlen(why)) < 0 ||
		    crm_buf_adds(&b, ",\"raw\":") < 0 ||
		    crm_json_str(&b, raw ? raw : "", raw ? rawlen : 0) < 0 ||
		    crm_buf_adds(&b, "}\n") < 0 ||
		    fwrite(b.data, 1, b.len, c->rejects) != b.len)
			rc = -1;
		crm_buf_release(&b);
		return rc;
	}
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

static size_t parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno)
		cli_die(CRM_EUSAGE, "--%s: '%s' is not a number", opt, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || v == 0)
		cli_die(CRM_EUSAGE, "--%s: '%s' is not a positive size", opt, s);
	return (size_t)v;
}

struct input {
	const char *path;
	enum crm_format fmt;
	const struct crm_entity *type;
	size_t order;
};

static int by_type(const void *a, const void *b)
{
	const struct input *x = a, *y = b;
	size_t tx = x->type ? (size_t)(x->type - crm_entities) : crm_nentities;
	size_t ty = y->type ? (size_t)(y->type - crm_entities) : crm_nentities;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
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
	struct input *in;
	struct crm_err e = { 0 };
	sqlite3 *db;
	char **maps = NULL;
	size_t nmaps = 0, nin;
	int key, status = 0, stdin_used = 0;

	o.records = 1;
	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't':
			type = parse_type(arg);
			break;
		case 'f':
			if (!strcmp(arg, "csv"))
				fmt = CRM_FMT_CSV;
			else if (!strcmp(arg, "ndjson") || !strcmp(arg, "jsonl"))
				fmt = CRM_FMT_NDJSON;
			else if (!strcmp(arg, "auto"))
				fmt = CRM_FMT_AUTO;
			else
				cli_die(CRM_EUSAGE, "--format: unknown format '%s' (want csv, ndjson or auto)", arg);
			break;
		case 's':
			o.source = arg;
			break;
		case 'm': {
			char **m = realloc(maps, (nmaps + 1) * sizeof(*m));

			if (!m)
				cli_die(CRM_ESOFTWARE, "out of memory");
			maps = m;
			maps[nmaps++] = (char *)arg;
			break;
		}
		case 'r':
			c.rejects_path = arg;
			break;
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
		case O_BATCH:
			o.batch = parse_size("batch", arg);
			break;
		case O_MAXLINE:
			o.line_cap = parse_size("max-line", arg);
			break;
		case O_OUTPUT:
			output = arg;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'q':
			c.quiet = 1;
			break;
		}
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
	/* Several files: load what others refer to first (accounts before deals). */
	if (nin > 1 && !stdin_used && !type) {
		for (size_t i = 0; i < nin; i++)
			if (crm_import_probe(in[i].path, &in[i].fmt, &in[i].type,
					     o.line_cap, &e) < 0)
				cli_die_err(&e);
		qsort(in, nin, sizeof(*in), by_type);
	}

	if (c.rejects_path) {
		c.rejects = fopen(c.rejects_path, "w");
		if (!c.rejects)
			cli_die(CRM_ENOINPUT, "%s: %s", c.rejects_path, strerror(errno));
	}
	if (crm_db_open(&db, cli_db, CRM_DB_CREATE, &e) < 0)
		cli_die_err(&e);
	/* Bulk work: a fixed 16 MiB page cache (memory stays flat however big
	 * the input) and fewer, larger checkpoints. */
	sqlite3_exec(db, "PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=16384", NULL, NULL, NULL);

	h.ctx = &c;
	h.records = on_records;
	h.reject = on_reject;
	h.warn = on_warn;
	h.progress = on_progress;
	im = crm_import_new(db, &o, &h, &e);
	if (!im)
		cli_die_err(&e);
	for (size_t i = 0; i < nmaps; i++) {
		char *spec = maps[i], *p;

		/* "A=b,C=d": split on commas that are followed by X=. */
		while ((p = strchr(spec, ',')) && strchr(p, '=')) {
			*p = '\0';
			if (crm_import_map(im, spec, &e) < 0)
				cli_die_err(&e);
			spec = p + 1;
		}
		if (crm_import_map(im, spec, &e) < 0)
			cli_die_err(&e);
	}
	c.started = crm_now();
	for (size_t i = 0; i < nin; i++) {
		if (crm_import_file(im, in[i].path, in[i].fmt, in[i].type, &e) < 0) {
			clear_progress(&c);
			cli_warn("%s", e.msg);
			status = e.code ? e.code : CRM_ESOFTWARE;
			break;
		}
	}
	{
		const struct crm_import_stats *st = crm_import_stats(im);
		double dt = crm_now() - c.started;

		if (!c.quiet) {
			fprintf(stderr,
				"%s: %lld rows: %lld inserted, %lld updated, %lld unchanged, %lld rejected",
				cli_prog, st->rows, st->inserted, st->updated,
				st->unchanged, st->rejected);
			if (st->lost)
				fprintf(stderr, ", %lld not written", st->lost);
			fprintf(stderr, "%s (%.0f rows/s)%s\n",
				c.rejects && st->rejected ? " (see rejects file)" : "",
				dt > 0 ? (double)st->rows / dt : 0.0,
				o.dry_run ? " [dry run: nothing written]" : "");
		}
		if (!status && st->rejected)
			status = CRM_EDATA;
	}
	crm_import_free(im);
	crm_db_close(db);
	if (c.rejects && fclose(c.rejects) != 0) {
		cli_warn("%s: %s", c.rejects_path, strerror(errno));
		status = CRM_EIO;
	}
	free(maps);
	free(in);
	return cli_finish(status);
}
