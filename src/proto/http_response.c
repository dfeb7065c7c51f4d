/* http_response: HTTP/1.1 response head and body decoding (see
 * http_response.h). */
#include "http_response.h"
#include "http_request.h" /* http_head_end, http_is_tchar, http_list_has_token */
#include "text.h"

#include <string.h>
#include <strings.h>

/* ---- the head ---------------------------------------------------------- */

static int parse_status_line(const char *s, size_t n, http_response_head_t *h)
{
    if (n < 12 || memcmp(s, "HTTP/", 5) != 0)
        return HTTP_RESP_EBAD;
    if (s[5] < '0' || s[5] > '9' || s[6] != '.' || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return HTTP_RESP_EBAD;
    if (s[5] != '1')
        return HTTP_RESP_EUNSUPPORTED;
    h->minor = s[7] - '0';
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return HTTP_RESP_EBAD;
    h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (h->status < 100 || (n > 12 && s[12] != ' '))
        return HTTP_RESP_EBAD;
    return 0;
}

static bool name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* Content-Length: digits only, no overflow, the same value when repeated. */
static int content_length(http_response_head_t *h, const char *v, size_t n)
{
    if (n == 0)
        return HTTP_RESP_EBAD;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
            return HTTP_RESP_EBAD;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (h->has_length && h->content_length != x)
        return HTTP_RESP_EBAD;
    h->has_length = true;
    h->content_length = x;
    return 0;
}

/* Transfer-Encoding: chunked must be the last coding; anything else is a
 * coding we cannot undo. */
static int transfer_encoding(http_response_head_t *h, const char *v, size_t n)
{
    size_t end = n;
    while (end && (v[end - 1] == ' ' || v[end - 1] == '\t'))
        end--;
    size_t start = end;
    while (start && v[start - 1] != ',')
        start--;
    while (start < end && (v[start] == ' ' || v[start] == '\t'))
        start++;
    if (end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0 && start == 0) {
        h->chunked = true;
        return 0;
    }
    return HTTP_RESP_EUNSUPPORTED; /* gzip, "gzip, chunked": nothing decodes them here */
}

static int header_line(http_response_head_t *h, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return HTTP_RESP_EBAD;
    size_t nl = (size_t)(colon - s);
    for (size_t i = 0; i < nl; i++)
        if (!http_is_tchar((unsigned char)s[i]))
            return HTTP_RESP_EBAD;
    const char *v = colon + 1;
    size_t vn = n - nl - 1;
    while (vn && (*v == ' ' || *v == '\t'))
        v++, vn--;
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    for (size_t i = 0; i < vn; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return HTTP_RESP_EBAD;
    if (name_is(s, nl, "Content-Type")) {
        size_t k = vn < HTTP_RESPONSE_CTYPE_MAX - 1 ? vn : HTTP_RESPONSE_CTYPE_MAX - 1;
        memcpy(h->content_type, v, k);
        h->content_type[k] = '\0';
    } else if (name_is(s, nl, "Content-Length")) {
        return content_length(h, v, vn);
    } else if (name_is(s, nl, "Transfer-Encoding")) {
        return transfer_encoding(h, v, vn);
    }
    return 0;
}

int http_response_head_parse(const char *p, size_t n, size_t max_head, http_response_head_t *h)
{
    memset(h, 0, sizeof(*h));
    if (max_head == 0)
        max_head = HTTP_RESPONSE_MAX_HEAD_DEFAULT;
    size_t lim = n < max_head ? n : max_head;
    size_t end = http_head_end(p, 0, lim);
    if (!end) {
        /* Not HTTP at all: say so without waiting for a blank line. */
        size_t k = lim < 5 ? lim : 5;
        if (memcmp(p, "HTTP/", k) != 0)
            return HTTP_RESP_EBAD;
        return n >= max_head ? HTTP_RESP_ETOO_BIG : HTTP_RESP_AGAIN;
    }
    size_t pos = 0, len;
    const char *line;
    http_next_line(p, end, &pos, &line, &len);
    int rc = parse_status_line(line, len, h);
    if (rc < 0)
        return rc;
    unsigned count = 0;
    while (http_next_line(p, end, &pos, &line, &len) && len > 0) {
        if (line[0] == ' ' || line[0] == '\t')
            return HTTP_RESP_EBAD; /* obs-fold */
        if (++count > HTTP_RESPONSE_MAX_HEADERS)
            return HTTP_RESP_ETOO_BIG;
        if ((rc = header_line(h, line, len)) < 0)
            return rc;
    }
    if (h->chunked)
        h->has_length = false; /* RFC 9112 6.3: chunked wins */
    h->head_len = end;
    return HTTP_RESP_DONE;
}

/* ---- the body ---------------------------------------------------------- */

enum { M_LENGTH, M_CLOSE, M_CHUNKED, M_DONE };

enum {
    S_SIZE,       /* hex digits of a chunk size */
    S_EXT,        /* the rest of the chunk-size line, up to LF */
    S_DATA,       /* chunk data */
    S_DATA_CR,    /* after the data: CR or LF */
    S_DATA_LF,    /* after its CR: LF */
    S_TRAILER,    /* at the start of a trailer line (or of the final blank one) */
    S_TRAILER_LN, /* inside a trailer line, up to LF */
    S_END_LF,     /* the final blank line's CR seen: LF */
};

void http_body_init(http_body_t *b, const http_response_head_t *h)
{
    memset(b, 0, sizeof(*b));
    if (h->chunked) {
        b->mode = M_CHUNKED;
        b->state = S_SIZE;
    } else if (h->has_length) {
        b->mode = h->content_length ? M_LENGTH : M_DONE;
        b->remaining = h->content_length;
    } else {
        b->mode = M_CLOSE;
    }
}

bool http_body_until_close(const http_body_t *b)
{
    return b->mode == M_CLOSE;
}

/* One framing byte of a chunked body (not data). Returns 0, 1 when the
 * body ended with it, or an error. */
static int chunk_byte(http_body_t *b, char c)
{
    switch (b->state) {
    case S_SIZE: {
        int v = hex_value((unsigned char)c);
        if (v >= 0) {
            if (b->digits == 15) /* 60 bits: far past any chunk, never overflows */
                return HTTP_RESP_ETOO_BIG;
            b->remaining = b->remaining << 4 | (uint64_t)v;
            b->digits++;
            return 0;
        }
        if (!b->digits)
            return HTTP_RESP_EBAD;
        if (c != ';' && c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return HTTP_RESP_EBAD;
        b->state = S_EXT;
        b->line = 0;
    } /* fall through: c starts the rest of the line */
    /* FALLTHROUGH */
    case S_EXT:
        if (c != '\n') {
            if (++b->line > HTTP_CHUNK_LINE_MAX)
                return HTTP_RESP_ETOO_BIG;
            return 0;
        }
        b->digits = 0;
        b->line = 0;
        b->state = b->remaining ? S_DATA : S_TRAILER;
        return 0;
    case S_DATA_CR:
        if (c == '\r') {
            b->state = S_DATA_LF;
            return 0;
        }
        /* FALLTHROUGH */
    case S_DATA_LF:
        if (c != '\n')
            return HTTP_RESP_EBAD;
        b->state = S_SIZE;
        b->remaining = 0;
        return 0;
    case S_TRAILER:
        if (c == '\n')
            return 1;
        if (c == '\r') {
            b->state = S_END_LF;
            return 0;
        }
        b->state = S_TRAILER_LN;
        b->line = 0;
        /* FALLTHROUGH */
    case S_TRAILER_LN:
        if (c == '\n') {
            b->state = S_TRAILER;
            return 0;
        }
        if (++b->line > HTTP_CHUNK_LINE_MAX)
            return HTTP_RESP_ETOO_BIG;
        return 0;
    case S_END_LF:
        return c == '\n' ? 1 : HTTP_RESP_EBAD;
    default:
        return HTTP_RESP_EBAD;
    }
}

int http_body_feed(http_body_t *b, const char *p, size_t n, size_t *used, http_body_fn data,
                   void *ud)
{
    size_t i = 0;
    int rc = HTTP_RESP_AGAIN;
    while (i < n) {
        if (b->mode == M_DONE) {
            rc = HTTP_RESP_DONE;
            break;
        }
        if (b->mode == M_CLOSE || b->mode == M_LENGTH ||
            (b->mode == M_CHUNKED && b->state == S_DATA)) {
            size_t k = n - i;
            if (b->mode != M_CLOSE && b->remaining < k)
                k = (size_t)b->remaining;
            if (b->mode != M_CLOSE)
                b->remaining -= k;
            if (b->mode == M_LENGTH && !b->remaining)
                b->mode = M_DONE;
            else if (b->mode == M_CHUNKED && !b->remaining)
                b->state = S_DATA_CR;
            size_t at = i;
            i += k;
            if (data(ud, p + at, k) != 0) {
                rc = HTTP_RESP_STOP;
                break;
            }
            continue;
        }
        int r = chunk_byte(b, p[i++]);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == 1)
            b->mode = M_DONE;
    }
    if (rc == HTTP_RESP_AGAIN && b->mode == M_DONE)
        rc = HTTP_RESP_DONE;
    if (used)
        *used = i;
    return rc;
}
