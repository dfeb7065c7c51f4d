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

static inline bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An unsigned integer at v, or one as a JSON string ("123"). A bare number
 * must end where a JSON number ends (1.5 or 1e18 is not an integer: no
 * value rather than a wrong one); it may also end the input. */
static int json_read_u64(const char *v, const char *end, uint64_t *value)
{
    bool quoted = v < end && *v == '"';
    if (quoted)
        v++;
    uint64_t n = 0;
    const char *d = v;
    for (; d < end && *d >= '0' && *d <= '9'; d++) {
        unsigned digit = (unsigned)(*d - '0');
        if (n > (UINT64_MAX - digit) / 10)
            return -1; /* overflow */
        n = n * 10 + digit;
    }
    if (d == v)
        return -1;
    if (quoted ? d >= end || *d != '"'
               : d < end && !json_space(*d) && *d != ',' && *d != '}' && *d != ']')
        return -1;
    *value = n;
    return 0;
}

/* Walks the text string by string: p is always outside a string, so a
 * quote found from p opens one. A string equal to the key and followed by
 * a colon is a key; its value is tried, and when it is not an integer the
 * walk goes on from the value (a string value is then skipped whole, an
 * object searched). Any other string is skipped to its unescaped closing
 * quote, so text inside values ("a \"ts_ns\":1 b") never matches. The
 * field itself must not contain a quote or a backslash. */
int bench_json_u64(const char *data, size_t len, const char *field, uint64_t *value)
{
    size_t flen = strlen(field);
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return -1;
        q++; /* the string's first byte */
        if ((size_t)(end - q) > flen && memcmp(q, field, flen) == 0 && q[flen] == '"') {
            const char *v = q + flen + 1;
            while (v < end && json_space(*v))
                v++;
            if (v < end && *v == ':') {
                v++;
                while (v < end && json_space(*v))
                    v++;
                if (json_read_u64(v, end, value) == 0)
                    return 0;
                p = v; /* another kind of value: go on from it */
            } else {
                p = q + flen + 1; /* the same text as a value */
            }
            continue;
        }
        while (q < end && *q != '"')
            q += *q == '\\' && end - q > 1 ? 2 : 1;
        if (q >= end)
            return -1; /* an unterminated string */
        p = q + 1;
    }
    return -1;
}

static const char hexd[] = "0123456789abcdef";

static void hex_put(uint8_t *p, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = (uint8_t)hexd[v & 15];
        v >>= 4;
    }
}

static int hex_get(const uint8_t *p, int digits, uint64_t *v)
{
    uint64_t n = 0;
    for (int i = 0; i < digits; i++) {
        int h = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 : -1;
        if (h < 0)
            return -1;
        n = n << 4 | (uint64_t)h;
    }
    *v = n;
    return 0;
}

void bench_stamp_write(uint8_t *p, uint32_t conn, uint32_t seq, uint64_t intended_ns)
{
    hex_put(p, conn, 8);
    hex_put(p + 8, seq, 8);
    hex_put(p + 16, intended_ns, 16);
}

int bench_stamp_read(const uint8_t *p, size_t n, uint32_t *conn, uint32_t *seq,
                     uint64_t *intended_ns)
{
    uint64_t c, s, t;
    if (n < BENCH_STAMP_LEN || hex_get(p, 8, &c) < 0 || hex_get(p + 8, 8, &s) < 0 ||
        hex_get(p + 16, 16, &t) < 0)
        return -1;
    *conn = (uint32_t)c;
    *seq = (uint32_t)s;
    *intended_ns = t;
    return 0;
}
