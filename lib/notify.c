/*
 * notify.c - Slack payloads and webhook delivery with libcurl.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "notify.h"

#define SECTION_MAX 2900	/* Slack: a section's text is at most 3000 */

static json_t *mrkdwn(const char *s, size_t n)
{
	return json_pack("{s:s,s:{s:s,s:s%}}", "type", "section", "text", "type", "mrkdwn",
			 "text", s, n);
}

char *crm_slack_payload(const struct crm_note *n)
{
	json_t *blocks = json_array(), *root;
	const char *icon = !n->status ? "" : !strcmp(n->status, "ok") ? ":white_check_mark: "
			   : !strcmp(n->status, "warn") ? ":warning: " : ":x: ";
	char head[160], *s;
	const char *t = n->text ? n->text : "";

	if (!blocks)
		return NULL;
	if (n->title) {
		snprintf(head, sizeof head, "%s%s", icon, n->title);
		json_array_append_new(blocks, json_pack("{s:s,s:{s:s,s:s,s:b}}", "type", "header",
							"text", "type", "plain_text", "text", head,
							"emoji", 1));
	}
	/* Paragraphs become sections; a long one is cut at a line break. */
	while (*t) {
		size_t len = strlen(t), cut = len;
		const char *para = strstr(t, "\n\n");
		if (para)
			cut = (size_t)(para - t);
		if (cut > SECTION_MAX) {
			cut = SECTION_MAX;
			for (size_t k = SECTION_MAX; k > SECTION_MAX / 2; k--)
				if (t[k] == '\n') {
					cut = k;
					break;
				}
			while (cut && ((unsigned char)t[cut] & 0xC0) == 0x80)
				cut--;
		}
		if (cut)
			json_array_append_new(blocks, mrkdwn(t, cut));
		t += cut;
		while (*t == '\n')
			t++;
	}
	if (n->nfields) {
		json_t *f = json_array();
		for (size_t i = 0; i < n->nfields && i < 10; i++) {	/* Slack allows 10 */
			const char *eq = strchr(n->fields[i], '=');
			char buf[2100];
			if (eq)
				snprintf(buf, sizeof buf, "*%.*s*\n%s", (int)(eq - n->fields[i]),
					 n->fields[i], eq + 1);
			else
				snprintf(buf, sizeof buf, "%s", n->fields[i]);
			json_array_append_new(f, json_pack("{s:s,s:s}", "type", "mrkdwn", "text", buf));
		}
		json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "section", "fields", f));
	}
	if (n->context)
		json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type", "context",
							"elements", "type", "mrkdwn", "text", n->context));
	/* The fallback text: title and the start of the body. */
	char fallback[600];
	snprintf(fallback, sizeof fallback, "%s%s%s%.400s", n->title ? icon : "",
		 n->title ? n->title : "", n->title && n->text && *n->text ? ": " : "",
		 n->text ? n->text : "");
	root = json_pack("{s:s,s:o}", "text", fallback, "blocks", blocks);
	if (!root)
		return NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

static size_t sink(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int crm_webhook_post(const char *url, const char *body, int retries, long timeout,
		     struct crm_err *e)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	int rc = -1;

	if (!c || !h) {
		curl_slist_free_all(h);
		if (c)
			curl_easy_cleanup(c);
		return crm_err_set(e, CRM_ESOFTWARE, "curl did not initialise");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 20L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "crm/" CRM_VERSION);
	for (int attempt = 0;; attempt++) {
		long status = 0;
		curl_off_t after = 0;
		CURLcode cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (cc == CURLE_OK && status >= 200 && status < 300) {
			rc = 0;
			break;
		}
		int transient = cc != CURLE_OK || status == 429 || status >= 500;
		if (!transient || attempt >= retries) {
			/* Never the URL itself in messages: it is the secret. */
			char host[256] = "";
			const char *p = strstr(url, "://");
			if (p)
				snprintf(host, sizeof host, "%.*s", (int)strcspn(p + 3, "/"), p + 3);
			if (cc != CURLE_OK)
				crm_err_set(e, CRM_EUNAVAILABLE, "webhook at %s: %s (after %d attempts)",
					    host, curl_easy_strerror(cc), attempt + 1);
			else
				crm_err_set(e, transient ? CRM_EUNAVAILABLE : CRM_EDATA,
					    "webhook at %s: HTTP %ld (after %d attempts)", host, status,
					    attempt + 1);
			break;
		}
		curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after);
		double wait = 0.5 * (double)(1 << (attempt < 6 ? attempt : 6));
		if (status == 429 && after > 0 && after < 60)
			wait = (double)after;
		sleep_s(wait);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}
