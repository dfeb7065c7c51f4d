/* Unit tests for src/proto/http_response.c: response heads (status, the
 * headers it reads, bounds, errors, interim heads) and bodies (chunked with
 * extensions and trailers, Content-Length, until close), whole and a byte
 * at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http_response.h"

static int parse(const char *s, http_response_head_t *h)
{
    return http_response_head_parse(s, strlen(s), 0, h);
}

static void test_head(void **state)
{
    (void)state;
    http_response_head_t h;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Type:  text/event-stream \r\n"
                     "X-Other: 1\r\nContent-Length: 12\r\n\r\nbody";
    assert_int_equal(parse(ok, &h), HTTP_RESP_DONE);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.minor, 1);
    assert_string_equal(h.content_type, "text/event-stream");
    assert_true(h.has_length && h.content_length == 12);
    assert_false(h.chunked);
    assert_int_equal(h.head_len, strlen(ok) - 4);
    /* every shorter prefix waits */
    for (size_t n = 0; n < h.head_len; n++)
        assert_int_equal(http_response_head_parse(ok, n, 0, &h), HTTP_RESP_AGAIN);

    assert_int_equal(parse("HTTP/1.0 404\nTransfer-Encoding: Chunked\nContent-Length: 3\n\n", &h),
                     HTTP_RESP_DONE);
    assert_int_equal(h.status, 404);
    assert_true(h.chunked && !h.has_length); /* chunked wins */
    assert_string_equal(h.content_type, "");
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", &h), HTTP_RESP_DONE);
    assert_int_equal(h.status, 100);
    assert_int_equal(h.head_len, 25);
}

static void test_head_errors(void **state)
{
    (void)state;
    http_response_head_t h;
    static const struct {
        const char *s;
        int rc;
    } cases[] = {
        {"SSH-2.0-x\r\n", HTTP_RESP_EBAD}, /* at once, without a blank line */
        {"HTTP/1.1 20 OK\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 099 x\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200OK\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/2.0 200 OK\r\n\r\n", HTTP_RESP_EUNSUPPORTED},
        {"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200 OK\r\nBad name: x\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP_RESP_EBAD},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_RESP_EUNSUPPORTED},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_RESP_EUNSUPPORTED},
        {"HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n", HTTP_RESP_EBAD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].s, &h);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %d, not %d", i, rc, cases[i].rc);
    }
    /* bounds: the head's size, the number of headers */
    char big[600];
    memset(big, 'a', sizeof(big));
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    assert_int_equal(http_response_head_parse(big, sizeof(big), 512, &h), HTTP_RESP_ETOO_BIG);
    assert_int_equal(http_response_head_parse(big, 511, 512, &h), HTTP_RESP_AGAIN);
    char many[4096] = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i <= HTTP_RESPONSE_MAX_HEADERS; i++)
        strcat(many, "A: 1\r\n");
    strcat(many, "\r\n");
    assert_int_equal(parse(many, &h), HTTP_RESP_ETOO_BIG);
}

struct sink {
    char out[256];
    size_t len;
};

static int collect(void *ud, const char *p, size_t n)
{
    struct sink *s = ud;
    assert_true(s->len + n <= sizeof(s->out));
    memcpy(s->out + s->len, p, n);
    s->len += n;
    return 0;
}

/* Decodes body after head whole and a byte at a time; both must agree. */
static int body(const char *head, const char *in, size_t n, struct sink *s, size_t *used)
{
    http_response_head_t h;
    assert_int_equal(parse(head, &h), HTTP_RESP_DONE);
    http_body_t b;
    http_body_init(&b, &h);
    memset(s, 0, sizeof(*s));
    int rc = http_body_feed(&b, in, n, used, collect, s);
    struct sink t = {0};
    http_body_init(&b, &h);
    int r1 = HTTP_RESP_AGAIN;
    size_t u1 = 0, u;
    for (size_t i = 0; i < n && r1 == HTTP_RESP_AGAIN; i++) {
        r1 = http_body_feed(&b, in + i, 1, &u, collect, &t);
        u1 += u;
    }
    assert_int_equal(r1, rc);
    assert_int_equal(t.len, s->len);
    assert_memory_equal(t.out, s->out, s->len);
    if (rc == HTTP_RESP_DONE)
        assert_int_equal(u1, *used);
    return rc;
}

#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static void test_bodies(void **state)
{
    (void)state;
    struct sink s;
    size_t used;
    const char c1[] = "5;a=b\r\nhello\r\nA\r\n, world..\n\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    assert_int_equal(body(CHUNKED, c1, sizeof(c1) - 1, &s, &used), HTTP_RESP_DONE);
    assert_int_equal(s.len, 15);
    assert_memory_equal(s.out, "hello, world..\n", 15);
    assert_int_equal(used, sizeof(c1) - 1 - 4);
    const char c2[] = "3\nabc\n0\n\n";
    assert_int_equal(body(CHUNKED, c2, sizeof(c2) - 1, &s, &used), HTTP_RESP_DONE);
    assert_int_equal(s.len, 3);
    const char part[] = "10\r\n0123456789";
    assert_int_equal(body(CHUNKED, part, sizeof(part) - 1, &s, &used), HTTP_RESP_AGAIN);
    assert_int_equal(s.len, 10);
    static const char *const bad[] = {"x\r\n", "5\r\nhelloX", ";\r\n", "3 x\r\nabc\r\n0\r\n\r\n"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(body(CHUNKED, bad[i], strlen(bad[i]), &s, &used), HTTP_RESP_EBAD);
    assert_int_equal(body(CHUNKED, bad[3], strlen(bad[3]), &s, &used), HTTP_RESP_DONE); /* " x": an extension */
    assert_int_equal(body(CHUNKED, "1234567890abcdef\r\n", 18, &s, &used), HTTP_RESP_ETOO_BIG);
    char longext[HTTP_CHUNK_LINE_MAX + 8] = "1;";
    memset(longext + 2, 'e', sizeof(longext) - 3);
    assert_int_equal(body(CHUNKED, longext, sizeof(longext) - 1, &s, &used), HTTP_RESP_ETOO_BIG);

    const char *len = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
    assert_int_equal(body(len, "abcdef", 6, &s, &used), HTTP_RESP_DONE);
    assert_int_equal(s.len, 4);
    assert_int_equal(used, 4);
    assert_int_equal(body(len, "ab", 2, &s, &used), HTTP_RESP_AGAIN);
    const char *close = "HTTP/1.1 200 OK\r\n\r\n";
    assert_int_equal(body(close, "abcdef", 6, &s, &used), HTTP_RESP_AGAIN);
    assert_int_equal(s.len, 6);
    http_response_head_t h;
    parse(close, &h);
    http_body_t b;
    http_body_init(&b, &h);
    assert_true(http_body_until_close(&b));
}

static int stop_now(void *ud, const char *p, size_t n)
{
    (void)p;
    *(size_t *)ud += n;
    return 1;
}

static void test_stop(void **state)
{
    (void)state;
    http_response_head_t h;
    parse(CHUNKED, &h);
    http_body_t b;
    http_body_init(&b, &h);
    size_t got = 0, used;
    const char in[] = "3\r\nabc\r\n2\r\nde\r\n";
    assert_int_equal(http_body_feed(&b, in, sizeof(in) - 1, &used, stop_now, &got), HTTP_RESP_STOP);
    assert_int_equal(used, 6);
    assert_int_equal(got, 3);
    assert_int_equal(http_body_feed(&b, in + used, sizeof(in) - 1 - used, &used, stop_now, &got),
                     HTTP_RESP_STOP);
    assert_int_equal(got, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_head_errors),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
