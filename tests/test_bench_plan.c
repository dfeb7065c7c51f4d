/* Unit tests for src/bench/bench_plan.c: the default thread count follows
 * the offered load (echo), capped at the cores; other modes take every
 * core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bench_plan.h"

static unsigned plan(bool echo, uint64_t conns, double rate, double connect_rate, unsigned cores)
{
    bench_plan_load_t l = {.echo = echo, .connections = conns, .message_rate = rate,
                           .connect_rate = connect_rate};
    char why[200];
    unsigned t = bench_plan_threads(&l, cores, why, sizeof(why));
    assert_true(strlen(why) > 0);
    return t;
}

static void test_small_echo_one_thread(void **state)
{
    (void)state;
    assert_int_equal(plan(true, 100, 400, 1000, 2), 1);     /* 40k msg/s */
    assert_int_equal(plan(true, 100, 1, 1000, 64), 1);      /* the defaults */
    assert_int_equal(plan(true, 250, 400, 1000, 64), 1);    /* exactly 100k msg/s */
    assert_int_equal(plan(true, 5000, 1, 5000, 64), 1);     /* at every bound */
    assert_int_equal(plan(true, 499, 1, 100000, 64), 1);    /* a ramp too short to count */
}

static void test_big_echo_more_threads(void **state)
{
    (void)state;
    assert_int_equal(plan(true, 100, 4000, 1000, 2), 2);     /* 400k msg/s, 2 cores */
    assert_int_equal(plan(true, 100, 4000, 1000, 64), 4);     /* 400k msg/s */
    assert_int_equal(plan(true, 251, 400, 1000, 64), 2);      /* just over 100k */
    assert_int_equal(plan(true, 10000, 1, 1000, 64), 2);      /* connections */
    assert_int_equal(plan(true, 19000, 1, 20000, 64), 4);     /* bench-scale's serve-ws */
    assert_int_equal(plan(true, 19000, 1, 20000, 2), 2);
    assert_int_equal(plan(true, 2000, 1, 20000, 64), 4);      /* the ramp: 20,000/s */
    assert_int_equal(plan(true, 500, 1, 5001, 64), 2);
    assert_int_equal(plan(true, 500, 1, 1000, 64), 1);
    assert_int_equal(plan(true, 100000, 1, 100000, 8), 8);    /* capped */
}

static void test_other_modes_every_core(void **state)
{
    (void)state;
    assert_int_equal(plan(false, 10, 0, 1000, 2), 2);
    assert_int_equal(plan(false, 100000, 0, 20000, 16), 16);
    assert_int_equal(plan(false, 10, 0, 1000, 0), 1); /* no cores known: one */
}

static void test_extremes(void **state)
{
    (void)state;
    assert_int_equal(plan(true, 0, 400, 1000, 4), 1);
    assert_int_equal(plan(true, 100, 1e300, 1e300, 4), 4);
    assert_int_equal(plan(true, 1, 0.001, 0.001, 1), 1);
    bench_plan_load_t l = {.echo = true, .connections = 100, .message_rate = 400, .connect_rate = 1000};
    assert_int_equal(bench_plan_threads(&l, 2, NULL, 0), 1); /* no reason wanted */
    char why[200];
    bench_plan_threads(&l, 2, why, sizeof(why));
    assert_non_null(strstr(why, "40000 msg/s"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_echo_one_thread),
        cmocka_unit_test(test_big_echo_more_threads),
        cmocka_unit_test(test_other_modes_every_core),
        cmocka_unit_test(test_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
