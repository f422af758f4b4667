/*
 * resolve: see resolve.h. A look-up is a job: one subrequest, any number of waiters. Jobs in
 * flight are kept in a short list per worker (a few at a time in practice), so identical
 * concurrent look-ups share one upstream request. Answers are read by mlflow/lookup.
 */
#include "net/resolve.h"

#include <stdlib.h>
#include <string.h>

#include "admin/metrics.h"
#include "mlflow/lookup.h"
#include "net/subreq.h"
#include "net/worker.h"
#include "util/log.h"

struct resolve_wait {
    struct job *job;
    struct resolve_wait *prev, *next;
    resolve_fn fn;
    void *arg;
};

struct job {
    struct resolve_cache *cache;
    struct job *prev, *next;
    enum route_object kind;
    char *id;
    struct subreq *sub;
    struct resolve_wait *waiters;
};

struct resolve_cache {
    struct job *jobs; /* look-ups in flight */
};

struct resolve_cache *resolve_cache_new(void)
{
    return calloc(1, sizeof(struct resolve_cache));
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
        struct job *j = c->jobs;
        subreq_cancel(j->sub);
        while (j->waiters) {
            struct resolve_wait *wt = j->waiters;
            j->waiters = wt->next;
            free(wt);
        }
        job_free(j);
    }
    free(c);
}

bool resolve_supported(enum route_object kind)
{
    return lookup_supported(kind);
}

/* The caller-facing view of lookup facts; storage for the dataset's pointer array. */
struct view {
    struct resolve_facts f;
    const char **exps;
};

static int view_of(const struct lookup_facts *lf, struct view *v)
{
    memset(v, 0, sizeof(*v));
    v->f.experiment_id = lf->has_experiment ? lf->experiment_id : "";
    v->f.name = lf->name ? lf->name : "";
    v->f.owner = lf->owner ? lf->owner : "";
    v->f.owner_tagged = lf->owner_tagged;
    if (lf->nexperiments > 0) {
        v->exps = calloc(lf->nexperiments, sizeof(*v->exps));
        if (!v->exps)
            return -1;
        for (size_t i = 0; i < lf->nexperiments; i++)
            v->exps[i] = lf->experiments[i];
        v->f.experiment_ids = v->exps;
        v->f.nexperiment_ids = lf->nexperiments;
    }
    return 0;
}

static void on_answer(void *arg, int status, const char *body, size_t len, const char *err)
{
    struct job *j = arg;
    j->sub = NULL;
    struct lookup_facts lf;
    lookup_facts_init(&lf);
    char msg[200];
    enum resolve_rc rc;
    if (status == 0) {
        rc = RESOLVE_ERROR;
        snprintf(msg, sizeof(msg), "%s", err ? err : "upstream failed");
    } else {
        enum lookup_status ls =
            lookup_answer(j->kind, j->id, strlen(j->id), status, body, len, &lf, msg, sizeof(msg));
        rc = ls == LOOKUP_FOUND       ? RESOLVE_OK
             : ls == LOOKUP_NOT_FOUND ? RESOLVE_NOT_FOUND
                                      : RESOLVE_ERROR;
        if (rc == RESOLVE_ERROR)
            log_warn("look-up of %s %s failed: HTTP %d: %s", route_object_name(j->kind), j->id,
                     status, msg);
    }
    struct view v;
    memset(&v, 0, sizeof(v));
    if (rc == RESOLVE_OK && view_of(&lf, &v) < 0) {
        rc = RESOLVE_ERROR;
        snprintf(msg, sizeof(msg), "out of memory");
    }
    /* Every waiter gets the outcome; the job is unlinked first so a callback that asks again
     * starts a fresh look-up instead of joining this finished one. */
    struct resolve_wait *ws = j->waiters;
    j->waiters = NULL;
    job_free(j);
    while (ws) {
        struct resolve_wait *wt = ws;
        ws = wt->next;
        resolve_fn fn = wt->fn;
        void *warg = wt->arg;
        free(wt);
        fn(warg, rc, rc == RESOLVE_OK ? &v.f : NULL, msg);
    }
    free(v.exps);
    lookup_facts_clear(&lf);
}

enum resolve_rc resolve_get(struct worker *w, enum route_object kind, const char *id,
                            const char *request_id, struct resolve_facts *out, resolve_fn fn,
                            void *arg, struct resolve_wait **wait, char *err, size_t errlen)
{
    struct resolve_cache *c = w->resolve;
    (void)out;
    *wait = NULL;
    struct job *j;
    for (j = c->jobs; j; j = j->next)
        if (j->kind == kind && strcmp(j->id, id) == 0)
            break;
    if (!j) {
        char target[LOOKUP_TARGET_MAX];
        size_t tlen;
        if (lookup_request(kind, id, strlen(id), target, sizeof(target), &tlen, err, errlen) < 0)
            return RESOLVE_NOT_FOUND; /* an id that cannot name an object */
        j = calloc(1, sizeof(*j));
        if (!j || !(j->id = strdup(id))) {
            free(j);
            snprintf(err, errlen, "out of memory");
            return RESOLVE_ERROR;
        }
        j->cache = c;
        j->kind = kind;
        j->sub = subreq_start(w, "GET", target, NULL, 0, request_id, on_answer, j);
        if (!j->sub) {
            free(j->id);
            free(j);
            snprintf(err, errlen, "no upstream connection available");
            return RESOLVE_ERROR;
        }
        j->next = c->jobs;
        if (c->jobs)
            c->jobs->prev = j;
        c->jobs = j;
    }
    struct resolve_wait *wt = calloc(1, sizeof(*wt));
    if (!wt) {
        snprintf(err, errlen, "out of memory");
        if (!j->waiters) {
            subreq_cancel(j->sub);
            job_free(j);
        }
        return RESOLVE_ERROR;
    }
    wt->job = j;
    wt->fn = fn;
    wt->arg = arg;
    wt->next = j->waiters;
    if (j->waiters)
        j->waiters->prev = wt;
    j->waiters = wt;
    *wait = wt;
    return RESOLVE_PENDING;
}

bool resolve_peek(struct worker *w, enum route_object kind, const char *id,
                  struct resolve_facts *out)
{
    (void)w;
    (void)kind;
    (void)id;
    (void)out;
    return false;
}

void resolve_cancel(struct worker *w, struct resolve_wait *wt)
{
    (void)w;
    if (!wt)
        return;
    struct job *j = wt->job;
    if (wt->prev)
        wt->prev->next = wt->next;
    else
        j->waiters = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    free(wt);
    /* The look-up itself runs on: its answer is cheap to take and others may ask soon. When
     * nobody waits any more it is simply dropped on arrival. */
}

void resolve_invalidate(struct worker *w, enum route_object kind, const char *id)
{
    (void)w;
    (void)kind;
    (void)id;
}
