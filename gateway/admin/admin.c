/*
 * admin: see admin.h. /readyz opens a TCP connection to the upstream (bounded by a short
 * timeout) on the admin thread, so a slow upstream never stalls a worker.
 */
#include "admin/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin/metrics.h"
#include "admin/reload.h"
#include "audit/pipeline.h"
#include "auth/authn.h"
#include "net/listener.h"
#include "policy/store.h"

struct admin {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    bool started;
    int port;
    struct sockaddr_storage upstream;
    socklen_t uplen;
    struct reload_ctx reload;
    struct event *watch_ev;
    char *jwks; /* assertion key set, or NULL */
    size_t jwks_len;
};

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    struct admin *a = arg;
    reload_if_changed(&a->reload);
}

/* Figures owned by other modules, appended to the core metrics. */
static size_t render_extra(const struct admin *a, char *buf, size_t cap)
{
    size_t n = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                                  \
    } while (0)
    if (a->reload.policy) {
        struct policy_store_stats st;
        policy_store_stats(a->reload.policy, &st);
        OUT("# HELP warden_policy_reloads_total Policy reload attempts by result.\n"
            "# TYPE warden_policy_reloads_total counter\n"
            "warden_policy_reloads_total{result=\"ok\"} %llu\n"
            "warden_policy_reloads_total{result=\"failed\"} %llu\n",
            (unsigned long long)st.reloads_ok, (unsigned long long)st.reloads_failed);
        OUT("# HELP warden_policy_generation Policy snapshots swapped in since start.\n"
            "# TYPE warden_policy_generation gauge\nwarden_policy_generation %llu\n",
            (unsigned long long)st.generation);
        OUT("# HELP warden_policy_info The policy version in force.\n"
            "# TYPE warden_policy_info gauge\nwarden_policy_info{version=\"%s\"} 1\n",
            st.version);
    }
    if (a->reload.authn) {
        struct authn_stats as;
        authn_get_stats(a->reload.authn, &as);
        OUT("# HELP warden_auth_total Authentication outcomes.\n"
            "# TYPE warden_auth_total counter\n"
            "warden_auth_total{result=\"cache_hit\"} %llu\n"
            "warden_auth_total{result=\"verified\"} %llu\n"
            "warden_auth_total{result=\"invalid\"} %llu\n"
            "warden_auth_total{result=\"pending\"} %llu\n",
            (unsigned long long)as.cache_hits, (unsigned long long)as.verified,
            (unsigned long long)as.invalid, (unsigned long long)as.pending);
        OUT("# HELP warden_auth_key_refetches_total JWKS refetches for unknown key ids.\n"
            "# TYPE warden_auth_key_refetches_total counter\n"
            "warden_auth_key_refetches_total %llu\n",
            (unsigned long long)as.refetches);
    }
#undef OUT
    return n < cap ? n : cap;
}

static bool upstream_reachable(const struct admin *a)
{
    int fd = socket(a->upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = false;
    if (connect(fd, (const struct sockaddr *)&a->upstream, a->uplen) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof(err);
        if (poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
            err == 0)
            ok = true;
    }
    close(fd);
    return ok;
}

static void reply(struct evhttp_request *req, int code, const char *ctype, const char *body,
                  size_t len)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Service Unavailable", b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_POST && strcmp(uri, "/reload") == 0) {
        char *out = malloc(65536);
        if (!out) {
            evhttp_send_error(req, 500, NULL);
            return;
        }
        int rc = reload_all(&a->reload, "admin API", out, 65536);
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, out, strlen(out));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, rc == 0 ? 200 : 422, rc == 0 ? "OK" : "Policy Refused", b);
        evbuffer_free(b);
        free(out);
        return;
    }
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        reply(req, 405, "application/json",
              "{\"error_code\": \"BAD_REQUEST\", \"message\": \"method not allowed\"}\n", 65);
        return;
    }
    if (strcmp(uri, "/healthz") == 0) {
        reply(req, 200, "text/plain", "ok\n", 3);
    } else if (strcmp(uri, "/readyz") == 0) {
        /* Not ready when requests would be refused: the upstream is down, or the audit spool
         * is full under the deny rule. Sinks behind (spooling) do not stop traffic. */
        struct audit_pipeline *au = a->reload.audit;
        if (!upstream_reachable(a))
            reply(req, 503, "text/plain", "upstream unreachable\n", 21);
        else if (!audit_accepting(au))
            reply(req, 503, "text/plain", "audit spool full\n", 17);
        else if (au && !audit_pipeline_sinks_up(au))
            reply(req, 200, "text/plain", "ready (an audit sink is down: spooling)\n", 40);
        else
            reply(req, 200, "text/plain", "ready\n", 6);
    } else if (strcmp(uri, "/.well-known/jwks.json") == 0 || strcmp(uri, "/jwks.json") == 0) {
        if (!a->jwks) {
            static const char none[] = "{\"error_code\": \"ENDPOINT_NOT_FOUND\", \"message\": "
                                       "\"no assertion key: [upstream] identity is not assert\"}\n";
            reply(req, 404, "application/json", none, sizeof(none) - 1);
            return;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "max-age=300");
        reply(req, 200, "application/jwk-set+json", a->jwks, a->jwks_len);
    } else if (strcmp(uri, "/metrics") == 0) {
        char *buf = malloc(65536);
        if (!buf) {
            evhttp_send_error(req, 500, NULL);
            return;
        }
        size_t n = metrics_render(buf, 65536);
        n += render_extra(a, buf + n, 65536 - n);
        reply(req, 200, "text/plain; version=0.0.4", buf, n);
        free(buf);
    } else {
        reply(req, 404, "application/json",
              "{\"error_code\": \"ENDPOINT_NOT_FOUND\", \"message\": \"no such admin endpoint\"}\n",
              75);
    }
}

struct admin *admin_new(const char *address, const struct sockaddr *upstream, socklen_t uplen,
                        const struct reload_ctx *reload, int64_t watch_ms, char *err, size_t errlen)
{
    struct admin *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(&a->upstream, upstream, uplen);
    a->uplen = uplen;
    a->reload = *reload;
    int port = 0;
    char e[256];
    int fd = listener_bind(address, &port, e, sizeof(e));
    if (fd < 0) {
        snprintf(err, errlen, "admin listener: %s", e);
        goto fail;
    }
    a->port = port;
    a->base = event_base_new();
    a->http = a->base ? evhttp_new(a->base) : NULL;
    if (!a->http || evhttp_accept_socket(a->http, fd) != 0) {
        close(fd);
        snprintf(err, errlen, "admin listener: cannot serve on %s", address);
        goto fail;
    }
    evhttp_set_gencb(a->http, on_request, a);
    evhttp_set_max_headers_size(a->http, 8192);
    evhttp_set_max_body_size(a->http, 65536);
    evhttp_set_timeout(a->http, 10);
    if (a->reload.policy && watch_ms > 0) {
        struct timeval tv = {watch_ms / 1000, (watch_ms % 1000) * 1000};
        a->watch_ev = event_new(a->base, -1, EV_PERSIST, on_watch, a);
        if (!a->watch_ev || event_add(a->watch_ev, &tv) != 0) {
            snprintf(err, errlen, "admin: cannot start the policy file watcher");
            goto fail;
        }
    }
    return a;
fail:
    admin_free(a);
    return NULL;
}

int admin_set_jwks(struct admin *a, const char *json, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, json, len);
    copy[len] = '\0';
    free(a->jwks);
    a->jwks = copy;
    a->jwks_len = len;
    return 0;
}

int admin_port(const struct admin *a)
{
    return a->port;
}

static void *admin_main(void *arg)
{
    struct admin *a = arg;
    event_base_dispatch(a->base);
    return NULL;
}

int admin_start(struct admin *a)
{
    if (pthread_create(&a->thread, NULL, admin_main, a) != 0)
        return -1;
    a->started = true;
    return 0;
}

void admin_stop(struct admin *a)
{
    if (!a || !a->started)
        return;
    event_base_loopbreak(a->base);
    pthread_join(a->thread, NULL);
    a->started = false;
}

void admin_free(struct admin *a)
{
    if (!a)
        return;
    admin_stop(a);
    if (a->watch_ev)
        event_free(a->watch_ev);
    if (a->http)
        evhttp_free(a->http);
    if (a->base)
        event_base_free(a->base);
    free(a->jwks);
    free(a);
}
