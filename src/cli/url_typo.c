/* url_typo: slips in a URL's scheme part (see url_typo.h). */
#include "url_typo.h"
#include "buf.h"
#include "diag.h"
#include "redact.h"
#include "suggest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

static const char *const scheme_names[] = {"http", "https", "ws", "wss"}; /* URL_HTTP... order */

/* The index in scheme_names of s[0..n), any case, or -1. */
static int known_scheme(const char *s, size_t n)
{
    for (int i = 0; i < 4; i++) {
        if (strlen(scheme_names[i]) != n)
            continue;
        size_t j = 0;
        while (j < n && (s[j] | 0x20) == scheme_names[i][j])
            j++;
        if (j == n)
            return i;
    }
    return -1;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static size_t scheme_len(const char *s)
{
    size_t n = 0;
    if (!is_alpha(s[0]))
        return 0;
    while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
        n++;
    return n;
}

url_typo_kind_t url_typo(const char *arg, unsigned schemes, char *why, size_t whylen)
{
    size_t n = scheme_len(arg);
    if (n == 0 || n > SUGGEST_WORD_MAX)
        return URL_TYPO_NONE;
    const char *rest = arg + n;
    if (strncmp(rest, "://", 3) == 0) {
        if (known_scheme(arg, n) >= 0)
            return URL_TYPO_NONE;
        suggest_cand_t cands[4];
        size_t nc = 0;
        for (int i = 0; i < 4; i++)
            if (schemes & (1u << i))
                cands[nc++] = (suggest_cand_t){scheme_names[i], 0};
        const char *close[SUGGEST_MAX];
        size_t nclose = suggest(arg, n, cands, nc, close);
        if (nclose == 0)
            return URL_TYPO_NONE;
        char list[64];
        suggest_list(list, sizeof(list), "", close, nclose);
        snprintf(why, whylen, "unknown scheme '%.*s'; did you mean %s?", (int)n, arg, list);
        return URL_TYPO_SCHEME;
    }
    /* Without "://" only a scheme evcat knows is read as one: anything
     * else may be a host (localhost:8080/sse, or a host called wsx). The
     * letters alone: "wss." of wss.//host is the scheme and a slip. */
    n = 0;
    while (is_alpha(arg[n]))
        n++;
    rest = arg + n;
    if (known_scheme(arg, n) < 0)
        return URL_TYPO_NONE;
    if (strncmp(rest, "//", 2) == 0)
        snprintf(why, whylen, "missing ':' after '%.*s'?", (int)n, arg);
    else if (strncmp(rest, ":/", 2) == 0)
        snprintf(why, whylen, "missing '/' after '%.*s:/'?", (int)n, arg);
    else if (rest[0] == ':' && rest[1] && !is_digit(rest[1]))
        snprintf(why, whylen, "missing '//' after '%.*s:'?", (int)n, arg);
    else if (rest[0] && strchr(";.,|'", rest[0]) && strncmp(rest + 1, "//", 2) == 0)
        snprintf(why, whylen, "'%c' after '%.*s' should be ':'?", rest[0], (int)n, arg);
    else
        return URL_TYPO_NONE;
    return URL_TYPO_SYNTAX;
}

/* arg for the error line, a password in it hidden as redact_url() does,
 * also when the "://" it looks for is the typo. Returns a malloc'd string. */
static char *shown_arg(const char *arg)
{
    if (strstr(arg, "://"))
        return redact_url(arg);
    const char *auth = arg + scheme_len(arg);
    auth += strspn(auth, ":/;.,|'");
    size_t authlen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', authlen);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        return xstrdup(arg);
    size_t head = (size_t)(colon + 1 - arg);
    char *out = xmalloc(head + 3 + strlen(at) + 1);
    memcpy(out, arg, head);
    memcpy(out + head, "***", 3);
    strcpy(out + head + 3, at);
    return out;
}

int url_typo_check(const char *cmd, const char *opt, const char *arg, unsigned schemes)
{
    char why[160];
    url_typo_kind_t kind = url_typo(arg, schemes, why, sizeof(why));
    if (kind == URL_TYPO_NONE)
        return 0;
    char *shown = shown_arg(arg);
    diag_error("%s: %s%s'%s'%s %s", cmd, opt ? opt : "", opt ? " " : "", shown,
               kind == URL_TYPO_SYNTAX ? " is not a URL:" : ":", why);
    free(shown);
    return -1;
}

void url_scheme_lower(char *arg)
{
    size_t n = 0;
    while (isalpha((unsigned char)arg[n]) ||
           (n && (isdigit((unsigned char)arg[n]) || strchr("+-.", arg[n]) != NULL)))
        n++;
    if (n == 0 || strncmp(arg + n, "://", 3) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        arg[i] = (char)tolower((unsigned char)arg[i]);
}
