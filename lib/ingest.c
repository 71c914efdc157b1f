/*
 * ingest.c - the inputs of an import run, and each through its reader:
 * records (import.c), mail (mail.c) or ERP documents (erp.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erp.h"
#include "ingest.h"

int crm_ingest_inputs(char *const *paths, size_t n, enum crm_format fmt,
		      const struct crm_entity *type, int mail, int erp,
		      const struct crm_import_opts *o, struct crm_import_input **out,
		      size_t *nout, struct crm_err *e)
{
	static char dash[] = "-";
	static char *const std_in[] = { dash };
	size_t nin = n ? n : 1, stdin_used = 0;
	struct crm_import_input *in = calloc(nin, sizeof(*in));

	*out = NULL;
	*nout = 0;
	if (!in)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (!n)
		paths = std_in;
	for (size_t i = 0; i < nin; i++) {
		in[i].path = paths[i];
		in[i].fmt = fmt;
		in[i].type = type;
		in[i].order = i;
		in[i].mail = !erp && (mail || (fmt == CRM_FMT_AUTO && !type && crm_mail_sniff(paths[i])));
		if (strcmp(paths[i], "-"))
			continue;
		if (stdin_used++) {
			free(in);
			return crm_err_set(e, CRM_EUSAGE, "stdin ('-') given twice");
		}
		if (in[i].mail) {
			free(in);
			return crm_err_set(e, CRM_EUSAGE, "mail is read from files, not stdin");
		}
	}
	/* Several files: what others refer to first (accounts before deals;
	 * mail, which refers to contacts, last). */
	if (nin > 1 && !stdin_used && !type && !erp && crm_import_order(in, nin, o, e) < 0) {
		free(in);
		return -1;
	}
	*out = in;
	*nout = nin;
	return 0;
}

static void skip_message(void *arg, long index, const char *why)
{
	struct crm_ingest *g = arg;
	char what[600];

	g->skipped++;
	snprintf(what, sizeof(what), "message %ld skipped: %s", index, why);
	if (g->reject)
		g->reject(g->arg, g->file, index, what, NULL, 0);
}

static int reject_row(void *arg, const char *file, long line, const char *why,
		      const char *raw, size_t rawlen)
{
	struct crm_ingest *g = arg;

	g->erp_rejected++;
	return g->reject ? g->reject(g->arg, file, line, why, raw, rawlen) : 0;
}

int crm_ingest_file(struct crm_ingest *g, const struct crm_import_input *in, struct crm_err *e)
{
	g->file = in->path;
	if (g->erp) {
		if (!g->ex && !(g->ex = crm_erp_new(g->db, e)))
			return -1;
		return crm_erp_import_file(g->ex, g->im, in->path, reject_row, g, e);
	}
	if (in->mail)
		return crm_mail_import_file(g->db, g->im, in->path, g->mail, skip_message, g, e);
	return crm_import_file(g->im, in->path, in->fmt, in->type, e);
}

long crm_ingest_imap(struct crm_ingest *g, const struct crm_imap_opts *io,
		     struct crm_imap_state *st, struct crm_err *e)
{
	g->file = io->url;
	return crm_mail_import_imap(g->db, g->im, io, g->mail, skip_message, g, st, e);
}

void crm_ingest_release(struct crm_ingest *g)
{
	crm_erp_free(g->ex);
	g->ex = NULL;
}
