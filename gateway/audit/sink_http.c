/*
 * audit/sink_http: the HTTP collector sink (see sinks.h). One keep-alive connection on the
 * sink's thread; responses are read with Warden's strict HTTP/1.1 parser (net/http1.h) and
 * their bodies discarded (at most RESP_MAX bytes are buffered).
 */
#include "audit/sinks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/format.h"
#include "audit/sink.h"
#include "audit/transport.h"
#include "net/http1.h"
#include "util/log.h"

#define RESP_MAX (256 * 1024)

struct http_sink {
    bool tls_url;
    char host[256];
    int port;
    char path[2048];
    char host_header[300];
    SSL_CTX *tls;
    char *bearer;
    int timeout_ms;
    int format;
    const char *product_version;
    struct audit_conn *conn;
    char *resp;
    struct audit_record rec;
};

size_t audit_http_head(const char *host_header, const char *path, const char *bearer,
                       size_t body_len, uint64_t first_seq, uint64_t last_seq, char *out,
                       size_t cap)
{
    int n = snprintf(out, cap,
                     "POST %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Content-Type: application/x-ndjson\r\n"
                     "Content-Length: %zu\r\n"
                     "User-Agent: warden-audit/1\r\n"
                     "X-Warden-Audit-First-Seq: %llu\r\n"
                     "X-Warden-Audit-Last-Seq: %llu\r\n"
                     "%s%s%s"
                     "\r\n",
                     path, host_header, body_len, (unsigned long long)first_seq,
                     (unsigned long long)last_seq, bearer ? "Authorization: Bearer " : "",
                     bearer ? bearer : "", bearer ? "\r\n" : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int audit_http_response(const char *buf, size_t len, bool eof, int *status, bool *keep_alive)
{
    static const struct http1_limits lim = {8192, 65536, 100};
    struct http1_response *resp = malloc(sizeof(*resp));
    struct http1_error herr;
    int rc = -1;
    if (!resp)
        return -1;
    int h = http1_parse_response(buf, len, &lim, HTTP1_M_POST, resp, &herr);
    if (h <= 0) {
        rc = h == 0 ? 0 : -1;
        if (h == 0 && eof)
            rc = -1;
        goto out;
    }
    size_t head = (size_t)h;
    *status = resp->status;
    *keep_alive = resp->keep_alive;
    if (resp->status >= 100 && resp->status < 200) {
        rc = -1; /* we never send Expect; an interim answer is out of place */
        goto out;
    }
    switch (resp->body) {
    case HTTP1_BODY_NONE:
        rc = (int)head;
        break;
    case HTTP1_BODY_LENGTH:
        if (resp->content_length > RESP_MAX) {
            rc = -1;
        } else if (len - head >= resp->content_length) {
            rc = (int)(head + resp->content_length);
        } else {
            rc = eof ? -1 : 0;
        }
        break;
    case HTTP1_BODY_CHUNKED: {
        struct http1_chunked ck;
        http1_chunked_init(&ck);
        ck.response = true;
        size_t at = head;
        rc = eof ? -1 : 0;
        while (at <= len) {
            size_t used = 0, data = 0;
            int r = http1_chunked_feed(&ck, buf + at, len - at, &used, &data, &herr);
            if (r < 0) {
                rc = -1;
                break;
            }
            at += used;
            if (r == 2) {
                rc = (int)at;
                break;
            }
            if (r == 0 || used == 0)
                break;
        }
        break;
    }
    case HTTP1_BODY_CLOSE:
        *keep_alive = false;
        rc = eof ? (int)len : 0;
        break;
    }
out:
    free(resp);
    return rc;
}

static int http_render(void *impl, const char *line, size_t len, struct audit_batch *b, char *err,
                       size_t errlen)
{
    struct http_sink *h = impl;
    if (audit_render_payload(h->format, h->product_version, line, len, &h->rec, b, err, errlen))
        return -1;
    return audit_batch_add(b, "\n", 1);
}

static void http_disconnect(void *impl)
{
    struct http_sink *h = impl;
    audit_conn_free(h->conn);
    h->conn = NULL;
}

/* The connection is opened lazily by send (keep-alive; the collector may close it). */
static int http_connect(void *impl, char *err, size_t errlen)
{
    return 0;
}

static int send_once(struct http_sink *h, const struct audit_batch *b, char *err, size_t errlen)
{
    char head[4096];
    size_t hl = audit_http_head(h->host_header, h->path, h->bearer, b->len, b->seq[0],
                                b->seq[b->n - 1], head, sizeof(head));
    if (hl == 0) {
        snprintf(err, errlen, "request head too long");
        return -1;
    }
    if (!h->conn) {
        h->conn = audit_conn_open(h->host, h->port, h->tls, NULL, h->timeout_ms, err, errlen);
        if (!h->conn)
            return -1;
    }
    if (audit_conn_write(h->conn, head, hl, h->timeout_ms, err, errlen) != 0 ||
        audit_conn_write(h->conn, b->buf, b->len, h->timeout_ms, err, errlen) != 0)
        return -2;
    size_t have = 0;
    bool eof = false;
    for (;;) {
        int status = 0;
        bool keep = false;
        int r = audit_http_response(h->resp, have, eof, &status, &keep);
        if (r > 0) {
            if (!keep || (size_t)r != have)
                http_disconnect(h);
            if (status < 200 || status > 299) {
                snprintf(err, errlen, "collector answered %d", status);
                return -1;
            }
            return 0;
        }
        if (r < 0 || eof) {
            snprintf(err, errlen,
                     have ? "malformed response" : "connection closed before a response");
            return have ? -1 : -2;
        }
        if (have == RESP_MAX) {
            snprintf(err, errlen, "response too large");
            return -1;
        }
        ssize_t n =
            audit_conn_read(h->conn, h->resp + have, RESP_MAX - have, h->timeout_ms, err, errlen);
        if (n < 0)
            return have ? -1 : -2;
        if (n == 0)
            eof = true;
        have += (size_t)n;
    }
}

static int http_send(void *impl, const struct audit_batch *b, char *err, size_t errlen)
{
    struct http_sink *h = impl;
    bool reused = h->conn != NULL;
    int r = send_once(h, b, err, errlen);
    if (r == -2 && reused) {
        /* The collector closed the idle keep-alive connection: one fresh attempt. */
        http_disconnect(h);
        r = send_once(h, b, err, errlen);
    }
    if (r != 0)
        http_disconnect(h);
    return r == 0 ? 0 : -1;
}

static void http_free(void *impl)
{
    struct http_sink *h = impl;
    http_disconnect(h);
    SSL_CTX_free(h->tls);
    if (h->bearer) {
        memset(h->bearer, 0, strlen(h->bearer));
        free(h->bearer);
    }
    free(h->resp);
    free(h);
}

static const struct audit_sink_ops http_ops = {
    .kind = "http",
    .render = http_render,
    .connect = http_connect,
    .send = http_send,
    .disconnect = http_disconnect,
    .free = http_free,
};

static char *read_token(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *ok = fgets(buf, sizeof(buf), f);
    fclose(f);
    buf[ok ? strcspn(buf, "\r\n") : 0] = '\0';
    for (const char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            snprintf(err, errlen, "%s: the token must be printable ASCII without spaces", path);
            return NULL;
        }
    if (!buf[0]) {
        snprintf(err, errlen, "%s is empty", path);
        return NULL;
    }
    char *s = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return s;
}

struct audit_sink *audit_http_sink_new(const struct audit_http_conf *c, const char *product_version,
                                       struct audit_journal *j, const char *journal_dir, char *err,
                                       size_t errlen)
{
    struct http_sink *h = calloc(1, sizeof(*h));
    if (!h || !(h->resp = malloc(RESP_MAX))) {
        free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (audit_url_split(c->url, &h->tls_url, h->host, sizeof(h->host), &h->port, h->path,
                        sizeof(h->path)) != 0) {
        snprintf(err, errlen, "bad url '%s'", c->url);
        goto fail;
    }
    bool v6 = strchr(h->host, ':') != NULL;
    bool default_port = h->port == (h->tls_url ? 443 : 80);
    if (default_port)
        snprintf(h->host_header, sizeof(h->host_header), v6 ? "[%s]" : "%s", h->host);
    else
        snprintf(h->host_header, sizeof(h->host_header), v6 ? "[%s]:%d" : "%s:%d", h->host,
                 h->port);
    if (h->tls_url && !(h->tls = audit_tls_client_ctx(c->ca_file, NULL, NULL, err, errlen)))
        goto fail;
    if (c->bearer_token_file && !(h->bearer = read_token(c->bearer_token_file, err, errlen)))
        goto fail;
    h->timeout_ms = (int)c->d.timeout_ms;
    h->format = c->d.format;
    h->product_version = product_version;
    return audit_sink_new(c->name, &http_ops, h, &c->d, 0, j, journal_dir, 0, err, errlen);
fail:
    http_free(h);
    return NULL;
}
