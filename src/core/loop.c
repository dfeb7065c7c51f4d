#include "loop.h"
#include "buf.h"
#include "clock.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#define MAX_EVENTS 1024

struct fd_watch {
    loop_fd_fn fn;
    void *ud;
    unsigned mask;
    uint32_t gen; /* bumped at every add, so stale batch entries are ignored */
    bool used;
};

struct sig_watch {
    loop_signal_fn fn;
    void *ud;
};

struct loop {
    int epfd;
    bool stop;
    uint64_t now;

    struct fd_watch *fds; /* owned; indexed by fd */
    size_t nfds;

    loop_timer_t **heap; /* owned array; the timers belong to callers */
    size_t heap_len, heap_cap;

    bool no_pwait2;                /* epoll_pwait2 said ENOSYS (old kernel, valgrind) */
    int sigfd;                     /* -1 until the first loop_signal() */
    sigset_t sigset;
    struct sig_watch sigs[65];
};

loop_t *loop_new(void)
{
    loop_t *l = xcalloc(1, sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->sigfd = -1;
    sigemptyset(&l->sigset);
    l->now = mono_ns();
    return l;
}

void loop_free(loop_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->heap_len; i++)
        l->heap[i]->slot = 0;
    if (l->sigfd >= 0)
        close(l->sigfd);
    close(l->epfd);
    free(l->fds);
    free(l->heap);
    free(l);
}

/* ---- fd watchers ---- */

static uint32_t to_epoll(unsigned mask)
{
    uint32_t ev = 0;
    if (mask & LOOP_READ)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (mask & LOOP_WRITE)
        ev |= EPOLLOUT;
    return ev;
}

static int ctl(loop_t *l, int op, int fd)
{
    struct epoll_event ev = {.events = to_epoll(l->fds[fd].mask)};
    ev.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)l->fds[fd].gen << 32);
    return epoll_ctl(l->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int loop_fd_add(loop_t *l, int fd, unsigned mask, loop_fd_fn fn, void *ud)
{
    if (fd < 0)
        return -EBADF;
    if ((size_t)fd >= l->nfds) {
        size_t n = l->nfds ? l->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        l->fds = xrealloc(l->fds, n * sizeof(*l->fds));
        memset(l->fds + l->nfds, 0, (n - l->nfds) * sizeof(*l->fds));
        l->nfds = n;
    }
    struct fd_watch *w = &l->fds[fd];
    bool was = w->used;
    w->fn = fn;
    w->ud = ud;
    w->mask = mask;
    w->gen++;
    w->used = true;
    int rc = ctl(l, was ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd);
    if (rc < 0)
        w->used = false;
    return rc;
}

int loop_fd_mod(loop_t *l, int fd, unsigned mask)
{
    if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
        return -ENOENT;
    if (l->fds[fd].mask == mask)
        return 0;
    l->fds[fd].mask = mask;
    return ctl(l, EPOLL_CTL_MOD, fd);
}

void loop_fd_del(loop_t *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->fds[fd].used = false;
    l->fds[fd].mask = 0;
    l->fds[fd].gen++;
}

unsigned loop_fd_mask(loop_t *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
        return 0;
    return l->fds[fd].mask;
}

/* ---- timers: a binary min-heap of caller-owned timers ---- */

static void heap_set(loop_t *l, size_t i, loop_timer_t *t)
{
    l->heap[i] = t;
    t->slot = i + 1;
}

static void heap_up(loop_t *l, size_t i)
{
    loop_timer_t *t = l->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (l->heap[parent]->due_ns <= t->due_ns)
            break;
        heap_set(l, i, l->heap[parent]);
        i = parent;
    }
    heap_set(l, i, t);
}

static void heap_down(loop_t *l, size_t i)
{
    loop_timer_t *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->heap_len)
            break;
        if (c + 1 < l->heap_len && l->heap[c + 1]->due_ns < l->heap[c]->due_ns)
            c++;
        if (t->due_ns <= l->heap[c]->due_ns)
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void loop_timer_init(loop_timer_t *t, loop_timer_fn fn, void *ud)
{
    t->due_ns = 0;
    t->slot = 0;
    t->fn = fn;
    t->ud = ud;
}

void loop_timer_stop(loop_t *l, loop_timer_t *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    loop_timer_t *last = l->heap[--l->heap_len];
    if (i == l->heap_len)
        return;
    heap_set(l, i, last);
    heap_up(l, i);
    heap_down(l, last->slot - 1);
}

void loop_timer_arm_at(loop_t *l, loop_timer_t *t, uint64_t due_ns)
{
    if (t->slot) {
        uint64_t old = t->due_ns;
        t->due_ns = due_ns;
        if (due_ns < old)
            heap_up(l, t->slot - 1);
        else
            heap_down(l, t->slot - 1);
        return;
    }
    if (l->heap_len == l->heap_cap) {
        l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 64;
        l->heap = xrealloc(l->heap, l->heap_cap * sizeof(*l->heap));
    }
    t->due_ns = due_ns;
    heap_set(l, l->heap_len++, t);
    heap_up(l, l->heap_len - 1);
}

/* Delays saturate: a server's retry: of 2^64 - 1 ms is "never", not a
 * wrapped-around few seconds. */
void loop_timer_arm(loop_t *l, loop_timer_t *t, uint64_t delay_ns)
{
    uint64_t now = mono_ns();
    loop_timer_arm_at(l, t, delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns);
}

void loop_timer_arm_ms(loop_t *l, loop_timer_t *t, uint64_t delay_ms)
{
    loop_timer_arm(l, t, delay_ms > UINT64_MAX / 1000000u ? UINT64_MAX : delay_ms * 1000000u);
}

/* ---- signals ---- */

static void on_signalfd(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)events;
    (void)ud;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int signo = (int)si.ssi_signo;
        if (signo > 0 && signo < 65 && l->sigs[signo].fn)
            l->sigs[signo].fn(l, signo, l->sigs[signo].ud);
    }
}

int loop_signal(loop_t *l, int signo, loop_signal_fn fn, void *ud)
{
    if (signo <= 0 || signo >= 65)
        return -EINVAL;
    sigaddset(&l->sigset, signo);
    int rc = pthread_sigmask(SIG_BLOCK, &l->sigset, NULL);
    if (rc != 0)
        return -rc;
    int fd = signalfd(l->sigfd, &l->sigset, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (l->sigfd < 0) {
        l->sigfd = fd;
        rc = loop_fd_add(l, fd, LOOP_READ, on_signalfd, NULL);
        if (rc < 0)
            return rc;
    }
    l->sigs[signo].fn = fn;
    l->sigs[signo].ud = ud;
    return 0;
}

/* ---- running ---- */

uint64_t loop_now(const loop_t *l)
{
    return l->now;
}

void loop_stop(loop_t *l)
{
    l->stop = true;
}

bool loop_stopped(const loop_t *l)
{
    return l->stop;
}

int loop_run_once(loop_t *l, int timeout_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    struct timespec ts, *tsp = NULL;
    uint64_t wait_ns = UINT64_MAX;

    if (timeout_ms >= 0)
        wait_ns = (uint64_t)timeout_ms * 1000000u;
    if (l->heap_len) {
        uint64_t now = mono_ns();
        uint64_t due = l->heap[0]->due_ns;
        uint64_t until = due > now ? due - now : 0;
        if (until < wait_ns)
            wait_ns = until;
    }
    if (wait_ns != UINT64_MAX) {
        ts.tv_sec = (time_t)(wait_ns / 1000000000u);
        ts.tv_nsec = (long)(wait_ns % 1000000000u);
        tsp = &ts;
    }

    /* epoll_pwait2 takes a nanosecond timeout, which the bench's rate
     * scheduler needs; epoll_wait would round every wait up to 1 ms. */
    int n = -1;
    errno = ENOSYS;
    if (!l->no_pwait2)
        n = epoll_pwait2(l->epfd, evs, MAX_EVENTS, tsp, NULL);
    if (n < 0 && errno == ENOSYS) {
        l->no_pwait2 = true;
        uint64_t wms = wait_ns / 1000000u + (wait_ns % 1000000u != 0);
        int ms = !tsp ? -1 : wms > INT_MAX ? INT_MAX : (int)wms;
        n = epoll_wait(l->epfd, evs, MAX_EVENTS, ms);
    }
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return -errno;
    }
    l->now = mono_ns();

    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)evs[i].data.u64;
        uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
        if ((size_t)fd >= l->nfds)
            continue;
        struct fd_watch *w = &l->fds[fd];
        if (!w->used || w->gen != gen)
            continue;
        unsigned got = 0;
        uint32_t e = evs[i].events;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            got |= LOOP_READ;
        if (e & (EPOLLOUT | EPOLLERR))
            got |= LOOP_WRITE;
        if (e & (EPOLLHUP | EPOLLERR))
            got |= LOOP_HUP;
        /* Only what was asked for, except hangups which always wake a reader. */
        unsigned deliver = got & (w->mask | LOOP_HUP);
        if (!(w->mask & LOOP_READ) && !(got & LOOP_HUP))
            deliver &= ~LOOP_READ;
        if (!deliver)
            continue;
        w->fn(l, fd, deliver, w->ud);
        ran++;
    }

    /* Fire what was due at the start of this round only: a timer re-armed
     * with delay 0 from its own callback runs next round, so timers cannot
     * starve the fds. */
    uint64_t now = mono_ns();
    /* A timer callback sees loop_now() >= its deadline (callers compare the
     * two, e.g. the rate scheduler): the round's clock moves on here. */
    l->now = now;
    while (l->heap_len && l->heap[0]->due_ns <= now) {
        loop_timer_t *t = l->heap[0];
        loop_timer_stop(l, t);
        t->fn(l, t, t->ud);
        ran++;
        if (l->stop)
            break;
    }
    return ran;
}

int loop_run(loop_t *l)
{
    l->stop = false;
    while (!l->stop) {
        int rc = loop_run_once(l, -1);
        if (rc < 0)
            return rc;
    }
    return 0;
}
