/* libFuzzer target for hist_from_json in src/core/hist.c.
 *
 * Input: any bytes, handed over as the JSON text with its length (not
 * NUL-terminated: an exact-size copy lets ASan see any read past the end).
 *
 * Invariants, any failure abort()s:
 *   - a rejected text leaves the histogram untouched;
 *   - an accepted one serializes back to text that parses to the same
 *     histogram and serializes to the same text again;
 *   - its percentiles are non-decreasing in p and lie in [min, max], p100 is
 *     max, and merging it into an empty histogram gives the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "buf.h"
#include "hist_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_valid(const hist_t *h)
{
    static const double ps[] = {0, 0.1, 1, 25, 50, 90, 99, 99.9, 99.99, 100};
    uint64_t prev = 0;
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t v = hist_percentile(h, ps[i]);
        if (v < prev || v < hist_min(h) || v > hist_max(h))
            abort();
        prev = v;
    }
    if (hist_percentile(h, 100) != hist_max(h))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmalloc(size ? size : 1);
    if (size)
        memcpy(text, data, size);
    hist_t h, back, merged;
    hist_init(&h);
    hist_init(&back);
    hist_init(&merged);
    hist_record(&h, 4242);
    buf_t a, b, c;
    buf_init(&a);
    buf_init(&b);
    buf_init(&c);

    if (hist_from_json(text, size, &h) != 0) {
        if (hist_count(&h) != 1 || hist_max(&h) != 4242 || hist_min(&h) != 4242)
            abort();
        goto out;
    }
    check_valid(&h);
    hist_to_json(&h, &a);
    if (hist_from_json(a.p, a.len, &back) != 0)
        abort();
    hist_to_json(&back, &b);
    if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
        abort();
    if (memcmp(h.counts, back.counts, HIST_NBUCKETS * sizeof(uint64_t)) != 0)
        abort();
    hist_merge(&merged, &h);
    hist_to_json(&merged, &c);
    if (a.len != c.len || memcmp(a.p, c.p, a.len) != 0)
        abort();
out:
    buf_free(&a);
    buf_free(&b);
    buf_free(&c);
    hist_free(&h);
    hist_free(&back);
    hist_free(&merged);
    free(text);
    return 0;
}
