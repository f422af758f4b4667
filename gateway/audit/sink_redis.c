/*
 * audit/sink_redis: the Redis Streams sink (see sinks.h). hiredis' blocking API with a
 * timeout on the sink's own thread; one pipelined XADD per record, every reply checked.
 */
#include "audit/sinks.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/format.h"
#include "audit/sink.h"
#include "audit/syslog.h"

struct redis_sink {
    char host[256];
    int port;
    char *key;
    long long maxlen;
    char *username;
    char *password;
    int timeout_ms;
    int format;
    const char *product_version;
    redisContext *c;
    struct audit_record rec;
};

/* Each batch item is the record's 36-character event id followed by its payload. */
static int redis_render(void *impl, const char *line, size_t len, struct audit_batch *b, char *err,
                        size_t errlen)
{
    struct redis_sink *r = impl;
    struct audit_line_peek p;
    if (audit_line_peek(line, len, &p) != 0) {
        snprintf(err, errlen, "not a native audit record");
        return -1;
    }
    if (audit_batch_add(b, p.event_id, 36) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return audit_render_payload(r->format, r->product_version, line, len, &r->rec, b, err, errlen);
}

static void redis_disconnect(void *impl)
{
    struct redis_sink *r = impl;
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

static int reply_ok(redisReply *rep, int type, char *err, size_t errlen, const char *what)
{
    if (!rep) {
        snprintf(err, errlen, "%s: no reply", what);
        return -1;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: %.*s", what, (int)rep->len, rep->str);
        return -1;
    }
    if (type >= 0 && rep->type != type) {
        snprintf(err, errlen, "%s: unexpected reply type %d", what, rep->type);
        return -1;
    }
    return 0;
}

static int redis_connect(void *impl, char *err, size_t errlen)
{
    struct redis_sink *r = impl;
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    r->c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c || r->c->err) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", r->host, r->port,
                 r->c ? r->c->errstr : "out of memory");
        redis_disconnect(r);
        return -1;
    }
    if (redisSetTimeout(r->c, tv) != REDIS_OK) {
        snprintf(err, errlen, "cannot set the Redis timeout");
        redis_disconnect(r);
        return -1;
    }
    if (r->password) {
        redisReply *rep = r->username ? redisCommand(r->c, "AUTH %s %s", r->username, r->password)
                                      : redisCommand(r->c, "AUTH %s", r->password);
        int ok = reply_ok(rep, -1, err, errlen, "AUTH");
        if (rep)
            freeReplyObject(rep);
        if (ok != 0) {
            redis_disconnect(r);
            return -1;
        }
    }
    return 0;
}

static int redis_send(void *impl, const struct audit_batch *b, char *err, size_t errlen)
{
    struct redis_sink *r = impl;
    char seq[24], maxlen[24];
    snprintf(maxlen, sizeof(maxlen), "%lld", r->maxlen);
    for (size_t i = 0; i < b->n; i++) {
        size_t len;
        const char *item = audit_batch_item(b, i, &len);
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)b->seq[i]);
        const char *argv[12];
        size_t argl[12];
        int k = 0;
#define ARG(p, n) (argv[k] = (p), argl[k] = (n), k++)
        ARG("XADD", 4);
        ARG(r->key, strlen(r->key));
        if (r->maxlen > 0) {
            ARG("MAXLEN", 6);
            ARG("~", 1);
            ARG(maxlen, strlen(maxlen));
        }
        ARG("*", 1);
        ARG("seq", 3);
        ARG(seq, strlen(seq));
        ARG("event_id", 8);
        ARG(item, 36);
        ARG("record", 6);
        ARG(item + 36, len - 36);
#undef ARG
        if (redisAppendCommandArgv(r->c, k, argv, argl) != REDIS_OK) {
            snprintf(err, errlen, "XADD: %s", r->c->errstr);
            return -1;
        }
    }
    /* Every reply is read, even after an error, so the connection stays in step. */
    int rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        void *rep = NULL;
        if (redisGetReply(r->c, &rep) != REDIS_OK) {
            snprintf(err, errlen, "XADD: %s", r->c->errstr[0] ? r->c->errstr : strerror(errno));
            return -1;
        }
        if (rc == 0 && reply_ok(rep, REDIS_REPLY_STRING, err, errlen, "XADD") != 0)
            rc = -1;
        freeReplyObject(rep);
    }
    return rc;
}

static void redis_free(void *impl)
{
    struct redis_sink *r = impl;
    redis_disconnect(r);
    free(r->key);
    free(r->username);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r);
}

static const struct audit_sink_ops redis_ops = {
    .kind = "redis",
    .render = redis_render,
    .connect = redis_connect,
    .send = redis_send,
    .disconnect = redis_disconnect,
    .free = redis_free,
};

/* The first line of a secret file, without its line ending. */
static char *read_secret(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *ok = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "%s is empty", path);
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    char *s = strdup(buf);
    memset(buf, 0, sizeof(buf));
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

struct audit_sink *audit_redis_sink_new(const struct audit_redis_conf *c,
                                        const char *product_version, struct audit_journal *j,
                                        const char *journal_dir, char *err, size_t errlen)
{
    struct redis_sink *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (conf_split_address(c->address, r->host, sizeof(r->host), &r->port) != 0 || r->port == 0) {
        snprintf(err, errlen, "bad address '%s'", c->address);
        goto fail;
    }
    r->key = strdup(c->key);
    if (!r->key || (c->username && !(r->username = strdup(c->username)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (c->password_file && !(r->password = read_secret(c->password_file, err, errlen)))
        goto fail;
    r->maxlen = c->maxlen;
    r->timeout_ms = (int)c->d.timeout_ms;
    r->format = c->d.format;
    r->product_version = product_version;
    return audit_sink_new(c->name, &redis_ops, r, &c->d, 0, j, journal_dir, 0, err, errlen);
fail:
    redis_free(r);
    return NULL;
}
