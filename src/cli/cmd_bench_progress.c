/* cmd_bench_progress: bench's progress line on stderr, once a second: the
 * phase, open connections and the connect rate, failures, message rates
 * and errors (see cmd_bench.h). */
#include "cmd_bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *phase_name(bench_phase_t p)
{
    switch (p) {
    case BENCH_RAMP:
        return "ramp";
    case BENCH_MEASURE:
        return "measure";
    case BENCH_CLOSE:
        return "close";
    default:
        return "done";
    }
}

static void short_num(char *out, size_t n, double v)
{
    if (v >= 1e6)
        snprintf(out, n, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, n, "%.1fk", v / 1e3);
    else
        snprintf(out, n, "%.0f", v);
}

void progress_show(const bench_progress_t *p, void *ud)
{
    progress_t *pr = ud;
    if (pr->quiet || p->phase_change)
        return;
    double dt = p->elapsed_s - pr->last_s;
    if (dt <= 0)
        dt = 1;
    uint64_t errs = 0;
    for (int k = 0; k < BERR_COUNT; k++)
        errs += p->c.errors[k];
    uint64_t open = p->c.established - p->c.dropped - p->c.ended;
    if (p->c.dropped + p->c.ended > p->c.established)
        open = 0;
    char cr[16], out[16], in[16];
    short_num(cr, sizeof(cr), (double)(p->c.established - pr->last.established) / dt);
    short_num(out, sizeof(out), (double)(p->c.sent - pr->last.sent) / dt);
    short_num(in, sizeof(in), (double)(p->c.received - pr->last.received) / dt);
    fprintf(stderr,
            "%s[%4.0fs] %-7s open %" PRIu64 "/%" PRIu64 " (+%s/s)  failed %" PRIu64
            "  dropped %" PRIu64 "  msgs out %s/s in %s/s  errors %" PRIu64 "%s",
            pr->tty ? "\r\033[K" : "", p->elapsed_s, phase_name(p->phase), open, p->target, cr,
            p->c.failed, p->c.dropped, out, in, errs, pr->tty ? "" : "\n");
    fflush(stderr);
    pr->printed = true;
    pr->last = p->c;
    pr->last_s = p->elapsed_s;
}

void progress_end(progress_t *pr)
{
    if (pr->tty && pr->printed && !pr->quiet)
        fputc('\n', stderr);
    pr->printed = false;
    pr->last_s = 0;
    memset(&pr->last, 0, sizeof(pr->last));
}
