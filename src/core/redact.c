#include "redact.h"
#include "buf.h"
#include "diag.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

void secret_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* Appends s[0..n) to out with the password of every URL's userinfo in it
 * ("scheme://user:password@host") as "***": a URL alone, or URLs quoted in
 * a line of text (libcurl's trace names the URL of a redirect and the
 * proxy it took from the environment). */
static void append_masked(buf_t *out, const char *s, size_t n)
{
    size_t done = 0, i = 0;
    const char *sep;
    while (i < n && (sep = memmem(s + i, n - i, "://", 3)) != NULL) {
        size_t auth = (size_t)(sep - s) + 3, end = auth;
        while (end < n && !memchr("/?#'\" \t<>", s[end], 9))
            end++;
        const char *at = memrchr(s + auth, '@', end - auth);
        const char *colon = at ? memchr(s + auth, ':', (size_t)(at - (s + auth))) : NULL;
        if (colon) {
            buf_append(out, s + done, (size_t)(colon + 1 - (s + done)));
            buf_puts(out, "***");
            done = (size_t)(at - s);
        }
        i = end;
    }
    buf_append(out, s + done, n - done);
}

char *redact_url(const char *url)
{
    buf_t b;
    buf_init(&b);
    append_masked(&b, url, strlen(url));
    return b.p ? b.p : xstrdup("");
}

bool url_password_masked(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    const char *auth = sep + 3;
    size_t end = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', end);
    return at && at - auth >= 4 && memcmp(at - 4, ":***", 4) == 0;
}

/* Headers whose values are secrets in -v output. */
static bool secret_header(const char *line, size_t n)
{
    static const char *names[] = {"authorization:", "proxy-authorization:", "cookie:",
                                  "set-cookie:"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        size_t k = strlen(names[i]);
        if (n >= k && ascii_ieq(line, names[i], k))
            return true;
    }
    return false;
}

/* One line (no line end) as it may be shown: see redact_lines. */
static void redact_line(buf_t *out, const char *line, size_t len, bool headers)
{
    if (headers && secret_header(line, len)) {
        const char *colon = memchr(line, ':', len);
        buf_append(out, line, (size_t)(colon - line));
        buf_puts(out, ": [redacted]");
    } else {
        append_masked(out, line, len);
    }
}

void redact_lines(buf_t *out, const char *data, size_t size, bool headers)
{
    size_t pos = 0;
    while (pos < size) {
        size_t end = pos;
        while (end < size && data[end] != '\n')
            end++;
        size_t len = end - pos;
        if (len && data[pos + len - 1] == '\r')
            len--;
        redact_line(out, data + pos, len, headers);
        buf_putc(out, '\n');
        pos = end + 1;
    }
}

void verbose_lines(const char *prefix, const char *data, size_t size, bool headers)
{
    if (diag_level < 1)
        return;
    buf_t b;
    buf_init(&b);
    redact_lines(&b, data, size, headers);
    const char *p = b.p, *end = b.p + b.len, *nl;
    for (; p && p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1)
        if (nl > p)
            diag_verbose("%s%.*s", prefix, (int)(nl - p), p);
    buf_free(&b);
}
