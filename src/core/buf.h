/* buf: allocation that aborts on failure, growable byte buffers and writing
 * a whole buffer to a descriptor: the pieces every module shares. */
#ifndef EVCAT_BUF_H
#define EVCAT_BUF_H

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

/* Writes all of p to fd, retrying on EINTR and short writes, and waiting when
 * fd is non-blocking and full. Returns 0 or -1 (errno set). */
int write_all(int fd, const void *p, size_t n);

#endif
