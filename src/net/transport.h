/* transport: a connection's byte stream, plain TCP or TLS (OpenSSL), on a
 * non-blocking socket, behind one small interface so the server above does
 * not care which. Every call returns at once: when one would block, it says
 * so and records which readiness (LOOP_READ or LOOP_WRITE) lets it go on:
 * a TLS read may need the socket writable and a TLS write readable. */
#ifndef EVCAT_TRANSPORT_H
#define EVCAT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <openssl/ssl.h>

enum {
    NETIO_AGAIN = -1, /* would block: wait for read_wants / write_wants */
    NETIO_ERR = -2,   /* the connection is broken: close it */
};

typedef struct transport {
    int fd;               /* owned */
    SSL *ssl;             /* owned; NULL for plain TCP */
    unsigned read_wants;  /* what a read that returned NETIO_AGAIN waits for */
    unsigned write_wants; /* what a write that returned NETIO_AGAIN waits for */
    bool handshaken;      /* plain TCP: always */
    bool broken;          /* a fatal TLS error: no close_notify may follow */
    char error[120];      /* why the last NETIO_ERR happened, for -v */
} transport_t;

/* On a plain non-blocking socket, EINTR retried, for callers that keep no
 * transport_t: recv() and send(MSG_NOSIGNAL) giving > 0 bytes (recv: 0 at
 * end of stream), NETIO_AGAIN, or NETIO_ERR with errno set. */
ssize_t netio_recv(int fd, void *p, size_t n);
ssize_t netio_send(int fd, const void *p, size_t n);
/* How a non-blocking connect() ended: 0 connected, else its errno (SO_ERROR). */
int netio_connect_error(int fd);

void transport_init_plain(transport_t *io, int fd);
/* TLS server side on an accepted socket. Returns 0 or NETIO_ERR. */
int transport_init_tls(transport_t *io, int fd, SSL_CTX *ctx);

/* Drives the TLS handshake: 0 when done (at once for plain TCP),
 * NETIO_AGAIN or NETIO_ERR. */
int transport_handshake(transport_t *io);

/* Reads up to n bytes: > 0 bytes, 0 at end of stream, NETIO_AGAIN, NETIO_ERR. */
ssize_t transport_read(transport_t *io, void *p, size_t n);

/* Writes the front of iov[0..cnt): > 0 bytes written (maybe fewer than all),
 * NETIO_AGAIN or NETIO_ERR. Never raises SIGPIPE. After NETIO_AGAIN, the next
 * call must start with the same bytes (TLS needs that), which a queue that
 * only drops written bytes does naturally. */
ssize_t transport_writev(transport_t *io, const struct iovec *iov, int cnt);

/* Whether decrypted bytes wait inside TLS, which the socket's readiness
 * will not announce. */
bool transport_pending(const transport_t *io);

/* Ends our direction: TLS close_notify (best effort), then FIN. Reading
 * stays possible (for a lingering close). */
void transport_shutdown(transport_t *io);

/* Frees TLS state and closes the socket. */
void transport_close(transport_t *io);

/* TLS client side on a connected socket (also over a proxy tunnel). host is
 * the name or address literal the user asked for: sent as SNI when it is a
 * name, and the certificate is checked against it (DNS name or IP address)
 * when ctx verifies peers. Returns 0 or NETIO_ERR. */
int transport_init_tls_client(transport_t *io, int fd, SSL_CTX *ctx, const char *host);

/* A client context: verify peers against cacert (a PEM file), else the
 * system's default store, unless insecure; cert/key: a client certificate
 * (key NULL: the key is in cert). TLS 1.2 at least. Returns NULL with a
 * one-line reason in err. */
SSL_CTX *transport_tls_client_ctx(const char *cacert, const char *cert, const char *key, bool insecure,
                              char *err, size_t errlen);

/* After a failed client handshake: a one-line reason naming a certificate
 * problem ("certificate verify failed: ..." or "host name mismatch: ..."),
 * or io->error. Writes into out and returns it. */
const char *transport_tls_client_error(const transport_t *io, const char *host, char *out, size_t outlen);
/* OpenSSL's verification result of a client handshake that verified the
 * peer (X509_V_OK when it passed, or nothing was verified: -k). */
long transport_verify_failure(const transport_t *io);
/* The words of a failed certificate verification (OpenSSL's result vr) for
 * host, as above; NULL when vr is X509_V_OK. */
const char *transport_verify_words(long vr, const char *host, char *out, size_t outlen);

/* What may help after a failed certificate verification with OpenSSL's
 * verify result vr: " (use --cacert FILE or -k)" when the issuer is not
 * trusted, "" when trusting it would not help (expired, not yet valid,
 * revoked...). curl's CURLINFO_SSL_VERIFYRESULT is the same value. */
const char *transport_verify_hint(long vr);
/* " (... http:// instead of https://?)" (ws:// for ws) when a TLS error
 * says the server answered without TLS ("wrong version number": a plain
 * HTTP server's answer to a ClientHello); else "". */
const char *transport_plain_hint(const char *detail, bool ws);

/* A server context for cert (a PEM chain) and key (PEM). Returns NULL with a
 * one-line reason in err. */
SSL_CTX *transport_tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen);

#endif
