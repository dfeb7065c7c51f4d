/* bench_run: worker threads and the coordinator of one process's share of
 * a load test (see bench_run.h for the phases). */
#include "bench_run.h"
#include "diag.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define TICK_NS      (50 * 1000000ull)   /* phase checks */
#define PROGRESS_NS  (1000 * 1000000ull) /* progress lines */
#define GRACE_MS     2000                /* clean close before aborting */
#define RAMP_BATCH   64                  /* connection starts per timer round */

struct bench_run {
    int phase;          /* bench_phase_t, atomic */
    int abort_now;      /* a second signal: abort at once, atomic */
    const bench_config_t *cfg;
    const bench_driver_t *drv;
    bench_worker_t *workers;
    unsigned nworkers;
    pthread_t *tids;
    int *done;          /* per worker: its loop has ended, atomic */

    loop_t *loop;       /* the coordinator's */
    loop_timer_t tick;
    uint64_t t_start, t_ramp_end, t_measure, t_close, t_next_progress;
    bench_counters_t snap_measure, snap_close;
    bool interrupted;
    bench_progress_fn progress;
    void *progress_ud;
    bench_pub_t *pub;
    const bench_pub_config_t *pub_cfg;
};

bench_phase_t bench_run_phase(const struct bench_run *run)
{
    return (bench_phase_t)__atomic_load_n(&run->phase, __ATOMIC_RELAXED);
}

static void set_phase(struct bench_run *run, bench_phase_t p)
{
    __atomic_store_n(&run->phase, (int)p, __ATOMIC_RELEASE);
}

/* ---- result ---- */

void bench_result_init(bench_result_t *r)
{
    memset(r, 0, sizeof(*r));
    hist_init(&r->latency);
    hist_init(&r->connect);
}

void bench_result_free(bench_result_t *r)
{
    hist_free(&r->latency);
    hist_free(&r->connect);
}

void bench_counters_add(bench_counters_t *d, const bench_counters_t *s)
{
    d->attempted += s->attempted;
    d->established += s->established;
    d->failed += s->failed;
    d->dropped += s->dropped;
    d->ended += s->ended;
    d->sent += s->sent;
    d->received += s->received;
    d->bytes_sent += s->bytes_sent;
    d->bytes_received += s->bytes_received;
    for (int k = 0; k < BERR_COUNT; k++)
        d->errors[k] += s->errors[k];
}

static void counters_load(bench_counters_t *d, const bench_counters_t *s)
{
    const uint64_t *sp = (const uint64_t *)s;
    uint64_t *dp = (uint64_t *)d;
    for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
        dp[i] = bench_load(&sp[i]);
}

void bench_result_merge(bench_result_t *dst, const bench_result_t *src)
{
    dst->target += src->target;
    bench_counters_add(&dst->c, &src->c);
    dst->m_sent += src->m_sent;
    dst->m_received += src->m_received;
    dst->m_bytes_sent += src->m_bytes_sent;
    dst->m_bytes_received += src->m_bytes_received;
    hist_merge(&dst->latency, &src->latency);
    hist_merge(&dst->connect, &src->connect);
    if (src->ramp_s > dst->ramp_s)
        dst->ramp_s = src->ramp_s;
    if (src->measure_s > dst->measure_s)
        dst->measure_s = src->measure_s;
    dst->cpu_seconds += src->cpu_seconds;
    dst->peak_rss_bytes += src->peak_rss_bytes;
    dst->base_rss_bytes += src->base_rss_bytes;
    dst->procs += src->procs;
    if (src->threads > dst->threads)
        dst->threads = src->threads;
    dst->interrupted = dst->interrupted || src->interrupted;
}

/* ---- workers ---- */

static void sum_counters(const struct bench_run *run, bench_counters_t *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < run->nworkers; i++) {
        bench_counters_t c;
        counters_load(&c, &run->workers[i].c);
        bench_counters_add(out, &c);
    }
}

void bench_worker_check_done(bench_worker_t *w)
{
    if (w->closing && w->live == 0)
        loop_stop(w->loop);
}

static void ramp_fire(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    bench_worker_t *w = ud;
    if (w->closing)
        return;
    const bench_config_t *cfg = w->cfg;
    uint64_t first;
    uint64_t n = rate_take(&w->ramp, loop_now(l), RAMP_BATCH, &first);
    for (uint64_t i = 0; i < n && !w->closing; i++) {
        uint64_t k = first + i;
        uint64_t index = cfg->first_index + k * cfg->threads + w->id;
        w->live++;
        bench_add(&w->c.attempted, 1);
        w->drv_ops->start(w, index);
    }
    if (!w->closing && !rate_finished(&w->ramp))
        loop_timer_arm_at(l, &w->ramp_timer, rate_next_due(&w->ramp));
}

static void grace_fire(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    bench_worker_t *w = ud;
    w->drv_ops->abort_all(w);
    loop_stop(l);
}

static void start_closing(bench_worker_t *w)
{
    if (w->closing)
        return;
    w->closing = true;
    loop_timer_stop(w->loop, &w->ramp_timer);
    w->drv_ops->close_all(w);
    if (w->live > 0)
        loop_timer_arm_ms(w->loop, &w->grace_timer, GRACE_MS);
    bench_worker_check_done(w);
}

static void wake_read(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)events;
    bench_worker_t *w = ud;
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0) {
    }
    if (__atomic_load_n(&w->run->abort_now, __ATOMIC_ACQUIRE)) {
        w->closing = true;
        loop_timer_stop(w->loop, &w->ramp_timer);
        w->drv_ops->abort_all(w);
        loop_stop(w->loop);
        return;
    }
    if (bench_phase(w) >= BENCH_CLOSE)
        start_closing(w);
}

static void *worker_main(void *arg)
{
    bench_worker_t *w = arg;
    struct bench_run *run = w->run;
    char err[200] = "";
    if (w->drv_ops->init(w, err, sizeof(err)) < 0) {
        diag_error("bench: worker %u: %s", w->id, err);
        bench_add(&w->c.failed, w->nconns);
        bench_add(&w->c.errors[BERR_CONNECT], w->nconns);
        w->nconns = 0;
        __atomic_store_n(&run->done[w->id], 1, __ATOMIC_RELEASE);
        return NULL;
    }
    if (loop_fd_add(w->loop, w->wake_fd, LOOP_READ, wake_read, w) < 0)
        diag_error("bench: worker %u: cannot watch its wake-up descriptor", w->id);
    if (w->nconns > 0) {
        loop_timer_arm_at(w->loop, &w->ramp_timer, rate_next_due(&w->ramp));
    }
    if (bench_phase(w) >= BENCH_CLOSE)
        start_closing(w);
    loop_run(w->loop);
    loop_timer_stop(w->loop, &w->ramp_timer);
    loop_timer_stop(w->loop, &w->grace_timer);
    if (w->live > 0)
        w->drv_ops->abort_all(w);
    w->drv_ops->free(w);
    loop_fd_del(w->loop, w->wake_fd);
    __atomic_store_n(&run->done[w->id], 1, __ATOMIC_RELEASE);
    /* Wake the coordinator's tick sooner is not needed: it polls at TICK_NS. */
    return NULL;
}

static void wake_workers(struct bench_run *run)
{
    uint64_t one = 1;
    for (unsigned i = 0; i < run->nworkers; i++)
        if (run->workers[i].wake_fd >= 0 && write(run->workers[i].wake_fd, &one, sizeof(one)) < 0) {
            /* an eventfd write only fails when the counter would overflow */
        }
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
    p.phase = bench_run_phase(run);
    p.elapsed_s = secs(now - run->t_start);
    p.target = run->cfg->connections;
    p.interrupted = run->interrupted;
    p.phase_change = phase_change;
    sum_counters(run, &p.c);
    run->progress(&p, run->progress_ud);
}

static void enter_close(struct bench_run *run, uint64_t now)
{
    if (bench_run_phase(run) >= BENCH_CLOSE)
        return;
    if (bench_run_phase(run) == BENCH_MEASURE) {
        sum_counters(run, &run->snap_close);
    } else {
        run->t_ramp_end = now;
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
    run->t_ramp_end = now;
    run->t_measure = now;
    sum_counters(run, &run->snap_measure);
    set_phase(run, BENCH_MEASURE);
    diag_verbose("bench: measuring for %.3gs: %" PRIu64 " established, %" PRIu64
                " failed after a %.2fs ramp",
                (double)run->cfg->duration_ns / 1e9, run->snap_measure.established,
                run->snap_measure.failed, secs(now - run->t_start));
    if (run->pub)
        bench_pub_start(run->pub);
    report_progress(run, now, true);
}

static void tick_fire(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    struct bench_run *run = ud;
    const bench_config_t *cfg = run->cfg;
    uint64_t now = loop_now(l);
    bench_counters_t c;
    sum_counters(run, &c);
    uint64_t settled = c.established + c.failed;
    uint64_t live = c.established - c.dropped - (c.ended > c.established ? c.established : 0);
    (void)live;

    switch (bench_run_phase(run)) {
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

    bool all_done = true;
    for (unsigned i = 0; i < run->nworkers; i++)
        if (!__atomic_load_n(&run->done[i], __ATOMIC_ACQUIRE))
            all_done = false;
    if (all_done && bench_run_phase(run) < BENCH_CLOSE)
        enter_close(run, now); /* every worker gave up (init failures) */
    if (all_done) {
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
    (void)signo;
    struct bench_run *run = ud;
    if (run->interrupted || bench_run_phase(run) >= BENCH_CLOSE) {
        __atomic_store_n(&run->abort_now, 1, __ATOMIC_RELEASE);
        wake_workers(run);
    }
    run->interrupted = true;
    enter_close(run, loop_now(l));
}

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

int bench_run(const bench_config_t *cfg, const bench_driver_t *drv, const bench_pub_config_t *pub,
              bench_progress_fn progress, void *ud, bench_result_t *out, char *err, size_t errlen)
{
    struct bench_run run;
    memset(&run, 0, sizeof(run));
    run.cfg = cfg;
    run.drv = drv;
    run.progress = progress;
    run.progress_ud = ud;
    run.pub_cfg = pub;
    unsigned nw = cfg->threads ? cfg->threads : 1;
    run.nworkers = nw;
    run.workers = xcalloc(nw, sizeof(*run.workers));
    run.tids = xcalloc(nw, sizeof(*run.tids));
    run.done = xcalloc(nw, sizeof(*run.done));
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
    /* Workers inherit a mask with the signals blocked: only this thread's
     * signalfd sees them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    loop_signal(run.loop, SIGINT, on_signal, &run);
    loop_signal(run.loop, SIGTERM, on_signal, &run);

    double cpu0 = bench_cpu_seconds();
    uint64_t base_rss = current_rss_bytes();
    run.t_start = mono_ns();
    run.t_next_progress = run.t_start + PROGRESS_NS;
    set_phase(&run, BENCH_RAMP);

    unsigned started = 0;
    for (unsigned i = 0; i < nw; i++) {
        bench_worker_t *w = &run.workers[i];
        w->cfg = cfg;
        w->drv_ops = drv;
        w->run = &run;
        w->id = i;
        w->wake_fd = -1;
        w->nconns = cfg->connections / nw + (i < cfg->connections % nw ? 1 : 0);
        hist_init(&w->latency);
        hist_init(&w->connect);
        w->loop = loop_new();
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (!w->loop || w->wake_fd < 0) {
            snprintf(err, errlen, "cannot set up worker %u: %s", i, strerror(errno));
            break;
        }
        loop_timer_init(&w->ramp_timer, ramp_fire, w);
        loop_timer_init(&w->grace_timer, grace_fire, w);
        if (w->nconns > 0) {
            double share = cfg->connect_rate / nw;
            if (share < RATE_MIN)
                share = RATE_MIN;
            if (share > RATE_MAX)
                share = RATE_MAX;
            rate_init_ramp(&w->ramp, share, run.t_start, w->nconns);
        }
        int e = pthread_create(&run.tids[i], NULL, worker_main, w);
        if (e != 0) {
            snprintf(err, errlen, "cannot start worker thread %u: %s", i, strerror(e));
            break;
        }
        started++;
    }
    if (started < nw) {
        /* Tell the ones that started to stop, then report the failure. */
        run.nworkers = started;
        __atomic_store_n(&run.abort_now, 1, __ATOMIC_RELEASE);
        set_phase(&run, BENCH_CLOSE);
        wake_workers(&run);
        for (unsigned i = 0; i < started; i++)
            pthread_join(run.tids[i], NULL);
        run.nworkers = nw;
        goto out_workers;
    }

    loop_timer_init(&run.tick, tick_fire, &run);
    loop_timer_arm(run.loop, &run.tick, TICK_NS);
    loop_run(run.loop);
    for (unsigned i = 0; i < nw; i++)
        pthread_join(run.tids[i], NULL);

    uint64_t now = mono_ns();
    if (bench_run_phase(&run) < BENCH_CLOSE)
        enter_close(&run, now);
    set_phase(&run, BENCH_DONE);

    /* Merge. */
    out->target += cfg->connections;
    bench_counters_t total;
    sum_counters(&run, &total);
    bench_counters_add(&out->c, &total);
    out->m_sent += run.snap_close.sent - run.snap_measure.sent;
    out->m_received += run.snap_close.received - run.snap_measure.received;
    out->m_bytes_sent += run.snap_close.bytes_sent - run.snap_measure.bytes_sent;
    out->m_bytes_received += run.snap_close.bytes_received - run.snap_measure.bytes_received;
    if (run.pub) {
        /* Published messages are what subscribe mode "sent". */
        out->m_sent += bench_pub_accepted(run.pub);
        out->c.sent += bench_pub_accepted(run.pub);
        uint64_t pf = bench_pub_failed(run.pub);
        out->c.errors[BERR_PUBLISH] += pf;
        if (pf > 0 && bench_pub_first_error(run.pub)[0])
            diag_warn("bench: --publish: %" PRIu64 " POSTs failed, the first: %s", pf,
                     bench_pub_first_error(run.pub));
    }
    for (unsigned i = 0; i < nw; i++) {
        hist_merge(&out->latency, &run.workers[i].latency);
        hist_merge(&out->connect, &run.workers[i].connect);
    }
    out->ramp_s = secs(run.t_ramp_end - run.t_start);
    out->measure_s = secs(run.t_close - run.t_measure);
    out->cpu_seconds += bench_cpu_seconds() - cpu0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->peak_rss_bytes += (uint64_t)ru.ru_maxrss * 1024u;
    out->base_rss_bytes += base_rss;
    out->procs += 1;
    if (nw > out->threads)
        out->threads = nw;
    out->interrupted = out->interrupted || run.interrupted;
    rc = 0;

out_workers:
    for (unsigned i = 0; i < nw; i++) {
        bench_worker_t *w = &run.workers[i];
        if (w->loop)
            loop_free(w->loop);
        if (w->wake_fd >= 0)
            close(w->wake_fd);
        hist_free(&w->latency);
        hist_free(&w->connect);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (run.pub)
        bench_pub_free(run.pub);
out_loop:
    loop_free(run.loop);
out_free:
    free(run.workers);
    free(run.tids);
    free(run.done);
    return rc;
}
