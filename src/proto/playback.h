/* playback: what `evcat replay FILE --serve` sends of a recording, and when,
 * without any I/O (serve.c does the sending).
 *
 * What is played: the messages the recorded client received.
 *   - SSE: every event, as event-stream text (playback_format_sse).
 *   - WebSocket: the incoming text, binary and ping messages (a ping's
 *     payload of at most 125 bytes); not pongs (they answered the recorded
 *     client's pings; a live client's pings are answered live), not the
 *     outgoing messages (the live client sends its own).
 * When: message i at t_i / speed after the client's stream or WebSocket
 * opened (all at once with --no-timing).
 * How a WebSocket playback ends (playback_end): with the recorded server's
 * close, code and reason, at its time, when the server closed first; else
 * with close 1000 "end of recording" right after the last message. Nothing
 * recorded after the server's close is played. */
#ifndef EVCAT_PLAYBACK_H
#define EVCAT_PLAYBACK_H

#include "recording.h"
#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether r->msgs[i] is sent to a client. */
bool playback_plays(const recording_t *r, size_t i);

typedef struct playback_end {
    size_t end;         /* messages from this index on are not played */
    bool recorded;      /* WebSocket: the close is the recorded server's, at msgs[end].t */
    uint16_t code;      /* WebSocket: the close to send; 0 = a close without a code */
    const char *reason; /* into r (or a constant), reason_len bytes */
    size_t reason_len;
} playback_end_t;

/* Where the playback of r stops and (WebSocket) how it closes. A recorded
 * code that may not be sent (1005 "no code" becomes a close without one;
 * 1006, 1015 and codes outside 1000-4999's sendable ranges become 1000). */
void playback_end(const recording_t *r, playback_end_t *out);

/* The number of messages a client gets. */
size_t playback_count(const recording_t *r);

/* Appends m as one SSE event: an "id:" line when m's id is not empty or
 * resets a previous event's (prev: the event before m in the recording,
 * NULL for the first), "event:" unless the type is "message", one "data:"
 * line per line of data (split on CRLF, LF or CR, which a client joins back
 * with LF), a blank line. CR and LF in an id or a type (a hand-written
 * recording) would end the line early: they are cut there. */
void playback_format_sse(buf_t *out, const rec_msg_t *m, const rec_msg_t *prev);

/* SSE resume: the index after the last event whose id is id (what an
 * EventSource reconnecting after the stream ended sends as Last-Event-ID),
 * or 0 (from the start) when id is empty or no event has it. */
size_t playback_resume(const recording_t *r, const char *id, size_t id_len);

/* Nanoseconds from the start of a playback that began at t0 (seconds into
 * the recording) until message time t, at speed (> 0); bounded to a day. */
uint64_t playback_delay_ns(double t, double t0, double speed);

#endif
