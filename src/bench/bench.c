/* bench: the pieces every driver shares (accounting, sockets, the latency
 * field, echo stamps). The worker threads and the coordinator are in
 * bench_run.c. */
#include "bench.h"
#include "bench_run.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

static const char *const err_names[BERR_COUNT] = {
    [BERR_FD_LIMIT] = "fd_limit",
    [BERR_PORTS] = "ports",
    [BERR_REFUSED] = "refused",
    [BERR_CONNECT_TIMEOUT] = "connect_timeout",
    [BERR_CONNECT] = "connect",
    [BERR_TLS] = "tls",
    [BERR_HANDSHAKE] = "handshake",
    [BERR_HTTP_STATUS] = "http_status",
    [BERR_PROTOCOL] = "protocol",
    [BERR_CLOSED] = "closed",
    [BERR_RESET] = "reset",
    [BERR_TOO_BIG] = "too_big",
    [BERR_NO_TIMESTAMP] = "no_timestamp",
    [BERR_PUBLISH] = "publish",
};

const char *bench_err_name(bench_err_t k)
{
    return (unsigned)k < BERR_COUNT ? err_names[k] : "unknown";
}

bench_err_t bench_errno_kind(int err)
{
    switch (err) {
    case EMFILE:
    case ENFILE:
        return BERR_FD_LIMIT;
    case EADDRNOTAVAIL:
    case EADDRINUSE:
        return BERR_PORTS;
    case ECONNREFUSED:
        return BERR_REFUSED;
    case ETIMEDOUT:
        return BERR_CONNECT_TIMEOUT;
    case ECONNRESET:
    case EPIPE:
        return BERR_RESET;
    default:
        return BERR_CONNECT;
    }
}

bench_phase_t bench_phase(const bench_worker_t *w)
{
    return bench_run_phase(w->run);
}

void bench_connected(bench_worker_t *w, uint64_t connect_ns)
{
    bench_add(&w->c.established, 1);
    hist_record(&w->connect, connect_ns);
}

static void conn_over(bench_worker_t *w)
{
    if (w->live > 0)
        w->live--;
    bench_worker_check_done(w);
}

void bench_failed(bench_worker_t *w, bench_err_t kind)
{
    bench_add(&w->c.failed, 1);
    bench_add(&w->c.errors[kind], 1);
    conn_over(w);
}

void bench_lost(bench_worker_t *w, bench_err_t kind)
{
    if (bench_phase(w) < BENCH_CLOSE && !w->closing) {
        bench_add(&w->c.dropped, 1);
        bench_add(&w->c.errors[kind], 1);
    } else {
        bench_add(&w->c.ended, 1);
    }
    conn_over(w);
}

void bench_ended(bench_worker_t *w)
{
    bench_add(&w->c.ended, 1);
    conn_over(w);
}

void bench_sent(bench_worker_t *w, uint64_t messages, uint64_t bytes)
{
    bench_add(&w->c.sent, messages);
    bench_add(&w->c.bytes_sent, bytes);
}

void bench_received(bench_worker_t *w, uint64_t messages, uint64_t bytes)
{
    bench_add(&w->c.received, messages);
    bench_add(&w->c.bytes_received, bytes);
}

void bench_latency(bench_worker_t *w, uint64_t ns)
{
    if (bench_phase(w) == BENCH_MEASURE)
        hist_record(&w->latency, ns);
}

void bench_error(bench_worker_t *w, bench_err_t kind)
{
    bench_add(&w->c.errors[kind], 1);
}

int bench_socket(const bench_config_t *cfg, int family, int type, int protocol, uint64_t index)
{
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return -errno;
    if (cfg->nsources > 0) {
        const struct sockaddr_storage *src = &cfg->sources[index % cfg->nsources];
        if (src->ss_family == family) {
            int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
            (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#else
            (void)one;
#endif
            socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
            if (bind(fd, (const struct sockaddr *)src, len) < 0) {
                int e = errno;
                close(fd);
                return -e;
            }
        }
    }
    return fd;
}

