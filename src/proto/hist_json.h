/* hist_json: reading a histogram back from the JSON that hist_to_json
 * writes (bench's --json, and the shards that -p workers and merges pass). */
#ifndef EVCAT_HIST_JSON_H
#define EVCAT_HIST_JSON_H

#include <stddef.h>

#include "hist.h"

/* Parses that form into h (initialized; replaced only on success). The text
 * is untrusted: anything malformed or inconsistent (wrong unit or layout,
 * indices out of range or not increasing, non-integers, counts that are zero
 * or above 2^53, totals, min or max that disagree with the buckets) -> -1. */
int hist_from_json(const char *text, size_t len, hist_t *h);

#endif
