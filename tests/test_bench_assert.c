/* Unit tests for src/proto/bench_assert.c: the --assert grammar, units, each
 * operator at its boundary, and the texts of errors and failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bench_assert.h"

static void test_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *text;
        bench_op_t op;
        uint64_t ns;    /* time */
        uint64_t count; /* count */
        double rate;    /* rate */
    } cases[] = {
        {"p99<50ms", "p99 < 50ms", BENCH_OP_LT, 50000000, 0, 0},
        {"p99 < 50ms", "p99 < 50ms", BENCH_OP_LT, 50000000, 0, 0},
        {"  p99\t<=  1.5ms ", "p99 <= 1.5ms", BENCH_OP_LE, 1500000, 0, 0},
        {"p50>100us", "p50 > 100us", BENCH_OP_GT, 100000, 0, 0},
        {"p90>=2s", "p90 >= 2s", BENCH_OP_GE, 2000000000, 0, 0},
        {"p999==0.000000001s", "p999 == 0.000000001s", BENCH_OP_EQ, 1, 0, 0},
        {"max<1.250us", "max < 1.250us", BENCH_OP_LT, 1250, 0, 0},
        {"max<0.5s", "max < 0.5s", BENCH_OP_LT, 500000000, 0, 0},
        {"max<.5s", "max < .5s", BENCH_OP_LT, 500000000, 0, 0},
        {"connect_p99<=3600000s", "connect_p99 <= 3600000s", BENCH_OP_LE, 3600000000000000, 0, 0},
        {"connect_p99<0.001ms", "connect_p99 < 0.001ms", BENCH_OP_LT, 1000, 0, 0},
        {"errors==0", "errors == 0", BENCH_OP_EQ, 0, 0, 0},
        {"connected>=10000", "connected >= 10000", BENCH_OP_GE, 0, 10000, 0},
        {"failed<=18446744073709551615", "failed <= 18446744073709551615", BENCH_OP_LE, 0,
         UINT64_MAX, 0},
        {"dropped < 3", "dropped < 3", BENCH_OP_LT, 0, 3, 0},
        {"recv_rate>=1000", "recv_rate >= 1000", BENCH_OP_GE, 0, 0, 1000},
        {"sent_rate>0.5", "sent_rate > 0.5", BENCH_OP_GT, 0, 0, 0.5},
        {"sent_rate == 12.25", "sent_rate == 12.25", BENCH_OP_EQ, 0, 0, 12.25},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].text == NULL)
            continue;
        bench_assert_t a;
        char err[256] = "unset";
        if (bench_assert_parse(cases[i].in, &a, err, sizeof(err)) != 0)
            fail_msg("'%s' rejected: %s", cases[i].in, err);
        assert_string_equal(err, "");
        assert_string_equal(a.text, cases[i].text);
        assert_int_equal(a.op, cases[i].op);
        if (a.ns != cases[i].ns || a.count != cases[i].count || a.rate != cases[i].rate)
            fail_msg("'%s': ns %llu count %llu rate %g", cases[i].in, (unsigned long long)a.ns,
                     (unsigned long long)a.count, a.rate);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *err;
    } cases[] = {
        {"", "empty assertion (e.g. p99<50ms)"},
        {"   ", "empty assertion (e.g. p99<50ms)"},
        {"p95<50ms", "unknown metric 'p95' (known: p50 p90 p99 p999 max connect_p99 errors "
                     "connected failed dropped recv_rate sent_rate first_event_p99 "
                     "event_gap_p99 streams_failed streams_dropped)"},
        {"P99<50ms", "unknown metric 'P99' (known: p50 p90 p99 p999 max connect_p99 errors "
                     "connected failed dropped recv_rate sent_rate first_event_p99 "
                     "event_gap_p99 streams_failed streams_dropped)"},
        {"<50ms", "assertion '<50ms' does not start with a metric (known: p50 p90 p99 p999 max "
                  "connect_p99 errors connected failed dropped recv_rate sent_rate "
                  "first_event_p99 event_gap_p99 streams_failed streams_dropped)"},
        {"p99", "'p99' needs an operator (< <= > >= ==) and a value"},
        {"p99 = 50ms", "expected an operator (< <= > >= ==) after 'p99', got '= 50ms'"},
        {"p99!=50ms", "expected an operator (< <= > >= ==) after 'p99', got '!=50ms'"},
        {"p99 =< 50ms", "expected an operator (< <= > >= ==) after 'p99', got '=< 50ms'"},
        {"p99<", "'p99 <' needs a value"},
        {"p99 <=  ", "'p99 <=' needs a value"},
        {"p99<50", "p99 needs a unit (us, ms or s) after '50', e.g. 50ms"},
        {"p99<1.5", "p99 needs a unit (us, ms or s) after '1.5', e.g. 1.5ms"},
        {"p99<50m", "unknown unit in '50m' for p99 (use us, ms or s)"},
        {"p99<50ns", "unknown unit in '50ns' for p99 (use us, ms or s)"},
        {"p99<50MS", "unknown unit in '50MS' for p99 (use us, ms or s)"},
        {"p99<50 ms", "unexpected 'ms' after 'p99 < 50'"},
        {"p99<ms", "p99 needs a time such as 50ms, got 'ms'"},
        {"p99<-5ms", "p99 needs a time such as 50ms, got '-5ms'"},
        {"p99<5.ms", "p99 needs a time such as 50ms, got '5.ms'"},
        {"p99<1.2.3ms", "unknown unit in '1.2.3ms' for p99 (use us, ms or s)"},
        {"p99<0.0001us", "'0.0001us' is finer than 1 ns"},
        {"p99<1.0000000001s", "'1.0000000001s' is finer than 1 ns"},
        {"p99<3600001s", "'3600001s' for p99 is above 1000h"},
        {"p99<99999999999999999999999s", "'99999999999999999999999s' for p99 is above 1000h"},
        {"errors==1.5", "errors needs a non-negative integer, got '1.5'"},
        {"errors==-1", "errors needs a non-negative integer, got '-1'"},
        {"errors==5ms", "errors needs a non-negative integer, got '5ms'"},
        {"connected>=18446744073709551616", "'18446744073709551616' for connected is too large"},
        {"recv_rate>=fast", "recv_rate needs a non-negative number (per second), got 'fast'"},
        {"recv_rate>=1e3", "recv_rate needs a non-negative number (per second), got '1e3'"},
        {"recv_rate>=-1", "recv_rate needs a non-negative number (per second), got '-1'"},
        {"recv_rate>=nan", "recv_rate needs a non-negative number (per second), got 'nan'"},
        {"sent_rate>10/s", "sent_rate needs a non-negative number (per second), got '10/s'"},
        {"p99<50ms\n", "unknown unit in '50ms?' for p99 (use us, ms or s)"},
        {"p99<00000000000000000000000000000000000000001ms", "value for p99 is too long (43 bytes)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bench_assert_t a;
        memset(&a, 0x5a, sizeof(a));
        bench_assert_t before = a;
        char err[256] = "";
        if (bench_assert_parse(cases[i].in, &a, err, sizeof(err)) != -1)
            fail_msg("'%s' accepted", cases[i].in);
        if (strcmp(err, cases[i].err) != 0)
            fail_msg("'%s': error\n  got  '%s'\n  want '%s'", cases[i].in, err, cases[i].err);
        assert_memory_equal(&a, &before, sizeof(a)); /* untouched */
    }
    /* a short buffer truncates, still terminated; a zero-length one is not written */
    bench_assert_t a;
    char small[8];
    assert_int_equal(bench_assert_parse("p95<1ms", &a, small, sizeof(small)), -1);
    assert_string_equal(small, "unknown");
    assert_int_equal(bench_assert_parse("p95<1ms", &a, NULL, 0), -1);
}

static bench_metrics_t sample(void)
{
    bench_metrics_t m = {
        .p50_ns = 1000000,
        .p90_ns = 20000000,
        .p99_ns = 50000000,
        .p999_ns = 73200000,
        .max_ns = 1500,
        .connect_p99_ns = 2000000000,
        .errors = 0,
        .connected = 10000,
        .failed = 1,
        .dropped = 2,
        .recv_rate = 1000,
        .sent_rate = 999.9999999,
        .latency_samples = 123456,
        .connect_samples = 10000,
    };
    return m;
}

/* A time threshold over no samples fails and says so; counts and rates
 * do not need samples. */
static void test_eval_no_samples(void **state)
{
    (void)state;
    bench_metrics_t m = sample();
    m.latency_samples = 0;
    bench_assert_t a;
    char err[128], why[128];
    assert_int_equal(bench_assert_parse("p99 < 10s", &a, err, sizeof(err)), 0);
    assert_false(bench_assert_eval(&a, &m, why, sizeof(why)));
    assert_string_equal(why, "p99 < 10s failed: no latency samples");
    assert_int_equal(bench_assert_parse("connect_p99<10s", &a, err, sizeof(err)), 0);
    assert_true(bench_assert_eval(&a, &m, why, sizeof(why)));
    m.connect_samples = 0;
    assert_false(bench_assert_eval(&a, &m, why, sizeof(why)));
    assert_string_equal(why, "connect_p99 < 10s failed: no connect-time samples");
    assert_int_equal(bench_assert_parse("errors==0", &a, err, sizeof(err)), 0);
    assert_true(bench_assert_eval(&a, &m, why, sizeof(why)));
}

static void test_eval_boundaries(void **state)
{
    (void)state;
    /* Each operator just below, at and just above each kind of metric. */
    static const struct {
        const char *expr;
        bool holds;
    } cases[] = {
        {"p99<50ms", false},         {"p99<50.000001ms", true},   {"p99<=50ms", true},
        {"p99<=49.999999ms", false}, {"p99>50ms", false},         {"p99>49.999999ms", true},
        {"p99>=50ms", true},         {"p99>=50.000001ms", false}, {"p99==50ms", true},
        {"p99==50000us", true},      {"p99==0.05s", true},        {"p99==50000.001us", false},
        {"p50<=1ms", true},          {"p90<20ms", false},         {"max<=1.5us", true},
        {"max<1.5us", false},        {"connect_p99<=2s", true},   {"connect_p99<2s", false},
        {"errors==0", true},         {"errors<1", true},          {"errors>0", false},
        {"connected>=10000", true},  {"connected>10000", false},  {"connected==10000", true},
        {"connected<=9999", false},  {"failed<=1", true},         {"failed<1", false},
        {"dropped==2", true},        {"dropped>=3", false},       {"recv_rate>=1000", true},
        {"recv_rate>1000", false},   {"recv_rate<=1000", true},   {"recv_rate<1000", false},
        {"recv_rate==1000.0", true}, {"sent_rate>=1000", false},  {"sent_rate>999.9999", true},
        {"sent_rate<1000", true},
    };
    bench_metrics_t m = sample();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bench_assert_t a;
        char err[256], why[256] = "unset";
        if (bench_assert_parse(cases[i].expr, &a, err, sizeof(err)) != 0)
            fail_msg("'%s' rejected: %s", cases[i].expr, err);
        bool holds = bench_assert_eval(&a, &m, why, sizeof(why));
        if (holds != cases[i].holds)
            fail_msg("'%s' evaluated to %d (%s)", cases[i].expr, holds, why);
        if (holds)
            assert_string_equal(why, "");
        else
            assert_true(strstr(why, " failed: ") != NULL);
    }
}

static void test_eval_messages(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        const char *why;
    } cases[] = {
        {"p999 < 50ms", "p999 < 50ms failed: p999 was 73.2ms"},
        {"p999<50ms", "p999 < 50ms failed: p999 was 73.2ms"},
        {"p999<0.05s", "p999 < 0.05s failed: p999 was 0.0732s"},
        {"p999<50000us", "p999 < 50000us failed: p999 was 73200us"},
        {"max>2us", "max > 2us failed: max was 1.5us"},
        {"p50>1ms", "p50 > 1ms failed: p50 was 1ms"},
        {"connect_p99<1.5s", "connect_p99 < 1.5s failed: connect_p99 was 2s"},
        {"errors>=1", "errors >= 1 failed: errors was 0"},
        {"connected>=20000", "connected >= 20000 failed: connected was 10000"},
        {"sent_rate>=1000", "sent_rate >= 1000 failed: sent_rate was 999.9999999"},
        {"recv_rate<0.5", "recv_rate < 0.5 failed: recv_rate was 1000"},
    };
    bench_metrics_t m = sample();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bench_assert_t a;
        char err[256], why[256];
        assert_int_equal(bench_assert_parse(cases[i].expr, &a, err, sizeof(err)), 0);
        assert_false(bench_assert_eval(&a, &m, why, sizeof(why)));
        assert_string_equal(why, cases[i].why);
    }
    /* 1 ns off shows exactly, not a rounded "50ms" */
    m.p99_ns = 50000001;
    bench_assert_t a;
    char err[64], why[64];
    assert_int_equal(bench_assert_parse("p99<=50ms", &a, err, sizeof(err)), 0);
    assert_false(bench_assert_eval(&a, &m, why, sizeof(why)));
    assert_string_equal(why, "p99 <= 50ms failed: p99 was 50.000001ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_eval_boundaries),
        cmocka_unit_test(test_eval_messages),
        cmocka_unit_test(test_eval_no_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
