/* bench_assert: the `evcat bench --assert EXPR` thresholds.
 *
 * EXPR is METRIC OP VALUE, spaces optional around OP:
 *   METRIC  time:  p50 p90 p99 p999 max connect_p99 first_event_p99
 *                  event_gap_p99
 *           count: errors connected failed dropped streams_failed
 *                  streams_dropped
 *           rate:  recv_rate sent_rate (messages per second)
 *   OP      < <= > >= ==
 *   VALUE   time:  a decimal with a unit us, ms or s ("50ms", "1.5ms"),
 *                  at most nanosecond precision, at most 1000 h
 *           count: a non-negative integer
 *           rate:  a non-negative decimal ("1000", "0.5")
 * Parsing does no I/O and keeps no state outside the bench_assert_t. */
#ifndef EVCAT_BENCH_ASSERT_H
#define EVCAT_BENCH_ASSERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a run measured, as the assertions see it. */
typedef struct bench_metrics {
    uint64_t p50_ns, p90_ns, p99_ns, p999_ns, max_ns; /* message latency */
    uint64_t connect_p99_ns;                          /* connect time */
    uint64_t errors;                                  /* all kinds together */
    uint64_t connected;                               /* connections established */
    uint64_t failed;                                  /* connections never established */
    uint64_t dropped;                                 /* established, then lost */
    double recv_rate, sent_rate;                      /* messages per second */
    /* Samples behind the time metrics: a time threshold over no samples
     * fails ("no latency samples") instead of holding vacuously. */
    uint64_t latency_samples, connect_samples;
    /* streams as requests (0 otherwise) */
    uint64_t first_event_p99_ns, event_gap_p99_ns; /* time to first event, between events */
    uint64_t streams_failed;
    uint64_t streams_dropped; /* due with no free slot (open loop), never started */
    uint64_t first_event_samples, event_gap_samples;
} bench_metrics_t;

typedef enum { BENCH_OP_LT, BENCH_OP_LE, BENCH_OP_GT, BENCH_OP_GE, BENCH_OP_EQ } bench_op_t;

#define BENCH_ASSERT_TEXT_MAX 64

typedef struct bench_assert {
    unsigned metric; /* index into bench_assert.c's table */
    bench_op_t op;
    uint64_t ns;      /* time metrics: the threshold in ns */
    uint64_t count;   /* count metrics */
    double rate;      /* rate metrics */
    uint64_t unit_ns; /* time metrics: the unit written, to report in it */
    /* "p99 < 50ms": the expression with single spaces around OP, for messages */
    char text[BENCH_ASSERT_TEXT_MAX];
} bench_assert_t;

/* Parses expr into *out. Returns 0, or -1 with a one-line message in err
 * (truncated to errlen) naming the problem: an unknown metric (listing the
 * known ones), a missing or unknown operator, a missing unit, a malformed
 * or out-of-range value. */
int bench_assert_parse(const char *expr, bench_assert_t *out, char *err, size_t errlen);

/* Whether the assertion holds for m. When not, why (truncated to whylen)
 * says so, e.g. "p99 < 50ms failed: p99 was 73.2ms". */
bool bench_assert_eval(const bench_assert_t *a, const bench_metrics_t *m, char *why, size_t whylen);

/* What the run measured for a's metric: text in a's unit ("73.2ms", "12",
 * "998.5") and *value as a number (times in ms, counts, rates per second).
 * False (text "no latency samples", *value 0) when a time metric has no
 * samples behind it. */
bool bench_assert_measure(const bench_assert_t *a, const bench_metrics_t *m, double *value,
                          char *text, size_t textlen);

/* The metric names in table order, space-separated (for usage messages). */
const char *bench_assert_metric_names(void);

#endif
