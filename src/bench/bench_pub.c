/* bench_pub: timestamped POSTs to a publish endpoint, paced open-loop (see
 * bench_pub.h).
 *
 * BENCH_PUB_INFLIGHT slots, each with its own easy handle and body buffer,
 * made once and reused for every message it carries: one POST costs no
 * allocation of ours, and libcurl keeps the connections alive in the multi
 * handle's cache. Messages that are due while every slot is busy simply
 * stay in the rate scheduler: each keeps the intended time rate_due() gave
 * it, so a slow endpoint shows up as latency, not as a slower rate. */
#include "bench_pub.h"
#include "curl_errors.h"
#include "curl_multi.h"
#include "exitcode.h"
#include "rate.h"
#include "buf.h"
#include "clock.h"
#include "text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_ERROR_MAX 200
/* A POST without an answer by then has failed: a hung endpoint would
 * otherwise hold every slot and stop the publisher without a word. */
#define POST_TIMEOUT_MS_DEFAULT 10000L

typedef struct pub_slot {
    curlm_xfer_t x;              /* x.easy owned, kept between messages */
    struct bench_pub *p;
    buf_t body;                  /* owned: the message in flight */
    char errbuf[CURL_ERROR_SIZE];
    curlerr_conn_t conn;         /* the addresses this POST's connect tried */
} pub_slot_t;

struct bench_pub {
    loop_t *loop;
    curlm_t *m;                  /* owned */
    struct curl_slist *headers;  /* owned */
    char *url;                   /* owned copy */
    char *key;                   /* owned: `,"<field>":` JSON-escaped */
    double per_second;
    uint64_t messages;           /* due within the duration; UINT64_MAX: no bound */
    rate_t rate;
    loop_timer_t timer;          /* the next message's intended time */
    uint64_t mono0, real0;       /* clocks read together at start */
    bool running;
    uint64_t accepted, failed;
    char first_error[FIRST_ERROR_MAX]; /* "" until a failure */
    pub_slot_t slot[BENCH_PUB_INFLIGHT];
    unsigned busy;               /* slots with a POST in flight */
};

static void fail(bench_pub_t *p, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void fail(bench_pub_t *p, const char *fmt, ...)
{
    p->failed++;
    if (p->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->first_error, sizeof(p->first_error), fmt, ap);
    va_end(ap);
}

static void pump(bench_pub_t *p);

/* Runs from curlm's drain, outside curl's callbacks. */
static void on_done(curlm_xfer_t *x, CURLcode r)
{
    pub_slot_t *s = x->ud;
    bench_pub_t *p = s->p;
    char msg[FIRST_ERROR_MAX];
    curlm_remove(p->m, x);
    p->busy--;
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (r != CURLE_OK)
        fail(p, "%s", curlerr_message_of(x->easy, r, s->errbuf, &s->conn, msg, sizeof(msg)));
    else if (code < 200 || code > 299)
        fail(p, "the publish endpoint answered HTTP %ld", code);
    else
        p->accepted++;
    if (p->running)
        pump(p);
}

static size_t discard(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * n;
}

static pub_slot_t *free_slot(bench_pub_t *p)
{
    for (size_t i = 0; i < BENCH_PUB_INFLIGHT; i++)
        if (!p->slot[i].x.added)
            return &p->slot[i];
    return NULL;
}

static void send_one(bench_pub_t *p, pub_slot_t *s, uint64_t seq, uint64_t intended_mono)
{
    uint64_t t = p->real0 + (intended_mono - p->mono0);
    buf_reset(&s->body);
    buf_printf(&s->body, "{\"seq\":%" PRIu64 "%s%" PRIu64 "}", seq, p->key, t);
    curl_easy_setopt(s->x.easy, CURLOPT_POSTFIELDSIZE, (long)s->body.len);
    curl_easy_setopt(s->x.easy, CURLOPT_POSTFIELDS, s->body.p);
    s->errbuf[0] = '\0';
    curlerr_conn_reset(&s->conn);
    if (curlm_add(p->m, &s->x) != CURLM_OK) {
        fail(p, "cannot start a POST");
        return;
    }
    p->busy++;
}

/* Sends what is due while a slot is free, then waits: for the next
 * message's time, or (every slot busy) for a POST to finish. */
static void pump(bench_pub_t *p)
{
    uint64_t now = mono_ns();
    pub_slot_t *s;
    while ((s = free_slot(p))) {
        uint64_t seq = rate_taken(&p->rate), intended;
        if (!rate_pop(&p->rate, now, &intended))
            break;
        send_one(p, s, seq, intended);
    }
    if (p->busy < BENCH_PUB_INFLIGHT) {
        uint64_t due = rate_next_due(&p->rate);
        if (due != UINT64_MAX)
            loop_timer_arm_at(p->loop, &p->timer, due);
    } else {
        loop_timer_stop(p->loop, &p->timer);
    }
}

static void on_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    bench_pub_t *p = ud;
    if (p->running)
        pump(p);
}

/* `,"<field>":` with the field name escaped as a JSON string. */
static char *make_key(const char *field)
{
    buf_t b;
    buf_init(&b);
    buf_puts(&b, ",\"");
    for (const unsigned char *c = (const unsigned char *)field; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_printf(&b, "\\%c", *c);
        else if (*c < 0x20)
            buf_printf(&b, "\\u%04x", *c);
        else
            buf_putc(&b, (char)*c);
    }
    buf_puts(&b, "\":");
    return b.p;
}

static bool is_http_url(const char *url)
{
    return ascii_ieq(url, "http://", 7) || ascii_ieq(url, "https://", 8);
}

bench_pub_t *bench_pub_new(loop_t *l, const bench_pub_config_t *cfg, char *err, size_t errlen)
{
    rate_t probe;
    if (!cfg->url || strlen(cfg->url) < 8 || !is_http_url(cfg->url)) {
        snprintf(err, errlen, "--publish: '%s' is not an http:// or https:// URL",
                 cfg->url ? cfg->url : "");
        return NULL;
    }
    if (rate_init(&probe, cfg->rate, 0) < 0) {
        snprintf(err, errlen, "--publish-rate: %g is not a rate between %g and %g per second",
                 cfg->rate, RATE_MIN, RATE_MAX);
        return NULL;
    }
    bench_pub_t *p = xcalloc(1, sizeof(*p));
    p->loop = l;
    p->per_second = cfg->rate;
    p->messages = cfg->duration_ns ? rate_due_within(&probe, cfg->duration_ns) : UINT64_MAX;
    p->url = xstrdup(cfg->url);
    p->key = make_key(cfg->field && *cfg->field ? cfg->field : "ts_ns");
    loop_timer_init(&p->timer, on_timer, p);
    p->m = curlm_new(l);
    if (!p->m) {
        snprintf(err, errlen, "cannot create a libcurl multi handle");
        goto fail;
    }
    const conn_settings_t *co = cfg->co;
    if (co)
        for (const struct curl_slist *h = co->headers; h; h = h->next)
            p->headers = curl_slist_append(p->headers, h->data);
    if (!co || !conn_settings_has_header(co, "Content-Type"))
        p->headers = curl_slist_append(p->headers, "Content-Type: application/json");
    p->headers = curl_slist_append(p->headers, "Expect:"); /* never wait for 100 */
    for (size_t i = 0; i < BENCH_PUB_INFLIGHT; i++) {
        pub_slot_t *s = &p->slot[i];
        s->p = p;
        s->x.ud = s;
        s->x.done = on_done;
        buf_init(&s->body);
        CURL *e = s->x.easy = curl_easy_init();
        if (!e) {
            snprintf(err, errlen, "cannot create a libcurl handle");
            goto fail;
        }
        curl_easy_setopt(e, CURLOPT_URL, p->url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "evcat/" EVCAT_VERSION);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
        curlerr_watch(e, &s->conn); /* no proxy: via_proxy stays false */
        if (co)
            conn_settings_apply_curl(co, e);
        else
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROXY, ""); /* direct, like the subscribers */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         cfg->timeout_ms > 0 ? cfg->timeout_ms : POST_TIMEOUT_MS_DEFAULT);
    }
    return p;
fail:
    bench_pub_free(p);
    return NULL;
}

void bench_pub_start(bench_pub_t *p)
{
    p->mono0 = mono_ns();
    p->real0 = real_ns();
    p->running = p->messages > 0;
    if (!p->running)
        return;
    /* The message due at the end is the next window's: a tick that sees
     * the end a little late must not send it. */
    rate_init_ramp(&p->rate, p->per_second, p->mono0, p->messages); /* validated in bench_pub_new */
    pump(p);
}

void bench_pub_stop(bench_pub_t *p)
{
    p->running = false;
    loop_timer_stop(p->loop, &p->timer);
}

unsigned bench_pub_busy(const bench_pub_t *p)
{
    return p->busy;
}

void bench_pub_abort(bench_pub_t *p)
{
    bench_pub_stop(p);
    for (size_t i = 0; i < BENCH_PUB_INFLIGHT; i++) {
        if (p->slot[i].x.added) {
            curlm_remove(p->m, &p->slot[i].x);
            p->busy--;
        }
    }
}

uint64_t bench_pub_accepted(const bench_pub_t *p)
{
    return p->accepted;
}

uint64_t bench_pub_failed(const bench_pub_t *p)
{
    return p->failed;
}

const char *bench_pub_first_error(const bench_pub_t *p)
{
    return p->first_error;
}

void bench_pub_free(bench_pub_t *p)
{
    if (!p)
        return;
    bench_pub_abort(p);
    for (size_t i = 0; i < BENCH_PUB_INFLIGHT; i++) {
        if (p->slot[i].x.easy)
            curl_easy_cleanup(p->slot[i].x.easy);
        buf_free(&p->slot[i].body);
    }
    curlm_free(p->m);
    curl_slist_free_all(p->headers);
    free(p->url);
    free(p->key);
    free(p);
}
