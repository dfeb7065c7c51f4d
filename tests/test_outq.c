/* Unit tests for src/outq.c: shared buffers' reference counts, iovecs over a
 * ring that wraps and grows, partial consumption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "outq.h"
#include "util.h"

static void drain_into(outq_t *q, buf_t *out, size_t step)
{
    while (outq_pending(q) > 0) {
        struct iovec iov[3];
        int n = outq_iov(q, iov, 3);
        assert_true(n > 0);
        size_t budget = step, took = 0;
        for (int i = 0; i < n && budget > 0; i++) {
            size_t t = iov[i].iov_len < budget ? iov[i].iov_len : budget;
            buf_append(out, iov[i].iov_base, t);
            budget -= t;
            took += t;
        }
        outq_consume(q, took);
    }
}

static void test_refs_and_order(void **state)
{
    (void)state;
    outq_buf_t *shared = outq_buf_copy("shared|", 7);
    outq_t a, b;
    outq_init(&a);
    outq_init(&b);
    outq_push(&a, shared);
    outq_push(&b, shared);
    assert_int_equal(shared->refs, 3);
    outq_push_owned(&a, outq_buf_copy("own-a|", 6));
    outq_push_owned(&a, outq_buf_copy("", 0)); /* empty: dropped */
    assert_int_equal(outq_pending(&a), 13);
    assert_int_equal(a.count, 2);

    for (size_t step = 1; step <= 14; step++) {
        outq_t q;
        outq_init(&q);
        for (int i = 0; i < 10; i++) {
            outq_push(&q, shared);
            char own[8];
            own[0] = (char)('0' + i);
            outq_push_owned(&q, outq_buf_copy(own, 1));
        }
        buf_t out;
        buf_init(&out);
        drain_into(&q, &out, step);
        assert_string_equal(out.p, "shared|0shared|1shared|2shared|3shared|4shared|5shared|6"
                                   "shared|7shared|8shared|9");
        assert_int_equal(shared->refs, 3);
        outq_shrink(&q);
        outq_free(&q);
        buf_free(&out);
    }
    outq_free(&a);
    assert_int_equal(shared->refs, 2);
    outq_free(&b);
    assert_int_equal(shared->refs, 1);
    outq_buf_unref(shared);
}

static void test_wrap_and_grow(void **state)
{
    (void)state;
    outq_t q;
    outq_init(&q);
    buf_t out, want;
    buf_init(&out);
    buf_init(&want);
    /* Interleave pushes and consumption so the ring wraps, then grows. */
    unsigned next = 0;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < round % 7 + 1; k++) {
            char s[16];
            int n = snprintf(s, sizeof(s), "<%u>", next++);
            buf_append(&want, s, (size_t)n);
            outq_push_owned(&q, outq_buf_copy(s, (size_t)n));
        }
        struct iovec iov[2];
        int n = outq_iov(&q, iov, 2);
        size_t take = iov[0].iov_len > 1 ? iov[0].iov_len - 1 : iov[0].iov_len;
        buf_append(&out, iov[0].iov_base, take);
        outq_consume(&q, take);
        (void)n;
    }
    drain_into(&q, &out, 1000);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.p, want.p, want.len);
    assert_int_equal(q.count, 0);
    outq_shrink(&q);
    assert_null(q.items);
    outq_free(&q);
    buf_free(&out);
    buf_free(&want);
}

static void test_consume_too_much(void **state)
{
    (void)state;
    outq_t q;
    outq_init(&q);
    outq_push_owned(&q, outq_buf_copy("abc", 3));
    outq_consume(&q, 10);
    assert_int_equal(outq_pending(&q), 0);
    assert_int_equal(q.count, 0);
    struct iovec iov[1];
    assert_int_equal(outq_iov(&q, iov, 1), 0);
    outq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs_and_order),
        cmocka_unit_test(test_wrap_and_grow),
        cmocka_unit_test(test_consume_too_much),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
