/* Unit tests for core/redact: passwords in URLs and secret headers never
 * reach -v output or messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "redact.h"
#include "diag.h"
#include "buf.h"

static void expect_redacted(const char *url, const char *want)
{
    char *got = redact_url(url);
    assert_string_equal(got, want);
    free(got);
}

static void test_redact_url(void **state)
{
    (void)state;
    expect_redacted("http://u:pw@h:80/x?y#z", "http://u:***@h:80/x?y#z");
    expect_redacted("http://u@h/", "http://u@h/");           /* no password */
    expect_redacted("http://h/a:b@c", "http://h/a:b@c");     /* '@' in the path */
    expect_redacted("http://u:p@ss@h/", "http://u:***@h/");  /* the last '@' ends it */
    expect_redacted("ws://h", "ws://h");
    expect_redacted("", "");
    expect_redacted("no scheme u:p@h", "no scheme u:p@h");
}

static buf_t seen;

static void capture(void *ud, const char *line)
{
    (void)ud;
    buf_puts(&seen, line);
    buf_putc(&seen, '\n');
}

static void test_url_password_masked(void **state)
{
    (void)state;
    char *r = redact_url("wss://u:secret@h:1/p?q=1");
    assert_true(url_password_masked(r)); /* what a recording keeps */
    free(r);
    assert_true(url_password_masked("ws://u:***@h/"));
    assert_false(url_password_masked("ws://u:pw@h/"));
    assert_false(url_password_masked("ws://u@h/"));
    assert_false(url_password_masked("ws://h/a:***@b")); /* past the authority */
    assert_false(url_password_masked("ws://h/"));
    assert_false(url_password_masked("not a url"));
}

static void test_secret_free(void **state)
{
    (void)state;
    secret_free(NULL);
    secret_free(xstrdup("hunter2"));
}

static void test_verbose_lines_mask_urls_and_secret_headers(void **state)
{
    (void)state;
    buf_init(&seen);
    diag_set_hook(capture, NULL);
    diag_level = 1;
    static const char text[] =
        "Issue another request to this URL: 'http://al:SECRET@127.0.0.1:9/ok'\n"
        "Uses proxy env variable http_proxy == 'http://pu:PROXYPW@127.0.0.1:8'\n"
        "two http://a:b@x and https://c:d@y/ in a line\n";
    verbose_lines("* ", text, sizeof text - 1, false);
    static const char head[] = "Location: http://u:LOCPW@h/\r\nAuthorization: Basic abc\r\n"
                               "Cookie: s=1\r\nX-Ok: 1\r\n";
    verbose_lines("< ", head, sizeof head - 1, true);
    assert_string_equal(seen.p,
                        "* Issue another request to this URL: 'http://al:***@127.0.0.1:9/ok'\n"
                        "* Uses proxy env variable http_proxy == 'http://pu:***@127.0.0.1:8'\n"
                        "* two http://a:***@x and https://c:***@y/ in a line\n"
                        "< Location: http://u:***@h/\n"
                        "< Authorization: [redacted]\n"
                        "< Cookie: [redacted]\n"
                        "< X-Ok: 1\n");
    diag_level = 0;
    diag_set_hook(NULL, NULL);
    buf_free(&seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_url),
        cmocka_unit_test(test_url_password_masked),
        cmocka_unit_test(test_secret_free),
        cmocka_unit_test(test_verbose_lines_mask_urls_and_secret_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
