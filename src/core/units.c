#include "units.h"

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
