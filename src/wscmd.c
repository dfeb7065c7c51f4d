#include "wscmd.h"

#include "evcat.h"
#include "msg.h"
#include "util.h"

#include <signal.h>
#include <string.h>

void wscmd_init(wscmd_t *k)
{
    memset(k, 0, sizeof(*k));
    k->exit_code = EXIT_OK;
    k->forced_code = -1;
    k->rec.fd = -1;
}

void wscmd_finish(wscmd_t *k, int code)
{
    if (k->done)
        return;
    k->done = true;
    k->exit_code = k->forced_code >= 0 ? k->forced_code : code;
    loop_stop(k->loop);
}

void wscmd_flush(wscmd_t *k)
{
    int code;
    if (out_flush_checked(&k->out, &code))
        return;
    k->forced_code = code;
    wscmd_close(k, 1000, NULL);
    wscmd_finish(k, code);
}

void wscmd_close(wscmd_t *k, uint16_t code, const char *reason)
{
    k->we_closed = true;
    loop_timer_stop(k->loop, &k->linger);
    if (k->c)
        ws_client_close(k->c, code, reason);
}

void wscmd_linger(wscmd_t *k)
{
    k->linger_until = mono_ns() + WSCMD_LINGER_MAX_MS * 1000000ull;
    loop_timer_arm_ms(k->loop, &k->linger, WSCMD_LINGER_QUIET_MS);
}

void wscmd_heard(wscmd_t *k)
{
    if (!loop_timer_armed(&k->linger))
        return;
    uint64_t quiet = mono_ns() + WSCMD_LINGER_QUIET_MS * 1000000ull;
    loop_timer_arm_at(k->loop, &k->linger, quiet < k->linger_until ? quiet : k->linger_until);
}

void wscmd_interrupted(wscmd_t *k, int signo)
{
    k->forced_code = signo == SIGINT ? EXIT_INTERRUPTED : 128 + signo;
    msg_info("interrupted");
    wscmd_close(k, 1001, NULL); /* best effort: we leave now */
}

void wscmd_on_sent(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code)
{
    wscmd_t *k = ud;
    if (conn_recording(&k->rec))
        rec_ws_message(&k->rec, false, type, p, n, code, real_ns());
}

int wscmd_end(wscmd_t *k, const conn_opts_t *co)
{
    ws_client_free(k->c);
    k->c = NULL;
    wscmd_flush(k);
    loop_timer_stop(k->loop, &k->linger);
    loop_free(k->loop);
    k->loop = NULL;
    out_free(&k->out);
    return conn_record_close(co, &k->rec, k->exit_code);
}
