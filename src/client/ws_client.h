/* ws_client: one WebSocket client connection on the loop — connect
 * (dial: DNS, proxy, TLS), the opening handshake (ws_handshake), frames
 * (ws_session) — plus what the commands need on top: keepalive pings with a
 * pong deadline, a bounded wait for the peer's close, and reconnects with
 * backoff and jitter.
 *
 * How a connection ends, as an exit code (evcat(1), EXIT STATUS):
 *   0  the peer closed with 1000 or 1001 (or a close without a code), or we
 *      closed because the user asked;
 *   1  any other close code, a close-less end, a protocol violation (we close
 *      with 1002/1007/1009 as the case may be), a handshake or connect error,
 *      a silent peer (no pong within the ping interval). */
#ifndef EVCAT_WS_CLIENT_H
#define EVCAT_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn_settings.h"
#include "loop.h"
#include "ws_session.h"

typedef struct ws_url {
    char *host;        /* name or address, IPv6 without brackets; owned */
    uint16_t port;
    bool tls;          /* wss */
    char *target;      /* "/path?query"; owned */
    char *host_header; /* Host: value; owned */
    char *userpwd;     /* "user:password" from the URL (decoded), or NULL; owned, wiped */
} ws_url_t;

/* Parses a ws:// or wss:// URL. Returns 0, or -1 with a one-line reason
 * that quotes the URL as given: shown through diag, which masks a password. */
int ws_url_parse(const char *url, ws_url_t *out, char *err, size_t errlen);
void ws_url_free(ws_url_t *u);

typedef struct ws_client_opts {
    const char *url;                /* ws:// or wss:// */
    const conn_settings_t *conn;        /* headers, auth, TLS, proxy, timeouts */
    const char *const *protocols;   /* --subprotocol, in order */
    size_t nprotocols;
    const char *origin;             /* --origin or NULL */
    size_t max_message;             /* --max-message */
    uint64_t ping_interval_ms;      /* 0: no keepalive pings */
    bool reconnect;                 /* --reconnect */
    int64_t max_retries;            /* reconnections in all; -1 unlimited */
    bool compress;                  /* --compress: offer permessage-deflate */
} ws_client_opts_t;

typedef struct ws_client_callbacks {
    /* The handshake succeeded (again, after a reconnect). */
    void (*on_open)(void *ud, const char *protocol);
    /* An incoming message or control frame (text, binary, ping, pong). */
    void (*on_message)(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt_ns);
    /* The peer's close frame, as received. May be NULL. */
    void (*on_peer_close)(void *ud, uint16_t code, const char *reason, size_t len);
    /* A ping or close we sent (see ws_session_on_sent): keepalive pings,
     * ws_client_ping, closes of every kind. May be NULL. */
    void (*on_sent)(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code);
    /* After a batch of reads: a good moment to flush output. May be NULL. */
    void (*on_batch)(void *ud);
    /* The client stopped for good, with an exit code; errors were reported. */
    void (*on_end)(void *ud, int exit_code);
} ws_client_callbacks_t;

typedef struct ws_client ws_client_t;

/* opts and the strings it points to must outlive the client. */
ws_client_t *ws_client_new(loop_t *l, const ws_client_opts_t *opts,
                           const ws_client_callbacks_t *cbs, void *ud);
/* Returns 0, or -1 (usage: a bad URL; reported) -> exit 2. */
int ws_client_start(ws_client_t *c);
void ws_client_free(ws_client_t *c);

bool ws_client_is_open(const ws_client_t *c);
/* Queue a message (only while open). Returns 0 or -1. */
int ws_client_send(ws_client_t *c, ws_type_t type, const void *p, size_t n);
int ws_client_ping(ws_client_t *c, const void *p, size_t n);
/* Close because the user asked (code 1000 by default): the end is clean
 * (exit 0) once the peer answers, or after waiting 2 s for it. Before the
 * connection is open, stops at once. */
void ws_client_close(ws_client_t *c, uint16_t code, const char *reason);
/* Bytes queued for sending. */
size_t ws_client_queued(const ws_client_t *c);

#endif
