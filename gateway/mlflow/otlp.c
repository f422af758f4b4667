/*
 * otlp: see otlp.h. The protobuf walk reads only the four messages on the path to a span's
 * trace id; everything else is skipped by wire type with bounds checked on every step.
 */
#include "mlflow/otlp.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* MLflow's trace id for raw id bytes; 0 or -1 (too long). */
static int add_id(struct otlp_ids *out, const uint8_t *b, size_t n, char *err, size_t errlen)
{
    static const char hx[] = "0123456789abcdef";
    if (n == 0)
        return fail(err, errlen, "a span has an empty trace id");
    if (n > 32)
        return fail(err, errlen, "a span's trace id is longer than 32 bytes");
    char digits[65];
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        digits[d++] = hx[b[i] >> 4];
        digits[d++] = hx[b[i] & 15];
    }
    size_t lead = 0;
    while (lead + 1 < d && digits[lead] == '0')
        lead++;
    size_t sig = d - lead;
    char id[OTLP_ID_MAX];
    size_t pad = sig < 32 ? 32 - sig : 0;
    memcpy(id, "tr-", 3);
    memset(id + 3, '0', pad);
    memcpy(id + 3 + pad, digits + lead, sig);
    id[3 + pad + sig] = '\0';
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->id[i], id) == 0)
            return 0;
    if (out->n == OTLP_MAX_TRACES)
        return fail(err, errlen, "too many traces in one export");
    memcpy(out->id[out->n++], id, 3 + pad + sig + 1);
    return 0;
}

/* ---- protobuf */

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        if (shift == 63 && b > 1)
            return -1;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* Reads one field header and, for LEN fields, the payload bounds; the other wire types are
 * skipped. Returns 0 with *field and *wt set (and the payload for LEN), -1 on bad input. */
static int field(const uint8_t **p, const uint8_t *end, uint64_t *num, unsigned *wt,
                 const uint8_t **sub, size_t *sublen)
{
    uint64_t key, v;
    if (varint(p, end, &key) < 0)
        return -1;
    *num = key >> 3;
    *wt = (unsigned)(key & 7);
    if (*num == 0)
        return -1;
    switch (*wt) {
    case 0:
        return varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return -1;
        *p += 8;
        return 0;
    case 2:
        if (varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
            return -1;
        *sub = *p;
        *sublen = (size_t)v;
        *p += v;
        return 0;
    case 5:
        if (end - *p < 4)
            return -1;
        *p += 4;
        return 0;
    default:
        return -1; /* groups (3, 4) and reserved types */
    }
}

/* level 0 = ExportTraceServiceRequest, 1 = ResourceSpans, 2 = ScopeSpans, 3 = Span. */
static int walk(const uint8_t *p, const uint8_t *end, int level, struct otlp_ids *out, char *err,
                size_t errlen)
{
    static const uint64_t child[3] = {1, 2, 2};
    const uint8_t *tid = NULL;
    size_t tidlen = 0;
    bool have_tid = false;
    while (p < end) {
        uint64_t num;
        unsigned wt;
        const uint8_t *sub = NULL;
        size_t sublen = 0;
        if (field(&p, end, &num, &wt, &sub, &sublen) < 0)
            return fail(err, errlen, "malformed OTLP protobuf body");
        if (level < 3 && num == child[level]) {
            if (wt != 2)
                return fail(err, errlen, "malformed OTLP protobuf body (wire type)");
            if (walk(sub, sub + sublen, level + 1, out, err, errlen) < 0)
                return -1;
        } else if (level == 3 && num == 1) {
            if (wt != 2)
                return fail(err, errlen, "malformed OTLP protobuf body (trace_id)");
            tid = sub; /* singular field: the last occurrence wins, as protobuf reads it */
            tidlen = sublen;
            have_tid = true;
        }
    }
    if (level == 3)
        return add_id(out, have_tid ? tid : NULL, have_tid ? tidlen : 0, err, errlen);
    return 0;
}

/* ---- JSON */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int json_array_member(json_t *o, const char *camel, const char *snake, json_t **out,
                             char *err, size_t errlen)
{
    if (snake && json_object_get(o, snake)) {
        snprintf(err, errlen, "OTLP JSON member %s is not accepted: use %s", snake, camel);
        return -1;
    }
    json_t *a = json_object_get(o, camel);
    if (a && !json_is_array(a)) {
        snprintf(err, errlen, "OTLP JSON member %s must be an array", camel);
        return -1;
    }
    *out = a;
    return 0;
}

static int walk_json(json_t *root, struct otlp_ids *out, char *err, size_t errlen)
{
    json_t *rs;
    if (!json_is_object(root))
        return fail(err, errlen, "OTLP JSON body must be an object");
    if (json_array_member(root, "resourceSpans", "resource_spans", &rs, err, errlen) < 0)
        return -1;
    size_t i, j, k;
    json_t *r, *s, *sp;
    json_array_foreach(rs, i, r)
    {
        json_t *ss, *spans;
        if (!json_is_object(r))
            return fail(err, errlen, "OTLP JSON resourceSpans entries must be objects");
        if (json_array_member(r, "scopeSpans", "scope_spans", &ss, err, errlen) < 0)
            return -1;
        json_array_foreach(ss, j, s)
        {
            if (!json_is_object(s))
                return fail(err, errlen, "OTLP JSON scopeSpans entries must be objects");
            if (json_array_member(s, "spans", NULL, &spans, err, errlen) < 0)
                return -1;
            json_array_foreach(spans, k, sp)
            {
                if (!json_is_object(sp) || json_object_get(sp, "trace_id"))
                    return fail(err, errlen,
                                "OTLP JSON spans must be objects with traceId (not trace_id)");
                const char *h = json_string_value(json_object_get(sp, "traceId"));
                size_t hl = h ? json_string_length(json_object_get(sp, "traceId")) : 0;
                if (!h || hl == 0 || hl % 2 || hl > 64)
                    return fail(err, errlen, "OTLP JSON traceId must be 2-64 hex digits");
                uint8_t b[32];
                for (size_t x = 0; x < hl; x += 2) {
                    int hi = hexval(h[x]), lo = hexval(h[x + 1]);
                    if (hi < 0 || lo < 0)
                        return fail(err, errlen, "OTLP JSON traceId must be hex digits");
                    b[x / 2] = (uint8_t)(hi << 4 | lo);
                }
                if (add_id(out, b, hl / 2, err, errlen) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

int otlp_trace_ids(const char *body, size_t len, bool json, struct otlp_ids *out, char *err,
                   size_t errlen)
{
    out->n = 0;
    if (!json)
        return walk((const uint8_t *)body, (const uint8_t *)body + len, 0, out, err, errlen);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, errlen, "OTLP JSON body is not valid JSON");
    int rc = walk_json(root, out, err, errlen);
    json_decref(root);
    return rc;
}
