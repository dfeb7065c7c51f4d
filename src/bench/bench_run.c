/* bench_run: the coordinator of one process's share of a load test: it
 * starts a thread per worker (bench_thread.c), decides the phases on a
 * tick and announces them, records the per-second series on the same tick,
 * reports progress, handles SIGINT/SIGTERM and merges what the workers
 * counted (see bench_run.h for the phases). */
#include "bench_run.h"
#include "bench_thread.h"
#include "diag.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TICK_NS      (50 * 1000000ull)   /* phase checks */
#define PROGRESS_NS  (1000 * 1000000ull) /* progress lines */

struct bench_run {
    bench_control_t ctl;  /* the phase and abort flag every worker reads */
    const bench_config_t *cfg;
    bench_thread_t *workers;
    unsigned nworkers;

    loop_t *loop;       /* the coordinator's */
    loop_timer_t tick;
    uint64_t t_start, t_ramp_end, t_measure, t_close, t_next_progress;
    uint64_t started_at_ns; /* wall clock at t_start */
    bench_counters_t snap_measure, snap_close;
    bench_series_t series;  /* per second since t_start */
    bench_counters_t seen;  /* the totals the series has recorded so far */
    bool interrupted;
    int signo;              /* the first signal that interrupted it */
    bench_progress_fn progress;
    void *progress_ud;
    bench_pub_t *pub;
};

static bench_phase_t run_phase(const struct bench_run *run)
{
    return bench_control_phase(&run->ctl);
}

static void set_phase(struct bench_run *run, bench_phase_t p)
{
    bench_control_set_phase(&run->ctl, p);
}

/* ---- workers ---- */

static void sum_counters(const struct bench_run *run, bench_counters_t *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < run->nworkers; i++) {
        bench_counters_t c;
        bench_counters_load(&c, &run->workers[i].w.c);
        bench_counters_add(out, &c);
    }
}

/* The run's totals so far: the workers' counters, and the publisher's
 * accepted POSTs as sent messages and its failed ones as errors. */
static void sum_totals(const struct bench_run *run, bench_counters_t *out)
{
    sum_counters(run, out);
    if (run->pub) {
        out->sent += bench_pub_accepted(run->pub);
        out->errors[BERR_PUBLISH] += bench_pub_failed(run->pub);
    }
}

/* Adds what the totals gained since the last observation to the second
 * `now` falls in (ticks are TICK_NS apart, so an event lands at most a
 * tick late). */
static void observe(struct bench_run *run, uint64_t now)
{
    bench_counters_t c;
    sum_totals(run, &c);
    bench_series_observe(&run->series, now - run->t_start, &c, &run->seen, run_phase(run));
}

static void wake_workers(struct bench_run *run)
{
    for (unsigned i = 0; i < run->nworkers; i++)
        bench_thread_wake(&run->workers[i]);
}

static bool all_workers_done(const struct bench_run *run)
{
    for (unsigned i = 0; i < run->nworkers; i++)
        if (!bench_thread_done(&run->workers[i]))
            return false;
    return true;
}

/* Sets up and starts a thread per worker. When one cannot be, the ones
 * already running are told to stop and are joined, and -1 is returned with
 * the reason in err. */
static int start_workers(struct bench_run *run, const bench_driver_t *drv, char *err, size_t errlen)
{
    unsigned started = 0;
    for (unsigned i = 0; i < run->nworkers; i++) {
        bench_thread_t *t = &run->workers[i];
        if (bench_thread_init(t, run->cfg, drv, &run->ctl, i, run->nworkers, run->t_start, err,
                              errlen) < 0 ||
            bench_thread_start(t, err, errlen) < 0)
            break;
        started++;
    }
    if (started == run->nworkers)
        return 0;
    bench_control_abort(&run->ctl);
    set_phase(run, BENCH_CLOSE);
    for (unsigned i = 0; i < started; i++)
        bench_thread_wake(&run->workers[i]);
    for (unsigned i = 0; i < started; i++)
        bench_thread_join(&run->workers[i]);
    return -1;
}

/* ---- coordinator ---- */

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static void report_progress(struct bench_run *run, uint64_t now, bool phase_change)
{
    if (!run->progress)
        return;
    bench_progress_t p;
    memset(&p, 0, sizeof(p));
    p.phase = run_phase(run);
    p.elapsed_s = secs(now - run->t_start);
    p.target = run->cfg->connections;
    p.interrupted = run->interrupted;
    p.phase_change = phase_change;
    sum_totals(run, &p.c); /* the publisher's messages are what goes out */
    run->progress(&p, run->progress_ud);
}

/* When the ramp's last attempt settled (established or failed), read
 * from the workers; `now` (the check that saw it) when none did. */
static uint64_t ramp_end(const struct bench_run *run, uint64_t now)
{
    uint64_t last = 0;
    for (unsigned i = 0; i < run->nworkers; i++) {
        uint64_t t = __atomic_load_n(&run->workers[i].w.last_settle_ns, __ATOMIC_RELAXED);
        if (t > last)
            last = t;
    }
    return last > run->t_start && last <= now ? last : now;
}

static void enter_close(struct bench_run *run, uint64_t now)
{
    if (run_phase(run) >= BENCH_CLOSE)
        return;
    if (run_phase(run) == BENCH_MEASURE) {
        sum_counters(run, &run->snap_close);
    } else {
        run->t_ramp_end = ramp_end(run, now);
        run->t_measure = now;
        sum_counters(run, &run->snap_measure);
        run->snap_close = run->snap_measure;
    }
    run->t_close = now;
    diag_verbose("bench: closing%s", run->interrupted ? " (interrupted)" : "");
    if (run->pub)
        bench_pub_stop(run->pub);
    set_phase(run, BENCH_CLOSE);
    wake_workers(run);
    report_progress(run, now, true);
}

static void enter_measure(struct bench_run *run, uint64_t now)
{
    run->t_ramp_end = ramp_end(run, now);
    run->t_measure = now;
    sum_counters(run, &run->snap_measure);
    set_phase(run, BENCH_MEASURE);
    diag_verbose("bench: measuring for %.3gs: %" PRIu64 " established, %" PRIu64
                " failed after a %.2fs ramp",
                (double)run->cfg->duration_ns / 1e9, run->snap_measure.established,
                run->snap_measure.failed, secs(run->t_ramp_end - run->t_start));
    if (run->pub)
        bench_pub_start(run->pub);
    report_progress(run, now, true);
}

/* RAMP ends when every connection has settled (or the ramp's time and a
 * connect timeout have passed); MEASURE after --duration. */
static void advance_phase(struct bench_run *run, uint64_t now)
{
    const bench_config_t *cfg = run->cfg;
    bench_counters_t c;
    sum_counters(run, &c);
    uint64_t settled = c.established + c.failed;

    switch (run_phase(run)) {
    case BENCH_RAMP: {
        uint64_t ramp_due = run->t_start + (cfg->connect_rate > 0
                                                ? (uint64_t)((double)cfg->connections /
                                                             cfg->connect_rate * 1e9)
                                                : 0);
        uint64_t limit = ramp_due + cfg->co->connect_timeout_ms * 1000000ull + 1000000000ull;
        if (settled >= cfg->connections || now >= limit) {
            if (c.established == 0)
                enter_close(run, now);
            else
                enter_measure(run, now);
        }
        break;
    }
    case BENCH_MEASURE:
        /* Over when the duration has passed, or when every connection has
         * been lost and none is left to come. */
        if (now - run->t_measure >= cfg->duration_ns ||
            (settled >= cfg->connections && c.dropped + c.ended >= c.established))
            enter_close(run, now);
        break;
    default:
        break;
    }
}

static void tick_fire(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    struct bench_run *run = ud;
    uint64_t now = loop_now(l);
    advance_phase(run, now);
    observe(run, now);

    bool all_done = all_workers_done(run);
    if (all_done && run_phase(run) < BENCH_CLOSE)
        enter_close(run, now); /* every worker gave up (init failures) */
    /* The last POSTs' answers say whether the endpoint took them. */
    if (all_done && (!run->pub || bench_pub_busy(run->pub) == 0)) {
        set_phase(run, BENCH_DONE);
        loop_stop(l);
        return;
    }
    if (now >= run->t_next_progress) {
        report_progress(run, now, false);
        run->t_next_progress += PROGRESS_NS;
    }
    loop_timer_arm(l, &run->tick, TICK_NS);
}

static void on_signal(loop_t *l, int signo, void *ud)
{
    struct bench_run *run = ud;
    if (!run->signo)
        run->signo = signo;
    if (run->interrupted || run_phase(run) >= BENCH_CLOSE) {
        bench_control_abort(&run->ctl);
        if (run->pub)
            bench_pub_abort(run->pub);
        wake_workers(run);
    }
    run->interrupted = true;
    enter_close(run, loop_now(l));
}

/* SIGINT and SIGTERM go to the coordinator's loop only: the workers
 * inherit a mask with them (and SIGPIPE) blocked. *old gets the mask to
 * restore. */
static void take_signals(struct bench_run *run, sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, old);
    loop_signal(run->loop, SIGINT, on_signal, run);
    loop_signal(run->loop, SIGTERM, on_signal, run);
}

/* The tick runs the phases until every worker's loop has ended; then the
 * workers are joined and the run is DONE. */
static void coordinate(struct bench_run *run)
{
    loop_timer_init(&run->tick, tick_fire, run);
    loop_timer_arm(run->loop, &run->tick, TICK_NS);
    loop_run(run->loop);
    for (unsigned i = 0; i < run->nworkers; i++)
        bench_thread_join(&run->workers[i]);

    uint64_t now = mono_ns();
    if (run_phase(run) < BENCH_CLOSE)
        enter_close(run, now);
    set_phase(run, BENCH_DONE);
    observe(run, now); /* the last: the series now sums to the totals */
}

/* ---- the result ---- */

static uint64_t current_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

double bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Adds the finished run to out: totals, the measurement window's message
 * counts (the publisher's accepted POSTs as sent), histograms, times,
 * CPU and memory. */
static void add_result(const struct bench_run *run, bench_result_t *out, double cpu0,
                       uint64_t base_rss)
{
    out->target += run->cfg->connections;
    bench_counters_t total;
    sum_totals(run, &total); /* published messages are what subscribe mode "sent" */
    bench_counters_add(&out->c, &total);
    out->m_sent += run->snap_close.sent - run->snap_measure.sent;
    out->m_received += run->snap_close.received - run->snap_measure.received;
    out->m_bytes_sent += run->snap_close.bytes_sent - run->snap_measure.bytes_sent;
    out->m_bytes_received += run->snap_close.bytes_received - run->snap_measure.bytes_received;
    if (run->pub) {
        out->m_sent += bench_pub_accepted(run->pub);
        uint64_t pf = bench_pub_failed(run->pub);
        if (pf > 0 && bench_pub_first_error(run->pub)[0])
            diag_warn("bench: --publish: %" PRIu64 " POSTs failed, the first: %s", pf,
                     bench_pub_first_error(run->pub));
        if (pf > 0)
            bench_examples_note(&out->ex, BERR_PUBLISH, real_ns(),
                                bench_pub_first_error(run->pub)[0] ? bench_pub_first_error(run->pub)
                                                                   : "a publish POST failed");
    }
    for (unsigned i = 0; i < run->nworkers; i++) {
        hist_merge(&out->latency, &run->workers[i].w.latency);
        hist_merge(&out->connect, &run->workers[i].w.connect);
        bench_examples_merge(&out->ex, &run->workers[i].w.ex);
        bench_latsec_merge(&out->latsec, &run->workers[i].w.latsec);
        bench_result_note_mismatch(out, run->workers[i].w.mismatch,
                                   run->workers[i].w.mismatch_at_ns);
        bench_streams_merge(&out->streams, &run->workers[i].w.streams);
    }
    if (run->cfg->streams.on) {
        bench_streams_enable(&out->streams);
        out->streams.arrival_rate += run->cfg->streams.arrival_rate;
    }
    out->ramp_s = secs(run->t_ramp_end - run->t_start);
    out->measure_s = secs(run->t_close - run->t_measure);
    out->cpu_seconds += bench_cpu_seconds() - cpu0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->peak_rss_bytes += (uint64_t)ru.ru_maxrss * 1024u;
    out->base_rss_bytes += base_rss;
    for (unsigned i = 0; i < run->nworkers; i++) {
        const bench_worker_t *w = &run->workers[i].w;
        out->wire_sent += w->wire_sent;
        out->wire_received += w->wire_received;
        out->deflate_connections += w->deflate_conns;
        out->zlib_peak_bytes += w->zlib_peak_bytes;
    }
    out->procs += 1;
    if (run->nworkers > out->threads)
        out->threads = run->nworkers;
    out->interrupted = out->interrupted || run->interrupted;
    if (!out->signo)
        out->signo = run->signo;
    if (!out->started_at_ns || run->started_at_ns < out->started_at_ns)
        out->started_at_ns = run->started_at_ns;
    bench_series_merge(&out->series, &run->series);
}

int bench_run(const bench_config_t *cfg, const bench_driver_t *drv, const bench_pub_config_t *pub,
              bench_progress_fn progress, void *ud, bench_result_t *out, char *err, size_t errlen)
{
    struct bench_run run;
    memset(&run, 0, sizeof(run));
    run.cfg = cfg;
    run.progress = progress;
    run.progress_ud = ud;
    run.nworkers = cfg->threads ? cfg->threads : 1;
    run.workers = xcalloc(run.nworkers, sizeof(*run.workers));
    for (unsigned i = 0; i < run.nworkers; i++)
        run.workers[i].wake_fd = -1; /* not set up yet: nothing to close */
    int rc = -1;

    run.loop = loop_new();
    if (!run.loop) {
        snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
        goto out_free;
    }
    if (pub) {
        run.pub = bench_pub_new(run.loop, pub, err, errlen);
        if (!run.pub)
            goto out_loop;
    }
    sigset_t old;
    take_signals(&run, &old);

    double cpu0 = bench_cpu_seconds();
    uint64_t base_rss = current_rss_bytes();
    /* Worker processes start from the moment the first was forked, so that
     * their threads' turns of the ramp interleave and their times add up. */
    uint64_t now = mono_ns();
    run.t_start = cfg->ramp_procs && cfg->ramp_start_ns && cfg->ramp_start_ns <= now
                      ? cfg->ramp_start_ns
                      : now;
    run.started_at_ns = real_ns() - (now - run.t_start);
    run.t_next_progress = run.t_start + PROGRESS_NS;
    set_phase(&run, BENCH_RAMP);
    if (cfg->streams.on) {
        /* Streams as requests: every stream counts, from the first; the
         * slots' ramp is part of the measurement. */
        run.t_ramp_end = run.t_measure = run.t_start;
        set_phase(&run, BENCH_MEASURE);
    }
    if (start_workers(&run, drv, err, errlen) == 0) {
        coordinate(&run);
        add_result(&run, out, cpu0, base_rss);
        rc = 0;
    }

    for (unsigned i = 0; i < run.nworkers; i++)
        bench_thread_free(&run.workers[i]);
    bench_series_free(&run.series);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (run.pub)
        bench_pub_free(run.pub);
out_loop:
    loop_free(run.loop);
out_free:
    free(run.workers);
    return rc;
}
