/* Unit tests for src/proto/chat_request.c: the chat completions request
 * bodies evcat serve takes (the bounds, the model, stream) and the ones it
 * refuses, with OpenAI's kind of message and the parameter at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "chat_request.h"

static void test_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        uint64_t max_tokens;
        const char *model;
    } cases[] = {
        {"{}", 0, ""},
        {" {\"max_tokens\":20} \n", 20, ""},
        {"{\"max_tokens\":null,\"stream\":null,\"model\":null}", 0, ""},
        {"{\"max_completion_tokens\":7}", 7, ""},
        {"{\"max_tokens\":9,\"max_completion_tokens\":7}", 7, ""},
        {"{\"max_tokens\":5,\"max_completion_tokens\":70}", 5, ""},
        {"{\"max_tokens\":1e3}", 1000, ""},
        {"{\"max_tokens\":1000000000}", 1000000000, ""},
        {"{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"
         "\"hi\"}],"
         "\"temperature\":0.2}",
         0, "gpt-4o"},
        {"{\"model\":\"caf\\u00e9\"}", 0, "caf\xc3\xa9"},
        {"{\"messages\":[]}", 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chat_request_t r;
        char msg[200] = "";
        const char *param = NULL;
        if (chat_request_parse(cases[i].body, strlen(cases[i].body), &r, msg, sizeof(msg),
                               &param) != 0)
            fail_msg("'%s' refused: %s", cases[i].body, msg);
        assert_int_equal(r.max_tokens, cases[i].max_tokens);
        assert_string_equal(r.model, cases[i].model);
    }
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *param;
        const char *msg; /* a part of the message */
    } cases[] = {
        {"", "", "empty"},
        {"nope", "", "not valid JSON"},
        {"{\"max_tokens\":3", "", "not valid JSON"},
        {"{} {}", "", "not valid JSON"},
        {"[1]", "", "JSON object"},
        {"\"x\"", "", "JSON object"},
        {"{\"max_tokens\":0}", "max_tokens", "from 1 to"},
        {"{\"max_tokens\":-4}", "max_tokens", "from 1 to"},
        {"{\"max_tokens\":1000000001}", "max_tokens", "from 1 to"},
        {"{\"max_tokens\":2.5}", "max_tokens", "integer"},
        {"{\"max_tokens\":\"20\"}", "max_tokens", "integer"},
        {"{\"max_completion_tokens\":true}", "max_completion_tokens", "integer"},
        {"{\"stream\":false}", "stream", "stream only"},
        {"{\"stream\":\"yes\"}", "stream", "boolean"},
        {"{\"model\":5}", "model", "UTF-8 string"},
        {"{\"model\":\"\xff\"}", "model", "UTF-8 string"},
        {"{\"messages\":\"hi\"}", "messages", "array"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chat_request_t r;
        memset(&r, 0x5a, sizeof(r));
        chat_request_t before = r;
        char msg[200] = "";
        const char *param = NULL;
        if (chat_request_parse(cases[i].body, strlen(cases[i].body), &r, msg, sizeof(msg),
                               &param) != -1)
            fail_msg("'%s' accepted", cases[i].body);
        assert_non_null(param);
        assert_string_equal(param, cases[i].param);
        if (!strstr(msg, cases[i].msg))
            fail_msg("'%s': '%s' does not say '%s'", cases[i].body, msg, cases[i].msg);
        assert_null(strchr(msg, '\n'));
        assert_memory_equal(&r, &before, sizeof(r)); /* untouched */
    }
    /* a model name over the bound */
    char big[400];
    int n = snprintf(big, sizeof(big), "{\"model\":\"%0*d\"}", CHAT_MODEL_MAX + 1, 0);
    chat_request_t r;
    char msg[200];
    const char *param = NULL;
    assert_int_equal(chat_request_parse(big, (size_t)n, &r, msg, sizeof(msg), &param), -1);
    assert_string_equal(param, "model");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
