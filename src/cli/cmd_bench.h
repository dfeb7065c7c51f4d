/* cmd_bench: the parts of `evcat bench URL [URL2]` and what they share.
 *   cmd_bench.c           options, their checks, the runs, the summary,
 *                         --json and --assert;
 *   cmd_bench_target.c    one URL: its address, source addresses, worker
 *                         processes and threads, and the run;
 *   cmd_bench_workers.c   the run over worker processes;
 *   cmd_bench_progress.c  the progress line on stderr;
 *   cmd_bench_shard.c     --shard, --start-at and `bench merge`;
 *   cmd_bench_replay.c    --replay FILE: its options, the recording and
 *                         the script every connection shares. */
#ifndef EVCAT_CMD_BENCH_H
#define EVCAT_CMD_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "bench_assert.h"
#include "bench_report.h"
#include "bench_result.h"
#include "bench_run.h"
#include "cliopt.h"
#include "ws_client.h"

#define MAX_ASSERTS 64
#define MAX_PROCS   64

/* --replay FILE and the options that go with it (cmd_bench_replay.c). */
typedef struct bench_replay_opts {
    const char *file;        /* --replay; NULL: not a replay */
    double speed;            /* --speed (default 1) */
    bool speed_set, no_timing, expect, tmpl;
    recording_t rec;         /* owned: read once, before any connection */
    replay_script_t script;  /* owned: over rec, shared by every connection */
} bench_replay_opts_t;

/* The options of bench's own (the shared ones are in conn_opts_t and
 * ws_cli_opts_t). Defaults: options.def. */
typedef struct bench_opts {
    uint64_t connections;
    double connect_rate;
    uint64_t duration_ns;
    unsigned threads;   /* 0: default */
    unsigned procs;     /* 0: automatic */
    const char *source; /* --source list */
    int mode;           /* -1 default, BENCH_WS_ECHO, BENCH_WS_SUBSCRIBE */
    double message_rate;
    uint64_t size;
    bool rate_set, size_set;
    const char *latency_field;
    const char *publish;
    double publish_rate;
    bool publish_rate_set;
    long publish_timeout_ms;     /* --publish-timeout */
    bool publish_timeout_set;
    bool sse_curl;               /* --sse-driver curl: SSE subscribers on libcurl */
    bool sse_driver_set;
    const char *json;
    const char *report, *hgrm, *junit; /* --report, --hgrm, --junit FILE */
    bool format_json;   /* -o json: --json - */
    bench_assert_t asserts[MAX_ASSERTS];
    size_t nasserts;
    bool quiet;
    /* --shard I/N (shard_count 0: not a shard), --start-at (0: none), and
     * what `bench merge` takes (--partial; a run option given to merge is
     * named in run_option). */
    unsigned shard_index, shard_count;
    uint64_t start_at_ns;
    bool partial;
    const char *run_option;
    double whole_connect_rate; /* --connect-rate of the whole test */
    const bench_merged_t *merged; /* bench merge: what it merged (--json says), else NULL */
    char test_id[BENCH_TEST_ID_MAX + 1];
    uint64_t first_index;      /* --shard: the test-wide number of its first connection */
    bench_replay_opts_t replay;
    /* SSE streams as requests: on with -X, --data, --requests or
     * --arrival-rate (stream_option: the first of those given, for
     * messages); the body is read from data_arg after the checks. */
    bool streams;
    const char *stream_option;
    const char *method;
    const char *data_arg;
    buf_t body; /* owned */
    uint64_t requests;
    double arrival_rate;
    /* --arrival-rate's streams due strictly before --duration's end (rate x
     * duration, as k6's constant-arrival-rate), this shard's share with
     * --shard; UINT64_MAX: no bound (--requests without --duration) */
    uint64_t arrivals;
    const char *end_data;
    bool end_data_set;
    uint64_t idle_timeout_ms;
    bool idle_timeout_set, duration_set, connect_rate_set;
} bench_opts_t;

/* What bench takes from the command line. */
struct bench_args {
    conn_opts_t co;
    ws_cli_opts_t wo;
    bench_opts_t o;
};

/* Sets the defaults and parses argv (argv[0]: the command's name). Returns
 * opt_parse's result; conn_opts_free(&a->co) is due either way. */
int bench_args_parse(struct bench_args *a, int argc, char **argv);

/* The text summary of nres (1 or 2) results, --json (an array with two
 * URLs when array) and --assert. Returns the exit code, given rc so far. */
int bench_report_all(const bench_opts_t *o, const bench_report_t *reps, size_t nres, bool array,
                     FILE *jf, int rc);
/* Before a run: each file --report, --hgrm (one per URL of nres) and
 * --junit will write can be created (it is, empty). Returns 0, or -1 after
 * the one-line error. */
int bench_exports_check(const bench_opts_t *o, size_t nres);


/* ---- progress: a line a second on stderr (one updating line on a tty) ---- */

typedef struct progress {
    bool tty, quiet, printed;
    double last_s;
    bench_counters_t last;
    /* for the terminal's line: the phase's start and expected lengths */
    bench_phase_t phase;
    double phase_start_s;
    double connect_rate; /* this process's, per second */
    double duration_s;   /* the measurement */
    const char *out_label; /* what "msgs out" are: "out", or "published" (subscribers) */
    double seen_s; /* the latest elapsed time a report gave (the last line's) */
} progress_t;

/* bench_run's progress callback; ud: the progress_t. */
void progress_show(const bench_progress_t *p, void *ud);
/* After a run that measured (res->measure_s > 0), unless quiet: the last
 * line, "measured Ns: msgs out X/s in Y/s", the summary's own rates. */
void progress_measured(progress_t *pr, const bench_result_t *res);
/* After a run: ends the updating line, and starts afresh for the next. */
void progress_end(progress_t *pr);

/* ---- worker processes ---- */

/* Runs cfg's load over nprocs worker processes, each a shard of it, merging
 * their results into *out (whose target is the whole of cfg->connections).
 * Returns 0, or -1 with err set. */
int workers_run(const bench_config_t *cfg, const bench_driver_t *drv, const bench_pub_config_t *pub,
                unsigned nprocs, progress_t *pr, bench_result_t *out, char *err, size_t errlen);

/* ---- a target: one URL ---- */

typedef struct target {
    const char *url; /* argv string */
    char *display;   /* the URL with its password hidden; owned */
    bench_kind_t kind;
    ws_url_t u; /* owned when parsed */
    bool parsed;
    /* Why no connection was established, worded as listen words it
     * ("connection refused by 127.0.0.1:1"); "" when some were, or when
     * the errors do not say. Set by target_run. */
    char why_none[160];
} target_t;

/* Parses url for mode (-1, BENCH_WS_ECHO or BENCH_WS_SUBSCRIBE). Returns 0,
 * or -1 after the one-line error; either way target_free is due. */
int target_parse(const char *url, int mode, target_t *t);
void target_free(target_t *t);
/* "sse", "echo" or "subscribe". */
const char *target_mode_name(bench_kind_t k);

/* Runs the load against t. isolate: in worker processes of its own even
 * when one would do (with two URLs, so that one's peak RSS and CPU time are
 * not counted in the other's). Returns 0 with *res filled, 1 when the run
 * could not happen (reported), 2 for usage errors found late. */
int target_run(const bench_opts_t *o, const conn_opts_t *co, const ws_cli_opts_t *wo, target_t *t,
               bool isolate, progress_t *pr, bench_result_t *res);

/* ---- shards (cmd_bench_shard.c) ---- */

/* Parses "I/N" (I from 0, N from 1 to BENCH_SHARDS_MAX). Returns 0, or -1
 * after the one-line error. */
int shard_parse(const char *arg, unsigned *index, unsigned *count);
/* Whether `bench merge` takes this option (the report options). */
bool merge_takes(int id);
/* With --shard: the test's id, then this shard's share of the load (o is
 * changed). Returns 0, or -1 after the one-line error. */
int shard_plan(bench_opts_t *o, const ws_cli_opts_t *wo, const target_t *tg, size_t ntg, int mode);
/* Marks a result as this shard's (test id, index, count). */
void shard_stamp(const bench_opts_t *o, bench_result_t *r);
/* --start-at: waits until the wall clock reaches at_ns. Returns EXIT_OK,
 * EXIT_USAGE for a time more than a second past, or EXIT_INTERRUPTED for
 * SIGINT or SIGTERM while waiting. */
int start_wait(uint64_t at_ns);
/* `evcat bench merge [OPTIONS] FILE...`. */
int cmd_bench_merge(int argc, char **argv);

/* ---- --replay (cmd_bench_replay.c) ---- */

/* The replay options: 0 taken, 1 not one of them, -1 after the one-line
 * error. */
int bench_replay_option(bench_replay_opts_t *r, const opt_hit_t *h);
/* The replay options against the others and the URLs (an SSE URL is
 * refused); with --replay, o->mode becomes BENCH_WS_REPLAY. Returns 0, or
 * -1 after the one-line error. */
int bench_replay_check(bench_opts_t *o, char **urls, int nurls);
/* Reads and checks the recording and builds the script, once. Returns 0,
 * or -1 after the one-line error naming the file (and line). */
int bench_replay_load(bench_replay_opts_t *r, const ws_cli_opts_t *wo);
/* What of --replay defines the load, for the test's id: "" without it. */
void bench_replay_id(const bench_replay_opts_t *r, char *out, size_t n);
void bench_replay_free(bench_replay_opts_t *r);

#endif
