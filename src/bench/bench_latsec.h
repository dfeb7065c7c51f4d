/* bench_latsec: message latency per second, for the report's p50/p99 over
 * time: for each second of the run (indexed like bench_series, from the
 * ramp's start) a coarse histogram of the latency samples recorded in it.
 *
 * Exactly mergeable (counts add bucket by bucket, second by second), and
 * bounded: BENCH_LATSEC_BUCKETS counters of 4 bytes per second (1.25 KiB),
 * for at most BENCH_LATSEC_MAX seconds (samples in later seconds are still
 * in the run's latency histogram, not here: the series is then marked
 * truncated), allocated as seconds with samples come. A worker records into
 * its own (no lock); the coordinator merges them after the join.
 *
 * Buckets: 0..7 ns exact, then 8 equal sub-buckets per power of two, so a
 * bucket is at most 1/8 (12.5%) of its lowest value wide; values above 1 h
 * count as 1 h. A percentile is the highest value of its bucket, so it
 * reads at most 12.5% high (the run's own histogram: < 0.8%). */
#ifndef EVCAT_BENCH_LATSEC_H
#define EVCAT_BENCH_LATSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BENCH_LATSEC_BUCKETS 320  /* bucket of 1 h + 1 */
#define BENCH_LATSEC_MAX     3600 /* seconds kept */

typedef struct bench_latsec {
    uint32_t *counts; /* owned: len * BENCH_LATSEC_BUCKETS */
    size_t len, cap;  /* seconds */
    bool truncated;   /* a sample at or past BENCH_LATSEC_MAX s was left out */
} bench_latsec_t;

void bench_latsec_init(bench_latsec_t *l);
void bench_latsec_free(bench_latsec_t *l);

/* The bucket of ns, and the highest value of bucket i. */
size_t bench_latsec_index(uint64_t ns);
uint64_t bench_latsec_bucket_top(size_t i);

/* One sample of ns in second `second` (counts saturate at UINT32_MAX). */
void bench_latsec_record(bench_latsec_t *l, uint64_t second, uint64_t ns);
/* dst += src, second by second; truncated ors. */
void bench_latsec_merge(bench_latsec_t *dst, const bench_latsec_t *src);
/* Samples in second s (0 past the end). */
uint64_t bench_latsec_count(const bench_latsec_t *l, size_t s);
/* The p-th percentile (0 < p <= 100) of second s: the highest value of the
 * bucket where the cumulative count reaches ceil(p/100 * n); 0 without
 * samples. */
uint64_t bench_latsec_percentile(const bench_latsec_t *l, size_t s, double p);

/* JSON: {"buckets":320,"truncated":false,"seconds":[[S,[[I,C],...]],...]},
 * only seconds with samples and only non-zero buckets, S increasing. */
void bench_latsec_to_json(const bench_latsec_t *l, buf_t *out);
/* Reads that form (untrusted) into l (empty): another bucket count, a
 * second not increasing or at/past BENCH_LATSEC_MAX, a bucket out of range
 * or repeated, a count that is not an integer in 1..UINT32_MAX -> -1 with a
 * one-line reason in err. */
struct cJSON;
int bench_latsec_from_json(const struct cJSON *o, bench_latsec_t *l, char *err, size_t errlen);

#endif
