/* sse_scan_lines: the line loop of sse_parser_feed, a template that
 * sse_parser.c includes once per block-mask flavour (after defining
 * SCAN(name), SCAN_ATTR and SCAN_MASK), so that the AVX2 build of the loop
 * has its block masks inlined. No include guard: it is meant to be
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

/* Checks the sequences that start at the bytes >= 0x80 marked in hm (a mask
 * of the block at u + base), reading on into u[0..len) as far as one goes;
 * *vpos is the end of the last one found valid, so that its continuation
 * bytes are not taken for starts. False at the first invalid one. */
SCAN_ATTR static bool SCAN(check_high)(const unsigned char *u, size_t len, size_t base,
                                       uint64_t hm, size_t *vpos)
{
    if (*vpos > base) /* the tail of a sequence from the block before */
        hm &= *vpos - base < BLOCK ? ~UINT64_C(0) << (*vpos - base) : 0;
    while (hm) {
        size_t q = base + (unsigned)__builtin_ctzll(hm), n, left = len - q;
        /* With 4 bytes to read, a sequence is judged without a branch on
         * its kind (which a stream of mixed text would mispredict). */
        lead_t l = leads[u[q]];
        if (l.n && left >= 4) {
            unsigned b1 = u[q + 1], b2 = u[q + 2], b3 = u[q + 3];
            bool ok = ((unsigned)(b1 - l.lo) <= l.span) & ((l.n < 3) | ((b2 & 0xC0) == 0x80)) &
                      ((l.n < 4) | ((b3 & 0xC0) == 0x80));
            if (!ok)
                return false;
            n = l.n;
        } else if (!utf8_seq(u + q, left, &n)) {
            return false;
        }
        *vpos = q + n;
        size_t e = *vpos - base; /* its continuation bytes are no starts */
        hm &= e < BLOCK ? ~UINT64_C(0) << e : 0;
    }
    return true;
}

/* A long line: whole blocks with no line end are passed without going back
 * to next_eol's loop. Blocks with bytes >= 0x80 are noted without a branch
 * (one per block would be mispredicted as often as such blocks come) and
 * checked a batch at a time (*vpos and *bad as in next_eol). Returns the
 * first block that holds a line end or is not whole, with its masks (none
 * past the end). */
SCAN_ATTR __attribute__((noinline)) static size_t SCAN(skip_long)(const char *buf, size_t len,
                                                                  size_t base, size_t *vpos,
                                                                  bool *bad, uint64_t *mask,
                                                                  uint64_t *high)
{
    enum { BATCH = 32 };
    size_t at[BATCH + 1];
    uint64_t hs[BATCH + 1];
    uint64_t m = 0, h = 0;
    for (;;) {
        unsigned k = 0;
        while (len - base >= BLOCK) {
            m = SCAN_MASK(buf + base, BLOCK, &h);
            if (m)
                break;
            at[k] = base;
            hs[k] = h;
            k += h != 0;
            base += BLOCK;
            if (k == BATCH)
                break;
        }
        for (unsigned j = 0; j < k && !*bad; j++)
            *bad = !SCAN(check_high)((const unsigned char *)buf, len, at[j], hs[j], vpos);
        if (k < BATCH || m)
            break;
    }
    if (!m && base < len)
        m = SCAN_MASK(buf + base, len - base, &h);
    else if (!m)
        h = 0;
    *mask = m;
    *high = h;
    return base;
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
                bad = !SCAN(check_high)((const unsigned char *)sc->buf, sc->len, sc->base, hm,
                                        &vpos);
            *dirty = bad;
            return sc->base + k;
        }
        if (hm && !bad)
            bad = !SCAN(check_high)((const unsigned char *)sc->buf, sc->len, sc->base, hm, &vpos);
        sc->base += BLOCK;
        if (sc->base >= sc->len) {
            *dirty = true; /* no line end: the line is held, and checked when whole */
            return sc->len;
        }
        if (sc->base - from > BLOCK && sc->len - sc->base >= BLOCK) /* a long line */
            sc->base = SCAN(skip_long)(sc->buf, sc->len, sc->base, &vpos, &bad, &sc->mask,
                                       &sc->high);
        else
            SCAN(load_block)(sc);
    }
}

/* Completes the held line with buf[i..) up to its line end, if this feed
 * has it, and processes it. *i moves past what was used. */
SCAN_ATTR __attribute__((always_inline)) static inline int SCAN(finish_held)(sse_parser_t *p,
                                                                           eol_scan_t *sc,
                                                                           size_t *i)
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
        /* The blank line that usually follows a field line dispatches here,
         * without a trip round the loop (its LF is passed by next_eol's
         * mask, since the scan may start up to 2 bytes past a line end). */
        if (i < len && buf[i] == '\n') {
            i++;
            if ((rc = dispatch(p)) != SSE_OK)
                goto out;
        }
    }

out:
    *ip = i;
    return rc;
}
