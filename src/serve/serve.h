/* serve: the server of `evcat serve` — one broadcast channel over HTTP/1.1
 * on the loop: GET /sse streams it as Server-Sent Events, POST /publish
 * adds to it. Plain TCP or TLS (transport), requests parsed by http_request,
 * events formatted once and shared by every subscriber (channel, sendq).
 * GET /ws and GET /echo upgrade to WebSocket (ws_handshake, ws_session):
 * /ws subscribes to the channel and publishes what its client sends; /echo
 * sends every message back. POST /v1/chat/completions streams a made-up
 * answer in OpenAI's chunk format, timed by the config.
 *
 * Life of a connection (one state at a time, one timer re-armed per state):
 *   HANDSHAKE (TLS) -> HEAD -> [BODY] -> handler
 *     handler: /sse   -> STREAM until the client leaves, is dropped for not
 *                        reading, or the server stops
 *              /v1/chat/completions -> STREAM until the answer is over,
 *                        then HEAD again (keep-alive) or CLOSING
 *              other  -> response queued; HEAD again (keep-alive) or CLOSING
 *   CLOSING: flush what is queued, then FIN -> LINGER: discard what the
 *   client still sends until it closes (or 2 s), so that our last response
 *   is not destroyed by a reset.
 *
 * Playback mode (cfg.playback, for `evcat replay FILE --serve`): the same
 * connections, but every GET plays a recording to its client instead.
 *
 * The implementation is split by concern over src/serve/serve_*.c;
 * serve_internal.h lists the files and what each does. */
#ifndef EVCAT_SERVE_H
#define EVCAT_SERVE_H

#include "loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct recording;

typedef struct serve_config {
    struct sockaddr_storage addr; /* where to listen (serve_parse_listen) */
    socklen_t addr_len;
    const char *tls_cert; /* both or neither: https */
    const char *tls_key;
    uint64_t tick_ms;           /* tick event period; 0 = no ticks */
    uint64_t retry_ms;          /* the retry: field sent on connect */
    size_t history;             /* events kept for Last-Event-ID resume */
    size_t history_bytes;       /* and the bytes they may hold together */
    size_t max_message;         /* publish body bound (413 beyond) */
    size_t max_queue;           /* bytes pending for one subscriber before it is dropped */
    size_t max_connections;     /* beyond: 503 and close (default: what RLIMIT_NOFILE allows) */
    size_t max_head;            /* request head bound (431 beyond) */
    uint64_t header_timeout_ms; /* to receive a head; also body inactivity */
    uint64_t idle_timeout_ms;   /* keep-alive connection between requests */
    uint64_t keepalive_ms;      /* ": keepalive" comment period when ticks are off */
    /* POST /v1/chat/completions: the answer's content tokens (fewer when
     * the request's max_tokens says so), the wait for the first and the
     * interval between the next ones (and before the final chunk). */
    uint64_t tokens;
    uint64_t first_token_ns;
    uint64_t token_interval_ns;
    /* Playback mode (`evcat replay FILE --serve`, replay_serve.c): not NULL,
     * every GET on any path plays this recording (not owned; it must
     * outlive the server) to its client (playback.h says what and when):
     * an SSE recording as an event stream, a WebSocket one after an
     * upgrade; the other kind of request gets 400/426 and other methods
     * 405. The channel routes are gone; tick and keepalive should be 0. */
    const struct recording *playback;
    double speed;   /* playback: t is scaled by 1/speed (> 0) */
    bool no_timing; /* playback: every message at once */
    /* Accept permessage-deflate offers on /ws and /echo (evcat serve
     * without --no-compress; never in playback mode, whose frames are
     * built once, uncompressed). Off in serve_config_defaults. */
    bool compress;
} serve_config_t;

/* Descriptors a server keeps beyond --max-connections: 256 for the 503s
 * answered past it (serve_accept.c), 32 for itself. */
#define SERVE_FD_RESERVE (256 + 32)
/* The descriptor limit (RLIMIT_NOFILE, as now) less SERVE_FD_RESERVE. */
size_t serve_default_max_connections(void);
void serve_config_defaults(serve_config_t *cfg);

/* "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" or "8080"
 * (both meaning 127.0.0.1). Returns 0, or -1 when s is not an address. */
int serve_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* "127.0.0.1:8080" / "[::1]:8080" into out. */
void serve_format_addr(const struct sockaddr *sa, char *out, size_t n);

typedef struct serve_stats {
    uint64_t connections; /* accepted */
    uint64_t requests;
    uint64_t published; /* events from POST /publish */
    uint64_t ticks;
    uint64_t dropped;           /* subscribers closed for not reading */
    uint64_t rejected;          /* connections over --max-connections */
    size_t subscribers;         /* SSE subscribers now */
    uint64_t ws_connections;    /* WebSocket upgrades (/ws and /echo) */
    uint64_t ws_messages;       /* text and binary messages received from WebSocket clients */
    uint64_t ws_binary_ignored; /* binary messages sent to /ws (not published) */
    uint64_t ws_deflate;        /* WebSocket connections that agreed on permessage-deflate */
    size_t ws_clients;          /* WebSocket connections now */
    uint64_t playbacks;         /* playback mode: streams and WebSockets started */
    uint64_t played;            /* playback mode: messages queued to clients */
    uint64_t completions;       /* POST /v1/chat/completions answers started */
} serve_stats_t;

typedef struct serve serve_t;

enum {
    SERVE_EUSAGE = -2, /* a bad TLS file or key: a usage error */
    SERVE_EFAIL = -1,  /* cannot listen (address in use, ...) */
};

/* Listens and starts serving on l. Returns 0, or an error above with a
 * one-line reason in err. */
int serve_start(loop_t *l, const serve_config_t *cfg, serve_t **out, char *err, size_t errlen);
/* The address actually listened on (port 0 picks one). */
void serve_local_addr(const serve_t *s, char *out, size_t n);
bool serve_is_tls(const serve_t *s);
/* Graceful stop: no more accepts, every connection ended cleanly (streams
 * flushed and closed, keep-alive connections closed); loop_stop() once the
 * last one is gone, or after a short grace. A second call stops at once. */
void serve_stop(serve_t *s);
const serve_stats_t *serve_stats(const serve_t *s);
/* Closes everything left and frees. */
void serve_free(serve_t *s);

#endif
