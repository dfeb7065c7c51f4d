/* cliopt: what the options every connecting command shares do (evcat(1),
 * OPTIONS OF EVERY CONNECTING COMMAND and WEBSOCKET OPTIONS), handled in one
 * place so -H, TLS, proxy and output options behave the same in listen, ws,
 * send, replay and bench. Which command takes which is options.def's. */
#ifndef EVCAT_CLIOPT_H
#define EVCAT_CLIOPT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "conn_settings.h"
#include "options.h"
#include "output.h"

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
    bool compress;        /* --compress (or --compress-takeover): offer permessage-deflate */
    bool compress_takeover; /* bench --compress-takeover: with context takeover */
    bool any;             /* some WebSocket-only option was given */
} ws_cli_opts_t;

void ws_cli_opts_init(ws_cli_opts_t *w);
/* Like conn_opts_handle, for the WebSocket options (the "WebSocket options"
 * of options.def) and --max-retries. */
int ws_cli_opts_handle(ws_cli_opts_t *w, const char *cmd, const opt_hit_t *h);
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
    bool no_time;               /* --no-time: pretty lines without timestamps */
    bool parse_json;            /* --parse-json */
    unsigned indent;            /* --indent: spaces a level (0: one line) */
    const char *record;         /* --record FILE or NULL; argv string */
} conn_opts_t;

void conn_opts_init(conn_opts_t *o);
void conn_opts_free(conn_opts_t *o);

/* Handles one option from opt_parse. Returns 1 when it was a shared option,
 * 0 when not ours, -1 on a bad value (the one-line error is printed: exit
 * 2). */
int conn_opts_handle(conn_opts_t *o, const char *cmd, const opt_hit_t *h);

/* -v (more detail on stderr, repeatable) and -q (errors only), the same in
 * every command: true when h was one of them. */
bool verbosity_handle(const opt_hit_t *h);

/* After parsing: resolves the output format and colour for stdout/stderr,
 * and warns (naming cmd) of options the format makes do nothing. */
int conn_opts_finish(conn_opts_t *o, const char *cmd);

/* -n/--count N and --timeout DUR: how much of a session to wait for. */
typedef struct run_limits {
    uint64_t count;      /* 0: unlimited */
    uint64_t timeout_ms; /* 0: none */
} run_limits_t;

/* Like conn_opts_handle, for --count and --timeout. */
int run_limits_handle(run_limits_t *l, const char *cmd, const opt_hit_t *h);

/* -d/--data DATA|@FILE (listen, bench): DATA itself, or the contents of
 * FILE (@- = standard input), at most CLI_MAX_BODY bytes, appended to body
 * (which is then non-NULL even when empty). Returns 0, or -1 after the
 * one-line error naming cmd (exit 2). */
#define CLI_MAX_BODY (64u << 20)
int read_body_arg(const char *cmd, const char *arg, buf_t *body);

/* Raises the soft descriptor limit (RLIMIT_NOFILE) to the hard one, and
 * with -v says what cmd got. Returns the limit now in force. */
uint64_t nofile_raise(const char *cmd);

#endif
