/* The floor of scripts/bench-compare's echo part: the least a WebSocket echo
 * client can do for the same load, to measure evcat bench against.
 *
 *   cc -O2 -o ws-echo-floor ws-echo-floor.c
 *   ws-echo-floor HOST PORT PATH CONNECTIONS RATE SECONDS [SIZE]
 *
 * Opens CONNECTIONS connections to ws://HOST:PORT/PATH (blocking connect and
 * upgrade, one after the other), then for SECONDS sends a SIZE-byte (default
 * 64) masked text frame RATE times per second on each: one tick every 1/RATE
 * s sends the due message of every connection in one wake-up, one send()
 * per message; one recv() per readiness on epoll. The payload (text)
 * starts with the message's intended time (16 hex digits), so latency is measured from it.
 * The same protocol work as any client: masking per RFC 6455 (a fresh key
 * per frame), server frames parsed (7-bit, 16-bit lengths), nothing more.
 * Echoes still outstanding get one more second. Prints one JSON line:
 * {"connections","established","failed","sent","received","errors",
 *  "latency_ms":{"p50","p99","max"}} */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    uint32_t have, need; /* bytes of the current server frame seen / its size (0: header unknown) */
    uint8_t hdr[20];     /* the frame's header and the first 16 payload bytes */
};

#define HBUCKETS 100000 /* 10 us buckets up to 1 s */
static uint64_t hist[HBUCKETS + 1];
static uint64_t lat_max;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rand32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static int dial(const char *host, const char *port, const char *path)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        freeaddrinfo(ai);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    char resp[4096];
    size_t got = 0;
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto fail;
    while (got < sizeof(resp) - 1) { /* byte by byte: nothing after the head is read here */
        ssize_t r = recv(fd, resp + got, 1, 0);
        if (r <= 0)
            goto fail;
        got++;
        if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    resp[got] = 0;
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0)
        goto fail;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
fail:
    close(fd);
    return -1;
}

/* Parses server frames in p[0..n); returns -1 on something unexpected. */
static int on_bytes(struct conn *c, const uint8_t *p, size_t n, uint64_t *received)
{
    while (n) {
        if (!c->need) { /* header (+ first 8 payload bytes) still being gathered */
            c->hdr[c->have++] = *p++;
            n--;
            if (c->have == 2 && (c->hdr[1] & 0x7f) < 126)
                c->need = 2 + (c->hdr[1] & 0x7f);
            else if (c->have == 4 && (c->hdr[1] & 0x7f) == 126)
                c->need = 4 + ((uint32_t)c->hdr[2] << 8 | c->hdr[3]);
            else if (c->have == 2 && (c->hdr[1] & 0x7f) == 127)
                return -1;
            if (c->need && (c->hdr[0] & 0x0f) != 1)
                return -1;
            continue;
        }
        uint32_t hl = (c->hdr[1] & 0x7f) < 126 ? 2 : 4;
        while (n && c->have < hl + 16 && c->have < c->need) { /* the stamp */
            c->hdr[c->have++] = *p++;
            n--;
        }
        size_t k = c->need - c->have;
        if (c->have >= hl + 16 || c->have == c->need) {
            if (k > n)
                k = n;
            p += k;
            n -= k;
            c->have += (uint32_t)k;
        }
        if (c->have == c->need) {
            (*received)++;
            if (c->need >= hl + 16) {
                uint64_t t = 0;
                for (int d = 0; d < 16; d++) {
                    uint8_t h = c->hdr[hl + d];
                    t = t << 4 | (uint64_t)(h <= '9' ? h - '0' : h - 'a' + 10);
                }
                uint64_t now = now_ns(), d = now > t ? now - t : 0;
                hist[d / 10000 < HBUCKETS ? d / 10000 : HBUCKETS]++;
                if (d > lat_max)
                    lat_max = d;
            }
            c->have = c->need = 0;
        }
    }
    return 0;
}

static double pct(uint64_t total, double q)
{
    uint64_t want = (uint64_t)(total * q), acc = 0;
    for (int i = 0; i <= HBUCKETS; i++) {
        acc += hist[i];
        if (acc > want)
            return (i + 0.5) * 0.01;
    }
    return 0;
}

/* What both clients are told: HOST PORT PATH CONNECTIONS RATE SECONDS
 * [SIZE [WAIT]]. */
struct args {
    const char *host, *port, *path;
    int nconn;
    double rate, secs;
    size_t size;
    const char *wait; /* ws-echo-uring's 8th argument, or NULL */
};

/* Returns 0, or 2 (the exit status) after a line on stderr. */
static int parse_args(int argc, char **argv, const char *name, const char *usage, struct args *a)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT PATH CONNECTIONS RATE SECONDS %s\n", name, usage);
        return 2;
    }
    a->host = argv[1];
    a->port = argv[2];
    a->path = argv[3];
    a->nconn = atoi(argv[4]);
    a->rate = atof(argv[5]);
    a->secs = atof(argv[6]);
    a->size = argc > 7 ? (size_t)atoi(argv[7]) : 64;
    a->wait = argc > 8 ? argv[8] : NULL;
    if (a->nconn <= 0 || a->rate <= 0 || a->secs <= 0 || a->size < 16 || a->size > 125) {
        fprintf(stderr, "%s: bad arguments (SIZE 16..125)\n", name);
        return 2;
    }
    return 0;
}

/* Upgrades every connection (one after the other); a failed one has fd -1. */
static struct conn *dial_all(const struct args *a, int *established, int *failed)
{
    struct conn *cs = calloc((size_t)a->nconn, sizeof(*cs));
    *established = *failed = 0;
    for (int i = 0; i < a->nconn; i++) {
        cs[i].fd = dial(a->host, a->port, a->path);
        if (cs[i].fd < 0)
            (*failed)++;
        else
            (*established)++;
    }
    return cs;
}

/* The payload's filler, once: make_frame writes the stamp over its start. */
static void init_payload(uint8_t *payload, size_t size)
{
    for (size_t i = 0; i < size; i++)
        payload[i] = (uint8_t)('a' + i % 26);
}

/* The masked text frame of a message intended at `intended` (the first 16
 * bytes of payload, set here: the time in hex), at frame[0 .. 6 + size). */
static size_t make_frame(uint8_t *frame, uint8_t *payload, size_t size, uint64_t intended)
{
    for (int d = 0; d < 16; d++)
        payload[d] = "0123456789abcdef"[(intended >> (60 - 4 * d)) & 15];
    uint32_t key = rand32();
    uint8_t m[4];
    memcpy(m, &key, 4);
    frame[0] = 0x81;
    frame[1] = (uint8_t)(0x80 | size);
    memcpy(frame + 2, m, 4);
    for (size_t j = 0; j < size; j++)
        frame[6 + j] = payload[j] ^ m[j & 3];
    return 6 + size;
}

static void print_result(int nconn, int established, int failed, uint64_t sent, uint64_t received,
                         uint64_t errors)
{
    printf("{\"connections\":%d,\"established\":%d,\"failed\":%d,\"sent\":%llu,\"received\":%llu,"
           "\"errors\":%llu,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
           nconn, established, failed, (unsigned long long)sent, (unsigned long long)received,
           (unsigned long long)errors, pct(received, 0.5), pct(received, 0.99), lat_max / 1e6);
}

#ifndef FLOOR_NO_MAIN /* ws-echo-uring.c includes the rest */
int main(int argc, char **argv)
{
    struct args a;
    int rc = parse_args(argc, argv, "ws-echo-floor", "[SIZE]", &a);
    if (rc)
        return rc;
    int nconn = a.nconn, established, failed;
    size_t size = a.size;
    struct conn *cs = dial_all(&a, &established, &failed);
    int ep = epoll_create1(0);
    for (int i = 0; i < nconn; i++) {
        if (cs[i].fd < 0)
            continue;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    uint8_t frame[6 + 125], payload[125], rbuf[65536];
    init_payload(payload, size);
    uint64_t tick = (uint64_t)(1e9 / a.rate), start = now_ns(), end = start + (uint64_t)(a.secs * 1e9);
    uint64_t next = start, sent = 0, received = 0, errors = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (next < end && now >= next) { /* every connection's due message, one wake-up */
            for (int i = 0; i < nconn; i++) {
                if (cs[i].fd < 0)
                    continue;
                size_t flen = make_frame(frame, payload, size, next);
                if (send(cs[i].fd, frame, flen, MSG_NOSIGNAL) == (ssize_t)flen)
                    sent++;
                else
                    errors++;
            }
            next += tick;
            now = now_ns(); /* then read, even when behind: no starving the echoes */
        }
        if (next >= end && (received + errors >= sent || now >= end + 1000000000u))
            break;
        uint64_t due = next < end ? next : end + 1000000000u, until = due > now ? due - now : 0;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u), .tv_nsec = (long)(until % 1000000000u)};
        struct epoll_event evs[256];
        int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            ssize_t r = recv(c->fd, rbuf, sizeof(rbuf), 0);
            if (r > 0 && on_bytes(c, rbuf, (size_t)r, &received) == 0)
                continue;
            if (r < 0 && errno == EAGAIN)
                continue;
            errors++;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
        }
    }
    print_result(nconn, established, failed, sent, received, errors);
    return 0;
}
#endif
