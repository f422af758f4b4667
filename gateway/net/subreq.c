/*
 * subreq: see subreq.h. One upstream exchange with the whole request in memory and the whole
 * answer collected into an evbuffer, then one callback. Framing of the answer is read with the
 * same strict parser as proxied answers (net/http1); a chunked answer is de-chunked here.
 */
#include "net/subreq.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin/metrics.h"
#include "config.h"
#include "net/http1.h"
#include "net/upstream.h"
#include "net/worker.h"

#define SUBREQ_MAX_BODY (64u * 1024u * 1024u)
#define SUBREQ_MAGIC    0x53554252u

enum sub_state { S_HEAD = 0, S_BODY };

struct subreq {
    unsigned magic;
    struct worker *w;
    struct upstream_conn *uc;
    subreq_fn fn;
    void *arg;
    char *msg; /* the request bytes, kept for the one retry */
    size_t msg_len;
    enum http1_method method;
    bool retried;
    bool got_bytes;
    bool keep; /* the answer allows reusing the connection */
    enum sub_state st;
    int status;
    enum http1_body framing;
    uint64_t left;
    struct http1_chunked chunk;
    struct evbuffer *body;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void sub_free(struct subreq *s)
{
    if (!s)
        return;
    s->magic = 0;
    if (s->body)
        evbuffer_free(s->body);
    free(s->msg);
    free(s);
}

/* End the subrequest: hand the connection back (reusable only after a complete answer that
 * allows it), call back, free. */
static void finish(struct subreq *s, int status, bool reusable, const char *err)
{
    if (s->uc) {
        if (reusable)
            upstream_release(s->uc);
        else
            upstream_discard(s->uc);
        s->uc = NULL;
    }
    if (status == 0)
        atomic_fetch_add_explicit(&g_metrics.upstream_errors, 1, memory_order_relaxed);
    size_t len = evbuffer_get_length(s->body);
    const char *p = len ? (const char *)evbuffer_pullup(s->body, -1) : "";
    if (!p) {
        status = 0;
        len = 0;
        p = "";
        err = "out of memory";
    }
    subreq_fn fn = s->fn;
    void *arg = s->arg;
    /* The callback may start another subrequest or free its owner; nothing of s is touched
     * after it returns, and the body stays valid during the call. */
    struct evbuffer *body = s->body;
    s->body = NULL;
    sub_free(s);
    fn(arg, status, p, len, err);
    evbuffer_free(body);
}

static int send_on(struct subreq *s)
{
    struct worker *w = s->w;
    s->uc = upstream_acquire(w->pool);
    if (!s->uc)
        return -1;
    s->st = S_HEAD;
    s->got_bytes = false;
    struct bufferevent *b = s->uc->bev;
    bufferevent_setcb(b, on_read, NULL, on_event, s);
    bufferevent_setwatermark(b, EV_READ, 0, 0);
    static const struct timeval tmo = {15, 0};
    bufferevent_set_timeouts(b, &tmo, &tmo);
    evbuffer_add(bufferevent_get_output(b), s->msg, s->msg_len);
    bufferevent_enable(b, EV_READ | EV_WRITE);
    return 0;
}

struct subreq *subreq_start(struct worker *w, const char *method, const char *target,
                            const char *body, size_t blen, const char *request_id,
                            const char *headers, subreq_fn fn, void *arg)
{
    struct subreq *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->magic = SUBREQ_MAGIC;
    s->w = w;
    s->fn = fn;
    s->arg = arg;
    s->method = strcmp(method, "HEAD") == 0 ? HTTP1_M_HEAD : HTTP1_M_GET;
    s->body = evbuffer_new();
    struct evbuffer *m = evbuffer_new();
    if (!s->body || !m)
        goto fail;
    const char *host = w->cfg->upstream.host;
    evbuffer_add_printf(m,
                        "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
                        "User-Agent: warden-lookup\r\nX-Request-Id: %s\r\n",
                        method, target, host, request_id ? request_id : "");
    if (headers)
        evbuffer_add(m, headers, strlen(headers));
    else if (w->shared->service_credential)
        evbuffer_add_printf(m, "Authorization: %s\r\n", w->shared->service_credential);
    if (body && blen > 0)
        evbuffer_add_printf(m, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                            blen);
    else
        evbuffer_add(m, "\r\n", 2);
    if (body && blen > 0)
        evbuffer_add(m, body, blen);
    s->msg_len = evbuffer_get_length(m);
    s->msg = malloc(s->msg_len);
    if (!s->msg || evbuffer_remove(m, s->msg, s->msg_len) != (int)s->msg_len)
        goto fail;
    evbuffer_free(m);
    m = NULL;
    if (send_on(s) < 0)
        goto fail;
    atomic_fetch_add_explicit(&g_metrics.lookups, 1, memory_order_relaxed);
    return s;
fail:
    if (m)
        evbuffer_free(m);
    sub_free(s);
    return NULL;
}

void subreq_cancel(struct subreq *s)
{
    if (!s)
        return;
    upstream_discard(s->uc);
    s->uc = NULL;
    sub_free(s);
}

/* The pooled connection died before any byte of the answer: send once more on a new one. */
static bool retry(struct subreq *s)
{
    if (s->retried || s->got_bytes || !s->uc || !s->uc->reused)
        return false;
    s->retried = true;
    upstream_discard(s->uc);
    s->uc = NULL;
    return send_on(s) == 0;
}

static void read_body(struct subreq *s, struct evbuffer *in)
{
    while (evbuffer_get_length(in) > 0) {
        if (s->framing == HTTP1_BODY_LENGTH) {
            size_t avail = evbuffer_get_length(in);
            size_t take = avail < s->left ? avail : (size_t)s->left;
            evbuffer_remove_buffer(in, s->body, take);
            s->left -= take;
            if (s->left == 0) {
                finish(s, s->status, s->keep && evbuffer_get_length(in) == 0, NULL);
                return;
            }
        } else if (s->framing == HTTP1_BODY_CHUNKED) {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                return;
            size_t used = 0, data = 0;
            struct http1_error e = {0};
            int r = http1_chunked_feed(&s->chunk, v.iov_base, v.iov_len, &used, &data, &e);
            if (r < 0) {
                finish(s, 0, false, e.reason ? e.reason : "malformed chunked answer");
                return;
            }
            if (data > 0)
                evbuffer_remove_buffer(in, s->body, data);
            else
                evbuffer_drain(in, used);
            if (r == 2) {
                finish(s, s->status, s->keep && evbuffer_get_length(in) == 0, NULL);
                return;
            }
            if (r == 0 && data == 0 && used == 0)
                return;
        } else { /* until close */
            evbuffer_add_buffer(s->body, in);
        }
        if (evbuffer_get_length(s->body) > SUBREQ_MAX_BODY) {
            finish(s, 0, false, "upstream answer too large");
            return;
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct subreq *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (evbuffer_get_length(in) > 0)
        s->got_bytes = true;
    if (s->st == S_HEAD) {
        size_t len = evbuffer_get_length(in);
        size_t cap = (size_t)s->w->cfg->limits.header_bytes;
        size_t want = len < cap ? len : cap;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
        struct http1_response resp;
        struct http1_error e = {0};
        int n = p ? http1_parse_response(p, want, &s->w->resp_limits, s->method, &resp, &e) : -1;
        if (n == 0 && want < cap)
            return;
        if (n <= 0) {
            finish(s, 0, false,
                   n == 0 ? "upstream answer head too large"
                          : (e.reason ? e.reason : "malformed upstream answer"));
            return;
        }
        if (resp.status < 200) { /* 1xx: skip it and read the real head */
            evbuffer_drain(in, (size_t)n);
            on_read(bev, arg);
            return;
        }
        s->status = resp.status;
        s->framing = resp.body;
        s->left = resp.body == HTTP1_BODY_LENGTH ? resp.content_length : 0;
        bool keep = resp.keep_alive;
        s->keep = keep;
        evbuffer_drain(in, (size_t)n);
        if (s->left > SUBREQ_MAX_BODY) {
            finish(s, 0, false, "upstream answer too large");
            return;
        }
        if (resp.body == HTTP1_BODY_NONE ||
            (resp.body == HTTP1_BODY_LENGTH && resp.content_length == 0)) {
            finish(s, s->status, keep && evbuffer_get_length(in) == 0, NULL);
            return;
        }
        if (resp.body == HTTP1_BODY_CHUNKED) {
            http1_chunked_init(&s->chunk);
            s->chunk.response = true;
        }
        s->st = S_BODY;
    }
    read_body(s, in);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct subreq *s = arg;
    if (what & BEV_EVENT_CONNECTED) {
        s->uc->connected = true;
        return;
    }
    if ((what & BEV_EVENT_EOF) && s->st == S_BODY && s->framing == HTTP1_BODY_CLOSE) {
        read_body(s, bufferevent_get_input(bev));
        finish(s, s->status, false, NULL);
        return;
    }
    if (!(what & BEV_EVENT_TIMEOUT) && retry(s))
        return;
    finish(s, 0, false,
           (what & BEV_EVENT_TIMEOUT) ? "upstream look-up timed out"
                                      : "upstream connection failed");
}
