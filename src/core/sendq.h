/* sendq: refcounted immutable byte buffers, and per-connection queues of
 * references to them. Fan-out formats an event once into a sendq_buf and
 * pushes a reference onto every subscriber's queue: N subscribers cost N
 * pointers, not N copies. A queue also carries a connection's own bytes
 * (response heads) as buffers with a single reference. No I/O: the caller
 * asks for iovecs, writes them, and tells the queue how much went out. */
#ifndef EVCAT_SENDQ_H
#define EVCAT_SENDQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Immutable once shared. Single-threaded refcount (one loop per thread). */
typedef struct sendq_buf {
    uint32_t refs;
    size_t len;
    char data[]; /* len bytes, then a NUL (not counted) */
} sendq_buf_t;

/* A buffer of len bytes to fill before sharing it; refs = 1. */
sendq_buf_t *sendq_buf_new(size_t len);
/* A buffer holding a copy of p; refs = 1. */
sendq_buf_t *sendq_buf_copy(const void *p, size_t len);
static inline sendq_buf_t *sendq_buf_ref(sendq_buf_t *b)
{
    b->refs++;
    return b;
}
/* Drops a reference; frees the buffer with the last one. NULL is fine. */
void sendq_buf_unref(sendq_buf_t *b);

typedef struct sendq {
    sendq_buf_t **items; /* owned ring of references, cap a power of two */
    uint32_t cap, head, count;
    size_t off;     /* bytes of items[head] already written */
    size_t pending; /* bytes queued and not yet written */
} sendq_t;

void sendq_init(sendq_t *q);
/* Drops every reference and the ring. The queue is reusable after it. */
void sendq_free(sendq_t *q);
/* Queues a new reference to b (the caller keeps its own). */
void sendq_push(sendq_t *q, sendq_buf_t *b);
/* Queues b, taking over the caller's reference. */
void sendq_push_owned(sendq_t *q, sendq_buf_t *b);
/* Fills at most max iovecs with the front of the queue; returns how many. */
int sendq_iov(const sendq_t *q, struct iovec *iov, int max);
/* n bytes from the front were written: releases the buffers they finish. */
void sendq_consume(sendq_t *q, size_t n);
static inline size_t sendq_pending(const sendq_t *q)
{
    return q->pending;
}
/* Drops every buffer not yet started, keeping the one partly written (a
 * frame or event cut in the middle must still be finished before anything
 * else can follow it on the wire). */
void sendq_drop_unstarted(sendq_t *q);
/* Gives a large, empty ring back (idle subscribers should not keep a burst's
 * peak). */
void sendq_shrink(sendq_t *q);

#endif
