/* libFuzzer target for stamp_json_u64 in src/proto/stamp.c (the latency field of
 * every SSE event and WebSocket subscribe message).
 *
 * Input: the first byte picks the field name from a small table, the rest
 * is the text, handed over as an exact-size copy (not NUL-terminated: ASan
 * sees any read past the end).
 *
 * Invariants, any failure abort()s:
 *   - a miss leaves *value untouched;
 *   - a hit has the quoted field in the text, followed (after spaces and a
 *     colon) by the value's decimal digits;
 *   - a complete string put in front (`"zz" `) changes nothing, nor does a
 *     '}' appended at the end;
 *   - against cJSON: when the text is a JSON object whose member `field` is
 *     an integer below 2^53 and the quoted field occurs once in the text,
 *     the value is found and equal, unless it is written with a sign, a
 *     fraction or an exponent (or the text has a backslash, or bytes that
 *     cJSON but not JSON takes for spaces around the number). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "stamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fields[] = {"ts_ns", "t", "seq", "", "ts_ns_", "sent at"};

static int find(const char *text, size_t len, const char *field, uint64_t *v)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = stamp_json_u64(copy, len, field, v);
    free(copy);
    return rc;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Occurrences of `"field"` in text. */
static size_t count_key(const char *text, size_t len, const char *key, size_t klen,
                        const char **first)
{
    size_t n = 0;
    *first = NULL;
    for (const char *p = text; (size_t)(text + len - p) >= klen;) {
        const char *q = memmem(p, (size_t)(text + len - p), key, klen);
        if (!q)
            break;
        if (!n)
            *first = q;
        n++;
        p = q + 1;
    }
    return n;
}

/* Some occurrence of the key is followed by a colon and v's digits. */
static bool has_value(const char *text, size_t len, const char *key, size_t klen, uint64_t v)
{
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    const char *end = text + len;
    for (const char *p = text; (size_t)(end - p) >= klen;) {
        const char *q = memmem(p, (size_t)(end - p), key, klen);
        if (!q)
            return false;
        const char *s = q + klen;
        while (s < end && is_space(*s))
            s++;
        if (s < end && *s == ':') {
            s++;
            while (s < end && is_space(*s))
                s++;
            if (s < end && *s == '"')
                s++;
            while (s + 1 < end && *s == '0' && s[1] >= '0' && s[1] <= '9')
                s++; /* leading zeros */
            if ((size_t)(end - s) >= (size_t)nd && memcmp(s, digits, (size_t)nd) == 0)
                return true;
        }
        p = q + 1;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *field = fields[data[0] % (sizeof(fields) / sizeof(fields[0]))];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    char key[16];
    size_t klen = (size_t)snprintf(key, sizeof(key), "\"%s\"", field);

    uint64_t v = 0x5eed, v2 = 0x5eed;
    int rc = find(text, len, field, &v);
    if (rc != 0 && rc != -1)
        abort();
    if (rc != 0 && v != 0x5eed)
        abort();
    if (rc == 0 && !has_value(text, len, key, klen, v))
        abort();

    /* A string in front: the walk is still between strings after it. */
    if (strcmp(field, "zz") != 0) {
        char *pre = xmalloc(len + 5);
        memcpy(pre, "\"zz\" ", 5);
        memcpy(pre + 5, text, len);
        int rc2 = find(pre, len + 5, field, &v2);
        free(pre);
        if (rc2 != rc || (rc == 0 && v2 != v))
            abort();
    }
    /* A '}' after it: ends a number the input ended, touches nothing else. */
    {
        char *post = xmalloc(len + 1);
        memcpy(post, text, len);
        post[len] = '}';
        v2 = 0x5eed;
        int rc2 = find(post, len + 1, field, &v2);
        free(post);
        if (rc2 != rc || (rc == 0 && v2 != v))
            abort();
    }

    /* cJSON as the reference where both must agree. Without any backslash
     * (an escaped key cJSON would decode, a quote that is not what it
     * seems), the one occurrence of the quoted field is the member's key.
     * Without any NUL either: cJSON's strings end at one, so a key
     * "\0\0{" is "" to it (found by CI's fuzz run: {"\0..{":6}"":3). */
    const char *first;
    if (memchr(text, '\\', len) || memchr(text, '\0', len) ||
        count_key(text, len, key, klen, &first) != 1)
        return 0;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return 0;
    const cJSON *item = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, field) : NULL;
    if (item && cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (d >= 0 && d < 9007199254740992.0 && d == (double)(uint64_t)d) {
            /* The number as written: after the key, spaces, colon, spaces.
             * cJSON takes any byte <= 0x20 for a space: compare only where
             * the text around the number is strict JSON. */
            const char *s = first + klen, *end = text + len;
            while (s < end && is_space(*s))
                s++;
            bool plain = s < end && *s == ':';
            if (plain)
                s++;
            while (s < end && is_space(*s))
                s++;
            for (; s < end && *s && strchr("0123456789+-.eE", *s); s++)
                if (*s < '0' || *s > '9')
                    plain = false;
            if (s < end && !is_space(*s) && *s != ',' && *s != '}' && *s != ']')
                plain = false;
            if (plain && (rc != 0 || v != (uint64_t)d))
                abort();
        }
    }
    cJSON_Delete(root);
    return 0;
}
