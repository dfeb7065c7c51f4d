/* serve_playback: the source (serve_source.h) of `evcat replay FILE
 * --serve` (evcat(1), REPLAY): every GET, on any path, plays the recording
 * to its client, what and when playback.h says; an SSE recording as an
 * event stream (resumed after a Last-Event-ID, 204 once nothing is left), a
 * WebSocket one after an upgrade, ending with the recorded close. Each
 * played message is formatted once, at the start, and shared by every
 * client's queue. */
#include "serve_internal.h"

#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "playback.h"
#include "recording.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct playback_source {
    serve_source_t base; /* first: the core holds a pointer to it */
    serve_t *srv;
    const recording_t *rec; /* not owned */
    double speed;           /* t is scaled by 1/speed */
    bool no_timing;         /* every message at once */
    sendq_buf_t **bufs;     /* owned: one reference per message (NULL: not played) */
    playback_end_t end;
    char reason[128]; /* the WebSocket close's reason, NUL-terminated */
};

/* Each client runs through the recording on its own: the index of its next
 * message and one timer (the connection's) armed for that message's time.
 * Queueing stops over --max-queue and resumes once the queue drained: a
 * slow client gets its playback late, never cut short. */
struct playback_client {
    size_t next;    /* index of the next message */
    uint64_t start; /* mono_ns() when the stream opened: time t0 of the recording */
    double t0;      /* 0, or the time of the event a resume starts after */
    bool closed;    /* WebSocket: our close is sent, the client's answer is awaited */
};

/* When message i (or the close at i) is due; 0 = now. */
static uint64_t pb_due(const struct playback_source *p, const struct playback_client *pc, size_t i)
{
    if (p->no_timing)
        return 0;
    return pc->start + playback_delay_ns(p->rec->msgs[i].t, pc->t0, p->speed);
}

/* The end of a WebSocket playback: our close, then the client's answer
 * (serve_ws_after finishes the connection), awaited CLOSING_MS. */
static void pb_ws_close(struct playback_source *p, struct conn *c, ws_session_t *ws)
{
    struct playback_client *pc = c->source_ud;
    pc->closed = true;
    uint16_t code = p->end.code;
    if (ws_session_close(ws, code, p->reason) < 0 && code != 1000 &&
        ws_session_state(ws) == WS_SESSION_OPEN) {
        /* wslay refuses a few codes servers do send (1012-1014). */
        diag_verbose("%s close %u cannot be sent: 1000 instead", c->peer, code);
        ws_session_close(ws, 1000, p->reason);
    }
    ws_session_write(ws);
    loop_timer_arm_ms(p->srv->loop, &c->timer, CLOSING_MS);
    serve_ws_after(c);
}

/* Queues what is due, then arms the timer for what is not. */
static void pb_pump(struct playback_source *p, struct conn *c)
{
    serve_t *s = p->srv;
    struct playback_client *pc = c->source_ud;
    bool ws = c->state == CS_UPGRADED;
    if (s->stopping || !pc || pc->closed || (c->state != CS_STREAM && !ws))
        return;
    ws_session_t *sess = NULL;
    if (ws) {
        sess = serve_ws_session(c);
        if (!sess || ws_session_state(sess) != WS_SESSION_OPEN)
            return;
    }
    uint64_t now = mono_ns();
    size_t end = p->end.end;
    while (pc->next < end) {
        if (sendq_pending(&c->out) > s->cfg.max_queue) {
            c->source_paused = true;
            return;
        }
        uint64_t due = pb_due(p, pc, pc->next);
        if (due > now) {
            loop_timer_arm_at(s->loop, &c->timer, due);
            return;
        }
        sendq_buf_t *b = p->bufs[pc->next++];
        if (b) {
            sendq_push(&c->out, b);
            s->stats.played++;
            conn_mark_dirty(c);
        }
    }
    if (!ws) {
        conn_finish(c); /* the response ends with the recording */
        return;
    }
    if (p->end.recorded) {
        uint64_t due = pb_due(p, pc, end);
        if (due > now) {
            loop_timer_arm_at(s->loop, &c->timer, due);
            return;
        }
    }
    pb_ws_close(p, c, sess);
}

/* c streams or is upgraded: its own run through the recording, from message
 * first on. */
static void pb_begin(struct playback_source *p, struct conn *c, size_t first)
{
    struct playback_client *pc = xcalloc(1, sizeof(*pc));
    pc->next = first;
    pc->t0 = first ? p->rec->msgs[first - 1].t : 0;
    pc->start = mono_ns();
    c->source_ud = pc;
    p->srv->stats.playbacks++;
    pb_pump(p, c);
}

/* ---- the source's calls ---- */

/* Any GET: what the recording is, if the request asks for it. */
static void pb_request(serve_source_t *src, struct conn *c)
{
    struct playback_source *p = (struct playback_source *)src;
    const http_request_info_t *in = http_request_info(c->req);
    bool upgrade = http_request_header(in, "upgrade", NULL) != NULL;
    if (p->rec->proto == REC_WS) {
        if (!upgrade) {
            conn_respond_error(c, 426,
                               "this server plays a WebSocket recording: connect with a "
                               "WebSocket client",
                               "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
            return;
        }
        if (serve_ws_upgrade(c, SERVE_WS_PLAYBACK))
            pb_begin(p, c, 0);
        return;
    }
    if (upgrade) {
        conn_respond_error(c, 400,
                           "this server plays an SSE recording: request it as an event stream, "
                           "without Upgrade",
                           NULL);
        return;
    }
    /* An EventSource reconnects when the stream ends, with the last id it
     * got: it resumes after that event, and once nothing is left, 204 tells
     * it to stop (as it tells evcat listen). */
    size_t idlen = 0;
    const char *id = http_request_header(in, "last-event-id", &idlen);
    size_t first = id ? playback_resume(p->rec, id, idlen) : 0;
    if (first && first >= p->end.end) {
        conn_log_request(c, 204, "playback over");
        conn_respond(c, 204, NULL, NULL, NULL, 0, !c->keep_alive);
        return;
    }
    char note[48] = "playback";
    if (first)
        snprintf(note, sizeof(note), "playback from message %zu", first + 1);
    conn_log_request(c, 200, note);
    conn_event_stream_head(c, false);
    if (strcmp(in->method, "HEAD") == 0) { /* GET's head, and the end */
        conn_finish(c);
        return;
    }
    conn_enter_stream(c);
    conn_mark_dirty(c);
    pb_begin(p, c, first);
}

static void pb_timer(serve_source_t *src, struct conn *c)
{
    struct playback_client *pc = c->source_ud;
    if (pc && pc->closed)
        conn_close(c, "client did not answer the close");
    else
        pb_pump((struct playback_source *)src, c);
}

static void pb_drained(serve_source_t *src, struct conn *c)
{
    pb_pump((struct playback_source *)src, c);
}

static void pb_closed(serve_source_t *src, struct conn *c)
{
    (void)src;
    free(c->source_ud);
    c->source_ud = NULL;
}

static void pb_free(serve_source_t *src)
{
    struct playback_source *p = (struct playback_source *)src;
    for (size_t i = 0; i < p->end.end; i++)
        sendq_buf_unref(p->bufs[i]);
    free(p->bufs);
    free(p);
}

static const serve_source_t playback_calls = {pb_request, pb_timer, pb_drained, pb_closed, pb_free};

serve_source_t *serve_playback_new(serve_t *s)
{
    const recording_t *r = s->cfg.playback;
    struct playback_source *p = xcalloc(1, sizeof(*p));
    p->base = playback_calls;
    p->srv = s;
    p->rec = r;
    p->speed = s->cfg.speed;
    p->no_timing = s->cfg.no_timing;
    playback_end(r, &p->end);
    size_t rl =
        p->end.reason_len < sizeof(p->reason) - 1 ? p->end.reason_len : sizeof(p->reason) - 1;
    memcpy(p->reason, p->end.reason, rl); /* cut to 123 bytes by ws_session_close */
    p->reason[rl] = '\0';
    /* Every played message in its wire form, once for all clients. */
    p->bufs = xcalloc(r->nmsgs ? r->nmsgs : 1, sizeof(*p->bufs));
    buf_t b;
    buf_init(&b);
    for (size_t i = 0; i < p->end.end; i++) {
        if (!playback_plays(r, i))
            continue;
        const rec_msg_t *m = &r->msgs[i];
        if (r->proto == REC_SSE) {
            buf_reset(&b);
            playback_format_sse(&b, m, i ? &r->msgs[i - 1] : NULL);
            p->bufs[i] = sendq_buf_copy(b.p, b.len);
        } else {
            p->bufs[i] = serve_ws_frame_new((unsigned)m->type, m->data, m->len);
        }
    }
    buf_free(&b);
    return &p->base;
}
