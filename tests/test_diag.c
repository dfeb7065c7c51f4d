/* Unit tests for core/diag: the peer's control characters never reach the
 * terminal through a diagnostic line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"

static char seen[4096];

static void capture(void *ud, const char *line)
{
    (void)ud;
    strncpy(seen, line, sizeof seen - 1);
}

static void test_control_characters_become_question_marks(void **state)
{
    (void)state;
    diag_set_hook(capture, NULL);
    diag_color = false;
    /* ESC, CR, LF, BS, DEL and a UTF-8 C1 (U+009B, CSI) go; a tab, other
     * UTF-8 (U+00E9, U+00A0: C2 A0 is no C1) and printable ASCII stay. */
    diag_error("closed with 4001: %s", "x\x1b[2Jy\r\nz\b\x7f\xc2\x9b!\t\xc3\xa9\xc2\xa0.");
    assert_string_equal(seen, "evcat: closed with 4001: x?[2Jy??z???" "!\t\xc3\xa9\xc2\xa0.");
    /* A C2 lead at the very end is left alone (there is no C1 to drop). */
    diag_warn("%s", "end\xc2");
    assert_string_equal(seen, "evcat: warning: end\xc2");
    diag_set_hook(NULL, NULL);
}

static void test_colour_codes_are_ours_only(void **state)
{
    (void)state;
    diag_set_hook(capture, NULL);
    diag_color = true;
    diag_error("%s", "a\x1b[31mb");
    assert_string_equal(seen, "\x1b[1;31mevcat: a?[31mb\x1b[0m");
    diag_color = false;
    diag_set_hook(NULL, NULL);
}

/* A URL quoted with its password, by us or by a library: masked. */
static void test_url_passwords_are_masked(void **state)
{
    (void)state;
    diag_set_hook(capture, NULL);
    diag_color = false;
    diag_error("'%s' is not a ws:// URL; proxy %s", "http://bob:PASSWD@h:1/sse",
               "socks5://u:p@x");
    assert_string_equal(seen, "evcat: 'http://bob:***@h:1/sse' is not a ws:// URL; proxy "
                              "socks5://u:***@x");
    diag_warn("%s", "ws://user@h/ and :// alone");
    assert_string_equal(seen, "evcat: warning: ws://user@h/ and :// alone");
    diag_set_hook(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_characters_become_question_marks),
        cmocka_unit_test(test_colour_codes_are_ours_only),
        cmocka_unit_test(test_url_passwords_are_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
