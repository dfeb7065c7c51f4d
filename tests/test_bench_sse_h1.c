/* Unit tests for src/bench/bench_sse_h1.c, bench's native HTTP/1.1 SSE
 * driver, run by the real engine (bench_run) against a scripted server on
 * its own thread: each connection gets a fixed byte script, written in
 * pieces with pauses between them (split heads, events across chunk
 * boundaries), then held open or closed. Chunked, Content-Length and
 * until-close bodies, interim 1xx heads, a 404, a wrong Content-Type,
 * framing errors, a server that closes at once or sends no HTTP, the
 * request's headers, and TLS against evcat serve. Where libcurl has the
 * same outcome the case runs on the libcurl driver too (bench_sse.c), so
 * both count the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bench.h"
#include "bench_run.h"
#include "transport.h"
#include "serve.h"
#include "buf.h"
#include "clock.h"

/* ---- the scripted server ---- */

#define PAUSE "\x01" /* in a script: flush, then 30 ms before the rest */
#define MAX_HELD 64

struct script_server {
    pthread_t tid;
    int lfd, port;
    const char *script;
    bool hold;               /* keep connections open after the script */
    volatile bool stop;
    int held[MAX_HELD];
    int nheld;
    char first_request[2048]; /* the first request's head */
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void play(struct script_server *s, int fd)
{
    const char *p = s->script;
    for (;;) {
        const char *m = strchr(p, PAUSE[0]);
        send_all(fd, p, m ? (size_t)(m - p) : strlen(p));
        if (!m)
            break;
        usleep(30000);
        p = m + 1;
    }
}

static void *script_main(void *arg)
{
    struct script_server *s = arg;
    while (!s->stop) {
        struct pollfd pf = {.fd = s->lfd, .events = POLLIN};
        if (poll(&pf, 1, 20) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char req[2048];
        size_t got = 0;
        while (got < sizeof(req) - 1) { /* the request head */
            ssize_t k = recv(fd, req + got, sizeof(req) - 1 - got, 0);
            if (k <= 0)
                break;
            got += (size_t)k;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n") || (got >= 4 && memcmp(req, "GET ", 4) != 0))
                break; /* the head, or not HTTP (a TLS ClientHello): answer now */
        }
        req[got] = '\0';
        if (!s->first_request[0])
            snprintf(s->first_request, sizeof(s->first_request), "%s", req);
        play(s, fd);
        if (s->hold && s->nheld < MAX_HELD)
            s->held[s->nheld++] = fd;
        else
            close(fd);
    }
    return NULL;
}

static struct script_server *script_start(const char *script, bool hold)
{
    struct script_server *s = calloc(1, sizeof(*s));
    s->script = script;
    s->hold = hold;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->tid, NULL, script_main, s), 0);
    return s;
}

static void script_free(struct script_server *s)
{
    s->stop = true;
    pthread_join(s->tid, NULL);
    for (int i = 0; i < s->nheld; i++)
        close(s->held[i]);
    close(s->lfd);
    free(s);
}

/* ---- a run ---- */

struct run {
    conn_settings_t co;
    bench_config_t cfg;
    bench_result_t r;
    char url[128], host_header[64];
};

static void run_init(struct run *f, bool tls, int port, const char *path)
{
    memset(f, 0, sizeof(*f));
    conn_settings_init(&f->co);
    f->co.headers = curl_slist_append(NULL, "X-Bench: yes");
    f->co.insecure = true;
    f->co.connect_timeout_ms = 2000;
    snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d%s", tls ? "https" : "http", port, path);
    snprintf(f->host_header, sizeof(f->host_header), "127.0.0.1:%d", port);
    bench_config_t *c = &f->cfg;
    c->kind = BENCH_SSE;
    c->url = f->url;
    c->host = "127.0.0.1";
    c->port = (uint16_t)port;
    c->tls = tls;
    c->target = (char *)path;
    c->host_header = f->host_header;
    struct sockaddr_in *a = (struct sockaddr_in *)&c->addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons((uint16_t)port);
    c->addrlen = sizeof(*a);
    c->latency_field = "ts_ns";
    c->max_message = 1 << 20;
    c->co = &f->co;
    c->threads = 1;
    c->connections = 4;
    c->connect_rate = 1000;
    c->duration_ns = 300000000u;
    bench_result_init(&f->r);
}

static void run_go(struct run *f, const bench_driver_t *drv)
{
    char err[256] = "";
    if (bench_run(&f->cfg, drv, NULL, NULL, NULL, &f->r, err, sizeof(err)) != 0)
        fail_msg("bench_run: %s", err);
    const bench_counters_t *c = &f->r.c;
    assert_int_equal(c->attempted, f->cfg.connections);
    assert_int_equal(c->attempted, c->failed + c->dropped + c->ended);
}

static void run_free(struct run *f)
{
    bench_result_free(&f->r);
    conn_settings_free(&f->co);
}

static uint64_t errors_total(const bench_counters_t *c)
{
    uint64_t n = 0;
    for (int k = 0; k < BERR_COUNT; k++)
        n += c->errors[k];
    return n;
}

/* One script against one driver: the counters of 4 streams. */
static void script_run(const char *script, bool hold, const bench_driver_t *drv,
                       bench_counters_t *out, struct script_server **keep)
{
    struct script_server *s = script_start(script, hold);
    struct run f;
    run_init(&f, false, s->port, "/sub");
    run_go(&f, drv);
    *out = f.r.c;
    run_free(&f);
    if (keep)
        *keep = s;
    else
        script_free(s);
}

static const bench_driver_t *const drivers[] = {&bench_sse_h1_driver, &bench_sse_driver};

#define EV "data: {\"ts_ns\":1}\n\n"
#define SSE_200 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"

/* ---- tests ---- */

static void test_chunked_events_across_chunks(void **state)
{
    (void)state;
    /* events split over chunks and pauses, an extension, upper-case hex */
    static const char script[] =
        SSE_200 "Transfer-Encoding: chunked\r\n\r\n" PAUSE
        "13\r\n" EV "\r\n"
        "5;ext=1\r\ndata:\r\n" PAUSE "E\r\n {\"ts_ns\":1}\n\n\r\n"
        "A\r\nevent: x\nd\r\n" PAUSE "A\r\nata: {\"ts_\r\n" "6\r\nns\":1}\r\n" "2\r\n\n\n\r\n";
    for (size_t i = 0; i < 2; i++) {
        bench_counters_t c;
        struct script_server *s;
        script_run(script, true, drivers[i], &c, &s);
        assert_int_equal(c.established, 4);
        assert_int_equal(c.received, 12);
        assert_int_equal(c.ended, 4);
        assert_int_equal(errors_total(&c), 0);
        if (i == 0) {
            const char *q = s->first_request;
            assert_non_null(strstr(q, "GET /sub HTTP/1.1\r\n"));
            assert_non_null(strstr(q, "\r\nHost: 127.0.0.1:"));
            assert_non_null(strstr(q, "\r\nAccept: text/event-stream\r\n"));
            assert_non_null(strstr(q, "\r\nCache-Control: no-cache\r\n"));
            assert_non_null(strstr(q, "\r\nX-Bench: yes\r\n"));
            assert_non_null(strstr(q, "\r\nUser-Agent: evcat/"));
        }
        script_free(s);
    }
}

static void test_split_head_and_interim(void **state)
{
    (void)state;
    static const char script[] = "HTTP/1.1 100 Continue\r\n\r\n" PAUSE "HTTP/1.1 2" PAUSE
                                 "00 OK\r\nContent-Type: text/event-stream;" PAUSE
                                 " charset=utf-8\r\n\r" PAUSE "\n" EV PAUSE EV;
    for (size_t i = 0; i < 2; i++) {
        bench_counters_t c;
        struct script_server *s;
        script_run(script, true, drivers[i], &c, &s);
        assert_int_equal(c.established, 4);
        assert_int_equal(c.received, 8);
        assert_int_equal(errors_total(&c), 0);
        script_free(s);
    }
}

/* A body that ends (a Content-Length reached, the last chunk, the server
 * closing a body read until close): the stream is lost, "closed". */
static void test_bodies_that_end_are_dropped(void **state)
{
    (void)state;
    static const char *const scripts[] = {
        SSE_200 "Content-Length: 38\r\n\r\n" EV EV,
        SSE_200 "Transfer-Encoding: chunked\r\n\r\n13\r\n" EV "\r\n13\r\n" EV "\r\n0\r\nX: y\r\n\r\n",
        SSE_200 "Connection: close\r\n\r\n" EV PAUSE EV,
    };
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < 2; i++) {
            bench_counters_t c;
            /* held open: the body's own end must be seen, not the close */
            script_run(scripts[k], k < 2, drivers[i], &c, NULL);
            assert_int_equal(c.established, 4);
            assert_int_equal(c.received, 8);
            assert_int_equal(c.dropped, 4);
            assert_int_equal(c.errors[BERR_CLOSED], 4);
        }
    }
}

static void test_refused_heads(void **state)
{
    (void)state;
    static const char *const status[] = {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" EV,
        "HTTP/1.1 200 OK\r\n\r\n" EV,
        "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Type: text/event-stream\r\n\r\n",
    };
    for (size_t k = 0; k < 4; k++) {
        for (size_t i = 0; i < 2; i++) {
            bench_counters_t c;
            script_run(status[k], true, drivers[i], &c, NULL);
            assert_int_equal(c.failed, 4);
            assert_int_equal(c.established, 0);
            assert_int_equal(c.errors[BERR_HTTP_STATUS], 4);
        }
    }
}

/* The native driver's own verdicts on what is not HTTP, or broken framing. */
static void test_bad_responses(void **state)
{
    (void)state;
    bench_counters_t c;
    script_run("", false, &bench_sse_h1_driver, &c, NULL); /* closes at once */
    assert_int_equal(c.failed, 4);
    assert_int_equal(c.errors[BERR_CLOSED], 4);
    script_run("SSH-2.0-OpenSSH\r\n", true, &bench_sse_h1_driver, &c, NULL);
    assert_int_equal(c.failed, 4);
    assert_int_equal(c.errors[BERR_PROTOCOL], 4);
    script_run(SSE_200 "Transfer-Encoding: chunked\r\n\r\n13\r\n" EV "\r\nzz\r\n", true,
               &bench_sse_h1_driver, &c, NULL);
    assert_int_equal(c.established, 4);
    assert_int_equal(c.received, 4);
    assert_int_equal(c.dropped, 4);
    assert_int_equal(c.errors[BERR_PROTOCOL], 4);
    script_run(SSE_200 "Transfer-Encoding: gzip\r\n\r\n", true, &bench_sse_h1_driver, &c, NULL);
    assert_int_equal(c.failed, 4);
    assert_int_equal(c.errors[BERR_PROTOCOL], 4);
    /* a head that never ends: bounded, then refused */
    static char big[20000];
    memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
    for (size_t i = 17; i + 10 < sizeof(big); i += 10)
        memcpy(big + i, "X-Pad: 1\r\n", 10);
    script_run(big, true, &bench_sse_h1_driver, &c, NULL);
    assert_int_equal(c.failed, 4);
    assert_int_equal(c.errors[BERR_PROTOCOL], 4);
}

static void test_basic_auth_header(void **state)
{
    (void)state;
    struct script_server *s = script_start(SSE_200 "\r\n", true);
    struct run f;
    run_init(&f, false, s->port, "/p?q=1");
    f.cfg.userpwd = "u:p"; /* -u's or the URL's: cmd_bench_target picks */
    f.cfg.connections = 1;
    run_go(&f, &bench_sse_h1_driver);
    assert_int_equal(f.r.c.established, 1);
    run_free(&f);
    assert_non_null(strstr(s->first_request, "GET /p?q=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s->first_request, "\r\nAuthorization: Basic dTpw\r\n"));
    script_free(s);
}

/* ---- TLS, against evcat serve on a thread of its own ---- */

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

struct serve_thread {
    loop_t *loop;
    serve_t *s;
    pthread_t tid;
    int port;
};

static void *serve_main(void *arg)
{
    struct serve_thread *t = arg;
    loop_run(t->loop);
    return NULL;
}

static void on_serve_stop(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)fd;
    (void)ev;
    (void)ud;
    loop_stop(l);
}

static void test_tls(void **state)
{
    (void)state;
    char dir[] = "/tmp/evcat_bench_sse_h1_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    make_cert(cert, key);
    struct serve_thread st = {.loop = loop_new()};
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    serve_parse_listen("127.0.0.1:0", &cfg.addr, &cfg.addr_len);
    cfg.tick_ms = 20;
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    char err[200];
    assert_int_equal(serve_start(st.loop, &cfg, &st.s, err, sizeof(err)), 0);
    char a[80];
    serve_local_addr(st.s, a, sizeof(a));
    st.port = atoi(strrchr(a, ':') + 1);
    int stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(stop_fd >= 0);
    assert_int_equal(loop_fd_add(st.loop, stop_fd, LOOP_READ, on_serve_stop, NULL), 0);
    assert_int_equal(pthread_create(&st.tid, NULL, serve_main, &st), 0);

    for (size_t i = 0; i < 2; i++) {
        struct run f;
        run_init(&f, true, st.port, "/sse");
        f.cfg.ssl_ctx = transport_tls_client_ctx(NULL, NULL, NULL, true, err, sizeof(err));
        assert_non_null(f.cfg.ssl_ctx);
        run_go(&f, drivers[i]);
        assert_int_equal(f.r.c.established, 4);
        assert_int_equal(f.r.c.ended, 4);
        assert_true(f.r.c.received >= 4 * 5);
        assert_true(hist_count(&f.r.latency) >= 4 * 5);
        SSL_CTX_free(f.cfg.ssl_ctx);
        run_free(&f);
    }
    /* https against a plain server: a TLS error */
    struct script_server *s = script_start(SSE_200 "\r\n", true);
    struct run f;
    run_init(&f, true, s->port, "/sse");
    f.cfg.ssl_ctx = transport_tls_client_ctx(NULL, NULL, NULL, true, err, sizeof(err));
    run_go(&f, &bench_sse_h1_driver);
    assert_int_equal(f.r.c.failed, 4);
    assert_int_equal(f.r.c.errors[BERR_TLS], 4);
    SSL_CTX_free(f.cfg.ssl_ctx);
    run_free(&f);
    script_free(s);

    uint64_t one = 1;
    assert_int_equal(write(stop_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
    pthread_join(st.tid, NULL);
    loop_fd_del(st.loop, stop_fd);
    close(stop_fd);
    serve_free(st.s);
    loop_free(st.loop);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_events_across_chunks),
        cmocka_unit_test(test_split_head_and_interim),
        cmocka_unit_test(test_bodies_that_end_are_dropped),
        cmocka_unit_test(test_refused_heads),
        cmocka_unit_test(test_bad_responses),
        cmocka_unit_test(test_basic_auth_header),
        cmocka_unit_test(test_tls),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
