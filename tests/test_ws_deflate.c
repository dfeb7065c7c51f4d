/* Unit tests for src/proto/ws_deflate.c: RFC 7692's own examples (7.2.3),
 * round trips in every mode (contexts kept or reset, shared through a pool
 * or not, lean or full), the bound on inflated output (a decompression
 * bomb stops at max + 1 bytes), payloads that must be refused (bad data,
 * cut short, data after a final block), window 8, and the memory each
 * mode costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "buf.h"
#include "ws_deflate.h"

static ws_pmd_params_t params(bool snct, bool cnct, unsigned sbits, unsigned cbits)
{
    ws_pmd_params_t p;
    ws_pmd_params_default(&p);
    p.server_no_context_takeover = snct;
    p.client_no_context_takeover = cnct;
    p.server_max_window_bits = (uint8_t)sbits;
    p.client_max_window_bits = (uint8_t)cbits;
    return p;
}

/* Inflates p[0..n) into out (emptied first); returns the result. */
static int inflate_to(ws_pmd_t *m, const void *p, size_t n, size_t max, buf_t *out)
{
    buf_reset(out);
    return ws_pmd_inflate(m, p, n, max, out);
}

static void expect_inflate(ws_pmd_t *m, const uint8_t *p, size_t n, const char *want)
{
    buf_t out;
    buf_init(&out);
    assert_int_equal(inflate_to(m, p, n, 1000, &out), WS_PMD_OK);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
    buf_free(&out);
}

/* ---- RFC 7692 section 7.2.3 ---- */

static void test_rfc_examples(void **state)
{
    (void)state;
    ws_pmd_params_t p = params(false, false, 15, 15);
    /* 7.2.3.1: "Hello" in one compressed block. */
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    /* 7.2.3.2: the second "Hello" refers to the first (context kept). */
    static const uint8_t hello2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    /* 7.2.3.3: a stored block. */
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                     0x65, 0x6c, 0x6c, 0x6f, 0x00};
    /* 7.2.3.5: BFINAL set (nothing is appended). */
    static const uint8_t final[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    /* 7.2.3.6: an empty message. */
    static const uint8_t empty[] = {0x00};

    ws_pmd_t *m = ws_pmd_new(&p, false, NULL, 0);
    expect_inflate(m, hello, sizeof(hello), "Hello");
    expect_inflate(m, hello2, sizeof(hello2), "Hello");
    expect_inflate(m, stored, sizeof(stored), "Hello");
    expect_inflate(m, empty, sizeof(empty), "");
    /* After a final block the window survives: 7.2.3.2's reference works. */
    expect_inflate(m, final, sizeof(final), "Hello");
    expect_inflate(m, hello2, sizeof(hello2), "Hello");
    ws_pmd_free(m);

    /* Our compressor writes 7.2.3.1's bytes, then 7.2.3.2's with context. */
    ws_pmd_t *c = ws_pmd_new(&p, true, NULL, 0);
    buf_t z;
    buf_init(&z);
    assert_int_equal(ws_pmd_deflate(c, "Hello", 5, &z), WS_PMD_OK);
    assert_int_equal(z.len, sizeof(hello));
    assert_memory_equal(z.p, hello, sizeof(hello));
    buf_reset(&z);
    assert_int_equal(ws_pmd_deflate(c, "Hello", 5, &z), WS_PMD_OK);
    assert_int_equal(z.len, sizeof(hello2));
    assert_memory_equal(z.p, hello2, sizeof(hello2));
    buf_reset(&z);
    assert_int_equal(ws_pmd_deflate(c, "", 0, &z), WS_PMD_OK);
    assert_int_equal(z.len, 1);
    assert_int_equal((uint8_t)z.p[0], 0x00);
    buf_free(&z);
    ws_pmd_free(c);
}

/* ---- round trips ---- */

static uint8_t *sample(size_t n, unsigned kind)
{
    uint8_t *d = malloc(n + 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        d[i] = kind == 0 ? (uint8_t)("{\"ts_ns\":1764969000123456789,\"x\":\"abc\"}"[i % 40])
                         : (uint8_t)x; /* incompressible */
    }
    return d;
}

/* Messages from a sender (server or client side, flags) to a receiver
 * agreeing on p, through pools or not, each compared. */
static void roundtrip(const ws_pmd_params_t *p, bool from_server, unsigned flags, bool pools)
{
    static const size_t sizes[] = {0, 1, 5, 64, 1000, 70000, 140000};
    ws_pmd_pool_t *pa = pools ? ws_pmd_pool_new() : NULL, *pb = pools ? ws_pmd_pool_new() : NULL;
    ws_pmd_t *tx = ws_pmd_new(p, from_server, pa, flags);
    ws_pmd_t *rx = ws_pmd_new(p, !from_server, pb, flags);
    buf_t z, out;
    buf_init(&z);
    buf_init(&out);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
            for (unsigned kind = 0; kind < 2; kind++) {
                size_t n = sizes[i];
                uint8_t *d = sample(n, kind);
                buf_reset(&z);
                int rc = ws_pmd_deflate(tx, d, n, &z);
                unsigned bits = from_server ? p->server_max_window_bits : p->client_max_window_bits;
                if (bits == 8) {
                    assert_int_equal(rc, WS_PMD_PLAIN);
                    free(d);
                    continue;
                }
                assert_int_equal(rc, WS_PMD_OK);
                assert_true(z.len <= ws_pmd_deflate_bound(n));
                assert_true(z.len <= ws_pmd_wire_max(n));
                assert_int_equal(inflate_to(rx, z.p, z.len, n, &out), WS_PMD_OK);
                assert_int_equal(out.len, n);
                assert_memory_equal(out.p, n ? (const char *)d : "", n);
                if (kind == 0 && n >= 1000)
                    assert_true(z.len < n / 4);
                free(d);
            }
        }
    }
    buf_free(&z);
    buf_free(&out);
    ws_pmd_free(tx);
    ws_pmd_free(rx);
    ws_pmd_pool_free(pa);
    ws_pmd_pool_free(pb);
}

static void test_roundtrips(void **state)
{
    (void)state;
    static const unsigned flags[] = {0, WS_PMD_LEAN, WS_PMD_NO_KEEP, WS_PMD_LEAN | WS_PMD_NO_KEEP};
    for (int snct = 0; snct < 2; snct++)
        for (int cnct = 0; cnct < 2; cnct++)
            for (unsigned bits = 8; bits <= 15; bits += 1)
                for (size_t f = 0; f < ARRAY_LEN(flags); f++)
                    for (int pools = 0; pools < 2; pools++)
                        for (int dir = 0; dir < 2; dir++) {
                            if (bits != 8 && bits != 9 && bits != 12 && bits != 15)
                                continue;
                            ws_pmd_params_t p = params(snct, cnct, bits, 23 - bits);
                            roundtrip(&p, dir, flags[f], pools);
                        }
}

/* Messages from many connections interleaved through one pool's shared
 * contexts (no takeover either way) come out right for each. */
static void test_shared_interleaved(void **state)
{
    (void)state;
    ws_pmd_params_t p = params(true, true, 15, 15);
    ws_pmd_pool_t *sp = ws_pmd_pool_new(), *cp = ws_pmd_pool_new();
    ws_pmd_t *srv[8], *cli[8];
    for (int i = 0; i < 8; i++) {
        srv[i] = ws_pmd_new(&p, true, sp, WS_PMD_LEAN);
        cli[i] = ws_pmd_new(&p, false, cp, WS_PMD_NO_KEEP);
        assert_int_equal(ws_pmd_tx_shared_bits(srv[i]), 15);
        assert_int_equal(ws_pmd_tx_shared_bits(cli[i]), 15);
    }
    buf_t z, out;
    buf_init(&z);
    buf_init(&out);
    char msg[100];
    for (int k = 0; k < 200; k++) {
        int i = (k * 5) % 8;
        int n = snprintf(msg, sizeof(msg), "message %d to connection %d", k, i);
        buf_reset(&z);
        assert_int_equal(ws_pmd_deflate(srv[i], msg, (size_t)n, &z), WS_PMD_OK);
        assert_int_equal(inflate_to(cli[i], z.p, z.len, 1000, &out), WS_PMD_OK);
        assert_int_equal(out.len, (size_t)n);
        assert_memory_equal(out.p, msg, (size_t)n);
        /* The shared compressor gives the same bytes as the pool's own call. */
        buf_t y;
        buf_init(&y);
        assert_int_equal(ws_pmd_pool_deflate(sp, 15, msg, (size_t)n, &y), WS_PMD_OK);
        assert_int_equal(y.len, z.len);
        assert_memory_equal(y.p, z.p, z.len);
        buf_free(&y);
    }
    /* Nothing of zlib belongs to a connection: the pools hold it all. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ws_pmd_memory(srv[i]), 0);
        assert_int_equal(ws_pmd_memory(cli[i]), 0);
        ws_pmd_free(srv[i]);
        ws_pmd_free(cli[i]);
    }
    assert_true(ws_pmd_pool_bytes(sp) > 0);
    assert_true(ws_pmd_pool_peak(sp) >= ws_pmd_pool_bytes(sp));
    buf_free(&z);
    buf_free(&out);
    ws_pmd_pool_free(sp);
    ws_pmd_pool_free(cp);
}

/* ---- limits and bad input ---- */

/* A raw deflate stream of n zero bytes, sync-flushed, tail removed. */
static void zeros_payload(size_t n, buf_t *z)
{
    ws_pmd_params_t p = params(false, false, 15, 15);
    ws_pmd_t *c = ws_pmd_new(&p, true, NULL, 0);
    uint8_t *d = calloc(1, n);
    assert_int_equal(ws_pmd_deflate(c, d, n, z), WS_PMD_OK);
    free(d);
    ws_pmd_free(c);
}

static void test_bomb(void **state)
{
    (void)state;
    buf_t z, out;
    buf_init(&z);
    buf_init(&out);
    zeros_payload(64u << 20, &z); /* 64 MiB of zeros: about 64 KiB compressed */
    assert_true(z.len < 100000);
    ws_pmd_params_t p = params(false, false, 15, 15);
    for (int keep = 0; keep < 2; keep++) {
        ws_pmd_pool_t *pool = ws_pmd_pool_new();
        ws_pmd_params_t q = params(!keep, !keep, 15, 15);
        ws_pmd_t *m = ws_pmd_new(keep ? &p : &q, false, keep ? NULL : pool, 0);
        assert_int_equal(inflate_to(m, z.p, z.len, 1u << 20, &out), WS_PMD_TOO_BIG);
        /* Stopped at max + 1 bytes of output; never allocated the 64 MiB. */
        assert_int_equal(out.len, (1u << 20) + 1);
        assert_true(out.cap <= (2u << 20) + 64);
        /* Exactly max is fine. */
        ws_pmd_t *m2 = ws_pmd_new(keep ? &p : &q, false, keep ? NULL : pool, 0);
        buf_t z1;
        buf_init(&z1);
        zeros_payload(1000, &z1);
        assert_int_equal(inflate_to(m2, z1.p, z1.len, 1000, &out), WS_PMD_OK);
        assert_int_equal(out.len, 1000);
        buf_reset(&out);
        ws_pmd_free(m2);
        m2 = ws_pmd_new(keep ? &p : &q, false, keep ? NULL : pool, 0);
        assert_int_equal(inflate_to(m2, z1.p, z1.len, 999, &out), WS_PMD_TOO_BIG);
        buf_free(&z1);
        ws_pmd_free(m2);
        ws_pmd_free(m);
        ws_pmd_pool_free(pool);
    }
    buf_free(&z);
    buf_free(&out);
}

static void test_bad_payloads(void **state)
{
    (void)state;
    ws_pmd_params_t p = params(false, false, 15, 15);
    buf_t out, z;
    buf_init(&out);
    buf_init(&z);
    /* BTYPE 11 is reserved. */
    static const uint8_t reserved[] = {0x07, 0x00};
    /* A block cut short: "Hello" without its last bytes. */
    static const uint8_t cut[] = {0xf2, 0x48, 0xcd};
    /* Data after a final block. */
    static const uint8_t after_final[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    /* A stored block whose NLEN does not match. */
    static const uint8_t bad_stored[] = {0x00, 0x05, 0x00, 0xfa, 0xfe, 'H', 'e', 'l', 'l', 'o'};
    struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {{reserved, sizeof(reserved)},
                 {cut, sizeof(cut)},
                 {after_final, sizeof(after_final)},
                 {bad_stored, sizeof(bad_stored)}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        ws_pmd_t *m = ws_pmd_new(&p, false, NULL, 0);
        if (inflate_to(m, cases[i].p, cases[i].n, 1000, &out) != WS_PMD_CORRUPT)
            fail_msg("case %zu: not refused", i);
        ws_pmd_free(m);
    }
    /* A real message with its last byte cut off leaves the inflater in a
     * block: refused, whatever the mode. */
    ws_pmd_t *c = ws_pmd_new(&p, true, NULL, 0);
    uint8_t *d = sample(5000, 0);
    assert_int_equal(ws_pmd_deflate(c, d, 5000, &z), WS_PMD_OK);
    for (int keep = 0; keep < 2; keep++) {
        ws_pmd_params_t q = params(!keep, !keep, 15, 15);
        ws_pmd_t *m = ws_pmd_new(&q, false, NULL, 0);
        assert_int_equal(inflate_to(m, z.p, z.len - 1, 10000, &out), WS_PMD_CORRUPT);
        ws_pmd_free(m);
    }
    free(d);
    ws_pmd_free(c);
    buf_free(&out);
    buf_free(&z);
}

/* Window 8: zlib cannot compress for it, so that side sends plain
 * messages; inflating a window-8 stream works. */
static void test_window_8(void **state)
{
    (void)state;
    ws_pmd_params_t p = params(false, false, 8, 15);
    ws_pmd_t *s = ws_pmd_new(&p, true, NULL, 0);
    ws_pmd_t *c = ws_pmd_new(&p, false, NULL, 0);
    buf_t z;
    buf_init(&z);
    assert_int_equal(ws_pmd_deflate(s, "abc", 3, &z), WS_PMD_PLAIN);
    assert_int_equal(z.len, 0);
    assert_int_equal(ws_pmd_tx_shared_bits(s), 0);
    assert_int_equal(ws_pmd_deflate(c, "abc", 3, &z), WS_PMD_OK);
    ws_pmd_pool_t *pool = ws_pmd_pool_new();
    buf_reset(&z);
    assert_int_equal(ws_pmd_pool_deflate(pool, 8, "abc", 3, &z), WS_PMD_PLAIN);
    ws_pmd_pool_free(pool);
    buf_free(&z);
    ws_pmd_free(s);
    ws_pmd_free(c);
}

/* ---- memory ---- */

/* The zlib bytes a connection holds after one message each way. */
static size_t conn_memory(const ws_pmd_params_t *p, unsigned flags, ws_pmd_pool_t *pool)
{
    ws_pmd_t *tx = ws_pmd_new(p, false, pool, flags);
    ws_pmd_t *peer = ws_pmd_new(p, true, NULL, 0);
    buf_t z, out;
    buf_init(&z);
    buf_init(&out);
    uint8_t *d = sample(3000, 0);
    assert_int_equal(ws_pmd_deflate(tx, d, 3000, &z), WS_PMD_OK);
    buf_reset(&z);
    assert_int_equal(ws_pmd_deflate(peer, d, 3000, &z), WS_PMD_OK);
    assert_int_equal(inflate_to(tx, z.p, z.len, 3000, &out), WS_PMD_OK);
    size_t mem = ws_pmd_memory(tx);
    free(d);
    buf_free(&z);
    buf_free(&out);
    ws_pmd_free(tx);
    ws_pmd_free(peer);
    return mem;
}

static void test_memory(void **state)
{
    (void)state;
    ws_pmd_pool_t *pool = ws_pmd_pool_new();
    /* No takeover either way, a pool: nothing per connection. */
    ws_pmd_params_t none = params(true, true, 15, 15);
    assert_int_equal(conn_memory(&none, WS_PMD_NO_KEEP, pool), 0);
    size_t shared = ws_pmd_pool_peak(pool);
    assert_true(shared > 100000 && shared < 300000);
    /* Contexts kept, full: zlib's default cost, ~262 KiB + ~39 KiB. */
    ws_pmd_params_t keep = params(false, false, 15, 15);
    size_t full = conn_memory(&keep, 0, pool);
    assert_true(full > 290000 && full < 320000);
    /* Lean: the compressor at windowBits 12, memLevel 5. */
    size_t lean = conn_memory(&keep, WS_PMD_LEAN, pool);
    assert_true(lean > 60000 && lean < 90000);
    /* The server narrowed both windows to 12: about 50 KiB. */
    ws_pmd_params_t narrow = params(false, false, 12, 12);
    size_t small = conn_memory(&narrow, WS_PMD_LEAN, pool);
    assert_true(small < 56000);
    /* Our compressor resets (NO_KEEP) and the server's does not: the
     * inflater only. */
    ws_pmd_params_t in_only = params(false, false, 15, 15);
    size_t rx = conn_memory(&in_only, WS_PMD_NO_KEEP, pool);
    assert_true(rx > 30000 && rx < 45000);
    /* Every connection's memory was given back to the pool's count. */
    assert_true(ws_pmd_pool_bytes(pool) <= shared);
    ws_pmd_pool_free(pool);
    print_message("zlib per connection: shared 0, full %zu, lean %zu, narrowed %zu, inflater %zu; "
                  "pool %zu\n",
                  full, lean, small, rx, shared);
}

static void test_describe(void **state)
{
    (void)state;
    char d[200];
    ws_pmd_params_t p = params(true, false, 10, 15);
    ws_pmd_describe(&p, d, sizeof(d));
    assert_string_equal(d, "server_no_context_takeover; server_max_window_bits=10; "
                           "client_max_window_bits=15");
    assert_true(ws_pmd_wire_max(1000) > 1000 + 1000 / 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),    cmocka_unit_test(test_roundtrips),
        cmocka_unit_test(test_shared_interleaved), cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_bad_payloads),    cmocka_unit_test(test_window_8),
        cmocka_unit_test(test_memory),          cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
