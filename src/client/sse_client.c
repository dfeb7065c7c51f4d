#include "sse_client.h"
#include "curl_errors.h"
#include "exitcode.h"
#include "diag.h"
#include "transport.h"
#include "buf.h"
#include "clock.h"
#include "text.h"
#include "redact.h"
#include "http_request.h"

#include <stdlib.h>
#include <string.h>

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF /* any value != the chunk size aborts */
#endif

#define DEFAULT_RETRY_MS 3000
#define BACKOFF_CAP_MS   30000
#define ERRBODY_MAX      1024 /* bytes of an error response kept for the message */
#define ERRBODY_WAIT_MS  500  /* how long the body of an error response is awaited */

enum abort_kind {
    ABORT_NONE,
    ABORT_OWNER,   /* the owner stopped us (count reached, shutting down) */
    ABORT_STATUS,  /* bad status or content type: collect a bit of body, fail */
    ABORT_FATAL,   /* reported already; fail */
};

struct sse_client {
    loop_t *loop;
    curlm_t *m;
    const sse_client_opts_t *o;
    sse_client_callbacks_t cbs;
    void *ud;

    curlm_xfer_t x;
    struct curl_slist *hdrs; /* this attempt's request headers; owned */
    sse_parser_t *parser;    /* owned; keeps the last event ID across attempts */
    char *shown_url;         /* url with any password redacted; owned */
    char errbuf[CURL_ERROR_SIZE];
    curlerr_conn_t conn;     /* the addresses this attempt's connect tried */
    buf_t errbody;           /* start of a non-200 response's body; owned */

    uint64_t retry_ms;
    unsigned failures;       /* consecutive attempts that did not open */
    unsigned attempts;       /* reconnection attempts in all (--max-retries) */
    unsigned opens;
    uint64_t events;
    bool opened;             /* this attempt's response was validated */
    bool location;           /* the response head coming has a Location */
    bool ended;
    enum abort_kind abort;

    loop_timer_t reconnect_timer;
    loop_timer_t idle_timer;
    loop_timer_t errbody_timer; /* ABORT_STATUS: stop waiting for the body */
};

static void end(sse_client_t *c, int code)
{
    if (c->ended)
        return;
    c->ended = true;
    loop_timer_stop(c->loop, &c->idle_timer);
    loop_timer_stop(c->loop, &c->reconnect_timer);
    loop_timer_stop(c->loop, &c->errbody_timer);
    if (c->cbs.on_end)
        c->cbs.on_end(c->ud, code);
}

/* ---- parser callbacks ---- */

static void touch_idle(sse_client_t *c)
{
    if (c->o->idle_timeout_ms)
        loop_timer_arm_ms(c->loop, &c->idle_timer, c->o->idle_timeout_ms);
}

static int on_parsed_event(void *ud, const sse_event_t *ev)
{
    sse_client_t *c = ud;
    c->events++;
    touch_idle(c);
    return c->cbs.on_event ? c->cbs.on_event(c->ud, ev) : 0;
}

static void on_parsed_retry(void *ud, uint64_t ms)
{
    sse_client_t *c = ud;
    c->retry_ms = ms;
    diag_verbose("* server set retry to %llu ms", (unsigned long long)ms);
}

static void on_parsed_comment(void *ud, const char *text, size_t len)
{
    (void)text;
    (void)len;
    touch_idle(ud);
}

/* ---- response validation ---- */

/* Returns 0 when the response opens a stream; otherwise what is wrong is
 * left for report_bad_response(). */
static int validate(sse_client_t *c)
{
    long code = 0;
    char *ct = NULL;
    curl_easy_getinfo(c->x.easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c->x.easy, CURLINFO_CONTENT_TYPE, &ct);
    if (code != 200 || !sse_is_event_stream(ct))
        return -1;
    c->opened = true;
    c->opens++;
    c->failures = 0;
    char *ip = NULL;
    char *eff = NULL;
    curl_easy_getinfo(c->x.easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(c->x.easy, CURLINFO_EFFECTIVE_URL, &eff);
    diag_info("%s %s (%s)", c->opens > 1 ? "reconnected to" : "connected to", c->shown_url,
             ip && *ip ? ip : "?");
    touch_idle(c);
    return 0;
}

static void report_bad_response(sse_client_t *c)
{
    long code = 0;
    char *ct = NULL;
    curl_easy_getinfo(c->x.easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c->x.easy, CURLINFO_CONTENT_TYPE, &ct);
    /* One line, with the start of the body: APIs explain errors there. */
    buf_t why;
    buf_init(&why);
    for (size_t i = 0; i < c->errbody.len && why.len < 200; i++) {
        unsigned char ch = (unsigned char)c->errbody.p[i];
        buf_putc(&why, ch < 0x20 || ch == 0x7f ? ' ' : (char)ch);
    }
    const char *sep = why.len ? ": " : "";
    if (code == 407) /* the proxy's answer, not the server's */
        diag_error("%s: the proxy answered HTTP 407: it wants credentials "
                   "(-x http://USER:PASSWORD@host:port)",
                   c->shown_url);
    else if (code != 200)
        diag_error("%s: server answered HTTP %ld, not an event stream%s%s", c->shown_url, code,
                  sep, why.len ? why.p : "");
    else
        diag_error("%s: Content-Type is '%s', not text/event-stream", c->shown_url,
                  ct ? ct : "(none)");
    buf_free(&why);
}

/* A bad response is failed once its body (for the message) is in, or
 * ERRBODY_WAIT_MS after its head: a server that sends a 503 or a JSON
 * error and then holds the connection open does not hold evcat with it. */
static void fail_bad_response(sse_client_t *c)
{
    curlm_remove(c->m, &c->x);
    report_bad_response(c);
    end(c, EXIT_FAIL);
}

static void on_errbody_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    sse_client_t *c = ud;
    if (c->abort == ABORT_STATUS && c->x.added)
        fail_bad_response(c);
}

/* ---- curl callbacks ---- */

/* The end of a response head (its blank line): the final response's status
 * and Content-Type are known, so a response that is no event stream is
 * known to be one now, not when its body comes (which may be never). Heads
 * of 1xx responses and of redirects curl follows are not final; a proxy's
 * CONNECT answer never comes here (CURLOPT_SUPPRESS_CONNECT_HEADERS). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sse_client_t *c = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) /* a status line: a new head */
        c->location = false;
    else if (len >= 9 && ascii_ieq(p, "Location:", 9))
        c->location = true;
    if (len == 0 || len > 2 || (len == 2 && p[0] != '\r') || p[len - 1] != '\n' ||
        c->abort != ABORT_NONE || c->opened)
        return len;
    long code = 0;
    curl_easy_getinfo(c->x.easy, CURLINFO_RESPONSE_CODE, &code);
    /* (Past CURLOPT_MAXREDIRS the transfer fails on its own.) */
    if (code < 200 || code == 204 || (code / 100 == 3 && c->location))
        return len;
    if (validate(c) < 0) {
        c->abort = ABORT_STATUS;
        loop_timer_arm_ms(c->loop, &c->errbody_timer, ERRBODY_WAIT_MS);
    }
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    sse_client_t *c = ud;
    size_t len = size * n;
    if (c->abort == ABORT_STATUS) {
        size_t room = ERRBODY_MAX - c->errbody.len;
        buf_append(&c->errbody, p, len < room ? len : room);
        return c->errbody.len >= ERRBODY_MAX ? CURL_WRITEFUNC_ERROR : len;
    }
    if (!c->opened && validate(c) < 0) {
        c->abort = ABORT_STATUS;
        return on_write(p, size, n, ud);
    }
    int rc = sse_parser_feed(c->parser, p, len, NULL);
    if (c->cbs.on_batch)
        c->cbs.on_batch(c->ud);
    if (rc == SSE_STOP) {
        c->abort = ABORT_OWNER;
        return CURL_WRITEFUNC_ERROR;
    }
    if (rc == SSE_ERR_TOO_BIG) {
        diag_error("%s: an event or line exceeded --max-event-size (%zu bytes)", c->shown_url,
                  c->o->max_event);
        c->abort = ABORT_FATAL;
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

static int start_attempt(sse_client_t *c);

static void schedule_reconnect(sse_client_t *c, const char *why)
{
    if (c->o->max_retries >= 0 && c->attempts >= (uint64_t)c->o->max_retries) {
        diag_error("%s: %s; giving up after %u reconnection attempt%s (--max-retries)",
                  c->shown_url, why, c->attempts, c->attempts == 1 ? "" : "s");
        end(c, EXIT_FAIL);
        return;
    }
    uint64_t base = c->retry_ms;
    uint64_t cap = base > BACKOFF_CAP_MS ? base : BACKOFF_CAP_MS;
    uint64_t delay = backoff_ms(base, c->failures, cap);
    c->attempts++;
    diag_info("%s; reconnecting in %.1fs (attempt %u)", why, (double)delay / 1000.0, c->attempts);
    loop_timer_arm_ms(c->loop, &c->reconnect_timer, delay);
}

/* The attempt is over: decide between ending and reconnecting. */
static void attempt_over(sse_client_t *c, bool broken, const char *why)
{
    bool was_open = c->opened;
    sse_parser_end(c->parser);
    loop_timer_stop(c->loop, &c->idle_timer);
    if (!was_open)
        c->failures++;
    if (!c->o->reconnect) {
        if (broken) {
            diag_error("%s: %s", c->shown_url, why);
            end(c, EXIT_FAIL);
        } else {
            diag_info("stream ended");
            end(c, EXIT_OK);
        }
        return;
    }
    schedule_reconnect(c, why);
}

static void on_done(curlm_xfer_t *x, CURLcode res)
{
    sse_client_t *c = x->ud;
    curlm_remove(c->m, x);
    if (c->abort == ABORT_OWNER)
        return;
    if (c->abort == ABORT_FATAL) {
        end(c, EXIT_FAIL);
        return;
    }
    if (c->abort == ABORT_STATUS || (!c->opened && (res == CURLE_OK))) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code == 204) {
            diag_info("%s: server answered 204 No Content: no more events", c->shown_url);
            end(c, EXIT_OK);
            return;
        }
        if (c->abort == ABORT_STATUS || validate(c) < 0) {
            report_bad_response(c);
            end(c, EXIT_FAIL);
            return;
        }
    }
    if (res == CURLE_OK) {
        attempt_over(c, false, "stream ended");
        return;
    }
    char msg[CURL_ERROR_SIZE + 64];
    const char *detail = curlerr_message_of(x->easy, res, c->errbuf, &c->conn, msg, sizeof(msg));
    /* Only transient trouble is worth a reconnect (curl_errors.h). */
    if (!curlerr_transient(res) || c->opens == 0) {
        /* The same hint the WebSocket side gives for an untrusted certificate
         * (none for an expired one: trusting it would not help). */
        long vr = 0;
        if (res == CURLE_PEER_FAILED_VERIFICATION)
            curl_easy_getinfo(x->easy, CURLINFO_SSL_VERIFYRESULT, &vr);
        diag_error("%s: %s%s%s", c->shown_url, detail, transport_verify_hint(vr),
                  res == CURLE_SSL_CONNECT_ERROR ? transport_plain_hint(detail, false) : "");
        end(c, EXIT_FAIL);
        return;
    }
    attempt_over(c, true, detail);
}

static void on_idle(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    sse_client_t *c = ud;
    if (!c->x.added)
        return;
    if (c->abort == ABORT_STATUS) { /* a bad response is no stream to retry */
        fail_bad_response(c);
        return;
    }
    curlm_remove(c->m, &c->x);
    buf_t why;
    buf_init(&why);
    buf_printf(&why, "no event or comment for %.1fs (--idle-timeout)",
               (double)c->o->idle_timeout_ms / 1000.0);
    attempt_over(c, true, why.p);
    buf_free(&why);
}

static void on_reconnect_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    sse_client_t *c = ud;
    if (start_attempt(c) < 0)
        end(c, EXIT_FAIL);
}

static int start_attempt(sse_client_t *c)
{
    const conn_settings_t *co = c->o->conn;
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    for (const struct curl_slist *h = co->headers; h; h = h->next)
        if (!http_user_header_named(h->data, "Last-Event-ID")) /* see sse_client_new */
            c->hdrs = curl_slist_append(c->hdrs, h->data);
    if (!conn_settings_has_header(co, "Accept"))
        c->hdrs = curl_slist_append(c->hdrs, "Accept: text/event-stream");
    if (!conn_settings_has_header(co, "Cache-Control"))
        c->hdrs = curl_slist_append(c->hdrs, "Cache-Control: no-cache");
    size_t idlen;
    const char *id = sse_parser_last_id(c->parser, &idlen);
    if (idlen) {
        buf_t h;
        buf_init(&h);
        buf_puts(&h, "Last-Event-ID: ");
        buf_append(&h, id, idlen);
        c->hdrs = curl_slist_append(c->hdrs, h.p);
        buf_free(&h);
    }
    curl_easy_setopt(c->x.easy, CURLOPT_HTTPHEADER, c->hdrs);

    c->opened = false;
    c->abort = ABORT_NONE;
    loop_timer_stop(c->loop, &c->errbody_timer);
    c->errbuf[0] = '\0';
    curlerr_conn_reset(&c->conn);
    buf_reset(&c->errbody);
    sse_parser_restart(c->parser);
    diag_verbose("* connecting to %s", c->shown_url);
    CURLMcode rc = curlm_add(c->m, &c->x);
    if (rc != CURLM_OK) {
        diag_error("%s: cannot start the transfer: %s", c->shown_url, curl_multi_strerror(rc));
        return -1;
    }
    /* The wait for the response counts too: a server that accepts and then
     * never answers, or drips its header lines, sends no event either. */
    touch_idle(c);
    return 0;
}

/* ---- public ---- */

sse_client_t *sse_client_new(loop_t *l, curlm_t *m, const sse_client_opts_t *o,
                             const sse_client_callbacks_t *cbs, void *ud)
{
    sse_client_t *c = xcalloc(1, sizeof(*c));
    c->loop = l;
    c->m = m;
    c->o = o;
    c->cbs = *cbs;
    c->ud = ud;
    c->retry_ms = DEFAULT_RETRY_MS;
    buf_init(&c->errbody);
    loop_timer_init(&c->reconnect_timer, on_reconnect_timer, c);
    loop_timer_init(&c->idle_timer, on_idle, c);
    loop_timer_init(&c->errbody_timer, on_errbody_timer, c);
    static const sse_parser_callbacks_t pcbs = {
        .on_event = on_parsed_event,
        .on_retry = on_parsed_retry,
        .on_comment = on_parsed_comment,
    };
    c->parser = sse_parser_new(o->max_event, &pcbs, c);
    /* -H 'Last-Event-ID: X' is where the stream starts, like --last-event-id:
     * a reconnect sends the last ID the stream gave since, as EventSource
     * does, not X again (start_attempt leaves the user's header out). */
    const char *first_id =
        o->last_event_id ? o->last_event_id : conn_settings_header_value(o->conn, "Last-Event-ID");
    if (first_id)
        sse_parser_set_last_id(c->parser, first_id, strlen(first_id));
    c->shown_url = redact_url(o->url);
    c->x.ud = c;
    c->x.done = on_done;
    c->x.easy = curl_easy_init();
    if (!c->parser || !c->x.easy) {
        sse_client_free(c);
        return NULL;
    }
    CURL *e = c->x.easy;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    c->conn.via_proxy = curlerr_via_proxy(o->url, o->conn);
    curlerr_watch(e, &c->conn);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, o->http_version);
    /* Big reads: a fast stream is parsed in few, large chunks. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "evcat/" EVCAT_VERSION);
    if (o->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
    }
    if (o->method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
    conn_settings_apply_curl(o->conn, e);
    return c;
}

int sse_client_start(sse_client_t *c)
{
    return start_attempt(c);
}

void sse_client_free(sse_client_t *c)
{
    if (!c)
        return;
    curlm_remove(c->m, &c->x);
    loop_timer_stop(c->loop, &c->idle_timer);
    loop_timer_stop(c->loop, &c->reconnect_timer);
    loop_timer_stop(c->loop, &c->errbody_timer);
    if (c->x.easy)
        curl_easy_cleanup(c->x.easy);
    curl_slist_free_all(c->hdrs);
    sse_parser_free(c->parser);
    buf_free(&c->errbody);
    free(c->shown_url);
    free(c);
}

uint64_t sse_client_events(const sse_client_t *c)
{
    return c->events;
}

unsigned sse_client_opens(const sse_client_t *c)
{
    return c->opens;
}
