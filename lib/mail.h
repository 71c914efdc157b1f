/*
 * mail.h - email as interactions: messages to import records, and new
 * messages from an IMAP mailbox.
 *
 * A message becomes an interaction of kind email, keyed by its Message-ID
 * (source "mail"), so importing it again, from a file or from IMAP,
 * changes nothing. It is outbound when its sender is one of ours (a user's
 * address, or an address or domain given as "self"), else inbound; it is
 * attached to the contact with the other side's address. A message from
 * or to nobody we know is skipped, unless leads are to be created: then a
 * contact (lifecycle stage "lead") is added first.
 */
#ifndef CRM_MAIL_H
#define CRM_MAIL_H


#include "mime.h"
#include "util.h"

struct crm_store;

struct crm_mail_opts {
	const char *const *self;	/* addresses and @domains that are ours */
	size_t nself;
	int create_leads;
	size_t max_body;		/* bytes of body kept; 0: 64 KiB */
};

/*
 * Append the NDJSON records for message m to out (a contact first when a
 * lead is created, then the interaction). Returns 1 when records were
 * added, 0 when the message was skipped (*why says why), -1 on error.
 */
int crm_mail_records(struct crm_store *db, const struct crm_mail *m, const struct crm_mail_opts *o,
		     struct crm_buf *out, const char **why, struct crm_err *e);

/*
 * The records of every message in a file (one message, or an mbox), for
 * crm_import_stream(). skip(arg, index, reason) is told of each message
 * skipped or unreadable (index from 1). Returns the number of messages.
 */
long crm_mail_file_records(struct crm_store *db, const char *data, size_t n,
			   const struct crm_mail_opts *o, struct crm_buf *out,
			   void (*skip)(void *arg, long index, const char *reason),
			   void *arg, struct crm_err *e);

/* IMAP. */
struct crm_imap_opts {
	const char *url;	/* imap[s]://user@host[:port]/MAILBOX */
	const char *password;	/* or NULL */
	const char *bearer;	/* OAuth2 token, or NULL */
	long timeout;		/* seconds; 0: 60 */
	int insecure;		/* do not verify the server's certificate */
};

/* Where a mailbox was read up to: the UIDVALIDITY and the last UID seen. */
struct crm_imap_state {
	unsigned long long uidvalidity, uid;
};

/*
 * Call fn for every message with a UID above st->uid (all of them when the
 * mailbox's UIDVALIDITY changed), in UID order; st is advanced after each
 * message fn accepted (returned 0). fn returning -1 stops (its e).
 * Returns the number of messages, or -1 (CRM_EUNAVAILABLE when the server
 * cannot be reached or refuses the login).
 */
long crm_imap_fetch(const struct crm_imap_opts *o, struct crm_imap_state *st,
		    int (*fn)(void *arg, unsigned long long uid, const char *msg, size_t n,
			      struct crm_err *e),
		    void *arg, struct crm_err *e);

/* The state of url kept in the meta table (zeros when none). */
int crm_imap_state_load(struct crm_store *db, const char *url, struct crm_imap_state *st, struct crm_err *e);
int crm_imap_state_save(struct crm_store *db, const char *url, const struct crm_imap_state *st, struct crm_err *e);

/* Is the file at path mail (by its name, .eml or .mbox, or a look at its
 * first bytes)? "-" is not. */
int crm_mail_sniff(const char *path);

struct crm_import;

/* A file of mail imported through im: each message as records
 * (crm_mail_file_records, skip told of each left out). 0, or -1 with e. */
int crm_mail_import_file(struct crm_store *db, struct crm_import *im, const char *path,
			 const struct crm_mail_opts *o,
			 void (*skip)(void *arg, long index, const char *reason), void *arg,
			 struct crm_err *e);

/* New mail in the IMAP mailbox of io since the last run, imported through
 * im; the place (*st) saved once it is. The number of messages, or -1
 * with e. */
long crm_mail_import_imap(struct crm_store *db, struct crm_import *im, const struct crm_imap_opts *io,
			  const struct crm_mail_opts *o,
			  void (*skip)(void *arg, long index, const char *reason), void *arg,
			  struct crm_imap_state *st, struct crm_err *e);

#endif
