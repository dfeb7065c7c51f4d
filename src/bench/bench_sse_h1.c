/* bench_sse_h1: bench's own SSE subscriber driver — HTTP/1.1 spoken
 * directly over a non-blocking socket (TLS through transport), the way
 * bench_ws.c holds WebSocket connections, instead of a libcurl easy handle
 * per stream (bench_sse.c, ~13 KiB each; `--sse-driver curl`).
 *
 * Per stream there is one struct h1conn (see its size assertion), the
 * sse_parser once established (its buffers grow with the largest event and
 * hold a line only while it spans reads), and, only while needed, a
 * response head that came in pieces and request bytes the socket did not
 * take at once. Reads land in one buffer per worker; the request is built
 * once per worker. The HTTP framing is http_response's (proto, fuzzed).
 *
 * Life of a stream: CONNECTING (non-blocking connect) -> [TLS] -> HEAD
 * (request sent; the response head awaited: 200 with Content-Type
 * text/event-stream, else BERR_HTTP_STATUS; interim 1xx heads skipped) --
 * all under --connect-timeout -- -> OPEN (the body, chunked, Content-Length
 * or until close, decoded into the SSE parser). It ends exactly once:
 * bench_failed before OPEN, bench_lost from OPEN on its own (the server
 * ending the response or the connection: BERR_CLOSED; a reset: BERR_RESET;
 * an event over --max-message: BERR_TOO_BIG; bad framing: BERR_PROTOCOL),
 * bench_ended when we closed it. Like the libcurl driver it does not
 * reconnect (a retry: field is parsed and has no effect). */
#include "bench_worker.h"
#include "bench_sock.h"
#include "http_request.h"
#include "transport.h"
#include "http_response.h"
#include "sse_parser.h"
#include "buf.h"
#include "clock.h"
#include "text.h"
#include "stamp.h"

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE (64u << 10) /* one read's worth, per worker */

enum { C_CONNECTING = BSOCK_CONNECTING, C_TLS = BSOCK_TLS, C_HEAD = BSOCK_READY, C_OPEN };

struct h1w;

struct h1conn {
    bench_sock_t s;             /* the socket, its list, output and timer */
    bench_lbuf_t *head;         /* owned; a response head arriving in pieces (bounded by HTTP_RESPONSE_MAX_HEAD_DEFAULT) */
    sse_parser_t *parser;       /* owned; from OPEN on */
    http_body_t body;
};

_Static_assert(offsetof(struct h1conn, s) == 0, "bench_sock: the head comes first");
_Static_assert(sizeof(struct h1conn) <= 120, "keep the per-stream state small");

struct h1w {
    bench_worker_t *w;
    const bench_config_t *cfg;
    char *rbuf;                 /* owned; RBUF_SIZE */
    buf_t req;                  /* owned; the request, built once */
    uint64_t now_real;          /* real_ns for the current read, 0 = not read yet */
    bench_sock_t *head;         /* every stream not yet ended */
};

/* ---- small pieces ---- */

static struct h1w *conn_hw(const struct h1conn *c)
{
    return c->s.w->drv;
}

/* ---- the request ---- */

static bool user_has(const bench_config_t *cfg, const char *name)
{
    return cfg->co && conn_settings_has_header(cfg->co, name);
}

/* What libcurl sends for the same options: -H headers (and --bearer's, in
 * order), -u (or the URL's credentials) as Basic, Accept and Cache-Control unless given. */
static void build_request(const bench_config_t *cfg, buf_t *b)
{
    buf_printf(b, "GET %s HTTP/1.1\r\n", cfg->target && cfg->target[0] ? cfg->target : "/");
    if (!user_has(cfg, "Host"))
        buf_printf(b, "Host: %s\r\n", cfg->host_header);
    if (cfg->userpwd && !user_has(cfg, "Authorization")) {
        buf_puts(b, "Authorization: Basic ");
        base64_append(b, cfg->userpwd, strlen(cfg->userpwd));
        buf_puts(b, "\r\n");
    }
    if (!user_has(cfg, "User-Agent"))
        buf_puts(b, "User-Agent: evcat/" EVCAT_VERSION "\r\n");
    if (!user_has(cfg, "Accept"))
        buf_puts(b, "Accept: text/event-stream\r\n");
    if (!user_has(cfg, "Cache-Control"))
        buf_puts(b, "Cache-Control: no-cache\r\n");
    for (const struct curl_slist *h = cfg->co ? cfg->co->headers : NULL; h; h = h->next)
        http_put_user_header(b, h->data);
    buf_puts(b, "\r\n");
}

/* ---- the end of a stream (exactly once) ---- */

static void conn_free(struct h1conn *c)
{
    bsock_release(&c->s, &conn_hw(c)->head);
    free(c->head);
    sse_parser_free(c->parser);
    free(c);
}

/* Ends c as its state implies: an attempt failed, or a stream was lost. */
static void conn_error(struct h1conn *c, bench_err_t kind)
{
    bench_worker_t *w = c->s.w;
    uint8_t st = c->s.state;
    conn_free(c);
    if (st < C_OPEN)
        bench_failed(w, kind);
    else
        bench_lost(w, kind);
}

static void conn_end(struct h1conn *c)
{
    bench_worker_t *w = c->s.w;
    conn_free(c);
    bench_ended(w);
}

/* ---- I/O ---- */

static bench_err_t io_error_kind(const struct h1conn *c, int err)
{
    return bsock_error_kind(&c->s, err, C_HEAD);
}

/* Writes what is queued. Returns 0 or -1 (c is gone). */
static int flush(struct h1conn *c)
{
    if (bsock_flush(&c->s) < 0) {
        conn_error(c, io_error_kind(c, errno));
        return -1;
    }
    return 0;
}

/* ---- events ---- */

static int on_event(void *ud, const sse_event_t *ev)
{
    struct h1conn *c = ud;
    bench_sub_message(c->s.w, ev->data, ev->data_len, &conn_hw(c)->now_real);
    return 0;
}

static const sse_parser_callbacks_t parser_cbs = {.on_event = on_event};

/* Decoded body bytes into the SSE parser; stops (1) only at an event or
 * line over --max-message. */
static int on_body(void *ud, const char *p, size_t n)
{
    struct h1conn *c = ud;
    return sse_parser_feed(c->parser, p, n, NULL) == SSE_ERR_TOO_BIG;
}

/* Body bytes of an open stream. Returns 0 or -1 (c is gone). */
static int body_bytes(struct h1conn *c, const char *p, size_t n)
{
    size_t used;
    int rc = http_body_feed(&c->body, p, n, &used, on_body, c);
    if (rc == HTTP_RESP_AGAIN)
        return 0;
    if (rc == HTTP_RESP_STOP)
        conn_error(c, BERR_TOO_BIG); /* on_body stops for nothing else */
    else if (rc == HTTP_RESP_DONE)
        conn_error(c, BERR_CLOSED); /* the server ended the response */
    else
        conn_error(c, BERR_PROTOCOL);
    return -1;
}

/* ---- the response head ---- */

static int established(struct h1conn *c, const http_response_head_t *h)
{
    struct h1w *hw = conn_hw(c);
    loop_timer_stop(c->s.w->loop, &c->s.timer);
    c->parser = sse_parser_new(hw->cfg->max_message, &parser_cbs, c);
    http_body_init(&c->body, h);
    c->s.state = C_OPEN;
    bench_connected(hw->w, mono_ns() - c->s.start_ns);
    return 0;
}

/* Bytes while the head is awaited (and maybe body bytes after it).
 * Returns 0 or -1 (c is gone). */
static int head_bytes(struct h1conn *c, const char *p, size_t n)
{
    if (c->head) {
        bench_lbuf_append(&c->head, p, n);
        p = (const char *)c->head->data;
        n = c->head->len;
    }
    for (;;) {
        http_response_head_t h;
        int rc = http_response_head_parse(p, n, HTTP_RESPONSE_MAX_HEAD_DEFAULT, &h);
        if (rc == HTTP_RESP_AGAIN) {
            if (!c->head)
                bench_lbuf_append(&c->head, p, n);
            else if (p != (const char *)c->head->data) { /* after a 1xx: keep the rest only */
                memmove(c->head->data, p, n);
                c->head->len = n;
            }
            return 0;
        }
        if (rc < 0) {
            conn_error(c, BERR_PROTOCOL);
            return -1;
        }
        if (h.status >= 100 && h.status < 200 && h.status != 101) {
            p += h.head_len; /* interim: the final head follows */
            n -= h.head_len;
            if (n)
                continue;
            free(c->head);
            c->head = NULL;
            return 0;
        }
        if (h.status != 200 || !sse_is_event_stream(h.content_type)) {
            bench_status_example(c->s.w, h.status, h.content_type);
            conn_error(c, BERR_HTTP_STATUS);
            return -1;
        }
        established(c, &h);
        int r = 0;
        bench_lbuf_t *held = c->head; /* p may point into it */
        c->head = NULL;
        r = body_bytes(c, p + h.head_len, n - h.head_len); /* none: an empty body ends */
        free(held);
        return r;
    }
}

/* Plain TCP, right after connect(), not yet watched (bsock_send_early).
 * Returns 1 when the request went, 0 when the socket is still connecting
 * (the request is made once it is writable), -1 when the attempt failed
 * (c is gone). */
static int early_request(struct h1conn *c)
{
    struct h1w *hw = conn_hw(c);
    int sent = bsock_send_early(&c->s, hw->req.p, hw->req.len);
    if (sent < 0) {
        conn_error(c, bench_errno_kind(errno)); /* still C_CONNECTING */
        return -1;
    }
    if (sent > 0)
        c->s.state = C_HEAD;
    return sent;
}

static int start_request(struct h1conn *c)
{
    struct h1w *hw = conn_hw(c);
    c->s.state = C_HEAD;
    if (bsock_send(&c->s, hw->req.p, hw->req.len) < 0) {
        conn_error(c, io_error_kind(c, errno));
        return -1;
    }
    bsock_update_interest(&c->s);
    return 0;
}

/* The connect's outcome, then TLS; the request once ready. Returns 0 or
 * -1 (c is gone). */
static int connect_step(struct h1conn *c)
{
    bench_err_t kind;
    int rc = bsock_connect_step(&c->s, &kind);
    if (rc > 0)
        return start_request(c);
    if (rc < 0) {
        conn_error(c, kind);
        return -1;
    }
    return 0;
}

/* ---- loop callbacks ---- */

/* Reads what the socket has. Returns 0 or -1 (c is gone). */
static int do_read(struct h1conn *c)
{
    struct h1w *hw = conn_hw(c);
    for (;;) {
        ssize_t r = bsock_read(&c->s, hw->rbuf, RBUF_SIZE);
        if (r > 0) {
            hw->now_real = 0;
            int rc = c->s.state == C_HEAD ? head_bytes(c, hw->rbuf, (size_t)r)
                                        : body_bytes(c, hw->rbuf, (size_t)r);
            if (rc < 0)
                return -1;
            if (!c->s.tls && (size_t)r < RBUF_SIZE)
                break;
            continue;
        }
        if (r == 0) {
            /* The end of a body read until close, an early end of any
             * other, or no response at all: the server closed. */
            conn_error(c, BERR_CLOSED);
            return -1;
        }
        if (r == NETIO_AGAIN)
            break;
        conn_error(c, io_error_kind(c, errno));
        return -1;
    }
    if (c->s.tls)
        bsock_update_interest(&c->s);
    return 0;
}

static void on_io(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    struct h1conn *c = ud;
    if (c->s.state < C_HEAD) {
        connect_step(c);
        return;
    }
    unsigned can = bsock_can(&c->s, events);
    if ((can & BSOCK_CAN_FLUSH) && flush(c) < 0)
        return;
    if (can & BSOCK_CAN_READ)
        do_read(c);
}

static void on_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    conn_error(ud, BERR_CONNECT_TIMEOUT);
}

/* ---- the driver ---- */

static int h1_init(bench_worker_t *w, char *err, size_t errlen)
{
    const bench_config_t *cfg = w->cfg;
    if (cfg->kind != BENCH_SSE || cfg->streams.on) {
        snprintf(err, errlen, "the HTTP/1.1 SSE driver runs SSE subscribers only");
        return -1;
    }
    if (cfg->tls && !cfg->ssl_ctx) {
        snprintf(err, errlen, "https needs a TLS context");
        return -1;
    }
    struct h1w *hw = xcalloc(1, sizeof(*hw));
    hw->w = w;
    hw->cfg = cfg;
    hw->rbuf = xmalloc(RBUF_SIZE);
    buf_init(&hw->req);
    build_request(cfg, &hw->req);
    w->drv = hw;
    return 0;
}

static void h1_start(bench_worker_t *w, uint64_t index)
{
    struct h1w *hw = w->drv;
    const bench_config_t *cfg = hw->cfg;
    struct h1conn *c = bsock_open(w, &hw->head, index, sizeof(*c), on_timer);
    if (!c)
        return;
    if (!cfg->tls && early_request(c) < 0)
        return;
    int rc = bsock_watch(&c->s, on_io, c);
    if (rc < 0)
        conn_error(c, bench_errno_kind(-rc));
}

/* SSE has nothing to say on the way out: ending a stream is closing its
 * connection, at once, attempts still connecting included. */
static void h1_close_all(bench_worker_t *w)
{
    struct h1w *hw = w->drv;
    while (hw && hw->head)
        conn_end((struct h1conn *)hw->head);
}

static void h1_free(bench_worker_t *w)
{
    struct h1w *hw = w->drv;
    if (!hw)
        return;
    while (hw->head)
        conn_free((struct h1conn *)hw->head); /* none should be left: no accounting */
    free(hw->rbuf);
    buf_free(&hw->req);
    free(hw);
    w->drv = NULL;
}

const bench_driver_t bench_sse_h1_driver = {
    .init = h1_init,
    .start = h1_start,
    .close_all = h1_close_all,
    .abort_all = h1_close_all,
    .free = h1_free,
};
