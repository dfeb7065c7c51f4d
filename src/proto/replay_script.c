#include "replay_script.h"
#include "event_json.h"
#include "playback.h"
#include "text.h"
#include "ws_session.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* ---- templates ---- */

static const char F_CONN[] = "{{conn}}";
static const char F_SEQ[] = "{{seq}}";
#define F_CONN_LEN (sizeof(F_CONN) - 1)
#define F_SEQ_LEN  (sizeof(F_SEQ) - 1)
/* A `{{name}}` looks like a field when name is this long at most and made
 * of these; anything else between braces (JSON's `{{"a":1}}`) is text. */
#define NAME_MAX_LEN 32

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

static bool at(const char *p, size_t n, size_t i, const char *lit, size_t litlen)
{
    return n - i >= litlen && memcmp(p + i, lit, litlen) == 0;
}

/* The length of a `{{name}}` at p[i] (i at "{{"), or 0 when it is not one. */
static size_t field_at(const char *p, size_t n, size_t i)
{
    size_t j = i + 2;
    while (j < n && j - i - 2 < NAME_MAX_LEN + 1 && name_char(p[j]))
        j++;
    size_t name = j - i - 2;
    if (name == 0 || name > NAME_MAX_LEN || !at(p, n, j, "}}", 2))
        return 0;
    return name + 4;
}

void replay_fields(const char *p, size_t n, size_t *nconn, size_t *nseq, char *unknown,
                   size_t unknown_len)
{
    *nconn = *nseq = 0;
    if (unknown_len)
        unknown[0] = '\0';
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != '{' || p[i + 1] != '{')
            continue;
        if (at(p, n, i, F_CONN, F_CONN_LEN)) {
            (*nconn)++;
            i += F_CONN_LEN - 1;
        } else if (at(p, n, i, F_SEQ, F_SEQ_LEN)) {
            (*nseq)++;
            i += F_SEQ_LEN - 1;
        } else {
            size_t f = field_at(p, n, i);
            if (f && unknown_len && !unknown[0])
                snprintf(unknown, unknown_len, "%.*s", (int)f, p + i);
            if (f)
                i += f - 1;
        }
    }
}

size_t replay_expand(buf_t *out, const char *p, size_t n, uint64_t conn, uint32_t seq)
{
    size_t before = out->len, run = 0;
    for (size_t i = 0; i < n;) {
        bool c = p[i] == '{' && at(p, n, i, F_CONN, F_CONN_LEN);
        bool s = !c && p[i] == '{' && at(p, n, i, F_SEQ, F_SEQ_LEN);
        if (!c && !s) {
            i++;
            continue;
        }
        buf_append(out, p + run, i - run);
        if (c)
            buf_printf(out, "%" PRIu64, conn);
        else
            buf_printf(out, "%" PRIu32, seq);
        i += c ? F_CONN_LEN : F_SEQ_LEN;
        run = i;
    }
    buf_append(out, p + run, n - run);
    return out->len - before;
}

/* ---- building ---- */

/* Checks a text message's fields for the bound and notes an unknown one.
 * *grown: its largest expansion. Returns 0, or -1 with err set. */
static int scan_text(replay_script_t *s, const char *p, size_t n, uint32_t line, size_t onopen,
                     size_t max_message, bool *tmpl, size_t *grown, char *err, size_t errlen)
{
    *tmpl = false;
    *grown = n;
    if (!s->tmpl)
        return 0;
    size_t nc, ns;
    char unknown[sizeof(s->unknown)];
    replay_fields(p, n, &nc, &ns, unknown, sizeof(unknown));
    if (unknown[0] && !s->unknown_line && line) {
        s->unknown_line = line;
        memcpy(s->unknown, unknown, sizeof(unknown));
    }
    *tmpl = nc + ns > 0;
    *grown = n + nc * (REPLAY_CONN_DIGITS - F_CONN_LEN) + ns * (REPLAY_SEQ_DIGITS - F_SEQ_LEN);
    if (*grown <= max_message)
        return 0;
    if (line)
        snprintf(err, errlen,
                 "line %" PRIu32 ": with --template this message may grow to %zu bytes, over "
                 "--max-message (%zu)",
                 line, *grown, max_message);
    else
        snprintf(err, errlen,
                 "--on-open message %zu: with --template it may grow to %zu bytes, over "
                 "--max-message (%zu)",
                 onopen, *grown, max_message);
    return -1;
}

static int add_out(replay_script_t *s, const replay_script_opts_t *o, const char *p, size_t n,
                   int type, uint64_t at_ns, uint32_t line, uint32_t *seq, char *err, size_t errlen)
{
    replay_out_t *m = &s->outs[s->nouts];
    memset(m, 0, sizeof(*m));
    size_t grown = n;
    if (!line && n > o->max_message) {
        snprintf(err, errlen, "--on-open message %zu is over --max-message (%zu bytes)",
                 s->nouts + 1, o->max_message);
        return -1;
    }
    if (type == WS_TEXT &&
        scan_text(s, p, n, line, s->nouts + 1, o->max_message, &m->tmpl, &grown, err, errlen) < 0)
        return -1;
    m->data = p;
    m->len = n;
    m->at_ns = at_ns;
    m->line = line;
    m->type = (uint8_t)type;
    m->seq = type == WS_PING ? 0 : ++*seq;
    if (grown > s->max_out)
        s->max_out = grown;
    s->nouts++;
    return 0;
}

static int add_in(replay_script_t *s, const replay_script_opts_t *o, const rec_msg_t *m,
                  uint32_t line, uint32_t after, char *err, size_t errlen)
{
    replay_in_t *e = &s->ins[s->nins];
    memset(e, 0, sizeof(*e));
    size_t grown = m->len;
    if (m->type == WS_TEXT && s->expect &&
        scan_text(s, m->data, m->len, line, 0, o->max_message, &e->tmpl, &grown, err, errlen) < 0)
        return -1;
    e->data = m->data;
    e->len = m->len;
    e->type = (uint8_t)m->type;
    e->after = after;
    if (grown > s->max_in)
        s->max_in = grown;
    s->nins++;
    return 0;
}

int replay_script_build(replay_script_t *s, const recording_t *rec, const replay_script_opts_t *o,
                        char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->expect = o->expect;
    s->tmpl = o->tmpl;
    if (rec->proto != REC_WS) {
        snprintf(err, errlen, "an SSE recording: --replay plays a WebSocket conversation "
                              "(serve SSE with 'evcat replay --serve')");
        return -1;
    }
    if (rec->nmsgs + o->non_open >= NONE) {
        snprintf(err, errlen, "over %" PRIu32 " messages", NONE - 1);
        return -1;
    }
    s->content_hash = replay_script_hash(rec);
    s->outs = xcalloc(rec->nmsgs + o->non_open + 1, sizeof(*s->outs));
    s->ins = xcalloc(rec->nmsgs + 1, sizeof(*s->ins));
    uint32_t seq = 0, last_data = NONE;
    for (size_t i = 0; i < o->non_open; i++) {
        if (add_out(s, o, o->on_open[i], strlen(o->on_open[i]), WS_TEXT, 0, 0, &seq, err,
                    errlen) < 0)
            return -1;
        last_data = (uint32_t)(s->nouts - 1);
    }
    bool in_close = false, out_close = false;
    for (size_t i = 0; i < rec->nmsgs; i++) {
        const rec_msg_t *m = &rec->msgs[i];
        uint32_t line = (uint32_t)(i + 2); /* rec_parse: the header, then a message a line */
        bool data = m->type == WS_TEXT || m->type == WS_BINARY;
        if (m->in) {
            if (m->type == WS_CLOSE)
                in_close = true;
            if (!in_close && data && add_in(s, o, m, line, last_data, err, errlen) < 0)
                return -1;
            continue;
        }
        if (m->type == WS_CLOSE)
            out_close = true;
        if (out_close || !(data || m->type == WS_PING))
            continue;
        uint64_t due = o->no_timing ? 0 : playback_delay_ns(m->t, 0, o->speed);
        size_t n = m->type == WS_PING && m->len > 125 ? 125 : m->len;
        if (add_out(s, o, m->data, n, m->type, due, line, &seq, err, errlen) < 0)
            return -1;
        if (data)
            last_data = (uint32_t)(s->nouts - 1);
    }
    return 0;
}

void replay_script_free(replay_script_t *s)
{
    free(s->outs);
    free(s->ins);
    memset(s, 0, sizeof(*s));
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i)); /* little-endian on every host */
    return fnv1a64(h, b, sizeof(b));
}

uint64_t replay_script_hash(const recording_t *rec)
{
    uint64_t h = fnv1a64(FNV1A64_INIT, "evcat-replay-1", 14);
    h = hash_u64(h, rec->proto);
    for (size_t i = 0; i < rec->nmsgs; i++) {
        const rec_msg_t *m = &rec->msgs[i];
        h = hash_u64(h, (uint64_t)llround(m->t * 1e6));
        h = hash_u64(h, (uint64_t)m->in << 32 | (uint64_t)m->type << 16 | m->code);
        h = hash_u64(h, m->len);
        if (m->len)
            h = fnv1a64(h, m->data, m->len);
        if (m->event)
            h = fnv1a64(h, m->event, strlen(m->event) + 1);
        if (m->id)
            h = fnv1a64(h, m->id, strlen(m->id) + 1);
    }
    return h;
}

/* ---- a connection's cursor ---- */

void replay_cursor_start(replay_cursor_t *c, uint64_t now)
{
    memset(c, 0, sizeof(*c));
    c->start_ns = now;
}

const replay_out_t *replay_cursor_due(const replay_script_t *s, const replay_cursor_t *c,
                                      uint64_t now, uint64_t *next_due)
{
    if (c->next_out >= s->nouts) {
        *next_due = UINT64_MAX;
        return NULL;
    }
    const replay_out_t *m = &s->outs[c->next_out];
    uint64_t due = c->start_ns + m->at_ns;
    *next_due = due;
    return due <= now ? m : NULL;
}

/* The expected message e as this connection should get it. */
static void expected_text(const replay_script_t *s, const replay_in_t *e, uint64_t conn,
                          buf_t *out, const char **p, size_t *n)
{
    if (!e->tmpl) {
        *p = e->data;
        *n = e->len;
        return;
    }
    buf_reset(out);
    replay_expand(out, e->data, e->len, conn, e->after == NONE ? 0 : s->outs[e->after].seq);
    *p = out->p ? out->p : "";
    *n = out->len;
}

static bool matches(const replay_script_t *s, const replay_in_t *e, uint64_t conn, int type,
                    const void *p, size_t n, buf_t *scratch)
{
    if (e->type != type)
        return false;
    const char *want;
    size_t wn;
    expected_text(s, e, conn, scratch, &want, &wn);
    return wn == n && (n == 0 || memcmp(want, p, n) == 0);
}

void replay_cursor_incoming(const replay_script_t *s, replay_cursor_t *c, uint64_t conn, int type,
                            const void *p, size_t n, uint64_t now, buf_t *scratch,
                            replay_verdict_t *v)
{
    memset(v, 0, sizeof(*v));
    uint32_t k = c->next_in;
    if (c->next_in < REPLAY_IN_MAX)
        c->next_in++;
    v->number = c->next_in;
    const replay_in_t *e = k < s->nins ? &s->ins[k] : NULL;
    if (e && (e->after == NONE || c->next_out > e->after)) {
        uint64_t ref = c->start_ns + (e->after == NONE ? 0 : s->outs[e->after].at_ns);
        v->timed = true;
        v->latency_ns = now > ref ? now - ref : 0;
    }
    if (s->expect && !c->diverged && (!e || !matches(s, e, conn, type, p, n, scratch))) {
        c->diverged = true;
        v->differs = true;
    }
}

bool replay_cursor_missing(const replay_script_t *s, const replay_cursor_t *c)
{
    return s->expect && !c->diverged && c->next_in < s->nins;
}

/* ---- lines ---- */

void replay_describe(buf_t *b, int type, const char *p, size_t n, uint16_t code)
{
    buf_puts(b, ws_type_name(type));
    buf_putc(b, ' ');
    if (type == WS_CLOSE)
        buf_printf(b, "%u ", code);
    buf_t tmp;
    buf_init(&tmp);
    size_t keep = n;
    if (type == WS_BINARY || type == WS_PING || type == WS_PONG) {
        size_t raw = REPLAY_SHOW_MAX / 4 * 3;
        keep = n < raw ? n : raw;
        base64_append(&tmp, p, keep);
    } else {
        if (keep > REPLAY_SHOW_MAX) {
            keep = REPLAY_SHOW_MAX;
            while (keep > 0 && ((unsigned char)p[keep] & 0xC0) == 0x80)
                keep--; /* not in the middle of a UTF-8 sequence */
        }
        buf_append(&tmp, p, keep);
    }
    /* json_quote escapes quotes and control characters; the "..." marking a
     * cut goes inside the closing quote. */
    json_quote(b, tmp.p ? tmp.p : "", tmp.len);
    if (keep < n) {
        b->len--;
        buf_puts(b, "...\"");
    }
    buf_free(&tmp);
}

void replay_line_differs(buf_t *out, const replay_script_t *s, uint64_t conn,
                         const replay_verdict_t *v, int type, const void *p, size_t n)
{
    uint32_t k = v->number - 1;
    buf_printf(out, "connection %" PRIu64 ": message %" PRIu32, conn, v->number);
    if (k >= s->nins) {
        buf_puts(out, " was not in the recording: got ");
        replay_describe(out, type, p, n, 0);
        return;
    }
    buf_t tmp;
    buf_init(&tmp);
    const char *want;
    size_t wn;
    expected_text(s, &s->ins[k], conn, &tmp, &want, &wn);
    buf_puts(out, " differs: expected ");
    replay_describe(out, s->ins[k].type, want, wn, 0);
    buf_puts(out, ", got ");
    replay_describe(out, type, p, n, 0);
    buf_free(&tmp);
}

void replay_line_missing(buf_t *out, const replay_script_t *s, const replay_cursor_t *c,
                         uint64_t conn, const char *why)
{
    if (c->next_in >= s->nins)
        return;
    buf_t tmp;
    buf_init(&tmp);
    const char *want;
    size_t wn;
    expected_text(s, &s->ins[c->next_in], conn, &tmp, &want, &wn);
    buf_printf(out, "connection %" PRIu64 ": message %" PRIu32 " is missing (expected ", conn,
               c->next_in + 1);
    replay_describe(out, s->ins[c->next_in].type, want, wn, 0);
    buf_printf(out, "): %s", why);
    buf_free(&tmp);
}
