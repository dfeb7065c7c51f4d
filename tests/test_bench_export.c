/* Unit tests for src/bench/bench_export.c and bench_html.c (the --hgrm,
 * --junit and --report writers: structure, escaping, bounds) and the first
 * examples of error kinds (bench.c: the earliest kept; bench_result.c: the
 * shard form round trip and its checks), and bench_assert_measure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_export.h"
#include "bench_result.h"
#include "buf.h"

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A small XML well-formedness check: every start tag is closed in order
 * (self-closing tags and the HTML void element <meta> aside), no bare '<'
 * or '&' outside tags and entities. Returns the number of elements, or -1. */
static int xml_elements(const char *s)
{
    char stack[64][32];
    int depth = 0, elements = 0;
    const char *p = s;
    while (*p) {
        if (*p == '&') {
            const char *semi = strchr(p, ';');
            if (!semi || semi - p > 6)
                return -1;
            p = semi + 1;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (p[1] == '?' || p[1] == '!') { /* <?xml ...?>, <!DOCTYPE ...> */
            p = strchr(p, '>');
            if (!p)
                return -1;
            p++;
            continue;
        }
        const char *end = strchr(p, '>');
        if (!end)
            return -1;
        bool closing = p[1] == '/', self = end[-1] == '/';
        const char *name = p + (closing ? 2 : 1);
        size_t len = strcspn(name, " />\n");
        if (len == 0 || len >= 32)
            return -1;
        /* no '<' inside a tag: attribute values are escaped */
        for (const char *q = p + 1; q < end; q++)
            if (*q == '<')
                return -1;
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len ||
                memcmp(stack[depth - 1], name, len) != 0)
                return -1;
            depth--;
        } else {
            elements++;
            if (!self && !(len == 4 && memcmp(name, "meta", 4) == 0)) {
                if (depth == 64)
                    return -1;
                memcpy(stack[depth], name, len);
                stack[depth++][len] = '\0';
            }
        }
        p = end + 1;
    }
    return depth == 0 ? elements : -1;
}

static void test_escape(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    const char in[] = "<a href=\"x\">&'\x01\tok\n\xff\xc3\xa9\xe2\x9c";
    bench_xml_escape(&b, in, sizeof(in) - 1);
    buf_putc(&b, '\0');
    assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;?\tok\n?\xc3\xa9??");
    buf_free(&b);
    assert_int_equal(xml_elements("<a><b/>x &amp; y</a>"), 2);
    assert_int_equal(xml_elements("<a><b></a></b>"), -1);
    assert_int_equal(xml_elements("<a>x & y</a>"), -1);
}

static void test_export_name(void **state)
{
    (void)state;
    char out[64];
    bench_export_name(out, sizeof(out), "lat.hgrm", 0, 1);
    assert_string_equal(out, "lat.hgrm");
    bench_export_name(out, sizeof(out), "lat.hgrm", 0, 2);
    assert_string_equal(out, "lat-1.hgrm");
    bench_export_name(out, sizeof(out), "out.d/lat", 1, 2);
    assert_string_equal(out, "out.d/lat-2");
    bench_export_name(out, sizeof(out), "a/.hidden", 1, 2);
    assert_string_equal(out, "a/.hidden-2");
}

/* Reads the hgrm back as its plotters do, checking every row. */
static void test_hgrm(void **state)
{
    (void)state;
    hist_t h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 1000; v++)
        hist_record(&h, v * 1000); /* 1us .. 1ms */
    buf_t b;
    buf_init(&b);
    bench_export_hgrm(&b, &h);
    buf_putc(&b, '\0');
    char *text = b.p, *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_non_null(strstr(line, "Value"));
    assert_non_null(strstr(line, "1/(1-Percentile)"));
    double lastv = -1, lastp = -1, v, p, inv;
    unsigned long long lastc = 0, c;
    int rows = 0, footer = 0;
    bool final = false;
    while ((line = strtok_r(NULL, "\n", &save))) {
        if (line[0] == '#') {
            footer++;
            if (footer == 1)
                assert_true(sscanf(line, "#[Mean = %lf, StdDeviation = %lf]", &v, &inv) == 2 &&
                            v > 0.49 && v < 0.51 && inv > 0.28 && inv < 0.30);
            if (footer == 2)
                assert_true(sscanf(line, "#[Max = %lf, Total count = %llu]", &v, &c) == 2 &&
                            v > 0.999 && v < 1.001 && c == 1000);
            continue;
        }
        assert_false(final);
        int n = sscanf(line, "%lf %lf %llu %lf", &v, &p, &c, &inv);
        assert_true(n == 4 || n == 3);
        assert_true(v >= lastv && p > lastp && c >= lastc);
        if (n == 4)
            assert_true(inv >= 1 && inv < 1.01 / (1 - p) && inv > 0.99 / (1 - p));
        else
            final = true;
        lastv = v;
        lastp = p;
        lastc = c;
        rows++;
    }
    assert_true(final);
    assert_true(lastp == 1.0 && lastc == 1000 && lastv > 0.999 && lastv < 1.001);
    assert_int_equal(footer, 3);
    assert_true(rows > 40 && rows < BENCH_PCT_POINTS_MAX);
    /* an empty histogram: the header and the footer only */
    hist_reset(&h);
    b.len = 0;
    bench_export_hgrm(&b, &h);
    buf_putc(&b, '\0');
    assert_int_equal(count_of(b.p, "\n#["), 3);
    assert_int_equal(count_of(b.p, "\n"), 5);
    buf_free(&b);
    hist_free(&h);
}

/* Two runs: one with latencies and a 3 s series, one that failed. */
static void make_runs(bench_result_t r[2], bench_report_t reps[2])
{
    for (int j = 0; j < 2; j++)
        bench_result_init(&r[j]);
    for (uint64_t v = 1; v <= 500; v++)
        hist_record(&r[0].latency, v * 100000);
    hist_record(&r[0].connect, 200000);
    r[0].target = r[1].target = 10;
    r[0].c.established = 10;
    r[0].m_received = r[0].m_sent = 500;
    r[0].measure_s = 2;
    for (uint64_t s = 0; s < 3; s++) {
        bench_second_t *sec = bench_series_at(&r[0].series, s);
        sec->d.sent = sec->d.received = 170;
        sec->open = 10;
        sec->phase = s ? BENCH_MEASURE : BENCH_RAMP;
    }
    for (uint64_t v = 1; v <= 100; v++) {
        bench_latsec_record(&r[0].latsec, 1, v * 100000);
        bench_latsec_record(&r[0].latsec, 2, v * 200000);
    }
    r[1].c.failed = 10;
    r[1].c.errors[BERR_HANDSHAKE] = 10;
    bench_examples_note(&r[1].ex, BERR_HANDSHAKE, 5,
                        "HTTP 404 <script>alert(1)</script> & \"x\" from /nope");
    bench_second_t *sec = bench_series_at(&r[1].series, 0);
    sec->d.failed = 10;
    reps[0] = (bench_report_t){"ws://h/echo?a=1&b=<2>", "echo", 100, &r[0]};
    reps[1] = (bench_report_t){"ws://h/nope", "echo", 100, &r[1]};
}

static void parse_asserts(bench_assert_t a[2])
{
    char err[128];
    assert_int_equal(bench_assert_parse("p99<20ms", &a[0], err, sizeof(err)), 0);
    assert_int_equal(bench_assert_parse("errors==0", &a[1], err, sizeof(err)), 0);
}

static void test_junit(void **state)
{
    (void)state;
    bench_result_t r[2];
    bench_report_t reps[2];
    bench_assert_t a[2];
    make_runs(r, reps);
    parse_asserts(a);
    buf_t b;
    buf_init(&b);
    bench_export_junit(&b, reps, 2, a, 2);
    buf_putc(&b, '\0');
    assert_true(xml_elements(b.p) > 0);
    assert_int_equal(count_of(b.p, "<testsuite "), 2);
    assert_int_equal(count_of(b.p, "<testcase "), 4);
    /* run 0: p99 49.5ms (its bucket: 49.545215ms) fails, errors 0 holds; run 1: both fail */
    assert_int_equal(count_of(b.p, "<failure "), 3);
    assert_non_null(strstr(b.p, "tests=\"4\" failures=\"3\""));
    assert_non_null(strstr(b.p, "<testsuite name=\"ws://h/echo?a=1&amp;b=&lt;2&gt;\""));
    assert_non_null(strstr(b.p, "name=\"p99 &lt; 20ms\""));
    assert_non_null(strstr(b.p, "message=\"errors == 0 failed: errors was 10\">measured: 10<"));
    assert_non_null(strstr(b.p, ">measured: 49.545215ms</failure>"));
    buf_free(&b);
    for (int j = 0; j < 2; j++)
        bench_result_free(&r[j]);
}

static void test_html(void **state)
{
    (void)state;
    bench_result_t r[2];
    bench_report_t reps[2];
    bench_assert_t a[2];
    make_runs(r, reps);
    parse_asserts(a);
    buf_t b;
    buf_init(&b);
    bench_export_html(&b, reps, 2, a, 2);
    buf_putc(&b, '\0');
    assert_true(xml_elements(b.p) > 50);
    /* self-contained: no script, no external resource */
    assert_null(strstr(b.p, "<script"));
    assert_null(strstr(b.p, "<link"));
    assert_null(strstr(b.p, "src="));
    assert_null(strstr(b.p, "@import"));
    assert_null(strstr(b.p, "url("));
    /* five charts, each with a line per run and kind: the distribution and
     * p50/p99 per second of run 0 (run 1 has no samples), 3 x 2 time lines
     * of each; run 1's series of one second draws dots */
    assert_int_equal(count_of(b.p, "<svg class=\"chart\""), 5);
    assert_int_equal(count_of(b.p, "<polyline class=\"series\""), 15);
    assert_int_equal(count_of(b.p, "<circle class=\"series\""), 6);
    assert_non_null(strstr(b.p, ">99.9%</text>") ? b.p : strstr(b.p, ">99%</text>"));
    assert_non_null(strstr(b.p, ">90%</text>"));
    /* assertions: run 0 p99 fails, errors holds; run 1 both fail */
    assert_int_equal(count_of(b.p, "<td class=\"pass\">\u2713 0</td>"), 1);
    assert_int_equal(count_of(b.p, "<td class=\"fail\">\u2717"), 3);
    assert_non_null(strstr(b.p, "\u2717 49.545215ms"));
    /* escaping of the URL and the example */
    assert_non_null(strstr(b.p, "ws://h/echo?a=1&amp;b=&lt;2&gt;"));
    assert_null(strstr(b.p, "b=<2>"));
    assert_non_null(strstr(b.p, "HTTP 404 &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
    /* one URL: no legend names, one line per kind */
    b.len = 0;
    bench_export_html(&b, reps, 1, NULL, 0);
    buf_putc(&b, '\0');
    assert_true(xml_elements(b.p) > 0);
    assert_int_equal(count_of(b.p, "<polyline class=\"series\""), 9);
    assert_non_null(strstr(b.p, "No --assert given."));
    buf_free(&b);
    for (int j = 0; j < 2; j++)
        bench_result_free(&r[j]);
}

/* An hour and more: at most BENCH_HTML_POINTS points a line. */
static void test_html_bounded(void **state)
{
    (void)state;
    bench_result_t r;
    bench_result_init(&r);
    for (uint64_t s = 0; s < 2 * BENCH_HTML_POINTS + 5; s++)
        bench_series_at(&r.series, s)->d.sent = s;
    bench_report_t rep = {"ws://h/", "echo", 1, &r};
    buf_t b;
    buf_init(&b);
    bench_export_html(&b, &rep, 1, NULL, 0);
    buf_putc(&b, '\0');
    const char *pl = strstr(b.p, "<polyline class=\"series\"");
    pl = strstr(pl + 1, "<polyline class=\"series\""); /* the first time chart's */
    assert_non_null(pl);
    const char *end = strstr(pl, "\"><title>");
    size_t points = 0;
    for (const char *p = pl; p < end; p++)
        points += *p == ',';
    assert_true(points > 1000 && points <= BENCH_HTML_POINTS);
    assert_true(b.len < 2u << 20);
    buf_free(&b);
    bench_result_free(&r);
}

static void test_examples(void **state)
{
    (void)state;
    bench_result_t a, b, c;
    bench_result_init(&a);
    bench_result_init(&b);
    bench_result_init(&c);
    char longer[BENCH_ERR_EXAMPLE_MAX * 2];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    bench_examples_note(&a.ex, BERR_REFUSED, 200, "later");
    bench_examples_note(&a.ex, BERR_REFUSED, 300, "even later: not kept");
    assert_string_equal(a.ex.text[BERR_REFUSED], "later");
    bench_examples_note(&b.ex, BERR_REFUSED, 100, "earlier\r\nline");
    bench_examples_note(&b.ex, BERR_TLS, 100, longer);
    bench_examples_note_exchange(&b.ex, 100, "GET / HTTP/1.1\r\n\r\nHTTP/1.1 404\r\n", 32);
    bench_result_merge(&a, &b);
    assert_string_equal(a.ex.text[BERR_REFUSED], "earlier??line");
    assert_int_equal(strlen(a.ex.text[BERR_TLS]), BENCH_ERR_EXAMPLE_MAX);
    /* the shard form carries them */
    buf_t j;
    buf_init(&j);
    bench_result_to_shard_json(&a, &j);
    char err[128];
    assert_int_equal(bench_result_parse_shard(j.p, j.len, &c, err, sizeof(err)), 0);
    assert_int_equal(c.ex.at_ns[BERR_REFUSED], 100);
    assert_string_equal(c.ex.text[BERR_REFUSED], "earlier??line");
    assert_string_equal(c.ex.exchange, "GET / HTTP/1.1\n\nHTTP/1.1 404\n");
    assert_int_equal(c.ex.at_ns[BERR_CLOSED], 0);
    /* an unknown kind or a bad example is refused */
    const char *bad[] = {"\"examples\":{\"nope\":{\"at_ns\":\"1\",\"text\":\"x\"}}",
                         "\"examples\":{\"tls\":{\"at_ns\":\"0\",\"text\":\"x\"}}",
                         "\"examples\":{\"tls\":{\"at_ns\":\"1\"}}", "\"examples\":[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_t t;
        buf_init(&t);
        bench_result_t d;
        bench_result_init(&d);
        bench_result_to_shard_json(&d, &t);
        t.len--; /* the closing brace */
        buf_printf(&t, ",%s}", bad[i]);
        assert_int_equal(bench_result_parse_shard(t.p, t.len, &d, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "examples"));
        buf_free(&t);
        bench_result_free(&d);
    }
    buf_free(&j);
    bench_result_free(&a);
    bench_result_free(&b);
    bench_result_free(&c);
}

static void test_measure(void **state)
{
    (void)state;
    bench_assert_t a;
    char err[128], got[64];
    double v;
    bench_metrics_t m;
    memset(&m, 0, sizeof(m));
    assert_int_equal(bench_assert_parse("p99<50ms", &a, err, sizeof(err)), 0);
    assert_false(bench_assert_measure(&a, &m, &v, got, sizeof(got)));
    assert_string_equal(got, "no latency samples");
    m.latency_samples = 1;
    m.p99_ns = 73200000;
    assert_true(bench_assert_measure(&a, &m, &v, got, sizeof(got)));
    assert_string_equal(got, "73.2ms");
    assert_true(v > 73.19 && v < 73.21);
    assert_int_equal(bench_assert_parse("recv_rate>=10", &a, err, sizeof(err)), 0);
    m.recv_rate = 12.5;
    assert_true(bench_assert_measure(&a, &m, &v, got, sizeof(got)));
    assert_string_equal(got, "12.5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),       cmocka_unit_test(test_export_name),
        cmocka_unit_test(test_hgrm),         cmocka_unit_test(test_junit),
        cmocka_unit_test(test_html),         cmocka_unit_test(test_html_bounded),
        cmocka_unit_test(test_examples),     cmocka_unit_test(test_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
