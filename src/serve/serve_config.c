/* serve_config: the server's defaults (evcat(1), SERVE OPTIONS), and the
 * --listen addresses: parsing "ADDR:PORT" forms, and printing an address
 * back in the same form. */
#include "serve.h"

#include "http_request.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* What the descriptor limit allows: each connection takes one, 256 more
 * are kept for the 503s answered beyond the limit, and a few for the
 * listening socket, stdio and the loop. */
size_t serve_default_max_connections(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1000;
    rlim_t n = rl.rlim_cur == RLIM_INFINITY ? 1000000 : rl.rlim_cur;
    if (n > 1000000 + SERVE_FD_RESERVE)
        n = 1000000 + SERVE_FD_RESERVE;
    return n > SERVE_FD_RESERVE + 16 ? (size_t)(n - SERVE_FD_RESERVE) : 16;
}

void serve_config_defaults(serve_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    serve_parse_listen("127.0.0.1:8080", &cfg->addr, &cfg->addr_len);
    cfg->tick_ms = 1000;
    cfg->retry_ms = 3000;
    cfg->history = 1000;
    cfg->history_bytes = 64u * 1024 * 1024;
    cfg->max_message = 1024u * 1024;
    cfg->max_queue = 4u * 1024 * 1024;
    cfg->max_connections = serve_default_max_connections();
    cfg->max_head = HTTP_REQUEST_MAX_HEAD_DEFAULT;
    cfg->header_timeout_ms = 10000;
    cfg->idle_timeout_ms = 60000;
    cfg->keepalive_ms = 15000;
    cfg->tokens = 32;
    cfg->first_token_ns = 100000000u;
    cfg->token_interval_ns = 20000000u;
}

int serve_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *port;
    int flags = 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
        flags = AI_NUMERICHOST;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) { /* a bare port */
            strcpy(host, "127.0.0.1");
            port = s;
        } else {
            if (memchr(s, ':', (size_t)(colon - s)) || (size_t)(colon - s) >= sizeof(host))
                return -1; /* an IPv6 address needs brackets */
            memcpy(host, s, (size_t)(colon - s));
            host[colon - s] = '\0';
            if (!host[0])
                strcpy(host, "127.0.0.1");
            port = colon + 1;
        }
    }
    if (!port[0] || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
        return -1;
    long p = strtol(port, NULL, 10);
    if (p > 65535)
        return -1;

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = flags | AI_PASSIVE};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)p);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)p);
    else
        return -1;
    return 0;
}

void serve_format_addr(const struct sockaddr *sa, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
    } else {
        snprintf(out, n, "?");
    }
}
