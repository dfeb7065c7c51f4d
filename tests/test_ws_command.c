/* Unit tests for src/cli/ws_command.c: the exit code decided once (a forced one
 * wins), the linger's quiet deadline and its cap, a failed stdout ending the
 * session, a signal's exit code, and the end closing the recording; then the
 * loop it sets up (--timeout, SIGINT, the linger's default close, --record
 * and a bad URL) and a whole session against evcat's own server playing a
 * recording in the same loop, hook by hook (--count, the peer's close, the
 * end's code, stdout and the recording). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcode.h"
#include "diag.h"
#include "buf.h"
#include "clock.h"
#include "recording.h"
#include "serve.h"
#include "ws_command.h"

static int lingered;

static void on_linger_over(void *ud)
{
    lingered++;
    ws_command_close(ud, 1000, NULL);
}

static const ws_command_ops_t linger_ops = {.linger_over = on_linger_over};

static void setup_k(ws_command_t *k, int fd)
{
    ws_command_init(k, &linger_ops, k);
    ws_command_open(k, fd, OUT_RAW, COLOR_NEVER, 0);
    assert_non_null(k->loop);
}

/* ws_command_end without --record. */
static int end_k(ws_command_t *k)
{
    conn_opts_t co;
    conn_opts_init(&co);
    int rc = ws_command_end(k, &co);
    conn_opts_free(&co);
    return rc;
}

static void test_init(void **state)
{
    (void)state;
    ws_command_t k;
    int ud;
    memset(&k, 0x5a, sizeof(k));
    ws_command_init(&k, &linger_ops, &ud);
    assert_ptr_equal(k.ops, &linger_ops);
    assert_ptr_equal(k.ud, &ud);
    assert_null(k.loop);
    assert_int_equal(k.count, 0);
    assert_int_equal(k.received, 0);
    assert_int_equal(k.exit_code, EXIT_OK);
    assert_int_equal(k.forced_code, -1);
    assert_int_equal(k.rec.fd, -1);
    assert_false(k.done);
    assert_false(k.we_closed);
    assert_null(k.c);
}

static void test_finish_once_forced_wins(void **state)
{
    (void)state;
    ws_command_t k;
    setup_k(&k, STDOUT_FILENO);
    ws_command_finish(&k, EXIT_FAIL);
    assert_true(k.done);
    assert_int_equal(k.exit_code, EXIT_FAIL);
    ws_command_finish(&k, EXIT_OK); /* the first end stands */
    assert_int_equal(k.exit_code, EXIT_FAIL);

    ws_command_t j;
    setup_k(&j, STDOUT_FILENO);
    j.forced_code = EXIT_TIMEOUT;
    ws_command_finish(&j, EXIT_OK);
    assert_int_equal(j.exit_code, EXIT_TIMEOUT);
    assert_int_equal(end_k(&k), EXIT_FAIL);
    assert_int_equal(end_k(&j), EXIT_TIMEOUT);
}

static void test_linger_quiet_then_cap(void **state)
{
    (void)state;
    ws_command_t k;
    setup_k(&k, STDOUT_FILENO);
    lingered = 0;
    ws_command_heard(&k); /* no linger running: nothing armed */
    assert_false(loop_timer_armed(&k.linger));

    uint64_t t0 = mono_ns();
    ws_command_linger(&k);
    assert_true(loop_timer_armed(&k.linger));
    assert_true(k.linger_until >= t0 + WSCMD_LINGER_MAX_MS * 1000000ull);
    uint64_t first = k.linger.due_ns;
    assert_true(first >= t0 + WSCMD_LINGER_QUIET_MS * 1000000ull);
    assert_true(first < k.linger_until);

    /* A message pushes the deadline to quiet-from-now... */
    usleep(20000);
    ws_command_heard(&k);
    assert_true(k.linger.due_ns > first);
    assert_true(k.linger.due_ns <= k.linger_until);
    /* ...but never past the cap. */
    k.linger_until = mono_ns() + 1000000ull; /* 1 ms from now */
    ws_command_heard(&k);
    assert_int_equal(k.linger.due_ns, k.linger_until);

    while (!lingered)
        loop_run_once(k.loop, 50);
    assert_int_equal(lingered, 1);
    assert_true(k.we_closed);
    assert_false(loop_timer_armed(&k.linger));
    end_k(&k);
}

static void test_close_stops_linger(void **state)
{
    (void)state;
    ws_command_t k;
    setup_k(&k, STDOUT_FILENO);
    ws_command_linger(&k);
    ws_command_close(&k, 1000, NULL);
    assert_true(k.we_closed);
    assert_false(loop_timer_armed(&k.linger));
    end_k(&k);
}

static void test_failed_stdout_ends(void **state)
{
    (void)state;
    int full = open("/dev/full", O_WRONLY);
    if (full < 0)
        skip();
    ws_command_t k;
    setup_k(&k, full);
    out_ws_message(&k.out, true, WS_TEXT, "hi", 2, 0, 0, real_ns());
    ws_command_flush(&k);
    assert_true(k.done);
    assert_true(k.we_closed);
    assert_int_equal(k.exit_code, EXIT_FAIL);
    assert_int_equal(k.forced_code, EXIT_FAIL);
    assert_int_equal(end_k(&k), EXIT_FAIL);
    close(full);
}

static void test_interrupted(void **state)
{
    (void)state;
    diag_level = -1;
    ws_command_t k;
    setup_k(&k, STDOUT_FILENO);
    ws_command_linger(&k);
    ws_command_interrupted(&k, SIGINT);
    assert_int_equal(k.forced_code, EXIT_INTERRUPTED);
    assert_true(k.we_closed);
    assert_false(loop_timer_armed(&k.linger));
    ws_command_finish(&k, EXIT_OK);
    assert_int_equal(end_k(&k), EXIT_INTERRUPTED);

    setup_k(&k, STDOUT_FILENO);
    ws_command_interrupted(&k, SIGTERM);
    assert_int_equal(k.forced_code, 128 + SIGTERM);
    end_k(&k);
    diag_level = 0;
}

/* Lines of the file at path, and how many hold each of the (up to two)
 * strings in want[i][0] and want[i][1] both. */
static int grep_lines(const char *path, const char *const want[][2], int nwant, int *found)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    for (int i = 0; i < nwant; i++)
        found[i] = 0;
    while (fgets(line, sizeof(line), f)) {
        n++;
        for (int i = 0; i < nwant; i++)
            found[i] += strstr(line, want[i][0]) && strstr(line, want[i][1]);
    }
    fclose(f);
    return n;
}

static void temp_path(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* The end closes the recording: the pings and closes on_sent saw are in it. */
static void test_end_closes_recording(void **state)
{
    (void)state;
    char path[] = "/tmp/evcat-test-wscmd-XXXXXX";
    temp_path(path);
    conn_opts_t co;
    conn_opts_init(&co);
    co.record = path;
    ws_command_t k;
    setup_k(&k, STDOUT_FILENO);
    assert_int_equal(rec_start(&k.rec, co.record, "ws", "ws://127.0.0.1:1/", REC_WS), 0);
    assert_true(rec_active(&k.rec));
    ws_command_on_sent(&k, WS_PING, (const uint8_t *)"p", 1, 0);
    ws_command_on_sent(&k, WS_CLOSE, (const uint8_t *)"bye", 3, 1000);
    ws_command_finish(&k, EXIT_OK);
    assert_int_equal(ws_command_end(&k, &co), EXIT_OK);

    static const char *const want[][2] = {
        {"\"type\":\"ping\"", "\"dir\":\"out\""},
        {"\"type\":\"close\"", "\"code\":1000"},
    };
    int found[2];
    int n = grep_lines(path, want, 2, found);
    unlink(path);
    conn_opts_free(&co);
    assert_int_equal(n, 3); /* the header and the two messages */
    assert_int_equal(found[0], 1);
    assert_int_equal(found[1], 1);
}

/* ---- the loop and the hooks ---- */

/* What the hooks saw. */
struct probe {
    ws_command_t k;
    int opens, messages, batches, emits, interrupts, timeouts, ends;
    uint64_t received_at_message; /* k.received in the last message hook */
    char last[16];                /* the last message's text */
    uint16_t close_code;          /* the peer's close */
    char close_reason[16];
    int end_code;                 /* the code the end hook was given */
    int forced_at_interrupt, forced_at_emit;
};

static void p_open(void *ud)
{
    struct probe *P = ud;
    P->opens++;
}

static void p_message(void *ud, ws_type_t type, const uint8_t *p, size_t n)
{
    struct probe *P = ud;
    assert_int_equal(type, WS_TEXT);
    P->messages++;
    P->received_at_message = P->k.received;
    snprintf(P->last, sizeof(P->last), "%.*s", (int)n, (const char *)p);
}

static void p_peer_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    struct probe *P = ud;
    P->close_code = code;
    snprintf(P->close_reason, sizeof(P->close_reason), "%.*s", (int)len, reason);
}

static void p_batch(void *ud)
{
    struct probe *P = ud;
    P->batches++;
}

/* Like replay's: a close the test expects is no failure. */
static int p_end(void *ud, int code)
{
    struct probe *P = ud;
    P->ends++;
    P->end_code = code;
    return code == EXIT_FAIL ? EXIT_OK : code;
}

static void p_emit(void *ud)
{
    struct probe *P = ud;
    P->emits++;
    P->forced_at_emit = P->k.forced_code;
    ws_command_flush(&P->k);
}

static void p_interrupted(void *ud)
{
    struct probe *P = ud;
    P->interrupts++;
    P->forced_at_interrupt = P->k.forced_code;
}

static void p_timeout(void *ud)
{
    struct probe *P = ud;
    P->timeouts++;
    P->k.forced_code = EXIT_TIMEOUT;
    ws_command_close(&P->k, 1000, NULL);
    ws_command_finish(&P->k, EXIT_OK); /* no client here to end the session */
}

static const ws_command_ops_t probe_ops = {
    .open = p_open,
    .message = p_message,
    .peer_close = p_peer_close,
    .batch = p_batch,
    .end = p_end,
    .emit = p_emit,
    .interrupted = p_interrupted,
    .timeout = p_timeout,
};

static void probe_init(struct probe *P, const ws_command_ops_t *ops)
{
    memset(P, 0, sizeof(*P));
    ws_command_init(&P->k, ops, P);
    P->forced_at_interrupt = P->forced_at_emit = -2;
}

static void test_timeout(void **state)
{
    (void)state;
    struct probe P;
    probe_init(&P, &probe_ops);
    ws_command_open(&P.k, STDOUT_FILENO, OUT_RAW, COLOR_NEVER, 20);
    assert_true(loop_timer_armed(&P.k.timeout));
    uint64_t t0 = mono_ns();
    loop_run(P.k.loop);
    assert_true(mono_ns() - t0 >= 20 * 1000000ull);
    assert_int_equal(P.timeouts, 1);
    assert_true(P.k.we_closed);
    assert_int_equal(end_k(&P.k), EXIT_TIMEOUT);

    /* Without one, nothing is armed. */
    probe_init(&P, &probe_ops);
    ws_command_open(&P.k, STDOUT_FILENO, OUT_RAW, COLOR_NEVER, 0);
    assert_false(loop_timer_armed(&P.k.timeout));
    end_k(&P.k);
}

/* SIGINT: the command's hook first (nothing forced yet), then the exit
 * code, the close, stdout the command's way, and the end. */
static void test_signal(void **state)
{
    (void)state;
    diag_level = -1;
    struct probe P;
    probe_init(&P, &probe_ops);
    ws_command_open(&P.k, STDOUT_FILENO, OUT_RAW, COLOR_NEVER, 0);
    ws_command_linger(&P.k);
    raise(SIGINT); /* blocked by the loop: read from its signalfd */
    loop_run(P.k.loop);
    assert_int_equal(P.interrupts, 1);
    assert_int_equal(P.forced_at_interrupt, -1);
    assert_int_equal(P.emits, 1);
    assert_int_equal(P.forced_at_emit, EXIT_INTERRUPTED);
    assert_true(P.k.we_closed);
    assert_false(loop_timer_armed(&P.k.linger));
    assert_true(P.k.done);
    assert_int_equal(end_k(&P.k), EXIT_INTERRUPTED);
    diag_level = 0;
}

/* Without a linger_over hook, the linger's end is our close 1000. */
static void test_linger_default_close(void **state)
{
    (void)state;
    static const ws_command_ops_t no_hooks = {.timeout = p_timeout};
    struct probe P;
    probe_init(&P, &no_hooks);
    ws_command_open(&P.k, STDOUT_FILENO, OUT_RAW, COLOR_NEVER, 0);
    ws_command_linger(&P.k);
    P.k.linger_until = mono_ns(); /* the cap: now */
    ws_command_heard(&P.k);
    while (!P.k.we_closed)
        loop_run_once(P.k.loop, 50);
    assert_false(loop_timer_armed(&P.k.linger));
    end_k(&P.k);
}

/* Runs fn with stderr going to a file; returns what was written (static). */
static const char *capture_stderr(int (*fn)(void *), void *arg, int *rc)
{
    static char text[1024];
    char path[] = "/tmp/evcat-test-wscmd-err-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    *rc = fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return text;
}

struct record_args {
    struct probe *P;
    conn_opts_t *co;
    const char *url;
};

static int record_reported(void *arg)
{
    struct record_args *a = arg;
    return ws_command_record(&a->P->k, a->co, "replay", a->url, true);
}

static int record_quiet(void *arg)
{
    struct record_args *a = arg;
    return ws_command_record(&a->P->k, a->co, "ws", a->url, false);
}

/* A URL the client will refuse gets no recording, is reported as the
 * command's when asked, and starting the client fails with exit 2; a
 * recording that cannot be created is -1. */
static void test_record_and_bad_url(void **state)
{
    (void)state;
    static const char bad[] = "ws://127.0.0.1:99999/";
    char path[] = "/tmp/evcat-test-wscmd-XXXXXX";
    temp_path(path);
    unlink(path);
    conn_opts_t co;
    conn_opts_init(&co);
    co.record = path;
    ws_cli_opts_t w;
    ws_cli_opts_init(&w);
    struct probe P;
    probe_init(&P, &probe_ops);

    struct record_args a = {.P = &P, .co = &co, .url = bad};
    int rc;
    const char *err = capture_stderr(record_reported, &a, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "evcat: replay: 'ws://127.0.0.1:99999/' is not a valid URL"));
    assert_false(rec_active(&P.k.rec));
    assert_int_equal(access(path, F_OK), -1);
    /* Unreported: ws_command_start will say it. The URL is looked at
     * before the recording, which could not be created here. */
    co.record = "/nonexistent-dir/evcat-test.jsonl";
    err = capture_stderr(record_quiet, &a, &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(err, "");
    co.record = path;

    ws_command_open(&P.k, STDOUT_FILENO, OUT_RAW, COLOR_NEVER, 0);
    assert_int_equal(ws_command_start(&P.k, bad, &co, &w), -1); /* says why on stderr */
    assert_int_equal(P.k.exit_code, EXIT_USAGE);
    assert_int_equal(ws_command_end(&P.k, &co), EXIT_USAGE);
    assert_int_equal(access(path, F_OK), -1);

    /* A good URL, and a recording that cannot be created. */
    probe_init(&P, &probe_ops);
    a.url = "ws://127.0.0.1:1/";
    co.record = "/nonexistent-dir/evcat-test.jsonl";
    err = capture_stderr(record_reported, &a, &rc);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "evcat: "));
    co.record = path;
    assert_int_equal(ws_command_record(&P.k, &co, "ws", "ws://127.0.0.1:1/", false), 0);
    assert_true(rec_active(&P.k.rec));
    ws_command_open(&P.k, STDOUT_FILENO, OUT_RAW, COLOR_NEVER, 0);
    ws_command_finish(&P.k, EXIT_OK);
    assert_int_equal(ws_command_end(&P.k, &co), EXIT_OK);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
    conn_opts_free(&co);
}

/* A recording for evcat's server to play: three text messages at once,
 * then the server's close 4001 "later". */
static void write_playback(const char *path)
{
    static const char ts[] = "\"ts\":\"2026-01-01T00:00:00.000000Z\",\"proto\":\"ws\"";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"evcat_recording\":1,\"url\":\"ws://x/\",\"proto\":\"ws\","
               "\"started\":\"2026-01-01T00:00:00Z\"}\n");
    static const char *const texts[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++)
        fprintf(f, "{%s,\"dir\":\"in\",\"type\":\"text\",\"data\":\"%s\",\"t\":0}\n", ts, texts[i]);
    fprintf(f,
            "{%s,\"dir\":\"in\",\"type\":\"close\",\"code\":4001,\"reason\":\"later\",\"t\":0}\n",
            ts);
    fclose(f);
}

/* A whole session against evcat's server in the same loop, playing a
 * recording: the hooks in their order, --count dropping what comes after
 * it unseen and unrecorded, the end hook deciding the code. */
static void test_session(void **state)
{
    (void)state;
    char play[] = "/tmp/evcat-test-wscmd-play-XXXXXX", outp[] = "/tmp/evcat-test-wscmd-out-XXXXXX",
         recp[] = "/tmp/evcat-test-wscmd-rec-XXXXXX";
    temp_path(play);
    temp_path(outp);
    temp_path(recp);
    write_playback(play);
    recording_t rec;
    char err[256];
    assert_int_equal(rec_load(play, 1 << 20, 1 << 20, &rec, err, sizeof(err)), 0);

    conn_opts_t co;
    conn_opts_init(&co);
    co.record = recp;
    ws_cli_opts_t w;
    ws_cli_opts_init(&w);
    struct probe P;
    probe_init(&P, &probe_ops);
    P.k.count = 2;
    int out = open(outp, O_WRONLY | O_TRUNC);
    assert_true(out >= 0);
    ws_command_open(&P.k, out, OUT_RAW, COLOR_NEVER, 10000);

    serve_config_t cfg;
    serve_config_defaults(&cfg);
    assert_int_equal(serve_parse_listen("127.0.0.1:0", &cfg.addr, &cfg.addr_len), 0);
    cfg.playback = &rec;
    cfg.speed = 1;
    cfg.no_timing = true;
    serve_t *s;
    assert_int_equal(serve_start(P.k.loop, &cfg, &s, err, sizeof(err)), 0);
    char addr[80], url[128];
    serve_local_addr(s, addr, sizeof(addr));
    snprintf(url, sizeof(url), "ws://%s/feed", addr);

    assert_int_equal(ws_command_record(&P.k, &co, "ws", url, false), 0);
    assert_int_equal(ws_command_start(&P.k, url, &co, &w), 0);
    loop_run(P.k.loop);
    serve_free(s);
    int rc = ws_command_end(&P.k, &co);
    close(out);

    assert_int_equal(P.timeouts, 0);
    assert_int_equal(P.opens, 1);
    assert_int_equal(P.messages, 2); /* "three" is past --count */
    assert_int_equal(P.received_at_message, 2);
    assert_int_equal(P.k.received, 2);
    assert_string_equal(P.last, "two");
    assert_int_equal(P.close_code, 4001);
    assert_string_equal(P.close_reason, "later");
    assert_true(P.batches >= 1);
    assert_true(P.emits >= 1);
    assert_int_equal(P.ends, 1);
    assert_int_equal(P.end_code, EXIT_FAIL); /* 4001 is a failure for the client */
    assert_int_equal(rc, EXIT_OK);           /* the end hook said otherwise */

    char shown[64] = "";
    int fd = open(outp, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, shown, sizeof(shown) - 1);
    close(fd);
    shown[n > 0 ? n : 0] = '\0';
    assert_string_equal(shown, "one\ntwo\n");

    static const char *const want[][2] = {
        {"\"dir\":\"in\"", "\"data\":\"one\""},
        {"\"dir\":\"in\"", "\"data\":\"two\""},
        {"three", "three"},
        {"\"dir\":\"in\",\"type\":\"close\"", "\"code\":4001"},
        {"\"dir\":\"out\",\"type\":\"close\"", "\"code\":"},
    };
    int found[5];
    int lines = grep_lines(recp, want, 5, found);
    assert_int_equal(found[0], 1);
    assert_int_equal(found[1], 1);
    assert_int_equal(found[2], 0);
    assert_int_equal(found[3], 1);
    assert_int_equal(found[4], 1); /* our answer, through on_sent */
    assert_int_equal(lines, 5);    /* the header and those four */

    rec_free(&rec);
    conn_opts_free(&co);
    unlink(play);
    unlink(outp);
    unlink(recp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_finish_once_forced_wins),
        cmocka_unit_test(test_linger_quiet_then_cap),
        cmocka_unit_test(test_close_stops_linger),
        cmocka_unit_test(test_failed_stdout_ends),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_end_closes_recording),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_linger_default_close),
        cmocka_unit_test(test_record_and_bad_url),
        cmocka_unit_test(test_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
