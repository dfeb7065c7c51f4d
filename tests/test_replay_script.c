/* Unit tests for src/proto/replay_script.c: what `evcat bench --replay`
 * plays of a recording and when (on-open first, pings, no pongs, no close,
 * nothing after the client's close, --speed, --no-timing), templates
 * ({{conn}}, {{seq}}, unknown fields, the bound), the cursor's latency
 * references, --expect's comparisons and the one-line differences, and
 * the content hash. Recordings are built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "replay_script.h"
#include "ws_session.h"

#define MS 1000000ull

static rec_msg_t ws(double t, bool in, int type, const char *data)
{
    rec_msg_t m = {.t = t, .in = in, .type = type, .data = (char *)data,
                   .len = data ? strlen(data) : 0, .code = type == WS_CLOSE ? 1000 : 0};
    return m;
}

static replay_script_opts_t opts(void)
{
    replay_script_opts_t o = {.speed = 1, .max_message = 1 << 20};
    return o;
}

static void build_ok(replay_script_t *s, rec_msg_t *msgs, size_t n, const replay_script_opts_t *o)
{
    recording_t r = {.proto = REC_WS, .msgs = msgs, .nmsgs = n};
    char err[256] = "";
    if (replay_script_build(s, &r, o, err, sizeof(err)) != 0)
        fail_msg("build: %s", err);
}

static char *expand(const char *p, uint64_t conn, uint32_t seq)
{
    static char out[512];
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "<");
    replay_expand(&b, p, strlen(p), conn, seq);
    snprintf(out, sizeof(out), "%s", b.p);
    buf_free(&b);
    return out;
}

/* ---- what is played, when ---- */

static void test_plan(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        ws(0.0, true, WS_TEXT, "welcome"),      /* line 2: before any out */
        ws(0.1, false, WS_TEXT, "login"),       /* 3 */
        ws(0.15, false, WS_PING, "p"),          /* 4 */
        ws(0.16, true, WS_PONG, "p"),           /* 5: not expected */
        ws(0.2, true, WS_TEXT, "ok"),           /* 6 */
        ws(0.3, false, WS_PONG, ""),            /* 7: not played */
        ws(0.4, false, WS_BINARY, "\x01\x02"),  /* 8 */
        ws(0.5, true, WS_PING, ""),             /* 9: not expected */
        ws(0.6, true, WS_BINARY, "\x01\x02"),   /* 10 */
        ws(0.7, false, WS_CLOSE, ""),           /* 11: not played, ends the outs */
        ws(0.8, false, WS_TEXT, "after close"), /* 12 */
        ws(0.9, true, WS_TEXT, "late"),         /* 13: expected still */
        ws(1.0, true, WS_CLOSE, ""),            /* 14 */
        ws(1.1, true, WS_TEXT, "after close"),  /* 15: not */
    };
    const char *on_open[] = {"hello"};
    replay_script_opts_t o = opts();
    o.on_open = on_open;
    o.non_open = 1;
    o.speed = 2;
    replay_script_t s;
    build_ok(&s, msgs, sizeof(msgs) / sizeof(msgs[0]), &o);
    assert_int_equal(s.nouts, 4);
    assert_string_equal(s.outs[0].data, "hello");
    assert_int_equal(s.outs[0].at_ns, 0);
    assert_int_equal(s.outs[0].seq, 1);
    assert_int_equal(s.outs[0].line, 0);
    assert_string_equal(s.outs[1].data, "login");
    assert_int_equal(s.outs[1].at_ns, 50 * MS); /* 0.1 s at --speed 2 */
    assert_int_equal(s.outs[1].seq, 2);
    assert_int_equal(s.outs[1].line, 3);
    assert_int_equal(s.outs[2].type, WS_PING);
    assert_int_equal(s.outs[2].seq, 0);
    assert_int_equal(s.outs[3].type, WS_BINARY);
    assert_int_equal(s.outs[3].seq, 3);
    assert_int_equal(s.outs[3].at_ns, 200 * MS);
    assert_int_equal(s.nins, 4);
    assert_string_equal(s.ins[0].data, "welcome");
    assert_int_equal(s.ins[0].after, 0); /* the --on-open message came first */
    assert_string_equal(s.ins[1].data, "ok");
    assert_int_equal(s.ins[1].after, 1); /* login, not the ping */
    assert_int_equal(s.ins[2].after, 3);
    assert_string_equal(s.ins[3].data, "late");
    assert_int_equal(s.max_out, 5);
    replay_script_free(&s);

    /* without --on-open: the welcome is timed from the open; --no-timing */
    o = opts();
    o.no_timing = true;
    build_ok(&s, msgs, sizeof(msgs) / sizeof(msgs[0]), &o);
    assert_int_equal(s.nouts, 3);
    assert_int_equal(s.ins[0].after, UINT32_MAX);
    for (size_t i = 0; i < s.nouts; i++)
        assert_int_equal(s.outs[i].at_ns, 0);
    assert_int_equal(s.outs[0].seq, 1);
    replay_script_free(&s);
}

static void test_refusals(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {ws(0, true, 0, "x")};
    recording_t r = {.proto = REC_SSE, .msgs = msgs, .nmsgs = 1};
    replay_script_opts_t o = opts();
    replay_script_t s;
    char err[256];
    assert_int_equal(replay_script_build(&s, &r, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SSE recording"));
    replay_script_free(&s);

    /* a template that could outgrow --max-message, named by its line */
    rec_msg_t big[] = {ws(0, false, WS_TEXT, "a"), ws(0.1, false, WS_TEXT, "0123{{conn}}")};
    r = (recording_t){.proto = REC_WS, .msgs = big, .nmsgs = 2};
    o.tmpl = true;
    o.max_message = 20;
    assert_int_equal(replay_script_build(&s, &r, &o, err, sizeof(err)), -1);
    assert_string_equal(err, "line 3: with --template this message may grow to 24 bytes, over "
                             "--max-message (20)");
    replay_script_free(&s);
    o.max_message = 24; /* 4 + 20 digits */
    assert_int_equal(replay_script_build(&s, &r, &o, err, sizeof(err)), 0);
    assert_int_equal(s.max_out, 24);
    replay_script_free(&s);
    /* without --template the same message is sent as it is */
    o.tmpl = false;
    o.max_message = 12;
    assert_int_equal(replay_script_build(&s, &r, &o, err, sizeof(err)), 0);
    assert_false(s.outs[1].tmpl);
    replay_script_free(&s);

    /* an --on-open message: named by its number */
    const char *on_open[] = {"short", "{{seq}}{{seq}}{{seq}}"};
    o.tmpl = true;
    o.max_message = 25;
    o.on_open = on_open;
    o.non_open = 2;
    assert_int_equal(replay_script_build(&s, &r, &o, err, sizeof(err)), -1);
    assert_string_equal(err, "--on-open message 2: with --template it may grow to 30 bytes, over "
                             "--max-message (25)");
    replay_script_free(&s);
}

/* ---- templates ---- */

static void test_expand(void **state)
{
    (void)state;
    assert_string_equal(expand("", 7, 3), "<");
    assert_string_equal(expand("plain", 7, 3), "<plain");
    assert_string_equal(expand("{{conn}}", 7, 3), "<7");
    assert_string_equal(expand("u{{conn}}-{{seq}}!", 123456, 42), "<u123456-42!");
    assert_string_equal(expand("{{conn}}{{conn}}{{seq}}", 0, 0), "<000");
    assert_string_equal(expand("{{{conn}}}", 5, 1), "<{5}");
    assert_string_equal(expand("{{conn}", 5, 1), "<{{conn}");
    assert_string_equal(expand("{{ conn }} {{CONN}} {{seqx}}", 5, 1), "<{{ conn }} {{CONN}} {{seqx}}");
    assert_string_equal(expand("{{conn}}", UINT64_MAX, UINT32_MAX), "<18446744073709551615");
    assert_string_equal(expand("{{seq}}", 0, UINT32_MAX), "<4294967295");

    size_t nc, ns;
    char unknown[40];
    replay_fields("{{conn}} {{seq}} {{conn}}", 25, &nc, &ns, unknown, sizeof(unknown));
    assert_int_equal(nc, 2);
    assert_int_equal(ns, 1);
    assert_string_equal(unknown, "");
    replay_fields("{\"a\":{{\"b\":1}}} {{user_id}} {{x}}", 34, &nc, &ns, unknown, sizeof(unknown));
    assert_int_equal(nc + ns, 0);
    assert_string_equal(unknown, "{{user_id}}");
    /* a name longer than a field's is text */
    replay_fields("{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}", 47, &nc, &ns, unknown,
                  sizeof(unknown));
    assert_string_equal(unknown, "");

    /* the script notes the first unknown field by its line */
    rec_msg_t msgs[] = {ws(0, false, WS_TEXT, "{{conn}}"), ws(0.1, false, WS_TEXT, "{{con}}"),
                        ws(0.2, false, WS_BINARY, "{{conn}}")};
    replay_script_opts_t o = opts();
    o.tmpl = true;
    replay_script_t s;
    build_ok(&s, msgs, 3, &o);
    assert_int_equal(s.unknown_line, 3);
    assert_string_equal(s.unknown, "{{con}}");
    assert_true(s.outs[0].tmpl);
    assert_false(s.outs[1].tmpl);
    assert_false(s.outs[2].tmpl); /* binary is never rewritten */
    replay_script_free(&s);
}

/* ---- the cursor: when, and latency ---- */

static void test_cursor_due(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {ws(0.1, false, WS_TEXT, "a"), ws(0.3, false, WS_TEXT, "b")};
    replay_script_opts_t o = opts();
    replay_script_t s;
    build_ok(&s, msgs, 2, &o);
    replay_cursor_t c;
    replay_cursor_start(&c, 1000 * MS);
    uint64_t next;
    assert_null(replay_cursor_due(&s, &c, 1000 * MS, &next));
    assert_int_equal(next, 1100 * MS);
    const replay_out_t *m = replay_cursor_due(&s, &c, 1100 * MS, &next);
    assert_non_null(m);
    assert_string_equal(m->data, "a");
    c.next_out++;
    assert_null(replay_cursor_due(&s, &c, 1299 * MS, &next));
    assert_int_equal(next, 1300 * MS);
    assert_non_null(replay_cursor_due(&s, &c, 2000 * MS, &next));
    c.next_out++;
    assert_null(replay_cursor_due(&s, &c, 9000 * MS, &next));
    assert_int_equal(next, UINT64_MAX);
    replay_script_free(&s);
}

static void test_cursor_latency(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        ws(0.0, true, WS_TEXT, "hello"),  /* no out before: from the open */
        ws(0.1, false, WS_TEXT, "q1"),
        ws(0.15, true, WS_TEXT, "r1"),
        ws(0.16, true, WS_TEXT, "r1b"),   /* also after q1 */
        ws(0.5, false, WS_TEXT, "q2"),
        ws(0.7, true, WS_TEXT, "r2"),
    };
    replay_script_opts_t o = opts();
    replay_script_t s;
    build_ok(&s, msgs, 6, &o);
    replay_cursor_t c;
    replay_verdict_t v;
    uint64_t t0 = 5000 * MS;
    replay_cursor_start(&c, t0);
    replay_cursor_incoming(&s, &c, 0, WS_TEXT, NULL, 5, t0 + 3 * MS, NULL, &v);
    assert_true(v.timed);
    assert_int_equal(v.latency_ns, 3 * MS);
    assert_int_equal(v.number, 1);
    assert_false(v.differs);
    /* a reply before its request went out: counted, not timed */
    replay_cursor_incoming(&s, &c, 0, WS_TEXT, NULL, 2, t0 + 50 * MS, NULL, &v);
    assert_false(v.timed);
    c.next_out = 1; /* q1 sent (intended at +100 ms) */
    replay_cursor_incoming(&s, &c, 0, WS_TEXT, NULL, 3, t0 + 180 * MS, NULL, &v);
    assert_true(v.timed);
    assert_int_equal(v.latency_ns, 80 * MS);
    c.next_out = 2;
    replay_cursor_incoming(&s, &c, 0, WS_TEXT, NULL, 2, t0 + 730 * MS, NULL, &v);
    assert_true(v.timed);
    assert_int_equal(v.latency_ns, 230 * MS); /* from q2's +500 ms */
    assert_int_equal(v.number, 4);
    /* past the recording: counted, no sample, no comparison without --expect */
    replay_cursor_incoming(&s, &c, 0, WS_TEXT, NULL, 2, t0 + 900 * MS, NULL, &v);
    assert_false(v.timed);
    assert_false(v.differs);
    assert_int_equal(v.number, 5);
    assert_false(replay_cursor_missing(&s, &c));
    replay_script_free(&s);
}

/* ---- --expect ---- */

static void test_expect(void **state)
{
    (void)state;
    rec_msg_t msgs[] = {
        ws(0.1, false, WS_TEXT, "login u{{conn}} #{{seq}}"),
        ws(0.15, true, WS_TEXT, "welcome u{{conn}} #{{seq}}"),
        ws(0.2, false, WS_BINARY, "\x01\x02"),
        ws(0.25, true, WS_BINARY, "\x01\x02"),
        ws(0.3, true, WS_TEXT, "bye"),
    };
    const char *on_open[] = {"hi {{conn}}"};
    replay_script_opts_t o = opts();
    o.expect = true;
    o.tmpl = true;
    o.on_open = on_open;
    o.non_open = 1;
    replay_script_t s;
    build_ok(&s, msgs, 5, &o);
    assert_int_equal(s.outs[1].seq, 2); /* after the --on-open message */
    buf_t tmp, line;
    buf_init(&tmp);
    buf_init(&line);
    replay_cursor_t c;
    replay_verdict_t v;

    /* all as recorded, templates expanded on both sides */
    replay_cursor_start(&c, 0);
    c.next_out = 3;
    replay_cursor_incoming(&s, &c, 41, WS_TEXT, "welcome u41 #2", 14, 1, &tmp, &v);
    assert_false(v.differs);
    assert_true(replay_cursor_missing(&s, &c));
    replay_cursor_incoming(&s, &c, 41, WS_BINARY, "\x01\x02", 2, 1, &tmp, &v);
    assert_false(v.differs);
    replay_cursor_incoming(&s, &c, 41, WS_TEXT, "bye", 3, 1, &tmp, &v);
    assert_false(v.differs);
    assert_false(replay_cursor_missing(&s, &c));
    /* one too many: a difference */
    replay_cursor_incoming(&s, &c, 41, WS_TEXT, "extra", 5, 1, &tmp, &v);
    assert_true(v.differs);
    replay_line_differs(&line, &s, 41, &v, WS_TEXT, "extra", 5);
    assert_string_equal(line.p, "connection 41: message 4 was not in the recording: got text "
                                "\"extra\"");
    /* then nothing more is compared on this connection */
    replay_cursor_incoming(&s, &c, 41, WS_TEXT, "more", 4, 1, &tmp, &v);
    assert_false(v.differs);

    /* another connection's id in the reply differs */
    replay_cursor_start(&c, 0);
    c.next_out = 3;
    replay_cursor_incoming(&s, &c, 7, WS_TEXT, "welcome u41 #2", 14, 1, &tmp, &v);
    assert_true(v.differs);
    buf_reset(&line);
    replay_line_differs(&line, &s, 7, &v, WS_TEXT, "welcome u41 #2", 14);
    assert_string_equal(line.p, "connection 7: message 1 differs: expected text \"welcome u7 "
                                "#2\", got text \"welcome u41 #2\"");

    /* a type that differs; binary shown as base64 */
    replay_cursor_start(&c, 0);
    replay_cursor_incoming(&s, &c, 3, WS_TEXT, "welcome u3 #2", 13, 1, &tmp, &v);
    replay_cursor_incoming(&s, &c, 3, WS_TEXT, "\x01\x02", 2, 1, &tmp, &v);
    assert_true(v.differs);
    buf_reset(&line);
    replay_line_differs(&line, &s, 3, &v, WS_TEXT, "\x01\x02", 2);
    assert_string_equal(line.p, "connection 3: message 2 differs: expected binary \"AQI=\", got "
                                "text \"\\u0001\\u0002\"");

    /* missing at the end */
    replay_cursor_start(&c, 0);
    replay_cursor_incoming(&s, &c, 9, WS_TEXT, "welcome u9 #2", 13, 1, &tmp, &v);
    assert_true(replay_cursor_missing(&s, &c));
    buf_reset(&line);
    replay_line_missing(&line, &s, &c, 9, "the measurement ended");
    assert_string_equal(line.p, "connection 9: message 2 is missing (expected binary \"AQI=\"): "
                                "the measurement ended");
    buf_free(&tmp);
    buf_free(&line);
    replay_script_free(&s);
}

static void test_describe(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    char longtext[200];
    memset(longtext, 'x', sizeof(longtext));
    replay_describe(&b, WS_TEXT, longtext, sizeof(longtext), 0);
    assert_int_equal(b.len, strlen("text \"") + REPLAY_SHOW_MAX + strlen("...\""));
    buf_reset(&b);
    replay_describe(&b, WS_CLOSE, "bye", 3, 1001);
    assert_string_equal(b.p, "close 1001 \"bye\"");
    buf_reset(&b);
    /* a cut never splits a UTF-8 sequence */
    char utf[80];
    memset(utf, 'a', 59);
    memcpy(utf + 59, "\xc3\xa9zzzzzzzzzzzzzzzzzz", 21);
    replay_describe(&b, WS_TEXT, utf, 80, 0);
    assert_non_null(strstr(b.p, "aaa...\""));
    buf_free(&b);
}

static void test_hash(void **state)
{
    (void)state;
    rec_msg_t a[] = {ws(0.1, false, WS_TEXT, "x"), ws(0.2, true, WS_TEXT, "x")};
    rec_msg_t b[] = {ws(0.1, false, WS_TEXT, "x"), ws(0.2, true, WS_TEXT, "x")};
    recording_t ra = {.proto = REC_WS, .msgs = a, .nmsgs = 2};
    recording_t rb = {.proto = REC_WS, .msgs = b, .nmsgs = 2};
    assert_true(replay_script_hash(&ra) == replay_script_hash(&rb));
    b[1].data = "y";
    assert_true(replay_script_hash(&ra) != replay_script_hash(&rb));
    b[1].data = "x";
    b[1].t = 0.2001;
    assert_true(replay_script_hash(&ra) != replay_script_hash(&rb));
    b[1].t = 0.2;
    b[1].in = false;
    assert_true(replay_script_hash(&ra) != replay_script_hash(&rb));
    /* stable across builds and hosts (it is part of --shard's test id):
     * a fixed value */
    assert_true(replay_script_hash(&ra) == UINT64_C(0x087e711bd3213699));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),         cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_expand),       cmocka_unit_test(test_cursor_due),
        cmocka_unit_test(test_cursor_latency), cmocka_unit_test(test_expect),
        cmocka_unit_test(test_describe),     cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
