/*
 * crypt.h - field encryption at rest: master keys, data keys, sealed cells,
 * blind indexes.
 *
 * Envelope encryption. The master key file (CRM_KEY_FILE, mode 0600) holds
 * numbered master keys; the highest is current. Each person (a contact and
 * what is about them) gets a random 64-byte data key, kept in the key
 * store, wrapped under a master key: an SQLite file beside the database
 * (crm.db.keys), or for a database on PostgreSQL a database of its own on
 * the same server (.../crm_keys for .../crm), which the operator makes
 * and gives its own role; CRM_KEY_STORE names another. The database itself holds no key material, so a copy of it
 * is ciphertext only, and deleting a person's data key (crypto-shredding)
 * makes every copy of their cells unreadable, backups included.
 *
 * A sealed text cell is "enc:" and the base64url of
 *   data key id (8) | nonce (24) | XChaCha20-Poly1305 ciphertext and tag
 * with associated data binding it to its table, column, row id and data
 * key id: a cell copied to another row or column, or any changed byte,
 * fails to open. The nonce is a keyed BLAKE2b of the associated data and
 * the plaintext (a synthetic IV), so sealing the same value in the same
 * cell twice gives the same text and an unchanged re-import stays
 * unchanged; it reveals only that a cell kept its value.
 *
 * Equality lookups (email, phone, the import's natural keys) use blind
 * indexes: a keyed BLAKE2b of the normalised value under an index key,
 * itself kept wrapped in the key store, so rotating the master key changes
 * neither cells nor indexes: it rewraps the data keys only.
 */
#ifndef CRM_CRYPT_H
#define CRM_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CRM_ENC_PREFIX "enc:"
#define CRM_BIDX_MAX 48		/* "bi1:" + base64url of 16 bytes, NUL */

struct crm_crypt;

/*
 * Key file to use (--key-file); NULL falls back to $CRM_KEY_FILE. Call
 * before crm_store_open.
 */
void crm_crypt_configure(const char *key_file);
/* The key file configured, or NULL when encryption is off. */
const char *crm_crypt_key_file(void);
/* The key store of the database at db_path: $CRM_KEY_STORE, else
 * "crm.db" -> "crm.db.keys", "postgresql://.../crm" ->
 * "postgresql://.../crm_keys". -1 when too long, or a URL names no
 * database. */
int crm_crypt_store_path(const char *db_path, char *out, size_t n);

/*
 * The encryption of the database at target, for its connection s
 * (crm_store_open does this): with a key file configured, its keys,
 * loaded once per process and database and checked against the key
 * store, into *out (until crm_crypt_detach). Without one, *out is NULL,
 * and a database that holds sealed cells is refused unless allow_plain.
 */
struct crm_store;
int crm_crypt_attach(struct crm_store *s, const char *target, int allow_plain,
		     struct crm_crypt **out, struct crm_err *e);
void crm_crypt_detach(struct crm_crypt *c);

/*
 * Open the database at target, as every tool does: the store's
 * connection (crm_store_connect, which flags and e are as for) and,
 * unless CRM_STORE_PLAIN or CRM_STORE_OTHER, its encryption: with a key
 * configured, cells are sealed and opened on this connection; without
 * one, a database with sealed cells is refused. crm_store_close() ends
 * both.
 */
int crm_store_open(struct crm_store **out, const char *target, int flags, struct crm_err *e);

/*
 * Copy the key store of the database src to that of dst (crm db copy):
 * the master key checks and every wrapped data key, byte for byte, and
 * the highest key id given; no key is unwrapped, so no key file is
 * needed. Nothing is done when src has no key store; dst's must be
 * empty (on PostgreSQL its database must exist), or with replace, what
 * it holds (an interrupted copy's keys, beside no data) is replaced.
 * *keys counts the data keys copied.
 */
int crm_crypt_copy_store(const char *src, const char *dst, int replace, long long *keys,
			 struct crm_err *e);

/* Create a key file with master key 1 (refuses to overwrite). */
int crm_key_init(const char *key_file, struct crm_err *e);
/*
 * Rotate: add master key N+1 to the key file and name it in the key store
 * (from then on every process, a running server included, wraps new data
 * keys under it: it reads the key file again, or refuses to write); rewrap
 * every data key under it, pass after pass until none is left under an
 * older key; then move the older master keys to KEY_FILE.retired, which
 * every tool still reads, until crm_key_retire. *rewrapped counts the keys.
 */
int crm_key_rotate(const char *key_file, const char *db_path,
		   long long *rewrapped, struct crm_err *e);
/*
 * Retire: rewrap any data key still under an older master key, then wipe
 * and remove KEY_FILE.retired. *retired counts the master keys removed.
 */
int crm_key_retire(const char *key_file, const char *db_path, int *retired,
		   long long *rewrapped, struct crm_err *e);

struct crm_key_status {
	int version;		/* current master key version */
	int versions;		/* master keys in the key file */
	int retired;		/* older master keys kept in KEY_FILE.retired */
	long long keys;		/* data keys in the store */
	long long stale;	/* data keys wrapped under an older version */
	char store[4096];
};
int crm_key_status(const char *key_file, const char *db_path,
		   struct crm_key_status *st, struct crm_err *e);

/* Note in the database that it holds sealed cells: from then on it is not
 * opened without its key. */
void crm_crypt_mark(struct crm_store *db);

/* A fresh data key (from a pool created in batches). */
int crm_crypt_new_key(struct crm_crypt *c, uint64_t *id, struct crm_err *e);

/*
 * Seal plaintext p[0..n) for table.column of row id under data key dk,
 * appending the "enc:..." text to out.
 */
int crm_crypt_seal(struct crm_crypt *c, uint64_t dk, const char *table,
		   const char *column, const char *id, const void *p,
		   size_t n, struct crm_buf *out, struct crm_err *e);
/*
 * Open a cell: an "enc:" cell is decrypted and checked, anything else is
 * copied (plain data from before a key was set). Appends to out, which is
 * NUL-terminated. Fails with CRM_EDATA on a tampered or moved cell, and
 * with CRM_ENOINPUT when its data key was erased (crm_crypt_shred).
 */
int crm_crypt_open(struct crm_crypt *c, const char *table, const char *column,
		   const char *id, const char *cell, size_t n,
		   struct crm_buf *out, struct crm_err *e);
/* 1 when s[0..n) is a sealed cell; *dk gets its data key id. */
int crm_crypt_cell_key(const char *s, size_t n, uint64_t *dk);

/* Blind index of value for kind ("email", "phone", "key"). */
int crm_crypt_bidx(struct crm_crypt *c, const char *kind, const char *value,
		   size_t n, char out[CRM_BIDX_MAX]);
/*
 * The form of an email or phone the blind index is taken of: an email in
 * lower case, a phone's digits only. Writes at most strlen(v) + 1 bytes.
 */
void crm_crypt_ident(const char *field, const char *v, char *out);
/* The blind index of an email or phone as written: crm_crypt_ident's
 * form, indexed under kind field. -1 when out of memory. */
int crm_crypt_bidx_ident(struct crm_crypt *c, const char *field, const char *v,
			 char out[CRM_BIDX_MAX]);

/*
 * Crypto-shred: delete these data keys from the key store and checkpoint
 * its log, so no copy of the database can open their cells again.
 */
int crm_crypt_shred(struct crm_crypt *c, const uint64_t *ids, size_t n,
		    struct crm_err *e);

#endif
