/*
 * callan.h - what a call said: summary, action items, sentiment,
 * hesitation, trackers and talk ratio.
 *
 * Rules over words, not a model: every finding names the sentence it came
 * from, so a rep can see why. Sentences are matched after folding case,
 * punctuation and contractions ("I'll" is "i will").
 *
 * Action items are commitments ("I will send the proposal", "we need to
 * check with finance": the speaker owns it), requests ("could you send
 * the security questionnaire": the other side owns it), and offers and
 * proposals ("I can send samples", "how about a trial?") once the other
 * side takes them up or they name a date. The verb after the trigger is
 * open - any word but verbs of thinking, feeling, being and waiting - and
 * must act on something ("I'll confirm" does not); acts done in the
 * conversation itself ("let me show you") are not items. Beliefs,
 * conditions, purposes and embedded clauses are not commitments. A request
 * answered by a commitment is one item, the exchange; a request refused,
 * or a question the other side does not take up, is none. A later "I will
 * share it by Monday" dates the item before it; the same thing promised
 * again later is not a second item.
 *
 * Roles: the rep named by the caller (any part of the name), a label that
 * says the role, else who speaks as the seller (introduces a company,
 * prices and offers what is sold as theirs), with a confidence; unknown
 * when the words do not tell. A colleague the rep brings to the call is
 * on the rep's side. Without a rep, owners come from what the item is (a
 * proposal is sent by the rep, a budget checked by the customer).
 *
 * Hesitation is read in the customer's words only, by kind of cue
 * (hedges, deferral, someone else decides, budget, price, alternatives);
 * a question holds back half, a doubt the customer's later words resolve
 * weighs half, warm sentences and buying signals weigh against.
 *
 * Due dates are when.h's grammar, relative to the call; a rep item without
 * one is due the next working day.
 */
#ifndef CRM_CALLAN_H
#define CRM_CALLAN_H

#include <stddef.h>
#include <time.h>

#include "transcript.h"
#include "util.h"

enum crm_owner { CRM_OWNER_UNKNOWN, CRM_OWNER_REP, CRM_OWNER_CUSTOMER };

struct crm_action {
	char *text;		/* the sentence, as said */
	char *speaker;		/* who said it, or NULL */
	enum crm_owner owner;
	char due[11];		/* YYYY-MM-DD */
	char *due_phrase;	/* "by friday", or NULL when defaulted */
	size_t utt;		/* index of the utterance */
	size_t first;		/* the first utterance it draws on: a request
				 * its answer takes up, else utt */
	int request;		/* asked of the other side, not committed to */
	int question;		/* asked as a question ("could you...?") */
	int offer;		/* offered or proposed: an item once taken up */
	int anaphor;		/* its object is a pronoun ("share it") */
	int pronoun;		/* nothing but a pronoun to act on: an item only
				 * as the answer to a request that names it */
	char object[24];	/* the first word it acts on ("calculator"), or "" */
};

struct crm_cue {
	char cue[64];		/* the words: "check with finance", "long pause" */
	const char *kind;	/* "authority", "budget", "timing", ... */
	size_t utt;
	double weight;
};

enum { CRM_TRK_PRICING, CRM_TRK_BUDGET, CRM_TRK_TIMELINE, CRM_TRK_COMPETITOR,
       CRM_TRK_AUTHORITY, CRM_TRK_INTEGRATION, CRM_TRK_SECURITY, CRM_NTRK };
extern const char *const crm_tracker_names[CRM_NTRK];

struct crm_talk {
	char *speaker;
	enum crm_owner role;
	double seconds;		/* when times are known */
	long words;
	double ratio;		/* share of talk, by time when known, else words */
	double sentiment;
};

struct crm_analysis {
	char *summary;
	struct crm_action *items;
	size_t nitems;
	double sentiment;	/* -1..1, the customer's when speakers are known */
	const char *sentiment_label;	/* "positive", "neutral", "negative" */
	double *utt_sentiment;	/* per utterance */
	size_t nutt;
	double hesitation;	/* 0..1 */
	int hesitant;
	struct crm_cue *cues;
	size_t ncues;
	long trackers[CRM_NTRK];
	struct crm_talk *talk;
	size_t ntalk;
	long questions;		/* from the customer when known */
	/* The rep's speaker label, NULL when not known; how sure, and from
	 * what: "given" (the caller named the rep), "label" (the speaker
	 * labels say the roles) or "words" (who speaks as the seller). */
	char *rep;
	double rep_confidence;
	const char *rep_basis;
	double longest_monologue;	/* seconds, 0 unknown */
	/* Who found the items, summary, hesitation and sentiment: "rules"
	 * (NULL is the same), "llm" or "both" (the model's, the rules'
	 * beside them); why the model's answer is not used, when it is
	 * not; with "both", the rules' own findings and where the two
	 * disagree (jansson json_t *, as void * here). */
	const char *analyzer;
	char *fallback;
	void *rules, *disagreements;
	/* With "both": how far the two agree, for a user judging a model:
	 * {items_agreed, items_either, items (their share), hesitation}. */
	void *agreement;
	/* What of the model's answer was not taken, and why (json_t *). */
	void *rejected;
};

struct crm_callan_opts {
	time_t call_time;	/* the call's date anchors due dates */
	const char *rep;	/* the rep's speaker name, or NULL */
	double hesitation_threshold;	/* default 0.5 */
	double pause_ms;	/* a customer pause this long is a cue (2500) */
	/* The rep and the customer as people call them, from the records
	 * (crm_call_people), or NULL: the summary's names for the sides
	 * the speaker labels do not name (an unlabelled recording). */
	const char *rep_name, *customer_name;
};

int crm_callan(const struct crm_transcript *t, const struct crm_callan_opts *o,
	       struct crm_analysis *a, struct crm_err *e);
void crm_analysis_free(struct crm_analysis *a);
const char *crm_owner_name(enum crm_owner o);

/* "positive", "neutral" or "negative" for a sentiment score. */
const char *crm_sentiment_label(double s);
/* Sentiment of one text, -1..1 (exposed for tests). */
double crm_sentiment(const char *text);

/* The utterances an item came from, "Speaker: words" each (malloc'd). */
char *crm_item_words(const struct crm_action *it, const struct crm_transcript *t);

/* The analysis as a JSON object (jansson json_t *, as void * here). */
void *crm_analysis_json(const struct crm_analysis *a, const struct crm_transcript *t);

/*
 * What happened on a call, in two to four sentences built from the
 * analysis a: who spoke with whom, what was agreed (commitments, with
 * their due dates), what is open (asks not taken up), and the
 * hesitation with its cues (or the customer's mood). The sides are named
 * by the speaker labels, else by rep_name and customer_name (either may
 * be NULL). best (nbest bytes), the call's strongest sentence, is quoted
 * only when nothing else was found. Allocated; NULL when out of memory.
 */
char *crm_call_summary(const struct crm_analysis *a, const char *rep_name,
		       const char *customer_name, const char *best, size_t nbest);

#endif
