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

/* Whether a -H header names name, in any of curl's forms: "Name: value"
 * (sent instead of ours), "Name:" (ours removed, nothing sent), "Name;"
 * (sent with an empty value). */
static bool has_header(const char *const *headers, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (http_user_header_named(headers[i], name))
            return true;
    return false;
}

void ws_build_request(buf_t *out, const ws_client_request_t *r, const char *key)
{
    buf_printf(out, "GET %s HTTP/1.1\r\n", r->target && r->target[0] ? r->target : "/");
    if (!has_header(r->headers, r->nheaders, "Host"))
        buf_printf(out, "Host: %s\r\n", r->host_header);
    buf_printf(out,
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n",
               key);
    if (r->origin && !has_header(r->headers, r->nheaders, "Origin"))
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
    if (r->deflate) {
        buf_puts(out, "Sec-WebSocket-Extensions: ");
        ws_pmd_offer_format(out, r->deflate);
        buf_puts(out, "\r\n");
    }
    if (!has_header(r->headers, r->nheaders, "User-Agent"))
        buf_puts(out, "User-Agent: evcat/" EVCAT_VERSION "\r\n");
    for (size_t i = 0; i < r->nheaders; i++)
        http_put_user_header(out, r->headers[i]);
    buf_puts(out, "\r\n");
}

static int fail(ws_handshake_result_t *res, int rc, const char *fmt, const char *arg)
{
    snprintf(res->error, sizeof(res->error), fmt, arg ? arg : "");
    return rc;
}

/* What the response's header lines say, as far as the handshake cares. */
struct resp_headers {
    bool upgrade, connection;
    const char *accept, *proto; /* the last of each, in the response */
    size_t accept_len, proto_len;
    int naccept, nproto, next;
    buf_t ext; /* every Sec-WebSocket-Extensions value, joined with ", " */
};

/* Reads the header lines of head[pos..end) into h. */
static int scan_headers(const char *head, size_t end, size_t pos, struct resp_headers *h,
                        ws_handshake_result_t *res)
{
    const char *line;
    size_t n;
    char shown[100];
    while (http_next_line(head, end, &pos, &line, &n) && n > 0) {
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
            h->upgrade = h->upgrade || http_list_has_token(v, vlen, "websocket");
        } else if (IS("connection")) {
            h->connection = h->connection || http_list_has_token(v, vlen, "upgrade");
        } else if (IS("sec-websocket-accept")) {
            h->accept = v, h->accept_len = vlen, h->naccept++;
        } else if (IS("sec-websocket-protocol")) {
            h->proto = v, h->proto_len = vlen, h->nproto++;
        } else if (IS("sec-websocket-extensions")) {
            if (h->next++)
                buf_puts(&h->ext, ", ");
            buf_append(&h->ext, v, vlen);
        }
#undef IS
    }
    return WS_HS_OK;
}

/* The extensions the server enabled (its Sec-WebSocket-Extensions lines,
 * joined) against our offer. */
static int check_extensions(const struct resp_headers *h, const ws_pmd_offer_t *deflate,
                            ws_handshake_result_t *res)
{
    if (!h->next)
        return WS_HS_OK;
    char why[160];
    int r = ws_pmd_check_response(h->ext.p ? h->ext.p : "", h->ext.len, deflate, &res->pmd, why,
                                  sizeof(why));
    if (r < 0)
        return fail(res, WS_HS_ERR_EXTENSION, "%s", why);
    res->deflate = true;
    return WS_HS_OK;
}

int ws_parse_response(const char *buf, size_t len, size_t max_head, const char *key,
                      const char *const *protocols, size_t nprotocols,
                      const ws_pmd_offer_t *deflate, ws_handshake_result_t *res)
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
    http_next_line(buf, end, &pos, &line, &n);
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

    struct resp_headers h;
    memset(&h, 0, sizeof(h));
    buf_init(&h.ext);
    int rc = scan_headers(buf, end, pos, &h, res);
    if (rc == WS_HS_OK)
        rc = check_extensions(&h, deflate, res);
    buf_free(&h.ext);
    if (rc != WS_HS_OK)
        return rc;
    bool upgrade = h.upgrade, connection = h.connection;
    const char *accept = h.accept, *proto = h.proto;
    size_t accept_len = h.accept_len, proto_len = h.proto_len;
    int naccept = h.naccept, nproto = h.nproto;
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

void ws_build_101(buf_t *out, const char *accept, const char *protocol, const char *extensions)
{
    buf_printf(out,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n",
               accept);
    if (protocol && protocol[0])
        buf_printf(out, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    if (extensions && extensions[0])
        buf_printf(out, "Sec-WebSocket-Extensions: %s\r\n", extensions);
    buf_puts(out, "\r\n");
}

/* ---- permessage-deflate negotiation ---- */

/* The syntax of Sec-WebSocket-Extensions (RFC 6455 9.1):
 *   extension-list = 1#extension
 *   extension      = token *( ";" extension-param )
 *   extension-param = token [ "=" (token | quoted-string) ]
 * with optional white space around the separators; a quoted value must be
 * a token once unescaped. Values are kept only as far as a window size
 * needs (longer ones are marked, and are never valid). */
#define EXT_MAX_PARAMS 8
#define EXT_VALUE_MAX  8

struct ext_param {
    const char *name;
    size_t nlen;
    bool has_value;
    bool value_long; /* longer than value[] holds */
    char value[EXT_VALUE_MAX + 1];
};

struct ext_elem {
    const char *name;
    size_t nlen;
    struct ext_param params[EXT_MAX_PARAMS];
    size_t nparams;
    bool too_many; /* more parameters than params[] holds */
};

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && is_ows(*p))
        p++;
    return p;
}

static const char *skip_token(const char *p, const char *end)
{
    while (p < end && http_is_tchar((unsigned char)*p))
        p++;
    return p;
}

static void value_put(struct ext_param *x, size_t *k, char c)
{
    if (*k < EXT_VALUE_MAX)
        x->value[(*k)++] = c;
    else
        x->value_long = true;
    x->value[*k] = '\0';
}

/* A parameter's value after "=": a token or a quoted string. Returns where
 * it ends, or NULL when it is malformed. */
static const char *param_value(const char *p, const char *end, struct ext_param *x)
{
    size_t k = 0;
    x->has_value = true;
    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\' && ++p == end)
                return NULL;
            if (!http_is_tchar((unsigned char)*p))
                return NULL; /* unescaped, it must be a token */
            value_put(x, &k, *p);
        }
        if (p == end || k == 0)
            return NULL;
        return p + 1;
    }
    const char *v = p;
    p = skip_token(p, end);
    if (p == v)
        return NULL;
    for (; v < p; v++)
        value_put(x, &k, *v);
    return p;
}

/* The next element of the list at *pp (empty elements are skipped, as
 * the list syntax allows). Returns 1 with *e, 0 at the end, -1 when the
 * text is not an extension list. */
static int ext_next(const char **pp, const char *end, struct ext_elem *e)
{
    const char *p = *pp;
    for (;;) {
        p = skip_ows(p, end);
        if (p < end && *p == ',')
            p++;
        else
            break;
    }
    if (p == end)
        return 0;
    memset(e, 0, sizeof(*e));
    e->name = p;
    p = skip_token(p, end);
    if (p == e->name)
        return -1;
    e->nlen = (size_t)(p - e->name);
    for (;;) {
        p = skip_ows(p, end);
        if (p == end || *p == ',')
            break;
        if (*p != ';')
            return -1;
        struct ext_param x;
        memset(&x, 0, sizeof(x));
        x.name = p = skip_ows(p + 1, end);
        p = skip_token(p, end);
        if (p == x.name)
            return -1;
        x.nlen = (size_t)(p - x.name);
        p = skip_ows(p, end);
        if (p < end && *p == '=' && !(p = param_value(skip_ows(p + 1, end), end, &x)))
            return -1;
        if (e->nparams < EXT_MAX_PARAMS)
            e->params[e->nparams++] = x;
        else
            e->too_many = true;
    }
    *pp = p;
    return 1;
}

static bool is_pmd(const struct ext_elem *e)
{
    return e->nlen == 18 && ascii_ieq(e->name, "permessage-deflate", 18);
}

/* The parameters, in the order of seen[] below. */
enum { P_SNCT, P_CNCT, P_SMWB, P_CMWB, P_COUNT };
static const char *const pmd_param_names[P_COUNT] = {
    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
    "client_max_window_bits"};

/* A window size: "8" to "15", no leading zero. 0 when it is not one. */
static unsigned window_bits(const struct ext_param *x)
{
    const char *v = x->value;
    if (x->value_long)
        return 0;
    if (v[0] >= '8' && v[0] <= '9' && !v[1])
        return (unsigned)(v[0] - '0');
    if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && !v[2])
        return 10u + (unsigned)(v[1] - '0');
    return 0;
}

/* One element's parameters, as given (bits[] 0: none; for
 * client_max_window_bits in an offer, WS_PMD_BITS_ANY: without a value).
 * Returns 0, or -1 with err naming what is wrong. */
static int pmd_params(const struct ext_elem *e, bool offer, bool seen[P_COUNT],
                      unsigned bits[P_COUNT], char *err, size_t errlen)
{
    memset(seen, 0, P_COUNT * sizeof(*seen));
    memset(bits, 0, P_COUNT * sizeof(*bits));
    if (e->too_many) {
        snprintf(err, errlen, "permessage-deflate with more than %d parameters", EXT_MAX_PARAMS);
        return -1;
    }
    for (size_t i = 0; i < e->nparams; i++) {
        const struct ext_param *x = &e->params[i];
        int k = 0;
        while (k < P_COUNT && !(strlen(pmd_param_names[k]) == x->nlen &&
                                ascii_ieq(x->name, pmd_param_names[k], x->nlen)))
            k++;
        char name[40];
        printable(name, sizeof(name), x->name, x->nlen);
        if (k == P_COUNT) {
            snprintf(err, errlen, "unknown permessage-deflate parameter \"%s\"", name);
            return -1;
        }
        if (seen[k]) {
            snprintf(err, errlen, "permessage-deflate parameter %s given twice", name);
            return -1;
        }
        seen[k] = true;
        if (k == P_SNCT || k == P_CNCT) {
            if (x->has_value) {
                snprintf(err, errlen, "permessage-deflate parameter %s takes no value", name);
                return -1;
            }
            continue;
        }
        if (!x->has_value && k == P_CMWB && offer) {
            bits[k] = WS_PMD_BITS_ANY;
            continue;
        }
        bits[k] = x->has_value ? window_bits(x) : 0;
        if (!bits[k]) {
            snprintf(err, errlen, "permessage-deflate %s%s%s%s is not a window size from 8 to 15",
                     name, x->has_value ? "=" : " without a value", x->value,
                     x->value_long ? "..." : "");
            return -1;
        }
    }
    return 0;
}

void ws_pmd_offer_format(buf_t *out, const ws_pmd_offer_t *o)
{
    buf_puts(out, "permessage-deflate");
    if (o->server_no_context_takeover)
        buf_puts(out, "; server_no_context_takeover");
    if (o->client_no_context_takeover)
        buf_puts(out, "; client_no_context_takeover");
    if (o->server_max_window_bits)
        buf_printf(out, "; server_max_window_bits=%u", o->server_max_window_bits);
    if (o->client_max_window_bits == WS_PMD_BITS_ANY)
        buf_puts(out, "; client_max_window_bits");
    else if (o->client_max_window_bits)
        buf_printf(out, "; client_max_window_bits=%u", o->client_max_window_bits);
}

/* The answer to our offer o, against RFC 7692 7.1: fills *a, or -1. */
static int pmd_answer(const struct ext_elem *e, const ws_pmd_offer_t *o, ws_pmd_params_t *a,
                      char *err, size_t errlen)
{
    bool seen[P_COUNT];
    unsigned bits[P_COUNT];
    if (pmd_params(e, false, seen, bits, err, errlen) < 0)
        return -1;
    const char *why = NULL;
    if (o->server_no_context_takeover && !seen[P_SNCT])
        why = "without the server_no_context_takeover offered";
    else if (o->server_max_window_bits && !seen[P_SMWB])
        why = "without the server_max_window_bits offered";
    else if (o->server_max_window_bits && bits[P_SMWB] > o->server_max_window_bits)
        why = "with a server_max_window_bits larger than offered";
    else if (seen[P_CMWB] && !o->client_max_window_bits)
        why = "with a client_max_window_bits that was not offered";
    else if (seen[P_CMWB] && o->client_max_window_bits != WS_PMD_BITS_ANY &&
             bits[P_CMWB] > o->client_max_window_bits)
        why = "with a client_max_window_bits larger than offered";
    if (why) {
        snprintf(err, errlen, "server accepted permessage-deflate %s", why);
        return -1;
    }
    ws_pmd_params_default(a);
    a->server_no_context_takeover = seen[P_SNCT];
    a->client_no_context_takeover = seen[P_CNCT];
    if (seen[P_SMWB])
        a->server_max_window_bits = (uint8_t)bits[P_SMWB];
    if (seen[P_CMWB])
        a->client_max_window_bits = (uint8_t)bits[P_CMWB];
    return 0;
}

int ws_pmd_check_response(const char *v, size_t n, const ws_pmd_offer_t *o,
                          ws_pmd_params_t *agreed, char *err, size_t errlen)
{
    const char *p = v, *end = v + n;
    struct ext_elem e;
    char shown[64];
    int found = 0, r;
    while ((r = ext_next(&p, end, &e)) == 1) {
        printable(shown, sizeof(shown), e.name, e.nlen);
        if (!o || !is_pmd(&e)) {
            snprintf(err, errlen, "server enabled extension \"%s\" that was not offered", shown);
            return -1;
        }
        if (found) {
            snprintf(err, errlen, "server enabled permessage-deflate more than once");
            return -1;
        }
        if (pmd_answer(&e, o, agreed, err, errlen) < 0)
            return -1;
        found = 1;
    }
    if (r < 0 || !found) {
        /* The list's syntax is 1#extension: empty is malformed too. */
        printable(shown, sizeof(shown), v, n);
        snprintf(err, errlen, "malformed Sec-WebSocket-Extensions \"%s\"", shown);
        return -1;
    }
    return 1;
}

/* The server's answer to one offer (RFC 7692 7.1): what it agrees to and
 * the response's parameters. */
static void pmd_agree(const bool seen[P_COUNT], const unsigned bits[P_COUNT], bool lean,
                      ws_pmd_params_t *a, buf_t *resp)
{
    ws_pmd_params_default(a);
    a->server_no_context_takeover = seen[P_SNCT];
    a->client_no_context_takeover = seen[P_CNCT];
    buf_puts(resp, "permessage-deflate");
    if (seen[P_SNCT])
        buf_puts(resp, "; server_no_context_takeover");
    if (seen[P_CNCT])
        buf_puts(resp, "; client_no_context_takeover");
    /* Our own window: as offered, else narrowed where we keep a context
     * (which the RFC lets a server announce unasked). */
    unsigned sb = seen[P_SMWB] ? bits[P_SMWB] : WS_PMD_MAX_BITS;
    if (lean && !seen[P_SNCT] && sb > WS_PMD_LEAN_BITS)
        sb = WS_PMD_LEAN_BITS;
    a->server_max_window_bits = (uint8_t)sb;
    if (seen[P_SMWB] || sb != WS_PMD_MAX_BITS)
        buf_printf(resp, "; server_max_window_bits=%u", sb);
    /* The client's window: only where the offer has the parameter (a
     * client without it cannot honour one). */
    if (seen[P_CMWB]) {
        unsigned cb = bits[P_CMWB] == WS_PMD_BITS_ANY ? WS_PMD_MAX_BITS : bits[P_CMWB];
        if (lean && !seen[P_CNCT] && cb > WS_PMD_LEAN_BITS)
            cb = WS_PMD_LEAN_BITS;
        a->client_max_window_bits = (uint8_t)cb;
        if (cb != WS_PMD_MAX_BITS || bits[P_CMWB] != WS_PMD_BITS_ANY)
            buf_printf(resp, "; client_max_window_bits=%u", cb);
    }
}

int ws_pmd_accept(const char *v, size_t n, unsigned flags, ws_pmd_params_t *agreed, buf_t *resp)
{
    const char *p = v, *end = v + n;
    struct ext_elem e;
    int r;
    while ((r = ext_next(&p, end, &e)) == 1)
        ;
    if (r < 0)
        return 0;
    p = v;
    while (ext_next(&p, end, &e) == 1) {
        bool seen[P_COUNT];
        unsigned bits[P_COUNT];
        char why[120];
        if (!is_pmd(&e) || pmd_params(&e, true, seen, bits, why, sizeof(why)) < 0)
            continue;
        pmd_agree(seen, bits, flags & WS_PMD_LEAN, agreed, resp);
        return 1;
    }
    return 0;
}
