/* bench_run: one process's share of a load test — worker threads, phases,
 * progress — and the result in a form that merges exactly across worker
 * processes (and later across hosts): counters add, histograms merge.
 *
 * Phases, decided by the coordinator (the calling thread):
 *   RAMP     workers start their connections at their share of
 *            --connect-rate; it ends when every connection has either been
 *            established or failed (or connect-timeout after the ramp's end);
 *   MEASURE  --duration: latency samples are recorded, message counters are
 *            snapshotted at both ends; --publish runs during this phase;
 *   CLOSE    workers close every connection cleanly (2 s grace, then abort);
 *   DONE     workers joined, result merged.
 * SIGINT/SIGTERM go to CLOSE at once (a second one aborts); the result is
 * still complete and marked interrupted. */
#ifndef EVCAT_BENCH_RUN_H
#define EVCAT_BENCH_RUN_H

#include "bench.h"
#include "bench_pub.h"
#include "buf.h"

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

typedef struct bench_progress {
    bench_phase_t phase;
    double elapsed_s;      /* since the run started */
    uint64_t target;
    bench_counters_t c;    /* cumulative sums over workers */
    bool interrupted;
    bool phase_change; /* an extra report, right after the phase changed */
} bench_progress_t;

typedef void (*bench_progress_fn)(const bench_progress_t *p, void *ud);

/* Runs cfg's share of the load with drv on cfg->threads workers. progress
 * is called once a second, and at once when the phase changes (with
 * phase_change set), from the calling thread.
 * pub (may be NULL) runs on the calling thread's loop during MEASURE.
 * Returns 0 with *out filled (initialise it first), or -1 with a one-line
 * reason in err when the run could not start at all. */
int bench_run(const bench_config_t *cfg, const bench_driver_t *drv, const bench_pub_config_t *pub,
              bench_progress_fn progress, void *ud, bench_result_t *out, char *err, size_t errlen);

/* d += s, counter by counter. */
void bench_counters_add(bench_counters_t *d, const bench_counters_t *s);
/* User + system CPU seconds of this process so far. */
double bench_cpu_seconds(void);

/* For bench.c: the shared phase, and "this worker may be finished". */
struct bench_run;
bench_phase_t bench_run_phase(const struct bench_run *run);
void bench_worker_check_done(bench_worker_t *w);

#endif
