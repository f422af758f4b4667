/*
 * audit/record: see record.h. Pure functions filling a caller-owned record; no allocation,
 * no I/O; any thread.
 */
#include "audit/record.h"

#include <string.h>

/* Largest n' <= n such that cutting src at n' does not split a UTF-8 sequence (when src is
 * valid there; invalid bytes are left to the formatters, which replace them). */
static size_t utf8_cut(const char *src, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    /* Back off over at most 3 continuation bytes to the lead byte, and drop it too if its
     * sequence would not fit. */
    size_t back = 0;
    while (k > 0 && back < 3 && ((unsigned char)src[k] & 0xC0) == 0x80) {
        k--;
        back++;
    }
    return k;
}

void audit_text_set(struct audit_record *r, char *dst, uint16_t *dst_len, size_t cap,
                    const char *src, size_t n)
{
    if (!src)
        n = 0;
    if (n && audit_value_has_token(src, n)) {
        src = AUDIT_REDACTED;
        n = strlen(AUDIT_REDACTED);
        r->redacted = true;
    }
    size_t m = utf8_cut(src, n, cap - 1);
    if (m < n)
        r->truncated = true;
    if (m)
        memcpy(dst, src, m);
    dst[m] = '\0';
    *dst_len = (uint16_t)m;
}

void audit_record_init(struct audit_record *r, int64_t time_ms, const char *service)
{
    memset(r, 0, sizeof(*r));
    r->time_ms = time_ms;
    if (service)
        AUDIT_SET(r, service, service, strlen(service));
}

void audit_record_set_path(struct audit_record *r, const char *path, size_t n)
{
    const char *q = path ? memchr(path, '?', n) : NULL;
    AUDIT_SET(r, path, path, q ? (size_t)(q - path) : n);
}

void audit_record_set_source(struct audit_record *r, const char *ip, size_t n, uint16_t port)
{
    AUDIT_SET(r, src_ip, ip, n);
    r->src_port = port;
}

void audit_record_add_group(struct audit_record *r, const char *g, size_t n)
{
    if (r->subject.n_groups >= AUDIT_GROUPS) {
        if (r->subject.groups_omitted < UINT16_MAX)
            r->subject.groups_omitted++;
        r->truncated = true;
        return;
    }
    AUDIT_SET(r, subject.groups[r->subject.n_groups].name, g, n);
    r->subject.n_groups++;
}

void audit_record_add_actor(struct audit_record *r, const char *kind, const char *id, size_t n)
{
    if (r->n_actors >= AUDIT_ACTORS) {
        r->truncated = true;
        return;
    }
    uint8_t i = r->n_actors++;
    AUDIT_SET(r, actors[i].kind, kind, kind ? strlen(kind) : 0);
    AUDIT_SET(r, actors[i].id, id, n);
}

/* Keys of params and resource ids must be non-empty visible ASCII, so two distinct keys can
 * never render as the same JSON member name (as two invalid UTF-8 keys would, via U+FFFD). */
static bool key_ok(const char *key, size_t n)
{
    if (!key || n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7F)
            return false;
    return true;
}

void audit_record_add_resource_id(struct audit_record *r, const char *key, const char *val,
                                  size_t n)
{
    size_t klen = key ? strlen(key) : 0;
    bool dup = false;
    for (uint8_t i = 0; i < r->resource.n_ids && key_ok(key, klen); i++)
        dup = dup || (r->resource.ids[i].key.len == klen &&
                      memcmp(r->resource.ids[i].key.s, key, klen) == 0);
    if (r->resource.n_ids >= AUDIT_RES_IDS || !key_ok(key, klen) || dup) {
        r->truncated = true;
        return;
    }
    uint8_t i = r->resource.n_ids++;
    AUDIT_SET(r, resource.ids[i].key, key, klen);
    AUDIT_SET(r, resource.ids[i].value, val, n);
}

static const char *const secret_keys[] = {
    "password", "passwd", "secret",     "token",       "authorization",
    "api_key",  "apikey", "credential", "private_key", "cookie",
};

bool audit_key_is_secret(const char *key, size_t n)
{
    char low[AUDIT_PARAM_KEY_MAX * 2];
    /* A key too long to normalise is treated as secret: fail closed. */
    if (n >= sizeof(low))
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        else if (c == '-')
            c = '_';
        low[i] = (char)c;
    }
    low[n] = '\0';
    for (size_t k = 0; k < sizeof(secret_keys) / sizeof(secret_keys[0]); k++)
        if (memmem(low, n, secret_keys[k], strlen(secret_keys[k])))
            return true;
    return false;
}

static bool b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '=';
}

static bool prefix_ci(const char *s, size_t n, const char *p)
{
    size_t m = strlen(p);
    if (n < m)
        return false;
    for (size_t i = 0; i < m; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != p[i])
            return false;
    }
    return true;
}

bool audit_value_looks_secret(const char *val, size_t n)
{
    size_t lead = 0;
    while (lead < n && (val[lead] == ' ' || val[lead] == '\t' || val[lead] == '"'))
        lead++;
    if (prefix_ci(val + lead, n - lead, "bearer ") || prefix_ci(val + lead, n - lead, "basic "))
        return true;
    return audit_value_has_token(val, n);
}

bool audit_value_has_token(const char *val, size_t n)
{
    if (n >= 8 && memmem(val, n, "wdn_pat_", 8))
        return true;
    /* A JWT anywhere: "eyJ" starting a run of base64url with at least two dots, each part
     * non-empty before the second dot. */
    for (size_t i = 0; i + 3 <= n; i++) {
        if (val[i] != 'e' || val[i + 1] != 'y' || val[i + 2] != 'J')
            continue;
        if (i > 0 && (b64url_char((unsigned char)val[i - 1]) || val[i - 1] == '.'))
            continue;
        size_t dots = 0, seg = 0;
        for (size_t j = i; j < n; j++) {
            unsigned char c = (unsigned char)val[j];
            if (c == '.') {
                if (seg == 0)
                    break;
                dots++;
                seg = 0;
                if (dots == 2)
                    return true;
            } else if (b64url_char(c)) {
                seg++;
            } else {
                break;
            }
        }
    }
    return false;
}

bool audit_record_add_param(struct audit_record *r, const char *key, size_t klen, const char *val,
                            size_t vlen)
{
    if (!key_ok(key, klen) || (!val && vlen) || audit_value_has_token(key, klen))
        goto drop;
    if (r->n_params >= AUDIT_PARAMS)
        goto drop;
    for (uint8_t i = 0; i < r->n_params; i++)
        if (r->params[i].key.len == klen && memcmp(r->params[i].key.s, key, klen) == 0)
            goto drop;
    bool redact = audit_key_is_secret(key, klen) || audit_value_looks_secret(val, vlen);
    size_t km = utf8_cut(key, klen, AUDIT_PARAM_KEY_MAX - 1);
    const char *v = redact ? AUDIT_REDACTED : val;
    size_t vn = redact ? strlen(AUDIT_REDACTED) : vlen;
    size_t vm = utf8_cut(v, vn, AUDIT_PARAM_VALUE_MAX - 1);
    if (r->params_bytes + km + vm > AUDIT_PARAMS_TOTAL_MAX)
        goto drop;
    struct audit_param *p = &r->params[r->n_params++];
    bool trunc_before = r->truncated;
    audit_text_set(r, p->key.s, &p->key.len, sizeof(p->key.s), key, klen);
    audit_text_set(r, p->value.s, &p->value.len, sizeof(p->value.s), v, vn);
    p->redacted = redact;
    p->truncated = km < klen || vm < vn;
    r->truncated = trunc_before || p->truncated;
    r->params_bytes = (uint16_t)(r->params_bytes + km + vm);
    return true;
drop:
    if (r->params_dropped < UINT16_MAX)
        r->params_dropped++;
    r->truncated = true;
    return false;
}
