/*
 * seal.h - seal what a database holds in clear, once a master key is set.
 *
 * A database used before its key holds people's fields, natural keys and
 * call transcripts in clear; new writes are sealed from the key on, old
 * rows are not. crm_seal_all walks every table that holds personal data
 * and seals it as the importer and crm-transcribe would have: each
 * person's cells under their data key (given one if they have none), the
 * email and phone blind indexes filled, a natural key replaced by its
 * blind index, transcripts and their analysis sealed, and the copies of
 * personal fields kept in merge snapshots sealed for the row they
 * restore. It works in batches, each its own transaction: a kill loses
 * at most the batch in hand, and a rerun goes on where it stopped (a
 * sealed cell is never sealed again).
 */
#ifndef CRM_SEAL_H
#define CRM_SEAL_H

#include "crypt.h"
#include "util.h"

struct crm_store;

struct crm_seal_stats {
	long long rows;		/* rows changed */
	long long cells;	/* cells sealed */
	long long keys;		/* data keys given to people who had none */
	long long batches;	/* transactions committed */
};

/*
 * The data key of contact id: its own, or a new one set on it now
 * (*given 1); a new key for the row alone when id is NULL or names no
 * contact.
 */
int crm_seal_person_key(struct crm_store *db, struct crm_crypt *cc, const char *id, uint64_t *dk,
			int *given, struct crm_err *e);

/*
 * Seal db (opened with its key) in batches of batch rows. progress, when
 * not NULL, is called after each batch with the table and the running
 * counts.
 */
int crm_seal_all(struct crm_store *db, long batch, struct crm_seal_stats *st,
		 void (*progress)(void *arg, const char *table, const struct crm_seal_stats *st),
		 void *arg, struct crm_err *e);

#endif
