/* bench_plan: how many worker threads a process needs when -t is not
 * given: as many as the offered work needs, at most one per core.
 *
 * The work is known beforehand only in echo mode with a message rate
 * (connections x rate messages a second, each one a send and a receive).
 * One thread then takes up to BENCH_PLAN_MSGS messages a second, up to
 * BENCH_PLAN_CONNS connections, and up to BENCH_PLAN_CONNECTS connection
 * starts a second of the ramp (--connect-rate; counted only for a ramp of
 * at least BENCH_PLAN_RAMP_MIN connections: a few hundred connections are
 * open within a few tens of ms whatever the threads); the largest of the
 * three needs wins. Every other mode (subscribe, SSE,
 * replay) depends on what the server sends: one thread per core, as
 * before. More threads than needed cost CPU per message: each thread
 * wakes on every send boundary of the grid for its share of the connections, and
 * an idle thread wakes for nearly every echo instead of finding several
 * at once (100 connections x 400 msg/s: 0.41 epoll_pwait2 and 0.24
 * context switches a round trip on 2 threads against 0.08-0.10 and 0.08
 * on one; 1.05-1.5x the CPU of one thread, depending on the machine's
 * other load).
 *
 * Measured on loopback against evcat serve (2 cores shared with the
 * server): one thread ran 100 connections x 2,000 msg/s (200,000 a
 * second) at p50 0.68 ms, p99 2.2 ms, 80% of a core; 100,000 a second at
 * 57% of a core. A connection start costs ~90 us of the client's CPU
 * (socket, connect, handshake): 2,000 connections asked at 20,000 a
 * second ramped at ~9,700/s on one thread, ~12,900/s on two. */
#ifndef EVCAT_BENCH_PLAN_H
#define EVCAT_BENCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_PLAN_MSGS     100000.0 /* echo messages a second a thread */
#define BENCH_PLAN_CONNS    5000     /* connections a thread */
#define BENCH_PLAN_CONNECTS 5000.0   /* connection starts a second a thread */
#define BENCH_PLAN_RAMP_MIN 500      /* connections below which the ramp needs no thread */

/* One process's share of the load. */
typedef struct bench_plan_load {
    bool echo;            /* echo mode with a message rate: the rule applies */
    uint64_t connections; /* this process's */
    double message_rate;  /* per connection, per second */
    double connect_rate;  /* this process's, per second */
} bench_plan_load_t;

/* The threads for load on a process that may use max_threads (>= 1: the
 * cores it gets). why (may be NULL) receives a one-line reason for -v,
 * e.g. "echo needs 1 (40000 msg/s at 100000 a thread, 100 connections at
 * 5000, no ramp to speak of), 2 cores". */
unsigned bench_plan_threads(const bench_plan_load_t *load, unsigned max_threads, char *why,
                            size_t whylen);

#endif
