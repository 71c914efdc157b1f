/*
 * reader.h - reading an input file or stdin line by line, with a cap on the
 * length of one line so a corrupt or hostile file cannot exhaust memory.
 */
#ifndef CRM_READER_H
#define CRM_READER_H

#include <iconv.h>
#include <stdio.h>

#include "util.h"

/* Default cap on one line (NDJSON record or physical CSV line): 64 MiB. */
#define CRM_LINE_CAP_DEFAULT ((size_t)64 << 20)

struct crm_reader {
	FILE *fp;
	char *name;		/* file name for messages; "-" reads stdin */
	size_t cap;		/* longest line accepted, in bytes */
	long lineno;		/* number of the line last returned (1-based) */
	struct crm_buf line;	/* the line last returned, without newline */
	char *buf;		/* read buffer */
	size_t pos, end;
	int eof, owns_fp, started;
	int crlf;		/* the line ended in CR LF (the CR is not in line) */
	int fd;			/* read(2) from it; -1: fread from fp */
	char *encoding;		/* crm_reader_encoding, or NULL for UTF-8 */
	iconv_t cd;
	char *raw;		/* bytes read, not converted yet */
	size_t nraw;
	long long consumed;	/* bytes of input converted */
	/* Records given back (crm_reader_again), read before the rest. */
	struct crm_buf again;
	struct crm_again { long lineno; size_t off, len; } *ag;
	size_t nag, iag, aag, ins;
	long resume;		/* the line number to go on from after them */
};

/*
 * Would the next crm_reader_line return without waiting (a whole line
 * is buffered, the input is at its end or has bytes waiting)? A filter
 * works on what it has when not: it never sits on records while
 * upstream is slow.
 */
int crm_reader_ready(struct crm_reader *r);

/* Read input in charset (Latin-1, Windows-1252, UTF-16...), converted
 * to UTF-8. Call before the first read; NULL or UTF-8 changes nothing. */
int crm_reader_encoding(struct crm_reader *r, const char *charset, struct crm_err *e);

/* Results of crm_reader_line(). */
enum { CRM_LINE_EOF = 0, CRM_LINE_OK = 1, CRM_LINE_TOOLONG = 2 };

/*
 * Open path ("-" for stdin) with lines of at most cap bytes (0: default).
 * A UTF-8 byte-order mark at the start is skipped. -1 with e filled
 * (CRM_ENOINPUT) when the file cannot be opened.
 */
int crm_reader_open(struct crm_reader *r, const char *path, size_t cap,
		    struct crm_err *e);
/* Read an open stream (not closed by crm_reader_release); name for messages. */
int crm_reader_stream(struct crm_reader *r, const char *name, FILE *fp, size_t cap,
		      struct crm_err *e);
void crm_reader_release(struct crm_reader *r);

/*
 * Read the next line into r->line (newline and a trailing CR removed).
 * Returns CRM_LINE_OK, CRM_LINE_EOF, CRM_LINE_TOOLONG (the line was read
 * and dropped; r->line holds its first bytes), or -1 on a read error (e).
 */
int crm_reader_line(struct crm_reader *r, struct crm_err *e);

/*
 * Give a record back: the next crm_reader_line calls return the records
 * given back, in order, each as one line with its own line number (a
 * CSV record of several lines keeps its newlines), then the input goes
 * on where it was. Records given back between two reads come before
 * those given back earlier and not read yet. What a failed write had read is read again so.
 */
int crm_reader_again(struct crm_reader *r, long lineno, const char *raw, size_t len);

/*
 * Look at the first bytes not yet read without consuming them: returns the
 * first byte that is not white space, -1 at end of input, -2 on a read
 * error (e). Blank lines before it are consumed and counted.
 */
int crm_reader_peek(struct crm_reader *r, struct crm_err *e);

#endif
