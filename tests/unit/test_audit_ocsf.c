/*
 * Unit tests for audit/format_ocsf: the OCSF API Activity rendering. Checks the base-event
 * and class-required attributes (governance.md 4.2), activity_id per action verb and per HTTP
 * method, type_uid = class_uid*100 + activity_id, status/severity per HTTP status and
 * decision, and that every attribute name emitted outside "unmapped" exists in
 * ocsf-schema 1.9.0-dev @ a5cfc68 (the name lists below are copied from that schema's
 * events/base_event.json, events/application/api_activity.json and objects/<name>.json, including
 * the attributes objects inherit from _entity, _resource and endpoint). Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit/format.h"
#include "audit_test_util.h"

static char line[AUDIT_LINE_MAX];

struct ocsf_type {
    const char *name;
    const char *attrs[64];
};

static const struct ocsf_type types[] = {
    {"event", {"activity_id",     "activity_name", "category_name", "category_uid",
               "class_name",      "class_uid",     "count",         "duration",
               "end_time",        "enrichments",   "message",       "metadata",
               "observables",     "raw_data",      "raw_data_hash", "raw_data_size",
               "severity",        "severity_id",   "start_time",    "status",
               "status_code",     "status_detail", "status_id",     "time",
               "timezone_offset", "type_name",     "type_uid",      "unmapped",
               "actor",           "api",           "dst_endpoint",  "http_request",
               "http_response",   "resources",     "src_endpoint",  NULL}},
    {"metadata",
     {"correlation_uid",
      "debug",
      "event_code",
      "extension",
      "extensions",
      "is_truncated",
      "labels",
      "log_format",
      "log_level",
      "log_name",
      "log_provider",
      "log_source",
      "log_version",
      "logged_time",
      "loggers",
      "modified_time",
      "original_event_uid",
      "original_time",
      "processed_time",
      "product",
      "profiles",
      "reporter",
      "sequence",
      "source",
      "tags",
      "tenant_uid",
      "total_queued_duration",
      "transformation_info_list",
      "transmit_time",
      "type",
      "uid",
      "untruncated_size",
      "version",
      NULL}},
    {"product",
     {"cpe_name", "feature", "lang", "name", "path", "uid", "url_string", "vendor_name", "version",
      NULL}},
    {"actor",
     {"app_name", "app_uid", "authorizations", "iam_role", "idp", "invoked_by", "process",
      "session", "user", NULL}},
    {"user",
     {"account",
      "credential_uid",
      "display_name",
      "domain",
      "email_addr",
      "forward_addr",
      "full_name",
      "groups",
      "has_mfa",
      "ldap_person",
      "name",
      "org",
      "phone_number",
      "programmatic_credentials",
      "risk_level",
      "risk_level_id",
      "risk_score",
      "type",
      "type_id",
      "uid",
      "uid_alt",
      "uid_numeric",
      NULL}},
    {"group",
     {"desc", "domain", "name", "privileges", "type", "uid", "uid_alt", "uid_numeric", NULL}},
    {"authorization", {"decision", "policy", NULL}},
    {"policy", {"data", "desc", "group", "is_applied", "name", "type", "uid", "version", NULL}},
    {"api", {"group", "operation", "request", "response", "service", "token", "version", NULL}},
    {"service", {"labels", "name", "tags", "uid", "version", "uid_numeric", NULL}},
    {"request", {"containers", "data", "flags", "uid", NULL}},
    {"response",
     {"code", "containers", "data", "error", "error_message", "flags", "message", NULL}},
    {"network_endpoint",
     {"autonomous_system",
      "fingerprints",
      "intermediate_ips",
      "isp",
      "isp_org",
      "network_scope",
      "network_scope_id",
      "port",
      "proxy_endpoint",
      "svc_name",
      "type",
      "type_id",
      "uid",
      "agent_list",
      "domain",
      "hostname",
      "hw_info",
      "instance_uid",
      "interface_name",
      "interface_uid",
      "ip",
      "location",
      "mac",
      "mac_vendor",
      "name",
      "os",
      "owner",
      "pool",
      "subnet_uid",
      "vlan_uid",
      "vpc_uid",
      "zone",
      "uid_numeric",
      NULL}},
    {"http_request",
     {"args", "body_length", "http_headers", "http_method", "length", "referrer", "uid", "url",
      "user_agent", "version", "x_forwarded_for", NULL}},
    {"url",
     {"categories", "category_ids", "domain", "hostname", "path", "port", "query_string",
      "resource_type", "scheme", "subdomain", "url_string", NULL}},
    {"http_response",
     {"body_length", "code", "content_type", "http_headers", "latency", "length", "message",
      "status", NULL}},
    {"resource_details",
     {"agent_list",
      "cloud_partition",
      "criticality",
      "group",
      "hostname",
      "ip",
      "is_backed_up",
      "name",
      "namespace",
      "owner",
      "provider",
      "region",
      "resource_relationship",
      "role",
      "role_id",
      "version",
      "zone",
      "created_time",
      "data",
      "labels",
      "modified_time",
      "tags",
      "type",
      "uid",
      "uid_alt",
      "uid_numeric",
      NULL}},
};

/* Object-typed attributes: (parent type, attribute) -> child type. Arrays hold the child. */
static const struct {
    const char *parent, *attr, *child;
} edges[] = {
    {"event", "metadata", "metadata"},
    {"metadata", "product", "product"},
    {"event", "actor", "actor"},
    {"actor", "user", "user"},
    {"user", "groups", "group"},
    {"actor", "authorizations", "authorization"},
    {"authorization", "policy", "policy"},
    {"event", "api", "api"},
    {"api", "service", "service"},
    {"api", "request", "request"},
    {"api", "response", "response"},
    {"event", "src_endpoint", "network_endpoint"},
    {"event", "http_request", "http_request"},
    {"http_request", "url", "url"},
    {"event", "http_response", "http_response"},
    {"event", "resources", "resource_details"},
};

static const struct ocsf_type *type_named(const char *name)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    fail_msg("no type %s", name);
    return NULL;
}

/* The first attribute name under obj (of OCSF type `type`) that the schema does not define,
 * as "type.name" in bad, or false if all are known. */
static bool unknown_attr(json_t *obj, const char *type, char *bad, size_t badlen)
{
    const struct ocsf_type *t = type_named(type);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool known = false;
        for (size_t i = 0; t->attrs[i]; i++)
            known = known || strcmp(t->attrs[i], key) == 0;
        if (!known) {
            snprintf(bad, badlen, "%s.%s", type, key);
            return true;
        }
        /* unmapped and resource data are free-form. */
        if (strcmp(key, "unmapped") == 0 || strcmp(key, "data") == 0)
            continue;
        for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++) {
            if (strcmp(edges[e].parent, type) != 0 || strcmp(edges[e].attr, key) != 0)
                continue;
            if (json_is_array(val)) {
                size_t i;
                json_t *el;
                json_array_foreach(val, i, el)
                {
                    if (unknown_attr(el, edges[e].child, bad, badlen))
                        return true;
                }
            } else if (unknown_attr(val, edges[e].child, bad, badlen)) {
                return true;
            }
        }
    }
    return false;
}

static void check_object(json_t *obj, const char *type)
{
    char bad[128];
    if (unknown_attr(obj, type, bad, sizeof(bad)))
        fail_msg("%s is not an OCSF attribute", bad);
}

static json_t *render(const struct audit_record *r)
{
    size_t n = 0;
    assert_int_equal(audit_format_ocsf(r, "0.1.0", line, sizeof(line), &n), 0);
    json_error_t e;
    json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("invalid JSON (%s): %s", e.text, line);
    check_object(j, "event");
    return j;
}

static json_int_t geti(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", k);
    return json_integer_value(v);
}

static void test_required_attributes(void **state)
{
    struct audit_record r;
    audit_fill_typical(&r, 1764349215123LL);
    r.seq = 7;
    json_t *j = render(&r);
    assert_int_equal(geti(j, "class_uid"), 6003);
    assert_int_equal(geti(j, "category_uid"), 6);
    assert_int_equal(geti(j, "activity_id"), 3); /* UpdateRegisteredModel */
    assert_int_equal(geti(j, "type_uid"), 600303);
    assert_int_equal(geti(j, "severity_id"), 1);
    assert_int_equal(geti(j, "time"), 1764349215123LL);
    assert_int_equal(geti(j, "status_id"), 1);
    json_t *md = json_object_get(j, "metadata");
    assert_non_null(json_object_get(md, "version"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "product"), "name")),
                        "Warden");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(md, "product"), "version")), "0.1.0");
    assert_int_equal(geti(md, "sequence"), 7);
    json_t *api = json_object_get(j, "api");
    assert_string_equal(json_string_value(json_object_get(api, "operation")),
                        "UpdateRegisteredModel");
    json_t *actor = json_object_get(j, "actor");
    assert_string_equal(json_string_value(json_object_get(json_object_get(actor, "user"), "name")),
                        "alice@example.com");
    json_t *authz = json_array_get(json_object_get(actor, "authorizations"), 0);
    assert_string_equal(json_string_value(json_object_get(authz, "decision")), "allow");
    assert_non_null(json_object_get(j, "src_endpoint"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "http_request"), "url"), "path")),
                        "/api/2.0/mlflow/registered-models/update");
    json_t *res = json_array_get(json_object_get(j, "resources"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "name")), "prod.fraud.scorer");
    json_t *un = json_object_get(j, "unmapped");
    assert_string_equal(json_string_value(json_object_get(un, "auth_method")), "jwt");
    assert_non_null(json_object_get(un, "hash"));
    json_decref(j);
}

/* The name check itself catches unknown names at any depth, and skips unmapped. */
static void test_name_check_catches_unknown(void **state)
{
    struct audit_record r;
    audit_fill_typical(&r, 1);
    json_t *j = render(&r);
    char bad[128];
    json_object_set_new(json_object_get(j, "unmapped"), "anything", json_true());
    assert_false(unknown_attr(j, "event", bad, sizeof(bad)));
    json_t *user = json_object_get(json_object_get(j, "actor"), "user");
    json_object_set_new(json_array_get(json_object_get(user, "groups"), 0), "bogus", json_true());
    assert_true(unknown_attr(j, "event", bad, sizeof(bad)));
    assert_string_equal(bad, "group.bogus");
    json_decref(j);
    j = render(&r);
    json_object_set_new(json_object_get(j, "metadata"), "product_name", json_true());
    assert_true(unknown_attr(j, "event", bad, sizeof(bad)));
    assert_string_equal(bad, "metadata.product_name");
    json_decref(j);
}

static void test_activity_mapping(void **state)
{
    static const struct {
        const char *method, *action;
        int id;
    } cases[] = {
        {"POST", "CreateExperiment", 1},
        {"POST", "LogBatch", 1},
        {"POST", "SearchRuns", 2},
        {"GET", "GetRun", 2},
        {"GET", "ListArtifacts", 2},
        {"POST", "UpdateRun", 3},
        {"POST", "SetTag", 3},
        {"POST", "RenameRegisteredModel", 3},
        {"POST", "DeleteRun", 4},
        {"DELETE", "DeleteRegisteredModelAlias", 4},
        {"POST", "", 1},
        {"GET", "", 2},
        {"HEAD", "", 2},
        {"PUT", "", 3},
        {"PATCH", "", 3},
        {"DELETE", "", 4},
        {"OPTIONS", "", 99},
        {"BREW", "", 99},
        {"GET", "Settings", 2},
        {"POST", "Getter", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = audit_ocsf_activity(cases[i].method, cases[i].action);
        if (got != cases[i].id)
            fail_msg("%s %s: activity %d, want %d", cases[i].method, cases[i].action, got,
                     cases[i].id);
        struct audit_record r;
        audit_record_init(&r, 1, "mlflow");
        SETS(&r, method, cases[i].method);
        SETS(&r, action, cases[i].action);
        r.status = 200;
        json_t *j = render(&r);
        assert_int_equal(geti(j, "activity_id"), cases[i].id);
        assert_int_equal(geti(j, "type_uid"), 600300 + cases[i].id);
        json_decref(j);
    }
}

static void test_status_and_severity(void **state)
{
    static const struct {
        int status;
        enum audit_decision d;
        int status_id, severity_id;
        const char *status_name;
    } cases[] = {
        {200, AUDIT_DECISION_ALLOW, 1, 1, "Success"}, {304, AUDIT_DECISION_NONE, 1, 1, "Success"},
        {401, AUDIT_DECISION_NONE, 2, 3, "Failure"},  {403, AUDIT_DECISION_DENY, 2, 3, "Failure"},
        {404, AUDIT_DECISION_ALLOW, 2, 2, "Failure"}, {400, AUDIT_DECISION_NONE, 2, 2, "Failure"},
        {502, AUDIT_DECISION_ALLOW, 2, 2, "Failure"}, {0, AUDIT_DECISION_NONE, 0, 2, "Unknown"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct audit_record r;
        audit_fill_typical(&r, 5);
        r.status = cases[i].status;
        r.decision.result = cases[i].d;
        json_t *j = render(&r);
        assert_int_equal(geti(j, "status_id"), cases[i].status_id);
        assert_int_equal(geti(j, "severity_id"), cases[i].severity_id);
        assert_string_equal(json_string_value(json_object_get(j, "status")), cases[i].status_name);
        json_t *authz = json_object_get(json_object_get(j, "actor"), "authorizations");
        if (cases[i].d == AUDIT_DECISION_NONE)
            assert_null(authz);
        else
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(authz, 0), "decision")),
                cases[i].d == AUDIT_DECISION_ALLOW ? "allow" : "deny");
        json_decref(j);
    }
}

/* A minimal record (unauthenticated, no resource) still carries every required attribute. */
static void test_minimal_record(void **state)
{
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    SETS(&r, method, "GET");
    audit_record_set_path(&r, S("/garbage"));
    r.status = 400;
    json_t *j = render(&r);
    const char *req[] = {"activity_id", "category_uid", "class_uid", "metadata", "severity_id",
                         "time",        "type_uid",     "actor",     "api",      "src_endpoint"};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
        if (!json_object_get(j, req[i]))
            fail_msg("required attribute %s missing", req[i]);
    assert_int_equal(json_array_size(json_object_get(j, "resources")), 0);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_attributes),
        cmocka_unit_test(test_name_check_catches_unknown),
        cmocka_unit_test(test_activity_mapping),
        cmocka_unit_test(test_status_and_severity),
        cmocka_unit_test(test_minimal_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
