/* redact: what diagnostics may show of secrets. A password in a URL's
 * userinfo becomes "***"; with -v, header lines are printed with the values
 * of Authorization, Proxy-Authorization, Cookie and Set-Cookie replaced by
 * [redacted] (evcat(1), --verbose). */
#ifndef EVCAT_REDACT_H
#define EVCAT_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Copies url with a password in its userinfo replaced by "***", for lines
 * the user will see. Returns a malloc'd string. */
char *redact_url(const char *url);

/* Whether url's userinfo has a password redact_url masked ("user:***@"):
 * such a URL, kept in a recording, no longer holds the password. */
bool url_password_masked(const char *url);

/* Frees a NUL-terminated secret (a password, a token) after zeroing it,
 * so that it does not outlive its use in a core dump. NULL is fine. */
void secret_free(char *s);

/* Appends data's lines to out, each ending with LF (a CR before it
 * dropped), URL passwords masked and, with headers, the values of the
 * secret headers above as [redacted]: text that is kept to be shown later
 * (bench's first failed exchange, which a shard's JSON carries). */
void redact_lines(buf_t *out, const char *data, size_t size, bool headers);

/* Prints each line of data on stderr with prefix when -v is on; with
 * headers, the values of the secret headers above are replaced. */
void verbose_lines(const char *prefix, const char *data, size_t size, bool headers);

#endif
