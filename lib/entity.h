/*
 * entity.h - the record types of the CRM and their fields, as data.
 *
 * One table describes, per type, the SQL table, the id prefix, and each
 * field's column, value type, accepted header names and enum values. The
 * importer, the exporter and the documentation tests all read it, so a new
 * field is one line here plus a migration.
 */
#ifndef CRM_ENTITY_H
#define CRM_ENTITY_H

#include <stddef.h>

enum crm_ftype {
	CRM_T_TEXT,	/* free text, trimmed */
	CRM_T_INT,	/* integer */
	CRM_T_REAL,	/* decimal number */
	CRM_T_TIME,	/* date or date-time, stored as ISO 8601 */
	CRM_T_EMAIL,	/* email address, stored lower case */
	CRM_T_ENUM,	/* one of .values */
	CRM_T_REF,	/* id of a record of type .ref */
};

/* Field flags. */
#define CRM_F_REQUIRED	0x01	/* a record without it is rejected */
#define CRM_F_VIRTUAL	0x02	/* input only, no column ("name" of a contact) */
#define CRM_F_SOFT	0x04	/* REF: unresolved value is not an error */
#define CRM_F_DEFERRED	0x08	/* REF to the same type: resolved at end of file */
#define CRM_F_LENIENT	0x10	/* ENUM: unknown values kept (normalised) */
#define CRM_F_IDENTITY	0x20	/* part of the natural key of id-less records */
#define CRM_F_DEFAULT	0x40	/* ENUM: a new record without it gets the first value */
#define CRM_F_PERSONAL	0x80	/* personal data: sealed when a key is configured */

struct crm_field {
	const char *name;	/* column and NDJSON key */
	enum crm_ftype type;
	unsigned flags;
	/* Header names that map here, as crm_norm_key() forms, space-separated. */
	const char *aliases;
	/* REF: the kind referred to. ENUM: "value=alias alias;value=..." */
	const char *arg;
};

struct crm_entity {
	const char *kind;	/* "contact" */
	const char *table;	/* "contacts" */
	const char *prefix;	/* "c_" */
	const char *ext_aliases;/* header names of the external id */
	const char *file_hints;	/* file name fragments, '|'-separated */
	const struct crm_field *fields;
	size_t nfields;
	int has_name_key;	/* table has name_key, derived from "name" */
	/* Without an external id (or email, phone...), the key is a hash of
	 * the whole row, not of the identity fields: people who share a name
	 * must not become one record; dedupe decides that, not import. */
	int whole_row_key;
	/* Has the columns dk (data key), email_bi and phone_bi (blind
	 * indexes): the type is the subject of personal data (contacts). */
	int subject;
};

/* All types in dependency order (users, products, accounts, contacts...). */
extern const struct crm_entity crm_entities[];
extern const size_t crm_nentities;

/* Type by kind ("contact") or table ("contacts"); NULL if unknown. */
const struct crm_entity *crm_entity_find(const char *name);
/* Type whose prefix starts id ("c_..."); NULL if none. */
const struct crm_entity *crm_entity_by_id(const char *id);
/*
 * Is field f of a t record personal data, given the record's kind (an
 * interaction's subject is a page address for web visits, not a message)?
 */
int crm_entity_personal(const struct crm_entity *t, const struct crm_field *f,
			const char *kind);
/* Is column a bookkeeping column no record shows (src_key, name_key, dk,
 * email_bi, phone_bi)? */
int crm_entity_internal(const char *column);
/* Is column col of t a personal field? Has t any personal field? */
int crm_entity_personal_column(const struct crm_entity *t, const char *col);
int crm_entity_has_personal(const struct crm_entity *t);
/* Index of a field by name, or -1. */
int crm_entity_field(const struct crm_entity *t, const char *name);

/*
 * Field a header maps to: index into t->fields, CRM_COL_ID, CRM_COL_SOURCE,
 * CRM_COL_EXTERNAL_ID, CRM_COL_ATTRS, or CRM_COL_NONE (kept in attrs).
 */
enum { CRM_COL_NONE = -1, CRM_COL_ID = -2, CRM_COL_SOURCE = -3,
       CRM_COL_EXTERNAL_ID = -4, CRM_COL_ATTRS = -5, CRM_COL_IGNORE = -6 };
int crm_entity_map_header(const struct crm_entity *t, const char *header);

/*
 * Canonical enum value of field f for input v (any case and punctuation),
 * written into out (>= strlen(v) + 1 bytes). Returns 0, or -1 if v is
 * not one of the values and the field is not lenient.
 */
int crm_entity_enum(const struct crm_field *f, const char *v, char *out);

/*
 * The value a new record gets for field f when it has none (CRM_F_DEFAULT:
 * the first enum value), into out (>= 64 bytes); NULL if none.
 */
const char *crm_entity_default(const struct crm_field *f, char *out);

/*
 * Guess the type of an input from its file name and header names: a name
 * hint wins; otherwise the type whose fields most headers map to, if it
 * leads clearly. NULL when it cannot tell.
 */
/* How many of the headers are fields (or the external id) of t. */
size_t crm_entity_header_fit(const struct crm_entity *t, const char *const *headers, size_t n);
/* The type the headers fit best, and how many fit it. */
const struct crm_entity *crm_entity_best_fit(const char *const *headers, size_t n, size_t *fit);
const struct crm_entity *crm_entity_guess(const char *path,
					   const char *const *headers, size_t n);

#endif
