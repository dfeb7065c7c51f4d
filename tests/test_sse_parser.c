/* Unit tests for src/proto/sse_parser.c.
 *
 * Most rules are checked through one table: every case is fed whole, byte by
 * byte, in seeded random splits (zero-length feeds included), and with an
 * on_event that stops every feed, resumed from *consumed. Each way must give
 * exactly the expected events, retry values, comments, final status and last
 * event ID. Every chunk is copied into its own exact-size allocation, so
 * AddressSanitizer catches a read past the bytes the parser was given.
 * Cases named "wpt format-*" are the web-platform-tests eventsource vectors,
 * restated as bytes in and events out. */
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

typedef struct bytes {
    const char *p; /* NULL is read as "" */
    size_t n;
} bytes_t;
#define B(s)                                                                                       \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

#define R "\xEF\xBF\xBD" /* U+FFFD */

struct want_event {
    bytes_t type, data, id;
};
#define EV(t, d, i)                                                                                \
    {                                                                                              \
        B(t), B(d), B(i)                                                                           \
    }

struct tcase {
    const char *name; /* the rule it checks */
    bytes_t in;
    size_t max_event;        /* 0: the parser's default */
    struct want_event ev[8]; /* ends at the first with type.p == NULL */
    uint64_t retry[8];       /* n_retry of them */
    size_t n_retry;          /* (a count: 0 is a valid retry value) */
    bytes_t comment[8];      /* ends at the first with p == NULL */
    bytes_t last_id;         /* after the stream and sse_parser_end() */
    int rc;                  /* status of the last feed */
};

/* ---- recording what the parser reports ---------------------------------- */

struct rec {
    sse_parser_t *p;
    buf_t all;    /* everything, in order: compared between feeding ways */
    buf_t events; /* per kind: compared with the case */
    buf_t retries;
    buf_t comments;
    size_t n_events;
    bool stop; /* on_event asks to stop */
};

/* Length-prefixed, so the transcript is unambiguous whatever the bytes. */
static void put_bytes(buf_t *b, const char *tag, const char *p, size_t n)
{
    buf_printf(b, "%s=%zu:", tag, n);
    buf_append(b, p ? p : "", n);
    buf_putc(b, ' ');
}

static void put_event(buf_t *b, const char *type, size_t tn, const char *data, size_t dn,
                      const char *id, size_t in)
{
    buf_puts(b, "event ");
    put_bytes(b, "type", type, tn);
    put_bytes(b, "data", data, dn);
    put_bytes(b, "id", id, in);
    buf_putc(b, '\n');
}

static int rec_event(void *ud, const sse_event_t *ev)
{
    struct rec *r = ud;
    size_t lid_len;
    const char *lid = sse_parser_last_id(r->p, &lid_len);
    /* The contract: id is followed by a NUL and is the last event ID (type
     * and data may lie in the fed bytes, with no NUL after them). */
    assert_int_equal(ev->id[ev->id_len], '\0');
    assert_int_equal(ev->id_len, lid_len);
    assert_memory_equal(ev->id, lid, lid_len);
    put_event(&r->events, ev->type, ev->type_len, ev->data, ev->data_len, ev->id, ev->id_len);
    put_event(&r->all, ev->type, ev->type_len, ev->data, ev->data_len, ev->id, ev->id_len);
    r->n_events++;
    return r->stop ? 1 : 0;
}

static void rec_retry(void *ud, uint64_t ms)
{
    struct rec *r = ud;
    buf_printf(&r->retries, "retry %llu\n", (unsigned long long)ms);
    buf_printf(&r->all, "retry %llu\n", (unsigned long long)ms);
}

static void rec_comment(void *ud, const char *text, size_t len)
{
    struct rec *r = ud;
    buf_puts(&r->comments, "comment ");
    put_bytes(&r->comments, "text", text, len);
    buf_putc(&r->comments, '\n');
    buf_puts(&r->all, "comment ");
    put_bytes(&r->all, "text", text, len);
    buf_putc(&r->all, '\n');
}

static const sse_parser_callbacks_t rec_cbs = {rec_event, rec_retry, rec_comment, NULL};

static void rec_init(struct rec *r, size_t max_event, bool stop)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->all);
    buf_init(&r->events);
    buf_init(&r->retries);
    buf_init(&r->comments);
    r->stop = stop;
    r->p = sse_parser_new(max_event, &rec_cbs, r);
}

static void rec_free(struct rec *r)
{
    sse_parser_free(r->p);
    buf_free(&r->all);
    buf_free(&r->events);
    buf_free(&r->retries);
    buf_free(&r->comments);
}

/* Printable form of a transcript for failure messages. */
static char *escaped(const buf_t *b)
{
    buf_t o;
    buf_init(&o);
    buf_puts(&o, "");
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->p[i];
        if (c == '\n' && i + 1 < b->len)
            buf_puts(&o, "\n      ");
        else if (c == '\n')
            ;
        else if (c == '\\')
            buf_puts(&o, "\\\\");
        else if (c < 0x20 || c >= 0x7F)
            buf_printf(&o, "\\x%02X", c);
        else
            buf_putc(&o, (char)c);
    }
    return o.p;
}

static void expect_same(const char *what, const char *how, const buf_t *want, const buf_t *got)
{
    if (want->len == got->len && (want->len == 0 || memcmp(want->p, got->p, want->len) == 0))
        return;
    char *w = escaped(want), *g = escaped(got);
    print_error("%s (%s)\n  want: %s\n  got:  %s\n", what, how, w, g);
    free(w);
    free(g);
    fail();
}

/* ---- feeding ways -------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: reproducible splits from a seed. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

enum way { WHOLE, BYTES, RANDOM };

/* Size of the next chunk (may be 0: an empty feed must be harmless). */
static size_t next_chunk(enum way w, uint64_t *seed, size_t left)
{
    size_t n;
    if (w == WHOLE)
        return left;
    if (w == BYTES)
        return left ? 1 : 0;
    uint64_t r = rng_next(seed);
    if (r % 16 == 0)
        n = 0;
    else if (r % 16 < 4)
        n = (size_t)(r >> 32) % 64;
    else
        n = 1 + (size_t)(r >> 32) % 9;
    return n < left ? n : left;
}

/* Feeds the input the given way; returns the last status. In stop mode every
 * event stops the feed and the rest of that chunk is fed again. */
static int feed_way(struct rec *r, bytes_t in, enum way w, uint64_t seed)
{
    size_t off = 0;
    int rc = SSE_OK;
    uint64_t s = seed;
    do {
        size_t len = next_chunk(w, &s, in.n - off);
        char *chunk = xmalloc(len);
        if (len)
            memcpy(chunk, in.p + off, len);
        size_t pos = 0;
        for (;;) {
            size_t used = (size_t)-1, before = r->n_events;
            rc = sse_parser_feed(r->p, chunk + pos, len - pos, &used);
            if (rc == SSE_OK) {
                assert_int_equal(used, len - pos);
                assert_true(!r->stop || r->n_events == before);
            } else if (rc == SSE_STOP) {
                /* Exactly one event, and consumed ends right after its line
                 * end, LF of a CRLF included when it was there. */
                assert_true(r->stop);
                assert_int_equal(r->n_events, before + 1);
                assert_true(used >= 1 && used <= len - pos);
                char last = chunk[pos + used - 1];
                assert_true(last == '\n' || last == '\r');
                if (last == '\r' && used < len - pos)
                    assert_int_not_equal(chunk[pos + used], '\n');
                pos += used;
                continue;
            }
            break;
        }
        free(chunk);
        off += len;
    } while (off < in.n && rc != SSE_ERR_TOO_BIG);
    return rc;
}

/* The whole, non-stopping feed's sequence of callbacks, which every other
 * way must reproduce. */
struct reference {
    bool set;
    buf_t all;
};

static void run_way(const struct tcase *c, enum way w, bool stop, uint64_t seed,
                    struct reference *ref)
{
    char how[64];
    snprintf(how, sizeof how, "%s%s, seed %llu",
             w == WHOLE   ? "whole"
             : w == BYTES ? "byte by byte"
                          : "random splits",
             stop ? ", stopping at each event" : "", (unsigned long long)seed);

    struct rec r;
    rec_init(&r, c->max_event, stop);
    int rc = feed_way(&r, c->in, w, seed);
    if (rc == SSE_ERR_TOO_BIG) {
        /* Stays unusable until restart. */
        size_t used = 1;
        assert_int_equal(sse_parser_feed(r.p, "\n", 1, &used), SSE_ERR_TOO_BIG);
    }
    sse_parser_end(r.p);
    size_t lid_len;
    const char *lid = sse_parser_last_id(r.p, &lid_len);
    assert_int_equal(lid[lid_len], '\0');

    buf_t want, got;
    buf_init(&want);
    buf_init(&got);
    for (const struct want_event *e = c->ev; e->type.p; e++)
        put_event(&want, e->type.p, e->type.n, e->data.p, e->data.n, e->id.p, e->id.n);
    expect_same("events", how, &want, &r.events);
    buf_reset(&want);
    for (size_t i = 0; i < c->n_retry; i++)
        buf_printf(&want, "retry %llu\n", (unsigned long long)c->retry[i]);
    expect_same("retry values", how, &want, &r.retries);
    buf_reset(&want);
    for (const bytes_t *t = c->comment; t->p; t++) {
        buf_puts(&want, "comment ");
        put_bytes(&want, "text", t->p, t->n);
        buf_putc(&want, '\n');
    }
    expect_same("comments", how, &want, &r.comments);
    buf_reset(&want);
    put_bytes(&want, "last-id", c->last_id.p, c->last_id.n);
    put_bytes(&got, "last-id", lid, lid_len);
    expect_same("last event ID", how, &want, &got);
    assert_int_equal(rc, c->rc);

    /* Same order of everything, whichever way it was fed. */
    if (!ref->set) {
        buf_append(&ref->all, r.all.p, r.all.len);
        ref->set = true;
    } else {
        expect_same("sequence of callbacks vs whole feed", how, &ref->all, &r.all);
    }

    buf_free(&want);
    buf_free(&got);
    rec_free(&r);
}

static void run_case(const struct tcase *c)
{
    struct reference ref = {.set = false};
    buf_init(&ref.all);
    run_way(c, WHOLE, false, 0, &ref);
    run_way(c, WHOLE, true, 0, &ref);
    run_way(c, BYTES, false, 0, &ref);
    run_way(c, BYTES, true, 0, &ref);
    for (uint64_t seed = 1; seed <= 12; seed++)
        run_way(c, RANDOM, seed % 3 == 0, seed * UINT64_C(0x9E3779B97F4A7C15), &ref);
    buf_free(&ref.all);
}

/* ---- the table ------------------------------------------------------------ */

static const struct tcase cases[] = {
    /* BOM */
    {.name = "bom: stripped at stream start",
     .in = B("\xEF\xBB\xBF"
             "data:a\n\n"),
     .ev = {EV("message", "a", "")}},
    {.name = "bom: wpt format-bom: a BOM after stream start is text (no data field)",
     .in = B("\xEF\xBB\xBF"
             "data:1\n\n\xEF\xBB\xBF"
             "data:2\n\ndata:3\n\n"),
     .ev = {EV("message", "1", ""), EV("message", "3", "")}},
    {.name = "bom: wpt format-bom-2: only the first of two BOMs is stripped",
     .in = B("\xEF\xBB\xBF\xEF\xBB\xBF"
             "data:1\n\ndata:2\n\ndata:3\n\n"),
     .ev = {EV("message", "2", ""), EV("message", "3", "")}},
    {.name = "bom: a BOM inside a value is kept",
     .in = B("data:\xEF\xBB\xBF"
             "x\n\n"),
     .ev = {EV("message",
               "\xEF\xBB\xBF"
               "x",
               "")}},
    {.name = "bom: an incomplete BOM at stream start is text, not dropped",
     .in = B("\xEF\xBB"
             "data:1\n\n\xEF"
             "data:2\n\ndata:3\n\n"),
     .ev = {EV("message", "3", "")}},
    {.name = "bom: an incomplete BOM then a line end is a garbage line",
     .in = B("\xEF\xBB\ndata:1\n\n"),
     .ev = {EV("message", "1", "")}},
    {.name = "bom: a stream of nothing but a BOM", .in = B("\xEF\xBB\xBF")},

    /* line ends */
    {.name = "line ends: CR, LF and CRLF each end a line",
     .in = B("data:a\rdata:b\ndata:c\r\ndata:d\r\n\r\n"),
     .ev = {EV("message", "a\nb\nc\nd", "")}},
    {.name = "line ends: a CRLF blank line dispatches once",
     .in = B("data:a\r\n\r\ndata:b\r\n\r\n"),
     .ev = {EV("message", "a", ""), EV("message", "b", "")}},
    {.name = "line ends: CR CR is a line end then a blank line",
     .in = B("data:a\r\rdata:b\r\r"),
     .ev = {EV("message", "a", ""), EV("message", "b", "")}},
    {.name = "line ends: LF CR is a line end then a blank line",
     .in = B("data:a\n\rdata:b\n\r"),
     .ev = {EV("message", "a", ""), EV("message", "b", "")}},
    {.name = "line ends: the LF of a CRLF is not a blank line",
     .in = B("data:a\r\ndata:b\r\n\r\n"),
     .ev = {EV("message", "a\nb", "")}},
    {.name = "line ends: wpt format-newlines: mixed ends, final CR dispatches",
     .in = B("data:test\r\ndata\ndata:test\r\n\r"),
     .ev = {EV("message", "test\n\ntest", "")}},

    /* UTF-8 */
    {.name = "utf8: wpt format-utf-8: valid multi-byte text passes unchanged",
     .in = B("data:ok\xE2\x80\xA6\n\n"),
     .ev = {EV("message", "ok\xE2\x80\xA6", "")}},
    {.name = "utf8: the smallest and largest valid sequences of each length pass",
     .in = B("data:\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"
             "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\n\n"),
     .ev = {EV("message",
               "\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"
               "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
               "")}},
    {.name = "utf8: a lone continuation byte is one U+FFFD",
     .in = B("data:a\x80"
             "b\n\n"),
     .ev = {EV("message", "a" R "b", "")}},
    {.name = "utf8: a sequence truncated by the line end is one U+FFFD",
     .in = B("data:\xE2\x82\ndata:\xF0\x9F\x98\rdata:\xC3\r\n\n"),
     .ev = {EV("message", R "\n" R "\n" R, "")}},
    {.name = "utf8: a sequence broken by ASCII is one U+FFFD and the ASCII stays",
     .in = B("data:\xE2\x82"
             "A\xF0\x9F"
             ":\n\n"),
     .ev = {EV("message", R "A" R ":", "")}},
    {.name = "utf8: Unicode table 3-8: one U+FFFD per maximal subpart",
     .in = B("data:\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64\n\n"),
     .ev = {EV("message", "a" R R R "b" R "c" R R "d", "")}},
    {.name = "utf8: overlongs, surrogates, past U+10FFFF and bad leads: each byte replaced",
     .in = B("data:\xC0\xAF|\xE0\x80\xAF|\xED\xA0\x80|\xF4\x90\x80\x80|\xF5\xFF|\xC1\xBF\n\n"),
     .ev = {EV("message", R R "|" R R R "|" R R R "|" R R R R "|" R R "|" R R, "")}},
    {.name = "utf8: replacement applies to event type, id and comments too",
     .in = B(":\xFF\nevent:\xFE"
             "x\nid:\xC3\ndata:x\n\n"),
     .ev = {EV(R "x", "x", R)},
     .comment = {B(R)},
     .last_id = B(R)},
    {.name = "utf8: a non-ASCII byte after a long ASCII run is still decoded",
     .in = B("data:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xFF"
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n\n"),
     .ev = {EV("message",
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" R
               "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
               "")}},

    /* NUL */
    {.name = "nul: wpt format-null-character: NUL passes through in data",
     .in = B("data:\0\n\n\n"),
     .ev = {EV("message", "\0", "")}},
    {.name = "nul: NUL passes through in event type and comments",
     .in = B("event:a\0b\n:\0\ndata:x\0\n\n"),
     .ev = {EV("a\0b", "x\0", "")},
     .comment = {B("\0")}},

    /* field parsing */
    {.name = "field: wpt format-leading-space: exactly one space removed, tab kept",
     .in = B("data:\ttest\rdata: \ndata:test\n\n"),
     .ev = {EV("message", "\ttest\n\ntest", "")}},
    {.name = "field: a second leading space and trailing spaces are kept",
     .in = B("data:  2\ndata: x \n\n"),
     .ev = {EV("message", " 2\nx ", "")}},
    {.name = "field: wpt format-field-data: a line without colon is a field with empty value",
     .in = B("data:\n\ndata\ndata\n\ndata:test\n\n"),
     .ev = {EV("message", "", ""), EV("message", "\n", ""), EV("message", "test", "")}},
    {.name = "field: wpt format-field-parsing",
     .in = B("data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:"
             "\r\n data:32\ndata:4\n\n"),
     .ev = {EV("message", "\0\n 2\n1\n3\n\n4", "")}},
    {.name = "field: names are case-sensitive",
     .in = B("Data:1\nDATA:2\nEvent:x\nID:5\nRetry:1\nId:6\ndata:3\n\n"),
     .ev = {EV("message", "3", "")}},
    {.name = "field: wpt format-field-unknown: unknown fields and plain text are ignored",
     .in = B("data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n"),
     .ev = {EV("message", "test\n\ntest", "")},
     .comment = {B("thisisacommentyay")}},
    {.name = "field: names that merely start like known ones are unknown",
     .in = B("datax:1\ndat:2\ndata :3\ndata 4\neventx:e\nidx:9\nretryx:5\ndata:5\n\n"),
     .ev = {EV("message", "5", "")}},
    {.name = "field: only the first colon separates name and value",
     .in = B("data:a:b\nevent:c:d\nid::e\n\n"),
     .ev = {EV("c:d", "a:b", ":e")},
     .last_id = B(":e")},

    /* comments */
    {.name = "comment: the text after the colon, no space removed",
     .in = B(": hello\n:\n::x\n:data:no\n\n"),
     .comment = {B(" hello"), B(""), B(":x"), B("data:no")}},

    /* event type */
    {.name = "event: wpt format-field-event: a custom type applies to one event only",
     .in = B("event:test\ndata:x\n\ndata:x\n\n"),
     .ev = {EV("test", "x", ""), EV("message", "x", "")}},
    {.name = "event: wpt format-field-event-empty: an empty type means message",
     .in = B("event: \ndata:data\n\n"),
     .ev = {EV("message", "data", "")}},
    {.name = "event: the last event field wins",
     .in = B("event:a\nevent:b\ndata:x\n\n"),
     .ev = {EV("b", "x", "")}},
    {.name = "event: an explicit type of message",
     .in = B("event:message\ndata:x\n\n"),
     .ev = {EV("message", "x", "")}},

    /* id */
    {.name = "id: wpt format-field-id: the id is on the event and is the last event ID",
     .in = B("id: \xE2\x80\xA6\nretry: 200\ndata: hello\n\n"),
     .ev = {EV("message", "hello", "\xE2\x80\xA6")},
     .retry = {200},
     .n_retry = 1,
     .last_id = B("\xE2\x80\xA6")},
    {.name = "id: wpt format-field-id-3 persists: an id holds for later events",
     .in = B("id: 1\ndata: 1\n\ndata:2\n\n"),
     .ev = {EV("message", "1", "1"), EV("message", "2", "1")},
     .last_id = B("1")},
    {.name = "id: wpt format-field-id-3 changes and persists",
     .in = B("id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n"),
     .ev = {EV("message", "1", "1"), EV("message", "2", "2"), EV("message", "3", "2")},
     .last_id = B("2")},
    {.name = "id: wpt format-field-id-3 resets-colon: an empty id resets it",
     .in = B("id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n"),
     .ev = {EV("message", "1", "1"), EV("message", "2", ""), EV("message", "3", "")}},
    {.name = "id: wpt format-field-id-3 resets-no-colon: a bare id line resets it",
     .in = B("id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n"),
     .ev = {EV("message", "1", "1"), EV("message", "2", ""), EV("message", "3", "")}},
    {.name = "id: wpt format-field-id-null: a value containing NUL anywhere is ignored",
     .in = B("id:\0\0\ndata:a\n\nid:\0x\ndata:b\n\nid:x\0\ndata:c\n\nid:x\0x\ndata:d\n\n"
             "id:  \0\ndata:e\n\n"),
     .ev = {EV("message", "a", ""), EV("message", "b", ""), EV("message", "c", ""),
            EV("message", "d", ""), EV("message", "e", "")}},
    {.name = "id: an ignored NUL id leaves the previous id in place",
     .in = B("id:1\ndata:a\n\nid:2\0\ndata:b\n\n"),
     .ev = {EV("message", "a", "1"), EV("message", "b", "1")},
     .last_id = B("1")},
    {.name = "id: a blank line sets the last event ID even when no event fires",
     .in = B("id:5\n\n"),
     .last_id = B("5")},
    {.name = "id: set by a no-event dispatch, carried by the next event",
     .in = B("id:5\nevent:x\n\ndata:y\n\n"),
     .ev = {EV("message", "y", "5")},
     .last_id = B("5")},
    {.name = "id: an id after the data still belongs to that event; the last one wins",
     .in = B("data:x\nid:7\nid:8\n\n"),
     .ev = {EV("message", "x", "8")},
     .last_id = B("8")},

    /* retry */
    {.name = "retry: wpt format-field-retry: leading zeros are decimal",
     .in = B("retry:02000\ndata:x\n\n"),
     .ev = {EV("message", "x", "")},
     .retry = {2000},
     .n_retry = 1},
    {.name = "retry: wpt format-field-retry-bogus: a non-digit makes it ignored",
     .in = B("retry:2000\nretry:1000x\ndata:x\n\n"),
     .ev = {EV("message", "x", "")},
     .retry = {2000},
     .n_retry = 1},
    {.name = "retry: wpt format-field-retry-empty: an empty value is ignored",
     .in = B("retry\ndata:test\n\nretry:\nretry: \n"),
     .ev = {EV("message", "test", "")}},
    {.name = "retry: one leading space is removed; any other non-digit is bogus",
     .in = B("retry: 10\nretry:  20\nretry:30 \nretry:-1\nretry:+5\nretry:1.5\nretry:0x10\n"
             "retry:\xD9\xA1\nretry:1\0\n"),
     .retry = {10},
     .n_retry = 1},
    {.name = "retry: huge values saturate at UINT64_MAX; 0 is valid",
     .in = B("retry:18446744073709551615\nretry:18446744073709551616\n"
             "retry:99999999999999999999999999999999\nretry:0\nretry:00000000000000000000000042\n"),
     .retry = {UINT64_MAX, UINT64_MAX, UINT64_MAX, 0, 42},
     .n_retry = 5},

    /* dispatch */
    {.name = "dispatch: an empty data buffer fires nothing and resets the type",
     .in = B("event:foo\n\ndata:x\n\n"),
     .ev = {EV("message", "x", "")}},
    {.name = "dispatch: only one trailing LF is removed",
     .in = B("data:a\ndata:\n\ndata:\ndata:\n\n"),
     .ev = {EV("message", "a\n", ""), EV("message", "\n", "")}},
    {.name = "dispatch: several blank lines dispatch once",
     .in = B("data:a\n\n\n\n\r\n\r"),
     .ev = {EV("message", "a", "")}},
    {.name = "dispatch: comments and unknown lines between fields do not dispatch",
     .in = B("data:a\n:c\nfoo\ndata:b\n\n"),
     .ev = {EV("message", "a\nb", "")},
     .comment = {B("c")}},

    /* end of stream */
    {.name = "end: wpt format-data-before-final-empty-line: unterminated event and its id dropped",
     .in = B("retry:1000\ndata:test1\n\nid:test\ndata:test2"),
     .ev = {EV("message", "test1", "")},
     .retry = {1000},
     .n_retry = 1},
    {.name = "end: an event whose last line ended but no blank line followed is dropped",
     .in = B("id:1\ndata:a\n\nid:9\ndata:b\n"),
     .ev = {EV("message", "a", "1")},
     .last_id = B("1")},

    /* bounds */
    {.name = "bound: a line of exactly max_event bytes is accepted",
     .in = B("data:12345678901\n\n:234567890123456\r\n"),
     .max_event = 16,
     .ev = {EV("message", "12345678901", "")},
     .comment = {B("234567890123456")}},
    {.name = "bound: a line of max_event + 1 bytes fails (a comment too)",
     .in = B("data:a\n\n:2345678901234567\ndata:b\n\n"),
     .max_event = 16,
     .ev = {EV("message", "a", "")},
     .rc = SSE_ERR_TOO_BIG},
    {.name = "bound: an unterminated line fails as soon as it exceeds max_event",
     .in = B("data:a\n\n:2345678901234567"),
     .max_event = 16,
     .ev = {EV("message", "a", "")},
     .rc = SSE_ERR_TOO_BIG},
    {.name = "bound: an event of exactly max_event bytes (data+LFs, type, id) is accepted",
     .in = B("event:abc\nid:de\ndata:12345\ndata:1234\n\n"),
     .max_event = 16,
     .ev = {EV("abc", "12345\n1234", "de")},
     .last_id = B("de")},
    {.name = "bound: an event of max_event + 1 bytes fails",
     .in = B("data:z\n\nevent:abc\nid:de\ndata:123456\ndata:1234\n\ndata:after\n\n"),
     .max_event = 16,
     .ev = {EV("message", "z", "")},
     .rc = SSE_ERR_TOO_BIG},
    {.name = "bound: the id buffer persists and counts toward later events",
     .in = B("id:12345\ndata:a\n\ndata:abcd\n\ndata:abcde\n\n"),
     .max_event = 10,
     .ev = {EV("message", "a", "12345"), EV("message", "abcd", "12345")},
     .last_id = B("12345"),
     .rc = SSE_ERR_TOO_BIG},
    {.name = "bound: the event size counts bytes after U+FFFD replacement",
     .in = B("data:\xFF\xFF\n\ndata:\xFF\xFF\xFF\n\n"),
     .max_event = 8,
     .ev = {EV("message", R R, "")},
     .rc = SSE_ERR_TOO_BIG},
    {.name = "bound: an id sent again and again counts once (lines far over max_event)",
     .in = B("id:1234\nid:1234\nid:1234\nid:1234\nid:1234\ndata:ab\n\n"),
     .max_event = 7,
     .ev = {EV("message", "ab", "1234")},
     .last_id = B("1234")},
    {.name = "bound: an event type sent again and again counts once",
     .in = B("event:abcd\nevent:abcd\nevent:abcd\nevent:abcd\ndata:ab\n\n"),
     .max_event = 10,
     .ev = {EV("abcd", "ab", "")}},
    {.name = "bound: data lines after repeated ids reach exactly max_event, then one more fails",
     .in = B("id:1234\nid:1234\ndata:a\ndata:b\ndata:c\n\n"
             "id:1234\nid:1234\ndata:a\ndata:b\ndata:c\ndata:d\n\n"),
     .max_event = 10,
     .ev = {EV("message", "a\nb\nc", "1234")},
     .last_id = B("1234"),
     .rc = SSE_ERR_TOO_BIG},
    {.name = "bound: a stripped BOM does not count toward the first line",
     .in = B("\xEF\xBB\xBF"
             "data:a\n\n"),
     .max_event = 6,
     .ev = {EV("message", "a", "")}},
    {.name = "bound: a stream ending inside a possible BOM has no line to bound",
     .in = B("\xEF\xBB"),
     .max_event = 1},
    {.name = "bound: the bytes of an incomplete BOM count toward the first line",
     .in = B("\xEF\xBB"
             "data\n\n"),
     .max_event = 5,
     .rc = SSE_ERR_TOO_BIG},
};

static void test_table_case(void **state)
{
    run_case(*state);
}

/* ---- cases built at run time ---------------------------------------------- */

/* wpt format-comments: comments between data lines, on every kind of line
 * end, two of them 2 KiB long. */
static void test_wpt_format_comments(void **state)
{
    (void)state;
    char x[2049];
    memset(x, 'x', 2048);
    x[2048] = '\0';
    buf_t in;
    buf_init(&in);
    buf_printf(&in, "data:1\r:");
    buf_putc(&in, '\0');
    buf_printf(&in, "\n:\r\ndata:2\n:%s\rdata:3\n:data:fail\r:%s\ndata:4\n\n", x, x);
    struct tcase c = {
        .name = "wpt format-comments",
        .in = {in.p, in.len},
        .ev = {EV("message", "1\n2\n3\n4", "")},
        .comment = {B("\0"), B(""), {x, 2048}, B("data:fail"), {x, 2048}},
    };
    run_case(&c);
    buf_free(&in);
}

/* The scanner works in 32-, 8- and 1-byte steps: a line end and a
 * non-ASCII byte must be found at every offset of every step. */
static void test_scan_every_offset_of_line_end_and_non_ascii(void **state)
{
    (void)state;
    buf_t in, want;
    buf_init(&in);
    buf_init(&want);
    for (size_t len = 0; len < 80; len++) {
        for (size_t bad = 0; bad <= len; bad++) {
            buf_reset(&in);
            buf_reset(&want);
            buf_puts(&in, "data:");
            for (size_t i = 0; i < len; i++) {
                bool b = i == bad;
                buf_putc(&in, b ? '\xFF' : (char)('a' + i % 26));
                if (b)
                    buf_puts(&want, R);
                else
                    buf_putc(&want, (char)('a' + i % 26));
            }
            buf_puts(&in, (len + bad) % 3 == 0   ? "\r\n\r\n"
                          : (len + bad) % 3 == 1 ? "\n\n"
                                                 : "\r\r");
            struct rec r;
            rec_init(&r, 0, false);
            char *exact = xmalloc(in.len); /* nothing readable past the end */
            memcpy(exact, in.p, in.len);
            size_t used;
            assert_int_equal(sse_parser_feed(r.p, exact, in.len, &used), SSE_OK);
            assert_int_equal(used, in.len);
            free(exact);
            buf_t exp;
            buf_init(&exp);
            put_event(&exp, "message", 7, want.p ? want.p : "", want.len, "", 0);
            expect_same("event", "whole", &exp, &r.events);
            buf_free(&exp);
            rec_free(&r);
        }
    }
    buf_free(&in);
    buf_free(&want);
}

/* ---- API behaviour beyond one stream ------------------------------------ */

#define ALL SIZE_MAX /* feed_str: every byte consumed */

/* Feeds a string from an exact-size copy; checks status and *consumed. */
static void feed_str(struct rec *r, const char *s, int want_rc, size_t want_used)
{
    size_t n = strlen(s), used = (size_t)-1;
    char *exact = xmalloc(n);
    memcpy(exact, s, n);
    assert_int_equal(sse_parser_feed(r->p, exact, n, &used), want_rc);
    assert_int_equal(used, want_used == ALL ? n : want_used);
    free(exact);
}

static void expect_events(struct rec *r, const char *want_escaped_free_text)
{
    /* want: "type|data|id;" per event, for plain-ASCII expectations. */
    buf_t want;
    buf_init(&want);
    const char *s = want_escaped_free_text;
    while (*s) {
        const char *bar1 = strchr(s, '|'), *bar2 = strchr(bar1 + 1, '|'), *semi = strchr(bar2, ';');
        put_event(&want, s, (size_t)(bar1 - s), bar1 + 1, (size_t)(bar2 - bar1 - 1), bar2 + 1,
                  (size_t)(semi - bar2 - 1));
        s = semi + 1;
    }
    expect_same("events", "api", &want, &r->events);
    buf_free(&want);
}

static void expect_last_id(struct rec *r, const char *want)
{
    size_t n;
    const char *id = sse_parser_last_id(r->p, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(id, want, n);
}

static void test_stop_consumed_ends_after_the_dispatching_lf(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, true);
    const char *in = "data:a\n\ndata:b\n\n:tail";
    feed_str(&r, in, SSE_STOP, 8);
    expect_events(&r, "message|a|;");
    feed_str(&r, in + 8, SSE_STOP, 8);
    expect_events(&r, "message|a|;message|b|;");
    feed_str(&r, in + 16, SSE_OK, ALL);
    rec_free(&r);
}

static void test_stop_consumed_includes_the_lf_of_a_crlf(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, true);
    feed_str(&r, "data:a\r\n\r\ndata:b\r\n\r\n", SSE_STOP, 10);
    feed_str(&r, "data:b\r\n\r\n", SSE_STOP, 10);
    expect_events(&r, "message|a|;message|b|;");
    rec_free(&r);
}

static void test_stop_on_cr_at_buffer_end_then_lf_is_its_tail(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, true);
    /* The dispatching CR is the last byte: consumed counts it, and the
     * stream resumes cleanly after the LF that completes it. */
    feed_str(&r, "data:a\r\r", SSE_STOP, 8);
    feed_str(&r, "\ndata:b\r\n", SSE_OK, ALL);
    feed_str(&r, "\r\n", SSE_STOP, 2);
    expect_events(&r, "message|a|;message|b|;");
    rec_free(&r);
}

static void test_stop_on_a_line_completed_from_a_held_partial_line(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, true);
    feed_str(&r, "data:a\n", SSE_OK, ALL);
    feed_str(&r, "\ndata:b\n\n", SSE_STOP, 1);
    feed_str(&r, "data:b\n\n", SSE_STOP, 8);
    expect_events(&r, "message|a|;message|b|;");
    rec_free(&r);
}

static void test_crlf_split_across_chunks_is_one_line_end(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "data:a\r", SSE_OK, ALL);
    feed_str(&r, "\ndata:b\r", SSE_OK, ALL);
    feed_str(&r, "\n\r", SSE_OK, ALL);
    feed_str(&r, "\n", SSE_OK, ALL);
    expect_events(&r, "message|a\nb|;");
    rec_free(&r);
}

static void test_bom_split_across_chunks_is_stripped(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "\xEF", SSE_OK, ALL);
    feed_str(&r,
             "\xBB\xBF"
             "data:a\n\n",
             SSE_OK, ALL);
    expect_events(&r, "message|a|;");
    rec_free(&r);

    rec_init(&r, 0, false);
    feed_str(&r, "\xEF", SSE_OK, ALL);
    feed_str(&r, "\xBB", SSE_OK, ALL);
    feed_str(&r, "\xBF", SSE_OK, ALL);
    feed_str(&r,
             "data:a\n\n\xEF\xBB\xBF"
             "data:b\n\n",
             SSE_OK, ALL);
    expect_events(&r, "message|a|;");
    rec_free(&r);
}

static void test_utf8_sequence_split_across_chunks_is_decoded_whole(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "data:\xF0", SSE_OK, ALL);
    feed_str(&r, "\x9F", SSE_OK, ALL);
    feed_str(&r, "\x98", SSE_OK, ALL);
    feed_str(&r, "\x80\n\n", SSE_OK, ALL);
    expect_events(&r, "message|\xF0\x9F\x98\x80|;");
    rec_free(&r);
}

static void test_end_discards_unterminated_event_and_resets_id_buffer(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "id:1\ndata:a\n\nid:9\ndata:b", SSE_OK, ALL);
    sse_parser_end(r.p);
    expect_last_id(&r, "1");
    /* The next stream's events carry "1", not the discarded "9". */
    feed_str(&r, "data:c\n\n", SSE_OK, ALL);
    expect_events(&r, "message|a|1;message|c|1;");
    rec_free(&r);

    /* Nor does the discarded id count toward the next event's size. */
    rec_init(&r, 16, false);
    feed_str(&r, "id:1\ndata:a\n\nid:123456789\n", SSE_OK, ALL);
    sse_parser_end(r.p);
    feed_str(&r, "data:0123456789\n\n", SSE_OK, ALL);
    expect_events(&r, "message|a|1;message|0123456789|1;");
    rec_free(&r);
}

static void test_restart_expects_a_bom_again(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r,
             "\xEF\xBB\xBF"
             "data:a\n\n",
             SSE_OK, ALL);
    sse_parser_restart(r.p);
    feed_str(&r,
             "\xEF\xBB\xBF"
             "data:b\n\n",
             SSE_OK, ALL);
    expect_events(&r, "message|a|;message|b|;");
    rec_free(&r);
}

static void test_restart_discards_pending_line_and_event(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "event:t\ndata:a\ndata:b", SSE_OK, ALL);
    sse_parser_restart(r.p);
    feed_str(&r, "\n\ndata:c\n\n", SSE_OK, ALL);
    expect_events(&r, "message|c|;");
    rec_free(&r);
}

static void test_restart_id_buffer_starts_from_last_event_id(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "id:1\ndata:a\n\nid:2\n", SSE_OK, ALL);
    sse_parser_restart(r.p);
    feed_str(&r, "data:b\n\n", SSE_OK, ALL);
    expect_events(&r, "message|a|1;message|b|1;");
    expect_last_id(&r, "1");
    rec_free(&r);
}

/* wpt format-field-id-2: after a reconnect the last event ID is what the
 * previous connection set, and events carry it. */
static void test_wpt_format_field_id_2_last_id_survives_reconnect(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    feed_str(&r, "id: \xE2\x80\xA6\nretry: 200\ndata: hello\n\n", SSE_OK, ALL);
    sse_parser_end(r.p);
    sse_parser_restart(r.p);
    expect_last_id(&r, "\xE2\x80\xA6");
    feed_str(&r, "data: \xE2\x80\xA6\n\n", SSE_OK, ALL);
    expect_events(&r, "message|hello|\xE2\x80\xA6;message|\xE2\x80\xA6|\xE2\x80\xA6;");
    rec_free(&r);
}

static void test_restart_recovers_from_too_big(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 8, false);
    feed_str(&r, "data:abcdefgh\n\n", SSE_ERR_TOO_BIG, 0);
    feed_str(&r, "data:a\n\n", SSE_ERR_TOO_BIG, 0);
    sse_parser_restart(r.p);
    feed_str(&r, "data:a\n\n", SSE_OK, ALL);
    expect_events(&r, "message|a|;");
    rec_free(&r);
}

static void test_set_last_id_is_carried_until_the_stream_sends_an_id(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 0, false);
    sse_parser_set_last_id(r.p, "abc", 3);
    expect_last_id(&r, "abc");
    feed_str(&r, "data:x\n\nid:d\ndata:y\n\nid\ndata:z\n\n", SSE_OK, ALL);
    expect_events(&r, "message|x|abc;message|y|d;message|z|;");
    expect_last_id(&r, "");
    rec_free(&r);
}

/* The default bound, 16 MiB, exactly: fed in 64 KiB chunks. */
static void test_max_event_zero_means_16_mib(void **state)
{
    (void)state;
    const size_t mib16 = (size_t)16 << 20;
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t n = mib16 + extra + 2; /* the line, then LF LF */
        char *in = xmalloc(n);
        memcpy(in, "data:", 5);
        memset(in + 5, 'a', mib16 + extra - 5);
        in[n - 2] = in[n - 1] = '\n';
        struct rec r;
        rec_init(&r, 0, false);
        int rc = SSE_OK;
        for (size_t off = 0; off < n && rc == SSE_OK; off += 65536)
            rc = sse_parser_feed(r.p, in + off, n - off < 65536 ? n - off : 65536, NULL);
        assert_int_equal(rc, extra ? SSE_ERR_TOO_BIG : SSE_OK);
        assert_int_equal(r.n_events, extra ? 0 : 1);
        rec_free(&r);
        free(in);
    }
}

/* A bound of SIZE_MAX means no bound: events of any size are accepted. */
static void test_max_event_size_max(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, SIZE_MAX, false);
    feed_str(&r, "id:7\nevent:e\ndata:x\ndata:y\n\n", SSE_OK, ALL);
    expect_events(&r, "e|x\ny|7;");
    rec_free(&r);
}

static void test_null_optional_callbacks_are_allowed(void **state)
{
    (void)state;
    sse_parser_callbacks_t cbs = {.on_event = NULL};
    sse_parser_t *p = sse_parser_new(0, &cbs, NULL);
    const char *in = ":c\nretry:5\ndata:x\n\n";
    size_t used;
    assert_int_equal(sse_parser_feed(p, in, strlen(in), &used), SSE_OK);
    assert_int_equal(used, strlen(in));
    sse_parser_free(p);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_wpt_format_comments),
        cmocka_unit_test(test_scan_every_offset_of_line_end_and_non_ascii),
        cmocka_unit_test(test_stop_consumed_ends_after_the_dispatching_lf),
        cmocka_unit_test(test_stop_consumed_includes_the_lf_of_a_crlf),
        cmocka_unit_test(test_stop_on_cr_at_buffer_end_then_lf_is_its_tail),
        cmocka_unit_test(test_stop_on_a_line_completed_from_a_held_partial_line),
        cmocka_unit_test(test_crlf_split_across_chunks_is_one_line_end),
        cmocka_unit_test(test_bom_split_across_chunks_is_stripped),
        cmocka_unit_test(test_utf8_sequence_split_across_chunks_is_decoded_whole),
        cmocka_unit_test(test_end_discards_unterminated_event_and_resets_id_buffer),
        cmocka_unit_test(test_restart_expects_a_bom_again),
        cmocka_unit_test(test_restart_discards_pending_line_and_event),
        cmocka_unit_test(test_restart_id_buffer_starts_from_last_event_id),
        cmocka_unit_test(test_wpt_format_field_id_2_last_id_survives_reconnect),
        cmocka_unit_test(test_restart_recovers_from_too_big),
        cmocka_unit_test(test_set_last_id_is_carried_until_the_stream_sends_an_id),
        cmocka_unit_test(test_max_event_zero_means_16_mib),
        cmocka_unit_test(test_max_event_size_max),
        cmocka_unit_test(test_null_optional_callbacks_are_allowed),
    };
    struct CMUnitTest tests[ARRAY_LEN(cases) + ARRAY_LEN(fixed)];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        tests[i] = (struct CMUnitTest){cases[i].name, test_table_case, NULL, NULL,
                                       (void *)(uintptr_t)&cases[i]};
    for (size_t i = 0; i < ARRAY_LEN(fixed); i++)
        tests[ARRAY_LEN(cases) + i] = fixed[i];
    return cmocka_run_group_tests_name("sse_parser", tests, NULL, NULL);
}
