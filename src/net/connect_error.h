/* connect_error: the one wording of a failed TCP connect, whichever path
 * connected: dial (WebSocket: ws, send, replay, listen ws://, bench's
 * subscribers through it) and libcurl (SSE: listen, bench --publish, via
 * curl_errors). A user sees the same line for the same failure:
 *   connection refused by 127.0.0.1:1
 *   connection refused by proxy 127.0.0.1:3128
 *   timed out connecting to [::1]:8080 (2 addresses tried)
 *   cannot connect to 10.0.0.1:80: No route to host
 * and addresses written the same way (IPv6 in brackets). */
#ifndef EVCAT_CONNECT_ERROR_H
#define EVCAT_CONNECT_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* "host:port", or "[host]:port" for an IPv6 address. */
void connect_error_hostport(char *out, size_t n, const char *host, uint16_t port);
/* The same for an IPv4 or IPv6 socket address ("" for another family). */
void connect_error_sockaddr(char *out, size_t n, const struct sockaddr *sa);
/* The reason a connect to addr (as above) failed with errno err, after
 * tried addresses in all; via_proxy: addr is the proxy's. */
void connect_error_format(char *out, size_t n, int err, const char *addr, bool via_proxy,
                          unsigned tried);

#endif
