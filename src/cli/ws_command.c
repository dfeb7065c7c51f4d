#include "ws_command.h"

#include "exitcode.h"
#include "diag.h"
#include "buf.h"
#include "clock.h"

#include <signal.h>
#include <string.h>

void ws_command_init(ws_command_t *k)
{
    memset(k, 0, sizeof(*k));
    k->exit_code = EXIT_OK;
    k->forced_code = -1;
    k->rec.fd = -1;
}

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

void ws_command_on_sent(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code)
{
    ws_command_t *k = ud;
    if (rec_active(&k->rec))
        rec_ws_message(&k->rec, false, type, p, n, code, real_ns());
}

int ws_command_end(ws_command_t *k, const conn_opts_t *co)
{
    ws_client_free(k->c);
    k->c = NULL;
    ws_command_flush(k);
    loop_timer_stop(k->loop, &k->linger);
    loop_free(k->loop);
    k->loop = NULL;
    out_free(&k->out);
    return rec_stop(&k->rec, co->record, k->exit_code);
}

void ws_command_message(out_t *o, rec_writer_t *w, bool in, int type, const void *p, size_t n,
                     uint16_t code, uint64_t rtt, bool show)
{
    bool rec = rec_active(w);
    uint64_t now = rec || o->format != OUT_RAW ? real_ns() : 0;
    if (rec)
        rec_ws_message(w, in, type, p, n, code, now);
    if (show)
        out_ws_message(o, in, type, p, n, code, rtt, now);
}
