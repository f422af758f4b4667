/*
 * Unit tests for audit/record and audit/format_json: every text field escaped for any byte
 * input (controls, quotes, invalid UTF-8), truncation at caps and UTF-8 boundaries, the
 * redaction rules for secret keys and credential-looking values, the parameter caps, and the
 * stable member order of the native JSON line. Single-threaded; no I/O.
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

static json_t *render(const struct audit_record *r)
{
    size_t n = 0;
    assert_int_equal(audit_format_json(r, line, sizeof(line), &n), 0);
    assert_int_equal(strlen(line), n);
    json_error_t e;
    json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("invalid JSON (%s at %d): %s", e.text, e.position, line);
    return j;
}

static const char *jstr(json_t *j, const char *path)
{
    /* path: "a.b" (two levels at most) */
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s", path);
    char *dot = strchr(tmp, '.');
    json_t *v;
    if (dot) {
        *dot = '\0';
        v = json_object_get(json_object_get(j, tmp), dot + 1);
    } else {
        v = json_object_get(j, tmp);
    }
    if (!json_is_string(v))
        fail_msg("%s is not a string", path);
    return json_string_value(v);
}

static void test_typical_fields(void **state)
{
    struct audit_record r;
    audit_fill_typical(&r, 1764349215123LL);
    json_t *j = render(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "v")), AUDIT_SCHEMA_VERSION);
    assert_string_equal(jstr(j, "time"), "2025-11-28T17:00:15.123Z");
    assert_string_equal(jstr(j, "path"), "/api/2.0/mlflow/registered-models/update");
    assert_string_equal(jstr(j, "subject.user"), "alice@example.com");
    assert_string_equal(jstr(j, "decision.result"), "allow");
    assert_string_equal(jstr(j, "decision.grant"), "/etc/warden/policy/fraud.acl:12");
    assert_string_equal(jstr(j, "params.name"), "prod.fraud.scorer");
    assert_string_equal(jstr(j, "source.ip"), "10.1.2.3");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "source"), "port")),
                     51234);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "subject"), "groups")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "actors"), 0), "id")),
        "svc-fraud-agent");
    assert_false(json_is_true(json_object_get(j, "truncated")));
    /* Stable order: "v" first, then "seq"; "hash" last, preceded by "prev_hash". */
    assert_memory_equal(line, "{\"v\":1,\"seq\":", 13);
    assert_non_null(strstr(line, ",\"prev_hash\":\"\",\"hash\":\"\"}"));
    assert_string_equal(line + strlen(line) - 26, ",\"prev_hash\":\"\",\"hash\":\"\"}");
    json_decref(j);
}

/* Every text field, filled with every byte value, renders as valid JSON and round-trips the
 * ASCII-safe part. */
static void test_every_field_escaped(void **state)
{
    char nasty[256];
    for (int i = 0; i < 255; i++)
        nasty[i] = (char)(i + 1);
    nasty[255] = '\0';
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    AUDIT_SET(&r, request_id, nasty, 63);
    AUDIT_SET(&r, service, nasty, 15);
    AUDIT_SET(&r, action, nasty, 63);
    AUDIT_SET(&r, method, nasty, 15);
    audit_record_set_path(&r, nasty, 62); /* stop before '?' (0x3f) */
    AUDIT_SET(&r, subject.user, nasty + 128, 127);
    AUDIT_SET(&r, subject.auth_method, nasty, 15);
    AUDIT_SET(&r, subject.token_id, nasty, 71);
    audit_record_add_group(&r, nasty + 100, 63);
    audit_record_add_actor(&r, "a\"\\\n", nasty, 127);
    audit_record_set_source(&r, nasty, 63, 1);
    AUDIT_SET(&r, user_agent, nasty, 255);
    AUDIT_SET(&r, resource.kind, nasty, 31);
    AUDIT_SET(&r, resource.name, nasty, 255);
    audit_record_add_resource_id(&r, "k\"\\", nasty, 63);
    AUDIT_SET(&r, decision.privilege, nasty, 31);
    AUDIT_SET(&r, decision.grant, nasty, 255);
    AUDIT_SET(&r, decision.policy_version, nasty, 63);
    AUDIT_SET(&r, decision.reason, nasty, 255);
    assert_true(audit_record_add_param(&r, "k\"\\", 3, nasty, 200));
    json_t *j = render(&r);
    /* No raw control byte or DEL in the line. */
    for (const char *p = line; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    /* The quote/backslash/newline survive the round trip. */
    const char *uag =
        json_string_value(json_object_get(json_object_get(j, "source"), "user_agent"));
    assert_non_null(uag);
    assert_non_null(strchr(uag, '"'));
    assert_non_null(strchr(uag, '\\'));
    assert_non_null(strchr(uag, '\n'));
    assert_non_null(strstr(uag, "\xef\xbf\xbd")); /* 0x80.. bytes became U+FFFD */
    assert_memory_equal(json_string_value(json_object_get(j, "request_id")), nasty, 31);
    json_decref(j);
}

static void test_utf8_handling(void **state)
{
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    /* valid 2-, 3-, 4-byte sequences kept; overlong, surrogate, stray continuation, truncated
     * lead replaced. */
    const char in[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xc0\xaf|\xed\xa0\x80|\x80|\xe2\x82";
    AUDIT_SET(&r, decision.reason, in, sizeof(in) - 1);
    json_t *j = render(&r);
    const char *got = jstr(j, "decision.reason");
    const char *want = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xef\xbf\xbd\xef\xbf\xbd|"
                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd";
    assert_string_equal(got, want);
    json_decref(j);
}

static void test_truncation_at_cap_and_boundary(void **state)
{
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    char big[1000];
    memset(big, 'a', sizeof(big));
    AUDIT_SET(&r, user_agent, big, sizeof(big));
    assert_int_equal(r.user_agent.len, AUDIT_UA_MAX - 1);
    assert_true(r.truncated);
    /* A 3-byte character straddling the cap is dropped whole. */
    audit_record_init(&r, 0, "mlflow");
    char u[AUDIT_SERVICE_MAX + 4];
    memset(u, 'x', sizeof(u));
    memcpy(u + AUDIT_SERVICE_MAX - 2, "\xe2\x82\xac", 3);
    AUDIT_SET(&r, service, u, sizeof(u));
    assert_int_equal(r.service.len, AUDIT_SERVICE_MAX - 2);
    assert_true(r.truncated);
    /* Path: the query never enters the record. */
    audit_record_init(&r, 0, "mlflow");
    audit_record_set_path(&r, S("/a/b?token=abc"));
    assert_string_equal(r.path.s, "/a/b");
    assert_false(r.truncated);
    /* Groups, actors, ids past capacity. */
    for (int i = 0; i < AUDIT_GROUPS + 3; i++)
        audit_record_add_group(&r, S("g"));
    assert_int_equal(r.subject.n_groups, AUDIT_GROUPS);
    assert_int_equal(r.subject.groups_omitted, 3);
    for (int i = 0; i < AUDIT_ACTORS + 1; i++)
        audit_record_add_actor(&r, "agent", S("x"));
    assert_int_equal(r.n_actors, AUDIT_ACTORS);
    json_t *j = render(&r);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
}

static void test_secret_keys(void **state)
{
    const char *secret[] = {"password",  "Password",     "db_passwd",       "client_secret",
                            "token",     "access_token", "Authorization",   "api_key",
                            "x-api-key", "APIKEY",       "aws_credentials", "private_key",
                            "Cookie",    "page_token"};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (!audit_key_is_secret(S(secret[i])))
            fail_msg("key %s not treated as secret", secret[i]);
    const char *plain[] = {"name", "experiment_id", "run_id", "max_results", "filter", "key"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (audit_key_is_secret(S(plain[i])))
            fail_msg("key %s treated as secret", plain[i]);
    char longkey[300];
    memset(longkey, 'a', sizeof(longkey));
    assert_true(audit_key_is_secret(longkey, sizeof(longkey)));
}

static void test_secret_values(void **state)
{
    const char *secret[] = {
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig",
        "prefix eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln suffix",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
        "wdn_pat_0123456789abcdef",
        "my token is wdn_pat_x",
        "Bearer abc",
        "bearer abc",
        "Basic dXNlcjpwYXNz",
        "  \"Bearer x",
    };
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (!audit_value_looks_secret(S(secret[i])))
            fail_msg("value %s not treated as secret", secret[i]);
    const char *plain[] = {
        "prod.fraud.scorer", "eyJ", "eyJabc.def", "key.eyJa.b", "a.b.c", "beareR", "12", "",
        "survey.json"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (audit_value_looks_secret(S(plain[i])))
            fail_msg("value %s treated as secret", plain[i]);
}

static void test_params_redacted_in_line(void **state)
{
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    assert_true(audit_record_add_param(&r, S("password"), S("hunter2")));
    assert_true(audit_record_add_param(&r, S("note"), S("uses wdn_pat_ABCDEF")));
    assert_true(audit_record_add_param(&r, S("jwt_in_value"),
                                       S("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig")));
    assert_true(audit_record_add_param(&r, S("name"), S("m1")));
    json_t *j = render(&r);
    assert_null(strstr(line, "hunter2"));
    assert_null(strstr(line, "wdn_pat_"));
    assert_null(strstr(line, "eyJhbGci"));
    assert_string_equal(jstr(j, "params.password"), AUDIT_REDACTED);
    assert_string_equal(jstr(j, "params.note"), AUDIT_REDACTED);
    assert_string_equal(jstr(j, "params.name"), "m1");
    assert_int_equal(json_array_size(json_object_get(j, "params_redacted")), 3);
    json_decref(j);
}

/* Tokens in any other text field are replaced whole; the record says so. */
static void test_fields_redacted(void **state)
{
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    SETS(&r, user_agent, "curl/8 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln");
    SETS(&r, decision.reason, "unknown PAT wdn_pat_0123456789");
    SETS(&r, subject.token_id, "sha256:0123abcd");
    audit_record_set_path(&r, S("/api/2.0/mlflow/runs/get/wdn_pat_x"));
    assert_false(audit_record_add_param(&r, S("wdn_pat_abc"), S("v")));
    json_t *j = render(&r);
    assert_null(strstr(line, "eyJhbGci"));
    assert_null(strstr(line, "wdn_pat_"));
    assert_string_equal(jstr(j, "source.user_agent"), AUDIT_REDACTED);
    assert_string_equal(jstr(j, "decision.reason"), AUDIT_REDACTED);
    assert_string_equal(jstr(j, "path"), AUDIT_REDACTED);
    assert_string_equal(jstr(j, "subject.token_id"), "sha256:0123abcd");
    assert_true(json_is_true(json_object_get(j, "redacted")));
    json_decref(j);
    /* The Bearer/Basic prefix rule applies to parameters only. */
    audit_record_init(&r, 0, "mlflow");
    SETS(&r, decision.reason, "Bearer token expired");
    j = render(&r);
    assert_string_equal(jstr(j, "decision.reason"), "Bearer token expired");
    assert_true(json_is_false(json_object_get(j, "redacted")));
    json_decref(j);
}

static void test_time_range(void **state)
{
    struct audit_record r;
    audit_record_init(&r, INT64_MIN, "mlflow");
    json_t *j = render(&r);
    assert_string_equal(jstr(j, "time"), "0001-01-01T00:00:00.000Z");
    json_decref(j);
    audit_record_init(&r, INT64_MAX, "mlflow");
    j = render(&r);
    assert_string_equal(jstr(j, "time"), "9999-12-31T23:59:59.999Z");
    json_decref(j);
    audit_record_init(&r, -1, "mlflow");
    j = render(&r);
    assert_string_equal(jstr(j, "time"), "1969-12-31T23:59:59.999Z");
    json_decref(j);
}

static void test_param_caps(void **state)
{
    struct audit_record r;
    audit_record_init(&r, 0, "mlflow");
    char v[1000];
    memset(v, 'v', sizeof(v));
    /* Value truncated at AUDIT_PARAM_VALUE_MAX - 1 bytes, flagged. */
    assert_true(audit_record_add_param(&r, S("filter"), v, sizeof(v)));
    assert_int_equal(r.params[0].value.len, AUDIT_PARAM_VALUE_MAX - 1);
    assert_true(r.params[0].truncated);
    /* Duplicate key dropped. */
    assert_false(audit_record_add_param(&r, S("filter"), S("x")));
    /* Empty or non-ASCII keys dropped. */
    assert_false(audit_record_add_param(&r, "", 0, S("x")));
    assert_false(audit_record_add_param(&r, S("k\xff"), S("x")));
    assert_false(audit_record_add_param(&r, S("a b"), S("x")));
    assert_int_equal(r.params_dropped, 4);
    /* Total cap: keep adding 255-byte values until refused. */
    char key[16];
    int stored = 1;
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (audit_record_add_param(&r, S(key), v, sizeof(v)))
            stored++;
    }
    assert_true(r.params_bytes <= AUDIT_PARAMS_TOTAL_MAX);
    assert_true(stored <= AUDIT_PARAMS);
    size_t total = 0;
    for (uint8_t i = 0; i < r.n_params; i++)
        total += r.params[i].key.len + r.params[i].value.len;
    assert_int_equal(total, r.params_bytes);
    assert_true(r.params_dropped > 4);
    json_t *j = render(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "params_dropped")), r.params_dropped);
    assert_true(json_array_size(json_object_get(j, "params_truncated")) >= 1);
    json_decref(j);
}

static void test_small_buffer_refused(void **state)
{
    struct audit_record r;
    audit_fill_typical(&r, 0);
    size_t n = 0;
    assert_int_equal(audit_format_json(&r, line, sizeof(line), &n), 0);
    for (size_t cap = 0; cap <= n; cap += (cap < 64 ? 1 : 97))
        assert_int_equal(audit_format_json(&r, line, cap, NULL), -1);
    assert_int_equal(audit_format_json(&r, line, n + 1, NULL), 0);
}

/* The worst case fits AUDIT_LINE_MAX: every field at its cap, all bytes invalid UTF-8. */
static void test_worst_case_fits(void **state)
{
    struct audit_record r;
    char ff[1024];
    memset(ff, 0xff, sizeof(ff));
    audit_record_init(&r, 0, NULL);
    AUDIT_SET(&r, request_id, ff, sizeof(ff));
    AUDIT_SET(&r, service, ff, sizeof(ff));
    AUDIT_SET(&r, action, ff, sizeof(ff));
    AUDIT_SET(&r, method, ff, sizeof(ff));
    AUDIT_SET(&r, path, ff, sizeof(ff));
    AUDIT_SET(&r, subject.user, ff, sizeof(ff));
    AUDIT_SET(&r, subject.auth_method, ff, sizeof(ff));
    AUDIT_SET(&r, subject.token_id, ff, sizeof(ff));
    for (int i = 0; i < AUDIT_GROUPS; i++)
        audit_record_add_group(&r, ff, sizeof(ff));
    for (int i = 0; i < AUDIT_ACTORS; i++)
        audit_record_add_actor(&r, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                               ff, sizeof(ff));
    AUDIT_SET(&r, src_ip, ff, sizeof(ff));
    AUDIT_SET(&r, user_agent, ff, sizeof(ff));
    AUDIT_SET(&r, resource.kind, ff, sizeof(ff));
    AUDIT_SET(&r, resource.name, ff, sizeof(ff));
    const char *idk[] = {"experiment_id", "run_id", "model_version", "trace_request_id"};
    for (int i = 0; i < AUDIT_RES_IDS; i++)
        audit_record_add_resource_id(&r, idk[i], ff, sizeof(ff));
    assert_int_equal(r.resource.n_ids, AUDIT_RES_IDS);
    AUDIT_SET(&r, decision.privilege, ff, sizeof(ff));
    AUDIT_SET(&r, decision.grant, ff, sizeof(ff));
    AUDIT_SET(&r, decision.policy_version, ff, sizeof(ff));
    AUDIT_SET(&r, decision.reason, ff, sizeof(ff));
    for (int i = 0; i < AUDIT_PARAMS; i++) {
        char k[AUDIT_PARAM_KEY_MAX];
        memset(k, 'k', sizeof(k));
        k[0] = (char)('a' + i);
        audit_record_add_param(&r, k, sizeof(k), ff, sizeof(ff));
    }
    /* jansson reads integers up to INT64_MAX */
    r.seq = INT64_MAX;
    r.latency_us = r.bytes_in = r.bytes_out = INT64_MAX;
    r.time_ms = -1;
    json_t *j = render(&r);
    json_decref(j);
    size_t n = 0;
    assert_int_equal(audit_format_ocsf(&r, "0.1.0", line, sizeof(line), &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typical_fields),
        cmocka_unit_test(test_every_field_escaped),
        cmocka_unit_test(test_utf8_handling),
        cmocka_unit_test(test_truncation_at_cap_and_boundary),
        cmocka_unit_test(test_secret_keys),
        cmocka_unit_test(test_secret_values),
        cmocka_unit_test(test_params_redacted_in_line),
        cmocka_unit_test(test_fields_redacted),
        cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_param_caps),
        cmocka_unit_test(test_small_buffer_refused),
        cmocka_unit_test(test_worst_case_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
