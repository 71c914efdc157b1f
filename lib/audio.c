/*
 * audio.c - WAV decoding (and the rest through libsndfile), resampling to
 * 16 kHz, energy-based speech spans.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "audio.h"

#define MAX_SECONDS (4 * 3600)	/* a longer file is not a call */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

void crm_audio_free(struct crm_audio *a)
{
	free(a->pcm[0]);
	free(a->pcm[1]);
	memset(a, 0, sizeof *a);
}

/* One sample of channel c of frame i as -1..1. */
static float sample(const unsigned char *d, size_t i, int c, int ch, int bits, int isfloat)
{
	size_t bps = (size_t)bits / 8;
	const unsigned char *p = d + (i * (size_t)ch + (size_t)c) * bps;

	if (isfloat) {
		float f;
		uint32_t u = le32(p);
		memcpy(&f, &u, sizeof f);
		return isfinite(f) ? (f > 1 ? 1 : f < -1 ? -1 : f) : 0;
	}
	switch (bits) {
	case 8:
		return ((int)p[0] - 128) / 128.0f;
	case 16:
		return (int16_t)le16(p) / 32768.0f;
	case 24: {
		int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 |
				      (uint32_t)p[2] << 24) >> 8;
		return (float)v / 8388608.0f;
	}
	default:
		return (float)((int32_t)le32(p) / 2147483648.0);
	}
}

static int16_t to16(double v)
{
	v *= 32767.0;
	return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
}

/*
 * Resample x (n samples at rate in) to CRM_AUDIO_RATE: windowed sinc with
 * a Hann window of 8 zero crossings of the lower of the two Nyquist rates.
 */
static int16_t *resample(const float *x, size_t n, int in, size_t *nout)
{
	double r = (double)CRM_AUDIO_RATE / in, fc = r < 1 ? r : 1;
	double half = 8 / fc;
	size_t m = (size_t)floor((double)n * r);
	int16_t *y = malloc((m ? m : 1) * sizeof *y);

	if (!y)
		return NULL;
	if (in == CRM_AUDIO_RATE) {
		for (size_t i = 0; i < n; i++)
			y[i] = to16(x[i]);
		*nout = n;
		return y;
	}
	for (size_t i = 0; i < m; i++) {
		double t = (double)i / r, acc = 0, wsum = 0;
		long lo = (long)ceil(t - half), hi = (long)floor(t + half);
		for (long j = lo < 0 ? 0 : lo; j <= hi && j < (long)n; j++) {
			double d = (double)j - t, s = fc * d;
			double h = fc * (fabs(s) < 1e-9 ? 1 : sin(M_PI * s) / (M_PI * s));
			h *= 0.5 + 0.5 * cos(M_PI * d / half);
			acc += h * x[j];
			wsum += h;
		}
		y[i] = to16(wsum > 0 ? acc / wsum : 0);
	}
	*nout = m;
	return y;
}

/*
 * The channels x[0..ch) of frames samples at rate, as the engine wants
 * them: stereo kept when the two channels carry different signals (one
 * speaker each), else mixed to one; resampled to CRM_AUDIO_RATE. Frees x.
 */
static int from_channels(struct crm_audio *a, const char *name, float *x[2], size_t frames,
			 int rate, struct crm_err *e)
{
	double dl = 0, dr = 0, dd = 0;
	int ch = x[1] ? 2 : 1;

	if (ch == 2)
		for (size_t i = 0; i < frames; i++) {
			float l = x[0][i], r = x[1][i];

			dl += (double)l * l, dr += (double)r * r, dd += (double)(l - r) * (l - r);
		}
	a->channels = ch == 2 && dd > 0.01 * (dl + dr) && dl > 1e-6 * (double)frames &&
		      dr > 1e-6 * (double)frames ? 2 : 1;
	if (ch == 2 && a->channels == 1)
		for (size_t i = 0; i < frames; i++)
			x[0][i] = (x[0][i] + x[1][i]) / 2;
	for (int c = 0; c < a->channels; c++) {
		if (!(a->pcm[c] = resample(x[c], frames, rate, &a->n))) {
			free(x[0]);
			free(x[1]);
			crm_audio_free(a);
			return crm_err_set(e, CRM_ESOFTWARE, "%s: out of memory decoding audio", name);
		}
		/*
		 * Audio from a narrower band (a telephone line's 8 kHz) has
		 * nothing above its Nyquist frequency once resampled, and
		 * digital silence has nothing at all: the wideband model's
		 * upper filters then see energies it never saw in training.
		 * A floor of triangular dither (about one step of 16 bits),
		 * from a fixed seed so the same file decodes the same.
		 */
		if (rate < CRM_AUDIO_RATE) {
			uint32_t r = 0x9e3779b9u;

			for (size_t i = 0; i < a->n; i++) {
				int d;

				r = r * 1664525u + 1013904223u;
				d = (int)(r >> 24 & 1) - (int)(r >> 25 & 1);
				a->pcm[c][i] = (int16_t)(a->pcm[c][i] + (a->pcm[c][i] > -32767 && a->pcm[c][i] < 32767 ? d : 0));
			}
		}
	}
	free(x[0]);
	free(x[1]);
	return 0;
}

int crm_audio_wav(struct crm_audio *a, const char *name, const void *data,
		  size_t n, struct crm_err *e)
{
	const unsigned char *p = data, *fmt = NULL, *pcm = NULL;
	size_t off = 12, pcmlen = 0, frames;
	unsigned tag = 0, ch = 0, bits = 0, align = 0;
	uint32_t rate = 0;
	float *x[2] = { NULL, NULL };
	int isfloat;

	memset(a, 0, sizeof *a);
	if (n < 12 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4))
		return crm_err_set(e, CRM_EDATA, "%s: not a WAV file (no RIFF/WAVE header)", name);
	while (off + 8 <= n) {
		uint32_t len = le32(p + off + 4);
		const unsigned char *body = p + off + 8;
		size_t avail = n - off - 8;
		if (!memcmp(p + off, "fmt ", 4)) {
			if (len < 16 || avail < 16)
				return crm_err_set(e, CRM_EDATA, "%s: truncated fmt chunk", name);
			fmt = body;
		} else if (!memcmp(p + off, "data", 4)) {
			if (len > avail)
				return crm_err_set(e, CRM_EDATA,
						   "%s: truncated: the data chunk declares %lu bytes, the file holds %zu",
						   name, (unsigned long)len, avail);
			pcm = body;
			pcmlen = len;
			break;
		}
		if (len > avail)
			break;
		off += 8 + (size_t)len + (len & 1);
	}
	if (!fmt)
		return crm_err_set(e, CRM_EDATA, "%s: no fmt chunk", name);
	if (!pcm)
		return crm_err_set(e, CRM_EDATA, "%s: no data chunk (truncated?)", name);
	tag = le16(fmt);
	ch = le16(fmt + 2);
	rate = le32(fmt + 4);
	align = le16(fmt + 12);
	bits = le16(fmt + 14);
	if (tag == 0xFFFE && le32(fmt - 4) >= 40)
		tag = le16(fmt + 24);
	isfloat = tag == 3;
	if (tag != 1 && !(isfloat && bits == 32))
		return crm_err_set(e, CRM_EDATA,
				   "%s: unsupported sample format %#x/%u bits (PCM integer or 32-bit float only)",
				   name, tag, bits);
	if (bits != 8 && bits != 16 && bits != 24 && bits != 32)
		return crm_err_set(e, CRM_EDATA, "%s: unsupported %u-bit samples", name, bits);
	if (ch < 1 || ch > 2)
		return crm_err_set(e, CRM_EDATA, "%s: %u channels (mono or stereo only)", name, ch);
	if (rate < 8000 || rate > 192000)
		return crm_err_set(e, CRM_EDATA, "%s: unsupported sample rate %lu Hz (8000 to 192000)",
				   name, (unsigned long)rate);
	if (align != ch * bits / 8)
		return crm_err_set(e, CRM_EDATA, "%s: inconsistent block alignment %u", name, align);
	frames = pcmlen / align;
	if (!frames)
		return crm_err_set(e, CRM_EDATA, "%s: no audio samples", name);
	if (frames / rate > MAX_SECONDS)
		return crm_err_set(e, CRM_EDATA, "%s: %zu seconds of audio (at most %d)",
				   name, frames / rate, MAX_SECONDS);
	a->in_rate = (int)rate;
	a->in_bits = (int)bits;
	a->in_channels = (int)ch;
	if (!(x[0] = malloc(frames * sizeof(float))) || (ch == 2 && !(x[1] = malloc(frames * sizeof(float)))))
		goto oom;
	for (unsigned c = 0; c < ch; c++)
		for (size_t i = 0; i < frames; i++)
			x[c][i] = sample(pcm, i, (int)c, (int)ch, (int)bits, isfloat);
	return from_channels(a, name, x, frames, (int)rate, e);
oom:
	free(x[0]);
	free(x[1]);
	return crm_err_set(e, CRM_ESOFTWARE, "%s: out of memory decoding audio", name);
}

/* Virtual I/O over a buffer, for libsndfile. */
struct mem {
	const unsigned char *p;
	sf_count_t n, off;
};

static sf_count_t mem_len(void *u)
{
	return ((struct mem *)u)->n;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
	struct mem *m = u;
	sf_count_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->off + off : m->n + off;

	if (to < 0 || to > m->n)
		return -1;
	return m->off = to;
}

static sf_count_t mem_read(void *buf, sf_count_t count, void *u)
{
	struct mem *m = u;
	sf_count_t k = count < m->n - m->off ? count : m->n - m->off;

	if (k > 0)
		memcpy(buf, m->p + m->off, (size_t)k);
	m->off += k > 0 ? k : 0;
	return k > 0 ? k : 0;
}

static sf_count_t mem_write(const void *buf, sf_count_t count, void *u)
{
	(void)buf, (void)count, (void)u;
	return 0;
}

static sf_count_t mem_tell(void *u)
{
	return ((struct mem *)u)->off;
}

/* Anything libsndfile reads: FLAC, Ogg (Vorbis, Opus), MP3, A-law and
 * mu-law WAV, AIFF... */
static int sndfile(struct crm_audio *a, const char *name, const void *data, size_t n,
		   struct crm_err *e)
{
	SF_VIRTUAL_IO io = { mem_len, mem_seek, mem_read, mem_write, mem_tell };
	struct mem m = { data, (sf_count_t)n, 0 };
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open_virtual(&io, SFM_READ, &info, &m);
	float *x[2] = { NULL, NULL }, buf[4096];
	size_t frames, got = 0;

	memset(a, 0, sizeof *a);
	if (!sf)
		return crm_err_set(e, CRM_EDATA, "%s: not audio (not WAV, FLAC, Ogg, MP3 or AIFF: %s)", name,
				   sf_strerror(NULL));
	if (info.channels < 1 || info.channels > 2 || info.samplerate < 8000 || info.samplerate > 192000 ||
	    info.frames <= 0 || info.frames / info.samplerate > MAX_SECONDS) {
		sf_close(sf);
		return crm_err_set(e, CRM_EDATA, "%s: %d channels at %d Hz, %lld frames (mono or stereo, "
				   "8000 to 192000 Hz, at most %d s)", name, info.channels, info.samplerate,
				   (long long)info.frames, MAX_SECONDS);
	}
	frames = (size_t)info.frames;
	a->in_rate = info.samplerate;
	a->in_bits = (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_24 ? 24 :
		     (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_U8 ||
		     (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_S8 ? 8 : 16;
	a->in_channels = info.channels;
	if (!(x[0] = malloc(frames * sizeof(float))) ||
	    (info.channels == 2 && !(x[1] = malloc(frames * sizeof(float))))) {
		sf_close(sf);
		free(x[0]);
		return crm_err_set(e, CRM_ESOFTWARE, "%s: out of memory decoding audio", name);
	}
	while (got < frames) {
		sf_count_t want = (sf_count_t)(sizeof(buf) / sizeof(buf[0])) / info.channels, k;

		if (want > (sf_count_t)(frames - got))
			want = (sf_count_t)(frames - got);
		if ((k = sf_readf_float(sf, buf, want)) <= 0)
			break;
		for (sf_count_t i = 0; i < k; i++)
			for (int c = 0; c < info.channels; c++) {
				float v = buf[i * info.channels + c];

				x[c][got + (size_t)i] = isfinite(v) ? (v > 1 ? 1 : v < -1 ? -1 : v) : 0;
			}
		got += (size_t)k;
	}
	sf_close(sf);
	if (!got) {
		free(x[0]);
		free(x[1]);
		return crm_err_set(e, CRM_EDATA, "%s: no audio samples", name);
	}
	return from_channels(a, name, x, got, info.samplerate, e);
}

int crm_audio_decode(struct crm_audio *a, const char *name, const void *data, size_t n,
		     struct crm_err *e)
{
	struct crm_err we = { 0 };
	const unsigned char *p = data;

	/* Plain PCM WAV by the reader above; the rest by libsndfile. */
	if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WAVE", 4) &&
	    (crm_audio_wav(a, name, data, n, &we) == 0 || !strstr(we.msg, "unsupported sample format"))) {
		if (we.msg[0])
			return crm_err_set(e, we.code, "%s", we.msg);
		return 0;
	}
	return sndfile(a, name, data, n, e);
}

#define FRAME 160	/* 10 ms */

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

long crm_audio_spans(const int16_t *pcm, size_t n, int min_pause_ms,
		     struct crm_span **out)
{
	size_t nf = n / FRAME, ns = 0, alloc = 16;
	double *db = malloc((nf ? nf : 1) * sizeof *db), *sorted;
	struct crm_span *s = malloc(alloc * sizeof *s);
	long gap = min_pause_ms / 10, pad = 10;

	*out = NULL;
	sorted = malloc((nf ? nf : 1) * sizeof *sorted);
	if (!db || !s || !sorted) {
		free(db), free(s), free(sorted);
		return -1;
	}
	for (size_t f = 0; f < nf; f++) {
		double acc = 0;
		for (size_t i = f * FRAME; i < (f + 1) * FRAME; i++)
			acc += (double)pcm[i] * pcm[i];
		db[f] = sorted[f] = 10 * log10(acc / FRAME + 1);
	}
	/* Noise floor: the 10th percentile frame; speech is 12 dB above it. */
	double floor_db = 0, thr;
	if (nf) {
		qsort(sorted, nf, sizeof *sorted, cmpd);
		floor_db = sorted[nf / 10];
	}
	thr = floor_db + 12 < 40 ? 40 : floor_db + 12;
	for (size_t f = 0; f < nf; ) {
		if (db[f] < thr) {
			f++;
			continue;
		}
		size_t start = f, last = f;
		for (; f < nf; f++) {
			if (db[f] >= thr)
				last = f;
			else if ((long)(f - last) > gap)
				break;
		}
		if (last - start + 1 < 10)	/* under 100 ms: a click */
			continue;
		if (ns == alloc) {
			struct crm_span *t = realloc(s, (alloc *= 2) * sizeof *s);
			if (!t) {
				free(db), free(s), free(sorted);
				return -1;
			}
			s = t;
		}
		s[ns].start = (start > (size_t)pad ? start - (size_t)pad : 0) * FRAME;
		s[ns].end = (last + (size_t)pad + 1 < nf ? last + (size_t)pad + 1 : nf) * FRAME;
		ns++;
	}
	free(db);
	free(sorted);
	*out = s;
	return (long)ns;
}
