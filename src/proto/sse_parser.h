/* sse_parser: the WHATWG HTML "interpreting an event stream" rules as an
 * incremental parser. Bytes in (any chunking), events out through callbacks.
 * No I/O, no clocks, no global state: testable and fuzzable on its own.
 *
 * What it implements, exactly (https://html.spec.whatwg.org/#event-stream-interpretation):
 *   - the stream is UTF-8; invalid sequences decode to U+FFFD (EF BF BD), a
 *     sequence split across chunks is decoded as one; NUL passes through;
 *   - one leading BOM (EF BB BF) is skipped at stream start only, even when
 *     split across chunks; a later BOM is ordinary text;
 *   - lines end with CRLF, LF or CR; a CR ending one chunk and an LF starting
 *     the next are one line end;
 *   - "" dispatches; ":..." is a comment; "name:value" with exactly one
 *     leading space removed from value; "name" alone is a field with empty
 *     value; names are case-sensitive; unknown names are ignored;
 *   - data: appends value + LF to the data buffer; event: sets the type
 *     buffer; id: sets the last-event-ID buffer unless value contains NUL;
 *     retry: only if value is all ASCII digits (non-empty), reported through
 *     on_retry;
 *   - dispatch (a blank line): the last event ID string := the buffer, even
 *     when nothing fires; empty data buffer: reset type/data, no event; else
 *     one trailing LF removed, type "message" when empty, event delivered;
 *   - sse_parser_end(): a pending, unterminated event is discarded together
 *     with an id it set (the last event ID string stays what the last
 *     dispatch made it).
 *
 * Feeding: line ends are found one 64-byte block at a time (AVX2 when the
 * CPU has it, SSE2 where the compiler targets it, word-at-a-time
 * otherwise), UTF-8 checked from the same blocks; a line complete in the fed
 * bytes is interpreted where it lies. The parser copies only a line split
 * across feeds, the values of an event still open when a feed returns, a
 * second and later data line (joined with LF), and values that need U+FFFD
 * replacement.
 *
 * Bounds: max_event bytes bound one line and one event's data + type + id
 * buffers; past it feed returns SSE_ERR_TOO_BIG and the parser must be reset
 * before further use. */
#ifndef EVCAT_SSE_PARSER_H
#define EVCAT_SSE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct sse_parser sse_parser_t;

/* Valid only during the callback. Strings are UTF-8 (after U+FFFD
 * replacement) and may contain NUL: use the lengths. type and data may
 * point into the bytes being fed (an all-ASCII value is handed over where
 * it lies, not copied), so they are not NUL-terminated; id is (it is the
 * parser's own last event ID string). */
typedef struct sse_event {
    const char *type; /* "message" when the stream gave none */
    size_t type_len;
    const char *data; /* lines joined with LF, no trailing LF */
    size_t data_len;
    const char *id; /* the last event ID string in effect ("" if none) */
    size_t id_len;
} sse_event_t;

typedef struct sse_parser_callbacks {
    /* Returns 0 to go on; non-zero stops the current feed, which returns
     * SSE_STOP (the parser stays consistent: feeding may resume later with
     * the bytes after the ones consumed, see sse_parser_feed). */
    int (*on_event)(void *ud, const sse_event_t *ev);
    /* A valid retry field, in milliseconds (saturated at UINT64_MAX). May be NULL. */
    void (*on_retry)(void *ud, uint64_t ms);
    /* A comment line, text after the colon (no space stripped). May be NULL. */
    void (*on_comment)(void *ud, const char *text, size_t len);
    /* May be NULL. When set, an event whose data is at most SSE_SINK_MAX
     * bytes is not given to on_event: its data and an LF are appended to
     * this buffer instead, with no call per event (listen's raw output).
     * Its id and type are tracked as for any event. */
    buf_t *data_sink;
} sse_parser_callbacks_t;

#define SSE_SINK_MAX 255

enum {
    SSE_OK = 0,
    SSE_STOP = -1,        /* on_event asked to stop */
    SSE_ERR_TOO_BIG = -2, /* a line or an event exceeded max_event bytes */
};

/* max_event: bound for a line and for an event (0 = 16 MiB). */
sse_parser_t *sse_parser_new(size_t max_event, const sse_parser_callbacks_t *cbs, void *ud);
void sse_parser_free(sse_parser_t *p);

/* Feeds len bytes. Returns SSE_OK, SSE_STOP or SSE_ERR_TOO_BIG. On SSE_STOP,
 * *consumed (if not NULL) tells how many bytes of buf were used up to and
 * including the line that dispatched; on SSE_OK it is len. buf need stay
 * valid only during the call: what the parser keeps of it is copied before
 * it returns. */
int sse_parser_feed(sse_parser_t *p, const char *buf, size_t len, size_t *consumed);

/* End of stream: discards an unterminated event (and any partial line). */
void sse_parser_end(sse_parser_t *p);

/* Starts a new stream (reconnect): BOM expected again, line/event buffers
 * cleared, the id buffer starts from the last event ID string. */
void sse_parser_restart(sse_parser_t *p);

/* The last event ID string (what a reconnect sends as Last-Event-ID). */
const char *sse_parser_last_id(const sse_parser_t *p, size_t *len);
/* Sets it, as --last-event-id does before the first connect. */
void sse_parser_set_last_id(sse_parser_t *p, const char *id, size_t len);

/* Whether a Content-Type value is text/event-stream (case-insensitive,
 * leading blanks allowed, parameters after ';' ignored), the type an
 * EventSource requires of a response. NULL is not. */
bool sse_is_event_stream(const char *content_type);

#endif
