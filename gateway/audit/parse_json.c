/*
 * audit/parse_json: audit_parse_json (format.h), the native JSON line back into a record.
 * Sinks that write OCSF read the journal's native lines through it. Pure; any thread. jansson
 * keeps object members in insertion order (2.8+), so parameters and resource ids come back
 * in the order they were written.
 */
#include "audit/format.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct ctx {
    struct audit_record *r;
    char *err;
    size_t errlen;
    const char *where;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        char msg[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(c->err, c->errlen, "%s%s%s", c->where ? c->where : "", c->where ? ": " : "", msg);
    }
    return -1;
}

/* obj must be an object with exactly these n members. */
static int members(struct ctx *c, json_t *obj, const char *const *names, size_t n)
{
    if (!json_is_object(obj))
        return fail(c, "not an object");
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(obj, names[i]))
            return fail(c, "member '%s' missing", names[i]);
    if (json_object_size(obj) != n)
        return fail(c, "unexpected member");
    return 0;
}

/* A text member into a bounded field. The formatter writes each byte of invalid UTF-8 as
 * \ufffd, which decodes to three bytes, so a field Warden itself wrote may decode longer
 * than its capacity: it is cut at a character boundary and the record marked truncated. */
static int text(struct ctx *c, json_t *v, const char *name, char *dst, uint16_t *dst_len,
                size_t cap)
{
    if (!json_is_string(v))
        return fail(c, "'%s' is not a string", name);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        c->r->truncated = true;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    if (dst_len)
        *dst_len = (uint16_t)n;
    return 0;
}
#define TEXT(c, obj, name, field)                                                                  \
    text((c), json_object_get((obj), (name)), (name), (field).s, &(field).len, sizeof((field).s))

static int integer(struct ctx *c, json_t *obj, const char *name, long long min, long long max,
                   long long *out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return fail(c, "'%s' is not an integer", name);
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return fail(c, "'%s' out of range", name);
    *out = x;
    return 0;
}

static int boolean(struct ctx *c, json_t *obj, const char *name, bool *out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_boolean(v))
        return fail(c, "'%s' is not a boolean", name);
    *out = json_is_true(v);
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" to Unix milliseconds. */
static int parse_time(struct ctx *c, json_t *v, int64_t *out)
{
    if (!json_is_string(v) || json_string_length(v) != 24)
        return fail(c, "'time' is not YYYY-MM-DDTHH:MM:SS.mmmZ");
    const char *s = json_string_value(v);
    int y, mo, d, h, mi, se, ms;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[23] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &se) || digits(s + 20, 3, &ms) || y < 1 || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h > 23 || mi > 59 || se > 60)
        return fail(c, "'time' is not YYYY-MM-DDTHH:MM:SS.mmmZ");
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    *out = (int64_t)t * 1000 + ms;
    return 0;
}

static bool key_ok(const char *k, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7F)
            return false;
    return true;
}

/* Mark params named in a key list (params_redacted / params_truncated). */
static int mark_params(struct ctx *c, json_t *list, const char *name, bool redacted)
{
    struct audit_record *r = c->r;
    if (!json_is_array(list))
        return fail(c, "'%s' is not an array", name);
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k)
    {
        if (!json_is_string(k))
            return fail(c, "'%s' holds a non-string", name);
        size_t n = json_string_length(k);
        bool found = false;
        for (uint8_t p = 0; p < r->n_params && !found; p++) {
            struct audit_param *ap = &r->params[p];
            if (ap->key.len == n && memcmp(ap->key.s, json_string_value(k), n) == 0) {
                bool *flag = redacted ? &ap->redacted : &ap->truncated;
                if (*flag)
                    return fail(c, "'%s' repeats a key", name);
                *flag = true;
                found = true;
            }
        }
        if (!found)
            return fail(c, "'%s' names a parameter that is not in params", name);
    }
    return 0;
}

static int hash_hex(struct ctx *c, json_t *v, const char *name, char out[AUDIT_HASH_HEX + 1])
{
    if (!json_is_string(v))
        return fail(c, "'%s' is not a string", name);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    /* The unsealed forms (an empty hash) are accepted too. */
    if (n != 0 && n != AUDIT_HASH_HEX)
        return fail(c, "'%s' is not 64 hex digits", name);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return fail(c, "'%s' is not 64 hex digits", name);
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int parse_subject(struct ctx *c, json_t *o)
{
    static const char *const names[] = {"user", "groups", "groups_omitted", "auth_method",
                                        "token_id"};
    struct audit_record *r = c->r;
    long long x = 0;
    c->where = "subject";
    if (members(c, o, names, 5) || TEXT(c, o, "user", r->subject.user) ||
        TEXT(c, o, "auth_method", r->subject.auth_method) ||
        TEXT(c, o, "token_id", r->subject.token_id) ||
        integer(c, o, "groups_omitted", 0, UINT16_MAX, &x))
        return -1;
    r->subject.groups_omitted = (uint16_t)x;
    json_t *g = json_object_get(o, "groups");
    if (!json_is_array(g) || json_array_size(g) > AUDIT_GROUPS)
        return fail(c, "'groups' is not an array of at most %d", AUDIT_GROUPS);
    size_t i;
    json_t *v;
    json_array_foreach(g, i, v)
    {
        if (text(c, v, "groups[]", r->subject.groups[i].name.s, &r->subject.groups[i].name.len,
                 sizeof(r->subject.groups[i].name.s)))
            return -1;
    }
    r->subject.n_groups = (uint8_t)json_array_size(g);
    return 0;
}

static int parse_actors(struct ctx *c, json_t *a)
{
    static const char *const names[] = {"kind", "id"};
    struct audit_record *r = c->r;
    c->where = "actors";
    if (!json_is_array(a) || json_array_size(a) > AUDIT_ACTORS)
        return fail(c, "not an array of at most %d", AUDIT_ACTORS);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (members(c, v, names, 2) || TEXT(c, v, "kind", r->actors[i].kind) ||
            TEXT(c, v, "id", r->actors[i].id))
            return -1;
    }
    r->n_actors = (uint8_t)json_array_size(a);
    return 0;
}

static int parse_source(struct ctx *c, json_t *o)
{
    static const char *const names[] = {"ip", "port", "user_agent"};
    struct audit_record *r = c->r;
    long long x = 0;
    c->where = "source";
    if (members(c, o, names, 3) || TEXT(c, o, "ip", r->src_ip) ||
        TEXT(c, o, "user_agent", r->user_agent) || integer(c, o, "port", 0, 65535, &x))
        return -1;
    r->src_port = (uint16_t)x;
    return 0;
}

static int parse_resource(struct ctx *c, json_t *o)
{
    static const char *const names[] = {"kind", "name", "ids"};
    struct audit_record *r = c->r;
    c->where = "resource";
    if (members(c, o, names, 3) || TEXT(c, o, "kind", r->resource.kind) ||
        TEXT(c, o, "name", r->resource.name))
        return -1;
    json_t *ids = json_object_get(o, "ids");
    if (!json_is_object(ids) || json_object_size(ids) > AUDIT_RES_IDS)
        return fail(c, "'ids' is not an object of at most %d", AUDIT_RES_IDS);
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(ids, k, v)
    {
        size_t kl = strlen(k);
        if (!key_ok(k, kl) || kl >= AUDIT_RES_ID_KEY_MAX)
            return fail(c, "bad id key");
        memcpy(r->resource.ids[i].key.s, k, kl + 1);
        r->resource.ids[i].key.len = (uint16_t)kl;
        if (text(c, v, "ids value", r->resource.ids[i].value.s, &r->resource.ids[i].value.len,
                 sizeof(r->resource.ids[i].value.s)))
            return -1;
        i++;
    }
    r->resource.n_ids = (uint8_t)i;
    return 0;
}

static int parse_decision(struct ctx *c, json_t *o)
{
    static const char *const names[] = {"result", "privilege", "grant", "policy_version", "reason"};
    struct audit_record *r = c->r;
    c->where = "decision";
    if (members(c, o, names, 5) || TEXT(c, o, "privilege", r->decision.privilege) ||
        TEXT(c, o, "grant", r->decision.grant) ||
        TEXT(c, o, "policy_version", r->decision.policy_version) ||
        TEXT(c, o, "reason", r->decision.reason))
        return -1;
    const char *res = json_string_value(json_object_get(o, "result"));
    if (!res)
        return fail(c, "'result' is not a string");
    if (strcmp(res, "allow") == 0)
        r->decision.result = AUDIT_DECISION_ALLOW;
    else if (strcmp(res, "deny") == 0)
        r->decision.result = AUDIT_DECISION_DENY;
    else if (strcmp(res, "none") == 0)
        r->decision.result = AUDIT_DECISION_NONE;
    else
        return fail(c, "'result' is not allow, deny or none");
    return 0;
}

static int parse_params(struct ctx *c, json_t *o)
{
    struct audit_record *r = c->r;
    c->where = "params";
    if (!json_is_object(o) || json_object_size(o) > AUDIT_PARAMS)
        return fail(c, "not an object of at most %d", AUDIT_PARAMS);
    const char *k;
    json_t *v;
    size_t i = 0, bytes = 0;
    json_object_foreach(o, k, v)
    {
        size_t kl = strlen(k);
        struct audit_param *p = &r->params[i];
        if (!key_ok(k, kl) || kl >= AUDIT_PARAM_KEY_MAX)
            return fail(c, "bad parameter key");
        memcpy(p->key.s, k, kl + 1);
        p->key.len = (uint16_t)kl;
        if (text(c, v, "value", p->value.s, &p->value.len, sizeof(p->value.s)))
            return -1;
        bytes += kl + p->value.len;
        i++;
    }
    if (bytes > AUDIT_PARAMS_TOTAL_MAX)
        return fail(c, "parameters exceed %d bytes", AUDIT_PARAMS_TOTAL_MAX);
    r->n_params = (uint8_t)i;
    r->params_bytes = (uint16_t)bytes;
    return 0;
}

int audit_parse_json(const char *line, size_t len, struct audit_record *r, char *err, size_t errlen)
{
    static const char *const names[] = {"v",
                                        "seq",
                                        "event_id",
                                        "time",
                                        "request_id",
                                        "service",
                                        "action",
                                        "method",
                                        "path",
                                        "status",
                                        "upstream_status",
                                        "subject",
                                        "actors",
                                        "source",
                                        "resource",
                                        "decision",
                                        "params",
                                        "params_redacted",
                                        "params_truncated",
                                        "params_dropped",
                                        "truncated",
                                        "redacted",
                                        "latency_us",
                                        "bytes_in",
                                        "bytes_out",
                                        "prev_hash",
                                        "hash"};
    struct ctx c = {.r = r, .err = err, .errlen = errlen};
    json_error_t jerr;
    long long x = 0;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!o) {
        fail(&c, "not JSON: %s", jerr.text);
        goto out;
    }
    if (members(&c, o, names, sizeof(names) / sizeof(names[0])))
        goto out;
    if (integer(&c, o, "v", AUDIT_SCHEMA_VERSION, AUDIT_SCHEMA_VERSION, &x)) {
        fail(&c, "unsupported schema version");
        goto out;
    }
    if (integer(&c, o, "seq", 0, INT64_MAX, &x))
        goto out;
    r->seq = (uint64_t)x;
    json_t *eid = json_object_get(o, "event_id");
    if (!json_is_string(eid) || json_string_length(eid) >= AUDIT_EVENT_ID_MAX) {
        fail(&c, "'event_id' is not a UUID");
        goto out;
    }
    memcpy(r->event_id, json_string_value(eid), json_string_length(eid) + 1);
    if (parse_time(&c, json_object_get(o, "time"), &r->time_ms) ||
        TEXT(&c, o, "request_id", r->request_id) || TEXT(&c, o, "service", r->service) ||
        TEXT(&c, o, "action", r->action) || TEXT(&c, o, "method", r->method) ||
        TEXT(&c, o, "path", r->path))
        goto out;
    if (integer(&c, o, "status", INT32_MIN, INT32_MAX, &x))
        goto out;
    r->status = (int)x;
    if (integer(&c, o, "upstream_status", INT32_MIN, INT32_MAX, &x))
        goto out;
    r->upstream_status = (int)x;
    if (parse_subject(&c, json_object_get(o, "subject")) ||
        parse_actors(&c, json_object_get(o, "actors")) ||
        parse_source(&c, json_object_get(o, "source")) ||
        parse_resource(&c, json_object_get(o, "resource")) ||
        parse_decision(&c, json_object_get(o, "decision")) ||
        parse_params(&c, json_object_get(o, "params")))
        goto out;
    c.where = NULL;
    if (mark_params(&c, json_object_get(o, "params_redacted"), "params_redacted", true) ||
        mark_params(&c, json_object_get(o, "params_truncated"), "params_truncated", false))
        goto out;
    if (integer(&c, o, "params_dropped", 0, UINT16_MAX, &x))
        goto out;
    r->params_dropped = (uint16_t)x;
    bool cut = r->truncated;
    if (boolean(&c, o, "truncated", &r->truncated) || boolean(&c, o, "redacted", &r->redacted))
        goto out;
    r->truncated = r->truncated || cut;
    if (integer(&c, o, "latency_us", 0, INT64_MAX, &x))
        goto out;
    r->latency_us = (uint64_t)x;
    if (integer(&c, o, "bytes_in", 0, INT64_MAX, &x))
        goto out;
    r->bytes_in = (uint64_t)x;
    if (integer(&c, o, "bytes_out", 0, INT64_MAX, &x))
        goto out;
    r->bytes_out = (uint64_t)x;
    if (hash_hex(&c, json_object_get(o, "prev_hash"), "prev_hash", r->prev_hash) ||
        hash_hex(&c, json_object_get(o, "hash"), "hash", r->hash))
        goto out;
    rc = 0;
out:
    json_decref(o);
    return rc;
}
