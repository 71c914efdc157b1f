/*
 * dbcopy.h - every row of one database into another, of either backend:
 * the road from one SQLite file to PostgreSQL and back (crm db copy).
 */
#ifndef CRM_DBCOPY_H
#define CRM_DBCOPY_H

#include "store/store.h"

/* What a copy did for one table. */
struct crm_copy_table {
	char name[64];
	long long rows;
};

/* Called after every 10,000 rows of a table and at its end. */
typedef void crm_copy_progress(const char *table, long long rows, int done, void *arg);

/*
 * Copy every row of every table of src into dst, which is empty and at
 * the same schema version: ids, events with their sequence numbers,
 * merges with their snapshots, models, sealed cells and blobs as they are
 * (no trigger fires: the history is copied, not made again). src is read
 * in one snapshot, dst written in one transaction: a failure or a kill
 * leaves dst as it was. Counts per table go to out[0..*n) (room for max).
 */
int crm_dbcopy(struct crm_store *src, struct crm_store *dst, crm_copy_progress *progress,
		void *arg, struct crm_copy_table *out, size_t max, size_t *n, struct crm_err *e);

/* Rows of each table of s, as crm_dbcopy reports them. */
int crm_dbcopy_count(struct crm_store *s, struct crm_copy_table *out, size_t max, size_t *n,
		 struct crm_err *e);

/*
 * Mark dst as a copy of from begun and not finished: every tool but
 * crm db refuses it until crm_dbcopy, whose one transaction removes the
 * mark with the rows it lands, completes it.
 */
int crm_dbcopy_mark(struct crm_store *dst, const char *from, struct crm_err *e);

#endif
