/* Unit tests for src/proto/ws_handshake.c: keys, the request, response checks
 * (whole and byte by byte), the server's upgrade checks and its 101. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ws_handshake.h"
#include "text.h"

/* RFC 6455 section 1.3. */
#define RFC_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void test_rfc_example(void **state)
{
    (void)state;
    char out[WS_ACCEPT_LEN + 1];
    ws_accept_for(RFC_KEY, strlen(RFC_KEY), out);
    assert_string_equal(out, RFC_ACCEPT);
}

static void test_make_key(void **state)
{
    (void)state;
    char a[WS_KEY_LEN + 1], b[WS_KEY_LEN + 1];
    ws_make_key(a);
    ws_make_key(b);
    assert_int_equal(strlen(a), WS_KEY_LEN);
    assert_string_not_equal(a, b);
    buf_t raw;
    buf_init(&raw);
    assert_int_equal(base64_decode(&raw, a, strlen(a)), 0);
    assert_int_equal(raw.len, 16);
    buf_free(&raw);
    /* A server accepts what we generate. */
    char acc[WS_ACCEPT_LEN + 1];
    const char *why = NULL;
    bool vo;
    assert_int_equal(ws_check_upgrade("websocket", "Upgrade", "13", a, acc, &why, &vo), 0);
}

static void test_build_request(void **state)
{
    (void)state;
    const char *protos[] = {"chat", "superchat"};
    const char *hdrs[] = {"X-Trace: 1", "User-Agent: mine"};
    ws_client_request_t r = {
        .host_header = "example.com:8080",
        .target = "/chat?room=1",
        .origin = "http://example.com",
        .protocols = protos,
        .nprotocols = 2,
        .headers = hdrs,
        .nheaders = 2,
        .basic_auth = "Aladdin:open sesame",
    };
    buf_t b;
    buf_init(&b);
    ws_build_request(&b, &r, RFC_KEY);
    assert_non_null(strstr(b.p, "GET /chat?room=1 HTTP/1.1\r\n"));
    assert_ptr_equal(strstr(b.p, "GET "), b.p);
    assert_non_null(strstr(b.p, "\r\nHost: example.com:8080\r\n"));
    assert_non_null(strstr(b.p, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(b.p, "\r\nConnection: Upgrade\r\n"));
    assert_non_null(strstr(b.p, "\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"));
    assert_non_null(strstr(b.p, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(b.p, "\r\nOrigin: http://example.com\r\n"));
    assert_non_null(strstr(b.p, "\r\nSec-WebSocket-Protocol: chat, superchat\r\n"));
    assert_non_null(strstr(b.p, "\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
    assert_non_null(strstr(b.p, "\r\nX-Trace: 1\r\n"));
    assert_non_null(strstr(b.p, "\r\nUser-Agent: mine\r\n"));
    assert_null(strstr(b.p, "evcat/"));
    assert_null(strstr(b.p, "Extensions"));
    assert_int_equal(strcmp(b.p + b.len - 4, "\r\n\r\n"), 0);
    assert_ptr_equal(strstr(b.p, "\r\n\r\n"), b.p + b.len - 4); /* one blank line, at the end */

    /* Minimal: no origin, protocols or auth; our User-Agent; "/" target. */
    ws_client_request_t m = {.host_header = "h", .target = ""};
    buf_reset(&b);
    ws_build_request(&b, &m, RFC_KEY);
    assert_non_null(strstr(b.p, "GET / HTTP/1.1\r\n"));
    assert_non_null(strstr(b.p, "\r\nUser-Agent: evcat/"));
    assert_null(strstr(b.p, "Origin"));
    assert_null(strstr(b.p, "Protocol"));
    assert_null(strstr(b.p, "Authorization"));

    /* -H in curl's forms: a header of ours named is sent once, the user's;
     * "Name:" removes ours; "Name;" is sent empty. */
    const char *forms[] = {"Host: example.test", "Origin:", "User-Agent;", "Authorization:"};
    ws_client_request_t f = {.host_header = "h:1", .origin = "http://o", .headers = forms,
                             .nheaders = 4, .basic_auth = "u:p"};
    buf_reset(&b);
    ws_build_request(&b, &f, RFC_KEY);
    assert_non_null(strstr(b.p, "\r\nHost: example.test\r\n"));
    assert_null(strstr(b.p, "Host: h:1"));
    assert_null(strstr(b.p, "Origin"));
    assert_non_null(strstr(b.p, "\r\nUser-Agent:\r\n"));
    assert_null(strstr(b.p, "evcat/"));
    assert_null(strstr(b.p, "Authorization"));
    buf_free(&b);
}

#define OK_HEAD                                                                                    \
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"            \
    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"

struct resp_case {
    const char *name;
    const char *resp;
    int rc;
    const char *protocol; /* for OK */
    const char *error;    /* substring of res.error for errors */
};

static const char *const offered[] = {"chat", "v2.evcat"};

static const struct resp_case resp_cases[] = {
    {"plain", OK_HEAD "\r\n", WS_HS_OK, "", NULL},
    {"case and lists",
     "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, UPGRADE\r\n"
     "sec-websocket-accept:" RFC_ACCEPT "  \r\n\r\n",
     WS_HS_OK, "", NULL},
    {"bare LF",
     "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n"
     "Sec-WebSocket-Accept: " RFC_ACCEPT "\n\n",
     WS_HS_OK, "", NULL},
    {"upgrade token list", OK_HEAD "Upgrade: foo, websocket\r\n\r\n", WS_HS_OK, "", NULL},
    {"no reason",
     "HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
     "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
     WS_HS_OK, "", NULL},
    {"protocol chosen", OK_HEAD "Sec-WebSocket-Protocol: v2.evcat\r\n\r\n", WS_HS_OK, "v2.evcat",
     NULL},
    {"extra headers", OK_HEAD "Server: x\r\nX-Empty:\r\n\r\n", WS_HS_OK, "", NULL},

    {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", WS_HS_ERR_STATUS, NULL,
     "server answered HTTP 404 Not Found, not a WebSocket upgrade"},
    {"200", "HTTP/1.1 200 OK\r\n\r\n", WS_HS_ERR_STATUS, NULL, "HTTP 200 OK,"},
    {"426 1.0", "HTTP/1.0 426 Upgrade Required\r\n\r\n", WS_HS_ERR_STATUS, NULL,
     "HTTP 426 Upgrade Required"},
    {"control bytes in reason", "HTTP/1.1 500 Bad\x01thing\r\n\r\n", WS_HS_ERR_STATUS, NULL,
     "HTTP 500 Bad?thing,"},
    {"not http", "SSH-2.0-OpenSSH\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, "not an HTTP/1.1 response"},
    {"http2", "HTTP/2 101\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, NULL},
    {"bad status digits", "HTTP/1.1 1x1 Switching\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, NULL},
    {"status 4 digits", "HTTP/1.1 1011 Switching\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, NULL},
    {"101 over 1.0", "HTTP/1.0 101 Switching\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, "HTTP/1.0"},
    {"header without colon", OK_HEAD "Broken header\r\n\r\n", WS_HS_ERR_MALFORMED, NULL,
     "malformed header line"},
    {"space before colon", OK_HEAD "X-A : b\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, NULL},
    {"empty name", OK_HEAD ": b\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, NULL},
    {"folded", OK_HEAD "X-A: b\r\n c\r\n\r\n", WS_HS_ERR_MALFORMED, NULL, "folded"},
    {"no upgrade",
     "HTTP/1.1 101 S\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
     WS_HS_ERR_UPGRADE, NULL, "Upgrade: websocket"},
    {"upgrade other",
     "HTTP/1.1 101 S\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
     WS_HS_ERR_UPGRADE, NULL, "Upgrade: websocket"},
    {"upgrade substring only",
     "HTTP/1.1 101 S\r\nUpgrade: websockets\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
     WS_HS_ERR_UPGRADE, NULL, NULL},
    {"no connection",
     "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
     WS_HS_ERR_UPGRADE, NULL, "Connection: Upgrade"},
    {"connection without token",
     "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: keep-alive, upgrades\r\n"
     "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
     WS_HS_ERR_UPGRADE, NULL, "Connection: Upgrade"},
    {"no accept", "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
     WS_HS_ERR_ACCEPT, NULL, "without Sec-WebSocket-Accept"},
    {"wrong accept",
     "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n\r\n",
     WS_HS_ERR_ACCEPT, NULL, "wrong Sec-WebSocket-Accept"},
    {"accept twice", OK_HEAD "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", WS_HS_ERR_ACCEPT, NULL,
     NULL},
    {"accept with suffix",
     "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: " RFC_ACCEPT "x\r\n\r\n",
     WS_HS_ERR_ACCEPT, NULL, NULL},
    {"protocol not offered", OK_HEAD "Sec-WebSocket-Protocol: mqtt\r\n\r\n", WS_HS_ERR_PROTOCOL,
     NULL, "server chose subprotocol \"mqtt\", which was not offered"},
    {"protocol case differs", OK_HEAD "Sec-WebSocket-Protocol: CHAT\r\n\r\n", WS_HS_ERR_PROTOCOL,
     NULL, NULL},
    {"two protocols",
     OK_HEAD "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
     WS_HS_ERR_PROTOCOL, NULL, "more than one"},
    {"extension", OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
     WS_HS_ERR_EXTENSION, NULL, "permessage-deflate"},
    {"empty extension", OK_HEAD "Sec-WebSocket-Extensions:\r\n\r\n", WS_HS_ERR_EXTENSION, NULL,
     NULL},
};

static void check_case(const struct resp_case *c, const char *buf, size_t len,
                       const char *const *prot, size_t nprot, int rc,
                       const ws_handshake_result_t *res, const char *how)
{
    if (rc != c->rc)
        fail_msg("%s (%s): rc %d, wanted %d (%s)", c->name, how, rc, c->rc, res->error);
    (void)buf;
    (void)len;
    (void)prot;
    (void)nprot;
    if (rc == WS_HS_OK) {
        assert_string_equal(res->protocol, c->protocol);
        assert_int_equal(res->status, 101);
        assert_int_equal(res->error[0], '\0');
    } else {
        assert_true(res->error[0] != '\0');
        assert_null(strchr(res->error, '\n'));
        if (c->error && !strstr(res->error, c->error))
            fail_msg("%s (%s): error \"%s\" lacks \"%s\"", c->name, how, res->error, c->error);
    }
}

static void test_responses_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
        const struct resp_case *c = &resp_cases[i];
        ws_handshake_result_t res;
        size_t len = strlen(c->resp);
        int rc = ws_parse_response(c->resp, len, 0, RFC_KEY, offered, 2, NULL, &res);
        check_case(c, c->resp, len, offered, 2, rc, &res, "whole");
        if (rc == WS_HS_OK)
            assert_int_equal(res.head_len, len);
    }
}

/* Byte by byte: NEED_MORE until the last byte, then the same verdict. */
static void test_responses_bytewise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
        const struct resp_case *c = &resp_cases[i];
        size_t len = strlen(c->resp);
        ws_handshake_result_t res;
        for (size_t k = 0; k < len; k++) {
            int rc = ws_parse_response(c->resp, k, 0, RFC_KEY, offered, 2, NULL, &res);
            if (rc != WS_HS_NEED_MORE)
                fail_msg("%s: prefix %zu: rc %d", c->name, k, rc);
        }
        int rc = ws_parse_response(c->resp, len, 0, RFC_KEY, offered, 2, NULL, &res);
        check_case(c, c->resp, len, offered, 2, rc, &res, "bytewise");
    }
}

static void test_protocol_none_offered(void **state)
{
    (void)state;
    const char *r = OK_HEAD "Sec-WebSocket-Protocol: chat\r\n\r\n";
    ws_handshake_result_t res;
    assert_int_equal(ws_parse_response(r, strlen(r), 0, RFC_KEY, NULL, 0, NULL, &res),
                     WS_HS_ERR_PROTOCOL);
    assert_non_null(strstr(res.error, "none was offered"));
    /* Offered, none chosen: fine. */
    r = OK_HEAD "\r\n";
    assert_int_equal(ws_parse_response(r, strlen(r), 0, RFC_KEY, offered, 2, NULL, &res), WS_HS_OK);
    assert_string_equal(res.protocol, "");
}

static void test_trailing_frames(void **state)
{
    (void)state;
    /* The head followed by a text frame "hi" and a ping in the same read. */
    static const char frames[] = "\x81\x02hi\x89\x00";
    char buf[512];
    size_t hl = strlen(OK_HEAD "\r\n");
    memcpy(buf, OK_HEAD "\r\n", hl);
    memcpy(buf + hl, frames, sizeof(frames) - 1);
    size_t len = hl + sizeof(frames) - 1;
    ws_handshake_result_t res;
    assert_int_equal(ws_parse_response(buf, len, 0, RFC_KEY, NULL, 0, NULL, &res), WS_HS_OK);
    assert_int_equal(res.head_len, hl);
    /* Frame bytes that look like a blank line do not confuse the end. */
    static const char tricky[] = "\x81\x04\r\n\r\n";
    memcpy(buf + hl, tricky, sizeof(tricky) - 1);
    assert_int_equal(ws_parse_response(buf, hl + 6, 0, RFC_KEY, NULL, 0, NULL, &res), WS_HS_OK);
    assert_int_equal(res.head_len, hl);
}

static void test_too_big(void **state)
{
    (void)state;
    char buf[300];
    memcpy(buf, OK_HEAD, strlen(OK_HEAD));
    memset(buf + strlen(OK_HEAD), 'a', sizeof(buf) - strlen(OK_HEAD));
    ws_handshake_result_t res;
    assert_int_equal(ws_parse_response(buf, 199, 200, RFC_KEY, NULL, 0, NULL, &res), WS_HS_NEED_MORE);
    assert_int_equal(ws_parse_response(buf, 200, 200, RFC_KEY, NULL, 0, NULL, &res), WS_HS_ERR_TOO_BIG);
    assert_non_null(strstr(res.error, "200 bytes"));
    assert_int_equal(ws_parse_response(buf, sizeof(buf), 200, RFC_KEY, NULL, 0, NULL, &res),
                     WS_HS_ERR_TOO_BIG);
    /* A head that ends exactly at max_head is fine. */
    const char *ok = OK_HEAD "\r\n";
    assert_int_equal(ws_parse_response(ok, strlen(ok), strlen(ok), RFC_KEY, NULL, 0, NULL, &res),
                     WS_HS_OK);
}

static void test_check_upgrade(void **state)
{
    (void)state;
    struct {
        const char *upgrade, *connection, *version, *key;
        int rc;
        bool version_only;
        const char *why;
    } cases[] = {
        {"websocket", "Upgrade", "13", RFC_KEY, 0, false, NULL},
        {"WebSocket", "keep-alive, Upgrade", "13", RFC_KEY, 0, false, NULL},
        {NULL, "Upgrade", "13", RFC_KEY, -1, false, "Upgrade: websocket"},
        {"h2c", "Upgrade", "13", RFC_KEY, -1, false, "Upgrade: websocket"},
        {"websocket", NULL, "13", RFC_KEY, -1, false, "Connection"},
        {"websocket", "keep-alive", "13", RFC_KEY, -1, false, "Connection"},
        {"websocket", "Upgrade", "13", NULL, -1, false, "Key missing"},
        {"websocket", "Upgrade", "13", "short", -1, false, "16 bytes"},
        {"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ", -1, false, "16 bytes"},
        {"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25j!!==", -1, false, "16 bytes"},
        {"websocket", "Upgrade", "8", RFC_KEY, -1, true, "Version"},
        {"websocket", "Upgrade", NULL, RFC_KEY, -1, true, "Version"},
        {"websocket", "Upgrade", "13 ", RFC_KEY, -1, true, "Version"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char acc[WS_ACCEPT_LEN + 1] = "";
        const char *why = NULL;
        bool vo = true;
        int rc = ws_check_upgrade(cases[i].upgrade, cases[i].connection, cases[i].version,
                                  cases[i].key, acc, &why, &vo);
        if (rc != cases[i].rc || vo != cases[i].version_only)
            fail_msg("case %zu: rc %d vo %d", i, rc, vo);
        if (rc == 0) {
            assert_string_equal(acc, RFC_ACCEPT);
        } else if (!why || !strstr(why, cases[i].why)) {
            fail_msg("case %zu: why \"%s\" lacks \"%s\"", i, why ? why : "(null)", cases[i].why);
        }
    }
}

static void test_build_101_roundtrip(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    ws_build_101(&b, RFC_ACCEPT, NULL, NULL);
    ws_handshake_result_t res;
    assert_int_equal(ws_parse_response(b.p, b.len, 0, RFC_KEY, NULL, 0, NULL, &res), WS_HS_OK);
    assert_int_equal(res.head_len, b.len);
    buf_reset(&b);
    ws_build_101(&b, RFC_ACCEPT, "chat", NULL);
    assert_non_null(strstr(b.p, "\r\nSec-WebSocket-Protocol: chat\r\n"));
    assert_int_equal(ws_parse_response(b.p, b.len, 0, RFC_KEY, offered, 2, NULL, &res), WS_HS_OK);
    assert_string_equal(res.protocol, "chat");
    buf_free(&b);
}


/* ---- permessage-deflate negotiation (RFC 7692 section 7) ---- */

#define ANY WS_PMD_BITS_ANY

struct pmd_resp_case {
    ws_pmd_offer_t offer;
    const char *resp;      /* the server's Sec-WebSocket-Extensions value */
    const char *error;     /* NULL: accepted, else a substring of the error */
    bool snct, cnct;       /* accepted: what was agreed */
    unsigned sbits, cbits;
};

static const ws_pmd_offer_t browser = {.client_max_window_bits = ANY};
static const ws_pmd_offer_t bench_offer = {true, true, 0, ANY};

static const struct pmd_resp_case pmd_resp_cases[] = {
    /* What a server may answer (7.1.1.1, 7.1.1.2, 7.1.2.1, 7.1.2.2). */
    {browser, "permessage-deflate", NULL, false, false, 15, 15},
    {browser, "permessage-deflate; server_no_context_takeover", NULL, true, false, 15, 15},
    {browser, "permessage-deflate; client_no_context_takeover", NULL, false, true, 15, 15},
    {browser, "permessage-deflate; server_max_window_bits=10", NULL, false, false, 10, 15},
    {browser, "permessage-deflate; server_max_window_bits=8", NULL, false, false, 8, 15},
    {browser, "permessage-deflate; client_max_window_bits=9", NULL, false, false, 15, 9},
    {browser, "permessage-deflate; client_max_window_bits=15", NULL, false, false, 15, 15},
    {browser, "permessage-deflate; client_max_window_bits=\"12\"", NULL, false, false, 15, 12},
    {browser, "permessage-deflate; client_max_window_bits=\"1\\2\"", NULL, false, false, 15, 12},
    {browser, "Permessage-Deflate; SERVER_NO_CONTEXT_TAKEOVER", NULL, true, false, 15, 15},
    {browser, " , permessage-deflate ; server_max_window_bits = 12 ,", NULL, false, false, 12, 15},
    {browser,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=9; client_max_window_bits=10",
     NULL, true, true, 9, 10},
    {bench_offer, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     NULL, true, true, 15, 15},
    {bench_offer, "permessage-deflate; server_no_context_takeover", NULL, true, false, 15, 15},
    {{false, false, 10, 0}, "permessage-deflate; server_max_window_bits=10", NULL, false, false,
     10, 15},
    {{false, false, 10, 0}, "permessage-deflate; server_max_window_bits=9", NULL, false, false, 9,
     15},
    {{false, false, 0, 11}, "permessage-deflate; client_max_window_bits=11", NULL, false, false,
     15, 11},
    {{false, false, 0, 11}, "permessage-deflate; client_max_window_bits=8", NULL, false, false, 15,
     8},
    {{false, false, 0, 11}, "permessage-deflate", NULL, false, false, 15, 15},
    /* What fails the handshake. */
    {browser, "x-webkit-deflate-frame", "extension \"x-webkit-deflate-frame\" that was not offered", false, false, 0, 0},
    {browser, "permessage-deflate, x-foo", "extension \"x-foo\" that was not offered", false, false, 0, 0},
    {browser, "permessage-deflate, permessage-deflate", "more than once", false, false, 0, 0},
    {browser, "permessage-deflate; foo", "unknown permessage-deflate parameter \"foo\"", false, false, 0, 0},
    {browser, "permessage-deflate; foo=1", "unknown permessage-deflate parameter", false, false, 0, 0},
    {browser, "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
     "given twice", false, false, 0, 0},
    {browser, "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
     "given twice", false, false, 0, 0},
    {browser, "permessage-deflate; server_no_context_takeover=1", "takes no value", false, false, 0, 0},
    {browser, "permessage-deflate; client_no_context_takeover=\"x\"", "takes no value", false, false, 0, 0},
    {browser, "permessage-deflate; client_max_window_bits", "without a value", false, false, 0, 0},
    {browser, "permessage-deflate; server_max_window_bits", "without a value", false, false, 0, 0},
    {browser, "permessage-deflate; server_max_window_bits=7", "not a window size", false, false, 0, 0},
    {browser, "permessage-deflate; server_max_window_bits=16", "not a window size", false, false, 0, 0},
    {browser, "permessage-deflate; server_max_window_bits=010", "not a window size", false, false, 0, 0},
    {browser, "permessage-deflate; server_max_window_bits=09", "not a window size", false, false, 0, 0},
    {browser, "permessage-deflate; server_max_window_bits=1000000000009", "not a window size", false, false, 0, 0},
    {browser, "permessage-deflate; client_max_window_bits=a", "not a window size", false, false, 0, 0},
    {{false, false, 0, 0}, "permessage-deflate; client_max_window_bits=15",
     "client_max_window_bits that was not offered", false, false, 0, 0},
    {{false, false, 0, 11}, "permessage-deflate; client_max_window_bits=12",
     "client_max_window_bits larger than offered", false, false, 0, 0},
    {{false, false, 10, ANY}, "permessage-deflate", "without the server_max_window_bits offered", false, false, 0, 0},
    {{false, false, 10, ANY}, "permessage-deflate; server_max_window_bits=11",
     "server_max_window_bits larger than offered", false, false, 0, 0},
    {bench_offer, "permessage-deflate; client_no_context_takeover",
     "without the server_no_context_takeover offered", false, false, 0, 0},
    {browser, "", "malformed", false, false, 0, 0},
    {browser, " , ", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate;", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate; =10", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate; a=", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate; a=\"unterminated", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate; a=\"\"", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate; a=\"sp ace\"", "malformed", false, false, 0, 0},
    {browser, "permessage-deflate x", "malformed", false, false, 0, 0},
    {browser, "\"quoted\"", "malformed", false, false, 0, 0},
    {browser,
     "permessage-deflate; a; b; c; d; e; f; g; h; i", "more than 8 parameters", false, false, 0, 0},
};

static void test_pmd_responses(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(pmd_resp_cases); i++) {
        const struct pmd_resp_case *c = &pmd_resp_cases[i];
        ws_pmd_params_t a;
        char err[200] = "";
        int rc = ws_pmd_check_response(c->resp, strlen(c->resp), &c->offer, &a, err, sizeof(err));
        if (c->error) {
            if (rc != -1 || !strstr(err, c->error))
                fail_msg("case %zu \"%s\": rc %d, error \"%s\", wanted \"%s\"", i, c->resp, rc, err,
                         c->error);
            assert_null(strchr(err, '\n'));
            continue;
        }
        if (rc != 1)
            fail_msg("case %zu \"%s\": rc %d (%s)", i, c->resp, rc, err);
        assert_int_equal(a.server_no_context_takeover, c->snct);
        assert_int_equal(a.client_no_context_takeover, c->cnct);
        assert_int_equal(a.server_max_window_bits, c->sbits);
        assert_int_equal(a.client_max_window_bits, c->cbits);
    }
    /* Nothing offered: any extension fails. */
    ws_pmd_params_t a;
    char err[200];
    assert_int_equal(ws_pmd_check_response("permessage-deflate", 18, NULL, &a, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "not offered"));
}

/* Through the whole response: lines joined, errors as WS_HS_ERR_EXTENSION. */
static void test_pmd_in_response(void **state)
{
    (void)state;
    ws_handshake_result_t res;
    const char *two = OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate;\r\n"
                              "Sec-WebSocket-Extensions: x-foo\r\n\r\n";
    assert_int_equal(ws_parse_response(two, strlen(two), 0, RFC_KEY, NULL, 0, &browser, &res),
                     WS_HS_ERR_EXTENSION);
    const char *ok = OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate; "
                             "server_no_context_takeover\r\n\r\n";
    assert_int_equal(ws_parse_response(ok, strlen(ok), 0, RFC_KEY, NULL, 0, &browser, &res),
                     WS_HS_OK);
    assert_true(res.deflate);
    assert_true(res.pmd.server_no_context_takeover);
    /* Declined: no header, no deflate. */
    const char *none = OK_HEAD "\r\n";
    assert_int_equal(ws_parse_response(none, strlen(none), 0, RFC_KEY, NULL, 0, &browser, &res),
                     WS_HS_OK);
    assert_false(res.deflate);
    /* Split over two lines, with an empty element between. */
    const char *split = OK_HEAD "Sec-WebSocket-Extensions: ,\r\n"
                                "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    assert_int_equal(ws_parse_response(split, strlen(split), 0, RFC_KEY, NULL, 0, &browser, &res),
                     WS_HS_OK);
    assert_true(res.deflate);
    const char *bad = OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate; "
                              "client_max_window_bits=16\r\n\r\n";
    assert_int_equal(ws_parse_response(bad, strlen(bad), 0, RFC_KEY, NULL, 0, &browser, &res),
                     WS_HS_ERR_EXTENSION);
    assert_non_null(strstr(res.error, "client_max_window_bits=16"));
}

static void test_pmd_offer_format(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    ws_pmd_offer_format(&b, &browser);
    assert_string_equal(b.p, "permessage-deflate; client_max_window_bits");
    buf_reset(&b);
    ws_pmd_offer_format(&b, &bench_offer);
    assert_string_equal(b.p, "permessage-deflate; server_no_context_takeover; "
                             "client_no_context_takeover; client_max_window_bits");
    buf_reset(&b);
    ws_pmd_offer_t all = {false, false, 9, 10};
    ws_pmd_offer_format(&b, &all);
    assert_string_equal(b.p,
                        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10");
    /* In the request. */
    ws_client_request_t r = {.host_header = "h", .target = "/", .deflate = &browser};
    buf_reset(&b);
    ws_build_request(&b, &r, RFC_KEY);
    assert_non_null(
        strstr(b.p, "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
    buf_free(&b);
}

struct pmd_accept_case {
    const char *offers;
    unsigned flags;
    const char *resp; /* NULL: declined */
    bool snct, cnct;
    unsigned sbits, cbits;
};

static const struct pmd_accept_case pmd_accept_cases[] = {
    /* The usual offers. */
    {"permessage-deflate; client_max_window_bits", 0, "permessage-deflate", false, false, 15, 15},
    {"permessage-deflate; client_max_window_bits", WS_PMD_LEAN,
     "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", false, false, 12,
     12},
    {"permessage-deflate", WS_PMD_LEAN, "permessage-deflate; server_max_window_bits=12", false,
     false, 12, 15},
    {"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "client_max_window_bits",
     WS_PMD_LEAN, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     true, true, 15, 15},
    {"permessage-deflate; client_no_context_takeover", WS_PMD_LEAN,
     "permessage-deflate; client_no_context_takeover; server_max_window_bits=12", false, true, 12,
     15},
    {"permessage-deflate; server_no_context_takeover; client_max_window_bits", WS_PMD_LEAN,
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12", true, false, 15,
     12},
    /* Values the client gives are honoured (never raised). */
    {"permessage-deflate; server_max_window_bits=10", 0,
     "permessage-deflate; server_max_window_bits=10", false, false, 10, 15},
    {"permessage-deflate; server_max_window_bits=8", WS_PMD_LEAN,
     "permessage-deflate; server_max_window_bits=8", false, false, 8, 15},
    {"permessage-deflate; server_max_window_bits=15", WS_PMD_LEAN,
     "permessage-deflate; server_max_window_bits=12", false, false, 12, 15},
    {"permessage-deflate; client_max_window_bits=9", 0,
     "permessage-deflate; client_max_window_bits=9", false, false, 15, 9},
    {"permessage-deflate; client_max_window_bits=\"14\"", WS_PMD_LEAN,
     "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", false, false, 12,
     12},
    /* The first offer that can be honoured. */
    {"x-webkit-deflate-frame, permessage-deflate; bogus, permessage-deflate; "
     "client_no_context_takeover",
     0, "permessage-deflate; client_no_context_takeover", false, true, 15, 15},
    {"permessage-deflate; server_max_window_bits, permessage-deflate", 0, "permessage-deflate",
     false, false, 15, 15},
    {"permessage-deflate; client_max_window_bits=16, permessage-deflate; "
     "client_max_window_bits=10",
     0, "permessage-deflate; client_max_window_bits=10", false, false, 15, 10},
    /* Declined. */
    {"x-webkit-deflate-frame", 0, NULL, false, false, 0, 0},
    {"permessage-deflate; server_no_context_takeover; server_no_context_takeover", 0, NULL, false, false, 0, 0},
    {"permessage-deflate; server_no_context_takeover=yes", 0, NULL, false, false, 0, 0},
    {"permessage-deflate; server_max_window_bits=7", 0, NULL, false, false, 0, 0},
    {"permessage-deflate; unknown", 0, NULL, false, false, 0, 0},
    {"permessage-deflate, garbage;;", 0, NULL, false, false, 0, 0}, /* not a list: nothing */
    {"", 0, NULL, false, false, 0, 0},
};

static void test_pmd_accept(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(pmd_accept_cases); i++) {
        const struct pmd_accept_case *c = &pmd_accept_cases[i];
        ws_pmd_params_t a;
        buf_t resp;
        buf_init(&resp);
        int rc = ws_pmd_accept(c->offers, strlen(c->offers), c->flags, &a, &resp);
        if (!c->resp) {
            if (rc != 0 || resp.len)
                fail_msg("case %zu \"%s\": accepted \"%s\"", i, c->offers, resp.p);
            buf_free(&resp);
            continue;
        }
        if (rc != 1 || strcmp(resp.p, c->resp) != 0)
            fail_msg("case %zu \"%s\": rc %d, answer \"%s\", wanted \"%s\"", i, c->offers, rc,
                     resp.p ? resp.p : "", c->resp);
        assert_int_equal(a.server_no_context_takeover, c->snct);
        assert_int_equal(a.client_no_context_takeover, c->cnct);
        assert_int_equal(a.server_max_window_bits, c->sbits);
        assert_int_equal(a.client_max_window_bits, c->cbits);
        buf_free(&resp);
    }
}

/* What the server answers, the client that offered it accepts, and both
 * come to the same parameters. */
static void test_pmd_agree_both_ways(void **state)
{
    (void)state;
    static const ws_pmd_offer_t offers[] = {
        {false, false, 0, 0},  {false, false, 0, ANY}, {true, true, 0, ANY}, {true, false, 0, 0},
        {false, true, 9, 10},  {false, false, 8, 8},   {true, true, 15, 15}, {false, false, 12, ANY},
    };
    for (size_t i = 0; i < ARRAY_LEN(offers); i++) {
        for (unsigned flags = 0; flags <= WS_PMD_LEAN; flags += WS_PMD_LEAN) {
            buf_t offer, resp;
            buf_init(&offer);
            buf_init(&resp);
            ws_pmd_offer_format(&offer, &offers[i]);
            ws_pmd_params_t srv, cli;
            assert_int_equal(ws_pmd_accept(offer.p, offer.len, flags, &srv, &resp), 1);
            char err[200] = "";
            if (ws_pmd_check_response(resp.p, resp.len, &offers[i], &cli, err, sizeof(err)) != 1)
                fail_msg("offer \"%s\", answer \"%s\": %s", offer.p, resp.p, err);
            assert_memory_equal(&srv, &cli, sizeof(srv));
            buf_free(&offer);
            buf_free(&resp);
        }
    }
    /* And the 101 carries the answer. */
    buf_t b;
    buf_init(&b);
    ws_build_101(&b, RFC_ACCEPT, NULL, "permessage-deflate");
    assert_non_null(strstr(b.p, "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example),        cmocka_unit_test(test_make_key),
        cmocka_unit_test(test_build_request),      cmocka_unit_test(test_responses_whole),
        cmocka_unit_test(test_responses_bytewise), cmocka_unit_test(test_protocol_none_offered),
        cmocka_unit_test(test_trailing_frames),    cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_check_upgrade),      cmocka_unit_test(test_build_101_roundtrip),
        cmocka_unit_test(test_pmd_responses),      cmocka_unit_test(test_pmd_in_response),
        cmocka_unit_test(test_pmd_offer_format),   cmocka_unit_test(test_pmd_accept),
        cmocka_unit_test(test_pmd_agree_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
