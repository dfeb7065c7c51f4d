/* dial: DNS, TCP, proxy tunnel and TLS for one client connection, all on
 * the loop (see dial.h). One attempt moves through the states below under
 * one deadline timer; every failure goes through fail(), which cleans up and
 * calls done exactly once. After done(0) the caller takes the transport_t, and
 * nothing of the attempt stays allocated but the struct dial_free frees. */
#include "dial.h"
#include "connect_error.h"
#include "http_request.h"
#include "diag.h"
#include "buf.h"
#include "redact.h"
#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* The most a proxy may send as its answer to CONNECT before the blank line. */
#define PROXY_HEAD_MAX 16384
/* curl's default port for a proxy URL without one. */
#define PROXY_DEFAULT_PORT 1080
#define DEFAULT_TIMEOUT_MS 30000
/* getaddrinfo needs far less than the default 8 MiB; bench may have many
 * lookups in flight at once. */
#define RESOLVER_STACK (256 * 1024)

/* ---- DNS in a helper thread ------------------------------------------ */

/* Shared by the dial and its lookup thread; whoever drops the last
 * reference frees it, so dial_free during a lookup just lets go. */
typedef struct resolve {
    atomic_int refs;
    atomic_bool done; /* set (release) by the thread once res/gai_err are written */
    int efd;          /* eventfd the thread signals; owned, closed by the last owner */
    char *host;       /* owned */
    char port[8];
    struct addrinfo *res; /* owned until the dial takes it */
    int gai_err;
    int sys_errno; /* errno when gai_err is EAI_SYSTEM */
} resolve_t;

static void resolve_unref(resolve_t *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (r->res)
        freeaddrinfo(r->res);
    close(r->efd);
    free(r->host);
    free(r);
}

static void *resolve_thread(void *arg)
{
    resolve_t *r = arg;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    errno = 0;
    r->gai_err = getaddrinfo(r->host, r->port, &hints, &r->res);
    r->sys_errno = errno;
    atomic_store_explicit(&r->done, true, memory_order_release);
    uint64_t one = 1;
    ssize_t w = write(r->efd, &one, sizeof(one));
    (void)w; /* an eventfd write only fails on overflow, impossible here */
    resolve_unref(r);
    return NULL;
}

/* ---- shared client TLS contexts --------------------------------------- */

/* One SSL_CTX per distinct set of TLS options (not per connection: a context
 * with a CA store costs far more than a connection). Keyed by content, so a
 * conn_settings_t freed and reallocated at the same address cannot pick up a
 * stale context. Shared across bench's threads, hence the lock. */
typedef struct ctx_entry {
    char *cacert, *cert, *key; /* owned copies (NULL allowed) */
    bool insecure;
    SSL_CTX *ctx; /* one reference owned */
} ctx_entry_t;

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static ctx_entry_t *ctx_reg; /* owned */
static size_t ctx_count;

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void ctx_registry_free(void)
{
    pthread_mutex_lock(&ctx_lock);
    for (size_t i = 0; i < ctx_count; i++) {
        SSL_CTX_free(ctx_reg[i].ctx);
        free(ctx_reg[i].cacert);
        free(ctx_reg[i].cert);
        free(ctx_reg[i].key);
    }
    free(ctx_reg);
    ctx_reg = NULL;
    ctx_count = 0;
    pthread_mutex_unlock(&ctx_lock);
}

/* The shared context for co's TLS options (borrowed: valid until exit), or
 * NULL with a reason in err. */
static SSL_CTX *client_ctx(const conn_settings_t *co, char *err, size_t errlen)
{
    const char *cacert = co ? co->cacert : NULL, *cert = co ? co->cert : NULL;
    const char *key = co ? co->key : NULL;
    bool insecure = co ? co->insecure : false;
    SSL_CTX *ctx = NULL;
    pthread_mutex_lock(&ctx_lock);
    for (size_t i = 0; i < ctx_count; i++) {
        ctx_entry_t *e = &ctx_reg[i];
        if (e->insecure == insecure && str_eq(e->cacert, cacert) && str_eq(e->cert, cert) &&
            str_eq(e->key, key)) {
            ctx = e->ctx;
            goto out;
        }
    }
    ctx = transport_tls_client_ctx(cacert, cert, key, insecure, err, errlen);
    if (!ctx)
        goto out;
    /* Registered after OpenSSL's own exit handler (set up by SSL_CTX_new),
     * so it runs first. */
    if (ctx_count == 0 && !ctx_reg)
        atexit(ctx_registry_free);
    ctx_reg = xrealloc(ctx_reg, (ctx_count + 1) * sizeof(*ctx_reg));
    ctx_reg[ctx_count++] = (ctx_entry_t){
        .cacert = cacert ? xstrdup(cacert) : NULL,
        .cert = cert ? xstrdup(cert) : NULL,
        .key = key ? xstrdup(key) : NULL,
        .insecure = insecure,
        .ctx = ctx,
    };
out:
    pthread_mutex_unlock(&ctx_lock);
    return ctx;
}

/* ---- proxy selection (curl's rules) ----------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Whether the address literals a and b (same family) agree in their first
 * bits bits. */
static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

/* One no_proxy entry (tok, len) against host. Host names match the entry
 * or any subdomain of it (a leading or trailing dot is ignored), case
 * insensitively; address literals match an address or CIDR range of the
 * same family. Like curl, no name is resolved and ports are not part of
 * the match. */
static bool noproxy_entry(const char *host, const char *tok, size_t len)
{
    unsigned char haddr[16], taddr[16];
    int fam = 0;
    if (inet_pton(AF_INET, host, haddr) == 1)
        fam = AF_INET;
    else if (inet_pton(AF_INET6, host, haddr) == 1)
        fam = AF_INET6;

    if (fam) {
        char ip[INET6_ADDRSTRLEN + 8];
        if (len >= sizeof(ip))
            return false;
        memcpy(ip, tok, len);
        ip[len] = '\0';
        unsigned maxbits = fam == AF_INET ? 32 : 128, bits = maxbits;
        char *slash = strchr(ip, '/');
        if (slash) {
            char *end;
            unsigned long b = strtoul(slash + 1, &end, 10);
            if (end == slash + 1 || *end || b > maxbits)
                return false;
            bits = (unsigned)b;
            *slash = '\0';
        }
        /* "[::1]" is accepted too, though curl documents it without brackets. */
        char *p = ip;
        size_t n = strlen(p);
        if (fam == AF_INET6 && n >= 2 && p[0] == '[' && p[n - 1] == ']') {
            p[n - 1] = '\0';
            p++;
        }
        if (inet_pton(fam, p, taddr) != 1)
            return false;
        return prefix_match(haddr, taddr, bits);
    }

    size_t hlen = strlen(host);
    if (hlen && host[hlen - 1] == '.')
        hlen--;
    if (len && tok[len - 1] == '.')
        len--;
    if (len && tok[0] == '.') {
        tok++;
        len--;
    }
    if (len == 0 || len > hlen)
        return false;
    if (len == hlen)
        return ascii_ieq(host, tok, len);
    return host[hlen - len - 1] == '.' && ascii_ieq(host + hlen - len, tok, len);
}

static bool noproxy_match(const char *host, const char *list)
{
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - tok);
        if (len == 0)
            continue;
        /* curl honours "*" only as the whole list; as one entry of a list
         * it can only mean the same thing. */
        if (len == 1 && tok[0] == '*')
            return true;
        if (noproxy_entry(host, tok, len))
            return true;
    }
    return false;
}

const char *dial_proxy_for(const dial_target_t *t, const conn_settings_t *co)
{
    const char *p;
    if (co && co->proxy) {
        p = co->proxy; /* -x "" means: no proxy, whatever the environment says */
    } else {
        if (t->tls)
            p = env("https_proxy") ? env("https_proxy") : env("HTTPS_PROXY");
        else
            p = env("http_proxy"); /* never HTTP_PROXY: CGI sets it from a header */
        if (!p)
            p = env("all_proxy") ? env("all_proxy") : env("ALL_PROXY");
    }
    if (!p || !*p)
        return NULL;
    const char *np = env("no_proxy") ? env("no_proxy") : env("NO_PROXY");
    if (np && noproxy_match(t->host, np))
        return NULL;
    return p;
}

/* ---- the connection attempt ------------------------------------------ */

enum nc_state {
    NC_RESOLVING,
    NC_CONNECTING,
    NC_PROXY_SEND,
    NC_PROXY_RECV,
    NC_TLS,
    NC_READY,
    NC_FAILED,
};

struct dial {
    loop_t *l;
    dial_target_t t;    /* t.host borrowed from the caller */
    const conn_settings_t *co; /* borrowed; may be NULL */
    dial_done_fn done;
    void *ud;
    enum nc_state state;
    bool in_start; /* done may not run inside dial_start: defer it */
    int result;    /* for the deferred done */
    loop_timer_t deadline;
    loop_timer_t later; /* runs the deferred done */
    uint64_t timeout_ms;
    resolve_t *rq;       /* one reference owned while resolving */
    struct addrinfo *ai; /* owned: addresses of the host we connect to */
    struct addrinfo *cur;
    int tried;    /* addresses tried */
    transport_t io;   /* owned until dial_take; io.fd -1 when none */
    SSL_CTX *ctx; /* from the registry, not owned */
    /* With a proxy: where it is and how to log in. */
    char *proxy_host; /* owned; NULL without a proxy */
    uint16_t proxy_port;
    char *proxy_auth; /* owned, wiped on free: base64 of user:password */
    buf_t pbuf;       /* owned: the CONNECT request, then the answer's head */
    size_t psent;
    char addr[INET6_ADDRSTRLEN + 8]; /* the address being tried, printable */
    bool cert_refused; /* the server's certificate failed verification */
    char why[384];
};

static void on_fd(loop_t *l, int fd, unsigned events, void *ud);

/* Addresses as every connect error writes them ("[::1]:80"). */
#define fmt_hostport connect_error_hostport
#define fmt_sockaddr connect_error_sockaddr

static void wipe_buf(buf_t *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->cap);
    buf_free(b);
}

/* Releases everything the attempt holds but the struct itself (and the
 * connection when it is ready: dial_take moves it out). */
static void release(dial_t *nc)
{
    loop_timer_stop(nc->l, &nc->deadline);
    if (nc->rq) {
        loop_fd_del(nc->l, nc->rq->efd);
        resolve_unref(nc->rq);
        nc->rq = NULL;
    }
    if (nc->ai) {
        freeaddrinfo(nc->ai);
        nc->ai = nc->cur = NULL;
    }
    wipe_buf(&nc->pbuf);
    if (nc->proxy_auth) {
        secret_free(nc->proxy_auth);
        nc->proxy_auth = NULL;
    }
    free(nc->proxy_host);
    nc->proxy_host = NULL;
    if (nc->state != NC_READY && nc->io.fd >= 0) {
        loop_fd_del(nc->l, nc->io.fd);
        transport_close(&nc->io);
    }
}

/* Ends the attempt: done runs now, or from the loop when still inside
 * dial_start. The caller must not touch nc afterwards (done may free it). */
static void finish(dial_t *nc, int ok)
{
    nc->state = ok == 0 ? NC_READY : NC_FAILED;
    nc->result = ok;
    release(nc);
    if (nc->state == NC_READY)
        loop_fd_mod(nc->l, nc->io.fd, 0); /* silent until taken */
    if (nc->in_start) {
        loop_timer_arm(nc->l, &nc->later, 0);
        return;
    }
    nc->done(nc, ok, ok == 0 ? NULL : nc->why, nc->ud);
}

static void fail(dial_t *nc, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void fail(dial_t *nc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nc->why, sizeof(nc->why), fmt, ap);
    va_end(ap);
    finish(nc, -1);
}

static void on_later(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    dial_t *nc = ud;
    nc->done(nc, nc->result, nc->result == 0 ? NULL : nc->why, nc->ud);
}

/* The host and port of the TCP connection: the proxy's, or the target's. */
static const char *conn_host(const dial_t *nc)
{
    return nc->proxy_host ? nc->proxy_host : nc->t.host;
}

static uint16_t conn_port(const dial_t *nc)
{
    return nc->proxy_host ? nc->proxy_port : nc->t.port;
}

static void on_deadline(loop_t *l, loop_timer_t *t, void *ud)
{
    (void)l;
    (void)t;
    dial_t *nc = ud;
    static const char *const phase[] = {
        [NC_RESOLVING] = " (resolving)",
        [NC_CONNECTING] = "",
        [NC_PROXY_SEND] = " (waiting for proxy)",
        [NC_PROXY_RECV] = " (waiting for proxy)",
        [NC_TLS] = " (TLS handshake)",
        [NC_READY] = "",
        [NC_FAILED] = "",
    };
    char hp[300];
    fmt_hostport(hp, sizeof(hp), nc->t.host, nc->t.port);
    fail(nc, "timed out after %.1fs connecting to %s%s", (double)nc->timeout_ms / 1000.0, hp,
         phase[nc->state]);
}

static void ready(dial_t *nc)
{
    finish(nc, 0);
}

static void tls_step(dial_t *nc)
{
    int r = transport_handshake(&nc->io);
    if (r == 0) {
        const SSL_CIPHER *c = SSL_get_current_cipher(nc->io.ssl);
        diag_verbose("* TLS handshake done: %s, %s%s", SSL_get_version(nc->io.ssl),
                    c ? SSL_CIPHER_get_name(c) : "?",
                    nc->co && nc->co->insecure ? " (certificate not verified: -k)" : "");
        ready(nc);
        return;
    }
    if (r == NETIO_AGAIN) {
        loop_fd_mod(nc->l, nc->io.fd, nc->io.read_wants);
        return;
    }
    char why[sizeof(nc->why)];
    transport_tls_client_error(&nc->io, nc->t.host, why, sizeof(why));
    nc->cert_refused = transport_verify_failure(&nc->io) != X509_V_OK;
    fail(nc, "%s", why);
}

/* The byte stream to the target is up (directly or through the tunnel). */
static void stream_up(dial_t *nc)
{
    if (!nc->t.tls) {
        ready(nc);
        return;
    }
    int fd = nc->io.fd;
    nc->state = NC_TLS;
    if (transport_init_tls_client(&nc->io, fd, nc->ctx, nc->t.host) < 0) {
        fail(nc, "TLS: %s", nc->io.error);
        return;
    }
    tls_step(nc);
}

static void proxy_send(dial_t *nc)
{
    while (nc->psent < nc->pbuf.len) {
        ssize_t w = send(nc->io.fd, nc->pbuf.p + nc->psent, nc->pbuf.len - nc->psent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_fd_mod(nc->l, nc->io.fd, LOOP_WRITE);
            return;
        }
        if (w < 0) {
            char hp[300];
            fmt_hostport(hp, sizeof(hp), nc->proxy_host, nc->proxy_port);
            fail(nc, "proxy %s: %s", hp, strerror(errno));
            return;
        }
        nc->psent += (size_t)w;
    }
    wipe_buf(&nc->pbuf); /* it held the credentials */
    nc->state = NC_PROXY_RECV;
    loop_fd_mod(nc->l, nc->io.fd, LOOP_READ);
}

static void proxy_answer(dial_t *nc)
{
    char hp[300], target[300];
    fmt_hostport(hp, sizeof(hp), nc->proxy_host, nc->proxy_port);
    fmt_hostport(target, sizeof(target), nc->t.host, nc->t.port);
    const char *p = nc->pbuf.p;
    /* "HTTP/1.1 200 Connection established" */
    int code = 0;
    const char *sp = strchr(p, ' ');
    if (strncmp(p, "HTTP/", 5) == 0 && sp && sp[1] >= '1' && sp[1] <= '5' && sp[2] >= '0' &&
        sp[2] <= '9' && sp[3] >= '0' && sp[3] <= '9' &&
        (sp[4] == ' ' || sp[4] == '\r' || sp[4] == '\n'))
        code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    if (!code) {
        fail(nc, "proxy %s sent a malformed answer to CONNECT %s", hp, target);
        return;
    }
    char reason[80];
    size_t n = 0;
    const char *r = sp + 4;
    while (*r == ' ')
        r++;
    for (; *r && *r != '\r' && *r != '\n' && n < sizeof(reason) - 1; r++)
        reason[n++] = (*r >= 0x20 && *r < 0x7f) ? *r : '?';
    reason[n] = '\0';
    if (code / 100 != 2) {
        fail(nc, "proxy %s answered HTTP %d%s%s to CONNECT %s", hp, code, n ? " " : "", reason,
             target);
        return;
    }
    diag_verbose("* proxy tunnel to %s established: HTTP %d %s", target, code, reason);
    buf_free(&nc->pbuf);
    stream_up(nc);
}

/* Reads the proxy's answer head without consuming a byte past it: what
 * follows belongs to the tunnelled stream (there should be nothing, as the
 * target has not heard from us yet, but it must not be lost). Peeks, then
 * consumes exactly the head's bytes. */
static void proxy_recv(dial_t *nc)
{
    char hp[300];
    fmt_hostport(hp, sizeof(hp), nc->proxy_host, nc->proxy_port);
    for (;;) {
        size_t have = nc->pbuf.len, room = PROXY_HEAD_MAX - have;
        buf_reserve(&nc->pbuf, room);
        ssize_t n = recv(nc->io.fd, nc->pbuf.p + have, room, MSG_PEEK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            fail(nc, "proxy %s: %s", hp, strerror(errno));
            return;
        }
        if (n == 0) {
            fail(nc, "proxy %s closed the connection during CONNECT", hp);
            return;
        }
        size_t end = http_head_end(nc->pbuf.p, have >= 2 ? have - 2 : 0, have + (size_t)n);
        size_t take = end ? end - have : (size_t)n;
        ssize_t got;
        do
            got = recv(nc->io.fd, nc->pbuf.p + have, take, 0);
        while (got < 0 && errno == EINTR);
        if (got != (ssize_t)take) {
            fail(nc, "proxy %s: %s", hp, got < 0 ? strerror(errno) : "short read");
            return;
        }
        nc->pbuf.len = have + take;
        nc->pbuf.p[nc->pbuf.len] = '\0';
        if (end) {
            proxy_answer(nc);
            return;
        }
        if (nc->pbuf.len >= PROXY_HEAD_MAX) {
            fail(nc, "proxy %s: answer to CONNECT larger than %d bytes", hp, PROXY_HEAD_MAX);
            return;
        }
    }
}

static void tcp_connected(dial_t *nc)
{
    diag_verbose("* connected to %s", nc->addr);
    freeaddrinfo(nc->ai); /* the other addresses are no longer needed */
    nc->ai = nc->cur = NULL;
    if (!nc->proxy_host) {
        stream_up(nc);
        return;
    }
    char target[300];
    fmt_hostport(target, sizeof(target), nc->t.host, nc->t.port);
    diag_verbose("* CONNECT %s%s", target, nc->proxy_auth ? " (with proxy credentials)" : "");
    buf_printf(&nc->pbuf, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: evcat/%s\r\n", target,
               target, EVCAT_VERSION);
    if (nc->proxy_auth)
        buf_printf(&nc->pbuf, "Proxy-Authorization: Basic %s\r\n", nc->proxy_auth);
    buf_puts(&nc->pbuf, "\r\n");
    nc->psent = 0;
    nc->state = NC_PROXY_SEND;
    proxy_send(nc);
}

static void connect_failed(dial_t *nc, int err)
{
    char why[300];
    connect_error_format(why, sizeof(why), err, nc->addr, nc->proxy_host != NULL,
                         (unsigned)nc->tried);
    fail(nc, "%s", why);
}

/* Tries nc->cur and the addresses after it until one is in progress. */
static void connect_next(dial_t *nc)
{
    int err = 0;
    nc->state = NC_CONNECTING;
    for (; nc->cur; nc->cur = nc->cur->ai_next) {
        struct addrinfo *a = nc->cur;
        fmt_sockaddr(nc->addr, sizeof(nc->addr), a->ai_addr);
        nc->tried++;
        diag_verbose("* connecting to %s%s", nc->proxy_host ? "proxy " : "", nc->addr);
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc < 0 && errno != EINPROGRESS) {
            err = errno;
            diag_verbose("* %s: %s", nc->addr, strerror(err));
            close(fd);
            continue;
        }
        transport_init_plain(&nc->io, fd);
        int lr = loop_fd_add(nc->l, fd, LOOP_WRITE, on_fd, nc);
        if (lr < 0) {
            close(fd);
            nc->io.fd = -1;
            fail(nc, "cannot watch a socket: %s", strerror(-lr));
            return;
        }
        if (rc == 0)
            tcp_connected(nc);
        return;
    }
    connect_failed(nc, err ? err : ECONNREFUSED);
}

static void on_connect_ready(dial_t *nc)
{
    int err = netio_connect_error(nc->io.fd);
    if (err == 0) {
        tcp_connected(nc);
        return;
    }
    diag_verbose("* %s: %s", nc->addr, strerror(err));
    loop_fd_del(nc->l, nc->io.fd);
    transport_close(&nc->io);
    if (nc->cur->ai_next) {
        nc->cur = nc->cur->ai_next;
        connect_next(nc);
        return;
    }
    connect_failed(nc, err);
}

static void on_fd(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    (void)events;
    dial_t *nc = ud;
    switch (nc->state) {
    case NC_CONNECTING:
        on_connect_ready(nc);
        break;
    case NC_PROXY_SEND:
        proxy_send(nc);
        break;
    case NC_PROXY_RECV:
        proxy_recv(nc);
        break;
    case NC_TLS:
        tls_step(nc);
        break;
    default:
        loop_fd_mod(nc->l, nc->io.fd, 0);
        break;
    }
}

static void resolved(dial_t *nc, struct addrinfo *res)
{
    nc->ai = nc->cur = res;
    if (diag_level >= 1) {
        char a[INET6_ADDRSTRLEN + 8];
        int n = 0;
        for (struct addrinfo *p = res; p; p = p->ai_next)
            n++;
        fmt_sockaddr(a, sizeof(a), res->ai_addr);
        diag_verbose("* %s resolved to %s%s", conn_host(nc), a,
                    n > 1 ? " (and other addresses)" : "");
    }
    connect_next(nc);
}

static void on_resolved(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)events;
    dial_t *nc = ud;
    resolve_t *r = nc->rq;
    uint64_t v;
    ssize_t rd = read(fd, &v, sizeof(v));
    (void)rd;
    if (!atomic_load_explicit(&r->done, memory_order_acquire))
        return;
    loop_fd_del(l, fd);
    struct addrinfo *res = r->res;
    r->res = NULL;
    int gerr = r->gai_err, serr = r->sys_errno;
    nc->rq = NULL;
    resolve_unref(r);
    if (gerr || !res) {
        if (res)
            freeaddrinfo(res);
        fail(nc, "cannot resolve %shost '%s': %s", nc->proxy_host ? "proxy " : "", conn_host(nc),
             gerr == EAI_SYSTEM ? strerror(serr) : gai_strerror(gerr ? gerr : EAI_NONAME));
        return;
    }
    resolved(nc, res);
}

static void start_resolve(dial_t *nc)
{
    const char *host = conn_host(nc);
    char port[8];
    snprintf(port, sizeof(port), "%u", conn_port(nc));
    nc->state = NC_RESOLVING;

    /* Address literals need no lookup and no thread. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) == 0 && res) {
        nc->ai = nc->cur = res;
        connect_next(nc);
        return;
    }

    diag_verbose("* resolving %s", host);
    resolve_t *r = xcalloc(1, sizeof(*r));
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0) {
        int e = errno;
        free(r);
        fail(nc, "cannot resolve '%s': eventfd: %s", host, strerror(e));
        return;
    }
    r->host = xstrdup(host);
    memcpy(r->port, port, sizeof(port));
    atomic_init(&r->refs, 2);
    atomic_init(&r->done, false);
    nc->rq = r;
    int lr = loop_fd_add(nc->l, r->efd, LOOP_READ, on_resolved, nc);
    if (lr < 0) {
        atomic_store(&r->refs, 1);
        fail(nc, "cannot resolve '%s': %s", host, strerror(-lr));
        return;
    }

    /* The thread takes no signals: the loop's signalfd must get them. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, RESOLVER_STACK);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, resolve_thread, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_store(&r->refs, 1); /* the thread never took its reference */
        fail(nc, "cannot resolve '%s': no thread: %s", host, strerror(rc));
    }
}


/* Percent-decodes s[0..n) into a new string. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
            (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* Parses -x's URL or a *_proxy variable: [http://][user[:password]@]host[:port][/].
 * Fills nc->proxy_*; returns 0, or -1 with nc->why set. */
static int parse_proxy(dial_t *nc, const char *url)
{
    const char *p = url, *sep = strstr(url, "://");
    if (sep) {
        size_t sl = (size_t)(sep - url);
        if (!(sl == 4 && ascii_ieq(url, "http", 4))) {
            snprintf(nc->why, sizeof(nc->why),
                     "unsupported proxy scheme '%.*s://' (only http:// proxies are supported)",
                     (int)(sl > 16 ? 16 : sl), url);
            return -1;
        }
        p = sep + 3;
    }
    size_t alen = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (p[i] == '@')
            at = p + i;
    if (at) {
        char *ui = pct_decode(p, (size_t)(at - p));
        if (!strchr(ui, ':')) { /* a user without a password: curl sends "user:" */
            char *t = xmalloc(strlen(ui) + 2);
            strcpy(t, ui);
            strcat(t, ":");
            OPENSSL_cleanse(ui, strlen(ui));
            free(ui);
            ui = t;
        }
        buf_t b;
        buf_init(&b);
        base64_append(&b, ui, strlen(ui));
        nc->proxy_auth = xstrdup(b.p);
        wipe_buf(&b);
        OPENSSL_cleanse(ui, strlen(ui));
        free(ui);
        alen -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    const char *host = p, *hend, *port = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb)
            goto bad;
        host = p + 1;
        hend = rb;
        if (rb + 1 < p + alen) {
            if (rb[1] != ':')
                goto bad;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        hend = colon ? colon : p + alen;
        if (colon)
            port = colon + 1;
    }
    if (hend == host)
        goto bad;
    unsigned long pn = PROXY_DEFAULT_PORT;
    if (port) {
        const char *pend = p + alen;
        if (port == pend)
            goto bad;
        pn = 0;
        for (const char *q = port; q < pend; q++) {
            if (*q < '0' || *q > '9' || pn > 65535)
                goto bad;
            pn = pn * 10 + (unsigned long)(*q - '0');
        }
        if (pn == 0 || pn > 65535)
            goto bad;
    }
    nc->proxy_host = xstrndup(host, (size_t)(hend - host));
    nc->proxy_port = (uint16_t)pn;
    return 0;
bad:
    /* The URL may hold a password: name the problem, not the URL. */
    snprintf(nc->why, sizeof(nc->why),
             "bad proxy URL: expected [http://][user:password@]host[:port]");
    return -1;
}

dial_t *dial_start(loop_t *l, const dial_target_t *t, const conn_settings_t *co,
                         dial_done_fn done, void *ud)
{
    dial_t *nc = xcalloc(1, sizeof(*nc));
    nc->l = l;
    nc->t = *t;
    nc->co = co;
    nc->done = done;
    nc->ud = ud;
    nc->io.fd = -1;
    nc->in_start = true;
    nc->state = NC_RESOLVING;
    buf_init(&nc->pbuf);
    loop_timer_init(&nc->deadline, on_deadline, nc);
    loop_timer_init(&nc->later, on_later, nc);
    nc->timeout_ms = co && co->connect_timeout_ms ? co->connect_timeout_ms : DEFAULT_TIMEOUT_MS;

    const char *proxy = dial_proxy_for(t, co);
    if (proxy && parse_proxy(nc, proxy) < 0) {
        finish(nc, -1);
        goto out;
    }
    if (nc->proxy_host) {
        char hp[300];
        fmt_hostport(hp, sizeof(hp), nc->proxy_host, nc->proxy_port);
        diag_verbose("* via proxy %s", hp);
    }
    if (t->tls) {
        char err[300];
        nc->ctx = client_ctx(co, err, sizeof(err));
        if (!nc->ctx) {
            fail(nc, "%s", err);
            goto out;
        }
    }
    loop_timer_arm_ms(l, &nc->deadline, nc->timeout_ms);
    start_resolve(nc);
out:
    nc->in_start = false;
    return nc;
}

void dial_take(dial_t *nc, transport_t *out)
{
    if (nc->state != NC_READY || nc->io.fd < 0) {
        memset(out, 0, sizeof(*out));
        out->fd = -1;
        return;
    }
    loop_fd_del(nc->l, nc->io.fd);
    *out = nc->io;
    memset(&nc->io, 0, sizeof(nc->io));
    nc->io.fd = -1;
}

void dial_free(dial_t *nc)
{
    if (!nc)
        return;
    loop_timer_stop(nc->l, &nc->later);
    if (nc->state == NC_READY && nc->io.fd >= 0) { /* done(0) but never taken */
        loop_fd_del(nc->l, nc->io.fd);
        transport_close(&nc->io);
    }
    release(nc);
    free(nc);
}

int dial_tls_check(const conn_settings_t *co, char *err, size_t errlen)
{
    return client_ctx(co, err, errlen) ? 0 : -1;
}

int dial_proxy_syntax(const char *url, char *why, size_t n)
{
    static const char *const schemes[] = {"http", "https", "socks4", "socks4a", "socks5",
                                          "socks5h"};
    const char *rest = url, *sep = strstr(url, "://");
    if (sep) {
        size_t sl = (size_t)(sep - url), i;
        for (i = 0; i < ARRAY_LEN(schemes); i++)
            if (strlen(schemes[i]) == sl && ascii_ieq(url, schemes[i], sl))
                break;
        if (i == ARRAY_LEN(schemes)) {
            snprintf(why, n, "the proxy's scheme is none of http, https, socks4, socks4a, "
                             "socks5, socks5h");
            return -1;
        }
        rest = sep + 3;
    }
    dial_t tmp; /* the parse of an http:// one, then thrown away */
    memset(&tmp, 0, sizeof(tmp));
    buf_t u;
    buf_init(&u);
    buf_printf(&u, "http://%s", rest);
    int rc = parse_proxy(&tmp, u.p);
    wipe_buf(&u);
    secret_free(tmp.proxy_auth);
    free(tmp.proxy_host);
    if (rc < 0)
        snprintf(why, n, "%s", tmp.why);
    return rc;
}

bool dial_cert_refused(const dial_t *nc)
{
    return nc->cert_refused;
}
