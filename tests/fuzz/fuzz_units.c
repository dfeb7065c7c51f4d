/* libFuzzer target for src/core/units.c: durations, sizes and counts as the
 * command line spells them.
 *
 * Input: the first byte picks parse_uint's maximum, the rest (copied and
 * NUL-terminated; an embedded NUL ends it, as on a command line) is the text.
 *
 * Each parser is checked against a reference written differently here (the
 * grammar spelled out, the value in 128-bit arithmetic from the digits after
 * leading zeros), any disagreement abort()s:
 *   - accepted exactly when the reference accepts, with the same value;
 *   - a rejection leaves the output untouched;
 *   - parse_duration_ms is parse_duration_us rounded up to milliseconds.
 * And parse_time_ns (--start-at): a rejection leaves the output untouched;
 * an accepted instant, written back as RFC 3339 (fmt_rfc3339, microseconds),
 * parses again to the same instant less its nanoseconds below a microsecond;
 * UNIX seconds and RFC 3339 agree. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "buf.h"
#include "clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef unsigned __int128 u128;

#define SENTINEL UINT64_C(0xa5a5a5a5a5a5a5a5)
#define HUGE_VALUE ((u128)1 << 100) /* anything beyond every limit */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The digits at *p as a number: leading zeros skipped, HUGE_VALUE past 20
 * significant digits (beyond every limit; products stay within 128 bits).
 * Moves *p past them and counts them in *n. */
static u128 ref_digits(const char **p, size_t *n)
{
    u128 v = 0;
    size_t significant = 0;
    *n = 0;
    while (is_digit(**p)) {
        if (v != 0 || **p != '0')
            significant++;
        if (significant <= 20)
            v = v * 10 + (u128)(**p - '0');
        (*p)++;
        (*n)++;
    }
    return significant > 20 ? HUGE_VALUE : v;
}

/* Reference duration: digits, an optional "." with digits (microsecond
 * precision: later fraction digits are dropped), an optional unit; at least
 * one digit; at most 1000 hours. */
static bool ref_duration_us(const char *s, uint64_t *out)
{
    const char *p = s;
    size_t nwhole, nfrac = 0;
    u128 whole = ref_digits(&p, &nwhole);
    u128 frac6 = 0;
    if (*p == '.') {
        p++;
        u128 scale = 100000;
        while (is_digit(*p)) {
            frac6 += (u128)(*p - '0') * scale;
            scale /= 10;
            p++;
            nfrac++;
        }
    }
    if (nwhole + nfrac == 0)
        return false;
    u128 unit;
    if (strcmp(p, "us") == 0)
        unit = 1;
    else if (strcmp(p, "ms") == 0)
        unit = 1000;
    else if (strcmp(p, "s") == 0 || *p == '\0')
        unit = 1000000;
    else if (strcmp(p, "m") == 0)
        unit = 60000000;
    else if (strcmp(p, "h") == 0)
        unit = 3600000000u;
    else
        return false;
    if (whole >= HUGE_VALUE)
        return false;
    u128 us = whole * unit + frac6 * unit / 1000000;
    if (us > (u128)1000 * 3600000000u)
        return false;
    *out = (uint64_t)us;
    return true;
}

/* Reference size: digits, then k/m/g in either case with an optional "i",
 * then an optional "B"; at most 2^50. */
static bool ref_size(const char *s, uint64_t *out)
{
    const char *p = s;
    size_t n;
    u128 v = ref_digits(&p, &n);
    if (n == 0)
        return false;
    unsigned shift = 0;
    if (*p == 'k' || *p == 'K')
        shift = 10;
    else if (*p == 'm' || *p == 'M')
        shift = 20;
    else if (*p == 'g' || *p == 'G')
        shift = 30;
    if (shift) {
        p++;
        if (*p == 'i')
            p++;
    }
    if (*p == 'B')
        p++;
    if (*p != '\0' || v >= HUGE_VALUE)
        return false;
    v <<= shift;
    if (v > (u128)1 << 50)
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool ref_uint(const char *s, uint64_t max, uint64_t *out)
{
    const char *p = s;
    size_t n;
    u128 v = ref_digits(&p, &n);
    if (n == 0 || *p != '\0' || v > max)
        return false;
    *out = (uint64_t)v;
    return true;
}

/* Same verdict, and the same value when accepted, or an untouched output. */
static void agree(int rc, uint64_t got, bool ref_ok, uint64_t want)
{
    if ((rc == 0) != ref_ok)
        abort();
    if (rc == 0 ? got != want : got != SENTINEL)
        abort();
}

static void check_time(const char *s)
{
    uint64_t t = SENTINEL;
    if (parse_time_ns(s, &t) < 0) {
        if (t != SENTINEL)
            abort();
        return;
    }
    char text[RFC3339_LEN + 1], secs[32];
    uint64_t back = SENTINEL, again = SENTINEL;
    fmt_rfc3339(text, t);
    if (parse_time_ns(text, &back) < 0 || back != t - t % 1000)
        abort();
    snprintf(secs, sizeof(secs), "%llu", (unsigned long long)(t / 1000000000u));
    if (parse_time_ns(secs, &again) < 0 || again != t - t % 1000000000u)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t maxima[] = {0, 1, 9, 10, 255, 65535, UINT32_MAX, UINT64_MAX - 1, UINT64_MAX};
    if (size == 0)
        return 0;
    uint64_t max = maxima[data[0] % (sizeof(maxima) / sizeof(maxima[0]))];
    char *s = xmalloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';

    uint64_t got = SENTINEL, want = 0;
    bool ok = ref_duration_us(s, &want);
    agree(parse_duration_us(s, &got), got, ok, want);

    uint64_t ms = SENTINEL;
    agree(parse_duration_ms(s, &ms), ms, ok, ok ? (want + 999) / 1000 : 0);

    got = SENTINEL;
    ok = ref_size(s, &want);
    agree(parse_size(s, &got), got, ok, want);

    got = SENTINEL;
    ok = ref_uint(s, max, &want);
    agree(parse_uint(s, max, &got), got, ok, want);

    check_time(s);
    free(s);
    return 0;
}
