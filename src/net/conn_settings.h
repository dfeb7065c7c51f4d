/* conn_settings: how a client connection is made, as the command line
 * fills it (evcat(1), "Options every connecting command shares"): extra
 * headers, authentication, TLS files and verification, proxy, connect
 * timeout. The network, client and bench layers read it; for libcurl it is
 * applied to an easy handle in one place. */
#ifndef EVCAT_CONN_SETTINGS_H
#define EVCAT_CONN_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

typedef struct conn_settings {
    struct curl_slist *headers; /* -H and --bearer, in order; owned */
    char *userpwd;              /* -u user:password; owned (wiped on free) */
    char *bearer;               /* owned (wiped on free) */
    const char *cacert, *cert, *key; /* argv strings */
    bool insecure;
    const char *proxy;
    uint64_t connect_timeout_ms; /* default 30 s */
} conn_settings_t;

void conn_settings_init(conn_settings_t *s);
/* Frees what s owns, wiping the credentials first. */
void conn_settings_free(conn_settings_t *s);

/* -u USER:PASSWORD (replacing an earlier one). */
void conn_settings_set_userpwd(conn_settings_t *s, const char *userpwd);
/* --bearer TOKEN: kept, and added as an Authorization header in order. */
void conn_settings_set_bearer(conn_settings_t *s, const char *token);

/* Whether the user gave a header of this name (case-insensitive), in any of
 * curl's forms (http_user_header_named). */
bool conn_settings_has_header(const conn_settings_t *s, const char *name);

/* The value of the last header of this name the user gave, leading blanks
 * skipped; NULL when there is none or it is empty. */
const char *conn_settings_header_value(const conn_settings_t *s, const char *name);

/* Sets auth, TLS, proxy, timeouts and verbose tracing (with secrets
 * redacted) on a curl easy handle. Headers are not set: the caller merges
 * s->headers with its own (see conn_settings_has_header). */
void conn_settings_apply_curl(const conn_settings_t *s, CURL *e);

#endif
