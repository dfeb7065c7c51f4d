/* Unit tests for the latency stamps (src/proto/stamp.c: the field finder
 * stamp_json_u64 and the echo stamp) and src/bench/bench.c's shared helpers
 * (errno classification and error names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "buf.h"
#include "stamp.h"

/* stamp_json_u64 on an exact-size heap copy: ASan sees a read past the end. */
static int json_u64(const char *text, size_t len, const char *field, uint64_t *v)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = stamp_json_u64(copy, len, field, v);
    free(copy);
    return rc;
}

static void test_json_found(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *field;
        uint64_t want;
    } cases[] = {
        {"{\"ts_ns\":1}", "ts_ns", 1},
        {"{\"seq\":7,\"ts_ns\":1732000000123456789}", "ts_ns", 1732000000123456789u},
        {"{\"ts_ns\" : 42 }", "ts_ns", 42},
        {"{ \"ts_ns\"\t:\n\r 42\n}", "ts_ns", 42},
        {"{\"ts_ns\":\"123\"}", "ts_ns", 123},         /* quoted */
        {"{\"ts_ns\": \"123\" }", "ts_ns", 123},
        {"{\"ts_ns\":0}", "ts_ns", 0},
        {"{\"ts_ns\":007}", "ts_ns", 7},               /* lenient: leading zeros */
        {"{\"ts_ns\":18446744073709551615}", "ts_ns", UINT64_MAX},
        {"{\"ts_ns\":00000000000000000000000000042}", "ts_ns", 42},
        {"[1,{\"ts_ns\":5}]", "ts_ns", 5},
        {"{\"a\":[1,2,3],\"ts_ns\":9}", "ts_ns", 9},
        {"{\"meta\":{\"ts_ns\":11},\"ts_ns\":12}", "ts_ns", 11}, /* first occurrence */
        /* The key's text as a value first. */
        {"{\"name\":\"ts_ns\",\"ts_ns\":3}", "ts_ns", 3},
        {"[\"ts_ns\", 4, {\"ts_ns\":5}]", "ts_ns", 5},
        /* Inside a string value, with escaped quotes: not a key. */
        {"{\"msg\":\"he said \\\"ts_ns\\\":1\",\"ts_ns\":7}", "ts_ns", 7},
        {"{\"msg\":\"\\\\\",\"ts_ns\":8}", "ts_ns", 8},        /* "\\" then a key */
        {"{\"msg\":\"a\\\\\\\"ts_ns\\\":1\",\"ts_ns\":6}", "ts_ns", 6},
        /* Longer and shorter keys around it. */
        {"{\"ts_ns_x\":1,\"xts_ns\":2,\"ts_n\":3,\"ts_ns\":4}", "ts_ns", 4},
        /* A key with another kind of value: the search goes on. */
        {"{\"ts_ns\":null,\"ts_ns\":13}", "ts_ns", 13},
        {"{\"ts_ns\":\"soon\",\"ts_ns\":14}", "ts_ns", 14},
        {"{\"ts_ns\":-1,\"ts_ns\":15}", "ts_ns", 15},
        {"{\"ts_ns\":{\"ts_ns\":16}}", "ts_ns", 16},
        /* A bare number may end the input (an SSE event's data is whole). */
        {"\"ts_ns\":17", "ts_ns", 17},
        {"{\"ts_ns\":18]", "ts_ns", 18},
        /* Other field names, the empty one included. */
        {"{\"t\":19}", "t", 19},
        {"{\"sent_at\":20,\"ts_ns\":1}", "sent_at", 20},
        {"{\"\":21}", "", 21},
        /* Not JSON around it: only the key matters. */
        {"garbage \"ts_ns\":22 more", "ts_ns", 22},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0xdead;
        if (json_u64(cases[i].text, strlen(cases[i].text), cases[i].field, &v) != 0)
            fail_msg("case %zu '%s' not found", i, cases[i].text);
        if (v != cases[i].want)
            fail_msg("case %zu '%s': %llu, want %llu", i, cases[i].text, (unsigned long long)v,
                     (unsigned long long)cases[i].want);
    }
}

static void test_json_not_found(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        "{}",
        "{\"seq\":1}",
        "{\"TS_NS\":1}",                  /* case-sensitive */
        "{\"ts_ns\":18446744073709551616}", /* UINT64_MAX + 1 */
        "{\"ts_ns\":99999999999999999999}",
        "{\"ts_ns\":123456789012345678901234}",
        "{\"ts_ns\":1.5}", /* not an integer: no value rather than a wrong one */
        "{\"ts_ns\":1e18}",
        "{\"ts_ns\":1E18}",
        "{\"ts_ns\":-5}",
        "{\"ts_ns\":+5}",
        "{\"ts_ns\":true}",
        "{\"ts_ns\":null}",
        "{\"ts_ns\":\"\"}",
        "{\"ts_ns\":\"12a\"}",
        "{\"ts_ns\":\"12\\\"}",   /* escaped closing quote */
        "{\"ts_ns\":[1]}",
        "{\"ts_ns\" 1}",         /* no colon */
        "{\"ts_ns\"}",
        "{\"name\":\"ts_ns\"}", /* only as a value */
        "{\"msg\":\"x \\\"ts_ns\\\":1\"}", /* only inside a string */
        "{\"msg\":\"unterminated \\\"ts_ns\\\":1",
        "ts_ns:1", /* unquoted key */
        "{'ts_ns':1}",
        /* Truncated at each place. */
        "{\"ts_ns",
        "{\"ts_ns\"",
        "{\"ts_ns\":",
        "{\"ts_ns\": ",
        "{\"ts_ns\":\"",
        "{\"ts_ns\":\"12",
        "{\"ts_",
        "\"",
        "\\",
        "{\"a\":\"\\",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0xdead;
        if (json_u64(cases[i], strlen(cases[i]), "ts_ns", &v) == 0)
            fail_msg("case %zu '%s' found %llu", i, cases[i], (unsigned long long)v);
        assert_int_equal(v, 0xdead); /* untouched */
    }
}

/* The length bounds the search, not a NUL. */
static void test_json_length(void **state)
{
    (void)state;
    static const char text[] = "{\"ts_ns\":12345}";
    uint64_t v = 0;
    assert_int_equal(json_u64(text, 12, "ts_ns", &v), 0); /* "{"ts_ns":123" */
    assert_int_equal(v, 123);
    assert_int_equal(json_u64(text, 9, "ts_ns", &v), -1); /* up to the colon */
    assert_int_equal(json_u64(text, 0, "ts_ns", &v), -1);
    /* NUL bytes are just bytes. */
    static const char nul[] = "{\"a\":\"x\0y\",\"ts_ns\":5}";
    assert_int_equal(json_u64(nul, sizeof(nul) - 1, "ts_ns", &v), 0);
    assert_int_equal(v, 5);
    /* Every prefix of a document: found only once its number is whole. */
    static const char doc[] = "{\"seq\":3,\"ts_ns\":987654321}";
    size_t whole = sizeof(doc) - 2; /* without the '}' */
    for (size_t n = 0; n <= sizeof(doc) - 1; n++) {
        int rc = json_u64(doc, n, "ts_ns", &v);
        if (n < whole - 8)
            assert_int_equal(rc, -1);
        else if (n >= whole)
            assert_true(rc == 0 && v == 987654321);
        else
            assert_true(rc == 0 && v < 987654321); /* a truncated number reads short */
    }
}

/* A long run of strings and escapes: a line of work, not quadratic. */
static void test_json_large(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    buf_putc(&b, '{');
    for (int i = 0; i < 20000; i++)
        buf_printf(&b, "\"k%d\":\"v\\\\\\\"%d\",", i, i);
    buf_puts(&b, "\"ts_ns\":1234567890123}");
    uint64_t v = 0;
    assert_int_equal(json_u64(b.p, b.len, "ts_ns", &v), 0);
    assert_int_equal(v, 1234567890123u);
    buf_free(&b);
}

static void test_stamp_round_trip(void **state)
{
    (void)state;
    static const struct {
        uint32_t conn, seq;
        uint64_t t;
    } cases[] = {
        {0, 0, 0},
        {1, 2, 3},
        {UINT32_MAX, UINT32_MAX, UINT64_MAX},
        {0xdeadbeef, 0x01234567, 0x0123456789abcdefu},
        {19999, 1000000, 1732000000123456789u},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t p[STAMP_LEN + 8];
        memset(p, 'x', sizeof(p));
        stamp_write(p, cases[i].conn, cases[i].seq, cases[i].t);
        assert_int_equal(p[STAMP_LEN], 'x'); /* nothing past the stamp */
        for (size_t k = 0; k < STAMP_LEN; k++)
            assert_true((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f'));
        uint32_t c = 1, s = 1;
        uint64_t t = 1;
        assert_int_equal(stamp_read(p, sizeof(p), &c, &s, &t), 0);
        assert_int_equal(c, cases[i].conn);
        assert_int_equal(s, cases[i].seq);
        assert_true(t == cases[i].t);
        /* Exactly the stamp, no filler. */
        assert_int_equal(stamp_read(p, STAMP_LEN, &c, &s, &t), 0);
    }
    /* Random values round trip, and the text is what printf makes. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t c0 = (uint32_t)(x >> 32), s0 = (uint32_t)x * 2654435761u;
        uint64_t t0 = x * 0xff51afd7ed558ccdu;
        uint8_t q[STAMP_LEN + 1];
        char want[STAMP_LEN + 1];
        stamp_write(q, c0, s0, t0);
        snprintf(want, sizeof(want), "%08" PRIx32 "%08" PRIx32 "%016" PRIx64, c0, s0, t0);
        assert_memory_equal(q, want, STAMP_LEN);
        uint32_t c = 0, s = 0;
        uint64_t t = 0;
        assert_int_equal(stamp_read(q, STAMP_LEN, &c, &s, &t), 0);
        assert_true(c == c0 && s == s0 && t == t0);
    }
    uint8_t p[STAMP_LEN];
    stamp_write(p, 0x00ab00cd, 0x10, 0x1f);
    assert_memory_equal(p, "00ab00cd00000010000000000000001f", STAMP_LEN);
}

static void test_stamp_rejects(void **state)
{
    (void)state;
    static const char good[] = "00ab00cd00000010000000000000001f";
    uint32_t c = 7, s = 7;
    uint64_t t = 7;
    /* Too short, at every length. */
    for (size_t n = 0; n < STAMP_LEN; n++)
        assert_int_equal(stamp_read((const uint8_t *)good, n, &c, &s, &t), -1);
    /* A non-hex byte anywhere (uppercase included). */
    static const char bad[] = "gG:/ @`{\xff\x00-+xX.";
    for (size_t k = 0; k < STAMP_LEN; k++) {
        for (size_t b = 0; b < sizeof(bad) - 1; b++) {
            uint8_t p[STAMP_LEN];
            memcpy(p, good, STAMP_LEN);
            p[k] = (uint8_t)bad[b];
            assert_int_equal(stamp_read(p, sizeof(p), &c, &s, &t), -1);
        }
    }
    /* Every byte value at every place: only 0-9 and a-f are digits, each
     * with its value (the reader takes 8 digits at a time in a word). */
    for (size_t k = 0; k < STAMP_LEN; k++) {
        for (unsigned b = 0; b < 256; b++) {
            uint8_t p[STAMP_LEN];
            memset(p, '0', sizeof(p));
            p[k] = (uint8_t)b;
            int digit = b >= '0' && b <= '9' ? (int)(b - '0') : b >= 'a' && b <= 'f' ? (int)(b - 'a' + 10) : -1;
            uint32_t c2 = 0, s2 = 0;
            uint64_t t2 = 0;
            if (digit < 0) {
                assert_int_equal(stamp_read(p, sizeof(p), &c2, &s2, &t2), -1);
                continue;
            }
            assert_int_equal(stamp_read(p, sizeof(p), &c2, &s2, &t2), 0);
            uint64_t want = (uint64_t)digit << (4 * (7 - k % 8));
            if (k < 8)
                assert_true(c2 == want && s2 == 0 && t2 == 0);
            else if (k < 16)
                assert_true(c2 == 0 && s2 == want && t2 == 0);
            else
                assert_true(c2 == 0 && s2 == 0 && t2 == (uint64_t)digit << (4 * (31 - k)));
        }
    }
    uint8_t upper[STAMP_LEN];
    memcpy(upper, "00AB00CD00000010000000000000001F", STAMP_LEN);
    assert_int_equal(stamp_read(upper, sizeof(upper), &c, &s, &t), -1);
    assert_true(c == 7 && s == 7 && t == 7); /* untouched by rejections */
}

static void test_errno_kind(void **state)
{
    (void)state;
    static const struct {
        int err;
        bench_err_t kind;
    } cases[] = {
        {EMFILE, BERR_FD_LIMIT},      {ENFILE, BERR_FD_LIMIT},
        {EADDRNOTAVAIL, BERR_PORTS},  {EADDRINUSE, BERR_PORTS},
        {ECONNREFUSED, BERR_REFUSED}, {ETIMEDOUT, BERR_CONNECT_TIMEOUT},
        {ECONNRESET, BERR_RESET},     {EPIPE, BERR_RESET},
        {ENETUNREACH, BERR_CONNECT},  {EHOSTUNREACH, BERR_CONNECT},
        {EACCES, BERR_CONNECT},       {0, BERR_CONNECT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (bench_errno_kind(cases[i].err) != cases[i].kind)
            fail_msg("errno %d: kind %d, want %d", cases[i].err, bench_errno_kind(cases[i].err),
                     cases[i].kind);
}

static void test_err_names(void **state)
{
    (void)state;
    /* The summary's keys: every kind named, names unique, JSON-friendly. */
    for (int k = 0; k < BERR_COUNT; k++) {
        const char *n = bench_err_name((bench_err_t)k);
        assert_non_null(n);
        assert_true(strlen(n) > 0);
        assert_string_not_equal(n, "unknown");
        for (const char *c = n; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
        for (int j = 0; j < k; j++)
            assert_string_not_equal(n, bench_err_name((bench_err_t)j));
    }
    assert_string_equal(bench_err_name(BERR_FD_LIMIT), "fd_limit");
    assert_string_equal(bench_err_name(BERR_CONNECT_TIMEOUT), "connect_timeout");
    assert_string_equal(bench_err_name(BERR_HTTP_STATUS), "http_status");
    assert_string_equal(bench_err_name(BERR_NO_TIMESTAMP), "no_timestamp");
    assert_string_equal(bench_err_name(BERR_PUBLISH), "publish");
    assert_string_equal(bench_err_name(BERR_COUNT), "unknown");
    assert_string_equal(bench_err_name((bench_err_t)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_found),
        cmocka_unit_test(test_json_not_found),
        cmocka_unit_test(test_json_length),
        cmocka_unit_test(test_json_large),
        cmocka_unit_test(test_stamp_round_trip),
        cmocka_unit_test(test_stamp_rejects),
        cmocka_unit_test(test_errno_kind),
        cmocka_unit_test(test_err_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
