/* Unit tests for src/net/dial.c (and netio's client TLS): every peer runs in
 * this process on the same loop and on loopback — an echo server, a TLS echo
 * server with a certificate made by the openssl tool, a fake CONNECT proxy,
 * and tinyproxy when it is installed. No packet leaves loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "diag.h"
#include "dial.h"
#include "transport.h"
#include "buf.h"
#include "clock.h"

static loop_t *L;
static char tmpdir[64];
static char good_cert[128], good_key[128], other_cert[128], other_key[128];
static char expired_cert[128], expired_key[128];
static SSL_CTX *good_sctx, *other_sctx, *expired_sctx;

/* ---- in-process peers --------------------------------------------------- */

typedef enum { SRV_ECHO, SRV_TLS_ECHO, SRV_PROXY, SRV_SILENT } srv_kind_t;
typedef enum { PX_OK, PX_OK_EXTRA, PX_403, PX_BIG, PX_SILENT } px_mode_t;

typedef struct server {
    int lfd;
    uint16_t port;
    srv_kind_t kind;
    SSL_CTX *ctx;
    px_mode_t mode;
    char req[4096]; /* the proxy's last request head */
    int accepted;
} server_t;

typedef struct sconn {
    server_t *s;
    transport_t io;
    int up_fd; /* proxy: the tunnel's upstream socket, -1 before */
    buf_t head;
    bool tunneled;
    bool closed;
} sconn_t;

#define MAX_CONNS 64
static sconn_t *conns[MAX_CONNS];
static size_t nconns;

static void sconn_close(sconn_t *c)
{
    if (c->closed)
        return;
    c->closed = true;
    loop_fd_del(L, c->io.fd);
    transport_close(&c->io);
    if (c->up_fd >= 0) {
        loop_fd_del(L, c->up_fd);
        close(c->up_fd);
        c->up_fd = -1;
    }
}

static void echo_fn(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)fd;
    (void)ev;
    sconn_t *c = ud;
    int h = transport_handshake(&c->io);
    if (h == NETIO_AGAIN) {
        loop_fd_mod(L, c->io.fd, c->io.read_wants);
        return;
    }
    if (h < 0) {
        sconn_close(c);
        return;
    }
    for (;;) {
        char b[4096];
        ssize_t n = transport_read(&c->io, b, sizeof(b));
        if (n == NETIO_AGAIN) {
            loop_fd_mod(L, c->io.fd, c->io.read_wants);
            return;
        }
        if (n <= 0) {
            sconn_close(c);
            return;
        }
        struct iovec iov = {b, (size_t)n};
        size_t off = 0;
        for (int tries = 0; off < (size_t)n && tries < 1000; tries++) {
            iov.iov_base = b + off;
            iov.iov_len = (size_t)n - off;
            ssize_t w = transport_writev(&c->io, &iov, 1);
            if (w > 0)
                off += (size_t)w;
            else if (w != NETIO_AGAIN)
                break;
        }
    }
}

static void proxy_fn(loop_t *l, int fd, unsigned ev, void *ud);

static void proxy_upstream_fn(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)ev;
    sconn_t *c = ud;
    char b[4096];
    ssize_t n = read(fd, b, sizeof(b));
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        sconn_close(c);
        return;
    }
    write_all(c->io.fd, b, (size_t)n);
}

static void proxy_fn(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)ev;
    sconn_t *c = ud;
    char b[4096];
    ssize_t n = read(fd, b, sizeof(b));
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        sconn_close(c);
        return;
    }
    if (c->tunneled) {
        write_all(c->up_fd, b, (size_t)n);
        return;
    }
    buf_append(&c->head, b, (size_t)n);
    char *end = strstr(c->head.p, "\r\n\r\n");
    if (!end)
        return;
    size_t hlen = (size_t)(end + 4 - c->head.p);
    snprintf(c->s->req, sizeof(c->s->req), "%.*s", (int)hlen, c->head.p);
    switch (c->s->mode) {
    case PX_SILENT:
        return;
    case PX_403: {
        const char *a = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        write_all(fd, a, strlen(a));
        sconn_close(c);
        return;
    }
    case PX_BIG: {
        buf_t big;
        buf_init(&big);
        buf_puts(&big, "HTTP/1.1 200 OK\r\n");
        while (big.len < 20000)
            buf_puts(&big, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        write_all(fd, big.p, big.len);
        buf_free(&big);
        return;
    }
    case PX_OK:
    case PX_OK_EXTRA:
        break;
    }
    unsigned port = 0;
    const char *colon = strrchr(strtok(c->head.p + 8, " "), ':');
    if (!colon || sscanf(colon + 1, "%u", &port) != 1) {
        sconn_close(c);
        return;
    }
    int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(up, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        const char *a = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
        write_all(fd, a, strlen(a));
        close(up);
        sconn_close(c);
        return;
    }
    fcntl(up, F_SETFL, O_NONBLOCK);
    c->up_fd = up;
    loop_fd_add(L, up, LOOP_READ, proxy_upstream_fn, c);
    c->tunneled = true;
    const char *a = c->s->mode == PX_OK_EXTRA ? "HTTP/1.1 200 Connection established\r\n\r\nhello"
                                              : "HTTP/1.0 200 Connection established\r\n\r\n";
    write_all(fd, a, strlen(a));
    if (c->head.len > hlen)
        write_all(up, c->head.p + hlen, c->head.len - hlen);
}

static void accept_fn(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)ev;
    server_t *s = ud;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    s->accepted++;
    assert_true(nconns < MAX_CONNS);
    sconn_t *c = xcalloc(1, sizeof(*c));
    c->s = s;
    c->up_fd = -1;
    buf_init(&c->head);
    conns[nconns++] = c;
    if (s->kind == SRV_TLS_ECHO)
        assert_int_equal(transport_init_tls(&c->io, cfd, s->ctx), 0);
    else
        transport_init_plain(&c->io, cfd);
    loop_fd_add(L, cfd, LOOP_READ, s->kind == SRV_PROXY ? proxy_fn : echo_fn, c);
}

/* A listener on addr (127.0.0.1, 127.0.0.2 or ::1) and a free port. SRV_SILENT
 * never accepts: the kernel completes the handshake and the peer hears nothing. */
static int server_start(server_t *s, srv_kind_t kind, const char *addr, int backlog)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    bool v6 = strchr(addr, ':') != NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof(*a);
    }
    s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0)
        return -1;
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->lfd, (struct sockaddr *)&ss, len) < 0 || listen(s->lfd, backlog) < 0) {
        close(s->lfd);
        s->lfd = -1;
        return -1;
    }
    getsockname(s->lfd, (struct sockaddr *)&ss, &len);
    s->port =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    if (kind != SRV_SILENT)
        loop_fd_add(L, s->lfd, LOOP_READ, accept_fn, s);
    return 0;
}

static void server_stop(server_t *s)
{
    for (size_t i = 0; i < nconns; i++) {
        if (conns[i]->s == s) {
            sconn_close(conns[i]);
            buf_free(&conns[i]->head);
            free(conns[i]);
            conns[i] = conns[--nconns];
            i--;
        }
    }
    if (s->lfd >= 0) {
        loop_fd_del(L, s->lfd);
        close(s->lfd);
    }
    s->lfd = -1;
}

/* ---- the client side ----------------------------------------------------- */

typedef struct result {
    int calls;
    int ok;
    char why[512];
} result_t;

static void on_done(dial_t *nc, int ok, const char *why, void *ud)
{
    (void)nc;
    result_t *r = ud;
    r->calls++;
    r->ok = ok;
    snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

static void spin(int ms)
{
    uint64_t until = mono_ns() + (uint64_t)ms * 1000000u;
    while (mono_ns() < until)
        loop_run_once(L, 5);
}

/* Connects and runs the loop until done; done must run once, never inside
 * dial_start. */
static dial_t *connect_wait(const char *host, uint16_t port, bool tls, const conn_settings_t *co,
                               result_t *r)
{
    memset(r, 0, sizeof(*r));
    dial_target_t t = {.host = host, .port = port, .tls = tls};
    dial_t *nc = dial_start(L, &t, co, on_done, r);
    assert_non_null(nc);
    assert_int_equal(r->calls, 0);
    uint64_t until = mono_ns() + 10ull * 1000000000u;
    while (r->calls == 0 && mono_ns() < until)
        loop_run_once(L, 20);
    assert_int_equal(r->calls, 1);
    return nc;
}

static void expect_ok(dial_t *nc, const result_t *r)
{
    if (r->ok != 0)
        fail_msg("connect failed: %s", r->why);
    (void)nc;
}

/* A successful attempt's connection, moved out; the attempt is freed. */
static transport_t take_ok(dial_t *nc, const result_t *r)
{
    expect_ok(nc, r);
    transport_t io;
    dial_take(nc, &io);
    dial_free(nc);
    return io;
}

static void expect_fail(const result_t *r, const char *substr)
{
    assert_int_equal(r->ok, -1);
    if (!strstr(r->why, substr))
        fail_msg("error '%s' lacks '%s'", r->why, substr);
}

/* Sends msg over io and expects it back (the echo server runs on L). */
static void roundtrip(transport_t *io, const char *msg)
{
    size_t len = strlen(msg), off = 0, got = 0;
    char back[512];
    assert_true(len < sizeof(back));
    uint64_t until = mono_ns() + 5ull * 1000000000u;
    while (off < len && mono_ns() < until) {
        struct iovec iov = {(char *)msg + off, len - off};
        ssize_t w = transport_writev(io, &iov, 1);
        if (w > 0)
            off += (size_t)w;
        else if (w == NETIO_AGAIN)
            loop_run_once(L, 5);
        else
            fail_msg("write: %s", io->error);
    }
    while (got < len && mono_ns() < until) {
        ssize_t n = transport_read(io, back + got, len - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == NETIO_AGAIN)
            loop_run_once(L, 5);
        else
            fail_msg("read: %zd %s", n, io->error);
    }
    assert_int_equal(got, len);
    assert_memory_equal(back, msg, len);
}

static bool str_or_null_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static conn_settings_t opts(void)
{
    conn_settings_t co;
    conn_settings_init(&co);
    return co;
}

/* A port nothing listens on: a bound socket that never listens keeps it so. */
static int refused_port(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* ---- plain TCP and DNS --------------------------------------------------- */

static void test_plain_ipv4(void **state)
{
    (void)state;
    server_t s;
    assert_int_equal(server_start(&s, SRV_ECHO, "127.0.0.1", 16), 0);
    conn_settings_t co = opts();
    result_t r;
    dial_t *nc = connect_wait("127.0.0.1", s.port, false, &co, &r);
    transport_t io = take_ok(nc, &r);
    assert_true(io.fd >= 0);
    assert_null(io.ssl);
    assert_true(io.handshaken);
    assert_int_equal(fcntl(io.fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    assert_int_equal(loop_fd_mask(L, io.fd), 0); /* unregistered */
    roundtrip(&io, "hello, plain");
    transport_close(&io);
    server_stop(&s);
}

static void test_localhost_dns(void **state)
{
    (void)state;
    /* localhost may resolve to ::1 first, where nothing listens: the refusal
     * there falls through to 127.0.0.1. */
    server_t s;
    assert_int_equal(server_start(&s, SRV_ECHO, "127.0.0.1", 16), 0);
    conn_settings_t co = opts();
    result_t r;
    dial_t *nc = connect_wait("localhost", s.port, false, &co, &r);
    transport_t io = take_ok(nc, &r);
    roundtrip(&io, "hello, localhost");
    transport_close(&io);
    server_stop(&s);
}

static void test_ipv6(void **state)
{
    (void)state;
    server_t s;
    if (server_start(&s, SRV_ECHO, "::1", 16) < 0)
        skip();
    conn_settings_t co = opts();
    result_t r;
    dial_t *nc = connect_wait("::1", s.port, false, &co, &r);
    transport_t io = take_ok(nc, &r);
    roundtrip(&io, "hello, v6");
    transport_close(&io);
    server_stop(&s);
}

static void test_refused(void **state)
{
    (void)state;
    uint16_t port;
    int hold = refused_port(&port);
    conn_settings_t co = opts();
    result_t r;
    dial_t *nc = connect_wait("127.0.0.1", port, false, &co, &r);
    char want[64];
    snprintf(want, sizeof(want), "connection refused by 127.0.0.1:%u", port);
    expect_fail(&r, want);
    spin(20);
    assert_int_equal(r.calls, 1);
    dial_free(nc);
    close(hold);
}

static void test_unresolvable(void **state)
{
    (void)state;
    /* A label longer than 63 bytes cannot be put in a DNS query: the
     * resolver refuses it without sending anything. */
    char host[80];
    memset(host, 'a', 70);
    strcpy(host + 70, ".test");
    conn_settings_t co = opts();
    result_t r;
    dial_t *nc = connect_wait(host, 80, false, &co, &r);
    char want[120];
    snprintf(want, sizeof(want), "cannot resolve host '%s': ", host);
    expect_fail(&r, want);
    dial_free(nc);
}

static void test_cancel_during_lookup(void **state)
{
    (void)state;
    conn_settings_t co = opts();
    result_t r = {0};
    for (int i = 0; i < 20; i++) {
        dial_target_t t = {.host = "localhost", .port = 9, .tls = false};
        dial_t *nc = dial_start(L, &t, &co, on_done, &r);
        if (i % 2)
            loop_run_once(L, 0);
        dial_free(nc);
    }
    spin(200); /* the lookup threads finish and free what they own */
    assert_int_equal(r.calls, 0);
}

static void test_timeout_backlog(void **state)
{
    (void)state;
    /* A listener whose accept queue is full drops further SYNs: connect
     * hangs, all on loopback. */
    server_t s;
    assert_int_equal(server_start(&s, SRV_SILENT, "127.0.0.1", 0), 0);
    int fill[4];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (size_t i = 0; i < ARRAY_LEN(fill); i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    spin(50);
    conn_settings_t co = opts();
    co.connect_timeout_ms = 300;
    result_t r;
    uint64_t t0 = mono_ns();
    dial_t *nc = connect_wait("127.0.0.1", s.port, false, &co, &r);
    uint64_t took = (mono_ns() - t0) / 1000000u;
    char want[80];
    snprintf(want, sizeof(want), "timed out after 0.3s connecting to 127.0.0.1:%u", s.port);
    expect_fail(&r, want);
    assert_true(took >= 290 && took < 2000);
    dial_free(nc);
    for (size_t i = 0; i < ARRAY_LEN(fill); i++)
        close(fill[i]);
    server_stop(&s);
}

/* ---- proxy selection ------------------------------------------------------ */

static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                         "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

static void clear_proxy_env(void)
{
    for (size_t i = 0; i < ARRAY_LEN(proxy_vars); i++)
        unsetenv(proxy_vars[i]);
}

static void test_proxy_env(void **state)
{
    (void)state;
    struct {
        const char *env;  /* "name=value;name=value" */
        const char *xopt; /* -x, or NULL */
        bool tls;
        const char *want;
    } cases[] = {
        {"", NULL, false, NULL},
        {"http_proxy=px:1", NULL, false, "px:1"},
        {"HTTP_PROXY=px:1", NULL, false, NULL}, /* as curl: CGI's HTTP_PROXY is ignored */
        {"http_proxy=px:1", NULL, true, NULL},
        {"https_proxy=ps:2", NULL, true, "ps:2"},
        {"HTTPS_PROXY=ps:2", NULL, true, "ps:2"},
        {"https_proxy=ps:2;HTTPS_PROXY=PS:3", NULL, true, "ps:2"},
        {"https_proxy=ps:2", NULL, false, NULL},
        {"all_proxy=pa:4", NULL, false, "pa:4"},
        {"ALL_PROXY=pa:4", NULL, true, "pa:4"},
        {"http_proxy=px:1;all_proxy=pa:4", NULL, false, "px:1"},
        {"http_proxy=", NULL, false, NULL},
        {"http_proxy=px:1", "cli:5", false, "cli:5"},
        {"http_proxy=px:1", "", false, NULL}, /* -x "": no proxy at all */
        {"http_proxy=px:1;no_proxy=target.example", NULL, false, NULL},
        {"http_proxy=px:1;NO_PROXY=example", NULL, false, NULL},
        {"http_proxy=px:1;no_proxy=*", NULL, false, NULL},
        {"http_proxy=px:1;no_proxy=other", NULL, false, "px:1"},
        {NULL, "cli:5", false, NULL}, /* with no_proxy=* set below: -x obeys it, as curl */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        clear_proxy_env();
        if (cases[i].env) {
            char e[200];
            snprintf(e, sizeof(e), "%s", cases[i].env);
            for (char *save, *kv = strtok_r(e, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(kv, '=');
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            }
        } else {
            setenv("no_proxy", "*", 1);
        }
        conn_settings_t co = opts();
        co.proxy = cases[i].xopt;
        dial_target_t t = {.host = "target.example", .port = 80, .tls = cases[i].tls};
        const char *got = dial_proxy_for(&t, &co);
        if (!str_or_null_eq(got, cases[i].want))
            fail_msg("case %zu (%s): got %s, wanted %s", i, cases[i].env ? cases[i].env : "-",
                     got ? got : "NULL", cases[i].want ? cases[i].want : "NULL");
    }
    clear_proxy_env();
}

static void test_no_proxy_match(void **state)
{
    (void)state;
    struct {
        const char *host, *list;
        bool bypass;
    } cases[] = {
        {"example.com", "example.com", true},
        {"www.example.com", "example.com", true},
        {"nonexample.com", "example.com", false},
        {"example.com.org", "example.com", false},
        {"example.com", ".example.com", true},
        {"www.example.com", ".example.com", true},
        {"EXAMPLE.com", "example.COM", true},
        {"example.com.", "example.com", true},
        {"example.com", "example.com.", true},
        {"example.com", "www.example.com", false},
        {"b.c", " a , b.c ,d", true},
        {"x.y", "a,,b", false},
        {"anything", "*", true},
        {"anything", "a, *", true},
        {"localhost", "127.0.0.1", false}, /* nothing is resolved */
        {"127.0.0.1", "localhost", false},
        {"localhost", "localhost", true},
        {"127.0.0.1", "127.0.0.1", true},
        {"127.0.0.2", "127.0.0.1", false},
        {"127.0.0.2", "127.0.0.0/8", true},
        {"10.1.2.3", "10.0.0.0/8", true},
        {"11.1.2.3", "10.0.0.0/8", false},
        {"192.168.1.9", "192.168.1.0/24", true},
        {"192.168.2.9", "192.168.1.0/24", false},
        {"10.0.0.1", "10.0.0.0/33", false},
        {"::1", "::1", true},
        {"::1", "[::1]", true},
        {"::2", "::1", false},
        {"fe80::1", "fe80::/10", true},
        {"fec0::1", "fe80::/10", false},
        {"::1", "127.0.0.1", false},
        {"example.com", "example.com:80", false}, /* curl: no ports in no_proxy */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        clear_proxy_env();
        setenv("http_proxy", "proxy:3128", 1);
        setenv("no_proxy", cases[i].list, 1);
        conn_settings_t co = opts();
        dial_target_t t = {.host = cases[i].host, .port = 80, .tls = false};
        bool bypass = dial_proxy_for(&t, &co) == NULL;
        if (bypass != cases[i].bypass)
            fail_msg("host '%s' no_proxy '%s': bypass %d, wanted %d", cases[i].host, cases[i].list,
                     bypass, cases[i].bypass);
    }
    clear_proxy_env();
}

/* ---- the CONNECT tunnel --------------------------------------------------- */

static void test_proxy_tunnel(void **state)
{
    (void)state;
    server_t echo, px;
    assert_int_equal(server_start(&echo, SRV_ECHO, "127.0.0.1", 16), 0);
    assert_int_equal(server_start(&px, SRV_PROXY, "127.0.0.1", 16), 0);
    px.mode = PX_OK;
    char url[100];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
    conn_settings_t co = opts();
    co.proxy = url;
    result_t r;
    dial_t *nc = connect_wait("127.0.0.1", echo.port, false, &co, &r);
    transport_t io = take_ok(nc, &r);
    char line[100];
    snprintf(line, sizeof(line), "CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n",
             echo.port, echo.port);
    assert_true(strncmp(px.req, line, strlen(line)) == 0);
    assert_null(strstr(px.req, "Proxy-Authorization"));
    roundtrip(&io, "through the tunnel");
    transport_close(&io);
    server_stop(&px);
    server_stop(&echo);
}

static void test_proxy_env_and_auth(void **state)
{
    (void)state;
    server_t echo, px;
    assert_int_equal(server_start(&echo, SRV_ECHO, "127.0.0.1", 16), 0);
    assert_int_equal(server_start(&px, SRV_PROXY, "127.0.0.1", 16), 0);
    px.mode = PX_OK_EXTRA;
    char url[100];
    /* bare host:port, percent-encoded password "s3cr:t" */
    snprintf(url, sizeof(url), "user:s3cr%%3At@127.0.0.1:%u/", px.port);
    clear_proxy_env();
    setenv("http_proxy", url, 1);

    /* -v lines must not show the password */
    char logpath[128];
    snprintf(logpath, sizeof(logpath), "%s/stderr.log", tmpdir);
    int logfd = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    int saved = dup(2);
    dup2(logfd, 2);
    diag_level = 1;

    conn_settings_t co = opts();
    result_t r;
    dial_t *nc = connect_wait("localhost", echo.port, false, &co, &r);

    diag_level = 0;
    dup2(saved, 2);
    close(saved);
    close(logfd);
    clear_proxy_env();

    transport_t io = take_ok(nc, &r);
    /* base64("user:s3cr:t") */
    assert_non_null(strstr(px.req, "\r\nProxy-Authorization: Basic dXNlcjpzM2NyOnQ=\r\n"));
    assert_non_null(strstr(px.req, "CONNECT localhost:"));
    /* The bytes the proxy sent right after its head are the stream's. */
    char b[16];
    ssize_t n = NETIO_AGAIN;
    for (int i = 0; i < 200 && n == NETIO_AGAIN; i++) {
        n = transport_read(&io, b, 5);
        if (n == NETIO_AGAIN)
            loop_run_once(L, 5);
    }
    assert_int_equal(n, 5);
    assert_memory_equal(b, "hello", 5);
    roundtrip(&io, "after extra bytes");
    transport_close(&io);

    FILE *f = fopen(logpath, "r");
    char log[8192];
    size_t ln = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[ln] = '\0';
    assert_non_null(strstr(log, "* via proxy 127.0.0.1:"));
    assert_non_null(strstr(log, "* connecting to proxy 127.0.0.1:"));
    assert_null(strstr(log, "s3cr"));
    assert_null(strstr(log, "dXNlcjpzM2NyOnQ"));
    server_stop(&px);
    server_stop(&echo);
}

static void test_proxy_refusals(void **state)
{
    (void)state;
    server_t px;
    assert_int_equal(server_start(&px, SRV_PROXY, "127.0.0.1", 16), 0);
    char url[100];
    snprintf(url, sizeof(url), "127.0.0.1:%u", px.port);
    conn_settings_t co = opts();
    co.proxy = url;
    co.connect_timeout_ms = 400;
    result_t r;
    char want[160];

    px.mode = PX_403;
    dial_t *nc = connect_wait("example.test", 443, false, &co, &r);
    snprintf(want, sizeof(want),
             "proxy 127.0.0.1:%u answered HTTP 403 Forbidden to CONNECT example.test:443", px.port);
    expect_fail(&r, want);
    dial_free(nc);

    px.mode = PX_BIG;
    nc = connect_wait("example.test", 443, false, &co, &r);
    expect_fail(&r, "answer to CONNECT larger than 16384 bytes");
    dial_free(nc);

    px.mode = PX_SILENT;
    nc = connect_wait("example.test", 443, true, &co, &r);
    expect_fail(&r, "timed out after 0.4s connecting to example.test:443 (waiting for proxy)");
    dial_free(nc);

    /* A proxy that is not there */
    uint16_t dead;
    int hold = refused_port(&dead);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", dead);
    nc = connect_wait("example.test", 80, false, &co, &r);
    snprintf(want, sizeof(want), "connection refused by proxy 127.0.0.1:%u", dead);
    expect_fail(&r, want);
    dial_free(nc);
    close(hold);

    /* Unusable proxy URLs fail through done, never inside dial_start. */
    struct {
        const char *url, *why;
    } bad[] = {
        {"https://user:pw@127.0.0.1:3128", "unsupported proxy scheme 'https://'"},
        {"socks5://127.0.0.1:1080", "unsupported proxy scheme 'socks5://'"},
        {"http://user:pw@:3128", "bad proxy URL"},
        {"http://127.0.0.1:99999", "bad proxy URL"},
        {"http://127.0.0.1:", "bad proxy URL"},
        {"http://[::1", "bad proxy URL"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        co.proxy = bad[i].url;
        nc = connect_wait("example.test", 80, false, &co, &r);
        expect_fail(&r, bad[i].why);
        assert_null(strstr(r.why, "pw"));
        dial_free(nc);
    }
    server_stop(&px);
}

/* -x's syntax, checked when the option is read: libcurl's schemes pass
 * (dial refuses all but http later, when it must use one). */
static void test_proxy_syntax(void **state)
{
    (void)state;
    char why[160];
    const char *good[] = {"127.0.0.1:3128", "http://u:p@h:1/", "HTTPS://h", "socks5h://[::1]:1080",
                          "socks4a://h:1", "http://u@h"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        assert_int_equal(dial_proxy_syntax(good[i], why, sizeof(why)), 0);
    const char *badurl[] = {"ftp://u:pw@h:1", "http://u:pw@:3128", "http://h:99999", "http://h:",
                            "http://[::1", "socks9://h"};
    for (size_t i = 0; i < ARRAY_LEN(badurl); i++) {
        assert_int_equal(dial_proxy_syntax(badurl[i], why, sizeof(why)), -1);
        assert_null(strstr(why, "pw"));
        assert_true(why[0] != '\0');
    }
}

/* ---- TLS -------------------------------------------------------------------- */

static void test_tls(void **state)
{
    (void)state;
    server_t s;
    assert_int_equal(server_start(&s, SRV_TLS_ECHO, "127.0.0.1", 16), 0);
    s.ctx = good_sctx;
    conn_settings_t co = opts();
    result_t r;
    transport_t io;

    /* --cacert: verified by name and by address */
    co.cacert = good_cert;
    const char *hosts[] = {"localhost", "127.0.0.1"};
    for (size_t i = 0; i < ARRAY_LEN(hosts); i++) {
        dial_t *nc = connect_wait(hosts[i], s.port, true, &co, &r);
        io = take_ok(nc, &r);
        assert_non_null(io.ssl);
        assert_true(io.handshaken);
        roundtrip(&io, "hello, tls");
        transport_close(&io);
    }

    /* the system store does not know our certificate */
    co.cacert = NULL;
    dial_t *nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_fail(&r, "TLS: certificate verify failed: self-signed certificate (use --cacert FILE "
                    "or -k)");
    dial_free(nc);

    /* -k */
    co.insecure = true;
    nc = connect_wait("localhost", s.port, true, &co, &r);
    io = take_ok(nc, &r);
    roundtrip(&io, "hello, insecure");
    transport_close(&io);
    co.insecure = false;

    /* a name the certificate is not for */
    s.ctx = other_sctx;
    co.cacert = other_cert;
    nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_fail(&r, "TLS: host name mismatch: certificate is not for 'localhost'");
    dial_free(nc);
    server_stop(&s);

    /* an expired certificate, trusted: no advice to trust it */
    assert_int_equal(server_start(&s, SRV_TLS_ECHO, "127.0.0.1", 16), 0);
    s.ctx = expired_sctx;
    co.cacert = expired_cert;
    nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_fail(&r, "TLS: certificate verify failed: certificate has expired");
    assert_null(strstr(r.why, "--cacert"));
    dial_free(nc);
    server_stop(&s);

    /* an address the certificate is not for */
    if (server_start(&s, SRV_TLS_ECHO, "127.0.0.2", 16) == 0) {
        s.ctx = good_sctx;
        co.cacert = good_cert;
        nc = connect_wait("127.0.0.2", s.port, true, &co, &r);
        expect_fail(&r, "TLS: host name mismatch: certificate is not for '127.0.0.2'");
        dial_free(nc);
        server_stop(&s);
    }
}

static void test_verify_hint(void **state)
{
    (void)state;
    static const long trust[] = {
        X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,       X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
        X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,   X509_V_ERR_CERT_UNTRUSTED};
    static const long other[] = {X509_V_OK,
                                 X509_V_ERR_CERT_HAS_EXPIRED,
                                 X509_V_ERR_CERT_NOT_YET_VALID,
                                 X509_V_ERR_CERT_REVOKED,
                                 X509_V_ERR_HOSTNAME_MISMATCH,
                                 X509_V_ERR_CERT_SIGNATURE_FAILURE};
    for (size_t i = 0; i < ARRAY_LEN(trust); i++)
        assert_string_equal(transport_verify_hint(trust[i]), " (use --cacert FILE or -k)");
    for (size_t i = 0; i < ARRAY_LEN(other); i++)
        assert_string_equal(transport_verify_hint(other[i]), "");
}

static void test_tls_options(void **state)
{
    (void)state;
    server_t s;
    assert_int_equal(server_start(&s, SRV_TLS_ECHO, "127.0.0.1", 16), 0);
    s.ctx = good_sctx;
    conn_settings_t co = opts();
    result_t r;

    co.cacert = "/nonexistent/ca.pem";
    dial_t *nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_fail(&r, "--cacert /nonexistent/ca.pem: ");
    dial_free(nc);

    /* a client certificate the server does not ask for still loads */
    co.cacert = good_cert;
    co.cert = other_cert;
    co.key = other_key;
    nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_ok(nc, &r);
    dial_free(nc); /* taken or not, free closes it */

    co.key = good_key; /* not other_cert's key */
    nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_fail(&r, "does not match the certificate");
    dial_free(nc);

    co.cert = NULL;
    nc = connect_wait("localhost", s.port, true, &co, &r);
    expect_fail(&r, "needs --cert");
    dial_free(nc);
    server_stop(&s);
}

static void test_tls_timeout(void **state)
{
    (void)state;
    server_t s; /* accepts (in the kernel) but never answers the ClientHello */
    assert_int_equal(server_start(&s, SRV_SILENT, "127.0.0.1", 16), 0);
    conn_settings_t co = opts();
    co.insecure = true;
    co.connect_timeout_ms = 250;
    result_t r;
    dial_t *nc = connect_wait("127.0.0.1", s.port, true, &co, &r);
    char want[100];
    snprintf(want, sizeof(want), "connecting to 127.0.0.1:%u (TLS handshake)", s.port);
    expect_fail(&r, want);
    expect_fail(&r, "timed out after 0.");
    dial_free(nc);
    server_stop(&s);
}

static void test_cancel_midway(void **state)
{
    (void)state;
    /* dial_free in the TLS handshake and while waiting for a proxy:
     * done never runs, the socket is closed, nothing leaks. */
    server_t s, px;
    assert_int_equal(server_start(&s, SRV_SILENT, "127.0.0.1", 16), 0);
    assert_int_equal(server_start(&px, SRV_PROXY, "127.0.0.1", 16), 0);
    px.mode = PX_SILENT;
    char url[100];
    snprintf(url, sizeof(url), "127.0.0.1:%u", px.port);
    conn_settings_t co = opts();
    co.insecure = true;
    result_t r = {0};
    for (int i = 0; i < 2; i++) {
        co.proxy = i ? url : NULL;
        dial_target_t t = {.host = "127.0.0.1", .port = s.port, .tls = true};
        dial_t *nc = dial_start(L, &t, &co, on_done, &r);
        spin(50);
        dial_free(nc);
    }
    spin(20);
    assert_int_equal(r.calls, 0);
    server_stop(&px);
    server_stop(&s);
}

static void test_tls_through_proxy(void **state)
{
    (void)state;
    server_t s, px;
    assert_int_equal(server_start(&s, SRV_TLS_ECHO, "127.0.0.1", 16), 0);
    s.ctx = good_sctx;
    assert_int_equal(server_start(&px, SRV_PROXY, "127.0.0.1", 16), 0);
    px.mode = PX_OK;
    char url[100];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
    conn_settings_t co = opts();
    co.cacert = good_cert;
    co.proxy = url;
    result_t r;
    /* verified against the target's name, not the proxy's address */
    dial_t *nc = connect_wait("localhost", s.port, true, &co, &r);
    transport_t io = take_ok(nc, &r);
    roundtrip(&io, "tls in a tunnel");
    transport_close(&io);
    server_stop(&px);
    server_stop(&s);
}

/* ---- tinyproxy, when installed -------------------------------------------- */

static void test_tinyproxy(void **state)
{
    (void)state;
    const char *bin = "/usr/bin/tinyproxy";
    if (access(bin, X_OK) != 0)
        skip();
    uint16_t pport;
    int hold = refused_port(&pport); /* a free port; released just before tinyproxy binds it */
    close(hold);
    char conf[160];
    snprintf(conf, sizeof(conf), "%s/tinyproxy.conf", tmpdir);
    FILE *f = fopen(conf, "w");
    /* No ConnectPort line: CONNECT to any port. */
    fprintf(f,
            "Port %u\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 8\n"
            "LogLevel Error\n",
            pport);
    if (geteuid() == 0)
        fprintf(f, "User nobody\nGroup nogroup\n");
    fclose(f);
    chmod(tmpdir, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 1);
        dup2(nul, 2);
        execl(bin, bin, "-d", "-c", conf, (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    /* wait until it listens */
    bool up = false;
    for (int i = 0; i < 100 && !up; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(pport)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        if (!up)
            usleep(30000);
    }
    if (!up) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fail_msg("tinyproxy did not start on port %u", pport);
    }

    server_t echo, tls;
    assert_int_equal(server_start(&echo, SRV_ECHO, "127.0.0.1", 16), 0);
    assert_int_equal(server_start(&tls, SRV_TLS_ECHO, "127.0.0.1", 16), 0);
    tls.ctx = good_sctx;
    char url[100];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", pport);
    conn_settings_t co = opts();
    co.proxy = url;
    co.cacert = good_cert;
    result_t r;
    transport_t io;

    dial_t *nc = connect_wait("127.0.0.1", echo.port, false, &co, &r);
    io = take_ok(nc, &r);
    roundtrip(&io, "plain via tinyproxy");
    transport_close(&io);

    nc = connect_wait("127.0.0.1", tls.port, true, &co, &r);
    io = take_ok(nc, &r);
    roundtrip(&io, "tls via tinyproxy");
    transport_close(&io);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    server_stop(&tls);
    server_stop(&echo);
}

/* ---- fixtures ---------------------------------------------------------------- */

static int make_cert(const char *cert, const char *key, const char *cn, const char *san)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -subj '/CN=%s' -addext 'subjectAltName=%s' -days 2 "
             ">/dev/null 2>&1",
             key, cert, cn, san);
    return system(cmd) == 0 ? 0 : -1;
}

/* Self-signed for localhost, its validity over a day ago (openssl req takes
 * no negative -days; x509 -req does). */
static int make_expired_cert(const char *cert, const char *key)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null | "
             "openssl x509 -req -signkey '%s' -days -1 -copy_extensions copy -out '%s' "
             ">/dev/null 2>&1",
             key, key, cert);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    clear_proxy_env();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/evcat-netconn-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(good_cert, sizeof(good_cert), "%s/good.pem", tmpdir);
    snprintf(good_key, sizeof(good_key), "%s/good.key", tmpdir);
    snprintf(other_cert, sizeof(other_cert), "%s/other.pem", tmpdir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", tmpdir);
    snprintf(expired_cert, sizeof(expired_cert), "%s/expired.pem", tmpdir);
    snprintf(expired_key, sizeof(expired_key), "%s/expired.key", tmpdir);
    if (make_cert(good_cert, good_key, "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1") < 0 ||
        make_cert(other_cert, other_key, "other.example", "DNS:other.example") < 0 ||
        make_expired_cert(expired_cert, expired_key) < 0)
        return -1;
    char err[200];
    good_sctx = transport_tls_server_ctx(good_cert, good_key, err, sizeof(err));
    other_sctx = transport_tls_server_ctx(other_cert, other_key, err, sizeof(err));
    expired_sctx = transport_tls_server_ctx(expired_cert, expired_key, err, sizeof(err));
    if (!good_sctx || !other_sctx || !expired_sctx)
        return -1;
    L = loop_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    loop_free(L);
    SSL_CTX_free(good_sctx);
    SSL_CTX_free(other_sctx);
    SSL_CTX_free(expired_sctx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ipv4),
        cmocka_unit_test(test_localhost_dns),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_unresolvable),
        cmocka_unit_test(test_cancel_during_lookup),
        cmocka_unit_test(test_timeout_backlog),
        cmocka_unit_test(test_proxy_env),
        cmocka_unit_test(test_no_proxy_match),
        cmocka_unit_test(test_proxy_tunnel),
        cmocka_unit_test(test_proxy_env_and_auth),
        cmocka_unit_test(test_proxy_refusals),
        cmocka_unit_test(test_proxy_syntax),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_verify_hint),
        cmocka_unit_test(test_tls_options),
        cmocka_unit_test(test_tls_timeout),
        cmocka_unit_test(test_cancel_midway),
        cmocka_unit_test(test_tls_through_proxy),
        cmocka_unit_test(test_tinyproxy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
