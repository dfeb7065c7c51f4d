/* libFuzzer target for src/proto/http_request.c. The first input byte picks a
 * split size; the rest is fed to the head parser whole and in pieces, and
 * both must agree (result, bytes used, every parsed field). After a complete
 * head, the remainder goes through the chunked decoder the same two ways,
 * and the lookups run over the parsed head. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static int feed_split(http_request_t *r, const char *p, size_t n, size_t step, size_t *used)
{
    size_t off = 0;
    int rc = HTTP_REQUEST_AGAIN;
    *used = 0;
    while (off < n) {
        size_t take = n - off < step ? n - off : step;
        size_t u = 0;
        rc = http_request_feed(r, p + off, take, &u);
        CHECK(u <= take);
        *used += u;
        if (rc != HTTP_REQUEST_AGAIN)
            return rc;
        CHECK(u == take);
        off += take;
    }
    return rc;
}

static void same_info(const http_request_info_t *a, const http_request_info_t *b)
{
    CHECK(strcmp(a->method, b->method) == 0 && a->method_len == strlen(a->method));
    CHECK(strcmp(a->target, b->target) == 0 && a->target_len == strlen(a->target));
    CHECK(a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0);
    CHECK(a->query_len == b->query_len && memcmp(a->query, b->query, a->query_len) == 0);
    CHECK(a->path[a->path_len] == '\0' && a->query[a->query_len] == '\0');
    CHECK(a->version_minor == b->version_minor && a->content_length == b->content_length);
    CHECK(a->chunked == b->chunked && a->keep_alive == b->keep_alive);
    CHECK(a->upgrade == b->upgrade && a->head_len == b->head_len);
    CHECK(a->nheaders == b->nheaders && a->nheaders <= HTTP_REQUEST_MAX_HEADERS);
    for (size_t i = 0; i < a->nheaders; i++) {
        CHECK(a->headers[i].name_len == strlen(a->headers[i].name));
        CHECK(a->headers[i].value_len == b->headers[i].value_len);
        CHECK(strcmp(a->headers[i].name, b->headers[i].name) == 0);
        CHECK(memcmp(a->headers[i].value, b->headers[i].value, a->headers[i].value_len) == 0);
    }
    CHECK(!(a->chunked && a->content_length >= 0));
}

static int chunked_split(const char *p, size_t n, size_t step, buf_t *out, size_t *used)
{
    http_request_chunked_t d;
    http_request_chunked_init(&d, 4096);
    size_t off = 0;
    int rc = HTTP_REQUEST_AGAIN;
    *used = 0;
    while (off < n) {
        size_t take = n - off < step ? n - off : step;
        size_t u = 0;
        rc = http_request_chunked_feed(&d, p + off, take, out, &u);
        CHECK(u <= take);
        *used += u;
        CHECK(out->len <= 4096);
        if (rc != HTTP_REQUEST_AGAIN)
            return rc;
        off += take;
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 17) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;

    http_request_t *whole = http_request_new(2048);
    http_request_t *split = http_request_new(2048);
    size_t uw = 0, us = 0;
    int rw = http_request_feed(whole, p, n, &uw);
    int rs = feed_split(split, p, n, step, &us);
    CHECK(rw == rs);
    CHECK(uw <= n);
    if (rw < 0) {
        int st = http_request_status(rw);
        CHECK(st == 400 || st == 414 || st == 431 || st == 501 || st == 505);
        CHECK(http_request_info(whole) == NULL);
    } else if (rw == HTTP_REQUEST_DONE) {
        CHECK(uw == us);
        const http_request_info_t *a = http_request_info(whole);
        const http_request_info_t *b = http_request_info(split);
        CHECK(a && b);
        same_info(a, b);
        CHECK(a->head_len <= 2048);
        size_t len;
        http_request_header(a, "host", &len);
        http_request_has_token(a, "connection", "upgrade");
        buf_t q;
        buf_init(&q);
        http_request_query_param(a->query, a->query_len, "event", &q);
        buf_free(&q);

        /* What follows the head, as a chunked body. */
        buf_t ow, os;
        buf_init(&ow);
        buf_init(&os);
        size_t cw, cs;
        int cr = chunked_split(p + uw, n - uw, n - uw ? n - uw : 1, &ow, &cw);
        int cr2 = chunked_split(p + uw, n - uw, step, &os, &cs);
        CHECK(cr == cr2);
        if (cr >= 0) {
            CHECK(ow.len == os.len && (ow.len == 0 || memcmp(ow.p, os.p, ow.len) == 0));
            if (cr == HTTP_REQUEST_DONE)
                CHECK(cw == cs);
        }
        buf_free(&ow);
        buf_free(&os);
    } else {
        CHECK(uw == n && us == n);
    }
    http_request_free(whole);
    http_request_free(split);
    return 0;
}
