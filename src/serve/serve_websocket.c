/* serve_websocket: the server's WebSocket endpoints (evcat(1), SERVE):
 * GET /ws, the channel both ways (each event's data as a text message; text
 * from the client published as a message event), and GET /echo, every
 * message sent back. Also the WebSocket side of a playback: a connection a
 * source plays to (serve_source.h). After the upgrade (RFC 6455 checks,
 * then 101) a wslay session (ws_session) runs over the connection's own
 * queue, and the server's frames are built once and shared.
 *
 * permessage-deflate (unless --no-compress): the first offer the server can
 * honour is accepted (ws_pmd_accept, WS_PMD_LEAN: a context kept for a
 * client costs about 38 KiB to compress and 11 KiB to inflate, its windows
 * held to 4 KiB). A client that asked for server_no_context_takeover is
 * sent frames compressed by the server's one shared compressor: a broadcast
 * is compressed once per window size for all such subscribers. */
#include "serve_internal.h"

#include "buf.h"
#include "diag.h"
#include "text.h"
#include "ws_frame.h"
#include "ws_handshake.h"

#include <stdlib.h>
#include <string.h>

/* The connection after its 101: a wslay session whose transport is the
 * connection itself. Input: on_data hands each read to the session through
 * ws_on_recv. Output: ws_on_send copies into the connection's queue, which
 * conn_flush writes like any other (see serve_ws_broadcast for why that matters). */
struct ws_conn {
    ws_session_t *sess; /* owned */
    enum serve_ws_kind kind;
    const char *in; /* the read being fed to the session, during on_data */
    size_t in_len;
    bool busy;         /* inside the session: freeing waits until it returns */
    bool free_pending; /* the connection closed meanwhile */
    bool done;         /* closed, failed or dropped: the session gets no more input */
    /* How broadcasts reach it: zbits 0: plain frames; else the shared
     * frame compressed with that window; zown: through its own session,
     * compressed with the context it keeps. */
    uint8_t zbits;
    bool zown;
};

/* Takes c off the /ws subscribers, if it is one. */
static void ws_unsubscribe(struct conn *c)
{
    if (c->sub_list == &c->srv->ws_subs)
        conn_list_remove(c);
}

static ssize_t ws_on_recv(void *ud, uint8_t *p, size_t n)
{
    struct conn *c = ud;
    struct ws_conn *w = c->upgrade_ud;
    if (w->in_len == 0)
        return WS_IO_AGAIN;
    size_t k = n < w->in_len ? n : w->in_len;
    memcpy(p, w->in, k);
    w->in += k;
    w->in_len -= k;
    return (ssize_t)k;
}

static ssize_t ws_on_send(void *ud, const uint8_t *p, size_t n)
{
    struct conn *c = ud;
    /* Always all of it (see serve_ws_broadcast); the queue's bound is checked
     * after each round of input. */
    if (c->state == CS_UPGRADED) /* after a drop or the end: nothing more */
        conn_send(c, p, n);
    return (ssize_t)n;
}

static void ws_on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt)
{
    (void)rtt;
    struct conn *c = ud;
    struct ws_conn *w = c->upgrade_ud;
    serve_t *s = c->srv;
    if ((type != WS_TEXT && type != WS_BINARY) || w->done)
        return; /* pings are answered by wslay; pongs need nothing */
    s->stats.ws_messages++;
    if (w->kind == SERVE_WS_PLAYBACK)
        return; /* what a playback's client says changes nothing */
    if (w->kind == SERVE_WS_ECHO) {
        ws_session_send(w->sess, type, p, n);
        return;
    }
    if (type == WS_BINARY) {
        /* The channel carries text (SSE cannot carry binary); closing the
         * connection over it would be harsher than useful. */
        s->stats.ws_binary_ignored++;
        return;
    }
    if (s->stopping)
        return;
    serve_publish(s, "message", 7, (const char *)p, n);
    s->stats.published++;
}

static void ws_on_peer_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    struct conn *c = ud;
    diag_verbose("%s WebSocket close from the client: %u (%s)%s%.*s", c->peer, code,
                 ws_close_code_name(code), len ? " " : "", (int)(len > 80 ? 80 : len), reason);
}

static const ws_session_callbacks_t ws_callbacks = {ws_on_send, ws_on_recv, ws_on_message,
                                                    ws_on_peer_close};

static void ws_free(struct ws_conn *w)
{
    ws_session_free(w->sess);
    free(w);
}

/* After the session ran: end the connection once the session is over, and
 * hold a client's input while what answers it piles up: an /echo client's
 * echoes, and on every endpoint the pongs of a client that pings without
 * reading (wslay answers each ping into the queue, which only a broadcast
 * would otherwise bound, and there may be none: --tick 0). */
void serve_ws_after(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    if (w->done || c->state != CS_UPGRADED)
        return;
    ws_session_state_t st = ws_session_state(w->sess);
    if (st == WS_SESSION_CLOSED) {
        w->done = true;
        ws_unsubscribe(c);
        conn_finish(c); /* our close is queued: flush it, then FIN (the server closes first) */
        return;
    }
    if (st == WS_SESSION_FAILED) {
        w->done = true;
        ws_unsubscribe(c);
        uint16_t code = 0;
        const char *why = ws_session_error(w->sess, &code);
        if (code) {
            diag_verbose("%s WebSocket closed with %u: %s", c->peer, code, why);
            conn_finish(c);
        } else {
            conn_close(c, why);
        }
        return;
    }
    if (sendq_pending(&c->out) > c->srv->cfg.max_queue)
        c->read_paused = true; /* resumed by conn_flush */
}

static int ws_on_data(struct conn *c, const char *p, size_t n)
{
    struct ws_conn *w = c->upgrade_ud;
    if (w->done)
        return 0;
    w->in = p;
    w->in_len = n;
    w->busy = true;
    ws_session_read(w->sess);
    w->busy = false;
    w->in_len = 0;
    if (w->free_pending) { /* dropped while publishing to itself */
        ws_free(w);
        c->upgrade_ud = NULL;
        return 0;
    }
    serve_ws_after(c);
    return 0;
}

static void ws_on_shutdown(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    ws_unsubscribe(c);
    loop_timer_stop(c->srv->loop, &c->timer); /* a source plays no more */
    if (!w->done && ws_session_close(w->sess, 1001, "server shutting down") == 0) {
        /* Wait for the client's close (bounded by serve_stop's grace). */
        ws_session_write(w->sess);
        return;
    }
    w->done = true;
    conn_finish(c);
}

static void ws_on_close(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    ws_unsubscribe(c);
    c->srv->stats.ws_clients--;
    if (!w)
        return;
    if (w->busy) {
        w->free_pending = true;
        return;
    }
    ws_free(w);
    c->upgrade_ud = NULL;
}

static const struct serve_upgrade ws_upgrade = {ws_on_data, ws_on_shutdown, ws_on_close};

ws_session_t *serve_ws_session(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    return w && !w->done ? w->sess : NULL;
}

/* A /ws subscriber that stopped reading: close 1008 after the frame being
 * written (best effort: it reaches a client that reads again within
 * CLOSING_MS), everything else queued is dropped now. */
static void ws_drop(struct conn *c)
{
    serve_t *s = c->srv;
    struct ws_conn *w = c->upgrade_ud;
    diag_verbose("%s dropped: %zu bytes pending (over --max-queue)", c->peer,
                 sendq_pending(&c->out));
    ws_unsubscribe(c);
    w->done = true;
    sendq_drop_unstarted(&c->out);
    static const char reason[] = "\x03\xf0"
                                 "client too slow (over --max-queue)";
    sendq_push_owned(&c->out, serve_ws_frame_new(WSF_CLOSE, reason, sizeof(reason) - 1));
    conn_finish(c);
    serve_note_drop(s);
}

/* ---- frames shared by every client ---- */

/* A server frame (FIN set; RSV1 with rsv1: a compressed message). */
static sendq_buf_t *frame_new(unsigned opcode, bool rsv1, const void *payload, size_t n)
{
    uint8_t h[10];
    size_t hl = 0;
    h[hl++] = (uint8_t)(0x80 | (rsv1 ? 0x40 : 0) | opcode);
    if (n < 126) {
        h[hl++] = (uint8_t)n;
    } else if (n < 65536) {
        h[hl++] = 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    sendq_buf_t *b = sendq_buf_new(hl + n);
    memcpy(b->data, h, hl);
    if (n)
        memcpy(b->data + hl, payload, n);
    return b;
}

sendq_buf_t *serve_ws_frame_new(unsigned opcode, const void *payload, size_t n)
{
    return frame_new(opcode, false, payload, n);
}

/* The frame of a broadcast for subscribers of window bits (0: plain). */
static sendq_buf_t *broadcast_frame(serve_t *s, unsigned opcode, unsigned bits, const void *p,
                                    size_t n)
{
    if (bits) {
        buf_t z;
        buf_init(&z);
        if (ws_pmd_pool_deflate(s->pmd, bits, p, n, &z) == WS_PMD_OK) {
            sendq_buf_t *f = frame_new(opcode, true, z.p, z.len);
            buf_free(&z);
            return f;
        }
        buf_free(&z); /* no memory for zlib: plain is always allowed */
    }
    return frame_new(opcode, false, p, n);
}

/* Fan-out to /ws subscribers, the WebSocket twin of the SSE fan-out.
 *
 * A server's frames are not masked, so one event's frame is the same bytes
 * for every subscriber: it is built once (serve_ws_frame_new) and each queue gets
 * a reference, as SSE events do, instead of N copies through N wslay
 * queues. What makes it safe to put these bytes on a queue that wslay also
 * writes to: wslay's send callback (ws_on_send) takes every byte it is
 * given into the same queue, never a short write and never EAGAIN, so a
 * wslay call never leaves half a frame behind; between wslay calls the
 * queue always ends on a frame boundary, and a broadcast frame appended
 * there cannot split one of wslay's frames (its pongs, closes, echoes). The
 * connection's bound is the queue's size (--max-queue) rather than the
 * socket's: a subscriber over it is dropped (ws_drop).
 *
 * With permessage-deflate, a data frame is compressed once per window size
 * among the subscribers without context takeover (the shared compressor's
 * output is the same for all of them), and goes through the session of a
 * subscriber that keeps a context: its bytes depend on what it was sent
 * before. Control frames are never compressed. */
void serve_ws_broadcast(serve_t *s, unsigned opcode, const void *payload, size_t n)
{
    if (!s->ws_subs)
        return;
    bool data = opcode < 8;
    sendq_buf_t *frames[WS_PMD_MAX_BITS + 1] = {NULL}; /* [0]: plain; [bits]: compressed */
    struct conn *next;
    for (struct conn *c = s->ws_subs; c; c = next) {
        next = c->sub_next;
        struct ws_conn *w = c->upgrade_ud;
        if (data && w->zown) {
            ws_session_send(w->sess, opcode == WSF_TEXT ? WS_TEXT : WS_BINARY, payload, n);
            if (!w->busy) /* else the session writes once its input is done */
                ws_session_write(w->sess);
        } else {
            unsigned k = data ? w->zbits : 0;
            if (!frames[k])
                frames[k] = broadcast_frame(s, opcode, k, payload, n);
            sendq_push(&c->out, frames[k]);
        }
        if (sendq_pending(&c->out) > s->cfg.max_queue)
            ws_drop(c);
        else
            conn_mark_dirty(c);
    }
    for (size_t k = 0; k < ARRAY_LEN(frames); k++)
        if (frames[k])
            sendq_buf_unref(frames[k]);
}

/* ---- permessage-deflate ---- */

/* The client's offers (every Sec-WebSocket-Extensions line) and what the
 * server answers: true with *pmd and the answer in ext, or false. */
static bool offered_deflate(const http_request_info_t *in, ws_pmd_params_t *pmd, buf_t *ext)
{
    buf_t offers;
    buf_init(&offers);
    for (size_t i = 0; i < in->nheaders; i++) {
        const http_header_t *h = &in->headers[i];
        if (h->name_len == 24 && ascii_ieq(h->name, "sec-websocket-extensions", 24)) {
            if (offers.len)
                buf_puts(&offers, ", ");
            buf_append(&offers, h->value, h->value_len);
        }
    }
    bool ok = offers.len && ws_pmd_accept(offers.p, offers.len, WS_PMD_LEAN, pmd, ext) == 1;
    buf_free(&offers);
    return ok;
}

static void use_deflate(struct conn *c, struct ws_conn *w, const ws_pmd_params_t *pmd)
{
    serve_t *s = c->srv;
    if (!s->pmd)
        s->pmd = ws_pmd_pool_new();
    ws_pmd_t *m = ws_pmd_new(pmd, true, s->pmd, WS_PMD_LEAN);
    int bits = ws_pmd_tx_shared_bits(m);
    w->zown = bits < 0;
    w->zbits = bits > 0 ? (uint8_t)bits : 0;
    ws_session_set_deflate(w->sess, m);
    s->stats.ws_deflate++;
    char d[160];
    ws_pmd_describe(pmd, d, sizeof(d));
    diag_verbose("%s permessage-deflate: %s", c->peer, d);
}

/* ---- the routes ---- */

bool serve_ws_upgrade(struct conn *c, enum serve_ws_kind kind)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);
    const char *upgrade = http_request_header(in, "upgrade", NULL);
    if (!upgrade || strcmp(in->method, "GET") != 0) { /* HEAD: what a plain GET gets */
        conn_respond_error(c, 426, "this is a WebSocket endpoint: connect with a WebSocket client",
                           "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        return false;
    }
    if (in->version_minor == 0) {
        conn_respond_error(c, 400, "a WebSocket upgrade needs HTTP/1.1", NULL);
        return false;
    }
    /* RFC 6455 section 11.3: each may appear once in a request; which of
     * two keys would the client check the accept against? */
    if (http_request_header_count(in, "sec-websocket-key") > 1 ||
        http_request_header_count(in, "sec-websocket-version") > 1) {
        conn_respond_error(c, 400, "Sec-WebSocket-Key or Sec-WebSocket-Version sent more than once",
                           NULL);
        return false;
    }
    char accept[WS_ACCEPT_LEN + 1];
    const char *why = NULL;
    bool version_only = false;
    if (ws_check_upgrade(upgrade, in->upgrade ? "upgrade" : NULL,
                         http_request_header(in, "sec-websocket-version", NULL),
                         http_request_header(in, "sec-websocket-key", NULL), accept, &why,
                         &version_only) < 0) {
        if (version_only)
            conn_respond_error(c, 426, why, "Sec-WebSocket-Version: 13\r\n");
        else
            conn_respond_error(c, 400, why, NULL);
        return false;
    }
    /* No subprotocol is ever selected, and no extension but
     * permessage-deflate: a client that requires one fails its own check,
     * which is right. */
    ws_pmd_params_t pmd;
    buf_t ext;
    buf_init(&ext);
    bool deflate = s->cfg.compress && !s->cfg.playback && offered_deflate(in, &pmd, &ext);
    buf_t b;
    buf_init(&b);
    ws_build_101(&b, accept, NULL, ext.p);
    conn_send(c, b.p, b.len);
    buf_free(&b);
    buf_free(&ext);
    conn_log_request(c, 101,
                     kind == SERVE_WS_ECHO       ? "websocket echo"
                     : kind == SERVE_WS_PLAYBACK ? "websocket playback"
                                                 : "websocket");

    struct ws_conn *w = xcalloc(1, sizeof(*w));
    w->kind = kind;
    w->sess = ws_session_new(true, s->cfg.max_message, &ws_callbacks, c);
    if (deflate)
        use_deflate(c, w, &pmd);
    c->upgrade = &ws_upgrade;
    c->upgrade_ud = w;
    c->state = CS_UPGRADED;
    /* Bytes after the head (frames sent before our 101) stay in c->in:
     * conn_process gives them to on_data next. */
    loop_timer_stop(s->loop, &c->timer);
    http_request_free(c->req);
    c->req = NULL;
    buf_free(&c->body);
    s->stats.ws_connections++;
    s->stats.ws_clients++;
    if (kind == SERVE_WS_CHANNEL)
        conn_list_add(&s->ws_subs, c);
    conn_mark_dirty(c);
    return true;
}

void serve_ws_route_channel(struct conn *c)
{
    serve_ws_upgrade(c, SERVE_WS_CHANNEL);
}

void serve_ws_route_echo(struct conn *c)
{
    serve_ws_upgrade(c, SERVE_WS_ECHO);
}
