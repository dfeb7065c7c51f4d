/* libFuzzer target for src/proto/ws_deflate.c: the inflate path fed
 * arbitrary payloads as a peer's compressed messages. The first input byte
 * picks the mode (bit 0: the peer keeps its context, so one inflater runs
 * over every message; bit 1: contexts shared through a pool; bits 2-4: the
 * peer's window, 8 + n; bits 5-7: --max-message, 0 to 7 times 1000 bytes);
 * the rest is split into messages at each 0xfe 0xfd pair. Checks: no crash
 * and no allocation beyond the bound (libFuzzer's -rss_limit_mb and ASan);
 * a message that inflates is at most max bytes, one that is too big stops
 * at exactly max + 1, and an error leaves the connection (a kept context is
 * not used again). Every message that inflated is compressed again (as
 * server and client, kept and reset) and must inflate back to the same
 * bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ws_deflate.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

/* The message inflates back the same after our own compressor. */
static void recompress(const buf_t *msg, bool keep, unsigned bits)
{
    ws_pmd_params_t p;
    ws_pmd_params_default(&p);
    p.server_no_context_takeover = p.client_no_context_takeover = !keep;
    p.server_max_window_bits = p.client_max_window_bits = (uint8_t)bits;
    ws_pmd_t *tx = ws_pmd_new(&p, true, NULL, WS_PMD_LEAN);
    ws_pmd_t *rx = ws_pmd_new(&p, false, NULL, 0);
    buf_t z, back;
    buf_init(&z);
    buf_init(&back);
    for (int round = 0; round < 2; round++) {
        buf_reset(&z);
        buf_reset(&back);
        int rc = ws_pmd_deflate(tx, msg->p, msg->len, &z);
        if (rc == WS_PMD_PLAIN) {
            CHECK(bits == 8);
            break;
        }
        CHECK(rc == WS_PMD_OK);
        CHECK(z.len <= ws_pmd_deflate_bound(msg->len));
        CHECK(ws_pmd_inflate(rx, z.p, z.len, msg->len, &back) == WS_PMD_OK);
        CHECK(back.len == msg->len && (msg->len == 0 || memcmp(back.p, msg->p, msg->len) == 0));
    }
    buf_free(&z);
    buf_free(&back);
    ws_pmd_free(tx);
    ws_pmd_free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    bool keep = mode & 1, pooled = mode & 2;
    unsigned bits = 8 + ((mode >> 2) & 7);
    size_t max = (size_t)(mode >> 5) * 1000;
    ws_pmd_params_t p;
    ws_pmd_params_default(&p);
    p.server_no_context_takeover = !keep;
    p.server_max_window_bits = (uint8_t)bits;
    ws_pmd_pool_t *pool = pooled ? ws_pmd_pool_new() : NULL;
    ws_pmd_t *m = ws_pmd_new(&p, false, pool, 0);
    const uint8_t *q = data + 1, *end = data + size;
    buf_t out;
    buf_init(&out);
    while (q <= end) {
        const uint8_t *sep = q;
        while (sep + 1 < end && !(sep[0] == 0xfe && sep[1] == 0xfd))
            sep++;
        if (sep + 1 >= end)
            sep = end;
        buf_reset(&out);
        int rc = ws_pmd_inflate(m, q, (size_t)(sep - q), max, &out);
        if (rc == WS_PMD_OK) {
            CHECK(out.len <= max);
            recompress(&out, keep, bits < 9 ? 9 : bits);
        } else {
            CHECK(rc == WS_PMD_TOO_BIG || rc == WS_PMD_CORRUPT);
            if (rc == WS_PMD_TOO_BIG)
                CHECK(out.len == max + 1);
            CHECK(out.cap <= 2 * (max + 1) + 8192);
            break; /* the connection fails: its context is no longer the peer's */
        }
        q = sep + 2;
    }
    buf_free(&out);
    ws_pmd_free(m);
    ws_pmd_pool_free(pool);
    return 0;
}
