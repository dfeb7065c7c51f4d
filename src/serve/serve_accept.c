/* serve_accept: taking connections in, and what the server says at its
 * limits (evcat(1), SERVE OPTIONS: --max-connections, --max-queue):
 * connections over --max-connections get 503 (beyond it and 256 more, a
 * plain close); out of descriptors, accepting pauses briefly instead of
 * spinning; refused connections and subscribers dropped for not reading are
 * counted and warned about, at most one line a second. */
#include "serve_internal.h"

#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_PAUSE_MS 100 /* after EMFILE and the like */
#define REJECT_SLACK    256 /* 503s in flight beyond --max-connections */

/* ---- warnings ---- */

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

void serve_warn_pending(serve_t *s)
{
    warn_drops(s);
    warn_refusals(s);
}

void serve_on_warn_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    serve_warn_pending(ud);
}

/* Warns now, or once WARN_INTERVAL_NS has passed since the last warning. */
static void warn_soon(serve_t *s)
{
    if (loop_timer_armed(&s->warn_timer))
        return;
    uint64_t now = loop_now(s->loop);
    if (s->last_warn_ns == 0 || now - s->last_warn_ns >= WARN_INTERVAL_NS)
        serve_warn_pending(s);
    else
        loop_timer_arm_at(s->loop, &s->warn_timer, s->last_warn_ns + WARN_INTERVAL_NS);
}

void serve_note_drop(serve_t *s)
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

/* ---- accepting ---- */

void serve_on_accept_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)t;
    serve_t *s = ud;
    if (s->lfd >= 0 && !s->stopping) {
        loop_fd_mod(l, s->lfd, LOOP_READ);
        serve_on_accept(l, s->lfd, LOOP_READ, s);
    }
}

void serve_on_accept(loop_t *l, int fd, unsigned events, void *ud)
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
