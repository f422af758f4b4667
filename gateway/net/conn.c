/*
 * conn: the client side of the proxy and the exchange state machine.
 *
 * One exchange = one request head parsed strictly by http1, a decision, a re-framed request
 * written to a pooled upstream connection, the request body streamed (Content-Length or
 * re-chunked), the response head parsed strictly and re-framed, and the response body streamed
 * back. Request and response progress independently (rq and rs below): an upstream may answer
 * before it has read the whole body. Bodies are never buffered whole: data moves between
 * evbuffers by reference, and each direction stops reading when the other side's output
 * passes PIPE_HIGH, resuming from the write callback once it drains below PIPE_LOW.
 *
 * Pipelined bytes after a request stay in the client's input buffer (bounded by the read
 * watermark) and are parsed only when the current exchange ends. Any framing error, and any
 * exchange that ends with the request body unconsumed, closes the client connection, so the
 * connection can never be desynchronised. Errors Warden generates are MLflow-shaped JSON.
 *
 * Timeouts: c->timer covers the head read (client_header, from the first byte), the
 * keep-alive idle wait and the upstream connect; bufferevent timeouts cover the idle phases
 * of bodies in both directions and the upstream's first byte.
 */
#include "util/clock.h"
#include "net/conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "admin/metrics.h"
#include "auth/authn.h"
#include "config.h"
#include "audit/pipeline.h"
#include "auth/assertion.h"
#include "auth/obo.h"
#include "auth/principal.h"
#include "net/enforce.h"
#include "net/gate.h"
#include "policy/policy.h"
#include "net/http1.h"
#include "net/idhdr.h"
#include "net/upstream.h"
#include "net/worker.h"
#include "util/log.h"

#define CONN_MAGIC      0x434f4e4eu
#define PIPE_HIGH       (256 * 1024)
#define PIPE_LOW        (64 * 1024)
#define MAX_CONN_TOKENS 16

/* RQ_COLLECT: reading a JSON body whole (the decision needs it); RQ_WAIT: the head (and any
 * collected body) is held while look-ups run; the client's input is not read meanwhile. */
enum req_state { RQ_IDLE = 0, RQ_HEAD, RQ_COLLECT, RQ_WAIT, RQ_BODY, RQ_DONE };
enum resp_state { RS_NONE = 0, RS_CONNECT, RS_HEAD, RS_BODY, RS_DONE };

struct conn {
    unsigned magic;
    struct worker *w;
    struct conn *prev, *next;
    struct bufferevent *cbev;
    struct upstream_conn *up;
    struct event *timer;
    bool tls;
    unsigned auth_mask; /* credentials the listener accepts */
    bool closing;       /* no more requests: close once the output is flushed */
    bool client_eof;
    char peer_ip[INET6_ADDRSTRLEN];
    uint16_t peer_port;
    struct audit_record *rec; /* this exchange's audit record (NULL: auditing off) */
    int up_status;            /* MLflow's status for this exchange, 0 if not forwarded */
    bool anonymous;           /* forwarded without a credential (public endpoint) */
    bool rec_live;            /* rec was begun for the current exchange */
    const char *assertion;    /* the signed identity assertion while the head is built */
    size_t assertion_len;

    /* current exchange */
    enum req_state rq;
    enum resp_state rs;
    enum http1_method method;
    int client_minor;
    bool keep_alive;
    bool expect_continue;
    bool up_reusable;
    bool retried;
    enum http1_body req_body;
    uint64_t req_left;
    struct http1_chunked req_chunk;
    enum http1_body resp_body;
    uint64_t resp_left;
    struct http1_chunked resp_chunk;
    bool resp_rechunk; /* response re-chunked towards the client */
    int status;
    size_t head_scanned;      /* bytes of the pending head already searched for a line end */
    struct authn_identity id; /* who: subject, caller and actors (empty: public) */
    const struct principal *principal; /* id.subject: whose rights apply (NULL: public) */
    struct policy_snapshot *policy;    /* the policy this exchange is decided under */
    struct authn_waiter *waiter;       /* parked on a JWT key refetch */
    struct enforce *enf;               /* authorisation of this exchange (NULL: public) */
    struct evbuffer *jbody;            /* RQ_COLLECT: the JSON body read so far */
    char *held;                        /* upstream head held while collecting or waiting: */
    size_t held_len;                   /* without framing lines and final CRLF when json */
    bool held_json;                    /* the forwarded body will be enforce's JSON */
    bool held_body;                    /* the client's (streamed) body is still to come */
    bool req_read;                     /* the whole request (head and body) has been read */
    bool auth_waited;                  /* already parked once for this request */
    char *replay;      /* copy of the upstream head of a body-less request, for one retry; */
    size_t replay_len; /* 0 = nothing to replay. The buffer is kept for the connection's  */
    size_t replay_cap; /* later requests, so keep-alive traffic allocates nothing here. */
    struct timespec t_start;
    char request_id[129];
    union {
        struct http1_request req;
        struct http1_response resp;
    } u;
};

static void on_client_read(struct bufferevent *bev, void *arg);
static void on_client_write(struct bufferevent *bev, void *arg);
static void on_client_event(struct bufferevent *bev, short what, void *arg);
static void on_up_read(struct bufferevent *bev, void *arg);
static void on_up_write(struct bufferevent *bev, void *arg);
static void on_up_event(struct bufferevent *bev, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void start_upstream(struct conn *c, const char *head, size_t len);
static void enforced(struct conn *c, enum enforce_verdict v);
static void on_enforced(void *arg, enum enforce_verdict v);
static void answer_enforced(struct conn *c);
static void invite_body(struct conn *c);
static void forward(struct conn *c, const char *head, size_t len, bool has_body);
static void collect_body(struct conn *c);
static int relay_chunked(struct http1_chunked *ch, struct evbuffer *in, struct evbuffer *out,
                         bool rechunk, struct http1_error *err);

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

/* MLflow error_code values for the statuses Warden itself produces. */
static const char *error_code_for(int status)
{
    switch (status) {
    case 400:
    case 417:
    case 505:
        return "BAD_REQUEST";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "ENDPOINT_NOT_FOUND";
    case 408:
    case 504:
        return "DEADLINE_EXCEEDED";
    case 413:
    case 414:
    case 431:
        return "REQUEST_LIMIT_EXCEEDED";
    case 501:
        return "NOT_IMPLEMENTED";
    case 502:
    case 503:
        return "TEMPORARILY_UNAVAILABLE";
    default:
        return "INTERNAL_ERROR";
    }
}

static void tv_arm(struct event *ev, const struct timeval *tv)
{
    event_add(ev, tv);
}

static uint64_t elapsed_us(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000000u +
           (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000);
}

/* Drop what belongs to the current exchange only. */
static void exchange_release(struct conn *c)
{
    c->replay_len = 0;
    enforce_free(c->enf);
    c->enf = NULL;
    free(c->held);
    c->held = NULL;
    c->held_len = 0;
    if (c->jbody)
        evbuffer_drain(c->jbody, evbuffer_get_length(c->jbody));
    authn_identity_release(&c->id);
    c->principal = NULL;
    policy_snapshot_unref(c->policy);
    c->policy = NULL;
    c->auth_waited = false;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    assert(c->magic == CONN_MAGIC);
    struct worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    upstream_discard(c->up);
    if (c->waiter)
        authn_wait_cancel(w->shared->authn, c->waiter);
    exchange_release(c);
    if (c->jbody)
        evbuffer_free(c->jbody);
    free(c->rec);
    free(c->replay);
    event_free(c->timer);
    bufferevent_free(c->cbev);
    c->magic = 0;
    free(c);
    atomic_fetch_sub_explicit(&g_metrics.active_connections, 1, memory_order_relaxed);
    worker_conn_closed(w);
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

/* Close once everything written so far has reached the client. Never frees synchronously,
 * so callers may keep using c until they return to the event loop. */
static void close_after_flush(struct conn *c)
{
    static const struct timeval now = {0, 0};
    c->closing = true;
    bufferevent_disable(c->cbev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->cbev)) == 0) {
        event_add(c->timer, &now); /* on_timer frees it */
        return;
    }
    event_del(c->timer);
    bufferevent_setwatermark(c->cbev, EV_WRITE, 0, 0);
    bufferevent_enable(c->cbev, EV_WRITE);
}

/*
 * Writes happen in the callback that produced the data, not from a later write event: on a
 * plain socket EV_WRITE stays disabled, so queueing output arms nothing, and conn_flush()
 * writes what is queued before the callback returns. Only what the kernel would not take
 * enables EV_WRITE (the loop finishes it; on_*_write turns it off again once drained). This
 * saves the epoll_ctl add/delete pair per direction per exchange that bufferevents otherwise
 * pay. TLS client connections keep libevent's own path.
 */
static void flush_now(struct bufferevent *bev)
{
    if (bufferevent_get_enabled(bev) & EV_WRITE)
        return; /* the loop owns this direction now */
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return;
    /* libevent keeps the start of a socket bufferevent's output frozen except while it writes
     * itself; do as its write callback does. On EAGAIN the rest waits for the loop; on a real
     * error the loop's own write attempt reports it through the event callback. */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
    if (n < 0 || evbuffer_get_length(out) > 0)
        bufferevent_enable(bev, EV_WRITE);
}

/* Stop watching a plain socket for writability once everything queued was written. */
static void write_done(struct bufferevent *bev)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
}

static void pump_request_body(struct conn *c);
static void pump_response_body(struct conn *c);

/* Write what the callback queued, then resume a direction that was paused for back-pressure
 * if the write drained its output (no write event will come to do it). Bounded: each round
 * either moves data or stops. */
static void conn_flush(struct conn *c)
{
    for (int round = 0; round < 16; round++) {
        if (c->up && c->up->connected)
            flush_now(c->up->bev);
        if (!c->tls)
            flush_now(c->cbev);
        if (c->closing)
            return;
        bool again = false;
        if (c->rq == RQ_BODY && c->up && !(bufferevent_get_enabled(c->cbev) & EV_READ) &&
            evbuffer_get_length(bufferevent_get_output(c->up->bev)) < PIPE_LOW) {
            bufferevent_enable(c->cbev, EV_READ);
            pump_request_body(c);
            again = true;
        }
        if (c->rs == RS_BODY && c->up && !(bufferevent_get_enabled(c->up->bev) & EV_READ) &&
            evbuffer_get_length(bufferevent_get_output(c->cbev)) < PIPE_LOW) {
            bufferevent_enable(c->up->bev, EV_READ);
            pump_response_body(c);
            again = true;
        }
        if (!again)
            return;
    }
}

/* Parse a pipelined request from the event loop rather than from deep inside the previous
 * exchange's call chain. */
static void resume_reading(struct conn *c)
{
    if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0)
        bufferevent_trigger(c->cbev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void try_parse_head(struct conn *c);

/* Start this exchange's audit record (auditing on only). The head's views are valid now. */
static void audit_begin(struct conn *c, const struct http1_request *r)
{
    if (!c->w->shared->audit)
        return;
    if (!c->rec && !(c->rec = malloc(sizeof(*c->rec))))
        return; /* account() tries again with a minimal record */
    struct audit_record *a = c->rec;
    c->rec_live = true;
    audit_record_init(a, clock_wall_ms() - (int64_t)(elapsed_us(&c->t_start) / 1000), "mlflow");
    AUDIT_SET(a, request_id, c->request_id, strlen(c->request_id));
    if (r) {
        AUDIT_SET(a, method, r->method_str, r->method_len);
        audit_record_set_path(a, r->target, r->target_len);
        const struct http1_header *ua = http1_find(r->headers, r->nheaders, "user-agent");
        if (ua)
            AUDIT_SET(a, user_agent, ua->value, ua->value_len);
    }
    audit_record_set_source(a, c->peer_ip, strlen(c->peer_ip), c->peer_port);
    AUDIT_SET(a, subject.auth_method, "none", 4);
}

static void audit_principal(struct conn *c, const struct authn_identity *id)
{
    const struct principal *p = id->subject;
    static const char *const methods[] = {"none", "jwt", "pat", "basic", "basic", "mtls"};
    struct audit_record *a = c->rec;
    if (!a || !p)
        return;
    AUDIT_SET(a, subject.user, p->user, strlen(p->user));
    const char *m = (unsigned)p->method < 6 ? methods[p->method] : "none";
    AUDIT_SET(a, subject.auth_method, m, strlen(m));
    AUDIT_SET(a, subject.token_id, p->token_id, strlen(p->token_id));
    for (size_t i = 0; i < p->ngroups; i++)
        audit_record_add_group(a, p->groups[i], strlen(p->groups[i]));
    for (size_t i = 0; i < id->nactors; i++) {
        const char *name;
        bool sp = authn_actor_is_sp(&id->actors[i], &name);
        audit_record_add_actor(a, sp ? "service_principal" : "user", id->actors[i].id,
                               strlen(id->actors[i].id));
    }
}

/* One record per exchange, whatever its end: decided by enforce, refused by the parser or
 * authentication, answered by MLflow or failed upstream. Submitted before the last bytes of
 * the answer leave (conn_flush runs after the callback), so in the synchronous commit mode
 * no acknowledged request lacks its record. */
static void audit_end(struct conn *c)
{
    struct audit_pipeline *p = c->w->shared->audit;
    if (!p)
        return;
    if (!c->rec || !c->rec_live) {
        audit_begin(c, NULL);
        if (!c->rec) {
            log_error("audit: out of memory: request %s not recorded", c->request_id);
            return;
        }
        const char *m = http1_method_name(c->method);
        AUDIT_SET(c->rec, method, m, strlen(m));
    }
    struct audit_record *a = c->rec;
    a->status = c->status;
    a->upstream_status = c->up_status;
    a->latency_us = elapsed_us(&c->t_start);
    if (c->enf) {
        enforce_audit(c->enf, a);
    } else {
        const char *why = c->anonymous       ? "public endpoint"
                          : c->status == 401 ? "unauthenticated"
                          : c->status == 503 ? "unavailable"
                          : c->status >= 400 ? "refused before authorisation"
                                             : "";
        a->decision.result = c->anonymous ? AUDIT_DECISION_ALLOW : AUDIT_DECISION_DENY;
        AUDIT_SET(a, decision.reason, why, strlen(why));
    }
    c->rec_live = false;
    if (audit_submit(p, a) < 0)
        log_error("audit: record of request %s refused (spool full)", c->request_id);
}

static void account(struct conn *c)
{
    audit_end(c);
    metrics_request_done(c->status, elapsed_us(&c->t_start));
    log_debug("worker %d: %s %s status=%d id=%s", c->w->id, c->peer_ip,
              http1_method_name(c->method), c->status, c->request_id);
}

/* Drop the upstream (not reusable) and end the exchange with an answer of Warden's own: body
 * is JSON; extra is one more header line ("Name: value\r\n") or NULL. The connection stays
 * open only when the request was fully read and the client keeps alive. */
static void reply(struct conn *c, int status, const char *extra, const char *body, size_t blen,
                  bool force_close)
{
    upstream_discard(c->up);
    c->up = NULL;
    bool close = force_close || c->closing || !c->keep_alive || c->rq != RQ_DONE;
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%s"
                        "Content-Length: %zu\r\nX-Request-Id: %s\r\nConnection: %s\r\n\r\n",
                        status, reason_phrase(status), extra ? extra : "", blen, c->request_id,
                        close ? "close" : "keep-alive");
    if (c->method != HTTP1_M_HEAD)
        evbuffer_add(out, body, blen);
    c->status = status;
    account(c);
    exchange_release(c); /* body may belong to the exchange (enforce's answer) */
    c->rs = RS_DONE;
    if (close) {
        close_after_flush(c);
        return;
    }
    c->rq = RQ_IDLE;
    c->rs = RS_NONE;
    bufferevent_set_timeouts(c->cbev, NULL, &c->w->tv_client_write);
    bufferevent_enable(c->cbev, EV_READ); /* off while a decision waited for look-ups */
    tv_arm(c->timer, &c->w->tv_keepalive);
    resume_reading(c);
}

static void reply_error(struct conn *c, int status, const char *message, bool force_close)
{
    char body[700];
    int blen = snprintf(body, sizeof(body), "{\"error_code\": \"%s\", \"message\": \"",
                        error_code_for(status));
    for (const char *m = message; *m && blen < (int)sizeof(body) - 8; m++) {
        unsigned char ch = (unsigned char)*m;
        if (ch == '"' || ch == '\\')
            body[blen++] = '\\';
        body[blen++] = ch >= 0x20 ? (char)ch : ' ';
    }
    blen += snprintf(body + blen, sizeof(body) - (size_t)blen, "\"}");
    reply(c, status, NULL, body, (size_t)blen, force_close);
}

/* Refuse before any exchange state exists (framing errors, limits). Always closes. */
static void refuse(struct conn *c, int status, const char *reason)
{
    if (!c->request_id[0])
        worker_random_id(c->w, c->request_id);
    c->rq = RQ_HEAD;
    log_debug("worker %d: %s refused %d: %s", c->w->id, c->peer_ip, status, reason);
    reply_error(c, status, reason, true);
}

/* ---------------------------------------------------------------- request head */

/* Case-insensitive match of a header name against a lower-case literal. Runs for every header
 * against every name Warden handles specially, so it stops at the first differing byte. */
static bool name_eq(const char *name, size_t len, const char *lower)
{
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != lower[i]) /* also stops at lower's NUL: header names hold no NUL */
            return false;
    }
    return lower[len] == '\0';
}

/* Headers Warden never forwards upstream: hop-by-hop, framing it rewrites, and headers it
 * sets itself (so a client copy can neither spoof nor, via Connection, delete them). */
static bool request_header_dropped(const struct conn *c, const struct http1_header *h)
{
    static const char *const drop[] = {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "content-length",
        "host",
        "expect",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "forwarded",
        "x-real-ip",
        "x-request-id",
        "x-client-ip",
        "x-mlflow-workspace", /* workspaces are not exposed through Warden */
    };
    if (memchr(h->name, '_', h->name_len))
        return true; /* WSGI folds '_' into '-': never let a look-alike through */
    /* Client credentials stay with Warden, unless the upstream authenticates users itself
     * (identity = passthrough: the client's own Authorization goes on unchanged). */
    if (name_eq(h->name, h->name_len, "authorization"))
        return c->w->cfg->upstream.identity != UPSTREAM_IDENTITY_PASSTHROUGH || !c->principal;
    const char *obo = authn_obo_header_lc(c->w->shared->authn);
    if (obo && name_eq(h->name, h->name_len, obo))
        return true; /* the subject token of an on-behalf-of request */
    if (h->name_len > 9 && strncasecmp(h->name, "x-warden-", 9) == 0)
        return true;
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (name_eq(h->name, h->name_len, drop[i]))
            return true;
    return false;
}

struct tokens {
    const char *p[MAX_CONN_TOKENS];
    size_t len[MAX_CONN_TOKENS];
    size_t n;
};

/* Collect the comma-separated tokens of every Connection header. -1 if too many. */
static int connection_tokens(const struct http1_header *hs, size_t n, struct tokens *t)
{
    t->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (!name_eq(hs[i].name, hs[i].name_len, "connection"))
            continue;
        const char *v = hs[i].value, *end = v + hs[i].value_len;
        while (v < end) {
            while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
                v++;
            const char *s = v;
            while (v < end && *v != ',' && *v != ' ' && *v != '\t')
                v++;
            if (v > s) {
                if (t->n == MAX_CONN_TOKENS)
                    return -1;
                t->p[t->n] = s;
                t->len[t->n++] = (size_t)(v - s);
            }
        }
    }
    return 0;
}

static bool in_tokens(const struct tokens *t, const struct http1_header *h)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] == h->name_len && strncasecmp(t->p[i], h->name, h->name_len) == 0)
            return true;
    return false;
}

static bool request_id_ok(const char *v, size_t n)
{
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == ':' || ch == '-'))
            return false;
    }
    return true;
}

struct out {
    char *p;
    size_t n, cap;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->n + n > o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

#define PUTS(o, s) put((o), (s), sizeof(s) - 1)

static void put_header(struct out *o, const char *name, size_t nl, const char *val, size_t vl)
{
    put(o, name, nl);
    PUTS(o, ": ");
    put(o, val, vl);
    PUTS(o, "\r\n");
}

static void put_u64(struct out *o, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof(tmp) - i);
}

/*
 * Headers that decide what MLflow does must be unambiguous: the WSGI bridge joins repeated
 * headers with "," and FastAPI takes the first, so a repeated one could be read two ways.
 */
static const char *duplicate_sensitive(const struct http1_header *hs, size_t n)
{
    static const char *const once[] = {"authorization", "content-type", "x-mlflow-workspace",
                                       "x-mlflow-experiment-id", "cookie"};
    for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++) {
        int seen = 0;
        for (size_t i = 0; i < n; i++)
            if (name_eq(hs[i].name, hs[i].name_len, once[k]) && ++seen > 1)
                return once[k];
    }
    return NULL;
}

/* Build the upstream request head for c->u.req into o. */
static void build_upstream_head(struct conn *c, struct out *o, const struct tokens *tok, bool json)
{
    const struct http1_request *r = &c->u.req;
    const struct warden_config *cfg = c->w->cfg;
    put(o, r->method_str, r->method_len);
    PUTS(o, " ");
    put(o, r->target, r->target_len);
    PUTS(o, " HTTP/1.1\r\nHost: ");
    put(o, cfg->upstream.host, strlen(cfg->upstream.host));
    PUTS(o, "\r\n");
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct http1_header *h = &r->headers[i];
        if (request_header_dropped(c, h) || in_tokens(tok, h))
            continue;
        if (json && name_eq(h->name, h->name_len, "content-type"))
            continue; /* Warden sends its own body: application/json */
        put_header(o, h->name, h->name_len, h->value, h->value_len);
    }
    put_header(o, "X-Forwarded-For", 15, c->peer_ip, strlen(c->peer_ip));
    if (c->tls)
        PUTS(o, "X-Forwarded-Proto: https\r\n");
    else
        PUTS(o, "X-Forwarded-Proto: http\r\n");
    if (r->host)
        put_header(o, "X-Forwarded-Host", 16, r->host, r->host_len);
    put_header(o, "X-Request-Id", 12, c->request_id, strlen(c->request_id));
    if (c->principal) {
        size_t left = o->cap - o->n;
        size_t need = idhdr_format(&c->id, c->assertion, c->assertion_len, o->p + o->n, left);
        if (need > left)
            o->overflow = true;
        else
            o->n += need;
    }
    if (json)
        return; /* framing and the final CRLF come with the body */
    if (r->body == HTTP1_BODY_CHUNKED) {
        PUTS(o, "Transfer-Encoding: chunked\r\n");
    } else if (r->body == HTTP1_BODY_LENGTH) {
        PUTS(o, "Content-Length: ");
        put_u64(o, r->content_length);
        PUTS(o, "\r\n");
    }
    PUTS(o, "\r\n");
}

/* The JWT key refetch this request waited for has finished: parse the parked head again and
 * decide (this time without waiting). */
static void on_auth_ready(void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    c->waiter = NULL;
    if (c->closing)
        return;
    bufferevent_enable(c->cbev, EV_READ);
    c->rq = RQ_IDLE;
    try_parse_head(c);
    conn_flush(c);
}

/* A complete request head of n bytes is at the front of the client input. */
static void process_request(struct conn *c, size_t n)
{
    struct http1_request *r = &c->u.req;
    struct worker *w = c->w;
    event_del(c->timer);
    c->method = r->method;
    c->client_minor = r->version_minor;
    c->keep_alive = r->keep_alive && !w->draining;
    c->expect_continue = r->expect_continue;
    c->req_body = r->body;
    c->req_left = r->body == HTTP1_BODY_LENGTH ? r->content_length : 0;
    c->retried = false;
    c->status = 0;

    const struct http1_header *rid = http1_find(r->headers, r->nheaders, "x-request-id");
    if (rid && request_id_ok(rid->value, rid->value_len)) {
        memcpy(c->request_id, rid->value, rid->value_len);
        c->request_id[rid->value_len] = '\0';
    } else {
        worker_random_id(w, c->request_id);
    }
    c->anonymous = false;
    c->up_status = 0;
    audit_begin(c, r);
    if (!audit_accepting(w->shared->audit)) {
        /* Fail closed: the audit spool is full and the rule is deny. */
        refuse(c, 503, "the audit trail is unavailable; retry later");
        return;
    }

    if ((r->method == HTTP1_M_GET || r->method == HTTP1_M_HEAD) &&
        (r->body == HTTP1_BODY_CHUNKED || c->req_left > 0)) {
        /* MLflow reads a GET's JSON body when its query is empty: never let a body ride
         * along where the ids are expected in the query. */
        refuse(c, 400, "GET and HEAD requests must not have a body");
        return;
    }
    const char *dup = duplicate_sensitive(r->headers, r->nheaders);
    if (dup) {
        char msg[128];
        snprintf(msg, sizeof(msg), "repeated %s header", dup);
        refuse(c, 400, msg);
        return;
    }
    const char *obo = authn_obo_header_lc(w->shared->authn);
    if (obo) {
        int seen = 0;
        for (size_t i = 0; i < r->nheaders; i++)
            seen += name_eq(r->headers[i].name, r->headers[i].name_len, obo);
        if (seen > 1) { /* as for Authorization: never "the first one wins" */
            char msg[160];
            snprintf(msg, sizeof(msg), "repeated %s header", authn_obo_header(w->shared->authn));
            refuse(c, 400, msg);
            return;
        }
    }
    struct tokens tok;
    if (connection_tokens(r->headers, r->nheaders, &tok) < 0) {
        refuse(c, 400, "too many Connection options");
        return;
    }
    bool has_body =
        c->req_body == HTTP1_BODY_CHUNKED || (c->req_body == HTTP1_BODY_LENGTH && c->req_left > 0);

    struct gate_result g;
    SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->cbev) : NULL;
    switch (gate_check(w, r, ssl, c->auth_mask, &g)) {
    case GATE_FORWARD:
        c->id = g.identity;
        c->principal = c->id.subject;
        c->anonymous = g.anonymous;
        audit_principal(c, &c->id);
        break;
    case GATE_PENDING:
        if (!c->auth_waited &&
            authn_wait(w->shared->authn, w->base, on_auth_ready, c, &c->waiter) == 0) {
            /* Park: the head stays in the input buffer and is parsed again on wake-up. */
            c->auth_waited = true;
            bufferevent_disable(c->cbev, EV_READ);
            return;
        }
        refuse(c, 503, "signing keys are being refreshed; retry");
        return;
    case GATE_DENY: {
        /* Without the body: the head alone was the request, keep-alive may go on. With one:
         * never invite it (no 100 Continue); close instead of reading it. */
        if (!has_body) {
            evbuffer_drain(bufferevent_get_input(c->cbev), n);
            c->rq = RQ_DONE;
        }
        char extra[400];
        extra[0] = '\0';
        if (g.www_authenticate[0])
            snprintf(extra, sizeof(extra), "WWW-Authenticate: %s\r\n", g.www_authenticate);
        reply(c, g.status, extra, g.body, g.body_len, false);
        return;
    }
    }
    c->policy = policy_snapshot_ref(worker_policy(w));
    c->req_read = !has_body;

    enum enforce_verdict v = ENFORCE_FORWARD;
    if (c->principal) {
        c->enf = enforce_new(w, &c->id, c->policy, c->request_id, on_enforced, c);
        if (!c->enf) {
            refuse(c, 500, "out of memory");
            return;
        }
        v = enforce_head(c->enf, r);
    }
    bool json = v == ENFORCE_NEED_BODY;
    if (v == ENFORCE_ANSWER) {
        /* As for an authentication denial: without a body the connection may go on. */
        if (!has_body) {
            evbuffer_drain(bufferevent_get_input(c->cbev), n);
            c->rq = RQ_DONE;
        }
        answer_enforced(c);
        return;
    }

    c->assertion = NULL;
    if (c->principal && w->assertions) {
        char aerr[160];
        if (assertion_get(w->assertions, &c->id, clock_wall_ms(), &c->assertion, &c->assertion_len,
                          aerr, sizeof(aerr)) < 0) {
            log_error("assertion for %s: %s", c->principal->user, aerr);
            refuse(c, 500, "could not sign the identity assertion for the upstream");
            return;
        }
    }
    struct out o = {w->scratch, 0, w->scratch_cap, false};
    build_upstream_head(c, &o, &tok, json);
    c->assertion = NULL; /* valid only until the next call on the cache */
    evbuffer_drain(bufferevent_get_input(c->cbev), n);
    if (o.overflow) {
        refuse(c, 431, "request head too large to forward");
        return;
    }
    if (c->req_body == HTTP1_BODY_CHUNKED)
        http1_chunked_init(&c->req_chunk);
    if (v != ENFORCE_FORWARD) {
        /* The decision needs the body or look-ups: hold the head until it is made. */
        c->held = malloc(o.n ? o.n : 1);
        if (!c->held) {
            refuse(c, 500, "out of memory");
            return;
        }
        memcpy(c->held, o.p, o.n);
        c->held_len = o.n;
        c->held_json = json;
        c->held_body = has_body && !json;
        if (!json) {
            enforced(c, v);
            return;
        }
        if (!has_body) {
            c->rq = RQ_WAIT;
            enforced(c, enforce_body(c->enf, "", 0));
            return;
        }
        if (c->req_body == HTTP1_BODY_LENGTH && c->req_left > enforce_body_limit(c->enf)) {
            reply_error(c, 413, "request body too large for this endpoint", true);
            return;
        }
        /* Authenticated and routed: invite the body the decision needs. */
        c->rq = RQ_COLLECT;
        invite_body(c);
        collect_body(c);
        return;
    }
    forward(c, o.p, o.n, has_body);
}

/* Queue 100 Continue when the client waits for it (and has not started sending). */
static void invite_body(struct conn *c)
{
    if (c->expect_continue && c->client_minor == 1 &&
        evbuffer_get_length(bufferevent_get_input(c->cbev)) == 0) {
        evbuffer_add(bufferevent_get_output(c->cbev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->expect_continue = false;
    }
    bufferevent_set_timeouts(c->cbev, &c->w->tv_body_idle, &c->w->tv_client_write);
}

/* Send head (and, for a body-less request, keep it for one replay); then stream the client's
 * body when there is one. */
static void forward(struct conn *c, const char *head, size_t len, bool has_body)
{
    c->rq = has_body ? RQ_BODY : RQ_DONE;
    if (!has_body) {
        /* Keep the head so a request that meets a stale pooled connection can be replayed
         * once on a fresh one: it has no body, so replaying it is exactly the same request. */
        if (len > c->replay_cap) {
            char *grown = realloc(c->replay, len);
            if (grown) {
                c->replay = grown;
                c->replay_cap = len;
            }
        }
        if (len <= c->replay_cap) {
            memcpy(c->replay, head, len);
            c->replay_len = len;
        }
    }
    start_upstream(c, head, len);
    if (!c->up)
        return; /* answered with an error */
    if (has_body) {
        /* The decision to forward is made: now, and only now, invite the body. */
        invite_body(c);
        bufferevent_enable(c->cbev, EV_READ);
        pump_request_body(c);
    }
}

static void answer_enforced(struct conn *c)
{
    const char *body;
    size_t len;
    int status = enforce_answer(c->enf, &body, &len);
    reply(c, status, NULL, body, len, false);
}

/* Act on a verdict for the held head. */
static void enforced(struct conn *c, enum enforce_verdict v)
{
    switch (v) {
    case ENFORCE_PENDING:
    case ENFORCE_NEED_BODY:
        c->rq = RQ_WAIT;
        bufferevent_disable(c->cbev, EV_READ);
        return;
    case ENFORCE_ANSWER:
        if (c->req_read)
            c->rq = RQ_DONE;
        answer_enforced(c);
        return;
    case ENFORCE_FORWARD:
        break;
    }
    if (!c->held_json) {
        char *h = c->held;
        c->held = NULL;
        forward(c, h, c->held_len, c->held_body);
        free(h);
        return;
    }
    size_t blen = 0;
    const char *b = enforce_forward_body(c->enf, &blen);
    struct evbuffer *m = evbuffer_new();
    if (!m) {
        reply_error(c, 500, "out of memory", true);
        return;
    }
    evbuffer_add(m, c->held, c->held_len);
    evbuffer_add_printf(m, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                        enforce_forward_content_type(c->enf), blen);
    evbuffer_add(m, b, blen);
    size_t len = evbuffer_get_length(m);
    const char *msg = (const char *)evbuffer_pullup(m, -1);
    c->rq = RQ_DONE;
    if (msg)
        start_upstream(c, msg, len);
    else
        reply_error(c, 500, "out of memory", true);
    evbuffer_free(m);
    if (c->up)
        bufferevent_enable(c->cbev, EV_READ); /* pipelined requests wait in the input */
}

/* A look-up finished: the verdict comes from the loop, outside any client callback. */
static void on_enforced(void *arg, enum enforce_verdict v)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    if (c->closing)
        return;
    enforced(c, v);
    conn_flush(c);
}

/* RQ_COLLECT: move the JSON body into c->jbody; when complete, decide. */
static void collect_body(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->cbev);
    if (!c->jbody && !(c->jbody = evbuffer_new())) {
        reply_error(c, 500, "out of memory", true);
        return;
    }
    size_t limit = enforce_body_limit(c->enf);
    bool complete = false;
    while (!complete && evbuffer_get_length(in) > 0) {
        if (c->req_body == HTTP1_BODY_LENGTH) {
            size_t avail = evbuffer_get_length(in);
            size_t take = avail < c->req_left ? avail : (size_t)c->req_left;
            evbuffer_remove_buffer(in, c->jbody, take);
            c->req_left -= take;
            complete = c->req_left == 0;
        } else {
            struct http1_error err = {0};
            int r = relay_chunked(&c->req_chunk, in, c->jbody, false, &err);
            if (r < 0) {
                atomic_fetch_add_explicit(&g_metrics.framing_rejects, 1, memory_order_relaxed);
                reply_error(c, 400, err.reason ? err.reason : "malformed chunked body", true);
                return;
            }
            complete = r == 2;
        }
        if (evbuffer_get_length(c->jbody) > limit) {
            reply_error(c, 413, "request body too large for this endpoint", true);
            return;
        }
    }
    if (!complete)
        return;
    c->req_read = true;
    c->rq = RQ_WAIT;
    bufferevent_disable(c->cbev, EV_READ);
    bufferevent_set_timeouts(c->cbev, NULL, &c->w->tv_client_write);
    size_t len = evbuffer_get_length(c->jbody);
    const char *body = len ? (const char *)evbuffer_pullup(c->jbody, -1) : "";
    if (!body) {
        reply_error(c, 500, "out of memory", true);
        return;
    }
    enforced(c, enforce_body(c->enf, body, len));
}

/* Borrow an upstream connection and queue the head on it. On failure, answers the client. */
static void start_upstream(struct conn *c, const char *head, size_t len)
{
    struct worker *w = c->w;
    c->up = upstream_acquire(w->pool);
    if (!c->up) {
        atomic_fetch_add_explicit(&g_metrics.upstream_errors, 1, memory_order_relaxed);
        reply_error(c, 503, "upstream connection limit reached; retry later", false);
        return;
    }
    c->up_reusable = true;
    struct bufferevent *ub = c->up->bev;
    bufferevent_setcb(ub, on_up_read, on_up_write, on_up_event, c);
    bufferevent_setwatermark(ub, EV_WRITE, PIPE_LOW, 0);
    bufferevent_setwatermark(ub, EV_READ, 0, PIPE_HIGH);
    evbuffer_add(bufferevent_get_output(ub), head, len);
    c->rs = c->up->connected ? RS_HEAD : RS_CONNECT;
    if (c->rs == RS_CONNECT)
        tv_arm(c->timer, &w->tv_up_connect);
    /* The first-byte clock starts once the whole request is sent (see request_sent()). */
    bufferevent_set_timeouts(ub, NULL, &w->tv_up_idle);
    /* A connection still connecting needs the loop to write its head; a pooled one is written
     * by conn_flush() when the callback returns. */
    bufferevent_enable(ub, c->up->connected ? EV_READ : EV_READ | EV_WRITE);
    if (c->rq == RQ_DONE && c->rs == RS_HEAD)
        bufferevent_set_timeouts(ub, &w->tv_first_byte, &w->tv_up_idle);
}

static void try_parse_head(struct conn *c)
{
    struct worker *w = c->w;
    struct evbuffer *in = bufferevent_get_input(c->cbev);
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return;
    if (c->rq == RQ_IDLE) {
        c->rq = RQ_HEAD;
        c->request_id[0] = '\0';
        c->head_scanned = 0;
        clock_gettime(CLOCK_MONOTONIC, &c->t_start);
        tv_arm(c->timer, &w->tv_header);
    }
    /* Below the request-line limit, parse only when a new line has ended: a client that
     * sends one byte per packet then costs O(bytes), not O(bytes^2). */
    if (len <= (size_t)w->cfg->limits.request_line) {
        struct evbuffer_ptr from;
        evbuffer_ptr_set(in, &from, c->head_scanned, EVBUFFER_PTR_SET);
        struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, &from);
        c->head_scanned = len;
        if (nl.pos < 0)
            return;
    }
    size_t want = len;
    if (want > (size_t)w->cfg->limits.header_bytes + 1)
        want = (size_t)w->cfg->limits.header_bytes + 1;
    const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
    if (!data) {
        refuse(c, 500, "out of memory");
        return;
    }
    struct http1_error err = {0};
    int n = http1_parse_request(data, want, &w->req_limits, &c->u.req, &err);
    if (n == 0) {
        if (want > (size_t)w->cfg->limits.header_bytes)
            refuse(c, 431, "request head too large");
        return;
    }
    if (n < 0) {
        atomic_fetch_add_explicit(&g_metrics.framing_rejects, 1, memory_order_relaxed);
        refuse(c, err.status, err.reason ? err.reason : "malformed request");
        return;
    }
    process_request(c, (size_t)n);
}

/* ---------------------------------------------------------------- request body */

/* Move n body bytes from in to out without copying, as one chunk of our own when rechunk. */
static void relay_bytes(struct evbuffer *in, struct evbuffer *out, size_t n, bool rechunk)
{
    if (rechunk)
        evbuffer_add_printf(out, "%zx\r\n", n);
    evbuffer_remove_buffer(in, out, n);
    if (rechunk)
        evbuffer_add(out, "\r\n", 2);
}

/*
 * One step of a chunked body from in to out: framing bytes are consumed, chunk data is relayed
 * (re-chunked by Warden when rechunk, else as plain bytes), and the final chunk is written when
 * rechunk. Returns what http1_chunked_feed() returned (0 also when in is empty).
 */
static int relay_chunked(struct http1_chunked *ch, struct evbuffer *in, struct evbuffer *out,
                         bool rechunk, struct http1_error *err)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
        return 0;
    size_t consumed = 0, data_len = 0;
    int r = http1_chunked_feed(ch, v.iov_base, v.iov_len, &consumed, &data_len, err);
    if (r < 0)
        return r;
    if (data_len > 0)
        relay_bytes(in, out, data_len, rechunk);
    else
        evbuffer_drain(in, consumed);
    if (r == 2 && rechunk)
        evbuffer_add(out, "0\r\n\r\n", 5);
    return r;
}

/* The request has been entirely written to the upstream output buffer. */
static void request_sent(struct conn *c)
{
    c->rq = RQ_DONE;
    bufferevent_set_timeouts(c->cbev, NULL, &c->w->tv_client_write);
    if (c->up && c->rs == RS_HEAD)
        bufferevent_set_timeouts(c->up->bev, &c->w->tv_first_byte, &c->w->tv_up_idle);
}

static void pump_request_body(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->cbev);
    struct evbuffer *out = bufferevent_get_output(c->up->bev);
    while (c->rq == RQ_BODY && evbuffer_get_length(in) > 0) {
        if (evbuffer_get_length(out) >= PIPE_HIGH) {
            bufferevent_disable(c->cbev, EV_READ); /* resumed by on_up_write */
            return;
        }
        if (c->req_body == HTTP1_BODY_LENGTH) {
            size_t avail = evbuffer_get_length(in);
            size_t take = avail < c->req_left ? avail : (size_t)c->req_left;
            evbuffer_remove_buffer(in, out, take);
            c->req_left -= take;
            if (c->req_left == 0)
                request_sent(c);
            continue;
        }
        struct http1_error err = {0};
        int r = relay_chunked(&c->req_chunk, in, out, true, &err);
        if (r < 0) {
            atomic_fetch_add_explicit(&g_metrics.framing_rejects, 1, memory_order_relaxed);
            /* The upstream already has part of this request: it must not see the rest. */
            upstream_discard(c->up);
            c->up = NULL;
            if (c->rs <= RS_HEAD)
                reply_error(c, 400, err.reason ? err.reason : "malformed chunked body", true);
            else
                close_after_flush(c);
            return;
        }
        if (r == 2)
            request_sent(c);
    }
}

/* ---------------------------------------------------------------- response */

static bool response_header_dropped(const struct http1_header *h, const struct tokens *tok)
{
    static const char *const drop[] = {"connection", "keep-alive",     "proxy-connection",
                                       "te",         "trailer",        "transfer-encoding",
                                       "upgrade",    "content-length", "x-request-id"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (name_eq(h->name, h->name_len, drop[i]))
            return true;
    return in_tokens(tok, h);
}

/* End of the exchange once both directions are done; recycle or close. */
static void exchange_done(struct conn *c)
{
    struct worker *w = c->w;
    enforce_completed(c->enf, c->status);
    account(c);
    exchange_release(c);
    if (c->up) {
        if (c->up_reusable && c->rq == RQ_DONE)
            upstream_release(c->up);
        else
            upstream_discard(c->up);
        c->up = NULL;
    }
    if (c->rq != RQ_DONE || !c->keep_alive || c->closing || w->draining) {
        close_after_flush(c);
        return;
    }
    c->rq = RQ_IDLE;
    c->rs = RS_NONE;
    bufferevent_set_timeouts(c->cbev, NULL, &w->tv_client_write);
    bufferevent_enable(c->cbev, EV_READ);
    tv_arm(c->timer, &w->tv_keepalive);
    resume_reading(c); /* a pipelined request may already be waiting */
}

static void response_done(struct conn *c)
{
    c->rs = RS_DONE;
    if (c->rq != RQ_DONE) {
        /* The upstream answered without taking the whole body: neither connection can be
         * trusted to be at a message boundary any more. */
        c->up_reusable = false;
        c->keep_alive = false;
    }
    exchange_done(c);
}

static void write_response_head(struct conn *c, size_t head_len)
{
    const struct http1_response *r = &c->u.resp;
    struct worker *w = c->w;
    struct tokens tok;
    if (connection_tokens(r->headers, r->nheaders, &tok) < 0)
        tok.n = 0;
    c->status = r->status;
    c->up_status = r->status;
    c->resp_body = r->body;
    c->resp_left = r->body == HTTP1_BODY_LENGTH ? r->content_length : 0;
    c->up_reusable = c->up_reusable && r->keep_alive;
    c->resp_rechunk = false;
    if (r->body == HTTP1_BODY_CHUNKED || r->body == HTTP1_BODY_CLOSE) {
        if (c->client_minor == 1)
            c->resp_rechunk = true;
        else
            c->keep_alive = false; /* HTTP/1.0 client: the body ends at close */
    }
    if (r->body == HTTP1_BODY_CHUNKED)
        http1_chunked_init(&c->resp_chunk);
    c->resp_chunk.response = true;

    struct out o = {w->scratch, 0, w->scratch_cap, false};
    const char *reason = reason_phrase(r->status);
    PUTS(&o, "HTTP/1.1 ");
    put_u64(&o, (uint64_t)r->status);
    PUTS(&o, " ");
    put(&o, reason, strlen(reason));
    PUTS(&o, "\r\n");
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct http1_header *h = &r->headers[i];
        if (response_header_dropped(h, &tok)) {
            /* A HEAD or 304 response describes the length of a body it does not carry. */
            if (r->body == HTTP1_BODY_NONE && r->status != 204 &&
                name_eq(h->name, h->name_len, "content-length"))
                put_header(&o, h->name, h->name_len, h->value, h->value_len);
            continue;
        }
        put_header(&o, h->name, h->name_len, h->value, h->value_len);
    }
    put_header(&o, "X-Request-Id", 12, c->request_id, strlen(c->request_id));
    if (r->body == HTTP1_BODY_LENGTH) {
        PUTS(&o, "Content-Length: ");
        put_u64(&o, r->content_length);
        PUTS(&o, "\r\n");
    } else if (c->resp_rechunk) {
        PUTS(&o, "Transfer-Encoding: chunked\r\n");
    }
    bool keep = c->keep_alive && !w->draining && !c->closing;
    if (c->rq != RQ_DONE)
        keep = false; /* the body is still arriving; we will close after this response */
    if (keep && c->client_minor == 0)
        PUTS(&o, "Connection: keep-alive\r\n");
    else if (!keep)
        PUTS(&o, "Connection: close\r\n");
    PUTS(&o, "\r\n");
    evbuffer_drain(bufferevent_get_input(c->up->bev), head_len);
    if (o.overflow) {
        c->up_reusable = false;
        reply_error(c, 502, "upstream response head too large", true);
        return;
    }
    if (!keep)
        c->keep_alive = false;
    evbuffer_add(bufferevent_get_output(c->cbev), o.p, o.n);
    bufferevent_set_timeouts(c->up->bev, &w->tv_up_idle, &w->tv_up_idle);
    c->rs = RS_BODY;
    if (r->body == HTTP1_BODY_NONE || (r->body == HTTP1_BODY_LENGTH && c->resp_left == 0)) {
        response_done(c);
        return;
    }
    bufferevent_setwatermark(c->cbev, EV_WRITE, PIPE_LOW, 0);
    pump_response_body(c);
}

static void parse_response_head(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->up->bev);
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            return;
        size_t cap = (size_t)c->w->cfg->limits.header_bytes + 1;
        size_t want = len < cap ? len : cap;
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
        struct http1_error err = {0};
        int n =
            data ? http1_parse_response(data, want, &c->w->resp_limits, c->method, &c->u.resp, &err)
                 : -1;
        if (n == 0) {
            if (want >= cap)
                goto bad;
            return;
        }
        if (n < 0)
            goto bad;
        int st = c->u.resp.status;
        if (st >= 100 && st < 200) {
            if (st == 101)
                goto bad;                  /* Warden never asks for an upgrade */
            evbuffer_drain(in, (size_t)n); /* interim responses are not relayed */
            continue;
        }
        write_response_head(c, (size_t)n);
        return;
    bad:
        atomic_fetch_add_explicit(&g_metrics.upstream_errors, 1, memory_order_relaxed);
        log_warn("worker %d: malformed response from upstream: %s (request %s)", c->w->id,
                 n < 0 && err.reason ? err.reason : "head too large", c->request_id);
        c->up_reusable = false;
        reply_error(c, 502, "upstream sent a malformed response", false);
        return;
    }
}

static void pump_response_body(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->up->bev);
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    while (c->rs == RS_BODY && evbuffer_get_length(in) > 0) {
        if (evbuffer_get_length(out) >= PIPE_HIGH) {
            bufferevent_disable(c->up->bev, EV_READ); /* resumed by on_client_write */
            return;
        }
        if (c->resp_body == HTTP1_BODY_LENGTH || c->resp_body == HTTP1_BODY_CLOSE) {
            size_t avail = evbuffer_get_length(in);
            size_t take = avail;
            if (c->resp_body == HTTP1_BODY_LENGTH && take > c->resp_left)
                take = (size_t)c->resp_left;
            relay_bytes(in, out, take, c->resp_rechunk);
            if (c->resp_body == HTTP1_BODY_LENGTH) {
                c->resp_left -= take;
                if (c->resp_left == 0) {
                    if (evbuffer_get_length(in) > 0)
                        c->up_reusable = false; /* bytes beyond the declared length */
                    response_done(c);
                    return;
                }
            }
            continue;
        }
        struct http1_error err = {0};
        int r = relay_chunked(&c->resp_chunk, in, out, c->resp_rechunk, &err);
        if (r < 0) {
            atomic_fetch_add_explicit(&g_metrics.upstream_errors, 1, memory_order_relaxed);
            log_warn("worker %d: malformed chunked response from upstream (request %s)", c->w->id,
                     c->request_id);
            upstream_discard(c->up);
            c->up = NULL;
            close_after_flush(c); /* truncated: no final chunk, so the client sees it */
            return;
        }
        if (r == 2) {
            if (evbuffer_get_length(in) > 0)
                c->up_reusable = false;
            response_done(c);
            return;
        }
    }
}

/* ---------------------------------------------------------------- callbacks */

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    if (c->closing)
        return;
    switch (c->rq) {
    case RQ_IDLE:
    case RQ_HEAD:
        try_parse_head(c);
        break;
    case RQ_COLLECT:
        collect_body(c);
        break;
    case RQ_WAIT:
        break; /* reading is off; bytes that came with the body wait */
    case RQ_BODY:
        pump_request_body(c);
        break;
    case RQ_DONE:
        break; /* pipelined bytes wait for the current exchange to end */
    }
    conn_flush(c);
}

static void on_client_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            conn_free(c);
        return;
    }
    if (!c->tls)
        write_done(bev);
    if (c->rs == RS_BODY && c->up) {
        bufferevent_enable(c->up->bev, EV_READ);
        pump_response_body(c);
    }
    conn_flush(c);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    if (what & BEV_EVENT_TIMEOUT) {
        atomic_fetch_add_explicit(&g_metrics.timeouts, 1, memory_order_relaxed);
        if ((what & BEV_EVENT_READING) && (c->rq == RQ_BODY || c->rq == RQ_COLLECT) &&
            c->rs <= RS_HEAD && !c->closing) {
            reply_error(c, 408, "request body timed out", true);
            return;
        }
        conn_free(c); /* the client stopped reading, or stalled mid-response */
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (c->tls && e)
            atomic_fetch_add_explicit(&g_metrics.tls_handshake_errors, 1, memory_order_relaxed);
        conn_free(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->client_eof = true;
        if (c->rq == RQ_DONE && c->rs != RS_NONE && c->rs != RS_DONE && !c->closing) {
            /* Half-closed after a complete request: deliver the answer, then close. */
            c->keep_alive = false;
            return;
        }
        conn_free(c);
    }
}

/* Upstream failed before any response byte reached the client. */
static void upstream_failed(struct conn *c, int status, const char *msg)
{
    atomic_fetch_add_explicit(&g_metrics.upstream_errors, 1, memory_order_relaxed);
    bool stale = c->up && c->up->reused && c->rs == RS_HEAD &&
                 evbuffer_get_length(bufferevent_get_input(c->up->bev)) == 0;
    if (stale && c->replay_len && !c->retried && c->rq == RQ_DONE) {
        /* A pooled connection the upstream closed while idle: replay the body-less request
         * once on a fresh connection. */
        c->retried = true;
        upstream_discard(c->up);
        c->up = NULL;
        start_upstream(c, c->replay, c->replay_len);
        return;
    }
    log_warn("worker %d: upstream error: %s (request %s)", c->w->id, msg, c->request_id);
    reply_error(c, status, msg, false);
}

static void up_event(struct conn *c, struct bufferevent *bev, short what)
{
    if (what & BEV_EVENT_CONNECTED) {
        c->up->connected = true;
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        event_del(c->timer);
        c->rs = RS_HEAD;
        if (c->rq == RQ_DONE)
            bufferevent_set_timeouts(bev, &c->w->tv_first_byte, &c->w->tv_up_idle);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        atomic_fetch_add_explicit(&g_metrics.timeouts, 1, memory_order_relaxed);
        if (c->rs <= RS_HEAD) {
            c->up_reusable = false;
            upstream_failed(c, 504, "upstream did not answer in time");
            return;
        }
        upstream_discard(c->up);
        c->up = NULL;
        close_after_flush(c); /* stalled mid-body: the client sees a truncated message */
        return;
    }
    if (c->rs == RS_BODY && c->resp_body == HTTP1_BODY_CLOSE && (what & BEV_EVENT_EOF)) {
        pump_response_body(c);
        if (c->resp_rechunk)
            evbuffer_add(bufferevent_get_output(c->cbev), "0\r\n\r\n", 5);
        c->up_reusable = false;
        response_done(c);
        return;
    }
    if (c->rs <= RS_HEAD) {
        if (c->rs == RS_CONNECT)
            upstream_failed(c, 502, "cannot connect to upstream");
        else
            upstream_failed(c, 502, "upstream closed the connection");
        return;
    }
    atomic_fetch_add_explicit(&g_metrics.upstream_errors, 1, memory_order_relaxed);
    upstream_discard(c->up);
    c->up = NULL;
    close_after_flush(c);
}

/* Never frees c synchronously (close_after_flush defers), so the flush after it is safe. */
static void on_up_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    up_event(c, bev, what);
    conn_flush(c);
}

static void on_up_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    if (c->rs == RS_CONNECT)
        c->rs = RS_HEAD;
    if (c->rs == RS_HEAD)
        parse_response_head(c);
    else if (c->rs == RS_BODY)
        pump_response_body(c);
    conn_flush(c);
}

static void on_up_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    write_done(bev);
    if (c->rq == RQ_BODY && !c->closing) {
        bufferevent_enable(c->cbev, EV_READ);
        pump_request_body(c);
    }
    conn_flush(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    assert(c->magic == CONN_MAGIC);
    if (c->closing) {
        conn_free(c);
        return;
    }
    if (c->rs == RS_CONNECT) {
        atomic_fetch_add_explicit(&g_metrics.timeouts, 1, memory_order_relaxed);
        c->up_reusable = false;
        upstream_failed(c, 504, "upstream connect timed out");
        conn_flush(c);
        return;
    }
    if (c->rq == RQ_HEAD) {
        atomic_fetch_add_explicit(&g_metrics.timeouts, 1, memory_order_relaxed);
        refuse(c, 408, "request head not received in time");
        return; /* refuse() closes: the loop writes it */
    }
    conn_free(c); /* keep-alive idle, or the first request never started */
}

void conn_drain(struct conn *c)
{
    if ((c->rq == RQ_IDLE && evbuffer_get_length(bufferevent_get_input(c->cbev)) == 0) ||
        c->closing) {
        if (!c->closing)
            conn_free(c);
        return;
    }
    c->keep_alive = false;
}

int conn_new(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peerlen, SSL_CTX *tls,
             unsigned auth_mask)
{
    struct conn *c = calloc(1, sizeof(*c));
    SSL *ssl = NULL;
    if (!c)
        goto fail;
    c->magic = CONN_MAGIC;
    c->w = w;
    c->auth_mask = auth_mask;
    if (peer->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer_ip,
                  sizeof(c->peer_ip));
        c->peer_port = ntohs(((const struct sockaddr_in *)peer)->sin_port);
    } else if (peer->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer_ip,
                  sizeof(c->peer_ip));
        c->peer_port = ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
    } else
        strcpy(c->peer_ip, "unknown");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (tls) {
        ssl = SSL_new(tls);
        if (!ssl)
            goto fail;
        c->tls = true;
        c->cbev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
        if (c->cbev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->cbev, 1);
    } else {
        c->cbev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->cbev)
        goto fail;
    c->timer = evtimer_new(w->base, on_timer, c);
    if (!c->timer) {
        bufferevent_free(c->cbev);
        goto fail_freed_fd;
    }
    size_t high = (size_t)w->cfg->limits.header_bytes + PIPE_HIGH;
    bufferevent_setwatermark(c->cbev, EV_READ, 0, high);
    bufferevent_setcb(c->cbev, on_client_read, on_client_write, on_client_event, c);
    bufferevent_set_timeouts(c->cbev, NULL, &w->tv_client_write);
    /* Plain sockets are written by conn_flush(); OpenSSL's bufferevent writes for itself. */
    bufferevent_enable(c->cbev, tls ? EV_READ | EV_WRITE : EV_READ);
    if (!tls)
        bufferevent_disable(c->cbev, EV_WRITE); /* bufferevents start with EV_WRITE enabled */
    /* The first head (and any TLS handshake) must arrive within client_header. */
    clock_gettime(CLOCK_MONOTONIC, &c->t_start);
    tv_arm(c->timer, &w->tv_header);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&g_metrics.active_connections, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_metrics.connections_total, 1, memory_order_relaxed);
    return 0;
fail:
    if (ssl)
        SSL_free(ssl);
    evutil_closesocket(fd);
fail_freed_fd:
    free(c);
    return -1;
}
