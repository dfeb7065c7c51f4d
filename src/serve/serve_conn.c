/* serve_conn: one connection of the server, below what it carries: reading
 * (bounded per wake-up, paused while answers pile up), writing its queue
 * (one writev per round for everything queued meanwhile), the poll interest
 * each state needs, the state's timeout (evcat(1), SERVE OPTIONS:
 * --header-timeout, --idle-timeout), the graceful end (flush, FIN, linger)
 * and the abrupt one, and the subscriber lists fan-out walks. */
#include "serve_internal.h"

#include "diag.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

/* Bounds and periods that are not options. */
#define READ_CHUNK     16384 /* one read from a request connection */
#define READS_PER_WAKE 8     /* then let other connections run */
#define LINGER_MS      2000  /* discarding after our FIN */
#define IOV_BATCH      64

static void conn_flush(struct conn *c);
static void conn_read(struct conn *c);

static void defer(serve_t *s)
{
    if (!loop_timer_armed(&s->defer_timer))
        loop_timer_arm(s->loop, &s->defer_timer, 0);
}

void conn_mark_dirty(struct conn *c)
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

/* ---- what the states share ---- */

void conn_send(struct conn *c, const void *p, size_t n)
{
    sendq_push_owned(&c->out, sendq_buf_copy(p, n));
    conn_mark_dirty(c);
}

void conn_finish(struct conn *c)
{
    if (c->state == CS_DEAD || c->state == CS_CLOSING || c->state == CS_LINGER)
        return;
    serve_sse_unsubscribe(c);
    c->state = CS_CLOSING;
    c->read_paused = true;
    loop_timer_arm_ms(c->srv->loop, &c->timer, CLOSING_MS);
    conn_mark_dirty(c);
    if (sendq_pending(&c->out) == 0)
        conn_flush(c); /* nothing to send: straight to FIN */
}

void conn_enter_stream(struct conn *c)
{
    c->state = CS_STREAM;
    loop_timer_stop(c->srv->loop, &c->timer);
    http_request_free(c->req);
    c->req = NULL;
    buf_free(&c->in);
    buf_free(&c->body);
}

/* ---- subscriber lists ---- */

void conn_list_add(struct conn **list, struct conn *c)
{
    c->sub_list = list;
    c->sub_prev = NULL;
    c->sub_next = *list;
    if (*list)
        (*list)->sub_prev = c;
    *list = c;
}

void conn_list_remove(struct conn *c)
{
    if (!c->sub_list)
        return;
    if (c->sub_prev)
        c->sub_prev->sub_next = c->sub_next;
    else
        *c->sub_list = c->sub_next;
    if (c->sub_next)
        c->sub_next->sub_prev = c->sub_prev;
    c->sub_list = NULL;
}

void conn_fan_out(struct conn *list, sendq_buf_t *b, void (*drop)(struct conn *c))
{
    struct conn *next;
    for (struct conn *c = list; c; c = next) {
        next = c->sub_next;
        sendq_push(&c->out, b);
        if (sendq_pending(&c->out) > c->srv->cfg.max_queue)
            drop(c);
        else
            conn_mark_dirty(c);
    }
}

/* ---- I/O ---- */

/* Writes what is queued, as far as the socket takes it; then what the
 * drained queue allows: FIN when closing, queueing or reading again. */
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
    if (c->source_paused && sendq_pending(&c->out) <= c->srv->cfg.max_queue / 2) {
        c->source_paused = false;
        s->source->drained(s->source, c);
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
        conn_respond_error(c, 503, "too many connections", "Retry-After: 1\r\n");
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
            conn_respond_error(c, 408, "request head not received in time (--header-timeout)",
                               NULL);
        }
        break;
    case CS_BODY:
        conn_respond_error(c, 408, "request body stalled (--header-timeout)", NULL);
        break;
    case CS_CLOSING:
        conn_close(c, "client did not read the response");
        break;
    case CS_LINGER:
        conn_close(c, NULL);
        break;
    case CS_STREAM:
    case CS_UPGRADED:
        /* Armed by a timed response or a source only (the channel's routes
         * stop it). */
        if (c->streamer)
            c->streamer->timer(c);
        else if (c->srv->source)
            c->srv->source->timer(c->srv->source, c);
        break;
    default:
        break;
    }
}

/* ---- a connection's beginning and end ---- */

void conn_new(serve_t *s, int fd, const struct sockaddr *sa, bool reject)
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

void conn_close(struct conn *c, const char *why)
{
    serve_t *s = c->srv;
    if (c->state == CS_DEAD)
        return;
    if (why)
        diag_verbose("%s closed: %s", c->peer, why);
    if (c->upgrade && c->upgrade->on_close)
        c->upgrade->on_close(c);
    if (c->source_ud)
        s->source->closed(s->source, c);
    if (c->streamer)
        c->streamer->closed(c);
    c->state = CS_DEAD;
    serve_sse_unsubscribe(c);
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

void conn_on_round_end(loop_t *l, loop_timer_t *t, void *ud)
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
