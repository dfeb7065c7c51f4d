/* loop: the one event loop every command runs on (epoll).
 *
 * Three kinds of watchers, all dispatched from loop_run():
 *   - fd watchers, indexed by descriptor (redis' ae.c idea); a callback may
 *     delete or re-register any fd, its own included, at any time: events of a
 *     deleted fd still pending in the current batch are dropped, even when the
 *     number has been reused meanwhile (each registration has a generation);
 *   - one-shot timers embedded in the caller's struct (no allocation per arm),
 *     kept in a binary heap; arming an armed timer replaces its deadline;
 *   - signals through signalfd (the caller's thread blocks them).
 *
 * Not thread-safe: one loop per thread (bench runs one per worker thread).
 * Only the main thread's loop should watch signals. */
#ifndef EVCAT_LOOP_H
#define EVCAT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct loop loop_t;

#define LOOP_READ  1u
#define LOOP_WRITE 2u
/* Reported (in addition to READ) on EPOLLHUP/EPOLLERR: read or write to learn
 * what happened. Never needs to be asked for. */
#define LOOP_HUP   4u

typedef void (*loop_fd_fn)(loop_t *l, int fd, unsigned events, void *ud);

typedef struct loop_timer loop_timer_t;
typedef void (*loop_timer_fn)(loop_t *l, loop_timer_t *t, void *ud);

/* Lives in the caller's struct; initialise once with loop_timer_init(). The
 * caller must stop an armed timer before freeing the memory it lives in. */
struct loop_timer {
    uint64_t due_ns;   /* monotonic deadline while armed */
    size_t slot;       /* heap index + 1; 0 = not armed */
    loop_timer_fn fn;
    void *ud;
};

typedef void (*loop_signal_fn)(loop_t *l, int signo, void *ud);

loop_t *loop_new(void);
/* Frees the loop. Timers still armed are simply forgotten; fds are not closed. */
void loop_free(loop_t *l);

/* Register fd for the events in mask (LOOP_READ|LOOP_WRITE; 0 keeps it
 * registered but silent). Returns 0 or -errno. */
int loop_fd_add(loop_t *l, int fd, unsigned mask, loop_fd_fn fn, void *ud);
int loop_fd_mod(loop_t *l, int fd, unsigned mask);
/* Forget fd; call before close(fd). Safe for an fd that is not registered. */
void loop_fd_del(loop_t *l, int fd);
unsigned loop_fd_mask(loop_t *l, int fd);

void loop_timer_init(loop_timer_t *t, loop_timer_fn fn, void *ud);
/* Fire once after delay_ns (from now); replaces an earlier deadline. */
void loop_timer_arm(loop_t *l, loop_timer_t *t, uint64_t delay_ns);
void loop_timer_arm_ms(loop_t *l, loop_timer_t *t, uint64_t delay_ms);
/* Fire once at a monotonic time (mono_ns() clock). */
void loop_timer_arm_at(loop_t *l, loop_timer_t *t, uint64_t due_ns);
void loop_timer_stop(loop_t *l, loop_timer_t *t);
static inline bool loop_timer_armed(const loop_timer_t *t)
{
    return t->slot != 0;
}

/* Watch a signal: blocks it for the calling thread and delivers it through
 * signalfd as a callback. Returns 0 or -errno. */
int loop_signal(loop_t *l, int signo, loop_signal_fn fn, void *ud);

/* Runs until loop_stop(). Returns 0, or -errno if epoll itself failed. */
int loop_run(loop_t *l);
/* One wait-and-dispatch round, waiting at most timeout_ms (-1: until an event
 * or the next timer). Returns the number of callbacks run, or -errno. */
int loop_run_once(loop_t *l, int timeout_ms);
void loop_stop(loop_t *l);
bool loop_stopped(const loop_t *l);

/* The monotonic time at the start of the current dispatch round (cheap). */
uint64_t loop_now(const loop_t *l);

#endif
