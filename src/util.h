/* util: allocation, growable byte buffers, clocks, base64 — the small pieces
 * every module shares. */
#ifndef EVCAT_UTIL_H
#define EVCAT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Allocation failure is not an error evcat can report usefully and keep its
 * promises after (a half-written event, a lost recording line), so these abort
 * with one line on stderr, the way redis' zmalloc does. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growable byte buffer. Always NUL-terminated past len when p != NULL, so
 * text can be handed to C string functions; len never counts the NUL. */
typedef struct buf {
    char *p;    /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);
void buf_reset(buf_t *b); /* len = 0, keeps the allocation */
void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_putc(buf_t *b, char c);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
void buf_consume(buf_t *b, size_t n); /* drop n bytes from the front */
/* Give the allocation back when the buffer is empty and larger than keep
 * bytes: idle connections should not hold their peak. */
void buf_shrink(buf_t *b, size_t keep);

/* Clocks. mono_ns: CLOCK_MONOTONIC; real_ns: CLOCK_REALTIME, both in ns. */
uint64_t mono_ns(void);
uint64_t real_ns(void);

/* RFC 3339 UTC with microseconds, e.g. 2026-11-23T19:04:54.123456Z.
 * out must hold at least RFC3339_LEN + 1 bytes. Returns out. */
#define RFC3339_LEN 27
char *fmt_rfc3339(char *out, uint64_t real_ns);

/* Standard base64 with padding. Appends to b. */
void base64_append(buf_t *b, const void *p, size_t n);
/* Decodes standard base64 (padding optional, no whitespace). Returns 0 or -1. */
int base64_decode(buf_t *out, const char *s, size_t n);

/* Whether p[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *p, size_t n);

/* A reconnect delay: base_ms doubled for each consecutive failure, capped
 * at cap_ms, plus 0-20 % random jitter so that the clients of a restarted
 * server do not all come back in the same millisecond (never earlier than
 * the capped value: a server's retry is a minimum). */
uint64_t backoff_ms(uint64_t base_ms, unsigned failures, uint64_t cap_ms);

/* The value of a hexadecimal digit, or -1. */
int hex_value(int c);

/* Case-insensitive ASCII comparison of n bytes. */
bool ascii_ieq(const char *a, const char *b, size_t n);

/* Writes all of p to fd, retrying on EINTR and short writes, and waiting when
 * fd is non-blocking and full. Returns 0 or -1 (errno set). */
int write_all(int fd, const void *p, size_t n);


#endif
