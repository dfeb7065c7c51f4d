/* Unit tests for src/cli/url_typo.c: which slips in a URL's scheme part are
 * named, with what words, and what is left to the commands (a bare host, a
 * scheme far from any evcat takes, a good URL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "url_typo.h"

static const struct {
    const char *arg;
    unsigned schemes;
    url_typo_kind_t kind;
    const char *why;
} cases[] = {
    /* the colon */
    {"http//host/x", URL_ANY, URL_TYPO_SYNTAX, "missing ':' after 'http'?"},
    {"ws//host", URL_ANY, URL_TYPO_SYNTAX, "missing ':' after 'ws'?"},
    {"https//host", URL_SSE, URL_TYPO_SYNTAX, "missing ':' after 'https'?"},
    {"HTTP//host", URL_ANY, URL_TYPO_SYNTAX, "missing ':' after 'HTTP'?"},
    {"http;//host", URL_ANY, URL_TYPO_SYNTAX, "';' after 'http' should be ':'?"},
    {"wss.//host", URL_WEBSOCKET, URL_TYPO_SYNTAX, "'.' after 'wss' should be ':'?"},
    /* the slashes */
    {"http:/host", URL_ANY, URL_TYPO_SYNTAX, "missing '/' after 'http:/'?"},
    {"ws:/host", URL_WEBSOCKET, URL_TYPO_SYNTAX, "missing '/' after 'ws:/'?"},
    {"wss:host/x", URL_ANY, URL_TYPO_SYNTAX, "missing '//' after 'wss:'?"},
    /* a known scheme's slip is named whichever the command takes (its own
     * check says next that the scheme is not for it) */
    {"http//host", URL_WEBSOCKET, URL_TYPO_SYNTAX, "missing ':' after 'http'?"},
    /* the scheme */
    {"htp://host", URL_ANY, URL_TYPO_SCHEME, "unknown scheme 'htp'; did you mean 'http'?"},
    {"htps://host", URL_ANY, URL_TYPO_SCHEME, "unknown scheme 'htps'; did you mean 'https'?"},
    {"wws://host", URL_WEBSOCKET, URL_TYPO_SCHEME,
     "unknown scheme 'wws'; did you mean 'ws' or 'wss'?"},
    {"htp://host", URL_SSE, URL_TYPO_SCHEME, "unknown scheme 'htp'; did you mean 'http'?"},
    /* only the schemes the command takes are offered */
    {"htp://host", URL_WEBSOCKET, URL_TYPO_NONE, NULL},
    {"ftp://host", URL_ANY, URL_TYPO_NONE, NULL},
    {"file:///etc/passwd", URL_ANY, URL_TYPO_NONE, NULL},
    /* good URLs, bare hosts and other words: the commands' business */
    {"http://host/x", URL_ANY, URL_TYPO_NONE, NULL},
    {"wss://host:8443/ws", URL_ANY, URL_TYPO_NONE, NULL},
    {"HTTP://host/", URL_ANY, URL_TYPO_NONE, NULL},
    {"localhost:8080/sse", URL_ANY, URL_TYPO_NONE, NULL},
    {"localhost//x", URL_ANY, URL_TYPO_NONE, NULL},
    {"wsx//host", URL_ANY, URL_TYPO_NONE, NULL}, /* a host called wsx */
    {"http:8080/x", URL_ANY, URL_TYPO_NONE, NULL}, /* a host called http, port 8080 */
    {"http", URL_ANY, URL_TYPO_NONE, NULL},
    {"http:", URL_ANY, URL_TYPO_NONE, NULL},
    {"127.0.0.1:1/", URL_ANY, URL_TYPO_NONE, NULL},
    {"[::1]:8080/", URL_ANY, URL_TYPO_NONE, NULL},
    {"-", URL_ANY, URL_TYPO_NONE, NULL},
    {"", URL_ANY, URL_TYPO_NONE, NULL},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[160] = "";
        url_typo_kind_t k = url_typo(cases[i].arg, cases[i].schemes, why, sizeof(why));
        if (k != cases[i].kind)
            fail_msg("'%s': kind %d, wanted %d (%s)", cases[i].arg, k, cases[i].kind, why);
        if (cases[i].why && strcmp(why, cases[i].why) != 0)
            fail_msg("'%s': \"%s\", wanted \"%s\"", cases[i].arg, why, cases[i].why);
    }
}

/* A long scheme-like word is left alone, and why is never overrun. */
static void test_bounds(void **state)
{
    (void)state;
    char longw[300];
    memset(longw, 'h', sizeof(longw));
    memcpy(longw + sizeof(longw) - 8, "://host", 8);
    char why[8];
    assert_int_equal(url_typo(longw, URL_ANY, why, sizeof(why)), URL_TYPO_NONE);
    assert_int_equal(url_typo("http//host", URL_ANY, why, sizeof(why)), URL_TYPO_SYNTAX);
    assert_int_equal(strlen(why), sizeof(why) - 1);
}

/* The line a command prints: the argument quoted, a password hidden, and
 * --publish named when it is that option's value. */
static char *check_line(const char *cmd, const char *opt, const char *arg, unsigned schemes,
                        int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    dup2(fileno(tmp), STDERR_FILENO);
    *rc = url_typo_check(cmd, opt, arg, schemes);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    char line[512];
    while (fgets(line, sizeof(line), tmp))
        fputs(line, f);
    fclose(tmp);
    fclose(f);
    return text;
}

static void test_check(void **state)
{
    (void)state;
    int rc;
    char *t = check_line("listen", NULL, "http//host/x", URL_ANY, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(t, "evcat: listen: 'http//host/x' is not a URL: missing ':' after 'http'?\n");
    free(t);
    t = check_line("bench", "--publish", "htp://h/publish", URL_SSE, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(t, "evcat: bench: --publish 'htp://h/publish': unknown scheme 'htp'; did "
                           "you mean 'http'?\n");
    free(t);
    t = check_line("ws", NULL, "ws//user:secret@host/", URL_WEBSOCKET, &rc);
    assert_int_equal(rc, -1);
    assert_null(strstr(t, "secret"));
    assert_non_null(strstr(t, "'ws//user:***@host/'"));
    free(t);
    t = check_line("ws", NULL, "htps://user:secret@host/", URL_SSE, &rc);
    assert_null(strstr(t, "secret"));
    free(t);
    t = check_line("ws", NULL, "ws://host/", URL_WEBSOCKET, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(t, "");
    free(t);
}

static void expect_lowered(const char *in, const char *want)
{
    char b[64];
    snprintf(b, sizeof b, "%s", in);
    url_scheme_lower(b);
    assert_string_equal(b, want);
}

static void test_scheme_lower(void **state)
{
    (void)state;
    expect_lowered("HTTP://Host/Path", "http://Host/Path");
    expect_lowered("Wss://H", "wss://H");
    expect_lowered("svn+SSH://h", "svn+ssh://h");
    expect_lowered("HTTP//host", "HTTP//host");       /* no "://": a typo, left for url_typo */
    expect_lowered("HOST:80/X://", "HOST:80/X://");   /* "://" not after a scheme */
    expect_lowered("1HTTP://h", "1HTTP://h");         /* a scheme starts with a letter */
    expect_lowered("://h", "://h");
    expect_lowered("", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_scheme_lower),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
