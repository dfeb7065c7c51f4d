/* sse_scan: how sse_parser.c finds line ends and bytes >= 0x80, 64 bytes
 * at a time: the block masks (SSE2 where the compiler targets it, word at
 * a time elsewhere, AVX2 when the CPU has it), the long-line skips and the
 * ASCII skip of UTF-8 checking. Private to sse_parser.c (static functions),
 * which includes it once; sse_scan_lines.h is the line loop built on it. */
#ifndef EVCAT_SSE_SCAN_H
#define EVCAT_SSE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif
#endif

/* Line ends are found a 64-byte block at a time: one bit per CR or LF in a
 * mask, the lines of the block then taken from it with ctz. One pass over
 * the bytes however short or long the lines are. */
#define BLOCK 64

/* The CR/LF mask of s[0..n), n <= BLOCK (bytes past n count as neither);
 * *high = the mask of its bytes >= 0x80. */
static inline uint64_t eol_mask_base(const char *s, size_t n, uint64_t *high)
{
    char tmp[BLOCK];
    if (n < BLOCK) {
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, s, n);
        s = tmp;
    }
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    uint64_t m = 0, h = 0;
    for (unsigned k = 0; k < BLOCK; k += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
        __m128i e = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(e) << k;
        h |= (uint64_t)(uint32_t)_mm_movemask_epi8(a) << k;
    }
    *high = h;
    return m;
#else
    /* Exact zero-byte marks (no borrow between bytes), 8 bytes a word,
     * gathered into 8 bits by a multiply. */
    const uint64_t ones = 0x0101010101010101u, lows = 0x7F7F7F7F7F7F7F7Fu;
    uint64_t m = 0, h = 0;
    for (unsigned k = 0; k < BLOCK; k += 8) {
        uint64_t w, x, y;
        memcpy(&w, s + k, 8);
        x = w ^ (ones * '\n');
        y = w ^ (ones * '\r');
        x = ~(((x & lows) + lows) | x | lows);
        y = ~(((y & lows) + lows) | y | lows);
        uint64_t t = (x | y) >> 7; /* bit 0 of each byte */
        uint64_t bits = 0, hb = 0;
        for (unsigned b = 0; b < 8; b++) {
            bits |= ((t >> (8 * b)) & 1u) << b;
            hb |= ((w >> (8 * b + 7)) & 1u) << b;
        }
        m |= bits << k;
        h |= hb << k;
    }
    *high = h;
    return m;
#endif
}


#if defined(HAVE_AVX2_PATH)
/* eol_mask_base with AVX2: two loads a block. */
__attribute__((target("avx2"), always_inline)) static inline uint64_t
eol_mask_avx2(const char *s, size_t n, uint64_t *high)
{
    char tmp[BLOCK];
    if (n < BLOCK) {
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, s, n);
        s = tmp;
    }
    const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)s);
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(s + 32));
    __m256i ea = _mm256_or_si256(_mm256_cmpeq_epi8(a, cr), _mm256_cmpeq_epi8(a, lf));
    __m256i eb = _mm256_or_si256(_mm256_cmpeq_epi8(b, cr), _mm256_cmpeq_epi8(b, lf));
    *high = (uint64_t)(uint32_t)_mm256_movemask_epi8(a) |
            (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32;
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(ea) |
           (uint64_t)(uint32_t)_mm256_movemask_epi8(eb) << 32;
}
#endif

/* A walk over the line ends of buf[0..len): base is the block whose masks
 * are held; bits of ends already passed may remain in them, next_eol masks
 * them off. */
typedef struct eol_scan {
    const char *buf;
    size_t len;
    size_t base;
    uint64_t mask; /* CR and LF */
    uint64_t high; /* bytes >= 0x80 */
} eol_scan_t;

/* UTF-8 checking of a held or invalid line: whole 64-byte blocks of ASCII
 * from i passed with one test each. */
#if defined(__SSE2__)
#if defined(HAVE_AVX2_PATH)
__attribute__((target("avx2"))) static size_t ascii_blocks_avx2(const unsigned char *u, size_t i,
                                                                 size_t n)
{
    while (n - i >= BLOCK) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(u + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(u + i + 32));
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b)))
            break;
        i += BLOCK;
    }
    return i;
}
#endif

static size_t ascii_blocks_sse2(const unsigned char *u, size_t i, size_t n)
{
    while (n - i >= BLOCK) {
        const __m128i *q = (const __m128i *)(const void *)(u + i);
        __m128i a = _mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1));
        __m128i b = _mm_or_si128(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3));
        if (_mm_movemask_epi8(_mm_or_si128(a, b)))
            break;
        i += BLOCK;
    }
    return i;
}

typedef struct simd_fns {
    bool avx2; /* the AVX2 line loop */
    size_t (*ascii)(const unsigned char *, size_t, size_t);
} simd_fns_t;

static simd_fns_t pick_fns(void)
{
#if defined(HAVE_AVX2_PATH)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return (simd_fns_t){true, ascii_blocks_avx2};
#endif
    return (simd_fns_t){false, ascii_blocks_sse2};
}

/* Chosen once, by sse_parser_new (a race would only store the same twice). */
static simd_fns_t simd;

static inline size_t ascii_blocks(const unsigned char *u, size_t i, size_t n)
{
    return simd.ascii(u, i, n);
}

static inline void simd_init(void)
{
    if (!simd.ascii)
        simd = pick_fns();
}
#else
static inline size_t ascii_blocks(const unsigned char *u, size_t i, size_t n)
{
    (void)u;
    (void)n;
    return i;
}

static inline void simd_init(void)
{
}
#endif

#endif
