/* serve_lifecycle: the server as a whole (serve.h): start (TLS context,
 * listening socket, the channel or, in playback mode, the source, the
 * periodic timers), what it reports (address, TLS, stats), the graceful
 * stop (evcat(1), SERVE: streams end, WebSockets get 1001, a grace of 3
 * seconds) and the final free. */
#include "serve_internal.h"

#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STOP_GRACE_MS 3000 /* SIGTERM: then close what is left */

static void on_stop_timer(loop_t *l, loop_timer_t *t, void *ud);

int serve_start(loop_t *l, const serve_config_t *cfg, serve_t **out, char *err, size_t errlen)
{
    serve_t *s = xcalloc(1, sizeof(*s));
    s->loop = l;
    s->cfg = *cfg;
    s->lfd = -1;
    loop_timer_init(&s->defer_timer, conn_on_round_end, s);
    loop_timer_init(&s->tick_timer, serve_sse_on_tick, s);
    loop_timer_init(&s->keepalive_timer, serve_sse_on_keepalive, s);
    loop_timer_init(&s->accept_timer, serve_on_accept_timer, s);
    loop_timer_init(&s->warn_timer, serve_on_warn_timer, s);
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
    int rc = loop_fd_add(l, fd, LOOP_READ, serve_on_accept, s);
    if (rc < 0) {
        snprintf(err, errlen, "serve: cannot watch the listening socket: %s", strerror(-rc));
        serve_free(s);
        return SERVE_EFAIL;
    }

    s->ch = channel_new(cfg->history, cfg->history_bytes);
    if (cfg->playback)
        s->source = serve_playback_new(s);
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
    serve_warn_pending(s);
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
    ws_pmd_pool_free(s->pmd); /* after the connections: their sessions use it */
    if (s->source)
        s->source->free(s->source);
    SSL_CTX_free(s->tls);
    free(s);
}
