/*
 * worker: one thread, one event loop, one SO_REUSEPORT listening socket per configured
 * address, one upstream pool. Everything a request touches on the data path belongs to
 * exactly one worker, so the request path takes no locks. The main thread creates workers,
 * starts them, asks them to drain on SIGTERM and joins them.
 */
#ifndef WARDEN_NET_WORKER_H
#define WARDEN_NET_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "net/http1.h"

struct warden_config;
struct conn;
struct authn;
struct authn_cache;
struct policy_store;
struct target;
struct policy_snapshot;
struct resolve_cache;
struct audit_pipeline;
struct assertion_signer;
struct assertion_cache;

/* Read-only state shared by every worker, built by main before the workers start. */
struct worker_shared {
    const struct warden_config *cfg;
    SSL_CTX **tls; /* per configured listener; NULL for plain TCP */
    struct sockaddr_storage upstream_addr;
    socklen_t upstream_addrlen;
    struct authn *authn;             /* shared, thread-safe on the request path */
    struct policy_store *policy;     /* NULL when no [policy] is configured */
    struct audit_pipeline *audit;    /* NULL when no [audit] is configured */
    struct assertion_signer *signer; /* [upstream] identity = assert: signs X-Warden-Assertion */
    const char *service_credential;  /* Authorization value of Warden's own look-ups, or NULL */
};

struct worker_listener {
    struct worker *w;
    struct evconnlistener *lev;
    SSL_CTX *tls;
    unsigned auth_mask; /* credentials this listener accepts (enum authn_method_flag bits) */
    size_t index;
};

struct worker {
    unsigned magic;
    int id;
    pthread_t thread;
    struct event_base *base;
    const struct worker_shared *shared;
    const struct warden_config *cfg;
    struct worker_listener *listeners;
    size_t nlisteners;
    struct upstream_pool *pool;
    struct event *stop_ev;
    struct event *deadline_ev;
    bool draining;
    struct conn *conns; /* all open client connections (intrusive list) */
    size_t nconns;
    uint64_t rng[2];
    char *scratch; /* builds one message head at a time (the loop is single-threaded) */
    size_t scratch_cap;
    struct target *target; /* one canonicalised request-target at a time */
    char *target_buf;
    size_t target_buf_cap;
    struct authn_cache *authn_cache;
    struct resolve_cache *resolve;      /* look-up cache (net/resolve) */
    struct assertion_cache *assertions; /* signed assertions per identity, NULL if not assert */
    struct policy_snapshot *policy;     /* this worker's reference to the current policy */
    uint64_t policy_gen;
    struct http1_limits req_limits, resp_limits;
    struct timeval tv_header, tv_body_idle, tv_keepalive, tv_up_connect, tv_first_byte, tv_up_idle,
        tv_client_write;
};

/* Create a worker owning the given listening fds (one per configured listener). */
struct worker *worker_new(const struct worker_shared *sh, int id, const int *fds, char *err,
                          size_t errlen);
int worker_start(struct worker *w);
/* Thread-safe: ask the worker to stop accepting and drain within deadline_ms. */
void worker_request_stop(struct worker *w, int64_t deadline_ms);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* 32 lower-case hex characters + NUL from the worker's PRNG (request ids). */
void worker_random_id(struct worker *w, char out[33]);

/* The policy snapshot current for a request starting now (refreshed lock-free when the store
 * has swapped); the worker holds the reference; NULL when no policy is configured. */
struct policy_snapshot *worker_policy(struct worker *w);

/* Called by conn.c when a connection closes, so draining can finish. */
void worker_conn_closed(struct worker *w);

#endif
