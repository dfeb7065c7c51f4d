#include "conn_settings.h"
#include "buf.h"
#include "diag.h"
#include "http_request.h"
#include "redact.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

void conn_settings_init(conn_settings_t *s)
{
    memset(s, 0, sizeof(*s));
    s->connect_timeout_ms = 30000;
}

void conn_settings_free(conn_settings_t *s)
{
    curl_slist_free_all(s->headers);
    secret_free(s->userpwd);
    secret_free(s->bearer);
    memset(s, 0, sizeof(*s));
}

void conn_settings_set_userpwd(conn_settings_t *s, const char *userpwd)
{
    secret_free(s->userpwd);
    s->userpwd = xstrdup(userpwd);
}

void conn_settings_set_bearer(conn_settings_t *s, const char *token)
{
    secret_free(s->bearer);
    s->bearer = xstrdup(token);
    buf_t h;
    buf_init(&h);
    buf_printf(&h, "Authorization: Bearer %s", token);
    s->headers = curl_slist_append(s->headers, h.p);
    memset(h.p, 0, h.len);
    buf_free(&h);
}

bool conn_settings_has_header(const conn_settings_t *s, const char *name)
{
    for (const struct curl_slist *h = s->headers; h; h = h->next)
        if (http_user_header_named(h->data, name))
            return true;
    return false;
}

const char *conn_settings_header_value(const conn_settings_t *s, const char *name)
{
    const char *v = NULL;
    for (const struct curl_slist *h = s->headers; h; h = h->next)
        if (http_user_header_named(h->data, name))
            v = h->data + strlen(name) + 1;
    if (v)
        v += strspn(v, " \t");
    return v && *v ? v : NULL;
}

/* libcurl's note when a write callback refuses data. evcat's callbacks
 * refuse only to stop a transfer on purpose (-n reached, a bad response
 * already reported), so under -v the note would read as a failure at a
 * clean exit. */
#define WRITE_REFUSED_NOTE "Failure writing output to destination"

/* CURLOPT_DEBUGFUNCTION: curl's trace as "> "/"< "/"* " lines on stderr,
 * with every secret header's value replaced. */
static int trace_cb(CURL *e, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)e;
    (void)ud;
    if (type == CURLINFO_TEXT && size >= strlen(WRITE_REFUSED_NOTE) &&
        memcmp(data, WRITE_REFUSED_NOTE, strlen(WRITE_REFUSED_NOTE)) == 0)
        return 0;
    switch (type) {
    case CURLINFO_TEXT: verbose_lines("* ", data, size, false); break;
    case CURLINFO_HEADER_OUT: verbose_lines("> ", data, size, true); break;
    case CURLINFO_HEADER_IN: verbose_lines("< ", data, size, true); break;
    default: break;
    }
    return 0;
}

void conn_settings_apply_curl(const conn_settings_t *s, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (s->userpwd) {
        curl_easy_setopt(e, CURLOPT_USERPWD, s->userpwd);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    if (s->cacert) { /* instead of the system's: its directory too */
        curl_easy_setopt(e, CURLOPT_CAINFO, s->cacert);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    }
    if (s->cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, s->cert);
    if (s->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, s->key);
    if (s->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, s->proxy);
    if (diag_level >= 1) {
        curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, trace_cb);
        curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    }
}
