/*
 * config.h - crm's configuration file: NAME=value lines (the format of a
 * systemd EnvironmentFile, so one file serves the tools and the units),
 * naming the environment variables every tool reads. A value in the file
 * applies where the environment does not set it; an option overrides
 * both.
 */
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

#include <stddef.h>

#include "util.h"

struct crm_setting {
	const char *name;	/* the environment variable, "CRM_DB" */
	const char *what;	/* what it sets */
	const char *fallback;	/* what holds without it, for people */
	int secret;		/* a secret: never in a file, only its _FILE */
};

/* Every setting, ending with a NULL name. */
extern const struct crm_setting crm_settings[];

/* The setting called name, or NULL. */
const struct crm_setting *crm_setting_find(const char *name);

#define CRM_CONFIG_MAXFILES 3

/*
 * The configuration files, in the order they apply (a later one wins):
 * $CRM_CONFIG alone when it is set; else /etc/crm/crm.conf, then the
 * user's ($XDG_CONFIG_HOME/crm/crm.conf, or ~/.config/crm/crm.conf).
 * Into paths (each CRM_PATH_MAX bytes); how many, present or not.
 */
#define CRM_PATH_MAX 4096
size_t crm_config_files(char paths[][CRM_PATH_MAX]);

/*
 * Read the file at path: fn(ctx, name, value, line) for each NAME=value
 * (blank lines and # comments skipped, a value in matching quotes taken
 * without them), and fn(ctx, NULL, why, line) for a line that is not one.
 * 0, 1 when the file is not there, -1 with e when it cannot be read.
 */
int crm_config_read(const char *path,
		    void (*fn)(void *ctx, const char *name, const char *value, int line),
		    void *ctx, struct crm_err *e);

#endif
