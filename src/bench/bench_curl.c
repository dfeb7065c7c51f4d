/* bench_curl: the request lists, easy handle options and outcome kinds
 * bench's libcurl drivers share (see bench_curl.h). */
#include "bench_curl.h"
#include "curl_errors.h"
#include "transport.h"
#include "buf.h"
#include "sse_parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_curl_lists(const bench_config_t *cfg, struct curl_slist **headers,
                     struct curl_slist **resolve, char *err, size_t errlen)
{
    const conn_settings_t *co = cfg->co;
    if (co)
        for (const struct curl_slist *h = co->headers; h; h = h->next)
            *headers = curl_slist_append(*headers, h->data);
    if (!co || !conn_settings_has_header(co, "Accept"))
        *headers = curl_slist_append(*headers, "Accept: text/event-stream");
    if (!co || !conn_settings_has_header(co, "Cache-Control"))
        *headers = curl_slist_append(*headers, "Cache-Control: no-cache");
    if (!*headers) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cfg->curl_resolve) {
        *resolve = curl_slist_append(NULL, cfg->curl_resolve);
        if (!*resolve) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

CURL *bench_curl_easy(const bench_config_t *cfg, struct curl_slist *headers,
                      struct curl_slist *resolve, void *ud, curl_write_callback on_header,
                      curl_write_callback on_write, curl_opensocket_callback on_opensocket)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, cfg->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "evcat/" EVCAT_VERSION);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, ud);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, ud);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, ud);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, BENCH_CURL_BUFFERSIZE);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, BENCH_CURL_UPLOAD_BUFFERSIZE);
    /* A proxy's CONNECT answer is not the stream's head. */
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
    if (cfg->co)
        conn_settings_apply_curl(cfg->co, e); /* also NOSIGNAL and CONNECTTIMEOUT */
    else
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* A load test connects directly (proxy variables ignored), and -v is
     * about the run, not a trace of every one of thousands of streams. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_VERBOSE, 0L);
    return e;
}

int bench_curl_pool_init(bench_curl_pool_t *p, bench_worker_t *w, char *err, size_t errlen)
{
    p->w = w;
    uint64_t n = w->nconns ? w->nconns : 1;
    p->nm = (size_t)((n + BENCH_CURL_PER_MULTI - 1) / BENCH_CURL_PER_MULTI);
    p->m = xcalloc(p->nm, sizeof(*p->m));
    for (size_t i = 0; i < p->nm; i++) {
        p->m[i] = curlm_new(w->loop);
        if (!p->m[i]) {
            snprintf(err, errlen, "cannot create a libcurl multi handle");
            return -1;
        }
        CURLM *multi = curlm_multi(p->m[i]);
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)BENCH_CURL_PER_MULTI + 16);
        curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    }
    return bench_curl_lists(w->cfg, &p->headers, &p->resolve, err, errlen);
}

void bench_curl_pool_free(bench_curl_pool_t *p)
{
    for (size_t i = 0; p->m && i < p->nm; i++)
        curlm_free(p->m[i]);
    free(p->m);
    curl_slist_free_all(p->headers);
    curl_slist_free_all(p->resolve);
    memset(p, 0, sizeof(*p));
}

/* Every socket of a transfer comes from bench_socket: bound to the
 * connection's source address; a failure's errno is kept to classify
 * curl's CURLE_COULDNT_CONNECT (EMFILE, EADDRNOTAVAIL...). */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    bench_curl_xfer_t *t = ud;
    int fd = bench_socket(t->pool->w->cfg, a->family, a->socktype, a->protocol, t->index);
    if (fd < 0) {
        t->sock_err = -fd;
        return CURL_SOCKET_BAD;
    }
    return fd;
}

CURL *bench_curl_xfer_init(bench_curl_xfer_t *t, bench_curl_pool_t *p, uint64_t index,
                           curlm_done_fn done, curl_write_callback on_header,
                           curl_write_callback on_write)
{
    t->pool = p;
    t->index = index;
    t->x.ud = t;
    t->x.done = done;
    t->m = p->m[p->started++ % p->nm];
    t->x.easy = bench_curl_easy(p->w->cfg, p->headers, p->resolve, t, on_header, on_write,
                                on_opensocket);
    return t->x.easy;
}

void bench_curl_xfer_release(bench_curl_xfer_t *t)
{
    curlm_remove(t->m, &t->x);
    curl_easy_cleanup(t->x.easy);
    t->x.easy = NULL;
}

void bench_curl_tls_example(bench_worker_t *w, CURL *e, CURLcode r)
{
    if (!bench_example_wanted(w, BERR_TLS))
        return;
    long vr = 0;
    char why[BENCH_ERR_EXAMPLE_MAX];
    if (curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &vr) == CURLE_OK &&
        transport_verify_words(vr, w->cfg->host, why, sizeof(why)))
        bench_example(w, BERR_TLS, "%s", why);
    else
        bench_example(w, BERR_TLS, "TLS: %s", curl_easy_strerror(r));
}

bench_err_t bench_curl_connect_kind(CURL *e, CURLcode r, int sock_err)
{
    long oserr = 0;
    curlerr_class_t cls = curlerr_class(r);
    switch (cls) {
    case CURLERR_TLS:
        return BERR_TLS;
    case CURLERR_TIMEOUT:
        return BERR_CONNECT_TIMEOUT;
    case CURLERR_CONNECT:
    case CURLERR_IO:
        if (sock_err)
            return bench_errno_kind(sock_err);
        curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
        if (oserr)
            return bench_errno_kind((int)oserr);
        return cls == CURLERR_CONNECT ? BERR_CONNECT : BERR_RESET;
    case CURLERR_NONE:   /* a response that ended within its head */
    case CURLERR_CLOSED: /* closed before any response, or within it */
        return BERR_CLOSED;
    case CURLERR_NOT_HTTP:
    case CURLERR_HTTP2:
    case CURLERR_HTTP2_STREAM:
        return BERR_PROTOCOL;
    case CURLERR_OTHER:
        break;
    }
    return BERR_CONNECT;
}

bench_err_t bench_curl_lost_kind(CURLcode r)
{
    switch (curlerr_class(r)) {
    case CURLERR_NONE:   /* the server ended the response */
    case CURLERR_CLOSED: /* ... cut short, or sent nothing */
        return BERR_CLOSED;
    case CURLERR_HTTP2:
    case CURLERR_NOT_HTTP:
        return BERR_PROTOCOL;
    case CURLERR_CONNECT:
    case CURLERR_IO:
    case CURLERR_TIMEOUT:
    case CURLERR_TLS:
    case CURLERR_HTTP2_STREAM:
    case CURLERR_OTHER:
        break;
    }
    return BERR_RESET; /* read/write errors (ECONNRESET...), a stream killed by the peer */
}

bench_head_t bench_curl_head_line(CURL *e, const char *p, size_t len, bool *head_done, long *code,
                                  char **ct)
{
    bool blank = (len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n');
    if (*head_done || !blank)
        return BENCH_HEAD_MORE;
    *code = 0;
    *ct = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
    if (*code >= 100 && *code < 200)
        return BENCH_HEAD_MORE;
    *head_done = true;
    curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, ct);
    return *code == 200 && sse_is_event_stream(*ct) ? BENCH_HEAD_OK : BENCH_HEAD_BAD;
}
