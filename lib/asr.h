/*
 * asr.h - speech to utterances: the embedded engine and the HTTP one.
 *
 * "sphinx" is CMU PocketSphinx with the distribution's US English model,
 * its general language model interpolated with a model of sales-call
 * wording built at start-up (lm.h), plus the user's own phrases. Audio is
 * cut into spans at pauses and each span decoded as one utterance, so the
 * utterances carry times; with two channels, each is one speaker.
 *
 * "http" posts the file to an OpenAI-compatible /v1/audio/transcriptions
 * endpoint (whisper.cpp's server, faster-whisper servers, hosted APIs) and
 * reads verbose_json segments.
 */
#ifndef CRM_ASR_H
#define CRM_ASR_H

#include "transcript.h"
#include "util.h"

/* Where Debian's pocketsphinx-en-us puts the US English model: the
 * acoustic model in en-us/, the dictionary and the language model. */
#define CRM_ASR_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"

struct crm_asr_opts {
	const char *engine;	/* "sphinx" (default) or "http" */
	/* sphinx */
	const char *model_dir;	/* acoustic model; NULL: the distribution's */
	const char *dict;	/* pronunciations; NULL: the model's */
	const char *lm;		/* general LM; NULL: the model's */
	const char *phrases;	/* file of extra domain sentences, or NULL */
	int no_domain;		/* decode with the general model alone */
	double domain_weight;	/* of the domain model, 0..1 (0: default) */
	const char *speakers[2];/* names of channel 1 and 2: "rep", "customer" */
	/* http */
	const char *url;	/* base URL or the full endpoint */
	const char *api_key;	/* bearer token, or NULL */
	const char *model;	/* "whisper-1" unless set */
	const char *language;	/* ISO 639-1, or NULL */
	long timeout;		/* seconds per attempt */
	int retries;		/* after the first attempt */
};

struct crm_asr;

/* Load the engine once (the sphinx model takes a moment). */
struct crm_asr *crm_asr_new(const struct crm_asr_opts *o, struct crm_err *e);
void crm_asr_free(struct crm_asr *a);

/* Transcribe a WAV file (path for the HTTP engine, bytes for both). */
int crm_asr_file(struct crm_asr *a, const char *path, const void *data,
		 size_t n, struct crm_transcript *t, struct crm_err *e);

/* Audio seconds decoded so far, and seconds spent (for the real-time factor). */
void crm_asr_stats(const struct crm_asr *a, double *audio, double *spent);

#endif
