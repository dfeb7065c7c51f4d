/* recording: `--record FILE` recordings (evcat(1), RECORDINGS), written and
 * read.
 *
 * A recording is JSON Lines. The first line is the header
 *   {"evcat_recording":1,"url":"...","proto":"sse"|"ws","started":"RFC 3339"}
 * then one line per message in the `-o json` shape (event_json.h, evcat(1)
 * OUTPUT FORMATS) plus "t": seconds since the start (a number, microsecond
 * precision), e.g.
 *   {"ts":"...","proto":"ws","dir":"out","type":"text","data":"hi","t":0.0123}
 *   {"ts":"...","proto":"sse","event":"message","data":"x","id":"7","t":1.5}
 * WebSocket recordings hold both directions, pings, pongs and closes.
 *
 * Writing: every line is written with one write(2) as soon as it is complete
 * (no stdio buffering), so an interrupted session loses at most the line
 * being written; the first write error is kept and reported by the caller.
 *
 * Reading: the whole file is untrusted; every problem is reported with its
 * line number ("line 7: \"t\" is not a number"). Unknown fields are ignored
 * (forward compatibility within version 1); a header whose evcat_recording
 * is not 1 is refused with its version named. */
#ifndef EVCAT_RECORDING_H
#define EVCAT_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sse_parser.h"
#include "buf.h"
#include "clock.h"

#define RECORDING_VERSION 1

typedef enum { REC_SSE, REC_WS } rec_proto_t;

/* ---- writing ---- */

typedef struct rec_writer {
    int fd;              /* owned */
    uint64_t start_mono; /* t = (mono_ns() - start_mono) / 1e9 */
    rec_proto_t proto;
    bool failed;         /* a write failed: nothing more is written */
    int errno_saved;
    buf_t line;          /* scratch */
    bool parse_json;     /* --parse-json: a JSON payload also as "json" */
} rec_writer_t;

/* Creates (truncates) path and writes the header for url (shown redacted:
 * pass redact_url()'s result) and proto. Returns 0, or -1 with a one-line
 * reason in err (cannot create the file...) -> exit 2 for the command. */
int rec_open(rec_writer_t *w, const char *path, const char *url, rec_proto_t proto, char *err,
             size_t errlen);
/* One SSE event received at real_ns. */
void rec_sse_event(rec_writer_t *w, const sse_event_t *ev, uint64_t real_ns);
/* One WebSocket message or control frame, in either direction: the same
 * arguments as out_ws_message(). */
void rec_ws_message(rec_writer_t *w, bool in, int type, const void *p, size_t n, uint16_t code,
                    uint64_t real_ns);
/* Returns 0, or -1 if any write failed (errno_saved says why). Closes the fd. */
int rec_close(rec_writer_t *w);

/* What a command does around those, for --record FILE: rec_start creates
 * path (nothing when path is NULL: w->fd stays -1) with a header for url,
 * shown redacted ("-" for standard input), before the command connects.
 * Returns 0, or -1 after the one-line error naming cmd (exit 2). */
int rec_start(rec_writer_t *w, const char *path, const char *cmd, const char *url,
              rec_proto_t proto);
/* Whether the recording is being written. */
static inline bool rec_active(const rec_writer_t *w)
{
    return w->fd >= 0;
}
/* At the end, on every path: closes the recording and reports a write error
 * once; returns exit_code, or EXIT_FAIL for a failed recording when it was
 * EXIT_OK (an interruption or another failure keeps its own code). */
int rec_stop(rec_writer_t *w, const char *path, int exit_code);

/* ---- reading ---- */

typedef struct rec_msg {
    double t;            /* seconds since the start, >= 0 */
    bool in;             /* ws: "dir" == "in"; sse: always true */
    int type;            /* ws: 1 text, 2 binary, 8 close, 9 ping, 10 pong; sse: 0 */
    char *data;          /* owned: text / SSE data / decoded data_b64 / close reason */
    size_t len;
    char *event;         /* sse: owned, the event type ("message" when absent) */
    char *id;            /* sse: owned, "" when absent */
    uint16_t code;       /* ws close: the code (1005 when absent) */
} rec_msg_t;

typedef struct recording {
    rec_proto_t proto;
    char *url;           /* owned, from the header */
    char *started;       /* owned, from the header */
    rec_msg_t *msgs;     /* owned, in file order */
    size_t nmsgs;
    bool truncated;      /* a cut-short last line was left out */
} recording_t;

/* Parses a whole recording held in memory (text[0..len), need not be
 * NUL-terminated). max_message bounds any one payload. Returns 0, or -1 with
 * a one-line reason naming the line in err. t must not decrease from one
 * line to the next. A last line without its newline is parsed when it is
 * complete JSON; when it is not (the line being written when the recorder
 * died), it is left out and `truncated` is set, so the command can warn and
 * still play what was recorded. */
int rec_parse(const char *text, size_t len, size_t max_message, recording_t *out, char *err,
              size_t errlen);
/* Reads path (at most max_file bytes) and parses it. */
int rec_load(const char *path, size_t max_file, size_t max_message, recording_t *out, char *err,
             size_t errlen);
void rec_free(recording_t *r);

#endif
