/*
 * upstream: one worker's pool of keep-alive connections to the upstream (MLflow). Lives on the
 * worker's event loop, so it needs no locks. An acquired connection belongs to exactly one
 * client connection until it is released (reusable: back to the idle list) or discarded.
 * Idle connections are watched: any byte or EOF from the upstream, or the idle timeout (kept
 * below the upstream's own keep-alive timeout), closes them.
 */
#ifndef WARDEN_NET_UPSTREAM_H
#define WARDEN_NET_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct bufferevent;
struct upstream_pool;

struct upstream_conn {
    unsigned magic;
    struct upstream_pool *pool;
    struct bufferevent *bev;
    struct upstream_conn *next_idle;
    bool connected; /* false while the TCP connect is in progress */
    bool reused;    /* taken from the idle list (may have been closed by the peer meanwhile) */
};

struct upstream_pool *upstream_pool_new(struct event_base *base, const struct sockaddr *addr,
                                        socklen_t addrlen, size_t max_idle, size_t max_conns,
                                        int64_t idle_ms);
void upstream_pool_free(struct upstream_pool *pool);

/*
 * Take an idle connection or start a new one. The caller installs its own callbacks on
 * conn->bev; a new connection reports BEV_EVENT_CONNECTED (or an error) to them.
 * Returns NULL when max_conns connections are in use or the socket cannot be created.
 */
struct upstream_conn *upstream_acquire(struct upstream_pool *pool);

/* Hand a connection back after a complete exchange; it becomes idle (or is closed when the
 * idle list is full). The bufferevent's buffers must be empty. */
void upstream_release(struct upstream_conn *uc);

/* Close and free a connection that must not be reused. NULL is a no-op. */
void upstream_discard(struct upstream_conn *uc);

/* Connections in use plus idle, for draining. */
size_t upstream_pool_open(const struct upstream_pool *pool);

#endif
