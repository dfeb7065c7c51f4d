#include "outq.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* An empty ring keeps up to this many slots; larger ones are freed. */
#define OUTQ_KEEP_SLOTS 16

outq_buf_t *outq_buf_new(size_t len)
{
    outq_buf_t *b = xmalloc(sizeof(*b) + len + 1);
    b->refs = 1;
    b->len = len;
    b->data[len] = '\0';
    return b;
}

outq_buf_t *outq_buf_copy(const void *p, size_t len)
{
    outq_buf_t *b = outq_buf_new(len);
    if (len)
        memcpy(b->data, p, len);
    return b;
}

void outq_buf_unref(outq_buf_t *b)
{
    if (b && --b->refs == 0)
        free(b);
}

void outq_init(outq_t *q)
{
    memset(q, 0, sizeof(*q));
}

void outq_free(outq_t *q)
{
    for (uint32_t i = 0; i < q->count; i++)
        outq_buf_unref(q->items[(q->head + i) & (q->cap - 1)]);
    free(q->items);
    outq_init(q);
}

static void grow(outq_t *q)
{
    uint32_t cap = q->cap ? q->cap * 2 : 4;
    outq_buf_t **items = xmalloc(cap * sizeof(*items));
    for (uint32_t i = 0; i < q->count; i++)
        items[i] = q->items[(q->head + i) & (q->cap - 1)];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
}

void outq_push_owned(outq_t *q, outq_buf_t *b)
{
    if (b->len == 0) {
        outq_buf_unref(b);
        return;
    }
    if (q->count == q->cap)
        grow(q);
    q->items[(q->head + q->count) & (q->cap - 1)] = b;
    q->count++;
    q->pending += b->len;
}

void outq_push(outq_t *q, outq_buf_t *b)
{
    outq_push_owned(q, outq_buf_ref(b));
}

int outq_iov(const outq_t *q, struct iovec *iov, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < q->count && n < max; i++, n++) {
        outq_buf_t *b = q->items[(q->head + i) & (q->cap - 1)];
        size_t skip = i == 0 ? q->off : 0;
        iov[n].iov_base = b->data + skip;
        iov[n].iov_len = b->len - skip;
    }
    return n;
}

void outq_consume(outq_t *q, size_t n)
{
    if (n > q->pending)
        n = q->pending;
    q->pending -= n;
    while (n > 0) {
        outq_buf_t *b = q->items[q->head];
        size_t left = b->len - q->off;
        if (n < left) {
            q->off += n;
            return;
        }
        n -= left;
        outq_buf_unref(b);
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        q->off = 0;
    }
    if (q->count == 0)
        q->head = 0;
}

void outq_drop_unstarted(outq_t *q)
{
    uint32_t keep = q->count && q->off ? 1 : 0;
    for (uint32_t i = keep; i < q->count; i++)
        outq_buf_unref(q->items[(q->head + i) & (q->cap - 1)]);
    q->count = keep;
    q->pending = keep ? q->items[q->head]->len - q->off : 0;
    if (!keep)
        q->head = 0;
}

void outq_shrink(outq_t *q)
{
    if (q->count == 0 && q->cap > OUTQ_KEEP_SLOTS) {
        free(q->items);
        outq_init(q);
    }
}
