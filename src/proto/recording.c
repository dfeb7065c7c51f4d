#include "recording.h"
#include "diag.h"
#include "event_json.h"
#include "exitcode.h"
#include "redact.h"
#include "text.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writing ---- */

/* Writes w->line with one write_all: a reader of a live recording (tail -f,
 * or the file after a crash) sees whole lines only, short of the one being
 * written when the process died. The first error sticks; later lines are
 * dropped, since a recording with a hole in the middle would replay wrong. */
static void rec_write_line(rec_writer_t *w)
{
    if (!w->failed && write_all(w->fd, w->line.p, w->line.len) < 0) {
        w->failed = true;
        w->errno_saved = errno;
    }
    buf_reset(&w->line);
    buf_shrink(&w->line, 1 << 20);
}

int rec_open(rec_writer_t *w, const char *path, const char *url, rec_proto_t proto, char *err,
             size_t errlen)
{
    memset(w, 0, sizeof(*w));
    buf_init(&w->line);
    w->proto = proto;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (w->fd < 0) {
        snprintf(err, errlen, "cannot create recording %s: %s", path, strerror(errno));
        return -1;
    }
    w->start_mono = mono_ns();
    char started[RFC3339_LEN + 1];
    buf_printf(&w->line, "{\"evcat_recording\":%d,\"url\":", RECORDING_VERSION);
    json_quote(&w->line, url, strlen(url));
    buf_printf(&w->line, ",\"proto\":\"%s\",\"started\":\"%s\"}\n",
               proto == REC_WS ? "ws" : "sse", fmt_rfc3339(started, real_ns()));
    /* A header that cannot be written (a full disk, /dev/full) is a write
     * error like any other: kept and reported by rec_close, not a usage
     * error, since the path itself was fine. */
    rec_write_line(w);
    return 0;
}

/* Closes a line begun by out_json_*: "t" last, so that a recorded line minus
 * "t" is byte for byte what `-o json` prints. */
static void rec_finish(rec_writer_t *w)
{
    uint64_t now = mono_ns();
    uint64_t us = now > w->start_mono ? (now - w->start_mono) / 1000u : 0;
    buf_printf(&w->line, ",\"t\":%llu.%06llu}\n", (unsigned long long)(us / 1000000u),
               (unsigned long long)(us % 1000000u));
    rec_write_line(w);
}

void rec_sse_event(rec_writer_t *w, const sse_event_t *ev, uint64_t real_ns_)
{
    if (w->failed)
        return;
    event_json_sse(&w->line, ev, real_ns_);
    if (w->parse_json)
        event_json_parsed(&w->line, ev->data, ev->data_len);
    rec_finish(w);
}

void rec_ws_message(rec_writer_t *w, bool in, int type, const void *p, size_t n, uint16_t code,
                    uint64_t real_ns_)
{
    if (w->failed)
        return;
    event_json_ws(&w->line, in, type, p, n, code, real_ns_);
    if (w->parse_json && type == 1)
        event_json_parsed(&w->line, p, n);
    rec_finish(w);
}

int rec_close(rec_writer_t *w)
{
    if (w->fd >= 0) {
        /* close(2) can report a deferred write error (NFS, some FUSE
         * filesystems); it counts like any other. */
        if (close(w->fd) < 0 && !w->failed && errno != EINTR) {
            w->failed = true;
            w->errno_saved = errno;
        }
        w->fd = -1;
    }
    buf_free(&w->line);
    if (w->failed) {
        errno = w->errno_saved;
        return -1;
    }
    return 0;
}

/* ---- reading ----
 *
 * Each line is parsed by a small JSON reader of its own rather than cJSON:
 * cJSON keeps strings NUL-terminated, so a text message holding U+0000 (valid
 * in WebSocket text and in JSON as \u0000) would come back cut short. The
 * reader knows one flat object per line; values of fields it does not know
 * are checked and skipped, nested to JSON_MAX_DEPTH. */

#define JSON_MAX_DEPTH 64

typedef enum { JV_NONE, JV_STRING, JV_NUMBER, JV_OTHER } jv_kind_t;

typedef struct jval {
    jv_kind_t kind;
    buf_t str; /* owned: decoded JSON_STRING (may hold NUL) */
    double num;
} jval_t;

/* The fields a recording line may carry; anything else is ignored. */
enum {
    F_VERSION, F_URL, F_PROTO, F_STARTED, F_DIR, F_TYPE, F_EVENT, F_DATA, F_ID, F_DATA_B64,
    F_CODE, F_REASON, F_T, F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "evcat_recording", "url", "proto", "started", "dir", "type", "event", "data", "id",
    "data_b64", "code", "reason", "t",
};

typedef struct jparse {
    const char *p, *end;
    bool eof;           /* the error was running out of input (a cut-short line) */
    char what[96];      /* the error */
    buf_t key;          /* owned: scratch for keys */
    jval_t f[F_COUNT];  /* owned strings */
} jparse_t;

static int jfail(jparse_t *j, bool eof, const char *what)
{
    j->eof = eof;
    snprintf(j->what, sizeof(j->what), "%s", what);
    return -1;
}

static void jskip_ws(jparse_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)s[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static void put_utf8(buf_t *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, u, n);
}

/* A string at j->p (the opening quote), decoded into out (NULL: checked
 * only). Raw bytes >= 0x80 pass through; whether they are UTF-8 is checked
 * where it matters (text data). */
static int jstring(jparse_t *j, buf_t *out)
{
    j->p++; /* '"' */
    for (;;) {
        const char *run = j->p;
        while (j->p < j->end && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20)
            j->p++;
        if (out)
            buf_append(out, run, (size_t)(j->p - run));
        if (j->p >= j->end)
            return jfail(j, true, "unterminated string");
        char c = *j->p++;
        if (c == '"')
            break;
        if (c != '\\')
            return jfail(j, false, "control character in a string");
        if (j->p >= j->end)
            return jfail(j, true, "unterminated string");
        char e = *j->p++;
        unsigned cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (j->end - j->p < 4)
                return jfail(j, true, "unterminated string");
            if (hex4(j->p, &cp) < 0)
                return jfail(j, false, "bad \\u escape");
            j->p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return jfail(j, false, "lone surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                ptrdiff_t have = j->end - j->p;
                if ((have >= 1 && j->p[0] != '\\') || (have >= 2 && j->p[1] != 'u'))
                    return jfail(j, false, "lone surrogate in a \\u escape");
                if (have < 6)
                    return jfail(j, true, "unterminated string");
                if (hex4(j->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return jfail(j, false, "lone surrogate in a \\u escape");
                j->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            break;
        default:
            return jfail(j, false, "bad escape in a string");
        }
        if (out)
            put_utf8(out, cp);
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A number per RFC 8259's grammar (strtod alone would take "0x1p3", "inf"). */
static int jnumber(jparse_t *j, double *out)
{
    const char *s = j->p;
    const char *q = s;
    if (q < j->end && *q == '-')
        q++;
    if (q >= j->end)
        return jfail(j, true, "cut-short number");
    if (*q == '0') {
        q++;
    } else if (is_digit(*q)) {
        while (q < j->end && is_digit(*q))
            q++;
    } else {
        return jfail(j, false, "bad number");
    }
    if (q < j->end && *q == '.') {
        q++;
        if (q >= j->end)
            return jfail(j, true, "cut-short number");
        if (!is_digit(*q))
            return jfail(j, false, "bad number");
        while (q < j->end && is_digit(*q))
            q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < j->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= j->end)
            return jfail(j, true, "cut-short number");
        if (!is_digit(*q))
            return jfail(j, false, "bad number");
        while (q < j->end && is_digit(*q))
            q++;
    }
    /* A number at the very end of the input may go on in the bytes that were
     * never written: the enclosing object is unterminated anyway, so the
     * caller reports that. */
    char tmp[64];
    size_t n = (size_t)(q - s);
    if (n >= sizeof(tmp)) {
        *out = NAN; /* absurdly long: not a t or a code evcat would write */
    } else {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        *out = strtod(tmp, NULL);
    }
    j->p = q;
    return 0;
}

static int jliteral(jparse_t *j, const char *lit)
{
    size_t n = strlen(lit);
    size_t have = (size_t)(j->end - j->p);
    if (memcmp(j->p, lit, have < n ? have : n) != 0)
        return jfail(j, false, "not JSON");
    if (have < n)
        return jfail(j, true, "cut short");
    j->p += n;
    return 0;
}

/* Any value, checked and skipped (or, for strings and numbers, kept in v). */
static int jvalue(jparse_t *j, jval_t *v, int depth)
{
    jskip_ws(j);
    if (j->p >= j->end)
        return jfail(j, true, "cut short");
    if (depth > JSON_MAX_DEPTH)
        return jfail(j, false, "nested too deeply");
    char c = *j->p;
    if (c == '"') {
        if (v) {
            buf_reset(&v->str);
            v->kind = JV_STRING;
        }
        return jstring(j, v ? &v->str : NULL);
    }
    if (c == '-' || is_digit(c)) {
        double d;
        if (jnumber(j, &d) < 0)
            return -1;
        if (v) {
            v->kind = JV_NUMBER;
            v->num = d;
        }
        return 0;
    }
    if (v)
        v->kind = JV_OTHER;
    if (c == 't')
        return jliteral(j, "true");
    if (c == 'f')
        return jliteral(j, "false");
    if (c == 'n')
        return jliteral(j, "null");
    if (c != '{' && c != '[')
        return jfail(j, false, "not JSON");
    char close = c == '{' ? '}' : ']';
    j->p++;
    jskip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            jskip_ws(j);
            if (j->p >= j->end)
                return jfail(j, true, "cut short");
            if (*j->p != '"')
                return jfail(j, false, "not JSON");
            if (jstring(j, NULL) < 0)
                return -1;
            jskip_ws(j);
            if (j->p >= j->end)
                return jfail(j, true, "cut short");
            if (*j->p++ != ':')
                return jfail(j, false, "not JSON");
        }
        if (jvalue(j, NULL, depth + 1) < 0)
            return -1;
        jskip_ws(j);
        if (j->p >= j->end)
            return jfail(j, true, "cut short");
        c = *j->p++;
        if (c == close)
            return 0;
        if (c != ',')
            return jfail(j, false, "not JSON");
    }
}

/* One line: a JSON object whose known fields land in j->f. */
static int jline(jparse_t *j, const char *s, size_t n)
{
    j->p = s;
    j->end = s + n;
    j->eof = false;
    for (int i = 0; i < F_COUNT; i++)
        j->f[i].kind = JV_NONE;
    jskip_ws(j);
    if (j->p >= j->end)
        return jfail(j, true, "cut short");
    if (*j->p != '{')
        return jfail(j, false, "not a JSON object");
    j->p++;
    jskip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            jskip_ws(j);
            if (j->p >= j->end)
                return jfail(j, true, "cut short");
            if (*j->p != '"')
                return jfail(j, false, "not JSON");
            buf_reset(&j->key);
            if (jstring(j, &j->key) < 0)
                return -1;
            jskip_ws(j);
            if (j->p >= j->end)
                return jfail(j, true, "cut short");
            if (*j->p++ != ':')
                return jfail(j, false, "not JSON");
            jval_t *v = NULL;
            for (int i = 0; i < F_COUNT; i++) {
                if (j->key.len == strlen(field_names[i])
                    && memcmp(j->key.p, field_names[i], j->key.len) == 0) {
                    v = &j->f[i];
                    break;
                }
            }
            if (jvalue(j, v, 1) < 0)
                return -1;
            jskip_ws(j);
            if (j->p >= j->end)
                return jfail(j, true, "cut short");
            char c = *j->p++;
            if (c == '}')
                break;
            if (c != ',')
                return jfail(j, false, "not JSON");
        }
    }
    jskip_ws(j);
    if (j->p != j->end)
        return jfail(j, false, "more after the JSON object");
    return 0;
}

static int lerr(char *err, size_t errlen, size_t line, const char *fmt, ...) ATTR_PRINTF(4, 5);
static int lerr(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "line %zu: ", line);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool str_is(const jval_t *v, const char *s)
{
    return v->kind == JV_STRING && v->str.len == strlen(s) && memcmp(v->str.p, s, v->str.len) == 0;
}

/* A required string field; NULL after reporting. */
static const jval_t *need_string(jparse_t *j, int f, size_t line, char *err, size_t errlen)
{
    if (j->f[f].kind == JV_NONE) {
        lerr(err, errlen, line, "\"%s\" is missing", field_names[f]);
        return NULL;
    }
    if (j->f[f].kind != JV_STRING) {
        lerr(err, errlen, line, "\"%s\" is not a string", field_names[f]);
        return NULL;
    }
    return &j->f[f];
}

static char *dup_val(const jval_t *v, size_t *len)
{
    char *s = xmalloc(v->str.len + 1);
    if (v->str.len)
        memcpy(s, v->str.p, v->str.len);
    s[v->str.len] = '\0';
    if (len)
        *len = v->str.len;
    return s;
}

static int parse_header(jparse_t *j, recording_t *out, char *err, size_t errlen)
{
    const jval_t *ver = &j->f[F_VERSION];
    if (ver->kind == JV_NONE)
        return lerr(err, errlen, 1, "not an evcat recording (the header with \"evcat_recording\" "
                                    "must come first)");
    if (ver->kind != JV_NUMBER)
        return lerr(err, errlen, 1, "\"evcat_recording\" is not a number");
    if (ver->num != RECORDING_VERSION)
        return lerr(err, errlen, 1, "a recording of version %g; this evcat reads version %d",
                    ver->num, RECORDING_VERSION);
    const jval_t *proto = need_string(j, F_PROTO, 1, err, errlen);
    if (!proto)
        return -1;
    if (str_is(proto, "sse"))
        out->proto = REC_SSE;
    else if (str_is(proto, "ws"))
        out->proto = REC_WS;
    else
        return lerr(err, errlen, 1, "\"proto\" is neither \"sse\" nor \"ws\"");
    const jval_t *url = need_string(j, F_URL, 1, err, errlen);
    if (!url)
        return -1;
    out->url = dup_val(url, NULL);
    /* "started" is informational: absent or odd, the recording still plays. */
    out->started = j->f[F_STARTED].kind == JV_STRING ? dup_val(&j->f[F_STARTED], NULL)
                                                     : xstrdup("");
    return 0;
}

/* "data" as a string of at most max_message bytes of valid UTF-8 (what
 * names it in the error), or NULL with the error set. */
static const jval_t *need_text(jparse_t *j, size_t max_message, const char *what, size_t line,
                               char *err, size_t errlen)
{
    const jval_t *data = need_string(j, F_DATA, line, err, errlen);
    if (!data)
        return NULL;
    if (data->str.len > max_message) {
        lerr(err, errlen, line, "a message of %zu bytes is over the maximum (%zu)", data->str.len,
             max_message);
        return NULL;
    }
    if (!utf8_valid(data->str.p, data->str.len)) {
        lerr(err, errlen, line, "%s is not valid UTF-8", what);
        return NULL;
    }
    return data;
}

static int parse_ws(jparse_t *j, rec_msg_t *m, size_t max_message, size_t line, char *err,
                    size_t errlen)
{
    const jval_t *dir = need_string(j, F_DIR, line, err, errlen);
    if (!dir)
        return -1;
    if (str_is(dir, "in"))
        m->in = true;
    else if (str_is(dir, "out"))
        m->in = false;
    else
        return lerr(err, errlen, line, "\"dir\" is neither \"in\" nor \"out\"");
    const jval_t *type = need_string(j, F_TYPE, line, err, errlen);
    if (!type)
        return -1;
    if (str_is(type, "text")) {
        m->type = 1;
    } else if (str_is(type, "binary")) {
        m->type = 2;
    } else if (str_is(type, "ping")) {
        m->type = 9;
    } else if (str_is(type, "pong")) {
        m->type = 10;
    } else if (str_is(type, "close")) {
        m->type = 8;
    } else {
        return lerr(err, errlen, line,
                    "\"type\" is not one of \"text\", \"binary\", \"ping\", \"pong\", \"close\"");
    }
    if (m->type == 1) {
        const jval_t *data = need_text(j, max_message, "text \"data\"", line, err, errlen);
        if (!data)
            return -1;
        m->data = dup_val(data, &m->len);
    } else if (m->type == 8) {
        /* evcat writes a code always; 1005 ("none given") for a hand-written
         * close without one, as recording.h promises. */
        const jval_t *code = &j->f[F_CODE];
        if (code->kind == JV_NONE)
            m->code = 1005;
        else if (code->kind != JV_NUMBER || !(code->num >= 0 && code->num <= 65535)
            || code->num != (double)(uint16_t)code->num)
            return lerr(err, errlen, line, "\"code\" is not a close code (0-65535)");
        else
            m->code = (uint16_t)code->num;
        const jval_t *reason = &j->f[F_REASON];
        if (reason->kind != JV_NONE && reason->kind != JV_STRING)
            return lerr(err, errlen, line, "\"reason\" is not a string");
        if (reason->kind == JV_STRING) {
            /* A close frame holds 2 bytes of code and at most 123 of reason. */
            if (reason->str.len > 123)
                return lerr(err, errlen, line, "\"reason\" is over 123 bytes");
            m->data = dup_val(reason, &m->len);
        } else {
            m->data = xstrdup("");
        }
    } else {
        const jval_t *b64 = need_string(j, F_DATA_B64, line, err, errlen);
        if (!b64)
            return -1;
        if (b64->str.len / 4 * 3 > max_message + 3)
            return lerr(err, errlen, line, "a message of about %zu bytes is over the maximum (%zu)",
                        b64->str.len / 4 * 3, max_message);
        buf_t d;
        buf_init(&d);
        if (base64_decode(&d, b64->str.p ? b64->str.p : "", b64->str.len) < 0) {
            buf_free(&d);
            return lerr(err, errlen, line, "\"data_b64\" is not valid base64");
        }
        if (d.len > max_message) {
            size_t n = d.len;
            buf_free(&d);
            return lerr(err, errlen, line, "a message of %zu bytes is over the maximum (%zu)", n,
                        max_message);
        }
        if (m->type != 2 && d.len > 125) {
            buf_free(&d);
            return lerr(err, errlen, line, "a %s payload is over 125 bytes",
                        m->type == 9 ? "ping" : "pong");
        }
        m->len = d.len;
        m->data = xmalloc(d.len + 1);
        if (d.len)
            memcpy(m->data, d.p, d.len);
        m->data[d.len] = '\0';
        buf_free(&d);
    }
    return 0;
}

static int parse_sse(jparse_t *j, rec_msg_t *m, size_t max_message, size_t line, char *err,
                     size_t errlen)
{
    m->in = true;
    m->type = 0;
    const jval_t *data = need_text(j, max_message, "\"data\"", line, err, errlen);
    if (!data)
        return -1;
    const jval_t *ev = &j->f[F_EVENT], *id = &j->f[F_ID];
    if (ev->kind != JV_NONE && ev->kind != JV_STRING)
        return lerr(err, errlen, line, "\"event\" is not a string");
    if (id->kind != JV_NONE && id->kind != JV_STRING)
        return lerr(err, errlen, line, "\"id\" is not a string");
    /* An event type or ID that would break an SSE line when served again. */
    if (ev->kind == JV_STRING
        && (memchr(ev->str.p ? ev->str.p : "", '\n', ev->str.len)
            || memchr(ev->str.p ? ev->str.p : "", '\r', ev->str.len)
            || memchr(ev->str.p ? ev->str.p : "", '\0', ev->str.len)))
        return lerr(err, errlen, line, "\"event\" holds a line break or NUL");
    if (id->kind == JV_STRING
        && (memchr(id->str.p ? id->str.p : "", '\n', id->str.len)
            || memchr(id->str.p ? id->str.p : "", '\r', id->str.len)
            || memchr(id->str.p ? id->str.p : "", '\0', id->str.len)))
        return lerr(err, errlen, line, "\"id\" holds a line break or NUL");
    m->data = dup_val(data, &m->len);
    m->event = ev->kind == JV_STRING && ev->str.len ? dup_val(ev, NULL) : xstrdup("message");
    m->id = id->kind == JV_STRING ? dup_val(id, NULL) : xstrdup("");
    return 0;
}

static void msg_clear(rec_msg_t *m)
{
    free(m->data);
    free(m->event);
    free(m->id);
}

int rec_parse(const char *text, size_t len, size_t max_message, recording_t *out, char *err,
              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    jparse_t j;
    memset(&j, 0, sizeof(j));
    buf_init(&j.key);
    for (int i = 0; i < F_COUNT; i++)
        buf_init(&j.f[i].str);
    size_t cap = 0;
    double last_t = 0;
    size_t line = 0;
    bool have_header = false;
    int rc = -1;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        bool last = nl == NULL;
        const char *le = last ? end : nl;
        line++;
        const char *s = p;
        p = last ? end : nl + 1;
        if (jline(&j, s, (size_t)(le - s)) < 0) {
            /* Only the line being written when the recorder died may be cut
             * short: it has no newline and its JSON ran out, not went wrong. */
            if (last && j.eof && have_header) {
                out->truncated = true;
                break;
            }
            lerr(err, errlen, line, "not JSON (%s)", j.what);
            goto out;
        }
        if (!have_header) {
            if (parse_header(&j, out, err, errlen) < 0)
                goto out;
            have_header = true;
            continue;
        }
        if (j.f[F_VERSION].kind != JV_NONE) {
            lerr(err, errlen, line, "a second header");
            goto out;
        }
        rec_msg_t m;
        memset(&m, 0, sizeof(m));
        const jval_t *t = &j.f[F_T];
        if (t->kind == JV_NONE) {
            lerr(err, errlen, line, "\"t\" is missing");
            goto out;
        }
        if (t->kind != JV_NUMBER || !isfinite(t->num)) {
            lerr(err, errlen, line, "\"t\" is not a number");
            goto out;
        }
        if (t->num < 0) {
            lerr(err, errlen, line, "\"t\" is negative");
            goto out;
        }
        if (t->num < last_t) {
            lerr(err, errlen, line, "\"t\" goes back in time (%.6f after %.6f)", t->num, last_t);
            goto out;
        }
        m.t = last_t = t->num;
        const jval_t *proto = &j.f[F_PROTO];
        if (proto->kind != JV_NONE && !str_is(proto, out->proto == REC_WS ? "ws" : "sse")) {
            lerr(err, errlen, line, "\"proto\" is not the header's \"%s\"",
                 out->proto == REC_WS ? "ws" : "sse");
            goto out;
        }
        int r = out->proto == REC_WS ? parse_ws(&j, &m, max_message, line, err, errlen)
                                     : parse_sse(&j, &m, max_message, line, err, errlen);
        if (r < 0) {
            msg_clear(&m);
            goto out;
        }
        if (out->nmsgs == cap) {
            cap = cap ? cap * 2 : 64;
            out->msgs = xrealloc(out->msgs, cap * sizeof(*out->msgs));
        }
        out->msgs[out->nmsgs++] = m;
    }
    if (!have_header) {
        snprintf(err, errlen, "line 1: no recording header (the file is empty or cut short)");
        goto out;
    }
    rc = 0;
out:
    buf_free(&j.key);
    for (int i = 0; i < F_COUNT; i++)
        buf_free(&j.f[i].str);
    if (rc < 0)
        rec_free(out);
    return rc;
}

int rec_load(const char *path, size_t max_file, size_t max_message, recording_t *out, char *err,
             size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    buf_t b;
    buf_init(&b);
    int rc = -1;
    for (;;) {
        buf_reserve(&b, 65536);
        size_t room = b.cap - b.len - 1; /* buf keeps a NUL past len */
        ssize_t n = read(fd, b.p + b.len, room);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        b.p[b.len] = '\0';
        if (b.len > max_file) {
            snprintf(err, errlen, "%s: over the maximum recording size (%zu bytes)", path,
                     max_file);
            goto out;
        }
    }
    char perr[256];
    if (rec_parse(b.p ? b.p : "", b.len, max_message, out, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "%s: %s", path, perr);
        goto out;
    }
    rc = 0;
out:
    close(fd);
    buf_free(&b);
    return rc;
}

void rec_free(recording_t *r)
{
    for (size_t i = 0; i < r->nmsgs; i++)
        msg_clear(&r->msgs[i]);
    free(r->msgs);
    free(r->url);
    free(r->started);
    memset(r, 0, sizeof(*r));
}

int rec_start(rec_writer_t *w, const char *path, const char *cmd, const char *url,
              rec_proto_t proto)
{
    w->fd = -1;
    if (!path)
        return 0;
    char *shown = strcmp(url, "-") == 0 ? xstrdup("-") : redact_url(url);
    char err[512];
    int rc = rec_open(w, path, shown, proto, err, sizeof(err));
    free(shown);
    if (rc < 0) {
        diag_error("%s: %s", cmd, err);
        return -1;
    }
    return 0;
}

int rec_stop(rec_writer_t *w, const char *path, int exit_code)
{
    if (!path || w->fd < 0)
        return exit_code;
    if (rec_close(w) < 0) {
        diag_error("writing the recording %s failed: %s", path, strerror(w->errno_saved));
        if (exit_code == EXIT_OK)
            exit_code = EXIT_FAIL;
    }
    return exit_code;
}
