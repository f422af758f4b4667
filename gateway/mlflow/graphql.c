/*
 * graphql: GraphQL documents read as graphql-core 3.2 reads them, validated against MLflow's
 * schema, planned for authorisation, and MLflow's answers filtered (see graphql.h for the
 * rules). Pure: no I/O, clocks or globals; any thread.
 *
 * One call works in a struct gq (graphql_doc.h). Passes, in order: parse (graphql_doc.c),
 * document rules and MLflow's limits (graphql_rules.c), operation selection, variable
 * coercion (graphql_rules.c), then a typed walk of every operation (here) that merges fields
 * by response key the way execution collects them; only the selected operation's walk fills
 * the plan. The answer filter is at the end.
 */
#include "mlflow/graphql.h"

#include "mlflow/graphql_doc.h"
#include "mlflow/graphql_schema.h"
#include "mlflow/lookup.h"
#include "mlflow/naming.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the plan */

static int plan_refuse(struct gq *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the plan admin-only (first reason kept). */
static int plan_refuse(struct gq *g, const char *fmt, ...)
{
    struct graphql_plan *p = g->plan;
    if (p && !p->admin_only) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->admin_reason, sizeof(p->admin_reason), fmt, ap);
        va_end(ap);
        p->admin_only = true;
    }
    return 0;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int add_check(struct gq *g, enum route_object obj, const char *id, size_t len,
                     const char *field)
{
    struct graphql_plan *p = g->plan;
    for (size_t i = 0; i < p->nchecks; i++)
        if (p->checks[i].object == obj && p->checks[i].id_len == len &&
            memcmp(p->checks[i].id, id, len) == 0)
            return 0;
    if (p->nchecks >= GRAPHQL_MAX_CHECKS)
        return gq_fail(g, "GraphQL request names more than %d objects", GRAPHQL_MAX_CHECKS);
    struct graphql_check *n = realloc(p->checks, (p->nchecks + 1) * sizeof(*n));
    if (!n)
        return gq_fail(g, "out of memory");
    p->checks = n;
    n = &p->checks[p->nchecks];
    memset(n, 0, sizeof(*n));
    if (!(n->id = dupn(id, len)))
        return gq_fail(g, "out of memory");
    n->object = obj;
    n->priv = POLICY_PRIV_READ;
    n->id_len = len;
    n->field = field;
    p->nchecks++;
    return 0;
}

/* One id of a root field's input: experiment ids canonical decimal, run ids clean text. */
static int add_id(struct gq *g, enum route_object obj, const json_t *v, const char *field,
                  const char *member)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return gq_fail(g, "%s needs input.%s", field, member);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (obj == ROUTE_OBJ_EXPERIMENT && !lookup_is_experiment_id(s, n))
        return gq_fail(g, "%s: input.%s must be canonical decimal experiment ids", field, member);
    if (obj == ROUTE_OBJ_RUN && (n > LOOKUP_ID_MAX || !naming_is_clean_text(s, n)))
        return gq_fail(g, "%s: input.%s is not a valid run id", field, member);
    return add_check(g, obj, s, n, field);
}

static int add_ids(struct gq *g, enum route_object obj, const json_t *input, const char *field,
                   const char *member)
{
    const json_t *list = json_object_get(input, member);
    size_t i;
    const json_t *v;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return gq_fail(g, "%s needs a non-empty input.%s", field, member);
    json_array_foreach(list, i, v) if (add_id(g, obj, v, field, member) < 0) return -1;
    return 0;
}

/* MLflow's `run_id or run_uuid`: the first non-empty one; two different ones are refused. */
static int add_run(struct gq *g, const json_t *input, const char *field)
{
    const json_t *a = json_object_get(input, "runId"), *b = json_object_get(input, "runUuid");
    bool ha = json_is_string(a) && json_string_length(a) > 0;
    bool hb = json_is_string(b) && json_string_length(b) > 0;
    if (ha && hb && !json_equal((json_t *)a, (json_t *)b))
        return gq_fail(g, "%s: input.runId and input.runUuid name different runs", field);
    if (!ha && !hb)
        return gq_fail(g, "%s needs input.runId", field);
    return add_id(g, ROUTE_OBJ_RUN, ha ? a : b, field, ha ? "runId" : "runUuid");
}

/* The checks of one root field (schema name `field`) given its coerced `input` argument. */
static int classify_root(struct gq *g, const char *field, const json_t *input,
                         enum graphql_root_kind *kind)
{
    *kind = GRAPHQL_ROOT_CHECKED;
    if (!strcmp(field, "mlflowSearchModelVersions")) {
        *kind = GRAPHQL_ROOT_ADMIN_ONLY;
        return plan_refuse(g, "mlflowSearchModelVersions is admin-only: its pages cannot be "
                              "filtered without revealing hidden versions; use "
                              "/api/2.0/mlflow/model-versions/search");
    }
    if (!strcmp(field, "test") || !strcmp(field, "testMutation")) {
        *kind = GRAPHQL_ROOT_META;
        return 0;
    }
    if (!json_is_object(input))
        return gq_fail(g, "%s needs its input argument", field);
    if (!strcmp(field, "mlflowGetExperiment"))
        return add_id(g, ROUTE_OBJ_EXPERIMENT, json_object_get(input, "experimentId"), field,
                      "experimentId");
    if (!strcmp(field, "mlflowGetRun") || !strcmp(field, "mlflowListArtifacts"))
        return add_run(g, input, field);
    if (!strcmp(field, "mlflowGetMetricHistoryBulkInterval"))
        return add_ids(g, ROUTE_OBJ_RUN, input, field, "runIds");
    if (!strcmp(field, "mlflowSearchRuns") || !strcmp(field, "mlflowSearchDatasets"))
        return add_ids(g, ROUTE_OBJ_EXPERIMENT, input, field, "experimentIds");
    /* a root field this table does not know (a newer schema): nothing can vouch for it */
    *kind = GRAPHQL_ROOT_ADMIN_ONLY;
    return plan_refuse(g, "root field %s is admin-only", field);
}

static int add_root(struct gq *g, const struct group *gr, const char *field,
                    enum graphql_root_kind kind)
{
    struct graphql_plan *p = g->plan;
    struct graphql_root *n = realloc(p->roots, (p->nroots + 1) * sizeof(*n));
    if (!n)
        return gq_fail(g, "out of memory");
    p->roots = n;
    n = &p->roots[p->nroots];
    n->field = field;
    n->kind = kind;
    if (!(n->response_key = dupn(gr->key.s, gr->key.len)))
        return gq_fail(g, "out of memory");
    p->nroots++;
    return 0;
}

/* A model-version list at the current path: its items are filtered by the response key of
 * their `name` field (the first one selected). */
static int add_filter(struct gq *g, const struct glist *items)
{
    struct graphql_plan *p = g->plan;
    const struct group *name = NULL;
    for (const struct group *gr = items->head; gr && !name; gr = gr->next)
        if (gq_name_eq(gr->field, "name"))
            name = gr;
    if (!name)
        return plan_refuse(g,
                           "a list of model versions (%.*s) must select the model's name so "
                           "Warden can filter it",
                           NM(g->path[g->depth - 1]));
    struct graphql_filter *n = realloc(p->filters, (p->nfilters + 1) * sizeof(*n));
    if (!n)
        return gq_fail(g, "out of memory");
    p->filters = n;
    n = &p->filters[p->nfilters];
    memset(n, 0, sizeof(*n));
    p->nfilters++;
    n->object = ROUTE_OBJ_MODEL;
    if (!(n->path = calloc(g->depth, sizeof(char *))))
        return gq_fail(g, "out of memory");
    for (size_t i = 0; i < g->depth; i++) {
        if (!(n->path[i] = dupn(g->path[i].s, g->path[i].len)))
            return gq_fail(g, "out of memory");
        n->depth = i + 1;
    }
    if (!(n->key = dupn(name->key.s, name->key.len)))
        return gq_fail(g, "out of memory");
    return 0;
}

/* ---------------------------------------------------------------- typed walk */

static int collect(struct gq *g, const struct gs_type *type, const struct gselset *set,
                   struct glist *out, unsigned gen)
{
    for (struct gsel *s = set->head; s; s = s->next) {
        if (++g->work > GRAPHQL_MAX_WORK)
            return gq_fail(g, "GraphQL document too complex");
        if (s->kind == S_FIELD) {
            struct gname key = s->alias.len ? s->alias : s->name;
            struct group *gr;
            for (gr = out->head; gr; gr = gr->next)
                if (gq_names_eq(gr->key, key))
                    break;
            if (gr && !gq_names_eq(gr->field, s->name))
                return gq_fail(g,
                               "fields '%.*s' conflict because '%.*s' and '%.*s' are different "
                               "fields",
                               NM(key), NM(gr->field), NM(s->name));
            if (!gr) {
                if (!(gr = gq_alloc(g, sizeof(*gr))))
                    return -1;
                gr->key = key;
                gr->field = s->name;
                if (out->tail)
                    out->tail->next = gr;
                else
                    out->head = gr;
                out->tail = gr;
            }
            struct fref *r = gq_alloc(g, sizeof(*r));
            if (!r)
                return -1;
            r->sel = s;
            if (gr->tail)
                gr->tail->next = r;
            else
                gr->head = r;
            gr->tail = r;
            continue;
        }
        struct gname cond;
        const struct gselset *sub;
        if (s->kind == S_INLINE) {
            cond = s->name;
            sub = s->set;
        } else {
            struct gfrag *f = gq_frag_find(g, s->name);
            if (f->gen == gen)
                continue;
            f->gen = gen;
            cond = f->type_cond;
            sub = f->set;
        }
        if (cond.len) {
            const struct gs_type *ct = gs_type_find(cond.s, cond.len);
            if (!ct)
                return gq_fail(g, "unknown type '%.*s'", NM(cond));
            if (ct->kind != GS_OBJECT)
                return gq_fail(g, "fragment cannot condition on non composite type '%.*s'",
                               NM(cond));
            if (ct != type)
                return gq_fail(g,
                               "fragment cannot be spread here as objects of type '%s' can "
                               "never be of type '%.*s'",
                               type->name, NM(cond));
        }
        if (collect(g, type, sub, out, gen) < 0)
            return -1;
    }
    return 0;
}

static int walk(struct gq *g, const struct gs_type *type, const struct glist *groups, bool root);

/* Whether two literals print the same (graphql-core compares printed values): same kind and
 * text, block and quoted strings told apart, object members in order. */
static bool val_same(const struct gval *a, const struct gval *b)
{
    if (a->kind != b->kind || a->len != b->len || (a->len && memcmp(a->s, b->s, a->len) != 0) ||
        a->b != b->b || !gq_names_eq(a->fname, b->fname))
        return false;
    if (a->kind == V_STRING && a->block != b->block)
        return false;
    const struct gval *x = a->items, *y = b->items;
    for (; x && y; x = x->next, y = y->next)
        if (!val_same(x, y))
            return false;
    return !x && !y;
}

/* OverlappingFieldsCanBeMergedRule's same_arguments: the same names with the same values. */
static bool args_same(const struct garg *a, const struct garg *b)
{
    size_t na = 0, nb = 0;
    for (const struct garg *x = a; x; x = x->next)
        na++;
    for (const struct garg *y = b; y; y = y->next)
        nb++;
    if (na != nb)
        return false;
    for (const struct garg *x = a; x; x = x->next) {
        const struct garg *y;
        for (y = b; y; y = y->next)
            if (gq_names_eq(x->name, y->name))
                break;
        if (!y || !val_same(x->value, y->value))
            return false;
    }
    return true;
}

static int walk_group(struct gq *g, const struct gs_type *type, const struct group *gr, bool root)
{
    bool extract = root && g->plan;
    for (const struct fref *r = gr->head->next; r; r = r->next)
        if (!args_same(gr->head->sel->args, r->sel->args))
            return gq_fail(g, "fields '%.*s' conflict because they have differing arguments",
                           NM(gr->key));
    if (gq_name_eq(gr->field, "__typename")) {
        for (const struct fref *r = gr->head; r; r = r->next)
            if (r->sel->args || r->sel->set)
                return gq_fail(g, "__typename takes no arguments and no selection set");
        return extract ? add_root(g, gr, "__typename", GRAPHQL_ROOT_META) : 0;
    }
    if (root && !strcmp(type->name, "Query") &&
        (gq_name_eq(gr->field, "__schema") || gq_name_eq(gr->field, "__type"))) {
        /* introspection: schema data only; its inside is not walked */
        for (const struct fref *r = gr->head; r; r = r->next)
            if (!r->sel->set)
                return gq_fail(g, "field '%.*s' must have a selection of subfields", NM(gr->field));
        return extract ? add_root(g, gr, gq_name_eq(gr->field, "__schema") ? "__schema" : "__type",
                                  GRAPHQL_ROOT_META)
                       : 0;
    }
    const struct gs_field *fd = gs_field_find(type, gr->field.s, gr->field.len);
    if (!fd)
        return gq_fail(g, "cannot query field '%.*s' on type '%s'", NM(gr->field), type->name);
    const struct tref *ft = gq_schema_type(g, fd->type);
    const struct tref *at = fd->arg ? gq_schema_type(g, fd->arg_type) : NULL;
    if (!ft || (fd->arg && !at))
        return -1;
    const struct gs_type *nt = gq_type_of(ft);
    if (!nt)
        return gq_fail(g, "internal: unknown type %s", fd->type);
    enum graphql_root_kind kind = GRAPHQL_ROOT_CHECKED;
    for (const struct fref *r = gr->head; r; r = r->next) {
        const struct garg *arg = NULL;
        for (const struct garg *a = r->sel->args; a; a = a->next) {
            if (!fd->arg || !gq_name_eq(a->name, fd->arg))
                return gq_fail(g, "unknown argument '%.*s' on field '%s.%s'", NM(a->name),
                               type->name, fd->name);
            arg = a;
        }
        json_t *value = NULL;
        if (arg) {
            char where[96];
            snprintf(where, sizeof(where), "%s(%s)", fd->name, fd->arg);
            if (gq_coerce_literal(g, arg->value, at, false, where, &value) < 0)
                return -1;
        } else if (at && at->kind == TR_NONNULL) {
            return gq_fail(g, "field '%s' argument '%s' is required", fd->name, fd->arg);
        }
        if (extract && classify_root(g, fd->name, value, &kind) < 0) {
            json_decref(value);
            return -1;
        }
        json_decref(value);
        if (nt->kind == GS_OBJECT && !r->sel->set)
            return gq_fail(g, "field '%s' of type '%s' must have a selection of subfields",
                           fd->name, fd->type);
        if (nt->kind != GS_OBJECT && r->sel->set)
            return gq_fail(g,
                           "field '%s' must not have a selection since type '%s' has no "
                           "subfields",
                           fd->name, fd->type);
    }
    if (extract && add_root(g, gr, fd->name, kind) < 0)
        return -1;
    if (nt->kind != GS_OBJECT)
        return 0;
    struct glist sub = {0};
    unsigned gen = ++g->gen;
    for (const struct fref *r = gr->head; r; r = r->next)
        if (collect(g, nt, r->sel->set, &sub, gen) < 0)
            return -1;
    if (g->depth >= PATH_MAX_DEPTH)
        return gq_fail(g, "query exceeds maximum depth of %d", GRAPHQL_MLFLOW_DEPTH);
    g->path[g->depth++] = gr->key;
    /* lists of model versions of any registered model: Run.modelVersions (the versions whose
     * source is the run) and the search answer's list */
    if (g->plan && !strcmp(nt->name, "MlflowModelVersion") &&
        ((!strcmp(type->name, "MlflowRunExtension") && !strcmp(fd->name, "modelVersions")) ||
         (!strcmp(type->name, "MlflowSearchModelVersionsResponse") &&
          !strcmp(fd->name, "modelVersions"))) &&
        add_filter(g, &sub) < 0)
        return -1;
    int r = walk(g, nt, &sub, false);
    g->depth--;
    return r;
}

static int walk(struct gq *g, const struct gs_type *type, const struct glist *groups, bool root)
{
    for (const struct group *gr = groups->head; gr; gr = gr->next)
        if (walk_group(g, type, gr, root) < 0)
            return -1;
    return 0;
}

static int walk_operation(struct gq *g, const struct gop *op)
{
    const struct gs_type *root = gs_type_find(op->op == GRAPHQL_OP_MUTATION ? "Mutation" : "Query",
                                              op->op == GRAPHQL_OP_MUTATION ? 8 : 5);
    struct glist groups = {0};
    g->op = op;
    g->depth = 0;
    if (gq_check_var_types(g, op) < 0)
        return -1;
    for (const struct gvardef *v = op->vars; v; v = v->next) {
        if (v->def) {
            char name[80];
            json_t *c = NULL, *saved = g->vars;
            snprintf(name, sizeof(name), "default of '$%.*s'", NM(v->name));
            g->vars = NULL;
            int r = gq_coerce_literal(g, v->def, v->type, false, name, &c);
            g->vars = saved;
            json_decref(c);
            if (r < 0)
                return -1;
        }
    }
    for (const struct gdir *d = op->dirs; d; d = d->next)
        for (const struct garg *a = d->args; a; a = a->next) {
            json_t *c = NULL;
            const struct tref *t = gq_schema_type(g, GS_DIRECTIVE_ARG_TYPE);
            if (!t || gq_coerce_literal(g, a->value, t, false, "@component(name)", &c) < 0)
                return -1;
            if (!c && g->vars)
                return gq_fail(g, "@component(name) was given a variable without a value");
            json_decref(c);
        }
    if (collect(g, root, op->set, &groups, ++g->gen) < 0)
        return -1;
    return walk(g, root, &groups, true);
}

/* ---------------------------------------------------------------- entry points */

const char *graphql_op_name(enum graphql_op op)
{
    switch (op) {
    case GRAPHQL_OP_QUERY:
        return "query";
    case GRAPHQL_OP_MUTATION:
        return "mutation";
    case GRAPHQL_OP_SUBSCRIPTION:
        return "subscription";
    }
    return "?";
}

void graphql_plan_free(struct graphql_plan *p)
{
    if (!p)
        return;
    free(p->operation_name);
    for (size_t i = 0; i < p->nroots; i++)
        free(p->roots[i].response_key);
    free(p->roots);
    for (size_t i = 0; i < p->nchecks; i++)
        free(p->checks[i].id);
    free(p->checks);
    for (size_t i = 0; i < p->nfilters; i++) {
        for (size_t k = 0; k < p->filters[i].depth; k++)
            free(p->filters[i].path[k]);
        free(p->filters[i].path);
        free(p->filters[i].key);
    }
    free(p->filters);
    memset(p, 0, sizeof(*p));
}

static int plan_core(const char *query, size_t qlen, const json_t *variables, const char *opname,
                     size_t oplen, struct graphql_plan *out, char *err, size_t errlen)
{
    struct gq g = {0};
    const struct gop *sel = NULL;
    g.err = err;
    g.errlen = errlen;
    g.src = query;
    g.len = qlen;
    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = '\0';
    if (qlen > GRAPHQL_MAX_DOCUMENT) {
        gq_fail(&g, "GraphQL document larger than %d bytes", GRAPHQL_MAX_DOCUMENT);
        goto fail;
    }
    for (size_t i = 0; i < qlen;) {
        uint32_t cp;
        size_t n = gq_utf8_seq((const unsigned char *)query + i, qlen - i, &cp);
        if (!n) {
            gq_fail(&g, "GraphQL document is not valid UTF-8 (byte %zu)", i);
            goto fail;
        }
        i += n;
    }
    if (variables && !json_is_object(variables) && !json_is_null(variables)) {
        gq_fail(&g, "GraphQL variables must be an object");
        goto fail;
    }
    if (gq_parse(&g) < 0 || gq_check_document(&g) < 0 || gq_check_limits(&g) < 0)
        goto fail;
    if (!opname) {
        if (g.nops > 1) {
            gq_fail(&g, "must provide operation name if query contains multiple operations");
            goto fail;
        }
        sel = g.ops;
    } else {
        for (const struct gop *op = g.ops; op; op = op->next)
            if (op->name.len && op->name.len == oplen && memcmp(op->name.s, opname, oplen) == 0)
                sel = op;
        if (!sel) {
            gq_fail(&g, "unknown operation named '%.*s'", (int)(oplen > 60 ? 60 : oplen), opname);
            goto fail;
        }
    }
    for (const struct gop *op = g.ops; op; op = op->next) {
        if (op == sel)
            continue;
        if (walk_operation(&g, op) < 0)
            goto fail;
    }
    g.op = sel;
    if (gq_check_var_types(&g, sel) < 0 ||
        gq_coerce_variables(&g, json_is_object(variables) ? variables : NULL) < 0)
        goto fail;
    g.plan = out;
    out->op = sel->op;
    if (sel->name.len && !(out->operation_name = dupn(sel->name.s, sel->name.len))) {
        gq_fail(&g, "out of memory");
        goto fail;
    }
    if (sel->op == GRAPHQL_OP_MUTATION)
        plan_refuse(&g, "GraphQL mutations are admin-only");
    if (walk_operation(&g, sel) < 0)
        goto fail;
    json_decref(g.vars);
    gq_arena_free(&g);
    return 0;
fail:
    json_decref(g.vars);
    gq_arena_free(&g);
    graphql_plan_free(out);
    if (errlen && !err[0])
        snprintf(err, errlen, "invalid GraphQL request");
    return -1;
}

int graphql_plan(const char *query, size_t qlen, const char *variables, size_t vlen,
                 const char *operation_name, struct graphql_plan *out, char *err, size_t errlen)
{
    json_t *vars = NULL;
    if (!query) {
        memset(out, 0, sizeof(*out));
        snprintf(err, errlen, "GraphQL request has no query");
        return -1;
    }
    if (variables && vlen) {
        json_error_t je;
        vars = json_loadb(variables, vlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!vars) {
            memset(out, 0, sizeof(*out));
            snprintf(err, errlen, "GraphQL variables are not valid JSON: %s", je.text);
            return -1;
        }
    }
    int r = plan_core(query, qlen, vars, operation_name,
                      operation_name ? strlen(operation_name) : 0, out, err, errlen);
    json_decref(vars);
    return r;
}

int graphql_plan_request(const char *body, size_t len, struct graphql_plan *out, char *err,
                         size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    int r = -1;
    memset(out, 0, sizeof(*out));
    if (!root) {
        snprintf(err, errlen, "GraphQL request is not a JSON object: %s", je.text);
        return -1;
    }
    const json_t *q = json_object_get(root, "query"), *v = json_object_get(root, "variables"),
                 *o = json_object_get(root, "operationName");
    if (!json_is_string(q))
        snprintf(err, errlen, "GraphQL request needs \"query\" as a string");
    else if (v && !json_is_object(v) && !json_is_null(v))
        snprintf(err, errlen, "GraphQL \"variables\" must be an object or null");
    else if (o && !json_is_string(o) && !json_is_null(o))
        snprintf(err, errlen, "GraphQL \"operationName\" must be a string or null");
    else
        r = plan_core(json_string_value(q), json_string_length(q), v,
                      json_is_string(o) ? json_string_value(o) : NULL,
                      json_is_string(o) ? json_string_length(o) : 0, out, err, errlen);
    json_decref(root);
    return r;
}

/* ---------------------------------------------------------------- answer filter */

struct fctx {
    const struct graphql_filter *f;
    graphql_visible_fn visible;
    void *ctx;
    char *err;
    size_t errlen;
};

static int filter_node(struct fctx *c, json_t *node, size_t i)
{
    if (json_is_null(node))
        return 0;
    if (i == c->f->depth) {
        if (!json_is_array(node)) {
            snprintf(c->err, c->errlen, "GraphQL answer: %s is not a list", c->f->path[i - 1]);
            return -1;
        }
        for (size_t k = json_array_size(node); k-- > 0;) {
            const json_t *item = json_array_get(node, k);
            const json_t *key = json_is_object(item) ? json_object_get(item, c->f->key) : NULL;
            bool keep =
                json_is_string(key) && json_string_length(key) > 0 &&
                c->visible(c->ctx, c->f->object, json_string_value(key), json_string_length(key));
            if (!keep && json_array_remove(node, k)) {
                snprintf(c->err, c->errlen, "out of memory");
                return -1;
            }
        }
        return 0;
    }
    if (json_is_array(node)) {
        size_t k;
        json_t *e;
        json_array_foreach(node, k, e) if (filter_node(c, e, i) < 0) return -1;
        return 0;
    }
    if (!json_is_object(node)) {
        snprintf(c->err, c->errlen, "GraphQL answer: %s is not an object",
                 i ? c->f->path[i - 1] : "data");
        return -1;
    }
    json_t *child = json_object_get(node, c->f->path[i]);
    return child ? filter_node(c, child, i + 1) : 0;
}

int graphql_filter_answer(const struct graphql_plan *p, const char *body, size_t len,
                          graphql_visible_fn visible, void *ctx, char **out, size_t *outlen,
                          char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    *out = NULL;
    *outlen = 0;
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "GraphQL answer is not a JSON object%s%s", root ? "" : ": ",
                 root ? "" : je.text);
        json_decref(root);
        return -1;
    }
    json_t *data = json_object_get(root, "data");
    if (data && !json_is_object(data) && !json_is_null(data)) {
        snprintf(err, errlen, "GraphQL answer: data is not an object");
        json_decref(root);
        return -1;
    }
    if (p->nfilters == 0) {
        json_decref(root);
        if (!(*out = dupn(body, len))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *outlen = len;
        return 0;
    }
    for (size_t i = 0; data && i < p->nfilters; i++) {
        struct fctx c = {&p->filters[i], visible, ctx, err, errlen};
        if (filter_node(&c, data, 0) < 0) {
            json_decref(root);
            return -1;
        }
    }
    *out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *outlen = strlen(*out);
    return 0;
}
