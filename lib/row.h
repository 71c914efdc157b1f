/*
 * row.h - a database row as one NDJSON record.
 */
#ifndef CRM_ROW_H
#define CRM_ROW_H

#include "store/store.h"
#include "util.h"

/*
 * Append the current row of st as a JSON object and a newline to b:
 * {"type":KIND, then "status":STATUS if not NULL, then every non-NULL
 * column in order. Internal columns (src_key, name_key...) are left out, a
 * column named attrs is embedded as the JSON it holds, and sealed cells
 * are opened when the connection has a key. JSON columns are written
 * without white space between tokens, as SQLite keeps them (PostgreSQL's
 * jsonb gives them spaced). -1 when out of memory, or a
 * sealed cell does not open (crm_row_json_e: -2 and why in e).
 */
int crm_row_json(struct crm_buf *b, struct crm_stmt *st, const char *kind,
		 const char *status);
int crm_row_json_e(struct crm_buf *b, struct crm_stmt *st, const char *kind,
		   const char *status, struct crm_err *e);

/*
 * Append the first ncols columns of st's current row as one JSON object
 * (no newline), each by its column name: NULL as null, numbers as
 * numbers, text as strings but for the columns json_cols names (a
 * space-separated list, or NULL), which hold JSON and are embedded. -1
 * when out of memory.
 */
int crm_row_object(struct crm_buf *b, struct crm_stmt *st, int ncols, const char *json_cols);

/*
 * Column i of st's current row, a cell of table.column in the row whose
 * id is id, into out (reset first, NUL-terminated): opened when it is
 * sealed, as it is when not. 1 text in out, 0 NULL (or a sealed cell
 * whose data key was erased: gone for good), -1 with e when a sealed
 * cell does not open (changed or moved, or no key on this connection).
 * The cell is opened only as the place the caller names: a value that
 * claims another place does not open.
 */
int crm_row_cell(struct crm_stmt *st, int i, const char *table, const char *column,
		 const char *id, struct crm_buf *out, struct crm_err *e);

#endif
