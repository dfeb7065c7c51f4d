/* http_request: an incremental HTTP/1.1 request-head parser (RFC 9112) and
 * a chunked-body decoder, for evcat serve. Bytes in, a parsed head out; no
 * I/O, no clocks, no global state, so it is testable and fuzzable alone.
 *
 * What the head parser accepts (and what it answers otherwise):
 *   - request-line "METHOD SP request-target SP HTTP/x.y" with single spaces;
 *     METHOD a token; the target origin-form ("/p?q"), absolute-form
 *     ("http://h/p"), or "*" (OPTIONS only); visible ASCII only    -> else 400
 *   - HTTP/1.0 and HTTP/1.1; a higher 1.x minor is served as 1.1 (RFC 9112
 *     section 2.3); another major version, 0.9 included             -> 505
 *   - lines end with CRLF or a bare LF (section 2.2); empty lines before the
 *     request-line are skipped; a CR elsewhere, or any other control byte
 *     but HTAB in a value                                            -> 400
 *   - header "name: value": name a token, no space before the colon, value
 *     trimmed of SP/HTAB; obs-fold (a line starting with SP/HTAB)   -> 400
 *   - Content-Length: digits; repeated only with the same value;
 *     Content-Length together with Transfer-Encoding                -> 400
 *   - Transfer-Encoding: "chunked" as the only coding; chunked not last, or
 *     in an HTTP/1.0 request                                         -> 400;
 *     another coding (gzip, ...)                                     -> 501
 *   - HTTP/1.1 without exactly one Host, or more than one Host       -> 400
 *   - the head (request-line, headers, blank line) longer than max_head,
 *     or more than HTTP_REQUEST_MAX_HEADERS headers                  -> 431;
 *     but when the request-line alone reaches the bound (section 3): a
 *     method longer than any implemented -> 501, a request-target
 *     longer than the server parses                                 -> 414
 *   - a request-line still arriving whose method so far is not a token
 *     (a TLS handshake on a plain port, binary noise) is refused at once,
 *     without waiting for its line end                               -> 400
 *
 * The chunked decoder: hex chunk-size (no sign, no overflow), extensions
 * skipped (bounded), CRLF (or LF) after each chunk's data, trailers skipped
 * (bounded); the decoded body is bounded by max_body (-> 413). */
#ifndef EVCAT_HTTP_REQUEST_H
#define EVCAT_HTTP_REQUEST_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_REQUEST_MAX_HEAD_DEFAULT (16u * 1024u)
#define HTTP_REQUEST_MAX_HEADERS      100

/* Results of the feed functions: >= 0 progress, < 0 an error that ends the
 * request (the connection must answer http_request_status(err) and close). */
enum {
    HTTP_REQUEST_DONE = 1,           /* the head (or the body) is complete */
    HTTP_REQUEST_AGAIN = 0,          /* every byte used; feed more */
    HTTP_REQUEST_EBAD = -1,          /* malformed: 400 */
    HTTP_REQUEST_ETOO_BIG = -2,      /* head over max_head or too many headers: 431 */
    HTTP_REQUEST_EVERSION = -3,      /* not HTTP/1.x: 505 */
    HTTP_REQUEST_EUNSUPPORTED = -4,  /* a transfer coding other than chunked, or a method
                                        longer than the head's bound: 501 */
    HTTP_REQUEST_EBODY_TOO_BIG = -5, /* chunked body over max_body: 413 */
    HTTP_REQUEST_EURI_TOO_LONG = -6  /* request-target longer than the head's bound: 414 */
};

/* The HTTP status that answers an error result above (200 for >= 0). */
int http_request_status(int result);

typedef struct http_header {
    const char *name; /* NUL-terminated, as the client spelled it */
    size_t name_len;
    const char *value; /* NUL-terminated, surrounding SP/HTAB removed */
    size_t value_len;
} http_header_t;

/* The parsed head: valid once feed returned HTTP_REQUEST_DONE, until the next
 * http_request_reset or http_request_free. Every string points into the
 * parser's own copy of the head and is NUL-terminated. */
typedef struct http_request_info {
    const char *method; /* a token, case-sensitive ("GET") */
    size_t method_len;
    const char *target; /* the request-target exactly as sent */
    size_t target_len;
    const char *path; /* target's path ("/sse"); "*" for asterisk-form */
    size_t path_len;
    const char *query; /* after '?', without it; "" when none */
    size_t query_len;
    bool has_query;
    int version_minor;      /* 0 or 1 (HTTP/1.x) */
    int64_t content_length; /* -1 when no Content-Length */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* the connection may carry another request */
    bool upgrade;           /* Connection has the "upgrade" token */
    bool expect_continue;   /* Expect: 100-continue */
    bool expect_other;      /* an Expect the server cannot meet (-> 417) */
    size_t head_len;        /* bytes the head took, blank line included */
    const http_header_t *headers;
    size_t nheaders;
} http_request_info_t;

typedef struct http_request http_request_t;

/* max_head: bound for the head in bytes (0 = HTTP_REQUEST_MAX_HEAD_DEFAULT). */
http_request_t *http_request_new(size_t max_head);
void http_request_free(http_request_t *r);
/* Ready for the next request on the same connection (keeps the allocation). */
void http_request_reset(http_request_t *r);

/* Feeds n bytes. Returns HTTP_REQUEST_AGAIN (all used, head not complete),
 * HTTP_REQUEST_DONE (the head is complete: *used tells how many bytes of p it
 * took; the rest is body or the next request and belongs to the caller), or
 * an error (stays in error until reset; http_request_error says why).
 * Byte-at-a-time feeding costs the same as feeding the head whole. */
int http_request_feed(http_request_t *r, const char *p, size_t n, size_t *used);

/* Whether any byte of a request has arrived since the last reset (empty lines
 * before a request-line count). */
bool http_request_started(const http_request_t *r);

/* The parsed head, or NULL before HTTP_REQUEST_DONE. */
const http_request_info_t *http_request_info(const http_request_t *r);

/* A short English reason for the last error ("obs-fold in header"), or "". */
const char *http_request_error(const http_request_t *r);

/* The value of the first header called name (ASCII case-insensitive), or
 * NULL. */
const char *http_request_header(const http_request_info_t *info, const char *name, size_t *len);

/* How many header lines are called name (ASCII case-insensitive): fields
 * that must not be repeated (Sec-WebSocket-Key, RFC 6455 section 11.3.1)
 * are checked with it. */
size_t http_request_header_count(const http_request_info_t *info, const char *name);

/* Whether any header called name has token among its comma-separated
 * elements (case-insensitive), e.g. ("Connection", "upgrade"). */
bool http_request_has_token(const http_request_info_t *info, const char *name, const char *token);

/* Looks up a parameter of a query string ("a=1&event=x"); '+' and %XX are
 * decoded into out (reset first). Returns 1 when found, 0 when absent, -1
 * when its value has a bad %-escape. */
int http_request_query_param(const char *query, size_t len, const char *name, buf_t *out);

/* ---- chunked transfer coding ---- */

/* Embeddable; every field is private to http_request.c. */
typedef struct http_request_chunked {
    int state;
    int result;          /* the error once state is the error state */
    uint64_t chunk_left; /* data bytes left in the current chunk */
    size_t line_len;     /* bytes of the current size/extension/trailer line */
    size_t trailer_len;  /* bytes of trailers so far */
    size_t ndigits;
    size_t max_body;
    const char *error;
} http_request_chunked_t;

void http_request_chunked_init(http_request_chunked_t *d, size_t max_body);

/* Decodes up to n bytes of chunked body, appending data to out (whose length
 * max_body bounds). Returns HTTP_REQUEST_AGAIN, HTTP_REQUEST_DONE (the last
 * chunk and its trailers are consumed: *used tells how many bytes of p that
 * took), HTTP_REQUEST_EBAD or HTTP_REQUEST_EBODY_TOO_BIG. */
int http_request_chunked_feed(http_request_chunked_t *d, const char *p, size_t n, buf_t *out,
                              size_t *used);

/* A short reason for the last chunked error, or "". */
const char *http_request_chunked_error(const http_request_chunked_t *d);

/* Whether a comma-separated header value (a #list, RFC 9110 section 5.6.1)
 * has token as one of its elements, compared case-insensitively:
 * "keep-alive, Upgrade" has "upgrade". */
bool http_list_has_token(const char *v, size_t n, const char *token);

/* Where an HTTP head in p[0..n) ends — just past its blank line (CRLF CRLF,
 * or bare LFs as lenient parsers accept) — searching from offset from;
 * 0 while it has not ended. For the heads of responses evcat reads: a
 * proxy's answer to CONNECT, a server's 101. */
size_t http_head_end(const char *p, size_t from, size_t n);

/* The next line of a head p[*pos..end), without its CRLF or bare LF:
 * sets *line and *n and moves *pos past it; false at end. */
bool http_next_line(const char *p, size_t end, size_t *pos, const char **line, size_t *n);

/* A token character (RFC 9110 section 5.6.2): what header names and
 * methods are made of. */
bool http_is_tchar(unsigned char c);

/* Whether a -H header line has this name (case-insensitive), in any of
 * curl's forms: "Name: value", "Name:" (removes ours), "Name;" (empty). */
bool http_user_header_named(const char *line, const char *name);

/* A -H header onto a request head as it goes on the wire, in curl's forms:
 * "Name: value" as it is, "Name:" (it removes a header of ours) nothing,
 * "Name;" as "Name:" with an empty value. */
void http_put_user_header(buf_t *out, const char *h);

#endif
