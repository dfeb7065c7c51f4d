/* Unit tests for src/bench/bench_sse.c: the SSE driver of `evcat bench`, run by
 * the real engine (bench_run: worker threads, phases) against a small
 * scripted SSE server on its own thread (the path picks the answer),
 * checking the accounting each outcome leads to: established, events and
 * latency, bad status or type, a server that closes, an event over
 * --max-message, refused, connect timeout, source binding, CURLOPT_RESOLVE.
 * Each of those runs twice: on the libcurl driver (bench_sse.c) and on the
 * native HTTP/1.1 one (bench_sse_h1.c; more of its cases in
 * test_bench_sse_h1.c).
 * And the publisher (src/bench/bench_pub.c) that feeds such streams in a run: its
 * bodies, pacing, kept-alive connections, failures and stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_pub.h"
#include "bench_run.h"
#include "buf.h"
#include "clock.h"
#include "stamp.h"

/* ---- the SSE server, on its own thread ---- */

#define MAX_CLIENTS 256

struct server {
    loop_t *loop;
    pthread_t tid;
    int lfd, stop_fd;
    int port;
    int clients[MAX_CLIENTS];
    bool live_feed[MAX_CLIENTS]; /* /ok: gets an event every TICK_MS */
    int nclients;
    int requests;
    bool saw_accept, saw_cache_control, saw_user_header;
    struct sockaddr_in last_peer;
    loop_timer_t tick;
    bool stopped;
};

#define TICK_MS 20

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return; /* the client went away: its read will tell */
        p += k;
        n -= (size_t)k;
    }
}

static const char sse_head[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";

static void forget_client(struct server *s, int fd)
{
    loop_fd_del(s->loop, fd);
    close(fd);
    for (int i = 0; i < s->nclients; i++) {
        if (s->clients[i] == fd) {
            s->nclients--;
            s->clients[i] = s->clients[s->nclients];
            s->live_feed[i] = s->live_feed[s->nclients];
        }
    }
}

/* Every TICK_MS, to each /ok client: a timed event 1 ms old, one from the
 * future, one without the field, one with it quoted over two data lines in
 * an event of another type, a comment and a retry. */
static void on_tick(loop_t *l, loop_timer_t *t, void *ud)
{
    struct server *s = ud;
    uint64_t now = real_ns();
    buf_t out;
    buf_init(&out);
    buf_printf(&out, "data: {\"seq\":1,\"ts_ns\":%llu}\n\n", (unsigned long long)(now - 1000000));
    buf_printf(&out, "data: {\"ts_ns\":%llu}\n\n", (unsigned long long)(now + 60000000000u));
    buf_puts(&out, "data: no timestamp\n\n: a comment\nretry: 10\n\n");
    buf_printf(&out, "event: tick\ndata: {\"seq\":2,\ndata: \"ts_ns\":\"%llu\"}\n\n",
               (unsigned long long)(now - 2000000));
    for (int i = 0; i < s->nclients; i++)
        if (s->live_feed[i])
            send_all(s->clients[i], out.p, out.len);
    buf_free(&out);
    loop_timer_arm_ms(l, t, TICK_MS);
}

static void on_client(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)ev;
    struct server *s = ud;
    char req[4096];
    ssize_t n = read(fd, req, sizeof(req) - 1);
    if (n <= 0) {
        forget_client(s, fd);
        return;
    }
    req[n] = '\0';
    s->requests++;
    s->saw_accept |= strstr(req, "\r\nAccept: text/event-stream\r\n") != NULL;
    s->saw_cache_control |= strstr(req, "\r\nCache-Control: no-cache\r\n") != NULL;
    s->saw_user_header |= strstr(req, "\r\nX-Bench: yes\r\n") != NULL;
    buf_t out;
    buf_init(&out);
    bool close_after = false;
    if (strncmp(req, "GET /ok ", 8) == 0) {
        buf_puts(&out, sse_head);
        buf_puts(&out, "retry: 10\n\n: hello\n\n");
        for (int i = 0; i < s->nclients; i++)
            if (s->clients[i] == fd)
                s->live_feed[i] = true;
    } else if (strncmp(req, "GET /close ", 11) == 0) {
        buf_puts(&out, sse_head);
        buf_puts(&out, "data: {\"ts_ns\":1}\n\n");
        close_after = true;
    } else if (strncmp(req, "GET /reset ", 11) == 0) {
        send_all(fd, sse_head, sizeof(sse_head) - 1);
        send_all(fd, "data: {\"ts_ns\":1}\n\n", 19);
        /* Closing with a zero linger sends RST instead of FIN. */
        usleep(20000);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        buf_free(&out);
        forget_client(s, fd);
        return;
    } else if (strncmp(req, "GET /big ", 9) == 0) {
        buf_puts(&out, sse_head);
        buf_puts(&out, "data: {\"ts_ns\":1}\n\ndata: ");
        for (int i = 0; i < 100; i++)
            buf_puts(&out, "0123456789");
        buf_puts(&out, "\n\n");
    } else if (strncmp(req, "GET /type ", 10) == 0) {
        buf_puts(&out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                       "data: {\"ts_ns\":1}\n\n");
        close_after = true;
    } else if (strncmp(req, "GET /slow ", 10) == 0) {
        buf_free(&out);
        return; /* never answers */
    } else {
        buf_puts(&out, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    }
    send_all(fd, out.p, out.len);
    buf_free(&out);
    if (close_after)
        forget_client(s, fd);
}

static void on_accept(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct server *s = ud;
    socklen_t len = sizeof(s->last_peer);
    int c = accept(fd, (struct sockaddr *)&s->last_peer, &len);
    if (c < 0)
        return;
    if (s->nclients == MAX_CLIENTS) {
        close(c);
        return;
    }
    s->live_feed[s->nclients] = false;
    s->clients[s->nclients++] = c;
    loop_fd_add(l, c, LOOP_READ, on_client, s);
}

static void on_stop(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)fd;
    (void)ev;
    (void)ud;
    loop_stop(l);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    loop_run(s->loop);
    return NULL;
}

/* Starts the server thread; everything in s is the server's until
 * server_stop() has joined it. */
static struct server *server_start(void)
{
    struct server *s = xcalloc(1, sizeof(*s));
    s->loop = loop_new();
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 256), 0);
    socklen_t len = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(loop_fd_add(s->loop, s->lfd, LOOP_READ, on_accept, s), 0);
    s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(s->stop_fd >= 0);
    assert_int_equal(loop_fd_add(s->loop, s->stop_fd, LOOP_READ, on_stop, s), 0);
    loop_timer_init(&s->tick, on_tick, s);
    loop_timer_arm_ms(s->loop, &s->tick, TICK_MS);
    assert_int_equal(pthread_create(&s->tid, NULL, server_main, s), 0);
    return s;
}

/* Joins the server thread: its fields are then the test's to read. */
static void server_stop(struct server *s)
{
    if (s->stopped)
        return;
    uint64_t one = 1;
    assert_int_equal(write(s->stop_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
    pthread_join(s->tid, NULL);
    s->stopped = true;
}

static void server_free(struct server *s)
{
    server_stop(s);
    while (s->nclients)
        forget_client(s, s->clients[0]);
    loop_timer_stop(s->loop, &s->tick);
    loop_fd_del(s->loop, s->lfd);
    loop_fd_del(s->loop, s->stop_fd);
    close(s->lfd);
    close(s->stop_fd);
    loop_free(s->loop);
    free(s);
}

/* A port nobody listens on: bound, read, closed. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- a run ---- */

/* The driver the SSE tests run on (main runs them on each). */
static const bench_driver_t *sse_drv = &bench_sse_driver;

struct fixture {
    struct server *srv;
    conn_settings_t co;
    bench_config_t cfg;
    bench_result_t r;
    char url[128];
    char host_header[64];
};

/* The target as cmd_bench_target resolves it (the native driver connects
 * to cfg.addr; libcurl reads the URL). */
static void fixture_target(struct fixture *f, const char *host, int port, const char *path)
{
    snprintf(f->url, sizeof(f->url), "http://%s:%d%s", host, port, path);
    snprintf(f->host_header, sizeof(f->host_header), "%s:%d", host, port);
    f->cfg.host = (char *)host;
    f->cfg.port = (uint16_t)port;
    f->cfg.target = (char *)path;
    f->cfg.host_header = f->host_header;
    struct sockaddr_in *a = (struct sockaddr_in *)&f->cfg.addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons((uint16_t)port);
    f->cfg.addrlen = sizeof(*a);
}

static void fixture_init(struct fixture *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->srv = server_start();
    conn_settings_init(&f->co);
    f->co.headers = curl_slist_append(NULL, "X-Bench: yes");
    f->co.connect_timeout_ms = 2000;
    f->cfg.kind = BENCH_SSE;
    fixture_target(f, "127.0.0.1", f->srv->port, path);
    f->cfg.url = f->url;
    f->cfg.latency_field = "ts_ns";
    f->cfg.max_message = 16 << 20;
    f->cfg.co = &f->co;
    f->cfg.threads = 2;
    f->cfg.connections = 4;
    f->cfg.connect_rate = 1000;
    f->cfg.duration_ns = 300000000u;
    bench_result_init(&f->r);
}

static void run(struct fixture *f)
{
    char err[256] = "";
    if (bench_run(&f->cfg, sse_drv, NULL, NULL, NULL, &f->r, err, sizeof(err)) != 0)
        fail_msg("bench_run: %s", err);
    /* Every attempt ended exactly once. */
    const bench_counters_t *c = &f->r.c;
    assert_int_equal(c->attempted, f->cfg.connections);
    assert_int_equal(c->attempted, c->failed + c->dropped + c->ended);
    assert_true(c->established <= c->attempted);
}

static void fixture_free(struct fixture *f)
{
    server_free(f->srv);
    bench_result_free(&f->r);
    conn_settings_free(&f->co);
}

/* ---- tests ---- */

static void test_streams_events_and_latency(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok");
    run(&f);
    const bench_counters_t *c = &f.r.c;
    assert_int_equal(c->established, 4);
    assert_int_equal(c->failed, 0);
    assert_int_equal(c->dropped, 0);
    assert_int_equal(c->ended, 4); /* by the close phase */
    assert_int_equal(hist_count(&f.r.connect), 4);
    /* 4 events per tick and stream, 3 of them timed. */
    assert_true(c->received >= 4 * 4 * 5);
    /* One in four has no timestamp (give or take a tick cut short by the close). */
    uint64_t nots = c->errors[BERR_NO_TIMESTAMP];
    assert_true(nots * 4 + 16 >= c->received && nots * 4 <= c->received + 16);
    assert_true(c->bytes_received > 0);
    /* Measured in the measure phase only: 1 ms, 2 ms and 0 (from the future). */
    assert_true(hist_count(&f.r.latency) >= 3 * 4 * 5);
    assert_true(hist_count(&f.r.latency) <= c->received);
    assert_int_equal(hist_min(&f.r.latency), 0);
    assert_true(hist_max(&f.r.latency) >= 2000000);
    assert_true(hist_max(&f.r.latency) < 2000000000u);
    for (int k = 0; k < BERR_COUNT; k++)
        if (k != BERR_NO_TIMESTAMP)
            assert_int_equal(c->errors[k], 0);
    server_stop(f.srv);
    assert_true(f.srv->saw_accept && f.srv->saw_cache_control && f.srv->saw_user_header);
    assert_int_equal(f.srv->requests, 4);
    fixture_free(&f);
}

static void test_bad_status_and_type_fail(void **state)
{
    (void)state;
    static const char *const paths[] = {"/missing", "/type"};
    for (size_t i = 0; i < 2; i++) {
        struct fixture f;
        fixture_init(&f, paths[i]);
        run(&f);
        assert_int_equal(f.r.c.failed, 4);
        assert_int_equal(f.r.c.established, 0);
        assert_int_equal(f.r.c.errors[BERR_HTTP_STATUS], 4);
        assert_int_equal(f.r.c.received, 0);
        fixture_free(&f);
    }
}

static void test_server_close_is_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/close");
    run(&f);
    assert_int_equal(f.r.c.established, 4);
    assert_int_equal(f.r.c.dropped, 4);
    assert_int_equal(f.r.c.errors[BERR_CLOSED], 4);
    assert_int_equal(f.r.c.received, 4);
    fixture_free(&f);
}

static void test_server_reset_is_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/reset");
    run(&f);
    assert_int_equal(f.r.c.established, 4);
    assert_int_equal(f.r.c.dropped, 4);
    assert_int_equal(f.r.c.errors[BERR_RESET], 4);
    assert_int_equal(f.r.c.received, 4);
    fixture_free(&f);
}

static void test_event_over_max_message(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/big");
    f.cfg.max_message = 512;
    run(&f);
    assert_int_equal(f.r.c.established, 4);
    assert_int_equal(f.r.c.received, 4);
    assert_int_equal(f.r.c.dropped, 4);
    assert_int_equal(f.r.c.errors[BERR_TOO_BIG], 4);
    fixture_free(&f);
}

static void test_refused(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok");
    fixture_target(&f, "127.0.0.1", free_port(), "/ok");
    run(&f);
    assert_int_equal(f.r.c.failed, 4);
    assert_int_equal(f.r.c.errors[BERR_REFUSED], 4);
    fixture_free(&f);
}

static void test_connect_timeout_covers_the_response_head(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/slow");
    f.co.connect_timeout_ms = 200;
    uint64_t t0 = mono_ns();
    run(&f);
    uint64_t took_ms = (mono_ns() - t0) / 1000000;
    assert_true(took_ms >= 190 && took_ms < 3000);
    assert_int_equal(f.r.c.failed, 4);
    assert_int_equal(f.r.c.errors[BERR_CONNECT_TIMEOUT], 4);
    fixture_free(&f);
}

static void test_source_address_and_resolve(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok");
    /* A name only CURLOPT_RESOLVE knows, and a source address to bind. */
    fixture_target(&f, "bench.invalid", f.srv->port, "/ok");
    char resolve[64];
    snprintf(resolve, sizeof(resolve), "bench.invalid:%d:127.0.0.1", f.srv->port);
    f.cfg.curl_resolve = resolve;
    struct sockaddr_storage src = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *)&src;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2 */
    f.cfg.sources = &src;
    f.cfg.nsources = 1;
    f.cfg.connections = 1;
    f.cfg.threads = 1;
    run(&f);
    assert_int_equal(f.r.c.established, 1);
    assert_true(f.r.c.received > 0);
    server_stop(f.srv);
    assert_int_equal(ntohl(f.srv->last_peer.sin_addr.s_addr), 0x7f000002);
    fixture_free(&f);
}

/* ---- the publisher, against a keep-alive POST endpoint ---- */

#define MAX_POSTS 4096

struct pub_server {
    loop_t *loop;
    int lfd, port;
    int conns;
    struct pub_client {
        int fd;
        buf_t in;
    } c[BENCH_PUB_INFLIGHT + 8];
    int nc;
    uint64_t seq[MAX_POSTS], ts[MAX_POSTS];
    int nposts;
    int requests;
    bool json_type;
};

static struct pub_client *pub_client(struct pub_server *s, int fd)
{
    for (int i = 0; i < s->nc; i++)
        if (s->c[i].fd == fd)
            return &s->c[i];
    return NULL;
}

static void pub_drop(struct pub_server *s, int fd)
{
    struct pub_client *c = pub_client(s, fd);
    loop_fd_del(s->loop, fd);
    close(fd);
    if (c) {
        buf_free(&c->in);
        *c = s->c[--s->nc];
    }
}

static void on_pub_client(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)ev;
    struct pub_server *s = ud;
    struct pub_client *c = pub_client(s, fd);
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n <= 0) {
        pub_drop(s, fd);
        return;
    }
    buf_append(&c->in, tmp, (size_t)n);
    for (;;) {
        char *end = c->in.len ? strstr(c->in.p, "\r\n\r\n") : NULL;
        if (!end)
            return;
        size_t head = (size_t)(end + 4 - c->in.p);
        const char *cl = strstr(c->in.p, "Content-Length: ");
        size_t body = cl && cl < end ? (size_t)strtoul(cl + 16, NULL, 10) : 0;
        if (c->in.len < head + body)
            return;
        s->requests++;
        s->json_type |= strstr(c->in.p, "\r\nContent-Type: application/json\r\n") != NULL;
        bool slow = strncmp(c->in.p, "POST /slow ", 11) == 0;
        bool fail = strncmp(c->in.p, "POST /fail ", 11) == 0;
        if (!fail && !slow && s->nposts < MAX_POSTS) {
            uint64_t seq = UINT64_MAX, ts = 0;
            /* The body is exactly {"seq":N,"ts_ns":T}. */
            char want[96];
            if (stamp_json_u64(c->in.p + head, body, "seq", &seq) == 0 &&
                stamp_json_u64(c->in.p + head, body, "ts_ns", &ts) == 0 &&
                (size_t)snprintf(want, sizeof(want), "{\"seq\":%llu,\"ts_ns\":%llu}",
                                 (unsigned long long)seq, (unsigned long long)ts) == body &&
                memcmp(want, c->in.p + head, body) == 0) {
                s->seq[s->nposts] = seq;
                s->ts[s->nposts] = ts;
                s->nposts++;
            }
        }
        buf_consume(&c->in, head + body);
        if (slow)
            continue;
        static const char ok[] = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
        static const char bad[] = "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\noops";
        if (fail)
            send_all(fd, bad, sizeof(bad) - 1);
        else
            send_all(fd, ok, sizeof(ok) - 1);
    }
}

static void on_pub_accept(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct pub_server *s = ud;
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return;
    if (s->nc == (int)(sizeof(s->c) / sizeof(s->c[0]))) {
        close(c);
        return;
    }
    s->conns++;
    s->c[s->nc].fd = c;
    buf_init(&s->c[s->nc].in);
    s->nc++;
    loop_fd_add(l, c, LOOP_READ, on_pub_client, s);
}

static struct pub_server *pub_server_start(loop_t *l)
{
    struct pub_server *s = xcalloc(1, sizeof(*s));
    s->loop = l;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(loop_fd_add(l, s->lfd, LOOP_READ, on_pub_accept, s), 0);
    return s;
}

static void pub_server_stop(struct pub_server *s)
{
    while (s->nc)
        pub_drop(s, s->c[0].fd);
    loop_fd_del(s->loop, s->lfd);
    close(s->lfd);
    free(s);
}

static void run_for(loop_t *l, uint64_t ms)
{
    uint64_t until = mono_ns() + ms * 1000000u;
    while (mono_ns() < until)
        loop_run_once(l, 5);
}

static void test_pub_paced_bodies_on_kept_alive_connections(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct pub_server *s = pub_server_start(l);
    conn_settings_t co;
    conn_settings_init(&co);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/publish?event=bench", s->port);
    bench_pub_config_t pc = {.url = url, .rate = 200, .field = "ts_ns", .co = &co};
    char err[256] = "";
    bench_pub_t *p = bench_pub_new(l, &pc, err, sizeof(err));
    assert_non_null(p);
    uint64_t real0 = real_ns();
    bench_pub_start(p);
    run_for(l, 300);
    bench_pub_stop(p);
    run_for(l, 20);
    /* 200/s for 0.3 s: message 0 at once, then one every 5 ms. */
    assert_int_equal(bench_pub_busy(p), 0); /* the last answers came in */
    uint64_t acc = bench_pub_accepted(p);
    assert_true(acc >= 50 && acc <= 62);
    assert_int_equal(bench_pub_failed(p), 0);
    assert_string_equal(bench_pub_first_error(p), "");
    assert_int_equal(s->nposts, (int)acc);
    assert_true(s->json_type);
    for (int i = 0; i < s->nposts; i++) {
        assert_int_equal(s->seq[i], i);
        /* Intended times, exactly 5 ms apart whenever they were sent. */
        assert_true(s->ts[i] - s->ts[0] == (uint64_t)i * 5000000u);
    }
    assert_true(s->ts[0] >= real0 - 1000000 && s->ts[0] < real0 + 50000000);
    /* Kept alive: far fewer connections than messages (a loaded machine
     * answers late, and a POST due meanwhile takes another slot and its
     * connection: a few more than one, never one a message). */
    assert_true(s->conns >= 1 && s->conns <= s->nposts / 4);
    bench_pub_free(p);
    conn_settings_free(&co);
    pub_server_stop(s);
    loop_free(l);
}

static void test_pub_failures_are_counted(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct pub_server *s = pub_server_start(l);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/fail", s->port);
    bench_pub_config_t pc = {.url = url, .rate = 100, .field = "ts_ns"};
    char err[256] = "";
    bench_pub_t *p = bench_pub_new(l, &pc, err, sizeof(err));
    assert_non_null(p);
    bench_pub_start(p);
    run_for(l, 100);
    bench_pub_stop(p);
    assert_true(bench_pub_failed(p) >= 5);
    assert_int_equal(bench_pub_accepted(p), 0);
    assert_non_null(strstr(bench_pub_first_error(p), "500"));
    bench_pub_free(p);
    pub_server_stop(s);

    /* Nobody listening: transport errors, one line. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/publish", free_port());
    p = bench_pub_new(l, &pc, err, sizeof(err));
    assert_non_null(p);
    bench_pub_start(p);
    run_for(l, 100);
    bench_pub_free(p); /* stops, too */
    loop_free(l);
}

static void test_pub_stop_waits_abort_drops(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct pub_server *s = pub_server_start(l);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", s->port);
    bench_pub_config_t pc = {.url = url, .rate = 2000, .field = "ts_ns"};
    char err[256] = "";
    bench_pub_t *p = bench_pub_new(l, &pc, err, sizeof(err));
    assert_non_null(p);
    bench_pub_start(p);
    run_for(l, 200);
    /* Never answered: every slot busy, the rest waits in the scheduler. */
    assert_int_equal(s->requests, BENCH_PUB_INFLIGHT);
    assert_int_equal(s->conns, BENCH_PUB_INFLIGHT);
    /* stop: nothing new is sent, what is in flight still waits for its
     * answer (the endpoint may have taken it) */
    bench_pub_stop(p);
    run_for(l, 50);
    assert_int_equal(bench_pub_busy(p), BENCH_PUB_INFLIGHT);
    assert_int_equal(s->requests, BENCH_PUB_INFLIGHT);
    assert_int_equal(s->nc, BENCH_PUB_INFLIGHT);
    /* abort: dropped uncounted, their connections closed */
    bench_pub_abort(p);
    run_for(l, 50);
    assert_int_equal(bench_pub_busy(p), 0);
    assert_int_equal(bench_pub_accepted(p), 0);
    assert_int_equal(bench_pub_failed(p), 0);
    assert_int_equal(s->requests, BENCH_PUB_INFLIGHT);
    assert_int_equal(s->nc, 0);
    bench_pub_free(p);
    pub_server_stop(s);
    loop_free(l);
}

static void test_pub_timeout(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct pub_server *s = pub_server_start(l);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", s->port);
    bench_pub_config_t pc = {.url = url, .rate = 2000, .timeout_ms = 150, .field = "ts_ns"};
    char err[256] = "";
    bench_pub_t *p = bench_pub_new(l, &pc, err, sizeof(err));
    assert_non_null(p);
    bench_pub_start(p);
    run_for(l, 100);
    assert_int_equal(bench_pub_failed(p), 0); /* not yet */
    run_for(l, 150);
    /* the first POSTs timed out (failed, uncounted as sent), new ones went out */
    assert_int_equal(bench_pub_failed(p), BENCH_PUB_INFLIGHT);
    assert_int_equal(bench_pub_accepted(p), 0);
    assert_non_null(strstr(bench_pub_first_error(p), "timed out"));
    assert_int_equal(s->requests, 2 * BENCH_PUB_INFLIGHT);
    bench_pub_free(p);
    pub_server_stop(s);
    loop_free(l);
}

static void test_pub_rejects_bad_config(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    char err[256];
    static const struct {
        const char *url;
        double rate;
        const char *want;
    } cases[] = {
        {"ws://127.0.0.1:1/publish", 10, "--publish"},
        {"127.0.0.1:8080/publish", 10, "--publish"},
        {"http:/", 10, "--publish"},
        {"", 10, "--publish"},
        {"http://127.0.0.1:1/publish", 0, "--publish-rate"},
        {"http://127.0.0.1:1/publish", -1, "--publish-rate"},
        {"http://127.0.0.1:1/publish", 2e9, "--publish-rate"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bench_pub_config_t pc = {.url = cases[i].url, .rate = cases[i].rate, .field = "ts_ns"};
        err[0] = '\0';
        assert_null(bench_pub_new(l, &pc, err, sizeof(err)));
        assert_non_null(strstr(err, cases[i].want));
        assert_null(strchr(err, '\n'));
    }
    bench_pub_config_t ok = {.url = "HTTPS://example.invalid/p", .rate = 0.5, .field = "t\"x"};
    bench_pub_t *p = bench_pub_new(l, &ok, err, sizeof(err));
    assert_non_null(p);
    bench_pub_free(p); /* never started */
    loop_free(l);
}

static int setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

static int use_curl(void **state)
{
    (void)state;
    sse_drv = &bench_sse_driver;
    return 0;
}

static int use_native(void **state)
{
    (void)state;
    sse_drv = &bench_sse_h1_driver;
    return 0;
}

int main(void)
{
    const struct CMUnitTest sse_tests[] = {
        cmocka_unit_test(test_streams_events_and_latency),
        cmocka_unit_test(test_bad_status_and_type_fail),
        cmocka_unit_test(test_server_close_is_dropped),
        cmocka_unit_test(test_server_reset_is_dropped),
        cmocka_unit_test(test_event_over_max_message),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_connect_timeout_covers_the_response_head),
        cmocka_unit_test(test_source_address_and_resolve),
    };
    const struct CMUnitTest pub_tests[] = {
        cmocka_unit_test(test_pub_paced_bodies_on_kept_alive_connections),
        cmocka_unit_test(test_pub_failures_are_counted),
        cmocka_unit_test(test_pub_stop_waits_abort_drops),
        cmocka_unit_test(test_pub_timeout),
        cmocka_unit_test(test_pub_rejects_bad_config),
    };
    int failed = 0;
    if (setup(NULL) != 0)
        return 1;
    use_curl(NULL);
    failed += cmocka_run_group_tests_name("libcurl driver", sse_tests, NULL, NULL);
    use_native(NULL);
    failed += cmocka_run_group_tests_name("native driver", sse_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("publisher", pub_tests, NULL, NULL);
    teardown(NULL);
    return failed;
}
