/* bench_result: what one process's share of a load test measured, in a
 * form that merges exactly across worker processes (and across hosts):
 * counters add, histograms merge; and its shard form, the JSON text a
 * worker process hands its parent (or another host) to merge. */
#ifndef EVCAT_BENCH_RESULT_H
#define EVCAT_BENCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "buf.h"
#include "hist.h"

typedef struct bench_result {
    uint64_t target;      /* connections asked for */
    bench_counters_t c;   /* totals over the whole run */
    /* messages and bytes counted inside the measurement window */
    uint64_t m_sent, m_received, m_bytes_sent, m_bytes_received;
    hist_t latency;       /* ns */
    hist_t connect;       /* ns */
    double ramp_s;        /* first start to the end of the ramp phase */
    double measure_s;     /* length of the measurement window */
    double cpu_seconds;   /* user + system, this process (or all shards) */
    uint64_t peak_rss_bytes; /* sum over processes */
    uint64_t base_rss_bytes; /* RSS before the first connection, summed */
    unsigned procs, threads;
    bool interrupted;
} bench_result_t;

void bench_result_init(bench_result_t *r);
void bench_result_free(bench_result_t *r);
/* dst += src (counts add, histograms merge, times take the max, CPU and
 * RSS add, interrupted ors). */
void bench_result_merge(bench_result_t *dst, const bench_result_t *src);

/* The whole result with both histograms (a shard's report to its parent;
 * the same text can be merged on another host): one JSON object. */
void bench_result_to_shard_json(const bench_result_t *r, buf_t *out);
/* Parses that form; -1 on anything malformed. r must be initialised. */
int bench_result_from_shard_json(const char *text, size_t len, bench_result_t *r);

#endif
