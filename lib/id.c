/*
 * id.c - time-ordered ids and a small content hash.
 */
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "id.h"

static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

void crm_id_new(const char *prefix, char *out)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last_ms;
	static uint32_t counter;
	struct timespec ts;
	uint64_t ms;
	uint32_t c;
	size_t k;

	/* Server threads make ids at once: one clock and counter for all. */
	pthread_mutex_lock(&mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms > last_ms) {
		last_ms = ms;
		if (getrandom(&counter, sizeof(counter), 0) != sizeof(counter))
			counter = (uint32_t)ts.tv_nsec;
		counter &= 0x7fffffff;	/* room to count up */
	} else {
		ms = last_ms;
		if (++counter == 0)
			last_ms = ++ms;
	}
	c = counter;
	pthread_mutex_unlock(&mu);
	k = strlen(prefix);
	memcpy(out, prefix, k);
	for (int i = 9; i >= 0; i--)	/* 10 chars = 50 bits >= 48 */
		out[k + (size_t)(9 - i)] = b32[(ms >> (i * 5)) & 31];
	for (int i = 5; i >= 0; i--)	/* 6 chars = 30 bits, top 2 above */
		out[k + 10 + (size_t)(5 - i)] = b32[(c >> (i * 5)) & 31];
	out[k + 16] = '\0';
}

int crm_id_valid(const char *prefix, const char *s)
{
	size_t k = strlen(prefix);

	if (strncmp(s, prefix, k) != 0 || strlen(s + k) != 16)
		return 0;
	for (s += k; *s; s++)
		if (!strchr(b32, *s))
			return 0;
	return 1;
}

int crm_id_like(const char *s)
{
	size_t k = 0;

	while (k < 2 && s[k] >= 'a' && s[k] <= 'z')
		k++;
	return k && s[k] == '_';
}

void crm_hash_init(struct crm_hash *h)
{
	h->a = 0xcbf29ce484222325ULL;
	h->b = 0x84222325cbf29ce4ULL;
}

void crm_hash_add(struct crm_hash *h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h->a = (h->a ^ p[i]) * 0x100000001b3ULL;
		h->b = (h->b + p[i]) * 0x9e3779b97f4a7c15ULL;
		h->b ^= h->b >> 29;
	}
	/* A separator, so ("ab","c") and ("a","bc") differ. */
	h->a = (h->a ^ 0xff) * 0x100000001b3ULL;
	h->b = (h->b + 0x1ff) * 0x9e3779b97f4a7c15ULL;
}

void crm_hash_hex(const struct crm_hash *h, char *out)
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h->a,
		 (unsigned long long)h->b);
}
