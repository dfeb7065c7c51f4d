/* bench_latsec: per-second latency histograms (see bench_latsec.h). */
#include "bench_latsec.h"
#include "buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define TOP_NS UINT64_C(3600000000000) /* 1 h */

void bench_latsec_init(bench_latsec_t *l)
{
    memset(l, 0, sizeof(*l));
}

void bench_latsec_free(bench_latsec_t *l)
{
    free(l->counts);
    memset(l, 0, sizeof(*l));
}

size_t bench_latsec_index(uint64_t ns)
{
    if (ns > TOP_NS)
        ns = TOP_NS;
    if (ns < 8)
        return (size_t)ns;
    unsigned k = 63u - (unsigned)__builtin_clzll(ns); /* 2^k <= ns < 2^(k+1), k >= 3 */
    uint64_t sub = (ns >> (k - 3)) - 8;                /* 0..7 */
    return (size_t)(k - 2) * 8 + (size_t)sub;
}

uint64_t bench_latsec_bucket_top(size_t i)
{
    if (i < 8)
        return i;
    unsigned k = (unsigned)(i / 8) + 2;
    uint64_t lo = (uint64_t)(8 + i % 8) << (k - 3);
    return lo + (UINT64_C(1) << (k - 3)) - 1;
}

/* Second s, grown (zeroed) when needed; NULL past BENCH_LATSEC_MAX. */
static uint32_t *second_at(bench_latsec_t *l, uint64_t s)
{
    if (s >= BENCH_LATSEC_MAX) {
        l->truncated = true;
        return NULL;
    }
    if (s >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        while (cap <= s)
            cap *= 2;
        if (cap > BENCH_LATSEC_MAX)
            cap = BENCH_LATSEC_MAX;
        l->counts = xrealloc(l->counts, cap * BENCH_LATSEC_BUCKETS * sizeof(uint32_t));
        memset(l->counts + l->cap * BENCH_LATSEC_BUCKETS, 0,
               (cap - l->cap) * BENCH_LATSEC_BUCKETS * sizeof(uint32_t));
        l->cap = cap;
    }
    if (s >= l->len)
        l->len = (size_t)s + 1;
    return l->counts + s * BENCH_LATSEC_BUCKETS;
}

static void add_sat(uint32_t *c, uint64_t n)
{
    uint64_t v = (uint64_t)*c + n;
    *c = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void bench_latsec_record(bench_latsec_t *l, uint64_t second, uint64_t ns)
{
    uint32_t *c = second_at(l, second);
    if (c)
        add_sat(&c[bench_latsec_index(ns)], 1);
}

void bench_latsec_merge(bench_latsec_t *dst, const bench_latsec_t *src)
{
    dst->truncated = dst->truncated || src->truncated;
    for (size_t s = 0; s < src->len; s++) {
        const uint32_t *from = src->counts + s * BENCH_LATSEC_BUCKETS;
        if (bench_latsec_count(src, s) == 0)
            continue;
        uint32_t *to = second_at(dst, s);
        for (size_t i = 0; i < BENCH_LATSEC_BUCKETS; i++)
            if (from[i])
                add_sat(&to[i], from[i]);
    }
}

uint64_t bench_latsec_count(const bench_latsec_t *l, size_t s)
{
    if (s >= l->len)
        return 0;
    uint64_t n = 0;
    for (size_t i = 0; i < BENCH_LATSEC_BUCKETS; i++)
        n += l->counts[s * BENCH_LATSEC_BUCKETS + i];
    return n;
}

uint64_t bench_latsec_percentile(const bench_latsec_t *l, size_t s, double p)
{
    uint64_t n = bench_latsec_count(l, s);
    if (n == 0)
        return 0;
    double r = ceil(p / 100.0 * (double)n);
    uint64_t rank = r < 1 ? 1 : r > (double)n ? n : (uint64_t)r, cum = 0;
    for (size_t i = 0; i < BENCH_LATSEC_BUCKETS; i++) {
        cum += l->counts[s * BENCH_LATSEC_BUCKETS + i];
        if (cum >= rank)
            return bench_latsec_bucket_top(i);
    }
    return bench_latsec_bucket_top(BENCH_LATSEC_BUCKETS - 1);
}

void bench_latsec_to_json(const bench_latsec_t *l, buf_t *out)
{
    buf_printf(out, "{\"buckets\":%d,\"truncated\":%s,\"seconds\":[", BENCH_LATSEC_BUCKETS,
               l->truncated ? "true" : "false");
    bool first = true;
    for (size_t s = 0; s < l->len; s++) {
        if (bench_latsec_count(l, s) == 0)
            continue;
        buf_printf(out, "%s[%zu,[", first ? "" : ",", s);
        first = false;
        bool f2 = true;
        for (size_t i = 0; i < BENCH_LATSEC_BUCKETS; i++) {
            uint32_t c = l->counts[s * BENCH_LATSEC_BUCKETS + i];
            if (!c)
                continue;
            buf_printf(out, "%s[%zu,%" PRIu32 "]", f2 ? "" : ",", i, c);
            f2 = false;
        }
        buf_puts(out, "]]");
    }
    buf_puts(out, "]}");
}

static bool int_in(const cJSON *j, double lo, double hi, double *v)
{
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= lo && j->valuedouble <= hi) ||
        j->valuedouble != floor(j->valuedouble))
        return false;
    *v = j->valuedouble;
    return true;
}

/* One [S,[[I,C],...]] after second `prev` (-1: none yet). */
static int read_second(const cJSON *sec, double prev, double *s, bench_latsec_t *l, char *err,
                       size_t errlen)
{
    const cJSON *pairs = cJSON_GetArrayItem(sec, 1);
    if (!cJSON_IsArray(sec) || cJSON_GetArraySize(sec) != 2 ||
        !int_in(cJSON_GetArrayItem(sec, 0), prev + 1, BENCH_LATSEC_MAX - 1, s) ||
        !cJSON_IsArray(pairs)) {
        snprintf(err, errlen, "\"latency_seconds\" has a second that is not [S,[[I,C],...]] "
                              "with S increasing below %d", BENCH_LATSEC_MAX);
        return -1;
    }
    uint32_t *c = second_at(l, (uint64_t)*s);
    double last = -1, i, n;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, pairs) {
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 ||
            !int_in(cJSON_GetArrayItem(pair, 0), last + 1, BENCH_LATSEC_BUCKETS - 1, &i) ||
            !int_in(cJSON_GetArrayItem(pair, 1), 1, UINT32_MAX, &n)) {
            snprintf(err, errlen, "\"latency_seconds\" has a bucket that is not [I,C] with I "
                                  "increasing below %d and C from 1 to 2^32-1",
                     BENCH_LATSEC_BUCKETS);
            return -1;
        }
        c[(size_t)i] = (uint32_t)n;
        last = i;
    }
    return 0;
}

int bench_latsec_from_json(const cJSON *o, bench_latsec_t *l, char *err, size_t errlen)
{
    const cJSON *nb = cJSON_GetObjectItemCaseSensitive(o, "buckets");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "truncated");
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(o, "seconds");
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(nb) || nb->valuedouble != BENCH_LATSEC_BUCKETS ||
        !cJSON_IsBool(tr) || !cJSON_IsArray(secs)) {
        snprintf(err, errlen, "\"latency_seconds\" is not {\"buckets\":%d,\"truncated\":...,"
                              "\"seconds\":[...]}", BENCH_LATSEC_BUCKETS);
        return -1;
    }
    l->truncated = cJSON_IsTrue(tr);
    double prev = -1, s;
    const cJSON *sec;
    cJSON_ArrayForEach(sec, secs) {
        if (read_second(sec, prev, &s, l, err, errlen) < 0)
            return -1;
        prev = s;
    }
    return 0;
}
