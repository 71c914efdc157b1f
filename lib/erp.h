/*
 * erp.h - orders and invoices from an ERP as won revenue of accounts.
 *
 * Each row (CSV with a header, or NDJSON) becomes a won deal, source
 * "erp", keyed by the order or invoice number, linked to an account found
 * by, in turn: the account's id or external id, its web domain (from a
 * domain, website or a business email column), a contact's email, its
 * name exactly, its company key (the name without legal forms: "ACME
 * Corp." is "Acme Corporation") when one account has it, and the key
 * approximately (Jaro-Winkler at least 0.92, clear of the runner-up).
 * A name that fits several accounts is rejected. attrs.erp_match
 * says which. Cancelled, void, refunded and draft rows, and credit notes,
 * are not revenue: they are rejected with that reason, like rows whose
 * account cannot be found.
 */
#ifndef CRM_ERP_H
#define CRM_ERP_H


#include "util.h"

struct crm_store;

struct crm_erp;

struct crm_erp *crm_erp_new(struct crm_store *db, struct crm_err *e);
void crm_erp_free(struct crm_erp *x);

/*
 * The deal records of the rows of path, appended to out as NDJSON;
 * reject(arg, file, line, reason, raw, rawlen) for each row that is not
 * revenue or has no account. Returns the number of rows read, or -1.
 */
long crm_erp_records(struct crm_erp *x, const char *path, struct crm_buf *out,
		     int (*reject)(void *arg, const char *file, long line, const char *why,
				   const char *raw, size_t rawlen),
		     void *arg, struct crm_err *e);

struct crm_import;

/* The orders or invoices of path imported through im as won deals
 * (crm_erp_records; reject told of each row left out). 0, or -1 with e. */
int crm_erp_import_file(struct crm_erp *x, struct crm_import *im, const char *path,
			int (*reject)(void *arg, const char *file, long line, const char *why,
				      const char *raw, size_t rawlen),
			void *arg, struct crm_err *e);

#endif
