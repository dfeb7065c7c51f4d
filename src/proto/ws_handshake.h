/* ws_handshake: the RFC 6455 opening handshake, both sides, as pure
 * functions (no I/O): keys, the client's request, the server's 101 and the
 * checks each side makes of the other. wslay frames; the handshake is ours. */
#ifndef EVCAT_WS_HANDSHAKE_H
#define EVCAT_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ws_deflate.h"

#define WS_KEY_LEN    24 /* base64 of 16 random bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define WS_MAX_HEAD_DEFAULT (64u << 10)

/* A new Sec-WebSocket-Key (OpenSSL RAND_bytes). out: WS_KEY_LEN + 1 bytes. */
void ws_make_key(char *out);
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)).
 * out: WS_ACCEPT_LEN + 1 bytes. */
void ws_accept_for(const char *key, size_t key_len, char *out);

/* ---- client ---- */

typedef struct ws_client_request {
    const char *host_header;         /* "host" or "host:port" (not default port) */
    const char *target;              /* "/path?query" ("/" when the URL has none) */
    const char *origin;              /* NULL: no Origin header */
    const char *const *protocols;    /* offered subprotocols, in order */
    size_t nprotocols;
    const char *const *headers;      /* extra "Name: value" lines (-H, --bearer) */
    size_t nheaders;
    const char *basic_auth;          /* "user:password" for Authorization: Basic, or NULL */
    const struct ws_pmd_offer *deflate; /* permessage-deflate to offer, or NULL */
} ws_client_request_t;

/* Appends the whole request head (ending in CRLF CRLF) for key to out.
 * The only extension ever offered is r->deflate. */
void ws_build_request(buf_t *out, const ws_client_request_t *r, const char *key);

enum {
    WS_HS_OK = 0,
    WS_HS_NEED_MORE = 1,       /* the head has not ended yet */
    WS_HS_ERR_TOO_BIG = -1,    /* no end of head within max_head bytes */
    WS_HS_ERR_MALFORMED = -2,  /* not an HTTP/1.1 response head */
    WS_HS_ERR_STATUS = -3,     /* a status other than 101 */
    WS_HS_ERR_UPGRADE = -4,    /* Upgrade: websocket / Connection: upgrade missing */
    WS_HS_ERR_ACCEPT = -5,     /* Sec-WebSocket-Accept missing or wrong */
    WS_HS_ERR_PROTOCOL = -6,   /* a subprotocol we did not offer (or none chosen is fine) */
    WS_HS_ERR_EXTENSION = -7,  /* an extension not offered, or an answer to our
                                  permessage-deflate offer that breaks RFC 7692 */
};

typedef struct ws_handshake_result {
    int status;          /* the HTTP status, once the status line was read */
    char protocol[128];  /* the chosen subprotocol, "" if none */
    size_t head_len;     /* length of the head: bytes after it are frames */
    bool deflate;        /* the server accepted our permessage-deflate offer */
    ws_pmd_params_t pmd; /* with these parameters (defaults filled in) */
    char error[200];     /* one line saying what was wrong, for WS_HS_ERR_* */
} ws_handshake_result_t;

/* Checks the response received so far, buf[0..len), against our key and
 * offer (subprotocols, and deflate: our permessage-deflate offer or NULL).
 * Returns WS_HS_OK (head_len set), WS_HS_NEED_MORE, or an error with
 * res->error filled (for WS_HS_ERR_STATUS it names the status and reason). */
int ws_parse_response(const char *buf, size_t len, size_t max_head, const char *key,
                      const char *const *protocols, size_t nprotocols,
                      const struct ws_pmd_offer *deflate, ws_handshake_result_t *res);

/* ---- server ---- */

/* Checks the upgrade headers of a GET request (values as received, NULL when
 * absent). On success writes the accept value (WS_ACCEPT_LEN + 1 bytes) and
 * returns 0; otherwise returns -1 with *why saying what is wrong (answer 400,
 * or 426 with Sec-WebSocket-Version: 13 when only the version is wrong:
 * *version_only is set then). */
int ws_check_upgrade(const char *upgrade, const char *connection, const char *version,
                     const char *key, char *accept_out, const char **why, bool *version_only);

/* Appends the 101 response for accept (and protocol, and the value of
 * Sec-WebSocket-Extensions: each NULL or "" when none). */
void ws_build_101(buf_t *out, const char *accept, const char *protocol, const char *extensions);

/* ---- permessage-deflate negotiation (RFC 7692 section 7) ---- */

/* What a client offers: one permessage-deflate element. */
typedef struct ws_pmd_offer {
    bool server_no_context_takeover;
    bool client_no_context_takeover;
    uint8_t server_max_window_bits; /* 0: not offered; else 8..15 */
    uint8_t client_max_window_bits; /* 0: not offered; WS_PMD_BITS_ANY: offered
                                       without a value; else 8..15 */
} ws_pmd_offer_t;
#define WS_PMD_BITS_ANY 1

/* Appends the offer as a Sec-WebSocket-Extensions value:
 * "permessage-deflate; client_max_window_bits", ... */
void ws_pmd_offer_format(buf_t *out, const ws_pmd_offer_t *o);

/* The client's check of the server's Sec-WebSocket-Extensions (every such
 * header line joined with ", ") against what it offered (o; NULL: nothing).
 * RFC 6455 9.1 and RFC 7692 7: an extension not offered, permessage-deflate
 * twice, a parameter unknown, repeated, without its value or with one it
 * may not have, a window outside 8..15 or larger than offered, a
 * client_max_window_bits not offered, or a server_no_context_takeover or
 * server_max_window_bits offered and not answered fail the handshake.
 * An empty list is malformed (1#extension). Returns 1 (accepted: *agreed
 * filled, the defaults with it) or -1 with one line in err. */
int ws_pmd_check_response(const char *v, size_t n, const ws_pmd_offer_t *o,
                          ws_pmd_params_t *agreed, char *err, size_t errlen);

/* The server's choice among a client's offers (every Sec-WebSocket-Extensions
 * line joined with ", "): the first permessage-deflate element it can
 * honour; malformed elements and other extensions are passed over, a list
 * that is not valid syntax declines everything. With WS_PMD_LEAN (the
 * server keeps contexts bounded), a side whose context is kept is asked to
 * use a window of WS_PMD_LEAN_BITS at most where the RFC lets the server
 * say so: server_max_window_bits always, client_max_window_bits when the
 * offer has it. Returns 1 with *agreed and the answer's value appended to
 * resp, or 0 (nothing accepted). */
int ws_pmd_accept(const char *v, size_t n, unsigned flags, ws_pmd_params_t *agreed, buf_t *resp);

#endif
