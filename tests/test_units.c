/* Unit tests for src/core/units.c: durations, sizes, integers as typed on the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "units.h"

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        uint64_t us;
    } cases[] = {
        {"250ms", 0, 250000},     {"10s", 0, 10000000},   {"5m", 0, 300000000},
        {"1h", 0, 3600000000ull}, {"100us", 0, 100},      {"1.5s", 0, 1500000},
        {"2", 0, 2000000},        {"0", 0, 0},            {"0.25", 0, 250000},
        {"0.5ms", 0, 500},        {"1000h", 0, 3600000000000ull},
        {"", -1, 0},              {"ms", -1, 0},          {"-1s", -1, 0},
        {"10x", -1, 0},           {"10 s", -1, 0},        {"1001h", -1, 0},
        {"1.2.3s", -1, 0},        {".", -1, 0},           {"99999999999999999999s", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t us = 12345;
        int rc = parse_duration_us(cases[i].in, &us);
        if (rc != cases[i].rc || (rc == 0 && us != cases[i].us))
            fail_msg("parse_duration_us(\"%s\") = %d, %llu", cases[i].in, rc,
                     (unsigned long long)us);
    }
    uint64_t ms;
    assert_int_equal(parse_duration_ms("1500us", &ms), 0);
    assert_int_equal(ms, 2); /* rounded up: a 1.5 ms timeout must not become 1 ms */
    assert_int_equal(parse_duration_ms("3s", &ms), 0);
    assert_int_equal(ms, 3000);
}

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        uint64_t v;
    } cases[] = {
        {"512", 0, 512},        {"64k", 0, 65536},      {"64K", 0, 65536},
        {"16M", 0, 16777216},   {"1G", 0, 1073741824},  {"64KiB", 0, 65536},
        {"64KB", 0, 65536},     {"0", 0, 0},            {"10B", 0, 10},
        {"", -1, 0},            {"k", -1, 0},           {"-1", -1, 0},
        {"1.5M", -1, 0},        {"16T", -1, 0},         {"2000000G", -1, 0},
        {"64 k", -1, 0},        {"64kk", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 777;
        int rc = parse_size(cases[i].in, &v);
        if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
            fail_msg("parse_size(\"%s\") = %d, %llu", cases[i].in, rc, (unsigned long long)v);
    }
}

static void test_uints(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(parse_uint("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse_uint("10", 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(parse_uint("11", 10, &v), -1);
    assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
    assert_int_equal(parse_uint("", 10, &v), -1);
    assert_int_equal(parse_uint("+1", 10, &v), -1);
    assert_int_equal(parse_uint("1x", 10, &v), -1);
    /* a single digit above a small maximum (found by fuzz_parse: max - digit wrapped) */
    assert_int_equal(parse_uint("5", 0, &v), -1);
    assert_int_equal(parse_uint("5", 4, &v), -1);
    assert_int_equal(parse_uint("0", 0, &v), 0);
    assert_int_equal(parse_uint("15", 9, &v), -1);
}

static void test_times(void **state)
{
    (void)state;
    uint64_t t = 7;
    assert_int_equal(parse_time_ns("2026-12-04T18:00:00Z", &t), 0);
    assert_true(t == 1796407200ull * 1000000000u);
    assert_int_equal(parse_time_ns("2026-12-04 19:30:00.25+01:30", &t), 0);
    assert_true(t == 1796407200ull * 1000000000u + 250000000u);
    assert_int_equal(parse_time_ns("2026-12-04t17:00:00.000000001-01:00", &t), 0);
    assert_true(t == 1796407200ull * 1000000000u + 1);
    assert_int_equal(parse_time_ns("2000-02-29T23:59:59Z", &t), 0);
    assert_true(t == 951868799ull * 1000000000u);
    assert_int_equal(parse_time_ns("1970-01-01T00:00:00Z", &t), 0);
    assert_true(t == 0);
    assert_int_equal(parse_time_ns("2024-12-31T23:59:60Z", &t), 0); /* a leap second: :59 */
    assert_true(t == 1735689599ull * 1000000000u);
    assert_int_equal(parse_time_ns("1796407200", &t), 0);
    assert_true(t == 1796407200ull * 1000000000u);
    assert_int_equal(parse_time_ns("1796407200.5", &t), 0);
    assert_true(t == 1796407200ull * 1000000000u + 500000000u);
    /* not instants; t stays as it was */
    t = 7;
    const char *bad[] = {"", "now", "2026-12-04", "2026-12-04T18:00:00", "2026-12-04T18:00Z",
                         "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
                         "2026-12-04T24:00:00Z", "2026-12-04T18:00:00+25:00",
                         "2026-12-04T18:00:00.Z", "2026-12-04T18:00:00.1234567890Z",
                         "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "17964072000000",
                         "1796407200.", "1796407200s", "-1", " 1796407200", "2026-12-04T18:00:00Zx"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse_time_ns(bad[i], &t), -1);
        assert_true(t == 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_uints),
        cmocka_unit_test(test_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
