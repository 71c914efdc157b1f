/*
 * fuzz-mime.c - mail: an mbox split into messages, each message parsed
 * (headers, encoded words, multipart bodies, charsets, attachments).
 */
#include "../../lib/mime.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *msg;
	struct crm_err e = { 0 };
	size_t off = 0, len;

	if (crm_is_mbox(text, size)) {
		while (crm_mbox_next(text, size, &off, &msg, &len) > 0) {
			struct crm_mail m = { 0 };

			if (crm_mail_parse(msg, len, &m, &e) == 0)
				crm_mail_free(&m);
		}
	} else {
		struct crm_mail m = { 0 };

		(void)crm_is_mail(text, size);
		if (crm_mail_parse(text, size, &m, &e) == 0)
			crm_mail_free(&m);
	}
	return 0;
}
