/*
 * filter: response filtering for MLflow list/search endpoints (issue 5 item 6, DESIGN.md §4).
 * A filtered response shows only the items the caller may see, and still honours the
 * client's max_results by asking MLflow for further pages (bounded), with page tokens that
 * resume exactly after the last item returned.
 *
 * Pure module: no I/O, no clocks, no globals. The connection layer owns the sockets; it drives
 * a planner (below) by sending the requests the planner asks for and feeding it the response
 * bodies. Visibility is decided by a caller-supplied predicate, so this module knows nothing
 * about the policy. Any thread; a planner belongs to one request (not shared).
 *
 * 1. The table (filter_spec_get): for each kind of list, where the item array is in the
 *    response, where each item's securable key is (a path of object members), what the key
 *    names (filter_key_kind) and the name of the page-token field. Shapes taken from the
 *    pinned MLflow (3.17.2) and checked against captured responses in
 *    tests/unit/fixtures/filter/.
 *
 *      kind             items field         key path                                 key kind
 *      experiments      experiments         experiment_id                            EXPERIMENT_ID
 *      models           registered_models   name                                     MODEL_NAME
 *      model_versions   model_versions      name                                     MODEL_NAME
 *      datasets         datasets            dataset_id                               DATASET_ID
 *      gateway_endpoints data               id              (no paging) GATEWAY_ENDPOINT runs runs
 * info.experiment_id                       EXPERIMENT_ID logged_models    models info.experiment_id
 * EXPERIMENT_ID traces           traces              trace_location.mlflow_experiment.experiment_id
 *                                                                                    EXPERIMENT_ID
 *
 *    The search responses of MLflow's evaluation datasets carry no experiment ids, so a
 *    dataset is decided by its id (the caller resolves dataset -> experiments). GraphQL is
 *    filtered per root field by the GraphQL layer, which can call filter_page() on the list
 *    it extracts; it has no entry here.
 *
 * 2. filter_page(): parses one upstream body strictly (a JSON object, no duplicate keys; the
 *    items field, when present, an array; the token field, when present, a string) and keeps
 *    the visible items in order. An item that is not an object, or whose key is missing, not
 *    a string, empty, or (experiment ids) not canonical decimal, is dropped and counted: fail
 *    closed. For datasets whose item lists experiment ids, the predicate is not consulted on
 *    them; only the dataset id decides.
 *
 * 3. The planner: collects up to N visible items (N = the client's max_results, or MLflow's
 *    default for the endpoint) by asking MLflow for pages of the same query (same filter,
 *    same order, page size P) until N are collected, MLflow has no further page, or a bound
 *    is reached (max_pages upstream pages or max_scanned items scanned; then the response is
 *    short and carries a token, exactly as MLflow's own short pages do).
 *
 *    Warden page token. What the client receives as next_page_token is
 *        base64url( payload || HMAC-SHA256(key, payload)[0..15] )
 *    payload = version (1 byte, 1) | filter kind (1) | P (u32 BE) | offset (u32 BE)
 *              | SHA-256(binding)[0..15] | upstream token (rest, may be empty)
 *    meaning "resume at item `offset` (raw index, visible or not) of the upstream page that
 *    MLflow returns for (upstream token, page size P)". The key is per process (random at
 *    start-up, filter_key_init), so tokens do not survive a restart and clients can forge
 *    neither offsets nor upstream tokens. `binding` is whatever the caller wants a token tied
 *    to: the principal and the canonical query (filter string, order_by, experiment ids,
 *    view type); a token presented with another binding is refused. Every client page token
 *    on a filtered route must be a Warden token: raw MLflow tokens are refused too, so no
 *    one can page MLflow directly around the filter. Offsets count raw upstream items, so
 *    as with MLflow's own offset tokens, rows created or deleted between two requests can
 *    shift the window by that many rows (never reveal an invisible one: every item returned
 *    passes the predicate when it is returned).
 *
 *    Driving it (connection layer): p = planner_new(...) (NULL: answer 400 with err); then
 *    while planner_next_upstream_request(p, &r) == 1: rewrite the client's request with
 *    planner_rewrite_body / planner_rewrite_query, send it, and on a 200 call planner_feed
 *    (1: stop; -1: answer 502). A non-200 upstream answer is forwarded to the client as it
 *    is and the planner freed (MLflow's own validation errors, e.g. max_results above the
 *    endpoint's limit, reach the client unchanged). Finally planner_result() is the body.
 *
 *    Keys that need a lookup before they can be decided (dataset ids -> experiments): call
 *    filter_page() once with a predicate that records the keys and returns false, resolve
 *    them asynchronously into a cache, then feed the planner with a predicate that reads the
 *    cache and answers false for anything unresolved.
 */
#ifndef WARDEN_MLFLOW_FILTER_H
#define WARDEN_MLFLOW_FILTER_H

#include "mlflow/routes.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum filter_kind {
    FILTER_EXPERIMENTS = 0,
    FILTER_MODELS,         /* registered models and prompts */
    FILTER_MODEL_VERSIONS, /* decided by the version's model name */
    FILTER_DATASETS,       /* evaluation datasets, decided by dataset id */
    FILTER_GATEWAY_ENDPOINTS,
    FILTER_RUNS,
    FILTER_LOGGED_MODELS,
    FILTER_TRACES,
    FILTER_KIND_COUNT
};

/* What the key handed to the predicate names. */
enum filter_key_kind {
    FILTER_KEY_EXPERIMENT_ID = 0, /* canonical decimal experiment id */
    FILTER_KEY_MODEL_NAME,        /* registered model / prompt name */
    FILTER_KEY_DATASET_ID,        /* evaluation dataset id */
    FILTER_KEY_GATEWAY_ENDPOINT,  /* AI gateway endpoint name */
};

#define FILTER_KEY_PATH_MAX 3

struct filter_spec {
    enum filter_kind kind;
    const char *name;                          /* "experiments", ... */
    const char *items_field;                   /* top-level array member */
    const char *key_path[FILTER_KEY_PATH_MAX]; /* members from the item to the key; NULL-ended */
    enum filter_key_kind key_kind;
    const char *token_field;  /* response next-page-token member; NULL: not paged */
    long default_max_results; /* what MLflow uses when the client sends none */
};

/* The table entry, or NULL for an out-of-range kind. */
const struct filter_spec *filter_spec_get(enum filter_kind k);
/* The filter kind of a route's filter; -1 for ROUTE_FILTER_NONE and ROUTE_FILTER_GRAPHQL
 * (GraphQL filtering belongs to the GraphQL layer). */
int filter_kind_from_route(enum route_filter f, enum filter_kind *out);

/* Decides one key. key is NOT NUL-terminated; len > 0. item is the whole list entry (a JSON
 * object: experiments and models carry their name and tags, so the owner stamp can be read
 * without a look-up). Returns true to show the item. */
typedef bool (*filter_visible_fn)(void *ctx, enum filter_key_kind kind, const char *key, size_t len,
                                  const json_t *item);

/* One filtered upstream page. */
struct filter_page {
    json_t *items;    /* array of the kept items, in upstream order (owned) */
    size_t *index;    /* index[i]: raw upstream position of items[i] */
    char *items_json; /* the kept items serialised, comma-separated, no brackets:
                         concatenate pages with ',' between non-empty parts */
    size_t items_json_len;
    size_t scanned;        /* items in the upstream page */
    size_t dropped;        /* invisible or malformed */
    char *next_page_token; /* upstream token, NULL when absent or empty */
    json_t *rest;          /* the response's other top-level members (owned) */
};

/*
 * Filters one upstream response body. Returns 0 with *out filled (release with
 * filter_page_clear), or -1 with err set when the body is not a JSON object, has duplicate
 * keys, or its items/token fields have the wrong type (the caller fails closed: 502).
 */
int filter_page(const struct filter_spec *spec, const char *body, size_t len,
                filter_visible_fn visible, void *ctx, struct filter_page *out, char *err,
                size_t errlen);
void filter_page_clear(struct filter_page *p);

/* ---- Warden page tokens ---- */

#define FILTER_KEY_LEN 32
struct filter_key {
    unsigned char k[FILTER_KEY_LEN];
};
/* Fills k with fresh random bytes (OpenSSL RAND_bytes); call once at start-up. */
int filter_key_init(struct filter_key *k, char *err, size_t errlen);

struct filter_token {
    enum filter_kind kind;
    uint32_t page_size;   /* P: upstream max_results the offset is relative to */
    uint32_t offset;      /* raw index in that upstream page */
    char *upstream_token; /* NUL-terminated; "" = the first page */
};

/* Encodes a token; *out is malloc'd, NUL-terminated. 0 or -1. */
int filter_token_encode(const struct filter_key *key, const char *binding, size_t binding_len,
                        const struct filter_token *t, char **out, char *err, size_t errlen);
/* Decodes and verifies; 0 with *t filled (free t->upstream_token), or -1 (malformed, bad MAC,
 * wrong binding, unknown version). */
int filter_token_decode(const struct filter_key *key, const char *binding, size_t binding_len,
                        const char *tok, size_t len, struct filter_token *t, char *err,
                        size_t errlen);

/* ---- the refill planner ---- */

struct planner_limits {
    unsigned max_pages; /* upstream pages per client request (default 10) */
    size_t max_scanned; /* upstream items scanned per client request (default 10000) */
    unsigned min_page;  /* smallest upstream page size P asked for (0: P = max_results); with
                           e.g. 100, a caller who may see few items still gets full pages of a
                           small max_results within the page bound */
};

struct planner_request {
    const char *page_token; /* upstream page_token to send; NULL: send none */
    long max_results;       /* upstream max_results to send; 0: leave the request's own */
};

struct planner;

/*
 * Starts a filtered request. max_results: the client's value, or -1 when it sent none (the
 * endpoint's default applies); 0 or less otherwise is refused. page_token: the client's
 * page token (NULL or "" = first page), which must be a Warden token for this binding.
 * limits may be NULL (defaults). Returns NULL with err set; a refused token or max_results
 * is the client's error (400).
 */
struct planner *planner_new(const struct filter_spec *spec, const struct filter_key *key,
                            const char *binding, size_t binding_len, long max_results,
                            const char *page_token, const struct planner_limits *limits, char *err,
                            size_t errlen);
void planner_free(struct planner *p);

/* The next upstream request to send: returns 1 and fills *out (pointers valid until the
 * next planner call), or 0 when no request is due (planner done). */
int planner_next_upstream_request(struct planner *p, struct planner_request *out);

/*
 * Feeds the body of the upstream answer (a 200) to the last request. Returns 0 when another
 * upstream request is due, 1 when done, -1 with err set on a malformed body (fail closed).
 */
int planner_feed(struct planner *p, const char *body, size_t len, filter_visible_fn visible,
                 void *ctx, char *err, size_t errlen);

/* The client's response: {<items>: [...], "next_page_token": "<warden token>"} plus the
 * other top-level members of the first upstream page; the token only when there is more.
 * *out is malloc'd, NUL-terminated. Only after planner_feed returned 1. */
int planner_result(struct planner *p, char **out, size_t *outlen, char *err, size_t errlen);

/* Counters for logs and metrics. */
size_t planner_dropped(const struct planner *p);
unsigned planner_pages(const struct planner *p);

/*
 * Request rewriting for planner_request. JSON body (POST): replaces "page_token" and
 * "max_results" (removes page_token when NULL; keeps max_results when 0), other members
 * unchanged; *out malloc'd. Query (GET): the raw query without '?' (may be empty) with every
 * page_token and max_results parameter removed and the new ones appended (percent-encoded);
 * *out malloc'd, NUL-terminated, without '?'. Both return 0 or -1 with err set.
 */
int planner_rewrite_body(const struct planner_request *r, const char *body, size_t len, char **out,
                         size_t *outlen, char *err, size_t errlen);
int planner_rewrite_query(const struct planner_request *r, const char *query, size_t len,
                          char **out, size_t *outlen, char *err, size_t errlen);

#endif
