/*
 * naming: see naming.h. One pass over the name to validate it (UTF-8, no control
 * characters), then at most two short scans to recognise rules (a) and (b). No allocation.
 */
#include "mlflow/naming.h"

#include <stdio.h>
#include <string.h>

#define HOME_PREFIX     "/Users/"
#define HOME_PREFIX_LEN (sizeof(HOME_PREFIX) - 1)

static bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool naming_is_bare_word(const char *s, size_t len)
{
    if (!s || len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_word_byte((unsigned char)s[i]))
            return false;
    return true;
}

bool naming_is_clean_text(const char *s, size_t len)
{
    if (!s || len == 0)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte, overlong lead (C0, C1) or beyond U+10FFFF */
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false; /* overlong, or beyond Unicode */
        if (cp >= 0xd800 && cp <= 0xdfff)
            return false; /* UTF-16 surrogate */
        if (cp >= 0x80 && cp <= 0x9f)
            return false; /* C1 control */
        i += n;
    }
    return true;
}

static bool rule_word_ok(const char *s)
{
    return s && naming_is_bare_word(s, strlen(s));
}

int naming_rules_check(const struct naming_rules *r, char *err, size_t errlen)
{
    if (!r) {
        snprintf(err, errlen, "naming rules missing");
        return -1;
    }
    if (!rule_word_ok(r->default_catalog)) {
        snprintf(err, errlen, "default_catalog must be a bare word ([A-Za-z0-9_]+)");
        return -1;
    }
    if (!rule_word_ok(r->default_schema)) {
        snprintf(err, errlen, "default_schema must be a bare word ([A-Za-z0-9_]+)");
        return -1;
    }
    if (!rule_word_ok(r->home_catalog)) {
        snprintf(err, errlen, "home_catalog must be a bare word ([A-Za-z0-9_]+)");
        return -1;
    }
    if (strcmp(r->default_catalog, r->home_catalog) == 0) {
        snprintf(err, errlen,
                 "home_catalog and default_catalog must differ (every schema of the home "
                 "catalog is a user's home)");
        return -1;
    }
    return 0;
}

static struct policy_str view(const char *p, size_t len)
{
    struct policy_str s = {p, len};
    return s;
}

static struct policy_str cview(const char *p)
{
    return view(p, strlen(p));
}

/* Rule (a): catalog.schema.rest with bare-word catalog and schema, non-empty rest. */
static bool match_qualified(const char *s, size_t len, struct naming_result *out)
{
    size_t i = 0;
    while (i < len && is_word_byte((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= len || s[i] != '.')
        return false;
    size_t cat_len = i;
    size_t sch = ++i;
    while (i < len && is_word_byte((unsigned char)s[i]))
        i++;
    if (i == sch || i >= len || s[i] != '.')
        return false;
    size_t sch_len = i - sch;
    size_t rest = i + 1;
    if (rest >= len)
        return false;
    out->rule = NAMING_RULE_QUALIFIED;
    out->catalog = view(s, cat_len);
    out->schema = view(s + sch, sch_len);
    out->name = view(s + rest, len - rest);
    return true;
}

/* Rule (b): /Users/<user>/<rest>, user without '/' or ':', both non-empty. */
static bool match_home(const struct naming_rules *r, const char *s, size_t len,
                       struct naming_result *out)
{
    if (len <= HOME_PREFIX_LEN || memcmp(s, HOME_PREFIX, HOME_PREFIX_LEN) != 0)
        return false;
    size_t u = HOME_PREFIX_LEN, i = u;
    while (i < len && s[i] != '/') {
        if (s[i] == ':')
            return false; /* "group:x", "sp:x", "user:x" would be read as other principals */
        i++;
    }
    if (i == u || i >= len || i + 1 >= len)
        return false;
    out->rule = NAMING_RULE_HOME;
    out->catalog = cview(r->home_catalog);
    out->schema = view(s + u, i - u);
    out->name = view(s + i + 1, len - i - 1);
    return true;
}

int naming_map(const struct naming_rules *r, enum naming_what what, const char *name, size_t len,
               struct naming_result *out, char *err, size_t errlen)
{
    if (naming_rules_check(r, err, errlen) < 0)
        return -1;
    if (!out || (what != NAMING_EXPERIMENT && what != NAMING_MODEL)) {
        snprintf(err, errlen, "invalid naming request");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (!name || len == 0) {
        snprintf(err, errlen, "empty name");
        return -1;
    }
    if (!naming_is_clean_text(name, len)) {
        snprintf(err, errlen, "name is not valid UTF-8 or contains a control character");
        return -1;
    }
    if (!match_qualified(name, len, out) &&
        !(what == NAMING_EXPERIMENT && match_home(r, name, len, out))) {
        out->rule = NAMING_RULE_DEFAULT;
        out->catalog = cview(r->default_catalog);
        out->schema = cview(r->default_schema);
        out->name = view(name, len);
    }
    size_t hc = strlen(r->home_catalog);
    if (out->catalog.len == hc && memcmp(out->catalog.ptr, r->home_catalog, hc) == 0)
        out->home_user = out->schema;
    return 0;
}

void naming_object(const struct naming_result *res, enum naming_what what, struct policy_str owner,
                   struct policy_object *obj)
{
    memset(obj, 0, sizeof(*obj));
    obj->kind = what == NAMING_MODEL ? POLICY_KIND_MODEL : POLICY_KIND_EXPERIMENT;
    obj->catalog = res->catalog;
    obj->schema = res->schema;
    obj->name = res->name;
    obj->owner = owner;
}

void naming_schema_object(const struct naming_result *res, struct policy_object *obj)
{
    memset(obj, 0, sizeof(*obj));
    obj->kind = POLICY_KIND_SCHEMA;
    obj->catalog = res->catalog;
    obj->schema = res->schema;
    obj->owner = res->home_user;
}

size_t naming_format(const struct naming_result *res, char *buf, size_t buflen)
{
    struct policy_object obj;
    naming_object(res, NAMING_EXPERIMENT, view(NULL, 0), &obj);
    return policy_name_format(&obj, buf, buflen);
}
