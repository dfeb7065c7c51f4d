/* Unit tests for src/cli/ws_command.c: the exit code decided once (a forced one
 * wins), the linger's quiet deadline and its cap, a failed stdout ending the
 * session, a signal's exit code, and the end closing the recording. No
 * connection: these are the pieces around the client. */
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
#include <unistd.h>

#include "exitcode.h"
#include "diag.h"
#include "buf.h"
#include "clock.h"
#include "ws_command.h"

static int lingered;

static void on_linger(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    lingered++;
    ws_command_close(ud, 1000, NULL);
}

static void setup_k(ws_command_t *k, int fd)
{
    ws_command_init(k);
    k->loop = loop_new();
    assert_non_null(k->loop);
    out_init(&k->out, fd, OUT_RAW, false);
    loop_timer_init(&k->linger, on_linger, k);
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
    memset(&k, 0x5a, sizeof(k));
    ws_command_init(&k);
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

/* The end closes the recording: the pings and closes on_sent saw are in it. */
static void test_end_closes_recording(void **state)
{
    (void)state;
    char path[] = "/tmp/evcat-test-wscmd-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
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

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    bool ping = false, close1000 = false;
    while (fgets(line, sizeof(line), f)) {
        n++;
        ping |= strstr(line, "\"type\":\"ping\"") && strstr(line, "\"dir\":\"out\"");
        close1000 |= strstr(line, "\"type\":\"close\"") && strstr(line, "\"code\":1000");
    }
    fclose(f);
    unlink(path);
    conn_opts_free(&co);
    assert_int_equal(n, 3); /* the header and the two messages */
    assert_true(ping);
    assert_true(close1000);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
