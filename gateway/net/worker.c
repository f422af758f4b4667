/*
 * worker: see worker.h. Shutdown is two-phase: worker_request_stop() (any thread) activates
 * stop_ev on the worker's loop; the loop then frees its listeners, closes idle connections,
 * tells busy ones to close after their current response, and exits when the last one is
 * gone or when the deadline passes (remaining connections are then cut).
 */
#include "net/worker.h"
#include "auth/assertion.h"
#include "net/resolve.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "admin/metrics.h"
#include "auth/authn.h"
#include "mlflow/target.h"
#include "policy/store.h"
#include "config.h"
#include "net/conn.h"
#include "net/upstream.h"
#include "util/log.h"

#define WORKER_MAGIC 0x574f524bu

static void ms_to_tv(int64_t ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *addr,
                      int len, void *arg)
{
    struct worker_listener *wl = arg;
    struct worker *w = wl->w;
    assert(w->magic == WORKER_MAGIC);
    if (w->draining || w->nconns >= (size_t)w->cfg->limits.max_connections) {
        evutil_closesocket(fd);
        return;
    }
    conn_new(w, fd, addr, (socklen_t)len, wl->tls, wl->auth_mask);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct worker_listener *wl = arg;
    log_warn("worker %d: accept failed: %s", wl->w->id,
             evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    if (w->nconns)
        log_warn("worker %d: shutdown deadline reached, closing %zu connection(s)", w->id,
                 w->nconns);
    event_base_loopbreak(w->base);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    if (w->draining)
        return;
    w->draining = true;
    for (size_t i = 0; i < w->nlisteners; i++) {
        evconnlistener_free(w->listeners[i].lev);
        w->listeners[i].lev = NULL;
    }
    struct conn *c = w->conns;
    while (c) {
        struct conn *next = conn_next(c);
        conn_drain(c);
        c = next;
    }
    if (w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

void worker_conn_closed(struct worker *w)
{
    if (w->draining && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

void worker_random_id(struct worker *w, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 2; k++) {
        /* xorshift128+ */
        uint64_t s1 = w->rng[0];
        const uint64_t s0 = w->rng[1];
        w->rng[0] = s0;
        s1 ^= s1 << 23;
        w->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
        uint64_t v = w->rng[1] + s0;
        for (int i = 0; i < 16; i++)
            out[k * 16 + i] = hex[(v >> (i * 4)) & 15];
    }
    out[32] = '\0';
}

struct worker *worker_new(const struct worker_shared *sh, int id, const int *fds, char *err,
                          size_t errlen)
{
    const struct warden_config *cfg = sh->cfg;
    struct worker *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->magic = WORKER_MAGIC;
    w->id = id;
    w->shared = sh;
    w->cfg = cfg;
    if (getrandom(w->rng, sizeof(w->rng), 0) != sizeof(w->rng))
        w->rng[0] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull + (uint64_t)id;
    w->rng[1] |= 1;
    w->req_limits.max_request_line = (size_t)cfg->limits.request_line;
    w->req_limits.max_header_bytes = (size_t)cfg->limits.header_bytes;
    w->req_limits.max_headers = (size_t)cfg->limits.headers;
    w->resp_limits.max_request_line = (size_t)cfg->limits.header_bytes;
    w->resp_limits.max_header_bytes = (size_t)cfg->limits.header_bytes;
    w->resp_limits.max_headers = HTTP1_MAX_HEADERS_CAP;
    ms_to_tv(cfg->timeouts.client_header_ms, &w->tv_header);
    ms_to_tv(cfg->timeouts.client_body_idle_ms, &w->tv_body_idle);
    ms_to_tv(cfg->timeouts.keepalive_idle_ms, &w->tv_keepalive);
    ms_to_tv(cfg->timeouts.upstream_connect_ms, &w->tv_up_connect);
    ms_to_tv(cfg->timeouts.upstream_first_byte_ms, &w->tv_first_byte);
    ms_to_tv(cfg->timeouts.upstream_idle_ms, &w->tv_up_idle);
    ms_to_tv(cfg->timeouts.client_write_idle_ms, &w->tv_client_write);
    /* Room for the client's head plus what Warden adds (Host, X-Forwarded-*, framing). */
    w->scratch_cap = (size_t)cfg->limits.header_bytes * 2 + 4096;
    w->scratch = malloc(w->scratch_cap);
    w->target_buf_cap = (size_t)cfg->limits.request_line;
    w->target_buf = malloc(w->target_buf_cap);
    w->target = malloc(sizeof(*w->target));
    w->authn_cache = authn_cache_new(sh->authn, (size_t)cfg->auth.cache_size);
    w->resolve = resolve_cache_new();
    if (sh->signer && !(w->assertions = assertion_cache_new(sh->signer, 1024))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    w->base = event_base_new();
    if (!w->scratch || !w->target_buf || !w->target || !w->authn_cache || !w->resolve || !w->base) {
        snprintf(err, errlen, "cannot create event loop");
        goto fail;
    }
    /* Every connection uses the same few durations: as libevent "common timeouts" they sit
     * in one FIFO queue each instead of the timer heap, so re-arming one costs O(1). */
    struct timeval *tvs[] = {&w->tv_header,      &w->tv_body_idle,  &w->tv_keepalive,
                             &w->tv_up_connect,  &w->tv_first_byte, &w->tv_up_idle,
                             &w->tv_client_write};
    for (size_t i = 0; i < sizeof(tvs) / sizeof(tvs[0]); i++) {
        const struct timeval *common = event_base_init_common_timeout(w->base, tvs[i]);
        if (common)
            *tvs[i] = *common;
    }
    w->pool = upstream_pool_new(w->base, (const struct sockaddr *)&sh->upstream_addr,
                                sh->upstream_addrlen, (size_t)cfg->upstream.max_idle,
                                (size_t)cfg->upstream.max_conns, cfg->upstream.idle_timeout_ms);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->deadline_ev = evtimer_new(w->base, on_deadline, w);
    w->listeners = calloc(cfg->nlisteners, sizeof(*w->listeners));
    if (!w->pool || !w->stop_ev || !w->deadline_ev || !w->listeners) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        struct worker_listener *wl = &w->listeners[i];
        wl->w = w;
        wl->index = i;
        wl->tls = sh->tls[i];
        wl->auth_mask = cfg->listeners[i].auth_mask;
        wl->lev = evconnlistener_new(w->base, on_accept, wl, LEV_OPT_CLOSE_ON_FREE, -1, fds[i]);
        if (!wl->lev) {
            snprintf(err, errlen, "cannot listen on %s", cfg->listeners[i].address);
            goto fail;
        }
        evconnlistener_set_error_cb(wl->lev, on_accept_error);
        w->nlisteners++;
    }
    return w;
fail:
    worker_free(w);
    return NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

int worker_start(struct worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

struct policy_snapshot *worker_policy(struct worker *w)
{
    if (!w->shared->policy)
        return NULL;
    policy_store_refresh(w->shared->policy, &w->policy, &w->policy_gen);
    return w->policy;
}

void worker_request_stop(struct worker *w, int64_t deadline_ms)
{
    struct timeval tv;
    ms_to_tv(deadline_ms, &tv);
    evtimer_add(w->deadline_ev, &tv);
    event_active(w->stop_ev, 0, 0);
}

void worker_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    while (w->conns)
        conn_free(w->conns);
    for (size_t i = 0; i < w->nlisteners; i++)
        if (w->listeners[i].lev)
            evconnlistener_free(w->listeners[i].lev);
    free(w->listeners);
    upstream_pool_free(w->pool);
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->deadline_ev)
        event_free(w->deadline_ev);
    if (w->base)
        event_base_free(w->base);
    free(w->scratch);
    free(w->target_buf);
    free(w->target);
    authn_cache_free(w->authn_cache);
    resolve_cache_free(w->resolve);
    assertion_cache_free(w->assertions);
    policy_snapshot_unref(w->policy);
    w->magic = 0;
    free(w);
}
