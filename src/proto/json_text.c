/* json_text: check a payload as JSON and write it again (see json_text.h).
 *
 * One scanner serves both: json_text_valid() runs it with no output,
 * json_text_write() with an output buffer and a style, on text already
 * known to be valid (so the writer has no error paths of its own). */
#include "json_text.h"

#include "text.h"

#include <string.h>

/* jq's default colours (jq 1.7): null, false, true, numbers, strings,
 * arrays, objects, object keys. */
#define C_NULL   "\033[1;30m"
#define C_FALSE  "\033[0;39m"
#define C_TRUE   "\033[0;39m"
#define C_NUMBER "\033[0;39m"
#define C_STRING "\033[0;32m"
#define C_PUNCT  "\033[1;39m"
#define C_KEY    "\033[34;1m"
#define C_RESET  "\033[0m"

typedef struct scan {
    const char *p, *end;
    buf_t *out;             /* NULL: check only */
    const json_style_t *st;
    unsigned depth;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static void put(scan_t *s, const char *color, const char *p, size_t n)
{
    if (!s->out)
        return;
    if (s->st->color && color)
        buf_puts(s->out, color);
    buf_append(s->out, p, n);
    if (s->st->color && color)
        buf_puts(s->out, C_RESET);
}

/* A new line at the current depth (indented styles only). */
static void newline(scan_t *s)
{
    if (!s->out || !s->st->indent)
        return;
    buf_putc(s->out, '\n');
    size_t spaces = s->st->margin + (size_t)s->depth * s->st->indent;
    for (size_t i = 0; i < spaces; i++)
        buf_putc(s->out, ' ');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool scan_string(scan_t *s, const char *color)
{
    const char *start = s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            if (!utf8_valid(start + 1, (size_t)(s->p - start - 2)))
                return false;
            put(s, color, start, (size_t)(s->p - start));
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (s->end - s->p < 2)
                return false;
            char e = s->p[1];
            if (e == 'u') {
                if (s->end - s->p < 6 || !is_hex(s->p[2]) || !is_hex(s->p[3]) || !is_hex(s->p[4]) ||
                    !is_hex(s->p[5]))
                    return false;
                s->p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0')
                return false;
            s->p += 2;
            continue;
        }
        s->p++;
    }
    return false;
}

static bool digits(scan_t *s)
{
    const char *at = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > at;
}

static bool scan_number(scan_t *s)
{
    const char *start = s->p;
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return false;
    }
    put(s, C_NUMBER, start, (size_t)(s->p - start));
    return true;
}

static bool scan_literal(scan_t *s, const char *word, const char *color)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    put(s, color, s->p, n);
    s->p += n;
    return true;
}

static bool scan_value(scan_t *s);

/* An object or an array, s->p at its opening bracket. */
static bool scan_container(scan_t *s)
{
    bool object = *s->p == '{';
    char close = object ? '}' : ']';
    if (++s->depth > JSON_TEXT_MAX_DEPTH)
        return false;
    put(s, C_PUNCT, s->p, 1);
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->depth--;
        put(s, C_PUNCT, s->p, 1);
        s->p++;
        return true;
    }
    for (;;) {
        newline(s);
        if (object) {
            skip_ws(s);
            if (s->p >= s->end || *s->p != '"' || !scan_string(s, C_KEY))
                return false;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return false;
            s->p++;
            put(s, C_PUNCT, ":", 1);
            if (s->out && (s->st->color || s->st->indent))
                buf_putc(s->out, ' ');
        }
        if (!scan_value(s))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == close)
            break;
        if (*s->p != ',')
            return false;
        s->p++;
        put(s, C_PUNCT, ",", 1);
        if (s->out && s->st->color && !s->st->indent)
            buf_putc(s->out, ' ');
    }
    s->depth--;
    newline(s);
    put(s, C_PUNCT, s->p, 1);
    s->p++;
    return true;
}

static bool scan_value(scan_t *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{':
    case '[':
        return scan_container(s);
    case '"':
        return scan_string(s, C_STRING);
    case 't':
        return scan_literal(s, "true", C_TRUE);
    case 'f':
        return scan_literal(s, "false", C_FALSE);
    case 'n':
        return scan_literal(s, "null", C_NULL);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s);
        return false;
    }
}

static bool scan_all(const char *p, size_t n, buf_t *out, const json_style_t *st)
{
    scan_t s = {.p = p, .end = p + n, .out = out, .st = st};
    if (!scan_value(&s))
        return false;
    skip_ws(&s);
    return s.p == s.end;
}

bool json_text_valid(const char *s, size_t n)
{
    static const json_style_t none;
    return scan_all(s, n, NULL, &none);
}

void json_text_write(buf_t *b, const char *s, size_t n, const json_style_t *st)
{
    static const json_style_t none;
    (void)scan_all(s, n, b, st ? st : &none);
}
