/* Differential split test for src/proto/sse_parser.c: generated streams
 * (seeded) fed whole, byte by byte, in random splits of 0-300 bytes, and
 * stopping at every event, must give the same sequence of callbacks, the
 * same final status and the same last event ID.
 *
 * The streams are made to hit what the parser treats specially: lines
 * shorter and longer than its 64-byte scan blocks and lines across block
 * and chunk borders; CR, LF and CRLF line ends (a CR at a chunk's end);
 * values handed over in place (ASCII and valid UTF-8) and values it must
 * copy (invalid UTF-8, second and later data lines, lines split across
 * feeds); NUL in ids; a BOM; comments, retry, unknown fields; and small
 * max_event bounds, which must trip at the same byte however the stream is
 * cut. Each chunk is its own exact-size allocation and is freed (after
 * being scribbled over) as soon as its feed returns, so AddressSanitizer or
 * a wrong event catches a value still pointing into it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sse_parser.h"
#include "buf.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* ---- the transcript -------------------------------------------------------- */

struct run {
    sse_parser_t *p;
    buf_t log;
    bool stop;
    size_t events;
    bool raw; /* log only each event's data and an LF, as listen -o raw */
};

static void put(buf_t *b, const char *tag, const char *s, size_t n)
{
    buf_printf(b, " %s[%zu]=", tag, n);
    buf_append(b, s, n);
}

static int on_event(void *ud, const sse_event_t *ev)
{
    struct run *r = ud;
    size_t lid_len;
    const char *lid = sse_parser_last_id(r->p, &lid_len);
    assert_int_equal(ev->id_len, lid_len);
    assert_memory_equal(ev->id, lid, lid_len);
    assert_int_equal(ev->id[ev->id_len], '\0');
    r->events++;
    if (r->raw) {
        buf_append(&r->log, ev->data, ev->data_len);
        buf_putc(&r->log, '\n');
        return r->stop;
    }
    buf_puts(&r->log, "event");
    put(&r->log, "type", ev->type, ev->type_len);
    put(&r->log, "data", ev->data, ev->data_len);
    put(&r->log, "id", ev->id, ev->id_len);
    buf_putc(&r->log, '\n');
    return r->stop;
}

static void on_retry(void *ud, uint64_t ms)
{
    struct run *r = ud;
    buf_printf(&r->log, "retry %llu\n", (unsigned long long)ms);
}

static void on_comment(void *ud, const char *text, size_t len)
{
    struct run *r = ud;
    buf_puts(&r->log, "comment");
    put(&r->log, "text", text, len);
    buf_putc(&r->log, '\n');
}

static const sse_parser_callbacks_t cbs = {on_event, on_retry, on_comment, NULL};

/* ---- streams ---------------------------------------------------------------- */

static void gen_value(buf_t *b, uint64_t *s, size_t max_len)
{
    static const char *const pieces[] = {
        "x", "{\"k\":1}", " ", "caf\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80",
        "\xC3",  /* truncated */
        "\xFF",  /* never valid */
        "\xED\xA0\x80", /* surrogate */
        ":", "\t", "abcdefghijklmnopqrstuvwxyz0123456789",
    };
    size_t len = (size_t)(rng(s) % (max_len + 1));
    while (len > 0) {
        uint64_t r = rng(s);
        if (r % 4 == 0) {
            const char *pc = pieces[(r >> 8) % ARRAY_LEN(pieces)];
            buf_puts(b, pc);
            len = len > strlen(pc) ? len - strlen(pc) : 0;
        } else {
            buf_putc(b, (char)('a' + (r >> 8) % 26));
            len--;
        }
    }
}

static void gen_eol(buf_t *b, uint64_t *s)
{
    uint64_t r = rng(s) % 10;
    buf_puts(b, r < 6 ? "\n" : r < 8 ? "\r\n" : "\r");
}

/* A stream of about n bytes. */
static void gen_stream(buf_t *b, uint64_t *s, size_t n)
{
    if (rng(s) % 4 == 0)
        buf_puts(b, "\xEF\xBB\xBF");
    while (b->len < n) {
        uint64_t r = rng(s) % 100;
        size_t long_line = rng(s) % 8 == 0 ? 400 : 70;
        if (r < 40) {
            buf_puts(b, rng(s) % 8 ? "data: " : "data:");
            gen_value(b, s, long_line);
        } else if (r < 50) {
            buf_puts(b, "id: ");
            gen_value(b, s, 12);
            if (rng(s) % 10 == 0)
                buf_append(b, "\0z", 2);
        } else if (r < 58) {
            buf_puts(b, "event: ");
            gen_value(b, s, 16);
        } else if (r < 62) {
            buf_printf(b, "retry: %llu", (unsigned long long)(rng(s) % 100000));
        } else if (r < 68) {
            buf_putc(b, ':');
            gen_value(b, s, long_line);
        } else if (r < 72) {
            buf_puts(b, rng(s) % 2 ? "data" : "foo: bar");
        } else if (r < 74) {
            gen_value(b, s, 30); /* a field name of anything */
        }
        /* else: a blank line, dispatching */
        gen_eol(b, s);
    }
}

/* ---- feeding ---------------------------------------------------------------- */

enum way { WHOLE, BYTES, RANDOM };

static int feed(struct run *r, const buf_t *in, enum way w, uint64_t seed)
{
    size_t off = 0;
    int rc = SSE_OK;
    do {
        size_t len = in->len - off;
        if (w == BYTES)
            len = len ? 1 : 0;
        else if (w == RANDOM) {
            uint64_t x = rng(&seed);
            size_t want = x % 8 == 0 ? 0 : (size_t)(x >> 16) % (x % 3 ? 300 : 20);
            len = want < len ? want : len;
        }
        char *chunk = xmalloc(len ? len : 1);
        memcpy(chunk, in->p + off, len);
        size_t pos = 0;
        for (;;) {
            size_t used = 0;
            rc = sse_parser_feed(r->p, chunk + pos, len - pos, &used);
            if (rc == SSE_STOP) {
                pos += used;
                continue;
            }
            break;
        }
        memset(chunk, '#', len); /* a value still pointing here shows */
        free(chunk);
        off += len;
    } while (off < in->len && rc != SSE_ERR_TOO_BIG);
    return rc;
}

/* How a run takes its events: all through on_event with a full
 * transcript; all through on_event, data only; short ones into the data
 * sink (the log itself), long ones through on_event, data only. */
enum take { FULL, RAW, SINK };

/* run_way_as, returning how many events on_event saw. */
static size_t run_way_as(const buf_t *in, size_t max_event, enum way w, bool stop, uint64_t seed,
                         enum take t, buf_t *out)
{
    struct run r = {.stop = stop, .raw = t != FULL};
    buf_init(&r.log);
    sse_parser_callbacks_t c = cbs;
    if (t == SINK)
        c.data_sink = &r.log;
    r.p = sse_parser_new(max_event, &c, &r);
    int rc = feed(&r, in, w, seed);
    sse_parser_end(r.p);
    size_t lid_len;
    const char *lid = sse_parser_last_id(r.p, &lid_len);
    buf_printf(&r.log, "rc %d", rc);
    put(&r.log, "last-id", lid, lid_len);
    buf_reset(out);
    buf_append(out, r.log.p, r.log.len);
    sse_parser_free(r.p);
    buf_free(&r.log);
    return r.events;
}

static void run_way(const buf_t *in, size_t max_event, enum way w, bool stop, uint64_t seed,
                    buf_t *out)
{
    run_way_as(in, max_event, w, stop, seed, FULL, out);
}

static void expect_same(const buf_t *want, const buf_t *got, const char *how, uint64_t stream)
{
    if (want->len == got->len && memcmp(want->p, got->p, want->len) == 0)
        return;
    size_t i = 0;
    while (i < want->len && i < got->len && want->p[i] == got->p[i])
        i++;
    print_error("stream seed %llu, %s: transcripts differ at byte %zu of %zu/%zu\n",
                (unsigned long long)stream, how, i, want->len, got->len);
    fail();
}

/* Generated stream number `stream` into *in (200 to 6,200 bytes), and the
 * max_event to parse it with (0: the default, or a bound that some of its
 * events pass); *s is the random state after it. */
static size_t stream_case(buf_t *in, uint64_t stream, uint64_t *s)
{
    static const size_t bounds[] = {0, 64, 200, 1000};
    *s = stream * UINT64_C(0x9E3779B97F4A7C15);
    buf_reset(in);
    gen_stream(in, s, 200 + (size_t)(rng(s) % 6000));
    return bounds[stream % ARRAY_LEN(bounds)];
}

static void test_generated_streams_agree_however_split(void **state)
{
    (void)state;
    buf_t in, ref, got;
    buf_init(&in);
    buf_init(&ref);
    buf_init(&got);
    for (uint64_t stream = 1; stream <= 120; stream++) {
        uint64_t s;
        size_t max_event = stream_case(&in, stream, &s);
        run_way(&in, max_event, WHOLE, false, 0, &ref);
        run_way(&in, max_event, WHOLE, true, 0, &got);
        expect_same(&ref, &got, "whole, stopping at each event", stream);
        run_way(&in, max_event, BYTES, false, 0, &got);
        expect_same(&ref, &got, "byte by byte", stream);
        run_way(&in, max_event, BYTES, true, 0, &got);
        expect_same(&ref, &got, "byte by byte, stopping", stream);
        for (uint64_t k = 1; k <= 6; k++) {
            char how[64];
            snprintf(how, sizeof how, "random splits %llu%s", (unsigned long long)k,
                     k % 2 ? "" : ", stopping");
            run_way(&in, max_event, RANDOM, k % 2 == 0, s + k, &got);
            expect_same(&ref, &got, how, stream);
        }
    }
    buf_free(&in);
    buf_free(&ref);
    buf_free(&got);
}

/* The generator must reach what the test is about, or it proves nothing:
 * events with data handed over in place and joined, long lines, CRs at
 * chunk ends, and a bound that trips. */
static void test_generated_streams_cover_the_cases(void **state)
{
    (void)state;
    size_t events = 0, too_big = 0, long_data = 0, joined = 0;
    buf_t in, out;
    buf_init(&in);
    buf_init(&out);
    for (uint64_t stream = 1; stream <= 120; stream++) {
        uint64_t s = stream * UINT64_C(0x9E3779B97F4A7C15);
        buf_reset(&in);
        gen_stream(&in, &s, 200 + (size_t)(rng(&s) % 6000));
        run_way(&in, stream % 4 == 1 ? 64 : 0, WHOLE, false, 0, &out);
        for (const char *e = out.p; (e = strstr(e, "event type[")); e++) {
            events++;
            const char *d = strstr(e, " data[");
            unsigned long n = strtoul(d + 6, NULL, 10);
            long_data += n > 64;
            const char *v = strstr(d, "]=") + 2; /* the data itself */
            joined += memchr(v, '\n', n) != NULL;
        }
        too_big += strstr(out.p, "rc -2") != NULL;
    }
    assert_true(events > 1000);
    assert_true(long_data > 50);
    assert_true(joined > 50);
    assert_true(too_big > 5);
    buf_free(&in);
    buf_free(&out);
}

/* Lines of up to 90 blocks of 64 bytes with a multi-byte sequence in
 * every block (some across block borders) and, in half of them, one
 * invalid byte late in the line: the parser checks such lines as its
 * long-line loop passes them, in batches of 32 blocks; fed byte by byte
 * the same lines are held and checked whole, which must agree; and the
 * invalid byte must come out as exactly one U+FFFD, the rest unchanged. */
static void test_very_long_lines_checked_in_passing(void **state)
{
    (void)state;
    static const char *const seqs[] = {"\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80",
                                       "\xE0\xA4\x85", "\xED\x9F\xBF", "\xF4\x8F\xBF\xBF"};
    buf_t in, ref, got;
    buf_init(&in);
    buf_init(&ref);
    buf_init(&got);
    for (uint64_t t = 0; t < 180; t++) {
        uint64_t s = (t + 1) * UINT64_C(0x9E3779B97F4A7C15);
        size_t blocks = t / 2, bad_at = t % 2 ? (size_t)(rng(&s) % (64 * blocks + 10)) : SIZE_MAX;
        bool invalid = bad_at != SIZE_MAX;
        buf_reset(&in);
        buf_puts(&in, "id: 1\ndata: ");
        size_t start = in.len;
        while (in.len - start < 64 * blocks + 10) {
            size_t at = in.len - start;
            if (at >= bad_at) {
                buf_putc(&in, '\xFF');
                bad_at = SIZE_MAX;
            } else if (rng(&s) % 16 == 0) {
                buf_puts(&in, seqs[rng(&s) % ARRAY_LEN(seqs)]);
            } else {
                buf_putc(&in, (char)('a' + rng(&s) % 26));
            }
        }
        buf_puts(&in, t % 3 ? "\n\n" : "\r\n\r\n");
        run_way(&in, 0, WHOLE, false, 0, &ref);
        run_way(&in, 0, BYTES, false, 0, &got);
        expect_same(&ref, &got, "long line, byte by byte", t);
        run_way(&in, 0, RANDOM, false, s, &got);
        expect_same(&ref, &got, "long line, random splits", t);
        const char *fffd = memmem(ref.p, ref.len, "\xEF\xBF\xBD", 3);
        assert_int_equal(fffd != NULL, invalid);
        if (fffd)
            assert_null(memmem(fffd + 3, ref.len - (size_t)(fffd + 3 - ref.p), "\xEF\xBF\xBD", 3));
        assert_non_null(strstr(ref.p, "event type["));
    }
    buf_free(&in);
    buf_free(&ref);
    buf_free(&got);
}

/* With a data sink (listen's raw output), the data written must be what
 * on_event would have been given, in order, however the stream is split
 * and stopped, with the same status and last event ID; events of up to
 * SSE_SINK_MAX bytes of data go to the sink, longer ones to on_event. */
static void test_data_sink_agrees_with_on_event(void **state)
{
    (void)state;
    size_t all = 0, called = 0;
    buf_t in, ref, got;
    buf_init(&in);
    buf_init(&ref);
    buf_init(&got);
    for (uint64_t stream = 1; stream <= 120; stream++) {
        uint64_t s;
        size_t max_event = stream_case(&in, stream, &s);
        all += run_way_as(&in, max_event, WHOLE, false, 0, RAW, &ref);
        called += run_way_as(&in, max_event, WHOLE, false, 0, SINK, &got);
        expect_same(&ref, &got, "sink, whole", stream);
        run_way_as(&in, max_event, WHOLE, true, 0, SINK, &got);
        expect_same(&ref, &got, "sink, whole, stopping", stream);
        run_way_as(&in, max_event, BYTES, true, 0, SINK, &got);
        expect_same(&ref, &got, "sink, byte by byte, stopping", stream);
        for (uint64_t k = 1; k <= 4; k++) {
            run_way_as(&in, max_event, RANDOM, k % 2 == 0, s + k, SINK, &got);
            expect_same(&ref, &got, "sink, random splits", stream);
        }
    }
    /* Both ways were taken: most events into the sink, some long ones not. */
    assert_true(called > 20);
    assert_true(called * 4 < all);
    buf_free(&in);
    buf_free(&ref);
    buf_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_streams_agree_however_split),
        cmocka_unit_test(test_generated_streams_cover_the_cases),
        cmocka_unit_test(test_very_long_lines_checked_in_passing),
        cmocka_unit_test(test_data_sink_agrees_with_on_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
