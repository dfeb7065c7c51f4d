/* cmd_bench: `evcat bench URL [URL2]` — options, the load's plan (threads,
 * worker processes, source addresses), progress, summary, --json, --assert.
 *
 * Past one process: when the connections need more descriptors than one
 * process may open (or with -p), the parent forks worker processes before
 * any thread exists; each runs bench_run() on its shard (a contiguous range
 * of connection indices, its share of the connect rate) and reports over a
 * pipe: a progress line a second ("P ...") and at the end its whole result
 * in the shard JSON form ("R {...}"), which the parent merges exactly. */
#include "bench.h"
#include "bench_report.h"
#include "bench_run.h"
#include "commands.h"
#include "exitcode.h"
#include "diag.h"
#include "transport.h"
#include "units.h"
#include "ws_client.h"
#include "clock.h"
#include "stamp.h"
#include "redact.h"
#include "cliopt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define FD_RESERVE       256     /* descriptors a process keeps for itself */
#define PORTS_PER_SOURCE 25000   /* of the 28k in 32768-60999, with headroom */
/* Loopback targets get a source address per this many connections,
 * starting at 127.0.0.2 (127.0.0.1 tends to hold TIME_WAIT sockets of
 * earlier runs): the kernel's search for a free port
 * (__inet_check_established) slows down as one address's ports fill.
 * Measured here at 19,000 connections: one address cost 6.7 s of system
 * CPU and reached 885 connects/s, eight 1.2 s and 7,459/s (a loaded
 * machine); 100,000 against nchan: 25 addresses stalled at 56k with 85 s of
 * system CPU, 100 addresses established all at 18.7k/s with 8.2 s. */
#define AUTO_CONNS_PER_SOURCE 1000
#define MAX_SOURCES      250
#define MAX_ASSERTS      64
#define MAX_PROCS        64

static const char usage_text[] =
    "Usage: evcat bench [OPTIONS] URL [URL2]\n"
    "\n"
    "Load test an SSE (http/https) or WebSocket (ws/wss) endpoint: open many\n"
    "connections at a steady rate, hold them for a duration, measure connect\n"
    "times and message latency, and check thresholds for CI. With two URLs the\n"
    "same load runs against each in turn and the results print side by side.\n"
    "\n"
    "Load:\n"
    "  -c, --connections N         connections to open (default 100)\n"
    "      --connect-rate N        new connections per second (default 1000)\n"
    "  -d, --duration DUR          measure for DUR once all are connected (default 10s)\n"
    "  -t, --threads N             worker threads per process (default: cores)\n"
    "  -p, --procs N               worker processes, each a shard of the load\n"
    "                              (default: as many as the descriptor limit needs)\n"
    "      --source ADDR[,ADDR]    local addresses to spread connections over\n"
    "                              (loopback targets use 127.0.0.x on their own)\n"
    "WebSocket:\n"
    "      --mode MODE             echo (send and time the echo; default) or subscribe\n"
    "                              (time messages the server pushes)\n"
    "  -r, --message-rate N        echo: messages per second per connection (default 1)\n"
    "      --size SIZE             echo: message size (default 64, at least 32)\n"
    "      --binary                echo: send binary frames\n"
    "      --subprotocol P         offer subprotocol P (repeatable)\n"
    "      --origin ORIGIN         send Origin: ORIGIN\n"
    "      --on-open MSG           send MSG after each handshake (repeatable)\n"
    "      --max-message SIZE      largest incoming message or SSE event (default 1M)\n"
    "Subscribe and SSE:\n"
    "      --latency-field NAME    JSON field of each message with the UNIX time in ns\n"
    "                              it was sent (default ts_ns)\n"
    "      --publish URL           POST timestamped messages to URL while measuring\n"
    "      --publish-rate N        messages per second to publish (default 10)\n"
    "Report:\n"
    "      --json FILE             write the summary as JSON to FILE (- = stdout)\n"
    "      --assert EXPR           threshold, e.g. 'p99<50ms' 'errors==0' (repeatable;\n"
    "                              exit 3 when one fails)\n"
    "Connection:\n"
    "  -H, --header 'Name: value'  add a request header (repeatable)\n"
    "  -u, --user USER:PASSWORD    HTTP basic authentication\n"
    "      --bearer TOKEN          send 'Authorization: Bearer TOKEN'\n"
    "      --cacert FILE           trust the CA certificates in FILE (PEM)\n"
    "      --cert FILE             client certificate (PEM)\n"
    "      --key FILE              client certificate's private key (PEM)\n"
    "  -k, --insecure              do not verify the server's certificate\n"
    "      --connect-timeout DUR   give up on a connection after DUR (default 10s)\n"
    "  -v, --verbose               the plan, and the publisher's requests, on stderr\n"
    "  -q, --quiet                 no progress lines, errors only on stderr\n"
    "  -h, --help                  this help\n"
    "\n"
    "Exit status: 0 done, 1 no connection could be established, 2 usage,\n"
    "3 an --assert failed, 130 interrupted (the summary is still printed).\n";

enum {
    OPT_CONNECT_RATE = OPT_CMD,
    OPT_SOURCE,
    OPT_MODE,
    OPT_SIZE,
    OPT_LATENCY_FIELD,
    OPT_PUBLISH,
    OPT_PUBLISH_RATE,
    OPT_JSON,
    OPT_ASSERT,
};

typedef struct bench_opts {
    uint64_t connections;
    double connect_rate;
    uint64_t duration_ns;
    unsigned threads;     /* 0: default */
    unsigned procs;       /* 0: automatic */
    const char *source;   /* --source list */
    int mode;             /* -1 default, BENCH_WS_ECHO, BENCH_WS_SUBSCRIBE */
    double message_rate;
    uint64_t size;
    bool rate_set, size_set;
    const char *latency_field;
    const char *publish;
    double publish_rate;
    bool publish_rate_set;
    const char *json;
    bench_assert_t asserts[MAX_ASSERTS];
    size_t nasserts;
    bool quiet;
} bench_opts_t;

/* ---- progress ---- */

typedef struct progress {
    bool tty, quiet, printed;
    double last_s;
    bench_counters_t last;
} progress_t;

static const char *phase_name(bench_phase_t p)
{
    switch (p) {
    case BENCH_RAMP:
        return "ramp";
    case BENCH_MEASURE:
        return "measure";
    case BENCH_CLOSE:
        return "close";
    default:
        return "done";
    }
}

static void short_num(char *out, size_t n, double v)
{
    if (v >= 1e6)
        snprintf(out, n, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, n, "%.1fk", v / 1e3);
    else
        snprintf(out, n, "%.0f", v);
}

static void show_progress(const bench_progress_t *p, void *ud)
{
    progress_t *pr = ud;
    if (pr->quiet || p->phase_change)
        return;
    double dt = p->elapsed_s - pr->last_s;
    if (dt <= 0)
        dt = 1;
    uint64_t errs = 0;
    for (int k = 0; k < BERR_COUNT; k++)
        errs += p->c.errors[k];
    uint64_t open = p->c.established - p->c.dropped - p->c.ended;
    if (p->c.dropped + p->c.ended > p->c.established)
        open = 0;
    char cr[16], out[16], in[16];
    short_num(cr, sizeof(cr), (double)(p->c.established - pr->last.established) / dt);
    short_num(out, sizeof(out), (double)(p->c.sent - pr->last.sent) / dt);
    short_num(in, sizeof(in), (double)(p->c.received - pr->last.received) / dt);
    fprintf(stderr,
            "%s[%4.0fs] %-7s open %" PRIu64 "/%" PRIu64 " (+%s/s)  failed %" PRIu64 "  dropped %" PRIu64
            "  msgs out %s/s in %s/s  errors %" PRIu64 "%s",
            pr->tty ? "\r\033[K" : "", p->elapsed_s, phase_name(p->phase), open, p->target, cr,
            p->c.failed, p->c.dropped, out, in, errs, pr->tty ? "" : "\n");
    fflush(stderr);
    pr->printed = true;
    pr->last = p->c;
    pr->last_s = p->elapsed_s;
}

static void progress_end(progress_t *pr)
{
    if (pr->tty && pr->printed && !pr->quiet)
        fputc('\n', stderr);
    pr->printed = false;
    pr->last_s = 0;
    memset(&pr->last, 0, sizeof(pr->last));
}

/* ---- worker processes ---- */

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
    uint64_t next_progress;
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
        bool all = true;
        for (unsigned i = 0; i < S->n; i++)
            all = all && S->s[i].eof;
        if (all)
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
    sum.elapsed_s = (double)(loop_now(l) - S->t_start) / 1e9;
    sum.target = S->target;
    sum.interrupted = S->interrupted;
    uint64_t now = loop_now(l);
    if (now >= S->next_progress) {
        show_progress(&sum, S->pr);
        S->next_progress = now + 1000000000ull;
    }
    loop_timer_arm_ms(l, t, 50);
}

static void sharded_signal(loop_t *l, int signo, void *ud)
{
    (void)l;
    struct sharded *S = ud;
    S->interrupted = true;
    for (unsigned i = 0; i < S->n; i++)
        if (S->s[i].pid > 0)
            kill(S->s[i].pid, signo);
}

/* Runs cfg's load over nprocs worker processes; the result's target is the
 * whole of cfg->connections. */
static int run_sharded(const bench_config_t *cfg, const bench_driver_t *drv,
                       const bench_pub_config_t *pub, unsigned nprocs, progress_t *pr,
                       bench_result_t *out, char *err, size_t errlen)
{
    struct sharded S;
    memset(&S, 0, sizeof(S));
    S.n = nprocs;
    S.s = xcalloc(nprocs, sizeof(*S.s));
    S.pr = pr;
    S.out = out;
    int rc = -1;
    uint64_t first = cfg->first_index;
    fflush(stdout);
    fflush(stderr);
    for (unsigned i = 0; i < nprocs; i++) {
        struct shard *sh = &S.s[i];
        sh->fd = -1;
        buf_init(&sh->in);
        uint64_t share = cfg->connections / nprocs + (i < cfg->connections % nprocs ? 1 : 0);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            snprintf(err, errlen, "cannot create a pipe for worker process %u: %s", i, strerror(errno));
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
                if (S.s[j].fd >= 0)
                    close(S.s[j].fd);
            bench_config_t c = *cfg;
            c.connections = share;
            c.first_index = first;
            c.connect_rate = cfg->connect_rate * (double)share / (double)cfg->connections;
            bench_result_t r;
            bench_result_init(&r);
            char e[256] = "";
            int wfd = p[1];
            int code = 0;
            if (share == 0) {
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
        close(p[1]);
        sh->pid = pid;
        sh->fd = p[0];
        fcntl(sh->fd, F_SETFL, O_NONBLOCK);
        first += share;
    }

    double cpu0 = bench_cpu_seconds();
    S.loop = loop_new();
    bool started_all = S.s[nprocs - 1].pid > 0;
    if (S.loop && started_all) {
        if (pub) {
            S.pub = bench_pub_new(S.loop, pub, err, errlen);
            if (!S.pub)
                started_all = false;
        }
    }
    if (S.loop && started_all) {
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, NULL);
        loop_signal(S.loop, SIGINT, sharded_signal, &S);
        loop_signal(S.loop, SIGTERM, sharded_signal, &S);
        for (unsigned i = 0; i < nprocs; i++)
            loop_fd_add(S.loop, S.s[i].fd, LOOP_READ, sharded_read, &S);
        S.t_start = mono_ns();
        S.next_progress = S.t_start + 1000000000ull;
        loop_timer_init(&S.tick, sharded_tick, &S);
        loop_timer_arm_ms(S.loop, &S.tick, 50);
        S.target = cfg->connections;
        loop_run(S.loop);
        loop_timer_stop(S.loop, &S.tick);
    } else {
        for (unsigned i = 0; i < nprocs; i++)
            if (S.s[i].pid > 0)
                kill(S.s[i].pid, SIGTERM);
    }
    /* Read what is left (a child's report may still be in the pipe). */
    for (unsigned i = 0; i < nprocs; i++) {
        struct shard *sh = &S.s[i];
        if (sh->fd >= 0) {
            fcntl(sh->fd, F_SETFL, 0);
            while (!sh->eof && S.loop)
                sharded_read(S.loop, sh->fd, LOOP_READ, &S);
        }
    }
    unsigned ok = 0;
    for (unsigned i = 0; i < nprocs; i++) {
        struct shard *sh = &S.s[i];
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
    if (S.pub) {
        out->m_sent += bench_pub_accepted(S.pub);
        out->c.sent += bench_pub_accepted(S.pub);
        uint64_t pf = bench_pub_failed(S.pub);
        out->c.errors[BERR_PUBLISH] += pf;
        if (pf > 0)
            diag_warn("bench: --publish: %" PRIu64 " POSTs failed, the first: %s", pf,
                     bench_pub_first_error(S.pub));
        bench_pub_free(S.pub);
    }
    out->cpu_seconds += bench_cpu_seconds() - cpu0;
    if (S.interrupted)
        out->interrupted = true;
    if (S.bad_report && !err[0])
        snprintf(err, errlen, "a worker process sent a malformed report");
    if (ok == nprocs && !S.bad_report)
        rc = 0;
    else if (ok > 0) {
        diag_warn("bench: %s; the summary covers %u of %u worker processes", err, ok, nprocs);
        rc = 0;
    }
    if (S.loop)
        loop_free(S.loop);
    free(S.s);
    return rc;
}

/* ---- plan ---- */

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static uint64_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (uint64_t)rl.rlim_cur;
}

static int parse_sources(const char *list, int family, struct sockaddr_storage **out, size_t *n)
{
    char *copy = xstrdup(list);
    size_t cap = 8;
    *out = xcalloc(cap, sizeof(**out));
    *n = 0;
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, tok, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, tok, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
        } else {
            diag_error("bench: --source '%s' is not an IPv4 or IPv6 address", tok);
            rc = -1;
            break;
        }
        if (ss.ss_family != family) {
            diag_error("bench: --source %s is %s but the target is %s", tok,
                      ss.ss_family == AF_INET ? "IPv4" : "IPv6", family == AF_INET ? "IPv4" : "IPv6");
            rc = -1;
            break;
        }
        if (*n == cap)
            *out = xrealloc(*out, (cap *= 2) * sizeof(**out));
        (*out)[(*n)++] = ss;
    }
    free(copy);
    if (rc == 0 && *n == 0) {
        diag_error("bench: --source needs at least one address");
        rc = -1;
    }
    return rc;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)n);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)n);
}

/* Whether a TCP connection to sa is accepted within a second. */
static bool probe_connect(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, sa, len) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        ok = poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
             err == 0;
    }
    close(fd);
    return ok;
}

typedef struct target {
    const char *url;
    char *display;
    bench_kind_t kind;
    ws_url_t u;
    bool parsed;
} target_t;

static int parse_target(const char *url, int mode, target_t *t)
{
    char err[256];
    memset(t, 0, sizeof(*t));
    t->url = url;
    t->display = redact_url(url);
    char *conv = NULL;
    if (strncmp(url, "http://", 7) == 0) {
        t->kind = BENCH_SSE;
        conv = xmalloc(strlen(url) + 1);
        sprintf(conv, "ws://%s", url + 7);
    } else if (strncmp(url, "https://", 8) == 0) {
        t->kind = BENCH_SSE;
        conv = xmalloc(strlen(url) + 1);
        sprintf(conv, "wss://%s", url + 8);
    } else if (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0) {
        t->kind = mode == BENCH_WS_SUBSCRIBE ? BENCH_WS_SUBSCRIBE : BENCH_WS_ECHO;
    } else {
        diag_error("bench: '%s' is not an http(s):// (SSE) or ws(s):// (WebSocket) URL", t->display);
        return -1;
    }
    int rc = ws_url_parse(conv ? conv : url, &t->u, err, sizeof(err));
    free(conv);
    if (rc < 0) {
        diag_error("bench: '%s': %s", t->display, err);
        return -1;
    }
    t->parsed = true;
    return 0;
}

static void free_target(target_t *t)
{
    free(t->display);
    if (t->parsed)
        ws_url_free(&t->u);
}

static const char *mode_name(bench_kind_t k)
{
    return k == BENCH_WS_ECHO ? "echo" : k == BENCH_WS_SUBSCRIBE ? "subscribe" : "sse";
}

/* Runs the load against one target. Returns 0 with *res filled, 1 when the
 * run could not happen (reported), 2 for usage errors found late. */
static int run_target(const bench_opts_t *o, const conn_opts_t *co, const ws_cli_opts_t *wo,
                      target_t *t, bool isolate, progress_t *pr, bench_result_t *res)
{
    bench_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.kind = t->kind;
    cfg.url = t->url;
    cfg.host = t->u.host;
    cfg.port = t->u.port;
    cfg.tls = t->u.tls;
    cfg.target = t->u.target;
    cfg.host_header = t->u.host_header;
    cfg.connections = o->connections;
    cfg.connect_rate = o->connect_rate;
    cfg.duration_ns = o->duration_ns;
    cfg.message_rate = o->message_rate;
    cfg.size = (size_t)o->size;
    cfg.binary = wo->binary;
    cfg.latency_field = o->latency_field;
    cfg.max_message = (size_t)wo->max_message;
    cfg.co = &co->net;
    cfg.on_open = wo->on_open;
    cfg.non_open = wo->non_open;
    int rc = 1;
    const char **hdrs = NULL;
    char err[256] = "";

    /* Resolve once. */
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)t->u.port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(t->u.host, port, &hints, &ai);
    if (g != 0 || !ai) {
        diag_error("bench: cannot resolve '%s': %s", t->u.host, gai_strerror(g));
        return 1;
    }
    /* A name with several addresses (localhost: ::1 and 127.0.0.1): the
     * load goes to the first that accepts a connection now, as a client
     * trying each in turn would settle on. */
    const struct addrinfo *pick = ai;
    if (ai->ai_next) {
        for (const struct addrinfo *a = ai; a; a = a->ai_next) {
            if (probe_connect(a->ai_addr, a->ai_addrlen)) {
                pick = a;
                break;
            }
        }
    }
    memcpy(&cfg.addr, pick->ai_addr, pick->ai_addrlen);
    cfg.addrlen = pick->ai_addrlen;
    freeaddrinfo(ai);
    char addr[INET6_ADDRSTRLEN];
    fmt_addr(&cfg.addr, addr, sizeof(addr));
    size_t rl = strlen(t->u.host) + strlen(addr) + 16;
    cfg.curl_resolve = xmalloc(rl);
    snprintf(cfg.curl_resolve, rl, cfg.addr.ss_family == AF_INET6 ? "%s:%u:[%s]" : "%s:%u:%s",
             t->u.host, (unsigned)t->u.port, addr);

    /* Sources. */
    if (o->source) {
        if (parse_sources(o->source, cfg.addr.ss_family, &cfg.sources, &cfg.nsources) < 0) {
            rc = 2;
            goto out;
        }
    } else if (cfg.addr.ss_family == AF_INET &&
               (ntohl(((struct sockaddr_in *)&cfg.addr)->sin_addr.s_addr) >> 24) == 127 &&
               o->connections > AUTO_CONNS_PER_SOURCE) {
        size_t n = (size_t)((o->connections + AUTO_CONNS_PER_SOURCE - 1) / AUTO_CONNS_PER_SOURCE);
        if (n > MAX_SOURCES)
            n = MAX_SOURCES;
        cfg.sources = xcalloc(n, sizeof(*cfg.sources));
        cfg.nsources = n;
        for (size_t i = 0; i < n; i++) {
            struct sockaddr_in *in = (struct sockaddr_in *)&cfg.sources[i];
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)i);
        }
    } else if (o->connections > PORTS_PER_SOURCE) {
        diag_warn("bench: %" PRIu64 " connections from one source address may exhaust its "
                 "~28k local ports; spread them with --source",
                 o->connections);
    }

    /* TLS and the WebSocket request, built once. */
    if (t->kind != BENCH_SSE && t->u.tls) {
        cfg.ssl_ctx = transport_tls_client_ctx(co->net.cacert, co->net.cert, co->net.key, co->net.insecure, err,
                                           sizeof(err));
        if (!cfg.ssl_ctx) {
            diag_error("bench: %s", err);
            rc = 2;
            goto out;
        }
    }
    size_t nh = 0;
    for (struct curl_slist *s = co->net.headers; s; s = s->next)
        nh++;
    hdrs = xcalloc(nh + 1, sizeof(*hdrs));
    nh = 0;
    for (struct curl_slist *s = co->net.headers; s; s = s->next)
        hdrs[nh++] = s->data;
    cfg.ws_req.host_header = t->u.host_header;
    cfg.ws_req.target = t->u.target;
    cfg.ws_req.origin = wo->origin;
    cfg.ws_req.protocols = wo->protocols;
    cfg.ws_req.nprotocols = wo->nprotocols;
    cfg.ws_req.headers = hdrs;
    cfg.ws_req.nheaders = nh;
    cfg.ws_req.basic_auth = co->net.userpwd;

    /* Processes and threads. */
    uint64_t nofile = raise_nofile();
    uint64_t per_proc = nofile > FD_RESERVE * 2 ? nofile - FD_RESERVE : nofile / 2;
    unsigned procs = o->procs;
    if (procs == 0)
        procs = (unsigned)((o->connections + per_proc - 1) / per_proc);
    if (procs == 0)
        procs = 1;
    if (procs > MAX_PROCS) {
        diag_error("bench: %" PRIu64 " connections would need %u worker processes of %" PRIu64
                  " descriptors each; the most is %d",
                  o->connections, procs, per_proc, MAX_PROCS);
        rc = 2;
        goto out;
    }
    if (o->connections / procs + 1 > per_proc)
        diag_warn("bench: %" PRIu64 " connections per process exceed its descriptor limit "
                 "(%" PRIu64 "): expect fd_limit errors; use more processes (-p)",
                 o->connections / procs + 1, nofile);
    unsigned threads = o->threads;
    if (threads == 0) {
        threads = cores() / procs;
        if (threads == 0)
            threads = 1;
    }
    uint64_t per = (o->connections + procs - 1) / procs;
    if (per > 0 && threads > per)
        threads = (unsigned)per;
    cfg.threads = threads;

    diag_verbose("bench: %s (%s) at %s, %" PRIu64 " connections, %u process%s x %u thread%s, "
                "%zu source address%s, descriptor limit %" PRIu64,
                t->display, mode_name(t->kind), addr, o->connections, procs, procs == 1 ? "" : "es",
                threads, threads == 1 ? "" : "s", cfg.nsources ? cfg.nsources : 1,
                cfg.nsources > 1 ? "es" : "", nofile);

    const bench_driver_t *drv = t->kind == BENCH_SSE ? &bench_sse_driver : &bench_ws_driver;
    bench_pub_config_t pubcfg = {
        .url = o->publish, .rate = o->publish_rate, .field = o->latency_field, .co = &co->net};
    const bench_pub_config_t *pub = o->publish ? &pubcfg : NULL;
    int r;
    /* With two URLs each run gets processes of its own, so that one's peak
     * RSS and CPU time are not counted in the other's. */
    if (procs == 1 && !isolate)
        r = bench_run(&cfg, drv, pub, show_progress, pr, res, err, sizeof(err));
    else
        r = run_sharded(&cfg, drv, pub, procs, pr, res, err, sizeof(err));
    progress_end(pr);
    if (r < 0) {
        diag_error("bench: %s", err);
        goto out;
    }
    rc = 0;
out:
    free(hdrs);
    free(cfg.curl_resolve);
    free(cfg.sources);
    if (cfg.ssl_ctx)
        SSL_CTX_free(cfg.ssl_ctx);
    return rc;
}

/* ---- options ---- */

static int parse_rate(const char *cmd, const char *name, const char *arg, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !(v >= RATE_MIN && v <= RATE_MAX)) {
        diag_error("%s: %s '%s' is not a rate between 0.000001 and 1e9 per second", cmd, name, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"header", required_argument, NULL, 'H'},
        {"user", required_argument, NULL, 'u'},
        {"bearer", required_argument, NULL, OPT_BEARER},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"insecure", no_argument, NULL, 'k'},
        {"proxy", required_argument, NULL, 'x'},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"subprotocol", required_argument, NULL, OPT_SUBPROTOCOL},
        {"origin", required_argument, NULL, OPT_ORIGIN},
        {"on-open", required_argument, NULL, OPT_ON_OPEN},
        {"binary", no_argument, NULL, OPT_BINARY},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"connections", required_argument, NULL, 'c'},
        {"connect-rate", required_argument, NULL, OPT_CONNECT_RATE},
        {"duration", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 't'},
        {"procs", required_argument, NULL, 'p'},
        {"source", required_argument, NULL, OPT_SOURCE},
        {"mode", required_argument, NULL, OPT_MODE},
        {"message-rate", required_argument, NULL, 'r'},
        {"size", required_argument, NULL, OPT_SIZE},
        {"latency-field", required_argument, NULL, OPT_LATENCY_FIELD},
        {"publish", required_argument, NULL, OPT_PUBLISH},
        {"publish-rate", required_argument, NULL, OPT_PUBLISH_RATE},
        {"json", required_argument, NULL, OPT_JSON},
        {"assert", required_argument, NULL, OPT_ASSERT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "bench";
    conn_opts_t co;
    conn_opts_init(&co);
    co.net.connect_timeout_ms = 10000;
    ws_cli_opts_t wo;
    ws_cli_opts_init(&wo);
    wo.max_message = 1u << 20;
    bench_opts_t o;
    memset(&o, 0, sizeof(o));
    o.connections = 100;
    o.connect_rate = 1000;
    o.duration_ns = 10ull * 1000000000ull;
    o.mode = -1;
    o.message_rate = 1;
    o.size = 64;
    o.latency_field = "ts_ns";
    o.publish_rate = 10;
    int rc = EXIT_USAGE, c;
    target_t tg[2];
    size_t ntg = 0;
    bench_result_t res[2];
    size_t nres = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":H:u:kx:vqc:d:t:p:r:h", longopts, NULL)) != -1) {
        if (c == 'x') {
            diag_error("bench: --proxy is not supported: a load test connects to the server "
                      "directly (proxy variables are ignored too)");
            goto out;
        }
        int h = conn_opts_handle(&co, cmd, c, optarg);
        if (h == 0)
            h = ws_cli_opts_handle(&wo, cmd, c, optarg);
        if (h < 0)
            goto out;
        if (h > 0)
            continue;
        uint64_t v;
        char aerr[256];
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            rc = EXIT_OK;
            goto out;
        case 'c':
            if (parse_uint(optarg, 10000000, &o.connections) < 0 || o.connections == 0) {
                diag_error("bench: --connections '%s' is not a whole number from 1 to 10000000", optarg);
                goto out;
            }
            break;
        case OPT_CONNECT_RATE:
            if (parse_rate(cmd, "--connect-rate", optarg, &o.connect_rate) < 0)
                goto out;
            break;
        case 'd':
            if (parse_duration_us(optarg, &v) < 0 || v == 0 || v > 366ull * 86400 * 1000000) {
                diag_error("bench: --duration '%s' is not a duration such as 30s", optarg);
                goto out;
            }
            o.duration_ns = v * 1000;
            break;
        case 't':
            if (parse_uint(optarg, 1024, &v) < 0 || v == 0) {
                diag_error("bench: --threads '%s' is not a whole number from 1 to 1024", optarg);
                goto out;
            }
            o.threads = (unsigned)v;
            break;
        case 'p':
            if (parse_uint(optarg, MAX_PROCS, &v) < 0 || v == 0) {
                diag_error("bench: --procs '%s' is not a whole number from 1 to %d", optarg, MAX_PROCS);
                goto out;
            }
            o.procs = (unsigned)v;
            break;
        case OPT_SOURCE:
            o.source = optarg;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "echo") == 0)
                o.mode = BENCH_WS_ECHO;
            else if (strcmp(optarg, "subscribe") == 0)
                o.mode = BENCH_WS_SUBSCRIBE;
            else {
                diag_error("bench: --mode '%s' is not echo or subscribe", optarg);
                goto out;
            }
            break;
        case 'r':
            if (parse_rate(cmd, "--message-rate", optarg, &o.message_rate) < 0)
                goto out;
            o.rate_set = true;
            break;
        case OPT_SIZE:
            if (parse_size(optarg, &o.size) < 0 || o.size < STAMP_LEN || o.size > (16u << 20)) {
                diag_error("bench: --size '%s' is not a size from %d (the timestamp an echo carries) "
                          "to 16M",
                          optarg, STAMP_LEN);
                goto out;
            }
            o.size_set = true;
            break;
        case OPT_LATENCY_FIELD:
            if (!*optarg || strpbrk(optarg, "\"\\") || strlen(optarg) > 64) {
                diag_error("bench: --latency-field '%s' is not a plain JSON key", optarg);
                goto out;
            }
            o.latency_field = optarg;
            break;
        case OPT_PUBLISH:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0) {
                diag_error("bench: --publish '%s' is not an http:// or https:// URL", optarg);
                goto out;
            }
            o.publish = optarg;
            break;
        case OPT_PUBLISH_RATE:
            if (parse_rate(cmd, "--publish-rate", optarg, &o.publish_rate) < 0)
                goto out;
            o.publish_rate_set = true;
            break;
        case OPT_JSON:
            o.json = optarg;
            break;
        case OPT_ASSERT:
            if (o.nasserts == MAX_ASSERTS) {
                diag_error("bench: at most %d --assert options", MAX_ASSERTS);
                goto out;
            }
            if (bench_assert_parse(optarg, &o.asserts[o.nasserts], aerr, sizeof(aerr)) < 0) {
                diag_error("bench: --assert '%s': %s", optarg, aerr);
                goto out;
            }
            o.nasserts++;
            break;
        case ':':
            diag_error("bench: option '%s' needs a value", argv[optind - 1]);
            goto out;
        default:
            diag_error("bench: unknown option '%s' (see 'evcat bench --help')", argv[optind - 1]);
            goto out;
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) {
        diag_error(nargs < 1 ? "bench: a URL is needed (see 'evcat bench --help')"
                            : "bench: at most two URLs (to compare them side by side)");
        goto out;
    }
    o.quiet = diag_level < 0;
    bool any_sse = false, any_ws = false;
    for (int i = 0; i < nargs; i++) {
        const char *u = argv[optind + i];
        bool sse = strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
        any_sse = any_sse || sse;
        any_ws = any_ws || !sse;
    }
    int mode = o.mode;
    if (mode < 0)
        mode = any_sse ? BENCH_WS_SUBSCRIBE : BENCH_WS_ECHO;
    for (int i = 0; i < nargs; i++) {
        if (parse_target(argv[optind + i], mode, &tg[ntg]) < 0) {
            free_target(&tg[ntg]);
            goto out;
        }
        ntg++;
    }
    bool any_echo = any_ws && mode == BENCH_WS_ECHO;
    if (o.mode == BENCH_WS_ECHO && !any_ws) {
        diag_error("bench: --mode echo needs a ws:// or wss:// URL (SSE only flows from the server)");
        goto out;
    }
    if (!any_echo && (o.rate_set || o.size_set || wo.binary)) {
        diag_error("bench: --message-rate, --size and --binary apply to WebSocket echo (--mode echo)");
        goto out;
    }
    if (any_echo && o.publish) {
        diag_error("bench: --publish applies to subscribers (SSE, or --mode subscribe)");
        goto out;
    }
    if (o.publish_rate_set && !o.publish) {
        diag_error("bench: --publish-rate needs --publish URL");
        goto out;
    }
    if (!any_ws && (wo.nprotocols || wo.origin || wo.non_open)) {
        diag_error("bench: --subprotocol, --origin and --on-open apply to WebSocket URLs");
        goto out;
    }
    if (wo.ping_interval_ms || wo.reconnect) {
        diag_error("bench: --ping-interval and --reconnect are not load-test options");
        goto out;
    }
    FILE *jf = NULL;
    if (o.json && strcmp(o.json, "-") != 0) {
        jf = fopen(o.json, "w");
        if (!jf) {
            diag_error("bench: cannot write --json file '%s': %s", o.json, strerror(errno));
            goto out;
        }
    }
    conn_opts_finish(&co);

    progress_t pr;
    memset(&pr, 0, sizeof(pr));
    pr.tty = isatty(STDERR_FILENO);
    pr.quiet = o.quiet;
    rc = EXIT_OK;
    for (size_t i = 0; i < ntg; i++) {
        bench_result_init(&res[i]);
        nres++;
        if (ntg > 1 && !o.quiet)
            diag_info("bench: %s (%zu of %zu)", tg[i].display, i + 1, ntg);
        int r = run_target(&o, &co, &wo, &tg[i], ntg > 1, &pr, &res[i]);
        if (r != 0) {
            rc = r == 2 ? EXIT_USAGE : EXIT_FAIL;
            nres--;
            bench_result_free(&res[i]);
            break;
        }
        if (res[i].interrupted)
            break;
    }
    if (nres > 0) {
        bench_report_t reps[2];
        bool ok[2][MAX_ASSERTS];
        bool all_ok = true, none = false, intr = false;
        for (size_t i = 0; i < nres; i++) {
            reps[i].url = tg[i].display;
            reps[i].mode = mode_name(tg[i].kind);
            reps[i].connect_rate = o.connect_rate;
            reps[i].r = &res[i];
            bench_metrics_t m;
            bench_report_metrics(&res[i], &m);
            for (size_t a = 0; a < o.nasserts; a++) {
                char why[256];
                ok[i][a] = bench_assert_eval(&o.asserts[a], &m, why, sizeof(why));
                if (!ok[i][a]) {
                    all_ok = false;
                    if (nres > 1)
                        diag_error("bench: %s: %s", tg[i].display, why);
                    else
                        diag_error("bench: %s", why);
                }
            }
            none = none || res[i].c.established == 0;
            intr = intr || res[i].interrupted;
        }
        FILE *sf = o.json && strcmp(o.json, "-") == 0 ? stderr : stdout;
        bench_report_text(sf, reps, nres);
        fflush(sf);
        if (o.json) {
            buf_t b;
            buf_init(&b);
            if (ntg > 1)
                buf_putc(&b, '[');
            for (size_t i = 0; i < nres; i++) {
                if (i)
                    buf_putc(&b, ',');
                bench_report_json(&b, &reps[i], o.asserts, ok[i], o.nasserts);
            }
            if (ntg > 1)
                buf_putc(&b, ']');
            buf_putc(&b, '\n');
            FILE *out = jf ? jf : stdout;
            if (fwrite(b.p, 1, b.len, out) != b.len || fflush(out) != 0) {
                diag_error("bench: cannot write the JSON summary: %s", strerror(errno));
                if (rc == EXIT_OK)
                    rc = EXIT_FAIL;
            }
            buf_free(&b);
        }
        if (none) {
            for (size_t i = 0; i < nres; i++)
                if (res[i].c.established == 0)
                    diag_error("bench: %s: no connection could be established", tg[i].display);
        }
        if (rc == EXIT_OK) {
            if (intr)
                rc = EXIT_INTERRUPTED;
            else if (none)
                rc = EXIT_FAIL;
            else if (!all_ok)
                rc = EXIT_CHECK;
        }
    }
    if (jf && fclose(jf) != 0 && rc == EXIT_OK) {
        diag_error("bench: cannot write --json file '%s': %s", o.json, strerror(errno));
        rc = EXIT_FAIL;
    }
out:
    for (size_t i = 0; i < nres; i++)
        bench_result_free(&res[i]);
    for (size_t i = 0; i < ntg; i++)
        free_target(&tg[i]);
    conn_opts_free(&co);
    return rc;
}
