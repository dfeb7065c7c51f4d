/* outq: refcounted immutable byte buffers, and per-connection queues of
 * references to them. Fan-out formats an event once into an outq_buf and
 * pushes a reference onto every subscriber's queue: N subscribers cost N
 * pointers, not N copies. A queue also carries a connection's own bytes
 * (response heads) as buffers with a single reference. No I/O: the caller
 * asks for iovecs, writes them, and tells the queue how much went out. */
#ifndef EVCAT_OUTQ_H
#define EVCAT_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Immutable once shared. Single-threaded refcount (one loop per thread). */
typedef struct outq_buf {
    uint32_t refs;
    size_t len;
    char data[]; /* len bytes, then a NUL (not counted) */
} outq_buf_t;

/* A buffer of len bytes to fill before sharing it; refs = 1. */
outq_buf_t *outq_buf_new(size_t len);
/* A buffer holding a copy of p; refs = 1. */
outq_buf_t *outq_buf_copy(const void *p, size_t len);
static inline outq_buf_t *outq_buf_ref(outq_buf_t *b)
{
    b->refs++;
    return b;
}
/* Drops a reference; frees the buffer with the last one. NULL is fine. */
void outq_buf_unref(outq_buf_t *b);

typedef struct outq {
    outq_buf_t **items; /* owned ring of references, cap a power of two */
    uint32_t cap, head, count;
    size_t off;     /* bytes of items[head] already written */
    size_t pending; /* bytes queued and not yet written */
} outq_t;

void outq_init(outq_t *q);
/* Drops every reference and the ring. The queue is reusable after it. */
void outq_free(outq_t *q);
/* Queues a new reference to b (the caller keeps its own). */
void outq_push(outq_t *q, outq_buf_t *b);
/* Queues b, taking over the caller's reference. */
void outq_push_owned(outq_t *q, outq_buf_t *b);
/* Fills at most max iovecs with the front of the queue; returns how many. */
int outq_iov(const outq_t *q, struct iovec *iov, int max);
/* n bytes from the front were written: releases the buffers they finish. */
void outq_consume(outq_t *q, size_t n);
static inline size_t outq_pending(const outq_t *q)
{
    return q->pending;
}
/* Drops every buffer not yet started, keeping the one partly written (a
 * frame or event cut in the middle must still be finished before anything
 * else can follow it on the wire). */
void outq_drop_unstarted(outq_t *q);
/* Gives a large, empty ring back (idle subscribers should not keep a burst's
 * peak). */
void outq_shrink(outq_t *q);

#endif
