/* bench_report: what a finished run says — the text summary (one column,
 * or two side by side for two URLs), the JSON summary (the fields evcat(1) lists under BENCH), and
 * the metrics --assert checks. */
#ifndef EVCAT_BENCH_REPORT_H
#define EVCAT_BENCH_REPORT_H

#include <stdio.h>

#include "bench_assert.h"
#include "bench_result.h"

typedef struct bench_report {
    const char *url;      /* redacted for display */
    const char *mode;     /* "echo", "subscribe", "sse" */
    double connect_rate;  /* asked for */
    const bench_result_t *r;
} bench_report_t;

void bench_report_metrics(const bench_result_t *r, bench_metrics_t *m);

/* The connect rate the ramp reached: n connections paced at N/s start over
 * (n - 1) / N seconds, so it is the intervals between them over the ramp,
 * (established - 1) / ramp_s (not established / ramp_s, which reads
 * 10.7/s for 15 at 10/s). The ramp runs from the first attempt's start to
 * the last one's settling, so the last handshake's time counts against it
 * (it reads a little under N) but a slow first handshake does not raise
 * it. -1 with fewer than two established or no ramp. */
double bench_report_connect_rate(const bench_result_t *r);

/* The text summary of n (1 or 2) runs. */
void bench_report_text(FILE *f, const bench_report_t *reps, size_t n);

/* Each assertion with \u2713 or \u2717 and the value measured (a column per
 * run), under an "assertions" heading; nothing without assertions. */
void bench_report_asserts(FILE *f, const bench_report_t *reps, size_t n,
                          const bench_assert_t *asserts, size_t nasserts);

/* One run as the --json object (with the assertions' outcomes when given:
 * ok[i] for asserts[i]). */
void bench_report_json(buf_t *out, const bench_report_t *rep, const bench_assert_t *asserts,
                       const bool *ok, size_t nasserts);
/* The same object with the shard's place ("shard":{"index","count"}),
 * "test_id" and "started_at", and one more member, "shard_result": the run's shard
 * form (bench_result_to_shard_json), which bench_shard_reader (bench_merge.h)
 * finds in a --json line, so that one file serves both the summary and a
 * merge. */
void bench_report_json_shard(buf_t *out, const bench_report_t *rep, const bench_assert_t *asserts,
                             const bool *ok, size_t nasserts);

/* What bench merge merged: shards shards of a test of count, missing the
 * indices missing[0..nmissing) (--partial). */
typedef struct bench_merged {
    size_t shards;
    unsigned count;
    const unsigned *missing;
    size_t nmissing;
} bench_merged_t;

/* A merge's --json object: bench_report_json's, with
 * "merged":{"shards","count","missing":[...]}, "test_id" and "started_at".
 * It is no shard (no "shard", no "shard_result"): the shards' own files
 * are what merges. */
void bench_report_json_merged(buf_t *out, const bench_report_t *rep, const bench_merged_t *m,
                              const bench_assert_t *asserts, const bool *ok, size_t nasserts);

#endif
