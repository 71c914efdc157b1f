/*
 * doctor.c - crm's self-check (see doctor.h). Every check reads; none
 * writes: the database is opened read-only and its schema is left as it
 * is.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "asr.h"
#include "crypt.h"
#include "doctor.h"
#include "http.h"
#include "llm.h"
#include "model.h"
#include "store/store.h"

#define MIB (1024.0 * 1024.0)
#define DRIFT_MIN 30		/* closed records before a model's drift is judged */

struct run {
	int (*emit)(void *ctx, const struct crm_doctor_check *c);
	void *ctx;
	int failed, stopped;
};

const char *crm_doctor_status_name(enum crm_doctor_status s)
{
	static const char *const names[] = { "ok", "warn", "fail", "skip" };

	return names[s];
}

__attribute__((format(printf, 4, 5)))
static int say(struct run *r, const char *name, enum crm_doctor_status st, const char *fmt, ...)
{
	struct crm_doctor_check c = { .name = name, .status = st };
	va_list ap;

	if (r->stopped)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c.detail, sizeof(c.detail), fmt, ap);
	va_end(ap);
	r->failed += st == CRM_DOC_FAIL;
	if (r->emit(r->ctx, &c))
		r->stopped = 1;
	return r->stopped ? -1 : 0;
}

/* The database opens (read-only, its schema as it is), and on what. */
static struct crm_store *check_open(struct run *r, const struct crm_doctor_opts *o)
{
	struct crm_store *db;
	struct crm_err e = { 0 };
	char sql[96], version[64] = "";
	int url = crm_store_is_url(o->target);

	if (crm_store_open(&db, o->target, CRM_STORE_READONLY | CRM_STORE_NOMIGRATE, &e) < 0) {
		say(r, "database.open", CRM_DOC_FAIL, "%s", e.msg);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "SELECT %s", crm_store_sql(db, CRM_SQL_VERSION));
	crm_store_text1(db, sql, NULL, version, sizeof(version), &e);
	if (url && atoi(version) < 12)
		say(r, "database.open", CRM_DOC_WARN, "%s: PostgreSQL %s; crm needs 12 or newer",
		    crm_store_name(db), version);
	else
		say(r, "database.open", CRM_DOC_OK, "%s: %s %s", crm_store_name(db),
		    url ? "PostgreSQL" : "SQLite", version);
	return db;
}

static void check_schema(struct run *r, struct crm_store *db)
{
	struct crm_err e = { 0 };
	int v, want = crm_store_schema_version();

	if (crm_store_version(db, &v, &e) < 0)
		say(r, "database.schema", CRM_DOC_FAIL, "%s", e.msg);
	else if (v < want)
		say(r, "database.schema", CRM_DOC_FAIL, "version %d, this build needs %d: run 'crm init'", v, want);
	else if (v > want)
		say(r, "database.schema", CRM_DOC_FAIL, "version %d is newer than this build knows (%d): upgrade crm",
		    v, want);
	else
		say(r, "database.schema", CRM_DOC_OK, "version %d, current", v);
}

static void check_integrity(struct run *r, struct crm_store *db)
{
	struct crm_err e = { 0 };
	char out[400] = "";

	switch (crm_store_integrity(db, out, sizeof(out), &e)) {
	case 0: say(r, "database.integrity", CRM_DOC_OK, "every page and index sound (quick_check)"); break;
	case 1: say(r, "database.integrity", CRM_DOC_FAIL, "damaged: %s; restore from a copy (crm db copy)", out); break;
	case 2: say(r, "database.integrity", CRM_DOC_SKIP, "PostgreSQL checks its own pages"); break;
	default: say(r, "database.integrity", CRM_DOC_FAIL, "%s", e.msg);
	}
}

/* SQLite's write-ahead log: one that only grows has a reader holding
 * back its checkpoints. */
static void check_wal(struct run *r, const struct crm_doctor_opts *o)
{
	char path[4200];
	struct stat st;

	if (crm_store_is_url(o->target)) {
		say(r, "database.wal", CRM_DOC_SKIP, "PostgreSQL keeps its own log");
		return;
	}
	snprintf(path, sizeof(path), "%s-wal", o->target);
	if (stat(path, &st) < 0)
		say(r, "database.wal", CRM_DOC_OK, "no log: everything is checkpointed");
	else if ((double)st.st_size > o->wal_mib * MIB)
		say(r, "database.wal", CRM_DOC_WARN, "the log is %.0f MiB (over %.0f): a long reader "
		    "(a follow, a stuck export) holds back its checkpoints", (double)st.st_size / MIB, o->wal_mib);
	else
		say(r, "database.wal", CRM_DOC_OK, "the log is %.1f MiB", (double)st.st_size / MIB);
}

static void check_keys(struct run *r, const struct crm_doctor_opts *o)
{
	struct crm_key_status ks;
	struct crm_err e = { 0 };
	struct stat st;

	if (!o->key_file) {
		say(r, "keys", CRM_DOC_SKIP, "no key file configured (CRM_KEY_FILE): fields are stored as given");
		return;
	}
	if (stat(o->key_file, &st) < 0 || access(o->key_file, R_OK) < 0) {
		say(r, "keys", CRM_DOC_FAIL, "%s: cannot be read", o->key_file);
		return;
	}
	if (crm_key_status(o->key_file, o->target, &ks, &e) < 0) {
		say(r, "keys", CRM_DOC_FAIL, "%s", e.msg);
		return;
	}
	/* A key file others can read is refused by crm_key_status. */
	if (ks.stale)
		say(r, "keys", CRM_DOC_WARN, "%lld of %lld data keys are wrapped under an older master key: "
		    "run 'crm key rotate' to finish", ks.stale, ks.keys);
	else
		say(r, "keys", CRM_DOC_OK, "master key version %d (%d retired), %lld data keys, all under it",
		    ks.version, ks.retired, ks.keys);
}

/* Days from an ISO 8601 UTC time to now, or NAN. */
static double days_since(const char *iso)
{
	struct tm tm = { 0 };

	if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return NAN;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return difftime(time(NULL), timegm(&tm)) / 86400.0;
}

/*
 * How the model's predictions hold up on the records closed since it was
 * trained: the mean probability it gave them against how many converted
 * (or were won). A gap past two standard errors and 10 points is drift.
 */
static void check_drift(struct run *r, struct crm_store *db, const char *kind, const char *name,
			const char *model, const char *created)
{
	static const char *const sql[] = {
		"SELECT s.probability, CASE WHEN c.outcome = 'converted' THEN 1 ELSE 0 END FROM scores s "
		"JOIN contacts c ON c.id = s.entity_id WHERE s.model_id = ?1 AND c.outcome IS NOT NULL "
		"AND c.outcome_at > ?2",
		"SELECT s.probability, CASE WHEN d.outcome = 'won' THEN 1 ELSE 0 END FROM scores s "
		"JOIN deals d ON d.id = s.entity_id WHERE s.model_id = ?1 AND d.outcome IS NOT NULL "
		"AND d.closed_at > ?2",
	};
	struct crm_err e = { 0 };
	struct crm_stmt *st;
	double sum = 0, won = 0, n = 0, gap, se;

	if (crm_store_prepare(db, sql[!strcmp(kind, "deal")], 0, &st, &e) < 0) {
		say(r, name, CRM_DOC_FAIL, "%s", e.msg);
		return;
	}
	crm_stmt_bind_text_ref(st, 1, model, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, created, (size_t)-1);
	while (crm_stmt_step(st, &e) > 0) {
		sum += crm_stmt_double(st, 0);
		won += (double)crm_stmt_int64(st, 1);
		n++;
	}
	crm_stmt_free(st);
	if (n < DRIFT_MIN) {
		say(r, name, CRM_DOC_OK, "%.0f scored %ss closed since training: too few to judge (%d)",
		    n, kind, DRIFT_MIN);
		return;
	}
	gap = won / n - sum / n;
	se = sqrt(fmax(won / n * (1 - won / n), 0.01) / n);
	say(r, name, fabs(gap) > fmax(0.1, 2 * se) ? CRM_DOC_WARN : CRM_DOC_OK,
	    "%.0f scored %ss closed since training: predicted %.0f%%, observed %.0f%%%s", n, kind,
	    100 * sum / n, 100 * won / n, fabs(gap) > fmax(0.1, 2 * se) ? ": retrain (crm-score train)" : "");
}

static void check_models(struct run *r, struct crm_store *db, const struct crm_doctor_opts *o)
{
	static const char *const kinds[] = { "contact", "deal" };

	for (size_t k = 0; k < 2; k++) {
		char name[32], drift[40], id[CRM_ID_MAX] = "", created[40] = "", metrics[4096] = "";
		struct crm_err e = { 0 };
		struct crm_stmt *st;
		json_t *m;
		double auc, age;
		int signal, rc;

		snprintf(name, sizeof(name), "model.%s", kinds[k]);
		snprintf(drift, sizeof(drift), "model.%s.drift", kinds[k]);
		if (crm_store_prepare(db, "SELECT id, created_at, metrics FROM models WHERE entity = ?1 AND active = 1",
				      0, &st, &e) < 0) {
			say(r, name, CRM_DOC_FAIL, "%s", e.msg);
			continue;
		}
		crm_stmt_bind_text_ref(st, 1, kinds[k], (size_t)-1);
		if ((rc = crm_stmt_step(st, &e)) > 0) {
			snprintf(id, sizeof(id), "%s", crm_stmt_text(st, 0));
			snprintf(created, sizeof(created), "%s", crm_stmt_text(st, 1));
			snprintf(metrics, sizeof(metrics), "%s", crm_stmt_text(st, 2) ? crm_stmt_text(st, 2) : "");
		}
		crm_stmt_free(st);
		if (rc < 0) {
			say(r, name, CRM_DOC_FAIL, "%s", e.msg);
			continue;
		}
		if (!*id) {
			say(r, name, CRM_DOC_WARN, "no active %s model: run 'crm-score train -t %s'", kinds[k], kinds[k]);
			continue;
		}
		m = json_loads(metrics, 0, NULL);
		auc = json_number_value(json_object_get(m, "auc"));
		signal = json_is_true(json_object_get(m, "signal"));
		json_decref(m);
		age = days_since(created);
		if (!signal)
			say(r, name, CRM_DOC_WARN, "%s has no signal (AUC %.2f): its scores are the base rate", id, auc);
		else if (auc < CRM_WEAK_AUC)
			say(r, name, CRM_DOC_WARN, "%s is weak (AUC %.2f): read the reasons more than the score", id, auc);
		else if (age > o->model_days)
			say(r, name, CRM_DOC_WARN, "%s was trained %.0f days ago (over %.0f): retrain (crm-score train)",
			    id, age, o->model_days);
		else
			say(r, name, CRM_DOC_OK, "%s: AUC %.2f, trained %.0f days ago", id, auc, age);
		check_drift(r, db, kinds[k], drift, id, created);
	}
}

/* Room where the database grows: under 1% or 100 MiB fails, under 5% or
 * 1 GiB warns. */
static void check_disk(struct run *r, const struct crm_doctor_opts *o)
{
	char dir[4200];
	const char *slash;
	struct statvfs v;
	double free_b, total;

	if (crm_store_is_url(o->target)) {
		say(r, "disk", CRM_DOC_SKIP, "the database is on its server");
		return;
	}
	slash = strrchr(o->target, '/');
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - o->target) ? (int)(slash - o->target) : 1, o->target);
	else
		snprintf(dir, sizeof(dir), ".");
	if (statvfs(dir, &v) < 0) {
		say(r, "disk", CRM_DOC_FAIL, "%s: cannot be read", dir);
		return;
	}
	free_b = (double)v.f_bavail * (double)v.f_frsize;
	total = (double)v.f_blocks * (double)v.f_frsize;
	say(r, "disk", free_b < 100 * MIB || free_b < 0.01 * total ? CRM_DOC_FAIL :
		       free_b < 1024 * MIB || free_b < 0.05 * total ? CRM_DOC_WARN : CRM_DOC_OK,
	    "%.1f GiB free of %.1f GiB (%.0f%%) at %s", free_b / 1024 / MIB, total / 1024 / MIB,
	    total > 0 ? 100 * free_b / total : 0.0, dir);
}

static void check_speech(struct run *r, const struct crm_doctor_opts *o)
{
	const char *dir = o->speech_dir ? o->speech_dir : CRM_ASR_MODEL_DIR;
	const char *part[] = { "en-us/mdef", "cmudict-en-us.dict", "en-us.lm.bin" };
	char path[4200];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, part[i]);
		if (access(path, R_OK) < 0) {
			say(r, "speech", CRM_DOC_WARN, "%s cannot be read: audio is not transcribed (transcripts "
			    "are); install pocketsphinx-en-us", path);
			return;
		}
	}
	say(r, "speech", CRM_DOC_OK, "the US English model in %s", dir);
}

/* The language-model server answers its model list. */
static void check_llm(struct run *r, const struct crm_doctor_opts *o)
{
	char url[2048], host[256];
	struct crm_buf body;
	struct curl_slist *hdr = NULL;
	long status = 0;
	int attempts;
	CURLcode cc;
	CURL *c;

	if (!o->llm_url || !*o->llm_url) {
		say(r, "llm", CRM_DOC_SKIP, "no language-model server configured (CRM_LLM_URL)");
		return;
	}
	crm_http_host(o->llm_url, host, sizeof(host));
	crm_llm_endpoint(o->llm_url, "models", url, sizeof(url));
	if (!(c = curl_easy_init())) {
		say(r, "llm", CRM_DOC_FAIL, "curl did not initialise");
		return;
	}
	crm_buf_init(&body, 0);
	if (o->llm_key && *o->llm_key) {
		char auth[1100];

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->llm_key);
		hdr = curl_slist_append(hdr, auth);
		explicit_bzero(auth, sizeof(auth));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = crm_http_perform(c, &body, 0, &status, &attempts);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK)
		say(r, "llm", CRM_DOC_FAIL, "%s: %s", host, curl_easy_strerror(cc));
	else if (status == 401 || status == 403)
		say(r, "llm", CRM_DOC_WARN, "%s answers %ld: it wants a key (CRM_LLM_API_KEY)", host, status);
	else if (status >= 500)
		say(r, "llm", CRM_DOC_FAIL, "%s answers %ld", host, status);
	else
		say(r, "llm", status == 200 ? CRM_DOC_OK : CRM_DOC_WARN, "%s answers %ld", host, status);
	crm_buf_release(&body);
}

int crm_doctor_run(const struct crm_doctor_opts *o,
		   int (*emit)(void *ctx, const struct crm_doctor_check *c), void *ctx)
{
	static const char *const needs_db[] = { "database.schema", "database.integrity", "model.contact",
						 "model.deal" };
	struct run r = { emit, ctx, 0, 0 };
	struct crm_store *db = check_open(&r, o);

	if (db) {
		check_schema(&r, db);
		check_integrity(&r, db);
	} else {
		for (size_t i = 0; i < 2; i++)
			say(&r, needs_db[i], CRM_DOC_SKIP, "the database did not open");
	}
	if (db)
		check_wal(&r, o);
	else
		say(&r, "database.wal", CRM_DOC_SKIP, "the database did not open");
	check_keys(&r, o);
	if (db)
		check_models(&r, db, o);
	else
		for (size_t i = 2; i < 4; i++)
			say(&r, needs_db[i], CRM_DOC_SKIP, "the database did not open");
	crm_store_close(db);
	check_disk(&r, o);
	check_speech(&r, o);
	check_llm(&r, o);
	return r.stopped ? -1 : r.failed;
}
