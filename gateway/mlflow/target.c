/*
 * target: request-target canonicalisation (see target.h for the rules and why each exists).
 *
 * Owns nothing: views point into the caller's raw input and output buffer. Pure and
 * allocation-free; runs on whichever worker thread parses the request. One linear pass over
 * the path and one over the query; each output byte is written once.
 */
#include "mlflow/target.h"
#include "util/hex.h"

#include <string.h>

static int fail(struct target_error *err, int status, const char *reason)
{
    if (err) {
        err->status = status;
        err->reason = reason;
    }
    return -1;
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += need + 1;
    }
    return true;
}

/* Bytes a request-target may carry literally: visible ASCII. */
static bool raw_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7F;
}

static int parse_path(const char *raw, size_t len, char *buf, size_t *used, struct target *t,
                      struct target_error *err)
{
    char *o = buf;
    size_t seg_start = 1; /* offset in buf where the current segment starts */
    uint8_t flags = 0;
    t->nseg = 0;
    t->trailing_slash = false;

    if (len == 0 || raw[0] != '/')
        return fail(err, 400, "request-target must be an absolute path");
    *o++ = '/';
    for (size_t i = 1; i <= len; i++) {
        if (i == len || raw[i] == '/') {
            size_t slen = (size_t)(o - buf) - seg_start;
            const char *sp = buf + seg_start;
            if (slen == 0) {
                if (i == len && i > 1) {
                    t->trailing_slash = true; /* "/a/b/" */
                    break;
                }
                if (i == len)
                    break; /* the root "/" */
                return fail(err, 404, "empty path segment");
            }
            if ((slen == 1 && sp[0] == '.') || (slen == 2 && sp[0] == '.' && sp[1] == '.'))
                return fail(err, 404, "dot segment in path");
            if (t->nseg == TARGET_MAX_SEGMENTS)
                return fail(err, 400, "too many path segments");
            t->seg[t->nseg].ptr = sp;
            t->seg[t->nseg].len = slen;
            t->seg_flags[t->nseg] = flags;
            t->nseg++;
            if (i == len)
                break;
            *o++ = '/';
            seg_start = (size_t)(o - buf);
            flags = 0;
            continue;
        }
        unsigned char c = (unsigned char)raw[i];
        if (c == '#')
            return fail(err, 400, "fragment in request-target");
        if (!raw_ok(c))
            return fail(err, 400, "invalid byte in path");
        if (c == '%') {
            if (len - i < 3 || hex_digit((unsigned char)raw[i + 1]) < 0 ||
                hex_digit((unsigned char)raw[i + 2]) < 0)
                return fail(err, 400, "malformed percent-escape in path");
            c = (unsigned char)(hex_digit((unsigned char)raw[i + 1]) * 16 +
                                hex_digit((unsigned char)raw[i + 2]));
            i += 2;
            flags |= TARGET_SEG_ESCAPED;
            if (c == '/' || c == '\\')
                return fail(err, 400, "encoded path separator (%2F or %5C)");
            if (c == '%')
                return fail(err, 400, "double-encoded path (%25)");
            if (c < 0x20 || c == 0x7F)
                return fail(err, 400, "control character in path");
        }
        if (c == '\\')
            flags |= TARGET_SEG_BACKSLASH;
        *o++ = (char)c;
    }
    size_t plen = (size_t)(o - buf);
    if (!utf8_valid((const unsigned char *)buf, plen))
        return fail(err, 400, "path is not valid UTF-8");
    t->path.ptr = buf;
    t->path.len = plen;
    *used = plen;
    return 0;
}

/* Decodes one query component (key or value) raw[0..n) into o; returns bytes written or -1. */
static long decode_component(const char *raw, size_t n, char *o, struct target_error *err)
{
    char *start = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3 || hex_digit((unsigned char)raw[i + 1]) < 0 ||
                hex_digit((unsigned char)raw[i + 2]) < 0) {
                fail(err, 400, "malformed percent-escape in query");
                return -1;
            }
            c = (unsigned char)(hex_digit((unsigned char)raw[i + 1]) * 16 +
                                hex_digit((unsigned char)raw[i + 2]));
            i += 2;
            if (c == 0) {
                fail(err, 400, "NUL in query");
                return -1;
            }
        }
        *o++ = (char)c;
    }
    if (!utf8_valid((const unsigned char *)start, (size_t)(o - start))) {
        fail(err, 400, "query is not valid UTF-8");
        return -1;
    }
    return (long)(o - start);
}

static int parse_query(const char *raw, size_t len, char *buf, struct target *t,
                       struct target_error *err)
{
    char *o = buf;
    t->nquery = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '#')
            return fail(err, 400, "fragment in request-target");
        if (!raw_ok(c))
            return fail(err, 400, "invalid byte in query");
    }
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && raw[j] != '&')
            j++;
        if (j > i) {
            const char *pair = raw + i;
            size_t plen = j - i;
            const char *eq = memchr(pair, '=', plen);
            size_t klen = eq ? (size_t)(eq - pair) : plen;
            if (t->nquery == TARGET_MAX_QUERY)
                return fail(err, 400, "too many query parameters");
            struct target_pair *p = &t->query[t->nquery];
            long k = decode_component(pair, klen, o, err);
            if (k < 0)
                return -1;
            p->key.ptr = o;
            p->key.len = (size_t)k;
            o += k;
            p->value.ptr = o;
            p->value.len = 0;
            if (eq) {
                long v = decode_component(eq + 1, plen - klen - 1, o, err);
                if (v < 0)
                    return -1;
                p->value.len = (size_t)v;
                o += v;
            }
            t->nquery++;
        }
        i = j + 1;
    }
    return 0;
}

int target_parse(const char *raw, size_t len, char *buf, size_t buflen, struct target *out,
                 struct target_error *err)
{
    if (!raw || !buf || !out)
        return fail(err, 400, "invalid request-target");
    if (buflen < len)
        return fail(err, 400, "request-target too long");
    const char *q = memchr(raw, '?', len);
    size_t plen = q ? (size_t)(q - raw) : len;
    out->raw_path.ptr = raw;
    out->raw_path.len = plen;
    out->has_query = q != NULL;
    out->raw_query.ptr = q ? q + 1 : NULL;
    out->raw_query.len = q ? len - plen - 1 : 0;
    out->nquery = 0;

    size_t used = 0;
    if (parse_path(raw, plen, buf, &used, out, err) < 0)
        return -1;
    if (q && parse_query(out->raw_query.ptr, out->raw_query.len, buf + used, out, err) < 0)
        return -1;
    return 0;
}

const struct target_str *target_query_get(const struct target *t, const char *key)
{
    for (size_t i = 0; i < t->nquery; i++)
        if (target_str_eq(t->query[i].key, key))
            return &t->query[i].value;
    return NULL;
}

size_t target_query_count(const struct target *t, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nquery; i++)
        if (target_str_eq(t->query[i].key, key))
            n++;
    return n;
}

bool target_str_eq(struct target_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}
