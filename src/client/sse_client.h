/* sse_client: one EventSource over libcurl on our loop — the connection
 * lifecycle of the WHATWG EventSource (connect, validate the response,
 * parse, reconnect after the server's retry with Last-Event-ID), plus what a
 * command-line user needs on top: backoff with jitter across consecutive
 * failures, a bound on retries, an idle timeout, SSE over POST.
 *
 * Failing vs reconnecting:
 *   - 200 + text/event-stream opens the stream; 204 ends it for good (exit 0);
 *     another status or content type fails it (exit 1), never retried;
 *   - a stream that ends or breaks after it had opened is re-established
 *     after retry ms (server's `retry:`, 3 s by default), doubling per
 *     consecutive failed attempt up to 30 s (or retry, if larger), plus
 *     0-20 % jitter; attempts that fail to connect count as failures;
 *   - the very first connection failing is an error (exit 1): a CLI that
 *     waits forever for a mistyped URL helps nobody; so are TLS failures,
 *     redirect loops and malformed URLs at any time. */
#ifndef EVCAT_SSE_CLIENT_H
#define EVCAT_SSE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn_settings.h"
#include "curl_multi.h"
#include "loop.h"
#include "sse_parser.h"

typedef struct sse_client sse_client_t;

typedef struct sse_client_opts {
    const char *url;
    const char *method;          /* NULL: GET, or POST when body is set */
    const char *body;            /* request body (-d); NULL: none */
    size_t body_len;
    const conn_settings_t *conn;     /* headers, auth, TLS, proxy */
    size_t max_event;            /* parser bound */
    uint64_t idle_timeout_ms;    /* no event or comment for this long, counted from the
                                  * start of each attempt, is a drop; 0: off */
    bool reconnect;              /* false: --no-reconnect */
    int64_t max_retries;         /* reconnections in all; -1: unlimited */
    long http_version;           /* CURL_HTTP_VERSION_* */
    const char *last_event_id;   /* initial Last-Event-ID, or NULL */
} sse_client_opts_t;

typedef struct sse_client_callbacks {
    /* An event. Return non-zero to stop parsing this chunk (the owner is
     * shutting down, e.g. its count was reached). */
    int (*on_event)(void *ud, const sse_event_t *ev);
    /* A chunk of the stream has been parsed: a good moment to flush output. */
    void (*on_batch)(void *ud);
    /* The client has stopped for good with an exit code (EXIT_OK or
     * EXIT_FAIL); an error has been reported on stderr already. */
    void (*on_end)(void *ud, int exit_code);
} sse_client_callbacks_t;

/* Copies nothing: opts and the strings it points to must outlive the client. */
sse_client_t *sse_client_new(loop_t *l, curlm_t *m, const sse_client_opts_t *opts,
                             const sse_client_callbacks_t *cbs, void *ud);
/* Returns 0, or -1 when the transfer could not even be set up. */
int sse_client_start(sse_client_t *c);
void sse_client_free(sse_client_t *c);

/* How many events were dispatched, and how many times the stream opened. */
uint64_t sse_client_events(const sse_client_t *c);
unsigned sse_client_opens(const sse_client_t *c);

#endif
