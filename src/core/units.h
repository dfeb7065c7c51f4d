/* units: durations and sizes as the command line spells them. */
#ifndef EVCAT_UNITS_H
#define EVCAT_UNITS_H

#include <stdint.h>

/* Durations: a non-negative decimal number with a unit: "250ms", "10s",
 * "1.5s", "5m", "1h", "100us". A bare number means seconds (as curl's
 * --connect-timeout does). Result in microseconds. Returns 0, or -1 when the
 * text is not a duration or exceeds 1000 hours. */
int parse_duration_us(const char *s, uint64_t *out_us);
/* The same, rounded up to whole milliseconds. */
int parse_duration_ms(const char *s, uint64_t *out_ms);

/* Sizes: "512", "64k", "16M", "1G" (binary multiples; an optional trailing
 * "B" or "iB" is accepted: "64KiB"). Returns 0, or -1 when the text is not a
 * size or exceeds 2^50. */
int parse_size(const char *s, uint64_t *out);

/* A non-negative decimal integer that fits in max. Returns 0 or -1. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/* An instant, as UNIX nanoseconds: RFC 3339 ("2026-12-04T18:00:00Z",
 * "2026-12-04T19:00:00.5+01:00"; 'T' or a space, 'Z' or an offset, up to 9
 * digits of fraction) or UNIX seconds ("1796407200", "1796407200.25").
 * Years 1970 to 9999. Returns 0, or -1 when the text is neither. */
int parse_time_ns(const char *s, uint64_t *out_ns);

#endif
