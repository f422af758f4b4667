/*
 * Unit tests for mlflow/routes: the route table's invariants and the matcher's rules (static
 * beats parameter, method-aware fallback, HEAD as GET, /ajax-api twins, unknown -> no match,
 * trailing-slash rules incl. the FastAPI job-submit route, rest-of-path parameters, FastAPI
 * registration order, suffix parameters). The last test measures the cost of a match and
 * prints it (ns per target_parse + routes_match of a typical path). Single-threaded; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mlflow/routes.h"
#include "mlflow/target.h"

static struct target t;
static char buf[4096];
static struct route_match m;

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (routes_init(err, sizeof(err)) < 0) {
        fprintf(stderr, "routes_init: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    routes_deinit();
    return 0;
}

static const struct route *match(enum http1_method meth, const char *target)
{
    struct target_error te;
    if (target_parse(target, strlen(target), buf, sizeof(buf), &t, &te) < 0)
        fail_msg("target refused: %s (%s)", target, te.reason);
    memset(&m, 0, sizeof(m));
    if (routes_match(meth, &t, &m) < 0)
        return NULL;
    return m.route;
}

static void expect_action(enum http1_method meth, const char *target, const char *action)
{
    const struct route *r = match(meth, target);
    if (!r)
        fail_msg("%s %s: no match, want %s", http1_method_name(meth), target, action);
    if (strcmp(r->action, action) != 0)
        fail_msg("%s %s: %s (%s), want %s", http1_method_name(meth), target, r->action, r->pattern,
                 action);
}

static void expect_none(enum http1_method meth, const char *target)
{
    const struct route *r = match(meth, target);
    if (r)
        fail_msg("%s %s: matched %s (%s), want none", http1_method_name(meth), target, r->action,
                 r->pattern);
}

static void expect_param(const char *name, const char *value)
{
    const struct target_str *v = route_match_param(&m, name);
    if (!v)
        fail_msg("no parameter %s", name);
    if (!target_str_eq(*v, value))
        fail_msg("parameter %s = \"%.*s\", want \"%s\"", name, (int)v->len, v->ptr, value);
}

static void test_table_invariants(void **state)
{
    (void)state;
    size_t n = routes_count();
    assert_true(n > 400);
    assert_null(routes_at(n));
    size_t public = 0, denied = 0;
    for (size_t i = 0; i < n; i++) {
        const struct route *r = routes_at(i);
        assert_non_null(r);
        assert_non_null(r->action);
        assert_true(r->method != HTTP1_M_HEAD && r->method != HTTP1_M_UNKNOWN);
        if (r->access == ROUTE_PUBLIC) {
            public++;
            /* public is for /health and static UI assets only */
            assert_true(strcmp(r->pattern, "/health") == 0 ||
                        strncmp(r->pattern, "/static-files/", 14) == 0 ||
                        strncmp(r->pattern, "/build/", 7) == 0);
        }
        if (r->access == ROUTE_DENIED)
            denied++;
        if (r->access == ROUTE_OBJECT) {
            assert_true(r->nchecks > 0);
            for (size_t k = 0; k < r->nchecks; k++) {
                int kind = route_object_kind(r->checks[k].object);
                assert_true(kind >= 0);
                assert_true(policy_priv_applies(r->checks[k].priv, (enum policy_kind)kind));
            }
        } else {
            assert_int_equal(r->nchecks, 0);
        }
        /* GET and HEAD never carry a body */
        if (r->method == HTTP1_M_GET)
            assert_int_equal(r->body, ROUTE_BODY_NONE);
        assert_int_equal(r->ajax, strncmp(r->pattern, "/ajax-api/", 10) == 0);
    }
    assert_int_equal(public, 3);
    assert_true(denied > 50);
    /* idempotent */
    char err[64];
    assert_int_equal(routes_init(err, sizeof(err)), 0);
    assert_int_equal(routes_count(), n);
}

static void test_basic_rpcs_and_privileges(void **state)
{
    (void)state;
    const struct route *r = match(HTTP1_M_GET, "/api/2.0/mlflow/runs/get?run_id=abc");
    assert_non_null(r);
    assert_string_equal(r->action, "getRun");
    assert_int_equal(r->access, ROUTE_OBJECT);
    assert_int_equal(r->checks[0].object, ROUTE_OBJ_RUN);
    assert_int_equal(r->checks[0].loc, ROUTE_ID_QUERY);
    assert_string_equal(r->checks[0].field, "run_id");
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_READ);
    assert_int_equal(route_object_kind(r->checks[0].object), POLICY_KIND_EXPERIMENT);

    r = match(HTTP1_M_POST, "/api/2.0/mlflow/experiments/create");
    assert_int_equal(r->checks[0].object, ROUTE_OBJ_NEW_EXPERIMENT);
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_CREATE_EXPERIMENT);
    assert_int_equal(route_object_kind(r->checks[0].object), POLICY_KIND_SCHEMA);
    assert_int_equal(r->body, ROUTE_BODY_JSON);

    r = match(HTTP1_M_POST, "/api/2.0/mlflow/runs/log-metric");
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_MODIFY);
    assert_int_equal(r->checks[0].loc, ROUTE_ID_BODY);

    r = match(HTTP1_M_POST, "/api/2.0/mlflow/runs/search");
    assert_true(r->checks[0].many);

    r = match(HTTP1_M_POST, "/api/2.0/mlflow/registered-models/set-tag");
    assert_int_equal(r->checks[0].object, ROUTE_OBJ_MODEL);
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_APPLY_TAG);

    r = match(HTTP1_M_POST, "/api/2.0/mlflow/model-versions/create");
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_CREATE_MODEL_VERSION);
    assert_int_equal(r->nchecks, 3);

    r = match(HTTP1_M_GET, "/api/2.0/mlflow/experiments/search");
    assert_int_equal(r->access, ROUTE_AUTHENTICATED);
    assert_int_equal(r->filter, ROUTE_FILTER_EXPERIMENTS);

    r = match(HTTP1_M_GET, "/api/2.0/mlflow/registered-models/search");
    assert_int_equal(r->filter, ROUTE_FILTER_MODELS);

    r = match(HTTP1_M_POST, "/gateway/openai/v1/chat/completions");
    assert_int_equal(r->checks[0].object, ROUTE_OBJ_GATEWAY_ENDPOINT);
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_EXECUTE);

    r = match(HTTP1_M_POST, "/v1/traces");
    assert_int_equal(r->checks[0].loc, ROUTE_ID_HEADER);
    assert_int_equal(r->body, ROUTE_BODY_OTLP);
}

static void test_ajax_twins(void **state)
{
    (void)state;
    const struct route *a = match(HTTP1_M_POST, "/api/2.0/mlflow/runs/create");
    const struct route *j = match(HTTP1_M_POST, "/ajax-api/2.0/mlflow/runs/create");
    assert_non_null(a);
    assert_non_null(j);
    assert_ptr_not_equal(a, j);
    assert_string_equal(a->action, j->action);
    assert_false(a->ajax);
    assert_true(j->ajax);
    assert_int_equal(a->checks[0].priv, j->checks[0].priv);
    /* UI-only routes exist only under /ajax-api */
    expect_action(HTTP1_M_GET, "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=a",
                  "getMetricHistoryBulk");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/metrics/get-history-bulk");
    expect_action(HTTP1_M_POST, "/ajax-api/2.0/mlflow/upload-artifact?run_uuid=a&path=x",
                  "uploadArtifact");
    expect_none(HTTP1_M_POST, "/api/2.0/mlflow/upload-artifact");
    /* versions are not interchangeable */
    expect_none(HTTP1_M_GET, "/api/3.0/mlflow/runs/get");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/traces/get");
}

static void test_static_beats_parameter(void **state)
{
    (void)state;
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/traces/get?trace_id=tr-1", "getTrace");
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/traces/batchGet?trace_ids=a", "batchGetTraces");
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/traces/tr-1", "getTraceInfoV3");
    expect_param("trace_id", "tr-1");
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/datasets/search", "searchEvaluationDatasets");
    expect_action(HTTP1_M_GET, "/api/2.0/mlflow/logged-models/m-1", "getLoggedModel");
    expect_param("model_id", "m-1");
}

static void test_method_aware_fallback(void **state)
{
    (void)state;
    /* the static "search" route has POST only: PATCH falls back to {model_id} */
    expect_action(HTTP1_M_PATCH, "/api/2.0/mlflow/logged-models/search", "finalizeLoggedModel");
    expect_param("model_id", "search");
    expect_action(HTTP1_M_POST, "/api/2.0/mlflow/logged-models/search", "searchLoggedModels");
    /* POST datasets/create is CreateDataset; GET is GetDataset("create") */
    expect_action(HTTP1_M_POST, "/api/3.0/mlflow/datasets/create", "createDataset");
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/datasets/create", "getDataset");
    expect_param("dataset_id", "create");
    expect_action(HTTP1_M_DELETE, "/api/3.0/mlflow/datasets/search", "deleteDataset");
    /* methods a path does not serve */
    expect_none(HTTP1_M_PUT, "/api/2.0/mlflow/runs/get");
    expect_none(HTTP1_M_DELETE, "/api/2.0/mlflow/runs/create");
    expect_none(HTTP1_M_OPTIONS, "/api/2.0/mlflow/runs/get");
    expect_none(HTTP1_M_UNKNOWN, "/api/2.0/mlflow/runs/get");
    /* one path, per-method privileges */
    const struct route *r = match(HTTP1_M_GET, "/api/2.0/mlflow/registered-models/alias");
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_EXECUTE);
    r = match(HTTP1_M_POST, "/api/2.0/mlflow/registered-models/alias");
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_MANAGE);
    r = match(HTTP1_M_DELETE, "/api/2.0/mlflow/registered-models/alias");
    assert_int_equal(r->checks[0].priv, POLICY_PRIV_MANAGE);
}

static void test_head_as_get(void **state)
{
    (void)state;
    const struct route *g = match(HTTP1_M_GET, "/get-artifact?run_id=a&path=x");
    const struct route *h = match(HTTP1_M_HEAD, "/get-artifact?run_id=a&path=x");
    assert_non_null(h);
    assert_ptr_equal(g, h);
    assert_int_equal(h->method, HTTP1_M_GET);
    /* HEAD on the artifact proxy download is the download's READ check */
    h = match(HTTP1_M_HEAD, "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/m.pkl");
    assert_string_equal(h->action, "downloadArtifact");
    assert_int_equal(h->checks[0].priv, POLICY_PRIV_READ);
    /* HEAD where no GET exists */
    expect_none(HTTP1_M_HEAD, "/api/2.0/mlflow/runs/create");
}

static void test_unknown_paths(void **state)
{
    (void)state;
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/runs/get2");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/runs");
    expect_none(HTTP1_M_GET, "/API/2.0/mlflow/runs/get");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/Runs/get");
    expect_none(HTTP1_M_GET, "/api/2.0/preview/mlflow/runs/get");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/experiments/permissions/get");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/runs/get/extra");
    expect_none(HTTP1_M_GET, "/favicon.ico");
    expect_none(HTTP1_M_GET, "/static/x.js");
    expect_none(HTTP1_M_GET, "/api");
    expect_none(HTTP1_M_POST, "/");
    expect_action(HTTP1_M_GET, "/", "ui");
}

static void test_trailing_slash(void **state)
{
    (void)state;
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow/runs/get/");
    expect_none(HTTP1_M_GET, "/health/");
    expect_none(HTTP1_M_GET, "/api/2.0/mlflow-artifacts/artifacts/1/x/");
    /* the FastAPI job-submit route requires it, and only it has it */
    expect_action(HTTP1_M_POST, "/ajax-api/3.0/jobs/", "submitJob");
    expect_none(HTTP1_M_POST, "/ajax-api/3.0/jobs");
    expect_none(HTTP1_M_GET, "/ajax-api/3.0/jobs/");
    expect_none(HTTP1_M_POST, "/ajax-api/3.0/jobs/search/");
    expect_action(HTTP1_M_POST, "/ajax-api/3.0/jobs/search", "searchJobs");
    expect_action(HTTP1_M_GET, "/ajax-api/3.0/jobs/search", "getJob");
}

static void test_rest_of_path(void **state)
{
    (void)state;
    expect_action(HTTP1_M_GET, "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/dir/f.txt",
                  "downloadArtifact");
    expect_param("artifact_path", "1/abc/artifacts/dir/f.txt");
    expect_action(HTTP1_M_PUT, "/ajax-api/2.0/mlflow-artifacts/artifacts/1/x", "uploadArtifact");
    expect_param("artifact_path", "1/x");
    assert_int_equal(m.route->body, ROUTE_BODY_STREAM);
    expect_action(HTTP1_M_DELETE, "/api/2.0/mlflow-artifacts/artifacts/1/x", "deleteArtifact");
    assert_int_equal(m.route->checks[0].priv, POLICY_PRIV_MANAGE);
    expect_action(HTTP1_M_POST, "/api/2.0/mlflow-artifacts/mpu/create/1/d",
                  "createMultipartUpload");
    expect_param("artifact_path", "1/d");
    expect_action(HTTP1_M_GET, "/api/2.0/mlflow-artifacts/presigned/1/f",
                  "getPresignedDownloadUrl");
    /* rest params need at least one segment */
    expect_none(HTTP1_M_PUT, "/api/2.0/mlflow-artifacts/artifacts");
    expect_action(HTTP1_M_GET, "/api/2.0/mlflow-artifacts/artifacts?path=1", "listArtifactsProxy");
    /* '\' is allowed only inside a rest parameter */
    expect_action(HTTP1_M_GET, "/api/2.0/mlflow-artifacts/artifacts/1/a\\b", "downloadArtifact");
    expect_param("artifact_path", "1/a\\b");
    expect_none(HTTP1_M_GET, "/api/3.0/mlflow/traces/tr\\1");
    expect_action(HTTP1_M_GET, "/static-files/static/js/main.js", "staticFile");
    assert_int_equal(m.route->access, ROUTE_PUBLIC);
    expect_param("path", "static/js/main.js");
}

static void test_fastapi_order_and_suffix(void **state)
{
    (void)state;
    /* FastAPI registers {endpoint_name}/mlflow/invocations before proxy/{..}/{path}: MLflow
     * invokes endpoint "proxy", so must Warden's check. */
    expect_action(HTTP1_M_POST, "/gateway/proxy/mlflow/invocations", "gatewayInvocations");
    expect_param("endpoint_name", "proxy");
    expect_action(HTTP1_M_POST, "/gateway/proxy/ep/v1/chat", "gatewayRawProxy");
    expect_param("endpoint_name", "ep");
    expect_param("path", "v1/chat");
    expect_action(HTTP1_M_POST, "/gateway/ep1/mlflow/invocations", "gatewayInvocations");
    expect_param("endpoint_name", "ep1");
    expect_action(HTTP1_M_POST, "/gateway/gemini/v1beta/models/ep:generateContent",
                  "gatewayGeminiGenerateContent");
    expect_param("endpoint_name", "ep");
    expect_action(HTTP1_M_POST, "/gateway/gemini/v1beta/models/a:b:streamGenerateContent",
                  "gatewayGeminiStreamGenerateContent");
    expect_param("endpoint_name", "a:b");
    expect_none(HTTP1_M_POST, "/gateway/gemini/v1beta/models/:generateContent");
    expect_none(HTTP1_M_POST, "/gateway/gemini/v1beta/models/ep:other");
}

static void test_mcp_greedy_split(void **state)
{
    (void)state;
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/mcp-servers/com.example/server", "getMcpServer");
    expect_param("name", "com.example/server");
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/mcp-servers/endpoints",
                  "searchAllMcpAccessEndpoints");
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/mcp-servers/endpoints/x", "getMcpServer");
    /* {name:path} is greedy in Starlette: name takes the last "/versions/" it can */
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/mcp-servers/a/versions/b/versions/c",
                  "getMcpServerVersion");
    expect_param("name", "a/versions/b");
    expect_param("version", "c");
    expect_action(HTTP1_M_DELETE, "/api/3.0/mlflow/mcp-servers/a/b/versions/1/tags/k",
                  "deleteMcpServerVersionTag");
    expect_param("name", "a/b");
    expect_param("version", "1");
    expect_param("key", "k");
    assert_int_equal(m.route->access, ROUTE_ADMIN);
}

static void test_denied_routes(void **state)
{
    (void)state;
    const struct route *r = match(HTTP1_M_POST, "/api/3.0/mlflow/users/permissions/grant");
    assert_non_null(r);
    assert_int_equal(r->access, ROUTE_DENIED);
    r = match(HTTP1_M_POST, "/ajax-api/2.0/mlflow/users/create");
    assert_int_equal(r->access, ROUTE_DENIED);
    r = match(HTTP1_M_GET, "/signup");
    assert_int_equal(r->access, ROUTE_DENIED);
    r = match(HTTP1_M_POST, "/ajax-api/3.0/mlflow/assistant/message");
    assert_int_equal(r->access, ROUTE_DENIED);
    r = match(HTTP1_M_POST, "/api/2.0/mlflow/webhooks");
    assert_int_equal(r->access, ROUTE_ADMIN);
}

static void test_path_params_and_names(void **state)
{
    (void)state;
    expect_action(HTTP1_M_DELETE, "/api/3.0/mlflow/traces/tr-9/assessments/a-1",
                  "deleteAssessment");
    assert_int_equal(m.nparams, 2);
    expect_param("trace_id", "tr-9");
    expect_param("assessment_id", "a-1");
    assert_null(route_match_param(&m, "nope"));
    /* decoded exactly once */
    expect_action(HTTP1_M_GET, "/api/3.0/mlflow/traces/tr-%41", "getTraceInfoV3");
    expect_param("trace_id", "tr-A");
    assert_string_equal(route_object_name(ROUTE_OBJ_LOGGED_MODEL), "logged-model");
    assert_string_equal(route_access_name(ROUTE_DENIED), "denied");
    assert_string_equal(route_filter_name(ROUTE_FILTER_MODEL_VERSIONS), "model-versions");
    assert_string_equal(route_id_loc_name(ROUTE_ID_HEADER), "header");
    assert_string_equal(route_body_name(ROUTE_BODY_OTLP), "otlp");
    assert_int_equal(route_object_kind(ROUTE_OBJ_NONE), -1);
}

static void test_dumps(void **state)
{
    (void)state;
    char *md = NULL, *tsv = NULL;
    size_t mdlen = 0, tsvlen = 0;
    FILE *f = open_memstream(&md, &mdlen);
    routes_dump_markdown(f);
    fclose(f);
    f = open_memstream(&tsv, &tsvlen);
    routes_dump_tsv(f);
    fclose(f);
    assert_non_null(strstr(md, "| createRun | POST | `/api/2.0/mlflow/runs/create` | object | "
                               "EXPERIMENT via experiment (body `experiment_id`) | MODIFY | no |"));
    assert_non_null(strstr(tsv, "GET\t/api/2.0/mlflow/runs/get\tgetRun\tobject\t"
                                "run:query:run_id:READ\t\tnone\tno\n"));
    size_t lines = 0;
    for (char *p = tsv; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, routes_count() + 1);
    free(md);
    free(tsv);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void test_match_cost(void **state)
{
    (void)state;
    static const struct {
        enum http1_method m;
        const char *target;
    } cases[] = {
        {HTTP1_M_GET, "/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef"},
        {HTTP1_M_POST, "/api/2.0/mlflow/runs/log-metric"},
        {HTTP1_M_GET, "/api/3.0/mlflow/traces/tr-0123456789abcdef0123456789abcdef"},
        {HTTP1_M_GET, "/api/2.0/mlflow-artifacts/artifacts/1/0123456789abcdef/artifacts/m/a.pkl"},
        {HTTP1_M_DELETE, "/api/3.0/mlflow/mcp-servers/a/b/versions/1/tags/k"},
    };
    const int iters = 200000;
    struct target_error te;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len = strlen(cases[c].target);
        assert_int_equal(target_parse(cases[c].target, len, buf, sizeof(buf), &t, &te), 0);
        assert_int_equal(routes_match(cases[c].m, &t, &m), 0);
        double t0 = now_ns();
        for (int i = 0; i < iters; i++)
            (void)routes_match(cases[c].m, &t, &m);
        double t1 = now_ns();
        for (int i = 0; i < iters; i++) {
            (void)target_parse(cases[c].target, len, buf, sizeof(buf), &t, &te);
            (void)routes_match(cases[c].m, &t, &m);
        }
        double t2 = now_ns();
        printf("# %-6s %-78s match %6.1f ns, parse+match %6.1f ns\n", http1_method_name(cases[c].m),
               cases[c].target, (t1 - t0) / iters, (t2 - t1) / iters);
        /* a generous bound that still catches an accidental linear scan or allocation */
        assert_true((t2 - t1) / iters < 20000.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_invariants),
        cmocka_unit_test(test_basic_rpcs_and_privileges),
        cmocka_unit_test(test_ajax_twins),
        cmocka_unit_test(test_static_beats_parameter),
        cmocka_unit_test(test_method_aware_fallback),
        cmocka_unit_test(test_head_as_get),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_rest_of_path),
        cmocka_unit_test(test_fastapi_order_and_suffix),
        cmocka_unit_test(test_mcp_greedy_split),
        cmocka_unit_test(test_denied_routes),
        cmocka_unit_test(test_path_params_and_names),
        cmocka_unit_test(test_dumps),
        cmocka_unit_test(test_match_cost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
