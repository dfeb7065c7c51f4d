/* curl_errors: what the CURLcode of a finished libcurl transfer means,
 * decided in one place for every libcurl user (the SSE client, bench's SSE
 * streams and its publisher): its class (the server closing, a failed
 * connect, a broken read or write, a timeout, TLS, an answer that is not
 * HTTP, HTTP/2 trouble, the rest), whether waiting and trying again may
 * help, and the one-line detail to show for it. What a class means to a
 * caller (a reconnect, an error kind in a load test's summary) stays the
 * caller's. */
#ifndef EVCAT_CURL_ERRORS_H
#define EVCAT_CURL_ERRORS_H

#include <stdbool.h>

#include <curl/curl.h>

#include "conn_settings.h"

typedef enum {
    CURLERR_NONE,         /* CURLE_OK: the transfer ended normally */
    CURLERR_CLOSED,       /* the server closed: no response at all, or a body cut short */
    CURLERR_CONNECT,      /* no connection (CURLINFO_OS_ERRNO may say why) */
    CURLERR_IO,           /* a read or write failed (CURLINFO_OS_ERRNO may say why) */
    CURLERR_TIMEOUT,      /* one of libcurl's timeouts (connect, whole transfer) */
    CURLERR_TLS,          /* TLS handshake, certificate verification, TLS files */
    CURLERR_NOT_HTTP,     /* an answer that is not HTTP */
    CURLERR_HTTP2,        /* the HTTP/2 connection failed */
    CURLERR_HTTP2_STREAM, /* the peer reset this HTTP/2 stream */
    CURLERR_OTHER,        /* the rest: DNS, the URL, redirects, memory, our callbacks... */
} curlerr_class_t;

curlerr_class_t curlerr_class(CURLcode r);

/* Trouble that may pass by itself, worth another attempt: CLOSED, CONNECT,
 * IO, TIMEOUT, HTTP2, HTTP2_STREAM. TLS, an answer that is not HTTP and the
 * rest (DNS, redirect loops, bad URLs) will not fix themselves by waiting;
 * CURLE_OK is no trouble. */
bool curlerr_transient(CURLcode r);

/* The one-line reason for r: libcurl's own message for the transfer
 * (errbuf, its CURLOPT_ERRORBUFFER) when it has one, else the generic text
 * of the code. errbuf may be NULL. */
const char *curlerr_detail(CURLcode r, const char *errbuf);

/* What a transfer's connect attempts reached, for curlerr_message: libcurl
 * does not say which address refused (CURLINFO_PRIMARY_IP is empty after a
 * failed connect), so an opening-socket callback notes it. */
typedef struct curlerr_conn {
    char addr[64];  /* the last address a socket was opened for, "" = none */
    unsigned tried; /* addresses tried */
    bool via_proxy; /* the connection goes to a proxy (set by the caller) */
} curlerr_conn_t;

/* Sets CURLOPT_OPENSOCKETFUNCTION on e to note each address tried in c
 * (which must outlive the transfers). Clear c before each transfer with
 * curlerr_conn_reset. */
void curlerr_watch(CURL *e, curlerr_conn_t *c);
void curlerr_conn_reset(curlerr_conn_t *c);

/* Whether a libcurl transfer of url with co connects through a proxy
 * (-x, or the proxy variables as dial reads them). */
bool curlerr_via_proxy(const char *url, const conn_settings_t *co);

/* The one-line reason for r, worded as the WebSocket path words the same
 * failure (connect_error.h) when it is a failed connect that c saw
 * ("connection refused by 127.0.0.1:1"); else curlerr_detail. os_errno:
 * CURLINFO_OS_ERRNO. Written to out (n bytes), which is returned. */
const char *curlerr_message(CURLcode r, const char *errbuf, long os_errno,
                            const curlerr_conn_t *c, char *out, size_t n);
/* The same, reading os_errno from the easy handle e. */
const char *curlerr_message_of(CURL *e, CURLcode r, const char *errbuf, const curlerr_conn_t *c,
                               char *out, size_t n);

#endif
