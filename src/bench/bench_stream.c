/* bench_stream: the driver of SSE streams as requests (evcat(1), BENCH):
 * each of a worker's connections is a slot that sends a request (-X, -d),
 * reads the response's event stream until its end, and sends the next one;
 * slots keep their connections alive between requests, as an LLM client
 * does. Closed loop: a slot starts its next stream as soon as one ends, so
 * -c is the concurrency. Open loop (--arrival-rate): streams start on a
 * schedule, each on an idle slot of the worker; one due while every slot
 * is busy is dropped and counted (as k6's dropped iterations), never
 * queued, so the schedule is the load asked for. --requests bounds the
 * streams of the run (the worker's share of it here); so does --duration
 * in the open loop: rate x duration streams, those due strictly before its
 * end (k6's constant-arrival-rate), shared out like --requests.
 *
 * How a stream ends (bench_streams.h has the accounting):
 *   - an event whose data is --end-data: completed (the end event is not
 *     counted as an event); the response's own end is then awaited
 *     END_GRACE_NS, so that the connection can carry the next request,
 *     else the connection is closed;
 *   - an `event: error`: failed, sse_error (the rest of the response is
 *     read and ignored, like after the end event);
 *   - a head that is not 200 text/event-stream: failed, http_status;
 *   - the response ends cleanly without the end event: failed, incomplete
 *     (what an LLM API's cut answer looks like), or completed when there is
 *     no end marker (--end-data '');
 *   - nothing for --idle-timeout once the head came: failed, idle_timeout;
 *     no head within --connect-timeout: connect_timeout; a connection that
 *     fails or breaks: its kind (refused, reset, closed...);
 *   - still running when the run ends: unfinished.
 *
 * Timing is on the monotonic clock: a stream starts when libcurl is about
 * to send its request (CURLOPT_PREREQFUNCTION: connected, or a kept
 * connection taken); events are timed once per write callback (events that
 * arrived together have one time).
 *
 * Lists: a slot is on exactly one, so that one timer per list serves every
 * deadline: `idle` (open loop: free), `pending` (request sent, head not in
 * yet; in start order: --connect-timeout), `open` (streaming; moved to the
 * tail at each write, so the head is the one silent longest:
 * --idle-timeout), `draining` (the outcome is known, the response's end is
 * awaited; in decision order: END_GRACE_NS). curl's callbacks never remove
 * a transfer: curlm's done callback and the timers do, outside them. */
#include "bench_curl.h"
#include "bench_worker.h"
#include "clock.h"
#include "curl_multi.h"
#include "rate.h"
#include "sse_parser.h"
#include "stamp.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF /* any value != the chunk size aborts */
#endif

/* After the end event, how long the response may take to end by itself. */
#define END_GRACE_NS (1000 * 1000000ull)
/* Open-loop arrivals started per timer round. */
#define ARRIVAL_BATCH 64

enum slot_list { L_NONE, L_IDLE, L_PENDING, L_OPEN, L_DRAINING };

/* Why curl's callbacks stopped a transfer. */
enum stream_abort { AB_NONE, AB_STATUS, AB_TOO_BIG };

typedef struct stream_worker stream_worker_t;

typedef struct slot {
    bench_curl_xfer_t t;      /* first: the transfer (its easy handle reused by each stream) */
    sse_parser_t *parser;     /* owned */
    struct slot *prev, *next; /* on the list `list` names */
    uint8_t list;             /* enum slot_list */
    /* the current stream */
    uint64_t begun_ns;   /* handed to curl */
    uint64_t sent_ns;    /* the request about to be sent (0: not yet) */
    uint64_t last_ns;    /* the last event (0: none yet) */
    uint64_t active_ns;  /* the last bytes, or the head */
    uint64_t decided_ns; /* the outcome became known */
    uint64_t events;
    bool head_done; /* the final response head has been validated */
    bool decided;   /* completed or failed already (draining) */
    uint8_t abort;  /* enum stream_abort */
} slot_t;

typedef struct slot_queue {
    slot_t *head, *tail;
} slot_queue_t;

struct stream_worker {
    bench_curl_pool_t pool; /* first: the multi handles and request lists */
    slot_queue_t idle, pending, open, draining;
    loop_timer_t connect_timer, idle_timer, drain_timer, arrival_timer;
    uint64_t connect_timeout_ns; /* 0: none */
    uint64_t idle_timeout_ns;    /* 0: none */
    uint64_t budget; /* closed loop: streams it may still start (UINT64_MAX: no bound) */
    bool open_loop;
    double arrival_rate;     /* open loop: this worker's share */
    uint64_t arrivals_total; /* open loop: its share of --requests (0: no bound) */
    uint64_t arrivals_cap;   /* open loop: its share of those due within --duration
                              * (UINT64_MAX: no bound) */
    rate_t arrivals;         /* open loop: the schedule, from the last slot's start */
    bool arrivals_over;      /* open loop: --requests' share handed out: the worker
                              * ends when its streams are over (not with the
                              * duration's: the measurement lasts its length) */
    size_t end_len;          /* of cfg->streams.end_data; 0: no end marker */
    uint64_t now;            /* mono_ns for the current write callback, 0 = not read */
};

_Static_assert(offsetof(struct stream_worker, pool) == 0, "a slot finds its worker from its pool");
_Static_assert(offsetof(slot_t, t) == 0, "curl's callbacks get the slot as the transfer");

static stream_worker_t *slot_sw(const slot_t *s)
{
    return (stream_worker_t *)(void *)s->t.pool;
}

static void slot_after(slot_t *s);
static void stream_finish(slot_t *s);

/* ---- lists ------------------------------------------------------------- */

static slot_queue_t *queue_of(stream_worker_t *sw, uint8_t list)
{
    switch (list) {
    case L_IDLE:
        return &sw->idle;
    case L_PENDING:
        return &sw->pending;
    case L_OPEN:
        return &sw->open;
    case L_DRAINING:
        return &sw->draining;
    default:
        return NULL;
    }
}

static void slot_unlink(slot_t *s)
{
    slot_queue_t *q = queue_of(slot_sw(s), s->list);
    if (!q)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        q->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        q->tail = s->prev;
    s->prev = s->next = NULL;
    s->list = L_NONE;
}

static void slot_push(slot_t *s, uint8_t list)
{
    slot_unlink(s);
    slot_queue_t *q = queue_of(slot_sw(s), list);
    s->list = list;
    s->next = NULL;
    s->prev = q->tail;
    if (q->tail)
        q->tail->next = s;
    else
        q->head = s;
    q->tail = s;
}

/* ---- deadlines: one timer per list, for its head ------------------------ */

static void arm_connect_timer(stream_worker_t *sw)
{
    if (sw->connect_timeout_ns && sw->pending.head)
        loop_timer_arm_at(sw->pool.w->loop, &sw->connect_timer,
                          sw->pending.head->begun_ns + sw->connect_timeout_ns);
    else
        loop_timer_stop(sw->pool.w->loop, &sw->connect_timer);
}

static void arm_idle_timer(stream_worker_t *sw)
{
    if (sw->idle_timeout_ns && sw->open.head)
        loop_timer_arm_at(sw->pool.w->loop, &sw->idle_timer,
                          sw->open.head->active_ns + sw->idle_timeout_ns);
    else
        loop_timer_stop(sw->pool.w->loop, &sw->idle_timer);
}

static void arm_drain_timer(stream_worker_t *sw)
{
    if (sw->draining.head)
        loop_timer_arm_at(sw->pool.w->loop, &sw->drain_timer,
                          sw->draining.head->decided_ns + END_GRACE_NS);
    else
        loop_timer_stop(sw->pool.w->loop, &sw->drain_timer);
}

/* ---- a slot's end ------------------------------------------------------ */

/* The one place a slot ends: out of its list, out of curl, freed, counted
 * as ended. Not from inside curl's callbacks. */
static void slot_end(slot_t *s)
{
    stream_worker_t *sw = slot_sw(s);
    bench_worker_t *w = sw->pool.w;
    slot_unlink(s);
    bench_curl_xfer_release(&s->t);
    sse_parser_free(s->parser);
    free(s);
    bench_ended(w); /* last: it may tell the coordinator this worker is done */
}

/* Open loop: once the schedule is over and no stream runs, the idle slots
 * have nothing left to do. */
static void check_open_loop_done(stream_worker_t *sw)
{
    if (!sw->open_loop || !sw->arrivals_over || sw->pending.head || sw->open.head ||
        sw->draining.head)
        return;
    loop_timer_stop(sw->pool.w->loop, &sw->arrival_timer);
    while (sw->idle.head)
        slot_end(sw->idle.head);
}

/* ---- a stream's start -------------------------------------------------- */

/* Starts the slot's next stream. Returns 0, or -1 when libcurl refused the
 * transfer (the slot is then ended). */
static int stream_begin(slot_t *s)
{
    stream_worker_t *sw = slot_sw(s);
    bench_worker_t *w = sw->pool.w;
    s->begun_ns = mono_ns();
    s->sent_ns = s->last_ns = s->decided_ns = 0;
    s->active_ns = s->begun_ns;
    s->events = 0;
    s->t.sock_err = 0;
    s->head_done = s->decided = false;
    s->abort = AB_NONE;
    sse_parser_restart(s->parser);
    bool was_idle = !sw->pending.head;
    slot_push(s, L_PENDING);
    if (curlm_add(s->t.m, &s->t.x) != CURLM_OK) {
        bench_stream_failed(w, BERR_CONNECT);
        slot_end(s);
        arm_connect_timer(sw);
        return -1;
    }
    bench_sent(w, 1, w->cfg->streams.body_len);
    if (was_idle)
        arm_connect_timer(sw);
    return 0;
}

/* ---- the stream's outcome, decided inside curl's callbacks ------------- */

/* Completed or failed: accounted now; the response's end is awaited on
 * the draining list. */
static void decide(slot_t *s, bool ok, bench_err_t kind, uint64_t now)
{
    stream_worker_t *sw = slot_sw(s);
    s->decided = true;
    s->decided_ns = now;
    if (ok)
        bench_stream_completed(sw->pool.w, s->events, now - (s->sent_ns ? s->sent_ns : s->begun_ns));
    else
        bench_stream_failed(sw->pool.w, kind);
    bool first = !sw->draining.head;
    slot_push(s, L_DRAINING);
    if (first)
        arm_drain_timer(sw);
}

static uint64_t write_now(stream_worker_t *sw)
{
    if (!sw->now)
        sw->now = mono_ns();
    return sw->now;
}

/* One event; non-zero stops the feed (the outcome is known). */
static int on_event(void *ud, const sse_event_t *ev)
{
    slot_t *s = ud;
    stream_worker_t *sw = slot_sw(s);
    bench_worker_t *w = sw->pool.w;
    const bench_config_t *cfg = w->cfg;
    if (s->decided)
        return 1;
    uint64_t now = write_now(sw);
    bench_received(w, 1, ev->data_len);
    if (ev->type_len == 5 && memcmp(ev->type, "error", 5) == 0) {
        decide(s, false, BERR_SSE_ERROR, now);
        return 1;
    }
    if (sw->end_len && ev->data_len == sw->end_len &&
        memcmp(ev->data, cfg->streams.end_data, sw->end_len) == 0) {
        decide(s, true, BERR_COUNT, now);
        return 1;
    }
    uint64_t from = s->events ? s->last_ns : (s->sent_ns ? s->sent_ns : s->begun_ns);
    bench_stream_event(w, s->events == 0, now > from ? now - from : 0);
    s->events++;
    s->last_ns = now;
    uint64_t stamp;
    if (stamp_json_u64(ev->data, ev->data_len, cfg->latency_field, &stamp) == 0) {
        uint64_t real = real_ns();
        bench_latency(w, real > stamp ? real - stamp : 0);
    }
    return 0;
}

static const sse_parser_callbacks_t parser_cbs = {.on_event = on_event};

/* ---- curl callbacks ---------------------------------------------------- */

/* Connected (or a kept connection taken): the request goes out now. */
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port)
{
    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
    slot_t *s = ud;
    s->sent_ns = mono_ns();
    return CURL_PREREQFUNC_OK;
}

/* Each header line; the blank one ends a head. Interim (1xx) heads are
 * skipped, the final one decides. Trailers come after head_done. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    slot_t *s = ud;
    size_t len = size * n;
    long code;
    char *ct;
    bench_head_t h = bench_curl_head_line(s->t.x.easy, p, len, &s->head_done, &code, &ct);
    if (h == BENCH_HEAD_MORE)
        return len;
    if (h == BENCH_HEAD_BAD) {
        s->abort = AB_STATUS;
        return 0; /* != len: curl ends the transfer (CURLE_WRITE_ERROR) */
    }
    stream_worker_t *sw = slot_sw(s);
    bool first_pending = sw->pending.head == s, first_open = !sw->open.head;
    s->active_ns = mono_ns();
    slot_push(s, L_OPEN);
    if (first_pending)
        arm_connect_timer(sw);
    if (first_open)
        arm_idle_timer(sw);
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    slot_t *s = ud;
    stream_worker_t *sw = slot_sw(s);
    size_t len = size * n;
    if (!s->head_done) { /* a body without a validated head: cannot happen */
        s->abort = AB_STATUS;
        return CURL_WRITEFUNC_ERROR;
    }
    if (s->decided)
        return len; /* the rest of a response whose outcome is known */
    sw->now = 0;
    s->active_ns = write_now(sw);
    if (sw->open.tail != s) { /* the open list stays in order of activity */
        bool was_head = sw->open.head == s;
        slot_push(s, L_OPEN);
        if (was_head)
            arm_idle_timer(sw);
    }
    if (sse_parser_feed(s->parser, p, len, NULL) == SSE_ERR_TOO_BIG) {
        s->abort = AB_TOO_BIG;
        return CURL_WRITEFUNC_ERROR;
    }
    if (s->decided && !sw->open.head)
        arm_idle_timer(sw);
    return len;
}

/* ---- a stream's end, outside curl's callbacks -------------------------- */

/* The kind of a stream that ended without an outcome yet; completed (true)
 * only for a clean end with no end marker. */
static bool undecided_kind(const slot_t *s, CURLcode r, bench_err_t *kind)
{
    if (s->abort == AB_STATUS)
        *kind = BERR_HTTP_STATUS;
    else if (s->abort == AB_TOO_BIG)
        *kind = BERR_TOO_BIG;
    else if (!s->head_done) {
        *kind = bench_curl_connect_kind(s->t.x.easy, r, s->t.sock_err);
        if (*kind == BERR_TLS)
            bench_curl_tls_example(slot_sw(s)->pool.w, s->t.x.easy, r);
    }
    else if (r != CURLE_OK)
        *kind = bench_curl_lost_kind(r);
    else if (slot_sw(s)->end_len)
        *kind = BERR_INCOMPLETE;
    else
        return true;
    return false;
}

static void on_done(curlm_xfer_t *x, CURLcode r)
{
    slot_t *s = x->ud;
    if (!s->decided) {
        bench_err_t kind = BERR_COUNT;
        uint64_t now = mono_ns();
        if (undecided_kind(s, r, &kind))
            bench_stream_completed(slot_sw(s)->pool.w, s->events,
                                   now - (s->sent_ns ? s->sent_ns : s->begun_ns));
        else
            bench_stream_failed(slot_sw(s)->pool.w, kind);
    }
    stream_finish(s);
}

/* The transfer is over (or given up): the connection it opened counted,
 * the transfer removed, the slot on to what is next. */
static void stream_finish(slot_t *s)
{
    stream_worker_t *sw = slot_sw(s);
    uint8_t was = s->list;
    bool head = queue_of(sw, was) && queue_of(sw, was)->head == s;
    long conns = 0;
    curl_off_t connect_us = 0, tls_us = 0;
    curl_easy_getinfo(s->t.x.easy, CURLINFO_NUM_CONNECTS, &conns);
    curl_easy_getinfo(s->t.x.easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(s->t.x.easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    if (conns > 0 && connect_us > 0)
        bench_stream_connection(sw->pool.w,
                                (uint64_t)(tls_us > connect_us ? tls_us : connect_us) * 1000);
    curlm_remove(s->t.m, &s->t.x);
    slot_unlink(s);
    if (head && was == L_PENDING)
        arm_connect_timer(sw);
    else if (head && was == L_OPEN)
        arm_idle_timer(sw);
    else if (head && was == L_DRAINING)
        arm_drain_timer(sw);
    slot_after(s);
}

/* A slot whose stream is over: the next stream (closed loop, while the
 * budget lasts), idle (open loop), or its end. */
static void slot_after(slot_t *s)
{
    stream_worker_t *sw = slot_sw(s);
    bench_worker_t *w = sw->pool.w;
    if (w->closing || bench_phase(w) >= BENCH_CLOSE) {
        slot_end(s);
        return;
    }
    if (sw->open_loop) {
        slot_push(s, L_IDLE);
        check_open_loop_done(sw);
        return;
    }
    if (sw->budget == 0) {
        slot_end(s);
        return;
    }
    if (sw->budget != UINT64_MAX)
        sw->budget--;
    stream_begin(s);
}

/* ---- timers ------------------------------------------------------------- */

/* --connect-timeout covers everything up to a validated head. */
static void on_connect_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    stream_worker_t *sw = ud;
    uint64_t now = mono_ns();
    slot_t *s;
    while ((s = sw->pending.head) && now - s->begun_ns >= sw->connect_timeout_ns) {
        bench_stream_failed(sw->pool.w, BERR_CONNECT_TIMEOUT);
        stream_finish(s);
    }
    arm_connect_timer(sw);
}

static void on_idle_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    stream_worker_t *sw = ud;
    uint64_t now = mono_ns();
    slot_t *s;
    while ((s = sw->open.head) && now - s->active_ns >= sw->idle_timeout_ns) {
        bench_stream_failed(sw->pool.w, BERR_IDLE_TIMEOUT);
        stream_finish(s);
    }
    arm_idle_timer(sw);
}

/* The response went on past its end event: the connection is closed. */
static void on_drain_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    stream_worker_t *sw = ud;
    uint64_t now = mono_ns();
    slot_t *s;
    while ((s = sw->draining.head) && now - s->decided_ns >= END_GRACE_NS)
        stream_finish(s);
    arm_drain_timer(sw);
}

/* Open loop: what is due starts on an idle slot, or is dropped. */
static void on_arrival_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    stream_worker_t *sw = ud;
    bench_worker_t *w = sw->pool.w;
    if (w->closing)
        return;
    uint64_t first;
    uint64_t n = rate_take(&sw->arrivals, loop_now(l), ARRIVAL_BATCH, &first);
    for (uint64_t i = 0; i < n && !w->closing; i++) {
        if (sw->idle.head)
            stream_begin(sw->idle.head);
        else
            bench_stream_dropped(w);
    }
    if (!rate_finished(&sw->arrivals)) {
        loop_timer_arm_at(l, &sw->arrival_timer, rate_next_due(&sw->arrivals));
    } else if (sw->arrivals_total && sw->arrivals_total <= sw->arrivals_cap) {
        sw->arrivals_over = true; /* --requests' share, not the duration's */
        check_open_loop_done(sw);
    }
}

/* ---- the driver -------------------------------------------------------- */

/* This worker's share of a total that goes with the connections (its own
 * are local k = 0.. of ids id, id + n, ...: counted as a range, the shares
 * of the workers add up exactly). */
static uint64_t worker_share(const bench_worker_t *w, uint64_t total)
{
    const bench_config_t *cfg = w->cfg;
    uint64_t c = cfg->connections, n = cfg->threads ? cfg->threads : 1;
    uint64_t before = n ? w->id * (c / n) + (w->id < c % n ? w->id : c % n) : 0;
    return bench_share(total, before, w->nconns, c);
}

static void stream_free(bench_worker_t *w);

/* The headers every request of this worker sends: the pool's, and an
 * empty Expect (no 100-continue wait before a body's first byte). */
static void add_expect(stream_worker_t *sw)
{
    const bench_config_t *cfg = sw->pool.w->cfg;
    if (cfg->streams.body && !(cfg->co && conn_settings_has_header(cfg->co, "Expect")))
        sw->pool.headers = curl_slist_append(sw->pool.headers, "Expect:");
}

static int stream_init(bench_worker_t *w, char *err, size_t errlen)
{
    const bench_config_t *cfg = w->cfg;
    stream_worker_t *sw = xcalloc(1, sizeof(*sw));
    w->drv = sw;
    loop_timer_init(&sw->connect_timer, on_connect_timer, sw);
    loop_timer_init(&sw->idle_timer, on_idle_timer, sw);
    loop_timer_init(&sw->drain_timer, on_drain_timer, sw);
    loop_timer_init(&sw->arrival_timer, on_arrival_timer, sw);
    sw->connect_timeout_ns = cfg->co ? cfg->co->connect_timeout_ms * 1000000u : 0;
    sw->idle_timeout_ns = cfg->streams.idle_timeout_ms * 1000000u;
    sw->end_len = cfg->streams.end_data ? strlen(cfg->streams.end_data) : 0;
    uint64_t share = cfg->streams.requests ? worker_share(w, cfg->streams.requests) : 0;
    sw->open_loop = cfg->streams.arrival_rate > 0;
    sw->budget = cfg->streams.requests ? share : UINT64_MAX;
    if (sw->open_loop) {
        sw->budget = UINT64_MAX;
        sw->arrivals_total = cfg->streams.requests ? share : 0;
        sw->arrivals_cap = worker_share(w, cfg->streams.arrivals);
        sw->arrival_rate = cfg->connections ? cfg->streams.arrival_rate * (double)w->nconns /
                                                  (double)cfg->connections
                                            : 0;
        if (sw->arrival_rate < RATE_MIN)
            sw->arrival_rate = RATE_MIN;
    }
    if (bench_curl_pool_init(&sw->pool, w, err, errlen) < 0)
        goto fail;
    add_expect(sw);
    return 0;
fail:
    stream_free(w);
    return -1;
}

static CURL *slot_easy(slot_t *s, stream_worker_t *sw, uint64_t index)
{
    const bench_config_t *cfg = sw->pool.w->cfg;
    CURL *e = bench_curl_xfer_init(&s->t, &sw->pool, index, on_done, on_header, on_write);
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, s);
    if (cfg->streams.body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)cfg->streams.body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, cfg->streams.body);
    }
    if (cfg->streams.method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, cfg->streams.method);
    return e;
}

/* The open loop's schedule starts once every slot of the worker is there. */
static void start_arrivals(stream_worker_t *sw)
{
    uint64_t now = mono_ns();
    if (sw->pool.w->cfg->streams.requests && !sw->arrivals_total) { /* its share is none */
        sw->arrivals_over = true;
        check_open_loop_done(sw);
        return;
    }
    uint64_t total = sw->arrivals_cap;
    if (sw->arrivals_total && sw->arrivals_total < total)
        total = sw->arrivals_total;
    if (total == 0) /* none due before the end in its share: idle until the close */
        return;
    rate_init_ramp(&sw->arrivals, sw->arrival_rate, now, total); /* UINT64_MAX: unbounded */
    loop_timer_arm_at(sw->pool.w->loop, &sw->arrival_timer, now);
}

static void stream_start(bench_worker_t *w, uint64_t index)
{
    stream_worker_t *sw = w->drv;
    slot_t *s = xcalloc(1, sizeof(*s));
    CURL *e = slot_easy(s, sw, index);
    s->parser = sse_parser_new(w->cfg->max_message, &parser_cbs, s);
    bench_slot_up(w);
    if (!e) {
        bench_stream_failed(w, BERR_CONNECT);
        slot_end(s);
        return;
    }
    if (sw->open_loop) {
        slot_push(s, L_IDLE);
        if (sw->pool.started == w->nconns)
            start_arrivals(sw);
        return;
    }
    slot_after(s);
}

static void end_queue(slot_queue_t *q, bool unfinished, bench_worker_t *w)
{
    slot_t *s;
    while ((s = q->head)) {
        if (unfinished)
            bench_stream_unfinished(w);
        slot_end(s);
    }
}

/* Streams still running are cut short (unfinished); the slots end. */
static void stream_close_all(bench_worker_t *w)
{
    stream_worker_t *sw = w->drv;
    if (!sw)
        return;
    loop_timer_stop(w->loop, &sw->connect_timer);
    loop_timer_stop(w->loop, &sw->idle_timer);
    loop_timer_stop(w->loop, &sw->drain_timer);
    loop_timer_stop(w->loop, &sw->arrival_timer);
    end_queue(&sw->pending, true, w);
    end_queue(&sw->open, true, w);
    end_queue(&sw->draining, false, w);
    end_queue(&sw->idle, false, w);
}

static void stream_abort_all(bench_worker_t *w)
{
    stream_close_all(w);
}

static void stream_free(bench_worker_t *w)
{
    stream_worker_t *sw = w->drv;
    if (!sw)
        return;
    stream_close_all(w);
    bench_curl_pool_free(&sw->pool);
    free(sw);
    w->drv = NULL;
}

const bench_driver_t bench_stream_driver = {
    .init = stream_init,
    .start = stream_start,
    .close_all = stream_close_all,
    .abort_all = stream_abort_all,
    .free = stream_free,
};
