/* text: byte-string helpers with no I/O: base64, UTF-8 validation, hex
 * digits, ASCII case folding, JSON string quoting, a bound on a JSON text's
 * values and the FNV-1a hash. */
#ifndef EVCAT_TEXT_H
#define EVCAT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Standard base64 with padding. Appends to b. */
void base64_append(buf_t *b, const void *p, size_t n);
/* Decodes standard base64 (padding optional, no whitespace). Returns 0 or -1. */
int base64_decode(buf_t *out, const char *s, size_t n);

/* Whether p[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *p, size_t n);

/* The value of a hexadecimal digit, or -1. */
int hex_value(int c);

/* Case-insensitive ASCII comparison of n bytes. */
bool ascii_ieq(const char *a, const char *b, size_t n);

/* Appends s[0..n) as a JSON string, quotes included: control characters,
 * '"' and '\\' escaped; other bytes (UTF-8 included) copied through. */
void json_quote(buf_t *b, const char *s, size_t n);

/* An upper bound on the number of values (objects, arrays, members and
 * scalars) in the JSON text p[0..n): 1 + the '{', '[' and ',' outside
 * strings. A tree parser (cJSON) allocates a node per value, so comparing
 * this with a limit before parsing bounds the memory untrusted input can
 * make it take. Malformed text gives some bound too (the parser refuses it
 * later). */
size_t json_value_bound(const char *p, size_t n);

/* 64-bit FNV-1a of p[0..n), continuing from h (FNV1A64_INIT to start): a
 * stable, non-cryptographic hash for names and identities. */
#define FNV1A64_INIT UINT64_C(0xcbf29ce484222325)
uint64_t fnv1a64(uint64_t h, const void *p, size_t n);

#endif
