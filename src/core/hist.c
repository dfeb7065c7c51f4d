#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUB_COUNT      (1u << HIST_SUB_BITS) /* 128 sub-buckets per power of two */
#define DIRECT_LIMIT   (2u * SUB_COUNT)      /* values below it have a bucket each */

_Static_assert(HIST_SUB_BITS == 7, "HIST_NBUCKETS and the docs assume 7 sub-bucket bits");

size_t hist_index(uint64_t ns)
{
    if (ns > HIST_MAX_NS)
        ns = HIST_MAX_NS;
    if (ns < SUB_COUNT)
        return (size_t)ns;
    /* k = floor(log2 ns) >= 7; the top 8 bits of ns (128..255) pick the
     * sub-bucket, and each power of two above 2^7 adds 128 buckets. */
    unsigned k = 63u - (unsigned)__builtin_clzll(ns);
    unsigned shift = k - HIST_SUB_BITS;
    return (size_t)shift * SUB_COUNT + (size_t)(ns >> shift);
}

void hist_bucket_range(size_t index, uint64_t *lo, uint64_t *hi)
{
    if (index < DIRECT_LIMIT) {
        *lo = *hi = index;
        return;
    }
    unsigned shift = (unsigned)(index / SUB_COUNT) - 1;
    uint64_t sub = index % SUB_COUNT + SUB_COUNT;
    *lo = sub << shift;
    *hi = *lo + (UINT64_C(1) << shift) - 1;
}

void hist_init(hist_t *h)
{
    h->counts = xcalloc(HIST_NBUCKETS, sizeof(*h->counts));
    h->count = h->clamped = h->max = h->sum = 0;
    h->min = UINT64_MAX;
}

void hist_free(hist_t *h)
{
    free(h->counts);
    h->counts = NULL;
}

void hist_reset(hist_t *h)
{
    memset(h->counts, 0, HIST_NBUCKETS * sizeof(*h->counts));
    h->count = h->clamped = h->max = h->sum = 0;
    h->min = UINT64_MAX;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void hist_record_n(hist_t *h, uint64_t ns, uint64_t n)
{
    if (n == 0)
        return;
    if (ns > HIST_MAX_NS) {
        ns = HIST_MAX_NS;
        h->clamped += n;
    }
    h->counts[hist_index(ns)] += n;
    h->count += n;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
    unsigned __int128 add = (unsigned __int128)ns * n;
    h->sum = add > UINT64_MAX ? UINT64_MAX : sat_add(h->sum, (uint64_t)add);
}

void hist_record(hist_t *h, uint64_t ns)
{
    hist_record_n(h, ns, 1);
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    if (src->count == 0)
        return;
    for (size_t i = 0; i < HIST_NBUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->clamped += src->clamped;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->sum = sat_add(dst->sum, src->sum);
}

uint64_t hist_count(const hist_t *h)
{
    return h->count;
}

uint64_t hist_bucket_count(const hist_t *h, size_t index)
{
    return index < HIST_NBUCKETS ? h->counts[index] : 0;
}

uint64_t hist_clamped(const hist_t *h)
{
    return h->clamped;
}

uint64_t hist_min(const hist_t *h)
{
    return h->count ? h->min : 0;
}

uint64_t hist_max(const hist_t *h)
{
    return h->max;
}

double hist_mean(const hist_t *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

uint64_t hist_percentile(const hist_t *h, double p)
{
    if (h->count == 0)
        return 0;
    if (!(p > 0.0)) /* NaN too */
        return h->min;
    if (p >= 100.0)
        return h->max;
    /* rank = ceil(p/100 * n), except that the last bits of a p like 99.9
     * (not exact in binary) must not push an integral product up by one. */
    double x = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)x;
    if ((double)rank < x - x * 1e-12)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_NBUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(i, &lo, &hi);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max; /* not reached: the counts add up to count */
}

/* ---- JSON ------------------------------------------------------------- */

void hist_to_json(const hist_t *h, buf_t *out)
{
    buf_printf(out, "{\"unit\":\"ns\",\"sub_bucket_bits\":%d,\"buckets\":%d,\"counts\":[",
               HIST_SUB_BITS, HIST_NBUCKETS);
    bool first = true;
    for (size_t i = 0; i < HIST_NBUCKETS; i++) {
        if (h->counts[i] == 0)
            continue;
        buf_printf(out, "%s[%zu,%llu]", first ? "" : ",", i, (unsigned long long)h->counts[i]);
        first = false;
    }
    buf_printf(out, "],\"count\":%llu,\"clamped\":%llu,\"min\":%llu,\"max\":%llu,\"sum\":\"%llu\"}",
               (unsigned long long)h->count, (unsigned long long)h->clamped,
               (unsigned long long)hist_min(h), (unsigned long long)h->max,
               (unsigned long long)h->sum);
}
