/*
 * mlflow/lookup: the look-up request of every kind (exact targets, percent-encoding, ids that
 * cannot name an object), the classification of upstream answers, and the strict parsers,
 * first on the answers of a real MLflow 3.17.2 captured in tests/unit/fixtures/lookup/
 * (manifest.tsv lists each case with the facts the client created), then on hostile bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/lookup.h"

static char *read_file(const char *name, size_t *len)
{
    const char *dir = getenv("WARDEN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/lookup/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static enum route_object kind_by_name(const char *s)
{
    for (int k = 0; k < ROUTE_OBJ_COUNT; k++)
        if (strcmp(route_object_name(k), s) == 0)
            return k;
    fail_msg("unknown kind %s", s);
    return ROUTE_OBJ_NONE;
}

/* Checks one "key=value" expectation of the manifest against the facts. */
static void check_fact(const char *kase, const struct lookup_facts *f, const char *kv)
{
    const char *eq = strchr(kv, '=');
    assert_non_null(eq);
    size_t kl = (size_t)(eq - kv);
    const char *v = eq + 1;
    if (strncmp(kv, "experiment_id", kl) == 0 && kl == 13) {
        if (strcmp(v, "-") == 0) {
            assert_false(f->has_experiment);
            assert_string_equal(f->experiment_id, "");
        } else {
            assert_true(f->has_experiment);
            assert_string_equal(f->experiment_id, v);
        }
    } else if (strncmp(kv, "name", kl) == 0 && kl == 4) {
        assert_non_null(f->name);
        assert_string_equal(f->name, v);
        assert_int_equal(f->name_len, strlen(v));
    } else if (strncmp(kv, "lifecycle", kl) == 0 && kl == 9) {
        assert_int_equal(f->deleted, strcmp(v, "deleted") == 0);
    } else if (strncmp(kv, "owner", kl) == 0 && kl == 5) {
        if (strcmp(v, "-") == 0) {
            assert_false(f->owner_tagged);
            assert_null(f->owner);
        } else if (strcmp(v, "!") == 0) {
            assert_true(f->owner_tagged);
            assert_null(f->owner);
        } else {
            assert_true(f->owner_tagged);
            assert_non_null(f->owner);
            assert_string_equal(f->owner, v);
        }
    } else if (strncmp(kv, "prompt", kl) == 0 && kl == 6) {
        assert_int_equal(f->is_prompt, strcmp(v, "1") == 0);
    } else if (strncmp(kv, "experiment_ids", kl) == 0 && kl == 14) {
        char got[1024] = "";
        for (size_t i = 0; i < f->nexperiments; i++) {
            if (i)
                strcat(got, ",");
            strcat(got, f->experiments[i]);
        }
        assert_string_equal(got, v);
    } else {
        fail_msg("%s: unknown fact %s", kase, kv);
    }
}

static void test_fixtures(void **state)
{
    size_t mlen;
    char *manifest = read_file("manifest.tsv", &mlen);
    int cases = 0, kinds_seen[ROUTE_OBJ_COUNT] = {0};
    char *save = NULL;
    for (char *line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *fields[12] = {0};
        int nf = 0;
        for (char *p = line; nf < 12;) {
            fields[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        assert_true(nf >= 6);
        const char *kase = fields[0], *id = fields[2], *want_target = fields[4];
        enum route_object kind = kind_by_name(fields[1]);
        int status = atoi(fields[3]);
        print_message("case %s\n", kase);
        kinds_seen[kind]++;

        /* The target Warden builds is the one that was captured. */
        char target[LOOKUP_TARGET_MAX], err[256];
        size_t tlen = 0;
        bool raw = strcmp(id, "-") == 0;
        if (!raw) {
            if (lookup_request(kind, id, strlen(id), target, sizeof(target), &tlen, err,
                               sizeof(err)) == 0) {
                assert_string_equal(target, want_target);
                assert_int_equal(tlen, strlen(want_target));
            } else {
                /* only an id Warden refuses to send (experiment "abc") */
                assert_string_equal(fields[5], "error");
            }
        }

        char file[256];
        size_t blen;
        snprintf(file, sizeof(file), "%s.json", kase);
        char *body = read_file(file, &blen);
        struct lookup_facts f;
        enum lookup_status st = lookup_answer(kind, raw ? NULL : id, raw ? 0 : strlen(id), status,
                                              body, blen, &f, err, sizeof(err));
        if (strcmp(fields[5], "not_found") == 0) {
            assert_int_equal(st, LOOKUP_NOT_FOUND);
        } else if (strcmp(fields[5], "error") == 0) {
            assert_int_equal(st, LOOKUP_ERROR);
        } else {
            if (st != LOOKUP_FOUND)
                fail_msg("%s: %s", kase, err);
            assert_int_equal(f.kind, kind);
            for (int i = 5; i < nf; i++)
                check_fact(kase, &f, fields[i]);
            if (lookup_gives_experiment(kind) && strcmp(fields[5], "experiment_id=-") != 0)
                assert_true(f.has_experiment);
        }
        lookup_facts_clear(&f);
        free(body);
        cases++;
    }
    free(manifest);
    assert_true(cases >= 30);
    for (int k = 0; k < ROUTE_OBJ_COUNT; k++)
        if (lookup_supported(k) && !kinds_seen[k])
            fail_msg("no fixture for %s", route_object_name(k));
}

static void expect_target(enum route_object kind, const char *id, size_t len, const char *want)
{
    char buf[LOOKUP_TARGET_MAX], err[256];
    size_t n = 0;
    if (lookup_request(kind, id, len, buf, sizeof(buf), &n, err, sizeof(err)) != 0)
        fail_msg("%s: %s", route_object_name(kind), err);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void expect_refused(enum route_object kind, const char *id, size_t len)
{
    char buf[LOOKUP_TARGET_MAX], err[256] = "";
    size_t n = 12345;
    assert_int_equal(lookup_request(kind, id, len, buf, sizeof(buf), &n, err, sizeof(err)), -1);
    assert_int_equal(n, 12345);
    assert_true(err[0] != '\0');
}

#define T(kind, id, want) expect_target(ROUTE_OBJ_##kind, id, sizeof(id) - 1, want)
#define R(kind, id)       expect_refused(ROUTE_OBJ_##kind, id, sizeof(id) - 1)

static void test_request_targets(void **state)
{
    T(EXPERIMENT, "12", "/api/2.0/mlflow/experiments/get?experiment_id=12");
    T(EXPERIMENT, "0", "/api/2.0/mlflow/experiments/get?experiment_id=0");
    T(EXPERIMENT_NAME, "/Users/a@b.c/x y",
      "/api/2.0/mlflow/experiments/get-by-name?experiment_name=%2FUsers%2Fa%40b.c%2Fx%20y");
    T(RUN, "0123456789abcdef0123456789abcdef",
      "/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef");
    T(TRACE, "tr-abc", "/api/3.0/mlflow/traces/tr-abc");
    T(LOGGED_MODEL, "m-1", "/api/2.0/mlflow/logged-models/m-1?allow_deleted=true");
    T(DATASET, "d-1", "/api/3.0/mlflow/datasets/d-1/experiment-ids");
    T(LABEL_SCHEMA, "ls-1", "/api/3.0/mlflow/label-schemas/get?schema_id=ls-1");
    T(REVIEW_QUEUE, "rq-1", "/api/3.0/mlflow/review-queues/get?queue_id=rq-1");
    T(ISSUE, "iss-1", "/api/3.0/mlflow/issues/iss-1");
    T(JOB, "1f0e-2", "/ajax-api/3.0/jobs/1f0e-2");
    T(MODEL, "risk.fraud.scorer", "/api/2.0/mlflow/registered-models/get?name=risk.fraud.scorer");
}

static void test_request_encoding(void **state)
{
    /* Werkzeug reads '+' as a space and '&', ';'? no: '&' splits, '#' ends the target, '%'
     * escapes: all encoded; unreserved bytes stay. Upper-case hex. */
    T(MODEL, "a+b c&d=e;f#g%h?i/j~k_l.m-n",
      "/api/2.0/mlflow/registered-models/get?name=a%2Bb%20c%26d%3De%3Bf%23g%25h%3Fi%2Fj~k_l.m-n");
    T(MODEL, "caf\xc3\xa9", "/api/2.0/mlflow/registered-models/get?name=caf%C3%A9");
    T(TRACE, "tr-%2F..", "/api/3.0/mlflow/traces/tr-%252F..");
    T(TRACE, "a\\b", "/api/3.0/mlflow/traces/a%5Cb");
    T(ISSUE, "a b?c#d", "/api/3.0/mlflow/issues/a%20b%3Fc%23d");
    T(JOB, "...", "/ajax-api/3.0/jobs/...");
    /* the longest id fits LOOKUP_TARGET_MAX even when every byte is escaped */
    char *big = malloc(LOOKUP_ID_MAX);
    memset(big, ' ', LOOKUP_ID_MAX);
    char buf[LOOKUP_TARGET_MAX], err[128];
    size_t n;
    assert_int_equal(lookup_request(ROUTE_OBJ_DATASET, big, LOOKUP_ID_MAX, buf, sizeof(buf), &n,
                                    err, sizeof(err)),
                     0);
    assert_int_equal(n, strlen("/api/3.0/mlflow/datasets//experiment-ids") + 3 * LOOKUP_ID_MAX);
    /* one byte too short */
    assert_int_equal(
        lookup_request(ROUTE_OBJ_DATASET, big, LOOKUP_ID_MAX, buf, n, &n, err, sizeof(err)), -1);
    free(big);
}

static void test_request_refusals(void **state)
{
    /* experiment ids: canonical decimal, at most INT64_MAX */
    R(EXPERIMENT, "01");
    R(EXPERIMENT, " 1");
    R(EXPERIMENT, "+1");
    R(EXPERIMENT, "-1");
    R(EXPERIMENT, "1 ");
    R(EXPERIMENT, "1_0");
    R(EXPERIMENT, "abc");
    R(EXPERIMENT, "\xd9\xa1"); /* Arabic-Indic one, which Python's int() reads */
    R(EXPERIMENT, "9223372036854775808");
    R(EXPERIMENT, "");
    T(EXPERIMENT, "9223372036854775807",
      "/api/2.0/mlflow/experiments/get?experiment_id=9223372036854775807");
    /* path segments */
    R(TRACE, "a/b");
    R(TRACE, ".");
    R(LOGGED_MODEL, "..");
    R(DATASET, "/");
    R(ISSUE, "x/../y");
    R(JOB, "");
    /* control characters and bad UTF-8, any kind */
    R(RUN, "abc\n");
    R(RUN, "a\0b");
    R(MODEL, "x\x7f");
    R(MODEL, "x\xc2\x85");
    R(EXPERIMENT_NAME, "\xff");
    R(EXPERIMENT_NAME, "\xc0\xaf");
    R(LABEL_SCHEMA, "\xed\xa0\x80");
    R(REVIEW_QUEUE, "\xe2\x82");
    /* too long */
    char *big = malloc(LOOKUP_ID_MAX + 1);
    memset(big, 'a', LOOKUP_ID_MAX + 1);
    expect_refused(ROUTE_OBJ_MODEL, big, LOOKUP_ID_MAX + 1);
    free(big);
    /* kinds without a look-up */
    R(NONE, "1");
    R(ARTIFACT_PATH, "1/x");
    R(GATEWAY_ENDPOINT, "chat");
    R(NEW_EXPERIMENT, "x");
    R(NEW_MODEL, "x");
    expect_refused(ROUTE_OBJ_COUNT, "x", 1);
    expect_refused(ROUTE_OBJ_RUN, NULL, 3);
    char err[64], buf[8];
    assert_int_equal(lookup_request(ROUTE_OBJ_RUN, "abc", 3, NULL, 0, NULL, err, sizeof(err)), -1);
    assert_int_equal(
        lookup_request(ROUTE_OBJ_RUN, "abc", 3, buf, sizeof(buf), NULL, err, sizeof(err)), -1);
}

static void test_experiment_ids(void **state)
{
    assert_true(lookup_is_experiment_id("0", 1));
    assert_true(lookup_is_experiment_id("7", 1));
    assert_true(lookup_is_experiment_id("1234567890123456789", 19));
    assert_true(lookup_is_experiment_id("9223372036854775807", 19));
    assert_false(lookup_is_experiment_id("9223372036854775808", 19));
    assert_false(lookup_is_experiment_id("9999999999999999999", 19));
    assert_false(lookup_is_experiment_id("10000000000000000000", 20));
    assert_false(lookup_is_experiment_id("00", 2));
    assert_false(lookup_is_experiment_id("", 0));
    assert_false(lookup_is_experiment_id(NULL, 1));
    assert_true(lookup_is_experiment_id("12", 1)); /* only len bytes are read */
    assert_false(lookup_is_experiment_id("1e3", 3));
}

#define C(status, body, want) assert_int_equal(lookup_classify(status, body, strlen(body)), want)

static void test_classify(void **state)
{
    C(200, "{}", LOOKUP_FOUND);
    C(204, "", LOOKUP_FOUND);
    C(404, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"x\"}", LOOKUP_NOT_FOUND);
    C(400, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"x\"}", LOOKUP_NOT_FOUND);
    C(404, "{\"error_code\": \"ENDPOINT_NOT_FOUND\"}", LOOKUP_NOT_FOUND);
    C(404, "{\"detail\": \"Job with ID x not found\"}", LOOKUP_NOT_FOUND);
    C(400, "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"Model x NOT FOUND.\"}",
      LOOKUP_NOT_FOUND);
    C(400, "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"x does not exist\"}",
      LOOKUP_NOT_FOUND);
    C(400, "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"Invalid experiment ID\"}",
      LOOKUP_ERROR);
    C(400, "{\"error_code\": \"INVALID_PARAMETER_VALUE\"}", LOOKUP_ERROR);
    C(400, "{\"error_code\": \"BAD_REQUEST\", \"message\": \"not found\"}", LOOKUP_ERROR);
    C(400, "{\"detail\": \"not found\"}", LOOKUP_ERROR);
    C(401, "{\"error_code\": \"UNAUTHENTICATED\"}", LOOKUP_ERROR);
    C(403, "{\"error_code\": \"PERMISSION_DENIED\", \"message\": \"not found\"}", LOOKUP_ERROR);
    C(404, "<!doctype html><title>404 Not Found</title>", LOOKUP_ERROR);
    C(404, "", LOOKUP_ERROR);
    C(404, "[\"RESOURCE_DOES_NOT_EXIST\"]", LOOKUP_ERROR);
    C(404, "{\"error_code\": 404}", LOOKUP_ERROR);
    C(404, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"error_code\": \"X\"}", LOOKUP_ERROR);
    C(500, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\"}", LOOKUP_ERROR);
    C(503, "", LOOKUP_ERROR);
    C(302, "", LOOKUP_ERROR);
    C(100, "", LOOKUP_ERROR);
    C(0, "", LOOKUP_ERROR);
    C(-1, "", LOOKUP_ERROR);
    assert_int_equal(lookup_classify(404, NULL, 0), LOOKUP_ERROR);
    assert_string_equal(lookup_status_name(LOOKUP_FOUND), "found");
    assert_string_equal(lookup_status_name(LOOKUP_NOT_FOUND), "not-found");
    assert_string_equal(lookup_status_name(LOOKUP_ERROR), "error");
}

static void parse_ok(enum route_object kind, const char *body, struct lookup_facts *f)
{
    char err[256];
    if (lookup_parse(kind, body, strlen(body), f, err, sizeof(err)) != 0)
        fail_msg("%s: %s: %s", route_object_name(kind), body, err);
}

static void parse_bad(enum route_object kind, const char *body, size_t len)
{
    char err[256] = "";
    struct lookup_facts f;
    if (lookup_parse(kind, body, len, &f, err, sizeof(err)) != -1)
        fail_msg("%s accepted: %.*s", route_object_name(kind), (int)len, body);
    assert_true(err[0] != '\0');
    assert_null(f.name);
    assert_null(f.owner);
    assert_null(f.experiments);
    assert_false(f.has_experiment);
}

#define BAD(kind, body) parse_bad(ROUTE_OBJ_##kind, body, sizeof(body) - 1)

#define EXP(inner) "{\"experiment\": {" inner "}}"
#define EXP_OK     "\"experiment_id\": \"3\", \"name\": \"n\", \"lifecycle_stage\": \"active\""

static void test_parse_experiment(void **state)
{
    struct lookup_facts f;
    parse_ok(ROUTE_OBJ_EXPERIMENT, EXP(EXP_OK), &f);
    assert_string_equal(f.experiment_id, "3");
    assert_string_equal(f.name, "n");
    assert_false(f.deleted);
    assert_false(f.owner_tagged);
    lookup_facts_clear(&f);
    /* tags: the stamp, unusable stamps, other tags, value absent */
    parse_ok(ROUTE_OBJ_EXPERIMENT,
             EXP(EXP_OK
                 ", \"tags\": [{\"key\": \"a\", \"value\": \"b\"}, {\"key\": \"warden.owner\","
                 " \"value\": \"group:risk\"}, {\"key\": \"x\"}]"),
             &f);
    assert_true(f.owner_tagged);
    assert_string_equal(f.owner, "group:risk");
    assert_int_equal(f.owner_len, 10);
    lookup_facts_clear(&f);
    static const char *const unusable[] = {
        "", "group:", "svc:x", "user:", "a\\nb", "a\\u0085b", "a:b@c", "\\u0000", "a\\u007fb",
    };
    for (size_t i = 0; i < sizeof(unusable) / sizeof(*unusable); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 EXP(EXP_OK ", \"tags\": [{\"key\": \"warden.owner\", \"value\": \"%s\"}]"),
                 unusable[i]);
        char err[256];
        int r = lookup_parse(ROUTE_OBJ_EXPERIMENT, body, strlen(body), &f, err, sizeof(err));
        if (r == 0) {
            assert_true(f.owner_tagged);
            if (f.owner)
                fail_msg("stamp '%s' accepted as '%s'", unusable[i], f.owner);
        } else {
            assert_string_equal(unusable[i], "\\u0000"); /* jansson refuses NUL: error */
        }
        lookup_facts_clear(&f);
    }
    parse_ok(ROUTE_OBJ_EXPERIMENT, EXP(EXP_OK ", \"tags\": [{\"key\": \"warden.owner\"}]"),
             &f); /* value "" */
    assert_true(f.owner_tagged);
    assert_null(f.owner);
    lookup_facts_clear(&f);
    /* a very long stamp is unusable */
    char *body = malloc(LOOKUP_OWNER_MAX + 512);
    int n = snprintf(body, 512,
                     "{\"experiment\": {" EXP_OK
                     ", \"tags\": [{\"key\": \"warden.owner\", \"value\": \"");
    memset(body + n, 'a', LOOKUP_OWNER_MAX + 1);
    strcpy(body + n + LOOKUP_OWNER_MAX + 1, "\"}]}}");
    parse_ok(ROUTE_OBJ_EXPERIMENT, body, &f);
    assert_true(f.owner_tagged);
    assert_null(f.owner);
    lookup_facts_clear(&f);
    free(body);
    /* deleted */
    parse_ok(ROUTE_OBJ_EXPERIMENT_NAME,
             EXP("\"experiment_id\": \"0\", \"name\": \"Default\", \"lifecycle_stage\": "
                 "\"deleted\", \"extra\": [1, {\"x\": null}]"),
             &f);
    assert_true(f.deleted);
    assert_string_equal(f.experiment_id, "0");
    lookup_facts_clear(&f);
    /* a name with UTF-8 and escapes survives exactly */
    parse_ok(ROUTE_OBJ_EXPERIMENT,
             EXP("\"experiment_id\": \"1\", \"name\": \"caf\\u00e9/\\\"q\\\"\", "
                 "\"lifecycle_stage\": \"active\""),
             &f);
    assert_string_equal(f.name, "caf\xc3\xa9/\"q\"");
    lookup_facts_clear(&f);

    BAD(EXPERIMENT, "");
    BAD(EXPERIMENT, "null");
    BAD(EXPERIMENT, "[]");
    BAD(EXPERIMENT, "\"x\"");
    BAD(EXPERIMENT, "{}");
    BAD(EXPERIMENT, "{\"experiment\": []}");
    BAD(EXPERIMENT, "{\"experiment\": null}");
    BAD(EXPERIMENT, EXP(EXP_OK) " x");
    BAD(EXPERIMENT, EXP(EXP_OK) "{}");
    BAD(EXPERIMENT, EXP("\"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT, EXP("\"experiment_id\": 3, \"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"03\", \"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"3 \", \"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"-3\", \"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"\", \"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": null, \"name\": \"n\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"3\", \"name\": \"\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT, EXP("\"experiment_id\": \"3\", \"name\": 7, \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT, EXP("\"experiment_id\": \"3\", \"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT, EXP("\"experiment_id\": \"3\", \"name\": \"n\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"3\", \"name\": \"n\", \"lifecycle_stage\": \"gone\""));
    BAD(EXPERIMENT,
        EXP("\"experiment_id\": \"3\", \"name\": \"n\", \"lifecycle_stage\": \"Active\""));
    BAD(EXPERIMENT, EXP("\"experiment_id\": \"3\", \"experiment_id\": \"4\", \"name\": \"n\", "
                        "\"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT, EXP(EXP_OK ", \"tags\": {}"));
    BAD(EXPERIMENT, EXP(EXP_OK ", \"tags\": [1]"));
    BAD(EXPERIMENT, EXP(EXP_OK ", \"tags\": [{\"value\": \"x\"}]"));
    BAD(EXPERIMENT, EXP(EXP_OK ", \"tags\": [{\"key\": \"warden.owner\", \"value\": 1}]"));
    BAD(EXPERIMENT, EXP(EXP_OK ", \"tags\": [{\"key\": \"warden.owner\", \"value\": \"a\"}, "
                               "{\"key\": \"warden.owner\", \"value\": \"a\"}]"));
    BAD(EXPERIMENT, EXP(EXP_OK ", \"tags\": [{\"key\": \"k\", \"key\": \"warden.owner\"}]"));
    BAD(EXPERIMENT, EXP("\"experiment_id\": \"3\", \"name\": \"a\\u0000b\", "
                        "\"lifecycle_stage\": \"active\""));
    BAD(EXPERIMENT, "{\"experiment\": {\"experiment_id\": \"3\", \"name\": \"\xff\", "
                    "\"lifecycle_stage\": \"active\"}}");
    BAD(EXPERIMENT, "{\"experiment\": {" EXP_OK ", \"x\": NaN}}");
    /* NUL bytes in the body */
    parse_bad(ROUTE_OBJ_EXPERIMENT, "{\"experiment\": {\0}}", 19);
}

static void test_parse_others(void **state)
{
    struct lookup_facts f;
    parse_ok(ROUTE_OBJ_RUN, "{\"run\": {\"info\": {\"experiment_id\": \"42\"}, \"data\": {}}}", &f);
    assert_string_equal(f.experiment_id, "42");
    assert_true(f.has_experiment);
    lookup_facts_clear(&f);
    BAD(RUN, "{\"run\": {\"info\": {}}}");
    BAD(RUN, "{\"run\": {\"info\": {\"experiment_id\": \"4.2\"}}}");
    BAD(RUN, "{\"run\": {\"info\": []}}");
    BAD(RUN, "{\"run\": \"x\"}");
    BAD(RUN, "{\"info\": {\"experiment_id\": \"1\"}}");

    parse_ok(ROUTE_OBJ_TRACE,
             "{\"trace\": {\"trace_info\": {\"trace_location\": {\"type\": \"MLFLOW_EXPERIMENT\", "
             "\"mlflow_experiment\": {\"experiment_id\": \"7\"}}}}}",
             &f);
    assert_string_equal(f.experiment_id, "7");
    lookup_facts_clear(&f);
    parse_ok(ROUTE_OBJ_TRACE,
             "{\"trace\": {\"trace_info\": {\"trace_location\": {"
             "\"mlflow_experiment\": {\"experiment_id\": \"8\"}}}}}",
             &f);
    assert_string_equal(f.experiment_id, "8");
    lookup_facts_clear(&f);
    BAD(TRACE, "{\"trace\": {\"trace_info\": {\"trace_location\": {\"type\": \"UC_SCHEMA\", "
               "\"mlflow_experiment\": {\"experiment_id\": \"7\"}}}}}");
    BAD(TRACE, "{\"trace\": {\"trace_info\": {\"trace_location\": {\"type\": 1, "
               "\"mlflow_experiment\": {\"experiment_id\": \"7\"}}}}}");
    BAD(TRACE, "{\"trace\": {\"trace_info\": {\"trace_location\": {\"type\": "
               "\"INFERENCE_TABLE\", \"inference_table\": {}}}}}");
    BAD(TRACE, "{\"trace\": {\"trace_info\": {}}}");
    BAD(TRACE, "{\"trace_info\": {\"experiment_id\": \"7\"}}");

    parse_ok(ROUTE_OBJ_LOGGED_MODEL, "{\"model\": {\"info\": {\"experiment_id\": \"5\"}}}", &f);
    assert_string_equal(f.experiment_id, "5");
    lookup_facts_clear(&f);
    BAD(LOGGED_MODEL, "{\"model\": {\"experiment_id\": \"5\"}}");

    parse_ok(ROUTE_OBJ_LABEL_SCHEMA, "{\"label_schema\": {\"experiment_id\": \"9\"}}", &f);
    assert_string_equal(f.experiment_id, "9");
    lookup_facts_clear(&f);
    parse_ok(ROUTE_OBJ_REVIEW_QUEUE, "{\"review_queue\": {\"experiment_id\": \"10\"}}", &f);
    assert_string_equal(f.experiment_id, "10");
    lookup_facts_clear(&f);
    parse_ok(ROUTE_OBJ_ISSUE, "{\"issue\": {\"experiment_id\": \"11\"}}", &f);
    assert_string_equal(f.experiment_id, "11");
    lookup_facts_clear(&f);
    BAD(LABEL_SCHEMA, "{\"label_schema\": {}}");
    BAD(REVIEW_QUEUE, "{\"review_queue\": {\"experiment_id\": \"\"}}");
    BAD(ISSUE, "{\"issue\": {\"experiment_id\": true}}");

    /* jobs: no experiment is fine (absent, null, ""), a malformed one is not */
    parse_ok(ROUTE_OBJ_JOB, "{\"job_id\": \"j\", \"params\": {\"experiment_id\": \"12\"}}", &f);
    assert_true(f.has_experiment);
    assert_string_equal(f.experiment_id, "12");
    lookup_facts_clear(&f);
    static const char *const none[] = {
        "{\"job_id\": \"j\", \"params\": {}}",
        "{\"job_id\": \"j\", \"params\": {\"experiment_id\": null}}",
        "{\"job_id\": \"j\", \"params\": {\"experiment_id\": \"\"}}",
    };
    for (size_t i = 0; i < 3; i++) {
        parse_ok(ROUTE_OBJ_JOB, none[i], &f);
        assert_false(f.has_experiment);
        assert_string_equal(f.experiment_id, "");
        lookup_facts_clear(&f);
    }
    BAD(JOB, "{\"job_id\": \"j\", \"params\": {\"experiment_id\": 12}}");
    BAD(JOB, "{\"job_id\": \"j\", \"params\": {\"experiment_id\": \"012\"}}");
    BAD(JOB, "{\"job_id\": \"j\", \"params\": {\"experiment_id\": [\"1\"]}}");
    BAD(JOB, "{\"job_id\": \"j\", \"params\": \"{\\\"experiment_id\\\": \\\"1\\\"}\"}");
    BAD(JOB, "{\"job_id\": \"j\"}");
    BAD(JOB, "{\"params\": {\"experiment_id\": \"1\"}}");

    /* datasets */
    parse_ok(ROUTE_OBJ_DATASET, "{}", &f);
    assert_int_equal(f.nexperiments, 0);
    assert_null(f.experiments);
    lookup_facts_clear(&f);
    parse_ok(ROUTE_OBJ_DATASET, "{\"experiment_ids\": []}", &f);
    assert_int_equal(f.nexperiments, 0);
    lookup_facts_clear(&f);
    parse_ok(ROUTE_OBJ_DATASET, "{\"experiment_ids\": [\"3\", \"1\", \"3\"]}", &f);
    assert_int_equal(f.nexperiments, 3);
    assert_string_equal(f.experiments[0], "3");
    assert_string_equal(f.experiments[1], "1");
    assert_false(f.has_experiment);
    lookup_facts_clear(&f);
    BAD(DATASET, "{\"experiment_ids\": [\"1\", 2]}");
    BAD(DATASET, "{\"experiment_ids\": [\"1\", \"02\"]}");
    BAD(DATASET, "{\"experiment_ids\": \"1\"}");
    BAD(DATASET, "{\"experiment_ids\": [null]}");
    /* a bound on the list */
    size_t cap = 32 + 6 * (LOOKUP_DATASET_MAX + 1);
    char *big = malloc(cap);
    size_t n = (size_t)sprintf(big, "{\"experiment_ids\": [");
    for (int i = 0; i <= LOOKUP_DATASET_MAX; i++)
        n += (size_t)sprintf(big + n, "%s\"1\"", i ? "," : "");
    strcpy(big + n, "]}");
    parse_bad(ROUTE_OBJ_DATASET, big, strlen(big));
    /* exactly the bound is fine */
    big[n - 4] = ']';
    big[n - 3] = '}';
    big[n - 2] = '\0';
    parse_ok(ROUTE_OBJ_DATASET, big, &f);
    assert_int_equal(f.nexperiments, LOOKUP_DATASET_MAX);
    lookup_facts_clear(&f);
    free(big);

    /* models and prompts */
    parse_ok(ROUTE_OBJ_MODEL,
             "{\"registered_model\": {\"name\": \"m\", \"tags\": [{\"key\": "
             "\"mlflow.prompt.is_prompt\", \"value\": \"TrUe\"}]}}",
             &f);
    assert_true(f.is_prompt);
    assert_string_equal(f.name, "m");
    lookup_facts_clear(&f);
    parse_ok(ROUTE_OBJ_MODEL,
             "{\"registered_model\": {\"name\": \"m\", \"tags\": [{\"key\": "
             "\"mlflow.prompt.is_prompt\", \"value\": \"yes\"}]}}",
             &f);
    assert_false(f.is_prompt);
    lookup_facts_clear(&f);
    BAD(MODEL, "{\"registered_model\": {\"name\": \"m\", \"tags\": [{\"key\": "
               "\"mlflow.prompt.is_prompt\", \"value\": \"true\"}, {\"key\": "
               "\"mlflow.prompt.is_prompt\", \"value\": \"false\"}]}}");
    BAD(MODEL, "{\"registered_model\": {}}");
    BAD(MODEL, "{\"registered_models\": [{\"name\": \"m\"}]}");

    /* deep nesting does not crash */
    char deep[4096 * 2 + 64];
    size_t d = (size_t)sprintf(deep, "{\"run\": ");
    for (int i = 0; i < 4000; i++)
        deep[d++] = '[';
    for (int i = 0; i < 4000; i++)
        deep[d++] = ']';
    deep[d++] = '}';
    parse_bad(ROUTE_OBJ_RUN, deep, d);

    /* kinds without a look-up */
    char err[64];
    assert_int_equal(lookup_parse(ROUTE_OBJ_ARTIFACT_PATH, "{}", 2, &f, err, sizeof(err)), -1);
    assert_int_equal(lookup_parse(ROUTE_OBJ_NONE, "{}", 2, &f, err, sizeof(err)), -1);
    assert_int_equal(lookup_parse(ROUTE_OBJ_RUN, NULL, 0, &f, err, sizeof(err)), -1);
}

static void test_answer(void **state)
{
    struct lookup_facts f;
    char err[256];
    const char *body = EXP(EXP_OK);
    assert_int_equal(
        lookup_answer(ROUTE_OBJ_EXPERIMENT, "3", 1, 200, body, strlen(body), &f, err, sizeof(err)),
        LOOKUP_FOUND);
    lookup_facts_clear(&f);
    /* an answer about another experiment than the one asked for */
    assert_int_equal(
        lookup_answer(ROUTE_OBJ_EXPERIMENT, "4", 1, 200, body, strlen(body), &f, err, sizeof(err)),
        LOOKUP_ERROR);
    assert_null(f.name);
    assert_int_equal(
        lookup_answer(ROUTE_OBJ_EXPERIMENT, "33", 2, 200, body, strlen(body), &f, err, sizeof(err)),
        LOOKUP_ERROR);
    assert_int_equal(
        lookup_answer(ROUTE_OBJ_EXPERIMENT, NULL, 0, 200, body, strlen(body), &f, err, sizeof(err)),
        LOOKUP_ERROR);
    /* by name: the name is the answer's, whatever was asked (collation folding) */
    assert_int_equal(lookup_answer(ROUTE_OBJ_EXPERIMENT_NAME, "N", 1, 200, body, strlen(body), &f,
                                   err, sizeof(err)),
                     LOOKUP_FOUND);
    assert_string_equal(f.name, "n");
    lookup_facts_clear(&f);
    /* 200 with a body that does not parse: error */
    assert_int_equal(lookup_answer(ROUTE_OBJ_RUN, "r", 1, 200, "<html>", 6, &f, err, sizeof(err)),
                     LOOKUP_ERROR);
    const char *nf = "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"gone\"}";
    assert_int_equal(
        lookup_answer(ROUTE_OBJ_RUN, "r", 1, 404, nf, strlen(nf), &f, err, sizeof(err)),
        LOOKUP_NOT_FOUND);
    assert_non_null(strstr(err, "not found"));
    assert_int_equal(lookup_answer(ROUTE_OBJ_RUN, "r", 1, 404, "x", 1, &f, err, sizeof(err)),
                     LOOKUP_ERROR);
    assert_non_null(strstr(err, "no such route"));
}

static void test_owner_and_copy(void **state)
{
    struct lookup_facts f;
    struct naming_result home = {0}, plain = {0};
    home.home_user.ptr = "alice";
    home.home_user.len = 5;
    lookup_facts_init(&f);
    struct policy_str o = lookup_owner(&f, &home);
    assert_int_equal(o.len, 5);
    assert_ptr_equal(o.ptr, home.home_user.ptr);
    o = lookup_owner(&f, &plain);
    assert_int_equal(o.len, 0);
    o = lookup_owner(NULL, &home);
    assert_int_equal(o.len, 5);
    o = lookup_owner(&f, NULL);
    assert_int_equal(o.len, 0);
    /* an unusable stamp: nobody, not the home user */
    f.owner_tagged = true;
    o = lookup_owner(&f, &home);
    assert_int_equal(o.len, 0);
    /* a stamp wins over the home user */
    parse_ok(ROUTE_OBJ_EXPERIMENT,
             EXP(EXP_OK ", \"tags\": [{\"key\": \"warden.owner\", \"value\": \"bob@x\"}]"), &f);
    o = lookup_owner(&f, &home);
    assert_int_equal(o.len, 5);
    assert_memory_equal(o.ptr, "bob@x", 5);

    struct lookup_facts g;
    assert_int_equal(lookup_facts_copy(&g, &f), 0);
    assert_ptr_not_equal(g.name, f.name);
    assert_string_equal(g.name, "n");
    assert_string_equal(g.owner, "bob@x");
    lookup_facts_clear(&f);
    assert_string_equal(g.owner, "bob@x");
    lookup_facts_clear(&g);
    lookup_facts_clear(&g);
    lookup_facts_clear(NULL);

    parse_ok(ROUTE_OBJ_DATASET, "{\"experiment_ids\": [\"3\", \"1\"]}", &f);
    assert_int_equal(lookup_facts_copy(&g, &f), 0);
    lookup_facts_clear(&f);
    assert_int_equal(g.nexperiments, 2);
    assert_string_equal(g.experiments[1], "1");
    lookup_facts_clear(&g);
}

static void test_kinds(void **state)
{
    int supported = 0;
    for (int k = 0; k < ROUTE_OBJ_COUNT; k++) {
        if (lookup_supported(k))
            supported++;
        if (lookup_gives_experiment(k))
            assert_true(lookup_supported(k));
    }
    assert_int_equal(supported, 11);
    assert_false(lookup_supported(ROUTE_OBJ_GATEWAY_ENDPOINT));
    assert_false(lookup_gives_experiment(ROUTE_OBJ_DATASET));
    assert_false(lookup_gives_experiment(ROUTE_OBJ_EXPERIMENT));
    assert_false(lookup_gives_experiment(ROUTE_OBJ_MODEL));
    assert_true(lookup_gives_experiment(ROUTE_OBJ_JOB));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_request_targets),
        cmocka_unit_test(test_request_encoding),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_experiment_ids),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_parse_experiment),
        cmocka_unit_test(test_parse_others),
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_owner_and_copy),
        cmocka_unit_test(test_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
