/* Unit tests for src/proto/playback.c: what `evcat replay --serve` sends of a
 * recording — SSE event text, which WebSocket messages play, how a
 * WebSocket playback closes, resuming after Last-Event-ID, timing. The
 * recordings are built in memory (no reader needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "playback.h"

static rec_msg_t sse(double t, const char *event, const char *data, const char *id)
{
    rec_msg_t m = {.t = t, .in = true, .type = 0};
    m.data = (char *)data;
    m.len = strlen(data);
    m.event = (char *)event;
    m.id = (char *)id;
    return m;
}

static rec_msg_t ws(double t, bool in, int type, const char *data, size_t len, uint16_t code)
{
    rec_msg_t m = {.t = t, .in = in, .type = type, .data = (char *)data, .len = len, .code = code};
    return m;
}

static void test_format_sse(void **state)
{
    (void)state;
    static const struct {
        const char *event, *data, *id, *prev_id; /* prev_id NULL: the first event */
        const char *want;
    } cases[] = {
        {"message", "hello", "", NULL, "data: hello\n\n"},
        {"message", "hello", "7", NULL, "id: 7\ndata: hello\n\n"},
        {"tick", "a\nb", "7", "6", "id: 7\nevent: tick\ndata: a\ndata: b\n\n"},
        {"tick", "a\nb", "7", "7", "id: 7\nevent: tick\ndata: a\ndata: b\n\n"},
        {"message", "", "", NULL, "data: \n\n"},
        {"message", "a\n\nb\n", "", NULL, "data: a\ndata: \ndata: b\ndata: \n\n"},
        {"message", "cr\rcrlf\r\nlf", "", NULL, "data: cr\ndata: crlf\ndata: lf\n\n"},
        /* an id that was in effect, then reset by an empty id: field */
        {"message", "x", "", "5", "id: \ndata: x\n\n"},
        /* CR and LF cannot end an id or type line early */
        {"up\ndate", "x", "1\r2", NULL, "id: 1\nevent: up\ndata: x\n\n"},
        {"", "x", "", NULL, "data: x\n\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rec_msg_t m = sse(0, cases[i].event, cases[i].data, cases[i].id);
        rec_msg_t prev = sse(0, "message", "p", cases[i].prev_id ? cases[i].prev_id : "");
        buf_t b;
        buf_init(&b);
        playback_format_sse(&b, &m, cases[i].prev_id ? &prev : NULL);
        buf_putc(&b, '\0');
        if (strcmp(b.p, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', wanted '%s'", i, b.p, cases[i].want);
        buf_free(&b);
    }
}

static void test_sse_all_played_and_resume(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        sse(0.1, "message", "a", ""),
        sse(0.2, "message", "b", "1"),
        sse(0.3, "message", "c", "1"), /* no id: field, the id still in effect */
        sse(0.4, "message", "d", "2"),
    };
    recording_t r = {.proto = REC_SSE, .msgs = msgs, .nmsgs = 4};
    for (size_t i = 0; i < 4; i++)
        assert_true(playback_plays(&r, i));
    assert_int_equal(playback_count(&r), 4);
    playback_end_t e;
    playback_end(&r, &e);
    assert_int_equal(e.end, 4);

    assert_int_equal(playback_resume(&r, "1", 1), 3); /* after the last event with id 1 */
    assert_int_equal(playback_resume(&r, "2", 1), 4); /* everything was seen */
    assert_int_equal(playback_resume(&r, "9", 1), 0); /* unknown: from the start */
    assert_int_equal(playback_resume(&r, "", 0), 0);
    assert_int_equal(playback_resume(&r, "12", 1), 3); /* id_len counts, not NUL */
}

static void test_ws_what_plays(void **state)
{
    (void)state;
    char big[126];
    memset(big, 'p', sizeof(big));
    rec_msg_t msgs[] = {
        ws(0.0, false, 1, "sub", 3, 0), /* out: the live client sends its own */
        ws(0.1, true, 1, "hi", 2, 0),
        ws(0.2, true, 2, "\x00\xff", 2, 0),
        ws(0.3, true, 9, "ping", 4, 0),
        ws(0.4, true, 9, big, sizeof(big), 0), /* too long for a ping */
        ws(0.5, true, 10, "pong", 4, 0),       /* answered a recorded ping */
        ws(0.6, true, 1, "bye", 3, 0),
    };
    recording_t r = {.proto = REC_WS, .msgs = msgs, .nmsgs = 7};
    static const bool want[] = {false, true, true, true, false, false, true};
    for (size_t i = 0; i < 7; i++)
        if (playback_plays(&r, i) != want[i])
            fail_msg("message %zu: plays %d", i, !want[i]);
    assert_int_equal(playback_count(&r), 4);
    playback_end_t e;
    playback_end(&r, &e);
    assert_int_equal(e.end, 7);
    assert_false(e.recorded);
    assert_int_equal(e.code, 1000);
    assert_int_equal(e.reason_len, strlen("end of recording"));
    assert_memory_equal(e.reason, "end of recording", e.reason_len);
}

static void test_ws_close(void **state)
{
    (void)state;
    static const struct {
        uint16_t recorded;
        uint16_t sent; /* 0: a close without a code */
    } codes[] = {
        {1000, 1000}, {1001, 1001}, {1011, 1011}, {4000, 4000}, {1012, 1012},
        {1005, 0},    {1006, 1000}, {1015, 1000}, {999, 1000},  {5000, 1000},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        /* The server closed first: its close ends the playback, at its
         * time, and what follows it is not played. */
        rec_msg_t msgs[] = {
            ws(0.1, true, 1, "hi", 2, 0),
            ws(0.5, true, 8, "going", 5, codes[i].recorded),
            ws(0.6, false, 8, "going", 5, codes[i].recorded),
            ws(0.7, true, 1, "late", 4, 0),
        };
        recording_t r = {.proto = REC_WS, .msgs = msgs, .nmsgs = 4};
        playback_end_t e;
        playback_end(&r, &e);
        assert_int_equal(e.end, 1);
        assert_true(e.recorded);
        if (e.code != codes[i].sent)
            fail_msg("recorded %u: sends %u, wanted %u", codes[i].recorded, e.code, codes[i].sent);
        if (codes[i].sent)
            assert_int_equal(e.reason_len, 5);
        else
            assert_int_equal(e.reason_len, 0);
        assert_int_equal(playback_count(&r), 1);
    }

    /* The client closed first: the server's close only answered it, so the
     * playback ends with 1000 right after the last message. */
    rec_msg_t msgs[] = {
        ws(0.1, true, 1, "hi", 2, 0),
        ws(0.5, false, 8, "done", 4, 4001),
        ws(0.6, true, 8, "done", 4, 4001),
    };
    recording_t r = {.proto = REC_WS, .msgs = msgs, .nmsgs = 3};
    playback_end_t e;
    playback_end(&r, &e);
    assert_int_equal(e.end, 2);
    assert_false(e.recorded);
    assert_int_equal(e.code, 1000);
}

static void test_delay(void **state)
{
    (void)state;
    assert_int_equal(playback_delay_ns(1.5, 0, 1), 1500000000ull);
    assert_int_equal(playback_delay_ns(1.5, 0.5, 2), 500000000ull);
    assert_int_equal(playback_delay_ns(1.0, 0, 0.5), 2000000000ull);
    assert_int_equal(playback_delay_ns(0.2, 0.5, 1), 0); /* before t0: now */
    assert_int_equal(playback_delay_ns(1e12, 0, 1), 86400000000000ull);
    assert_int_equal(playback_delay_ns(0.000001, 0, 1), 1000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_sse),    cmocka_unit_test(test_sse_all_played_and_resume),
        cmocka_unit_test(test_ws_what_plays), cmocka_unit_test(test_ws_close),
        cmocka_unit_test(test_delay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
