/* bench_streams: what SSE streams as requests measured (evcat(1), BENCH:
 * streams as requests): how each stream ended, and the four histograms of
 * its timing and size, in one struct that a worker fills on its own
 * thread, a run's result carries (bench_result.h: its shard form's
 * "streams") and merges exactly across threads, worker processes and
 * shards.
 *
 * Every started stream ends exactly once: completed (its --end-data event,
 * or the response's clean end when there is no end marker), failed (an
 * error of its kind counted once, in the run's errors) or unfinished (still
 * running when the run ended). An open-loop arrival that found every slot
 * busy is dropped, never started.
 *
 * Histograms: first_event (request sent -> first event) and event_gap
 * (between consecutive events of a stream) take every event of every
 * stream, failed ones too, as it arrives; stream (request sent -> the end)
 * and events_per_stream take completed streams only. The end event itself
 * is not an event here. events_per_stream holds counts, in the hist_t's
 * unit (exact up to 255, within 0.8% above). */
#ifndef EVCAT_BENCH_STREAMS_H
#define EVCAT_BENCH_STREAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"

typedef struct bench_streams {
    bool on;             /* the run was streams as requests; the histograms exist */
    double arrival_rate; /* asked for, per second (summed over parts); 0: closed loop */
    uint64_t completed, failed, dropped, unfinished;
    uint64_t connections;                  /* connections opened for them (keep-alive reuses one) */
    uint64_t events;                       /* events of every stream, end events aside */
    hist_t first_event, event_gap, stream; /* ns */
    hist_t events_per_stream;              /* counts */
} bench_streams_t;

/* Empty and off: nothing allocated. */
void bench_streams_init(bench_streams_t *s);
/* On: allocates the histograms (once). */
void bench_streams_enable(bench_streams_t *s);
void bench_streams_free(bench_streams_t *s);
/* dst += src, exactly (dst is enabled when src is on). */
void bench_streams_merge(bench_streams_t *dst, const bench_streams_t *src);

#endif
