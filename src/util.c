#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#include <openssl/evp.h>

static void oom(size_t n)
{
    fprintf(stderr, "evcat: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void buf_init(buf_t *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void buf_free(buf_t *b)
{
    free(b->p);
    buf_init(b);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void buf_reserve(buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap < ((size_t)1 << 40) ? cap * 2 : need;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_putc(buf_t *b, char c)
{
    buf_reserve(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void buf_puts(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

void buf_shrink(buf_t *b, size_t keep)
{
    if (b->len == 0 && b->cap > keep) {
        free(b->p);
        buf_init(b);
    }
}

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

void base64_append(buf_t *b, const void *p, size_t n)
{
    /* EVP_EncodeBlock takes an int length: encode in slices (a multiple of 3). */
    const unsigned char *in = p;
    while (n > 0) {
        size_t chunk = n > 3u * 1024 * 1024 ? 3u * 1024 * 1024 : n;
        size_t outlen = 4 * ((chunk + 2) / 3);
        buf_reserve(b, outlen);
        EVP_EncodeBlock((unsigned char *)b->p + b->len, in, (int)chunk);
        b->len += outlen;
        b->p[b->len] = '\0';
        in += chunk;
        n -= chunk;
    }
    if (!b->p)
        buf_append(b, "", 0);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(buf_t *out, const char *s, size_t n)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    buf_reserve(out, n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->p[out->len++] = (char)((acc >> bits) & 0xff);
        }
    }
    out->p[out->len] = '\0';
    return 0;
}

bool utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* bounds of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (i + len > n || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

uint64_t backoff_ms(uint64_t base_ms, unsigned failures, uint64_t cap_ms)
{
    uint64_t delay = base_ms;
    for (unsigned i = 0; i < failures && delay < cap_ms; i++)
        delay *= 2;
    if (delay > cap_ms)
        delay = cap_ms;
    return delay + (delay ? (uint64_t)random() % (delay / 5 + 1) : 0);
}

int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return false;
    }
    return true;
}

int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* An inherited non-blocking stdout: wait for the reader. */
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}
