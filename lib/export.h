/*
 * export.h - selecting records for output, with simple filters that are
 * bound as parameters, never pasted into SQL.
 */
#ifndef CRM_EXPORT_H
#define CRM_EXPORT_H

#include <jansson.h>

#include "entity.h"
#include "store/store.h"
#include "util.h"

/*
 * A filter "FIELD OP VALUE": OP is = != < <= > >= or ~ (contains, any
 * case). FIELD is a column or attrs.KEY. An empty VALUE with = or != tests
 * for a missing value.
 */
struct crm_filter {
	char *field;
	char op[3];
	char *value;
};

/* Parse expr into f (release with crm_filter_release); -1, e on error. */
int crm_filter_parse(const char *expr, struct crm_filter *f, struct crm_err *e);
void crm_filter_release(struct crm_filter *f);

struct crm_export_query {
	const struct crm_entity *type;
	const struct crm_filter *filters;
	size_t nfilters;
	const char *since;	/* only records updated at or after; canonical time */
	int merged;		/* include records merged into others */
};

/*
 * Prepare the SELECT for q on db: the record columns in table order
 * (internal keys left out), oldest first, streamed (on PostgreSQL run
 * nothing else on db until its last row). *st is new; crm_stmt_free it.
 * -1 with e when a filter names an unknown field (CRM_EUSAGE).
 */
int crm_export_prepare(struct crm_store *db, const struct crm_export_query *q,
		       struct crm_stmt **st, struct crm_err *e);
/*
 * Does the current row of that statement pass q's filters on sealed
 * columns, which SQL cannot see into (all but an email's or phone's
 * equality, found by blind index): each cell opened and compared in
 * memory. 1 yes, 0 no, -1 with e when a cell does not open. Rows the
 * statement gives that fail it are not q's.
 */
int crm_export_match(const struct crm_export_query *q, struct crm_stmt *st, struct crm_err *e);

/*
 * The distinct attrs keys of the records q selects, sorted, as a new
 * array of new strings in *keys (free each and the array). Filters on
 * sealed columns are not applied here: the keys may be more than the
 * records crm_export_match passes have.
 */
int crm_export_attr_keys(struct crm_store *db, const struct crm_export_query *q,
			 char ***keys, size_t *n, struct crm_err *e);

/* The columns of an export as CSV or a table, by name: each a column of
 * the statement, or (col -1) a custom field attrs.KEY. */
struct crm_export_cols {
	char **name;
	int *col;
	size_t n;
	int attrs, id;		/* the statement's attrs and id columns, or -1 */
};

/*
 * The columns of st for q: those of fields (comma-separated; one that is
 * neither a column nor attrs.KEY is CRM_EUSAGE, unless lenient, which
 * leaves it empty), or without fields every column and then every custom
 * field of the records q selects. 0, or -1 with e.
 */
int crm_export_columns(struct crm_store *db, const struct crm_export_query *q,
		       struct crm_stmt *st, const char *fields, int lenient,
		       struct crm_export_cols *c, struct crm_err *e);
void crm_export_columns_release(struct crm_export_cols *c);

/*
 * The text of column i of c in st's current row into out (reset first):
 * a number as JSON writes it, a sealed cell opened (empty when its key
 * was erased), a custom field looked up in attrs (the row's, parsed). 0,
 * or -1 with e when a sealed cell does not open.
 */
int crm_export_cell(struct crm_stmt *st, const char *table, const struct crm_export_cols *c,
		    size_t i, json_t *attrs, struct crm_buf *out, struct crm_err *e);

#endif
