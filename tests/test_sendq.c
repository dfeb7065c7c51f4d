/* Unit tests for src/core/sendq.c: shared buffers' reference counts, iovecs over a
 * ring that wraps and grows, partial consumption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sendq.h"
#include "buf.h"

static void drain_into(sendq_t *q, buf_t *out, size_t step)
{
    while (sendq_pending(q) > 0) {
        struct iovec iov[3];
        int n = sendq_iov(q, iov, 3);
        assert_true(n > 0);
        size_t budget = step, took = 0;
        for (int i = 0; i < n && budget > 0; i++) {
            size_t t = iov[i].iov_len < budget ? iov[i].iov_len : budget;
            buf_append(out, iov[i].iov_base, t);
            budget -= t;
            took += t;
        }
        sendq_consume(q, took);
    }
}

static void test_refs_and_order(void **state)
{
    (void)state;
    sendq_buf_t *shared = sendq_buf_copy("shared|", 7);
    sendq_t a, b;
    sendq_init(&a);
    sendq_init(&b);
    sendq_push(&a, shared);
    sendq_push(&b, shared);
    assert_int_equal(shared->refs, 3);
    sendq_push_owned(&a, sendq_buf_copy("own-a|", 6));
    sendq_push_owned(&a, sendq_buf_copy("", 0)); /* empty: dropped */
    assert_int_equal(sendq_pending(&a), 13);
    assert_int_equal(a.count, 2);

    for (size_t step = 1; step <= 14; step++) {
        sendq_t q;
        sendq_init(&q);
        for (int i = 0; i < 10; i++) {
            sendq_push(&q, shared);
            char own[8];
            own[0] = (char)('0' + i);
            sendq_push_owned(&q, sendq_buf_copy(own, 1));
        }
        buf_t out;
        buf_init(&out);
        drain_into(&q, &out, step);
        assert_string_equal(out.p, "shared|0shared|1shared|2shared|3shared|4shared|5shared|6"
                                   "shared|7shared|8shared|9");
        assert_int_equal(shared->refs, 3);
        sendq_shrink(&q);
        sendq_free(&q);
        buf_free(&out);
    }
    sendq_free(&a);
    assert_int_equal(shared->refs, 2);
    sendq_free(&b);
    assert_int_equal(shared->refs, 1);
    sendq_buf_unref(shared);
}

static void test_wrap_and_grow(void **state)
{
    (void)state;
    sendq_t q;
    sendq_init(&q);
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
            sendq_push_owned(&q, sendq_buf_copy(s, (size_t)n));
        }
        struct iovec iov[2];
        int n = sendq_iov(&q, iov, 2);
        size_t take = iov[0].iov_len > 1 ? iov[0].iov_len - 1 : iov[0].iov_len;
        buf_append(&out, iov[0].iov_base, take);
        sendq_consume(&q, take);
        (void)n;
    }
    drain_into(&q, &out, 1000);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.p, want.p, want.len);
    assert_int_equal(q.count, 0);
    sendq_shrink(&q);
    assert_null(q.items);
    sendq_free(&q);
    buf_free(&out);
    buf_free(&want);
}

static void test_consume_too_much(void **state)
{
    (void)state;
    sendq_t q;
    sendq_init(&q);
    sendq_push_owned(&q, sendq_buf_copy("abc", 3));
    sendq_consume(&q, 10);
    assert_int_equal(sendq_pending(&q), 0);
    assert_int_equal(q.count, 0);
    struct iovec iov[1];
    assert_int_equal(sendq_iov(&q, iov, 1), 0);
    sendq_free(&q);
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
