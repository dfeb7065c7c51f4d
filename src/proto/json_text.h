/* json_text: a payload that is JSON, checked and written again: compact
 * (`-o json --parse-json` puts it beside "data" as a value), coloured like
 * jq for a terminal, or indented (evcat(1), OUTPUT FORMATS). No I/O, no
 * allocation but the output buffer's.
 *
 * The check is RFC 8259's grammar (one value, whitespace around it), with
 * strings of valid UTF-8 and nesting at most JSON_TEXT_MAX_DEPTH deep. What
 * is written back is the same value: insignificant whitespace dropped (or
 * laid out anew), every token byte for byte as it came, so numbers keep
 * their spelling and strings their escapes. A string cannot hold a raw
 * control character in JSON, so the coloured form is safe for a terminal. */
#ifndef EVCAT_JSON_TEXT_H
#define EVCAT_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Deeper payloads are not treated as JSON (a recording's reader skips
 * values nested up to 64 deep: a line's own object is one level). */
#define JSON_TEXT_MAX_DEPTH 62

/* Whether s[0..n) is one JSON value (whitespace around it allowed). */
bool json_text_valid(const char *s, size_t n);

typedef struct json_style {
    bool color;     /* ANSI colours as jq's defaults */
    unsigned indent;/* 0: one line; else spaces per level, one member a line */
    size_t margin;  /* spaces before every line after the first */
} json_style_t;

/* Appends s[0..n), which must be json_text_valid(), in style st: compact
 * with no whitespace (st all zero), or with ": " and ", " on one line when
 * coloured, or indented. */
void json_text_write(buf_t *b, const char *s, size_t n, const json_style_t *st);

#endif
