/* libFuzzer target for chat_request_parse in src/proto/chat_request.c (the
 * body of every POST /v1/chat/completions evcat serve takes).
 *
 * Input: the request body, handed over as an exact-size copy (not
 * NUL-terminated: ASan sees any read past the end).
 *
 * Invariants, any failure abort()s:
 *   - the result is 0 or -1; -1 leaves the output untouched and says why
 *     (a message, and the name of the parameter at fault, "" for the body);
 *   - 0: the body is a JSON object to cJSON too; max_tokens is 0 or within
 *     1..CHAT_MAX_TOKENS_MAX and is the smaller of the two bounds given as
 *     numbers; the model is valid UTF-8 of at most CHAT_MODEL_MAX bytes and
 *     NUL-terminated; "stream" is not false;
 *   - the same body parsed twice gives the same result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "chat_request.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const uint8_t *data, size_t size, chat_request_t *out, char *msg, size_t msglen,
                 const char **param)
{
    char *copy = xmalloc(size ? size : 1);
    memcpy(copy, data, size);
    int rc = chat_request_parse(copy, size, out, msg, msglen, param);
    free(copy);
    return rc;
}

static uint64_t bound_of(const cJSON *root, const char *name)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, name);
    return cJSON_IsNumber(j) ? (uint64_t)j->valuedouble : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chat_request_t r, r2;
    memset(&r, 0xa5, sizeof(r));
    chat_request_t untouched = r;
    char msg[200] = "", msg2[200] = "";
    const char *param = NULL, *param2 = NULL;
    int rc = parse(data, size, &r, msg, sizeof(msg), &param);
    if (rc != 0 && rc != -1)
        abort();
    memset(&r2, 0xa5, sizeof(r2));
    int rc2 = parse(data, size, &r2, msg2, sizeof(msg2), &param2);
    if (rc2 != rc || (rc == 0 && memcmp(&r, &r2, sizeof(r)) != 0) ||
        (rc != 0 && (strcmp(msg, msg2) != 0 || strcmp(param, param2) != 0)))
        abort();
    if (rc != 0) {
        if (memcmp(&r, &untouched, sizeof(r)) != 0 || !msg[0] || !param)
            abort();
        return 0;
    }
    if (r.max_tokens > CHAT_MAX_TOKENS_MAX)
        abort();
    size_t mlen = strnlen(r.model, sizeof(r.model));
    if (mlen > CHAT_MODEL_MAX || !utf8_valid(r.model, mlen))
        abort();
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!cJSON_IsObject(root))
        abort();
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "stream")))
        abort();
    uint64_t a = bound_of(root, "max_tokens"), b = bound_of(root, "max_completion_tokens");
    uint64_t want = a && b ? (a < b ? a : b) : (a ? a : b);
    if (r.max_tokens != want)
        abort();
    cJSON_Delete(root);
    return 0;
}
