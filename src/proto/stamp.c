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

/* The echo stamp is written and read for every echo message, so 8 hex
 * digits go at a time, in a 64-bit word (SWAR), with no branch on the
 * digits and no table: the first digit is the word's most significant
 * byte after a byte swap. */
#define ONES UINT64_C(0x0101010101010101)

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

static void store_be64(uint8_t *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    memcpy(p, &w, 8);
}

/* v's 8 nibbles as 8 lowercase hex digits at p. */
static void hex8_put(uint8_t *p, uint32_t v)
{
    uint64_t x = v;
    /* one nibble a byte, the most significant in the top byte */
    x = ((x & UINT64_C(0xFFFF0000)) << 16) | (x & UINT64_C(0xFFFF));
    x = ((x & UINT64_C(0x0000FF000000FF00)) << 8) | (x & UINT64_C(0x000000FF000000FF));
    x = ((x & UINT64_C(0x00F000F000F000F0)) << 4) | (x & UINT64_C(0x000F000F000F000F));
    /* a nibble >= 10 carries into bit 7 of its byte when 0x76 is added */
    uint64_t letters = ((x + 0x76 * ONES) >> 7) & ONES;
    store_be64(p, x + '0' * ONES + letters * ('a' - '0' - 10));
}

/* 8 lowercase hex digits at p: 0 with *v, or -1. Each byte is range-checked
 * by adding (0x80 - bound): bit 7 is then set exactly when the byte is at
 * least the bound (bytes are < 0x80, so no carry crosses into the next). */
static int hex8_get(const uint8_t *p, uint32_t *v)
{
    uint64_t w = load_be64(p), hi = 0x80 * ONES;
    if (w & hi)
        return -1;
    uint64_t ge_0 = (w + (0x80 - '0') * ONES) & hi, ge_colon = (w + (0x80 - '9' - 1) * ONES) & hi;
    uint64_t ge_a = (w + (0x80 - 'a') * ONES) & hi, ge_g = (w + (0x80 - 'f' - 1) * ONES) & hi;
    if (((ge_0 & ~ge_colon) | (ge_a & ~ge_g)) != hi)
        return -1;
    uint64_t x = (w & 0x0F * ONES) + (ge_a >> 7) * 9; /* each byte's value */
    x = (x | (x >> 4)) & UINT64_C(0x00FF00FF00FF00FF);
    x = (x | (x >> 8)) & UINT64_C(0x0000FFFF0000FFFF);
    x = (x | (x >> 16)) & UINT64_C(0x00000000FFFFFFFF);
    *v = (uint32_t)x;
    return 0;
}

void stamp_write(uint8_t *p, uint32_t conn, uint32_t seq, uint64_t intended_ns)
{
    hex8_put(p, conn);
    hex8_put(p + 8, seq);
    hex8_put(p + 16, (uint32_t)(intended_ns >> 32));
    hex8_put(p + 24, (uint32_t)intended_ns);
}

int stamp_read(const uint8_t *p, size_t n, uint32_t *conn, uint32_t *seq,
                     uint64_t *intended_ns)
{
    uint32_t c, s, th, tl;
    if (n < STAMP_LEN || hex8_get(p, &c) < 0 || hex8_get(p + 8, &s) < 0 ||
        hex8_get(p + 16, &th) < 0 || hex8_get(p + 24, &tl) < 0)
        return -1;
    *conn = c;
    *seq = s;
    *intended_ns = (uint64_t)th << 32 | tl;
    return 0;
}
