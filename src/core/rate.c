#include "rate.h"

#include <math.h>

#define UHZ_PER_HZ   1000000.0
#define NS_TIMES_UHZ ((unsigned __int128)1000000000 * 1000000) /* 1 s in ns, per uHz */

typedef unsigned __int128 u128;

int rate_init_ramp_every(rate_t *r, double per_second, uint64_t start_ns, uint64_t total,
                         uint64_t stride, uint64_t phase)
{
    if (!(per_second >= RATE_MIN && per_second <= RATE_MAX) || total == 0) /* NaN fails too */
        return -1;
    /* the last turn fits in 64 bits: rate_due's product stays below 2^115 */
    if (stride == 0 || phase >= stride || total - 1 > (UINT64_MAX - phase) / stride)
        return -1;
    r->start_ns = start_ns;
    r->uhz = (uint64_t)llround(per_second * UHZ_PER_HZ);
    r->next = 0;
    r->limit = total;
    r->stride = stride;
    r->phase = phase;
    r->due_ns = rate_due(r, 0);
    return 0;
}

int rate_init_ramp(rate_t *r, double per_second, uint64_t start_ns, uint64_t total)
{
    return rate_init_ramp_every(r, per_second, start_ns, total, 1, 0);
}

int rate_init(rate_t *r, double per_second, uint64_t start_ns)
{
    return rate_init_ramp(r, per_second, start_ns, UINT64_MAX);
}

uint64_t rate_due(const rate_t *r, uint64_t k)
{
    if (k >= r->limit)
        return UINT64_MAX;
    u128 turn = (u128)k * r->stride + r->phase; /* < 2^64: rate_init_ramp_every checked */
    u128 t = turn * NS_TIMES_UHZ / r->uhz + r->start_ns;
    return t >= UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}

uint64_t rate_next_due(const rate_t *r)
{
    return r->due_ns;
}

uint64_t rate_delay_ns(const rate_t *r, uint64_t now_ns)
{
    uint64_t due = rate_next_due(r);
    if (due == UINT64_MAX)
        return UINT64_MAX;
    return due > now_ns ? due - now_ns : 0;
}

/* Of the first `turns` turns of the schedule at uhz, how many are this
 * one's (k * stride + phase < turns), at most the limit. */
static uint64_t own_turns(const rate_t *r, u128 turns)
{
    u128 n = turns > r->phase ? (turns - r->phase + r->stride - 1) / r->stride : 0;
    return n > r->limit ? r->limit : (uint64_t)n;
}

/* How many messages are due at now_ns in all, taken or not: of the turns
 * g with floor(g * P / u) <= d, i.e. g * P < (d + 1) * u, where d = now -
 * start and P = NS_TIMES_UHZ, those that are this schedule's. */
static uint64_t due_total(const rate_t *r, uint64_t now_ns)
{
    if (now_ns < r->start_ns)
        return 0;
    u128 d1 = (u128)(now_ns - r->start_ns) + 1;
    return own_turns(r, (d1 * r->uhz - 1) / NS_TIMES_UHZ + 1);
}

uint64_t rate_take(rate_t *r, uint64_t now_ns, uint64_t max_batch, uint64_t *first_seq)
{
    uint64_t total = due_total(r, now_ns);
    uint64_t n = total > r->next ? total - r->next : 0;
    if (n > max_batch)
        n = max_batch;
    *first_seq = r->next;
    if (n) {
        r->next += n;
        r->due_ns = rate_due(r, r->next);
    }
    return n;
}

bool rate_pop(rate_t *r, uint64_t now_ns, uint64_t *intended_ns)
{
    uint64_t due = r->due_ns;
    if (due == UINT64_MAX || due > now_ns)
        return false;
    *intended_ns = due;
    r->next++;
    r->due_ns = rate_due(r, r->next);
    return true;
}

uint64_t rate_taken(const rate_t *r)
{
    return r->next;
}

bool rate_finished(const rate_t *r)
{
    return r->next >= r->limit;
}

uint64_t rate_ramp_end_ns(const rate_t *r)
{
    return r->limit == UINT64_MAX ? UINT64_MAX : rate_due(r, r->limit - 1);
}

/* floor(g * P / u) < span  <=>  g * P < span * u  <=>  g < ceil(span * u / P),
 * for the turns g that are this schedule's. */
uint64_t rate_due_within(const rate_t *r, uint64_t span_ns)
{
    return own_turns(r, ((u128)span_ns * r->uhz + NS_TIMES_UHZ - 1) / NS_TIMES_UHZ); /* < 2^115 */
}

uint64_t rate_count_within(double per_second, uint64_t span_ns)
{
    rate_t r;
    if (rate_init(&r, per_second, 0) < 0)
        return 0;
    return rate_due_within(&r, span_ns);
}
