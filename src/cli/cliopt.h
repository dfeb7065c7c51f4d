/* cliopt: the options every connecting command shares (evcat(1), "Options
 * every connecting command shares"), parsed in one place so -H, TLS, proxy
 * and output options behave the same in listen, ws, send, replay and bench. */
#ifndef EVCAT_CLIOPT_H
#define EVCAT_CLIOPT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn_settings.h"
#include "output.h"

/* Long-only option codes start here; commands number theirs from OPT_CMD. */
enum {
    OPT_BEARER = 256,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_CONNECT_TIMEOUT,
    OPT_COLOR,
    OPT_SUBPROTOCOL,
    OPT_ORIGIN,
    OPT_PING_INTERVAL,
    OPT_ON_OPEN,
    OPT_BINARY,
    OPT_MAX_MESSAGE,
    OPT_RECONNECT,
    OPT_MAX_RETRIES,
    OPT_RECORD,
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
        {"format", required_argument, NULL, 'o'}, {"color", required_argument, NULL, OPT_COLOR}, \
        {"record", required_argument, NULL, OPT_RECORD}

/* The --help lines for the options above. */
extern const char conn_opts_help[];

/* WebSocket options (listen ws://, ws, send). */
#define WS_LONGOPTS                                                                        \
    {"subprotocol", required_argument, NULL, OPT_SUBPROTOCOL},                             \
        {"origin", required_argument, NULL, OPT_ORIGIN},                                   \
        {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},                     \
        {"on-open", required_argument, NULL, OPT_ON_OPEN},                                 \
        {"binary", no_argument, NULL, OPT_BINARY},                                         \
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},                         \
        {"reconnect", no_argument, NULL, OPT_RECONNECT}

extern const char ws_opts_help[];

/* --max-retries, for both protocols: SSE reconnects by default, WebSocket
 * with --reconnect. Handled by ws_cli_opts_handle (without setting any). */
#define RETRY_LONGOPTS {"max-retries", required_argument, NULL, OPT_MAX_RETRIES}

#define WS_MAX_LIST 64

typedef struct ws_cli_opts {
    const char *protocols[WS_MAX_LIST]; /* argv strings */
    size_t nprotocols;
    const char *origin;
    uint64_t ping_interval_ms;
    const char *on_open[WS_MAX_LIST];
    size_t non_open;
    bool binary;
    uint64_t max_message; /* default 16 MiB */
    bool reconnect;
    int64_t max_retries;  /* --max-retries N, or -1: no limit */
    bool any;             /* some WebSocket-only option was given */
} ws_cli_opts_t;

void ws_cli_opts_init(ws_cli_opts_t *w);
/* Like conn_opts_handle, for the options above and RETRY_LONGOPTS. */
int ws_cli_opts_handle(ws_cli_opts_t *w, const char *cmd, int c, const char *arg);
/* After parsing, for a WebSocket URL: --max-retries needs --reconnect.
 * Returns 0, or -1 after the one-line error (exit 2). */
int ws_cli_opts_check(const ws_cli_opts_t *w, const char *cmd);

/* The shared options: how to connect (plain data for the network and client
 * layers) and what to do with what arrives. */
typedef struct conn_opts {
    conn_settings_t net;        /* headers, auth, TLS, proxy, connect timeout */
    out_format_t format;
    bool format_set;
    color_mode_t color;
    const char *record;         /* --record FILE or NULL; argv string */
} conn_opts_t;

void conn_opts_init(conn_opts_t *o);
void conn_opts_free(conn_opts_t *o);

/* Handles one getopt result. Returns 1 when it was a shared option, 0 when
 * not ours, -1 on a bad value (the one-line error is printed: exit 2). */
int conn_opts_handle(conn_opts_t *o, const char *cmd, int c, const char *arg);

/* After parsing: resolves the output format and colour for stdout/stderr. */
void conn_opts_finish(conn_opts_t *o);

#endif
