/* libFuzzer target for src/proto/bench_assert.c.
 *
 * Input: any bytes, copied and NUL-terminated as the expression (an embedded
 * NUL ends it early, as it would on a command line).
 *
 * Invariants, any failure abort()s:
 *   - a rejection leaves one non-empty line in err and *out untouched;
 *   - an acceptance has a text that parses again to the same assertion;
 *   - evaluation against all-zero and all-max metrics gives a result, and a
 *     failure's message is one line naming the expression. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_assert.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap || n == 0 || memchr(s, '\n', n) || memchr(s, '\r', n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = xmalloc(size + 1);
    memcpy(expr, data, size);
    expr[size] = '\0';

    bench_assert_t a, b;
    memset(&a, 0xa5, sizeof(a));
    bench_assert_t before = a;
    char err[160];
    if (bench_assert_parse(expr, &a, err, sizeof(err)) != 0) {
        check_line(err, sizeof(err));
        if (memcmp(&a, &before, sizeof(a)) != 0)
            abort();
        goto out;
    }
    if (bench_assert_parse(a.text, &b, err, sizeof(err)) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
        abort();

    bench_metrics_t zero = {0}, big = {
                                    .p50_ns = UINT64_MAX,
                                    .p90_ns = UINT64_MAX,
                                    .p99_ns = UINT64_MAX,
                                    .p999_ns = UINT64_MAX,
                                    .max_ns = UINT64_MAX,
                                    .connect_p99_ns = UINT64_MAX,
                                    .errors = UINT64_MAX,
                                    .connected = UINT64_MAX,
                                    .failed = UINT64_MAX,
                                    .dropped = UINT64_MAX,
                                    .recv_rate = 1e300,
                                    .sent_rate = 1e300,
                                };
    const bench_metrics_t *ms[] = {&zero, &big};
    for (size_t i = 0; i < 2; i++) {
        char why[200];
        if (!bench_assert_eval(&a, ms[i], why, sizeof(why))) {
            check_line(why, sizeof(why));
            if (strncmp(why, a.text, strlen(a.text)) != 0)
                abort();
        } else if (why[0] != '\0') {
            abort();
        }
    }
out:
    free(expr);
    return 0;
}
