/* Unit tests for GET / (src/serve/serve_page.c) and HEAD on every GET route
 * of evcat serve (serve_request.c's route table): a server on its loop and
 * plain sockets on loopback that read the bytes it answers. */
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
#include <openssl/sha.h>

#include "buf.h"
#include "loop.h"
#include "serve.h"
#include "text.h"

extern const unsigned char serve_page_html[]; /* generated from page/index.html */
extern const size_t serve_page_html_len;

struct srv {
    loop_t *l;
    serve_t *s;
    int port;
};

static void srv_start(struct srv *h)
{
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    assert_int_equal(serve_parse_listen("127.0.0.1:0", &cfg.addr, &cfg.addr_len), 0);
    cfg.tick_ms = 0;
    cfg.keepalive_ms = 0;
    h->l = loop_new();
    assert_non_null(h->l);
    char err[256];
    assert_int_equal(serve_start(h->l, &cfg, &h->s, err, sizeof(err)), 0);
    char addr[80];
    serve_local_addr(h->s, addr, sizeof(addr));
    h->port = atoi(strrchr(addr, ':') + 1);
}

static void srv_stop(struct srv *h)
{
    serve_free(h->s);
    loop_free(h->l);
}

/* Sends req on a new connection and returns everything the server sent
 * until it closed (fails after two seconds without the close). */
static void exchange(struct srv *h, const char *req, buf_t *got)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    assert_true(rc == 0 || errno == EINPROGRESS);
    size_t off = 0, n = strlen(req);
    buf_reset(got);
    for (int i = 0; i < 2000; i++) {
        loop_run_once(h->l, 1);
        if (off < n) {
            ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
            continue;
        }
        char b[8192];
        ssize_t r = recv(fd, b, sizeof(b), 0);
        if (r == 0) {
            close(fd);
            return;
        }
        if (r > 0)
            buf_append(got, b, (size_t)r);
    }
    close(fd);
    fail_msg("no close after '%.40s': got '%.200s'", req, got->p ? got->p : "");
}

/* The value of a header in a response head ("" when absent). */
static const char *header(const char *resp, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    const char *end = strstr(resp, "\r\n\r\n");
    size_t nlen = strlen(name);
    for (const char *l = strstr(resp, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, nlen) == 0 && l[2 + nlen] == ':') {
            const char *v = l + 2 + nlen + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)(strstr(v, "\r\n") - v);
            snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
            break;
        }
    }
    return out;
}

/* 'sha256-…' of what the page holds between open and close. */
static void page_hash(const char *open, const char *close, char *out, size_t cap)
{
    const char *page = (const char *)serve_page_html;
    const char *s = strstr(page, open);
    assert_non_null(s);
    s += strlen(open);
    const char *e = strstr(s, close);
    assert_non_null(e);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, (size_t)(e - s), md);
    buf_t b;
    buf_init(&b);
    base64_append(&b, md, sizeof(md));
    snprintf(out, cap, "'sha256-%s'", b.p);
    buf_free(&b);
}

/* GET /: the embedded page, whole, with its type, length, no-store and a
 * policy that allows its own inline style and script and nothing else. */
static void test_get_page(void **state)
{
    (void)state;
    struct srv h;
    srv_start(&h);
    buf_t got;
    buf_init(&got);
    exchange(&h, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &got);
    assert_true(strncmp(got.p, "HTTP/1.1 200 OK\r\n", 17) == 0);
    char v[1024];
    assert_string_equal(header(got.p, "Content-Type", v, sizeof(v)), "text/html; charset=utf-8");
    assert_string_equal(header(got.p, "Cache-Control", v, sizeof(v)), "no-store");
    assert_int_equal(atol(header(got.p, "Content-Length", v, sizeof(v))), serve_page_html_len);
    const char *body = strstr(got.p, "\r\n\r\n") + 4;
    assert_int_equal(got.len - (size_t)(body - got.p), serve_page_html_len);
    assert_memory_equal(body, serve_page_html, serve_page_html_len);
    assert_int_equal(strlen((const char *)serve_page_html), serve_page_html_len); /* no NUL */
    assert_true(strncmp(body, "<!doctype html>", 15) == 0);

    char style[80], script[80], want[512];
    page_hash("<style>", "</style>", style, sizeof(style));
    page_hash("<script>", "</script>", script, sizeof(script));
    snprintf(want, sizeof(want),
             "default-src 'none'; style-src %s; script-src %s; connect-src 'self'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
             style, script);
    assert_string_equal(header(got.p, "Content-Security-Policy", v, sizeof(v)), want);
    assert_string_equal(header(got.p, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
    /* No inline handler attributes or external resources the policy would block. */
    assert_null(strstr((const char *)serve_page_html, " onclick="));
    assert_null(strstr((const char *)serve_page_html, "src=\""));
    assert_null(strstr((const char *)serve_page_html, "href=\""));
    assert_null(strstr((const char *)serve_page_html, "innerHTML"));
    buf_free(&got);
    srv_stop(&h);
}

/* The head of a response: up to its blank line, without the Date line (a
 * second may pass between two requests). */
static void head_of(const buf_t *resp, buf_t *out)
{
    const char *end = strstr(resp->p, "\r\n\r\n");
    assert_non_null(end);
    buf_reset(out);
    for (const char *l = resp->p; l <= end + 2;) {
        const char *eol = strstr(l, "\r\n") + 2;
        if (strncmp(l, "Date:", 5) != 0)
            buf_append(out, l, (size_t)(eol - l));
        l = eol;
    }
}

/* HEAD on each GET route: GET's status and headers, not one byte of body;
 * on /sse the head, then the end, and no subscriber is left behind. */
static void test_head_like_get(void **state)
{
    (void)state;
    struct srv h;
    srv_start(&h);
    const char *paths[] = {"/", "/sse", "/ws", "/echo", "/nothing"};
    buf_t get, head, a, b;
    buf_init(&get);
    buf_init(&head);
    buf_init(&a);
    buf_init(&b);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                 paths[i]);
        exchange(&h, req, &head);
        head_of(&head, &b);
        if (head.len != (size_t)(strstr(head.p, "\r\n\r\n") + 4 - head.p))
            fail_msg("HEAD %s: %zu bytes after the head: '%s'", paths[i],
                     head.len - (size_t)(strstr(head.p, "\r\n\r\n") + 4 - head.p), head.p);
        if (strcmp(paths[i], "/sse") == 0) {
            /* GET /sse never ends: its head is the event stream's. */
            assert_string_equal(b.p, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                     "Cache-Control: no-cache\r\n"
                                     "Access-Control-Allow-Origin: *\r\n"
                                     "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n");
            continue;
        }
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                 paths[i]);
        exchange(&h, req, &get);
        head_of(&get, &a);
        if (strcmp(a.p, b.p) != 0)
            fail_msg("%s: GET's head\n%s\nHEAD's head\n%s", paths[i], a.p, b.p);
    }
    assert_int_equal(serve_stats(h.s)->subscribers, 0);

    /* Keep-alive: a HEAD answered without a body leaves the next response
     * right after its head. */
    exchange(&h,
             "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
             &get);
    const char *next = strstr(get.p, "\r\n\r\n") + 4;
    assert_true(strncmp(next, "HTTP/1.1 404 ", 13) == 0);

    /* Allow names HEAD beside GET. */
    char v[128];
    exchange(&h, "DELETE /sse HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &get);
    assert_true(strncmp(get.p, "HTTP/1.1 405 ", 13) == 0);
    assert_string_equal(header(get.p, "Allow", v, sizeof(v)), "GET, HEAD, OPTIONS");
    exchange(&h, "HEAD /publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &get);
    assert_true(strncmp(get.p, "HTTP/1.1 405 ", 13) == 0);
    assert_string_equal(header(get.p, "Allow", v, sizeof(v)), "POST, OPTIONS");
    exchange(&h, "OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &get);
    assert_string_equal(header(get.p, "Allow", v, sizeof(v)), "GET, HEAD, POST, OPTIONS");
    buf_free(&get);
    buf_free(&head);
    buf_free(&a);
    buf_free(&b);
    srv_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_page),
        cmocka_unit_test(test_head_like_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
