/*
 * Unit tests for net/http1: request heads, response heads and the chunked decoder.
 *
 * Every refusal is checked twice: on the whole input, and fed as growing prefixes (one more
 * byte per call, the way a slow client delivers it) to show that the parser never answers a
 * different status or keeps asking for more once an invalid byte is visible. Rows of
 * /work/shared/security-cases.md are named in the test names (s1_..., h4_..., o4_..., x4_...).
 * Runs single-threaded; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/http1.h"

static const struct http1_limits LIM = {
    .max_request_line = 1024,
    .max_header_bytes = 4096,
    .max_headers = 32,
};

static struct http1_request req;
static struct http1_response resp;

/* Parse s[0..n) as a request; returns the parser's result. */
static int preq(const char *s, size_t n, const struct http1_limits *lim, struct http1_error *e)
{
    memset(e, 0, sizeof(*e));
    return http1_parse_request(s, n, lim, &req, e);
}

/*
 * Assert that the request s (length n) is refused with `status`, on the whole input and
 * incrementally: every prefix answers 0 until the first -1, which carries the same status.
 */
static void refuse_n(const char *s, size_t n, int status)
{
    struct http1_error e;
    int rc = preq(s, n, &LIM, &e);
    if (rc != -1)
        fail_msg("expected refusal %d, got rc=%d for [%.*s]", status, rc, (int)n, s);
    assert_int_equal(e.status, status);
    assert_non_null(e.reason);
    assert_true(strlen(e.reason) > 0);
    assert_true(e.offset <= n);
    for (size_t k = 0; k <= n; k++) {
        rc = preq(s, k, &LIM, &e);
        if (rc == -1) {
            assert_int_equal(e.status, status);
            return;
        }
        assert_int_equal(rc, 0);
    }
    fail_msg("no prefix was refused");
}

static void refuse(const char *s, int status)
{
    refuse_n(s, strlen(s), status);
}

/* For literals with embedded NUL bytes. */
#define REFUSE_LIT(s, status) refuse_n(s, sizeof(s) - 1, status)

/* Assert s is accepted as a complete head of exactly head_len bytes (all of s if 0). */
static void accept_head(const char *s, size_t head_len)
{
    struct http1_error e;
    size_t n = strlen(s);
    if (head_len == 0)
        head_len = n;
    for (size_t k = 0; k < head_len; k++) {
        int rc = preq(s, k, &LIM, &e);
        if (rc != 0)
            fail_msg("prefix %zu of [%s]: rc=%d (%s)", k, s, rc, rc < 0 ? e.reason : "");
    }
    int rc = preq(s, n, &LIM, &e);
    if (rc < 0)
        fail_msg("refused %d %s at %zu: [%s]", e.status, e.reason, e.offset, s);
    assert_int_equal(rc, (int)head_len);
}

static void accept(const char *s)
{
    accept_head(s, 0);
}

#define H11 " HTTP/1.1\r\nHost: a\r\n"

/* ---- request line ---------------------------------------------------------------------- */

static void test_valid_request_fields(void **state)
{
    const char *s = "POST /api/2.0/mlflow/runs/create?x=1 HTTP/1.1\r\n"
                    "Host: mlflow.example:5000\r\n"
                    "Content-Type: application/json\r\n"
                    "X-Empty:\r\n"
                    "Content-Length: 12\r\n"
                    "\r\n"
                    "{\"a\":\"b\"}xyz";
    size_t head = strlen(s) - 12;
    accept_head(s, head);
    assert_int_equal(req.method, HTTP1_M_POST);
    assert_int_equal(req.method_len, 4);
    assert_ptr_equal(req.method_str, s);
    assert_int_equal(req.target_len, strlen("/api/2.0/mlflow/runs/create?x=1"));
    assert_memory_equal(req.target, "/api/2.0/mlflow/runs/create?x=1", req.target_len);
    assert_int_equal(req.version_minor, 1);
    assert_int_equal(req.nheaders, 4);
    assert_true(http1_name_is(&req.headers[1], "content-type"));
    assert_int_equal(req.headers[1].value_len, strlen("application/json"));
    assert_int_equal(req.headers[2].value_len, 0);
    assert_int_equal(req.body, HTTP1_BODY_LENGTH);
    assert_int_equal(req.content_length, 12);
    assert_true(req.keep_alive);
    assert_false(req.expect_continue);
    assert_int_equal(req.host_len, strlen("mlflow.example:5000"));
    assert_memory_equal(req.host, "mlflow.example:5000", req.host_len);
    for (size_t i = 0; i < req.nheaders; i++) {
        assert_true(req.headers[i].name >= s && req.headers[i].name < s + head);
        assert_true(req.headers[i].value + req.headers[i].value_len <= s + head);
    }
}

static void test_methods_known(void **state)
{
    static const struct {
        const char *m;
        enum http1_method e;
    } tab[] = {{"GET", HTTP1_M_GET},        {"HEAD", HTTP1_M_HEAD},   {"POST", HTTP1_M_POST},
               {"PUT", HTTP1_M_PUT},        {"PATCH", HTTP1_M_PATCH}, {"DELETE", HTTP1_M_DELETE},
               {"OPTIONS", HTTP1_M_OPTIONS}};
    char buf[128];
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        snprintf(buf, sizeof(buf), "%s /x" H11 "\r\n", tab[i].m);
        accept(buf);
        assert_int_equal(req.method, tab[i].e);
        assert_string_equal(http1_method_name(req.method), tab[i].m);
    }
    assert_string_equal(http1_method_name(HTTP1_M_UNKNOWN), "UNKNOWN");
}

static void test_methods_not_implemented(void **state)
{
    refuse("TRACE /" H11 "\r\n", 501);
    refuse("CONNECT /" H11 "\r\n", 501);
    refuse("FOO /" H11 "\r\n", 501);
    refuse("get /" H11 "\r\n", 501); /* methods are case-sensitive */
    refuse("GETS /" H11 "\r\n", 501);
    /* Refused as soon as the method is complete, before the rest arrives. */
    refuse("TRACE ", 501);
}

static void test_method_not_token(void **state)
{
    refuse("GE(T /" H11 "\r\n", 400);
    refuse("G\x01T /" H11 "\r\n", 400);
    refuse("GET\t/" H11 "\r\n", 400);
    refuse(" GET /" H11 "\r\n", 400);
    refuse("\r\nGET /" H11 "\r\n", 400); /* leading empty line is refused, not skipped */
    refuse("GET\r\n\r\n", 400);
}

static void test_o4_trace_connect_pri(void **state)
{
    refuse("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
    refuse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 501);
    refuse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 501);
}

static void test_s9_request_line_spaces(void **state)
{
    refuse("GET  /" H11 "\r\n", 400);
    refuse("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    refuse("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void test_s9_http09_and_bare_lf(void **state)
{
    refuse("GET /\r\n\r\n", 400);
    refuse("GET /\r\n", 400);
    refuse("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\nY: 2\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400);
}

static void test_versions(void **state)
{
    accept("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(req.version_minor, 0);
    assert_false(req.keep_alive);
    assert_null(req.host);
    refuse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    refuse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
    refuse("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
    refuse("GET / HTTP/3.1\r\nHost: a\r\n\r\n", 505);
    refuse("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    refuse("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/a.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET / XTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void test_target_forms(void **state)
{
    accept("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(req.target_len, 1);
    assert_int_equal(req.method, HTTP1_M_OPTIONS);
    refuse("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("OPTIONS */ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET ?x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    accept("GET /a%20b?c=d&e=~!$'()*+,;:@[]{}|^`\\\"<># HTTP/1.1\r\nHost: a\r\n\r\n");
}

static void test_target_bytes(void **state)
{
    refuse("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET /\t HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refuse("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REFUSE_LIT("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void test_414_incomplete(void **state)
{
    char buf[2048];
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', sizeof(buf) - 5);
    /* No CRLF yet: refused as soon as more than max_request_line bytes are seen. */
    refuse_n(buf, LIM.max_request_line + 1, 414);
    struct http1_error e;
    assert_int_equal(preq(buf, LIM.max_request_line, &LIM, &e), 0);
    assert_int_equal(preq(buf, sizeof(buf), &LIM, &e), -1);
    assert_int_equal(e.status, 414);

    /* A request line of exactly max_request_line bytes is accepted; one more is not. */
    size_t tl = LIM.max_request_line - strlen("GET  HTTP/1.1");
    char *s = malloc(tl + 64);
    assert_non_null(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'b', tl - 1);
    strcpy(s + 4 + tl, " HTTP/1.1\r\nHost: a\r\n\r\n");
    accept(s);
    memmove(s + 6, s + 5, strlen(s + 5) + 1);
    s[5] = 'c';
    refuse(s, 414);
    free(s);
}

static void test_431_bytes_incomplete(void **state)
{
    char buf[8192];
    int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(buf + n, 'v', sizeof(buf) - (size_t)n);
    refuse_n(buf, LIM.max_header_bytes + 1, 431);
    struct http1_error e;
    assert_int_equal(preq(buf, LIM.max_header_bytes, &LIM, &e), 0);
    assert_int_equal(preq(buf, sizeof(buf), &LIM, &e), -1);
    assert_int_equal(e.status, 431);

    /* A head of exactly max_header_bytes (final CRLF included) is accepted. */
    size_t fill = LIM.max_header_bytes - (size_t)n - 4;
    memset(buf + n, 'v', fill);
    memcpy(buf + n + fill, "\r\n\r\n", 4);
    buf[n + fill + 4] = '\0';
    accept(buf);
    assert_int_equal(strlen(buf), LIM.max_header_bytes);
    memmove(buf + n + 1, buf + n, strlen(buf + n) + 1);
    refuse(buf, 431);

    /* Many empty-valued headers: also bounded by bytes, long before the end arrives. */
    struct http1_limits big = {
        .max_request_line = 100, .max_header_bytes = 200, .max_headers = 256};
    char many[1024];
    size_t m = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    while (m + 5 < sizeof(many)) {
        memcpy(many + m, "a:\r\n", 4);
        m += 4;
    }
    assert_int_equal(preq(many, m, &big, &e), -1);
    assert_int_equal(e.status, 431);
}

static void test_431_count_incomplete(void **state)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (size_t i = 1; i < LIM.max_headers; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%zu: v\r\n", i);
    strcpy(buf + n, "\r\n");
    accept(buf);
    assert_int_equal(req.nheaders, LIM.max_headers);
    /* The first byte of header max_headers + 1 is enough to refuse. */
    strcpy(buf + n, "Y");
    refuse(buf, 431);
    strcpy(buf + n, "Y: 1\r\n\r\n");
    refuse(buf, 431);

    /* max_headers above the hard cap is clamped to HTTP1_MAX_HEADERS_CAP. */
    struct http1_limits huge = {
        .max_request_line = 100, .max_header_bytes = 1 << 20, .max_headers = 100000};
    size_t cap = (HTTP1_MAX_HEADERS_CAP + 2) * 6 + 64;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t m = (size_t)snprintf(s, cap, "GET / HTTP/1.0\r\n");
    for (size_t i = 0; i <= HTTP1_MAX_HEADERS_CAP; i++) {
        memcpy(s + m, "a: b\r\n", 6);
        m += 6;
    }
    struct http1_error e;
    assert_int_equal(preq(s, m, &huge, &e), -1);
    assert_int_equal(e.status, 431);
    free(s);
}

/* ---- header syntax ----------------------------------------------------------------------- */

static void test_s10_header_names(void **state)
{
    refuse("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX Auth: x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX\x01: x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX\x7f: x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX(y): x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400);
    REFUSE_LIT("GET / HTTP/1.1\r\nHost: a\r\nX\0: x\r\n\r\n", 400);
    /* '_' is a tchar: the parser passes it; the identity module must strip X_Auth_User. */
    accept("GET / HTTP/1.1\r\nHost: a\r\nX_Auth_User: x\r\n\r\n");
}

static void test_whitespace_before_colon(void **state)
{
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-A : x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", 400);
}

static void test_s10_header_values(void **state)
{
    REFUSE_LIT("GET / HTTP/1.1\r\nHost: a\r\nX-User: alice\0admin\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-User: alice\radmin\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-User: alice\nadmin\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-User: a\x7f\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-User: a\x1b[0m\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-User: a\x0b\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-User: a\r\r\n\r\n", 400);
}

static void test_header_values_allowed(void **state)
{
    accept("GET / HTTP/1.1\r\nHost: a\r\nX-V: \t a\tb \xe9\x80\xff~ \t\r\n\r\n");
    assert_int_equal(req.nheaders, 2);
    assert_int_equal(req.headers[1].value_len, strlen("a\tb \xe9\x80\xff~"));
    assert_memory_equal(req.headers[1].value, "a\tb \xe9\x80\xff~", req.headers[1].value_len);
    accept("GET / HTTP/1.1\r\nHost: a\r\nX-V:    \r\n\r\n");
    assert_int_equal(req.headers[1].value_len, 0);
}

static void test_s3_obs_fold(void **state)
{
    refuse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
}

/* ---- framing ------------------------------------------------------------------------------ */

static void test_content_length_valid(void **state)
{
    accept_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
                strlen("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"));
    assert_int_equal(req.body, HTTP1_BODY_LENGTH);
    assert_int_equal(req.content_length, 5);
    accept("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:0\r\n\r\n");
    assert_int_equal(req.body, HTTP1_BODY_LENGTH);
    assert_int_equal(req.content_length, 0);
    accept("POST / HTTP/1.1\r\nHost: a\r\ncontent-LENGTH: 9007199254740992\r\n\r\n");
    assert_int_equal(req.content_length, UINT64_C(9007199254740992));
    accept("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(req.body, HTTP1_BODY_NONE);
}

static void test_s5_content_length_forms(void **state)
{
    static const char *bad[] = {"+5",
                                " 5",
                                "\t5",
                                "05",
                                "00",
                                "0x5",
                                "-1",
                                "5 ",
                                "5\t",
                                "99999999999999999999",
                                "9007199254740993",
                                "5, 5",
                                "5,5",
                                "",
                                "5a",
                                "1e3",
                                "\xd9\xa5"};
    char buf[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                 bad[i]);
        refuse(buf, 400);
    }
}

static void test_s4_duplicate_content_length(void **state)
{
    refuse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
           400);
    refuse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello",
           400);
    refuse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400);
}

static void test_transfer_encoding_chunked(void **state)
{
    accept_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                strlen("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
    assert_int_equal(req.body, HTTP1_BODY_CHUNKED);
    accept("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:CHUNKED\r\n\r\n");
    assert_int_equal(req.body, HTTP1_BODY_CHUNKED);
}

static void test_s2_te_obfuscation(void **state)
{
    static const char *bad[] = {
        "Transfer-Encoding: xchunked",
        "Transfer-Encoding: chunked, identity",
        "Transfer-Encoding: identity, chunked",
        "Transfer-Encoding: identity",
        "Transfer-Encoding: \"chunked\"",
        "Transfer-Encoding: chunked\x0b",
        "Transfer-Encoding:\tchunked",
        "Transfer-Encoding : chunked",
        "Transfer-Encoding:  chunked",
        "Transfer-Encoding: chunked ",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: chunked;q=1",
        "Transfer-Encoding: chunk",
        "Transfer-Encoding:",
        "Transfer-Encoding: chunked\r\nTransfer-encoding: identity",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "Transfer_Encoding: chunked\r\nContent-Length: 5\r\nTransfer-Encoding: x",
    };
    char buf[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\n%s\r\n\r\n0\r\n\r\n", bad[i]);
        refuse(buf, 400);
    }
}

static void test_s1_cl_te(void **state)
{
    const char *smuggled = "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    char buf[512];
    snprintf(buf, sizeof(buf),
             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n"
             "\r\n0\r\n\r\n%s",
             smuggled);
    refuse(buf, 400);
    snprintf(buf, sizeof(buf),
             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n"
             "\r\n5c\r\n%s\r\n0\r\n\r\n",
             smuggled);
    refuse(buf, 400);
}

static void test_s8_te_http10_and_body_on_get(void **state)
{
    refuse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    /* A body on GET/HEAD is framed accurately; refusing it is the connection layer's call. */
    accept("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
    assert_int_equal(req.body, HTTP1_BODY_LENGTH);
    assert_int_equal(req.content_length, 3);
    accept("HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(req.body, HTTP1_BODY_CHUNKED);
}

static void test_host_rules(void **state)
{
    refuse("GET / HTTP/1.1\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    refuse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    static const char *bad[] = {"",         "a b",  "a/b",    "user@a", "a\tb", "a:80x",
                                "a:123456", "[::1", "[]",     "a?b",    "a#b",  "a\\b",
                                "\xc3\xa9", "a, b", "[::1]x", ":80"};
    char buf[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        refuse(buf, 400);
    }
    static const char *good[] = {"example.com", "example.com:443", "10.0.0.1:5000",
                                 "[::1]:8080",  "[::1]",           "xn--bcher-kva.example",
                                 "a:"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s \r\n\r\n", good[i]);
        accept(buf);
        assert_int_equal(req.host_len, strlen(good[i]));
        assert_memory_equal(req.host, good[i], req.host_len);
    }
}

static void test_expect(void **state)
{
    accept("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
    assert_true(req.expect_continue);
    accept("POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\nContent-Length: 9\r\n\r\n");
    assert_true(req.expect_continue);
    /* RFC 9110 §10.1.1: ignored on HTTP/1.0. */
    accept("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
    assert_false(req.expect_continue);
}

static void test_x4_expect_other(void **state)
{
    refuse("POST / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n", 417);
    refuse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n", 417);
    refuse("POST / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", 417);
}

static void test_keep_alive(void **state)
{
    accept("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_true(req.keep_alive);
    accept("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_false(req.keep_alive);
    accept("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n");
    assert_false(req.keep_alive);
    accept("GET / HTTP/1.0\r\n\r\n");
    assert_false(req.keep_alive);
    accept("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert_true(req.keep_alive);
    accept("GET / HTTP/1.0\r\nConnection: ,, keep-alive ,\r\n\r\n");
    assert_true(req.keep_alive);
    accept("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Auth-User\r\n\r\n");
    assert_false(req.keep_alive);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close x\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n", 400);
}

static void test_h4_connection_framing_headers(void **state)
{
    refuse("POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n",
           400);
    refuse("POST / HTTP/1.1\r\nHost: a\r\nConnection: close, Transfer-Encoding\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n", 400);
}

static void test_h5_upgrade(void **state)
{
    refuse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
           400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nupgrade: websocket\r\n\r\n", 400);
    refuse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade:\r\n\r\n", 400);
}

static void test_byte_at_a_time_and_pipelining(void **state)
{
    const char *s = "GET /api/2.0/mlflow/experiments/get?experiment_id=1 HTTP/1.1\r\n"
                    "Host: localhost:5000\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n"
                    "GET /next HTTP/1.1\r\n";
    size_t head = strlen(s) - strlen("GET /next HTTP/1.1\r\n");
    accept_head(s, head);
    assert_int_equal(req.nheaders, 3);
    assert_int_equal(req.method, HTTP1_M_GET);
    const struct http1_header *h = http1_find(req.headers, req.nheaders, "user-agent");
    assert_non_null(h);
    assert_int_equal(h->value_len, 1);
    assert_null(http1_find(req.headers, req.nheaders, "user-agen"));
    assert_null(http1_find(req.headers, req.nheaders, "user-agent2"));
}

static void test_null_limits_use_defaults(void **state)
{
    struct http1_error e;
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(http1_parse_request(s, strlen(s), NULL, &req, &e), (int)strlen(s));
}

/* ---- responses ------------------------------------------------------------------------------ */

static int presp(const char *s, enum http1_method m, struct http1_error *e)
{
    memset(e, 0, sizeof(*e));
    return http1_parse_response(s, strlen(s), &LIM, m, &resp, e);
}

static void resp_ok(const char *s, enum http1_method m, enum http1_body body, bool ka)
{
    struct http1_error e;
    size_t n = strlen(s);
    for (size_t k = 0; k < n; k++) {
        int rc = http1_parse_response(s, k, &LIM, m, &resp, &e);
        if (rc != 0)
            fail_msg("prefix %zu of [%s]: rc=%d", k, s, rc);
    }
    int rc = presp(s, m, &e);
    if (rc < 0)
        fail_msg("refused %d %s: [%s]", e.status, e.reason, s);
    assert_int_equal(rc, (int)n);
    assert_int_equal(resp.body, body);
    assert_int_equal(resp.keep_alive, ka);
}

static void resp_bad(const char *s)
{
    struct http1_error e;
    int rc = presp(s, HTTP1_M_GET, &e);
    if (rc != -1)
        fail_msg("accepted rc=%d: [%s]", rc, s);
    assert_int_equal(e.status, 502);
    assert_non_null(e.reason);
    assert_true(strlen(e.reason) > 0);
    size_t n = strlen(s);
    for (size_t k = 0; k <= n; k++) {
        rc = http1_parse_response(s, k, &LIM, HTTP1_M_GET, &resp, &e);
        if (rc == -1) {
            assert_int_equal(e.status, 502);
            return;
        }
        assert_int_equal(rc, 0);
    }
}

static void test_response_framing(void **state)
{
    resp_ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_LENGTH, true);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.content_length, 5);
    assert_int_equal(resp.nheaders, 1);
    resp_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_M_POST,
            HTTP1_BODY_CHUNKED, true);
    resp_ok("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_CLOSE,
            false);
    resp_ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", HTTP1_M_HEAD, HTTP1_BODY_NONE, true);
    resp_ok("HTTP/1.1 200 OK\r\n\r\n", HTTP1_M_HEAD, HTTP1_BODY_NONE, true);
    resp_ok("HTTP/1.1 204 No Content\r\n\r\n", HTTP1_M_DELETE, HTTP1_BODY_NONE, true);
    resp_ok("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_NONE,
            true);
    resp_ok("HTTP/1.1 100 Continue\r\n\r\n", HTTP1_M_POST, HTTP1_BODY_NONE, true);
    resp_ok("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_NONE, true);
    resp_ok("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", HTTP1_M_GET,
            HTTP1_BODY_LENGTH, false);
    resp_ok("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_LENGTH, false);
    resp_ok("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n", HTTP1_M_GET,
            HTTP1_BODY_LENGTH, true);
    resp_ok("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_CLOSE,
            false);
    /* Identical duplicate CL is accepted from an upstream; Upgrade advertisements too. */
    resp_ok("HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\nUpgrade: h2\r\n\r\n",
            HTTP1_M_GET, HTTP1_BODY_LENGTH, true);
    assert_int_equal(resp.content_length, 3);
}

static void test_response_status_line(void **state)
{
    resp_ok("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_LENGTH, true);
    resp_ok("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", HTTP1_M_GET, HTTP1_BODY_LENGTH, true);
    resp_ok("HTTP/1.1 599 Odd \t reason \xe9\r\nContent-Length: 0\r\n\r\n", HTTP1_M_GET,
            HTTP1_BODY_LENGTH, true);
    assert_int_equal(resp.status, 599);
    resp_bad("HTTP/1.1 2000 OK\r\n\r\n");
    resp_bad("HTTP/1.1 20 OK\r\n\r\n");
    resp_bad("HTTP/1.1 099 X\r\n\r\n");
    resp_bad("HTTP/1.1 600 X\r\n\r\n");
    resp_bad("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
    resp_bad("HTTP/1.1  200 OK\r\n\r\n");
    resp_bad("HTTP/1.1 2x0 OK\r\n\r\n");
    resp_bad("HTTP/2.0 200 OK\r\n\r\n");
    resp_bad("HTTP/1.2 200 OK\r\n\r\n");
    resp_bad("http/1.1 200 OK\r\n\r\n");
    resp_bad("HTTP/1.1 200 O\x01K\r\n\r\n");
    resp_bad("HTTP/1.1\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\n\r\n");
    resp_bad("ICY 200 OK\r\n\r\n");
}

static void test_response_header_rules(void **state)
{
    resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    resp_bad("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nX : a\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n");
    resp_bad("HTTP/1.1 200 OK\r\nConnection: content-length\r\n\r\n");
    /* Limits on responses are 502 as well, and detected on incomplete input. */
    char big[8192];
    int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: ");
    memset(big + n, 'a', sizeof(big) - (size_t)n - 1);
    big[sizeof(big) - 1] = '\0';
    resp_bad(big);
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "HTTP/1.1 200 ", 13);
    resp_bad(big);
    /* Response CL is RFC-lenient on whitespace and leading zeros (unambiguous). */
    resp_ok("HTTP/1.1 200 OK\r\nContent-Length:\t007 \r\n\r\n", HTTP1_M_GET, HTTP1_BODY_LENGTH,
            true);
    assert_int_equal(resp.content_length, 7);
}

/* ---- chunked ------------------------------------------------------------------------------- */

struct ck_result {
    int rc;          /* 2 done, 0 need more, -1 error */
    int status;      /* when rc == -1 */
    size_t end;      /* offset after the message when rc == 2 */
    char data[4096]; /* concatenated chunk data */
    size_t ndata;
};

/* Decode in[0..n) delivering `step` bytes per read (0: all at once). */
static void ck_run(const char *in, size_t n, size_t step, bool response, struct ck_result *r)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    c.response = response;
    memset(r, 0, sizeof(*r));
    size_t off = 0;
    size_t avail = step ? 0 : n;
    for (;;) {
        if (step && avail < n && off == avail)
            avail = avail + step < n ? avail + step : n;
        size_t used = 0, dl = 0;
        struct http1_error e = {0};
        int rc = http1_chunked_feed(&c, in + off, avail - off, &used, &dl, &e);
        assert_true(used <= avail - off);
        assert_true(dl <= used);
        if (dl) {
            assert_true(r->ndata + dl <= sizeof(r->data));
            memcpy(r->data + r->ndata, in + off, dl);
            r->ndata += dl;
        }
        off += used;
        if (rc < 0) {
            assert_non_null(e.reason);
            assert_true(strlen(e.reason) > 0);
            r->rc = -1;
            r->status = e.status;
            return;
        }
        if (rc == 2) {
            r->rc = 2;
            r->end = off;
            return;
        }
        assert_true(rc == 0 || rc == 1);
        if (rc == 0) {
            assert_int_equal(off, avail);
            if (avail == n) {
                r->rc = 0;
                return;
            }
        }
    }
}

/* Check that decoding gives the same outcome whole and one byte at a time. */
static void ck_expect(const char *in, size_t n, int rc, const char *data, size_t end)
{
    struct ck_result a, b;
    ck_run(in, n, 0, false, &a);
    ck_run(in, n, 1, false, &b);
    if (a.rc != rc)
        fail_msg("chunked rc=%d, expected %d for [%.*s]", a.rc, rc, (int)n, in);
    assert_int_equal(b.rc, rc);
    assert_int_equal(a.ndata, b.ndata);
    assert_memory_equal(a.data, b.data, a.ndata);
    if (rc == -1) {
        assert_int_equal(a.status, 400);
        assert_int_equal(b.status, 400);
    }
    if (rc == 2) {
        assert_int_equal(a.end, end);
        assert_int_equal(b.end, end);
        assert_int_equal(a.ndata, strlen(data));
        assert_memory_equal(a.data, data, a.ndata);
    }
}

#define CK_OK(s, data) ck_expect(s, sizeof(s) - 1, 2, data, sizeof(s) - 1)
#define CK_BAD(s)      ck_expect(s, sizeof(s) - 1, -1, NULL, 0)

static void test_chunked_valid(void **state)
{
    CK_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    CK_OK("0\r\n\r\n", "");
    CK_OK("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij");
    CK_OK("0000000000000005\r\nhello\r\n000\r\n\r\n", "hello");
    /* The next message starts right after the final CRLF. */
    const char *s = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    ck_expect(s, strlen(s), 2, "abc", strlen("3\r\nabc\r\n0\r\n\r\n"));
}

static void test_chunked_extensions(void **state)
{
    CK_OK("5;a=b\r\nhello\r\n0;last\r\n\r\n", "hello");
    CK_OK("5;a;b=c;d=\"q \\\" \\\\ \xe9\"\r\nhello\r\n0\r\n\r\n", "hello");
    CK_OK("5;name=\"\"\r\nhello\r\n0\r\n\r\n", "hello");
    CK_BAD("5;\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;=b\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a=\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5 ;a=b\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5; a=b\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a = b\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a=\"b\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a=b c\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n");
    CK_BAD("5;a\x00=b\r\nhello\r\n0\r\n\r\n");
    /* Per-line bound of 4096 bytes (Go CVE-2023-39326 style amplification). */
    char buf[5000];
    size_t n = 0;
    buf[n++] = '1';
    while (n < 4200) {
        memcpy(buf + n, ";a", 2);
        n += 2;
    }
    memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
    n += 10;
    ck_expect(buf, n, -1, NULL, 0);
    n = 1;
    while (n < 4000) {
        memcpy(buf + n, ";a", 2);
        n += 2;
    }
    memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
    n += 10;
    ck_expect(buf, n, 2, "x", n);
}

static void test_s6_chunk_sizes(void **state)
{
    CK_BAD("0x5\r\nhello\r\n0\r\n\r\n");
    CK_BAD("+5\r\nhello\r\n0\r\n\r\n");
    CK_BAD(" 5\r\nhello\r\n0\r\n\r\n");
    CK_BAD("-0\r\n\r\n");
    CK_BAD("\t5\r\nhello\r\n0\r\n\r\n");
    CK_BAD("00000000000000005\r\nhello\r\n0\r\n\r\n");
    CK_BAD("10000000000000000\r\n");
    CK_BAD("5 \r\nhello\r\n0\r\n\r\n");
    CK_BAD("g\r\n");
    CK_BAD("\r\n");
    CK_BAD("5\r\nhello\r\n\r\n");
    /* 16 digits is accepted: a huge chunk just needs more data. */
    ck_expect("FFFFFFFFFFFFFFFF\r\nabc", 21, 0, NULL, 0);
}

static void test_s7_chunk_crlf(void **state)
{
    CK_BAD("5\nhello\r\n0\r\n\r\n");
    CK_BAD("5\rhello\r\n0\r\n\r\n");
    CK_BAD("5\r\nhello\n0\r\n\r\n");
    CK_BAD("5\r\nhelloX\r\n0\r\n\r\n");
    CK_BAD("5\r\nhello0\r\n\r\n");
    CK_BAD("5\r\nhello\r\n0\n\r\n");
    CK_BAD("5\r\nhello\r\n0\r\n\n");
    CK_BAD("5\r\nhello\r\n0\r\n\rX");
    CK_BAD("5;a=b\nhello\r\n0\r\n\r\n");
}

static void test_s7_trailers(void **state)
{
    /* Trailers are validated and dropped, never forwarded. */
    CK_OK("3\r\nabc\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n",
          "abc");
    CK_OK("0\r\nX-Empty:\r\n\r\n", "");
    CK_BAD("0\r\nX: y\r\n z\r\n\r\n");
    CK_BAD("0\r\n z\r\n\r\n");
    CK_BAD("0\r\nX : y\r\n\r\n");
    CK_BAD("0\r\n: y\r\n\r\n");
    CK_BAD("0\r\nX: y\n\r\n");
    CK_BAD("0\r\nX: a\x00b\r\n\r\n");
    CK_BAD("0\r\nX: a\rb\r\n\r\n");
    CK_BAD("0\r\nNoColon\r\n\r\n");
    /* The trailer section is bounded at 8192 bytes. */
    char buf[10000];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
    while (n < 8400) {
        memcpy(buf + n, "X: 0123456789abcdef\r\n", 21);
        n += 21;
    }
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    ck_expect(buf, n, -1, NULL, 0);
}

static void test_chunked_split_data_and_state(void **state)
{
    const char in[] = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    for (size_t step = 1; step < sizeof(in); step++) {
        struct ck_result r;
        ck_run(in, sizeof(in) - 1, step, false, &r);
        assert_int_equal(r.rc, 2);
        assert_int_equal(r.end, sizeof(in) - 1);
        assert_int_equal(r.ndata, 23);
        assert_memory_equal(r.data, "Wikipedia in\r\n\r\nchunks.", 23);
    }
    /* A call returns data or consumes framing, never both. */
    struct http1_chunked c;
    http1_chunked_init(&c);
    size_t used, dl;
    struct http1_error e;
    assert_int_equal(http1_chunked_feed(&c, in, sizeof(in) - 1, &used, &dl, &e), 1);
    assert_int_equal(used, 3);
    assert_int_equal(dl, 0);
    assert_int_equal(http1_chunked_feed(&c, in + 3, sizeof(in) - 4, &used, &dl, &e), 1);
    assert_int_equal(used, 4);
    assert_int_equal(dl, 4);
    assert_int_equal(http1_chunked_feed(&c, in + 7, 0, &used, &dl, &e), 0);
    assert_int_equal(used, 0);
    /* Errors are sticky, and carry 502 when decoding a response. */
    http1_chunked_init(&c);
    c.response = true;
    assert_int_equal(http1_chunked_feed(&c, "x", 1, &used, &dl, &e), -1);
    assert_int_equal(e.status, 502);
    assert_int_equal(http1_chunked_feed(&c, "0\r\n\r\n", 5, &used, &dl, &e), -1);
    assert_int_equal(used, 0);
    /* Done is sticky too. */
    http1_chunked_init(&c);
    assert_int_equal(http1_chunked_feed(&c, "0\r\n\r\nX", 6, &used, &dl, &e), 2);
    assert_int_equal(used, 5);
    assert_int_equal(http1_chunked_feed(&c, "X", 1, &used, &dl, &e), 2);
    assert_int_equal(used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_request_fields),
        cmocka_unit_test(test_methods_known),
        cmocka_unit_test(test_methods_not_implemented),
        cmocka_unit_test(test_method_not_token),
        cmocka_unit_test(test_o4_trace_connect_pri),
        cmocka_unit_test(test_s9_request_line_spaces),
        cmocka_unit_test(test_s9_http09_and_bare_lf),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_target_forms),
        cmocka_unit_test(test_target_bytes),
        cmocka_unit_test(test_414_incomplete),
        cmocka_unit_test(test_431_bytes_incomplete),
        cmocka_unit_test(test_431_count_incomplete),
        cmocka_unit_test(test_s10_header_names),
        cmocka_unit_test(test_whitespace_before_colon),
        cmocka_unit_test(test_s10_header_values),
        cmocka_unit_test(test_header_values_allowed),
        cmocka_unit_test(test_s3_obs_fold),
        cmocka_unit_test(test_content_length_valid),
        cmocka_unit_test(test_s5_content_length_forms),
        cmocka_unit_test(test_s4_duplicate_content_length),
        cmocka_unit_test(test_transfer_encoding_chunked),
        cmocka_unit_test(test_s2_te_obfuscation),
        cmocka_unit_test(test_s1_cl_te),
        cmocka_unit_test(test_s8_te_http10_and_body_on_get),
        cmocka_unit_test(test_host_rules),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_x4_expect_other),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_h4_connection_framing_headers),
        cmocka_unit_test(test_h5_upgrade),
        cmocka_unit_test(test_byte_at_a_time_and_pipelining),
        cmocka_unit_test(test_null_limits_use_defaults),
        cmocka_unit_test(test_response_framing),
        cmocka_unit_test(test_response_status_line),
        cmocka_unit_test(test_response_header_rules),
        cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_extensions),
        cmocka_unit_test(test_s6_chunk_sizes),
        cmocka_unit_test(test_s7_chunk_crlf),
        cmocka_unit_test(test_s7_trailers),
        cmocka_unit_test(test_chunked_split_data_and_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
