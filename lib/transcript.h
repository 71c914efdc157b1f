/*
 * transcript.h - a call as utterances: who spoke, when, and what.
 *
 * Every source ends up here: the speech engines, and transcript files in
 * WebVTT, SRT, plain text ("Speaker: words" lines or bare text) and JSON
 * utterances in HubSpot's ({speaker, text, start/end in milliseconds}) or
 * Gong's shape (speakers with sentences). Times are milliseconds from the
 * start of the call, -1 when the source has none.
 */
#ifndef CRM_TRANSCRIPT_H
#define CRM_TRANSCRIPT_H

#include <stddef.h>

#include "util.h"

struct crm_utt {
	char *speaker;		/* NULL when unknown */
	long start, end;	/* ms, -1 unknown */
	char *text;
};

struct crm_transcript {
	struct crm_utt *u;
	size_t n, alloc;
	double duration;	/* seconds of audio; 0 unknown */
};

enum crm_tformat {
	CRM_TF_UNKNOWN, CRM_TF_VTT, CRM_TF_SRT, CRM_TF_TEXT, CRM_TF_JSON,
	CRM_TF_WAV,
};

void crm_transcript_free(struct crm_transcript *t);
/* Append an utterance (copies speaker and text; trims; skips empty text). */
int crm_transcript_add(struct crm_transcript *t, const char *speaker,
		       long start, long end, const char *text, size_t len);

/* Format by content first, then by name (.vtt .srt .txt .json .wav). */
enum crm_tformat crm_transcript_probe(const char *name, const void *data, size_t n);
const char *crm_tformat_name(enum crm_tformat f);
enum crm_tformat crm_tformat_parse(const char *s);

/*
 * Parse a transcript file's bytes. name is for messages ("call.vtt:12:
 * bad timestamp"). A file with no utterances is an error.
 */
int crm_transcript_parse(struct crm_transcript *t, enum crm_tformat f,
			 const char *name, const char *data, size_t n,
			 struct crm_err *e);

/* The transcript as JSON: [{"speaker":..,"start":..,"end":..,"text":..}]. */
char *crm_transcript_json(const struct crm_transcript *t);
/* Inverse of crm_transcript_json. */
int crm_transcript_from_json(struct crm_transcript *t, const char *json,
			     struct crm_err *e);

#endif
