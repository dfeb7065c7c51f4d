#include "clock.h"

#include <stdlib.h>
#include <time.h>

uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *fmt_rfc3339(char *out, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000u);
    unsigned usec = (unsigned)((ns % 1000000000u) / 1000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* Formatted by hand: this runs once per message in json output. */
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000u;
    unsigned v[] = {(unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
                    (unsigned)tm.tm_min, (unsigned)tm.tm_sec};
    char *o = out;
    *o++ = (char)('0' + year / 1000);
    *o++ = (char)('0' + year / 100 % 10);
    *o++ = (char)('0' + year / 10 % 10);
    *o++ = (char)('0' + year % 10);
    static const char seps[] = "--T::"; /* before month, day, hour, minute, second */
    for (int i = 0; i < 5; i++) {
        *o++ = seps[i];
        *o++ = (char)('0' + v[i] / 10 % 10);
        *o++ = (char)('0' + v[i] % 10);
    }
    *o++ = '.';
    for (int d = 100000; d >= 1; d /= 10)
        *o++ = (char)('0' + usec / (unsigned)d % 10);
    *o++ = 'Z';
    *o = '\0';
    return out;
}

uint64_t backoff_ms(uint64_t base_ms, unsigned failures, uint64_t cap_ms)
{
    uint64_t delay = base_ms;
    for (unsigned i = 0; i < failures && delay < cap_ms; i++)
        delay = delay > UINT64_MAX / 2 ? UINT64_MAX : delay * 2;
    if (delay > cap_ms)
        delay = cap_ms;
    uint64_t jitter = delay ? (uint64_t)random() % (delay / 5 + 1) : 0;
    return delay > UINT64_MAX - jitter ? UINT64_MAX : delay + jitter; /* saturating */
}
