/*
 * mime.h - an email message (RFC 5322, MIME) to what a CRM keeps of it.
 *
 * Headers are unfolded and RFC 2047 encoded words decoded; the body is the
 * first text/plain part (else text/html with the tags taken out), decoded
 * from base64 or quoted-printable and converted from its charset to UTF-8
 * with iconv; other parts are listed as attachments (name, type, size),
 * not kept. Broken messages are read as far as they make sense: a missing
 * closing boundary ends at the end, bad base64 characters are skipped,
 * bytes invalid in their charset become U+FFFD.
 */
#ifndef CRM_MIME_H
#define CRM_MIME_H

#include <stddef.h>

#include "util.h"

struct crm_attachment {
	char *name, *type;
	size_t size;
};

struct crm_mail {
	char *message_id;	/* without <> */
	char *thread;		/* first of References, else In-Reply-To, else the id */
	char *subject;
	char *from, *from_name;	/* address lower case, display name */
	char **to;		/* To and Cc addresses, lower case */
	size_t nto;
	char date[21];		/* YYYY-MM-DDTHH:MM:SSZ, "" when missing or bad */
	char *text;		/* UTF-8 */
	struct crm_attachment *att;
	size_t natt;
};

/* Parse one message; -1 (CRM_EDATA) when it is not an email message. */
int crm_mail_parse(const char *data, size_t n, struct crm_mail *m, struct crm_err *e);
void crm_mail_free(struct crm_mail *m);

/*
 * The next message of an mbox from *off: its start and length, with the
 * "From " separator line left out (">From " lines are left as they are).
 * 0 at the end.
 */
int crm_mbox_next(const char *data, size_t n, size_t *off, const char **msg, size_t *len);

/* Does data look like an mbox ("From " first line) rather than one message? */
int crm_is_mbox(const char *data, size_t n);
/* Does data look like mail: an mbox, or a head of RFC 5322 header lines
 * with From: or Received:? */
int crm_is_mail(const char *data, size_t n);

#endif
