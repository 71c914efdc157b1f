/*
 * util.h - errors and growable buffers shared by every libcrm module.
 *
 * libcrm never prints and never exits. A function that can fail returns 0
 * on success and -1 on failure, and fills the caller's struct crm_err with a
 * message and a code. The codes are the exit statuses the tools use, so a
 * command can pass an error straight to exit() (curl's habit).
 */
#ifndef CRM_UTIL_H
#define CRM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum crm_code {
	CRM_OK = 0,
	CRM_EFINDING = 1,	/* a check found something */
	CRM_EUSAGE = 2,		/* bad command line */
	CRM_EDATA = 65,		/* input data was wrong */
	CRM_ENOINPUT = 66,	/* input missing or unreadable */
	CRM_EUNAVAILABLE = 69,	/* a service is unavailable */
	CRM_ESOFTWARE = 70,	/* internal error, bug */
	CRM_EIO = 74,		/* I/O error: disk full, write failed */
};

#define CRM_ERR_MAX 512

struct crm_err {
	int code;		/* enum crm_code; 0 when no error */
	char msg[CRM_ERR_MAX];	/* lower case, no final period */
	int unknown;		/* a write whose outcome is unknown: the
				 * answer to its COMMIT never came */
	int retry;		/* the connection died under it and nothing
				 * of it was written: it can be run again */
};

/* Record an error in e (may be NULL); always returns -1 for tail calls. */
int crm_err_set(struct crm_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reset e to "no error". */
void crm_err_clear(struct crm_err *e);

/*
 * struct crm_buf - a growable byte buffer with a cap (curl's dynbuf).
 * A zeroed struct is an empty buffer with no cap. The content is always
 * NUL-terminated once anything was added. Appends past the cap fail and
 * leave the buffer as it was.
 */
struct crm_buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;	/* 0 = unlimited */
};

void crm_buf_init(struct crm_buf *b, size_t cap);
void crm_buf_release(struct crm_buf *b);
/* Keep the allocation, forget the content. */
void crm_buf_reset(struct crm_buf *b);
/* Make room for n more bytes; 0, or -1 when out of memory or over cap. */
int crm_buf_grow(struct crm_buf *b, size_t n);
int crm_buf_add(struct crm_buf *b, const void *p, size_t n);
int crm_buf_adds(struct crm_buf *b, const char *s);
int crm_buf_addc(struct crm_buf *b, char c);
int crm_buf_addf(struct crm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* s as XML or HTML text or attribute value: & < > " ' escaped, and the
 * control characters XML 1.0 cannot hold dropped. -1 when out of memory. */
int crm_buf_add_xml(struct crm_buf *b, const char *s);
/* Hand the content to the caller (free() it) and leave b empty. */
char *crm_buf_detach(struct crm_buf *b, size_t *len);

/* Duplicate n bytes as a NUL-terminated string; NULL when out of memory. */
char *crm_strndup(const char *s, size_t n);

/* A whole file, mapped read-only. */
struct crm_map {
	void *data;
	size_t len;
	long long mtime;	/* seconds since the epoch */
};
/*
 * Map the regular file path. Errors name the file: CRM_ENOINPUT when it
 * cannot be opened or is not a regular file, CRM_EDATA when it is empty or
 * longer than max bytes (what says what it is: "a call"), CRM_EIO.
 */
int crm_map_file(const char *path, unsigned long long max, const char *what,
		 struct crm_map *m, struct crm_err *e);
void crm_unmap(struct crm_map *m);

/* Seconds since the epoch with sub-second precision, monotonic clock. */
/*
 * A named point where a crash test may stop the process: when $CRM_FAULT
 * names point, the process kills itself there with SIGKILL, as a power
 * cut would. Does nothing otherwise.
 */
void crm_fault(const char *point);

double crm_now(void);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 25 bytes). */
void crm_timestamp(char *buf, size_t n);

/* FNV-1a hash of a string, for hash tables (not for security). */
uint64_t crm_strhash(const char *s);

#include "banned.h"

#endif
