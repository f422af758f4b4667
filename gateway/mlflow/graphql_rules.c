/*
 * graphql_rules: the validation rules of graphql-core whose outcome changes what MLflow runs,
 * MLflow's own limits (graphql_no_batching) and the coercion of variables and literal values
 * against the compiled-in schema (see graphql_doc.h). Pure; any thread.
 */
#include "mlflow/graphql_doc.h"
#include "mlflow/graphql_schema.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- document rules */

struct gfrag *gq_frag_find(struct gq *g, struct gname n)
{
    for (struct gfrag *f = g->frags; f; f = f->next)
        if (gq_names_eq(f->name, n))
            return f;
    return NULL;
}

static int check_args_unique(struct gq *g, const struct garg *args)
{
    for (const struct garg *a = args; a; a = a->next)
        for (const struct garg *b = a->next; b; b = b->next)
            if (gq_names_eq(a->name, b->name))
                return gq_fail(g, "there can be only one argument named '%.*s'", NM(a->name));
    return 0;
}

/* Every selection of a set (recursively): no directives (MLflow's schema knows none but the
 * operation-level @component), known fragments, unique argument names. */
static int check_selections(struct gq *g, const struct gselset *set)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (++g->work > GRAPHQL_MAX_WORK)
            return gq_fail(g, "GraphQL document too complex");
        if (s->dirs)
            return gq_fail(g,
                           "unknown directive '@%.*s' (MLflow's schema declares only @component "
                           "on operations)",
                           NM(s->dirs->name));
        if (s->kind == S_SPREAD && !gq_frag_find(g, s->name))
            return gq_fail(g, "unknown fragment '%.*s'", NM(s->name));
        if (check_args_unique(g, s->args) < 0)
            return -1;
        if (s->set && check_selections(g, s->set) < 0)
            return -1;
    }
    return 0;
}

/* Cycle search over fragment spreads (NoFragmentCyclesRule). */
static int frag_cycles(struct gq *g, struct gfrag *f);

static int spreads_cycles(struct gq *g, const struct gselset *set)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (s->kind == S_SPREAD) {
            struct gfrag *t = gq_frag_find(g, s->name);
            if (t->color == 1)
                return gq_fail(g, "cannot spread fragment '%.*s' within itself", NM(t->name));
            if (t->color == 0 && frag_cycles(g, t) < 0)
                return -1;
        } else if (s->set && spreads_cycles(g, s->set) < 0) {
            return -1;
        }
    }
    return 0;
}

static int frag_cycles(struct gq *g, struct gfrag *f)
{
    f->color = 1;
    if (spreads_cycles(g, f->set) < 0)
        return -1;
    f->color = 2;
    return 0;
}

/* Marks the fragments a selection set reaches (NoUnusedFragmentsRule). Cycles are already
 * refused, so `used` doubles as the visited mark. */
static void mark_used(struct gq *g, const struct gselset *set)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (s->kind == S_SPREAD) {
            struct gfrag *t = gq_frag_find(g, s->name);
            if (!t->used) {
                t->used = true;
                mark_used(g, t->set);
            }
        } else if (s->set) {
            mark_used(g, s->set);
        }
    }
}

static struct gvardef *var_find(const struct gop *op, const char *s, size_t len)
{
    for (struct gvardef *v = op->vars; v; v = v->next)
        if (v->name.len == len && memcmp(v->name.s, s, len) == 0)
            return v;
    return NULL;
}

/* Variables referenced by a value: each must be defined by the operation; counts uses. */
static int value_vars(struct gq *g, const struct gop *op, const struct gval *v, bool *used)
{
    if (v->kind == V_VAR) {
        size_t i = 0;
        struct gvardef *d;
        for (d = op->vars; d; d = d->next, i++)
            if (d->name.len == v->len && memcmp(d->name.s, v->s, v->len) == 0)
                break;
        if (!d) {
            if (op->name.len)
                return gq_fail(g, "variable '$%.*s' is not defined by operation '%.*s'",
                               (int)(v->len > 60 ? 60 : v->len), v->s, NM(op->name));
            return gq_fail(g, "variable '$%.*s' is not defined", (int)(v->len > 60 ? 60 : v->len),
                           v->s);
        }
        used[i] = true;
        return 0;
    }
    for (const struct gval *i = v->items; i; i = i->next)
        if (value_vars(g, op, i, used) < 0)
            return -1;
    return 0;
}

static int set_vars(struct gq *g, const struct gop *op, const struct gselset *set, bool *used)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        for (const struct garg *a = s->args; a; a = a->next)
            if (value_vars(g, op, a->value, used) < 0)
                return -1;
        if (s->kind == S_SPREAD) {
            struct gfrag *f = gq_frag_find(g, s->name);
            if (f->vgen != g->gen) {
                f->vgen = g->gen;
                if (set_vars(g, op, f->set, used) < 0)
                    return -1;
            }
        } else if (s->set && set_vars(g, op, s->set, used) < 0) {
            return -1;
        }
    }
    return 0;
}

static int check_op_directives(struct gq *g, const struct gop *op)
{
    for (const struct gdir *d = op->dirs; d; d = d->next) {
        if (!gq_name_eq(d->name, GS_DIRECTIVE))
            return gq_fail(g,
                           "unknown directive '@%.*s' (MLflow's schema declares only @component "
                           "on operations)",
                           NM(d->name));
        for (const struct gdir *e = d->next; e; e = e->next)
            if (gq_names_eq(d->name, e->name))
                return gq_fail(g, "the directive '@%.*s' can only be used once at this location",
                               NM(d->name));
        if (check_args_unique(g, d->args) < 0)
            return -1;
        bool has = false;
        for (const struct garg *a = d->args; a; a = a->next) {
            if (!gq_name_eq(a->name, GS_DIRECTIVE_ARG))
                return gq_fail(g, "unknown argument '%.*s' on directive '@%.*s'", NM(a->name),
                               NM(d->name));
            has = true;
        }
        if (!has)
            return gq_fail(g, "directive '@%.*s' argument '%s' of type '%s' is required",
                           NM(d->name), GS_DIRECTIVE_ARG, GS_DIRECTIVE_ARG_TYPE);
    }
    return 0;
}

int gq_check_document(struct gq *g)
{
    bool anonymous = false;
    for (const struct gop *op = g->ops; op; op = op->next) {
        if (op->op == GRAPHQL_OP_SUBSCRIPTION)
            return gq_fail(g, "subscription operations are not supported (MLflow's schema has no "
                              "subscription type)");
        if (!op->name.len)
            anonymous = true;
        for (const struct gop *o = op->next; o; o = o->next)
            if (op->name.len && gq_names_eq(op->name, o->name))
                return gq_fail(g, "there can be only one operation named '%.*s'", NM(op->name));
    }
    if (!g->nops)
        return gq_fail(g, "GraphQL document has no operation");
    if (anonymous && g->nops > 1)
        return gq_fail(g, "this anonymous operation must be the only defined operation");
    for (struct gfrag *f = g->frags; f; f = f->next) {
        for (const struct gfrag *h = f->next; h; h = h->next)
            if (gq_names_eq(f->name, h->name))
                return gq_fail(g, "there can be only one fragment named '%.*s'", NM(f->name));
        if (f->dirs)
            return gq_fail(g,
                           "unknown directive '@%.*s' (MLflow's schema declares only @component "
                           "on operations)",
                           NM(f->dirs->name));
    }
    for (const struct gop *op = g->ops; op; op = op->next)
        if (check_op_directives(g, op) < 0 || check_selections(g, op->set) < 0)
            return -1;
    for (struct gfrag *f = g->frags; f; f = f->next)
        if (check_selections(g, f->set) < 0)
            return -1;
    for (struct gfrag *f = g->frags; f; f = f->next)
        if (f->color == 0 && frag_cycles(g, f) < 0)
            return -1;
    for (const struct gop *op = g->ops; op; op = op->next)
        mark_used(g, op->set);
    for (const struct gfrag *f = g->frags; f; f = f->next)
        if (!f->used)
            return gq_fail(g, "fragment '%.*s' is never used", NM(f->name));
    /* variables: unique, defined where used, used where defined */
    for (const struct gop *op = g->ops; op; op = op->next) {
        size_t n = 0, i = 0;
        for (const struct gvardef *v = op->vars; v; v = v->next, n++) {
            for (const struct gvardef *w = v->next; w; w = w->next)
                if (gq_names_eq(v->name, w->name))
                    return gq_fail(g, "there can be only one variable named '$%.*s'", NM(v->name));
            if (v->dirs)
                return gq_fail(g,
                               "unknown directive '@%.*s' (MLflow's schema declares only "
                               "@component on operations)",
                               NM(v->dirs->name));
        }
        bool *used = gq_alloc(g, n + 1);
        if (!used)
            return -1;
        g->gen++;
        for (const struct gdir *d = op->dirs; d; d = d->next)
            for (const struct garg *a = d->args; a; a = a->next)
                if (value_vars(g, op, a->value, used) < 0)
                    return -1;
        if (set_vars(g, op, op->set, used) < 0)
            return -1;
        for (const struct gvardef *v = op->vars; v; v = v->next, i++)
            if (!used[i]) {
                if (op->name.len)
                    return gq_fail(g, "variable '$%.*s' is never used in operation '%.*s'",
                                   NM(v->name), NM(op->name));
                return gq_fail(g, "variable '$%.*s' is never used", NM(v->name));
            }
    }
    return 0;
}

/* ---------------------------------------------------------------- MLflow's limits */

struct scan {
    size_t roots, selections, max_aliases;
};

struct sfield {
    const struct gsel *sel;
    struct sfield *next;
};

/* graphql_no_batching._collect_fields_and_aliases: the fields of one level, fragments at that
 * level merged in (each fragment once per level). */
static int scan_collect(struct gq *g, const struct gselset *set, struct sfield **last,
                        size_t *aliases, unsigned gen)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (++g->work > GRAPHQL_MAX_WORK)
            return gq_fail(g, "GraphQL document too complex");
        if (s->kind == S_FIELD) {
            struct sfield *f = gq_alloc(g, sizeof(*f));
            if (!f)
                return -1;
            f->sel = s;
            (*last)->next = f;
            *last = f;
            if (s->alias.len)
                (*aliases)++;
        } else if (s->kind == S_INLINE) {
            if (scan_collect(g, s->set, last, aliases, gen) < 0)
                return -1;
        } else {
            struct gfrag *fr = gq_frag_find(g, s->name);
            if (fr->gen != gen) {
                fr->gen = gen;
                if (scan_collect(g, fr->set, last, aliases, gen) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int scan_level(struct gq *g, const struct gselset *set, size_t depth, struct scan *sc)
{
    if (depth > GRAPHQL_MLFLOW_DEPTH)
        return gq_fail(g, "query exceeds maximum depth of %d", GRAPHQL_MLFLOW_DEPTH);
    struct sfield head = {0}, *tail = &head;
    size_t aliases = 0;
    if (scan_collect(g, set, &tail, &aliases, ++g->gen) < 0)
        return -1;
    if (aliases > sc->max_aliases)
        sc->max_aliases = aliases;
    for (const struct sfield *f = head.next; f; f = f->next) {
        if (depth == 1)
            sc->roots++;
        if (f->sel->set && scan_level(g, f->sel->set, depth + 1, sc) < 0)
            return -1;
        if (++sc->selections > GRAPHQL_MLFLOW_SELECTED)
            return gq_fail(g, "query exceeds maximum total selections of %d",
                           GRAPHQL_MLFLOW_SELECTED);
    }
    return 0;
}

int gq_check_limits(struct gq *g)
{
    struct scan sc = {0};
    for (const struct gop *op = g->ops; op; op = op->next)
        if (scan_level(g, op->set, 1, &sc) < 0)
            return -1;
    if (sc.roots > GRAPHQL_MLFLOW_ROOTS)
        return gq_fail(g, "GraphQL queries should have at most %d root fields, got %zu root fields",
                       GRAPHQL_MLFLOW_ROOTS, sc.roots);
    if (sc.max_aliases > GRAPHQL_MLFLOW_ALIASES)
        return gq_fail(g, "GraphQL queries should have at most %d aliases, got %zu aliases",
                       GRAPHQL_MLFLOW_ALIASES, sc.max_aliases);
    return 0;
}

/* ---------------------------------------------------------------- variables */

const struct gs_type *gq_type_of(const struct tref *t)
{
    const struct tref *n = gq_named_of(t);
    return gs_type_find(n->name.s, n->name.len);
}

static int coerce_json(struct gq *g, const json_t *v, const struct tref *t, const char *where,
                       json_t **out);

/* graphql-core's coerce_input_value for a JSON value of type t; *out is a new reference. */
static int coerce_json(struct gq *g, const json_t *v, const struct tref *t, const char *where,
                       json_t **out)
{
    char ts[128];
    *out = NULL;
    if (t->kind == TR_NONNULL) {
        if (json_is_null(v)) {
            gq_type_str(t, ts, sizeof(ts));
            return gq_fail(g, "variable %s: expected non-nullable type '%s' not to be null", where,
                           ts);
        }
        return coerce_json(g, v, t->of, where, out);
    }
    if (json_is_null(v)) {
        *out = json_null();
        return 0;
    }
    if (t->kind == TR_LIST) {
        json_t *arr = json_array();
        if (!arr)
            return gq_fail(g, "out of memory");
        if (json_is_array(v)) {
            size_t i;
            const json_t *item;
            json_array_foreach(v, i, item)
            {
                json_t *c;
                if (coerce_json(g, item, t->of, where, &c) < 0 || json_array_append_new(arr, c)) {
                    json_decref(arr);
                    return gq_fail(g, "out of memory");
                }
            }
        } else {
            json_t *c;
            if (coerce_json(g, v, t->of, where, &c) < 0 || json_array_append_new(arr, c)) {
                json_decref(arr);
                return gq_fail(g, "out of memory");
            }
        }
        *out = arr;
        return 0;
    }
    const struct gs_type *nt = gq_type_of(t);
    gq_type_str(t, ts, sizeof(ts));
    if (!nt)
        return gq_fail(g, "unknown type '%s'", ts);
    if (nt->kind == GS_INPUT) {
        if (!json_is_object(v))
            return gq_fail(g, "variable %s: expected type '%s' to be an object", where, ts);
        const char *k;
        const json_t *fv;
        json_t *obj = json_object();
        if (!obj)
            return gq_fail(g, "out of memory");
        json_object_foreach((json_t *)v, k, fv)
        {
            if (!gs_input_find(nt, k, strlen(k))) {
                json_decref(obj);
                return gq_fail(g, "variable %s: field '%.60s' is not defined by type '%s'", where,
                               k, ts);
            }
        }
        for (size_t i = 0; i < nt->ninputs; i++) {
            const struct gs_input_field *f = &nt->inputs[i];
            const json_t *x = json_object_get(v, f->name);
            const struct tref *ft = gq_schema_type(g, f->type);
            json_t *c = NULL;
            if (!ft) {
                json_decref(obj);
                return -1;
            }
            if (!x) {
                if (f->default_null)
                    c = json_null();
                else if (ft->kind == TR_NONNULL) {
                    json_decref(obj);
                    return gq_fail(g, "variable %s: field '%s' of type '%s' is required", where,
                                   f->name, f->type);
                } else
                    continue;
            } else if (coerce_json(g, x, ft, where, &c) < 0) {
                json_decref(obj);
                return -1;
            }
            if (json_object_set_new(obj, f->name, c)) {
                json_decref(obj);
                return gq_fail(g, "out of memory");
            }
        }
        *out = obj;
        return 0;
    }
    if (nt->kind == GS_ENUM) {
        if (!json_is_string(v) || !gs_enum_has(nt, json_string_value(v), json_string_length(v)))
            return gq_fail(g, "variable %s: value is not a valid '%s'", where, ts);
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (nt->kind != GS_SCALAR)
        return gq_fail(g, "variable %s: type '%s' is not an input type", where, ts);
    if (!strcmp(nt->name, "String")) {
        if (!json_is_string(v))
            return gq_fail(g, "variable %s: String cannot represent a non string value", where);
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (!strcmp(nt->name, "Boolean")) {
        if (!json_is_boolean(v))
            return gq_fail(g, "variable %s: Boolean cannot represent a non boolean value", where);
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (!strcmp(nt->name, "Int")) {
        json_int_t n;
        if (json_is_integer(v)) {
            n = json_integer_value(v);
        } else if (json_is_real(v)) {
            /* an integral float is an Int to graphql-core; range first: the cast needs it */
            double d = json_real_value(v);
            if (!(d >= -2147483648.0 && d <= 2147483647.0))
                return gq_fail(
                    g, "variable %s: Int cannot represent non 32-bit signed integer value", where);
            if (d != (double)(json_int_t)d)
                return gq_fail(g, "variable %s: Int cannot represent non-integer value", where);
            n = (json_int_t)d;
        } else {
            return gq_fail(g, "variable %s: Int cannot represent non-integer value", where);
        }
        if (n < INT32_MIN || n > INT32_MAX)
            return gq_fail(g, "variable %s: Int cannot represent non 32-bit signed integer value",
                           where);
        *out = json_integer(n);
        return *out ? 0 : gq_fail(g, "out of memory");
    }
    if (!strcmp(nt->name, "Float")) {
        if (!json_is_number(v))
            return gq_fail(g, "variable %s: Float cannot represent non numeric value", where);
        *out = json_incref((json_t *)v);
        return 0;
    }
    /* LongString: MLflow's parse_value is int(value); only plain integers are taken here */
    if (json_is_integer(v)) {
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), i = (n && s[0] == '-') ? 1 : 0;
        bool ok = i < n;
        for (; i < n; i++)
            ok = ok && s[i] >= '0' && s[i] <= '9';
        if (ok) {
            *out = json_incref((json_t *)v);
            return 0;
        }
    }
    return gq_fail(g, "variable %s: LongString needs an integer", where);
}

static bool is_input_type(const struct gs_type *t)
{
    return t && (t->kind == GS_SCALAR || t->kind == GS_ENUM || t->kind == GS_INPUT);
}

/* Coerces the selected operation's variables (graphql-core's coerce_variable_values) into
 * g->vars: a member per variable that was provided or has a default. */
int gq_coerce_variables(struct gq *g, const json_t *input)
{
    g->vars = json_object();
    if (!g->vars)
        return gq_fail(g, "out of memory");
    for (const struct gvardef *v = g->op->vars; v; v = v->next) {
        char name[80];
        snprintf(name, sizeof(name), "'$%.*s'", NM(v->name));
        const json_t *x = input ? json_object_getn(input, v->name.s, v->name.len) : NULL;
        json_t *c = NULL;
        if (!x) {
            if (v->def) {
                json_t *saved = g->vars;
                g->vars = NULL; /* a default is a constant */
                int r = gq_coerce_literal(g, v->def, v->type, false, name, &c);
                g->vars = saved;
                if (r < 0)
                    return -1;
            } else if (v->type->kind == TR_NONNULL) {
                return gq_fail(g, "variable %s of required type was not provided", name);
            } else {
                continue;
            }
        } else if (coerce_json(g, x, v->type, name, &c) < 0) {
            return -1;
        }
        if (!c)
            return gq_fail(g, "variable %s has an invalid default value", name);
        if (json_object_setn_new(g->vars, v->name.s, v->name.len, c))
            return gq_fail(g, "out of memory");
    }
    return 0;
}

/* Variable definitions: types known and input types (VariablesAreInputTypes). */
int gq_check_var_types(struct gq *g, const struct gop *op)
{
    for (const struct gvardef *v = op->vars; v; v = v->next) {
        const struct tref *n = gq_named_of(v->type);
        const struct gs_type *t = gs_type_find(n->name.s, n->name.len);
        if (!t)
            return gq_fail(g, "unknown type '%.*s'", NM(n->name));
        if (!is_input_type(t))
            return gq_fail(g, "variable '$%.*s' cannot be of non-input type '%.*s'", NM(v->name),
                           NM(n->name));
    }
    return 0;
}

/* ---------------------------------------------------------------- literal values */

static bool type_eq(const struct tref *a, const struct tref *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == TR_NAMED)
        return gq_names_eq(a->name, b->name);
    return type_eq(a->of, b->of);
}

static bool sub_type(const struct tref *a, const struct tref *b)
{
    if (type_eq(a, b))
        return true;
    if (b->kind == TR_NONNULL)
        return a->kind == TR_NONNULL && sub_type(a->of, b->of);
    if (a->kind == TR_NONNULL)
        return sub_type(a->of, b);
    if (b->kind == TR_LIST)
        return a->kind == TR_LIST && sub_type(a->of, b->of);
    return false;
}

/* VariablesInAllowedPositionRule. */
static bool allowed_position(const struct gvardef *v, const struct tref *loc, bool loc_default)
{
    if (loc->kind == TR_NONNULL && v->type->kind != TR_NONNULL) {
        bool var_default = v->def && v->def->kind != V_NULL;
        if (!var_default && !loc_default)
            return false;
        return sub_type(v->type, loc->of);
    }
    return sub_type(v->type, loc);
}

static bool missing_var(const struct gq *g, const struct gval *v)
{
    return v->kind == V_VAR && g->vars && !json_object_getn(g->vars, v->s, v->len);
}

/* graphql-core's value_from_ast (with ValuesOfCorrectTypeRule's checks): *out is a new
 * reference, NULL when the value is undefined (a missing variable). While only validating
 * (g->vars NULL) a variable stands for a null placeholder. */
int gq_coerce_literal(struct gq *g, const struct gval *v, const struct tref *t, bool loc_default,
                      const char *where, json_t **out)
{
    char ts[128];
    *out = NULL;
    gq_type_str(t, ts, sizeof(ts));
    if (v->kind == V_VAR) {
        const struct gvardef *d = g->op ? var_find(g->op, v->s, v->len) : NULL;
        if (!d)
            return gq_fail(g, "variable '$%.*s' is not defined", (int)(v->len > 60 ? 60 : v->len),
                           v->s);
        if (!allowed_position(d, t, loc_default)) {
            char vs[128];
            gq_type_str(d->type, vs, sizeof(vs));
            return gq_fail(g, "variable '$%.*s' of type '%s' used in position expecting type '%s'",
                           NM(d->name), vs, ts);
        }
        if (!g->vars) {
            *out = json_null();
            return 0;
        }
        json_t *x = json_object_getn(g->vars, v->s, v->len);
        if (!x)
            return 0;
        if (json_is_null(x) && t->kind == TR_NONNULL)
            return gq_fail(g, "%s: variable '$%.*s' of non-null position is null", where,
                           NM(d->name));
        *out = json_incref(x);
        return 0;
    }
    if (t->kind == TR_NONNULL) {
        if (v->kind == V_NULL)
            return gq_fail(g, "%s: expected value of non-null type '%s', found null", where, ts);
        return gq_coerce_literal(g, v, t->of, false, where, out);
    }
    if (v->kind == V_NULL) {
        *out = json_null();
        return 0;
    }
    if (t->kind == TR_LIST) {
        json_t *arr = json_array();
        if (!arr)
            return gq_fail(g, "out of memory");
        if (v->kind == V_LIST) {
            for (const struct gval *i = v->items; i; i = i->next) {
                json_t *c = NULL;
                if (missing_var(g, i)) {
                    if (t->of->kind == TR_NONNULL) {
                        json_decref(arr);
                        return gq_fail(g, "%s: missing variable in a list of non-null items",
                                       where);
                    }
                    /* still checked for its position */
                    json_t *saved = g->vars;
                    g->vars = NULL;
                    int r = gq_coerce_literal(g, i, t->of, false, where, &c);
                    g->vars = saved;
                    json_decref(c);
                    if (r < 0) {
                        json_decref(arr);
                        return -1;
                    }
                    c = json_null();
                } else if (gq_coerce_literal(g, i, t->of, false, where, &c) < 0) {
                    json_decref(arr);
                    return -1;
                }
                if (!c || json_array_append_new(arr, c)) {
                    json_decref(arr);
                    return gq_fail(g, "out of memory");
                }
            }
        } else {
            json_t *c = NULL;
            if (gq_coerce_literal(g, v, t->of, false, where, &c) < 0) {
                json_decref(arr);
                return -1;
            }
            if (!c) { /* a missing variable as the single item */
                json_decref(arr);
                return 0;
            }
            if (json_array_append_new(arr, c)) {
                json_decref(arr);
                return gq_fail(g, "out of memory");
            }
        }
        *out = arr;
        return 0;
    }
    const struct gs_type *nt = gq_type_of(t);
    if (!nt)
        return gq_fail(g, "unknown type '%s'", ts);
    if (nt->kind == GS_INPUT) {
        if (v->kind != V_OBJECT)
            return gq_fail(g, "%s: expected value of type '%s'", where, ts);
        for (const struct gval *i = v->items; i; i = i->next) {
            if (!gs_input_find(nt, i->fname.s, i->fname.len))
                return gq_fail(g, "%s: field '%.*s' is not defined by type '%s'", where,
                               NM(i->fname), ts);
            for (const struct gval *j = i->next; j; j = j->next)
                if (gq_names_eq(i->fname, j->fname))
                    return gq_fail(g, "%s: there can be only one input field named '%.*s'", where,
                                   NM(i->fname));
        }
        json_t *obj = json_object();
        if (!obj)
            return gq_fail(g, "out of memory");
        for (size_t k = 0; k < nt->ninputs; k++) {
            const struct gs_input_field *f = &nt->inputs[k];
            const struct tref *ft = gq_schema_type(g, f->type);
            const struct gval *node = NULL;
            json_t *c = NULL;
            if (!ft) {
                json_decref(obj);
                return -1;
            }
            for (const struct gval *i = v->items; i; i = i->next)
                if (gq_name_eq(i->fname, f->name))
                    node = i;
            if (node && gq_coerce_literal(g, node, ft, f->default_null, where, &c) < 0) {
                json_decref(obj);
                return -1;
            }
            if (!node || !c) { /* absent, or a missing variable */
                json_decref(c);
                c = NULL;
                if (f->default_null)
                    c = json_null();
                else if (ft->kind == TR_NONNULL) {
                    json_decref(obj);
                    return gq_fail(g, "%s: field '%s' of type '%s' is required", where, f->name,
                                   f->type);
                } else
                    continue;
            }
            if (json_object_set_new(obj, f->name, c)) {
                json_decref(obj);
                return gq_fail(g, "out of memory");
            }
        }
        *out = obj;
        return 0;
    }
    if (nt->kind == GS_ENUM) {
        if (v->kind != V_ENUM || !gs_enum_has(nt, v->s, v->len))
            return gq_fail(g, "%s: value is not a valid '%s'", where, ts);
        *out = json_stringn(v->s, v->len);
        return *out ? 0 : gq_fail(g, "out of memory");
    }
    if (nt->kind != GS_SCALAR)
        return gq_fail(g, "%s: type '%s' is not an input type", where, ts);
    if (!strcmp(nt->name, "String")) {
        if (v->kind != V_STRING)
            return gq_fail(g, "%s: String cannot represent a non string value", where);
        *out = json_stringn_nocheck(v->s, v->len);
        return *out ? 0 : gq_fail(g, "out of memory");
    }
    if (!strcmp(nt->name, "Boolean")) {
        if (v->kind != V_BOOL)
            return gq_fail(g, "%s: Boolean cannot represent a non boolean value", where);
        *out = json_boolean(v->b);
        return 0;
    }
    if (!strcmp(nt->name, "Int")) {
        if (v->kind != V_INT)
            return gq_fail(g, "%s: Int cannot represent non-integer value", where);
        char buf[32];
        if (v->len >= sizeof(buf))
            return gq_fail(g, "%s: Int cannot represent non 32-bit signed integer value", where);
        memcpy(buf, v->s, v->len);
        buf[v->len] = '\0';
        long long n = strtoll(buf, NULL, 10);
        if (n < INT32_MIN || n > INT32_MAX)
            return gq_fail(g, "%s: Int cannot represent non 32-bit signed integer value", where);
        *out = json_integer(n);
        return *out ? 0 : gq_fail(g, "out of memory");
    }
    if (!strcmp(nt->name, "Float")) {
        if (v->kind != V_INT && v->kind != V_FLOAT)
            return gq_fail(g, "%s: Float cannot represent non numeric value", where);
        *out = json_null(); /* the value is never needed */
        return 0;
    }
    /* LongString: MLflow's parse_literal reads an Int literal and anything else as None */
    *out = json_null();
    return 0;
}
