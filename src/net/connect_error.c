/* connect_error: one wording of a failed connect (see connect_error.h). */
#include "connect_error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void connect_error_hostport(char *out, size_t n, const char *host, uint16_t port)
{
    if (strchr(host, ':'))
        snprintf(out, n, "[%s]:%u", host, port);
    else
        snprintf(out, n, "%s:%u", host, port);
}

void connect_error_sockaddr(char *out, size_t n, const struct sockaddr *sa)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port = 0;
    ip[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
    } else {
        if (n)
            out[0] = '\0';
        return;
    }
    connect_error_hostport(out, n, ip, port);
}

void connect_error_format(char *out, size_t n, int err, const char *addr, bool via_proxy,
                          unsigned tried)
{
    const char *where = via_proxy ? "proxy " : "";
    char more[48] = "";
    if (tried > 1)
        snprintf(more, sizeof(more), " (%u addresses tried)", tried);
    if (err == ECONNREFUSED)
        snprintf(out, n, "connection refused by %s%s%s", where, addr, more);
    else if (err == ETIMEDOUT)
        snprintf(out, n, "timed out connecting to %s%s%s", where, addr, more);
    else
        snprintf(out, n, "cannot connect to %s%s: %s%s", where, addr, strerror(err), more);
}
