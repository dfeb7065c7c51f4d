/* bench_report: the summary a run prints (text and JSON) and the metrics
 * --assert checks (see bench_report.h). */
#include "bench_report.h"
#include "buf.h"
#include "clock.h"
#include "text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ---- */

static double rate_of(uint64_t n, double secs)
{
    return secs > 0 ? (double)n / secs : 0;
}

double bench_report_connect_rate(const bench_result_t *r)
{
    if (r->c.established < 2 || !(r->ramp_s > 0))
        return -1;
    return (double)(r->c.established - 1) / r->ramp_s;
}

void bench_report_metrics(const bench_result_t *r, bench_metrics_t *m)
{
    memset(m, 0, sizeof(*m));
    m->p50_ns = hist_percentile(&r->latency, 50);
    m->p90_ns = hist_percentile(&r->latency, 90);
    m->p99_ns = hist_percentile(&r->latency, 99);
    m->p999_ns = hist_percentile(&r->latency, 99.9);
    m->max_ns = hist_max(&r->latency);
    m->connect_p99_ns = hist_percentile(&r->connect, 99);
    m->latency_samples = hist_count(&r->latency);
    m->connect_samples = hist_count(&r->connect);
    for (int k = 0; k < BERR_COUNT; k++)
        m->errors += r->c.errors[k];
    m->connected = r->c.established;
    m->failed = r->c.failed;
    m->dropped = r->c.dropped;
    m->recv_rate = rate_of(r->m_received, r->measure_s);
    m->sent_rate = rate_of(r->m_sent, r->measure_s);
    if (r->streams.on) {
        m->first_event_p99_ns = hist_percentile(&r->streams.first_event, 99);
        m->event_gap_p99_ns = hist_percentile(&r->streams.event_gap, 99);
        m->first_event_samples = hist_count(&r->streams.first_event);
        m->event_gap_samples = hist_count(&r->streams.event_gap);
        m->streams_failed = r->streams.failed;
        m->streams_dropped = r->streams.dropped;
    }
}

static const char *fmt_time(char *out, size_t n, uint64_t ns)
{
    double v = (double)ns;
    if (ns < 1000)
        snprintf(out, n, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        snprintf(out, n, "%.1fus", v / 1e3);
    else if (ns < 1000000000)
        snprintf(out, n, "%.*fms", ns < 10000000 ? 2 : 1, v / 1e6);
    else
        snprintf(out, n, "%.2fs", v / 1e9);
    return out;
}

static const char *fmt_bytes(char *out, size_t n, double b)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%.0f B", b);
    else
        snprintf(out, n, "%.*f %s", b < 10 ? 2 : 1, b, units[u]);
    return out;
}

static const char *fmt_rate(char *out, size_t n, double r)
{
    if (r >= 1e6)
        snprintf(out, n, "%.2fM/s", r / 1e6);
    else if (r >= 1e4)
        snprintf(out, n, "%.1fk/s", r / 1e3);
    else
        snprintf(out, n, "%.1f/s", r);
    return out;
}

/* ---- text ---- */

#define ROWS      24
#define CELL      160
#define ERRS_CELL (BERR_COUNT * (BENCH_ERR_EXAMPLE_MAX + 48))

typedef struct rows {
    char label[ROWS][16];
    char val[ROWS][ERRS_CELL];
    int n;
} rows_t;

/* "kind N, kind N", each with "(first: EXAMPLE)" when examples, or "none". */
static const char *errors_text(char *errs, size_t size, const bench_result_t *r, bool examples)
{
    size_t off = 0;
    for (int k = 0; k < BERR_COUNT; k++) {
        if (!r->c.errors[k])
            continue;
        int w = snprintf(errs + off, size - off, "%s%s %" PRIu64, off ? ", " : "",
                         bench_err_name((bench_err_t)k), r->c.errors[k]);
        if (w >= 0 && (size_t)w < size - off && examples && r->ex.at_ns[k])
            w += snprintf(errs + off + w, size - off - w, " (first: %s)", r->ex.text[k]);
        if (w < 0 || (size_t)w >= size - off)
            break;
        off += (size_t)w;
    }
    if (!off)
        snprintf(errs, size, "none");
    return errs;
}

void bench_report_asserts(FILE *f, const bench_report_t *reps, size_t n,
                          const bench_assert_t *asserts, size_t nasserts)
{
    if (nasserts == 0)
        return;
    fprintf(f, "  %s\n", "assertions");
    bench_metrics_t m[2];
    for (size_t j = 0; j < n && j < 2; j++)
        bench_report_metrics(reps[j].r, &m[j]);
    for (size_t i = 0; i < nasserts; i++) {
        fprintf(f, "   ");
        for (size_t j = 0; j < n && j < 2; j++) {
            char why[256], got[64];
            double v;
            bool ok = bench_assert_eval(&asserts[i], &m[j], why, sizeof(why));
            bench_assert_measure(&asserts[i], &m[j], &v, got, sizeof(got));
            if (j == 0)
                fprintf(f, " %s %-24s %-*s", ok ? "\u2713" : "\u2717", asserts[i].text,
                        n > 1 ? 20 : 0, got);
            else
                fprintf(f, " | %s %s", ok ? "\u2713" : "\u2717", got);
        }
        fputc('\n', f);
    }
}

static void row(rows_t *t, const char *label, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void row(rows_t *t, const char *label, const char *fmt, ...)
{
    if (t->n >= ROWS)
        return;
    snprintf(t->label[t->n], sizeof(t->label[0]), "%s", label);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->val[t->n], ERRS_CELL, fmt, ap);
    va_end(ap);
    t->n++;
}

static const char *err_hint(int k)
{
    switch (k) {
    case BERR_FD_LIMIT:
        return "out of file descriptors: this process may open `ulimit -Hn`; "
               "use more worker processes (-p) or raise the hard limit";
    case BERR_PORTS:
        return "out of local ports for one source address: spread over more with "
               "--source (or raise net.ipv4.ip_local_port_range)";
    default:
        return NULL;
    }
}

/* wire/payload in percent, or -1 without payload. */
static double pct(uint64_t wire, uint64_t payload)
{
    return payload ? 100.0 * (double)wire / (double)payload : -1;
}

/* The bytes on the wire against the payload (whole run), and what
 * permessage-deflate cost. */
static void wire_rows(rows_t *t, const bench_result_t *r)
{
    char a[32], b[32], c[32], pa[48], pb[48];
    if (!r->wire_sent && !r->wire_received)
        return;
    /* The whole run's bytes on the wire against the payload they carried
     * (handshakes, frame heads and control frames included). */
    double ps = pct(r->wire_sent, r->c.bytes_sent), pr = pct(r->wire_received, r->c.bytes_received);
    snprintf(pa, sizeof(pa), ps >= 0 ? "%.0f%% of payload" : "handshakes and control frames", ps);
    snprintf(pb, sizeof(pb), pr >= 0 ? "%.0f%%" : "handshakes and control frames", pr);
    row(t, "wire", "sent %s (%s)  received %s (%s), whole run",
        fmt_bytes(a, 32, (double)r->wire_sent), pa, fmt_bytes(b, 32, (double)r->wire_received), pb);
    if (r->deflate_connections > 0)
        row(t, "deflate", "%" PRIu64 "/%" PRIu64 " connections, zlib peak %s (%s per connection)",
            r->deflate_connections, r->c.established, fmt_bytes(c, 32, (double)r->zlib_peak_bytes),
            fmt_bytes(a, 32, (double)r->zlib_peak_bytes / (double)r->deflate_connections));
}

/* "p50 X  p90 X  p99 X  max X" of a histogram of times, or of counts. */
static void row_dist(rows_t *t, const char *label, const hist_t *h, bool counts, const char *tail)
{
    if (hist_count(h) == 0) {
        row(t, label, "no samples");
        return;
    }
    static const double ps[] = {50, 90, 99, 100};
    char v[4][32];
    for (int i = 0; i < 4; i++) {
        uint64_t x = ps[i] < 100 ? hist_percentile(h, ps[i]) : hist_max(h);
        if (counts)
            snprintf(v[i], 32, "%" PRIu64, x);
        else
            fmt_time(v[i], 32, x);
    }
    row(t, label, "p50 %s  p90 %s  p99 %s  max %s%s", v[0], v[1], v[2], v[3], tail);
}

/* Streams as requests: how many at once and how they went, in place of
 * the connections' ramp (the slots start at once, every stream counts). */
static void stream_rows(const bench_report_t *rep, rows_t *t)
{
    const bench_result_t *r = rep->r;
    const bench_streams_t *st = &r->streams;
    char a[32], b[160] = "";
    if (st->arrival_rate > 0)
        row(t, "concurrency",
            "up to %" PRIu64 " streams at once, %s arriving (open loop); %" PRIu64
            " connection%s opened",
            r->target, fmt_rate(a, 32, st->arrival_rate), st->connections,
            st->connections == 1 ? "" : "s");
    else
        row(t, "concurrency",
            "%" PRIu64 " streams at once (closed loop); %" PRIu64 " connection%s opened", r->target,
            st->connections, st->connections == 1 ? "" : "s");
    if (hist_count(&r->connect) > 0)
        row_dist(t, "connect", &r->connect, false, "");
    else
        row(t, "connect", "-");
    row(t, "measured", "%.2fs%s", r->measure_s, r->interrupted ? " (interrupted)" : "");
    size_t off = 0;
    if (st->dropped)
        off += (size_t)snprintf(b + off, sizeof(b) - off, ", %" PRIu64 " dropped (no free slot)",
                                st->dropped);
    if (st->unfinished)
        snprintf(b + off, sizeof(b) - off, ", %" PRIu64 " unfinished", st->unfinished);
    row(t, "streams", "%" PRIu64 " completed (%s), %" PRIu64 " failed%s", st->completed,
        fmt_rate(a, 32, rate_of(st->completed, r->measure_s)), st->failed, b);
    row_dist(t, "first event", &st->first_event, false, "");
    row_dist(t, "event gap", &st->event_gap, false, "");
    row_dist(t, "stream", &st->stream, false, "");
    snprintf(b, sizeof(b), " per stream (%s)", fmt_rate(a, 32, rate_of(st->events, r->measure_s)));
    row_dist(t, "events", &st->events_per_stream, true, b);
}

/* show_latency: the latency row (streams as requests have one only when
 * their events carry the latency field; side by side, when either has). */
static void build_rows(const bench_report_t *rep, rows_t *t, bool hints, bool show_latency)
{
    const bench_result_t *r = rep->r;
    bench_metrics_t m;
    bench_report_metrics(r, &m);
    char a[32], b[32], c[32], d[32], e[32];
    memset(t, 0, sizeof(*t));

    if (r->streams.on) {
        stream_rows(rep, t);
    } else {
        row(t, "connections",
            "%" PRIu64 "/%" PRIu64 " established, %" PRIu64 " failed, %" PRIu64 " dropped",
            r->c.established, r->target, r->c.failed, r->c.dropped);
        if (hist_count(&r->connect) > 0)
            row(t, "connect", "p50 %s  p99 %s  max %s",
                fmt_time(a, 32, hist_percentile(&r->connect, 50)),
                fmt_time(b, 32, hist_percentile(&r->connect, 99)),
                fmt_time(c, 32, hist_max(&r->connect)));
        else
            row(t, "connect", "-");
        double reached = bench_report_connect_rate(r);
        row(t, "ramp", "%.2fs (%s asked, %s reached)", r->ramp_s,
            fmt_rate(a, 32, rep->connect_rate), reached < 0 ? "-" : fmt_rate(b, 32, reached));
        row(t, "measured", "%.2fs%s", r->measure_s, r->interrupted ? " (interrupted)" : "");
    }
    /* Subscribers send nothing: what was sent is --publish's POSTs (the
     * endpoint took them), and the bytes are what came in. */
    bool subscribers = !r->streams.on && rep->mode &&
                       (strcmp(rep->mode, "subscribe") == 0 || strcmp(rep->mode, "sse") == 0);
    if (!subscribers)
        row(t, "messages", "sent %" PRIu64 " (%s)  received %" PRIu64 " (%s)", r->m_sent,
            fmt_rate(a, 32, m.sent_rate), r->m_received, fmt_rate(b, 32, m.recv_rate));
    else if (r->m_sent)
        row(t, "messages", "published %" PRIu64 " (%s, --publish)  received %" PRIu64 " (%s)",
            r->m_sent, fmt_rate(a, 32, m.sent_rate), r->m_received, fmt_rate(b, 32, m.recv_rate));
    else
        row(t, "messages", "received %" PRIu64 " (%s)", r->m_received,
            fmt_rate(b, 32, m.recv_rate));
    if (!subscribers || r->m_bytes_sent)
        row(t, "bytes", "sent %s  received %s", fmt_bytes(a, 32, (double)r->m_bytes_sent),
            fmt_bytes(b, 32, (double)r->m_bytes_received));
    else
        row(t, "bytes", "received %s", fmt_bytes(b, 32, (double)r->m_bytes_received));
    wire_rows(t, r);
    if (hist_count(&r->latency) > 0)
        row(t, "latency", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", fmt_time(a, 32, m.p50_ns),
            fmt_time(b, 32, m.p90_ns), fmt_time(c, 32, m.p99_ns), fmt_time(d, 32, m.p999_ns),
            fmt_time(e, 32, m.max_ns));
    else if (show_latency)
        row(t, "latency", "no samples");
    char errs[ERRS_CELL];
    row(t, "errors", "%s", errors_text(errs, sizeof(errs), r, hints));
    uint64_t msgs = r->c.sent + r->c.received;
    if (msgs > 0)
        row(t, "client cpu", "%.2fs (%.2fus per message)", r->cpu_seconds,
            r->cpu_seconds * 1e6 / (double)msgs);
    else
        row(t, "client cpu", "%.2fs", r->cpu_seconds);
    uint64_t above = r->peak_rss_bytes > r->base_rss_bytes ? r->peak_rss_bytes - r->base_rss_bytes : 0;
    if (r->c.established > 0)
        row(t, "client rss", "peak %s (%s per connection above %s at start)",
            fmt_bytes(a, 32, (double)r->peak_rss_bytes),
            fmt_bytes(b, 32, (double)above / (double)r->c.established),
            fmt_bytes(c, 32, (double)r->base_rss_bytes));
    else
        row(t, "client rss", "peak %s", fmt_bytes(a, 32, (double)r->peak_rss_bytes));
    row(t, "load", "%u process%s x %u thread%s", r->procs, r->procs == 1 ? "" : "es", r->threads,
        r->threads == 1 ? "" : "s");
    if (hints)
        for (int k = 0; k < BERR_COUNT; k++)
            if (r->c.errors[k] && err_hint(k))
                row(t, "hint", "%s", err_hint(k));
}

/* Whether t has a row called label from row `from` on. */
static bool has_row(const rows_t *t, int from, const char *label)
{
    for (int k = from; k < t->n; k++)
        if (strcmp(t->label[k], label) == 0)
            return true;
    return false;
}

void bench_report_text(FILE *f, const bench_report_t *reps, size_t n)
{
    bool show_latency = false;
    for (size_t i = 0; i < n; i++)
        show_latency = show_latency || !reps[i].r->streams.on || hist_count(&reps[i].r->latency);
    if (n == 1) {
        rows_t t;
        build_rows(&reps[0], &t, true, show_latency);
        fprintf(f, "%s (%s)\n", reps[0].url, reps[0].mode);
        for (int i = 0; i < t.n; i++)
            fprintf(f, "  %-12s %s\n", t.label[i], t.val[i]);
        return;
    }
    rows_t t0, t1;
    build_rows(&reps[0], &t0, false, show_latency);
    build_rows(&reps[1], &t1, false, show_latency);
    size_t w = strlen(reps[0].url) + strlen(reps[0].mode) + 3;
    for (int i = 0; i < t0.n; i++)
        if (strlen(t0.val[i]) > w)
            w = strlen(t0.val[i]);
    char head[CELL * 2];
    snprintf(head, sizeof(head), "%s (%s)", reps[0].url, reps[0].mode);
    fprintf(f, "  %-12s %-*s | %s (%s)\n", "", (int)w, head, reps[1].url, reps[1].mode);
    /* Row by row where both have it; a row only one has (wire and deflate
     * rows come with what was measured) beside a "-". */
    int i = 0, r = 0;
    while (i < t0.n || r < t1.n) {
        if (i < t0.n && r < t1.n && strcmp(t0.label[i], t1.label[r]) == 0) {
            fprintf(f, "  %-12s %-*s | %s\n", t0.label[i], (int)w, t0.val[i], t1.val[r]);
            i++, r++;
        } else if (i < t0.n && !has_row(&t1, r, t0.label[i])) {
            fprintf(f, "  %-12s %-*s | -\n", t0.label[i], (int)w, t0.val[i]);
            i++;
        } else {
            fprintf(f, "  %-12s %-*s | %s\n", t1.label[r], (int)w, "-", t1.val[r]);
            r++;
        }
    }
    for (size_t j = 0; j < n; j++) {
        char errs[ERRS_CELL];
        if (errors_text(errs, sizeof(errs), reps[j].r, true)[0] != 'n')
            fprintf(f, "  %-12s %s: %s\n", "errors", reps[j].url, errs);
    }
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < BERR_COUNT; k++)
            if (reps[j].r->c.errors[k] && err_hint(k))
                fprintf(f, "  %-12s %s\n", "hint", err_hint(k));
}

/* ---- JSON summary ---- */

static void jnum(buf_t *b, double v)
{
    if (!isfinite(v))
        v = 0;
    buf_printf(b, "%.6g", v);
}

/* A percentile of no samples is null, not 0 ms (which reads as fast). */
static void jms(buf_t *b, const char *key, uint64_t ns, bool none, bool comma)
{
    if (none)
        buf_printf(b, "\"%s\":null%s", key, comma ? "," : "");
    else
        buf_printf(b, "\"%s\":%.3f%s", key, (double)ns / 1e6, comma ? "," : "");
}

/* "KEY":{"p50":..,"p90":..,"p99":..,"max":..,"mean":..,"samples":N}, in ms
 * for times, as they are for counts. */
static void jdist(buf_t *b, const char *key, const hist_t *h, bool counts)
{
    static const struct {
        const char *name;
        double p;
    } ps[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"max", 100}};
    double unit = counts ? 1 : 1e6;
    buf_printf(b, ",\"%s\":{", key);
    bool none = hist_count(h) == 0;
    for (size_t i = 0; i < ARRAY_LEN(ps); i++) {
        uint64_t v = ps[i].p < 100 ? hist_percentile(h, ps[i].p) : hist_max(h);
        if (none)
            buf_printf(b, "\"%s\":null,", ps[i].name);
        else
            buf_printf(b, counts ? "\"%s\":%.0f," : "\"%s\":%.3f,", ps[i].name, (double)v / unit);
    }
    buf_puts(b, "\"mean\":");
    if (none)
        buf_puts(b, "null");
    else
        jnum(b, hist_mean(h) / unit);
    buf_printf(b, ",\"samples\":%" PRIu64 "}", hist_count(h));
}

/* ,"streams":{...} for streams as requests. */
static void report_json_streams(buf_t *out, const bench_result_t *r)
{
    const bench_streams_t *st = &r->streams;
    if (!st->on)
        return;
    buf_printf(out,
               ",\"streams\":{\"completed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64
               ",\"unfinished\":%" PRIu64 ",\"rate\":",
               st->completed, st->failed, st->dropped, st->unfinished);
    jnum(out, rate_of(st->completed, r->measure_s));
    buf_printf(out, ",\"concurrency\":%" PRIu64 ",\"arrival_rate\":", r->target);
    jnum(out, st->arrival_rate);
    buf_printf(out,
               ",\"connections_opened\":%" PRIu64 ",\"events\":%" PRIu64 ",\"events_per_second\":",
               st->connections, st->events);
    jnum(out, rate_of(st->events, r->measure_s));
    jdist(out, "first_event_ms", &st->first_event, false);
    jdist(out, "event_gap_ms", &st->event_gap, false);
    jdist(out, "stream_ms", &st->stream, false);
    jdist(out, "events_per_stream", &st->events_per_stream, true);
    buf_putc(out, '}');
}

/* The summary object without its closing brace. */
static void report_json_open(buf_t *out, const bench_report_t *rep, const bench_assert_t *asserts,
                             const bool *ok, size_t nasserts)
{
    const bench_result_t *r = rep->r;
    bench_metrics_t m;
    bench_report_metrics(r, &m);
    buf_puts(out, "{\"url\":");
    json_quote(out, rep->url, strlen(rep->url));
    buf_printf(out, ",\"mode\":\"%s\"", rep->mode);
    buf_printf(out,
               ",\"connections\":{\"target\":%" PRIu64 ",\"established\":%" PRIu64
               ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64 "}",
               r->target, r->c.established, r->c.failed, r->c.dropped);
    bool no_connect = hist_count(&r->connect) == 0, no_latency = hist_count(&r->latency) == 0;
    buf_puts(out, ",\"connect_ms\":{");
    jms(out, "p50", hist_percentile(&r->connect, 50), no_connect, true);
    jms(out, "p90", hist_percentile(&r->connect, 90), no_connect, true);
    jms(out, "p99", hist_percentile(&r->connect, 99), no_connect, true);
    jms(out, "max", hist_max(&r->connect), no_connect, false);
    buf_printf(out, "},\"ramp_s\":%.3f,\"connect_rate_reached\":", r->ramp_s);
    double reached = bench_report_connect_rate(r);
    if (reached < 0)
        buf_puts(out, "null");
    else
        jnum(out, reached);
    buf_printf(out, ",\"duration_s\":%.3f", r->measure_s);
    buf_printf(out, ",\"messages\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"sent_rate\":",
               r->m_sent, r->m_received);
    jnum(out, m.sent_rate);
    buf_puts(out, ",\"recv_rate\":");
    jnum(out, m.recv_rate);
    buf_printf(out, "},\"bytes\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 "}", r->m_bytes_sent,
               r->m_bytes_received);
    buf_printf(out,
               ",\"wire\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"payload_sent\":%" PRIu64
               ",\"payload_received\":%" PRIu64 "}",
               r->wire_sent, r->wire_received, r->c.bytes_sent, r->c.bytes_received);
    buf_printf(out,
               ",\"deflate\":{\"connections\":%" PRIu64 ",\"zlib_peak_bytes\":%" PRIu64
               ",\"zlib_bytes_per_connection\":%" PRIu64 "}",
               r->deflate_connections, r->zlib_peak_bytes,
               r->deflate_connections ? r->zlib_peak_bytes / r->deflate_connections : 0);
    buf_puts(out, ",\"latency_ms\":{");
    jms(out, "p50", m.p50_ns, no_latency, true);
    jms(out, "p90", m.p90_ns, no_latency, true);
    jms(out, "p99", m.p99_ns, no_latency, true);
    jms(out, "p999", m.p999_ns, no_latency, true);
    jms(out, "max", m.max_ns, no_latency, true);
    if (no_latency)
        buf_puts(out, "\"mean\":null");
    else
        buf_printf(out, "\"mean\":%.3f", hist_mean(&r->latency) / 1e6);
    buf_printf(out, ",\"samples\":%" PRIu64 "}", hist_count(&r->latency));
    buf_puts(out, ",\"errors\":{");
    bool first = true;
    for (int k = 0; k < BERR_COUNT; k++) {
        if (!r->c.errors[k])
            continue;
        buf_printf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", bench_err_name((bench_err_t)k),
                   r->c.errors[k]);
        first = false;
    }
    buf_printf(out, "},\"errors_total\":%" PRIu64, m.errors);
    if (r->mismatch[0]) {
        buf_puts(out, ",\"first_mismatch\":");
        json_quote(out, r->mismatch, strlen(r->mismatch));
    }
    buf_puts(out, ",\"cpu_seconds\":");
    jnum(out, r->cpu_seconds);
    uint64_t msgs = r->c.sent + r->c.received;
    buf_puts(out, ",\"cpu_us_per_message\":");
    jnum(out, msgs ? r->cpu_seconds * 1e6 / (double)msgs : 0);
    uint64_t above = r->peak_rss_bytes > r->base_rss_bytes ? r->peak_rss_bytes - r->base_rss_bytes : 0;
    buf_printf(out, ",\"peak_rss_bytes\":%" PRIu64 ",\"base_rss_bytes\":%" PRIu64
                    ",\"rss_per_connection_bytes\":%" PRIu64,
               r->peak_rss_bytes, r->base_rss_bytes,
               r->c.established ? above / r->c.established : 0);
    buf_printf(out, ",\"procs\":%u,\"threads\":%u,\"interrupted\":%s", r->procs, r->threads,
               r->interrupted ? "true" : "false");
    report_json_streams(out, r);
    if (nasserts > 0) {
        buf_puts(out, ",\"assertions\":[");
        for (size_t i = 0; i < nasserts; i++) {
            buf_puts(out, i ? ",{\"expr\":" : "{\"expr\":");
            json_quote(out, asserts[i].text, strlen(asserts[i].text));
            bench_metrics_t mm;
            char got[64];
            double v;
            bench_report_metrics(r, &mm);
            bool measured = bench_assert_measure(&asserts[i], &mm, &v, got, sizeof(got));
            buf_printf(out, ",\"ok\":%s,\"value\":", ok[i] ? "true" : "false");
            if (measured)
                jnum(out, v);
            else
                buf_puts(out, "null");
            buf_puts(out, ",\"measured\":");
            json_quote(out, got, strlen(got));
            buf_putc(out, '}');
        }
        buf_puts(out, "]");
    }
}

void bench_report_json(buf_t *out, const bench_report_t *rep, const bench_assert_t *asserts,
                       const bool *ok, size_t nasserts)
{
    report_json_open(out, rep, asserts, ok, nasserts);
    buf_puts(out, "}");
}

/* ,"test_id":"...","started_at":"..." */
static void test_and_start(buf_t *out, const bench_result_t *r)
{
    char when[RFC3339_LEN + 1];
    buf_puts(out, ",\"test_id\":");
    json_quote(out, r->test_id, strnlen(r->test_id, BENCH_TEST_ID_MAX));
    buf_printf(out, ",\"started_at\":\"%s\"", fmt_rfc3339(when, r->started_at_ns));
}

void bench_report_json_merged(buf_t *out, const bench_report_t *rep, const bench_merged_t *m,
                              const bench_assert_t *asserts, const bool *ok, size_t nasserts)
{
    report_json_open(out, rep, asserts, ok, nasserts);
    buf_printf(out, ",\"merged\":{\"shards\":%zu,\"count\":%u,\"missing\":[", m->shards,
               m->count);
    for (size_t i = 0; i < m->nmissing; i++)
        buf_printf(out, "%s%u", i ? "," : "", m->missing[i]);
    buf_puts(out, "]}");
    test_and_start(out, rep->r);
    buf_puts(out, "}");
}

void bench_report_json_shard(buf_t *out, const bench_report_t *rep, const bench_assert_t *asserts,
                             const bool *ok, size_t nasserts)
{
    report_json_open(out, rep, asserts, ok, nasserts);
    const bench_result_t *r = rep->r;
    buf_printf(out, ",\"shard\":{\"index\":%u,\"count\":%u}", r->shard_index, r->shard_count);
    test_and_start(out, r);
    buf_puts(out, ",\"shard_result\":");
    bench_result_to_shard_json(rep->r, out);
    buf_puts(out, "}");
}
