/*
 * audio.h - WAV files to 16 kHz 16-bit channels, and speech segments.
 *
 * Reads RIFF WAVE with PCM 8, 16, 24 or 32-bit integer or 32-bit float
 * samples (WAVE_FORMAT_EXTENSIBLE too) at any rate from 8 to 192 kHz, one
 * or two channels, and resamples each channel to the 16 kHz the speech
 * model wants with a windowed-sinc filter (low-passed when downsampling).
 * Two channels that carry the same signal are mixed down to one.
 */
#ifndef CRM_AUDIO_H
#define CRM_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CRM_AUDIO_RATE 16000

struct crm_audio {
	int16_t *pcm[2];	/* per channel, CRM_AUDIO_RATE */
	size_t n;		/* samples per channel */
	int channels;		/* 1, or 2 when the channels differ */
	int in_rate, in_bits, in_channels;
};

void crm_audio_free(struct crm_audio *a);
/* Decode a WAV file's bytes; name is for messages. */
int crm_audio_wav(struct crm_audio *a, const char *name, const void *data,
		  size_t n, struct crm_err *e);
/*
 * Any audio: PCM WAV as crm_audio_wav reads it, anything else libsndfile
 * reads (FLAC, Ogg Vorbis and Opus, MP3, A-law and mu-law WAV, AIFF), to
 * the same 16 kHz channels.
 */
int crm_audio_decode(struct crm_audio *a, const char *name, const void *data,
		     size_t n, struct crm_err *e);

/* A stretch of speech, in samples. */
struct crm_span {
	size_t start, end;
};

/*
 * Split a channel into speech spans at pauses of at least min_pause_ms,
 * by short-time energy against the channel's own noise floor. Returns the
 * number of spans (0 for silence), or -1 when out of memory; *out is to be
 * freed.
 */
long crm_audio_spans(const int16_t *pcm, size_t n, int min_pause_ms,
		     struct crm_span **out);

#endif
