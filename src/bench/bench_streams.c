/* bench_streams: the measurements of streams as requests and their exact
 * merge (see bench_streams.h). */
#include "bench_streams.h"

#include <string.h>

void bench_streams_init(bench_streams_t *s)
{
    memset(s, 0, sizeof(*s));
}

void bench_streams_enable(bench_streams_t *s)
{
    if (s->on)
        return;
    s->on = true;
    hist_init(&s->first_event);
    hist_init(&s->event_gap);
    hist_init(&s->stream);
    hist_init(&s->events_per_stream);
}

void bench_streams_free(bench_streams_t *s)
{
    if (s->on) {
        hist_free(&s->first_event);
        hist_free(&s->event_gap);
        hist_free(&s->stream);
        hist_free(&s->events_per_stream);
    }
    bench_streams_init(s);
}

void bench_streams_merge(bench_streams_t *dst, const bench_streams_t *src)
{
    if (!src->on)
        return;
    bench_streams_enable(dst);
    dst->arrival_rate += src->arrival_rate;
    dst->completed += src->completed;
    dst->failed += src->failed;
    dst->dropped += src->dropped;
    dst->unfinished += src->unfinished;
    dst->connections += src->connections;
    dst->events += src->events;
    hist_merge(&dst->first_event, &src->first_event);
    hist_merge(&dst->event_gap, &src->event_gap);
    hist_merge(&dst->stream, &src->stream);
    hist_merge(&dst->events_per_stream, &src->events_per_stream);
}
