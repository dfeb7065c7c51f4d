/* dial: a client connection that ends up as a ready transport_t — DNS (in a
 * helper thread, so the loop never blocks), non-blocking connect trying each
 * address in turn (IPv6 and IPv4), an HTTP CONNECT tunnel through a proxy,
 * and TLS with OpenSSL — all on the loop, bounded by the connect timeout.
 *
 * Why our own transport and not libcurl's CONNECT_ONLY for WebSocket:
 * a curl easy handle and its connection cost 12-15 KiB before any
 * WebSocket state, and the load tester must hold 19,000 connections per
 * process at a few KiB each; one transport for every WebSocket command keeps
 * one code path. The TLS and proxy options are the same conn_settings_t the SSE
 * side hands to libcurl, mapped onto OpenSSL with the same meaning:
 * --cacert (else the system store), --cert/--key, -k, SNI and host name
 * verification on by default; -x, else https_proxy/http_proxy (and their
 * upper-case forms, and all_proxy) as curl reads them, minus no_proxy. */
#ifndef EVCAT_DIAL_H
#define EVCAT_DIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_settings.h"
#include "loop.h"
#include "transport.h"

typedef struct dial dial_t;

typedef struct dial_target {
    const char *host; /* name or address literal (IPv6 without brackets) */
    uint16_t port;
    bool tls;         /* wss / https */
} dial_target_t;

/* ok: 0 with the connection ready (take it with dial_take), or -1 with a
 * one-line reason (DNS, refused, timeout, proxy, TLS verification...). */
typedef void (*dial_done_fn)(dial_t *nc, int ok, const char *why, void *ud);

/* Starts connecting; done is called exactly once, from the loop (never from
 * inside dial_start). The strings in t and co must outlive the attempt. */
dial_t *dial_start(loop_t *l, const dial_target_t *t, const conn_settings_t *co,
                         dial_done_fn done, void *ud);
/* After done(0): moves the connection out (the fd is unregistered from the
 * loop, non-blocking, TCP_NODELAY). dial_free() is still needed. */
void dial_take(dial_t *nc, transport_t *out);
/* Cancels an attempt in progress (done is not called) and frees. */
void dial_free(dial_t *nc);

/* Builds (and keeps, for the connections to come) the TLS context of co's
 * --cacert, --cert, --key and -k: 0, or -1 with the file and what is wrong
 * with it in err. */
int dial_tls_check(const conn_settings_t *co, char *err, size_t errlen);

/* Whether a -x value is a proxy URL at all: [SCHEME://][user[:password]@]
 * host[:port][/], SCHEME one of http, https, socks4, socks4a, socks5,
 * socks5h (libcurl's; dial itself speaks http only). 0, or -1 with a reason
 * in why that does not quote the value (it may hold a password). */
int dial_proxy_syntax(const char *url, char *why, size_t n);

/* After a failed attempt: whether it failed because the server's
 * certificate did not verify, which trying again would not change. */
bool dial_cert_refused(const dial_t *nc);

/* For tests and -v: which proxy (URL) would be used for t, or NULL. */
const char *dial_proxy_for(const dial_target_t *t, const conn_settings_t *co);

#endif
