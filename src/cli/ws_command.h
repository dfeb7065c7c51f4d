/* ws_command: one ws_client session as `evcat ws`, `send`, `listen ws://`
 * (ws_run.c) and `evcat replay` run it: the loop with SIGINT and SIGTERM,
 * --timeout, stdout, the --record file, the client and its callbacks, an
 * exit code decided before the end (a signal, a failed stdout, a timeout)
 * or at it, and the linger before our close at the end of what we had to
 * send. What differs between the commands comes in through
 * ws_command_ops_t. */
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

/* The command's part. Each hook gets the ud given to ws_command_init and
 * is called from the client callback, timer or signal it is named after,
 * once the common part its comment names is done. */
typedef struct ws_command_ops {
    /* The connection opened (again, after a reconnect). Required. */
    void (*open)(void *ud);
    /* An incoming text or binary message, once shown, recorded, counted in
     * received and heard (ws_command_heard). May be NULL. */
    void (*message)(void *ud, ws_type_t type, const uint8_t *p, size_t n);
    /* The peer's close, once shown and recorded. May be NULL. */
    void (*peer_close)(void *ud, uint16_t code, const char *reason, size_t len);
    /* After a batch of reads, once stdout was written. May be NULL. */
    void (*batch)(void *ud);
    /* The client ended with code, stdout written: returns the code the
     * session ends with (a forced one still wins). NULL: code as is. */
    int (*end)(void *ud, int code);
    /* Writes stdout the command's way (the REPL's: above its prompt).
     * NULL: ws_command_flush. */
    void (*emit)(void *ud);
    /* SIGINT or SIGTERM, before "interrupted" and our close 1001. May be
     * NULL. */
    void (*interrupted)(void *ud);
    /* --timeout is reached: decide the exit code, and close. Required
     * when a timeout is given. */
    void (*timeout)(void *ud);
    /* The linger is over: close. NULL: ws_command_close with 1000. */
    void (*linger_over)(void *ud);
} ws_command_ops_t;

typedef struct ws_command {
    const ws_command_ops_t *ops;
    void *ud;
    loop_t *loop;
    ws_client_t *c;
    ws_client_opts_t copts; /* the client's options, for its whole life */
    out_t out;
    rec_writer_t rec;      /* --record (rec.fd < 0: none) */
    uint64_t count;        /* --count: text and binary messages past it are
                            * dropped unseen (0: no limit) */
    uint64_t received;     /* text and binary messages received */
    bool quiet_in;         /* text and binary messages recorded, not printed
                            * (send without --count) */
    int exit_code;
    int forced_code;       /* decided before the end, or -1 */
    bool done;
    bool we_closed;        /* ws_command_close was called */
    loop_timer_t timeout;  /* --timeout */
    loop_timer_t linger;
    uint64_t linger_until;
} ws_command_t;

/* Exit code 0, nothing forced, no recording, no loop yet; the hooks. */
void ws_command_init(ws_command_t *k, const ws_command_ops_t *ops, void *ud);

/* --record (co->record) for url, before connecting, named after cmd.
 * Returns 0; 1 for a URL ws_client_start will refuse, which gets no
 * recording (reported as "cmd: why" when report_bad_url, else left to
 * ws_command_start); -1 when the recording cannot be created (reported). */
int ws_command_record(ws_command_t *k, const conn_opts_t *co, const char *cmd, const char *url,
                      bool report_bad_url);

/* The loop, with SIGINT and SIGTERM handled and --timeout (timeout_ms, 0:
 * none) armed, and stdout: out_fd in fmt, coloured as color says. */
void ws_command_open(ws_command_t *k, int out_fd, out_format_t fmt, color_mode_t color,
                     uint64_t timeout_ms);

/* The client for url (co's connection settings, w's WebSocket options),
 * started. Returns 0, or -1 with the exit code set to 2 (a bad URL,
 * reported). Then loop_run(k->loop) runs the session. */
int ws_command_start(ws_command_t *k, const char *url, const conn_opts_t *co,
                     const ws_cli_opts_t *w);

/* The end, once: the exit code is the forced one if any, else code. */
void ws_command_finish(ws_command_t *k, int code);

/* Writes what stdout holds. When that fails (a closed pipe, a full disk)
 * the session ends: close 1000 and finish with out_flush_checked's code. */
void ws_command_flush(ws_command_t *k);

/* Our close (also stops the linger). */
void ws_command_close(ws_command_t *k, uint16_t code, const char *reason);

/* Starts the linger: ops->linger_over will close. */
void ws_command_linger(ws_command_t *k);

/* A message came in: a running linger waits for quiet again (capped). */
void ws_command_heard(ws_command_t *k);

/* SIGINT/SIGTERM: the exit code (130, or 128 + signo), "interrupted", and a
 * best-effort close 1001. The caller then flushes its way and finishes. */
void ws_command_interrupted(ws_command_t *k, int signo);

/* The client's on_sent (ud: k): pings and closes we sent go to the
 * recording (which holds both directions); they are not shown. */
void ws_command_on_sent(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code);

/* A WebSocket message in either direction, with one time for both: in the
 * recording (when there is one), and on stdout as its format says when
 * show. */
void ws_command_message(ws_command_t *k, bool in, int type, const void *p, size_t n, uint16_t code,
                        uint64_t rtt, bool show);

/* After loop_run: frees the client, writes what is left, stops --timeout
 * and the linger, frees the loop (the command has stopped its own timers)
 * and stdout, closes the recording. Returns the exit code (see rec_stop). */
int ws_command_end(ws_command_t *k, const conn_opts_t *co);

#endif
