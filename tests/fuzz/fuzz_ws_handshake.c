/* libFuzzer target for src/proto/ws_handshake.c. The input is a server's response
 * to the RFC 6455 example key; the first byte picks max_head and which
 * subprotocols were offered. Checks: the verdict is the same whether the
 * response arrives whole or cut at the head's end, every shorter prefix
 * needs more, errors are one line, and head_len lies within the input.
 * The same bytes, split at NULs, also go through the server's checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_handshake.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static void check_upgrade_fields(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *f[4] = {NULL, NULL, NULL, NULL};
    char *p = copy;
    for (int i = 0; i < 4 && p <= copy + size; i++) {
        f[i] = p;
        p += strlen(p) + 1;
    }
    char acc[WS_ACCEPT_LEN + 1];
    const char *why = NULL;
    bool vo = false;
    int rc = ws_check_upgrade(f[0], f[1], f[2], f[3], acc, &why, &vo);
    CHECK(rc == 0 ? why == NULL && strlen(acc) == WS_ACCEPT_LEN : why != NULL);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const protos[] = {"chat", "v2.evcat"};
    size_t max_head = (data[0] & 0x7f) ? (size_t)(data[0] & 0x7f) * 16 : 0;
    size_t nprotos = (data[0] & 0x80) ? 2 : 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    ws_handshake_result_t res, res2;
    int rc = ws_parse_response(buf, len, max_head, KEY, protos, nprotos, NULL, &res);
    CHECK(rc >= WS_HS_ERR_EXTENSION && rc <= WS_HS_NEED_MORE);
    if (rc < 0) {
        CHECK(res.error[0] && !strchr(res.error, '\n') && strlen(res.error) < sizeof(res.error));
    }
    if (rc == WS_HS_OK || rc == WS_HS_ERR_STATUS) {
        CHECK(res.head_len > 0 && res.head_len <= len);
        int rc2 = ws_parse_response(buf, res.head_len, max_head, KEY, protos, nprotos, NULL, &res2);
        CHECK(rc2 == rc && res2.head_len == res.head_len && res2.status == res.status);
        CHECK(strcmp(res.protocol, res2.protocol) == 0);
        if (res.head_len > 1) {
            rc2 = ws_parse_response(buf, res.head_len - 1, max_head, KEY, protos, nprotos, NULL, &res2);
            CHECK(rc2 == WS_HS_NEED_MORE);
        }
    }
    if (rc == WS_HS_OK)
        CHECK(res.status == 101);
    check_upgrade_fields(data, size);
    return 0;
}
