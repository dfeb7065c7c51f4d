#include "units.h"

#include <stdbool.h>
#include <string.h>

/* Reads digits with an optional fraction into value * 10^6 (fixed point), so
 * "1.5" becomes 1500000 without floating point. */
static const char *read_fixed6(const char *s, uint64_t *out)
{
    uint64_t whole = 0, frac = 0, scale = 1000000;
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (whole > UINT64_C(1) << 40)
            return NULL;
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(*p - '0') * scale;
            }
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return NULL;
    *out = whole * 1000000 + frac;
    return p;
}

int parse_duration_us(const char *s, uint64_t *out_us)
{
    static const struct {
        const char *unit;
        uint64_t us; /* microseconds per unit */
    } units[] = {{"us", 1}, {"ms", 1000}, {"s", 1000000}, {"m", 60000000ull},
                 {"h", 3600000000ull}, {"", 1000000}};
    uint64_t v6;
    const char *p = read_fixed6(s, &v6);
    if (!p)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].unit) != 0)
            continue;
        /* v6 is value * 1e6; the product is exact for every unit but "us". */
        unsigned __int128 us = (unsigned __int128)v6 * units[i].us / 1000000;
        if (us > (unsigned __int128)1000 * 3600000000ull)
            return -1;
        *out_us = (uint64_t)us;
        return 0;
    }
    return -1;
}

int parse_duration_ms(const char *s, uint64_t *out_ms)
{
    uint64_t us;
    if (parse_duration_us(s, &us) < 0)
        return -1;
    *out_ms = (us + 999) / 1000;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (v > UINT64_C(1) << 50)
            return -1;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    unsigned shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: break;
    }
    if (shift && *p == 'i')
        p++;
    if (*p == 'B')
        p++;
    if (*p != '\0')
        return -1;
    if (v > (UINT64_C(1) << 50) >> shift)
        return -1;
    *out = v << shift;
    return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* n digits at *p as a number; advances *p. Returns -1 when they are not. */
static int digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* A fraction of a second after a '.', up to 9 digits, as ns; advances *p. */
static int fraction_ns(const char **p, uint64_t *ns)
{
    *ns = 0;
    if (**p != '.')
        return 0;
    (*p)++;
    uint64_t scale = 100000000u;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
        if (n == 9)
            return -1;
        *ns += (uint64_t)(**p - '0') * scale;
        scale /= 10;
    }
    return n == 0 ? -1 : 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int parse_rfc3339_ns(const char *s, uint64_t *out_ns)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
    const char *p = s;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        digits(&p, 2, &sec) < 0)
        return -1;
    uint64_t frac;
    if (fraction_ns(&p, &frac) < 0)
        return -1;
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (sec == 60 ? 59 : sec);
    t -= sign * (int64_t)(oh * 3600 + om * 60);
    if (t < 0)
        return -1;
    *out_ns = (uint64_t)t * 1000000000u + frac;
    return 0;
}

int parse_time_ns(const char *s, uint64_t *out_ns)
{
    const char *p = s;
    uint64_t secs = 0;
    int n = 0;
    for (; *p >= '0' && *p <= '9'; p++, n++)
        secs = secs * 10 + (uint64_t)(*p - '0');
    if (n > 0 && n <= 11 && (*p == '\0' || *p == '.')) {
        uint64_t frac;
        if (fraction_ns(&p, &frac) < 0 || *p || secs > 253402300799ull)
            return -1;
        *out_ns = secs * 1000000000u + frac;
        return 0;
    }
    return parse_rfc3339_ns(s, out_ns);
}
