#include "http_request.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Parser states. */
enum { S_REQUEST_LINE, S_HEADERS, S_DONE, S_ERROR };

struct http_request {
    size_t max_head;
    buf_t head;        /* owned: the head's bytes so far, then the NUL-split copy */
    size_t line_start; /* offset in head of the line being received */
    /* A request-line still arriving: bytes of it whose method part is
     * checked already, and whether its end (the first SP) was seen. */
    size_t method_scan;
    bool method_seen;
    int state;
    int result; /* the error in S_ERROR */
    const char *error;
    bool started;

    /* The request-line, as offsets into head (head moves while it grows). */
    size_t method_off, method_len, target_off, target_len;

    /* Headers as offsets while the head grows, pointers once it is done.
     * Both arrays grow on demand (most requests have a handful of headers:
     * 10k connections should not each hold room for the maximum). */
    struct hdr_off {
        uint32_t name, value;
    } * offs;               /* owned */
    http_header_t *headers; /* owned */
    size_t nheaders, cap;

    http_request_info_t info;
};

int http_request_status(int result)
{
    switch (result) {
    case HTTP_REQUEST_EBAD:
        return 400;
    case HTTP_REQUEST_ETOO_BIG:
        return 431;
    case HTTP_REQUEST_EVERSION:
        return 505;
    case HTTP_REQUEST_EUNSUPPORTED:
        return 501;
    case HTTP_REQUEST_EBODY_TOO_BIG:
        return 413;
    case HTTP_REQUEST_EURI_TOO_LONG:
        return 414;
    default:
        return result < 0 ? 400 : 200;
    }
}

/* ---- character classes (RFC 9110 section 5.6.2) ---- */

bool http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar / SP / HTAB, obs-text included: everything but controls. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}


/* ---- lifecycle ---- */

http_request_t *http_request_new(size_t max_head)
{
    http_request_t *r = xcalloc(1, sizeof(*r));
    r->max_head = max_head ? max_head : HTTP_REQUEST_MAX_HEAD_DEFAULT;
    buf_init(&r->head);
    http_request_reset(r);
    return r;
}

void http_request_free(http_request_t *r)
{
    if (!r)
        return;
    buf_free(&r->head);
    free(r->offs);
    free(r->headers);
    free(r);
}

void http_request_reset(http_request_t *r)
{
    buf_reset(&r->head);
    /* A 16 KiB head should not stay allocated for the connection's life. */
    buf_shrink(&r->head, 4096);
    r->line_start = 0;
    r->method_scan = 0;
    r->method_seen = false;
    r->state = S_REQUEST_LINE;
    r->result = HTTP_REQUEST_AGAIN;
    r->error = "";
    r->started = false;
    r->method_off = r->method_len = r->target_off = r->target_len = 0;
    r->nheaders = 0;
    memset(&r->info, 0, sizeof(r->info));
}

bool http_request_started(const http_request_t *r)
{
    return r->started;
}

const http_request_info_t *http_request_info(const http_request_t *r)
{
    return r->state == S_DONE ? &r->info : NULL;
}

const char *http_request_error(const http_request_t *r)
{
    return r->error;
}

static int fail(http_request_t *r, int result, const char *why)
{
    r->state = S_ERROR;
    r->result = result;
    r->error = why;
    return result;
}

/* ---- the request-line ---- */

static int parse_request_line(http_request_t *r, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len);
    if (!sp1 || sp1 == line)
        return fail(r, HTTP_REQUEST_EBAD, "bad request line");
    for (const char *c = line; c < sp1; c++)
        if (!http_is_tchar((unsigned char)*c))
            return fail(r, HTTP_REQUEST_EBAD, "method is not a token");

    const char *target = sp1 + 1;
    const char *end = line + len;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (!sp2)
        return fail(r, HTTP_REQUEST_EBAD, "no HTTP version in request line (HTTP/0.9?)");
    if (sp2 == target)
        return fail(r, HTTP_REQUEST_EBAD, "empty request target");
    for (const char *c = target; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return fail(r, HTTP_REQUEST_EBAD, "bad character in request target");

    const char *v = sp2 + 1;
    size_t vlen = (size_t)(end - v);
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return fail(r, HTTP_REQUEST_EBAD, "bad HTTP version");
    if (v[5] != '1')
        return fail(r, HTTP_REQUEST_EVERSION, "HTTP version not supported");

    r->method_off = (size_t)(line - r->head.p);
    r->method_len = (size_t)(sp1 - line);
    r->target_off = (size_t)(target - r->head.p);
    r->target_len = (size_t)(sp2 - target);
    r->info.version_minor = v[7] == '0' ? 0 : 1;

    size_t tl = r->target_len;
    if (target[0] == '/')
        return 0;
    if (tl == 1 && target[0] == '*') {
        if (r->method_len == 7 && memcmp(line, "OPTIONS", 7) == 0)
            return 0;
        return fail(r, HTTP_REQUEST_EBAD, "'*' target with a method other than OPTIONS");
    }
    if ((tl > 7 && ascii_ieq(target, "http://", 7)) || (tl > 8 && ascii_ieq(target, "https://", 8)))
        return 0;
    return fail(r, HTTP_REQUEST_EBAD, "request target is not a path or an absolute URL");
}

/* ---- header lines ---- */

static int parse_header_line(http_request_t *r, const char *line, size_t len)
{
    if (is_ows(line[0]))
        return fail(r, HTTP_REQUEST_EBAD, "obs-fold (header line starting with whitespace)");
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return fail(r, HTTP_REQUEST_EBAD, "header line without colon");
    if (colon == line)
        return fail(r, HTTP_REQUEST_EBAD, "empty header name");
    for (const char *c = line; c < colon; c++) {
        if (is_ows(*c))
            return fail(r, HTTP_REQUEST_EBAD, "whitespace before colon in header");
        if (!http_is_tchar((unsigned char)*c))
            return fail(r, HTTP_REQUEST_EBAD, "header name is not a token");
    }
    const char *v = colon + 1, *end = line + len;
    for (const char *c = v; c < end; c++)
        if (!is_value_char((unsigned char)*c))
            return fail(r, HTTP_REQUEST_EBAD, "control character in header value");
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;

    if (r->nheaders == HTTP_REQUEST_MAX_HEADERS)
        return fail(r, HTTP_REQUEST_ETOO_BIG, "too many header fields");
    if (r->nheaders == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        if (r->cap > HTTP_REQUEST_MAX_HEADERS)
            r->cap = HTTP_REQUEST_MAX_HEADERS;
        r->offs = xrealloc(r->offs, r->cap * sizeof(*r->offs));
        r->headers = xrealloc(r->headers, r->cap * sizeof(*r->headers));
    }
    size_t i = r->nheaders++;
    /* Offsets fit: the head is bounded far below 4 GiB. */
    r->offs[i].name = (uint32_t)(line - r->head.p);
    r->headers[i].name_len = (size_t)(colon - line);
    r->offs[i].value = (uint32_t)(v - r->head.p);
    r->headers[i].value_len = (size_t)(end - v);
    return 0;
}

/* ---- finishing: pointers, NULs, message framing ---- */

typedef int (*elem_fn)(void *ud, const char *e, size_t n);

/* Calls fn for each non-empty element of a comma-separated list value. */
static int each_element(const char *v, size_t n, elem_fn fn, void *ud)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (b > a) {
            int rc = fn(ud, v + a, b - a);
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

struct cl_state {
    int64_t value; /* -1 until the first */
    bool bad;
};

static int cl_elem(void *ud, const char *e, size_t n)
{
    struct cl_state *st = ud;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i] < '0' || e[i] > '9' || v > (INT64_MAX - 9) / 10) {
            st->bad = true;
            return 1;
        }
        v = v * 10 + (e[i] - '0');
    }
    if (st->value >= 0 && st->value != v) {
        st->bad = true;
        return 1;
    }
    st->value = v;
    return 0;
}

struct te_state {
    size_t n;          /* elements so far */
    bool last_chunked; /* the latest element was "chunked" */
    bool chunked_twice, other;
};

static int te_elem(void *ud, const char *e, size_t n)
{
    struct te_state *st = ud;
    bool chunked = n == 7 && ascii_ieq(e, "chunked", 7);
    if (st->last_chunked)
        st->chunked_twice = true; /* something follows chunked */
    if (!chunked)
        st->other = true;
    st->last_chunked = chunked;
    st->n++;
    return 0;
}

static bool name_is(const http_header_t *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && ascii_ieq(h->name, name, n);
}

/* Copies path and query after the head, so that every field can be
 * NUL-terminated in place and target stays whole; sets has_query and returns
 * the offsets and lengths of the copies. */
static void copy_path_query(http_request_t *r, size_t *path_off, size_t *path_len,
                            size_t *query_off, size_t *query_len)
{
    http_request_info_t *in = &r->info;
    const char *t = r->head.p + r->target_off;
    size_t tl = r->target_len, pstart = 0;
    if (t[0] != '/' && !(tl == 1 && t[0] == '*')) {
        /* absolute-form: skip "scheme://authority" */
        pstart = (size_t)((const char *)memchr(t, ':', tl) - t) + 3;
        while (pstart < tl && t[pstart] != '/' && t[pstart] != '?' && t[pstart] != '#')
            pstart++;
    }
    size_t qpos = pstart;
    while (qpos < tl && t[qpos] != '?' && t[qpos] != '#')
        qpos++;
    size_t qend = qpos;
    if (qpos < tl && t[qpos] == '?') {
        in->has_query = true;
        qend = qpos + 1;
        while (qend < tl && t[qend] != '#')
            qend++;
    }
    *path_len = qpos - pstart;
    *query_len = 0;
    /* Copying from the buffer into itself: reserve first, so that the
     * source does not move under the copy. */
    size_t toff = r->target_off;
    buf_reserve(&r->head, tl + 3);
    *path_off = r->head.len;
    if (*path_len == 0) {
        buf_append(&r->head, "/", 1);
        *path_len = 1;
    } else {
        buf_append(&r->head, r->head.p + toff + pstart, *path_len);
    }
    buf_putc(&r->head, '\0');
    *query_off = r->head.len;
    if (in->has_query) {
        *query_len = qend - qpos - 1;
        buf_append(&r->head, r->head.p + toff + qpos + 1, *query_len);
    }
    buf_putc(&r->head, '\0');
}

/* Points the info's fields into the head, NUL-terminated in place: the byte
 * after the method and after the target is a space, after a name a colon,
 * after a value OWS, CR or LF. The buffer no longer moves. */
static void point_fields(http_request_t *r, size_t path_off, size_t path_len, size_t query_off,
                         size_t query_len)
{
    http_request_info_t *in = &r->info;
    char *h = r->head.p;
    in->method = h + r->method_off;
    in->method_len = r->method_len;
    h[r->method_off + r->method_len] = '\0';
    in->target = h + r->target_off;
    in->target_len = r->target_len;
    h[r->target_off + r->target_len] = '\0';
    in->path = h + path_off;
    in->path_len = path_len;
    in->query = h + query_off;
    in->query_len = query_len;
    for (size_t i = 0; i < r->nheaders; i++) {
        http_header_t *hd = &r->headers[i];
        hd->name = h + r->offs[i].name;
        hd->value = h + r->offs[i].value;
        h[r->offs[i].name + hd->name_len] = '\0';
        h[r->offs[i].value + hd->value_len] = '\0';
    }
    in->headers = r->headers;
    in->nheaders = r->nheaders;
}

/* Message framing (RFC 9112 section 6): Host, Content-Length and
 * Transfer-Encoding. Returns 0, or what fail() returns. */
static int check_framing(http_request_t *r)
{
    http_request_info_t *in = &r->info;
    struct cl_state cl = {.value = -1};
    struct te_state te = {0};
    bool has_te = false;
    size_t hosts = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const http_header_t *hd = &r->headers[i];
        if (name_is(hd, "content-length")) {
            if (hd->value_len == 0)
                cl.bad = true;
            else
                each_element(hd->value, hd->value_len, cl_elem, &cl);
            if (cl.bad)
                return fail(r, HTTP_REQUEST_EBAD, "invalid Content-Length");
        } else if (name_is(hd, "transfer-encoding")) {
            has_te = true;
            each_element(hd->value, hd->value_len, te_elem, &te);
        } else if (name_is(hd, "host")) {
            hosts++;
        }
    }
    if (hosts > 1)
        return fail(r, HTTP_REQUEST_EBAD, "more than one Host header");
    if (hosts == 0 && in->version_minor >= 1)
        return fail(r, HTTP_REQUEST_EBAD, "HTTP/1.1 request without Host");
    if (has_te) {
        if (cl.value >= 0)
            return fail(r, HTTP_REQUEST_EBAD, "both Content-Length and Transfer-Encoding");
        if (in->version_minor == 0)
            return fail(r, HTTP_REQUEST_EBAD, "Transfer-Encoding in an HTTP/1.0 request");
        if (te.n == 0 || !te.last_chunked || te.chunked_twice)
            return fail(r, HTTP_REQUEST_EBAD, "chunked is not the final transfer coding");
        if (te.other)
            return fail(r, HTTP_REQUEST_EUNSUPPORTED, "transfer coding not implemented");
        in->chunked = true;
    }
    in->content_length = cl.value;
    return 0;
}

static int finish(http_request_t *r)
{
    http_request_info_t *in = &r->info;
    in->head_len = r->head.len;
    size_t path_off, path_len, query_off, query_len;
    copy_path_query(r, &path_off, &path_len, &query_off, &query_len);
    point_fields(r, path_off, path_len, query_off, query_len);
    int rc = check_framing(r);
    if (rc != 0)
        return rc;

    in->keep_alive = in->version_minor >= 1;
    if (http_request_has_token(in, "connection", "close"))
        in->keep_alive = false;
    else if (in->version_minor == 0 && http_request_has_token(in, "connection", "keep-alive"))
        in->keep_alive = true;
    in->upgrade = http_request_has_token(in, "connection", "upgrade");

    /* An HTTP/1.0 client cannot take a 100 (RFC 9110 section 10.1.1). */
    size_t elen;
    const char *expect = http_request_header(in, "expect", &elen);
    if (expect && in->version_minor >= 1) {
        if (elen == 12 && ascii_ieq(expect, "100-continue", 12))
            in->expect_continue = true;
        else
            in->expect_other = true;
    }
    r->state = S_DONE;
    r->result = HTTP_REQUEST_DONE;
    return HTTP_REQUEST_DONE;
}

/* ---- feeding ---- */

/* A complete line is in head[line_start, head.len), its LF last. */
static int on_line(http_request_t *r)
{
    char *line = r->head.p + r->line_start;
    size_t len = r->head.len - r->line_start - 1; /* without LF */
    if (len > 0 && line[len - 1] == '\r')
        len--;
    /* A CR anywhere else is a bare CR: RFC 9112 section 2.2 allows
     * rejecting it, and accepting it invites smuggling. */
    if (memchr(line, '\r', len))
        return fail(r, HTTP_REQUEST_EBAD, "bare CR in request head");
    int rc = 0;
    if (r->state == S_REQUEST_LINE) {
        if (len == 0) {
            /* An empty line before the request-line: skipped (section 2.2). */
            r->line_start = r->head.len;
            r->method_scan = 0;
            return 0;
        }
        rc = parse_request_line(r, line, len);
        if (rc == 0)
            r->state = S_HEADERS;
    } else if (len == 0) {
        return finish(r);
    } else {
        rc = parse_header_line(r, line, len);
    }
    r->line_start = r->head.len;
    return rc;
}

/* A request-line still arriving: its method so far must be a token (a CR
 * may end what arrived: the first half of an empty line's CRLF). Bytes that
 * are no HTTP request at all, such as a TLS ClientHello on the plain port,
 * get their 400 now instead of a 408 at the header timeout. */
static int check_partial_method(http_request_t *r)
{
    if (r->state != S_REQUEST_LINE || r->method_seen)
        return 0;
    const char *line = r->head.p + r->line_start;
    size_t len = r->head.len - r->line_start;
    for (size_t k = r->method_scan; k < len; k++) {
        unsigned char c = (unsigned char)line[k];
        if (c == ' ') {
            r->method_seen = true; /* the rest waits for the line end */
            return 0;
        }
        if (c == '\r' && k + 1 == len) {
            r->method_scan = k; /* looked at again when more arrives */
            return 0;
        }
        if (!http_is_tchar(c))
            return fail(r, HTTP_REQUEST_EBAD, "method is not a token");
    }
    r->method_scan = len;
    return 0;
}

/* The head reached max_head. When the request-line alone did, RFC 9112
 * section 3 says what is too long: a method longer than any implemented
 * (501), a request-target longer than the server parses (414, a MUST). */
static int head_too_big(http_request_t *r)
{
    /* The bytes just taken first, as if they had come in pieces. */
    int rc = check_partial_method(r);
    if (rc)
        return rc;
    if (r->state == S_REQUEST_LINE && r->line_start == 0) {
        const char *line = r->head.p, *end = line + r->head.len;
        const char *sp1 = memchr(line, ' ', r->head.len);
        if (!sp1)
            return fail(r, HTTP_REQUEST_EUNSUPPORTED, "method too long");
        if (sp1 == line)
            return fail(r, HTTP_REQUEST_EBAD, "bad request line");
        if (!memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)))
            return fail(r, HTTP_REQUEST_EURI_TOO_LONG, "request target too long");
        return fail(r, HTTP_REQUEST_EBAD, "bad HTTP version");
    }
    return fail(r, HTTP_REQUEST_ETOO_BIG, "request head too large");
}

int http_request_feed(http_request_t *r, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    if (r->state == S_DONE || r->state == S_ERROR) {
        *used = 0;
        return r->result;
    }
    if (n > 0)
        r->started = true;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
        if (take > r->max_head - r->head.len) {
            /* What fits is kept: it tells which part is too long. */
            size_t room = r->max_head - r->head.len;
            buf_append(&r->head, p + i, room);
            *used = i + room;
            return head_too_big(r);
        }
        buf_append(&r->head, p + i, take);
        i += take;
        if (!nl) {
            int rc = check_partial_method(r);
            if (rc) {
                *used = i;
                return rc;
            }
            break;
        }
        int rc = on_line(r);
        if (rc != 0) {
            *used = i;
            return rc;
        }
    }
    *used = i;
    return HTTP_REQUEST_AGAIN;
}

/* ---- lookups ---- */

const char *http_request_header(const http_request_info_t *info, const char *name, size_t *len)
{
    for (size_t i = 0; i < info->nheaders; i++) {
        if (name_is(&info->headers[i], name)) {
            if (len)
                *len = info->headers[i].value_len;
            return info->headers[i].value;
        }
    }
    return NULL;
}

size_t http_request_header_count(const http_request_info_t *info, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < info->nheaders; i++)
        n += name_is(&info->headers[i], name);
    return n;
}

struct token_find {
    const char *token;
    size_t len;
};

static int token_elem(void *ud, const char *e, size_t n)
{
    const struct token_find *f = ud;
    return n == f->len && ascii_ieq(e, f->token, n);
}

size_t http_head_end(const char *p, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

bool http_list_has_token(const char *v, size_t n, const char *token)
{
    struct token_find f = {token, strlen(token)};
    return each_element(v, n, token_elem, &f) != 0;
}

bool http_request_has_token(const http_request_info_t *info, const char *name, const char *token)
{
    for (size_t i = 0; i < info->nheaders; i++) {
        const http_header_t *h = &info->headers[i];
        if (name_is(h, name) && http_list_has_token(h->value, h->value_len, token))
            return true;
    }
    return false;
}

int http_request_query_param(const char *query, size_t len, const char *name, buf_t *out)
{
    size_t nlen = strlen(name), i = 0;
    buf_reset(out);
    while (i < len) {
        size_t j = i;
        while (j < len && query[j] != '&' && query[j] != ';')
            j++;
        const char *eq = memchr(query + i, '=', j - i);
        size_t klen = eq ? (size_t)(eq - (query + i)) : j - i;
        if (klen == nlen && memcmp(query + i, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : query + j;
            size_t vlen = (size_t)(query + j - v);
            buf_append(out, "", 0); /* found, even when empty: out->p is set */
            for (size_t k = 0; k < vlen; k++) {
                char c = v[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    if (k + 2 >= vlen)
                        return -1;
                    int a = hex_value((unsigned char)v[k + 1]), b = hex_value((unsigned char)v[k + 2]);
                    if (a < 0 || b < 0)
                        return -1;
                    c = (char)(a * 16 + b);
                    k += 2;
                }
                buf_putc(out, c);
            }
            return 1;
        }
        i = j + 1;
    }
    return 0;
}

/* ---- chunked transfer coding (RFC 9112 section 7.1) ---- */

enum {
    C_SIZE,       /* hex digits of a chunk-size */
    C_EXT,        /* after the size: BWS, then extensions up to the line end */
    C_SIZE_LF,    /* CR seen at the end of the size line */
    C_DATA,       /* chunk data */
    C_DATA_CR,    /* CRLF after chunk data */
    C_DATA_LF,    /* LF after that CR */
    C_TRAILER,    /* at the start of a trailer line (or the final blank line) */
    C_TRAILER_LN, /* inside a trailer line */
    C_TRAILER_LF, /* CR seen at the end of a trailer line */
    C_END_LF,     /* CR of the final blank line seen */
    C_DONE,
    C_ERROR,
};

/* Bounds for what the decoder skips: one size line with its extensions, and
 * all trailers together. */
#define CHUNK_LINE_MAX    4096
#define CHUNK_TRAILER_MAX (16u * 1024u)

void http_request_chunked_init(http_request_chunked_t *d, size_t max_body)
{
    memset(d, 0, sizeof(*d));
    d->state = C_SIZE;
    d->max_body = max_body;
    d->error = "";
}

const char *http_request_chunked_error(const http_request_chunked_t *d)
{
    return d->error;
}

static int chunk_fail(http_request_chunked_t *d, int result, const char *why)
{
    d->state = C_ERROR;
    d->result = result;
    d->error = why;
    return result;
}

/* The size line ended: data follows, or the last chunk was announced. */
static int chunk_size_done(http_request_chunked_t *d, const buf_t *out)
{
    if (d->chunk_left > d->max_body - out->len)
        return chunk_fail(d, HTTP_REQUEST_EBODY_TOO_BIG, "chunked body too large");
    d->state = d->chunk_left ? C_DATA : C_TRAILER;
    d->line_len = 0;
    return 0;
}

/* One byte of a chunk-size line's digits. *eat says whether it was used
 * (a byte that fails the size is left unused). Returns 0 or an error. */
static int chunk_size_char(http_request_chunked_t *d, unsigned char c, const buf_t *out,
                           bool *eat)
{
    *eat = false;
    int v = hex_value(c);
    if (v >= 0) {
        if (++d->ndigits > 16)
            return chunk_fail(d, HTTP_REQUEST_EBAD, "chunk size too long");
        *eat = true;
        /* Larger than the body may be: stop before any overflow. */
        d->chunk_left = d->chunk_left * 16 + (uint64_t)v;
        if (d->chunk_left > d->max_body)
            return chunk_fail(d, HTTP_REQUEST_EBODY_TOO_BIG, "chunked body too large");
        return 0;
    }
    if (d->ndigits == 0)
        return chunk_fail(d, HTTP_REQUEST_EBAD, "bad chunk size");
    d->line_len = d->ndigits;
    if (c == ';' || c == ' ' || c == '\t') {
        d->state = C_EXT;
    } else if (c == '\r') {
        d->state = C_SIZE_LF;
    } else if (c == '\n') {
        *eat = true;
        return chunk_size_done(d, out);
    } else {
        return chunk_fail(d, HTTP_REQUEST_EBAD, "bad chunk size");
    }
    *eat = true;
    return 0;
}

/* One byte of the rest of a size line (extension, CR) or of the line end
 * after a chunk's data. Always used. Returns 0 or an error. */
static int chunk_line_char(http_request_chunked_t *d, unsigned char c, const buf_t *out)
{
    switch (d->state) {
    case C_EXT:
        if (++d->line_len > CHUNK_LINE_MAX)
            return chunk_fail(d, HTTP_REQUEST_EBAD, "chunk extension too long");
        if (c == '\r')
            d->state = C_SIZE_LF;
        else if (c == '\n')
            return chunk_size_done(d, out);
        else if (!is_value_char(c))
            return chunk_fail(d, HTTP_REQUEST_EBAD, "control character in chunk extension");
        return 0;
    case C_SIZE_LF:
        if (c != '\n')
            return chunk_fail(d, HTTP_REQUEST_EBAD, "bare CR in chunk size line");
        return chunk_size_done(d, out);
    case C_DATA_CR:
        if (c == '\r') {
            d->state = C_DATA_LF;
            return 0;
        }
        if (c != '\n')
            return chunk_fail(d, HTTP_REQUEST_EBAD, "chunk data longer than its size");
        d->state = C_SIZE;
        d->ndigits = 0;
        return 0;
    default: /* C_DATA_LF */
        if (c != '\n')
            return chunk_fail(d, HTTP_REQUEST_EBAD, "chunk data longer than its size");
        d->state = C_SIZE;
        d->ndigits = 0;
        return 0;
    }
}

/* One byte of the trailer section. Always used. Returns 0, DONE at the
 * final empty line, or an error. */
static int chunk_trailer_char(http_request_chunked_t *d, unsigned char c)
{
    switch (d->state) {
    case C_TRAILER:
        if (c == '\r') {
            d->state = C_END_LF;
        } else if (c == '\n') {
            d->state = C_DONE;
            return HTTP_REQUEST_DONE;
        } else if (http_is_tchar(c)) {
            d->state = C_TRAILER_LN;
            d->trailer_len++;
        } else {
            return chunk_fail(d, HTTP_REQUEST_EBAD, "bad trailer line");
        }
        return 0;
    case C_TRAILER_LN:
        if (++d->trailer_len > CHUNK_TRAILER_MAX)
            return chunk_fail(d, HTTP_REQUEST_EBAD, "trailers too large");
        if (c == '\r')
            d->state = C_TRAILER_LF;
        else if (c == '\n')
            d->state = C_TRAILER;
        else if (!is_value_char(c))
            return chunk_fail(d, HTTP_REQUEST_EBAD, "control character in trailer");
        return 0;
    default: /* C_TRAILER_LF, C_END_LF */
        if (c != '\n')
            return chunk_fail(d, HTTP_REQUEST_EBAD, "bare CR in trailer");
        if (d->state == C_END_LF) {
            d->state = C_DONE;
            return HTTP_REQUEST_DONE;
        }
        d->state = C_TRAILER;
        return 0;
    }
}

int http_request_chunked_feed(http_request_chunked_t *d, const char *p, size_t n, buf_t *out,
                              size_t *used)
{
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        unsigned char c = (unsigned char)p[i];
        switch (d->state) {
        case C_SIZE: {
            bool eat;
            rc = chunk_size_char(d, c, out, &eat);
            i += eat;
            break;
        }
        case C_EXT:
        case C_SIZE_LF:
        case C_DATA_CR:
        case C_DATA_LF:
            rc = chunk_line_char(d, c, out);
            i++;
            break;
        case C_DATA: {
            size_t take = n - i;
            if (take > d->chunk_left)
                take = (size_t)d->chunk_left;
            buf_append(out, p + i, take);
            d->chunk_left -= take;
            i += take;
            if (d->chunk_left == 0)
                d->state = C_DATA_CR;
            break;
        }
        case C_TRAILER:
        case C_TRAILER_LN:
        case C_TRAILER_LF:
        case C_END_LF:
            rc = chunk_trailer_char(d, c);
            i++;
            break;
        case C_DONE:
            *used = i;
            return HTTP_REQUEST_DONE;
        default:
            *used = i;
            return d->result;
        }
    }
    *used = i;
    if (rc == 0 && d->state == C_DONE)
        return HTTP_REQUEST_DONE;
    if (rc == 0 && d->state == C_ERROR)
        return d->result;
    return rc;
}

bool http_next_line(const char *p, size_t end, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= end)
        return false;
    const char *s = p + *pos;
    const char *nl = memchr(s, '\n', end - *pos);
    size_t l = nl ? (size_t)(nl - s) : end - *pos;
    *pos += l + (nl ? 1 : 0);
    if (l && s[l - 1] == '\r')
        l--;
    *line = s;
    *n = l;
    return true;
}

bool http_user_header_named(const char *line, const char *name)
{
    size_t n = strlen(name);
    return ascii_ieq(line, name, n) && (line[n] == ':' || line[n] == ';');
}

void http_put_user_header(buf_t *out, const char *h)
{
    size_t n = strlen(h);
    const char *colon = strchr(h, ':');
    if (colon && colon[1 + strspn(colon + 1, " \t")] == '\0')
        return;
    if (!colon && n && h[n - 1] == ';')
        buf_printf(out, "%.*s:\r\n", (int)(n - 1), h);
    else
        buf_printf(out, "%s\r\n", h);
}
