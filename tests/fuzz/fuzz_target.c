/*
 * libFuzzer target for mlflow/target (request-target canonicalisation) and mlflow/routes
 * (the route matcher).
 *
 * Input layout: byte 0 picks the HTTP method (modulo the enum), the rest is the
 * request-target. The target is parsed from an exact-size heap copy into an exact-size output
 * buffer, so ASan catches any access past either. Invariants checked:
 * - a refusal carries status 400 or 404 and a non-empty reason;
 * - an accepted target: every view lies in the output buffer (decoded) or the input (raw);
 *   the decoded path starts with '/', contains no '%', NUL, control byte or "//", no segment
 *   is empty, "." or ".."; segments are exactly the '/'-separated parts of the path; query
 *   keys and values hold no NUL;
 * - decoding is a fixed point: a decoded path made only of visible ASCII parses again to the
 *   same path and segments;
 * - a match names a route serving the method (HEAD as GET), with at most ROUTE_MAX_PARAMS
 *   parameters whose values lie inside the decoded path, and matching twice gives the same
 *   route and parameters (no hidden state).
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/routes.h"
#include "mlflow/target.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static struct target t, t2;

static bool inside(const char *p, size_t n, const char *base, size_t blen)
{
    return n == 0 || (p >= base && p + n <= base + blen);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    if (routes_init(err, sizeof(err)) < 0) {
        fprintf(stderr, "routes_init: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum http1_method m = (enum http1_method)(data[0] % (HTTP1_M_OPTIONS + 1));
    size_t len = size - 1;
    char *raw = malloc(len ? len : 1);
    char *buf = malloc(len ? len : 1);
    CHECK(raw && buf);
    memcpy(raw, data + 1, len);

    struct target_error err = {0};
    if (target_parse(raw, len, buf, len, &t, &err) < 0) {
        CHECK(err.status == 400 || err.status == 404);
        CHECK(err.reason && err.reason[0]);
        goto out;
    }
    CHECK(inside(t.raw_path.ptr, t.raw_path.len, raw, len));
    CHECK(!t.raw_query.ptr || inside(t.raw_query.ptr, t.raw_query.len, raw, len));
    CHECK(inside(t.path.ptr, t.path.len, buf, len));
    CHECK(t.path.len >= 1 && t.path.ptr[0] == '/');
    for (size_t i = 0; i < t.path.len; i++) {
        unsigned char c = (unsigned char)t.path.ptr[i];
        CHECK(c >= 0x20 && c != 0x7F && c != '%');
        if (i + 1 < t.path.len)
            CHECK(!(c == '/' && t.path.ptr[i + 1] == '/'));
    }
    /* segments tile the path */
    size_t pos = 1;
    for (size_t i = 0; i < t.nseg; i++) {
        struct target_str s = t.seg[i];
        CHECK(s.len > 0);
        CHECK(s.ptr == t.path.ptr + pos);
        CHECK(!(s.len == 1 && s.ptr[0] == '.'));
        CHECK(!(s.len == 2 && s.ptr[0] == '.' && s.ptr[1] == '.'));
        CHECK(memchr(s.ptr, '/', s.len) == NULL);
        pos += s.len + 1;
    }
    CHECK(pos - 1 + (t.trailing_slash ? 1 : 0) == t.path.len || (t.nseg == 0 && t.path.len == 1));
    for (size_t i = 0; i < t.nquery; i++) {
        CHECK(inside(t.query[i].key.ptr, t.query[i].key.len, buf, len));
        CHECK(inside(t.query[i].value.ptr, t.query[i].value.len, buf, len));
        CHECK(!memchr(t.query[i].key.ptr, 0, t.query[i].key.len));
        CHECK(!memchr(t.query[i].value.ptr, 0, t.query[i].value.len));
    }

    /* fixed point */
    bool ascii = true;
    for (size_t i = 0; i < t.path.len; i++) {
        unsigned char c = (unsigned char)t.path.ptr[i];
        if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#')
            ascii = false;
    }
    if (ascii) {
        char *p2 = malloc(t.path.len);
        char *b2 = malloc(t.path.len);
        CHECK(p2 && b2);
        memcpy(p2, t.path.ptr, t.path.len);
        CHECK(target_parse(p2, t.path.len, b2, t.path.len, &t2, NULL) == 0);
        CHECK(t2.path.len == t.path.len && memcmp(t2.path.ptr, t.path.ptr, t.path.len) == 0);
        CHECK(t2.nseg == t.nseg && t2.trailing_slash == t.trailing_slash);
        free(p2);
        free(b2);
    }

    struct route_match rm, rm2;
    if (routes_match(m, &t, &rm) == 0) {
        CHECK(rm.route);
        enum http1_method want = m == HTTP1_M_HEAD ? HTTP1_M_GET : m;
        CHECK(rm.route->method == want);
        CHECK(rm.nparams <= ROUTE_MAX_PARAMS);
        for (size_t i = 0; i < rm.nparams; i++) {
            CHECK(rm.params[i].name && rm.params[i].name[0]);
            CHECK(rm.params[i].value.len > 0);
            CHECK(inside(rm.params[i].value.ptr, rm.params[i].value.len, t.path.ptr, t.path.len));
        }
        CHECK(routes_match(m, &t, &rm2) == 0);
        CHECK(rm2.route == rm.route && rm2.nparams == rm.nparams);
        for (size_t i = 0; i < rm.nparams; i++)
            CHECK(rm2.params[i].value.ptr == rm.params[i].value.ptr &&
                  rm2.params[i].value.len == rm.params[i].value.len);
    } else {
        CHECK(routes_match(m, &t, &rm2) < 0);
    }
out:
    free(raw);
    free(buf);
    return 0;
}
