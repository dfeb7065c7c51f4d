/* bench_plan: the default thread count, the split of the connections and
 * the threads' turns of the ramp (see bench_plan.h). */
#include "bench_plan.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

/* ceil(x / per), at least 1, saturating at UINT32_MAX. */
static unsigned need(double x, double per)
{
    if (!(x > 0))
        return 1;
    double n = ceil(x / per);
    if (n < 1)
        return 1;
    return n > 4294967295.0 ? 4294967295u : (unsigned)n;
}

unsigned bench_plan_threads(const bench_plan_load_t *load, unsigned max_threads, char *why,
                            size_t whylen)
{
    if (max_threads == 0)
        max_threads = 1;
    if (!load->echo) {
        if (why && whylen)
            snprintf(why, whylen, "one per core (%u): the load depends on the server", max_threads);
        return max_threads;
    }
    double msgs = (double)load->connections * load->message_rate;
    bool ramp = load->connections >= BENCH_PLAN_RAMP_MIN;
    unsigned n = need(msgs, BENCH_PLAN_MSGS);
    unsigned nc = need((double)load->connections, BENCH_PLAN_CONNS);
    unsigned ns = ramp ? need(load->connect_rate, BENCH_PLAN_CONNECTS) : 1;
    if (nc > n)
        n = nc;
    if (ns > n)
        n = ns;
    unsigned t = n < max_threads ? n : max_threads;
    if (why && whylen) {
        char rs[64];
        if (ramp)
            snprintf(rs, sizeof(rs), "ramp %.0f/s at %.0f", load->connect_rate, BENCH_PLAN_CONNECTS);
        else
            snprintf(rs, sizeof(rs), "no ramp to speak of");
        snprintf(why, whylen,
                 "echo needs %u (%.0f msg/s at %.0f a thread, %llu connections at %d, %s), "
                 "%u core%s",
                 n, msgs, BENCH_PLAN_MSGS, (unsigned long long)load->connections,
                 BENCH_PLAN_CONNS, rs, max_threads, max_threads == 1 ? "" : "s");
    }
    return t;
}

uint64_t bench_plan_part(uint64_t total, unsigned n, unsigned i)
{
    if (n == 0)
        return total;
    return total / n + (i < total % n ? 1 : 0);
}

/* How many of the threads of a process with `conns` connections get more
 * than q of them. */
static uint64_t threads_above(uint64_t conns, unsigned threads, uint64_t q)
{
    uint64_t each = conns / threads;
    if (each > q)
        return threads;
    return each == q ? conns % threads : 0;
}

uint64_t bench_plan_ramp_turn(const bench_plan_ramp_t *r, unsigned proc, unsigned thread)
{
    unsigned procs = r->procs ? r->procs : 1;
    unsigned threads = r->threads ? r->threads : 1;
    uint64_t all = (uint64_t)procs * threads;
    uint64_t q = r->connections / all;
    uint64_t above = 0; /* threads with q + 1 before this one */
    for (unsigned i = 0; i < proc; i++)
        above += threads_above(bench_plan_part(r->connections, procs, i), threads, q);
    uint64_t mine = bench_plan_part(r->connections, procs, proc);
    uint64_t mine_above = threads_above(mine, threads, q);
    uint64_t before = (uint64_t)proc * threads + thread; /* threads before this one */
    if (bench_plan_part(mine, threads, thread) > q)
        return above + thread; /* the first threads of a process are the larger */
    /* after every larger thread: r->connections % all of them */
    return r->connections % all + (before - above - mine_above);
}
