/* libFuzzer target for src/proto/sse_parser.c.
 *
 * Input: 3 control bytes, then the stream.
 *   [0] bits 0-1 chunking (whole / bytes / fixed size / random sizes),
 *       bit 2 stop at events (on_event returns non-zero, feed resumes at
 *       *consumed), bit 3 a reconnect in the middle (end + restart),
 *       bits 4-7 the chunk size or the stop period;
 *   [1] 0x80 set: max_event = (low 7 bits) + 1, else the default 16 MiB;
 *   [2] where the reconnect splits the stream, and the random-split seed.
 *
 * Invariants, any failure abort()s:
 *   - whole feed and the chosen chunking give the same callbacks in the same
 *     order, the same final status and last event ID;
 *   - SSE_STOP comes right after an event that asked for it, with a consumed
 *     count that ends on a line end (the LF of a CRLF included if present);
 *     SSE_OK consumes everything;
 *   - each event's strings are NUL-terminated and its id is the last event ID;
 *   - with a data sink, the chosen chunking writes each event's data and an
 *     LF exactly as on_event would get them in a whole feed (short events
 *     never reach on_event), same status and last event ID;
 *   - the result equals a deliberately naive reference written straight from
 *     the spec: decode the whole stream first (the Encoding Standard's state
 *     machine, re-encoding code points), then split lines and interpret
 *     fields one character at a time; the bounds are checked the plain way
 *     (each raw line's length, the buffers' sizes after each line). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_parser.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the parser under test, recorded ---------------------------------- */

struct run {
    sse_parser_t *p;
    buf_t log;
    unsigned stop_every; /* 0: never stop */
    unsigned n_events;
    bool raw;  /* log only each event's data and an LF (listen -o raw) */
    bool sink; /* and with the parser's data sink: the log itself */
};

static void log_bytes(buf_t *b, const char *tag, const char *p, size_t n)
{
    buf_printf(b, "%s=%zu:", tag, n);
    buf_append(b, p, n);
    buf_putc(b, ' ');
}

static void log_event(buf_t *b, const char *t, size_t tn, const char *d, size_t dn, const char *i,
                      size_t in)
{
    buf_puts(b, "event ");
    log_bytes(b, "type", t, tn);
    log_bytes(b, "data", d, dn);
    log_bytes(b, "id", i, in);
    buf_putc(b, '\n');
}

static int on_event(void *ud, const sse_event_t *ev)
{
    struct run *r = ud;
    size_t lid_len;
    const char *lid = sse_parser_last_id(r->p, &lid_len);
    if (ev->id[ev->id_len])
        abort();
    if (ev->id_len != lid_len || memcmp(ev->id, lid, lid_len) != 0)
        abort();
    if (r->sink && ev->data_len <= SSE_SINK_MAX)
        abort(); /* the sink's to take */
    if (r->raw) {
        buf_append(&r->log, ev->data, ev->data_len);
        buf_putc(&r->log, '\n');
    } else {
        log_event(&r->log, ev->type, ev->type_len, ev->data, ev->data_len, ev->id, ev->id_len);
    }
    r->n_events++;
    return r->stop_every && r->n_events % r->stop_every == 0;
}

static void on_retry(void *ud, uint64_t ms)
{
    struct run *r = ud;
    buf_printf(&r->log, "retry %llu\n", (unsigned long long)ms);
}

static void on_comment(void *ud, const char *text, size_t len)
{
    struct run *r = ud;
    buf_puts(&r->log, "comment ");
    log_bytes(&r->log, "text", text, len);
    buf_putc(&r->log, '\n');
}

static const sse_parser_callbacks_t cbs = {on_event, on_retry, on_comment, NULL};

enum chunking { WHOLE, BYTES, FIXED, RANDOM };

static size_t next_len(enum chunking c, unsigned param, uint64_t *seed, size_t left)
{
    size_t n;
    switch (c) {
    case WHOLE:
        return left;
    case BYTES:
        n = 1;
        break;
    case FIXED:
        n = param + 1;
        break;
    default:
        *seed = *seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
        n = (size_t)(*seed >> 59); /* 0..31: empty feeds included */
        break;
    }
    return n < left ? n : left;
}

/* Feeds one stream; returns the last status. */
static int feed_stream(struct run *r, const uint8_t *in, size_t n, enum chunking c, unsigned param,
                       uint64_t seed)
{
    size_t off = 0;
    int rc = SSE_OK;
    do {
        size_t len = next_len(c, param, &seed, n - off);
        /* Exact-size copy: ASan sees any read past what was given. */
        char *chunk = xmalloc(len);
        if (len)
            memcpy(chunk, in + off, len);
        size_t pos = 0;
        for (;;) {
            size_t used = SIZE_MAX;
            unsigned before = r->n_events;
            rc = sse_parser_feed(r->p, chunk + pos, len - pos, &used);
            if (rc == SSE_OK && used != len - pos)
                abort();
            if (rc != SSE_STOP)
                break;
            /* Stopped right at an event that asked for it. */
            if (!r->stop_every || r->n_events == before || r->n_events % r->stop_every != 0 ||
                used == 0 || used > len - pos)
                abort();
            char last = chunk[pos + used - 1];
            if (last != '\n' && last != '\r')
                abort();
            if (last == '\r' && used < len - pos && chunk[pos + used] == '\n')
                abort(); /* the LF of a present CRLF belongs to consumed */
            pos += used;
        }
        free(chunk);
        off += len;
    } while (off < n && rc == SSE_OK);
    return rc;
}

/* The whole input as one or two streams; the log ends with status and id. */
static void run_parser(struct run *r, const uint8_t *in, size_t n, size_t split, size_t max_event,
                       enum chunking c, unsigned param, uint64_t seed)
{
    buf_init(&r->log);
    sse_parser_callbacks_t cb = cbs;
    if (r->sink)
        cb.data_sink = &r->log;
    r->p = sse_parser_new(max_event, &cb, r);
    int rc = feed_stream(r, in, split, c, param, seed);
    if (rc != SSE_ERR_TOO_BIG && split < n) {
        sse_parser_end(r->p);
        sse_parser_restart(r->p);
        buf_puts(&r->log, "reconnect\n");
        rc = feed_stream(r, in + split, n - split, c, param, seed);
    }
    if (rc == SSE_ERR_TOO_BIG && sse_parser_feed(r->p, "\n", 1, NULL) != SSE_ERR_TOO_BIG)
        abort();
    sse_parser_end(r->p);
    size_t lid_len;
    const char *lid = sse_parser_last_id(r->p, &lid_len);
    buf_printf(&r->log, "rc %d ", rc);
    log_bytes(&r->log, "last-id", lid, lid_len);
    /* After end() the parser takes a stream again, even after an error (a
     * blank line: nothing is pending, so no callback disturbs the log). */
    if (sse_parser_feed(r->p, "\n", 1, NULL) != SSE_OK)
        abort();
    sse_parser_free(r->p);
}

/* ---- the reference ------------------------------------------------------ */

static void put_cp(buf_t *b, uint32_t cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xC0 | cp >> 6));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xE0 | cp >> 12));
        buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        buf_putc(b, (char)(0xF0 | cp >> 18));
        buf_putc(b, (char)(0x80 | (cp >> 12 & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Encoding Standard "UTF-8 decode": BOM skipped, then the decoder. */
static void ref_decode(const uint8_t *in, size_t n, buf_t *out)
{
    size_t i = 0;
    unsigned needed = 0, seen = 0;
    uint8_t lower = 0x80, upper = 0xBF;
    uint32_t cp = 0;
    if (n >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF)
        i = 3;
    while (i < n) {
        uint8_t b = in[i];
        if (needed == 0) {
            i++;
            if (b <= 0x7F) {
                put_cp(out, b);
            } else if (b >= 0xC2 && b <= 0xDF) {
                needed = 1;
                cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0)
                    lower = 0xA0;
                if (b == 0xED)
                    upper = 0x9F;
                needed = 2;
                cp = b & 0xF;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0)
                    lower = 0x90;
                if (b == 0xF4)
                    upper = 0x8F;
                needed = 3;
                cp = b & 0x7;
            } else {
                put_cp(out, 0xFFFD);
            }
            continue;
        }
        if (b < lower || b > upper) {
            /* Error; the byte is processed again ("prepended"). */
            cp = needed = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            put_cp(out, 0xFFFD);
            continue;
        }
        i++;
        lower = 0x80;
        upper = 0xBF;
        cp = cp << 6 | (b & 0x3F);
        if (++seen == needed) {
            put_cp(out, cp);
            cp = needed = seen = 0;
        }
    }
    if (needed)
        put_cp(out, 0xFFFD);
}

struct ref {
    buf_t data, type, id, last_id;
    buf_t *log;
    size_t max;
};

static bool str_is(const char *p, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

static void ref_line(struct ref *r, const char *l, size_t n)
{
    if (n == 0) {
        buf_reset(&r->last_id);
        buf_append(&r->last_id, r->id.p, r->id.len);
        if (r->data.len == 0) {
            buf_reset(&r->type);
            return;
        }
        r->data.len--;
        log_event(r->log, r->type.len ? r->type.p : "message", r->type.len ? r->type.len : 7,
                  r->data.p, r->data.len, r->last_id.p, r->last_id.len);
        buf_reset(&r->data);
        buf_reset(&r->type);
        return;
    }
    if (l[0] == ':') {
        buf_puts(r->log, "comment ");
        log_bytes(r->log, "text", l + 1, n - 1);
        buf_putc(r->log, '\n');
        return;
    }
    size_t name_len = n, vi = n;
    for (size_t i = 0; i < n; i++) {
        if (l[i] == ':') {
            name_len = i;
            vi = i + 1;
            if (vi < n && l[vi] == ' ')
                vi++;
            break;
        }
    }
    const char *v = l + vi;
    size_t vn = n - vi;
    if (str_is(l, name_len, "event")) {
        buf_reset(&r->type);
        buf_append(&r->type, v, vn);
    } else if (str_is(l, name_len, "data")) {
        buf_append(&r->data, v, vn);
        buf_putc(&r->data, '\n');
    } else if (str_is(l, name_len, "id")) {
        for (size_t i = 0; i < vn; i++)
            if (v[i] == '\0')
                return;
        buf_reset(&r->id);
        buf_append(&r->id, v, vn);
    } else if (str_is(l, name_len, "retry") && vn > 0) {
        uint64_t ms = 0;
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9')
                return;
            unsigned d = (unsigned)(v[i] - '0');
            ms = ms > (UINT64_MAX - d) / 10 ? UINT64_MAX : ms * 10 + d;
        }
        buf_printf(r->log, "retry %llu\n", (unsigned long long)ms);
    }
}

/* Length of the raw line starting at in[i], *next = where the next starts
 * (n when the line is unterminated). */
static size_t raw_line(const uint8_t *in, size_t n, size_t i, size_t *next)
{
    size_t j = i;
    while (j < n && in[j] != '\r' && in[j] != '\n')
        j++;
    if (j == n)
        *next = n;
    else
        *next = j + 1 + (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n');
    return j - i;
}

static int ref_stream(struct ref *r, const uint8_t *in, size_t n)
{
    buf_t t;
    buf_init(&t);
    ref_decode(in, n, &t);
    /* CR and LF decode to themselves and nothing else decodes to them, so
     * the k-th decoded line is the k-th raw line (BOM excluded). */
    size_t raw = n >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF ? 3 : 0;
    int rc = SSE_OK;
    /* A stream starts with empty buffers but the id carried over. */
    buf_reset(&r->data);
    buf_reset(&r->type);
    buf_reset(&r->id);
    buf_append(&r->id, r->last_id.p, r->last_id.len);
    size_t i = 0;
    while (i < t.len) {
        size_t j = i;
        while (j < t.len && t.p[j] != '\r' && t.p[j] != '\n')
            j++;
        if (j == t.len)
            break; /* unterminated: never interpreted */
        size_t next;
        if (raw_line(in, n, raw, &next) > r->max) {
            rc = SSE_ERR_TOO_BIG;
            break;
        }
        raw = next;
        ref_line(r, t.p + i, j - i);
        if (r->data.len + r->type.len + r->id.len > r->max) {
            rc = SSE_ERR_TOO_BIG;
            break;
        }
        if (t.p[j] == '\r' && j + 1 < t.len && t.p[j + 1] == '\n')
            j++;
        i = j + 1;
    }
    /* An unterminated line fails once too long; but a stream that is all a
     * prefix of the BOM (EF, EF BB) had no line yet: those bytes were still
     * waiting to be told apart from a BOM when it ended. */
    size_t next;
    bool bom_prefix = n < 3 && memcmp(in, "\xEF\xBB", n) == 0;
    if (rc == SSE_OK && raw < n && !bom_prefix && raw_line(in, n, raw, &next) > r->max)
        rc = SSE_ERR_TOO_BIG;
    buf_free(&t);
    return rc;
}

static void run_ref(buf_t *log, const uint8_t *in, size_t n, size_t split, size_t max_event)
{
    struct ref r;
    buf_init(&r.data);
    buf_init(&r.type);
    buf_init(&r.id);
    buf_init(&r.last_id);
    buf_init(log);
    r.log = log;
    r.max = max_event ? max_event : (size_t)16 << 20;
    int rc = ref_stream(&r, in, split);
    if (rc == SSE_OK && split < n) {
        buf_puts(log, "reconnect\n");
        rc = ref_stream(&r, in + split, n - split);
    }
    buf_printf(log, "rc %d ", rc);
    log_bytes(log, "last-id", r.last_id.p, r.last_id.len);
    buf_free(&r.data);
    buf_free(&r.type);
    buf_free(&r.id);
    buf_free(&r.last_id);
}

/* Aborts, showing both transcripts, unless they are equal. */
static void expect_same(const char *what, const buf_t *a, const buf_t *b)
{
    if (a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0))
        return;
    fprintf(stderr, "sse_parser fuzz: %s differ\n--- whole feed:\n", what);
    fwrite(a->p, 1, a->len, stderr);
    fprintf(stderr, "\n--- other:\n");
    fwrite(b->p, 1, b->len, stderr);
    fprintf(stderr, "\n");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    enum chunking c = (enum chunking)(data[0] & 3);
    bool stop = data[0] & 4, reconnect = data[0] & 8;
    unsigned param = data[0] >> 4;
    size_t max_event = data[1] & 0x80 ? (size_t)(data[1] & 0x7F) + 1 : 0;
    const uint8_t *in = data + 3;
    size_t n = size - 3;
    size_t split = reconnect && n ? (size_t)data[2] % (n + 1) : n;
    uint64_t seed = data[2] | (uint64_t)data[0] << 8;

    struct run whole = {.stop_every = 0}, chunked = {.stop_every = stop ? param % 4 + 1 : 0};
    struct run raw = {.raw = true}, sink = {.stop_every = chunked.stop_every, .raw = true,
                                            .sink = true};
    buf_t ref;
    run_parser(&whole, in, n, split, max_event, WHOLE, 0, 0);
    run_parser(&chunked, in, n, split, max_event, c, param, seed);
    run_parser(&raw, in, n, split, max_event, WHOLE, 0, 0);
    run_parser(&sink, in, n, split, max_event, c, param, seed);
    run_ref(&ref, in, n, split, max_event);
    expect_same("on_event and the data sink", &raw.log, &sink.log);
    expect_same("whole and chunked feeds", &whole.log, &chunked.log);
    expect_same("parser and reference", &whole.log, &ref);
    buf_free(&ref);
    buf_free(&whole.log);
    buf_free(&chunked.log);
    buf_free(&raw.log);
    buf_free(&sink.log);
    return 0;
}
