/* serve_sse_publish: the channel's routes over HTTP (evcat(1), SERVE):
 * GET /sse, an event stream that first replays what a Last-Event-ID missed
 * from the history; POST /publish, one event from a request body; the tick
 * events and the keepalive comments. Every event goes to each SSE
 * subscriber as one shared buffer, and to the /ws subscribers as one
 * shared frame; a subscriber that stops reading is dropped once over
 * --max-queue. */
#include "serve_internal.h"

#include "clock.h"
#include "diag.h"
#include "text.h"
#include "ws_frame.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* ---- subscribers and fan-out ---- */

static void sse_subscribe(struct conn *c)
{
    conn_list_add(&c->srv->subs, c);
    c->srv->stats.subscribers++;
}

void serve_sse_unsubscribe(struct conn *c)
{
    if (c->sub_list != &c->srv->subs)
        return;
    conn_list_remove(c);
    c->srv->stats.subscribers--;
}

/* A subscriber over --max-queue. */
static void sse_drop(struct conn *c)
{
    serve_t *s = c->srv;
    diag_verbose("%s dropped: %zu bytes pending (over --max-queue)", c->peer,
                 sendq_pending(&c->out));
    /* An abortive close: the kernel's send buffer (megabytes for a stalled
     * peer) is freed now instead of waiting for a reader that is not there. */
    struct linger lg = {1, 0};
    setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    conn_close(c, NULL);
    serve_note_drop(s);
}

uint64_t serve_publish(serve_t *s, const char *type, size_t tlen, const char *data, size_t dlen)
{
    const channel_event_t *ev = channel_publish(s->ch, type, tlen, data, dlen);
    conn_fan_out(s->subs, ev->sse, sse_drop);
    serve_ws_broadcast(s, WSF_TEXT, ev->data, ev->data_len);
    return ev->seq;
}

void serve_sse_on_tick(loop_t *l, loop_timer_t *t, void *ud)
{
    serve_t *s = ud;
    char data[80];
    int n = snprintf(data, sizeof(data), "{\"seq\":%llu,\"ts_ns\":%llu}",
                     (unsigned long long)++s->tick_seq, (unsigned long long)real_ns());
    serve_publish(s, "tick", 4, data, (size_t)n);
    s->stats.ticks++;
    /* On a fixed grid (no drift); after a stall, skip ahead, no burst. */
    uint64_t period = s->cfg.tick_ms * 1000000u, due = t->due_ns + period, now = mono_ns();
    if (due <= now)
        due = now + period;
    loop_timer_arm_at(l, t, due);
}

void serve_sse_on_keepalive(loop_t *l, loop_timer_t *t, void *ud)
{
    serve_t *s = ud;
    if (s->subs) {
        static const char comment[] = ": keepalive\n\n";
        sendq_buf_t *b = sendq_buf_copy(comment, sizeof(comment) - 1);
        conn_fan_out(s->subs, b, sse_drop);
        sendq_buf_unref(b);
    }
    serve_ws_broadcast(s, WSF_PING, NULL, 0); /* WebSocket's own keepalive: an empty ping */
    loop_timer_arm_ms(l, t, s->cfg.keepalive_ms);
}

/* ---- the routes ---- */

void serve_sse_route_publish(struct conn *c)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);
    buf_t type;
    buf_init(&type);
    int rc = http_request_query_param(in->query, in->query_len, "event", &type);
    const char *why = NULL;
    if (rc < 0)
        why = "bad %-escape in event type";
    else if (rc > 0 && (memchr(type.p, '\r', type.len) || memchr(type.p, '\n', type.len) ||
                        memchr(type.p, '\0', type.len)))
        why = "event type contains CR, LF or NUL";
    else if (rc > 0 && !utf8_valid(type.p, type.len))
        why = "event type is not UTF-8";
    else if (!utf8_valid(c->body.p, c->body.len))
        why = "body is not UTF-8 (an event stream is UTF-8 text)";
    if (why) {
        buf_free(&type);
        conn_respond_error(c, 400, why, NULL);
        return;
    }
    if (rc == 0 || type.len == 0) {
        buf_reset(&type);
        buf_puts(&type, "message");
    }
    uint64_t id = serve_publish(s, type.p, type.len, c->body.p ? c->body.p : "", c->body.len);
    s->stats.published++;
    buf_free(&type);

    char body[48];
    int n = snprintf(body, sizeof(body), "{\"id\":%llu}\n", (unsigned long long)id);
    char note[40];
    snprintf(note, sizeof(note), "id=%llu", (unsigned long long)id);
    conn_log_request(c, 202, note);
    conn_respond(c, 202, NULL, "application/json", body, (size_t)n, !c->keep_alive);
}

void serve_sse_route_stream(struct conn *c)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);

    if (strcmp(in->method, "HEAD") == 0) { /* the head a GET gets, and the end */
        conn_log_request(c, 200, NULL);
        conn_event_stream_head(c, false);
        conn_finish(c);
        return;
    }
    /* Close-delimited for HTTP/1.1 as for 1.0 (Connection: close, no
     * chunking): a stream never ends by itself, so the connection could not
     * carry another request anyway; every subscriber gets identical bytes,
     * so one formatted buffer per event serves them all with no per-write
     * chunk framing; browsers' EventSource, curl and every SSE client read
     * to EOF. X-Accel-Buffering keeps nginx-style proxies from buffering. */
    conn_event_stream_head(c, true);
    buf_t b;
    buf_init(&b);

    /* Resume: the Last-Event-ID header (what EventSource sends), else a
     * lastEventId query parameter (for clients that cannot set headers). */
    size_t idlen = 0;
    const char *id = http_request_header(in, "last-event-id", &idlen);
    buf_reset(&b);
    if (!id && http_request_query_param(in->query, in->query_len, "lastEventId", &b) > 0) {
        id = b.p;
        idlen = b.len;
    }
    char note[96] = "";
    if (id) {
        size_t first;
        int kind = channel_resume(s->ch, id, idlen, &first);
        size_t n = channel_history_len(s->ch);
        for (size_t i = first; i < n; i++)
            sendq_push(&c->out, channel_history_at(s->ch, i)->sse);
        bool printable = idlen <= 24;
        for (size_t i = 0; i < idlen && printable; i++)
            printable = id[i] > 0x20 && id[i] < 0x7f;
        snprintf(note, sizeof(note), "last-event-id=%.*s replay=%zu%s", printable ? (int)idlen : 1,
                 printable ? id : "?", n - first,
                 kind == CHANNEL_RESUME_GAP    ? " (gap: older than history)"
                 : kind == CHANNEL_RESUME_NONE ? " (unknown id)"
                                               : "");
    }
    buf_free(&b);
    conn_log_request(c, 200, note);

    conn_enter_stream(c);
    sse_subscribe(c);
    conn_mark_dirty(c);
}
