/* bench_result: a run's result, its exact merge and its shard form (see
 * bench_result.h). */
#include "bench_result.h"
#include "hist_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void bench_result_init(bench_result_t *r)
{
    memset(r, 0, sizeof(*r));
    hist_init(&r->latency);
    hist_init(&r->connect);
}

void bench_result_free(bench_result_t *r)
{
    hist_free(&r->latency);
    hist_free(&r->connect);
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
}

/* ---- shard form ---- */

static const char *const counter_names[] = {
    "attempted", "established", "failed", "dropped", "ended",
    "sent", "received", "bytes_sent", "bytes_received",
};

void bench_result_to_shard_json(const bench_result_t *r, buf_t *out)
{
    const uint64_t *cv = (const uint64_t *)&r->c;
    buf_printf(out, "{\"evcat_bench_shard\":1,\"target\":\"%" PRIu64 "\"", r->target);
    for (size_t i = 0; i < ARRAY_LEN(counter_names); i++)
        buf_printf(out, ",\"%s\":\"%" PRIu64 "\"", counter_names[i], cv[i]);
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
    buf_puts(out, ",\"latency\":");
    hist_to_json(&r->latency, out);
    buf_puts(out, ",\"connect\":");
    hist_to_json(&r->connect, out);
    buf_puts(out, "}");
}

static int get_u64(const cJSON *o, const char *key, uint64_t *v)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j) || !j->valuestring[0])
        return -1;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(j->valuestring, &end, 10);
    if (*end || errno || j->valuestring[0] == '-')
        return -1;
    *v = n;
    return 0;
}

static int get_num(const cJSON *o, const char *key, double *v)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble < 0)
        return -1;
    *v = j->valuedouble;
    return 0;
}

static int get_hist(const cJSON *o, const char *key, hist_t *h)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsObject(j))
        return -1;
    char *text = cJSON_PrintUnformatted(j);
    if (!text)
        return -1;
    int rc = hist_from_json(text, strlen(text), h);
    cJSON_free(text);
    return rc;
}

int bench_result_from_shard_json(const char *text, size_t len, bench_result_t *r)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o)
        return -1;
    int rc = -1;
    bench_result_t t;
    bench_result_init(&t);
    uint64_t *cv = (uint64_t *)&t.c;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "evcat_bench_shard");
    if (!cJSON_IsNumber(ver) || ver->valueint != 1)
        goto out;
    if (get_u64(o, "target", &t.target) < 0)
        goto out;
    for (size_t i = 0; i < ARRAY_LEN(counter_names); i++)
        if (get_u64(o, counter_names[i], &cv[i]) < 0)
            goto out;
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(o, "errors");
    if (!cJSON_IsObject(errs))
        goto out;
    for (int k = 0; k < BERR_COUNT; k++)
        if (get_u64(errs, bench_err_name((bench_err_t)k), &t.c.errors[k]) < 0)
            goto out;
    double procs, threads;
    if (get_u64(o, "m_sent", &t.m_sent) < 0 || get_u64(o, "m_received", &t.m_received) < 0 ||
        get_u64(o, "m_bytes_sent", &t.m_bytes_sent) < 0 ||
        get_u64(o, "m_bytes_received", &t.m_bytes_received) < 0 || get_num(o, "ramp_s", &t.ramp_s) < 0 ||
        get_num(o, "measure_s", &t.measure_s) < 0 || get_num(o, "cpu_seconds", &t.cpu_seconds) < 0 ||
        get_u64(o, "peak_rss_bytes", &t.peak_rss_bytes) < 0 ||
        get_u64(o, "base_rss_bytes", &t.base_rss_bytes) < 0 || get_num(o, "procs", &procs) < 0 ||
        get_num(o, "threads", &threads) < 0 || procs > 1e6 || threads > 1e6)
        goto out;
    t.procs = (unsigned)procs;
    t.threads = (unsigned)threads;
    const cJSON *intr = cJSON_GetObjectItemCaseSensitive(o, "interrupted");
    if (!cJSON_IsBool(intr))
        goto out;
    t.interrupted = cJSON_IsTrue(intr);
    if (get_hist(o, "latency", &t.latency) < 0 || get_hist(o, "connect", &t.connect) < 0)
        goto out;
    bench_result_merge(r, &t);
    rc = 0;
out:
    bench_result_free(&t);
    cJSON_Delete(o);
    return rc;
}
