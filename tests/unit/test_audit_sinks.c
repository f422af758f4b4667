/*
 * Unit tests for the pure parts of the audit sinks: RFC 5424 framing (PRI from facility and
 * the record's severity, header fields, SD escaping, octet counting, the BOM rule, round trip
 * through the unframer), the line peek, the native JSON parser (round trip, strictness), the
 * OCSF rendering of journal lines, batches, back-off, the HTTP request head and response
 * completeness (length, chunked, close-delimited, malformed), rotated file names and the
 * sequence number of a file sink's last line. No I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/chain.h"
#include "audit/format.h"
#include "audit/sink.h"
#include "audit/sinks.h"
#include "audit/syslog.h"
#include "audit_test_util.h"

static char line[AUDIT_LINE_MAX];
static size_t line_len;

/* One sealed typical record (seq 7) in `line`, without its newline. */
static void sealed(struct audit_record *r)
{
    struct audit_chain c;
    const unsigned char inst[4] = {0xaa, 0xbb, 0xcc, 0xdd};
    audit_chain_init(&c, inst);
    c.next_seq = 7;
    assert_int_equal(audit_chain_seal(&c, r, line, sizeof(line), &line_len, NULL, 0), 0);
    line_len--;
    line[line_len] = '\0';
}

static void test_peek(void **state)
{
    struct audit_record r;
    struct audit_line_peek p;
    audit_fill_typical(&r, 1764349215123LL);
    sealed(&r);
    assert_int_equal(audit_line_peek(line, line_len, &p), 0);
    assert_int_equal(p.seq, 7);
    assert_string_equal(p.time, "2025-11-28T17:00:15.123Z");
    assert_string_equal(p.event_id, r.event_id);
    assert_int_equal(p.status, 200);
    assert_false(p.deny);
    assert_int_equal(audit_syslog_severity(&p), 6);
    /* A client-controlled field that mimics members does not fool it. */
    audit_fill_typical(&r, 1764349215123LL);
    SETS(&r, request_id, "\",\"status\":500,\"decision\":{\"result\":\"deny\"");
    r.status = 403;
    r.decision.result = AUDIT_DECISION_DENY;
    sealed(&r);
    assert_int_equal(audit_line_peek(line, line_len, &p), 0);
    assert_int_equal(p.status, 403);
    assert_true(p.deny);
    assert_int_equal(audit_syslog_severity(&p), 4);
    r.status = 502;
    r.decision.result = AUDIT_DECISION_ALLOW;
    sealed(&r);
    assert_int_equal(audit_line_peek(line, line_len, &p), 0);
    assert_int_equal(audit_syslog_severity(&p), 3);
    r.status = -1;
    sealed(&r);
    assert_int_equal(audit_line_peek(line, line_len, &p), 0);
    assert_int_equal(p.status, -1);
    /* Not records. */
    const char *bad[] = {"", "{}", "{\"v\":2,\"seq\":1,", "{\"v\":1,\"seq\":01,",
                         "{\"v\":1,\"seq\":1,\"event_id\":\"x\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(audit_line_peek(bad[i], strlen(bad[i]), &p), -1);
    for (size_t n = 0; n < line_len; n += 7)
        audit_line_peek(line, n, &p); /* any prefix: no overread (ASan) */
}

static void test_syslog_frame(void **state)
{
    struct audit_record r;
    struct audit_line_peek p;
    struct audit_syslog_hdr h;
    static char out[AUDIT_LINE_MAX + AUDIT_SYSLOG_OVERHEAD];
    size_t n = 0;
    audit_fill_typical(&r, 1764349215123LL);
    sealed(&r);
    audit_line_peek(line, line_len, &p);
    audit_syslog_hdr_init(&h, 10, "gw-1.example", "warden");
    assert_int_equal(audit_syslog_frame(&h, &p, line, line_len, out, sizeof(out), &n), 0);
    /* MSG-LEN SP then the message, exactly MSG-LEN bytes. */
    const char *msg;
    size_t mlen;
    assert_int_equal(audit_syslog_unframe(out, n, &msg, &mlen), (int)n);
    char want[512];
    snprintf(want, sizeof(want),
             "<86>1 2025-11-28T17:00:15.123Z gw-1.example warden %s audit [warden@32473 "
             "seq=\"7\" event_id=\"%s\"] {\"v\":1,",
             h.procid, r.event_id);
    assert_memory_equal(msg, want, strlen(want));
    assert_memory_equal(msg + mlen - line_len, line, line_len);
    /* Denied at facility local0: PRI 16*8+4. Incomplete frames need more. */
    r.decision.result = AUDIT_DECISION_DENY;
    sealed(&r);
    audit_line_peek(line, line_len, &p);
    audit_syslog_hdr_init(&h, 16, "h", "a");
    assert_int_equal(audit_syslog_frame(&h, &p, line, line_len, out, sizeof(out), &n), 0);
    assert_non_null(strstr(out, " <132>1 "));
    assert_int_equal(audit_syslog_unframe(out, n - 1, &msg, &mlen), 0);
    assert_int_equal(audit_syslog_unframe(out, 2, &msg, &mlen), 0);
    /* Too small a buffer is refused, never cut. */
    assert_int_equal(audit_syslog_frame(&h, &p, line, line_len, out, n - 1, &n), -1);
    /* Non-ASCII payload gets the UTF-8 BOM (RFC 5424 §6.4); ASCII does not. */
    SETS(&r, subject.user, "jos\xc3\xa9@example.com");
    sealed(&r);
    audit_line_peek(line, line_len, &p);
    assert_int_equal(audit_syslog_frame(&h, &p, line, line_len, out, sizeof(out), &n), 0);
    assert_non_null(memmem(out, n, "\"] \xEF\xBB\xBF{\"v\":1", 11));
    /* Header fields are made PRINTUSASCII. */
    audit_syslog_hdr_init(&h, 99, "bad host\x01", "");
    assert_string_equal(h.hostname, "badhost");
    assert_string_equal(h.app_name, "-");
    assert_int_equal(h.facility, 1);
    audit_syslog_hdr_init(&h, 3, NULL, "w");
    assert_true(strlen(h.hostname) > 0);
    /* Unframe refuses junk. */
    assert_int_equal(audit_syslog_unframe("x 1", 3, &msg, &mlen), -1);
    assert_int_equal(audit_syslog_unframe("0 ", 2, &msg, &mlen), -1);
    assert_int_equal(audit_syslog_unframe("12x", 3, &msg, &mlen), -1);
    assert_int_equal(audit_syslog_unframe("1234567890 x", 12, &msg, &mlen), -1);
}

static void test_parse_round_trip(void **state)
{
    static struct audit_record r, back, again;
    static char l2[AUDIT_LINE_MAX], l3[AUDIT_LINE_MAX];
    char err[256];
    size_t n2, n3;
    audit_fill_typical(&r, 1764349215123LL);
    audit_record_add_param(&r, S("token"), S("secret-value"));
    char big[600];
    memset(big, 'v', sizeof(big));
    audit_record_add_param(&r, S("long"), big, sizeof(big));
    SETS(&r, decision.reason, "bad utf8 \xff\xfe and \x01 control");
    r.subject.groups_omitted = 3;
    r.params_dropped = 2;
    audit_record_add_resource_id(&r, "run", S("abc123"));
    sealed(&r);
    assert_int_equal(audit_parse_json(line, line_len, &back, err, sizeof(err)), 0);
    assert_int_equal(back.seq, 7);
    assert_string_equal(back.hash, r.hash);
    assert_string_equal(back.event_id, r.event_id);
    assert_int_equal(back.time_ms, r.time_ms);
    assert_int_equal(back.n_params, r.n_params);
    assert_true(back.params[2].redacted);
    assert_true(back.params[3].truncated);
    assert_int_equal(back.subject.groups_omitted, 3);
    assert_int_equal(back.resource.n_ids, 2);
    assert_string_equal(back.resource.ids[1].key.s, "run");
    assert_true(back.truncated);
    /* Formatting what was parsed gives the same line (invalid bytes were already U+FFFD). */
    assert_int_equal(audit_format_json(&back, l2, sizeof(l2), &n2), 0);
    assert_int_equal(audit_parse_json(l2, n2, &again, err, sizeof(err)), 0);
    assert_int_equal(audit_format_json(&again, l3, sizeof(l3), &n3), 0);
    assert_int_equal(n2, n3);
    assert_memory_equal(l2, l3, n2);
    /* Parsing leaves the line alone: its own hash still matches. */
    struct audit_line al;
    unsigned char h[AUDIT_HASH_LEN];
    assert_int_equal(audit_line_parse(line, line_len, &al, err, sizeof(err)), 0);
    assert_int_equal(audit_line_digest(line, line_len, &al, h), 0);
    assert_memory_equal(h, al.hash, AUDIT_HASH_LEN);
    /* A record with empty everything round-trips too. */
    audit_record_init(&r, 0, NULL);
    sealed(&r);
    assert_int_equal(audit_parse_json(line, line_len, &back, err, sizeof(err)), 0);
    assert_int_equal(back.decision.result, AUDIT_DECISION_NONE);
}

static void test_parse_strict(void **state)
{
    struct audit_record r, back;
    char err[256];
    static char t[AUDIT_LINE_MAX];
    audit_fill_typical(&r, 1764349215123LL);
    sealed(&r);
    struct {
        const char *from, *to, *why;
    } edits[] = {
        {"\"v\":1", "\"v\":2", "schema"},
        {"\"status\":200", "\"status\":\"200\"", "'status'"},
        {"\"latency_us\":1834", "\"latency_us\":-1", "'latency_us' out of range"},
        {"\"port\":51234", "\"port\":70000", "'port' out of range"},
        {"\"result\":\"allow\"", "\"result\":\"maybe\"", "'result'"},
        {"\"time\":\"2025-11-28T17:00:15.123Z\"", "\"time\":\"2025-11-28 17:00:15\"", "'time'"},
        {"\"params_redacted\":[]", "\"params_redacted\":[\"nope\"]", "not in params"},
        {"\"bytes_out\":412", "\"bytes_out\":412,\"extra\":1", "unexpected member"},
        {"\"truncated\":false", "\"truncated\":0", "'truncated'"},
        {"\"groups\":[",
         "\"groups\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
         "\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\",",
         "'groups'"},
        {"\"seq\":7,", "\"seq\":7,\"seq\":8,", "not JSON"},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *at = strstr(line, edits[i].from);
        assert_non_null(at);
        size_t pre = (size_t)(at - line), fl = strlen(edits[i].from), tl = strlen(edits[i].to);
        memcpy(t, line, pre);
        memcpy(t + pre, edits[i].to, tl);
        memcpy(t + pre + tl, at + fl, line_len - pre - fl + 1);
        err[0] = '\0';
        if (audit_parse_json(t, strlen(t), &back, err, sizeof(err)) != -1)
            fail_msg("edit %zu accepted", i);
        if (!strstr(err, edits[i].why))
            fail_msg("edit %zu: \"%s\" lacks \"%s\"", i, err, edits[i].why);
    }
    /* A string longer than its field is cut at a character boundary and flagged. */
    char *at = strstr(line, "\"service\":\"mlflow\"");
    size_t pre = (size_t)(at - line);
    const char *longer = "\"service\":\"mlflow-\u00e9\u00e9\u00e9\u00e9\u00e9\"";
    memcpy(t, line, pre);
    memcpy(t + pre, longer, strlen(longer));
    memcpy(t + pre + strlen(longer), at + 18, line_len - pre - 18 + 1);
    assert_int_equal(audit_parse_json(t, strlen(t), &back, err, sizeof(err)), 0);
    assert_true(back.truncated);
    assert_int_equal(back.service.len, 15); /* "mlflow-" and 4 of the 5 two-byte characters */
    assert_int_equal(audit_parse_json("[]", 2, &back, err, sizeof(err)), -1);
    assert_int_equal(audit_parse_json("", 0, &back, err, sizeof(err)), -1);
}

static void test_render_payload(void **state)
{
    struct audit_record r;
    static struct audit_record scratch;
    struct audit_batch b;
    char err[256];
    audit_batch_init(&b);
    audit_fill_typical(&r, 1764349215123LL);
    sealed(&r);
    assert_int_equal(
        audit_render_payload(AUDIT_OUT_JSON, "1.2.3", line, line_len, &scratch, &b, err, 256), 0);
    assert_int_equal(audit_batch_commit(&b, 7), 0);
    assert_int_equal(
        audit_render_payload(AUDIT_OUT_OCSF, "1.2.3", line, line_len, &scratch, &b, err, 256), 0);
    assert_int_equal(audit_batch_commit(&b, 7), 0);
    size_t l0, l1;
    const char *i0 = audit_batch_item(&b, 0, &l0), *i1 = audit_batch_item(&b, 1, &l1);
    assert_int_equal(l0, line_len);
    assert_memory_equal(i0, line, l0);
    /* The OCSF rendering of the parsed line equals rendering the record directly. */
    static char direct[AUDIT_LINE_MAX];
    size_t dn = 0;
    assert_int_equal(audit_format_ocsf(&r, "1.2.3", direct, sizeof(direct), &dn), 0);
    assert_int_equal(l1, dn);
    assert_memory_equal(i1, direct, dn);
    assert_non_null(memmem(i1, l1, "\"class_uid\":6003", 16));
    /* A damaged line is refused for OCSF and nothing is left in the batch. */
    size_t before = b.len;
    assert_int_equal(
        audit_render_payload(AUDIT_OUT_OCSF, "1", "{\"v\":1}", 7, &scratch, &b, err, 256), -1);
    audit_batch_rollback(&b);
    assert_int_equal(b.len, before);
    audit_batch_reset(&b);
    assert_int_equal(b.n, 0);
    audit_batch_deinit(&b);
}

static void test_backoff(void **state)
{
    assert_int_equal(audit_backoff_ms(100, 30000, 1, 0.5), 100);
    assert_int_equal(audit_backoff_ms(100, 30000, 2, 0.5), 200);
    assert_int_equal(audit_backoff_ms(100, 30000, 4, 0.5), 800);
    assert_int_equal(audit_backoff_ms(100, 30000, 40, 0.5), 30000);
    assert_int_equal(audit_backoff_ms(100, 30000, 1000000, 0.5), 30000);
    assert_int_equal(audit_backoff_ms(100, 30000, 1, 0.0), 80);
    assert_int_equal(audit_backoff_ms(100, 30000, 1, 0.999999), 119);
    assert_int_equal(audit_backoff_ms(100, 30000, 0, 0.5), 100);
    assert_true(audit_backoff_ms(1, 1, 1, 0.0) >= 1);
}

static void test_http_head(void **state)
{
    char out[1024];
    size_t n = audit_http_head("c.example:8080", "/v1/audit", NULL, 1234, 5, 9, out, sizeof(out));
    assert_true(n > 0);
    assert_string_equal(out, "POST /v1/audit HTTP/1.1\r\nHost: c.example:8080\r\n"
                             "Content-Type: application/x-ndjson\r\nContent-Length: 1234\r\n"
                             "User-Agent: warden-audit/1\r\nX-Warden-Audit-First-Seq: 5\r\n"
                             "X-Warden-Audit-Last-Seq: 9\r\n\r\n");
    n = audit_http_head("h", "/", "tok", 1, 1, 1, out, sizeof(out));
    assert_non_null(strstr(out, "\r\nAuthorization: Bearer tok\r\n\r\n"));
    assert_int_equal(audit_http_head("h", "/", "tok", 1, 1, 1, out, 20), 0);
}

static void test_http_response(void **state)
{
    int st = 0;
    bool ka = false;
    const char *r1 = "HTTP/1.1 204 No Content\r\n\r\n";
    assert_int_equal(audit_http_response(r1, strlen(r1), false, &st, &ka), (int)strlen(r1));
    assert_int_equal(st, 204);
    assert_true(ka);
    const char *r2 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    assert_int_equal(audit_http_response(r2, strlen(r2) - 1, false, &st, &ka), 0);
    assert_int_equal(audit_http_response(r2, strlen(r2) - 1, true, &st, &ka), -1);
    assert_int_equal(audit_http_response(r2, strlen(r2), false, &st, &ka), (int)strlen(r2));
    const char *r3 = "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    assert_int_equal(audit_http_response(r3, strlen(r3) - 2, false, &st, &ka), 0);
    assert_int_equal(audit_http_response(r3, strlen(r3), false, &st, &ka), (int)strlen(r3));
    assert_int_equal(st, 503);
    const char *r4 = "HTTP/1.0 200 OK\r\n\r\nbody until close";
    assert_int_equal(audit_http_response(r4, strlen(r4), false, &st, &ka), 0);
    assert_int_equal(audit_http_response(r4, strlen(r4), true, &st, &ka), (int)strlen(r4));
    assert_false(ka);
    const char *r5 = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(audit_http_response(r5, strlen(r5), false, &st, &ka), (int)strlen(r5));
    assert_false(ka);
    const char *bad[] = {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                         "HTTP/1.1 100 Continue\r\n\r\n", "garbage\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(audit_http_response(bad[i], strlen(bad[i]), false, &st, &ka), -1);
    assert_int_equal(audit_http_response("HTTP/1.1 2", 10, false, &st, &ka), 0);
    assert_int_equal(audit_http_response("HTTP/1.1 2", 10, true, &st, &ka), -1);
}

static void test_rotation_names(void **state)
{
    char out[256];
    assert_int_equal(audit_rotated_name("/var/log/a.log", 1764349215123LL, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "/var/log/a.log.20251128T170015.123Z");
    assert_int_equal(audit_rotated_name("/var/log/a.log", 1764349215123LL, 2, out, sizeof(out)), 0);
    assert_string_equal(out, "/var/log/a.log.20251128T170015.123Z-002");
    assert_int_equal(audit_rotated_name("/var/log/a.log", 0, 0, out, 10), -1);
    assert_int_equal(audit_rotated_name("a", 0, 1000, out, sizeof(out)), -1);
    assert_true(audit_is_rotated_name("a.log", "a.log.20251128T170015.123Z"));
    assert_true(audit_is_rotated_name("a.log", "a.log.20251128T170015.123Z-012"));
    assert_false(audit_is_rotated_name("a.log", "a.log"));
    assert_false(audit_is_rotated_name("a.log", "a.log.1"));
    assert_false(audit_is_rotated_name("a.log", "a.log.20251128T170015.123Z-"));
    assert_false(audit_is_rotated_name("a.log", "a.log.20251128T170015.123Z-12"));
    assert_false(audit_is_rotated_name("a.log", "a.log.20251128T170015.123Zx"));
    assert_false(audit_is_rotated_name("a.log", "b.log.20251128T170015.123Z"));
    assert_false(audit_is_rotated_name("a", "ab.20251128T170015.123Z"));
    /* Rotated names sort in rotation order, as `wardenctl audit verify` wants them. */
    char a[256], b[256], c[256], d[256];
    audit_rotated_name("x", 1764349215123LL, 0, a, sizeof(a));
    audit_rotated_name("x", 1764349215123LL, 2, b, sizeof(b));
    audit_rotated_name("x", 1764349215123LL, 10, c, sizeof(c));
    audit_rotated_name("x", 1764349215124LL, 0, d, sizeof(d));
    assert_true(strcmp(a, b) < 0);
    assert_true(strcmp(b, c) < 0);
    assert_true(strcmp(c, d) < 0);
}

static void test_file_line_seq(void **state)
{
    struct audit_record r;
    static char o[AUDIT_LINE_MAX];
    size_t n = 0;
    audit_fill_typical(&r, 1764349215123LL);
    sealed(&r);
    assert_int_equal(audit_file_line_seq(line, line_len), 7);
    assert_int_equal(audit_format_ocsf(&r, "1", o, sizeof(o), &n), 0);
    assert_int_equal(audit_file_line_seq(o, n), 7);
    assert_int_equal(audit_file_line_seq("{}", 2), 0);
    assert_int_equal(audit_file_line_seq("not json", 8), 0);
    assert_int_equal(audit_file_line_seq("{\"metadata\":{\"sequence\":-4}}", 28), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_syslog_frame),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_strict),
        cmocka_unit_test(test_render_payload),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_http_head),
        cmocka_unit_test(test_http_response),
        cmocka_unit_test(test_rotation_names),
        cmocka_unit_test(test_file_line_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
