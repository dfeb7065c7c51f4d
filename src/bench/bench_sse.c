/* bench_sse: the SSE driver of `evcat bench` — thousands of event streams
 * per worker thread, each one libcurl transfer on one of the worker's own
 * multi handles (curlm on the worker's loop, STREAMS_PER_MULTI streams
 * each), each parsed by its own sse_parser.
 *
 * Memory is what bounds a run (19,000 streams in one process): per stream
 * there is libcurl's easy handle and connection (most of it: ~12 KiB with a
 * 1 KiB receive buffer), our sse_stream_t, and a parser created only once
 * the stream is established, whose buffers grow to the largest event seen.
 * Everything shared by the streams of a worker (request headers, the
 * CURLOPT_RESOLVE entry) is built once per worker; nothing is shared
 * between workers but the read-only config.
 *
 * Lifecycle of a stream: start() adds the transfer and puts the stream on
 * the `pending` list (in start order, so its head is the oldest attempt and
 * one timer enforces --connect-timeout up to the response head). The header
 * callback validates the head (200, text/event-stream): established, moved
 * to the `open` list, or refused (BERR_HTTP_STATUS). curl's callbacks never
 * remove a transfer: they return an error and leave the reason in
 * s->abort; the done callback (outside curl) accounts and frees the stream.
 * close_all and the connect timer remove transfers themselves (outside
 * curl's callbacks too). Each stream ends exactly once, in stream_end(). */
#include "bench_curl.h"
#include "bench_worker.h"
#include "curl_multi.h"
#include "exitcode.h"
#include "sse_parser.h"
#include "buf.h"
#include "clock.h"
#include "text.h"
#include "stamp.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF /* any value != the chunk size aborts */
#endif

/* Why curl's callbacks stopped a transfer (for the done callback). */
enum stream_abort {
    AB_NONE,
    AB_STATUS,  /* the response head is not 200 text/event-stream */
    AB_TOO_BIG, /* an event or line over --max-message */
};

typedef struct sse_worker sse_worker_t;

typedef struct sse_stream {
    bench_curl_xfer_t t;      /* first: the transfer, its multi handle and index */
    sse_parser_t *parser;     /* owned; created when established */
    struct sse_stream *prev, *next; /* on sw->pending or sw->open */
    uint64_t started_ns;      /* mono_ns at start */
    bool established;
    bool head_done;           /* the final response head has been validated */
    uint8_t abort;            /* enum stream_abort */
} sse_stream_t;

typedef struct stream_list {
    sse_stream_t *head, *tail;
} stream_list_t;

struct sse_worker {
    bench_curl_pool_t pool;      /* first: the multi handles and request lists */
    stream_list_t pending;       /* started, head not validated yet (start order) */
    stream_list_t open;          /* established */
    loop_timer_t connect_timer;  /* the oldest pending stream's deadline */
    uint64_t connect_timeout_ns; /* 0 = none */
    uint64_t now_real;           /* real_ns for the current write callback, 0 = not read */
};

_Static_assert(offsetof(struct sse_worker, pool) == 0, "a stream finds its worker from its pool");
_Static_assert(offsetof(sse_stream_t, t) == 0, "curl's callbacks get the stream as the transfer");

static sse_worker_t *stream_sw(const sse_stream_t *s)
{
    return (sse_worker_t *)(void *)s->t.pool;
}

/* ---- lists ------------------------------------------------------------- */

static void list_push(stream_list_t *l, sse_stream_t *s)
{
    s->next = NULL;
    s->prev = l->tail;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
}

static void list_unlink(stream_list_t *l, sse_stream_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = NULL;
}

/* ---- ending a stream --------------------------------------------------- */

enum end_how { END_FAILED, END_LOST, END_ENDED };

/* The one place a stream ends: out of its list, out of curl, accounted,
 * freed. Not from inside curl's callbacks (curlm_remove). */
static void stream_end(sse_stream_t *s, enum end_how how, bench_err_t kind)
{
    sse_worker_t *sw = stream_sw(s);
    bench_worker_t *w = sw->pool.w;
    list_unlink(s->established ? &sw->open : &sw->pending, s);
    bench_curl_xfer_release(&s->t);
    sse_parser_free(s->parser);
    free(s);
    /* Accounting last: it may tell the coordinator this worker is done. */
    if (how == END_FAILED)
        bench_failed(w, kind);
    else if (how == END_LOST)
        bench_lost(w, kind);
    else
        bench_ended(w);
}

/* ---- parser callbacks -------------------------------------------------- */

/* The hot path: one event. No allocation; one clock read per write
 * callback, shared by the events it delivers (they arrived together). */
static int on_event(void *ud, const sse_event_t *ev)
{
    sse_worker_t *sw = stream_sw(ud);
    bench_sub_message(sw->pool.w, ev->data, ev->data_len, &sw->now_real);
    return 0;
}

static const sse_parser_callbacks_t parser_cbs = {.on_event = on_event};

/* ---- curl callbacks ---------------------------------------------------- */

/* Each header line; the blank one ends a head. Interim (1xx) heads are
 * skipped, the final one decides. Trailers come after head_done. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sse_stream_t *s = ud;
    size_t len = size * n;
    long code;
    char *ct;
    bench_head_t h = bench_curl_head_line(s->t.x.easy, p, len, &s->head_done, &code, &ct);
    if (h == BENCH_HEAD_MORE)
        return len;
    if (h == BENCH_HEAD_BAD) {
        bench_status_example(stream_sw(s)->pool.w, code, ct);
        s->abort = AB_STATUS;
        return 0; /* != len: curl ends the transfer (CURLE_WRITE_ERROR) */
    }
    sse_worker_t *sw = stream_sw(s);
    s->parser = sse_parser_new(sw->pool.w->cfg->max_message, &parser_cbs, s);
    list_unlink(&sw->pending, s);
    s->established = true;
    list_push(&sw->open, s);
    bench_connected(sw->pool.w, mono_ns() - s->started_ns);
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    sse_stream_t *s = ud;
    size_t len = size * n;
    if (!s->established) { /* a body without a validated head: cannot happen */
        s->abort = AB_STATUS;
        return CURL_WRITEFUNC_ERROR;
    }
    stream_sw(s)->now_real = 0;
    if (sse_parser_feed(s->parser, p, len, NULL) == SSE_ERR_TOO_BIG) {
        s->abort = AB_TOO_BIG;
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

/* ---- outcome ----------------------------------------------------------- */

/* Runs from curlm's drain, outside curl's callbacks. */
static void on_done(curlm_xfer_t *x, CURLcode r)
{
    sse_stream_t *s = x->ud;
    if (s->abort == AB_STATUS)
        stream_end(s, END_FAILED, BERR_HTTP_STATUS);
    else if (s->abort == AB_TOO_BIG)
        stream_end(s, END_LOST, BERR_TOO_BIG);
    else if (s->established)
        stream_end(s, END_LOST, bench_curl_lost_kind(r));
    else {
        bench_err_t kind = bench_curl_connect_kind(s->t.x.easy, r, s->t.sock_err);
        if (kind == BERR_TLS)
            bench_curl_tls_example(stream_sw(s)->pool.w, s->t.x.easy, r);
        stream_end(s, END_FAILED, kind);
    }
}

/* ---- the connect deadline ---------------------------------------------- */

/* --connect-timeout covers everything up to a validated head (curl's own
 * CURLOPT_CONNECTTIMEOUT stops at the TCP/TLS connect). Pending streams
 * are in start order: only the head's deadline needs a timer. */
static void arm_connect_timer(sse_worker_t *sw)
{
    if (!sw->connect_timeout_ns || !sw->pending.head)
        return;
    loop_timer_arm_at(sw->pool.w->loop, &sw->connect_timer,
                      sw->pending.head->started_ns + sw->connect_timeout_ns);
}

static void on_connect_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    sse_worker_t *sw = ud;
    uint64_t now = mono_ns();
    sse_stream_t *s;
    while ((s = sw->pending.head) && now - s->started_ns >= sw->connect_timeout_ns)
        stream_end(s, END_FAILED, BERR_CONNECT_TIMEOUT);
    arm_connect_timer(sw);
}

/* ---- the driver -------------------------------------------------------- */

static void sse_free(bench_worker_t *w);

static int sse_init(bench_worker_t *w, char *err, size_t errlen)
{
    const bench_config_t *cfg = w->cfg;
    sse_worker_t *sw = xcalloc(1, sizeof(*sw));
    w->drv = sw;
    loop_timer_init(&sw->connect_timer, on_connect_timer, sw);
    sw->connect_timeout_ns = cfg->co ? cfg->co->connect_timeout_ms * 1000000u : 0;
    if (bench_curl_pool_init(&sw->pool, w, err, errlen) < 0) {
        sse_free(w);
        return -1;
    }
    return 0;
}

/* Each stream's own connection, closed with it: no reuse in either
 * direction (an ended stream must not keep an fd in the cache). */
static CURL *stream_easy(sse_stream_t *s, sse_worker_t *sw, uint64_t index)
{
    CURL *e = bench_curl_xfer_init(&s->t, &sw->pool, index, on_done, on_header, on_write);
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    return e;
}

static void sse_start(bench_worker_t *w, uint64_t index)
{
    sse_worker_t *sw = w->drv;
    sse_stream_t *s = xcalloc(1, sizeof(*s));
    s->started_ns = mono_ns();
    CURL *e = stream_easy(s, sw, index);
    bool was_idle = !sw->pending.head;
    list_push(&sw->pending, s);
    if (!e || curlm_add(s->t.m, &s->t.x) != CURLM_OK) {
        stream_end(s, END_FAILED, BERR_CONNECT);
        return;
    }
    if (was_idle)
        arm_connect_timer(sw);
}

static void end_list(stream_list_t *l)
{
    sse_stream_t *s;
    while ((s = l->head))
        stream_end(s, END_ENDED, BERR_COUNT);
}

/* SSE has nothing to say on the way out: ending a stream is closing its
 * connection, at once, attempts still connecting included. */
static void sse_close_all(bench_worker_t *w)
{
    sse_worker_t *sw = w->drv;
    if (!sw)
        return;
    loop_timer_stop(w->loop, &sw->connect_timer);
    end_list(&sw->pending);
    end_list(&sw->open);
}

static void sse_abort_all(bench_worker_t *w)
{
    sse_close_all(w);
}

static void sse_free(bench_worker_t *w)
{
    sse_worker_t *sw = w->drv;
    if (!sw)
        return;
    sse_close_all(w); /* nothing is left in a finished run; a failed init has none */
    loop_timer_stop(w->loop, &sw->connect_timer);
    bench_curl_pool_free(&sw->pool);
    free(sw);
    w->drv = NULL;
}

const bench_driver_t bench_sse_driver = {
    .init = sse_init,
    .start = sse_start,
    .close_all = sse_close_all,
    .abort_all = sse_abort_all,
    .free = sse_free,
};
