/* evcat ws URL and evcat send URL [MSG...]: their options and arguments;
 * the session itself is ws_run's (ws_run.c), which evcat listen ws://URL
 * runs too. */
#include "cliopt.h"
#include "commands.h"
#include "diag.h"
#include "exitcode.h"
#include "units.h"
#include "url_typo.h"
#include "ws_run.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- commands ---- */

/* What ws and send take from the command line. */
struct ws_args {
    const char *cmd;
    conn_opts_t co;
    ws_cli_opts_t w;
    run_limits_t lim;
};

static int ws_option(void *ud, const opt_hit_t *h)
{
    struct ws_args *a = ud;
    int r = conn_opts_handle(&a->co, a->cmd, h);
    if (r == 0)
        r = ws_cli_opts_handle(&a->w, a->cmd, h);
    if (r == 0)
        r = run_limits_handle(&a->lim, a->cmd, h);
    if (r == 0)
        r = opt_unhandled(a->cmd, h);
    return r < 0 ? -1 : 0;
}

/* The URL, and for send the messages: -1 after the one-line error. */
static int ws_check_operands(const struct ws_args *a, bool is_send, const char *url, int nmsgs,
                             char **msgs)
{
    const char *cmd = a->cmd;
    if (url_typo_check(cmd, NULL, url, URL_WEBSOCKET) < 0)
        return -1;
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        diag_error("%s: '%s' is an SSE URL; SSE is server-to-client, so there is nothing to %s: "
                  "use 'evcat listen' for it, or a ws:// or wss:// URL",
                  cmd, url, is_send ? "send" : "type");
        return -1;
    }
    if (strncmp(url, "ws://", 5) != 0 && strncmp(url, "wss://", 6) != 0) {
        diag_error("%s: '%s' is not a ws:// or wss:// URL", cmd, url);
        return -1;
    }
    if (!is_send && nmsgs > 0) {
        diag_error("ws: one URL only, got '%s' too (to send messages, use 'evcat send')", msgs[0]);
        return -1;
    }
    if (is_send && nmsgs == 0 && a->w.non_open == 0) {
        diag_error("send: no message to send: give them as arguments, or - to read lines of "
                  "standard input");
        return -1;
    }
    for (int i = 0; i < nmsgs && nmsgs > 1; i++) {
        if (strcmp(msgs[i], "-") == 0) {
            diag_error("send: - (standard input) must be the only message argument");
            return -1;
        }
    }
    return ws_cli_opts_check(&a->w, cmd);
}

static int ws_command(int argc, char **argv, bool is_send)
{
    struct ws_args a = {.cmd = is_send ? "send" : "ws"};
    conn_opts_init(&a.co);
    ws_cli_opts_init(&a.w);
    int rc = EXIT_USAGE;
    int first = opt_parse(is_send ? CMD_SEND : CMD_WS, argc, argv, ws_option, &a);
    if (first == OPT_PARSE_HELP)
        rc = EXIT_OK;
    if (first < 0)
        goto out;
    if (first >= argc) {
        diag_error("%s: a ws:// or wss:// URL is needed (see 'evcat %s --help')", a.cmd, a.cmd);
        goto out;
    }
    url_scheme_lower(argv[first]);
    const char *url = argv[first];
    char **msgs = argv + first + 1;
    int nmsgs = argc - first - 1;
    if (ws_check_operands(&a, is_send, url, nmsgs, msgs) < 0)
        goto out;
    if (conn_opts_finish(&a.co, a.cmd) < 0)
        goto out;
    rc = ws_run(is_send ? WS_RUN_SEND : WS_RUN_PIPE, url, &a.co, &a.w, a.lim.count, a.lim.timeout_ms,
                msgs, nmsgs);
out:
    conn_opts_free(&a.co);
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
