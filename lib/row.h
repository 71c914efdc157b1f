/*
 * row.h - a database row as one NDJSON record.
 */
#ifndef CRM_ROW_H
#define CRM_ROW_H

#include <sqlite3.h>

#include "util.h"

/*
 * Append the current row of st as a JSON object and a newline to b:
 * {"type":KIND, then "status":STATUS if not NULL, then every non-NULL
 * column in order. Internal columns (src_key, name_key) are left out and a
 * column named attrs is embedded as the JSON it holds. -1 when out of memory.
 */
int crm_row_json(struct crm_buf *b, sqlite3_stmt *st, const char *kind,
		 const char *status);

#endif
