/*
 * http.c - response collection and retries with backoff over libcurl.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"

size_t crm_http_collect(char *p, size_t size, size_t nmemb, void *buf)
{
	return crm_buf_add(buf, p, size * nmemb) < 0 ? 0 : size * nmemb;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

static void pause_for(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

CURLcode crm_http_perform(CURL *c, struct crm_buf *body, int retries, long *status,
			  int *attempts)
{
	CURLcode cc;

	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body ? crm_http_collect : discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	for (int attempt = 0;; attempt++) {
		curl_off_t after = 0;
		if (body)
			crm_buf_reset(body);
		*status = 0;
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		*attempts = attempt + 1;
		int transient = (cc != CURLE_OK && cc != CURLE_READ_ERROR &&
				 cc != CURLE_FILE_COULDNT_READ_FILE) ||
				(cc == CURLE_OK && (*status == 429 || *status >= 500));
		if (!transient || attempt >= retries)
			return cc;
		curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after);
		double wait = 0.5 * (double)(1 << (attempt < 6 ? attempt : 6));
		if (*status == 429 && after > 0 && after < 60)
			wait = (double)after;
		pause_for(wait);
	}
}

void crm_http_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	snprintf(out, n, "%.*s", (int)strcspn(p, "/?#"), p);
}
