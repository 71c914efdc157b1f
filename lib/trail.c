/*
 * trail.c - the audit trail (a hash chain of who did what and when) and
 * the suppression list (keyed hashes of erased people's identifiers):
 * what accountability records and what an erasure leaves behind, kept
 * below every module that writes records, so import, merge and the API
 * append to it without reaching up into privacy.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypt.h"
#include "digest.h"
#include "trail.h"
#include "store/store.h"

void crm_actor_cli(char *out, size_t n)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw && pw->pw_name)
		snprintf(out, n, "cli:%s", pw->pw_name);
	else
		snprintf(out, n, "cli:uid %ld", (long)geteuid());
}

/* ---- the audit trail -------------------------------------------------- */

static const char genesis[65] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* hash = SHA-256(prev US at US actor US action US entity US id US detail) */
static int chain_hash(const char *prev, const char *at, const char *actor,
		      const char *action, const char *entity, const char *id,
		      const char *detail, char out[65])
{
	struct crm_buf b;
	const char *parts[] = { prev, at, actor, action, entity, id, detail };

	crm_buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (crm_buf_adds(&b, parts[i] ? parts[i] : "") < 0 ||
		    crm_buf_addc(&b, '\x1f') < 0) {
			crm_buf_release(&b);
			return -1;
		}
	crm_sha256_hex(b.data, b.len, out);
	crm_buf_release(&b);
	return 0;
}

/* Insert the entries with their chain, in order. */
static int insert_rows(struct crm_store *db, const struct crm_trail_entry *v, size_t n,
		       const char *at, char (*chain)[65], struct crm_err *e)
{
	const char **row = malloc(n * 8 * sizeof(*row) + 1);
	struct crm_buf sql;
	int rc = -1;

	crm_buf_init(&sql, 0);
	crm_buf_addf(&sql, "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev, hash) "
		     "SELECT c1, c2, c3, c4, c5, c6%s, c7, c8 FROM new_rows ORDER BY o",
		     crm_store_sql(db, CRM_SQL_AS_JSON));
	if (!row || !sql.data) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char **r = row + 8 * i;

		r[0] = at;
		r[1] = v[i].actor;
		r[2] = v[i].action;
		r[3] = v[i].entity;
		r[4] = v[i].entity_id;
		r[5] = v[i].detail;
		r[6] = chain[i];
		r[7] = chain[i + 1];
	}
	rc = crm_store_insert_rows(db, sql.data, 8, row, n, e);
out:
	crm_buf_release(&sql);
	free(row);
	return rc;
}

int crm_trail_append_all(struct crm_store *db, const struct crm_trail_entry *v, size_t n,
			 struct crm_err *e)
{
	int own = !crm_store_in_transaction(db);
	char at[32], (*chain)[65];

	if (!n)
		return 0;
	if (!(chain = malloc((n + 1) * sizeof(*chain))))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	/* The chain's last link is read and extended under the write lock,
	 * so two writers never extend the same link. */
	if (own && crm_store_begin(db, e) < 0) {
		free(chain);
		return -1;
	}
	memcpy(chain[0], genesis, sizeof(chain[0]));
	if (crm_store_text1(db, "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1",
			    NULL, chain[0], sizeof(chain[0]), e) < 0)
		goto fail;
	crm_timestamp(at, sizeof(at));
	for (size_t i = 0; i < n; i++)
		if (chain_hash(chain[i], at, v[i].actor, v[i].action, v[i].entity, v[i].entity_id,
			       v[i].detail, chain[i + 1]) < 0) {
			crm_err_set(e, CRM_ESOFTWARE, "out of memory");
			goto fail;
		}
	if (insert_rows(db, v, n, at, chain, e) < 0)
		goto fail;
	free(chain);
	if (own && crm_store_commit(db, e) < 0)
		return -1;
	return 0;
fail:
	free(chain);
	if (own)
		crm_store_rollback(db);
	return -1;
}

int crm_trail_append(struct crm_store *db, const char *actor, const char *action,
		     const char *entity, const char *entity_id,
		     const char *detail, struct crm_err *e)
{
	const struct crm_trail_entry one = { actor, action, entity, entity_id, detail };

	return crm_trail_append_all(db, &one, 1, e);
}

int crm_trail_verify(struct crm_store *db, struct crm_trail_verify *v, struct crm_err *e)
{
	struct crm_stmt *st;
	char prev[65], hash[65];
	long long last = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	memcpy(prev, genesis, sizeof(prev));
	if (crm_store_prepare(db, "SELECT seq, at, actor, action, entity, entity_id, detail, prev, hash "
			      "FROM audit_log ORDER BY seq", CRM_STMT_STREAM, &st, e) < 0)
		return -1;
	while ((rc = crm_stmt_step(st, e)) == 1) {
		long long seq = crm_stmt_int64(st, 0);
		const char *col[8];

		for (int i = 0; i < 8; i++)
			col[i] = crm_stmt_text(st, 1 + i);
		v->entries++;
		if (!v->broken_at) {
			chain_hash(prev, col[0], col[1], col[2], col[3], col[4], col[5], hash);
			/* A deleted entry leaves a gap in seq, an edited one a
			 * hash that does not follow. */
			if ((last && seq != last + 1) || !col[6] || strcmp(col[6], prev) ||
			    !col[7] || strcmp(col[7], hash))
				v->broken_at = seq;
		}
		last = seq;
		snprintf(prev, sizeof(prev), "%s", col[7] ? col[7] : "");
	}
	crm_stmt_free(st);
	if (rc < 0)
		return -1;
	memcpy(v->head, prev, sizeof(v->head));
	return 0;
}

/* ---- suppression ------------------------------------------------------ */

/*
 * Keyed hash of an identifier: under the key store's index key with a key
 * configured, else under a random key kept in meta (which protects less:
 * it sits beside the hashes).
 */
int crm_suppress_hash(struct crm_store *db, const char *field, const char *value,
			 char out[CRM_BIDX_MAX], struct crm_err *e)
{
	struct crm_crypt *cc = crm_store_crypt(db);
	char *v = malloc(strlen(value) + 1), kind[32];
	int rc = 0;

	if (!v)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	crm_crypt_ident(field, value, v);
	snprintf(kind, sizeof(kind), "suppress:%s", field);
	if (cc) {
		crm_crypt_bidx(cc, kind, v, strlen(v), out);
	} else {
		char salt[80] = "";
		unsigned char key[32], d[16];
		size_t klen = 0;
		crypto_generichash_state h;

		if (crm_store_text1(db, "SELECT value FROM meta WHERE key = 'privacy.salt'",
				    NULL, salt, sizeof(salt), e) < 0) {
			rc = -1;
			goto out;
		}
		if (!*salt) {
			if (crm_store_readonly(db)) {
				/* No salt yet: nothing was ever suppressed. */
				memcpy(out, "none", 5);
				goto out;
			}
			randombytes_buf(key, sizeof(key));
			sodium_bin2hex(salt, sizeof(salt), key, sizeof(key));
			if (crm_store_set_meta(db, "privacy.salt", salt, e) < 0) {
				rc = -1;
				goto out;
			}
		}
		if (sodium_hex2bin(key, sizeof(key), salt, strlen(salt), NULL, &klen, NULL) ||
		    klen != sizeof(key)) {
			rc = crm_err_set(e, CRM_EDATA, "meta privacy.salt is damaged");
			goto out;
		}
		crypto_generichash_init(&h, key, sizeof(key), sizeof(d));
		crypto_generichash_update(&h, (const unsigned char *)kind, strlen(kind) + 1);
		crypto_generichash_update(&h, (const unsigned char *)v, strlen(v));
		crypto_generichash_final(&h, d, sizeof(d));
		memcpy(out, "sh1:", 4);
		sodium_bin2base64(out + 4, CRM_BIDX_MAX - 4, d, sizeof(d),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
out:
	free(v);
	return rc;
}

int crm_suppressed(struct crm_store *db, const char *field, const char *value)
{
	char h[CRM_BIDX_MAX];
	struct crm_err e;
	struct crm_stmt *st;
	int found;

	if (!value || !*value || crm_suppress_hash(db, field, value, h, &e) < 0)
		return 0;
	/* Kept prepared: an import asks this for every person it reads. */
	if (!(st = crm_store_stmt(db, "SELECT 1 FROM suppressions WHERE hash = ?1", &e)))
		return 0;
	crm_stmt_bind_text_ref(st, 1, h, (size_t)-1);
	found = crm_stmt_step(st, &e) > 0;
	crm_store_stmt_done(st);
	return found;
}

