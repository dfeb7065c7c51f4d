/* Unit tests for src/bench/bench_plan.c: the default thread count follows
 * the offered load (echo), capped at the cores; other modes take every
 * core. The threads of every process take the ramp's connection slots in
 * turn, with none left out. */
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

static uint64_t turn(uint64_t conns, unsigned procs, unsigned threads, unsigned p, unsigned t)
{
    bench_plan_ramp_t r = {.connections = conns, .procs = procs, .threads = threads};
    return bench_plan_ramp_turn(&r, p, t);
}

static void test_ramp_turns(void **state)
{
    (void)state;
    assert_int_equal(turn(16, 1, 2, 0, 0), 0); /* -c 16 -t 2 */
    assert_int_equal(turn(16, 1, 2, 0, 1), 1);
    assert_int_equal(turn(15, 2, 1, 0, 0), 0); /* -c 15 -p 2 -t 1: 8 and 7 */
    assert_int_equal(turn(15, 2, 1, 1, 0), 1);
    assert_int_equal(turn(15, 2, 2, 1, 0), 2); /* 4 4 | 4 3 */
    assert_int_equal(turn(15, 2, 2, 1, 1), 3);
    /* -c 10 -p 3 -t 2: 2 2 | 2 1 | 2 1; the threads with 2 first, or slot
     * 9 would be left empty and slot 10 taken */
    static const uint64_t want[3][2] = {{0, 1}, {2, 4}, {3, 5}};
    for (unsigned p = 0; p < 3; p++)
        for (unsigned t = 0; t < 2; t++)
            assert_int_equal(turn(10, 3, 2, p, t), want[p][t]);
    assert_int_equal(bench_plan_part(10, 3, 0), 4);
    assert_int_equal(bench_plan_part(10, 3, 2), 3);
    assert_int_equal(bench_plan_part(2, 4, 3), 0);
}

/* Every split: the slots j + k x J (k below the thread's part) of all the
 * threads are 0 .. connections - 1, each once. */
static void test_ramp_turns_cover(void **state)
{
    (void)state;
    unsigned char seen[200];
    for (uint64_t c = 0; c <= 60; c++)
        for (unsigned procs = 1; procs <= 5; procs++)
            for (unsigned threads = 1; threads <= 5; threads++) {
                memset(seen, 0, sizeof(seen));
                uint64_t all = (uint64_t)procs * threads, n = 0;
                for (unsigned p = 0; p < procs; p++) {
                    uint64_t share = bench_plan_part(c, procs, p);
                    for (unsigned t = 0; t < threads; t++) {
                        uint64_t j = turn(c, procs, threads, p, t);
                        assert_true(j < all);
                        for (uint64_t k = 0; k < bench_plan_part(share, threads, t); k++) {
                            uint64_t slot = j + k * all;
                            if (slot >= c || seen[slot])
                                fail_msg("-c %llu -p %u -t %u: slot %llu", (unsigned long long)c,
                                         procs, threads, (unsigned long long)slot);
                            seen[slot] = 1;
                            n++;
                        }
                    }
                }
                assert_int_equal(n, c);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_echo_one_thread),
        cmocka_unit_test(test_big_echo_more_threads),
        cmocka_unit_test(test_other_modes_every_core),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_ramp_turns),
        cmocka_unit_test(test_ramp_turns_cover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
