/* chat_request: the body of a chat completions request (see chat_request.h). */
#include "chat_request.h"

#include "text.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static int refuse(char *msg, size_t msglen, const char **param, const char *name, const char *why)
{
    snprintf(msg, msglen, "%s", why);
    *param = name;
    return -1;
}

/* A token bound: absent or null leaves *v; else a whole number in range. */
static int token_bound(const cJSON *root, const char *name, uint64_t *v, char *msg, size_t msglen,
                       const char **param)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!j || cJSON_IsNull(j))
        return 0;
    char why[160];
    double d = cJSON_IsNumber(j) ? j->valuedouble : NAN;
    if (!cJSON_IsNumber(j) || d != floor(d)) {
        snprintf(why, sizeof(why), "'%s' must be an integer", name);
        return refuse(msg, msglen, param, name, why);
    }
    if (!(d >= 1 && d <= CHAT_MAX_TOKENS_MAX)) {
        snprintf(why, sizeof(why), "'%s' must be from 1 to %u", name, CHAT_MAX_TOKENS_MAX);
        return refuse(msg, msglen, param, name, why);
    }
    uint64_t n = (uint64_t)d;
    if (*v == 0 || n < *v)
        *v = n;
    return 0;
}

static int check_members(const cJSON *root, chat_request_t *out, char *msg, size_t msglen,
                         const char **param)
{
    if (token_bound(root, "max_tokens", &out->max_tokens, msg, msglen, param) < 0 ||
        token_bound(root, "max_completion_tokens", &out->max_tokens, msg, msglen, param) < 0)
        return -1;
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream))
        return refuse(msg, msglen, param, "stream", "'stream' must be a boolean");
    if (cJSON_IsFalse(stream))
        return refuse(msg, msglen, param, "stream",
                      "this server answers with a stream only: 'stream' must be true or absent");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsNull(model)) {
        const char *s = cJSON_IsString(model) ? model->valuestring : NULL;
        size_t n = s ? strlen(s) : 0;
        if (!s || n > CHAT_MODEL_MAX || !utf8_valid(s, n)) {
            char why[120];
            snprintf(why, sizeof(why), "'model' must be a UTF-8 string of at most %d bytes",
                     CHAT_MODEL_MAX);
            return refuse(msg, msglen, param, "model", why);
        }
        memcpy(out->model, s, n + 1);
    }
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (messages && !cJSON_IsArray(messages))
        return refuse(msg, msglen, param, "messages", "'messages' must be an array");
    return 0;
}

int chat_request_parse(const char *body, size_t len, chat_request_t *out, char *msg, size_t msglen,
                       const char **param)
{
    chat_request_t r;
    memset(&r, 0, sizeof(r));
    const char *end = NULL;
    cJSON *root = len ? cJSON_ParseWithLengthOpts(body, len, &end, false) : NULL;
    if (root) { /* nothing but white space after the value */
        while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
    }
    int rc;
    if (!root || end != body + len)
        rc = refuse(msg, msglen, param, "",
                    len ? "the body is not valid JSON"
                        : "the body is empty: a JSON object is "
                          "expected");
    else if (!cJSON_IsObject(root))
        rc = refuse(msg, msglen, param, "", "the body must be a JSON object");
    else
        rc = check_members(root, &r, msg, msglen, param);
    cJSON_Delete(root);
    if (rc == 0)
        *out = r;
    return rc;
}
