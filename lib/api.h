/*
 * api.h - the JSON API of crm-serve, apart from HTTP: a request (method,
 * path, query arguments, body, who is asking) in, a status and a JSON
 * body out. lib/serve.c puts it on the network.
 */
#ifndef CRM_API_H
#define CRM_API_H

#include <stddef.h>

#include "auth.h"
#include "util.h"

struct crm_store;

#define CRM_API_MAXARGS 32
#define CRM_API_PAGE_DEFAULT 50
#define CRM_API_PAGE_MAX 500

struct crm_kv {
	const char *k, *v;
};

struct crm_api_req {
	const char *method;	/* "GET" */
	const char *path;	/* "/v1/contacts/c_..." without the query */
	struct crm_kv args[CRM_API_MAXARGS];	/* query arguments */
	size_t nargs;
	const char *body;	/* NULL or the request body */
	size_t blen;
	const struct crm_principal *who;
};

struct crm_api_res {
	int status;		/* HTTP status */
	struct crm_buf body;	/* JSON */
	int subject_read;	/* a record of a person was read */
};

/* Shared state of the API: the scoring models and caches. */
struct crm_api;

struct crm_api *crm_api_new(void);
void crm_api_free(struct crm_api *a);
/* How many /v1/leads/top answers were built, not served from the cache. */
unsigned long crm_api_top_builds(struct crm_api *a);

/*
 * Handle rq on db (a connection of the calling thread) into rs (its body
 * initialised by the caller). Always answers: errors are a 4xx or 5xx
 * status with {"error": CODE, "message": TEXT}. Returns the status.
 */
int crm_api_handle(struct crm_api *a, struct crm_store *db, const struct crm_api_req *rq,
		   struct crm_api_res *rs);

/* Set rs to an error: status, a short code ("not_found") and a message. */
int crm_api_error(struct crm_api_res *rs, int status, const char *code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Is event (entity, entity_id) about a record p may see? 1 or 0; -1 on a
 * database error. Admins see every event.
 */
int crm_api_visible(struct crm_store *db, const struct crm_principal *p,
		    const char *entity, const char *entity_id);

/*
 * An event touched (entity, entity_id): forget what is cached about the
 * contacts and deals it concerns. db is the caller's connection.
 */
void crm_api_invalidate(struct crm_api *a, struct crm_store *db, const char *entity,
			const char *entity_id);

/* Is this thread's importer and statement cache to be dropped (thread end)? */
void crm_api_thread_done(void);

#endif
