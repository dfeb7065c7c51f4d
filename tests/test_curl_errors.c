/* Unit tests for src/net/curl_errors.c: the one classification of libcurl
 * results that the SSE client, bench's SSE streams and its publisher share:
 * classes, which ones are worth another attempt, and the detail shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
