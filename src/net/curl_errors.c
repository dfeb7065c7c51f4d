/* curl_errors: the class, transience and detail of a libcurl result (see
 * curl_errors.h). */
#include "curl_errors.h"
#include "redact.h"
#include "connect_error.h"
#include "dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

curlerr_class_t curlerr_class(CURLcode r)
{
    switch (r) {
    case CURLE_OK:
        return CURLERR_NONE;
    case CURLE_GOT_NOTHING:  /* closed before any response */
    case CURLE_PARTIAL_FILE: /* a body without its end (last chunk, length) */
        return CURLERR_CLOSED;
    case CURLE_COULDNT_CONNECT:
        return CURLERR_CONNECT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return CURLERR_IO;
    case CURLE_OPERATION_TIMEDOUT:
        return CURLERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CLIENTCERT:
        return CURLERR_TLS;
    case CURLE_WEIRD_SERVER_REPLY:
        return CURLERR_NOT_HTTP;
    case CURLE_HTTP2:
        return CURLERR_HTTP2;
    case CURLE_HTTP2_STREAM:
        return CURLERR_HTTP2_STREAM;
    default:
        return CURLERR_OTHER;
    }
}

bool curlerr_transient(CURLcode r)
{
    switch (curlerr_class(r)) {
    case CURLERR_CLOSED:
    case CURLERR_CONNECT:
    case CURLERR_IO:
    case CURLERR_TIMEOUT:
    case CURLERR_HTTP2:
    case CURLERR_HTTP2_STREAM:
        return true;
    case CURLERR_NONE:
    case CURLERR_TLS:
    case CURLERR_NOT_HTTP:
    case CURLERR_OTHER:
        break;
    }
    return false;
}

const char *curlerr_detail(CURLcode r, const char *errbuf)
{
    return errbuf && errbuf[0] ? errbuf : curl_easy_strerror(r);
}

/* ---- the wording of a failed connect ---- */

static curl_socket_t on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    curlerr_conn_t *c = ud;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        connect_error_sockaddr(c->addr, sizeof(c->addr), &a->addr);
        c->tried++;
    }
    /* What libcurl does without this callback, plus close-on-exec. */
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

void curlerr_watch(CURL *e, curlerr_conn_t *c)
{
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
}

void curlerr_conn_reset(curlerr_conn_t *c)
{
    c->addr[0] = '\0';
    c->tried = 0;
}

bool curlerr_via_proxy(const char *url, const conn_settings_t *co)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *scheme = NULL;
    bool via = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
        /* curl gives an IPv6 literal in brackets; dial_target_t wants none */
        size_t hl = strlen(host);
        if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
            memmove(host, host + 1, hl - 2);
            host[hl - 2] = '\0';
        }
        dial_target_t t = {.host = host, .port = (uint16_t)atoi(port),
                           .tls = strcmp(scheme, "https") == 0};
        via = dial_proxy_for(&t, co) != NULL;
    }
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_url_cleanup(u);
    return via;
}

const char *curlerr_message(CURLcode r, const char *errbuf, long os_errno,
                            const curlerr_conn_t *c, char *out, size_t n)
{
    if (r == CURLE_COULDNT_CONNECT && c && c->addr[0] && os_errno > 0)
        connect_error_format(out, n, (int)os_errno, c->addr, c->via_proxy, c->tried);
    else { /* libcurl's words may quote a URL (a proxy's), password and all */
        char *shown = redact_url(curlerr_detail(r, errbuf));
        snprintf(out, n, "%s", shown);
        free(shown);
    }
    return out;
}

const char *curlerr_message_of(CURL *e, CURLcode r, const char *errbuf, const curlerr_conn_t *c,
                               char *out, size_t n)
{
    long os_errno = 0;
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
    return curlerr_message(r, errbuf, os_errno, c, out, n);
}
