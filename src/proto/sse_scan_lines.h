/* sse_scan_lines: the line loop of sse_parser_feed, a template that
 * sse_parser.c includes once per block-mask flavour (after defining
 * SCAN(name), SCAN_ATTR, SCAN_MASK and SCAN_SKIP), so that the AVX2 build of
 * the loop has its mask inlined. No include guard: it is meant to be
 * included more than once. */

SCAN_ATTR static inline void SCAN(load_block)(eol_scan_t *sc)
{
    size_t n = sc->len - sc->base;
    sc->mask = SCAN_MASK(sc->buf + sc->base, n < BLOCK ? n : BLOCK, &sc->high);
}

SCAN_ATTR static inline void SCAN(eol_scan_init)(eol_scan_t *sc, const char *buf, size_t len,
                                                 size_t from)
{
    sc->buf = buf;
    sc->len = len;
    sc->base = from;
    sc->mask = sc->high = 0;
    if (from < len)
        SCAN(load_block)(sc);
}

/* Offset of the first CR or LF at or after from (from >= the offset of the
 * last one returned, and at most 2 past it), or len. When it is not len,
 * *dirty = whether the bytes between from and it are not valid UTF-8 (a
 * sequence cannot hold a CR or LF, so the line's text is checked as the
 * scan passes its bytes >= 0x80; all-ASCII blocks cost nothing more). */
SCAN_ATTR __attribute__((always_inline)) static inline size_t SCAN(next_eol)(eol_scan_t *sc,
                                                                        size_t from, bool *dirty)
{
    bool bad = false;
    size_t vpos = from;
    for (;;) {
        uint64_t m = sc->mask, hm = sc->high;
        if (from > sc->base) { /* else all of the block is at or after from */
            uint64_t keep = from - sc->base < BLOCK ? ~UINT64_C(0) << (from - sc->base) : 0;
            m &= keep;
            hm &= keep;
        }
        if (m) {
            unsigned k = (unsigned)__builtin_ctzll(m);
            hm &= (UINT64_C(1) << k) - 1;
            if (hm && !bad)
                bad = !check_high(sc, hm, &vpos);
            *dirty = bad;
            return sc->base + k;
        }
        if (hm && !bad)
            bad = !check_high(sc, hm, &vpos);
        sc->base += BLOCK;
        if (sc->base >= sc->len) {
            *dirty = true; /* no line end: the line is held, and checked when whole */
            return sc->len;
        }
        if (sc->base - from > BLOCK && sc->len - sc->base >= BLOCK) /* a long line */
            sc->base = SCAN_SKIP(sc->buf, sc->base, sc->len);
        SCAN(load_block)(sc);
    }
}

/* Completes the held line with buf[i..) up to its line end, if this feed
 * has it, and processes it. *i moves past what was used. */
SCAN_ATTR static int SCAN(finish_held)(sse_parser_t *p, eol_scan_t *sc, size_t *i)
{
    const char *buf = sc->buf;
    bool hi;
    size_t eol = SCAN(next_eol)(sc, *i, &hi);
    int rc = hold(p, buf + *i, eol - *i);
    if (rc != SSE_OK)
        return rc;
    if (eol == sc->len) {
        *i = eol;
        return SSE_OK;
    }
    *i = skip_eol(p, buf, eol, sc->len);
    rc = process_line(p, p->line.p, p->line.len, true); /* checked there */
    own_refs(p); /* they point into p->line, about to be reused */
    buf_reset(&p->line);
    /* A huge comment or unknown field leaves no event to trim after. */
    trim(&p->line, keep_size(p));
    trim(&p->scratch, keep_size(p));
    return rc;
}

/* From buf[*ip] on (past a BOM, and the LF of a CR that ended the last
 * feed): the held line completed, then every complete line processed, the
 * unfinished one held. *ip = where it stopped. */
SCAN_ATTR static int SCAN(feed_lines)(sse_parser_t *p, const char *buf, size_t len, size_t *ip)
{
    size_t i = *ip;
    int rc = SSE_OK;
    eol_scan_t sc;
    SCAN(eol_scan_init)(&sc, buf, len, i);
    if (p->line.len && i < len && (rc = SCAN(finish_held)(p, &sc, &i)) != SSE_OK)
        goto out;

    while (i < len) {
        bool hi;
        size_t eol = SCAN(next_eol)(&sc, i, &hi);
        size_t n = eol - i;
        if (n > p->max) {
            rc = SSE_ERR_TOO_BIG;
            goto out;
        }
        if (eol == len) {
            rc = hold(p, buf + i, n);
            i = len;
            break;
        }
        const char *line = buf + i;
        i = skip_eol(p, buf, eol, len);
        if ((rc = process_line(p, line, n, hi)) != SSE_OK)
            goto out;
    }

out:
    *ip = i;
    return rc;
}
