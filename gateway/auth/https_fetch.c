/*
 * https_fetch: see https_fetch.h.
 */
#include "auth/https_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int https_url_split(const char *url, char *host, size_t hostlen, int *port, char *path,
                    size_t pathlen)
{
    if (strncasecmp(url, "https://", 8) != 0)
        return -1;
    const char *h = url + 8, *end = h + strcspn(h, "/?#");
    const char *hs = h, *he;
    const char *colon;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb)
            return -1;
        hs = h + 1;
        he = rb;
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        he = colon ? colon : end;
    }
    if (memchr(h, '@', (size_t)(end - h)) || he == hs || (size_t)(he - hs) >= hostlen)
        return -1;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = 443;
    if (colon) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e != end || p <= 0 || p > 65535)
            return -1;
        *port = (int)p;
    }
    const char *p = *end == '/' ? end : "/";
    size_t pl = strcspn(p, "#");
    if (*end == '?') {
        p = end;
        pl = strcspn(p, "#");
        if (pl + 2 > pathlen)
            return -1;
        path[0] = '/';
        memcpy(path + 1, p, pl);
        path[pl + 1] = '\0';
        return 0;
    }
    if (pl + 1 > pathlen)
        return -1;
    memcpy(path, p, pl);
    path[pl] = '\0';
    for (size_t i = 0; path[i]; i++)
        if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f)
            return -1;
    return 0;
}

static int connect_deadline(const char *host, int port, long long deadline, char *err,
                            size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char ps[8];
    snprintf(ps, sizeof(ps), "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            long long left = deadline - mono_ms();
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (left > 0 && poll(&pfd, 1, (int)left) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s:%d", host, port);
    return fd;
}

/* Wait for the socket per SSL_get_error; -1 on deadline. */
static int ssl_wait(SSL *ssl, int fd, int ret, long long deadline)
{
    int e = SSL_get_error(ssl, ret);
    struct pollfd pfd = {.fd = fd};
    if (e == SSL_ERROR_WANT_READ)
        pfd.events = POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
        pfd.events = POLLOUT;
    else
        return -1;
    long long left = deadline - mono_ms();
    if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
        return -1;
    return 0;
}

/* Decode a chunked body in place. Returns the decoded length or -1. */
static long dechunk(char *b, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *e;
        if (in >= len)
            return -1;
        unsigned long sz = strtoul(b + in, &e, 16);
        char *crlf = memmem(b + in, len - in, "\r\n", 2);
        if (!crlf || e == b + in || e > crlf)
            return -1;
        in = (size_t)(crlf - b) + 2;
        if (sz == 0)
            return (long)out;
        if (sz > len - in || len - in - sz < 2 || memcmp(b + in + sz, "\r\n", 2) != 0)
            return -1;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz + 2;
    }
}

int https_get(const char *url, const char *ca_file, int timeout_ms, size_t max_body, char **body,
              size_t *len, char *err, size_t errlen)
{
    char host[256], path[2048];
    int port;
    *body = NULL;
    *len = 0;
    if (https_url_split(url, host, sizeof(host), &port, path, sizeof(path)) != 0) {
        snprintf(err, errlen, "not an https URL");
        return -1;
    }
    long long deadline = mono_ms() + timeout_ms;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    char *buf = NULL;
    int rc = -1;
    int fd = connect_deadline(host, port, deadline, err, errlen);
    if (fd < 0)
        return -1;
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        snprintf(err, errlen, "TLS setup failed");
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Many servers (Python's ssl, some load balancers) close the TCP connection after a
     * complete response without a TLS close_notify. OpenSSL 3 reports that as an error by
     * default; read it as end of stream instead: the framing check below refuses a response
     * that is actually truncated (Content-Length or chunked), and a read-until-close JWKS that
     * was cut short fails to parse as JSON. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if ((ca_file && *ca_file) ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                              : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot load CA certificates%s%s", ca_file ? " from " : "",
                 ca_file ? ca_file : "");
        goto out;
    }
    ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set1_host(ssl, host) ||
        !SSL_set_tlsext_host_name(ssl, host)) {
        snprintf(err, errlen, "TLS setup failed");
        goto out;
    }
    int r;
    while ((r = SSL_connect(ssl)) != 1) {
        if (ssl_wait(ssl, fd, r, deadline) != 0) {
            long v = SSL_get_verify_result(ssl);
            snprintf(err, errlen, "TLS handshake with %s failed%s%s", host,
                     v != X509_V_OK ? ": " : "",
                     v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
            goto out;
        }
    }
    char req[2600];
    int rl = snprintf(req, sizeof(req),
                      "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
                      "User-Agent: warden\r\nConnection: close\r\n\r\n",
                      path, host);
    for (int off = 0; off < rl;) {
        int w = SSL_write(ssl, req + off, rl - off);
        if (w > 0) {
            off += w;
            continue;
        }
        if (ssl_wait(ssl, fd, w, deadline) != 0) {
            snprintf(err, errlen, "sending request to %s failed", host);
            goto out;
        }
    }
    size_t cap = max_body + 16384, n = 0;
    if (!(buf = malloc(cap + 1))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == cap) {
            snprintf(err, errlen, "response from %s too large", host);
            goto out;
        }
        int got = SSL_read(ssl, buf + n, (int)(cap - n < 65536 ? cap - n : 65536));
        if (got > 0) {
            n += (size_t)got;
            continue;
        }
        int e = SSL_get_error(ssl, got);
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
            break; /* close (also unclean close; the framing check below catches truncation) */
        if (ssl_wait(ssl, fd, got, deadline) != 0) {
            snprintf(err, errlen, "reading response from %s timed out or failed", host);
            goto out;
        }
    }
    buf[n] = '\0';
    char *hend = memmem(buf, n, "\r\n\r\n", 4);
    if (!hend || n < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
        snprintf(err, errlen, "malformed HTTP response from %s", host);
        goto out;
    }
    int status = atoi(buf + 9);
    if (status != 200) {
        snprintf(err, errlen, "%s answered HTTP %d", host, status);
        goto out;
    }
    *hend = '\0';
    char *bstart = hend + 4;
    size_t blen = n - (size_t)(bstart - buf);
    bool chunked = false;
    long long clen = -1;
    for (char *line = strstr(buf, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "transfer-encoding:", 18) == 0)
            chunked = strcasestr(line, "chunked") != NULL;
        else if (strncasecmp(line, "content-length:", 15) == 0)
            clen = atoll(line + 15);
    }
    if (chunked) {
        long d = dechunk(bstart, blen);
        if (d < 0) {
            snprintf(err, errlen, "malformed chunked body from %s", host);
            goto out;
        }
        blen = (size_t)d;
    } else if (clen >= 0) {
        if ((size_t)clen > blen) {
            snprintf(err, errlen, "truncated response from %s", host);
            goto out;
        }
        blen = (size_t)clen;
    }
    if (blen > max_body) {
        snprintf(err, errlen, "response from %s too large", host);
        goto out;
    }
    memmove(buf, bstart, blen);
    buf[blen] = '\0';
    *body = buf;
    *len = blen;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return rc;
}
