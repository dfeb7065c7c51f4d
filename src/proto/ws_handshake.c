/* ws_handshake: RFC 6455 section 4, both sides, without I/O. */
#include "ws_handshake.h"
#include "http_request.h"
#include "text.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/evp.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ws_make_key(char *out)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        /* The key is a nonce against confused proxies, not a secret: a
         * failing CSPRNG must not stop a connection. */
        uint64_t a = mono_ns(), b = real_ns();
        memcpy(raw, &a, 8);
        memcpy(raw + 8, &b, 8);
    }
    buf_t b;
    buf_init(&b);
    base64_append(&b, raw, sizeof(raw));
    memcpy(out, b.p, WS_KEY_LEN);
    out[WS_KEY_LEN] = '\0';
    buf_free(&b);
}

void ws_accept_for(const char *key, size_t key_len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, key, key_len) != 1 ||
        EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 20) {
        /* Only when OpenSSL cannot allocate: an accept nobody can match. */
        memset(md, 0, sizeof(md));
        mdlen = 20;
    }
    EVP_MD_CTX_free(ctx);
    buf_t b;
    buf_init(&b);
    base64_append(&b, md, mdlen);
    memcpy(out, b.p, WS_ACCEPT_LEN);
    out[WS_ACCEPT_LEN] = '\0';
    buf_free(&b);
}

/* ---- shared helpers ---- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}


/* Copies s[0..n) into out as one printable line (control bytes as '?'),
 * cut to fit. */
static void printable(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[k] = '\0';
}

/* ---- client ---- */

static bool has_header(const char *const *headers, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strlen(headers[i]) > len && headers[i][len] == ':' && ascii_ieq(headers[i], name, len))
            return true;
    return false;
}

void ws_build_request(buf_t *out, const ws_client_request_t *r, const char *key)
{
    buf_printf(out,
               "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
               r->target && r->target[0] ? r->target : "/", r->host_header, key);
    if (r->origin)
        buf_printf(out, "Origin: %s\r\n", r->origin);
    if (r->nprotocols) {
        buf_puts(out, "Sec-WebSocket-Protocol: ");
        for (size_t i = 0; i < r->nprotocols; i++)
            buf_printf(out, "%s%s", i ? ", " : "", r->protocols[i]);
        buf_puts(out, "\r\n");
    }
    if (r->basic_auth && !has_header(r->headers, r->nheaders, "Authorization")) {
        buf_puts(out, "Authorization: Basic ");
        base64_append(out, r->basic_auth, strlen(r->basic_auth));
        buf_puts(out, "\r\n");
    }
    if (!has_header(r->headers, r->nheaders, "User-Agent"))
        buf_puts(out, "User-Agent: evcat/" EVCAT_VERSION "\r\n");
    for (size_t i = 0; i < r->nheaders; i++)
        buf_printf(out, "%s\r\n", r->headers[i]);
    buf_puts(out, "\r\n");
}

static int fail(ws_handshake_result_t *res, int rc, const char *fmt, const char *arg)
{
    snprintf(res->error, sizeof(res->error), fmt, arg ? arg : "");
    return rc;
}

/* Next line of head[*pos..end): sets *line, *n (without CR LF). */
static bool next_line(const char *head, size_t end, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= end)
        return false;
    const char *p = head + *pos;
    const char *nl = memchr(p, '\n', end - *pos);
    size_t l = nl ? (size_t)(nl - p) : end - *pos;
    *pos += l + (nl ? 1 : 0);
    if (l && p[l - 1] == '\r')
        l--;
    *line = p;
    *n = l;
    return true;
}

int ws_parse_response(const char *buf, size_t len, size_t max_head, const char *key,
                      const char *const *protocols, size_t nprotocols, ws_handshake_result_t *res)
{
    memset(res, 0, sizeof(*res));
    if (max_head == 0)
        max_head = WS_MAX_HEAD_DEFAULT;
    size_t end = http_head_end(buf, 0, len < max_head ? len : max_head);
    if (!end) {
        if (len >= max_head) {
            char n[32];
            snprintf(n, sizeof(n), "%zu", max_head);
            return fail(res, WS_HS_ERR_TOO_BIG, "response head longer than %s bytes", n);
        }
        return WS_HS_NEED_MORE;
    }

    size_t pos = 0;
    const char *line;
    size_t n;
    next_line(buf, end, &pos, &line, &n);
    char shown[100];
    /* "HTTP/1.1 101 Switching Protocols": version, SP, 3 digits, SP reason. */
    if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ' || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
        line[11] < '0' || line[11] > '9' || (n > 12 && line[12] != ' ')) {
        printable(shown, 60, line, n);
        return fail(res, WS_HS_ERR_MALFORMED, "not an HTTP/1.1 response: \"%s\"", shown);
    }
    res->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (res->status != 101) {
        printable(shown, 60, line + 9, n - 9);
        snprintf(res->error, sizeof(res->error), "server answered HTTP %s, not a WebSocket upgrade",
                 shown);
        res->head_len = end;
        return WS_HS_ERR_STATUS;
    }
    if (line[7] != '1')
        return fail(res, WS_HS_ERR_MALFORMED, "101 in an HTTP/1.0 response%s", NULL);

    bool upgrade = false, connection = false;
    const char *accept = NULL, *proto = NULL;
    size_t accept_len = 0, proto_len = 0;
    int naccept = 0, nproto = 0;
    while (next_line(buf, end, &pos, &line, &n) && n > 0) {
        if (is_ows(line[0]))
            return fail(res, WS_HS_ERR_MALFORMED, "folded header line in the response%s", NULL);
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line) {
            printable(shown, 60, line, n);
            return fail(res, WS_HS_ERR_MALFORMED, "malformed header line \"%s\"", shown);
        }
        size_t nlen = (size_t)(colon - line);
        for (size_t i = 0; i < nlen; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c <= ' ' || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c)) {
                printable(shown, 60, line, n);
                return fail(res, WS_HS_ERR_MALFORMED, "malformed header line \"%s\"", shown);
            }
        }
        const char *v = colon + 1, *ve = line + n;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        size_t vlen = (size_t)(ve - v);
#define IS(name) (nlen == sizeof(name) - 1 && ascii_ieq(line, name, nlen))
        if (IS("upgrade")) {
            upgrade = upgrade || http_list_has_token(v, vlen, "websocket");
        } else if (IS("connection")) {
            connection = connection || http_list_has_token(v, vlen, "upgrade");
        } else if (IS("sec-websocket-accept")) {
            accept = v, accept_len = vlen, naccept++;
        } else if (IS("sec-websocket-protocol")) {
            proto = v, proto_len = vlen, nproto++;
        } else if (IS("sec-websocket-extensions")) {
            printable(shown, 60, v, vlen);
            return fail(res, WS_HS_ERR_EXTENSION,
                        "server enabled extension \"%s\" that was not offered", shown);
        }
#undef IS
    }
    if (!upgrade)
        return fail(res, WS_HS_ERR_UPGRADE, "101 response without Upgrade: websocket%s", NULL);
    if (!connection)
        return fail(res, WS_HS_ERR_UPGRADE, "101 response without Connection: Upgrade%s", NULL);
    if (naccept == 0)
        return fail(res, WS_HS_ERR_ACCEPT, "101 response without Sec-WebSocket-Accept%s", NULL);
    char want[WS_ACCEPT_LEN + 1];
    ws_accept_for(key, strlen(key), want);
    if (naccept > 1 || accept_len != WS_ACCEPT_LEN || memcmp(accept, want, WS_ACCEPT_LEN) != 0) {
        printable(shown, 40, accept, accept_len);
        return fail(res, WS_HS_ERR_ACCEPT,
                    "wrong Sec-WebSocket-Accept \"%s\" (not derived from our key)", shown);
    }
    if (nproto) {
        printable(shown, 60, proto, proto_len);
        if (nproto > 1)
            return fail(res, WS_HS_ERR_PROTOCOL, "server chose more than one subprotocol%s", NULL);
        size_t i;
        for (i = 0; i < nprotocols; i++)
            if (strlen(protocols[i]) == proto_len && memcmp(protocols[i], proto, proto_len) == 0)
                break;
        if (i == nprotocols || proto_len >= sizeof(res->protocol))
            return fail(res, WS_HS_ERR_PROTOCOL,
                        nprotocols ? "server chose subprotocol \"%s\", which was not offered"
                                   : "server chose subprotocol \"%s\" although none was offered",
                        shown);
        memcpy(res->protocol, proto, proto_len);
        res->protocol[proto_len] = '\0';
    }
    res->head_len = end;
    return WS_HS_OK;
}

/* ---- server ---- */

int ws_check_upgrade(const char *upgrade, const char *connection, const char *version,
                     const char *key, char *accept_out, const char **why, bool *version_only)
{
    *version_only = false;
    if (!upgrade || !http_list_has_token(upgrade, strlen(upgrade), "websocket")) {
        *why = "not a WebSocket upgrade (Upgrade: websocket missing)";
        return -1;
    }
    if (!connection || !http_list_has_token(connection, strlen(connection), "upgrade")) {
        *why = "Connection: Upgrade missing";
        return -1;
    }
    buf_t raw;
    buf_init(&raw);
    size_t klen = key ? strlen(key) : 0;
    bool key_ok = key && klen == WS_KEY_LEN && base64_decode(&raw, key, klen) == 0 && raw.len == 16;
    buf_free(&raw);
    if (!key_ok) {
        *why = key ? "Sec-WebSocket-Key is not 16 bytes in base64" : "Sec-WebSocket-Key missing";
        return -1;
    }
    if (!version || strcmp(version, "13") != 0) {
        *why = version ? "unsupported Sec-WebSocket-Version (only 13 is)"
                       : "Sec-WebSocket-Version missing (13 is supported)";
        *version_only = true;
        return -1;
    }
    ws_accept_for(key, klen, accept_out);
    *why = NULL;
    return 0;
}

void ws_build_101(buf_t *out, const char *accept, const char *protocol)
{
    buf_printf(out,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n",
               accept);
    if (protocol && protocol[0])
        buf_printf(out, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    buf_puts(out, "\r\n");
}
