#include "hist_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define JSON_INT_MAX   (UINT64_C(1) << 53) /* largest integer a double holds exactly */
#define MAX_SUM_DIGITS 20                   /* UINT64_MAX in decimal */

/* A JSON number that is an integer in [0, max] (max <= 2^53). */
static int json_uint(const cJSON *item, uint64_t max, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double d = item->valuedouble;
    if (!(d >= 0.0 && d <= (double)max) || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int json_field_uint(const cJSON *obj, const char *name, uint64_t max, uint64_t *out)
{
    return json_uint(cJSON_GetObjectItemCaseSensitive(obj, name), max, out);
}

/* A string of 1..20 decimal digits without leading zeros that fits in 64 bits. */
static int json_decimal_string(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return -1;
    const char *s = item->valuestring;
    size_t n = strlen(s);
    if (n == 0 || n > MAX_SUM_DIGITS || (s[0] == '0' && n > 1))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int hist_from_json(const char *text, size_t len, hist_t *h)
{
    int rc = -1;
    uint64_t *counts = NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root))
        goto out;

    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(root, "unit");
    if (!cJSON_IsString(unit) || unit->valuestring == NULL || strcmp(unit->valuestring, "ns") != 0)
        goto out;
    uint64_t bits, nbuckets, count, clamped, min, max, sum;
    if (json_field_uint(root, "sub_bucket_bits", 64, &bits) || bits != HIST_SUB_BITS ||
        json_field_uint(root, "buckets", JSON_INT_MAX, &nbuckets) || nbuckets != HIST_NBUCKETS ||
        json_field_uint(root, "count", JSON_INT_MAX, &count) ||
        json_field_uint(root, "clamped", JSON_INT_MAX, &clamped) ||
        json_field_uint(root, "min", HIST_MAX_NS, &min) ||
        json_field_uint(root, "max", HIST_MAX_NS, &max) ||
        json_decimal_string(cJSON_GetObjectItemCaseSensitive(root, "sum"), &sum))
        goto out;

    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "counts");
    if (!cJSON_IsArray(arr))
        goto out;
    counts = xcalloc(HIST_NBUCKETS, sizeof(*counts));
    uint64_t total = 0;
    size_t first = 0, last = 0;
    bool any = false;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, arr)
    {
        uint64_t idx, c;
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 ||
            json_uint(cJSON_GetArrayItem(pair, 0), HIST_NBUCKETS - 1, &idx) ||
            json_uint(cJSON_GetArrayItem(pair, 1), JSON_INT_MAX, &c) || c == 0)
            goto out;
        if (any && idx <= last) /* increasing: no duplicates, one canonical form */
            goto out;
        total += c; /* <= 4562 * 2^53: no overflow */
        if (total > JSON_INT_MAX)
            goto out;
        counts[idx] = c;
        if (!any)
            first = (size_t)idx;
        last = (size_t)idx;
        any = true;
    }

    /* The scalars must agree with the buckets. */
    if (total != count || clamped > count)
        goto out;
    if (count == 0) {
        if (min != 0 || max != 0 || sum != 0)
            goto out;
    } else {
        if (min > max || hist_index(min) != first || hist_index(max) != last)
            goto out;
        if (clamped && (max != HIST_MAX_NS || clamped > counts[last]))
            goto out;
        if (count == 1 && min != max)
            goto out;
        unsigned __int128 lo = (unsigned __int128)min * count;
        unsigned __int128 hi = (unsigned __int128)max * count;
        if (sum == UINT64_MAX ? hi < UINT64_MAX : sum < lo || sum > hi) /* saturated, or exact */
            goto out;
    }

    free(h->counts);
    h->counts = counts;
    counts = NULL;
    h->count = count;
    h->clamped = clamped;
    h->min = count ? min : UINT64_MAX;
    h->max = max;
    h->sum = sum;
    rc = 0;
out:
    free(counts);
    cJSON_Delete(root);
    return rc;
}
