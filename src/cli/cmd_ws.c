/* evcat ws URL and evcat send URL [MSG...]: their options and arguments;
 * the session itself is ws_run's (ws_run.c), which evcat listen ws://URL
 * runs too. */
#include "cliopt.h"
#include "commands.h"
#include "diag.h"
#include "exitcode.h"
#include "units.h"
#include "ws_run.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- commands ---- */

static const char ws_usage[] =
    "Usage: evcat ws [OPTIONS] URL\n"
    "\n"
    "An interactive WebSocket session (ws:// or wss://). On a terminal: a REPL\n"
    "with line editing and history; slash commands /ping [text], /close [code\n"
    "[reason]], /binary HEX, /help, /quit. Otherwise: each line of standard\n"
    "input is a message, each incoming message a line of output; at the end of\n"
    "input the connection is closed with 1000.\n"
    "\n"
    "Options:\n"
    "  -n, --count N               exit after N incoming messages\n"
    "      --timeout DUR           stop after DUR (exit 4 if --count was not reached)\n"
    "      --max-retries N         with --reconnect: give up after N reconnection attempts\n"
    "  -h, --help                  this help\n";

static const char send_usage[] =
    "Usage: evcat send [OPTIONS] URL [MSG...]\n"
    "\n"
    "Send messages over a WebSocket (ws:// or wss://): the arguments, or each\n"
    "line of standard input with -; then close cleanly with 1000. With -n, wait\n"
    "for N incoming messages first and print them.\n"
    "\n"
    "Options:\n"
    "  -n, --count N               wait for N incoming messages before closing\n"
    "      --timeout DUR           stop after DUR (exit 4 if --count was not reached)\n"
    "      --max-retries N         with --reconnect: give up after N reconnection attempts\n"
    "  -h, --help                  this help\n";

static int ws_command(int argc, char **argv, bool is_send)
{
    enum { OPT_TIMEOUT = OPT_CMD };
    static const struct option longopts[] = {
        CONN_LONGOPTS,
        WS_LONGOPTS,
        RETRY_LONGOPTS,
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = is_send ? "send" : "ws";
    conn_opts_t co;
    conn_opts_init(&co);
    ws_cli_opts_t w;
    ws_cli_opts_init(&w);
    uint64_t count = 0, timeout_ms = 0;
    int rc = EXIT_USAGE, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":" CONN_SHORTOPTS "n:h", longopts, NULL)) != -1) {
        int h = conn_opts_handle(&co, cmd, c, optarg);
        if (h == 0)
            h = ws_cli_opts_handle(&w, cmd, c, optarg);
        if (h < 0)
            goto out;
        if (h > 0)
            continue;
        switch (c) {
        case 'h':
            printf("%s\nWebSocket options:\n%s\nShared options:\n%s", is_send ? send_usage : ws_usage,
                   ws_opts_help, conn_opts_help);
            rc = EXIT_OK;
            goto out;
        case 'n':
            if (parse_uint(optarg, UINT64_MAX, &count) < 0 || count == 0) {
                diag_error("%s: --count '%s' is not a positive whole number", cmd, optarg);
                goto out;
            }
            break;
        case OPT_TIMEOUT:
            if (parse_duration_ms(optarg, &timeout_ms) < 0 || timeout_ms == 0) {
                diag_error("%s: --timeout '%s' is not a duration such as 10s", cmd, optarg);
                goto out;
            }
            break;
        case ':':
            diag_error("%s: option '%s' needs a value", cmd, argv[optind - 1]);
            goto out;
        default:
            diag_error("%s: unknown option '%s' (see 'evcat %s --help')", cmd, argv[optind - 1], cmd);
            goto out;
        }
    }
    if (optind >= argc) {
        diag_error("%s: a ws:// or wss:// URL is needed (see 'evcat %s --help')", cmd, cmd);
        goto out;
    }
    const char *url = argv[optind];
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        diag_error("%s: '%s' is an SSE URL; SSE is server-to-client, so there is nothing to %s: "
                  "use 'evcat listen' for it, or a ws:// or wss:// URL",
                  cmd, url, is_send ? "send" : "type");
        goto out;
    }
    if (strncmp(url, "ws://", 5) != 0 && strncmp(url, "wss://", 6) != 0) {
        diag_error("%s: '%s' is not a ws:// or wss:// URL", cmd, url);
        goto out;
    }
    char **msgs = argv + optind + 1;
    int nmsgs = argc - optind - 1;
    if (!is_send && nmsgs > 0) {
        diag_error("ws: one URL only, got '%s' too (to send messages, use 'evcat send')", msgs[0]);
        goto out;
    }
    if (is_send && nmsgs == 0 && w.non_open == 0) {
        diag_error("send: no message to send: give them as arguments, or - to read lines of "
                  "standard input");
        goto out;
    }
    for (int i = 0; i < nmsgs && nmsgs > 1; i++) {
        if (strcmp(msgs[i], "-") == 0) {
            diag_error("send: - (standard input) must be the only message argument");
            goto out;
        }
    }
    if (ws_cli_opts_check(&w, cmd) < 0)
        goto out;
    conn_opts_finish(&co);
    rc = ws_run(is_send ? WS_RUN_SEND : WS_RUN_PIPE, url, &co, &w, count, timeout_ms, msgs, nmsgs);
out:
    conn_opts_free(&co);
    return rc;
}

int cmd_ws(int argc, char **argv)
{
    return ws_command(argc, argv, false);
}

int cmd_send(int argc, char **argv)
{
    return ws_command(argc, argv, true);
}
