/* bench_export: a finished run in the forms other tools read and people
 * look at: HdrHistogram's percentile-distribution text (--hgrm), JUnit XML
 * with one testcase per assertion (--junit), and one self-contained HTML
 * page with inline SVG charts and no script (--report, bench_html.c).
 * Each writer appends to a buf_t; the caller writes the file. All text from
 * outside (URLs, error examples) is escaped for XML/HTML, and bytes that are
 * not valid UTF-8 or are control characters become '?'. */
#ifndef EVCAT_BENCH_EXPORT_H
#define EVCAT_BENCH_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_assert.h"
#include "bench_report.h"
#include "buf.h"
#include "hist.h"

/* One step of HdrHistogram's percentile iteration (5 ticks per half
 * distance): the percentile reached (0..1), the value there (ns, the
 * highest of its bucket, at most the max) and the samples up to it. The
 * last point of a non-empty histogram has p == 1 and the max. */
typedef struct bench_pct_point {
    double p;
    uint64_t value_ns;
    uint64_t total;
} bench_pct_point_t;

/* At most this many points (enough for 1/(1-p) up to 1e12). */
#define BENCH_PCT_POINTS_MAX 400

/* The points of h into pts (room for BENCH_PCT_POINTS_MAX); returns how
 * many (0 for an empty histogram). */
size_t bench_pct_points(const hist_t *h, bench_pct_point_t *pts);

/* The latency the exports show: the message latency, or with streams as
 * requests the time to the first event. */
const hist_t *bench_export_latency(const bench_result_t *r);

/* HdrHistogram's outputPercentileDistribution text of h, values in ms:
 *   "       Value     Percentile TotalCount 1/(1-Percentile)" header, a row
 *   per point, and the #[Mean ...], #[Max ...], #[Buckets ...] footer. */
void bench_export_hgrm(buf_t *out, const hist_t *h);

/* JUnit XML: a <testsuite> per run named after its URL, one <testcase> per
 * assertion (named by its expression), with a <failure> giving the value
 * measured when it does not hold; the value as <system-out> either way. */
void bench_export_junit(buf_t *out, const bench_report_t *reps, size_t n,
                        const bench_assert_t *asserts, size_t nasserts);

/* The HTML page (bench_html.c): configuration, summary, assertions, errors
 * with their first examples, the latency percentile distribution (log
 * scale of 1/(1-p)), message rates, open connections, and failed and
 * dropped connections per second; two runs share each chart's axes. At
 * most BENCH_HTML_POINTS points per line: longer series are averaged over
 * groups of seconds. */
#define BENCH_HTML_POINTS 3600
void bench_export_html(buf_t *out, const bench_report_t *reps, size_t n,
                       const bench_assert_t *asserts, size_t nasserts);

/* s[0..n) escaped for XML and HTML text and attribute values: & < > " '
 * as entities; control characters but tab and newline, and bytes that are
 * not part of valid UTF-8, as '?'. */
void bench_xml_escape(buf_t *out, const char *s, size_t n);

/* FILE for run i of n: FILE itself for one run; with two, "-1"/"-2" goes
 * before the last extension ("lat.hgrm" -> "lat-1.hgrm", "lat" -> "lat-1").
 * out holds at least strlen(file) + 3 bytes. */
void bench_export_name(char *out, size_t outlen, const char *file, size_t i, size_t n);

#endif
