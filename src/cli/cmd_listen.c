/* evcat listen URL — tail a stream: SSE over http(s), or a raw SSE capture
 * on stdin ("-"); a ws:// or wss:// URL is ws_run's (ws_run.c). */
#include "cliopt.h"
#include "ws_run.h"
#include "curl_multi.h"
#include "url_typo.h"
#include "commands.h"
#include "exitcode.h"
#include "loop.h"
#include "diag.h"
#include "redact.h"
#include "output.h"
#include "units.h"
#include "sse_client.h"
#include "sse_parser.h"
#include "buf.h"
#include "clock.h"
#include "recording.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_EVENT (16u << 20) /* --max-event-size (options.def shows it) */
#define STDIN_CHUNK       (256u << 10)
/* Raw data at least this long is written from the input where it lies;
 * shorter is cheaper copied into the output buffer than written as a piece
 * of its own. */
#define REF_MIN  256
#define RAW_COPY 128

struct listen {
    loop_t *loop;
    out_t out;
    const char **types; /* --event filters; argv strings */
    size_t ntypes;
    uint64_t count;     /* 0: unlimited */
    uint64_t shown;
    int exit_code;
    rec_writer_t rec;   /* --record (rec.fd < 0: none) */
    bool done;

    /* stdin mode */
    sse_parser_t *parser;
    char *inbuf;
    loop_timer_t read_timer; /* for regular files, which epoll cannot watch */
    uintptr_t in_lo, in_hi;  /* the bytes being fed, which stay until the next flush */
    const char *map;         /* a regular file on stdin, mapped; owned */
    size_t map_len, map_pos, map_dropped;
};

static void finish(struct listen *L, int code)
{
    if (L->done)
        return;
    L->done = true;
    L->exit_code = code;
    loop_stop(L->loop);
}

static bool wanted(const struct listen *L, const sse_event_t *ev)
{
    if (!L->ntypes)
        return true;
    for (size_t i = 0; i < L->ntypes; i++)
        if (strlen(L->types[i]) == ev->type_len && memcmp(L->types[i], ev->type, ev->type_len) == 0)
            return true;
    return false;
}

static void flush_out(struct listen *L)
{
    int code;
    if (!out_flush_checked(&L->out, &code))
        finish(L, code);
}

/* -o raw, the data and an LF. Long data lying in the input with its LF
 * after it is written from there (no copy on its way out); short data in
 * the input is copied into the output buffer RAW_COPY bytes at once (no
 * call) when both sides have room for that. */
static inline void raw_out(struct listen *L, const sse_event_t *ev)
{
    uintptr_t d = (uintptr_t)ev->data;
    size_t n = ev->data_len;
    bool in_input = d >= L->in_lo && d + n < L->in_hi;
    buf_t *b = &L->out.buf;
    if (n >= REF_MIN && in_input && ev->data[n] == '\n') {
        out_raw_ref(&L->out, ev->data, n + 1);
        return;
    }
    if (n <= RAW_COPY && in_input && L->in_hi - d >= RAW_COPY && b->cap - b->len >= RAW_COPY + 2) {
        char *q = b->p + b->len;
        memcpy(q, ev->data, RAW_COPY);
        q[n] = '\n';
        b->len += n + 1;
        b->p[b->len] = '\0';
        return;
    }
    out_sse_event(&L->out, ev, 0);
}

static int on_event(void *ud, const sse_event_t *ev)
{
    struct listen *L = ud;
    if (L->done)
        return 1;
    bool rec = rec_active(&L->rec);
    uint64_t now = rec || L->out.format != OUT_RAW ? real_ns() : 0;
    /* A recording holds every event received, --event filter or not: it is
     * the stream as it came, for replay --serve to play again. */
    if (rec)
        rec_sse_event(&L->rec, ev, now);
    if (!wanted(L, ev))
        return 0;
    if (L->out.format == OUT_RAW)
        raw_out(L, ev);
    else
        out_sse_event(&L->out, ev, now);
    L->shown++;
    if (L->count && L->shown >= L->count) {
        flush_out(L);
        finish(L, EXIT_OK);
        return 1;
    }
    return 0;
}

/* on_event for the plain case of a capture on stdin: raw output, no
 * --event filter, no -n count, no --record (run_stdin picks it). */
static int on_event_raw(void *ud, const sse_event_t *ev)
{
    struct listen *L = ud;
    if (L->done)
        return 1;
    raw_out(L, ev);
    L->shown++;
    return 0;
}

static void on_batch(void *ud)
{
    flush_out(ud);
}

static void on_end(void *ud, int code)
{
    struct listen *L = ud;
    flush_out(L);
    finish(L, code);
}

static void on_signal(loop_t *l, int signo, void *ud)
{
    (void)l;
    struct listen *L = ud;
    flush_out(L);
    diag_info("interrupted");
    finish(L, signo == SIGINT ? EXIT_INTERRUPTED : 128 + signo);
}

static void on_timeout(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    struct listen *L = ud;
    flush_out(L);
    if (L->count && L->shown < L->count) {
        diag_error("--timeout reached after %llu of %llu events", (unsigned long long)L->shown,
                  (unsigned long long)L->count);
        finish(L, EXIT_TIMEOUT);
    } else {
        finish(L, EXIT_OK);
    }
}

/* ---- stdin: a raw event stream ---- */

/* Parses p[0..n) and writes what it gave, while p is still there. */
static int feed(struct listen *L, const char *p, size_t n)
{
    L->in_lo = (uintptr_t)p;
    L->in_hi = (uintptr_t)p + n;
    int rc = sse_parser_feed(L->parser, p, n, NULL);
    flush_out(L);
    L->in_lo = L->in_hi = 0;
    return rc;
}

static void stdin_read(struct listen *L, int fd)
{
    ssize_t n = read(fd, L->inbuf, STDIN_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0)
            diag_error("reading standard input failed: %s", strerror(errno));
        sse_parser_end(L->parser);
        flush_out(L);
        finish(L, n < 0 ? EXIT_FAIL : EXIT_OK);
        return;
    }
    int rc = feed(L, L->inbuf, (size_t)n);
    if (rc == SSE_ERR_TOO_BIG) {
        diag_error("standard input: an event or line exceeded --max-event-size");
        finish(L, EXIT_FAIL);
    }
}

static void on_stdin(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)events;
    stdin_read(ud, fd);
}

/* A mapped file is parsed where it lies: reading it would cost a copy of
 * every byte, which is most of the time spent on a large capture. One slice
 * per loop round keeps signals and --timeout responsive. */
static void map_feed(struct listen *L)
{
    size_t n = L->map_len - L->map_pos;
    if (n == 0) {
        sse_parser_end(L->parser);
        flush_out(L);
        finish(L, EXIT_OK);
        return;
    }
    if (n > STDIN_CHUNK * 4)
        n = STDIN_CHUNK * 4;
    int rc = feed(L, L->map + L->map_pos, n);
    L->map_pos += n;
    /* Parsed pages leave our RSS (the parser copied what it keeps), so a
     * capture of any size is parsed in bounded memory. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t done = L->map_pos / page * page;
    if (done > L->map_dropped) {
        madvise((void *)(L->map + L->map_dropped), done - L->map_dropped, MADV_DONTNEED);
        L->map_dropped = done;
    }
    if (rc == SSE_ERR_TOO_BIG) {
        diag_error("standard input: an event or line exceeded --max-event-size");
        finish(L, EXIT_FAIL);
    }
}

static void on_read_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    struct listen *L = ud;
    if (L->map)
        map_feed(L);
    else
        stdin_read(L, STDIN_FILENO);
    if (!L->done)
        loop_timer_arm(l, t, 0);
}

static void map_stdin(struct listen *L)
{
    struct stat st;
    if (fstat(STDIN_FILENO, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
        return;
    off_t pos = lseek(STDIN_FILENO, 0, SEEK_CUR);
    if (pos < 0 || pos >= st.st_size)
        return;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, STDIN_FILENO, 0);
    if (p == MAP_FAILED)
        return; /* read() will do */
    madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    L->map = p;
    L->map_len = (size_t)st.st_size;
    L->map_pos = (size_t)pos;
}

static int run_stdin(struct listen *L, size_t max_event)
{
    static const sse_parser_callbacks_t cbs = {.on_event = on_event};
    /* Raw output with no filter, count or recording: short events go
     * straight into the output buffer, long ones through on_event_raw. */
    sse_parser_callbacks_t raw_cbs = {.on_event = on_event_raw, .data_sink = &L->out.buf};
    bool plain = L->out.format == OUT_RAW && !L->ntypes && !L->count && !rec_active(&L->rec);
    L->parser = sse_parser_new(max_event, plain ? &raw_cbs : &cbs, L);
    L->inbuf = xmalloc(STDIN_CHUNK);
    map_stdin(L);
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
    if (L->map || loop_fd_add(L->loop, STDIN_FILENO, LOOP_READ, on_stdin, L) < 0) {
        /* A regular file or /dev/null: always readable, so read a chunk per
         * loop round instead, which keeps signals and --timeout working. */
        loop_timer_init(&L->read_timer, on_read_timer, L);
        loop_timer_arm(L->loop, &L->read_timer, 0);
    }
    int rc = loop_run(L->loop);
    if (loop_timer_armed(&L->read_timer))
        loop_timer_stop(L->loop, &L->read_timer);
    loop_fd_del(L->loop, STDIN_FILENO);
    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl);
    sse_parser_free(L->parser);
    free(L->inbuf);
    if (L->map)
        munmap((void *)L->map, L->map_len);
    return rc;
}

/* ---- option helpers ---- */

static int check_url(const char *url)
{
    CURLU *u = curl_url();
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    char *host = NULL;
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_free(host);
    curl_url_cleanup(u);
    if (rc != CURLUE_OK) {
        char *shown = redact_url(url);
        diag_error("listen: '%s' is not a valid URL: %s", shown, curl_url_strerror(rc));
        free(shown);
        return -1;
    }
    return 0;
}

/* ---- the command line ---- */

/* What listen takes from the command line. */
struct listen_args {
    conn_opts_t co;
    ws_cli_opts_t w;
    run_limits_t lim;
    sse_client_opts_t so;
    const char *types[64]; /* --event filters; argv strings */
    size_t ntypes;
    buf_t body;            /* -d; owned */
    bool have_body;
    char sse_only[40];     /* the first option given that means nothing for WebSocket */
    char conn_only[40];    /* the first that means nothing for standard input */
};

/* Options that mean something only for a connection: with - (standard
 * input) they would be ignored, so they are refused. */
static bool connection_only(opt_id_t id)
{
    switch (id) {
    case OPT_HEADER: case OPT_USER: case OPT_INSECURE: case OPT_PROXY: case OPT_REQUEST:
    case OPT_DATA: case OPT_BEARER: case OPT_CACERT: case OPT_CERT: case OPT_KEY:
    case OPT_CONNECT_TIMEOUT: case OPT_SUBPROTOCOL: case OPT_ORIGIN: case OPT_PING_INTERVAL:
    case OPT_ON_OPEN: case OPT_BINARY: case OPT_MAX_MESSAGE: case OPT_RECONNECT:
    case OPT_MAX_RETRIES: case OPT_LAST_EVENT_ID: case OPT_NO_RECONNECT: case OPT_IDLE_TIMEOUT:
    case OPT_HTTP11: case OPT_HTTP2: case OPT_COMPRESS:
        return true;
    default:
        return false;
    }
}

/* The options of listen's "SSE options" heading. */
static int sse_option(struct listen_args *a, const opt_hit_t *h)
{
    const char *arg = h->arg;
    uint64_t v;
    switch (h->id) {
    case OPT_REQUEST:
        if (!*arg || strpbrk(arg, " \t\r\n")) {
            diag_error("listen: --request '%s' is not an HTTP method", arg);
            return -1;
        }
        a->so.method = arg;
        return 0;
    case OPT_DATA:
        if (read_body_arg("listen", arg, &a->body) < 0)
            return -1;
        a->have_body = true;
        return 0;
    case OPT_EVENT:
        if (a->ntypes == ARRAY_LEN(a->types)) {
            diag_error("listen: at most %zu --event filters", ARRAY_LEN(a->types));
            return -1;
        }
        a->types[a->ntypes++] = arg;
        return 0;
    case OPT_LAST_EVENT_ID:
        if (strpbrk(arg, "\r\n")) {
            diag_error("listen: --last-event-id must not contain a line break");
            return -1;
        }
        a->so.last_event_id = arg;
        return 0;
    case OPT_NO_RECONNECT:
        a->so.reconnect = false;
        return 0;
    case OPT_IDLE_TIMEOUT:
        if (parse_duration_ms(arg, &a->so.idle_timeout_ms) < 0 || a->so.idle_timeout_ms == 0) {
            diag_error("listen: --idle-timeout '%s' is not a duration such as 30s", arg);
            return -1;
        }
        return 0;
    case OPT_HTTP11:
        a->so.http_version = CURL_HTTP_VERSION_1_1;
        return 0;
    case OPT_HTTP2:
        a->so.http_version = CURL_HTTP_VERSION_2_0;
        return 0;
    case OPT_MAX_EVENT_SIZE:
        if (parse_size(arg, &v) < 0 || v < 16 || v > (1u << 30)) {
            diag_error("listen: --max-event-size '%s' is not a size from 16 to 1G", arg);
            return -1;
        }
        a->so.max_event = (size_t)v;
        return 0;
    default:
        return opt_unhandled("listen", h);
    }
}

static int listen_option(void *ud, const opt_hit_t *h)
{
    struct listen_args *a = ud;
    if (!a->conn_only[0] && connection_only(h->id))
        snprintf(a->conn_only, sizeof(a->conn_only), "%s", h->given);
    int r = conn_opts_handle(&a->co, "listen", h);
    if (r == 0)
        r = ws_cli_opts_handle(&a->w, "listen", h);
    if (r == 0)
        r = run_limits_handle(&a->lim, "listen", h);
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (!a->sse_only[0])
        snprintf(a->sse_only, sizeof(a->sse_only), "%s", h->given);
    return sse_option(a, h);
}

/* ---- running ---- */

/* Reads the stream (a connection, or standard input) until it ends. */
static int listen_run(struct listen_args *a, const char *url, bool from_stdin)
{
    struct listen L = {.exit_code = EXIT_OK, .rec.fd = -1, .types = a->types,
                       .ntypes = a->ntypes, .count = a->lim.count};
    if (rec_start(&L.rec, a->co.record, "listen", url, REC_SSE) < 0)
        return EXIT_USAGE;
    L.rec.parse_json = a->co.parse_json; /* rec_start clears the writer */
    a->so.url = url;
    a->so.conn = &a->co.net;
    if (a->have_body) {
        a->so.body = a->body.p;
        a->so.body_len = a->body.len;
    }
    L.loop = loop_new();
    out_init(&L.out, STDOUT_FILENO, a->co.format, out_use_color(a->co.color, STDOUT_FILENO));
    L.out.no_time = a->co.no_time;
    L.out.parse_json = a->co.parse_json;
    L.out.indent = a->co.indent;
    loop_signal(L.loop, SIGINT, on_signal, &L);
    loop_signal(L.loop, SIGTERM, on_signal, &L);
    loop_timer_t timeout_timer;
    loop_timer_init(&timeout_timer, on_timeout, &L);
    if (a->lim.timeout_ms)
        loop_timer_arm_ms(L.loop, &timeout_timer, a->lim.timeout_ms);

    if (from_stdin) {
        run_stdin(&L, a->so.max_event);
    } else {
        static const sse_client_callbacks_t cbs = {
            .on_event = on_event,
            .on_batch = on_batch,
            .on_end = on_end,
        };
        curlm_t *m = curlm_new(L.loop);
        sse_client_t *client = m ? sse_client_new(L.loop, m, &a->so, &cbs, &L) : NULL;
        if (!client) {
            diag_error("listen: cannot initialise libcurl");
            L.exit_code = EXIT_FAIL;
        } else if (sse_client_start(client) < 0) {
            L.exit_code = EXIT_FAIL;
        } else {
            loop_run(L.loop);
        }
        sse_client_free(client);
        curlm_free(m);
    }
    flush_out(&L);
    loop_timer_stop(L.loop, &timeout_timer);
    int rc = rec_stop(&L.rec, a->co.record, L.exit_code);
    out_free(&L.out);
    loop_free(L.loop);
    return rc;
}

/* listen ws://: the WebSocket runtime, after the options are checked. */
static int listen_ws(struct listen_args *a, const char *url)
{
    if (a->sse_only[0]) {
        diag_error("listen: %s is an SSE option, and '%s' is a WebSocket URL (see "
                  "'evcat listen --help')",
                  a->sse_only, url);
        return EXIT_USAGE;
    }
    if (ws_cli_opts_check(&a->w, "listen") < 0)
        return EXIT_USAGE;
    return ws_run(WS_RUN_LISTEN, url, &a->co, &a->w, a->lim.count, a->lim.timeout_ms, NULL, 0);
}

/* An SSE URL (http:// added to one without a scheme), or - for standard
 * input, checked against the options given; then the stream. */
static int listen_sse(struct listen_args *a, const char *url)
{
    bool from_stdin = strcmp(url, "-") == 0;
    char *owned_url = NULL;
    int rc = EXIT_USAGE;
    if (!from_stdin) {
        if (a->w.any) {
            diag_error("listen: a WebSocket option was given with '%s', which is not a ws:// or "
                      "wss:// URL",
                      url);
            return EXIT_USAGE;
        }
        if (!strstr(url, "://")) {
            /* As curl does: a bare host[:port]/path means http. */
            buf_t u;
            buf_init(&u);
            buf_printf(&u, "http://%s", url);
            owned_url = u.p;
            url = owned_url;
        } else if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
            diag_error("listen: '%s': the URL must start with http://, https://, ws:// or wss:// "
                      "(or be - for standard input)",
                      url);
            return EXIT_USAGE;
        }
        if (check_url(url) < 0)
            goto out;
    } else if (a->conn_only[0]) {
        diag_error("listen: %s needs a URL: - reads an event stream from standard input, with no "
                  "connection",
                  a->conn_only);
        return EXIT_USAGE;
    }
    if (a->w.max_retries >= 0 && !a->so.reconnect) {
        diag_error("listen: --max-retries and --no-reconnect contradict each other");
        goto out;
    }
    a->so.max_retries = a->w.max_retries;
    rc = listen_run(a, url, from_stdin);
out:
    free(owned_url);
    return rc;
}

int cmd_listen(int argc, char **argv)
{
    struct listen_args a = {
        .so = {
            .max_event = DEFAULT_MAX_EVENT,
            .reconnect = true,
            .max_retries = -1,
            .http_version = CURL_HTTP_VERSION_NONE,
        },
    };
    conn_opts_init(&a.co);
    ws_cli_opts_init(&a.w);
    buf_init(&a.body);
    int rc = EXIT_USAGE;
    int first = opt_parse(CMD_LISTEN, argc, argv, listen_option, &a);
    if (first == OPT_PARSE_HELP)
        rc = EXIT_OK;
    if (first < 0)
        goto out;
    if (first != argc - 1) {
        diag_error(first >= argc ? "listen: a URL is needed (see 'evcat listen --help')"
                                 : "listen: one URL only, got '%s' too",
                  first < argc - 1 ? argv[first + 1] : "");
        goto out;
    }
    url_scheme_lower(argv[first]);
    const char *url = argv[first];
    if (url_typo_check("listen", NULL, url, URL_ANY) < 0)
        goto out;
    if (conn_opts_finish(&a.co, "listen") < 0)
        goto out;
    if (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0)
        rc = listen_ws(&a, url);
    else
        rc = listen_sse(&a, url);
out:
    buf_free(&a.body);
    conn_opts_free(&a.co);
    return rc;
}
