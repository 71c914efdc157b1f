/*
 * crm-notify - a message to Slack (an incoming webhook), for cron jobs and
 * scripts: the text from the arguments or standard input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/notify.h"
#include "cli.h"

enum { O_TITLE = 256, O_STATUS, O_FIELD, O_CONTEXT, O_WEBHOOKFILE, O_RETRIES, O_PRINT };

static const struct cli_opt opts[] = {
	{ "title", O_TITLE, "TEXT", "the message's header" },
	{ "status", O_STATUS, "S", "ok, warn or fail: an icon in the header" },
	{ "field", O_FIELD, "LABEL=VALUE", "a labelled figure (repeat, up to 10)" },
	{ "context", O_CONTEXT, "TEXT", "small print under the message" },
	{ "webhook-file", O_WEBHOOKFILE, "FILE", "file holding the webhook URL (or $CRM_SLACK_WEBHOOK)" },
	{ "retries", O_RETRIES, "N", "retries with backoff (default 3)" },
	{ "print", O_PRINT, NULL, "print the payload, send nothing" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-notify", "[options] [TEXT...] (or the text on stdin)",
	"Send a message to a Slack channel through an incoming webhook.",
	opts,
};

int main(int argc, char **argv)
{
	struct crm_note n = {0};
	const char *arg, *hookfile = NULL, **fields = NULL;
	char *text = NULL, *url = NULL, *payload, host[256];
	int k, retries = 3, print = 0;
	struct crm_err e = {0};

	gethostname(host, sizeof host);
	host[sizeof host - 1] = 0;
	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (k) {
		case O_TITLE: n.title = arg; break;
		case O_STATUS:
			if (strcmp(arg, "ok") && strcmp(arg, "warn") && strcmp(arg, "fail"))
				cli_die(CRM_EUSAGE, "--status: want ok, warn or fail, not '%s'", arg);
			n.status = arg;
			break;
		case O_FIELD: {
			const char **nf = realloc(fields, (n.nfields + 1) * sizeof *nf);
			if (!nf)
				cli_die(CRM_ESOFTWARE, "out of memory");
			fields = nf;
			fields[n.nfields++] = arg;
			break;
		}
		case O_CONTEXT: n.context = arg; break;
		case O_WEBHOOKFILE: hookfile = arg; break;
		case O_RETRIES: retries = (int)cli_num("--retries", arg, 0, 20); break;
		case O_PRINT: print = 1; break;
		}
	}
	n.fields = fields;
	if (optind < argc) {
		struct crm_buf b = {0};
		for (int i = optind; i < argc; i++)
			if ((i > optind && crm_buf_addc(&b, ' ') < 0) || crm_buf_adds(&b, argv[i]) < 0)
				cli_die(CRM_ESOFTWARE, "out of memory");
		text = crm_buf_detach(&b, NULL);
	} else if (!cli_isatty(0)) {
		text = cli_slurp(stdin, "the message", 1 << 20);
	}
	if ((!text || !*text) && !n.title)
		cli_die(CRM_EUSAGE, "nothing to send: give a --title or some text");
	n.text = text;
	if (!n.context) {
		static char ctx[300];
		snprintf(ctx, sizeof ctx, "crm on %s", host);
		n.context = ctx;
	}
	if (!(payload = crm_slack_payload(&n)))
		cli_die(CRM_ESOFTWARE, "out of memory");
	if (print) {
		cli_write(payload, strlen(payload));
		cli_write("\n", 1);
	} else {
		if (!(url = cli_secret(hookfile, "CRM_SLACK_WEBHOOK")))
			cli_die(CRM_EUSAGE, "no webhook: give --webhook-file or set CRM_SLACK_WEBHOOK");
		if (!url || !*url)
			cli_die(CRM_EUSAGE, "the webhook URL is empty");
		if (crm_webhook_post(url, payload, retries, 20, &e) < 0)
			cli_die_err(&e);
	}
	free(url);
	free(payload);
	free(text);
	free(fields);
	return cli_finish(0);
}
