/*
 * Unit tests for mlflow/graphql: MLflow's GraphQL requests read as graphql-core reads them,
 * planned into authorisation checks and answer filters. Fixtures (tests/unit/fixtures/graphql,
 * from $WARDEN_SOURCE_DIR): the MLflow UI's four queries verbatim from its bundle, the same
 * as the UI sends them (Apollo adds __typename) with the answers the pinned MLflow gave,
 * the schema as MLflow builds it (gen_schema.py) and cases.json, requests with MLflow's own
 * verdict on each (gen_cases.py). Single-threaded; reads fixtures, no other I/O.
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

#include "mlflow/graphql.h"

#define RUN1 "1b1e76cf245349b88080f15ba00f0465"
#define RUN2 "7d7dd140676d480bb18f6d3246e59cc4"

static char err[512];
static struct graphql_plan plan;

/* ---- helpers ---- */

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("WARDEN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/graphql/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Plans query with variables (JSON text or NULL) and operation name (or NULL). */
static int q3(const char *query, const char *vars, const char *op)
{
    graphql_plan_free(&plan);
    return graphql_plan(query, strlen(query), vars, vars ? strlen(vars) : 0, op, &plan, err,
                        sizeof(err));
}

static int q(const char *query)
{
    return q3(query, NULL, NULL);
}

/* The plan's checks as "run:ID,experiment:ID,...". */
static const char *checks(void)
{
    static char buf[4096];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < plan.nchecks && o < sizeof(buf); i++) {
        assert_int_equal(plan.checks[i].priv, POLICY_PRIV_READ);
        assert_int_equal(strlen(plan.checks[i].id), plan.checks[i].id_len);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s:%s", i ? "," : "",
                              route_object_name(plan.checks[i].object), plan.checks[i].id);
    }
    return buf;
}

/* The plan's filters as "a.b.c/key;...". */
static const char *filters(void)
{
    static char buf[4096];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < plan.nfilters && o < sizeof(buf); i++) {
        assert_int_equal(plan.filters[i].object, ROUTE_OBJ_MODEL);
        for (size_t k = 0; k < plan.filters[i].depth && o < sizeof(buf); k++)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", k ? "." : (i ? ";" : ""),
                                  plan.filters[i].path[k]);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "/%s", plan.filters[i].key);
    }
    return buf;
}

static void assert_refused(const char *query, const char *vars, const char *op, const char *why)
{
    if (q3(query, vars, op) != -1)
        fail_msg("accepted: %s", query);
    if (!strstr(err, why))
        fail_msg("for %s\n  error \"%s\" lacks \"%s\"", query, err, why);
}

/* Hides model versions of models named "model-b". */
static bool hide_b(void *ctx, enum route_object kind, const char *name, size_t len)
{
    int *calls = ctx;
    assert_int_equal(kind, ROUTE_OBJ_MODEL);
    if (calls)
        (*calls)++;
    return !(len == 7 && memcmp(name, "model-b", 7) == 0);
}

static char *filter_body(const char *body, int *calls)
{
    char *out = NULL;
    size_t outlen = 0;
    if (graphql_filter_answer(&plan, body, strlen(body), hide_b, calls, &out, &outlen, err,
                              sizeof(err)) != 0)
        fail_msg("filter refused: %s", err);
    assert_int_equal(strlen(out), outlen);
    return out;
}

/* ---- the schema ---- */

static void test_schema_matches_mlflow(void **state)
{
    (void)state;
    size_t len, got_len;
    char *want = read_fixture("schema.txt", &len);
    char *got = NULL;
    FILE *f = open_memstream(&got, &got_len);
    assert_non_null(f);
    graphql_schema_dump(f);
    fclose(f);
    if (strcmp(got, want) != 0)
        fail_msg("compiled-in schema differs from MLflow's:\n--- compiled in\n%s\n--- MLflow\n%s",
                 got, want);
    free(got);
    free(want);
}

/* ---- the UI's queries ---- */

static void plan_request_fixture(const char *name)
{
    size_t len;
    char *body = read_fixture(name, &len);
    graphql_plan_free(&plan);
    if (graphql_plan_request(body, len, &plan, err, sizeof(err)) != 0)
        fail_msg("%s refused: %s", name, err);
    free(body);
    assert_false(plan.admin_only);
    assert_int_equal(plan.op, GRAPHQL_OP_QUERY);
    assert_int_equal(plan.nroots, 1);
    assert_int_equal(plan.roots[0].kind, GRAPHQL_ROOT_CHECKED);
}

static void test_ui_queries_as_sent(void **state)
{
    (void)state;
    plan_request_fixture("ui_get_experiment.json");
    assert_string_equal(plan.operation_name, "MlflowGetExperimentQuery");
    assert_string_equal(plan.roots[0].field, "mlflowGetExperiment");
    assert_string_equal(checks(), "experiment:1");
    assert_string_equal(filters(), "");

    plan_request_fixture("ui_get_run.json");
    assert_string_equal(plan.operation_name, "GetRun");
    assert_string_equal(checks(), "run:" RUN1);
    assert_string_equal(filters(), "mlflowGetRun.run.modelVersions/name");

    plan_request_fixture("ui_search_runs.json");
    assert_string_equal(plan.operation_name, "SearchRuns");
    assert_string_equal(checks(), "experiment:1,experiment:2");
    assert_string_equal(filters(), "mlflowSearchRuns.runs.modelVersions/name");

    plan_request_fixture("ui_get_metric_history_bulk_interval.json");
    assert_string_equal(plan.roots[0].response_key, "mlflowGetMetricHistoryBulkInterval");
    assert_string_equal(checks(), "run:" RUN1 ",run:" RUN2);
    assert_string_equal(filters(), "");
}

/* The bundle's text verbatim (as the UI's source has it, before Apollo adds __typename). */
static void test_ui_queries_verbatim(void **state)
{
    (void)state;
    static const struct {
        const char *file, *vars, *checks, *filters;
    } ui[] = {
        {"ui_get_experiment.graphql", "{\"input\":{\"experimentId\":\"7\"}}", "experiment:7", ""},
        {"ui_get_run.graphql", "{\"data\":{\"runId\":\"r-7\"}}", "run:r-7",
         "mlflowGetRun.run.modelVersions/name"},
        {"ui_search_runs.graphql", "{\"data\":{\"filter\":\"\",\"experimentIds\":[\"7\"]}}",
         "experiment:7", "mlflowSearchRuns.runs.modelVersions/name"},
        {"ui_get_metric_history_bulk_interval.graphql",
         "{\"data\":{\"runIds\":[\"a\",\"b\",\"a\"],\"metricKey\":\"m\",\"startStep\":null,"
         "\"endStep\":null,\"maxResults\":320}}",
         "run:a,run:b", ""},
    };
    for (size_t i = 0; i < sizeof(ui) / sizeof(ui[0]); i++) {
        size_t len;
        char *text = read_fixture(ui[i].file, &len);
        graphql_plan_free(&plan);
        if (graphql_plan(text, len, ui[i].vars, strlen(ui[i].vars), NULL, &plan, err,
                         sizeof(err)) != 0)
            fail_msg("%s refused: %s", ui[i].file, err);
        assert_string_equal(checks(), ui[i].checks);
        assert_string_equal(filters(), ui[i].filters);
        free(text);
    }
}

static void test_ui_answers_filtered(void **state)
{
    (void)state;
    size_t len;
    int calls = 0;
    plan_request_fixture("ui_get_run.json");
    char *answer = read_fixture("ui_get_run.answer.json", &len);
    assert_non_null(strstr(answer, "\"model-b\""));
    char *out = filter_body(answer, &calls);
    assert_int_equal(calls, 2);
    assert_null(strstr(out, "model-b"));
    assert_non_null(strstr(out, "\"name\":\"model-a\""));
    assert_non_null(strstr(out, "\"experimentId\":\"1\"")); /* the rest untouched */
    free(out);
    free(answer);

    plan_request_fixture("ui_search_runs.json");
    answer = read_fixture("ui_search_runs.answer.json", &len);
    calls = 0;
    out = filter_body(answer, &calls);
    assert_int_equal(calls, 2);
    assert_null(strstr(out, "model-b"));
    assert_non_null(strstr(out, "model-a"));
    free(out);
    free(answer);

    /* nothing to filter: the body comes back byte for byte */
    plan_request_fixture("ui_get_metric_history_bulk_interval.json");
    answer = read_fixture("ui_get_metric_history_bulk_interval.answer.json", &len);
    out = filter_body(answer, NULL);
    assert_string_equal(out, answer);
    free(out);
    free(answer);
}

/* ---- agreement with MLflow on recorded cases ---- */

static bool refused_by_design(const char *e)
{
    static const char *const why[] = {"canonical decimal", "needs its input",
                                      "needs input.",      "name different runs",
                                      "needs a non-empty", "not a valid run id"};
    for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
        if (strstr(e, why[i]))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* MLflow's checks of a case (a list of [kind, id]) as a sorted "kind:id" list. */
static void sorted_checks(char **v, size_t *n, const json_t *list)
{
    size_t i;
    const json_t *c;
    *n = 0;
    json_array_foreach(list, i, c)
    {
        const json_t *id = json_array_get(c, 1);
        const char *s = json_is_string(id) ? json_string_value(id) : "<null>";
        if (asprintf(&v[(*n)++], "%s:%s", json_string_value(json_array_get(c, 0)), s) < 0)
            fail();
    }
    qsort(v, *n, sizeof(*v), cmp_str);
}

static void test_cases_agree_with_mlflow(void **state)
{
    (void)state;
    size_t len, i, agreed = 0, refused = 0, by_design = 0;
    char *text = read_fixture("cases.json", &len);
    json_error_t je;
    json_t *cases = json_loadb(text, len, JSON_ALLOW_NUL, &je), *c;
    if (!cases)
        fail_msg("cases.json: %s", je.text);
    json_array_foreach(cases, i, c)
    {
        const json_t *qv = json_object_get(c, "query");
        const char *query = json_string_value(qv);
        const json_t *vars = json_object_get(c, "variables");
        const json_t *op = json_object_get(c, "operationName");
        const json_t *mlflow = json_object_get(c, "mlflow");
        char *vtext =
            vars && !json_is_null(vars) ? json_dumps(vars, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        graphql_plan_free(&plan);
        int r = graphql_plan(query, json_string_length(qv), vtext, vtext ? strlen(vtext) : 0,
                             json_is_string(op) ? json_string_value(op) : NULL, &plan, err,
                             sizeof(err));
        free(vtext);
        if (!json_is_true(json_object_get(mlflow, "executes"))) {
            if (r == 0)
                fail_msg("case %zu: MLflow refuses (%s), Warden plans it:\n%s", i,
                         json_string_value(json_object_get(mlflow, "error")), query);
            refused++;
            continue;
        }
        if (r != 0) {
            if (!refused_by_design(err))
                fail_msg("case %zu: MLflow executes, Warden refuses (%s):\n%s", i, err, query);
            by_design++;
            continue;
        }
        char *want[GRAPHQL_MAX_CHECKS], *got[GRAPHQL_MAX_CHECKS];
        size_t nw, ng = plan.nchecks;
        sorted_checks(want, &nw, json_object_get(mlflow, "checks"));
        for (size_t k = 0; k < ng; k++)
            if (asprintf(&got[k], "%s:%s", route_object_name(plan.checks[k].object),
                         plan.checks[k].id) < 0)
                fail();
        qsort(got, ng, sizeof(*got), cmp_str);
        if (nw != ng)
            fail_msg("case %zu: %zu checks, MLflow touches %zu objects:\n%s", i, ng, nw, query);
        for (size_t k = 0; k < nw; k++) {
            assert_string_equal(got[k], want[k]);
            free(got[k]);
            free(want[k]);
        }
        /* the root fields, by response key and field, in execution order */
        const json_t *roots = json_object_get(mlflow, "roots");
        assert_int_equal(json_array_size(roots), plan.nroots);
        for (size_t k = 0; k < plan.nroots; k++) {
            const json_t *rk = json_array_get(roots, k);
            assert_string_equal(plan.roots[k].response_key,
                                json_string_value(json_array_get(rk, 0)));
            assert_string_equal(plan.roots[k].field, json_string_value(json_array_get(rk, 1)));
        }
        agreed++;
    }
    /* the fixture keeps its three kinds of case */
    assert_true(agreed > 100);
    assert_true(refused > 100);
    assert_true(by_design > 20);
    json_decref(cases);
    free(text);
}

/* ---- lexer ---- */

static void test_strings(void **state)
{
    (void)state;
    /* escapes: \uXXXX, a surrogate pair, \u{...} (leading zeros), the one-letter ones */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"a\\u00e9\\uD83D\\uDE00\\u{1F600}"
                       "\\u{00000041}\\/\\\\\\\"z\"}) { run { info { runId } } } }"),
                     0);
    assert_string_equal(checks(), "run:a\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                                  "A/\\\"z");
    /* raw UTF-8 and a tab inside a string; control characters are refused by the id rules */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"\xe2\x82\xac\"}) { run { info { runId } } "
                       "} }"),
                     0);
    assert_string_equal(checks(), "run:\xe2\x82\xac");
    assert_refused("{ mlflowGetRun(input: {runId: \"a\tb\"}) { run { info { runId } } } }", NULL,
                   NULL, "not a valid run id");
    /* block strings: common indentation and blank first/last lines removed, \""" kept (the
     * value of a multi-line one keeps its line breaks, which run ids may not hold) */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"\"\"\n    a\\\"\"\"b\n  \n\"\"\"}) { "
                       "run { info { runId } } } }"),
                     0);
    assert_string_equal(checks(), "run:a\"\"\"b");
    assert_refused("{ mlflowGetRun(input: {runId: \"\"\"\n    a\n      b\n\"\"\"}) { run { info "
                   "{ runId } } } }",
                   NULL, NULL, "not a valid run id");
    assert_int_equal(q("{ mlflowGetExperiment(input: {experimentId: \"\"\"\r\n  12\r\n\"\"\"}) { "
                       "experiment { name } } }"),
                     0);
    assert_string_equal(checks(), "experiment:12");
    /* a one-line block string keeps its indentation (the first line is never dedented) */
    assert_int_equal(
        q("{ mlflowGetRun(input: {runId: \"\"\"  x \"\"\"}) { run { info { runId } } } }"), 0);
    assert_string_equal(checks(), "run:  x ");

    static const char *const bad[] = {
        "\"a\\uD83Db\"",      /* lone high surrogate */
        "\"a\\uDE00\"",       /* lone low surrogate */
        "\"\\u{110000}\"",    /* beyond U+10FFFF */
        "\"\\u{D800}\"",      /* surrogate */
        "\"\\u{}\"",          /* no digit */
        "\"\\u{000000041}\"", /* more than 12 characters */
        "\"\\u00G1\"",        /* not hex */
        "\"\\x\"",            /* unknown escape */
        "\"ab",               /* unterminated */
        "\"a\nb\"",           /* line break in a string */
        "\"\"\"abc",          /* unterminated block string */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char doc[256];
        snprintf(doc, sizeof(doc),
                 "{ mlflowGetRun(input: {runId: %s}) { run { info { runId } } } }", bad[i]);
        assert_refused(doc, NULL, NULL, "GraphQL syntax error");
    }
}

static void test_ignored_tokens(void **state)
{
    (void)state;
    /* BOM anywhere, commas, comments, CR line ends */
    assert_int_equal(q("\xef\xbb\xbf# leading comment\r\nquery,,Q\xef\xbb\xbf{ # c\r"
                       "mlflowGetExperiment(input: {experimentId: \"3\",},) {experiment{name,}} ,}"
                       "# trailing"),
                     0);
    assert_string_equal(checks(), "experiment:3");
    assert_string_equal(plan.operation_name, "Q");
    /* descriptions on operations and variable definitions (graphql-core 3.2.14 reads them) */
    assert_int_equal(q3("\"about\" query Q(\"\"\"the id\"\"\" $e: String) { mlflowGetExperiment("
                        "input: {experimentId: $e}) { experiment { name } } }",
                        "{\"e\":\"4\"}", NULL),
                     0);
    assert_string_equal(checks(), "experiment:4");
    assert_refused("\"about\" { __typename }", NULL, NULL, "descriptions are not supported");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "# only a comment",
        "{ }",
        "{ a(x: 01) }",
        "{ a(x: -) }",
        "{ a(x: 1.) }",
        "{ a(x: 1e) }",
        "{ a(x: 1.5.2) }",
        "{ a(x: 0x1) }",
        "{ a(x: 'x') }",
        "{ .. a }",
        "{ a() }",
        "query Q() { a }",
        "{ a(x: $) }",
        "{ ...on }",
        "{ ... on }",
        "fragment on on Query { a } { ...on }",
        "query Q($a: String = $b) { a }",
        "{ a } extra",
        "{ a \x01 }",
        "{ a \xc3\xa9 }",
        "query Q { a { b }",
        "query Q [ a ]",
        "notAKeyword { a }",
        "\"desc\" notAKeyword { a }",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], NULL, NULL, "GraphQL syntax error");
    assert_refused("type Q { a: String }", NULL, NULL, "not executable");
    assert_refused("extend type Q { a: String }", NULL, NULL, "not executable");
    assert_refused("{ __typename }\xff", NULL, NULL, "not valid UTF-8");
    /* a NUL byte outside a string */
    assert_int_equal(graphql_plan("{ __typename \0 }", 16, NULL, 0, NULL, &plan, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "unexpected character U+0000"));
    /* but allowed inside a string, as graphql-core allows it */
    assert_int_equal(graphql_plan("{ test(inputString: \"a\0b\") { output } }", 39, NULL, 0, NULL,
                                  &plan, err, sizeof(err)),
                     0);
    graphql_plan_free(&plan);
    /* syntax errors say where */
    assert_refused("{\n  a(x: 01) }", NULL, NULL, "at 2:9");
}

/* ---- operations ---- */

static void test_operation_selection(void **state)
{
    (void)state;
    const char *two =
        "query A { a: mlflowGetExperiment(input: {experimentId: \"1\"}) { experiment {"
        " name } } } query B { b: mlflowGetExperiment(input: {experimentId: \"2\"}) {"
        " experiment { name } } }";
    assert_int_equal(q3(two, NULL, "B"), 0);
    assert_string_equal(checks(), "experiment:2");
    assert_string_equal(plan.operation_name, "B");
    assert_string_equal(plan.roots[0].response_key, "b");
    assert_int_equal(q3(two, NULL, "A"), 0);
    assert_string_equal(checks(), "experiment:1");
    assert_refused(two, NULL, NULL, "must provide operation name");
    assert_refused(two, NULL, "", "unknown operation named ''");
    assert_refused(two, NULL, "C", "unknown operation named 'C'");
    assert_refused("query A { __typename } query A { __typename }", NULL, "A",
                   "only one operation named 'A'");
    assert_refused("{ __typename } query A { __typename }", NULL, "A",
                   "anonymous operation must be the only");
    assert_refused("{ __typename }", NULL, "X", "unknown operation named 'X'");
    assert_int_equal(q("{ __typename }"), 0);
    assert_null(plan.operation_name);
    /* an operation that is not selected is still validated, as graphql-core validates all */
    assert_refused("query A { __typename } query B { nope }", NULL, "A", "cannot query field");
    assert_refused("fragment F on Query { __typename }", NULL, NULL, "no operation");
}

static void test_operation_kinds(void **state)
{
    (void)state;
    assert_int_equal(q("mutation { mlflowSearchRuns(input: {experimentIds: [\"1\"]}) { runs { "
                       "info { runId } } } }"),
                     0);
    assert_int_equal(plan.op, GRAPHQL_OP_MUTATION);
    assert_true(plan.admin_only);
    assert_non_null(strstr(plan.admin_reason, "mutations are admin-only"));
    assert_string_equal(checks(), "experiment:1"); /* computed all the same */
    assert_int_equal(q("mutation { mlflowSearchDatasets(input: {experimentIds: [\"5\"]}) { "
                       "datasetSummaries { name } } }"),
                     0);
    assert_true(plan.admin_only);
    assert_string_equal(checks(), "experiment:5");
    assert_refused("subscription { __typename }", NULL, NULL, "subscription");
    assert_refused("mutation { mlflowGetRun(input: {runId: \"x\"}) { run { info { runId } } } }",
                   NULL, NULL, "cannot query field 'mlflowGetRun' on type 'Mutation'");
    assert_refused("{ mlflowSearchDatasets(input: {experimentIds: [\"1\"]}) { datasetSummaries "
                   "{ name } } }",
                   NULL, NULL, "cannot query field 'mlflowSearchDatasets' on type 'Query'");
}

/* ---- root fields ---- */

static void test_root_fields(void **state)
{
    (void)state;
    assert_int_equal(
        q("{ e: mlflowGetExperiment(input: {experimentId: \"0\"}) { experiment { name } }"
          " r: mlflowGetRun(input: {runUuid: \"u\"}) { run { info { runId } } }"
          " l: mlflowListArtifacts(input: {runId: \"l\", path: \"x\"}) { files { path } }"
          " m: mlflowGetMetricHistoryBulkInterval(input: {runIds: [\"m1\", \"u\"]}) {"
          "   metrics { value } }"
          " s: mlflowSearchRuns(input: {experimentIds: [\"9223372036854775807\", \"0\"]})"
          "   { runs { info { runId } } }"
          " t: test(inputString: \"x\") { output } __typename }"),
        0);
    assert_false(plan.admin_only);
    assert_string_equal(checks(), "experiment:0,run:u,run:l,run:m1,experiment:9223372036854775807");
    assert_int_equal(plan.nroots, 7);
    assert_string_equal(plan.roots[0].field, "mlflowGetExperiment");
    assert_string_equal(plan.roots[5].field, "test");
    assert_int_equal(plan.roots[5].kind, GRAPHQL_ROOT_META);
    assert_string_equal(plan.roots[6].field, "__typename");
    assert_string_equal(plan.checks[3].field, "mlflowGetMetricHistoryBulkInterval");

    /* introspection */
    assert_int_equal(
        q("{ __schema { types { name fields { name } } } __type(name: \"Query\") { name"
          " } }"),
        0);
    assert_int_equal(plan.nchecks, 0);
    assert_false(plan.admin_only);
    assert_int_equal(plan.roots[0].kind, GRAPHQL_ROOT_META);

    /* model version search: admin only */
    assert_int_equal(
        q("{ mlflowSearchModelVersions(input: {filter: \"name='a'\"}) { modelVersions {"
          " name } nextPageToken } }"),
        0);
    assert_true(plan.admin_only);
    assert_int_equal(plan.roots[0].kind, GRAPHQL_ROOT_ADMIN_ONLY);
    assert_non_null(strstr(plan.admin_reason, "mlflowSearchModelVersions"));

    /* runId, else runUuid, as MLflow reads them; two different runs refused */
    assert_int_equal(
        q("{ mlflowGetRun(input: {runId: \"\", runUuid: \"b\"}) { run { info { runId } }"
          " } }"),
        0);
    assert_string_equal(checks(), "run:b");
    assert_int_equal(
        q("{ mlflowGetRun(input: {runId: \"a\", runUuid: \"a\"}) { run { info { runId }"
          " } } }"),
        0);
    assert_string_equal(checks(), "run:a");
    assert_int_equal(
        q("{ mlflowGetRun(input: {runId: null, runUuid: \"c\"}) { run { info { runId } }"
          " } }"),
        0);
    assert_string_equal(checks(), "run:c");
    assert_refused(
        "{ mlflowGetRun(input: {runId: \"a\", runUuid: \"b\"}) { run { info { runId } } } "
        "}",
        NULL, NULL, "name different runs");
    assert_refused("{ mlflowListArtifacts(input: {runId: \"a\", runUuid: \"b\"}) { rootUri } }",
                   NULL, NULL, "name different runs");

    /* ids: present, canonical experiment ids, no nulls, non-empty lists */
    static const char *const exp[] = {
        "\"01\"", "\" 1\"", "\"1 \"", "\"+1\"", "\"-1\"", "\"1_0\"", "\"9223372036854775808\"",
        "\"\"",   "null"};
    for (size_t i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
        char doc[200];
        snprintf(doc, sizeof(doc),
                 "{ mlflowGetExperiment(input: {experimentId: %s}) { experiment { name } } }",
                 exp[i]);
        assert_int_equal(q(doc), -1);
        snprintf(doc, sizeof(doc),
                 "{ mlflowSearchRuns(input: {experimentIds: [\"1\", %s]}) { runs { info { runId } }"
                 " } }",
                 exp[i]);
        assert_int_equal(q(doc), -1);
    }
    assert_refused("{ mlflowGetExperiment { experiment { name } } }", NULL, NULL,
                   "needs its input argument");
    assert_refused("{ mlflowGetExperiment(input: null) { experiment { name } } }", NULL, NULL,
                   "needs its input argument");
    assert_refused("{ mlflowGetRun(input: {}) { run { info { runId } } } }", NULL, NULL,
                   "needs input.runId");
    assert_refused("{ mlflowSearchRuns(input: {experimentIds: []}) { runs { info { runId } } } }",
                   NULL, NULL, "non-empty input.experimentIds");
    assert_refused("{ mlflowSearchRuns(input: {filter: \"\"}) { runs { info { runId } } } }", NULL,
                   NULL, "non-empty input.experimentIds");
    assert_refused("{ mlflowGetMetricHistoryBulkInterval(input: {runIds: [\"a\", null]}) { metrics "
                   "{ value } } }",
                   NULL, NULL, "needs input.runIds");
    assert_refused("mutation { mlflowSearchDatasets(input: {experimentIds: []}) { datasetSummaries "
                   "{ name } } }",
                   NULL, NULL, "non-empty input.experimentIds");
    /* a single value where a list is expected is a list of one, as graphql-core coerces it */
    assert_int_equal(
        q("{ mlflowSearchRuns(input: {experimentIds: \"3\"}) { runs { info { runId } } }"
          " }"),
        0);
    assert_string_equal(checks(), "experiment:3");
}

static void test_checks_deduplicated_and_bounded(void **state)
{
    (void)state;
    assert_int_equal(q("{ a: mlflowGetRun(input: {runId: \"x\"}) { run { info { runId } } }"
                       " b: mlflowListArtifacts(input: {runUuid: \"x\"}) { rootUri }"
                       " c: mlflowGetMetricHistoryBulkInterval(input: {runIds: [\"x\", \"x\"]}) {"
                       " metrics { value } } }"),
                     0);
    assert_string_equal(checks(), "run:x");
    assert_string_equal(plan.checks[0].field, "mlflowGetRun");

    /* more distinct objects than GRAPHQL_MAX_CHECKS */
    size_t cap = 16 * (GRAPHQL_MAX_CHECKS + 2) + 64, o = 0;
    char *vars = malloc(cap);
    assert_non_null(vars);
    o += (size_t)snprintf(vars + o, cap - o, "{\"ids\":[");
    for (int i = 0; i <= GRAPHQL_MAX_CHECKS; i++)
        o += (size_t)snprintf(vars + o, cap - o, "%s\"r%d\"", i ? "," : "", i);
    snprintf(vars + o, cap - o, "]}");
    assert_refused("query($ids: [String]) { mlflowGetMetricHistoryBulkInterval(input: {runIds: "
                   "$ids}) { metrics { value } } }",
                   vars, NULL, "more than 500 objects");
    free(vars);
}

/* ---- variables ---- */

static void test_variables(void **state)
{
    (void)state;
    const char *by_input = "query($i: MlflowGetRunInput) { mlflowGetRun(input: $i) { run { info {"
                           " runId } } } }";
    assert_int_equal(q3(by_input, "{\"i\":{\"runId\":\"v\"}}", NULL), 0);
    assert_string_equal(checks(), "run:v");
    assert_refused(by_input, "{\"i\":{\"run_id\":\"v\"}}", NULL,
                   "field 'run_id' is not defined by type 'MlflowGetRunInput'");
    assert_refused(by_input, "{\"i\":{\"runId\":5}}", NULL, "String cannot represent");
    assert_refused(by_input, "{\"i\":[]}", NULL, "to be an object");
    assert_refused(by_input, "{\"i\":{\"runId\":\"a\",\"runId\":\"b\"}}", NULL, "not valid JSON");
    assert_refused(by_input, "[]", NULL, "variables must be an object");
    assert_refused(by_input, "{\"i\":", NULL, "not valid JSON");
    assert_refused(by_input, "{}", NULL, "needs its input argument"); /* absent variable */
    assert_int_equal(q3(by_input, "null", NULL), -1);
    /* variables the operation does not declare are ignored, as by graphql-core */
    assert_int_equal(q3(by_input, "{\"i\":{\"runId\":\"v\"},\"other\":{\"x\":1}}", NULL), 0);

    const char *list = "query($e: [String]) { mlflowSearchRuns(input: {experimentIds: $e}) { runs {"
                       " info { runId } } } }";
    assert_int_equal(q3(list, "{\"e\":\"4\"}", NULL), 0); /* list of one */
    assert_string_equal(checks(), "experiment:4");
    assert_int_equal(q3(list, "{\"e\":[\"4\",\"5\"]}", NULL), 0);
    assert_string_equal(checks(), "experiment:4,experiment:5");
    assert_refused(list, "{\"e\":[\"4\",null]}", NULL, "needs input.experimentIds");
    assert_refused(list, "{\"e\":[4]}", NULL, "String cannot represent");
    assert_refused(list, "{\"e\":[[\"4\"]]}", NULL, "String cannot represent");

    /* items of a literal list, defaults, missing variables */
    const char *items = "query($a: String = \"6\", $b: String) { mlflowSearchRuns(input: "
                        "{experimentIds: [$a, \"7\"], filter: $b}) { runs { info { runId } } } }";
    assert_int_equal(q3(items, "{}", NULL), 0);
    assert_string_equal(checks(), "experiment:6,experiment:7");
    assert_int_equal(q3(items, "{\"a\":\"8\"}", NULL), 0);
    assert_string_equal(checks(), "experiment:8,experiment:7");
    assert_refused(items, "{\"a\":null}", NULL, "needs input.experimentIds");
    const char *missing = "query($a: String) { mlflowSearchRuns(input: {experimentIds: [$a]}) { "
                          "runs { info { runId } } } }";
    assert_refused(missing, "{}", NULL, "needs input.experimentIds"); /* [null] in MLflow */

    /* non-null variables */
    const char *nn = "query($a: String!) { mlflowGetExperiment(input: {experimentId: $a}) { "
                     "experiment { name } } }";
    assert_int_equal(q3(nn, "{\"a\":\"9\"}", NULL), 0);
    assert_refused(nn, "{}", NULL, "was not provided");
    assert_refused(nn, "{\"a\":null}", NULL, "not to be null");

    /* positions: a nullable String where [String] is expected, and vice versa */
    assert_refused("query($e: String) { mlflowSearchRuns(input: {experimentIds: $e}) { runs { info "
                   "{ runId } } } }",
                   "{\"e\":\"1\"}", NULL, "used in position expecting type '[String]'");
    assert_refused("query($e: [String]) { mlflowGetExperiment(input: {experimentId: $e}) { "
                   "experiment { name } } }",
                   "{\"e\":\"1\"}", NULL, "used in position expecting type 'String'");
    assert_refused("query($e: Int) { mlflowGetExperiment(input: {experimentId: $e}) { experiment {"
                   " name } } }",
                   "{\"e\":1}", NULL, "used in position");

    /* definitions */
    assert_refused("query($a: String, $a: String) { mlflowGetExperiment(input: {experimentId: $a})"
                   " { experiment { name } } }",
                   NULL, NULL, "only one variable named '$a'");
    assert_refused("query Q($a: String) { __typename }", NULL, NULL,
                   "'$a' is never used in operation 'Q'");
    assert_refused("query Q { mlflowGetExperiment(input: {experimentId: $a}) { experiment { name } "
                   "} }",
                   NULL, NULL, "'$a' is not defined by operation 'Q'");
    assert_refused("query($a: ID) { mlflowGetExperiment(input: {experimentId: $a}) { experiment {"
                   " name } } }",
                   NULL, NULL, "unknown type 'ID'");
    assert_refused("query($a: MlflowRunInfo) { mlflowGetExperiment(input: {experimentId: $a}) { "
                   "experiment { name } } }",
                   NULL, NULL, "non-input type");
    assert_refused("query($a: String = 1) { mlflowGetExperiment(input: {experimentId: $a}) { "
                   "experiment { name } } }",
                   NULL, NULL, "String cannot represent");
    /* scalar coercion of other fields */
    const char *ints = "query($m: Int) { mlflowSearchRuns(input: {experimentIds: [\"1\"], "
                       "maxResults: $m}) { runs { info { runId } } } }";
    assert_int_equal(q3(ints, "{\"m\":2}", NULL), 0);
    assert_int_equal(q3(ints, "{\"m\":2.0}", NULL), 0); /* graphql-core takes integral floats */
    assert_refused(ints, "{\"m\":2.5}", NULL, "non-integer");
    assert_refused(ints, "{\"m\":2147483648}", NULL, "32-bit");
    assert_refused(ints, "{\"m\":1e20}", NULL, "32-bit"); /* an integral float out of range */
    assert_refused(ints, "{\"m\":true}", NULL, "non-integer");
}

static void test_literals(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        bool ok;
    } lit[] = {
        {"runViewType: ALL", true},
        {"runViewType: \"ALL\"", false},
        {"runViewType: NOPE", false},
        {"maxResults: 2147483647", true},
        {"maxResults: 2147483648", false},
        {"maxResults: -2147483648", true},
        {"maxResults: 1.0", false},
        {"maxResults: null", true},
        {"orderBy: \"a\"", true},
        {"orderBy: [\"a\", null]", true},
        {"filter: 1", false},
        {"filter: true", false},
        {"nope: 1", false},
        {"filter: \"a\", filter: \"b\"", false},
        {"runViewType: null", true},
    };
    for (size_t i = 0; i < sizeof(lit) / sizeof(lit[0]); i++) {
        char doc[300];
        snprintf(doc, sizeof(doc),
                 "{ mlflowSearchRuns(input: {experimentIds: [\"1\"], %s}) { runs { info { runId } "
                 "} } }",
                 lit[i].field);
        if ((q(doc) == 0) != lit[i].ok)
            fail_msg("%s: expected %s (%s)", lit[i].field, lit[i].ok ? "accepted" : "refused", err);
    }
    /* arguments */
    assert_refused("{ mlflowGetExperiment(input: {experimentId: \"1\"}, input: {experimentId: "
                   "\"2\"}) { experiment { name } } }",
                   NULL, NULL, "only one argument named 'input'");
    assert_refused("{ mlflowGetExperiment(inputs: {experimentId: \"1\"}) { experiment { name } } }",
                   NULL, NULL, "unknown argument 'inputs'");
    assert_refused("{ mlflowGetExperiment(input: {experimentId: \"1\"}) { experiment { name(x: 1) }"
                   " } }",
                   NULL, NULL, "unknown argument 'x'");
    assert_refused(
        "{ mlflowGetExperiment(input: [{experimentId: \"1\"}]) { experiment { name } } }", NULL,
        NULL, "expected value of type 'MlflowGetExperimentInput'");
    /* LongString literals other than ints read as None in MLflow: accepted */
    assert_int_equal(
        q("{ mlflowSearchModelVersions(input: {maxResults: \"5\"}) { nextPageToken } }"), 0);
}

/* ---- selections, fragments, aliases ---- */

static void test_fragments_and_aliases(void **state)
{
    (void)state;
    /* a root field reached through a fragment and an inline fragment, aliases all the way */
    assert_int_equal(
        q("query { ...F ... on Query { s: mlflowSearchRuns(input: {experimentIds: "
          "[\"2\"]}) { rs: runs { ...R } } } }"
          " fragment F on Query { g: mlflowGetRun(input: {runId: \"x\"}) { r: run { mv:"
          " modelVersions { n: name version } } } }"
          " fragment R on MlflowRunExtension { ... { versions: modelVersions { ...V } }"
          " }"
          " fragment V on MlflowModelVersion { model: name }"),
        0);
    assert_string_equal(checks(), "run:x,experiment:2");
    assert_string_equal(filters(), "g.r.mv/n;s.rs.versions/model");
    assert_string_equal(plan.roots[0].response_key, "g");
    assert_string_equal(plan.roots[1].response_key, "s");

    /* the same response key merged; the first name field's key is the filter key */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"x\"}) { run { modelVersions { version } "
                       "modelVersions { a: name name } } } }"),
                     0);
    assert_string_equal(filters(), "mlflowGetRun.run.modelVersions/a");
    /* an alias that shadows `name` with another field does not fool the filter */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"x\"}) { run { modelVersions { name: "
                       "version n: name } } } }"),
                     0);
    assert_string_equal(filters(), "mlflowGetRun.run.modelVersions/n");
    /* each alias of the list is its own path */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"x\"}) { run { a: modelVersions { name } b: "
                       "modelVersions { name } } } }"),
                     0);
    assert_string_equal(filters(), "mlflowGetRun.run.a/name;mlflowGetRun.run.b/name");
    /* a model version list without the model's name cannot be filtered */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"x\"}) { run { modelVersions { source } } } "
                       "}"),
                     0);
    assert_true(plan.admin_only);
    assert_non_null(strstr(plan.admin_reason, "must select the model's name"));
    /* the run's experiment is the run's own: no extra check, no filter */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"x\"}) { run { experiment { name } } } }"),
                     0);
    assert_string_equal(checks(), "run:x");
    assert_string_equal(filters(), "");

    /* conflicts and fragment rules */
    assert_refused("{ mlflowGetRun(input: {runId: \"x\"}) { run { modelVersions { name } "
                   "modelVersions: experiment { name } } } }",
                   NULL, NULL, "are different fields");
    assert_refused(
        "{ x: mlflowGetExperiment(input: {experimentId: \"1\"}) { experiment { name } }"
        " x: mlflowGetExperiment(input: {experimentId: \"2\"}) { experiment { name } } }",
        NULL, NULL, "differing arguments");
    assert_int_equal(
        q("{ x: mlflowGetExperiment(input: {experimentId: \"1\"}) { experiment { name }"
          " } x: mlflowGetExperiment(input: {experimentId: \"1\"}) { experiment { "
          "experimentId } } }"),
        0);
    assert_refused("{ x: mlflowGetExperiment(input: {experimentId: \"1\"}) { experiment { name } }"
                   " x: mlflowGetExperiment(input: {experimentId: \"\"\"1\"\"\"}) { experiment {"
                   " name } } }",
                   NULL, NULL, "differing arguments");
    assert_refused("{ ...F } fragment F on Query { ...G } fragment G on Query { ...F }", NULL, NULL,
                   "within itself");
    assert_refused("{ ...F }", NULL, NULL, "unknown fragment 'F'");
    assert_refused("{ ...F } fragment F on Query { __typename } fragment F on Query { __typename }",
                   NULL, NULL, "only one fragment named 'F'");
    assert_refused("{ ... on Mutation { __typename } }", NULL, NULL, "can never be of type");
    assert_refused(
        "{ mlflowGetRun(input: {runId: \"x\"}) { run { ... on MlflowRun { info { runId } "
        "} } } }",
        NULL, NULL, "unknown type 'MlflowRun'");
    assert_refused("{ mlflowGetRun(input: {runId: \"x\"}) { ...F } } fragment F on String { a }",
                   NULL, NULL, "non composite type");
    assert_refused("{ mlflowGetRun(input: {runId: \"x\"}) { run } }", NULL, NULL,
                   "must have a selection of subfields");
    assert_refused("{ mlflowGetRun(input: {runId: \"x\"}) { apiError { code { x } } } }", NULL,
                   NULL, "must not have a selection");
    assert_refused("{ nope }", NULL, NULL, "cannot query field 'nope' on type 'Query'");
    assert_refused("{ __typename(a: 1) }", NULL, NULL, "__typename takes no arguments");
}

static void test_directives(void **state)
{
    (void)state;
    assert_int_equal(q("query Q @component(name: \"x\") { __typename }"), 0);
    assert_int_equal(
        q3("query Q($n: String!) @component(name: $n) { __typename }", "{\"n\":\"x\"}", NULL), 0);
    assert_refused("query Q($n: String) @component(name: $n) { __typename }", "{\"n\":\"x\"}", NULL,
                   "used in position expecting type 'String!'");
    assert_refused("query Q @component { __typename }", NULL, NULL, "is required");
    assert_refused("query Q @component(name: 1) { __typename }", NULL, NULL,
                   "String cannot represent");
    assert_refused("query Q @component(name: \"a\") @component(name: \"b\") { __typename }", NULL,
                   NULL, "only be used once");
    assert_refused("query Q @component(name: \"a\", x: 1) { __typename }", NULL, NULL,
                   "unknown argument 'x'");
    /* graphene replaced graphql's default directives: @skip and @include are unknown to MLflow */
    assert_refused("{ __typename @skip(if: true) }", NULL, NULL, "unknown directive '@skip'");
    assert_refused("{ ... @include(if: true) { __typename } }", NULL, NULL, "@include");
    assert_refused("{ ...F @component(name: \"x\") } fragment F on Query { __typename }", NULL,
                   NULL, "@component");
    assert_refused("{ ...F } fragment F on Query @component(name: \"x\") { __typename }", NULL,
                   NULL, "@component");
    assert_refused("query Q($a: String @component(name: \"x\")) { mlflowGetExperiment(input: "
                   "{experimentId: $a}) { experiment { name } } }",
                   NULL, NULL, "@component");
    assert_refused("query @deprecated { __typename }", NULL, NULL, "unknown directive");
}

/* ---- limits ---- */

static void test_mlflow_limits(void **state)
{
    (void)state;
    char doc[8192];
    size_t o;
    /* 10 root fields pass, 11 (counted over every operation) do not */
    o = (size_t)snprintf(doc, sizeof(doc), "{");
    for (int i = 0; i < 10; i++)
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, " a%d: __typename", i);
    snprintf(doc + o, sizeof(doc) - o, " }");
    assert_int_equal(q(doc), 0);
    o = (size_t)snprintf(doc, sizeof(doc), "query A { __typename } query B {");
    for (int i = 0; i < 10; i++)
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, " a%d: __typename", i);
    snprintf(doc + o, sizeof(doc) - o, " }");
    assert_refused(doc, NULL, "A", "at most 10 root fields, got 11");
    /* root fields in fragments count */
    assert_refused("{ ...F a: __typename b: __typename } fragment F on Query { c: __typename d: "
                   "__typename e: __typename f: __typename g: __typename h: __typename i: "
                   "__typename j: __typename k: __typename }",
                   NULL, NULL, "at most 10 root fields");

    /* aliases: 11 at one level, fragments at that level included */
    assert_refused("{ mlflowGetRun(input: {runId: \"x\"}) { ...A ...B } } fragment A on "
                   "MlflowGetRunResponse { a0: __typename a1: __typename a2: __typename a3: "
                   "__typename a4: __typename a5: __typename } fragment B on MlflowGetRunResponse {"
                   " b0: __typename b1: __typename b2: __typename b3: __typename b4: __typename }",
                   NULL, NULL, "at most 10 aliases, got 11");
    /* a fragment spread twice at one level counts once, as in MLflow */
    assert_int_equal(q("{ mlflowGetRun(input: {runId: \"x\"}) { ...A ...A } } fragment A on "
                       "MlflowGetRunResponse { a0: __typename a1: __typename a2: __typename a3: "
                       "__typename a4: __typename a5: __typename }"),
                     0);

    /* depth: 10 selection levels pass, 11 do not */
    assert_int_equal(q("{ mlflowSearchRuns(input: {experimentIds: [\"1\"]}) { runs { modelVersions "
                       "{ name deploymentJobState { jobId } } } } }"),
                     0);
    /* introspection is counted though not walked: __Type.ofType chains reach any depth */
    assert_int_equal(q("{ __schema { types { fields { type { ofType { ofType { ofType { ofType { "
                       "ofType { name } } } } } } } } } }"),
                     0);
    assert_refused("{ __schema { types { fields { type { ofType { ofType { ofType { ofType { "
                   "ofType { ofType { name } } } } } } } } } } }",
                   NULL, NULL, "maximum depth of 10");

    /* 1000 field selections pass, 1001 do not; fragments expanded as MLflow expands them */
    const char *f10 = "fragment T on MlflowRunInfo { runId runUuid runName experimentId userId "
                      "status startTime endTime artifactUri lifecycleStage }";
    o = (size_t)snprintf(doc, sizeof(doc),
                         "{ mlflowSearchRuns(input: {experimentIds: [\"1\"]}) { "
                         "runs {");
    for (int i = 0; i < 98; i++) /* 98 aliases of info, each with 10 fields: 1078 in all */
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, " i%d: info { ...T }", i);
    snprintf(doc + o, sizeof(doc) - o, " } } } %s", f10);
    assert_refused(doc, NULL, NULL, "maximum total selections of 1000");
}

static void test_own_limits(void **state)
{
    (void)state;
    size_t n = GRAPHQL_MAX_DOCUMENT + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, "{ __typename }", 14);
    big[n] = '\0';
    assert_refused(big, NULL, NULL, "larger than");
    big[n - 1] = '\0';
    assert_int_equal(q(big), 0); /* exactly the limit: fine */
    free(big);

    char doc[1024];
    size_t o = (size_t)snprintf(doc, sizeof(doc), "{ test(inputString: ");
    for (int i = 0; i < GRAPHQL_MAX_NESTING + 1; i++)
        doc[o++] = '[';
    doc[o] = '\0';
    assert_refused(doc, NULL, NULL, "nested deeper");
}

/* ---- the request body ---- */

static int req(const char *body)
{
    graphql_plan_free(&plan);
    return graphql_plan_request(body, strlen(body), &plan, err, sizeof(err));
}

static void test_request_body(void **state)
{
    (void)state;
    assert_int_equal(req("{\"query\":\"query Q($e: String) { mlflowGetExperiment(input: "
                         "{experimentId: $e}) { experiment { name } } }\",\"variables\":{\"e\":"
                         "\"11\"},\"operationName\":\"Q\",\"extensions\":{}}"),
                     0);
    assert_string_equal(checks(), "experiment:11");
    assert_int_equal(
        req("{\"query\":\"{ __typename }\",\"variables\":null,\"operationName\":null}"), 0);
    static const char *const bad[] = {
        "",
        "[]",
        "\"{ __typename }\"",
        "{\"query\":null}",
        "{}",
        "{\"query\":\"{ __typename }\",\"variables\":\"{}\"}",
        "{\"query\":\"{ __typename }\",\"variables\":[]}",
        "{\"query\":\"{ __typename }\",\"operationName\":5}",
        "{\"query\":\"{ __typename }\",\"query\":\"{ __typename }\"}",
        "{\"query\":\"{ __typename }\"} x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (req(bad[i]) != -1)
            fail_msg("accepted body %s", bad[i]);
    assert_int_equal(req("{\"query\":\"{ __typename }\",\"operationName\":\"\"}"), -1);
    assert_non_null(strstr(err, "unknown operation named ''"));
}

/* ---- the answer filter ---- */

static void test_filter_answer(void **state)
{
    (void)state;
    assert_int_equal(q("{ s: mlflowSearchRuns(input: {experimentIds: [\"1\"]}) { runs { m: "
                       "modelVersions { n: name version } } } }"),
                     0);
    int calls = 0;
    char *out =
        filter_body("{\"data\":{\"s\":{\"runs\":[{\"m\":[{\"n\":\"model-b\",\"version\":"
                    "\"1\"},{\"n\":\"model-a\",\"version\":\"2\"},{\"version\":\"3\"},{\"n\":"
                    "\"\"},{\"n\":7},null,\"x\"]},{\"m\":null},{\"m\":[]},null]}},\"errors\":"
                    "null}",
                    &calls);
    assert_string_equal(out, "{\"data\":{\"s\":{\"runs\":[{\"m\":[{\"n\":\"model-a\",\"version\":"
                             "\"2\"}]},{\"m\":null},{\"m\":[]},null]}},\"errors\":null}");
    assert_int_equal(calls, 2);
    free(out);
    /* data null (errors only), an absent root (MLflow failed the field) */
    out = filter_body("{\"data\":null,\"errors\":[\"boom\"]}", NULL);
    assert_string_equal(out, "{\"data\":null,\"errors\":[\"boom\"]}");
    free(out);
    out = filter_body("{\"data\":{\"s\":null},\"errors\":[\"boom\"]}", NULL);
    assert_string_equal(out, "{\"data\":{\"s\":null},\"errors\":[\"boom\"]}");
    free(out);
    /* numbers keep their value */
    out = filter_body("{\"data\":{\"s\":{\"runs\":[],\"x\":0.1,\"y\":12345678901234}}}", NULL);
    assert_string_equal(out, "{\"data\":{\"s\":{\"runs\":[],\"x\":0.10000000000000001,\"y\":"
                             "12345678901234}}}");
    free(out);

    static const char *const bad[] = {
        "",
        "[]",
        "{\"data\":[]}",
        "{\"data\":{\"s\":{\"runs\":[{\"m\":{\"n\":\"model-b\"}}]}}}", /* not a list */
        "{\"data\":{\"s\":{\"runs\":\"x\"}}}",
        "{\"data\":{\"s\":5}}",
        "{\"data\":{\"s\":{\"runs\":[]},\"s\":{\"runs\":[]}}}", /* duplicate keys */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *o2 = NULL;
        size_t ol = 0;
        if (graphql_filter_answer(&plan, bad[i], strlen(bad[i]), hide_b, NULL, &o2, &ol, err,
                                  sizeof(err)) != -1)
            fail_msg("filtered a malformed answer: %s", bad[i]);
        assert_null(o2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_matches_mlflow),
        cmocka_unit_test(test_ui_queries_as_sent),
        cmocka_unit_test(test_ui_queries_verbatim),
        cmocka_unit_test(test_ui_answers_filtered),
        cmocka_unit_test(test_cases_agree_with_mlflow),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_ignored_tokens),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_operation_selection),
        cmocka_unit_test(test_operation_kinds),
        cmocka_unit_test(test_root_fields),
        cmocka_unit_test(test_checks_deduplicated_and_bounded),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_fragments_and_aliases),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_mlflow_limits),
        cmocka_unit_test(test_own_limits),
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_filter_answer),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    graphql_plan_free(&plan);
    return r;
}
