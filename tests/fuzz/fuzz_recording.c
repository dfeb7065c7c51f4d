/* libFuzzer target for src/proto/recording.c's reader.
 *
 * Input: a recording file, parsed by rec_parse from an exact-size copy (so
 * ASan sees any read past the end: the text need not be NUL-terminated).
 *
 * Invariants, any failure abort()s:
 *   - a refusal has a message that names its line ("line N: ...") and leaves
 *     the recording empty;
 *   - an accepted recording obeys what recording.h promises: t >= 0 and not
 *     decreasing, payloads within max_message, known WebSocket types, text
 *     that is UTF-8, SSE event and id set;
 *   - written again the way the writer writes (event_json_* plus "t") and
 *     parsed again, it is the same recording, message for message. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"
#include "recording.h"
#include "buf.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 4096

#define CHECK(c)                                                                                  \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__);                        \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

static void check_valid(const recording_t *r)
{
    CHECK(r->url && r->started);
    double last = 0;
    for (size_t i = 0; i < r->nmsgs; i++) {
        const rec_msg_t *m = &r->msgs[i];
        CHECK(isfinite(m->t) && m->t >= 0 && m->t >= last);
        last = m->t;
        CHECK(m->data && m->data[m->len] == '\0');
        CHECK(m->len <= MAX_MESSAGE);
        if (r->proto == REC_SSE) {
            CHECK(m->in && m->type == 0 && m->event && m->id && m->event[0]);
            CHECK(utf8_valid(m->data, m->len));
        } else {
            CHECK(m->type == 1 || m->type == 2 || m->type == 8 || m->type == 9 || m->type == 10);
            CHECK(!m->event && !m->id);
            if (m->type == 1)
                CHECK(utf8_valid(m->data, m->len));
            if (m->type == 9 || m->type == 10)
                CHECK(m->len <= 125);
            if (m->type == 8)
                CHECK(m->len <= 123);
        }
    }
}

static void write_again(const recording_t *r, buf_t *b)
{
    buf_puts(b, "{\"evcat_recording\":1,\"url\":");
    json_quote(b, r->url, strlen(r->url));
    buf_puts(b, r->proto == REC_WS ? ",\"proto\":\"ws\",\"started\":" : ",\"proto\":\"sse\",\"started\":");
    json_quote(b, r->started, strlen(r->started));
    buf_puts(b, "}\n");
    for (size_t i = 0; i < r->nmsgs; i++) {
        const rec_msg_t *m = &r->msgs[i];
        if (r->proto == REC_SSE) {
            sse_event_t ev = {m->event, strlen(m->event), m->data, m->len, m->id, strlen(m->id)};
            event_json_sse(b, &ev, 0);
        } else {
            event_json_ws(b, m->in, m->type, m->data, m->len, m->code, 0);
        }
        buf_printf(b, ",\"t\":%.17g}\n", m->t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (size)
        memcpy(text, data, size);
    recording_t r;
    char err[256] = "";
    if (rec_parse(text, size, MAX_MESSAGE, &r, err, sizeof(err)) < 0) {
        CHECK(strncmp(err, "line ", 5) == 0);
        CHECK(r.nmsgs == 0 && !r.msgs && !r.url);
        free(text);
        return 0;
    }
    check_valid(&r);
    buf_t b;
    buf_init(&b);
    write_again(&r, &b);
    recording_t r2;
    int rc = rec_parse(b.p, b.len, MAX_MESSAGE, &r2, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "written again, refused: %s\n", err);
    CHECK(rc == 0);
    CHECK(!r2.truncated);
    CHECK(r2.proto == r.proto && r2.nmsgs == r.nmsgs);
    CHECK(strcmp(r2.url, r.url) == 0 && strcmp(r2.started, r.started) == 0);
    for (size_t i = 0; i < r.nmsgs; i++) {
        const rec_msg_t *a = &r.msgs[i], *c = &r2.msgs[i];
        CHECK(a->t == c->t && a->in == c->in && a->type == c->type && a->len == c->len);
        CHECK(memcmp(a->data, c->data, a->len) == 0);
        if (r.proto == REC_WS && a->type == 8)
            CHECK(a->code == c->code);
        if (r.proto == REC_SSE)
            CHECK(strcmp(a->event, c->event) == 0 && strcmp(a->id, c->id) == 0);
    }
    rec_free(&r2);
    rec_free(&r);
    buf_free(&b);
    free(text);
    return 0;
}
