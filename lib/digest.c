/*
 * digest.c - SHA-256, HMAC-SHA256 (OpenSSL's libcrypto) and random bytes
 * from the kernel: what tokens, webhook signatures and the audit trail's
 * chain are made of, below all of them.
 */
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"

void crm_hex(const void *data, size_t n, char *out)
{
	const unsigned char *d = data;
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void crm_sha256_hex(const void *data, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	crm_hex(md, len, out);
}

void crm_hmac_sha256_hex(const void *key, size_t klen, const void *data,
			 size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	HMAC(EVP_sha256(), key, (int)klen, data, n, md, &len);
	crm_hex(md, len, out);
}

int crm_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}
