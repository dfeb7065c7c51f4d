/* ws_frame: a lean RFC 6455 frame codec for the client side of the load
 * tester. wslay keeps ~5 KiB per context; at 19,000 connections that alone
 * would be half the per-connection budget, so bench_ws frames with this
 * instead (ws_session and the interactive commands keep wslay).
 *
 * Pure: no I/O, no allocation, no clock. The encoder writes masked frames
 * (a client must mask; the key comes from a cheap PRNG the caller owns,
 * since masking protects proxies from cache poisoning by scripts, not our
 * data). The decoder is an incremental state machine of a few dozen bytes:
 * feed it whatever a read returned and it hands back pieces of frames
 * pointing into that input, checking every rule a client must enforce on
 * a server's frames, UTF-8 of text messages and close reasons included
 * (validated across pieces, so nothing needs to be assembled for it). */
#ifndef EVCAT_WS_FRAME_H
#define EVCAT_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WSF_CONT = 0x0,
    WSF_TEXT = 0x1,
    WSF_BINARY = 0x2,
    WSF_CLOSE = 0x8,
    WSF_PING = 0x9,
    WSF_PONG = 0xA,
};

/* The longest header a client writes: 2 + 8 (64-bit length) + 4 (mask). */
#define WSF_MAX_HEADER 14
/* The largest control frame payload (RFC 6455 5.5). */
#define WSF_MAX_CONTROL 125

/* ---- encoder ---- */

/* The per-worker mask source: xorshift64 (never seed it with 0). */
static inline uint32_t wsf_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return (uint32_t)(x >> 32);
}

/* Writes a masked frame header for a payload of len bytes into out
 * (WSF_MAX_HEADER bytes at least) and returns its length. mask is written
 * in its memory byte order, the order wsf_mask uses. */
size_t wsf_header(uint8_t *out, unsigned opcode, bool fin, uint64_t len, uint32_t mask);

/* XORs p[0..n) with the mask, as bytes offset.. of the payload (so a
 * payload may be masked in several pieces). */
void wsf_mask(uint8_t *p, size_t n, uint32_t mask, uint64_t offset);
/* The same from src into dst (may not overlap): one pass for a copy. */
void wsf_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, uint32_t mask, uint64_t offset);

/* A whole final frame: header plus the masked copy of payload into out
 * (WSF_MAX_HEADER + n bytes at least). Returns the frame's length. */
size_t wsf_frame(uint8_t *out, unsigned opcode, const void *payload, size_t n, uint32_t mask);

/* A close frame: code (0: none, an empty payload) and a reason cut to
 * 123 bytes. out: WSF_MAX_HEADER + WSF_MAX_CONTROL bytes. Returns its length. */
size_t wsf_close_frame(uint8_t *out, uint16_t code, const char *reason, uint32_t mask);

/* Whether a peer may send this close code (1012-1014 included: servers
 * use them for restarts; 1004-1006, 1015 and unassigned ranges not). */
bool wsf_close_code_valid(uint16_t code);

/* ---- decoder ---- */

/* Fields are wsframe.c's. */
typedef struct wsf_utf8 {
    uint8_t need;  /* continuation bytes still expected */
    uint8_t lo, hi;/* bounds of the next one (overlongs, surrogates, > U+10FFFF) */
} wsf_utf8_t;

typedef struct wsf_decoder {
    uint64_t max_message;  /* 0: unbounded */
    uint64_t remaining;    /* payload bytes of the current frame not yet delivered */
    uint64_t msg_len;      /* payload bytes of the open data message so far */
    const char *error;     /* the violation, once failed */
    uint16_t error_code;   /* the close code to send for it */
    uint16_t close_code;   /* a close frame's code as its first 2 bytes arrive */
    uint8_t hdr[10];       /* a header split across inputs */
    uint8_t hdr_len, hdr_need;
    uint8_t state;
    uint8_t opcode;        /* of the current frame */
    uint8_t msg_opcode;    /* TEXT or BINARY while a data message is open, else 0 */
    uint8_t fin;
    uint8_t close_got;     /* bytes of the close code seen */
    uint8_t ctl_len;       /* the current control frame's payload length */
    uint8_t rsv1_ok;       /* permessage-deflate: RSV1 marks a compressed message */
    uint8_t msg_rsv1;      /* the open data message is compressed */
    wsf_utf8_t utf8;       /* the open text message */
    wsf_utf8_t cutf8;      /* the close reason */
} wsf_decoder_t;

typedef enum {
    WSF_EV_NONE,  /* every input byte was consumed, nothing to report */
    WSF_EV_PIECE, /* a piece of a frame (see wsf_event_t) */
    WSF_EV_ERROR, /* a violation: send a close with code, then drop the connection */
} wsf_event_type_t;

/* One piece of a frame. Every frame yields exactly one piece with
 * frame_start (as soon as its header is complete, with whatever payload
 * followed it in the same input: maybe none), then pieces with data until
 * the one with frame_end (which may be the first). Control frames may
 * arrive between the frames of a fragmented message. */
typedef struct wsf_event {
    wsf_event_type_t type;
    uint8_t opcode;         /* the frame's (WSF_CONT for a continuation) */
    uint8_t msg_opcode;     /* data frames: TEXT or BINARY of the message; control: = opcode */
    bool fin;
    bool frame_start;
    bool frame_end;
    bool message_end;       /* frame_end of a final data frame, or of any control frame */
    uint64_t frame_len;     /* with frame_start: the whole payload's length */
    uint64_t message_len;   /* with message_end: the data message's (or control frame's) length */
    const uint8_t *data;    /* payload bytes of this piece, unmasked, in the input */
    size_t len;
    bool compressed;        /* data frames: the message has RSV1 (permessage-deflate) */
    uint16_t close_code;    /* message_end of a close frame: its code, 1005 if none */
    uint16_t error_code;    /* WSF_EV_ERROR: 1002, 1007 or 1009 */
    const char *error;      /* WSF_EV_ERROR: one line saying what was wrong */
} wsf_event_t;

/* max_message bounds a data message's total payload (0: unbounded); a
 * frame that would pass it fails at its header with 1009, before any of it
 * is delivered, so a caller that assembles never holds more. */
void wsf_decoder_init(wsf_decoder_t *d, uint64_t max_message);

/* Decodes from p[0..n) and returns how many bytes it consumed; *ev says
 * what they were. Call again with the rest until it returns WSF_EV_NONE
 * (all consumed). After WSF_EV_ERROR the decoder stays failed (every call
 * returns the same error and consumes nothing). After a whole close frame,
 * further bytes are consumed and ignored (nothing may follow a close). */
size_t wsf_decode(wsf_decoder_t *d, const uint8_t *p, size_t n, wsf_event_t *ev);

/* permessage-deflate was agreed: RSV1 on a message's first frame marks it
 * compressed (its pieces come with `compressed`, UTF-8 unchecked: the
 * caller checks the inflated text, wsf_utf8_valid), and max_message bounds
 * such a message's compressed bytes by ws_pmd_wire_max(max_message). RSV1
 * on a control or continuation frame, RSV2 and RSV3 stay errors (1002). */
void wsf_decoder_allow_rsv1(wsf_decoder_t *d);

/* Whether p[0..n) is valid UTF-8 (RFC 3629: no overlongs, surrogates or
 * code points past U+10FFFF). */
bool wsf_utf8_valid(const uint8_t *p, size_t n);

/* Whether the decoder is between frames with no data message open. */
bool wsf_decoder_idle(const wsf_decoder_t *d);

#endif
