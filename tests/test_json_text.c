/* json_text: which payloads are JSON, and how they are written again
 * (compact for --parse-json, coloured, indented). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json_text.h"
#include "buf.h"

static bool valid(const char *s)
{
    return json_text_valid(s, strlen(s));
}

static void test_what_is_json(void **state)
{
    (void)state;
    static const char *yes[] = {
        "{}", "[]", "0", "-0", "1.5", "-12.5e+3", "2E-7", "true", "false", "null",
        "\"\"", "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"", " \t\r\n{ \"a\" : [ 1 , { } ] }\n",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "{\"a\":{\"b\":{\"c\":[null]}}}",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!valid(yes[i]))
            fail_msg("not taken as JSON: %s", yes[i]);
    static const char *no[] = {
        "", " ", "plain text", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "{'a':1}", "01", "1.",
        ".5", "-", "+1", "1e", "0x10", "NaN", "Infinity", "tru", "nul", "[1 2]", "{\"a\" 1}",
        "\"unterminated", "\"bad \\x escape\"", "\"\\u12G4\"", "\"tab\there\"", "\"\xff\"",
        "\"\xc3\"", "{} {}", "1 2", "[1]x", "{\"a\":1}}",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (valid(no[i]))
            fail_msg("taken as JSON: %s", no[i]);
}

static void test_depth_bound(void **state)
{
    (void)state;
    char deep[2 * (JSON_TEXT_MAX_DEPTH + 1) + 1];
    for (int d = JSON_TEXT_MAX_DEPTH; d <= JSON_TEXT_MAX_DEPTH + 1; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        deep[2 * d] = '\0';
        assert_int_equal(valid(deep), d == JSON_TEXT_MAX_DEPTH);
    }
}

static void expect_written(const char *in, const json_style_t *st, const char *want)
{
    buf_t b;
    buf_init(&b);
    json_text_write(&b, in, strlen(in), st);
    buf_putc(&b, '\0');
    assert_string_equal(b.p, want);
    buf_free(&b);
}

static void test_compact_keeps_tokens(void **state)
{
    (void)state;
    /* whitespace goes, every token stays as it was spelled */
    expect_written(" { \"n\" : 1.50e+2 , \"s\" : \"a\\u0020b\" , \"l\" : [ true , null ] } ", NULL,
                   "{\"n\":1.50e+2,\"s\":\"a\\u0020b\",\"l\":[true,null]}");
    expect_written("\"x\"", NULL, "\"x\"");
}

static void test_indented(void **state)
{
    (void)state;
    json_style_t st = {.indent = 2, .margin = 3};
    expect_written("{\"a\":[1,{}],\"b\":{}}", &st,
                   "{\n"
                   "     \"a\": [\n"
                   "       1,\n"
                   "       {}\n"
                   "     ],\n"
                   "     \"b\": {}\n"
                   "   }");
}

static void test_coloured_like_jq(void **state)
{
    (void)state;
    json_style_t st = {.color = true};
    expect_written("{\"k\":\"v\",\"n\":[1,null,true]}", &st,
                   "\033[1;39m{\033[0m\033[34;1m\"k\"\033[0m\033[1;39m:\033[0m \033[0;32m\"v\"\033[0m"
                   "\033[1;39m,\033[0m \033[34;1m\"n\"\033[0m\033[1;39m:\033[0m \033[1;39m[\033[0m"
                   "\033[0;39m1\033[0m\033[1;39m,\033[0m \033[1;30mnull\033[0m\033[1;39m,\033[0m "
                   "\033[0;39mtrue\033[0m\033[1;39m]\033[0m\033[1;39m}\033[0m");
    /* an escaped ESC stays an escape: nothing reaches the terminal raw */
    expect_written("\"\\u001b[2J\"", &st, "\033[0;32m\"\\u001b[2J\"\033[0m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_is_json),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_compact_keeps_tokens),
        cmocka_unit_test(test_indented),
        cmocka_unit_test(test_coloured_like_jq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
