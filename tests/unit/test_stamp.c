/*
 * Unit tests for mlflow/stamp: the identity fields and reserved tags Warden writes into
 * forwarded bodies (issue 5 item 7, mlflow-api.md (c) risk 12). Single-threaded; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mlflow/stamp.h"

static const struct stamp_identity alice = {"alice@acme.example", NULL};
static const struct stamp_identity agent = {"alice@acme.example", "sp:agent"};

static struct stamp_result res;
static int st;
static char err[256];

static int apply(enum stamp_rule r, const char *json, const struct stamp_identity *id)
{
    free(res.json);
    memset(&res, 0, sizeof(res));
    st = 0;
    err[0] = '\0';
    return stamp_apply(r, json, strlen(json), id, &res, &st, err, sizeof(err));
}

/* The value of tag key in the stamped body's tags[], or NULL; counts occurrences. */
static const char *tag_of(const char *key, int *count)
{
    static char out[256];
    json_error_t je;
    json_t *j = json_loads(res.json, 0, &je);
    assert_non_null(j);
    const char *found = NULL;
    *count = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(j, "tags"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "key")), key) == 0) {
            snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(t, "value")));
            found = out;
            (*count)++;
        }
    }
    json_decref(j);
    return found;
}

static void test_rules(void **state)
{
    (void)state;
    assert_int_equal(stamp_rule_for("createExperiment"), STAMP_CREATE_EXPERIMENT);
    assert_int_equal(stamp_rule_for("createRegisteredModel"), STAMP_CREATE_MODEL);
    assert_int_equal(stamp_rule_for("createRun"), STAMP_CREATE_RUN);
    assert_int_equal(stamp_rule_for("logBatch"), STAMP_RUN_TAGS_BATCH);
    assert_int_equal(stamp_rule_for("setRegisteredModelTag"), STAMP_OBJECT_TAG);
    assert_int_equal(stamp_rule_for("getRun"), STAMP_NONE);
    assert_int_equal(stamp_rule_for(NULL), STAMP_NONE);
    assert_int_equal(apply(STAMP_NONE, "{}", &alice), 0);
    assert_null(res.json);
}

static void test_create_experiment_owner(void **state)
{
    (void)state;
    int n;
    assert_int_equal(apply(STAMP_CREATE_EXPERIMENT, "{\"name\":\"risk.fraud.x\"}", &alice), 0);
    assert_non_null(res.json);
    assert_string_equal(tag_of("warden.owner", &n), "alice@acme.example");
    assert_int_equal(n, 1);
    /* client tags kept, Warden's appended */
    assert_int_equal(apply(STAMP_CREATE_EXPERIMENT,
                           "{\"name\":\"x\",\"tags\":[{\"key\":\"team\",\"value\":\"r\"}]}",
                           &alice),
                     0);
    assert_string_equal(tag_of("team", &n), "r");
    assert_string_equal(tag_of("warden.owner", &n), "alice@acme.example");
    assert_int_equal(strlen(res.json), res.len);
}

static void test_create_refusals(void **state)
{
    (void)state;
    assert_int_equal(
        apply(STAMP_CREATE_EXPERIMENT,
              "{\"name\":\"x\",\"tags\":[{\"key\":\"warden.owner\",\"value\":\"bob\"}]}", &alice),
        -1);
    assert_int_equal(st, 403);
    assert_non_null(strstr(err, "warden.owner"));
    assert_int_equal(
        apply(STAMP_CREATE_MODEL,
              "{\"name\":\"m\",\"tags\":[{\"key\":\"warden.anything\",\"value\":\"\"}]}", &alice),
        -1);
    assert_int_equal(st, 403);
    /* a chosen artifact location could point into another experiment's artifacts */
    assert_int_equal(apply(STAMP_CREATE_EXPERIMENT,
                           "{\"name\":\"x\",\"artifact_location\":\"mlflow-artifacts:/1\"}",
                           &alice),
                     -1);
    assert_int_equal(st, 403);
    assert_int_equal(
        apply(STAMP_CREATE_EXPERIMENT, "{\"name\":\"x\",\"artifact_location\":\"\"}", &alice), 0);
    assert_int_equal(apply(STAMP_CREATE_EXPERIMENT, "{\"name\":\"x\",\"tags\":{}}", &alice), -1);
    assert_int_equal(st, 400);
    assert_int_equal(apply(STAMP_CREATE_EXPERIMENT, "[1]", &alice), -1);
    assert_int_equal(st, 400);
    assert_int_equal(
        apply(STAMP_CREATE_MODEL, "{\"name\":\"m\",\"tags\":[{\"value\":\"v\"}]}", &alice), -1);
    assert_int_equal(st, 400);
}

static void test_create_run_identity(void **state)
{
    (void)state;
    int n;
    assert_int_equal(apply(STAMP_CREATE_RUN,
                           "{\"experiment_id\":\"1\",\"user_id\":\"root\",\"tags\":[{\"key\":"
                           "\"mlflow.user\",\"value\":\"root\"},{\"key\":\"k\",\"value\":\"v\"}]}",
                           &alice),
                     0);
    json_error_t je;
    json_t *j = json_loads(res.json, 0, &je);
    assert_string_equal(json_string_value(json_object_get(j, "user_id")), "alice@acme.example");
    json_decref(j);
    assert_string_equal(tag_of("mlflow.user", &n), "alice@acme.example");
    assert_int_equal(n, 1);
    assert_string_equal(tag_of("k", &n), "v");
    assert_null(tag_of("warden.actor", &n));
    /* on behalf of: the actor is recorded too */
    assert_int_equal(apply(STAMP_CREATE_RUN, "{\"experiment_id\":\"1\"}", &agent), 0);
    assert_string_equal(tag_of("warden.actor", &n), "sp:agent");
    assert_string_equal(tag_of("mlflow.user", &n), "alice@acme.example");
    assert_int_equal(apply(STAMP_CREATE_RUN,
                           "{\"tags\":[{\"key\":\"warden.actor\",\"value\":\"sp:x\"}]}", &alice),
                     -1);
    assert_int_equal(st, 403);
}

static void test_run_tags(void **state)
{
    (void)state;
    assert_int_equal(
        apply(STAMP_RUN_TAG, "{\"run_id\":\"r\",\"key\":\"k\",\"value\":\"v\"}", &alice), 0);
    assert_null(res.json); /* unchanged: the canonical body is forwarded */
    assert_int_equal(apply(STAMP_RUN_TAG,
                           "{\"run_id\":\"r\",\"key\":\"mlflow.user\",\"value\":\"bob\"}", &alice),
                     -1);
    assert_int_equal(st, 403);
    assert_int_equal(
        apply(STAMP_RUN_TAG,
              "{\"run_id\":\"r\",\"key\":\"mlflow.user\",\"value\":\"alice@acme.example\"}",
              &alice),
        0);
    assert_int_equal(apply(STAMP_RUN_TAGS_BATCH,
                           "{\"run_id\":\"r\",\"tags\":[{\"key\":\"a\",\"value\":\"1\"},{\"key\":"
                           "\"warden.owner\",\"value\":\"x\"}]}",
                           &alice),
                     -1);
    assert_int_equal(st, 403);
    assert_int_equal(apply(STAMP_RUN_TAGS_BATCH, "{\"run_id\":\"r\",\"metrics\":[]}", &alice), 0);
}

static void test_object_tag_owner(void **state)
{
    (void)state;
    assert_int_equal(apply(STAMP_OBJECT_TAG,
                           "{\"experiment_id\":\"1\",\"key\":\"warden.owner\","
                           "\"value\":\"bob@acme.example\"}",
                           &alice),
                     0);
    assert_true(res.owner_tag); /* allowed, but the caller must hold MANAGE */
    assert_int_equal(
        apply(STAMP_OBJECT_TAG, "{\"name\":\"m\",\"key\":\"note\",\"value\":\"x\"}", &alice), 0);
    assert_false(res.owner_tag);
    assert_int_equal(apply(STAMP_OBJECT_TAG, "{\"name\":\"m\",\"key\":\"warden.x\"}", &alice), -1);
    assert_int_equal(st, 403);
}

static void test_identity_fields(void **state)
{
    (void)state;
    json_error_t je;
    assert_int_equal(apply(STAMP_CREATED_BY,
                           "{\"experiment_id\":\"1\",\"name\":\"i\","
                           "\"created_by\":\"root\"}",
                           &alice),
                     0);
    json_t *j = json_loads(res.json, 0, &je);
    assert_string_equal(json_string_value(json_object_get(j, "created_by")), "alice@acme.example");
    json_decref(j);
    assert_int_equal(apply(STAMP_QUEUE_USER, "{\"experiment_id\":\"1\",\"user\":\"root\"}", &alice),
                     0);
    j = json_loads(res.json, 0, &je);
    assert_string_equal(json_string_value(json_object_get(j, "user")), "alice@acme.example");
    json_decref(j);
    /* any action: a client-asserted updated_by / completed_by is replaced */
    assert_int_equal(apply(STAMP_NONE, "{\"id\":\"x\",\"updated_by\":\"root\"}", &alice), 0);
    j = json_loads(res.json, 0, &je);
    assert_string_equal(json_string_value(json_object_get(j, "updated_by")), "alice@acme.example");
    json_decref(j);
    assert_int_equal(apply(STAMP_NONE, "{\"id\":\"x\"}", &alice), 0);
    assert_null(res.json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),           cmocka_unit_test(test_create_experiment_owner),
        cmocka_unit_test(test_create_refusals), cmocka_unit_test(test_create_run_identity),
        cmocka_unit_test(test_run_tags),        cmocka_unit_test(test_object_tag_owner),
        cmocka_unit_test(test_identity_fields),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(res.json);
    return rc;
}
