/* bench_thread: one worker's thread: it sets up the driver, starts the
 * worker's share of the connections at its share of --connect-rate, and
 * when the coordinator announces the close phase (or an abort) on the
 * control block and wakes it, closes every connection cleanly, with a
 * grace period before the rest are aborted. Its loop ends when no
 * connection is left. The coordinator (bench_run.c) creates, wakes, polls
 * and joins these; the driver sees only the bench_worker_t inside. */
#ifndef EVCAT_BENCH_THREAD_H
#define EVCAT_BENCH_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_worker.h"
#include "loop.h"
#include "rate.h"

typedef struct bench_thread {
    bench_worker_t w;       /* what the driver sees */
    pthread_t tid;
    rate_t ramp;            /* this worker's share of --connect-rate */
    loop_timer_t ramp_timer;
    loop_timer_t grace_timer;
    int wake_fd;            /* eventfd: the coordinator announces phase changes */
    int done;               /* its loop has ended, atomic */
} bench_thread_t;

/* Sets up worker `id` of `n` in t (zeroed memory): its share of cfg's
 * connections and of --connect-rate from t_start, its loop and its wake-up
 * descriptor. Returns 0, or -1 with a one-line reason in err; either way
 * bench_thread_free frees what was made. */
int bench_thread_init(bench_thread_t *t, const bench_config_t *cfg, const bench_driver_t *drv,
                      const bench_control_t *ctl, unsigned id, unsigned n, uint64_t t_start,
                      char *err, size_t errlen);
/* Starts the thread. Returns 0, or -1 with a one-line reason in err. */
int bench_thread_start(bench_thread_t *t, char *err, size_t errlen);
/* Makes the thread look at the control block again (any thread). */
void bench_thread_wake(bench_thread_t *t);
/* Whether the thread's loop has ended: its counters will not move again. */
bool bench_thread_done(const bench_thread_t *t);
void bench_thread_join(bench_thread_t *t);
/* Frees the loop, descriptor and histograms (the thread is not running). */
void bench_thread_free(bench_thread_t *t);

#endif
