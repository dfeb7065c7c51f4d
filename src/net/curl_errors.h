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

#endif
