/*
 * import.h - loading records from CSV and NDJSON into the database.
 *
 * Each input record becomes an upsert keyed by (source, external id), or a
 * natural key when there is no external id (a contact's email, an
 * account's domain or name, a hash of an interaction's identity fields).
 * Re-importing the same rows changes nothing; a changed row updates only
 * the columns it has values for; unmapped columns go into attrs. Rows are
 * written in batches, one transaction each, and reported as NDJSON only
 * after their batch committed. Every record either lands or is passed to
 * the reject hook with its file, line and reason.
 */
#ifndef CRM_IMPORT_H
#define CRM_IMPORT_H

#include <stdio.h>


#include "entity.h"
#include "normalize.h"
#include "store/store.h"
#include "util.h"

enum crm_format { CRM_FMT_AUTO, CRM_FMT_CSV, CRM_FMT_NDJSON };

struct crm_import_opts {
	const char *source;	/* source of rows without one; NULL: "import" */
	enum crm_date_order dates;
	size_t batch;		/* rows per transaction; 0: 20000 */
	size_t line_cap;	/* longest input line; 0: CRM_LINE_CAP_DEFAULT */
	const char *encoding;	/* of the input files (iconv's name); NULL: UTF-8 */
	int delim;		/* CSV separator; 0: guess */
	int dry_run;		/* check and resolve, then roll back */
	int records;		/* produce NDJSON records for the records hook */
	/* A contact whose email or phone was erased (crm-forget): 0 refuse
	 * it, 1 import it flagged (consent denied, attrs.suppressed). */
	int suppressed_flag;
};

struct crm_import_stats {
	long long rows, inserted, updated, unchanged, rejected, warnings;
	/* rows read but not written because a fatal error ended their batch */
	long long lost;
	/* batches read again because their connection died under them */
	long long retried;
};

struct crm_import_hooks {
	void *ctx;
	/* NDJSON lines of records that landed; -1 stops the import (EIO). */
	int (*records)(void *ctx, const char *buf, size_t len);
	/* A record that did not land; raw is its input text. -1 stops. */
	int (*reject)(void *ctx, const char *file, long line,
		      const char *reason, const char *raw, size_t rawlen);
	/* Something worth saying that is not a reject: "FILE:LINE: ...". */
	void (*warn)(void *ctx, const char *msg);
	/*
	 * Before an existing record (id) of type t is changed by an upsert:
	 * 1 allow, 0 refuse (the input record is rejected as a conflict), -1
	 * fail. NULL allows every change.
	 */
	int (*may_update)(void *ctx, const struct crm_entity *t, const char *id);
	/* Called every few thousand rows. */
	void (*progress)(void *ctx, const char *file,
			 const struct crm_import_stats *st);
};

struct crm_import;

/*
 * A new importer writing to db (borrowed, must outlive it). NULL with e
 * filled on failure. Free with crm_import_free().
 */
struct crm_import *crm_import_new(struct crm_store *db, const struct crm_import_opts *o,
				  const struct crm_import_hooks *h,
				  struct crm_err *e);
void crm_import_free(struct crm_import *im);

/*
 * Add a column mapping "Header=field" (field: a field of the type,
 * external_id, id, source, or attrs to keep it as a custom field). Checked
 * against each file's type when the file is read.
 */
int crm_import_map(struct crm_import *im, const char *spec, struct crm_err *e);

/*
 * Guess format and type of a file without consuming it for good (opens
 * and closes it). *type may stay NULL (NDJSON records name their type).
 * Not for stdin.
 */
int crm_import_probe(const char *path, enum crm_format *fmt,
		     const struct crm_entity **type, size_t line_cap,
		     const char *encoding, struct crm_err *e);

/*
 * Import one input ("-" is stdin) of format fmt (AUTO: by extension, else
 * by content) as records of type (NULL: guess from the file name and
 * header, or each NDJSON record's "type"). Returns 0 when the file was
 * read to the end (some rows may have been rejected), -1 with e on a
 * fatal error (unreadable input, disk full, a failing hook): batches
 * committed before it stay.
 */
int crm_import_file(struct crm_import *im, const char *path,
		    enum crm_format fmt, const struct crm_entity *type,
		    struct crm_err *e);

/* The same for an open stream (records built in memory, fmemopen). */
int crm_import_stream(struct crm_import *im, const char *name, FILE *fp,
		      enum crm_format fmt, const struct crm_entity *type,
		      struct crm_err *e);

const struct crm_import_stats *crm_import_stats(const struct crm_import *im);

/*
 * From now on, a new record of a type with an owner that names none gets
 * owner (NULL: none); a record the upsert finds keeps its own owner. -1
 * when out of memory.
 */
int crm_import_set_owner(struct crm_import *im, const char *owner);

/* A file given to import: its format and type (NULL: the records say),
 * and whether it is mail. */
struct crm_import_input {
	const char *path;
	enum crm_format fmt;
	const struct crm_entity *type;
	int mail;
	size_t order;		/* as given */
};

/*
 * Several files in the order that loads what others refer to first
 * (accounts before deals; mail, which refers to contacts, last): each
 * file's type probed (crm_import_probe, with o's line cap and encoding)
 * where not given, mail taken for interactions. 0, or -1 with e.
 */
int crm_import_order(struct crm_import_input *in, size_t n, const struct crm_import_opts *o,
		     struct crm_err *e);

/* Import the NDJSON records data[0..len), built in memory, as name. */
int crm_import_buffer(struct crm_import *im, const char *name, const char *data, size_t len,
		      struct crm_err *e);

/* Column maps given as one "A=b,C=d" (a comma followed by X= starts the
 * next), each through crm_import_map. */
int crm_import_maps(struct crm_import *im, const char *spec, struct crm_err *e);

/*
 * A rejected row as a line of a rejects file (newline ended), appended to
 * b: {"file", "line", "reason", "raw"}, and "raw_base64" when the row is
 * not UTF-8 (a Latin-1 file read without --encoding): "raw" shows it with
 * U+FFFD, the base64 keeps its bytes, so it can be recovered exactly.
 */
int crm_import_reject_json(struct crm_buf *b, const char *file, long line, const char *why,
			   const char *raw, size_t rawlen);

/*
 * What an import did, as a sentence appended to b: rows inserted,
 * updated, unchanged, rejected (more: rejected before the import saw
 * them), not written, batches written again, messages skipped, the rate
 * over seconds, and whether it was a dry run or the rejects went to a file.
 */
int crm_import_summary(struct crm_buf *b, const struct crm_import_stats *st, long long more,
		       long skipped, double seconds, int dry_run, int rejects_file);

#endif
