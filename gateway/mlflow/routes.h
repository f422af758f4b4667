/*
 * routes: the MLflow route table and its matcher (DESIGN.md §4). Every (method, path) that
 * the pinned MLflow serves (mlflow==3.17.2: Flask url_map, FastAPI routers, and the
 * basic-auth app's routes) has one entry saying what the request is (the MLflow action), what
 * it touches (the securable and where its id is), which privilege it needs and whether the
 * response must be filtered. Anything not in the table does not match, and the caller denies.
 * tests/integration/test_route_coverage.py compares the table with the installed MLflow in
 * both directions.
 *
 * The table is data (route_table.c). routes_init() expands it (each "/mlflow/..." RPC
 * becomes its /api and /ajax-api paths) and builds a static-segment trie once; after that
 * the table is immutable and routes_match() may run on any thread concurrently. Matching
 * allocates nothing and costs one walk down the trie (binary search among the static
 * children of each node) with bounded backtracking.
 *
 * Matching rules, mirroring Werkzeug and Starlette as mlflow-api.md (b) describes them:
 * case-sensitive; static segments beat parameters ("/api/3.0/mlflow/traces/get" is GetTrace);
 * method-aware ("PATCH /api/2.0/mlflow/logged-models/search" is FinalizeLoggedModel with
 * model_id "search", because the static "search" route has no PATCH); HEAD matches GET
 * routes and reports GET; a trailing '/' matches only a route that requires it (the FastAPI
 * job-submit route "/ajax-api/3.0/jobs/"); {name} takes one non-empty segment without '\';
 * {name:*} takes one or more whole segments (rest of path) and may sit before further
 * segments, matched greedily like Starlette's {name:path}; "{name}:suffix" is one segment
 * ending in a literal suffix (Gemini's "{endpoint_name}:generateContent").
 *
 * Precedence when several routes match the same request, as MLflow's two routers decide
 * it: the FastAPI app runs first and takes the first route registered (table order) whose
 * path and method match; otherwise Flask/Werkzeug takes the route whose segments are most
 * static from the left (static before {x} before {x:*} at the first segment where the
 * candidates differ). So "POST /gateway/proxy/mlflow/invocations" is the invocations route
 * of endpoint "proxy" (registered first), exactly as MLflow runs it.
 */
#ifndef WARDEN_MLFLOW_ROUTES_H
#define WARDEN_MLFLOW_ROUTES_H

#include "mlflow/target.h"
#include "net/http1.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Who may call the route at all. */
enum route_access {
    ROUTE_PUBLIC = 0,    /* no credential needed: /health and static UI assets only */
    ROUTE_AUTHENTICATED, /* any authenticated principal; no securable (version, server
                            info, UI shell); with a filter, the response is filtered */
    ROUTE_OBJECT,        /* authorise every entry of checks[] */
    ROUTE_ADMIN,         /* members of the policy's admin group only: server-wide MLflow
                            configuration Warden's catalog does not model (webhooks, AI
                            gateway configuration, workspaces, MCP registry, demo data) */
    ROUTE_DENIED,        /* always refused: MLflow's own user/permission API (permissions
                            live in Warden's policy) and routes unsafe behind a proxy */
};

/* What an id names, and so how it resolves to a securable (route_object_kind()). */
enum route_object {
    ROUTE_OBJ_NONE = 0,
    ROUTE_OBJ_EXPERIMENT,       /* experiment id (canonical decimal) */
    ROUTE_OBJ_EXPERIMENT_NAME,  /* experiment name */
    ROUTE_OBJ_RUN,              /* run id -> experiment */
    ROUTE_OBJ_TRACE,            /* trace / request id -> experiment */
    ROUTE_OBJ_LOGGED_MODEL,     /* logged model id (m-...) -> experiment */
    ROUTE_OBJ_DATASET,          /* evaluation dataset id -> its experiments (all of them) */
    ROUTE_OBJ_ARTIFACT_PATH,    /* artifact-proxy path "<exp_id>/..." -> experiment */
    ROUTE_OBJ_LABEL_SCHEMA,     /* label schema id -> experiment */
    ROUTE_OBJ_REVIEW_QUEUE,     /* review queue id -> experiment */
    ROUTE_OBJ_ISSUE,            /* issue id -> experiment */
    ROUTE_OBJ_JOB,              /* job id (prompt optimisation or generic job) -> experiment
                                   recorded in the job's parameters */
    ROUTE_OBJ_MODEL,            /* registered model / prompt name */
    ROUTE_OBJ_GATEWAY_ENDPOINT, /* AI gateway endpoint name, governed as a model securable
                                   named by the naming rules (EXECUTE to invoke) */
    ROUTE_OBJ_NEW_EXPERIMENT,   /* name of an experiment to create -> its schema */
    ROUTE_OBJ_NEW_MODEL,        /* name of a registered model / prompt to create -> schema */
    ROUTE_OBJ_COUNT
};

/* Where the id is read, matching where MLflow's handler reads it (mlflow-api.md (b)). */
enum route_id_loc {
    ROUTE_ID_NONE = 0,
    ROUTE_ID_QUERY,  /* query parameter (GET): first value, or every value when many */
    ROUTE_ID_BODY,   /* JSON body field; a dotted path, "[]" = each element of an array */
    ROUTE_ID_PATH,   /* path parameter of the pattern (wins over query and body) */
    ROUTE_ID_HEADER, /* request header (OTLP: X-Mlflow-Experiment-Id) */
};

/* Response filtering: list/search responses show only what the caller may see. */
enum route_filter {
    ROUTE_FILTER_NONE = 0,
    ROUTE_FILTER_EXPERIMENTS,       /* SearchExperiments */
    ROUTE_FILTER_MODELS,            /* SearchRegisteredModels (models and prompts) */
    ROUTE_FILTER_MODEL_VERSIONS,    /* SearchModelVersions */
    ROUTE_FILTER_DATASETS,          /* SearchEvaluationDatasets */
    ROUTE_FILTER_GRAPHQL,           /* per root field, see the GraphQL layer */
    ROUTE_FILTER_GATEWAY_ENDPOINTS, /* OpenAI-style model list of the AI gateway */
    ROUTE_FILTER_COUNT
};

/* How the body is handled. */
enum route_body {
    ROUTE_BODY_NONE = 0, /* no body allowed (GET/HEAD/DELETE without JSON) */
    ROUTE_BODY_JSON,     /* buffered, parsed strictly, canonicalised */
    ROUTE_BODY_STREAM,   /* raw bytes streamed unparsed (artifact upload) */
    ROUTE_BODY_OTLP,     /* OTLP protobuf or JSON, possibly compressed (/v1/traces) */
};

/* One authorisation requirement: priv on the securable the id resolves to. */
struct route_check {
    enum route_object object;
    enum route_id_loc loc;
    const char *field; /* query/body/header/path name; body: dotted path with "[]" */
    enum policy_priv priv;
    bool many;     /* the field holds several ids: priv is needed on each */
    bool optional; /* absent or empty is fine (nothing to check for this entry) */
};

#define ROUTE_MAX_CHECKS 3
#define ROUTE_MAX_PARAMS 4

struct route {
    enum http1_method method; /* exactly one; HEAD is matched through GET */
    const char *pattern;      /* concrete path pattern, e.g. "/api/3.0/mlflow/traces/{trace_id}" */
    const char *action;       /* MLflow RPC / handler, e.g. "createRun" */
    enum route_access access;
    size_t nchecks;
    struct route_check checks[ROUTE_MAX_CHECKS]; /* ROUTE_OBJECT only */
    enum route_filter filter;
    enum route_body body;
    bool ajax;        /* an /ajax-api/ path (the UI's twin or a UI-only route) */
    bool fastapi;     /* served by MLflow's FastAPI app rather than Flask */
    const char *note; /* why, when the classification is not obvious; may be NULL */
};

struct route_param {
    const char *name; /* from the pattern, NUL-terminated */
    struct target_str value;
};

struct route_match {
    const struct route *route;
    size_t nparams;
    struct route_param params[ROUTE_MAX_PARAMS];
};

/* Expands the table and builds the matcher. Idempotent; not thread-safe (call once at
 * start-up before workers run). Returns 0, or -1 with err set (duplicate or malformed
 * pattern: a bug in route_table.c). */
int routes_init(char *err, size_t errlen);
void routes_deinit(void);

/*
 * Finds the route for (method, canonical target). HEAD is looked up as GET. Returns 0 with
 * *out filled (params are views into t's buffer), or -1 when nothing matches: unknown path,
 * method not served on that path, a trailing '/' where none is allowed, or a '\' outside a
 * rest-of-path parameter. The caller denies on -1 (404/405 as it sees fit). routes_init()
 * must have succeeded.
 */
int routes_match(enum http1_method m, const struct target *t, struct route_match *out);

/* Value of path parameter `name`, or NULL. */
const struct target_str *route_match_param(const struct route_match *m, const char *name);

size_t routes_count(void);
const struct route *routes_at(size_t i); /* NULL when out of range */

/* Securable kind an object resolves to (EXPERIMENT, MODEL, or SCHEMA for creation);
 * -1 for ROUTE_OBJ_NONE. */
int route_object_kind(enum route_object o);
const char *route_object_name(enum route_object o); /* "run", "model", ... */
const char *route_access_name(enum route_access a); /* "object", "admin", ... */
const char *route_filter_name(enum route_filter f); /* "experiments", ... or "" */
const char *route_id_loc_name(enum route_id_loc l); /* "query", "body", ... */
const char *route_body_name(enum route_body b);     /* "none", "json", ... */

/* The table as markdown (one row per route: action, method, path, access, securable,
 * privilege, filtered) for policies/README.md and `wardenctl routes`. */
void routes_dump_markdown(FILE *f);
/* The table as TSV with a header line: method, pattern, action, access, checks
 * ("object:loc:field:PRIV" joined by ';'), filter, body. Used by the coverage test. */
void routes_dump_tsv(FILE *f);

#endif
