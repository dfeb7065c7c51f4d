/* evcat replay FILE [URL]: plays a recording (recording.h) back.
 *
 * Client mode (a WebSocket recording): connect to URL, or the recording's
 * own, and send the recording's outgoing text, binary, ping and close
 * messages at their recorded offsets (t / --speed after the connection
 * opened, or back to back with --no-timing), printing what comes back the
 * way `evcat ws` does. With --expect, what comes back is compared in order
 * with the recording's incoming text and binary messages and its incoming
 * close (code only): the first difference, a missing message or an extra one
 * is one line on stderr and exit 3.
 *
 * What is not replayed: outgoing pongs and an outgoing close that answered
 * the server's close (the client sends both by itself), incoming pings and
 * pongs (never compared: keepalive timing is not the application's answer).
 *
 * With --record, the replay is itself recorded (both directions, as `evcat
 * ws` records), so a run can be compared with the recording it replayed.
 *
 * --serve hands the recording to replay_serve_run() (replay_serve.c), which plays
 * the incoming side to every client that connects. */
#include "cliopt.h"
#include "commands.h"
#include "exitcode.h"
#include "loop.h"
#include "diag.h"
#include "event_json.h"
#include "output.h"
#include "units.h"
#include "recording.h"
#include "replay_serve.h"
#include "replay_script.h"
#include "buf.h"
#include "clock.h"
#include "text.h"
#include "ws_client.h"
#include "url_typo.h"
#include "redact.h"
#include "ws_command.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A recording is read whole into memory: this bounds it. */
#define REPLAY_MAX_FILE (1ull << 30)
/* What the recording says comes after the last outgoing message (expected
 * replies, the server's close) is waited for its recorded delay, scaled,
 * plus this; then we close ourselves. Keeps a CI check from hanging on a
 * server that stopped answering when no --timeout was given. */
#define WAIT_GRACE_MS 5000

struct replay {
    ws_command_t k;
    const recording_t *rec;
    double speed;
    bool no_timing;
    bool expect;

    size_t *outs;       /* owned: indices into rec->msgs of what we send */
    size_t nouts, next_out;
    size_t *ins;        /* owned: indices of the compared incoming messages */
    size_t nins;        /* text and binary, then the close if recorded */
    size_t ntext;       /* of which text or binary */
    size_t got;         /* compared incoming messages so far (or received, without --expect) */
    bool peer_closes;   /* the recording ends with the server's close */

    uint64_t open_ns;   /* mono_ns() when the connection opened */
    bool opened;
    bool sent_all;      /* every outgoing message is sent */
    bool close_matched; /* the server's close was the recorded one */
    bool reported;      /* an --expect failure was reported */

    /* k.linger: after the last outgoing message (with --expect: and the
     * last expected reply), close once replies go quiet. */
    loop_timer_t send_timer; /* the next outgoing message is due */
    loop_timer_t wait_timer; /* give up waiting for what the recording promised */
};

static void close_now(struct replay *R, uint16_t code, const char *reason)
{
    loop_timer_stop(R->k.loop, &R->wait_timer);
    loop_timer_stop(R->k.loop, &R->send_timer);
    ws_command_close(&R->k, code, reason);
}

static const rec_msg_t *in_msg(const struct replay *R, size_t k)
{
    return &R->rec->msgs[R->ins[k]];
}

/* --expect failed: one line on stderr, exit 3, leave. */
static void expect_failed(struct replay *R, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void expect_failed(struct replay *R, const char *fmt, ...)
{
    if (R->reported)
        return;
    R->reported = true;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    diag_error("replay: %s", line);
    if (R->k.forced_code < 0)
        R->k.forced_code = EXIT_CHECK;
    if (!R->k.we_closed)
        close_now(R, 1000, NULL);
}

/* The first expected message that did not come, because of why. */
static void report_missing(struct replay *R, const char *why)
{
    if (!R->expect || R->reported || R->got >= R->nins)
        return;
    const rec_msg_t *m = in_msg(R, R->got);
    buf_t d;
    buf_init(&d);
    replay_describe(&d, m->type, m->data, m->len, m->code);
    expect_failed(R, "message %zu is missing (expected %s): %s", R->got + 1, d.p, why);
    buf_free(&d);
}

/* ---- what comes after the last outgoing message ---- */

static void on_linger_over(void *ud)
{
    close_now(ud, 1000, NULL);
}

static void on_wait_over(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    struct replay *R = ud;
    report_missing(R, "it did not come in time");
    if (!R->k.we_closed)
        close_now(R, 1000, NULL);
}

/* Everything expected (text and binary) is in: close once nothing more comes
 * for WSCMD_LINGER_QUIET_MS (a message too many is a difference worth seeing),
 * unless the recording says the server closes. */
static void maybe_close_expected(struct replay *R)
{
    if (R->k.we_closed || !R->sent_all || R->peer_closes || R->got < R->ntext ||
        loop_timer_armed(&R->k.linger))
        return;
    ws_command_linger(&R->k);
}

static void after_last_out(struct replay *R)
{
    R->sent_all = true;
    if (R->k.we_closed)
        return; /* the recorded close went out: the client ends when answered */
    if (R->expect || R->peer_closes) {
        /* Wait for the rest as long as the recording took for it, plus grace. */
        double last_out = R->nouts ? R->rec->msgs[R->outs[R->nouts - 1]].t : 0;
        double last_in = R->nins ? in_msg(R, R->nins - 1)->t : 0;
        double gap = last_in > last_out ? (last_in - last_out) / R->speed : 0;
        loop_timer_arm(R->k.loop, &R->wait_timer,
                       (uint64_t)(gap * 1e9) + WAIT_GRACE_MS * 1000000ull);
        if (R->expect)
            maybe_close_expected(R);
        return;
    }
    ws_command_linger(&R->k);
}

/* ---- sending ---- */

/* Pings and closes reach the --record file through on_sent, which sees every
 * one the client sends (the answer to a server's close included). */
static void send_one(struct replay *R, const rec_msg_t *m)
{
    switch (m->type) {
    case WS_TEXT:
    case WS_BINARY:
        if (ws_client_send(R->k.c, (ws_type_t)m->type, m->data, m->len) == 0)
            ws_command_message(&R->k, false, m->type, m->data, m->len, 0, 0, true);
        break;
    case WS_PING: {
        size_t n = m->len > 125 ? 125 : m->len; /* a control frame's limit */
        if (ws_client_ping(R->k.c, m->data, n) == 0)
            out_ws_message(&R->k.out, false, WS_PING, m->data, n, 0, 0,
                           R->k.out.format == OUT_RAW ? 0 : real_ns());
        break;
    }
    case WS_CLOSE: {
        /* 1005 is "no code" in a recording: an empty close on the wire.
         * 1006 and 1015 only ever describe a close that never was sent. */
        uint16_t code = m->code;
        if (code == 1005)
            code = 0;
        else if (code == 1006 || code == 1015 || code < 1000 || code > 4999)
            code = 1000;
        char *reason = xstrndup(m->data ? m->data : "", m->len);
        out_ws_message(&R->k.out, false, WS_CLOSE, reason, strlen(reason), code ? code : 1005, 0,
                       R->k.out.format == OUT_RAW ? 0 : real_ns());
        close_now(R, code, reason);
        free(reason);
        break;
    }
    default:
        break;
    }
}

static void on_send_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    struct replay *R = ud;
    while (R->next_out < R->nouts && !R->k.we_closed) {
        const rec_msg_t *m = &R->rec->msgs[R->outs[R->next_out]];
        if (R->no_timing) {
            /* The previous message is still being written: try again soon. */
            if (ws_client_queued(R->k.c) > 0) {
                loop_timer_arm_ms(R->k.loop, &R->send_timer, 1);
                ws_command_flush(&R->k);
                return;
            }
        } else {
            uint64_t due = R->open_ns + (uint64_t)(m->t / R->speed * 1e9);
            if (due > mono_ns()) {
                loop_timer_arm_at(R->k.loop, &R->send_timer, due);
                ws_command_flush(&R->k);
                return;
            }
        }
        R->next_out++;
        send_one(R, m);
    }
    if (!R->sent_all)
        after_last_out(R);
    ws_command_flush(&R->k);
}

/* ---- ws_command's hooks ---- */

static void on_open(void *ud)
{
    struct replay *R = ud;
    R->opened = true;
    R->open_ns = mono_ns();
    on_send_timer(R->k.loop, &R->send_timer, R);
}

static void compare(struct replay *R, int type, const void *p, size_t n, uint16_t code)
{
    if (R->reported)
        return;
    buf_t got;
    buf_init(&got);
    replay_describe(&got, type, p, n, code);
    if (R->got >= R->nins || (type != WS_CLOSE && in_msg(R, R->got)->type == WS_CLOSE)) {
        expect_failed(R, "message %zu was not in the recording: got %s", R->got + 1, got.p);
    } else {
        const rec_msg_t *m = in_msg(R, R->got);
        bool same = m->type == type &&
                    (type == WS_CLOSE ? m->code == code
                                      : m->len == n && (n == 0 || memcmp(m->data, p, n) == 0));
        if (!same) {
            buf_t want;
            buf_init(&want);
            replay_describe(&want, m->type, m->data, m->len, m->code);
            expect_failed(R, "message %zu differs: expected %s, got %s", R->got + 1, want.p,
                          got.p);
            buf_free(&want);
        } else if (type == WS_CLOSE) {
            R->close_matched = true;
        }
    }
    buf_free(&got);
}

static void on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n)
{
    struct replay *R = ud;
    if (R->expect)
        compare(R, type, p, n, 0);
    R->got++;
    if (R->expect)
        maybe_close_expected(R);
}

static void on_peer_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    struct replay *R = ud;
    if (!R->expect || R->reported)
        return;
    if (R->got < R->nins && in_msg(R, R->got)->type == WS_CLOSE) {
        compare(R, WS_CLOSE, reason, len, code);
        R->got++;
    } else if (R->got < R->nins) {
        char why[64];
        snprintf(why, sizeof(why), "the server closed with %u first", code);
        report_missing(R, why);
    } else if (!R->k.we_closed) {
        /* Not the answer to our close: the server ended a session that, in
         * the recording, went on. */
        compare(R, WS_CLOSE, reason, len, code);
    }
}

static int on_end(void *ud, int code)
{
    struct replay *R = ud;
    if (R->opened)
        report_missing(R, "the connection ended");
    /* A server closing with, say, 1011 is an error for `evcat ws`; here it
     * is what the recording said would happen. */
    if (R->expect && R->close_matched && !R->reported && code == EXIT_FAIL)
        return EXIT_OK;
    return code;
}

static void on_timeout(void *ud)
{
    struct replay *R = ud;
    if (R->expect && !R->reported && R->got < R->nins) {
        R->k.forced_code = EXIT_TIMEOUT;
        report_missing(R, "--timeout reached");
    } else if (R->expect && !R->reported && !R->sent_all) {
        R->k.forced_code = EXIT_TIMEOUT;
        R->reported = true;
        diag_error("replay: --timeout reached after %zu of %zu outgoing messages", R->next_out,
                   R->nouts);
    } else if (R->k.forced_code < 0) {
        R->k.forced_code = R->reported ? EXIT_CHECK : EXIT_OK;
    }
    if (!R->k.we_closed)
        close_now(R, 1000, NULL);
}

/* ---- running ---- */

/* Splits the recording into what we send and what we compare. */
static void plan(struct replay *R)
{
    const recording_t *rec = R->rec;
    R->outs = xcalloc(rec->nmsgs ? rec->nmsgs : 1, sizeof(size_t));
    R->ins = xcalloc(rec->nmsgs ? rec->nmsgs : 1, sizeof(size_t));
    bool in_close = false, out_close = false;
    for (size_t i = 0; i < rec->nmsgs; i++) {
        const rec_msg_t *m = &rec->msgs[i];
        if (m->in) {
            if (in_close)
                continue; /* nothing follows a close */
            if (m->type == WS_TEXT || m->type == WS_BINARY) {
                R->ins[R->nins++] = i;
                R->ntext++;
            } else if (m->type == WS_CLOSE) {
                R->ins[R->nins++] = i;
                in_close = true;
                R->peer_closes = !out_close;
            }
        } else if (!out_close) {
            if (m->type == WS_TEXT || m->type == WS_BINARY || m->type == WS_PING) {
                R->outs[R->nouts++] = i;
            } else if (m->type == WS_CLOSE) {
                out_close = true;
                if (!in_close) /* else it answered the server's: the client does that */
                    R->outs[R->nouts++] = i;
            }
        }
    }
}

static int replay_client(const recording_t *rec, const char *url, conn_opts_t *co,
                         const ws_cli_opts_t *w, double speed, bool no_timing, bool expect,
                         uint64_t timeout_ms)
{
    static const ws_command_ops_t ops = {
        .open = on_open,
        .message = on_message,
        .peer_close = on_peer_close,
        .end = on_end,
        .timeout = on_timeout,
        .linger_over = on_linger_over,
    };
    struct replay R = {
        .rec = rec,
        .speed = speed,
        .no_timing = no_timing,
        .expect = expect,
    };
    ws_command_init(&R.k, &ops, &R);
    if (ws_command_record(&R.k, co, "replay", url, true) != 0)
        return EXIT_USAGE;
    plan(&R);
    ws_command_open(&R.k, STDOUT_FILENO, co->format, co->color, timeout_ms);
    R.k.out.no_time = co->no_time;
    loop_timer_init(&R.send_timer, on_send_timer, &R);
    loop_timer_init(&R.wait_timer, on_wait_over, &R);
    if (ws_command_start(&R.k, url, co, w) == 0)
        loop_run(R.k.loop);
    loop_timer_stop(R.k.loop, &R.send_timer);
    loop_timer_stop(R.k.loop, &R.wait_timer);
    free(R.outs);
    free(R.ins);
    return ws_command_end(&R.k, co);
}

/* ---- the command ---- */

static int usage_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    diag_error("replay: %s", line);
    return EXIT_USAGE;
}

static bool is_ws_url(const char *u)
{
    return strncmp(u, "ws://", 5) == 0 || strncmp(u, "wss://", 6) == 0;
}

/* What replay takes from the command line. */
struct replay_args {
    conn_opts_t co;
    ws_cli_opts_t w;
    run_limits_t lim; /* --timeout */
    double speed;
    bool speed_set, no_timing, expect, serve;
    const char *listen, *tls_cert, *tls_key; /* argv strings */
};

static int replay_option(void *ud, const opt_hit_t *h)
{
    struct replay_args *a = ud;
    int r = conn_opts_handle(&a->co, "replay", h);
    if (r == 0)
        r = ws_cli_opts_handle(&a->w, "replay", h);
    if (r == 0)
        r = run_limits_handle(&a->lim, "replay", h);
    if (r != 0)
        return r < 0 ? -1 : 0;
    switch (h->id) {
    case OPT_SPEED: {
        char *end;
        a->speed = strtod(h->arg, &end);
        if (end == h->arg || *end || !isfinite(a->speed) || a->speed <= 0 || a->speed > 1e6) {
            usage_error("--speed '%s' is not a positive number such as 2 or 0.5", h->arg);
            return -1;
        }
        a->speed_set = true;
        return 0;
    }
    case OPT_NO_TIMING:
        a->no_timing = true;
        return 0;
    case OPT_EXPECT:
        a->expect = true;
        return 0;
    case OPT_SERVE:
        a->serve = true;
        return 0;
    case OPT_LISTEN:
        a->listen = h->arg;
        return 0;
    case OPT_TLS:
        a->tls_cert = h->arg;
        a->tls_key = h->arg2;
        return 0;
    default:
        return opt_unhandled("replay", h);
    }
}

/* The options against each other and the URL: EXIT_USAGE after the
 * one-line error, or 0. */
static int replay_check(const struct replay_args *a, const char *url)
{
    if (!a->serve && (a->listen || a->tls_cert))
        return usage_error("%s only goes with --serve", a->listen ? "--listen" : "--tls");
    if (a->serve && (url || a->expect || a->lim.timeout_ms || a->w.any || a->co.record))
        return usage_error("--serve takes no %s: it plays the recording to clients that connect",
                           url                ? "URL"
                           : a->expect        ? "--expect"
                           : a->lim.timeout_ms ? "--timeout"
                           : a->co.record     ? "--record"
                                              : "WebSocket client option");
    if (a->no_timing && a->speed_set)
        return usage_error("--speed and --no-timing exclude each other");
    if (url && url_typo_check("replay", NULL, url, URL_WEBSOCKET) < 0)
        return EXIT_USAGE;
    if (url && !is_ws_url(url)) /* diag masks a password in it */
        return usage_error("'%s' is not a ws:// or wss:// URL", url);
    return 0;
}

/* Reads the recording at path (not one --record would overwrite):
 * EXIT_USAGE after the one-line error, or 0. */
static int replay_load(const struct replay_args *a, const char *path, recording_t *rec)
{
    struct stat st_in, st_rec;
    if (a->co.record && stat(path, &st_in) == 0 && stat(a->co.record, &st_rec) == 0 &&
        st_in.st_dev == st_rec.st_dev && st_in.st_ino == st_rec.st_ino)
        return usage_error("--record %s would overwrite the recording being replayed",
                           a->co.record);
    char err[512];
    if (rec_load(path, REPLAY_MAX_FILE, (size_t)a->w.max_message, rec, err, sizeof(err)) < 0)
        return usage_error("%s", err); /* names the file and the line */
    if (rec->truncated)
        diag_warn("replay: %s: the last line is cut short (the recording was interrupted); "
                 "playing the %zu messages before it",
                 path, rec->nmsgs);
    return 0;
}

/* Plays the loaded recording: as a server with --serve, else as a client to
 * url or the recording's own. */
static int replay_play(struct replay_args *a, const char *path, const recording_t *rec,
                       const char *url)
{
    if (a->serve && nofile_raise("replay") > 0) /* before serve's defaults: they follow it */
        return replay_serve_run(rec, a->listen ? a->listen : "127.0.0.1:8080", a->tls_cert,
                                a->tls_key, a->speed, a->no_timing);
    if (rec->proto == REC_SSE)
        return usage_error("an SSE recording can only be served (--serve): SSE flows from "
                           "server to client");
    if (!url) {
        url = rec->url;
        if (!url || !is_ws_url(url))
            return usage_error("%s: the recording's url '%s' is not a ws:// or wss:// URL: "
                               "give one",
                               path, url ? url : "");
        /* The recording kept the URL with its password masked: "***" would
         * go as the password. -u (or an Authorization header) replaces it. */
        if (url_password_masked(url) && !a->co.net.userpwd &&
            !conn_settings_has_header(&a->co.net, "Authorization"))
            return usage_error("%s: the recording's url '%s' had its password masked: give the "
                               "URL, or -u USER:PASSWORD",
                               path, url);
    }
    return replay_client(rec, url, &a->co, &a->w, a->speed, a->no_timing, a->expect,
                         a->lim.timeout_ms);
}

int cmd_replay(int argc, char **argv)
{
    struct replay_args a = {.speed = 1};
    conn_opts_init(&a.co);
    ws_cli_opts_init(&a.w);
    recording_t rec;
    memset(&rec, 0, sizeof(rec));
    int rc = EXIT_USAGE;
    int first = opt_parse(CMD_REPLAY, argc, argv, replay_option, &a);
    if (first == OPT_PARSE_HELP)
        rc = EXIT_OK;
    if (first < 0)
        goto out;
    if (first >= argc) {
        rc = usage_error("a recording FILE is needed (see 'evcat replay --help')");
        goto out;
    }
    const char *path = argv[first];
    if (first + 1 < argc)
        url_scheme_lower(argv[first + 1]);
    const char *url = first + 1 < argc ? argv[first + 1] : NULL;
    if (first + 2 < argc) {
        rc = usage_error("one FILE and at most one URL, got '%s' too", argv[first + 2]);
        goto out;
    }
    if (replay_check(&a, url) != 0 || replay_load(&a, path, &rec) != 0)
        goto out;
    if (conn_opts_finish(&a.co, "replay") < 0)
        goto out;
    rc = replay_play(&a, path, &rec, url);
out:
    rec_free(&rec);
    conn_opts_free(&a.co);
    return rc;
}
