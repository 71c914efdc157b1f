/*
 * reader.c - buffered line input with a length cap.
 *
 * getline() grows its buffer to fit any line, so one 10 GiB line without a
 * newline takes 10 GiB. This reader stops copying at the cap, reads on to
 * the next newline, and reports the line as too long instead.
 */
#include <errno.h>
#include <iconv.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "reader.h"

#define READ_CHUNK (256 * 1024)

int crm_reader_open(struct crm_reader *r, const char *path, size_t cap,
		    struct crm_err *e)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap ? cap : CRM_LINE_CAP_DEFAULT;
	crm_buf_init(&r->line, 0);
	r->name = strdup(path);
	r->buf = malloc(READ_CHUNK);
	if (!r->name || !r->buf) {
		crm_reader_release(r);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	r->fd = -1;
	if (!strcmp(path, "-")) {
		r->fp = stdin;
		r->fd = 0;
	} else {
		r->fp = fopen(path, "rb");
		if (!r->fp) {
			crm_err_set(e, CRM_ENOINPUT, "%s: %s", path,
				    strerror(errno));
			crm_reader_release(r);
			return -1;
		}
		r->owns_fp = 1;
		r->fd = fileno(r->fp);
	}
	return 0;
}

int crm_reader_ready(struct crm_reader *r)
{
	struct pollfd pfd;

	if (r->iag < r->nag)
		return 1;
	if (r->eof || (r->pos < r->end && memchr(r->buf + r->pos, '\n', r->end - r->pos)))
		return 1;
	if (r->fd < 0)
		return 1;
	pfd.fd = r->fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) > 0;
}

int crm_reader_stream(struct crm_reader *r, const char *name, FILE *fp, size_t cap,
		      struct crm_err *e)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap ? cap : CRM_LINE_CAP_DEFAULT;
	crm_buf_init(&r->line, 0);
	r->name = strdup(name);
	r->buf = malloc(READ_CHUNK);
	if (!r->name || !r->buf) {
		crm_reader_release(r);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	r->fp = fp;
	r->fd = -1;	/* a stream in memory (fmemopen) has none */
	return 0;
}

void crm_reader_release(struct crm_reader *r)
{
	crm_buf_release(&r->again);
	free(r->ag);
	r->ag = NULL;
	r->nag = r->iag = r->aag = r->ins = 0;
	if (r->owns_fp && r->fp)
		fclose(r->fp);
	r->fp = NULL;
	free(r->name);
	r->name = NULL;
	free(r->buf);
	r->buf = NULL;
	if (r->encoding)
		iconv_close(r->cd);
	free(r->encoding);
	free(r->raw);
	r->encoding = NULL;
	r->raw = NULL;
	crm_buf_release(&r->line);
}

/* Read what the input holds now into buf[0..max): bytes, 0 at its end. */
static int read_raw(struct crm_reader *r, char *buf, size_t max, size_t *n, struct crm_err *e)
{
	/* A pipe is read for what it holds now (read(2)), not until the
	 * buffer is full (fread): a filter downstream of a slow stage sees
	 * each record as it comes. */
	if (r->fd >= 0) {
		ssize_t got;

		do
			got = read(r->fd, buf, max);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return crm_err_set(e, CRM_EIO, "%s: read error: %s",
					   r->name, strerror(errno));
		*n = (size_t)got;
	} else {
		*n = fread(buf, 1, max, r->fp);
		if (*n == 0 && ferror(r->fp))
			return crm_err_set(e, CRM_EIO, "%s: read error: %s",
					   r->name, strerror(errno));
	}
	return 0;
}

/* Input in another encoding (crm_reader_encoding): read, then converted
 * to UTF-8; a character cut by the end of a read waits for the next. */
static int fill_converted(struct crm_reader *r, size_t *n, struct crm_err *e)
{
	char *in, *out = r->buf;
	size_t inleft, outleft = READ_CHUNK, got;

	if (read_raw(r, r->raw + r->nraw, READ_CHUNK / 4 - r->nraw, &got, e) < 0)
		return -1;
	if (!got && !r->nraw) {
		*n = 0;
		return 0;
	}
	r->nraw += got;
	in = r->raw;
	inleft = r->nraw;
	if (iconv(r->cd, &in, &inleft, &out, &outleft) == (size_t)-1 &&
	    (errno == EILSEQ || (errno == EINVAL && !got)))
		return crm_err_set(e, CRM_EDATA, "%s: byte %lld is not %s",
				   r->name, r->consumed + (long long)(in - r->raw) + 1, r->encoding);
	r->consumed += (long long)(in - r->raw);
	memmove(r->raw, in, inleft);
	r->nraw = inleft;
	*n = READ_CHUNK - outleft;
	if (!*n && got)	/* only part of a character so far */
		return fill_converted(r, n, e);
	return 0;
}

static int fill(struct crm_reader *r, struct crm_err *e)
{
	size_t n;

	if (r->eof)
		return 0;
	if (r->encoding ? fill_converted(r, &n, e) < 0 : read_raw(r, r->buf, READ_CHUNK, &n, e) < 0)
		return -1;
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->pos = 0;
	if (!r->started && n >= 3 && !memcmp(r->buf, "\xef\xbb\xbf", 3))
		r->pos = 3;
	/* UTF-16, with its byte-order mark or without (an ASCII letter and a
	 * zero byte, twice): named, not read as garbage rows. */
	if (!r->started && !r->encoding && n >= 4 &&
	    (!memcmp(r->buf, "\xff\xfe", 2) || !memcmp(r->buf, "\xfe\xff", 2) ||
	     (r->buf[0] && !r->buf[1] && r->buf[2] && !r->buf[3]) ||
	     (!r->buf[0] && r->buf[1] && !r->buf[2] && r->buf[3]))) {
		r->eof = 1;
		return crm_err_set(e, CRM_EDATA,
				   "%s: UTF-16 text; crm reads UTF-8: give --encoding UTF-16 "
				   "(or convert it: iconv -f UTF-16 -t UTF-8)", r->name);
	}
	r->started = 1;
	r->end = n;
	return 1;
}

int crm_reader_encoding(struct crm_reader *r, const char *charset, struct crm_err *e)
{
	if (!charset || !*charset || !strcasecmp(charset, "UTF-8") || !strcasecmp(charset, "UTF8"))
		return 0;
	r->cd = iconv_open("UTF-8", charset);
	if (r->cd == (iconv_t)-1)
		return crm_err_set(e, CRM_EUSAGE, "--encoding: '%s' is not an encoding iconv knows", charset);
	if (!(r->encoding = strdup(charset)) || !(r->raw = malloc(READ_CHUNK / 4))) {
		iconv_close(r->cd);
		r->cd = (iconv_t)-1;
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	return 0;
}

int crm_reader_peek(struct crm_reader *r, struct crm_err *e)
{
	for (size_t k = r->iag; k < r->nag; k++)
		for (size_t i = 0; i < r->ag[k].len; i++) {
			unsigned char c = (unsigned char)r->again.data[r->ag[k].off + i];

			if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				return c;
		}
	for (;;) {
		for (size_t i = r->pos; i < r->end; i++) {
			unsigned char c = (unsigned char)r->buf[i];

			if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				return c;
		}
		/* Only blank lines so far: consume them, keeping count. */
		for (size_t i = r->pos; i < r->end; i++)
			if (r->buf[i] == '\n')
				r->lineno++;
		r->pos = r->end;
		switch (fill(r, e)) {
		case -1:
			return -2;
		case 0:
			return -1;
		}
	}
}

int crm_reader_again(struct crm_reader *r, long lineno, const char *raw, size_t len)
{
	if (r->nag == r->aag) {
		size_t na = r->aag ? 2 * r->aag : 64;
		struct crm_again *p = realloc(r->ag, na * sizeof(*p));

		if (!p)
			return -1;
		r->ag = p;
		r->aag = na;
	}
	if (!r->nag)
		r->resume = r->lineno;
	/* Before what is still waiting to be read again, after what was
	 * given back since the last read. */
	size_t at = r->iag + r->ins;
	memmove(&r->ag[at + 1], &r->ag[at], (r->nag - at) * sizeof(*r->ag));
	r->ag[at].lineno = lineno;
	r->ag[at].off = r->again.len;
	r->ag[at].len = len;
	if (crm_buf_add(&r->again, raw, len) < 0)
		return -1;
	r->nag++;
	r->ins++;
	return 0;
}

int crm_reader_line(struct crm_reader *r, struct crm_err *e)
{
	int toolong = 0, got = 0;

	crm_buf_reset(&r->line);
	r->ins = 0;
	if (r->nag) {
		if (r->iag < r->nag) {
			const struct crm_again *a = &r->ag[r->iag++];

			if (crm_buf_add(&r->line, r->again.data + a->off, a->len) < 0)
				return crm_err_set(e, CRM_ESOFTWARE, "%s:%ld: out of memory", r->name, a->lineno);
			r->lineno = a->lineno;
			r->crlf = 0;
			return CRM_LINE_OK;
		}
		r->lineno = r->resume;
		r->nag = r->iag = 0;
		crm_buf_reset(&r->again);
	}
	for (;;) {
		char *nl;
		size_t n;

		if (r->pos >= r->end) {
			int rc = fill(r, e);

			if (rc < 0)
				return -1;
			if (rc == 0) {
				if (!got)
					return CRM_LINE_EOF;
				break;
			}
		}
		got = 1;
		nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
		n = (nl ? (size_t)(nl - r->buf) : r->end) - r->pos;
		if (!toolong) {
			if (r->line.len + n > r->cap) {
				toolong = 1;
			} else if (crm_buf_add(&r->line, r->buf + r->pos, n) < 0) {
				return crm_err_set(e, CRM_ESOFTWARE,
						   "%s:%ld: out of memory",
						   r->name, r->lineno + 1);
			}
		}
		r->pos += n;
		if (nl) {
			r->pos++;
			break;
		}
	}
	r->lineno++;
	r->crlf = r->line.len && r->line.data[r->line.len - 1] == '\r';
	if (r->crlf)
		r->line.data[--r->line.len] = '\0';
	if (!r->line.data)
		crm_buf_add(&r->line, "", 0);
	return toolong ? CRM_LINE_TOOLONG : CRM_LINE_OK;
}
