/* An io_uring variant of ws-echo-floor.c, to see whether the epoll floor of
 * scripts/bench-compare's echo part can be gone under (issue 15). Same
 * load, protocol work and output as the floor; what differs is the I/O:
 *   - every connection's due message is one IORING_OP_SEND (frame in the
 *     connection's own buffer, IOSQE_CQE_SKIP_SUCCESS: no completion when
 *     it went out whole), and all of a tick's sends plus the wait for what
 *     comes next are ONE io_uring_enter (submit_and_wait_timeout);
 *   - each connection has one standing multishot recv drawing from a
 *     provided-buffer ring (no recv syscall and no epoll at all);
 *   - the ring is SINGLE_ISSUER | DEFER_TASKRUN (completions are run when
 *     we wait, not by interrupting us).
 * WAIT (8th argument): "1" wakes up for the first completion like epoll
 * wakes for the first readiness (the same latency semantics as the floor);
 * "all" waits until every echo outstanding has come back or the next tick
 * is due, one wake-up for a whole tick's echoes (latency then includes the
 * wait for the tick's last echo).
 *
 *   cc -O2 -o ws-echo-uring ws-echo-uring.c -luring
 *   ws-echo-uring HOST PORT PATH CONNECTIONS RATE SECONDS [SIZE [WAIT]]
 *
 * Not part of evcat: an experiment, built by hand (liburing-dev). */
#define FLOOR_NO_MAIN
#include "ws-echo-floor.c"

#include <liburing.h>

#define BGID   7
#define NBUF   1024 /* provided buffers of BUFSZ: enough for every connection's echoes in flight */
#define BUFSZ  2048

struct uconn {
    uint8_t frame[6 + 125];
};

int main(int argc, char **argv)
{
    struct args a;
    int rc = parse_args(argc, argv, "ws-echo-uring", "[SIZE [1|all]]", &a);
    if (rc)
        return rc;
    int nconn = a.nconn, established, failed;
    size_t size = a.size;
    int wait_all = a.wait && strcmp(a.wait, "all") == 0;
    struct conn *cs = dial_all(&a, &established, &failed);
    struct uconn *us = calloc((size_t)nconn, sizeof(*us));
    struct io_uring ring;
    struct io_uring_params prm = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
                                           IORING_SETUP_DEFER_TASKRUN,
                                  .cq_entries = 8192};
    unsigned sq = 64;
    while (sq < (unsigned)nconn * 2 + 64)
        sq *= 2;
    rc = io_uring_queue_init_params(sq, &ring, &prm);
    if (rc < 0) {
        fprintf(stderr, "ws-echo-uring: io_uring_queue_init: %s\n", strerror(-rc));
        return 1;
    }
    struct io_uring_buf_ring *br;
    if (posix_memalign((void **)&br, 4096, NBUF * sizeof(struct io_uring_buf)) != 0)
        return 1;
    uint8_t *bufs = malloc((size_t)NBUF * BUFSZ);
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID};
    if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
        fprintf(stderr, "ws-echo-uring: register_buf_ring: %s\n", strerror(-rc));
        return 1;
    }
    io_uring_buf_ring_init(br);
    int mask = io_uring_buf_ring_mask(NBUF);
    for (int b = 0; b < NBUF; b++)
        io_uring_buf_ring_add(br, bufs + (size_t)b * BUFSZ, BUFSZ, (unsigned short)b, mask, b);
    io_uring_buf_ring_advance(br, NBUF);
    /* user_data: connection index << 1 | 1 for a recv, << 1 for a send */
    for (int i = 0; i < nconn; i++) {
        if (cs[i].fd < 0)
            continue;
        struct io_uring_sqe *s = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(s, cs[i].fd, NULL, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = BGID;
        io_uring_sqe_set_data64(s, (uint64_t)i << 1 | 1);
    }
    uint8_t payload[125];
    init_payload(payload, size);
    uint64_t tick = (uint64_t)(1e9 / a.rate), start = now_ns(), end = start + (uint64_t)(a.secs * 1e9);
    uint64_t next = start, sent = 0, received = 0, errors = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (next < end && now >= next) { /* every connection's due message, one submit */
            for (int i = 0; i < nconn; i++) {
                if (cs[i].fd < 0)
                    continue;
                uint8_t *frame = us[i].frame;
                size_t flen = make_frame(frame, payload, size, next);
                struct io_uring_sqe *s = io_uring_get_sqe(&ring);
                if (!s) {
                    io_uring_submit(&ring);
                    s = io_uring_get_sqe(&ring);
                }
                io_uring_prep_send(s, cs[i].fd, frame, flen, MSG_NOSIGNAL);
                s->flags |= IOSQE_CQE_SKIP_SUCCESS;
                io_uring_sqe_set_data64(s, (uint64_t)i << 1);
                sent++;
            }
            next += tick;
            now = now_ns();
        }
        if (next >= end && (received + errors >= sent || now >= end + 1000000000u))
            break;
        uint64_t due = next < end ? next : end + 1000000000u, until = due > now ? due - now : 0;
        struct __kernel_timespec ts = {.tv_sec = (long long)(until / 1000000000u),
                                       .tv_nsec = (long long)(until % 1000000000u)};
        uint64_t outstanding = sent - received - errors;
        unsigned want = wait_all && outstanding > 0 ? (unsigned)(outstanding < 4096 ? outstanding : 4096) : 1;
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&ring, &cqe, until ? want : 0, &ts, NULL);
        unsigned head, seen = 0, readd = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            int i = (int)(cqe->user_data >> 1);
            struct conn *c = &cs[i];
            if (!(cqe->user_data & 1)) { /* a send that failed or went out short */
                errors++;
                continue;
            }
            if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
                unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                uint8_t *b = bufs + (size_t)bid * BUFSZ;
                if (on_bytes(c, b, (size_t)cqe->res, &received) < 0)
                    errors++;
                io_uring_buf_ring_add(br, b, BUFSZ, (unsigned short)bid, mask, (int)readd++);
            } else if (cqe->res != -ENOBUFS && c->fd >= 0) { /* EOF or error */
                errors++;
                close(c->fd);
                c->fd = -1;
                continue;
            }
            if (!(cqe->flags & IORING_CQE_F_MORE) && c->fd >= 0) { /* re-arm */
                struct io_uring_sqe *s = io_uring_get_sqe(&ring);
                io_uring_prep_recv_multishot(s, c->fd, NULL, 0, 0);
                s->flags |= IOSQE_BUFFER_SELECT;
                s->buf_group = BGID;
                io_uring_sqe_set_data64(s, (uint64_t)i << 1 | 1);
            }
        }
        if (readd)
            io_uring_buf_ring_advance(br, (int)readd);
        io_uring_cq_advance(&ring, seen);
    }
    print_result(nconn, established, failed, sent, received, errors);
    return 0;
}
