#include "ws_client.h"
#include "exitcode.h"
#include "diag.h"
#include "dial.h"
#include "transport.h"
#include "buf.h"
#include "clock.h"
#include "ws_handshake.h"
#include "ws_deflate.h"
#include "redact.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define CLOSE_WAIT_MS    2000  /* for the peer's answer to our close */
#define RECONNECT_BASE_MS 1000
#define BACKOFF_CAP_MS   30000
#define READ_CHUNK       16384

/* --compress: the offer browsers make. The server decides about context
 * takeover; a single connection can afford zlib's full state. */
static const ws_pmd_offer_t deflate_offer = {.client_max_window_bits = WS_PMD_BITS_ANY};

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING, C_WAITING, C_DONE };

struct ws_client {
    loop_t *loop;
    const ws_client_opts_t *o;
    ws_client_callbacks_t cbs;
    void *ud;

    ws_url_t url;
    char *shown_url;          /* owned; password redacted */
    const char **hdrs;        /* owned array of the conn_opts header strings */
    size_t nhdrs;

    enum cstate st;
    dial_t *nc;            /* owned while connecting */
    transport_t io;               /* owned while have_io */
    bool have_io;
    ws_session_t *sess;       /* owned while open/closing */
    char key[WS_KEY_LEN + 1];
    buf_t hs_out;             /* the request head; owned */
    size_t hs_sent;
    buf_t hs_in;              /* the response as it arrives; owned */

    bool user_closed;
    bool ping_outstanding;
    bool pumping;             /* inside pump(): the session is running */
    bool pump_again;
    unsigned opens;
    unsigned failures;        /* consecutive attempts that did not open */
    unsigned attempts;        /* reconnections in all */
    bool ended;

    loop_timer_t hs_timer;    /* handshake deadline */
    loop_timer_t ping_timer;
    loop_timer_t close_timer;
    loop_timer_t reconnect_timer;
};

/* ---- URLs ---- */

int ws_url_parse(const char *url, ws_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    char *user = NULL, *password = NULL;
    int rc = -1;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "'%s' is not a valid URL: %s", url, curl_url_strerror(uc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (!scheme || (strcmp(scheme, "ws") != 0 && strcmp(scheme, "wss") != 0)) {
        snprintf(err, errlen, "'%s' is not a ws:// or wss:// URL", url);
        goto out;
    }
    out->tls = strcmp(scheme, "wss") == 0;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        snprintf(err, errlen, "'%s' has no host", url);
        goto out;
    }
    unsigned long portnum = out->tls ? 443 : 80;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port) {
        char *end;
        portnum = strtoul(port, &end, 10);
        if (*end || portnum == 0 || portnum > 65535) {
            snprintf(err, errlen, "'%s' has an invalid port", url);
            goto out;
        }
    }
    out->port = (uint16_t)portnum;
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[') /* IPv6 literal: brackets off for connect() */
        out->host = xstrndup(host + 1, hl - 2);
    else
        out->host = xstrdup(host);
    buf_t hh;
    buf_init(&hh);
    buf_puts(&hh, host);
    if (port)
        buf_printf(&hh, ":%lu", portnum);
    out->host_header = hh.p;
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    buf_t t;
    buf_init(&t);
    buf_puts(&t, path && *path ? path : "/");
    if (query) {
        buf_putc(&t, '?');
        buf_puts(&t, query);
    }
    out->target = t.p;
    /* Credentials in the URL are sent as Basic, as curl and the ws module
     * (wscat) do; a user alone as "user:". -u and an Authorization header
     * come first (see the callers). */
    if (curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE) == CURLUE_OK && user) {
        curl_url_get(u, CURLUPART_PASSWORD, &password, CURLU_URLDECODE);
        buf_t up;
        buf_init(&up);
        buf_printf(&up, "%s:%s", user, password ? password : "");
        out->userpwd = up.p;
    }
    rc = 0;
out:
    if (password)
        explicit_bzero(password, strlen(password));
    curl_free(password);
    curl_free(user);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    if (rc < 0)
        ws_url_free(out);
    return rc;
}

void ws_url_free(ws_url_t *u)
{
    secret_free(u->userpwd);
    free(u->host);
    free(u->target);
    free(u->host_header);
    memset(u, 0, sizeof(*u));
}

/* ---- teardown and ending ---- */

static void end(ws_client_t *c, int code)
{
    if (c->ended)
        return;
    c->ended = true;
    c->st = C_DONE;
    if (c->cbs.on_end)
        c->cbs.on_end(c->ud, code);
}

static void drop_connection(ws_client_t *c)
{
    loop_timer_stop(c->loop, &c->hs_timer);
    loop_timer_stop(c->loop, &c->ping_timer);
    loop_timer_stop(c->loop, &c->close_timer);
    if (c->nc) {
        dial_free(c->nc);
        c->nc = NULL;
    }
    if (c->have_io) {
        loop_fd_del(c->loop, c->io.fd);
        transport_close(&c->io);
        c->have_io = false;
    }
    if (c->sess) {
        ws_session_free(c->sess);
        c->sess = NULL;
    }
    buf_free(&c->hs_out);
    buf_free(&c->hs_in);
    c->hs_sent = 0;
    c->ping_outstanding = false;
}

static int attempt(ws_client_t *c);

/* The connection is over: reconnect if asked and sensible, else end. */
static void over(ws_client_t *c, int code, bool retriable)
{
    bool was_open = c->st == C_OPEN || c->st == C_CLOSING;
    drop_connection(c);
    if (!was_open)
        c->failures++;
    if (c->user_closed || !c->o->reconnect || !retriable || c->opens == 0) {
        end(c, code);
        return;
    }
    if (c->o->max_retries >= 0 && c->attempts >= (uint64_t)c->o->max_retries) {
        diag_error("%s: giving up after %u reconnection attempt%s", c->shown_url, c->attempts,
                  c->attempts == 1 ? "" : "s");
        end(c, EXIT_FAIL);
        return;
    }
    uint64_t delay = backoff_ms(RECONNECT_BASE_MS, c->failures, BACKOFF_CAP_MS);
    c->attempts++;
    c->st = C_WAITING;
    diag_info("reconnecting in %.1fs (attempt %u)", (double)delay / 1000.0, c->attempts);
    loop_timer_arm_ms(c->loop, &c->reconnect_timer, delay);
}

static void fail(ws_client_t *c, bool retriable, const char *why)
{
    diag_error("%s: %s", c->shown_url, why);
    over(c, EXIT_FAIL, retriable);
}

/* ---- the open connection ---- */

static void update_mask(ws_client_t *c)
{
    if (!c->have_io)
        return;
    unsigned m = 0;
    if (c->st == C_HANDSHAKE) {
        m = c->hs_sent < c->hs_out.len ? (c->io.write_wants ? c->io.write_wants : LOOP_WRITE)
                                       : (c->io.read_wants ? c->io.read_wants : LOOP_READ);
    } else if (c->sess) {
        if (ws_session_want_read(c->sess))
            m |= c->io.read_wants ? c->io.read_wants : LOOP_READ;
        if (ws_session_want_write(c->sess))
            m |= c->io.write_wants ? c->io.write_wants : LOOP_WRITE;
    }
    loop_fd_mod(c->loop, c->io.fd, m);
}

/* After the session ran: act on its state. Returns false when the
 * connection is gone. */
static bool check_session(ws_client_t *c)
{
    ws_session_state_t s = ws_session_state(c->sess);
    if (s == WS_SESSION_CLOSED) {
        uint16_t code = 1005;
        const char *reason = "";
        size_t rlen = 0;
        bool peer = ws_session_peer_close(c->sess, &code, &reason, &rlen);
        int rc = EXIT_OK;
        if (!c->user_closed) {
            /* A close frame without a code (1005) is as normal as 1000. */
            rc = peer && (code == 1000 || code == 1001 || code == 1005) ? EXIT_OK : EXIT_FAIL;
            if (rc == EXIT_OK)
                diag_info("closed by the server: %u (%s)%s%.*s", code, ws_close_code_name(code),
                         rlen ? ": " : "", (int)rlen, reason);
            else
                diag_error("%s: closed by the server with %u (%s)%s%.*s", c->shown_url, code,
                          ws_close_code_name(code), rlen ? ": " : "", (int)rlen, reason);
        } else {
            diag_info("closed: %u (%s)", code, ws_close_code_name(code));
        }
        over(c, rc, true);
        return false;
    }
    if (s == WS_SESSION_FAILED) {
        uint16_t sent = 0;
        const char *why = ws_session_error(c->sess, &sent);
        if (c->user_closed && c->st == C_CLOSING) {
            /* We were leaving anyway: a peer that hangs up instead of
             * answering our close does not make the user's close fail. */
            diag_info("closed (%s)", why);
            over(c, EXIT_OK, false);
            return false;
        }
        if (sent)
            diag_error("%s: %s (closed with %u)", c->shown_url, why, sent);
        else if (c->have_io && c->io.error[0])
            diag_error("%s: %s (%s)", c->shown_url, why, c->io.error); /* the transport's reason */
        else
            diag_error("%s: %s", c->shown_url, why);
        over(c, EXIT_FAIL, true);
        return false;
    }
    update_mask(c);
    return true;
}

/* Runs the session. Callbacks it makes (a message that completes --count,
 * say) may queue frames and ask for another pump: that must not re-enter
 * wslay, so the request is noted and the outer pump goes round again. */
static void pump(ws_client_t *c)
{
    if (!c->sess)
        return;
    if (c->pumping) {
        c->pump_again = true;
        return;
    }
    c->pumping = true;
    do {
        c->pump_again = false;
        if (ws_session_want_read(c->sess))
            ws_session_read(c->sess);
        if (ws_session_want_write(c->sess))
            ws_session_write(c->sess);
    } while (c->pump_again);
    c->pumping = false;
    if (c->cbs.on_batch)
        c->cbs.on_batch(c->ud);
    if (c->sess)
        check_session(c);
}

static ssize_t tr_send(void *ud, const uint8_t *p, size_t n)
{
    ws_client_t *c = ud;
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    ssize_t w = transport_writev(&c->io, &iov, 1);
    return w == NETIO_AGAIN ? WS_IO_AGAIN : w == NETIO_ERR ? WS_IO_ERR : w;
}

static ssize_t tr_recv(void *ud, uint8_t *p, size_t n)
{
    ws_client_t *c = ud;
    ssize_t r = transport_read(&c->io, p, n);
    return r == NETIO_AGAIN ? WS_IO_AGAIN : r == NETIO_ERR ? WS_IO_ERR : r;
}

static void on_sess_message(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint64_t rtt)
{
    ws_client_t *c = ud;
    if (type == WS_PONG)
        c->ping_outstanding = false;
    if (c->cbs.on_message)
        c->cbs.on_message(c->ud, type, p, n, rtt);
}

static void on_sess_close(void *ud, uint16_t code, const char *reason, size_t len)
{
    ws_client_t *c = ud;
    if (c->cbs.on_peer_close)
        c->cbs.on_peer_close(c->ud, code, reason, len);
}

static void on_sess_sent(void *ud, ws_type_t type, const uint8_t *p, size_t n, uint16_t code)
{
    ws_client_t *c = ud;
    if (c->cbs.on_sent)
        c->cbs.on_sent(c->ud, type, p, n, code);
}

static void on_ping_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    ws_client_t *c = ud;
    if (!c->sess || c->st != C_OPEN)
        return;
    if (c->ping_outstanding) {
        char why[64];
        snprintf(why, sizeof(why), "no pong within %.1fs (--ping-interval)",
                 (double)c->o->ping_interval_ms / 1000.0);
        fail(c, true, why);
        return;
    }
    ws_session_ping(c->sess, NULL, 0);
    c->ping_outstanding = true;
    loop_timer_arm_ms(l, t, c->o->ping_interval_ms);
    pump(c);
}

static void on_close_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    ws_client_t *c = ud;
    diag_info("the server did not answer our close within %.1fs", CLOSE_WAIT_MS / 1000.0);
    over(c, EXIT_OK, false);
}

static void opened(ws_client_t *c, const ws_handshake_result_t *res)
{
    static const ws_session_callbacks_t scbs = {
        .send = tr_send,
        .recv = tr_recv,
        .on_message = on_sess_message,
        .on_close = on_sess_close,
    };
    loop_timer_stop(c->loop, &c->hs_timer);
    c->sess = ws_session_new(false, c->o->max_message, &scbs, c);
    ws_session_on_sent(c->sess, on_sess_sent);
    if (res->deflate) {
        char d[160];
        ws_pmd_describe(&res->pmd, d, sizeof(d));
        diag_verbose("permessage-deflate: %s", d);
        ws_session_set_deflate(c->sess, ws_pmd_new(&res->pmd, false, NULL, 0));
    } else if (c->o->compress) {
        diag_verbose("the server declined permessage-deflate: messages go uncompressed");
    }
    size_t extra = c->hs_in.len - res->head_len;
    if (extra)
        ws_session_feed_initial(c->sess, (const uint8_t *)c->hs_in.p + res->head_len, extra);
    buf_free(&c->hs_in);
    buf_free(&c->hs_out);
    c->st = C_OPEN;
    c->opens++;
    c->failures = 0;
    diag_info("%s %s%s%s", c->opens > 1 ? "reconnected to" : "connected to", c->shown_url,
             res->protocol[0] ? " subprotocol " : "", res->protocol);
    if (c->o->ping_interval_ms)
        loop_timer_arm_ms(c->loop, &c->ping_timer, c->o->ping_interval_ms);
    if (c->cbs.on_open)
        c->cbs.on_open(c->ud, res->protocol);
    if (c->st == C_OPEN || c->st == C_CLOSING)
        pump(c); /* frames that came with the 101, and what on_open queued */
}

static void handshake_io(ws_client_t *c)
{
    while (c->hs_sent < c->hs_out.len) {
        struct iovec iov = {.iov_base = c->hs_out.p + c->hs_sent,
                            .iov_len = c->hs_out.len - c->hs_sent};
        ssize_t w = transport_writev(&c->io, &iov, 1);
        if (w == NETIO_AGAIN) {
            update_mask(c);
            return;
        }
        if (w < 0) {
            char why[200];
            snprintf(why, sizeof(why), "sending the handshake failed: %s", c->io.error);
            fail(c, true, why);
            return;
        }
        c->hs_sent += (size_t)w;
    }
    for (;;) {
        buf_reserve(&c->hs_in, READ_CHUNK);
        ssize_t r = transport_read(&c->io, c->hs_in.p + c->hs_in.len, READ_CHUNK);
        if (r == NETIO_AGAIN)
            break;
        if (r == 0) {
            fail(c, true, "the server closed the connection during the handshake");
            return;
        }
        if (r < 0) {
            char why[200];
            snprintf(why, sizeof(why), "reading the handshake failed: %s", c->io.error);
            fail(c, true, why);
            return;
        }
        c->hs_in.len += (size_t)r;
        c->hs_in.p[c->hs_in.len] = '\0';
        ws_handshake_result_t res;
        int rc = ws_parse_response(c->hs_in.p, c->hs_in.len, WS_MAX_HEAD_DEFAULT, c->key,
                                   c->o->protocols, c->o->nprotocols,
                                   c->o->compress ? &deflate_offer : NULL, &res);
        if (rc == WS_HS_NEED_MORE)
            continue;
        size_t shown = rc == WS_HS_OK ? res.head_len : c->hs_in.len;
        verbose_lines("< ", c->hs_in.p, shown < 16384 ? shown : 16384, true);
        if (rc != WS_HS_OK) {
            fail(c, false, res.error);
            return;
        }
        opened(c, &res);
        return;
    }
    update_mask(c);
}

static void on_io(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    (void)events;
    ws_client_t *c = ud;
    if (c->st == C_HANDSHAKE)
        handshake_io(c);
    else if (c->st == C_OPEN || c->st == C_CLOSING)
        pump(c);
}

static void on_hs_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    ws_client_t *c = ud;
    char why[80];
    snprintf(why, sizeof(why), "no handshake response within %.1fs",
             (double)c->o->conn->connect_timeout_ms / 1000.0);
    fail(c, true, why);
}

static void on_connected(dial_t *nc, int ok, const char *why, void *ud)
{
    ws_client_t *c = ud;
    if (ok < 0) {
        /* why lives in nc: report before freeing it (over() frees c->nc).
         * A certificate that does not verify is final, as for SSE. */
        fail(c, !dial_cert_refused(nc), why);
        return;
    }
    dial_take(nc, &c->io);
    dial_free(nc);
    c->nc = NULL;
    c->have_io = true;
    if (loop_fd_add(c->loop, c->io.fd, LOOP_WRITE, on_io, c) < 0) {
        fail(c, false, "cannot watch the connection");
        return;
    }
    ws_make_key(c->key);
    ws_client_request_t req = {
        .host_header = c->url.host_header,
        .target = c->url.target,
        .origin = c->o->origin,
        .protocols = c->o->protocols,
        .nprotocols = c->o->nprotocols,
        .headers = c->hdrs,
        .nheaders = c->nhdrs,
        .basic_auth = c->o->conn->userpwd ? c->o->conn->userpwd : c->url.userpwd,
        .deflate = c->o->compress ? &deflate_offer : NULL,
    };
    buf_reset(&c->hs_out);
    ws_build_request(&c->hs_out, &req, c->key);
    verbose_lines("> ", c->hs_out.p, c->hs_out.len, true);
    c->hs_sent = 0;
    c->st = C_HANDSHAKE;
    loop_timer_arm_ms(c->loop, &c->hs_timer, c->o->conn->connect_timeout_ms);
    handshake_io(c);
}

static int attempt(ws_client_t *c)
{
    dial_target_t t = {.host = c->url.host, .port = c->url.port, .tls = c->url.tls};
    c->st = C_CONNECTING;
    c->nc = dial_start(c->loop, &t, c->o->conn, on_connected, c);
    return c->nc ? 0 : -1;
}

static void on_reconnect_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    ws_client_t *c = ud;
    if (attempt(c) < 0)
        end(c, EXIT_FAIL);
}

/* ---- public ---- */

ws_client_t *ws_client_new(loop_t *l, const ws_client_opts_t *o, const ws_client_callbacks_t *cbs,
                           void *ud)
{
    ws_client_t *c = xcalloc(1, sizeof(*c));
    c->loop = l;
    c->o = o;
    c->cbs = *cbs;
    c->ud = ud;
    buf_init(&c->hs_out);
    buf_init(&c->hs_in);
    loop_timer_init(&c->hs_timer, on_hs_timer, c);
    loop_timer_init(&c->ping_timer, on_ping_timer, c);
    loop_timer_init(&c->close_timer, on_close_timer, c);
    loop_timer_init(&c->reconnect_timer, on_reconnect_timer, c);
    c->shown_url = redact_url(o->url);
    for (const struct curl_slist *h = o->conn->headers; h; h = h->next)
        c->nhdrs++;
    c->hdrs = xcalloc(c->nhdrs ? c->nhdrs : 1, sizeof(*c->hdrs));
    size_t i = 0;
    for (const struct curl_slist *h = o->conn->headers; h; h = h->next)
        c->hdrs[i++] = h->data;
    return c;
}

int ws_client_start(ws_client_t *c)
{
    char err[300];
    if (ws_url_parse(c->o->url, &c->url, err, sizeof(err)) < 0) {
        diag_error("%s", err);
        return -1;
    }
    if (attempt(c) < 0) {
        diag_error("%s: cannot start connecting", c->shown_url);
        return -1;
    }
    return 0;
}

void ws_client_free(ws_client_t *c)
{
    if (!c)
        return;
    drop_connection(c);
    loop_timer_stop(c->loop, &c->reconnect_timer);
    ws_url_free(&c->url);
    free(c->hdrs);
    free(c->shown_url);
    free(c);
}

bool ws_client_is_open(const ws_client_t *c)
{
    return c->st == C_OPEN;
}

int ws_client_send(ws_client_t *c, ws_type_t type, const void *p, size_t n)
{
    if (c->st != C_OPEN || ws_session_send(c->sess, type, p, n) < 0)
        return -1;
    pump(c);
    return 0;
}

int ws_client_ping(ws_client_t *c, const void *p, size_t n)
{
    if (c->st != C_OPEN || ws_session_ping(c->sess, p, n) < 0)
        return -1;
    pump(c);
    return 0;
}

void ws_client_close(ws_client_t *c, uint16_t code, const char *reason)
{
    c->user_closed = true;
    if (c->st != C_OPEN) {
        if (c->st != C_CLOSING && c->st != C_DONE) {
            drop_connection(c);
            loop_timer_stop(c->loop, &c->reconnect_timer);
            end(c, EXIT_OK);
        }
        return;
    }
    ws_session_close(c->sess, code, reason);
    c->st = C_CLOSING;
    loop_timer_stop(c->loop, &c->ping_timer);
    loop_timer_arm_ms(c->loop, &c->close_timer, CLOSE_WAIT_MS);
    pump(c);
}

size_t ws_client_queued(const ws_client_t *c)
{
    return c->sess ? ws_session_queued(c->sess) : 0;
}
