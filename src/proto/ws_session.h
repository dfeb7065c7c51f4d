/* ws_session: one WebSocket connection's frames over wslay, client or server
 * side, on any byte transport (callbacks), with no I/O of its own — so the
 * same code runs over TCP, TLS and in-memory pipes (tests, fuzzing).
 *
 * What it adds to wslay 1.1.1:
 *   - messages assembled and bounded by max_message (a larger one: close
 *     1009 and a failure), wslay's own allocation bounded the same way;
 *   - the peer's close frame reported with its real code and reason, also
 *     for 1012-1014 which wslay's validation rejects although servers send
 *     them (1012 "service restart");
 *   - failures explained in one line (protocol error 1002, invalid UTF-8 1007,
 *     too big 1009, transport error, end of stream without a close);
 *   - pings with round-trip times (matched by payload).
 * wslay answers pings itself, and rejects masked frames from a server,
 * RSV bits without an extension and reserved opcodes with 1002.
 *
 * permessage-deflate (ws_session_set_deflate, once the handshake agreed
 * on it): text and binary messages are compressed on their way out; RSV1
 * marks a compressed message coming in, inflated within max_message (a
 * larger one closes 1009 however small it came: ws_deflate.h) and checked
 * for UTF-8 then; RSV1 on a control or continuation frame is a protocol
 * error (1002), and data that does not inflate is 1007. */
#ifndef EVCAT_WS_SESSION_H
#define EVCAT_WS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ws_pmd;

typedef enum {
    WS_TEXT = 1,
    WS_BINARY = 2,
    WS_CLOSE = 8,
    WS_PING = 9,
    WS_PONG = 10,
} ws_type_t;

/* Transport results. */
enum {
    WS_IO_AGAIN = -1, /* would block */
    WS_IO_ERR = -2,   /* broken */
};

typedef struct ws_session_callbacks {
    /* Transport: send returns bytes written (> 0), WS_IO_AGAIN or WS_IO_ERR;
     * recv returns bytes read (> 0), 0 at end of stream, WS_IO_AGAIN or WS_IO_ERR. */
    ssize_t (*send)(void *ud, const uint8_t *p, size_t n);
    ssize_t (*recv)(void *ud, uint8_t *p, size_t n);
    /* A complete incoming message: text (valid UTF-8), binary, ping or pong.
     * For a pong that answers one of our pings, rtt_ns is its round trip
     * (0 otherwise). p is valid during the call only. */
    void (*on_message)(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt_ns);
    /* The peer's close frame (code 1005 when it had none; reason may be
     * empty). Called once; the session answers it (if we had not closed)
     * and then reports WS_SESSION_CLOSED. May be NULL. */
    void (*on_close)(void *ud, uint16_t code, const char *reason, size_t reason_len);
} ws_session_callbacks_t;

typedef enum {
    WS_SESSION_OPEN,
    WS_SESSION_CLOSING, /* we sent a close, waiting for the peer's */
    WS_SESSION_CLOSED,  /* both closes exchanged (or the peer's answered): done, cleanly */
    WS_SESSION_FAILED,  /* protocol violation, limit, transport error or EOF without close */
} ws_session_state_t;

typedef struct ws_session ws_session_t;

/* max_message: the largest incoming message (0: 16 MiB). */
ws_session_t *ws_session_new(bool server, size_t max_message, const ws_session_callbacks_t *cbs,
                             void *ud);
void ws_session_free(ws_session_t *s);

/* The connection agreed on permessage-deflate: the session takes pmd (its
 * codec, ws_deflate.h) and frees it. Before any byte is read or sent. */
void ws_session_set_deflate(ws_session_t *s, struct ws_pmd *pmd);

/* Bytes that came with the handshake, after the head: they are frames and
 * are consumed before the transport is read again. */
void ws_session_feed_initial(ws_session_t *s, const uint8_t *p, size_t n);

/* Drive: call when the transport is readable / writable (or after queueing).
 * Returns the state afterwards. */
ws_session_state_t ws_session_read(ws_session_t *s);
ws_session_state_t ws_session_write(ws_session_t *s);
ws_session_state_t ws_session_state(const ws_session_t *s);
bool ws_session_want_read(const ws_session_t *s);
bool ws_session_want_write(const ws_session_t *s);
/* Bytes queued and not yet written (for bounded server queues). */
size_t ws_session_queued(const ws_session_t *s);

/* Queue a message (text must be valid UTF-8: not checked here). Ping
 * payloads are at most 125 bytes. Returns 0, or -1 when the session is
 * closing or closed, or the payload is invalid for its type. */
int ws_session_send(ws_session_t *s, ws_type_t type, const void *p, size_t n);
/* Reports the control frames the session queues itself: pings
 * (ws_session_ping, with the payload actually sent), our closes
 * (ws_session_close, the answer to the peer's close, the close for a
 * protocol violation) with the code on the wire (1005 for a close without
 * one) and reason. Automatic pongs and the caller's own messages are not
 * reported. The peer's close reaches on_close before our answer to it is
 * reported, in the order they happened. For recordings (--record). fn may be
 * NULL. */
typedef void (*ws_session_sent_fn)(void *ud, ws_type_t type, const uint8_t *p, size_t n,
                                   uint16_t code);
void ws_session_on_sent(ws_session_t *s, ws_session_sent_fn fn);

/* A ping whose pong will carry rtt_ns. payload may be NULL: the session's
 * ping count is sent, in decimal ("1", "2", ...). */
int ws_session_ping(ws_session_t *s, const void *payload, size_t n);
/* Queue our close (reason cut to 123 bytes at a UTF-8 boundary). code 0
 * sends a close without a code. Returns 0 or -1 if already closing. */
int ws_session_close(ws_session_t *s, uint16_t code, const char *reason);

/* After WS_SESSION_FAILED: what happened, in one line, and the close code we
 * sent for it (0 if none could be sent, e.g. transport errors). */
const char *ws_session_error(const ws_session_t *s, uint16_t *code_sent);
/* The peer's close, once received: returns false if none was. */
bool ws_session_peer_close(const ws_session_t *s, uint16_t *code, const char **reason,
                           size_t *reason_len);

/* "normal closure", "going away", ... for a code (the RFC's and IANA's names). */
const char *ws_close_code_name(uint16_t code);

#endif
