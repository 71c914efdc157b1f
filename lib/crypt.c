/*
 * crypt.c - field encryption at rest (see crypt.h), on libsodium.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypt.h"
#include "store/store.h"

#define MKEY 32			/* master key */
#define DKEY 64			/* data key: 32 cipher + 32 nonce/MAC */
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES	/* 24 */
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES		/* 16 */
#define WRAPPED (NONCE + DKEY + TAG)
#define MAXVER 64
#define POOL 4096		/* most keys made in one go */
#define INDEX_KEY_ID 1		/* the blind-index key's row in the store */

struct slot {
	uint64_t id;		/* 0 = empty */
	unsigned char key[DKEY];
};

struct crm_crypt {
	char *db_path;
	char *key_file;		/* read again when the store names a newer key */
	struct crm_store *store;	/* the key store, its own connection */
	pthread_mutex_t mu;	/* store, cache and pool */
	int version;		/* current master key */
	unsigned char master[MAXVER + 1][MKEY];
	unsigned char have[MAXVER + 1];
	unsigned char index_key[crypto_generichash_KEYBYTES];
	struct slot *cache;
	size_t ncache, acache;	/* used, allocated (power of two) */
	uint64_t pool[POOL];
	size_t npool, batch;	/* keys on hand; size of the next batch */
	uint64_t data_high;	/* the highest data key the data names */
	int refs;
	struct crm_crypt *next;
};

/* The highest id the key store ever gave, erased ones too, into out. */
static int keys_high(struct crm_store *s, char *out, size_t n, struct crm_err *e)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT %s(coalesce(%s, 0), coalesce((SELECT max(id) FROM keys), 0))",
		 crm_store_sql(s, CRM_SQL_GREATEST), crm_store_sql(s, CRM_SQL_KEYS_HIGH));
	return crm_store_text1(s, sql, NULL, out, n, e);
}

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *configured;
static int configured_set;
static struct crm_crypt *crypts;	/* one per database and process */

void crm_crypt_configure(const char *key_file)
{
	configured = key_file && *key_file ? key_file : NULL;
	configured_set = 1;
}

const char *crm_crypt_key_file(void)
{
	const char *p;

	if (configured_set && configured)
		return configured;
	p = getenv("CRM_KEY_FILE");
	return p && *p ? p : NULL;
}

int crm_crypt_store_path(const char *db_path, char *out, size_t n)
{
	const char *env = getenv("CRM_KEY_STORE");

	const char *p = crm_store_target(db_path), *auth, *name;
	size_t len;

	if (env && *env)
		return (size_t)snprintf(out, n, "%s", env) >= n ? -1 : 0;
	if (!crm_store_is_url(p))
		return (size_t)snprintf(out, n, "%s.keys", p) >= n ? -1 : 0;
	/* postgresql://who@host:port/NAME?options: database NAME_keys on
	 * the same server. */
	auth = strstr(p, "://") + 3;
	if (!(name = strchr(auth, '/')) || !(len = strcspn(++name, "?")))
		return -1;
	return (size_t)snprintf(out, n, "%.*s_keys%s", (int)(name - p + (ptrdiff_t)len), p,
				name + len) >= n ? -1 : 0;
}

/*
 * Memory that holds keys: kept out of swap where the system lets us
 * (mlock), wiped when freed. Plain heap memory otherwise, so the leak
 * checker sees the pointers in it.
 */
static void *secret_alloc(size_t n)
{
	void *p = calloc(1, n);

	if (p)
		sodium_mlock(p, n);	/* best effort: RLIMIT_MEMLOCK */
	return p;
}

static void secret_free(void *p, size_t n)
{
	if (!p)
		return;
	sodium_munlock(p, n);	/* zeroes it too */
	free(p);
}

/* ---- the key file ----------------------------------------------------- */

/* The file beside the key file that keeps retired master keys until
 * 'crm key retire'. */
static int retired_path(const char *key_file, char *out, size_t n)
{
	return (size_t)snprintf(out, n, "%s.retired", key_file) >= n ? -1 : 0;
}

/*
 * Read every "N base64" line of path into c->master; c->version = max N.
 * A retired file (retired set) may be missing, adds only versions the key
 * file does not have, and never sets the current version.
 */
static int read_key_file(struct crm_crypt *c, const char *path, int retired,
			 struct crm_err *e)
{
	struct stat st;
	char line[256];
	FILE *fp;
	int lineno = 0;

	if (!(fp = fopen(path, "r"))) {
		if (retired && errno == ENOENT)
			return 0;
		return crm_err_set(e, errno == ENOENT ? CRM_ENOINPUT : CRM_EIO,
				   "%s: %s (create one with 'crm key init')",
				   path, strerror(errno));
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077)) {
		fclose(fp);
		return crm_err_set(e, CRM_EDATA,
				   "%s: readable by others (mode %03o): chmod 600 it",
				   path, (unsigned)(st.st_mode & 0777));
	}
	if (!retired)
		c->version = 0;
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *b64, *end;
		long v;
		size_t klen;

		lineno++;
		p += strspn(p, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		v = strtol(p, &end, 10);
		b64 = end + strspn(end, " \t");
		b64[strcspn(b64, " \t\r\n")] = 0;
		if (end == p || v < 1 || v > MAXVER)
			klen = 0;
		else if (retired && c->have[v])
			continue;
		else if (sodium_base642bin(c->master[v], MKEY, b64, strlen(b64), NULL,
					   &klen, NULL, sodium_base64_VARIANT_ORIGINAL))
			klen = 0;
		if (klen != MKEY) {
			fclose(fp);
			sodium_memzero(line, sizeof(line));
			return crm_err_set(e, CRM_EDATA,
					   "%s:%d: not a master key line (want: VERSION BASE64-OF-32-BYTES)",
					   path, lineno);
		}
		c->have[v] = 1;
		if (!retired && v > c->version)
			c->version = (int)v;
	}
	sodium_memzero(line, sizeof(line));
	fclose(fp);
	if (!retired && !c->version)
		return crm_err_set(e, CRM_EDATA, "%s: no master key in the file", path);
	return 0;
}

/* Write the master keys of c from version lo to hi to path, atomically. */
static int write_key_file(const struct crm_crypt *c, int lo, int hi, const char *path,
			  int excl, struct crm_err *e)
{
	char tmp[4200], b64[sodium_base64_ENCODED_LEN(MKEY, sodium_base64_VARIANT_ORIGINAL)];
	FILE *fp;
	int fd, ok = 1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return crm_err_set(e, CRM_EUSAGE, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !(fp = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return crm_err_set(e, CRM_EIO, "%s: %s", tmp, strerror(errno));
	}
	if (hi < c->version)
		fprintf(fp, "# crm retired master keys: kept until 'crm key retire' finds no data\n"
			    "# key wrapped under them. Keep this file as secret as the key file.\n");
	else
		fprintf(fp, "# crm master keys: keep this file secret and apart from the database.\n"
			    "# The highest version is current. See crm-key(1).\n");
	for (int v = lo; v <= hi; v++) {
		if (!c->have[v])
			continue;
		sodium_bin2base64(b64, sizeof(b64), c->master[v], MKEY,
				  sodium_base64_VARIANT_ORIGINAL);
		fprintf(fp, "%d %s\n", v, b64);
	}
	sodium_memzero(b64, sizeof(b64));
	if (fflush(fp) || fsync(fileno(fp)))
		ok = 0;
	if (fclose(fp))
		ok = 0;
	if (ok && excl && link(tmp, path) < 0) {
		crm_err_set(e, errno == EEXIST ? CRM_EIO : CRM_EIO,
			    "%s: %s", path, errno == EEXIST ?
			    "exists already (rotate with 'crm key rotate')" : strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (ok && (excl ? unlink(tmp) : rename(tmp, path)) < 0)
		ok = 0;
	if (!ok) {
		crm_err_set(e, CRM_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static struct crm_crypt *crypt_new(struct crm_err *e);
static void crypt_free(struct crm_crypt *c);

int crm_key_init(const char *key_file, struct crm_err *e)
{
	struct crm_crypt *c = crypt_new(e);
	int rc;

	if (!c)
		return -1;
	c->version = 1;
	c->have[1] = 1;
	randombytes_buf(c->master[1], MKEY);
	rc = write_key_file(c, 1, 1, key_file, 1, e);
	crypt_free(c);
	return rc;
}

/* ---- the key store ---------------------------------------------------- */

/* An error of the key store: e as the store filled it, what it was
 * doing in front. */
static int store_err(struct crm_err *e, const char *what)
{
	char m[CRM_ERR_MAX];

	snprintf(m, sizeof(m), "%s", e->msg);
	return crm_err_set(e, e->code, "key store: %s: %s", what, m);
}

/* Tag that proves which master key a version is: BLAKE2b(key, label). */
static void master_tag(const unsigned char *mk, unsigned char tag[16])
{
	static const char label[] = "crm master key check";

	crypto_generichash(tag, 16, (const unsigned char *)label, sizeof(label) - 1,
			   mk, MKEY);
}

static void wrap_ad(unsigned char ad[16], uint64_t id, int version)
{
	memcpy(ad, "crmwrap1", 8);
	for (int i = 0; i < 8; i++)
		ad[8 + i] = (unsigned char)(id >> (56 - 8 * i));
	ad[7] = (unsigned char)version;
}

static void wrap(const struct crm_crypt *c, int v, uint64_t id,
		 const unsigned char key[DKEY], unsigned char out[WRAPPED])
{
	unsigned char ad[16];

	wrap_ad(ad, id, v);
	randombytes_buf(out, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE, NULL, key, DKEY,
						   ad, sizeof(ad), NULL, out,
						   c->master[v]);
}

static int unwrap(const struct crm_crypt *c, int v, uint64_t id,
		  const unsigned char *in, size_t n, unsigned char key[DKEY])
{
	unsigned char ad[16];

	if (v < 1 || v > MAXVER || !c->have[v] || n != WRAPPED)
		return -1;
	wrap_ad(ad, id, v);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL,
							  in + NONCE, n - NONCE, ad, sizeof(ad), in, c->master[v]);
}

/*
 * The key store of c->db_path (crm_crypt_store_path): an SQLite file
 * (made, mode 0600, with create) or a PostgreSQL database, which the
 * operator makes (and gives its own role: crm(7), Deployment).
 */
static int store_open(struct crm_crypt *c, int create, struct crm_err *e)
{
	char path[4200];
	int pg;

	if (crm_crypt_store_path(c->db_path, path, sizeof(path)) < 0)
		return crm_err_set(e, CRM_EUSAGE,
				   "%s: no key store for it: name one with CRM_KEY_STORE", c->db_path);
	pg = crm_store_is_url(path);
	if (create && !pg) {
		int fd = open(path, O_WRONLY | O_CREAT, 0600);

		if (fd < 0)
			return crm_err_set(e, CRM_EIO, "%s: %s", path, strerror(errno));
		close(fd);
	}
	if (crm_store_connect(&c->store, path, CRM_STORE_OTHER | CRM_STORE_DURABLE, e) < 0) {
		if (pg && e->code == CRM_ENOINPUT) {
			char m[CRM_ERR_MAX];

			snprintf(m, sizeof(m), "%s", e->msg);
			crm_err_set(e, CRM_ENOINPUT,
				    "%s (the key store: a database of its own, made by the operator "
				    "and reached with a role of its own, or named with CRM_KEY_STORE; "
				    "crm(7), Deployment)", m);
		}
		return -1;
	}
	/* A new key is on disk before a cell uses it (SQLite's default for
	 * crm's own file is NORMAL). The tables are made under the
	 * store's write lock: two processes may start at once. */
	if (crm_store_begin(c->store, e) < 0 ||
	    crm_store_exec(c->store, crm_store_sql(c->store, CRM_SQL_KEYS_SCHEMA), e) < 0 ||
	    crm_store_commit(c->store, e) < 0) {
		crm_store_rollback(c->store);
		return store_err(e, "schema");
	}
	return 0;
}

/* The store must know every master key version it uses, and ours must
 * match: a wrong key file is an error here, not garbage later. With
 * insert, a current version the store does not know yet is noted. */
static int check_masters(struct crm_crypt *c, int insert, struct crm_err *e)
{
	struct crm_stmt *st;
	unsigned char tag[16];
	int rc, found_current = 0;

	if (crm_store_prepare(c->store, "SELECT version, tag FROM masters", 0, &st, e) < 0)
		return store_err(e, "read");
	while ((rc = crm_stmt_step(st, e)) == 1) {
		int v = (int)crm_stmt_int64(st, 0);

		if (v < 1 || v > MAXVER || !c->have[v])
			continue;
		master_tag(c->master[v], tag);
		if (crm_stmt_bytes(st, 1) != 16 || sodium_memcmp(tag, crm_stmt_blob(st, 1), 16)) {
			crm_stmt_free(st);
			return crm_err_set(e, CRM_EDATA,
					   "%s: master key %d of the key file is not the one this key store was made with",
					   crm_store_name(c->store), v);
		}
		if (v == c->version)
			found_current = 1;
	}
	crm_stmt_free(st);
	if (rc < 0)
		return store_err(e, "read");
	if (!found_current && insert) {
		char now[32];

		master_tag(c->master[c->version], tag);
		crm_timestamp(now, sizeof(now));
		if (crm_store_prepare(c->store, "INSERT INTO masters VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
				      0, &st, e) < 0)
			return store_err(e, "write");
		crm_stmt_bind_int64(st, 1, c->version);
		crm_stmt_bind_blob(st, 2, tag, 16);
		crm_stmt_bind_text(st, 3, now, (size_t)-1);
		rc = crm_stmt_step(st, e);
		crm_stmt_free(st);
		if (rc < 0)
			return store_err(e, "write");
	}
	return 0;
}

/* The key file and its retired keys into c. */
static int read_keys(struct crm_crypt *c, const char *key_file, struct crm_err *e)
{
	char rp[4200];

	memset(c->have, 0, sizeof(c->have));
	if (read_key_file(c, key_file, 0, e) < 0)
		return -1;
	if (retired_path(key_file, rp, sizeof(rp)) < 0)
		return crm_err_set(e, CRM_EUSAGE, "%s: path too long", key_file);
	return read_key_file(c, rp, 1, e);
}

/*
 * Read the key file again (a rotation has happened since it was loaded):
 * its keys replace ours once the store has checked them. A key file that
 * does not open is an error and leaves the keys we had. Called with c->mu
 * held.
 */
static int keys_reload(struct crm_crypt *c, struct crm_err *e)
{
	struct crm_crypt *t = crypt_new(e);
	int rc = -1;

	if (!t)
		return -1;
	t->db_path = c->db_path;
	t->store = c->store;
	if (read_keys(t, c->key_file, e) == 0 && check_masters(t, 0, e) == 0) {
		memcpy(c->master, t->master, sizeof(c->master));
		memcpy(c->have, t->have, sizeof(c->have));
		c->version = t->version;
		rc = 0;
	}
	t->db_path = NULL;
	t->store = NULL;
	crypt_free(t);
	return rc;
}

/* The newest master key version the key store knows, 0 on error. */
static int store_version(struct crm_crypt *c)
{
	char v[16] = "";
	struct crm_err e;

	if (crm_store_text1(c->store, "SELECT max(version) FROM masters", NULL, v, sizeof(v), &e) < 0)
		return 0;
	return atoi(v);
}

/*
 * Before a data key is wrapped: the key store's newest master key must be
 * ours, else the key file is read again; a process that still cannot
 * have it refuses to write rather than wrap keys under a retired master
 * key. Called with c->mu held, inside the store's write transaction.
 */
static int keys_current(struct crm_crypt *c, struct crm_err *e)
{
	int sv = store_version(c);

	if (sv <= c->version)
		return 0;
	if (keys_reload(c, e) < 0)
		return -1;
	if (sv > c->version)
		return crm_err_set(e, CRM_EDATA,
				   "%s: master key %d is in use but the key file has only %d: "
				   "no new data keys until it is the current key file",
				   c->key_file, sv, c->version);
	return 0;
}

/* Insert a new wrapped key under id with st (prepared by store_put, or
 * NULL); 1 if the id is taken. */
static int store_put_st(struct crm_crypt *c, struct crm_stmt *st, uint64_t id,
			const unsigned char key[DKEY], struct crm_err *e)
{
	unsigned char w[WRAPPED];
	char now[32];
	int rc;

	wrap(c, c->version, id, key, w);
	crm_timestamp(now, sizeof(now));
	crm_stmt_bind_int64(st, 1, (long long)id);
	crm_stmt_bind_int64(st, 2, c->version);
	crm_stmt_bind_blob(st, 3, w, sizeof(w));
	crm_stmt_bind_text(st, 4, now, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_stmt_reset(st);
	if (rc < 0)
		return store_err(e, "write");
	return crm_stmt_changes(st) ? 0 : 1;
}

static struct crm_stmt *store_put_prepare(struct crm_crypt *c, struct crm_err *e)
{
	struct crm_stmt *st = NULL;

	if (crm_store_prepare(c->store, "INSERT INTO keys VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
			      0, &st, e) < 0) {
		store_err(e, "write");
		return NULL;
	}
	return st;
}

static int store_put(struct crm_crypt *c, uint64_t id, const unsigned char key[DKEY],
		     struct crm_err *e)
{
	struct crm_stmt *st = store_put_prepare(c, e);
	int rc;

	if (!st)
		return -1;
	rc = store_put_st(c, st, id, key, e);
	crm_stmt_free(st);
	return rc;
}

/* Unwrap key id from the store: 0, 1 if it is not there, -1 on error. */
static int store_get(struct crm_crypt *c, uint64_t id, unsigned char key[DKEY],
		     struct crm_err *e)
{
	struct crm_stmt *st = NULL;
	int rc;

	if (crm_store_prepare(c->store, "SELECT version, wrapped FROM keys WHERE id = ?1", 0, &st, e) < 0)
		return store_err(e, "read");
	crm_stmt_bind_int64(st, 1, (long long)id);
	rc = crm_stmt_step(st, e);
	if (rc == 1) {
		int v = (int)crm_stmt_int64(st, 0);

		/* Wrapped under a master key we do not have: a rotation
		 * since we loaded ours. */
		if (v >= 1 && v <= MAXVER && !c->have[v])
			keys_reload(c, e);
		rc = unwrap(c, v, id, crm_stmt_blob(st, 1), crm_stmt_bytes(st, 1), key);
		crm_stmt_free(st);
		if (rc && (v < 1 || v > MAXVER || !c->have[v]))
			return crm_err_set(e, CRM_EDATA,
					   "data key %llu is wrapped under master key %d, which %s does not hold "
					   "(a key file from before a rotation?)",
					   (unsigned long long)id, v, c->key_file);
		if (rc)
			return crm_err_set(e, CRM_EDATA,
					   "data key %llu does not unwrap: tampered key store or missing master key",
					   (unsigned long long)id);
		return 0;
	}
	crm_stmt_free(st);
	if (rc < 0)
		return store_err(e, "read");
	return 1;
}

/* ---- the data key cache ----------------------------------------------- */

static struct slot *cache_find(struct crm_crypt *c, uint64_t id, int add)
{
	size_t mask, i;

	if (add && (c->ncache + 1) * 2 > c->acache) {
		size_t na = c->acache ? c->acache * 2 : 1024;
		struct slot *ns = secret_alloc(na * sizeof(*ns));

		if (!ns)
			return NULL;
		for (size_t k = 0; k < c->acache; k++) {
			if (!c->cache[k].id)
				continue;
			for (i = c->cache[k].id & (na - 1); ns[i].id; i = (i + 1) & (na - 1))
				;
			ns[i] = c->cache[k];
		}
		secret_free(c->cache, c->acache * sizeof(*c->cache));
		c->cache = ns;
		c->acache = na;
	}
	if (!c->acache)
		return NULL;
	mask = c->acache - 1;
	for (i = id & mask; c->cache[i].id; i = (i + 1) & mask)
		if (c->cache[i].id == id)
			return &c->cache[i];
	if (!add)
		return NULL;
	c->cache[i].id = id;
	c->ncache++;
	return &c->cache[i];
}

/* Key id into key; fails when erased. Called with c->mu held. */
static int data_key(struct crm_crypt *c, uint64_t id, unsigned char key[DKEY],
		    struct crm_err *e)
{
	struct slot *s = cache_find(c, id, 0);
	int rc;

	if (s) {
		memcpy(key, s->key, DKEY);
		return 0;
	}
	rc = store_get(c, id, key, e);
	if (rc < 0)
		return -1;
	if (rc) {
		/*
		 * Keys are numbered as they are made, and only erasure takes
		 * one out: a key the store once gave is erased (its cells
		 * read as null, gone for good); one past the highest it ever
		 * gave was never in this store - a key store older than the
		 * data, or a copy that did not finish - and is an error.
		 */
		char last[32] = "0";
		/* the highest id ever given, erased ones too */
		if (keys_high(c->store, last, sizeof(last), e) < 0)
			return store_err(e, "read");
		if (id > strtoull(last, NULL, 10))
			return crm_err_set(e, CRM_EDATA, "data key %llu is missing from the key store, which holds "
					   "keys up to %s: a key store older than the data, or a copy not finished",
					   (unsigned long long)id, last);
		return crm_err_set(e, CRM_ENOINPUT, "data key %llu is not in the key store (erased)",
				   (unsigned long long)id);
	}
	if ((s = cache_find(c, id, 1)))
		memcpy(s->key, key, DKEY);
	return 0;
}

void crm_crypt_mark(struct crm_store *db)
{
	char on[8] = "";
	struct crm_err e;

	if (crm_store_text1(db, "SELECT value FROM meta WHERE key = 'crypt.enabled'", NULL, on,
			    sizeof(on), &e) >= 0 && strcmp(on, "1") != 0)
		crm_store_set_meta(db, "crypt.enabled", "1", &e);
}

int crm_crypt_new_key(struct crm_crypt *c, uint64_t *id, struct crm_err *e)
{
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->npool) {
		/* A batch of keys in one transaction of the store, committed
		 * (synchronously) before any cell uses them: a crash leaves
		 * unused keys, never a cell without its key. Batches double,
		 * so a small job leaves few unused keys and a big one commits
		 * rarely. */
		struct crm_stmt *ins = NULL;
		size_t want = c->batch ? c->batch : 16;
		char hi[24];
		uint64_t next = INDEX_KEY_ID + 1;

		c->batch = want * 2 > POOL ? POOL : want * 2;
		if (crm_store_begin(c->store, e) < 0) {
			rc = store_err(e, "begin");
			goto out;
		}
		if (keys_current(c, e) < 0 || !(ins = store_put_prepare(c, e)))
			goto fail;
		/* Ids in order, never reused (the store keeps the high
		 * mark): the table grows at its end, and a shredded key's id
		 * never names another key. The transaction holds the lock. */
		if (keys_high(c->store, hi, sizeof(hi), e) < 0)
			goto fail;
		if (strtoull(hi, NULL, 10) >= next)
			next = strtoull(hi, NULL, 10) + 1;
		/* A key store that never gave the keys the data names is
		 * older than the data (restored from an older backup, or a
		 * copy that did not finish): a new key would take a number
		 * that sealed cells already point at. */
		if (c->data_high >= next) {
			crm_err_set(e, CRM_EDATA, "the key store is older than the data: it gave keys up to %llu, "
				    "the data names keys up to %llu; new keys would take their numbers. Restore "
				    "the key store from a backup as new as the data's, or finish the copy "
				    "(crm db copy)", (unsigned long long)(next - 1), (unsigned long long)c->data_high);
			goto fail;
		}
		while (c->npool < want) {
			unsigned char key[DKEY];
			uint64_t nid = next++;
			struct slot *s;
			int r;

			randombytes_buf(key, sizeof(key));
			r = store_put_st(c, ins, nid, key, e);
			if (r < 0)
				goto fail;
			if (r)
				continue;
			if ((s = cache_find(c, nid, 1)))
				memcpy(s->key, key, DKEY);
			sodium_memzero(key, sizeof(key));
			c->pool[c->npool++] = nid;
		}
		crm_stmt_free(ins);
		ins = NULL;
		{	/* the high mark, that a shredded key's id keeps */
			const char *p = hi;

			snprintf(hi, sizeof(hi), "%llu", (unsigned long long)(next - 1));
			if (crm_store_run(c->store, crm_store_sql(c->store, CRM_SQL_KEYS_NOTE), &p, 1, e) < 0)
				goto fail;
		}
		if (crm_store_commit(c->store, e) < 0) {
			rc = store_err(e, "commit");
			c->npool = 0;
			goto out;
		}
		goto take;
fail:
		crm_stmt_free(ins);
		crm_store_rollback(c->store);
		c->npool = 0;
		rc = -1;
		goto out;
	}
take:
	*id = c->pool[--c->npool];
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* ---- cells ------------------------------------------------------------ */

#define AD_MAX 512

/* Associated data into ad[AD_MAX]: label, table, column, row id, key id.
 * Its length, or 0 when the names are too long. */
static size_t cell_ad(unsigned char *ad, const char *table, const char *column,
		      const char *id, uint64_t dk)
{
	const char *part[] = { "crmcell1", table, column, id };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		size_t l = strlen(part[i]) + 1;

		if (n + l + 8 > AD_MAX)
			return 0;
		memcpy(ad + n, part[i], l);
		n += l;
	}
	for (int i = 0; i < 8; i++)
		ad[n++] = (unsigned char)(dk >> (56 - 8 * i));
	return n;
}

int crm_crypt_seal(struct crm_crypt *c, uint64_t dk, const char *table,
		   const char *column, const char *id, const void *p,
		   size_t n, struct crm_buf *out, struct crm_err *e)
{
	unsigned char key[DKEY], *raw, small[1024], ad[AD_MAX];
	size_t adlen;
	crypto_generichash_state h;
	size_t rawlen = 8 + NONCE + n + TAG, b64len;
	int rc = -1;

	pthread_mutex_lock(&c->mu);
	rc = data_key(c, dk, key, e);
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		return -1;
	rc = -1;
	raw = rawlen <= sizeof(small) ? small : malloc(rawlen);
	if (!raw) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	if (!(adlen = cell_ad(ad, table, column, id, dk))) {
		crm_err_set(e, CRM_EDATA, "%s.%s of %s: names too long to seal", table, column, id);
		goto out;
	}
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(dk >> (56 - 8 * i));
	/* Synthetic nonce: BLAKE2b(nonce key; associated data, plaintext). */
	crypto_generichash_init(&h, key + 32, 32, NONCE);
	crypto_generichash_update(&h, ad, adlen);
	crypto_generichash_update(&h, p, n);
	crypto_generichash_final(&h, raw + 8, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(raw + 8 + NONCE, NULL, p, n,
						   ad, adlen, NULL,
						   raw + 8, key);
	b64len = sodium_base64_ENCODED_LEN(rawlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (crm_buf_grow(out, 4 + b64len) < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	memcpy(out->data + out->len, CRM_ENC_PREFIX, 4);
	sodium_bin2base64(out->data + out->len + 4, b64len, raw, rawlen,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out->len += 4 + strlen(out->data + out->len + 4);
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	if (raw != small)
		free(raw);
	return rc;
}

int crm_crypt_cell_key(const char *s, size_t n, uint64_t *dk)
{
	unsigned char k[9];
	size_t klen;

	if (n < 4 + 16 || memcmp(s, CRM_ENC_PREFIX, 4))
		return 0;
	/* 12 base64 characters hold the first 9 bytes. */
	if (sodium_base642bin(k, sizeof(k), s + 4, 12, NULL, &klen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) || klen < 8)
		return 0;
	*dk = 0;
	for (int i = 0; i < 8; i++)
		*dk = *dk << 8 | k[i];
	return 1;
}

int crm_crypt_open(struct crm_crypt *c, const char *table, const char *column,
		   const char *id, const char *cell, size_t n,
		   struct crm_buf *out, struct crm_err *e)
{
	unsigned char key[DKEY], *raw = NULL, small[1024], ad[AD_MAX];
	size_t rawlen, adlen;
	unsigned long long ptlen;
	uint64_t dk = 0;
	int rc = -1;

	if (n < 4 || memcmp(cell, CRM_ENC_PREFIX, 4)) {
		if (crm_buf_add(out, cell, n) < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return 0;
	}
	raw = small;
	if (n > sizeof(small) && !(raw = malloc(n))) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	if (sodium_base642bin(raw, n, cell + 4, n - 4, NULL, &rawlen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    rawlen < 8 + NONCE + TAG) {
		crm_err_set(e, CRM_EDATA, "%s.%s of %s: not a sealed cell", table, column, id);
		goto out;
	}
	for (int i = 0; i < 8; i++)
		dk = dk << 8 | raw[i];
	pthread_mutex_lock(&c->mu);
	rc = data_key(c, dk, key, e);
	pthread_mutex_unlock(&c->mu);
	if (rc < 0) {
		char msg[CRM_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		crm_err_set(e, e->code, "%s.%s of %s: %s", table, column, id, msg);
		goto out;
	}
	rc = -1;
	if (!(adlen = cell_ad(ad, table, column, id, dk))) {
		crm_err_set(e, CRM_EDATA, "%s.%s of %s: names too long", table, column, id);
		goto out;
	}
	if (crm_buf_grow(out, rawlen) < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    (unsigned char *)out->data + out->len, &ptlen, NULL,
		    raw + 8 + NONCE, rawlen - 8 - NONCE,
		    ad, adlen, raw + 8, key)) {
		crm_err_set(e, CRM_EDATA,
			    "%s.%s of %s: does not decrypt (changed, or moved from another cell)",
			    table, column, id);
		goto out;
	}
	out->len += ptlen;
	out->data[out->len] = 0;
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	if (raw != small)
		free(raw);
	return rc;
}

int crm_crypt_bidx(struct crm_crypt *c, const char *kind, const char *value,
		   size_t n, char out[CRM_BIDX_MAX])
{
	crypto_generichash_state h;
	unsigned char d[16];

	crypto_generichash_init(&h, c->index_key, sizeof(c->index_key), sizeof(d));
	crypto_generichash_update(&h, (const unsigned char *)kind, strlen(kind) + 1);
	crypto_generichash_update(&h, (const unsigned char *)value, n);
	crypto_generichash_final(&h, d, sizeof(d));
	memcpy(out, "bi1:", 4);
	sodium_bin2base64(out + 4, CRM_BIDX_MAX - 4, d, sizeof(d),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

void crm_crypt_ident(const char *field, const char *v, char *out)
{
	char *o = out;

	if (!strcmp(field, "phone")) {
		for (; *v; v++)
			if (*v >= '0' && *v <= '9')
				*o++ = *v;
	} else {
		v += strspn(v, " \t");
		for (; *v; v++)
			*o++ = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v);
		while (o > out && (o[-1] == ' ' || o[-1] == '\t'))
			o--;
	}
	*o = 0;
}

int crm_crypt_bidx_ident(struct crm_crypt *c, const char *field, const char *v,
			 char out[CRM_BIDX_MAX])
{
	char small[256], *id = strlen(v) < sizeof(small) ? small : malloc(strlen(v) + 1);

	if (!id)
		return -1;
	crm_crypt_ident(field, v, id);
	crm_crypt_bidx(c, field, id, strlen(id), out);
	if (id != small)
		free(id);
	return 0;
}

int crm_crypt_shred(struct crm_crypt *c, const uint64_t *ids, size_t n,
		    struct crm_err *e)
{
	static const char *const tables[] = { "keys", NULL };
	struct crm_stmt *st = NULL;
	int rc = -1;

	pthread_mutex_lock(&c->mu);
	if (crm_store_begin(c->store, e) < 0) {
		store_err(e, "begin");
		goto out;
	}
	if (crm_store_prepare(c->store, "DELETE FROM keys WHERE id = ?1", 0, &st, e) < 0) {
		store_err(e, "erase");
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		struct slot *s;

		if (ids[i] <= INDEX_KEY_ID)
			continue;
		crm_stmt_bind_int64(st, 1, (long long)ids[i]);
		if (crm_stmt_step(st, e) < 0) {
			store_err(e, "erase");
			goto rollback;
		}
		crm_stmt_reset(st);
		if ((s = cache_find(c, ids[i], 0)))
			sodium_memzero(s->key, DKEY);	/* keep the probe chain */
	}
	crm_stmt_free(st);
	st = NULL;
	if (crm_store_commit(c->store, e) < 0) {
		store_err(e, "commit");
		goto out;
	}
	/* What still holds the wrapped keys goes: SQLite writes its log
	 * into the file, whose freed pages secure_delete zeroed, and empties
	 * it; PostgreSQL writes the table anew without the dead rows. */
	if (!crm_store_scrub_full(c->store, tables)) {
		crm_err_set(e, CRM_EUNAVAILABLE, "%s: the shredded keys' old bytes were not cleared "
			    "(a reader holding the log, or the table busy)", crm_store_name(c->store));
		store_err(e, "scrub");
		goto out;
	}
	/* Shredded slots must not answer from the cache. */
	for (size_t i = 0; i < n; i++) {
		struct slot *s = cache_find(c, ids[i], 0);

		if (s)
			s->id = UINT64_MAX;	/* a tombstone no id equals */
	}
	rc = 0;
	goto out;
rollback:
	crm_stmt_free(st);
	crm_store_rollback(c->store);
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* ---- attaching -------------------------------------------------------- */

static struct crm_crypt *crypt_new(struct crm_err *e)
{
	struct crm_crypt *c;

	if (sodium_init() < 0) {
		crm_err_set(e, CRM_ESOFTWARE, "libsodium did not start");
		return NULL;
	}
	if (!(c = secret_alloc(sizeof(*c)))) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void crypt_free(struct crm_crypt *c)
{
	if (!c)
		return;
	crm_store_close(c->store);
	secret_free(c->cache, c->acache * sizeof(*c->cache));
	free(c->db_path);
	free(c->key_file);
	pthread_mutex_destroy(&c->mu);
	secret_free(c, sizeof(*c));
}

/* Load the key file and the key store of db_path; the index key is made
 * on first use. */
static int crypt_load(struct crm_crypt **out, const char *key_file,
		      const char *db_path, int create, struct crm_err *e)
{
	struct crm_crypt *c;
	int rc;

	*out = NULL;
	if (!(c = crypt_new(e)))
		return -1;
	if (!(c->db_path = strdup(crm_store_target(db_path)))) {
		crypt_free(c);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	if (!(c->key_file = strdup(key_file))) {
		crypt_free(c);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	if (read_keys(c, c->key_file, e) < 0 || store_open(c, create, e) < 0 ||
	    check_masters(c, 1, e) < 0)
		goto fail;
	{
		unsigned char ik[DKEY];

		rc = store_get(c, INDEX_KEY_ID, ik, e);
		if (rc < 0)
			goto fail;
		if (rc) {
			randombytes_buf(ik, sizeof(ik));
			if (store_put(c, INDEX_KEY_ID, ik, e) < 0)
				goto fail;
			/* Another process may have made it first: use theirs. */
			if (store_get(c, INDEX_KEY_ID, ik, e))
				goto fail;
		}
		memcpy(c->index_key, ik, sizeof(c->index_key));
		sodium_memzero(ik, sizeof(ik));
	}
	*out = c;
	return 0;
fail:
	crypt_free(c);
	return -1;
}

int crm_crypt_attach(struct crm_store *s, const char *target, int allow_plain,
		     struct crm_crypt **out, struct crm_err *e)
{
	const char *key_file = crm_crypt_key_file();
	const char *path = crm_store_target(target);
	struct crm_crypt *c;
	int rc = 0;

	*out = NULL;
	if (!key_file) {
		char on[8] = "";
		struct crm_err ignored;

		if (!allow_plain &&
		    crm_store_text1(s, "SELECT value FROM meta WHERE key = 'crypt.enabled'", NULL, on,
				    sizeof(on), &ignored) > 0 && !strcmp(on, "1"))
			return crm_err_set(e, CRM_EUSAGE,
					   "%s is encrypted: give its key file (--key-file or CRM_KEY_FILE)",
					   crm_store_name(s));
		return 0;
	}
	pthread_mutex_lock(&reg_mu);
	for (c = crypts; c; c = c->next)
		if (!strcmp(c->db_path, path))
			break;
	if (!c) {
		if (crypt_load(&c, key_file, path, 1, e) < 0) {
			rc = -1;
			goto out;
		}
		c->next = crypts;
		crypts = c;
	}
	c->refs++;
	*out = c;
	{	/* what the data names: a new key must never take one of them */
		char v[32] = "";
		struct crm_err ignored;

		if (crm_store_text1(s, "SELECT coalesce(max(dk), 0) FROM contacts", NULL, v, sizeof(v),
				    &ignored) > 0 && strtoull(v, NULL, 10) > c->data_high)
			c->data_high = strtoull(v, NULL, 10);
	}
out:
	pthread_mutex_unlock(&reg_mu);
	return rc;
}

int crm_store_open(struct crm_store **out, const char *target, int flags, struct crm_err *e)
{
	struct crm_crypt *c = NULL;

	if (crm_store_connect(out, target, flags, e) < 0)
		return -1;
	if (flags & (CRM_STORE_PLAIN | CRM_STORE_OTHER))
		return 0;
	if (crm_crypt_attach(*out, target, 0, &c, e) < 0) {
		crm_store_close(*out);
		*out = NULL;
		return -1;
	}
	crm_store_set_crypt(*out, c, crm_crypt_detach);
	return 0;
}

void crm_crypt_detach(struct crm_crypt *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&reg_mu);
	if (--c->refs == 0) {
		for (struct crm_crypt **cp = &crypts; *cp; cp = &(*cp)->next)
			if (*cp == c) {
				*cp = c->next;
				break;
			}
		crypt_free(c);
	}
	pthread_mutex_unlock(&reg_mu);
}

/* ---- moving ----------------------------------------------------------- */

/* The key store of the database target (at path), made ready (its
 * tables), into *out; 0 when it is not there and !create (*out NULL). */
static int store_at(const char *target, const char *path, int create, struct crm_store **out,
		    struct crm_err *e)
{
	struct crm_crypt c = { 0 };
	struct stat sb;
	int rc;

	*out = NULL;
	if (!create && !crm_store_is_url(path) && stat(path, &sb) < 0)
		return 0;
	c.db_path = (char *)target;
	rc = store_open(&c, create, e);
	if (rc < 0 && !create && e->code == CRM_ENOINPUT && strstr(e->msg, "does not exist"))
		return 0;	/* no such database: no key store (one not let in is an error) */
	if (rc < 0) {
		crm_store_close(c.store);
		return -1;
	}
	*out = c.store;
	return 1;
}

int crm_crypt_copy_store(const char *src, const char *dst, int replace, long long *keys,
			 struct crm_err *e)
{
	static const char *const tables[] = { "masters", "keys" };
	char sp[4200], dp[4200], n[24] = "", hi[24] = "";
	struct crm_store *from = NULL, *to = NULL;
	int rc = -1;

	*keys = 0;
	if (crm_crypt_store_path(src, sp, sizeof(sp)) < 0 || crm_crypt_store_path(dst, dp, sizeof(dp)) < 0)
		return crm_err_set(e, CRM_EUSAGE, "no key store for %s or %s: name one with CRM_KEY_STORE",
				   src, dst);
	if (!strcmp(sp, dp))
		return crm_err_set(e, CRM_EUSAGE, "%s and %s would share the key store %s "
				   "(CRM_KEY_STORE): unset it to copy one into the other", src, dst, sp);
	if ((rc = store_at(src, sp, 0, &from, e)) <= 0)
		return rc;
	rc = -1;
	if (store_at(dst, dp, 1, &to, e) < 0)
		goto out;
	if (crm_store_text1(to, "SELECT count(*) FROM keys", NULL, n, sizeof(n), e) < 0)
		goto out;
	if (atoll(n) && !replace) {
		crm_err_set(e, CRM_EDATA, "%s: the key store is not empty (%s keys): copy into a new one",
			    crm_store_name(to), n);
		goto out;
	}
	if (keys_high(from, hi, sizeof(hi), e) < 0 ||
	    crm_store_begin_read(from, e) < 0)
		goto out;
	if (crm_store_begin(to, e) < 0 || crm_store_exec(to, "DELETE FROM masters", e) < 0 ||
	    (replace && crm_store_exec(to, "DELETE FROM keys", e) < 0))
		goto fail;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct crm_stmt *st;
		char sql[64];
		long long rows;
		int r;

		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", tables[t]);
		if (crm_store_prepare(from, sql, CRM_STMT_STREAM, &st, e) < 0)
			goto fail;
		r = crm_store_copy_rows(to, tables[t], st, NULL, NULL, &rows, e);
		crm_stmt_free(st);
		if (r < 0)
			goto fail;
	}
	if (crm_store_text1(to, "SELECT count(*) FROM keys WHERE id > 1", NULL, n, sizeof(n), e) < 0)
		goto fail;
	*keys = atoll(n);
	{	/* a key id is never given twice */
		const char *p = hi;

		if (atoll(hi) > 0 &&
		    crm_store_run(to, crm_store_sql(to, CRM_SQL_KEYS_NOTE), &p, 1, e) < 0)
			goto fail;
	}
	if (crm_store_commit(to, e) < 0)
		goto fail;
	crm_store_rollback(from);
	rc = 0;
	goto out;
fail:
	crm_store_rollback(to);
	crm_store_rollback(from);
out:
	crm_store_close(from);
	crm_store_close(to);
	return rc;
}

/* ---- rotation, status ------------------------------------------------- */

/*
 * Rewrap every data key not under the current master key, in one
 * transaction of the store; *n counts them. A key that unwraps under no
 * master key we have stops it, and nothing is changed.
 */
static int rewrap_stale(struct crm_crypt *c, long long *n, struct crm_err *e)
{
	struct crm_stmt *sel = NULL, *upd = NULL;
	int rc;

	*n = 0;
	if (crm_store_begin(c->store, e) < 0 ||
	    crm_store_prepare(c->store, "SELECT id, version, wrapped FROM keys WHERE version != ?1",
			      0, &sel, e) < 0 ||
	    crm_store_prepare(c->store, "UPDATE keys SET version = ?2, wrapped = ?3 WHERE id = ?1",
			      0, &upd, e) < 0) {
		store_err(e, "rewrap");
		goto rollback;
	}
	crm_stmt_bind_int64(sel, 1, c->version);
	while ((rc = crm_stmt_step(sel, e)) == 1) {
		uint64_t id = (uint64_t)crm_stmt_int64(sel, 0);
		int v = (int)crm_stmt_int64(sel, 1);
		unsigned char key[DKEY], w[WRAPPED];

		if (unwrap(c, v, id, crm_stmt_blob(sel, 2), crm_stmt_bytes(sel, 2), key)) {
			crm_err_set(e, CRM_EDATA,
				    "data key %llu does not unwrap under master key %d: nothing rewrapped",
				    (unsigned long long)id, v);
			goto rollback;
		}
		wrap(c, c->version, id, key, w);
		sodium_memzero(key, sizeof(key));
		crm_stmt_bind_int64(upd, 1, (long long)id);
		crm_stmt_bind_int64(upd, 2, c->version);
		crm_stmt_bind_blob(upd, 3, w, sizeof(w));
		if (crm_stmt_step(upd, e) < 0) {
			store_err(e, "rewrap");
			goto rollback;
		}
		crm_stmt_reset(upd);
		(*n)++;
	}
	if (rc < 0) {
		store_err(e, "rewrap");
		goto rollback;
	}
	crm_stmt_free(sel);
	crm_stmt_free(upd);
	sel = upd = NULL;
	if (crm_store_commit(c->store, e) < 0) {
		store_err(e, "commit");
		goto rollback;
	}
	return 0;
rollback:
	crm_stmt_free(sel);
	crm_stmt_free(upd);
	crm_store_rollback(c->store);
	*n = 0;
	return -1;
}

/* Data keys not under the current master key, or -1. */
static long long count_stale(struct crm_crypt *c)
{
	char v[24], n[24] = "";
	struct crm_err e;

	snprintf(v, sizeof(v), "%d", c->version);
	if (crm_store_text1(c->store, "SELECT count(*) FROM keys WHERE version != CAST(?1 AS integer)",
			    v, n, sizeof(n), &e) < 0)
		return -1;
	return atoll(n);
}

/*
 * Rewrap until no data key is left under an older master key. Once the
 * store names the current version, every process wraps its new keys
 * under it (keys_current), so a pass after that finds none; the passes
 * are bounded all the same.
 */
static int rewrap_all(struct crm_crypt *c, long long *total, struct crm_err *e)
{
	for (int pass = 0; pass < 16; pass++) {
		long long n, left;

		if (rewrap_stale(c, &n, e) < 0)
			return -1;
		*total += n;
		if ((left = count_stale(c)) < 0)
			return crm_err_set(e, CRM_EUNAVAILABLE, "key store: %s: cannot count the keys left",
					   crm_store_name(c->store));
		if (!left)
			return 0;
	}
	return crm_err_set(e, CRM_EUNAVAILABLE,
			   "data keys are still being wrapped under an older master key: "
			   "is a process running with an old key file?");
}

/* The keys of key_file (and its retired file, named into rp) over the
 * key store of db_path, for rotate and retire. */
static int keys_load(struct crm_crypt **c, const char *key_file, const char *db_path,
		     char *rp, size_t n, struct crm_err *e)
{
	if (retired_path(key_file, rp, n) < 0)
		return crm_err_set(e, CRM_EUSAGE, "%s: path too long", key_file);
	return crypt_load(c, key_file, db_path, 0, e);
}

int crm_key_rotate(const char *key_file, const char *db_path,
		   long long *rewrapped, struct crm_err *e)
{
	struct crm_crypt *c;
	char rp[4200];
	int old;

	*rewrapped = 0;
	if (keys_load(&c, key_file, db_path, rp, sizeof(rp), e) < 0)
		return -1;
	old = c->version;
	if (old >= MAXVER) {
		crypt_free(c);
		return crm_err_set(e, CRM_EDATA, "%s: at the last master key version (%d)",
				   key_file, MAXVER);
	}
	/* 1. The new master key is on disk, beside the old, before the store
	 * names it: from then on every process that makes a data key reads
	 * the key file again and wraps under the new key. */
	c->version = old + 1;
	c->have[c->version] = 1;
	randombytes_buf(c->master[c->version], MKEY);
	if (write_key_file(c, 1, c->version, key_file, 0, e) < 0 || check_masters(c, 1, e) < 0)
		goto fail;
	/* 2. Rewrap every data key, until none is left under an old key. */
	if (rewrap_all(c, rewrapped, e) < 0)
		goto fail;
	{
		static const char *const tables[] = { "keys", NULL };

		crm_store_scrub(c->store, tables);
	}
	/* 3. The old keys move to the retired file (with any retired
	 * before), then leave the key file. A crash between leaves them in
	 * both. */
	if (write_key_file(c, 1, old, rp, 0, e) < 0 ||
	    write_key_file(c, c->version, c->version, key_file, 0, e) < 0)
		goto fail;
	crypt_free(c);
	return 0;
fail:
	crypt_free(c);
	return -1;
}

int crm_key_retire(const char *key_file, const char *db_path, int *retired,
		   long long *rewrapped, struct crm_err *e)
{
	struct crm_crypt *c;
	char rp[4200];
	int fd;

	*rewrapped = 0;
	*retired = 0;
	if (keys_load(&c, key_file, db_path, rp, sizeof(rp), e) < 0)
		return -1;
	for (int v = 1; v < c->version; v++)
		*retired += c->have[v];
	/* Stragglers first: a key still under a retired master key would be
	 * lost with it. */
	if (rewrap_all(c, rewrapped, e) < 0) {
		crypt_free(c);
		return -1;
	}
	/* Overwrite, sync, then unlink: the old keys leave the disk's live
	 * blocks, not only the directory. */
	if ((fd = open(rp, O_WRONLY)) >= 0) {
		struct stat st;

		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			char zero[512] = { 0 };

			for (off_t o = 0; o < st.st_size; o += (off_t)sizeof(zero))
				if (write(fd, zero, sizeof(zero)) < 0)
					break;
			fsync(fd);
		}
		close(fd);
	}
	if (unlink(rp) < 0 && errno != ENOENT) {
		crm_err_set(e, CRM_EIO, "%s: %s", rp, strerror(errno));
		crypt_free(c);
		return -1;
	}
	crypt_free(c);
	return 0;
}

int crm_key_status(const char *key_file, const char *db_path,
		   struct crm_key_status *st, struct crm_err *e)
{
	struct crm_crypt *c;
	struct crm_stmt *q;

	memset(st, 0, sizeof(*st));
	if (crypt_load(&c, key_file, db_path, 0, e) < 0)
		return -1;
	st->version = c->version;
	for (int v = c->version; v <= MAXVER; v++)
		st->versions += c->have[v];
	for (int v = 1; v < c->version; v++)
		st->retired += c->have[v];
	snprintf(st->store, sizeof(st->store), "%s", crm_store_name(c->store));
	if (crm_store_prepare(c->store,
			"SELECT count(*), count(*) FILTER (WHERE version != ?1) FROM keys WHERE id > 1",
			0, &q, e) == 0) {
		crm_stmt_bind_int64(q, 1, c->version);
		if (crm_stmt_step(q, e) == 1) {
			st->keys = crm_stmt_int64(q, 0);
			st->stale = crm_stmt_int64(q, 1);
		}
		crm_stmt_free(q);
	}
	crypt_free(c);
	return 0;
}
