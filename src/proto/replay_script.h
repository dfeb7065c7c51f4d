/* replay_script: the conversation every connection of `evcat bench --replay
 * FILE` plays (evcat(1), BENCH, "Conversations"), and what it expects back,
 * with no I/O and no clock of its own (bench_ws_replay.c sends and counts).
 *
 * A script is built once from a loaded WebSocket recording (recording.h)
 * before any connection starts, then shared read-only by every worker
 * thread (and, after fork, every worker process). It points into the
 * recording and the --on-open strings, which must outlive it. Each
 * connection keeps only a replay_cursor_t: where it is, not a copy.
 *
 * What is sent, in order: the --on-open messages (due at once), then the
 * recording's outgoing text, binary and ping messages up to its first
 * outgoing close, message i due t_i / speed after the start (the moment the
 * connection opened), or all at once with no_timing. Not sent: outgoing
 * pongs (the driver answers pings itself) and the recorded close (bench
 * closes with 1000 when the measurement ends).
 *
 * What is expected (--expect): the recording's incoming text and binary
 * messages before its incoming close, in order, byte for byte, as `evcat
 * replay --expect` compares them. Incoming pings, pongs and closes are not
 * compared.
 *
 * Latency: a connection's k-th incoming text or binary message stands for
 * the recording's k-th, and is timed from the intended send time (start +
 * at_ns, no coordinated omission) of the outgoing message that preceded
 * the recording's k-th incoming one (from the start when none did), once
 * this connection has sent that message; a message past the recording's
 * incoming ones has no sample.
 *
 * Templates (tmpl): in outgoing text messages, and in expected text
 * messages, `{{conn}}` becomes the connection's number in the whole test
 * (decimal, from 0) and `{{seq}}` the message's number in the
 * connection's conversation: 1 for the first text or binary message it
 * sends (the first --on-open message when there is one), counting those
 * (pings do not count). In an expected message, {{seq}} is that of the
 * outgoing message that preceded it (0 when none did): a reply carries the
 * id of its request. Other `{{...}}` are sent as they are. Binary messages
 * and pings are never rewritten (a substitution would corrupt their
 * bytes). An expansion is bounded: the build refuses a message that could
 * grow past max_message. */
#ifndef EVCAT_REPLAY_SCRIPT_H
#define EVCAT_REPLAY_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "recording.h"

/* The longest {{conn}} and {{seq}} expansions: a uint64_t and a uint32_t
 * in decimal. */
#define REPLAY_CONN_DIGITS 20
#define REPLAY_SEQ_DIGITS  10
/* Characters of a payload quoted in a difference line (as `evcat replay`). */
#define REPLAY_SHOW_MAX 60
/* A cursor's next_in stops here (message numbers are 32-bit). */
#define REPLAY_IN_MAX UINT32_MAX

typedef struct replay_script_opts {
    double speed;                /* > 0; 1 = as recorded */
    bool no_timing;              /* everything due at the start */
    bool expect;                 /* compare what comes back */
    bool tmpl;                   /* expand {{conn}} and {{seq}} */
    const char *const *on_open;  /* sent first; not owned */
    size_t non_open;
    size_t max_message;          /* the largest message, after expansion */
} replay_script_opts_t;

typedef struct replay_out {
    const char *data;  /* into the recording or an --on-open string */
    size_t len;
    uint64_t at_ns;    /* due this long after the start */
    uint32_t seq;      /* {{seq}}; 0 for a ping */
    uint32_t line;     /* in the recording file; 0 for an --on-open message */
    uint8_t type;      /* WS_TEXT, WS_BINARY or WS_PING */
    bool tmpl;         /* text with a field to expand */
} replay_out_t;

typedef struct replay_in {
    const char *data;  /* into the recording */
    size_t len;
    uint32_t after;    /* outs[after] preceded it; UINT32_MAX: none did */
    uint8_t type;      /* WS_TEXT or WS_BINARY */
    bool tmpl;
} replay_in_t;

typedef struct replay_script {
    replay_out_t *outs;  /* owned */
    size_t nouts;
    replay_in_t *ins;    /* owned */
    size_t nins;
    bool expect, tmpl;
    size_t max_out;      /* the largest payload sent, expanded */
    size_t max_in;       /* the largest expected payload, expanded */
    uint64_t content_hash; /* of the recording's messages (replay_script_hash) */
    /* A `{{name}}` that is not a field, in an outgoing or expected text
     * message (a typo, probably): the first one's line (0: none) and name. */
    uint32_t unknown_line;
    char unknown[40];
} replay_script_t;

/* One connection's place in the script: 24 bytes, the whole per-connection
 * cost of a conversation (bench_ws keeps it where an echo connection keeps
 * its rate, which replay does not use). */
typedef struct replay_cursor {
    uint64_t start_ns;  /* when the connection opened: outs are due from here */
    uint32_t next_out;  /* outs sent so far */
    uint32_t next_in;   /* text and binary messages received (stops at REPLAY_IN_MAX) */
    bool diverged;      /* --expect: its first difference has been counted */
} replay_cursor_t;

/* Builds the script of rec (a WebSocket recording) for o. Returns 0, or -1
 * with a one-line reason in err ("line 7: ..." for a message that could
 * outgrow max_message, "an SSE recording ..."); either way
 * replay_script_free is due. */
int replay_script_build(replay_script_t *s, const recording_t *rec, const replay_script_opts_t *o,
                        char *err, size_t errlen);
void replay_script_free(replay_script_t *s);

/* The 64-bit FNV-1a of rec's messages (time to the microsecond, direction,
 * type, close code, payload), stable across hosts and builds: what of the
 * file defines the load (not the header, not the "ts" fields). */
uint64_t replay_script_hash(const recording_t *rec);

/* ---- templates ---- */

/* Expands p[0..n) into out (appended) for connection conn and message
 * number seq. Returns the number of bytes appended. */
size_t replay_expand(buf_t *out, const char *p, size_t n, uint64_t conn, uint32_t seq);
/* How many {{conn}} and {{seq}} p[0..n) holds; the first `{{name}}` that
 * is neither goes to unknown (cut to unknown_len - 1; "" when none). */
void replay_fields(const char *p, size_t n, size_t *nconn, size_t *nseq, char *unknown,
                   size_t unknown_len);

/* ---- a connection's cursor ---- */

/* The connection opened at now. */
void replay_cursor_start(replay_cursor_t *c, uint64_t now);
/* The next outgoing message when it is due at now (the caller sends it and
 * then increments c->next_out), or NULL with *next_due set to when the
 * next one is due (UINT64_MAX: none is left). */
const replay_out_t *replay_cursor_due(const replay_script_t *s, const replay_cursor_t *c,
                                      uint64_t now, uint64_t *next_due);

/* What one incoming text or binary message means. */
typedef struct replay_verdict {
    uint32_t number;     /* its number among the connection's incoming messages, from 1 */
    bool timed;          /* latency_ns is a sample */
    uint64_t latency_ns;
    bool differs;        /* --expect: this connection's first difference */
} replay_verdict_t;

/* Message (type, p[0..n)) arrived at now on connection conn (c advances).
 * With --expect, p is the whole payload and scratch a buffer for the
 * expanded expectation; without, p may be NULL (only n and type count). */
void replay_cursor_incoming(const replay_script_t *s, replay_cursor_t *c, uint64_t conn, int type,
                            const void *p, size_t n, uint64_t now, buf_t *scratch,
                            replay_verdict_t *v);
/* Whether, with --expect, messages the recording promised have not come
 * (and no difference was counted yet): what the end of the measurement
 * makes a difference. */
bool replay_cursor_missing(const replay_script_t *s, const replay_cursor_t *c);

/* ---- the one-line difference ---- */

/* `text "hello"`, `binary "AAEC..."` (base64), `close 1000 "bye"`: a
 * message in one short line, cut after REPLAY_SHOW_MAX characters. */
void replay_describe(buf_t *b, int type, const char *p, size_t n, uint16_t code);
/* "connection 7: message 3 differs: expected text \"a\", got text \"b\"",
 * "...: message 5 was not in the recording: got text \"x\"" for the verdict
 * v of message (type, p, n) on connection conn. */
void replay_line_differs(buf_t *out, const replay_script_t *s, uint64_t conn,
                         const replay_verdict_t *v, int type, const void *p, size_t n);
/* "connection 7: message 4 is missing (expected text \"d\"): why". */
void replay_line_missing(buf_t *out, const replay_script_t *s, const replay_cursor_t *c,
                         uint64_t conn, const char *why);

#endif
