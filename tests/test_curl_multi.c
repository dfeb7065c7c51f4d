/* Unit tests for src/net/curl_multi.c: libcurl's multi interface on our loop, against
 * a tiny HTTP server running on the same loop (so nothing blocks and the test
 * needs no other process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "curl_multi.h"
#include "loop.h"
#include "buf.h"
#include "clock.h"

/* ---- the server: answers "/hello" with a body, "/slow" never ---- */

struct server {
    int lfd;
    int port;
    int served;
};

static void on_client(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct server *s = ud;
    char req[4096];
    ssize_t n = read(fd, req, sizeof(req) - 1);
    if (n <= 0) {
        loop_fd_del(l, fd);
        close(fd);
        return;
    }
    req[n] = '\0';
    if (strncmp(req, "GET /slow", 9) == 0)
        return; /* keep the connection, never answer */
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    if (write(fd, resp, sizeof(resp) - 1) < 0)
        fail_msg("write");
    s->served++;
    loop_fd_del(l, fd);
    close(fd);
}

static void on_accept(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    int c = accept(fd, NULL, NULL);
    if (c >= 0)
        loop_fd_add(l, c, LOOP_READ, on_client, ud);
}

static void server_start(loop_t *l, struct server *s)
{
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(loop_fd_add(l, s->lfd, LOOP_READ, on_accept, s), 0);
}

/* ---- a transfer ---- */

struct fetch {
    curlm_t *m;
    curlm_xfer_t x;
    buf_t body;
    CURLcode result;
    int done;
    int *pending;
    loop_t *loop;
};

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    buf_append(&((struct fetch *)ud)->body, p, size * n);
    return size * n;
}

static void on_done(curlm_xfer_t *x, CURLcode res)
{
    struct fetch *f = x->ud;
    f->result = res;
    f->done++;
    /* Removing (and cleaning up) from the done callback is allowed. */
    curlm_remove(f->m, x);
    if (--*f->pending == 0)
        loop_stop(f->loop);
}

static void fetch_init(struct fetch *f, loop_t *l, curlm_t *m, int *pending, const char *url)
{
    memset(f, 0, sizeof(*f));
    f->m = m;
    f->loop = l;
    f->pending = pending;
    buf_init(&f->body);
    f->x.easy = curl_easy_init();
    f->x.done = on_done;
    f->x.ud = f;
    curl_easy_setopt(f->x.easy, CURLOPT_URL, url);
    curl_easy_setopt(f->x.easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(f->x.easy, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(f->x.easy, CURLOPT_NOSIGNAL, 1L);
}

static void fetch_free(struct fetch *f)
{
    curl_easy_cleanup(f->x.easy);
    buf_free(&f->body);
}

static void on_guard(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    *(int *)ud = 1;
    loop_stop(l);
}

static void run_with_guard(loop_t *l, uint64_t ms)
{
    int tripped = 0;
    loop_timer_t guard;
    loop_timer_init(&guard, on_guard, &tripped);
    loop_timer_arm_ms(l, &guard, ms);
    loop_run(l);
    loop_timer_stop(l, &guard);
    assert_false(tripped);
}

static void test_concurrent_transfers_complete(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct server s = {0};
    server_start(l, &s);
    curlm_t *m = curlm_new(l);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", s.port);
    enum { N = 8 };
    struct fetch f[N];
    int pending = N;
    for (int i = 0; i < N; i++) {
        fetch_init(&f[i], l, m, &pending, url);
        assert_int_equal(curlm_add(m, &f[i].x), CURLM_OK);
    }
    run_with_guard(l, 5000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(f[i].done, 1);
        assert_int_equal(f[i].result, CURLE_OK);
        assert_string_equal(f[i].body.p, "hello");
        assert_int_equal(f[i].x.added, 0);
        fetch_free(&f[i]);
    }
    assert_int_equal(s.served, N);
    curlm_free(m);
    loop_fd_del(l, s.lfd);
    close(s.lfd);
    loop_free(l);
}

static void test_curl_timeouts_fire_through_loop_timer(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct server s = {0};
    server_start(l, &s);
    curlm_t *m = curlm_new(l);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", s.port);
    struct fetch f;
    int pending = 1;
    fetch_init(&f, l, m, &pending, url);
    curl_easy_setopt(f.x.easy, CURLOPT_TIMEOUT_MS, 200L);
    uint64_t start = mono_ns();
    assert_int_equal(curlm_add(m, &f.x), CURLM_OK);
    run_with_guard(l, 5000);
    uint64_t took_ms = (mono_ns() - start) / 1000000;
    assert_int_equal(f.result, CURLE_OPERATION_TIMEDOUT);
    assert_true(took_ms >= 190 && took_ms < 2000);
    fetch_free(&f);
    curlm_free(m);
    loop_fd_del(l, s.lfd);
    close(s.lfd);
    loop_free(l);
}

static void test_refused_connection_reports_error(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    curlm_t *m = curlm_new(l);
    /* A port that was just free: bind, read it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    struct fetch f;
    int pending = 1;
    fetch_init(&f, l, m, &pending, url);
    assert_int_equal(curlm_add(m, &f.x), CURLM_OK);
    run_with_guard(l, 5000);
    assert_int_equal(f.result, CURLE_COULDNT_CONNECT);
    fetch_free(&f);
    curlm_free(m);
    loop_free(l);
}

static void test_remove_before_done_is_silent(void **state)
{
    (void)state;
    loop_t *l = loop_new();
    struct server s = {0};
    server_start(l, &s);
    curlm_t *m = curlm_new(l);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", s.port);
    struct fetch f;
    int pending = 1;
    fetch_init(&f, l, m, &pending, url);
    assert_int_equal(curlm_add(m, &f.x), CURLM_OK);
    for (int i = 0; i < 20; i++)
        loop_run_once(l, 10);
    curlm_remove(m, &f.x);
    curlm_remove(m, &f.x); /* twice is harmless */
    for (int i = 0; i < 5; i++)
        loop_run_once(l, 10);
    assert_int_equal(f.done, 0);
    fetch_free(&f);
    curlm_free(m);
    loop_fd_del(l, s.lfd);
    close(s.lfd);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_transfers_complete),
        cmocka_unit_test(test_curl_timeouts_fire_through_loop_timer),
        cmocka_unit_test(test_refused_connection_reports_error),
        cmocka_unit_test(test_remove_before_done_is_silent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
