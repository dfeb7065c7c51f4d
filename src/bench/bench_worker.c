/* bench_worker: the coordinator's announcements as a worker reads them, and
 * the accounting its driver reports connections with (see bench_worker.h). */
#include "bench_worker.h"
#include "clock.h"
#include "stamp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bench_phase_t bench_control_phase(const bench_control_t *ctl)
{
    return (bench_phase_t)__atomic_load_n(&ctl->phase, __ATOMIC_RELAXED);
}

void bench_control_set_phase(bench_control_t *ctl, bench_phase_t p)
{
    __atomic_store_n(&ctl->phase, (int)p, __ATOMIC_RELEASE);
}

bool bench_control_aborting(const bench_control_t *ctl)
{
    return __atomic_load_n(&ctl->abort_now, __ATOMIC_ACQUIRE) != 0;
}

void bench_control_abort(bench_control_t *ctl)
{
    __atomic_store_n(&ctl->abort_now, 1, __ATOMIC_RELEASE);
}

bench_phase_t bench_phase(const bench_worker_t *w)
{
    return bench_control_phase(w->ctl);
}

void bench_worker_start_conn(bench_worker_t *w, uint64_t index)
{
    w->live++;
    bench_add(&w->c.attempted, 1);
    w->drv_ops->start(w, index);
}

void bench_worker_check_done(bench_worker_t *w)
{
    if (w->closing && w->live == 0)
        loop_stop(w->loop);
}

/* The ramp ends when its last attempt settles, not at the coordinator's
 * next check: the time is kept here. */
static void settled(bench_worker_t *w)
{
    if (bench_phase(w) != BENCH_RAMP)
        return;
    uint64_t now = mono_ns();
    __atomic_store_n(&w->last_settle_ns, now, __ATOMIC_RELAXED);
}

void bench_connected(bench_worker_t *w, uint64_t connect_ns)
{
    bench_add(&w->c.established, 1);
    hist_record(&w->connect, connect_ns);
    settled(w);
}

static void conn_over(bench_worker_t *w)
{
    if (w->live > 0)
        w->live--;
    bench_worker_check_done(w);
}

bool bench_example_wanted(const bench_worker_t *w, bench_err_t kind)
{
    return (unsigned)kind < BERR_COUNT && w->ex.at_ns[kind] == 0;
}

void bench_example(bench_worker_t *w, bench_err_t kind, const char *fmt, ...)
{
    if (!bench_example_wanted(w, kind))
        return;
    char line[BENCH_ERR_EXAMPLE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    bench_examples_note(&w->ex, kind, real_ns(), line);
}

void bench_example_exchange(bench_worker_t *w, const char *text, size_t len)
{
    if (!w->ex.exchange_at_ns)
        bench_examples_note_exchange(&w->ex, real_ns(), text, len);
}

void bench_status_example(bench_worker_t *w, long code, const char *ct)
{
    if (!bench_example_wanted(w, BERR_HTTP_STATUS))
        return;
    if (ct && !*ct)
        ct = NULL;
    bench_example(w, BERR_HTTP_STATUS, "%ld, Content-Type %s, from %s", code, ct ? ct : "(none)",
                  w->cfg->target);
    char ex[BENCH_EXCHANGE_MAX];
    int n = snprintf(ex, sizeof(ex), "GET %s HTTP/1.1\nHost: %s\n\nHTTP %ld\nContent-Type: %s\n",
                     w->cfg->target, w->cfg->host_header, code, ct ? ct : "(none)");
    if (n > 0)
        bench_example_exchange(w, ex, (size_t)n < sizeof(ex) ? (size_t)n : sizeof(ex) - 1);
}

/* A kind counted without an example of its own gets this one. */
static void example_default(bench_worker_t *w, bench_err_t kind)
{
    static const char *const what[BERR_COUNT] = {
        [BERR_FD_LIMIT] = "out of file descriptors (EMFILE/ENFILE)",
        [BERR_PORTS] = "out of local ports (EADDRNOTAVAIL/EADDRINUSE)",
        [BERR_REFUSED] = "connection refused",
        [BERR_CONNECT_TIMEOUT] = "not established within --connect-timeout",
        [BERR_CONNECT] = "could not connect",
        [BERR_TLS] = "TLS handshake failed",
        [BERR_HANDSHAKE] = "not a valid WebSocket 101",
        [BERR_HTTP_STATUS] = "not a 200 text/event-stream response",
        [BERR_PROTOCOL] = "protocol violation",
        [BERR_CLOSED] = "the server ended the connection",
        [BERR_RESET] = "connection reset",
        [BERR_TOO_BIG] = "a message over --max-message",
        [BERR_NO_TIMESTAMP] = "a message without a usable latency field",
        [BERR_PUBLISH] = "a publish POST failed",
        [BERR_INCOMPLETE] = "the response ended before its --end-data event",
    };
    if (bench_example_wanted(w, kind))
        bench_examples_note(&w->ex, kind, real_ns(), what[kind] ? what[kind] : bench_err_name(kind));
}

void bench_failed(bench_worker_t *w, bench_err_t kind)
{
    example_default(w, kind);
    bench_add(&w->c.failed, 1);
    bench_add(&w->c.errors[kind], 1);
    settled(w);
    conn_over(w);
}

void bench_lost(bench_worker_t *w, bench_err_t kind)
{
    if (bench_phase(w) < BENCH_CLOSE && !w->closing) {
        example_default(w, kind);
        bench_add(&w->c.dropped, 1);
        bench_add(&w->c.errors[kind], 1);
    } else {
        bench_add(&w->c.ended, 1);
    }
    conn_over(w);
}

void bench_ended(bench_worker_t *w)
{
    bench_add(&w->c.ended, 1);
    conn_over(w);
}

void bench_sent(bench_worker_t *w, uint64_t messages, uint64_t bytes)
{
    bench_add(&w->c.sent, messages);
    bench_add(&w->c.bytes_sent, bytes);
}

void bench_received(bench_worker_t *w, uint64_t messages, uint64_t bytes)
{
    bench_add(&w->c.received, messages);
    bench_add(&w->c.bytes_received, bytes);
}

void bench_latency(bench_worker_t *w, uint64_t ns)
{
    if (bench_phase(w) == BENCH_MEASURE) {
        hist_record(&w->latency, ns);
        uint64_t now = w->loop ? loop_now(w->loop) : mono_ns();
        bench_latsec_record(&w->latsec, now > w->t_start ? (now - w->t_start) / 1000000000u : 0,
                            ns);
    }
}

void bench_sub_message(bench_worker_t *w, const char *p, size_t n, uint64_t *now_real)
{
    uint64_t sent;
    bench_received(w, 1, n);
    if (stamp_json_u64(p, n, w->cfg->latency_field, &sent) < 0) {
        bench_error(w, BERR_NO_TIMESTAMP);
        return;
    }
    uint64_t now = now_real && *now_real ? *now_real : real_ns();
    if (now_real)
        *now_real = now;
    /* A sender's clock ahead of ours is zero latency, not a wrap. */
    bench_latency(w, now > sent ? now - sent : 0);
}

void bench_error(bench_worker_t *w, bench_err_t kind)
{
    example_default(w, kind);
    bench_add(&w->c.errors[kind], 1);
}

/* s cut to fit n - 1 bytes, not in the middle of a UTF-8 sequence. */
static void copy_line(char *dst, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
}

void bench_mismatch(bench_worker_t *w, const char *example)
{
    bench_add(&w->c.errors[BERR_MISMATCH], 1);
    if (example)
        bench_example(w, BERR_MISMATCH, "%s", example);
    else
        example_default(w, BERR_MISMATCH);
    if (example && !w->mismatch[0]) {
        copy_line(w->mismatch, sizeof(w->mismatch), example);
        w->mismatch_at_ns = real_ns();
    }
}

/* ---- streams as requests ---- */

void bench_slot_up(bench_worker_t *w)
{
    bench_add(&w->c.established, 1);
}

void bench_stream_connection(bench_worker_t *w, uint64_t connect_ns)
{
    w->streams.connections++;
    hist_record(&w->connect, connect_ns);
}

void bench_stream_event(bench_worker_t *w, bool first, uint64_t ns)
{
    w->streams.events++;
    hist_record(first ? &w->streams.first_event : &w->streams.event_gap, ns);
}

void bench_stream_completed(bench_worker_t *w, uint64_t events, uint64_t duration_ns)
{
    w->streams.completed++;
    hist_record(&w->streams.stream, duration_ns);
    hist_record(&w->streams.events_per_stream, events);
}

void bench_stream_failed(bench_worker_t *w, bench_err_t kind)
{
    w->streams.failed++;
    example_default(w, kind);
    bench_add(&w->c.errors[kind], 1);
}

void bench_stream_unfinished(bench_worker_t *w)
{
    w->streams.unfinished++;
}

void bench_stream_dropped(bench_worker_t *w)
{
    w->streams.dropped++;
}
