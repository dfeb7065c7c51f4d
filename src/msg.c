#include "msg.h"

#include <stdarg.h>
#include <stdio.h>

int msg_level = 0;
bool msg_color = false;

static void vline(const char *color, const char *prefix, const char *fmt, va_list ap)
{
    /* One fprintf of a formatted line, so lines from several threads or
     * processes sharing stderr do not interleave mid-line. */
    char text[2048];
    vsnprintf(text, sizeof(text), fmt, ap);
    if (msg_color && color)
        fprintf(stderr, "%s%s%s\033[0m\n", color, prefix, text);
    else
        fprintf(stderr, "%s%s\n", prefix, text);
}

void msg_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("\033[1;31m", "evcat: ", fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    if (msg_level < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline("\033[33m", "evcat: warning: ", fmt, ap);
    va_end(ap);
}

void msg_info(const char *fmt, ...)
{
    if (msg_level < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline("\033[2m", "* ", fmt, ap);
    va_end(ap);
}

void msg_verbose(const char *fmt, ...)
{
    if (msg_level < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline("\033[2m", "", fmt, ap);
    va_end(ap);
}
