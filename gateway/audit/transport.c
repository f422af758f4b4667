/*
 * audit/transport: see transport.h. Non-blocking socket driven with poll(2) against one
 * deadline per call; OpenSSL on the same descriptor (SSL_set_fd), its WANT_READ/WANT_WRITE
 * mapped onto the poll events.
 */
#include "audit/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct audit_conn {
    int fd;
    SSL *ssl;
    uint64_t written; /* plain: bytes written; TLS: read from the socket BIO */
    bool closed;      /* the peer closed or reset */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
}

SSL_CTX *audit_tls_client_ctx(const char *ca_file, const char *cert, const char *key, char *err,
                              size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ssl_err(err, errlen, "TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* A peer closing without close_notify reads as a clean end of stream. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if ((ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                 : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
        ssl_err(err, errlen, ca_file ? "cannot load ca_file" : "cannot load the system CA store");
        goto fail;
    }
    if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
                 SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
                 SSL_CTX_check_private_key(ctx) != 1)) {
        ssl_err(err, errlen, "cannot load the client certificate and key");
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* Wait for events on fd until the deadline. 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        return 1;
    }
}

/* Drive an SSL call that wants I/O. 1 retry, 0 timeout, -1 error. */
static int ssl_wait(struct audit_conn *c, int rc, int64_t deadline)
{
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return wait_fd(c->fd, POLLIN, deadline) > 0 ? 1 : 0;
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_fd(c->fd, POLLOUT, deadline) > 0 ? 1 : 0;
    return -1;
}

struct audit_conn *audit_conn_open(const char *host, int port, SSL_CTX *tls,
                                   const char *server_name, int timeout_ms, char *err,
                                   size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    char portstr[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    struct audit_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    snprintf(portstr, sizeof(portstr), "%d", port);
    int g = getaddrinfo(host, portstr, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(g));
        goto fail;
    }
    int last = 0;
    for (struct addrinfo *a = ai; a && c->fd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        int w = wait_fd(fd, POLLOUT, deadline), soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            last = w == 0 ? ETIMEDOUT : soerr ? soerr : errno;
            close(fd);
            continue;
        }
        c->fd = fd;
    }
    if (c->fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, strerror(last));
        goto fail;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (tls) {
        const char *name = server_name ? server_name : host;
        c->ssl = SSL_new(tls);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
            ssl_err(err, errlen, "TLS session");
            goto fail;
        }
        /* SNI only for names; the certificate is checked against names and addresses. */
        struct in6_addr tmp;
        bool literal = inet_pton(AF_INET, name, &tmp) == 1 || inet_pton(AF_INET6, name, &tmp) == 1;
        if (!literal)
            SSL_set_tlsext_host_name(c->ssl, name);
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        if ((literal ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                     : X509_VERIFY_PARAM_set1_host(vp, name, 0)) != 1) {
            ssl_err(err, errlen, "TLS peer name");
            goto fail;
        }
        for (;;) {
            int r = SSL_connect(c->ssl);
            if (r == 1)
                break;
            int w = ssl_wait(c, r, deadline);
            if (w > 0)
                continue;
            long vr = SSL_get_verify_result(c->ssl);
            if (vr != X509_V_OK) {
                snprintf(err, errlen, "TLS handshake with %s:%d: certificate not accepted: %s",
                         host, port, X509_verify_cert_error_string(vr));
                ERR_clear_error();
            } else if (w == 0) {
                snprintf(err, errlen, "TLS handshake with %s:%d timed out", host, port);
            } else {
                char what[128];
                snprintf(what, sizeof(what), "TLS handshake with %s:%d failed", host, port);
                ssl_err(err, errlen, what);
            }
            goto fail;
        }
    }
    freeaddrinfo(ai);
    return c;
fail:
    if (ai)
        freeaddrinfo(ai);
    audit_conn_free(c);
    return NULL;
}

void audit_conn_free(struct audit_conn *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

int audit_conn_write(struct audit_conn *c, const void *buf, size_t n, int timeout_ms, char *err,
                     size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    const char *p = buf;
    while (n > 0) {
        if (c->ssl) {
            size_t w = 0;
            int r = SSL_write_ex(c->ssl, p, n, &w);
            if (r == 1) {
                p += w;
                n -= w;
                continue;
            }
            int k = ssl_wait(c, r, deadline);
            if (k > 0)
                continue;
            if (k == 0)
                snprintf(err, errlen, "write timed out");
            else
                ssl_err(err, errlen, "TLS write failed");
            c->closed = true;
            return -1;
        }
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            c->written += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(c->fd, POLLOUT, deadline) > 0)
                continue;
            snprintf(err, errlen, "write timed out");
            return -1;
        }
        snprintf(err, errlen, "write failed: %s", strerror(errno));
        c->closed = true;
        return -1;
    }
    return 0;
}

ssize_t audit_conn_read(struct audit_conn *c, void *buf, size_t cap, int timeout_ms, char *err,
                        size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        if (c->ssl) {
            size_t n = 0;
            int r = SSL_read_ex(c->ssl, buf, cap, &n);
            if (r == 1)
                return (ssize_t)n;
            if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN) {
                c->closed = true;
                return 0;
            }
            int k = ssl_wait(c, r, deadline);
            if (k > 0)
                continue;
            if (k == 0) {
                snprintf(err, errlen, "read timed out");
            } else {
                ssl_err(err, errlen, "TLS read failed");
                c->closed = true;
            }
            return -1;
        }
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n > 0)
            return n;
        if (n == 0) {
            c->closed = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(c->fd, POLLIN, deadline) > 0)
                continue;
            snprintf(err, errlen, "read timed out");
            return -1;
        }
        snprintf(err, errlen, "read failed: %s", strerror(errno));
        c->closed = true;
        return -1;
    }
}

uint64_t audit_conn_written(const struct audit_conn *c)
{
    if (c->ssl)
        return BIO_number_written(SSL_get_wbio(c->ssl));
    return c->written;
}

uint64_t audit_conn_acked(struct audit_conn *c, bool *alive)
{
    /* Anything readable from a peer that never talks is its close, a reset, or (TLS 1.3)
     * post-handshake messages, which reading consumes. */
    char sink[4096], err[64];
    for (int i = 0; i < 16 && !c->closed; i++) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 0) != 1 && !(c->ssl && SSL_pending(c->ssl)))
            break;
        if (audit_conn_read(c, sink, sizeof(sink), 0, err, sizeof(err)) < 0 && !c->closed)
            break;
    }
    *alive = !c->closed;
    int unacked = 0;
    uint64_t w = audit_conn_written(c);
    if (ioctl(c->fd, SIOCOUTQ, &unacked) != 0 || unacked < 0) {
        *alive = false;
        return 0;
    }
    return w > (uint64_t)unacked ? w - (uint64_t)unacked : 0;
}

int audit_conn_finish(struct audit_conn *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    if (c->closed)
        return -1;
    if (c->ssl) {
        int r = SSL_shutdown(c->ssl);
        while (r < 0 && ssl_wait(c, r, deadline) > 0)
            r = SSL_shutdown(c->ssl);
        if (r < 0)
            return -1;
    }
    if (shutdown(c->fd, SHUT_WR) != 0)
        return -1;
    /* The peer closes after reading our FIN, which follows every byte we sent. */
    char buf[4096];
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        ssize_t n = c->ssl ? SSL_read(c->ssl, buf, sizeof(buf)) : recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (c->ssl) {
            int e = SSL_get_error(c->ssl, (int)n);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (ssl_wait(c, (int)n, deadline) > 0)
                continue;
            ERR_clear_error();
            return -1;
        }
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(c->fd, POLLIN, deadline) > 0)
            continue;
        return -1;
    }
}
