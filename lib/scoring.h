/*
 * scoring.h - scoring records as they arrive, a chunk at a time.
 *
 * A filter in a pipe (crm-score reading records) must see each record as
 * it is when the record reaches it: the upstream stage has committed it a
 * moment ago, maybe changed it. So nothing is built at start but the
 * model: each chunk's records are read from the database then (their
 * current values, their interactions as of now), scored, and their scores
 * stored in one short write transaction, which is never open while the
 * caller waits for input.
 */
#ifndef CRM_SCORING_H
#define CRM_SCORING_H

#include "store/store.h"

#include "entity.h"
#include "id.h"
#include "model.h"
#include "util.h"

struct crm_scoring {
	const struct crm_entity *t;
	struct crm_model m;
	char *hist;		/* history rates the rows are given */
	size_t scored, merged, missing, closed, outsiders;	/* so far */
	/* Closed records are not scored (else they are, as of their
	 * outcome: what a bias audit of the outcomes needs). */
	int open_only;
	/* Scores not written yet: a chunk whose write would wait for another
	 * writer leaves them for the next chunk's transaction. */
	struct crm_pending {
		char id[CRM_ID_MAX];
		float p;
	} *pend;
	size_t npend, apend;
	char now[32];
};

/* The scoring state for type t: its active model (an error when it has
 * none), overrides and history rates. */
int crm_scoring_open(struct crm_scoring *s, struct crm_store *db, const struct crm_entity *t,
		     struct crm_err *e);
void crm_scoring_release(struct crm_scoring *s);

struct crm_scored {
	char id[CRM_ID_MAX];	/* the record scored: a merged id's survivor */
	int merged;		/* the id given was merged into id */
	int outsider;		/* not in the database: scored from its own fields, not stored */
	float p;		/* the probability, NAN when not scored */
	const char *reason;	/* why not, when not */
};

/*
 * Score the records ids[0..n) of s's type as they are now into out[0..n)
 * and store their scores, in one transaction (or, when another writer
 * holds the lock, with the next chunk's: crm_scoring_flush at the end). An id merged away is scored
 * as its survivor; an id no record has is scored from its own fields
 * when its record's JSON is given (json[i], or json NULL), else it gets
 * a reason instead of a score, as does a closed record with open_only.
 */
int crm_scoring_chunk(struct crm_scoring *s, struct crm_store *db, const char *const *ids, size_t n,
		      const char *const *json, struct crm_scored *out, struct crm_err *e);

/*
 * Order the rows of d named in rows[0..n) (their probabilities in p, by
 * row) as a rep reads them: highest score (as shown, 0-100) first; at
 * one score the record more engaged this week, then the faster rising,
 * then the likelier, then the dataset's order.
 */
void crm_scoring_rank(const struct crm_dataset *d, const float *p, size_t *rows, size_t n);

/*
 * A record line[0..len) with o's keys added: score, probability and
 * model, or "score": null and the reason; merged_into when o was merged,
 * in_database false for an outsider. Appended to b (reset first), no
 * newline. A plain object without those keys is extended as it is (no
 * tree is built); others go through jansson.
 */
int crm_scored_json(struct crm_buf *b, const char *line, size_t len, const struct crm_scored *o,
		    const char *model);

/*
 * Score the records among the NDJSON lines line[0..n) (of any type) that
 * are of s's type, as crm_scoring_chunk does, and hand every line to put
 * in its order: those with their score keys (crm_scored_json), the
 * others as they came. 0, -1 with e, or what put returned when not 0
 * (e->code left 0).
 */
int crm_scoring_lines(struct crm_scoring *s, struct crm_store *db, char *const *line,
		      const size_t *len, size_t n, int (*put)(void *ctx, const char *line, size_t len),
		      void *ctx, struct crm_err *e);

/* What a run of crm_scoring_chunk did, as a sentence ("12 contacts
 * scored with model m_..; 2 closed, not scored"), appended to b. */
int crm_scoring_summary(struct crm_buf *b, const struct crm_scoring *s);

/* Every open record of a type scored now with the active model. */
struct crm_scoring_run {
	struct crm_model m;	/* the active model, with its overrides */
	struct crm_dataset d;	/* every live record's features now */
	float *p;		/* probability of each row of d */
	size_t *open, nopen;	/* the open rows, highest first (crm_scoring_rank) */
};

/*
 * Score every open record of type t with its active model and store the
 * scores, with the history rates as of this run (for explaining one
 * record fast), in one transaction. 0, or -1 with e; release r either
 * way.
 */
int crm_scoring_run(struct crm_store *db, const struct crm_entity *t, struct crm_scoring_run *r,
		    struct crm_err *e);
/* The k-th open record of r (by rank) as an NDJSON record (type, id,
 * score, probability, rank, model; with why, its strongest reason, as
 * "why"), newline ended, appended to b. 0, or -1 with e. */
int crm_scoring_run_json(struct crm_buf *b, const struct crm_scoring_run *r, size_t k, int why,
			 struct crm_err *e);
void crm_scoring_run_release(struct crm_scoring_run *r);

/* Write the scores still pending, waiting for the lock if need be. */
int crm_scoring_flush(struct crm_scoring *s, struct crm_store *db, struct crm_err *e);

/* A score that moved, as crm_scoring_follow reports it. */
struct crm_follow_change {
	const char *id, *model;
	int score, previous;	/* previous -1: none stored */
	double probability, ms;	/* ms: the rescore's share of its batch */
	long long seq;		/* the event that moved it */
};
struct crm_follow_stats {
	size_t rescored, changed;
	double total_ms, max_ms;
	long long cursor;	/* where the next run goes on */
};

/* A change as an NDJSON record of type kind, newline ended, appended to
 * b; what a run did as a sentence ("12 rescores, 3 changed; ..."). */
int crm_follow_change_json(struct crm_buf *b, const char *kind, const struct crm_follow_change *c);
int crm_follow_summary(struct crm_buf *b, const struct crm_follow_stats *st);

/*
 * Follow the event log from event from (-1: where the last run stopped,
 * kept in meta as score.cursor.KIND, else from now): rescore the open
 * records of type each event touches (new ones included), 500 events at
 * a time in one short transaction, and hand each record whose shown
 * score changed to changed (non-zero stops). The cursor is kept in meta
 * after every batch, so a run with once (stop when the log is read) from
 * cron goes on where the last one stopped and gives the scores a
 * continuous run gives; without once it waits for events. 0, or -1 with
 * e (e->code 0 when changed stopped it).
 */
int crm_scoring_follow(struct crm_store *db, const struct crm_entity *type, long long from, int once,
		       int (*changed)(void *ctx, const struct crm_follow_change *c), void *ctx,
		       struct crm_follow_stats *st, struct crm_err *e);

/*
 * The records of type (contacts or deals) that an event on entity/id may
 * change: the record itself, or those it hangs off or that hang off it
 * (an interaction's, a task's or a call's contact and deal, a contact's
 * deals, an account's contacts or deals). With open, only those not
 * closed and not merged away. Up to max ids into ids; how many (0 on an
 * error: nothing to do is what an error costs here).
 */
size_t crm_scoring_touched(struct crm_store *db, const struct crm_entity *type,
			   const char *entity, const char *id, int open,
			   char ids[][CRM_ID_MAX], size_t max);

/* The scorings of deals and of contacts on db, each opened when first
 * needed. */
struct crm_scorings {
	struct crm_store *db;
	struct crm_scoring sc[2];	/* deal, contact */
	int open[2];
};

void crm_scorings_init(struct crm_scorings *x, struct crm_store *db);
void crm_scorings_release(struct crm_scorings *x);

/*
 * Explain ids[0..n) of deals and contacts, in their order, each as it is
 * now, appending to out as crm_explain_record does (flags, top too). A
 * merged id is explained as the record it was merged into: in NDJSON
 * with "merged_from" set to the id asked for. All is read in one read
 * transaction, so a merge by another tool between finding the survivor
 * and reading it cannot lose the record. An id that is not explained, or
 * (in table form, which has no room to say so) was merged, is told to
 * note as a sentence. Returns the number not explained, or -1 with e.
 */
int crm_scorings_explain(struct crm_scorings *x, const char *const *ids, size_t n, size_t top,
			 int flags, struct crm_buf *out,
			 void (*note)(void *ctx, const char *what), void *ctx, struct crm_err *e);

#endif
