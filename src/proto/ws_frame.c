#include "ws_frame.h"
#include "ws_deflate.h"

#include <string.h>

/* ---- encoder ---- */

size_t wsf_header(uint8_t *out, unsigned opcode, bool fin, uint64_t len, uint32_t mask)
{
    size_t k;
    out[0] = (uint8_t)((fin ? 0x80u : 0u) | (opcode & 0x0fu));
    if (len < 126) {
        out[1] = (uint8_t)(0x80u | len);
        k = 2;
    } else if (len <= 0xffff) {
        out[1] = 0x80u | 126u;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        k = 4;
    } else {
        out[1] = 0x80u | 127u;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        k = 10;
    }
    memcpy(out + k, &mask, 4);
    return k + 4;
}

/* The key as it applies from payload byte `offset` on, 4 bytes repeated
 * twice, so masking runs a 64-bit word at a time whatever the byte order. */
static void rotated_key(uint32_t mask, uint64_t offset, uint8_t rk[8])
{
    uint8_t kb[4];
    memcpy(kb, &mask, 4);
    for (unsigned i = 0; i < 8; i++)
        rk[i] = kb[(i + offset) & 3];
}

void wsf_mask(uint8_t *p, size_t n, uint32_t mask, uint64_t offset)
{
    wsf_mask_copy(p, p, n, mask, offset);
}

/* dst == src is fine too (wsf_mask): each word is read before it is written. */
void wsf_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, uint32_t mask, uint64_t offset)
{
    uint8_t rk[8];
    rotated_key(mask, offset, rk);
    uint64_t m;
    memcpy(&m, rk, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ rk[i & 3];
}

size_t wsf_frame(uint8_t *out, unsigned opcode, const void *payload, size_t n, uint32_t mask)
{
    size_t h = wsf_header(out, opcode, true, n, mask);
    if (n)
        wsf_mask_copy(out + h, payload, n, mask, 0);
    return h + n;
}

size_t wsf_close_frame(uint8_t *out, uint16_t code, const char *reason, uint32_t mask)
{
    uint8_t pl[WSF_MAX_CONTROL];
    size_t n = 0;
    if (code) {
        pl[0] = (uint8_t)(code >> 8);
        pl[1] = (uint8_t)code;
        n = 2;
        size_t r = reason ? strlen(reason) : 0;
        if (r > WSF_MAX_CONTROL - 2) {
            r = WSF_MAX_CONTROL - 2;
            while (r > 0 && ((unsigned char)reason[r] & 0xc0) == 0x80)
                r--; /* do not cut a UTF-8 sequence */
        }
        if (r)
            memcpy(pl + 2, reason, r);
        n += r;
    }
    return wsf_frame(out, WSF_CLOSE, pl, n, mask);
}

bool wsf_close_code_valid(uint16_t c)
{
    return (c >= 1000 && c <= 1014 && c != 1004 && c != 1005 && c != 1006) ||
           (c >= 3000 && c <= 4999);
}

/* ---- decoder ---- */

enum { ST_HDR, ST_PAYLOAD, ST_CLOSED, ST_FAILED };

void wsf_decoder_init(wsf_decoder_t *d, uint64_t max_message)
{
    memset(d, 0, sizeof(*d));
    d->max_message = max_message;
    d->state = ST_HDR;
}

void wsf_decoder_allow_rsv1(wsf_decoder_t *d)
{
    d->rsv1_ok = 1;
}

bool wsf_decoder_idle(const wsf_decoder_t *d)
{
    return d->state == ST_HDR && d->hdr_len == 0 && d->msg_opcode == 0;
}

/* Validates p[0..n) as the continuation of a UTF-8 text, carrying a
 * sequence cut by the end of p over in *u. ASCII runs go 8 bytes at a
 * time: echo payloads and JSON are mostly ASCII. */
static bool utf8_feed(wsf_utf8_t *u, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (u->need) {
            uint8_t c = p[i++];
            if (c < u->lo || c > u->hi)
                return false;
            u->lo = 0x80;
            u->hi = 0xbf;
            u->need--;
            continue;
        }
        for (; i + 8 <= n; i += 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (v & 0x8080808080808080ull)
                break;
        }
        if (i >= n)
            break;
        uint8_t c = p[i++];
        if (c < 0x80)
            continue;
        u->lo = 0x80;
        u->hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            u->need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            u->need = 2;
            if (c == 0xe0)
                u->lo = 0xa0; /* overlong */
            else if (c == 0xed)
                u->hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            u->need = 3;
            if (c == 0xf0)
                u->lo = 0x90; /* overlong */
            else if (c == 0xf4)
                u->hi = 0x8f; /* over U+10FFFF */
        } else {
            return false;
        }
    }
    return true;
}

bool wsf_utf8_valid(const uint8_t *p, size_t n)
{
    wsf_utf8_t u = {0, 0x80, 0xbf};
    return utf8_feed(&u, p, n) && u.need == 0;
}

static size_t fail(wsf_decoder_t *d, wsf_event_t *ev, uint16_t code, const char *why)
{
    d->state = ST_FAILED;
    d->error_code = code;
    d->error = why;
    ev->type = WSF_EV_ERROR;
    ev->error_code = code;
    ev->error = why;
    return 0;
}

/* Header length from its second byte (a server's frames carry no mask key;
 * a masked one is rejected once the length is read). */
static size_t hdr_size(uint8_t b1)
{
    uint8_t l = b1 & 0x7f;
    return l == 126 ? 4 : l == 127 ? 10 : 2;
}

/* Checks a complete header and opens its frame. 0, or -1 after fail(). */
static int start_frame(wsf_decoder_t *d, const uint8_t *h, wsf_event_t *ev)
{
    uint8_t b0 = h[0], b1 = h[1];
    unsigned op = b0 & 0x0f;
    bool fin = b0 & 0x80;
    bool rsv1 = b0 & 0x40;
    if ((b0 & 0x30) || (rsv1 && !d->rsv1_ok))
        return fail(d, ev, 1002, "reserved bits set without a negotiated extension"), -1;
    if (rsv1 && (op & 0x08))
        return fail(d, ev, 1002, "RSV1 set on a control frame"), -1;
    if (rsv1 && op == WSF_CONT)
        return fail(d, ev, 1002, "RSV1 set on a continuation frame"), -1;
    if ((op > WSF_BINARY && op < WSF_CLOSE) || op > WSF_PONG)
        return fail(d, ev, 1002, "reserved opcode"), -1;
    if (b1 & 0x80)
        return fail(d, ev, 1002, "masked frame from the server"), -1;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126)
            return fail(d, ev, 1002, "frame length not in its minimal encoding"), -1;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        if (len >> 63)
            return fail(d, ev, 1002, "64-bit frame length with its most significant bit set"), -1;
        if (len <= 0xffff)
            return fail(d, ev, 1002, "frame length not in its minimal encoding"), -1;
    }
    if (op & 0x08) {
        if (!fin)
            return fail(d, ev, 1002, "fragmented control frame"), -1;
        if (len > WSF_MAX_CONTROL)
            return fail(d, ev, 1002, "control frame over 125 bytes"), -1;
        d->ctl_len = (uint8_t)len;
        if (op == WSF_CLOSE) {
            d->close_got = 0;
            d->close_code = 0;
            d->cutf8 = (wsf_utf8_t){0, 0x80, 0xbf};
        }
    } else {
        if (op == WSF_CONT) {
            if (!d->msg_opcode)
                return fail(d, ev, 1002, "continuation frame without a message to continue"), -1;
        } else {
            if (d->msg_opcode)
                return fail(d, ev, 1002, "new data frame inside a fragmented message"), -1;
            d->msg_opcode = (uint8_t)op;
            d->msg_rsv1 = rsv1;
            d->msg_len = 0;
            d->utf8 = (wsf_utf8_t){0, 0x80, 0xbf};
        }
        uint64_t max = d->msg_rsv1 && d->max_message ? ws_pmd_wire_max(d->max_message)
                                                      : d->max_message;
        if (max && len > max - d->msg_len)
            return fail(d, ev, 1009, "message larger than the maximum message size"), -1;
        d->msg_len += len;
    }
    d->opcode = (uint8_t)op;
    d->fin = fin;
    d->remaining = len;
    d->state = ST_PAYLOAD;
    ev->frame_start = true;
    ev->frame_len = len;
    return 0;
}

/* A close frame's payload as it passes: the code from its first two
 * bytes, then the reason's UTF-8. */
static bool close_feed(wsf_decoder_t *d, const uint8_t *p, size_t n)
{
    while (n > 0 && d->close_got < 2) {
        d->close_code = (uint16_t)(d->close_code << 8 | *p++);
        d->close_got++;
        n--;
    }
    return utf8_feed(&d->cutf8, p, n);
}

size_t wsf_decode(wsf_decoder_t *d, const uint8_t *p, size_t n, wsf_event_t *ev)
{
    *ev = (wsf_event_t){.type = WSF_EV_NONE};
    if (d->state == ST_FAILED)
        return fail(d, ev, d->error_code, d->error);
    if (d->state == ST_CLOSED)
        return n;
    if (n == 0)
        return 0;

    size_t used = 0;
    if (d->state == ST_HDR) {
        const uint8_t *h;
        if (d->hdr_len == 0 && n >= 2 && n >= hdr_size(p[1])) {
            h = p; /* the usual case: the whole header is in this input */
            used = hdr_size(p[1]);
        } else {
            while (used < n) {
                if (d->hdr_len < 2) {
                    d->hdr[d->hdr_len++] = p[used++];
                    if (d->hdr_len == 2)
                        d->hdr_need = (uint8_t)hdr_size(d->hdr[1]);
                    continue;
                }
                if (d->hdr_len >= d->hdr_need)
                    break;
                size_t k = d->hdr_need - d->hdr_len;
                if (k > n - used)
                    k = n - used;
                memcpy(d->hdr + d->hdr_len, p + used, k);
                d->hdr_len = (uint8_t)(d->hdr_len + k);
                used += k;
            }
            if (d->hdr_len < 2 || d->hdr_len < d->hdr_need)
                return used; /* WSF_EV_NONE: all consumed */
            h = d->hdr;
            d->hdr_len = 0;
        }
        if (start_frame(d, h, ev) < 0)
            return 0;
    }

    /* ST_PAYLOAD */
    size_t k = n - used;
    if (k > d->remaining)
        k = (size_t)d->remaining;
    const uint8_t *data = p + used;
    bool control = d->opcode & 0x08;
    ev->type = WSF_EV_PIECE;
    ev->opcode = d->opcode;
    ev->msg_opcode = control ? d->opcode : d->msg_opcode;
    ev->fin = d->fin;
    ev->data = data;
    ev->len = k;
    ev->compressed = !control && d->msg_rsv1;
    if (!control && d->msg_opcode == WSF_TEXT && !d->msg_rsv1 && !utf8_feed(&d->utf8, data, k))
        return fail(d, ev, 1007, "invalid UTF-8 in a text message");
    if (d->opcode == WSF_CLOSE && !close_feed(d, data, k))
        return fail(d, ev, 1007, "invalid UTF-8 in a close reason");
    used += k;
    d->remaining -= k;
    if (d->remaining)
        return used;

    ev->frame_end = true;
    d->state = ST_HDR;
    if (control) {
        ev->message_end = true;
        ev->message_len = d->ctl_len;
        if (d->opcode == WSF_CLOSE) {
            if (d->close_got == 1)
                return fail(d, ev, 1002, "close frame with a 1-byte payload");
            if (d->close_got == 0) {
                ev->close_code = 1005;
            } else {
                if (!wsf_close_code_valid(d->close_code))
                    return fail(d, ev, 1002, "invalid close code");
                if (d->cutf8.need)
                    return fail(d, ev, 1007, "invalid UTF-8 in a close reason");
                ev->close_code = d->close_code;
            }
            d->state = ST_CLOSED;
        }
    } else if (d->fin) {
        if (d->msg_opcode == WSF_TEXT && !d->msg_rsv1 && d->utf8.need)
            return fail(d, ev, 1007, "text message ends inside a UTF-8 sequence");
        ev->message_end = true;
        ev->message_len = d->msg_len;
        d->msg_opcode = 0;
    }
    return used;
}
