/*
 * stamp: identity fields Warden writes into the requests it forwards (issue 5 item 7, mlflow-api.md
 * (c) risk 12). MLflow stores what clients assert about themselves (a run's user_id and its
 * `mlflow.user` tag, tags of any name); Warden replaces those assertions with the authenticated
 * identity and keeps its own reserved tags out of clients' hands:
 *
 *   createExperiment, createRegisteredModel   tag `warden.owner` = the creator (appended; a
 *                                             client-sent warden.* tag is refused). The owner
 *                                             tag is what later decisions pass to the policy
 *                                             as the object's recorded owner. A client-chosen
 *                                             artifact_location is refused (it could point at
 *                                             another experiment's artifacts).
 *   createRun                                 user_id = the user; tag `mlflow.user` = the user
 *                                             (the MLflow client always sends the OS login);
 *                                             tag `warden.actor` = the acting agent when there
 *                                             is one; client-sent warden.* tags refused.
 *   setTag, logBatch (run tags)               `mlflow.user` and `warden.*` are refused unless
 *                                             the value is what Warden would write.
 *   createIssue, getOrCreateUserQueue         created_by / user = the user.
 *   every body                                top-level created_by, updated_by and
 *                                             completed_by, when present, are replaced by
 *                                             the user (MLflow stores them as given).
 *   set/deleteExperimentTag, set/deleteRegisteredModelTag
 *                                             touching `warden.owner` needs MANAGE instead of
 *                                             the route's privilege (reported, not refused);
 *                                             other warden.* keys are refused.
 *
 * Pure: input is the canonical JSON body (mlflow/body), output a new body; no I/O or globals.
 */
#ifndef WARDEN_MLFLOW_STAMP_H
#define WARDEN_MLFLOW_STAMP_H

#include <stdbool.h>
#include <stddef.h>

#define STAMP_OWNER_TAG "warden.owner"
#define STAMP_ACTOR_TAG "warden.actor"
#define STAMP_USER_TAG  "mlflow.user"

enum stamp_rule {
    STAMP_NONE = 0,
    STAMP_CREATE_EXPERIMENT,
    STAMP_CREATE_MODEL,
    STAMP_CREATE_RUN,
    STAMP_RUN_TAG,        /* setTag: top-level key/value */
    STAMP_RUN_TAGS_BATCH, /* logBatch: tags[] */
    STAMP_OBJECT_TAG,     /* experiment / registered model tag set or delete: top-level key */
    STAMP_CREATED_BY,     /* createIssue: created_by = the user */
    STAMP_QUEUE_USER,     /* getOrCreateUserQueue: user = the user (a user's own queue) */
};

/* The rule for an MLflow action name (route.action), STAMP_NONE for the rest. */
enum stamp_rule stamp_rule_for(const char *action);

struct stamp_identity {
    const char *user;  /* the subject, principal notation ("alice@x", "sp:x") */
    const char *actor; /* the acting agent (on-behalf-of), or NULL */
};

struct stamp_result {
    char *json; /* the body to forward (malloc'd, NUL-terminated); NULL when unchanged */
    size_t len;
    bool owner_tag; /* STAMP_OBJECT_TAG: the request touches warden.owner (needs MANAGE) */
};

/*
 * Applies rule to the canonical body json[0..len). Returns 0 with *out filled, or -1 with
 * *status (400: malformed for the rule; 403: a reserved field the client may not set) and a
 * client-safe message in err.
 */
int stamp_apply(enum stamp_rule rule, const char *json, size_t len, const struct stamp_identity *id,
                struct stamp_result *out, int *status, char *err, size_t errlen);

#endif
