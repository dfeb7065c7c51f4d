/* bench_html: the --report page, one self-contained HTML file with inline
 * CSS and SVG and no script (see bench_export.h). */
#include "bench_export.h"
#include "clock.h"
#include "text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- charts ---- */

#define W  760
#define H  280
#define ML 72
#define MR 40
#define MT 16
#define MB 44

static const char *const colour[2] = {"#1f6fb4", "#d0412b"};

typedef struct plot {
    double xmax, ymax, ystep, xstep;
    bool pct; /* x is log10(1/(1-p)) */
} plot_t;

/* A step of 1, 2 or 5 times a power of ten giving about `ticks` ticks up to max. */
static double nice_step(double max, int ticks)
{
    if (!(max > 0))
        return 1;
    double raw = max / ticks, p = pow(10, floor(log10(raw)));
    double f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static double px(const plot_t *p, double x)
{
    return ML + (p->xmax > 0 ? x / p->xmax : 0) * (W - ML - MR);
}

static double py(const plot_t *p, double y)
{
    return H - MB - (p->ymax > 0 ? y / p->ymax : 0) * (H - MT - MB);
}

static void plot_scale(plot_t *p, double xmax, double ymax)
{
    p->ystep = nice_step(ymax, 5);
    p->ymax = ceil((ymax > 0 ? ymax : 1) / p->ystep) * p->ystep;
    if (p->pct) {
        p->xmax = xmax;
        p->xstep = 1;
    } else {
        p->xstep = nice_step(xmax, 8);
        p->xmax = xmax > 0 ? xmax : 1;
    }
}

/* 1 - 10^-decade as a percentage: 0%, 90%, 99%, 99.9%, ... */
static void pct_label(char *out, size_t n, int decade)
{
    if (decade <= 1) {
        snprintf(out, n, decade == 1 ? "90%%" : "0%%");
        return;
    }
    char nines[16] = "";
    for (int i = 2; i < decade && i < 14; i++)
        strcat(nines, "9");
    snprintf(out, n, "99%s%s%%", nines[0] ? "." : "", nines);
}

static void chart_begin(buf_t *o, const char *id, const char *title, const char *xlabel,
                        const char *ylabel, const plot_t *p)
{
    buf_printf(o, "<figure id=\"%s\"><figcaption>", id);
    bench_xml_escape(o, title, strlen(title));
    buf_printf(o, "</figcaption>\n<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 %d %d\" role=\"img\">\n", W, H);
    buf_printf(o, "<rect class=\"area\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", ML, MT,
               W - ML - MR, H - MT - MB);
    for (double y = 0; y <= p->ymax + p->ystep / 2; y += p->ystep) {
        buf_printf(o, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML,
                   W - MR, py(p, y), py(p, y));
        buf_printf(o, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                   ML - 6, py(p, y) + 4, y);
    }
    for (double x = 0; x <= p->xmax + 1e-9; x += p->xstep) {
        char label[32];
        if (p->pct)
            pct_label(label, sizeof(label), (int)lround(x));
        else
            snprintf(label, sizeof(label), "%g", x);
        buf_printf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>",
                   px(p, x), px(p, x), MT, H - MB);
        buf_printf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                   px(p, x), H - MB + 16, label);
    }
    buf_printf(o, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
               ML + (W - ML - MR) / 2, H - 6, xlabel);
    buf_printf(o, "<text class=\"label\" transform=\"translate(14 %d) rotate(-90)\" "
                  "text-anchor=\"middle\">%s</text>\n", MT + (H - MT - MB) / 2, ylabel);
}

static void chart_line(buf_t *o, const plot_t *p, const double *xs, const double *ys, size_t n,
                       size_t run, const char *dash, const char *name)
{
    if (n == 0)
        return;
    buf_printf(o, "<polyline class=\"series\" stroke=\"%s\"%s%s%s points=\"", colour[run & 1],
               dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    for (size_t i = 0; i < n; i++)
        buf_printf(o, "%s%.1f,%.1f", i ? " " : "", px(p, xs[i]), py(p, ys[i]));
    buf_puts(o, "\"><title>");
    bench_xml_escape(o, name, strlen(name));
    buf_puts(o, "</title></polyline>\n");
    if (n > 1)
        return;
    /* one point draws no line: a dot */
    buf_printf(o, "<circle class=\"series\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
               px(p, xs[0]), py(p, ys[0]), colour[run & 1]);
    bench_xml_escape(o, name, strlen(name));
    buf_puts(o, "</title></circle>\n");
}

/* The legend: one entry per (run, line kind). */
static void chart_end(buf_t *o, const bench_report_t *reps, size_t n, const char *const *kinds,
                      const char *const *dashes, size_t nkinds)
{
    buf_puts(o, "</svg>\n<div class=\"legend\">");
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < nkinds; k++) {
            buf_printf(o, "<span><svg width=\"28\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"28\" "
                          "y2=\"5\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/></svg> ",
                       colour[j & 1], dashes[k] ? " stroke-dasharray=\"" : "",
                       dashes[k] ? dashes[k] : "", dashes[k] ? "\"" : "");
            if (n > 1) {
                bench_xml_escape(o, reps[j].url, strlen(reps[j].url));
                buf_puts(o, nkinds > 1 ? ": " : "");
            }
            if (nkinds > 1 || n == 1)
                buf_puts(o, kinds[k]);
            buf_puts(o, "</span>");
        }
    buf_puts(o, "</div></figure>\n");
}

/* ---- the percentile chart ---- */

static void html_percentiles(buf_t *o, const bench_report_t *reps, size_t n)
{
    bench_pct_point_t pts[2][BENCH_PCT_POINTS_MAX];
    size_t np[2] = {0, 0};
    double xmax = 2, ymax = 0;
    for (size_t j = 0; j < n && j < 2; j++) {
        np[j] = bench_pct_points(bench_export_latency(reps[j].r), pts[j]);
        for (size_t i = 0; i < np[j]; i++) {
            if (pts[j][i].p < 1) {
                double x = log10(1.0 / (1.0 - pts[j][i].p));
                xmax = fmax(xmax, ceil(x - 1e-9));
            }
            ymax = fmax(ymax, (double)pts[j][i].value_ns / 1e6);
        }
    }
    xmax = fmin(xmax, 7);
    plot_t p = {.pct = true};
    plot_scale(&p, xmax, ymax);
    chart_begin(o, "percentiles",
                reps[0].r->streams.on ? "Time to first event by percentile"
                                      : "Latency by percentile", "percentile (log scale of 1/(1-p))",
                "latency (ms)", &p);
    double xs[BENCH_PCT_POINTS_MAX + 1], ys[BENCH_PCT_POINTS_MAX + 1];
    for (size_t j = 0; j < n && j < 2; j++) {
        size_t k = 0;
        for (size_t i = 0; i < np[j]; i++) {
            double x = pts[j][i].p < 1 ? log10(1.0 / (1.0 - pts[j][i].p)) : xmax;
            if (x > xmax)
                x = xmax;
            xs[k] = x;
            ys[k++] = (double)pts[j][i].value_ns / 1e6;
            if (x >= xmax)
                break;
        }
        chart_line(o, &p, xs, ys, k, j, NULL, reps[j].url);
    }
    const char *kinds[] = {"latency"};
    const char *dashes[] = {NULL};
    chart_end(o, reps, n, kinds, dashes, 1);
}

/* ---- the per-second charts ---- */

enum field { F_SENT, F_RECEIVED, F_OPEN, F_ESTABLISHED, F_FAILED, F_DROPPED };

static double field_of(const bench_second_t *s, enum field f)
{
    switch (f) {
    case F_SENT: return (double)s->d.sent;
    case F_RECEIVED: return (double)s->d.received;
    case F_OPEN: return (double)s->open;
    case F_ESTABLISHED: return (double)s->d.established;
    case F_FAILED: return (double)s->d.failed;
    default: return (double)s->d.dropped;
    }
}

/* Seconds per point, so that a series has at most BENCH_HTML_POINTS. */
static size_t group_of(size_t len)
{
    return len <= BENCH_HTML_POINTS ? 1 : (len + BENCH_HTML_POINTS - 1) / BENCH_HTML_POINTS;
}

/* f over the series, averaged over groups of g seconds (the open count:
 * the last of each group). Returns the number of points in xs/ys. */
static size_t series_points(const bench_series_t *s, enum field f, double *xs, double *ys)
{
    size_t g = group_of(s->len), k = 0;
    for (size_t i = 0; i < s->len; i += g) {
        size_t end = i + g < s->len ? i + g : s->len;
        double sum = 0;
        for (size_t t = i; t < end; t++)
            sum += field_of(&s->s[t], f);
        /* a count at the end of its seconds, a rate at their middle */
        xs[k] = f == F_OPEN ? (double)end : (double)(i + end) / 2.0;
        ys[k++] = f == F_OPEN ? field_of(&s->s[end - 1], f) : sum / (double)(end - i);
    }
    return k;
}

static void time_chart(buf_t *o, const bench_report_t *reps, size_t n, const char *id,
                       const char *title, const char *ylabel, const enum field *fields,
                       const char *const *kinds, const char *const *dashes, size_t nf)
{
    size_t maxlen = 1;
    for (size_t j = 0; j < n; j++)
        maxlen = reps[j].r->series.len > maxlen ? reps[j].r->series.len : maxlen;
    size_t cap = maxlen / group_of(maxlen) + 2;
    double *xs = xmalloc(cap * sizeof(double)), *ys = xmalloc(cap * sizeof(double));
    double ymax = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t f = 0; f < nf; f++) {
            size_t k = series_points(&reps[j].r->series, fields[f], xs, ys);
            for (size_t i = 0; i < k; i++)
                ymax = fmax(ymax, ys[i]);
        }
    plot_t p = {.pct = false};
    plot_scale(&p, (double)maxlen, ymax);
    chart_begin(o, id, title, "seconds since the ramp started", ylabel, &p);
    /* the first run's measurement window, shaded */
    const bench_series_t *s0 = &reps[0].r->series;
    size_t m0 = 0;
    while (m0 < s0->len && s0->s[m0].phase != BENCH_MEASURE)
        m0++;
    size_t m1 = m0;
    while (m1 < s0->len && s0->s[m1].phase == BENCH_MEASURE)
        m1++;
    if (m1 > m0)
        buf_printf(o, "<rect class=\"measure\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
                      "<title>measurement</title></rect>\n",
                   px(&p, (double)m0), MT, px(&p, (double)m1) - px(&p, (double)m0), H - MT - MB);
    for (size_t j = 0; j < n; j++)
        for (size_t f = 0; f < nf; f++) {
            size_t k = series_points(&reps[j].r->series, fields[f], xs, ys);
            chart_line(o, &p, xs, ys, k, j, dashes[f], kinds[f]);
        }
    free(xs);
    free(ys);
    chart_end(o, reps, n, kinds, dashes, nf);
}

/* The pct-th percentile of the samples of seconds [from, to) together
 * (n of them). */
static uint64_t group_percentile(const bench_latsec_t *l, size_t from, size_t to, double pct,
                                 uint64_t n)
{
    double r = ceil(pct / 100.0 * (double)n);
    uint64_t rank = r < 1 ? 1 : (uint64_t)r, cum = 0;
    for (size_t b = 0; b < BENCH_LATSEC_BUCKETS; b++) {
        for (size_t t = from; t < to && t < l->len; t++)
            cum += l->counts[t * BENCH_LATSEC_BUCKETS + b];
        if (cum >= rank)
            return bench_latsec_bucket_top(b);
    }
    return bench_latsec_bucket_top(BENCH_LATSEC_BUCKETS - 1);
}

/* p-th percentile per point (ms), over groups of seconds as the other time
 * charts. Seconds without samples break the line: starts[] gets the index
 * where each piece begins. Returns the number of points. */
static size_t latsec_points(const bench_latsec_t *l, size_t len, double pct, double *xs,
                            double *ys, size_t *starts, size_t *nstarts)
{
    size_t g = group_of(len), k = 0;
    bool gap = true;
    *nstarts = 0;
    for (size_t i = 0; i < len && i < l->len; i += g) {
        size_t end = i + g < len ? i + g : len;
        uint64_t n = 0;
        for (size_t t = i; t < end; t++)
            n += bench_latsec_count(l, t);
        if (n == 0) {
            gap = true;
            continue;
        }
        if (gap)
            starts[(*nstarts)++] = k;
        gap = false;
        xs[k] = (double)(i + end) / 2.0;
        ys[k++] = (double)group_percentile(l, i, end, pct, n) / 1e6;
    }
    return k;
}

static void latency_chart(buf_t *o, const bench_report_t *reps, size_t n)
{
    size_t maxlen = 1;
    for (size_t j = 0; j < n; j++) {
        const bench_result_t *r = reps[j].r;
        size_t len = r->series.len > r->latsec.len ? r->series.len : r->latsec.len;
        maxlen = len > maxlen ? len : maxlen;
    }
    size_t cap = maxlen / group_of(maxlen) + 2;
    double *xs = xmalloc(cap * sizeof(double)), *ys = xmalloc(cap * sizeof(double));
    size_t *starts = xmalloc((cap + 1) * sizeof(size_t)), ns;
    static const double pcts[] = {50, 99};
    static const char *const kinds[] = {"p50", "p99"}, *const dashes[] = {NULL, "6 3"};
    double ymax = 0;
    for (size_t j = 0; j < n; j++) {
        size_t k = latsec_points(&reps[j].r->latsec, maxlen, 99, xs, ys, starts, &ns);
        for (size_t i = 0; i < k; i++)
            ymax = fmax(ymax, ys[i]);
    }
    plot_t p = {.pct = false};
    plot_scale(&p, (double)maxlen, ymax);
    chart_begin(o, "latency", "Latency per second (p50, p99)", "seconds since the ramp started",
                "latency (ms)", &p);
    for (size_t j = 0; j < n; j++)
        for (size_t f = 0; f < 2; f++) {
            size_t k = latsec_points(&reps[j].r->latsec, maxlen, pcts[f], xs, ys, starts, &ns);
            starts[ns] = k;
            for (size_t s = 0; s < ns; s++)
                chart_line(o, &p, xs + starts[s], ys + starts[s], starts[s + 1] - starts[s], j,
                           dashes[f], kinds[f]);
        }
    free(xs);
    free(ys);
    free(starts);
    chart_end(o, reps, n, kinds, dashes, 2);
}

/* ---- tables ---- */

static void cell(buf_t *o, const char *tag, const char *cls, const char *text)
{
    buf_printf(o, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    bench_xml_escape(o, text, strlen(text));
    buf_printf(o, "</%s>", tag);
}

static void config_row(buf_t *o, const char *label, const bench_report_t *reps, size_t n,
                       void (*fmt)(const bench_report_t *, char *, size_t))
{
    buf_puts(o, "<tr>");
    cell(o, "th", NULL, label);
    for (size_t j = 0; j < n; j++) {
        char v[BENCH_URL_MAX + 64];
        fmt(&reps[j], v, sizeof(v));
        cell(o, "td", NULL, v);
    }
    buf_puts(o, "</tr>\n");
}

static void c_url(const bench_report_t *r, char *v, size_t n) { snprintf(v, n, "%s", r->url); }
static void c_mode(const bench_report_t *r, char *v, size_t n) { snprintf(v, n, "%s", r->mode); }
static void c_conns(const bench_report_t *r, char *v, size_t n)
{
    snprintf(v, n, "%" PRIu64, r->r->target);
}
static void c_rate(const bench_report_t *r, char *v, size_t n)
{
    snprintf(v, n, "%g/s", r->connect_rate);
}
static void c_times(const bench_report_t *r, char *v, size_t n)
{
    snprintf(v, n, "ramp %.2fs, measured %.2fs%s", r->r->ramp_s, r->r->measure_s,
             r->r->interrupted ? " (interrupted)" : "");
}
static void c_load(const bench_report_t *r, char *v, size_t n)
{
    snprintf(v, n, "%u process%s \u00d7 %u thread%s", r->r->procs, r->r->procs == 1 ? "" : "es",
             r->r->threads, r->r->threads == 1 ? "" : "s");
}
static void c_shard(const bench_report_t *r, char *v, size_t n)
{
    if (r->r->shard_count)
        snprintf(v, n, "%u/%u, test %s", r->r->shard_index, r->r->shard_count, r->r->test_id);
    else if (r->r->test_id[0]) /* bench merge: the whole test */
        snprintf(v, n, "merged shards of test %s", r->r->test_id);
    else
        snprintf(v, n, "-");
}
static void c_start(const bench_report_t *r, char *v, size_t n)
{
    char when[RFC3339_LEN + 1];
    snprintf(v, n, "%s", r->r->started_at_ns ? fmt_rfc3339(when, r->r->started_at_ns) : "-");
}

static void html_config(buf_t *o, const bench_report_t *reps, size_t n)
{
    buf_puts(o, "<h2>Configuration</h2>\n<table class=\"config\">\n");
    config_row(o, "URL", reps, n, c_url);
    config_row(o, "mode", reps, n, c_mode);
    config_row(o, "connections (-c)", reps, n, c_conns);
    config_row(o, "connect rate", reps, n, c_rate);
    config_row(o, "duration", reps, n, c_times);
    config_row(o, "load", reps, n, c_load);
    config_row(o, "shard", reps, n, c_shard);
    config_row(o, "started", reps, n, c_start);
    buf_puts(o, "</table>\n");
}

static void html_asserts(buf_t *o, const bench_report_t *reps, size_t n,
                         const bench_assert_t *asserts, size_t nasserts)
{
    buf_puts(o, "<h2>Assertions</h2>\n");
    if (nasserts == 0) {
        buf_puts(o, "<p>No --assert given.</p>\n");
        return;
    }
    buf_puts(o, "<table class=\"asserts\">\n<tr><th>assertion</th>");
    for (size_t j = 0; j < n; j++)
        cell(o, "th", NULL, reps[j].url);
    buf_puts(o, "</tr>\n");
    for (size_t i = 0; i < nasserts; i++) {
        buf_puts(o, "<tr>");
        cell(o, "td", "expr", asserts[i].text);
        for (size_t j = 0; j < n; j++) {
            bench_metrics_t m;
            char why[256], got[64], text[96];
            double v;
            bench_report_metrics(reps[j].r, &m);
            bool ok = bench_assert_eval(&asserts[i], &m, why, sizeof(why));
            bench_assert_measure(&asserts[i], &m, &v, got, sizeof(got));
            snprintf(text, sizeof(text), "%s %s", ok ? "\u2713" : "\u2717", got);
            cell(o, "td", ok ? "pass" : "fail", text);
        }
        buf_puts(o, "</tr>\n");
    }
    buf_puts(o, "</table>\n");
}

static void html_errors(buf_t *o, const bench_report_t *reps, size_t n)
{
    buf_puts(o, "<h2>Errors</h2>\n<table class=\"errors\">\n<tr>");
    if (n > 1)
        buf_puts(o, "<th>URL</th>");
    buf_puts(o, "<th>kind</th><th>count</th><th>first example</th></tr>\n");
    bool any = false;
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < BERR_COUNT; k++) {
            const bench_result_t *r = reps[j].r;
            if (!r->c.errors[k])
                continue;
            char num[32];
            snprintf(num, sizeof(num), "%" PRIu64, r->c.errors[k]);
            buf_puts(o, "<tr>");
            if (n > 1)
                cell(o, "td", NULL, reps[j].url);
            cell(o, "td", NULL, bench_err_name((bench_err_t)k));
            cell(o, "td", "num", num);
            cell(o, "td", "example", r->ex.at_ns[k] ? r->ex.text[k] : "");
            buf_puts(o, "</tr>\n");
            any = true;
        }
    if (!any)
        buf_printf(o, "<tr><td colspan=\"%d\">none</td></tr>\n", n > 1 ? 4 : 3);
    buf_puts(o, "</table>\n");
}

/* The text summary, as the terminal shows it. */
static void html_summary(buf_t *o, const bench_report_t *reps, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    bench_report_text(f, reps, n);
    fclose(f);
    buf_puts(o, "<h2>Summary</h2>\n<pre class=\"summary\">");
    bench_xml_escape(o, text, len);
    buf_puts(o, "</pre>\n");
    free(text);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222;"
    "padding:0 12px}h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px "
    "solid #ddd}table{border-collapse:collapse}th,td{padding:3px 10px;text-align:left;"
    "vertical-align:top;border-bottom:1px solid #eee}td.num{text-align:right}"
    "td.pass{color:#17803d}td.fail{color:#c0262d;font-weight:bold}td.example,td.expr{"
    "font-family:monospace}pre.summary{background:#f6f6f6;padding:10px;overflow-x:auto}"
    "figure{margin:16px 0}figcaption{font-weight:bold}svg.chart{width:100%;height:auto;"
    "max-width:760px;font:11px sans-serif}rect.area{fill:#fff;stroke:#bbb}"
    "rect.measure{fill:#eaf3ea}line.grid{stroke:#e4e4e4}text.tick{fill:#555}"
    "text.label{fill:#333}polyline.series{fill:none;stroke-width:1.6}"
    ".legend span{margin-right:16px;white-space:nowrap}.note{color:#666;font-size:12px}";

void bench_export_html(buf_t *o, const bench_report_t *reps, size_t n,
                       const bench_assert_t *asserts, size_t nasserts)
{
    if (n > 2)
        n = 2;
    buf_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>evcat bench: ");
    bench_xml_escape(o, reps[0].url, strlen(reps[0].url));
    if (n > 1) {
        buf_puts(o, " vs ");
        bench_xml_escape(o, reps[1].url, strlen(reps[1].url));
    }
    buf_printf(o, "</title>\n<style>%s</style></head><body>\n<h1>evcat bench report</h1>\n", css);
    html_config(o, reps, n);
    html_asserts(o, reps, n, asserts, nasserts);
    html_errors(o, reps, n);
    buf_puts(o, "<h2>Charts</h2>\n");
    html_percentiles(o, reps, n);
    latency_chart(o, reps, n);
    static const enum field msg[] = {F_SENT, F_RECEIVED};
    static const char *const msg_k[] = {"sent/s", "received/s"}, *const msg_d[] = {NULL, "6 3"};
    time_chart(o, reps, n, "messages", "Messages per second", "messages/s", msg, msg_k, msg_d, 2);
    static const enum field con[] = {F_OPEN, F_ESTABLISHED};
    static const char *const con_k[] = {"open", "established/s"}, *const con_d[] = {NULL, "6 3"};
    time_chart(o, reps, n, "connections", "Connections", "connections", con, con_k, con_d, 2);
    static const enum field bad[] = {F_FAILED, F_DROPPED};
    static const char *const bad_k[] = {"failed/s", "dropped/s"}, *const bad_d[] = {NULL, "6 3"};
    time_chart(o, reps, n, "failures", "Failed and dropped connections per second",
               "connections/s", bad, bad_k, bad_d, 2);
    buf_puts(o, "<p class=\"note\">The shaded band is the measurement window; latency is "
                "measured only inside it. Latency per second comes from coarse per-second "
                "histograms (buckets up to 12.5% wide, the first hour of a run); the "
                "distribution above is exact to 0.8%.</p>\n");
    html_summary(o, reps, n);
    buf_puts(o, "</body></html>\n");
}
