/* Unit tests for src/net/curl_errors.c: the one classification of libcurl
 * results that the SSE client, bench's SSE streams and its publisher share:
 * classes, which ones are worth another attempt, and the detail shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_errors.h"

static void test_classes(void **state)
{
    (void)state;
    assert_int_equal(curlerr_class(CURLE_OK), CURLERR_NONE);
    assert_int_equal(curlerr_class(CURLE_GOT_NOTHING), CURLERR_CLOSED);
    assert_int_equal(curlerr_class(CURLE_PARTIAL_FILE), CURLERR_CLOSED);
    assert_int_equal(curlerr_class(CURLE_COULDNT_CONNECT), CURLERR_CONNECT);
    assert_int_equal(curlerr_class(CURLE_RECV_ERROR), CURLERR_IO);
    assert_int_equal(curlerr_class(CURLE_SEND_ERROR), CURLERR_IO);
    assert_int_equal(curlerr_class(CURLE_OPERATION_TIMEDOUT), CURLERR_TIMEOUT);
    assert_int_equal(curlerr_class(CURLE_SSL_CONNECT_ERROR), CURLERR_TLS);
    assert_int_equal(curlerr_class(CURLE_PEER_FAILED_VERIFICATION), CURLERR_TLS);
    assert_int_equal(curlerr_class(CURLE_SSL_CACERT_BADFILE), CURLERR_TLS);
    assert_int_equal(curlerr_class(CURLE_WEIRD_SERVER_REPLY), CURLERR_NOT_HTTP);
    assert_int_equal(curlerr_class(CURLE_HTTP2), CURLERR_HTTP2);
    assert_int_equal(curlerr_class(CURLE_HTTP2_STREAM), CURLERR_HTTP2_STREAM);
    assert_int_equal(curlerr_class(CURLE_COULDNT_RESOLVE_HOST), CURLERR_OTHER);
    assert_int_equal(curlerr_class(CURLE_TOO_MANY_REDIRECTS), CURLERR_OTHER);
}

static void test_transient(void **state)
{
    (void)state;
    /* worth another attempt: the stream broke or the server was away */
    assert_true(curlerr_transient(CURLE_GOT_NOTHING));
    assert_true(curlerr_transient(CURLE_PARTIAL_FILE));
    assert_true(curlerr_transient(CURLE_COULDNT_CONNECT));
    assert_true(curlerr_transient(CURLE_RECV_ERROR));
    assert_true(curlerr_transient(CURLE_OPERATION_TIMEDOUT));
    assert_true(curlerr_transient(CURLE_HTTP2_STREAM));
    /* waiting does not fix these */
    assert_false(curlerr_transient(CURLE_OK));
    assert_false(curlerr_transient(CURLE_PEER_FAILED_VERIFICATION));
    assert_false(curlerr_transient(CURLE_WEIRD_SERVER_REPLY));
    assert_false(curlerr_transient(CURLE_COULDNT_RESOLVE_HOST));
    assert_false(curlerr_transient(CURLE_TOO_MANY_REDIRECTS));
    assert_false(curlerr_transient(CURLE_URL_MALFORMAT));
}

static void test_detail(void **state)
{
    (void)state;
    assert_string_equal(curlerr_detail(CURLE_COULDNT_CONNECT, "Failed to connect to x port 1"),
                        "Failed to connect to x port 1");
    /* no message of the transfer's own: the code's generic text */
    assert_string_equal(curlerr_detail(CURLE_COULDNT_CONNECT, ""),
                        curl_easy_strerror(CURLE_COULDNT_CONNECT));
    assert_string_equal(curlerr_detail(CURLE_RECV_ERROR, NULL),
                        curl_easy_strerror(CURLE_RECV_ERROR));
}

/* A failed connect reads as the WebSocket path (dial) words it, once the
 * opening-socket callback saw the address; else libcurl's own text. */
static void test_message(void **state)
{
    (void)state;
    char out[256];
    curlerr_conn_t c = {.addr = "127.0.0.1:1", .tried = 1};
    assert_string_equal(curlerr_message(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 "
                                        "port 1 after 0 ms: Couldn't connect to server",
                                        ECONNREFUSED, &c, out, sizeof(out)),
                        "connection refused by 127.0.0.1:1");
    c.via_proxy = true;
    assert_string_equal(curlerr_message(CURLE_COULDNT_CONNECT, "", ECONNREFUSED, &c, out,
                                        sizeof(out)),
                        "connection refused by proxy 127.0.0.1:1");
    curlerr_conn_t six = {.addr = "[::1]:8080", .tried = 2};
    assert_string_equal(curlerr_message(CURLE_COULDNT_CONNECT, "", ETIMEDOUT, &six, out,
                                        sizeof(out)),
                        "timed out connecting to [::1]:8080 (2 addresses tried)");
    snprintf(out, sizeof(out), "x");
    char want[128];
    snprintf(want, sizeof(want), "cannot connect to [::1]:8080: %s (2 addresses tried)",
             strerror(EHOSTUNREACH));
    assert_string_equal(curlerr_message(CURLE_COULDNT_CONNECT, "", EHOSTUNREACH, &six, out,
                                        sizeof(out)),
                        want);
    /* nothing seen, no errno, or another failure: libcurl's words */
    curlerr_conn_t none;
    curlerr_conn_reset(&none);
    assert_string_equal(curlerr_message(CURLE_COULDNT_CONNECT, "curl's", ECONNREFUSED, &none, out,
                                        sizeof(out)),
                        "curl's");
    assert_string_equal(curlerr_message(CURLE_COULDNT_CONNECT, "curl's", 0, &c, out, sizeof(out)),
                        "curl's");
    assert_string_equal(curlerr_message(CURLE_RECV_ERROR, "", ECONNRESET, &c, out, sizeof(out)),
                        curl_easy_strerror(CURLE_RECV_ERROR));
}

/* Whether libcurl goes through a proxy for a URL: -x, or the variables. */
static void test_via_proxy(void **state)
{
    (void)state;
    conn_settings_t co;
    conn_settings_init(&co);
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("HTTPS_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    assert_false(curlerr_via_proxy("http://127.0.0.1:1/", &co));
    co.proxy = "http://127.0.0.1:3128";
    assert_true(curlerr_via_proxy("http://127.0.0.1:1/", &co));
    co.proxy = "";
    assert_false(curlerr_via_proxy("http://127.0.0.1:1/", &co)); /* -x "": none */
    co.proxy = NULL;
    setenv("http_proxy", "http://127.0.0.1:3128", 1);
    assert_true(curlerr_via_proxy("http://h/", &co));
    assert_false(curlerr_via_proxy("https://h/", &co)); /* https_proxy's */
    setenv("no_proxy", "h", 1);
    assert_false(curlerr_via_proxy("http://h/", &co));
    assert_true(curlerr_via_proxy("http://[::1]:8080/", &co));
    unsetenv("http_proxy");
    unsetenv("no_proxy");
    conn_settings_free(&co);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_via_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
