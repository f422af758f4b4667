/*
 * Unit tests for mlflow/body: the strict JSON body gate. One test per refusal rule of body.h,
 * every folding rule (top level, nested, arrays of messages, conflicts at depth, map keys
 * and google.protobuf.Value contents left alone), the ParseDict type checks that keep
 * MLflow from half-parsing a body, experiment-id canonical form, id extraction, the body
 * differentials of security-cases.md §3.6 (D1-D12) and mlflow-api.md (c) risks 2, 3, 7 and 9,
 * fixed points of the canonical form, and the route table's body paths against the
 * generated schema. Runs single-threaded; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mlflow/body.h"
#include "mlflow/routes.h"

static struct body_result *res;
static char err[256];
static int status;

static struct body_spec spec_for(const char *action, const char *p0, enum body_id_kind k0,
                                 const char *p1, enum body_id_kind k1)
{
    struct body_spec s;
    memset(&s, 0, sizeof(s));
    s.msg = action ? body_rpc_message(action) : -1;
    if (action && s.msg < 0)
        fail_msg("no RPC %s", action);
    /* like route_table.c: lists of ids are the plural fields and paths through arrays */
    if (p0)
        s.ids[s.nids++] = (struct body_id_spec){p0, k0, strstr(p0, "[]") || strstr(p0, "_ids")};
    if (p1)
        s.ids[s.nids++] = (struct body_id_spec){p1, k1, strstr(p1, "[]") || strstr(p1, "_ids")};
    return s;
}

static int run_lim(const struct body_spec *s, const struct body_limits *lim, const char *b,
                   size_t len)
{
    err[0] = '\0';
    status = 0;
    return body_canonicalize(s, lim, b, len, res, &status, err, sizeof(err));
}

static int run(const struct body_spec *s, const char *b)
{
    return run_lim(s, NULL, b, strlen(b));
}

/* Accepted, canonical form equal to want, and a fixed point. */
static void expect_canon(const struct body_spec *s, const char *b, const char *want)
{
    char again[8192];
    if (run(s, b) != 0)
        fail_msg("refused %s: %s", b, err);
    if (strcmp(res->json, want) != 0)
        fail_msg("%s\n  gave %s\n  want %s", b, res->json, want);
    assert_int_equal(res->len, strlen(want));
    snprintf(again, sizeof(again), "%s", res->json);
    if (run(s, again) != 0)
        fail_msg("canonical form refused: %s: %s", again, err);
    if (strcmp(res->json, again) != 0)
        fail_msg("not a fixed point: %s -> %s", again, res->json);
}

static void expect_refused_len(const struct body_spec *s, const char *b, size_t len, int st,
                               const char *reason)
{
    if (run_lim(s, NULL, b, len) == 0)
        fail_msg("accepted %.*s -> %s", (int)len, b, res->json);
    if (status != st)
        fail_msg("%.*s: status %d, want %d (%s)", (int)len, b, status, st, err);
    if (!strstr(err, reason))
        fail_msg("%.*s: reason \"%s\" lacks \"%s\"", (int)len, b, err, reason);
    assert_null(res->json);
    assert_int_equal(res->nids, 0);
}

static void expect_refused(const struct body_spec *s, const char *b, const char *reason)
{
    expect_refused_len(s, b, strlen(b), 400, reason);
}

static void expect_ids(size_t i, bool present, size_t n, ...)
{
    va_list ap;
    assert_true(i < res->nids);
    assert_int_equal(res->ids[i].present, present);
    assert_int_equal(res->ids[i].n, n);
    va_start(ap, n);
    for (size_t k = 0; k < n; k++) {
        const char *want = va_arg(ap, const char *);
        assert_string_equal(res->ids[i].v[k].s, want);
        assert_int_equal(res->ids[i].v[k].len, strlen(want));
    }
    va_end(ap);
}

static int setup(void **state)
{
    (void)state;
    res = body_result_new();
    return res ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    body_result_free(res);
    res = NULL;
    return 0;
}

/* ------------------------------------------------------------- strict JSON (D1-D12) */

static void test_not_an_object(void **state)
{
    (void)state;
    struct body_spec s = spec_for(NULL, NULL, 0, NULL, 0);
    /* D11: the legacy double-encoded body MLflow decodes twice */
    expect_refused(&s, "\"{\\\"experiment_id\\\":\\\"1\\\"}\"", "body is not a JSON object");
    expect_refused(&s, "[1]", "body is not a JSON object");
    expect_refused(&s, "null", "body is not a JSON object");
    expect_refused(&s, "1", "body is not a JSON object");
    expect_refused(&s, "true", "body is not a JSON object");
    expect_refused(&s, " \n\t ", "body is not a JSON object");
    /* an empty body is {} for MLflow too */
    expect_canon(&s, "", "{}");
    expect_canon(&s, " {} \r\n", "{}");
}

static void test_duplicates(void **state)
{
    (void)state;
    struct body_spec s = spec_for("deleteExperiment", "experiment_id", BODY_ID_EXPERIMENT, NULL, 0);
    /* D1 */
    expect_refused(&s, "{\"experiment_id\":\"2\",\"experiment_id\":\"1\"}",
                   "duplicate key 'experiment_id'");
    /* D2: an escaped key is the same key */
    expect_refused(&s, "{\"experiment_id\":\"2\",\"experiment\\u005fid\":\"1\"}", "duplicate key");
    /* duplicates at depth, in plain-JSON routes too */
    struct body_spec p = spec_for(NULL, NULL, 0, NULL, 0);
    expect_refused(&p, "{\"a\":{\"b\":1,\"b\":2}}", "duplicate key 'b'");
    expect_refused(&p, "{\"a\":[{\"b\":1},{\"c\":1,\"c\":1}]}", "duplicate key 'c'");
    /* an unprintable duplicate key is not echoed */
    expect_refused(&p, "{\"\\n\":1,\"\\n\":2}", "duplicate key");
    assert_null(strchr(err, '\n'));
    /* D2 without a duplicate: decoded like Python */
    expect_canon(&s, "{\"experiment\\u005fid\":\"1\"}", "{\"experiment_id\":\"1\"}");
    expect_ids(0, true, 1, "1");
}

static void test_syntax(void **state)
{
    (void)state;
    struct body_spec s = spec_for(NULL, NULL, 0, NULL, 0);
    /* D3 */
    expect_refused(&s, "{\"a\":1 /* c */}", "invalid JSON");
    expect_refused(&s, "{\"a\":1 // c\n}", "invalid JSON");
    expect_refused(&s, "{\"a\":1,}", "invalid JSON");
    expect_refused(&s, "{\"a\":[1,]}", "invalid JSON");
    expect_refused(&s, "{'a':1}", "invalid JSON");
    expect_refused(&s, "{a:1}", "invalid JSON");
    expect_refused(&s, "{\"a\":01}", "invalid JSON");
    expect_refused(&s, "{\"a\":.5}", "invalid JSON");
    expect_refused(&s, "{\"a\":\"\t\"}", "invalid JSON"); /* raw control character */
    expect_refused(&s, "{\"a\":\"\\x41\"}", "invalid JSON");
    expect_refused(&s, "{\"a\":1", "invalid JSON");
    /* D9 */
    expect_refused(&s, "{\"a\":1}x", "trailing data");
    expect_refused(&s, "{\"a\":1}{\"a\":2}", "trailing data");
    expect_refused(&s, "{\"a\":1}\n{\"a\":2}", "trailing data");
}

static void test_nan_infinity(void **state)
{
    (void)state;
    struct body_spec s = spec_for("logMetric", NULL, 0, NULL, 0);
    /* D4 */
    expect_refused(&s, "{\"value\":NaN}", "NaN is not JSON");
    expect_refused(&s, "{\"value\":Infinity}", "Infinity is not JSON");
    expect_refused(&s, "{\"value\":-Infinity}", "Infinity is not JSON");
    expect_refused(&s, "{\"value\":[1,NaN]}", "NaN is not JSON");
    /* the protobuf spellings are strings, and fine */
    expect_canon(&s, "{\"value\":\"NaN\"}", "{\"value\":\"NaN\"}");
    expect_canon(&s, "{\"value\":\"-Infinity\"}", "{\"value\":\"-Infinity\"}");
    /* inside strings the letters are data */
    expect_canon(&s, "{\"key\":\"NaN Infinity\"}", "{\"key\":\"NaN Infinity\"}");
}

static void test_numbers(void **state)
{
    (void)state;
    struct body_spec p = spec_for(NULL, NULL, 0, NULL, 0);
    /* D5: Python reads these (big int exactly, 1e400 as inf); jansson cannot: refused */
    expect_refused(&p, "{\"a\":12345678901234567890123}", "number out of range");
    expect_refused(&p, "{\"a\":9223372036854775808}", "number out of range");
    expect_refused(&p, "{\"a\":-9223372036854775809}", "number out of range");
    expect_refused(&p, "{\"a\":1e400}", "number out of range");
    expect_refused(&p, "{\"a\":-1e400}", "number out of range");
    /* exact int64, reals as the same double with 17 significant digits */
    expect_canon(&p, "{\"a\":9223372036854775807,\"b\":-9223372036854775808}",
                 "{\"a\":9223372036854775807,\"b\":-9223372036854775808}");
    expect_canon(&p, "{\"a\":0.1,\"b\":1.0,\"c\":1e2,\"d\":-0.0,\"e\":-0,\"f\":1E-2}",
                 "{\"a\":0.10000000000000001,\"b\":1.0,\"c\":100.0,\"d\":-0.0,\"e\":0,"
                 "\"f\":0.01}");
    expect_canon(&p, "{\"a\":1e-400}", "{\"a\":0.0}");
    expect_canon(&p, "{\"a\":1.7976931348623157e308}", "{\"a\":1.7976931348623157e308}");
    expect_canon(&p, "{\"a\":5e-324}", "{\"a\":4.9406564584124654e-324}");
    /* a number in a string stays a string (MLflow ids are strings) */
    expect_canon(&p, "{\"a\":\"1.0\"}", "{\"a\":\"1.0\"}");
}

static void test_utf8(void **state)
{
    (void)state;
    struct body_spec p = spec_for(NULL, NULL, 0, NULL, 0);
    /* D6 */
    expect_refused(&p, "{\"a\":\"\xc0\xaf\"}", "invalid UTF-8 at byte 6"); /* overlong '/' */
    expect_refused(&p, "{\"a\":\"\xe0\x80\xaf\"}", "invalid UTF-8 at byte 6");
    expect_refused(&p, "{\"a\":\"\xf0\x80\x80\xaf\"}", "invalid UTF-8 at byte 6");
    expect_refused(&p, "{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8 at byte 6"); /* U+D800 */
    expect_refused(&p, "{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8 at byte 6");
    expect_refused(&p, "{\"a\":\"\xff\"}", "invalid UTF-8 at byte 6");
    expect_refused(&p, "{\"a\":\"\x80\"}", "invalid UTF-8 at byte 6");
    expect_refused(&p, "{\"a\":\"\xc3\"}", "invalid UTF-8 at byte 6"); /* truncated */
    expect_refused(&p, "{\"a\xe2\x82\":1}", "invalid UTF-8 at byte 3");
    expect_refused(&p, "{\"a\":1}\xc3", "invalid UTF-8 at byte 7");
    /* lone surrogate escapes (Python keeps them) and \u0000 */
    expect_refused(&p, "{\"a\":\"\\ud800\"}", "lone surrogate");
    expect_refused(&p, "{\"a\":\"\\udc00\"}", "lone surrogate");
    expect_refused(&p, "{\"a\":\"\\ud800x\"}", "lone surrogate");
    expect_refused(&p, "{\"a\":\"\\u0000\"}", "\\u0000");
    expect_refused(&p, "{\"a\\u0000\":1}", "\\u0000");
    /* D7: byte order mark (Python strips it) */
    expect_refused(&p, "\xef\xbb\xbf{}", "byte order mark");
    /* UTF-16 (Python auto-detects it) is not UTF-8 JSON */
    expect_refused_len(&p, "{\0}\0", 4, 400, "invalid JSON");
    /* well-formed UTF-8 and pairs are kept as UTF-8 */
    expect_canon(&p, "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
                 "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
    expect_canon(&p, "{\"a\":\"\\u00e9\\ud83d\\ude00\\/\\n\"}",
                 "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80/\\n\"}");
}

/* {"a":[[...]]} with n arrays */
static void nest(char *b, int n)
{
    size_t k = 0;
    memcpy(b, "{\"a\":", 5);
    k = 5;
    for (int i = 0; i < n; i++)
        b[k++] = '[';
    for (int i = 0; i < n; i++)
        b[k++] = ']';
    b[k++] = '}';
    b[k] = '\0';
}

static void test_depth_and_size(void **state)
{
    (void)state;
    struct body_spec p = spec_for(NULL, NULL, 0, NULL, 0);
    char b[300];
    /* 64 levels pass, 65 do not (the top-level object is level 1) */
    nest(b, 63);
    assert_int_equal(run(&p, b), 0);
    nest(b, 64);
    expect_refused(&p, b, "JSON nesting deeper than 64");
    /* brackets in strings do not count */
    static const char brackets[] =
        "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
    expect_canon(&p, brackets, brackets);
    /* D10: 10 000 levels refused quickly, without recursion */
    char *deep = malloc(20003);
    assert_non_null(deep);
    deep[0] = '{';
    memcpy(deep + 1, "\"a\":", 4);
    memset(deep + 5, '[', 9999);
    deep[10004] = '\0';
    expect_refused(&p, deep, "nesting deeper");
    free(deep);
    /* configurable limits; 413 for size */
    struct body_limits lim = {16, 2, false};
    assert_int_equal(run_lim(&p, &lim, "{\"a\":[1]}", 9), 0);
    assert_int_equal(run_lim(&p, &lim, "{\"a\":[[1]]}", 11), -1);
    assert_int_equal(status, 400);
    assert_non_null(strstr(err, "deeper than 2"));
    assert_int_equal(run_lim(&p, &lim, "{\"aaaaaaaaaaaa\":1}", 18), -1);
    assert_int_equal(status, 413);
    assert_non_null(strstr(err, "larger than 16 bytes"));
}

/* ------------------------------------------------------------- folding */

static void test_fold_top_level(void **state)
{
    (void)state;
    struct body_spec s = spec_for("createRun", "experiment_id", BODY_ID_EXPERIMENT, NULL, 0);
    expect_canon(&s,
                 "{\"experimentId\":\"3\",\"startTime\":17,\"userId\":\"u\",\"runName\":\"r\","
                 "\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}",
                 "{\"experiment_id\":\"3\",\"start_time\":17,\"user_id\":\"u\",\"run_name\":"
                 "\"r\",\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}");
    expect_ids(0, true, 1, "3");
    /* key order is the client's */
    expect_canon(&s, "{\"run_name\":\"r\",\"experiment_id\":\"3\"}",
                 "{\"run_name\":\"r\",\"experiment_id\":\"3\"}");
    /* risk 2: both spellings, either order */
    expect_refused(&s, "{\"experiment_id\":\"1\",\"experimentId\":\"2\"}",
                   "both experiment_id and experimentId given");
    expect_refused(&s, "{\"experimentId\":\"2\",\"experiment_id\":\"1\"}",
                   "both experimentId and experiment_id given");
    /* even with equal values, and for fields that are not ids */
    expect_refused(&s, "{\"startTime\":1,\"start_time\":1}", "both startTime and start_time");
    /* a spelling ParseDict does not know (PascalCase, all caps) is an unknown field */
    expect_canon(&s, "{\"ExperimentId\":\"2\",\"EXPERIMENT_ID\":\"2\"}", "{}");
    expect_ids(0, false, 0);
}

static void test_fold_nested(void **state)
{
    (void)state;
    struct body_spec s =
        spec_for("startTraceV3", "trace.trace_info.trace_location.mlflow_experiment.experiment_id",
                 BODY_ID_EXPERIMENT, NULL, 0);
    expect_canon(&s,
                 "{\"trace\":{\"traceInfo\":{\"traceId\":\"tr-1\",\"traceLocation\":{\"type\":"
                 "\"MLFLOW_EXPERIMENT\",\"mlflowExperiment\":{\"experimentId\":\"7\"}},"
                 "\"requestTime\":\"2025-01-02T03:04:05.123Z\",\"executionDuration\":\"1.5s\","
                 "\"traceMetadata\":{\"mlflow.userName\":\"x\",\"fooBar\":\"y\"}}}}",
                 "{\"trace\":{\"trace_info\":{\"trace_id\":\"tr-1\",\"trace_location\":{\"type\":"
                 "\"MLFLOW_EXPERIMENT\",\"mlflow_experiment\":{\"experiment_id\":\"7\"}},"
                 "\"request_time\":\"2025-01-02T03:04:05.123Z\",\"execution_duration\":\"1.5s\","
                 "\"trace_metadata\":{\"mlflow.userName\":\"x\",\"fooBar\":\"y\"}}}}");
    expect_ids(0, true, 1, "7");
    /* conflicts at depth */
    expect_refused(&s,
                   "{\"trace\":{\"trace_info\":{\"trace_location\":{\"mlflow_experiment\":{"
                   "\"experiment_id\":\"1\",\"experimentId\":\"2\"}}}}}",
                   "both experiment_id and experimentId given");
    expect_refused(&s, "{\"trace\":{\"traceInfo\":{\"trace_location\":{}},\"trace_info\":{}}}",
                   "both traceInfo and trace_info given");
    /* the experiment id is canonical at depth too */
    expect_refused(&s,
                   "{\"trace\":{\"traceInfo\":{\"traceLocation\":{\"mlflowExperiment\":{"
                   "\"experimentId\":\"01\"}}}}}",
                   "experiment_id must be a canonical decimal string");
    /* absent at depth: not present */
    expect_canon(&s, "{\"trace\":{\"traceInfo\":{}}}", "{\"trace\":{\"trace_info\":{}}}");
    expect_ids(0, false, 0);
}

static void test_fold_arrays_of_messages(void **state)
{
    (void)state;
    struct body_spec s = spec_for("searchTracesV3", "locations[].mlflow_experiment.experiment_id",
                                  BODY_ID_EXPERIMENT, NULL, 0);
    expect_canon(&s,
                 "{\"locations\":[{\"type\":\"MLFLOW_EXPERIMENT\",\"mlflowExperiment\":{"
                 "\"experimentId\":\"1\"}},{\"mlflow_experiment\":{\"experiment_id\":\"2\"}}],"
                 "\"maxResults\":10,\"orderBy\":[\"timestamp_ms DESC\"]}",
                 "{\"locations\":[{\"type\":\"MLFLOW_EXPERIMENT\",\"mlflow_experiment\":{"
                 "\"experiment_id\":\"1\"}},{\"mlflow_experiment\":{\"experiment_id\":\"2\"}}],"
                 "\"max_results\":10,\"order_by\":[\"timestamp_ms DESC\"]}");
    expect_ids(0, true, 2, "1", "2");
    /* a conflict in the second element */
    expect_refused(&s,
                   "{\"locations\":[{\"mlflowExperiment\":{\"experimentId\":\"1\"}},{"
                   "\"mlflowExperiment\":{\"experimentId\":\"1\",\"experiment_id\":\"2\"}}]}",
                   "both experimentId and experiment_id given");
    /* every element's id is checked */
    expect_refused(&s,
                   "{\"locations\":[{\"mlflowExperiment\":{\"experimentId\":\"1\"}},{"
                   "\"mlflowExperiment\":{\"experimentId\":\"+2\"}}]}",
                   "canonical decimal");
    /* an element that is not an experiment location contributes nothing */
    expect_canon(&s, "{\"locations\":[{\"inferenceTable\":{\"fullTableName\":\"a.b.c\"}}]}",
                 "{\"locations\":[{\"inference_table\":{\"full_table_name\":\"a.b.c\"}}]}");
    expect_ids(0, false, 0);
    /* log-batch: arrays of messages folded, metric fields type-checked */
    struct body_spec b = spec_for("logBatch", "run_id", BODY_ID_STRING, NULL, 0);
    expect_canon(&b,
                 "{\"runId\":\"abc\",\"metrics\":[{\"key\":\"m\",\"value\":1.5,\"timestamp\":1,"
                 "\"step\":2,\"datasetName\":\"d\",\"modelId\":\"m-1\"}],\"params\":[{\"key\":"
                 "\"p\",\"value\":\"v\"}]}",
                 "{\"run_id\":\"abc\",\"metrics\":[{\"key\":\"m\",\"value\":1.5,\"timestamp\":1,"
                 "\"step\":2,\"dataset_name\":\"d\",\"model_id\":\"m-1\"}],\"params\":[{\"key\":"
                 "\"p\",\"value\":\"v\"}]}");
    expect_ids(0, true, 1, "abc");
    expect_refused(&b,
                   "{\"metrics\":[{\"key\":\"m\"},{\"datasetName\":\"a\",\"dataset_name\":\"a\"}]}",
                   "both datasetName and dataset_name given");
    /* models[].model_id (logOutputs) */
    struct body_spec o =
        spec_for("logOutputs", "run_id", BODY_ID_STRING, "models[].model_id", BODY_ID_STRING);
    expect_canon(
        &o,
        "{\"runId\":\"r\",\"models\":[{\"modelId\":\"m-1\",\"step\":1},{\"model_id\":\"m-2\"}]}",
        "{\"run_id\":\"r\",\"models\":[{\"model_id\":\"m-1\",\"step\":1},{\"model_id\":"
        "\"m-2\"}]}");
    expect_ids(0, true, 1, "r");
    expect_ids(1, true, 2, "m-1", "m-2");
}

static void test_free_form_keys_not_folded(void **state)
{
    (void)state;
    /* map keys are the caller's: not folded, camelCase or not */
    struct body_spec g = spec_for("createGatewaySecret", NULL, 0, NULL, 0);
    expect_canon(&g, "{\"secretName\":\"s\",\"secretValue\":{\"apiKey\":\"k\",\"api_key\":\"k2\"}}",
                 "{\"secret_name\":\"s\",\"secret_value\":{\"apiKey\":\"k\",\"api_key\":\"k2\"}}");
    expect_refused(&g, "{\"secretValue\":{\"apiKey\":1}}", "secret_value must be a string");
    expect_refused(&g, "{\"secretValue\":{\"apiKey\":null}}", "null map values");
    expect_refused(&g, "{\"secretValue\":[]}", "secret_value must be an object");
    /* google.protobuf.Value contents are data */
    struct body_spec a = spec_for("createAssessment", NULL, 0, NULL, 0);
    expect_canon(&a,
                 "{\"assessment\":{\"assessmentName\":\"q\",\"traceId\":\"tr-1\",\"feedback\":{"
                 "\"value\":{\"someKey\":[1,\"x\",null,{\"traceId\":true}]}},\"createTime\":"
                 "\"2025-01-01T00:00:00+01:00\"}}",
                 "{\"assessment\":{\"assessment_name\":\"q\",\"trace_id\":\"tr-1\",\"feedback\":{"
                 "\"value\":{\"someKey\":[1,\"x\",null,{\"traceId\":true}]}},\"create_time\":"
                 "\"2025-01-01T00:00:00+01:00\"}}");
    expect_canon(&a, "{\"assessment\":{\"expectation\":{\"value\":null}}}",
                 "{\"assessment\":{\"expectation\":{\"value\":null}}}");
}

static void test_unknown_fields(void **state)
{
    (void)state;
    struct body_spec s = spec_for("deleteExperiment", "experiment_id", BODY_ID_EXPERIMENT, NULL, 0);
    expect_canon(&s, "{\"experiment_id\":\"1\",\"x\":{\"experimentId\":\"2\"}}",
                 "{\"experiment_id\":\"1\"}");
    struct body_limits keep = {BODY_DEFAULT_MAX_BYTES, BODY_DEFAULT_MAX_DEPTH, true};
    const char *b = "{\"x\":{\"experimentId\":\"2\"},\"experimentId\":\"1\"}";
    assert_int_equal(run_lim(&s, &keep, b, strlen(b)), 0);
    assert_string_equal(res->json, "{\"x\":{\"experimentId\":\"2\"},\"experiment_id\":\"1\"}");
    expect_ids(0, true, 1, "1");
    /* protobuf extension syntax is a ParseDict error: always refused */
    expect_refused(&s, "{\"[mlflow.ext]\":1,\"experiment_id\":\"1\"}", "not allowed");
    assert_int_equal(run_lim(&s, &keep, "{\"[a]\":1}", 9), -1);
    /* risk 9: AttachModelToGatewayEndpoint reads model_config; model_configs is unknown */
    struct body_spec m = spec_for("attachModelToEndpoint", NULL, 0, NULL, 0);
    expect_canon(&m, "{\"endpointId\":\"e\",\"model_configs\":[{}],\"modelConfig\":{}}",
                 "{\"endpoint_id\":\"e\",\"model_config\":{}}");
}

/* ------------------------------------------------------------- ParseDict type checks */

static void test_types(void **state)
{
    (void)state;
    struct body_spec s = spec_for("createRun", "experiment_id", BODY_ID_EXPERIMENT, NULL, 0);
    /* ParseDict would stop at start_time and leave experiment_id unset (experiment 0) */
    expect_refused(&s, "{\"start_time\":\"x\",\"experiment_id\":\"1\"}",
                   "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":1.5}", "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":1.0}", "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":true}", "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":\"1_0\"}", "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":\" 1\"}", "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":\"01\"}", "start_time must be an integer");
    expect_refused(&s, "{\"start_time\":\"9223372036854775808\"}", "must be an integer");
    expect_canon(&s, "{\"start_time\":\"-12\",\"run_name\":null}",
                 "{\"start_time\":\"-12\",\"run_name\":null}");
    expect_refused(&s, "{\"run_name\":5}", "run_name must be a string");
    expect_refused(&s, "{\"tags\":{}}", "tags must be an array");
    expect_refused(&s, "{\"tags\":[null]}", "null array elements");
    expect_refused(&s, "{\"tags\":[\"k\"]}", "tags must be an object");
    expect_refused(&s, "{\"tags\":[{\"key\":1}]}", "key must be a string");
    /* int32 range */
    struct body_spec sr = spec_for("searchRuns", "experiment_ids", BODY_ID_EXPERIMENT, NULL, 0);
    expect_refused(&sr, "{\"max_results\":2147483648}", "max_results is out of range");
    expect_canon(&sr, "{\"max_results\":2147483647}", "{\"max_results\":2147483647}");
    /* enums: names only (unknown names are ignored by ParseDict, numbers may fail) */
    expect_canon(&sr, "{\"run_view_type\":\"ACTIVE_ONLY\"}", "{\"run_view_type\":\"ACTIVE_ONLY\"}");
    expect_canon(&sr, "{\"runViewType\":\"NOT_A_VIEW\"}", "{\"run_view_type\":\"NOT_A_VIEW\"}");
    expect_refused(&sr, "{\"run_view_type\":7}", "run_view_type must be an enum name");
    expect_refused(&sr, "{\"run_view_type\":\"7\"}", "must be an enum name");
    expect_refused(&sr, "{\"run_view_type\":\"\"}", "must be an enum name");
    /* floats */
    struct body_spec lm = spec_for("logMetric", NULL, 0, NULL, 0);
    expect_canon(&lm, "{\"value\":\"1e5\"}", "{\"value\":\"1e5\"}");
    expect_refused(&lm, "{\"value\":\"nan\"}", "value must be a number");
    expect_refused(&lm, "{\"value\":\"1e999\"}", "value is out of range");
    expect_refused(&lm, "{\"value\":\" 1\"}", "value must be a number");
    expect_refused(&lm, "{\"value\":false}", "value must be a number");
    struct body_spec ue = spec_for("searchExperiments", NULL, 0, NULL, 0);
    expect_refused(&ue, "{\"max_results\":[1]}", "max_results must be an integer");
    /* oneof: two members */
    struct body_spec a = spec_for("createAssessment", NULL, 0, NULL, 0);
    expect_refused(&a, "{\"assessment\":{\"feedback\":{},\"expectation\":{}}}",
                   "feedback and expectation are alternatives");
    expect_canon(&a, "{\"assessment\":{\"feedback\":null,\"expectation\":{}}}",
                 "{\"assessment\":{\"feedback\":null,\"expectation\":{}}}");
    expect_refused(&a, "{\"assessment\":{\"valid\":\"true\"}}", "valid must be true or false");
    expect_canon(&a, "{\"assessment\":{\"valid\":false}}", "{\"assessment\":{\"valid\":false}}");
    /* well-known types */
    expect_refused(&a, "{\"assessment\":{\"createTime\":\"2025-01-01 00:00:00Z\"}}",
                   "create_time must be an RFC 3339 timestamp");
    expect_refused(&a, "{\"assessment\":{\"createTime\":\"2025-02-30T00:00:00Z\"}}", "RFC 3339");
    expect_refused(&a, "{\"assessment\":{\"createTime\":\"2025-01-01T00:00:00.1234567891Z\"}}",
                   "RFC 3339");
    expect_refused(&a, "{\"assessment\":{\"createTime\":1}}", "RFC 3339");
    expect_canon(&a, "{\"assessment\":{\"createTime\":\"2024-02-29T23:59:59.999999999Z\"}}",
                 "{\"assessment\":{\"create_time\":\"2024-02-29T23:59:59.999999999Z\"}}");
    struct body_spec u = spec_for("updateAssessment", NULL, 0, NULL, 0);
    expect_canon(&u, "{\"updateMask\":\"rationale,feedback.value\"}",
                 "{\"update_mask\":\"rationale,feedback.value\"}");
    expect_refused(&u, "{\"updateMask\":\"a b\"}", "update_mask must be a field mask");
    struct body_spec t = spec_for("startTraceV3", NULL, 0, NULL, 0);
    expect_refused(&t, "{\"trace\":{\"traceInfo\":{\"executionDuration\":\"1.5\"}}}",
                   "execution_duration must be a duration");
    expect_refused(&t, "{\"trace\":{\"traceInfo\":{\"executionDuration\":\"315576000001s\"}}}",
                   "duration");
    expect_canon(&t, "{\"trace\":{\"traceInfo\":{\"executionDuration\":\"-3.000000001s\"}}}",
                 "{\"trace\":{\"trace_info\":{\"execution_duration\":\"-3.000000001s\"}}}");
    /* a message field given a scalar */
    expect_refused(&t, "{\"trace\":\"x\"}", "trace must be an object");
}

static void test_run_uuid(void **state)
{
    (void)state;
    /* risk 3 analogue: MLflow uses `run_id or run_uuid` */
    struct body_spec s = spec_for("logMetric", "run_id", BODY_ID_STRING, NULL, 0);
    expect_canon(&s, "{\"run_uuid\":\"abc\",\"key\":\"m\"}", "{\"run_id\":\"abc\",\"key\":\"m\"}");
    expect_ids(0, true, 1, "abc");
    expect_canon(&s, "{\"runUuid\":\"abc\"}", "{\"run_id\":\"abc\"}");
    /* the Python client sends both, equal */
    expect_canon(&s, "{\"run_uuid\":\"abc\",\"run_id\":\"abc\"}",
                 "{\"run_uuid\":\"abc\",\"run_id\":\"abc\"}");
    expect_ids(0, true, 1, "abc");
    expect_refused(&s, "{\"run_id\":\"mine\",\"run_uuid\":\"victim\"}",
                   "run_id and run_uuid differ");
    expect_refused(&s, "{\"runId\":\"\",\"runUuid\":\"victim\"}", "run_id and run_uuid differ");
    expect_canon(&s, "{\"run_id\":null,\"run_uuid\":null}", "{\"run_id\":null,\"run_uuid\":null}");
    expect_ids(0, false, 0);
}

/* ------------------------------------------------------------- ids */

static void test_experiment_id_canonical(void **state)
{
    (void)state;
    struct body_spec s = spec_for("deleteExperiment", "experiment_id", BODY_ID_EXPERIMENT, NULL, 0);
    /* risk 7: int() reads all of these as a number */
    static const char *bad[] = {
        "\" 1\"",
        "\"1 \"",
        "\"+1\"",
        "\"-1\"",
        "\"01\"",
        "\"00\"",
        "\"1_0\"",
        "\"1\\n\"",
        "\"\\t1\"",
        "\"\"",
        "\"0x1\"",
        "\"1.0\"",
        "\"1e3\"",
        "\"\xef\xbc\x91\"", /* fullwidth 1 */
        "\"\xd9\xa1\"",
        /* Arabic-Indic 1 */ "\"10000000000000000000\"",
        "1",
        "1.0",
        "true",
        "[\"1\"]",
        "{}",
    };
    char b[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(b, sizeof(b), "{\"experiment_id\":%s}", bad[i]);
        if (run(&s, b) == 0)
            fail_msg("accepted %s", b);
        assert_int_equal(status, 400);
        assert_true(strstr(err, "experiment_id must be") != NULL);
    }
    expect_canon(&s, "{\"experiment_id\":\"0\"}", "{\"experiment_id\":\"0\"}");
    expect_ids(0, true, 1, "0");
    expect_canon(&s, "{\"experiment_id\":\"9223372036854775807\"}",
                 "{\"experiment_id\":\"9223372036854775807\"}");
    expect_canon(&s, "{\"experiment_id\":\"1234567890123456789\"}",
                 "{\"experiment_id\":\"1234567890123456789\"}");
    assert_true(body_is_canonical_decimal("7", 1));
    assert_false(body_is_canonical_decimal("", 0));
    assert_false(body_is_canonical_decimal("12345678901234567890", 20));
    assert_false(body_is_canonical_decimal("1a", 2));
}

static void test_ids_many_and_absent(void **state)
{
    (void)state;
    struct body_spec s = spec_for("searchRuns", "experiment_ids", BODY_ID_EXPERIMENT, NULL, 0);
    expect_canon(&s, "{\"experimentIds\":[\"1\",\"22\",\"1\"]}",
                 "{\"experiment_ids\":[\"1\",\"22\",\"1\"]}");
    expect_ids(0, true, 3, "1", "22", "1");
    /* [] is present and empty (MLflow: deny-all); absent and null are absent */
    expect_canon(&s, "{\"experiment_ids\":[]}", "{\"experiment_ids\":[]}");
    expect_ids(0, true, 0);
    expect_canon(&s, "{}", "{}");
    expect_ids(0, false, 0);
    expect_canon(&s, "{\"experiment_ids\":null}", "{\"experiment_ids\":null}");
    expect_ids(0, false, 0);
    expect_canon(&s, "", "{}");
    expect_ids(0, false, 0);
    expect_refused(&s, "{\"experiment_ids\":[\"1\",\"02\"]}", "canonical decimal");
    expect_refused(&s, "{\"experiment_ids\":[\"1\",2]}", "experiment_ids must be a string");
    expect_refused(&s, "{\"experiment_ids\":\"1\"}", "experiment_ids must be an array");
    /* plain-JSON routes (pydantic, request.json): no folding, exact keys, strict ids */
    struct body_spec p = spec_for(NULL, "model", BODY_ID_STRING, NULL, 0);
    expect_canon(&p, "{\"model\":\"ep\",\"maxTokens\":5,\"messages\":[{\"role\":\"user\"}]}",
                 "{\"model\":\"ep\",\"maxTokens\":5,\"messages\":[{\"role\":\"user\"}]}");
    expect_ids(0, true, 1, "ep");
    expect_refused(&p, "{\"model\":[\"ep\"],\"x\":1}", "model must be a string");
    expect_refused(&p, "{\"model\":{\"a\":1}}", "model must be a string");
    expect_canon(&p, "{\"Model\":\"ep\"}", "{\"Model\":\"ep\"}");
    expect_ids(0, false, 0);
    /* two ids in one spec */
    struct body_spec t = spec_for("linkPromptsToTrace", "trace_id", BODY_ID_STRING,
                                  "prompt_versions[].name", BODY_ID_STRING);
    if (t.msg >= 0) {
        expect_canon(
            &t, "{\"traceId\":\"tr-1\",\"promptVersions\":[{\"name\":\"p\",\"version\":\"1\"}]}",
            "{\"trace_id\":\"tr-1\",\"prompt_versions\":[{\"name\":\"p\",\"version\":\"1\"}]}");
        expect_ids(0, true, 1, "tr-1");
        expect_ids(1, true, 1, "p");
    }
}

static void test_result_reuse_and_free(void **state)
{
    (void)state;
    struct body_spec s = spec_for("deleteExperiment", "experiment_id", BODY_ID_EXPERIMENT, NULL, 0);
    expect_canon(&s, "{\"experiment_id\":\"5\"}", "{\"experiment_id\":\"5\"}");
    /* a refusal empties the result */
    expect_refused(&s, "{\"experiment_id\":\"05\"}", "canonical");
    assert_null(res->json);
    assert_int_equal(res->ids[0].n, 0);
    body_result_free(NULL);
    /* status pointer and err are optional */
    assert_int_equal(body_canonicalize(&s, NULL, "[", 1, res, NULL, NULL, 0), -1);
}

/* ------------------------------------------------------------- route table vs schema */

static void test_route_table_paths(void **state)
{
    (void)state;
    char e[256];
    size_t nproto = 0, nids = 0;
    assert_int_equal(routes_init(e, sizeof(e)), 0);
    for (size_t i = 0; i < routes_count(); i++) {
        const struct route *r = routes_at(i);
        struct body_spec s;
        if (body_spec_from_route(r, &s, e, sizeof(e)) != 0)
            fail_msg("%s", e);
        if (s.msg >= 0)
            nproto++;
        nids += s.nids;
        for (size_t k = 0; k < s.nids; k++)
            assert_non_null(s.ids[k].path);
    }
    assert_true(nproto > 100);
    assert_true(nids > 40);
    assert_true(body_rpc_message("createRun") >= 0);
    assert_int_equal(body_rpc_message("noSuchRpc"), -1);
    assert_int_equal(body_rpc_message(NULL), -1);
    routes_deinit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_infinity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_top_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_arrays_of_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_form_keys_not_folded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_experiment_id_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_many_and_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_reuse_and_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_table_paths, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
