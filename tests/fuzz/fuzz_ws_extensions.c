/* libFuzzer target for the permessage-deflate negotiation of
 * src/proto/ws_handshake.c: the input is a Sec-WebSocket-Extensions value,
 * read as a server's answer to each of several offers and as a client's
 * offers to a server (lean or not). Checks: no crash; an error is one line;
 * what is agreed lies in RFC 7692's ranges and honours the offer (a window
 * never larger than offered, but for a client window the server ignored,
 * server_no_context_takeover when offered); and
 * what the server answers to the input, the client takes, agreeing on the
 * same parameters. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ws_handshake.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_params(const ws_pmd_params_t *a)
{
    CHECK(a->server_max_window_bits >= 8 && a->server_max_window_bits <= 15);
    CHECK(a->client_max_window_bits >= 8 && a->client_max_window_bits <= 15);
}

static const ws_pmd_offer_t offers[] = {
    {false, false, 0, 0},
    {false, false, 0, WS_PMD_BITS_ANY},
    {true, true, 0, WS_PMD_BITS_ANY},
    {true, false, 10, 12},
    {false, true, 8, 8},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *v = (const char *)data;
    for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
        const ws_pmd_offer_t *o = &offers[i];
        ws_pmd_params_t a;
        char err[200] = "";
        int rc = ws_pmd_check_response(v, size, o, &a, err, sizeof(err));
        CHECK(rc == 1 || rc == -1);
        if (rc < 0) {
            CHECK(err[0] && !strchr(err, '\n'));
            continue;
        }
        check_params(&a);
        if (o->server_no_context_takeover)
            CHECK(a.server_no_context_takeover);
        if (o->server_max_window_bits)
            CHECK(a.server_max_window_bits <= o->server_max_window_bits);
        /* A value offered is a hint: a server may ignore it (15). */
        if (o->client_max_window_bits > WS_PMD_BITS_ANY)
            CHECK(a.client_max_window_bits <= o->client_max_window_bits ||
                  a.client_max_window_bits == 15);
        if (!o->client_max_window_bits)
            CHECK(a.client_max_window_bits == 15);
    }
    for (unsigned flags = 0; flags <= WS_PMD_LEAN; flags += WS_PMD_LEAN) {
        ws_pmd_params_t srv, cli;
        buf_t resp;
        buf_init(&resp);
        int rc = ws_pmd_accept(v, size, flags, &srv, &resp);
        CHECK(rc == 0 || rc == 1);
        if (rc == 1) {
            check_params(&srv);
            /* The answer, to an offer that allows what was agreed. */
            ws_pmd_offer_t o = {srv.server_no_context_takeover, srv.client_no_context_takeover, 0,
                                WS_PMD_BITS_ANY};
            char err[200] = "";
            CHECK(ws_pmd_check_response(resp.p, resp.len, &o, &cli, err, sizeof(err)) == 1);
            CHECK(memcmp(&srv, &cli, sizeof(srv)) == 0);
        } else {
            CHECK(resp.len == 0);
        }
        buf_free(&resp);
    }
    return 0;
}
