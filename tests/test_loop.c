/* Unit tests for src/core/loop.c: timer ordering, replacement, cancellation from
 * callbacks, fd dispatch and deletion during a batch, signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "buf.h"
#include "clock.h"

struct rec {
    int order[16];
    int n;
};

struct tctx {
    struct rec *rec;
    int id;
    loop_timer_t t;
};

static void on_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    struct tctx *c = ud;
    c->rec->order[c->rec->n++] = c->id;
}

static void run_until_idle(loop_t *l, int rounds)
{
    for (int i = 0; i < rounds; i++)
        loop_run_once(l, 50);
}

static void test_timers_fire_in_deadline_order(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct rec r = {0};
    struct tctx c[5];
    uint64_t delays_ms[5] = {30, 10, 20, 0, 15};
    for (int i = 0; i < 5; i++) {
        c[i].rec = &r;
        c[i].id = i;
        loop_timer_init(&c[i].t, on_timer, &c[i]);
        loop_timer_arm_ms(l, &c[i].t, delays_ms[i]);
    }
    while (r.n < 5)
        loop_run_once(l, 100);
    int want[5] = {3, 1, 4, 2, 0};
    assert_memory_equal(r.order, want, sizeof(want));
    for (int i = 0; i < 5; i++)
        assert_false(loop_timer_armed(&c[i].t));
    loop_free(l);
}

static void test_timer_rearm_replaces_deadline(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct rec r = {0};
    struct tctx a = {.rec = &r, .id = 1}, b = {.rec = &r, .id = 2};
    loop_timer_init(&a.t, on_timer, &a);
    loop_timer_init(&b.t, on_timer, &b);
    loop_timer_arm_ms(l, &a.t, 10);
    loop_timer_arm_ms(l, &b.t, 20);
    loop_timer_arm_ms(l, &a.t, 40); /* later than b now */
    uint64_t start = mono_ns();
    while (r.n < 2)
        loop_run_once(l, 100);
    assert_int_equal(r.order[0], 2);
    assert_int_equal(r.order[1], 1);
    assert_true(mono_ns() - start >= 40 * 1000000ull);
    loop_free(l);
}

static void test_timer_stop_prevents_firing(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct rec r = {0};
    struct tctx a = {.rec = &r, .id = 1}, b = {.rec = &r, .id = 2};
    loop_timer_init(&a.t, on_timer, &a);
    loop_timer_init(&b.t, on_timer, &b);
    loop_timer_arm_ms(l, &a.t, 5);
    loop_timer_arm_ms(l, &b.t, 10);
    loop_timer_stop(l, &a.t);
    loop_timer_stop(l, &a.t); /* stopping twice is harmless */
    run_until_idle(l, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.order[0], 2);
    loop_free(l);
}

/* A timer callback that stops another timer due in the same round. */
struct killer {
    loop_timer_t t;
    loop_timer_t *victim;
    int fired;
};

static void on_killer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    struct killer *k = ud;
    k->fired++;
    loop_timer_stop(l, k->victim);
}

static void on_count(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    (*(int *)ud)++;
}

static void test_timer_stopped_from_callback_in_same_round(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    int victim_fired = 0;
    loop_timer_t victim;
    struct killer k = {.victim = &victim};
    loop_timer_init(&victim, on_count, &victim_fired);
    loop_timer_init(&k.t, on_killer, &k);
    uint64_t due = mono_ns() + 5000000;
    loop_timer_arm_at(l, &k.t, due);
    loop_timer_arm_at(l, &victim, due + 1);
    usleep(10000);
    run_until_idle(l, 2);
    assert_int_equal(k.fired, 1);
    assert_int_equal(victim_fired, 0);
    loop_free(l);
}

/* A zero-delay timer re-armed from its own callback must not starve fds. */
struct spinner {
    loop_timer_t t;
    int fired;
};

static void on_spin(loop_t *l, loop_timer_t *t, void *ud)
{
    struct spinner *s = ud;
    s->fired++;
    loop_timer_arm(l, t, 0);
}

static void on_readable(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)l;
    (void)ev;
    char c;
    if (read(fd, &c, 1) == 1)
        (*(int *)ud)++;
}

static void test_rearming_timer_does_not_starve_fds(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    int p[2];
    assert_int_equal(pipe(p), 0);
    int reads = 0;
    struct spinner s = {0};
    loop_timer_init(&s.t, on_spin, &s);
    loop_timer_arm(l, &s.t, 0);
    assert_int_equal(loop_fd_add(l, p[0], LOOP_READ, on_readable, &reads), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    for (int i = 0; i < 5 && reads == 0; i++)
        loop_run_once(l, 10);
    assert_int_equal(reads, 1);
    assert_true(s.fired >= 1);
    loop_timer_stop(l, &s.t);
    loop_fd_del(l, p[0]);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

/* Many timers with random deadlines come out sorted (heap property). */
static void on_stamp(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    uint64_t *last = ud;
    assert_true(t->due_ns >= *last);
    *last = t->due_ns;
}

static void test_heap_order_with_many_timers(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    enum { N = 2000 };
    static loop_timer_t ts[N];
    uint64_t last = 0;
    uint64_t base = mono_ns();
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        loop_timer_init(&ts[i], on_stamp, &last);
        loop_timer_arm_at(l, &ts[i], base + (seed >> 8) % 20000000u);
    }
    for (int i = 0; i < N; i += 3) /* stop a third, re-arm a third */
        loop_timer_stop(l, &ts[i]);
    for (int i = 1; i < N; i += 3)
        loop_timer_arm_at(l, &ts[i], base + (uint64_t)(N - i) * 5000u);
    usleep(25000);
    run_until_idle(l, 2);
    for (int i = 0; i < N; i++)
        assert_false(loop_timer_armed(&ts[i]));
    assert_true(last > 0);
    loop_free(l);
}

/* Deleting another fd inside a callback drops its pending event in this batch. */
struct pair {
    int fds[2][2];
    int hits[2];
};

static void on_pair(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct pair *p = ud;
    int me = fd == p->fds[0][0] ? 0 : 1;
    p->hits[me]++;
    char c;
    if (read(fd, &c, 1) < 0)
        return;
    loop_fd_del(l, p->fds[1 - me][0]);
}

static void test_fd_deleted_during_batch_is_not_dispatched(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct pair p = {0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pipe(p.fds[i]), 0);
        assert_int_equal(loop_fd_add(l, p.fds[i][0], LOOP_READ, on_pair, &p), 0);
        assert_int_equal(write(p.fds[i][1], "x", 1), 1);
    }
    loop_run_once(l, 100);
    assert_int_equal(p.hits[0] + p.hits[1], 1);
    for (int i = 0; i < 2; i++) {
        loop_fd_del(l, p.fds[i][0]);
        close(p.fds[i][0]);
        close(p.fds[i][1]);
    }
    loop_free(l);
}

static void test_fd_mask_write_and_mod(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    int p[2];
    assert_int_equal(pipe(p), 0);
    int hits = 0;
    assert_int_equal(loop_fd_add(l, p[1], 0, (loop_fd_fn)on_readable, &hits), 0);
    assert_int_equal(loop_run_once(l, 10), 0); /* silent while mask is 0 */
    assert_int_equal(loop_fd_mask(l, p[1]), 0u);
    assert_int_equal(loop_fd_mod(l, p[1], LOOP_WRITE), 0);
    assert_int_equal(loop_fd_mask(l, p[1]), LOOP_WRITE);
    assert_int_equal(loop_run_once(l, 10), 1);
    assert_int_equal(loop_fd_mod(l, 999, LOOP_READ), -2 /* -ENOENT */);
    loop_fd_del(l, p[1]);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

static void on_sig(loop_t *l, int signo, void *ud)
{
    *(int *)ud = signo;
    loop_stop(l);
}

static void test_signal_delivered_through_loop(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    int got = 0;
    assert_int_equal(loop_signal(l, SIGUSR1, on_sig, &got), 0);
    raise(SIGUSR1);
    assert_int_equal(loop_run(l), 0);
    assert_int_equal(got, SIGUSR1);
    loop_free(l);
}

static void on_stop_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    (void)ud;
    loop_stop(l);
}

static void test_loop_run_stops_and_waits_for_timer(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    loop_timer_t t;
    loop_timer_init(&t, on_stop_timer, NULL);
    loop_timer_arm_ms(l, &t, 30);
    uint64_t start = mono_ns();
    assert_int_equal(loop_run(l), 0);
    uint64_t took = mono_ns() - start;
    assert_true(took >= 30000000ull);
    assert_true(took < 1000000000ull);
    assert_true(loop_stopped(l));
    loop_free(l);
}

/* A delay too long to add to the clock is "never": the timer is the last
 * of the heap and a short one still fires first. */
static void test_huge_delays_saturate(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    loop_timer_t never, soon;
    loop_timer_init(&never, on_stop_timer, NULL);
    loop_timer_init(&soon, on_stop_timer, NULL);
    loop_timer_arm_ms(l, &never, UINT64_MAX);
    assert_true(never.due_ns == UINT64_MAX);
    loop_timer_arm(l, &never, UINT64_MAX - 5);
    assert_true(never.due_ns == UINT64_MAX);
    loop_timer_arm_ms(l, &never, UINT64_MAX / 1000000u + 1);
    assert_true(never.due_ns == UINT64_MAX);
    loop_timer_arm_ms(l, &soon, 20);
    uint64_t start = mono_ns();
    assert_int_equal(loop_run_once(l, -1), 1);
    assert_true(mono_ns() - start < 1000000000ull);
    assert_true(loop_timer_armed(&never));
    assert_false(loop_timer_armed(&soon));
    loop_timer_stop(l, &never);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_deadline_order),
        cmocka_unit_test(test_timer_rearm_replaces_deadline),
        cmocka_unit_test(test_timer_stop_prevents_firing),
        cmocka_unit_test(test_timer_stopped_from_callback_in_same_round),
        cmocka_unit_test(test_rearming_timer_does_not_starve_fds),
        cmocka_unit_test(test_heap_order_with_many_timers),
        cmocka_unit_test(test_fd_deleted_during_batch_is_not_dispatched),
        cmocka_unit_test(test_fd_mask_write_and_mod),
        cmocka_unit_test(test_signal_delivered_through_loop),
        cmocka_unit_test(test_loop_run_stops_and_waits_for_timer),
        cmocka_unit_test(test_huge_delays_saturate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
