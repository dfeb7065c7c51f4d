#include "redact.h"
#include "buf.h"
#include "diag.h"
#include "text.h"

#include <string.h>

char *redact_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (!scheme)
        return xstrdup(url);
    const char *auth = scheme + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return xstrdup(url);
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon)
        return xstrdup(url);
    buf_t b;
    buf_init(&b);
    buf_append(&b, url, (size_t)(colon + 1 - url));
    buf_puts(&b, "***");
    buf_puts(&b, at);
    return b.p;
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

void verbose_lines(const char *prefix, const char *data, size_t size, bool headers)
{
    if (diag_level < 1)
        return;
    size_t pos = 0;
    while (pos < size) {
        size_t end = pos;
        while (end < size && data[end] != '\n')
            end++;
        size_t len = end - pos;
        if (len && data[pos + len - 1] == '\r')
            len--;
        if (headers && len && secret_header(data + pos, len)) {
            const char *colon = memchr(data + pos, ':', len);
            diag_verbose("%s%.*s: [redacted]", prefix, (int)(colon - (data + pos)), data + pos);
        } else if (len) {
            diag_verbose("%s%.*s", prefix, (int)len, data + pos);
        }
        pos = end + 1;
    }
}
