/*
 * enforce: see enforce.h. One struct enforce per exchange, heap-allocated by the connection
 * and freed by it; everything the decision needs is copied in (the target buffer and the
 * parsed head belong to the worker and the connection's input and do not outlive the call),
 * so a request parked on a look-up holds only its own memory.
 *
 * The checks of the route become items (object kind, id, privilege). Items are resolved in
 * order, one look-up at a time, each climbing towards a securable: a run id becomes its
 * experiment id, an experiment id its name and owner stamp, a name its catalog.schema.name.
 * The first denial ends the request; admins (the policy's admin group) skip resolution and
 * filtering entirely (their decisions are "admin"; the audit record names the route and ids).
 */
#include "util/clock.h"
#include "net/enforce.h"
#include "net/enforce_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/metrics.h"
#include "audit/record.h"
#include "auth/assertion.h"
#include "auth/obo.h"
#include "auth/principal.h"
#include "config.h"
#include "mlflow/body.h"
#include "mlflow/filter.h"
#include "mlflow/naming.h"
#include "mlflow/otlp.h"
#include "mlflow/routes.h"
#include "mlflow/stamp.h"
#include "mlflow/target.h"
#include "net/idhdr.h"
#include "net/resolve.h"
#include "net/subreq.h"
#include "net/worker.h"
#include "util/log.h"

struct filter_key g_enforce_page_key;

int enforce_init(char *err, size_t errlen)
{
    if (routes_init(err, errlen) < 0)
        return -1;
    return filter_key_init(&g_enforce_page_key, err, errlen);
}

/* ---------------------------------------------------------------- answers */

static const char *code_for(int status)
{
    switch (status) {
    case 400:
    case 413:
    case 415:
        return "INVALID_PARAMETER_VALUE";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "ENDPOINT_NOT_FOUND";
    case 503:
        return "TEMPORARILY_UNAVAILABLE";
    default:
        return "INTERNAL_ERROR";
    }
}

enum enforce_verdict enforce_fail(struct enforce *e, int status, const char *reason,
                                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s, s:s}", "error_code", code_for(status), "message", msg);
    free(e->answer);
    e->answer = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!e->answer) {
        e->answer = strdup("{\"error_code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}");
        status = 500;
    }
    e->answer_len = e->answer ? strlen(e->answer) : 0;
    e->status = status;
    e->reason = reason;
    e->allowed = false;
    e->phase = PH_DONE;
    if (status == 403)
        atomic_fetch_add_explicit(&g_metrics.authz_denied, 1, memory_order_relaxed);
    return ENFORCE_ANSWER;
}

enum enforce_verdict enforce_allow(struct enforce *e)
{
    e->phase = PH_DONE;
    e->allowed = true;
    if (!e->reason)
        e->reason = e->admin ? "admin" : "authenticated";
    atomic_fetch_add_explicit(&g_metrics.authz_allowed, 1, memory_order_relaxed);
    return ENFORCE_FORWARD;
}

/* ---------------------------------------------------------------- life cycle */

struct enforce *enforce_new(struct worker *w, const struct authn_identity *id,
                            const struct policy_snapshot *snap, const char *request_id,
                            enforce_fn done, void *arg)
{
    const struct principal *p = id->subject;
    struct enforce *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->magic = ENFORCE_MAGIC;
    e->w = w;
    e->snap = snap;
    e->done = done;
    e->done_arg = arg;
    snprintf(e->request_id, sizeof(e->request_id), "%s", request_id ? request_id : "");
    e->user = p->user;
    /* subject, actor (on behalf of) and the token scopes' privilege mask */
    e->id = id;
    authn_identity_policy(id, &e->view);
    e->who = e->view.subject;
    e->actor = id->nactors > 0 ? id->actors[0].id : NULL;
    return e;
}

static void items_clear(struct enforce *e)
{
    for (size_t i = 0; i < e->nitems; i++) {
        free(e->items[i].id);
        free(e->items[i].orig_id);
    }
    e->nitems = 0;
}

void enforce_prefetch_clear(struct enforce *e)
{
    for (size_t i = 0; i < e->nprefetch; i++)
        free(e->prefetch[i]);
    free(e->prefetch);
    e->prefetch = NULL;
    e->nprefetch = e->prefetch_cur = 0;
    free(e->page);
    e->page = NULL;
}

void enforce_free(struct enforce *e)
{
    if (!e)
        return;
    resolve_cancel(e->w, e->wait);
    subreq_cancel(e->sub);
    items_clear(e);
    free(e->items);
    body_result_free(e->body);
    free(e->fwd);
    planner_free(e->planner);
    graphql_plan_free(e->gql);
    free(e->gql);
    free(e->path);
    free(e->raw_query);
    free(e->binding);
    free(e->client_headers);
    free(e->client_token);
    enforce_prefetch_clear(e);
    free(e->answer);
    e->magic = 0;
    free(e);
}

size_t enforce_body_limit(const struct enforce *e)
{
    (void)e;
    return BODY_DEFAULT_MAX_BYTES;
}

const char *enforce_forward_body(const struct enforce *e, size_t *len)
{
    if (e->fwd) {
        *len = e->fwd_len;
        return e->fwd;
    }
    if (e->body && e->body->json) {
        *len = e->body->len;
        return e->body->json;
    }
    *len = 0;
    return NULL;
}

const char *enforce_forward_content_type(const struct enforce *e)
{
    return e->fwd_type[0] ? e->fwd_type : "application/json";
}

int enforce_answer(const struct enforce *e, const char **body, size_t *len)
{
    *body = e->answer ? e->answer : "";
    *len = e->answer_len;
    return e->status;
}

void enforce_summary(const struct enforce *e, struct enforce_summary *out)
{
    out->action = e->action;
    out->object_kind = e->obj_kind;
    out->object_name = e->obj_name;
    out->privilege = e->priv_name ? e->priv_name : "";
    out->reason = e->reason ? e->reason : "";
    out->allowed = e->allowed;
    out->admin = e->admin;
}

/* ---------------------------------------------------------------- items */

static int item_add(struct enforce *e, enum route_object obj, enum policy_priv priv, const char *id,
                    size_t len)
{
    if (e->nitems == MAX_ITEMS)
        return -1;
    if (e->nitems == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        struct item *n = realloc(e->items, cap * sizeof(*n));
        if (!n)
            return -1;
        e->items = n;
        e->cap = cap;
    }
    struct item *it = &e->items[e->nitems];
    it->obj = it->orig = obj;
    it->priv = priv;
    it->absent_ok = false;
    it->id = strndup(id, len);
    it->orig_id = strndup(id, len);
    if (!it->id || !it->orig_id) {
        free(it->id);
        free(it->orig_id);
        return -1;
    }
    e->nitems++;
    return 0;
}

/* Ids must be text a look-up can carry: no control bytes, bounded; experiment ids canonical. */
static const char *id_problem(enum route_object obj, const char *s, size_t len)
{
    if (len == 0)
        return "must not be empty";
    if (len > MAX_ID_LEN)
        return "is too long";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "contains a control character";
    if (obj == ROUTE_OBJ_EXPERIMENT && !body_is_canonical_decimal(s, len))
        return "must be a canonical decimal experiment id";
    return NULL;
}

/* lowerCamelCase of a snake_case field name, as protobuf's JSON mapping spells it. */
static void camel(const char *snake, char *out, size_t cap)
{
    size_t o = 0;
    bool up = false;
    for (const char *s = snake; *s && o + 1 < cap; s++) {
        if (*s == '_') {
            up = true;
            continue;
        }
        out[o++] = up && *s >= 'a' && *s <= 'z' ? (char)(*s - 32) : *s;
        up = false;
    }
    out[o] = '\0';
}

static enum enforce_verdict bad_request(struct enforce *e, const char *field, const char *problem)
{
    return enforce_fail(e, 400, "bad-request", "%s %s", field, problem);
}

/* The ids of one query check; MLflow's GET handlers read request.args through ParseDict, so
 * the camelCase spelling is the same field and a repeated singular key is refused. */
static enum enforce_verdict query_ids(struct enforce *e, const struct target *t,
                                      const struct route_check *ck, bool *done)
{
    *done = false;
    char alias[96];
    camel(ck->field, alias, sizeof(alias));
    if (strcmp(alias, ck->field) != 0 && target_query_count(t, alias) > 0)
        return bad_request(e, alias, "is not accepted: use the snake_case spelling");
    size_t n = target_query_count(t, ck->field);
    if (strcmp(ck->field, "run_id") == 0 && !ck->many) {
        /* MLflow reads `run_id or run_uuid` (the client sends both; the UI sends run_uuid
         * alone): the run checked is the one that expression picks. */
        if (target_query_count(t, "runUuid") > 0)
            return bad_request(e, "runUuid", "is not accepted: use the snake_case spelling");
        if (n > 1 || target_query_count(t, "run_uuid") > 1)
            return bad_request(e, "run_id/run_uuid", "is repeated");
        const struct target_str *v = target_query_get(t, "run_id");
        if (!v || v->len == 0)
            v = target_query_get(t, "run_uuid");
        if (!v || v->len == 0) {
            *done = ck->optional;
            return ck->optional ? ENFORCE_FORWARD : bad_request(e, ck->field, "is missing");
        }
        const char *why = id_problem(ck->object, v->ptr, v->len);
        if (why)
            return bad_request(e, ck->field, why);
        if (item_add(e, ck->object, ck->priv, v->ptr, v->len) < 0)
            return enforce_fail(e, 500, "internal", "out of memory");
        *done = true;
        return ENFORCE_FORWARD;
    }
    if (n > 1 && !ck->many)
        return bad_request(e, ck->field, "is repeated");
    if (n == 0) {
        if (ck->optional) {
            *done = true;
            return ENFORCE_FORWARD;
        }
        return bad_request(e, ck->field, "is missing");
    }
    for (size_t i = 0; i < t->nquery; i++) {
        const struct target_pair *q = &t->query[i];
        if (!target_str_eq(q->key, ck->field))
            continue;
        const char *why = id_problem(ck->object, q->value.ptr, q->value.len);
        if (why && !(ck->optional && q->value.len == 0))
            return bad_request(e, ck->field, why);
        if (q->value.len == 0)
            continue;
        if (item_add(e, ck->object, ck->priv, q->value.ptr, q->value.len) < 0)
            return enforce_fail(e, 400, "bad-request", "too many ids in one request");
    }
    *done = true;
    return ENFORCE_FORWARD;
}

static void to_lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
    out[i] = '\0';
}

/* The media type of a Content-Type value (parameters ignored), case-insensitively. */
static bool media_type_is(const struct http1_header *h, const char *type)
{
    size_t l = 0;
    while (l < h->value_len && h->value[l] != ';' && h->value[l] != ' ')
        l++;
    return l == strlen(type) && strncasecmp(h->value, type, l) == 0;
}

/* application/<x>+json */
static bool media_type_json_suffix(const struct http1_header *h)
{
    size_t l = 0;
    while (l < h->value_len && h->value[l] != ';' && h->value[l] != ' ')
        l++;
    return l > 17 && strncasecmp(h->value, "application/", 12) == 0 &&
           strncasecmp(h->value + l - 5, "+json", 5) == 0;
}

/* Whether the principal is in the policy's admin group (token groups or policy groups). */
static bool subject_is_admin(const struct enforce *e)
{
    if (!e->snap)
        return false;
    struct policy_object o = {.kind = POLICY_KIND_CATALOG, .catalog = {"warden", 6}};
    struct policy_decision d;
    policy_decide(e->snap, &e->who, POLICY_PRIV_USE_CATALOG, &o, &d);
    return d.admin;
}

static enum enforce_verdict after_ids(struct enforce *e);

/* The identity lines the pages of a filtered search carry, as the client's forwarded
 * requests do: X-Warden-* and the assertion, or (passthrough) the client's Authorization. */
static int client_headers(struct enforce *e, const struct http1_request *r)
{
    const char *as = NULL;
    size_t alen = 0;
    char err[160];
    if (e->w->assertions &&
        assertion_get(e->w->assertions, e->id, clock_wall_ms(), &as, &alen, err, sizeof(err)) < 0) {
        log_error("assertion for %s: %s", e->user, err);
        return -1;
    }
    size_t need = idhdr_format(e->id, as, alen, NULL, 0);
    const struct http1_header *auth = NULL;
    if (e->w->cfg->upstream.identity == UPSTREAM_IDENTITY_PASSTHROUGH)
        auth = http1_find(r->headers, r->nheaders, "authorization");
    size_t cap = need + (auth ? auth->value_len + 20 : 0) + 1;
    if (!(e->client_headers = malloc(cap)))
        return -1;
    size_t n = idhdr_format(e->id, as, alen, e->client_headers, cap);
    if (auth)
        n += (size_t)snprintf(e->client_headers + n, cap - n, "Authorization: %.*s\r\n",
                              (int)auth->value_len, auth->value);
    e->client_headers[n < cap ? n : cap - 1] = '\0';
    return 0;
}

/* A filtered GET: keep what paging needs (the request is re-sent page by page, maybe after the
 * target buffer was reused): the raw path and query, the client's paging parameters, and the
 * binding of page tokens (user, path, every other query pair in order). */
static enum enforce_verdict filter_capture(struct enforce *e, const struct target *t)
{
    e->client_max = -1;
    e->path = strndup(t->raw_path.ptr, t->raw_path.len);
    e->raw_query = t->raw_query.ptr ? strndup(t->raw_query.ptr, t->raw_query.len) : strdup("");
    if (!e->path || !e->raw_query)
        return enforce_fail(e, 500, "internal", "out of memory");
    if (e->method != HTTP1_M_GET && e->method != HTTP1_M_HEAD)
        return ENFORCE_FORWARD; /* POST: from the canonical body, in enforce_filter_start */
    if (target_query_count(t, "maxResults") || target_query_count(t, "pageToken"))
        return bad_request(e, "maxResults/pageToken",
                           "is not accepted: use max_results/page_token");
    if (target_query_count(t, "max_results") > 1 || target_query_count(t, "page_token") > 1)
        return bad_request(e, "max_results/page_token", "is repeated");
    const struct target_str *mr = target_query_get(t, "max_results");
    if (mr) {
        if (!body_is_canonical_decimal(mr->ptr, mr->len) || mr->len > 9)
            return bad_request(e, "max_results", "must be a positive integer");
        char num[16];
        memcpy(num, mr->ptr, mr->len);
        num[mr->len] = '\0';
        e->client_max = strtol(num, NULL, 10);
    }
    const struct target_str *pt = target_query_get(t, "page_token");
    if (pt && pt->len > 0 && !(e->client_token = strndup(pt->ptr, pt->len)))
        return enforce_fail(e, 500, "internal", "out of memory");
    size_t cap = strlen(e->user) + t->raw_path.len + t->raw_query.len + 3 * t->nquery + 8;
    char *b = malloc(cap);
    if (!b)
        return enforce_fail(e, 500, "internal", "out of memory");
    size_t n =
        (size_t)snprintf(b, cap, "%s\n%.*s\n", e->user, (int)t->raw_path.len, t->raw_path.ptr);
    for (size_t i = 0; i < t->nquery && n < cap; i++) {
        const struct target_pair *q = &t->query[i];
        if (target_str_eq(q->key, "max_results") || target_str_eq(q->key, "page_token"))
            continue;
        n += (size_t)snprintf(b + n, cap - n, "%.*s=%.*s&", (int)q->key.len, q->key.ptr,
                              (int)q->value.len, q->value.ptr);
    }
    e->binding = b;
    e->binding_len = n < cap ? n : cap - 1;
    return ENFORCE_FORWARD;
}

enum enforce_verdict enforce_head(struct enforce *e, const struct http1_request *r)
{
    struct worker *w = e->w;
    e->method = r->method;
    struct target_error terr = {0};
    if (r->target_len > w->target_buf_cap || target_parse(r->target, r->target_len, w->target_buf,
                                                          w->target_buf_cap, w->target, &terr) != 0)
        return enforce_fail(e, terr.status ? terr.status : 400, "bad-target",
                            "request target refused: %s", terr.reason ? terr.reason : "too long");
    const struct target *t = w->target;
    struct route_match m;
    if (routes_match(r->method, t, &m) != 0)
        return enforce_fail(e, 404, "unknown-route",
                            "%s %.*s is not an MLflow endpoint Warden serves",
                            http1_method_name(r->method),
                            (int)(t->path.len > 200 ? 200 : t->path.len), t->path.ptr);
    const struct route *rt = m.route;
    e->route = rt;
    snprintf(e->action, sizeof(e->action), "%s", rt->action);
    if (rt->access == ROUTE_DENIED)
        return enforce_fail(e, 403, "denied-route", "%s is not available through Warden: %s",
                            rt->action,
                            rt->note ? rt->note : "this endpoint is disabled by the gateway");
    if (!e->snap)
        return enforce_fail(e, 403, "no-policy", "no policy is loaded: every request is denied");
    /* Admins skip look-ups only when acting themselves with an unrestricted token: an agent
     * acting for an admin, or a downscoped token, is decided object by object. */
    bool subject_admin = subject_is_admin(e);
    e->admin = subject_admin && !e->view.actor && e->view.scope_mask == POLICY_SCOPES_ALL;
    if (rt->access == ROUTE_ADMIN && subject_admin && !e->admin)
        return enforce_fail(e, 403, "admin-only",
                            "%s is an admin-only endpoint: it cannot be used on behalf of a user "
                            "or with a downscoped token",
                            rt->action);
    if (rt->access == ROUTE_ADMIN && !e->admin)
        return enforce_fail(e, 403, "admin-only", "%s lacks admin rights for %s: %s", e->user,
                            rt->action, rt->note ? rt->note : "server-wide configuration");

    /* Ids outside the body: copied now, the target buffer is reused by the next request. */
    for (size_t k = 0; k < rt->nchecks; k++) {
        const struct route_check *ck = &rt->checks[k];
        if (ck->loc == ROUTE_ID_PATH) {
            const struct target_str *v = route_match_param(&m, ck->field);
            if (!v)
                return enforce_fail(e, 500, "internal", "route %s lacks {%s}", rt->pattern,
                                    ck->field);
            const char *why =
                id_problem(ck->object == ROUTE_OBJ_ARTIFACT_PATH ? ROUTE_OBJ_NONE : ck->object,
                           v->ptr, v->len);
            if (why)
                return bad_request(e, ck->field, why);
            if (item_add(e, ck->object, ck->priv, v->ptr, v->len) < 0)
                return enforce_fail(e, 500, "internal", "out of memory");
        } else if (ck->loc == ROUTE_ID_QUERY) {
            bool ok;
            enum enforce_verdict v = query_ids(e, t, ck, &ok);
            if (!ok)
                return v;
        } else if (ck->loc == ROUTE_ID_HEADER) {
            char lower[64];
            to_lower(ck->field, lower, sizeof(lower));
            const struct http1_header *h = http1_find(r->headers, r->nheaders, lower);
            if (!h) {
                if (ck->optional)
                    continue;
                return bad_request(e, ck->field, "header is missing");
            }
            const char *why = id_problem(ck->object, h->value, h->value_len);
            if (why)
                return bad_request(e, ck->field, why);
            if (item_add(e, ck->object, ck->priv, h->value, h->value_len) < 0)
                return enforce_fail(e, 500, "internal", "out of memory");
        }
    }
    if (rt->filter != ROUTE_FILTER_NONE && !e->admin) {
        if (client_headers(e, r) < 0)
            return enforce_fail(e, 500, "internal", "could not build the identity headers");
        enum enforce_verdict v = filter_capture(e, t);
        if (v != ENFORCE_FORWARD)
            return v;
    }
    const struct http1_header *ct = http1_find(r->headers, r->nheaders, "content-type");
    if (rt->body == ROUTE_BODY_JSON) {
        if (ct && !media_type_is(ct, "application/json") && !media_type_json_suffix(ct))
            return enforce_fail(e, 415, "bad-content-type",
                                "%s takes a JSON body (Content-Type: application/json)",
                                rt->action);
        e->phase = PH_BODY;
        return ENFORCE_NEED_BODY;
    }
    if (rt->body == ROUTE_BODY_OTLP) {
        /* Read whole: the traces it touches are in the body (risk 11). */
        const struct http1_header *ce = http1_find(r->headers, r->nheaders, "content-encoding");
        if (ce && !(ce->value_len == 8 && strncasecmp(ce->value, "identity", 8) == 0))
            return enforce_fail(e, 415, "bad-content-type",
                                "compressed OTLP bodies are not accepted: send them uncompressed");
        bool pb = ct && media_type_is(ct, "application/x-protobuf");
        e->otlp_json = ct && media_type_is(ct, "application/json");
        if (!pb && !e->otlp_json)
            return enforce_fail(e, 415, "bad-content-type",
                                "OTLP bodies must be application/x-protobuf or application/json");
        snprintf(e->fwd_type, sizeof(e->fwd_type), "%s",
                 pb ? "application/x-protobuf" : "application/json");
        e->phase = PH_BODY;
        return ENFORCE_NEED_BODY;
    }
    return after_ids(e);
}

/* ---------------------------------------------------------------- body */

/* /v1/traces: MODIFY on every existing trace the spans would be written into. */
static enum enforce_verdict otlp_body(struct enforce *e, const char *buf, size_t len)
{
    struct otlp_ids *ids = malloc(sizeof(*ids));
    char err[200];
    if (!ids)
        return enforce_fail(e, 500, "internal", "out of memory");
    if (otlp_trace_ids(buf, len, e->otlp_json, ids, err, sizeof(err)) < 0) {
        free(ids);
        return enforce_fail(e, 400, "bad-body", "OTLP body refused: %s", err);
    }
    for (size_t i = 0; i < ids->n; i++) {
        if (item_add(e, ROUTE_OBJ_TRACE, POLICY_PRIV_MODIFY, ids->id[i], strlen(ids->id[i])) < 0) {
            free(ids);
            return enforce_fail(e, 500, "internal", "out of memory");
        }
        e->items[e->nitems - 1].absent_ok = true;
    }
    free(ids);
    e->fwd = malloc(len ? len : 1);
    if (!e->fwd)
        return enforce_fail(e, 500, "internal", "out of memory");
    memcpy(e->fwd, buf, len);
    e->fwd_len = len;
    return after_ids(e);
}

/*
 * CreateModelVersion's `source` is where /model-versions/get-artifact later serves files from
 * (mlflow-api.md (c) risk 8): the caller must be able to read what it points at. Accepted:
 * runs:/<run id>/..., models:/<logged model id>[/...], mlflow-artifacts:/<experiment id>/...,
 * and "dummy-source", the fixed source the MLflow client gives prompt versions; any other
 * location (a file path, a cloud URI) only for admins.
 */
static enum enforce_verdict source_item(struct enforce *e)
{
    json_error_t je;
    json_t *root = json_loadb(e->body->json, e->body->len, 0, &je);
    const char *src = json_string_value(json_object_get(root, "source"));
    enum enforce_verdict v = ENFORCE_FORWARD;
    enum route_object obj = ROUTE_OBJ_NONE;
    const char *id = NULL;
    size_t n = 0;
    if (src && strncmp(src, "runs:/", 6) == 0) {
        obj = ROUTE_OBJ_RUN;
        id = src + 6;
        n = strcspn(id, "/");
    } else if (src && strncmp(src, "models:/m-", 10) == 0) {
        obj = ROUTE_OBJ_LOGGED_MODEL;
        id = src + 8;
        n = strcspn(id, "/");
    } else if (src && strncmp(src, "mlflow-artifacts:/", 18) == 0) {
        obj = ROUTE_OBJ_ARTIFACT_PATH;
        id = src + 18;
        n = strlen(id);
    }
    if (src && strcmp(src, "dummy-source") == 0) {
        /* the MLflow client's fixed source of prompt versions (no artifacts to read) */
        json_decref(root);
        return ENFORCE_FORWARD;
    }
    if (!src)
        v = bad_request(e, "source", "is missing");
    else if (obj == ROUTE_OBJ_NONE || n == 0 || id_problem(ROUTE_OBJ_NONE, id, n))
        /* decided after the model's own check, so a caller without CREATE MODEL VERSION
         * hears about that first */
        snprintf(e->late_denial, sizeof(e->late_denial),
                 "%s may not register a model version from %.200s: the source must be a "
                 "runs:/, models:/ or mlflow-artifacts:/ location the caller can read",
                 e->user, src);
    else if (item_add(e, obj, POLICY_PRIV_READ, id, n) < 0)
        v = enforce_fail(e, 500, "internal", "out of memory");
    json_decref(root);
    return v;
}

/* A GraphQL request of a non-admin: READ on every experiment and run the document names
 * (mlflow/graphql plans it as MLflow will execute it); admin-only documents refused. */
static enum enforce_verdict graphql_items(struct enforce *e)
{
    char err[256];
    if (!(e->gql = calloc(1, sizeof(*e->gql))))
        return enforce_fail(e, 500, "internal", "out of memory");
    if (graphql_plan_request(e->body->json, e->body->len, e->gql, err, sizeof(err)) < 0)
        return enforce_fail(e, 400, "bad-body", "GraphQL request refused: %s", err);
    if (e->gql->admin_only)
        return enforce_fail(e, 403, "admin-only",
                            "%s lacks admin rights for this GraphQL request: %s", e->user,
                            e->gql->admin_reason);
    for (size_t i = 0; i < e->gql->nchecks; i++) {
        const struct graphql_check *ck = &e->gql->checks[i];
        if (item_add(e, ck->object, ck->priv, ck->id, ck->id_len) < 0)
            return enforce_fail(e, 500, "internal", "out of memory");
    }
    return ENFORCE_FORWARD;
}

enum enforce_verdict enforce_body(struct enforce *e, const char *buf, size_t len)
{
    const struct route *rt = e->route;
    if (rt->body == ROUTE_BODY_OTLP)
        return otlp_body(e, buf, len);
    struct body_spec spec;
    char err[256];
    if (body_spec_from_route(rt, &spec, err, sizeof(err)) < 0)
        return enforce_fail(e, 500, "internal", "route table: %s", err);
    if (!e->body && !(e->body = body_result_new()))
        return enforce_fail(e, 500, "internal", "out of memory");
    int st = 400;
    struct body_limits lim = {BODY_DEFAULT_MAX_BYTES, BODY_DEFAULT_MAX_DEPTH, false};
    if (body_canonicalize(&spec, &lim, buf, len, e->body, &st, err, sizeof(err)) < 0)
        return enforce_fail(e, st, "bad-body", "request body refused: %s", err);
    if (rt->filter == ROUTE_FILTER_GRAPHQL && !e->admin) {
        enum enforce_verdict v = graphql_items(e);
        if (v != ENFORCE_FORWARD)
            return v;
    }
    /* Body ids, in the route's check order. */
    size_t bi = 0;
    for (size_t k = 0; k < rt->nchecks; k++) {
        const struct route_check *ck = &rt->checks[k];
        if (ck->loc != ROUTE_ID_BODY)
            continue;
        const struct body_ids *ids = &e->body->ids[bi++];
        if (!ids->present || ids->n == 0) {
            if (ck->optional || (ids->present && ck->many))
                continue;
            return bad_request(e, ck->field, "is missing");
        }
        for (size_t i = 0; i < ids->n; i++) {
            const char *why = id_problem(ck->object, ids->v[i].s, ids->v[i].len);
            if (why && ck->optional && ids->v[i].len == 0)
                continue;
            if (why)
                return bad_request(e, ck->field, why);
            if (item_add(e, ck->object, ck->priv, ids->v[i].s, ids->v[i].len) < 0)
                return enforce_fail(e, 400, "bad-request", "too many ids in one request");
        }
    }
    if (strcmp(rt->action, "createModelVersion") == 0 && !e->admin) {
        enum enforce_verdict v = source_item(e);
        if (v != ENFORCE_FORWARD)
            return v;
    }
    /* Identity stamps and reserved tags. */
    struct stamp_identity sid = {e->user, e->actor};
    struct stamp_result sr;
    enum stamp_rule rule = stamp_rule_for(rt->action);
    if (stamp_apply(rule, e->body->json, e->body->len, &sid, &sr, &st, err, sizeof(err)) < 0)
        return enforce_fail(e, st, st == 403 ? "reserved-field" : "bad-body", "%s", err);
    if (sr.json) {
        e->fwd = sr.json;
        e->fwd_len = sr.len;
    }
    if (sr.owner_tag) /* changing the owner stamp is an ownership transfer */
        for (size_t i = 0; i < e->nitems; i++)
            e->items[i].priv = POLICY_PRIV_MANAGE;
    return after_ids(e);
}

/* ---------------------------------------------------------------- decisions */

static void set_object(struct enforce *e, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_object(struct enforce *e, const char *kind, const char *fmt, ...)
{
    snprintf(e->obj_kind, sizeof(e->obj_kind), "%s", kind);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->obj_name, sizeof(e->obj_name), fmt, ap);
    va_end(ap);
}

static const char *kind_word(enum policy_kind k)
{
    static const char *const w[] = {"catalog", "schema", "experiment", "model"};
    return (unsigned)k < 4 ? w[k] : "securable";
}

/* Name of the level `on` of obj, for messages. */
static void level_name(const struct policy_object *obj, enum policy_kind on, char *buf, size_t cap)
{
    struct policy_object lv = *obj;
    lv.kind = on;
    if (on == POLICY_KIND_CATALOG)
        lv.schema.len = 0, lv.name.len = 0;
    if (on == POLICY_KIND_SCHEMA)
        lv.name.len = 0;
    policy_name_format(&lv, buf, cap);
}

/*
 * Decide priv on obj for item it. visible_name: whether the denial may name the securable
 * (the client named it, or may see it); otherwise it names the id the client gave.
 * Returns 1 allowed, 0 when the request was answered (denied).
 */
static int decide(struct enforce *e, const struct item *it, const struct policy_object *obj,
                  bool client_named)
{
    struct policy_obo_decision od;
    char name[512];
    policy_name_format(obj, name, sizeof(name));
    int rc =
        policy_decide_obo(e->snap, &e->who, e->view.actor, e->view.scope_mask, it->priv, obj, &od);
    const struct policy_decision d = od.subject;
    e->priv_name = policy_priv_name(it->priv);
    set_object(e, kind_word(obj->kind), "%s", name);
    if (rc == 0 && od.allowed) {
        e->reason = policy_reason_name(d.reason);
        if (d.source.file)
            snprintf(e->grant, sizeof(e->grant), "%s:%u:%u %s to %s", d.source.file, d.source.line,
                     d.source.col, policy_priv_name(d.matched),
                     d.principal ? d.principal : "owner");
        else
            snprintf(e->grant, sizeof(e->grant), "%s", d.principal ? d.principal : "owner stamp");
        return 1;
    }
    bool named = client_named;
    if (!named) {
        struct policy_decision b;
        named = policy_decide(e->snap, &e->who, POLICY_PRIV_BROWSE, obj, &b) == 0 && b.allowed;
    }
    const char *priv = policy_priv_name(it->priv);
    if (rc == 0 && named && od.side != POLICY_OBO_SUBJECT && od.side != POLICY_OBO_OK) {
        /* the agent's delegation or the token's scopes lacked it: say which side */
        char msg[600];
        policy_obo_message(&od, &e->who, e->view.actor, obj, msg, sizeof(msg));
        enforce_fail(e, 403, policy_obo_side_name(od.side), "%s", msg);
        return 0;
    }
    if (!named) {
        set_object(e, route_object_name(it->orig), "%s", it->orig_id);
        enforce_fail(e, 403, "no-privilege", "%s lacks %s on %s %s", e->user, priv,
                     route_object_name(it->orig), it->orig_id);
        return 0;
    }
    if (rc == 0 && d.reason == POLICY_REASON_NO_TRAVERSE) {
        char lv[512];
        level_name(obj, d.missing_on, lv, sizeof(lv));
        enforce_fail(e, 403, "no-traverse", "%s lacks %s on %s %s (needed for %s on %s %s)",
                     e->user, policy_priv_name(d.missing), kind_word(d.missing_on), lv, priv,
                     kind_word(obj->kind), name);
        return 0;
    }
    enforce_fail(e, 403, rc == 0 ? "no-privilege" : "invalid", "%s lacks %s on %s %s", e->user,
                 priv, kind_word(obj->kind), name);
    return 0;
}

static struct naming_rules rules_of(const struct enforce *e)
{
    const struct policy_conf *pc = &e->w->cfg->policy;
    struct naming_rules r = {pc->default_catalog, pc->default_schema, pc->home_catalog};
    return r;
}

/*
 * The securable an MLflow name stands for (mlflow/naming), into *obj (views into name, the
 * rules and *res). kind: the object's own (experiment/model), or its schema when schema is
 * set (creation). Owner: the object's stamp when it carries one (owner_tagged; an unusable
 * stamp means nobody), else the home user of a /Users/<user>/ name. Returns 0, or -1 with
 * the naming error in err.
 */
static int securable_of(const struct enforce *e, enum naming_what what, const char *name,
                        size_t len, const char *owner, bool owner_tagged, bool schema,
                        struct naming_result *res, struct policy_object *obj, char *err,
                        size_t errlen)
{
    struct naming_rules nr = rules_of(e);
    if (naming_map(&nr, what, name, len, res, err, errlen) < 0)
        return -1;
    if (schema) {
        naming_schema_object(res, obj);
        return 0;
    }
    struct policy_str o = res->home_user;
    if (owner_tagged)
        o = (struct policy_str){owner ? owner : "", owner ? strlen(owner) : 0};
    naming_object(res, what, o, obj);
    return 0;
}

/* A name MLflow knows: decide on its securable. */
static int decide_named(struct enforce *e, const struct item *it, enum naming_what what,
                        const char *mlname, const char *owner, bool owner_tagged, bool client_named)
{
    struct naming_result res;
    struct policy_object obj;
    char err[160];
    if (securable_of(e, what, mlname, strlen(mlname), owner, owner_tagged, false, &res, &obj, err,
                     sizeof(err)) < 0) {
        enforce_fail(e, 400, "bad-name", "name refused: %s", err);
        return 0;
    }
    return decide(e, it, &obj, client_named);
}

/* Creation: CREATE EXPERIMENT / CREATE MODEL on the schema the new name lands in. */
static int decide_create(struct enforce *e, const struct item *it, enum naming_what what)
{
    struct naming_result res;
    struct policy_object obj;
    char err[160];
    if (securable_of(e, what, it->id, strlen(it->id), NULL, false, true, &res, &obj, err,
                     sizeof(err)) < 0) {
        enforce_fail(e, 400, "bad-name", "name refused: %s", err);
        return 0;
    }
    return decide(e, it, &obj, true);
}

bool enforce_visible(struct enforce *e, enum naming_what what, const char *name, size_t len,
                     const char *owner, bool owner_tagged, enum policy_priv priv)
{
    struct naming_result res;
    struct policy_object obj;
    char err[160];
    if (securable_of(e, what, name, len, owner, owner_tagged, false, &res, &obj, err, sizeof(err)) <
        0)
        return false;
    struct policy_obo_decision d;
    return policy_decide_obo(e->snap, &e->who, e->view.actor, e->view.scope_mask, priv, &obj, &d) ==
               0 &&
           d.allowed;
}

static enum enforce_verdict step(struct enforce *e);

/* Apply the facts about items[cur]: climb to the parent, or decide. Returns 1 to go on with
 * the loop, 0 when the request was answered. */
static int apply(struct enforce *e, enum resolve_rc rc, const struct resolve_facts *f,
                 const char *err)
{
    struct item *it = &e->items[e->cur];
    if (rc == RESOLVE_ERROR) {
        set_object(e, route_object_name(it->orig), "%s", it->orig_id);
        enforce_fail(e, 503, "lookup-failed", "could not resolve %s %s: %s; retry later",
                     route_object_name(it->obj), it->id, err && err[0] ? err : "look-up failed");
        return 0;
    }
    if (rc == RESOLVE_NOT_FOUND && it->absent_ok) {
        e->cur++; /* a new trace: the header's experiment (checked) receives it */
        return 1;
    }
    if (rc == RESOLVE_NOT_FOUND) {
        /* A name the client gave: decide on it without an owner (MLflow answers "not found"
         * when allowed). An id that resolves to nothing: as if forbidden. */
        if (it->obj == ROUTE_OBJ_EXPERIMENT_NAME)
            return decide_named(e, it, NAMING_EXPERIMENT, it->id, NULL, false, true) ? (e->cur++, 1)
                                                                                     : 0;
        if (it->obj == ROUTE_OBJ_MODEL)
            return decide_named(e, it, NAMING_MODEL, it->id, NULL, false, true) ? (e->cur++, 1) : 0;
        set_object(e, route_object_name(it->orig), "%s", it->orig_id);
        enforce_fail(e, 403, "not-found", "%s lacks %s on %s %s", e->user,
                     policy_priv_name(it->priv), route_object_name(it->orig), it->orig_id);
        return 0;
    }
    switch (it->obj) {
    case ROUTE_OBJ_EXPERIMENT:
    case ROUTE_OBJ_EXPERIMENT_NAME:
        if (!f->name || !f->name[0]) {
            enforce_fail(e, 502, "lookup-failed", "experiment %s has no name", it->id);
            return 0;
        }
        if (!decide_named(e, it, NAMING_EXPERIMENT, f->name, f->owner, f->owner_tagged,
                          it->orig == ROUTE_OBJ_EXPERIMENT_NAME))
            return 0;
        e->cur++;
        return 1;
    case ROUTE_OBJ_MODEL:
        if (!decide_named(e, it, NAMING_MODEL, f->name && f->name[0] ? f->name : it->id, f->owner,
                          f->owner_tagged, true))
            return 0;
        e->cur++;
        return 1;
    case ROUTE_OBJ_DATASET: {
        if (f->nexperiment_ids == 0) {
            set_object(e, "dataset", "%s", it->orig_id);
            enforce_fail(e, 403, "no-privilege",
                         "%s lacks %s on dataset %s (it belongs to no experiment; admins only)",
                         e->user, policy_priv_name(it->priv), it->orig_id);
            return 0;
        }
        /* The dataset needs the privilege on every experiment it belongs to: this item
         * becomes the first, the others are appended. */
        enum policy_priv pv = it->priv;
        char *orig = strdup(it->orig_id);
        if (!orig) {
            enforce_fail(e, 500, "internal", "out of memory");
            return 0;
        }
        for (size_t i = 1; i < f->nexperiment_ids; i++) {
            const char *x = f->experiment_ids[i];
            if (item_add(e, ROUTE_OBJ_EXPERIMENT, pv, x, strlen(x)) < 0) {
                free(orig);
                enforce_fail(e, 500, "internal", "dataset belongs to too many experiments");
                return 0;
            }
            struct item *n = &e->items[e->nitems - 1];
            n->orig = ROUTE_OBJ_DATASET;
            free(n->orig_id);
            n->orig_id = strdup(orig);
            if (!n->orig_id) {
                free(orig);
                enforce_fail(e, 500, "internal", "out of memory");
                return 0;
            }
        }
        free(orig);
        it = &e->items[e->cur]; /* items may have moved */
        char *x = strdup(f->experiment_ids[0]);
        if (!x) {
            enforce_fail(e, 500, "internal", "out of memory");
            return 0;
        }
        free(it->id);
        it->id = x;
        it->obj = ROUTE_OBJ_EXPERIMENT;
        return 1;
    }
    default: {
        /* run, trace, logged model, ...: its experiment */
        if (!f->experiment_id ||
            !body_is_canonical_decimal(f->experiment_id, strlen(f->experiment_id))) {
            enforce_fail(e, 502, "lookup-failed", "%s %s: MLflow gave no experiment id",
                         route_object_name(it->obj), it->id);
            return 0;
        }
        char *x = strdup(f->experiment_id);
        if (!x) {
            enforce_fail(e, 500, "internal", "out of memory");
            return 0;
        }
        free(it->id);
        it->id = x;
        it->obj = ROUTE_OBJ_EXPERIMENT;
        return 1;
    }
    }
}

/* Resolve and decide items[cur..]; ENFORCE_PENDING while a look-up runs. */
static enum enforce_verdict step(struct enforce *e)
{
    e->phase = PH_RESOLVE;
    while (e->cur < e->nitems) {
        struct item *it = &e->items[e->cur];
        switch (it->obj) {
        case ROUTE_OBJ_NEW_EXPERIMENT:
            if (!decide_create(e, it, NAMING_EXPERIMENT))
                return ENFORCE_ANSWER;
            e->cur++;
            continue;
        case ROUTE_OBJ_NEW_MODEL:
            if (!decide_create(e, it, NAMING_MODEL))
                return ENFORCE_ANSWER;
            e->cur++;
            continue;
        case ROUTE_OBJ_GATEWAY_ENDPOINT:
            if (!decide_named(e, it, NAMING_MODEL, it->id, NULL, false, true))
                return ENFORCE_ANSWER;
            e->cur++;
            continue;
        case ROUTE_OBJ_ARTIFACT_PATH: {
            /* "<experiment id>/..." under the default artifact root (mlflow-api.md (f)). */
            const char *s = it->id;
            size_t n = strcspn(s, "/");
            if (!body_is_canonical_decimal(s, n)) {
                set_object(e, "artifact path", "%s", it->orig_id);
                return enforce_fail(e, 403, "no-privilege",
                                    "%s lacks %s on artifact path %s (artifact paths start with an "
                                    "experiment id)",
                                    e->user, policy_priv_name(it->priv), it->orig_id);
            }
            char *x = strndup(s, n);
            if (!x)
                return enforce_fail(e, 500, "internal", "out of memory");
            free(it->id);
            it->id = x;
            it->obj = ROUTE_OBJ_EXPERIMENT;
            continue;
        }
        default:
            break;
        }
        if (!resolve_supported(it->obj)) {
            set_object(e, route_object_name(it->orig), "%s", it->orig_id);
            return enforce_fail(e, 403, "unresolvable",
                                "%s lacks %s on %s %s (Warden cannot resolve "
                                "this object to a securable)",
                                e->user, policy_priv_name(it->priv), route_object_name(it->orig),
                                it->orig_id);
        }
        struct resolve_facts f;
        char err[200] = "";
        enum resolve_rc rc = resolve_get(e->w, it->obj, it->id, e->request_id, &f,
                                         enforce_on_resolved, e, &e->wait, err, sizeof(err));
        if (rc == RESOLVE_PENDING)
            return ENFORCE_PENDING;
        if (!apply(e, rc, &f, err))
            return ENFORCE_ANSWER;
    }
    if (e->late_denial[0])
        return enforce_fail(e, 403, "bad-source", "%s", e->late_denial);
    if (e->route->filter != ROUTE_FILTER_NONE && !e->admin)
        return enforce_filter_start(e);
    return enforce_allow(e);
}

void enforce_on_resolved(void *arg, enum resolve_rc rc, const struct resolve_facts *f,
                         const char *err)
{
    struct enforce *e = arg;
    e->wait = NULL;
    enum enforce_verdict v;
    if (e->phase == PH_FILTER) {
        v = enforce_filter_resume(e, rc, f);
    } else {
        v = apply(e, rc, f, err) ? step(e) : ENFORCE_ANSWER;
    }
    if (v != ENFORCE_PENDING)
        e->done(e->done_arg, v);
}

static enum enforce_verdict after_ids(struct enforce *e)
{
    if (e->admin) {
        e->reason = "admin";
        if (e->nitems > 0)
            set_object(e, route_object_name(e->items[0].orig), "%s", e->items[0].orig_id);
        if (e->nitems > 0)
            e->priv_name = policy_priv_name(e->items[0].priv);
        return enforce_allow(e);
    }
    return step(e);
}

/* Writes that change what a look-up of the named object returns (name, owner stamp,
 * lifecycle). Run, trace and model-version writes change nothing Warden caches. */
static bool changes_facts(const char *action)
{
    static const char *const a[] = {
        "updateExperiment",         "deleteExperiment",
        "restoreExperiment",        "setExperimentTag",
        "deleteExperimentTag",      "renameRegisteredModel",
        "deleteRegisteredModel",    "setRegisteredModelTag",
        "deleteRegisteredModelTag", "updateRegisteredModel",
        "createRegisteredModel",    "createExperiment",
        "addDatasetToExperiments",  "removeDatasetFromExperiments",
    };
    for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
        if (strcmp(a[i], action) == 0)
            return true;
    return false;
}

void enforce_completed(struct enforce *e, int status)
{
    if (!e || !e->route || status < 200 || status >= 400 || !changes_facts(e->route->action))
        return;
    const char *a = e->route->action;
    if (strcmp(a, "updateExperiment") == 0 || strcmp(a, "deleteExperiment") == 0 ||
        strcmp(a, "restoreExperiment") == 0 || strcmp(a, "renameRegisteredModel") == 0 ||
        strcmp(a, "deleteRegisteredModel") == 0) {
        /* The old name's entries cannot be found from the id: start this worker afresh (rare
         * writes; other workers and instances age out within the 30 s TTL of names). */
        resolve_clear(e->w);
        return;
    }
    for (size_t i = 0; i < e->nitems; i++) {
        const struct item *it = &e->items[i];
        if (it->orig == ROUTE_OBJ_EXPERIMENT || it->orig == ROUTE_OBJ_EXPERIMENT_NAME ||
            it->orig == ROUTE_OBJ_MODEL || it->orig == ROUTE_OBJ_DATASET)
            resolve_invalidate(e->w, it->orig, it->orig_id);
        if (it->orig == ROUTE_OBJ_NEW_EXPERIMENT)
            resolve_invalidate(e->w, ROUTE_OBJ_EXPERIMENT_NAME, it->orig_id);
        if (it->orig == ROUTE_OBJ_NEW_MODEL)
            resolve_invalidate(e->w, ROUTE_OBJ_MODEL, it->orig_id);
    }
}

/* Body members recorded per request: what the action was about, never values that could hold
 * data or secrets beyond names and ids (the record redacts credential-looking values too). */
static const char *const audit_keys[] = {
    "name",     "new_name",      "key",         "experiment_id", "run_id",
    "model_id", "trace_id",      "version",     "alias",         "dataset_id",
    "filter",   "filter_string", "max_results", "source",        "stage",
};

void enforce_audit(const struct enforce *e, struct audit_record *r)
{
    if (!e)
        return;
    AUDIT_SET(r, action, e->action, strlen(e->action));
    AUDIT_SET(r, resource.kind, e->obj_kind, strlen(e->obj_kind));
    AUDIT_SET(r, resource.name, e->obj_name, strlen(e->obj_name));
    for (size_t i = 0; i < e->nitems && i < AUDIT_RES_IDS; i++) {
        const struct item *it = &e->items[i];
        char key[AUDIT_RES_ID_KEY_MAX];
        snprintf(key, sizeof(key), "%s", route_object_name(it->orig));
        audit_record_add_resource_id(r, key, it->orig_id, strlen(it->orig_id));
    }
    if (e->phase == PH_DONE || e->allowed || e->status) {
        r->decision.result = e->allowed ? AUDIT_DECISION_ALLOW : AUDIT_DECISION_DENY;
        const char *why = e->admin && e->allowed ? "admin" : (e->reason ? e->reason : "");
        char reason[AUDIT_REASON_MAX];
        if (!e->allowed && e->answer) {
            /* the message the client got says what was missing */
            json_error_t je;
            json_t *j = json_loadb(e->answer, e->answer_len, 0, &je);
            snprintf(reason, sizeof(reason), "%s: %s", why,
                     j ? json_string_value(json_object_get(j, "message")) : "");
            json_decref(j);
        } else {
            snprintf(reason, sizeof(reason), "%s", why);
        }
        AUDIT_SET(r, decision.reason, reason, strlen(reason));
    }
    if (e->priv_name)
        AUDIT_SET(r, decision.privilege, e->priv_name, strlen(e->priv_name));
    if (e->allowed && e->grant[0])
        AUDIT_SET(r, decision.grant, e->grant, strlen(e->grant));
    if (e->snap) {
        const char *v = policy_snapshot_version(e->snap);
        AUDIT_SET(r, decision.policy_version, v, strlen(v));
    }
    if (e->body && e->body->json) {
        json_error_t je;
        json_t *j = json_loadb(e->body->json, e->body->len, 0, &je);
        for (size_t i = 0; j && i < sizeof(audit_keys) / sizeof(audit_keys[0]); i++) {
            json_t *v = json_object_get(j, audit_keys[i]);
            char num[32];
            const char *s = json_string_value(v);
            size_t n = s ? json_string_length(v) : 0;
            if (json_is_integer(v)) {
                n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
                s = num;
            }
            if (s)
                audit_record_add_param(r, audit_keys[i], strlen(audit_keys[i]), s, n);
        }
        json_decref(j);
    }
}
