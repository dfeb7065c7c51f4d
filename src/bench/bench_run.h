/* bench_run: the coordinator of one process's share of a load test: it
 * starts the worker threads, decides the phases, reports progress and
 * merges what the workers counted into a bench_result_t.
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
#include "bench_result.h"

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

/* User + system CPU seconds of this process so far. */
double bench_cpu_seconds(void);

#endif
