/*
 * libFuzzer target for mlflow/naming.
 *
 * Input layout: byte 0 picks experiment or model (bit 0) and one of two rule sets (bit 1);
 * the rest is the MLflow name, fed from an exact-size heap copy. Invariants:
 * - naming_map refuses exactly the names that are empty, not valid UTF-8 or contain a control
 *   character (checked against an independent decoder), with a message;
 * - otherwise every part is non-empty; the parts spell the name back by the rule that
 *   matched (catalog.schema.name, /Users/schema/name, or the whole name in the default
 *   catalog and schema); qualified parts are bare words; a home schema has no '/' or ':';
 *   the home rule never applies to models; home_user is the schema exactly when the
 *   catalog is the home catalog;
 * - naming_format's text parses back with the policy language (policy_name_parse) to the
 *   same three parts, and truncated formatting stays NUL-terminated and reports the same
 *   length.
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/naming.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/* Independent check: valid UTF-8 (no overlongs, surrogates or values past U+10FFFF) and no
 * code point below U+0020 or in U+007F..U+009F. */
static bool clean(const unsigned char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len;) {
        unsigned cp, need;
        if (s[i] < 0x80) {
            cp = s[i];
            need = 0;
        } else if ((s[i] & 0xe0) == 0xc0) {
            cp = s[i] & 0x1f;
            need = 1;
        } else if ((s[i] & 0xf0) == 0xe0) {
            cp = s[i] & 0x0f;
            need = 2;
        } else if ((s[i] & 0xf8) == 0xf0) {
            cp = s[i] & 0x07;
            need = 3;
        } else {
            return false;
        }
        if (len - i - 1 < need)
            return false;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return false;
        i += need + 1;
    }
    return true;
}

static bool eq(struct policy_str a, const char *b, size_t bl)
{
    return a.len == bl && memcmp(a.ptr, b, bl) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const struct naming_rules sets[2] = {{"main", "default", "users"},
                                                {"c0", "s_1", "Home"}};
    const struct naming_rules *r = &sets[(data[0] >> 1) & 1];
    enum naming_what what = data[0] & 1 ? NAMING_MODEL : NAMING_EXPERIMENT;
    size_t len = size - 1;
    char *name = malloc(len ? len : 1);
    if (len)
        memcpy(name, data + 1, len);

    struct naming_result res;
    char err[256] = "";
    int rc = naming_map(r, what, name, len, &res, err, sizeof(err));
    CHECK((rc == 0) == clean((const unsigned char *)name, len));
    if (rc != 0) {
        CHECK(rc == -1 && err[0] != '\0');
        free(name);
        return 0;
    }
    CHECK(res.catalog.len && res.schema.len && res.name.len);
    switch (res.rule) {
    case NAMING_RULE_QUALIFIED:
        CHECK(naming_is_bare_word(res.catalog.ptr, res.catalog.len));
        CHECK(naming_is_bare_word(res.schema.ptr, res.schema.len));
        CHECK(res.catalog.ptr == name &&
              res.catalog.len + 1 + res.schema.len + 1 + res.name.len == len);
        CHECK(name[res.catalog.len] == '.' && res.schema.ptr == name + res.catalog.len + 1);
        CHECK(name[res.catalog.len + 1 + res.schema.len] == '.');
        CHECK(res.name.ptr == name + len - res.name.len);
        break;
    case NAMING_RULE_HOME:
        CHECK(what == NAMING_EXPERIMENT);
        CHECK(eq(res.catalog, r->home_catalog, strlen(r->home_catalog)));
        CHECK(len == 7 + res.schema.len + 1 + res.name.len && memcmp(name, "/Users/", 7) == 0);
        CHECK(res.schema.ptr == name + 7 && name[7 + res.schema.len] == '/');
        CHECK(!memchr(res.schema.ptr, '/', res.schema.len));
        CHECK(!memchr(res.schema.ptr, ':', res.schema.len));
        CHECK(res.name.ptr == name + len - res.name.len);
        break;
    case NAMING_RULE_DEFAULT:
        CHECK(eq(res.catalog, r->default_catalog, strlen(r->default_catalog)));
        CHECK(eq(res.schema, r->default_schema, strlen(r->default_schema)));
        CHECK(res.name.ptr == name && res.name.len == len);
        break;
    default:
        CHECK(0);
    }
    bool in_home = eq(res.catalog, r->home_catalog, strlen(r->home_catalog));
    if (in_home)
        CHECK(res.home_user.ptr == res.schema.ptr && res.home_user.len == res.schema.len);
    else
        CHECK(res.home_user.len == 0);

    /* the formatted securable reads back with the policy language */
    size_t need = naming_format(&res, NULL, 0);
    char *text = malloc(need + 1);
    CHECK(naming_format(&res, text, need + 1) == need && strlen(text) == need);
    char small[7];
    CHECK(naming_format(&res, small, sizeof(small)) == need);
    CHECK(strlen(small) == (need < sizeof(small) ? need : sizeof(small) - 1));
    if (res.catalog.len <= 4096 && res.schema.len <= 4096 && res.name.len <= 4096) {
        char *buf = malloc(need + 1);
        struct policy_object obj;
        char perr[256];
        if (policy_name_parse(POLICY_KIND_EXPERIMENT, text, need, buf, &obj, perr, sizeof(perr)) !=
            0) {
            fprintf(stderr, "formatted '%s' does not parse: %s\n", text, perr);
            abort();
        }
        CHECK(eq(obj.catalog, res.catalog.ptr, res.catalog.len));
        CHECK(eq(obj.schema, res.schema.ptr, res.schema.len));
        CHECK(eq(obj.name, res.name.ptr, res.name.len));
        free(buf);
    }
    free(text);

    struct policy_object o;
    struct policy_str owner = {"x", 1};
    naming_object(&res, what, owner, &o);
    CHECK(o.kind == (what == NAMING_MODEL ? POLICY_KIND_MODEL : POLICY_KIND_EXPERIMENT));
    naming_schema_object(&res, &o);
    CHECK(o.kind == POLICY_KIND_SCHEMA && o.owner.len == res.home_user.len);
    free(name);
    return 0;
}
