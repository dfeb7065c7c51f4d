/* ws_deflate: the permessage-deflate codec over zlib (see ws_deflate.h).
 *
 * Compressing: deflate with Z_SYNC_FLUSH, which ends the output on a byte
 * boundary with an empty stored block (00 00 ff ff), taken off as RFC 7692
 * 7.2.1 says. Inflating: the payload, then those four bytes put back, the
 * last step with Z_BLOCK so that zlib tells whether the message ended on a
 * block boundary — a payload cut short would leave a kept context out of
 * step with the peer's and decode the next message into garbage, so it is
 * refused. A peer may end a message with a final block (BFINAL, 7.2.3.5):
 * nothing may follow it, and a kept window survives the reset that a
 * finished stream needs (inflateGetDictionary, then SetDictionary). */
#include "ws_deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* Shared compressors are reset before every message: deflateReset clears
 * the hash heads, 2^(memLevel+8) bytes (64 KiB at 8), each time. At small
 * messages that memset is most of the cost, and at memLevel 6 (16 KiB) a
 * message up to a few KiB compresses as well. */
#define SHARED_MEMLEVEL 6
#define FULL_MEMLEVEL   8
#define INFLATE_STEP    4096 /* first output step; then doubling */

typedef struct zmem {
    size_t cur, peak;
} zmem_t;

/* A zlib context, compressor or inflater. */
struct zctx {
    z_stream z;
    zmem_t *agg;     /* where its allocations are counted (a pool's, or a connection's) */
    size_t bytes;    /* allocated for it now, this struct included */
    uint8_t bits;    /* its window */
    bool deflating;
};

struct ws_pmd_pool {
    zmem_t mem;
    struct zctx *zc[WS_PMD_MAX_BITS + 1]; /* owned: shared compressors by window bits */
    struct zctx *zd;                      /* owned: the shared inflater (window 15) */
};

struct ws_pmd {
    ws_pmd_params_t p;
    ws_pmd_pool_t *pool; /* or NULL */
    zmem_t own;          /* counts for a connection without a pool */
    struct zctx *zc;     /* owned: our compressor when kept, or when there is no pool */
    struct zctx *zd;     /* owned: our inflater when kept, or when there is no pool */
    uint8_t tx_bits;     /* window we compress with; 0: messages go uncompressed */
    uint8_t tx_memlevel;
    uint8_t rx_bits;     /* window of a kept inflater */
    bool tx_keep, rx_keep;
};

/* ---- parameters ---- */

void ws_pmd_params_default(ws_pmd_params_t *p)
{
    memset(p, 0, sizeof(*p));
    p->server_max_window_bits = WS_PMD_MAX_BITS;
    p->client_max_window_bits = WS_PMD_MAX_BITS;
}

void ws_pmd_describe(const ws_pmd_params_t *p, char *out, size_t n)
{
    snprintf(out, n, "%sserver_max_window_bits=%u; %sclient_max_window_bits=%u",
             p->server_no_context_takeover ? "server_no_context_takeover; " : "",
             p->server_max_window_bits,
             p->client_no_context_takeover ? "client_no_context_takeover; " : "",
             p->client_max_window_bits);
}

/* ---- counted zlib contexts ---- */

/* Each allocation carries its size in front, in a max_align_t's room. */
typedef union {
    size_t n;
    max_align_t align;
} zhdr_t;

static void count(struct zctx *c, size_t n, bool add)
{
    if (add) {
        c->bytes += n;
        c->agg->cur += n;
        if (c->agg->cur > c->agg->peak)
            c->agg->peak = c->agg->cur;
    } else {
        c->bytes -= n;
        c->agg->cur -= n;
    }
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    size_t n = (size_t)items * size;
    zhdr_t *h = malloc(sizeof(*h) + n);
    if (!h)
        return Z_NULL;
    h->n = n;
    count(opaque, n, true);
    return h + 1;
}

static void z_free(voidpf opaque, voidpf p)
{
    if (!p)
        return;
    zhdr_t *h = (zhdr_t *)p - 1;
    count(opaque, h->n, false);
    free(h);
}

static struct zctx *zctx_new(zmem_t *agg, bool deflating, unsigned bits, int memlevel)
{
    struct zctx *c = xcalloc(1, sizeof(*c));
    c->agg = agg;
    c->bits = (uint8_t)bits;
    c->deflating = deflating;
    c->z.zalloc = z_alloc;
    c->z.zfree = z_free;
    c->z.opaque = c;
    count(c, sizeof(*c), true);
    int rc = deflating ? deflateInit2(&c->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -(int)bits,
                                      memlevel, Z_DEFAULT_STRATEGY)
                       : inflateInit2(&c->z, -(int)bits);
    if (rc != Z_OK) {
        count(c, sizeof(*c), false);
        free(c);
        return NULL;
    }
    return c;
}

static void zctx_free(struct zctx *c)
{
    if (!c)
        return;
    if (c->deflating)
        deflateEnd(&c->z);
    else
        inflateEnd(&c->z);
    count(c, sizeof(*c), false);
    free(c);
}

/* ---- pool ---- */

ws_pmd_pool_t *ws_pmd_pool_new(void)
{
    return xcalloc(1, sizeof(ws_pmd_pool_t));
}

void ws_pmd_pool_free(ws_pmd_pool_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < ARRAY_LEN(p->zc); i++)
        zctx_free(p->zc[i]);
    zctx_free(p->zd);
    free(p);
}

size_t ws_pmd_pool_bytes(const ws_pmd_pool_t *p)
{
    return p ? p->mem.cur : 0;
}

size_t ws_pmd_pool_peak(const ws_pmd_pool_t *p)
{
    return p ? p->mem.peak : 0;
}

/* ---- connection ---- */

ws_pmd_t *ws_pmd_new(const ws_pmd_params_t *p, bool server, ws_pmd_pool_t *pool, unsigned flags)
{
    ws_pmd_t *m = xcalloc(1, sizeof(*m));
    m->p = *p;
    m->pool = pool;
    bool lean = flags & WS_PMD_LEAN;
    unsigned tx_max = server ? p->server_max_window_bits : p->client_max_window_bits;
    bool tx_reset = server ? p->server_no_context_takeover : p->client_no_context_takeover;
    m->tx_keep = !tx_reset && !(flags & WS_PMD_NO_KEEP);
    m->rx_keep = !(server ? p->client_no_context_takeover : p->server_no_context_takeover);
    m->rx_bits = (uint8_t)(server ? p->client_max_window_bits : p->server_max_window_bits);
    /* zlib refuses windowBits 8 for raw deflate (it would silently make
     * it 9, too large for the peer): such a side sends plain messages. */
    if (tx_max > WS_PMD_MIN_BITS)
        m->tx_bits = (uint8_t)(m->tx_keep && lean && tx_max > WS_PMD_LEAN_BITS ? WS_PMD_LEAN_BITS
                                                                             : tx_max);
    m->tx_memlevel = m->tx_keep ? (lean ? WS_PMD_LEAN_MEMLEVEL : FULL_MEMLEVEL) : SHARED_MEMLEVEL;
    return m;
}

void ws_pmd_free(ws_pmd_t *m)
{
    if (!m)
        return;
    zctx_free(m->zc);
    zctx_free(m->zd);
    free(m);
}

const ws_pmd_params_t *ws_pmd_params(const ws_pmd_t *m)
{
    return &m->p;
}

size_t ws_pmd_memory(const ws_pmd_t *m)
{
    return (m->zc ? m->zc->bytes : 0) + (m->zd ? m->zd->bytes : 0);
}

static zmem_t *agg_of(ws_pmd_t *m)
{
    return m->pool ? &m->pool->mem : &m->own;
}

/* A shared compressor of the pool, reset for a new message. */
static struct zctx *pool_tx(ws_pmd_pool_t *p, unsigned bits)
{
    struct zctx **slot = &p->zc[bits];
    if (!*slot)
        *slot = zctx_new(&p->mem, true, bits, SHARED_MEMLEVEL);
    else
        deflateReset(&(*slot)->z);
    return *slot;
}

/* The compressor for the next message, reset unless its context is kept. */
static struct zctx *tx_ctx(ws_pmd_t *m)
{
    if (!m->tx_keep && m->pool)
        return pool_tx(m->pool, m->tx_bits);
    if (!m->zc)
        m->zc = zctx_new(agg_of(m), true, m->tx_bits, m->tx_memlevel);
    else if (!m->tx_keep)
        deflateReset(&m->zc->z);
    return m->zc;
}

/* The inflater for the next message, reset unless its context is kept. A
 * shared one has the largest window: it decodes every smaller one. */
static struct zctx *rx_ctx(ws_pmd_t *m)
{
    struct zctx **slot = m->rx_keep || !m->pool ? &m->zd : &m->pool->zd;
    unsigned bits = m->rx_keep ? m->rx_bits : WS_PMD_MAX_BITS;
    if (!*slot)
        *slot = zctx_new(agg_of(m), false, bits, 0);
    else if (!m->rx_keep)
        inflateReset(&(*slot)->z);
    return *slot;
}

int ws_pmd_tx_shared_bits(const ws_pmd_t *m)
{
    if (!m->tx_bits)
        return 0;
    return m->tx_keep || !m->pool ? -1 : m->tx_bits;
}

static int deflate_with(struct zctx *c, const void *p, size_t n, buf_t *out);

int ws_pmd_deflate(ws_pmd_t *m, const void *p, size_t n, buf_t *out)
{
    if (!m->tx_bits)
        return WS_PMD_PLAIN;
    return deflate_with(tx_ctx(m), p, n, out);
}

int ws_pmd_pool_deflate(ws_pmd_pool_t *pool, unsigned bits, const void *p, size_t n, buf_t *out)
{
    if (bits <= WS_PMD_MIN_BITS || bits > WS_PMD_MAX_BITS)
        return WS_PMD_PLAIN;
    return deflate_with(pool_tx(pool, bits), p, n, out);
}

/* The message p[0..n) through c, its payload appended to out. */
static int deflate_with(struct zctx *c, const void *p, size_t n, buf_t *out)
{
    if (!c)
        return WS_PMD_NOMEM;
    if (n == 0) {
        /* An empty stored block's first byte (7.2.3.6): zlib would emit
         * nothing at all for no input after a flush. */
        buf_putc(out, 0);
        return WS_PMD_OK;
    }
    size_t start = out->len;
    const uint8_t *in = p;
    size_t left = n;
    do {
        uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
        c->z.next_in = (Bytef *)in;
        c->z.avail_in = take;
        do {
            size_t room = ws_pmd_deflate_bound(take);
            buf_reserve(out, room);
            c->z.next_out = (Bytef *)out->p + out->len;
            c->z.avail_out = (uInt)room;
            int rc = deflate(&c->z, Z_SYNC_FLUSH);
            out->len += room - c->z.avail_out;
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                goto broken;
        } while (c->z.avail_out == 0);
        in += take - c->z.avail_in;
        left -= take - c->z.avail_in;
    } while (left > 0);
    if (out->len - start < 4 || memcmp(out->p + out->len - 4, "\0\0\xff\xff", 4) != 0)
        goto broken;
    out->len -= 4;
    out->p[out->len] = '\0';
    return WS_PMD_OK;
broken:
    /* Only a zlib misuse gets here: the message is not sent. */
    out->len = start;
    if (out->p)
        out->p[out->len] = '\0';
    return WS_PMD_NOMEM;
}

enum { FEED_MORE = 1, FEED_END = 2 };

/* Inflates in[0..n) into out, the message so far starting at start.
 * Returns FEED_MORE (all consumed), FEED_END (the final block ended; *rest
 * = input bytes after it) or a WS_PMD_* error. */
static int feed(struct zctx *c, const uint8_t *in, size_t n, int flush, size_t max, buf_t *out,
                size_t start, size_t *rest)
{
    c->z.next_in = (Bytef *)in;
    c->z.avail_in = (uInt)n;
    for (;;) {
        size_t produced = out->len - start;
        if (produced > max)
            return WS_PMD_TOO_BIG;
        size_t room = max + 1 - produced;
        size_t step = produced < INFLATE_STEP ? INFLATE_STEP : produced;
        if (room > step)
            room = step;
        if (room > (1u << 30))
            room = 1u << 30;
        buf_reserve(out, room);
        c->z.next_out = (Bytef *)out->p + out->len;
        c->z.avail_out = (uInt)room;
        int rc = inflate(&c->z, flush);
        out->len += room - c->z.avail_out;
        out->p[out->len] = '\0';
        if (out->len - start > max)
            return WS_PMD_TOO_BIG;
        if (rc == Z_STREAM_END) {
            *rest = c->z.avail_in;
            return FEED_END;
        }
        if (rc == Z_MEM_ERROR)
            return WS_PMD_NOMEM;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return WS_PMD_CORRUPT;
        /* inflate stops when the input is used up or the output is full
         * (or, with Z_BLOCK, at a block's end: go round again). */
        if (c->z.avail_in == 0 && c->z.avail_out > 0)
            return FEED_MORE;
        if (rc == Z_BUF_ERROR)
            return WS_PMD_CORRUPT; /* no progress with input left */
    }
}

/* The peer ended its stream (a final block): start the next one, with the
 * window kept when the peer takes it over. */
static int restart_kept(struct zctx *c)
{
    Bytef *dict = xmalloc((size_t)1 << WS_PMD_MAX_BITS);
    uInt len = 0;
    int rc = inflateGetDictionary(&c->z, dict, &len);
    if (rc == Z_OK)
        rc = inflateReset(&c->z);
    if (rc == Z_OK && len)
        rc = inflateSetDictionary(&c->z, dict, len);
    free(dict);
    return rc == Z_OK ? WS_PMD_OK : WS_PMD_NOMEM;
}

int ws_pmd_inflate(ws_pmd_t *m, const void *p, size_t n, size_t max, buf_t *out)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    struct zctx *c = rx_ctx(m);
    if (!c)
        return WS_PMD_NOMEM;
    size_t start = out->len, rest = 0;
    buf_reserve(out, 0); /* out->p exists: feed writes its NUL */
    int rc = WS_PMD_OK;
    while (n > 0 && rc >= 0) {
        size_t take = n > (1u << 30) ? (1u << 30) : n;
        rc = feed(c, p, take, Z_SYNC_FLUSH, max, out, start, &rest);
        if (rc == FEED_END) {
            /* Nothing may follow the final block: 00 00 ff ff is not
             * appended then (RFC 7692 7.2.3.5). */
            if (rest || take < n)
                return WS_PMD_CORRUPT;
            return m->rx_keep ? restart_kept(c) : WS_PMD_OK;
        }
        p = (const uint8_t *)p + take;
        n -= take;
    }
    if (rc < 0)
        return rc;
    rc = feed(c, tail, sizeof(tail), Z_BLOCK, max, out, start, &rest);
    if (rc == FEED_END)
        return m->rx_keep ? restart_kept(c) : WS_PMD_OK;
    if (rc < 0)
        return rc;
    /* data_type 128: inflate stopped right after a block, where the empty
     * stored block of the sync flush leaves it. */
    return (c->z.data_type & 128) ? WS_PMD_OK : WS_PMD_CORRUPT;
}
