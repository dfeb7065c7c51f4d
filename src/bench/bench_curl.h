/* bench_curl: what bench's libcurl drivers share (bench_sse.c, long-lived
 * subscribers; bench_stream.c, streams as requests): the worker's pool of
 * multi handles with the request headers and CURLOPT_RESOLVE entry built
 * once, the transfer head each stream or slot begins with (its easy handle
 * with the options every stream has, its multi handle, its sockets), and
 * what a failed transfer counts as. */
#ifndef EVCAT_BENCH_CURL_H
#define EVCAT_BENCH_CURL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "bench.h"
#include "bench_worker.h"
#include "curl_multi.h"

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

/* Transfers per libcurl multi handle. libcurl 7.88 finds a socket's
 * transfer in a hash of 911 fixed buckets: with 10,000 streams on one
 * multi handle each lookup walks chains of ~11 (several per event, each a
 * cache miss), the largest user-space cost per event measured. A worker
 * spreads its transfers over several multi handles on its loop instead. */
#define BENCH_CURL_PER_MULTI 512

/* What a libcurl driver's worker holds for all its transfers (the first
 * member of the driver's worker struct): multi handles on the worker's
 * loop, enough for its connections at BENCH_CURL_PER_MULTI each, which
 * keep one connection per transfer (never closed to make room, never
 * multiplexed: a load test counts connections), and the request lists
 * built once (bench_curl_lists). */
typedef struct bench_curl_pool {
    bench_worker_t *w;
    curlm_t **m;                /* owned: nm multi handles, each owned */
    size_t nm;
    uint64_t started;           /* transfers started (spreads them over m) */
    struct curl_slist *headers; /* owned */
    struct curl_slist *resolve; /* owned, or NULL */
} bench_curl_pool_t;

/* 0, or -1 with a one-line reason (the caller frees the pool either way). */
int bench_curl_pool_init(bench_curl_pool_t *p, bench_worker_t *w, char *err, size_t errlen);
void bench_curl_pool_free(bench_curl_pool_t *p);

/* A transfer of the pool's (the first member of the driver's stream or
 * slot, which is the data of its curl callbacks and of x.ud): its easy
 * handle on one of the multi handles, and the connection index its
 * sockets are made for (bench_socket: the source address). */
typedef struct bench_curl_xfer {
    curlm_xfer_t x;          /* x.easy owned */
    bench_curl_pool_t *pool;
    curlm_t *m;              /* the multi handle it runs on */
    uint64_t index;          /* global connection index */
    int sock_err;            /* errno of a socket the open-socket callback could not make */
} bench_curl_xfer_t;

/* t (zeroed) for connection index: the next multi handle in turn, done
 * called when a transfer ends, and an easy handle (bench_curl_easy with
 * the pool's lists, t as the callbacks' data, sockets from bench_socket).
 * Returns the easy handle, NULL when libcurl has no memory. */
CURL *bench_curl_xfer_init(bench_curl_xfer_t *t, bench_curl_pool_t *p, uint64_t index,
                           curlm_done_fn done, curl_write_callback on_header,
                           curl_write_callback on_write);
/* Out of its multi handle, the easy handle cleaned up. Not from inside
 * curl's callbacks. */
void bench_curl_xfer_release(bench_curl_xfer_t *t);

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
/* The worker's first BERR_TLS example from a transfer that failed its
 * handshake, in listen's words (the certificate's verification result). */
void bench_curl_tls_example(bench_worker_t *w, CURL *e, CURLcode r);
/* The kind of a transfer that ended after its response head. */
bench_err_t bench_curl_lost_kind(CURLcode r);

#endif
