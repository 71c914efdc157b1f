/*
 * cli.h - what every crm tool does the same way: one option table that
 * drives getopt_long, --help and shell completion; messages on stderr in
 * the form "crm-import: leads.csv:12: reason"; checked writes to stdout.
 */
#ifndef CRM_CLI_H
#define CRM_CLI_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "../lib/entity.h"
#include "../lib/reader.h"
#include "../lib/util.h"

struct crm_stmt;

struct cli_opt {
	const char *name;	/* long name, without "--" */
	int key;		/* short letter, or a value >= 256 */
	const char *arg;	/* argument name, NULL if none */
	const char *help;
};

struct cli {
	const char *name;	/* "crm-import" */
	const char *usage;	/* "[options] [file...]" */
	const char *about;	/* one line */
	const struct cli_opt *opts;	/* ends with { NULL } */
};

/* Common option keys handled by cli_next(). */
enum { CLI_DB = 'D' + 1000, CLI_VERSION, CLI_COMPLETE, CLI_KEYFILE, CLI_BUSY, CLI_LOGFMT, CLI_HELP = 'h' };

extern const char *cli_prog;	/* name for messages */
extern const char *cli_db;	/* --db value or NULL */

/* "FILE:LINE" of the configuration file that gave setting name (an
 * environment variable) in this process, or NULL. */
const char *cli_config_source(const char *name);

/* Open the database the tool was given (--db, $CRM_DB, ./crm.db) with
 * crm_store_open's flags, or exit saying why. */
struct crm_store *cli_open(int flags);
extern int cli_busy_given;	/* --busy-timeout was given */

/*
 * Next option from argv: returns its key with the argument in *arg, -1
 * when options end (optind is the first operand). --help, --version,
 * --complete-options and bad usage are dealt with here (exit).
 */
int cli_next(const struct cli *c, int argc, char **argv, const char **arg);

void cli_usage(const struct cli *c, FILE *fp);

/*
 * The tools' messages on stderr, one line each: as "prog: message" for
 * people (--log-format text, the default), or with time, level and
 * program as key=value fields (logfmt: the default under systemd, which
 * sets JOURNAL_STREAM) or as a JSON object (json), for journald and log
 * shippers. cli_warn is level warn, cli_die error; messages never carry
 * a secret.
 */
enum cli_level { CLI_INFO, CLI_WARN, CLI_ERROR };
/* Set the format by name (text, logfmt, json); -1 when it is none. */
int cli_log_format(const char *name);
__attribute__((format(printf, 2, 3)))
void cli_log(enum cli_level level, const char *fmt, ...);
/* A detail under the message before it: indented, without the program's
 * name, as text; an info line of its own in the other formats. */
__attribute__((format(printf, 1, 2)))
void cli_log_more(const char *fmt, ...);

/* A report of lines: the first as cli_log (info), the others, indented
 * by two spaces, as cli_log_more. */
void cli_log_report(const char *text);

__attribute__((format(printf, 1, 2)))
void cli_warn(const char *fmt, ...);
/* A progress line on stderr when it is a terminal, written over by the
 * next; cleared before any message, or by cli_progress_clear(). */
__attribute__((format(printf, 1, 2)))
void cli_progress(const char *fmt, ...);
void cli_progress_clear(void);
/* cli_warn and cli_log(CLI_INFO) of a line, as callbacks of lib/ (ctx
 * unused). */
void cli_warn_cb(void *ctx, const char *line);
void cli_info_cb(void *ctx, const char *line);
__attribute__((noreturn, format(printf, 2, 3)))
void cli_die(int code, const char *fmt, ...);
/* Die with the message and code of e. */
__attribute__((noreturn))
void cli_die_err(const struct crm_err *e);

/*
 * The record type named by a --type argument, which must be kind a or
 * kind b (a NULL: any); dies with a usage error naming them otherwise.
 */
const struct crm_entity *cli_type(const char *arg, const char *a, const char *b);

/*
 * Records read by a filter from its file operands, or stdin ("-" or
 * none), a chunk at a time: the lines it has, up to a maximum, without
 * waiting for more once some are in hand. So a filter works in short
 * steps whatever the pace upstream, and never holds the database while
 * it waits for input.
 */
struct cli_in {
	char **files;
	int nfiles;
	char **line;		/* the chunk: NUL-terminated lines, line[0..n) */
	size_t *len;
	size_t n, alloc;
	long long lines;	/* read so far */
	/* The reading thread and the queue it fills, q[0..queued) holding
	 * bytes bytes; the chunk's arrays are the caller's alone, so the
	 * reader never moves them while the caller works on a chunk. */
	char **q;
	size_t *qlen;
	size_t queued, qalloc, bytes;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, eof;
};
void cli_in_init(struct cli_in *in, char **files, int nfiles);
/* The next chunk into in->line[0..in->n); 0 at the end of the input. */
size_t cli_in_chunk(struct cli_in *in, size_t max);
void cli_in_release(struct cli_in *in);

/*
 * An NDJSON record json[0..n) as a line of a table on stdout: the values
 * of keys (dotted for nested ones, "duplicate.action"; "name|email" the
 * first of them the record has), with a header line the first time
 * (*header is set then).
 */
void cli_table_record(const char *json, size_t n, const char *const *keys, int *header);
/* The same for a record already parsed (not taken). A key "name:20" is
 * shown in a column 20 wide (19 by default; the last is not cut). */
void cli_table_object(json_t *o, const char *const *keys, int *header);

/*
 * Write the rows of st (freed at the end): each as the JSON object row
 * appends to b (a newline is added if it has none), as NDJSON, or as a
 * table of keys (table). A row that cannot be read ends it with an
 * error. Returns the rows written.
 */
int cli_rows(struct crm_stmt *st, int (*row)(struct crm_buf *b, struct crm_stmt *st, void *ctx),
	     void *ctx, const char *const *keys, int table);
/* A row as an NDJSON record of kind (a string), for cli_rows. */
int cli_row_kind(struct crm_buf *b, struct crm_stmt *st, void *kind);

/* Is fd a terminal, and may we use colour on it ($NO_COLOR, --color)? */
int cli_isatty(int fd);

/*
 * The whole of fp (named what in messages) as a string; more than cap
 * bytes dies with status 65.
 */
char *cli_slurp(FILE *fp, const char *what, size_t cap);
/* The whole of file path (at most cap bytes), or exit saying why. */
char *cli_file(const char *path, size_t cap);

/* Set cli_stopping on SIGINT and SIGTERM (no restart: sleeps end early). */
extern volatile sig_atomic_t cli_stopping;
void cli_catch_stop(void);

/*
 * Write to stdout. On EPIPE (the reader went away) returns -1 with
 * cli_epipe set; other errors die with status 74.
 */
int cli_write(const void *buf, size_t n);
/* From now on cli_write appends to b instead (NULL: to stdout again),
 * for output that is reshaped before it is written. */
struct crm_buf;
void cli_capture(struct crm_buf *b);
extern int cli_epipe;

/* Flush and close stdout at exit; a failure is status 74. */
int cli_finish(int status);

/*
 * A secret (password, token, webhook URL): the first line of file path,
 * else the environment variable env (may be NULL), else NULL. Never from
 * argv. An unreadable or empty file dies. free() it after explicit_bzero().
 */
char *cli_secret(const char *path, const char *env);
/* A secret wiped and freed (NULL: nothing). */
void cli_secret_free(char *s);
/* --format for tools that write ndjson or a table: 1 for table, or die. */
int cli_table(const char *arg);
/*
 * --format for tools that also write for CI (NULL: a table on a
 * terminal, else NDJSON), or die. Between cli_ci_begin() and
 * cli_ci_end() the NDJSON written is kept, then written as JUnit XML or
 * GitHub workflow commands, a test suite named suite; for the other
 * formats both do nothing.
 */
enum { CLI_NDJSON, CLI_TABLE, CLI_JUNIT, CLI_GITHUB };
int cli_format(const char *arg);
/* The place of arg among names (NULL-terminated), the values option
 * --opt takes; else a usage error that lists them. */
int cli_choice(const char *opt, const char *arg, const char *const *names);
/* The same, -1 when arg is none of them. */
int cli_among(const char *arg, const char *const *names);
void cli_ci_begin(int fmt);
void cli_ci_end(int fmt, const char *suite);
/* The number in s for option --opt, from lo to hi; else a usage error. */
double cli_num(const char *opt, const char *s, double lo, double hi);
/* A size for option opt: a positive number, with k, M or G; or exit. */
size_t cli_size(const char *opt, const char *s);

/*
 * Are records being piped in? A pipe, socket or file on stdin: yes. A
 * terminal, /dev/null (cron, CI) or a closed stdin: no.
 */
int cli_stdin_records(void);

/* Version string of the toolkit. */
extern const char cli_version[];

#endif
