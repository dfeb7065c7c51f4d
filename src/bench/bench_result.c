/* bench_result: a run's result, its exact merge, its identity and its
 * shard form (see bench_result.h). */
#include "bench_result.h"
#include "clock.h"
#include "hist_json.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void bench_result_init(bench_result_t *r)
{
    memset(r, 0, sizeof(*r));
    hist_init(&r->latency);
    hist_init(&r->connect);
    bench_series_init(&r->series);
    bench_latsec_init(&r->latsec);
    bench_streams_init(&r->streams);
}

void bench_result_free(bench_result_t *r)
{
    hist_free(&r->latency);
    hist_free(&r->connect);
    bench_series_free(&r->series);
    bench_latsec_free(&r->latsec);
    bench_streams_free(&r->streams);
    free(r->url);
    r->url = NULL;
}

void bench_result_describe(bench_result_t *r, const char *url, const char *mode,
                           double connect_rate)
{
    free(r->url);
    r->url = url ? xstrndup(url, strnlen(url, BENCH_URL_MAX)) : NULL;
    snprintf(r->mode, sizeof(r->mode), "%s", mode ? mode : "");
    r->connect_rate = connect_rate;
}

void bench_result_merge(bench_result_t *dst, const bench_result_t *src)
{
    dst->target += src->target;
    bench_counters_add(&dst->c, &src->c);
    dst->m_sent += src->m_sent;
    dst->m_received += src->m_received;
    dst->m_bytes_sent += src->m_bytes_sent;
    dst->m_bytes_received += src->m_bytes_received;
    hist_merge(&dst->latency, &src->latency);
    hist_merge(&dst->connect, &src->connect);
    if (src->ramp_s > dst->ramp_s)
        dst->ramp_s = src->ramp_s;
    if (src->measure_s > dst->measure_s)
        dst->measure_s = src->measure_s;
    dst->cpu_seconds += src->cpu_seconds;
    dst->peak_rss_bytes += src->peak_rss_bytes;
    dst->base_rss_bytes += src->base_rss_bytes;
    dst->procs += src->procs;
    if (src->threads > dst->threads)
        dst->threads = src->threads;
    dst->interrupted = dst->interrupted || src->interrupted;
    if (!dst->test_id[0] && dst->shard_count == 0) {
        memcpy(dst->test_id, src->test_id, sizeof(dst->test_id));
        dst->shard_index = src->shard_index;
        dst->shard_count = src->shard_count;
    }
    if (src->started_at_ns && (!dst->started_at_ns || src->started_at_ns < dst->started_at_ns))
        dst->started_at_ns = src->started_at_ns;
    bench_series_merge(&dst->series, &src->series);
    bench_examples_merge(&dst->ex, &src->ex);
    bench_latsec_merge(&dst->latsec, &src->latsec);
    if (!dst->url && src->url)
        bench_result_describe(dst, src->url, src->mode, src->connect_rate);
    dst->wire_sent += src->wire_sent;
    dst->wire_received += src->wire_received;
    dst->deflate_connections += src->deflate_connections;
    dst->zlib_peak_bytes += src->zlib_peak_bytes;
    bench_streams_merge(&dst->streams, &src->streams);
    bench_result_note_mismatch(dst, src->mismatch, src->mismatch_at_ns);
}

void bench_result_note_mismatch(bench_result_t *r, const char *example, uint64_t at_ns)
{
    if (!example[0] || (r->mismatch[0] && r->mismatch_at_ns <= at_ns))
        return;
    snprintf(r->mismatch, sizeof(r->mismatch), "%s", example);
    r->mismatch_at_ns = at_ns;
}

void bench_test_id(const char *const *parts, size_t n, char out[BENCH_TEST_ID_MAX + 1])
{
    uint64_t h = FNV1A64_INIT;
    for (size_t i = 0; i < n; i++)
        h = fnv1a64(h, parts[i], strlen(parts[i]) + 1);
    snprintf(out, BENCH_TEST_ID_MAX + 1, "%016" PRIx64, h);
}

/* ---- shard form ---- */

/* ,"examples":{"kind":{"at_ns":"N","text":"..."},...} and
 * ,"exchange":{"at_ns":"N","text":"..."}, each only when there is one. */
static void examples_to_json(const bench_examples_t *e, buf_t *out)
{
    bool any = false;
    for (int k = 0; k < BERR_COUNT; k++) {
        if (!e->at_ns[k])
            continue;
        buf_printf(out, "%s\"%s\":{\"at_ns\":\"%" PRIu64 "\",\"text\":", any ? "," : ",\"examples\":{",
                   bench_err_name((bench_err_t)k), e->at_ns[k]);
        json_quote(out, e->text[k], strlen(e->text[k]));
        buf_putc(out, '}');
        any = true;
    }
    if (any)
        buf_putc(out, '}');
    if (e->exchange_at_ns) {
        buf_printf(out, ",\"exchange\":{\"at_ns\":\"%" PRIu64 "\",\"text\":", e->exchange_at_ns);
        json_quote(out, e->exchange, strlen(e->exchange));
        buf_putc(out, '}');
    }
}

/* The shard form's "streams": its counters and histograms by name. */
struct streams_field {
    const char *name;
    size_t off; /* in bench_streams_t */
};

static const struct streams_field stream_counts[] = {
    {"completed", offsetof(bench_streams_t, completed)},
    {"failed", offsetof(bench_streams_t, failed)},
    {"dropped", offsetof(bench_streams_t, dropped)},
    {"unfinished", offsetof(bench_streams_t, unfinished)},
    {"connections", offsetof(bench_streams_t, connections)},
    {"events", offsetof(bench_streams_t, events)},
};

static const struct streams_field stream_hists[] = {
    {"first_event", offsetof(bench_streams_t, first_event)},
    {"event_gap", offsetof(bench_streams_t, event_gap)},
    {"stream", offsetof(bench_streams_t, stream)},
    {"events_per_stream", offsetof(bench_streams_t, events_per_stream)},
};

/* ,"streams":{...} when on. */
static void streams_to_json(const bench_streams_t *cs, buf_t *out)
{
    if (!cs->on)
        return;
    const char *base = (const char *)cs;
    buf_printf(out, ",\"streams\":{\"arrival_rate\":%.9g", cs->arrival_rate);
    for (size_t i = 0; i < ARRAY_LEN(stream_counts); i++)
        buf_printf(out, ",\"%s\":\"%" PRIu64 "\"", stream_counts[i].name,
                   *(const uint64_t *)(base + stream_counts[i].off));
    for (size_t i = 0; i < ARRAY_LEN(stream_hists); i++) {
        buf_printf(out, ",\"%s\":", stream_hists[i].name);
        hist_to_json((const hist_t *)(base + stream_hists[i].off), out);
    }
    buf_putc(out, '}');
}

void bench_result_to_shard_json(const bench_result_t *r, buf_t *out)
{
    const uint64_t *cv = (const uint64_t *)&r->c;
    buf_printf(out, "{\"evcat_bench_shard\":1,\"target\":\"%" PRIu64 "\"", r->target);
    for (size_t i = 0; i < BENCH_NSCALARS; i++)
        buf_printf(out, ",\"%s\":\"%" PRIu64 "\"", bench_counter_name(i), cv[i]);
    buf_puts(out, ",\"errors\":{");
    for (int k = 0; k < BERR_COUNT; k++)
        buf_printf(out, "%s\"%s\":\"%" PRIu64 "\"", k ? "," : "", bench_err_name((bench_err_t)k),
                   r->c.errors[k]);
    buf_printf(out,
               "},\"m_sent\":\"%" PRIu64 "\",\"m_received\":\"%" PRIu64 "\",\"m_bytes_sent\":\"%" PRIu64
               "\",\"m_bytes_received\":\"%" PRIu64 "\"",
               r->m_sent, r->m_received, r->m_bytes_sent, r->m_bytes_received);
    buf_printf(out, ",\"ramp_s\":%.9g,\"measure_s\":%.9g,\"cpu_seconds\":%.9g", r->ramp_s,
               r->measure_s, r->cpu_seconds);
    buf_printf(out, ",\"peak_rss_bytes\":\"%" PRIu64 "\",\"base_rss_bytes\":\"%" PRIu64
                    "\",\"procs\":%u,\"threads\":%u,\"interrupted\":%s",
               r->peak_rss_bytes, r->base_rss_bytes, r->procs, r->threads,
               r->interrupted ? "true" : "false");
    char when[RFC3339_LEN + 1];
    buf_printf(out, ",\"shard\":{\"index\":%u,\"count\":%u},\"test_id\":", r->shard_index,
               r->shard_count);
    json_quote(out, r->test_id, strnlen(r->test_id, BENCH_TEST_ID_MAX));
    buf_printf(out, ",\"started_at\":\"%s\",\"started_at_ns\":\"%" PRIu64 "\"",
               fmt_rfc3339(when, r->started_at_ns), r->started_at_ns);
    if (r->url) {
        buf_puts(out, ",\"url\":");
        json_quote(out, r->url, strlen(r->url));
        buf_puts(out, ",\"mode\":");
        json_quote(out, r->mode, strlen(r->mode));
        buf_printf(out, ",\"connect_rate\":%.9g", r->connect_rate);
    }
    if (r->mismatch[0]) {
        buf_printf(out, ",\"mismatch\":{\"at_ns\":\"%" PRIu64 "\",\"example\":", r->mismatch_at_ns);
        json_quote(out, r->mismatch, strlen(r->mismatch));
        buf_putc(out, '}');
    }
    buf_puts(out, ",\"latency\":");
    hist_to_json(&r->latency, out);
    buf_puts(out, ",\"connect\":");
    hist_to_json(&r->connect, out);
    buf_puts(out, ",\"series\":");
    bench_series_to_json(&r->series, out);
    examples_to_json(&r->ex, out);
    if (r->latsec.len) {
        buf_puts(out, ",\"latency_seconds\":");
        bench_latsec_to_json(&r->latsec, out);
    }
    buf_printf(out,
               ",\"wire_sent\":\"%" PRIu64 "\",\"wire_received\":\"%" PRIu64
               "\",\"deflate_connections\":\"%" PRIu64 "\",\"zlib_peak_bytes\":\"%" PRIu64 "\"",
               r->wire_sent, r->wire_received, r->deflate_connections, r->zlib_peak_bytes);
    streams_to_json(&r->streams, out);
    buf_puts(out, "}");
}

static int bad(char *err, size_t errlen, const char *key, const char *what)
{
    snprintf(err, errlen, "\"%s\" %s", key, what);
    return -1;
}

static int get_u64(const cJSON *o, const char *key, uint64_t *v, char *err, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j) || !j->valuestring[0] || j->valuestring[0] == '-')
        return bad(err, errlen, key, "is missing or not a decimal string");
    char *end;
    errno = 0;
    unsigned long long n = strtoull(j->valuestring, &end, 10);
    if (*end || errno)
        return bad(err, errlen, key, "is not a 64-bit decimal count");
    *v = n;
    return 0;
}

/* A finite number from 0 to max; integral when `integer`. */
static int get_num(const cJSON *o, const char *key, double max, bool integer, double *v, char *err,
                   size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    double x = cJSON_IsNumber(j) ? j->valuedouble : -1;
    if (!(x >= 0 && x <= max) || (integer && x != floor(x)))
        return bad(err, errlen, key, "is missing or out of range");
    *v = x;
    return 0;
}

static int get_hist(const cJSON *o, const char *key, hist_t *h, char *err, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsObject(j))
        return bad(err, errlen, key, "is missing or not a histogram");
    char *text = cJSON_PrintUnformatted(j);
    if (!text)
        return bad(err, errlen, key, "cannot be printed back");
    int rc = hist_from_json(text, strlen(text), h);
    cJSON_free(text);
    return rc < 0 ? bad(err, errlen, key, "is not a valid histogram") : 0;
}

/* Streams as requests, when the form has them ("streams" is optional). */
static int parse_streams(const cJSON *o, bench_streams_t *s, char *err, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "streams");
    if (!j)
        return 0;
    if (!cJSON_IsObject(j))
        return bad(err, errlen, "streams", "is not an object");
    bench_streams_enable(s);
    if (get_num(j, "arrival_rate", RATE_MAX * (double)BENCH_SHARDS_MAX, false, &s->arrival_rate,
                err, errlen) < 0)
        return -1;
    char *base = (char *)s;
    for (size_t i = 0; i < ARRAY_LEN(stream_counts); i++)
        if (get_u64(j, stream_counts[i].name, (uint64_t *)(base + stream_counts[i].off), err,
                    errlen) < 0)
            return -1;
    for (size_t i = 0; i < ARRAY_LEN(stream_hists); i++)
        if (get_hist(j, stream_hists[i].name, (hist_t *)(base + stream_hists[i].off), err, errlen) <
            0)
            return -1;
    return 0;
}

/* Counters, times, resources and histograms. */
static int parse_totals(const cJSON *o, bench_result_t *t, char *err, size_t errlen)
{
    uint64_t *cv = (uint64_t *)&t->c;
    if (get_u64(o, "target", &t->target, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < BENCH_NSCALARS; i++)
        if (get_u64(o, bench_counter_name(i), &cv[i], err, errlen) < 0)
            return -1;
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(o, "errors");
    if (!cJSON_IsObject(errs))
        return bad(err, errlen, "errors", "is missing or not an object");
    for (int k = 0; k < BERR_COUNT; k++)
        if (get_u64(errs, bench_err_name((bench_err_t)k), &t->c.errors[k], err, errlen) < 0)
            return -1;
    double procs, threads;
    if (get_u64(o, "m_sent", &t->m_sent, err, errlen) < 0 ||
        get_u64(o, "m_received", &t->m_received, err, errlen) < 0 ||
        get_u64(o, "m_bytes_sent", &t->m_bytes_sent, err, errlen) < 0 ||
        get_u64(o, "m_bytes_received", &t->m_bytes_received, err, errlen) < 0 ||
        get_num(o, "ramp_s", HUGE_VAL, false, &t->ramp_s, err, errlen) < 0 ||
        get_num(o, "measure_s", HUGE_VAL, false, &t->measure_s, err, errlen) < 0 ||
        get_num(o, "cpu_seconds", HUGE_VAL, false, &t->cpu_seconds, err, errlen) < 0 ||
        get_u64(o, "peak_rss_bytes", &t->peak_rss_bytes, err, errlen) < 0 ||
        get_u64(o, "base_rss_bytes", &t->base_rss_bytes, err, errlen) < 0 ||
        get_num(o, "procs", 1e6, false, &procs, err, errlen) < 0 ||
        get_num(o, "threads", 1e6, false, &threads, err, errlen) < 0)
        return -1;
    t->procs = (unsigned)procs;
    t->threads = (unsigned)threads;
    const cJSON *intr = cJSON_GetObjectItemCaseSensitive(o, "interrupted");
    if (!cJSON_IsBool(intr))
        return bad(err, errlen, "interrupted", "is missing or not true or false");
    t->interrupted = cJSON_IsTrue(intr);
    if (get_hist(o, "latency", &t->latency, err, errlen) < 0 ||
        get_hist(o, "connect", &t->connect, err, errlen) < 0 ||
        parse_streams(o, &t->streams, err, errlen) < 0)
        return -1;
    /* Optional: a shard form written before they existed has none. */
    const char *wire[] = {"wire_sent", "wire_received", "deflate_connections", "zlib_peak_bytes"};
    uint64_t *wv[] = {&t->wire_sent, &t->wire_received, &t->deflate_connections,
                      &t->zlib_peak_bytes};
    for (size_t i = 0; i < ARRAY_LEN(wire); i++)
        if (cJSON_GetObjectItemCaseSensitive(o, wire[i]) &&
            get_u64(o, wire[i], wv[i], err, errlen) < 0)
            return -1;
    return 0;
}

/* One {"at_ns":"N","text":"..."} of examples or exchange: 0, or -1. */
static int parse_example(const cJSON *j, const char *key, size_t max, uint64_t *at,
                         const char **text, char *err, size_t errlen)
{
    const cJSON *tx = cJSON_GetObjectItemCaseSensitive(j, "text");
    if (!cJSON_IsObject(j) || get_u64(j, "at_ns", at, err, errlen) < 0 || !*at ||
        !cJSON_IsString(tx) || strlen(tx->valuestring) > max)
        return bad(err, errlen, key, "has an example that is not {\"at_ns\",\"text\"}");
    *text = tx->valuestring;
    return 0;
}

/* The first examples of error kinds (optional; unknown kinds are errors). */
static int parse_examples(const cJSON *o, bench_result_t *t, char *err, size_t errlen)
{
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "examples");
    const cJSON *j;
    uint64_t at;
    const char *text;
    if (ex && !cJSON_IsObject(ex))
        return bad(err, errlen, "examples", "is not an object");
    cJSON_ArrayForEach(j, ex) {
        int k = 0;
        while (k < BERR_COUNT && strcmp(bench_err_name((bench_err_t)k), j->string) != 0)
            k++;
        if (k == BERR_COUNT)
            return bad(err, errlen, "examples", "names an unknown error kind");
        if (parse_example(j, "examples", BENCH_ERR_EXAMPLE_MAX, &at, &text, err, errlen) < 0)
            return -1;
        bench_examples_note(&t->ex, (bench_err_t)k, at, text);
    }
    j = cJSON_GetObjectItemCaseSensitive(o, "exchange");
    if (!j)
        return 0;
    if (parse_example(j, "exchange", BENCH_EXCHANGE_MAX, &at, &text, err, errlen) < 0)
        return -1;
    bench_examples_note_exchange(&t->ex, at, text, strlen(text));
    return 0;
}

/* Latency per second (optional). */
static int parse_latsec(const cJSON *o, bench_result_t *t, char *err, size_t errlen)
{
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(o, "latency_seconds");
    return ls ? bench_latsec_from_json(ls, &t->latsec, err, errlen) : 0;
}

/* What was run (optional: url, mode, connect_rate together). */
static int parse_description(const cJSON *o, bench_result_t *t, char *err, size_t errlen)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(o, "url");
    if (!url)
        return 0;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(o, "mode");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(o, "connect_rate");
    if (!cJSON_IsString(url) || strlen(url->valuestring) > BENCH_URL_MAX)
        return bad(err, errlen, "url", "is not a string of at most 4096 bytes");
    if (!cJSON_IsString(mode) || strlen(mode->valuestring) > BENCH_MODE_MAX)
        return bad(err, errlen, "mode", "is missing or not a short string");
    if (!cJSON_IsNumber(rate) || !(rate->valuedouble >= 0 && rate->valuedouble <= 1e9))
        return bad(err, errlen, "connect_rate", "is missing or not a rate");
    bench_result_describe(t, url->valuestring, mode->valuestring, rate->valuedouble);
    return 0;
}

/* --replay --expect's first difference (optional). */
static int parse_mismatch(const cJSON *o, bench_result_t *t, char *err, size_t errlen)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mismatch");
    if (!m)
        return 0;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(m, "example");
    uint64_t at_ns;
    if (!cJSON_IsObject(m) || get_u64(m, "at_ns", &at_ns, err, errlen) < 0 ||
        !cJSON_IsString(ex) || !ex->valuestring[0] ||
        strlen(ex->valuestring) >= BENCH_EXAMPLE_MAX)
        return bad(err, errlen, "mismatch", "is not {\"at_ns\",\"example\"} with a short example");
    bench_result_note_mismatch(t, ex->valuestring, at_ns);
    return 0;
}

/* The shard's place in its test, the test's id and the start. */
static int parse_identity(const cJSON *o, bench_result_t *t, char *err, size_t errlen)
{
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shard");
    double index, count;
    if (!cJSON_IsObject(sh))
        return bad(err, errlen, "shard", "is missing or not an object");
    if (get_num(sh, "index", BENCH_SHARDS_MAX, true, &index, err, errlen) < 0 ||
        get_num(sh, "count", BENCH_SHARDS_MAX, true, &count, err, errlen) < 0)
        return -1;
    if (count == 0 ? index != 0 : index >= count)
        return bad(err, errlen, "shard", "has an index that is not below its count");
    t->shard_index = (unsigned)index;
    t->shard_count = (unsigned)count;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "test_id");
    const char *v = cJSON_IsString(id) ? id->valuestring : NULL;
    if (!v || strlen(v) > BENCH_TEST_ID_MAX || strspn(v, "0123456789abcdef") != strlen(v))
        return bad(err, errlen, "test_id", "is missing or not 0 to 32 lowercase hex digits");
    memcpy(t->test_id, v, strlen(v) + 1);
    if (get_u64(o, "started_at_ns", &t->started_at_ns, err, errlen) < 0)
        return -1;
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "started_at");
    char when[RFC3339_LEN + 1];
    if (!cJSON_IsString(at) || strcmp(at->valuestring, fmt_rfc3339(when, t->started_at_ns)) != 0)
        return bad(err, errlen, "started_at", "is missing or not the time of started_at_ns");
    return 0;
}

int bench_result_parse_shard_object(const cJSON *o, bench_result_t *r, char *err, size_t errlen)
{
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "evcat_bench_shard");
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(ver) || ver->valuedouble != 1) {
        snprintf(err, errlen, "not a shard form (no \"evcat_bench_shard\":1)");
        return -1;
    }
    bench_result_t t;
    bench_result_init(&t);
    int rc = -1;
    if (parse_totals(o, &t, err, errlen) == 0 && parse_identity(o, &t, err, errlen) == 0 &&
        parse_description(o, &t, err, errlen) == 0 && parse_examples(o, &t, err, errlen) == 0 &&
        parse_latsec(o, &t, err, errlen) == 0 && parse_mismatch(o, &t, err, errlen) == 0 &&
        bench_series_from_json(cJSON_GetObjectItemCaseSensitive(o, "series"), &t.series, err,
                               errlen) == 0) {
        bench_result_merge(r, &t);
        rc = 0;
    }
    bench_result_free(&t);
    return rc;
}

cJSON *bench_result_parse_json(const char *text, size_t len, char *err, size_t errlen)
{
    if (len > BENCH_SHARD_DOC_MAX) {
        snprintf(err, errlen, "a shard form over %u MiB", BENCH_SHARD_DOC_MAX >> 20);
        return NULL;
    }
    if (json_value_bound(text, len) > BENCH_SHARD_VALUES_MAX) {
        snprintf(err, errlen, "a shard form with over %u JSON values", BENCH_SHARD_VALUES_MAX);
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!o) {
        snprintf(err, errlen, "not complete JSON (cut short?)");
        return NULL;
    }
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end != text + len || !cJSON_IsObject(o)) {
        snprintf(err, errlen, "not one JSON object");
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int bench_result_parse_shard(const char *text, size_t len, bench_result_t *r, char *err,
                             size_t errlen)
{
    cJSON *o = bench_result_parse_json(text, len, err, errlen);
    if (!o)
        return -1;
    int rc = bench_result_parse_shard_object(o, r, err, errlen);
    cJSON_Delete(o);
    return rc;
}

int bench_result_from_shard_json(const char *text, size_t len, bench_result_t *r)
{
    char err[160];
    return bench_result_parse_shard(text, len, r, err, sizeof(err));
}
