/* cmd_bench_workers: bench past one process. When the connections need
 * more descriptors than one process may open (or with -p), the parent forks
 * worker processes before any thread exists; each runs bench_run() on its
 * shard (a contiguous range of connection indices, its share of the connect
 * rate, its threads' turns of the one ramp of them all, from the moment the
 * first was forked) and reports over a pipe: a progress line a second ("P ...") and at
 * the end its whole result in the shard JSON form ("R {...}"), which the
 * parent merges exactly. The parent runs the publisher, if any. */
#include "cmd_bench.h"
#include "bench_plan.h"
#include "bench_pub.h"
#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "exitcode.h"
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct shard {
    pid_t pid;
    int fd;
    buf_t in;
    bench_progress_t last;
    bool have_last, have_result, eof;
};

struct sharded {
    struct shard *s;
    unsigned n;
    loop_t *loop;
    loop_timer_t tick;
    uint64_t t_start;
    progress_t *pr;
    bench_result_t *out;
    bench_pub_t *pub;
    bool pub_started, pub_stopped, interrupted, bad_report;
    int signo;                  /* the first signal that interrupted the run */
    uint64_t next_progress;
    int last_phase;             /* the sum's phase at the last tick (-1: none yet) */
    uint64_t target; /* connections in all, for progress lines */
};

static void child_progress(const bench_progress_t *p, void *ud)
{
    int fd = *(int *)ud;
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "P %d %.3f %d", (int)p->phase, p->elapsed_s, p->interrupted ? 1 : 0);
    const uint64_t *cv = (const uint64_t *)&p->c;
    for (size_t i = 0; i < sizeof(p->c) / sizeof(uint64_t); i++)
        buf_printf(&b, " %" PRIu64, cv[i]);
    buf_putc(&b, '\n');
    (void)write_all(fd, b.p, b.len);
    buf_free(&b);
}

static int parse_progress(const char *line, bench_progress_t *p)
{
    memset(p, 0, sizeof(*p));
    int phase, intr, off = 0;
    if (sscanf(line, "P %d %lf %d%n", &phase, &p->elapsed_s, &intr, &off) != 3)
        return -1;
    p->phase = (bench_phase_t)phase;
    p->interrupted = intr != 0;
    uint64_t *cv = (uint64_t *)&p->c;
    const char *s = line + off;
    for (size_t i = 0; i < sizeof(p->c) / sizeof(uint64_t); i++) {
        char *end;
        errno = 0;
        cv[i] = strtoull(s, &end, 10);
        if (end == s || errno)
            return -1;
        s = end;
    }
    return 0;
}

static void sharded_line(struct sharded *S, struct shard *sh, const char *line, size_t len)
{
    if (len > 2 && line[0] == 'P') {
        if (parse_progress(line, &sh->last) == 0)
            sh->have_last = true;
    } else if (len > 2 && line[0] == 'R') {
        if (bench_result_from_shard_json(line + 2, len - 2, S->out) == 0)
            sh->have_result = true;
        else
            S->bad_report = true;
    }
}


/* Every worker has ended, and the publisher has the answers to the POSTs it
 * sent (a message the endpoint took counts as sent). */
static bool workers_and_publisher_done(const struct sharded *S)
{
    for (unsigned i = 0; i < S->n; i++)
        if (!S->s[i].eof)
            return false;
    return !S->pub || bench_pub_busy(S->pub) == 0;
}

static void sharded_read(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)events;
    struct sharded *S = ud;
    struct shard *sh = NULL;
    for (unsigned i = 0; i < S->n; i++)
        if (S->s[i].fd == fd)
            sh = &S->s[i];
    if (!sh)
        return;
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        loop_fd_del(l, fd);
        close(fd);
        sh->fd = -1;
        sh->eof = true;
        if (workers_and_publisher_done(S))
            loop_stop(l);
        return;
    }
    buf_append(&sh->in, tmp, (size_t)n);
    char *nl;
    while (sh->in.len && (nl = memchr(sh->in.p, '\n', sh->in.len))) {
        *nl = '\0';
        sharded_line(S, sh, sh->in.p, (size_t)(nl - sh->in.p));
        buf_consume(&sh->in, (size_t)(nl - sh->in.p) + 1);
    }
    if (sh->in.len > (64u << 20)) /* a report is a few hundred KiB at most */
        S->bad_report = true, buf_reset(&sh->in);
}

static void sharded_tick(loop_t *l, loop_timer_t *t, void *ud)
{
    struct sharded *S = ud;
    if (workers_and_publisher_done(S)) { /* the last POSTs were answered */
        loop_stop(l);
        return;
    }
    bench_progress_t sum;
    memset(&sum, 0, sizeof(sum));
    sum.phase = BENCH_DONE;
    bool all = true;
    for (unsigned i = 0; i < S->n; i++) {
        struct shard *sh = &S->s[i];
        if (!sh->have_last) {
            all = false;
            sum.phase = BENCH_RAMP;
            continue;
        }
        if (sh->last.phase < sum.phase)
            sum.phase = sh->last.phase;
        bench_counters_add(&sum.c, &sh->last.c);
        if (sh->last.phase >= BENCH_CLOSE && S->pub && S->pub_started && !S->pub_stopped) {
            bench_pub_stop(S->pub);
            S->pub_stopped = true;
        }
    }
    if (all && sum.phase == BENCH_MEASURE && S->pub && !S->pub_started) {
        bench_pub_start(S->pub);
        S->pub_started = true;
    }
    if (S->pub) { /* the publisher's messages are what goes out */
        sum.c.sent += bench_pub_accepted(S->pub);
        sum.c.errors[BERR_PUBLISH] += bench_pub_failed(S->pub);
    }
    sum.elapsed_s = (double)(loop_now(l) - S->t_start) / 1e9;
    sum.target = S->target;
    sum.interrupted = S->interrupted;
    uint64_t now = loop_now(l);
    if ((int)sum.phase != S->last_phase && all) { /* a phase begins: its own (silent) report */
        S->last_phase = (int)sum.phase;
        bench_progress_t change = sum;
        change.phase_change = true;
        progress_show(&change, S->pr);
    }
    if (now >= S->next_progress) {
        progress_show(&sum, S->pr);
        S->next_progress = now + 1000000000ull;
    }
    loop_timer_arm_ms(l, t, 50);
}

static void sharded_signal(loop_t *l, int signo, void *ud)
{
    (void)l;
    struct sharded *S = ud;
    if (S->interrupted && S->pub)
        bench_pub_abort(S->pub); /* a second Ctrl-C: no wait for answers */
    S->interrupted = true;
    if (!S->signo)
        S->signo = signo;
    for (unsigned i = 0; i < S->n; i++)
        if (S->s[i].pid > 0)
            kill(S->s[i].pid, signo);
}

/* A worker process: runs its shard of the load and reports over wfd (see
 * the top of this file). Never returns. */
static void worker_main(const bench_config_t *cfg, const bench_driver_t *drv, unsigned i,
                        unsigned nprocs, uint64_t t0, uint64_t share, uint64_t first, int wfd)
{
    bench_config_t c = *cfg;
    c.connections = share;
    c.first_index = first;
    c.connect_rate = cfg->connect_rate * (double)share / (double)cfg->connections;
    /* The ramp is one over every process: its threads take turns with theirs. */
    c.ramp_proc = i;
    c.ramp_procs = nprocs;
    c.ramp_connections = cfg->connections;
    c.ramp_rate = cfg->connect_rate;
    c.ramp_start_ns = t0;
    /* Streams as requests: this process's part of --requests and
     * --arrival-rate, with its part of the connections. */
    c.streams.requests =
        bench_share(cfg->streams.requests, first - cfg->first_index, share, cfg->connections);
    c.streams.arrival_rate = cfg->streams.arrival_rate * (double)share / (double)cfg->connections;
    c.streams.arrivals =
        bench_share(cfg->streams.arrivals, first - cfg->first_index, share, cfg->connections);
    bench_result_t r;
    bench_result_init(&r);
    char e[256] = "";
    int code = 0;
    /* No connections, or none of --requests (0 would read as no bound):
     * this process has nothing to run. */
    if (share == 0 || (cfg->streams.requests && c.streams.requests == 0)) {
        r.procs = 1;
    } else if (bench_run(&c, drv, NULL, child_progress, &wfd, &r, e, sizeof(e)) < 0) {
        diag_error("bench: worker process %u: %s", i, e);
        code = EXIT_FAIL;
    }
    if (code == 0) {
        buf_t b;
        buf_init(&b);
        buf_puts(&b, "R ");
        bench_result_to_shard_json(&r, &b);
        buf_putc(&b, '\n');
        if (write_all(wfd, b.p, b.len) < 0)
            code = EXIT_FAIL;
        buf_free(&b);
    }
    _exit(code);
}

/* Forks the worker processes, each with a pipe to read it by. Stops at the
 * first that cannot start (err set): the last one's pid is then 0. */
static void start_workers(struct sharded *S, const bench_config_t *cfg, const bench_driver_t *drv,
                          char *err, size_t errlen)
{
    uint64_t first = cfg->first_index;
    uint64_t t0 = mono_ns(); /* the start of every worker's run */
    fflush(stdout);
    fflush(stderr);
    for (unsigned i = 0; i < S->n; i++) {
        struct shard *sh = &S->s[i];
        uint64_t share = bench_plan_part(cfg->connections, S->n, i);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            snprintf(err, errlen, "cannot create a pipe for worker process %u: %s", i,
                     strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "cannot start worker process %u: %s", i, strerror(errno));
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid == 0) {
            close(p[0]);
            for (unsigned j = 0; j < i; j++)
                if (S->s[j].fd >= 0)
                    close(S->s[j].fd);
            worker_main(cfg, drv, i, S->n, t0, share, first, p[1]);
        }
        close(p[1]);
        sh->pid = pid;
        sh->fd = p[0];
        fcntl(sh->fd, F_SETFL, O_NONBLOCK);
        first += share;
    }
}

/* The parent's loop while the workers run: their progress merged into one
 * line, the publisher started with the measurement, signals passed on. When
 * a worker or the publisher could not start, the others are stopped. */
static void watch_workers(struct sharded *S, const bench_config_t *cfg,
                          const bench_pub_config_t *pub, char *err, size_t errlen)
{
    S->loop = loop_new();
    bool started_all = S->s[S->n - 1].pid > 0;
    if (S->loop && started_all && pub) {
        S->pub = bench_pub_new(S->loop, pub, err, errlen);
        started_all = S->pub != NULL;
    }
    if (!S->loop || !started_all) {
        for (unsigned i = 0; i < S->n; i++)
            if (S->s[i].pid > 0)
                kill(S->s[i].pid, SIGTERM);
        return;
    }
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    loop_signal(S->loop, SIGINT, sharded_signal, S);
    loop_signal(S->loop, SIGTERM, sharded_signal, S);
    for (unsigned i = 0; i < S->n; i++)
        loop_fd_add(S->loop, S->s[i].fd, LOOP_READ, sharded_read, S);
    S->t_start = mono_ns();
    S->next_progress = S->t_start + 1000000000ull;
    S->last_phase = -1;
    loop_timer_init(&S->tick, sharded_tick, S);
    loop_timer_arm_ms(S->loop, &S->tick, 50);
    S->target = cfg->connections;
    loop_run(S->loop);
    loop_timer_stop(S->loop, &S->tick);
}

/* Reads what is left (a report may still be in a pipe) and waits for each
 * worker. Returns how many reported. */
static unsigned collect_workers(struct sharded *S, char *err, size_t errlen)
{
    for (unsigned i = 0; i < S->n; i++) {
        struct shard *sh = &S->s[i];
        if (sh->fd >= 0) {
            fcntl(sh->fd, F_SETFL, 0);
            while (!sh->eof && S->loop)
                sharded_read(S->loop, sh->fd, LOOP_READ, S);
        }
    }
    unsigned ok = 0;
    for (unsigned i = 0; i < S->n; i++) {
        struct shard *sh = &S->s[i];
        if (sh->pid > 0) {
            int st;
            while (waitpid(sh->pid, &st, 0) < 0 && errno == EINTR) {
            }
            if (!sh->have_result && !err[0])
                snprintf(err, errlen, "worker process %u ended without a report (%s %d)", i,
                         WIFSIGNALED(st) ? "signal" : "exit status",
                         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
        if (sh->have_result)
            ok++;
        buf_free(&sh->in);
    }
    return ok;
}

/* The publisher's POSTs count as messages sent; its failures as errors. */
static void add_publisher(bench_pub_t *pub, bench_result_t *out)
{
    out->m_sent += bench_pub_accepted(pub);
    out->c.sent += bench_pub_accepted(pub);
    uint64_t pf = bench_pub_failed(pub);
    out->c.errors[BERR_PUBLISH] += pf;
    if (pf > 0)
        diag_warn("bench: --publish: %" PRIu64 " POSTs failed, the first: %s", pf,
                  bench_pub_first_error(pub));
}

int workers_run(const bench_config_t *cfg, const bench_driver_t *drv, const bench_pub_config_t *pub,
                unsigned nprocs, progress_t *pr, bench_result_t *out, char *err, size_t errlen)
{
    struct sharded S;
    memset(&S, 0, sizeof(S));
    S.n = nprocs;
    S.s = xcalloc(nprocs, sizeof(*S.s));
    for (unsigned i = 0; i < nprocs; i++) {
        S.s[i].fd = -1;
        buf_init(&S.s[i].in);
    }
    S.pr = pr;
    S.out = out;
    start_workers(&S, cfg, drv, err, errlen);
    double cpu0 = bench_cpu_seconds();
    watch_workers(&S, cfg, pub, err, errlen);
    unsigned ok = collect_workers(&S, err, errlen);
    if (S.pub) {
        add_publisher(S.pub, out);
        bench_pub_free(S.pub);
    }
    out->cpu_seconds += bench_cpu_seconds() - cpu0;
    if (S.interrupted) {
        out->interrupted = true;
        out->signo = S.signo;
    }
    if (S.bad_report && !err[0])
        snprintf(err, errlen, "a worker process sent a malformed report");
    int rc = -1;
    if (ok == nprocs && !S.bad_report) {
        rc = 0;
    } else if (ok > 0) {
        diag_warn("bench: %s; the summary covers %u of %u worker processes", err, ok, nprocs);
        rc = 0;
    }
    if (S.loop)
        loop_free(S.loop);
    free(S.s);
    return rc;
}
