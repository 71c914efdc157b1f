/*
 * transcript.c - utterances, and the transcript file formats.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "normalize.h"
#include "transcript.h"

void crm_transcript_free(struct crm_transcript *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->u[i].speaker);
		free(t->u[i].text);
	}
	free(t->u);
	memset(t, 0, sizeof *t);
}

/*
 * Copy s[0..n) with runs of white space (and control characters) as one
 * space, trimmed, and bytes that are not UTF-8 as U+FFFD: every stored
 * text can be written as JSON.
 */
static char *squeeze(const char *s, size_t n)
{
	/* A bad byte becomes U+FFFD: three bytes for one. */
	char *o = malloc(3 * n + 1), *p = o;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

			if (i + len <= n && crm_utf8_valid(s + i, len, NULL)) {
				memcpy(p, s + i, len);
				p += len;
				i += len - 1;
			} else {
				memcpy(p, "\xEF\xBF\xBD", 3);
				p += 3;
			}
		} else if (isspace(c) || iscntrl(c)) {
			if (p > o && p[-1] != ' ')
				*p++ = ' ';
		} else {
			*p++ = (char)c;
		}
	}
	while (p > o && p[-1] == ' ')
		p--;
	*p = 0;
	return o;
}

int crm_transcript_add(struct crm_transcript *t, const char *speaker,
		       long start, long end, const char *text, size_t len)
{
	struct crm_utt u = {NULL, start, end, NULL};

	if (!(u.text = squeeze(text, len)))
		return -1;
	if (!*u.text) {
		free(u.text);
		return 0;
	}
	if (speaker && *speaker && !(u.speaker = squeeze(speaker, strlen(speaker)))) {
		free(u.text);
		return -1;
	}
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 32;
		struct crm_utt *nu = realloc(t->u, na * sizeof *nu);
		if (!nu) {
			free(u.text);
			free(u.speaker);
			return -1;
		}
		t->u = nu;
		t->alloc = na;
	}
	t->u[t->n++] = u;
	return 0;
}

static const char *const fnames[] = {"unknown", "vtt", "srt", "text", "json", "wav"};

const char *crm_tformat_name(enum crm_tformat f)
{
	return fnames[f];
}

enum crm_tformat crm_tformat_parse(const char *s)
{
	for (size_t i = 1; i < sizeof fnames / sizeof *fnames; i++)
		if (!strcasecmp(s, fnames[i]))
			return (enum crm_tformat)i;
	if (!strcasecmp(s, "txt"))
		return CRM_TF_TEXT;
	return CRM_TF_UNKNOWN;
}

static int ends(const char *name, const char *ext)
{
	size_t n = strlen(name), m = strlen(ext);

	return n > m && !strcasecmp(name + n - m, ext);
}

enum crm_tformat crm_transcript_probe(const char *name, const void *data, size_t n)
{
	const char *p = data;
	size_t i = 0;

	/* Audio: WAV, FLAC, Ogg (Vorbis, Opus), AIFF, MP3 with a tag. */
	if ((n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WAVE", 4)) ||
	    (n >= 4 && (!memcmp(p, "fLaC", 4) || !memcmp(p, "OggS", 4) || !memcmp(p, "FORM", 4) ||
			!memcmp(p, "ID3", 3))))
		return CRM_TF_WAV;
	if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		i = 3;
	if (n - i >= 6 && !memcmp(p + i, "WEBVTT", 6))
		return CRM_TF_VTT;
	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (i < n && (p[i] == '{' || p[i] == '['))
		return CRM_TF_JSON;
	if (ends(name, ".wav") || ends(name, ".flac") || ends(name, ".ogg") || ends(name, ".opus") ||
	    ends(name, ".mp3") || ends(name, ".aiff"))
		return CRM_TF_WAV;
	if (ends(name, ".vtt"))
		return CRM_TF_VTT;
	if (ends(name, ".srt"))
		return CRM_TF_SRT;
	if (ends(name, ".json"))
		return CRM_TF_JSON;
	/* A digit line then a "-->" line: SRT without its extension. */
	if (i < n && isdigit((unsigned char)p[i])) {
		const char *nl = memchr(p + i, '\n', n - i);
		if (nl && (size_t)(nl - p) + 1 < n) {
			const char *nl2 = memchr(nl + 1, '\n', n - (size_t)(nl + 1 - p));
			size_t len = nl2 ? (size_t)(nl2 - nl) : n - (size_t)(nl - p);
			if (memmem(nl, len, "-->", 3))
				return CRM_TF_SRT;
		}
	}
	return CRM_TF_TEXT;
}

/* Lines of a buffer, with numbers, CR stripped. */
struct lines {
	const char *p, *end;
	long no;
};

static int next_line(struct lines *l, const char **s, size_t *n)
{
	const char *nl;

	if (l->p >= l->end)
		return 0;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	*s = l->p;
	*n = (size_t)((nl ? nl : l->end) - l->p);
	l->p = nl ? nl + 1 : l->end;
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	l->no++;
	return 1;
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "hh:mm:ss.mmm", "mm:ss.mmm" (',' in SRT) to ms; -1 if malformed. */
static long parse_ts(const char **sp, const char *end)
{
	const char *s = *sp;
	long part[3], nparts = 0, ms = 0;

	while (s < end && *s == ' ')
		s++;
	for (;;) {
		long v = 0;
		int digits = 0;
		while (s < end && isdigit((unsigned char)*s) && digits < 9)
			v = v * 10 + (*s++ - '0'), digits++;
		if (!digits || nparts == 3)
			return -1;
		part[nparts++] = v;
		if (s < end && *s == ':') {
			s++;
			continue;
		}
		break;
	}
	if (nparts < 2 || s >= end || (*s != '.' && *s != ','))
		return -1;
	s++;
	for (int k = 0; k < 3; k++) {
		if (s >= end || !isdigit((unsigned char)*s))
			return -1;
		ms = ms * 10 + (*s++ - '0');
	}
	while (s < end && isdigit((unsigned char)*s))
		s++;
	if (part[nparts - 1] >= 60 || (nparts == 3 && part[1] >= 60))
		return -1;
	*sp = s;
	return ((nparts == 3 ? part[0] * 3600 : 0) + part[nparts - 2] * 60 + part[nparts - 1]) * 1000 + ms;
}

/*
 * Speaker labels. A label is a name as people write one: up to five
 * words of letters, digits, hyphens and apostrophes ("Lee-Smith",
 * "O'Neil", "Speaker 2", "SPEAKER_01"), a part in brackets ("Dana
 * (Acme)"), and periods only where names have them: after an honorific or
 * suffix ("Dr.", "Mrs.", "Jr.") or an initial ("J.", "J.P."). A period
 * anywhere else makes it a sentence ("Okay. So:"), not a label.
 */
static const char *const HONORIFICS =
	"|mr|mrs|ms|mx|miss|dr|prof|sr|jr|st|rev|hon|sir|dame|capt|col|gen|lt|sgt|mme|mlle|"
	"m|herr|frau|fr|";

static int name_token_ok(const char *s, size_t n)
{
	char low[16];
	size_t k = 0;

	if (!n)
		return 0;
	if (!memchr(s, '.', n))
		return 1;
	/* "J.P.", "A.", "J.R.R.": single letters, each with its period. */
	int initials = 1;
	for (size_t i = 0; i < n; i += 2)
		if (!isalpha((unsigned char)s[i]) || i + 1 >= n || s[i + 1] != '.')
			initials = 0;
	if (initials)
		return 1;
	/* "Dr.", "Mrs.": an honorific, its period last. */
	if (s[n - 1] != '.' || memchr(s, '.', n - 1) || n - 1 + 3 > sizeof low)
		return 0;
	low[k++] = '|';
	for (size_t i = 0; i + 1 < n; i++)
		low[k++] = (char)tolower((unsigned char)s[i]);
	low[k++] = '|';
	low[k] = 0;
	return strstr(HONORIFICS, low) != NULL;
}

/* Is s[0..n) a speaker's name? */
static int name_ok(const char *s, size_t n)
{
	size_t words = 0, i = 0;
	int depth = 0;

	if (!n || n > 48 || !isalpha((unsigned char)s[0]))
		return 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ' ')
			j++;
		if (j > i && ++words > 5)
			return 0;
		for (size_t k = i; k < j; k++) {
			unsigned char c = (unsigned char)s[k];
			if (c == '(' || c == '[')
				depth++;
			else if (c == ')' || c == ']')
				depth--;
			else if (!(isalnum(c) || c >= 0x80 || strchr("-'_.&/", c)))
				return 0;
		}
		if (depth == 0 && j > i && !name_token_ok(s + i, j - i))
			return 0;
		i = j + 1;
	}
	return depth == 0;
}

/*
 * "Name: text", "**Name:** text", "**Name**: text", "[Name]: text" when
 * the part before the colon is a name; the name in [*ns, *ns + *nn), the
 * text from *rest. 0 when the line has no label.
 */
static int speaker_prefix(const char *s, size_t n, size_t *ns, size_t *nn, size_t *rest)
{
	size_t i = 0;

	while (i < n && (s[i] == '*' || s[i] == '_' || s[i] == '['))
		i++;
	for (size_t j = i; j < n && j <= i + 56; j++) {
		if (s[j] != ':')
			continue;
		if (j + 1 < n && s[j + 1] != ' ' && s[j + 1] != '\t' && s[j + 1] != '*')
			return 0;	/* "14:00", "http://" */
		size_t e = j;
		while (e > i && (s[e - 1] == '*' || s[e - 1] == '_' || s[e - 1] == ']' || s[e - 1] == ' '))
			e--;
		if (!name_ok(s + i, e - i))
			return 0;
		size_t r = j + 1;
		while (r < n && (s[r] == '*' || s[r] == '_'))
			r++;
		*ns = i;
		*nn = e - i;
		*rest = r;
		return 1;
	}
	return 0;
}

static int add_line(struct crm_transcript *t, const char *spk, long st, long en,
		    const char *s, size_t n)
{
	size_t ns, nn, rest;
	char name[64];

	if (!spk && speaker_prefix(s, n, &ns, &nn, &rest)) {
		snprintf(name, sizeof name, "%.*s", (int)nn, s + ns);
		return crm_transcript_add(t, name, st, en, s + rest, n - rest);
	}
	return crm_transcript_add(t, spk, st, en, s, n);
}

/* Cue text: "<v Name>words</v>" gives the speaker; other tags are dropped. */
static int add_cue(struct crm_transcript *t, long st, long en, struct crm_buf *text)
{
	char spk[64] = "";
	struct crm_buf clean = {0};
	const char *s = text->data;
	int rc;

	for (size_t i = 0; i < text->len; i++) {
		if (s[i] == '<') {
			const char *gt = memchr(s + i, '>', text->len - i);
			if (!gt)
				break;
			if (!spk[0] && s[i + 1] == 'v' && (s[i + 2] == ' ' || s[i + 2] == '.')) {
				const char *nm = memchr(s + i + 2, ' ', (size_t)(gt - s) - i - 2);
				if (nm)
					snprintf(spk, sizeof spk, "%.*s", (int)(gt - nm - 1), nm + 1);
			}
			i = (size_t)(gt - s);
			continue;
		}
		if (crm_buf_addc(&clean, s[i]) < 0) {
			crm_buf_release(&clean);
			return -1;
		}
	}
	rc = clean.len ? add_line(t, spk[0] ? spk : NULL, st, en, clean.data, clean.len) : 0;
	crm_buf_release(&clean);
	crm_buf_reset(text);
	return rc;
}

/* Does the line s[0..len) (not NUL-terminated) start with word? */
static int starts(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && !memcmp(s, word, n);
}

static int parse_cues(struct crm_transcript *t, int vtt, const char *name,
		      const char *data, size_t n, struct crm_err *e)
{
	struct lines l = {data, data + n, 0};
	struct crm_buf text = {0};
	const char *s;
	size_t len;
	long st = -1, en = -1;
	int in_cue = 0, skip = 0;

	if (vtt) {
		next_line(&l, &s, &len);	/* WEBVTT header */
		skip = 1;			/* header block */
	}
	while (next_line(&l, &s, &len)) {
		const char *arrow = memmem(s, len, "-->", 3);
		if (blank(s, len)) {
			if (in_cue && add_cue(t, st, en, &text) < 0)
				goto oom;
			in_cue = skip = 0;
			continue;
		}
		if (skip)
			continue;
		if (!in_cue && vtt && (starts(s, len, "NOTE") || starts(s, len, "STYLE") ||
				       starts(s, len, "REGION"))) {
			skip = 1;
			continue;
		}
		if (!in_cue && arrow) {
			const char *p = s;
			st = parse_ts(&p, arrow);
			p = arrow + 3;
			en = parse_ts(&p, s + len);
			if (st < 0 || en < 0 || en < st) {
				crm_buf_release(&text);
				return crm_err_set(e, CRM_EDATA, "%s:%ld: bad cue timing '%.*s'", name,
						   l.no, (int)(len > 60 ? 60 : len), s);
			}
			in_cue = 1;
			continue;
		}
		if (!in_cue)
			continue;	/* cue identifier (SRT: the number) */
		if ((text.len && crm_buf_addc(&text, ' ') < 0) || crm_buf_add(&text, s, len) < 0)
			goto oom;
	}
	if (in_cue && add_cue(t, st, en, &text) < 0)
		goto oom;
	crm_buf_release(&text);
	return 0;
oom:
	crm_buf_release(&text);
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
}

/* A clock time "m:ss", "h:mm:ss" at s[0..n) exactly, in ms; -1 if not. */
static long clock_ms(const char *s, size_t n)
{
	long v = 0, acc = 0;
	int parts = 0, digits = 0;

	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i])) {
			if (++digits > 2 && parts)
				return -1;
			v = v * 10 + (s[i] - '0');
			if (v > 100000)
				return -1;
		} else if (s[i] == ':' && digits) {
			acc = acc * 60 + v, v = 0, digits = 0, parts++;
		} else {
			return -1;
		}
	}
	if (parts < 1 || parts > 2 || digits != 2)
		return -1;
	return (acc * 60 + v) * 1000;
}

/*
 * "Dana Smith  0:03" or "Dana Smith (00:01:02)" alone on a line: the
 * speaker of the lines after it (Otter's and Zoom's text exports).
 */
static int header_line(const char *s, size_t n, size_t *nn, long *st)
{
	size_t e = n, b;

	while (e && s[e - 1] == ' ')
		e--;
	int br = e && (s[e - 1] == ')' || s[e - 1] == ']');
	e -= br;
	b = e;
	while (b && (isdigit((unsigned char)s[b - 1]) || s[b - 1] == ':'))
		b--;
	if (b == e || (*st = clock_ms(s + b, e - b)) < 0)
		return 0;
	if (br && (!b || (s[b - 1] != '(' && s[b - 1] != '[')))
		return 0;
	b -= br;
	if (!b || s[b - 1] != ' ')
		return 0;
	while (b && s[b - 1] == ' ')
		b--;
	*nn = b;
	return name_ok(s, b);
}

/*
 * Text: "Name: words" lines, "[00:01:02] Name: words", a label alone on a
 * line or a "Name  0:03" header before the lines it speaks, and bare text.
 * A line without a label continues the speaker before it.
 */
static int parse_text(struct crm_transcript *t, const char *data, size_t n, struct crm_err *e)
{
	struct lines l = {data, data + n, 0};
	const char *s;
	size_t len;
	char cur[64] = "";
	long cur_st = -1;

	while (next_line(&l, &s, &len)) {
		long st = -1;
		/* "[00:01:02] Name: text" or "00:01:02 Name: text" */
		const char *p = s, *end = s + len;
		if (p < end && *p == '[')
			p++;
		const char *q = p;
		long h = 0, parts = 0, v = 0;
		int big = 0;	/* a run of digits no time stamp has */
		while (q < end && (isdigit((unsigned char)*q) || *q == ':')) {
			if (v > 100000 || h > 100000)
				big = 1;
			else if (*q == ':')
				h = h * 60 + v, v = 0, parts++;
			else
				v = v * 10 + (*q - '0');
			q++;
		}
		if (!big && parts >= 1 && parts <= 2 && q > p && q < end && (*q == ']' || *q == ' ')) {
			st = (h * 60 + v) * 1000;
			q += *q == ']';
			while (q < end && *q == ' ')
				q++;
			s = q;
			len = (size_t)(end - q);
		}
		if (blank(s, len))
			continue;
		size_t ns, nn, rest;
		long hst;
		int rc;
		if (speaker_prefix(s, len, &ns, &nn, &rest)) {
			snprintf(cur, sizeof cur, "%.*s", (int)nn, s + ns);
			if (blank(s + rest, len - rest)) {
				cur_st = st;
				continue;
			}
			rc = crm_transcript_add(t, cur, st, -1, s + rest, len - rest);
		} else if (header_line(s, len, &nn, &hst)) {
			snprintf(cur, sizeof cur, "%.*s", (int)nn, s);
			cur_st = hst;
			continue;
		} else {
			rc = crm_transcript_add(t, cur[0] ? cur : NULL, st >= 0 ? st : cur_st, -1, s, len);
		}
		cur_st = -1;
		if (rc < 0)
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	return 0;
}

/* JSON utterances: find the array of objects that carry text. */

static const char *jstr(json_t *o, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(o, *keys);
		if (json_is_string(v))
			return json_string_value(v);
		if (json_is_object(v) && json_is_string(json_object_get(v, "name")))
			return json_string_value(json_object_get(v, "name"));
		if (json_is_integer(v)) {
			static char buf[32];	/* speaker ids in Gong's shape */
			snprintf(buf, sizeof buf, "speaker %lld", (long long)json_integer_value(v));
			return buf;
		}
	}
	return NULL;
}

static long jms(json_t *o, const char *const *ms_keys, const char *const *s_keys)
{
	for (; *ms_keys; ms_keys++) {
		json_t *v = json_object_get(o, *ms_keys);
		if (json_is_number(v))
			return (long)json_number_value(v);
	}
	for (; *s_keys; s_keys++) {
		json_t *v = json_object_get(o, *s_keys);
		if (json_is_number(v))
			return (long)(json_number_value(v) * 1000 + 0.5);
	}
	return -1;
}

static const char *const K_TEXT[] = {"text", "content", "transcript", NULL};
static const char *const K_SPK[] = {"speaker", "speakerName", "speaker_name", "speakerId",
				    "speaker_id", "name", "role", "channel", NULL};
static const char *const K_START_MS[] = {"startTimeMillis", "start_ms", "startMs", "start", NULL};
static const char *const K_END_MS[] = {"endTimeMillis", "end_ms", "endMs", "end", NULL};
static const char *const K_START_S[] = {NULL};
static const char *const K_SECS_START[] = {"start", NULL};
static const char *const K_SECS_END[] = {"end", NULL};
static const char *const K_NONE[] = {NULL};

static int json_utts(struct crm_transcript *t, json_t *arr, int seconds, const char *spk_up)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		if (!json_is_object(o))
			continue;
		const char *spk = jstr(o, K_SPK);
		char sbuf[64];
		json_t *sent = json_object_get(o, "sentences");
		snprintf(sbuf, sizeof sbuf, "%s", spk ? spk : spk_up ? spk_up : "");
		if (json_is_array(sent)) {	/* Gong: a speaker's monologue */
			if (json_utts(t, sent, 0, sbuf[0] ? sbuf : NULL) < 0)
				return -1;
			continue;
		}
		const char *text = jstr(o, K_TEXT);
		if (!text)
			continue;
		long st = seconds ? jms(o, K_NONE, K_SECS_START) : jms(o, K_START_MS, K_START_S);
		long en = seconds ? jms(o, K_NONE, K_SECS_END) : jms(o, K_END_MS, K_START_S);
		if (crm_transcript_add(t, sbuf[0] ? sbuf : NULL, st, en, text, strlen(text)) < 0)
			return -1;
	}
	return 0;
}

static json_t *find_array(json_t *j, int *seconds)
{
	static const char *const keys[] = {"utterances", "transcriptCreateUtterances",
					   "transcript", "monologues", "callTranscripts", NULL};
	if (json_is_array(j))
		return j;
	if (json_is_array(json_object_get(j, "segments"))) {
		*seconds = 1;	/* whisper / OpenAI verbose_json */
		return json_object_get(j, "segments");
	}
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(j, keys[i]);
		if (json_is_array(v) && !strcmp(keys[i], "callTranscripts") && json_array_size(v))
			return find_array(json_array_get(v, 0), seconds);
		if (json_is_array(v))
			return v;
	}
	return NULL;
}

static int parse_json(struct crm_transcript *t, const char *name, const char *data,
		      size_t n, struct crm_err *e)
{
	json_error_t je;
	json_t *j = json_loadb(data, n, 0, &je), *arr;
	int seconds = 0, rc = 0;

	if (!j)
		return crm_err_set(e, CRM_EDATA, "%s:%d: %s", name, je.line, je.text);
	if (!(arr = find_array(j, &seconds))) {
		const char *text = json_is_object(j) ? jstr(j, K_TEXT) : NULL;
		if (text)
			rc = crm_transcript_add(t, NULL, -1, -1, text, strlen(text));
		else
			rc = crm_err_set(e, CRM_EDATA, "%s: no utterances (expected an array of {speaker, text, start, end})", name);
	} else if (json_utts(t, arr, seconds, NULL) < 0) {
		rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	json_decref(j);
	return rc;
}

int crm_transcript_parse(struct crm_transcript *t, enum crm_tformat f,
			 const char *name, const char *data, size_t n,
			 struct crm_err *e)
{
	int rc;

	if (n >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
		data += 3, n -= 3;
	if (memchr(data, 0, n))
		return crm_err_set(e, CRM_EDATA, "%s: binary data in a %s transcript", name,
				   crm_tformat_name(f));
	switch (f) {
	case CRM_TF_VTT:
		if (n < 6 || memcmp(data, "WEBVTT", 6))
			return crm_err_set(e, CRM_EDATA, "%s:1: no WEBVTT header", name);
		rc = parse_cues(t, 1, name, data, n, e);
		break;
	case CRM_TF_SRT:
		rc = parse_cues(t, 0, name, data, n, e);
		break;
	case CRM_TF_JSON:
		rc = parse_json(t, name, data, n, e);
		break;
	case CRM_TF_TEXT:
		rc = parse_text(t, data, n, e);
		break;
	default:
		return crm_err_set(e, CRM_EUSAGE, "%s: not a transcript format", name);
	}
	if (rc == 0 && !t->n)
		rc = crm_err_set(e, CRM_EDATA, "%s: no utterances in the %s transcript", name,
				 crm_tformat_name(f));
	for (size_t i = 0; rc == 0 && i < t->n; i++)
		if (t->u[i].end > t->duration * 1000)
			t->duration = t->u[i].end / 1000.0;
	return rc;
}

char *crm_transcript_json(const struct crm_transcript *t)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < t->n; i++) {
		json_t *o = json_object();
		const struct crm_utt *u = &t->u[i];
		if (!o || json_array_append_new(a, o) < 0)
			goto fail;
		if (u->speaker)
			json_object_set_new(o, "speaker", json_string(u->speaker));
		if (u->start >= 0)
			json_object_set_new(o, "start", json_integer(u->start));
		if (u->end >= 0)
			json_object_set_new(o, "end", json_integer(u->end));
		json_object_set_new(o, "text", json_string(u->text));
	}
	s = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(a);
	return s;
fail:
	json_decref(a);
	return NULL;
}

int crm_transcript_from_json(struct crm_transcript *t, const char *json,
			     struct crm_err *e)
{
	return parse_json(t, "transcript", json, strlen(json), e);
}
