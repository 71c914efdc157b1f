/*
 * calls.c - store a call, its transcript (zstd) and its tasks, once; and
 * what a call's file says of it (its name, its sidecar).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "calls.h"
#include "crypt.h"
#include "pack.h"
#include "row.h"
#include "seal.h"
#include "store/store.h"
#include "when.h"

static void bind_text(struct crm_stmt *st, int i, const char *s)
{
	crm_stmt_bind_text(st, i, s && *s ? s : NULL, (size_t)-1);
}

/*
 * With a master key, what a call says about a person is sealed under the
 * person's data key, like their other fields: the transcript, the
 * analysis, the summary, the task titles, the file name.
 */
struct seal {
	struct crm_crypt *cc;	/* NULL: stored in clear */
	uint64_t dk;
};

/* Bind v[0..n) to parameter i as table.column of row id stores it. */
static int bind_cell(const struct seal *sl, struct crm_stmt *st, int i, const char *table,
		     const char *column, const char *id, const char *v, struct crm_err *e)
{
	struct crm_buf b = {0};

	if (!sl->cc || !v || !*v) {
		bind_text(st, i, v);
		return 0;
	}
	if (crm_crypt_seal(sl->cc, sl->dk, table, column, id, v, strlen(v), &b, e) < 0)
		return -1;
	crm_stmt_bind_text(st, i, b.data, b.len);
	crm_buf_release(&b);
	return 0;
}

/* The data key of the call's contact (given one if it has none), or a
 * fresh one for a call with no contact. */
static int call_key(struct crm_store *db, const struct crm_call_out *out, struct seal *sl,
		    struct crm_err *e)
{
	int given;

	sl->dk = 0;
	if (!(sl->cc = crm_store_crypt(db)))
		return 0;
	if (crm_seal_person_key(db, sl->cc, out->contact[0] ? out->contact : NULL, &sl->dk, &given, e) < 0)
		return -1;
	crm_crypt_mark(db);
	return 0;
}

/* Follow merged_into to the surviving record. */
static int survivor(struct crm_store *db, const char *table, char id[CRM_ID_MAX], struct crm_err *e)
{
	char sql[128], next[CRM_ID_MAX];

	snprintf(sql, sizeof sql, "SELECT merged_into FROM %s WHERE id = ?1 AND merged_into IS NOT NULL", table);
	for (int hops = 0; hops < 64; hops++) {
		int r = crm_store_text1(db, sql, id, next, sizeof next, e);
		if (r <= 0)
			return r;
		memcpy(id, next, CRM_ID_MAX);
	}
	return 0;
}

static int resolve(struct crm_store *db, const struct crm_call_in *in, struct crm_call_out *out,
		   char account[CRM_ID_MAX], struct crm_err *e)
{
	int r;

	account[0] = 0;
	if (in->deal) {
		r = crm_store_text1(db, "SELECT id FROM deals WHERE id = ?1", in->deal, out->deal,
			    sizeof out->deal, e);
		if (r < 0)
			return -1;
		if (!r)
			return crm_err_set(e, CRM_EDATA, "no deal '%s'", in->deal);
		if (survivor(db, "deals", out->deal, e) < 0 ||
		    crm_store_text1(db, "SELECT coalesce(account_id, '') FROM deals WHERE id = ?1", out->deal,
			    account, CRM_ID_MAX, e) < 0)
			return -1;
		if (!in->contact && crm_store_text1(db, "SELECT coalesce(contact_id, '') FROM deals WHERE id = ?1",
					    out->deal, out->contact, sizeof out->contact, e) < 0)
			return -1;
	}
	if (in->contact) {
		char bi[CRM_BIDX_MAX];
		struct crm_crypt *cc = crm_store_crypt(db);

		if (cc && strchr(in->contact, '@') && crm_crypt_bidx_ident(cc, "email", in->contact, bi) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		r = strchr(in->contact, '@')
			    ? crm_store_text1(db, cc ?
					  "SELECT id FROM contacts WHERE email_bi = ?1 "
					  "ORDER BY merged_into IS NOT NULL, created_at LIMIT 1" :
					  "SELECT id FROM contacts WHERE email = lower(?1) "
					  "ORDER BY merged_into IS NOT NULL, created_at LIMIT 1",
				      cc ? bi : in->contact, out->contact, sizeof out->contact, e)
			    : crm_store_text1(db, "SELECT id FROM contacts WHERE id = ?1", in->contact,
				      out->contact, sizeof out->contact, e);
		if (r < 0)
			return -1;
		if (!r)
			return crm_err_set(e, CRM_EDATA, "no contact '%s'", in->contact);
	}
	if (out->contact[0]) {
		if (survivor(db, "contacts", out->contact, e) < 0)
			return -1;
		if (!account[0] &&
		    crm_store_text1(db, "SELECT coalesce(account_id, '') FROM contacts WHERE id = ?1",
			    out->contact, account, CRM_ID_MAX, e) < 0)
			return -1;
	}
	/* The tasks go to the deal's owner, else the contact's, else the account's. */
	out->owner[0] = 0;
	if (out->deal[0] && crm_store_text1(db, "SELECT coalesce(owner, '') FROM deals WHERE id = ?1",
				    out->deal, out->owner, sizeof out->owner, e) < 0)
		return -1;
	if (!out->owner[0] && out->contact[0] &&
	    crm_store_text1(db, "SELECT coalesce(owner, '') FROM contacts WHERE id = ?1", out->contact,
		    out->owner, sizeof out->owner, e) < 0)
		return -1;
	if (!out->owner[0] && account[0] &&
	    crm_store_text1(db, "SELECT coalesce(owner, '') FROM accounts WHERE id = ?1", account,
		    out->owner, sizeof out->owner, e) < 0)
		return -1;
	return 0;
}

int crm_call_people(struct crm_store *db, const struct crm_call_in *in, char *rep, size_t nrep,
		    char *customer, size_t ncustomer, struct crm_err *e)
{
	struct crm_call_out out;
	struct crm_stmt *st;
	struct crm_buf first = { 0 };
	char account[CRM_ID_MAX];
	int rc;

	rep[0] = customer[0] = '\0';
	memset(&out, 0, sizeof out);
	if (resolve(db, in, &out, account, e) < 0) {
		if (e->code != CRM_EDATA)
			return -1;
		crm_err_clear(e);
		return 0;
	}
	snprintf(rep, nrep, "%.*s", (int)strcspn(out.owner, " "), out.owner);
	if (!out.contact[0])
		return 0;
	if (crm_store_prepare(db, "SELECT first_name FROM contacts WHERE id = ?1", 0, &st, e) < 0)
		return -1;
	crm_stmt_bind_text(st, 1, out.contact, (size_t)-1);
	rc = crm_stmt_step(st, e);
	if (rc > 0 && (rc = crm_row_cell(st, 0, "contacts", "first_name", out.contact, &first, e)) > 0)
		snprintf(customer, ncustomer, "%s", first.data);
	crm_buf_release(&first);
	crm_stmt_free(st);
	return rc < 0 ? -1 : 0;
}

static int add_task(struct crm_store *db, const struct crm_call_in *in, struct crm_call_out *out,
		    const struct seal *sl, const char *key, const char *title, const char *due,
		    json_t *attrs, const char *now, struct crm_err *e)
{
	struct crm_stmt *st;
	char id[CRM_ID_MAX], skey[256];
	char *a;
	int rc;

	if (sl->cc)	/* the speaker's name is in the sealed transcript */
		json_object_del(attrs, "speaker");
	if (!(a = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS)))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	snprintf(skey, sizeof skey, "%s:%s", in->sha, key);
	crm_id_new("t_", id);
	if (crm_store_prepare(db,
		 "INSERT INTO tasks (id, source, src_key, title, owner, contact_id, deal_id, due_at,"
		 " status, origin, attrs, created_at, updated_at)"
		 " VALUES (?1, 'transcribe', ?2, ?3, ?4, ?5, ?6, ?7, 'open', 'call', ?8, ?9, ?9)"
		 " ON CONFLICT (src_key, source) DO NOTHING", 0, &st, e) < 0) {
		free(a);
		return -1;
	}
	bind_text(st, 1, id);
	bind_text(st, 2, skey);
	if (bind_cell(sl, st, 3, "tasks", "title", id, title, e) < 0) {
		crm_stmt_free(st);
		free(a);
		return -1;
	}
	bind_text(st, 4, out->owner);
	bind_text(st, 5, out->contact);
	bind_text(st, 6, out->deal);
	bind_text(st, 7, due);
	bind_text(st, 8, a);
	bind_text(st, 9, now);
	rc = crm_stmt_step(st, e) < 0 ? -1 : crm_stmt_changes(st) > 0;
	out->tasks_new += rc > 0;
	crm_stmt_free(st);
	free(a);
	return rc;
}

static int store_tasks(struct crm_store *db, const struct crm_call_in *in, struct crm_call_out *out,
		       const struct seal *sl, const char *now, struct crm_err *e)
{
	const struct crm_analysis *a = in->a;

	for (size_t i = 0; i < a->nitems; i++) {
		const struct crm_action *it = &a->items[i];
		int waiting = it->owner == CRM_OWNER_CUSTOMER;
		struct crm_hash h;
		char key[40], title[512];
		json_t *attrs;
		int rc;

		/* The key is the item's text: the same item said twice is one task. */
		crm_hash_init(&h);
		for (const char *p = it->text; *p; p++) {
			char c = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
				crm_hash_add(&h, &c, 1);
		}
		crm_hash_hex(&h, key);
		key[16] = 0;
		snprintf(title, sizeof title, "%s%s", waiting ? "Waiting on customer: " : "", it->text);
		attrs = json_pack("{s:s,s:s,s:s?,s:s?,s:s?}", "interaction", out->interaction,
				  "side", crm_owner_name(it->owner), "due_phrase", it->due_phrase,
				  "speaker", it->speaker, "waiting_on", waiting ? "customer" : NULL);
		if (!attrs)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		rc = add_task(db, in, out, sl, key, title, it->due[0] ? it->due : NULL, attrs, now, e);
		json_decref(attrs);
		if (rc < 0)
			return -1;
		if (waiting && rc > 0)
			out->tasks_waiting++;
	}
	if (a->hesitant) {
		char title[512], due[11];
		struct crm_buf kinds = {0};
		json_t *attrs;
		int rc;
		for (size_t i = 0; i < a->ncues; i++) {
			int seen = 0;
			for (size_t j = 0; j < i; j++)
				seen |= !strcmp(a->cues[j].kind, a->cues[i].kind);
			if (!seen && (crm_buf_adds(&kinds, kinds.len ? ", " : "") < 0 ||
				      crm_buf_adds(&kinds, a->cues[i].kind) < 0)) {
				crm_buf_release(&kinds);
				return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			}
		}
		snprintf(title, sizeof title, "Follow up: the customer sounded hesitant (%s)",
			 kinds.len ? kinds.data : "cues");
		crm_buf_release(&kinds);
		crm_workdays_after(in->call_time, 2, due);
		attrs = json_pack("{s:s,s:s,s:f}", "interaction", out->interaction, "side", "rep",
				  "hesitation", a->hesitation);
		if (!attrs)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		rc = add_task(db, in, out, sl, "hesitation", title, due, attrs, now, e);
		json_decref(attrs);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int insert_call(struct crm_store *db, const struct crm_call_in *in, struct crm_call_out *out,
		       const struct seal *sl, const char *account, const char *now, struct crm_err *e)
{
	const struct crm_analysis *a = in->a;
	struct crm_stmt *st = NULL;
	char when[32], subject[160];
	char *tjson = crm_transcript_json(in->t), *ajson = NULL, *attrs = NULL;
	json_t *aj = crm_analysis_json(a, in->t), *at = NULL;
	struct crm_buf z = {0};
	struct tm tm;
	int rc = -1;

	if (!tjson || !aj)
		goto oom;
	gmtime_r(&in->call_time, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The file's name can name the person: not in clear beside a key. */
	at = json_pack("{s:s?,s:f,s:b,s:f,s:s,s:O}", "file", sl->cc ? NULL : in->file,
		       "duration", in->t->duration, "hesitant", a->hesitant, "hesitation", a->hesitation,
		       "sentiment", a->sentiment_label, "trackers", json_object_get(aj, "trackers"));
	if (!at || !(attrs = json_dumps(at, JSON_COMPACT)) ||
	    !(ajson = json_dumps(aj, JSON_COMPACT)))
		goto oom;
	if (crm_zstd_pack(tjson, strlen(tjson), &z, e) < 0)
		goto done;
	snprintf(subject, sizeof subject, "Call, %.0f min%s", in->t->duration / 60 + 0.5,
		 a->hesitant ? ", hesitant" : "");
	crm_id_new("i_", out->interaction);
	if (crm_store_prepare(db,
		 "INSERT INTO interactions (id, source, src_key, kind, occurred_at, contact_id,"
		 " account_id, deal_id, subject, body, attrs, created_at, updated_at)"
		 " VALUES (?1, 'transcribe', ?2, 'call', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)", 0, &st, e) < 0)
		goto done;
	bind_text(st, 1, out->interaction);
	bind_text(st, 2, in->sha);
	bind_text(st, 3, when);
	bind_text(st, 4, out->contact);
	bind_text(st, 5, account);
	bind_text(st, 6, out->deal);
	if (bind_cell(sl, st, 7, "interactions", "subject", out->interaction, subject, e) < 0 ||
	    bind_cell(sl, st, 8, "interactions", "body", out->interaction, a->summary, e) < 0)
		goto done;
	bind_text(st, 9, attrs);
	bind_text(st, 10, now);
	if (crm_stmt_step(st, e) < 0)
		goto done;
	crm_stmt_free(st);
	st = NULL;
	if (crm_store_prepare(db,
		 "INSERT INTO transcripts (interaction_id, source_sha, file, format, engine, duration,"
		 " utterances, body, body_size, analysis, sentiment, hesitation, hesitant, created_at)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", 0, &st, e) < 0)
		goto done;
	bind_text(st, 1, out->interaction);
	bind_text(st, 2, in->sha);
	if (bind_cell(sl, st, 3, "transcripts", "file", out->interaction, in->file, e) < 0)
		goto done;
	bind_text(st, 4, in->format);
	bind_text(st, 5, in->engine);
	crm_stmt_bind_double(st, 6, in->t->duration);
	crm_stmt_bind_int64(st, 7, (long long)in->t->n);
	crm_stmt_bind_int64(st, 9, (long long)strlen(tjson));
	if (sl->cc) {
		/* The compressed utterances sealed; the analysis sealed and
		 * kept as a JSON string, so the column stays JSON. */
		struct crm_buf c = {0};

		if (crm_crypt_seal(sl->cc, sl->dk, "transcripts", "body", out->interaction, z.data, z.len,
				   &c, e) < 0)
			goto done;
		crm_stmt_bind_blob(st, 8, c.data, c.len);	/* a BLOB column */
		crm_buf_reset(&c);
		if (crm_buf_addc(&c, '"') < 0 ||
		    crm_crypt_seal(sl->cc, sl->dk, "transcripts", "analysis", out->interaction, ajson,
				   strlen(ajson), &c, e) < 0 || crm_buf_addc(&c, '"') < 0) {
			crm_buf_release(&c);
			goto done;
		}
		crm_stmt_bind_text(st, 10, c.data, c.len);
		crm_buf_release(&c);
	} else {
		crm_stmt_bind_blob(st, 8, z.data, z.len);
		bind_text(st, 10, ajson);
	}
	crm_stmt_bind_double(st, 11, a->sentiment);
	crm_stmt_bind_double(st, 12, a->hesitation);
	crm_stmt_bind_int64(st, 13, a->hesitant);
	bind_text(st, 14, now);
	if (crm_stmt_step(st, e) < 0)
		goto done;
	rc = 0;
	goto done;
oom:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
done:
	crm_stmt_free(st);
	free(tjson);
	free(ajson);
	free(attrs);
	json_decref(aj);
	json_decref(at);
	crm_buf_release(&z);
	return rc;
}

int crm_call_store(struct crm_store *db, const struct crm_call_in *in, struct crm_call_out *out,
		   struct crm_err *e)
{
	char account[CRM_ID_MAX], now[40];
	struct seal sl;
	int r;

	memset(out, 0, sizeof *out);
	crm_timestamp(now, sizeof now);
	if (crm_store_begin(db, e) < 0)
		return -1;
	r = crm_store_text1(db, "SELECT interaction_id FROM transcripts WHERE source_sha = ?1", in->sha,
		    out->interaction, sizeof out->interaction, e);
	if (r < 0)
		goto fail;
	if (r) {
		out->existed = 1;
		crm_store_text1(db, "SELECT coalesce(contact_id, ''), coalesce(deal_id, '') FROM interactions WHERE id = ?1",
			out->interaction, out->contact, sizeof out->contact, e);
		crm_store_rollback(db);
		return 0;
	}
	if (resolve(db, in, out, account, e) < 0 || call_key(db, out, &sl, e) < 0 ||
	    insert_call(db, in, out, &sl, account, now, e) < 0 ||
	    (!in->no_tasks && store_tasks(db, in, out, &sl, now, e) < 0) ||
	    crm_store_commit(db, e) < 0)
		goto fail;
	return 0;
fail:
	crm_store_rollback(db);
	return -1;
}

int crm_call_open(struct crm_store *db, const char *interaction, const void *body, size_t nbody,
		  const char *analysis, size_t nanalysis, struct crm_buf *utt,
		  struct crm_buf *an, struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(db);
	struct crm_buf z = {0};
	uint64_t dk;
	int rc = -1;

	if (body && crm_crypt_cell_key(body, nbody, &dk)) {
		if (!cc)
			return crm_err_set(e, CRM_EUSAGE, "the transcript of %s is sealed: give the key (--key-file)",
					   interaction);
		if (crm_crypt_open(cc, "transcripts", "body", interaction, body, nbody, &z, e) < 0)
			goto out;
		body = z.data;
		nbody = z.len;
	}
	if (utt && crm_zstd_unpack(body, nbody, utt, e) < 0)
		goto out;
	if (an) {
		crm_buf_reset(an);
		if (nanalysis > 2 && analysis[0] == '"') {	/* sealed: a JSON string */
			if (!cc) {
				crm_err_set(e, CRM_EUSAGE, "the analysis of %s is sealed: give the key (--key-file)",
					    interaction);
				goto out;
			}
			if (crm_crypt_open(cc, "transcripts", "analysis", interaction, analysis + 1,
					   nanalysis - 2, an, e) < 0)
				goto out;
		} else if (crm_buf_add(an, analysis, nanalysis) < 0 || crm_buf_add(an, "", 0) < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	crm_buf_release(&z);
	return rc;
}

int crm_call_transcript(struct crm_store *db, const char *interaction, struct crm_transcript *t,
			char **analysis, struct crm_err *e)
{
	struct crm_stmt *st;
	struct crm_buf b = {0}, an = {0};
	int rc = -1;

	*analysis = NULL;
	if (crm_store_prepare(db, "SELECT body, analysis, duration FROM transcripts WHERE interaction_id = ?1",
			      0, &st, e) < 0)
		return -1;
	bind_text(st, 1, interaction);
	switch (crm_stmt_step(st, e)) {
	case 1:
		if (crm_call_open(db, interaction, crm_stmt_blob(st, 0), crm_stmt_bytes(st, 0),
				  crm_stmt_text(st, 1), crm_stmt_bytes(st, 1), &b, &an, e) < 0 ||
		    crm_transcript_from_json(t, b.data, e) < 0)
			break;
		t->duration = crm_stmt_double(st, 2);
		*analysis = crm_buf_detach(&an, NULL);
		if (!*analysis) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			break;
		}
		rc = 0;
		break;
	case 0:
		crm_err_set(e, CRM_ENOINPUT, "no transcript for '%s'", interaction);
		break;
	default:
		break;
	}
	crm_stmt_free(st);
	crm_buf_release(&b);
	crm_buf_release(&an);
	return rc;
}

/* ---- what a call's file says of it ---------------------------------- */

int crm_call_time(const char *s, time_t *t)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) < 3)
		return -1;
	s += n;
	if ((*s == 'T' || *s == ' ' || *s == '_') &&
	    sscanf(s + 1, "%2d%*[:-]%2d%n", &h, &mi, &n) == 2) {
		s += 1 + n;
		(void)sscanf(s, "%*[:-]%2d", &sec);	/* seconds are optional */
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	return 0;
}

void crm_call_name_hints(const char *path, struct crm_call_hints *h)
{
	const char *base = strrchr(path, '/');
	char name[512];

	base = base ? base + 1 : path;
	snprintf(name, sizeof name, "%s", base);
	for (char *p = name; *p; p++) {
		if (!h->at && p[0] >= '1' && p[0] <= '2' && crm_call_time(p, &h->at) == 0)
			continue;
		if (!h->deal[0] && !strncmp(p, "d_", 2) && (p == name || strchr("_-. ", p[-1]))) {
			size_t n = strspn(p + 2, "0123456789abcdefghijklmnopqrstuvwxyz");
			if (n >= 8)
				snprintf(h->deal, sizeof h->deal, "%.*s", (int)(n + 2), p);
		}
		if (!h->contact[0] && !strncmp(p, "c_", 2) && (p == name || strchr("_-. ", p[-1]))) {
			size_t n = strspn(p + 2, "0123456789abcdefghijklmnopqrstuvwxyz");
			if (n >= 8)
				snprintf(h->contact, sizeof h->contact, "%.*s", (int)(n + 2), p);
		}
		if (*p == '@' && !h->contact[0]) {
			char *s = p, *e = p + 1;
			while (s > name && (isalnum((unsigned char)s[-1]) || strchr("._+-", s[-1])))
				s--;
			while (*e && (isalnum((unsigned char)*e) || *e == '-' || *e == '.'))
				e++;
			/* Drop a file extension glued to the domain. */
			char *dot = NULL;
			for (char *q = p; q < e; q++)
				if (*q == '.')
					dot = q;
			if (dot && e - dot <= 5 && dot - p > 3 && strchr(p, '.') != dot &&
			    (!strncmp(dot, ".wav", 4) || !strncmp(dot, ".vtt", 4) ||
			     !strncmp(dot, ".srt", 4) || !strncmp(dot, ".txt", 4) ||
			     !strncmp(dot, ".json", 5)))
				e = dot;
			if (s < p && e > p + 1)
				snprintf(h->contact, sizeof h->contact, "%.*s", (int)(e - s), s);
		}
	}
}

char *crm_call_sidecar(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
	char *s = malloc(stem + 11);

	if (s)
		snprintf(s, stem + 11, "%.*s.meta.json", (int)stem, path);
	return s;
}

int crm_call_sidecar_hints(const char *path, struct crm_call_hints *h, struct crm_err *e)
{
	char *sc = crm_call_sidecar(path);
	json_error_t je;
	json_t *j;
	const char *v;

	if (!sc || access(sc, F_OK)) {
		free(sc);
		return 0;
	}
	if (!(j = json_load_file(sc, 0, &je))) {
		crm_err_set(e, CRM_EDATA, "%s:%d: %s", sc, je.line, je.text);
		free(sc);
		return -1;
	}
	if ((v = json_string_value(json_object_get(j, "contact"))) ||
	    (v = json_string_value(json_object_get(j, "email"))))
		snprintf(h->contact, sizeof h->contact, "%s", v);
	if ((v = json_string_value(json_object_get(j, "deal"))))
		snprintf(h->deal, sizeof h->deal, "%s", v);
	if ((v = json_string_value(json_object_get(j, "rep"))))
		snprintf(h->rep, sizeof h->rep, "%s", v);
	if (((v = json_string_value(json_object_get(j, "at"))) ||
	     (v = json_string_value(json_object_get(j, "started_at")))) &&
	    crm_call_time(v, &h->at) < 0) {
		crm_err_set(e, CRM_EDATA, "%s: bad time '%s'", sc, v);
		json_decref(j);
		free(sc);
		return -1;
	}
	json_decref(j);
	free(sc);
	return 0;
}

/* ---- a processed call, for people and for pipes ---------------------- */

int crm_call_text(struct crm_buf *b, const char *path, const struct crm_transcript *t,
		  const struct crm_analysis *a, const struct crm_call_out *out, int transcript)
{
	int rc = crm_buf_addf(b, "%s  %s%s", path, out && out->interaction[0] ? out->interaction : "",
			      out && out->interaction[0] ? "  " : "");

	if (t->duration > 0)
		rc |= crm_buf_addf(b, "%.0f s, ", t->duration);
	rc |= crm_buf_addf(b, "%zu utterances%s\n", t->n, out && out->existed ? "  (already stored)" : "");
	if (out && out->contact[0])
		rc |= crm_buf_addf(b, "  contact %s%s%s\n", out->contact, out->owner[0] ? ", owner " : "",
				   out->owner);
	rc |= crm_buf_addf(b, "  summary: %s\n", a->summary);
	rc |= crm_buf_addf(b, "  sentiment %+.2f (%s), hesitation %.2f%s\n", a->sentiment,
			   a->sentiment_label, a->hesitation, a->hesitant ? " HESITANT" : "");
	for (size_t i = 0; i < a->ncues; i++)
		rc |= crm_buf_addf(b, "    cue: %s (%s)\n", a->cues[i].cue, a->cues[i].kind);
	for (size_t i = 0; i < a->nitems; i++) {
		const struct crm_action *it = &a->items[i];
		char *said = crm_item_words(it, t);

		rc |= crm_buf_addf(b, "  [%s] %s%s%s%s\n", crm_owner_name(it->owner), it->text,
				   it->due[0] ? "  due " : "", it->due,
				   it->due_phrase ? "" : it->due[0] ? " (default)" : "");
		if (said && *said)	/* the words it came from */
			rc |= crm_buf_addf(b, "      \"%s\"\n", said);
		free(said);
	}
	rc |= crm_buf_adds(b, "  trackers:");
	for (int i = 0; i < CRM_NTRK; i++)
		if (a->trackers[i])
			rc |= crm_buf_addf(b, " %s %ld", crm_tracker_names[i], a->trackers[i]);
	rc |= crm_buf_addc(b, '\n');
	for (size_t i = 0; i < a->ntalk; i++)
		rc |= crm_buf_addf(b, "  talk: %s (%s) %.0f%%\n", a->talk[i].speaker,
				   crm_owner_name(a->talk[i].role), 100 * a->talk[i].ratio);
	if (out && !out->existed && out->interaction[0])
		rc |= crm_buf_addf(b, "  tasks: %d new (%d waiting on the customer)\n", out->tasks_new,
				   out->tasks_waiting);
	for (size_t i = 0; transcript && i < t->n; i++)
		rc |= crm_buf_addf(b, "  %02ld:%02ld %s%s%s\n",
				   t->u[i].start >= 0 ? t->u[i].start / 60000 : 0,
				   t->u[i].start >= 0 ? t->u[i].start / 1000 % 60 : 0,
				   t->u[i].speaker ? t->u[i].speaker : "", t->u[i].speaker ? ": " : "",
				   t->u[i].text);
	return rc | crm_buf_addc(b, '\n') ? -1 : 0;
}

char *crm_call_json(const char *path, const struct crm_transcript *t, const struct crm_analysis *a,
		    const struct crm_call_out *out, const char *fmt, const char *engine,
		    int transcript)
{
	json_t *o = crm_analysis_json(a, t);
	json_t *head = json_pack("{s:s,s:s,s:s,s:s?,s:f,s:I}", "type", "call", "file", path,
				 "format", fmt, "engine", engine, "duration", t->duration,
				 "utterances", (json_int_t)t->n);
	char *s = NULL;

	if (!o || !head)
		goto done;
	if (out && out->interaction[0]) {
		json_object_set_new(head, "interaction", json_string(out->interaction));
		json_object_set_new(head, "existed", json_boolean(out->existed));
		if (out->contact[0])
			json_object_set_new(head, "contact", json_string(out->contact));
		if (out->deal[0])
			json_object_set_new(head, "deal", json_string(out->deal));
		if (!out->existed) {
			if (out->owner[0])
				json_object_set_new(head, "owner", json_string(out->owner));
			json_object_set_new(head, "tasks_created", json_integer(out->tasks_new));
		}
	}
	json_object_update(head, o);
	if (transcript) {
		char *tj = crm_transcript_json(t);
		json_t *arr = tj ? json_loads(tj, 0, NULL) : NULL;

		free(tj);
		if (!arr)
			goto done;
		json_object_set_new(head, "transcript", arr);
	}
	s = json_dumps(head, JSON_COMPACT | JSON_REAL_PRECISION(10));
done:
	json_decref(head);
	json_decref(o);
	return s;
}
