/*
 * util.c - error reporting into a caller's struct and a capped dynamic
 * buffer. Everything else in libcrm builds on these two.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int crm_err_set(struct crm_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->code = code;
	e->unknown = e->retry = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void crm_err_clear(struct crm_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->unknown = e->retry = 0;
	e->msg[0] = '\0';
}

void crm_buf_init(struct crm_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void crm_buf_release(struct crm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void crm_buf_reset(struct crm_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int crm_buf_grow(struct crm_buf *b, size_t n)
{
	size_t need, alloc;
	char *p;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n + 1;
	if (b->cap && need > b->cap + 1)
		return -1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	if (b->cap && alloc > b->cap + 1)
		alloc = b->cap + 1;
	p = realloc(b->data, alloc);
	if (!p)
		return -1;
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int crm_buf_add(struct crm_buf *b, const void *p, size_t n)
{
	if (crm_buf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int crm_buf_adds(struct crm_buf *b, const char *s)
{
	return crm_buf_add(b, s, strlen(s));
}

int crm_buf_addc(struct crm_buf *b, char c)
{
	if (b->len + 1 < b->alloc) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return crm_buf_add(b, &c, 1);
}

int crm_buf_add_xml(struct crm_buf *b, const char *s)
{
	int rc = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': rc |= crm_buf_adds(b, "&amp;"); break;
		case '<': rc |= crm_buf_adds(b, "&lt;"); break;
		case '>': rc |= crm_buf_adds(b, "&gt;"); break;
		case '"': rc |= crm_buf_adds(b, "&quot;"); break;
		case '\'': rc |= crm_buf_adds(b, "&apos;"); break;
		default:
			if (ch >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r')
				rc |= crm_buf_addc(b, (char)ch);
		}
	}
	return rc ? -1 : 0;
}

int crm_buf_addf(struct crm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || crm_buf_grow(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *crm_buf_detach(struct crm_buf *b, size_t *len)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

char *crm_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

double crm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int crm_map_file(const char *path, unsigned long long max, const char *what,
		 struct crm_map *m, struct crm_err *e)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return crm_err_set(e, CRM_ENOINPUT, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return crm_err_set(e, CRM_ENOINPUT, "%s: not a regular file", path);
	}
	if (sb.st_size == 0) {
		close(fd);
		return crm_err_set(e, CRM_EDATA, "%s: empty file", path);
	}
	if ((unsigned long long)sb.st_size > max) {
		close(fd);
		return crm_err_set(e, CRM_EDATA, "%s: %lld bytes is too large for %s",
				   path, (long long)sb.st_size, what);
	}
	m->data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->data == MAP_FAILED) {
		m->data = NULL;
		return crm_err_set(e, CRM_EIO, "%s: %s", path, strerror(errno));
	}
	m->len = (size_t)sb.st_size;
	m->mtime = (long long)sb.st_mtime;
	return 0;
}

void crm_unmap(struct crm_map *m)
{
	if (m->data)
		munmap(m->data, m->len);
	memset(m, 0, sizeof(*m));
}

uint64_t crm_strhash(const char *s)
{
	uint64_t h = 1469598103934665603u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

void crm_fault(const char *point)
{
	const char *f = getenv("CRM_FAULT");

	if (f && !strcmp(f, point))
		kill(getpid(), SIGKILL);
}

void crm_timestamp(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}
