/* bench_ws_replay: a replay conversation on the WebSocket driver's
 * connections (see bench_ws_replay.h). */
#include "bench_ws_replay.h"
#include "clock.h"
#include "ws_frame.h"
#include "ws_session.h"

size_t bws_replay_frame_max(const replay_script_t *s)
{
    return WSF_MAX_HEADER + s->max_out;
}

size_t bws_replay_frames(bench_worker_t *w, replay_cursor_t *rc, uint64_t conn, uint64_t now,
                         uint8_t *out, size_t cap, uint64_t *rng, buf_t *tmp, uint64_t *next_due)
{
    const replay_script_t *s = w->cfg->replay;
    size_t used = 0;
    uint64_t msgs = 0, bytes = 0;
    const replay_out_t *m;
    while ((m = replay_cursor_due(s, rc, now, next_due)) != NULL) {
        const char *p = m->data;
        size_t n = m->len;
        if (m->tmpl) {
            buf_reset(tmp);
            replay_expand(tmp, p, n, conn, m->seq);
            p = tmp->p;
            n = tmp->len;
        }
        if (used + WSF_MAX_HEADER + n > cap)
            break; /* the rest is due already: the caller comes back at once */
        unsigned op = m->type == WS_PING ? WSF_PING : m->type == WS_BINARY ? WSF_BINARY : WSF_TEXT;
        used += wsf_frame(out + used, op, p, n, wsf_rand(rng));
        rc->next_out++;
        if (op != WSF_PING) {
            msgs++;
            bytes += n;
        }
    }
    buf_reset(tmp);
    buf_shrink(tmp, 64u << 10); /* a large templated message's room is not kept */
    if (msgs)
        bench_sent(w, msgs, bytes);
    return used;
}

bool bws_replay_wants_payload(const bench_worker_t *w)
{
    return w->cfg->replay->expect;
}

void bws_replay_message(bench_worker_t *w, replay_cursor_t *rc, uint64_t conn, int type,
                        const uint8_t *p, size_t n, buf_t *tmp)
{
    const replay_script_t *s = w->cfg->replay;
    bench_received(w, 1, n);
    replay_verdict_t v;
    replay_cursor_incoming(s, rc, conn, type, p, n, mono_ns(), tmp, &v);
    if (v.timed)
        bench_latency(w, v.latency_ns);
    if (!v.differs)
        return;
    if (w->mismatch[0]) {
        bench_mismatch(w, NULL); /* the line costs something: the first one only */
        return;
    }
    buf_t line;
    buf_init(&line);
    replay_line_differs(&line, s, conn, &v, type, p, n);
    bench_mismatch(w, line.p);
    buf_free(&line);
}

void bws_replay_closing(bench_worker_t *w, replay_cursor_t *rc, uint64_t conn)
{
    const replay_script_t *s = w->cfg->replay;
    if (!replay_cursor_missing(s, rc))
        return;
    rc->diverged = true; /* one difference per connection: what comes later is not compared */
    if (w->mismatch[0]) {
        bench_mismatch(w, NULL);
        return;
    }
    buf_t line;
    buf_init(&line);
    replay_line_missing(&line, s, rc, conn, "the measurement ended");
    bench_mismatch(w, line.p);
    buf_free(&line);
}
