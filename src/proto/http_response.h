/* http_response: an HTTP/1.1 response-head parser and a body decoder
 * (chunked, Content-Length, or until the connection closes), for a client
 * that reads a long response as it comes (bench's own SSE subscribers).
 * Bytes in, a parsed head and decoded body pieces out; no I/O, no clocks,
 * no allocation, no global state: testable and fuzzable alone.
 *
 * The head (RFC 9112): "HTTP/1.x SP 3DIGIT [SP reason]", header lines
 * "name: value" ending with CRLF or a bare LF, a blank line. Bounded by
 * max_head bytes and HTTP_RESPONSE_MAX_HEADERS lines. Of the headers it
 * reads Content-Type (kept, cut to HTTP_RESPONSE_CTYPE_MAX),
 * Transfer-Encoding (chunked, the last coding; another coding alone is
 * refused: nothing decodes gzip here) and Content-Length (digits, same value
 * when repeated, no overflow); chunked wins over Content-Length.
 *
 * The body: chunked with a bounded chunk-size line (hex, no overflow,
 * extensions skipped within the line bound), CRLF or LF after each chunk's
 * data, trailers skipped (each line bounded); or Content-Length bytes; or
 * everything until the peer closes. Decoded bytes are handed out in place
 * (pointers into the input), never copied. */
#ifndef EVCAT_HTTP_RESPONSE_H
#define EVCAT_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_RESPONSE_MAX_HEAD_DEFAULT (16u * 1024u)
#define HTTP_RESPONSE_MAX_HEADERS      100
#define HTTP_RESPONSE_CTYPE_MAX        128  /* Content-Type bytes kept */
#define HTTP_CHUNK_LINE_MAX            4096 /* a chunk-size line or a trailer line */

enum {
    HTTP_RESP_DONE = 1,         /* the head is complete / the body ended */
    HTTP_RESP_AGAIN = 0,        /* every byte used; more is needed */
    HTTP_RESP_EBAD = -1,        /* malformed */
    HTTP_RESP_ETOO_BIG = -2,    /* head over max_head or too many headers; a chunk line too long */
    HTTP_RESP_EUNSUPPORTED = -3,/* not HTTP/1.x, or a transfer coding other than chunked */
    HTTP_RESP_STOP = -4,        /* the data callback asked to stop */
};

typedef struct http_response_head {
    int minor;                   /* HTTP/1.minor */
    int status;                  /* 100..999 */
    size_t head_len;             /* bytes of the head, blank line included */
    bool chunked;
    bool has_length;
    uint64_t content_length;
    char content_type[HTTP_RESPONSE_CTYPE_MAX]; /* "" when none; NUL-terminated */
} http_response_head_t;

/* Parses the head at the start of p[0..n). HTTP_RESP_DONE with *h filled
 * (h->head_len bytes used), HTTP_RESP_AGAIN when the blank line has not come
 * yet (and n < max_head), or an error. max_head 0: the default. An interim
 * 1xx head is returned like any other: skip head_len bytes and parse again. */
int http_response_head_parse(const char *p, size_t n, size_t max_head, http_response_head_t *h);

/* The body decoder's state: a few bytes per connection. */
typedef struct http_body {
    uint64_t remaining; /* identity: bytes left; chunked: of the current chunk */
    uint16_t line;      /* bytes of the current chunk-size / trailer line */
    uint8_t mode;       /* how the body is delimited */
    uint8_t state;      /* where in the chunked framing */
    uint8_t digits;     /* hex digits of the current chunk size */
} http_body_t;

/* The body after head h (a 200's; Content-Length, chunked, or until close). */
void http_body_init(http_body_t *b, const http_response_head_t *h);

/* Decoded bytes, in place; non-zero stops the feed (HTTP_RESP_STOP). */
typedef int (*http_body_fn)(void *ud, const char *p, size_t n);

/* Decodes p[0..n), calling data for each decoded piece. Returns
 * HTTP_RESP_AGAIN (every byte used), HTTP_RESP_DONE (the body ended after
 * *used bytes; what follows is not this body's), HTTP_RESP_EBAD,
 * HTTP_RESP_ETOO_BIG or HTTP_RESP_STOP (*used: up to the stopping piece's
 * end). After an error the decoder must not be fed again. */
int http_body_feed(http_body_t *b, const char *p, size_t n, size_t *used, http_body_fn data,
                   void *ud);

/* Whether the body ends only when the peer closes (no length, not chunked):
 * then end of stream is its normal end. */
bool http_body_until_close(const http_body_t *b);

#endif
