/* sse_parser: WHATWG "interpreting an event stream", incrementally.
 *
 * How it stays fast: a complete line is handled where it lies in the
 * caller's buffer; only the unfinished line at the end of a chunk is copied
 * (into p->line). One pass over each line finds its end (CR or LF, 32 bytes
 * at a time with SSE2) and notes whether it holds a byte >= 0x80; an all-ASCII value
 * is valid UTF-8 as it stands and is memcpy'd straight into its buffer, so
 * the UTF-8 decoder only runs on lines that need it.
 *
 * Why decoding per line is the same as decoding the stream first (as the
 * spec does): CR, LF and ':' are ASCII, which can never continue a multi-byte
 * sequence, so the decoder would end any sequence open before them with
 * U+FFFD exactly as decoding the line with its end as end of input does. A
 * sequence split across chunks is whole by the time its line is decoded.
 *
 * Bounds (max_event): a line may be at most max_event bytes, not counting
 * its line end; the data (each value + LF, after U+FFFD replacement), type
 * and id buffers together at most max_event bytes. Past either, feed returns
 * SSE_ERR_TOO_BIG and keeps returning it until restart() or end(). The
 * outcome depends only on the bytes, never on how they were chunked (bytes
 * that may still be a BOM are not yet part of a line). On that error
 * *consumed is where it stopped: before this feed's bytes of a line too
 * long, or after the line that made an event too big.
 *
 * Callbacks may read the parser (sse_parser_last_id) but must not feed,
 * end, restart or free it. */
#include "sse_parser.h"
#include "buf.h"
#include "text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define DEFAULT_MAX_EVENT ((size_t)16 << 20)
/* Buffers up to this size are kept between events whatever happens: below
 * it, a free and a later malloc would cost more than the memory saves. */
#define KEEP_FLOOR ((size_t)64 << 10)

/* p->bom counts BOM bytes matched at stream start; BOM_DONE once the stream
 * is past the place where a BOM may be. */
enum { BOM_DONE = 3 };
static const unsigned char bom_bytes[3] = {0xEF, 0xBB, 0xBF};
static const char replacement[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

struct sse_parser {
    sse_parser_callbacks_t cb;
    void *ud;
    size_t max; /* max_event, 0 already replaced by the default */

    buf_t line;   /* owned: raw bytes of an unfinished line carried between feeds */
    bool line_hi; /* line holds a byte >= 0x80 (it needs the UTF-8 decoder) */
    bool cr;      /* the last line ended with CR: an LF first in the next feed is its tail */
    unsigned bom; /* see BOM_DONE */
    bool broken;  /* SSE_ERR_TOO_BIG was returned; only end/restart clear it */

    buf_t data;    /* owned: data buffer, every value followed by LF */
    buf_t type;    /* owned: event type buffer */
    buf_t id;      /* owned: last event ID buffer */
    bool id_dirty; /* id changed since it was last copied to last_id */
    buf_t last_id; /* owned: last event ID string */
    buf_t scratch; /* owned: a decoded comment */

    size_t typical; /* moving average of event sizes: what "much larger" means */
};

/* ---- scanning ---------------------------------------------------------- */

/* Returns the first CR or LF in [s, end), or end; sets *hi when a byte >= 0x80
 * comes before it (leaves it alone otherwise). Never reads outside [s, end). */
static inline const char *scan_eol(const char *s, const char *end, bool *hi)
{
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    __m128i seen = _mm_setzero_si128();
    while (end - s >= 32) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
        __m128i ea = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
        __m128i eb = _mm_or_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(b, lf));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(ea, eb));
        if (m) {
            uint32_t ends = (uint32_t)_mm_movemask_epi8(ea) | (uint32_t)_mm_movemask_epi8(eb) << 16;
            uint32_t high = (uint32_t)_mm_movemask_epi8(a) | (uint32_t)_mm_movemask_epi8(b) << 16;
            unsigned k = (unsigned)__builtin_ctz(ends);
            if ((high & ((1u << k) - 1)) || _mm_movemask_epi8(seen))
                *hi = true;
            return s + k;
        }
        seen = _mm_or_si128(seen, _mm_or_si128(a, b));
        s += 32;
    }
    if (_mm_movemask_epi8(seen))
        *hi = true;
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Word at a time: the SSE2 loop's tail, and the whole scan elsewhere.
     * (x - 0x01..) & ~x & 0x80.. marks a zero byte of x; its lowest mark is
     * exact (a false one can only sit above a true one), which is all the
     * first-line-end search needs. */
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t seen64 = 0;
    while (end - s >= 8) {
        uint64_t w, x, y;
        memcpy(&w, s, 8);
        x = w ^ (ones * '\n');
        y = w ^ (ones * '\r');
        uint64_t t = (((x - ones) & ~x) | ((y - ones) & ~y)) & highs;
        if (t) {
            unsigned k = (unsigned)__builtin_ctzll(t) / 8;
            if ((w & highs & ((UINT64_C(1) << (8 * k)) - 1)) || (seen64 & highs))
                *hi = true;
            return s + k;
        }
        seen64 |= w;
        s += 8;
    }
    if (seen64 & highs)
        *hi = true;
#endif
    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\r')
            return s;
        if (c & 0x80)
            *hi = true;
    }
    return end;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* The Encoding Standard's UTF-8 decoder on the sequence starting at u[0]
 * (a byte >= 0x80), n > 0 bytes available, the input ending after them.
 * Returns true with *len = its length when valid; false with *len = the
 * maximal subpart to replace by one U+FFFD (the decoder "prepends" the
 * byte that broke the sequence, so that byte is not part of it). */
static bool utf8_seq(const unsigned char *u, size_t n, size_t *len)
{
    unsigned char c = u[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        *len = 1;
        return false;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || u[k] < lo || u[k] > hi) {
            *len = k;
            return false;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *len = need + 1;
    return true;
}

/* Index of the first byte >= 0x80 in u[i..n), or n. */
static inline size_t skip_ascii(const unsigned char *u, size_t i, size_t n)
{
#if defined(__SSE2__)
    while (n - i >= 16) {
        unsigned m =
            (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(u + i)));
        if (m)
            return i + (unsigned)__builtin_ctz(m);
        i += 16;
    }
#endif
    uint64_t w;
    while (n - i >= 8 && (memcpy(&w, u + i, 8), (w & 0x8080808080808080u) == 0))
        i += 8;
    while (i < n && u[i] < 0x80)
        i++;
    return i;
}

/* Appends s[0..n) to b decoded as UTF-8: valid text unchanged, each maximal
 * invalid subpart as one U+FFFD. */
static void utf8_append(buf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* [run, i) is valid and not yet appended */
    while (i < n) {
        if (u[i] < 0x80) {
            i = skip_ascii(u, i, n);
            continue;
        }
        size_t len;
        if (utf8_seq(u + i, n - i, &len)) {
            i += len;
            continue;
        }
        buf_append(b, s + run, i - run);
        buf_append(b, replacement, sizeof replacement);
        i += len;
        run = i;
    }
    buf_append(b, s + run, n - run);
}

/* Replaces b's content with the value, decoding only when it must. */
static void set_text(buf_t *b, const char *v, size_t n, bool hi)
{
    buf_reset(b);
    if (hi)
        utf8_append(b, v, n);
    else
        buf_append(b, v, n);
}

/* ---- fields and dispatch ------------------------------------------------ */

static size_t event_size(const sse_parser_t *p)
{
    return p->data.len + p->type.len + p->id.len;
}

/* Gives back a buffer's memory once it is far above what events here
 * usually need: one huge event should not pin its peak for the life of
 * the connection. */
static void trim(buf_t *b, size_t keep)
{
    if (b->cap <= keep || b->cap / 4 <= b->len)
        return;
    if (b->len == 0) {
        buf_free(b);
    } else {
        b->p = xrealloc(b->p, b->len + 1);
        b->cap = b->len + 1;
    }
}

static size_t keep_size(const sse_parser_t *p)
{
    return p->typical > KEEP_FLOOR / 4 ? p->typical * 4 : KEEP_FLOOR;
}

/* Runs after every event, so the usual case (nothing big) is one test: an
 * OR of the capacities exceeds KEEP_FLOOR whenever one of them does. */
static void trim_all(sse_parser_t *p)
{
    if ((p->line.cap | p->data.cap | p->type.cap | p->id.cap | p->last_id.cap | p->scratch.cap) <=
        KEEP_FLOOR)
        return;
    size_t keep = keep_size(p);
    trim(&p->line, keep);
    trim(&p->data, keep);
    trim(&p->type, keep);
    trim(&p->id, keep);
    trim(&p->last_id, keep);
    trim(&p->scratch, keep);
}

static int dispatch(sse_parser_t *p)
{
    if (p->id_dirty) {
        set_text(&p->last_id, p->id.p, p->id.len, false);
        p->id_dirty = false;
    }
    if (p->data.len == 0) {
        buf_reset(&p->type);
        return SSE_OK;
    }
    size_t size = event_size(p);
    p->data.p[--p->data.len] = '\0'; /* the trailing LF */
    sse_event_t ev = {
        .type = p->type.len ? p->type.p : "message",
        .type_len = p->type.len ? p->type.len : 7,
        .data = p->data.p,
        .data_len = p->data.len,
        .id = p->last_id.p ? p->last_id.p : "",
        .id_len = p->last_id.len,
    };
    int stop = p->cb.on_event ? p->cb.on_event(p->ud, &ev) : 0;
    buf_reset(&p->data);
    buf_reset(&p->type);
    /* A moving average over about the last 8 events, from 0: the first
     * few large events of a stream of large events may each cost one
     * malloc, one huge event among small ones is forgotten soon. */
    p->typical = p->typical - p->typical / 8 + size / 8;
    trim_all(p);
    return stop ? SSE_STOP : SSE_OK;
}

/* Is the line field `name` (k bytes)? Then *v, *vn = its value, one leading
 * space removed. Names are compared as bytes: a name the decoder would
 * change (invalid UTF-8) cannot equal an ASCII one either way. */
static inline bool field(const char *s, size_t n, const char *name, size_t k, const char **v,
                         size_t *vn)
{
    if (n < k || memcmp(s, name, k) != 0 || (n > k && s[k] != ':'))
        return false;
    if (n == k) {
        *v = s + k;
        *vn = 0;
        return true;
    }
    s += k + 1;
    n -= k + 1;
    if (n && *s == ' ') {
        s++;
        n--;
    }
    *v = s;
    *vn = n;
    return true;
}

static void retry(sse_parser_t *p, const char *v, size_t n)
{
    uint64_t ms = 0;
    if (n == 0 || !p->cb.on_retry)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)v[i] - (unsigned)'0';
        if (d > 9)
            return;
        ms = ms > (UINT64_MAX - d) / 10 ? UINT64_MAX : ms * 10 + d;
    }
    p->cb.on_retry(p->ud, ms);
}

/* One line, without its line end; hi: it holds a byte >= 0x80. */
static int process_line(sse_parser_t *p, const char *s, size_t n, bool hi)
{
    const char *v;
    size_t vn;
    if (n == 0)
        return dispatch(p);
    switch (s[0]) {
    case 'd':
        if (!field(s, n, "data", 4, &v, &vn))
            return SSE_OK;
        if (hi) {
            utf8_append(&p->data, v, vn);
            buf_putc(&p->data, '\n');
        } else {
            /* The common line: one reserve, one copy. */
            buf_reserve(&p->data, vn + 1);
            memcpy(p->data.p + p->data.len, v, vn);
            p->data.len += vn;
            p->data.p[p->data.len++] = '\n';
            p->data.p[p->data.len] = '\0';
        }
        break;
    case 'e':
        if (!field(s, n, "event", 5, &v, &vn))
            return SSE_OK;
        set_text(&p->type, v, vn, hi);
        break;
    case 'i':
        if (!field(s, n, "id", 2, &v, &vn) || memchr(v, '\0', vn))
            return SSE_OK;
        set_text(&p->id, v, vn, hi);
        p->id_dirty = true;
        break;
    case 'r':
        if (field(s, n, "retry", 5, &v, &vn) && !hi)
            retry(p, v, vn);
        return SSE_OK;
    case ':':
        if (!p->cb.on_comment)
            return SSE_OK;
        if (hi) {
            set_text(&p->scratch, s + 1, n - 1, true);
            p->cb.on_comment(p->ud, p->scratch.p, p->scratch.len);
        } else {
            p->cb.on_comment(p->ud, s + 1, n - 1);
        }
        return SSE_OK;
    default:
        return SSE_OK;
    }
    return event_size(p) > p->max ? SSE_ERR_TOO_BIG : SSE_OK;
}

/* ---- feeding ------------------------------------------------------------ */

/* Adds n raw bytes to the unfinished line. */
static int hold(sse_parser_t *p, const char *s, size_t n, bool hi)
{
    if (n > p->max - p->line.len)
        return SSE_ERR_TOO_BIG;
    buf_append(&p->line, s, n);
    p->line_hi |= hi;
    return SSE_OK;
}

/* Past the line end at eol (which is < end). */
static inline const char *skip_eol(sse_parser_t *p, const char *eol, const char *end)
{
    if (*eol == '\n')
        return eol + 1;
    if (eol + 1 < end)
        return eol + 1 + (eol[1] == '\n');
    p->cr = true;
    return eol + 1;
}

int sse_parser_feed(sse_parser_t *p, const char *buf, size_t len, size_t *consumed)
{
    const char *s = buf, *end = buf + len;
    int rc = SSE_OK;

    if (p->broken) {
        rc = SSE_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0)
        goto out;

    while (p->bom != BOM_DONE && s < end) {
        if ((unsigned char)*s == bom_bytes[p->bom]) {
            s++;
            p->bom++;
            continue;
        }
        /* Not a BOM after all: the bytes held back are text. */
        size_t held = p->bom;
        p->bom = BOM_DONE;
        if (held && (rc = hold(p, (const char *)bom_bytes, held, true)) != SSE_OK)
            goto out;
    }
    if (p->cr && s < end) {
        p->cr = false;
        if (*s == '\n')
            s++;
    }

    if (p->line.len && s < end) {
        bool hi = false;
        const char *eol = scan_eol(s, end, &hi);
        if ((rc = hold(p, s, (size_t)(eol - s), hi)) != SSE_OK)
            goto out;
        if (eol == end) {
            s = end;
            goto out;
        }
        s = skip_eol(p, eol, end);
        rc = process_line(p, p->line.p, p->line.len, p->line_hi);
        buf_reset(&p->line);
        p->line_hi = false;
        /* A huge comment or unknown field leaves no event to trim after. */
        trim(&p->line, keep_size(p));
        trim(&p->scratch, keep_size(p));
        if (rc != SSE_OK)
            goto out;
    }

    while (s < end) {
        bool hi = false;
        const char *eol = scan_eol(s, end, &hi);
        size_t n = (size_t)(eol - s);
        if (n > p->max) {
            rc = SSE_ERR_TOO_BIG;
            goto out;
        }
        if (eol == end) {
            rc = hold(p, s, n, hi);
            s = end;
            break;
        }
        const char *line = s;
        s = skip_eol(p, eol, end);
        if ((rc = process_line(p, line, n, hi)) != SSE_OK)
            goto out;
    }

out:
    if (rc == SSE_ERR_TOO_BIG)
        p->broken = true;
    if (consumed)
        *consumed = (size_t)(s - buf);
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Forgets everything about the current stream but the last event ID string. */
static void reset_stream(sse_parser_t *p)
{
    buf_reset(&p->line);
    p->line_hi = false;
    p->cr = false;
    p->bom = 0;
    p->broken = false;
    buf_reset(&p->data);
    buf_reset(&p->type);
    set_text(&p->id, p->last_id.p, p->last_id.len, false);
    p->id_dirty = false;
    trim_all(p);
}

sse_parser_t *sse_parser_new(size_t max_event, const sse_parser_callbacks_t *cbs, void *ud)
{
    sse_parser_t *p = xcalloc(1, sizeof *p);
    if (cbs)
        p->cb = *cbs;
    p->ud = ud;
    p->max = max_event ? max_event : DEFAULT_MAX_EVENT;
    buf_init(&p->line);
    buf_init(&p->data);
    buf_init(&p->type);
    buf_init(&p->id);
    buf_init(&p->last_id);
    buf_init(&p->scratch);
    return p;
}

void sse_parser_free(sse_parser_t *p)
{
    if (!p)
        return;
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->type);
    buf_free(&p->id);
    buf_free(&p->last_id);
    buf_free(&p->scratch);
    free(p);
}

/* An unterminated event never happened, its id included. The parser is
 * then ready for a new stream, exactly as after restart(). */
void sse_parser_end(sse_parser_t *p)
{
    reset_stream(p);
}

void sse_parser_restart(sse_parser_t *p)
{
    reset_stream(p);
}

const char *sse_parser_last_id(const sse_parser_t *p, size_t *len)
{
    if (len)
        *len = p->last_id.len;
    return p->last_id.p ? p->last_id.p : "";
}

/* Also the id buffer: the events that follow carry this id until the stream
 * sends one, as on a reconnect. */
void sse_parser_set_last_id(sse_parser_t *p, const char *id, size_t len)
{
    set_text(&p->last_id, id, len, false);
    set_text(&p->id, id, len, false);
    p->id_dirty = false;
}

bool sse_is_event_stream(const char *ct)
{
    static const char want[] = "text/event-stream";
    size_t n = sizeof(want) - 1;
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strlen(ct) < n || !ascii_ieq(ct, want, n))
        return false;
    char after = ct[n];
    return after == '\0' || after == ';' || after == ' ' || after == '\t';
}
