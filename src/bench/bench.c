/* bench: the helpers of the shared definitions (bench.h): the names of
 * error kinds, counters and phases, the kind of an errno, counter sums,
 * differences and snapshots, and the source-bound sockets drivers connect
 * with. */
#include "bench.h"
#include "buf.h"
#include "clock.h"
#include "redact.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
    [BERR_MISMATCH] = "mismatch",
    [BERR_SSE_ERROR] = "sse_error",
    [BERR_INCOMPLETE] = "incomplete",
    [BERR_IDLE_TIMEOUT] = "idle_timeout",
};

static const char *const counter_names[BENCH_NSCALARS] = {
    "attempted", "established", "failed", "dropped", "ended",
    "sent", "received", "bytes_sent", "bytes_received",
};

/* The scalars are bench_counters_t's first members, errors[] right after. */
_Static_assert(offsetof(bench_counters_t, errors) == BENCH_NSCALARS * sizeof(uint64_t),
               "bench_counters_t: BENCH_NSCALARS counters before errors[]");
_Static_assert(sizeof(bench_counters_t) == (BENCH_NSCALARS + BERR_COUNT) * sizeof(uint64_t),
               "bench_counters_t: uint64_t's only");

static const char *const phase_names[] = {
    [BENCH_RAMP] = "ramp",
    [BENCH_MEASURE] = "measure",
    [BENCH_CLOSE] = "close",
    [BENCH_DONE] = "done",
};

const char *bench_counter_name(size_t i)
{
    return i < BENCH_NSCALARS ? counter_names[i] : "unknown";
}

const char *bench_phase_name(bench_phase_t p)
{
    return (unsigned)p < ARRAY_LEN(phase_names) ? phase_names[p] : "unknown";
}

int bench_phase_from_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(phase_names); i++)
        if (strcmp(name, phase_names[i]) == 0)
            return (int)i;
    return -1;
}

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

void bench_counters_sub(bench_counters_t *d, const bench_counters_t *s)
{
    uint64_t *dp = (uint64_t *)d;
    const uint64_t *sp = (const uint64_t *)s;
    for (size_t i = 0; i < sizeof(*d) / sizeof(uint64_t); i++)
        dp[i] -= sp[i];
}

uint64_t bench_counters_open(const bench_counters_t *c)
{
    uint64_t gone = c->dropped + c->ended;
    return c->established > gone ? c->established - gone : 0;
}

void bench_counters_load(bench_counters_t *d, const bench_counters_t *s)
{
    const uint64_t *sp = (const uint64_t *)s;
    uint64_t *dp = (uint64_t *)d;
    for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
        dp[i] = bench_load(&sp[i]);
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

int bench_connect(const bench_config_t *cfg, uint64_t index, uint64_t *start_ns)
{
    int fd = bench_socket(cfg, cfg->addr.ss_family, SOCK_STREAM, 0, index);
    if (fd < 0)
        return fd;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *start_ns = mono_ns();
    if (connect(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}


/* ---- first examples ---- */

static void copy_line(char *dst, size_t max, const char *src, size_t len, bool lines)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o < max; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch == '\r' && lines)
            continue;
        dst[o++] = (ch < 0x20 && !(lines && ch == '\n')) || ch == 0x7f ? '?' : (char)ch;
    }
    /* never end inside a UTF-8 sequence */
    if (o == max && o < len) {
        size_t k = o;
        while (k > 0 && ((unsigned char)dst[k - 1] & 0xc0) == 0x80)
            k--;
        if (k > 0 && ((unsigned char)dst[k - 1] & 0xc0) == 0xc0)
            o = k - 1;
    }
    dst[o] = '\0';
}

void bench_examples_note(bench_examples_t *e, bench_err_t kind, uint64_t at_ns, const char *text)
{
    if ((unsigned)kind >= BERR_COUNT || !at_ns)
        return;
    if (e->at_ns[kind] && e->at_ns[kind] <= at_ns)
        return;
    e->at_ns[kind] = at_ns;
    copy_line(e->text[kind], BENCH_ERR_EXAMPLE_MAX, text, strlen(text), false);
}

void bench_examples_note_exchange(bench_examples_t *e, uint64_t at_ns, const char *text,
                                  size_t len)
{
    if (!at_ns || (e->exchange_at_ns && e->exchange_at_ns <= at_ns))
        return;
    e->exchange_at_ns = at_ns;
    /* request and response heads: no secret is kept (a shard's JSON
     * carries it, -v shows it) */
    buf_t b;
    buf_init(&b);
    redact_lines(&b, text, len, true);
    copy_line(e->exchange, BENCH_EXCHANGE_MAX, b.p ? b.p : "", b.len, true);
    buf_free(&b);
}

void bench_examples_merge(bench_examples_t *dst, const bench_examples_t *src)
{
    for (int k = 0; k < BERR_COUNT; k++)
        if (src->at_ns[k])
            bench_examples_note(dst, (bench_err_t)k, src->at_ns[k], src->text[k]);
    if (src->exchange_at_ns)
        bench_examples_note_exchange(dst, src->exchange_at_ns, src->exchange,
                                     strlen(src->exchange));
}

uint64_t bench_share(uint64_t total, uint64_t first, uint64_t count, uint64_t of)
{
    if (of == 0)
        return 0;
    if (total == UINT64_MAX)
        return UINT64_MAX;
    unsigned __int128 hi = (unsigned __int128)total * (first + count) / of;
    unsigned __int128 lo = (unsigned __int128)total * first / of;
    return (uint64_t)(hi - lo);
}
