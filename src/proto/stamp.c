#include "stamp.h"

#include <stdbool.h>
#include <string.h>

static inline bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An unsigned integer at v, or one as a JSON string ("123"). A bare number
 * must end where a JSON number ends (1.5 or 1e18 is not an integer: no
 * value rather than a wrong one); it may also end the input. */
static int json_read_u64(const char *v, const char *end, uint64_t *value)
{
    bool quoted = v < end && *v == '"';
    if (quoted)
        v++;
    uint64_t n = 0;
    const char *d = v;
    for (; d < end && *d >= '0' && *d <= '9'; d++) {
        unsigned digit = (unsigned)(*d - '0');
        if (n > (UINT64_MAX - digit) / 10)
            return -1; /* overflow */
        n = n * 10 + digit;
    }
    if (d == v)
        return -1;
    if (quoted ? d >= end || *d != '"'
               : d < end && !json_space(*d) && *d != ',' && *d != '}' && *d != ']')
        return -1;
    *value = n;
    return 0;
}

/* Walks the text string by string: p is always outside a string, so a
 * quote found from p opens one. A string equal to the key and followed by
 * a colon is a key; its value is tried, and when it is not an integer the
 * walk goes on from the value (a string value is then skipped whole, an
 * object searched). Any other string is skipped to its unescaped closing
 * quote, so text inside values ("a \"ts_ns\":1 b") never matches. The
 * field itself must not contain a quote or a backslash. */
int stamp_json_u64(const char *data, size_t len, const char *field, uint64_t *value)
{
    size_t flen = strlen(field);
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return -1;
        q++; /* the string's first byte */
        if ((size_t)(end - q) > flen && memcmp(q, field, flen) == 0 && q[flen] == '"') {
            const char *v = q + flen + 1;
            while (v < end && json_space(*v))
                v++;
            if (v < end && *v == ':') {
                v++;
                while (v < end && json_space(*v))
                    v++;
                if (json_read_u64(v, end, value) == 0)
                    return 0;
                p = v; /* another kind of value: go on from it */
            } else {
                p = q + flen + 1; /* the same text as a value */
            }
            continue;
        }
        while (q < end && *q != '"')
            q += *q == '\\' && end - q > 1 ? 2 : 1;
        if (q >= end)
            return -1; /* an unterminated string */
        p = q + 1;
    }
    return -1;
}

static const char hexd[] = "0123456789abcdef";

static void hex_put(uint8_t *p, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = (uint8_t)hexd[v & 15];
        v >>= 4;
    }
}

static int hex_get(const uint8_t *p, int digits, uint64_t *v)
{
    uint64_t n = 0;
    for (int i = 0; i < digits; i++) {
        int h = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 : -1;
        if (h < 0)
            return -1;
        n = n << 4 | (uint64_t)h;
    }
    *v = n;
    return 0;
}

void stamp_write(uint8_t *p, uint32_t conn, uint32_t seq, uint64_t intended_ns)
{
    hex_put(p, conn, 8);
    hex_put(p + 8, seq, 8);
    hex_put(p + 16, intended_ns, 16);
}

int stamp_read(const uint8_t *p, size_t n, uint32_t *conn, uint32_t *seq,
                     uint64_t *intended_ns)
{
    uint64_t c, s, t;
    if (n < STAMP_LEN || hex_get(p, 8, &c) < 0 || hex_get(p + 8, 8, &s) < 0 ||
        hex_get(p + 16, 16, &t) < 0)
        return -1;
    *conn = (uint32_t)c;
    *seq = (uint32_t)s;
    *intended_ns = t;
    return 0;
}
