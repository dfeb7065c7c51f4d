/* Unit tests for src/bench/bench_ws_replay.c on the WebSocket driver
 * (bench_ws.c): connections playing a conversation, run by hand on a real
 * loop against evcat's own server in the same loop (/echo): on-open first,
 * templates with each connection's number, pings, latency samples, --expect
 * (all matching; a difference; a reply missing when the close phase comes,
 * counted once per connection with the worker's first line kept), and
 * --no-timing with more than one scratch buffer's worth of messages. Each
 * test checks that every connection ended exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bench_worker.h"
#include "buf.h"
#include "clock.h"
#include "serve.h"
#include "ws_session.h"

struct h {
    loop_t *l;
    serve_t *srv;
    bench_config_t cfg;
    bench_control_t ctl;
    bench_worker_t w;
    conn_settings_t co;
    recording_t rec;
    replay_script_t script;
    char host_header[80];
};

static rec_msg_t msg(double t, bool in, int type, const char *data, size_t len)
{
    rec_msg_t m = {.t = t, .in = in, .type = type, .data = (char *)data, .len = len};
    return m;
}

static rec_msg_t text(double t, bool in, const char *data)
{
    return msg(t, in, WS_TEXT, data, strlen(data));
}

/* A worker on a fresh loop with evcat serve on it, playing msgs[0..n). */
static void h_init(struct h *h, rec_msg_t *msgs, size_t n, const replay_script_opts_t *o)
{
    memset(h, 0, sizeof(*h));
    h->l = loop_new();
    serve_config_t sc;
    serve_config_defaults(&sc);
    serve_parse_listen("127.0.0.1:0", &sc.addr, &sc.addr_len);
    sc.tick_ms = 0;
    sc.max_message = 1u << 20;
    char err[200];
    assert_int_equal(serve_start(h->l, &sc, &h->srv, err, sizeof(err)), 0);
    char a[80];
    serve_local_addr(h->srv, a, sizeof(a));
    bench_config_t *c = &h->cfg;
    assert_int_equal(serve_parse_listen(a, &c->addr, &c->addrlen), 0);
    snprintf(h->host_header, sizeof(h->host_header), "%s", a);
    h->rec = (recording_t){.proto = REC_WS, .msgs = msgs, .nmsgs = n};
    assert_int_equal(replay_script_build(&h->script, &h->rec, o, err, sizeof(err)), 0);
    bench_control_set_phase(&h->ctl, BENCH_MEASURE);
    h->co.connect_timeout_ms = 2000;
    c->kind = BENCH_WS_REPLAY;
    c->url = "ws://test";
    c->host = "127.0.0.1";
    c->target = "/echo";
    c->host_header = h->host_header;
    c->threads = 1;
    c->max_message = 1u << 20;
    c->co = &h->co;
    c->replay = &h->script;
    c->ws_req.host_header = h->host_header;
    c->ws_req.target = "/echo";
    h->w.cfg = c;
    h->w.drv_ops = &bench_ws_driver;
    h->w.ctl = &h->ctl;
    h->w.loop = h->l;
    hist_init(&h->w.latency);
    hist_init(&h->w.connect);
    assert_int_equal(bench_ws_driver.init(&h->w, err, sizeof(err)), 0);
}

static void h_run(struct h *h, uint64_t ms, bool (*done)(struct h *))
{
    uint64_t end = mono_ns() + ms * 1000000u;
    while (mono_ns() < end && !(done && done(h)))
        loop_run_once(h->l, 5);
}

static uint64_t want_received;

static bool received_all(struct h *h)
{
    return h->w.c.received >= want_received;
}

static bool none_live(struct h *h)
{
    return h->w.live == 0;
}

/* Starts n connections numbered first.., runs until `received` messages came
 * (or ms passed), then the close phase. */
static void h_play(struct h *h, uint64_t first, uint64_t n, uint64_t received, uint64_t ms)
{
    for (uint64_t i = 0; i < n; i++)
        bench_worker_start_conn(&h->w, first + i);
    want_received = received;
    h_run(h, ms, received_all);
    bench_control_set_phase(&h->ctl, BENCH_CLOSE);
    h->w.closing = true;
    bench_ws_driver.close_all(&h->w);
    h_run(h, 2000, none_live);
    assert_int_equal(h->w.live, 0);
    const bench_counters_t *c = &h->w.c;
    assert_int_equal(c->established, n);
    assert_int_equal(c->attempted, c->failed + c->dropped + c->ended);
}

static void h_free(struct h *h)
{
    bench_ws_driver.free(&h->w);
    hist_free(&h->w.latency);
    hist_free(&h->w.connect);
    serve_free(h->srv);
    loop_free(h->l);
    replay_script_free(&h->script);
}

static uint64_t errors_total(const struct h *h)
{
    uint64_t n = 0;
    for (int k = 0; k < BERR_COUNT; k++)
        n += h->w.c.errors[k];
    return n;
}

static void test_conversation(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        text(0.01, false, "login u{{conn}} #{{seq}}"),
        text(0.02, true, "login u{{conn}} #{{seq}}"),
        msg(0.03, false, WS_PING, "p", 1),
        msg(0.031, true, WS_PONG, "p", 1),
        text(0.05, false, "sub {{seq}}"),
        text(0.06, true, "sub {{seq}}"),
        msg(0.07, false, WS_BINARY, "\x00\x01\x02", 3),
        msg(0.08, true, WS_BINARY, "\x00\x01\x02", 3),
        msg(0.09, false, WS_CLOSE, "", 0),
    };
    const char *on_open[] = {"hi {{conn}}"};
    /* The recording knows nothing of the greeting's echo: with --expect it
     * would be a difference, so it is recorded here first. */
    rec_msg_t with_greeting[10];
    with_greeting[0] = text(0.0, true, "hi {{conn}}");
    memcpy(with_greeting + 1, msgs, sizeof(msgs));
    replay_script_opts_t o = {.speed = 1, .expect = true, .tmpl = true, .on_open = on_open,
                              .non_open = 1, .max_message = 1u << 20};
    struct h h;
    h_init(&h, with_greeting, 10, &o);
    h_play(&h, 1000, 6, 6 * 4, 3000);
    const bench_counters_t *c = &h.w.c;
    print_message("replay: sent %llu received %llu latency p50 %.3f ms, max %.3f ms\n",
                  (unsigned long long)c->sent, (unsigned long long)c->received,
                  hist_percentile(&h.w.latency, 50) / 1e6, hist_max(&h.w.latency) / 1e6);
    assert_int_equal(c->sent, 6 * 4); /* greeting, login, sub, binary: not the ping */
    assert_int_equal(c->received, 6 * 4);
    /* "hi 1000" .. "hi 1005", "login u1000 #2", "sub 3", binary */
    assert_int_equal(c->bytes_sent, 6 * (7 + 14 + 5 + 3));
    assert_int_equal(c->bytes_received, c->bytes_sent);
    assert_int_equal(hist_count(&h.w.latency), 6 * 4);
    assert_true(hist_max(&h.w.latency) < 1000000000ull);
    assert_int_equal(errors_total(&h), 0);
    assert_string_equal(h.w.mismatch, "");
    h_free(&h);
}

static void test_mismatch(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        text(0.0, false, "a"),
        text(0.01, true, "a"),
        text(0.02, false, "b"),
        text(0.03, true, "B"), /* the echo says b */
        text(0.04, false, "c"),
        text(0.05, true, "c"), /* not compared any more */
    };
    replay_script_opts_t o = {.speed = 1, .expect = true, .max_message = 1u << 20};
    struct h h;
    h_init(&h, msgs, 6, &o);
    h_play(&h, 0, 4, 4 * 3, 3000);
    assert_int_equal(h.w.c.received, 12);
    assert_int_equal(h.w.c.errors[BERR_MISMATCH], 4); /* one per connection */
    assert_int_equal(errors_total(&h), 4);
    assert_non_null(strstr(h.w.mismatch, ": message 2 differs: expected text \"B\", got text "
                                         "\"b\""));
    assert_true(strncmp(h.w.mismatch, "connection ", 11) == 0);
    assert_true(h.w.mismatch_at_ns > 0);
    h_free(&h);
}

static void test_missing_at_close(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        text(0.0, false, "a"),
        text(0.01, true, "a"),
        text(0.02, true, "pushed by the server"), /* /echo never sends it */
    };
    replay_script_opts_t o = {.speed = 1, .expect = true, .max_message = 1u << 20};
    struct h h;
    h_init(&h, msgs, 3, &o);
    h_play(&h, 0, 3, 3, 3000);
    assert_int_equal(h.w.c.errors[BERR_MISMATCH], 3);
    assert_non_null(strstr(h.w.mismatch, ": message 2 is missing (expected text \"pushed by the "
                                         "server\"): the measurement ended"));
    h_free(&h);
}

static void test_no_timing_bulk(void **state)
{
    (void)state;
    /* 40 messages of 10,000 bytes a connection: several scratch buffers
     * (64 KiB), so the cursor goes on where a full one stopped */
    enum { N = 40, SIZE = 10000 };
    static char payload[SIZE];
    memset(payload, 'z', sizeof(payload));
    static rec_msg_t msgs[N];
    for (size_t i = 0; i < N; i++)
        msgs[i] = msg(100.0 + (double)i, false, WS_TEXT, payload, SIZE);
    replay_script_opts_t o = {.speed = 1, .no_timing = true, .max_message = 1u << 20};
    struct h h;
    h_init(&h, msgs, N, &o);
    h_play(&h, 0, 3, 3 * N, 5000);
    assert_int_equal(h.w.c.sent, 3 * N);
    assert_int_equal(h.w.c.received, 3 * N);
    assert_int_equal(h.w.c.bytes_received, 3ull * N * SIZE);
    assert_int_equal(hist_count(&h.w.latency), 0); /* no incoming in the recording */
    assert_int_equal(errors_total(&h), 0);
    h_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_missing_at_close),
        cmocka_unit_test(test_no_timing_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
