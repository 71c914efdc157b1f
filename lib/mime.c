/*
 * mime.c - headers, encoded words, transfer encodings, charsets, parts.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mime.h"

#define MAX_DEPTH 16

/* Charset conversion to UTF-8; invalid bytes become U+FFFD. */
static int to_utf8(const char *cs, const char *in, size_t n, struct crm_buf *out)
{
	iconv_t cd;
	char buf[4096];

	if (!cs || !*cs || !strcasecmp(cs, "utf-8") || !strcasecmp(cs, "us-ascii") ||
	    !strcasecmp(cs, "utf8"))
		cd = (iconv_t)-1;
	else
		cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1) {
		/* UTF-8 (or unknown: kept as is, invalid sequences replaced). */
		for (size_t i = 0; i < n; ) {
			unsigned char c = (unsigned char)in[i];
			size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
			int okseq = len && i + len <= n;
			for (size_t k = 1; okseq && k < len; k++)
				okseq = ((unsigned char)in[i + k] >> 6) == 2;
			if (okseq) {
				if (crm_buf_add(out, in + i, len) < 0)
					return -1;
				i += len;
			} else {
				if (crm_buf_adds(out, "\xEF\xBF\xBD") < 0)
					return -1;
				i++;
			}
		}
		return 0;
	}
	char *ip = (char *)in;
	size_t il = n;
	while (il > 0) {
		char *op = buf;
		size_t ol = sizeof buf;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		if (crm_buf_add(out, buf, (size_t)(op - buf)) < 0) {
			iconv_close(cd);
			return -1;
		}
		if (r == (size_t)-1) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ or EINVAL: replace one byte and go on. */
			if (crm_buf_adds(out, "\xEF\xBF\xBD") < 0) {
				iconv_close(cd);
				return -1;
			}
			ip++;
			il--;
		}
	}
	iconv_close(cd);
	return 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int unbase64(const char *s, size_t n, struct crm_buf *out)
{
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (s[i] == '=')
			break;
		if (v < 0)
			continue;	/* line breaks, and junk */
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (crm_buf_addc(out, (char)(acc >> bits & 0xff)) < 0)
				return -1;
		}
	}
	return 0;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10
	       : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Quoted-printable; q: the RFC 2047 "Q" form, where '_' is a space. */
static int unqp(const char *s, size_t n, int q, struct crm_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n + 0 && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			if (crm_buf_addc(out, (char)(hexval((unsigned char)s[i + 1]) * 16 +
						     hexval((unsigned char)s[i + 2]))) < 0)
				return -1;
			i += 2;
		} else if (s[i] == '=' && (i + 1 == n || s[i + 1] == '\n' || s[i + 1] == '\r')) {
			/* soft line break */
			while (i + 1 < n && (s[i + 1] == '\r' || s[i + 1] == '\n')) {
				i++;
				if (s[i] == '\n')
					break;
			}
		} else if (crm_buf_addc(out, q && s[i] == '_' ? ' ' : s[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

/* RFC 2047: =?charset?B|Q?text?= words; white space between two is dropped. */
static int decode_words(const char *s, size_t n, struct crm_buf *out)
{
	size_t i = 0, pending_ws = 0, ws_start = 0;
	int last_encoded = 0;

	while (i < n) {
		if (s[i] == '=' && i + 1 < n && s[i + 1] == '?') {
			const char *cs = s + i + 2, *q1 = memchr(cs, '?', n - (size_t)(cs - s));
			if (q1 && q1 + 2 < s + n && q1[2] == '?') {
				char enc = (char)toupper((unsigned char)q1[1]);
				const char *txt = q1 + 3;
				const char *end = NULL;
				for (const char *p = txt; p + 1 < s + n; p++)
					if (p[0] == '?' && p[1] == '=') {
						end = p;
						break;
					}
				if (end && (enc == 'B' || enc == 'Q')) {
					char charset[64];
					struct crm_buf raw = {0};
					snprintf(charset, sizeof charset, "%.*s", (int)(q1 - cs), cs);
					char *star = strchr(charset, '*');	/* RFC 2231 language */
					if (star)
						*star = 0;
					if (pending_ws && !last_encoded &&
					    crm_buf_add(out, s + ws_start, pending_ws) < 0)
						return -1;
					pending_ws = 0;
					int rc = enc == 'B' ? unbase64(txt, (size_t)(end - txt), &raw)
							    : unqp(txt, (size_t)(end - txt), 1, &raw);
					if (rc < 0 || to_utf8(charset, raw.data ? raw.data : "", raw.len, out) < 0) {
						crm_buf_release(&raw);
						return -1;
					}
					crm_buf_release(&raw);
					i = (size_t)(end - s) + 2;
					last_encoded = 1;
					continue;
				}
			}
		}
		if (s[i] == ' ' || s[i] == '\t') {
			if (!pending_ws)
				ws_start = i;
			pending_ws++;
			i++;
			continue;
		}
		if (pending_ws && crm_buf_add(out, s + ws_start, pending_ws) < 0)
			return -1;
		pending_ws = 0;
		last_encoded = 0;
		/* Raw 8-bit headers are taken as UTF-8. */
		size_t j = i;
		while (j < n && s[j] != ' ' && s[j] != '\t' && !(s[j] == '=' && j + 1 < n && s[j + 1] == '?'))
			j++;
		if (j == i)
			j++;
		if (to_utf8(NULL, s + i, j - i, out) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* Headers. */

struct header {
	const char *name, *value;
	size_t nlen, vlen;
};

struct part {
	struct header *h;
	size_t nh;
	const char *body;
	size_t blen;
};

/* Split head from body; the head's lines into headers (folded lines kept
 * in the value, unfolded on use). */
static int parse_headers(const char *data, size_t n, struct part *p)
{
	size_t i = 0, alloc = 0;

	p->h = NULL;
	p->nh = 0;
	while (i < n) {
		const char *line = data + i, *nl = memchr(line, '\n', n - i);
		size_t len = nl ? (size_t)(nl - line) : n - i;
		size_t next = i + len + (nl != NULL);
		size_t clen = len && line[len - 1] == '\r' ? len - 1 : len;
		if (clen == 0) {	/* the blank line */
			i = next;
			break;
		}
		if ((line[0] == ' ' || line[0] == '\t') && p->nh) {
			struct header *h = &p->h[p->nh - 1];
			h->vlen = (size_t)(line + clen - h->value);
			i = next;
			continue;
		}
		const char *colon = memchr(line, ':', clen);
		if (!colon || colon == line) {
			/* Not a header: the head ends here (a body with no blank line). */
			break;
		}
		if (p->nh == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			struct header *nh = realloc(p->h, alloc * sizeof *nh);
			if (!nh)
				return -1;
			p->h = nh;
		}
		struct header *h = &p->h[p->nh++];
		h->name = line;
		h->nlen = (size_t)(colon - line);
		h->value = colon + 1;
		while (h->value < line + clen && (*h->value == ' ' || *h->value == '\t'))
			h->value++;
		h->vlen = (size_t)(line + clen - h->value);
		i = next;
	}
	p->body = data + i;
	p->blen = n - i;
	return 0;
}

/* A header's value, unfolded, or NULL. */
static char *header(const struct part *p, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < p->nh; i++)
		if (p->h[i].nlen == nl && !strncasecmp(p->h[i].name, name, nl)) {
			char *v = malloc(p->h[i].vlen + 1), *o = v;
			if (!v)
				return NULL;
			for (size_t k = 0; k < p->h[i].vlen; k++) {
				char c = p->h[i].value[k];
				if (c == '\r')
					continue;
				if (c == '\n') {
					continue;	/* the fold's white space follows */
				}
				*o++ = c;
			}
			*o = 0;
			return v;
		}
	return NULL;
}

static char *decoded_header(const struct part *p, const char *name)
{
	char *raw = header(p, name);
	struct crm_buf b = {0};

	if (!raw)
		return NULL;
	if (decode_words(raw, strlen(raw), &b) < 0 || crm_buf_add(&b, "", 0) < 0) {
		free(raw);
		crm_buf_release(&b);
		return NULL;
	}
	free(raw);
	return crm_buf_detach(&b, NULL);
}

/* A parameter of a structured header: charset="x"; boundary=y; name*=... */
static char *param(const char *v, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strchr(v ? v : "", ';'); p; p = strchr(p + 1, ';')) {
		const char *s = p + 1;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncasecmp(s, name, nl))
			continue;
		s += nl;
		int ext = 0;
		if (*s == '*') {	/* RFC 2231: name*=utf-8''caf%C3%A9 */
			ext = 1;
			s++;
			if (*s == '0' && s[1] == '*')
				s += 2;
		}
		while (*s == ' ')
			s++;
		if (*s != '=')
			continue;
		s++;
		while (*s == ' ')
			s++;
		struct crm_buf b = {0};
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1])
					s++;
				crm_buf_addc(&b, *s);
			}
		} else {
			const char *e = s + strcspn(s, "; \t");
			if (ext) {
				const char *q = strstr(s, "''");
				if (q && q < e)
					s = q + 2;
				for (; s < e; s++)
					if (*s == '%' && s + 2 < e + 0 + 1 && hexval((unsigned char)s[1]) >= 0 &&
					    hexval((unsigned char)s[2]) >= 0) {
						crm_buf_addc(&b, (char)(hexval((unsigned char)s[1]) * 16 +
									hexval((unsigned char)s[2])));
						s += 2;
					} else {
						crm_buf_addc(&b, *s);
					}
			} else {
				crm_buf_add(&b, s, (size_t)(e - s));
			}
		}
		crm_buf_add(&b, "", 0);
		return crm_buf_detach(&b, NULL);
	}
	return NULL;
}

/* The media type, lower case, without parameters ("text/plain"). */
static void media_type(const char *ct, char *out, size_t n)
{
	size_t k = 0;

	for (const char *p = ct ? ct : "text/plain"; *p && *p != ';' && k + 1 < n; p++)
		if (!isspace((unsigned char)*p))
			out[k++] = (char)tolower((unsigned char)*p);
	out[k] = 0;
}

/* Strip HTML to text: tags out, <br> and </p> as line breaks, a few entities. */
static int strip_html(const char *s, size_t n, struct crm_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<') {
			const char *gt = memchr(s + i, '>', n - i);
			if (!gt)
				break;
			size_t tl = (size_t)(gt - s) - i;
			if ((tl >= 3 && !strncasecmp(s + i + 1, "br", 2)) ||
			    (tl >= 2 && !strncasecmp(s + i + 1, "/p", 2)) ||
			    (tl >= 4 && !strncasecmp(s + i + 1, "/div", 4)))
				crm_buf_addc(out, '\n');
			if (tl >= 6 && (!strncasecmp(s + i + 1, "style", 5) || !strncasecmp(s + i + 1, "script", 6))) {
				const char *close = NULL;
				for (size_t k = (size_t)(gt - s); k + 1 < n; k++)
					if (s[k] == '<' && s[k + 1] == '/') {
						close = s + k;
						break;
					}
				const char *gt2 = close ? memchr(close, '>', n - (size_t)(close - s)) : NULL;
				gt = gt2 ? gt2 : gt;
			}
			i = (size_t)(gt - s);
			continue;
		}
		if (s[i] == '&') {
			static const struct { const char *e, *c; } ent[] = {
				{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
				{"&#39;", "'"}, {"&nbsp;", " "}, {"&apos;", "'"},
			};
			int done = 0;
			for (size_t k = 0; k < sizeof ent / sizeof *ent && !done; k++) {
				size_t el = strlen(ent[k].e);
				if (i + el <= n && !strncasecmp(s + i, ent[k].e, el)) {
					crm_buf_adds(out, ent[k].c);
					i += el - 1;
					done = 1;
				}
			}
			if (done)
				continue;
		}
		if (crm_buf_addc(out, s[i]) < 0)
			return -1;
	}
	return 0;
}

struct walk {
	struct crm_mail *m;
	struct crm_buf plain, html;
	int have_plain, have_html;
};

static int add_attachment(struct crm_mail *m, const char *name, const char *type, size_t size)
{
	struct crm_attachment *na = realloc(m->att, (m->natt + 1) * sizeof *na);

	if (!na)
		return -1;
	m->att = na;
	na[m->natt].name = strdup(name ? name : "");
	na[m->natt].type = strdup(type);
	na[m->natt].size = size;
	if (!na[m->natt].name || !na[m->natt].type)
		return -1;
	m->natt++;
	return 0;
}

static int walk_part(struct walk *w, const char *data, size_t n, int depth)
{
	struct part p;
	char type[96];
	char *ct, *cte, *cd, *charset, *name;
	int rc = 0;

	if (parse_headers(data, n, &p) < 0)
		return -1;
	ct = header(&p, "Content-Type");
	cte = header(&p, "Content-Transfer-Encoding");
	cd = header(&p, "Content-Disposition");
	media_type(ct, type, sizeof type);
	charset = param(ct, "charset");
	name = param(cd, "filename");
	if (!name)
		name = param(ct, "name");
	if (name && strstr(name, "=?")) {
		struct crm_buf b = {0};
		if (decode_words(name, strlen(name), &b) == 0 && crm_buf_add(&b, "", 0) == 0) {
			free(name);
			name = crm_buf_detach(&b, NULL);
		} else {
			crm_buf_release(&b);
		}
	}
	if (!strncmp(type, "multipart/", 10) && depth < MAX_DEPTH) {
		char *boundary = param(ct, "boundary");
		if (boundary && *boundary) {
			size_t bl = strlen(boundary);
			const char *s = p.body, *end = p.body + p.blen, *start = NULL;
			/* Parts lie between "--boundary" lines. */
			while (s < end) {
				const char *nl = memchr(s, '\n', (size_t)(end - s));
				const char *le = nl ? nl : end;
				if (le - s >= (long)(bl + 2) && s[0] == '-' && s[1] == '-' &&
				    !memcmp(s + 2, boundary, bl)) {
					int last = le - s >= (long)(bl + 4) && s[bl + 2] == '-' && s[bl + 3] == '-';
					if (start && (rc = walk_part(w, start, (size_t)(s - start), depth + 1)) < 0)
						break;
					start = nl ? nl + 1 : end;
					if (last) {
						start = NULL;
						break;
					}
				}
				s = nl ? nl + 1 : end;
			}
			if (rc == 0 && start && start < end)	/* no closing boundary */
				rc = walk_part(w, start, (size_t)(end - start), depth + 1);
		}
		free(boundary);
	} else if (!strcmp(type, "message/rfc822")) {
		rc = add_attachment(w->m, name ? name : "message.eml", type, p.blen);
	} else {
		struct crm_buf raw = {0};
		int attach = (cd && !strncasecmp(cd, "attachment", 10)) ||
			     (name && strncmp(type, "text/", 5)) ||
			     (strcmp(type, "text/plain") && strcmp(type, "text/html"));
		if (cte && !strncasecmp(cte, "base64", 6))
			rc = unbase64(p.body, p.blen, &raw);
		else if (cte && !strncasecmp(cte, "quoted-printable", 16))
			rc = unqp(p.body, p.blen, 0, &raw);
		else
			rc = crm_buf_add(&raw, p.body, p.blen);
		if (rc == 0) {
			if (attach) {
				rc = add_attachment(w->m, name, type, raw.len);
			} else if (!strcmp(type, "text/plain") && !w->have_plain) {
				w->have_plain = 1;
				rc = to_utf8(charset, raw.data ? raw.data : "", raw.len, &w->plain);
			} else if (!strcmp(type, "text/html") && !w->have_html) {
				struct crm_buf u = {0};
				w->have_html = 1;
				rc = to_utf8(charset, raw.data ? raw.data : "", raw.len, &u);
				if (rc == 0)
					rc = strip_html(u.data ? u.data : "", u.len, &w->html);
				crm_buf_release(&u);
			}
		}
		crm_buf_release(&raw);
	}
	free(ct);
	free(cte);
	free(cd);
	free(charset);
	free(name);
	free(p.h);
	return rc;
}

/* Addresses: "Name <a@b>, c@d, \"Last, First\" <e@f>". */
static int parse_addresses(const char *v, char ***list, size_t *n, char **first_name)
{
	const char *p = v;

	while (p && *p) {
		int quoted = 0, angle = 0;
		const char *s = p;
		for (; *p && (quoted || angle || *p != ','); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '<' && !quoted)
				angle = 1;
			else if (*p == '>' && !quoted)
				angle = 0;
		}
		const char *e = p;
		if (*p == ',')
			p++;
		/* The address: inside <>, else the token with an @. */
		const char *lt = NULL, *gt = NULL;
		for (const char *q = s; q < e; q++) {
			if (*q == '<')
				lt = q;
			else if (*q == '>' && lt)
				gt = q;
		}
		char addr[320] = "", name[256] = "";
		if (lt && gt) {
			snprintf(addr, sizeof addr, "%.*s", (int)(gt - lt - 1), lt + 1);
			const char *ns = s, *ne = lt;
			while (ns < ne && (isspace((unsigned char)*ns) || *ns == '"'))
				ns++;
			while (ne > ns && (isspace((unsigned char)ne[-1]) || ne[-1] == '"'))
				ne--;
			snprintf(name, sizeof name, "%.*s", (int)(ne - ns), ns);
		} else {
			const char *at = memchr(s, '@', (size_t)(e - s));
			if (at) {
				const char *as = at, *ae = at;
				while (as > s && !isspace((unsigned char)as[-1]) && as[-1] != '"')
					as--;
				while (ae < e && !isspace((unsigned char)*ae) && *ae != '(')
					ae++;
				snprintf(addr, sizeof addr, "%.*s", (int)(ae - as), as);
			}
		}
		for (char *c = addr; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!strchr(addr, '@'))
			continue;
		char **nl = realloc(*list, (*n + 1) * sizeof *nl);
		if (!nl)
			return -1;
		*list = nl;
		if (!(nl[(*n)++] = strdup(addr)))
			return -1;
		if (first_name && !*first_name && name[0] && !(*first_name = strdup(name)))
			return -1;
	}
	return 0;
}

/* "Tue, 24 Nov 2026 10:00:00 +0100" to "2026-11-24T09:00:00Z". */
static void parse_date(const char *v, char out[21])
{
	static const char *const mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec"};
	int d, y, h, mi, s = 0, m = -1;
	char ms[16], zone[16] = "";
	const char *p = v;
	struct tm tm = {0};

	out[0] = 0;
	if (!p)
		return;
	const char *comma = strchr(p, ',');
	if (comma && comma - p < 12)
		p = comma + 1;
	if (sscanf(p, "%d %15s %d %d:%d:%d %15s", &d, ms, &y, &h, &mi, &s, zone) < 5 &&
	    sscanf(p, "%d %15s %d %d:%d %15s", &d, ms, &y, &h, &mi, zone) < 5)
		return;
	for (int i = 0; i < 12; i++)
		if (!strncasecmp(ms, mon[i], 3))
			m = i;
	if (m < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return;
	if (y < 100)
		y += y < 50 ? 2000 : 1900;
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	time_t t = timegm(&tm);
	long off = 0;
	if ((zone[0] == '+' || zone[0] == '-') && isdigit((unsigned char)zone[1])) {
		long z = strtol(zone + 1, NULL, 10);
		off = (z / 100 * 60 + z % 100) * 60 * (zone[0] == '-' ? -1 : 1);
	} else if (!strcasecmp(zone, "EST"))
		off = -5 * 3600;
	else if (!strcasecmp(zone, "EDT") || !strcasecmp(zone, "CST"))
		off = (!strcasecmp(zone, "EDT") ? -4 : -6) * 3600;
	else if (!strcasecmp(zone, "PST"))
		off = -8 * 3600;
	else if (!strcasecmp(zone, "PDT"))
		off = -7 * 3600;
	t -= off;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *msgid(const char *v)
{
	const char *lt, *gt;

	if (!v)
		return NULL;
	lt = strchr(v, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		return crm_strndup(lt + 1, (size_t)(gt - lt - 1));
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strcspn(v, " \t");
	return n ? crm_strndup(v, n) : NULL;
}

void crm_mail_free(struct crm_mail *m)
{
	free(m->message_id);
	free(m->thread);
	free(m->subject);
	free(m->from);
	free(m->from_name);
	for (size_t i = 0; i < m->nto; i++)
		free(m->to[i]);
	free(m->to);
	free(m->text);
	for (size_t i = 0; i < m->natt; i++) {
		free(m->att[i].name);
		free(m->att[i].type);
	}
	free(m->att);
	memset(m, 0, sizeof *m);
}

int crm_mail_parse(const char *data, size_t n, struct crm_mail *m, struct crm_err *e)
{
	struct part p;
	struct walk w = {m, {0}, {0}, 0, 0};
	char *from = NULL, *to = NULL, *cc = NULL, *date = NULL, *refs = NULL, *irt = NULL, *id = NULL;
	char **froms = NULL;
	size_t nfrom = 0;
	int rc = -1;

	memset(m, 0, sizeof *m);
	if (parse_headers(data, n, &p) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	from = decoded_header(&p, "From");
	date = header(&p, "Date");
	if (!from && !date) {
		free(p.h);
		free(date);
		return crm_err_set(e, CRM_EDATA, "not an email message (no From or Date header)");
	}
	to = decoded_header(&p, "To");
	cc = decoded_header(&p, "Cc");
	id = header(&p, "Message-ID");
	refs = header(&p, "References");
	irt = header(&p, "In-Reply-To");
	m->subject = decoded_header(&p, "Subject");
	m->message_id = msgid(id);
	m->thread = refs ? msgid(refs) : irt ? msgid(irt) : m->message_id ? strdup(m->message_id) : NULL;
	parse_date(date, m->date);
	if (parse_addresses(from, &froms, &nfrom, &m->from_name) < 0 ||
	    parse_addresses(to, &m->to, &m->nto, NULL) < 0 ||
	    parse_addresses(cc, &m->to, &m->nto, NULL) < 0)
		goto oom;
	if (nfrom)
		m->from = strdup(froms[0]);
	free(p.h);
	p.h = NULL;
	if (walk_part(&w, data, n, 0) < 0)
		goto oom;
	{
		/* CRLF to LF, trailing white space off. */
		struct crm_buf *b = w.have_plain ? &w.plain : &w.html;
		size_t k = 0;
		for (size_t i = 0; i < b->len; i++)
			if (b->data[i] != '\r')
				b->data[k++] = b->data[i];
		while (k && (b->data[k - 1] == '\n' || b->data[k - 1] == ' ' || b->data[k - 1] == '\t'))
			k--;
		b->len = k;
		if (crm_buf_add(b, "", 0) < 0)
			goto oom;
		m->text = crm_buf_detach(b, NULL);
	}
	rc = 0;
	goto done;
oom:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory reading a message");
	crm_mail_free(m);
done:
	for (size_t i = 0; i < nfrom; i++)
		free(froms[i]);
	free(froms);
	crm_buf_release(&w.plain);
	crm_buf_release(&w.html);
	free(from);
	free(to);
	free(cc);
	free(date);
	free(refs);
	free(irt);
	free(id);
	free(p.h);
	return rc;
}

int crm_is_mbox(const char *data, size_t n)
{
	return n >= 5 && !memcmp(data, "From ", 5);
}

int crm_mbox_next(const char *data, size_t n, size_t *off, const char **msg, size_t *len)
{
	size_t i = *off;

	if (i >= n)
		return 0;
	/* Skip the "From " line. */
	if (n - i >= 5 && !memcmp(data + i, "From ", 5)) {
		const char *nl = memchr(data + i, '\n', n - i);
		i = nl ? (size_t)(nl - data) + 1 : n;
	}
	size_t start = i;
	while (i < n) {
		const char *nl = memchr(data + i, '\n', n - i);
		size_t next = nl ? (size_t)(nl - data) + 1 : n;
		if (next + 5 <= n && !memcmp(data + next, "From ", 5)) {
			i = next;
			break;
		}
		i = next;
	}
	*msg = data + start;
	*len = i - start;
	*off = i;
	return 1;
}

int crm_is_mail(const char *data, size_t n)
{
	struct part p;
	int mail = 0;

	if (crm_is_mbox(data, n))
		return 1;
	if (n > 65536)
		n = 65536;	/* the head is near the start */
	if (parse_headers(data, n, &p) < 0)
		return 0;
	for (size_t i = 0; i < p.nh; i++)
		if ((p.h[i].nlen == 4 && !strncasecmp(p.h[i].name, "From", 4)) ||
		    (p.h[i].nlen == 8 && !strncasecmp(p.h[i].name, "Received", 8)))
			mail = 1;
	/* A CSV header has no "Name: value" lines, but be sure: every line of
	 * the head must have been a header. */
	if (p.nh < 2)
		mail = 0;
	free(p.h);
	return mail;
}
