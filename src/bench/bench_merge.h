/* bench_merge: one test run as N shards on as many hosts (evcat(1),
 * --shard I/N and `bench merge`), put back together exactly: the checks
 * that the shards belong together (one test id and shard count, no index
 * twice, none missing unless a partial merge is asked for), the merge
 * itself (bench_result_merge: counters add, histograms merge exactly,
 * series add by second), and a reader that finds shard forms in a byte
 * stream such as the concatenated `kubectl logs` of a test's pods.
 *
 * Memory: a merger holds one merged result and a name per shard index, not
 * the shards; a reader holds one line (at most BENCH_SHARD_DOC_MAX bytes and
 * a log prefix), so any number of shards, up to BENCH_SHARDS_MAX, merge in
 * the memory of one. */
#ifndef EVCAT_BENCH_MERGE_H
#define EVCAT_BENCH_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "bench_result.h"
#include "buf.h"

/* The shard indices a merge did not get. */
typedef struct bench_missing {
    unsigned *index; /* increasing; owned */
    size_t n;
    unsigned count;  /* the test's shard count */
} bench_missing_t;

void bench_missing_free(bench_missing_t *m);
/* The indices as "1, 3-5, 9" (ranges of consecutive ones), cut with ", ..."
 * when out is too short. */
void bench_missing_format(const bench_missing_t *m, char *out, size_t outlen);

/* Merges shards one at a time into the caller's result. */
typedef struct bench_merger {
    bench_result_t *out;  /* the merge goes here: initialised and empty */
    size_t n;             /* shards merged so far */
    unsigned count;       /* the test's shard count, from the first shard */
    char test_id[BENCH_TEST_ID_MAX + 1]; /* its test id, from the first shard */
    char *first;          /* the first shard's name; owned */
    char **by_index;      /* [count]: the name of the shard that gave each index; owned */
} bench_merger_t;

void bench_merger_init(bench_merger_t *m, bench_result_t *out);
/* Checks the shard r (named `name` in messages: a file name, "-#3") against
 * the ones before and merges it into m->out: 0, or -1 with a one-line reason
 * naming both documents when it is not a shard at all (shard count 0), when
 * its test id or shard count differ from the first shard's (different
 * tests), or when its index was given before. Nothing is merged then. */
int bench_merger_add(bench_merger_t *m, const char *name, const bench_result_t *r, char *err,
                     size_t errlen);
/* Ends the merge: every index 0..count-1 must have been given. *missing
 * (when not NULL; free it with bench_missing_free) gets those that were not.
 * Returns 0; or -1 with a reason in err when no shard was given, or when
 * some are missing and `partial` is false (with partial, the merge of those
 * present stands and the caller says what is missing). The merged result
 * keeps the test id and is no shard itself (index and count 0). */
int bench_merger_finish(bench_merger_t *m, bool partial, bench_missing_t *missing, char *err,
                        size_t errlen);
void bench_merger_free(bench_merger_t *m);

/* A parsed shard and its name, for bench_merge. */
typedef struct bench_shard {
    const char *name;        /* a file name, "-#3" */
    const bench_result_t *r; /* its shard form, parsed */
} bench_shard_t;

/* All of the above on shards[0..n) into out (initialised, empty): 0, or -1
 * with a reason in err (out then holds a part of the merge: free it). */
int bench_merge(const bench_shard_t *shards, size_t n, bool partial, bench_result_t *out,
                bench_missing_t *missing, char *err, size_t errlen);

/* ---- finding shards in a stream ---- */

/* Called with each shard document a reader finds: its name and its parse.
 * Returns 0 to go on, or -1 with a reason in err to stop reading. */
typedef int (*bench_shard_fn)(void *ud, const char *name, const bench_result_t *r, char *err,
                              size_t errlen);

/* Splits a byte stream into lines, and finds in each the shard documents:
 * a line whose text from its first '{' to its end (trailing blanks and CR
 * aside; anything before, such as a log prefix, is ignored) is one JSON
 * object that is a shard form ("evcat_bench_shard":1) or that holds one in a
 * member named "shard_result" (bench --json output, bench_report_json_shard).
 * Other lines, JSON or not, are skipped. A line that names a shard but is no
 * valid one (cut short when a pod died, or over BENCH_SHARD_DOC_MAX) is an
 * error, or with skip_bad is skipped and counted.
 *
 * The k-th shard of a stream is named after the source: "source#k", or
 * just "source" for the first of a file (a source other than "-"). */
typedef struct bench_shard_reader {
    const char *source;   /* a file name or "-": for names and messages */
    bool skip_bad;        /* skip shards that do not parse instead of failing */
    buf_t line;           /* the line being read */
    bool overlong;        /* the line is past the limit: the rest of it is dropped */
    size_t lineno;        /* lines ended so far */
    size_t found;         /* shards found (passed to fn) */
    size_t skipped;       /* with skip_bad: shards skipped */
    char first_skipped[200]; /* with skip_bad: why the first was skipped */
    bool saw_merge;       /* a line held bench merge's own --json ("merged") */
    buf_t whole;          /* the stream's first READER_LINE_MAX bytes (see _end) */
    bool whole_over;      /* it was longer */
} bench_shard_reader_t;

void bench_shard_reader_init(bench_shard_reader_t *rd, const char *source, bool skip_bad);
/* Reads p[0..n); fn gets each shard found. Returns 0, or -1 with a reason in
 * err (naming the source and line): a bad shard (unless skip_bad), more than
 * BENCH_SHARDS_MAX shards, or fn's own reason. */
int bench_shard_reader_feed(bench_shard_reader_t *rd, const void *p, size_t n, bench_shard_fn fn,
                            void *ud, char *err, size_t errlen);
/* The stream has ended: its last line, if it had no newline. When no line
 * held a shard, the whole stream is taken as one document, the way a
 * shard's file looks after a JSON pretty-printer (jq .). */
int bench_shard_reader_end(bench_shard_reader_t *rd, bench_shard_fn fn, void *ud, char *err,
                           size_t errlen);
void bench_shard_reader_free(bench_shard_reader_t *rd);

/* Reads fd to its end through rd (initialised; its counts say what was
 * found and skipped) and merges each shard into m. Returns 0, or -1 with a
 * reason in err (a read error, a bad shard, bench_merger_add's refusal). */
int bench_merger_read_fd(bench_merger_t *m, bench_shard_reader_t *rd, int fd, char *err,
                         size_t errlen);

#endif
