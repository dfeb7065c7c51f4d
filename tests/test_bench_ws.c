/* Unit tests for src/bench/bench_ws.c: the WebSocket driver run on a real loop,
 * by hand (a worker built here, no threads), against evcat's own server in
 * the same loop (echo and subscribe, plain and TLS) and against a scripted
 * server that answers the handshake and then sends chosen bytes (pings,
 * closes, violations, a 101 in pieces, frames in the 101's packet). Each
 * test checks the accounting: every connection ends exactly once, errors
 * by kind.
 *
 * EVCAT_BENCH_WS_SCALE=N (with EVCAT_BENCH_WS_TARGET=host:port of a running
 * `evcat serve`) adds a measurement: N echo connections, RSS per
 * connection and CPU per echoed message, printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bench_worker.h"
#include "transport.h"
#include "serve.h"
#include "buf.h"
#include "clock.h"
#include "ws_handshake.h"
#include "ws_frame.h"
#include "ws_deflate.h"
#include "stamp.h"

/* ---- the engine's side, by hand: a worker on the test's loop, with the
 * coordinator's control block owned by the test ---- */

struct h {
    loop_t *l;
    bench_config_t cfg;
    bench_control_t ctl;
    bench_worker_t w;
    conn_settings_t co;
    const char *on_open[1];
    char host_header[80];
    char target[64];
};

static void h_init(struct h *h, loop_t *l, bench_kind_t kind, const struct sockaddr_storage *addr,
                   socklen_t alen, const char *target)
{
    memset(h, 0, sizeof(*h));
    bench_control_set_phase(&h->ctl, BENCH_MEASURE);
    h->l = l;
    h->co.connect_timeout_ms = 2000;
    snprintf(h->target, sizeof(h->target), "%s", target);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
    snprintf(h->host_header, sizeof(h->host_header), "%s:%u", ip, ntohs(sin->sin_port));
    bench_config_t *c = &h->cfg;
    c->kind = kind;
    c->url = "ws://test";
    c->host = "127.0.0.1";
    c->target = h->target;
    c->host_header = h->host_header;
    c->addr = *addr;
    c->addrlen = alen;
    c->connections = 1;
    c->threads = 1;
    c->message_rate = 100;
    c->size = 64;
    c->latency_field = "ts_ns";
    c->max_message = 16u << 20;
    c->co = &h->co;
    c->on_open = h->on_open;
    c->ws_req.host_header = h->host_header;
    c->ws_req.target = h->target;
    h->w.cfg = c;
    h->w.drv_ops = &bench_ws_driver;
    h->w.ctl = &h->ctl;
    h->w.loop = l;
    hist_init(&h->w.latency);
    hist_init(&h->w.connect);
}

static int h_driver_init(struct h *h)
{
    char err[200] = "";
    int rc = bench_ws_driver.init(&h->w, err, sizeof(err));
    if (rc < 0)
        print_message("init: %s\n", err);
    return rc;
}

static void h_start(struct h *h, uint64_t first, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        bench_worker_start_conn(&h->w, first + i);
}

/* Runs the loop for ms, or until done(h) holds. */
static void h_run(struct h *h, uint64_t ms, bool (*done)(struct h *))
{
    uint64_t end = mono_ns() + ms * 1000000u;
    while (mono_ns() < end && !(done && done(h))) {
        loop_run_once(h->l, 5);
    }
}

static bool all_settled(struct h *h)
{
    return h->w.c.established + h->w.c.failed >= h->w.c.attempted;
}

/* Every message sent has come back: closing now loses none in flight
 * (evcat serve, like wslay, sends its close before echoes still queued). */
static bool all_echoed(struct h *h)
{
    return h->w.c.received == h->w.c.sent;
}

static bool none_live(struct h *h)
{
    return h->w.live == 0;
}

/* The close phase as the engine runs it: close_all, a grace, abort_all. */
static void h_close(struct h *h, uint64_t grace_ms)
{
    bench_control_set_phase(&h->ctl, BENCH_CLOSE);
    h->w.closing = true;
    bench_ws_driver.close_all(&h->w);
    h_run(h, grace_ms, none_live);
    if (h->w.live)
        bench_ws_driver.abort_all(&h->w);
    assert_int_equal(h->w.live, 0);
    const bench_counters_t *c = &h->w.c;
    /* every connection ended exactly once */
    assert_int_equal(c->attempted, c->failed + c->dropped + c->ended);
}

static void h_free(struct h *h)
{
    bench_ws_driver.free(&h->w);
    hist_free(&h->w.latency);
    hist_free(&h->w.connect);
}

static uint64_t errors_total(const struct h *h)
{
    uint64_t n = 0;
    for (int k = 0; k < BERR_COUNT; k++)
        n += h->w.c.errors[k];
    return n;
}

/* ---- evcat's server in the same loop ---- */

struct srv {
    serve_t *s;
    struct sockaddr_storage addr;
    socklen_t alen;
};

static bool srv_compress; /* the next srv_start accepts permessage-deflate */

static void srv_start(loop_t *l, struct srv *sv, uint64_t tick_ms, const char *cert,
                      const char *key)
{
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    cfg.compress = srv_compress;
    serve_parse_listen("127.0.0.1:0", &cfg.addr, &cfg.addr_len);
    cfg.tick_ms = tick_ms;
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    cfg.max_message = 1u << 20;
    char err[200];
    assert_int_equal(serve_start(l, &cfg, &sv->s, err, sizeof(err)), 0);
    char a[80];
    serve_local_addr(sv->s, a, sizeof(a));
    assert_int_equal(serve_parse_listen(a, &sv->addr, &sv->alen), 0);
}

static void srv_free(loop_t *l, struct srv *sv)
{
    (void)l;
    serve_free(sv->s); /* closes what is left */
}

/* ---- echo and subscribe against evcat serve ---- */

static void echo_run(bool binary, size_t size, double rate, int conns, uint64_t ms)
{
    loop_t *l = loop_new();
    struct srv sv;
    srv_start(l, &sv, 0, NULL, NULL);
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &sv.addr, sv.alen, "/echo");
    h.cfg.binary = binary;
    h.cfg.size = size;
    h.cfg.message_rate = rate;
    h.on_open[0] = "hello";
    h.cfg.non_open = 1;
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 100, (uint64_t)conns);
    h_run(&h, 3000, all_settled);
    assert_int_equal(h.w.c.established, conns);
    assert_true(hist_count(&h.w.connect) == (uint64_t)conns);
    h_run(&h, ms, NULL);
    h_run(&h, 2000, all_echoed);
    h_close(&h, 2000);
    const bench_counters_t *c = &h.w.c;
    print_message("echo %s size %zu: sent %llu received %llu latency p50 %.3f ms max %.3f ms\n",
                  binary ? "binary" : "text", size, (unsigned long long)c->sent,
                  (unsigned long long)c->received, hist_percentile(&h.w.latency, 50) / 1e6,
                  hist_max(&h.w.latency) / 1e6);
    assert_int_equal(c->ended, conns);
    assert_int_equal(c->dropped, 0);
    assert_int_equal(errors_total(&h), 0);
    assert_true(c->sent > (uint64_t)conns);
    /* everything sent came back before the server's close answered ours */
    assert_int_equal(c->received, c->sent);
    assert_int_equal(c->bytes_received, c->bytes_sent);
    /* latency for every echo but the on_open greetings */
    assert_int_equal(hist_count(&h.w.latency), c->sent - (uint64_t)conns);
    h_free(&h);
    srv_free(l, &sv);
    loop_free(l);
}

static void test_echo_text(void **state)
{
    (void)state;
    echo_run(false, 64, 200, 20, 300);
}

static void test_echo_binary_large(void **state)
{
    (void)state;
    /* 100 KB messages: frames over 64 KiB, spanning reads and writes */
    echo_run(true, 100000, 30, 4, 300);
}

static void test_subscribe(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct srv sv;
    srv_start(l, &sv, 10, NULL, NULL);
    struct h h;
    h_init(&h, l, BENCH_WS_SUBSCRIBE, &sv.addr, sv.alen, "/ws");
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 5);
    h_run(&h, 3000, all_settled);
    assert_int_equal(h.w.c.established, 5);
    h_run(&h, 300, NULL);
    /* Every message received while measuring has its sample; messages
     * still in the sockets when the close phase begins are received then,
     * without one (latency is sampled in MEASURE only). */
    uint64_t measured = h.w.c.received;
    h_close(&h, 2000);
    const bench_counters_t *c = &h.w.c;
    assert_true(measured >= 5 * 10);
    assert_int_equal(c->sent, 0);
    assert_int_equal(hist_count(&h.w.latency), measured);
    assert_int_equal(errors_total(&h), 0);
    assert_int_equal(c->ended, 5);
    h_free(&h);
    srv_free(l, &sv);
    loop_free(l);
}

/* ---- TLS ---- */

static void make_cert(const char *cert_path, const char *key_path)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static void test_tls_echo(void **state)
{
    (void)state;
    char dir[] = "/tmp/evcat_bench_ws_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    make_cert(cert, key);
    loop_t *l = loop_new();
    struct srv sv;
    srv_start(l, &sv, 0, cert, key);
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &sv.addr, sv.alen, "/echo");
    char err[200];
    h.cfg.tls = true;
    h.cfg.ssl_ctx = transport_tls_client_ctx(NULL, NULL, NULL, true, err, sizeof(err));
    assert_non_null(h.cfg.ssl_ctx);
    h.cfg.size = 3000;
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 5);
    h_run(&h, 3000, all_settled);
    assert_int_equal(h.w.c.established, 5);
    h_run(&h, 300, NULL);
    h_run(&h, 2000, all_echoed);
    h_close(&h, 2000);
    const bench_counters_t *c = &h.w.c;
    assert_true(c->sent >= 5 * 10);
    assert_int_equal(c->received, c->sent);
    assert_int_equal(hist_count(&h.w.latency), c->received);
    assert_int_equal(errors_total(&h), 0);
    assert_int_equal(c->ended, 5);
    h_free(&h);
    SSL_CTX_free(h.cfg.ssl_ctx);

    /* a TLS client against a plain server: a TLS error, not an established connection */
    struct srv plain;
    srv_start(l, &plain, 0, NULL, NULL);
    h_init(&h, l, BENCH_WS_ECHO, &plain.addr, plain.alen, "/echo");
    h.cfg.tls = true;
    h.cfg.ssl_ctx = transport_tls_client_ctx(NULL, NULL, NULL, true, err, sizeof(err));
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 2);
    h_run(&h, 3000, all_settled);
    assert_int_equal(h.w.c.failed, 2);
    assert_int_equal(h.w.c.errors[BERR_TLS], 2);
    h_close(&h, 100);
    h_free(&h);
    SSL_CTX_free(h.cfg.ssl_ctx);
    srv_free(l, &plain);
    srv_free(l, &sv);
    loop_free(l);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

/* ---- failures before the 101 ---- */

static int listen_socket(struct sockaddr_storage *ss, socklen_t *len, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof(*sin);
    assert_int_equal(bind(fd, (struct sockaddr *)ss, *len), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)ss, len), 0);
    return fd;
}

static void test_refused(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = listen_socket(&ss, &len, 1);
    close(fd); /* nothing listens there now */
    loop_t *l = loop_new();
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &ss, len, "/echo");
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 3);
    h_run(&h, 2000, all_settled);
    assert_int_equal(h.w.c.failed, 3);
    assert_int_equal(h.w.c.errors[BERR_REFUSED], 3);
    assert_int_equal(h.w.live, 0);
    h_close(&h, 100);
    h_free(&h);
    loop_free(l);
}

/* Accepted by the kernel, never answered: the handshake times out; at
 * close_all, attempts still connecting simply end. */
static void test_connect_timeout_and_close_attempts(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    int lfd = listen_socket(&ss, &len, 64);
    loop_t *l = loop_new();
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &ss, len, "/echo");
    h.co.connect_timeout_ms = 100;
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 3);
    uint64_t t0 = mono_ns();
    h_run(&h, 2000, all_settled);
    assert_true(mono_ns() - t0 >= 90000000u);
    assert_int_equal(h.w.c.failed, 3);
    assert_int_equal(h.w.c.errors[BERR_CONNECT_TIMEOUT], 3);
    h_free(&h);

    h_init(&h, l, BENCH_WS_ECHO, &ss, len, "/echo");
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 4);
    h_run(&h, 100, NULL);
    assert_int_equal(h.w.live, 4);
    h_close(&h, 100);
    assert_int_equal(h.w.c.ended, 4);
    assert_int_equal(h.w.c.failed, 0);
    assert_int_equal(errors_total(&h), 0);
    h_free(&h);
    close(lfd);
    loop_free(l);
}

static void test_not_101(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct srv sv;
    srv_start(l, &sv, 0, NULL, NULL);
    static const char *const targets[] = {"/nope", "/sse"};
    for (size_t i = 0; i < ARRAY_LEN(targets); i++) {
        struct h h;
        h_init(&h, l, BENCH_WS_SUBSCRIBE, &sv.addr, sv.alen, targets[i]);
        assert_int_equal(h_driver_init(&h), 0);
        h_start(&h, 0, 2);
        h_run(&h, 3000, all_settled);
        assert_int_equal(h.w.c.failed, 2);
        assert_int_equal(h.w.c.errors[BERR_HANDSHAKE], 2);
        h_close(&h, 100);
        h_free(&h);
    }
    srv_free(l, &sv);
    loop_free(l);
}

/* ---- a scripted server ---- */

struct script {
    loop_t *l;
    int lfd, cfd;
    struct sockaddr_storage addr;
    socklen_t alen;
    buf_t in;        /* what the client sent after its head */
    bool upgraded;
    buf_t after;     /* bytes to send right after the 101, in the same write */
    bool split_head; /* the 101 in two writes, 50 ms apart */
    bool eof_after;  /* close after sending */
    bool answer_close; /* answer the client's close frame with a close */
    bool deaf;         /* stop reading after the 101 */
    const char *ext;   /* the 101's Sec-WebSocket-Extensions, or NULL */
    buf_t rest;      /* the second part of a split head */
    loop_timer_t timer;
    int conns;
};

static void sc_write(struct script *s, const void *p, size_t n)
{
    (void)write_all(s->cfd, p, n); /* the client may be gone already */
}

static void sc_second(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    struct script *s = ud;
    sc_write(s, s->rest.p, s->rest.len);
    if (s->after.len)
        sc_write(s, s->after.p, s->after.len);
    if (s->eof_after) {
        loop_fd_del(s->l, s->cfd);
        close(s->cfd);
        s->cfd = -1;
    }
}

/* The client's frames so far: "<opcode>:<payload>|" each (payload of a
 * close: its code then reason). */
static void client_frames(const buf_t *in, buf_t *out)
{
    buf_init(out);
    size_t off = 0;
    const uint8_t *p = (const uint8_t *)in->p;
    while (off + 6 <= in->len) {
        uint8_t b1 = p[off + 1];
        assert_true(b1 & 0x80); /* a client masks */
        uint64_t len = b1 & 0x7f;
        size_t h = 2;
        if (len == 126) {
            len = (uint64_t)p[off + 2] << 8 | p[off + 3];
            h = 4;
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[off + 2 + i];
            h = 10;
        }
        if (off + h + 4 + len > in->len)
            break;
        uint32_t mask;
        memcpy(&mask, p + off + h, 4);
        uint8_t *pl = malloc(len + 1);
        memcpy(pl, p + off + h + 4, len);
        wsf_mask(pl, len, mask, 0);
        unsigned op = p[off] & 0x0f;
        if (op == WSF_CLOSE && len >= 2)
            buf_printf(out, "%u:%u%.*s|", op, pl[0] << 8 | pl[1], (int)len - 2, pl + 2);
        else
            buf_printf(out, "%u:%.*s|", op, (int)len, pl);
        free(pl);
        off += h + 4 + len;
    }
}

static void sc_on_client(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)events;
    struct script *s = ud;
    char b[4096];
    ssize_t r = read(fd, b, sizeof(b));
    if (r <= 0) {
        loop_fd_del(l, fd);
        close(fd);
        s->cfd = -1;
        return;
    }
    if (s->upgraded) {
        buf_append(&s->in, b, (size_t)r);
        if (s->answer_close) {
            buf_t f;
            client_frames(&s->in, &f);
            if (strstr(f.p ? f.p : "", "8:")) {
                uint8_t cl[] = {0x88, 0x02, 0x03, 0xe8};
                sc_write(s, cl, sizeof(cl));
                s->answer_close = false;
            }
            buf_free(&f);
        }
        return;
    }
    buf_append(&s->in, b, (size_t)r);
    char *end = strstr(s->in.p, "\r\n\r\n");
    if (!end)
        return;
    char *k = strcasestr(s->in.p, "sec-websocket-key:");
    assert_non_null(k);
    k += strlen("sec-websocket-key:");
    while (*k == ' ')
        k++;
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_for(k, WS_KEY_LEN, accept);
    buf_consume(&s->in, (size_t)(end + 4 - s->in.p));
    s->upgraded = true;
    buf_t resp;
    buf_init(&resp);
    ws_build_101(&resp, accept, NULL, s->ext);
    if (s->split_head) {
        size_t half = resp.len / 2;
        sc_write(s, resp.p, half);
        buf_init(&s->rest);
        buf_append(&s->rest, resp.p + half, resp.len - half);
        loop_timer_init(&s->timer, sc_second, s);
        loop_timer_arm_ms(l, &s->timer, 50);
        buf_free(&resp);
        return;
    }
    buf_append(&resp, s->after.p ? s->after.p : "", s->after.len);
    sc_write(s, resp.p, resp.len);
    buf_free(&resp);
    if (s->deaf)
        loop_fd_mod(l, fd, 0);
    if (s->eof_after) {
        loop_fd_del(l, fd);
        close(fd);
        s->cfd = -1;
    }
}

static void sc_on_accept(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)events;
    struct script *s = ud;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    assert_int_equal(s->cfd, -1); /* one client at a time */
    s->cfd = c;
    s->conns++;
    loop_fd_add(l, c, LOOP_READ, sc_on_client, s);
}

static void sc_init(struct script *s, loop_t *l)
{
    memset(s, 0, sizeof(*s));
    s->l = l;
    s->cfd = -1;
    buf_init(&s->in);
    buf_init(&s->after);
    buf_init(&s->rest);
    s->lfd = listen_socket(&s->addr, &s->alen, 16);
    loop_fd_add(l, s->lfd, LOOP_READ, sc_on_accept, s);
}

static void sc_free(struct script *s)
{
    loop_timer_stop(s->l, &s->timer);
    loop_fd_del(s->l, s->lfd);
    close(s->lfd);
    if (s->cfd >= 0) {
        loop_fd_del(s->l, s->cfd);
        close(s->cfd);
    }
    buf_free(&s->in);
    buf_free(&s->after);
    buf_free(&s->rest);
}

/* An unmasked server frame appended to b. */
static void sframe(buf_t *b, uint8_t b0, const void *p, size_t n)
{
    uint8_t h[10];
    size_t k = 2;
    h[0] = b0;
    if (n < 126) {
        h[1] = (uint8_t)n;
    } else {
        assert_true(n <= 0xffff);
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        k = 4;
    }
    buf_append(b, h, k);
    buf_append(b, p, n);
}

struct scase {
    const char *name;
    bench_kind_t kind;
    size_t max_message;
    void (*build)(buf_t *after);
    bool split_head, eof_after;
    /* expected */
    uint64_t dropped, received, latency, no_ts;
    bench_err_t err;          /* BERR_COUNT: none */
    const char *client_sent;  /* a substring of client_frames() */
    bool deflate;             /* offered, and accepted without context takeover */
};

static void b_ping_then_close(buf_t *a)
{
    sframe(a, 0x89, "abc", 3);
    sframe(a, 0x88, "\x03\xe9" "bye", 5);
}
static void b_masked(buf_t *a)
{
    buf_append(a, "\x81\x81\x00\x00\x00\x00x", 7);
}
static void b_too_big(buf_t *a)
{
    char big[200];
    memset(big, 'x', sizeof(big));
    sframe(a, 0x81, big, sizeof(big));
}
static void b_bad_utf8(buf_t *a)
{
    sframe(a, 0x81, "a\xff", 2);
}
static void b_sub_messages(buf_t *a)
{
    char m[300];
    uint64_t now = real_ns();
    int n = snprintf(m, sizeof(m), "{\"seq\":1,\"ts_ns\":%llu}", (unsigned long long)(now - 5000000));
    sframe(a, 0x81, m, (size_t)n);
    /* fragmented, with a ping between */
    n = snprintf(m, sizeof(m), "{\"pad\":\"%0200d\",\"ts_ns\":\"%llu\"}", 0,
                 (unsigned long long)(now + 1000000000)); /* from the future: 0 */
    sframe(a, 0x01, m, 50);
    sframe(a, 0x89, "p", 1);
    sframe(a, 0x80, m + 50, (size_t)n - 50);
    sframe(a, 0x82, "{\"other\":1}", 11); /* no field */
    sframe(a, 0x81, "", 0);              /* empty: no field */
}
static void b_echo_foreign(buf_t *a)
{
    sframe(a, 0x81, "not a stamp, but long enough to look like one", 45);
    sframe(a, 0x81, "short", 5);
}
/* Echoes of connection 0's stamps (sent 5 ms ago): in fragments, a ping
 * between, the stamp cut at 10 bytes and at exactly its end; whole; and one
 * of another connection's (received, no latency). */
static void b_echo_split(buf_t *a)
{
    char m[64];
    memset(m, 'x', sizeof(m));
    stamp_write((uint8_t *)m, 0, 1, mono_ns() - 5000000);
    sframe(a, 0x01, m, 10);
    sframe(a, 0x89, "p", 1);
    sframe(a, 0x80, m + 10, sizeof(m) - 10);
    sframe(a, 0x01, m, STAMP_LEN);
    sframe(a, 0x00, m + STAMP_LEN, 5);
    sframe(a, 0x80, m + STAMP_LEN + 5, sizeof(m) - STAMP_LEN - 5);
    sframe(a, 0x81, m, sizeof(m));
    stamp_write((uint8_t *)m, 1, 1, mono_ns() - 5000000);
    sframe(a, 0x81, m, sizeof(m));
}
static void b_nothing(buf_t *a)
{
    (void)a;
}

/* Compressed server frames (no context takeover): each message alone. */
static void zframe(buf_t *a, uint8_t b0, const void *msg, size_t n, size_t cut)
{
    ws_pmd_params_t p;
    ws_pmd_params_default(&p);
    p.server_no_context_takeover = p.client_no_context_takeover = true;
    ws_pmd_t *m = ws_pmd_new(&p, true, NULL, 0);
    buf_t z;
    buf_init(&z);
    assert_int_equal(ws_pmd_deflate(m, msg, n, &z), WS_PMD_OK);
    if (cut && cut < z.len) { /* in two frames, a ping between */
        sframe(a, (uint8_t)(b0 & 0x7f), z.p, cut);
        sframe(a, 0x89, "q", 1);
        sframe(a, 0x80, z.p + cut, z.len - cut);
    } else {
        sframe(a, b0, z.p, z.len);
    }
    buf_free(&z);
    ws_pmd_free(m);
}
static void b_z_messages(buf_t *a)
{
    char m[300];
    uint64_t now = real_ns();
    int n = snprintf(m, sizeof(m), "{\"seq\":1,\"ts_ns\":%llu,\"pad\":\"%0100d\"}",
                     (unsigned long long)(now - 5000000), 0);
    zframe(a, 0xc1, m, (size_t)n, 0);
    zframe(a, 0xc1, m, (size_t)n, 7); /* fragmented */
    sframe(a, 0x81, m, (size_t)n);    /* plain: fine too */
}
static void b_z_bomb(buf_t *a)
{
    char *zeros = calloc(1, 60000);
    zframe(a, 0xc2, zeros, 60000, 0); /* a few dozen bytes that inflate past 1000 */
    free(zeros);
}
static void b_z_corrupt(buf_t *a)
{
    sframe(a, 0xc1, "\x07\x00", 2);
}
static void b_z_bad_utf8(buf_t *a)
{
    zframe(a, 0xc1, "ab\xff", 3, 0);
}
static void b_z_rsv1_ping(buf_t *a)
{
    sframe(a, 0xc9, "", 0);
}

static const struct scase scases[] = {
    {"ping then close", BENCH_WS_SUBSCRIBE, 0, b_ping_then_close, false, false, 1, 0, 0, 0,
     BERR_CLOSED, "10:abc|8:1001|", false},
    {"masked frame", BENCH_WS_SUBSCRIBE, 0, b_masked, false, false, 1, 0, 0, 0, BERR_PROTOCOL,
     "8:1002masked frame from the server|", false},
    {"too big", BENCH_WS_SUBSCRIBE, 100, b_too_big, false, false, 1, 0, 0, 0, BERR_TOO_BIG, "8:1009", false},
    {"bad utf-8", BENCH_WS_SUBSCRIBE, 0, b_bad_utf8, false, false, 1, 0, 0, 0, BERR_PROTOCOL, "8:1007", false},
    {"eof", BENCH_WS_SUBSCRIBE, 0, b_nothing, false, true, 1, 0, 0, 0, BERR_CLOSED, "", false},
    {"frames in the 101's packet", BENCH_WS_SUBSCRIBE, 0, b_sub_messages, false, false, 0, 4, 2, 2,
     BERR_COUNT, "10:p|", false},
    {"101 in pieces", BENCH_WS_SUBSCRIBE, 0, b_sub_messages, true, false, 0, 4, 2, 2, BERR_COUNT,
     "10:p|", false},
    {"echo of a foreign message", BENCH_WS_ECHO, 0, b_echo_foreign, false, false, 0, 2, 0, 0,
     BERR_COUNT, "", false},
    {"echoes in fragments", BENCH_WS_ECHO, 0, b_echo_split, false, false, 0, 4, 3, 0,
     BERR_COUNT, "10:p|", false},
    {"echoes in fragments, 101 in pieces", BENCH_WS_ECHO, 0, b_echo_split, true, false, 0, 4, 3, 0,
     BERR_COUNT, "10:p|", false},
    {"compressed messages", BENCH_WS_SUBSCRIBE, 0, b_z_messages, false, false, 0, 3, 3, 0,
     BERR_COUNT, "10:q|", true},
    {"compressed, 101 in pieces", BENCH_WS_SUBSCRIBE, 0, b_z_messages, true, false, 0, 3, 3, 0,
     BERR_COUNT, "10:q|", true},
    {"decompression bomb", BENCH_WS_SUBSCRIBE, 1000, b_z_bomb, false, false, 1, 0, 0, 0,
     BERR_TOO_BIG, "8:1009message too big|", true},
    {"not deflate data", BENCH_WS_SUBSCRIBE, 0, b_z_corrupt, false, false, 1, 0, 0, 0,
     BERR_PROTOCOL, "8:1007invalid compressed data|", true},
    {"compressed bad utf-8", BENCH_WS_SUBSCRIBE, 0, b_z_bad_utf8, false, false, 1, 0, 0, 0,
     BERR_PROTOCOL, "8:1007invalid UTF-8|", true},
    {"rsv1 on a ping", BENCH_WS_SUBSCRIBE, 0, b_z_rsv1_ping, false, false, 1, 0, 0, 0,
     BERR_PROTOCOL, "8:1002RSV1 set on a control frame|", true},
    {"rsv1 not negotiated", BENCH_WS_SUBSCRIBE, 0, b_z_corrupt, false, false, 1, 0, 0, 0,
     BERR_PROTOCOL, "8:1002reserved bits", false},
};

static const ws_pmd_offer_t bench_offer = {true, true, 0, WS_PMD_BITS_ANY};

static void test_scripted(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(scases); i++) {
        const struct scase *sc = &scases[i];
        loop_t *l = loop_new();
        struct script s;
        sc_init(&s, l);
        sc->build(&s.after);
        s.split_head = sc->split_head;
        s.eof_after = sc->eof_after;
        s.answer_close = true;
        if (sc->deflate)
            s.ext = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        struct h h;
        h_init(&h, l, sc->kind, &s.addr, s.alen, "/x");
        if (sc->deflate)
            h.cfg.ws_req.deflate = &bench_offer;
        h.cfg.message_rate = 0; /* echo: nothing of ours, only what the server sends */
        if (sc->max_message)
            h.cfg.max_message = sc->max_message;
        assert_int_equal(h_driver_init(&h), 0);
        h_start(&h, 0, 1);
        h_run(&h, 400, NULL);
        const bench_counters_t *c = &h.w.c;
        if (c->established != 1 || c->dropped != sc->dropped || c->received != sc->received ||
            hist_count(&h.w.latency) != sc->latency || c->errors[BERR_NO_TIMESTAMP] != sc->no_ts ||
            (sc->err != BERR_COUNT && c->errors[sc->err] != 1))
            fail_msg("%s: established %llu dropped %llu received %llu latency %llu no_ts %llu",
                     sc->name, (unsigned long long)c->established, (unsigned long long)c->dropped,
                     (unsigned long long)c->received, (unsigned long long)hist_count(&h.w.latency),
                     (unsigned long long)c->errors[BERR_NO_TIMESTAMP]);
        if (sc->err == BERR_COUNT)
            assert_int_equal(errors_total(&h), sc->no_ts);
        if (sc->latency == 2) /* 5 ms ago, and from the future: 0 */
            assert_true(hist_min(&h.w.latency) == 0 && hist_max(&h.w.latency) >= 5000000);
        if (sc->kind == BENCH_WS_ECHO && sc->latency) /* 5 ms ago: the stamps were read */
            assert_true(hist_min(&h.w.latency) >= 5000000);
        buf_t f;
        client_frames(&s.in, &f);
        if (!strstr(f.p ? f.p : "", sc->client_sent))
            fail_msg("%s: the client sent '%s', wanted '%s'", sc->name, f.p ? f.p : "",
                     sc->client_sent);
        buf_free(&f);
        /* the ones still open close cleanly: close 1000, answered */
        h_close(&h, 1000);
        if (sc->dropped == 0) {
            assert_int_equal(c->ended, 1);
            client_frames(&s.in, &f);
            assert_non_null(strstr(f.p, "8:1000|"));
            buf_free(&f);
        }
        h_free(&h);
        sc_free(&s);
        loop_free(l);
    }
}

/* Echo with permessage-deflate against evcat serve: everything comes back,
 * compressed on the wire; without context takeover nothing of zlib is per
 * connection, with it each connection holds its bounded contexts. */
static void echo_deflate(bool takeover)
{
    static const ws_pmd_offer_t takeover_offer = {.client_max_window_bits = WS_PMD_BITS_ANY};
    loop_t *l = loop_new();
    struct srv sv;
    srv_compress = true;
    srv_start(l, &sv, 0, NULL, NULL);
    srv_compress = false;
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &sv.addr, sv.alen, "/echo");
    h.cfg.size = 2000; /* stamp, then a repeated alphabet: compresses well */
    h.cfg.message_rate = 50;
    h.cfg.ws_req.deflate = takeover ? &takeover_offer : &bench_offer;
    h.cfg.compress_takeover = takeover;
    h.on_open[0] = "hello";
    h.cfg.non_open = 1;
    assert_int_equal(h_driver_init(&h), 0);
    const int conns = 6;
    h_start(&h, 0, conns);
    h_run(&h, 3000, all_settled);
    assert_int_equal(h.w.c.established, conns);
    h_run(&h, 300, NULL);
    h_run(&h, 2000, all_echoed);
    h_close(&h, 2000);
    const bench_counters_t *c = &h.w.c;
    assert_int_equal(errors_total(&h), 0);
    assert_true(c->sent > (uint64_t)conns * 5);
    assert_int_equal(c->received, c->sent);
    assert_int_equal(c->bytes_received, c->bytes_sent);
    assert_int_equal(h.w.deflate_conns, conns);
    /* payload 2000 bytes a message; on the wire far less either way */
    print_message("deflate %s: payload sent %llu, wire sent %llu received %llu\n",
                  takeover ? "takeover" : "shared", (unsigned long long)c->bytes_sent,
                  (unsigned long long)h.w.wire_sent, (unsigned long long)h.w.wire_received);
    assert_true(h.w.wire_sent < c->bytes_sent / 3);
    assert_true(h.w.wire_received < c->bytes_received / 3);
    h_free(&h);
    /* shared: one compressor, one inflater (under 300 KiB); takeover: each
     * connection's own too */
    print_message("zlib peak %llu\n", (unsigned long long)h.w.zlib_peak_bytes);
    if (takeover)
        assert_true(h.w.zlib_peak_bytes > (uint64_t)conns * 40000); /* ~50 KB: windows of 12 */
    else
        assert_true(h.w.zlib_peak_bytes > 0 && h.w.zlib_peak_bytes < 300000);
    srv_free(l, &sv);
    loop_free(l);
}

static void test_echo_deflate(void **state)
{
    (void)state;
    echo_deflate(false);
    echo_deflate(true);
}

/* A server that never answers our close: abort_all ends it. */
static void test_abort(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct script s;
    sc_init(&s, l);
    struct h h;
    h_init(&h, l, BENCH_WS_SUBSCRIBE, &s.addr, s.alen, "/x");
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 1);
    h_run(&h, 2000, all_settled);
    assert_int_equal(h.w.c.established, 1);
    bench_control_set_phase(&h.ctl, BENCH_CLOSE);
    h.w.closing = true;
    bench_ws_driver.close_all(&h.w);
    h_run(&h, 100, NULL);
    assert_int_equal(h.w.live, 1);
    bench_ws_driver.abort_all(&h.w);
    assert_int_equal(h.w.live, 0);
    assert_int_equal(h.w.c.ended, 1);
    assert_int_equal(errors_total(&h), 0);
    h_free(&h);
    sc_free(&s);
    loop_free(l);
}

/* Open loop: a stall of the client's loop does not lower the rate; the
 * messages due during it go out late with their own intended times, so the
 * latency shows the stall. */
static void test_echo_stall(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct srv sv;
    srv_start(l, &sv, 0, NULL, NULL);
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &sv.addr, sv.alen, "/echo");
    h.cfg.message_rate = 100;
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 1);
    h_run(&h, 3000, all_settled);
    uint64_t t0 = mono_ns();
    h_run(&h, 100, NULL);
    usleep(200000); /* the loop is stuck for 200 ms */
    h_run(&h, 100, NULL);
    h_run(&h, 2000, all_echoed);
    double secs = (double)(mono_ns() - t0) / 1e9;
    const bench_counters_t *c = &h.w.c;
    /* ~100/s over the whole time, the stall included */
    assert_true((double)c->sent >= 100 * secs - 5);
    assert_true(hist_max(&h.w.latency) >= 150000000u);
    assert_true(hist_percentile(&h.w.latency, 50) < 150000000u);
    h_close(&h, 2000);
    assert_int_equal(c->ended, 1);
    h_free(&h);
    srv_free(l, &sv);
    loop_free(l);
}

/* 10 connections at rate messages a second each against evcat serve for
 * 300 ms: what fell due went out (one grain late at most), every echo has
 * its latency, nothing failed. */
static void echo_grain_run(double rate)
{
    const double due_per_s = 10 * rate;
    const uint64_t g = bws_grain_for_rate(rate);
    loop_t *l = loop_new();
    struct srv sv;
    srv_start(l, &sv, 0, NULL, NULL);
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &sv.addr, sv.alen, "/echo");
    h.cfg.message_rate = rate;
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 10);
    h_run(&h, 3000, all_settled);
    assert_int_equal(h.w.c.established, 10);
    uint64_t t0 = mono_ns();
    uint64_t s0 = h.w.c.sent;
    h_run(&h, 300, NULL);
    double secs = (double)(mono_ns() - t0) / 1e9;
    uint64_t sent = h.w.c.sent - s0;
    h_run(&h, 2000, all_echoed);
    const bench_counters_t *c = &h.w.c;
    print_message("grain %.1f ms: %llu sent in %.3f s (%.0f due), p10 %.3f p50 %.3f p90 %.3f ms\n",
                  (double)g / 1e6, (unsigned long long)sent, secs, due_per_s * secs,
                  hist_percentile(&h.w.latency, 10) / 1e6, hist_percentile(&h.w.latency, 50) / 1e6,
                  hist_percentile(&h.w.latency, 90) / 1e6);
    /* none skipped by the batching: what fell due went out, one grain late at most */
    assert_true((double)sent >= due_per_s * (secs - 2 * (double)g / 1e9) - 10);
    assert_true((double)sent <= due_per_s * (secs + 2 * (double)g / 1e9) + 10);
    assert_int_equal(c->received, c->sent);
    assert_int_equal(hist_count(&h.w.latency), c->sent);
    /* the schedule is on the grain: the messages of a grain are intended
     * at its boundary, so waiting for it is not latency (a late loop still
     * is: it counts from the boundary) */
    h_close(&h, 2000);
    assert_int_equal(c->ended, 10);
    assert_int_equal(errors_total(&h), 0);
    h_free(&h);
    srv_free(l, &sv);
    loop_free(l);
}

/* Coarse pacing: deadlines rounded up to the grain, so the connections due
 * within one grain go out in one wake-up; every message still goes out
 * (open loop) and its latency counts from its intended time, the wait for
 * the grain included. */
static void test_echo_grain(void **state)
{
    (void)state;
    /* one message interval, within 1-5 ms */
    assert_int_equal(bws_grain_for_rate(400), 2500000);
    assert_int_equal(bws_grain_for_rate(250), 4000000);
    assert_int_equal(bws_grain_for_rate(1000), 1000000);
    assert_int_equal(bws_grain_for_rate(4000), BWS_GRAIN_MIN_NS);
    assert_int_equal(bws_grain_for_rate(1e9), BWS_GRAIN_MIN_NS);
    assert_int_equal(bws_grain_for_rate(10), BWS_GRAIN_MAX_NS);
    assert_int_equal(bws_grain_for_rate(0.001), BWS_GRAIN_MAX_NS);
    const uint64_t grains[] = {BWS_GRAIN_MIN_NS, 2500000, BWS_GRAIN_MAX_NS};
    for (size_t i = 0; i < ARRAY_LEN(grains); i++) {
        const uint64_t g = grains[i];
        assert_int_equal(bws_send_grain(0, g), 0);
        assert_int_equal(bws_send_grain(1, g), g);
        assert_int_equal(bws_send_grain(g, g), g);
        assert_int_equal(bws_send_grain(g + 1, g), 2 * g);
        assert_int_equal(bws_send_grain(7 * g - 1, g), 7 * g);
        assert_int_equal(bws_send_grain(UINT64_MAX, g), UINT64_MAX);
    }

    echo_grain_run(4000); /* four messages per 1 ms grain per connection */
    echo_grain_run(400);  /* one per 2.5 ms grain: all ten in one wake-up */
}

/* A server that stops reading: output queues up to one scratch buffer and
 * generation stops (memory stays bounded) while the intended times run on. */
static void test_echo_backpressure(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct script s;
    sc_init(&s, l);
    s.deaf = true;
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &s.addr, s.alen, "/x");
    h.cfg.message_rate = 2000;
    h.cfg.size = 100000; /* 200 MB/s asked for */
    assert_int_equal(h_driver_init(&h), 0);
    h_start(&h, 0, 1);
    h_run(&h, 2000, all_settled);
    assert_int_equal(h.w.c.established, 1);
    h_run(&h, 500, NULL);
    /* what the kernel's buffers took, plus one frame queued: far below the
     * 1000 messages that became due */
    print_message("backpressure: %llu of ~1000 due messages generated\n",
                  (unsigned long long)h.w.c.sent);
    assert_true(h.w.c.sent < 200);
    h_close(&h, 200); /* the close cannot get through: aborted */
    assert_int_equal(h.w.c.ended, 1);
    assert_int_equal(errors_total(&h), 0);
    h_free(&h);
    sc_free(&s);
    loop_free(l);
}

static void test_init_checks(void **state)
{
    (void)state;
    struct sockaddr_storage ss = {.ss_family = AF_INET};
    struct h h;
    h_init(&h, NULL, BENCH_WS_ECHO, &ss, sizeof(struct sockaddr_in), "/");
    h.cfg.size = STAMP_LEN - 1;
    char err[200] = "";
    assert_int_equal(bench_ws_driver.init(&h.w, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--size"));
    h.cfg.kind = BENCH_SSE;
    h.cfg.size = 64;
    assert_int_equal(bench_ws_driver.init(&h.w, err, sizeof(err)), -1);
    bench_ws_driver.free(&h.w);
    hist_free(&h.w.latency);
    hist_free(&h.w.connect);
}

/* ---- an optional measurement against a running `evcat serve` ---- */

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void test_scale(void **state)
{
    (void)state;
    const char *n_s = getenv("EVCAT_BENCH_WS_SCALE");
    const char *target = getenv("EVCAT_BENCH_WS_TARGET");
    if (!n_s || !target)
        skip();
    uint64_t n = strtoull(n_s, NULL, 10);
    const char *rate_s = getenv("EVCAT_BENCH_WS_RATE");
    double rate = rate_s ? atof(rate_s) : 1;
    const char *ms_s = getenv("EVCAT_BENCH_WS_MS");
    uint64_t ms = ms_s ? strtoull(ms_s, NULL, 10) : 5000;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(serve_parse_listen(target, &ss, &len), 0);
    loop_t *l = loop_new();
    struct h h;
    h_init(&h, l, BENCH_WS_ECHO, &ss, len, "/echo");
    h.cfg.message_rate = rate;
    h.co.connect_timeout_ms = 30000;
    if (getenv("EVCAT_BENCH_WS_TLS")) {
        char err[200];
        h.cfg.tls = true;
        h.cfg.ssl_ctx = transport_tls_client_ctx(NULL, NULL, NULL, true, err, sizeof(err));
        assert_non_null(h.cfg.ssl_ctx);
    }
    assert_int_equal(h_driver_init(&h), 0);
    uint64_t rss0 = rss_bytes();
    /* a ramp: 2000 a second in steps of 100 */
    for (uint64_t i = 0; i < n; i += 100) {
        h_start(&h, i, n - i < 100 ? n - i : 100);
        h_run(&h, 50, NULL);
    }
    h_run(&h, 30000, all_settled);
    uint64_t rss1 = rss_bytes();
    print_message("scale: %llu established, %llu failed; RSS +%.2f KiB per connection\n",
                  (unsigned long long)h.w.c.established, (unsigned long long)h.w.c.failed,
                  (double)(rss1 - rss0) / 1024.0 / (double)(n ? n : 1));
    uint64_t r0 = h.w.c.received;
    double c0 = cpu_s();
    h_run(&h, ms, NULL);
    double c1 = cpu_s();
    uint64_t got = h.w.c.received - r0;
    print_message("scale: %llu echoes in %.1f s, %.2f us CPU per echo, peak RSS now +%.2f KiB/conn\n",
                  (unsigned long long)got, ms / 1e3, got ? (c1 - c0) * 1e6 / (double)got : 0.0,
                  (double)(rss_bytes() - rss0) / 1024.0 / (double)(n ? n : 1));
    h_close(&h, 5000);
    h_free(&h);
    SSL_CTX_free(h.cfg.ssl_ctx);
    loop_free(l);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("EVCAT_BENCH_WS_SCALE")) { /* the measurement alone: clean RSS */
        const struct CMUnitTest scale[] = {cmocka_unit_test(test_scale)};
        return cmocka_run_group_tests(scale, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_text),
        cmocka_unit_test(test_echo_binary_large),
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_tls_echo),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_connect_timeout_and_close_attempts),
        cmocka_unit_test(test_not_101),
        cmocka_unit_test(test_scripted),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_echo_deflate),
        cmocka_unit_test(test_echo_stall),
        cmocka_unit_test(test_echo_grain),
        cmocka_unit_test(test_echo_backpressure),
        cmocka_unit_test(test_init_checks),
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
