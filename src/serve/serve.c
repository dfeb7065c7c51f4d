#include "serve.h"
#include "channel.h"
#include "http_request.h"
#include "diag.h"
#include "transport.h"
#include "sendq.h"
#include "playback.h"
#include "buf.h"
#include "clock.h"
#include "text.h"
#include "ws_handshake.h"
#include "ws_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bounds and periods that are not options. */
#define READ_CHUNK       16384         /* one read from a request connection */
#define READS_PER_WAKE   8             /* then let other connections run */
#define PIPELINE_OUT_MAX (64u * 1024u) /* responses queued before reading pauses */
#define LINGER_MS        2000          /* discarding after our FIN */
#define CLOSING_MS       5000          /* to flush a final response */
#define STOP_GRACE_MS    3000          /* SIGTERM: then close what is left */
#define ACCEPT_PAUSE_MS  100           /* after EMFILE and the like */
#define REJECT_SLACK     256           /* 503s in flight beyond --max-connections */
#define WARN_INTERVAL_NS 1000000000ull /* rate limit of repeated warnings */
#define IOV_BATCH        64

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
    cfg->max_connections = 10000;
    cfg->max_head = HTTP_REQUEST_MAX_HEAD_DEFAULT;
    cfg->header_timeout_ms = 10000;
    cfg->idle_timeout_ms = 60000;
    cfg->keepalive_ms = 15000;
}

/* ---- addresses ---- */

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

/* ---- the server's structures ---- */

enum conn_state {
    CS_HANDSHAKE, /* TLS handshake */
    CS_HEAD,      /* receiving a request head (or idle between requests) */
    CS_BODY,      /* receiving a request body */
    CS_STREAM,    /* an SSE subscriber */
    CS_UPGRADED,  /* taken over by another protocol (struct serve_upgrade) */
    CS_CLOSING,   /* flushing the last response, then FIN */
    CS_LINGER,    /* FIN sent: discarding input until the client closes */
    CS_DEAD,      /* closed; memory freed at the end of the round */
};

struct conn;

/* A protocol that takes over a connection after its request: WebSocket's
 * GET /ws and GET /echo will be one. Its route handler queues the 101
 * response, sets c->upgrade (and c->upgrade_ud) and state CS_UPGRADED; from
 * then on bytes read (those already read past the head first) go to
 * on_data, output goes through the connection's queue (conn_send), and
 * on_shutdown runs when the server stops (send close 1001 there, then
 * conn_finish). Returning < 0 from on_data closes the connection. */
struct serve_upgrade {
    int (*on_data)(struct conn *c, const char *p, size_t n);
    void (*on_shutdown)(struct conn *c);
    void (*on_close)(struct conn *c);
};

struct conn {
    serve_t *srv;
    transport_t io; /* owns the socket and TLS state */
    enum conn_state state;
    bool reject;        /* over --max-connections: answer 503 */
    bool write_blocked; /* the last write would have blocked: wait for writability */
    bool dirty;         /* on srv->dirty: to flush at the end of the round */
    bool read_paused;   /* pipelined responses pile up: stop reading */
    bool keep_alive;    /* the current request allows another after it */
    bool waiting;       /* idle between requests: the idle timeout runs */
    bool subscribed;    /* on srv->subs */
    bool ws_subscribed; /* on srv->ws_subs */

    http_request_t *req; /* owned; NULL once streaming */
    buf_t in;            /* owned: bytes read and not yet parsed */
    buf_t body;          /* owned: the request body so far */
    http_request_chunked_t chunk;
    int64_t body_left;  /* Content-Length bytes still to come; -1 chunked */
    sendq_t out;         /* owned references: what is queued for the client */
    loop_timer_t timer; /* the current state's timeout; in a playback, the next message's time */

    /* Playback mode: this client's own run through the recording. */
    size_t pb_next;    /* index of the next message */
    uint64_t pb_start; /* mono_ns() when the stream opened: time pb_t0 of the recording */
    double pb_t0;      /* 0, or the time of the event a resume starts after */
    bool pb_blocked;   /* over --max-queue: resumed by conn_flush once half of it went out */
    bool pb_closed;    /* WebSocket: our close is sent, the client's answer is awaited */

    const struct route *route; /* of the request being received */
    const struct serve_upgrade *upgrade;
    void *upgrade_ud;

    struct conn *prev, *next;         /* srv->conns */
    struct conn *sub_prev, *sub_next; /* srv->subs */
    struct conn *ws_prev, *ws_next;   /* srv->ws_subs */
    struct conn *dirty_next;          /* srv->dirty */
    struct conn *dead_next;           /* srv->dead */
    char peer[INET6_ADDRSTRLEN + 10];
};

struct serve {
    loop_t *loop;
    serve_config_t cfg;
    int lfd;
    SSL_CTX *tls; /* owned; NULL for plain http */
    channel_t *ch;
    char local[INET6_ADDRSTRLEN + 10];

    struct conn *conns; /* owned: every live connection */
    size_t nconns;
    struct conn *subs;    /* the SSE subscribers among them */
    struct conn *ws_subs; /* the /ws subscribers among them */
    struct conn *dirty;
    struct conn *dead; /* owned: closed, to free */

    loop_timer_t defer_timer; /* end of round: flush dirty, free dead */
    loop_timer_t tick_timer;  /* tick events */
    loop_timer_t keepalive_timer;
    loop_timer_t accept_timer; /* resume accepting after EMFILE */
    loop_timer_t warn_timer;   /* rate-limited drop warnings */
    loop_timer_t stop_timer;   /* graceful stop's deadline */
    uint64_t tick_seq;
    uint64_t last_warn_ns, last_accept_warn_ns;
    uint64_t drops_unreported;
    uint64_t refusals_unreported;
    bool stopping;

    /* Playback mode: each played message formatted once (an SSE event, or
     * an unmasked WebSocket frame) and shared by every client's queue. */
    sendq_buf_t **pb_bufs; /* owned: one reference per message (NULL: not played) */
    playback_end_t pb_end;
    char pb_reason[128]; /* the WebSocket close's reason, NUL-terminated */

    char date[40]; /* the Date header's value, updated once a second */
    time_t date_sec;
    serve_stats_t stats;
};

static void conn_on_io(loop_t *l, int fd, unsigned events, void *ud);
static void conn_read(struct conn *c);
static void conn_process(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_close(struct conn *c, const char *why);
static void pb_begin(struct conn *c, size_t first);
static void pb_pump(struct conn *c);

/* ---- small helpers ---- */

static void defer(serve_t *s)
{
    if (!loop_timer_armed(&s->defer_timer))
        loop_timer_arm(s->loop, &s->defer_timer, 0);
}

static const char *http_date(serve_t *s)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = (time_t)(real_ns() / 1000000000u);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        /* By hand: strftime's names follow the locale. */
        snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        s->date_sec = now;
    }
    return s->date;
}

static const char *status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* ---- lists ---- */

static void subs_add(serve_t *s, struct conn *c)
{
    c->sub_prev = NULL;
    c->sub_next = s->subs;
    if (s->subs)
        s->subs->sub_prev = c;
    s->subs = c;
    c->subscribed = true;
    s->stats.subscribers++;
}

static void subs_remove(serve_t *s, struct conn *c)
{
    if (!c->subscribed)
        return;
    if (c->sub_prev)
        c->sub_prev->sub_next = c->sub_next;
    else
        s->subs = c->sub_next;
    if (c->sub_next)
        c->sub_next->sub_prev = c->sub_prev;
    c->subscribed = false;
    s->stats.subscribers--;
}

static void ws_subs_add(serve_t *s, struct conn *c)
{
    c->ws_prev = NULL;
    c->ws_next = s->ws_subs;
    if (s->ws_subs)
        s->ws_subs->ws_prev = c;
    s->ws_subs = c;
    c->ws_subscribed = true;
}

static void ws_subs_remove(serve_t *s, struct conn *c)
{
    if (!c->ws_subscribed)
        return;
    if (c->ws_prev)
        c->ws_prev->ws_next = c->ws_next;
    else
        s->ws_subs = c->ws_next;
    if (c->ws_next)
        c->ws_next->ws_prev = c->ws_prev;
    c->ws_subscribed = false;
}

static void mark_dirty(struct conn *c)
{
    if (c->dirty || c->write_blocked || c->state == CS_DEAD)
        return;
    c->dirty = true;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
    defer(c->srv);
}

/* ---- poll interest: derived from the state, in one place ---- */

static void conn_update_interest(struct conn *c)
{
    if (c->state == CS_DEAD)
        return;
    bool want_read;
    switch (c->state) {
    case CS_HANDSHAKE:
        loop_fd_mod(c->srv->loop, c->io.fd, c->io.read_wants);
        return;
    case CS_HEAD:
    case CS_BODY:
        want_read = !c->read_paused;
        break;
    case CS_UPGRADED:
        want_read = !c->read_paused;
        break;
    case CS_CLOSING:
        want_read = false; /* hangups are reported anyway */
        break;
    default:
        want_read = true;
    }
    unsigned mask = want_read ? c->io.read_wants : 0;
    if (c->write_blocked && sendq_pending(&c->out) > 0)
        mask |= c->io.write_wants;
    loop_fd_mod(c->srv->loop, c->io.fd, mask);
}

/* ---- responses ---- */

/* Queues bytes of this connection's own (not shared). */
static void conn_send(struct conn *c, const void *p, size_t n)
{
    sendq_push_owned(&c->out, sendq_buf_copy(p, n));
    mark_dirty(c);
}

static void log_request(struct conn *c, int status, const char *note)
{
    if (diag_level < 1)
        return;
    const http_request_info_t *in = c->req ? http_request_info(c->req) : NULL;
    diag_verbose("%s %s %s %d%s%s", c->peer, in ? in->method : "-", in ? in->target : "-", status,
                note && note[0] ? " " : "", note ? note : "");
}

/* Queues a complete response: status line, common headers, extra (each line
 * ending in CRLF), and a body with its Content-Length. A HEAD request gets
 * the headers only. close: ends the connection after it. */
static void respond(struct conn *c, int status, const char *extra, const char *ctype,
                    const char *body, size_t blen, bool close)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\nAccess-Control-Allow-Origin: *\r\n", status,
               status_text(status), http_date(c->srv));
    if (extra)
        buf_puts(&b, extra);
    if (status != 204 && status >= 200) {
        if (ctype)
            buf_printf(&b, "Content-Type: %s\r\n", ctype);
        buf_printf(&b, "Content-Length: %zu\r\n", blen);
    }
    const http_request_info_t *in = c->req ? http_request_info(c->req) : NULL;
    if (close)
        buf_puts(&b, "Connection: close\r\n");
    else if (in && in->version_minor == 0)
        buf_puts(&b, "Connection: keep-alive\r\n");
    buf_puts(&b, "\r\n");
    bool head = in && strcmp(in->method, "HEAD") == 0;
    if (!head && status != 204 && blen)
        buf_append(&b, body, blen);
    conn_send(c, b.p, b.len);
    buf_free(&b);
    if (close)
        c->keep_alive = false;
}

/* Enters CS_CLOSING: the queued output goes out, then FIN and linger. */
static void conn_finish(struct conn *c)
{
    if (c->state == CS_DEAD || c->state == CS_CLOSING || c->state == CS_LINGER)
        return;
    subs_remove(c->srv, c);
    c->state = CS_CLOSING;
    c->read_paused = true;
    loop_timer_arm_ms(c->srv->loop, &c->timer, CLOSING_MS);
    mark_dirty(c);
    if (sendq_pending(&c->out) == 0)
        conn_flush(c); /* nothing to send: straight to FIN */
}

/* An error answer; the connection closes after it. */
static void respond_error(struct conn *c, int status, const char *why, const char *extra)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status, status_text(status),
                     why && why[0] ? ": " : "", why ? why : "");
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)strlen(body);
    log_request(c, status, why);
    respond(c, status, extra, "text/plain; charset=utf-8", body, (size_t)n, true);
    conn_finish(c);
}

/* ---- routes ---- */

typedef void (*route_fn)(struct conn *c);

static void route_sse(struct conn *c);
static void route_publish(struct conn *c);
static void route_options(struct conn *c);
static void route_ws(struct conn *c);
static void route_echo(struct conn *c);

/* The dispatch table: a path with a method per row. A known path with
 * another method gets 405 with Allow built from its rows. takes_body: the
 * request body is read (bounded by --max-message) before the handler runs;
 * otherwise a request with a body is answered and the connection closed. */
static const struct route {
    const char *method;
    const char *path;
    route_fn fn;
    bool takes_body;
} routes[] = {
    {"GET", "/sse", route_sse, false},         {"OPTIONS", "/sse", route_options, false},
    {"POST", "/publish", route_publish, true}, {"OPTIONS", "/publish", route_options, false},
    {"GET", "/ws", route_ws, false},           {"GET", "/echo", route_echo, false},
};

/* The route for method and path; NULL with *allow filled when the path is
 * known under other methods, NULL with allow empty when it is not. */
static const struct route *route_find(const char *method, const char *path, char *allow,
                                      size_t allow_len)
{
    allow[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        size_t used = strlen(allow);
        snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", routes[i].method);
    }
    return NULL;
}

/* ---- fan-out ---- */

static void warn_drops(serve_t *s)
{
    if (!s->drops_unreported)
        return;
    char q[32];
    if (s->cfg.max_queue % (1024 * 1024) == 0)
        snprintf(q, sizeof(q), "%zuM", s->cfg.max_queue / (1024 * 1024));
    else if (s->cfg.max_queue % 1024 == 0)
        snprintf(q, sizeof(q), "%zuk", s->cfg.max_queue / 1024);
    else
        snprintf(q, sizeof(q), "%zu", s->cfg.max_queue);
    diag_warn("serve: dropped %llu subscriber%s that stopped reading (over --max-queue %s; "
             "%llu in all)",
             (unsigned long long)s->drops_unreported, s->drops_unreported == 1 ? "" : "s", q,
             (unsigned long long)s->stats.dropped);
    s->drops_unreported = 0;
    s->last_warn_ns = loop_now(s->loop);
}

/* Refused connections are the other thing an operator must hear about: a
 * server at --max-connections turns clients away, and -v's one line per
 * 503 is not on by default (nor written for those closed beyond the 503s). */
static void warn_refusals(serve_t *s)
{
    if (!s->refusals_unreported)
        return;
    diag_warn("serve: refused %llu connection%s over --max-connections %zu (%llu in all)",
             (unsigned long long)s->refusals_unreported, s->refusals_unreported == 1 ? "" : "s",
             s->cfg.max_connections, (unsigned long long)s->stats.rejected);
    s->refusals_unreported = 0;
    s->last_warn_ns = loop_now(s->loop);
}

static void warn_pending(serve_t *s)
{
    warn_drops(s);
    warn_refusals(s);
}

static void on_warn_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    warn_pending(ud);
}

/* Warns now, or once WARN_INTERVAL_NS has passed since the last warning. */
static void warn_soon(serve_t *s)
{
    if (loop_timer_armed(&s->warn_timer))
        return;
    uint64_t now = loop_now(s->loop);
    if (s->last_warn_ns == 0 || now - s->last_warn_ns >= WARN_INTERVAL_NS)
        warn_pending(s);
    else
        loop_timer_arm_at(s->loop, &s->warn_timer, s->last_warn_ns + WARN_INTERVAL_NS);
}

/* Counts a subscriber dropped for not reading, and warns (rate-limited). */
static void note_drop(serve_t *s)
{
    s->stats.dropped++;
    s->drops_unreported++;
    warn_soon(s);
}

/* Counts a connection over --max-connections, and warns (rate-limited). */
static void note_refusal(serve_t *s)
{
    s->stats.rejected++;
    s->refusals_unreported++;
    warn_soon(s);
}

static void conn_drop(struct conn *c)
{
    serve_t *s = c->srv;
    diag_verbose("%s dropped: %zu bytes pending (over --max-queue)", c->peer, sendq_pending(&c->out));
    /* An abortive close: the kernel's send buffer (megabytes for a stalled
     * peer) is freed now instead of waiting for a reader that is not there. */
    struct linger lg = {1, 0};
    setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    conn_close(c, NULL);
    note_drop(s);
}

static void ws_drop(struct conn *c);

/* Queues a shared buffer on every subscriber. */
static void broadcast(serve_t *s, sendq_buf_t *b)
{
    struct conn *next;
    for (struct conn *c = s->subs; c; c = next) {
        next = c->sub_next;
        sendq_push(&c->out, b);
        if (sendq_pending(&c->out) > s->cfg.max_queue)
            conn_drop(c);
        else
            mark_dirty(c);
    }
}

/* An unmasked server frame (FIN set) around payload, ready to share. */
static sendq_buf_t *ws_frame_new(unsigned opcode, const void *payload, size_t n)
{
    uint8_t h[10];
    size_t hl = 0;
    h[hl++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        h[hl++] = (uint8_t)n;
    } else if (n < 65536) {
        h[hl++] = 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    sendq_buf_t *b = sendq_buf_new(hl + n);
    memcpy(b->data, h, hl);
    if (n)
        memcpy(b->data + hl, payload, n);
    return b;
}

/* Fan-out to /ws subscribers, the WebSocket twin of broadcast().
 *
 * A server's frames are not masked, so one event's frame is the same bytes
 * for every subscriber: it is built once (ws_frame_new) and each queue gets
 * a reference, as SSE events do, instead of N copies through N wslay
 * queues. What makes it safe to put these bytes on a queue that wslay also
 * writes to: wslay's send callback (ws_on_send) takes every byte it is
 * given into the same queue, never a short write and never EAGAIN, so a
 * wslay call never leaves half a frame behind; between wslay calls the
 * queue always ends on a frame boundary, and a broadcast frame appended
 * there cannot split one of wslay's frames (its pongs, closes, echoes). The
 * connection's bound is the queue's size (--max-queue) rather than the
 * socket's: a subscriber over it is dropped (ws_drop). */
static void ws_broadcast(serve_t *s, sendq_buf_t *b)
{
    struct conn *next;
    for (struct conn *c = s->ws_subs; c; c = next) {
        next = c->ws_next;
        sendq_push(&c->out, b);
        if (sendq_pending(&c->out) > s->cfg.max_queue)
            ws_drop(c);
        else
            mark_dirty(c);
    }
}

static uint64_t publish(serve_t *s, const char *type, size_t tlen, const char *data, size_t dlen)
{
    const channel_event_t *ev = channel_publish(s->ch, type, tlen, data, dlen);
    broadcast(s, ev->sse);
    if (s->ws_subs) {
        sendq_buf_t *f = ws_frame_new(0x1, ev->data, ev->data_len);
        ws_broadcast(s, f);
        sendq_buf_unref(f);
    }
    return ev->seq;
}

static void on_tick(loop_t *l, loop_timer_t *t, void *ud)
{
    serve_t *s = ud;
    char data[80];
    int n = snprintf(data, sizeof(data), "{\"seq\":%llu,\"ts_ns\":%llu}",
                     (unsigned long long)++s->tick_seq, (unsigned long long)real_ns());
    publish(s, "tick", 4, data, (size_t)n);
    s->stats.ticks++;
    /* On a fixed grid (no drift); after a stall, skip ahead, no burst. */
    uint64_t period = s->cfg.tick_ms * 1000000u, due = t->due_ns + period, now = mono_ns();
    if (due <= now)
        due = now + period;
    loop_timer_arm_at(l, t, due);
}

static void on_keepalive(loop_t *l, loop_timer_t *t, void *ud)
{
    serve_t *s = ud;
    if (s->subs) {
        static const char comment[] = ": keepalive\n\n";
        sendq_buf_t *b = sendq_buf_copy(comment, sizeof(comment) - 1);
        broadcast(s, b);
        sendq_buf_unref(b);
    }
    if (s->ws_subs) { /* WebSocket's own keepalive: an empty ping */
        sendq_buf_t *b = ws_frame_new(0x9, NULL, 0);
        ws_broadcast(s, b);
        sendq_buf_unref(b);
    }
    loop_timer_arm_ms(l, t, s->cfg.keepalive_ms);
}

/* ---- handlers ---- */

static void route_options(struct conn *c)
{
    const http_request_info_t *in = http_request_info(c->req);
    char allow[64];
    route_find("", in->path, allow, sizeof(allow));
    size_t hlen;
    const char *req_headers = http_request_header(in, "access-control-request-headers", &hlen);
    buf_t extra;
    buf_init(&extra);
    buf_printf(&extra,
               "Allow: %s\r\nAccess-Control-Allow-Methods: %s\r\n"
               "Access-Control-Allow-Headers: %s\r\nAccess-Control-Max-Age: 86400\r\n",
               allow, allow, req_headers && hlen ? req_headers : "Content-Type, Last-Event-ID");
    log_request(c, 204, NULL);
    respond(c, 204, extra.p, NULL, NULL, 0, !c->keep_alive);
    buf_free(&extra);
}

static void route_publish(struct conn *c)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);
    buf_t type;
    buf_init(&type);
    int rc = http_request_query_param(in->query, in->query_len, "event", &type);
    const char *why = NULL;
    if (rc < 0)
        why = "bad %-escape in event type";
    else if (rc > 0 && (memchr(type.p, '\r', type.len) || memchr(type.p, '\n', type.len) ||
                        memchr(type.p, '\0', type.len)))
        why = "event type contains CR, LF or NUL";
    else if (rc > 0 && !utf8_valid(type.p, type.len))
        why = "event type is not UTF-8";
    else if (!utf8_valid(c->body.p, c->body.len))
        why = "body is not UTF-8 (an event stream is UTF-8 text)";
    if (why) {
        buf_free(&type);
        respond_error(c, 400, why, NULL);
        return;
    }
    if (rc == 0 || type.len == 0) {
        buf_reset(&type);
        buf_puts(&type, "message");
    }
    uint64_t id = publish(s, type.p, type.len, c->body.p ? c->body.p : "", c->body.len);
    s->stats.published++;
    buf_free(&type);

    char body[48];
    int n = snprintf(body, sizeof(body), "{\"id\":%llu}\n", (unsigned long long)id);
    char note[40];
    snprintf(note, sizeof(note), "id=%llu", (unsigned long long)id);
    log_request(c, 202, note);
    respond(c, 202, NULL, "application/json", body, (size_t)n, !c->keep_alive);
}

/* The head of an event stream, and the retry: field when asked. */
static void stream_head(struct conn *c, bool retry)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/event-stream\r\n"
               "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\n"
               "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n",
               http_date(c->srv));
    if (retry)
        buf_printf(&b, "retry: %llu\n\n", (unsigned long long)c->srv->cfg.retry_ms);
    conn_send(c, b.p, b.len);
    buf_free(&b);
}

/* A request becomes a stream: the request parser and buffers are not
 * needed any more, an idle subscriber keeps only the connection struct
 * and its queue. */
static void enter_stream(struct conn *c)
{
    c->state = CS_STREAM;
    loop_timer_stop(c->srv->loop, &c->timer);
    http_request_free(c->req);
    c->req = NULL;
    buf_free(&c->in);
    buf_free(&c->body);
}

static void route_sse(struct conn *c)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);

    /* Close-delimited for HTTP/1.1 as for 1.0 (Connection: close, no
     * chunking): a stream never ends by itself, so the connection could not
     * carry another request anyway; every subscriber gets identical bytes,
     * so one formatted buffer per event serves them all with no per-write
     * chunk framing; browsers' EventSource, curl and every SSE client read
     * to EOF. X-Accel-Buffering keeps nginx-style proxies from buffering. */
    stream_head(c, true);
    buf_t b;
    buf_init(&b);

    /* Resume: the Last-Event-ID header (what EventSource sends), else a
     * lastEventId query parameter (for clients that cannot set headers). */
    size_t idlen = 0;
    const char *id = http_request_header(in, "last-event-id", &idlen);
    buf_reset(&b);
    if (!id && http_request_query_param(in->query, in->query_len, "lastEventId", &b) > 0) {
        id = b.p;
        idlen = b.len;
    }
    char note[96] = "";
    if (id) {
        size_t first;
        int kind = channel_resume(s->ch, id, idlen, &first);
        size_t n = channel_history_len(s->ch);
        for (size_t i = first; i < n; i++)
            sendq_push(&c->out, channel_history_at(s->ch, i)->sse);
        bool printable = idlen <= 24;
        for (size_t i = 0; i < idlen && printable; i++)
            printable = id[i] > 0x20 && id[i] < 0x7f;
        snprintf(note, sizeof(note), "last-event-id=%.*s replay=%zu%s", printable ? (int)idlen : 1,
                 printable ? id : "?", n - first,
                 kind == CHANNEL_RESUME_GAP    ? " (gap: older than history)"
                 : kind == CHANNEL_RESUME_NONE ? " (unknown id)"
                                               : "");
    }
    buf_free(&b);
    log_request(c, 200, note);

    enter_stream(c);
    subs_add(s, c);
    mark_dirty(c);
}

/* ---- WebSocket: GET /ws and GET /echo ---- */

/* The connection after its 101: a wslay session whose transport is the
 * connection itself. Input: on_data hands each read to the session through
 * ws_on_recv. Output: ws_on_send copies into the connection's queue, which
 * conn_flush writes like any other (see ws_broadcast for why that matters). */
enum ws_kind { WSK_CHANNEL, WSK_ECHO, WSK_PLAYBACK };

struct ws_conn {
    ws_session_t *sess; /* owned */
    enum ws_kind kind;
    const char *in; /* the read being fed to the session, during on_data */
    size_t in_len;
    bool busy;         /* inside the session: freeing waits until it returns */
    bool free_pending; /* the connection closed meanwhile */
    bool done;         /* closed, failed or dropped: the session gets no more input */
};

static ssize_t ws_on_recv(void *ud, uint8_t *p, size_t n)
{
    struct conn *c = ud;
    struct ws_conn *w = c->upgrade_ud;
    if (w->in_len == 0)
        return WS_IO_AGAIN;
    size_t k = n < w->in_len ? n : w->in_len;
    memcpy(p, w->in, k);
    w->in += k;
    w->in_len -= k;
    return (ssize_t)k;
}

static ssize_t ws_on_send(void *ud, const uint8_t *p, size_t n)
{
    struct conn *c = ud;
    /* Always all of it (see ws_broadcast); the queue's bound is checked
     * after each round of input. */
    if (c->state == CS_UPGRADED) /* after a drop or the end: nothing more */
        conn_send(c, p, n);
    return (ssize_t)n;
}

static void ws_on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt)
{
    (void)rtt;
    struct conn *c = ud;
    struct ws_conn *w = c->upgrade_ud;
    serve_t *s = c->srv;
    if ((type != WS_TEXT && type != WS_BINARY) || w->done)
        return; /* pings are answered by wslay; pongs need nothing */
    s->stats.ws_messages++;
    if (w->kind == WSK_PLAYBACK)
        return; /* what a playback's client says changes nothing */
    if (w->kind == WSK_ECHO) {
        ws_session_send(w->sess, type, p, n);
        return;
    }
    if (type == WS_BINARY) {
        /* The channel carries text (SSE cannot carry binary); closing the
         * connection over it would be harsher than useful. */
        s->stats.ws_binary_ignored++;
        return;
    }
    if (s->stopping)
        return;
    publish(s, "message", 7, (const char *)p, n);
    s->stats.published++;
}

static void ws_on_peer_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    struct conn *c = ud;
    diag_verbose("%s WebSocket close from the client: %u (%s)%s%.*s", c->peer, code,
                ws_close_code_name(code), len ? " " : "", (int)(len > 80 ? 80 : len), reason);
}

static const ws_session_callbacks_t ws_callbacks = {ws_on_send, ws_on_recv, ws_on_message,
                                                    ws_on_peer_close};

static void ws_free(struct ws_conn *w)
{
    ws_session_free(w->sess);
    free(w);
}

/* After the session ran: end the connection once the session is over, and
 * hold a client's input while what answers it piles up: an /echo client's
 * echoes, and on every endpoint the pongs of a client that pings without
 * reading (wslay answers each ping into the queue, which only a broadcast
 * would otherwise bound, and there may be none: --tick 0). */
static void ws_after(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    if (w->done || c->state != CS_UPGRADED)
        return;
    ws_session_state_t st = ws_session_state(w->sess);
    if (st == WS_SESSION_CLOSED) {
        w->done = true;
        ws_subs_remove(c->srv, c);
        conn_finish(c); /* our close is queued: flush it, then FIN (the server closes first) */
        return;
    }
    if (st == WS_SESSION_FAILED) {
        w->done = true;
        ws_subs_remove(c->srv, c);
        uint16_t code = 0;
        const char *why = ws_session_error(w->sess, &code);
        if (code) {
            diag_verbose("%s WebSocket closed with %u: %s", c->peer, code, why);
            conn_finish(c);
        } else {
            conn_close(c, why);
        }
        return;
    }
    if (sendq_pending(&c->out) > c->srv->cfg.max_queue)
        c->read_paused = true; /* resumed by conn_flush */
}

static int ws_on_data(struct conn *c, const char *p, size_t n)
{
    struct ws_conn *w = c->upgrade_ud;
    if (w->done)
        return 0;
    w->in = p;
    w->in_len = n;
    w->busy = true;
    ws_session_read(w->sess);
    w->busy = false;
    w->in_len = 0;
    if (w->free_pending) { /* dropped while publishing to itself */
        ws_free(w);
        c->upgrade_ud = NULL;
        return 0;
    }
    ws_after(c);
    return 0;
}

static void ws_on_shutdown(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    ws_subs_remove(c->srv, c);
    loop_timer_stop(c->srv->loop, &c->timer); /* a playback plays no more */
    c->pb_closed = true;
    if (!w->done && ws_session_close(w->sess, 1001, "server shutting down") == 0) {
        /* Wait for the client's close (bounded by serve_stop's grace). */
        ws_session_write(w->sess);
        return;
    }
    w->done = true;
    conn_finish(c);
}

static void ws_on_close(struct conn *c)
{
    struct ws_conn *w = c->upgrade_ud;
    ws_subs_remove(c->srv, c);
    c->srv->stats.ws_clients--;
    if (!w)
        return;
    if (w->busy) {
        w->free_pending = true;
        return;
    }
    ws_free(w);
    c->upgrade_ud = NULL;
}

static const struct serve_upgrade ws_upgrade = {ws_on_data, ws_on_shutdown, ws_on_close};

/* A /ws subscriber that stopped reading: close 1008 after the frame being
 * written (best effort: it reaches a client that reads again within
 * CLOSING_MS), everything else queued is dropped now. */
static void ws_drop(struct conn *c)
{
    serve_t *s = c->srv;
    struct ws_conn *w = c->upgrade_ud;
    diag_verbose("%s dropped: %zu bytes pending (over --max-queue)", c->peer, sendq_pending(&c->out));
    ws_subs_remove(s, c);
    w->done = true;
    sendq_drop_unstarted(&c->out);
    static const char reason[] = "\x03\xf0"
                                 "client too slow (over --max-queue)";
    sendq_push_owned(&c->out, ws_frame_new(0x8, reason, sizeof(reason) - 1));
    conn_finish(c);
    note_drop(s);
}

/* Both routes: check the upgrade (400, or 426 for a plain GET or another
 * version), answer 101, hand the connection to a session. */
static void route_upgrade(struct conn *c, enum ws_kind kind)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);
    const char *upgrade = http_request_header(in, "upgrade", NULL);
    if (!upgrade) {
        respond_error(c, 426, "this is a WebSocket endpoint: connect with a WebSocket client",
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        return;
    }
    if (in->version_minor == 0) {
        respond_error(c, 400, "a WebSocket upgrade needs HTTP/1.1", NULL);
        return;
    }
    /* RFC 6455 section 11.3: each may appear once in a request; which of
     * two keys would the client check the accept against? */
    if (http_request_header_count(in, "sec-websocket-key") > 1 ||
        http_request_header_count(in, "sec-websocket-version") > 1) {
        respond_error(c, 400, "Sec-WebSocket-Key or Sec-WebSocket-Version sent more than once",
                      NULL);
        return;
    }
    char accept[WS_ACCEPT_LEN + 1];
    const char *why = NULL;
    bool version_only = false;
    if (ws_check_upgrade(upgrade, in->upgrade ? "upgrade" : NULL,
                         http_request_header(in, "sec-websocket-version", NULL),
                         http_request_header(in, "sec-websocket-key", NULL), accept, &why,
                         &version_only) < 0) {
        if (version_only)
            respond_error(c, 426, why, "Sec-WebSocket-Version: 13\r\n");
        else
            respond_error(c, 400, why, NULL);
        return;
    }
    /* No subprotocol is ever selected and no extension accepted: a client
     * that requires one fails its own check, which is right. */
    buf_t b;
    buf_init(&b);
    ws_build_101(&b, accept, NULL);
    conn_send(c, b.p, b.len);
    buf_free(&b);
    log_request(c, 101,
                kind == WSK_ECHO       ? "websocket echo"
                : kind == WSK_PLAYBACK ? "websocket playback"
                                       : "websocket");

    struct ws_conn *w = xcalloc(1, sizeof(*w));
    w->kind = kind;
    w->sess = ws_session_new(true, s->cfg.max_message, &ws_callbacks, c);
    c->upgrade = &ws_upgrade;
    c->upgrade_ud = w;
    c->state = CS_UPGRADED;
    /* Bytes after the head (frames sent before our 101) stay in c->in:
     * conn_process gives them to on_data next. */
    loop_timer_stop(s->loop, &c->timer);
    http_request_free(c->req);
    c->req = NULL;
    buf_free(&c->body);
    s->stats.ws_connections++;
    s->stats.ws_clients++;
    if (kind == WSK_CHANNEL)
        ws_subs_add(s, c);
    mark_dirty(c);
    if (kind == WSK_PLAYBACK)
        pb_begin(c, 0);
}

static void route_ws(struct conn *c)
{
    route_upgrade(c, WSK_CHANNEL);
}

static void route_echo(struct conn *c)
{
    route_upgrade(c, WSK_ECHO);
}

/* ---- playback: `evcat replay FILE --serve` ---- */

/* Each client runs through the recording on its own: the index of its next
 * message and one timer (the connection's) armed for that message's time.
 * Queueing stops over --max-queue and resumes from conn_flush: a slow
 * client gets its playback late, never cut short. */

static void pb_begin(struct conn *c, size_t first)
{
    serve_t *s = c->srv;
    const recording_t *r = s->cfg.playback;
    c->pb_next = first;
    c->pb_t0 = first ? r->msgs[first - 1].t : 0;
    c->pb_start = mono_ns();
    s->stats.playbacks++;
    pb_pump(c);
}

/* When message i (or the close at i) is due; 0 = now. */
static uint64_t pb_due(const struct conn *c, size_t i)
{
    const serve_t *s = c->srv;
    if (s->cfg.no_timing)
        return 0;
    return c->pb_start + playback_delay_ns(s->cfg.playback->msgs[i].t, c->pb_t0, s->cfg.speed);
}

/* The end of a WebSocket playback: our close, then the client's answer
 * (ws_after finishes the connection), awaited CLOSING_MS. */
static void pb_ws_close(struct conn *c)
{
    serve_t *s = c->srv;
    struct ws_conn *w = c->upgrade_ud;
    c->pb_closed = true;
    uint16_t code = s->pb_end.code;
    if (ws_session_close(w->sess, code, s->pb_reason) < 0 && code != 1000 &&
        ws_session_state(w->sess) == WS_SESSION_OPEN) {
        /* wslay refuses a few codes servers do send (1012-1014). */
        diag_verbose("%s close %u cannot be sent: 1000 instead", c->peer, code);
        ws_session_close(w->sess, 1000, s->pb_reason);
    }
    ws_session_write(w->sess);
    loop_timer_arm_ms(s->loop, &c->timer, CLOSING_MS);
    ws_after(c);
}

/* Queues what is due, then arms the timer for what is not. */
static void pb_pump(struct conn *c)
{
    serve_t *s = c->srv;
    bool ws = c->state == CS_UPGRADED;
    if (s->stopping || c->pb_closed || (c->state != CS_STREAM && !ws))
        return;
    if (ws) {
        struct ws_conn *w = c->upgrade_ud;
        if (!w || w->done || ws_session_state(w->sess) != WS_SESSION_OPEN)
            return;
    }
    uint64_t now = mono_ns();
    size_t end = s->pb_end.end;
    while (c->pb_next < end) {
        if (sendq_pending(&c->out) > s->cfg.max_queue) {
            c->pb_blocked = true;
            return;
        }
        uint64_t due = pb_due(c, c->pb_next);
        if (due > now) {
            loop_timer_arm_at(s->loop, &c->timer, due);
            return;
        }
        sendq_buf_t *b = s->pb_bufs[c->pb_next++];
        if (b) {
            sendq_push(&c->out, b);
            s->stats.played++;
            mark_dirty(c);
        }
    }
    if (!ws) {
        conn_finish(c); /* the response ends with the recording */
        return;
    }
    if (s->pb_end.recorded) {
        uint64_t due = pb_due(c, end);
        if (due > now) {
            loop_timer_arm_at(s->loop, &c->timer, due);
            return;
        }
    }
    pb_ws_close(c);
}

/* Any GET: what the recording is, if the request asks for it. */
static void route_playback(struct conn *c)
{
    serve_t *s = c->srv;
    const http_request_info_t *in = http_request_info(c->req);
    bool upgrade = http_request_header(in, "upgrade", NULL) != NULL;
    if (s->cfg.playback->proto == REC_WS) {
        if (!upgrade) {
            respond_error(c, 426,
                          "this server plays a WebSocket recording: connect with a WebSocket "
                          "client",
                          "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
            return;
        }
        route_upgrade(c, WSK_PLAYBACK);
        return;
    }
    if (upgrade) {
        respond_error(c, 400,
                      "this server plays an SSE recording: request it as an event stream, "
                      "without Upgrade",
                      NULL);
        return;
    }
    /* An EventSource reconnects when the stream ends, with the last id it
     * got: it resumes after that event, and once nothing is left, 204 tells
     * it to stop (as it tells evcat listen). */
    size_t idlen = 0;
    const char *id = http_request_header(in, "last-event-id", &idlen);
    size_t first = id ? playback_resume(s->cfg.playback, id, idlen) : 0;
    if (first && first >= s->pb_end.end) {
        log_request(c, 204, "playback over");
        respond(c, 204, NULL, NULL, NULL, 0, !c->keep_alive);
        return;
    }
    char note[48] = "playback";
    if (first)
        snprintf(note, sizeof(note), "playback from message %zu", first + 1);
    log_request(c, 200, note);
    stream_head(c, false);
    enter_stream(c);
    mark_dirty(c);
    pb_begin(c, first);
}

static const struct route playback_route = {"GET", "*", route_playback, false};

/* ---- request flow ---- */

/* The request is answered: the next one, or the end. */
static void request_done(struct conn *c)
{
    if (c->state == CS_DEAD || c->state == CS_CLOSING || c->state == CS_LINGER)
        return;
    if (!c->keep_alive || c->srv->stopping) {
        conn_finish(c);
        return;
    }
    http_request_reset(c->req);
    buf_reset(&c->body);
    buf_shrink(&c->body, 64 * 1024);
    buf_shrink(&c->in, 4096);
    c->state = CS_HEAD;
    c->waiting = c->in.len == 0;
    loop_timer_arm_ms(c->srv->loop, &c->timer,
                      c->waiting ? c->srv->cfg.idle_timeout_ms : c->srv->cfg.header_timeout_ms);
}

/* The request (and its body) is complete: its handler answers it. */
static void dispatch(struct conn *c)
{
    c->srv->stats.requests++;
    c->route->fn(c);
    if (c->state == CS_HEAD || c->state == CS_BODY)
        request_done(c);
}

/* A complete head: route it, and read a body when one comes. */
static void on_head(struct conn *c)
{
    const http_request_info_t *in = http_request_info(c->req);
    bool has_body = in->chunked || in->content_length > 0;
    c->keep_alive = in->keep_alive;

    if (in->expect_other) {
        respond_error(c, 417, "only 100-continue is supported", NULL);
        return;
    }
    char allow[64];
    const struct route *r;
    if (c->srv->cfg.playback) { /* every path is the recording */
        r = strcmp(in->method, "GET") == 0 ? &playback_route : NULL;
        snprintf(allow, sizeof(allow), "GET");
    } else {
        r = route_find(in->method, in->path, allow, sizeof(allow));
    }
    if (!r && !has_body && !c->srv->cfg.playback && strcmp(in->path, "*") == 0) { /* OPTIONS * */
        c->srv->stats.requests++;
        log_request(c, 204, NULL);
        respond(c, 204, "Allow: GET, POST, OPTIONS\r\n", NULL, NULL, 0, !c->keep_alive);
        request_done(c);
        return;
    }
    if (!r) {
        char extra[96] = "";
        int status = 404;
        if (allow[0]) {
            status = 405;
            snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        }
        if (has_body) {
            /* Not read: the connection cannot carry another request. */
            respond_error(c, status, NULL, extra);
            return;
        }
        char body[64];
        int n = snprintf(body, sizeof(body), "%d %s\n", status, status_text(status));
        c->srv->stats.requests++;
        log_request(c, status, NULL);
        respond(c, status, extra, "text/plain; charset=utf-8", body, (size_t)n, !c->keep_alive);
        request_done(c);
        return;
    }
    c->route = r;
    if (has_body && !r->takes_body) {
        respond_error(c, 400, "unexpected request body", NULL);
        return;
    }
    if (!has_body) {
        dispatch(c);
        return;
    }
    if (in->content_length > (int64_t)c->srv->cfg.max_message) {
        respond_error(c, 413, "body larger than --max-message", NULL);
        return;
    }
    if (in->chunked) {
        http_request_chunked_init(&c->chunk, c->srv->cfg.max_message);
        c->body_left = -1;
    } else {
        c->body_left = in->content_length;
    }
    buf_reset(&c->body);
    c->state = CS_BODY;
    loop_timer_arm_ms(c->srv->loop, &c->timer, c->srv->cfg.header_timeout_ms);
    if (in->expect_continue && c->in.len == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        conn_send(c, cont, sizeof(cont) - 1);
    }
}

/* Parses what c->in holds, as far as the state allows. */
static void conn_process(struct conn *c)
{
    serve_t *s = c->srv;
    while (c->state != CS_DEAD) {
        if (c->state == CS_HEAD) {
            if (c->in.len == 0)
                return;
            if (sendq_pending(&c->out) > PIPELINE_OUT_MAX) {
                c->read_paused = true; /* resumed by conn_flush */
                return;
            }
            if (c->waiting) {
                c->waiting = false;
                loop_timer_arm_ms(s->loop, &c->timer, s->cfg.header_timeout_ms);
            }
            size_t used = 0;
            int rc = http_request_feed(c->req, c->in.p, c->in.len, &used);
            buf_consume(&c->in, used);
            if (rc == HTTP_REQUEST_AGAIN)
                return;
            if (rc < 0) {
                respond_error(c, http_request_status(rc), http_request_error(c->req), NULL);
                return;
            }
            on_head(c);
        } else if (c->state == CS_BODY) {
            if (c->in.len == 0)
                return;
            loop_timer_arm_ms(s->loop, &c->timer, s->cfg.header_timeout_ms);
            if (c->body_left >= 0) {
                size_t take = c->in.len < (uint64_t)c->body_left ? c->in.len : (size_t)c->body_left;
                buf_append(&c->body, c->in.p, take);
                buf_consume(&c->in, take);
                c->body_left -= (int64_t)take;
                if (c->body_left > 0)
                    return;
            } else {
                size_t used = 0;
                int rc = http_request_chunked_feed(&c->chunk, c->in.p, c->in.len, &c->body, &used);
                buf_consume(&c->in, used);
                if (rc == HTTP_REQUEST_AGAIN)
                    return;
                if (rc < 0) {
                    respond_error(c, http_request_status(rc), http_request_chunked_error(&c->chunk),
                                  NULL);
                    return;
                }
            }
            dispatch(c);
        } else if (c->state == CS_UPGRADED) {
            if (c->in.len) {
                int rc = c->upgrade->on_data(c, c->in.p, c->in.len);
                buf_reset(&c->in);
                if (rc < 0)
                    conn_close(c, "upgrade handler");
            }
            return;
        } else {
            /* A stream, or closing: what the client sends is ignored. */
            buf_reset(&c->in);
            return;
        }
    }
}

/* ---- I/O ---- */

static void conn_flush(struct conn *c)
{
    serve_t *s = c->srv;
    if (c->state == CS_DEAD || c->state == CS_HANDSHAKE)
        return;
    while (sendq_pending(&c->out) > 0) {
        struct iovec iov[IOV_BATCH];
        int n = sendq_iov(&c->out, iov, IOV_BATCH);
        ssize_t w = transport_writev(&c->io, iov, n);
        if (w == NETIO_AGAIN)
            break;
        if (w < 0) {
            conn_close(c, c->io.error);
            return;
        }
        sendq_consume(&c->out, (size_t)w);
    }
    c->write_blocked = sendq_pending(&c->out) > 0;
    if (!c->write_blocked) {
        sendq_shrink(&c->out);
        if (c->state == CS_CLOSING) {
            transport_shutdown(&c->io);
            c->state = CS_LINGER;
            loop_timer_arm_ms(s->loop, &c->timer, LINGER_MS);
        }
    }
    if (c->pb_blocked && sendq_pending(&c->out) <= c->srv->cfg.max_queue / 2) {
        c->pb_blocked = false;
        pb_pump(c);
        if (c->state == CS_DEAD)
            return;
    }
    if (c->read_paused && c->state == CS_UPGRADED &&
        sendq_pending(&c->out) <= c->srv->cfg.max_queue / 2) {
        c->read_paused = false;
        if (transport_pending(&c->io))
            conn_read(c); /* decrypted bytes that epoll will not announce */
        if (c->state == CS_DEAD)
            return;
    }
    if (c->read_paused && (c->state == CS_HEAD || c->state == CS_BODY) &&
        sendq_pending(&c->out) <= PIPELINE_OUT_MAX / 2) {
        c->read_paused = false;
        conn_process(c); /* pipelined requests already read */
        if (c->state == CS_DEAD)
            return;
        if (transport_pending(&c->io))
            conn_read(c); /* decrypted bytes that epoll will not announce */
        if (c->state == CS_DEAD)
            return;
    }
    conn_update_interest(c);
}

/* EOF from the client. */
static void conn_on_eof(struct conn *c)
{
    switch (c->state) {
    case CS_HEAD:
        /* A half-close after pipelined requests: answer them, then close. */
        if (sendq_pending(&c->out) > 0 && !http_request_started(c->req)) {
            c->keep_alive = false;
            conn_finish(c);
            return;
        }
        conn_close(c, http_request_started(c->req) ? "client closed mid-request" : NULL);
        return;
    case CS_BODY:
        conn_close(c, "client closed mid-body");
        return;
    case CS_STREAM:
        conn_close(c, "subscriber left");
        return;
    case CS_UPGRADED:
        conn_close(c, "WebSocket client left without a close frame");
        return;
    default:
        conn_close(c, NULL);
    }
}

static void conn_read(struct conn *c)
{
    /* Read on the stack, keep only what the parser has not taken: a GET
     * costs its own size, not a 16 KiB buffer per connection. */
    char rb[READ_CHUNK];
    for (int reads = 0; c->state != CS_DEAD; reads++) {
        bool discard = c->state == CS_STREAM || c->state == CS_LINGER;
        if (c->state == CS_CLOSING ||
            ((c->state == CS_HEAD || c->state == CS_BODY || c->state == CS_UPGRADED) &&
             c->read_paused))
            return;
        /* Plain TCP: epoll reports again what is left. TLS: bytes already
         * decrypted are not announced, so drain those now. */
        if (reads >= READS_PER_WAKE && !transport_pending(&c->io))
            return;
        ssize_t r = transport_read(&c->io, rb, sizeof(rb));
        if (r > 0 && !discard)
            buf_append(&c->in, rb, (size_t)r);
        if (r == NETIO_AGAIN)
            return;
        if (r == 0) {
            conn_on_eof(c);
            return;
        }
        if (r < 0) {
            conn_close(c, c->io.error);
            return;
        }
        if (!discard)
            conn_process(c);
    }
}

static void conn_start_http(struct conn *c)
{
    if (c->reject) {
        c->req = NULL;
        c->state = CS_HEAD;
        respond_error(c, 503, "too many connections", "Retry-After: 1\r\n");
        return;
    }
    c->state = CS_HEAD;
}

static void conn_on_io(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    struct conn *c = ud;
    if (c->state == CS_HANDSHAKE) {
        int rc = transport_handshake(&c->io);
        if (rc == NETIO_AGAIN) {
            conn_update_interest(c);
            return;
        }
        if (rc < 0) {
            conn_close(c, c->io.error);
            return;
        }
        conn_start_http(c);
        if (c->state == CS_DEAD)
            return;
        events |= LOOP_READ; /* TLS may hold decrypted bytes already */
    }
    /* TLS: either readiness may unblock either direction. A hangup: the
     * write that fails tells what happened, even when only writing. */
    bool tls = c->io.ssl != NULL;
    if ((events & (LOOP_WRITE | LOOP_HUP)) || tls) {
        if (sendq_pending(&c->out) > 0 || c->state == CS_CLOSING)
            conn_flush(c);
        if (c->state == CS_DEAD)
            return;
    }
    if ((events & (LOOP_READ | LOOP_HUP)) || tls) {
        conn_read(c);
        if (c->state == CS_DEAD)
            return;
    }
    conn_update_interest(c);
}

static void on_conn_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    struct conn *c = ud;
    switch (c->state) {
    case CS_HANDSHAKE:
        conn_close(c, "TLS handshake timed out");
        break;
    case CS_HEAD:
        if (c->waiting || !http_request_started(c->req)) {
            conn_close(c, c->waiting ? NULL : "no request");
        } else {
            respond_error(c, 408, "request head not received in time (--header-timeout)", NULL);
        }
        break;
    case CS_BODY:
        respond_error(c, 408, "request body stalled (--header-timeout)", NULL);
        break;
    case CS_CLOSING:
        conn_close(c, "client did not read the response");
        break;
    case CS_LINGER:
        conn_close(c, NULL);
        break;
    case CS_STREAM:
    case CS_UPGRADED:
        if (c->pb_closed)
            conn_close(c, "client did not answer the close");
        else if (c->srv->cfg.playback)
            pb_pump(c);
        break;
    default:
        break;
    }
}

/* ---- connection lifecycle ---- */

static void conn_new(serve_t *s, int fd, const struct sockaddr *sa, bool reject)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->srv = s;
    c->reject = reject;
    buf_init(&c->in);
    buf_init(&c->body);
    sendq_init(&c->out);
    serve_format_addr(sa, c->peer, sizeof(c->peer));
    loop_timer_init(&c->timer, on_conn_timer, c);

    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->stats.connections++;

    if (s->tls) {
        if (transport_init_tls(&c->io, fd, s->tls) < 0) {
            c->state = CS_HANDSHAKE;
            conn_close(c, c->io.error);
            return;
        }
        c->state = CS_HANDSHAKE;
    } else {
        transport_init_plain(&c->io, fd);
    }
    if (!reject)
        c->req = http_request_new(s->cfg.max_head);
    if (loop_fd_add(s->loop, fd, LOOP_READ, conn_on_io, c) < 0) {
        conn_close(c, "cannot watch the socket");
        return;
    }
    loop_timer_arm_ms(s->loop, &c->timer, s->cfg.header_timeout_ms);
    if (!s->tls)
        conn_start_http(c);
}

/* Closes at once (no flush) and frees at the end of the round, so that
 * callers up the stack may still look at c->state. why: a -v note. */
static void conn_close(struct conn *c, const char *why)
{
    serve_t *s = c->srv;
    if (c->state == CS_DEAD)
        return;
    if (why)
        diag_verbose("%s closed: %s", c->peer, why);
    if (c->upgrade && c->upgrade->on_close)
        c->upgrade->on_close(c);
    c->state = CS_DEAD;
    subs_remove(s, c);
    loop_timer_stop(s->loop, &c->timer);
    loop_fd_del(s->loop, c->io.fd);
    transport_close(&c->io);
    sendq_free(&c->out);
    http_request_free(c->req);
    c->req = NULL;
    buf_free(&c->in);
    buf_free(&c->body);

    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;

    c->dead_next = s->dead;
    s->dead = c;
    defer(s);
    if (s->stopping && s->nconns == 0)
        loop_stop(s->loop);
}

static void on_defer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    serve_t *s = ud;
    /* Flush what this round queued: one writev per connection, however
     * many events were published meanwhile. */
    struct conn *list = s->dirty;
    s->dirty = NULL;
    while (list) {
        struct conn *c = list;
        list = c->dirty_next;
        c->dirty = false;
        if (c->state != CS_DEAD)
            conn_flush(c);
    }
    /* A connection that died after being queued on the new dirty list is
     * still linked there: it is freed next round, once that list let go. */
    struct conn *keep = NULL;
    while (s->dead) {
        struct conn *c = s->dead;
        s->dead = c->dead_next;
        if (c->dirty) {
            c->dead_next = keep;
            keep = c;
        } else {
            free(c);
        }
    }
    s->dead = keep;
}

/* ---- accepting ---- */

static void on_accept(loop_t *l, int fd, unsigned events, void *ud);
static void on_stop_timer(loop_t *l, loop_timer_t *t, void *ud);

static void on_accept_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    serve_t *s = ud;
    if (s->lfd >= 0 && !s->stopping) {
        loop_fd_mod(l, s->lfd, LOOP_READ);
        on_accept(l, s->lfd, LOOP_READ, s);
    }
}

static void on_accept(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)events;
    serve_t *s = ud;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* Out of descriptors or memory: the pending connection stays in
             * the backlog and readiness would fire again at once. Stop
             * watching briefly instead of spinning. */
            uint64_t now = loop_now(l);
            if (now - s->last_accept_warn_ns >= 10 * WARN_INTERVAL_NS || !s->last_accept_warn_ns) {
                diag_warn("serve: accept: %s (pausing accepts for %d ms)", strerror(errno),
                         ACCEPT_PAUSE_MS);
                s->last_accept_warn_ns = now;
            }
            loop_fd_mod(l, fd, 0);
            loop_timer_arm_ms(l, &s->accept_timer, ACCEPT_PAUSE_MS);
            return;
        }
        if (s->nconns >= s->cfg.max_connections + REJECT_SLACK) {
            close(cfd); /* even a 503 would cost more than we should spend */
            note_refusal(s);
            continue;
        }
        bool reject = s->nconns >= s->cfg.max_connections;
        if (reject)
            note_refusal(s);
        conn_new(s, cfd, (struct sockaddr *)&ss, reject);
    }
}

/* ---- start and stop ---- */

/* Playback: every played message in its wire form, once for all clients. */
static void pb_prepare(serve_t *s)
{
    const recording_t *r = s->cfg.playback;
    playback_end(r, &s->pb_end);
    size_t rl = s->pb_end.reason_len < sizeof(s->pb_reason) - 1 ? s->pb_end.reason_len
                                                                : sizeof(s->pb_reason) - 1;
    memcpy(s->pb_reason, s->pb_end.reason, rl); /* cut to 123 bytes by ws_session_close */
    s->pb_reason[rl] = '\0';
    s->pb_bufs = xcalloc(r->nmsgs ? r->nmsgs : 1, sizeof(*s->pb_bufs));
    buf_t b;
    buf_init(&b);
    for (size_t i = 0; i < s->pb_end.end; i++) {
        if (!playback_plays(r, i))
            continue;
        const rec_msg_t *m = &r->msgs[i];
        if (r->proto == REC_SSE) {
            buf_reset(&b);
            playback_format_sse(&b, m, i ? &r->msgs[i - 1] : NULL);
            s->pb_bufs[i] = sendq_buf_copy(b.p, b.len);
        } else {
            s->pb_bufs[i] = ws_frame_new((unsigned)m->type, m->data, m->len);
        }
    }
    buf_free(&b);
}

int serve_start(loop_t *l, const serve_config_t *cfg, serve_t **out, char *err, size_t errlen)
{
    serve_t *s = xcalloc(1, sizeof(*s));
    s->loop = l;
    s->cfg = *cfg;
    s->lfd = -1;
    loop_timer_init(&s->defer_timer, on_defer, s);
    loop_timer_init(&s->tick_timer, on_tick, s);
    loop_timer_init(&s->keepalive_timer, on_keepalive, s);
    loop_timer_init(&s->accept_timer, on_accept_timer, s);
    loop_timer_init(&s->warn_timer, on_warn_timer, s);
    loop_timer_init(&s->stop_timer, on_stop_timer, s);
    char addr[INET6_ADDRSTRLEN + 10];
    serve_format_addr((const struct sockaddr *)&cfg->addr, addr, sizeof(addr));

    if (cfg->tls_cert) {
        char why[256];
        s->tls = transport_tls_server_ctx(cfg->tls_cert, cfg->tls_key, why, sizeof(why));
        if (!s->tls) {
            snprintf(err, errlen, "serve: --tls: %s", why);
            serve_free(s);
            return SERVE_EUSAGE;
        }
    }

    int fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&cfg->addr, cfg->addr_len) < 0 ||
        listen(fd, SOMAXCONN) < 0) {
        snprintf(err, errlen, "serve: cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        serve_free(s);
        return SERVE_EFAIL;
    }
    s->lfd = fd;
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
        serve_format_addr((struct sockaddr *)&local, s->local, sizeof(s->local));
    else
        snprintf(s->local, sizeof(s->local), "%s", addr);
    int rc = loop_fd_add(l, fd, LOOP_READ, on_accept, s);
    if (rc < 0) {
        snprintf(err, errlen, "serve: cannot watch the listening socket: %s", strerror(-rc));
        serve_free(s);
        return SERVE_EFAIL;
    }

    s->ch = channel_new(cfg->history, cfg->history_bytes);
    if (cfg->playback)
        pb_prepare(s);
    if (cfg->tick_ms)
        loop_timer_arm_ms(l, &s->tick_timer, cfg->tick_ms);
    else if (cfg->keepalive_ms)
        loop_timer_arm_ms(l, &s->keepalive_timer, cfg->keepalive_ms);
    *out = s;
    return 0;
}

void serve_local_addr(const serve_t *s, char *out, size_t n)
{
    snprintf(out, n, "%s", s->local);
}

bool serve_is_tls(const serve_t *s)
{
    return s->tls != NULL;
}

const serve_stats_t *serve_stats(const serve_t *s)
{
    return &s->stats;
}

static void close_all(serve_t *s)
{
    while (s->conns)
        conn_close(s->conns, NULL);
}

static void on_stop_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    serve_t *s = ud;
    if (s->nconns)
        diag_verbose("serve: closing %zu connection%s that did not finish in time", s->nconns,
                    s->nconns == 1 ? "" : "s");
    close_all(s);
    loop_stop(l);
}

void serve_stop(serve_t *s)
{
    if (s->stopping) {
        close_all(s);
        loop_stop(s->loop);
        return;
    }
    s->stopping = true;
    if (s->lfd >= 0) {
        loop_fd_del(s->loop, s->lfd);
        close(s->lfd);
        s->lfd = -1;
    }
    loop_timer_stop(s->loop, &s->tick_timer);
    loop_timer_stop(s->loop, &s->keepalive_timer);
    loop_timer_stop(s->loop, &s->accept_timer);
    warn_pending(s);
    loop_timer_stop(s->loop, &s->warn_timer);

    struct conn *next;
    for (struct conn *c = s->conns; c; c = next) {
        next = c->next;
        switch (c->state) {
        case CS_STREAM:
            conn_finish(c); /* the stream just ends: queued events, then EOF */
            break;
        case CS_UPGRADED:
            if (c->upgrade->on_shutdown)
                c->upgrade->on_shutdown(c);
            else
                conn_finish(c);
            break;
        case CS_HEAD:
            if (sendq_pending(&c->out) > 0 && !http_request_started(c->req))
                conn_finish(c); /* answers in flight go out first */
            else
                conn_close(c, NULL);
            break;
        case CS_CLOSING:
        case CS_LINGER:
        case CS_DEAD:
            break;
        default:
            conn_close(c, NULL);
        }
    }
    if (s->nconns == 0) {
        loop_stop(s->loop);
        return;
    }
    loop_timer_arm_ms(s->loop, &s->stop_timer, STOP_GRACE_MS);
}

void serve_free(serve_t *s)
{
    if (!s)
        return;
    close_all(s);
    s->dirty = NULL;
    while (s->dead) {
        struct conn *c = s->dead;
        s->dead = c->dead_next;
        free(c);
    }
    loop_timer_stop(s->loop, &s->defer_timer);
    loop_timer_stop(s->loop, &s->tick_timer);
    loop_timer_stop(s->loop, &s->keepalive_timer);
    loop_timer_stop(s->loop, &s->accept_timer);
    loop_timer_stop(s->loop, &s->warn_timer);
    loop_timer_stop(s->loop, &s->stop_timer);
    if (s->lfd >= 0) {
        loop_fd_del(s->loop, s->lfd);
        close(s->lfd);
    }
    channel_free(s->ch);
    if (s->pb_bufs) {
        for (size_t i = 0; i < s->pb_end.end; i++)
            sendq_buf_unref(s->pb_bufs[i]);
        free(s->pb_bufs);
    }
    SSL_CTX_free(s->tls);
    free(s);
}
