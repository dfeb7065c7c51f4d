#include "transport.h"
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* TLS writes gather small queued pieces into one record of up to this size
 * (the TLS maximum), instead of a record and a syscall per event. */
#define TLS_GATHER 16384

void transport_init_plain(transport_t *io, int fd)
{
    memset(io, 0, sizeof(*io));
    io->fd = fd;
    io->read_wants = LOOP_READ;
    io->write_wants = LOOP_WRITE;
    io->handshaken = true;
}

static void set_tls_error(transport_t *io, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char reason[96];
        ERR_error_string_n(e, reason, sizeof(reason));
        snprintf(io->error, sizeof(io->error), "%s: %s", what, reason);
    } else if (errno) {
        snprintf(io->error, sizeof(io->error), "%s: %s", what, strerror(errno));
    } else {
        snprintf(io->error, sizeof(io->error), "%s: connection closed", what);
    }
    ERR_clear_error();
}

int transport_init_tls(transport_t *io, int fd, SSL_CTX *ctx)
{
    transport_init_plain(io, fd);
    io->handshaken = false;
    io->ssl = SSL_new(ctx);
    if (!io->ssl || SSL_set_fd(io->ssl, fd) != 1) {
        set_tls_error(io, "TLS setup");
        return NETIO_ERR;
    }
    SSL_set_accept_state(io->ssl);
    return 0;
}

static bool is_ip_literal(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

int transport_init_tls_client(transport_t *io, int fd, SSL_CTX *ctx, const char *host)
{
    transport_init_plain(io, fd);
    io->handshaken = false;
    ERR_clear_error();
    io->ssl = SSL_new(ctx);
    if (!io->ssl || SSL_set_fd(io->ssl, fd) != 1)
        goto fail;
    bool ip = is_ip_literal(host);
    /* RFC 6066: SNI carries host names only, never address literals. */
    if (!ip && SSL_set_tlsext_host_name(io->ssl, host) != 1)
        goto fail;
    if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(io->ssl);
        if (ip) {
            if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
                goto fail;
        } else {
            SSL_set_hostflags(io->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(io->ssl, host) != 1)
                goto fail;
        }
    }
    SSL_set_connect_state(io->ssl);
    return 0;
fail:
    set_tls_error(io, "TLS setup");
    return NETIO_ERR;
}

const char *transport_verify_hint(long vr)
{
    switch (vr) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
        return " (use --cacert FILE or -k)";
    default:
        return "";
    }
}

const char *transport_plain_hint(const char *detail, bool ws)
{
    if (!strstr(detail, "wrong version number"))
        return "";
    return ws ? " (the server does not speak TLS there: ws:// instead of wss://?)"
              : " (the server does not speak TLS there: http:// instead of https://?)";
}

const char *transport_verify_words(long vr, const char *host, char *out, size_t outlen)
{
    if (vr == X509_V_OK)
        return NULL;
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
        snprintf(out, outlen, "TLS: host name mismatch: certificate is not for '%s'", host);
    else
        snprintf(out, outlen, "TLS: certificate verify failed: %s%s",
                 X509_verify_cert_error_string(vr), transport_verify_hint(vr));
    return out;
}

long transport_verify_failure(const transport_t *io)
{
    if (!io->ssl || !(SSL_get_verify_mode(io->ssl) & SSL_VERIFY_PEER))
        return X509_V_OK;
    return SSL_get_verify_result(io->ssl);
}

const char *transport_tls_client_error(const transport_t *io, const char *host, char *out, size_t outlen)
{
    if (transport_verify_words(transport_verify_failure(io), host, out, outlen))
        return out;
    if (strncmp(io->error, "TLS ", 4) == 0)
        snprintf(out, outlen, "TLS: %s%s", io->error + 4, transport_plain_hint(io->error, true));
    else
        snprintf(out, outlen, "TLS: %s", io->error[0] ? io->error : "handshake failed");
    return out;
}

/* Maps an SSL_* failure; *wants receives what it waits for. */
static int tls_result(transport_t *io, int rc, unsigned *wants, const char *what)
{
    int err = SSL_get_error(io->ssl, rc);
    switch (err) {
    case SSL_ERROR_WANT_READ:
        *wants = LOOP_READ;
        return NETIO_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        *wants = LOOP_WRITE;
        return NETIO_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        io->broken = true;
        if (ERR_peek_error() == 0 && errno == 0)
            return 0; /* EOF without close_notify */
        set_tls_error(io, what);
        return NETIO_ERR;
    default:
        io->broken = true;
        set_tls_error(io, what);
        return NETIO_ERR;
    }
}

int transport_handshake(transport_t *io)
{
    if (io->handshaken)
        return 0;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(io->ssl);
    if (rc == 1) {
        io->handshaken = true;
        io->read_wants = LOOP_READ;
        io->write_wants = LOOP_WRITE;
        return 0;
    }
    unsigned wants = LOOP_READ;
    int r = tls_result(io, rc, &wants, "TLS handshake");
    if (r == NETIO_AGAIN) {
        io->read_wants = io->write_wants = wants;
        return NETIO_AGAIN;
    }
    if (r == 0)
        snprintf(io->error, sizeof(io->error), "TLS handshake: connection closed");
    return NETIO_ERR;
}

ssize_t netio_recv(int fd, void *p, size_t n)
{
    for (;;) {
        ssize_t r = recv(fd, p, n, 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? NETIO_AGAIN : NETIO_ERR;
    }
}

ssize_t netio_send(int fd, const void *p, size_t n)
{
    for (;;) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? NETIO_AGAIN : NETIO_ERR;
    }
}

int netio_connect_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    return err;
}

ssize_t transport_read(transport_t *io, void *p, size_t n)
{
    if (!io->ssl) {
        ssize_t r = netio_recv(io->fd, p, n);
        if (r == NETIO_ERR)
            snprintf(io->error, sizeof(io->error), "read: %s", strerror(errno));
        return r;
    }
    if (n > INT32_MAX)
        n = INT32_MAX;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_read(io->ssl, p, (int)n);
    if (rc > 0) {
        io->read_wants = LOOP_READ;
        return rc;
    }
    return tls_result(io, rc, &io->read_wants, "TLS read");
}

static ssize_t tls_write(transport_t *io, const void *p, size_t n)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_write(io->ssl, p, (int)n);
    if (rc > 0) {
        io->write_wants = LOOP_WRITE;
        return rc;
    }
    int r = tls_result(io, rc, &io->write_wants, "TLS write");
    if (r == 0) {
        snprintf(io->error, sizeof(io->error), "TLS write: connection closed");
        return NETIO_ERR;
    }
    return r;
}

ssize_t transport_writev(transport_t *io, const struct iovec *iov, int cnt)
{
    if (cnt <= 0)
        return 0;
    if (!io->ssl) {
        struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
        for (;;) {
            ssize_t r = sendmsg(io->fd, &mh, MSG_NOSIGNAL);
            if (r >= 0)
                return r;
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return NETIO_AGAIN;
            snprintf(io->error, sizeof(io->error), "write: %s", strerror(errno));
            return NETIO_ERR;
        }
    }

    /* TLS: SSL_MODE_ENABLE_PARTIAL_WRITE lets SSL_write return after each
     * record; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets a retry present the
     * same bytes from another address (the gather buffer is on the stack). */
    size_t total = 0;
    int i = 0;
    while (i < cnt) {
        ssize_t r;
        size_t len;
        if (iov[i].iov_len >= TLS_GATHER) {
            len = iov[i].iov_len > INT32_MAX ? INT32_MAX : iov[i].iov_len;
            r = tls_write(io, iov[i].iov_base, len);
            i++;
        } else {
            char gather[TLS_GATHER];
            len = 0;
            while (i < cnt && len + iov[i].iov_len <= TLS_GATHER) {
                memcpy(gather + len, iov[i].iov_base, iov[i].iov_len);
                len += iov[i].iov_len;
                i++;
            }
            if (len == 0 && i < cnt) { /* the next piece alone is larger */
                len = TLS_GATHER;
                memcpy(gather, iov[i].iov_base, len);
                i++;
            }
            r = tls_write(io, gather, len);
        }
        if (r < 0)
            return total > 0 ? (ssize_t)total : r;
        total += (size_t)r;
        if ((size_t)r < len)
            break;
    }
    return (ssize_t)total;
}

bool transport_pending(const transport_t *io)
{
    return io->ssl && SSL_pending(io->ssl) > 0;
}

void transport_shutdown(transport_t *io)
{
    if (io->ssl && io->handshaken && !io->broken) {
        ERR_clear_error();
        SSL_shutdown(io->ssl); /* sends close_notify; the peer's is not awaited */
        ERR_clear_error();
    }
    shutdown(io->fd, SHUT_WR);
}

void transport_close(transport_t *io)
{
    if (io->ssl) {
        SSL_free(io->ssl);
        io->ssl = NULL;
    }
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
}

/* The step of building a TLS context that failed: what the message names,
 * the file it read (or NULL), and what to say when OpenSSL found nothing of
 * the kind it wanted there (no PEM BEGIN line, or no decoder for what is
 * there; NULL: OpenSSL's own words). */
typedef struct ctx_step {
    char what[300];
    const char *file;
    const char *unparsed;
} ctx_step_t;

static void ctx_step(ctx_step_t *st, const char *file, const char *unparsed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ctx_step(ctx_step_t *st, const char *file, const char *unparsed, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->what, sizeof(st->what), fmt, ap);
    va_end(ap);
    st->file = file;
    st->unparsed = unparsed;
}

#define NOT_PEM_CERT "not a PEM certificate (no -----BEGIN line)"
#define NOT_PEM_KEY  "not a PEM private key"

static void ctx_error(char *err, size_t errlen, const ctx_step_t *st)
{
    const char *what = st->what, *unparsed = st->unparsed;
    const char *reason = NULL;
    struct stat sb;
    if (st->file && stat(st->file, &sb) == 0 && S_ISDIR(sb.st_mode))
        reason = "is a directory";
    /* A file that cannot be opened: say why in errno's words, not
     * OpenSSL's "system lib" that the last error of the queue says;
     * otherwise the queue's first error is the specific one ("no start
     * line"), the ones after it name the layers above ("PEM lib"). */
    unsigned long e, first = 0;
    while ((e = ERR_get_error()) != 0) {
        if (!first)
            first = e;
        if (ERR_SYSTEM_ERROR(e) && !reason)
            reason = strerror(ERR_GET_REASON(e));
    }
    if (!reason && first && unparsed &&
        ((ERR_GET_LIB(first) == ERR_LIB_PEM && ERR_GET_REASON(first) == PEM_R_NO_START_LINE) ||
         ERR_GET_REASON(first) == ERR_R_UNSUPPORTED))
        reason = unparsed;
    if (!reason && first && ERR_GET_LIB(first) == ERR_LIB_X509 &&
        ERR_GET_REASON(first) == X509_R_KEY_VALUES_MISMATCH)
        reason = "does not match the certificate";
    if (!reason && first)
        reason = ERR_reason_error_string(first);
    if (!reason && errno)
        reason = strerror(errno);
    snprintf(err, errlen, "%s: %s", what, reason ? reason : "unusable");
    ERR_clear_error();
}

static void set_common_modes(SSL_CTX *ctx)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Partial writes and a moving buffer: see transport_writev. Released
     * buffers: 10k idle connections should not each hold 2 x 16 KiB. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
}

SSL_CTX *transport_tls_client_ctx(const char *cacert, const char *cert, const char *key, bool insecure,
                              char *err, size_t errlen)
{
    ERR_clear_error();
    errno = 0;
    ctx_step_t st;
    ctx_step(&st, NULL, NULL, "TLS");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        goto fail;
    set_common_modes(ctx);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (cacert) {
            ctx_step(&st, cacert, "no PEM certificate in it", "--cacert %s", cacert);
            if (SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1)
                goto fail;
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            ctx_step(&st, NULL, NULL, "TLS: the system's CA store");
            goto fail;
        }
    }
    if (cert) {
        ctx_step(&st, cert, NOT_PEM_CERT, "--cert %s", cert);
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
            goto fail;
        ctx_step(&st, key ? key : cert, NOT_PEM_KEY, "--key %s", key ? key : cert);
        if (SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1)
            goto fail;
        ctx_step(&st, NULL, NULL, "--cert and --key");
        if (SSL_CTX_check_private_key(ctx) != 1)
            goto fail;
    } else if (key) {
        snprintf(err, errlen, "--key %s: needs --cert", key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
fail:
    ctx_error(err, errlen, &st);
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *transport_tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    ctx_step_t st;
    ctx_step(&st, NULL, NULL, "TLS");
    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* A client that just closes its socket ends a stream, not an error. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    /* Partial writes and a moving buffer: see transport_writev. Released
     * buffers: 10k idle subscribers should not each hold 2 x 16 KiB. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    ctx_step(&st, cert, NOT_PEM_CERT, "%s", cert);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        goto fail;
    ctx_step(&st, key, NOT_PEM_KEY, "%s", key);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        goto fail;
    ctx_step(&st, NULL, NULL, "certificate and key");
    if (SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    return ctx;
fail:
    ctx_error(err, errlen, &st);
    SSL_CTX_free(ctx);
    return NULL;
}
