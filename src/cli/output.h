/* output: what evcat writes to stdout — messages only, in the format the user
 * chose (evcat(1), OUTPUT FORMATS). Lines are built in a buffer and written
 * with write(2) when the caller flushes: commands flush once per batch of
 * input (a network read or a stdin chunk), so a consumer such as `| jq` sees
 * every event as soon as it has arrived, without a syscall per event when
 * events come in bulk. */
#ifndef EVCAT_OUTPUT_H
#define EVCAT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "sse_parser.h"
#include "buf.h"
#include "clock.h"

typedef enum { OUT_PRETTY, OUT_RAW, OUT_JSON } out_format_t;
typedef enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } color_mode_t;

typedef struct out {
    int fd;
    out_format_t format;
    bool color;
    bool no_time;  /* pretty: no timestamp before each line (--no-time) */
    bool parse_json;  /* json: a JSON payload also as "json" (--parse-json) */
    unsigned indent;  /* pretty: JSON payloads indented by this (--indent; 0: one line) */
    bool failed;   /* a write failed; errno_saved says why */
    int errno_saved;
    bool reported; /* out_flush_checked reported the failure */
    buf_t buf;     /* pending output; owned */
    /* Pending output as pieces once out_raw_ref was used: spans of the
     * caller's memory and stretches of buf (p NULL: buf from off), written
     * with one writev. buf_mark: how much of buf the pieces cover. */
    struct out_piece *pieces; /* owned, OUT_PIECES of them */
    size_t npieces;
    size_t buf_mark;
} out_t;

#define OUT_PIECES 256

/* Parses "pretty", "raw", "json". Returns 0 or -1. */
int out_parse_format(const char *s, out_format_t *f);
int out_parse_color(const char *s, color_mode_t *c);
/* The default format for fd: pretty on a terminal, raw otherwise. */
out_format_t out_default_format(int fd);
/* Whether to colour fd: never/always as asked; auto = a terminal and no
 * (non-empty) NO_COLOR in the environment. */
bool out_use_color(color_mode_t mode, int fd);

void out_init(out_t *o, int fd, out_format_t format, bool color);
void out_free(out_t *o);

/* One SSE event received at real_ns (CLOCK_REALTIME). */
void out_sse_event(out_t *o, const sse_event_t *ev, uint64_t real_ns);

/* One WebSocket message or control frame, in (incoming) or out (sent by
 * us). type: 1 text, 2 binary, 8 close, 9 ping, 10 pong (ws_type_t values).
 * For a close, p/n is the reason and code its code. raw shows incoming text
 * and binary (as base64) only; pretty and json show everything, pretty a
 * binary payload as hex and its printable ASCII, 16 bytes a row, the first
 * OUT_HEX_MAX bytes of it (json in full, as base64). rtt_ns: a
 * pong's round trip, shown in pretty (0: none). */
#define OUT_HEX_MAX 64
void out_ws_message(out_t *o, bool in, int type, const void *p, size_t n, uint16_t code,
                    uint64_t rtt_ns, uint64_t real_ns);

/* Raw output of bytes the caller holds (an event's data and the LF after
 * it, where the input lies), without copying them: p[0..n) must stay valid
 * and unchanged until the next out_flush, which this may also call. */
void out_raw_ref(out_t *o, const char *p, size_t n);

/* Writes what is pending. Returns 0, or -1 when the write failed (EPIPE from
 * a closed pipe included); the error sticks. */
int out_flush(out_t *o);

/* out_flush for commands: on the first failure, reports it (a reader that
 * went away, EPIPE, quietly: `| head` is a normal end) and returns false
 * with the exit code to end with (EXIT_OK for EPIPE, EXIT_FAIL otherwise);
 * after that, pending output is dropped and true is returned. */
bool out_flush_checked(out_t *o, int *exit_code);

#endif
