/* serve_internal: what the files of the server share, and nothing outside
 * src/serve should use (serve.h is the public API): the connection and the
 * server structs, and each part's entry points.
 *
 * The parts, one file each:
 *   serve_config.c      defaults, --listen addresses and their printed form
 *   serve_lifecycle.c   start (listening socket, TLS), stats, stop, free
 *   serve_accept.c      accepting, --max-connections, the rate-limited
 *                       warnings about refused connections and drops
 *   serve_conn.c        one connection: reading, writing its queue, its
 *                       states and timeouts, closing; subscriber lists
 *   serve_request.c     parsing a request (head, body), the route table
 *   serve_response.c    responses: status line, common headers, errors, log
 *   serve_sse_publish.c GET /sse, POST /publish, history resume, ticks
 *   serve_websocket.c   GET /ws and GET /echo
 *   serve_completions.c POST /v1/chat/completions, a token stream on a timer
 *   serve_page.c        GET /, the browser page (page/index.html, embedded)
 *   serve_playback.c    the playback source (serve_source.h) of
 *                       `evcat replay FILE --serve`
 *
 * Life of a connection (one state at a time, one timer re-armed per state)
 * is drawn in serve.h. */
#ifndef EVCAT_SERVE_INTERNAL_H
#define EVCAT_SERVE_INTERNAL_H

#include "buf.h"
#include "channel.h"
#include "http_request.h"
#include "loop.h"
#include "sendq.h"
#include "serve.h"
#include "serve_source.h"
#include "transport.h"
#include "ws_deflate.h"
#include "ws_session.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* To flush a final response (and, in a playback, to await the client's
 * answer to our WebSocket close). */
#define CLOSING_MS 5000
/* Responses queued before a connection's reading pauses (pipelining). */
#define PIPELINE_OUT_MAX (64u * 1024u)
/* Rate limit of repeated warnings. */
#define WARN_INTERVAL_NS 1000000000ull

enum conn_state {
    CS_HANDSHAKE, /* TLS handshake */
    CS_HEAD,      /* receiving a request head (or idle between requests) */
    CS_BODY,      /* receiving a request body */
    CS_STREAM,    /* an event stream (an SSE subscriber, or a playback) */
    CS_UPGRADED,  /* taken over by another protocol (struct serve_upgrade) */
    CS_CLOSING,   /* flushing the last response, then FIN */
    CS_LINGER,    /* FIN sent: discarding input until the client closes */
    CS_DEAD,      /* closed; memory freed at the end of the round */
};

struct conn;
struct route; /* serve_request.c */

/* A protocol that takes over a connection after its request: WebSocket's
 * GET /ws and GET /echo (serve_websocket.c). Its route handler queues the
 * 101 response, sets c->upgrade (and c->upgrade_ud) and state CS_UPGRADED;
 * from then on bytes read (those already read past the head first) go to
 * on_data, output goes through the connection's queue (conn_send), and
 * on_shutdown runs when the server stops (send close 1001 there, then
 * conn_finish). Returning < 0 from on_data closes the connection. on_close
 * runs when the connection closes, whatever the reason. */
struct serve_upgrade {
    int (*on_data)(struct conn *c, const char *p, size_t n);
    void (*on_shutdown)(struct conn *c);
    void (*on_close)(struct conn *c);
};

/* A response that streams on the connection's own timer and ends by itself
 * (serve_completions.c): its handler sets c->streamer (and c->streamer_ud)
 * and state CS_STREAM, arms c->timer; timer runs when it fires in that
 * state, closed when the connection closes meanwhile (free the state). */
struct serve_streamer {
    void (*timer)(struct conn *c);
    void (*closed)(struct conn *c);
};

struct conn {
    serve_t *srv;
    transport_t io; /* owns the socket and TLS state */
    enum conn_state state;
    bool reject;        /* over --max-connections: answer 503 */
    bool write_blocked; /* the last write would have blocked: wait for writability */
    bool dirty;         /* on srv->dirty: to flush at the end of the round */
    bool read_paused;   /* pipelined responses or pongs pile up: stop reading */
    bool keep_alive;    /* the current request allows another after it */
    bool waiting;       /* idle between requests: the idle timeout runs */
    bool source_paused; /* the source stopped queueing over --max-queue:
                           conn_flush calls its drained() once half went out */

    http_request_t *req; /* owned; NULL once streaming or upgraded */
    buf_t in;            /* owned: bytes read and not yet parsed */
    buf_t body;          /* owned: the request body so far */
    http_request_chunked_t chunk;
    int64_t body_left;  /* Content-Length bytes still to come; -1 chunked */
    sendq_t out;        /* owned references: what is queued for the client */
    loop_timer_t timer; /* the current state's timeout; in a connection a
                           source took, the source's (its next message) */

    const struct route *route; /* of the request being received */
    const struct serve_upgrade *upgrade;
    void *upgrade_ud;
    void *source_ud; /* the source's own state for this client (closed() frees it) */
    const struct serve_streamer *streamer; /* a timed response in progress, or NULL */
    void *streamer_ud;                     /* its state (streamer->closed frees it) */

    struct conn **sub_list;           /* the subscriber list c is on (srv->subs,
                                         srv->ws_subs), or NULL */
    struct conn *prev, *next;         /* srv->conns */
    struct conn *sub_prev, *sub_next; /* *sub_list */
    struct conn *dirty_next;          /* srv->dirty */
    struct conn *dead_next;           /* srv->dead */
    char peer[INET6_ADDRSTRLEN + 10];
};

struct serve {
    loop_t *loop;
    serve_config_t cfg;
    int lfd;
    SSL_CTX *tls; /* owned; NULL for plain http */
    channel_t *ch;
    serve_source_t *source; /* owned: in playback mode, what answers every GET */
    ws_pmd_pool_t *pmd;     /* owned: permessage-deflate's shared zlib contexts, made at
                               the first connection that agrees on it; NULL before */
    char local[INET6_ADDRSTRLEN + 10];

    struct conn *conns; /* owned: every live connection */
    size_t nconns;
    struct conn *subs;    /* the SSE subscribers among them */
    struct conn *ws_subs; /* the /ws subscribers among them */
    struct conn *dirty;
    struct conn *dead; /* owned: closed, to free */

    loop_timer_t defer_timer; /* end of round: flush dirty, free dead */
    loop_timer_t tick_timer;  /* tick events */
    loop_timer_t keepalive_timer;
    loop_timer_t accept_timer; /* resume accepting after EMFILE */
    loop_timer_t warn_timer;   /* rate-limited drop and refusal warnings */
    loop_timer_t stop_timer;   /* graceful stop's deadline */
    uint64_t tick_seq;
    uint64_t last_warn_ns, last_accept_warn_ns;
    uint64_t drops_unreported;
    uint64_t refusals_unreported;
    bool stopping;

    char date[40]; /* the Date header's value, updated once a second */
    time_t date_sec;
    serve_stats_t stats;
};

/* ---- serve_accept.c ---- */

/* The listening socket is readable: accept what is pending. */
void serve_on_accept(loop_t *l, int fd, unsigned events, void *ud);
/* s->accept_timer's callback: accepting resumes after a pause. */
void serve_on_accept_timer(loop_t *l, loop_timer_t *t, void *ud);
/* Counts a subscriber dropped for not reading, and warns (rate-limited). */
void serve_note_drop(serve_t *s);
/* Writes the warnings not written yet (at the stop). */
void serve_warn_pending(serve_t *s);
/* s->warn_timer's callback. */
void serve_on_warn_timer(loop_t *l, loop_timer_t *t, void *ud);

/* ---- serve_conn.c ---- */

/* A connection for fd, just accepted from sa; reject: answer 503 and close. */
void conn_new(serve_t *s, int fd, const struct sockaddr *sa, bool reject);
/* Queues bytes of this connection's own (not shared). */
void conn_send(struct conn *c, const void *p, size_t n);
/* To flush at the end of the round (s->defer_timer). */
void conn_mark_dirty(struct conn *c);
/* Enters CS_CLOSING: the queued output goes out, then FIN and linger. */
void conn_finish(struct conn *c);
/* Closes at once (no flush) and frees at the end of the round, so that
 * callers up the stack may still look at c->state. why: a -v note. */
void conn_close(struct conn *c, const char *why);
/* A request becomes a stream (CS_STREAM): the request parser and buffers
 * are not needed any more, an idle subscriber keeps only the connection
 * struct and its queue. */
void conn_enter_stream(struct conn *c);
/* Puts c on a subscriber list (c is on one at most). */
void conn_list_add(struct conn **list, struct conn *c);
/* Takes c off its subscriber list, if it is on one. */
void conn_list_remove(struct conn *c);
/* Queues a shared buffer on every connection of list; drop gets those
 * whose queue goes over --max-queue (and takes them off the list). */
void conn_fan_out(struct conn *list, sendq_buf_t *b, void (*drop)(struct conn *c));
/* s->defer_timer's callback: flush what this round queued, free the dead. */
void conn_on_round_end(loop_t *l, loop_timer_t *t, void *ud);

/* ---- serve_request.c ---- */

/* Parses what c->in holds, as far as the state allows, and runs what is
 * complete: routes, handlers, or the upgraded protocol's on_data. */
void conn_process(struct conn *c);
/* The current request is answered: waits for the next one (keep-alive,
 * c->req reset) or ends the connection. Then conn_process takes what
 * c->in already holds. */
void conn_next_request(struct conn *c);

/* ---- serve_response.c ---- */

const char *serve_status_text(int status);
/* The -v line of a request: peer, method, target, status and a note. */
void conn_log_request(struct conn *c, int status, const char *note);
/* Queues a complete response: status line, common headers, extra (each line
 * ending in CRLF), and a body with its Content-Length. A HEAD request gets
 * the headers only. close: ends the connection after it. */
void conn_respond(struct conn *c, int status, const char *extra, const char *ctype,
                  const char *body, size_t blen, bool close);
/* An error answer (logged); the connection closes after it. */
void conn_respond_error(struct conn *c, int status, const char *why, const char *extra);
/* Queues the head of an event stream, and the retry: field when asked. */
void conn_event_stream_head(struct conn *c, bool retry);
/* The head of an event stream that is one response among others: chunked
 * (HTTP/1.1, the connection kept when the request allows) or, with chunked
 * false, delimited by the connection's end. */
void conn_stream_head(struct conn *c, bool chunked);

/* ---- serve_sse_publish.c ---- */

void serve_sse_route_stream(struct conn *c);  /* GET /sse */
void serve_sse_route_publish(struct conn *c); /* POST /publish */
/* Publishes one event to the channel's SSE and /ws subscribers; returns its id. */
uint64_t serve_publish(serve_t *s, const char *type, size_t tlen, const char *data, size_t dlen);
/* Takes c off the SSE subscribers, if it is one. */
void serve_sse_unsubscribe(struct conn *c);
/* s->tick_timer's and s->keepalive_timer's callbacks. */
void serve_sse_on_tick(loop_t *l, loop_timer_t *t, void *ud);
void serve_sse_on_keepalive(loop_t *l, loop_timer_t *t, void *ud);

/* ---- serve_completions.c ---- */

void serve_completions_route(struct conn *c); /* POST /v1/chat/completions */

/* ---- serve_page.c ---- */

void serve_page_route(struct conn *c); /* GET / */
/* The page's extra response headers (Cache-Control, Content-Security-Policy
 * with the hashes of its inline style and script, ...), CRLF-terminated. */
const char *serve_page_headers(void);

/* ---- serve_websocket.c ---- */

/* What a WebSocket connection does with what its client sends. */
enum serve_ws_kind {
    SERVE_WS_CHANNEL,  /* /ws: text is published, the channel is sent */
    SERVE_WS_ECHO,     /* /echo: every message comes back */
    SERVE_WS_PLAYBACK, /* a source plays to it; what the client says changes nothing */
};

void serve_ws_route_channel(struct conn *c); /* GET /ws */
void serve_ws_route_echo(struct conn *c);    /* GET /echo */
/* Checks c's upgrade request (400, or 426 for a plain GET or another
 * version), answers 101 and hands the connection to a WebSocket session.
 * Returns whether it did. */
bool serve_ws_upgrade(struct conn *c, enum serve_ws_kind kind);
/* The session of an upgraded connection, NULL once it is closed, failed or
 * dropped (it gets no more input). */
ws_session_t *serve_ws_session(struct conn *c);
/* After the session ran outside its own input: ends the connection once the
 * session is over, and stops reading while the queue is over --max-queue. */
void serve_ws_after(struct conn *c);
/* An unmasked server frame (FIN set) around payload, ready to share. */
sendq_buf_t *serve_ws_frame_new(unsigned opcode, const void *payload, size_t n);
/* Sends one frame to every /ws subscriber (nothing is built when there is
 * none). */
void serve_ws_broadcast(serve_t *s, unsigned opcode, const void *payload, size_t n);

#endif
