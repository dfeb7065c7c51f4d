/* bench_lbuf: see bench_lbuf.h. */
#include "bench_lbuf.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void bench_lbuf_append(bench_lbuf_t **bp, const void *p, size_t n)
{
    bench_lbuf_t *b = *bp;
    if (!b) {
        size_t cap = n < 256 ? 256 : n;
        b = xmalloc(sizeof(*b) + cap);
        b->off = b->len = 0;
        b->cap = cap;
    } else if (b->len + n > b->cap) {
        if (b->off) {
            memmove(b->data, b->data + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap * 2;
            if (cap < b->len + n)
                cap = b->len + n;
            b = xrealloc(b, sizeof(*b) + cap);
            b->cap = cap;
        }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    *bp = b;
}

void bench_lbuf_free(bench_lbuf_t **bp)
{
    free(*bp);
    *bp = NULL;
}
