/* ws_handshake: the RFC 6455 opening handshake, both sides, as pure
 * functions (no I/O): keys, the client's request, the server's 101 and the
 * checks each side makes of the other. wslay frames; the handshake is ours. */
#ifndef EVCAT_WS_HANDSHAKE_H
#define EVCAT_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

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
} ws_client_request_t;

/* Appends the whole request head (ending in CRLF CRLF) for key to out.
 * Never offers an extension (wslay has no permessage-deflate). */
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
    WS_HS_ERR_EXTENSION = -7,  /* any Sec-WebSocket-Extensions (we offer none) */
};

typedef struct ws_handshake_result {
    int status;          /* the HTTP status, once the status line was read */
    char protocol[128];  /* the chosen subprotocol, "" if none */
    size_t head_len;     /* length of the head: bytes after it are frames */
    char error[200];     /* one line saying what was wrong, for WS_HS_ERR_* */
} ws_handshake_result_t;

/* Checks the response received so far, buf[0..len), against our key and
 * offer. Returns WS_HS_OK (head_len set), WS_HS_NEED_MORE, or an error with
 * res->error filled (for WS_HS_ERR_STATUS it names the status and reason). */
int ws_parse_response(const char *buf, size_t len, size_t max_head, const char *key,
                      const char *const *protocols, size_t nprotocols,
                      ws_handshake_result_t *res);

/* ---- server ---- */

/* Checks the upgrade headers of a GET request (values as received, NULL when
 * absent). On success writes the accept value (WS_ACCEPT_LEN + 1 bytes) and
 * returns 0; otherwise returns -1 with *why saying what is wrong (answer 400,
 * or 426 with Sec-WebSocket-Version: 13 when only the version is wrong:
 * *version_only is set then). */
int ws_check_upgrade(const char *upgrade, const char *connection, const char *version,
                     const char *key, char *accept_out, const char **why, bool *version_only);

/* Appends the 101 response for accept (and protocol, or NULL). */
void ws_build_101(buf_t *out, const char *accept, const char *protocol);

#endif
