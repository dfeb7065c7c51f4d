/* Unit tests for src/serve/serve_completions.c, POST /v1/chat/completions:
 * a server on its loop and clients on loopback. The chunk format and its
 * timing (--first-token, --token-interval) against the clock, max_tokens
 * and finish_reason, keep-alive between answers, OpenAI's 400 for bad
 * bodies (the connection kept), HTTP/1.0's close-delimited answer, and a
 * client leaving or the server stopping in the middle of an answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "loop.h"
#include "serve.h"

#define MS 1000000ull

struct srv {
    loop_t *l;
    serve_t *s;
    int port;
};

static void srv_start(struct srv *h, uint64_t tokens, uint64_t first_ms, uint64_t interval_ms)
{
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    assert_int_equal(serve_parse_listen("127.0.0.1:0", &cfg.addr, &cfg.addr_len), 0);
    cfg.tick_ms = 0;
    cfg.keepalive_ms = 0;
    cfg.tokens = tokens;
    cfg.first_token_ns = first_ms * MS;
    cfg.token_interval_ns = interval_ms * MS;
    h->l = loop_new();
    char err[256];
    assert_int_equal(serve_start(h->l, &cfg, &h->s, err, sizeof(err)), 0);
    char addr[80];
    serve_local_addr(h->s, addr, sizeof(addr));
    h->port = atoi(strrchr(addr, ':') + 1);
}

static void srv_free(struct srv *h)
{
    serve_free(h->s);
    loop_free(h->l);
}

static int client(struct srv *h)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

static void post(struct srv *h, int fd, const char *version, const char *body)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/chat/completions HTTP/%s\r\nHost: t\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     version, strlen(body), body);
    for (int off = 0, i = 0; off < n && i < 1000; i++) {
        ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w > 0)
            off += (int)w;
        else
            loop_run_once(h->l, 1);
    }
}

/* What a client read, and when. */
struct answer {
    buf_t raw;         /* everything, as received */
    uint64_t first_ns; /* when "data: {" first came (0: never) */
    uint64_t done_ns;  /* when "data: [DONE]" came (0: never) */
    bool eof;
};

/* Runs the server and reads until `until` is in the bytes, EOF, or
 * limit_ms. */
static void read_answer(struct srv *h, int fd, struct answer *a, const char *until,
                        uint64_t limit_ms)
{
    uint64_t end = mono_ns() + limit_ms * MS;
    while (mono_ns() < end && !a->eof && !(a->raw.len && strstr(a->raw.p, until))) {
        loop_run_once(h->l, 1);
        char tmp[8192];
        ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
        if (r == 0)
            a->eof = true;
        if (r <= 0)
            continue;
        buf_append(&a->raw, tmp, (size_t)r);
        uint64_t now = mono_ns();
        if (!a->first_ns && strstr(a->raw.p, "data: {"))
            a->first_ns = now;
        if (!a->done_ns && strstr(a->raw.p, "data: [DONE]"))
            a->done_ns = now;
    }
}

/* The events of a chunked body (head skipped): out gets the body. */
static void dechunk(const char *raw, buf_t *out)
{
    const char *p = strstr(raw, "\r\n\r\n");
    assert_non_null(p);
    p += 4;
    for (;;) {
        char *end;
        unsigned long n = strtoul(p, &end, 16);
        assert_true(end != p && strncmp(end, "\r\n", 2) == 0);
        if (n == 0)
            return;
        buf_append(out, end + 2, n);
        p = end + 2 + n;
        assert_true(strncmp(p, "\r\n", 2) == 0);
        p += 2;
    }
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void test_tokens_on_time_and_kept_alive(void **state)
{
    (void)state;
    struct srv h;
    srv_start(&h, 5, 30, 10);
    int fd = client(&h);
    struct answer a = {0};
    buf_init(&a.raw);
    uint64_t t0 = mono_ns();
    post(&h, fd, "1.1", "{\"max_tokens\":3,\"model\":\"m\\\"x\"}");
    read_answer(&h, fd, &a, "0\r\n\r\n", 3000);
    assert_int_equal(strncmp(a.raw.p, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_non_null(strstr(a.raw.p, "\r\nTransfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(a.raw.p, "\r\nContent-Type: text/event-stream"));
    assert_null(strstr(a.raw.p, "Connection: close"));
    /* the first token after --first-token, the final chunk three intervals on */
    assert_true(a.first_ns - t0 >= 29 * MS);
    assert_true(a.first_ns - t0 < 30 * MS + 200 * MS);
    assert_true(a.done_ns - t0 >= 59 * MS);
    buf_t body;
    buf_init(&body);
    dechunk(a.raw.p, &body);
    assert_int_equal(count(body.p, "data: "), 5); /* 3 tokens, the final chunk, [DONE] */
    assert_int_equal(count(body.p, "\"object\":\"chat.completion.chunk\""), 4);
    assert_int_equal(count(body.p, "\"model\":\"m\\\"x\""), 4);
    assert_non_null(strstr(body.p, "data: {\"id\":\"chatcmpl-evcat-1\","));
    assert_non_null(strstr(body.p, "\"delta\":{\"role\":\"assistant\",\"content\":\"evcat\"},"
                                   "\"finish_reason\":null}]}\n\n"));
    assert_non_null(strstr(body.p, "\"delta\":{\"content\":\" streams\"}"));
    assert_non_null(
        strstr(body.p, "\"delta\":{},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n"));
    /* the next request on the same connection: every token, finished */
    buf_reset(&body);
    struct answer b = {0};
    buf_init(&b.raw);
    post(&h, fd, "1.1", "{}");
    read_answer(&h, fd, &b, "0\r\n\r\n", 3000);
    assert_false(b.eof);
    dechunk(b.raw.p, &body);
    assert_int_equal(count(body.p, "data: "), 7);
    assert_non_null(strstr(body.p, "chatcmpl-evcat-2"));
    assert_non_null(strstr(body.p, "\"model\":\"evcat\""));
    assert_non_null(strstr(body.p, "\"finish_reason\":\"stop\""));
    assert_int_equal(serve_stats(h.s)->completions, 2);
    buf_free(&body);
    buf_free(&a.raw);
    buf_free(&b.raw);
    close(fd);
    srv_free(&h);
}

static void test_bad_bodies_are_400_and_keep_the_connection(void **state)
{
    (void)state;
    struct srv h;
    srv_start(&h, 2, 0, 0);
    int fd = client(&h);
    static const struct {
        const char *body;
        const char *param;
    } cases[] = {
        {"", "null"},
        {"nope", "null"},
        {"[1,2]", "null"},
        {"{\"max_tokens\":0}", "\"max_tokens\""},
        {"{\"max_tokens\":1.5}", "\"max_tokens\""},
        {"{\"stream\":false}", "\"stream\""},
        {"{\"model\":5}", "\"model\""},
        {"{\"messages\":\"hi\"}", "\"messages\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct answer a = {0};
        buf_init(&a.raw);
        post(&h, fd, "1.1", cases[i].body);
        read_answer(&h, fd, &a, "}}\n", 2000);
        assert_false(a.eof);
        if (strncmp(a.raw.p, "HTTP/1.1 400 ", 13) != 0)
            fail_msg("'%s': %.40s", cases[i].body, a.raw.p);
        assert_non_null(strstr(a.raw.p, "\r\nContent-Type: application/json\r\n"));
        char want[96];
        snprintf(want, sizeof(want),
                 "\"type\":\"invalid_request_error\",\"param\":%s,\"code\":null}}", cases[i].param);
        if (!strstr(a.raw.p, want))
            fail_msg("'%s': %s", cases[i].body, strstr(a.raw.p, "\r\n\r\n"));
        assert_non_null(strstr(a.raw.p, "{\"error\":{\"message\":\""));
        buf_free(&a.raw);
    }
    struct answer ok = {0};
    buf_init(&ok.raw);
    post(&h, fd, "1.1", "{\"max_tokens\":1}");
    read_answer(&h, fd, &ok, "0\r\n\r\n", 2000);
    assert_non_null(strstr(ok.raw.p, "data: [DONE]"));
    assert_int_equal(serve_stats(h.s)->completions, 1);
    buf_free(&ok.raw);
    close(fd);
    srv_free(&h);
}

static void test_http10_answer_ends_with_the_connection(void **state)
{
    (void)state;
    struct srv h;
    srv_start(&h, 2, 0, 5);
    int fd = client(&h);
    struct answer a = {0};
    buf_init(&a.raw);
    post(&h, fd, "1.0", "{}");
    read_answer(&h, fd, &a, "\x01never", 3000);
    assert_true(a.eof);
    assert_non_null(strstr(a.raw.p, "\r\nConnection: close\r\n"));
    assert_null(strstr(a.raw.p, "Transfer-Encoding"));
    const char *body = strstr(a.raw.p, "\r\n\r\n") + 4;
    assert_int_equal(strncmp(body, "data: {", 7), 0);
    assert_int_equal(count(body, "data: "), 4);
    assert_non_null(strstr(body, "data: [DONE]\n\n"));
    buf_free(&a.raw);
    close(fd);
    srv_free(&h);
}

/* One client leaves after the first token, the server stops in the other's
 * answer: nothing is left behind (ASan and valgrind watch the frees), and
 * the answer cut short ends with the connection, without [DONE]. */
static void test_leaving_and_stopping_in_an_answer(void **state)
{
    (void)state;
    struct srv h;
    srv_start(&h, 1000, 0, 10);
    int leaver = client(&h), stayer = client(&h);
    struct answer a = {0}, b = {0};
    buf_init(&a.raw);
    buf_init(&b.raw);
    post(&h, leaver, "1.1", "{}");
    post(&h, stayer, "1.1", "{}");
    read_answer(&h, leaver, &a, "data: {", 2000);
    read_answer(&h, stayer, &b, "data: {", 2000);
    assert_non_null(a.first_ns ? a.raw.p : NULL);
    close(leaver);
    for (int i = 0; i < 50; i++)
        loop_run_once(h.l, 2);
    serve_stop(h.s);
    read_answer(&h, stayer, &b, "\x01never", 5000);
    assert_true(b.eof);
    assert_null(strstr(b.raw.p, "[DONE]"));
    assert_int_equal(serve_stats(h.s)->completions, 2);
    buf_free(&a.raw);
    buf_free(&b.raw);
    close(stayer);
    srv_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_on_time_and_kept_alive),
        cmocka_unit_test(test_bad_bodies_are_400_and_keep_the_connection),
        cmocka_unit_test(test_http10_answer_ends_with_the_connection),
        cmocka_unit_test(test_leaving_and_stopping_in_an_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
