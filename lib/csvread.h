/*
 * csvread.h - CSV records from a struct crm_reader through libcsv, with
 * the raw text and starting line of every record kept for messages and
 * rejects, and a header row mapped to column names.
 */
#ifndef CRM_CSVREAD_H
#define CRM_CSVREAD_H

#include <csv.h>

#include "reader.h"
#include "util.h"

struct crm_csv {
	struct crm_reader *r;	/* borrowed */
	struct csv_parser p;
	unsigned char delim;
	struct crm_buf fields;	/* field bytes, each NUL-terminated */
	size_t *off;		/* offsets of the fields in .fields */
	size_t nfields, afields;
	long line;		/* first physical line of the current record */
	struct crm_buf raw;	/* raw text of the current record */
	int have_row, failed;
	size_t nul_field;	/* 1 + the first field holding a NUL byte, or 0 */
	/* The record's lines with their own line ends, and the lines given
	 * back after a broken record, read again before the reader's. */
	struct crm_buf rec, replay;
	size_t replay_pos;
	long replay_line, lineno;
	/* The header: column names after crm_csv_header(). */
	char **header;
	size_t ncols;
};

/*
 * Start reading CSV from r. delim is the field separator, or 0 to guess
 * it from the first line (the most frequent of , ; TAB | outside quotes).
 */
int crm_csv_init(struct crm_csv *c, struct crm_reader *r, int delim,
		 struct crm_err *e);
void crm_csv_release(struct crm_csv *c);

/*
 * Read the next record. Returns CRM_REC_OK (fields in c), CRM_REC_EOF,
 * CRM_REC_BAD (e is "FILE:LINE: reason", c->raw the record's text: read
 * on) or CRM_REC_FATAL (read error). Blank lines are skipped.
 */
int crm_csv_next(struct crm_csv *c, struct crm_err *e);

/* Field i of the current record (borrowed, NUL-terminated). */
static inline const char *crm_csv_field(const struct crm_csv *c, size_t i)
{
	return c->fields.data + c->off[i];
}

/* Length of field i. */
size_t crm_csv_field_len(const struct crm_csv *c, size_t i);

/*
 * Read the first record as the header: c->header and c->ncols. An empty
 * header name becomes "column_N"; a repeated one gets "_2", "_3"...
 */
int crm_csv_header(struct crm_csv *c, struct crm_err *e);

/*
 * CSV written for people: a spreadsheet runs a cell starting with = + - @
 * (or a tab or CR) as a formula, so such a cell is written with a leading
 * ' (OWASP's advice on CSV injection), and so is one that starts with
 * quotes before such a character, so that the guard can be taken off
 * again exactly. A + or - followed only by digits and phone punctuation
 * is a number or a phone, not a formula.
 *
 * crm_csv_guarded: does s[0..n) get the leading quote?
 * crm_csv_unguard: s without the quote crm_csv_guarded would have added.
 */
int crm_csv_guarded(const char *s, size_t n);
const char *crm_csv_unguard(const char *s);

/* Append s[0..n) to b as a CSV field: quoted when it holds a comma, a
 * quote, a line break or an edge space, and guarded (crm_csv_guarded)
 * when a spreadsheet would take it for a formula. */
int crm_csv_put(struct crm_buf *b, const char *s, size_t n);

#endif
