/*
 * crm-export - records out of the database as NDJSON, CSV or a table.
 * The inverse of crm-import: its NDJSON (and single-type CSV) imports
 * into a fresh database as the same records, ids and custom fields kept.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/crypt.h"
#include "../lib/csvread.h"
#include "../lib/store/store.h"
#include "../lib/export.h"
#include "../lib/ndjson.h"
#include "../lib/normalize.h"
#include "../lib/privacy.h"
#include "../lib/row.h"
#include "cli.h"

enum { O_SINCE = 256, O_FIELDS, O_MERGED, O_SUBJECT };

static const struct cli_opt opts[] = {
	{ "type", 't', "TYPE", "record type to export (repeatable; default: all)" },
	{ "where", 'w', "EXPR", "filter FIELD=VALUE, != < <= > >= or ~ (contains); repeatable" },
	{ "since", O_SINCE, "TIME", "only records changed at or after TIME" },
	{ "format", 'f', "FMT", "ndjson, csv or table (default: table on a terminal)" },
	{ "fields", O_FIELDS, "LIST", "columns for csv and table, comma-separated" },
	{ "include-merged", O_MERGED, NULL, "also records merged into others" },
	{ "subject", O_SUBJECT, "WHO", "everything held about one person (email, phone or contact id; GDPR Art. 15/20), as NDJSON" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-export", "[options]",
	"Write records from the database as NDJSON (default in a pipe), CSV or a table.",
	opts,
};

enum fmt { F_NDJSON, F_CSV, F_TABLE };

static const char *const table_cols[][8] = {
	{ "user", "id", "name", "email", "team", "manager", NULL },
	{ "product", "id", "name", "series", "price", NULL },
	{ "account", "id", "name", "industry", "country", "employees", "owner", NULL },
	{ "contact", "id", "first_name", "last_name", "email", "company", "lifecycle_stage", NULL },
	{ "deal", "id", "product", "stage", "amount", "owner", "closed_at", NULL },
	{ "interaction", "id", "kind", "occurred_at", "contact_id", "subject", NULL },
	{ "task", "id", "title", "owner", "due_at", "status", NULL },
};

static void put(const char *s, size_t n)
{
	if (cli_write(s, n) < 0)
		exit(cli_finish(0));	/* reader went away: stop quietly */
}

/* A table cell: 20 characters wide, cut without splitting UTF-8. */
static void table_cell(struct crm_buf *b, const char *s, size_t n)
{
	size_t len = 0, chars = 0;

	while (len < n && chars < 20) {
		len++;
		while (len < n && ((unsigned char)s[len] & 0xc0) == 0x80)
			len++;
		chars++;
	}
	crm_buf_adds(b, "  ");
	for (size_t i = 0; i < len; i++)
		crm_buf_addc(b, s[i] == '\n' || s[i] == '\t' ? ' ' : s[i]);
	for (; chars < 20; chars++)
		crm_buf_addc(b, ' ');
}

/* The columns of a CSV or table export: those of --fields, a table's
 * few, or all. */
static void pick_columns(struct crm_store *db, const struct crm_export_query *q,
			 struct crm_stmt *st, const char *fields, enum fmt fmt,
			 struct crm_export_cols *c)
{
	struct crm_err e = { 0 };
	char list[256] = "";

	if (!fields && fmt == F_TABLE) {
		for (size_t t = 0; t < sizeof(table_cols) / sizeof(table_cols[0]); t++)
			if (!strcmp(table_cols[t][0], q->type->kind))
				for (int i = 1; table_cols[t][i]; i++)
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
						 i > 1 ? "," : "", table_cols[t][i]);
		fields = list;
	}
	if (crm_export_columns(db, q, st, fields, fields == list, c, &e) < 0)
		cli_die_err(&e);
}

/* Write the rows of st in fmt; returns the number written. */
static long write_rows(struct crm_store *db, const struct crm_export_query *q,
		       struct crm_stmt *st, enum fmt fmt, const char *fields)
{
	struct crm_err e = { 0 };
	struct crm_buf b, v;
	struct crm_export_cols c = { 0 };
	long n = 0;
	int rc;

	crm_buf_init(&b, 0);
	crm_buf_init(&v, 0);
	if (fmt != F_NDJSON) {
		pick_columns(db, q, st, fields, fmt, &c);
		if (fmt == F_CSV) {
			for (size_t i = 0; i < c.n; i++) {
				if (i)
					crm_buf_addc(&b, ',');
				crm_csv_put(&b, c.name[i], strlen(c.name[i]));
			}
		} else {
			crm_buf_addf(&b, "%s:\n", q->type->table);
			for (size_t i = 0; i < c.n; i++)
				table_cell(&b, c.name[i], strlen(c.name[i]));
		}
		crm_buf_addc(&b, '\n');
	}
	while ((rc = crm_stmt_step(st, &e)) > 0) {
		int m = crm_export_match(q, st, &e);

		if (m < 0)
			cli_die_err(&e);
		if (!m)
			continue;
		n++;
		if (fmt == F_NDJSON) {
			if (crm_row_json_e(&b, st, q->type->kind, NULL, &e) < 0)
				cli_die_err(&e);
		} else {
			json_t *attrs = c.attrs >= 0 ? json_loads(crm_stmt_text(st, c.attrs), 0, NULL) : NULL;

			for (size_t i = 0; i < c.n; i++) {
				if (crm_export_cell(st, q->type->table, &c, i, attrs, &v, &e) < 0)
					cli_die_err(&e);
				if (fmt == F_CSV) {
					if (i)
						crm_buf_addc(&b, ',');
					crm_csv_put(&b, v.data, v.len);
				} else {
					table_cell(&b, v.data, v.len);
				}
			}
			json_decref(attrs);
			crm_buf_addc(&b, '\n');
		}
		if (b.len >= 65536) {
			put(b.data, b.len);
			crm_buf_reset(&b);
		}
	}
	if (rc < 0)
		cli_die(e.code, "%s: %s", q->type->table, e.msg);
	if (fmt == F_TABLE)
		crm_buf_addf(&b, "(%ld %s)\n\n", n, n == 1 ? q->type->kind : q->type->table);
	if (b.len)
		put(b.data, b.len);
	crm_buf_release(&b);
	crm_buf_release(&v);
	crm_export_columns_release(&c);
	return n;
}

static int emit_line(void *ctx, const char *rec, size_t n)
{
	(void)ctx;
	return cli_write(rec, n);
}

/* --subject: the person's records, and an entry in the audit trail. */
static int export_subject(const char *subject)
{
	struct crm_err e = { 0 };
	char actor[128];
	struct crm_store *s;
	int rc;

	s = cli_open(0);
	crm_actor_cli(actor, sizeof(actor));
	rc = crm_subject_export(s, subject, actor, emit_line, NULL, &e);
	if (rc < 0)
		cli_die_err(&e);
	if (rc > 0)
		cli_warn("no contact matches the subject");
	crm_store_close(s);
	return cli_finish(rc > 0 ? CRM_EFINDING : 0);
}

int main(int argc, char **argv)
{
	const char *subject = NULL;
	const struct crm_entity *types[16];
	struct crm_filter filters[32];
	struct crm_err e = { 0 };
	const char *arg, *fields = NULL;
	char since[CRM_TIME_MAX];
	size_t ntypes = 0, nfilters = 0;
	int key, merged = 0, have_since = 0;
	enum fmt fmt = cli_isatty(1) ? F_TABLE : F_NDJSON;
	struct crm_store *db;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't':
			if (ntypes < 16)
				types[ntypes++] = cli_type(arg, NULL, NULL);
			break;
		case 'w':
			if (nfilters == 32)
				cli_die(CRM_EUSAGE, "too many --where filters");
			if (crm_filter_parse(arg, &filters[nfilters], &e) < 0)
				cli_die_err(&e);
			nfilters++;
			break;
		case O_SINCE: {
			const char *why;

			if (crm_parse_time(arg, CRM_DATE_MDY, since, &why) < 0)
				cli_die(CRM_EUSAGE, "--since '%s': %s", arg, why);
			have_since = 1;
			break;
		}
		case 'f':
			if (!strcmp(arg, "ndjson") || !strcmp(arg, "jsonl"))
				fmt = F_NDJSON;
			else if (!strcmp(arg, "csv"))
				fmt = F_CSV;
			else if (!strcmp(arg, "table"))
				fmt = F_TABLE;
			else
				cli_die(CRM_EUSAGE, "--format: want ndjson, csv or table, not '%s'", arg);
			break;
		case O_FIELDS:
			fields = arg;
			break;
		case O_MERGED:
			merged = 1;
			break;
		case O_SUBJECT:
			subject = arg;
			break;
		}
	}
	if (optind < argc)
		cli_die(CRM_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (subject)
		return export_subject(subject);
	if (!ntypes)
		for (size_t i = 0; i < crm_nentities && i < 16; i++)
			types[ntypes++] = &crm_entities[i];
	if (fmt == F_CSV && ntypes != 1)
		cli_die(CRM_EUSAGE, "CSV holds one record type: give one --type");
	if (crm_store_open(&db, crm_store_target(cli_db), CRM_STORE_READONLY, &e) < 0 ||
	    /* One read transaction: a consistent snapshot across the types. */
	    crm_store_begin_read(db, &e) < 0)
		cli_die_err(&e);
	for (size_t i = 0; i < ntypes; i++) {
		struct crm_export_query q = { types[i], filters, nfilters,
					      have_since ? since : NULL, merged };
		struct crm_stmt *st;

		if (crm_export_prepare(db, &q, &st, &e) < 0) {
			/* A filter may name a field only some types have. */
			if (e.code == CRM_EUSAGE && ntypes > 1 && nfilters)
				continue;
			cli_die_err(&e);
		}
		if (fmt == F_TABLE && ntypes > 1 && crm_stmt_step(st, &e) <= 0) {
			if (e.code)
				cli_die_err(&e);
			crm_stmt_free(st);
			continue;
		}
		crm_stmt_reset(st);
		write_rows(db, &q, st, fmt, fields);
		crm_stmt_free(st);
	}
	crm_store_rollback(db);	/* read only: nothing to keep */
	crm_store_close(db);
	for (size_t i = 0; i < nfilters; i++)
		crm_filter_release(&filters[i]);
	return cli_finish(0);
}
