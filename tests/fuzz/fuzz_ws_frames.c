/* libFuzzer target for src/proto/ws_session.c (and wslay under it): a session
 * fed arbitrary bytes through an injected transport. The first input byte
 * picks the read chunk size (low 6 bits; 0 = pseudo-random sizes), the side
 * (bit 6: server) and the message bound (bit 7: 1000 bytes, else the
 * default). Checks: no crash or leak; every text message is valid UTF-8 and
 * no message is over the bound; the peer's close is reported at most once
 * with a code a peer may send; a failure has a one-line reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_session.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct feed {
    const uint8_t *p;
    size_t n, off;
    unsigned chunk, rng, calls;
    size_t max;
    int closes;
    size_t sent;
    ws_session_t *s;
};

static bool utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (!len || n - i < len)
            return false;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static ssize_t f_recv(void *ud, uint8_t *buf, size_t n)
{
    struct feed *f = ud;
    if (++f->calls % 3 == 0)
        return WS_IO_AGAIN; /* would-block in between */
    if (f->off == f->n)
        return 0;
    size_t k = f->chunk;
    if (!k) {
        f->rng = f->rng * 1103515245u + 12345u;
        k = 1 + (f->rng >> 16) % 300;
    }
    if (k > n)
        k = n;
    if (k > f->n - f->off)
        k = f->n - f->off;
    memcpy(buf, f->p + f->off, k);
    f->off += k;
    return (ssize_t)k;
}

static ssize_t f_send(void *ud, const uint8_t *p, size_t n)
{
    struct feed *f = ud;
    (void)p;
    f->sent += n;
    return (ssize_t)n;
}

static void f_on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt)
{
    struct feed *f = ud;
    (void)rtt;
    CHECK(n <= f->max);
    if (type == WS_TEXT)
        CHECK(utf8_valid(p, n));
    if (type == WS_PING || type == WS_PONG)
        CHECK(n <= 125);
    /* Answer a little, as commands do. */
    if (type == WS_TEXT && n > 0 && p[0] == 'c')
        ws_session_close(f->s, 1000, "bye");
    else if (type == WS_BINARY && n > 0)
        ws_session_send(f->s, WS_BINARY, p, n);
}

static void f_on_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    struct feed *f = ud;
    f->closes++;
    CHECK(f->closes == 1);
    CHECK(code == 1005 || (code >= 1000 && code <= 1014 && code != 1004 && code != 1006) ||
          (code >= 3000 && code <= 4999));
    CHECK(len <= 123 && utf8_valid((const uint8_t *)reason, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct feed f = {.p = data + 1, .n = size - 1, .chunk = data[0] & 0x3f, .rng = size};
    bool server = data[0] & 0x40;
    f.max = (data[0] & 0x80) ? 1000 : 16u << 20;
    static const ws_session_callbacks_t cbs = {f_send, f_recv, f_on_message, f_on_close};
    f.s = ws_session_new(server, (data[0] & 0x80) ? 1000 : 0, &cbs, &f);
    ws_session_ping(f.s, NULL, 0);
    ws_session_state_t st = WS_SESSION_OPEN;
    for (int i = 0; i < 100000; i++) {
        st = ws_session_read(f.s);
        if (!ws_session_want_read(f.s) && !ws_session_want_write(f.s))
            break;
        if (f.off == f.n && i > 4 * (int)f.n + 10)
            break;
    }
    if (st == WS_SESSION_FAILED) {
        uint16_t code = 1;
        const char *err = ws_session_error(f.s, &code);
        CHECK(err[0] && !strchr(err, '\n'));
        CHECK(code == 0 || code == 1002 || code == 1007 || code == 1009 || code == 1011);
    }
    if (st == WS_SESSION_CLOSED)
        CHECK(f.closes == 1 && ws_session_peer_close(f.s, NULL, NULL, NULL));
    ws_session_free(f.s);
    return 0;
}
