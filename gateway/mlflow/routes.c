/*
 * routes: expansion of the declarative table (route_table.c) into concrete routes, the
 * static-segment trie they are matched with, and the table's text renderings.
 *
 * Owns the expanded routes and the trie (module globals built by routes_init() on the main
 * thread before workers start, freed by routes_deinit(); read-only in between, so any worker
 * thread may call routes_match() concurrently). routes_match() allocates nothing.
 *
 * Matcher. Each route's pattern is compiled into segments: STATIC, PARAM ({x}), SUFFIX
 * ({x}:lit) and REST ({x:*}, one or more whole segments). The trie holds every route's
 * segments up to its first REST segment; a route whose pattern continues with a REST segment
 * hangs in its node's glob list and the remaining tail is matched by a small backtracking
 * matcher (REST greedy, as Starlette's ".*"). routes_match() walks every trie branch that
 * fits the path (static children by binary search, then suffix and parameter children, then
 * glob tails), keeps only routes serving the method, and picks the winner by MLflow's
 * precedence (routes.h). Branching is bounded by the table (a handful of nodes have both a
 * static and a parameter child), so a match costs O(path length) plus a few comparisons.
 */
#include "mlflow/routes.h"
#include "mlflow/route_table.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NMETHODS     (HTTP1_M_OPTIONS + 1)
#define MAX_PAT_SEGS 16

enum seg_kind { SEG_STATIC = 0, SEG_PARAM = 1, SEG_SUFFIX = 2, SEG_REST = 3 };

struct cseg {
    enum seg_kind kind;
    const char *text; /* STATIC: the segment; SUFFIX: the literal suffix */
    size_t len;
    char *name; /* parameter name (PARAM, SUFFIX, REST), NUL-terminated, owned */
};

struct croute {
    struct route r; /* first member: routes_at() hands out &croute.r */
    size_t index;   /* position in the expanded table = FastAPI registration order */
    size_t nseg;
    struct cseg seg[MAX_PAT_SEGS];
    bool trailing_slash;
    size_t rest_at; /* index of the first REST segment, or nseg */
};

struct rnode {
    const char *label; /* static label or suffix text (views into a pattern) */
    size_t label_len;
    struct rnode **stat; /* sorted by (length, bytes) */
    size_t nstat;
    struct rnode **sfx;
    size_t nsfx;
    struct rnode *param;
    const struct croute **glob; /* table order */
    size_t nglob;
    const struct croute *term[NMETHODS];
    const struct croute *term_slash[NMETHODS];
};

static struct croute *g_routes;
static size_t g_nroutes;
static struct rnode *g_root;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- trie construction */

static void node_free(struct rnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nstat; i++)
        node_free(n->stat[i]);
    for (size_t i = 0; i < n->nsfx; i++)
        node_free(n->sfx[i]);
    node_free(n->param);
    free(n->stat);
    free(n->sfx);
    free(n->glob);
    free(n);
}

static int label_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

static struct rnode *child_get(struct rnode ***arr, size_t *n, const char *label, size_t len,
                               bool sorted)
{
    size_t pos = *n;
    for (size_t i = 0; i < *n; i++) {
        int c = label_cmp((*arr)[i]->label, (*arr)[i]->label_len, label, len);
        if (c == 0)
            return (*arr)[i];
        if (sorted && c > 0 && pos == *n)
            pos = i;
    }
    struct rnode *k = calloc(1, sizeof(*k));
    struct rnode **na = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!k || !na) {
        free(k);
        if (na)
            *arr = na;
        return NULL;
    }
    *arr = na;
    k->label = label;
    k->label_len = len;
    memmove(&na[pos + 1], &na[pos], (*n - pos) * sizeof(*na));
    na[pos] = k;
    (*n)++;
    return k;
}

static int compile_pattern(struct croute *c, char *err, size_t errlen)
{
    const char *p = c->r.pattern;
    size_t len = strlen(p);
    if (len == 0 || p[0] != '/') {
        seterr(err, errlen, "route %s: pattern must start with '/'", p);
        return -1;
    }
    c->nseg = 0;
    c->trailing_slash = len > 1 && p[len - 1] == '/';
    size_t end = c->trailing_slash ? len - 1 : len;
    size_t i = 1;
    while (i < end) {
        size_t j = i;
        while (j < end && p[j] != '/')
            j++;
        if (j == i) {
            seterr(err, errlen, "route %s: empty segment", p);
            return -1;
        }
        if (c->nseg == MAX_PAT_SEGS) {
            seterr(err, errlen, "route %s: too many segments", p);
            return -1;
        }
        struct cseg *s = &c->seg[c->nseg++];
        const char *sp = p + i;
        size_t sl = j - i;
        const char *open = memchr(sp, '{', sl);
        if (!open) {
            if (memchr(sp, '}', sl)) {
                seterr(err, errlen, "route %s: stray '}'", p);
                return -1;
            }
            s->kind = SEG_STATIC;
            s->text = sp;
            s->len = sl;
        } else {
            const char *close = memchr(sp, '}', sl);
            if (open != sp || !close || close - sp < 2) {
                seterr(err, errlen, "route %s: malformed parameter", p);
                return -1;
            }
            size_t nlen = (size_t)(close - sp - 1);
            const char *after = close + 1;
            size_t alen = sl - (size_t)(after - sp);
            bool rest = nlen > 2 && sp[nlen - 1] == ':' && sp[nlen] == '*';
            if (rest) {
                nlen -= 2;
                if (alen != 0) {
                    seterr(err, errlen, "route %s: text after a rest parameter", p);
                    return -1;
                }
                s->kind = SEG_REST;
            } else if (alen > 0) {
                if (memchr(after, '{', alen) || memchr(after, '}', alen)) {
                    seterr(err, errlen, "route %s: two parameters in one segment", p);
                    return -1;
                }
                s->kind = SEG_SUFFIX;
                s->text = after;
                s->len = alen;
            } else {
                s->kind = SEG_PARAM;
            }
            for (size_t k = 0; k < nlen; k++) {
                char ch = sp[1 + k];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_')) {
                    seterr(err, errlen, "route %s: bad parameter name", p);
                    return -1;
                }
            }
            s->name = strndup(sp + 1, nlen);
            if (!s->name) {
                seterr(err, errlen, "out of memory");
                return -1;
            }
        }
        i = j + 1;
    }
    c->rest_at = c->nseg;
    size_t nparams = 0;
    for (size_t k = 0; k < c->nseg; k++) {
        if (c->seg[k].kind == SEG_REST && c->rest_at == c->nseg)
            c->rest_at = k;
        if (c->seg[k].kind != SEG_STATIC)
            nparams++;
    }
    if (nparams > ROUTE_MAX_PARAMS) {
        seterr(err, errlen, "route %s: more than %d parameters", p, ROUTE_MAX_PARAMS);
        return -1;
    }
    return 0;
}

static int trie_insert(const struct croute *c, char *err, size_t errlen)
{
    struct rnode *n = g_root;
    for (size_t k = 0; k < c->rest_at; k++) {
        const struct cseg *s = &c->seg[k];
        struct rnode *next = NULL;
        if (s->kind == SEG_STATIC) {
            next = child_get(&n->stat, &n->nstat, s->text, s->len, true);
        } else if (s->kind == SEG_SUFFIX) {
            next = child_get(&n->sfx, &n->nsfx, s->text, s->len, false);
        } else {
            if (!n->param)
                n->param = calloc(1, sizeof(*n->param));
            next = n->param;
        }
        if (!next) {
            seterr(err, errlen, "out of memory");
            return -1;
        }
        n = next;
    }
    if (c->rest_at < c->nseg) {
        const struct croute **ng = realloc(n->glob, (n->nglob + 1) * sizeof(*ng));
        if (!ng) {
            seterr(err, errlen, "out of memory");
            return -1;
        }
        n->glob = ng;
        for (size_t i = 0; i < n->nglob; i++) {
            const struct croute *o = n->glob[i];
            if (o->r.method == c->r.method && strcmp(o->r.pattern, c->r.pattern) == 0) {
                seterr(err, errlen, "duplicate route %s %s", http1_method_name(c->r.method),
                       c->r.pattern);
                return -1;
            }
        }
        ng[n->nglob++] = c;
        return 0;
    }
    const struct croute **slot =
        c->trailing_slash ? &n->term_slash[c->r.method] : &n->term[c->r.method];
    if (*slot) {
        seterr(err, errlen, "duplicate route %s %s (same shape as %s)",
               http1_method_name(c->r.method), c->r.pattern, (*slot)->r.pattern);
        return -1;
    }
    *slot = c;
    return 0;
}

void routes_deinit(void)
{
    node_free(g_root);
    g_root = NULL;
    for (size_t i = 0; i < g_nroutes; i++) {
        free((char *)g_routes[i].r.pattern);
        for (size_t k = 0; k < g_routes[i].nseg; k++)
            free(g_routes[i].seg[k].name);
    }
    free(g_routes);
    g_routes = NULL;
    g_nroutes = 0;
}

static enum route_body spec_body(const struct route_spec *s)
{
    switch (s->body) {
    case ROUTE_SB_NONE:
        return ROUTE_BODY_NONE;
    case ROUTE_SB_JSON:
        return ROUTE_BODY_JSON;
    case ROUTE_SB_STREAM:
        return ROUTE_BODY_STREAM;
    case ROUTE_SB_OTLP:
        return ROUTE_BODY_OTLP;
    case ROUTE_SB_DEFAULT:
        break;
    }
    return s->method == HTTP1_M_GET ? ROUTE_BODY_NONE : ROUTE_BODY_JSON;
}

static int expand(const struct route_spec *s, int variant, struct croute *c, char *err,
                  size_t errlen)
{
    char buf[512];
    const char *prefix = NULL;
    switch (s->fam) {
    case ROUTE_FAM_BOTH:
        prefix = variant == 0 ? "/api" : "/ajax-api";
        break;
    case ROUTE_FAM_API:
        prefix = "/api";
        break;
    case ROUTE_FAM_AJAX:
        prefix = "/ajax-api";
        break;
    case ROUTE_FAM_ROOT:
        break;
    }
    int n = prefix ? snprintf(buf, sizeof(buf), "%s/%d.0%s", prefix, s->ver, s->path)
                   : snprintf(buf, sizeof(buf), "%s", s->path);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        seterr(err, errlen, "route %s: pattern too long", s->path);
        return -1;
    }
    memset(c, 0, sizeof(*c));
    c->r.method = s->method;
    c->r.pattern = strdup(buf);
    if (!c->r.pattern) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    c->r.action = s->action;
    c->r.access = s->access;
    for (size_t k = 0; k < ROUTE_MAX_CHECKS && s->checks[k].object != ROUTE_OBJ_NONE; k++)
        c->r.checks[c->r.nchecks++] = s->checks[k];
    c->r.filter = s->filter;
    c->r.body = spec_body(s);
    c->r.ajax = strncmp(buf, "/ajax-api/", 10) == 0;
    c->r.fastapi = s->fastapi;
    c->r.note = s->note;
    return 0;
}

static int check_spec(const struct route *r, char *err, size_t errlen)
{
    if (r->method == HTTP1_M_UNKNOWN || r->method == HTTP1_M_HEAD || r->method == HTTP1_M_OPTIONS ||
        (unsigned)r->method >= NMETHODS) {
        seterr(err, errlen, "route %s: method must be GET, POST, PUT, PATCH or DELETE", r->pattern);
        return -1;
    }
    if (!r->action || !*r->action) {
        seterr(err, errlen, "route %s: no action", r->pattern);
        return -1;
    }
    if ((r->access == ROUTE_OBJECT) != (r->nchecks > 0)) {
        seterr(err, errlen, "route %s %s: object routes need checks, others none",
               http1_method_name(r->method), r->pattern);
        return -1;
    }
    if (r->access == ROUTE_PUBLIC && r->method != HTTP1_M_GET) {
        seterr(err, errlen, "route %s: only GET routes may be public", r->pattern);
        return -1;
    }
    for (size_t k = 0; k < r->nchecks; k++) {
        const struct route_check *ck = &r->checks[k];
        if (!ck->field || !*ck->field || ck->loc == ROUTE_ID_NONE) {
            seterr(err, errlen, "route %s: check without an id location", r->pattern);
            return -1;
        }
        int kind = route_object_kind(ck->object);
        if (kind < 0 || !policy_priv_applies(ck->priv, (enum policy_kind)kind) ||
            ck->priv == POLICY_PRIV_ALL_PRIVILEGES) {
            seterr(err, errlen, "route %s: privilege %s does not apply to a %s", r->pattern,
                   policy_priv_name(ck->priv), route_object_name(ck->object));
            return -1;
        }
        /* MLflow reads ids from the query on GET only, except its Flask-only UI upload
         * route, which reads run_uuid from the query of a POST. */
        if (ck->loc == ROUTE_ID_QUERY && r->method != HTTP1_M_GET &&
            strcmp(r->action, "uploadArtifact") != 0) {
            seterr(err, errlen, "route %s %s: query ids only on GET routes (%s)",
                   http1_method_name(r->method), r->pattern, ck->field);
            return -1;
        }
    }
    return 0;
}

static int check_path_params(const struct croute *c, char *err, size_t errlen)
{
    for (size_t k = 0; k < c->r.nchecks; k++) {
        const struct route_check *ck = &c->r.checks[k];
        if (ck->loc != ROUTE_ID_PATH)
            continue;
        bool found = false;
        for (size_t s = 0; s < c->nseg; s++)
            if (c->seg[s].name && strcmp(c->seg[s].name, ck->field) == 0)
                found = true;
        if (!found) {
            seterr(err, errlen, "route %s: no path parameter {%s}", c->r.pattern, ck->field);
            return -1;
        }
    }
    return 0;
}

int routes_init(char *err, size_t errlen)
{
    if (g_root)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < route_specs_count; i++)
        total += route_specs[i].fam == ROUTE_FAM_BOTH ? 2 : 1;
    g_routes = calloc(total, sizeof(*g_routes));
    g_root = calloc(1, sizeof(*g_root));
    if (!g_routes || !g_root) {
        seterr(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < route_specs_count; i++) {
        int nvar = route_specs[i].fam == ROUTE_FAM_BOTH ? 2 : 1;
        for (int v = 0; v < nvar; v++) {
            struct croute *c = &g_routes[g_nroutes];
            if (expand(&route_specs[i], v, c, err, errlen) < 0)
                goto fail;
            g_nroutes++;
            c->index = g_nroutes - 1;
            if (check_spec(&c->r, err, errlen) < 0 || compile_pattern(c, err, errlen) < 0 ||
                check_path_params(c, err, errlen) < 0 || trie_insert(c, err, errlen) < 0)
                goto fail;
        }
    }
    return 0;
fail:
    routes_deinit();
    return -1;
}

/* ---------------------------------------------------------------- matching */

struct span {
    size_t from, to; /* segment indices [from, to) */
};

static bool seg_eq(struct target_str s, const char *text, size_t len)
{
    return s.len == len && memcmp(s.ptr, text, len) == 0;
}

static bool suffix_fits(struct target_str s, const char *sfx, size_t len)
{
    return s.len > len && memcmp(s.ptr + s.len - len, sfx, len) == 0;
}

/* Matches pattern segments p[0..np) against path segments [i, nseg) of t; cap[k] receives
 * the span matched by p[k]. REST takes as many segments as it can (greedy). */
static bool glob_match(const struct cseg *p, size_t np, const struct target *t, size_t i,
                       struct span *cap)
{
    if (np == 0)
        return i == t->nseg;
    if (p->kind == SEG_REST) {
        for (size_t end = t->nseg; end > i; end--) {
            if (glob_match(p + 1, np - 1, t, end, cap + 1)) {
                cap->from = i;
                cap->to = end;
                return true;
            }
        }
        return false;
    }
    if (i >= t->nseg)
        return false;
    struct target_str s = t->seg[i];
    if (p->kind == SEG_STATIC) {
        if (!seg_eq(s, p->text, p->len))
            return false;
    } else {
        if (t->seg_flags[i] & TARGET_SEG_BACKSLASH)
            return false;
        if (p->kind == SEG_SUFFIX && !suffix_fits(s, p->text, p->len))
            return false;
    }
    cap->from = i;
    cap->to = i + 1;
    return glob_match(p + 1, np - 1, t, i + 1, cap + 1);
}

/* Whether candidate a takes precedence over b (see routes.h). */
static bool better(const struct croute *a, const struct croute *b)
{
    if (!b)
        return true;
    if (a->r.fastapi != b->r.fastapi)
        return a->r.fastapi;
    if (a->r.fastapi)
        return a->index < b->index;
    size_t n = a->nseg < b->nseg ? a->nseg : b->nseg;
    for (size_t k = 0; k < n; k++)
        if (a->seg[k].kind != b->seg[k].kind)
            return a->seg[k].kind < b->seg[k].kind;
    return a->index < b->index;
}

static void consider(const struct croute *c, const struct croute **best)
{
    if (c && better(c, *best))
        *best = c;
}

static void walk(const struct rnode *n, const struct target *t, size_t i, enum http1_method m,
                 const struct croute **best)
{
    if (i == t->nseg) {
        consider(t->trailing_slash ? n->term_slash[m] : n->term[m], best);
        return;
    }
    struct target_str s = t->seg[i];
    /* static children: binary search by (length, bytes) */
    size_t lo = 0, hi = n->nstat;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = label_cmp(n->stat[mid]->label, n->stat[mid]->label_len, s.ptr, s.len);
        if (c == 0) {
            walk(n->stat[mid], t, i + 1, m, best);
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool bs = (t->seg_flags[i] & TARGET_SEG_BACKSLASH) != 0;
    if (!bs) {
        for (size_t k = 0; k < n->nsfx; k++)
            if (suffix_fits(s, n->sfx[k]->label, n->sfx[k]->label_len))
                walk(n->sfx[k], t, i + 1, m, best);
        if (n->param)
            walk(n->param, t, i + 1, m, best);
    }
    struct span cap[MAX_PAT_SEGS];
    for (size_t k = 0; k < n->nglob; k++) {
        const struct croute *c = n->glob[k];
        if (c->r.method != m || c->trailing_slash != t->trailing_slash)
            continue;
        if (*best && !better(c, *best))
            continue;
        if (glob_match(&c->seg[c->rest_at], c->nseg - c->rest_at, t, i, cap))
            consider(c, best);
    }
}

static struct target_str span_view(const struct target *t, struct span sp)
{
    struct target_str v;
    v.ptr = t->seg[sp.from].ptr;
    v.len = (size_t)(t->seg[sp.to - 1].ptr + t->seg[sp.to - 1].len - v.ptr);
    return v;
}

static void fill_params(const struct croute *c, const struct target *t, struct route_match *out)
{
    struct span cap[MAX_PAT_SEGS];
    out->nparams = 0;
    if (c->rest_at < c->nseg)
        glob_match(&c->seg[c->rest_at], c->nseg - c->rest_at, t, c->rest_at, cap);
    for (size_t k = 0; k < c->nseg; k++) {
        const struct cseg *s = &c->seg[k];
        if (s->kind == SEG_STATIC)
            continue;
        struct target_str v = k < c->rest_at ? t->seg[k] : span_view(t, cap[k - c->rest_at]);
        if (s->kind == SEG_SUFFIX)
            v.len -= s->len; /* "{x}:lit": the parameter is what precedes the suffix */
        out->params[out->nparams].name = s->name;
        out->params[out->nparams].value = v;
        out->nparams++;
    }
}

int routes_match(enum http1_method m, const struct target *t, struct route_match *out)
{
    if (!g_root || !t || !out)
        return -1;
    if (m == HTTP1_M_HEAD)
        m = HTTP1_M_GET;
    if ((unsigned)m >= NMETHODS || m == HTTP1_M_UNKNOWN)
        return -1;
    const struct croute *best = NULL;
    walk(g_root, t, 0, m, &best);
    if (!best)
        return -1;
    out->route = &best->r;
    fill_params(best, t, out);
    return 0;
}

const struct target_str *route_match_param(const struct route_match *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i].value;
    return NULL;
}

size_t routes_count(void)
{
    return g_nroutes;
}

const struct route *routes_at(size_t i)
{
    return i < g_nroutes ? &g_routes[i].r : NULL;
}

/* ---------------------------------------------------------------- names and dumps */

int route_object_kind(enum route_object o)
{
    switch (o) {
    case ROUTE_OBJ_EXPERIMENT:
    case ROUTE_OBJ_EXPERIMENT_NAME:
    case ROUTE_OBJ_RUN:
    case ROUTE_OBJ_TRACE:
    case ROUTE_OBJ_LOGGED_MODEL:
    case ROUTE_OBJ_DATASET:
    case ROUTE_OBJ_ARTIFACT_PATH:
    case ROUTE_OBJ_LABEL_SCHEMA:
    case ROUTE_OBJ_REVIEW_QUEUE:
    case ROUTE_OBJ_ISSUE:
    case ROUTE_OBJ_JOB:
        return POLICY_KIND_EXPERIMENT;
    case ROUTE_OBJ_MODEL:
    case ROUTE_OBJ_GATEWAY_ENDPOINT:
        return POLICY_KIND_MODEL;
    case ROUTE_OBJ_NEW_EXPERIMENT:
    case ROUTE_OBJ_NEW_MODEL:
        return POLICY_KIND_SCHEMA;
    case ROUTE_OBJ_NONE:
    case ROUTE_OBJ_COUNT:
        break;
    }
    return -1;
}

const char *route_object_name(enum route_object o)
{
    static const char *const n[ROUTE_OBJ_COUNT] = {
        [ROUTE_OBJ_NONE] = "none",
        [ROUTE_OBJ_EXPERIMENT] = "experiment",
        [ROUTE_OBJ_EXPERIMENT_NAME] = "experiment-name",
        [ROUTE_OBJ_RUN] = "run",
        [ROUTE_OBJ_TRACE] = "trace",
        [ROUTE_OBJ_LOGGED_MODEL] = "logged-model",
        [ROUTE_OBJ_DATASET] = "dataset",
        [ROUTE_OBJ_ARTIFACT_PATH] = "artifact-path",
        [ROUTE_OBJ_LABEL_SCHEMA] = "label-schema",
        [ROUTE_OBJ_REVIEW_QUEUE] = "review-queue",
        [ROUTE_OBJ_ISSUE] = "issue",
        [ROUTE_OBJ_JOB] = "job",
        [ROUTE_OBJ_MODEL] = "model",
        [ROUTE_OBJ_GATEWAY_ENDPOINT] = "gateway-endpoint",
        [ROUTE_OBJ_NEW_EXPERIMENT] = "new-experiment",
        [ROUTE_OBJ_NEW_MODEL] = "new-model",
    };
    return (unsigned)o < ROUTE_OBJ_COUNT ? n[o] : "?";
}

const char *route_access_name(enum route_access a)
{
    static const char *const n[] = {"public", "authenticated", "object", "admin", "denied"};
    return (unsigned)a < sizeof(n) / sizeof(n[0]) ? n[a] : "?";
}

const char *route_filter_name(enum route_filter f)
{
    static const char *const n[ROUTE_FILTER_COUNT] = {
        [ROUTE_FILTER_NONE] = "",
        [ROUTE_FILTER_EXPERIMENTS] = "experiments",
        [ROUTE_FILTER_MODELS] = "models",
        [ROUTE_FILTER_MODEL_VERSIONS] = "model-versions",
        [ROUTE_FILTER_DATASETS] = "datasets",
        [ROUTE_FILTER_GRAPHQL] = "graphql",
        [ROUTE_FILTER_GATEWAY_ENDPOINTS] = "gateway-endpoints",
    };
    return (unsigned)f < ROUTE_FILTER_COUNT ? n[f] : "?";
}

const char *route_id_loc_name(enum route_id_loc l)
{
    static const char *const n[] = {"none", "query", "body", "path", "header"};
    return (unsigned)l < sizeof(n) / sizeof(n[0]) ? n[l] : "?";
}

const char *route_body_name(enum route_body b)
{
    static const char *const n[] = {"none", "json", "stream", "otlp"};
    return (unsigned)b < sizeof(n) / sizeof(n[0]) ? n[b] : "?";
}

static const char *kind_label(enum route_object o)
{
    int k = route_object_kind(o);
    return k < 0 ? "-" : policy_kind_name((enum policy_kind)k);
}

void routes_dump_markdown(FILE *f)
{
    fprintf(f, "| Action | Method | Path | Access | Securable (id) | Privilege | Filtered |\n");
    fprintf(f, "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < g_nroutes; i++) {
        const struct route *r = &g_routes[i].r;
        fprintf(f, "| %s | %s | `%s` | %s | ", r->action, http1_method_name(r->method), r->pattern,
                route_access_name(r->access));
        if (r->nchecks == 0)
            fprintf(f, "- | - |");
        for (size_t k = 0; k < r->nchecks; k++) {
            const struct route_check *c = &r->checks[k];
            fprintf(f, "%s%s via %s (%s `%s`%s%s)", k ? "; " : "", kind_label(c->object),
                    route_object_name(c->object), route_id_loc_name(c->loc), c->field,
                    c->many ? ", each" : "", c->optional ? ", if given" : "");
        }
        if (r->nchecks) {
            fprintf(f, " | ");
            for (size_t k = 0; k < r->nchecks; k++)
                fprintf(f, "%s%s", k ? "; " : "", policy_priv_name(r->checks[k].priv));
            fprintf(f, " |");
        }
        fprintf(f, " %s |\n", r->filter ? route_filter_name(r->filter) : "no");
    }
}

void routes_dump_tsv(FILE *f)
{
    fprintf(f, "method\tpattern\taction\taccess\tchecks\tfilter\tbody\tfastapi\n");
    for (size_t i = 0; i < g_nroutes; i++) {
        const struct route *r = &g_routes[i].r;
        fprintf(f, "%s\t%s\t%s\t%s\t", http1_method_name(r->method), r->pattern, r->action,
                route_access_name(r->access));
        for (size_t k = 0; k < r->nchecks; k++) {
            const struct route_check *c = &r->checks[k];
            fprintf(f, "%s%s:%s:%s:%s%s%s", k ? ";" : "", route_object_name(c->object),
                    route_id_loc_name(c->loc), c->field, policy_priv_name(c->priv),
                    c->many ? ":many" : "", c->optional ? ":optional" : "");
        }
        fprintf(f, "\t%s\t%s\t%s\n", route_filter_name(r->filter), route_body_name(r->body),
                r->fastapi ? "yes" : "no");
    }
}
