/*
 * cli-arg.c - what the commands take from their options the same way:
 * numbers, sizes, record types, output formats (CI reports among them),
 * secrets, and the database.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../lib/cireport.h"
#include "../lib/crypt.h"
#include "../lib/entity.h"
#include "../lib/store/store.h"

/* names[0..n) as "a, b or c", appended to b. */
static void or_list(struct crm_buf *b, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crm_buf_addf(b, "%s%s", i ? i + 1 == n ? " or " : ", " : "", names[i]);
}

const struct crm_entity *cli_type(const char *arg, const char *a, const char *b)
{
	const struct crm_entity *t = crm_entity_find(arg);
	const char *kinds[32];
	struct crm_buf all;
	size_t n = 0;

	if (t && (!a || !strcmp(t->kind, a) || !strcmp(t->kind, b)))
		return t;
	if (a)
		cli_die(CRM_EUSAGE, "--type: want %s or %s, not '%s'", a, b, arg);
	for (; n < crm_nentities && n < 32; n++)
		kinds[n] = crm_entities[n].kind;
	crm_buf_init(&all, 0);
	or_list(&all, kinds, n);
	cli_die(CRM_EUSAGE, "--type: unknown type '%s' (want %s)", arg, all.data ? all.data : "");
}

/*
 * Are records being piped in? A pipe, socket or file on stdin: yes. A
 * terminal, /dev/null (cron, CI) or a closed stdin: no, score them all.
 */
int cli_stdin_records(void)
{
	struct stat st;

	if (fstat(0, &st) < 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode);
}

double cli_num(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s || errno || v < lo || v > hi)
		cli_die(CRM_EUSAGE, "--%s: want a number from %g to %g, not '%s'", opt, lo, hi, s);
	return v;
}

size_t cli_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno || strchr(s, '-'))
		cli_die(CRM_EUSAGE, "--%s: '%s' is not a positive size", opt, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || v == 0)
		cli_die(CRM_EUSAGE, "--%s: '%s' is not a positive size", opt, s);
	return (size_t)v;
}

int cli_table(const char *arg)
{
	if (!strcmp(arg, "table"))
		return 1;
	if (!strcmp(arg, "ndjson"))
		return 0;
	cli_die(CRM_EUSAGE, "--format: want ndjson or table, not '%s'", arg);
}

int cli_format(const char *arg)
{
	static const char *const names[] = { "ndjson", "table", "junit", "github" };

	if (!arg)
		return cli_isatty(1) ? CLI_TABLE : CLI_NDJSON;
	for (int i = 0; i < 4; i++)
		if (!strcmp(arg, names[i]))
			return i;
	cli_die(CRM_EUSAGE, "--format: want table, ndjson, junit or github, not '%s'", arg);
}

int cli_among(const char *arg, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

int cli_choice(const char *opt, const char *arg, const char *const *names)
{
	struct crm_buf b;
	size_t n = 0;
	int k = cli_among(arg, names);

	if (k >= 0)
		return k;
	while (names[n])
		n++;
	crm_buf_init(&b, 0);
	or_list(&b, names, n);
	cli_die(CRM_EUSAGE, "--%s: want %s, not '%s'", opt, b.data ? b.data : "", arg);
}

static struct crm_buf ci_out;
static double ci_t0;

void cli_ci_begin(int fmt)
{
	if (fmt < CLI_JUNIT)
		return;
	crm_buf_init(&ci_out, 0);
	cli_capture(&ci_out);
	ci_t0 = crm_now();
}

void cli_ci_end(int fmt, const char *suite)
{
	struct crm_buf out;
	struct crm_err e = { 0 };
	char host[256] = "", stamp[32];

	if (fmt < CLI_JUNIT)
		return;
	cli_capture(NULL);
	crm_buf_init(&out, 0);
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	crm_timestamp(stamp, sizeof(stamp));
	stamp[19] = '\0';	/* YYYY-MM-DDTHH:MM:SS, as JUnit's schema has it */
	if (crm_ci_report(&out, fmt == CLI_JUNIT ? CRM_CI_JUNIT : CRM_CI_GITHUB, suite,
			  ci_out.data ? ci_out.data : "", ci_out.len, host, stamp, crm_now() - ci_t0, &e) < 0)
		cli_die_err(&e);
	cli_write(out.data, out.len);
	crm_buf_release(&out);
	crm_buf_release(&ci_out);
}

void cli_secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

char *cli_secret(const char *path, const char *env)
{
	char buf[8192], *s;
	size_t n;
	FILE *fp;

	if (!path) {
		const char *v = env ? getenv(env) : NULL;
		if (!v || !*v)
			return NULL;
		if (!(s = strdup(v)))
			cli_die(CRM_ESOFTWARE, "out of memory");
		return s;
	}
	if (!(fp = fopen(path, "r")))
		cli_die(CRM_ENOINPUT, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!*buf)
		cli_die(CRM_EUSAGE, "%s: empty", path);
	s = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	if (!s)
		cli_die(CRM_ESOFTWARE, "out of memory");
	return s;
}

struct crm_store *cli_open(int flags)
{
	struct crm_store *s;
	struct crm_err e = { 0 };

	if (crm_store_open(&s, crm_store_target(cli_db), flags, &e) < 0)
		cli_die_err(&e);
	return s;
}

char *cli_slurp(FILE *fp, const char *what, size_t cap)
{
	struct crm_buf b;
	char chunk[4096];
	size_t r;

	crm_buf_init(&b, cap);
	while ((r = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (crm_buf_add(&b, chunk, r) < 0)
			cli_die(CRM_EDATA, "%s is longer than %zu bytes", what, cap);
	if (ferror(fp))
		cli_die(CRM_EIO, "%s: read error", what);
	if (crm_buf_add(&b, "", 0) < 0)
		cli_die(CRM_ESOFTWARE, "out of memory");
	return crm_buf_detach(&b, NULL);
}

volatile sig_atomic_t cli_stopping;

char *cli_file(const char *path, size_t cap)
{
	FILE *fp = fopen(path, "r");
	char *text;

	if (!fp)
		cli_die(CRM_ENOINPUT, "%s: %s", path, strerror(errno));
	text = cli_slurp(fp, path, cap);
	fclose(fp);
	return text;
}
