/* Unit tests for src/bench/bench_worker.c: the accounting a protocol driver
 * reports connections with, on a worker built here with a stub driver (no
 * threads, no sockets): attempts and live connections, failures, drops
 * before the close phase and plain ends during it, messages, latency only
 * while measuring, errors that end nothing, the loop stopped once a closing
 * worker has no connection left, and the control block's phase and abort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bench_worker.h"
#include "clock.h"

static uint64_t started[8];
static size_t nstarted;

static void stub_start(bench_worker_t *w, uint64_t index)
{
    (void)w;
    if (nstarted < sizeof(started) / sizeof(started[0]))
        started[nstarted] = index;
    nstarted++;
}

static const bench_driver_t stub_driver = {.start = stub_start};

struct fx {
    bench_config_t cfg;
    bench_control_t ctl;
    bench_worker_t w;
};

static void fx_init(struct fx *f, loop_t *l)
{
    memset(f, 0, sizeof(*f));
    nstarted = 0;
    f->w.cfg = &f->cfg;
    f->w.drv_ops = &stub_driver;
    f->w.ctl = &f->ctl;
    f->w.loop = l;
    hist_init(&f->w.latency);
    hist_init(&f->w.connect);
    bench_control_set_phase(&f->ctl, BENCH_RAMP);
}

static void fx_free(struct fx *f)
{
    hist_free(&f->w.latency);
    hist_free(&f->w.connect);
    bench_latsec_free(&f->w.latsec);
}

static void test_control(void **state)
{
    (void)state;
    bench_control_t ctl;
    memset(&ctl, 0, sizeof(ctl));
    assert_int_equal(bench_control_phase(&ctl), BENCH_RAMP);
    assert_false(bench_control_aborting(&ctl));
    bench_control_set_phase(&ctl, BENCH_MEASURE);
    assert_int_equal(bench_control_phase(&ctl), BENCH_MEASURE);
    bench_control_abort(&ctl);
    assert_true(bench_control_aborting(&ctl));
    assert_int_equal(bench_control_phase(&ctl), BENCH_MEASURE);

    struct fx f;
    fx_init(&f, NULL);
    bench_control_set_phase(&f.ctl, BENCH_CLOSE);
    assert_int_equal(bench_phase(&f.w), BENCH_CLOSE);
    fx_free(&f);
}

static void test_start_connect_fail(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct fx f;
    fx_init(&f, l);
    bench_worker_start_conn(&f.w, 7);
    bench_worker_start_conn(&f.w, 9);
    assert_int_equal(nstarted, 2);
    assert_int_equal(started[0], 7);
    assert_int_equal(started[1], 9);
    assert_int_equal(f.w.c.attempted, 2);
    assert_int_equal(f.w.live, 2);

    bench_connected(&f.w, 1500000);
    assert_int_equal(f.w.c.established, 1);
    assert_int_equal(hist_count(&f.w.connect), 1);
    assert_int_equal(hist_max(&f.w.connect), 1500000);
    assert_int_equal(f.w.live, 2); /* established is still live */

    bench_failed(&f.w, BERR_REFUSED);
    assert_int_equal(f.w.c.failed, 1);
    assert_int_equal(f.w.c.errors[BERR_REFUSED], 1);
    assert_int_equal(f.w.live, 1);
    assert_false(loop_stopped(l)); /* not closing */
    fx_free(&f);
    loop_free(l);
}

static void test_lost_by_phase(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    for (int i = 0; i < 3; i++)
        bench_worker_start_conn(&f.w, (uint64_t)i);
    /* before the close phase: dropped, with its kind */
    bench_control_set_phase(&f.ctl, BENCH_MEASURE);
    bench_lost(&f.w, BERR_CLOSED);
    assert_int_equal(f.w.c.dropped, 1);
    assert_int_equal(f.w.c.ended, 0);
    assert_int_equal(f.w.c.errors[BERR_CLOSED], 1);
    /* closing (close_all called) before the phase says so: ended */
    f.w.closing = true;
    bench_lost(&f.w, BERR_RESET); /* one is still live: no loop to stop */
    assert_int_equal(f.w.c.dropped, 1);
    assert_int_equal(f.w.c.ended, 1);
    assert_int_equal(f.w.c.errors[BERR_RESET], 0);
    /* the close phase: ended */
    f.w.closing = false;
    bench_control_set_phase(&f.ctl, BENCH_CLOSE);
    bench_lost(&f.w, BERR_RESET);
    assert_int_equal(f.w.c.ended, 2);
    assert_int_equal(f.w.c.errors[BERR_RESET], 0);
    assert_int_equal(f.w.live, 0);
    fx_free(&f);
}

static void test_messages_latency_errors(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    bench_worker_start_conn(&f.w, 0);
    bench_sent(&f.w, 3, 300);
    bench_received(&f.w, 2, 20);
    assert_int_equal(f.w.c.sent, 3);
    assert_int_equal(f.w.c.bytes_sent, 300);
    assert_int_equal(f.w.c.received, 2);
    assert_int_equal(f.w.c.bytes_received, 20);
    /* samples count while measuring only */
    bench_latency(&f.w, 1000);
    bench_control_set_phase(&f.ctl, BENCH_MEASURE);
    bench_latency(&f.w, 2000);
    bench_latency(&f.w, 3000);
    bench_control_set_phase(&f.ctl, BENCH_CLOSE);
    bench_latency(&f.w, 4000);
    assert_int_equal(hist_count(&f.w.latency), 2);
    /* and per second, from the run's start (t_start 0: a second far on) */
    uint64_t sum = 0;
    for (size_t s = 0; s < f.w.latsec.len; s++)
        sum += bench_latsec_count(&f.w.latsec, s);
    assert_int_equal(sum, f.w.latsec.truncated ? 0 : 2);
    f.w.t_start = mono_ns();
    bench_control_set_phase(&f.ctl, BENCH_MEASURE);
    bench_latency(&f.w, 5000);
    assert_int_equal(bench_latsec_count(&f.w.latsec, 0), 1);
    bench_control_set_phase(&f.ctl, BENCH_CLOSE);
    /* an error that ends nothing */
    bench_error(&f.w, BERR_NO_TIMESTAMP);
    assert_int_equal(f.w.c.errors[BERR_NO_TIMESTAMP], 1);
    assert_int_equal(f.w.live, 1);
    assert_int_equal(f.w.c.failed + f.w.c.dropped + f.w.c.ended, 0);
    fx_free(&f);
}

static void test_done_when_closing_and_empty(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct fx f;
    fx_init(&f, l);
    bench_worker_start_conn(&f.w, 0);
    bench_worker_start_conn(&f.w, 1);
    f.w.closing = true;
    bench_worker_check_done(&f.w);
    assert_false(loop_stopped(l));
    bench_ended(&f.w);
    assert_false(loop_stopped(l));
    bench_ended(&f.w);
    assert_int_equal(f.w.live, 0);
    assert_int_equal(f.w.c.ended, 2);
    assert_true(loop_stopped(l));
    fx_free(&f);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control),
        cmocka_unit_test(test_start_connect_fail),
        cmocka_unit_test(test_lost_by_phase),
        cmocka_unit_test(test_messages_latency_errors),
        cmocka_unit_test(test_done_when_closing_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
