/* cmd_bench: the parts of `evcat bench URL [URL2]` and what they share.
 *   cmd_bench.c           options, their checks, the runs, the summary,
 *                         --json and --assert;
 *   cmd_bench_target.c    one URL: its address, source addresses, worker
 *                         processes and threads, and the run;
 *   cmd_bench_workers.c   the run over worker processes;
 *   cmd_bench_progress.c  the progress line on stderr. */
#ifndef EVCAT_CMD_BENCH_H
#define EVCAT_CMD_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "bench_assert.h"
#include "bench_run.h"
#include "cliopt.h"
#include "ws_client.h"

#define MAX_ASSERTS 64
#define MAX_PROCS   64

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
    const char *json;
    bench_assert_t asserts[MAX_ASSERTS];
    size_t nasserts;
    bool quiet;
} bench_opts_t;

/* ---- progress: a line a second on stderr (one updating line on a tty) ---- */

typedef struct progress {
    bool tty, quiet, printed;
    double last_s;
    bench_counters_t last;
} progress_t;

/* bench_run's progress callback; ud: the progress_t. */
void progress_show(const bench_progress_t *p, void *ud);
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

#endif
