/*
 * linkage.h - probabilistic record linkage (Fellegi-Sunter).
 *
 * Records of one type are loaded with a set of compared fields, each with
 * a comparator. Blocking rules (several, OR-ed) choose candidate pairs; each
 * pair gets a comparison level per field (exact, close, fuzzy, different,
 * or missing); u, the chance of each level between two different people,
 * is measured on random pairs, given the level of the field each goes with
 * between strangers; m, the chance for one person, and lambda, the chance
 * that two records picked at random are one, are learned without labels by
 * expectation-maximisation. A pair's match weight is the sum of log2(m/u)
 * over its fields, adjusted for how common each shared value is; its
 * probability follows from the weight and lambda, and is calibrated: a
 * pair scored p is a match about p of the time. Every field's part can be
 * shown.
 */
#ifndef CRM_LINKAGE_H
#define CRM_LINKAGE_H

#include <stdint.h>

#include "entity.h"
#include "util.h"

struct crm_store;
struct crm_linkage;

enum crm_cmp {
	CRM_CMP_NAME,		/* person names: nicknames, Jaro-Winkler */
	CRM_CMP_TEXT,		/* free text: Jaro-Winkler, token sets */
	CRM_CMP_COMPANY,	/* company names: legal suffixes dropped */
	CRM_CMP_EMAIL,		/* email match key */
	CRM_CMP_PHONE,		/* last nine digits */
	CRM_CMP_ID,		/* identifiers: exact, one typo */
	CRM_CMP_DATE,		/* dates: exact, typo or day/month swap, year */
	CRM_CMP_CODE,		/* postcodes, states, numbers: exact, one typo */
	CRM_CMP_ADDRESS,	/* street addresses: numbers as such, St/Street */
};

/* Comparison levels: 0 is "missing" (weight 0). */
enum { CRM_LV_MISSING, CRM_LV_EXACT, CRM_LV_CLOSE, CRM_LV_FUZZY, CRM_LV_DIFF,
       CRM_LEVELS };

#define CRM_LINK_MAXF 16

struct crm_lfield {
	char *name;		/* column, or attrs.KEY */
	enum crm_cmp cmp;
	double m[CRM_LEVELS], u[CRM_LEVELS];
	double w[CRM_LEVELS];	/* weights used: log2(m/u), made monotone */
	int parent;		/* the field this one goes with between strangers, or -1 */
	double wc[CRM_LEVELS][CRM_LEVELS];	/* weights given the parent's level */
};

struct crm_pair {
	uint32_t a, b;			/* record indexes, a < b */
	uint8_t lev[CRM_LINK_MAXF];
	float weight;			/* log2 Bayes factor of the fields */
	float p;			/* match probability */
};

/* A word of company names and how many names hold it. */
struct crm_word {
	uint64_t h;			/* hash, odd; 0: a free slot */
	uint32_t n;
};

/* A blocking rule and the sample of its pairs that m is trained on. */
struct crm_lrule {
	int x, y;			/* fields; y < 0: x alone */
	size_t pairs;			/* pairs it produced */
	uint64_t *sample;		/* up to RULE_SAMPLE of them, a << 32 | b */
	size_t nsample;
};

#define CRM_LINK_MAXRULES 160

/* A person's verdict on a pair, kept for a supervised model. */
struct crm_plabel {
	uint32_t a, b;			/* record indexes; UINT32_MAX: gone (merged) */
	uint8_t lev[CRM_LINK_MAXF];
	float w[CRM_LINK_MAXF];		/* the fields' weights when decided (NAN: unknown) */
	float p;			/* its probability when decided (NAN: unknown) */
	uint8_t match;
};

/*
 * A second opinion on a pair: from its fields' levels and weights (w)
 * and the log-odds the weights give (natural log), the log-odds to use.
 */
typedef double (*crm_linkage_adjust_fn)(const void *ctx, const struct crm_linkage *lk,
					 const uint8_t *lev, const double *w, double logit);

struct crm_linkage {
	const struct crm_entity *type;
	uint8_t *tf;			/* n * nf: -8 log2 of the value's frequency among
					 * records that have the field (0: not kept) */
	struct crm_word *words;		/* words of company names, hashed */
	size_t nwords, nwords_cap, nwords_docs;
	double *ucond;			/* [i][j][a][b]: u of level b of field j given
					 * level a of field i, between strangers */
	float mi[CRM_LINK_MAXF][CRM_LINK_MAXF];	/* mutual information of two
					 * fields' levels, between strangers */
	struct crm_lfield f[CRM_LINK_MAXF];
	size_t nf;
	size_t n;			/* records */
	char **id;			/* their ids */
	char **val;			/* n * nf match values, NULL if missing */
	size_t skipped;			/* records with no compared field */
	struct crm_pair *pairs;
	size_t npairs;
	uint64_t big_blocks;		/* blocks over the cap, not paired */
	struct crm_lrule rules[CRM_LINK_MAXRULES];
	size_t nrules;
	size_t dropped_rules;		/* rules that would pair too much */
	double lambda;			/* chance two records at random are one */
	int iterations;			/* EM iterations run */
	size_t block_cap;		/* largest block paired in full */
	double lab[2][CRM_LINK_MAXF][CRM_LEVELS];	/* labelled level counts: [0] non-matches, [1] matches */
	size_t nlabels[2];
	struct crm_plabel *labelled;	/* every label, in the order given */
	size_t nlabelled, labelled_cap;
	int m_given;			/* m was taken from a saved model: not learnt */
	double lambda_given;		/* and lambda with it (0: learnt) */
	crm_linkage_adjust_fn adjust;	/* NULL: the weights alone */
	const void *adjust_ctx;
	uint32_t *byid;			/* record indexes sorted by id (lazily) */
	size_t n_db;			/* the first n_db records are in the database */
	char **chunks;			/* the arena of values */
	size_t nchunks, arena_used;
};

void crm_linkage_init(struct crm_linkage *lk, const struct crm_entity *type);
void crm_linkage_release(struct crm_linkage *lk);

/* Compare field name ("email", "attrs.postcode") with cmp. */
int crm_linkage_add_field(struct crm_linkage *lk, const char *name,
			  enum crm_cmp cmp, struct crm_err *e);

/* Parse a comparator name ("name", "email"...); -1 if unknown. */
int crm_cmp_parse(const char *s);
const char *crm_cmp_name(enum crm_cmp c);
const char *crm_level_name(int level);

/*
 * Choose the fields when none were given: the type's own (names, email,
 * phone, company...) and every custom field that at least a third of the
 * records have, with a comparator guessed from its name and values.
 */
int crm_linkage_auto_fields(struct crm_linkage *lk, struct crm_store *db,
			    struct crm_err *e);

/*
 * Load every record of the type that was not merged away. Records with
 * none of the fields are counted in lk->skipped and left out.
 */
int crm_linkage_load(struct crm_linkage *lk, struct crm_store *db, struct crm_err *e);

/*
 * Fields from a list "name[:comparator],..." (comparator: name, text,
 * company, email, phone, id, date, code or address; text when left
 * out). -1 with e (CRM_EUSAGE) naming an unknown comparator or field.
 */
int crm_linkage_add_fields(struct crm_linkage *lk, const char *spec, struct crm_err *e);

/*
 * Labels from the NDJSON file at path, {"a": ID, "b": ID, "match": true|
 * false} a line, for the candidates among the loaded records; a line that
 * is not one, or names no live record, goes to warn (file and line) and
 * is passed over. -1 with e when the file cannot be read.
 */
int crm_linkage_read_labels(struct crm_linkage *lk, const char *path,
			    void (*warn)(void *ctx, const char *msg), void *ctx, struct crm_err *e);

/*
 * For records incoming(ctx, id) says are new: keep each one's best pair
 * only (the others' probability set to 0), so a new record joins its
 * likeliest match and no other. -1 when out of memory.
 */
int crm_linkage_keep_best(struct crm_linkage *lk, int (*incoming)(void *ctx, const char *id), void *ctx);

/*
 * Add a record that is not in the database (one on its way in, from a dry
 * run upstream) with the raw values of lk's fields (NULL: none), after
 * crm_linkage_load and before crm_linkage_block.
 */
int crm_linkage_add_record(struct crm_linkage *lk, const char *id, const char *const *raw,
			   struct crm_err *e);

/* Index of the record with id, or -1 (sorts an index on first use). */
long crm_linkage_find(struct crm_linkage *lk, const char *id);

/* The level of agreement of records a and b (indexes) on each field. */
void crm_linkage_compare(const struct crm_linkage *lk, uint32_t a, uint32_t b,
			 uint8_t *lev);

/* The candidate pair of records a and b (indexes), or NULL. */
struct crm_pair *crm_linkage_pair_find(const struct crm_linkage *lk, uint32_t a, uint32_t b);

/* Candidate pairs from the blocking rules, compared. */
int crm_linkage_block(struct crm_linkage *lk, struct crm_err *e);

/*
 * A person's verdict on records a and b (indexes): match or not. Labels
 * refine m and u after the unsupervised estimate, which counts as
 * LABEL_PRIOR pairs against them. Call before crm_linkage_train().
 */
void crm_linkage_label(struct crm_linkage *lk, uint32_t a, uint32_t b,
		       int match);
/*
 * A label from a person's decision on a pair whose records may be gone
 * (merged since): its fields' levels as the review queue keeps them
 * ({"email":{"level":"exact",...},...}) and the probability it had then
 * (NAN: unknown). 1 when taken, 0 when it does not name every field of
 * this comparison.
 */
int crm_linkage_label_json(struct crm_linkage *lk, const char *fields, double p, int match);

/*
 * m, how the copies of one entity differ, is a property of where the
 * records come from, and is learnt where there are copies to learn it
 * from: once the duplicates are merged, EM on what is left finds some
 * other likeness (colleagues, namesakes) and calls it a match. So m and
 * the prior are saved after a run that learnt them well and taken on the
 * next: a pair scores as it did, and running twice is running once.
 * crm_linkage_m_json appends m of each field, with what it was learnt
 * on, to b as a JSON object (-1 when out of memory); crm_linkage_m_take
 * sets m from one (and lk->m_given) when it compares the same fields
 * the same way: 1 taken, 0 not.
 */
int crm_linkage_m_json(const struct crm_linkage *lk, struct crm_buf *b);
int crm_linkage_m_take(struct crm_linkage *lk, const char *json);

/*
 * Learn u (random pairs, seeded) and, unless given, m (EM), then lambda
 * (EM with m and u fixed); score all pairs.
 */
int crm_linkage_train(struct crm_linkage *lk, uint64_t seed, struct crm_err *e);

/*
 * Weight of level lev of field i: log2(m/u), except that a better level
 * never weighs less than a worse one; 0 for missing.
 */
double crm_linkage_field_weight(const struct crm_linkage *lk, size_t i, int lev);

/*
 * The weights of pair p's fields (w may be NULL), as its score counts
 * them: a field's level weight, where two values are equal adjusted for
 * how common the value is (a shared "Smith" says less than a shared
 * "Wojciechowski"), and where a field agrees along with one it goes with
 * among strangers (company and city, name and email), less the part the
 * other already counted. Returns their sum.
 */
double crm_linkage_pair_weights(const struct crm_linkage *lk, const struct crm_pair *p,
				double *w);

/* Probability of a pair of total weight w, under the trained prior. */
double crm_linkage_prob(const struct crm_linkage *lk, double w);

/*
 * Probability of pair p (its levels set): from its weights and, when
 * lk->adjust is set, as that second opinion has it.
 */
double crm_linkage_pair_prob(const struct crm_linkage *lk, const struct crm_pair *p);

/* Score every candidate pair again (after lk->adjust was set). */
void crm_linkage_rescore(struct crm_linkage *lk);

/*
 * The model's own estimate, from its probabilities alone (no labels), of
 * the precision and recall among candidates of merging pairs with p >=
 * threshold; and of how sure it is: the share of the expected matches in
 * pairs it cannot call (0.1 <= p < threshold). Returns the expected
 * number of matches among the candidates.
 */
double crm_linkage_estimate(const struct crm_linkage *lk, double threshold,
			    double *precision, double *recall, double *unsure);

/*
 * What the merges made are worth, by the model's own probabilities: the
 * pairs put together (every two records of a group of cluster) and how
 * many of them are expected right; the matches expected in all, those
 * among the candidates and, from a sample of pairs no blocking rule
 * compared (sample of them, the same every run), those outside them. So
 * precision and recall of the groups a merge leaves, each with its
 * standard deviation. Honest only as far as the probabilities are
 * calibrated.
 */
struct crm_merge_estimate {
	double together, expected_right, expected_matches, outside;
	double precision, precision_sd, recall, recall_sd;
	double completeness;	/* the share of the matches among the candidates */
	size_t sampled;
};
int crm_linkage_merge_estimate(const struct crm_linkage *lk, const uint32_t *cluster,
			       size_t sample, struct crm_merge_estimate *out, struct crm_err *e);

/*
 * Is the model's estimate poor? When it takes nearly every candidate pair
 * for a match (CRM_LINK_BLIND), expects a precision below 0.99 at
 * threshold (CRM_LINK_IMPRECISE), or cannot call more than a quarter of
 * the matches it expects (CRM_LINK_UNSURE): which, and why in msg (n
 * bytes); 0 when it is sound.
 */
enum { CRM_LINK_BLIND = 1, CRM_LINK_IMPRECISE, CRM_LINK_UNSURE };
int crm_linkage_check(const struct crm_linkage *lk, double threshold, char *msg, size_t n);

/*
 * Group records linked by pairs with p >= threshold into clusters:
 * cluster[i] is the index of the first record of i's group (so records
 * alone have cluster[i] == i). Strongest links first; two groups are
 * joined only when every pair across them scores at least doubt (pairs
 * that were no candidates are compared then), so one link cannot join
 * records the others say are different people; and never past max
 * members. weakest (may be NULL) gets, per group root, the lowest
 * probability between two of its members (1 for records alone). Both are
 * new arrays of lk->n entries.
 */
int crm_linkage_cluster(const struct crm_linkage *lk, double threshold,
			double doubt, size_t max, uint32_t **cluster,
			float **weakest, struct crm_err *e);

#endif
