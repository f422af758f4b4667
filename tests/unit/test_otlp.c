/*
 * Unit tests for mlflow/otlp: trace ids of OTLP trace exports as MLflow names them
 * (mlflow-api.md (c) risk 11). Protobuf inputs are assembled by hand here, byte by byte, so
 * each wire rule is exercised on purpose. Single-threaded; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mlflow/otlp.h"

static struct otlp_ids ids;
static char err[256];

/* A length-delimited field. */
static size_t ld(uint8_t *out, unsigned field, const uint8_t *p, size_t n)
{
    out[0] = (uint8_t)(field << 3 | 2);
    out[1] = (uint8_t)n; /* tests stay below 128 bytes per message */
    memcpy(out + 2, p, n);
    return n + 2;
}

/* ExportTraceServiceRequest with one resource and one scope holding `spans` (a run of
 * field-2 span entries, the content of a ScopeSpans message). */
static size_t export(uint8_t *out, const uint8_t *spans, size_t n)
{
    uint8_t res[128];
    size_t rl = ld(res, 2, spans, n); /* ResourceSpans.scope_spans = that ScopeSpans */
    return ld(out, 1, res, rl);       /* ExportTraceServiceRequest.resource_spans */
}

static int pb(const uint8_t *b, size_t n)
{
    return otlp_trace_ids((const char *)b, n, false, &ids, err, sizeof(err));
}

static int js(const char *s)
{
    return otlp_trace_ids(s, strlen(s), true, &ids, err, sizeof(err));
}

static void test_protobuf_ids(void **state)
{
    (void)state;
    static const uint8_t tid[16] = {0x0a, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    static const uint8_t tid2[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
    uint8_t span1[64], span2[64], spans[160], body[200];
    size_t s1 = ld(span1, 1, tid, 16);
    span1[s1++] = 0x10; /* field 2 varint: skipped (unknown here) */
    span1[s1++] = 0x05;
    size_t s2 = ld(span2, 1, tid2, 16);
    size_t n = ld(spans, 2, span1, s1);
    n += ld(spans + n, 2, span2, s2);
    n += ld(spans + n, 2, span1, s1); /* a repeated trace: reported once */
    size_t bl = export(body, spans, n);
    assert_int_equal(pb(body, bl), 0);
    assert_int_equal(ids.n, 2);
    assert_string_equal(ids.id[0], "tr-0a0b0000000000000000000000000001");
    assert_string_equal(ids.id[1], "tr-00000000000000000000000000000002");
}

static void test_protobuf_last_wins(void **state)
{
    (void)state;
    /* A span with trace_id twice: protobuf keeps the last, so must Warden. */
    static const uint8_t a[16] = {1}, b[16] = {2};
    uint8_t span[80], spans[100], body[160];
    size_t sn = ld(span, 1, a, 16);
    sn += ld(span + sn, 1, b, 16);
    size_t n = ld(spans, 2, span, sn);
    size_t bl = export(body, spans, n);
    assert_int_equal(pb(body, bl), 0);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.id[0], "tr-02000000000000000000000000000000");
}

static void test_protobuf_refusals(void **state)
{
    (void)state;
    static const uint8_t trunc[] = {0x0a, 0x10, 0x12};
    assert_int_equal(pb(trunc, sizeof(trunc)), -1);
    static const uint8_t group[] = {0x0b};
    assert_int_equal(pb(group, sizeof(group)), -1);
    static const uint8_t wt[] = {0x08, 0x01}; /* resource_spans as a varint */
    assert_int_equal(pb(wt, sizeof(wt)), -1);
    uint8_t span[4] = {0x10, 0x01}, spans[16], body[64]; /* a span without trace_id */
    size_t n = ld(spans, 2, span, 2);
    assert_int_equal(pb(body, export(body, spans, n)), -1);
    assert_non_null(strstr(err, "empty trace id"));
    assert_int_equal(pb((const uint8_t *)"", 0), 0); /* no spans: MLflow's own 400 */
    assert_int_equal(ids.n, 0);
}

static void test_json_ids(void **state)
{
    (void)state;
    assert_int_equal(js("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                        "\"0A0B0000000000000000000000000001\",\"spanId\":\"01\"}]}]}]}"),
                     0);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.id[0], "tr-0a0b0000000000000000000000000001");
}

static void test_json_refusals(void **state)
{
    (void)state;
    /* snake_case spellings would be read as base64 by protobuf's JSON parser */
    assert_int_equal(js("{\"resource_spans\":[]}"), -1);
    assert_int_equal(js("{\"resourceSpans\":[{\"scope_spans\":[]}]}"), -1);
    assert_int_equal(
        js("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"trace_id\":\"AQ==\"}]}]}]}"), -1);
    assert_int_equal(
        js("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0a 0b\"}]}]}]}"), -1);
    assert_int_equal(
        js("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"\"}]}]}]}"), -1);
    assert_int_equal(js("{\"resourceSpans\":{}}"), -1);
    assert_int_equal(js("{\"resourceSpans\":[],\"resourceSpans\":[]}"), -1);
    assert_int_equal(js("[]"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_ids),      cmocka_unit_test(test_protobuf_last_wins),
        cmocka_unit_test(test_protobuf_refusals), cmocka_unit_test(test_json_ids),
        cmocka_unit_test(test_json_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
