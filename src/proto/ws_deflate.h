/* ws_deflate: the permessage-deflate codec (RFC 7692), both directions of
 * one connection, with no I/O: a whole message in, its compressed payload
 * out (the trailing 00 00 ff ff of the sync flush taken off), and back.
 * Which parameters a connection runs with is the handshake's business
 * (ws_handshake.h: ws_pmd_offer_format, ws_pmd_check_response,
 * ws_pmd_accept); this module only honours them.
 *
 * Memory is the point of its shape. zlib's state is large: about 262 KiB to
 * compress at windowBits 15 and memLevel 8, 39 KiB to inflate (7 KiB of
 * state and the 32 KiB window). A context that must survive from one
 * message to the next (context takeover) belongs to its connection; one that
 * is reset before every message (no_context_takeover) can serve every
 * connection of a thread, since a message is compressed or inflated in one
 * call. A pool (one per thread) holds those shared contexts: one inflater
 * (windowBits 15 decodes any smaller window too) and one compressor per
 * window size in use. A connection whose both directions reset therefore
 * costs no zlib memory at all. Where a context is kept, WS_PMD_LEAN bounds
 * it (windowBits 12, memLevel 5: about 38 KiB to compress) — what servers
 * like python-websockets do by default; a compressor may always use a
 * smaller window than agreed, and reset when it likes, without telling.
 *
 * Every allocation zlib makes is counted (ws_pmd_pool_peak): bench reports
 * the real cost of kept contexts per connection from it. */
#ifndef EVCAT_WS_DEFLATE_H
#define EVCAT_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WS_PMD_MIN_BITS 8
#define WS_PMD_MAX_BITS 15
/* A kept context under WS_PMD_LEAN. */
#define WS_PMD_LEAN_BITS     12
#define WS_PMD_LEAN_MEMLEVEL 5

/* What a connection runs with: RFC 7692 section 7's parameters as agreed
 * (the server's and the client's side), with their defaults filled in. */
typedef struct ws_pmd_params {
    bool server_no_context_takeover;
    bool client_no_context_takeover;
    uint8_t server_max_window_bits; /* 8..15; 15 when the response had none */
    uint8_t client_max_window_bits; /* 8..15; 15 when the response had none */
} ws_pmd_params_t;

/* Defaults: both windows 15, contexts kept. */
void ws_pmd_params_default(ws_pmd_params_t *p);
/* "server_no_context_takeover client_max_window_bits=12 ..." for -v: every
 * parameter in effect, defaults included. */
void ws_pmd_describe(const ws_pmd_params_t *p, char *out, size_t n);

/* The largest compressed payload taken for a message of at most max bytes
 * once inflated: max plus room for the framing of incompressible data
 * (stored blocks), so that a message that fits --max-message is never
 * refused for its compressed size. The inflated size is what --max-message
 * bounds exactly. */
static inline uint64_t ws_pmd_wire_max(uint64_t max)
{
    return max + max / 8 + 256;
}
/* An upper bound of a compressed payload for n input bytes, whatever the
 * parameters (zlib's deflateBound for non-default settings, plus the sync
 * flush). */
static inline size_t ws_pmd_deflate_bound(size_t n)
{
    return n + ((n + 7) >> 3) + ((n + 63) >> 6) + 5 + 16;
}

/* ---- the shared contexts of one thread ---- */

typedef struct ws_pmd_pool ws_pmd_pool_t;

ws_pmd_pool_t *ws_pmd_pool_new(void);
/* Every connection made with the pool must be freed first. */
void ws_pmd_pool_free(ws_pmd_pool_t *p);
/* zlib bytes allocated through the pool now (its shared contexts and the
 * kept contexts of its connections), and at most so far. */
size_t ws_pmd_pool_bytes(const ws_pmd_pool_t *p);
size_t ws_pmd_pool_peak(const ws_pmd_pool_t *p);
/* Compresses the message p[0..n) with the pool's shared compressor for
 * window bits (reset first), appending its payload to out: what every
 * connection that sends with that window and without context takeover
 * (ws_pmd_tx_shared_bits) would send, so a server compresses a broadcast
 * once for all of them. Returns as ws_pmd_deflate. */
int ws_pmd_pool_deflate(ws_pmd_pool_t *pool, unsigned bits, const void *p, size_t n, buf_t *out);

/* ---- one connection ---- */

typedef struct ws_pmd ws_pmd_t;

enum {
    WS_PMD_LEAN = 1,    /* kept contexts bounded (WS_PMD_LEAN_BITS/_MEMLEVEL) */
    WS_PMD_NO_KEEP = 2, /* our compressor resets before every message even
                           where the peer would let it keep its context */
};

/* The codec of a connection that agreed on p, on its server or client
 * side. pool: where shared contexts come from and allocations are counted
 * (NULL: the connection has its own, created when first needed). Nothing
 * is allocated here for zlib: contexts come with the first message. */
ws_pmd_t *ws_pmd_new(const ws_pmd_params_t *p, bool server, ws_pmd_pool_t *pool, unsigned flags);
void ws_pmd_free(ws_pmd_t *m);
const ws_pmd_params_t *ws_pmd_params(const ws_pmd_t *m);
/* zlib bytes this connection holds of its own (kept contexts). */
size_t ws_pmd_memory(const ws_pmd_t *m);
/* How this connection's messages are compressed: the window bits of the
 * pool's shared compressor it uses (ws_pmd_pool_deflate gives the same
 * payload), 0 when they go uncompressed, -1 when it keeps a context of its
 * own (or has no pool). */
int ws_pmd_tx_shared_bits(const ws_pmd_t *m);

enum {
    WS_PMD_OK = 0,
    WS_PMD_PLAIN = 1,     /* deflate: send this message uncompressed (RSV1 clear) */
    WS_PMD_TOO_BIG = -1,  /* inflate: more than max bytes */
    WS_PMD_CORRUPT = -2,  /* inflate: not a valid compressed payload */
    WS_PMD_NOMEM = -3,    /* zlib could not allocate its state */
};

/* Compresses the message p[0..n) and appends its payload to out (at most
 * ws_pmd_deflate_bound(n) bytes). Returns WS_PMD_OK; WS_PMD_PLAIN when this
 * side may use a window of 256 bytes only, which zlib cannot produce
 * (windowBits 8 is refused for raw deflate): every message then goes
 * uncompressed, which RFC 7692 allows; or WS_PMD_NOMEM. */
int ws_pmd_deflate(ws_pmd_t *m, const void *p, size_t n, buf_t *out);

/* Inflates the payload p[0..n) of one compressed message (RSV1 set),
 * appending the message to out, which grows step by step and never past
 * max + 1 bytes of output (its allocation at most twice that): a message
 * over max stops there with WS_PMD_TOO_BIG, whatever its announced size —
 * a small "decompression bomb" never gets to allocate what it would
 * inflate to. Returns WS_PMD_OK, WS_PMD_TOO_BIG, WS_PMD_CORRUPT (out then
 * holds what came before the error) or WS_PMD_NOMEM. After an error the
 * connection must fail: a kept context is no longer in step with the
 * peer's. */
int ws_pmd_inflate(ws_pmd_t *m, const void *p, size_t n, size_t max, buf_t *out);

#endif
