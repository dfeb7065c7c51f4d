/* Unit tests for src/bench/bench_merge.c: a test's shards merged exactly
 * (counts are the sums, the merged histogram is the histogram of every
 * sample, series add by second), the refusals (shards of different tests, an
 * index given twice, indices missing unless partial), the missing list's
 * text, and the reader that finds shard forms among log lines (kubectl
 * prefixes, marker lines, --json summaries holding a "shard_result", cut
 * short shards, over-long lines), fed at once, in small pieces and from a
 * descriptor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_merge.h"
#include "bench_report.h"
#include "buf.h"

#define NSHARDS 4
static const char TEST_ID[] = "00c0ffee00c0ffee";

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Shard i of n: counters, samples (also recorded into *all when given) and
 * a series of 3 + i seconds. */
static void make_shard(bench_result_t *r, unsigned i, unsigned n, const char *id, hist_t *all)
{
    bench_result_init(r);
    uint64_t seed = 0x9e3779b97f4a7c15ull * (i + 1);
    r->target = 250;
    r->c.attempted = 250;
    r->c.established = 240 + i;
    r->c.failed = 10 - i;
    r->c.errors[BERR_REFUSED] = 10 - i;
    r->c.received = 10000 * (i + 1);
    r->m_received = 9000 * (i + 1);
    r->measure_s = 10 + i;
    r->procs = 1;
    r->threads = 2;
    for (int k = 0; k < 3000; k++) {
        uint64_t v = next_rand(&seed) % (50000000ull << i); /* up to 50 ms << i */
        hist_record(&r->latency, v);
        if (all)
            hist_record(all, v);
        hist_record(&r->connect, 1000 + v % 100000);
    }
    for (unsigned s = 0; s < 3 + i; s++) {
        bench_second_t *e = bench_series_at(&r->series, s);
        e->d.established = 80 + i;
        e->d.received = 1000 * (s + 1);
        e->open = 80 * (s + 1);
        e->phase = s == 0 ? BENCH_RAMP : BENCH_MEASURE;
    }
    r->shard_index = i;
    r->shard_count = n;
    snprintf(r->test_id, sizeof(r->test_id), "%s", id);
    r->started_at_ns = 1764000000000000000ull + i * 1000; /* within 4 us of each other */
}

static void hist_text(const hist_t *h, buf_t *out)
{
    buf_init(out);
    hist_to_json(h, out);
}

static void test_merge_exact(void **state)
{
    (void)state;
    hist_t all;
    hist_init(&all);
    bench_result_t sh[NSHARDS], parsed[NSHARDS], m;
    bench_shard_t in[NSHARDS];
    char names[NSHARDS][16];
    for (unsigned i = 0; i < NSHARDS; i++) {
        make_shard(&sh[i], i, NSHARDS, TEST_ID, &all);
        /* through the shard form, as from another host */
        buf_t j;
        buf_init(&j);
        bench_result_to_shard_json(&sh[i], &j);
        bench_result_init(&parsed[i]);
        assert_int_equal(bench_result_from_shard_json(j.p, j.len, &parsed[i]), 0);
        buf_free(&j);
        snprintf(names[i], sizeof(names[i]), "s%u.json", i);
        /* in any order */
        in[(i + 2) % NSHARDS] = (bench_shard_t){names[i], &parsed[i]};
    }
    bench_result_init(&m);
    bench_missing_t miss;
    char err[300];
    assert_int_equal(bench_merge(in, NSHARDS, false, &m, &miss, err, sizeof(err)), 0);
    assert_int_equal(miss.n, 0);
    assert_int_equal(miss.count, NSHARDS);

    uint64_t est = 0, failed = 0, refused = 0, recv = 0, mrecv = 0;
    for (unsigned i = 0; i < NSHARDS; i++) {
        est += sh[i].c.established;
        failed += sh[i].c.failed;
        refused += sh[i].c.errors[BERR_REFUSED];
        recv += sh[i].c.received;
        mrecv += sh[i].m_received;
    }
    assert_int_equal(m.target, 250 * NSHARDS);
    assert_int_equal(m.c.established, est);
    assert_int_equal(m.c.failed, failed);
    assert_int_equal(m.c.errors[BERR_REFUSED], refused);
    assert_int_equal(m.c.received, recv);
    assert_int_equal(m.m_received, mrecv);
    assert_int_equal(m.procs, NSHARDS);
    assert_true(m.measure_s == 10 + NSHARDS - 1);
    /* histograms: exactly the histogram of every sample */
    buf_t a, b;
    hist_text(&all, &a);
    hist_text(&m.latency, &b);
    assert_string_equal(a.p, b.p);
    assert_int_equal(hist_count(&m.connect), 3000 * NSHARDS);
    /* series: as long as the longest, each second the sum of those that have it */
    assert_int_equal(m.series.len, 3 + NSHARDS - 1);
    for (unsigned s = 0; s < m.series.len; s++) {
        uint64_t e = 0, o = 0;
        for (unsigned i = 0; i < NSHARDS; i++)
            if (s < 3 + i) {
                e += 80 + i;
                o += 80 * (s + 1);
            }
        assert_int_equal(m.series.s[s].d.established, e);
        assert_int_equal(m.series.s[s].open, o);
    }
    assert_int_equal(m.series.s[0].phase, BENCH_RAMP);
    assert_int_equal(m.series.s[1].phase, BENCH_MEASURE);
    /* the merge is the test, not a shard of it */
    assert_string_equal(m.test_id, TEST_ID);
    assert_int_equal(m.shard_count, 0);
    assert_int_equal(m.shard_index, 0);
    assert_true(m.started_at_ns == 1764000000000000000ull);

    buf_free(&a);
    buf_free(&b);
    bench_missing_free(&miss);
    for (unsigned i = 0; i < NSHARDS; i++) {
        bench_result_free(&sh[i]);
        bench_result_free(&parsed[i]);
    }
    bench_result_free(&m);
    hist_free(&all);
}

static void test_merge_refusals(void **state)
{
    (void)state;
    bench_result_t s0, s1, s1b, s3, other, wider, plain, m;
    make_shard(&s0, 0, NSHARDS, TEST_ID, NULL);
    make_shard(&s1, 1, NSHARDS, TEST_ID, NULL);
    make_shard(&s1b, 1, NSHARDS, TEST_ID, NULL);
    make_shard(&s3, 3, NSHARDS, TEST_ID, NULL);
    make_shard(&other, 2, NSHARDS, "0badcafe0badcafe", NULL);
    make_shard(&wider, 2, NSHARDS + 1, TEST_ID, NULL);
    bench_result_init(&plain);
    char err[300];
    bench_missing_t miss;

    /* different tests: by id, by shard count */
    bench_result_init(&m);
    bench_shard_t diff[] = {{"a.json", &s0}, {"b.json", &other}};
    assert_int_equal(bench_merge(diff, 2, true, &m, &miss, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a.json"));
    assert_non_null(strstr(err, "b.json"));
    assert_non_null(strstr(err, "different tests"));
    bench_result_free(&m);
    bench_result_init(&m);
    bench_shard_t count[] = {{"a.json", &s0}, {"c.json", &wider}};
    assert_int_equal(bench_merge(count, 2, true, &m, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a.json and c.json are shards of different tests"));
    bench_result_free(&m);

    /* an index twice */
    bench_result_init(&m);
    bench_shard_t twice[] = {{"a.json", &s0}, {"b.json", &s1}, {"-#3", &s1b}};
    assert_int_equal(bench_merge(twice, 3, true, &m, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "shard 1 of 4 is given twice: b.json and -#3");
    bench_result_free(&m);

    /* not a shard */
    bench_result_init(&m);
    bench_shard_t notone[] = {{"plain.json", &plain}};
    assert_int_equal(bench_merge(notone, 1, true, &m, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "plain.json is not a shard"));
    bench_result_free(&m);

    /* none at all */
    bench_result_init(&m);
    assert_int_equal(bench_merge(NULL, 0, true, &m, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no shard"));
    bench_result_free(&m);

    /* missing: an error that lists them, or with partial the merge of the rest */
    bench_result_init(&m);
    bench_shard_t some[] = {{"b.json", &s1}};
    assert_int_equal(bench_merge(some, 1, false, &m, &miss, err, sizeof(err)), -1);
    assert_string_equal(err, "3 of the 4 shards of test 00c0ffee00c0ffee are missing: 0, 2-3");
    assert_int_equal(miss.n, 3);
    bench_missing_free(&miss);
    bench_result_free(&m);

    bench_result_init(&m);
    bench_merger_t mg;
    bench_merger_init(&mg, &m);
    assert_int_equal(bench_merger_add(&mg, "a.json", &s0, err, sizeof(err)), 0);
    assert_int_equal(bench_merger_add(&mg, "d.json", &s3, err, sizeof(err)), 0);
    /* a refused shard changes nothing */
    assert_int_equal(bench_merger_add(&mg, "x.json", &other, err, sizeof(err)), -1);
    assert_int_equal(bench_merger_add(&mg, "y.json", &s3, err, sizeof(err)), -1);
    assert_int_equal(bench_merger_finish(&mg, true, &miss, err, sizeof(err)), 0);
    assert_int_equal(miss.count, 4);
    assert_int_equal(miss.n, 2);
    assert_int_equal(miss.index[0], 1);
    assert_int_equal(miss.index[1], 2);
    assert_int_equal(m.c.established, s0.c.established + s3.c.established);
    assert_int_equal(hist_count(&m.latency), 6000);
    assert_int_equal(m.series.len, 6);
    bench_merger_free(&mg);
    bench_missing_free(&miss);
    bench_result_free(&m);

    bench_result_t *all[] = {&s0, &s1, &s1b, &s3, &other, &wider, &plain};
    for (size_t i = 0; i < ARRAY_LEN(all); i++)
        bench_result_free(all[i]);
}

static void test_missing_text(void **state)
{
    (void)state;
    unsigned idx[] = {0, 1, 2, 5, 7, 8, 10};
    bench_missing_t m = {idx, ARRAY_LEN(idx), 11};
    char out[64];
    bench_missing_format(&m, out, sizeof(out));
    assert_string_equal(out, "0-2, 5, 7-8, 10");
    char small[14];
    bench_missing_format(&m, small, sizeof(small));
    assert_string_equal(small, "0-2, 5, ...");
    char tiny[6];
    bench_missing_format(&m, tiny, sizeof(tiny));
    assert_string_equal(tiny, "...");
    bench_missing_t none = {NULL, 0, 3};
    bench_missing_format(&none, out, sizeof(out));
    assert_string_equal(out, "");
}

/* ---- the reader ---- */

struct seen {
    char names[8][64];
    unsigned index[8];
    size_t n;
};

static int collect(void *ud, const char *name, const bench_result_t *r, char *err, size_t errlen)
{
    struct seen *s = ud;
    if (s->n >= 8) {
        snprintf(err, errlen, "too many");
        return -1;
    }
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
    s->index[s->n++] = r->shard_index;
    return 0;
}

/* kubectl logs of four pods: log lines, markers, shards with and without
 * prefixes, a --json summary holding one, JSON lines that are no shard. The
 * last line has no newline. */
static void log_stream(buf_t *out)
{
    buf_init(out);
    bench_result_t r[NSHARDS];
    for (unsigned i = 0; i < NSHARDS; i++)
        make_shard(&r[i], i, NSHARDS, TEST_ID, NULL);
    buf_puts(out, "evcat: bench: shard 0/4 starting at 2025-11-24T16:00:00Z\n"
                  "[   1s] ramp    open 120/250\n"
                  "--- evcat shard ---\n");
    bench_result_to_shard_json(&r[0], out);
    buf_puts(out, "\n{\"level\":\"info\",\"msg\":\"not a shard\"}\n"
                  "{\"event\":{\"evcat_bench_shard\":1}}\n" /* named, but not at the top */
                  "\n   \n{ broken json without the key\n"
                  "[pod/evcat-bench-1-x7k2q/evcat] ");
    bench_result_to_shard_json(&r[1], out);
    buf_puts(out, "\r\n2025-11-24T16:00:12.000000001Z ");
    bench_result_to_shard_json(&r[2], out);
    buf_puts(out, "  \n");
    bench_report_t rep = {.url = "ws://198.18.0.1/ws", .mode = "subscribe", .connect_rate = 100,
                          .r = &r[3]};
    bench_report_json_shard(out, &rep, NULL, NULL, 0);
    for (unsigned i = 0; i < NSHARDS; i++)
        bench_result_free(&r[i]);
}

static void read_in_pieces(const buf_t *text, size_t piece, const char *source, struct seen *s)
{
    bench_shard_reader_t rd;
    bench_shard_reader_init(&rd, source, false);
    memset(s, 0, sizeof(*s));
    char err[300] = "";
    for (size_t off = 0; off < text->len; off += piece) {
        size_t n = text->len - off < piece ? text->len - off : piece;
        if (bench_shard_reader_feed(&rd, text->p + off, n, collect, s, err, sizeof(err)) < 0)
            fail_msg("feed: %s", err);
    }
    if (bench_shard_reader_end(&rd, collect, s, err, sizeof(err)) < 0)
        fail_msg("end: %s", err);
    assert_int_equal(rd.found, s->n);
    assert_int_equal(rd.skipped, 0);
    bench_shard_reader_free(&rd);
}

static void test_reader_finds_shards(void **state)
{
    (void)state;
    buf_t text;
    log_stream(&text);
    size_t pieces[] = {text.len, 1, 7, 4096};
    for (size_t k = 0; k < ARRAY_LEN(pieces); k++) {
        struct seen s;
        read_in_pieces(&text, pieces[k], "-", &s);
        assert_int_equal(s.n, NSHARDS);
        for (unsigned i = 0; i < NSHARDS; i++) {
            char want[16];
            snprintf(want, sizeof(want), "-#%u", i + 1);
            assert_string_equal(s.names[i], want);
            assert_int_equal(s.index[i], i);
        }
    }
    /* a file's first shard is named after the file, the next ones numbered */
    struct seen s;
    read_in_pieces(&text, text.len, "pods.log", &s);
    assert_string_equal(s.names[0], "pods.log");
    assert_string_equal(s.names[1], "pods.log#2");
    buf_free(&text);
}

static void test_reader_merges_from_fd(void **state)
{
    (void)state;
    buf_t text;
    log_stream(&text);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(write_all(fileno(f), text.p, text.len), 0);
    assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);

    bench_result_t m;
    bench_result_init(&m);
    bench_merger_t mg;
    bench_merger_init(&mg, &m);
    bench_shard_reader_t rd;
    bench_shard_reader_init(&rd, "-", false);
    char err[300] = "";
    assert_int_equal(bench_merger_read_fd(&mg, &rd, fileno(f), err, sizeof(err)), 0);
    assert_int_equal(rd.found, NSHARDS);
    assert_int_equal(bench_merger_finish(&mg, false, NULL, err, sizeof(err)), 0);
    assert_int_equal(m.procs, NSHARDS);
    assert_int_equal(hist_count(&m.latency), 3000 * NSHARDS);
    bench_shard_reader_free(&rd);
    bench_merger_free(&mg);
    bench_result_free(&m);

    /* the same stream twice: the second copy of shard 0 is refused, by name */
    bench_result_init(&m);
    bench_merger_init(&mg, &m);
    bench_shard_reader_init(&rd, "-", false);
    assert_int_equal(lseek(fileno(f), 0, SEEK_END), (off_t)text.len);
    assert_int_equal(write_all(fileno(f), "\n", 1), 0);
    assert_int_equal(write_all(fileno(f), text.p, text.len), 0);
    assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);
    assert_int_equal(bench_merger_read_fd(&mg, &rd, fileno(f), err, sizeof(err)), -1);
    assert_string_equal(err, "shard 0 of 4 is given twice: -#1 and -#5");
    bench_shard_reader_free(&rd);
    bench_merger_free(&mg);
    bench_result_free(&m);
    fclose(f);
    buf_free(&text);
}

static void test_reader_bad_shards(void **state)
{
    (void)state;
    bench_result_t r;
    make_shard(&r, 0, 2, TEST_ID, NULL);
    buf_t good, text;
    buf_init(&good);
    bench_result_to_shard_json(&r, &good);
    buf_init(&text);
    buf_puts(&text, "log line\n");
    buf_append(&text, good.p, good.len / 2); /* the pod died while writing */
    buf_puts(&text, "\nlog line\n{\"summary\":1,\"shard_result\":[1]}\n");
    buf_append(&text, good.p, good.len);
    buf_puts(&text, "\n");

    struct seen s;
    memset(&s, 0, sizeof(s));
    bench_shard_reader_t rd;
    bench_shard_reader_init(&rd, "pods.log", false);
    char err[300] = "";
    assert_int_equal(bench_shard_reader_feed(&rd, text.p, text.len, collect, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "pods.log line 2: "));
    assert_non_null(strstr(err, "cut short"));
    bench_shard_reader_free(&rd);

    /* skipped and counted when asked, the good one still found */
    memset(&s, 0, sizeof(s));
    bench_shard_reader_init(&rd, "pods.log", true);
    assert_int_equal(bench_shard_reader_feed(&rd, text.p, text.len, collect, &s, err, sizeof(err)), 0);
    assert_int_equal(bench_shard_reader_end(&rd, collect, &s, err, sizeof(err)), 0);
    assert_int_equal(rd.skipped, 2);
    assert_int_equal(rd.found, 1);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(rd.first_skipped, "pods.log line 2: "));
    bench_shard_reader_free(&rd);

    /* over-long lines: one that names no shard is skipped, one that does is an error */
    size_t chunk = 1u << 20;
    char *x = xmalloc(chunk);
    memset(x, 'x', chunk);
    const char *head = "{\"evcat_bench_shard\":1,\"pad\":\"";
    for (int named = 0; named <= 1; named++) {
        memset(&s, 0, sizeof(s));
        bench_shard_reader_init(&rd, "-", false);
        int rc = 0;
        if (named)
            rc = bench_shard_reader_feed(&rd, head, strlen(head), collect, &s,
                                         err, sizeof(err));
        for (size_t sent = 0; rc == 0 && sent <= BENCH_SHARD_DOC_MAX; sent += chunk)
            rc = bench_shard_reader_feed(&rd, x, chunk, collect, &s, err, sizeof(err));
        if (rc == 0)
            rc = bench_shard_reader_feed(&rd, "\n", 1, collect, &s, err, sizeof(err));
        if (rc == 0)
            rc = bench_shard_reader_feed(&rd, good.p, good.len, collect, &s, err, sizeof(err));
        if (rc == 0)
            rc = bench_shard_reader_end(&rd, collect, &s, err, sizeof(err));
        if (named) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "- line 1: a line over 64 MiB"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(s.n, 1);
            assert_string_equal(s.names[0], "-#1");
        }
        bench_shard_reader_free(&rd);
    }
    free(x);
    buf_free(&good);
    buf_free(&text);
    bench_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_merge_refusals),
        cmocka_unit_test(test_missing_text),
        cmocka_unit_test(test_reader_finds_shards),
        cmocka_unit_test(test_reader_merges_from_fd),
        cmocka_unit_test(test_reader_bad_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
