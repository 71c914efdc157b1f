/*
 * privacy.c - erasure, access, suppression and retention
 * (see privacy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "calls.h"
#include "crypt.h"
#include "entity.h"
#include "explain.h"
#include "ndjson.h"
#include "privacy.h"
#include "row.h"
#include "scoring.h"
#include "store/store.h"

/* ---- finding a subject ------------------------------------------------ */

/*
 * Fill subject with the contacts SUBJECT names and every record
 * merged into them. Returns how many, or -1.
 */
static long long subject_find(struct crm_store *db, const char *subject, struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(db);
	const char *field = strchr(subject, '@') ? "email" :
			    !strncmp(subject, "c_", 2) ? "id" : "phone";
	char *v = malloc(strlen(subject) + 1), bi[CRM_BIDX_MAX];
	struct crm_stmt *st = NULL, *ins = NULL;
	long long n = -1;
	int rc;

	if (!v)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (crm_store_exec(db, "CREATE TEMP TABLE IF NOT EXISTS subject (id TEXT PRIMARY KEY);"
			    "DELETE FROM subject", e) < 0)
		goto out;
	if (!strcmp(field, "id"))
		snprintf(v, strlen(subject) + 1, "%s", subject);
	else
		crm_crypt_ident(field, subject, v);
	if (!*v || (!strcmp(field, "phone") && strlen(v) < 6)) {
		crm_err_set(e, CRM_EUSAGE, "'%s': want an email, a phone number or a contact id", subject);
		goto out;
	}
	if (cc && strcmp(field, "id"))
		crm_crypt_bidx(cc, field, v, strlen(v), bi);
	if (crm_store_prepare(db, "INSERT INTO subject VALUES (?1) ON CONFLICT DO NOTHING", 0, &ins, e) < 0)
		goto out;
	/* The roots: records that hold the identifier, followed to the
	 * record they were merged into. */
	if (!strcmp(field, "id"))
		rc = crm_store_prepare(db, "SELECT id, merged_into, NULL FROM contacts WHERE id = ?1", 0, &st, e);
	else if (cc)
		rc = crm_store_prepare(db, !strcmp(field, "email") ?
			"SELECT id, merged_into, NULL FROM contacts WHERE email_bi = ?1" :
			"SELECT id, merged_into, NULL FROM contacts WHERE phone_bi = ?1", 0, &st, e);
	else
		rc = crm_store_prepare(db, !strcmp(field, "email") ?
			"SELECT id, merged_into, NULL FROM contacts WHERE email = ?1" :
			"SELECT id, merged_into, phone FROM contacts WHERE phone IS NOT NULL", 0, &st, e);
	if (rc < 0)
		goto out;
	if (cc || strcmp(field, "phone"))	/* the plain phone query takes none */
		crm_stmt_bind_text_ref(st, 1, cc && strcmp(field, "id") ? bi : v, (size_t)-1);
	while ((rc = crm_stmt_step(st, e)) == 1) {
		const char *p = crm_stmt_text(st, 2);
		const char *root = crm_stmt_type(st, 1) == CRM_NULL ?
			crm_stmt_text(st, 0) :
			crm_stmt_text(st, 1);

		if (p) {	/* plain phones: compare digits */
			char *d = malloc(strlen(p) + 1);
			int same;

			if (!d)
				break;
			crm_crypt_ident("phone", p, d);
			same = !strcmp(d, v);
			free(d);
			if (!same)
				continue;
		}
		crm_stmt_bind_text(ins, 1, root, (size_t)-1);
		if (crm_stmt_step(ins, e) < 0)
			goto out;
		crm_stmt_reset(ins);
	}
	if (rc < 0)
		goto out;
	/* A merge chain may be several records long: walk up to the
	 * survivors, then down to everything merged into them. */
	if (crm_store_exec(db,
		"WITH RECURSIVE up(id, next) AS (SELECT c.id, c.merged_into FROM contacts c JOIN subject s ON s.id = c.id "
		" UNION SELECT c.id, c.merged_into FROM contacts c JOIN up ON c.id = up.next) "
		"INSERT INTO subject SELECT id FROM up WHERE next IS NULL ON CONFLICT DO NOTHING;"
		"WITH RECURSIVE down(id) AS (SELECT id FROM subject "
		" UNION SELECT c.id FROM contacts c JOIN down ON c.merged_into = down.id) "
		"INSERT INTO subject SELECT id FROM down WHERE true ON CONFLICT DO NOTHING", e) < 0)
		goto out;
	n = 0;
	crm_store_text1(db, "SELECT count(*) FROM subject", NULL, bi, sizeof(bi), e);
	n = atoll(bi);
out:
	crm_stmt_free(st);
	crm_stmt_free(ins);
	free(v);
	return n;
}

/* ---- erasure ---------------------------------------------------------- */


/* Add the data key ids of the sealed cells in column(s) of sql's rows. */
static int collect_keys(struct crm_store *db, const char *sql, uint64_t **ids, size_t *n,
			size_t *alloc, struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	if (crm_store_prepare(db, sql, 0, &st, e) < 0)
		return -1;
	while ((rc = crm_stmt_step(st, e)) == 1) {
		for (int c = 0; c < crm_stmt_columns(st); c++) {
			uint64_t k = 0;

			if (crm_stmt_type(st, c) == CRM_INTEGER)
				k = (uint64_t)crm_stmt_int64(st, c);
			else if ((crm_stmt_type(st, c) == CRM_TEXT ||
				  crm_stmt_type(st, c) == CRM_BLOB) &&	/* a sealed body */
				 !crm_crypt_cell_key(crm_stmt_blob(st, c),
						     crm_stmt_bytes(st, c), &k))
				continue;
			if (!k)
				continue;
			if (*n == *alloc) {
				size_t na = *alloc ? *alloc * 2 : 64;
				uint64_t *p = realloc(*ids, na * sizeof(*p));

				if (!p) {
					crm_stmt_free(st);
					return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				}
				*ids = p;
				*alloc = na;
			}
			(*ids)[(*n)++] = k;
		}
	}
	crm_stmt_free(st);
	return rc == 0 ? 0 : -1;
}

/* Put the subject's emails and phones on the suppression list. */
static long long suppress_subject(struct crm_store *db, long long request, struct crm_err *e)
{
	struct crm_stmt *st, *ins;
	struct crm_buf plain;
	long long n = 0;
	char now[32];
	int rc;

	if (crm_store_prepare(db, "SELECT id, email, phone FROM contacts WHERE id IN (SELECT id FROM subject)",
			      0, &st, e) < 0)
		return -1;
	if (crm_store_prepare(db, "INSERT INTO suppressions VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
			      0, &ins, e) < 0) {
		crm_stmt_free(st);
		return -1;
	}
	crm_timestamp(now, sizeof(now));
	crm_buf_init(&plain, 0);
	while ((rc = crm_stmt_step(st, e)) == 1) {
		for (int c = 1; c <= 2; c++) {
			const char *field = c == 1 ? "email" : "phone";
			const char *cell = crm_stmt_text(st, c);
			struct crm_crypt *cc = crm_store_crypt(db);
			char h[CRM_BIDX_MAX];

			if (!cell)
				continue;
			crm_buf_reset(&plain);
			if (cc) {
				if (crm_crypt_open(cc, "contacts", field,
						   crm_stmt_text(st, 0), cell,
						   crm_stmt_bytes(st, c), &plain, e) < 0)
					continue;	/* already shredded: nothing to hash */
			} else if (crm_buf_adds(&plain, cell) < 0) {
				continue;
			}
			if (crm_suppress_hash(db, field, plain.data, h, e) < 0)
				goto fail;
			n++;
			crm_stmt_bind_text(ins, 1, h, (size_t)-1);
			crm_stmt_bind_text_ref(ins, 2, field, (size_t)-1);
			crm_stmt_bind_int64(ins, 3, request);
			crm_stmt_bind_text_ref(ins, 4, now, (size_t)-1);
			if (crm_stmt_step(ins, e) < 0)
				goto fail;
			crm_stmt_reset(ins);
		}
	}
	sodium_memzero(plain.data, plain.alloc);
	crm_buf_release(&plain);
	crm_stmt_free(st);
	crm_stmt_free(ins);
	return n;
fail:
	crm_buf_release(&plain);
	crm_stmt_free(st);
	crm_stmt_free(ins);
	return -1;
}

#define ROWS_OF_SUBJECT \
	"(SELECT id FROM interactions WHERE contact_id IN (SELECT id FROM subject) " \
	" UNION ALL SELECT id FROM tasks WHERE contact_id IN (SELECT id FROM subject) " \
	" UNION ALL SELECT id FROM subject)"

/*
 * The erasure request for subject hash: an unfinished one of an earlier
 * run (killed after it suppressed the person) is taken up again, else a
 * new one is made. Its id, or -1.
 */
static long long forget_request(struct crm_store *db, const char *hash, const char *now,
				const char *actor, struct crm_err *e)
{
	char id[24] = "";
	const char *p[] = { hash, now, actor };
	struct crm_stmt *st;
	long long r;

	if (crm_store_text1(db, "SELECT max(id) FROM subject_requests WHERE kind = 'erasure' "
			 "AND subject = ?1 AND done_at IS NULL", hash, id, sizeof(id), e) < 0)
		return -1;
	if (*id)
		return atoll(id);
	if (crm_store_prepare(db, "INSERT INTO subject_requests (kind, subject, received_at, actor) "
			      "VALUES ('erasure', ?1, ?2, ?3) RETURNING id", 0, &st, e) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		crm_stmt_bind_text_ref(st, i + 1, p[i], (size_t)-1);
	r = crm_stmt_step(st, e) > 0 ? crm_stmt_int64(st, 0) : -1;
	crm_stmt_free(st);
	return r;
}

int crm_forget(struct crm_store *db, const char *subject, const char *actor,
	       int dry_run, struct crm_forget *f, struct crm_buf *rj,
	       struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(db);
	double t0 = crm_now();
	uint64_t *keys = NULL;
	size_t nkeys = 0, akeys = 0;
	char now[32], hash[CRM_BIDX_MAX], first[CRM_ID_MAX] = "", rid[24], transcripts_sql[256];
	long long n;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	crm_timestamp(now, sizeof(now));
	if (crm_suppress_hash(db,
			  strchr(subject, '@') ? "email" : !strncmp(subject, "c_", 2) ? "id" : "phone",
			  subject, hash, e) < 0)
		return -1;
	/*
	 * 1. The request and the suppression hashes, committed before any
	 * key is shredded: their email and phone are hashed while they still
	 * open, so a crash later cannot let a re-import bring them back, and
	 * a rerun finishes the erasure under the same request. A dry run
	 * does all of it but the shredding, counts, and rolls back. The
	 * request names the subject by keyed hash, never in clear.
	 */
	if (crm_store_begin(db, e) < 0)
		return -1;
	if ((n = subject_find(db, subject, e)) < 0)
		goto fail;
	if (n == 0) {
		crm_store_rollback(db);
		return 1;
	}
	if ((f->request = forget_request(db, hash, now, actor, e)) < 0 ||
	    suppress_subject(db, f->request, e) < 0)
		goto fail;
	crm_fault("forget-suppressed");
	if (!dry_run) {
		if (crm_store_commit(db, e) < 0)
			goto fail;
		crm_fault("forget-committed");
		/* 2. The rest in one transaction: the subject again (a merge
		 * may have come in between), their keys shredded, their rows
		 * deleted, the request closed. */
		if (crm_store_begin(db, e) < 0)
			return -1;
		if ((n = subject_find(db, subject, e)) < 0)
			goto fail;
		if (n > 0 && suppress_subject(db, f->request, e) < 0)
			goto fail;
	}
	snprintf(rid, sizeof(rid), "%lld", f->request);
	if (crm_store_text1(db, "SELECT count(*) FROM suppressions WHERE request_id = CAST(?1 AS INTEGER)",
			 rid, first, sizeof(first), e) < 0)
		goto fail;
	f->suppressed = atoll(first);
	*first = 0;
	crm_store_text1(db, "SELECT min(id) FROM subject", NULL, first, sizeof(first), e);
	/* Every data key their cells were sealed under. */
	snprintf(transcripts_sql, sizeof(transcripts_sql),
		 "SELECT t.body, t.analysis %s, t.file FROM transcripts t JOIN interactions i "
		 "ON i.id = t.interaction_id WHERE i.contact_id IN (SELECT id FROM subject)",
		 crm_store_sql(db, CRM_SQL_JSON_TEXT));
	if (cc && (collect_keys(db, "SELECT dk FROM contacts WHERE id IN (SELECT id FROM subject)",
				&keys, &nkeys, &akeys, e) < 0 ||
		   collect_keys(db, "SELECT subject, body FROM interactions WHERE contact_id IN (SELECT id FROM subject)",
				&keys, &nkeys, &akeys, e) < 0 ||
		   collect_keys(db, "SELECT title FROM tasks WHERE contact_id IN (SELECT id FROM subject)",
				&keys, &nkeys, &akeys, e) < 0 ||
		   /* a sealed analysis is a JSON string: its text */
		   collect_keys(db, transcripts_sql, &keys, &nkeys, &akeys, e) < 0))
		goto fail;
	{	/* each key once */
		size_t m = 0;

		for (size_t i = 0; i < nkeys; i++) {
			size_t j;

			for (j = 0; j < m && keys[j] != keys[i]; j++)
				;
			if (j == m)
				keys[m++] = keys[i];
		}
		nkeys = m;
	}
	f->keys_shredded = (long long)nkeys;
	/* Shred first: from here on no copy of their cells opens, even if
	 * what follows fails (run it again to finish the deletion). */
	if (cc && !dry_run && crm_crypt_shred(cc, keys, nkeys, e) < 0)
		goto fail;
	crm_fault("forget-shredded");
#define DEL(field, sql) \
	do { if ((f->field = crm_store_run(db, sql, NULL, 0, e)) < 0) goto fail; } while (0)
	DEL(deliveries, "DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM events WHERE entity_id IN " ROWS_OF_SUBJECT ")");
	DEL(events, "DELETE FROM events WHERE entity_id IN " ROWS_OF_SUBJECT);
	DEL(transcripts, "DELETE FROM transcripts WHERE interaction_id IN (SELECT id FROM interactions WHERE contact_id IN (SELECT id FROM subject))");
	DEL(scores, "DELETE FROM scores WHERE entity_id IN (SELECT id FROM subject)");
	if (crm_store_run(db, "DELETE FROM holdout_scores WHERE entity_id IN (SELECT id FROM subject)",
		       NULL, 0, e) < 0)
		goto fail;
	DEL(reviews, "DELETE FROM match_reviews WHERE a_id IN (SELECT id FROM subject) OR b_id IN (SELECT id FROM subject)");
	DEL(merges, "DELETE FROM merges WHERE survivor_id IN (SELECT id FROM subject) OR merged_id IN (SELECT id FROM subject)");
	DEL(interactions, "DELETE FROM interactions WHERE contact_id IN (SELECT id FROM subject)");
	DEL(tasks, "DELETE FROM tasks WHERE contact_id IN (SELECT id FROM subject)");
	DEL(deals_unlinked, "UPDATE deals SET contact_id = NULL WHERE contact_id IN (SELECT id FROM subject)");
	if (crm_store_run(db, "UPDATE contacts SET merged_into = NULL WHERE id IN (SELECT id FROM subject)",
		       NULL, 0, e) < 0)
		goto fail;
	DEL(contacts, "DELETE FROM contacts WHERE id IN (SELECT id FROM subject)");
#undef DEL
	if (dry_run)
		f->request = 0;
	f->ms = (crm_now() - t0) * 1000;
	crm_buf_reset(rj);
	if (crm_buf_addf(rj, "{\"request\":%lld,\"at\":\"%s\",\"actor\":", f->request, now) < 0 ||
	    crm_json_str(rj, actor, strlen(actor)) < 0 ||
	    crm_buf_addf(rj, ",\"subject\":\"%s\",\"dry_run\":%s,\"encrypted\":%s,"
			 "\"contacts\":%lld,\"interactions\":%lld,\"transcripts\":%lld,\"tasks\":%lld,"
			 "\"scores\":%lld,\"merges\":%lld,\"match_reviews\":%lld,\"events\":%lld,"
			 "\"webhook_deliveries\":%lld,\"deals_unlinked\":%lld,\"keys_shredded\":%lld,"
			 "\"suppressed\":%lld,\"ms\":%.1f}",
			 hash, dry_run ? "true" : "false", cc ? "true" : "false",
			 f->contacts, f->interactions, f->transcripts, f->tasks, f->scores,
			 f->merges, f->reviews, f->events, f->deliveries, f->deals_unlinked,
			 f->keys_shredded, f->suppressed, f->ms) < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto fail;
	}
	if (dry_run) {
		crm_store_rollback(db);
		free(keys);
		return 0;
	}
	{
		const char *p[] = { rid, now, rj->data };

		if (crm_store_run(db, "UPDATE subject_requests SET done_at = ?2, receipt = ?3 WHERE id = CAST(?1 AS INTEGER)",
			       p, 3, e) < 0)
			goto fail;
	}
	if (crm_trail_append(db, actor, "forget", "contact", first, rj->data, e) < 0)
		goto fail;
	crm_fault("forget-deleted");
	if (crm_store_commit(db, e) < 0)
		goto fail;
	/* Their bytes are in freed pages (zeroed by secure_delete when the
	 * log is written back) and in the log: write it back and empty it. */
	{
		static const char *const erased[] = { "contacts", "interactions", "transcripts", "tasks",
			"scores", "holdout_scores", "merges", "match_reviews", "events",
			"webhook_deliveries", NULL };

		f->checkpointed = crm_store_scrub(db, erased);
	}
	free(keys);
	f->ms = (crm_now() - t0) * 1000;
	return 0;
fail:
	crm_store_rollback(db);
	free(keys);
	return rc;
}

/* ---- access and portability ------------------------------------------- */

static int emit_rows(struct crm_store *db, const char *kind, const char *sql,
		     int (*emit)(void *, const char *, size_t), void *ctx,
		     struct crm_buf *b, long long *count, struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	if (crm_store_prepare(db, sql, 0, &st, e) < 0)
		return -1;
	while ((rc = crm_stmt_step(st, e)) == 1) {
		crm_buf_reset(b);
		if (crm_row_json_e(b, st, kind, NULL, e) < 0) {
			crm_stmt_free(st);
			return -1;
		}
		(*count)++;
		if (emit(ctx, b->data, b->len) < 0) {
			crm_stmt_free(st);
			return crm_err_set(e, CRM_EIO, "write error");
		}
	}
	crm_stmt_free(st);
	return rc == 0 ? 0 : -1;
}

/*
 * The subject's calls: each transcript with its utterances and analysis
 * opened and decompressed (in the database they are sealed and packed).
 */
static int emit_transcripts(struct crm_store *db, int (*emit)(void *, const char *, size_t), void *ctx,
			    struct crm_buf *b, long long *count, struct crm_err *e)
{
	struct crm_stmt *st;
	struct crm_buf utt = { 0 }, an = { 0 }, file = { 0 };
	int rc;

	if (crm_store_prepare(db, "SELECT t.interaction_id, t.file, "
			      "t.format, t.engine, t.duration, t.body, t.analysis, t.sentiment, t.hesitation, "
			      "t.hesitant, t.created_at FROM transcripts t JOIN interactions i ON i.id = t.interaction_id "
			      "WHERE i.contact_id IN (SELECT id FROM subject) ORDER BY i.occurred_at, t.interaction_id",
			      0, &st, e) < 0)
		return -1;
	while ((rc = crm_stmt_step(st, e)) == 1) {
		const char *id = crm_stmt_text(st, 0);
		const char *k[] = { "file", "format", "engine" };

		if (crm_call_open(db, id, crm_stmt_blob(st, 5), crm_stmt_bytes(st, 5),
				  crm_stmt_text(st, 6), crm_stmt_bytes(st, 6),
				  &utt, &an, e) < 0)
			goto fail;
		crm_buf_reset(b);
		crm_buf_adds(b, "{\"type\":\"transcript\",\"interaction_id\":");
		crm_json_str(b, id, strlen(id));
		for (int c = 1; c <= 3; c++) {
			const char *v = crm_stmt_text(st, c);

			if (c == 1) {	/* the file's name, sealed with a key */
				int r = crm_row_cell(st, 1, "transcripts", "file", id, &file, e);

				if (r < 0)
					goto fail;
				v = r ? file.data : NULL;
			}
			crm_json_key(b, k[c - 1]);
			if (v)
				crm_json_str(b, v, strlen(v));
			else
				crm_buf_adds(b, "null");
		}
		crm_json_figure(b, "duration", crm_stmt_double(st, 4));
		crm_json_key(b, "utterances");
		crm_buf_add(b, utt.data, strlen(utt.data));
		crm_json_key(b, "analysis");
		crm_buf_add(b, an.data, strlen(an.data));
		crm_json_figure(b, "sentiment", crm_stmt_double(st, 7));
		crm_json_figure(b, "hesitation", crm_stmt_double(st, 8));
		crm_buf_addf(b, ",\"hesitant\":%s,\"created_at\":", (int)crm_stmt_int64(st, 9) ? "true" : "false");
		crm_json_str(b, crm_stmt_text(st, 10), crm_stmt_bytes(st, 10));
		if (crm_buf_adds(b, "}\n") < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto fail;
		}
		(*count)++;
		if (emit(ctx, b->data, b->len) < 0) {
			crm_err_set(e, CRM_EIO, "write error");
			goto fail;
		}
	}
	crm_stmt_free(st);
	crm_buf_release(&utt);
	crm_buf_release(&an);
	crm_buf_release(&file);
	return rc == 0 ? 0 : -1;
fail:
	crm_stmt_free(st);
	crm_buf_release(&utt);
	crm_buf_release(&an);
	crm_buf_release(&file);
	return -1;
}

/* Why each of the subject's scores is what it is: their explanation
 * under the active lead model, as crm-explain gives it. */
static int emit_explanations(struct crm_store *db, int (*emit)(void *, const char *, size_t), void *ctx,
			     struct crm_buf *b, long long *count, struct crm_err *e)
{
	const struct crm_entity *t = crm_entity_find("contact");
	struct crm_scoring sc;
	struct crm_err none = { 0 };
	struct crm_stmt *st;
	int rc;

	if (crm_scoring_open(&sc, db, t, &none) < 0)
		return 0;	/* no model: the scores stand without */
	if (crm_store_prepare(db, "SELECT DISTINCT entity_id FROM scores WHERE entity_id IN "
			       "(SELECT id FROM subject) ORDER BY entity_id", 0, &st, e) < 0) {
		crm_scoring_release(&sc);
		return -1;
	}
	while ((rc = crm_stmt_step(st, e)) == 1) {
		int r;

		crm_buf_reset(b);
		/* Unnamed: the owner is someone else's data. */
		r = crm_explain_id(db, &sc.m, sc.hist, crm_stmt_text(st, 0), 5, CRM_EXPLAIN_UNNAMED,
				   NULL, b, e);
		if (r < 0)
			goto fail;
		if (r > 0 || !b->len)
			continue;
		(*count)++;
		if (emit(ctx, b->data, b->len) < 0) {
			crm_err_set(e, CRM_EIO, "write error");
			goto fail;
		}
	}
	crm_stmt_free(st);
	crm_scoring_release(&sc);
	return rc == 0 ? 0 : -1;
fail:
	crm_stmt_free(st);
	crm_scoring_release(&sc);
	return -1;
}

int crm_subject_export(struct crm_store *db, const char *subject, const char *actor,
		       int (*emit)(void *ctx, const char *rec, size_t n),
		       void *ctx, struct crm_err *e)
{
	static const struct { const char *kind, *sql; } parts[] = {
		{ "contact", "SELECT * FROM contacts WHERE id IN (SELECT id FROM subject) ORDER BY id" },
		{ "deal", "SELECT * FROM deals WHERE contact_id IN (SELECT id FROM subject) ORDER BY id" },
		{ "interaction", "SELECT * FROM interactions WHERE contact_id IN (SELECT id FROM subject) ORDER BY occurred_at, id" },
		{ "task", "SELECT * FROM tasks WHERE contact_id IN (SELECT id FROM subject) ORDER BY id" },
		{ "score", "SELECT s.entity_id, s.model_id, m.entity AS model_entity, s.probability, s.score, s.computed_at "
			   "FROM scores s LEFT JOIN models m ON m.id = s.model_id WHERE s.entity_id IN (SELECT id FROM subject)" },
		{ "merge", "SELECT id, entity, survivor_id, merged_id, probability, reason, decisions, status, created_at, undone_at "
			   "FROM merges WHERE survivor_id IN (SELECT id FROM subject) OR merged_id IN (SELECT id FROM subject)" },
		{ "event", "SELECT seq, at, entity, entity_id, op, payload FROM events WHERE entity_id IN " ROWS_OF_SUBJECT " ORDER BY seq" },
		{ "audit", "SELECT seq, at, actor, action, entity, entity_id, detail AS payload FROM audit_log "
			   "WHERE entity_id IN (SELECT id FROM subject) ORDER BY seq" },
	};
	struct crm_buf b;
	long long n, count = 0;
	char now[32], detail[128];
	int rc = -1;

	crm_buf_init(&b, 0);
	if (crm_store_begin_read(db, e) < 0)
		return -1;
	if ((n = subject_find(db, subject, e)) < 0)
		goto out;
	if (n == 0) {
		rc = 1;
		goto out;
	}
	crm_timestamp(now, sizeof(now));
	if (crm_buf_addf(&b, "{\"type\":\"subject\",\"exported_at\":\"%s\",\"contacts\":%lld}\n", now, n) < 0 ||
	    emit(ctx, b.data, b.len) < 0) {
		crm_err_set(e, CRM_EIO, "write error");
		goto out;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (emit_rows(db, parts[i].kind, parts[i].sql, emit, ctx, &b, &count, e) < 0)
			goto out;
	if (emit_transcripts(db, emit, ctx, &b, &count, e) < 0 ||
	    emit_explanations(db, emit, ctx, &b, &count, e) < 0)
		goto out;
	rc = 0;
out:
	crm_buf_release(&b);
	if (rc == 0 && !crm_store_readonly(db)) {
		char first[CRM_ID_MAX] = "";

		/* The read ends; the audit entry is written under the write
		 * lock, in a transaction of its own. */
		crm_store_text1(db, "SELECT min(id) FROM subject", NULL, first, sizeof(first), e);
		snprintf(detail, sizeof(detail), "{\"records\":%lld}", count);
		if (crm_store_commit(db, e) < 0 ||
		    crm_trail_append(db, actor, "export-subject", "contact", first, detail, e) < 0)
			return -1;
		return 0;
	}
	crm_store_rollback(db);
	return rc;
}

/* ---- retention -------------------------------------------------------- */

int crm_purge(struct crm_store *db, const struct crm_purge_rule *rules, size_t n,
	      const char *actor, int dry_run, struct crm_purge *p,
	      struct crm_err *e)
{
	static const struct { const char *kind, *sql; } del[] = {
		{ "transcripts", "DELETE FROM transcripts WHERE created_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days')" },
		{ "interactions", "DELETE FROM interactions WHERE occurred_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days')" },
		{ "leads", "DELETE FROM contacts WHERE merged_into IS NULL AND coalesce(outcome, '') != 'converted' "
			   "AND updated_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days') "
			   "AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.contact_id = contacts.id) "
			   "AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = contacts.id) "
			   "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.contact_id = contacts.id) "
			   "AND NOT EXISTS (SELECT 1 FROM contacts m WHERE m.merged_into = contacts.id)" },
		{ "deliveries", "DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days')" },
		{ "events", "DELETE FROM events WHERE at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST(?1 AS text) || ' days') "
			    "AND seq < (SELECT max(seq) FROM events)" },
	};
	long long *out[] = { &p->transcripts, &p->interactions, &p->leads, &p->deliveries, &p->events };
	char detail[256];

	memset(p, 0, sizeof(*p));
	if (crm_store_begin(db, e) < 0)
		return -1;
	/* A dry run deletes too, counts, and rolls back. */
	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		const struct crm_purge_rule *r = NULL;
		char days[32];
		const char *par = days;

		for (size_t k = 0; k < n; k++)
			if (!strcmp(rules[k].kind, del[i].kind) && rules[k].days > 0)
				r = &rules[k];
		if (!r)
			continue;
		snprintf(days, sizeof(days), "%g", r->days);
		if ((*out[i] = crm_store_run(db, del[i].sql, &par, 1, e)) < 0)
			goto fail;
	}
	if (dry_run) {
		crm_store_rollback(db);
		return 0;
	}
	snprintf(detail, sizeof(detail),
		 "{\"interactions\":%lld,\"transcripts\":%lld,\"leads\":%lld,\"events\":%lld,\"deliveries\":%lld}",
		 p->interactions, p->transcripts, p->leads, p->events, p->deliveries);
	if (crm_trail_append(db, actor, "purge", NULL, NULL, detail, e) < 0 ||
	    crm_store_commit(db, e) < 0)
		goto fail;
	{
		static const char *const purged[] = { "transcripts", "interactions", "contacts",
			"webhook_deliveries", "events", NULL };

		crm_store_scrub(db, purged);
	}
	return 0;
fail:
	crm_store_rollback(db);
	return -1;
}
