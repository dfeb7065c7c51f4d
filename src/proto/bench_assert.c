#include "bench_assert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { KIND_TIME, KIND_COUNT, KIND_RATE };

#define LATENCY_SAMPLES offsetof(bench_metrics_t, latency_samples)
#define NO_SAMPLES      0 /* count and rate metrics */

static const struct metric {
    const char *name;
    enum kind kind;
    size_t offset;  /* of the value in bench_metrics_t */
    size_t samples; /* time metrics: of its sample count */
    const char *of; /* time metrics: what the samples are, for "no ... samples" */
} metrics[] = {
    {"p50", KIND_TIME, offsetof(bench_metrics_t, p50_ns), LATENCY_SAMPLES, "latency"},
    {"p90", KIND_TIME, offsetof(bench_metrics_t, p90_ns), LATENCY_SAMPLES, "latency"},
    {"p99", KIND_TIME, offsetof(bench_metrics_t, p99_ns), LATENCY_SAMPLES, "latency"},
    {"p999", KIND_TIME, offsetof(bench_metrics_t, p999_ns), LATENCY_SAMPLES, "latency"},
    {"max", KIND_TIME, offsetof(bench_metrics_t, max_ns), LATENCY_SAMPLES, "latency"},
    {"connect_p99", KIND_TIME, offsetof(bench_metrics_t, connect_p99_ns),
     offsetof(bench_metrics_t, connect_samples), "connect-time"},
    {"errors", KIND_COUNT, offsetof(bench_metrics_t, errors), NO_SAMPLES, NULL},
    {"connected", KIND_COUNT, offsetof(bench_metrics_t, connected), NO_SAMPLES, NULL},
    {"failed", KIND_COUNT, offsetof(bench_metrics_t, failed), NO_SAMPLES, NULL},
    {"dropped", KIND_COUNT, offsetof(bench_metrics_t, dropped), NO_SAMPLES, NULL},
    {"recv_rate", KIND_RATE, offsetof(bench_metrics_t, recv_rate), NO_SAMPLES, NULL},
    {"sent_rate", KIND_RATE, offsetof(bench_metrics_t, sent_rate), NO_SAMPLES, NULL},
    /* streams as requests */
    {"first_event_p99", KIND_TIME, offsetof(bench_metrics_t, first_event_p99_ns),
     offsetof(bench_metrics_t, first_event_samples), "first-event"},
    {"event_gap_p99", KIND_TIME, offsetof(bench_metrics_t, event_gap_p99_ns),
     offsetof(bench_metrics_t, event_gap_samples), "event-gap"},
    {"streams_failed", KIND_COUNT, offsetof(bench_metrics_t, streams_failed), NO_SAMPLES, NULL},
    {"streams_dropped", KIND_COUNT, offsetof(bench_metrics_t, streams_dropped), NO_SAMPLES, NULL},
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

static const char *const op_text[] = {"<", "<=", ">", ">=", "=="};

static const struct unit {
    const char *name;
    uint64_t ns;
    unsigned digits; /* log10(ns): the fraction digits that still make whole ns */
} units[] = {{"us", 1000, 3}, {"ms", 1000000, 6}, {"s", 1000000000, 9}};

#define MAX_TIME_NS (UINT64_C(3600000000000) * 1000) /* 1000 h, as parse_duration_us */
#define MAX_VALUE   40                               /* bytes of a value token */
#define QUOTE_MAX   40                               /* bytes of user text quoted in a message */

const char *bench_assert_metric_names(void)
{
    return "p50 p90 p99 p999 max connect_p99 errors connected failed dropped recv_rate sent_rate "
           "first_event_p99 event_gap_p99 streams_failed streams_dropped";
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* User text for a one-line message: at most QUOTE_MAX bytes, anything not
 * printable ASCII shown as '?', "..." when cut. dst holds QUOTE_MAX + 4. */
static const char *quote(char *dst, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n && i < QUOTE_MAX; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > QUOTE_MAX)
        memcpy(dst + i, "...", 4);
    else
        dst[i] = '\0';
    return dst;
}

/* digits[.digits] exactly: the digit run before and after the point. */
static bool split_decimal(const char *s, size_t n, size_t *int_len, size_t *frac_len, size_t *used)
{
    size_t i = 0;
    while (i < n && is_digit(s[i]))
        i++;
    *int_len = i;
    *frac_len = 0;
    if (i < n && s[i] == '.') {
        size_t j = i + 1;
        while (j < n && is_digit(s[j]))
            j++;
        *frac_len = j - i - 1;
        i = j;
        if (*frac_len == 0)
            return false; /* "5." */
    }
    *used = i;
    return *int_len > 0 || *frac_len > 0; /* ".5" is fine, "." is not */
}

static int parse_time(const char *name, const char *v, size_t n, bench_assert_t *out, char *err,
                      size_t errlen)
{
    char q[QUOTE_MAX + 4];
    size_t int_len, frac_len, used;
    if (!split_decimal(v, n, &int_len, &frac_len, &used)) {
        snprintf(err, errlen, "%s needs a time such as 50ms, got '%s'", name, quote(q, v, n));
        return -1;
    }
    if (used == n) {
        snprintf(err, errlen, "%s needs a unit (us, ms or s) after '%s', e.g. %sms", name,
                 quote(q, v, n), quote(q, v, n));
        return -1;
    }
    const struct unit *u = NULL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (n - used == strlen(units[i].name) && memcmp(v + used, units[i].name, n - used) == 0)
            u = &units[i];
    if (u == NULL) {
        snprintf(err, errlen, "unknown unit in '%s' for %s (use us, ms or s)", quote(q, v, n),
                 name);
        return -1;
    }
    const char *frac = v + int_len + (frac_len ? 1 : 0);
    while (frac_len > 0 && frac[frac_len - 1] == '0') /* "1.50ms" is "1.5ms" */
        frac_len--;
    if (frac_len > u->digits) {
        snprintf(err, errlen, "'%s' is finer than 1 ns", quote(q, v, n));
        return -1;
    }
    uint64_t whole = 0, f = 0;
    for (size_t i = 0; i < int_len; i++) {
        whole = whole * 10 + (uint64_t)(v[i] - '0');
        if (whole > MAX_TIME_NS) /* checked each digit: no overflow */
            goto too_big;
    }
    for (size_t i = 0; i < u->digits; i++)
        f = f * 10 + (i < frac_len ? (uint64_t)(frac[i] - '0') : 0);
    if (whole > MAX_TIME_NS / u->ns || whole * u->ns + f > MAX_TIME_NS)
        goto too_big;
    out->ns = whole * u->ns + f;
    out->unit_ns = u->ns;
    return 0;
too_big:
    snprintf(err, errlen, "'%s' for %s is above 1000h", quote(q, v, n), name);
    return -1;
}

static int parse_count(const char *name, const char *v, size_t n, bench_assert_t *out, char *err,
                       size_t errlen)
{
    char q[QUOTE_MAX + 4];
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(v[i])) {
            snprintf(err, errlen, "%s needs a non-negative integer, got '%s'", name,
                     quote(q, v, n));
            return -1;
        }
        unsigned d = (unsigned)(v[i] - '0');
        if (c > (UINT64_MAX - d) / 10) {
            snprintf(err, errlen, "'%s' for %s is too large", quote(q, v, n), name);
            return -1;
        }
        c = c * 10 + d;
    }
    out->count = c;
    return 0;
}

static int parse_rate(const char *name, const char *v, size_t n, bench_assert_t *out, char *err,
                      size_t errlen)
{
    char q[QUOTE_MAX + 4];
    size_t int_len, frac_len, used;
    if (!split_decimal(v, n, &int_len, &frac_len, &used) || used != n) {
        snprintf(err, errlen, "%s needs a non-negative number (per second), got '%s'", name,
                 quote(q, v, n));
        return -1;
    }
    char copy[MAX_VALUE + 1]; /* n <= MAX_VALUE: checked by the caller */
    memcpy(copy, v, n);
    copy[n] = '\0';
    out->rate = strtod(copy, NULL);
    return 0;
}

int bench_assert_parse(const char *expr, bench_assert_t *out, char *err, size_t errlen)
{
    char q[QUOTE_MAX + 4];
    const char *p = expr;
    if (errlen)
        err[0] = '\0';
    while (is_space(*p))
        p++;
    const char *name = p;
    while (is_name_char(*p))
        p++;
    size_t name_len = (size_t)(p - name);
    if (name_len == 0) {
        if (*p == '\0')
            snprintf(err, errlen, "empty assertion (e.g. p99<50ms)");
        else
            snprintf(err, errlen, "assertion '%s' does not start with a metric (known: %s)",
                     quote(q, expr, strlen(expr)), bench_assert_metric_names());
        return -1;
    }
    unsigned m = 0;
    while (m < NMETRICS &&
           !(strlen(metrics[m].name) == name_len && memcmp(metrics[m].name, name, name_len) == 0))
        m++;
    if (m == NMETRICS) {
        snprintf(err, errlen, "unknown metric '%s' (known: %s)", quote(q, name, name_len),
                 bench_assert_metric_names());
        return -1;
    }
    const struct metric *met = &metrics[m];

    while (is_space(*p))
        p++;
    bench_op_t op;
    if (p[0] == '<' && p[1] == '=')
        op = BENCH_OP_LE;
    else if (p[0] == '>' && p[1] == '=')
        op = BENCH_OP_GE;
    else if (p[0] == '=' && p[1] == '=')
        op = BENCH_OP_EQ;
    else if (p[0] == '<')
        op = BENCH_OP_LT;
    else if (p[0] == '>')
        op = BENCH_OP_GT;
    else {
        if (*p == '\0')
            snprintf(err, errlen, "'%s' needs an operator (< <= > >= ==) and a value", met->name);
        else
            snprintf(err, errlen, "expected an operator (< <= > >= ==) after '%s', got '%s'",
                     met->name, quote(q, p, strlen(p)));
        return -1;
    }
    p += strlen(op_text[op]);
    while (is_space(*p))
        p++;
    const char *v = p;
    while (*p && !is_space(*p))
        p++;
    size_t vn = (size_t)(p - v);
    while (is_space(*p))
        p++;
    if (vn == 0) {
        snprintf(err, errlen, "'%s %s' needs a value", met->name, op_text[op]);
        return -1;
    }
    if (*p != '\0') {
        char qv[QUOTE_MAX + 4];
        snprintf(err, errlen, "unexpected '%s' after '%s %s %s'", quote(q, p, strlen(p)), met->name,
                 op_text[op], quote(qv, v, vn));
        return -1;
    }
    if (vn > MAX_VALUE) {
        snprintf(err, errlen, "value for %s is too long (%zu bytes)", met->name, vn);
        return -1;
    }

    bench_assert_t a = {.metric = m, .op = op};
    int rc;
    switch (met->kind) {
    case KIND_TIME:
        rc = parse_time(met->name, v, vn, &a, err, errlen);
        break;
    case KIND_COUNT:
        rc = parse_count(met->name, v, vn, &a, err, errlen);
        break;
    default:
        rc = parse_rate(met->name, v, vn, &a, err, errlen);
        break;
    }
    if (rc != 0)
        return -1;
    snprintf(a.text, sizeof(a.text), "%s %s %.*s", met->name, op_text[op], (int)vn, v);
    *out = a;
    return 0;
}

/* Whether op holds for a comparison result c (<0, 0, >0 as x is below,
 * equal to or above the threshold). */
static bool op_holds(bench_op_t op, int c)
{
    switch (op) {
    case BENCH_OP_LT:
        return c < 0;
    case BENCH_OP_LE:
        return c <= 0;
    case BENCH_OP_GT:
        return c > 0;
    case BENCH_OP_GE:
        return c >= 0;
    default:
        return c == 0;
    }
}

static bool compare_u64(bench_op_t op, uint64_t x, uint64_t y)
{
    return op_holds(op, (x > y) - (x < y));
}

static bool compare_double(bench_op_t op, double x, double y)
{
    if (x != x || y != y) /* NaN holds no comparison */
        return false;
    return op_holds(op, (x > y) - (x < y));
}

/* ns in the given unit, exactly: 73200000 in ms is "73.2ms". */
static void format_time(char *dst, size_t n, uint64_t ns, uint64_t unit_ns)
{
    const char *name = "ns";
    unsigned digits = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (units[i].ns == unit_ns) {
            name = units[i].name;
            digits = units[i].digits;
        }
    if (digits == 0) {
        snprintf(dst, n, "%lluns", (unsigned long long)ns);
        return;
    }
    uint64_t rem = ns % unit_ns;
    char frac[24] = ""; /* "." and up to 20 digits: rem < 10^9 in fact */
    if (rem) {
        snprintf(frac, sizeof(frac), ".%0*llu", (int)digits, (unsigned long long)rem);
        size_t len = strlen(frac);
        while (frac[len - 1] == '0')
            frac[--len] = '\0';
    }
    snprintf(dst, n, "%llu%s%s", (unsigned long long)(ns / unit_ns), frac, name);
}

/* Plain decimals, with the fewest digits that read back as the same double:
 * never shows a failing 999.9999999 as "1000". */
static void format_rate(char *dst, size_t n, double r)
{
    if (r >= 0 && r < 1e15) {
        for (int decimals = 0; decimals <= 9; decimals++) {
            snprintf(dst, n, "%.*f", decimals, r);
            if (strtod(dst, NULL) == r)
                return;
        }
    }
    snprintf(dst, n, "%.17g", r);
}

bool bench_assert_measure(const bench_assert_t *a, const bench_metrics_t *m, double *value,
                          char *text, size_t textlen)
{
    const struct metric *met = &metrics[a->metric < NMETRICS ? a->metric : 0];
    const char *field = (const char *)m + met->offset;
    if (met->kind == KIND_TIME) {
        uint64_t samples;
        memcpy(&samples, (const char *)m + met->samples, sizeof(samples));
        if (samples == 0) {
            snprintf(text, textlen, "no %s samples", met->of);
            *value = 0;
            return false;
        }
        uint64_t x;
        memcpy(&x, field, sizeof(x));
        format_time(text, textlen, x, a->unit_ns);
        *value = (double)x / 1e6;
    } else if (met->kind == KIND_COUNT) {
        uint64_t x;
        memcpy(&x, field, sizeof(x));
        snprintf(text, textlen, "%llu", (unsigned long long)x);
        *value = (double)x;
    } else {
        double x;
        memcpy(&x, field, sizeof(x));
        format_rate(text, textlen, x);
        *value = x;
    }
    return true;
}

bool bench_assert_eval(const bench_assert_t *a, const bench_metrics_t *m, char *why, size_t whylen)
{
    if (whylen)
        why[0] = '\0';
    const struct metric *met = &metrics[a->metric < NMETRICS ? a->metric : 0];
    const char *field = (const char *)m + met->offset;
    char got[48];
    double v;
    if (!bench_assert_measure(a, m, &v, got, sizeof(got))) {
        snprintf(why, whylen, "%s failed: %s", a->text, got);
        return false;
    }
    bool ok;
    if (met->kind == KIND_TIME || met->kind == KIND_COUNT) {
        uint64_t x;
        memcpy(&x, field, sizeof(x));
        ok = compare_u64(a->op, x, met->kind == KIND_TIME ? a->ns : a->count);
    } else {
        double x;
        memcpy(&x, field, sizeof(x));
        ok = compare_double(a->op, x, a->rate);
    }
    if (!ok)
        snprintf(why, whylen, "%s failed: %s was %s", a->text, met->name, got);
    return ok;
}
