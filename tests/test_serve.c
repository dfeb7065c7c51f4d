/* Unit tests for src/serve.c's pure parts: --listen addresses and their
 * printed form, and the defaults SPEC.md fixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serve.h"

static void test_parse_listen(void **state)
{
    (void)state;
    struct {
        const char *in;
        int rc;
        const char *printed;
    } cases[] = {
        {"127.0.0.1:8080", 0, "127.0.0.1:8080"},
        {"[::1]:8080", 0, "[::1]:8080"},
        {"[::]:0", 0, "[::]:0"},
        {"0.0.0.0:65535", 0, "0.0.0.0:65535"},
        {":9000", 0, "127.0.0.1:9000"},
        {"9000", 0, "127.0.0.1:9000"},
        {"127.0.0.1:65536", -1, NULL},
        {"127.0.0.1:", -1, NULL},
        {"127.0.0.1:80a", -1, NULL},
        {"127.0.0.1:-1", -1, NULL},
        {"::1:8080", -1, NULL},
        {"[::1]8080", -1, NULL},
        {"[::1", -1, NULL},
        {"[nothost]:80", -1, NULL},
        {"999.1.1.1:80", -1, NULL},
        {"", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        int rc = serve_parse_listen(cases[i].in, &ss, &len);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, wanted %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0) {
            char out[80];
            serve_format_addr((struct sockaddr *)&ss, out, sizeof(out));
            assert_string_equal(out, cases[i].printed);
        }
    }
}

static void test_defaults(void **state)
{
    (void)state;
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    char out[80];
    serve_format_addr((struct sockaddr *)&cfg.addr, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:8080");
    assert_int_equal(cfg.tick_ms, 1000);
    assert_int_equal(cfg.retry_ms, 3000);
    assert_int_equal(cfg.history, 1000);
    assert_int_equal(cfg.max_message, 1024 * 1024);
    assert_null(cfg.tls_cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
