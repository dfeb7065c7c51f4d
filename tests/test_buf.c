/* Unit tests for src/core/buf.c: buffers, RFC 3339 timestamps, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "clock.h"
#include "text.h"

static void test_buf_grows_and_stays_terminated(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        buf_append(&b, "abc", 3);
    assert_int_equal(b.len, 3000);
    assert_int_equal(b.p[b.len], '\0');
    buf_consume(&b, 2998);
    assert_string_equal(b.p, "bc");
    buf_printf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.p, "bc42-x");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    buf_shrink(&b, 16);
    assert_null(b.p);
    buf_append(&b, "", 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    buf_free(&b);
}

static void test_rfc3339(void **state)
{
    (void)state;
    char out[RFC3339_LEN + 1];
    assert_string_equal(fmt_rfc3339(out, 1795460694123456789ull), "2026-11-23T19:04:54.123456Z");
    assert_string_equal(fmt_rfc3339(out, 0), "1970-01-01T00:00:00.000000Z");
    assert_string_equal(fmt_rfc3339(out, 951782400000001000ull), "2000-02-29T00:00:00.000001Z");
    assert_int_equal(strlen(out), RFC3339_LEN);
}

static void test_base64_round_trip(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *enc;
    } cases[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
                 {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t b, d;
        buf_init(&b);
        buf_init(&d);
        base64_append(&b, cases[i].plain, strlen(cases[i].plain));
        assert_string_equal(b.p, cases[i].enc);
        assert_int_equal(base64_decode(&d, b.p, b.len), 0);
        assert_int_equal(d.len, strlen(cases[i].plain));
        assert_memory_equal(d.p, cases[i].plain, d.len);
        buf_free(&b);
        buf_free(&d);
    }
    buf_t d;
    buf_init(&d);
    assert_int_equal(base64_decode(&d, "Zm9v!", 5), -1);
    assert_int_equal(base64_decode(&d, "Z", 1), -1);
    buf_free(&d);
}

static void test_ascii_ieq(void **state)
{
    (void)state;
    assert_true(ascii_ieq("Content-Type", "content-type", 12));
    assert_false(ascii_ieq("Content-Typf", "content-type", 12));
    assert_false(ascii_ieq("\xc4", "\xe4", 1)); /* no locale folding */
}

static void test_utf8_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"plain", true},          {"h\xc3\xa9", true},       {"\xe2\x82\xac", true},
        {"\xf0\x9f\x98\x80", true}, {"\xc0\xaf", false},       {"\xe0\x80\xaf", false},
        {"\xed\xa0\x80", false},  {"\xf4\x90\x80\x80", false}, {"\xc3", false},
        {"\xff", false},          {"\x80", false},           {"\xe2\x82", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("utf8_valid case %zu", i);
}

static void test_backoff_doubles_caps_and_only_adds_jitter(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        uint64_t d = backoff_ms(3000, 0, 30000);
        assert_true(d >= 3000 && d <= 3600);
        d = backoff_ms(1000, 3, 30000);
        assert_true(d >= 8000 && d <= 9600);
        d = backoff_ms(1000, 40, 30000); /* no overflow, capped */
        assert_true(d >= 30000 && d <= 36000);
        d = backoff_ms(60000, 2, 60000); /* a retry above the cap stays the minimum */
        assert_true(d >= 60000 && d <= 72000);
    }
    assert_int_equal(backoff_ms(0, 5, 30000), 0);
    /* A server's retry: of 2^64 - 1 ms saturates: never wraps to a short wait. */
    for (int i = 0; i < 200; i++) {
        assert_true(backoff_ms(UINT64_MAX, 0, UINT64_MAX) == UINT64_MAX);
        assert_true(backoff_ms(UINT64_MAX / 2 + 7, 3, UINT64_MAX) >= UINT64_MAX / 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_stays_terminated),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_ascii_ieq),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_backoff_doubles_caps_and_only_adds_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
