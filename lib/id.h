/*
 * id.h - record ids and content hashes.
 *
 * Ids are the type's prefix and 16 characters of Crockford base32: 48 bits
 * of milliseconds since the epoch, then 32 bits that start random and count
 * up within a process. They sort by creation time, so new rows append to
 * the id index instead of landing at random pages.
 */
#ifndef CRM_ID_H
#define CRM_ID_H

#include <stddef.h>
#include <stdint.h>

#define CRM_ID_MAX 24	/* "xx_" + 16 + NUL, rounded up */

/* Write a new id with prefix ("c_") into out (CRM_ID_MAX bytes). */
void crm_id_new(const char *prefix, char *out);

/* Is s a well-formed id with this prefix? */
int crm_id_valid(const char *prefix, const char *s);
/* Does s have the shape of a crm id ("c_...", "ab_..."), valid or not? */
int crm_id_like(const char *s);

/*
 * A 128-bit hash of data as 32 hex digits into out (33 bytes). Not
 * cryptographic: for content keys of records without an external id.
 */
struct crm_hash {
	uint64_t a, b;
};
void crm_hash_init(struct crm_hash *h);
void crm_hash_add(struct crm_hash *h, const void *data, size_t n);
void crm_hash_hex(const struct crm_hash *h, char *out);

#endif
