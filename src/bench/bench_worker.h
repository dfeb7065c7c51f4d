/* bench_worker: a worker as its protocol driver sees it: the state the
 * driver runs on (its loop, the config, its own per-worker state), the
 * phase the coordinator announced, and the accounting the driver reports
 * each connection's outcome with (counters and histograms). It knows
 * nothing of the coordinator or of the worker's thread: whoever runs the
 * worker (bench_thread.c; a unit test by hand) fills it in and points it
 * at a bench_control_t.
 *
 * Threads: everything here but the control block belongs to the worker's
 * thread; the coordinator reads the counters only (bench_counters_load)
 * while the worker runs. */
#ifndef EVCAT_BENCH_WORKER_H
#define EVCAT_BENCH_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"
#include "bench_latsec.h"
#include "bench_streams.h"
#include "hist.h"
#include "loop.h"

/* What the coordinator announces to every worker: written by the
 * coordinator's thread only, read by any (atomically). */
typedef struct bench_control {
    int phase;     /* bench_phase_t */
    int abort_now; /* a second signal: end every connection at once */
} bench_control_t;

bench_phase_t bench_control_phase(const bench_control_t *ctl);
void bench_control_set_phase(bench_control_t *ctl, bench_phase_t p);
bool bench_control_aborting(const bench_control_t *ctl);
void bench_control_abort(bench_control_t *ctl);

struct bench_worker {
    const bench_config_t *cfg;
    const bench_driver_t *drv_ops;
    const bench_control_t *ctl; /* the coordinator's announcements */
    unsigned id;            /* 0 .. threads-1 */
    loop_t *loop;
    void *drv;              /* the driver's per-worker state */

    uint64_t nconns;        /* connections this worker opens: local k = 0..nconns-1 */
    bool closing;           /* close_all has been called */
    uint64_t live;          /* started and not ended (attempts included) */

    bench_counters_t c;
    /* Written by the worker's thread, read after the join (the driver's
     * free() is the last to write): WebSocket bytes read and written
     * (handshake and frame headers included, before TLS), connections
     * that agreed on permessage-deflate, the zlib memory's peak. */
    uint64_t wire_sent, wire_received, deflate_conns, zlib_peak_bytes;
    hist_t latency;         /* ns, measure phase only */
    hist_t connect;         /* ns, start to established */
    uint64_t last_settle_ns; /* mono ns the ramp's last attempt settled (bench_add/bench_load) */
    bench_examples_t ex;    /* the first example of each error kind */
    uint64_t t_start;       /* mono ns the run started (second 0 of latsec) */
    bench_latsec_t latsec;  /* latency per second, measure phase only */

    /* --replay --expect: the worker's first difference, one line ("" until
     * one), and when it was seen (UNIX ns, to find the run's first). */
    char mismatch[BENCH_EXAMPLE_MAX];
    uint64_t mismatch_at_ns;
    bench_streams_t streams; /* streams as requests (on when cfg->streams.on) */
};

/* The current phase (any thread). */
bench_phase_t bench_phase(const bench_worker_t *w);

/* ---- called by whoever runs the worker, on its thread ---- */
/* Starts connection number `index` with the driver, counted as attempted
 * and live. */
void bench_worker_start_conn(bench_worker_t *w, uint64_t index);
/* Stops the worker's loop once it is closing and no connection is left. */
void bench_worker_check_done(bench_worker_t *w);

/* ---- called by drivers, on the worker's thread ---- */
void bench_connected(bench_worker_t *w, uint64_t connect_ns);
void bench_failed(bench_worker_t *w, bench_err_t kind);
/* An established connection ended on its own (error or the server closing):
 * before the close phase it is dropped and kind is counted; during the
 * close phase it is simply ended. */
void bench_lost(bench_worker_t *w, bench_err_t kind);
/* A connection (established or still connecting) ended by our close. */
void bench_ended(bench_worker_t *w);
void bench_sent(bench_worker_t *w, uint64_t messages, uint64_t bytes);
void bench_received(bench_worker_t *w, uint64_t messages, uint64_t bytes);
/* One latency sample; recorded during the measure phase only. */
void bench_latency(bench_worker_t *w, uint64_t ns);
/* A subscriber's message (an SSE event's data, a WebSocket message):
 * counted, and its latency taken from its stamp (cfg->latency_field)
 * against the wall clock; one without a stamp is BERR_NO_TIMESTAMP.
 * now_real, when given, caches the clock across the messages of one read
 * (*now_real 0: not read yet); NULL reads it for each message. */
void bench_sub_message(bench_worker_t *w, const char *p, size_t n, uint64_t *now_real);
/* An error that does not end a connection (e.g. BERR_NO_TIMESTAMP). */
void bench_error(bench_worker_t *w, bench_err_t kind);
/* The first example of an error kind: whether this worker has none yet
 * (worth building one), and the one line itself (printf-style), given just
 * before the bench_failed/bench_lost/bench_error that counts it. A kind
 * counted without one gets a generic line. */
bool bench_example_wanted(const bench_worker_t *w, bench_err_t kind);
void bench_example(bench_worker_t *w, bench_err_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A failing exchange in full (request and response head), for -v. */
void bench_example_exchange(bench_worker_t *w, const char *text, size_t len);
/* The first refused SSE response of this worker (both drivers): the
 * http_status example (status, Content-Type, target) and, for -v, the
 * request line with the status. ct: NULL or "" when there was none. */
void bench_status_example(bench_worker_t *w, long code, const char *ct);
/* A BERR_MISMATCH error; the worker keeps the first one's line (example,
 * cut to fit; NULL when the worker has one already: see w->mismatch). */
void bench_mismatch(bench_worker_t *w, const char *example);

/* ---- streams as requests (bench_stream.c), on the worker's thread ----
 * A connection of the run is a slot that runs streams one after another:
 * it is established when it starts (bench_slot_up; it is not a connection
 * of its own, and has no connect time) and ends with bench_ended. Each
 * stream ends once, with one of the three below; connect times are those
 * of the connections the streams opened. */
void bench_slot_up(bench_worker_t *w);
/* A stream opened a connection that took connect_ns. */
void bench_stream_connection(bench_worker_t *w, uint64_t connect_ns);
/* An event of a stream (its end event aside): the first (since_sent_ns
 * from the request) or a later one (gap_ns since the one before). */
void bench_stream_event(bench_worker_t *w, bool first, uint64_t ns);
void bench_stream_completed(bench_worker_t *w, uint64_t events, uint64_t duration_ns);
/* Counts one error of kind. */
void bench_stream_failed(bench_worker_t *w, bench_err_t kind);
void bench_stream_unfinished(bench_worker_t *w);
/* An open-loop arrival that found no free slot. */
void bench_stream_dropped(bench_worker_t *w);

#endif
