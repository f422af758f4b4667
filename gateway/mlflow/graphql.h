/*
 * graphql: authorisation of MLflow's GraphQL endpoint (GET and POST /graphql, mlflow==3.17.2).
 * Pure module: no I/O, clocks or globals; any thread. A plan belongs to one request.
 *
 * MLflow reads {query, variables, operationName} from the JSON body (GET included: Flask's
 * get_json(force=True); a GET with the query in the URL fails with a 500 in MLflow, so the
 * body is what to plan for either method), parses the document with graphql-core 3.2,
 * refuses it when its own limits are exceeded (graphql_no_batching.check_query_safety) and
 * executes it with graphene against the schema of mlflow/server/graphql/. This module reads a
 * request the same way and says what executing it would touch, or refuses it with a precise
 * reason:
 *
 * 1. A strict parser for executable documents as graphql-core's lexer and parser read them
 *    (names, ints, floats, strings with \uXXXX, surrogate pairs and \u{...}, block strings
 *    with their dedent, comments, commas and U+FEFF as ignored tokens, descriptions on
 *    operations, fragments and variable definitions). Type system definitions are refused.
 *
 * 2. The validation rules whose outcome changes what runs: unique operation, fragment,
 *    variable, argument and input field names; a lone anonymous operation; known, used,
 *    acyclic fragments whose type conditions fit; defined and used variables of input types
 *    used in allowed positions; known fields and arguments, literal values of the right
 *    types; leaf fields without and composite fields with a selection set; one field and one
 *    set of arguments per response key. The schema is compiled in (graphql_schema.c) and
 *    compared with the pinned MLflow by the unit test. MLflow's schema declares only
 *    @component(name: String!) on QUERY and MUTATION: graphene replaces graphql's default
 *    directives, so @skip/@include are unknown to MLflow and refused here like every other
 *    directive elsewhere.
 *
 * 3. MLflow's limits, counted as MLflow counts them over every operation of the document
 *    (not just the selected one): at most 10 root fields, 10 aliases in one selection level
 *    (fragments at that level included), selection depth 10 and 1000 field selections. Ours
 *    on top: GRAPHQL_MAX_DOCUMENT bytes of query, GRAPHQL_MAX_NESTING nested brackets,
 *    GRAPHQL_MAX_WORK selections visited while expanding fragments.
 *
 * 4. operationName selects the operation as graphql-core does: none given and several
 *    operations is an error, a name that matches no operation is an error (also "").
 *    Variables are coerced by their declared types as graphql-core does (unknown input
 *    fields and wrong scalar types are errors, a single value where a list is expected
 *    becomes a list of one, defaults apply to absent variables); the variables JSON is
 *    parsed strictly (an object or null, no duplicate keys).
 *
 * The plan: the selected operation's kind, its root fields and the checks the caller turns
 * into authorisation items (READ on experiments and runs; ids exactly as MLflow will use
 * them: experiment ids canonical decimal, run ids non-empty clean text; MLflow's
 * `run_id or run_uuid` with conflicting values refused), and the response paths whose list
 * items are model versions of arbitrary registered models (Run.modelVersions lists the
 * versions of any model whose source is the run) and must be filtered by model name with
 * graphql_filter_answer(). Non-admin callers are refused (plan.admin_only, with a reason) for
 * mutations, mlflowSearchModelVersions, and model version lists that do not select `name`.
 *
 * Root fields (Query): mlflowGetExperiment(input.experimentId) READ on it;
 * mlflowGetRun, mlflowListArtifacts (input.runId, else input.runUuid) READ on the run;
 * mlflowGetMetricHistoryBulkInterval(input.runIds[]) READ on each run; mlflowSearchRuns
 * (input.experimentIds[]) READ on each; mlflowSearchModelVersions admin only; test (an
 * echo), __typename, __schema, __type: nothing to check. Mutation: mlflowSearchRuns,
 * mlflowSearchDatasets (input.experimentIds[]) READ on each, testMutation: nothing; the
 * operation itself is admin only. Every id-bearing field needs its input and a non-empty id
 * (list): MLflow would fail or search nothing without them.
 */
#ifndef WARDEN_MLFLOW_GRAPHQL_H
#define WARDEN_MLFLOW_GRAPHQL_H

#include "mlflow/routes.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define GRAPHQL_MAX_DOCUMENT    65536  /* bytes of query text */
#define GRAPHQL_MAX_NESTING     32     /* nested selection sets, lists, objects, list types */
#define GRAPHQL_MAX_WORK        200000 /* selections visited expanding fragments */
#define GRAPHQL_MAX_CHECKS      500    /* distinct (object, id) checks of one request */
#define GRAPHQL_MLFLOW_ROOTS    10     /* MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS default */
#define GRAPHQL_MLFLOW_ALIASES  10     /* MLFLOW_SERVER_GRAPHQL_MAX_ALIASES default */
#define GRAPHQL_MLFLOW_DEPTH    10     /* graphql_no_batching._MAX_DEPTH */
#define GRAPHQL_MLFLOW_SELECTED 1000   /* graphql_no_batching._MAX_SELECTIONS */

enum graphql_op {
    GRAPHQL_OP_QUERY = 0,
    GRAPHQL_OP_MUTATION,
    GRAPHQL_OP_SUBSCRIPTION, /* never in a plan: MLflow's schema has no subscription type */
};

/* What a root field of the selected operation is. */
enum graphql_root_kind {
    GRAPHQL_ROOT_META = 0,   /* __typename, __schema, __type, test, testMutation */
    GRAPHQL_ROOT_CHECKED,    /* needs the checks listed for it */
    GRAPHQL_ROOT_ADMIN_ONLY, /* mlflowSearchModelVersions */
};

struct graphql_root {
    const char *field;  /* schema name, e.g. "mlflowGetRun" (static) */
    char *response_key; /* alias or field name (owned) */
    enum graphql_root_kind kind;
};

/* priv on the securable `id` resolves to. */
struct graphql_check {
    enum route_object object; /* ROUTE_OBJ_EXPERIMENT or ROUTE_OBJ_RUN */
    enum policy_priv priv;    /* POLICY_PRIV_READ */
    char *id;                 /* NUL-terminated, owned; experiment ids canonical decimal */
    size_t id_len;
    const char *field; /* first root field that needs it (static) */
};

/* A list in the answer whose items must be filtered: data.<path[0]>...<path[depth-1]>,
 * walking every element of any array met on the way; each item of the list reached is an
 * object whose member `key` names the securable (object) the item belongs to. */
struct graphql_filter {
    enum route_object object; /* ROUTE_OBJ_MODEL: model versions, keyed by model name */
    size_t depth;
    char **path; /* response keys (aliases), owned */
    char *key;   /* response key of the model's name in each item, owned */
};

struct graphql_plan {
    enum graphql_op op;
    char *operation_name; /* NULL for an anonymous operation */
    bool admin_only;      /* non-admins are refused: admin_reason says why */
    char admin_reason[200];
    size_t nroots;
    struct graphql_root *roots;
    size_t nchecks;
    struct graphql_check *checks; /* distinct (object, id), in document order */
    size_t nfilters;
    struct graphql_filter *filters; /* empty: the answer needs no filtering */
};

/*
 * Plans the execution of `query` (qlen bytes, UTF-8) with `variables` (vlen bytes of JSON
 * text, an object or null; NULL or vlen 0 for none) and operation_name (NUL-terminated, or
 * NULL for none). Returns 0 with *out filled (release with graphql_plan_free), or -1 with a
 * client-safe reason in err when the document does not parse, fails validation, exceeds a
 * limit, or the variables do not coerce; *out is then empty.
 */
int graphql_plan(const char *query, size_t qlen, const char *variables, size_t vlen,
                 const char *operation_name, struct graphql_plan *out, char *err, size_t errlen);

/*
 * The same for a whole request body as MLflow's _graphql reads it: a JSON object (no
 * duplicate keys) with "query" (a string), optional "variables" (an object or null) and
 * "operationName" (a string or null); other members are ignored, as MLflow ignores them.
 */
int graphql_plan_request(const char *body, size_t len, struct graphql_plan *out, char *err,
                         size_t errlen);

/* Releases what the plan owns and zeroes it; NULL is a no-op. */
void graphql_plan_free(struct graphql_plan *p);

/* Decides one item: true keeps it. name is NOT NUL-terminated; len > 0. */
typedef bool (*graphql_visible_fn)(void *ctx, enum route_object kind, const char *name, size_t len);

/*
 * Filters MLflow's answer (a JSON object {"data": ..., "errors": ...}, no duplicate keys) by
 * the plan's filters: at each filter's lists, items whose key is missing, not a non-empty
 * string, or rejected by visible() are removed. Returns 0 with the re-serialised answer in
 * *out (malloc'd, NUL-terminated, *outlen bytes; free()), or -1 with err set when the answer
 * does not parse or a list is not where the plan says (the caller fails closed: 502).
 * Numbers keep their values (reals printed with 17 significant digits), members their order.
 * A plan without filters returns a copy of the body unchanged (still checked to parse).
 *
 * The predicate REST's SearchModelVersions filter uses is BROWSE on the model (enforce_filter.c);
 * the same keeps Run.modelVersions consistent with it. When deciding a name needs a look-up
 * (the model's owner stamp), call this once with a predicate that records the names and
 * returns false, resolve them, then call it again with the real one.
 */
int graphql_filter_answer(const struct graphql_plan *p, const char *body, size_t len,
                          graphql_visible_fn visible, void *ctx, char **out, size_t *outlen,
                          char *err, size_t errlen);

const char *graphql_op_name(enum graphql_op op); /* "query", "mutation", "subscription" */

/* The compiled-in schema, one sorted line per type member (format of
 * tests/unit/fixtures/graphql/schema.txt), for the test comparing it with MLflow's. */
void graphql_schema_dump(FILE *f);

#endif
