/*
 * resolve: see resolve.h. mlflow/rcache holds the answers and the waiters of look-ups in
 * flight (coalescing); a job is the one subrequest of a look-up on the wire; mlflow/lookup
 * says what to ask and reads the answer.
 */
#include "util/clock.h"
#include "net/resolve.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "admin/metrics.h"
#include "mlflow/lookup.h"
#include "mlflow/rcache.h"
#include "net/subreq.h"
#include "net/worker.h"
#include "util/log.h"

struct resolve_wait {
    struct rcache_waiter w; /* first: rcache links it */
    resolve_fn fn;
    void *arg;
    struct resolve_cache *cache;
};

/* One look-up on the wire; rcache remembers it is in flight and holds the waiters. */
struct job {
    struct resolve_cache *cache;
    struct job *prev, *next;
    enum route_object kind;
    char *id;
    struct subreq *sub;
};

/* Bumped by every write that changes cached facts (rename, delete, owner stamp, dataset
 * links) on any worker: each worker's cache starts afresh when it sees a new generation, so an
 * ownership transfer is seen by the next request whatever worker serves it. Such writes are
 * rare; the look-ups they cost are cheap. */
static atomic_uint_fast64_t g_facts_gen;

struct resolve_cache {
    struct rcache *rc;
    uint_fast64_t gen; /* g_facts_gen last seen */
    struct job *jobs;  /* look-ups on the wire, for shutdown */
    char err[200];     /* why the last look-up failed, for the waiters' messages */
    const char **exps; /* storage of the dataset view handed out by the last call */
    size_t exps_cap;
};

struct resolve_cache *resolve_cache_new(void)
{
    struct resolve_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    struct rcache_conf conf;
    rcache_conf_default(&conf);
    char err[160];
    c->rc = rcache_new(&conf, err, sizeof(err));
    if (!c->rc) {
        log_error("look-up cache: %s", err);
        free(c);
        return NULL;
    }
    return c;
}

static void job_free(struct job *j)
{
    struct resolve_cache *c = j->cache;
    if (j->prev)
        j->prev->next = j->next;
    else
        c->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    free(j->id);
    free(j);
}

void resolve_cache_free(struct resolve_cache *c)
{
    if (!c)
        return;
    while (c->jobs) {
        subreq_cancel(c->jobs->sub);
        job_free(c->jobs);
    }
    rcache_free(c->rc); /* waiters belong to requests, which are freed with their connections */
    free(c->exps);
    free(c);
}

bool resolve_supported(enum route_object kind)
{
    return lookup_supported(kind);
}

/* The caller-facing view of cached facts (valid until the next call into the cache). */
static int view_of(struct resolve_cache *c, const struct lookup_facts *lf, struct resolve_facts *v)
{
    memset(v, 0, sizeof(*v));
    v->experiment_id = lf->has_experiment ? lf->experiment_id : "";
    v->name = lf->name ? lf->name : "";
    v->owner = lf->owner ? lf->owner : "";
    v->owner_tagged = lf->owner_tagged;
    if (lf->nexperiments > 0) {
        if (lf->nexperiments > c->exps_cap) {
            const char **n = realloc(c->exps, lf->nexperiments * sizeof(*n));
            if (!n)
                return -1;
            c->exps = n;
            c->exps_cap = lf->nexperiments;
        }
        for (size_t i = 0; i < lf->nexperiments; i++)
            c->exps[i] = lf->experiments[i];
        v->experiment_ids = c->exps;
        v->nexperiment_ids = lf->nexperiments;
    }
    return 0;
}

static void wake(void *arg, enum lookup_status st, const struct lookup_facts *facts)
{
    struct resolve_wait *wt = arg;
    struct resolve_cache *c = wt->cache;
    resolve_fn fn = wt->fn;
    void *farg = wt->arg;
    free(wt);
    struct resolve_facts v;
    enum resolve_rc rc = st == LOOKUP_FOUND       ? RESOLVE_OK
                         : st == LOOKUP_NOT_FOUND ? RESOLVE_NOT_FOUND
                                                  : RESOLVE_ERROR;
    if (rc == RESOLVE_OK && (!facts || view_of(c, facts, &v) < 0)) {
        rc = RESOLVE_ERROR;
        snprintf(c->err, sizeof(c->err), "out of memory");
    }
    fn(farg, rc, rc == RESOLVE_OK ? &v : NULL, rc == RESOLVE_ERROR ? c->err : "");
}

static void on_answer(void *arg, int status, const char *body, size_t len, const char *err)
{
    struct job *j = arg;
    struct resolve_cache *c = j->cache;
    j->sub = NULL;
    struct lookup_facts lf;
    lookup_facts_init(&lf);
    enum lookup_status ls;
    if (status == 0) {
        ls = LOOKUP_ERROR;
        snprintf(c->err, sizeof(c->err), "%s", err ? err : "upstream failed");
    } else {
        ls = lookup_answer(j->kind, j->id, strlen(j->id), status, body, len, &lf, c->err,
                           sizeof(c->err));
        if (ls == LOOKUP_ERROR)
            log_warn("look-up of %s %s failed: HTTP %d: %s", route_object_name(j->kind), j->id,
                     status, c->err);
    }
    /* Unlinked first: a woken request that asks again must not find this finished job. */
    enum route_object kind = j->kind;
    char *id = j->id;
    j->id = NULL;
    job_free(j);
    if (ls == LOOKUP_FOUND)
        rcache_fill(c->rc, kind, id, strlen(id), clock_mono_ms(), &lf);
    else
        rcache_fail(c->rc, kind, id, strlen(id), ls);
    free(id);
    lookup_facts_clear(&lf);
}

/* Start afresh when another worker changed facts since this one last looked. */
static void sync_gen(struct resolve_cache *c)
{
    uint_fast64_t g = atomic_load_explicit(&g_facts_gen, memory_order_acquire);
    if (g != c->gen) {
        rcache_clear(c->rc);
        c->gen = g;
    }
}

enum resolve_rc resolve_get(struct worker *w, enum route_object kind, const char *id,
                            const char *request_id, struct resolve_facts *out, resolve_fn fn,
                            void *arg, struct resolve_wait **wait, char *err, size_t errlen)
{
    struct resolve_cache *c = w->resolve;
    sync_gen(c);
    *wait = NULL;
    size_t idlen = strlen(id);
    int64_t now = clock_mono_ms();
    const struct lookup_facts *facts = NULL;
    /* The common case, a hit, allocates nothing: the waiter is made only for a miss. */
    if (rcache_peek(c->rc, kind, id, idlen, now, &facts)) {
        atomic_fetch_add_explicit(&g_metrics.lookup_cache_hits, 1, memory_order_relaxed);
        if (view_of(c, facts, out) < 0) {
            snprintf(err, errlen, "out of memory");
            return RESOLVE_ERROR;
        }
        return RESOLVE_OK;
    }
    struct resolve_wait *wt = calloc(1, sizeof(*wt));
    if (!wt) {
        snprintf(err, errlen, "out of memory");
        return RESOLVE_ERROR;
    }
    wt->fn = fn;
    wt->arg = arg;
    wt->cache = c;
    enum rcache_result r = rcache_get(c->rc, kind, id, idlen, now, &facts, &wt->w, wake, wt);
    if (r == RCACHE_HIT) {
        free(wt);
        atomic_fetch_add_explicit(&g_metrics.lookup_cache_hits, 1, memory_order_relaxed);
        if (view_of(c, facts, out) < 0) {
            snprintf(err, errlen, "out of memory");
            return RESOLVE_ERROR;
        }
        return RESOLVE_OK;
    }
    if (r == RCACHE_WAITING) {
        *wait = wt;
        return RESOLVE_PENDING;
    }
    /* MISS: this request performs the look-up; it then waits like any other. */
    char target[LOOKUP_TARGET_MAX];
    size_t tlen;
    if (lookup_request(kind, id, idlen, target, sizeof(target), &tlen, err, errlen) < 0) {
        rcache_fail(c->rc, kind, id, idlen, LOOKUP_NOT_FOUND);
        free(wt);
        return RESOLVE_NOT_FOUND; /* an id that cannot name an object */
    }
    struct job *j = calloc(1, sizeof(*j));
    if (j)
        j->id = strdup(id);
    if (j && j->id) {
        j->cache = c;
        j->kind = kind;
        j->next = c->jobs;
        if (c->jobs)
            c->jobs->prev = j;
        c->jobs = j;
        j->sub = subreq_start(w, "GET", target, NULL, 0, request_id, NULL, on_answer, j);
    }
    if (!j || !j->id || !j->sub) {
        if (j && j->id)
            job_free(j);
        else if (j)
            free(j);
        rcache_fail(c->rc, kind, id, idlen, LOOKUP_ERROR);
        free(wt);
        snprintf(err, errlen, "no upstream connection available for the look-up");
        return RESOLVE_ERROR;
    }
    r = rcache_get(c->rc, kind, id, idlen, now, &facts, &wt->w, wake, wt);
    if (r != RCACHE_WAITING) { /* cannot happen: the look-up was just registered */
        free(wt);
        snprintf(err, errlen, "look-up cache inconsistency");
        return RESOLVE_ERROR;
    }
    *wait = wt;
    return RESOLVE_PENDING;
}

bool resolve_peek(struct worker *w, enum route_object kind, const char *id,
                  struct resolve_facts *out)
{
    struct resolve_cache *c = w->resolve;
    const struct lookup_facts *facts = NULL;
    sync_gen(c);
    return rcache_peek(c->rc, kind, id, strlen(id), clock_mono_ms(), &facts) &&
           view_of(c, facts, out) == 0;
}

void resolve_cancel(struct worker *w, struct resolve_wait *wt)
{
    (void)w;
    if (!wt)
        return;
    rcache_cancel(&wt->w);
    free(wt);
}

void resolve_invalidate(struct worker *w, enum route_object kind, const char *id)
{
    rcache_invalidate(w->resolve->rc, kind, id, strlen(id));
    atomic_fetch_add_explicit(&g_facts_gen, 1, memory_order_release);
}

void resolve_clear(struct worker *w)
{
    rcache_clear(w->resolve->rc);
    atomic_fetch_add_explicit(&g_facts_gen, 1, memory_order_release);
}
