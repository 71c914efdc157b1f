/*
 * cli-io.c - what the commands share for their records: input read ahead
 * in chunks, and output as NDJSON or, on a terminal, as a table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "../lib/ndjson.h"
#include "../lib/row.h"
#include "../lib/store/store.h"

void cli_in_init(struct cli_in *in, char **files, int nfiles)
{
	static char *dash[] = { (char *)"-" };

	memset(in, 0, sizeof(*in));
	in->files = nfiles ? files : dash;
	in->nfiles = nfiles ? nfiles : 1;
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv, NULL);
}

/*
 * The input is read by a thread of its own into a queue, as fast as the
 * stage before writes it (up to IN_AHEAD bytes ahead): that stage is never
 * held up writing while this one works on a chunk.
 */
#define IN_AHEAD ((size_t)64 << 20)

/* Free the chunk handed out last (the caller's thread, or the lock held). */
static void in_clear(struct cli_in *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->line[i]);
	in->n = 0;
}

/* Room for n lines in a pair of line and length arrays of *alloc. */
static void grow(char ***line, size_t **len, size_t *alloc, size_t n)
{
	char **l;
	size_t *ln;

	if (n <= *alloc)
		return;
	l = realloc(*line, n * sizeof(*l));
	ln = realloc(*len, n * sizeof(*ln));
	if (l)
		*line = l;
	if (ln)
		*len = ln;
	if (!l || !ln)
		cli_die(CRM_ESOFTWARE, "out of memory");
	*alloc = n;
}

/* Queue one line (copied); called with the lock held. */
static void in_push(struct cli_in *in, const char *s, size_t n)
{
	if (in->queued == in->qalloc)
		grow(&in->q, &in->qlen, &in->qalloc, in->qalloc ? in->qalloc * 2 : 64);
	if (!(in->q[in->queued] = malloc(n + 1)))
		cli_die(CRM_ESOFTWARE, "out of memory");
	memcpy(in->q[in->queued], s, n);
	in->q[in->queued][n] = 0;
	in->qlen[in->queued++] = n;
	in->bytes += n;
}

/* The first n queued lines into the chunk's own arrays; the rest move up.
 * Called with the lock held. */
static void in_take(struct cli_in *in, size_t n)
{
	in->n = n;
	if (!n)
		return;		/* nothing queued: nothing to move (memcpy of NULL) */
	grow(&in->line, &in->len, &in->alloc, n);
	memcpy(in->line, in->q, n * sizeof(*in->line));
	memcpy(in->len, in->qlen, n * sizeof(*in->len));
	for (size_t i = 0; i < n; i++)
		in->bytes -= in->qlen[i];
	memmove(in->q, in->q + n, (in->queued - n) * sizeof(*in->q));
	memmove(in->qlen, in->qlen + n, (in->queued - n) * sizeof(*in->qlen));
	in->queued -= n;
	in->n = n;
}

static void *in_reader(void *arg)
{
	struct cli_in *in = arg;
	struct crm_err e = { 0 };
	struct crm_reader r;

	for (int f = 0; f < in->nfiles; f++) {
		int rc;

		if (crm_reader_open(&r, in->files[f], 0, &e) < 0)
			cli_die_err(&e);
		while ((rc = crm_reader_line(&r, &e)) != CRM_LINE_EOF) {
			if (rc < 0)
				cli_die_err(&e);
			if (rc == CRM_LINE_TOOLONG) {
				cli_warn("%s:%ld: line longer than %zu bytes: left out",
					 in->files[f], r.lineno, r.cap);
				continue;
			}
			if (!r.line.len)
				continue;
			pthread_mutex_lock(&in->mu);
			while (in->bytes >= IN_AHEAD)
				pthread_cond_wait(&in->cv, &in->mu);
			in_push(in, r.line.data, r.line.len);
			in->lines++;
			pthread_cond_broadcast(&in->cv);
			pthread_mutex_unlock(&in->mu);
		}
		crm_reader_release(&r);
	}
	pthread_mutex_lock(&in->mu);
	in->eof = 1;
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	return NULL;
}

size_t cli_in_chunk(struct cli_in *in, size_t max)
{
	in_clear(in);
	pthread_mutex_lock(&in->mu);
	if (!in->started) {
		in->started = 1;
		if (pthread_create(&in->thread, NULL, in_reader, in) != 0)
			cli_die(CRM_ESOFTWARE, "cannot start the input thread");
	}
	/* Wait for a line, or the end; then take what is there. */
	while (!in->queued && !in->eof)
		pthread_cond_wait(&in->cv, &in->mu);
	in_take(in, in->queued < max ? in->queued : max);
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	return in->n;
}

void cli_in_release(struct cli_in *in)
{
	int eof;

	in_clear(in);
	if (!in->started) {
		free(in->line);
		free(in->len);
		memset(in, 0, sizeof(*in));
		return;
	}
	pthread_mutex_lock(&in->mu);
	eof = in->eof;
	pthread_mutex_unlock(&in->mu);
	/* Stopped before the end of the input (the process is on its way
	 * out): the reader may sit in read(2) for good; it is left to the
	 * exit, with what it holds. */
	if (!eof) {
		pthread_detach(in->thread);
		return;
	}
	pthread_join(in->thread, NULL);
	for (size_t i = 0; i < in->queued; i++)
		free(in->q[i]);
	free(in->q);
	free(in->qlen);
	free(in->line);
	free(in->len);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cv);
	memset(in, 0, sizeof(*in));
}

/* The value at a dotted key ("duplicate.action") of o, or NULL. */
static json_t *dotted(json_t *o, const char *key)
{
	char part[64];
	const char *dot;

	while ((dot = strchr(key, '.')) && o) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
		o = json_object_get(o, part);
		key = dot + 1;
	}
	return o ? json_object_get(o, key) : NULL;
}

/* The value of the first of keys "a|b|c" that o has, or NULL. */
static json_t *first_of(json_t *o, char *keys)
{
	json_t *v = NULL;
	char *save;

	for (char *k = strtok_r(keys, "|", &save); k && !v; k = strtok_r(NULL, "|", &save))
		v = dotted(o, k);
	return v;
}

void cli_table_record(const char *json, size_t n, const char *const *keys, int *header)
{
	json_t *o = json_loadb(json, n, 0, NULL);

	cli_table_object(o, keys, header);
	json_decref(o);
}

void cli_table_object(json_t *o, const char *const *keys, int *header)
{
	struct crm_buf b;

	if (!o)
		return;
	crm_buf_init(&b, 0);
	for (int pass = *header; pass < 2; pass++) {
		for (int k = 0; keys[k]; k++) {
			char key[64], cell[128] = "";
			const char *colon = strchr(keys[k], ':'), *dot;
			int w = colon ? atoi(colon + 1) : 19;
			json_t *v = NULL;

			snprintf(key, sizeof(key), "%.*s", colon ? (int)(colon - keys[k]) : 63, keys[k]);
			if (pass)
				v = first_of(o, key);
			if (!pass) {	/* the header: the first name */
				key[strcspn(key, "|")] = '\0';
				dot = strrchr(key, '.');
				snprintf(cell, sizeof(cell), "%s", dot ? dot + 1 : key);
			} else if (json_is_string(v)) {
				snprintf(cell, sizeof(cell), "%s", json_string_value(v));
			} else if (json_is_integer(v)) {
				snprintf(cell, sizeof(cell), "%lld", (long long)json_integer_value(v));
			} else if (json_is_real(v)) {
				snprintf(cell, sizeof(cell), "%.4g", json_real_value(v));
			} else if (json_is_null(v)) {
				snprintf(cell, sizeof(cell), "-");
			}
			if (keys[k + 1])
				crm_buf_addf(&b, "%-*.*s ", w, w, cell);
			else
				crm_buf_adds(&b, cell);
		}
		if (!pass) {
			crm_buf_addc(&b, '\n');
			*header = 1;
		}
	}
	crm_buf_addc(&b, '\n');
	cli_write(b.data, b.len);
	crm_buf_release(&b);
}

int cli_rows(struct crm_stmt *st, int (*row)(struct crm_buf *b, struct crm_stmt *st, void *ctx),
	     void *ctx, const char *const *keys, int table)
{
	struct crm_err e = { 0 };
	struct crm_buf b;
	int rc, n = 0, header = 0;

	crm_buf_init(&b, 0);
	while ((rc = crm_stmt_step(st, &e)) == 1) {
		crm_buf_reset(&b);
		if (row(&b, st, ctx) < 0 || (b.len && b.data[b.len - 1] != '\n' && crm_buf_addc(&b, '\n') < 0))
			cli_die(CRM_ESOFTWARE, "out of memory");
		if (table)
			cli_table_record(b.data, b.len, keys, &header);
		else if (cli_write(b.data, b.len) < 0)
			break;
		n++;
	}
	crm_buf_release(&b);
	crm_stmt_free(st);
	if (rc < 0)
		cli_die_err(&e);
	return n;
}

int cli_row_kind(struct crm_buf *b, struct crm_stmt *st, void *kind)
{
	return crm_row_json(b, st, kind, NULL);
}
