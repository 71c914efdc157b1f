/*
 * notify.c - Slack payloads and webhook delivery with libcurl.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
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

int crm_webhook_send(const char *url, const char *body, const char *const *headers,
		     size_t nheaders, int retries, long timeout, long *status,
		     struct crm_err *e)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	int rc = -1;

	*status = 0;
	for (size_t i = 0; h && i < nheaders; i++) {
		struct curl_slist *n = curl_slist_append(h, headers[i]);

		if (!n) {
			curl_slist_free_all(h);
			h = NULL;
			break;
		}
		h = n;
	}
	if (!c || !h) {
		curl_slist_free_all(h);
		if (c)
			curl_easy_cleanup(c);
		return crm_err_set(e, CRM_ESOFTWARE, "curl did not initialise");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 20L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "crm/" CRM_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	{
		int attempts;
		CURLcode cc = crm_http_perform(c, NULL, retries, status, &attempts);
		char host[256];
		/* Never the URL itself in messages: it is the secret. */
		crm_http_host(url, host, sizeof host);
		if (cc == CURLE_OK && *status >= 200 && *status < 300)
			rc = 0;
		else if (cc != CURLE_OK)
			crm_err_set(e, CRM_EUNAVAILABLE, "webhook at %s: %s (after %d attempts)",
				    host, curl_easy_strerror(cc), attempts);
		else
			crm_err_set(e, *status == 429 || *status >= 500 ? CRM_EUNAVAILABLE : CRM_EDATA,
				    "webhook at %s: HTTP %ld (after %d attempts)", host, *status, attempts);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

int crm_webhook_post(const char *url, const char *body, int retries, long timeout,
		     struct crm_err *e)
{
	long status;

	return crm_webhook_send(url, body, NULL, 0, retries, timeout, &status, e);
}
