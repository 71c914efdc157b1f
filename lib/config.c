/*
 * config.c - the configuration file (see config.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

const struct crm_setting crm_settings[] = {
	{ "CRM_DB", "the database: an SQLite file or a postgresql:// URL", "./crm.db", 0 },
	{ "CRM_KEY_FILE", "the master key file of field encryption", "none: no encryption", 0 },
	{ "CRM_KEY_STORE", "where the wrapped data keys are kept", "beside the database", 0 },
	{ "CRM_BUSY_TIMEOUT", "seconds to wait for another writer's lock", "as long as it takes", 0 },
	{ "CRM_LOG_FORMAT", "messages on stderr: text, logfmt or json", "logfmt under systemd, else text", 0 },
	{ "CRM_LLM_URL", "the language-model server for call analysis", "none: the rules alone", 0 },
	{ "CRM_LLM_MODEL", "the model's name on that server", "the server's default", 0 },
	{ "CRM_ASR_ENGINE", "the speech engine: sphinx or http", "sphinx", 0 },
	{ "CRM_ASR_URL", "the speech server of the http engine", "none", 0 },
	{ "CRM_LISTEN", "where crm-serve listens (its unit)", "127.0.0.1:8080", 0 },
	{ "CRM_IMAP_URL", "the nightly run's mailbox", "none: no mail", 0 },
	{ "CRM_IMAP_PASSWORD_FILE", "the file holding that mailbox's password", "none", 0 },
	{ "CRM_SELF", "our addresses or domains, space-separated", "none", 0 },
	{ "CRM_ERP_DROP", "the ERP's drop folder", "none: no ERP import", 0 },
	{ "CRM_CALLS_DIR", "the folder of call recordings", "none: no calls", 0 },
	{ "CRM_AUDIT_BY", "the nightly bias audit's attributes", "none: no bias audit", 0 },
	{ "CRM_SLACK_WEBHOOK_FILE", "the file holding the Slack webhook", "none: no Slack", 0 },
	{ "CRM_NIGHTLY_STAGES", "the nightly run's stages", "all of them", 0 },
	{ "CRM_NIGHTLY_LOCK", "the nightly run's lock file", "beside the database", 0 },
	{ "CRM_LLM_API_KEY", "the language-model server's key", "none", 1 },
	{ "CRM_ASR_API_KEY", "the speech server's key", "none", 1 },
	{ "CRM_SLACK_WEBHOOK", "the Slack webhook URL", "none", 1 },
	{ "CRM_IMAP_PASSWORD", "the mailbox's password", "none", 1 },
	{ NULL, NULL, NULL, 0 }
};

const struct crm_setting *crm_setting_find(const char *name)
{
	for (const struct crm_setting *s = crm_settings; s->name; s++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

size_t crm_config_files(char paths[][CRM_PATH_MAX])
{
	const char *one = getenv("CRM_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	size_t n = 0;

	if (one && *one) {
		snprintf(paths[n++], CRM_PATH_MAX, "%s", one);
		return n;
	}
	snprintf(paths[n++], CRM_PATH_MAX, "/etc/crm/crm.conf");
	if (xdg && *xdg)
		snprintf(paths[n++], CRM_PATH_MAX, "%s/crm/crm.conf", xdg);
	else if (home && *home)
		snprintf(paths[n++], CRM_PATH_MAX, "%s/.config/crm/crm.conf", home);
	return n;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int crm_config_read(const char *path,
		    void (*fn)(void *ctx, const char *name, const char *value, int line),
		    void *ctx, struct crm_err *e)
{
	FILE *fp = fopen(path, "r");
	char buf[8192];
	int line = 0;

	if (!fp) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return crm_err_set(e, CRM_ENOINPUT, "%s: %s", path, strerror(errno));
	}
	while (fgets(buf, sizeof(buf), fp)) {
		char *s = trim(buf), *eq, *name, *value;
		size_t n;

		line++;
		if (!*s || *s == '#')
			continue;
		if (!strncmp(s, "export ", 7))
			s = trim(s + 7);
		if (!(eq = strchr(s, '='))) {
			fn(ctx, NULL, "not NAME=value", line);
			continue;
		}
		*eq = '\0';
		name = trim(s);
		value = trim(eq + 1);
		n = strlen(value);
		if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0]) {
			value[n - 1] = '\0';
			value++;
		}
		if (!*name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name)) {
			fn(ctx, NULL, "a name is upper-case letters, digits and _", line);
			continue;
		}
		fn(ctx, name, value, line);
	}
	if (ferror(fp)) {
		fclose(fp);
		return crm_err_set(e, CRM_EIO, "%s: read error", path);
	}
	fclose(fp);
	return 0;
}
