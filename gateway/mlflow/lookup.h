/*
 * lookup: the parent look-ups of DESIGN.md §4 as pure functions. For an id taken from a
 * request (a run id, a trace id, an experiment name...) it says which upstream request fetches
 * the facts a decision needs, and reads MLflow's answer into a struct lookup_facts. The
 * connection layer sends the request with Warden's own credential, and rcache.h caches and
 * coalesces the answers. No I/O, clocks or globals; any thread.
 *
 * Requests, checked against mlflow==3.17.2 (handlers.py, job_api.py; answers captured in
 * tests/unit/fixtures/lookup/ by capture.py there). <q> is the id percent-encoded as a query
 * value, <p> as a path segment (every byte but A-Z a-z 0-9 - . _ ~ as %XX):
 *
 *   EXPERIMENT       /api/2.0/mlflow/experiments/get?experiment_id=<q>
 *   EXPERIMENT_NAME  /api/2.0/mlflow/experiments/get-by-name?experiment_name=<q>
 *                    -> experiment.{experiment_id, name, lifecycle_stage, tags[]}
 *   RUN              /api/2.0/mlflow/runs/get?run_id=<q> -> run.info.experiment_id
 *   TRACE            /api/3.0/mlflow/traces/<p>
 *                    -> trace.trace_info.trace_location.mlflow_experiment.experiment_id
 *   LOGGED_MODEL     /api/2.0/mlflow/logged-models/<p>?allow_deleted=true
 *                    -> model.info.experiment_id
 *   DATASET          /api/3.0/mlflow/datasets/<p>/experiment-ids -> experiment_ids[]
 *   LABEL_SCHEMA     /api/3.0/mlflow/label-schemas/get?schema_id=<q>
 *                    -> label_schema.experiment_id
 *   REVIEW_QUEUE     /api/3.0/mlflow/review-queues/get?queue_id=<q>
 *                    -> review_queue.experiment_id
 *   ISSUE            /api/3.0/mlflow/issues/<p> -> issue.experiment_id
 *   JOB              /ajax-api/3.0/jobs/<p> (FastAPI) -> params.experiment_id
 *   MODEL            /api/2.0/mlflow/registered-models/get?name=<q>
 *                    -> registered_model.{name, tags[]}
 *
 * Other route objects need no look-up: ARTIFACT_PATH carries its experiment id in the path,
 * GATEWAY_ENDPOINT and NEW_EXPERIMENT / NEW_MODEL are names the naming rules map directly.
 *
 * Ids: experiment ids must be canonical decimal ("0" or [1-9][0-9]*, at most INT64_MAX);
 * other ids must be 1..LOOKUP_ID_MAX bytes of valid UTF-8 without control characters (C0,
 * DEL, C1: naming_is_clean_text); ids that go in a path segment must also not contain '/'
 * (the ASGI server decodes %2F before routing, so MLflow could not read such an id back) nor
 * be "." or "..". The encoding is exact: MLflow decodes the value once and reads the very
 * bytes Warden authorised (no '+' for space).
 * An id that fails these checks cannot name an object: lookup_request() returns -1 and the
 * caller denies exactly as for LOOKUP_NOT_FOUND.
 *
 * Answers (lookup_answer): 2xx bodies are parsed strictly (a JSON object, no duplicate keys,
 * valid UTF-8; required fields present with the right types; unknown fields ignored); any
 * experiment id must be canonical decimal and the EXPERIMENT answer must carry the very id
 * asked for. A 404 with MLflow's JSON error body (or FastAPI's {"detail": ...}), an answer
 * with error_code RESOURCE_DOES_NOT_EXIST, or INVALID_PARAMETER_VALUE whose message says
 * "not found" / "does not exist" is LOOKUP_NOT_FOUND: the caller denies it exactly like a
 * missing privilege, so existence does not leak. Everything else is LOOKUP_ERROR (the caller
 * answers 503), including a 404 whose body is not an MLflow error: that is MLflow (or
 * something in front of it) lacking the look-up route, a misconfiguration that a "permission
 * denied" would hide. Names in the facts come from the answer, not from the request: where
 * the database folds case, the securable is the object MLflow actually resolved.
 */
#ifndef WARDEN_MLFLOW_LOOKUP_H
#define WARDEN_MLFLOW_LOOKUP_H

#include "mlflow/naming.h"
#include "mlflow/routes.h"

#include <stdbool.h>
#include <stddef.h>

#define LOOKUP_OWNER_TAG   "warden.owner"            /* Warden's creator stamp */
#define LOOKUP_PROMPT_TAG  "mlflow.prompt.is_prompt" /* "true" (any case) marks a prompt */
#define LOOKUP_EXP_ID_MAX  20    /* bytes of a canonical experiment id plus NUL */
#define LOOKUP_ID_MAX      4096  /* longest id or name looked up (the policy's identifier limit) */
#define LOOKUP_OWNER_MAX   1024  /* longest usable warden.owner value */
#define LOOKUP_DATASET_MAX 10000 /* most experiments a dataset may list */
/* Room for any target lookup_request() builds (prefix + 3 bytes per id byte + suffix + NUL). */
#define LOOKUP_TARGET_MAX (64 + 3 * LOOKUP_ID_MAX + 16)

enum lookup_status {
    LOOKUP_FOUND = 0, /* facts filled */
    LOOKUP_NOT_FOUND, /* no such object (or an id that cannot name one): deny as missing
                         privilege */
    LOOKUP_ERROR,     /* upstream failure or an answer that does not parse: 503 */
};

/* What MLflow says about one object. Strings are NUL-terminated; whoever filled the struct
 * owns them (lookup_parse: heap, freed by lookup_facts_clear; rcache: the cache entry). */
struct lookup_facts {
    enum route_object kind;                /* the kind looked up */
    bool has_experiment;                   /* experiment_id is set */
    char experiment_id[LOOKUP_EXP_ID_MAX]; /* canonical decimal; all kinds but DATASET and
                                            MODEL (a JOB may have none) */
    char *name; /* EXPERIMENT(_NAME): the experiment's name; MODEL: the model's */
    size_t name_len;
    bool deleted;      /* EXPERIMENT(_NAME): lifecycle_stage is "deleted" */
    bool owner_tagged; /* EXPERIMENT(_NAME), MODEL: the object carries warden.owner */
    char *owner;       /* its value when usable (a principal, valid UTF-8, no control
                          characters, at most LOOKUP_OWNER_MAX bytes); NULL when absent or
                          unusable (then nobody owns the object by stamp) */
    size_t owner_len;
    bool is_prompt;      /* MODEL: tag mlflow.prompt.is_prompt is "true" (any case) */
    size_t nexperiments; /* DATASET */
    char (*experiments)[LOOKUP_EXP_ID_MAX]; /* DATASET: the experiments it belongs to */
};

void lookup_facts_init(struct lookup_facts *f);
/* Frees what lookup_parse allocated and re-initialises; NULL is a no-op. Only for facts
 * filled by lookup_parse/lookup_answer or lookup_facts_copy, never for rcache's. */
void lookup_facts_clear(struct lookup_facts *f);
/* Deep copy into dst (initialised by this call). Returns 0, or -1 when out of memory (dst
 * is then empty). */
int lookup_facts_copy(struct lookup_facts *dst, const struct lookup_facts *src);

/* Whether objects of this kind are resolved by a look-up (the table above). */
bool lookup_supported(enum route_object kind);
/* Whether the answer is the object's own experiment id, which the caller then resolves with
 * an EXPERIMENT look-up (RUN, TRACE, LOGGED_MODEL, LABEL_SCHEMA, REVIEW_QUEUE, ISSUE, JOB;
 * DATASET gives a list). */
bool lookup_gives_experiment(enum route_object kind);
/* Whether s is a canonical experiment id: "0" or [1-9][0-9]*, at most INT64_MAX. */
bool lookup_is_experiment_id(const char *s, size_t len);

/*
 * Builds the origin-form target of the GET that fetches the facts of `id` (len bytes) into
 * buf (NUL-terminated) and its length into *outlen. Returns 0, or -1 with a message in err
 * when the kind has no look-up, the id cannot name an object (see above), or buf is too
 * small (LOOKUP_TARGET_MAX always suffices).
 */
int lookup_request(enum route_object kind, const char *id, size_t len, char *buf, size_t buflen,
                   size_t *outlen, char *err, size_t errlen);

/* Classifies an upstream answer by HTTP status and body (rules above). */
enum lookup_status lookup_classify(int http_status, const char *body, size_t len);

/* Parses a 2xx body of the look-up of `kind` into *out (initialised by this call). Returns 0,
 * or -1 with a message in err (out is then empty). */
int lookup_parse(enum route_object kind, const char *body, size_t len, struct lookup_facts *out,
                 char *err, size_t errlen);

/*
 * The whole answer: classifies (status, body); when found, parses the body and checks it
 * against the id asked for (EXPERIMENT: same id). Returns LOOKUP_FOUND with *out filled
 * (free with lookup_facts_clear), or NOT_FOUND / ERROR with *out empty and a message in err.
 */
enum lookup_status lookup_answer(enum route_object kind, const char *id, size_t idlen,
                                 int http_status, const char *body, size_t len,
                                 struct lookup_facts *out, char *err, size_t errlen);

/* The owner to put in policy_object.owner for an experiment or model: the creator stamp when
 * the object carries one (an empty view when the stamp is unusable: nobody owns it by stamp),
 * otherwise the home user of its name (naming_result.home_user, len 0 when none). */
struct policy_str lookup_owner(const struct lookup_facts *f, const struct naming_result *n);

const char *lookup_status_name(enum lookup_status s); /* "found", "not-found", "error" */

#endif
