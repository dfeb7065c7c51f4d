#include "bench_sock.h"

#include "bench.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

void *bsock_open(bench_worker_t *w, bench_sock_t **list, uint64_t index, size_t size,
                 loop_timer_fn on_timer)
{
    uint64_t start;
    int fd = bench_connect(w->cfg, index, &start);
    if (fd < 0) {
        bench_failed(w, bench_errno_kind(-fd));
        return NULL;
    }
    bench_sock_t *s = xcalloc(1, size);
    s->w = w;
    s->fd = fd;
    s->start_ns = start;
    s->state = BSOCK_CONNECTING;
    loop_timer_init(&s->timer, on_timer, s);
    s->next = *list;
    if (*list)
        (*list)->prev = s;
    *list = s;
    return s;
}

int bsock_watch(bench_sock_t *s, loop_fd_fn on_io, void *ud)
{
    const bench_config_t *cfg = s->w->cfg;
    int rc = loop_fd_add(s->w->loop, s->fd, bsock_interest(s), on_io, ud);
    if (rc < 0)
        return rc;
    if (cfg->co && cfg->co->connect_timeout_ms)
        loop_timer_arm_ms(s->w->loop, &s->timer, cfg->co->connect_timeout_ms);
    return 0;
}

void bsock_release(bench_sock_t *s, bench_sock_t **list)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *list = s->next;
    if (s->next)
        s->next->prev = s->prev;
    loop_timer_stop(s->w->loop, &s->timer);
    loop_fd_del(s->w->loop, s->fd);
    if (s->tls) {
        transport_close(s->tls);
        free(s->tls);
    } else {
        close(s->fd);
    }
    bench_lbuf_free(&s->out);
}

unsigned bsock_can(const bench_sock_t *s, unsigned events)
{
    unsigned wr = s->tls ? s->tls->write_wants : LOOP_WRITE;
    unsigned rd = s->tls ? s->tls->read_wants : LOOP_READ;
    return (s->out && (events & (wr | LOOP_HUP)) ? BSOCK_CAN_FLUSH : 0) |
           (events & (rd | LOOP_HUP) ? BSOCK_CAN_READ : 0);
}

/* tcpkali's update_io_interest: writability while connecting or while
 * output waits; TLS may want either readiness for either direction. */
unsigned bsock_interest(const bench_sock_t *s)
{
    if (s->state == BSOCK_CONNECTING)
        return LOOP_WRITE;
    if (s->state == BSOCK_TLS)
        return s->tls->read_wants | s->tls->write_wants;
    return (s->tls ? s->tls->read_wants : LOOP_READ) |
           (s->out ? (s->tls ? s->tls->write_wants : LOOP_WRITE) : 0);
}

void bsock_update_interest(bench_sock_t *s)
{
    loop_fd_mod(s->w->loop, s->fd, bsock_interest(s));
}

ssize_t bsock_read(bench_sock_t *s, void *p, size_t n)
{
    ssize_t r = s->tls ? transport_read(s->tls, p, n) : netio_recv(s->fd, p, n);
    if (r > 0 && s->count_wire)
        s->w->wire_received += (uint64_t)r;
    return r;
}

ssize_t bsock_write(bench_sock_t *s, const void *p, size_t n)
{
    ssize_t r;
    if (s->tls) {
        struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
        r = transport_writev(s->tls, &iov, 1);
    } else {
        r = netio_send(s->fd, p, n);
    }
    if (r > 0 && s->count_wire)
        s->w->wire_sent += (uint64_t)r;
    return r;
}

bench_err_t bsock_error_kind(const bench_sock_t *s, int err, uint8_t connected)
{
    if (s->tls)
        return s->tls->handshaken ? BERR_RESET : BERR_TLS;
    bench_err_t k = bench_errno_kind(err);
    return k == BERR_CONNECT && s->state >= connected ? BERR_RESET : k;
}

int bsock_send(bench_sock_t *s, const void *p, size_t n)
{
    if (s->out) {
        bench_lbuf_append(&s->out, p, n);
        return 0;
    }
    ssize_t r = bsock_write(s, p, n);
    if (r == (ssize_t)n)
        return 0;
    if (r == NETIO_ERR)
        return NETIO_ERR;
    size_t done = r > 0 ? (size_t)r : 0;
    bench_lbuf_append(&s->out, (const uint8_t *)p + done, n - done);
    bsock_update_interest(s);
    return 0;
}

int bsock_send_early(bench_sock_t *s, const void *p, size_t n)
{
    ssize_t r = bsock_write(s, p, n);
    if (r == NETIO_AGAIN)
        return 0;
    if (r < 0)
        return -1;
    if ((size_t)r < n)
        bench_lbuf_append(&s->out, (const uint8_t *)p + r, n - (size_t)r);
    return 1;
}

int bsock_flush(bench_sock_t *s)
{
    while (s->out) {
        bench_lbuf_t *o = s->out;
        ssize_t r = bsock_write(s, o->data + o->off, o->len - o->off);
        if (r == NETIO_AGAIN)
            break;
        if (r < 0)
            return NETIO_ERR;
        o->off += (size_t)r;
        if (o->off == o->len)
            bench_lbuf_free(&s->out);
    }
    bsock_update_interest(s);
    return 0;
}

/* The TLS handshake's next step. */
static int tls_step(bench_sock_t *s, bench_err_t *kind)
{
    int rc = transport_handshake(s->tls);
    if (rc == 0) {
        s->state = BSOCK_READY;
        return 1;
    }
    if (rc == NETIO_AGAIN) {
        bsock_update_interest(s);
        return 0;
    }
    *kind = BERR_TLS;
    if (bench_example_wanted(s->w, BERR_TLS)) { /* in listen's words: why it failed */
        char why[BENCH_ERR_EXAMPLE_MAX];
        bench_example(s->w, BERR_TLS, "%s",
                      transport_tls_client_error(s->tls, s->w->cfg->host, why, sizeof(why)));
    }
    return -1;
}

int bsock_connect_step(bench_sock_t *s, bench_err_t *kind)
{
    const bench_config_t *cfg = s->w->cfg;
    if (s->state == BSOCK_TLS)
        return tls_step(s, kind);
    int err = netio_connect_error(s->fd);
    if (err) {
        *kind = bench_errno_kind(err);
        return -1;
    }
    if (!cfg->tls) {
        s->state = BSOCK_READY;
        return 1;
    }
    s->tls = xmalloc(sizeof(*s->tls));
    s->state = BSOCK_TLS;
    if (transport_init_tls_client(s->tls, s->fd, cfg->ssl_ctx, cfg->host) < 0) {
        *kind = BERR_TLS; /* transport_close frees what was set up */
        return -1;
    }
    return tls_step(s, kind);
}
