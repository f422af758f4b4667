/*
 * stamp: see stamp.h. Works on the canonical body, so keys are already snake_case, there are no
 * duplicates, and tags are arrays of {key, value} objects when present (body.c checked types).
 */
#include "mlflow/stamp.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *action;
    enum stamp_rule rule;
} rules[] = {
    {"createExperiment", STAMP_CREATE_EXPERIMENT},
    {"createRegisteredModel", STAMP_CREATE_MODEL},
    {"createRun", STAMP_CREATE_RUN},
    {"setTag", STAMP_RUN_TAG},
    {"logBatch", STAMP_RUN_TAGS_BATCH},
    {"setExperimentTag", STAMP_OBJECT_TAG},
    {"deleteExperimentTag", STAMP_OBJECT_TAG},
    {"setRegisteredModelTag", STAMP_OBJECT_TAG},
    {"deleteRegisteredModelTag", STAMP_OBJECT_TAG},
    {"createIssue", STAMP_CREATED_BY},
    {"getOrCreateUserQueue", STAMP_QUEUE_USER},
};

static const char *const who_fields[] = {"created_by", "updated_by", "completed_by"};

/* Whether a body may carry a client-asserted identity field (cheap pre-check). */
static bool mentions_identity(const char *json, size_t len)
{
    for (size_t i = 0; i < sizeof(who_fields) / sizeof(who_fields[0]); i++)
        if (memmem(json, len, who_fields[i], strlen(who_fields[i])))
            return true;
    return false;
}

enum stamp_rule stamp_rule_for(const char *action)
{
    if (!action)
        return STAMP_NONE;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strcmp(rules[i].action, action) == 0)
            return rules[i].rule;
    return STAMP_NONE;
}

static bool reserved(const char *key)
{
    return strncmp(key, "warden.", 7) == 0;
}

__attribute__((format(printf, 5, 6))) static int fail(int *status, int code, char *err,
                                                      size_t errlen, const char *fmt, ...)
{
    if (status)
        *status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static json_t *tag(const char *key, const char *value)
{
    return json_pack("{s:s, s:s}", "key", key, "value", value);
}

/* tags[] of a create request: refuse reserved keys; drop the client's entries for the keys
 * Warden writes (drop_user: mlflow.user); then append Warden's. */
static int fix_tags(json_t *root, const struct stamp_identity *id, bool owner, bool run,
                    int *status, char *err, size_t errlen)
{
    json_t *tags = json_object_get(root, "tags");
    if (tags && json_is_null(tags))
        tags = NULL;
    if (tags && !json_is_array(tags))
        return fail(status, 400, err, errlen, "%s must be an array", "tags");
    if (!tags) {
        tags = json_array();
        if (!tags || json_object_set_new(root, "tags", tags) < 0)
            return fail(status, 500, err, errlen, "%s", "out of memory");
    }
    for (size_t i = 0; i < json_array_size(tags);) {
        json_t *t = json_array_get(tags, i);
        const char *k = json_string_value(json_object_get(t, "key"));
        if (!json_is_object(t) || !k)
            return fail(status, 400, err, errlen, "%s", "every tag needs a string key");
        if (reserved(k))
            return fail(status, 403, err, errlen, "tag %s is reserved: Warden sets it", k);
        if (run && strcmp(k, STAMP_USER_TAG) == 0) {
            json_array_remove(tags, i); /* the client's claim; Warden writes the real one */
            continue;
        }
        i++;
    }
    if (owner && json_array_append_new(tags, tag(STAMP_OWNER_TAG, id->user)) < 0)
        return fail(status, 500, err, errlen, "%s", "out of memory");
    if (run && json_array_append_new(tags, tag(STAMP_USER_TAG, id->user)) < 0)
        return fail(status, 500, err, errlen, "%s", "out of memory");
    if (run && id->actor && json_array_append_new(tags, tag(STAMP_ACTOR_TAG, id->actor)) < 0)
        return fail(status, 500, err, errlen, "%s", "out of memory");
    return 0;
}

/* A run tag set by the client: reserved keys only with the value Warden would write. */
static int check_run_tag(const char *k, const char *v, const struct stamp_identity *id, int *status,
                         char *err, size_t errlen)
{
    if (!k)
        return 0; /* MLflow's own validation answers */
    if (strcmp(k, STAMP_USER_TAG) == 0 && !(v && strcmp(v, id->user) == 0))
        return fail(status, 403, err, errlen, "tag %s is set by Warden to the authenticated user",
                    k);
    if (reserved(k)) {
        bool same =
            v && ((strcmp(k, STAMP_ACTOR_TAG) == 0 && id->actor && strcmp(v, id->actor) == 0));
        if (!same)
            return fail(status, 403, err, errlen, "tag %s is reserved: Warden sets it", k);
    }
    return 0;
}

int stamp_apply(enum stamp_rule rule, const char *json, size_t len, const struct stamp_identity *id,
                struct stamp_result *out, int *status, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (rule == STAMP_NONE && !mentions_identity(json, len))
        return 0;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return fail(status, 400, err, errlen, "%s", "request body must be a JSON object");
    }
    int rc = -1;
    bool changed = false;
    switch (rule) {
    case STAMP_CREATE_EXPERIMENT: {
        json_t *loc = json_object_get(root, "artifact_location");
        if (loc && !json_is_null(loc) && !(json_is_string(loc) && json_string_length(loc) == 0)) {
            fail(status, 403, err, errlen, "%s",
                 "artifact_location may not be chosen by the client: the server assigns it");
            goto done;
        }
        if (fix_tags(root, id, true, false, status, err, errlen) < 0)
            goto done;
        changed = true;
        break;
    }
    case STAMP_CREATE_MODEL:
        if (fix_tags(root, id, true, false, status, err, errlen) < 0)
            goto done;
        changed = true;
        break;
    case STAMP_CREATE_RUN:
        if (fix_tags(root, id, false, true, status, err, errlen) < 0)
            goto done;
        if (json_object_set_new(root, "user_id", json_string(id->user)) < 0) {
            fail(status, 500, err, errlen, "%s", "out of memory");
            goto done;
        }
        changed = true;
        break;
    case STAMP_RUN_TAG:
        if (check_run_tag(json_string_value(json_object_get(root, "key")),
                          json_string_value(json_object_get(root, "value")), id, status, err,
                          errlen) < 0)
            goto done;
        break;
    case STAMP_RUN_TAGS_BATCH: {
        json_t *tags = json_object_get(root, "tags");
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t)
        {
            if (check_run_tag(json_string_value(json_object_get(t, "key")),
                              json_string_value(json_object_get(t, "value")), id, status, err,
                              errlen) < 0)
                goto done;
        }
        break;
    }
    case STAMP_OBJECT_TAG: {
        const char *k = json_string_value(json_object_get(root, "key"));
        if (k && strcmp(k, STAMP_OWNER_TAG) == 0)
            out->owner_tag = true;
        else if (k && reserved(k)) {
            fail(status, 403, err, errlen, "tag %s is reserved: Warden sets it", k);
            goto done;
        }
        break;
    }
    case STAMP_CREATED_BY:
    case STAMP_QUEUE_USER:
        if (json_object_set_new(root, rule == STAMP_CREATED_BY ? "created_by" : "user",
                                json_string(id->user)) < 0) {
            fail(status, 500, err, errlen, "%s", "out of memory");
            goto done;
        }
        changed = true;
        break;
    case STAMP_NONE:
        break;
    }
    for (size_t i = 0; i < sizeof(who_fields) / sizeof(who_fields[0]); i++) {
        json_t *v = json_object_get(root, who_fields[i]);
        if (v && !json_is_null(v)) {
            if (json_object_set_new(root, who_fields[i], json_string(id->user)) < 0) {
                fail(status, 500, err, errlen, "%s", "out of memory");
                goto done;
            }
            changed = true;
        }
    }
    if (changed) {
        out->json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!out->json) {
            fail(status, 500, err, errlen, "%s", "out of memory");
            goto done;
        }
        out->len = strlen(out->json);
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}
