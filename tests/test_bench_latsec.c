/* Unit tests for src/bench/bench_latsec.c: per-second latency histograms
 * (buckets and their bounds, percentiles, merging, the cap, the JSON form
 * and its checks of untrusted input) and their trip through the shard
 * form (bench_result.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench_latsec.h"
#include "bench_result.h"

static void test_buckets(void **state)
{
    (void)state;
    uint64_t prev_top = 0;
    for (size_t i = 0; i < 318; i++) {
        uint64_t top = bench_latsec_bucket_top(i);
        assert_true(i == 0 || top > prev_top);
        assert_int_equal(bench_latsec_index(top), i);
        assert_int_equal(bench_latsec_index(prev_top + (i ? 1 : 0)), i);
        /* at most 1/8 of the lowest value wide */
        uint64_t lo = i ? prev_top + 1 : 0;
        assert_true((top - lo) * 8 <= lo || top < 8);
        prev_top = top;
    }
    assert_true(bench_latsec_index(UINT64_C(3600000000000)) < BENCH_LATSEC_BUCKETS);
    assert_int_equal(bench_latsec_index(UINT64_MAX), bench_latsec_index(UINT64_C(3600000000000)));
}

static void test_record_percentile_merge(void **state)
{
    (void)state;
    bench_latsec_t a, b;
    bench_latsec_init(&a);
    bench_latsec_init(&b);
    for (uint64_t v = 1; v <= 100; v++)
        bench_latsec_record(&a, 3, v * 1000000); /* 1..100 ms in second 3 */
    assert_int_equal(a.len, 4);
    assert_int_equal(bench_latsec_count(&a, 3), 100);
    assert_int_equal(bench_latsec_count(&a, 2), 0);
    assert_int_equal(bench_latsec_percentile(&a, 2, 50), 0);
    uint64_t p50 = bench_latsec_percentile(&a, 3, 50), p99 = bench_latsec_percentile(&a, 3, 99);
    assert_true(p50 >= 50000000 && p50 <= 50000000 + 50000000 / 8);
    assert_true(p99 >= 99000000 && p99 <= 99000000 + 99000000 / 8);
    for (uint64_t v = 1; v <= 100; v++)
        bench_latsec_record(&b, 3, 1000);
    bench_latsec_record(&b, 10, 5);
    bench_latsec_merge(&a, &b);
    assert_int_equal(a.len, 11);
    assert_int_equal(bench_latsec_count(&a, 3), 200);
    assert_int_equal(bench_latsec_percentile(&a, 3, 50), bench_latsec_bucket_top(bench_latsec_index(1000)));
    assert_int_equal(bench_latsec_percentile(&a, 10, 99), 5);
    /* the cap */
    bench_latsec_record(&a, BENCH_LATSEC_MAX, 1);
    assert_true(a.truncated);
    assert_int_equal(a.len, 11);
    bench_latsec_record(&a, BENCH_LATSEC_MAX - 1, 1);
    assert_int_equal(a.len, BENCH_LATSEC_MAX);
    bench_latsec_free(&a);
    bench_latsec_free(&b);
}

static void test_json(void **state)
{
    (void)state;
    bench_latsec_t a, b;
    bench_latsec_init(&a);
    bench_latsec_init(&b);
    bench_latsec_record(&a, 0, 7);
    bench_latsec_record(&a, 5, 1500000);
    bench_latsec_record(&a, 5, 1500000);
    buf_t j;
    buf_init(&j);
    bench_latsec_to_json(&a, &j);
    buf_putc(&j, '\0');
    char want[128];
    snprintf(want, sizeof(want),
             "{\"buckets\":%d,\"truncated\":false,\"seconds\":[[0,[[7,1]]],[5,[[%zu,2]]]]}",
             BENCH_LATSEC_BUCKETS, bench_latsec_index(1500000));
    assert_string_equal(j.p, want);
    cJSON *o = cJSON_Parse(j.p);
    char err[200];
    assert_int_equal(bench_latsec_from_json(o, &b, err, sizeof(err)), 0);
    cJSON_Delete(o);
    assert_int_equal(b.len, 6);
    assert_int_equal(bench_latsec_count(&b, 5), 2);
    assert_int_equal(bench_latsec_count(&b, 0), 1);
    const char *bad[] = {
        "{\"buckets\":10,\"truncated\":false,\"seconds\":[]}",
        "{\"buckets\":320,\"seconds\":[]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[2,[]],[2,[]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[3600,[]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[1,[[320,1]]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[1,[[3,1],[3,1]]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[1,[[3,0]]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[1,[[3,4294967296]]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[1.5,[]]]}",
        "{\"buckets\":320,\"truncated\":false,\"seconds\":[[-1,[]]]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bench_latsec_t c;
        bench_latsec_init(&c);
        o = cJSON_Parse(bad[i]);
        assert_non_null(o);
        assert_int_equal(bench_latsec_from_json(o, &c, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "latency_seconds"));
        cJSON_Delete(o);
        bench_latsec_free(&c);
    }
    buf_free(&j);
    bench_latsec_free(&a);
    bench_latsec_free(&b);
}

/* The shard form carries them, and merging two shards adds them. */
static void test_shard_form(void **state)
{
    (void)state;
    bench_result_t r, m;
    bench_result_init(&r);
    bench_result_init(&m);
    bench_latsec_record(&r.latsec, 2, 1000000);
    buf_t j;
    buf_init(&j);
    bench_result_to_shard_json(&r, &j);
    char err[200];
    assert_int_equal(bench_result_parse_shard(j.p, j.len, &m, err, sizeof(err)), 0);
    assert_int_equal(bench_result_parse_shard(j.p, j.len, &m, err, sizeof(err)), 0);
    assert_int_equal(bench_latsec_count(&m.latsec, 2), 2);
    /* without samples the member is left out */
    bench_result_t e;
    bench_result_init(&e);
    j.len = 0;
    bench_result_to_shard_json(&e, &j);
    buf_putc(&j, '\0');
    assert_null(strstr(j.p, "latency_seconds"));
    buf_free(&j);
    bench_result_free(&r);
    bench_result_free(&m);
    bench_result_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_record_percentile_merge),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_shard_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
