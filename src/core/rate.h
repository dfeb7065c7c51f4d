/* rate: an open-loop scheduler for the load generator. Message k (from 0) is
 * due at start + floor(k * 10^9 / rate) ns, computed from k each time with
 * 128-bit integers rather than by adding a rounded period, so a run at 7/s
 * is exactly on time after 10^9 messages. The scheduler never waits for a
 * reply: when the caller stalls, every message that became due meanwhile is
 * handed out with its own intended time, and latency measured from that time
 * includes the stall (no coordinated omission).
 *
 * The rate is kept in micro-hertz (10^-6 per second): 0.3/s and 1e6/s are
 * exact; a rate must lie in [RATE_MIN, RATE_MAX] per second.
 *
 * The same scheduler paces connection starts (--connect-rate N with
 * -c CONNECTIONS): rate_init_ramp bounds it to `total` messages, and
 * rate_init_ramp_every gives one of several threads its turns of one ramp.
 *
 * Pure: no clock of its own (the caller passes now_ns, e.g. mono_ns()), no
 * I/O, no allocation. */
#ifndef EVCAT_RATE_H
#define EVCAT_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_MIN 1e-6 /* per second: one message every 11.6 days */
#define RATE_MAX 1e9  /* per second: one message per ns */

/* Fields are rate.c's; read them through the functions below. */
typedef struct rate {
    uint64_t start_ns; /* when message 0 is due */
    uint64_t uhz;      /* messages per 10^6 s */
    uint64_t next;     /* sequence number of the next message to hand out */
    uint64_t limit;    /* messages in all; UINT64_MAX: unbounded */
    uint64_t due_ns;   /* rate_due(next), kept: pacing asks for it every message */
    uint64_t stride;   /* message k is message k * stride + phase of the schedule */
    uint64_t phase;    /* at uhz (1 and 0 but for rate_init_ramp_every) */
} rate_t;

/* per_second messages a second from start_ns on, unbounded. Returns 0, or
 * -1 (r untouched) when per_second is not a number in [RATE_MIN, RATE_MAX]. */
int rate_init(rate_t *r, double per_second, uint64_t start_ns);
/* The same for exactly `total` messages (connections), total >= 1. */
int rate_init_ramp(rate_t *r, double per_second, uint64_t start_ns, uint64_t total);
/* Every stride-th turn of a ramp at per_second from start_ns, from turn
 * `phase` on, `total` of them: message k is due when turn k * stride + phase
 * is. The schedules of phases 0 .. stride - 1 make that one ramp between
 * them, one turn each in turn (--connect-rate paced over several threads
 * and processes), with no rounding of per_second / stride. Returns -1 (r
 * untouched) as rate_init_ramp does, and when phase >= stride or the last
 * turn, (total - 1) * stride + phase, is past UINT64_MAX. */
int rate_init_ramp_every(rate_t *r, double per_second, uint64_t start_ns, uint64_t total,
                         uint64_t stride, uint64_t phase);

/* The intended time of message k; UINT64_MAX when k is past the limit (or
 * past the year 2554). */
uint64_t rate_due(const rate_t *r, uint64_t k);
/* The intended time of the next message to hand out; UINT64_MAX when done. */
uint64_t rate_next_due(const rate_t *r);
/* How long from now_ns until it: 0 when it is already due (arm a timer with
 * this); UINT64_MAX when done. */
uint64_t rate_delay_ns(const rate_t *r, uint64_t now_ns);

/* Hands out the messages due at now_ns, oldest first, at most max_batch of
 * them: returns their number n and sets *first_seq to the first one's
 * sequence number; message first_seq + i was intended for
 * rate_due(r, first_seq + i). What is left over stays due for the next call. */
uint64_t rate_take(rate_t *r, uint64_t now_ns, uint64_t max_batch, uint64_t *first_seq);
/* One at a time: true and the message's intended time when one is due. */
bool rate_pop(rate_t *r, uint64_t now_ns, uint64_t *intended_ns);

/* How many messages are due strictly before start + span_ns (the k with
 * k / rate < span: at 10/s, 10 in 1 s and 15 in 1.5 s, as k6's
 * constant-arrival-rate), at most the limit. */
uint64_t rate_due_within(const rate_t *r, uint64_t span_ns);
/* The same for per_second messages a second, without a rate_t; 0 when
 * per_second is not a valid rate. */
uint64_t rate_count_within(double per_second, uint64_t span_ns);

/* Messages handed out so far; whether a ramp has handed out all of them. */
uint64_t rate_taken(const rate_t *r);
bool rate_finished(const rate_t *r);
/* When a ramp's last message is due (when all connections have started);
 * UINT64_MAX for an unbounded rate. */
uint64_t rate_ramp_end_ns(const rate_t *r);

#endif
