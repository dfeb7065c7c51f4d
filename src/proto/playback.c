#include "playback.h"

#include <math.h>
#include <string.h>

#define MAX_DELAY_S 86400.0 /* a longer gap is a broken recording, not a plan */

bool playback_plays(const recording_t *r, size_t i)
{
    const rec_msg_t *m = &r->msgs[i];
    if (r->proto == REC_SSE)
        return true;
    if (!m->in)
        return false;
    return m->type == 1 || m->type == 2 || (m->type == 9 && m->len <= 125);
}

static bool sendable_close(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void playback_end(const recording_t *r, playback_end_t *out)
{
    static const char eor[] = "end of recording";
    memset(out, 0, sizeof(*out));
    out->end = r->nmsgs;
    out->code = 1000;
    out->reason = eor;
    out->reason_len = sizeof(eor) - 1;
    if (r->proto != REC_WS)
        return;
    bool client_closed = false;
    for (size_t i = 0; i < r->nmsgs; i++) {
        const rec_msg_t *m = &r->msgs[i];
        if (m->type != 8)
            continue;
        if (!m->in) {
            client_closed = true; /* the server's close that follows only answers it */
            continue;
        }
        out->end = i;
        if (client_closed)
            return;
        out->recorded = true;
        if (m->code == 1005) {
            out->code = 0;
            out->reason = "";
            out->reason_len = 0;
            return;
        }
        out->code = sendable_close(m->code) ? m->code : 1000;
        out->reason = m->data ? m->data : "";
        out->reason_len = m->data ? m->len : 0;
        return;
    }
}

size_t playback_count(const recording_t *r)
{
    playback_end_t e;
    playback_end(r, &e);
    size_t n = 0;
    for (size_t i = 0; i < e.end; i++)
        n += playback_plays(r, i);
    return n;
}

/* s up to its first CR or LF. */
static size_t line_len(const char *s)
{
    return s ? strcspn(s, "\r\n") : 0;
}

void playback_format_sse(buf_t *out, const rec_msg_t *m, const rec_msg_t *prev)
{
    size_t idl = line_len(m->id);
    if (idl || (prev && line_len(prev->id))) {
        buf_append(out, "id: ", 4);
        buf_append(out, m->id, idl);
        buf_putc(out, '\n');
    }
    size_t tl = line_len(m->event);
    if (tl && !(tl == 7 && memcmp(m->event, "message", 7) == 0)) {
        buf_append(out, "event: ", 7);
        buf_append(out, m->event, tl);
        buf_putc(out, '\n');
    }
    const char *d = m->data ? m->data : "";
    size_t n = m->data ? m->len : 0, i = 0;
    for (;;) {
        size_t j = i;
        while (j < n && d[j] != '\n' && d[j] != '\r')
            j++;
        buf_append(out, "data: ", 6);
        buf_append(out, d + i, j - i);
        buf_putc(out, '\n');
        if (j == n)
            break;
        i = j + 1;
        if (d[j] == '\r' && i < n && d[i] == '\n')
            i++;
    }
    buf_putc(out, '\n');
}

size_t playback_resume(const recording_t *r, const char *id, size_t id_len)
{
    if (!id_len)
        return 0;
    for (size_t i = r->nmsgs; i-- > 0;) {
        const char *mid = r->msgs[i].id;
        if (mid && strlen(mid) == id_len && memcmp(mid, id, id_len) == 0)
            return i + 1;
    }
    return 0;
}

uint64_t playback_delay_ns(double t, double t0, double speed)
{
    double s = (t - t0) / speed;
    if (!(s > 0)) /* also NaN */
        return 0;
    if (s > MAX_DELAY_S)
        s = MAX_DELAY_S;
    return (uint64_t)llround(s * 1e9);
}
