/*
 * libFuzzer target for mlflow/graphql. Byte 0 picks what the rest is (mod 4):
 *   0  a query (graphql_plan, no variables)
 *   1  query 0xFF variables 0xFF operationName (0xFF never occurs in UTF-8; missing parts
 *      are absent)
 *   2  a request body (graphql_plan_request)
 *   3  an MLflow answer, filtered with the plan of a fixed query holding three model-version
 *      lists (aliases, a list of runs); the predicate keeps names of even length
 * Invariants: no crash, hang or leak; a refusal has a reason and leaves the plan empty; a plan
 * holds at most MLflow's 10 root fields, distinct checks on canonical experiment ids and
 * clean run ids, filters with a path and a key, an admin-only plan says why; a filtered answer
 * is JSON whose lists hold only items the predicate kept, and filtering it again changes
 * nothing. Single-threaded; no I/O.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/graphql.h"
#include "mlflow/lookup.h"
#include "mlflow/naming.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static void check_plan(const struct graphql_plan *p)
{
    CHECK(p->nroots <= GRAPHQL_MLFLOW_ROOTS);
    CHECK(p->nchecks <= GRAPHQL_MAX_CHECKS);
    CHECK(!p->admin_only || p->admin_reason[0] != '\0');
    CHECK(p->op != GRAPHQL_OP_SUBSCRIPTION);
    for (size_t i = 0; i < p->nroots; i++)
        CHECK(p->roots[i].field && p->roots[i].response_key && p->roots[i].response_key[0]);
    for (size_t i = 0; i < p->nchecks; i++) {
        const struct graphql_check *c = &p->checks[i];
        CHECK(c->priv == POLICY_PRIV_READ && c->field && strlen(c->id) == c->id_len);
        if (c->object == ROUTE_OBJ_EXPERIMENT)
            CHECK(lookup_is_experiment_id(c->id, c->id_len));
        else
            CHECK(c->object == ROUTE_OBJ_RUN && naming_is_clean_text(c->id, c->id_len));
        for (size_t j = 0; j < i; j++)
            CHECK(p->checks[j].object != c->object || strcmp(p->checks[j].id, c->id) != 0);
    }
    for (size_t i = 0; i < p->nfilters; i++) {
        CHECK(p->filters[i].object == ROUTE_OBJ_MODEL && p->filters[i].depth >= 1);
        CHECK(p->filters[i].key && p->filters[i].key[0]);
        for (size_t k = 0; k < p->filters[i].depth; k++)
            CHECK(p->filters[i].path[k] && p->filters[i].path[k][0]);
    }
}

static void check_empty(const struct graphql_plan *p, const char *err)
{
    CHECK(err[0] != '\0');
    CHECK(!p->nroots && !p->nchecks && !p->nfilters && !p->roots && !p->checks && !p->filters &&
          !p->operation_name);
}

static bool even(void *ctx, enum route_object kind, const char *name, size_t len)
{
    (void)ctx;
    CHECK(kind == ROUTE_OBJ_MODEL && name && len > 0);
    return len % 2 == 0;
}

/* Every item of every model-version list in `data` satisfies the predicate. */
static void check_kept(const struct graphql_filter *f, const json_t *node, size_t i)
{
    if (json_is_array(node) && i < f->depth) {
        size_t k;
        const json_t *e;
        json_array_foreach(node, k, e) check_kept(f, e, i);
        return;
    }
    if (i == f->depth) {
        size_t k;
        const json_t *e;
        json_array_foreach(node, k, e)
        {
            const json_t *key = json_object_get(e, f->key);
            CHECK(json_is_string(key) && json_string_length(key) % 2 == 0);
        }
        return;
    }
    if (json_is_object(node))
        check_kept(f, json_object_get(node, f->path[i]), i + 1);
}

static const char fixed_query[] =
    "query Q($e: [String]) { a: mlflowSearchRuns(input: {experimentIds: $e}) { runs { mv: "
    "modelVersions { n: name version } modelVersions { name } } } mlflowGetRun(input: {runId: "
    "\"r\"}) { run { modelVersions { name } } } }";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct graphql_plan p;
    char err[300] = "";
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    int r;
    switch (data[0] % 4) {
    case 0:
        r = graphql_plan(s, n, NULL, 0, NULL, &p, err, sizeof(err));
        break;
    case 1: {
        const char *v = memchr(s, 0xFF, n), *o = NULL;
        size_t ql = v ? (size_t)(v - s) : n, vl = 0;
        char *opname = NULL;
        if (v) {
            v++;
            o = memchr(v, 0xFF, n - ql - 1);
            vl = o ? (size_t)(o - v) : n - ql - 1;
            if (o) {
                size_t ol = n - ql - 1 - vl - 1;
                if (memchr(o + 1, '\0', ol))
                    return 0; /* an operation name is a C string */
                opname = malloc(ol + 1);
                if (!opname)
                    return 0;
                memcpy(opname, o + 1, ol);
                opname[ol] = '\0';
            }
        }
        r = graphql_plan(s, ql, v, vl, opname, &p, err, sizeof(err));
        free(opname);
        break;
    }
    case 2:
        r = graphql_plan_request(s, n, &p, err, sizeof(err));
        break;
    default: {
        static const char vars[] = "{\"e\":[\"1\"]}";
        r = graphql_plan(fixed_query, strlen(fixed_query), vars, strlen(vars), NULL, &p, err,
                         sizeof(err));
        CHECK(r == 0 && p.nfilters == 3);
        char *out = NULL, *again = NULL;
        size_t ol = 0, al = 0;
        if (graphql_filter_answer(&p, s, n, even, NULL, &out, &ol, err, sizeof(err)) == 0) {
            json_error_t je;
            json_t *root = json_loadb(out, ol, JSON_REJECT_DUPLICATES, &je);
            CHECK(root);
            for (size_t i = 0; i < p.nfilters; i++)
                check_kept(&p.filters[i], json_object_get(root, "data"), 0);
            json_decref(root);
            CHECK(graphql_filter_answer(&p, out, ol, even, NULL, &again, &al, err, sizeof(err)) ==
                  0);
            CHECK(al == ol && memcmp(again, out, ol) == 0);
        } else {
            CHECK(out == NULL && err[0] != '\0');
        }
        free(out);
        free(again);
        graphql_plan_free(&p);
        return 0;
    }
    }
    if (r == 0)
        check_plan(&p);
    else
        check_empty(&p, err);
    graphql_plan_free(&p);
    return 0;
}
