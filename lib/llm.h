/*
 * llm.h - a call's analysis by a language model, beside the rules.
 *
 * Any server that speaks OpenAI's chat completions (a local llama.cpp or
 * vLLM server, or a hosted one) is asked for JSON that follows a schema:
 * a summary, the action items with their owner, due phrase and the
 * utterance each comes from, hesitation with its cues, and sentiment.
 * Every answer is checked against the transcript before it is used: an
 * item or cue must cite an utterance of the part of the call it was
 * shown, and a due phrase must resolve to a date with the resolver the
 * rules use (crm_due_date). An invalid answer is asked for once more,
 * with what was wrong; connection failures, 429 and 5xx are retried
 * with backoff (crm_http_perform). When the server cannot be reached or
 * its answer stays invalid, the rules' analysis stands and says why
 * (analysis->fallback). A transcript longer than the context is sent in
 * overlapping windows, whose findings are merged.
 */
#ifndef CRM_LLM_H
#define CRM_LLM_H

#include "callan.h"
#include "transcript.h"
#include "util.h"

enum crm_analyzer { CRM_ANALYZER_RULES, CRM_ANALYZER_LLM, CRM_ANALYZER_BOTH };

/* The largest answer taken from a model, in bytes of content. */
#define CRM_LLM_MAX_ANSWER (256 * 1024)

struct crm_llm_opts {
	const char *url;	/* server: .../v1 or .../v1/chat/completions */
	const char *model;	/* model name the server knows */
	const char *api_key;	/* bearer token, or NULL */
	long timeout;		/* seconds per attempt (default 120) */
	int retries;		/* on connection failures, 429, 5xx (3) */
	size_t context;		/* characters of transcript per request (24000);
				 * halved while the server says it is too long */
	long budget;		/* seconds of model time for a whole call (300);
				 * then the rules' analysis, saying why */
};

/* What the model path cost, for the benchmark. */
struct crm_llm_stats {
	long requests;		/* HTTP requests made, retries included */
	long windows;		/* windows of the transcript sent */
	double build_ms;	/* building requests */
	double check_ms;	/* parsing and checking answers */
	double wait_ms;		/* waiting for the server */
	/* With "both": items the model and the rules agree on (utterance and
	 * owner), items either found, calls compared, and calls whose
	 * hesitation flag agrees. */
	long items_agreed, items_either, calls_compared, hesitation_agreed;
};

enum crm_analyzer crm_analyzer_parse(const char *s);	/* -1 when unknown */

/* The URL of an OpenAI-compatible server's path ("chat/completions",
 * "models") from its base as a user gives it: the server, its /v1, or a
 * full chat/completions URL. */
void crm_llm_endpoint(const char *base, const char *path, char *out, size_t n);

/*
 * Analyse t: the rules (crm_callan) always, and for CRM_ANALYZER_LLM the
 * model's items, summary, hesitation and sentiment in their place (the
 * rest - trackers, talk, per-utterance sentiment - stays the rules');
 * for CRM_ANALYZER_BOTH also the rules' own findings and where the two
 * disagree. -1 only when the rules themselves fail (out of memory); a
 * model that fails is a fallback, not an error. st may be NULL.
 */
int crm_call_analyze(enum crm_analyzer how, const struct crm_llm_opts *lo,
		     const struct crm_transcript *t, const struct crm_callan_opts *o,
		     struct crm_analysis *a, struct crm_llm_stats *st, struct crm_err *e);

#endif
