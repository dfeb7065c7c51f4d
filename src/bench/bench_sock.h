/* bench_sock: the connection head that bench's own drivers share
 * (bench_ws.c for WebSocket, bench_sse_h1.c for HTTP/1.1 SSE): the
 * worker's list of connections, the socket (plain TCP, or TLS through
 * transport), the output the socket has not taken yet, the connect timeout,
 * and the steps from connect() to a connection ready for its request. Each
 * driver's connection struct begins with a bench_sock_t; what happens once
 * the request is sent (a handshake, a response head, frames, a body) is the
 * driver's. */
#ifndef EVCAT_BENCH_SOCK_H
#define EVCAT_BENCH_SOCK_H

#include "bench_worker.h"
#include "bench_lbuf.h"
#include "loop.h"
#include "transport.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The states every connection goes through first; a driver numbers its
 * own from BSOCK_READY on. */
enum { BSOCK_CONNECTING, BSOCK_TLS, BSOCK_READY };

typedef struct bench_sock bench_sock_t;
struct bench_sock {
    bench_sock_t *prev, *next; /* the worker's list, for close_all/abort_all */
    bench_worker_t *w;
    transport_t *tls;          /* owned; NULL for plain TCP */
    bench_lbuf_t *out;         /* owned; unsent bytes, NULL when all written */
    uint64_t start_ns;         /* connect time is measured from here */
    loop_timer_t timer;        /* --connect-timeout; the driver's after that */
    int fd;                    /* owned (through tls when set) */
    uint8_t state;             /* BSOCK_*, then the driver's */
    bool count_wire;           /* add the bytes read and written to w->wire_* */
};

/* Starts connection `index` (bench_connect): a zeroed struct of `size`
 * bytes that begins with its bench_sock_t, first in *list, its timer
 * calling on_timer with the struct. NULL when the attempt failed at once
 * (counted: bench_failed). */
void *bsock_open(bench_worker_t *w, bench_sock_t **list, uint64_t index, size_t size,
                 loop_timer_fn on_timer);

/* Watches the socket with on_io(ud) for what its state needs, and arms the
 * connect timeout when there is one. 0, or a negative errno (the caller
 * ends the connection). */
int bsock_watch(bench_sock_t *s, loop_fd_fn on_io, void *ud);

/* Takes s off *list, stops its timer, closes the socket (and TLS) and frees
 * the unsent output; the driver frees the rest of its struct. */
void bsock_release(bench_sock_t *s, bench_sock_t **list);

/* What the loop's events mean for a connection past BSOCK_TLS: queued
 * output may go (BSOCK_CAN_FLUSH), bytes may be read (BSOCK_CAN_READ). TLS
 * may want either readiness for either direction. */
enum { BSOCK_CAN_FLUSH = 1, BSOCK_CAN_READ = 2 };
unsigned bsock_can(const bench_sock_t *s, unsigned events);

/* What to wait for, from the state and the output queued. */
unsigned bsock_interest(const bench_sock_t *s);
void bsock_update_interest(bench_sock_t *s);

/* > 0 bytes, 0 at EOF (read), NETIO_AGAIN or NETIO_ERR (errno set for
 * plain TCP). */
ssize_t bsock_read(bench_sock_t *s, void *p, size_t n);
ssize_t bsock_write(bench_sock_t *s, const void *p, size_t n);

/* The error kind of a failed read or write: a refusal seen once the
 * connection has reached state `connected` is a reset. */
bench_err_t bsock_error_kind(const bench_sock_t *s, int err, uint8_t connected);

/* Writes p[0..n) after whatever is queued; what the socket does not take
 * now is queued (and writability wanted). 0, or NETIO_ERR with errno set
 * (the caller ends the connection). */
int bsock_send(bench_sock_t *s, const void *p, size_t n);

/* Plain TCP right after connect(), before the socket is watched: the TCP
 * handshake is often over by then (on loopback unless the listener is
 * backed up), and sending at once spares a wake-up for writability, a
 * getsockopt and an epoll_ctl. 1: sent (what the socket did not take is
 * queued), 0: still connecting (nothing taken: wait for writability as
 * usual), -1: the connect failed (errno set). The caller moves the state
 * on. */
int bsock_send_early(bench_sock_t *s, const void *p, size_t n);

/* Writes what is queued until the socket takes no more, then waits for
 * what the state and the rest need. 0, or NETIO_ERR with errno set (the
 * caller ends the connection). */
int bsock_flush(bench_sock_t *s);

/* One step from connect() to a connection ready for its request: the
 * connect's outcome (BSOCK_CONNECTING), then TLS (BSOCK_TLS) when the
 * config asks for it. 1: ready (state BSOCK_READY), 0: waiting for the
 * socket, -1: failed with *kind (the caller ends the connection). */
int bsock_connect_step(bench_sock_t *s, bench_err_t *kind);

#endif
