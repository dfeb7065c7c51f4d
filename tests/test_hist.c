/* Unit tests for src/core/hist.c: bucket layout, percentile accuracy against exact
 * sorted-array percentiles, edge values, merge, JSON round trip and rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "hist_json.h"

/* splitmix64: reproducible samples without global state. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Log-uniform in [lo, hi]. */
static uint64_t log_uniform(uint64_t *s, double lo, double hi)
{
    double u = (double)(next_rand(s) >> 11) / 9007199254740992.0;
    return (uint64_t)exp(log(lo) + u * (log(hi) - log(lo)));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void assert_same(const hist_t *a, const hist_t *b)
{
    assert_int_equal(hist_count(a), hist_count(b));
    assert_int_equal(hist_clamped(a), hist_clamped(b));
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
    assert_int_equal(a->sum, b->sum);
    assert_memory_equal(a->counts, b->counts, HIST_NBUCKETS * sizeof(uint64_t));
}

static void test_layout(void **state)
{
    (void)state;
    assert_int_equal(hist_index(HIST_MAX_NS), HIST_NBUCKETS - 1);
    assert_int_equal(hist_index(UINT64_MAX), HIST_NBUCKETS - 1);
    uint64_t prev_hi = 0;
    for (size_t i = 0; i < HIST_NBUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        /* contiguous, and no bucket wider than 1/128 of its lowest value */
        if (i > 0 && lo != prev_hi + 1)
            fail_msg("bucket %zu starts at %llu, previous ended at %llu", i, (unsigned long long)lo,
                     (unsigned long long)prev_hi);
        if (hist_index(lo) != i || (hi <= HIST_MAX_NS && hist_index(hi) != i))
            fail_msg("bucket %zu: index(lo)=%zu index(hi)=%zu", i, hist_index(lo), hist_index(hi));
        if (lo > 0 && (double)(hi - lo) / (double)lo >= 1.0 / 128)
            fail_msg("bucket %zu too wide: [%llu, %llu]", i, (unsigned long long)lo,
                     (unsigned long long)hi);
        prev_hi = hi;
    }
}

/* Every percentile from 0.1 to 100 in steps of 0.1, against the exact
 * rank-th smallest sample (rank = ceil(p/100 * n)). */
static double check_percentiles(const hist_t *h, uint64_t *sorted, size_t n)
{
    double worst = 0;
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    for (unsigned tenths = 1; tenths <= 1000; tenths++) {
        uint64_t rank = ((uint64_t)tenths * n + 999) / 1000;
        uint64_t exact = sorted[rank - 1];
        uint64_t got = hist_percentile(h, tenths / 10.0);
        double err = exact ? fabs((double)got - (double)exact) / (double)exact : (double)got;
        if (got < exact || err > 0.01)
            fail_msg("p%.1f: got %llu, exact %llu (error %.4f%%)", tenths / 10.0,
                     (unsigned long long)got, (unsigned long long)exact, err * 100);
        if (err > worst)
            worst = err;
    }
    return worst;
}

static void test_accuracy(void **state)
{
    (void)state;
    enum { N = 200000 };
    static const struct {
        double lo, hi;
    } ranges[] = {
        {1, 3.6e12},   /* 1 ns .. 1 h: the whole range */
        {1e3, 3.6e12}, /* 1 us .. 1 h */
        {1e5, 2e7},    /* typical latencies: 100 us .. 20 ms */
        {1, 1000},     /* below 1 us */
    };
    uint64_t *vals = malloc(N * sizeof(*vals));
    assert_non_null(vals);
    hist_t h;
    hist_init(&h);
    double worst = 0;
    uint64_t seed = 42;
    for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
        hist_reset(&h);
        uint64_t sum = 0, min = UINT64_MAX, max = 0;
        for (size_t i = 0; i < N; i++) {
            vals[i] = log_uniform(&seed, ranges[r].lo, ranges[r].hi);
            hist_record(&h, vals[i]);
            sum += vals[i];
            min = vals[i] < min ? vals[i] : min;
            max = vals[i] > max ? vals[i] : max;
        }
        assert_int_equal(hist_count(&h), N);
        assert_int_equal(hist_min(&h), min);
        assert_int_equal(hist_max(&h), max);
        assert_int_equal(h.sum, sum);
        assert_true(fabs(hist_mean(&h) - (double)sum / N) < 1e-6 * (double)sum / N);
        double w = check_percentiles(&h, vals, N);
        worst = w > worst ? w : worst;
        assert_int_equal(hist_percentile(&h, 0), min);
        assert_int_equal(hist_percentile(&h, 100), max);
    }
    print_message("worst relative percentile error: %.4f%%\n", worst * 100);
    assert_true(worst < 1.0 / 128);
    hist_free(&h);
    free(vals);
}

static void test_edges(void **state)
{
    (void)state;
    hist_t h;
    hist_init(&h);
    assert_int_equal(hist_percentile(&h, 50), 0); /* empty */
    assert_int_equal(hist_min(&h), 0);
    assert_int_equal(hist_max(&h), 0);
    assert_true(hist_mean(&h) == 0.0);

    static const uint64_t exact[] = {0, 1, 127, 128, 255};
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        hist_reset(&h);
        hist_record(&h, exact[i]);
        assert_int_equal(hist_percentile(&h, 50), exact[i]);
        assert_int_equal(hist_percentile(&h, 99.9), exact[i]);
    }
    /* Values in wide buckets: the percentile of one sample is that sample
     * (capped at max); with another sample above, within 1/128 of it. */
    static const uint64_t wide[] = {
        999, 1000, 1001, 65535, 1000000, 1500000, HIST_MAX_NS - 1, HIST_MAX_NS};
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        hist_reset(&h);
        hist_record(&h, wide[i]);
        assert_int_equal(hist_percentile(&h, 50), wide[i]);
        hist_record(&h, UINT64_MAX);
        uint64_t got = hist_percentile(&h, 50);
        assert_true(got >= wide[i]);
        assert_true((double)(got - wide[i]) / (double)wide[i] < 1.0 / 128);
    }
    /* Above 1 h: clamped to 1 h and counted. */
    hist_reset(&h);
    hist_record(&h, HIST_MAX_NS + 1);
    hist_record(&h, UINT64_MAX);
    hist_record(&h, HIST_MAX_NS);
    hist_record(&h, 5);
    assert_int_equal(hist_count(&h), 4);
    assert_int_equal(hist_clamped(&h), 2);
    assert_int_equal(hist_max(&h), HIST_MAX_NS);
    assert_int_equal(hist_min(&h), 5);
    assert_int_equal(hist_percentile(&h, 99.9), HIST_MAX_NS);
    assert_int_equal(hist_percentile(&h, 25), 5);
    assert_int_equal(h.sum, 3 * HIST_MAX_NS + 5);
    /* hist_record_n, and a sum that saturates rather than wraps */
    hist_reset(&h);
    hist_record_n(&h, 7, 0);
    assert_int_equal(hist_count(&h), 0);
    hist_record_n(&h, HIST_MAX_NS, UINT64_C(1) << 40);
    hist_record_n(&h, HIST_MAX_NS, UINT64_C(1) << 40);
    assert_int_equal(hist_count(&h), UINT64_C(1) << 41);
    assert_int_equal(h.sum, UINT64_MAX);
    /* rank rounding: p99.9 of 1000 samples is the 999th, not the 1000th */
    hist_reset(&h);
    for (uint64_t v = 0; v < 1000; v++)
        hist_record(&h, v % 250); /* all exact buckets */
    assert_int_equal(hist_percentile(&h, 99.9), 249);
    assert_int_equal(hist_percentile(&h, 50), 124);
    assert_int_equal(hist_percentile(&h, 0.1), 0);
    assert_int_equal(hist_percentile(&h, 0.5), 1);
    hist_free(&h);
}

static void test_merge(void **state)
{
    (void)state;
    hist_t all, merged, shard[4];
    hist_init(&all);
    hist_init(&merged);
    for (int i = 0; i < 4; i++)
        hist_init(&shard[i]);
    uint64_t seed = 7;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = log_uniform(&seed, 1, 1e13); /* some above 1 h */
        hist_record(&all, v);
        hist_record(&shard[next_rand(&seed) % 3], v); /* shard 3 stays empty */
    }
    for (int i = 0; i < 4; i++)
        hist_merge(&merged, &shard[i]);
    assert_true(hist_clamped(&all) > 0);
    assert_same(&all, &merged);
    assert_int_equal(hist_percentile(&all, 99.9), hist_percentile(&merged, 99.9));
    /* merging into an empty one gives a copy; merging an empty one changes nothing */
    hist_t copy;
    hist_init(&copy);
    hist_merge(&copy, &all);
    hist_merge(&copy, &shard[3]);
    assert_same(&all, &copy);
    hist_free(&copy);
    hist_free(&all);
    hist_free(&merged);
    for (int i = 0; i < 4; i++)
        hist_free(&shard[i]);
}

static void round_trip(const hist_t *h)
{
    buf_t a, b;
    buf_init(&a);
    buf_init(&b);
    hist_to_json(h, &a);
    hist_t back;
    hist_init(&back);
    hist_record(&back, 12345); /* replaced on success */
    if (hist_from_json(a.p, a.len, &back) != 0)
        fail_msg("own JSON rejected: %s", a.p);
    assert_same(h, &back);
    hist_to_json(&back, &b);
    assert_string_equal(a.p, b.p);
    hist_free(&back);
    buf_free(&a);
    buf_free(&b);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    hist_t h;
    hist_init(&h);
    round_trip(&h); /* empty */
    buf_t out;
    buf_init(&out);
    hist_to_json(&h, &out);
    assert_string_equal(out.p,
                        "{\"unit\":\"ns\",\"sub_bucket_bits\":7,\"buckets\":4562,\"counts\":[],"
                        "\"count\":0,\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}");
    hist_record(&h, 3);
    hist_record(&h, 3);
    hist_record(&h, 1000);
    buf_reset(&out);
    hist_to_json(&h, &out);
    assert_string_equal(out.p, "{\"unit\":\"ns\",\"sub_bucket_bits\":7,\"buckets\":4562,"
                               "\"counts\":[[3,2],[506,1]],\"count\":3,\"clamped\":0,\"min\":3,"
                               "\"max\":1000,\"sum\":\"1006\"}");
    round_trip(&h);
    uint64_t seed = 99;
    for (int i = 0; i < 50000; i++)
        hist_record(&h, log_uniform(&seed, 1, 1e13));
    round_trip(&h);
    hist_reset(&h);
    hist_record_n(&h, HIST_MAX_NS, UINT64_C(1) << 40);
    hist_record_n(&h, HIST_MAX_NS, UINT64_C(1) << 40); /* saturated sum */
    round_trip(&h);
    buf_free(&out);
    hist_free(&h);
}

static void test_json_rejects(void **state)
{
    (void)state;
#define HEAD "{\"unit\":\"ns\",\"sub_bucket_bits\":7,\"buckets\":4562,"
    static const char *bad[] = {
        "",
        "null",
        "[]",
        "{",
        HEAD
        "\"counts\":[[3,2]],\"count\":2,\"clamped\":0,\"min\":3,\"max\":3,\"sum\":\"6\"", /* cut */
        "{\"unit\":\"us\",\"sub_bucket_bits\":7,\"buckets\":4562,\"counts\":[],\"count\":0,"
        "\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        "{\"unit\":\"ns\",\"sub_bucket_bits\":8,\"buckets\":4562,\"counts\":[],\"count\":0,"
        "\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        "{\"unit\":\"ns\",\"sub_bucket_bits\":7,\"buckets\":4000,\"counts\":[],\"count\":0,"
        "\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        HEAD "\"count\":0,\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}", /* no counts */
        HEAD "\"counts\":{},\"count\":0,\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        HEAD "\"counts\":[[4562,1]],\"count\":1,\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        HEAD "\"counts\":[[-1,1]],\"count\":1,\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        HEAD "\"counts\":[[1.5,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,1.5]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,0]],\"count\":0,\"clamped\":0,\"min\":0,\"max\":0,\"sum\":\"0\"}",
        HEAD "\"counts\":[[1,-1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,\"1\"]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,1e300]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,9007199254740993]],\"count\":9007199254740993,\"clamped\":0,"
             "\"min\":1,\"max\":1,\"sum\":\"9007199254740993\"}",
        HEAD "\"counts\":[[1,1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD
        "\"counts\":[[2,1],[1,1]],\"count\":2,\"clamped\":0,\"min\":1,\"max\":2,\"sum\":\"3\"}",
        HEAD
        "\"counts\":[[1,1],[1,1]],\"count\":2,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"2\"}",
        /* scalars that disagree with the buckets */
        HEAD "\"counts\":[[1,1]],\"count\":2,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":2,\"max\":2,\"sum\":\"2\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"5\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":1,\"min\":1,\"max\":1,\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,2]],\"count\":2,\"clamped\":3,\"min\":1,\"max\":1,\"sum\":\"2\"}",
        HEAD "\"counts\":[],\"count\":0,\"clamped\":0,\"min\":1,\"max\":0,\"sum\":\"0\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":1}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"01\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"-1\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,"
             "\"sum\":\"99999999999999999999\"}",
        HEAD "\"counts\":[[1,1]],\"count\":1,\"clamped\":0,\"min\":1,\"max\":3600000000001,"
             "\"sum\":\"1\"}",
        HEAD "\"counts\":[[1,1]],\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}",
    };
#undef HEAD
    hist_t h;
    hist_init(&h);
    hist_record(&h, 77);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hist_from_json(bad[i], strlen(bad[i]), &h) != -1)
            fail_msg("accepted: %s", bad[i]);
        /* left untouched */
        assert_int_equal(hist_count(&h), 1);
        assert_int_equal(hist_max(&h), 77);
    }
    /* a length that cuts a valid text short */
    const char *ok = "{\"unit\":\"ns\",\"sub_bucket_bits\":7,\"buckets\":4562,\"counts\":[[1,1]],"
                     "\"count\":1,\"clamped\":0,\"min\":1,\"max\":1,\"sum\":\"1\"}";
    assert_int_equal(hist_from_json(ok, strlen(ok) - 1, &h), -1);
    assert_int_equal(hist_from_json(ok, strlen(ok), &h), 0);
    assert_int_equal(hist_max(&h), 1);
    hist_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),          cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_edges),           cmocka_unit_test(test_merge),
        cmocka_unit_test(test_json_round_trip), cmocka_unit_test(test_json_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
