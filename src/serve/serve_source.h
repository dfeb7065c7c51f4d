/* serve_source: the one interface between the server's core and a source,
 * something that plays to each client on its own in place of the channel's
 * routes: the recording of `evcat replay FILE --serve` (serve_playback.c;
 * evcat(1), REPLAY). The core knows nothing of what a source plays.
 *
 * With a source, the core hands it every GET, whatever the path (other
 * methods get 405). The source answers, or takes the connection: as an
 * event stream (conn_event_stream_head, conn_enter_stream) or a WebSocket
 * (serve_ws_upgrade with SERVE_WS_PLAYBACK), keeping its own state for it
 * in c->source_ud. From then on the connection's timer is the source's, and
 * the core calls it back when that timer fires and when the queue it
 * stopped filling has drained. */
#ifndef EVCAT_SERVE_SOURCE_H
#define EVCAT_SERVE_SOURCE_H

struct conn;
struct serve;

typedef struct serve_source serve_source_t;

struct serve_source {
    /* A GET, on any path: answer it, or take the connection. */
    void (*request)(serve_source_t *src, struct conn *c);
    /* c's timer fired while c is a stream or upgraded. */
    void (*timer)(serve_source_t *src, struct conn *c);
    /* c->source_paused (which the source sets when c's queue is over
     * --max-queue), and the queue is down to half of that: it is cleared,
     * and the source may queue again. */
    void (*drained)(serve_source_t *src, struct conn *c);
    /* c, whose c->source_ud is not NULL, closes: free that. */
    void (*closed)(serve_source_t *src, struct conn *c);
    /* The server is freed (after every connection). */
    void (*free)(serve_source_t *src);
};

/* The playback of s->cfg.playback (not NULL), at s->cfg.speed or without
 * timing: every played message formatted once for all clients. */
serve_source_t *serve_playback_new(struct serve *s);

#endif
