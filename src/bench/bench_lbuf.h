/* bench_lbuf: a connection's bytes kept while needed (unsent output, a
 * message or response head arriving in pieces): allocated on the first
 * byte, freed when drained, so idle connections hold none. */
#ifndef EVCAT_BENCH_LBUF_H
#define EVCAT_BENCH_LBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_lbuf {
    size_t off, len, cap; /* data[off..len) is pending */
    uint8_t data[];
} bench_lbuf_t;

/* Appends p[0..n) to *bp, allocating it (at least 256 bytes) or growing
 * it (moving the pending bytes to the front first). */
void bench_lbuf_append(bench_lbuf_t **bp, const void *p, size_t n);

/* Frees *bp and sets it to NULL. */
void bench_lbuf_free(bench_lbuf_t **bp);

#endif
