/* Unit tests for src/proto/recording.c: what rec_* write reads back through
 * rec_parse/rec_load unchanged (every message kind, every byte value, NUL in
 * text), every refusal names its line and problem, a cut-short last line is
 * left out, and a failing write is kept and reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "recording.h"

#define TS 1795460694123456789ull
#define MAXMSG (1u << 20)

static char tmpl[64];

static const char *tmp_path(void)
{
    snprintf(tmpl, sizeof(tmpl), "/tmp/evcat_rec_test_%d.jsonl", (int)getpid());
    return tmpl;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    buf_t b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.p ? b.p : xstrdup("");
}

static void test_ws_round_trip_every_kind(void **state)
{
    (void)state;
    const char *path = tmp_path();
    rec_writer_t w;
    char err[256] = "";
    assert_int_equal(rec_open(&w, path, "ws://h/x?token=REDACTED", REC_WS, err, sizeof(err)), 0);
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    static const char text_nul[] = "a\0b\n\"\\\x01 h\xc3\xa9";
    rec_ws_message(&w, false, 1, "hello", 5, 0, TS);
    rec_ws_message(&w, true, 1, text_nul, sizeof(text_nul) - 1, 0, TS);
    rec_ws_message(&w, true, 2, all, sizeof(all), 0, TS);
    rec_ws_message(&w, false, 2, "", 0, 0, TS);
    rec_ws_message(&w, false, 9, "p", 1, 0, TS);
    rec_ws_message(&w, true, 10, "p", 1, 0, TS);
    rec_ws_message(&w, true, 1, "", 0, 0, TS);
    rec_ws_message(&w, false, 8, "bye", 3, 1000, TS);
    rec_ws_message(&w, true, 8, "", 0, 1001, TS);
    assert_int_equal(rec_close(&w), 0);

    recording_t r;
    assert_int_equal(rec_load(path, 1 << 24, MAXMSG, &r, err, sizeof(err)), 0);
    assert_int_equal(r.proto, REC_WS);
    assert_string_equal(r.url, "ws://h/x?token=REDACTED");
    assert_int_equal(strlen(r.started), RFC3339_LEN);
    assert_false(r.truncated);
    assert_int_equal(r.nmsgs, 9);
    static const struct {
        bool in;
        int type;
        uint16_t code;
    } want[] = {{false, 1, 0}, {true, 1, 0},  {true, 2, 0},      {false, 2, 0},    {false, 9, 0},
                {true, 10, 0}, {true, 1, 0}, {false, 8, 1000}, {true, 8, 1001}};
    double last = 0;
    for (size_t i = 0; i < r.nmsgs; i++) {
        assert_int_equal(r.msgs[i].in, want[i].in);
        assert_int_equal(r.msgs[i].type, want[i].type);
        assert_int_equal(r.msgs[i].code, want[i].code);
        assert_true(r.msgs[i].t >= last);
        last = r.msgs[i].t;
        assert_null(r.msgs[i].event);
    }
    assert_int_equal(r.msgs[0].len, 5);
    assert_memory_equal(r.msgs[0].data, "hello", 5);
    assert_int_equal(r.msgs[1].len, sizeof(text_nul) - 1);
    assert_memory_equal(r.msgs[1].data, text_nul, sizeof(text_nul) - 1);
    assert_int_equal(r.msgs[2].len, 256);
    assert_memory_equal(r.msgs[2].data, all, 256);
    assert_int_equal(r.msgs[3].len, 0);
    assert_memory_equal(r.msgs[4].data, "p", 1);
    assert_int_equal(r.msgs[6].len, 0);
    assert_int_equal(r.msgs[7].len, 3);
    assert_memory_equal(r.msgs[7].data, "bye", 3);
    assert_int_equal(r.msgs[8].len, 0);
    rec_free(&r);
    unlink(path);
}

/* A recorded line minus "t" is exactly the `-o json` line. */
static void test_lines_are_the_json_output_plus_t(void **state)
{
    (void)state;
    const char *path = tmp_path();
    rec_writer_t w;
    char err[256];
    assert_int_equal(rec_open(&w, path, "http://h/sse", REC_SSE, err, sizeof(err)), 0);
    sse_event_t e = {"tick", 4, "x\ny", 3, "7", 1};
    rec_sse_event(&w, &e, TS);
    assert_int_equal(rec_close(&w), 0);
    out_t o;
    out_init(&o, -1, OUT_JSON, false);
    out_sse_event(&o, &e, TS);
    size_t len;
    char *text = slurp(path, &len);
    const char *l2 = strchr(text, '\n') + 1;
    static const char hdr[] =
        "{\"evcat_recording\":1,\"url\":\"http://h/sse\",\"proto\":\"sse\",\"started\":\"";
    assert_memory_equal(text, hdr, sizeof(hdr) - 1);
    size_t n = o.buf.len - 2; /* without "}\n" */
    assert_memory_equal(l2, o.buf.p, n);
    assert_true(strncmp(l2 + n, ",\"t\":0.", 7) == 0);
    assert_string_equal(l2 + strlen(l2) - 2, "}\n");
    out_free(&o);
    free(text);
    unlink(path);
}

static void test_sse_round_trip(void **state)
{
    (void)state;
    const char *path = tmp_path();
    rec_writer_t w;
    char err[256];
    assert_int_equal(rec_open(&w, path, "-", REC_SSE, err, sizeof(err)), 0);
    sse_event_t a = {"message", 7, "a\nb\0c", 5, "", 0};
    sse_event_t b = {"tick", 4, "", 0, "42", 2};
    rec_sse_event(&w, &a, TS);
    rec_sse_event(&w, &b, TS);
    assert_int_equal(rec_close(&w), 0);
    recording_t r;
    assert_int_equal(rec_load(path, 1 << 24, MAXMSG, &r, err, sizeof(err)), 0);
    assert_int_equal(r.proto, REC_SSE);
    assert_string_equal(r.url, "-");
    assert_int_equal(r.nmsgs, 2);
    assert_true(r.msgs[0].in);
    assert_int_equal(r.msgs[0].type, 0);
    assert_int_equal(r.msgs[0].len, 5);
    assert_memory_equal(r.msgs[0].data, "a\nb\0c", 5);
    assert_string_equal(r.msgs[0].event, "message");
    assert_string_equal(r.msgs[0].id, "");
    assert_string_equal(r.msgs[1].event, "tick");
    assert_string_equal(r.msgs[1].id, "42");
    assert_int_equal(r.msgs[1].len, 0);
    rec_free(&r);
    unlink(path);
}

#define HDR_WS "{\"evcat_recording\":1,\"url\":\"ws://h/\",\"proto\":\"ws\",\"started\":\"x\"}\n"
#define HDR_SSE "{\"evcat_recording\":1,\"url\":\"http://h/\",\"proto\":\"sse\"}\n"

static void test_parse_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t nmsgs;
        bool truncated;
    } cases[] = {
        {HDR_WS, 0, false},
        /* Unknown fields, nested values, whitespace, escapes, CRLF. */
        {"{\"evcat_recording\":1,\"x\":[1,{\"a\":null},true,false,-1.5e3],\"url\":\"u\","
         "\"proto\":\"ws\"}\r\n"
         " { \"t\" : 0 , \"dir\":\"in\",\"type\":\"text\",\"data\":\"\\u00e9\\ud83d\\ude00\\/\"}\r\n",
         1, false},
        /* No newline after a complete last line. */
        {HDR_WS "{\"t\":1,\"dir\":\"out\",\"type\":\"ping\",\"data_b64\":\"\"}", 1, false},
        /* A cut-short last line is left out. */
        {HDR_WS "{\"t\":1,\"dir\":\"out\",\"type\":\"text\",\"data\":\"a\"}\n{\"ts\":\"2026-", 1,
         true},
        {HDR_WS "{\"t\":1,\"dir\":\"out\",\"type\":\"text\",\"data\":\"a\"}\n{\"t\":2.5", 1, true},
        {HDR_WS "{\"t\":1,\"dir\":\"out\",\"type\":\"text\",\"data\":\"a\\u00", 0, true},
        /* Equal t is fine, close without code is 1005. */
        {HDR_WS "{\"t\":1,\"dir\":\"in\",\"type\":\"close\"}\n"
                "{\"t\":1,\"dir\":\"in\",\"type\":\"binary\",\"data_b64\":\"AAE\"}\n",
         2, false},
        {HDR_SSE "{\"t\":0.000001,\"data\":\"d\"}\n{\"t\":3,\"data\":\"\",\"event\":\"e\",\"id\":\"1\"}\n",
         2, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        recording_t r;
        char err[256] = "";
        int rc = rec_parse(cases[i].text, strlen(cases[i].text), MAXMSG, &r, err, sizeof(err));
        if (rc != 0)
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(r.nmsgs, cases[i].nmsgs);
        assert_int_equal(r.truncated, cases[i].truncated);
        rec_free(&r);
    }
    recording_t r;
    char err[256];
    const char *t = cases[1].text;
    assert_int_equal(rec_parse(t, strlen(t), MAXMSG, &r, err, sizeof(err)), 0);
    assert_string_equal(r.msgs[0].data, "\xc3\xa9\xf0\x9f\x98\x80/");
    rec_free(&r);
    t = cases[6].text;
    assert_int_equal(rec_parse(t, strlen(t), MAXMSG, &r, err, sizeof(err)), 0);
    assert_int_equal(r.msgs[0].code, 1005);
    assert_int_equal(r.msgs[1].len, 2);
    assert_memory_equal(r.msgs[1].data, "\0\1", 2);
    rec_free(&r);
}

static void test_parse_refuses(void **state)
{
    (void)state;
#define WS1 HDR_WS "{\"t\":1,\"dir\":\"in\","
#define SSE1 HDR_SSE "{\"t\":1,"
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"", "line 1: no recording header (the file is empty or cut short)"},
        {"{\"evcat_reco", "line 1: not JSON (unterminated string)"},
        {"hello\n", "line 1: not JSON (not a JSON object)"},
        {"[1]\n", "line 1: not JSON (not a JSON object)"},
        {"{\"t\":1,\"dir\":\"in\",\"type\":\"text\",\"data\":\"a\"}\n" HDR_WS,
         "line 1: not an evcat recording (the header with \"evcat_recording\" must come first)"},
        {"{\"evcat_recording\":2,\"url\":\"u\",\"proto\":\"ws\"}\n",
         "line 1: a recording of version 2; this evcat reads version 1"},
        {"{\"evcat_recording\":\"1\",\"url\":\"u\",\"proto\":\"ws\"}\n",
         "line 1: \"evcat_recording\" is not a number"},
        {"{\"evcat_recording\":1,\"url\":\"u\",\"proto\":\"tcp\"}\n",
         "line 1: \"proto\" is neither \"sse\" nor \"ws\""},
        {"{\"evcat_recording\":1,\"url\":\"u\"}\n", "line 1: \"proto\" is missing"},
        {"{\"evcat_recording\":1,\"proto\":\"ws\"}\n", "line 1: \"url\" is missing"},
        {"{\"evcat_recording\":1,\"url\":\"u\",\"proto\":\"ws\"} x\n",
         "line 1: not JSON (more after the JSON object)"},
        {HDR_WS HDR_WS, "line 2: a second header"},
        {HDR_WS "\n", "line 2: not JSON (cut short)"},
        {HDR_WS "{\"t\":1,\"dir\":\"in\"\n", "line 2: not JSON (cut short)"},
        {HDR_WS "{\"t\":1,\"dir\":\"in\",}\n", "line 2: not JSON (not JSON)"},
        {HDR_WS "{\"t\":01}\n", "line 2: not JSON (not JSON)"},
        {HDR_WS "{\"t\":1,\"x\":\"a\tb\"}\n", "line 2: not JSON (control character in a string)"},
        {HDR_WS "{\"t\":1,\"x\":\"\\x\"}\n", "line 2: not JSON (bad escape in a string)"},
        {HDR_WS "{\"t\":1,\"x\":\"\\ud800\"}\n",
         "line 2: not JSON (lone surrogate in a \\u escape)"},
        {HDR_WS "{\"t\":1,\"x\":tru}\n", "line 2: not JSON (not JSON)"},
        {HDR_WS "{\"dir\":\"in\",\"type\":\"text\",\"data\":\"a\"}\n", "line 2: \"t\" is missing"},
        {WS1 "\"type\":\"text\",\"data\":\"a\",\"t\":\"1\"}\n", "line 2: \"t\" is not a number"},
        {WS1 "\"type\":\"text\",\"data\":\"a\",\"t\":null}\n", "line 2: \"t\" is not a number"},
        {WS1 "\"type\":\"text\",\"data\":\"a\",\"t\":-0.5}\n", "line 2: \"t\" is negative"},
        {WS1 "\"type\":\"text\",\"data\":\"a\",\"t\":1e999}\n", "line 2: \"t\" is not a number"},
        {WS1 "\"type\":\"text\",\"data\":\"a\"}\n{\"t\":0.5,\"dir\":\"in\",\"type\":\"text\","
             "\"data\":\"a\"}\n",
         "line 3: \"t\" goes back in time (0.500000 after 1.000000)"},
        {HDR_WS "{\"t\":1,\"type\":\"text\",\"data\":\"a\"}\n", "line 2: \"dir\" is missing"},
        {HDR_WS "{\"t\":1,\"dir\":\"up\",\"type\":\"text\",\"data\":\"a\"}\n",
         "line 2: \"dir\" is neither \"in\" nor \"out\""},
        {WS1 "\"data\":\"a\"}\n", "line 2: \"type\" is missing"},
        {WS1 "\"type\":\"frame\",\"data\":\"a\"}\n",
         "line 2: \"type\" is not one of \"text\", \"binary\", \"ping\", \"pong\", \"close\""},
        {WS1 "\"type\":\"text\"}\n", "line 2: \"data\" is missing"},
        {WS1 "\"type\":\"text\",\"data\":5}\n", "line 2: \"data\" is not a string"},
        {WS1 "\"type\":\"text\",\"data\":\"\xff\"}\n", "line 2: text \"data\" is not valid UTF-8"},
        {WS1 "\"type\":\"text\",\"data\":\"\\udbff\\udfff\xc0\xaf\"}\n",
         "line 2: text \"data\" is not valid UTF-8"},
        {WS1 "\"type\":\"text\",\"data\":\"0123456789abcdefX\"}\n",
         "line 2: a message of 17 bytes is over the maximum (16)"},
        {WS1 "\"type\":\"binary\"}\n", "line 2: \"data_b64\" is missing"},
        {WS1 "\"type\":\"binary\",\"data_b64\":\"A\"}\n",
         "line 2: \"data_b64\" is not valid base64"},
        {WS1 "\"type\":\"ping\",\"data_b64\":\"AA!A\"}\n",
         "line 2: \"data_b64\" is not valid base64"},
        {WS1 "\"type\":\"binary\",\"data_b64\":\"MDEyMzQ1Njc4OWFiY2RlZlg=\"}\n",
         "line 2: a message of 17 bytes is over the maximum (16)"},
        {WS1 "\"type\":\"close\",\"code\":\"1000\"}\n",
         "line 2: \"code\" is not a close code (0-65535)"},
        {WS1 "\"type\":\"close\",\"code\":70000}\n",
         "line 2: \"code\" is not a close code (0-65535)"},
        {WS1 "\"type\":\"close\",\"code\":1000.5}\n",
         "line 2: \"code\" is not a close code (0-65535)"},
        {WS1 "\"type\":\"close\",\"code\":1000,\"reason\":1}\n",
         "line 2: \"reason\" is not a string"},
        {WS1 "\"proto\":\"sse\",\"type\":\"text\",\"data\":\"a\"}\n",
         "line 2: \"proto\" is not the header's \"ws\""},
        {SSE1 "\"event\":\"e\"}\n", "line 2: \"data\" is missing"},
        {SSE1 "\"data\":[]}\n", "line 2: \"data\" is not a string"},
        {SSE1 "\"data\":\"a\",\"event\":1}\n", "line 2: \"event\" is not a string"},
        {SSE1 "\"data\":\"a\",\"id\":false}\n", "line 2: \"id\" is not a string"},
        {SSE1 "\"data\":\"a\",\"id\":\"1\\n2\"}\n", "line 2: \"id\" holds a line break or NUL"},
        {SSE1 "\"data\":\"a\",\"event\":\"a\\u0000\"}\n",
         "line 2: \"event\" holds a line break or NUL"},
        {SSE1 "\"data\":\"\xed\xa0\x80\"}\n", "line 2: \"data\" is not valid UTF-8"},
        {SSE1 "\"data\":\"0123456789abcdefX\"}\n",
         "line 2: a message of 17 bytes is over the maximum (16)"},
        {HDR_SSE "{\"data\":\"a\"}\n", "line 2: \"t\" is missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        recording_t r;
        char err[256] = "";
        int rc = rec_parse(cases[i].text, strlen(cases[i].text), 16, &r, err, sizeof(err));
        if (rc != -1 || strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu: rc %d, err \"%s\", want \"%s\"", i, rc, err, cases[i].err);
        assert_null(r.msgs);
        assert_null(r.url);
    }
}

/* Nested beyond the bound: refused, not a stack overflow. */
static void test_parse_deep_nesting(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    buf_puts(&b, HDR_WS "{\"x\":");
    for (int i = 0; i < 100000; i++)
        buf_putc(&b, '[');
    buf_puts(&b, "}\n");
    recording_t r;
    char err[256];
    assert_int_equal(rec_parse(b.p, b.len, MAXMSG, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "line 2: not JSON (nested too deeply)");
    buf_free(&b);
}

/* The text need not be NUL-terminated: nothing past len is read. */
static void test_parse_reads_only_len(void **state)
{
    (void)state;
    static const char hdr[] = HDR_WS;
    size_t n = sizeof(hdr) - 1;
    char *p = malloc(n);
    memcpy(p, hdr, n);
    recording_t r;
    char err[256];
    assert_int_equal(rec_parse(p, n, MAXMSG, &r, err, sizeof(err)), 0);
    rec_free(&r);
    /* Cut inside the header: refused, there is nothing to play. */
    assert_int_equal(rec_parse(p, n - 5, MAXMSG, &r, err, sizeof(err)), -1);
    free(p);
}

static void test_load_errors(void **state)
{
    (void)state;
    recording_t r;
    char err[256];
    assert_int_equal(rec_load("/nonexistent/x", 1 << 20, MAXMSG, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "cannot open /nonexistent/x: No such file or directory");
    const char *path = tmp_path();
    FILE *f = fopen(path, "w");
    fputs(HDR_WS "{\"t\":1}\n", f);
    fclose(f);
    assert_int_equal(rec_load(path, 1 << 20, MAXMSG, &r, err, sizeof(err)), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s: line 2: \"dir\" is missing", path);
    assert_string_equal(err, want);
    assert_int_equal(rec_load(path, 10, MAXMSG, &r, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: over the maximum recording size (10 bytes)", path);
    assert_string_equal(err, want);
    unlink(path);
}

static void test_open_failure_and_write_failure(void **state)
{
    (void)state;
    rec_writer_t w;
    char err[256] = "";
    assert_int_equal(rec_open(&w, "/nonexistent/dir/rec.jsonl", "ws://h/", REC_WS, err,
                              sizeof(err)),
                     -1);
    assert_string_equal(err,
                        "cannot create recording /nonexistent/dir/rec.jsonl: No such file or "
                        "directory");
    if (access("/dev/full", W_OK) != 0)
        return;
    assert_int_equal(rec_open(&w, "/dev/full", "ws://h/", REC_WS, err, sizeof(err)), 0);
    assert_true(w.failed);
    rec_ws_message(&w, true, 1, "x", 1, 0, TS);
    errno = 0;
    assert_int_equal(rec_close(&w), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(w.errno_saved, ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_round_trip_every_kind),
        cmocka_unit_test(test_lines_are_the_json_output_plus_t),
        cmocka_unit_test(test_sse_round_trip),
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_deep_nesting),
        cmocka_unit_test(test_parse_reads_only_len),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_open_failure_and_write_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
