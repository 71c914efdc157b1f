/*
 * digest.h - SHA-256, HMAC-SHA256 and random bytes (see digest.c).
 */
#ifndef CRM_DIGEST_H
#define CRM_DIGEST_H

#include <stddef.h>

/* n bytes as 2n lower-case hex digits and a NUL into out. */
void crm_hex(const void *data, size_t n, char *out);

/* SHA-256 of data as 64 hex digits into out[65]. */
void crm_sha256_hex(const void *data, size_t n, char *out);

/* HMAC-SHA256 of data under key as 64 hex digits into out[65]. */
void crm_hmac_sha256_hex(const void *key, size_t klen, const void *data,
			 size_t n, char *out);

/* Fill buf with n random bytes from the kernel; 0 or -1. */
int crm_random(void *buf, size_t n);

#endif
