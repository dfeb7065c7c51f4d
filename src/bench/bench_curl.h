/* bench_curl: what bench's libcurl drivers share (bench_sse.c, long-lived
 * subscribers; bench_stream.c, streams as requests): the request headers
 * and CURLOPT_RESOLVE entry a worker builds once, an easy handle with the
 * options every stream has, and what a failed transfer counts as. */
#ifndef EVCAT_BENCH_CURL_H
#define EVCAT_BENCH_CURL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "bench.h"

/* curl's minimum receive buffer: ~12 KiB per stream in all (FIELD-NOTES),
 * against ~15 KiB with the 16 KiB default. SSE events are small; a fast
 * stream costs a few more write callbacks, not more memory. */
#define BENCH_CURL_BUFFERSIZE 1024L

/* Over TLS, libcurl 7.88 copies the request into the upload buffer (a
 * retried SSL_write needs the same bytes) and keeps that buffer for the
 * transfer's life: 64 KiB of heap per https stream by default, for a request
 * head of a few hundred bytes. 16 KiB is curl's minimum. (Mostly untouched
 * pages, so this saves address space and heap more than RSS.) */
#define BENCH_CURL_UPLOAD_BUFFERSIZE 16384L

/* The -H/--bearer headers plus Accept: text/event-stream and Cache-Control:
 * no-cache (unless given), and cfg->curl_resolve as a list. Returns 0, or
 * -1 with a one-line reason in err (what was built is the caller's to
 * free either way). */
int bench_curl_lists(const bench_config_t *cfg, struct curl_slist **headers,
                     struct curl_slist **resolve, char *err, size_t errlen);

/* An easy handle for cfg->url with those lists and the callbacks (their
 * data is ud), direct (proxies ignored), quiet, with the small buffers
 * above and cfg->co's settings. NULL when libcurl has no memory. */
CURL *bench_curl_easy(const bench_config_t *cfg, struct curl_slist *headers,
                      struct curl_slist *resolve, void *ud, curl_write_callback on_header,
                      curl_write_callback on_write, curl_opensocket_callback on_opensocket);

/* A header callback's line. The blank line that ends a head decides:
 * interim (1xx) heads are skipped, the final one is BENCH_HEAD_OK when it
 * is 200 with text/event-stream and BENCH_HEAD_BAD otherwise (*code and
 * *ct, libcurl's, say what it was); *head_done is set then. Any other
 * line, and trailers after it, is BENCH_HEAD_MORE. */
typedef enum { BENCH_HEAD_MORE, BENCH_HEAD_OK, BENCH_HEAD_BAD } bench_head_t;
bench_head_t bench_curl_head_line(CURL *e, const char *p, size_t len, bool *head_done, long *code,
                                  char **ct);

/* The kind of a transfer that ended before its response head was taken:
 * sock_err is the errno of a socket the open-socket callback could not
 * make (0: none). */
bench_err_t bench_curl_connect_kind(CURL *e, CURLcode r, int sock_err);
/* The kind of a transfer that ended after its response head. */
bench_err_t bench_curl_lost_kind(CURLcode r);

#endif
