/* bench: what the load generator's parts share (h2load's Config -> Worker
 * -> Client shape): the run's configuration, its kinds and phases, the
 * error kinds and counters the summary reports, and the interface of a
 * protocol driver. cmd_bench.c parses options into a bench_config_t and
 * runs one process's share of the load (bench_run.c) on worker threads
 * (bench_thread.c); each worker has its own loop and drives connections
 * through a protocol driver (bench_ws.c for WebSocket echo, subscribe and,
 * with bench_ws_replay.c, --replay conversations; bench_sse_h1.c for SSE
 * subscribers in our own HTTP/1.1 over the same sockets, and bench_sse.c for
 * them over the worker's own libcurl multi handles (--sse-driver curl);
 * bench_stream.c for
 * SSE streams as requests, one after another on each connection) that
 * reports what happens to them (bench_worker.h).
 *
 * Threads: everything in a worker belongs to its thread. The coordinator
 * (the process's main thread) only reads the counters, with relaxed atomic
 * loads (each counter has one writer), announces the phase, and merges the
 * histograms after the worker has been joined. No lock is taken per
 * message.
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
#include "rate.h" /* the config's rates are rate_t's: RATE_MIN .. RATE_MAX */
#include "ws_handshake.h"
#include "stamp.h"
#include "replay_script.h"

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
    BERR_MISMATCH,       /* --replay --expect: a connection's replies differed from the recording */
    BERR_SSE_ERROR,      /* streams as requests: an `event: error` event */
    BERR_INCOMPLETE,     /* streams as requests: a response that ended without --end-data */
    BERR_IDLE_TIMEOUT,   /* streams as requests: nothing for --idle-timeout */
    BERR_COUNT
} bench_err_t;

const char *bench_err_name(bench_err_t k);
/* A first-error line kept with a result (--replay --expect's first
 * difference), in bytes with its NUL: longer lines are cut. */
#define BENCH_EXAMPLE_MAX 1024
/* The kind for a connect/read/write errno (ECONNREFUSED -> BERR_REFUSED...). */
bench_err_t bench_errno_kind(int err);

typedef enum {
    BENCH_WS_ECHO,
    BENCH_WS_SUBSCRIBE,
    BENCH_SSE,
    BENCH_WS_REPLAY, /* --replay FILE: every connection plays a recorded conversation */
} bench_kind_t;

typedef enum { BENCH_RAMP, BENCH_MEASURE, BENCH_CLOSE, BENCH_DONE } bench_phase_t;

/* "ramp", "measure", "close", "done" (the shard form's per-second phase). */
const char *bench_phase_name(bench_phase_t p);
/* The phase of such a name; -1 when it is none. */
int bench_phase_from_name(const char *name);

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
    /* With worker processes (cmd_bench_workers), the ramp of them all, whose
     * threads take turns (bench_plan_ramp_turn): this process's number among
     * ramp_procs (0: this process alone; the rest is then unused), the
     * connections and the connect rate of them all, and the mono_ns() they
     * all start from. */
    unsigned ramp_proc, ramp_procs;
    uint64_t ramp_connections;
    double ramp_rate;
    uint64_t ramp_start_ns;

    double message_rate;    /* WebSocket echo: messages per second per connection */
    size_t size;            /* echo: payload bytes (>= STAMP_LEN) */
    bool binary;            /* echo: binary frames instead of text */
    const char *latency_field; /* subscribe/SSE: JSON field with UNIX ns (default "ts_ns") */
    size_t max_message;     /* largest incoming message / SSE event */

    const conn_settings_t *co; /* headers, auth, TLS files, connect timeout */
    const char *userpwd;    /* Basic: -u's, else the URL's user:password, or NULL */
    const char *const *on_open; /* WebSocket: --on-open messages, sent first */
    size_t non_open;
    const replay_script_t *replay; /* BENCH_WS_REPLAY: the conversation (it plays the
                                    * --on-open messages itself), shared read-only */
    ws_client_request_t ws_req; /* WebSocket: the request, built once (ws_req.deflate:
                                   the permessage-deflate offer, or NULL) */
    bool compress_takeover; /* --compress-takeover: contexts kept, bounded (WS_PMD_LEAN) */
    SSL_CTX *ssl_ctx;       /* wss: the client context (thread-safe to share) */

    /* SSE streams as requests (bench_stream.c; evcat(1), BENCH): when on,
     * each of the `connections` is a slot that runs one request's event
     * stream after another, instead of one long-lived subscriber. */
    struct bench_streams_config {
        bool on;
        const char *method;     /* -X, or NULL: GET, POST with a body */
        const char *body;       /* --data (not owned), or NULL */
        size_t body_len;
        uint64_t requests;      /* this process's share of --requests; 0: no bound */
        double arrival_rate;    /* this process's share of --arrival-rate; 0: closed loop */
        uint64_t arrivals;      /* open loop: this process's share of the streams due
                                 * within --duration (bench_share); UINT64_MAX: no bound */
        const char *end_data;   /* the data of the event that ends a stream; "": none */
        uint64_t idle_timeout_ms; /* a stream with nothing for this long fails */
    } streams;
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

/* The counters before `errors`, in order, as bench_counters_t's first
 * BENCH_NSCALARS uint64_t's; their names are the shard form's keys
 * (bench_counter_name: "attempted", ..., "bytes_received"). */
#define BENCH_NSCALARS 9
const char *bench_counter_name(size_t i);

/* d += s, counter by counter. */
void bench_counters_add(bench_counters_t *d, const bench_counters_t *s);
/* d -= s, counter by counter (s is an earlier snapshot of the same counts). */
void bench_counters_sub(bench_counters_t *d, const bench_counters_t *s);
/* Connections open: established - dropped - ended, and 0 when that is
 * negative. Exact until the close phase; during it, attempts abandoned while
 * connecting count as ended too, so it may read low; 0 once all have ended. */
uint64_t bench_counters_open(const bench_counters_t *c);
/* d = s, each counter read with bench_load (s may be a running worker's). */
void bench_counters_load(bench_counters_t *d, const bench_counters_t *s);

/* The first example of each error kind: one line saying what happened
 * ("HTTP 404 Not Found from /nope"), at most BENCH_ERR_EXAMPLE_MAX bytes, and
 * when (wall clock, UNIX ns; 0 = no example). With it, one failing exchange
 * in full (a failed handshake's request and response head, at most
 * BENCH_EXCHANGE_MAX bytes) for -v. Merging keeps the earliest of each. */
#define BENCH_ERR_EXAMPLE_MAX 200
#define BENCH_EXCHANGE_MAX 2048
typedef struct bench_examples {
    uint64_t at_ns[BERR_COUNT];
    char text[BERR_COUNT][BENCH_ERR_EXAMPLE_MAX + 1];
    uint64_t exchange_at_ns;
    char exchange[BENCH_EXCHANGE_MAX + 1];
} bench_examples_t;

/* Keeps text (cut to BENCH_ERR_EXAMPLE_MAX bytes, control bytes as '?') as
 * kind's example when it has none, or a later one. */
void bench_examples_note(bench_examples_t *e, bench_err_t kind, uint64_t at_ns, const char *text);
/* The same for the exchange (cut to BENCH_EXCHANGE_MAX bytes; CR dropped,
 * other control bytes but LF as '?'). */
void bench_examples_note_exchange(bench_examples_t *e, uint64_t at_ns, const char *text,
                                  size_t len);
/* dst gets each of src's examples that is earlier than its own. */
void bench_examples_merge(bench_examples_t *dst, const bench_examples_t *src);

/* A worker as its driver sees it (bench_worker.h). */
typedef struct bench_worker bench_worker_t;

/* A protocol driver: how one kind of connection is opened, run and closed
 * on a worker's loop. Its per-worker state lives in w->drv; it reports what
 * happens to each connection with bench_worker.h's functions. */
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
/* bench_ws's echo pacing: a message due at due_ns is intended for, and sent
 * at, the first multiple of the grain at or after it, with the sends of
 * every connection due then (see bench_ws.c). The grain is one
 * connection's message interval, 1/rate, kept within [BWS_GRAIN_MIN_NS,
 * BWS_GRAIN_MAX_NS]. */
#define BWS_GRAIN_MIN_NS 1000000u
#define BWS_GRAIN_MAX_NS 5000000u
uint64_t bws_grain_for_rate(double per_second);
uint64_t bws_send_grain(uint64_t due_ns, uint64_t grain_ns);
extern const bench_driver_t bench_sse_driver;    /* SSE subscribers on libcurl */
extern const bench_driver_t bench_sse_h1_driver; /* SSE subscribers, own HTTP/1.1 */
extern const bench_driver_t bench_stream_driver; /* SSE streams as requests */

/* The part of `total` (e.g. --requests) that goes with `count` of `of`
 * connections, from number `first` on: floor(total * (first + count) / of)
 * - floor(total * first / of), so that the parts of any division of the
 * connections into ranges add up to total exactly. 0 when of is 0;
 * UINT64_MAX (no bound) when total is. */
uint64_t bench_share(uint64_t total, uint64_t first, uint64_t count, uint64_t of);

/* A non-blocking, close-on-exec socket for connection `index`, bound to its
 * source address when cfg->sources is set (IP_BIND_ADDRESS_NO_PORT, so the
 * port is chosen at connect time per destination). Returns the fd or -errno. */
int bench_socket(const bench_config_t *cfg, int family, int type, int protocol, uint64_t index);

/* A TCP connection `index` of the bench's own drivers begun: bench_socket,
 * TCP_NODELAY, a non-blocking connect() to cfg->addr; *start_ns is the
 * moment connect time counts from. Returns the fd, or -errno (nothing left
 * open). */
int bench_connect(const bench_config_t *cfg, uint64_t index, uint64_t *start_ns);

#endif
