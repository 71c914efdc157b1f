/*
 * auth.h - API tokens, roles, and who may see which record.
 *
 * A token is "crm_" and 64 hex digits (256 random bits); the database
 * keeps its SHA-256 only. A rep reaches the records they own, a manager
 * those of their team (users.team) and their own, an admin everything.
 */
#ifndef CRM_AUTH_H
#define CRM_AUTH_H

#include <stddef.h>


#include "id.h"
#include "util.h"

struct crm_store;
struct crm_stmt;

#define CRM_TOKEN_LEN 68	/* "crm_" + 64 hex digits */

enum crm_role { CRM_ROLE_NONE, CRM_ROLE_REP, CRM_ROLE_MANAGER, CRM_ROLE_ADMIN };

struct crm_principal {
	char token_id[CRM_ID_MAX];
	char name[128];		/* the token's name */
	char user[128];		/* owner name of the user's records */
	char team[128];		/* manager: the team; "" if none */
	enum crm_role role;
};

/* Role by name ("rep", "manager", "admin"); CRM_ROLE_NONE if unknown. */
enum crm_role crm_role_parse(const char *s);
const char *crm_role_name(enum crm_role r);

/*
 * Create a token: a new row in api_tokens and the token text in
 * out[CRM_TOKEN_LEN + 1], shown once. expires may be NULL (never); a
 * team is for a manager's token only (CRM_EUSAGE otherwise, as for no
 * role).
 */
int crm_token_add(struct crm_store *db, const char *name, enum crm_role role,
		  const char *user, const char *team, const char *expires,
		  char *out, char *id_out, struct crm_err *e);

/* Revoke by id or name; 0, or -1 with e (CRM_EDATA: no such token). */
int crm_token_revoke(struct crm_store *db, const char *which, struct crm_err *e);

/* The tokens, oldest first, as rows (id, name, role, user, team,
 * created_at, expires_at, revoked_at, and when it stops: the revocation,
 * else the expiry). Never the token text, which is not kept. */
int crm_token_rows(struct crm_store *db, struct crm_stmt **st, struct crm_err *e);

/*
 * The principal of a bearer token. 1 and *p filled when the token is
 * known, live and unexpired; 0 with why ("unknown token", "token
 * expired", "token revoked") otherwise; -1 with e on a database error.
 */
int crm_token_check(struct crm_store *db, const char *token, struct crm_principal *p,
		    const char **why, struct crm_err *e);

/*
 * May p act on a record owned by owner (NULL: nobody)? Admins may;
 * a rep if owner is p->user; a manager also if owner is in p->team by
 * the users table. 1 yes, 0 no, -1 with e on a database error.
 */
int crm_auth_owns(struct crm_store *db, const struct crm_principal *p,
		  const char *owner, struct crm_err *e);

#endif
