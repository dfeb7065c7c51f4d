/* bench_ws_deflate: permessage-deflate for bench's WebSocket driver (see
 * bench_ws_deflate.h). */
#include "bench_ws_deflate.h"
#include "ws_frame.h"

#include <string.h>

ws_pmd_t *bwz_start(bench_worker_t *w, ws_pmd_pool_t **pool, const ws_pmd_params_t *p)
{
    if (!*pool)
        *pool = ws_pmd_pool_new();
    w->deflate_conns++;
    return ws_pmd_new(p, false, *pool, w->cfg->compress_takeover ? WS_PMD_LEAN : WS_PMD_NO_KEEP);
}

size_t bwz_frame(ws_pmd_t *pmd, buf_t *z, uint32_t mask, uint8_t *out, unsigned op,
                 const uint8_t *p, size_t n)
{
    buf_reset(z);
    if (pmd && ws_pmd_deflate(pmd, p, n, z) == WS_PMD_OK) {
        size_t h = wsf_header(out, op, true, z->len, mask);
        out[0] |= 0x40; /* RSV1: a compressed message */
        wsf_mask_copy(out + h, (const uint8_t *)z->p, z->len, mask, 0);
        return h + z->len;
    }
    /* Not agreed, or this side may not compress (window 8): plain. */
    size_t h = wsf_header(out, op, true, n, mask);
    wsf_mask_copy(out + h, p, n, mask, 0);
    return h + n;
}

uint16_t bwz_inflate(ws_pmd_t *pmd, unsigned op, const uint8_t *p, size_t n, size_t max,
                     buf_t *out, const char **why)
{
    buf_reset(out);
    int rc = ws_pmd_inflate(pmd, p, n, max, out);
    if (rc == WS_PMD_TOO_BIG)
        return *why = "message too big", 1009;
    if (rc == WS_PMD_CORRUPT)
        return *why = "invalid compressed data", 1007;
    if (rc != WS_PMD_OK)
        return *why = "out of memory", 1011;
    if (op == WSF_TEXT && !wsf_utf8_valid((const uint8_t *)out->p, out->len))
        return *why = "invalid UTF-8", 1007;
    return 0;
}
