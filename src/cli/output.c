#include "output.h"
#include "exitcode.h"
#include "diag.h"
#include "text.h"
#include "event_json.h"
#include "json_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#define C_DIM   "\033[2m"
#define C_TYPE  "\033[36m"
#define C_ID    "\033[33m"
#define C_RESET "\033[0m"

int out_parse_format(const char *s, out_format_t *f)
{
    if (strcmp(s, "pretty") == 0)
        *f = OUT_PRETTY;
    else if (strcmp(s, "raw") == 0)
        *f = OUT_RAW;
    else if (strcmp(s, "json") == 0)
        *f = OUT_JSON;
    else
        return -1;
    return 0;
}

int out_parse_color(const char *s, color_mode_t *c)
{
    if (strcmp(s, "auto") == 0)
        *c = COLOR_AUTO;
    else if (strcmp(s, "always") == 0)
        *c = COLOR_ALWAYS;
    else if (strcmp(s, "never") == 0)
        *c = COLOR_NEVER;
    else
        return -1;
    return 0;
}

out_format_t out_default_format(int fd)
{
    return isatty(fd) ? OUT_PRETTY : OUT_RAW;
}

bool out_use_color(color_mode_t mode, int fd)
{
    if (mode != COLOR_AUTO)
        return mode == COLOR_ALWAYS;
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return isatty(fd);
}

void out_init(out_t *o, int fd, out_format_t format, bool color)
{
    memset(o, 0, sizeof(*o));
    o->fd = fd;
    o->format = format;
    o->color = color;
    buf_init(&o->buf);
}

void out_free(out_t *o)
{
    buf_free(&o->buf);
    free(o->pieces);
    o->pieces = NULL;
}

struct out_piece {
    const char *p; /* NULL: o->buf from off */
    size_t off;
    size_t n;
};

static void add_piece(out_t *o, const char *p, size_t off, size_t n)
{
    struct out_piece *last = o->npieces ? &o->pieces[o->npieces - 1] : NULL;
    if (last && p && last->p && last->p + last->n == p) { /* contiguous: one piece */
        last->n += n;
        return;
    }
    o->pieces[o->npieces++] = (struct out_piece){p, off, n};
}

/* What buf holds past the pieces becomes a piece. */
static void mark_buf(out_t *o)
{
    if (o->buf.len > o->buf_mark) {
        add_piece(o, NULL, o->buf_mark, o->buf.len - o->buf_mark);
        o->buf_mark = o->buf.len;
    }
}

void out_raw_ref(out_t *o, const char *p, size_t n)
{
    if (!o->pieces)
        o->pieces = xmalloc(OUT_PIECES * sizeof *o->pieces);
    if (o->npieces + 3 > OUT_PIECES) /* room for a stretch of buf, p, and the last stretch */
        out_flush(o);
    mark_buf(o);
    add_piece(o, p, 0, n);
}

/* Writes the pieces: one writev, then what a short write left piece by
 * piece (write_all waits on a full non-blocking descriptor). */
static int write_pieces(out_t *o)
{
    struct iovec iov[OUT_PIECES];
    mark_buf(o);
    size_t n = o->npieces, total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct out_piece *c = &o->pieces[i];
        iov[i].iov_base = (void *)(c->p ? c->p : o->buf.p + c->off);
        iov[i].iov_len = c->n;
        total += c->n;
    }
    o->npieces = 0;
    o->buf_mark = 0;
    ssize_t w;
    do
        w = writev(o->fd, iov, (int)n);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
    if (w >= 0 && (size_t)w == total)
        return 0;
    size_t done = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n; i++) {
        if (done >= iov[i].iov_len) {
            done -= iov[i].iov_len;
            continue;
        }
        if (write_all(o->fd, (char *)iov[i].iov_base + done, iov[i].iov_len - done) < 0)
            return -1;
        done = 0;
    }
    return 0;
}

/* Whether s[i..n) starts with a C1 control in UTF-8 (U+0080-U+009F, C2 80
 * to C2 9F): CSI, OSC and the rest, which terminals may act on as they do
 * on ESC [ and ESC ]. */
static inline bool c1_at(const unsigned char *s, size_t i, size_t n)
{
    return s[i] == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F;
}

/* Text for a terminal: control characters (an ESC could repaint or retitle
 * the user's terminal) shown as ^X, C1 controls as M-^X (as cat -v shows
 * them); newlines continue on an indented line. */
static void term_text(buf_t *b, const char *s, size_t n, size_t indent)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        bool c1 = c1_at(u, i, n);
        if (c >= 0x20 && c != 0x7f && !c1)
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        if (c1) {
            buf_puts(b, "M-^");
            buf_putc(b, (char)(u[i + 1] - 0x80 + '@'));
            run = ++i + 1;
        } else if (c == '\n') {
            buf_putc(b, '\n');
            for (size_t k = 0; k < indent; k++)
                buf_putc(b, ' ');
        } else if (c == '\t') {
            buf_putc(b, '\t');
        } else {
            buf_putc(b, '^');
            buf_putc(b, c == 0x7f ? '?' : (char)(c + '@'));
        }
    }
    buf_append(b, s + run, n - run);
}

/* Whether JSON text may go to a terminal as it is: a JSON string may hold
 * DEL and C1 controls unescaped, which term_text would show. */
static bool term_safe(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++)
        if (u[i] == 0x7f || c1_at(u, i, n))
            return false;
    return true;
}

static void pretty_time(buf_t *b, uint64_t real_ns)
{
    time_t secs = (time_t)(real_ns / 1000000000u);
    struct tm tm;
    localtime_r(&secs, &tm);
    buf_printf(b, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
               (unsigned)(real_ns % 1000000000u / 1000000u));
}

/* A payload for a terminal: JSON coloured (and indented with --indent)
 * when it is JSON and colour or --indent asks for it, else as text. Parsed
 * only then: plain pretty output costs no JSON check. */
static void term_payload(const out_t *o, buf_t *b, const char *s, size_t n, size_t margin)
{
    if ((o->color || o->indent) && json_text_valid(s, n) && term_safe(s, n)) {
        json_style_t st = {.color = o->color, .indent = o->indent, .margin = margin};
        json_text_write(b, s, n, &st);
        return;
    }
    term_text(b, s, n, margin);
}

void out_sse_event(out_t *o, const sse_event_t *ev, uint64_t real_ns)
{
    buf_t *b = &o->buf;
    switch (o->format) {
    case OUT_RAW:
        /* The hot path of `listen -o raw`: one reserve, one copy. */
        buf_reserve(b, ev->data_len + 1);
        memcpy(b->p + b->len, ev->data, ev->data_len);
        b->len += ev->data_len;
        b->p[b->len++] = '\n';
        b->p[b->len] = '\0';
        break;
    case OUT_JSON:
        event_json_sse(b, ev, real_ns);
        if (o->parse_json)
            event_json_parsed(b, ev->data, ev->data_len);
        buf_puts(b, "}\n");
        break;
    case OUT_PRETTY: {
        if (!o->no_time) {
            if (o->color)
                buf_puts(b, C_DIM);
            pretty_time(b, real_ns);
            buf_puts(b, o->color ? C_RESET " " : " ");
        }
        if (o->color)
            buf_puts(b, C_TYPE);
        term_text(b, ev->type, ev->type_len, 0);
        if (ev->id_len) {
            buf_puts(b, o->color ? C_RESET " " C_ID "#" : " #");
            term_text(b, ev->id, ev->id_len, 0);
        }
        if (o->color)
            buf_puts(b, C_RESET);
        buf_putc(b, ' ');
        /* Continuation lines of multi-line data line up under the first. */
        size_t indent = o->no_time ? 2 : 13; /* "HH:MM:SS.mmm " */
        term_payload(o, b, ev->data, ev->data_len, indent);
        buf_putc(b, '\n');
        break;
    }
    }
}

/* A binary payload for a terminal, in the hex /binary takes: up to 16
 * bytes on the line itself, more in rows of 16 under it (INDENT columns in),
 * each with its printable ASCII ('.' for the rest), the first OUT_HEX_MAX
 * bytes only. */
static void hex_rows(buf_t *b, const unsigned char *p, size_t n, size_t indent, bool color)
{
    size_t shown = n < OUT_HEX_MAX ? n : OUT_HEX_MAX;
    for (size_t row = 0; row < shown; row += 16) {
        size_t k = shown - row < 16 ? shown - row : 16;
        if (n > 16) {
            buf_putc(b, '\n');
            for (size_t i = 0; i < indent; i++)
                buf_putc(b, ' ');
        } else {
            buf_putc(b, ' ');
        }
        for (size_t i = 0; i < 16; i++) {
            if (i < k)
                buf_printf(b, i ? " %02x" : "%02x", p[row + i]);
            else if (n > 16) /* line the ASCII column up under the rows above */
                buf_puts(b, "   ");
        }
        buf_puts(b, color ? "  " C_DIM : "  ");
        for (size_t i = 0; i < k; i++) {
            unsigned char c = p[row + i];
            buf_putc(b, c >= 0x20 && c < 0x7f ? (char)c : '.');
        }
        if (color)
            buf_puts(b, C_RESET);
    }
    if (shown < n) {
        buf_putc(b, '\n');
        for (size_t i = 0; i < indent; i++)
            buf_putc(b, ' ');
        buf_printf(b, "\xe2\x80\xa6 %zu more bytes", n - shown);
    }
}

void out_ws_message(out_t *o, bool in, int type, const void *p, size_t n, uint16_t code,
                    uint64_t rtt_ns, uint64_t real_ns)
{
    buf_t *b = &o->buf;
    const char *s = p;
    switch (o->format) {
    case OUT_RAW:
        if (!in || (type != 1 && type != 2))
            return;
        if (type == 1)
            buf_append(b, s, n);
        else
            base64_append(b, s, n);
        buf_putc(b, '\n');
        return;
    case OUT_JSON:
        event_json_ws(b, in, type, s, n, code, real_ns);
        if (o->parse_json && type == 1)
            event_json_parsed(b, s, n);
        buf_puts(b, "}\n");
        return;
    case OUT_PRETTY: {
        size_t indent = o->no_time ? 2 : 15; /* "HH:MM:SS.mmm < " */
        if (!o->no_time) {
            if (o->color)
                buf_puts(b, C_DIM);
            pretty_time(b, real_ns);
            if (o->color)
                buf_puts(b, C_RESET);
            buf_putc(b, ' ');
        }
        buf_puts(b, in ? (o->color ? "\033[32m<\033[0m " : "< ")
                       : (o->color ? "\033[34m>\033[0m " : "> "));
        switch (type) {
        case 1:
            term_payload(o, b, s, n, indent);
            break;
        case 2:
            buf_printf(b, o->color ? C_TYPE "[binary %zu bytes]" C_RESET : "[binary %zu bytes]", n);
            hex_rows(b, p, n, indent, o->color);
            break;
        case 8:
            buf_printf(b, o->color ? C_TYPE "[close %u]" C_RESET : "[close %u]", (unsigned)code);
            if (n) {
                buf_putc(b, ' ');
                term_text(b, s, n, indent);
            }
            break;
        default:
            buf_printf(b, o->color ? C_TYPE "[%s]" C_RESET : "[%s]", ws_type_name(type));
            if (type == 10 && rtt_ns)
                buf_printf(b, " %.3f ms", (double)rtt_ns / 1e6);
            if (n) {
                buf_putc(b, ' ');
                term_text(b, s, n, indent);
            }
            break;
        }
        buf_putc(b, '\n');
        return;
    }
    }
}

int out_flush(out_t *o)
{
    if (o->failed) {
        buf_reset(&o->buf);
        o->npieces = o->buf_mark = 0;
        errno = o->errno_saved;
        return -1;
    }
    int rc = 0;
    if (o->npieces)
        rc = write_pieces(o);
    else if (o->buf.len)
        rc = write_all(o->fd, o->buf.p, o->buf.len);
    if (rc < 0) {
        o->failed = true;
        o->errno_saved = errno;
        buf_reset(&o->buf);
        return -1;
    }
    buf_reset(&o->buf);
    buf_shrink(&o->buf, 1 << 20);
    return 0;
}

bool out_flush_checked(out_t *o, int *exit_code)
{
    if (o->reported) { /* reported once already */
        buf_reset(&o->buf);
        o->npieces = o->buf_mark = 0;
        return true;
    }
    if (out_flush(o) == 0)
        return true;
    o->reported = true;
    if (o->errno_saved != EPIPE)
        diag_error("writing to standard output failed: %s", strerror(o->errno_saved));
    *exit_code = o->errno_saved == EPIPE ? EXIT_OK : EXIT_FAIL;
    return false;
}
