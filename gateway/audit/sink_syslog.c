/*
 * audit/sink_syslog: the syslog sink (see sinks.h, syslog.h): RFC 5424 messages with
 * octet-counted framing over TCP or TLS. Syslog has no application-level acknowledgement, so
 * the sink is a stream sink: records are confirmed from TCP acknowledgements plus
 * confirm_delay (sink.h). Runs on its sink thread.
 */
#include "audit/sinks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/format.h"
#include "audit/sink.h"
#include "audit/syslog.h"
#include "audit/transport.h"

struct syslog_sink {
    char host[256];
    int port;
    SSL_CTX *tls;
    char *server_name;
    int timeout_ms;
    int format;
    const char *product_version;
    struct audit_syslog_hdr hdr;
    struct audit_conn *conn;
    struct audit_batch payload; /* one rendered payload at a time */
    struct audit_record rec;
};

static int syslog_render(void *impl, const char *line, size_t len, struct audit_batch *b, char *err,
                         size_t errlen)
{
    struct syslog_sink *s = impl;
    struct audit_line_peek p;
    if (audit_line_peek(line, len, &p) != 0) {
        snprintf(err, errlen, "not a native audit record");
        return -1;
    }
    const char *payload = line;
    size_t plen = len;
    if (s->format != AUDIT_OUT_JSON) {
        audit_batch_reset(&s->payload);
        if (audit_render_payload(s->format, s->product_version, line, len, &s->rec, &s->payload,
                                 err, errlen) != 0)
            return -1;
        payload = s->payload.buf;
        plen = s->payload.len;
    }
    size_t n = 0;
    if (audit_batch_reserve(b, plen + AUDIT_SYSLOG_OVERHEAD) != 0 ||
        audit_syslog_frame(&s->hdr, &p, payload, plen, b->buf + b->len, b->cap - b->len, &n) != 0) {
        snprintf(err, errlen, "cannot frame the message");
        return -1;
    }
    b->len += n;
    return 0;
}

static int syslog_connect(void *impl, char *err, size_t errlen)
{
    struct syslog_sink *s = impl;
    s->conn = audit_conn_open(s->host, s->port, s->tls, s->server_name, s->timeout_ms, err, errlen);
    return s->conn ? 0 : -1;
}

static int syslog_send(void *impl, const struct audit_batch *b, char *err, size_t errlen)
{
    struct syslog_sink *s = impl;
    return audit_conn_write(s->conn, b->buf, b->len, s->timeout_ms, err, errlen);
}

static uint64_t syslog_written(void *impl)
{
    struct syslog_sink *s = impl;
    return audit_conn_written(s->conn);
}

static uint64_t syslog_acked(void *impl, bool *alive)
{
    struct syslog_sink *s = impl;
    return audit_conn_acked(s->conn, alive);
}

static int syslog_finish(void *impl, int timeout_ms)
{
    struct syslog_sink *s = impl;
    return audit_conn_finish(s->conn, timeout_ms);
}

static void syslog_disconnect(void *impl)
{
    struct syslog_sink *s = impl;
    audit_conn_free(s->conn);
    s->conn = NULL;
}

static void syslog_free(void *impl)
{
    struct syslog_sink *s = impl;
    syslog_disconnect(s);
    SSL_CTX_free(s->tls);
    audit_batch_deinit(&s->payload);
    free(s->server_name);
    free(s);
}

static const struct audit_sink_ops syslog_ops = {
    .kind = "syslog",
    .render = syslog_render,
    .connect = syslog_connect,
    .send = syslog_send,
    .written = syslog_written,
    .acked = syslog_acked,
    .finish = syslog_finish,
    .disconnect = syslog_disconnect,
    .free = syslog_free,
};

struct audit_sink *audit_syslog_sink_new(const struct audit_syslog_conf *c,
                                         const char *product_version, struct audit_journal *j,
                                         const char *journal_dir, char *err, size_t errlen)
{
    struct syslog_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    audit_batch_init(&s->payload);
    if (conf_split_address(c->address, s->host, sizeof(s->host), &s->port) != 0 || s->port == 0) {
        snprintf(err, errlen, "bad address '%s'", c->address);
        goto fail;
    }
    if (c->transport == AUDIT_TRANSPORT_TLS) {
        s->tls = audit_tls_client_ctx(c->ca_file, c->tls_cert, c->tls_key, err, errlen);
        if (!s->tls)
            goto fail;
    }
    if (c->server_name && !(s->server_name = strdup(c->server_name))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->timeout_ms = (int)c->d.timeout_ms;
    s->format = c->d.format;
    s->product_version = product_version;
    audit_syslog_hdr_init(&s->hdr, c->facility, c->hostname, c->app_name);
    return audit_sink_new(c->name, &syslog_ops, s, &c->d, c->confirm_delay_ms, j, journal_dir, 0,
                          err, errlen);
fail:
    syslog_free(s);
    return NULL;
}
