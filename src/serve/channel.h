/* channel: the broadcast channel of evcat serve, without any I/O. Publishing
 * gives an event the next sequence number (its SSE id), formats it once as
 * SSE bytes in a shared sendq_buf, and keeps it in a bounded history from
 * which a reconnecting subscriber resumes after its Last-Event-ID.
 *
 * One sequence numbers every event of the channel, ticks included, and ticks
 * are kept in the history like published messages: an id always names one
 * event, and "every event after id N" is the whole truth about what a
 * subscriber missed. */
#ifndef EVCAT_CHANNEL_H
#define EVCAT_CHANNEL_H

#include "sendq.h"
#include "buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct channel_event {
    uint64_t seq;     /* the SSE id; the first event is 1 */
    sendq_buf_t *sse;  /* owns one reference: "id:", "event:", "data:" lines, blank line */
    const char *type; /* NUL-terminated, into storage */
    size_t type_len;
    const char *data; /* the message as published (NUL-terminated), into storage */
    size_t data_len;
    size_t cost; /* bytes counted against the history's byte bound */
    char storage[];
} channel_event_t;

typedef struct channel channel_t;

/* history: events kept for resuming (0 = none); history_bytes: bound on what
 * they may hold together (the newest event is always kept). */
channel_t *channel_new(size_t history, size_t history_bytes);
void channel_free(channel_t *ch);

/* Publishes one event. type must not contain CR, LF or NUL (the caller
 * checks). Returns the event, owned by the channel and valid until the next
 * channel_publish or channel_free; take references to ev->sse to keep the
 * bytes longer. */
const channel_event_t *channel_publish(channel_t *ch, const char *type, size_t type_len,
                                       const char *data, size_t data_len);

/* The id of the newest event (0 before the first). */
uint64_t channel_last_seq(const channel_t *ch);

/* History, oldest first: index 0 .. channel_history_len - 1. */
size_t channel_history_len(const channel_t *ch);
const channel_event_t *channel_history_at(const channel_t *ch, size_t i);
size_t channel_history_bytes(const channel_t *ch);

/* How a subscriber sending Last-Event-ID resumes. */
enum {
    CHANNEL_RESUME_NONE = 0,  /* not an id of this channel (not a number, or
                                 newer than the newest event: another server
                                 run's): nothing is replayed */
    CHANNEL_RESUME_EXACT = 1, /* the events after id are all in history */
    CHANNEL_RESUME_GAP = 2,   /* id is older than the history: some events are
                                 lost; the whole history is replayed, the most
                                 a subscriber can still get */
};
/* Sets *first to the history index to replay from (channel_history_len when
 * nothing is to be replayed). */
int channel_resume(const channel_t *ch, const char *id, size_t id_len, size_t *first);

/* Appends one event in SSE form: "id: N", "event: TYPE" (omitted for
 * "message"), one "data: " line per line of data (split on CRLF, LF or CR,
 * so a client joins them back with LF), and a blank line. */
void channel_format_sse(buf_t *out, uint64_t id, const char *type, size_t type_len,
                        const char *data, size_t data_len);

#endif
