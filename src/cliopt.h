/* cliopt: the options every connecting command shares (SPEC.md "Options
 * every connecting command shares"), parsed in one place so -H, TLS, proxy
 * and output options behave the same in listen, ws, send, replay and bench. */
#ifndef EVCAT_CLIOPT_H
#define EVCAT_CLIOPT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "output.h"

/* Long-only option codes start here; commands number theirs from OPT_CMD. */
enum {
    OPT_BEARER = 256,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_CONNECT_TIMEOUT,
    OPT_COLOR,
    OPT_CMD = 300,
};

#define CONN_SHORTOPTS "H:u:kx:vqo:"
#define CONN_LONGOPTS                                                                      \
    {"header", required_argument, NULL, 'H'}, {"user", required_argument, NULL, 'u'},      \
        {"bearer", required_argument, NULL, OPT_BEARER},                                   \
        {"cacert", required_argument, NULL, OPT_CACERT},                                   \
        {"cert", required_argument, NULL, OPT_CERT}, {"key", required_argument, NULL, OPT_KEY}, \
        {"insecure", no_argument, NULL, 'k'}, {"proxy", required_argument, NULL, 'x'},     \
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},                 \
        {"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},            \
        {"format", required_argument, NULL, 'o'}, {"color", required_argument, NULL, OPT_COLOR}

/* The --help lines for the options above. */
extern const char conn_opts_help[];

typedef struct conn_opts {
    struct curl_slist *headers; /* -H and --bearer, in order; owned */
    char *userpwd;              /* -u user:password; owned (wiped on free) */
    char *bearer;               /* owned (wiped on free) */
    const char *cacert, *cert, *key; /* argv strings */
    bool insecure;
    const char *proxy;
    uint64_t connect_timeout_ms; /* default 30 s */
    out_format_t format;
    bool format_set;
    color_mode_t color;
} conn_opts_t;

void conn_opts_init(conn_opts_t *o);
void conn_opts_free(conn_opts_t *o);

/* Handles one getopt result. Returns 1 when it was a shared option, 0 when
 * not ours, -1 on a bad value (the one-line error is printed: exit 2). */
int conn_opts_handle(conn_opts_t *o, const char *cmd, int c, const char *arg);

/* After parsing: resolves the output format and colour for stdout/stderr. */
void conn_opts_finish(conn_opts_t *o);

/* Sets auth, TLS, proxy, timeouts and verbose tracing (with secrets
 * redacted) on a curl easy handle. Headers are not set: the caller merges
 * o->headers with its own (see conn_opts_has_header). */
void conn_opts_apply_curl(const conn_opts_t *o, CURL *e);

/* Whether the user gave a header of this name (case-insensitive). */
bool conn_opts_has_header(const conn_opts_t *o, const char *name);

/* Copies url with a password in its userinfo replaced by "***", for lines
 * the user will see. Returns a malloc'd string. */
char *redact_url(const char *url);

#endif
