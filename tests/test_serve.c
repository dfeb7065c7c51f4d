/* Unit tests for the server (src/serve/serve_*.c): its pure parts (--listen
 * addresses and their printed form, the defaults evcat(1) gives under SERVE
 * OPTIONS), then a server on its loop with clients on loopback for what
 * hostile clients may do to it, and for what its playback mode (`evcat
 * replay FILE --serve`) does with slow and silent clients. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "loop.h"
#include "playback.h"
#include "recording.h"
#include "serve.h"

static void test_parse_listen(void **state)
{
    (void)state;
    struct {
        const char *in;
        int rc;
        const char *printed;
    } cases[] = {
        {"127.0.0.1:8080", 0, "127.0.0.1:8080"},
        {"[::1]:8080", 0, "[::1]:8080"},
        {"[::]:0", 0, "[::]:0"},
        {"0.0.0.0:65535", 0, "0.0.0.0:65535"},
        {":9000", 0, "127.0.0.1:9000"},
        {"9000", 0, "127.0.0.1:9000"},
        {"127.0.0.1:65536", -1, NULL},
        {"127.0.0.1:", -1, NULL},
        {"127.0.0.1:80a", -1, NULL},
        {"127.0.0.1:-1", -1, NULL},
        {"::1:8080", -1, NULL},
        {"[::1]8080", -1, NULL},
        {"[::1", -1, NULL},
        {"[nothost]:80", -1, NULL},
        {"999.1.1.1:80", -1, NULL},
        {"", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        int rc = serve_parse_listen(cases[i].in, &ss, &len);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, wanted %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0) {
            char out[80];
            serve_format_addr((struct sockaddr *)&ss, out, sizeof(out));
            assert_string_equal(out, cases[i].printed);
        }
    }
}

static void test_defaults(void **state)
{
    (void)state;
    serve_config_t cfg;
    serve_config_defaults(&cfg);
    char out[80];
    serve_format_addr((struct sockaddr *)&cfg.addr, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:8080");
    assert_int_equal(cfg.tick_ms, 1000);
    assert_int_equal(cfg.retry_ms, 3000);
    assert_int_equal(cfg.history, 1000);
    assert_int_equal(cfg.max_message, 1024 * 1024);
    assert_null(cfg.tls_cert);
}

/* ---- a server on the loop ---- */

struct srv {
    loop_t *l;
    serve_t *s;
    int port;
};

static void srv_start(struct srv *h, const serve_config_t *cfg)
{
    h->l = loop_new();
    assert_non_null(h->l);
    char err[256];
    assert_int_equal(serve_start(h->l, cfg, &h->s, err, sizeof(err)), 0);
    char addr[80];
    serve_local_addr(h->s, addr, sizeof(addr));
    h->port = atoi(strrchr(addr, ':') + 1);
}

static void srv_stop(struct srv *h)
{
    serve_free(h->s);
    loop_free(h->l);
}

static void test_config(serve_config_t *cfg)
{
    serve_config_defaults(cfg);
    assert_int_equal(serve_parse_listen("127.0.0.1:0", &cfg->addr, &cfg->addr_len), 0);
    cfg->tick_ms = 0;
    cfg->keepalive_ms = 0;
}

static void pump(struct srv *h, int rounds)
{
    for (int i = 0; i < rounds; i++)
        loop_run_once(h->l, 1);
}

/* A non-blocking client connected to the server (the kernel completes the
 * connection; the server accepts it when the loop runs). */
static int client(struct srv *h)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

static void send_all(struct srv *h, int fd, const char *p)
{
    size_t n = strlen(p), off = 0;
    for (int i = 0; off < n && i < 1000; i++) {
        ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else
            pump(h, 1);
    }
    assert_int_equal(off, n);
}

/* The status of the response the client gets (0: none within a second). */
static int status_of(struct srv *h, int fd)
{
    char buf[4096];
    size_t len = 0;
    for (int i = 0; i < 1000; i++) {
        pump(h, 1);
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r > 0)
            len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || r == 0)
            break;
    }
    int status = 0;
    if (len > 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0)
        status = atoi(buf + 9);
    return status;
}

#define UPGRADE_HEAD                                                                               \
    "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                 \
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

/* RFC 6455 section 11.3.1 and 11.3.5: a key or a version sent twice is a
 * bad upgrade, whatever the first one says. */
static void test_upgrade_repeated_fields(void **state)
{
    (void)state;
    serve_config_t cfg;
    test_config(&cfg);
    struct srv h;
    srv_start(&h, &cfg);
    const struct {
        const char *extra;
        int status;
    } cases[] = {
        {"", 101},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400},
        {"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n", 400},
        {"sec-websocket-version: 13\r\n", 400},
        {"Sec-WebSocket-Version: 8\r\n", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = client(&h);
        char req[512];
        snprintf(req, sizeof(req), "%s%s\r\n", UPGRADE_HEAD, cases[i].extra);
        send_all(&h, fd, req);
        int st = status_of(&h, fd);
        if (st != cases[i].status)
            fail_msg("case %zu: %d, wanted %d", i, st, cases[i].status);
        close(fd);
    }
    srv_stop(&h);
}

/* A WebSocket client that pings and never reads its pongs: on /ws with
 * nothing broadcast (--tick 0, no keepalive, no publishes), only the
 * connection's own bound can stop it. The server must stop reading it once
 * --max-queue is pending, so what the client can send stays bounded by the
 * kernel's buffers; it used to read on and queue every pong (1 GB of RSS in
 * 5 s). */
static void test_ws_ping_flood_stops_reading(void **state)
{
    (void)state;
    serve_config_t cfg;
    test_config(&cfg);
    cfg.max_queue = 4096;
    struct srv h;
    srv_start(&h, &cfg);
    const char *paths[] = {"/ws", "/echo"};
    for (size_t p = 0; p < 2; p++) {
        int fd = client(&h);
        int small = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        char req[512];
        snprintf(req, sizeof(req), "GET %s%s\r\n", paths[p], strchr(UPGRADE_HEAD, ' ') + 4);
        send_all(&h, fd, req);
        assert_int_equal(status_of(&h, fd), 101);

        /* Masked pings with 125-byte payloads (zero mask: the payload as is). */
        static uint8_t burst[131 * 500];
        for (size_t i = 0; i < 500; i++) {
            uint8_t *f = burst + i * 131;
            f[0] = 0x89;
            f[1] = 0x80 | 125;
            memset(f + 2, 0, 4);
            memset(f + 6, 'p', 125);
        }
        size_t sent = 0, limit = (size_t)64 << 20;
        int stalled = 0;
        while (sent < limit && stalled < 200) {
            ssize_t w = send(fd, burst, sizeof(burst), MSG_NOSIGNAL);
            if (w > 0) {
                sent += (size_t)w;
                stalled = 0;
            } else {
                assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
                stalled++;
            }
            loop_run_once(h.l, 0);
        }
        if (sent >= limit)
            fail_msg("%s: the server read %zu bytes of pings from a client that reads nothing",
                     paths[p], sent);
        close(fd);
        pump(&h, 5);
    }
    srv_stop(&h);
}

/* Connections over --max-connections: 503, counted, and one warning line
 * for a burst (rate-limited like the drop warnings). */
static void test_refusals_counted_and_warned(void **state)
{
    (void)state;
    serve_config_t cfg;
    test_config(&cfg);
    cfg.max_connections = 1;
    struct srv h;
    srv_start(&h, &cfg);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = client(&h);
        send_all(&h, fds[i], "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    int st[3];
    for (int i = 0; i < 3; i++)
        st[i] = status_of(&h, fds[i]);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(st[0], 200);
    assert_int_equal(st[1], 503);
    assert_int_equal(st[2], 503);
    assert_int_equal(serve_stats(h.s)->rejected, 2);
    char text[1024] = "";
    rewind(tmp);
    size_t n = fread(text, 1, sizeof(text) - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    /* The first refusal at once, the second within the next second (or at
     * the stop). */
    if (!strstr(text, "evcat: warning: serve: refused 1 connection over --max-connections 1 "
                      "(1 in all)\n"))
        fail_msg("no first warning in: %s", text);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    srv_stop(&h);
}

/* ---- playback mode ---- */

/* Reads what the server sends until it closes, pumping its loop (at most
 * max_ms). Returns the milliseconds it took. */
static uint64_t read_to_eof(struct srv *h, int fd, buf_t *out, uint64_t max_ms)
{
    uint64_t t0 = mono_ns(), limit = t0 + max_ms * 1000000u;
    char rb[65536];
    for (;;) {
        pump(h, 1);
        ssize_t r;
        while ((r = recv(fd, rb, sizeof(rb), 0)) > 0)
            buf_append(out, rb, (size_t)r);
        if (r == 0)
            break;
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        if (mono_ns() > limit)
            fail_msg("the server did not close within %llu ms", (unsigned long long)max_ms);
    }
    return (mono_ns() - t0) / 1000000u;
}

/* A client that stops reading an SSE playback stops it over --max-queue, and
 * gets the rest once it reads again: late, never cut short. */
static void test_playback_waits_for_slow_client(void **state)
{
    (void)state;
    enum { N = 3000, SIZE = 4000 };
    static char data[SIZE];
    memset(data, 'x', sizeof(data));
    static rec_msg_t msgs[N];
    for (size_t i = 0; i < N; i++)
        msgs[i] = (rec_msg_t){
            .t = 0, .in = true, .data = data, .len = SIZE, .event = "message", .id = ""};
    recording_t rec = {.proto = REC_SSE, .url = "http://h/sse", .msgs = msgs, .nmsgs = N};
    buf_t ev;
    buf_init(&ev);
    playback_format_sse(&ev, &msgs[1], &msgs[0]);
    size_t want = (size_t)N * ev.len; /* every event alike, none with an id */
    buf_free(&ev);

    serve_config_t cfg;
    test_config(&cfg);
    cfg.history = 0;
    cfg.playback = &rec;
    cfg.no_timing = true;
    cfg.max_queue = 64 * 1024;
    struct srv h;
    srv_start(&h, &cfg);
    int fd = client(&h);
    send_all(&h, fd, "GET /any HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(&h, 200); /* the client reads nothing meanwhile */
    uint64_t played = serve_stats(h.s)->played;
    if (played == 0 || played >= N)
        fail_msg("%llu of %d messages queued to a client that reads nothing",
                 (unsigned long long)played, N);

    buf_t got;
    buf_init(&got);
    read_to_eof(&h, fd, &got, 20000);
    assert_non_null(got.p);
    const char *body = strstr(got.p, "\r\n\r\n");
    assert_non_null(body);
    assert_int_equal(got.len - (size_t)(body + 4 - got.p), want);
    assert_int_equal(serve_stats(h.s)->played, N);
    assert_int_equal(serve_stats(h.s)->playbacks, 1);
    buf_free(&got);
    close(fd);
    srv_stop(&h);
}

/* A WebSocket playback ends with our close; a client that never answers it
 * is closed CLOSING_MS (5 s) later. */
static void test_playback_ws_close_unanswered(void **state)
{
    (void)state;
    static rec_msg_t msgs[] = {{.t = 0, .in = true, .type = 1, .data = "hi", .len = 2}};
    recording_t rec = {.proto = REC_WS, .url = "ws://h/", .msgs = msgs, .nmsgs = 1};
    serve_config_t cfg;
    test_config(&cfg);
    cfg.history = 0;
    cfg.playback = &rec;
    cfg.no_timing = true;
    struct srv h;
    srv_start(&h, &cfg);
    int fd = client(&h);
    send_all(&h, fd, UPGRADE_HEAD "\r\n");
    buf_t got;
    buf_init(&got);
    uint64_t ms = read_to_eof(&h, fd, &got, 10000);
    assert_non_null(got.p);
    const char *frames = strstr(got.p, "\r\n\r\n");
    assert_non_null(frames);
    assert_true(strncmp(got.p, "HTTP/1.1 101 ", 13) == 0);
    frames += 4;
    static const char want[] = "\x81\x02hi"
                               "\x88\x12\x03\xe8"
                               "end of recording";
    assert_int_equal(got.len - (size_t)(frames - got.p), sizeof(want) - 1);
    assert_memory_equal(frames, want, sizeof(want) - 1);
    if (ms < 4500)
        fail_msg("closed after %llu ms, before the client's answer was due",
                 (unsigned long long)ms);
    buf_free(&got);
    close(fd);
    srv_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_upgrade_repeated_fields),
        cmocka_unit_test(test_ws_ping_flood_stops_reading),
        cmocka_unit_test(test_refusals_counted_and_warned),
        cmocka_unit_test(test_playback_waits_for_slow_client),
        cmocka_unit_test(test_playback_ws_close_unanswered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
