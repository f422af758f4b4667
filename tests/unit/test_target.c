/*
 * Unit tests for mlflow/target: request-target canonicalisation. One test per refusal rule
 * of target.h, plus the path and query differentials of mlflow-api.md (b) and the risks of
 * its section (c) that a target can carry (artifact-path tricks of risk 4, Werkzeug's query
 * quirks behind risks 1/7). Runs single-threaded; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mlflow/target.h"

static struct target t;
static char buf[4096];
static struct target_error terr;

static int parse(const char *s)
{
    memset(&terr, 0, sizeof(terr));
    return target_parse(s, strlen(s), buf, sizeof(buf), &t, &terr);
}

static void expect_refused(const char *s, int status, const char *reason_part)
{
    if (parse(s) != -1)
        fail_msg("accepted: %s", s);
    if (terr.status != status)
        fail_msg("%s: status %d, want %d (%s)", s, terr.status, status, terr.reason);
    assert_non_null(terr.reason);
    if (reason_part && !strstr(terr.reason, reason_part))
        fail_msg("%s: reason \"%s\" lacks \"%s\"", s, terr.reason, reason_part);
}

static void expect_seg(size_t i, const char *want)
{
    assert_true(i < t.nseg);
    if (!target_str_eq(t.seg[i], want))
        fail_msg("segment %zu is \"%.*s\", want \"%s\"", i, (int)t.seg[i].len, t.seg[i].ptr, want);
}

static void expect_query(size_t i, const char *k, const char *v)
{
    assert_true(i < t.nquery);
    if (!target_str_eq(t.query[i].key, k) || !target_str_eq(t.query[i].value, v))
        fail_msg("pair %zu is \"%.*s\"=\"%.*s\", want \"%s\"=\"%s\"", i, (int)t.query[i].key.len,
                 t.query[i].key.ptr, (int)t.query[i].value.len, t.query[i].value.ptr, k, v);
}

static void test_plain_path(void **state)
{
    (void)state;
    assert_int_equal(parse("/api/2.0/mlflow/runs/get"), 0);
    assert_true(target_str_eq(t.path, "/api/2.0/mlflow/runs/get"));
    assert_int_equal(t.nseg, 5);
    expect_seg(0, "api");
    expect_seg(4, "get");
    assert_false(t.trailing_slash);
    assert_false(t.has_query);
    assert_null(t.raw_query.ptr);
    assert_int_equal(t.nquery, 0);
}

static void test_root_and_trailing_slash(void **state)
{
    (void)state;
    assert_int_equal(parse("/"), 0);
    assert_int_equal(t.nseg, 0);
    assert_false(t.trailing_slash);
    /* Reported, not refused: the matcher knows the one route that requires it. */
    assert_int_equal(parse("/ajax-api/3.0/jobs/"), 0);
    assert_int_equal(t.nseg, 3);
    assert_true(t.trailing_slash);
    assert_true(target_str_eq(t.path, "/ajax-api/3.0/jobs/"));
}

static void test_decoded_once(void **state)
{
    (void)state;
    /* %74 = 't': MLflow's ASGI server decodes once before routing; so do we. */
    assert_int_equal(parse("/api/2.0/mlflow/runs/ge%74"), 0);
    expect_seg(4, "get");
    assert_true(t.seg_flags[4] & TARGET_SEG_ESCAPED);
    assert_false(t.seg_flags[3] & TARGET_SEG_ESCAPED);
    /* UTF-8 in a parameter is fine once decoded. */
    assert_int_equal(parse("/api/3.0/mlflow/traces/tr-%C3%A9"), 0);
    expect_seg(4, "tr-\xc3\xa9");
}

static void test_refuse_not_origin_form(void **state)
{
    (void)state;
    expect_refused("", 400, "absolute path");
    expect_refused("*", 400, "absolute path");
    expect_refused("http://mlflow/api/2.0/mlflow/runs/get", 400, "absolute path");
    expect_refused("api/2.0", 400, "absolute path");
    expect_refused("?a=1", 400, "absolute path");
}

static void test_refuse_fragment(void **state)
{
    (void)state;
    expect_refused("/api/2.0/mlflow/runs/get#x", 400, "fragment");
    expect_refused("/api/2.0/mlflow/runs/get?run_id=1#x", 400, "fragment");
}

static void test_refuse_empty_segments(void **state)
{
    (void)state;
    /* Werkzeug answers "//" with a 308 to the merged path; Warden refuses it. */
    expect_refused("//api/2.0/mlflow/runs/get", 404, "empty");
    expect_refused("/api//2.0/mlflow/runs/get", 404, "empty");
    expect_refused("/api/2.0/mlflow/runs/get//", 404, "empty");
}

static void test_refuse_dot_segments(void **state)
{
    (void)state;
    expect_refused("/api/2.0/mlflow/runs/../experiments/get", 404, "dot");
    expect_refused("/api/2.0/mlflow/./runs/get", 404, "dot");
    expect_refused("/api/2.0/mlflow/runs/get/..", 404, "dot");
    expect_refused("/..", 404, "dot");
    /* encoded dots are still dots after the one decode */
    expect_refused("/api/2.0/mlflow/runs/%2e%2e/experiments/get", 404, "dot");
    expect_refused("/api/2.0/mlflow/runs/%2E/get", 404, "dot");
    expect_refused("/api/2.0/mlflow/runs/.%2e/get", 404, "dot");
    /* risk 4: "./1/..." reached experiment 1 through the artifact proxy */
    expect_refused("/api/2.0/mlflow-artifacts/artifacts/./1/x", 404, "dot");
    /* dots inside a segment are data */
    assert_int_equal(parse("/static-files/static/js/main.3f2a.js"), 0);
    assert_int_equal(parse("/api/2.0/mlflow-artifacts/artifacts/1/...x/.y"), 0);
    expect_seg(5, "...x");
    expect_seg(6, ".y");
}

static void test_refuse_encoded_separators(void **state)
{
    (void)state;
    expect_refused("/api/2.0/mlflow%2Fruns/get", 400, "separator");
    expect_refused("/api/2.0/mlflow%2fruns/get", 400, "separator");
    expect_refused("/api/2.0/mlflow-artifacts/artifacts/1%2Fx", 400, "separator");
    expect_refused("/api/2.0/mlflow/runs%5Cget", 400, "separator");
    expect_refused("/api/2.0/mlflow/runs%5cget", 400, "separator");
}

static void test_backslash_flagged(void **state)
{
    (void)state;
    assert_int_equal(parse("/api/2.0/mlflow-artifacts/artifacts/1/a\\b"), 0);
    assert_true(t.seg_flags[5] & TARGET_SEG_BACKSLASH);
    assert_false(t.seg_flags[4] & TARGET_SEG_BACKSLASH);
}

static void test_refuse_malformed_escapes_in_path(void **state)
{
    (void)state;
    expect_refused("/api/2.0/mlflow/runs/get%", 400, "malformed");
    expect_refused("/api/2.0/mlflow/runs/get%4", 400, "malformed");
    expect_refused("/api/2.0/mlflow/runs/%zzget", 400, "malformed");
    expect_refused("/api/2.0/mlflow/runs/%g0", 400, "malformed");
}

static void test_refuse_double_encoding(void **state)
{
    (void)state;
    /* risk 4: "%2531" is "%31" after one decode, which MLflow's artifact code decodes again
     * to "1" while a check on the once-decoded path sees something else. */
    expect_refused("/api/2.0/mlflow-artifacts/artifacts/%2531/x", 400, "double");
    expect_refused("/api/2.0/mlflow-artifacts/artifacts/1/50%25.png", 400, "double");
}

static void test_refuse_controls_and_bad_utf8(void **state)
{
    (void)state;
    expect_refused("/api/2.0/mlflow/runs/get%00", 400, "control");
    expect_refused("/api/2.0/mlflow/runs/get%0a", 400, "control");
    expect_refused("/api/2.0/mlflow/runs/get%7F", 400, "control");
    expect_refused("/api/2.0/mlflow/runs/get%09", 400, "control");
    expect_refused("/api/3.0/mlflow/traces/%FF", 400, "UTF-8");
    expect_refused("/api/3.0/mlflow/traces/%C0%AF", 400, "UTF-8");    /* overlong '/' */
    expect_refused("/api/3.0/mlflow/traces/%ED%A0%80", 400, "UTF-8"); /* surrogate */
    expect_refused("/api/3.0/mlflow/traces/%F4%90%80%80", 400, "UTF-8");
    expect_refused("/api/3.0/mlflow/traces/%E2%82", 400, "UTF-8"); /* truncated */
    /* raw bytes a request-target may not carry */
    expect_refused("/api/2.0/mlflow/runs/g t", 400, "invalid byte");
    expect_refused("/api/2.0/mlflow/runs/\x01", 400, "invalid byte");
    expect_refused("/api/3.0/mlflow/traces/\xc3\xa9", 400, "invalid byte");
    expect_refused("/api/2.0/mlflow/runs/get?a=\x7f", 400, "invalid byte");
}

static void test_artifact_leading_space_is_visible(void **state)
{
    (void)state;
    /* risk 4: "%201/..." reached experiment 1; the target exposes the space exactly, so the
     * artifact layer's canonical-integer check on the first segment refuses it. */
    assert_int_equal(parse("/api/2.0/mlflow-artifacts/artifacts/%201/x"), 0);
    expect_seg(4, " 1");
}

static void test_case_kept(void **state)
{
    (void)state;
    assert_int_equal(parse("/API/2.0/MLflow/Runs/Get"), 0);
    expect_seg(0, "API");
    expect_seg(4, "Get");
}

static void test_query_werkzeug_rules(void **state)
{
    (void)state;
    assert_int_equal(parse("/x?run_id=a&run_id=b&k&e=&;x=1&p=a+b%2Bc&na%6De=v&&"), 0);
    assert_true(t.has_query);
    assert_int_equal(t.nquery, 7);
    expect_query(0, "run_id", "a");
    expect_query(1, "run_id", "b"); /* repeated keys kept in order */
    expect_query(2, "k", "");       /* no '=': empty value */
    expect_query(3, "e", "");
    expect_query(4, ";x", "1"); /* ';' is data, not a separator */
    expect_query(5, "p", "a b+c");
    expect_query(6, "name", "v"); /* keys are decoded too */
    /* first-wins is the route layer's rule; target_query_get gives the first */
    const struct target_str *v = target_query_get(&t, "run_id");
    assert_non_null(v);
    assert_true(target_str_eq(*v, "a"));
    assert_int_equal(target_query_count(&t, "run_id"), 2);
    assert_null(target_query_get(&t, "missing"));
    assert_true(target_str_eq(t.raw_query, "run_id=a&run_id=b&k&e=&;x=1&p=a+b%2Bc&na%6De=v&&"));
}

static void test_query_empty_and_value_with_equals(void **state)
{
    (void)state;
    assert_int_equal(parse("/x?"), 0);
    assert_true(t.has_query);
    assert_int_equal(t.nquery, 0);
    assert_int_equal(parse("/x?filter=a%3D1=2"), 0);
    expect_query(0, "filter", "a=1=2");
    /* a control other than NUL stays (filter strings), ids are checked later */
    assert_int_equal(parse("/x?filter=a%0Ab"), 0);
    expect_query(0, "filter", "a\nb");
}

static void test_query_refusals(void **state)
{
    (void)state;
    /* Werkzeug keeps these literally; Warden refuses them */
    expect_refused("/x?experiment_id=%zz", 400, "malformed");
    expect_refused("/x?experiment_id=1%", 400, "malformed");
    expect_refused("/x?experiment_id=1%2", 400, "malformed");
    expect_refused("/x?experiment%=1", 400, "malformed");
    expect_refused("/x?experiment_id=1%00", 400, "NUL");
    expect_refused("/x?a%00=1", 400, "NUL");
    expect_refused("/x?experiment_id=%FF", 400, "UTF-8"); /* Werkzeug: U+FFFD */
    expect_refused("/x?a=1#frag", 400, "fragment");
}

static void test_path_rules_ignore_query(void **state)
{
    (void)state;
    /* '/', '..', '//' and %2F in the query are data */
    assert_int_equal(parse("/api/2.0/mlflow-artifacts/artifacts?path=1/a/../b//c%2Fd"), 0);
    expect_query(0, "path", "1/a/../b//c/d");
}

static void test_limits(void **state)
{
    (void)state;
    char big[TARGET_MAX_SEGMENTS * 2 + 8];
    size_t n = 0;
    for (size_t i = 0; i <= TARGET_MAX_SEGMENTS; i++) {
        big[n++] = '/';
        big[n++] = 'a';
    }
    big[n] = 0;
    expect_refused(big, 400, "too many path segments");
    big[n - 2] = 0; /* exactly the limit */
    assert_int_equal(parse(big), 0);
    assert_int_equal(t.nseg, TARGET_MAX_SEGMENTS);

    char q[8 + TARGET_MAX_QUERY * 4 + 8];
    n = 0;
    q[n++] = '/';
    q[n++] = '?';
    for (size_t i = 0; i <= TARGET_MAX_QUERY; i++) {
        q[n++] = 'k';
        q[n++] = '=';
        q[n++] = '1';
        q[n++] = '&';
    }
    q[n] = 0;
    expect_refused(q, 400, "too many query");

    /* the output buffer must hold the whole target */
    const char *s = "/api/2.0/mlflow/runs/get?run_id=1";
    assert_int_equal(target_parse(s, strlen(s), buf, 10, &t, &terr), -1);
    assert_int_equal(terr.status, 400);
    assert_int_equal(target_parse(s, strlen(s), buf, strlen(s), &t, &terr), 0);
    assert_int_equal(target_parse(NULL, 0, buf, sizeof(buf), &t, NULL), -1);
}

static void test_output_within_buffer(void **state)
{
    (void)state;
    const char *s = "/a%41/b?k%41=v%41&x=%C3%A9";
    size_t len = strlen(s);
    char *exact = malloc(len);
    assert_non_null(exact);
    assert_int_equal(target_parse(s, len, exact, len, &t, &terr), 0);
    assert_true(t.path.ptr >= exact && t.path.ptr + t.path.len <= exact + len);
    for (size_t i = 0; i < t.nquery; i++) {
        assert_true(t.query[i].key.ptr >= exact &&
                    t.query[i].value.ptr + t.query[i].value.len <= exact + len);
    }
    expect_seg(0, "aA");
    expect_query(0, "kA", "vA");
    expect_query(1, "x", "\xc3\xa9");
    free(exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_path),
        cmocka_unit_test(test_root_and_trailing_slash),
        cmocka_unit_test(test_decoded_once),
        cmocka_unit_test(test_refuse_not_origin_form),
        cmocka_unit_test(test_refuse_fragment),
        cmocka_unit_test(test_refuse_empty_segments),
        cmocka_unit_test(test_refuse_dot_segments),
        cmocka_unit_test(test_refuse_encoded_separators),
        cmocka_unit_test(test_backslash_flagged),
        cmocka_unit_test(test_refuse_malformed_escapes_in_path),
        cmocka_unit_test(test_refuse_double_encoding),
        cmocka_unit_test(test_refuse_controls_and_bad_utf8),
        cmocka_unit_test(test_artifact_leading_space_is_visible),
        cmocka_unit_test(test_case_kept),
        cmocka_unit_test(test_query_werkzeug_rules),
        cmocka_unit_test(test_query_empty_and_value_with_equals),
        cmocka_unit_test(test_query_refusals),
        cmocka_unit_test(test_path_rules_ignore_query),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_output_within_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
