/*
 * ingest.h - the inputs of an import run: the files named, their format
 * and order, and each read by the reader it needs (records, mail, ERP
 * orders and invoices) into one import.
 */
#ifndef CRM_INGEST_H
#define CRM_INGEST_H

#include "import.h"
#include "mail.h"

struct crm_erp;

/*
 * The inputs paths[0..n) (none: stdin, "-"), each in format fmt and of
 * type (NULL: the records say); mail where mail is set or, with neither
 * a type nor a format, where the file looks like mail; ERP files never
 * are. Several files go in the order crm_import_order gives. *out is
 * allocated (free() it), *nout inputs. 0, or -1 with e (CRM_EUSAGE:
 * stdin twice, mail on stdin).
 */
int crm_ingest_inputs(char *const *paths, size_t n, enum crm_format fmt,
		      const struct crm_entity *type, int mail, int erp,
		      const struct crm_import_opts *o, struct crm_import_input **out,
		      size_t *nout, struct crm_err *e);

/* Where the inputs go, who hears of what is left out, and how much. */
struct crm_ingest {
	struct crm_import *im;
	struct crm_store *db;
	int erp;				/* the files are ERP documents */
	const struct crm_mail_opts *mail;
	/* A message (by its place in file) or an ERP row (by its line) not
	 * imported, and why: nobody we know, not revenue, no account. */
	int (*reject)(void *arg, const char *file, long line, const char *why,
		      const char *raw, size_t rawlen);
	void *arg;
	long skipped;				/* messages left out */
	long erp_rejected;			/* ERP rows left out */
	/* private */
	struct crm_erp *ex;			/* made on first use */
	const char *file;
};

/* One input read into g->im. 0, or -1 with e. */
int crm_ingest_file(struct crm_ingest *g, const struct crm_import_input *in, struct crm_err *e);
/* New mail in the IMAP mailbox of io (crm_mail_import_imap): the number
 * of messages, or -1 with e. */
long crm_ingest_imap(struct crm_ingest *g, const struct crm_imap_opts *io,
		     struct crm_imap_state *st, struct crm_err *e);
void crm_ingest_release(struct crm_ingest *g);

#endif
