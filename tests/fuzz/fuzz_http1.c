/*
 * libFuzzer target for net/http1: request heads, response heads and the chunked decoder.
 *
 * Input layout: byte 0 picks the limits and the request method for the response parser,
 * byte 1 (with byte 0) a split point; the rest is the message. Every parse runs on an exact-size
 * heap copy so ASan catches any read past the end. Invariants checked:
 * - results never exceed the input; all views (method, target, names, values, host) lie
 *   inside the consumed head; refusals carry an allowed status and a non-empty reason;
 * - incrementality: a prefix of the input is answered with 0 (need more) or the same verdict
 *   as the whole input (same consumed count, or a refusal with the same status), and a
 *   refusal/acceptance never turns into "need more" when more bytes arrive;
 * - chunked: decoding whole and split at the data-derived point gives the same result, the
 *   same end offset and the same data bytes; data ranges lie inside what was fed.
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http1.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static const struct http1_limits limits[4] = {
    {.max_request_line = 8192, .max_header_bytes = 16384, .max_headers = 100},
    {.max_request_line = 64, .max_header_bytes = 128, .max_headers = 4},
    {.max_request_line = 256, .max_header_bytes = 200, .max_headers = HTTP1_MAX_HEADERS_CAP},
    {.max_request_line = 32, .max_header_bytes = 1 << 20, .max_headers = 1000},
};

static struct http1_request req;
static struct http1_response resp;

static char *dup_exact(const uint8_t *p, size_t n)
{
    char *b = malloc(n ? n : 1);
    CHECK(b != NULL);
    if (n)
        memcpy(b, p, n);
    return b;
}

static bool in_range(const char *base, size_t n, const char *p, size_t len)
{
    return p >= base && len <= n && (size_t)(p - base) <= n - len;
}

static void check_err(int rc, const struct http1_error *e, size_t len, bool response)
{
    if (rc != -1)
        return;
    CHECK(e->reason != NULL && e->reason[0] != '\0');
    CHECK(e->offset <= len);
    if (response) {
        CHECK(e->status == 502);
    } else {
        CHECK(e->status == 400 || e->status == 414 || e->status == 431 || e->status == 501 ||
              e->status == 505 || e->status == 417);
    }
}

static void check_headers(const char *b, size_t n, const struct http1_header *hs, size_t nh,
                          const struct http1_limits *lim)
{
    CHECK(nh <= HTTP1_MAX_HEADERS_CAP && nh <= lim->max_headers);
    for (size_t i = 0; i < nh; i++) {
        CHECK(hs[i].name_len > 0 && in_range(b, n, hs[i].name, hs[i].name_len));
        CHECK(in_range(b, n, hs[i].value, hs[i].value_len));
    }
}

static int run_request(const uint8_t *data, size_t len, const struct http1_limits *lim,
                       struct http1_error *e)
{
    char *b = dup_exact(data, len);
    memset(e, 0, sizeof(*e));
    int rc = http1_parse_request(b, len, lim, &req, e);
    CHECK(rc >= -1 && (rc <= 0 || (size_t)rc <= len));
    check_err(rc, e, len, false);
    if (rc > 0) {
        size_t n = (size_t)rc;
        CHECK(n <= lim->max_header_bytes);
        CHECK(req.method != HTTP1_M_UNKNOWN);
        CHECK(in_range(b, n, req.method_str, req.method_len));
        CHECK(req.target_len > 0 && in_range(b, n, req.target, req.target_len));
        CHECK(req.target[0] == '/' || (req.target_len == 1 && req.target[0] == '*'));
        CHECK(req.version_minor == 0 || req.version_minor == 1);
        check_headers(b, n, req.headers, req.nheaders, lim);
        CHECK(req.version_minor == 0 || req.host != NULL);
        if (req.host)
            CHECK(in_range(b, n, req.host, req.host_len));
        CHECK(req.body == HTTP1_BODY_NONE || req.body == HTTP1_BODY_LENGTH ||
              req.body == HTTP1_BODY_CHUNKED);
        CHECK(req.body != HTTP1_BODY_LENGTH || req.content_length <= (UINT64_C(1) << 53));
        CHECK(b[n - 1] == '\n' && b[n - 2] == '\r');
    }
    free(b);
    return rc;
}

static int run_response(const uint8_t *data, size_t len, const struct http1_limits *lim,
                        enum http1_method m, struct http1_error *e)
{
    char *b = dup_exact(data, len);
    memset(e, 0, sizeof(*e));
    int rc = http1_parse_response(b, len, lim, m, &resp, e);
    CHECK(rc >= -1 && (rc <= 0 || (size_t)rc <= len));
    check_err(rc, e, len, true);
    if (rc > 0) {
        CHECK(resp.status >= 100 && resp.status <= 599);
        check_headers(b, (size_t)rc, resp.headers, resp.nheaders, lim);
        if (resp.body == HTTP1_BODY_CLOSE)
            CHECK(!resp.keep_alive);
        if (m == HTTP1_M_HEAD || resp.status < 200 || resp.status == 204 || resp.status == 304)
            CHECK(resp.body == HTTP1_BODY_NONE);
    }
    free(b);
    return rc;
}

/* Verdict of a prefix must be "need more" or agree with the verdict of the whole. */
static void check_prefix(int whole, const struct http1_error *we, int part,
                         const struct http1_error *pe, size_t k)
{
    if (whole > 0) {
        if (k < (size_t)whole)
            CHECK(part == 0);
        else
            CHECK(part == whole);
    } else if (whole == 0) {
        CHECK(part == 0);
    } else {
        CHECK(part == 0 || part == -1);
        if (part == -1)
            CHECK(pe->status == we->status);
    }
}

struct ck_out {
    int rc;
    size_t end;
    uint8_t *data;
    size_t ndata;
};

/* Feed b[0..n) in two deliveries: [0, split) then the rest. */
static void run_chunked(const char *b, size_t n, size_t split, bool response, struct ck_out *o)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    c.response = response;
    o->rc = 0;
    o->end = 0;
    o->ndata = 0;
    size_t off = 0, avail = split;
    for (int guard = 0;; guard++) {
        CHECK(guard < 1000000);
        size_t used = 0, dl = 0;
        struct http1_error e = {0};
        int rc = http1_chunked_feed(&c, b + off, avail - off, &used, &dl, &e);
        CHECK(rc >= -1 && rc <= 2);
        CHECK(used <= avail - off && dl <= used);
        if (dl) {
            memcpy(o->data + o->ndata, b + off, dl);
            o->ndata += dl;
        }
        off += used;
        if (rc == -1) {
            CHECK(e.status == (response ? 502 : 400));
            CHECK(e.reason != NULL && e.reason[0] != '\0');
            o->rc = -1;
            return;
        }
        if (rc == 2) {
            o->rc = 2;
            o->end = off;
            return;
        }
        if (rc == 0) {
            CHECK(off == avail);
            if (avail == n)
                return;
            avail = n;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t sel = data[0];
    size_t k = ((size_t)data[1] << 8 | sel) % (size - 1);
    const struct http1_limits *lim = &limits[sel & 3];
    enum http1_method m = (enum http1_method)((sel >> 2) % 8);
    data += 2;
    size -= 2;
    k = k > size ? size : k;

    struct http1_error we, pe;
    int whole = run_request(data, size, lim, &we);
    int part = run_request(data, k, lim, &pe);
    check_prefix(whole, &we, part, &pe, k);
    if (whole > 0)
        CHECK(run_request(data, (size_t)whole, lim, &pe) == whole);

    whole = run_response(data, size, lim, m, &we);
    part = run_response(data, k, lim, m, &pe);
    check_prefix(whole, &we, part, &pe, k);

    char *b = dup_exact(data, size);
    struct ck_out a = {.data = malloc(size + 1)}, s = {.data = malloc(size + 1)};
    CHECK(a.data && s.data);
    bool r = (sel & 0x80) != 0;
    run_chunked(b, size, size, r, &a);
    run_chunked(b, size, k, r, &s);
    CHECK(a.rc == s.rc);
    CHECK(a.ndata == s.ndata && memcmp(a.data, s.data, a.ndata) == 0);
    if (a.rc == 2)
        CHECK(a.end == s.end && a.end <= size);
    free(a.data);
    free(s.data);
    free(b);
    return 0;
}
