/* Unit tests for src/core/rate.c: exact due times over long runs, overdue
 * messages after a stall keep their intended times, ramps, a ramp's turns
 * taken by several schedules, rejected rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "rate.h"

#define START UINT64_C(5000000000123) /* an arbitrary monotonic clock reading */

static void test_no_drift(void **state)
{
    (void)state;
    /* due(10^9) = start + floor(10^9 * 10^9 / rate), worked out by hand */
    static const struct {
        double rate;
        uint64_t offset;
    } cases[] = {
        {3, UINT64_C(333333333333333333)},   {7, UINT64_C(142857142857142857)},
        {1e6, UINT64_C(1000000000000)},      {0.3, UINT64_C(3333333333333333333)},
        {1, UINT64_C(1000000000000000000)},  {1e9, UINT64_C(1000000000)},
        {12.5, UINT64_C(80000000000000000)}, {999999.999999, UINT64_C(1000000000001)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rate_t r;
        assert_int_equal(rate_init(&r, cases[i].rate, START), 0);
        assert_int_equal(rate_due(&r, 0), START);
        uint64_t due = rate_due(&r, 1000000000);
        if (due != START + cases[i].offset)
            fail_msg("rate %g: due(1e9) = start + %llu, want + %llu", cases[i].rate,
                     (unsigned long long)(due - START), (unsigned long long)cases[i].offset);
        /* taking everything due at that instant hands out 0..1e9 in one batch */
        uint64_t first;
        assert_int_equal(rate_take(&r, due, UINT64_MAX, &first), 1000000001);
        assert_int_equal(first, 0);
        assert_true(rate_next_due(&r) > due);
        assert_int_equal(rate_take(&r, due, UINT64_MAX, &first), 0);
    }
}

/* Stepping a clock to each due time in turn: every gap is the period rounded
 * down or up, and the k-th intended time is the formula's (a rounded period
 * added up would be 0.857 s late after 10^9 messages at 7/s). */
static void test_stepping(void **state)
{
    (void)state;
    rate_t r;
    assert_int_equal(rate_init(&r, 7, START), 0);
    uint64_t prev = 0, now = START;
    for (uint64_t k = 0; k < 2000000; k++) {
        uint64_t t;
        assert_int_equal(now - START, k * UINT64_C(1000000000) / 7);
        if (k > 0) {
            uint64_t gap = now - prev;
            assert_true(gap == 142857142 || gap == 142857143);
        }
        assert_false(rate_pop(&r, now - 1, &t)); /* not before its time */
        assert_int_equal(rate_delay_ns(&r, now), 0);
        assert_true(rate_pop(&r, now, &t));
        assert_int_equal(t, now);
        prev = now;
        now = rate_next_due(&r);
        assert_int_equal(rate_delay_ns(&r, prev), now - prev);
    }
    assert_int_equal(rate_taken(&r), 2000000);
}

static void test_stall_keeps_intended_times(void **state)
{
    (void)state;
    rate_t r;
    assert_int_equal(rate_init(&r, 1000, START), 0); /* one every 1 ms */
    uint64_t t, first;
    for (uint64_t k = 0; k < 10; k++) {
        assert_true(rate_pop(&r, START + k * 1000000, &t));
        assert_int_equal(t, START + k * 1000000);
        assert_false(rate_pop(&r, START + k * 1000000 + 999999, &t));
    }
    /* The sender stalls for 1.5 s: the 1491 messages due at 10..1500 ms all
     * come out, in batches of at most 100, each with its own intended time. */
    uint64_t now = START + 1500000000;
    uint64_t expect = 10, got = 0, n;
    while ((n = rate_take(&r, now, 100, &first)) > 0) {
        assert_true(n <= 100);
        assert_int_equal(first, expect);
        for (uint64_t i = 0; i < n; i++)
            assert_int_equal(rate_due(&r, first + i), START + (first + i) * 1000000);
        expect += n;
        got += n;
    }
    assert_int_equal(got, 1491);
    assert_int_equal(rate_next_due(&r), START + 1501000000);
    assert_int_equal(rate_delay_ns(&r, now), 1000000);
    /* and then the schedule carries on where it was, not from the stall's end */
    assert_true(rate_pop(&r, START + 1501000000, &t));
    assert_int_equal(t, START + 1501000000);
}

static void test_before_start_and_slow(void **state)
{
    (void)state;
    rate_t r;
    uint64_t first, t;
    assert_int_equal(rate_init(&r, 0.5, START), 0);
    assert_int_equal(rate_take(&r, START - 1, 10, &first), 0);
    assert_int_equal(rate_delay_ns(&r, START - 1000), 1000);
    assert_false(rate_pop(&r, 0, &t));
    assert_true(rate_pop(&r, START, &t));
    assert_int_equal(t, START);
    assert_false(rate_pop(&r, START + 1999999999, &t));
    assert_true(rate_pop(&r, START + 2000000000, &t));
    assert_int_equal(t, START + 2000000000);
    /* the slowest allowed rate, far in the future: saturates rather than wraps */
    assert_int_equal(rate_init(&r, RATE_MIN, 0), 0);
    assert_int_equal(rate_due(&r, 1), UINT64_C(1000000000000000));
    assert_int_equal(rate_due(&r, 100000), UINT64_MAX);
    assert_int_equal(rate_take(&r, UINT64_MAX, UINT64_MAX, &first), 18447);
    /* the fastest, at the end of the clock: no overflow either */
    assert_int_equal(rate_init(&r, RATE_MAX, 0), 0);
    assert_int_equal(rate_take(&r, UINT64_MAX - 1, 10, &first), 10);
    assert_int_equal(rate_take(&r, UINT64_MAX - 1, UINT64_MAX, &first), UINT64_MAX - 10);
}

static void test_ramp(void **state)
{
    (void)state;
    rate_t r;
    uint64_t first, t;
    /* -c 1000 --connect-rate 100: the last connection starts 9.99 s in */
    assert_int_equal(rate_init_ramp(&r, 100, START, 1000), 0);
    assert_int_equal(rate_ramp_end_ns(&r), START + UINT64_C(9990000000));
    assert_false(rate_finished(&r));
    assert_int_equal(rate_take(&r, START + 5000000000, 10000, &first), 501);
    assert_int_equal(rate_take(&r, START + 60000000000, 10000, &first), 499);
    assert_int_equal(first, 501);
    assert_true(rate_finished(&r));
    assert_int_equal(rate_next_due(&r), UINT64_MAX);
    assert_int_equal(rate_delay_ns(&r, START), UINT64_MAX);
    assert_false(rate_pop(&r, UINT64_MAX, &t));
    assert_int_equal(rate_take(&r, UINT64_MAX, 10, &first), 0);
    assert_int_equal(rate_due(&r, 1000), UINT64_MAX);
    assert_int_equal(rate_init(&r, 100, START), 0);
    assert_int_equal(rate_ramp_end_ns(&r), UINT64_MAX);
    assert_int_equal(rate_init_ramp(&r, 1, START, 1), 0);
    assert_int_equal(rate_ramp_end_ns(&r), START);
}

/* The next due time is kept rather than computed per call: after any mix
 * of pops and takes it is still the due time of the next message. */
static void test_next_due_kept(void **state)
{
    (void)state;
    rate_t r;
    assert_int_equal(rate_init_ramp(&r, 333.3, START, 500), 0);
    uint64_t now = START, t, first;
    for (int i = 0; i < 400; i++) {
        now += (uint64_t)(i % 7) * 1000000u;
        if (i % 3)
            (void)rate_pop(&r, now, &t);
        else
            (void)rate_take(&r, now, (uint64_t)(i % 5), &first);
        assert_true(rate_next_due(&r) == rate_due(&r, rate_taken(&r)));
    }
    while (rate_pop(&r, UINT64_MAX - 1, &t))
        ;
    assert_true(rate_finished(&r) && rate_next_due(&r) == UINT64_MAX);
}

/* A window of span ns holds the messages due strictly before its end: at
 * 10/s, 10 in 1 s (not 11: the one at 1 s is the next window's), 15 in
 * 1.5 s; each is the k with due(k) - start < span, checked against
 * rate_due for odd rates and spans. */
static void test_due_within(void **state)
{
    (void)state;
    assert_int_equal(rate_count_within(10, 1000000000), 10);
    assert_int_equal(rate_count_within(10, 1500000000), 15);
    assert_int_equal(rate_count_within(10, 1000000001), 11);
    assert_int_equal(rate_count_within(10, 999999999), 10);
    assert_int_equal(rate_count_within(10, 0), 0);
    assert_int_equal(rate_count_within(10, 1), 1);
    assert_int_equal(rate_count_within(0.3, 10000000000), 3);
    assert_int_equal(rate_count_within(1e9, 1000000000), 1000000000);
    assert_int_equal(rate_count_within(0, 1000000000), 0); /* not a rate */
    assert_int_equal(rate_count_within(1e9, UINT64_MAX), UINT64_MAX);
    static const double rates[] = {7, 333.3, 0.7, 12345.678};
    static const uint64_t spans[] = {1, 999, 142857143, 1000000000, 2999999999, 3000000000};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
        for (size_t j = 0; j < sizeof(spans) / sizeof(spans[0]); j++) {
            rate_t r;
            assert_int_equal(rate_init(&r, rates[i], START), 0);
            uint64_t n = rate_due_within(&r, spans[j]);
            assert_true(rate_due(&r, n) - START >= spans[j]);
            if (n > 0)
                assert_true(rate_due(&r, n - 1) - START < spans[j]);
        }
    rate_t r;
    assert_int_equal(rate_init_ramp(&r, 10, START, 4), 0);
    assert_int_equal(rate_due_within(&r, 1000000000), 4); /* the limit */
}

/* rate_init_ramp_every: the schedules of phases 0 .. stride - 1 make one
 * ramp, each turn in turn (15 connections at 10/s over 2 or 4 threads:
 * one every 0.1 s, not two or four every 0.2 or 0.4 s). */
static void test_ramp_every(void **state)
{
    (void)state;
    static const struct {
        double rate;
        uint64_t total, stride;
    } cases[] = {{10, 15, 2},   {10, 16, 2}, {10, 15, 4}, {333.3, 1000, 7},
                 {1e9, 100, 3}, {0.7, 5, 5}, {10, 3, 4}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        rate_t whole, r[8];
        uint64_t stride = cases[c].stride, total = cases[c].total;
        assert_int_equal(rate_init_ramp(&whole, cases[c].rate, START, total), 0);
        for (uint64_t j = 0; j < stride; j++) {
            uint64_t mine = total / stride + (j < total % stride ? 1 : 0);
            if (mine == 0) {
                assert_int_equal(rate_init_ramp_every(&r[j], cases[c].rate, START, 0, stride, j),
                                 -1);
                continue;
            }
            assert_int_equal(rate_init_ramp_every(&r[j], cases[c].rate, START, mine, stride, j), 0);
            for (uint64_t k = 0; k < mine; k++)
                assert_int_equal(rate_due(&r[j], k), rate_due(&whole, k * stride + j));
            assert_int_equal(rate_due(&r[j], mine), UINT64_MAX);
            assert_int_equal(rate_ramp_end_ns(&r[j]), rate_due(&whole, (mine - 1) * stride + j));
            assert_int_equal(rate_next_due(&r[j]), rate_due(&whole, j));
        }
        /* taken together, step by step: each due message exactly once, in turn */
        uint64_t taken = 0, end = rate_ramp_end_ns(&whole);
        for (uint64_t now = START; taken < total; now += (end - START) / 97 + 1) {
            uint64_t want = 0, first;
            for (uint64_t g = 0; g < total && rate_due(&whole, g) <= now; g++)
                want++;
            for (uint64_t j = 0; j < stride && j < total; j++) {
                uint64_t n = rate_take(&r[j], now, UINT64_MAX, &first);
                for (uint64_t i = 0; i < n; i++)
                    assert_true(rate_due(&r[j], first + i) <= now);
                taken += n;
            }
            assert_int_equal(taken, want);
        }
        for (uint64_t j = 0; j < stride && j < total; j++)
            assert_true(rate_finished(&r[j]));
    }
    /* rate_due_within counts a schedule's own turns */
    rate_t r;
    assert_int_equal(rate_init_ramp_every(&r, 10, START, 100, 3, 0), 0);
    assert_int_equal(rate_due_within(&r, 1000000000), 4); /* turns 0, 3, 6, 9 */
    assert_int_equal(rate_init_ramp_every(&r, 10, START, 100, 3, 2), 0);
    assert_int_equal(rate_due_within(&r, 1000000000), 3); /* turns 2, 5, 8 */
    assert_int_equal(rate_due_within(&r, 200000000), 0);
    assert_int_equal(rate_due_within(&r, 200000001), 1);
}

static void test_rejects(void **state)
{
    (void)state;
    static const double bad[] = {0, -1, -0.0, 1e-7, 1e9 + 1, 1e300, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rate_t r = {.start_ns = 1, .uhz = 2, .next = 3, .limit = 4};
        if (rate_init(&r, bad[i], START) != -1)
            fail_msg("rate %g accepted", bad[i]);
        assert_int_equal(rate_init_ramp(&r, bad[i], START, 10), -1);
        assert_true(r.start_ns == 1 && r.uhz == 2 && r.next == 3 && r.limit == 4);
    }
    rate_t r = {.start_ns = 1, .uhz = 2, .next = 3, .limit = 4};
    assert_int_equal(rate_init_ramp(&r, 10, START, 0), -1);
    assert_int_equal(rate_init_ramp_every(&r, 10, START, 5, 0, 0), -1); /* no stride */
    assert_int_equal(rate_init_ramp_every(&r, 10, START, 5, 2, 2), -1); /* phase past it */
    /* the last turn, (total - 1) * 2 + 1, past 64 bits */
    assert_int_equal(rate_init_ramp_every(&r, 10, START, UINT64_MAX / 2 + 2, 2, 1), -1);
    assert_true(r.start_ns == 1 && r.uhz == 2 && r.next == 3 && r.limit == 4);
    assert_int_equal(rate_init_ramp_every(&r, 10, START, UINT64_MAX / 2 + 1, 2, 1), 0);
    assert_int_equal(rate_due(&r, 0), START + 100000000);
    assert_int_equal(rate_due(&r, UINT64_MAX / 2), UINT64_MAX); /* past the year 2554 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_drift),
        cmocka_unit_test(test_stepping),
        cmocka_unit_test(test_stall_keeps_intended_times),
        cmocka_unit_test(test_before_start_and_slow),
        cmocka_unit_test(test_ramp),
        cmocka_unit_test(test_next_due_kept),
        cmocka_unit_test(test_due_within),
        cmocka_unit_test(test_ramp_every),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
