/*
 * csvread.c - libcsv driven one physical line at a time.
 *
 * libcsv is a push parser. Feeding it whole lines lets us know the line a
 * record starts on and keep its raw text, and when strict mode finds bad
 * quoting we drop that record and start afresh on the next line, so one
 * bad row costs one row, not the rest of the file.
 */
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "ndjson.h"

#define CSV_OPTS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)

static void on_field(void *s, size_t len, void *data)
{
	struct crm_csv *c = data;

	if (c->failed)
		return;
	if (c->nfields == c->afields) {
		size_t n = c->afields ? c->afields * 2 : 32;
		size_t *p = realloc(c->off, n * sizeof(*p));

		if (!p) {
			c->failed = 1;
			return;
		}
		c->off = p;
		c->afields = n;
	}
	if (s && len && !c->nul_field && memchr(s, '\0', len))
		c->nul_field = c->nfields + 1;
	c->off[c->nfields++] = c->fields.len;
	if (crm_buf_add(&c->fields, s ? s : "", s ? len : 0) < 0 ||
	    crm_buf_addc(&c->fields, '\0') < 0) {
		c->failed = 1;
		return;
	}
	/* crm_buf_addc added the separator; keep len pointing past it. */
}

static void on_row(int term, void *data)
{
	struct crm_csv *c = data;

	(void)term;
	c->have_row = 1;
}

size_t crm_csv_field_len(const struct crm_csv *c, size_t i)
{
	size_t end = i + 1 < c->nfields ? c->off[i + 1] : c->fields.len;

	return end - c->off[i] - 1;
}

static unsigned char guess_delim(const char *s, size_t n)
{
	static const unsigned char cand[] = { ',', ';', '\t', '|' };
	size_t count[4] = { 0 };
	int quoted = 0;
	size_t best = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted)
			for (size_t k = 0; k < 4; k++)
				if ((unsigned char)s[i] == cand[k])
					count[k]++;
	}
	for (size_t k = 1; k < 4; k++)
		if (count[k] > count[best])
			best = k;
	return cand[best];
}

static int reset_parser(struct crm_csv *c, struct crm_err *e)
{
	csv_free(&c->p);
	if (csv_init(&c->p, CSV_OPTS))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	csv_set_delim(&c->p, c->delim);
	return 0;
}

int crm_csv_init(struct crm_csv *c, struct crm_reader *r, int delim,
		 struct crm_err *e)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->delim = (unsigned char)delim;
	crm_buf_init(&c->fields, 0);
	crm_buf_init(&c->raw, 0);
	crm_buf_init(&c->rec, 0);
	crm_buf_init(&c->replay, 0);
	if (csv_init(&c->p, CSV_OPTS))
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	if (delim)
		csv_set_delim(&c->p, c->delim);
	return 0;
}

void crm_csv_release(struct crm_csv *c)
{
	csv_free(&c->p);
	crm_buf_release(&c->fields);
	crm_buf_release(&c->raw);
	crm_buf_release(&c->rec);
	crm_buf_release(&c->replay);
	free(c->off);
	for (size_t i = 0; i < c->ncols; i++)
		free(c->header[i]);
	free(c->header);
	memset(c, 0, sizeof(*c));
}

static void start_record(struct crm_csv *c)
{
	c->nfields = 0;
	crm_buf_reset(&c->fields);
	crm_buf_reset(&c->raw);
	crm_buf_reset(&c->rec);
	c->have_row = 0;
	c->failed = 0;
	c->nul_field = 0;
}

/*
 * The next physical line into *s, *n (without its line end; *crlf when it
 * was CR LF): from the lines given back after a broken record first, then
 * from the reader. CRM_LINE_* or -1.
 */
static int next_line(struct crm_csv *c, const char **s, size_t *n, int *crlf,
		     struct crm_err *e)
{
	struct crm_reader *r = c->r;
	int rc;

	if (c->replay_pos < c->replay.len) {
		const char *p = c->replay.data + c->replay_pos;
		const char *nl = memchr(p, '\n', c->replay.len - c->replay_pos);
		size_t len = nl ? (size_t)(nl - p) : c->replay.len - c->replay_pos;

		c->replay_pos += len + (nl != NULL);
		*crlf = len && p[len - 1] == '\r';
		*s = p;
		*n = len - (size_t)*crlf;
		c->lineno = c->replay_line++;
		return CRM_LINE_OK;
	}
	crm_buf_reset(&c->replay);
	c->replay_pos = 0;
	rc = crm_reader_line(r, e);
	if (rc < 0 || rc == CRM_LINE_EOF)
		return rc;
	*s = r->line.data;
	*n = r->line.len;
	*crlf = r->crlf;
	c->lineno = r->lineno;
	return rc;
}

/*
 * A record that never ends (an unclosed quote running to the end of the
 * file or past the cap): only its first line is the broken record; the
 * lines after it are given back, to be read again as records of their
 * own. raw keeps the first line, for the rejects file.
 */
static int give_back(struct crm_csv *c, const char *more, size_t n, int crlf)
{
	const char *nl = memchr(c->rec.data, '\n', c->rec.len);
	size_t first = nl ? (size_t)(nl - c->rec.data) + 1 : c->rec.len;
	struct crm_buf rest;
	char *eol;

	crm_buf_init(&rest, 0);
	if (c->replay_pos < c->replay.len &&
	    crm_buf_add(&rest, c->replay.data + c->replay_pos, c->replay.len - c->replay_pos) < 0)
		goto nomem;
	/* The lines after the first, then the line in hand, then whatever
	 * was still waiting to be read again. */
	crm_buf_reset(&c->replay);
	if (crm_buf_add(&c->replay, c->rec.data + first, c->rec.len - first) < 0 ||
	    (more && (crm_buf_add(&c->replay, more, n) < 0 ||
		      crm_buf_adds(&c->replay, crlf ? "\r\n" : "\n") < 0)) ||
	    (rest.len && crm_buf_add(&c->replay, rest.data, rest.len) < 0))
		goto nomem;
	crm_buf_release(&rest);
	c->replay_pos = 0;
	c->replay_line = c->line + 1;
	if (!c->replay.data)
		crm_buf_add(&c->replay, "", 0);
	crm_buf_reset(&c->raw);
	if (crm_buf_add(&c->raw, c->rec.data, first) < 0)
		return -1;
	eol = c->raw.data + c->raw.len;
	while (c->raw.len && (eol[-1] == '\n' || eol[-1] == '\r'))
		*--eol = 0, c->raw.len--;
	return 0;
nomem:
	crm_buf_release(&rest);
	return -1;
}

int crm_csv_next(struct crm_csv *c, struct crm_err *e)
{
	struct crm_reader *r = c->r;
	const char *s = NULL;
	size_t n = 0;
	int rc, crlf = 0;

	start_record(c);
	c->line = 0;
	for (;;) {
		rc = next_line(c, &s, &n, &crlf, e);
		if (rc < 0)
			return CRM_REC_FATAL;
		if (rc == CRM_LINE_EOF) {
			if (!c->line)
				return CRM_REC_EOF;
			if (csv_fini(&c->p, on_field, on_row, c) != 0) {
				reset_parser(c, NULL);
				if (give_back(c, NULL, 0, 0) < 0)
					goto nomem;
				crm_err_set(e, CRM_EDATA,
					    "%s:%ld: unterminated quoted field (the lines after it are read again)",
					    r->name, c->line);
				return CRM_REC_BAD;
			}
			reset_parser(c, NULL);
			break;
		}
		if (rc == CRM_LINE_TOOLONG) {
			long at = c->line ? c->line : c->lineno;

			crm_buf_reset(&c->raw);
			crm_buf_add(&c->raw, s, n);
			reset_parser(c, NULL);
			crm_err_set(e, CRM_EDATA, "%s:%ld: line longer than %zu bytes",
				    r->name, at, r->cap);
			c->line = at;
			return CRM_REC_BAD;
		}
		if (!c->line) {
			if (n == 0)
				continue;	/* blank line between records */
			c->line = c->lineno;
			if (!c->delim) {
				c->delim = guess_delim(s, n);
				csv_set_delim(&c->p, c->delim);
			}
		} else if (crm_buf_addc(&c->raw, '\n') < 0) {
			goto nomem;
		}
		if (c->raw.len + n > r->cap) {
			reset_parser(c, NULL);
			if (give_back(c, s, n, crlf) < 0)
				goto nomem;
			crm_err_set(e, CRM_EDATA,
				    "%s:%ld: record longer than %zu bytes (an unclosed quote?); the lines after it are read again",
				    r->name, c->line, r->cap);
			return CRM_REC_BAD;
		}
		if (crm_buf_add(&c->raw, s, n) < 0 || crm_buf_add(&c->rec, s, n) < 0 ||
		    crm_buf_adds(&c->rec, crlf ? "\r\n" : "\n") < 0)
			goto nomem;
		/* The line's own end: a CR LF inside a quoted field stays. */
		if (csv_parse(&c->p, s, n, on_field, on_row, c) != n ||
		    csv_parse(&c->p, crlf ? "\r\n" : "\n", crlf ? 2 : 1, on_field, on_row, c) != (crlf ? 2u : 1u)) {
			int err = csv_error(&c->p);

			reset_parser(c, NULL);
			if (err == CSV_EPARSE)
				crm_err_set(e, CRM_EDATA,
					    "%s:%ld: malformed quoting (a quote inside an unquoted field, or text after a closing quote)",
					    r->name, c->line);
			else
				crm_err_set(e, CRM_EDATA, "%s:%ld: %s", r->name,
					    c->line, csv_strerror(err));
			return CRM_REC_BAD;
		}
		if (c->failed)
			goto nomem;
		if (c->have_row)
			break;
	}
	if (c->failed)
		goto nomem;
	if (c->nul_field) {
		crm_err_set(e, CRM_EDATA, "%s:%ld: field %zu holds a NUL byte",
			    r->name, c->line, c->nul_field);
		return CRM_REC_BAD;
	}
	return CRM_REC_OK;
nomem:
	crm_err_set(e, CRM_ESOFTWARE, "%s:%ld: out of memory", r->name, c->line);
	return CRM_REC_FATAL;
}

/* Names taken in a header: a hash set, each with the next suffix to try
 * for the name as a base ("email" -> "email_2", "email_3", ...). */
struct nameset {
	struct nameslot {
		const char *name;
		int next;
	} *slot;
	size_t mask;
};

static struct nameslot *nameset_find(struct nameset *s, const char *name)
{
	size_t i = crm_strhash(name) & s->mask;

	while (s->slot[i].name && strcmp(s->slot[i].name, name))
		i = (i + 1) & s->mask;
	return &s->slot[i];
}

/*
 * Read the header. Empty names become column_N; a repeated name gets the
 * first free suffix (_2, _3, ...). Linear in the number of columns, also
 * when thousands of them share a name.
 */
int crm_csv_header(struct crm_csv *c, struct crm_err *e)
{
	struct nameset set = { NULL, 0 };
	size_t cap = 16;
	int rc;

	rc = crm_csv_next(c, e);
	if (rc == CRM_REC_EOF)
		return crm_err_set(e, CRM_EDATA, "%s: empty file, no header",
				   c->r->name);
	if (rc != CRM_REC_OK)
		return -1;
	c->header = calloc(c->nfields, sizeof(*c->header));
	while (cap < 2 * c->nfields + 2)
		cap *= 2;
	set.slot = calloc(cap, sizeof(*set.slot));
	set.mask = cap - 1;
	if (!c->header || !set.slot) {
		free(set.slot);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	c->ncols = c->nfields;
	for (size_t i = 0; i < c->nfields; i++) {
		struct crm_buf name;
		const char *f = crm_csv_field(c, i);
		struct nameslot *base, *sl;

		crm_buf_init(&name, 0);
		if (*f)
			crm_buf_adds(&name, f);
		else
			crm_buf_addf(&name, "column_%zu", i + 1);
		if (!name.data) {
			free(set.slot);
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		base = nameset_find(&set, name.data);
		if (base->name) {	/* taken: the next free suffix */
			int n = base->next;

			for (;; n++) {
				crm_buf_reset(&name);
				crm_buf_addf(&name, "%s_%d", *f ? f : "column", n);
				if (!name.data || !nameset_find(&set, name.data)->name)
					break;
			}
			base->next = n + 1;
		}
		c->header[i] = crm_buf_detach(&name, NULL);
		if (!c->header[i]) {
			free(set.slot);
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		sl = nameset_find(&set, c->header[i]);
		sl->name = c->header[i];
		sl->next = 2;
	}
	free(set.slot);
	return 0;
}

/* Would a spreadsheet run the cell as a formula? */
static int formula_like(const char *s, size_t n)
{
	if (!n || !strchr("=+-@\t\r", s[0]))
		return 0;
	if (s[0] == '+' || s[0] == '-') {
		for (size_t i = 1; i < n; i++)
			if (!strchr("0123456789 .()-+/", s[i]))
				return 1;
		return 0;
	}
	return 1;
}

int crm_csv_guarded(const char *s, size_t n)
{
	size_t q = 0;

	while (q < n && s[q] == '\'')
		q++;
	return formula_like(s + q, n - q);
}

int crm_csv_put(struct crm_buf *b, const char *s, size_t n)
{
	int formula = crm_csv_guarded(s, n), rc = 0;
	int quote = formula || (n && (s[0] == ' ' || s[n - 1] == ' '));

	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	if (!quote)
		return crm_buf_add(b, s, n);
	rc |= crm_buf_addc(b, '"');
	if (formula)
		rc |= crm_buf_addc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			rc |= crm_buf_addc(b, '"');
		rc |= crm_buf_addc(b, s[i]);
	}
	return rc | crm_buf_addc(b, '"');
}

const char *crm_csv_unguard(const char *s)
{
	return s[0] == '\'' && crm_csv_guarded(s + 1, strlen(s + 1)) ? s + 1 : s;
}
