/*
 * cli-log.c - the commands' messages on stderr: as text for people, or
 * as logfmt or JSON lines for log shippers; a progress line on a
 * terminal; dying with a message and an exit status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/ndjson.h"

enum { LOG_TEXT, LOG_LOGFMT, LOG_JSON };
static int log_format = -1;

static int parse_log_format(const char *v)
{
	return !strcmp(v, "text") ? LOG_TEXT : !strcmp(v, "logfmt") ? LOG_LOGFMT :
	       !strcmp(v, "json") ? LOG_JSON : -1;
}

int cli_log_format(const char *v)
{
	return (log_format = parse_log_format(v));
}

static int log_fmt(void)
{
	if (log_format < 0) {
		const char *v = getenv("CRM_LOG_FORMAT");

		log_format = v && parse_log_format(v) >= 0 ? parse_log_format(v) :
			     getenv("JOURNAL_STREAM") ? LOG_LOGFMT : LOG_TEXT;
	}
	return log_format;
}

/* One message as a line of the format in use, on stderr; a detail
 * (more) is indented under the one before it in text. */
static void vlog(enum cli_level level, int more, const char *fmt, va_list ap)
{
	static const char *const names[] = { "info", "warn", "error" };
	char msg[4096], now[32];
	struct crm_buf b;
	int f = log_fmt();

	vsnprintf(msg, sizeof(msg), fmt, ap);
	cli_progress_clear();
	if (f == LOG_TEXT) {
		if (more)
			fprintf(stderr, "  %s\n", msg);
		else
			fprintf(stderr, "%s: %s\n", cli_prog, msg);
		return;
	}
	crm_timestamp(now, sizeof(now));
	crm_buf_init(&b, 0);
	if (f == LOG_JSON) {
		crm_buf_addf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"prog\":", now, names[level]);
		crm_json_str(&b, cli_prog, strlen(cli_prog));
		crm_buf_adds(&b, ",\"msg\":");
		crm_json_str(&b, msg, strlen(msg));
		crm_buf_adds(&b, "}\n");
	} else {
		crm_buf_addf(&b, "time=%s level=%s prog=%s msg=\"", now, names[level], cli_prog);
		for (const char *m = msg; *m; m++) {
			if (*m == '"' || *m == '\\')
				crm_buf_addc(&b, '\\');
			if (*m == '\n')
				crm_buf_adds(&b, "\\n");
			else
				crm_buf_addc(&b, *m);
		}
		crm_buf_adds(&b, "\"\n");
	}
	fwrite(b.data, 1, b.len, stderr);
	crm_buf_release(&b);
}

static int progress_shown;

void cli_progress(const char *fmt, ...)
{
	va_list ap;

	if (!cli_isatty(2))
		return;
	fprintf(stderr, "\r\033[K%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	progress_shown = 1;
}

void cli_progress_clear(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
}

void cli_log(enum cli_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

void cli_log_more(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CLI_INFO, 1, fmt, ap);
	va_end(ap);
}

void cli_log_report(const char *text)
{
	for (int first = 1; text && *text; first = 0) {
		size_t n = strcspn(text, "\n");

		if (first)
			cli_log(CLI_INFO, "%.*s", (int)n, text);
		else if (n > 2)
			cli_log_more("%.*s", (int)(n - 2), text + 2);	/* without its indent */
		text += n + (text[n] == '\n');
	}
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CLI_WARN, 0, fmt, ap);
	va_end(ap);
}

void cli_warn_cb(void *ctx, const char *line)
{
	(void)ctx;
	cli_warn("%s", line);
}

void cli_info_cb(void *ctx, const char *line)
{
	(void)ctx;
	cli_log(CLI_INFO, "%s", line);
}

void cli_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CLI_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(code);
}

void cli_die_err(const struct crm_err *e)
{
	cli_die(e->code ? e->code : CRM_ESOFTWARE, "%s", e->msg);
}

