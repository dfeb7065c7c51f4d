/* Unit tests for src/proto/ws_session.c: a client and a server session joined by
 * in-memory byte pipes (whole, 1-byte and random chunks, with artificial
 * EAGAIN), and hand-written frames fed to one side to check every rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "ws_deflate.h"
#include "ws_session.h"

/* ---- pipes and endpoints ---- */

enum chunking { CHUNK_ANY, CHUNK_ONE, CHUNK_RANDOM };

struct pipe {
    buf_t data;
    size_t off;
    bool eof;         /* the writer is gone: reads return 0 once drained */
    bool broken;      /* reads and writes fail */
    int mode;         /* enum chunking, for reads and writes */
    bool eagain;      /* every other call would block */
    unsigned tick;    /* for eagain */
    size_t write_cap; /* 0: unlimited; else writes block beyond this many pending bytes */
};

struct msg {
    ws_type_t type;
    buf_t data;
    uint64_t rtt;
};

struct end {
    ws_session_t *s;
    struct pipe *in, *out;
    struct msg msgs[64];
    size_t nmsgs;
    int closes;
    uint16_t close_code;
    char close_reason[200];
    size_t close_reason_len;
    bool echo; /* send every text/binary message back */
};

static unsigned rng = 12345;
static unsigned rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7fff;
}

static size_t chunk_len(const struct pipe *p, size_t n)
{
    if (p->mode == CHUNK_ONE)
        return n ? 1 : 0;
    if (p->mode == CHUNK_RANDOM && n > 1)
        return 1 + rnd() % (n < 7000 ? n : 7000);
    return n;
}

static ssize_t t_recv(void *ud, uint8_t *buf, size_t n)
{
    struct end *e = ud;
    struct pipe *p = e->in;
    if (p->broken)
        return WS_IO_ERR;
    if (p->eagain && (p->tick++ & 1))
        return WS_IO_AGAIN;
    size_t avail = p->data.len - p->off;
    if (avail == 0)
        return p->eof ? 0 : WS_IO_AGAIN;
    size_t k = chunk_len(p, avail < n ? avail : n);
    memcpy(buf, p->data.p + p->off, k);
    p->off += k;
    return (ssize_t)k;
}

static ssize_t t_send(void *ud, const uint8_t *buf, size_t n)
{
    struct end *e = ud;
    struct pipe *p = e->out;
    if (p->broken)
        return WS_IO_ERR;
    if (p->eagain && (p->tick++ & 1))
        return WS_IO_AGAIN;
    if (p->write_cap) {
        size_t pending = p->data.len - p->off;
        if (pending >= p->write_cap)
            return WS_IO_AGAIN;
        if (n > p->write_cap - pending)
            n = p->write_cap - pending;
    }
    size_t k = chunk_len(p, n);
    buf_append(&p->data, buf, k);
    return (ssize_t)k;
}

static void t_on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt)
{
    struct end *e = ud;
    if (e->nmsgs < ARRAY_LEN(e->msgs)) {
        struct msg *m = &e->msgs[e->nmsgs++];
        m->type = type;
        buf_init(&m->data);
        buf_append(&m->data, p ? (const char *)p : "", n);
        m->rtt = rtt;
    }
    if (e->echo && (type == WS_TEXT || type == WS_BINARY))
        assert_int_equal(ws_session_send(e->s, type, p, n), 0);
}

static void t_on_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    struct end *e = ud;
    e->closes++;
    e->close_code = code;
    memcpy(e->close_reason, reason, len);
    e->close_reason_len = len;
}

static const ws_session_callbacks_t cbs = {t_send, t_recv, t_on_message, t_on_close};

static struct pipe *pipe_new(int mode)
{
    struct pipe *p = calloc(1, sizeof(*p));
    buf_init(&p->data);
    p->mode = mode;
    return p;
}

static void pipe_free(struct pipe *p)
{
    buf_free(&p->data);
    free(p);
}

static void end_init(struct end *e, bool server, size_t max, struct pipe *in, struct pipe *out)
{
    memset(e, 0, sizeof(*e));
    e->in = in;
    e->out = out;
    e->s = ws_session_new(server, max, &cbs, e);
}

static void end_free(struct end *e)
{
    ws_session_free(e->s);
    for (size_t i = 0; i < e->nmsgs; i++)
        buf_free(&e->msgs[i].data);
}

/* Runs both ends until nothing moves. */
static void pump(struct end *a, struct end *b)
{
    for (int round = 0; round < 10000000; round++) {
        size_t before = a->out->data.len + b->out->data.len + a->in->off + b->in->off;
        size_t msgs = a->nmsgs + b->nmsgs;
        ws_session_write(a->s);
        ws_session_write(b->s);
        ws_session_read(a->s);
        ws_session_read(b->s);
        size_t after = a->out->data.len + b->out->data.len + a->in->off + b->in->off;
        bool pending = (a->in->off < a->in->data.len && ws_session_want_read(a->s)) ||
                       (b->in->off < b->in->data.len && ws_session_want_read(b->s)) ||
                       ws_session_want_write(a->s) || ws_session_want_write(b->s);
        if (after == before && msgs == a->nmsgs + b->nmsgs && !pending)
            return;
        if (after == before && msgs == a->nmsgs + b->nmsgs && round > 100 &&
            !(a->in->eagain || b->in->eagain))
            return; /* stuck: a test will notice */
    }
}

/* A connected client (c) and server (sv). */
struct pair {
    struct pipe *c2s, *s2c;
    struct end c, sv;
};

static struct pair *pair_new(int mode, bool eagain, size_t max)
{
    struct pair *p = calloc(1, sizeof(*p));
    p->c2s = pipe_new(mode);
    p->s2c = pipe_new(mode);
    p->c2s->eagain = p->s2c->eagain = eagain;
    end_init(&p->c, false, max, p->s2c, p->c2s);
    end_init(&p->sv, true, max, p->c2s, p->s2c);
    return p;
}

static void pair_free(struct pair *p)
{
    end_free(&p->c);
    end_free(&p->sv);
    pipe_free(p->c2s);
    pipe_free(p->s2c);
    free(p);
}

/* ---- hand-written frames ---- */

static void frame(buf_t *b, bool fin, unsigned rsv, unsigned op, bool mask, const void *payload,
                  uint64_t len)
{
    uint8_t h[14];
    size_t n = 0;
    h[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        h[n++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        h[n++] = m | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)(len >> (8 * i));
    }
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) {
        memcpy(h + n, key, 4);
        n += 4;
    }
    buf_append(b, h, n);
    if (payload) {
        size_t start = b->len;
        buf_append(b, payload, (size_t)len);
        if (mask)
            for (size_t i = 0; i < len; i++)
                b->p[start + i] ^= (char)key[i % 4];
    }
}

static void close_frame(buf_t *b, bool mask, int code, const char *reason)
{
    uint8_t p[130];
    size_t n = 0;
    if (code >= 0) {
        p[n++] = (uint8_t)(code >> 8);
        p[n++] = (uint8_t)code;
        size_t r = strlen(reason);
        memcpy(p + n, reason, r);
        n += r;
    }
    frame(b, true, 0, 8, mask, p, n);
}

/* Parses one frame at *off of b (unmasking). Returns false at the end. */
static bool parse_frame(const buf_t *b, size_t *off, unsigned *op, bool *fin, buf_t *payload)
{
    const uint8_t *p = (const uint8_t *)b->p + *off;
    size_t n = b->len - *off;
    if (n < 2)
        return false;
    *fin = p[0] & 0x80;
    *op = p[0] & 0x0f;
    bool masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7f;
    size_t h = 2;
    if (len == 126) {
        len = ((uint64_t)p[2] << 8) | p[3];
        h = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | p[2 + i];
        h = 10;
    }
    const uint8_t *key = p + h;
    if (masked)
        h += 4;
    assert_true(h + len <= n);
    buf_reset(payload);
    buf_append(payload, p + h, (size_t)len);
    if (masked)
        for (size_t i = 0; i < len; i++)
            payload->p[i] ^= (char)key[i % 4];
    *off += h + (size_t)len;
    return true;
}

/* The close code of the first close frame in b (-1: none; 0: no code). */
static int sent_close_code(const buf_t *b, char *reason, size_t cap)
{
    size_t off = 0;
    unsigned op;
    bool fin;
    buf_t pl;
    buf_init(&pl);
    int code = -1;
    while (parse_frame(b, &off, &op, &fin, &pl)) {
        if (op == 8) {
            code = pl.len >= 2 ? (((uint8_t)pl.p[0] << 8) | (uint8_t)pl.p[1]) : 0;
            if (reason) {
                size_t r = pl.len >= 2 ? pl.len - 2 : 0;
                if (r >= cap)
                    r = cap - 1;
                memcpy(reason, pl.len >= 2 ? pl.p + 2 : "", r);
                reason[r] = '\0';
            }
            break;
        }
    }
    buf_free(&pl);
    return code;
}

/* A single end fed hand-written bytes. */
struct solo {
    struct pipe *in, *out;
    struct end e;
};

static struct solo *solo_new(bool server, size_t max, int mode)
{
    struct solo *s = calloc(1, sizeof(*s));
    s->in = pipe_new(mode);
    s->out = pipe_new(CHUNK_ANY);
    end_init(&s->e, server, max, s->in, s->out);
    return s;
}

static void solo_free(struct solo *s)
{
    end_free(&s->e);
    pipe_free(s->in);
    pipe_free(s->out);
    free(s);
}

static ws_session_state_t solo_run(struct solo *s)
{
    for (int i = 0; i < 1000000; i++) {
        size_t before = s->in->off;
        ws_session_read(s->e.s);
        if (s->in->off == before && !ws_session_want_write(s->e.s))
            break;
        ws_session_write(s->e.s);
    }
    return ws_session_state(s->e.s);
}

/* Feeds bytes to a client (or server) and expects a failure with code and
 * an error containing why. Runs whole, 1-byte and random chunks. */
static void expect_fail_pmd(bool server, const buf_t *bytes, uint16_t code, const char *why,
                            size_t max, const ws_pmd_params_t *pmd)
{
    for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
        struct solo *s = solo_new(server, max, mode);
        if (pmd)
            ws_session_set_deflate(s->e.s, ws_pmd_new(pmd, server, NULL, 0));
        buf_append(&s->in->data, bytes->p, bytes->len);
        ws_session_state_t st = solo_run(s);
        if (st != WS_SESSION_FAILED)
            fail_msg("mode %d: state %d, wanted FAILED (%s)", mode, st, why);
        uint16_t sent = 0;
        const char *err = ws_session_error(s->e.s, &sent);
        if (!strstr(err, why))
            fail_msg("mode %d: error \"%s\" lacks \"%s\"", mode, err, why);
        assert_null(strchr(err, '\n'));
        assert_int_equal(sent, code);
        assert_int_equal(sent_close_code(&s->out->data, NULL, 0), code);
        assert_false(ws_session_want_write(s->e.s));
        assert_false(ws_session_want_read(s->e.s));
        solo_free(s);
    }
}

static void expect_fail(bool server, const buf_t *bytes, uint16_t code, const char *why, size_t max)
{
    expect_fail_pmd(server, bytes, code, why, max, NULL);
}

/* ---- round trips ---- */

static void roundtrip_sizes_pmd(int mode, bool eagain, const ws_pmd_params_t *pmd)
{
    static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 3u << 20};
    struct pair *p = pair_new(mode, eagain, 0);
    if (pmd) {
        ws_session_set_deflate(p->c.s, ws_pmd_new(pmd, false, NULL, 0));
        ws_session_set_deflate(p->sv.s, ws_pmd_new(pmd, true, NULL, WS_PMD_LEAN));
    }
    p->sv.echo = true;
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        if (mode == CHUNK_ONE && n > 70000)
            continue; /* too slow byte by byte, and nothing new */
        uint8_t *data = malloc(n + 1);
        for (size_t k = 0; k < n; k++)
            data[k] = (uint8_t)('a' + (k * 7) % 26);
        for (int type = WS_TEXT; type <= WS_BINARY; type++) {
            size_t before = p->c.nmsgs;
            assert_int_equal(ws_session_send(p->c.s, type, data, n), 0);
            pump(&p->c, &p->sv);
            if (p->c.nmsgs != before + 1)
                fail_msg("mode %d size %zu type %d: %zu messages", mode, n, type,
                         p->c.nmsgs - before);
            struct msg *m = &p->c.msgs[p->c.nmsgs - 1];
            assert_int_equal(m->type, type);
            assert_int_equal(m->data.len, n);
            assert_memory_equal(m->data.p, n ? (const char *)data : "", n);
            assert_int_equal(ws_session_queued(p->c.s), 0);
            /* Keep the message table small. */
            buf_free(&m->data);
            p->c.nmsgs--;
            buf_free(&p->sv.msgs[--p->sv.nmsgs].data);
        }
        free(data);
    }
    assert_int_equal(ws_session_state(p->c.s), WS_SESSION_OPEN);
    assert_int_equal(ws_session_state(p->sv.s), WS_SESSION_OPEN);
    pair_free(p);
}

static void roundtrip_sizes(int mode, bool eagain)
{
    roundtrip_sizes_pmd(mode, eagain, NULL);
}

static void test_roundtrip_whole(void **state)
{
    (void)state;
    roundtrip_sizes(CHUNK_ANY, false);
}

static void test_roundtrip_bytewise(void **state)
{
    (void)state;
    roundtrip_sizes(CHUNK_ONE, false);
}

static void test_roundtrip_random_eagain(void **state)
{
    (void)state;
    roundtrip_sizes(CHUNK_RANDOM, true);
    roundtrip_sizes(CHUNK_ANY, true);
}

static void test_close_handshake(void **state)
{
    (void)state;
    for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
        struct pair *p = pair_new(mode, mode == CHUNK_RANDOM, 0);
        assert_int_equal(ws_session_close(p->c.s, 1000, "bye"), 0);
        assert_int_equal(ws_session_state(p->c.s), WS_SESSION_CLOSING);
        assert_int_equal(ws_session_close(p->c.s, 1000, "again"), -1);
        assert_int_equal(ws_session_send(p->c.s, WS_TEXT, "x", 1), -1);
        pump(&p->c, &p->sv);
        assert_int_equal(p->sv.closes, 1);
        assert_int_equal(p->sv.close_code, 1000);
        assert_int_equal(p->sv.close_reason_len, 3);
        assert_memory_equal(p->sv.close_reason, "bye", 3);
        assert_int_equal(p->c.closes, 1);
        assert_int_equal(p->c.close_code, 1000); /* echoed */
        assert_int_equal(ws_session_state(p->c.s), WS_SESSION_CLOSED);
        assert_int_equal(ws_session_state(p->sv.s), WS_SESSION_CLOSED);
        assert_false(ws_session_want_read(p->c.s));
        assert_false(ws_session_want_write(p->c.s));
        uint16_t code;
        const char *reason;
        size_t rlen;
        assert_true(ws_session_peer_close(p->sv.s, &code, &reason, &rlen));
        assert_int_equal(code, 1000);
        assert_string_equal(reason, "bye");
        pair_free(p);
    }
}

static void test_close_without_code(void **state)
{
    (void)state;
    struct pair *p = pair_new(CHUNK_ANY, false, 0);
    assert_int_equal(ws_session_close(p->sv.s, 0, "ignored"), 0);
    pump(&p->c, &p->sv);
    assert_int_equal(p->c.close_code, 1005);
    assert_int_equal(p->c.close_reason_len, 0);
    assert_int_equal(p->sv.close_code, 1005);
    assert_int_equal(ws_session_state(p->c.s), WS_SESSION_CLOSED);
    assert_int_equal(ws_session_state(p->sv.s), WS_SESSION_CLOSED);
    pair_free(p);
}

static void test_close_reason_cut(void **state)
{
    (void)state;
    /* 122 ASCII bytes then a 2-byte character: 124 bytes, cut to 122. */
    char reason[200];
    memset(reason, 'r', 122);
    memcpy(reason + 122, "\xc3\xa9", 3);
    struct solo *s = solo_new(false, 0, CHUNK_ANY);
    assert_int_equal(ws_session_close(s->e.s, 4000, reason), 0);
    ws_session_write(s->e.s);
    char got[200];
    assert_int_equal(sent_close_code(&s->out->data, got, sizeof(got)), 4000);
    assert_int_equal(strlen(got), 122);
    solo_free(s);
    /* Exactly 123 bytes pass whole. */
    memset(reason, 's', 123);
    reason[123] = '\0';
    s = solo_new(false, 0, CHUNK_ANY);
    assert_int_equal(ws_session_close(s->e.s, 1000, reason), 0);
    ws_session_write(s->e.s);
    assert_int_equal(sent_close_code(&s->out->data, got, sizeof(got)), 1000);
    assert_string_equal(got, reason);
    solo_free(s);
}

static void test_ping_rtt(void **state)
{
    (void)state;
    struct pair *p = pair_new(CHUNK_RANDOM, true, 0);
    assert_int_equal(ws_session_ping(p->c.s, NULL, 0), 0);
    assert_int_equal(ws_session_ping(p->c.s, "abc", 3), 0);
    assert_int_equal(ws_session_ping(p->c.s, NULL, 0), 0);
    pump(&p->c, &p->sv);
    assert_int_equal(p->sv.nmsgs, 3);
    assert_int_equal(p->sv.msgs[0].type, WS_PING);
    /* a ping without payload carries the session's count, in decimal */
    assert_int_equal(p->sv.msgs[0].data.len, 1);
    assert_memory_equal(p->sv.msgs[0].data.p, "1", 1);
    assert_int_equal(p->c.nmsgs, 3);
    assert_int_equal(p->c.msgs[0].type, WS_PONG);
    assert_memory_equal(p->c.msgs[0].data.p, "1", 1);
    assert_true(p->c.msgs[0].rtt > 0);
    assert_int_equal(p->c.msgs[1].type, WS_PONG);
    assert_memory_equal(p->c.msgs[1].data.p, "abc", 3);
    assert_true(p->c.msgs[1].rtt > 0);
    assert_int_equal(p->c.msgs[2].data.len, 1);
    assert_memory_equal(p->c.msgs[2].data.p, "2", 1);
    assert_true(p->c.msgs[2].rtt > 0);
    char big[126];
    memset(big, 'p', sizeof(big));
    assert_int_equal(ws_session_ping(p->c.s, big, 126), -1);
    assert_int_equal(ws_session_send(p->c.s, WS_PING, big, 126), -1);
    assert_int_equal(ws_session_send(p->c.s, WS_CLOSE, big, 2), -1);
    pair_free(p);
}

/* ---- hand-written frames to a client ---- */

static void test_fragmented_with_pings(void **state)
{
    (void)state;
    for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
        struct solo *s = solo_new(false, 0, mode);
        buf_t *b = &s->in->data;
        uint8_t ping125[125];
        memset(ping125, 'P', sizeof(ping125));
        frame(b, false, 0, 1, false, "Hel", 3);
        frame(b, true, 0, 9, false, "p1", 2);
        frame(b, false, 0, 0, false, "lo ", 3);
        frame(b, true, 0, 9, false, ping125, 125);
        frame(b, true, 0, 10, false, "unsolicited", 11);
        frame(b, true, 0, 0, false, "world", 5);
        frame(b, true, 0, 2, false, "\x00\x01", 2);
        assert_int_equal(solo_run(s), WS_SESSION_OPEN);
        assert_int_equal(s->e.nmsgs, 5);
        assert_int_equal(s->e.msgs[0].type, WS_PING);
        assert_int_equal(s->e.msgs[1].type, WS_PING);
        assert_int_equal(s->e.msgs[1].data.len, 125);
        assert_int_equal(s->e.msgs[2].type, WS_PONG);
        assert_int_equal(s->e.msgs[2].rtt, 0);
        assert_int_equal(s->e.msgs[3].type, WS_TEXT);
        assert_int_equal(s->e.msgs[3].data.len, 11);
        assert_memory_equal(s->e.msgs[3].data.p, "Hello world", 11);
        assert_int_equal(s->e.msgs[4].type, WS_BINARY);
        assert_memory_equal(s->e.msgs[4].data.p, "\x00\x01", 2);
        /* Both pings answered with their payloads, masked. */
        size_t off = 0;
        unsigned op;
        bool fin;
        buf_t pl;
        buf_init(&pl);
        assert_true(parse_frame(&s->out->data, &off, &op, &fin, &pl));
        assert_int_equal(op, 10);
        assert_int_equal(pl.len, 2);
        assert_memory_equal(pl.p, "p1", 2);
        assert_true(s->out->data.p[1] & 0x80);
        assert_true(parse_frame(&s->out->data, &off, &op, &fin, &pl));
        assert_int_equal(op, 10);
        assert_int_equal(pl.len, 125);
        assert_memory_equal(pl.p, ping125, 125);
        assert_false(parse_frame(&s->out->data, &off, &op, &fin, &pl));
        buf_free(&pl);
        solo_free(s);
    }
}

static void test_feed_initial(void **state)
{
    (void)state;
    struct solo *s = solo_new(false, 0, CHUNK_ANY);
    buf_t first;
    buf_init(&first);
    frame(&first, true, 0, 1, false, "first", 5);
    frame(&first, false, 0, 1, false, "sec", 3); /* a message split across the two sources */
    ws_session_feed_initial(s->e.s, (const uint8_t *)first.p, first.len - 1);
    buf_append(&s->in->data, first.p + first.len - 1, 1);
    frame(&s->in->data, true, 0, 0, false, "ond", 3);
    assert_int_equal(solo_run(s), WS_SESSION_OPEN);
    assert_int_equal(s->e.nmsgs, 2);
    assert_memory_equal(s->e.msgs[0].data.p, "first", 5);
    assert_int_equal(s->e.msgs[1].data.len, 6);
    assert_memory_equal(s->e.msgs[1].data.p, "second", 6);
    buf_free(&first);
    solo_free(s);
}

static void test_protocol_errors(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    struct {
        bool server;
        const char *why;
        int build;
    } cases[] = {
        {false, "reserved bits set (RSV1)", 0},
        {false, "reserved bits set (RSV3)", 1},
        {false, "reserved opcode 0x3", 2},
        {false, "reserved opcode 0xb", 3},
        {false, "fragmented control frame", 4},
        {false, "control frame with a payload over 125 bytes", 5},
        {false, "continuation frame without a message", 6},
        {false, "masked frame from the server", 7},
        {true, "unmasked frame from the client", 8},
        {false, "new message inside a fragmented message", 9},
        {false, "not in its shortest form", 10},
        {false, "not in its shortest form", 11},
        {false, "top bit set", 12},
        {false, "invalid close code 999", 13},
        {false, "invalid close code 1004", 14},
        {false, "invalid close code 1005", 15},
        {false, "invalid close code 1006", 16},
        {false, "invalid close code 1015", 17},
        {false, "invalid close code 2000", 18},
        {false, "invalid close code 5000", 19},
        {false, "close frame with a 1-byte payload", 20},
        {true, "continuation frame without a message", 21},
        {true, "not in its shortest form", 22},
    };
    static const uint8_t len127_small[] = {0x81, 127, 0,   0,   0,   0,   0,  0,
                                           0,    5,   'h', 'e', 'l', 'l', 'o'};
    static const uint8_t len126_small[] = {0x81, 126, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t len_top[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        buf_reset(&b);
        /* A valid message first: what came before a violation is delivered. */
        frame(&b, true, 0, 1, cases[i].server, "ok", 2);
        switch (cases[i].build) {
        case 0:
            frame(&b, true, 4, 1, false, "x", 1);
            break;
        case 1:
            frame(&b, true, 1, 2, false, "x", 1);
            break;
        case 2:
            frame(&b, true, 0, 3, false, "x", 1);
            break;
        case 3:
            frame(&b, true, 0, 11, false, "x", 1);
            break;
        case 4:
            frame(&b, false, 0, 9, false, "x", 1);
            break;
        case 5: {
            char big[126] = {0};
            frame(&b, true, 0, 9, false, big, 126);
            break;
        }
        case 6:
            frame(&b, true, 0, 0, false, "x", 1);
            break;
        case 7:
            frame(&b, true, 0, 1, true, "x", 1);
            break;
        case 8:
            frame(&b, true, 0, 1, false, "x", 1);
            break;
        case 9:
            frame(&b, false, 0, 1, false, "a", 1);
            frame(&b, true, 0, 1, false, "b", 1);
            break;
        case 10:
            buf_append(&b, len126_small, sizeof(len126_small));
            break;
        case 11:
            buf_append(&b, len127_small, sizeof(len127_small));
            break;
        case 12:
            buf_append(&b, len_top, sizeof(len_top));
            break;
        case 13:
            close_frame(&b, false, 999, "");
            break;
        case 14:
            close_frame(&b, false, 1004, "");
            break;
        case 15:
            close_frame(&b, false, 1005, "");
            break;
        case 16:
            close_frame(&b, false, 1006, "x");
            break;
        case 17:
            close_frame(&b, false, 1015, "");
            break;
        case 18:
            close_frame(&b, false, 2000, "");
            break;
        case 19:
            close_frame(&b, false, 5000, "");
            break;
        case 20:
            frame(&b, true, 0, 8, false, "\x03", 1);
            break;
        case 21:
            frame(&b, true, 0, 0, true, "x", 1);
            break;
        case 22: {
            static const uint8_t masked126[] = {0x81, 0x80 | 126, 0, 1, 1, 2, 3, 4, 'x'};
            buf_append(&b, masked126, sizeof(masked126));
            break;
        }
        }
        expect_fail(cases[i].server, &b, 1002, cases[i].why, 0);
        /* And the valid message before it came through. */
        struct solo *s = solo_new(cases[i].server, 0, CHUNK_ANY);
        buf_append(&s->in->data, b.p, b.len);
        solo_run(s);
        assert_int_equal(s->e.nmsgs, 1);
        assert_memory_equal(s->e.msgs[0].data.p, "ok", 2);
        solo_free(s);
    }
    buf_free(&b);
}

static void test_utf8(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    /* Invalid: a lone continuation byte; an overlong; a surrogate; split. */
    static const char *const bad[] = {"a\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        buf_reset(&b);
        frame(&b, true, 0, 1, false, bad[i], strlen(bad[i]));
        expect_fail(false, &b, 1007, "invalid UTF-8 in a text message", 0);
    }
    /* Split across fragments: first half valid so far, second breaks it. */
    buf_reset(&b);
    frame(&b, false, 0, 1, false, "\xce", 1);
    frame(&b, true, 0, 0, false, "A", 1);
    expect_fail(false, &b, 1007, "invalid UTF-8", 0);
    /* A message ending inside a character. */
    buf_reset(&b);
    frame(&b, false, 0, 1, false, "ok", 2);
    frame(&b, true, 0, 0, false, "\xe2\x82", 2);
    expect_fail(false, &b, 1007, "invalid UTF-8", 0);
    /* Invalid UTF-8 in a close reason. */
    buf_reset(&b);
    close_frame(&b, false, 1000, "\xff");
    expect_fail(false, &b, 1007, "invalid UTF-8", 0);

    /* Valid, split inside characters across fragments (with a ping between). */
    for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
        struct solo *s = solo_new(false, 0, mode);
        frame(&s->in->data, false, 0, 1, false, "\xce", 1);
        frame(&s->in->data, false, 0, 0, false, "\xba\xe1\xbd", 3);
        frame(&s->in->data, true, 0, 9, false, "", 0);
        frame(&s->in->data, true, 0, 0, false, "\xb9\xf0\x9f\x98\x80", 5);
        assert_int_equal(solo_run(s), WS_SESSION_OPEN);
        assert_int_equal(s->e.nmsgs, 2);
        assert_int_equal(s->e.msgs[1].type, WS_TEXT);
        assert_int_equal(s->e.msgs[1].data.len, 9);
        assert_memory_equal(s->e.msgs[1].data.p, "\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80", 9);
        solo_free(s);
    }
    /* Binary is not checked. */
    struct solo *s = solo_new(false, 0, CHUNK_ANY);
    frame(&s->in->data, true, 0, 2, false, "\xff\xfe", 2);
    assert_int_equal(solo_run(s), WS_SESSION_OPEN);
    assert_int_equal(s->e.nmsgs, 1);
    solo_free(s);
    buf_free(&b);
}

static void test_peer_close_codes(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *reason;
        uint16_t reported;
        int echoed;
    } cases[] = {
        {1000, "", 1000, 1000},
        {1001, "going", 1001, 1001},
        {1012, "restart", 1012, 1012},
        {1013, "", 1013, 1013},
        {1014, "gw", 1014, 1014},
        {4000, "custom", 4000, 4000},
        {3000, "", 3000, 3000},
        {1011, "oops", 1011, 1011},
        {-1, "", 1005, 0}, /* empty close: no code, none echoed */
        {1000, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x98\x83 \xf0\x9f\x98\x80", 1000, 1000},
    };
    char r123[124];
    memset(r123, 'z', 123);
    r123[123] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(cases) + 1; i++) {
        for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
            bool last = i == ARRAY_LEN(cases);
            int code = last ? 1000 : cases[i].code;
            const char *reason = last ? r123 : cases[i].reason;
            struct solo *s = solo_new(false, 0, mode);
            frame(&s->in->data, true, 0, 1, false, "before", 6);
            close_frame(&s->in->data, false, code, reason);
            frame(&s->in->data, true, 0, 1, false, "after close: ignored", 20);
            assert_int_equal(solo_run(s), WS_SESSION_CLOSED);
            assert_int_equal(s->e.nmsgs, 1);
            assert_int_equal(s->e.closes, 1);
            assert_int_equal(s->e.close_code, last ? 1000 : cases[i].reported);
            assert_int_equal(s->e.close_reason_len, strlen(reason));
            assert_memory_equal(s->e.close_reason, reason, strlen(reason));
            assert_int_equal(sent_close_code(&s->out->data, NULL, 0),
                             last ? 1000 : cases[i].echoed);
            assert_false(ws_session_want_read(s->e.s));
            assert_false(ws_session_want_write(s->e.s));
            assert_int_equal(ws_session_send(s->e.s, WS_TEXT, "x", 1), -1);
            assert_int_equal(ws_session_close(s->e.s, 1000, NULL), -1);
            solo_free(s);
        }
    }
}

/* A multi-byte close reason cut anywhere by the transport (wslay 1.1.1
 * validates close reasons chunk by chunk, skipping two bytes of each). */
static void test_close_reason_utf8_chunks(void **state)
{
    (void)state;
    const char *reason = "\xc3\xa9\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\xc3\xa9";
    for (int iter = 0; iter < 300; iter++) {
        struct solo *s = solo_new(false, 0, iter < 20 ? CHUNK_ONE : CHUNK_RANDOM);
        close_frame(&s->in->data, false, 1000, reason);
        if (solo_run(s) != WS_SESSION_CLOSED)
            fail_msg("iteration %d: %s", iter, ws_session_error(s->e.s, NULL));
        assert_int_equal(s->e.close_reason_len, strlen(reason));
        solo_free(s);
    }
}

static void test_too_big(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    char *data = calloc(1, 2000);
    /* max 1000: exactly 1000 passes (whole and fragmented), 1001 fails. */
    for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
        struct solo *s = solo_new(false, 1000, mode);
        frame(&s->in->data, true, 0, 2, false, data, 1000);
        frame(&s->in->data, false, 0, 2, false, data, 400);
        frame(&s->in->data, true, 0, 9, false, "", 0);
        frame(&s->in->data, true, 0, 0, false, data, 600);
        assert_int_equal(solo_run(s), WS_SESSION_OPEN);
        assert_int_equal(s->e.nmsgs, 3);
        assert_int_equal(s->e.msgs[0].data.len, 1000);
        assert_int_equal(s->e.msgs[2].data.len, 1000);
        solo_free(s);
    }
    buf_reset(&b);
    frame(&b, true, 0, 2, false, data, 1001);
    expect_fail(false, &b, 1009, "message larger than --max-message (1000 bytes)", 1000);
    buf_reset(&b);
    frame(&b, false, 0, 1, false, data, 600);
    frame(&b, true, 0, 0, false, data, 401);
    expect_fail(false, &b, 1009, "message larger than --max-message (1000 bytes)", 1000);
    /* An absurd announced length: refused on its header, nothing allocated
     * (ASan would report a 2^62-byte allocation). */
    buf_reset(&b);
    frame(&b, true, 0, 2, false, NULL, 1ull << 62);
    expect_fail(false, &b, 1009, "message larger than --max-message", 0);
    free(data);
    buf_free(&b);
}

static void test_eof_and_errors(void **state)
{
    (void)state;
    struct solo *s = solo_new(false, 0, CHUNK_ANY);
    frame(&s->in->data, true, 0, 1, false, "hi", 2);
    s->in->eof = true;
    assert_int_equal(solo_run(s), WS_SESSION_FAILED);
    uint16_t code = 99;
    assert_string_equal(ws_session_error(s->e.s, &code), "connection closed without a close frame");
    assert_int_equal(code, 0);
    assert_int_equal(s->e.nmsgs, 1);
    assert_false(ws_session_want_write(s->e.s));
    assert_false(ws_session_peer_close(s->e.s, NULL, NULL, NULL));
    solo_free(s);

    /* EOF in the middle of a frame. */
    s = solo_new(false, 0, CHUNK_ONE);
    frame(&s->in->data, true, 0, 1, false, "hello", 5);
    s->in->data.len -= 2;
    s->in->eof = true;
    assert_int_equal(solo_run(s), WS_SESSION_FAILED);
    assert_int_equal(s->e.nmsgs, 0);
    solo_free(s);

    /* EOF after our close: named differently. */
    s = solo_new(false, 0, CHUNK_ANY);
    assert_int_equal(ws_session_close(s->e.s, 1000, NULL), 0);
    ws_session_write(s->e.s);
    s->in->eof = true;
    assert_int_equal(solo_run(s), WS_SESSION_FAILED);
    assert_non_null(strstr(ws_session_error(s->e.s, NULL), "before the peer answered our close"));
    solo_free(s);

    /* Transport errors. */
    s = solo_new(false, 0, CHUNK_ANY);
    s->in->broken = true;
    assert_int_equal(ws_session_read(s->e.s), WS_SESSION_FAILED);
    assert_non_null(strstr(ws_session_error(s->e.s, NULL), "broken while reading"));
    solo_free(s);
    s = solo_new(false, 0, CHUNK_ANY);
    s->out->broken = true;
    assert_int_equal(ws_session_send(s->e.s, WS_TEXT, "x", 1), 0);
    assert_int_equal(ws_session_write(s->e.s), WS_SESSION_FAILED);
    assert_non_null(strstr(ws_session_error(s->e.s, NULL), "broken while writing"));
    solo_free(s);
}

static void test_queued(void **state)
{
    (void)state;
    struct solo *s = solo_new(true, 0, CHUNK_ANY);
    s->out->write_cap = 100;
    char data[1000] = {0};
    assert_int_equal(ws_session_send(s->e.s, WS_BINARY, data, sizeof(data)), 0);
    assert_int_equal(ws_session_send(s->e.s, WS_BINARY, data, 500), 0);
    assert_int_equal(ws_session_queued(s->e.s), 1500);
    ws_session_write(s->e.s);
    assert_true(ws_session_want_write(s->e.s));
    assert_true(ws_session_queued(s->e.s) > 0);
    s->out->write_cap = 0;
    ws_session_write(s->e.s);
    assert_int_equal(ws_session_queued(s->e.s), 0);
    assert_false(ws_session_want_write(s->e.s));
    solo_free(s);
}

/* Pongs owed to a peer that pings and does not read: reading pauses once
 * 256 wait (the pings stay in the transport), and goes on as they leave.
 * A transport that takes everything never pauses it. */
static void test_ping_flood(void **state)
{
    (void)state;
    enum { PINGS = 5000 };
    uint8_t payload[125];
    memset(payload, 'p', sizeof(payload));
    for (int mode = CHUNK_ANY; mode <= CHUNK_RANDOM; mode++) {
        struct solo *s = solo_new(false, 0, mode);
        for (int i = 0; i < PINGS; i++)
            frame(&s->in->data, true, 0, 9, false, payload, sizeof(payload));
        s->out->write_cap = 1000; /* the peer reads a few pongs, then no more */
        for (int i = 0; i < 100000 && ws_session_want_read(s->e.s); i++)
            ws_session_read(s->e.s);
        assert_false(ws_session_want_read(s->e.s));
        assert_true(ws_session_want_write(s->e.s));
        assert_int_equal(ws_session_state(s->e.s), WS_SESSION_OPEN);
        size_t frame_len = 2 + sizeof(payload);
        if (s->in->off > (256 + 64) * frame_len)
            fail_msg("mode %d: %zu pings read with the pongs unsent", mode, s->in->off / frame_len);
        s->out->write_cap = 0; /* the peer reads again */
        assert_int_equal(solo_run(s), WS_SESSION_OPEN);
        assert_int_equal(s->in->off, s->in->data.len);
        size_t off = 0, pongs = 0;
        unsigned op;
        bool fin;
        buf_t pl;
        buf_init(&pl);
        while (parse_frame(&s->out->data, &off, &op, &fin, &pl)) {
            assert_int_equal(op, 10);
            assert_int_equal(pl.len, sizeof(payload));
            pongs++;
        }
        buf_free(&pl);
        assert_int_equal(pongs, PINGS);
        assert_true(ws_session_want_read(s->e.s));
        solo_free(s);
    }
    /* A server whose transport takes every byte (evcat serve's) reads all
     * that came in one call. */
    struct solo *s = solo_new(true, 0, CHUNK_ANY);
    for (int i = 0; i < PINGS; i++)
        frame(&s->in->data, true, 0, 9, true, payload, sizeof(payload));
    ws_session_read(s->e.s);
    assert_int_equal(s->in->off, s->in->data.len);
    assert_false(ws_session_want_write(s->e.s));
    solo_free(s);
}

static void test_close_code_names(void **state)
{
    (void)state;
    assert_string_equal(ws_close_code_name(1000), "normal closure");
    assert_string_equal(ws_close_code_name(1001), "going away");
    assert_string_equal(ws_close_code_name(1009), "message too big");
    assert_string_equal(ws_close_code_name(1012), "service restart");
    assert_string_equal(ws_close_code_name(4001), "private use");
    assert_string_equal(ws_close_code_name(2000), "unknown");
}


/* ---- permessage-deflate ---- */

static ws_pmd_params_t pmd_params(bool snct, bool cnct, unsigned bits)
{
    ws_pmd_params_t p;
    ws_pmd_params_default(&p);
    p.server_no_context_takeover = snct;
    p.client_no_context_takeover = cnct;
    p.server_max_window_bits = p.client_max_window_bits = (uint8_t)bits;
    return p;
}

static void test_deflate_roundtrip(void **state)
{
    (void)state;
    ws_pmd_params_t keep = pmd_params(false, false, 15), reset = pmd_params(true, true, 15);
    ws_pmd_params_t w8 = pmd_params(false, false, 8);
    roundtrip_sizes_pmd(CHUNK_ANY, false, &keep);
    roundtrip_sizes_pmd(CHUNK_RANDOM, true, &reset);
    roundtrip_sizes_pmd(CHUNK_ONE, false, &keep);
    roundtrip_sizes_pmd(CHUNK_ANY, false, &w8); /* plain both ways */
}

/* Compressed on the wire (RSV1, smaller), pings untouched, and plain
 * messages from the peer still taken. */
static void test_deflate_on_the_wire(void **state)
{
    (void)state;
    ws_pmd_params_t keep = pmd_params(false, false, 15);
    struct pair *p = pair_new(CHUNK_ANY, false, 0);
    ws_session_set_deflate(p->c.s, ws_pmd_new(&keep, false, NULL, 0));
    ws_session_set_deflate(p->sv.s, ws_pmd_new(&keep, true, NULL, 0));
    char msg[2000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = "{\"ts_ns\":1,\"data\":\"x\"}"[i % 23];
    assert_int_equal(ws_session_send(p->c.s, WS_TEXT, msg, sizeof(msg)), 0);
    assert_int_equal(ws_session_ping(p->c.s, "hi", 2), 0);
    assert_int_equal(ws_session_send(p->c.s, WS_BINARY, msg, sizeof(msg)), 0);
    pump(&p->c, &p->sv);
    /* The ping (wslay sends control frames first): plain; then the text:
     * RSV1, far smaller. */
    const uint8_t *w = (const uint8_t *)p->c2s->data.p;
    assert_int_equal(w[0], 0x89);
    w += 2 + 4 + 2;
    assert_int_equal(w[0], 0xc1);
    size_t len7 = w[1] & 0x7f;
    assert_true(len7 < 126 && len7 < sizeof(msg) / 10);
    assert_int_equal(p->sv.nmsgs, 3);
    assert_int_equal(p->sv.msgs[0].type, WS_PING);
    assert_int_equal(p->sv.msgs[1].type, WS_TEXT);
    assert_int_equal(p->sv.msgs[1].data.len, sizeof(msg));
    assert_memory_equal(p->sv.msgs[1].data.p, msg, sizeof(msg));
    assert_int_equal(p->sv.msgs[2].type, WS_BINARY);
    assert_memory_equal(p->sv.msgs[2].data.p, msg, sizeof(msg));
    /* The second message took over the first's context: tiny. */
    size_t total = p->c2s->data.len;
    assert_true(total < 8 + 2 * (6 + len7) + 40);
    /* A plain message (RSV1 clear) is fine too. */
    frame(&p->c2s->data, true, 0, 1, true, "plain", 5);
    pump(&p->c, &p->sv);
    assert_int_equal(p->sv.nmsgs, 4);
    assert_int_equal(p->sv.msgs[3].data.len, 5);
    assert_int_equal(ws_session_state(p->sv.s), WS_SESSION_OPEN);
    pair_free(p);
}

/* A compressed payload from a separate compressor. */
static void zpayload(const void *msg, size_t n, buf_t *z)
{
    ws_pmd_params_t keep = pmd_params(true, true, 15);
    ws_pmd_t *c = ws_pmd_new(&keep, true, NULL, 0);
    buf_reset(z);
    assert_int_equal(ws_pmd_deflate(c, msg, n, z), WS_PMD_OK);
    ws_pmd_free(c);
}

static void test_deflate_violations(void **state)
{
    (void)state;
    ws_pmd_params_t keep = pmd_params(false, false, 15);
    buf_t b, z;
    buf_init(&b);
    buf_init(&z);
    /* A bomb: 16 MiB of zeros in about 16 KiB, against --max-message 1M.
     * Closed with 1009 once 1M + 1 bytes came out. Compressed, it must
     * also fit what 1000 bytes may take on the wire. */
    char *zeros = calloc(1, 16u << 20);
    zpayload(zeros, 16u << 20, &z);
    assert_true(z.len < 20000);
    frame(&b, true, 4, 2, false, z.p, z.len);
    expect_fail_pmd(false, &b, 1009, "larger than --max-message (1048576 bytes) once inflated",
                    1u << 20, &keep);
    expect_fail_pmd(false, &b, 1009, "message larger than --max-message (1000 bytes)", 1000, &keep);
    /* Exactly the limit inflated is fine. */
    zpayload(zeros, 1000, &z);
    struct solo *s = solo_new(false, 1000, CHUNK_ANY);
    ws_session_set_deflate(s->e.s, ws_pmd_new(&keep, false, NULL, 0));
    frame(&s->in->data, true, 4, 2, false, z.p, z.len);
    assert_int_equal(solo_run(s), WS_SESSION_OPEN);
    assert_int_equal(s->e.nmsgs, 1);
    assert_int_equal(s->e.msgs[0].data.len, 1000);
    solo_free(s);
    free(zeros);
    /* Data that does not inflate. */
    buf_reset(&b);
    frame(&b, true, 4, 1, false, "\x07\x00", 2);
    expect_fail_pmd(false, &b, 1007, "invalid permessage-deflate data in a text message", 0, &keep);
    /* Invalid UTF-8 once inflated (wslay leaves it to us). */
    zpayload("ok \xff", 4, &z);
    buf_reset(&b);
    frame(&b, true, 4, 1, false, z.p, z.len);
    expect_fail_pmd(false, &b, 1007, "invalid UTF-8 in a text message", 0, &keep);
    /* RSV1 where RFC 7692 forbids it. */
    buf_reset(&b);
    frame(&b, true, 4, 9, false, "", 0);
    expect_fail_pmd(false, &b, 1002, "RSV1 set on a control frame", 0, &keep);
    zpayload("abcdef", 6, &z);
    buf_reset(&b);
    frame(&b, false, 4, 1, false, z.p, 2);
    frame(&b, true, 4, 0, false, z.p + 2, z.len - 2);
    expect_fail_pmd(false, &b, 1002, "RSV1 set on a continuation frame", 0, &keep);
    buf_reset(&b);
    frame(&b, true, 6, 1, false, z.p, z.len);
    expect_fail_pmd(false, &b, 1002, "reserved bits set (RSV12): permessage-deflate uses RSV1 only",
                    0, &keep);
    /* Without the extension, RSV1 stays a violation. */
    buf_reset(&b);
    frame(&b, true, 4, 1, false, z.p, z.len);
    expect_fail(false, &b, 1002, "reserved bits set (RSV1) but no extension was negotiated", 0);
    /* A compressed message in fragments (and a server reading masked ones). */
    s = solo_new(true, 0, CHUNK_RANDOM);
    ws_session_set_deflate(s->e.s, ws_pmd_new(&keep, true, NULL, 0));
    frame(&s->in->data, false, 4, 1, true, z.p, 1);
    frame(&s->in->data, true, 0, 9, true, "", 0);
    frame(&s->in->data, true, 0, 0, true, z.p + 1, z.len - 1);
    assert_int_equal(solo_run(s), WS_SESSION_OPEN);
    assert_int_equal(s->e.nmsgs, 2);
    assert_int_equal(s->e.msgs[1].data.len, 6);
    assert_memory_equal(s->e.msgs[1].data.p, "abcdef", 6);
    solo_free(s);
    buf_free(&b);
    buf_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_whole),
        cmocka_unit_test(test_roundtrip_bytewise),
        cmocka_unit_test(test_roundtrip_random_eagain),
        cmocka_unit_test(test_close_handshake),
        cmocka_unit_test(test_close_without_code),
        cmocka_unit_test(test_close_reason_cut),
        cmocka_unit_test(test_ping_rtt),
        cmocka_unit_test(test_fragmented_with_pings),
        cmocka_unit_test(test_feed_initial),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_peer_close_codes),
        cmocka_unit_test(test_close_reason_utf8_chunks),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_eof_and_errors),
        cmocka_unit_test(test_queued),
        cmocka_unit_test(test_ping_flood),
        cmocka_unit_test(test_close_code_names),
        cmocka_unit_test(test_deflate_roundtrip),
        cmocka_unit_test(test_deflate_on_the_wire),
        cmocka_unit_test(test_deflate_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
