/* libFuzzer target for src/proto/ws_frame.c: the decoder fed arbitrary bytes as a
 * server's stream. The first input byte picks the chunking (low 5 bits:
 * fixed chunk size, 0 = pseudo-random sizes), the message bound (bit 5:
 * 64 bytes, else unbounded) and permessage-deflate (bit 6: RSV1 allowed;
 * a compressed message's bytes are not UTF-8-checked, its bound is
 * ws_pmd_wire_max's, and it is re-encoded with RSV1). Checks: no crash; pieces are consistent (one
 * start per frame, lengths add up, only the last piece ends it, only the
 * start piece may be empty); every assembled text message and close reason
 * is valid UTF-8, no message passes the bound, control frames are at most
 * 125 bytes, a close code is one a peer may send; an error is sticky, has a
 * one-line reason and a code among 1002, 1007, 1009. Then every message
 * decoded is encoded again (masked, fragmented as it came), unmasked into
 * server frames and decoded whole: the same messages must come out. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "text.h"
#include "ws_frame.h"
#include "ws_deflate.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct out {
    buf_t log;      /* "<op><len>:" + payload, per message */
    buf_t msg, ctl; /* being assembled */
    buf_t frames;   /* decoded frames re-encoded as server frames */
    bool in_frame;
    uint64_t left, max;
    uint8_t op;
    uint64_t seed;
    bool rsv1;   /* permessage-deflate agreed */
    bool msg_z;  /* the data message being assembled is compressed */
};

/* Encodes a frame with the encoder (masked), then turns it into the
 * unmasked frame a server would send, appended to o->frames. */
static void reencode(struct out *o, unsigned op, bool fin, const uint8_t *p, size_t n, bool rsv1)
{
    uint8_t *f = malloc(WSF_MAX_HEADER + n + 1);
    size_t h = wsf_header(f, op, fin, n, wsf_rand(&o->seed));
    if (rsv1)
        f[0] |= 0x40;
    uint32_t mask;
    memcpy(&mask, f + h - 4, 4);
    wsf_mask_copy(f + h, p, n, mask, 0);
    f[1] &= 0x7f;
    buf_append(&o->frames, f, h - 4);
    wsf_mask(f + h, n, mask, 0);
    buf_append(&o->frames, f + h, n);
    free(f);
}

static void piece(struct out *o, const wsf_event_t *ev)
{
    CHECK(ev->frame_start == !o->in_frame);
    uint64_t max = ev->compressed && o->max ? ws_pmd_wire_max(o->max) : o->max;
    CHECK(!ev->compressed || o->rsv1);
    if (ev->frame_start) {
        o->in_frame = true;
        o->left = ev->frame_len;
        o->op = ev->opcode;
        if (ev->opcode & 8)
            CHECK(ev->frame_len <= WSF_MAX_CONTROL && ev->fin && !ev->compressed);
        else if (max)
            CHECK(ev->frame_len <= max);
        if (ev->opcode == WSF_TEXT || ev->opcode == WSF_BINARY)
            o->msg_z = ev->compressed;
        else if (ev->opcode == WSF_CONT)
            CHECK(ev->compressed == o->msg_z);
    }
    CHECK(ev->opcode == o->op);
    CHECK(ev->len <= o->left);
    CHECK(ev->frame_start || ev->len > 0);
    o->left -= ev->len;
    CHECK(ev->frame_end == (o->left == 0));
    bool control = ev->opcode & 8;
    buf_t *b = control ? &o->ctl : &o->msg;
    buf_append(b, ev->data ? (const char *)ev->data : "", ev->len);
    if (!ev->frame_end)
        return;
    o->in_frame = false;
    if (!ev->message_end)
        return;
    if (control) {
        CHECK(ev->message_len == o->ctl.len && o->ctl.len <= WSF_MAX_CONTROL);
        if (ev->opcode == WSF_CLOSE) {
            if (o->ctl.len == 0) {
                CHECK(ev->close_code == 1005);
            } else {
                CHECK(o->ctl.len >= 2 && wsf_close_code_valid(ev->close_code));
                CHECK(utf8_valid(o->ctl.p + 2, o->ctl.len - 2));
            }
        }
        buf_printf(&o->log, "%u/%zu:", ev->opcode, o->ctl.len);
        buf_append(&o->log, o->ctl.p ? o->ctl.p : "", o->ctl.len);
        reencode(o, ev->opcode, true, (const uint8_t *)o->ctl.p, o->ctl.len, false);
        buf_reset(&o->ctl);
    } else {
        CHECK(ev->message_len == o->msg.len);
        if (max)
            CHECK(o->msg.len <= max);
        bool z = ev->compressed;
        if (ev->msg_opcode == WSF_TEXT && !z)
            CHECK(utf8_valid(o->msg.p ? o->msg.p : "", o->msg.len));
        buf_printf(&o->log, "%u%s/%zu:", ev->msg_opcode, z ? "z" : "", o->msg.len);
        buf_append(&o->log, o->msg.p ? o->msg.p : "", o->msg.len);
        /* re-encoded as two fragments when it is long enough */
        const uint8_t *p = (const uint8_t *)o->msg.p;
        size_t n = o->msg.len;
        if (n >= 2 && ev->msg_opcode == WSF_BINARY) {
            reencode(o, WSF_BINARY, false, p, n / 2, z);
            reencode(o, WSF_CONT, true, p + n / 2, n - n / 2, false);
        } else {
            reencode(o, ev->msg_opcode, true, p, n, z);
        }
        buf_reset(&o->msg);
    }
}

/* Returns the error code (0 if none). */
static int run(const uint8_t *p, size_t n, unsigned chunk, uint64_t max, struct out *o)
{
    wsf_decoder_t d;
    wsf_decoder_init(&d, max);
    if (o->rsv1)
        wsf_decoder_allow_rsv1(&d);
    unsigned rng = (unsigned)n;
    size_t off = 0;
    while (off < n) {
        size_t k = chunk;
        if (!k) {
            rng = rng * 1103515245u + 12345u;
            k = 1 + (rng >> 16) % 300;
        }
        if (k > n - off)
            k = n - off;
        size_t used = 0;
        while (used < k) {
            wsf_event_t ev;
            size_t c = wsf_decode(&d, p + off + used, k - used, &ev);
            if (ev.type == WSF_EV_ERROR) {
                CHECK(c == 0 && ev.error && ev.error[0] && !strchr(ev.error, '\n'));
                CHECK(ev.error_code == 1002 || ev.error_code == 1007 || ev.error_code == 1009);
                CHECK(wsf_decode(&d, p, n, &ev) == 0 && ev.type == WSF_EV_ERROR);
                return ev.error_code;
            }
            if (ev.type == WSF_EV_NONE)
                CHECK(c == k - used);
            else
                piece(o, &ev);
            CHECK(c <= k - used);
            used += c;
        }
        off += k;
    }
    return 0;
}

static void out_init(struct out *o, uint64_t max)
{
    memset(o, 0, sizeof(*o));
    buf_init(&o->log);
    buf_init(&o->msg);
    buf_init(&o->ctl);
    buf_init(&o->frames);
    o->max = max;
    o->seed = 0x9e3779b97f4a7c15ull;
}

static void out_free(struct out *o)
{
    buf_free(&o->log);
    buf_free(&o->msg);
    buf_free(&o->ctl);
    buf_free(&o->frames);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned chunk = data[0] & 0x1f;
    uint64_t max = (data[0] & 0x20) ? 64 : 0;
    struct out a, b;
    out_init(&a, max);
    a.rsv1 = data[0] & 0x40;
    run(data + 1, size - 1, chunk, max, &a);

    /* the messages, re-encoded, decode to themselves */
    out_init(&b, max);
    b.rsv1 = a.rsv1;
    CHECK(run((const uint8_t *)a.frames.p, a.frames.len, 0, max, &b) == 0);
    CHECK(a.log.len == b.log.len && (a.log.len == 0 || memcmp(a.log.p, b.log.p, a.log.len) == 0));
    out_free(&a);
    out_free(&b);
    return 0;
}
