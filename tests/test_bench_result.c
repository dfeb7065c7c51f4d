/* Unit tests for src/bench/bench_series.c (per-second series: recording,
 * gaps, the cap, merging series of different lengths, their JSON form) and
 * src/bench/bench_result.c's identity and shard form (every new field round
 * trips; malformed or oversized series, ids and shard numbers are refused
 * and change nothing), with the pure helpers they use (core/text.c's
 * fnv1a64 and json_value_bound, bench_test_id), and --replay --expect's first
 * difference in the shard form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench_report.h"
#include "bench_result.h"
#include "buf.h"
#include "clock.h"
#include "text.h"

#define SEC 1000000000ull

/* ---- series ---- */

static void test_series_observe(void **state)
{
    (void)state;
    bench_series_t s;
    bench_series_init(&s);
    bench_counters_t now, seen;
    memset(&now, 0, sizeof(now));
    memset(&seen, 0, sizeof(seen));

    now.attempted = 5;
    bench_series_observe(&s, SEC / 10, &now, &seen, BENCH_RAMP);
    now.attempted = 8;
    now.established = 6;
    now.errors[BERR_REFUSED] = 2;
    now.failed = 2;
    bench_series_observe(&s, SEC * 9 / 10, &now, &seen, BENCH_MEASURE);
    assert_int_equal(s.len, 1);
    assert_int_equal(s.s[0].d.attempted, 8);
    assert_int_equal(s.s[0].d.established, 6);
    assert_int_equal(s.s[0].d.errors[BERR_REFUSED], 2);
    assert_int_equal(s.s[0].open, 6);
    assert_int_equal(s.s[0].phase, BENCH_MEASURE);
    assert_memory_equal(&seen, &now, sizeof(now));

    /* seconds 1 and 2 saw no tick: nothing happened in them, as many stayed
     * open, in the same phase */
    now.sent = 100;
    now.bytes_sent = 1000;
    now.dropped = 1;
    now.errors[BERR_CLOSED] = 1;
    bench_series_observe(&s, 3 * SEC + 5, &now, &seen, BENCH_CLOSE);
    assert_int_equal(s.len, 4);
    for (size_t i = 1; i <= 2; i++) {
        bench_counters_t zero;
        memset(&zero, 0, sizeof(zero));
        assert_memory_equal(&s.s[i].d, &zero, sizeof(zero));
        assert_int_equal(s.s[i].open, 6);
        assert_int_equal(s.s[i].phase, BENCH_MEASURE);
    }
    assert_int_equal(s.s[3].d.sent, 100);
    assert_int_equal(s.s[3].d.bytes_sent, 1000);
    assert_int_equal(s.s[3].d.dropped, 1);
    assert_int_equal(s.s[3].d.attempted, 0);
    assert_int_equal(s.s[3].open, 5);
    assert_int_equal(s.s[3].phase, BENCH_CLOSE);
    assert_false(s.truncated);

    /* the open gauge never goes below 0 (attempts abandoned by the close count as ended) */
    now.ended = 40;
    bench_series_observe(&s, 3 * SEC + 6, &now, &seen, BENCH_DONE);
    assert_int_equal(s.s[3].open, 0);
    bench_series_free(&s);
}

static void test_series_cap(void **state)
{
    (void)state;
    bench_series_t s;
    bench_series_init(&s);
    bench_second_t *last = bench_series_at(&s, BENCH_SERIES_MAX - 1);
    assert_non_null(last);
    last->d.received = 7;
    assert_false(s.truncated);
    assert_int_equal(s.len, BENCH_SERIES_MAX);

    /* past the cap: nothing kept, the series says so, the counts are seen */
    assert_null(bench_series_at(&s, BENCH_SERIES_MAX));
    assert_true(s.truncated);
    bench_counters_t now, seen;
    memset(&now, 0, sizeof(now));
    memset(&seen, 0, sizeof(seen));
    now.received = 9;
    bench_series_observe(&s, (uint64_t)BENCH_SERIES_MAX * SEC + 1, &now, &seen, BENCH_MEASURE);
    assert_int_equal(seen.received, 9);
    assert_int_equal(s.len, BENCH_SERIES_MAX);
    assert_int_equal(s.s[BENCH_SERIES_MAX - 1].d.received, 7);

    /* a whole-length series survives its JSON form, truncated and all */
    buf_t j;
    buf_init(&j);
    bench_series_to_json(&s, &j);
    cJSON *o = cJSON_Parse(j.p);
    assert_non_null(o);
    bench_series_t back;
    bench_series_init(&back);
    char err[200];
    assert_int_equal(bench_series_from_json(o, &back, err, sizeof(err)), 0);
    assert_int_equal(back.len, BENCH_SERIES_MAX);
    assert_true(back.truncated);
    assert_int_equal(back.s[BENCH_SERIES_MAX - 1].d.received, 7);
    cJSON_Delete(o);
    bench_series_free(&back);
    buf_free(&j);
    bench_series_free(&s);
}

static void fill_second(bench_series_t *s, size_t i, uint64_t base, bench_phase_t phase)
{
    bench_second_t *e = bench_series_at(s, i);
    uint64_t *v = (uint64_t *)&e->d;
    for (size_t k = 0; k < sizeof(e->d) / sizeof(uint64_t); k++)
        v[k] = base + k;
    e->open = base * 10;
    e->phase = phase;
}

static void test_series_merge_lengths(void **state)
{
    (void)state;
    bench_series_t a, b, m;
    bench_series_init(&a);
    bench_series_init(&b);
    bench_series_init(&m);
    bench_phase_t pa[] = {BENCH_RAMP, BENCH_MEASURE, BENCH_DONE};
    bench_phase_t pb[] = {BENCH_RAMP, BENCH_RAMP, BENCH_MEASURE, BENCH_CLOSE, BENCH_DONE};
    for (size_t i = 0; i < 3; i++)
        fill_second(&a, i, 100 * (i + 1), pa[i]);
    for (size_t i = 0; i < 5; i++)
        fill_second(&b, i, 1000 * (i + 1), pb[i]);
    b.truncated = true;

    bench_series_merge(&m, &a); /* into an empty one: a copy */
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.s, a.s, 3 * sizeof(*a.s));
    bench_series_merge(&m, &b);
    assert_int_equal(m.len, 5);
    assert_true(m.truncated);
    for (size_t i = 0; i < 5; i++) {
        const uint64_t *v = (const uint64_t *)&m.s[i].d;
        uint64_t base = 1000 * (i + 1) + (i < 3 ? 100 * (i + 1) : 0);
        for (size_t k = 0; k < sizeof(m.s[i].d) / sizeof(uint64_t); k++)
            assert_int_equal(v[k], base + (i < 3 ? 2 * k : k));
        assert_int_equal(m.s[i].open, base * 10);
    }
    /* the earlier phase where both have the second; the longer one's after */
    assert_int_equal(m.s[0].phase, BENCH_RAMP);
    assert_int_equal(m.s[1].phase, BENCH_RAMP);
    assert_int_equal(m.s[2].phase, BENCH_MEASURE);
    assert_int_equal(m.s[3].phase, BENCH_CLOSE);
    assert_int_equal(m.s[4].phase, BENCH_DONE);

    /* the same the other way round (the shorter merged into the longer) */
    bench_series_t r;
    bench_series_init(&r);
    bench_series_merge(&r, &b);
    bench_series_merge(&r, &a);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.s, m.s, 5 * sizeof(*m.s));
    bench_series_free(&r);
    bench_series_free(&a);
    bench_series_free(&b);
    bench_series_free(&m);
}

/* ---- identity ---- */

static void test_ids(void **state)
{
    (void)state;
    assert_true(fnv1a64(FNV1A64_INIT, "", 0) == UINT64_C(0xcbf29ce484222325));
    assert_true(fnv1a64(FNV1A64_INIT, "a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(fnv1a64(FNV1A64_INIT, "foobar", 6) == UINT64_C(0x85944171f73967e8));
    assert_true(fnv1a64(fnv1a64(FNV1A64_INIT, "foo", 3), "bar", 3) ==
                UINT64_C(0x85944171f73967e8));

    char id[BENCH_TEST_ID_MAX + 1], id2[BENCH_TEST_ID_MAX + 1];
    const char *parts[] = {"ws://h/x", "100"};
    bench_test_id(parts, 2, id);
    assert_string_equal(id, "4432c2f73b143169"); /* FNV-1a of "ws://h/x\0" "100\0" */
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};
    bench_test_id(ab_c, 2, id);
    bench_test_id(a_bc, 2, id2);
    assert_string_not_equal(id, id2);
    assert_int_equal(strlen(id), 16);
    const char *one[] = {"a"}, *two[] = {"a", ""};
    bench_test_id(one, 1, id);
    bench_test_id(two, 2, id2);
    assert_string_not_equal(id, id2);

    assert_int_equal(json_value_bound("[1,2,3]", 7), 4);
    assert_int_equal(json_value_bound("{\"a,[{\":1}", 10), 2);
    assert_int_equal(json_value_bound("[\"\\\",[\",{}]", 11), 4);
    assert_int_equal(json_value_bound("", 0), 1);
}

/* A result with every field set, distinct values everywhere. */
static void sample_result(bench_result_t *r, unsigned index, unsigned count, uint64_t salt)
{
    bench_result_init(r);
    r->target = 1000 + salt;
    uint64_t *cv = (uint64_t *)&r->c;
    for (size_t i = 0; i < sizeof(r->c) / sizeof(uint64_t); i++)
        cv[i] = salt * 100 + i + 1;
    r->m_sent = salt + 11;
    r->m_received = salt + 12;
    r->m_bytes_sent = salt + 13;
    r->m_bytes_received = salt + 14;
    r->wire_sent = salt + 15;
    r->wire_received = salt + 16;
    r->deflate_connections = salt + 17;
    r->zlib_peak_bytes = salt + 18;
    r->ramp_s = 1.25;
    r->measure_s = 10.5;
    r->cpu_seconds = 0.75;
    r->peak_rss_bytes = 1u << 20;
    r->base_rss_bytes = 1u << 19;
    r->procs = 1;
    r->threads = 2;
    for (uint64_t v = 1; v <= 50; v++) {
        hist_record(&r->latency, v * 1000 * (salt + 1));
        hist_record(&r->connect, v * 77 + salt);
    }
    r->shard_index = index;
    r->shard_count = count;
    snprintf(r->test_id, sizeof(r->test_id), "%s", "0123456789abcdef");
    r->started_at_ns = UINT64_C(1764000000123456789) + salt;
    for (size_t i = 0; i < 4 + salt % 3; i++)
        fill_second(&r->series, i, 10 * i + salt, i < 2 ? BENCH_RAMP : BENCH_MEASURE);
}

static void shard_text(const bench_result_t *r, buf_t *out)
{
    buf_init(out);
    bench_result_to_shard_json(r, out);
}

/* The connect rate reached: (established - 1) / ramp_s, -1 without two
 * connections or a ramp. */
static void test_connect_rate_reached(void **state)
{
    (void)state;
    bench_result_t r;
    bench_result_init(&r);
    r.c.established = 15;
    r.ramp_s = 1.4;
    assert_float_equal(bench_report_connect_rate(&r), 10.0, 1e-9);
    r.c.established = 1;
    assert_true(bench_report_connect_rate(&r) == -1);
    r.c.established = 15;
    r.ramp_s = 0;
    assert_true(bench_report_connect_rate(&r) == -1);
    bench_result_free(&r);
}

static void test_shard_roundtrip(void **state)
{
    (void)state;
    bench_result_t r, back;
    sample_result(&r, 3, 8, 5);
    r.series.truncated = true;
    buf_t j, j2;
    shard_text(&r, &j);
    assert_null(memchr(j.p, '\n', j.len)); /* one line */

    bench_result_init(&back);
    char err[200] = "";
    assert_int_equal(bench_result_parse_shard(j.p, j.len, &back, err, sizeof(err)), 0);
    assert_int_equal(back.shard_index, 3);
    assert_int_equal(back.shard_count, 8);
    assert_string_equal(back.test_id, "0123456789abcdef");
    assert_true(back.started_at_ns == r.started_at_ns);
    assert_int_equal(back.series.len, r.series.len);
    assert_true(back.series.truncated);
    assert_memory_equal(back.series.s, r.series.s, r.series.len * sizeof(*r.series.s));
    assert_memory_equal(&back.c, &r.c, sizeof(r.c));
    assert_true(back.wire_sent == r.wire_sent && back.wire_received == r.wire_received);
    assert_true(back.deflate_connections == r.deflate_connections);
    assert_true(back.zlib_peak_bytes == r.zlib_peak_bytes);
    /* written again, the same text */
    shard_text(&back, &j2);
    assert_string_equal(j.p, j2.p);

    /* the fields as the man page's readers see them */
    cJSON *o = cJSON_Parse(j.p);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "shard"), "index")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "shard"), "count")->valueint, 8);
    char when[RFC3339_LEN + 1];
    assert_string_equal(cJSON_GetObjectItem(o, "started_at")->valuestring,
                        fmt_rfc3339(when, r.started_at_ns));
    assert_string_equal(cJSON_GetObjectItem(o, "started_at")->valuestring,
                        "2025-11-24T16:00:00.123456Z");
    assert_string_equal(cJSON_GetObjectItem(o, "started_at_ns")->valuestring, "1764000000123456794");
    cJSON *series = cJSON_GetObjectItem(o, "series");
    assert_int_equal(cJSON_GetObjectItem(series, "seconds")->valueint, (int)r.series.len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(series, "established")), (int)r.series.len);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(series, "phase"), 2)->valuestring,
                        "measure");
    cJSON *errs = cJSON_GetObjectItem(series, "errors");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(errs, "refused"), 1)->valueint,
                     (int)r.series.s[1].d.errors[BERR_REFUSED]);
    /* a shard form from before the wire counts: they read as 0 */
    cJSON *old = cJSON_Parse(j.p);
    cJSON_DeleteItemFromObject(old, "wire_sent");
    cJSON_DeleteItemFromObject(old, "zlib_peak_bytes");
    char *old_text = cJSON_PrintUnformatted(old);
    bench_result_t ob;
    bench_result_init(&ob);
    assert_int_equal(bench_result_parse_shard(old_text, strlen(old_text), &ob, err, sizeof(err)), 0);
    assert_true(ob.wire_sent == 0 && ob.zlib_peak_bytes == 0 && ob.wire_received == r.wire_received);
    bench_result_free(&ob);
    cJSON_free(old_text);
    cJSON_DeleteItemFromObject(old, "wire_received");
    cJSON_AddStringToObject(old, "wire_received", "-1");
    old_text = cJSON_PrintUnformatted(old);
    bench_result_init(&ob);
    assert_int_equal(bench_result_parse_shard(old_text, strlen(old_text), &ob, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "wire_received"));
    bench_result_free(&ob);
    cJSON_free(old_text);
    cJSON_Delete(old);
    cJSON_Delete(o);

    /* a result that is not a shard: 0/0 and no id */
    bench_result_t plain, pb;
    bench_result_init(&plain);
    bench_result_init(&pb);
    buf_t jp;
    shard_text(&plain, &jp);
    assert_int_equal(bench_result_parse_shard(jp.p, jp.len, &pb, err, sizeof(err)), 0);
    assert_int_equal(pb.shard_count, 0);
    assert_string_equal(pb.test_id, "");
    assert_int_equal(pb.series.len, 0);
    buf_free(&jp);
    bench_result_free(&plain);
    bench_result_free(&pb);

    buf_free(&j);
    buf_free(&j2);
    bench_result_free(&r);
    bench_result_free(&back);
}

/* Parts of one shard (the -p worker processes) merge as that shard. */
static void test_parts_of_one_shard(void **state)
{
    (void)state;
    bench_result_t a, b, m;
    sample_result(&a, 2, 4, 1);
    sample_result(&b, 2, 4, 2);
    b.started_at_ns -= 7; /* started a little earlier */
    buf_t ja, jb;
    shard_text(&a, &ja);
    shard_text(&b, &jb);
    bench_result_init(&m);
    assert_int_equal(bench_result_from_shard_json(ja.p, ja.len, &m), 0);
    assert_int_equal(bench_result_from_shard_json(jb.p, jb.len, &m), 0);
    assert_int_equal(m.shard_index, 2);
    assert_int_equal(m.shard_count, 4);
    assert_string_equal(m.test_id, a.test_id);
    assert_true(m.started_at_ns == b.started_at_ns);
    assert_int_equal(m.procs, 2);
    assert_int_equal(m.c.established, a.c.established + b.c.established);
    assert_int_equal(m.series.len, b.series.len > a.series.len ? b.series.len : a.series.len);
    assert_int_equal(m.series.s[0].d.sent, a.series.s[0].d.sent + b.series.s[0].d.sent);
    assert_true(m.wire_sent == a.wire_sent + b.wire_sent);
    assert_true(m.wire_received == a.wire_received + b.wire_received);
    assert_true(m.deflate_connections == a.deflate_connections + b.deflate_connections);
    assert_true(m.zlib_peak_bytes == a.zlib_peak_bytes + b.zlib_peak_bytes);
    buf_free(&ja);
    buf_free(&jb);
    bench_result_free(&a);
    bench_result_free(&b);
    bench_result_free(&m);
}

/* text with its first `from` replaced by `to`, or NULL when absent. */
static char *edited(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        return NULL;
    buf_t b;
    buf_init(&b);
    buf_append(&b, text, (size_t)(at - text));
    buf_puts(&b, to);
    buf_puts(&b, at + strlen(from));
    return b.p;
}

static void test_shard_rejects(void **state)
{
    (void)state;
    bench_result_t r, m;
    sample_result(&r, 1, 4, 0);
    buf_t j;
    shard_text(&r, &j);
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        {"\"test_id\":\"0123456789abcdef\"", "\"test_id\":\"0123456789ABCDEF\"", "test_id"},
        {"\"test_id\":\"0123456789abcdef\"", "\"test_id\":\"0123456789abcdef0123456789abcdef0\"", "test_id"},
        {"\"test_id\":\"0123456789abcdef\"", "\"test_id\":\"xyz\"", "test_id"},
        {"\"test_id\":\"0123456789abcdef\"", "\"test_id\":12", "test_id"},
        {"\"test_id\":\"0123456789abcdef\"", "\"test_ix\":\"0\"", "test_id"},
        {"\"index\":1,\"count\":4", "\"index\":4,\"count\":4", "shard"},
        {"\"index\":1,\"count\":4", "\"index\":1,\"count\":10001", "count"},
        {"\"index\":1,\"count\":4", "\"index\":0.5,\"count\":4", "index"},
        {"\"index\":1,\"count\":4", "\"index\":1,\"count\":0", "shard"},
        {"\"index\":1,\"count\":4", "\"index\":-1,\"count\":4", "index"},
        {"\"shard\":{", "\"shards\":{", "shard"},
        {"\"started_at\":\"2025-11-24T16:00:00.123456Z\"", "\"started_at\":\"2025-11-24T16:00:01.123456Z\"",
         "started_at"},
        {"\"started_at_ns\":\"", "\"started_at_ns\":\"-", "started_at_ns"},
        {"\"seconds\":4", "\"seconds\":86401", "seconds"},
        {"\"seconds\":4", "\"seconds\":5", "5 seconds"},
        {"\"seconds\":4", "\"seconds\":3.5", "seconds"},
        {"\"attempted\":[0,", "\"attempted\":[1.5,", "attempted"},
        {"\"attempted\":[0,", "\"attempted\":[-1,", "attempted"},
        {"\"attempted\":[0,", "\"attempted\":[9007199254740994,", "attempted"},
        {"\"attempted\":[0,", "\"attempted\":[\"1\",", "attempted"},
        {"\"open\":[", "\"open\":[1,", "open"},
        {"\"open\":[", "\"opens\":[", "open"},
        {"\"phase\":[\"ramp\"", "\"phase\":[\"warmup\"", "phase"},
        {"\"refused\":[", "\"refused\":null,\"r\":[", "refused"},
        {"\"truncated\":false", "\"truncated\":0", "truncated"},
        {"\"series\":{", "\"seriez\":{", "series"},
        {"\"evcat_bench_shard\":1", "\"evcat_bench_shard\":2", "shard form"},
    };
    char err[200];
    bench_result_init(&m);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *bad = edited(j.p, cases[i].from, cases[i].to);
        if (!bad)
            fail_msg("case %zu: \"%s\" is not in the shard form", i, cases[i].from);
        err[0] = '\0';
        if (bench_result_parse_shard(bad, strlen(bad), &m, err, sizeof(err)) != -1)
            fail_msg("case %zu (%s) was accepted", i, cases[i].to);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: the reason \"%s\" does not name %s", i, err, cases[i].why);
        free(bad);
    }
    /* cut short, with text after it, not an object */
    assert_int_equal(bench_result_parse_shard(j.p, j.len - 1, &m, err, sizeof(err)), -1);
    char *after = xmalloc(j.len + 8);
    snprintf(after, j.len + 8, "%s x", j.p);
    assert_int_equal(bench_result_parse_shard(after, strlen(after), &m, err, sizeof(err)), -1);
    snprintf(after, j.len + 8, " %s \r\n", j.p); /* blanks around it are fine */
    assert_int_equal(bench_result_parse_shard(after, strlen(after), &m, err, sizeof(err)), 0);
    free(after);
    assert_int_equal(bench_result_parse_shard("[1]", 3, &m, err, sizeof(err)), -1);
    /* oversized: refused before it is parsed */
    size_t big = BENCH_SHARD_DOC_MAX + 1;
    char *huge = xmalloc(big);
    memset(huge, ' ', big);
    assert_int_equal(bench_result_parse_shard(huge, big, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MiB"));
    free(huge);
    buf_t many;
    buf_init(&many);
    buf_puts(&many, "{\"x\":[0");
    for (size_t i = 0; i < BENCH_SHARD_VALUES_MAX; i++)
        buf_puts(&many, ",0");
    buf_puts(&many, "]}");
    assert_int_equal(bench_result_parse_shard(many.p, many.len, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "values"));
    buf_free(&many);
    /* nothing was merged by any of these but the one good copy */
    assert_int_equal(m.target, r.target);
    assert_int_equal(m.series.len, r.series.len);

    buf_free(&j);
    bench_result_free(&r);
    bench_result_free(&m);
}

/* --replay --expect's first difference: carried by the shard form, the
 * earliest kept by a merge, a bad one refused. */
static void test_first_mismatch(void **state)
{
    (void)state;
    bench_result_t a, b, m;
    bench_result_init(&a);
    bench_result_init(&b);
    bench_result_init(&m);
    bench_result_note_mismatch(&a, "connection 3: message 1 differs: expected text \"\u00e9\"", 200);
    bench_result_note_mismatch(&a, "later", 300); /* a later one is not kept */
    bench_result_note_mismatch(&a, "", 100);      /* nor none */
    assert_string_equal(a.mismatch, "connection 3: message 1 differs: expected text \"\u00e9\"");
    assert_true(a.mismatch_at_ns == 200);
    bench_result_note_mismatch(&b, "connection 9: earlier", 150);
    buf_t ja, jb, j0;
    shard_text(&a, &ja);
    shard_text(&b, &jb);
    shard_text(&m, &j0);
    assert_null(strstr(j0.p, "\"mismatch\":{")); /* none: not in the form */
    char err[200] = "";
    assert_int_equal(bench_result_parse_shard(ja.p, ja.len, &m, err, sizeof(err)), 0);
    assert_string_equal(m.mismatch, a.mismatch);
    assert_int_equal(bench_result_parse_shard(jb.p, jb.len, &m, err, sizeof(err)), 0);
    assert_string_equal(m.mismatch, "connection 9: earlier");
    assert_true(m.mismatch_at_ns == 150);
    assert_int_equal(bench_result_parse_shard(ja.p, ja.len, &m, err, sizeof(err)), 0);
    assert_string_equal(m.mismatch, "connection 9: earlier");
    /* refused: not an object, an empty or over-long example, a bad time */
    buf_t longer;
    buf_init(&longer);
    buf_puts(&longer, "\"example\":\"");
    for (size_t i = 0; i < BENCH_EXAMPLE_MAX; i++)
        buf_putc(&longer, 'x');
    buf_putc(&longer, '"');
    static const char *from = "\"example\":\"connection 9: earlier\"";
    const char *tos[] = {"\"example\":\"\"", "\"example\":7", longer.p};
    for (size_t i = 0; i < ARRAY_LEN(tos); i++) {
        char *bad = edited(jb.p, from, tos[i]);
        assert_non_null(bad);
        assert_int_equal(bench_result_parse_shard(bad, strlen(bad), &m, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "mismatch"));
        free(bad);
    }
    char *bad = edited(jb.p, "\"at_ns\":\"150\"", "\"at_ns\":150");
    assert_non_null(bad);
    assert_int_equal(bench_result_parse_shard(bad, strlen(bad), &m, err, sizeof(err)), -1);
    free(bad);
    buf_free(&longer);
    buf_free(&ja);
    buf_free(&jb);
    buf_free(&j0);
    bench_result_free(&a);
    bench_result_free(&b);
    bench_result_free(&m);
}

/* Streams as requests: their counts and four histograms go through the
 * shard form exactly and merge by adding; a form without them is a run
 * without them; a bad one is refused. */
static void test_streams_in_the_shard_form(void **state)
{
    (void)state;
    bench_result_t r, back, plain;
    bench_result_init(&r);
    bench_result_init(&plain);
    bench_streams_enable(&r.streams);
    r.streams.arrival_rate = 12.5;
    r.streams.completed = 7;
    r.streams.failed = 2;
    r.streams.dropped = 3;
    r.streams.unfinished = 1;
    r.streams.connections = 4;
    r.streams.events = 77;
    for (uint64_t i = 1; i <= 7; i++) {
        hist_record(&r.streams.first_event, i * 1000003);
        hist_record(&r.streams.event_gap, i * 997);
        hist_record(&r.streams.stream, i * 250000000);
        hist_record(&r.streams.events_per_stream, 10 + i);
    }
    buf_t j, j2;
    buf_init(&j);
    buf_init(&j2);
    bench_result_to_shard_json(&r, &j);
    assert_non_null(strstr(j.p, ",\"streams\":{\"arrival_rate\":12.5,\"completed\":\"7\","));
    char err[200] = "";
    bench_result_init(&back);
    assert_int_equal(bench_result_parse_shard(j.p, j.len, &back, err, sizeof(err)), 0);
    assert_true(back.streams.on);
    assert_true(back.streams.arrival_rate == 12.5);
    assert_int_equal(back.streams.completed, 7);
    assert_int_equal(back.streams.failed, 2);
    assert_int_equal(back.streams.dropped, 3);
    assert_int_equal(back.streams.unfinished, 1);
    assert_int_equal(back.streams.connections, 4);
    assert_int_equal(back.streams.events, 77);
    assert_int_equal(hist_percentile(&back.streams.first_event, 50),
                     hist_percentile(&r.streams.first_event, 50));
    assert_int_equal(hist_max(&back.streams.stream), 7 * 250000000ull);
    assert_int_equal(hist_min(&back.streams.events_per_stream), 11);
    bench_result_to_shard_json(&back, &j2);
    assert_string_equal(j.p, j2.p);
    /* merged with itself: everything twice */
    assert_int_equal(bench_result_parse_shard(j.p, j.len, &back, err, sizeof(err)), 0);
    assert_int_equal(back.streams.completed, 14);
    assert_true(back.streams.arrival_rate == 25);
    assert_int_equal(hist_count(&back.streams.event_gap), 14);
    /* merged into a run without streams: they are carried over */
    bench_result_merge(&plain, &r);
    assert_true(plain.streams.on);
    assert_int_equal(plain.streams.dropped, 3);
    bench_result_free(&plain);
    /* a run without them has none in its form, and reads back without */
    bench_result_init(&plain);
    buf_reset(&j2);
    bench_result_to_shard_json(&plain, &j2);
    assert_null(strstr(j2.p, "\"streams\""));
    bench_result_t pb;
    bench_result_init(&pb);
    assert_int_equal(bench_result_parse_shard(j2.p, j2.len, &pb, err, sizeof(err)), 0);
    assert_false(pb.streams.on);
    bench_result_free(&pb);
    /* refused */
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        {"\"streams\":{", "\"streams\":[],\"x\":{", "streams"},
        {"\"completed\":\"7\"", "\"completed\":7", "completed"},
        {"\"completed\":\"7\"", "\"complete\":\"7\"", "completed"},
        {"\"arrival_rate\":12.5", "\"arrival_rate\":-1", "arrival_rate"},
        {"\"first_event\":{\"unit\":\"ns\"", "\"first_event\":{\"unit\":\"us\"", "first_event"},
        {"\"events_per_stream\":", "\"events_per_stream\":null,\"y\":", "events_per_stream"},
    };
    bench_result_t m;
    bench_result_init(&m);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *bad = edited(j.p, cases[i].from, cases[i].to);
        if (!bad)
            fail_msg("case %zu: \"%s\" is not in the shard form", i, cases[i].from);
        err[0] = '\0';
        if (bench_result_parse_shard(bad, strlen(bad), &m, err, sizeof(err)) != -1)
            fail_msg("case %zu (%s) was accepted", i, cases[i].to);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: the reason \"%s\" does not name %s", i, err, cases[i].why);
        free(bad);
    }
    assert_false(m.streams.on);
    bench_result_free(&m);
    buf_free(&j);
    buf_free(&j2);
    bench_result_free(&r);
    bench_result_free(&back);
    bench_result_free(&plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_observe),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_series_merge_lengths),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_connect_rate_reached),
        cmocka_unit_test(test_shard_roundtrip),
        cmocka_unit_test(test_parts_of_one_shard),
        cmocka_unit_test(test_shard_rejects),
        cmocka_unit_test(test_first_mismatch),
        cmocka_unit_test(test_streams_in_the_shard_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
