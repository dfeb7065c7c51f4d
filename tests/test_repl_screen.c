/* repl_screen: where the REPL's prompt and a typed line wrapped over several
 * rows are, and the escapes that clear and redraw them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "repl_screen.h"

static char long_line[301];

static repl_view_t view(const char *line, int point)
{
    return (repl_view_t){.prompt = "> ", .line = line, .end = (int)strlen(line), .point = point};
}

/* What FN writes for V, as a string (freed by the caller). */
static char *written(void (*fn)(FILE *, const repl_view_t *, int), const repl_view_t *v, int width)
{
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    fn(f, v, width);
    fclose(f);
    return p;
}

static void test_positions_wrap_at_the_width(void **state)
{
    (void)state;
    repl_view_t v = view(long_line, 297);
    int row, col;
    repl_screen_pos(&v, 297, 80, &row, &col); /* 2 + 297 = 299 cells */
    assert_int_equal(row, 3);
    assert_int_equal(col, 59);
    repl_screen_pos(&v, 78, 80, &row, &col); /* the margin starts the next row */
    assert_int_equal(row, 1);
    assert_int_equal(col, 0);
    repl_screen_pos(&v, 0, 80, &row, &col);
    assert_int_equal(row, 0);
    assert_int_equal(col, 2);
}

static void test_control_characters_and_tabs_as_libedit_shows_them(void **state)
{
    (void)state;
    repl_view_t v = view("a\x01" "b\tc", 5);
    int row, col;
    repl_screen_pos(&v, 3, 80, &row, &col); /* "> a^Ab" */
    assert_int_equal(col, 6);
    repl_screen_pos(&v, 4, 80, &row, &col); /* the tab runs to column 8 */
    assert_int_equal(col, 8);
    char *out = written(repl_screen_draw, &v, 80);
    assert_string_equal(out, "> a^Ab  c\r\033[9C");
    free(out);
}

static void test_clear_goes_up_to_the_prompt_row(void **state)
{
    (void)state;
    repl_view_t v = view(long_line, 297);
    char *out = written(repl_screen_clear, &v, 80);
    assert_string_equal(out, "\033[3A\r\033[J");
    free(out);
    v.point = 10;
    out = written(repl_screen_clear, &v, 80);
    assert_string_equal(out, "\r\033[J");
    free(out);
}

static void test_draw_puts_the_cursor_back(void **state)
{
    (void)state;
    repl_view_t v = view(long_line, 100); /* cell 102: row 1, column 22 */
    char *out = written(repl_screen_draw, &v, 80);
    size_t n = strlen(out);
    assert_memory_equal(out, "> ", 2);
    assert_memory_equal(out + 2, long_line, 300);
    assert_string_equal(out + 302, "\033[2A\r\033[22C");
    assert_int_equal(n, 302 + strlen("\033[2A\r\033[22C"));
    free(out);
    /* ending at the margin: the cursor goes on to the next row, as libedit's */
    char at_margin[79];
    memset(at_margin, 'x', 78);
    at_margin[78] = '\0';
    v = view(at_margin, 78);
    out = written(repl_screen_draw, &v, 80);
    assert_string_equal(out + 80, " \b\r");
    free(out);
}

static void test_leave_goes_under_the_last_row(void **state)
{
    (void)state;
    repl_view_t v = view(long_line, 100); /* row 1 of 0..3 */
    char *out = written(repl_screen_leave, &v, 80);
    assert_string_equal(out, "\033[2B\r\n");
    free(out);
}

int main(void)
{
    for (int i = 0; i < 300; i++)
        long_line[i] = (char)('a' + i % 26);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions_wrap_at_the_width),
        cmocka_unit_test(test_control_characters_and_tabs_as_libedit_shows_them),
        cmocka_unit_test(test_clear_goes_up_to_the_prompt_row),
        cmocka_unit_test(test_draw_puts_the_cursor_back),
        cmocka_unit_test(test_leave_goes_under_the_last_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
