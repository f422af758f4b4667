/*
 * authn_redis: the control thread's Redis client (hiredis async, attached to the control
 * event_base). Two connections: one for commands (full resynchronisation: SMEMBERS of the
 * revocation set, HGETALL of the PAT hash) and one subscribed to the events channel, so a
 * revocation published by any instance (or wardenctl) is applied here within milliseconds.
 * Resynchronises on every (re)connect and every redis_resync_interval, so a message missed
 * while disconnected is caught up. While Redis is unreachable the last known records stay in
 * force (revoked stays revoked) and connections are retried with back-off (1 s .. 30 s).
 */
#include "auth/authn_internal.h"

#include "util/log.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct authn_redis {
    struct authn *a;
    redisAsyncContext *cmd, *sub;
    struct event *retry_ev, *resync_ev;
    int backoff_ms;
    bool stopping;
    bool down_logged;
};

static void connect_all(struct authn_redis *r);

static void schedule_retry(struct authn_redis *r)
{
    if (r->stopping || evtimer_pending(r->retry_ev, NULL))
        return;
    struct timeval tv = {.tv_sec = r->backoff_ms / 1000, .tv_usec = (r->backoff_ms % 1000) * 1000};
    evtimer_add(r->retry_ev, &tv);
    r->backoff_ms = r->backoff_ms * 2 > 30000 ? 30000 : r->backoff_ms * 2;
}

static void on_smembers(redisAsyncContext *ac, void *reply, void *priv)
{
    struct authn_redis *r = priv;
    redisReply *rep = reply;
    if (r->stopping || !rep || rep->type != REDIS_REPLY_ARRAY)
        return;
    struct authn *a = r->a;
    char **items = calloc(rep->elements + 1, sizeof(char *));
    size_t n = 0;
    char entry[REVOKE_ENTRY_MAX], why[160];
    if (!items)
        return;
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING ||
            revoke_entry_normalise(e->str, e->len, entry, why, sizeof(why)) != 0) {
            log_warn("auth: redis revocation set: ignoring a bad entry (%s)", why);
            continue;
        }
        if (!(items[n] = strdup(entry)))
            break;
        n++;
    }
    revoke_items_free(a->redis_revs, a->nredis_revs);
    a->redis_revs = items;
    a->nredis_revs = a->cap_redis_revs = n;
    if (authn_rebuild_revs(a) == 0)
        authn_publish(a);
}

static void on_hgetall(redisAsyncContext *ac, void *reply, void *priv)
{
    struct authn_redis *r = priv;
    redisReply *rep = reply;
    if (r->stopping || !rep || rep->type != REDIS_REPLY_ARRAY)
        return;
    struct authn *a = r->a;
    size_t cnt = rep->elements / 2, n = 0;
    struct pat_record *recs = calloc(cnt ? cnt : 1, sizeof(*recs));
    char why[200];
    if (!recs)
        return;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *v = rep->element[i + 1];
        if (v->type != REDIS_REPLY_STRING ||
            pat_record_parse(v->str, v->len, &recs[n], why, sizeof(why)) != 0) {
            log_warn("auth: redis PAT store: ignoring a bad record: %s", why);
            continue;
        }
        n++;
    }
    pat_records_free(a->redis_pats, a->nredis_pats);
    a->redis_pats = recs;
    a->nredis_pats = n;
    if (authn_rebuild_pats(a) == 0)
        authn_publish(a);
}

static void resync(struct authn_redis *r)
{
    if (!r->cmd)
        return;
    const char *p = r->a->redis_prefix;
    redisAsyncCommand(r->cmd, on_smembers, r, "SMEMBERS %s" AUTHN_REDIS_REVOKED, p);
    redisAsyncCommand(r->cmd, on_hgetall, r, "HGETALL %s" AUTHN_REDIS_PATS, p);
}

static void on_message(redisAsyncContext *ac, void *reply, void *priv)
{
    struct authn_redis *r = priv;
    redisReply *rep = reply;
    if (r->stopping || !rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING || strcmp(rep->element[0]->str, "message") ||
        rep->element[2]->type != REDIS_REPLY_STRING)
        return;
    struct authn *a = r->a;
    const char *msg = rep->element[2]->str;
    size_t len = rep->element[2]->len;
    if (len == 3 && memcmp(msg, "pat", 3) == 0) {
        resync(r);
        return;
    }
    char entry[REVOKE_ENTRY_MAX], why[160];
    if (len < 8 || memcmp(msg, "revoke ", 7) != 0 ||
        revoke_entry_normalise(msg + 7, len - 7, entry, why, sizeof(why)) != 0) {
        log_warn("auth: redis: ignoring an unknown event");
        return;
    }
    if (revset_has(a->cur_revs, entry))
        return;
    char *copy = strdup(entry);
    char **grown = copy ? realloc(a->redis_revs, (a->nredis_revs + 2) * sizeof(char *)) : NULL;
    if (!grown) {
        free(copy);
        log_error("auth: out of memory applying a revocation");
        return;
    }
    a->redis_revs = grown;
    a->redis_revs[a->nredis_revs++] = copy;
    a->redis_revs[a->nredis_revs] = NULL;
    if (authn_rebuild_revs(a) == 0 && authn_publish(a) == 0)
        log_info("auth: revocation applied from redis");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct authn_redis *r = ac->data;
    if (ac == r->cmd)
        r->cmd = NULL;
    if (ac == r->sub)
        r->sub = NULL;
    if (r->stopping)
        return;
    log_warn("auth: redis connection lost; keeping the last known PATs and revocations");
    schedule_retry(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct authn_redis *r = ac->data;
    if (status != REDIS_OK) {
        if (ac == r->cmd)
            r->cmd = NULL;
        if (ac == r->sub)
            r->sub = NULL;
        if (!r->down_logged)
            log_warn("auth: cannot connect to redis %s:%d; keeping the last known state",
                     r->a->redis_host, r->a->redis_port);
        r->down_logged = true;
        schedule_retry(r);
        return;
    }
    if (ac == r->cmd && r->sub) {
        r->backoff_ms = 1000;
        r->down_logged = false;
    }
}

static redisAsyncContext *open_one(struct authn_redis *r)
{
    struct authn *a = r->a;
    redisAsyncContext *ac = redisAsyncConnect(a->redis_host, a->redis_port);
    if (!ac)
        return NULL;
    if (ac->err) {
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = r;
    if (redisLibeventAttach(ac, a->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (a->redis_password)
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", a->redis_password);
    return ac;
}

static void connect_all(struct authn_redis *r)
{
    if (!r->cmd && (r->cmd = open_one(r)) != NULL)
        resync(r);
    if (!r->sub && (r->sub = open_one(r)) != NULL) {
        redisAsyncCommand(r->sub, on_message, r, "SUBSCRIBE %s" AUTHN_REDIS_EVENTS,
                          r->a->redis_prefix);
        resync(r); /* catch up with anything published while we were not subscribed */
    }
    if (!r->cmd || !r->sub)
        schedule_retry(r);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    connect_all(arg);
}

static void on_resync(evutil_socket_t fd, short what, void *arg)
{
    struct authn_redis *r = arg;
    if (r->cmd)
        resync(r);
}

int authn_redis_start(struct authn *a, char *err, size_t errlen)
{
    struct authn_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->a = a;
    r->backoff_ms = 1000;
    a->redis = r;
    r->retry_ev = evtimer_new(a->base, on_retry, r);
    r->resync_ev = event_new(a->base, -1, EV_PERSIST, on_resync, r);
    struct timeval tv = {.tv_sec = a->redis_resync_ms / 1000,
                         .tv_usec = (a->redis_resync_ms % 1000) * 1000};
    if (!r->retry_ev || !r->resync_ev || event_add(r->resync_ev, &tv) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    connect_all(r);
    return 0;
}

void authn_redis_free(struct authn_redis *r)
{
    if (!r)
        return;
    r->stopping = true;
    if (r->cmd)
        redisAsyncFree(r->cmd);
    if (r->sub)
        redisAsyncFree(r->sub);
    if (r->retry_ev)
        event_free(r->retry_ev);
    if (r->resync_ev)
        event_free(r->resync_ev);
    free(r);
}
