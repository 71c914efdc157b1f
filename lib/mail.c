/*
 * mail.c - messages to import records; IMAP through libcurl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "crypt.h"
#include "http.h"
#include "id.h"
#include "import.h"
#include "mail.h"
#include "normalize.h"
#include "store/store.h"

/* Is addr ours: a --self address or domain, or a user's address? -1 on error. */
static int ours(struct crm_store *db, const char *addr, const struct crm_mail_opts *o, struct crm_err *e)
{
	const char *at = strchr(addr, '@');
	char one[2];

	for (size_t i = 0; i < o->nself; i++) {
		const char *s = o->self[i];
		if (!strcasecmp(s, addr) || (s[0] == '@' && at && !strcasecmp(s, at)) ||
		    (!strchr(s, '@') && at && !strcasecmp(s, at + 1)))
			return 1;
	}
	return crm_store_text1(db, "SELECT 1 FROM users WHERE lower(email) = ?1", addr, one, sizeof one, e);
}

static int known_contact(struct crm_store *db, const char *addr, struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(db);
	char one[2], bi[CRM_BIDX_MAX];

	if (!cc)
		return crm_store_text1(db, "SELECT 1 FROM contacts WHERE email = ?1", addr, one, sizeof one, e);
	/* sealed: found by its blind index */
	if (crm_crypt_bidx_ident(cc, "email", addr, bi) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return crm_store_text1(db, "SELECT 1 FROM contacts WHERE email_bi = ?1", bi, one, sizeof one, e);
}

static int append_json(struct crm_buf *out, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int rc;

	json_decref(j);
	if (!s)
		return -1;
	rc = crm_buf_adds(out, s) < 0 || crm_buf_addc(out, '\n') < 0 ? -1 : 0;
	free(s);
	return rc;
}

/* "Jane Q. Doe" to first and last name. */
static void split_name(const char *full, char *first, size_t fn, char *last, size_t ln)
{
	const char *sp = full ? strrchr(full, ' ') : NULL;

	first[0] = last[0] = 0;
	if (!full)
		return;
	if (sp) {
		snprintf(first, fn, "%.*s", (int)(sp - full), full);
		snprintf(last, ln, "%s", sp + 1);
	} else {
		snprintf(first, fn, "%s", full);
	}
}

/* The first header of m that is not well-formed UTF-8 (a Message-ID with
 * a byte 0xFF, say), or NULL. */
static const char *bad_header(const struct crm_mail *m)
{
	static const char *const names[] = { "Message-ID", "References", "Subject", "From", "From" };
	const char *v[] = { m->message_id, m->thread, m->subject, m->from, m->from_name };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] && !crm_utf8_valid(v[i], strlen(v[i]), NULL))
			return names[i];
	for (size_t i = 0; i < m->nto; i++)
		if (!crm_utf8_valid(m->to[i], strlen(m->to[i]), NULL))
			return "To";
	for (size_t i = 0; i < m->natt; i++)
		if ((m->att[i].name && !crm_utf8_valid(m->att[i].name, strlen(m->att[i].name), NULL)) ||
		    (m->att[i].type && !crm_utf8_valid(m->att[i].type, strlen(m->att[i].type), NULL)))
			return "Content-Disposition";
	if (m->text && !crm_utf8_valid(m->text, strlen(m->text), NULL))
		return "body";
	return NULL;
}

int crm_mail_records(struct crm_store *db, const struct crm_mail *m, const struct crm_mail_opts *o,
		     struct crm_buf *out, const char **why, struct crm_err *e)
{
	static _Thread_local char bad[96];
	const char *hdr;
	const char *other = NULL, *direction;
	int lead = 0;
	size_t max = o->max_body ? o->max_body : 64 * 1024;
	char key[40];

	*why = NULL;
	if ((hdr = bad_header(m))) {
		snprintf(bad, sizeof(bad), "the %s is not valid UTF-8", hdr);
		*why = bad;
		return 0;
	}
	if (!m->from) {
		*why = "no sender address";
		return 0;
	}
	if (!m->date[0]) {
		*why = "no valid Date header";
		return 0;
	}
	int found = ours(db, m->from, o, e);
	if (found < 0)
		return -1;
	if (found) {
		direction = "outbound";
		for (size_t i = 0; i < m->nto && !other; i++) {
			int us = ours(db, m->to[i], o, e), k = 0;
			if (us < 0 || (!us && (k = known_contact(db, m->to[i], e)) < 0))
				return -1;
			if (k)
				other = m->to[i];
		}
		for (size_t i = 0; i < m->nto && !other && o->create_leads; i++) {
			int us = ours(db, m->to[i], o, e);
			if (us < 0)
				return -1;
			if (!us)
				other = m->to[i], lead = 1;
		}
	} else {
		direction = "inbound";
		if ((found = known_contact(db, m->from, e)) < 0)
			return -1;
		if (found)
			other = m->from;
		else if (o->create_leads)
			other = m->from, lead = 1;
	}
	if (!other) {
		*why = !strcmp(direction, "inbound") ? "sender is not a contact"
			: "no recipient is a contact";
		return 0;
	}
	if (lead) {
		char first[128], last[128];
		split_name(!strcmp(direction, "inbound") ? m->from_name : NULL, first, sizeof first,
			   last, sizeof last);
		json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "type", "contact", "source", "mail",
				      "email", other, "lifecycle_stage", "lead");
		if (!c)
			goto oom;
		if (first[0])
			json_object_set_new(c, "first_name", json_string(first));
		if (last[0])
			json_object_set_new(c, "last_name", json_string(last));
		if (append_json(out, c) < 0)
			goto oom;
	}
	/* Without a Message-ID, the key is a hash of sender, date and subject. */
	if (!m->message_id) {
		struct crm_hash h;
		crm_hash_init(&h);
		crm_hash_add(&h, m->from, strlen(m->from));
		crm_hash_add(&h, m->date, strlen(m->date));
		if (m->subject)
			crm_hash_add(&h, m->subject, strlen(m->subject));
		crm_hash_hex(&h, key);
	}
	json_t *att = json_array(), *to = json_array();
	for (size_t i = 0; i < m->natt; i++)
		json_array_append_new(att, json_pack("{s:s,s:s,s:I}", "name", m->att[i].name,
						     "type", m->att[i].type, "size", (json_int_t)m->att[i].size));
	for (size_t i = 0; i < m->nto; i++)
		json_array_append_new(to, json_string(m->to[i]));
	size_t blen = m->text ? strlen(m->text) : 0;
	if (blen > max) {	/* cut at a character boundary */
		blen = max;
		while (blen && ((unsigned char)m->text[blen] & 0xC0) == 0x80)
			blen--;
	}
	json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s%,s:s?,s:s,s:o,s:o}",
			      "type", "interaction", "source", "mail",
			      "external_id", m->message_id ? m->message_id : key,
			      "kind", "email", "occurred_at", m->date, "direction", direction,
			      "contact", other, "body", m->text ? m->text : "", blen,
			      "subject", m->subject, "from", m->from, "to", to, "attachments", att);
	if (!r)
		goto oom;
	if (m->thread)
		json_object_set_new(r, "thread", json_string(m->thread));
	if (append_json(out, r) < 0)
		goto oom;
	return 1;
oom:
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
}

long crm_mail_file_records(struct crm_store *db, const char *data, size_t n,
			   const struct crm_mail_opts *o, struct crm_buf *out,
			   void (*skip)(void *arg, long index, const char *reason),
			   void *arg, struct crm_err *e)
{
	size_t off = 0, len;
	const char *msg;
	long count = 0;

	if (!crm_is_mbox(data, n)) {
		msg = data;
		len = n;
		off = n;
		goto one;
	}
	while (crm_mbox_next(data, n, &off, &msg, &len)) {
	one:
		count++;
		struct crm_mail m = {0};
		struct crm_err pe = {0};
		const char *why;
		if (crm_mail_parse(msg, len, &m, &pe) < 0) {
			if (pe.code != CRM_EDATA)
				return crm_err_set(e, pe.code, "%s", pe.msg);
			skip(arg, count, pe.msg);
			continue;
		}
		int r = crm_mail_records(db, &m, o, out, &why, e);
		crm_mail_free(&m);
		if (r < 0)
			return -1;
		if (r == 0)
			skip(arg, count, why);
		if (off >= n)
			break;
	}
	return count;
}

/* IMAP. */

struct conn {
	const struct crm_imap_opts *o;
	char base[2048];	/* imap[s]://user@host[:port]/ */
	char mailbox[512];	/* URL-encoded, as given */
};

static CURL *handle(const struct conn *c, const char *url, const char *req, struct crm_buf *b)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (req)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req);
	if (c->o->password)
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->o->password);
	if (c->o->bearer) {
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->o->bearer);
		curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, crm_http_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->o->timeout > 0 ? c->o->timeout : 60L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (c->o->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return h;
}

static int run(const struct conn *c, const char *url, const char *req, struct crm_buf *b,
	       struct crm_err *e)
{
	CURL *h = handle(c, url, req, b);
	CURLcode cc;

	if (!h)
		return crm_err_set(e, CRM_ESOFTWARE, "curl did not initialise");
	crm_buf_reset(b);
	cc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return crm_err_set(e, cc == CURLE_LOGIN_DENIED || cc == CURLE_COULDNT_CONNECT ||
				       cc == CURLE_REMOTE_ACCESS_DENIED ||
				       cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_RESOLVE_HOST ||
				       cc == CURLE_PEER_FAILED_VERIFICATION
					       ? CRM_EUNAVAILABLE : CRM_EDATA,
				   "%s: %s", c->base, curl_easy_strerror(cc));
	if (crm_buf_add(b, "", 0) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	return 0;
}

static int cmpu64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

long crm_imap_fetch(const struct crm_imap_opts *o, struct crm_imap_state *st,
		    int (*fn)(void *arg, unsigned long long uid, const char *msg, size_t n,
			      struct crm_err *e),
		    void *arg, struct crm_err *e)
{
	struct conn c = {o, "", ""};
	struct crm_buf b = {0};
	char url[4096], req[600];
	const char *scheme_end = strstr(o->url, "://"), *slash;
	unsigned long long validity = 0, *uids = NULL;
	size_t nuid = 0, alloc = 0;
	long count = 0;

	if (!scheme_end || (strncmp(o->url, "imap://", 7) && strncmp(o->url, "imaps://", 8)))
		return crm_err_set(e, CRM_EUSAGE, "%s: want imap://user@host/MAILBOX or imaps://...", o->url);
	slash = strchr(scheme_end + 3, '/');
	snprintf(c.base, sizeof c.base, "%.*s/", slash ? (int)(slash - o->url) : (int)strlen(o->url), o->url);
	snprintf(c.mailbox, sizeof c.mailbox, "%s", slash && slash[1] ? slash + 1 : "INBOX");
	for (size_t k = strlen(c.mailbox); k && c.mailbox[k - 1] == '/'; k--)
		c.mailbox[k - 1] = 0;
	/* EXAMINE: read-only, gives UIDVALIDITY. */
	{
		char *dec = curl_unescape(c.mailbox, 0);
		snprintf(req, sizeof req, "EXAMINE \"%s\"", dec ? dec : c.mailbox);
		curl_free(dec);
	}
	if (run(&c, c.base, req, &b, e) < 0)
		goto fail;
	const char *v = strstr(b.data, "[UIDVALIDITY ");
	if (!v)
		v = strstr(b.data, "[uidvalidity ");
	if (!v) {
		crm_err_set(e, CRM_EUNAVAILABLE, "%s%s: no UIDVALIDITY from the server", c.base, c.mailbox);
		goto fail;
	}
	validity = strtoull(v + 13, NULL, 10);
	if (validity != st->uidvalidity) {
		st->uidvalidity = validity;
		st->uid = 0;	/* the UIDs mean something else now: start over */
	}
	snprintf(url, sizeof url, "%s%s", c.base, c.mailbox);
	snprintf(req, sizeof req, "UID SEARCH UID %llu:*", st->uid + 1);
	if (run(&c, url, req, &b, e) < 0)
		goto fail;
	for (const char *p = strstr(b.data, "* SEARCH"); p && *p && *p != '\r' && *p != '\n'; ) {
		char *end;
		p += strspn(p, "* SEARCHsearch ");
		unsigned long long u = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
		/* "n:*" returns the last message even when it is below n. */
		if (u <= st->uid)
			continue;
		if (nuid == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			unsigned long long *nu = realloc(uids, alloc * sizeof *nu);
			if (!nu) {
				crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				goto fail;
			}
			uids = nu;
		}
		uids[nuid++] = u;
	}
	if (nuid)
		qsort(uids, nuid, sizeof *uids, cmpu64);
	for (size_t i = 0; i < nuid; i++) {
		snprintf(url, sizeof url, "%s%s/;UID=%llu", c.base, c.mailbox, uids[i]);
		if (run(&c, url, NULL, &b, e) < 0)
			goto fail;
		if (fn(arg, uids[i], b.data, b.len, e) < 0)
			goto fail;
		st->uid = uids[i];
		count++;
	}
	free(uids);
	crm_buf_release(&b);
	return count;
fail:
	free(uids);
	crm_buf_release(&b);
	return -1;
}

static void state_key(const char *url, char *key, size_t n)
{
	snprintf(key, n, "imap:%s", url);
}

int crm_imap_state_load(struct crm_store *db, const char *url, struct crm_imap_state *st, struct crm_err *e)
{
	char key[4200], v[256];
	json_t *o;
	int r;

	st->uidvalidity = st->uid = 0;
	state_key(url, key, sizeof key);
	if ((r = crm_store_text1(db, "SELECT value FROM meta WHERE key = ?1", key, v, sizeof v, e)) <= 0)
		return r;
	if (!(o = json_loads(v, 0, NULL)))
		return crm_err_set(e, CRM_EDATA, "meta %s: not JSON", key);
	st->uidvalidity = (unsigned long long)json_integer_value(json_object_get(o, "uidvalidity"));
	st->uid = (unsigned long long)json_integer_value(json_object_get(o, "uid"));
	json_decref(o);
	return 0;
}

int crm_imap_state_save(struct crm_store *db, const char *url, const struct crm_imap_state *st, struct crm_err *e)
{
	char key[4200], v[128];

	state_key(url, key, sizeof key);
	snprintf(v, sizeof v, "{\"uidvalidity\":%llu,\"uid\":%llu}", st->uidvalidity, st->uid);
	return crm_store_set_meta(db, key, v, e);
}

int crm_mail_sniff(const char *path)
{
	size_t n = strlen(path);
	char buf[8192];
	FILE *fp;

	if ((n > 4 && !strcasecmp(path + n - 4, ".eml")) || (n > 5 && !strcasecmp(path + n - 5, ".mbox")))
		return 1;
	if (!strcmp(path, "-") || !(fp = fopen(path, "rb")))
		return 0;
	n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	return crm_is_mail(buf, n);
}

int crm_mail_import_file(struct crm_store *db, struct crm_import *im, const char *path,
			 const struct crm_mail_opts *o,
			 void (*skip)(void *arg, long index, const char *reason), void *arg,
			 struct crm_err *e)
{
	struct crm_buf b = { 0 };
	struct crm_map m;
	int rc;

	if (crm_map_file(path, 16ULL << 30, "a mailbox", &m, e) < 0)
		return -1;
	rc = crm_mail_file_records(db, m.data, m.len, o, &b, skip, arg, e) < 0 ? -1 : 0;
	crm_unmap(&m);
	if (rc == 0)
		rc = crm_import_buffer(im, path, b.data, b.len, e);
	crm_buf_release(&b);
	return rc;
}

struct imap_each {
	struct crm_store *db;
	const struct crm_mail_opts *o;
	struct crm_buf *b;
	void (*skip)(void *arg, long index, const char *reason);
	void *arg;
};

static int imap_each(void *p, unsigned long long uid, const char *msg, size_t n, struct crm_err *e)
{
	struct imap_each *x = p;

	(void)uid;
	return crm_mail_file_records(x->db, msg, n, x->o, x->b, x->skip, x->arg, e) < 0 ? -1 : 0;
}

long crm_mail_import_imap(struct crm_store *db, struct crm_import *im, const struct crm_imap_opts *io,
			  const struct crm_mail_opts *o,
			  void (*skip)(void *arg, long index, const char *reason), void *arg,
			  struct crm_imap_state *st, struct crm_err *e)
{
	struct crm_buf b = { 0 };
	struct imap_each x = { db, o, &b, skip, arg };
	long n;

	if (crm_imap_state_load(db, io->url, st, e) < 0)
		return -1;
	if ((n = crm_imap_fetch(io, st, imap_each, &x, e)) >= 0 &&
	    (crm_import_buffer(im, io->url, b.data, b.len, e) < 0 ||
	     crm_imap_state_save(db, io->url, st, e) < 0))
		n = -1;
	crm_buf_release(&b);
	return n;
}
