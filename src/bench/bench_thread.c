/* bench_thread: a worker's thread: ramp, close, grace and abort on the
 * worker's own loop (see bench_thread.h). */
#include "bench_thread.h"
#include "bench_plan.h"
#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define GRACE_MS     2000                /* clean close before aborting */
#define RAMP_BATCH   64                  /* connection starts per timer round */

static void ramp_fire(loop_t *l, loop_timer_t *timer, void *ud)
{
    (void)timer;
    bench_thread_t *t = ud;
    bench_worker_t *w = &t->w;
    if (w->closing)
        return;
    const bench_config_t *cfg = w->cfg;
    uint64_t first;
    uint64_t n = rate_take(&t->ramp, loop_now(l), RAMP_BATCH, &first);
    for (uint64_t i = 0; i < n && !w->closing; i++) {
        uint64_t k = first + i;
        bench_worker_start_conn(w, cfg->first_index + k * cfg->threads + w->id);
    }
    if (!w->closing && !rate_finished(&t->ramp))
        loop_timer_arm_at(l, &t->ramp_timer, rate_next_due(&t->ramp));
}

static void grace_fire(loop_t *l, loop_timer_t *timer, void *ud)
{
    (void)timer;
    bench_thread_t *t = ud;
    t->w.drv_ops->abort_all(&t->w);
    loop_stop(l);
}

static void start_closing(bench_thread_t *t)
{
    bench_worker_t *w = &t->w;
    if (w->closing)
        return;
    w->closing = true;
    loop_timer_stop(w->loop, &t->ramp_timer);
    w->drv_ops->close_all(w);
    if (w->live > 0)
        loop_timer_arm_ms(w->loop, &t->grace_timer, GRACE_MS);
    bench_worker_check_done(w);
}

static void wake_read(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)events;
    bench_thread_t *t = ud;
    bench_worker_t *w = &t->w;
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0) {
    }
    if (bench_control_aborting(w->ctl)) {
        w->closing = true;
        loop_timer_stop(w->loop, &t->ramp_timer);
        w->drv_ops->abort_all(w);
        loop_stop(w->loop);
        return;
    }
    if (bench_phase(w) >= BENCH_CLOSE)
        start_closing(t);
}

static void *thread_main(void *arg)
{
    bench_thread_t *t = arg;
    bench_worker_t *w = &t->w;
    char err[200] = "";
    if (w->drv_ops->init(w, err, sizeof(err)) < 0) {
        diag_error("bench: worker %u: %s", w->id, err);
        bench_add(&w->c.failed, w->nconns);
        bench_add(&w->c.errors[BERR_CONNECT], w->nconns);
        w->nconns = 0;
        __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
        return NULL;
    }
    if (loop_fd_add(w->loop, t->wake_fd, LOOP_READ, wake_read, t) < 0)
        diag_error("bench: worker %u: cannot watch its wake-up descriptor", w->id);
    if (w->nconns > 0) {
        loop_timer_arm_at(w->loop, &t->ramp_timer, rate_next_due(&t->ramp));
    }
    if (bench_phase(w) >= BENCH_CLOSE)
        start_closing(t);
    loop_run(w->loop);
    loop_timer_stop(w->loop, &t->ramp_timer);
    loop_timer_stop(w->loop, &t->grace_timer);
    if (w->live > 0)
        w->drv_ops->abort_all(w);
    w->drv_ops->free(w);
    loop_fd_del(w->loop, t->wake_fd);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    /* Wake the coordinator's tick sooner is not needed: it polls at TICK_NS. */
    return NULL;
}

/* The thread's turns of the ramp: one connection every 1 / rate over the
 * threads of every worker process, each in turn (bench_plan_ramp_turn). */
static void init_ramp(bench_thread_t *t, const bench_config_t *cfg, unsigned id, unsigned n,
                      uint64_t t_start)
{
    if (cfg->streams.on && cfg->streams.arrival_rate > 0) {
        /* Open loop: the slots are there at once, the arrivals pace the load. */
        rate_init_ramp(&t->ramp, RATE_MAX, t_start, t->w.nconns);
        return;
    }
    bench_plan_ramp_t whole = {.connections = cfg->connections, .procs = 1, .threads = n};
    double rate = cfg->connect_rate;
    unsigned proc = 0;
    if (cfg->ramp_procs > 0) {
        whole.connections = cfg->ramp_connections;
        whole.procs = cfg->ramp_procs;
        rate = cfg->ramp_rate;
        proc = cfg->ramp_proc;
    }
    if (!(rate >= RATE_MIN)) /* NaN too */
        rate = RATE_MIN;
    if (rate > RATE_MAX)
        rate = RATE_MAX;
    /* cannot fail: the last turn, (nconns - 1) * J + turn, is below connections + J */
    rate_init_ramp_every(&t->ramp, rate, t_start, t->w.nconns, (uint64_t)whole.procs * n,
                         bench_plan_ramp_turn(&whole, proc, id));
}

int bench_thread_init(bench_thread_t *t, const bench_config_t *cfg, const bench_driver_t *drv,
                      const bench_control_t *ctl, unsigned id, unsigned n, uint64_t t_start,
                      char *err, size_t errlen)
{
    bench_worker_t *w = &t->w;
    w->cfg = cfg;
    w->drv_ops = drv;
    w->ctl = ctl;
    w->id = id;
    t->wake_fd = -1;
    w->nconns = bench_plan_part(cfg->connections, n, id);
    hist_init(&w->latency);
    hist_init(&w->connect);
    w->t_start = t_start;
    bench_latsec_init(&w->latsec);
    bench_streams_init(&w->streams);
    if (cfg->streams.on)
        bench_streams_enable(&w->streams);
    w->loop = loop_new();
    t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!w->loop || t->wake_fd < 0) {
        snprintf(err, errlen, "cannot set up worker %u: %s", id, strerror(errno));
        return -1;
    }
    loop_timer_init(&t->ramp_timer, ramp_fire, t);
    loop_timer_init(&t->grace_timer, grace_fire, t);
    if (w->nconns > 0)
        init_ramp(t, cfg, id, n, t_start);
    return 0;
}

int bench_thread_start(bench_thread_t *t, char *err, size_t errlen)
{
    int e = pthread_create(&t->tid, NULL, thread_main, t);
    if (e != 0) {
        snprintf(err, errlen, "cannot start worker thread %u: %s", t->w.id, strerror(e));
        return -1;
    }
    return 0;
}

void bench_thread_wake(bench_thread_t *t)
{
    uint64_t one = 1;
    if (t->wake_fd >= 0 && write(t->wake_fd, &one, sizeof(one)) < 0) {
        /* an eventfd write only fails when the counter would overflow */
    }
}

bool bench_thread_done(const bench_thread_t *t)
{
    return __atomic_load_n(&t->done, __ATOMIC_ACQUIRE) != 0;
}

void bench_thread_join(bench_thread_t *t)
{
    pthread_join(t->tid, NULL);
}

void bench_thread_free(bench_thread_t *t)
{
    if (t->w.loop)
        loop_free(t->w.loop);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    hist_free(&t->w.latency);
    hist_free(&t->w.connect);
    bench_latsec_free(&t->w.latsec);
    bench_streams_free(&t->w.streams);
}
