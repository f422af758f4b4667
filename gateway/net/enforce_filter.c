/*
 * enforce_filter: filtered list and search answers (issue 5 item 6). The connection does not
 * forward a filtered request: enforce pages through MLflow itself with net/subreq, driven by
 * the mlflow/filter planner, keeps the items the caller may see (BROWSE, implied by any other
 * privilege) and answers with the assembled page and a Warden page token. Experiments and
 * registered models carry their name and owner stamp in the list item, so deciding them needs
 * no look-up; evaluation datasets are decided by their experiments, which are looked up (and
 * cached) before a page is fed to the planner. Model versions are decided by their model's
 * name, with the model's owner stamp when the cache has it.
 *
 * A non-200 answer of MLflow (its own validation of max_results, filters, ...) reaches the
 * client unchanged. GraphQL is not filtered here: it is answered for admins only (see
 * enforce_filter_start).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/metrics.h"
#include "mlflow/routes.h"
#include "net/enforce_int.h"
#include "net/subreq.h"
#include "net/worker.h"

static void on_page(void *arg, int status, const char *body, size_t len, const char *err);

/* The owner stamp among an item's tags ([{key, value}] or absent). */
static const char *item_owner(const json_t *item, size_t *len)
{
    const json_t *tags = json_object_get(item, "tags");
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "key"));
        const json_t *v = json_object_get(t, "value");
        if (k && strcmp(k, "warden.owner") == 0 && json_is_string(v)) {
            *len = json_string_length(v);
            return json_string_value(v);
        }
    }
    *len = 0;
    return NULL;
}

static bool visible(void *ctx, enum filter_key_kind kind, const char *key, size_t len,
                    const json_t *item)
{
    struct enforce *e = ctx;
    size_t olen = 0;
    const char *owner = NULL;
    char id[128];
    if (len >= sizeof(id))
        return false;
    memcpy(id, key, len);
    id[len] = '\0';
    switch (kind) {
    case FILTER_KEY_EXPERIMENT_ID: {
        const char *name = json_string_value(json_object_get(item, "name"));
        struct resolve_facts f;
        if (name) {
            owner = item_owner(item, &olen);
            return enforce_visible(e, NAMING_EXPERIMENT, name, strlen(name), owner, owner != NULL,
                                   POLICY_PRIV_BROWSE);
        }
        if (!resolve_peek(e->w, ROUTE_OBJ_EXPERIMENT, id, &f) || !f.name)
            return false;
        return enforce_visible(e, NAMING_EXPERIMENT, f.name, strlen(f.name), f.owner,
                               f.owner_tagged, POLICY_PRIV_BROWSE);
    }
    case FILTER_KEY_MODEL_NAME: {
        struct resolve_facts f;
        bool tagged = false;
        if (json_object_get(item, "tags") || json_object_get(item, "latest_versions")) {
            owner = item_owner(item, &olen);
            tagged = owner != NULL;
        } else if (resolve_peek(e->w, ROUTE_OBJ_MODEL, id, &f)) {
            owner = f.owner;
            tagged = f.owner_tagged;
        }
        return enforce_visible(e, NAMING_MODEL, key, len, owner, tagged, POLICY_PRIV_BROWSE);
    }
    case FILTER_KEY_DATASET_ID: {
        struct resolve_facts f;
        if (!resolve_peek(e->w, ROUTE_OBJ_DATASET, id, &f) || f.nexperiment_ids == 0)
            return false;
        for (size_t i = 0; i < f.nexperiment_ids; i++) {
            struct resolve_facts x;
            if (!resolve_peek(e->w, ROUTE_OBJ_EXPERIMENT, f.experiment_ids[i], &x) || !x.name)
                return false;
            if (!enforce_visible(e, NAMING_EXPERIMENT, x.name, strlen(x.name), x.owner,
                                 x.owner_tagged, POLICY_PRIV_BROWSE))
                return false;
        }
        return true;
    }
    case FILTER_KEY_GATEWAY_ENDPOINT:
        return enforce_visible(e, NAMING_MODEL, key, len, NULL, false, POLICY_PRIV_BROWSE);
    }
    return false;
}

/* ---- look-ups a page needs before it can be decided (datasets -> experiments) */

struct collect {
    struct enforce *e;
    bool oom;
};

static bool prefetch_add(struct enforce *e, const char *k)
{
    for (size_t i = 0; i < e->nprefetch; i++)
        if (strcmp(e->prefetch[i], k) == 0)
            return true;
    if (e->nprefetch >= 2000)
        return true; /* beyond this, unresolved items are simply hidden */
    char **n = realloc(e->prefetch, (e->nprefetch + 1) * sizeof(*n));
    if (!n)
        return false;
    e->prefetch = n;
    if (!(n[e->nprefetch] = strdup(k)))
        return false;
    e->nprefetch++;
    return true;
}

/* Records the dataset ids (and, once resolved, their experiments) the page needs. */
static bool collect_keys(void *ctx, enum filter_key_kind kind, const char *key, size_t len,
                         const json_t *item)
{
    (void)item;
    struct collect *c = ctx;
    struct enforce *e = c->e;
    char id[128];
    if (kind != FILTER_KEY_DATASET_ID || len >= sizeof(id))
        return false;
    memcpy(id, key, len);
    id[len] = '\0';
    struct resolve_facts f;
    if (!resolve_peek(e->w, ROUTE_OBJ_DATASET, id, &f)) {
        if (!prefetch_add(e, id))
            c->oom = true;
        return false;
    }
    return false;
}

static enum enforce_verdict feed(struct enforce *e, const char *body, size_t len);

/* After a dataset resolved: queue its experiments the cache does not have. */
static bool queue_experiments(struct enforce *e, const struct resolve_facts *f)
{
    for (size_t i = 0; i < f->nexperiment_ids; i++) {
        struct resolve_facts x;
        char k[96];
        if (resolve_peek(e->w, ROUTE_OBJ_EXPERIMENT, f->experiment_ids[i], &x))
            continue;
        snprintf(k, sizeof(k), "exp:%s", f->experiment_ids[i]);
        if (!prefetch_add(e, k))
            return false;
    }
    return true;
}

/* Resolve the prefetch keys in order ("exp:<id>" for experiments, else dataset ids); then
 * feed the saved page. Keys that do not resolve stay unresolved: their items are hidden. */
static enum enforce_verdict prefetch_run(struct enforce *e)
{
    while (e->prefetch_cur < e->nprefetch) {
        const char *k = e->prefetch[e->prefetch_cur];
        bool is_exp = strncmp(k, "exp:", 4) == 0;
        struct resolve_facts f;
        char err[160];
        enum resolve_rc rc =
            resolve_get(e->w, is_exp ? ROUTE_OBJ_EXPERIMENT : ROUTE_OBJ_DATASET, is_exp ? k + 4 : k,
                        e->request_id, &f, enforce_on_resolved, e, &e->wait, err, sizeof(err));
        if (rc == RESOLVE_PENDING)
            return ENFORCE_PENDING;
        if (rc == RESOLVE_OK && !is_exp && !queue_experiments(e, &f))
            return enforce_fail(e, 500, "internal", "out of memory");
        e->prefetch_cur++;
    }
    char *page = e->page;
    size_t plen = e->page_len;
    e->page = NULL;
    enum enforce_verdict v = feed(e, page, plen);
    free(page);
    return v;
}

static enum enforce_verdict finish(struct enforce *e)
{
    char *out = NULL;
    size_t outlen = 0;
    char err[200];
    if (planner_result(e->planner, &out, &outlen, err, sizeof(err)) < 0)
        return enforce_fail(e, 502, "filter-failed", "could not assemble the answer: %s", err);
    atomic_fetch_add_explicit(&g_metrics.filtered_items_dropped, planner_dropped(e->planner),
                              memory_order_relaxed);
    free(e->answer);
    e->answer = out;
    e->answer_len = outlen;
    e->status = 200;
    enforce_allow(e);
    return ENFORCE_ANSWER;
}

static enum enforce_verdict next_page(struct enforce *e)
{
    struct planner_request pr;
    if (planner_next_upstream_request(e->planner, &pr) != 1)
        return finish(e);
    char err[200];
    char *rew = NULL;
    size_t rlen = 0;
    const char *method = e->method == HTTP1_M_POST ? "POST" : "GET";
    char *target = NULL;
    if (e->method == HTTP1_M_POST) {
        size_t blen;
        const char *b = enforce_forward_body(e, &blen);
        if (planner_rewrite_body(&pr, b ? b : "{}", b ? blen : 2, &rew, &rlen, err, sizeof(err)) <
            0)
            return enforce_fail(e, 400, "bad-request", "%s", err);
        target = strdup(e->path);
    } else {
        if (planner_rewrite_query(&pr, e->raw_query, strlen(e->raw_query), &rew, &rlen, err,
                                  sizeof(err)) < 0)
            return enforce_fail(e, 400, "bad-request", "%s", err);
        size_t n = strlen(e->path) + rlen + 2;
        target = malloc(n);
        if (target)
            snprintf(target, n, "%s%s%s", e->path, rlen ? "?" : "", rew);
        free(rew);
        rew = NULL;
        rlen = 0;
    }
    if (!target) {
        free(rew);
        return enforce_fail(e, 500, "internal", "out of memory");
    }
    e->sub =
        subreq_start(e->w, method, target, rew, rlen, e->request_id, e->client_headers, on_page, e);
    free(target);
    free(rew);
    if (!e->sub)
        return enforce_fail(e, 503, "upstream-busy", "no upstream connection available; retry");
    return ENFORCE_PENDING;
}

static enum enforce_verdict feed(struct enforce *e, const char *body, size_t len)
{
    char err[200];
    int r = planner_feed(e->planner, body, len, visible, e, err, sizeof(err));
    if (r < 0)
        return enforce_fail(e, 502, "filter-failed", "MLflow's answer could not be filtered: %s",
                            err);
    return r == 1 ? finish(e) : next_page(e);
}

static enum enforce_verdict page_arrived(struct enforce *e, int status, const char *body,
                                         size_t len, const char *err)
{
    if (status == 0)
        return enforce_fail(e, 502, "upstream-failed", "MLflow did not answer: %s",
                            err ? err : "error");
    if (status != 200) {
        /* MLflow's own answer (validation errors): passed on as it is. */
        free(e->answer);
        e->answer = malloc(len + 1);
        if (!e->answer)
            return enforce_fail(e, 500, "internal", "out of memory");
        memcpy(e->answer, body, len);
        e->answer[len] = '\0';
        e->answer_len = len;
        e->status = status;
        e->reason = "upstream-error";
        e->allowed = true;
        e->phase = PH_DONE;
        return ENFORCE_ANSWER;
    }
    if (e->fspec->key_kind == FILTER_KEY_DATASET_ID) {
        struct collect c = {e, false};
        struct filter_page pg;
        char perr[200];
        enforce_prefetch_clear(e);
        if (filter_page(e->fspec, body, len, collect_keys, &c, &pg, perr, sizeof(perr)) == 0)
            filter_page_clear(&pg);
        if (c.oom)
            return enforce_fail(e, 500, "internal", "out of memory");
        if (e->nprefetch > 0) {
            if (!(e->page = malloc(len + 1)))
                return enforce_fail(e, 500, "internal", "out of memory");
            memcpy(e->page, body, len);
            e->page_len = len;
            return prefetch_run(e);
        }
    }
    return feed(e, body, len);
}

static void on_page(void *arg, int status, const char *body, size_t len, const char *err)
{
    struct enforce *e = arg;
    e->sub = NULL;
    enum enforce_verdict v = page_arrived(e, status, body, len, err);
    if (v != ENFORCE_PENDING)
        e->done(e->done_arg, v);
}

enum enforce_verdict enforce_filter_resume(struct enforce *e, enum resolve_rc rc,
                                           const struct resolve_facts *f)
{
    const char *k = e->prefetch[e->prefetch_cur];
    if (rc == RESOLVE_OK && strncmp(k, "exp:", 4) != 0 && !queue_experiments(e, f))
        return enforce_fail(e, 500, "internal", "out of memory");
    e->prefetch_cur++;
    return prefetch_run(e);
}

/* max_results and page_token of a POST search, from the canonical body; the binding is the
 * body without them. */
static enum enforce_verdict post_paging(struct enforce *e)
{
    size_t blen;
    const char *b = enforce_forward_body(e, &blen);
    json_error_t je;
    json_t *root = b ? json_loadb(b, blen, 0, &je) : json_object();
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return enforce_fail(e, 400, "bad-body", "request body must be a JSON object");
    }
    json_t *mr = json_object_get(root, "max_results");
    if (json_is_integer(mr)) {
        e->client_max = (long)json_integer_value(mr);
    } else if (json_is_string(mr)) {
        const char *s = json_string_value(mr);
        if (!body_is_canonical_decimal(s, strlen(s)) || strlen(s) > 9) {
            json_decref(root);
            return enforce_fail(e, 400, "bad-request", "max_results must be a positive integer");
        }
        e->client_max = strtol(s, NULL, 10);
    } else if (mr && !json_is_null(mr)) {
        json_decref(root);
        return enforce_fail(e, 400, "bad-request", "max_results must be a positive integer");
    }
    json_t *pt = json_object_get(root, "page_token");
    if (json_is_string(pt) && json_string_length(pt) > 0 &&
        !(e->client_token = strdup(json_string_value(pt)))) {
        json_decref(root);
        return enforce_fail(e, 500, "internal", "out of memory");
    }
    json_object_del(root, "max_results");
    json_object_del(root, "page_token");
    char *rest = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!rest)
        return enforce_fail(e, 500, "internal", "out of memory");
    size_t cap = strlen(e->user) + strlen(e->path) + strlen(rest) + 4;
    e->binding = malloc(cap);
    if (!e->binding) {
        free(rest);
        return enforce_fail(e, 500, "internal", "out of memory");
    }
    e->binding_len = (size_t)snprintf(e->binding, cap, "%s\n%s\n%s", e->user, e->path, rest);
    free(rest);
    return ENFORCE_FORWARD;
}

/* Model versions in a GraphQL answer: shown when the caller may see the model. */
static bool gql_visible(void *ctx, enum route_object kind, const char *name, size_t len)
{
    struct enforce *e = ctx;
    if (kind != ROUTE_OBJ_MODEL)
        return false;
    char key[1024];
    if (len >= sizeof(key))
        return false;
    memcpy(key, name, len);
    key[len] = '\0';
    struct resolve_facts f;
    bool have = resolve_peek(e->w, ROUTE_OBJ_MODEL, key, &f);
    return enforce_visible(e, NAMING_MODEL, name, len, have ? f.owner : NULL,
                           have && f.owner_tagged, POLICY_PRIV_BROWSE);
}

static void on_graphql(void *arg, int status, const char *body, size_t len, const char *err)
{
    struct enforce *e = arg;
    e->sub = NULL;
    enum enforce_verdict v;
    if (status == 200) {
        char *out = NULL;
        size_t outlen = 0;
        char ferr[200];
        if (graphql_filter_answer(e->gql, body, len, gql_visible, e, &out, &outlen, ferr,
                                  sizeof(ferr)) < 0) {
            v = enforce_fail(e, 502, "filter-failed",
                             "MLflow's GraphQL answer could not be "
                             "filtered: %s",
                             ferr);
        } else {
            free(e->answer);
            e->answer = out;
            e->answer_len = outlen;
            e->status = 200;
            enforce_allow(e);
            v = ENFORCE_ANSWER;
        }
    } else {
        v = page_arrived(e, status, body, len, err); /* failures and MLflow's own errors */
    }
    e->done(e->done_arg, v);
}

/* GraphQL: forwarded as it is unless the answer lists model versions, which Warden fetches
 * and filters itself. */
static enum enforce_verdict graphql_start(struct enforce *e)
{
    if (!e->gql)
        return enforce_fail(e, 400, "bad-request",
                            "GraphQL requests are sent with POST and a JSON body");
    if (e->gql->nfilters == 0)
        return enforce_allow(e);
    size_t blen;
    const char *b = enforce_forward_body(e, &blen);
    e->phase = PH_FILTER;
    e->sub = subreq_start(e->w, "POST", e->path, b, blen, e->request_id, e->client_headers,
                          on_graphql, e);
    if (!e->sub)
        return enforce_fail(e, 503, "upstream-busy", "no upstream connection available; retry");
    return ENFORCE_PENDING;
}

enum enforce_verdict enforce_filter_start(struct enforce *e)
{
    enum filter_kind k;
    if (e->route->filter == ROUTE_FILTER_GRAPHQL)
        return graphql_start(e);
    if (filter_kind_from_route(e->route->filter, &k) < 0)
        return enforce_fail(e, 500, "internal", "no filter for %s", e->route->action);
    e->fspec = filter_spec_get(k);
    if (!e->fspec)
        return enforce_fail(e, 500, "internal", "no filter for %s", e->route->action);
    if (e->method == HTTP1_M_POST) {
        enum enforce_verdict v = post_paging(e);
        if (v != ENFORCE_FORWARD)
            return v;
    }
    if (e->client_max == 0)
        return enforce_fail(e, 400, "bad-request", "max_results must be a positive integer");
    char err[200];
    /* Upstream pages of at least 100 items: 10 of them (the bound per request) cover 1000
     * items, so sparse visibility still fills a small page (100 is within every MLflow
     * search's max_results limit). */
    static const struct planner_limits lim = {10, 10000, 100};
    e->planner = planner_new(e->fspec, &g_enforce_page_key, e->binding, e->binding_len,
                             e->client_max, e->client_token, &lim, err, sizeof(err));
    if (!e->planner)
        return enforce_fail(e, 400, "bad-request", "%s", err);
    e->phase = PH_FILTER;
    e->priv_name = "BROWSE";
    return next_page(e);
}
