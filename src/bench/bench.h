/* bench: the load generator's engine (h2load's Config -> Worker -> Client
 * shape). cmd_bench.c parses options into a bench_config_t and runs one
 * process's share of the load on worker threads; each worker has its own
 * loop and drives connections through a protocol driver (bench_ws.c for
 * WebSocket echo and subscribe, bench_sse.c for SSE streams over the
 * worker's own libcurl multi handle).
 *
 * Threads: everything in a bench_worker_t belongs to its thread. The
 * coordinator (the process's main thread) only reads the counters, with
 * relaxed atomic loads (each counter has one writer), reads the shared phase,
 * and merges the histograms after the worker has been joined. No lock is
 * taken per message.
 *
 * Connection accounting, as the summary reports it:
 *   attempted   = started by the ramp
 *   established = handshake completed (WebSocket 101; SSE 200 text/event-stream)
 *   failed      = never established (each also counts one error of its kind)
 *   dropped     = established, then lost before the close phase (each also
 *                 counts one error of its kind)
 *   open        = established and not yet ended
 * A connection ends exactly once: bench_failed, bench_lost or bench_ended. */
#ifndef EVCAT_BENCH_H
#define EVCAT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "conn_settings.h"
#include "hist.h"
#include "loop.h"
#include "rate.h"
#include "ws_handshake.h"
#include "stamp.h"

/* Errors by kind; names (bench_err_name) are the keys of the summary's
 * "errors" object. */
typedef enum {
    BERR_FD_LIMIT,       /* EMFILE/ENFILE: out of file descriptors */
    BERR_PORTS,          /* EADDRNOTAVAIL/EADDRINUSE: out of local ports */
    BERR_REFUSED,        /* ECONNREFUSED */
    BERR_CONNECT_TIMEOUT,/* not established within --connect-timeout */
    BERR_CONNECT,        /* another connect error (unreachable, ...) */
    BERR_TLS,            /* TLS handshake or verification */
    BERR_HANDSHAKE,      /* WebSocket: not a valid 101 (status, accept, ...) */
    BERR_HTTP_STATUS,    /* SSE: a status other than 200, or not text/event-stream */
    BERR_PROTOCOL,       /* WebSocket framing violation, bad UTF-8, SSE limit */
    BERR_CLOSED,         /* the server ended the connection (close frame, EOF) */
    BERR_RESET,          /* ECONNRESET/EPIPE, other read/write errors */
    BERR_TOO_BIG,        /* a message over --max-message */
    BERR_NO_TIMESTAMP,   /* subscribe: a message without a usable latency field */
    BERR_PUBLISH,        /* --publish: a POST that failed or was not 2xx */
    BERR_COUNT
} bench_err_t;

const char *bench_err_name(bench_err_t k);
/* The kind for a connect/read/write errno (ECONNREFUSED -> BERR_REFUSED...). */
bench_err_t bench_errno_kind(int err);

typedef enum { BENCH_WS_ECHO, BENCH_WS_SUBSCRIBE, BENCH_SSE } bench_kind_t;

typedef enum { BENCH_RAMP, BENCH_MEASURE, BENCH_CLOSE, BENCH_DONE } bench_phase_t;

/* The echo payload starts with this stamp: 32 ASCII hex digits,
 * "%08x" connection index, "%08x" sequence (low 32 bits), "%016llx" intended
 * send time (mono_ns), then filler up to --size. --size >= STAMP_LEN. */
#define STAMP_LEN 32

/* Read-only during a run, shared by every worker thread. */
typedef struct bench_config {
    bench_kind_t kind;
    const char *url;        /* as given (for the summary) */
    char *host;             /* from the URL: name or literal (IPv6 without brackets) */
    uint16_t port;
    bool tls;               /* wss / https */
    char *target;           /* "/path?query" */
    char *host_header;      /* "host[:port]" as the Host header wants it */
    struct sockaddr_storage addr; /* the target, resolved once */
    socklen_t addrlen;
    char *curl_resolve;     /* SSE: "host:port:address" for CURLOPT_RESOLVE */

    struct sockaddr_storage *sources; /* local addresses to bind, or NULL */
    size_t nsources;        /* connection i binds sources[i % nsources] */

    uint64_t connections;   /* this process's share */
    uint64_t first_index;   /* global index of this process's first connection */
    double connect_rate;    /* this process's share, per second */
    uint64_t duration_ns;   /* measurement, after the ramp */
    unsigned threads;

    double message_rate;    /* WebSocket echo: messages per second per connection */
    size_t size;            /* echo: payload bytes (>= STAMP_LEN) */
    bool binary;            /* echo: binary frames instead of text */
    const char *latency_field; /* subscribe/SSE: JSON field with UNIX ns (default "ts_ns") */
    size_t max_message;     /* largest incoming message / SSE event */

    const conn_settings_t *co; /* headers, auth, TLS files, connect timeout */
    const char *const *on_open; /* WebSocket: --on-open messages, sent first */
    size_t non_open;
    ws_client_request_t ws_req; /* WebSocket: the request, built once */
    SSL_CTX *ssl_ctx;       /* wss: the client context (thread-safe to share) */
} bench_config_t;

/* Counters of one worker: written by its thread only (bench_add), read by
 * the coordinator with bench_load. */
typedef struct bench_counters {
    uint64_t attempted, established, failed, dropped, ended;
    uint64_t sent, received, bytes_sent, bytes_received;
    uint64_t errors[BERR_COUNT];
} bench_counters_t;

static inline void bench_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline uint64_t bench_load(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

typedef struct bench_worker bench_worker_t;

/* A protocol driver: how one kind of connection is opened, run and closed
 * on a worker's loop. Its per-worker state lives in w->drv. */
typedef struct bench_driver {
    /* Per-worker setup on the worker's thread (curl multi, buffers).
     * Returns 0, or -1 with a one-line reason in err. */
    int (*init)(bench_worker_t *w, char *err, size_t errlen);
    /* Start connection number `index` (global, for source spreading and
     * echo stamps). Its outcome comes later through bench_connected and
     * one of bench_failed / bench_lost / bench_ended. */
    void (*start)(bench_worker_t *w, uint64_t index);
    /* The close phase began: stop sending, close every connection cleanly
     * (WebSocket close 1000 and wait for the answer; SSE: end the stream),
     * and attempts still connecting are abandoned (bench_failed
     * BERR_CONNECT_TIMEOUT is not counted for them: call bench_ended). */
    void (*close_all)(bench_worker_t *w);
    /* The close grace period is over: end whatever is left at once. */
    void (*abort_all)(bench_worker_t *w);
    /* Frees the per-worker state (every connection has ended). */
    void (*free)(bench_worker_t *w);
} bench_driver_t;

extern const bench_driver_t bench_ws_driver;
extern const bench_driver_t bench_sse_driver;

struct bench_run; /* the coordinator's shared state (bench.c) */

struct bench_worker {
    const bench_config_t *cfg;
    const bench_driver_t *drv_ops;
    struct bench_run *run;
    unsigned id;            /* 0 .. threads-1 */
    loop_t *loop;
    void *drv;              /* the driver's per-worker state */

    uint64_t nconns;        /* connections this worker opens: local k = 0..nconns-1 */
    rate_t ramp;            /* this worker's share of --connect-rate */
    loop_timer_t ramp_timer;
    loop_timer_t grace_timer;
    int wake_fd;            /* eventfd: the coordinator announces phase changes */
    bool closing;           /* close_all has been called */
    uint64_t live;          /* started and not ended (attempts included) */

    bench_counters_t c;
    hist_t latency;         /* ns, measure phase only */
    hist_t connect;         /* ns, start to established */
};

/* The current phase (any thread). */
bench_phase_t bench_phase(const bench_worker_t *w);

/* ---- called by drivers, on the worker's thread ---- */
void bench_connected(bench_worker_t *w, uint64_t connect_ns);
void bench_failed(bench_worker_t *w, bench_err_t kind);
/* An established connection ended on its own (error or the server closing):
 * before the close phase it is dropped and kind is counted; during the
 * close phase it is simply ended. */
void bench_lost(bench_worker_t *w, bench_err_t kind);
/* A connection (established or still connecting) ended by our close. */
void bench_ended(bench_worker_t *w);
void bench_sent(bench_worker_t *w, uint64_t messages, uint64_t bytes);
void bench_received(bench_worker_t *w, uint64_t messages, uint64_t bytes);
/* One latency sample; recorded during the measure phase only. */
void bench_latency(bench_worker_t *w, uint64_t ns);
/* An error that does not end a connection (e.g. BERR_NO_TIMESTAMP). */
void bench_error(bench_worker_t *w, bench_err_t kind);

/* A non-blocking, close-on-exec socket for connection `index`, bound to its
 * source address when cfg->sources is set (IP_BIND_ADDRESS_NO_PORT, so the
 * port is chosen at connect time per destination). Returns the fd or -errno. */
int bench_socket(const bench_config_t *cfg, int family, int type, int protocol, uint64_t index);


#endif
