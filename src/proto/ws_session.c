/* ws_session: one WebSocket connection's frames over wslay's event API.
 *
 * wslay 1.1.1 does the framing, message assembly, UTF-8 validation of text
 * and answering pings. Around it this module adds a small frame-header
 * checker that sees every received byte before wslay does (in the recv
 * callback). Why, and at what cost:
 *   - wslay answers frame-level violations it finds in its frame layer
 *     (fragmented or oversized control frames, non-minimal lengths) with a
 *     close frame without a code, and reports them as a callback failure,
 *     indistinguishable from a transport error; RFC 6455 wants 1002 and the
 *     user wants to know which rule was broken;
 *   - its event-layer checks (RSV bits, reserved opcodes, orphan
 *     continuations, mask bit, --max-message) close correctly but say
 *     nothing about why.
 * The checker validates each header when it completes and, on a violation,
 * hands wslay only the bytes before that frame, queues our own close (1002
 * or 1009, with a short reason) and fails the next read, so wslay never acts
 * on the bad frame and its own close attempt finds ours already queued. It
 * costs a few comparisons per frame header; payload bytes are only counted.
 *
 * wslay answers every ping with a pong it queues, unbounded: a peer that
 * pings without reading would have the pongs pile up in our memory. The
 * pongs owed (pings in, pongs not yet handed to the transport, counted by
 * a small tracker of the frames wslay writes) are bounded: at PONGS_OWED_MAX
 * the session stops reading until they are out, and the peer's pings wait in
 * TCP's buffers instead of ours (RFC 6455 5.5.3 lets us skip such pongs; we
 * only delay them).
 *
 * What is left to wslay's own verdict is invalid UTF-8 (1007): that close
 * is recognised afterwards (reading stopped, no close came from the peer,
 * none from us). The peer's close frame is captured through the frame
 * callbacks, which run before wslay's close-code validation, so 1012-1014
 * and the 3000-4999 range count as clean closes with their real code. */
#include "ws_session.h"
#include "buf.h"
#include "clock.h"
#include "ws_deflate.h"
#include "ws_frame.h"

#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <wslay/wslay.h>

#define WS_DEFAULT_MAX_MESSAGE (16u << 20)
#define PING_SLOTS             8   /* pings awaiting their pong */
#define PONGS_OWED_MAX         256 /* automatic pongs queued before reading pauses */

struct ping_slot {
    uint64_t sent_ns; /* 0: free */
    uint8_t len;
    uint8_t payload[125];
};

/* The frame-header checker (see the top of the file). */
struct hdr_check {
    uint8_t hdr[14];  /* the header being collected */
    size_t have;      /* bytes of it so far */
    size_t need;      /* its length, once byte 1 told it (else 2) */
    uint64_t left;    /* payload bytes of the current frame still to pass */
    bool in_payload;  /* between a header and the end of its payload */
    bool in_message;  /* a fragmented data message is open */
    bool msg_rsv1;    /* the data message being received is compressed */
    uint64_t msg_len; /* its bytes so far */
    bool after_close; /* the peer's close frame passed: nothing else matters */
};

/* The frames wslay writes, followed byte by byte to see pongs leave. */
struct out_track {
    uint8_t hdr[14];
    size_t have, need;
    uint64_t left; /* payload bytes of the current frame still to go */
};

struct ws_session {
    wslay_event_context_ptr ctx; /* owned */
    bool server;
    size_t max_message;
    ws_session_callbacks_t cbs;
    ws_session_sent_fn on_sent; /* or NULL */
    void *ud;
    ws_pmd_t *pmd; /* owned: permessage-deflate, when negotiated; else NULL */

    uint8_t *initial; /* owned: bytes that came with the handshake */
    size_t initial_len, initial_off;

    struct hdr_check chk;
    bool pending_fail; /* the checker found a violation: fail on the next read */
    uint16_t pending_code;
    const char *pending_reason; /* static: the close frame's short reason */
    char pending_why[160];      /* the error line */

    /* wslay 1.1.1 validates a close reason's UTF-8 chunk by chunk and skips
     * the first two bytes of every chunk, so a close frame cut by the
     * transport inside a character fails as invalid. A close payload that
     * arrives in parts is therefore held back here and given to wslay whole. */
    uint8_t close_hold[125];
    size_t close_held, close_need;

    uint8_t cur_opcode; /* of the frame wslay is receiving (frame callbacks) */
    uint8_t close_payload[125];
    size_t close_len;

    bool failed;
    char error[200];
    uint16_t code_sent; /* close code queued for the failure, 0 if none */

    bool we_closed;    /* our close is queued (or sent) */
    bool peer_closed;  /* the peer's close was received and is valid */
    bool write_broken; /* the transport failed on a write */
    uint16_t peer_code;
    char peer_reason[124];
    size_t peer_reason_len;

    struct ping_slot pings[PING_SLOTS];
    uint64_t ping_counter;

    struct out_track out;
    size_t pongs_owed; /* pongs wslay queued for the peer's pings, not yet written */
};

/* ---- helpers ---- */

static bool utf8_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* The longest prefix of s[0..n) of at most max bytes that does not cut a
 * UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

/* Records the failure (the first one wins) and queues our close for it
 * when code is not 0 and we had not closed yet. */
static void fail(ws_session_t *s, uint16_t code, const char *close_reason, const char *fmt, ...)
    ATTR_PRINTF(4, 5);
static void fail(ws_session_t *s, uint16_t code, const char *close_reason, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    if (code && !s->we_closed) {
        const char *r = close_reason ? close_reason : "";
        if (wslay_event_queue_close(s->ctx, code, (const uint8_t *)r, strlen(r)) == 0) {
            s->we_closed = true;
            s->code_sent = code;
            if (s->on_sent)
                s->on_sent(s->ud, WS_CLOSE, (const uint8_t *)r, strlen(r), code);
        }
    }
    wslay_event_shutdown_read(s->ctx);
}

/* ---- the frame-header checker ---- */

/* Checks what the first two header bytes tell, as soon as they are there
 * (wslay's frame layer judges control frames on them too), then, once the
 * header is complete, its length. Returns true when the frame may pass. */
static bool check_header(ws_session_t *s, bool complete)
{
    struct hdr_check *k = &s->chk;
    uint8_t b0 = k->hdr[0], b1 = k->hdr[1];
    bool fin = b0 & 0x80, masked = b1 & 0x80;
    unsigned rsv = (b0 >> 4) & 7, op = b0 & 0x0f, len7 = b1 & 0x7f;
    char *why = s->pending_why;
    size_t cap = sizeof(s->pending_why);
    s->pending_code = 1002;
    s->pending_reason = "protocol error";
    if (!complete) {
        if (rsv && (rsv != 4 || !s->pmd))
            snprintf(why, cap, "protocol error: reserved bits set (RSV%s%s%s)%s",
                     rsv & 4 ? "1" : "", rsv & 2 ? "2" : "", rsv & 1 ? "3" : "",
                     s->pmd ? ": permessage-deflate uses RSV1 only"
                            : " but no extension was negotiated");
        else if (rsv && op >= 8)
            snprintf(why, cap, "protocol error: RSV1 set on a control frame (opcode 0x%x)", op);
        else if (rsv && op == 0)
            snprintf(why, cap, "protocol error: RSV1 set on a continuation frame");
        else if ((op >= 3 && op <= 7) || op >= 11)
            snprintf(why, cap, "protocol error: reserved opcode 0x%x", op);
        else if (op >= 8 && !fin)
            snprintf(why, cap, "protocol error: fragmented control frame (opcode 0x%x)", op);
        else if (op >= 8 && len7 > 125)
            snprintf(why, cap, "protocol error: control frame with a payload over 125 bytes");
        else if (s->server && !masked)
            snprintf(why, cap, "protocol error: unmasked frame from the client");
        else if (!s->server && masked)
            snprintf(why, cap, "protocol error: masked frame from the server");
        else if (op == 0 && !k->in_message)
            snprintf(why, cap, "protocol error: continuation frame without a message to continue");
        else if ((op == 1 || op == 2) && k->in_message)
            snprintf(why, cap, "protocol error: new message inside a fragmented message");
        else
            return true;
        return false;
    }
    uint64_t len = len7;
    if (len7 == 126) {
        len = ((uint64_t)k->hdr[2] << 8) | k->hdr[3];
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | k->hdr[2 + i];
    }
    if ((len7 == 126 && len < 126) || (len7 == 127 && len < 65536)) {
        snprintf(why, cap, "protocol error: payload length %llu not in its shortest form",
                 (unsigned long long)len);
        return false;
    }
    if (len7 == 127 && (len >> 63)) {
        snprintf(why, cap, "protocol error: payload length with its top bit set");
        return false;
    }
    bool rsv1 = op == 0 ? k->msg_rsv1 : (k->hdr[0] & 0x40) != 0;
    uint64_t limit = rsv1 ? ws_pmd_wire_max(s->max_message) : s->max_message;
    if (op < 8 && len > limit - k->msg_len) {
        /* Refused on its header: nothing is allocated for an announced
         * length (wslay would allocate each frame's length up front). A
         * compressed message is held to its inflated size later
         * (deflated_message); here only to what that size allows. */
        snprintf(why, cap, "message larger than --max-message (%zu bytes)", s->max_message);
        s->pending_code = 1009;
        s->pending_reason = "message too big";
        return false;
    }
    if (op < 8) {
        k->msg_rsv1 = rsv1;
        k->in_message = !fin;
        k->msg_len = fin ? 0 : k->msg_len + len;
    } else if (op == 8) {
        k->after_close = true;
    }
    k->left = len;
    return true;
}

/* Runs the checker over the n bytes just read. Returns how many of them
 * may go to wslay: all of them, or those before a bad frame's header. */
static size_t check_bytes(ws_session_t *s, const uint8_t *p, size_t n)
{
    struct hdr_check *k = &s->chk;
    size_t i = 0;
    while (i < n && !k->after_close) {
        if (k->in_payload) {
            uint64_t take = n - i < k->left ? n - i : k->left;
            i += (size_t)take;
            k->left -= take;
            if (k->left == 0)
                k->in_payload = false;
            continue;
        }
        if (k->have == 0)
            k->need = 2;
        k->hdr[k->have++] = p[i++];
        size_t start_in_chunk = i >= k->have ? i - k->have : 0;
        unsigned len7 = k->hdr[1] & 0x7f;
        size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        if (k->have == 2) {
            k->need = 2 + ext + ((k->hdr[1] & 0x80) ? 4 : 0);
            if (!check_header(s, false)) {
                s->pending_fail = true;
                return start_in_chunk;
            }
        }
        /* The length is judged as soon as it is complete, as wslay does,
         * before a masking key follows. */
        if (k->have == 2 + ext && !check_header(s, true)) {
            s->pending_fail = true;
            return start_in_chunk;
        }
        if (k->have < k->need)
            continue;
        k->have = 0;
        k->in_payload = k->left > 0;
        if (k->after_close && k->left > n - i) {
            /* A close payload cut short: hold back the part that came. */
            s->close_held = n - i;
            s->close_need = (size_t)k->left - s->close_held;
            memcpy(s->close_hold, p + i, s->close_held);
            return i;
        }
    }
    return n;
}

static void apply_pending_fail(ws_session_t *s)
{
    s->pending_fail = false;
    fail(s, s->pending_code, s->pending_reason, "%s", s->pending_why);
}

/* ---- the pongs owed ---- */

/* Follows the n bytes just written: each pong frame that starts pays one
 * pong owed. Only frames we (wslay) write pass here, so their headers are
 * well formed. */
static void track_out(ws_session_t *s, const uint8_t *p, size_t n)
{
    struct out_track *t = &s->out;
    while (n) {
        if (t->left) {
            size_t take = n < t->left ? n : (size_t)t->left;
            p += take;
            n -= take;
            t->left -= take;
            continue;
        }
        if (t->have == 0)
            t->need = 2;
        t->hdr[t->have++] = *p++;
        n--;
        if (t->have == 2) {
            unsigned len7 = t->hdr[1] & 0x7f;
            t->need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((t->hdr[1] & 0x80) ? 4 : 0);
        }
        if (t->have < t->need)
            continue;
        unsigned len7 = t->hdr[1] & 0x7f;
        uint64_t len = len7;
        if (len7 >= 126) {
            size_t ext = len7 == 126 ? 2 : 8;
            len = 0;
            for (size_t i = 0; i < ext; i++)
                len = (len << 8) | t->hdr[2 + i];
        }
        if ((t->hdr[0] & 0x0f) == WSLAY_PONG && s->pongs_owed)
            s->pongs_owed--;
        t->left = len;
        t->have = 0;
    }
}

/* Reading waits while too many pongs wait to be written (and can be). */
static bool reading_paused(const ws_session_t *s)
{
    return s->pongs_owed >= PONGS_OWED_MAX && wslay_event_want_write(s->ctx);
}

/* ---- wslay callbacks ---- */

/* Bytes from the handshake's leftovers first, then the transport. */
static ssize_t source_read(ws_session_t *s, uint8_t *buf, size_t len)
{
    if (s->initial_off < s->initial_len) {
        size_t n = s->initial_len - s->initial_off;
        if (n > len)
            n = len;
        memcpy(buf, s->initial + s->initial_off, n);
        s->initial_off += n;
        if (s->initial_off == s->initial_len) {
            free(s->initial);
            s->initial = NULL;
            s->initial_len = s->initial_off = 0;
        }
        return (ssize_t)n;
    }
    return s->cbs.recv(s->ud, buf, len);
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    (void)flags;
    ws_session_t *s = ud;
    if (s->pending_fail)
        apply_pending_fail(s);
    if (s->failed) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (reading_paused(s)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t r;
    if (s->close_need) {
        /* Completing a held-back close payload (see check_bytes). */
        r = source_read(s, s->close_hold + s->close_held, s->close_need);
        if (r > 0) {
            s->close_held += (size_t)r;
            s->close_need -= (size_t)r;
            if (s->close_need) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
            }
            memcpy(buf, s->close_hold, s->close_held); /* len >= 125: wslay's buffer is empty */
            return (ssize_t)s->close_held;
        }
    } else {
        r = source_read(s, buf, len);
    }
    if (r == WS_IO_AGAIN) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r <= 0) {
        /* wslay reads 0 as "would block": end of stream must be a failure. */
        if (r == 0)
            fail(s, 0, NULL, "%s",
                 s->we_closed ? "connection closed before the peer answered our close"
                              : "connection closed without a close frame");
        else
            fail(s, 0, NULL, "connection broken while reading");
        wslay_event_shutdown_write(ctx);
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    size_t ok = check_bytes(s, buf, (size_t)r);
    if (ok == 0) {
        apply_pending_fail(s);
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)ok;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    (void)flags;
    ws_session_t *s = ud;
    ssize_t r = s->cbs.send(s->ud, data, len);
    if (r == WS_IO_AGAIN || r == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r < 0) {
        s->write_broken = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    track_out(s, data, (size_t)r);
    return r;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    (void)ctx;
    (void)ud;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
    (void)ctx;
    ws_session_t *s = ud;
    s->cur_opcode = arg->opcode;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE)
        s->close_len = 0;
}

static void on_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *arg, void *ud)
{
    (void)ctx;
    ws_session_t *s = ud;
    if (s->cur_opcode != WSLAY_CONNECTION_CLOSE)
        return;
    size_t n = arg->data_length;
    if (n > sizeof(s->close_payload) - s->close_len)
        n = sizeof(s->close_payload) - s->close_len; /* cannot happen: <= 125 checked */
    memcpy(s->close_payload + s->close_len, arg->data, n);
    s->close_len += n;
}

/* The peer's close frame is complete: judged here, before wslay's own
 * code validation (which rejects 1012-1014), and answered here, so that
 * wslay's later attempt to queue a close finds ours. */
static void on_frame_end(wslay_event_context_ptr ctx, void *ud)
{
    ws_session_t *s = ud;
    if (s->cur_opcode != WSLAY_CONNECTION_CLOSE || s->failed || s->peer_closed)
        return;
    const uint8_t *p = s->close_payload;
    size_t n = s->close_len;
    uint16_t code = 1005;
    if (n == 1) {
        fail(s, 1002, "protocol error", "protocol error: close frame with a 1-byte payload");
        return;
    }
    if (n >= 2) {
        code = (uint16_t)((p[0] << 8) | p[1]);
        if (!wsf_close_code_valid(code)) {
            fail(s, 1002, "protocol error", "protocol error: invalid close code %u", code);
            return;
        }
        if (!utf8_ok(p + 2, n - 2)) {
            fail(s, 1007, "invalid UTF-8", "invalid UTF-8 in the peer's close reason");
            return;
        }
    }
    s->peer_closed = true;
    s->peer_code = code;
    s->peer_reason_len = n >= 2 ? n - 2 : 0;
    if (s->peer_reason_len)
        memcpy(s->peer_reason, p + 2, s->peer_reason_len);
    s->peer_reason[s->peer_reason_len] = '\0';
    bool answered = false;
    if (!s->we_closed) {
        /* Echo the code (RFC 6455 5.5.1), without a reason. */
        if (wslay_event_queue_close(ctx, code == 1005 ? 0 : code, NULL, 0) == 0)
            s->we_closed = answered = true;
    }
    wslay_event_shutdown_read(ctx);
    if (s->cbs.on_close)
        s->cbs.on_close(s->ud, code, s->peer_reason, s->peer_reason_len);
    if (answered && s->on_sent)
        s->on_sent(s->ud, WS_CLOSE, (const uint8_t *)"", 0, code);
}

/* A compressed message (RSV1): inflated within --max-message, then
 * judged as wslay judges plain ones (it leaves UTF-8 to us for these). */
static void deflated_message(ws_session_t *s, const struct wslay_event_on_msg_recv_arg *arg)
{
    buf_t m;
    buf_init(&m);
    int rc = ws_pmd_inflate(s->pmd, arg->msg, arg->msg_length, s->max_message, &m);
    if (rc == WS_PMD_TOO_BIG)
        fail(s, 1009, "message too big",
             "message larger than --max-message (%zu bytes) once inflated", s->max_message);
    else if (rc == WS_PMD_CORRUPT)
        fail(s, 1007, "invalid compressed data",
             "invalid permessage-deflate data in a %s message",
             arg->opcode == WSLAY_TEXT_FRAME ? "text" : "binary");
    else if (rc != WS_PMD_OK)
        fail(s, 1011, "out of memory", "out of memory inflating a message");
    else if (arg->opcode == WSLAY_TEXT_FRAME && !utf8_ok((const uint8_t *)m.p, m.len))
        fail(s, 1007, "invalid UTF-8", "invalid UTF-8 in a text message");
    else if (s->cbs.on_message)
        s->cbs.on_message(s->ud, arg->opcode == WSLAY_TEXT_FRAME ? WS_TEXT : WS_BINARY,
                          (const uint8_t *)m.p, m.len, 0);
    buf_free(&m);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    ws_session_t *s = ud;
    if (arg->opcode == WSLAY_PING && wslay_event_get_write_enabled(ctx) && !s->we_closed)
        s->pongs_owed++; /* wslay has just queued its pong */
    if ((arg->rsv & WSLAY_RSV1_BIT) && !s->failed && s->pmd &&
        (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)) {
        deflated_message(s, arg);
        return;
    }
    if (s->failed || !s->cbs.on_message)
        return;
    uint64_t rtt = 0;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
        s->cbs.on_message(s->ud, WS_TEXT, arg->msg, arg->msg_length, 0);
        break;
    case WSLAY_BINARY_FRAME:
        s->cbs.on_message(s->ud, WS_BINARY, arg->msg, arg->msg_length, 0);
        break;
    case WSLAY_PING:
        s->cbs.on_message(s->ud, WS_PING, arg->msg, arg->msg_length, 0);
        break;
    case WSLAY_PONG:
        for (size_t i = 0; i < PING_SLOTS; i++) {
            struct ping_slot *p = &s->pings[i];
            if (p->sent_ns && p->len == arg->msg_length &&
                (p->len == 0 || memcmp(p->payload, arg->msg, p->len) == 0)) {
                rtt = mono_ns() - p->sent_ns;
                if (rtt == 0)
                    rtt = 1;
                p->sent_ns = 0;
                break;
            }
        }
        s->cbs.on_message(s->ud, WS_PONG, arg->msg, arg->msg_length, rtt);
        break;
    default:
        break; /* close: handled in on_frame_end */
    }
}

/* ---- API ---- */

ws_session_t *ws_session_new(bool server, size_t max_message, const ws_session_callbacks_t *cbs,
                             void *ud)
{
    ws_session_t *s = xcalloc(1, sizeof(*s));
    s->server = server;
    s->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
    s->cbs = *cbs;
    s->ud = ud;
    struct wslay_event_callbacks wc = {
        .recv_callback = on_recv,
        .send_callback = on_send,
        .genmask_callback = server ? NULL : on_genmask,
        .on_frame_recv_start_callback = on_frame_start,
        .on_frame_recv_chunk_callback = on_frame_chunk,
        .on_frame_recv_end_callback = on_frame_end,
        .on_msg_recv_callback = on_msg,
    };
    int rc = server ? wslay_event_context_server_init(&s->ctx, &wc, s)
                    : wslay_event_context_client_init(&s->ctx, &wc, s);
    if (rc != 0) {
        fprintf(stderr, "evcat: out of memory (wslay context)\n");
        abort();
    }
    wslay_event_config_set_max_recv_msg_length(s->ctx, s->max_message);
    wslay_event_config_set_allowed_rsv_bits(s->ctx, WSLAY_RSV_NONE);
    return s;
}

void ws_session_free(ws_session_t *s)
{
    if (!s)
        return;
    wslay_event_context_free(s->ctx);
    ws_pmd_free(s->pmd);
    free(s->initial);
    free(s);
}

void ws_session_set_deflate(ws_session_t *s, ws_pmd_t *pmd)
{
    ws_pmd_free(s->pmd);
    s->pmd = pmd;
    wslay_event_config_set_allowed_rsv_bits(s->ctx, pmd ? WSLAY_RSV1_BIT : WSLAY_RSV_NONE);
    wslay_event_config_set_max_recv_msg_length(
        s->ctx, pmd ? (uint64_t)ws_pmd_wire_max(s->max_message) : s->max_message);
}

void ws_session_feed_initial(ws_session_t *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    size_t left = s->initial_len - s->initial_off;
    uint8_t *b = xmalloc(left + n);
    if (left)
        memcpy(b, s->initial + s->initial_off, left);
    memcpy(b + left, p, n);
    free(s->initial);
    s->initial = b;
    s->initial_len = left + n;
    s->initial_off = 0;
}

ws_session_state_t ws_session_state(const ws_session_t *s)
{
    if (s->failed)
        return WS_SESSION_FAILED;
    if (s->peer_closed && (wslay_event_get_close_sent(s->ctx) || s->write_broken))
        return WS_SESSION_CLOSED;
    if (s->peer_closed || s->we_closed)
        return WS_SESSION_CLOSING;
    return WS_SESSION_OPEN;
}

ws_session_state_t ws_session_write(ws_session_t *s)
{
    if (!wslay_event_want_write(s->ctx))
        return ws_session_state(s);
    int rc = wslay_event_send(s->ctx);
    if (rc != 0 && !s->peer_closed) {
        if (s->write_broken)
            fail(s, 0, NULL, "connection broken while writing");
        else
            fail(s, 0, NULL, "cannot send (wslay error %d)", rc);
    }
    return ws_session_state(s);
}

ws_session_state_t ws_session_read(ws_session_t *s)
{
    /* Reading that paused for the pongs owed goes on once they could be
     * written: a transport that takes everything (evcat serve's) never
     * leaves input unread. */
    while (!s->failed && wslay_event_get_read_enabled(s->ctx)) {
        int rc = wslay_event_recv(s->ctx);
        if (rc == WSLAY_ERR_NOMEM)
            fail(s, 1011, "out of memory", "out of memory receiving a message");
        else if (rc != 0 && !s->failed)
            fail(s, 1002, "protocol error", "protocol error (wslay error %d)", rc);
        if (!s->failed && !s->peer_closed && !wslay_event_get_read_enabled(s->ctx)) {
            /* wslay stopped reading on its own verdict: with every other
             * violation caught by the checker, that is invalid UTF-8. */
            s->failed = true;
            s->code_sent = s->we_closed ? 0 : 1007;
            /* wslay's close carries the code and no reason: told like ours */
            if (!s->we_closed && s->on_sent)
                s->on_sent(s->ud, WS_CLOSE, (const uint8_t *)"", 0, 1007);
            s->we_closed = true;
            snprintf(s->error, sizeof(s->error), "invalid UTF-8 in a %s",
                     s->cur_opcode == WSLAY_CONNECTION_CLOSE ? "close reason" : "text message");
        }
        if (!reading_paused(s))
            break;
        ws_session_write(s);
        if (reading_paused(s))
            break; /* the transport is full: the caller waits for it */
    }
    /* Pongs and close answers go out without waiting for the caller. */
    return ws_session_write(s);
}

bool ws_session_want_read(const ws_session_t *s)
{
    return !s->failed && wslay_event_want_read(s->ctx) && !reading_paused(s);
}

bool ws_session_want_write(const ws_session_t *s)
{
    return wslay_event_want_write(s->ctx);
}

size_t ws_session_queued(const ws_session_t *s)
{
    return wslay_event_get_queued_msg_length(s->ctx);
}

int ws_session_send(ws_session_t *s, ws_type_t type, const void *p, size_t n)
{
    if (s->failed || s->we_closed || s->peer_closed)
        return -1;
    uint8_t op;
    switch (type) {
    case WS_TEXT:
        op = WSLAY_TEXT_FRAME;
        break;
    case WS_BINARY:
        op = WSLAY_BINARY_FRAME;
        break;
    case WS_PING:
        op = WSLAY_PING;
        break;
    case WS_PONG:
        op = WSLAY_PONG;
        break;
    default:
        return -1;
    }
    if (op >= 8 && n > 125)
        return -1;
    if (s->pmd && op < 8) {
        buf_t z;
        buf_init(&z);
        int rc = ws_pmd_deflate(s->pmd, p, n, &z);
        if (rc == WS_PMD_OK) {
            struct wslay_event_msg zm = {op, (const uint8_t *)z.p, z.len};
            rc = wslay_event_queue_msg_ex(s->ctx, &zm, WSLAY_RSV1_BIT);
        }
        buf_free(&z);
        if (rc != WS_PMD_PLAIN)
            return rc == 0 ? 0 : -1; /* wslay copied what it queued */
    }
    struct wslay_event_msg m = {op, p, n};
    return wslay_event_queue_msg(s->ctx, &m) == 0 ? 0 : -1;
}

int ws_session_ping(ws_session_t *s, const void *payload, size_t n)
{
    char counter[24];
    if (!payload) { /* the count in decimal: readable where the pong is shown */
        int k = snprintf(counter, sizeof(counter), "%" PRIu64, ++s->ping_counter);
        payload = counter;
        n = (size_t)k;
    }
    if (n > 125 || ws_session_send(s, WS_PING, payload, n) != 0)
        return -1;
    /* A free slot, else the oldest: its pong is unlikely to come. */
    struct ping_slot *slot = &s->pings[0];
    for (size_t i = 0; i < PING_SLOTS; i++) {
        if (!s->pings[i].sent_ns) {
            slot = &s->pings[i];
            break;
        }
        if (s->pings[i].sent_ns < slot->sent_ns)
            slot = &s->pings[i];
    }
    slot->sent_ns = mono_ns();
    slot->len = (uint8_t)n;
    if (n)
        memcpy(slot->payload, payload, n);
    if (s->on_sent)
        s->on_sent(s->ud, WS_PING, payload, n, 0);
    return 0;
}

int ws_session_close(ws_session_t *s, uint16_t code, const char *reason)
{
    if (s->failed || s->we_closed || s->peer_closed)
        return -1;
    size_t rlen = 0;
    if (code && reason)
        rlen = utf8_cut(reason, strlen(reason), 123);
    if (wslay_event_queue_close(s->ctx, code, (const uint8_t *)(rlen ? reason : ""), rlen) != 0)
        return -1;
    s->we_closed = true;
    if (s->on_sent)
        s->on_sent(s->ud, WS_CLOSE, (const uint8_t *)(rlen ? reason : ""), rlen,
                   code ? code : 1005);
    return 0;
}

void ws_session_on_sent(ws_session_t *s, ws_session_sent_fn fn)
{
    s->on_sent = fn;
}

const char *ws_session_error(const ws_session_t *s, uint16_t *code_sent)
{
    if (code_sent)
        *code_sent = s->failed ? s->code_sent : 0;
    return s->failed ? s->error : "";
}

bool ws_session_peer_close(const ws_session_t *s, uint16_t *code, const char **reason,
                           size_t *reason_len)
{
    if (!s->peer_closed)
        return false;
    if (code)
        *code = s->peer_code;
    if (reason)
        *reason = s->peer_reason;
    if (reason_len)
        *reason_len = s->peer_reason_len;
    return true;
}

const char *ws_close_code_name(uint16_t code)
{
    switch (code) {
    case 1000:
        return "normal closure";
    case 1001:
        return "going away";
    case 1002:
        return "protocol error";
    case 1003:
        return "unsupported data";
    case 1005:
        return "no status received";
    case 1006:
        return "abnormal closure";
    case 1007:
        return "invalid frame payload data";
    case 1008:
        return "policy violation";
    case 1009:
        return "message too big";
    case 1010:
        return "mandatory extension";
    case 1011:
        return "internal error";
    case 1012:
        return "service restart";
    case 1013:
        return "try again later";
    case 1014:
        return "bad gateway";
    case 1015:
        return "TLS handshake failure";
    default:
        if (code >= 3000 && code <= 3999)
            return "registered";
        if (code >= 4000 && code <= 4999)
            return "private use";
        return "unknown";
    }
}
