/* Unit tests for src/proto/http_request.c: valid heads fed whole, byte by byte and
 * split at every position; every malformed case with the status it earns;
 * the bounds; chunked decoding with splits and bad sizes; query lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_request.h"

/* ---- valid heads ---- */

struct valid_case {
    const char *name;
    const char *head; /* the request head; a body may follow it in the table */
    const char *method, *path, *query;
    int minor;
    int64_t content_length;
    unsigned flags; /* F_* */
};

enum { F_CHUNKED = 1, F_KEEP = 2, F_UPGRADE = 4, F_EXPECT = 8, F_EXPECT_OTHER = 16 };

static const struct valid_case valid_cases[] = {
    {"simple GET", "GET /sse HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/sse", "", 1, -1, F_KEEP},
    {"query", "POST /publish?event=a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", "POST",
     "/publish", "event=a%20b", 1, 5, F_KEEP},
    {"HTTP/1.0 closes", "GET /sse HTTP/1.0\r\n\r\n", "GET", "/sse", "", 0, -1, 0},
    {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", "", 0,
     -1, F_KEEP},
    {"Connection: close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET", "/", "",
     1, -1, 0},
    {"chunked", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/p",
     "", 1, -1, F_CHUNKED | F_KEEP},
    {"TE case-insensitive", "POST /p HTTP/1.1\r\nHost: x\r\ntransfer-encoding: ChUnKeD\r\n\r\n",
     "POST", "/p", "", 1, -1, F_CHUNKED | F_KEEP},
    {"bare LF line ends", "GET /a?b HTTP/1.1\nHost: x\n\n", "GET", "/a", "b", 1, -1, F_KEEP},
    {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/", "", 1, -1,
     F_KEEP},
    {"absolute-form", "GET http://example.com:80/sse?x=1 HTTP/1.1\r\nHost: e\r\n\r\n", "GET",
     "/sse", "x=1", 1, -1, F_KEEP},
    {"absolute-form no path", "GET https://example.com HTTP/1.1\r\nHost: e\r\n\r\n", "GET", "/", "",
     1, -1, F_KEEP},
    {"absolute-form query only", "GET http://h?q=1 HTTP/1.1\r\nHost: e\r\n\r\n", "GET", "/", "q=1",
     1, -1, F_KEEP},
    {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "OPTIONS", "*", "", 1, -1, F_KEEP},
    {"HTTP/1.2 served as 1.1", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", "GET", "/", "", 1, -1, F_KEEP},
    {"upgrade",
     "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n"
     "Upgrade: websocket\r\n\r\n",
     "GET", "/ws", "", 1, -1, F_KEEP | F_UPGRADE},
    {"trimmed and empty values", "GET / HTTP/1.1\r\nHost: x\r\nX-A: \t v w \t\r\nX-Empty:\r\n\r\n",
     "GET", "/", "", 1, -1, F_KEEP},
    {"obs-text in value", "GET / HTTP/1.1\r\nHost: x\r\nX-U: caf\xc3\xa9\r\n\r\n", "GET", "/", "",
     1, -1, F_KEEP},
    {"expect 100-continue",
     "POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", "POST",
     "/p", "", 1, 3, F_KEEP | F_EXPECT},
    {"unknown expectation", "POST /p HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n", "POST", "/p", "",
     1, -1, F_KEEP | F_EXPECT_OTHER},
    {"HTTP/1.0 ignores Expect", "POST /p HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "POST", "/p",
     "", 0, -1, 0},
    {"repeated equal Content-Length",
     "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\ncontent-length: 7, 7\r\n\r\n", "POST",
     "/p", "", 1, 7, F_KEEP},
    {"Content-Length 0 with leading zeros",
     "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 000\r\n\r\n", "POST", "/p", "", 1, 0, F_KEEP},
    {"fragment dropped", "GET /sse?a=1#frag HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/sse", "a=1", 1,
     -1, F_KEEP},
    {"extension method", "PATCH-IT /x HTTP/1.1\r\nHost: x\r\n\r\n", "PATCH-IT", "/x", "", 1, -1,
     F_KEEP},
};

static void check_valid(const struct valid_case *vc, const http_request_t *r)
{
    const http_request_info_t *in = http_request_info(r);
    assert_non_null(in);
    assert_string_equal(in->method, vc->method);
    assert_string_equal(in->path, vc->path);
    assert_string_equal(in->query, vc->query);
    assert_int_equal(in->version_minor, vc->minor);
    assert_int_equal(in->content_length, vc->content_length);
    assert_int_equal(in->chunked, !!(vc->flags & F_CHUNKED));
    assert_int_equal(in->keep_alive, !!(vc->flags & F_KEEP));
    assert_int_equal(in->upgrade, !!(vc->flags & F_UPGRADE));
    assert_int_equal(in->expect_continue, !!(vc->flags & F_EXPECT));
    assert_int_equal(in->expect_other, !!(vc->flags & F_EXPECT_OTHER));
    assert_int_equal(in->head_len, strlen(vc->head));
    assert_int_equal(strlen(in->path), in->path_len);
    assert_int_equal(strlen(in->method), in->method_len);
}

static void test_valid_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct valid_case *vc = &valid_cases[i];
        http_request_t *r = http_request_new(0);
        /* A body (or the next request) after the head must be left over. */
        char input[1024];
        snprintf(input, sizeof(input), "%sBODY", vc->head);
        size_t used = 0;
        int rc = http_request_feed(r, input, strlen(input), &used);
        if (rc != HTTP_REQUEST_DONE)
            fail_msg("%s: rc %d (%s)", vc->name, rc, http_request_error(r));
        assert_int_equal(used, strlen(vc->head));
        check_valid(vc, r);
        /* Done is sticky until reset. */
        assert_int_equal(http_request_feed(r, "x", 1, &used), HTTP_REQUEST_DONE);
        assert_int_equal(used, 0);
        http_request_free(r);
    }
}

static void test_valid_byte_by_byte(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct valid_case *vc = &valid_cases[i];
        http_request_t *r = http_request_new(0);
        size_t n = strlen(vc->head);
        assert_false(http_request_started(r));
        for (size_t k = 0; k < n; k++) {
            size_t used = 0;
            int rc = http_request_feed(r, vc->head + k, 1, &used);
            assert_int_equal(used, 1);
            if (k + 1 < n) {
                if (rc != HTTP_REQUEST_AGAIN)
                    fail_msg("%s: rc %d at byte %zu", vc->name, rc, k);
                assert_null(http_request_info(r));
            } else {
                assert_int_equal(rc, HTTP_REQUEST_DONE);
            }
        }
        assert_true(http_request_started(r));
        check_valid(vc, r);
        http_request_free(r);
    }
}

static void test_valid_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct valid_case *vc = &valid_cases[i];
        size_t n = strlen(vc->head);
        http_request_t *r = http_request_new(0);
        for (size_t split = 0; split <= n; split++) {
            http_request_reset(r);
            size_t used = 0;
            int rc = http_request_feed(r, vc->head, split, &used);
            if (split < n) {
                assert_int_equal(rc, HTTP_REQUEST_AGAIN);
                rc = http_request_feed(r, vc->head + split, n - split, &used);
            }
            if (rc != HTTP_REQUEST_DONE)
                fail_msg("%s: split %zu: rc %d", vc->name, split, rc);
            check_valid(vc, r);
        }
        http_request_free(r);
    }
}

static void test_headers_lookup(void **state)
{
    (void)state;
    const char *head = "GET /ws HTTP/1.1\r\nHost: example\r\nConnection: keep-alive, Upgrade\r\n"
                       "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "X-A: \t v w \t\r\nX-Empty:\r\nX-List: a\r\nx-list: b , c\r\n\r\n";
    http_request_t *r = http_request_new(0);
    size_t used, len;
    assert_int_equal(http_request_feed(r, head, strlen(head), &used), HTTP_REQUEST_DONE);
    const http_request_info_t *in = http_request_info(r);
    assert_int_equal(in->nheaders, 8);
    assert_string_equal(http_request_header(in, "UPGRADE", &len), "websocket");
    assert_int_equal(len, 9);
    assert_string_equal(http_request_header(in, "sec-websocket-key", NULL),
                        "dGhlIHNhbXBsZSBub25jZQ==");
    assert_string_equal(http_request_header(in, "x-a", &len), "v w");
    assert_int_equal(len, 3);
    assert_string_equal(http_request_header(in, "x-empty", &len), "");
    assert_int_equal(len, 0);
    assert_null(http_request_header(in, "x-missing", NULL));
    assert_null(http_request_header(in, "x-", NULL));
    assert_true(http_request_has_token(in, "connection", "upgrade"));
    assert_true(http_request_has_token(in, "Connection", "KEEP-ALIVE"));
    assert_false(http_request_has_token(in, "connection", "close"));
    assert_true(http_request_has_token(in, "x-list", "c"));
    assert_true(http_request_has_token(in, "x-list", "a"));
    assert_false(http_request_has_token(in, "x-list", "b , c"));
    assert_string_equal(in->headers[0].name, "Host");
    assert_int_equal(http_request_header_count(in, "X-LIST"), 2);
    assert_int_equal(http_request_header_count(in, "host"), 1);
    assert_int_equal(http_request_header_count(in, "x-missing"), 0);
    assert_string_equal(in->target, "/ws");
    http_request_free(r);
}

/* ---- malformed heads ---- */

struct bad_case {
    const char *name;
    const char *head;
    size_t len; /* 0: strlen */
    int status;
};

static const struct bad_case bad_cases[] = {
    {"HTTP/0.9 simple request", "GET /\r\n\r\n", 0, 400},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 0, 505},
    {"HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", 0, 505},
    {"HTTP/3.0", "GET / HTTP/3.0\r\n\r\n", 0, 505},
    {"version junk", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 0, 400},
    {"lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"short version", "GET / HTTP/1\r\nHost: x\r\n\r\n", 0, 400},
    {"two-digit major", "GET / HTTP/11.1\r\nHost: x\r\n\r\n", 0, 400},
    {"double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"leading space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"trailing space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 0, 400},
    {"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"non-token method", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"method with control", "G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"control in target", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"DEL in target", "GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"8-bit target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"NUL in request line", "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 27, 400},
    {"relative target", "GET foo HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"* with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"request line only spaces", "   \r\n\r\n", 0, 400},
    {"bare CR in request line", "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
    {"header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 0, 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  continued\r\n\r\n", 0, 400},
    {"obs-fold with tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", 0, 400},
    {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 0, 400},
    {"empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 0, 400},
    {"non-token header name", "GET / HTTP/1.1\r\nHost: x\r\nX(a): b\r\n\r\n", 0, 400},
    {"control in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01\r\n\r\n", 0, 400},
    {"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 37, 400},
    {"bare CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 0, 400},
    {"CL not a number", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 0, 400},
    {"CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 0, 400},
    {"CL plus sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 0, 400},
    {"CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 0, 400},
    {"CL list differs", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n", 0, 400},
    {"CL headers differ",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, 400},
    {"CL overflow", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 0,
     400},
    {"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", 0, 400},
    {"CL and TE",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
     400},
    {"TE gzip only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 400},
    {"TE gzip then chunked",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, 501},
    {"TE chunked twice",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     0, 400},
    {"TE chunked not last",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, 400},
    {"TE empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n", 0, 400},
    {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 0, 400},
    {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400},
};

static int feed_all(http_request_t *r, const char *p, size_t n, bool bytewise)
{
    size_t used = 0;
    if (!bytewise)
        return http_request_feed(r, p, n, &used);
    int rc = HTTP_REQUEST_AGAIN;
    for (size_t k = 0; k < n && rc == HTTP_REQUEST_AGAIN; k++)
        rc = http_request_feed(r, p + k, 1, &used);
    return rc;
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        size_t n = bc->len ? bc->len : strlen(bc->head);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            http_request_t *r = http_request_new(0);
            int rc = feed_all(r, bc->head, n, bytewise);
            if (rc >= 0 || http_request_status(rc) != bc->status)
                fail_msg("%s (%s): rc %d, status %d, wanted %d", bc->name,
                         bytewise ? "bytewise" : "whole", rc, http_request_status(rc), bc->status);
            assert_null(http_request_info(r));
            assert_true(http_request_error(r)[0] != '\0');
            /* The error is sticky; a reset makes the parser usable again. */
            size_t used;
            assert_int_equal(http_request_feed(r, "GET", 3, &used), rc);
            http_request_reset(r);
            const char *ok = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            assert_int_equal(http_request_feed(r, ok, strlen(ok), &used), HTTP_REQUEST_DONE);
            http_request_free(r);
        }
    }
}

static void test_error_early(void **state)
{
    (void)state;
    /* A bad request line is refused when it ends, not after a whole head. */
    http_request_t *r = http_request_new(0);
    size_t used;
    int rc = http_request_feed(r, "GET / HTTP/9.9\r\nHost:", 21, &used);
    assert_int_equal(rc, HTTP_REQUEST_EVERSION);
    assert_int_equal(used, 16);
    http_request_free(r);
}

/* ---- bounds ---- */

static void test_head_limit(void **state)
{
    (void)state;
    char head[20000];
    /* Exactly at the limit: accepted. */
    for (size_t limit = 64; limit <= 16384; limit *= 4) {
        const char *start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
        size_t fixed = strlen(start) + 4; /* "\r\n\r\n" */
        memset(head, 'a', sizeof(head));
        memcpy(head, start, strlen(start));
        memcpy(head + limit - 4, "\r\n\r\n", 4);
        assert_true(limit > fixed);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            http_request_t *r = http_request_new(limit);
            assert_int_equal(feed_all(r, head, limit, bytewise), HTTP_REQUEST_DONE);
            http_request_free(r);
        }
        /* One byte more: 431, whole or bytewise. */
        memset(head, 'a', sizeof(head));
        memcpy(head, start, strlen(start));
        memcpy(head + limit - 3, "\r\n\r\n", 4);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            http_request_t *r = http_request_new(limit);
            int rc = feed_all(r, head, limit + 1, bytewise);
            assert_int_equal(rc, HTTP_REQUEST_ETOO_BIG);
            assert_int_equal(http_request_status(rc), 431);
            http_request_free(r);
        }
    }
    /* The default is 16 KiB, and an endless header line is refused at the
     * bound. */
    http_request_t *r = http_request_new(0);
    memset(head, 'a', sizeof(head));
    memcpy(head, "GET / HTTP/1.1\r\nX-A: ", 21);
    size_t used;
    assert_int_equal(http_request_feed(r, head, sizeof(head), &used), HTTP_REQUEST_ETOO_BIG);
    assert_true(used <= 16384);
    http_request_free(r);
}

/* RFC 9112 section 3: a request-line that alone reaches the bound is
 * answered by what is too long in it. */
static void test_request_line_limit(void **state)
{
    (void)state;
    static char line[20000];
    const struct {
        const char *name;
        const char *start; /* then 'a' up to the length, then end */
        const char *end;
        size_t len;
        int status;
    } cases[] = {
        {"endless target", "GET /", "", sizeof(line), 414},
        {"long target, line ended", "GET /", " HTTP/1.1\r\nHost: x\r\n\r\n", sizeof(line), 414},
        {"endless method", "", "", sizeof(line), 501},
        {"long method, line ended", "", " / HTTP/1.1\r\n\r\n", sizeof(line), 501},
        {"long version", "GET / HTTP/1.1", "", sizeof(line), 400},
        {"empty method, long target", " /", "", sizeof(line), 400},
        {"a bad byte in a long method", "AB@", "", sizeof(line), 400},
        /* Exactly at the bound, the line and head complete: served. */
        {"target just fits", "GET /", " HTTP/1.1\r\nHost: x\r\n\r\n", 16384, 200},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t s = strlen(cases[i].start), e = strlen(cases[i].end), n = cases[i].len;
        memset(line, 'a', n);
        memcpy(line, cases[i].start, s);
        memcpy(line + n - e, cases[i].end, e);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            http_request_t *r = http_request_new(0);
            int rc = feed_all(r, line, n, bytewise);
            if (http_request_status(rc) != cases[i].status)
                fail_msg("%s (%s): rc %d, status %d, wanted %d", cases[i].name,
                         bytewise ? "bytewise" : "whole", rc, http_request_status(rc),
                         cases[i].status);
            http_request_free(r);
        }
    }
    /* Empty lines before the request-line are not the request-line's
     * length: 431. */
    for (size_t k = 0; k < 10000; k++)
        memcpy(line + 2 * k, "\r\n", 2);
    http_request_t *r = http_request_new(0);
    size_t used;
    assert_int_equal(http_request_feed(r, line, 20000, &used), HTTP_REQUEST_ETOO_BIG);
    http_request_free(r);
    /* But a method that is no token is 400 however it arrives, also when
     * the line that holds it goes past the bound (found by the fuzzer:
     * whole 431, in pieces 400). */
    memset(line, 's', 20000);
    memcpy(line, "\r\n", 2);
    line[40] = '\x14';
    line[19999] = '\n';
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        r = http_request_new(0);
        assert_int_equal(feed_all(r, line, 20000, bytewise), HTTP_REQUEST_EBAD);
        http_request_free(r);
    }
}

/* What cannot begin a request is refused at once, before any line end. */
static void test_partial_method(void **state)
{
    (void)state;
    const struct {
        const char *name;
        const char *in;
        size_t len; /* 0: strlen */
        int rc;
    } cases[] = {
        {"TLS ClientHello", "\x16\x03\x01\x00\xc4\x01\x00\x00", 8, HTTP_REQUEST_EBAD},
        {"NUL", "\0", 1, HTTP_REQUEST_EBAD},
        {"binary after a method", "GET\x80", 0, HTTP_REQUEST_EBAD},
        {"CR inside the method", "GE\rT", 0, HTTP_REQUEST_EBAD},
        {"after an empty line", "\r\n\x16\x03", 0, HTTP_REQUEST_EBAD},
        {"a method so far", "PATCH-IT", 0, HTTP_REQUEST_AGAIN},
        {"a method and a CR", "GET\r", 0, HTTP_REQUEST_AGAIN},
        {"half an empty line", "\r", 0, HTTP_REQUEST_AGAIN},
        {"empty lines", "\r\n\n\r", 0, HTTP_REQUEST_AGAIN},
        /* Past the method, the rest waits for the line end. */
        {"target so far", "GET /\x01", 0, HTTP_REQUEST_AGAIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].in);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            http_request_t *r = http_request_new(0);
            int rc = feed_all(r, cases[i].in, n, bytewise);
            if (rc != cases[i].rc)
                fail_msg("%s (%s): rc %d, wanted %d", cases[i].name,
                         bytewise ? "bytewise" : "whole", rc, cases[i].rc);
            if (rc < 0)
                assert_string_equal(http_request_error(r), "method is not a token");
            http_request_free(r);
        }
    }
}

static void test_too_many_headers(void **state)
{
    (void)state;
    char head[8192];
    for (int count = HTTP_REQUEST_MAX_HEADERS; count <= HTTP_REQUEST_MAX_HEADERS + 1; count++) {
        size_t n = (size_t)snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 1; i < count; i++)
            n += (size_t)snprintf(head + n, sizeof(head) - n, "X-%d: %d\r\n", i, i);
        n += (size_t)snprintf(head + n, sizeof(head) - n, "\r\n");
        http_request_t *r = http_request_new(0);
        size_t used;
        int rc = http_request_feed(r, head, n, &used);
        assert_int_equal(rc, count > HTTP_REQUEST_MAX_HEADERS ? HTTP_REQUEST_ETOO_BIG
                                                              : HTTP_REQUEST_DONE);
        http_request_free(r);
    }
}

static void test_pipelined_and_reset(void **state)
{
    (void)state;
    const char *two = "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
                      "GET /sse?lastEventId=4 HTTP/1.1\r\nHost: x\r\n\r\n";
    http_request_t *r = http_request_new(0);
    size_t used, off = 0, n = strlen(two);
    assert_int_equal(http_request_feed(r, two, n, &used), HTTP_REQUEST_DONE);
    assert_int_equal(http_request_info(r)->content_length, 2);
    off = used + 2; /* the body */
    http_request_reset(r);
    assert_false(http_request_started(r));
    assert_int_equal(http_request_feed(r, two + off, n - off, &used), HTTP_REQUEST_DONE);
    assert_int_equal(used, n - off);
    assert_string_equal(http_request_info(r)->path, "/sse");
    assert_string_equal(http_request_info(r)->query, "lastEventId=4");
    assert_string_equal(http_request_info(r)->target, "/sse?lastEventId=4");
    assert_true(http_request_info(r)->has_query);
    http_request_free(r);
}

static void test_status_map(void **state)
{
    (void)state;
    assert_int_equal(http_request_status(HTTP_REQUEST_EBAD), 400);
    assert_int_equal(http_request_status(HTTP_REQUEST_ETOO_BIG), 431);
    assert_int_equal(http_request_status(HTTP_REQUEST_EVERSION), 505);
    assert_int_equal(http_request_status(HTTP_REQUEST_EUNSUPPORTED), 501);
    assert_int_equal(http_request_status(HTTP_REQUEST_EBODY_TOO_BIG), 413);
    assert_int_equal(http_request_status(HTTP_REQUEST_EURI_TOO_LONG), 414);
    assert_int_equal(http_request_status(HTTP_REQUEST_DONE), 200);
}

/* ---- chunked ---- */

struct chunk_case {
    const char *name;
    const char *in;
    int result;        /* final result */
    const char *body;  /* decoded body when DONE */
    size_t max_body;   /* 0: 1 MiB */
    const char *extra; /* bytes after the body that must be left over */
};

static const struct chunk_case chunk_cases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", HTTP_REQUEST_DONE, "hello", 0, NULL},
    {"several chunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", HTTP_REQUEST_DONE, "abcdef", 0,
     NULL},
    {"hex digits", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", HTTP_REQUEST_DONE,
     "0123456789abcdefghij", 0, NULL},
    {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", HTTP_REQUEST_DONE, "hello", 0, NULL},
    {"extensions", "5;name=value;x\r\nhello\r\n0;last\r\n\r\n", HTTP_REQUEST_DONE, "hello", 0,
     NULL},
    {"BWS before extension", "5 ;a=b\r\nhello\r\n0\r\n\r\n", HTTP_REQUEST_DONE, "hello", 0, NULL},
    {"trailers", "5\r\nhello\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n", HTTP_REQUEST_DONE,
     "hello", 0, NULL},
    {"bare LF", "5\nhello\n0\n\n", HTTP_REQUEST_DONE, "hello", 0, NULL},
    {"empty body", "0\r\n\r\n", HTTP_REQUEST_DONE, "", 0, NULL},
    {"CRLF inside data", "4\r\na\r\nb\r\n0\r\n\r\n", HTTP_REQUEST_DONE, "a\r\nb", 0, NULL},
    {"next request left over", "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n", HTTP_REQUEST_DONE, "hi", 0,
     "GET / HTTP/1.1\r\n"},
    {"exactly max", "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n", HTTP_REQUEST_DONE, "abcdefgh", 8, NULL},
    {"not hex", "x\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"empty size", "\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"negative size", "-5\r\nhello\r\n0\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"0x prefix", "0x5\r\nhello\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"junk after size", "5x\r\nhello\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"data longer than size", "5\r\nhelloX\r\n0\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"data shorter than size", "7\r\nhello\r\n0\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"bare CR after size", "5\rhello", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"bare CR after data", "5\r\nhello\rX", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"too many digits", "00000000000000001\r\nx\r\n0\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"huge size", "ffffffffffffffff\r\n", HTTP_REQUEST_EBODY_TOO_BIG, NULL, 0, NULL},
    {"over max in one chunk", "9\r\n123456789\r\n0\r\n\r\n", HTTP_REQUEST_EBODY_TOO_BIG, NULL, 8,
     NULL},
    {"over max in total", "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", HTTP_REQUEST_EBODY_TOO_BIG, NULL,
     8, NULL},
    {"control in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"bad trailer start", "0\r\n:x\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"control in trailer", "0\r\nX: a\x01\r\n\r\n", HTTP_REQUEST_EBAD, NULL, 0, NULL},
    {"bare CR at end", "0\r\n\rX", HTTP_REQUEST_EBAD, NULL, 0, NULL},
};

static int chunk_feed(const struct chunk_case *cc, size_t split, bool bytewise, buf_t *out,
                      size_t *total_used)
{
    http_request_chunked_t d;
    http_request_chunked_init(&d, cc->max_body ? cc->max_body : 1024 * 1024);
    size_t n = strlen(cc->in), used = 0;
    *total_used = 0;
    int rc = HTTP_REQUEST_AGAIN;
    if (bytewise) {
        for (size_t k = 0; k < n && rc == HTTP_REQUEST_AGAIN; k++) {
            rc = http_request_chunked_feed(&d, cc->in + k, 1, out, &used);
            *total_used += used;
        }
    } else {
        rc = http_request_chunked_feed(&d, cc->in, split, out, &used);
        *total_used += used;
        if (rc == HTTP_REQUEST_AGAIN) {
            assert_int_equal(used, split);
            rc = http_request_chunked_feed(&d, cc->in + split, n - split, out, &used);
            *total_used += used;
        }
    }
    if (rc < 0)
        assert_true(http_request_chunked_error(&d)[0] != '\0');
    return rc;
}

static void test_chunked(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
        const struct chunk_case *cc = &chunk_cases[i];
        size_t n = strlen(cc->in);
        /* Every split into two pieces, then byte by byte. */
        for (size_t split = 0; split <= n + 1; split++) {
            buf_t out;
            buf_init(&out);
            size_t used;
            bool bytewise = split == n + 1;
            int rc = chunk_feed(cc, bytewise ? 0 : split, bytewise, &out, &used);
            if (rc != cc->result)
                fail_msg("%s: split %zu: rc %d, wanted %d", cc->name, split, rc, cc->result);
            if (rc == HTTP_REQUEST_DONE) {
                assert_int_equal(out.len, strlen(cc->body));
                assert_memory_equal(out.len ? out.p : "", cc->body, out.len);
                size_t extra = cc->extra ? strlen(cc->extra) : 0;
                assert_int_equal(used, n - extra);
            }
            buf_free(&out);
        }
    }
}

static void test_chunked_sticky(void **state)
{
    (void)state;
    http_request_chunked_t d;
    http_request_chunked_init(&d, 100);
    buf_t out;
    buf_init(&out);
    size_t used;
    assert_int_equal(http_request_chunked_feed(&d, "0\r\n\r\n", 5, &out, &used), HTTP_REQUEST_DONE);
    assert_int_equal(http_request_chunked_feed(&d, "5\r\n", 3, &out, &used), HTTP_REQUEST_DONE);
    assert_int_equal(used, 0);
    http_request_chunked_init(&d, 100);
    assert_int_equal(http_request_chunked_feed(&d, "z", 1, &out, &used), HTTP_REQUEST_EBAD);
    assert_int_equal(http_request_chunked_feed(&d, "0\r\n\r\n", 5, &out, &used), HTTP_REQUEST_EBAD);
    buf_free(&out);
}

static void test_chunk_extension_bound(void **state)
{
    (void)state;
    char in[6000];
    memset(in, 'a', sizeof(in));
    memcpy(in, "5;", 2);
    http_request_chunked_t d;
    http_request_chunked_init(&d, 100);
    buf_t out;
    buf_init(&out);
    size_t used;
    assert_int_equal(http_request_chunked_feed(&d, in, sizeof(in), &out, &used), HTTP_REQUEST_EBAD);
    buf_free(&out);
}

/* ---- query parameters ---- */

static void test_query_param(void **state)
{
    (void)state;
    struct {
        const char *query, *name;
        int rc;
        const char *value;
    } cases[] = {
        {"event=greet", "event", 1, "greet"},
        {"a=1&event=a%20b%2Fc&b=2", "event", 1, "a b/c"},
        {"event=a+b", "event", 1, "a b"},
        {"event=%E2%9C%93", "event", 1, "\xe2\x9c\x93"},
        {"event", "event", 1, ""},
        {"event=", "event", 1, ""},
        {"events=x", "event", 0, NULL},
        {"xevent=x", "event", 0, NULL},
        {"", "event", 0, NULL},
        {"a=1;event=x", "event", 1, "x"},
        {"event=first&event=second", "event", 1, "first"},
        {"event=%zz", "event", -1, NULL},
        {"event=%4", "event", -1, NULL},
        {"event=%", "event", -1, NULL},
        {"event=%0A", "event", 1, "\n"},
        {"lastEventId=42", "lastEventId", 1, "42"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t out;
        buf_init(&out);
        int rc =
            http_request_query_param(cases[i].query, strlen(cases[i].query), cases[i].name, &out);
        if (rc != cases[i].rc)
            fail_msg("query '%s': rc %d, wanted %d", cases[i].query, rc, cases[i].rc);
        if (rc == 1)
            assert_string_equal(out.p, cases[i].value);
        buf_free(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_whole),
        cmocka_unit_test(test_valid_byte_by_byte),
        cmocka_unit_test(test_valid_every_split),
        cmocka_unit_test(test_headers_lookup),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_error_early),
        cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_request_line_limit),
        cmocka_unit_test(test_partial_method),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_pipelined_and_reset),
        cmocka_unit_test(test_status_map),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_chunked_sticky),
        cmocka_unit_test(test_chunk_extension_bound),
        cmocka_unit_test(test_query_param),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
