/*
 * audit.h - the population a bias audit measures, and the audit log.
 *
 * A population is rows of (record, probability, role, outcome) with the
 * values of one or two attributes of each record: any column or custom
 * field of the record, its account's ("account.industry") or, for deals,
 * its contact's ("contact.title"). Numeric attributes with many values
 * are cut into quantile bands; a missing value is its own group.
 */
#ifndef CRM_AUDIT_H
#define CRM_AUDIT_H

#include <stdint.h>

#include "entity.h"
#include "fairness.h"
#include "util.h"

struct crm_store;
struct crm_stmt;

#define CRM_AUDIT_MAXATTR 2
#define CRM_AUDIT_MAXGROUPS 200	/* distinct values of one attribute */

struct crm_intern;

struct crm_audit_pop {
	const struct crm_entity *type;
	size_t nattr;
	char *attr[CRM_AUDIT_MAXATTR];		/* as asked for */
	/* every live record of the type, by id, with its attribute values */
	size_t nrec;
	char **rec_id;
	uint32_t *rec_val[CRM_AUDIT_MAXATTR];	/* interned value, 0 = missing */
	double *rec_num[CRM_AUDIT_MAXATTR];	/* numeric value or NAN */
	struct crm_intern *values[CRM_AUDIT_MAXATTR];
	/* the rows */
	size_t n, cap;
	float *p;
	uint8_t *role, *label;
	uint32_t *rec;				/* record index of each row */
	/* after crm_audit_pop_groups(): groups of one attribute set */
	uint32_t *group;
	char **gname;
	size_t ngroups;
	/* each attribute's group codes of the rows, kept between groupings */
	uint32_t *acode[CRM_AUDIT_MAXATTR];
	char **aname[CRM_AUDIT_MAXATTR];
	size_t nacode[CRM_AUDIT_MAXATTR];
	int abins;
	int own;		/* records from their own fields, not the database */
	size_t ownrec_cap;
};

/*
 * A population without a database: each row brings its attribute values
 * (vals[a], NULL or "" when missing) with it (records piped in from
 * anywhere: crm-audit bias audits them and stores nothing).
 */
int crm_audit_pop_open_own(struct crm_audit_pop *pop, const struct crm_entity *type,
			   const char *const *attrs, size_t nattr, struct crm_err *e);
int crm_audit_pop_add_own(struct crm_audit_pop *pop, const char *id, const char *const *vals,
			  float p, uint8_t role, uint8_t label, struct crm_err *e);

/*
 * Read the attributes' values for every live record of type. Unknown
 * attributes are CRM_EUSAGE, naming them and what there is.
 */
int crm_audit_pop_open(struct crm_audit_pop *pop, struct crm_store *db,
		       const struct crm_entity *type, const char *const *attrs,
		       size_t nattr, struct crm_err *e);
void crm_audit_pop_release(struct crm_audit_pop *pop);

/* Add a row for record id; 0, 1 if id is not a live record, -1 on error. */
int crm_audit_pop_add(struct crm_audit_pop *pop, const char *id, float p,
		      uint8_t role, uint8_t label, struct crm_err *e);

/*
 * Rows from the scored records r reads (NDJSON; named name in messages):
 * each with an id and a probability (or a score, 0-100), an outcome where
 * known ("won" or "converted", "lost"; or 1, 0, true, false). Their groups
 * come from the database's records, or from each record's own fields
 * (an attribute's key, attrs.KEY or a dotted path) when pop was opened
 * with crm_audit_pop_open_own. Lines that are not scored records are
 * passed over; *unknown counts ids that are no live record. 0, or -1 with
 * e (CRM_EDATA: a line that is not JSON, named).
 */
struct crm_reader;
int crm_audit_pop_read(struct crm_audit_pop *pop, struct crm_reader *r, const char *name,
		       size_t *unknown, struct crm_err *e);

/*
 * The rows of a stored model: current scores of open records (selection)
 * and the model's holdout (outcomes).
 */
int crm_audit_pop_model(struct crm_audit_pop *pop, struct crm_store *db,
			const char *model_id, struct crm_err *e);

/*
 * Group the rows by the attributes in mask (bit a: attribute a; two bits:
 * their intersection), cutting numeric ones into at most bins quantile
 * bands. Fills pop->group, gname, ngroups. CRM_EDATA when an attribute
 * has more than CRM_AUDIT_MAXGROUPS values.
 */
int crm_audit_pop_groups(struct crm_audit_pop *pop, unsigned mask, int bins,
			 struct crm_err *e);

struct crm_override;

/*
 * What if the n overrides ov were in force? before gets the rows of the
 * active model, after those of a model with them: retrained in memory
 * (with the active model's parameters) when a change needs training
 * (exclude, monotone, or clearing one of those), else the same model
 * rescored. Both are measured now on the same records: the open ones
 * (selection) and one holdout (outcomes), whose AUCs go to auc[0] and
 * auc[1]. Nothing is stored. pop_open() both populations first.
 */
int crm_audit_whatif(struct crm_store *db, const struct crm_override *ov, size_t n,
		     struct crm_audit_pop *before, struct crm_audit_pop *after,
		     double auc[2], struct crm_err *e);

struct crm_fair;
struct crm_fair_opts;

/*
 * How fair pop's selection at threshold thr is, for each attribute set
 * (each attribute, and the two together when there are two; numbers in
 * bins): for each set, each its groups as NDJSON records ({"type":"group",
 * ...}, a line each, in groups) and the set as one ({"type":"attribute",
 * ...} in line), with its measures f for a table or a report. findings,
 * when not NULL, gets every record as the items of a JSON array (the
 * caller writes the brackets). Returns the violations of fail_on (metric
 * bits) counted over every group, or -1 with e; *min_ratio gets the
 * lowest impact ratio of a group large enough to judge (NAN: none).
 */
int crm_audit_measure(struct crm_audit_pop *pop, const struct crm_fair_opts *fo, unsigned fail_on,
		      int bins, float thr, struct crm_buf *findings,
		      void (*each)(void *ctx, const char *label, const struct crm_fair *f,
				   const struct crm_buf *groups, const struct crm_buf *line),
		      void *ctx, double *min_ratio, struct crm_err *e);

/* What a bias audit is asked, beside where the scores come from. */
struct crm_audit_bias {
	const struct crm_entity *type;
	const char *by[CRM_AUDIT_MAXATTR];
	size_t nby;
	const char *top;	/* "N" or "P%" of the selection */
	double threshold;	/* a score (0-100), or NAN: top */
	int bins;		/* bands of a numeric attribute */
	unsigned fail_on;	/* metric bits */
	struct crm_fair_opts fo;
};
/* The defaults: contacts, the top 20%, 4 bands, crm_fair's defaults. */
void crm_audit_bias_default(struct crm_audit_bias *b);
/* Is top a count or a percentage as --top takes it ("200", "20%")? */
int crm_audit_top_valid(const char *top);

/* One what-if of a bias audit: before and after override o, in memory,
 * nothing stored; the violations, lowest impact ratio and AUC of each
 * ([0] and [1]), and its record (crm_audit_whatif_json) into json. */
struct crm_audit_whatif_result {
	int violations[2];
	double min_ratio[2], auc[2];
};
int crm_audit_whatif_run(struct crm_store *db, const struct crm_audit_bias *b,
			 const struct crm_override *o, const char *spec,
			 struct crm_audit_whatif_result *r, struct crm_buf *json, struct crm_err *e);

/* A what-if's record (NDJSON, its newline too): the change, then before
 * and after ([0] and [1]) the violations, lowest impact ratio and AUC,
 * and the AUC it costs. -1 when out of memory. */
int crm_audit_whatif_json(struct crm_buf *b, const char *change, const int violations[2],
			  const double min_ratio[2], const double auc[2]);
/* A bias run's parameters as stored with it: the attributes, the
 * threshold, fo's limits, and where the scores came from. */
int crm_audit_bias_params(struct crm_buf *b, const char *const *by, size_t nby, double thr,
			  const struct crm_fair_opts *fo, const char *source);

/* The probability at which the top k of the selection rows are selected. */
float crm_audit_top_threshold(const struct crm_audit_pop *pop, size_t k);

/*
 * The operating point as a probability: threshold (a score, 0-100) when
 * not NAN, else the top of the selection rows that top says ("200", or
 * "20%" of them). *nsel gets the selection rows. -1 when out of memory.
 */
float crm_audit_operating_point(const struct crm_audit_pop *pop, double threshold, const char *top,
				size_t *nsel);

/* A bias run's record (NDJSON, its newline too): its stored id (NULL:
 * none) and model, the threshold, the rows scored, selected and with
 * outcomes, the violations and the verdict. */
int crm_audit_bias_json(struct crm_buf *b, const char *id, const char *kind, const char *model,
			double thr, size_t scored, size_t selected, size_t holdout, int violations);

/* An override in force (a row of crm_override_rows, not all) as an
 * NDJSON record, newline ended. */
int crm_audit_override_json(struct crm_buf *b, struct crm_stmt *st);

/*
 * Store an audit run: kind (bias, quality, privacy), params and findings
 * as JSON text, the verdict. id (CRM_ID_MAX bytes) gets the run's id.
 */
int crm_audit_store(struct crm_store *db, const char *kind, const char *entity,
		    const char *model_id, const char *params, const char *findings,
		    int violations, char *id, struct crm_err *e);

/* The stored runs of kind (NULL: every kind), oldest first, as rows (id,
 * at, kind, entity, model_id, violations, verdict, params). */
int crm_audit_rows(struct crm_store *db, const char *kind, struct crm_stmt **st, struct crm_err *e);
/* A row of crm_audit_rows as an NDJSON "audit" record, newline ended. */
int crm_audit_row_json(struct crm_buf *b, struct crm_stmt *st);

#endif
