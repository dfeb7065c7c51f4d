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
 * second ramped at ~9,700/s on one thread, ~12,900/s on two.
 *
 * It also splits the connections over processes and threads
 * (bench_plan_part) and gives each thread its turns of the ramp
 * (bench_plan_ramp_turn): --connect-rate N is one connection every 1/N s
 * over all of them, each thread in turn, not each thread at its share of N
 * from the same start (which started them in bunches: -t 2 at 10/s opened
 * two every 0.2 s, and the rate reached read 10.7/s for 16). */
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

/* Part i of `total` split n ways as evenly as may be: the first total % n
 * parts one more than the others (n >= 1). Connections go to worker
 * processes, and a process's to its threads, this way. */
uint64_t bench_plan_part(uint64_t total, unsigned n, unsigned i);

/* The ramp of every worker process together. */
typedef struct bench_plan_ramp {
    uint64_t connections; /* in all (-c, or a --shard's part) */
    unsigned procs;       /* worker processes (>= 1), each given its bench_plan_part */
    unsigned threads;     /* threads in each (>= 1), each given its part of that */
} bench_plan_ramp_t;

/* The turn of thread `thread` of process `proc` among the J = procs x
 * threads: the ramp's connection slots j, j + J, j + 2J, ... are its own,
 * as many as its part of the connections. Those parts are all q or q + 1,
 * q = connections / J; the threads with q + 1 come first, so the slots
 * taken are 0 .. connections - 1 with none left out, and a thread with one
 * fewer just ends a turn sooner. In one process the turn is the thread's
 * number. */
uint64_t bench_plan_ramp_turn(const bench_plan_ramp_t *r, unsigned proc, unsigned thread);

#endif
