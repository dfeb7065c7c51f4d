#include "curl_multi.h"
#include "buf.h"

#include <stdlib.h>

struct curlm {
    loop_t *loop;
    CURLM *multi;
    loop_timer_t timer; /* curl's one replaceable timeout */
    int dying;          /* in curlm_free: socket callbacks only unregister */
};

/* Collects finished transfers. Reads every message first, then calls the
 * owners: a done callback may remove other handles, which would invalidate
 * messages still queued. */
static void drain(curlm_t *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        curlm_xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x && x->done)
            x->done(x, msg->data.result);
    }
}

static void on_socket_ready(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    curlm_t *m = ud;
    int flags = 0, running;
    if (events & LOOP_READ)
        flags |= CURL_CSELECT_IN;
    if (events & LOOP_WRITE)
        flags |= CURL_CSELECT_OUT;
    if (events & LOOP_HUP)
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m->multi, fd, flags, &running);
    drain(m);
}

static void on_timeout(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    curlm_t *m = ud;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(m);
}

/* CURLMOPT_SOCKETFUNCTION: which events curl wants on s. The loop's fd table
 * is our per-socket record; socketp marks sockets we registered already. */
static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    curlm_t *m = userp;
    if (what == CURL_POLL_REMOVE) {
        loop_fd_del(m->loop, s);
        if (!m->dying)
            curl_multi_assign(m->multi, s, NULL);
        return 0;
    }
    if (m->dying)
        return 0;
    unsigned mask = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        mask |= LOOP_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        mask |= LOOP_WRITE;
    int rc;
    if (socketp) {
        rc = loop_fd_mod(m->loop, s, mask);
    } else {
        rc = loop_fd_add(m->loop, s, mask, on_socket_ready, m);
        if (rc == 0)
            curl_multi_assign(m->multi, s, m);
    }
    return rc < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: never act from here, only (re)arm the loop timer. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    curlm_t *m = userp;
    if (timeout_ms < 0)
        loop_timer_stop(m->loop, &m->timer);
    else
        loop_timer_arm_ms(m->loop, &m->timer, (uint64_t)timeout_ms);
    return 0;
}

curlm_t *curlm_new(loop_t *l)
{
    curlm_t *m = xcalloc(1, sizeof(*m));
    m->loop = l;
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        return NULL;
    }
    loop_timer_init(&m->timer, on_timeout, m);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
}

void curlm_free(curlm_t *m)
{
    if (!m)
        return;
    m->dying = 1; /* the socket callback may fire during curl_multi_cleanup */
    curl_multi_cleanup(m->multi);
    loop_timer_stop(m->loop, &m->timer);
    free(m);
}

CURLM *curlm_multi(curlm_t *m)
{
    return m->multi;
}

CURLMcode curlm_add(curlm_t *m, curlm_xfer_t *x)
{
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
    CURLMcode rc = curl_multi_add_handle(m->multi, x->easy);
    if (rc == CURLM_OK)
        x->added = 1;
    return rc;
}

void curlm_remove(curlm_t *m, curlm_xfer_t *x)
{
    if (!x->added)
        return;
    x->added = 0;
    curl_multi_remove_handle(m->multi, x->easy);
}
