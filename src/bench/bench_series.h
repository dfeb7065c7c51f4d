/* bench_series: a run's per-second series: for each whole second since the
 * ramp started (the result's started_at), what happened in it (the
 * counters' increases: attempted, established, failed, dropped, ended,
 * messages and bytes sent and received, errors by kind), the connections
 * open at its end and the phase at its end; how series merge (by second),
 * and their JSON form inside the shard form (bench_result.h).
 *
 * Seconds are indexed from the run's own start. Shards of one test that
 * start their ramps at the same wall-clock instant (evcat(1), --start-at)
 * therefore line up second by second, and merging adds them index by index.
 *
 * Bounded: BENCH_SERIES_MAX seconds (24 h). Seconds past it are not kept:
 * the series is marked truncated (what happened then is still in the
 * result's totals, not in any second), so the series' sums equal the
 * totals only while it is not truncated.
 *
 * A per-second latency histogram is not here yet: a worker's histogram
 * cannot be read while its thread records into it. To add one, give
 * bench_second_t a `hist_t *latency` (NULL for a second without samples;
 * a hist_t is 36 KiB, so allocated only when needed); let each worker record
 * into one histogram per second (a small ring indexed by second, swapped by
 * the worker itself at each second boundary and published with a release
 * store); let the coordinator merge and reset the ring's previous entries
 * once the worker has moved past them; merge them in bench_series_merge with
 * hist_merge, and write them in the JSON form as one more member
 * ("latency":[hist or null, ...]) read back with hist_from_json. */
#ifndef EVCAT_BENCH_SERIES_H
#define EVCAT_BENCH_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "buf.h"

#define BENCH_SERIES_MAX 86400 /* seconds kept: 24 h */

/* Values of one field in one second are at most this in the JSON form (the
 * largest integer a JSON number carries exactly through common parsers). */
#define BENCH_SERIES_VALUE_MAX (UINT64_C(1) << 53)

typedef struct bench_second {
    bench_counters_t d;  /* increases during this second */
    uint64_t open;       /* connections open at its end (bench_counters_open) */
    bench_phase_t phase; /* the phase at its end */
} bench_second_t;

typedef struct bench_series {
    bench_second_t *s;   /* owned; s[i] is second i since the start */
    size_t len, cap;
    bool truncated;      /* a second at or past BENCH_SERIES_MAX was dropped */
} bench_series_t;

void bench_series_init(bench_series_t *s);
void bench_series_free(bench_series_t *s);

/* Second `second`, added (with the seconds before it) when the series is
 * shorter: a new second has no increases, and the open count and phase of
 * the last second before it (0 and RAMP when there is none). NULL past
 * BENCH_SERIES_MAX (the series is then marked truncated). */
bench_second_t *bench_series_at(bench_series_t *s, uint64_t second);

/* Records an observation at t_ns since the start: what the cumulative
 * counters `now` gained since `*seen` goes to the second t_ns falls in,
 * whose open count and phase become now's and `phase`; *seen = *now. */
void bench_series_observe(bench_series_t *s, uint64_t t_ns, const bench_counters_t *now,
                          bench_counters_t *seen, bench_phase_t phase);

/* dst += src, second by second: increases and open counts add; the phase
 * of a second both have is the earlier of the two (the test as a whole is
 * still ramping while any part is); a second only src has is src's. The
 * merged series is as long as the longer; truncated ors. */
void bench_series_merge(bench_series_t *dst, const bench_series_t *src);

/* Appends the JSON object of the series, one array per field, each with
 * one value per second:
 *   {"seconds":N,"truncated":false,"attempted":[...],...,"bytes_received":[...],
 *    "open":[...],"phase":["ramp",...],"errors":{"fd_limit":[...],...}} */
void bench_series_to_json(const bench_series_t *s, buf_t *out);

/* Reads that form from a parsed JSON object (cJSON) into s (empty). The
 * input is untrusted: seconds over BENCH_SERIES_MAX, an array of another
 * length, a value that is not an integer in 0..BENCH_SERIES_VALUE_MAX, an
 * unknown phase, a missing field -> -1 with a one-line reason in err. */
struct cJSON;
int bench_series_from_json(const struct cJSON *o, bench_series_t *s, char *err, size_t errlen);

#endif
