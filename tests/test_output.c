/* Unit tests for src/cli/output.c: the three formats of SSE events, JSON
 * escaping, terminal safety, colour decisions, raw output written from the
 * caller's memory (out_raw_ref) in order with what was copied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "output.h"
#include "text.h"

/* 2026-11-23T19:04:54.123456Z */
#define TS 1795460694123456789ull

static sse_event_t ev(const char *type, const char *data, size_t dlen, const char *id)
{
    sse_event_t e = {type, strlen(type), data, dlen, id, strlen(id)};
    return e;
}

static void test_json_quote_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
        {"nul\0x", 5, "\"nul\\u0000x\""},
        {"h\xc3\xa9 \xe2\x82\xac", 7, "\"h\xc3\xa9 \xe2\x82\xac\""},
        {"", 0, "\"\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t b;
        buf_init(&b);
        json_quote(&b, cases[i].in, cases[i].n);
        assert_string_equal(b.p, cases[i].out);
        buf_free(&b);
    }
}

static void test_raw_is_data_and_newline(void **state)
{
    (void)state;
    out_t o;
    out_init(&o, -1, OUT_RAW, false);
    sse_event_t e = ev("tick", "a\nb", 3, "7");
    out_sse_event(&o, &e, TS);
    e = ev("message", "", 0, "");
    out_sse_event(&o, &e, TS);
    assert_int_equal(o.buf.len, 5);
    assert_memory_equal(o.buf.p, "a\nb\n\n", 5);
    out_free(&o);
}

static void test_json_line_fields_in_order(void **state)
{
    (void)state;
    out_t o;
    out_init(&o, -1, OUT_JSON, true); /* colour never reaches JSON */
    sse_event_t e = ev("greeting", "two\nlines \"q\"", 13, "42");
    out_sse_event(&o, &e, TS);
    assert_string_equal(o.buf.p, "{\"ts\":\"2026-11-23T19:04:54.123456Z\",\"proto\":\"sse\","
                                 "\"event\":\"greeting\",\"data\":\"two\\nlines \\\"q\\\"\","
                                 "\"id\":\"42\"}\n");
    out_free(&o);
}

static void test_pretty_is_terminal_safe(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    out_t o;
    out_init(&o, -1, OUT_PRETTY, false);
    sse_event_t e = ev("x\x1b", "a\x1b[2Jb\nc\x07", 9, "");
    out_sse_event(&o, &e, TS);
    assert_string_equal(o.buf.p, "19:04:54.123 x^[ a^[[2Jb\n             c^G\n");
    out_free(&o);
}

/* C1 controls (UTF-8 C2 80-9F: CSI, OSC, ST...) are shown as cat -v shows
 * them; other non-ASCII text (C2 A0, U+00E9) is left alone. JSON that
 * holds one is not coloured as JSON (its strings would carry it raw). */
static void test_pretty_shows_c1_controls(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    out_t o;
    out_init(&o, -1, OUT_PRETTY, false);
    o.no_time = true;
    static const char data[] = "a\xc2\x9d" "0;t\xc2\x9c \xc2\xa0\xc3\xa9\x7f\xc2";
    sse_event_t e = ev("e\xc2\x9b", data, sizeof data - 1, "");
    out_sse_event(&o, &e, TS);
    assert_string_equal(o.buf.p, "eM-^[ aM-^]0;tM-^\\ \xc2\xa0\xc3\xa9^?\xc2\n");
    out_free(&o);
    out_init(&o, -1, OUT_PRETTY, true);
    o.no_time = true;
    static const char js[] = "{\"a\":\"x\xc2\x9by\"}";
    e = ev("m", js, sizeof js - 1, "");
    out_sse_event(&o, &e, TS);
    assert_non_null(strstr(o.buf.p, "{\"a\":\"xM-^[y\"}\n"));
    assert_null(strchr(o.buf.p, (char)0x9b));
    out_free(&o);
}

static void test_pretty_colour_marks_parts(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    out_t o;
    out_init(&o, -1, OUT_PRETTY, true);
    sse_event_t e = ev("tick", "d", 1, "9");
    out_sse_event(&o, &e, TS);
    assert_non_null(strstr(o.buf.p, "\033[36mtick"));
    assert_non_null(strstr(o.buf.p, "#9"));
    assert_non_null(strstr(o.buf.p, "\033[0m d\n"));
    out_free(&o);
}

static void test_parse_format_and_colour(void **state)
{
    (void)state;
    out_format_t f;
    color_mode_t c;
    assert_int_equal(out_parse_format("json", &f), 0);
    assert_int_equal(f, OUT_JSON);
    assert_int_equal(out_parse_format("JSON", &f), -1);
    assert_int_equal(out_parse_color("never", &c), 0);
    assert_int_equal(out_parse_color("no", &c), -1);
    assert_false(out_use_color(COLOR_NEVER, STDOUT_FILENO));
    assert_true(out_use_color(COLOR_ALWAYS, -1));
    setenv("NO_COLOR", "1", 1);
    assert_false(out_use_color(COLOR_AUTO, STDOUT_FILENO));
    assert_true(out_use_color(COLOR_ALWAYS, STDOUT_FILENO)); /* an explicit flag wins */
    unsetenv("NO_COLOR");
    assert_false(out_use_color(COLOR_AUTO, -1)); /* not a terminal */
}

static void test_flush_failure_sticks(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]); /* nobody reads: EPIPE (SIGPIPE is ignored below) */
    signal(SIGPIPE, SIG_IGN);
    out_t o;
    out_init(&o, p[1], OUT_RAW, false);
    sse_event_t e = ev("m", "x", 1, "");
    out_sse_event(&o, &e, TS);
    assert_int_equal(out_flush(&o), -1);
    assert_true(o.failed);
    out_sse_event(&o, &e, TS);
    assert_int_equal(out_flush(&o), -1);
    assert_int_equal(o.buf.len, 0);
    out_free(&o);
    close(p[1]);
}

static void test_flush_checked_reports_once_and_epipe_is_a_normal_end(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    out_t o;
    out_init(&o, p[1], OUT_RAW, false);
    sse_event_t e = ev("m", "x", 1, "");
    int code = 12345;
    assert_true(out_flush_checked(&o, &code)); /* nothing pending yet */
    assert_int_equal(code, 12345);
    out_sse_event(&o, &e, TS);
    assert_false(out_flush_checked(&o, &code));
    assert_int_equal(code, 0); /* EXIT_OK: the reader went away */
    out_sse_event(&o, &e, TS);
    assert_true(out_flush_checked(&o, &code)); /* reported once; dropped since */
    assert_int_equal(o.buf.len, 0);
    out_free(&o);
    close(p[1]);

    int full = open("/dev/full", O_WRONLY);
    if (full >= 0) {
        out_init(&o, full, OUT_RAW, false);
        out_sse_event(&o, &e, TS);
        assert_false(out_flush_checked(&o, &code));
        assert_int_equal(code, 1); /* EXIT_FAIL: a full disk is an error */
        out_free(&o);
        close(full);
    }
}

static void test_ws_raw_shows_incoming_payloads_only(void **state)
{
    (void)state;
    out_t o;
    out_init(&o, -1, OUT_RAW, false);
    out_ws_message(&o, true, 1, "hi", 2, 0, 0, TS);
    out_ws_message(&o, true, 2, "\x00\xff", 2, 0, 0, TS);
    out_ws_message(&o, false, 1, "sent", 4, 0, 0, TS);  /* ours: not shown */
    out_ws_message(&o, true, 9, "p", 1, 0, 0, TS);      /* control: not shown */
    out_ws_message(&o, true, 8, "bye", 3, 1000, 0, TS); /* close: lifecycle, stderr */
    assert_string_equal(o.buf.p, "hi\nAP8=\n");
    out_free(&o);
}

static void test_ws_json_fields(void **state)
{
    (void)state;
    out_t o;
    out_init(&o, -1, OUT_JSON, false);
    out_ws_message(&o, true, 1, "a\"b", 3, 0, 0, TS);
    out_ws_message(&o, false, 2, "\x01\x02\x03", 3, 0, 0, TS);
    out_ws_message(&o, true, 10, "xy", 2, 0, 12345, TS);
    out_ws_message(&o, true, 8, "bye", 3, 1012, 0, TS);
    assert_string_equal(o.buf.p,
        "{\"ts\":\"2026-11-23T19:04:54.123456Z\",\"proto\":\"ws\",\"dir\":\"in\",\"type\":\"text\",\"data\":\"a\\\"b\"}\n"
        "{\"ts\":\"2026-11-23T19:04:54.123456Z\",\"proto\":\"ws\",\"dir\":\"out\",\"type\":\"binary\",\"data_b64\":\"AQID\"}\n"
        "{\"ts\":\"2026-11-23T19:04:54.123456Z\",\"proto\":\"ws\",\"dir\":\"in\",\"type\":\"pong\",\"data_b64\":\"eHk=\"}\n"
        "{\"ts\":\"2026-11-23T19:04:54.123456Z\",\"proto\":\"ws\",\"dir\":\"in\",\"type\":\"close\",\"code\":1012,\"reason\":\"bye\"}\n");
    out_free(&o);
}

static void test_ws_pretty_markers(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    out_t o;
    out_init(&o, -1, OUT_PRETTY, false);
    out_ws_message(&o, true, 1, "two\nlines", 9, 0, 0, TS);
    out_ws_message(&o, false, 2, "hey", 3, 0, 0, TS);
    out_ws_message(&o, true, 10, "", 0, 0, 1500000, TS);
    out_ws_message(&o, true, 8, "bye", 3, 4000, 0, TS);
    assert_string_equal(o.buf.p, "19:04:54.123 < two\n               lines\n"
                                 "19:04:54.123 > [binary 3 bytes] 68 65 79  hey\n"
                                 "19:04:54.123 < [pong] 1.500 ms\n"
                                 "19:04:54.123 < [close 4000] bye\n");
    out_free(&o);
}

static void test_ws_pretty_binary_is_hex_cut_at_64_bytes(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    unsigned char p[100];
    for (size_t i = 0; i < sizeof(p); i++)
        p[i] = (unsigned char)(0x3e + i);
    out_t o;
    out_init(&o, -1, OUT_PRETTY, false);
    out_ws_message(&o, true, 2, p, sizeof(p), 0, 0, TS);
    out_ws_message(&o, true, 2, "\x00\x01" "AB", 4, 0, 0, TS);
    assert_string_equal(o.buf.p,
        "19:04:54.123 < [binary 100 bytes]\n"
        "               3e 3f 40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d  >?@ABCDEFGHIJKLM\n"
        "               4e 4f 50 51 52 53 54 55 56 57 58 59 5a 5b 5c 5d  NOPQRSTUVWXYZ[\\]\n"
        "               5e 5f 60 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d  ^_`abcdefghijklm\n"
        "               6e 6f 70 71 72 73 74 75 76 77 78 79 7a 7b 7c 7d  nopqrstuvwxyz{|}\n"
        "               \xe2\x80\xa6 36 more bytes\n"
        "19:04:54.123 < [binary 4 bytes] 00 01 41 42  ..AB\n");
    out_free(&o);
}

static void test_pretty_no_time(void **state)
{
    (void)state;
    out_t o;
    out_init(&o, -1, OUT_PRETTY, false);
    o.no_time = true;
    out_ws_message(&o, true, 1, "a\nb", 3, 0, 0, TS);
    out_ws_message(&o, false, 2, "hi", 2, 0, 0, TS);
    sse_event_t ev = {.type = "tick", .type_len = 4, .data = "x", .data_len = 1};
    out_sse_event(&o, &ev, TS);
    assert_string_equal(o.buf.p, "< a\n  b\n> [binary 2 bytes] 68 69  hi\ntick x\n");
    out_free(&o);
}

/* What out_raw_ref and out_sse_event wrote, in order, as the reader of fd
 * sees it; the pattern: i-th event's data "e<i>" copied, or a span of big[]
 * (contiguous spans come one after another). */
static void raw_mix(out_t *o, const char *big, size_t nbig, buf_t *want)
{
    size_t at = 0;
    for (unsigned i = 0; i < 1000; i++) {
        if (i % 3 == 0) {
            char d[16];
            int n = snprintf(d, sizeof d, "e%u", i);
            sse_event_t e = ev("m", d, (size_t)n, "");
            out_sse_event(o, &e, TS);
            buf_append(want, d, (size_t)n);
            buf_putc(want, '\n');
        } else {
            size_t n = 1 + i % 200;
            if (at + n > nbig)
                at = 0;
            out_raw_ref(o, big + at, n); /* i % 3 == 2 follows 1: contiguous */
            buf_append(want, big + at, n);
            at += n;
        }
        if (i % 400 == 399)
            assert_int_equal(out_flush(o), 0);
    }
    assert_int_equal(out_flush(o), 0);
}

/* An unlinked temporary file to write to and read back. */
static int temp_fd(void)
{
    char path[] = "/tmp/evcat-test-output-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/* fd holds exactly want (read from its start), then want is freed. */
static void expect_file(int fd, buf_t *want)
{
    char *got = malloc(want->len + 1);
    assert_int_equal(pread(fd, got, want->len + 1, 0), (ssize_t)want->len);
    assert_memory_equal(got, want->p, want->len);
    free(got);
    buf_free(want);
}

static void test_raw_refs_keep_order_across_many_pieces(void **state)
{
    (void)state;
    static char big[8192];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('A' + i % 26);
    int fd = temp_fd();
    out_t o;
    out_init(&o, fd, OUT_RAW, false);
    buf_t want;
    buf_init(&want);
    raw_mix(&o, big, sizeof big, &want); /* far more than OUT_PIECES pieces */
    out_free(&o);
    expect_file(fd, &want);
    close(fd);
}

/* A non-blocking pipe that fills up: writev writes part, the rest goes out
 * as the reader (a child) drains it, nothing lost or reordered. */
static void test_raw_refs_survive_short_writes(void **state)
{
    (void)state;
    static char big[8192];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 23);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int sink = temp_fd();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[1]);
        char b[4096];
        ssize_t n;
        usleep(20000); /* let the pipe fill first */
        while ((n = read(p[0], b, sizeof b)) > 0)
            if (write(sink, b, (size_t)n) != n)
                _exit(1);
        _exit(0);
    }
    close(p[0]);
    fcntl(p[1], F_SETPIPE_SZ, 4096); /* the least: every flush overflows it */
    fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
    out_t o;
    out_init(&o, p[1], OUT_RAW, false);
    buf_t want;
    buf_init(&want);
    raw_mix(&o, big, sizeof big, &want); /* ~28 KiB per flush */
    out_free(&o);
    close(p[1]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_file(sink, &want);
    close(sink);
}

static void test_raw_ref_failure_is_reported_once(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    out_t o;
    out_init(&o, p[1], OUT_RAW, false);
    static const char data[] = "payload\n";
    int code = 12345;
    out_raw_ref(&o, data, sizeof data - 1);
    assert_false(out_flush_checked(&o, &code));
    assert_int_equal(code, 0);
    for (int i = 0; i < 2 * OUT_PIECES; i++) /* flushes inside, failing quietly */
        out_raw_ref(&o, data, sizeof data - 1);
    assert_true(out_flush_checked(&o, &code));
    assert_int_equal(o.npieces, 0);
    out_free(&o);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_quote_escapes),
        cmocka_unit_test(test_raw_is_data_and_newline),
        cmocka_unit_test(test_json_line_fields_in_order),
        cmocka_unit_test(test_pretty_is_terminal_safe),
        cmocka_unit_test(test_pretty_shows_c1_controls),
        cmocka_unit_test(test_pretty_colour_marks_parts),
        cmocka_unit_test(test_parse_format_and_colour),
        cmocka_unit_test(test_flush_failure_sticks),
        cmocka_unit_test(test_flush_checked_reports_once_and_epipe_is_a_normal_end),
        cmocka_unit_test(test_ws_raw_shows_incoming_payloads_only),
        cmocka_unit_test(test_ws_json_fields),
        cmocka_unit_test(test_ws_pretty_markers),
        cmocka_unit_test(test_ws_pretty_binary_is_hex_cut_at_64_bytes),
        cmocka_unit_test(test_pretty_no_time),
        cmocka_unit_test(test_raw_refs_keep_order_across_many_pieces),
        cmocka_unit_test(test_raw_refs_survive_short_writes),
        cmocka_unit_test(test_raw_ref_failure_is_reported_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
