/* url_typo: a URL operand with a slip in its scheme part (http//host,
 * http:/host, ws:/host, htp://host) is a usage error naming the slip, not
 * a DNS failure for a host called "http" (listen reads a bare host[:port]
 * as http://, as curl does, so http//host would otherwise go to host
 * "http"). Every command that takes a URL runs it first: listen, ws, send,
 * replay, bench and bench --publish. Pure text, no I/O. */
#ifndef EVCAT_URL_TYPO_H
#define EVCAT_URL_TYPO_H

#include <stddef.h>

/* The schemes a command takes, as a mask. */
enum {
    URL_HTTP = 1u << 0,
    URL_HTTPS = 1u << 1,
    URL_WS = 1u << 2,
    URL_WSS = 1u << 3,
    URL_SSE = URL_HTTP | URL_HTTPS,
    URL_WEBSOCKET = URL_WS | URL_WSS,
    URL_ANY = URL_SSE | URL_WEBSOCKET,
};

typedef enum url_typo_kind {
    URL_TYPO_NONE,   /* nothing we recognise: the command's own checks go on */
    URL_TYPO_SYNTAX, /* why completes "'ARG' is not a URL: " */
    URL_TYPO_SCHEME, /* why completes "'ARG': " (an unknown scheme close to one taken) */
} url_typo_kind_t;

/* What is wrong with arg, one of http, https, ws or wss (any case) being
 * its scheme:
 *   http//host        missing ':' after 'http'?
 *   http:/host        missing '/' after 'http:/'?
 *   http:host         missing '//' after 'http:'?
 *   http;//host       ';' after 'http' should be ':'?
 * and, with "://", a scheme that is none of the ones this command takes but
 * close to one (htp://host: unknown scheme 'htp'; did you mean 'http'?).
 * A bare host[:port][/path] is not a typo (localhost:8080/sse). */
url_typo_kind_t url_typo(const char *arg, unsigned schemes, char *why, size_t whylen);

/* Schemes are case-insensitive (RFC 3986, 3.1): HTTP://host becomes
 * http://host in place, so that every later check sees one spelling. Only
 * a scheme followed by "://" at the start of arg is touched. */
void url_scheme_lower(char *arg);

/* For a command: prints the one-line usage error for a typo in arg ("cmd:
 * 'ARG' is not a URL: ...", or with opt "cmd: --publish 'ARG' is not ...")
 * and returns -1; 0 when there is none. */
int url_typo_check(const char *cmd, const char *opt, const char *arg, unsigned schemes);

#endif
