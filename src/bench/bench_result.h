/* bench_result: what one process's share of a load test measured, in a
 * form that merges exactly across worker processes (and across hosts):
 * counters add, histograms merge, per-second series add by second; the
 * identity of the test and shard it belongs to; and its shard form, the
 * JSON text a worker process hands its parent, or a shard of a test run on
 * many hosts (evcat(1), --shard) hands `evcat bench merge`. */
#ifndef EVCAT_BENCH_RESULT_H
#define EVCAT_BENCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "bench_latsec.h"
#include "bench_series.h"
#include "bench_streams.h"
#include "buf.h"
#include "hist.h"

/* A test id: up to this many lowercase hexadecimal digits ("" = none). */
#define BENCH_URL_MAX 4096 /* a described URL, in bytes */
#define BENCH_MODE_MAX 15
#define BENCH_TEST_ID_MAX 32
/* Shards of one test: at most this many. */
#define BENCH_SHARDS_MAX 10000
/* A shard form's text is at most this long (a 24-hour series with large
 * numbers in every field is about 40 MB), and a parse of it holds at most
 * BENCH_SHARD_VALUES_MAX JSON values (the series' values, both histograms'
 * buckets and the rest, with room to spare: a series' arrays, one per
 * counter and error kind, plus open and phase; three values per histogram
 * bucket): larger input is refused before it is parsed. */
#define BENCH_SHARD_DOC_MAX    (64u << 20)
#define BENCH_SHARD_VALUES_MAX                                                                     \
    ((BENCH_NSCALARS + BERR_COUNT + 3u) * BENCH_SERIES_MAX +                                       \
     4u * BENCH_SHARD_HISTS * HIST_NBUCKETS +                                                      \
     (2u * BENCH_LATSEC_BUCKETS + 4u) * BENCH_LATSEC_MAX + 4096u)
/* Histograms in a shard form: latency, connect, and the four of streams. */
#define BENCH_SHARD_HISTS 6u

typedef struct bench_result {
    uint64_t target;      /* connections asked for */
    bench_counters_t c;   /* totals over the whole run */
    /* messages and bytes counted inside the measurement window */
    uint64_t m_sent, m_received, m_bytes_sent, m_bytes_received;
    hist_t latency;       /* ns */
    hist_t connect;       /* ns */
    double ramp_s;        /* first start to the end of the ramp phase */
    double measure_s;     /* length of the measurement window */
    double cpu_seconds;   /* user + system, this process (or all shards) */
    uint64_t peak_rss_bytes; /* sum over processes */
    uint64_t base_rss_bytes; /* RSS before the first connection, summed */
    unsigned procs, threads;
    bool interrupted;
    int signo; /* what interrupted it, SIGINT or SIGTERM (not carried by shards) */

    /* Which test and shard this is: set by the caller (the command line),
     * carried through the shard form. shard_count 0 (and index 0): not a
     * shard of a larger test. */
    unsigned shard_index, shard_count;
    char test_id[BENCH_TEST_ID_MAX + 1]; /* bench_test_id(); "" = none */
    uint64_t started_at_ns;  /* wall clock (UNIX ns) when the ramp started; 0 = unknown */
    bench_series_t series;   /* second i = [started_at + i s, started_at + (i+1) s) */

    /* What was run, for a merge's summary: the URL as shown (password
     * hidden; owned, NULL = unknown), the mode ("echo", "subscribe",
     * "sse"; "" = unknown) and the connect rate asked for (0 = unknown).
     * Optional in the shard form; a merge keeps the first known. */
    char *url;
    char mode[BENCH_MODE_MAX + 1];
    double connect_rate;

    /* The first example of each error kind (the earliest by wall clock
     * over workers, processes and shards), and one failing exchange in
     * full. Optional in the shard form ("examples", "exchange"). */
    bench_examples_t ex;
    /* Latency per second (bench_latsec.h). Optional in the shard form
     * ("latency_seconds"). */
    bench_latsec_t latsec;
    /* WebSocket bytes on the wire over the whole run (handshakes and frame
     * headers included, before TLS; c.bytes_* are the payload), the
     * connections that agreed on permessage-deflate, and zlib's memory (the
     * sum of each worker's peak). They add in a merge; the shard form
     * carries them (optional there: 0 when absent). */
    uint64_t wire_sent, wire_received, deflate_connections, zlib_peak_bytes;
    /* --replay --expect: the run's first difference from the recording (""
     * when none) and when it was seen (UNIX ns): a merge keeps the
     * earliest. The shard form's optional "mismatch":{"at_ns","example"}. */
    char mismatch[BENCH_EXAMPLE_MAX];
    uint64_t mismatch_at_ns;
    /* SSE streams as requests: their outcomes and timing (off otherwise;
     * the shard form's "streams" when on). */
    bench_streams_t streams;
} bench_result_t;

/* Sets r's description (url is copied). */
void bench_result_describe(bench_result_t *r, const char *url, const char *mode,
                           double connect_rate);

void bench_result_init(bench_result_t *r);
void bench_result_free(bench_result_t *r);
/* dst += src (counts add, histograms merge, series add by second, times take
 * the max, CPU and RSS add, interrupted ors, the earlier first mismatch). Parts of one shard (a -p
 * worker process's results) merge like this, and so do the shards of a
 * test (bench_merge.h checks them first): the identity (test id, shard
 * index and count) is src's when dst has none yet, else dst's is kept;
 * started_at is the earlier one known. */
void bench_result_merge(bench_result_t *dst, const bench_result_t *src);

/* Keeps example (at at_ns, UNIX ns) as r's first mismatch when r has none
 * or a later one; an empty example is none. */
void bench_result_note_mismatch(bench_result_t *r, const char *example, uint64_t at_ns);

/* A test id (BENCH_TEST_ID_MAX >= 16 hex digits): the 64-bit FNV-1a hash of
 * parts[0..n) (each with its terminating NUL, so ("ab","c") and ("a","bc")
 * differ) as 16 lowercase hex digits. Stable across hosts and builds: give
 * it the load-defining options and URLs in a fixed order. */
void bench_test_id(const char *const *parts, size_t n, char out[BENCH_TEST_ID_MAX + 1]);

/* The whole result with both histograms, the series and the identity (a
 * worker process's report to its parent; a shard's for a merge on another
 * host): one JSON object on one line. Besides the totals, it has
 *   "shard":{"index":I,"count":N}, "test_id":"hex", "started_at":"RFC 3339",
 *   "started_at_ns":"UNIX ns", "series":{...} (bench_series_to_json), and for
 *   streams as requests "streams":{"arrival_rate":R,"completed":"N",...,
 *   "first_event":{hist},"event_gap":{hist},"stream":{hist},
 *   "events_per_stream":{hist}}. */
void bench_result_to_shard_json(const bench_result_t *r, buf_t *out);
/* Parses that form and merges it into r (initialised; untouched on error):
 * 0, or -1 with a one-line reason in err. The text is untrusted: over
 * BENCH_SHARD_DOC_MAX bytes or BENCH_SHARD_VALUES_MAX values, a field
 * missing or out of range (a shard index not below its count, a count over
 * BENCH_SHARDS_MAX, a test id that is not 0-32 lowercase hex digits, a
 * started_at that is not started_at_ns's time, a bad series or histogram)
 * -> -1. */
int bench_result_parse_shard(const char *text, size_t len, bench_result_t *r, char *err,
                             size_t errlen);
/* The same from an already parsed JSON object (cJSON). */
struct cJSON;
int bench_result_parse_shard_object(const struct cJSON *o, bench_result_t *r, char *err,
                                    size_t errlen);
/* The first step of bench_result_parse_shard: text as one JSON object
 * (whitespace around it aside) within the bounds above, or NULL with a
 * one-line reason in err. Free it with cJSON_Delete. */
struct cJSON *bench_result_parse_json(const char *text, size_t len, char *err, size_t errlen);
/* bench_result_parse_shard without the reason; -1 on anything malformed. */
int bench_result_from_shard_json(const char *text, size_t len, bench_result_t *r);

#endif
