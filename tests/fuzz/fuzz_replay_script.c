/* libFuzzer target for src/proto/replay_script.c: a recording file, as
 * `evcat bench --replay FILE` reads it, built into the script every
 * connection plays, with templates expanded.
 *
 * Input: one byte of options (bit 0 --template, bit 1 --expect, bit 2
 * --no-timing, bit 3 --speed 0.5, bits 4-7 a connection number's digits),
 * then the recording text (an exact-size copy, so ASan sees reads past the
 * end).
 *
 * Invariants, any failure abort()s:
 *   - a refused build has a one-line reason naming the line (or the SSE
 *     recording);
 *   - every outgoing message is due no earlier than the one before, its
 *     {{seq}} counts the text and binary messages, and its expansion for
 *     the largest connection and sequence numbers stays within max_out and
 *     max_message; an untemplated one expands to itself;
 *   - every expected message's "after" is a text or binary outgoing message
 *     before it in time, or none;
 *   - a connection that sends everything and gets back exactly the expected
 *     messages (expanded for its number) has no difference and misses
 *     nothing; one more message is a difference, counted once;
 *   - the content hash is a function of the recording. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"
#include "replay_script.h"
#include "ws_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 4096

#define CHECK(c)                                                                                  \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__);                        \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

static void check_outs(const replay_script_t *s)
{
    uint32_t seq = 0;
    uint64_t last = 0;
    buf_t b;
    buf_init(&b);
    for (size_t i = 0; i < s->nouts; i++) {
        const replay_out_t *m = &s->outs[i];
        CHECK(m->at_ns >= last);
        last = m->at_ns;
        CHECK(m->type == WS_TEXT || m->type == WS_BINARY || m->type == WS_PING);
        CHECK(m->seq == (m->type == WS_PING ? 0 : ++seq));
        CHECK(m->len <= (m->type == WS_PING ? 125u : (size_t)MAX_MESSAGE));
        CHECK(m->len <= s->max_out);
        CHECK(!m->tmpl || (s->tmpl && m->type == WS_TEXT));
        buf_reset(&b);
        size_t n = replay_expand(&b, m->data, m->len, UINT64_MAX, UINT32_MAX);
        CHECK(n == b.len);
        if (m->tmpl)
            CHECK(n <= s->max_out && n > 0);
        else if (s->tmpl && m->type == WS_TEXT)
            CHECK(n == m->len && memcmp(b.p, m->data, n) == 0); /* no field in it */
    }
    buf_free(&b);
}

static void check_ins(const replay_script_t *s)
{
    for (size_t k = 0; k < s->nins; k++) {
        const replay_in_t *e = &s->ins[k];
        CHECK(e->type == WS_TEXT || e->type == WS_BINARY);
        CHECK(!e->tmpl || (s->tmpl && s->expect && e->type == WS_TEXT));
        if (e->after != UINT32_MAX) {
            CHECK(e->after < s->nouts);
            CHECK(s->outs[e->after].type != WS_PING);
        }
        CHECK(k == 0 || s->ins[k - 1].after == UINT32_MAX || e->after != UINT32_MAX);
        CHECK(k == 0 || e->after == UINT32_MAX || s->ins[k - 1].after == UINT32_MAX ||
              e->after >= s->ins[k - 1].after);
    }
}

/* A connection that gets back exactly what is expected. */
static void converse(const replay_script_t *s, uint64_t conn)
{
    replay_cursor_t c;
    replay_cursor_start(&c, 1000);
    uint64_t next;
    size_t sent = 0;
    while (replay_cursor_due(s, &c, UINT64_MAX - 1, &next)) {
        c.next_out++;
        sent++;
    }
    CHECK(sent == s->nouts && next == UINT64_MAX);
    buf_t want, tmp;
    buf_init(&want);
    buf_init(&tmp);
    replay_verdict_t v;
    for (size_t k = 0; k < s->nins; k++) {
        const replay_in_t *e = &s->ins[k];
        buf_reset(&want);
        if (e->tmpl)
            replay_expand(&want, e->data, e->len, conn,
                          e->after == UINT32_MAX ? 0 : s->outs[e->after].seq);
        else
            buf_append(&want, e->data, e->len);
        CHECK(want.len <= s->max_in || !s->expect);
        replay_cursor_incoming(s, &c, conn, e->type, want.p ? want.p : "", want.len, 2000, &tmp,
                               &v);
        CHECK(!v.differs && v.timed && v.number == k + 1);
    }
    CHECK(!replay_cursor_missing(s, &c));
    replay_cursor_incoming(s, &c, conn, WS_TEXT, "x", 1, 3000, &tmp, &v);
    CHECK(v.differs == s->expect && !v.timed);
    if (v.differs) {
        buf_t line;
        buf_init(&line);
        replay_line_differs(&line, s, conn, &v, WS_TEXT, "x", 1);
        CHECK(line.len > 0 && !memchr(line.p, '\n', line.len));
        buf_free(&line);
    }
    replay_cursor_incoming(s, &c, conn, WS_TEXT, "y", 1, 3000, &tmp, &v);
    CHECK(!v.differs);
    buf_free(&want);
    buf_free(&tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    char *text = malloc(size - 1 ? size - 1 : 1);
    if (size > 1)
        memcpy(text, data + 1, size - 1);
    recording_t r;
    char err[256] = "";
    if (rec_parse(text, size - 1, MAX_MESSAGE, &r, err, sizeof(err)) < 0) {
        free(text);
        return 0;
    }
    const char *on_open[] = {"hello {{conn}}"};
    replay_script_opts_t o = {
        .speed = flags & 8 ? 0.5 : 1,
        .no_timing = flags & 4,
        .expect = flags & 2,
        .tmpl = flags & 1,
        .on_open = on_open,
        .non_open = flags & 16 ? 1 : 0,
        .max_message = MAX_MESSAGE,
    };
    replay_script_t s;
    if (replay_script_build(&s, &r, &o, err, sizeof(err)) < 0) {
        CHECK(strncmp(err, "line ", 5) == 0 || strncmp(err, "an SSE recording", 16) == 0);
        CHECK(!strchr(err, '\n'));
    } else {
        CHECK(r.proto == REC_WS);
        CHECK(s.content_hash == replay_script_hash(&r));
        CHECK(s.max_out <= MAX_MESSAGE && s.max_in <= MAX_MESSAGE);
        check_outs(&s);
        check_ins(&s);
        uint64_t conn = (uint64_t)(flags >> 5) * 1234567u;
        converse(&s, conn);
        converse(&s, UINT64_MAX);
    }
    replay_script_free(&s);
    rec_free(&r);
    free(text);
    return 0;
}
