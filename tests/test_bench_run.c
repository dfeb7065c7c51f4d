/* Unit tests for the engine of src/bench/ (bench_run.c, the coordinator;
 * bench_thread.c, the worker threads; bench_worker.c, the accounting),
 * bench_result.c and bench_report.c, with a mock driver (connections that
 * "connect" on a timer and exchange nothing but latencies): phases in
 * order, every connection accounted exactly once, latency only inside the
 * measurement window, failures and drops counted by kind, the per-second
 * series recorded (summing to the totals), shard JSON round trips and merges
 * exactly, the JSON summary carries the fields evcat(1) lists under BENCH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench_report.h"
#include "bench_run.h"
#include "bench_worker.h"
#include "buf.h"
#include "clock.h"

/* ---- the mock driver ---- */

struct mconn {
    bench_worker_t *w;
    loop_timer_t t;
    uint64_t index;
    uint64_t started;
    int state; /* 0 connecting, 1 open */
    struct mconn *next, *prev;
};

struct mworker {
    struct mconn *head;
    int phases_seen[BENCH_DONE + 1];
};

/* What the mock does, set by each test. */
static struct {
    uint64_t fail_every;  /* index % fail_every == 1: fails (0: never) */
    bool fail_all;
    uint64_t drop_every;  /* index % drop_every == 2: dropped after connecting (0: never) */
    uint64_t sample_ns;   /* latency recorded every 10 ms while open */
} mock;

static void unlink_conn(struct mworker *mw, struct mconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        mw->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void mconn_fire(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    struct mconn *c = ud;
    bench_worker_t *w = c->w;
    struct mworker *mw = w->drv;
    if (c->state == 0) {
        if (mock.fail_all || (mock.fail_every && c->index % mock.fail_every == 1)) {
            unlink_conn(mw, c);
            free(c);
            bench_failed(w, BERR_REFUSED);
            return;
        }
        c->state = 1;
        bench_connected(w, mono_ns() - c->started);
        loop_timer_arm_ms(l, &c->t, 10);
        return;
    }
    mw->phases_seen[bench_phase(w)] = 1;
    if (mock.drop_every && c->index % mock.drop_every == 2 && bench_phase(w) == BENCH_MEASURE) {
        unlink_conn(mw, c);
        free(c);
        bench_lost(w, BERR_CLOSED);
        return;
    }
    bench_sent(w, 1, 10);
    bench_received(w, 1, 10);
    bench_latency(w, mock.sample_ns);
    loop_timer_arm_ms(l, &c->t, 10);
}

static int m_init(bench_worker_t *w, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    w->drv = calloc(1, sizeof(struct mworker));
    return 0;
}

static void m_start(bench_worker_t *w, uint64_t index)
{
    struct mworker *mw = w->drv;
    struct mconn *c = calloc(1, sizeof(*c));
    c->w = w;
    c->index = index;
    c->started = mono_ns();
    loop_timer_init(&c->t, mconn_fire, c);
    loop_timer_arm_ms(w->loop, &c->t, 1);
    c->next = mw->head;
    if (mw->head)
        mw->head->prev = c;
    mw->head = c;
}

static void m_close_all(bench_worker_t *w)
{
    struct mworker *mw = w->drv;
    while (mw->head) {
        struct mconn *c = mw->head;
        loop_timer_stop(w->loop, &c->t);
        unlink_conn(mw, c);
        free(c);
        bench_ended(w);
    }
}

static void m_free(bench_worker_t *w)
{
    free(w->drv);
    w->drv = NULL;
}

static const bench_driver_t mock_driver = {m_init, m_start, m_close_all, m_close_all, m_free};

static conn_settings_t co;

static void config(bench_config_t *cfg, uint64_t n, unsigned threads)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->kind = BENCH_WS_ECHO;
    cfg->url = "mock://";
    cfg->connections = n;
    cfg->connect_rate = 5000;
    cfg->duration_ns = 300 * 1000000ull;
    cfg->threads = threads;
    conn_settings_init(&co);
    cfg->co = &co;
}

static int progress_calls;
static void on_progress(const bench_progress_t *p, void *ud)
{
    (void)ud;
    (void)p;
    progress_calls++;
}

static void test_all_connect(void **state)
{
    (void)state;
    memset(&mock, 0, sizeof(mock));
    mock.sample_ns = 1500000; /* 1.5 ms */
    bench_config_t cfg;
    config(&cfg, 200, 2);
    cfg.duration_ns = 1100 * 1000000ull; /* long enough for one progress report */
    bench_result_t r;
    bench_result_init(&r);
    char err[200];
    progress_calls = 0;
    assert_int_equal(bench_run(&cfg, &mock_driver, NULL, on_progress, NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.target, 200);
    assert_int_equal(r.c.attempted, 200);
    assert_int_equal(r.c.established, 200);
    assert_int_equal(r.c.failed, 0);
    assert_int_equal(r.c.dropped, 0);
    assert_int_equal(r.c.ended, 200);
    assert_int_equal(hist_count(&r.connect), 200);
    assert_true(hist_count(&r.latency) > 0);
    /* every sample is 1.5 ms: percentiles within the histogram's 0.79% */
    uint64_t p99 = hist_percentile(&r.latency, 99);
    assert_true(p99 >= 1500000 && p99 < 1500000 * 1.008);
    assert_true(r.measure_s >= 1.09 && r.measure_s < 1.4);
    assert_true(r.m_received > 0 && r.m_received <= r.c.received);
    assert_int_equal(r.procs, 1);
    assert_int_equal(r.threads, 2);
    assert_true(r.peak_rss_bytes > 0);
    assert_true(progress_calls >= 1);
    bench_result_free(&r);
}

static void test_failures_and_drops(void **state)
{
    (void)state;
    memset(&mock, 0, sizeof(mock));
    mock.fail_every = 4;  /* indices 1, 5, 9, ...: a quarter */
    mock.drop_every = 4;  /* indices 2, 6, 10, ...: a quarter */
    mock.sample_ns = 1000;
    bench_config_t cfg;
    config(&cfg, 100, 3);
    bench_result_t r;
    bench_result_init(&r);
    char err[200];
    assert_int_equal(bench_run(&cfg, &mock_driver, NULL, NULL, NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.c.attempted, 100);
    assert_int_equal(r.c.failed, 25);
    assert_int_equal(r.c.established, 75);
    assert_int_equal(r.c.dropped, 25);
    assert_int_equal(r.c.ended, 50);
    assert_int_equal(r.c.errors[BERR_REFUSED], 25);
    assert_int_equal(r.c.errors[BERR_CLOSED], 25);
    bench_metrics_t m;
    bench_report_metrics(&r, &m);
    assert_int_equal(m.errors, 50);
    assert_int_equal(m.connected, 75);
    bench_result_free(&r);
}

static void test_none_connect(void **state)
{
    (void)state;
    memset(&mock, 0, sizeof(mock));
    mock.fail_all = true;
    bench_config_t cfg;
    config(&cfg, 2, 1);
    cfg.first_index = 1;
    cfg.threads = 1;
    bench_result_t r;
    bench_result_init(&r);
    char err[200];
    uint64_t t0 = mono_ns();
    assert_int_equal(bench_run(&cfg, &mock_driver, NULL, NULL, NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.c.established, 0);
    assert_int_equal(r.c.failed, 2);
    /* no measurement when nothing connected: over quickly, not after --duration */
    assert_true(mono_ns() - t0 < 250 * 1000000ull);
    assert_int_equal(hist_count(&r.latency), 0);
    bench_result_free(&r);
}

/* The series: one entry per second of the run, summing to the totals,
 * phases in order, the open gauge at 0 once all have closed. */
static void test_series_recorded(void **state)
{
    (void)state;
    memset(&mock, 0, sizeof(mock));
    mock.sample_ns = 1000000;
    mock.drop_every = 5; /* indices 2, 7, ...: dropped during the measurement */
    bench_config_t cfg;
    config(&cfg, 100, 2);
    cfg.duration_ns = 1600 * 1000000ull;
    bench_result_t r;
    bench_result_init(&r);
    char err[200];
    uint64_t before = real_ns();
    assert_int_equal(bench_run(&cfg, &mock_driver, NULL, NULL, NULL, &r, err, sizeof(err)), 0);
    uint64_t after = real_ns();
    assert_true(r.started_at_ns >= before && r.started_at_ns <= after);
    uint64_t secs = (after - r.started_at_ns) / 1000000000u + 1;
    assert_true(r.series.len >= 2 && r.series.len <= secs);
    assert_false(r.series.truncated);

    bench_counters_t sum;
    memset(&sum, 0, sizeof(sum));
    uint64_t peak = 0;
    for (size_t i = 0; i < r.series.len; i++) {
        bench_counters_add(&sum, &r.series.s[i].d);
        if (r.series.s[i].open > peak)
            peak = r.series.s[i].open;
        if (i > 0)
            assert_true(r.series.s[i].phase >= r.series.s[i - 1].phase);
    }
    assert_memory_equal(&sum, &r.c, sizeof(sum)); /* every counter, errors included */
    assert_int_equal(r.c.dropped, 20);
    assert_int_equal(sum.errors[BERR_CLOSED], 20);
    /* all 100 open after a 20 ms ramp, then 20 dropped at once */
    assert_true(peak >= 80 && peak <= 100);
    assert_int_equal(r.series.s[0].open, 80);
    assert_int_equal(r.series.s[0].phase, BENCH_MEASURE);
    assert_int_equal(r.series.s[r.series.len - 1].phase, BENCH_DONE);
    assert_int_equal(r.series.s[r.series.len - 1].open, 0);
    /* a run is no shard until the command line says so */
    assert_int_equal(r.shard_count, 0);
    assert_string_equal(r.test_id, "");
    bench_result_free(&r);
}

static void test_shard_json_merge(void **state)
{
    (void)state;
    memset(&mock, 0, sizeof(mock));
    mock.sample_ns = 2000000;
    bench_config_t cfg;
    config(&cfg, 40, 2);
    bench_result_t a, b;
    bench_result_init(&a);
    bench_result_init(&b);
    char err[200];
    assert_int_equal(bench_run(&cfg, &mock_driver, NULL, NULL, NULL, &a, err, sizeof(err)), 0);
    mock.sample_ns = 4000000;
    cfg.first_index = 40;
    assert_int_equal(bench_run(&cfg, &mock_driver, NULL, NULL, NULL, &b, err, sizeof(err)), 0);

    buf_t ja, jb;
    buf_init(&ja);
    buf_init(&jb);
    bench_result_to_shard_json(&a, &ja);
    bench_result_to_shard_json(&b, &jb);
    bench_result_t m;
    bench_result_init(&m);
    assert_int_equal(bench_result_from_shard_json(ja.p, ja.len, &m), 0);
    assert_int_equal(bench_result_from_shard_json(jb.p, jb.len, &m), 0);
    /* the same as merging in memory */
    bench_result_t direct;
    bench_result_init(&direct);
    bench_result_merge(&direct, &a);
    bench_result_merge(&direct, &b);
    assert_int_equal(m.target, 80);
    assert_int_equal(m.c.established, direct.c.established);
    assert_int_equal(m.m_received, direct.m_received);
    assert_int_equal(m.procs, 2);
    assert_int_equal(hist_count(&m.latency), hist_count(&direct.latency));
    assert_int_equal(hist_percentile(&m.latency, 50), hist_percentile(&direct.latency, 50));
    assert_int_equal(hist_max(&m.latency), hist_max(&direct.latency));
    assert_int_equal(hist_count(&m.connect), 80);
    /* malformed or truncated shards are refused and change nothing */
    assert_int_equal(bench_result_from_shard_json(ja.p, ja.len / 2, &m), -1);
    assert_int_equal(bench_result_from_shard_json("{}", 2, &m), -1);
    char *bad = xstrdup(ja.p);
    char *p = strstr(bad, "\"established\":\"");
    assert_non_null(p);
    p[15] = '-';
    assert_int_equal(bench_result_from_shard_json(bad, strlen(bad), &m), -1);
    free(bad);
    assert_int_equal(m.target, 80);

    /* the JSON summary has the fields evcat(1) lists under BENCH */
    bench_report_t rep = {.url = "ws://x/echo", .mode = "echo", .connect_rate = 5000, .r = &m};
    bench_assert_t as;
    char aerr[100];
    assert_int_equal(bench_assert_parse("p99<3ms", &as, aerr, sizeof(aerr)), 0);
    bench_metrics_t met;
    bench_report_metrics(&m, &met);
    char why[200];
    bool ok = bench_assert_eval(&as, &met, why, sizeof(why));
    assert_false(ok); /* half the samples are 4 ms */
    buf_t js;
    buf_init(&js);
    bench_report_json(&js, &rep, &as, &ok, 1);
    cJSON *o = cJSON_Parse(js.p);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "url")->valuestring, "ws://x/echo");
    cJSON *conns = cJSON_GetObjectItem(o, "connections");
    assert_int_equal(cJSON_GetObjectItem(conns, "target")->valueint, 80);
    assert_int_equal(cJSON_GetObjectItem(conns, "established")->valueint, 80);
    assert_non_null(cJSON_GetObjectItem(conns, "failed"));
    assert_non_null(cJSON_GetObjectItem(conns, "dropped"));
    const char *lat[] = {"p50", "p90", "p99", "p999", "max"};
    cJSON *l = cJSON_GetObjectItem(o, "latency_ms");
    for (size_t i = 0; i < 5; i++)
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(l, lat[i])));
    assert_true(cJSON_GetObjectItem(l, "p99")->valuedouble > 3.9);
    cJSON *cm = cJSON_GetObjectItem(o, "connect_ms");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(cm, "p50")) &&
                cJSON_IsNumber(cJSON_GetObjectItem(cm, "p99")) &&
                cJSON_IsNumber(cJSON_GetObjectItem(cm, "max")));
    cJSON *msgs = cJSON_GetObjectItem(o, "messages");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(msgs, "sent")) &&
                cJSON_IsNumber(cJSON_GetObjectItem(msgs, "received")) &&
                cJSON_IsNumber(cJSON_GetObjectItem(msgs, "recv_rate")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "errors")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "cpu_seconds")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "peak_rss_bytes")));
    cJSON *arr = cJSON_GetObjectItem(o, "assertions");
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "ok")));
    cJSON_Delete(o);

    buf_free(&js);
    buf_free(&ja);
    buf_free(&jb);
    bench_result_free(&a);
    bench_result_free(&b);
    bench_result_free(&m);
    bench_result_free(&direct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_connect),
        cmocka_unit_test(test_failures_and_drops),
        cmocka_unit_test(test_none_connect),
        cmocka_unit_test(test_series_recorded),
        cmocka_unit_test(test_shard_json_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
