/* bench_sock: the connection head of bench's own drivers, on a loop of the
 * test's against a listener on loopback (the drivers' own tests cover the
 * same steps inside whole connections). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_sock.h"
#include "bench.h"
#include "clock.h"

struct t {
    loop_t *l;
    bench_config_t cfg;
    bench_control_t ctl;
    bench_worker_t w;
    conn_settings_t co;
    int lfd;
    bench_sock_t *list;
    int timer_fired, io_calls;
};

struct conn {
    bench_sock_t s;
    int extra;
};

static void t_init(struct t *t)
{
    memset(t, 0, sizeof(*t));
    t->l = loop_new();
    t->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(t->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(t->lfd, 16), 0);
    assert_int_equal(getsockname(t->lfd, (struct sockaddr *)&a, &al), 0);
    memcpy(&t->cfg.addr, &a, sizeof(a));
    t->cfg.addrlen = sizeof(a);
    t->cfg.host = "127.0.0.1";
    t->cfg.co = &t->co;
    t->w.cfg = &t->cfg;
    t->w.ctl = &t->ctl;
    t->w.loop = t->l;
    bench_control_set_phase(&t->ctl, BENCH_MEASURE);
}

static void t_free(struct t *t)
{
    close(t->lfd);
    loop_free(t->l);
}

static void on_timer(loop_t *l, loop_timer_t *tm, void *ud)
{
    (void)l;
    (void)tm;
    struct conn *c = ud;
    c->extra++;
}

static void on_io(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    (void)events;
    struct conn *c = ud;
    c->extra += 100;
}

/* Opened connections go first in the list; releasing any of them (first,
 * middle, last) keeps the others linked both ways. */
static void test_list(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    struct conn *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = bsock_open(&t.w, &t.list, (uint64_t)i, sizeof(struct conn), on_timer);
        assert_non_null(c[i]);
        assert_int_equal(c[i]->s.state, BSOCK_CONNECTING);
        assert_int_equal(c[i]->extra, 0); /* zeroed past the head */
        assert_ptr_equal(t.list, &c[i]->s);
    }
    assert_ptr_equal(c[3]->s.next, &c[2]->s);
    assert_ptr_equal(c[1]->s.prev, &c[2]->s);
    bsock_release(&c[2]->s, &t.list); /* middle */
    free(c[2]);
    assert_ptr_equal(c[3]->s.next, &c[1]->s);
    assert_ptr_equal(c[1]->s.prev, &c[3]->s);
    bsock_release(&c[3]->s, &t.list); /* first */
    free(c[3]);
    assert_ptr_equal(t.list, &c[1]->s);
    assert_null(c[1]->s.prev);
    bsock_release(&c[0]->s, &t.list); /* last */
    free(c[0]);
    assert_null(c[1]->s.next);
    bsock_release(&c[1]->s, &t.list);
    free(c[1]);
    assert_null(t.list);
    t_free(&t);
}

/* The connect step on plain TCP: ready at once on loopback; the connect
 * timeout's timer calls back with the driver's struct; interest follows
 * the state and the queued output; writes go out, what waits is flushed. */
static void test_connect_interest_flush(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    t.co.connect_timeout_ms = 30;
    struct conn *c = bsock_open(&t.w, &t.list, 0, sizeof(struct conn), on_timer);
    assert_non_null(c);
    assert_int_equal(bsock_interest(&c->s), LOOP_WRITE);
    assert_int_equal(bsock_watch(&c->s, on_io, c), 0);
    uint64_t end = mono_ns() + 2000000000u;
    while (c->extra % 100 == 0 && mono_ns() < end)
        loop_run_once(t.l, 10);
    assert_int_equal(c->extra % 100, 1); /* the timer fired once, with c */
    assert_true(c->extra >= 100);        /* writable: connected */
    bench_err_t kind = BERR_COUNT;
    assert_int_equal(bsock_connect_step(&c->s, &kind), 1);
    assert_int_equal(c->s.state, BSOCK_READY);
    assert_int_equal(bsock_interest(&c->s), LOOP_READ);
    int peer = accept(t.lfd, NULL, NULL);
    assert_true(peer >= 0);
    /* queued output: writability wanted until it is flushed */
    bench_lbuf_append(&c->s.out, "hello ", 6);
    bench_lbuf_append(&c->s.out, "world", 5);
    assert_int_equal(bsock_interest(&c->s), LOOP_READ | LOOP_WRITE);
    assert_int_equal(bsock_can(&c->s, LOOP_WRITE), BSOCK_CAN_FLUSH);
    assert_int_equal(bsock_can(&c->s, LOOP_READ), BSOCK_CAN_READ);
    assert_int_equal(bsock_can(&c->s, LOOP_HUP), BSOCK_CAN_FLUSH | BSOCK_CAN_READ);
    assert_int_equal(bsock_flush(&c->s), 0);
    assert_null(c->s.out);
    assert_int_equal(bsock_can(&c->s, LOOP_WRITE), 0);
    assert_int_equal(bsock_interest(&c->s), LOOP_READ);
    char got[16] = "";
    assert_int_equal(read(peer, got, sizeof(got)), 11);
    assert_memory_equal(got, "hello world", 11);
    /* bsock_send: straight out when nothing waits, behind what waits else */
    assert_int_equal(bsock_send(&c->s, "one ", 4), 0);
    assert_null(c->s.out);
    bench_lbuf_append(&c->s.out, "two ", 4);
    assert_int_equal(bsock_send(&c->s, "three", 5), 0);
    assert_int_equal(c->s.out->len - c->s.out->off, 9);
    assert_int_equal(bsock_flush(&c->s), 0);
    assert_null(c->s.out);
    memset(got, 0, sizeof(got));
    size_t have = 0;
    uint64_t until = mono_ns() + 2000000000u;
    while (have < 13 && mono_ns() < until) {
        ssize_t k = read(peer, got + have, sizeof(got) - have);
        if (k > 0)
            have += (size_t)k;
    }
    assert_memory_equal(got, "one two three", 13);
    /* wire bytes only where the driver counts them */
    assert_int_equal(bsock_write(&c->s, "ab", 2), 2);
    assert_int_equal(t.w.wire_sent, 0);
    c->s.count_wire = true;
    assert_int_equal(bsock_write(&c->s, "cd", 2), 2);
    assert_int_equal(write(peer, "xyz", 3), 3);
    char in[8];
    ssize_t r;
    end = mono_ns() + 2000000000u;
    while ((r = bsock_read(&c->s, in, sizeof(in))) == NETIO_AGAIN && mono_ns() < end)
        usleep(1000);
    assert_int_equal(r, 3);
    assert_int_equal(t.w.wire_sent, 2);
    assert_int_equal(t.w.wire_received, 3);
    close(peer);
    bsock_release(&c->s, &t.list);
    free(c);
    t_free(&t);
}

/* Sending right after connect(): on loopback the TCP handshake is over,
 * so the request goes at once and the peer has it. */
static void test_send_early(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    struct conn *c = bsock_open(&t.w, &t.list, 0, sizeof(struct conn), on_timer);
    assert_non_null(c);
    int sent = bsock_send_early(&c->s, "GET /\r\n", 7);
    assert_true(sent == 1 || sent == 0); /* 0: still connecting, nothing taken */
    if (sent == 0) {
        assert_null(c->s.out);
    } else {
        int peer = accept(t.lfd, NULL, NULL);
        assert_true(peer >= 0);
        char got[8] = "";
        assert_int_equal(read(peer, got, sizeof(got)), 7);
        assert_memory_equal(got, "GET /\r\n", 7);
        close(peer);
    }
    bsock_release(&c->s, &t.list);
    free(c);
    t_free(&t);
}

/* A refused connect is a connect error while connecting, a reset once the
 * connection has reached the driver's `connected` state. */
static void test_error_kinds(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    struct conn *c = bsock_open(&t.w, &t.list, 0, sizeof(struct conn), on_timer);
    assert_non_null(c);
    bench_err_t refused = bench_errno_kind(ECONNREFUSED);
    assert_int_equal(bsock_error_kind(&c->s, ECONNREFUSED, BSOCK_READY), refused);
    c->s.state = BSOCK_READY;
    assert_int_equal(bsock_error_kind(&c->s, ECONNRESET, BSOCK_READY),
                     bench_errno_kind(ECONNRESET));
    if (refused == BERR_CONNECT)
        assert_int_equal(bsock_error_kind(&c->s, ECONNREFUSED, BSOCK_READY), BERR_RESET);
    assert_int_equal(bsock_error_kind(&c->s, ECONNREFUSED, BSOCK_READY + 1), refused);
    bsock_release(&c->s, &t.list);
    free(c);
    /* nothing listening: the connect step names the refusal */
    close(t.lfd);
    t.lfd = socket(AF_INET, SOCK_STREAM, 0);
    c = bsock_open(&t.w, &t.list, 0, sizeof(struct conn), on_timer);
    if (c) { /* or refused at once, counted as failed */
        assert_int_equal(bsock_watch(&c->s, on_io, c), 0);
        uint64_t end = mono_ns() + 2000000000u;
        while (c->extra < 100 && mono_ns() < end)
            loop_run_once(t.l, 10);
        bench_err_t kind = BERR_COUNT;
        assert_int_equal(bsock_connect_step(&c->s, &kind), -1);
        assert_int_equal(kind, refused);
        bsock_release(&c->s, &t.list);
        free(c);
    } else {
        assert_int_equal(t.w.c.failed, 1);
    }
    t_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_connect_interest_flush),
        cmocka_unit_test(test_send_early),
        cmocka_unit_test(test_error_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
