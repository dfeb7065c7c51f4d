/* Unit tests for src/serve/channel.c: SSE formatting (line splitting, event
 * names), sequence numbers, the history ring (count and byte bounds) and
 * Last-Event-ID resume decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "channel.h"

static void test_format(void **state)
{
    (void)state;
    struct {
        uint64_t id;
        const char *type, *data, *want;
    } cases[] = {
        {1, "message", "hello", "id: 1\ndata: hello\n\n"},
        {2, "greet", "hi", "id: 2\nevent: greet\ndata: hi\n\n"},
        {3, "message", "", "id: 3\ndata: \n\n"},
        {4, "message", "a\nb", "id: 4\ndata: a\ndata: b\n\n"},
        {5, "message", "a\r\nb\rc", "id: 5\ndata: a\ndata: b\ndata: c\n\n"},
        {6, "message", "a\n", "id: 6\ndata: a\ndata: \n\n"},
        {7, "message", "\n\n", "id: 7\ndata: \ndata: \ndata: \n\n"},
        {8, "message", "a\r\r\nb", "id: 8\ndata: a\ndata: \ndata: b\n\n"},
        {9, "message", " lead", "id: 9\ndata:  lead\n\n"},
        {10, "message", "x\r", "id: 10\ndata: x\ndata: \n\n"},
        {18446744073709551615ull, "tick", "{}",
         "id: 18446744073709551615\nevent: tick\ndata: {}\n\n"},
        {11, "messages", "m", "id: 11\nevent: messages\ndata: m\n\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t b;
        buf_init(&b);
        channel_format_sse(&b, cases[i].id, cases[i].type, strlen(cases[i].type), cases[i].data,
                           strlen(cases[i].data));
        assert_string_equal(b.p, cases[i].want);
        buf_free(&b);
    }
}

static const channel_event_t *pub(channel_t *ch, const char *type, const char *data)
{
    return channel_publish(ch, type, strlen(type), data, strlen(data));
}

static void test_publish_and_history(void **state)
{
    (void)state;
    channel_t *ch = channel_new(3, 1 << 20);
    assert_int_equal(channel_last_seq(ch), 0);
    assert_int_equal(channel_history_len(ch), 0);
    const channel_event_t *ev = pub(ch, "message", "one");
    assert_int_equal(ev->seq, 1);
    assert_string_equal(ev->type, "message");
    assert_string_equal(ev->data, "one");
    assert_string_equal(ev->sse->data, "id: 1\ndata: one\n\n");
    /* A reference outlives the event's eviction. */
    sendq_buf_t *kept = sendq_buf_ref(ev->sse);
    pub(ch, "tick", "two");
    pub(ch, "message", "three");
    ev = pub(ch, "x", "four");
    assert_int_equal(ev->seq, 4);
    assert_int_equal(channel_history_len(ch), 3);
    assert_int_equal(channel_history_at(ch, 0)->seq, 2);
    assert_int_equal(channel_history_at(ch, 2)->seq, 4);
    assert_null(channel_history_at(ch, 3));
    assert_string_equal(kept->data, "id: 1\ndata: one\n\n");
    assert_int_equal(kept->refs, 1);
    sendq_buf_unref(kept);
    channel_free(ch);
}

static void test_history_byte_bound(void **state)
{
    (void)state;
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    channel_t *ch = channel_new(100, 5000);
    for (int i = 0; i < 20; i++)
        pub(ch, "message", big);
    /* Each event costs a bit over 2000 bytes (data + SSE form): two fit. */
    assert_true(channel_history_len(ch) >= 1 && channel_history_len(ch) <= 2);
    assert_true(channel_history_bytes(ch) <= 5000);
    assert_int_equal(channel_history_at(ch, channel_history_len(ch) - 1)->seq, 20);
    /* The newest event is kept even when it alone is over the bound. */
    char huge[9000];
    memset(huge, 'y', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    pub(ch, "message", huge);
    assert_int_equal(channel_history_len(ch), 1);
    assert_int_equal(channel_history_at(ch, 0)->seq, 21);
    channel_free(ch);
}

static void test_no_history(void **state)
{
    (void)state;
    channel_t *ch = channel_new(0, 1 << 20);
    const channel_event_t *ev = pub(ch, "message", "a");
    assert_int_equal(ev->seq, 1);
    assert_string_equal(ev->sse->data, "id: 1\ndata: a\n\n");
    ev = pub(ch, "message", "b");
    assert_int_equal(ev->seq, 2);
    assert_int_equal(channel_history_len(ch), 0);
    size_t first;
    assert_int_equal(channel_resume(ch, "2", 1, &first), CHANNEL_RESUME_EXACT);
    assert_int_equal(first, 0);
    assert_int_equal(channel_resume(ch, "1", 1, &first), CHANNEL_RESUME_GAP);
    assert_int_equal(first, 0);
    channel_free(ch);
}

static void test_resume(void **state)
{
    (void)state;
    channel_t *ch = channel_new(5, 1 << 20);
    size_t first;
    /* Nothing published: any id is unknown, except 0 ("before everything"). */
    assert_int_equal(channel_resume(ch, "3", 1, &first), CHANNEL_RESUME_NONE);
    assert_int_equal(channel_resume(ch, "0", 1, &first), CHANNEL_RESUME_EXACT);
    assert_int_equal(first, 0);
    for (int i = 0; i < 8; i++)
        pub(ch, "message", "m"); /* ids 1..8; history holds 4..8 */
    struct {
        const char *id;
        int kind;
        size_t first;
    } cases[] = {
        {"8", CHANNEL_RESUME_EXACT, 5}, /* up to date: nothing */
        {"7", CHANNEL_RESUME_EXACT, 4}, /* 8 */
        {"4", CHANNEL_RESUME_EXACT, 1}, /* 5..8 */
        {"3", CHANNEL_RESUME_EXACT, 0}, /* 4..8: no gap */
        {"2", CHANNEL_RESUME_GAP, 0},   /* 3 is lost: everything kept */
        {"0", CHANNEL_RESUME_GAP, 0},
        {"9", CHANNEL_RESUME_NONE, 5}, /* newer than the channel: another run's */
        {"99999999999999999999", CHANNEL_RESUME_NONE, 5},
        {"", CHANNEL_RESUME_NONE, 5},
        {"abc", CHANNEL_RESUME_NONE, 5},
        {"-1", CHANNEL_RESUME_NONE, 5},
        {" 4", CHANNEL_RESUME_NONE, 5},
        {"1795462169:0", CHANNEL_RESUME_NONE, 5},
        {"007", CHANNEL_RESUME_EXACT, 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int kind = channel_resume(ch, cases[i].id, strlen(cases[i].id), &first);
        if (kind != cases[i].kind || first != cases[i].first)
            fail_msg("id '%s': kind %d first %zu, wanted %d %zu", cases[i].id, kind, first,
                     cases[i].kind, cases[i].first);
    }
    channel_free(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_publish_and_history),
        cmocka_unit_test(test_history_byte_bound),
        cmocka_unit_test(test_no_history),
        cmocka_unit_test(test_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
