/*
 * Shared fixtures for the audit unit tests: a typical fully-populated record.
 */
#ifndef WARDEN_TESTS_AUDIT_TEST_UTIL_H
#define WARDEN_TESTS_AUDIT_TEST_UTIL_H

#include <string.h>

#include "audit/record.h"

#define S(x)                (x), strlen(x)
#define SETS(r, field, str) AUDIT_SET(r, field, str, strlen(str))

static inline void audit_fill_typical(struct audit_record *r, int64_t t_ms)
{
    audit_record_init(r, t_ms, "mlflow");
    SETS(r, request_id, "7f3c2a10-5b7e-4c1a-9e2d-0a1b2c3d4e5f");
    SETS(r, action, "UpdateRegisteredModel");
    SETS(r, method, "PATCH");
    audit_record_set_path(r, S("/api/2.0/mlflow/registered-models/update?x=1"));
    r->status = 200;
    r->upstream_status = 200;
    SETS(r, subject.user, "alice@example.com");
    audit_record_add_group(r, S("ml-engineers"));
    audit_record_add_group(r, S("team-fraud"));
    SETS(r, subject.auth_method, "jwt");
    SETS(r, subject.token_id, "sha256:9f86d081884c7d65");
    audit_record_add_actor(r, "agent", S("svc-fraud-agent"));
    audit_record_set_source(r, S("10.1.2.3"), 51234);
    SETS(r, user_agent, "mlflow-python-client/3.18.0");
    SETS(r, resource.kind, "registered_model");
    SETS(r, resource.name, "prod.fraud.scorer");
    audit_record_add_resource_id(r, "model", S("prod.fraud.scorer"));
    r->decision.result = AUDIT_DECISION_ALLOW;
    SETS(r, decision.privilege, "APPLY TAG");
    SETS(r, decision.grant, "/etc/warden/policy/fraud.acl:12");
    SETS(r, decision.policy_version, "v42-3f2a1b");
    SETS(r, decision.reason, "granted to group team-fraud on schema prod.fraud");
    audit_record_add_param(r, S("name"), S("prod.fraud.scorer"));
    audit_record_add_param(r, S("description"), S("scores card transactions"));
    r->latency_us = 1834;
    r->bytes_in = 96;
    r->bytes_out = 412;
}

#endif
