/*
 * fuzz-transcript.c - transcript files (WebVTT, SRT, plain text, the JSON
 * shapes) and the analysis of what they parse to. The first byte picks
 * the format (or the probe), the rest is the file.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/callan.h"
#include "../../lib/transcript.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum crm_tformat fmt[] = { CRM_TF_VTT, CRM_TF_SRT, CRM_TF_TEXT, CRM_TF_JSON };
	struct crm_transcript t = { 0 };
	struct crm_err e = { 0 };
	enum crm_tformat f;
	const char *text;
	size_t n;

	if (!size)
		return 0;
	text = (const char *)data + 1;
	n = size - 1;
	f = data[0] < 4 ? fmt[data[0]] : crm_transcript_probe("call", text, n);
	if (f == CRM_TF_UNKNOWN || f == CRM_TF_WAV)
		f = CRM_TF_TEXT;
	if (crm_transcript_parse(&t, f, "call", text, n, &e) == 0) {
		struct crm_callan_opts o = { .call_time = 1767225600, .hesitation_threshold = 0.5, .pause_ms = 2500 };
		struct crm_analysis a;
		char *json;

		/* The rep is the first speaker, as a sidecar would name. */
		o.rep = t.n ? t.u[0].speaker : NULL;
		if (crm_callan(&t, &o, &a, &e) == 0) {
			json_decref(crm_analysis_json(&a, &t));
			crm_analysis_free(&a);
		}
		if ((json = crm_transcript_json(&t))) {
			struct crm_transcript back = { 0 };

			if (crm_transcript_from_json(&back, json, &e) == 0 && back.n != t.n)
				abort();	/* a round trip that loses utterances */
			crm_transcript_free(&back);
			free(json);
		}
	}
	crm_transcript_free(&t);
	return 0;
}
