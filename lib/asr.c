/*
 * asr.c - the speech engines behind crm_asr_file().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/ngram_model.h>

#include "asr.h"
#include "audio.h"
#include "http.h"
#include "lm.h"

#define SPHINX_DIR CRM_ASR_MODEL_DIR
#define MIN_PAUSE_MS 300

struct crm_asr {
	struct crm_asr_opts o;
	ps_decoder_t *ps;
	cmd_ln_t *config;
	/*
	 * Decoding with an interpolated set takes references to its models
	 * that ps_free() does not give back: we keep our own and release
	 * every one at the end.
	 */
	ngram_model_t *lmset, *sub[2];
	double audio, spent;
};

static int keep_word(const char *w, void *arg)
{
	char *pron = ps_lookup_word(arg, w);

	free(pron);
	return pron != NULL;
}

static char *slurp_text(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	struct crm_buf b = {0};
	char chunk[8192];
	size_t r;

	if (!f)
		return NULL;
	while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (crm_buf_add(&b, chunk, r) < 0)
			break;
	if (ferror(f) || crm_buf_add(&b, "", 0) < 0) {
		fclose(f);
		crm_buf_release(&b);
		return NULL;
	}
	fclose(f);
	return crm_buf_detach(&b, n);
}

/* The domain model: built-in sentences plus the user's, as a temp ARPA file. */
static ngram_model_t *domain_lm(struct crm_asr *a, struct crm_err *e)
{
	struct crm_buf text = {0}, arpa = {0};
	char tmp[] = "/tmp/crm-lm-XXXXXX";
	const char *dir = getenv("TMPDIR");
	char path[4096];
	ngram_model_t *lm = NULL;
	int fd;

	if (crm_buf_adds(&text, crm_lm_sales) < 0)
		goto oom;
	if (a->o.phrases) {
		size_t n;
		char *p = slurp_text(a->o.phrases, &n);
		if (!p) {
			crm_err_set(e, CRM_ENOINPUT, "%s: %s", a->o.phrases, strerror(errno));
			goto done;
		}
		/* The user's phrases count three times: they name the products. */
		for (int i = 0; i < 3; i++)
			if (crm_buf_addc(&text, '\n') < 0 || crm_buf_add(&text, p, n) < 0) {
				free(p);
				goto oom;
			}
		free(p);
	}
	if (crm_lm_arpa(text.data, text.len, keep_word, a->ps, &arpa, e) < 0)
		goto done;
	snprintf(path, sizeof path, "%s/crm-lm-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		memcpy(path, tmp, sizeof tmp);
		if ((fd = mkstemp(path)) < 0) {
			crm_err_set(e, CRM_EIO, "temporary file for the language model: %s", strerror(errno));
			goto done;
		}
	}
	if (write(fd, arpa.data, arpa.len) != (ssize_t)arpa.len) {
		crm_err_set(e, CRM_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto done;
	}
	close(fd);
	lm = ngram_model_read(a->config, path, NGRAM_ARPA, ps_get_logmath(a->ps));
	unlink(path);
	if (!lm)
		crm_err_set(e, CRM_ESOFTWARE, "the domain language model did not load");
	goto done;
oom:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory");
done:
	crm_buf_release(&text);
	crm_buf_release(&arpa);
	return lm;
}

static int sphinx_init(struct crm_asr *a, struct crm_err *e)
{
	char hmm[4096], dict[4096], lmpath[4096];
	const char *dir = a->o.model_dir ? a->o.model_dir : SPHINX_DIR "/en-us";
	ngram_model_t *general, *lm;

	snprintf(hmm, sizeof hmm, "%s", dir);
	snprintf(dict, sizeof dict, "%s", a->o.dict ? a->o.dict : SPHINX_DIR "/cmudict-en-us.dict");
	snprintf(lmpath, sizeof lmpath, "%s", a->o.lm ? a->o.lm : SPHINX_DIR "/en-us.lm.bin");
	if (access(hmm, R_OK) || access(dict, R_OK) || access(lmpath, R_OK))
		return crm_err_set(e, CRM_EUNAVAILABLE,
				   "speech model not found (%s): install pocketsphinx-en-us or give --model-dir",
				   access(hmm, R_OK) ? hmm : access(dict, R_OK) ? dict : lmpath);
	err_set_logfp(NULL);
	a->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict,
				"-logfn", "/dev/null", (char *)NULL);
	if (!a->config || !(a->ps = ps_init(a->config)))
		return crm_err_set(e, CRM_EUNAVAILABLE, "the speech model in %s did not load", hmm);
	general = ngram_model_read(a->config, lmpath, NGRAM_AUTO, ps_get_logmath(a->ps));
	if (!general)
		return crm_err_set(e, CRM_EUNAVAILABLE, "%s: language model did not load", lmpath);
	if (a->o.no_domain) {
		lm = general;
	} else {
		ngram_model_t *dom = domain_lm(a, e), *models[2];
		char gname[] = "general", dname[] = "domain", *names[2] = {gname, dname};
		float32 w[2];
		if (!dom) {
			ngram_model_free(general);
			return -1;
		}
		w[1] = (float32)(a->o.domain_weight > 0 ? a->o.domain_weight : 0.5);
		w[0] = 1 - w[1];
		models[0] = a->sub[0] = ngram_model_retain(general);
		models[1] = a->sub[1] = ngram_model_retain(dom);
		if (!(lm = ngram_model_set_init(a->config, models, names, w, 2)))
			return crm_err_set(e, CRM_ESOFTWARE, "language models did not combine");
	}
	if (lm != general)
		a->lmset = lm;
	if (ps_set_lm(a->ps, "calls", lm) < 0 || ps_set_search(a->ps, "calls") < 0) {
		if (lm == general)
			ngram_model_free(lm);
		return crm_err_set(e, CRM_ESOFTWARE, "the language model did not load into the decoder");
	}
	if (lm == general)
		ngram_model_free(lm);	/* the search holds its own reference */
	return 0;
}

static int is_filler(const char *w)
{
	return *w == '<' || *w == '[' || *w == '+' || !strcmp(w, "<sil>");
}

/* Decode one span as an utterance; appends to t unless nothing was heard. */
static int decode_span(struct crm_asr *a, const int16_t *pcm, size_t start, size_t end,
		       const char *speaker, struct crm_transcript *t)
{
	struct crm_buf text = {0};
	long first = -1, last = -1;
	int rc = 0;

	if (ps_start_utt(a->ps) < 0 ||
	    ps_process_raw(a->ps, pcm + start, end - start, FALSE, TRUE) < 0 ||
	    ps_end_utt(a->ps) < 0)
		return -1;
	for (ps_seg_t *s = ps_seg_iter(a->ps); s; s = ps_seg_next(s)) {
		const char *w = ps_seg_word(s);
		int sf, ef;
		char word[128];
		if (is_filler(w))
			continue;
		snprintf(word, sizeof word, "%s", w);
		char *paren = strchr(word, '(');	/* "the(2)": alternate pronunciation */
		if (paren && paren != word)
			*paren = 0;
		ps_seg_frames(s, &sf, &ef);
		if (first < 0)
			first = sf;
		last = ef;
		if ((text.len && crm_buf_addc(&text, ' ') < 0) || crm_buf_adds(&text, word) < 0) {
			rc = -1;
			break;
		}
	}
	if (!rc && text.len) {
		long base = (long)(start * 1000 / CRM_AUDIO_RATE);
		rc = crm_transcript_add(t, speaker, base + first * 10, base + (last + 1) * 10,
					text.data, text.len);
	}
	crm_buf_release(&text);
	return rc;
}

static int cmp_start(const void *x, const void *y)
{
	const struct crm_utt *a = x, *b = y;

	return (a->start > b->start) - (a->start < b->start);
}

static int sphinx_file(struct crm_asr *a, const char *name, const void *data, size_t n,
		       struct crm_transcript *t, struct crm_err *e)
{
	struct crm_audio au;
	long nspan = 0;

	if (crm_audio_decode(&au, name, data, n, e) < 0)
		return -1;
	t->duration = (double)au.n / CRM_AUDIO_RATE;
	for (int c = 0; c < au.channels; c++) {
		struct crm_span *sp;
		long k = crm_audio_spans(au.pcm[c], au.n, MIN_PAUSE_MS, &sp);
		const char *who = au.channels == 2 ? a->o.speakers[c] : NULL;
		if (k < 0) {
			crm_audio_free(&au);
			return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		}
		for (long i = 0; i < k; i++)
			if (decode_span(a, au.pcm[c], sp[i].start, sp[i].end, who, t) < 0) {
				free(sp);
				crm_audio_free(&au);
				return crm_err_set(e, CRM_ESOFTWARE, "%s: the decoder failed", name);
			}
		nspan += k;
		free(sp);
	}
	a->audio += t->duration;
	crm_audio_free(&au);
	if (!nspan)
		return crm_err_set(e, CRM_EDATA, "%s: no speech found (silent audio?)", name);
	if (!t->n)
		return crm_err_set(e, CRM_EDATA, "%s: no words recognised", name);
	qsort(t->u, t->n, sizeof *t->u, cmp_start);
	return 0;
}

/* HTTP engine. */

static int parse_reply(const char *name, const char *body, struct crm_transcript *t,
		       struct crm_err *e)
{
	json_error_t je;
	json_t *j = json_loads(body, 0, &je), *segs, *s;
	size_t i;
	int rc = 0;

	if (!j || !json_is_object(j)) {
		json_decref(j);
		return crm_err_set(e, CRM_EUNAVAILABLE, "%s: the speech server's reply is not JSON", name);
	}
	if (json_is_number(json_object_get(j, "duration")))
		t->duration = json_number_value(json_object_get(j, "duration"));
	segs = json_object_get(j, "segments");
	if (json_is_array(segs) && json_array_size(segs)) {
		json_array_foreach(segs, i, s) {
			const char *tx = json_string_value(json_object_get(s, "text"));
			json_t *st = json_object_get(s, "start"), *en = json_object_get(s, "end");
			const char *sp = json_string_value(json_object_get(s, "speaker"));
			if (!tx)
				continue;
			if (crm_transcript_add(t, sp,
					       json_is_number(st) ? (long)(json_number_value(st) * 1000) : -1,
					       json_is_number(en) ? (long)(json_number_value(en) * 1000) : -1,
					       tx, strlen(tx)) < 0) {
				rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
				break;
			}
		}
	} else {
		const char *tx = json_string_value(json_object_get(j, "text"));
		if (!tx) {
			json_decref(j);
			return crm_err_set(e, CRM_EUNAVAILABLE, "%s: the speech server's reply has no text", name);
		}
		if (crm_transcript_add(t, NULL, -1, -1, tx, strlen(tx)) < 0)
			rc = crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	json_decref(j);
	if (!rc && !t->n)
		rc = crm_err_set(e, CRM_EDATA, "%s: no words recognised", name);
	return rc;
}

static int http_file(struct crm_asr *a, const char *path, struct crm_transcript *t,
		     struct crm_err *e)
{
	char url[4096], auth[1024];
	size_t ul = strlen(a->o.url);
	struct curl_slist *hdr = NULL;
	struct crm_buf body = {0};
	CURL *c = curl_easy_init();
	curl_mime *mime;
	curl_mimepart *part;
	int rc = -1;

	if (!c)
		return crm_err_set(e, CRM_ESOFTWARE, "curl did not initialise");
	while (ul && a->o.url[ul - 1] == '/')
		ul--;
	if (ul >= 15 && !strncmp(a->o.url + ul - 15, "/transcriptions", 15))
		snprintf(url, sizeof url, "%.*s", (int)ul, a->o.url);
	else
		snprintf(url, sizeof url, "%.*s%s/audio/transcriptions", (int)ul, a->o.url,
			 ul >= 3 && !strncmp(a->o.url + ul - 3, "/v1", 3) ? "" : "/v1");
	if (a->o.api_key) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", a->o.api_key);
		hdr = curl_slist_append(hdr, auth);
		explicit_bzero(auth, sizeof auth);
	}
	mime = curl_mime_init(c);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	curl_mime_filedata(part, path);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "model");
	curl_mime_data(part, a->o.model ? a->o.model : "whisper-1", CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "response_format");
	curl_mime_data(part, "verbose_json", CURL_ZERO_TERMINATED);
	if (a->o.language) {
		part = curl_mime_addpart(mime);
		curl_mime_name(part, "language");
		curl_mime_data(part, a->o.language, CURL_ZERO_TERMINATED);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, a->o.timeout > 0 ? a->o.timeout : 300L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "crm-transcribe/" CRM_VERSION);
	{
		long status;
		int attempts;
		CURLcode cc = crm_http_perform(c, &body, a->o.retries, &status, &attempts);
		if (cc == CURLE_OK && status == 200)
			rc = crm_buf_add(&body, "", 0) < 0 ? crm_err_set(e, CRM_ESOFTWARE, "out of memory")
							  : parse_reply(path, body.data, t, e);
		else if (cc == CURLE_READ_ERROR || cc == CURLE_FILE_COULDNT_READ_FILE)
			crm_err_set(e, CRM_ENOINPUT, "%s: cannot read", path);
		else if (cc != CURLE_OK)
			crm_err_set(e, CRM_EUNAVAILABLE, "speech server %s: %s (after %d attempts)",
				    a->o.url, curl_easy_strerror(cc), attempts);
		else
			crm_err_set(e, status == 401 || status == 403 || status == 429 || status >= 500
					       ? CRM_EUNAVAILABLE : CRM_EDATA,
				    "speech server %s: HTTP %ld%s%.200s", a->o.url, status,
				    body.len ? ": " : "", body.len ? body.data : "");
	}
	curl_mime_free(mime);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	crm_buf_release(&body);
	return rc;
}

struct crm_asr *crm_asr_new(const struct crm_asr_opts *o, struct crm_err *e)
{
	struct crm_asr *a = calloc(1, sizeof *a);

	if (!a) {
		crm_err_set(e, CRM_ESOFTWARE, "out of memory");
		return NULL;
	}
	a->o = *o;
	if (!a->o.engine)
		a->o.engine = "sphinx";
	if (!a->o.speakers[0])
		a->o.speakers[0] = "rep";
	if (!a->o.speakers[1])
		a->o.speakers[1] = "customer";
	if (!strcmp(a->o.engine, "http")) {
		if (!a->o.url) {
			crm_err_set(e, CRM_EUSAGE, "the http engine needs a server URL");
			goto fail;
		}
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			crm_err_set(e, CRM_ESOFTWARE, "curl did not initialise");
			goto fail;
		}
		return a;
	}
	if (strcmp(a->o.engine, "sphinx")) {
		crm_err_set(e, CRM_EUSAGE, "unknown engine '%s' (sphinx or http)", a->o.engine);
		goto fail;
	}
	if (sphinx_init(a, e) == 0)
		return a;
fail:
	crm_asr_free(a);
	return NULL;
}

void crm_asr_free(struct crm_asr *a)
{
	if (!a)
		return;
	if (a->ps)
		ps_free(a->ps);
	if (a->lmset)
		while (ngram_model_free(a->lmset) > 0)
			;
	for (int i = 0; i < 2; i++)
		if (a->sub[i])
			while (ngram_model_free(a->sub[i]) > 0)
				;
	if (a->config)
		cmd_ln_free_r(a->config);
	if (!strcmp(a->o.engine ? a->o.engine : "", "http"))
		curl_global_cleanup();
	free(a);
}

int crm_asr_file(struct crm_asr *a, const char *path, const void *data,
		 size_t n, struct crm_transcript *t, struct crm_err *e)
{
	double t0 = crm_now();
	int rc;

	rc = a->ps ? sphinx_file(a, path, data, n, t, e) : http_file(a, path, t, e);
	if (!a->ps && rc == 0)
		a->audio += t->duration;
	a->spent += crm_now() - t0;
	return rc;
}

void crm_asr_stats(const struct crm_asr *a, double *audio, double *spent)
{
	*audio = a->audio;
	*spent = a->spent;
}
