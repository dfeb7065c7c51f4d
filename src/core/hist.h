/* hist: a latency histogram with log-linear buckets (HdrHistogram's idea),
 * fixed memory, O(1) record, exact merge, and a JSON form for shards.
 *
 * Values are nanoseconds. 0..255 ns each have a bucket of their own (exact);
 * above, every power of two [2^k, 2^(k+1)) is cut into 2^HIST_SUB_BITS = 128
 * equal sub-buckets of width 2^(k-7), so a bucket is never wider than 1/128
 * (0.78%) of its lowest value. The top is 1 h (HIST_MAX_NS, in [2^41, 2^42));
 * larger values are recorded as 1 h and counted in `clamped`.
 *
 * Size: index(1 h) + 1 = (41 - 7) * 128 + (3.6e12 >> 34) + 1 = 4562 counters
 * of 8 bytes = 36,496 bytes per histogram, allocated once by hist_init.
 *
 * Percentile convention: hist_percentile(h, p) is the highest value of the
 * first bucket at which the cumulative count reaches rank = ceil(p/100 * n)
 * (at least 1), capped at the exact max. So at least p% of the samples are
 * <= the result, and the result is >= the exact rank-th smallest sample and
 * less than 1/128 above it (relative error < 0.79%). p <= 0 gives min,
 * p >= 100 gives max. min, max, count and sum (hence mean) are exact. */
#ifndef EVCAT_HIST_H
#define EVCAT_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HIST_SUB_BITS 7
#define HIST_MAX_NS   UINT64_C(3600000000000) /* 1 h */
#define HIST_NBUCKETS 4562                    /* hist_index(HIST_MAX_NS) + 1 */

/* Fields are hist.c's; read them through the functions below. */
typedef struct hist {
    uint64_t *counts; /* owned, HIST_NBUCKETS entries */
    uint64_t count;   /* samples recorded */
    uint64_t clamped; /* of which were above HIST_MAX_NS */
    uint64_t min;     /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t sum; /* saturates at UINT64_MAX (584 years of ns) */
} hist_t;

void hist_init(hist_t *h); /* allocates; aborts on out of memory like xmalloc */
void hist_free(hist_t *h);
void hist_reset(hist_t *h); /* empty again, keeps the allocation */

void hist_record(hist_t *h, uint64_t ns);
void hist_record_n(hist_t *h, uint64_t ns, uint64_t n); /* n samples of the same value */
/* dst += src, exactly: as if every sample of src had been recorded into dst. */
void hist_merge(hist_t *dst, const hist_t *src);

uint64_t hist_count(const hist_t *h);
uint64_t hist_clamped(const hist_t *h);
uint64_t hist_min(const hist_t *h); /* 0 when empty */
uint64_t hist_max(const hist_t *h); /* 0 when empty */
double hist_mean(const hist_t *h);  /* 0 when empty */
/* See the convention above; 0 when empty. */
uint64_t hist_percentile(const hist_t *h, double p);

/* The bucket a value falls in, and the bucket's value range [lo, hi]. */
size_t hist_index(uint64_t ns);
void hist_bucket_range(size_t index, uint64_t *lo, uint64_t *hi);
/* The samples in bucket index (0 past the last). */
uint64_t hist_bucket_count(const hist_t *h, size_t index);

/* Appends the compact JSON form: only the non-zero buckets, in index order:
 * {"unit":"ns","sub_bucket_bits":7,"buckets":4562,"counts":[[i,c],...],
 *  "count":N,"clamped":N,"min":N,"max":N,"sum":"N"}
 * sum is a decimal string: it may exceed 2^53, beyond what JSON numbers
 * carry exactly through common parsers (cJSON included). */
void hist_to_json(const hist_t *h, buf_t *out);

#endif
