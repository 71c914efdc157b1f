/*
 * auth.c - API tokens and record ownership.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "digest.h"
#include "store/store.h"

static const char *const role_names[] = { "", "rep", "manager", "admin" };

enum crm_role crm_role_parse(const char *s)
{
	for (int r = CRM_ROLE_REP; r <= CRM_ROLE_ADMIN; r++)
		if (s && !strcmp(s, role_names[r]))
			return (enum crm_role)r;
	return CRM_ROLE_NONE;
}

const char *crm_role_name(enum crm_role r)
{
	return role_names[r];
}

int crm_token_add(struct crm_store *db, const char *name, enum crm_role role,
		  const char *user, const char *team, const char *expires,
		  char *out, char *id_out, struct crm_err *e)
{
	unsigned char raw[32];
	char hash[65], now[32];
	const char *p[] = { id_out, name, hash, role_names[role], user, team && *team ? team : NULL,
			    now, expires };

	if (role == CRM_ROLE_NONE)
		return crm_err_set(e, CRM_EUSAGE, "a token's role is rep, manager or admin");
	if (team && *team && role != CRM_ROLE_MANAGER)
		return crm_err_set(e, CRM_EUSAGE, "a team is for managers' tokens");
	if (crm_random(raw, sizeof(raw)) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "no random bytes from the kernel");
	memcpy(out, "crm_", 4);
	crm_hex(raw, sizeof(raw), out + 4);
	crm_sha256_hex(out, strlen(out), hash);
	crm_id_new("tk_", id_out);
	crm_timestamp(now, sizeof(now));
	return crm_store_run(db, "INSERT INTO api_tokens (id, name, hash, role, \"user\", team, created_at, expires_at) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", p, 8, e) < 0 ? -1 : 0;
}

int crm_token_revoke(struct crm_store *db, const char *which, struct crm_err *e)
{
	char now[32];
	const char *p[] = { which, now };
	long long changes;

	crm_timestamp(now, sizeof(now));
	if ((changes = crm_store_run(db, "UPDATE api_tokens SET revoked_at = ?2 "
				     "WHERE (id = ?1 OR name = ?1) AND revoked_at IS NULL", p, 2, e)) < 0)
		return -1;
	if (!changes)
		return crm_err_set(e, CRM_EDATA, "no live token '%s'", which);
	return 0;
}

int crm_token_check(struct crm_store *db, const char *token, struct crm_principal *p,
		    const char **why, struct crm_err *e)
{
	struct crm_stmt *st;
	char hash[65], now[32];
	int rc;

	*why = "unknown token";
	if (strncmp(token, "crm_", 4) || strlen(token) != CRM_TOKEN_LEN)
		return 0;
	crm_sha256_hex(token, strlen(token), hash);
	if (!(st = crm_store_stmt(db, "SELECT id, name, role, \"user\", coalesce(team, ''), expires_at, revoked_at "
			       "FROM api_tokens WHERE hash = ?1", e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, hash, (size_t)-1);
	if ((rc = crm_stmt_step(st, e)) <= 0) {
		crm_store_stmt_done(st);
		return rc;
	}
	crm_timestamp(now, sizeof(now));
	if (crm_stmt_type(st, 6) != CRM_NULL) {
		*why = "token revoked";
		rc = 0;
	} else if (crm_stmt_type(st, 5) != CRM_NULL &&
		   strcmp(crm_stmt_text(st, 5), now) <= 0) {
		*why = "token expired";
		rc = 0;
	} else {
		snprintf(p->token_id, sizeof(p->token_id), "%s", crm_stmt_text(st, 0));
		snprintf(p->name, sizeof(p->name), "%s", crm_stmt_text(st, 1));
		p->role = crm_role_parse(crm_stmt_text(st, 2));
		snprintf(p->user, sizeof(p->user), "%s", crm_stmt_text(st, 3));
		snprintf(p->team, sizeof(p->team), "%s", crm_stmt_text(st, 4));
		*why = NULL;
		rc = p->role != CRM_ROLE_NONE;
	}
	crm_store_stmt_done(st);
	return rc;
}

int crm_auth_owns(struct crm_store *db, const struct crm_principal *p,
		  const char *owner, struct crm_err *e)
{
	struct crm_stmt *st;
	int rc;

	if (p->role == CRM_ROLE_ADMIN)
		return 1;
	if (!owner)
		return 0;
	if (!strcmp(owner, p->user))
		return 1;
	if (p->role != CRM_ROLE_MANAGER || !*p->team)
		return 0;
	if (!(st = crm_store_stmt(db, "SELECT 1 FROM users WHERE name = ?1 AND team = ?2 AND merged_into IS NULL", e)))
		return -1;
	crm_stmt_bind_text_ref(st, 1, owner, (size_t)-1);
	crm_stmt_bind_text_ref(st, 2, p->team, (size_t)-1);
	rc = crm_stmt_step(st, e);
	crm_store_stmt_done(st);
	return rc;
}

int crm_token_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e)
{
	return crm_store_prepare(db, "SELECT id, name, role, \"user\", team, created_at, expires_at, revoked_at, "
				 "coalesce(revoked_at, expires_at) FROM api_tokens ORDER BY created_at", 0, st, e);
}
