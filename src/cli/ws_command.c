/* ws_command: one ws_client session as the WebSocket commands run it — the
 * loop, signals, --timeout, stdout, --record, the client's callbacks, the
 * exit code and the linger — with each command's part in its hooks. */
#include "ws_command.h"

#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "exitcode.h"

#include <signal.h>
#include <string.h>

void ws_command_init(ws_command_t *k, const ws_command_ops_t *ops, void *ud)
{
    memset(k, 0, sizeof(*k));
    k->ops = ops;
    k->ud = ud;
    k->exit_code = EXIT_OK;
    k->forced_code = -1;
    k->rec.fd = -1;
}

int ws_command_record(ws_command_t *k, const conn_opts_t *co, const char *cmd, const char *url,
                      bool report_bad_url)
{
    ws_url_t u;
    char err[256];
    if (ws_url_parse(url, &u, err, sizeof(err)) < 0) {
        if (report_bad_url)
            diag_error("%s: %s", cmd, err);
        return 1;
    }
    ws_url_free(&u);
    int rc = rec_start(&k->rec, co->record, cmd, url, REC_WS);
    k->rec.parse_json = co->parse_json; /* rec_start clears the writer */
    return rc < 0 ? -1 : 0;
}

/* stdout, the command's way. */
static void emit(ws_command_t *k)
{
    if (k->ops->emit)
        k->ops->emit(k->ud);
    else
        ws_command_flush(k);
}

/* ---- the loop's callbacks ---- */

static void on_signal(loop_t *l, int signo, void *ud)
{
    (void)l;
    ws_command_t *k = ud;
    if (k->ops->interrupted)
        k->ops->interrupted(k->ud);
    ws_command_interrupted(k, signo);
    emit(k);
    ws_command_finish(k, k->forced_code);
}

static void on_timeout(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    ws_command_t *k = ud;
    k->ops->timeout(k->ud);
}

static void on_linger(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    ws_command_t *k = ud;
    if (k->ops->linger_over)
        k->ops->linger_over(k->ud);
    else
        ws_command_close(k, 1000, NULL);
}

void ws_command_open(ws_command_t *k, int out_fd, out_format_t fmt, color_mode_t color,
                     uint64_t timeout_ms)
{
    out_init(&k->out, out_fd, fmt, out_use_color(color, out_fd));
    k->loop = loop_new();
    loop_signal(k->loop, SIGINT, on_signal, k);
    loop_signal(k->loop, SIGTERM, on_signal, k);
    loop_timer_init(&k->timeout, on_timeout, k);
    loop_timer_init(&k->linger, on_linger, k);
    if (timeout_ms)
        loop_timer_arm_ms(k->loop, &k->timeout, timeout_ms);
}

/* ---- the client's callbacks ---- */

static void on_open(void *ud, const char *protocol)
{
    (void)protocol;
    ws_command_t *k = ud;
    k->ops->open(k->ud);
}

static void on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt)
{
    ws_command_t *k = ud;
    bool data = type == WS_TEXT || type == WS_BINARY;
    /* Past --count, messages that arrive while the close completes are not ours. */
    if (data && k->count && k->received >= k->count)
        return;
    ws_command_message(k, true, type, p, n, 0, rtt, !(data && k->quiet_in));
    if (!data)
        return;
    k->received++;
    ws_command_heard(k);
    if (k->ops->message)
        k->ops->message(k->ud, type, p, n);
}

static void on_peer_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    ws_command_t *k = ud;
    ws_command_message(k, true, WS_CLOSE, reason, len, code, 0, true);
    if (k->ops->peer_close)
        k->ops->peer_close(k->ud, code, reason, len);
}

static void on_batch(void *ud)
{
    ws_command_t *k = ud;
    emit(k);
    if (k->ops->batch)
        k->ops->batch(k->ud);
}

static void on_end(void *ud, int code)
{
    ws_command_t *k = ud;
    emit(k);
    if (k->ops->end)
        code = k->ops->end(k->ud, code);
    ws_command_finish(k, code);
}

void ws_command_on_sent(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code)
{
    ws_command_t *k = ud;
    if (rec_active(&k->rec))
        rec_ws_message(&k->rec, false, type, p, n, code, real_ns());
}

int ws_command_start(ws_command_t *k, const char *url, const conn_opts_t *co,
                     const ws_cli_opts_t *w)
{
    static const ws_client_callbacks_t cbs = {
        .on_open = on_open,
        .on_message = on_message,
        .on_peer_close = on_peer_close,
        .on_sent = ws_command_on_sent,
        .on_batch = on_batch,
        .on_end = on_end,
    };
    k->out.parse_json = co->parse_json;
    k->out.indent = co->indent;
    /* replay takes none of the keepalive and reconnection options: they
     * keep ws_cli_opts_init's values there (no pings, no reconnection). */
    k->copts = (ws_client_opts_t){
        .url = url,
        .conn = &co->net,
        .protocols = w->protocols,
        .nprotocols = w->nprotocols,
        .origin = w->origin,
        .max_message = (size_t)w->max_message,
        .ping_interval_ms = w->ping_interval_ms,
        .reconnect = w->reconnect,
        .max_retries = w->max_retries,
        .compress = w->compress,
    };
    k->c = ws_client_new(k->loop, &k->copts, &cbs, k);
    if (ws_client_start(k->c) < 0) {
        k->exit_code = EXIT_USAGE;
        return -1;
    }
    return 0;
}

/* ---- during the session ---- */

void ws_command_finish(ws_command_t *k, int code)
{
    if (k->done)
        return;
    k->done = true;
    k->exit_code = k->forced_code >= 0 ? k->forced_code : code;
    loop_stop(k->loop);
}

void ws_command_flush(ws_command_t *k)
{
    int code;
    if (out_flush_checked(&k->out, &code))
        return;
    k->forced_code = code;
    ws_command_close(k, 1000, NULL);
    ws_command_finish(k, code);
}

void ws_command_close(ws_command_t *k, uint16_t code, const char *reason)
{
    k->we_closed = true;
    loop_timer_stop(k->loop, &k->linger);
    if (k->c)
        ws_client_close(k->c, code, reason);
}

void ws_command_linger(ws_command_t *k)
{
    k->linger_until = mono_ns() + WSCMD_LINGER_MAX_MS * 1000000ull;
    loop_timer_arm_ms(k->loop, &k->linger, WSCMD_LINGER_QUIET_MS);
}

void ws_command_heard(ws_command_t *k)
{
    if (!loop_timer_armed(&k->linger))
        return;
    uint64_t quiet = mono_ns() + WSCMD_LINGER_QUIET_MS * 1000000ull;
    loop_timer_arm_at(k->loop, &k->linger, quiet < k->linger_until ? quiet : k->linger_until);
}

void ws_command_interrupted(ws_command_t *k, int signo)
{
    k->forced_code = signo == SIGINT ? EXIT_INTERRUPTED : 128 + signo;
    diag_info("interrupted");
    ws_command_close(k, 1001, NULL); /* best effort: we leave now */
}

void ws_command_message(ws_command_t *k, bool in, int type, const void *p, size_t n, uint16_t code,
                        uint64_t rtt, bool show)
{
    bool rec = rec_active(&k->rec);
    uint64_t now = rec || k->out.format != OUT_RAW ? real_ns() : 0;
    if (rec)
        rec_ws_message(&k->rec, in, type, p, n, code, now);
    if (show)
        out_ws_message(&k->out, in, type, p, n, code, rtt, now);
}

int ws_command_end(ws_command_t *k, const conn_opts_t *co)
{
    ws_client_free(k->c);
    k->c = NULL;
    ws_command_flush(k);
    loop_timer_stop(k->loop, &k->timeout);
    loop_timer_stop(k->loop, &k->linger);
    loop_free(k->loop);
    k->loop = NULL;
    out_free(&k->out);
    return rec_stop(&k->rec, co->record, k->exit_code);
}
