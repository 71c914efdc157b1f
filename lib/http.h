/*
 * http.h - what every libcurl caller in libcrm does the same way: collect
 * a response into a buffer, and retry what is worth retrying.
 */
#ifndef CRM_HTTP_H
#define CRM_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include "util.h"

/* CURLOPT_WRITEFUNCTION appending to the struct crm_buf in CURLOPT_WRITEDATA. */
size_t crm_http_collect(char *p, size_t size, size_t nmemb, void *buf);

/*
 * Perform c (its URL and request set), the response into body (emptied
 * before each attempt; NULL discards it). Connection failures, HTTP 429
 * and 5xx are tried again up to retries times, after 0.5 s, 1 s, 2 s ...
 * (at most 32 s; a 429's Retry-After when under a minute). A file that
 * cannot be read is not retried. Returns the last attempt's curl code;
 * *status is its HTTP status (0 without a response), *attempts how many.
 */
CURLcode crm_http_perform(CURL *c, struct crm_buf *body, int retries, long *status,
			  int *attempts);

/* "host[:port]" of url, for messages that must not show its path or secrets. */
void crm_http_host(const char *url, char *out, size_t n);

#endif
