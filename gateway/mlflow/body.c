/*
 * body: strict JSON body gate; see body.h for the rules. Pure (no I/O, clocks, globals
 * beyond body_protos.c's constant tables); any thread.
 *
 * Flow: a pre-scan over the raw bytes (size, BOM, UTF-8, nesting depth, NaN/Infinity
 * tokens, top-level '{') gives precise refusals before jansson sees the body; jansson then
 * parses with JSON_REJECT_DUPLICATES; conv_message() builds a new tree with folded keys and
 * type-checked values (or copies the tree for plain-JSON routes); the ids are collected from
 * the new tree and copied into one block; json_dumpb() writes the canonical body.
 */
#include "mlflow/body.h"

#include <jansson.h>

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

struct ctx {
    const struct body_limits *lim;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    if (c->err && c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A client-supplied name made safe to echo: printable ASCII except quotes and backslash,
 * at most 64 bytes; anything else is summarised. */
static const char *safe_name(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    if (len == 0)
        return "(empty)";
    if (len > 64)
        return "(long key)";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch > 0x7e || ch == '\'' || ch == '"' || ch == '\\')
            return "(non-printable key)";
    }
    snprintf(buf, n, "%s", s);
    return buf;
}

bool body_is_canonical_decimal(const char *s, size_t len)
{
    if (len == 0 || len > 19)
        return false;
    if (s[0] == '0')
        return len == 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int body_rpc_message(const char *action)
{
    size_t lo = 0, hi = body_nrpcs;
    if (!action)
        return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(action, body_rpcs[mid].action);
        if (c == 0)
            return body_rpcs[mid].msg;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static const struct body_pfield *msg_field(int msg, const char *name, size_t len)
{
    const struct body_pmsg *m = &body_pmsgs[msg];
    for (size_t i = 0; i < m->n; i++) {
        const struct body_pfield *f = &body_pfields[m->first + i];
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    }
    return NULL;
}

/* Checks that a dotted path names fields of msg (for body_spec_from_route). */
static bool path_valid(int msg, const char *path)
{
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        bool arr = len >= 2 && p[len - 2] == '[' && p[len - 1] == ']';
        const struct body_pfield *f = msg_field(msg, p, arr ? len - 2 : len);
        if (!f || (arr && !f->repeated))
            return false;
        if (!dot)
            return f->type == BODY_T_STRING;
        if (f->type != BODY_T_MESSAGE || (f->repeated && !arr))
            return false;
        msg = f->msg;
        p = dot + 1;
    }
}

int body_spec_from_route(const struct route *r, struct body_spec *spec, char *err, size_t errlen)
{
    memset(spec, 0, sizeof(*spec));
    spec->msg = r->fastapi ? -1 : body_rpc_message(r->action);
    for (size_t i = 0; i < r->nchecks && i < ROUTE_MAX_CHECKS; i++) {
        const struct route_check *ck = &r->checks[i];
        if (ck->loc != ROUTE_ID_BODY)
            continue;
        if (spec->msg >= 0 && !path_valid(spec->msg, ck->field)) {
            snprintf(err, errlen, "route %s: body field '%s' is not a string field of %s",
                     r->action, ck->field, body_pmsgs[spec->msg].full_name);
            return -1;
        }
        spec->ids[spec->nids].path = ck->field;
        spec->ids[spec->nids].kind =
            ck->object == ROUTE_OBJ_EXPERIMENT ? BODY_ID_EXPERIMENT : BODY_ID_STRING;
        spec->ids[spec->nids].many = ck->many;
        spec->nids++;
    }
    return 0;
}

/* ---------------------------------------------------------------- pre-scan */

static bool is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
 * <= U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char b0 = p[0];
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xc2 && b0 <= 0xdf)
        return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (b0 >= 0xe0 && b0 <= 0xef) {
        unsigned char lo = b0 == 0xe0 ? 0xa0 : 0x80, hi = b0 == 0xed ? 0x9f : 0xbf;
        if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
            return 0;
        return 3;
    }
    if (b0 >= 0xf0 && b0 <= 0xf4) {
        unsigned char lo = b0 == 0xf0 ? 0x90 : 0x80, hi = b0 == 0xf4 ? 0x8f : 0xbf;
        if (avail < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

static int prescan(struct ctx *c, const unsigned char *b, size_t len)
{
    size_t i = 0, depth = 0;
    bool in_str = false, first = true;
    if (len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
        return fail(c, "byte order mark not allowed (body must be plain UTF-8 JSON)");
    while (i < len) {
        unsigned char ch = b[i];
        if (ch >= 0x80) {
            size_t n = utf8_seq(b + i, len - i);
            if (n == 0)
                return fail(c, "invalid UTF-8 at byte %zu", i);
            i += n;
            continue;
        }
        if (in_str) {
            if (ch == '\\')
                i++; /* the escaped character (ASCII or not) is checked by jansson */
            else if (ch == '"')
                in_str = false;
            i++;
            continue;
        }
        if (first && !is_ws(ch)) {
            first = false;
            if (ch != '{')
                return fail(c, "body is not a JSON object");
        }
        switch (ch) {
        case '"':
            in_str = true;
            break;
        case '{':
        case '[':
            if (++depth > c->lim->max_depth)
                return fail(c, "JSON nesting deeper than %u", c->lim->max_depth);
            break;
        case '}':
        case ']':
            if (depth)
                depth--;
            break;
        case 'N':
            return fail(c, "NaN is not JSON (byte %zu)", i);
        case 'I':
            return fail(c, "Infinity is not JSON (byte %zu)", i);
        default:
            break;
        }
        i++;
    }
    if (first)
        return fail(c, "body is not a JSON object");
    return 0;
}

static int parse_error(struct ctx *c, const json_error_t *je)
{
    const char *t = je->text;
    if (strstr(t, "duplicate object key")) {
        /* jansson: "duplicate object key near '"<key as written>"'" */
        const char *q = strstr(t, "near '\"");
        char key[80] = "", safe[80];
        if (q) {
            size_t n = strlen(q + 7);
            if (n >= 2 && n - 2 < sizeof(key)) {
                memcpy(key, q + 7, n - 2);
                key[n - 2] = '\0';
                return fail(c, "duplicate key '%s'", safe_name(key, safe, sizeof(safe)));
            }
        }
        return fail(c, "duplicate key at byte %d", je->position);
    }
    if (strstr(t, "too big") || strstr(t, "overflow"))
        return fail(c, "number out of range at byte %d", je->position);
    if (strstr(t, "\\u0000"))
        return fail(c, "\\u0000 in a string is not allowed (byte %d)", je->position);
    if (strstr(t, "invalid Unicode") || strstr(t, "surrogate"))
        return fail(c, "invalid \\u escape (lone surrogate) at byte %d", je->position);
    if (strstr(t, "end of file expected"))
        return fail(c, "trailing data after the JSON object at byte %d", je->position);
    return fail(c, "invalid JSON at byte %d", je->position);
}

/* ---------------------------------------------------------------- scalar checks */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* -?(0|[1-9][0-9]*) fitting in [lo, hi] (int64 arithmetic; uint64 capped at INT64_MAX). */
static bool int_string_ok(const char *s, size_t len, long long lo, long long hi)
{
    size_t i = 0;
    char buf[24];
    if (len && s[0] == '-')
        i = 1;
    if (i == len || len >= sizeof(buf))
        return false;
    if (s[i] == '0' && len > i + 1)
        return false;
    for (size_t k = i; k < len; k++)
        if (!is_digit(s[k]))
            return false;
    if (len == 2 && s[0] == '-' && s[1] == '0')
        return lo <= 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return false;
    return v >= lo && v <= hi;
}

/* A JSON number lexeme: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
static bool json_number_lexeme(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0')
        i++;
    else if (i < len && s[i] >= '1' && s[i] <= '9')
        while (i < len && is_digit(s[i]))
            i++;
    else
        return false;
    if (i < len && s[i] == '.') {
        size_t d = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
    }
    return i == len;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|[+-]HH:MM), year 0001-9999 (ParseDict's Timestamp). */
static bool timestamp_ok(const char *s, size_t len)
{
    size_t i = 19;
    if (len < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return false;
    if (memcmp(s, "0000", 4) == 0)
        return false;
    int mon = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    int hh = (s[11] - '0') * 10 + (s[12] - '0'), mm = (s[14] - '0') * 10 + (s[15] - '0');
    int ss = (s[17] - '0') * 10 + (s[18] - '0');
    if (mon < 1 || mon > 12 || day < 1 || day > 28 + 3 || hh > 23 || mm > 59 || ss > 59)
        return false;
    if (day > 28) { /* strptime checks the day against the month */
        static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (day > mdays[mon - 1] || (mon == 2 && day == 29 && !leap))
            return false;
    }
    if (s[i] == '.') {
        size_t d = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == d || i - d > 9)
            return false;
    }
    if (i + 1 == len && s[i] == 'Z')
        return true;
    if (i + 6 == len && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
        digits(s + i + 4, 2)) {
        /* an offset that moves the time out of 0001..9999 is refused by ParseDict; a
         * year of 0001 or 9999 with an offset is refused here to stay clear of it */
        return memcmp(s, "0001", 4) != 0 && memcmp(s, "9999", 4) != 0;
    }
    return false;
}

/* -?\d+(\.\d{1,9})?s with |seconds| <= 315576000000 (ParseDict's Duration). */
static bool duration_ok(const char *s, size_t len)
{
    size_t i = 0, d;
    if (len < 2 || s[len - 1] != 's')
        return false;
    len--;
    if (s[0] == '-')
        i++;
    d = i;
    while (i < len && is_digit(s[i]))
        i++;
    if (i == d || i - d > 12)
        return false;
    if (i - d == 12 && memcmp(s + d, "315576000000", 12) > 0)
        return false;
    if (i < len) {
        if (s[i] != '.')
            return false;
        size_t f = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == f || i - f > 9 || i != len)
            return false;
    }
    return true;
}

static bool charset_ok(const char *s, size_t len, const char *extra)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch))
            continue;
        if (!strchr(extra, ch) || ch == '\0')
            return false;
    }
    return true;
}

/* Checks one non-null value of a scalar or well-known type; returns 0 or -1 (err set).
 * `name` is the proto field name for messages. */
static int check_scalar(struct ctx *c, int type, const json_t *v, const char *name)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t sl = s ? json_string_length(v) : 0;
    switch (type) {
    case BODY_T_STRING:
        if (!s)
            return fail(c, "%s must be a string", name);
        return 0;
    case BODY_T_BYTES:
        if (!s || !charset_ok(s, sl, "+/=_-"))
            return fail(c, "%s must be base64 text", name);
        return 0;
    case BODY_T_BOOL:
        if (!json_is_boolean(v))
            return fail(c, "%s must be true or false", name);
        return 0;
    case BODY_T_INT32:
    case BODY_T_INT64:
    case BODY_T_UINT32:
    case BODY_T_UINT64: {
        long long lo = type == BODY_T_INT32 ? INT32_MIN : type == BODY_T_INT64 ? INT64_MIN : 0;
        long long hi = type == BODY_T_INT32    ? INT32_MAX
                       : type == BODY_T_UINT32 ? (long long)UINT32_MAX
                                               : INT64_MAX;
        if (json_is_integer(v)) {
            json_int_t x = json_integer_value(v);
            if (x < lo || x > hi)
                return fail(c, "%s is out of range", name);
            return 0;
        }
        if (s && int_string_ok(s, sl, lo, hi))
            return 0;
        return fail(c, "%s must be an integer", name);
    }
    case BODY_T_FLOAT:
    case BODY_T_DOUBLE:
        if (json_is_number(v)) {
            if (type == BODY_T_FLOAT && fabs(json_number_value(v)) > FLT_MAX)
                return fail(c, "%s is out of range", name);
            return 0;
        }
        if (s &&
            (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0))
            return sl == strlen(s) ? 0 : fail(c, "%s must be a number", name);
        if (s && json_number_lexeme(s, sl)) {
            double d = strtod(s, NULL);
            if (isinf(d) || (type == BODY_T_FLOAT && fabs(d) > FLT_MAX))
                return fail(c, "%s is out of range", name);
            return 0;
        }
        return fail(c, "%s must be a number", name);
    case BODY_T_ENUM:
        if (!s || sl == 0 || is_digit(s[0]) || !charset_ok(s, sl, "_"))
            return fail(c, "%s must be an enum name", name);
        return 0;
    case BODY_T_JSON_ANY:
        return 0;
    case BODY_T_JSON_OBJECT:
        return json_is_object(v) ? 0 : fail(c, "%s must be an object", name);
    case BODY_T_JSON_ARRAY:
        return json_is_array(v) ? 0 : fail(c, "%s must be an array", name);
    case BODY_T_TIMESTAMP:
        if (!s || !timestamp_ok(s, sl))
            return fail(c, "%s must be an RFC 3339 timestamp", name);
        return 0;
    case BODY_T_DURATION:
        if (!s || !duration_ok(s, sl))
            return fail(c, "%s must be a duration like \"1.5s\"", name);
        return 0;
    case BODY_T_FIELDMASK:
        if (!s || !charset_ok(s, sl, ".,"))
            return fail(c, "%s must be a field mask", name);
        return 0;
    default:
        return fail(c, "%s has an unsupported type", name);
    }
}

/* ---------------------------------------------------------------- conversion */

static json_t *conv_message(struct ctx *c, int msg, json_t *in);

/* Converts one non-null element of the field's type (a message or a scalar). */
static json_t *conv_elem(struct ctx *c, int type, int msg, json_t *v, const char *name)
{
    if (type == BODY_T_MESSAGE) {
        if (!json_is_object(v)) {
            fail(c, "%s must be an object", name);
            return NULL;
        }
        return conv_message(c, msg, v);
    }
    if (check_scalar(c, type, v, name) < 0)
        return NULL;
    return json_incref(v);
}

/* Copy-on-write helpers: a converted container is the input itself (one more reference)
 * until some member differs; then the members before it are copied into a new container.
 * Bodies already in canonical form (the common case) are thus validated without building a
 * second tree. */
static json_t *obj_copy_prefix(json_t *in, const char *upto)
{
    const char *k;
    json_t *v, *out = json_object();
    if (!out)
        return NULL;
    json_object_foreach(in, k, v)
    {
        if (k == upto)
            break;
        if (json_object_setn_new_nocheck(out, k, strlen(k), json_incref(v)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *arr_copy_prefix(json_t *in, size_t upto)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    for (size_t i = 0; i < upto; i++)
        if (json_array_append(out, json_array_get(in, i)) < 0) {
            json_decref(out);
            return NULL;
        }
    return out;
}

static json_t *conv_value(struct ctx *c, const struct body_pfield *f, json_t *v)
{
    json_t *out = NULL, *e;
    if (json_is_null(v))
        return json_null();
    if (f->type == BODY_T_MAP) {
        const char *k;
        json_t *mv;
        if (!json_is_object(v)) {
            fail(c, "%s must be an object", f->name);
            return NULL;
        }
        json_object_foreach(v, k, mv)
        {
            if (json_is_null(mv)) {
                fail(c, "%s: null map values are not allowed", f->name);
                goto fail;
            }
            if (!(e = conv_elem(c, f->vtype, f->msg, mv, f->name)))
                goto fail;
            if (!out && e == mv) {
                json_decref(e);
                continue;
            }
            if (!out && !(out = obj_copy_prefix(v, k))) {
                json_decref(e);
                goto oom;
            }
            if (json_object_setn_new_nocheck(out, k, strlen(k), e) < 0)
                goto oom;
        }
        return out ? out : json_incref(v);
    }
    if (f->repeated) {
        size_t i;
        json_t *ev;
        if (!json_is_array(v)) {
            fail(c, "%s must be an array", f->name);
            return NULL;
        }
        json_array_foreach(v, i, ev)
        {
            if (json_is_null(ev)) {
                fail(c, "%s: null array elements are not allowed", f->name);
                goto fail;
            }
            if (!(e = conv_elem(c, f->type, f->msg, ev, f->name)))
                goto fail;
            if (!out && e == ev) {
                json_decref(e);
                continue;
            }
            if (!out && !(out = arr_copy_prefix(v, i))) {
                json_decref(e);
                goto oom;
            }
            if (json_array_append_new(out, e) < 0)
                goto oom;
        }
        return out ? out : json_incref(v);
    }
    return conv_elem(c, f->type, f->msg, v, f->name);
oom:
    fail(c, "out of memory");
fail:
    json_decref(out);
    return NULL;
}

static const struct body_pfield *resolve_key(const struct body_pmsg *m, const char *k)
{
    /* ParseDict's order: json_name first, then the proto name */
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(body_pfields[m->first + i].json_name, k) == 0)
            return &body_pfields[m->first + i];
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(body_pfields[m->first + i].name, k) == 0)
            return &body_pfields[m->first + i];
    return NULL;
}

static json_t *conv_message(struct ctx *c, int msg, json_t *in)
{
    const struct body_pmsg *m = &body_pmsgs[msg];
    uint64_t seen[4] = {0, 0, 0, 0};
    int16_t oneof_by[64];
    const char *k;
    json_t *v, *out = NULL;
    const struct body_pfield *run_id = NULL, *run_uuid = NULL;
    json_t *run_id_v = NULL, *run_uuid_v = NULL;
    bool changed = false;
    char sa[80], sb[80];

    memset(oneof_by, 0xff, sizeof(oneof_by));
    /* pass 1: resolve keys, detect conflicts, and whether any key is renamed or dropped */
    json_object_foreach(in, k, v)
    {
        const struct body_pfield *f = resolve_key(m, k);
        size_t idx;
        if (!f) {
            if (k[0] == '[') {
                fail(c, "key '%s' is not allowed", safe_name(k, sa, sizeof(sa)));
                return NULL;
            }
            changed |= !c->lim->keep_unknown;
            continue;
        }
        changed |= f->name != k && strcmp(f->name, k) != 0;
        idx = (size_t)(f - &body_pfields[m->first]);
        if (seen[idx / 64] & (1ull << (idx % 64))) {
            const char *other = strcmp(k, f->name) == 0 ? f->json_name : f->name;
            fail(c, "both %s and %s given", safe_name(other, sa, sizeof(sa)),
                 safe_name(k, sb, sizeof(sb)));
            return NULL;
        }
        seen[idx / 64] |= 1ull << (idx % 64);
        if (f->oneof >= 0 && !json_is_null(v)) {
            int16_t other = oneof_by[f->oneof];
            if (other >= 0) {
                fail(c, "%s and %s are alternatives; give one", body_pfields[m->first + other].name,
                     f->name);
                return NULL;
            }
            oneof_by[f->oneof] = (int16_t)idx;
        }
        if (strcmp(f->name, "run_id") == 0)
            run_id = f, run_id_v = v;
        else if (strcmp(f->name, "run_uuid") == 0)
            run_uuid = f, run_uuid_v = v;
    }
    if (run_id && run_uuid && !json_is_null(run_uuid_v) && !json_is_null(run_id_v) &&
        !json_equal(run_id_v, run_uuid_v)) {
        fail(c, "run_id and run_uuid differ");
        return NULL;
    }
    /* a lone run_uuid becomes run_id when the message has both fields */
    bool uuid_to_id =
        run_uuid && !run_id && msg_field(msg, "run_id", 6) && !json_is_null(run_uuid_v);
    if (uuid_to_id) {
        run_id = msg_field(msg, "run_id", 6);
        changed = true;
    }
    if (changed && !(out = json_object()))
        goto oom;
    /* pass 2: convert in order */
    json_object_foreach(in, k, v)
    {
        const struct body_pfield *f = resolve_key(m, k);
        json_t *e;
        if (!f) {
            if (c->lim->keep_unknown && out &&
                json_object_setn_new_nocheck(out, k, strlen(k), json_incref(v)) < 0)
                goto oom;
            continue;
        }
        if (!(e = conv_value(c, f, v)))
            goto fail;
        if (!out && e == v) {
            json_decref(e);
            continue;
        }
        if (!out && !(out = obj_copy_prefix(in, k))) {
            json_decref(e);
            goto oom;
        }
        const char *name = (uuid_to_id && f == run_uuid) ? run_id->name : f->name;
        if (json_object_setn_new_nocheck(out, name, strlen(name), e) < 0)
            goto oom;
    }
    return out ? out : json_incref(in);
oom:
    fail(c, "out of memory");
fail:
    json_decref(out);
    return NULL;
}

/* ---------------------------------------------------------------- ids */

struct idvec {
    json_t **v;
    size_t n, cap;
};

static int idvec_push(struct idvec *iv, json_t *s)
{
    if (iv->n == iv->cap) {
        size_t cap = iv->cap ? iv->cap * 2 : 8;
        json_t **nv = realloc(iv->v, cap * sizeof(*nv));
        if (!nv)
            return -1;
        iv->v = nv;
        iv->cap = cap;
    }
    iv->v[iv->n++] = s;
    return 0;
}

static int check_id(struct ctx *c, const struct body_id_spec *is, const char *leaf, json_t *v)
{
    if (!json_is_string(v))
        return fail(c, "%s must be a string", leaf);
    if (is->kind == BODY_ID_EXPERIMENT &&
        !body_is_canonical_decimal(json_string_value(v), json_string_length(v)))
        return fail(c, "%s must be a canonical decimal string", leaf);
    return 0;
}

/* Walks path p (remaining) from object o, pushing string values. */
static int collect(struct ctx *c, const struct body_id_spec *is, json_t *o, const char *p,
                   struct idvec *iv, bool *present)
{
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    bool arr = len >= 2 && p[len - 2] == '[' && p[len - 1] == ']';
    char key[128];
    json_t *v;
    size_t i;
    json_t *e;

    if (!json_is_object(o))
        return 0; /* not reachable for protobuf routes; plain JSON: nothing here */
    if ((arr ? len - 2 : len) >= sizeof(key))
        return 0;
    memcpy(key, p, arr ? len - 2 : len);
    key[arr ? len - 2 : len] = '\0';
    v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!dot) {
        *present = true;
        if (json_is_array(v) && !is->many)
            return fail(c, "%s must be a string", key);
        if (json_is_array(v)) {
            json_array_foreach(v, i, e)
            {
                if (check_id(c, is, key, e) < 0)
                    return -1;
                if (idvec_push(iv, e) < 0)
                    return fail(c, "out of memory");
            }
            return 0;
        }
        if (check_id(c, is, key, v) < 0)
            return -1;
        return idvec_push(iv, v) < 0 ? fail(c, "out of memory") : 0;
    }
    if (arr) {
        if (!json_is_array(v))
            return fail(c, "%s must be an array", key);
        json_array_foreach(v, i, e)
        {
            if (!json_is_object(e))
                return fail(c, "%s must hold objects", key);
            if (collect(c, is, e, dot + 1, iv, present) < 0)
                return -1;
        }
        return 0;
    }
    if (!json_is_object(v))
        return fail(c, "%s must be an object", key);
    return collect(c, is, v, dot + 1, iv, present);
}

/* ---------------------------------------------------------------- result */

struct body_result *body_result_new(void)
{
    return calloc(1, sizeof(struct body_result));
}

static void result_clear(struct body_result *r)
{
    free(r->json);
    free(r->block);
    memset(r, 0, sizeof(*r));
}

void body_result_free(struct body_result *r)
{
    if (!r)
        return;
    result_clear(r);
    free(r);
}

int body_canonicalize(const struct body_spec *spec, const struct body_limits *limits,
                      const char *buf, size_t len, struct body_result *out, int *status, char *err,
                      size_t errlen)
{
    static const struct body_limits defaults = {BODY_DEFAULT_MAX_BYTES, BODY_DEFAULT_MAX_DEPTH,
                                                false};
    struct ctx c = {limits ? limits : &defaults, err, errlen};
    struct idvec iv[BODY_MAX_IDS];
    bool present[BODY_MAX_IDS];
    json_t *in = NULL, *canon = NULL;
    json_error_t je;
    int st = 400;
    size_t total = 0, nids = spec->nids < BODY_MAX_IDS ? spec->nids : BODY_MAX_IDS;

    memset(iv, 0, sizeof(iv));
    memset(present, 0, sizeof(present));
    result_clear(out);
    if (len > c.lim->max_bytes) {
        st = 413;
        fail(&c, "body larger than %zu bytes", c.lim->max_bytes);
        goto fail;
    }
    if (len == 0) {
        in = json_object();
        if (!in) {
            fail(&c, "out of memory");
            goto fail;
        }
    } else {
        if (prescan(&c, (const unsigned char *)buf, len) < 0)
            goto fail;
        in = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!in) {
            parse_error(&c, &je);
            goto fail;
        }
        if (!json_is_object(in)) {
            fail(&c, "body is not a JSON object");
            goto fail;
        }
    }
    if (spec->msg >= 0 && (size_t)spec->msg >= body_npmsgs) {
        fail(&c, "internal error: no such request message");
        goto fail;
    }
    if (spec->msg >= 0) {
        canon = conv_message(&c, spec->msg, in);
        if (!canon)
            goto fail;
    } else {
        canon = json_incref(in);
    }
    for (size_t i = 0; i < nids; i++) {
        if (collect(&c, &spec->ids[i], canon, spec->ids[i].path, &iv[i], &present[i]) < 0)
            goto fail;
        for (size_t k = 0; k < iv[i].n; k++)
            total += json_string_length(iv[i].v[k]) + 1 + sizeof(struct body_val);
    }
    out->json = json_dumps(canon, JSON_COMPACT);
    if (!out->json) {
        fail(&c, "out of memory");
        goto fail;
    }
    out->len = strlen(out->json);
    if (total) {
        out->block = malloc(total);
        if (!out->block) {
            fail(&c, "out of memory");
            goto fail;
        }
    }
    {
        size_t nvals = 0;
        for (size_t i = 0; i < nids; i++)
            nvals += iv[i].n;
        struct body_val *vals = out->block;
        char *strs = nvals ? (char *)out->block + nvals * sizeof(struct body_val) : NULL;
        for (size_t i = 0; i < nids; i++) {
            out->ids[i].present = present[i];
            out->ids[i].n = iv[i].n;
            out->ids[i].v = iv[i].n ? vals : NULL;
            for (size_t k = 0; k < iv[i].n; k++) {
                size_t sl = json_string_length(iv[i].v[k]);
                memcpy(strs, json_string_value(iv[i].v[k]), sl);
                strs[sl] = '\0';
                vals->s = strs;
                vals->len = sl;
                vals++;
                strs += sl + 1;
            }
        }
        out->nids = nids;
    }
    for (size_t i = 0; i < BODY_MAX_IDS; i++)
        free(iv[i].v);
    json_decref(canon);
    json_decref(in);
    return 0;
fail:
    for (size_t i = 0; i < BODY_MAX_IDS; i++)
        free(iv[i].v);
    json_decref(canon);
    json_decref(in);
    result_clear(out);
    if (status)
        *status = st;
    return -1;
}
