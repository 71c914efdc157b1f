/*
 * fuzz-wav.c - audio: WAV headers and samples by our reader (the rest
 * through libsndfile), resampled to 16 kHz, then the pause finder on
 * what it read.
 */
#include <stdlib.h>

#include "../../lib/audio.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crm_audio a = { 0 };
	struct crm_err e = { 0 };

	if (crm_audio_decode(&a, "call.wav", data, size, &e) == 0) {
		for (int c = 0; c < a.channels; c++) {
			struct crm_span *sp = NULL;

			if (crm_audio_spans(a.pcm[c], a.n, 300, &sp) >= 0)
				free(sp);
		}
	}
	crm_audio_free(&a);
	return 0;
}
