/* libFuzzer target for src/proto/json_text.c: payloads checked as JSON and
 * written again (--parse-json, coloured and --indent pretty output).
 *
 * Input: any bytes, taken as a payload. Properties, any failure abort()s:
 *   - what json_text_valid() accepts, json_text_write() writes compact as c,
 *     and c is valid and written again unchanged (the writer keeps every
 *     token and drops only whitespace);
 *   - the indented form is valid JSON and compacts to c;
 *   - the coloured form, its colour sequences taken out, is valid JSON that
 *     compacts to c, and holds no control byte but those sequences' ESC and
 *     the indented form's newlines (safe for a terminal). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void compact(buf_t *out, const char *p, size_t n)
{
    buf_reset(out);
    json_text_write(out, p, n, NULL);
}

/* s without "ESC [ ... m" sequences; aborts on any other control byte
 * than a newline. */
static void strip_colour(buf_t *out, const char *s, size_t n)
{
    buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x1b) {
            if (i + 1 >= n || s[i + 1] != '[')
                abort();
            i += 2;
            while (i < n && s[i] != 'm')
                i++;
            if (i == n)
                abort();
            continue;
        }
        if (c < 0x20 && c != '\n')
            abort();
        buf_putc(out, (char)c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    if (!json_text_valid(s, size))
        return 0;
    buf_t c, again, form, plain;
    buf_init(&c);
    buf_init(&again);
    buf_init(&form);
    buf_init(&plain);
    compact(&c, s, size);
    if (!json_text_valid(c.p, c.len))
        abort();
    compact(&again, c.p, c.len);
    if (again.len != c.len || memcmp(again.p, c.p, c.len) != 0)
        abort();
    static const json_style_t styles[] = {
        {.indent = 2, .margin = 13},
        {.color = true},
        {.color = true, .indent = 4, .margin = 15},
    };
    for (size_t k = 0; k < sizeof(styles) / sizeof(styles[0]); k++) {
        buf_reset(&form);
        json_text_write(&form, s, size, &styles[k]);
        strip_colour(&plain, form.p, form.len);
        if (!json_text_valid(plain.p, plain.len))
            abort();
        compact(&again, plain.p, plain.len);
        if (again.len != c.len || memcmp(again.p, c.p, c.len) != 0)
            abort();
    }
    buf_free(&c);
    buf_free(&again);
    buf_free(&form);
    buf_free(&plain);
    return 0;
}
