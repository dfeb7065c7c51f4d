#include "sendq.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* An empty ring keeps up to this many slots; larger ones are freed. */
#define OUTQ_KEEP_SLOTS 16

sendq_buf_t *sendq_buf_new(size_t len)
{
    sendq_buf_t *b = xmalloc(sizeof(*b) + len + 1);
    b->refs = 1;
    b->len = len;
    b->data[len] = '\0';
    return b;
}

sendq_buf_t *sendq_buf_copy(const void *p, size_t len)
{
    sendq_buf_t *b = sendq_buf_new(len);
    if (len)
        memcpy(b->data, p, len);
    return b;
}

void sendq_buf_unref(sendq_buf_t *b)
{
    if (b && --b->refs == 0)
        free(b);
}

void sendq_init(sendq_t *q)
{
    memset(q, 0, sizeof(*q));
}

void sendq_free(sendq_t *q)
{
    for (uint32_t i = 0; i < q->count; i++)
        sendq_buf_unref(q->items[(q->head + i) & (q->cap - 1)]);
    free(q->items);
    sendq_init(q);
}

static void grow(sendq_t *q)
{
    uint32_t cap = q->cap ? q->cap * 2 : 4;
    sendq_buf_t **items = xmalloc(cap * sizeof(*items));
    for (uint32_t i = 0; i < q->count; i++)
        items[i] = q->items[(q->head + i) & (q->cap - 1)];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
}

void sendq_push_owned(sendq_t *q, sendq_buf_t *b)
{
    if (b->len == 0) {
        sendq_buf_unref(b);
        return;
    }
    if (q->count == q->cap)
        grow(q);
    q->items[(q->head + q->count) & (q->cap - 1)] = b;
    q->count++;
    q->pending += b->len;
}

void sendq_push(sendq_t *q, sendq_buf_t *b)
{
    sendq_push_owned(q, sendq_buf_ref(b));
}

int sendq_iov(const sendq_t *q, struct iovec *iov, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < q->count && n < max; i++, n++) {
        sendq_buf_t *b = q->items[(q->head + i) & (q->cap - 1)];
        size_t skip = i == 0 ? q->off : 0;
        iov[n].iov_base = b->data + skip;
        iov[n].iov_len = b->len - skip;
    }
    return n;
}

void sendq_consume(sendq_t *q, size_t n)
{
    if (n > q->pending)
        n = q->pending;
    q->pending -= n;
    while (n > 0) {
        sendq_buf_t *b = q->items[q->head];
        size_t left = b->len - q->off;
        if (n < left) {
            q->off += n;
            return;
        }
        n -= left;
        sendq_buf_unref(b);
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        q->off = 0;
    }
    if (q->count == 0)
        q->head = 0;
}

void sendq_drop_unstarted(sendq_t *q)
{
    uint32_t keep = q->count && q->off ? 1 : 0;
    for (uint32_t i = keep; i < q->count; i++)
        sendq_buf_unref(q->items[(q->head + i) & (q->cap - 1)]);
    q->count = keep;
    q->pending = keep ? q->items[q->head]->len - q->off : 0;
    if (!keep)
        q->head = 0;
}

void sendq_shrink(sendq_t *q)
{
    if (q->count == 0 && q->cap > OUTQ_KEEP_SLOTS) {
        free(q->items);
        sendq_init(q);
    }
}
