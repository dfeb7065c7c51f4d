/* bench_ws: the WebSocket driver of evcat bench (echo and subscribe).
 *
 * Built for many connections per worker at a small, predictable cost:
 *   - memory: one struct wsconn per connection (see its comment for the
 *     size), everything else allocated only while needed — the handshake's
 *     key and a response head that comes in pieces, unsent output while the
 *     socket is full, a message only when it spans reads or fragments, a
 *     control frame only when it is split. Reads land in one buffer per
 *     worker; frames are built in one scratch buffer per worker. Framing is
 *     ws_frame's (a few dozen bytes of decoder state), not wslay's ~5 KiB.
 *   - CPU: plain TCP uses recv/send directly (transport only for TLS, allocated
 *     then); one read per readiness unless it filled the buffer (TLS: until
 *     it would block, since OpenSSL may hold decrypted bytes epoll cannot
 *     see); the echo messages due at one timer expiry go out in one send;
 *     no allocation per message on the common path.
 *
 * Life of a connection, one state at a time, one timer re-armed per state:
 *   CONNECTING (non-blocking connect) -> [TLS] -> HANDSHAKE (request sent,
 *   101 awaited) -- all under --connect-timeout -- -> OPEN (echo: the timer
 *   paces messages) -> [CLOSING: our close 1000 sent, the server's awaited].
 * It ends exactly once: bench_failed before OPEN, bench_lost from OPEN on
 * its own, bench_ended when we closed it (close_all/abort_all).
 *
 * Echo: message k of a connection is intended for rate_due(k) rounded up
 * to the next grain boundary (open loop on a grid of one message interval,
 * 1/rate, within 1-5 ms: bws_grain_for_rate, bws_send_grain; every
 * connection due within a grain goes out in the same wake-up, so a worker
 * wakes once a grain to send, however many connections it has);
 * its payload starts with the stamp (connection index, k, intended time)
 * and latency is measured from the intended time when the echo arrives, so
 * a stall delays every message it holds back. While unsent output waits
 * for the socket, no new message is generated; the messages that become
 * due meanwhile go out once it drains, each with its own intended time.
 * Only the first STAMP_LEN payload bytes of an echo are kept. An echo
 * that does not carry one of this connection's stamps counts as received,
 * without a latency sample (a server may send other messages too).
 *
 * Subscribe: each text or binary message counts as received; its JSON's
 * latency field (UNIX ns) gives the latency against our real-time clock
 * (clock differences below zero count as 0); without the field the message
 * is counted as a BERR_NO_TIMESTAMP error.
 *
 * Replay (--replay FILE): each connection plays the recorded conversation
 * from the shared script; its cursor takes the place of the echo schedule,
 * and bench_ws_replay.c builds the frames that are due (paced by the same
 * timer, held back while output waits, like echo) and judges each incoming
 * message.
 *
 * permessage-deflate (--compress, --compress-takeover): bench_ws_deflate.h.
 * A compressed message reaches echo, subscribe and replay inflated; replay
 * sends its frames uncompressed (RFC 7692 allows either). Every byte read
 * and written is counted as wire bytes (handshake and frame headers
 * included, before TLS), the payload as before. */
#include "bench_worker.h"
#include "bench_sock.h"
#include "bench_ws_replay.h"
#include "transport.h"
#include "buf.h"
#include "clock.h"
#include "rate.h"
#include "ws_handshake.h"
#include "ws_frame.h"
#include "bench_ws_deflate.h"
#include "stamp.h"

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE   (64u << 10) /* one read's worth, per worker */
#define SCRATCH_MIN (64u << 10) /* frames built for one write, per worker */
/* Pongs are skipped while this much output already waits (a ping flood
 * against a full socket must not grow memory; RFC 6455 5.5.3 lets us answer
 * only the latest ping). */
#define OUT_CONTROL_BOUND 4096

enum { C_CONNECTING = BSOCK_CONNECTING, C_TLS = BSOCK_TLS, C_HANDSHAKE = BSOCK_READY, C_OPEN,
       C_CLOSING };

/* The handshake in flight. */
struct hs {
    char key[WS_KEY_LEN + 1]; /* checked against Sec-WebSocket-Accept */
    buf_t resp;               /* the response head, when it comes in pieces */
};

struct wsw;

/* One connection. Kept small (232 bytes on x86-64, at most 256): 19,000
 * of them are a few MiB. */
struct wsconn {
    bench_sock_t s;             /* the socket, its list, output and timer (connect
                                 * timeout, then echo pacing) */
    struct hs *hs;              /* owned; only during the handshake */
    bench_lbuf_t *msg;          /* owned; a message spanning reads (subscribe, compressed) */
    bench_lbuf_t *ctl;          /* owned; a control frame spanning reads */
    ws_pmd_t *pmd;              /* owned; permessage-deflate, when agreed */
    union {
        rate_t rate;            /* echo: the open-loop schedule */
        replay_cursor_t rp;     /* replay: the connection's place in the script */
    };
    wsf_decoder_t dec;
    uint32_t index;             /* global connection index (low 32 bits, as in stamps) */
    uint8_t stamp_len;          /* echo: bytes of stamp collected for this message */
    bool close_sent;
};

/* A worker's driver state. */
struct wsw {
    bench_worker_t *w;
    const bench_config_t *cfg;
    uint8_t *rbuf;         /* owned; RBUF_SIZE */
    uint8_t *scratch;      /* owned; scratch_cap bytes */
    size_t scratch_cap;
    uint8_t *tmpl;         /* owned; echo payload: stamp space, then filler */
    uint64_t rng;          /* mask keys */
    bool echo_sends;       /* echo with a usable --message-rate */
    uint64_t grain_ns;     /* echo: the pacing grid (bws_grain_for_rate) */
    bool replay;           /* BENCH_WS_REPLAY */
    buf_t rtmp;            /* owned; replay: templates expanded */
    bench_sock_t *head;    /* every connection not yet ended */
    ws_pmd_pool_t *pmd;    /* owned; the zlib contexts the connections share */
    buf_t zbuf;            /* owned; a message compressed or inflated */
};

_Static_assert(offsetof(struct wsconn, s) == 0, "bench_sock: the head comes first");
_Static_assert(sizeof(struct wsconn) <= 256, "keep the per-connection state small");

/* ---- small pieces ---- */

static void scratch_reserve(struct wsw *ww, size_t n)
{
    if (n > ww->scratch_cap) {
        free(ww->scratch);
        ww->scratch = xmalloc(n);
        ww->scratch_cap = n;
    }
}

static struct wsw *conn_ww(const struct wsconn *c)
{
    return c->s.w->drv;
}

static loop_t *conn_loop(const struct wsconn *c)
{
    return c->s.w->loop;
}

/* ---- the end of a connection (exactly once) ---- */

static void conn_free(struct wsconn *c)
{
    bsock_release(&c->s, &conn_ww(c)->head);
    if (c->hs) {
        buf_free(&c->hs->resp);
        free(c->hs);
    }
    free(c->msg);
    free(c->ctl);
    ws_pmd_free(c->pmd);
    free(c);
}

/* Ends c with the outcome its state implies: an attempt failed, an
 * established connection was lost, or one we were closing ended. */
static void conn_error(struct wsconn *c, bench_err_t kind)
{
    bench_worker_t *w = c->s.w;
    uint8_t st = c->s.state;
    conn_free(c);
    if (st < C_OPEN)
        bench_failed(w, kind);
    else if (st == C_CLOSING)
        bench_ended(w);
    else
        bench_lost(w, kind);
}

static void conn_end(struct wsconn *c)
{
    bench_worker_t *w = c->s.w;
    conn_free(c);
    bench_ended(w);
}

/* ---- I/O ---- */

static void update_interest(struct wsconn *c)
{
    bsock_update_interest(&c->s);
}

/* The error kind of a failed read or write. */
static bench_err_t io_error_kind(const struct wsconn *c, int err)
{
    return bsock_error_kind(&c->s, err, C_OPEN);
}

/* Writes p[0..n) after whatever is queued; what the socket does not take
 * now is queued. Returns 0, or -1 when the connection ended (c is gone). */
static int conn_write(struct wsconn *c, const void *p, size_t n)
{
    if (bsock_send(&c->s, p, n) < 0) {
        conn_error(c, io_error_kind(c, errno));
        return -1;
    }
    return 0;
}

/* Before closing the socket: one try at what is queued (a close frame
 * behind other output), errors ignored — the connection ends anyway. */
static void flush_last(struct wsconn *c)
{
    if (c->s.out)
        (void)bsock_write(&c->s, c->s.out->data + c->s.out->off, c->s.out->len - c->s.out->off);
}

/* A control frame (pong, close) built in the scratch buffer. */
static int send_control(struct wsconn *c, unsigned op, const uint8_t *p, size_t n)
{
    struct wsw *ww = conn_ww(c);
    if (op == WSF_PONG && c->s.out && c->s.out->len - c->s.out->off > OUT_CONTROL_BOUND)
        return 0;
    size_t k = wsf_frame(ww->scratch, op, p, n, wsf_rand(&ww->rng));
    return conn_write(c, ww->scratch, k);
}

static int send_close(struct wsconn *c, uint16_t code, const char *reason)
{
    struct wsw *ww = conn_ww(c);
    c->close_sent = true;
    size_t k = wsf_close_frame(ww->scratch, code, reason, wsf_rand(&ww->rng));
    return conn_write(c, ww->scratch, k);
}

/* ---- deflate (bench_ws_deflate.h) ---- */

/* A data frame for p[0..n) at out (room: WSF_MAX_HEADER +
 * ws_pmd_deflate_bound(n)), compressed when the connection agreed on it. */
static size_t put_message(struct wsconn *c, uint8_t *out, unsigned op, const uint8_t *p, size_t n)
{
    struct wsw *ww = conn_ww(c);
    return bwz_frame(c->pmd, &ww->zbuf, wsf_rand(&ww->rng), out, op, p, n);
}

/* A piece of a compressed message: gathered while it spans reads or
 * frames (bounded by the decoder), then inflated into the worker's buffer,
 * *ev becoming the whole message. Returns 1 (*ev is it), 0 (more to come)
 * or -1 (c is gone). */
static int inflate_piece(struct wsconn *c, wsf_event_t *ev)
{
    struct wsw *ww = conn_ww(c);
    const uint8_t *p = ev->data;
    size_t n = ev->len;
    if (!(ev->frame_start && ev->message_end && !c->msg)) {
        if (n)
            bench_lbuf_append(&c->msg, p, n);
        if (!ev->message_end)
            return 0;
        p = c->msg ? c->msg->data : NULL;
        n = c->msg ? c->msg->len : 0;
    }
    const char *why = NULL;
    uint16_t code = bwz_inflate(c->pmd, ev->msg_opcode, p, n, ww->cfg->max_message, &ww->zbuf, &why);
    bench_lbuf_free(&c->msg);
    if (code) {
        if (!c->close_sent && send_close(c, code, why) < 0)
            return -1;
        flush_last(c);
        conn_error(c, code == 1009 ? BERR_TOO_BIG : BERR_PROTOCOL);
        return -1;
    }
    ev->compressed = false;
    ev->frame_start = ev->frame_end = ev->message_end = true;
    ev->data = (const uint8_t *)ww->zbuf.p;
    ev->len = ev->message_len = ww->zbuf.len;
    return 1;
}

/* ---- replay ---- */

/* The conversation's messages that are due, in one write; then the timer
 * for the next. Returns 0 or -1 (c is gone). */
static int replay_due(struct wsconn *c)
{
    struct wsw *ww = conn_ww(c);
    uint64_t next;
    size_t used = bws_replay_frames(ww->w, &c->rp, c->index, mono_ns(), ww->scratch,
                                    ww->scratch_cap, &ww->rng, &ww->rtmp, &next);
    if (used && conn_write(c, ww->scratch, used) < 0)
        return -1;
    if (!c->s.out && next != UINT64_MAX)
        loop_timer_arm_at(conn_loop(c), &c->s.timer, next);
    return 0;
}

/* A piece of an incoming data message: counted when it ends, assembled
 * first (like subscribe's) when --expect compares it. */
static void replay_piece(struct wsconn *c, const wsf_event_t *ev)
{
    struct wsw *ww = conn_ww(c);
    if (!bws_replay_wants_payload(ww->w)) {
        if (ev->message_end)
            bws_replay_message(ww->w, &c->rp, c->index, ev->msg_opcode, NULL, ev->message_len,
                               &ww->rtmp);
        return;
    }
    if (ev->frame_start && ev->message_end && !c->msg) {
        bws_replay_message(ww->w, &c->rp, c->index, ev->msg_opcode, ev->data, ev->len, &ww->rtmp);
        return;
    }
    if (ev->len)
        bench_lbuf_append(&c->msg, ev->data, ev->len); /* bounded: the decoder's 1009 */
    if (!ev->message_end)
        return;
    bws_replay_message(ww->w, &c->rp, c->index, ev->msg_opcode, c->msg ? c->msg->data : NULL,
                       c->msg ? c->msg->len : 0, &ww->rtmp);
    bench_lbuf_free(&c->msg);
}

/* ---- echo ---- */

/* The grain of the pacing grid for rate messages a second per connection:
 * one message interval, so that each connection's messages keep their own
 * schedule at that resolution while a worker makes one wake-up per grain
 * for all of its connections' sends. At least 1 ms (a faster connection
 * sends the messages due within a millisecond in one write) and at most
 * 5 ms (a slow rate is not bunched into bursts). */
uint64_t bws_grain_for_rate(double per_second)
{
    double g = per_second > 0 ? 1e9 / per_second : (double)BWS_GRAIN_MAX_NS;
    if (!(g >= BWS_GRAIN_MIN_NS)) /* NaN too */
        return BWS_GRAIN_MIN_NS;
    return g > BWS_GRAIN_MAX_NS ? BWS_GRAIN_MAX_NS : (uint64_t)g;
}

/* The pacing timer's deadline for a message due at due_ns: rounded up to
 * the next multiple of grain_ns of the monotonic clock, so the connections
 * whose messages fall due within one grain share a deadline and the loop
 * sends them all in one wake-up (one epoll_pwait2 per grain instead of one
 * per message). The message's intended time is that boundary too, so the
 * wait for it is not latency; a loop that is late past the boundary still
 * is. */
uint64_t bws_send_grain(uint64_t due_ns, uint64_t grain_ns)
{
    if (due_ns > UINT64_MAX - grain_ns)
        return due_ns;
    return (due_ns + grain_ns - 1) / grain_ns * grain_ns;
}

/* Sends every message that is due at now (as many as one scratch buffer
 * holds, in one write), then arms the timer for the next. now is the loop's
 * clock of this round where there is one (a clock read less per message).
 * Nothing while output waits: the flush comes back here. Returns 0 or -1
 * (c is gone). */
static int send_due(struct wsconn *c, uint64_t now)
{
    struct wsw *ww = conn_ww(c);
    const bench_config_t *cfg = ww->cfg;
    if (c->s.out || c->s.state != C_OPEN)
        return 0;
    if (ww->replay)
        return replay_due(c);
    uint64_t intended;
    unsigned op = cfg->binary ? WSF_BINARY : WSF_TEXT;
    size_t flen = WSF_MAX_HEADER + (c->pmd ? ws_pmd_deflate_bound(cfg->size) : cfg->size);
    size_t used = 0;
    uint64_t n = 0;
    while (used + flen <= ww->scratch_cap && rate_pop(&c->rate, now, &intended)) {
        uint32_t seq = (uint32_t)(rate_taken(&c->rate) - 1);
        /* on the grain: the message is meant for the boundary it goes at */
        stamp_write(ww->tmpl, c->index, seq, bws_send_grain(intended, ww->grain_ns));
        used += put_message(c, ww->scratch + used, op, ww->tmpl, cfg->size);
        n++;
    }
    if (n) {
        bench_sent(ww->w, n, n * cfg->size);
        if (conn_write(c, ww->scratch, used) < 0)
            return -1;
    }
    if (!c->s.out) {
        uint64_t due = rate_next_due(&c->rate);
        if (due != UINT64_MAX)
            loop_timer_arm_at(conn_loop(c), &c->s.timer, bws_send_grain(due, ww->grain_ns));
    }
    return 0;
}

/* An echo's stamp is its first STAMP_LEN bytes: read where it lies when
 * the message came whole in one read (the usual case), else gathered in
 * c->msg (free in echo: a compressed echo reaches here inflated, whole). */
static void echo_piece(struct wsconn *c, const wsf_event_t *ev)
{
    struct wsw *ww = conn_ww(c);
    const uint8_t *stamp = NULL;
    if (c->stamp_len < STAMP_LEN && ev->len) {
        size_t k = STAMP_LEN - c->stamp_len;
        if (k > ev->len)
            k = ev->len;
        if (k == STAMP_LEN && ev->message_end)
            stamp = ev->data;
        else
            bench_lbuf_append(&c->msg, ev->data, k);
        c->stamp_len = (uint8_t)(c->stamp_len + k);
    }
    if (!ev->message_end)
        return;
    bench_received(ww->w, 1, ev->message_len);
    if (!stamp && c->stamp_len == STAMP_LEN)
        stamp = c->msg->data + c->msg->off;
    uint32_t conn, seq;
    uint64_t intended;
    if (stamp && stamp_read(stamp, STAMP_LEN, &conn, &seq, &intended) == 0 && conn == c->index) {
        uint64_t now = mono_ns();
        bench_latency(ww->w, now > intended ? now - intended : 0);
    }
    c->stamp_len = 0;
    bench_lbuf_free(&c->msg);
}

/* ---- subscribe ---- */

static void sub_message(struct wsconn *c, const uint8_t *p, size_t n)
{
    bench_sub_message(c->s.w, (const char *)p, n, NULL);
}

static void sub_piece(struct wsconn *c, const wsf_event_t *ev)
{
    if (ev->frame_start && ev->message_end && !c->msg) {
        sub_message(c, ev->data, ev->len); /* whole in this read: no copy */
        return;
    }
    if (ev->len)
        bench_lbuf_append(&c->msg, ev->data, ev->len); /* bounded: the decoder's 1009 */
    if (!ev->message_end)
        return;
    if (c->msg)
        sub_message(c, c->msg->data, c->msg->len);
    else
        sub_message(c, (const uint8_t *)"", 0);
    bench_lbuf_free(&c->msg);
}

/* ---- frames ---- */

/* A control frame's piece; acts on its end. Returns 0 or -1 (c is gone). */
static int control_piece(struct wsconn *c, const wsf_event_t *ev)
{
    const uint8_t *p = ev->data;
    size_t n = ev->len;
    if (!(ev->frame_start && ev->frame_end)) {
        if (n)
            bench_lbuf_append(&c->ctl, p, n);
        if (!ev->frame_end)
            return 0;
        p = c->ctl ? c->ctl->data : NULL;
        n = c->ctl ? c->ctl->len : 0;
    }
    int rc = 0;
    if (ev->opcode == WSF_PING) {
        rc = send_control(c, WSF_PONG, p, n);
    } else if (ev->opcode == WSF_CLOSE) {
        /* Answer with the same code (none for none), then end: we do not
         * wait for the server's FIN (a load tester need not linger). */
        bool ours = c->s.state == C_CLOSING;
        if (!c->close_sent && ev->close_code != 1005) {
            uint8_t pl[2] = {(uint8_t)(ev->close_code >> 8), (uint8_t)ev->close_code};
            if (send_control(c, WSF_CLOSE, pl, 2) < 0)
                return -1;
        } else if (!c->close_sent && send_control(c, WSF_CLOSE, NULL, 0) < 0) {
            return -1;
        }
        flush_last(c);
        if (ours)
            conn_end(c);
        else
            conn_error(c, BERR_CLOSED);
        return -1;
    }
    if (rc == 0)
        bench_lbuf_free(&c->ctl);
    return rc;
}

/* Decodes p[0..n) of an open (or closing) connection. Returns 0 or -1. */
static int on_frames(struct wsconn *c, const uint8_t *p, size_t n)
{
    bool echo = conn_ww(c)->cfg->kind == BENCH_WS_ECHO;
    size_t off = 0;
    while (off < n) {
        wsf_event_t ev;
        off += wsf_decode(&c->dec, p + off, n - off, &ev);
        if (ev.type == WSF_EV_NONE)
            break;
        if (ev.type == WSF_EV_ERROR) {
            if (!c->close_sent && send_close(c, ev.error_code, ev.error) < 0)
                return -1;
            flush_last(c);
            conn_error(c, ev.error_code == 1009 ? BERR_TOO_BIG : BERR_PROTOCOL);
            return -1;
        }
        int r = 1;
        if (ev.opcode & 0x08) {
            if (control_piece(c, &ev) < 0)
                return -1;
        } else if (ev.compressed && (r = inflate_piece(c, &ev)) <= 0) {
            if (r < 0) /* else the message goes on; once whole, ev is it, inflated */
                return -1;
        } else if (echo) {
            echo_piece(c, &ev);
        } else if (conn_ww(c)->replay) {
            replay_piece(c, &ev);
        } else {
            sub_piece(c, &ev);
        }
    }
    return 0;
}

/* ---- establishing ---- */

static int established(struct wsconn *c)
{
    struct wsw *ww = conn_ww(c);
    const bench_config_t *cfg = ww->cfg;
    uint64_t now = mono_ns();
    loop_timer_stop(conn_loop(c), &c->s.timer);
    c->s.state = C_OPEN;
    bench_connected(ww->w, now - c->s.start_ns);
    for (size_t i = 0; !ww->replay && i < cfg->non_open; i++) { /* replay plays them itself */
        size_t n = strlen(cfg->on_open[i]);
        scratch_reserve(ww, WSF_MAX_HEADER + ws_pmd_deflate_bound(n));
        size_t k = put_message(c, ww->scratch, WSF_TEXT, (const uint8_t *)cfg->on_open[i], n);
        if (conn_write(c, ww->scratch, k) < 0)
            return -1;
        bench_sent(ww->w, 1, n);
    }
    if (ww->echo_sends) {
        rate_init(&c->rate, cfg->message_rate, now);
        if (send_due(c, now) < 0)
            return -1;
    }
    if (ww->replay) {
        replay_cursor_start(&c->rp, now);
        if (send_due(c, now) < 0)
            return -1;
    }
    update_interest(c);
    return 0;
}

/* The first failed handshake of this worker: one line for the summary,
 * and the request with the response head for -v. */
static void handshake_example(struct wsconn *c, const ws_handshake_result_t *res,
                              const char *head, size_t len)
{
    bench_worker_t *w = c->s.w;
    if (!bench_example_wanted(w, BERR_HANDSHAKE))
        return;
    bench_example(w, BERR_HANDSHAKE, "%s from %s", res->error, w->cfg->target);
    buf_t ex;
    buf_init(&ex);
    ws_build_request(&ex, &w->cfg->ws_req, c->hs->key);
    size_t n = len;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(head + i, "\r\n\r\n", 4) == 0) {
            n = i + 4;
            break;
        }
    buf_append(&ex, head, n);
    bench_example_exchange(w, ex.p, ex.len);
    buf_free(&ex);
}

/* Bytes of the 101 (and maybe frames after it). Returns 0 or -1. */
static int handshake_bytes(struct wsconn *c, const uint8_t *p, size_t n)
{
    const bench_config_t *cfg = conn_ww(c)->cfg;
    struct hs *hs = c->hs;
    const char *head = (const char *)p;
    size_t len = n;
    if (hs->resp.len) {
        buf_append(&hs->resp, p, n);
        head = hs->resp.p;
        len = hs->resp.len;
    }
    ws_handshake_result_t res;
    int rc = ws_parse_response(head, len, WS_MAX_HEAD_DEFAULT, hs->key, cfg->ws_req.protocols,
                               cfg->ws_req.nprotocols, cfg->ws_req.deflate, &res);
    if (rc == WS_HS_NEED_MORE) {
        if (!hs->resp.len)
            buf_append(&hs->resp, p, n);
        return 0;
    }
    if (rc != WS_HS_OK) {
        handshake_example(c, &res, head, len);
        conn_error(c, BERR_HANDSHAKE);
        return -1;
    }
    c->hs = NULL; /* the rest may end c: free the head after */
    if (res.deflate) {
        c->pmd = bwz_start(c->s.w, &conn_ww(c)->pmd, &res.pmd);
        wsf_decoder_allow_rsv1(&c->dec);
    }
    int r = established(c);
    if (r == 0 && len > res.head_len)
        r = on_frames(c, (const uint8_t *)head + res.head_len, len - res.head_len);
    buf_free(&hs->resp);
    free(hs);
    return r;
}

/* Sends the upgrade request. `early`: plain TCP right after connect(),
 * not yet watched (bsock_send_early); when the socket is still connecting
 * the request is made again once it is writable. Returns 0, or -1 when c
 * is gone. */
static int start_handshake(struct wsconn *c, bool early)
{
    const bench_config_t *cfg = conn_ww(c)->cfg;
    c->hs = xcalloc(1, sizeof(*c->hs));
    buf_init(&c->hs->resp);
    ws_make_key(c->hs->key);
    buf_t req;
    buf_init(&req);
    ws_build_request(&req, &cfg->ws_req, c->hs->key);
    int rc = 0;
    if (early) {
        int sent = bsock_send_early(&c->s, req.p, req.len);
        if (sent > 0) {
            c->s.state = C_HANDSHAKE;
        } else if (sent == 0) { /* not connected yet */
            free(c->hs);
            c->hs = NULL;
        } else {
            conn_error(c, bench_errno_kind(errno)); /* still C_CONNECTING */
            rc = -1;
        }
    } else {
        c->s.state = C_HANDSHAKE;
        rc = conn_write(c, req.p, req.len);
        if (rc == 0)
            update_interest(c);
    }
    buf_free(&req);
    return rc;
}

/* The connect's outcome, then TLS; the upgrade request once ready.
 * Returns 0 or -1 (c is gone). */
static int connect_step(struct wsconn *c)
{
    bench_err_t kind;
    int rc = bsock_connect_step(&c->s, &kind);
    if (rc > 0)
        return start_handshake(c, false);
    if (rc < 0) {
        conn_error(c, kind);
        return -1;
    }
    return 0;
}

/* ---- loop callbacks ---- */

/* Reads what the socket has. Returns 0 or -1 (c is gone). */
static int do_read(struct wsconn *c)
{
    struct wsw *ww = conn_ww(c);
    for (;;) {
        ssize_t r = bsock_read(&c->s, ww->rbuf, RBUF_SIZE);
        if (r > 0) {
            int rc = c->s.state == C_HANDSHAKE ? handshake_bytes(c, ww->rbuf, (size_t)r)
                                             : on_frames(c, ww->rbuf, (size_t)r);
            if (rc < 0)
                return -1;
            if (!c->s.tls && (size_t)r < RBUF_SIZE)
                break; /* drained: spare the syscall that would say EAGAIN */
            continue;
        }
        if (r == 0) {
            if (c->s.state == C_HANDSHAKE)
                conn_error(c, BERR_HANDSHAKE);
            else
                conn_error(c, BERR_CLOSED);
            return -1;
        }
        if (r == NETIO_AGAIN)
            break;
        conn_error(c, io_error_kind(c, errno));
        return -1;
    }
    if (c->s.tls)
        update_interest(c); /* a TLS read may wait for writability */
    return 0;
}

/* Writes what is queued; once it is all out, what fell due meanwhile.
 * Returns 0 or -1 (c is gone). */
static int flush(struct wsconn *c)
{
    if (bsock_flush(&c->s) < 0) {
        conn_error(c, io_error_kind(c, errno));
        return -1;
    }
    if (!c->s.out && c->s.state == C_OPEN && (conn_ww(c)->echo_sends || conn_ww(c)->replay))
        return send_due(c, loop_now(conn_loop(c)));
    return 0;
}

static void on_io(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    struct wsconn *c = ud;
    if (c->s.state < C_HANDSHAKE) {
        connect_step(c);
        return;
    }
    /* TLS may want the other readiness for either direction. */
    unsigned can = bsock_can(&c->s, events);
    if ((can & BSOCK_CAN_FLUSH) && flush(c) < 0)
        return;
    if (can & BSOCK_CAN_READ)
        do_read(c);
}

static void on_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    struct wsconn *c = ud;
    if (c->s.state < C_OPEN)
        conn_error(c, BERR_CONNECT_TIMEOUT);
    else
        send_due(c, loop_now(l));
}

/* ---- the driver ---- */

static int ws_init(bench_worker_t *w, char *err, size_t errlen)
{
    const bench_config_t *cfg = w->cfg;
    if (cfg->kind == BENCH_WS_ECHO && cfg->size < STAMP_LEN) {
        snprintf(err, errlen, "--size must be at least %d bytes in echo mode", STAMP_LEN);
        return -1;
    }
    if (cfg->kind != BENCH_WS_ECHO && cfg->kind != BENCH_WS_SUBSCRIBE &&
        !(cfg->kind == BENCH_WS_REPLAY && cfg->replay)) {
        snprintf(err, errlen, "the WebSocket driver runs echo, subscribe and replay only");
        return -1;
    }
    struct wsw *ww = xcalloc(1, sizeof(*ww));
    ww->w = w;
    ww->cfg = cfg;
    ww->rbuf = xmalloc(RBUF_SIZE);
    ww->scratch_cap = SCRATCH_MIN;
    if (cfg->kind == BENCH_WS_ECHO && WSF_MAX_HEADER + cfg->size > ww->scratch_cap)
        ww->scratch_cap = WSF_MAX_HEADER + cfg->size;
    if (cfg->ws_req.deflate && cfg->kind == BENCH_WS_ECHO &&
        WSF_MAX_HEADER + ws_pmd_deflate_bound(cfg->size) > ww->scratch_cap)
        ww->scratch_cap = WSF_MAX_HEADER + ws_pmd_deflate_bound(cfg->size);
    buf_init(&ww->zbuf);
    ww->replay = cfg->kind == BENCH_WS_REPLAY;
    buf_init(&ww->rtmp);
    if (ww->replay && bws_replay_frame_max(cfg->replay) > ww->scratch_cap)
        ww->scratch_cap = bws_replay_frame_max(cfg->replay);
    ww->scratch = xmalloc(ww->scratch_cap);
    ww->rng = (mono_ns() ^ ((uint64_t)w->id << 32) ^ 0x9e3779b97f4a7c15ull) | 1;
    if (cfg->kind == BENCH_WS_ECHO) {
        ww->tmpl = xmalloc(cfg->size);
        for (size_t i = 0; i < cfg->size; i++)
            ww->tmpl[i] = (uint8_t)('a' + i % 26);
        rate_t probe;
        ww->echo_sends = rate_init(&probe, cfg->message_rate, 0) == 0;
        ww->grain_ns = bws_grain_for_rate(cfg->message_rate);
    }
    w->drv = ww;
    return 0;
}

static void ws_start(bench_worker_t *w, uint64_t index)
{
    struct wsw *ww = w->drv;
    const bench_config_t *cfg = ww->cfg;
    struct wsconn *c = bsock_open(w, &ww->head, index, sizeof(*c), on_timer);
    if (!c)
        return;
    c->s.count_wire = true;
    c->index = (uint32_t)index;
    wsf_decoder_init(&c->dec, cfg->max_message);
    if (!cfg->tls && start_handshake(c, true) < 0)
        return;
    int rc = bsock_watch(&c->s, on_io, c);
    if (rc < 0)
        conn_error(c, bench_errno_kind(-rc));
}

static void ws_close_all(bench_worker_t *w)
{
    struct wsw *ww = w->drv;
    bench_sock_t *next;
    for (bench_sock_t *s = ww->head; s; s = next) {
        struct wsconn *c = (struct wsconn *)s;
        next = s->next;
        if (c->s.state < C_OPEN) {
            conn_end(c);
        } else if (c->s.state == C_OPEN) {
            loop_timer_stop(w->loop, &c->s.timer);
            if (ww->replay)
                bws_replay_closing(w, &c->rp, c->index);
            c->s.state = C_CLOSING;
            if (!c->close_sent && send_close(c, 1000, NULL) < 0)
                continue;
        }
    }
}

static void ws_abort_all(bench_worker_t *w)
{
    struct wsw *ww = w->drv;
    while (ww->head)
        conn_end((struct wsconn *)ww->head);
}

static void ws_free(bench_worker_t *w)
{
    struct wsw *ww = w->drv;
    if (!ww)
        return;
    while (ww->head)
        conn_free((struct wsconn *)ww->head); /* none should be left: no accounting */
    w->zlib_peak_bytes = ws_pmd_pool_peak(ww->pmd);
    ws_pmd_pool_free(ww->pmd);
    buf_free(&ww->zbuf);
    free(ww->rbuf);
    free(ww->scratch);
    free(ww->tmpl);
    buf_free(&ww->rtmp);
    free(ww);
    w->drv = NULL;
}

const bench_driver_t bench_ws_driver = {
    .init = ws_init,
    .start = ws_start,
    .close_all = ws_close_all,
    .abort_all = ws_abort_all,
    .free = ws_free,
};
