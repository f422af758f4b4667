/*
 * upstream: see upstream.h. The idle list is LIFO: the most recently used connection is the
 * warmest and the least likely to have hit the upstream's keep-alive timeout.
 */
#include "net/upstream.h"

#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "admin/metrics.h"

#define UPSTREAM_MAGIC 0x55505354u

struct upstream_pool {
    struct event_base *base;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    size_t max_idle, max_conns;
    struct timeval idle_tv;
    struct upstream_conn *idle;
    size_t nidle, nbusy;
};

struct upstream_pool *upstream_pool_new(struct event_base *base, const struct sockaddr *addr,
                                        socklen_t addrlen, size_t max_idle, size_t max_conns,
                                        int64_t idle_ms)
{
    struct upstream_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base = base;
    memcpy(&p->addr, addr, addrlen);
    p->addrlen = addrlen;
    p->max_idle = max_idle;
    p->max_conns = max_conns;
    p->idle_tv.tv_sec = idle_ms / 1000;
    p->idle_tv.tv_usec = (idle_ms % 1000) * 1000;
    return p;
}

static void conn_free(struct upstream_conn *uc)
{
    uc->magic = 0;
    bufferevent_free(uc->bev);
    free(uc);
}

/* Remove uc from the idle list and close it. */
static void drop_idle(struct upstream_conn *uc)
{
    struct upstream_pool *p = uc->pool;
    for (struct upstream_conn **pp = &p->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == uc) {
            *pp = uc->next_idle;
            p->nidle--;
            break;
        }
    }
    conn_free(uc);
}

/* Anything from an idle upstream (data, EOF, error, idle timeout) ends it. */
static void on_idle_read(struct bufferevent *bev, void *arg)
{
    struct upstream_conn *uc = arg;
    assert(uc->magic == UPSTREAM_MAGIC);
    drop_idle(uc);
}

static void on_idle_event(struct bufferevent *bev, short what, void *arg)
{
    struct upstream_conn *uc = arg;
    assert(uc->magic == UPSTREAM_MAGIC);
    drop_idle(uc);
}

void upstream_pool_free(struct upstream_pool *p)
{
    if (!p)
        return;
    while (p->idle) {
        struct upstream_conn *uc = p->idle;
        p->idle = uc->next_idle;
        conn_free(uc);
    }
    free(p);
}

struct upstream_conn *upstream_acquire(struct upstream_pool *p)
{
    if (p->idle) {
        struct upstream_conn *uc = p->idle;
        p->idle = uc->next_idle;
        p->nidle--;
        p->nbusy++;
        uc->next_idle = NULL;
        uc->reused = true;
        bufferevent_setcb(uc->bev, NULL, NULL, NULL, NULL);
        bufferevent_set_timeouts(uc->bev, NULL, NULL);
        return uc;
    }
    if (p->nbusy + p->nidle >= p->max_conns)
        return NULL;
    struct upstream_conn *uc = calloc(1, sizeof(*uc));
    if (!uc)
        return NULL;
    uc->magic = UPSTREAM_MAGIC;
    uc->pool = p;
    uc->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!uc->bev) {
        free(uc);
        return NULL;
    }
    atomic_fetch_add_explicit(&g_metrics.upstream_connects, 1, memory_order_relaxed);
    if (bufferevent_socket_connect(uc->bev, (struct sockaddr *)&p->addr, (int)p->addrlen) < 0) {
        /* Immediate failure (e.g. no such route): report it as a connect error through the
         * normal path by leaving the bufferevent unconnected; callers see an error event. */
        bufferevent_free(uc->bev);
        free(uc);
        return NULL;
    }
    int fd = bufferevent_getfd(uc->bev);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    p->nbusy++;
    return uc;
}

void upstream_release(struct upstream_conn *uc)
{
    struct upstream_pool *p = uc->pool;
    assert(uc->magic == UPSTREAM_MAGIC);
    p->nbusy--;
    if (p->nidle >= p->max_idle || evbuffer_get_length(bufferevent_get_input(uc->bev)) != 0 ||
        evbuffer_get_length(bufferevent_get_output(uc->bev)) != 0) {
        conn_free(uc);
        return;
    }
    uc->connected = true;
    bufferevent_setwatermark(uc->bev, EV_READ | EV_WRITE, 0, 0);
    bufferevent_disable(uc->bev, EV_WRITE); /* its next user writes it directly */
    bufferevent_setcb(uc->bev, on_idle_read, NULL, on_idle_event, uc);
    bufferevent_set_timeouts(uc->bev, &p->idle_tv, NULL);
    bufferevent_enable(uc->bev, EV_READ);
    uc->next_idle = p->idle;
    p->idle = uc;
    p->nidle++;
}

void upstream_discard(struct upstream_conn *uc)
{
    if (!uc)
        return;
    assert(uc->magic == UPSTREAM_MAGIC);
    uc->pool->nbusy--;
    conn_free(uc);
}

size_t upstream_pool_open(const struct upstream_pool *p)
{
    return p->nbusy + p->nidle;
}
