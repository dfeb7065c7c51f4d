/* libFuzzer target for src/proto/http_response.c. The first input byte picks
 * a split size; the rest is a response: its head is parsed whole and grown
 * byte-run by byte-run (as a client accumulating reads does), and both must
 * agree; interim 1xx heads are skipped as bench does. After the final head
 * the remainder goes through the body decoder whole and in pieces: the
 * decoded bytes, the result and the bytes used must be the same, decoded
 * bytes are never more than the input, and a Content-Length body never
 * yields more than its length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct sink {
    char out[1 << 16];
    size_t len;
    size_t stop_at; /* stop once this many bytes came (0: never) */
};

static int collect(void *ud, const char *p, size_t n)
{
    struct sink *s = ud;
    CHECK(n > 0);
    CHECK(s->len + n <= sizeof(s->out));
    memcpy(s->out + s->len, p, n);
    s->len += n;
    return s->stop_at && s->len >= s->stop_at;
}

/* The head of p[0..n) parsed on growing prefixes of step bytes. */
static int head_split(const char *p, size_t n, size_t step, http_response_head_t *h)
{
    int rc = HTTP_RESP_AGAIN;
    for (size_t have = step < n ? step : n;; have = have + step < n ? have + step : n) {
        rc = http_response_head_parse(p, have, 512, h);
        if (rc != HTTP_RESP_AGAIN || have == n)
            return rc;
    }
}

static int body_split(const http_response_head_t *h, const char *p, size_t n, size_t step,
                      struct sink *s, size_t *used)
{
    http_body_t b;
    http_body_init(&b, h);
    int rc = HTTP_RESP_AGAIN;
    *used = 0;
    size_t off = 0;
    do { /* an empty body too: one feed of nothing */
        size_t take = n - off < step ? n - off : step;
        size_t u = 0;
        rc = http_body_feed(&b, p + off, take, &u, collect, s);
        CHECK(u <= take);
        *used += u;
        if (rc != HTTP_RESP_AGAIN)
            return rc;
        CHECK(u == take);
        off += take;
    } while (off < n);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 60000)
        return 0;
    size_t step = (size_t)(data[0] % 13) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    http_response_head_t hw, hs;
    int rw, rs;
    for (;;) {
        rw = http_response_head_parse(p, n, 512, &hw);
        rs = head_split(p, n, step, &hs);
        CHECK(rw == rs);
        if (rw != HTTP_RESP_DONE)
            return 0;
        CHECK(hw.head_len == hs.head_len && hw.head_len <= n && hw.head_len <= 512);
        CHECK(hw.status == hs.status && hw.status >= 100 && hw.status <= 999);
        CHECK(hw.chunked == hs.chunked && hw.has_length == hs.has_length);
        CHECK(hw.content_length == hs.content_length);
        CHECK(strcmp(hw.content_type, hs.content_type) == 0);
        CHECK(strlen(hw.content_type) < HTTP_RESPONSE_CTYPE_MAX);
        CHECK(!(hw.chunked && hw.has_length));
        if (hw.status >= 200 || hw.status == 101)
            break;
        p += hw.head_len;
        n -= hw.head_len;
    }
    p += hw.head_len;
    n -= hw.head_len;

    static struct sink a, b;
    a.len = b.len = 0;
    a.stop_at = b.stop_at = 0;
    size_t ua = 0, ub = 0;
    http_body_t body;
    http_body_init(&body, &hw);
    int ra = http_body_feed(&body, p, n, &ua, collect, &a);
    int rb = body_split(&hw, p, n, step, &b, &ub);
    CHECK(ra == rb);
    CHECK(ra >= HTTP_RESP_ETOO_BIG && ra <= HTTP_RESP_DONE);
    CHECK(a.len <= n && a.len == b.len && memcmp(a.out, b.out, a.len) == 0);
    if (ra == HTTP_RESP_AGAIN)
        CHECK(ua == n && ub == n);
    if (ra == HTTP_RESP_DONE)
        CHECK(ua == ub && ua <= n);
    if (hw.has_length)
        CHECK(a.len <= hw.content_length);
    if (!hw.chunked && !hw.has_length)
        CHECK(http_body_until_close(&body) && a.len == n);

    /* Stopping after the first piece leaves the decoder where it was. */
    a.len = 0;
    a.stop_at = 1;
    http_body_init(&body, &hw);
    size_t u1 = 0;
    if (http_body_feed(&body, p, n, &u1, collect, &a) == HTTP_RESP_STOP) {
        CHECK(u1 <= n && a.len >= 1);
        size_t first = a.len;
        a.stop_at = 0;
        size_t u2 = 0;
        int r2 = http_body_feed(&body, p + u1, n - u1, &u2, collect, &a);
        CHECK(r2 == ra);
        CHECK(a.len == b.len && memcmp(a.out, b.out, a.len) == 0);
        CHECK(first <= a.len);
    }
    return 0;
}
