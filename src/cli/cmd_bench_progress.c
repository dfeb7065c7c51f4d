/* cmd_bench_progress: bench's progress line on stderr, once a second: the
 * phase, open connections and the connect rate, failures, message rates
 * and errors; after the run, the measurement's rates (see cmd_bench.h). */
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

/* "12s" / "1m05s" / "1h02m" */
static void short_dur(char *out, size_t n, double s)
{
    if (!(s >= 0))
        s = 0;
    unsigned long v = (unsigned long)(s + 0.5);
    if (v < 60)
        snprintf(out, n, "%lus", v);
    else if (v < 3600)
        snprintf(out, n, "%lum%02lus", v / 60, v % 60);
    else
        snprintf(out, n, "%luh%02lum", v / 3600, v % 3600 / 60);
}

/* The updating line on a terminal: the phase with its elapsed and
 * remaining time, established/target, and the rest as the plain line. */
static void tty_line(progress_t *pr, const bench_progress_t *p, uint64_t open, const char *cr,
                     const char *out, const char *in, uint64_t errs)
{
    double in_phase = p->elapsed_s - pr->phase_start_s;
    double left = -1;
    if (p->phase == BENCH_RAMP && pr->connect_rate > 0)
        left = (double)(p->target - (p->c.attempted < p->target ? p->c.attempted : p->target)) /
               pr->connect_rate;
    else if (p->phase == BENCH_MEASURE)
        left = pr->duration_s - in_phase;
    char el[32], rem[48] = "";
    short_dur(el, sizeof(el), in_phase);
    if (left >= 0) {
        char l[32];
        short_dur(l, sizeof(l), left);
        snprintf(rem, sizeof(rem), ", %s left", l);
    }
    fprintf(stderr,
            "\r\033[K[%4.0fs] %s %s%s  established %" PRIu64 "/%" PRIu64 " (+%s/s) open %" PRIu64
            "  failed %" PRIu64 "  dropped %" PRIu64 "  msgs %s %s/s in %s/s  errors %" PRIu64,
            p->elapsed_s, phase_name(p->phase), el, rem, p->c.established, p->target, cr, open,
            p->c.failed, p->c.dropped, pr->out_label ? pr->out_label : "out", out, in, errs);
    fflush(stderr);
    pr->printed = true;
    pr->last = p->c;
    pr->last_s = p->elapsed_s;
}

/* After the run: the measurement's length and messages a second, from the
 * result the summary prints (its rates, computed by the same function).
 * Not from the lines before it: streams as requests measure from the
 * run's start, before any line, and worker processes each measure over a
 * window of their own whose counts reach the parent only in their final
 * report; the publisher's last POSTs are counted when answered. */
void progress_measured(progress_t *pr, const bench_result_t *res)
{
    if (pr->quiet || !(res->measure_s > 0))
        return;
    bench_metrics_t m;
    bench_report_metrics(res, &m);
    char out[16], in[16];
    short_num(out, sizeof(out), m.sent_rate);
    short_num(in, sizeof(in), m.recv_rate);
    fprintf(stderr, "%s[%4.0fs] measured %.1fs: msgs %s %s/s in %s/s (the summary's rates)\n",
            pr->tty && pr->printed ? "\r\033[K" : "", pr->seen_s, res->measure_s,
            pr->out_label ? pr->out_label : "out", out, in);
    fflush(stderr);
    pr->printed = false; /* the line is ended */
}

void progress_show(const bench_progress_t *p, void *ud)
{
    progress_t *pr = ud;
    if (p->elapsed_s > pr->seen_s)
        pr->seen_s = p->elapsed_s;
    if (p->phase != pr->phase) { /* a phase starts: its clock too */
        pr->phase = p->phase;
        pr->phase_start_s = p->elapsed_s;
    }
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
    if (pr->tty) {
        tty_line(pr, p, open, cr, out, in, errs);
        return;
    }
    fprintf(stderr,
            "%s[%4.0fs] %-7s open %" PRIu64 "/%" PRIu64 " (+%s/s)  failed %" PRIu64
            "  dropped %" PRIu64 "  msgs %s %s/s in %s/s  errors %" PRIu64 "%s",
            pr->tty ? "\r\033[K" : "", p->elapsed_s, phase_name(p->phase), open, p->target, cr,
            p->c.failed, p->c.dropped, pr->out_label ? pr->out_label : "out", out, in, errs,
            pr->tty ? "" : "\n");
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
    pr->seen_s = 0;
    pr->phase = BENCH_RAMP;
    pr->phase_start_s = 0;
    memset(&pr->last, 0, sizeof(pr->last));
}
