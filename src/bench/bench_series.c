/* bench_series: per-second series, their merge and JSON form (see
 * bench_series.h). */
#include "bench_series.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* A second's numbers as columns: bench_counters_t's counters (the scalars,
 * then errors by kind), then the open count. */
#define NCOUNTERS (BENCH_NSCALARS + BERR_COUNT)
#define COL_OPEN  NCOUNTERS

static uint64_t *cell(bench_second_t *e, size_t col)
{
    return col < NCOUNTERS ? &((uint64_t *)&e->d)[col] : &e->open;
}

static const char *col_name(size_t col)
{
    if (col < BENCH_NSCALARS)
        return bench_counter_name(col);
    if (col < NCOUNTERS)
        return bench_err_name((bench_err_t)(col - BENCH_NSCALARS));
    return "open";
}

void bench_series_init(bench_series_t *s)
{
    memset(s, 0, sizeof(*s));
}

void bench_series_free(bench_series_t *s)
{
    free(s->s);
    bench_series_init(s);
}

/* Makes the series n seconds long (n <= BENCH_SERIES_MAX), the new seconds
 * carrying the last one's open count and phase. */
static void grow(bench_series_t *s, size_t n)
{
    if (n <= s->len)
        return;
    if (n > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < n)
            cap *= 2;
        if (cap > BENCH_SERIES_MAX)
            cap = BENCH_SERIES_MAX;
        s->s = xrealloc(s->s, cap * sizeof(*s->s));
        s->cap = cap;
    }
    uint64_t open = s->len ? s->s[s->len - 1].open : 0;
    bench_phase_t phase = s->len ? s->s[s->len - 1].phase : BENCH_RAMP;
    for (size_t i = s->len; i < n; i++) {
        memset(&s->s[i], 0, sizeof(s->s[i]));
        s->s[i].open = open;
        s->s[i].phase = phase;
    }
    s->len = n;
}

bench_second_t *bench_series_at(bench_series_t *s, uint64_t second)
{
    if (second >= BENCH_SERIES_MAX) {
        s->truncated = true;
        return NULL;
    }
    grow(s, (size_t)second + 1);
    return &s->s[second];
}

void bench_series_observe(bench_series_t *s, uint64_t t_ns, const bench_counters_t *now,
                          bench_counters_t *seen, bench_phase_t phase)
{
    bench_second_t *e = bench_series_at(s, t_ns / 1000000000u);
    if (e) {
        bench_counters_t d = *now;
        bench_counters_sub(&d, seen);
        bench_counters_add(&e->d, &d);
        e->open = bench_counters_open(now);
        e->phase = phase;
    }
    *seen = *now;
}

void bench_series_merge(bench_series_t *dst, const bench_series_t *src)
{
    size_t had = dst->len;
    grow(dst, src->len);
    for (size_t i = 0; i < src->len; i++) {
        bench_second_t *d = &dst->s[i];
        const bench_second_t *s = &src->s[i];
        if (i < had) {
            bench_counters_add(&d->d, &s->d);
            d->open += s->open;
            if (s->phase < d->phase)
                d->phase = s->phase;
        } else {
            *d = *s;
        }
    }
    dst->truncated = dst->truncated || src->truncated;
}

/* ---- JSON ---- */

static void write_column(const bench_series_t *s, size_t col, buf_t *out)
{
    buf_printf(out, "\"%s\":[", col_name(col));
    for (size_t i = 0; i < s->len; i++)
        buf_printf(out, "%s%" PRIu64, i ? "," : "", *cell(&s->s[i], col));
    buf_putc(out, ']');
}

void bench_series_to_json(const bench_series_t *s, buf_t *out)
{
    buf_printf(out, "{\"seconds\":%zu,\"truncated\":%s", s->len, s->truncated ? "true" : "false");
    for (size_t col = 0; col < BENCH_NSCALARS; col++) {
        buf_putc(out, ',');
        write_column(s, col, out);
    }
    buf_putc(out, ',');
    write_column(s, COL_OPEN, out);
    buf_puts(out, ",\"phase\":[");
    for (size_t i = 0; i < s->len; i++)
        buf_printf(out, "%s\"%s\"", i ? "," : "", bench_phase_name(s->s[i].phase));
    buf_puts(out, "],\"errors\":{");
    for (size_t col = BENCH_NSCALARS; col < NCOUNTERS; col++) {
        if (col > BENCH_NSCALARS)
            buf_putc(out, ',');
        write_column(s, col, out);
    }
    buf_puts(out, "}}");
}

/* The array o[key], which must have one entry per second. */
static const cJSON *per_second(const cJSON *o, const char *key, size_t n, char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a)) {
        snprintf(err, errlen, "series: \"%s\" is missing or not an array", key);
        return NULL;
    }
    if ((size_t)cJSON_GetArraySize(a) != n) {
        snprintf(err, errlen, "series: \"%s\" has %d values for %zu seconds", key,
                 cJSON_GetArraySize(a), n);
        return NULL;
    }
    return a;
}

static int read_column(const cJSON *o, size_t col, bench_series_t *s, char *err, size_t errlen)
{
    const char *key = col_name(col);
    const cJSON *a = per_second(o, key, s->len, err, errlen);
    if (!a)
        return -1;
    size_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(x >= 0 && x <= (double)BENCH_SERIES_VALUE_MAX && x == floor(x))) {
            snprintf(err, errlen, "series: \"%s\"[%zu] is not an integer from 0 to 2^53", key, i);
            return -1;
        }
        *cell(&s->s[i], col) = (uint64_t)x;
    }
    return 0;
}

static int read_phases(const cJSON *o, bench_series_t *s, char *err, size_t errlen)
{
    const cJSON *a = per_second(o, "phase", s->len, err, errlen);
    if (!a)
        return -1;
    size_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        int p = cJSON_IsString(v) ? bench_phase_from_name(v->valuestring) : -1;
        if (p < 0) {
            snprintf(err, errlen, "series: \"phase\"[%zu] is not a phase", i);
            return -1;
        }
        s->s[i].phase = (bench_phase_t)p;
    }
    return 0;
}

int bench_series_from_json(const cJSON *o, bench_series_t *s, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "series: missing or not an object");
        return -1;
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "seconds");
    double secs = cJSON_IsNumber(n) ? n->valuedouble : -1;
    if (!(secs >= 0 && secs <= BENCH_SERIES_MAX && secs == floor(secs))) {
        snprintf(err, errlen, "series: \"seconds\" is not a count from 0 to %d", BENCH_SERIES_MAX);
        return -1;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "truncated");
    if (!cJSON_IsBool(t)) {
        snprintf(err, errlen, "series: \"truncated\" is not true or false");
        return -1;
    }
    bench_series_free(s);
    if (secs > 0)
        grow(s, (size_t)secs);
    s->truncated = cJSON_IsTrue(t);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(o, "errors");
    if (!cJSON_IsObject(errs)) {
        snprintf(err, errlen, "series: \"errors\" is missing or not an object");
        return -1;
    }
    for (size_t col = 0; col <= COL_OPEN; col++)
        if (read_column(col < BENCH_NSCALARS || col == COL_OPEN ? o : errs, col, s, err, errlen) < 0)
            return -1;
    return read_phases(o, s, err, errlen);
}
