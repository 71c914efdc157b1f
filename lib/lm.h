/*
 * lm.h - a small trigram language model, built from example sentences.
 *
 * The speech engine decodes with a general English model; interpolated with
 * a model of how sales calls are worded ("send over the proposal", "check
 * with procurement"), it prefers the domain's words where the audio is
 * ambiguous. The model is built in memory from plain text, one sentence per
 * line, with absolute discounting and Katz back-off, and written in the
 * ARPA format every decoder reads.
 */
#ifndef CRM_LM_H
#define CRM_LM_H

#include <stddef.h>

#include "util.h"

/*
 * Append to out an ARPA trigram model of the sentences in text (lines;
 * words are runs of letters, digits and apostrophes, folded to lower case).
 * Words are kept only when keep(word, arg) returns non-zero (NULL keeps
 * all): a decoder cannot use a word it has no pronunciation for.
 */
int crm_lm_arpa(const char *text, size_t n, int (*keep)(const char *, void *),
		void *arg, struct crm_buf *out, struct crm_err *e);

/* The sentences of a sales call the default domain model is built from. */
extern const char crm_lm_sales[];

#endif
