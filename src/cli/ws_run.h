/* ws_run: one WebSocket session as `evcat ws`, `evcat send` and `evcat
 * listen ws://` run it, from the connection to the exit code (evcat(1)). */
#ifndef EVCAT_WS_RUN_H
#define EVCAT_WS_RUN_H

#include <stdint.h>

#include "cliopt.h"

enum { WS_RUN_LISTEN = 0, WS_RUN_SEND = 1, WS_RUN_PIPE = 2 };

/* Runs one WebSocket session to its end and returns the exit code. mode:
 * WS_RUN_*; WS_RUN_PIPE becomes the REPL on a terminal. msgs: what send
 * sends ("-" alone: lines of stdin). */
int ws_run(int mode, const char *url, conn_opts_t *co, const ws_cli_opts_t *w, uint64_t count,
           uint64_t timeout_ms, char **msgs, int nmsgs);

#endif
