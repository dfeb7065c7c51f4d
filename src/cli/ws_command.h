/* ws_command: what `evcat ws` (listen ws://, send) and `evcat replay` share
 * around one ws_client: the loop, stdout, the --record file, an exit code
 * decided before the end (a signal, a failed stdout, a timeout) or at it,
 * and the linger before our close at the end of what we had to send.
 *
 * Each command embeds a ws_command_t as the FIRST member of its own state, so
 * ws_command_on_sent can serve as its ws_client on_sent callback as it is. */
#ifndef EVCAT_WS_COMMAND_H
#define EVCAT_WS_COMMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "cliopt.h"
#include "loop.h"
#include "output.h"
#include "recording.h"
#include "ws_client.h"

/* The linger: close once replies have been quiet this long, at most
 * LINGER_MAX_MS after it started. An asynchronous echo server would
 * otherwise see our close before it had answered the last messages. */
#define WSCMD_LINGER_QUIET_MS 250
#define WSCMD_LINGER_MAX_MS   2000

typedef struct ws_command {
    loop_t *loop;
    ws_client_t *c;
    out_t out;
    rec_writer_t rec;      /* --record (rec.fd < 0: none) */
    int exit_code;
    int forced_code;       /* decided before the end, or -1 */
    bool done;
    bool we_closed;        /* ws_command_close was called */
    loop_timer_t linger;   /* initialised by the command, with its own callback */
    uint64_t linger_until;
} ws_command_t;

/* Exit code 0, nothing forced, no recording; the rest is the command's. */
void ws_command_init(ws_command_t *k);

/* The end, once: the exit code is the forced one if any, else code. */
void ws_command_finish(ws_command_t *k, int code);

/* Writes what stdout holds. When that fails (a closed pipe, a full disk)
 * the session ends: close 1000 and finish with out_flush_checked's code. */
void ws_command_flush(ws_command_t *k);

/* Our close (also stops the linger). */
void ws_command_close(ws_command_t *k, uint16_t code, const char *reason);

/* Starts the linger: the command's linger callback will close. */
void ws_command_linger(ws_command_t *k);

/* A message came in: a running linger waits for quiet again (capped). */
void ws_command_heard(ws_command_t *k);

/* SIGINT/SIGTERM: the exit code (130, or 128 + signo), "interrupted", and a
 * best-effort close 1001. The caller then flushes its way and finishes. */
void ws_command_interrupted(ws_command_t *k, int signo);

/* ws_client on_sent: pings and closes we sent go to the recording (which
 * holds both directions); they are not shown. ud: the command's state,
 * whose first member is its ws_command_t. */
void ws_command_on_sent(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code);

/* After loop_run: frees the client, writes what is left, frees the loop
 * (the command has stopped its own timers) and stdout, closes the
 * recording. Returns the exit code (see conn_record_close). */
int ws_command_end(ws_command_t *k, const conn_opts_t *co);

/* A WebSocket message in either direction, with one time for both: in the
 * recording (when there is one), and on stdout as o's format says when show. */
void ws_command_message(out_t *o, rec_writer_t *w, bool in, int type, const void *p, size_t n,
                        uint16_t code, uint64_t rtt, bool show);

#endif
