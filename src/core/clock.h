/* clock: monotonic and wall-clock time in nanoseconds, RFC 3339 timestamps,
 * and the reconnect backoff that waits on them. */
#ifndef EVCAT_CLOCK_H
#define EVCAT_CLOCK_H

#include <stdint.h>

/* Clocks. mono_ns: CLOCK_MONOTONIC; real_ns: CLOCK_REALTIME, both in ns. */
uint64_t mono_ns(void);
uint64_t real_ns(void);

/* RFC 3339 UTC with microseconds, e.g. 2026-11-23T19:04:54.123456Z.
 * out must hold at least RFC3339_LEN + 1 bytes. Returns out. */
#define RFC3339_LEN 27
char *fmt_rfc3339(char *out, uint64_t real_ns);

/* A reconnect delay: base_ms doubled for each consecutive failure, capped
 * at cap_ms, plus 0-20 % random jitter so that the clients of a restarted
 * server do not all come back in the same millisecond (never earlier than
 * the capped value: a server's retry is a minimum). */
uint64_t backoff_ms(uint64_t base_ms, unsigned failures, uint64_t cap_ms);

#endif
