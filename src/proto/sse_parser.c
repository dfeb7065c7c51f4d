/* sse_parser: WHATWG "interpreting an event stream", incrementally.
 *
 * How it stays fast: line ends are found a 64-byte block at a time, one
 * mask bit per CR or LF (SSE2 where the compiler targets it, word at a time
 * elsewhere), so each byte is scanned once however long the lines are; the
 * same loads give a mask of bytes >= 0x80, so an all-ASCII line is known
 * valid UTF-8 without another look, and the sequences of any other line
 * are checked from those bits as the scan passes them (check_high). On a
 * long line, whole blocks of ASCII with no line end are passed with one
 * test each (AVX2 when the CPU has it). A complete line is interpreted where it
 * lies in the caller's buffer, and a field value that is valid UTF-8 is
 * handed to the event where it lies too (the dref/tref/iref spans): the
 * data of a one-data-line event is never copied. The parser copies only
 * the unfinished line at the end of a chunk (p->line), the values of an
 * event still open when a feed returns (own_refs), a second and later data
 * line (joined with LF), values that need U+FFFD replacement, and the id
 * into the last event ID string when it changes.
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

/* Text lying in the caller's buffer during the current feed. */
typedef struct span {
    const char *p;
    size_t n;
} span_t;

struct sse_parser {
    sse_parser_callbacks_t cb;
    void *ud;
    size_t max; /* max_event, 0 already replaced by the default */

    buf_t line;   /* owned: raw bytes of an unfinished line carried between feeds */
    bool cr;      /* the last line ended with CR: an LF first in the next feed is its tail */
    unsigned bom; /* see BOM_DONE */
    bool broken;  /* SSE_ERR_TOO_BIG was returned; only end/restart clear it */

    /* The data, type and id buffers are each either owned (a buf_t) or,
     * while a feed runs, a span of the caller's buffer (the *_ref flag):
     * an all-ASCII value is used where it lies, and copied only when the
     * feed returns before the event is dispatched (own_refs) or a second
     * data line must be joined to it. */
    buf_t data;     /* owned: data buffer, every value followed by LF */
    span_t dref;    /* the data buffer is dref + LF when dref_on (data empty then) */
    bool dref_on;
    buf_t type;     /* owned: event type buffer */
    span_t tref;
    bool tref_on;
    buf_t id;       /* owned: last event ID buffer */
    span_t iref;
    bool iref_on;
    bool id_dirty;  /* id changed since it was last copied to last_id */
    buf_t last_id;  /* owned: last event ID string (always owned) */
    buf_t scratch;  /* owned: a decoded comment */

    size_t typical; /* moving average of event sizes: what "much larger" means */
    /* At least event_size(), so that a field line needs the exact size
     * only when it could have passed max (see process_line). */
    size_t bound;
    uintptr_t feed_start, feed_end; /* during a feed: the bytes fed (else 0) */
};

#include "sse_scan.h"

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

/* Index of the first byte >= 0x80 in u[i..n), or n. The last, partial
 * stretch is checked with one load ending at n, which overlaps bytes before
 * it (their marks masked off), rather than byte by byte. */
static inline size_t skip_ascii(const unsigned char *u, size_t i, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16) {
        if (n - i >= 2 * BLOCK)
            i = ascii_blocks(u, i, n);
        while (n - i >= 16) {
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_loadu_si128((const __m128i *)(const void *)(u + i)));
            if (m)
                return i + (unsigned)__builtin_ctz(m);
            i += 16;
        }
        if (i == n)
            return n;
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_loadu_si128((const __m128i *)(const void *)(u + n - 16)));
        m &= ~0u << (i - (n - 16)); /* bytes before i: not ours to judge */
        return m ? n - 16 + (unsigned)__builtin_ctz(m) : n;
    }
#endif
    const uint64_t highs = 0x8080808080808080u;
    uint64_t w;
    while (n - i >= 8 && (memcpy(&w, u + i, 8), (w & highs) == 0))
        i += 8;
    if (n - i < 8 && n >= 8 && i < n) {
        memcpy(&w, u + n - 8, 8);
        if ((w & highs & (~UINT64_C(0) << 8 * (i - (n - 8)))) == 0)
            return n;
    }
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

/* Whether s[0..n) is valid UTF-8, which the decoder leaves as it is (so it
 * may be handed over where it lies). */
static inline bool utf8_clean(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = skip_ascii(u, 0, n), len;
    while (i < n) {
        /* The common sequences inline: 2 bytes, and 3 bytes with no
         * overlong or surrogate bounds to check (lead E1-EC, EE-EF). */
        unsigned c = u[i];
        if (c >= 0xC2 && c <= 0xDF && n - i >= 2 && (u[i + 1] & 0xC0) == 0x80) {
            len = 2;
        } else if (c >= 0xE1 && c <= 0xEF && c != 0xED && n - i >= 3 &&
                   (u[i + 1] & 0xC0) == 0x80 && (u[i + 2] & 0xC0) == 0x80) {
            len = 3;
        } else if (!utf8_seq(u + i, n - i, &len)) {
            return false;
        }
        i = skip_ascii(u, i + len, n);
    }
    return true;
}

/* buf_reset without a call: it runs for every event. */
static inline void clear(buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Replaces b's content with s[0..n) as it is, without a call for the
 * common short value that fits. */
static inline void set_bytes(buf_t *b, const char *s, size_t n)
{
    if (n < b->cap) {
        if (n)
            memcpy(b->p, s, n);
        b->p[n] = '\0';
        b->len = n;
    } else {
        buf_reset(b);
        buf_append(b, s, n);
    }
}

/* Replaces b's content with the value, decoding only when it must. */
static void set_text(buf_t *b, const char *v, size_t n, bool hi)
{
    if (hi) {
        buf_reset(b);
        utf8_append(b, v, n);
    } else {
        set_bytes(b, v, n);
    }
}

/* ---- fields and dispatch ------------------------------------------------ */

static inline size_t data_size(const sse_parser_t *p)
{
    return p->dref_on ? p->dref.n + 1 : p->data.len;
}

static inline span_t type_text(const sse_parser_t *p)
{
    return p->tref_on ? p->tref : (span_t){p->type.p, p->type.len};
}

static inline span_t id_text(const sse_parser_t *p)
{
    return p->iref_on ? p->iref : (span_t){p->id.p, p->id.len};
}

static inline size_t event_size(const sse_parser_t *p)
{
    return data_size(p) + type_text(p).n + id_text(p).n;
}

/* The data span becomes owned data (value + LF). */
static void own_data(sse_parser_t *p)
{
    buf_reset(&p->data);
    buf_reserve(&p->data, p->dref.n + 1);
    memcpy(p->data.p, p->dref.p, p->dref.n);
    p->data.len = p->dref.n;
    p->data.p[p->data.len++] = '\n';
    p->data.p[p->data.len] = '\0';
    p->dref_on = false;
}

/* Copies whatever still lies in the caller's buffer: before a feed returns,
 * and before a held line's buffer is reused. */
static void own_refs(sse_parser_t *p)
{
    if (p->dref_on)
        own_data(p);
    if (p->tref_on) {
        set_bytes(&p->type, p->tref.p, p->tref.n);
        p->tref_on = false;
    }
    if (p->iref_on) {
        set_bytes(&p->id, p->iref.p, p->iref.n);
        p->iref_on = false;
    }
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
static void trim_all_now(sse_parser_t *p);
static inline void trim_all(sse_parser_t *p)
{
    if ((p->line.cap | p->data.cap | p->type.cap | p->id.cap | p->last_id.cap | p->scratch.cap) >
        KEEP_FLOOR)
        trim_all_now(p);
}

static void trim_all_now(sse_parser_t *p)
{
    size_t keep = keep_size(p);
    trim(&p->line, keep);
    trim(&p->data, keep);
    trim(&p->type, keep);
    trim(&p->id, keep);
    trim(&p->last_id, keep);
    trim(&p->scratch, keep);
}

/* The event's data and an LF onto the sink: a short value lying in the fed
 * bytes is copied SINK_COPY bytes at once (no call) when both sides have
 * room; owned data already ends with its LF. */
enum { SINK_COPY = 128 };
static inline void sink_data(sse_parser_t *p, buf_t *b, size_t dn)
{
    const char *d = p->dref_on ? p->dref.p : p->data.p;
    if (p->dref_on && dn <= SINK_COPY && p->feed_end - (uintptr_t)d >= SINK_COPY &&
        b->cap - b->len >= SINK_COPY + 2) {
        char *q = b->p + b->len;
        memcpy(q, d, SINK_COPY);
        q[dn - 1] = '\n';
        b->len += dn;
        b->p[b->len] = '\0';
        return;
    }
    buf_reserve(b, dn);
    memcpy(b->p + b->len, d, dn - 1);
    b->len += dn;
    b->p[b->len - 1] = '\n';
    b->p[b->len] = '\0';
}

__attribute__((always_inline)) static inline int dispatch(sse_parser_t *p)
{
    if (p->id_dirty) {
        span_t id = id_text(p);
        /* The usual short id in the fed bytes with 16 more after its start:
         * a copy of a constant size, which needs no call. */
        uintptr_t at = (uintptr_t)id.p;
        if (p->iref_on && id.n < 16 && at >= p->feed_start && p->feed_end - at >= 16 &&
            p->last_id.cap > 16) {
            memcpy(p->last_id.p, id.p, 16);
            p->last_id.p[id.n] = '\0';
            p->last_id.len = id.n;
        } else {
            set_bytes(&p->last_id, id.p ? id.p : "", id.n);
        }
        p->id_dirty = false;
    }
    size_t dn = data_size(p), idn = id_text(p).n;
    p->bound = idn; /* the id outlives the event */
    if (dn == 0) {
        clear(&p->type);
        p->tref_on = false;
        return SSE_OK;
    }
    size_t size = dn + type_text(p).n + idn;
    int stop = 0;
    if (p->cb.data_sink && dn <= SSE_SINK_MAX + 1) {
        sink_data(p, p->cb.data_sink, dn);
        goto done;
    }
    span_t type = type_text(p);
    sse_event_t ev = {
        .type = type.n ? type.p : "message",
        .type_len = type.n ? type.n : 7,
        .data = p->dref_on ? p->dref.p : p->data.p,
        .data_len = dn - 1, /* the trailing LF */
        .id = p->last_id.p ? p->last_id.p : "",
        .id_len = p->last_id.len,
    };
    stop = p->cb.on_event ? p->cb.on_event(p->ud, &ev) : 0;
done:
    clear(&p->data);
    clear(&p->type);
    p->dref_on = false;
    p->tref_on = false;
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
            return; /* a byte >= 0x80 is no digit either */
        ms = ms > (UINT64_MAX - d) / 10 ? UINT64_MAX : ms * 10 + d;
    }
    p->cb.on_retry(p->ud, ms);
}

/* A data line's value: the first valid UTF-8 one of an event is kept where
 * it lies; any other is appended to the owned buffer. */
static void data_line(sse_parser_t *p, const char *v, size_t vn, bool plain)
{
    if (plain && !p->dref_on && p->data.len == 0) {
        p->dref = (span_t){v, vn};
        p->dref_on = true;
        return;
    }
    if (p->dref_on)
        own_data(p);
    if (plain) {
        buf_reserve(&p->data, vn + 1);
        memcpy(p->data.p + p->data.len, v, vn);
        p->data.len += vn;
        p->data.p[p->data.len++] = '\n';
        p->data.p[p->data.len] = '\0';
    } else {
        utf8_append(&p->data, v, vn);
        buf_putc(&p->data, '\n');
    }
}

/* Whether v[0..n) holds a NUL: short ids (the usual) without a call. */
static inline bool has_nul(const sse_parser_t *p, const char *v, size_t n)
{
    /* Up to 8 bytes with 8 to read in the fed bytes: one word, its zero
     * bytes marked exactly (no borrow between bytes), those past n off. */
    uintptr_t at = (uintptr_t)v;
    if (n <= 8 && at >= p->feed_start && p->feed_end - at >= 8) {
        const uint64_t lows = 0x7F7F7F7F7F7F7F7Fu;
        static const unsigned char first[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        uint64_t w, keep;
        memcpy(&w, v, 8);
        memcpy(&keep, first + 8 - n, 8); /* 0xFF over v[0..n), in either byte order */
        return (~(((w & lows) + lows) | w | lows) & keep) != 0; /* 0x80 where a byte is 0 */
    }
    if (n > 16)
        return memchr(v, '\0', n) != NULL;
    for (size_t i = 0; i < n; i++)
        if (!v[i])
            return true;
    return false;
}

/* One line, without its line end; hi: it may hold a byte >= 0x80 (false:
 * it does not). */
__attribute__((always_inline)) static inline int process_line(sse_parser_t *p, const char *s,
                                                               size_t n, bool hi)
{
    const char *v;
    size_t vn;
    if (n == 0)
        return dispatch(p);
    switch (s[0]) {
    case 'd':
        if (!field(s, n, "data", 4, &v, &vn))
            return SSE_OK;
        data_line(p, v, vn, !hi || utf8_clean(v, vn));
        break;
    case 'e':
        if (!field(s, n, "event", 5, &v, &vn))
            return SSE_OK;
        if ((p->tref_on = !hi || utf8_clean(v, vn)))
            p->tref = (span_t){v, vn};
        else
            set_text(&p->type, v, vn, true);
        break;
    case 'i':
        if (!field(s, n, "id", 2, &v, &vn) || has_nul(p, v, vn))
            return SSE_OK;
        if ((p->iref_on = !hi || utf8_clean(v, vn)))
            p->iref = (span_t){v, vn};
        else
            set_text(&p->id, v, vn, true);
        p->id_dirty = true;
        break;
    case 'r':
        if (field(s, n, "retry", 5, &v, &vn))
            retry(p, v, vn);
        return SSE_OK;
    case ':':
        if (!p->cb.on_comment)
            return SSE_OK;
        if (hi && !utf8_clean(s + 1, n - 1)) {
            set_text(&p->scratch, s + 1, n - 1, true);
            p->cb.on_comment(p->ud, p->scratch.p, p->scratch.len);
        } else {
            p->cb.on_comment(p->ud, s + 1, n - 1);
        }
        return SSE_OK;
    default:
        return SSE_OK;
    }
    /* What a value adds to the event is at most its line's n bytes (data's
     * LF stands in for the ':'), unless it was decoded: U+FFFD takes 3
     * bytes for 1. So the exact size is taken only for a line that may
     * hold bytes >= 0x80 or when the lines since the last exact size
     * could have passed max (both n and bound are at most max, and max at
     * most SIZE_MAX / 4: the sum does not wrap). */
    p->bound += n;
    if (hi || p->bound > p->max) {
        size_t size = event_size(p);
        if (size > p->max)
            return SSE_ERR_TOO_BIG;
        p->bound = size;
    }
    return SSE_OK;
}

/* ---- feeding ------------------------------------------------------------ */

/* Adds n raw bytes to the unfinished line. */
static int hold(sse_parser_t *p, const char *s, size_t n)
{
    if (n > p->max - p->line.len)
        return SSE_ERR_TOO_BIG;
    buf_append(&p->line, s, n);
    return SSE_OK;
}

/* Past the line end at buf[eol] (eol < len). */
static inline size_t skip_eol(sse_parser_t *p, const char *buf, size_t eol, size_t len)
{
    if (buf[eol] == '\n')
        return eol + 1;
    if (eol + 1 < len)
        return eol + 1 + (buf[eol + 1] == '\n');
    p->cr = true;
    return eol + 1;
}

/* What a lead byte asks of the bytes after it, for check_high: the
 * sequence's length (0: not a lead, or one utf8_seq must judge) and the
 * range of the second byte (lo, lo + span), which is where the Encoding
 * Standard puts the bounds on overlongs, surrogates and U+10FFFF. */
typedef struct lead {
    uint8_t n, lo, span;
} lead_t;
static lead_t leads[256];

static void leads_init(void)
{
    for (unsigned c = 0xC2; c <= 0xF4; c++)
        leads[c] = (lead_t){c <= 0xDF ? 2 : c <= 0xEF ? 3 : 4, 0x80, 0x3F};
    leads[0xE0] = (lead_t){3, 0xA0, 0x1F};
    leads[0xED] = (lead_t){3, 0x80, 0x1F};
    leads[0xF0] = (lead_t){4, 0x90, 0x2F};
    leads[0xF4] = (lead_t){4, 0x80, 0x0F};
}

/* The line loop, built once per block-mask flavour. */
#define SCAN(name) name##_base
#define SCAN_ATTR
#define SCAN_MASK eol_mask_base
#include "sse_scan_lines.h"
#undef SCAN
#undef SCAN_ATTR
#undef SCAN_MASK
#if defined(HAVE_AVX2_PATH)
#define SCAN(name) name##_avx2
#define SCAN_ATTR __attribute__((target("avx2")))
#define SCAN_MASK eol_mask_avx2
#include "sse_scan_lines.h"
#undef SCAN
#undef SCAN_ATTR
#undef SCAN_MASK
#endif

/* Skips a BOM at stream start, even split across feeds; bytes that turn
 * out not to be one are held as the start of the first line. */
static int skip_bom(sse_parser_t *p, const char *buf, size_t len, size_t *i)
{
    while (p->bom != BOM_DONE && *i < len) {
        if ((unsigned char)buf[*i] == bom_bytes[p->bom]) {
            ++*i;
            p->bom++;
            continue;
        }
        size_t held = p->bom;
        p->bom = BOM_DONE;
        if (held)
            return hold(p, (const char *)bom_bytes, held);
    }
    return SSE_OK;
}

int sse_parser_feed(sse_parser_t *p, const char *buf, size_t len, size_t *consumed)
{
    size_t i = 0;
    int rc = SSE_OK;

    if (p->broken) {
        rc = SSE_ERR_TOO_BIG;
        goto out;
    }
    if (len == 0)
        goto out;
    if ((rc = skip_bom(p, buf, len, &i)) != SSE_OK)
        goto out;
    if (p->cr && i < len) {
        p->cr = false;
        if (buf[i] == '\n')
            i++;
    }
    p->feed_start = (uintptr_t)buf;
    p->feed_end = (uintptr_t)buf + len;
#if defined(HAVE_AVX2_PATH)
    if (simd.avx2)
        rc = feed_lines_avx2(p, buf, len, &i);
    else
#endif
        rc = feed_lines_base(p, buf, len, &i);
    p->feed_start = p->feed_end = 0;

out:
    own_refs(p);
    if (rc == SSE_ERR_TOO_BIG)
        p->broken = true;
    if (consumed)
        *consumed = i;
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Forgets everything about the current stream but the last event ID string. */
static void reset_stream(sse_parser_t *p)
{
    buf_reset(&p->line);
    p->cr = false;
    p->bom = 0;
    p->broken = false;
    buf_reset(&p->data);
    buf_reset(&p->type);
    p->dref_on = p->tref_on = p->iref_on = false;
    set_text(&p->id, p->last_id.p, p->last_id.len, false);
    p->id_dirty = false;
    p->bound = p->id.len;
    trim_all(p);
}

sse_parser_t *sse_parser_new(size_t max_event, const sse_parser_callbacks_t *cbs, void *ud)
{
    simd_init();
    if (!leads[0xC2].n) /* a race only writes the same values twice */
        leads_init();
    sse_parser_t *p = xcalloc(1, sizeof *p);
    if (cbs)
        p->cb = *cbs;
    p->ud = ud;
    p->max = max_event ? max_event : DEFAULT_MAX_EVENT;
    if (p->max > SIZE_MAX / 4) /* no event can reach it; keeps bound from wrapping */
        p->max = SIZE_MAX / 4;
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
    p->iref_on = false;
    p->id_dirty = false;
    p->bound = p->id.len + data_size(p) + type_text(p).n;
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
