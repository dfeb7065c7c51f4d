/* Unit tests for src/bench/bench_stream.c, the driver of SSE streams as
 * requests, run by the real engine (bench_run: worker threads, phases)
 * against a small scripted HTTP/1.1 server on its own thread that answers
 * each request with an event stream on timers (the path picks the script),
 * keeping connections alive between answers. What is checked: the request
 * each stream sends (method, body, no Expect), how each ending counts
 * (completed by the end event or, without a marker, by the response's end;
 * sse_error, http_status, incomplete, idle_timeout, too_big), kept-alive
 * connections, the timing histograms against the server's known delays,
 * --requests exactly over threads, the open loop's dropped arrivals, and
 * streams cut by the end of the run counted as unfinished. */
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
#include "bench_run.h"
#include "buf.h"
#include "clock.h"
#include "rate.h"

/* ---- the server, on its own thread ---- */

#define MAX_CLIENTS 64
#define FIRST_MS    40 /* /ok: the first event, after the request */
#define GAP_MS      15 /* /ok: then every GAP_MS, 3 more events and [DONE] */

struct client {
    struct server *s;
    int fd;
    buf_t in;
    loop_timer_t t;
    int step; /* of the script of the answer in progress; -1: none */
    char path[32];
};

struct server {
    loop_t *loop;
    pthread_t tid;
    int lfd, stop_fd, port;
    struct client c[MAX_CLIENTS];
    /* what the requests said (read by the test after server_stop) */
    int requests, posts, expects, form_type, bodies_ok;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void send_chunk(int fd, const char *text)
{
    char head[16];
    int n = snprintf(head, sizeof(head), "%zx\r\n", strlen(text));
    send_all(fd, head, (size_t)n);
    send_all(fd, text, strlen(text));
    send_all(fd, "\r\n", 2);
}

static const char chunked_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";

static void client_close(struct client *c)
{
    loop_timer_stop(c->s->loop, &c->t);
    loop_fd_del(c->s->loop, c->fd);
    close(c->fd);
    buf_free(&c->in);
    c->fd = -1;
}

static void answer_done(struct client *c)
{
    send_all(c->fd, "0\r\n\r\n", 5);
    c->step = -1;
}

/* The next step of the answer in progress. */
static void on_step(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    struct client *c = ud;
    int step = c->step++;
    if (strcmp(c->path, "/ok") == 0) {
        if (step < 4) {
            send_chunk(c->fd, "data: {\"token\":\"a\"}\n\n");
            loop_timer_arm_ms(l, &c->t, GAP_MS);
        } else {
            send_chunk(c->fd, "data: [DONE]\n\n");
            answer_done(c);
        }
    } else if (strcmp(c->path, "/error") == 0) {
        send_chunk(c->fd,
                   "data: a\n\nevent: error\ndata: {\"error\":\"overloaded\"}\n\ndata: b\n\n");
        answer_done(c);
    } else if (strcmp(c->path, "/incomplete") == 0) {
        send_chunk(c->fd, ": hello\n\ndata: a\n\ndata: b\n\n");
        answer_done(c);
    } else if (strcmp(c->path, "/after") == 0) {
        /* the end event, then the response goes on and never ends */
        send_chunk(c->fd, "data: a\n\ndata: [DONE]\n\ndata: more\n\n");
    } else if (strcmp(c->path, "/big") == 0) {
        char big[700] = "data: ";
        memset(big + 6, 'x', 600);
        strcpy(big + 606, "\n\n");
        send_chunk(c->fd, big);
        answer_done(c);
    }
}

/* A complete request in c->in: its answer starts. */
static void on_request(struct client *c, const char *req, size_t head, size_t body)
{
    struct server *s = c->s;
    s->requests++;
    s->posts += strncmp(req, "POST ", 5) == 0;
    s->expects += strstr(req, "\r\nExpect:") != NULL && strstr(req, "\r\nExpect:") < req + head;
    s->form_type += strstr(req, "application/x-www-form-urlencoded") != NULL;
    s->bodies_ok += body == 17 && memcmp(req + head, "{\"max_tokens\":20}", 17) == 0;
    const char *sp = strchr(req, ' ');
    size_t n = strcspn(sp + 1, " ");
    snprintf(c->path, sizeof(c->path), "%.*s", (int)(n < 31 ? n : 31), sp + 1);
    c->step = 0;
    if (strcmp(c->path, "/status") == 0) {
        static const char r[] = "HTTP/1.1 429 Too Many\r\nContent-Length: 4\r\n\r\nslow";
        send_all(c->fd, r, sizeof(r) - 1);
        c->step = -1;
        return;
    }
    if (strcmp(c->path, "/close") == 0) { /* an answer delimited by the connection's end */
        static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                "Connection: close\r\n\r\ndata: a\n\ndata: b\n\n";
        send_all(c->fd, r, sizeof(r) - 1);
        client_close(c);
        return;
    }
    send_all(c->fd, chunked_head, sizeof(chunked_head) - 1);
    if (strcmp(c->path, "/silent") != 0)
        loop_timer_arm_ms(s->loop, &c->t, strcmp(c->path, "/ok") == 0 ? FIRST_MS : 0);
}

static void on_client(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)fd;
    (void)ev;
    struct client *c = ud;
    char tmp[4096];
    ssize_t n = read(c->fd, tmp, sizeof(tmp));
    if (n <= 0) {
        client_close(c);
        return;
    }
    buf_append(&c->in, tmp, (size_t)n);
    for (;;) { /* one request at a time: the client waits for each answer */
        char *end = c->in.len ? memmem(c->in.p, c->in.len, "\r\n\r\n", 4) : NULL;
        if (!end || c->step >= 0)
            return;
        size_t head = (size_t)(end + 4 - c->in.p);
        const char *cl = strstr(c->in.p, "Content-Length: ");
        size_t body = cl && cl < end ? (size_t)strtoul(cl + 16, NULL, 10) : 0;
        if (c->in.len < head + body)
            return;
        on_request(c, c->in.p, head, body);
        if (c->fd < 0)
            return;
        buf_consume(&c->in, head + body);
    }
}

static void on_accept(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct server *s = ud;
    int cfd = accept(fd, NULL, NULL);
    if (cfd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &s->c[i];
        if (c->fd >= 0)
            continue;
        c->fd = cfd;
        c->step = -1;
        buf_init(&c->in);
        loop_timer_init(&c->t, on_step, c);
        loop_fd_add(l, cfd, LOOP_READ, on_client, c);
        return;
    }
    close(cfd);
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

static struct server *server_start(void)
{
    struct server *s = xcalloc(1, sizeof(*s));
    for (int i = 0; i < MAX_CLIENTS; i++) {
        s->c[i].fd = -1;
        s->c[i].s = s;
    }
    s->loop = loop_new();
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(loop_fd_add(s->loop, s->lfd, LOOP_READ, on_accept, s), 0);
    s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_int_equal(loop_fd_add(s->loop, s->stop_fd, LOOP_READ, on_stop, s), 0);
    assert_int_equal(pthread_create(&s->tid, NULL, server_main, s), 0);
    return s;
}

/* Joins the thread (its counts are then the test's to read) and frees. */
static void server_stop(struct server *s)
{
    uint64_t one = 1;
    assert_int_equal(write(s->stop_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
    pthread_join(s->tid, NULL);
}

static void server_free(struct server *s)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->c[i].fd >= 0)
            client_close(&s->c[i]);
    loop_fd_del(s->loop, s->lfd);
    loop_fd_del(s->loop, s->stop_fd);
    close(s->lfd);
    close(s->stop_fd);
    loop_free(s->loop);
    free(s);
}

/* ---- a run ---- */

struct fixture {
    struct server *srv;
    conn_settings_t co;
    bench_config_t cfg;
    bench_result_t r;
    char url[128];
};

static const char body[] = "{\"max_tokens\":20}";

static void fixture_init(struct fixture *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->srv = server_start();
    conn_settings_init(&f->co);
    f->co.connect_timeout_ms = 2000;
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", f->srv->port, path);
    f->cfg.kind = BENCH_SSE;
    f->cfg.url = f->url;
    f->cfg.latency_field = "ts_ns";
    f->cfg.max_message = 512;
    f->cfg.co = &f->co;
    f->cfg.threads = 2;
    f->cfg.connections = 4;
    f->cfg.connect_rate = 1000;
    f->cfg.duration_ns = UINT64_MAX;
    f->cfg.streams.on = true;
    f->cfg.streams.method = "POST";
    f->cfg.streams.body = body;
    f->cfg.streams.body_len = sizeof(body) - 1;
    f->cfg.streams.requests = 12;
    f->cfg.streams.arrivals = UINT64_MAX; /* no --duration */
    f->cfg.streams.end_data = "[DONE]";
    f->cfg.streams.idle_timeout_ms = 5000;
    bench_result_init(&f->r);
}

static void run(struct fixture *f)
{
    char err[256] = "";
    if (bench_run(&f->cfg, &bench_stream_driver, NULL, NULL, NULL, &f->r, err, sizeof(err)) != 0)
        fail_msg("bench_run: %s", err);
    server_stop(f->srv);
    const bench_streams_t *st = &f->r.streams;
    assert_true(st->on);
    /* Every slot ends once; every started stream once (one request each). */
    const bench_counters_t *c = &f->r.c;
    assert_int_equal(c->attempted, f->cfg.connections);
    assert_int_equal(c->established, f->cfg.connections);
    assert_int_equal(c->ended, f->cfg.connections);
    assert_int_equal(c->failed + c->dropped, 0);
    assert_int_equal(st->completed + st->failed + st->unfinished, c->sent);
    uint64_t errs = 0;
    for (int k = 0; k < BERR_COUNT; k++)
        errs += c->errors[k];
    assert_int_equal(errs, st->failed);
}

static void fixture_free(struct fixture *f)
{
    server_free(f->srv);
    bench_result_free(&f->r);
    conn_settings_free(&f->co);
}

/* ---- tests ---- */

static void test_requests_on_kept_connections_with_known_timing(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok");
    f.cfg.streams.requests = 13; /* not a multiple of the threads or slots */
    run(&f);
    const bench_streams_t *st = &f.r.streams;
    assert_int_equal(st->completed, 13);
    assert_int_equal(st->failed + st->dropped + st->unfinished, 0);
    assert_int_equal(f.r.c.sent, 13);
    assert_int_equal(f.r.c.received, 13 * 5); /* the end events too */
    assert_int_equal(st->events, 13 * 4);     /* but not as events of a stream */
    /* one connection per slot, kept between requests */
    assert_int_equal(st->connections, 4);
    assert_int_equal(hist_count(&f.r.connect), 4);
    assert_int_equal(f.srv->requests, 13);
    assert_int_equal(f.srv->posts, 13);
    assert_int_equal(f.srv->bodies_ok, 13);
    assert_int_equal(f.srv->form_type, 13); /* curl's default, as for listen -d */
    assert_int_equal(f.srv->expects, 0);
    /* timing: the server's delays, give or take scheduling */
    assert_int_equal(hist_count(&st->first_event), 13);
    assert_int_equal(hist_count(&st->event_gap), 13 * 3);
    assert_true(hist_min(&st->first_event) >= (FIRST_MS - 1) * 1000000ull);
    assert_true(hist_percentile(&st->first_event, 50) < (FIRST_MS + 15) * 1000000ull);
    /* A gap is short when the event before it came late (a busy machine):
     * the median, not the least. */
    uint64_t gap50 = hist_percentile(&st->event_gap, 50);
    if (gap50 < (GAP_MS - 2) * 1000000ull || gap50 > (GAP_MS + 10) * 1000000ull)
        fail_msg("event gap p50 %llu ns, not %d ms", (unsigned long long)gap50, GAP_MS);
    uint64_t whole = (FIRST_MS + 4 * GAP_MS) * 1000000ull;
    assert_true(hist_min(&st->stream) >= whole - 3000000);
    assert_true(hist_percentile(&st->stream, 50) < whole + 30000000);
    assert_int_equal(hist_min(&st->events_per_stream), 4);
    assert_int_equal(hist_max(&st->events_per_stream), 4);
    assert_int_equal(hist_count(&f.r.latency), 0); /* no timestamps in these events */
    assert_int_equal(f.r.c.errors[BERR_NO_TIMESTAMP], 0);
    fixture_free(&f);
}

/* How each kind of ending counts: path, end marker, the kind each stream
 * fails with (BERR_COUNT: each completes). */
static void test_endings(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        const char *end;
        bench_err_t kind;
        uint64_t events; /* per stream, end events aside */
    } cases[] = {
        {"/error", "[DONE]", BERR_SSE_ERROR, 1},       {"/status", "[DONE]", BERR_HTTP_STATUS, 0},
        {"/incomplete", "[DONE]", BERR_INCOMPLETE, 2}, {"/incomplete", "", BERR_COUNT, 2},
        {"/close", "[DONE]", BERR_INCOMPLETE, 2},      {"/close", "", BERR_COUNT, 2},
        {"/big", "[DONE]", BERR_TOO_BIG, 0},           {"/silent", "[DONE]", BERR_IDLE_TIMEOUT, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fixture_init(&f, cases[i].path);
        f.cfg.streams.end_data = cases[i].end;
        f.cfg.streams.idle_timeout_ms = 100;
        f.cfg.streams.requests = 6;
        run(&f);
        const bench_streams_t *st = &f.r.streams;
        bool ok = cases[i].kind == BERR_COUNT;
        if (st->completed != (ok ? 6u : 0u) || st->failed != (ok ? 0u : 6u) ||
            (!ok && f.r.c.errors[cases[i].kind] != 6) || st->events != 6 * cases[i].events)
            fail_msg("%s (end '%s'): %llu completed, %llu failed, %llu of kind %s, %llu events",
                     cases[i].path, cases[i].end, (unsigned long long)st->completed,
                     (unsigned long long)st->failed,
                     (unsigned long long)(ok ? 0 : f.r.c.errors[cases[i].kind]),
                     ok ? "-" : bench_err_name(cases[i].kind), (unsigned long long)st->events);
        if (ok)
            assert_int_equal(hist_count(&st->stream), 6);
        else
            assert_int_equal(hist_count(&st->stream), 0);
        fixture_free(&f);
    }
}

/* An answer that goes on past its end event: the stream completed when the
 * event came; its connection is closed after a grace, not reused. */
static void test_answer_going_on_after_the_end(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/after");
    f.cfg.connections = 2;
    f.cfg.streams.requests = 4;
    uint64_t t0 = mono_ns();
    run(&f);
    uint64_t took_ms = (mono_ns() - t0) / 1000000;
    assert_int_equal(f.r.streams.completed, 4);
    assert_true(hist_max(&f.r.streams.stream) < 500000000u); /* timed at the end event */
    assert_int_equal(f.r.streams.connections, 4);            /* none could be kept */
    assert_true(took_ms >= 1900 && took_ms < 8000);          /* two grace periods a slot */
    fixture_free(&f);
}

/* Open loop: arrivals on a schedule; with every slot busy, dropped. */
static void test_open_loop_drops_what_finds_no_slot(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok"); /* each stream ~100 ms */
    f.cfg.connections = 2;
    f.cfg.streams.arrival_rate = 100;
    f.cfg.streams.requests = 30; /* 0.3 s of arrivals for 2 slots: ~6 fit */
    run(&f);
    const bench_streams_t *st = &f.r.streams;
    assert_int_equal(st->completed + st->failed + st->dropped, 30);
    assert_int_equal(st->failed, 0);
    assert_true(st->dropped >= 15);
    assert_true(st->completed >= 4);
    assert_true(st->arrival_rate == 100);
    /* a schedule that the slots keep up with drops nothing */
    struct fixture g;
    fixture_init(&g, "/ok");
    g.cfg.connections = 12;
    g.cfg.streams.arrival_rate = 50;
    g.cfg.streams.requests = 10;
    uint64_t t0 = mono_ns();
    run(&g);
    uint64_t took_ms = (mono_ns() - t0) / 1000000;
    assert_int_equal(g.r.streams.completed, 10);
    assert_int_equal(g.r.streams.dropped, 0);
    /* 10 arrivals at 50/s: the last starts at 180 ms, ends ~100 ms later */
    assert_true(took_ms >= 250 && took_ms < 3000);
    fixture_free(&f);
    fixture_free(&g);
}

/* Open loop for a duration: rate x duration arrivals in all, those due
 * strictly before its end, shared out over the threads (20/s for 0.5 s:
 * 10, not one more a thread for the one due at the end), and the run
 * lasts the duration even though the schedule is over before it. */
static void test_open_loop_duration_bounds_arrivals(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok"); /* each stream ~100 ms */
    f.cfg.connections = 6;
    f.cfg.threads = 2;
    f.cfg.streams.requests = 0;
    f.cfg.streams.arrival_rate = 20;
    f.cfg.duration_ns = 500000000u;
    f.cfg.streams.arrivals = rate_count_within(20, f.cfg.duration_ns);
    assert_int_equal(f.cfg.streams.arrivals, 10);
    run(&f);
    const bench_streams_t *st = &f.r.streams;
    assert_int_equal(st->completed + st->failed + st->dropped + st->unfinished, 10);
    assert_int_equal(st->failed + st->dropped, 0);
    assert_true(f.r.measure_s >= 0.5);
    fixture_free(&f);
}

/* Without --requests the duration ends the run: streams in flight then are
 * unfinished, neither completed nor failed. */
static void test_duration_cuts_streams_unfinished(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "/ok");
    f.cfg.streams.requests = 0;
    f.cfg.duration_ns = 250000000u;
    run(&f);
    const bench_streams_t *st = &f.r.streams;
    assert_true(st->completed >= 4);
    assert_int_equal(st->failed, 0);
    assert_true(st->unfinished >= 1 && st->unfinished <= 4);
    fixture_free(&f);
}

/* The shares of --requests and of anything that goes with the connections
 * add up exactly, however the connections are divided. */
static void test_shares_add_up(void **state)
{
    (void)state;
    static const uint64_t totals[] = {0, 1, 7, 13, 1000, 999999937};
    static const uint64_t conns[] = {1, 2, 3, 10, 97};
    for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        for (size_t j = 0; j < sizeof(conns) / sizeof(conns[0]); j++) {
            for (uint64_t parts = 1; parts <= conns[j]; parts++) {
                uint64_t sum = 0, first = 0;
                for (uint64_t p = 0; p < parts; p++) {
                    uint64_t n = conns[j] / parts + (p < conns[j] % parts ? 1 : 0);
                    sum += bench_share(totals[i], first, n, conns[j]);
                    first += n;
                }
                assert_int_equal(sum, totals[i]);
            }
        }
    }
    assert_int_equal(bench_share(5, 0, 1, 0), 0);
    assert_true(bench_share(UINT64_MAX, 3, 2, 10) == UINT64_MAX); /* no bound stays none */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_on_kept_connections_with_known_timing),
        cmocka_unit_test(test_endings),
        cmocka_unit_test(test_answer_going_on_after_the_end),
        cmocka_unit_test(test_open_loop_drops_what_finds_no_slot),
        cmocka_unit_test(test_open_loop_duration_bounds_arrivals),
        cmocka_unit_test(test_duration_cuts_streams_unfinished),
        cmocka_unit_test(test_shares_add_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
