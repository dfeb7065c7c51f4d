/* bench_export: HdrHistogram's percentile text, JUnit XML and the escaping
 * the HTML page shares (see bench_export.h). */
#include "bench_export.h"
#include "text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- escaping ---- */

/* The length of the valid UTF-8 sequence at p[0..n) (1-4), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || len > n || !utf8_valid((const char *)p, len))
        return 0;
    return len;
}

void bench_xml_escape(buf_t *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);
            if (len) {
                buf_append(out, s + i, len);
                i += len;
            } else {
                buf_putc(out, '?');
                i++;
            }
            continue;
        }
        switch (c) {
        case '&': buf_puts(out, "&amp;"); break;
        case '<': buf_puts(out, "&lt;"); break;
        case '>': buf_puts(out, "&gt;"); break;
        case '"': buf_puts(out, "&quot;"); break;
        case '\'': buf_puts(out, "&#39;"); break;
        default:
            buf_putc(out, (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? '?' : (char)c);
        }
        i++;
    }
}

void bench_export_name(char *out, size_t outlen, const char *file, size_t i, size_t n)
{
    if (n <= 1) {
        snprintf(out, outlen, "%s", file);
        return;
    }
    const char *slash = strrchr(file, '/');
    const char *dot = strrchr(slash ? slash + 1 : file, '.');
    if (!dot || dot == (slash ? slash + 1 : file))
        dot = file + strlen(file);
    snprintf(out, outlen, "%.*s-%zu%s", (int)(dot - file), file, i + 1, dot);
}

/* ---- percentiles ---- */

/* The highest value of the bucket holding the rank-th sample, capped at the
 * max, and the samples up to that bucket. */
static void value_at_rank(const hist_t *h, uint64_t rank, uint64_t *value, uint64_t *total)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < HIST_NBUCKETS; i++) {
        cum += hist_bucket_count(h, i);
        if (cum >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(i, &lo, &hi);
            *value = hi < hist_max(h) ? hi : hist_max(h);
            *total = cum;
            return;
        }
    }
    *value = hist_max(h);
    *total = hist_count(h);
}

size_t bench_pct_points(const hist_t *h, bench_pct_point_t *pts)
{
    uint64_t n = hist_count(h);
    if (n == 0)
        return 0;
    size_t k = 0;
    double level = 0; /* percent */
    while (k + 1 < BENCH_PCT_POINTS_MAX) {
        double r = ceil(level / 100.0 * (double)n);
        uint64_t rank = r < 1 ? 1 : r > (double)n ? n : (uint64_t)r;
        uint64_t v, total;
        value_at_rank(h, rank, &v, &total);
        if (total >= n && k > 0 && pts[k - 1].total >= n)
            break; /* the max already shown once below 100% */
        pts[k++] = (bench_pct_point_t){level / 100.0, v, total};
        /* HdrHistogram's PercentileIterator, 5 ticks per half distance */
        double ticks = 5.0 * pow(2.0, floor(log2(100.0 / (100.0 - level))) + 1);
        level += 100.0 / ticks;
        if (!(level < 100.0))
            break;
    }
    pts[k++] = (bench_pct_point_t){1.0, hist_max(h), n};
    return k;
}

const hist_t *bench_export_latency(const bench_result_t *r)
{
    return r->streams.on ? &r->streams.first_event : &r->latency;
}

void bench_export_hgrm(buf_t *out, const hist_t *h)
{
    bench_pct_point_t pts[BENCH_PCT_POINTS_MAX];
    size_t np = bench_pct_points(h, pts);
    buf_printf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
               "1/(1-Percentile)");
    for (size_t i = 0; i < np; i++) {
        double ms = (double)pts[i].value_ns / 1e6;
        if (pts[i].p < 1.0)
            buf_printf(out, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", ms, pts[i].p, pts[i].total,
                       1.0 / (1.0 - pts[i].p));
        else
            buf_printf(out, "%12.3f %2.12f %10" PRIu64 "\n", ms, pts[i].p, pts[i].total);
    }
    /* the standard deviation from each bucket's middle, as HdrHistogram does */
    double mean = hist_mean(h), var = 0;
    uint64_t n = hist_count(h);
    for (size_t i = 0; n && i < HIST_NBUCKETS; i++) {
        uint64_t c = hist_bucket_count(h, i);
        if (!c)
            continue;
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        double d = ((double)lo + (double)hi) / 2.0 - mean;
        var += d * d * (double)c;
    }
    double sd = n ? sqrt(var / (double)n) : 0;
    buf_printf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean / 1e6, sd / 1e6);
    buf_printf(out, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
               (double)hist_max(h) / 1e6, n);
    /* our layout in HdrHistogram's terms: 256 exact values, then 128
     * sub-buckets per power of two up to 1 h */
    buf_printf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", 35, 1 << (HIST_SUB_BITS + 1));
}

/* ---- JUnit ---- */

static void xml_attr(buf_t *out, const char *name, const char *value)
{
    buf_printf(out, " %s=\"", name);
    bench_xml_escape(out, value, strlen(value));
    buf_putc(out, '"');
}

static void junit_suite(buf_t *out, const bench_report_t *rep, const bench_assert_t *asserts,
                        size_t nasserts)
{
    bench_metrics_t m;
    bench_report_metrics(rep->r, &m);
    size_t failures = 0;
    for (size_t i = 0; i < nasserts; i++) {
        char why[256];
        failures += !bench_assert_eval(&asserts[i], &m, why, sizeof(why));
    }
    char num[64];
    buf_puts(out, "  <testsuite");
    xml_attr(out, "name", rep->url);
    buf_printf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\">\n",
               nasserts, failures, rep->r->measure_s);
    buf_puts(out, "    <properties>\n      <property name=\"url\"");
    xml_attr(out, "value", rep->url);
    buf_puts(out, "/>\n      <property name=\"mode\"");
    xml_attr(out, "value", rep->mode);
    snprintf(num, sizeof(num), "%" PRIu64, rep->r->target);
    buf_puts(out, "/>\n      <property name=\"connections\"");
    xml_attr(out, "value", num);
    buf_puts(out, "/>\n    </properties>\n");
    for (size_t i = 0; i < nasserts; i++) {
        char why[256], got[64];
        double v;
        bool ok = bench_assert_eval(&asserts[i], &m, why, sizeof(why));
        bench_assert_measure(&asserts[i], &m, &v, got, sizeof(got));
        buf_puts(out, "    <testcase classname=\"evcat.bench\"");
        xml_attr(out, "name", asserts[i].text);
        buf_puts(out, " time=\"0\">\n");
        if (!ok) {
            buf_puts(out, "      <failure type=\"assertion\"");
            xml_attr(out, "message", why);
            buf_puts(out, ">measured: ");
            bench_xml_escape(out, got, strlen(got));
            buf_puts(out, "</failure>\n");
        }
        buf_puts(out, "      <system-out>measured: ");
        bench_xml_escape(out, got, strlen(got));
        buf_puts(out, "</system-out>\n    </testcase>\n");
    }
    buf_puts(out, "  </testsuite>\n");
}

void bench_export_junit(buf_t *out, const bench_report_t *reps, size_t n,
                        const bench_assert_t *asserts, size_t nasserts)
{
    size_t failures = 0;
    for (size_t j = 0; j < n; j++) {
        bench_metrics_t m;
        bench_report_metrics(reps[j].r, &m);
        for (size_t i = 0; i < nasserts; i++) {
            char why[256];
            failures += !bench_assert_eval(&asserts[i], &m, why, sizeof(why));
        }
    }
    buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    buf_printf(out, "<testsuites name=\"evcat bench\" tests=\"%zu\" failures=\"%zu\">\n",
               n * nasserts, failures);
    for (size_t j = 0; j < n; j++)
        junit_suite(out, &reps[j], asserts, nasserts);
    buf_puts(out, "</testsuites>\n");
}
