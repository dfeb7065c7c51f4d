/* Unit tests for src/client/sse_client.c: the EventSource lifecycle against a tiny
 * HTTP server on the same loop. So far: --idle-timeout, which counts from
 * the start of each attempt, so that a server that never answers (or drips
 * its head) is a drop like one that stops sending events. */
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

#include "conn_settings.h"
#include "curl_multi.h"
#include "exitcode.h"
#include "loop.h"
#include "diag.h"
#include "sse_client.h"
#include "buf.h"
#include "clock.h"

/* ---- the server: /silent never answers, /head sends a status line and no
 * more, /one sends one event and then nothing ---- */

struct server {
    int lfd;
    int port;
    int requests;
    int fds[8]; /* accepted connections, closed at the end */
    int nfds;
};

static void on_client(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct server *s = ud;
    char req[4096];
    ssize_t n = read(fd, req, sizeof(req) - 1);
    if (n <= 0) {
        loop_fd_del(l, fd); /* closed in server_stop */
        return;
    }
    req[n] = '\0';
    s->requests++;
    const char *resp = "";
    if (strncmp(req, "GET /head ", 10) == 0)
        resp = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n";
    else if (strncmp(req, "GET /one ", 9) == 0)
        resp = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: one\n\n";
    if (*resp && write(fd, resp, strlen(resp)) < 0)
        fail_msg("write");
}

static void on_accept(loop_t *l, int fd, unsigned ev, void *ud)
{
    (void)ev;
    struct server *s = ud;
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return;
    if (s->nfds == (int)ARRAY_LEN(s->fds)) {
        close(c);
        return;
    }
    s->fds[s->nfds++] = c;
    loop_fd_add(l, c, LOOP_READ, on_client, ud);
}

static void server_start(loop_t *l, struct server *s)
{
    memset(s, 0, sizeof(*s));
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(loop_fd_add(l, s->lfd, LOOP_READ, on_accept, s), 0);
}

static void server_stop(loop_t *l, struct server *s)
{
    for (int i = 0; i < s->nfds; i++) {
        loop_fd_del(l, s->fds[i]);
        close(s->fds[i]);
    }
    loop_fd_del(l, s->lfd);
    close(s->lfd);
}

/* ---- a client run ---- */

struct run {
    loop_t *loop;
    int ended; /* on_end calls */
    int code;
    int events;
};

static int on_event(void *ud, const sse_event_t *ev)
{
    (void)ev;
    ((struct run *)ud)->events++;
    return 0;
}

static void on_end(void *ud, int code)
{
    struct run *r = ud;
    r->ended++;
    r->code = code;
    loop_stop(r->loop);
}

static void on_guard(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    *(int *)ud = 1;
    loop_stop(l);
}

/* Runs `listen --no-reconnect --idle-timeout IDLE_MS` on path; returns how
 * long it took (ms), or fails after 5 s. */
static uint64_t run_idle(const char *path, uint64_t idle_ms, struct run *r, unsigned *opens)
{
    loop_t *l = loop_new();
    struct server s;
    server_start(l, &s);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s.port, path);
    conn_settings_t co;
    conn_settings_init(&co);
    sse_client_opts_t o = {
        .url = url,
        .conn = &co,
        .max_event = 1 << 20,
        .idle_timeout_ms = idle_ms,
        .reconnect = false,
        .max_retries = -1,
        .http_version = CURL_HTTP_VERSION_NONE,
    };
    static const sse_client_callbacks_t cbs = {.on_event = on_event, .on_end = on_end};
    memset(r, 0, sizeof(*r));
    r->loop = l;
    curlm_t *m = curlm_new(l);
    sse_client_t *c = sse_client_new(l, m, &o, &cbs, r);
    assert_non_null(c);
    int tripped = 0;
    loop_timer_t guard;
    loop_timer_init(&guard, on_guard, &tripped);
    loop_timer_arm_ms(l, &guard, 5000);
    uint64_t start = mono_ns();
    assert_int_equal(sse_client_start(c), 0);
    loop_run(l);
    uint64_t ms = (mono_ns() - start) / 1000000;
    loop_timer_stop(l, &guard);
    assert_false(tripped);
    assert_int_equal(s.requests, 1);
    *opens = sse_client_opens(c);
    sse_client_free(c);
    curlm_free(m);
    server_stop(l, &s);
    conn_settings_free(&co);
    loop_free(l);
    return ms;
}

static void test_idle_before_response(void **state)
{
    (void)state;
    static const char *const paths[] = {"/silent", "/head"};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        struct run r;
        unsigned opens;
        uint64_t ms = run_idle(paths[i], 200, &r, &opens);
        assert_int_equal(r.ended, 1);
        assert_int_equal(r.code, EXIT_FAIL);
        assert_int_equal(opens, 0);
        assert_int_equal(r.events, 0);
        if (ms < 190 || ms > 2000)
            fail_msg("%s: the idle timeout fired after %llu ms", paths[i], (unsigned long long)ms);
    }
}

static void test_idle_after_event(void **state)
{
    (void)state;
    struct run r;
    unsigned opens;
    uint64_t ms = run_idle("/one", 200, &r, &opens);
    assert_int_equal(r.ended, 1);
    assert_int_equal(r.code, EXIT_FAIL);
    assert_int_equal(opens, 1);
    assert_int_equal(r.events, 1);
    assert_true(ms >= 190 && ms <= 2000);
}

int main(void)
{
    diag_level = -1; /* no lifecycle lines (the errors provoked are printed) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_before_response),
        cmocka_unit_test(test_idle_after_event),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
