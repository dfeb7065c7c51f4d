/* bench_pub: `bench --publish URL --publish-rate N` — HTTP POSTs of
 * timestamped messages to a publish endpoint (evcat serve's /publish,
 * nchan's publisher location) while the subscribers measure fan-out latency.
 *
 * Each message's body is {"seq":N,"<field>":T}: N counts from 0, T is the
 * message's intended send time as UNIX nanoseconds (the scheduler's intended
 * time, not when the POST actually left: a slow publisher shows up as
 * latency). Messages are paced open-loop by a rate_t; up to
 * BENCH_PUB_INFLIGHT POSTs run at once over kept-alive connections on one
 * libcurl multi handle on the caller's loop; a message that finds every slot
 * busy waits for one (its intended time stays what it was). */
#ifndef EVCAT_BENCH_PUB_H
#define EVCAT_BENCH_PUB_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_settings.h"
#include "loop.h"

#define BENCH_PUB_INFLIGHT 32

typedef struct bench_pub_config {
    const char *url;           /* http(s) */
    double rate;               /* messages per second */
    long timeout_ms;           /* a POST without an answer by then has failed (0: 10 s) */
    const char *field;         /* the timestamp's key, e.g. "ts_ns" */
    const conn_settings_t *co;     /* headers, auth, TLS, timeouts (as for the subscribers) */
    uint64_t duration_ns; /* the messages due strictly before this long after the start
                           * (rate x duration, as k6's constant-arrival-rate); 0: no bound */
} bench_pub_config_t;

typedef struct bench_pub bench_pub_t;

/* Returns NULL with a one-line reason in err (e.g. a URL that is not http(s)). */
bench_pub_t *bench_pub_new(loop_t *l, const bench_pub_config_t *cfg, char *err, size_t errlen);
/* Starts publishing at the configured rate, message 0 due now, the last
 * before duration_ns from now. */
void bench_pub_start(bench_pub_t *p);
/* Stops issuing new messages; POSTs in flight go on to their answer (or
 * their timeout), so a message the endpoint took is counted as sent. */
void bench_pub_stop(bench_pub_t *p);
/* POSTs still waiting for their answer. */
unsigned bench_pub_busy(const bench_pub_t *p);
/* Stops, and drops the POSTs in flight uncounted. */
void bench_pub_abort(bench_pub_t *p);
/* Messages the endpoint accepted (2xx), and POSTs that failed (transport
 * error or another status); the first failure's reason in one line ("" if
 * none). */
uint64_t bench_pub_accepted(const bench_pub_t *p);
uint64_t bench_pub_failed(const bench_pub_t *p);
const char *bench_pub_first_error(const bench_pub_t *p);
void bench_pub_free(bench_pub_t *p);

#endif
