/* bench_ws_deflate: permessage-deflate on the WebSocket driver's
 * connections (evcat(1), bench --compress and --compress-takeover).
 * bench_ws.c owns the connections and their buffers; these functions turn
 * a message into a compressed frame and a gathered compressed message back
 * into the message, with the worker's shared zlib contexts.
 *
 * --compress offers no context takeover both ways: every message is
 * compressed and inflated on its own, so the worker's pool holds the only
 * zlib state (one compressor per window size, one inflater) and a
 * connection keeps a ws_pmd_t of a few dozen bytes. --compress-takeover
 * lets contexts be kept: each connection then owns zlib state (WS_PMD_LEAN
 * bounds its compressor; its inflater takes the server's window), which
 * the pool counts too (the summary's zlib peak). */
#ifndef EVCAT_BENCH_WS_DEFLATE_H
#define EVCAT_BENCH_WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "bench_worker.h"
#include "buf.h"
#include "ws_deflate.h"

/* The codec of a connection that agreed on p (the pool made on first use),
 * counted in w's deflate connections. */
ws_pmd_t *bwz_start(bench_worker_t *w, ws_pmd_pool_t **pool, const ws_pmd_params_t *p);

/* A masked data frame for the payload p[0..n) at out, which has room for
 * WSF_MAX_HEADER + ws_pmd_deflate_bound(n) bytes: compressed through z
 * (RSV1) when pmd is not NULL and may compress, plain otherwise. Returns
 * its length. */
size_t bwz_frame(ws_pmd_t *pmd, buf_t *z, uint32_t mask, uint8_t *out, unsigned op,
                 const uint8_t *p, size_t n);

/* Inflates a whole compressed message p[0..n) of opcode op into out
 * (emptied first), within max bytes. Returns 0, or the close code the
 * connection must fail with (1009 too big, 1007 bad data or UTF-8, 1011)
 * and *why its reason. */
uint16_t bwz_inflate(ws_pmd_t *pmd, unsigned op, const uint8_t *p, size_t n, size_t max,
                     buf_t *out, const char **why);

#endif
