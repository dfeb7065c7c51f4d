#include "diag.h"
#include "redact.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int diag_level = 0;
bool diag_color = false;

static diag_hook_fn hook;
static void *hook_ud;

void diag_set_hook(diag_hook_fn fn, void *ud)
{
    hook = fn;
    hook_ud = ud;
}

/* A diagnostic line often quotes the peer (a close reason, a status line,
 * a header): its control characters, C0 and DEL and the two-byte UTF-8 C1,
 * become '?', so a server cannot move the cursor, clear the screen or
 * retitle the terminal through stderr, nor break a line in two. Tabs stay. */
static void defang(char *s)
{
    unsigned char *u = (unsigned char *)s;
    size_t w = 0;
    for (size_t r = 0; u[r]; r++) {
        unsigned char c = u[r];
        if (c == 0xC2 && u[r + 1] >= 0x80 && u[r + 1] <= 0x9F) {
            r++;
            c = '?';
        } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
            c = '?';
        }
        u[w++] = c;
    }
    u[w] = '\0';
}

static void vline(const char *color, const char *prefix, const char *fmt, va_list ap)
{
    /* One fprintf of a formatted line, so lines from several threads or
     * processes sharing stderr do not interleave mid-line. */
    char text[2048];
    vsnprintf(text, sizeof(text), fmt, ap);
    defang(text);
    if (strstr(text, "://")) { /* a URL quoted with its password: masked, whoever quoted it */
        char *masked = redact_url(text);
        snprintf(text, sizeof(text), "%s", masked);
        free(masked);
    }
    if (hook) {
        char line[2100];
        if (diag_color && color)
            snprintf(line, sizeof(line), "%s%s%s\033[0m", color, prefix, text);
        else
            snprintf(line, sizeof(line), "%s%s", prefix, text);
        hook(hook_ud, line);
        return;
    }
    if (diag_color && color)
        fprintf(stderr, "%s%s%s\033[0m\n", color, prefix, text);
    else
        fprintf(stderr, "%s%s\n", prefix, text);
}

void diag_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("\033[1;31m", "evcat: ", fmt, ap);
    va_end(ap);
}

void diag_warn(const char *fmt, ...)
{
    if (diag_level < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline("\033[33m", "evcat: warning: ", fmt, ap);
    va_end(ap);
}

void diag_info(const char *fmt, ...)
{
    if (diag_level < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline("\033[2m", "* ", fmt, ap);
    va_end(ap);
}

void diag_verbose(const char *fmt, ...)
{
    if (diag_level < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline("\033[2m", "", fmt, ap);
    va_end(ap);
}
