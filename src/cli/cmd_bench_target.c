/* cmd_bench_target: one URL of `evcat bench`: resolved once, the source
 * addresses to spread its connections over, the TLS context and WebSocket
 * request every connection shares, how many worker processes and threads,
 * then the run (see cmd_bench.h). */
#include "cmd_bench.h"
#include "bench_plan.h"
#include "bench_pub.h"
#include "buf.h"
#include "connect_error.h"
#include "diag.h"
#include "redact.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define FD_RESERVE       256   /* descriptors a process keeps for itself */
/* Connections to one target from one source address past which connect()
 * slows down: Linux takes local ports from the even half of the range
 * first (~14,000 of 32768-60999), and once that is full each connect()
 * scans it. Measured here (4 namespace hosts against nginx + nchan,
 * 2,500/s): 25,000 an address timed out 28% of 100,000 with 102 s of the
 * shards' CPU; 8,300 an address established all with 17 s. */
#define PORTS_PER_SOURCE 12000
/* Loopback targets get a source address per this many connections,
 * starting at 127.0.0.2 (127.0.0.1 tends to hold TIME_WAIT sockets of
 * earlier runs): the kernel's search for a free port
 * (__inet_check_established) slows down as one address's ports fill.
 * Measured here at 19,000 connections: one address cost 6.7 s of system
 * CPU and reached 885 connects/s, eight 1.2 s and 7,459/s (a loaded
 * machine); 100,000 against nchan: 25 addresses stalled at 56k with 85 s of
 * system CPU, 100 addresses established all at 18.7k/s with 8.2 s. */
#define AUTO_CONNS_PER_SOURCE 1000
#define MAX_SOURCES           250

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Whether connections can be made from ss: a bind to it (port 0, the
 * socket closed at once) succeeds. Else errno says why (EADDRNOTAVAIL: no
 * interface has it). */
static bool local_address(const struct sockaddr_storage *ss)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    bool ok = bind(fd, (const struct sockaddr *)ss, len) == 0;
    int e = errno;
    close(fd);
    errno = e;
    return ok;
}

static int parse_sources(const char *list, int family, struct sockaddr_storage **out, size_t *n)
{
    char *copy = xstrdup(list);
    size_t cap = 8;
    *out = xcalloc(cap, sizeof(**out));
    *n = 0;
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, tok, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, tok, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
        } else {
            diag_error("bench: --source '%s' is not an IPv4 or IPv6 address", tok);
            rc = -1;
            break;
        }
        if (ss.ss_family != family) {
            diag_error("bench: --source %s is %s but the target is %s", tok,
                       ss.ss_family == AF_INET ? "IPv4" : "IPv6",
                       family == AF_INET ? "IPv4" : "IPv6");
            rc = -1;
            break;
        }
        if (*n == cap)
            *out = xrealloc(*out, (cap *= 2) * sizeof(**out));
        (*out)[(*n)++] = ss;
    }
    free(copy);
    if (rc == 0 && *n == 0) {
        diag_error("bench: --source needs at least one address");
        rc = -1;
    }
    return rc;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)n);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)n);
}

/* Whether a TCP connection to sa is accepted within a second. */
static bool probe_connect(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, sa, len) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        ok = poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
             err == 0;
    }
    close(fd);
    return ok;
}

int target_parse(const char *url, int mode, target_t *t)
{
    char err[256];
    memset(t, 0, sizeof(*t));
    t->url = url;
    t->display = redact_url(url);
    char *conv = NULL;
    if (strncmp(url, "http://", 7) == 0) {
        t->kind = BENCH_SSE;
        conv = xmalloc(strlen(url) + 1);
        sprintf(conv, "ws://%s", url + 7);
    } else if (strncmp(url, "https://", 8) == 0) {
        t->kind = BENCH_SSE;
        conv = xmalloc(strlen(url) + 1);
        sprintf(conv, "wss://%s", url + 8);
    } else if (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0) {
        t->kind = mode == BENCH_WS_SUBSCRIBE ? BENCH_WS_SUBSCRIBE
                  : mode == BENCH_WS_REPLAY  ? BENCH_WS_REPLAY
                                             : BENCH_WS_ECHO;
    } else {
        diag_error("bench: '%s' is not an http(s):// (SSE) or ws(s):// (WebSocket) URL",
                   t->display);
        return -1;
    }
    int rc = ws_url_parse(conv ? conv : url, &t->u, err, sizeof(err));
    free(conv);
    if (rc < 0) {
        diag_error("bench: '%s': %s", t->display, err);
        return -1;
    }
    t->parsed = true;
    return 0;
}

void target_free(target_t *t)
{
    free(t->display);
    if (t->parsed)
        ws_url_free(&t->u);
}

const char *target_mode_name(bench_kind_t k)
{
    return k == BENCH_WS_ECHO        ? "echo"
           : k == BENCH_WS_SUBSCRIBE ? "subscribe"
           : k == BENCH_WS_REPLAY    ? "replay"
                                     : "sse";
}

/* Resolves t's host once: the load goes to one address, which curl is
 * told too (CURLOPT_RESOLVE). Returns 0, or -1 after the one-line error. */
static int resolve_target(const target_t *t, bench_config_t *cfg, char *addr, size_t addrlen)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)t->u.port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(t->u.host, port, &hints, &ai);
    if (g != 0 || !ai) {
        diag_error("bench: cannot resolve '%s': %s", t->u.host, gai_strerror(g));
        return -1;
    }
    /* A name with several addresses (localhost: ::1 and 127.0.0.1): the
     * load goes to the first that accepts a connection now, as a client
     * trying each in turn would settle on. */
    const struct addrinfo *pick = ai;
    if (ai->ai_next) {
        for (const struct addrinfo *a = ai; a; a = a->ai_next) {
            if (probe_connect(a->ai_addr, a->ai_addrlen)) {
                pick = a;
                break;
            }
        }
    }
    memcpy(&cfg->addr, pick->ai_addr, pick->ai_addrlen);
    cfg->addrlen = pick->ai_addrlen;
    freeaddrinfo(ai);
    fmt_addr(&cfg->addr, addr, addrlen);
    size_t rl = strlen(t->u.host) + strlen(addr) + 16;
    cfg->curl_resolve = xmalloc(rl);
    snprintf(cfg->curl_resolve, rl, cfg->addr.ss_family == AF_INET6 ? "%s:%u:[%s]" : "%s:%u:%s",
             t->u.host, (unsigned)t->u.port, addr);
    return 0;
}

/* --shard I/N takes slice I of N of the --source list, contiguous: host I
 * of a cluster then uses the addresses listed I-th. With fewer addresses
 * than shards, each shard still gets one. */
static void shard_sources(const bench_opts_t *o, bench_config_t *cfg)
{
    size_t k = cfg->nsources;
    size_t lo = (size_t)((uint64_t)o->shard_index * k / o->shard_count);
    size_t hi = (size_t)((uint64_t)(o->shard_index + 1) * k / o->shard_count);
    if (hi == lo)
        hi = lo + 1;
    memmove(cfg->sources, cfg->sources + lo, (hi - lo) * sizeof(*cfg->sources));
    cfg->nsources = hi - lo;
}

/* The local addresses to connect from: --source (this shard's slice), or for a loopback target
 * 127.0.0.2 and on, one per AUTO_CONNS_PER_SOURCE connections. Returns 0,
 * or -1 after the one-line error. */
static int plan_sources(const bench_opts_t *o, bench_config_t *cfg)
{
    if (o->source) {
        if (parse_sources(o->source, cfg->addr.ss_family, &cfg->sources, &cfg->nsources) < 0)
            return -1;
        if (o->shard_count > 1)
            shard_sources(o, cfg);
        for (size_t i = 0; i < cfg->nsources; i++) /* this shard's: others are other hosts' */
            if (!local_address(&cfg->sources[i])) {
                char a[INET6_ADDRSTRLEN];
                fmt_addr(&cfg->sources[i], a, sizeof(a));
                diag_error("bench: --source %s: not an address of this machine (%s)", a,
                           strerror(errno));
                return -1;
            }
        if (o->connections / cfg->nsources > PORTS_PER_SOURCE)
            diag_warn("bench: %" PRIu64 " connections from %zu source address%s: connect() "
                      "slows down past ~%d an address; give more --source addresses",
                      o->connections, cfg->nsources, cfg->nsources == 1 ? "" : "es",
                      PORTS_PER_SOURCE);
        return 0;
    }
    if (cfg->addr.ss_family == AF_INET &&
        (ntohl(((struct sockaddr_in *)&cfg->addr)->sin_addr.s_addr) >> 24) == 127 &&
        o->connections > AUTO_CONNS_PER_SOURCE) {
        size_t n = (size_t)((o->connections + AUTO_CONNS_PER_SOURCE - 1) / AUTO_CONNS_PER_SOURCE);
        if (n > MAX_SOURCES)
            n = MAX_SOURCES;
        cfg->sources = xcalloc(n, sizeof(*cfg->sources));
        cfg->nsources = n;
        for (size_t i = 0; i < n; i++) {
            struct sockaddr_in *in = (struct sockaddr_in *)&cfg->sources[i];
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)i);
        }
    } else if (o->connections > PORTS_PER_SOURCE) {
        diag_warn("bench: %" PRIu64 " connections from one source address: connect() slows "
                  "down past ~%d and its ~28k local ports run out; spread them with --source",
                  o->connections, PORTS_PER_SOURCE);
    }
    return 0;
}

/* TLS and the WebSocket request, built once for every connection. *hdrs:
 * the -H headers as an array (owned by the caller). Returns 0, or -1 after
 * the one-line error. */
static int plan_request(const bench_opts_t *o, const conn_opts_t *co, const ws_cli_opts_t *wo,
                        const target_t *t, bench_config_t *cfg, const char ***hdrs)
{
    char err[256] = "";
    bool own_tls = t->kind != BENCH_SSE || (!o->sse_curl && !o->streams);
    if (own_tls && t->u.tls) {
        cfg->ssl_ctx = transport_tls_client_ctx(co->net.cacert, co->net.cert, co->net.key,
                                                co->net.insecure, err, sizeof(err));
        if (!cfg->ssl_ctx) {
            diag_error("bench: %s", err);
            return -1;
        }
    }
    size_t nh = 0;
    for (struct curl_slist *s = co->net.headers; s; s = s->next)
        nh++;
    *hdrs = xcalloc(nh + 1, sizeof(**hdrs));
    nh = 0;
    for (struct curl_slist *s = co->net.headers; s; s = s->next)
        (*hdrs)[nh++] = s->data;
    cfg->ws_req.host_header = t->u.host_header;
    cfg->ws_req.target = t->u.target;
    cfg->ws_req.origin = wo->origin;
    cfg->ws_req.protocols = wo->protocols;
    cfg->ws_req.nprotocols = wo->nprotocols;
    cfg->ws_req.headers = *hdrs;
    cfg->ws_req.nheaders = nh;
    cfg->ws_req.basic_auth = cfg->userpwd;
    /* --compress: no context takeover either way, so that the worker's
     * shared zlib contexts serve every connection; --compress-takeover:
     * the offer of listen, contexts kept per connection. */
    static const ws_pmd_offer_t no_takeover = {.server_no_context_takeover = true,
                                               .client_no_context_takeover = true,
                                               .client_max_window_bits = WS_PMD_BITS_ANY};
    static const ws_pmd_offer_t takeover = {.client_max_window_bits = WS_PMD_BITS_ANY};
    if (t->kind != BENCH_SSE && wo->compress)
        cfg->ws_req.deflate = wo->compress_takeover ? &takeover : &no_takeover;
    cfg->compress_takeover = wo->compress_takeover;
    return 0;
}

/* Worker processes, as many as the descriptor limit needs (or -p), and
 * threads per process (-t, or the cores shared out). Returns the number of
 * processes, or 0 after the one-line error. */
static unsigned plan_processes(const bench_opts_t *o, bench_config_t *cfg, uint64_t *nofile)
{
    *nofile = nofile_raise("bench");
    uint64_t per_proc = *nofile > FD_RESERVE * 2 ? *nofile - FD_RESERVE : *nofile / 2;
    unsigned procs = o->procs;
    if (procs == 0)
        procs = (unsigned)((o->connections + per_proc - 1) / per_proc);
    if (procs == 0)
        procs = 1;
    if (procs > MAX_PROCS) {
        diag_error("bench: %" PRIu64 " connections would need %u worker processes of %" PRIu64
                   " descriptors each; the most is %d",
                   o->connections, procs, per_proc, MAX_PROCS);
        return 0;
    }
    if (o->connections / procs + 1 > per_proc)
        diag_warn("bench: %" PRIu64 " connections per process exceed its descriptor limit "
                  "(%" PRIu64 "): expect fd_limit errors; use more processes (-p)",
                  o->connections / procs + 1, *nofile);
    uint64_t per = (o->connections + procs - 1) / procs;
    unsigned threads = o->threads;
    if (threads == 0) {
        /* as many as the work needs, at most this process's cores */
        bench_plan_load_t load = {.echo = cfg->kind == BENCH_WS_ECHO && cfg->message_rate > 0,
                                  .connections = per,
                                  .message_rate = cfg->message_rate,
                                  .connect_rate = o->connect_rate / procs};
        char why[200];
        threads = bench_plan_threads(&load, cores() / procs ? cores() / procs : 1, why, sizeof(why));
        diag_verbose("bench: threads per process: %u (-t not given; %s)", threads, why);
    }
    if (per > 0 && threads > per)
        threads = (unsigned)per;
    cfg->threads = threads;
    return procs;
}

/* What bench_run needs from the options and the target, before planning. */
static void base_config(const bench_opts_t *o, const conn_opts_t *co, const ws_cli_opts_t *wo,
                        const target_t *t, bench_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->kind = t->kind;
    cfg->url = t->url;
    cfg->host = t->u.host;
    cfg->port = t->u.port;
    cfg->tls = t->u.tls;
    cfg->target = t->u.target;
    cfg->host_header = t->u.host_header;
    cfg->connections = o->connections;
    cfg->connect_rate = o->connect_rate;
    cfg->duration_ns = o->duration_ns;
    cfg->message_rate = o->message_rate;
    cfg->size = (size_t)o->size;
    cfg->binary = wo->binary;
    cfg->latency_field = o->latency_field;
    cfg->max_message = (size_t)wo->max_message;
    cfg->co = &co->net;
    cfg->userpwd = co->net.userpwd ? co->net.userpwd : t->u.userpwd;
    cfg->on_open = wo->on_open;
    cfg->non_open = wo->non_open;
    cfg->first_index = o->first_index;
    cfg->replay = t->kind == BENCH_WS_REPLAY ? &o->replay.script : NULL;
    if (o->streams && t->kind == BENCH_SSE) {
        cfg->streams.on = true;
        cfg->streams.method = o->method;
        cfg->streams.body = o->data_arg ? o->body.p : NULL;
        cfg->streams.body_len = o->body.len;
        cfg->streams.requests = o->requests;
        cfg->streams.arrival_rate = o->arrival_rate;
        cfg->streams.arrivals = o->arrivals;
        cfg->streams.end_data = o->end_data;
        cfg->streams.idle_timeout_ms = o->idle_timeout_ms;
    }
}

/* t->why_none after a run that established nothing, from the error kind
 * most connections failed with: refused or the connect timeout in listen's
 * words for the one resolved address bench dials (addr), any other kind
 * as its name and first example (e.g. "http_status: 404, ..."). */
static void explain_none(target_t *t, const conn_opts_t *co, const char *addr,
                         const bench_result_t *res)
{
    t->why_none[0] = '\0';
    if (res->c.established > 0)
        return;
    int top = -1;
    for (int k = 0; k < BERR_COUNT; k++)
        if (res->c.errors[k] && (top < 0 || res->c.errors[k] > res->c.errors[top]))
            top = k;
    if (top < 0)
        return;
    char hp[INET6_ADDRSTRLEN + 16];
    connect_error_hostport(hp, sizeof(hp), addr, t->u.port);
    if (top == BERR_REFUSED)
        connect_error_format(t->why_none, sizeof(t->why_none), ECONNREFUSED, hp, false, 1);
    else if (top == BERR_CONNECT_TIMEOUT)
        snprintf(t->why_none, sizeof(t->why_none), "timed out after %.1fs connecting to %s",
                 (double)co->net.connect_timeout_ms / 1000.0, hp);
    else if (res->ex.text[top][0] &&
             snprintf(t->why_none, sizeof(t->why_none), "%s: %s", bench_err_name((bench_err_t)top),
                      res->ex.text[top]) >= (int)sizeof(t->why_none))
        strcpy(t->why_none + sizeof(t->why_none) - 4, "..."); /* a long example, cut */
}

int target_run(const bench_opts_t *o, const conn_opts_t *co, const ws_cli_opts_t *wo, target_t *t,
               bool isolate, progress_t *pr, bench_result_t *res)
{
    bench_config_t cfg;
    base_config(o, co, wo, t, &cfg);
    /* subscribers send nothing: what goes out is --publish's messages */
    pr->out_label = t->kind == BENCH_WS_SUBSCRIBE || (t->kind == BENCH_SSE && !o->streams)
                        ? "published"
                        : "out";
    int rc = 2;
    const char **hdrs = NULL;
    char addr[INET6_ADDRSTRLEN];
    uint64_t nofile;
    unsigned procs = 0;
    if (resolve_target(t, &cfg, addr, sizeof(addr)) < 0) {
        rc = 1;
        goto out;
    }
    if (plan_sources(o, &cfg) < 0 || plan_request(o, co, wo, t, &cfg, &hdrs) < 0 ||
        (procs = plan_processes(o, &cfg, &nofile)) == 0)
        goto out;
    diag_verbose("bench: %s (%s) at %s, %" PRIu64 " connections, %u process%s x %u thread%s, "
                 "%zu source address%s, descriptor limit %" PRIu64,
                 t->display, target_mode_name(t->kind), addr, o->connections, procs,
                 procs == 1 ? "" : "es", cfg.threads, cfg.threads == 1 ? "" : "s",
                 cfg.nsources ? cfg.nsources : 1, cfg.nsources > 1 ? "es" : "", nofile);

    const bench_driver_t *drv = t->kind != BENCH_SSE ? &bench_ws_driver
                                : cfg.streams.on     ? &bench_stream_driver
                                : o->sse_curl        ? &bench_sse_driver
                                                     : &bench_sse_h1_driver;
    if (t->kind == BENCH_SSE)
        diag_verbose("bench: SSE %s on %s", cfg.streams.on ? "streams as requests" : "subscribers",
                     drv == &bench_sse_h1_driver ? "the native HTTP/1.1 driver"
                                                 : "libcurl (one transfer a stream)");
    bench_pub_config_t pubcfg = {
        .url = o->publish, .rate = o->publish_rate, .timeout_ms = o->publish_timeout_ms,
        .field = o->latency_field, .co = &co->net, .duration_ns = o->duration_ns};
    const bench_pub_config_t *pub = o->publish ? &pubcfg : NULL;
    char err[256] = "";
    int r;
    if (procs == 1 && !isolate)
        r = bench_run(&cfg, drv, pub, progress_show, pr, res, err, sizeof(err));
    else
        r = workers_run(&cfg, drv, pub, procs, pr, res, err, sizeof(err));
    if (r == 0)
        progress_measured(pr, res);
    progress_end(pr);
    rc = 1;
    if (r < 0) {
        diag_error("bench: %s", err);
        goto out;
    }
    explain_none(t, co, addr, res);
    rc = 0;
    if (cfg.ws_req.deflate && res->deflate_connections == 0 && res->c.established > 0)
        diag_warn("bench: %s: the server declined permessage-deflate: messages went "
                  "uncompressed",
                  t->display);
out:
    free(hdrs);
    free(cfg.curl_resolve);
    free(cfg.sources);
    if (cfg.ssl_ctx)
        SSL_CTX_free(cfg.ssl_ctx);
    return rc;
}
