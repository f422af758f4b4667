/*
 * policy keywords and notations: privilege and securable-type names, which privilege applies
 * to which securable type, principal notation, securable name syntax and "did you mean"
 * suggestions. Pure functions over constant tables; any thread.
 */
#include "policy/internal.h"
#include "policy/lexer.h"

#include <ctype.h>
#include <stdio.h>

static const char *const priv_names[POLICY_PRIV_COUNT] = {
    "USE CATALOG", "USE SCHEMA",     "BROWSE",  "CREATE EXPERIMENT", "CREATE MODEL",
    "READ",        "MODIFY",         "EXECUTE", "APPLY TAG",         "CREATE MODEL VERSION",
    "MANAGE",      "ALL PRIVILEGES",
};

static const char *const kind_names[POLICY_KIND_COUNT] = {"CATALOG", "SCHEMA", "EXPERIMENT",
                                                          "MODEL"};

#define B(p) (1u << (p))
#define ANY_KIND                                                                                   \
    (B(POLICY_PRIV_BROWSE) | B(POLICY_PRIV_APPLY_TAG) | B(POLICY_PRIV_MANAGE) |                    \
     B(POLICY_PRIV_ALL_PRIVILEGES))

/* Containers take every privilege of their children so it can be inherited; see
 * policies/README.md "Privileges". */
static const uint32_t applies[POLICY_KIND_COUNT] = {
    [POLICY_KIND_CATALOG] = (1u << POLICY_PRIV_COUNT) - 1,
    [POLICY_KIND_SCHEMA] = ((1u << POLICY_PRIV_COUNT) - 1) & ~B(POLICY_PRIV_USE_CATALOG),
    [POLICY_KIND_EXPERIMENT] = ANY_KIND | B(POLICY_PRIV_READ) | B(POLICY_PRIV_MODIFY),
    [POLICY_KIND_MODEL] = ANY_KIND | B(POLICY_PRIV_EXECUTE) | B(POLICY_PRIV_CREATE_MODEL_VERSION),
};

const char *policy_priv_name(enum policy_priv p)
{
    return (unsigned)p < POLICY_PRIV_COUNT ? priv_names[p] : "?";
}

const char *policy_kind_name(enum policy_kind k)
{
    return (unsigned)k < POLICY_KIND_COUNT ? kind_names[k] : "?";
}

const char *policy_reason_name(enum policy_reason r)
{
    static const char *const n[] = {"grant",        "owner",       "parent-owner", "admin",
                                    "no-privilege", "no-traverse", "invalid"};
    return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "?";
}

bool policy_priv_applies(enum policy_priv p, enum policy_kind k)
{
    if ((unsigned)p >= POLICY_PRIV_COUNT || (unsigned)k >= POLICY_KIND_COUNT)
        return false;
    return (applies[k] & B(p)) != 0;
}

uint32_t priv_applies_mask(enum policy_kind k)
{
    return (unsigned)k < POLICY_KIND_COUNT ? applies[k] : 0;
}

/* Compares s (words separated by runs of spaces/underscores) with a keyword whose words are
 * separated by single spaces, case-insensitively. */
static bool words_equal(const char *s, size_t len, const char *kw)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '_'))
        i++;
    while (*kw) {
        if (*kw == ' ') {
            if (i >= len || (s[i] != ' ' && s[i] != '_'))
                return false;
            while (i < len && (s[i] == ' ' || s[i] == '_'))
                i++;
            kw++;
            continue;
        }
        if (i >= len || toupper((unsigned char)s[i]) != *kw)
            return false;
        i++;
        kw++;
    }
    while (i < len && (s[i] == ' ' || s[i] == '_'))
        i++;
    return i == len;
}

int policy_priv_parse(const char *s, size_t len, enum policy_priv *out)
{
    for (int p = 0; p < POLICY_PRIV_COUNT; p++) {
        if (words_equal(s, len, priv_names[p])) {
            *out = (enum policy_priv)p;
            return 0;
        }
    }
    return -1;
}

int policy_kind_parse(const char *s, size_t len, enum policy_kind *out)
{
    for (int k = 0; k < POLICY_KIND_COUNT; k++) {
        if (words_equal(s, len, kind_names[k])) {
            *out = (enum policy_kind)k;
            return 0;
        }
    }
    return -1;
}

static bool has_prefix_ci(const char *s, size_t len, const char *pre)
{
    size_t n = strlen(pre);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != pre[i])
            return false;
    return true;
}

int principal_parse(const char *s, size_t len, enum policy_principal_kind *kind,
                    struct policy_str *name, const char **err)
{
    static const struct {
        const char *pre;
        enum policy_principal_kind k;
    } pres[] = {{"group:", POLICY_PRINCIPAL_GROUP},
                {"sp:", POLICY_PRINCIPAL_SP},
                {"user:", POLICY_PRINCIPAL_USER}};
    if (len == 0) {
        *err = "empty principal";
        return -1;
    }
    for (size_t i = 0; i < sizeof(pres) / sizeof(pres[0]); i++) {
        size_t n = strlen(pres[i].pre);
        if (has_prefix_ci(s, len, pres[i].pre)) {
            if (len == n) {
                *err = "empty name after principal prefix";
                return -1;
            }
            *kind = pres[i].k;
            name->ptr = s + n;
            name->len = len - n;
            return 0;
        }
    }
    for (size_t i = 0; i < len && s[i] != '@'; i++) {
        if (s[i] == ':') {
            *err = "unknown principal prefix (use user:, group: or sp:)";
            return -1;
        }
    }
    *kind = POLICY_PRINCIPAL_USER;
    name->ptr = s;
    name->len = len;
    return 0;
}

int policy_principal_parse(const char *s, size_t len, enum policy_principal_kind *kind,
                           struct policy_str *name, char *err, size_t errlen)
{
    const char *e;
    if (principal_parse(s, len, kind, name, &e) < 0) {
        snprintf(err, errlen, "%s: '%.*s'", e, (int)(len > 80 ? 80 : len), s);
        return -1;
    }
    return 0;
}

/* Case-insensitive Levenshtein distance, capped inputs. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[64];
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            int ca = toupper((unsigned char)a[i - 1]), cb = toupper((unsigned char)b[j - 1]);
            size_t best = diag + (ca != cb);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *suggest(const char *word, size_t len, const char *const *cands, size_t ncands)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < ncands; i++) {
        size_t d = edit_distance(word, len, cands[i], strlen(cands[i]));
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    if (best && best_d > 0 && best_d <= limit)
        return best;
    return NULL;
}

bool name_needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_'))
            return true;
    }
    return false;
}

static void put(char *buf, size_t buflen, size_t *pos, char c)
{
    if (*pos + 1 < buflen)
        buf[*pos] = c;
    (*pos)++;
}

void name_append(char *buf, size_t buflen, size_t *pos, const char *s, size_t len)
{
    bool q = name_needs_quotes(s, len);
    if (q)
        put(buf, buflen, pos, '`');
    for (size_t i = 0; i < len; i++) {
        put(buf, buflen, pos, s[i]);
        if (q && s[i] == '`')
            put(buf, buflen, pos, '`');
    }
    if (q)
        put(buf, buflen, pos, '`');
    if (buflen > 0)
        buf[*pos < buflen ? *pos : buflen - 1] = '\0';
}

void name_join(const struct policy_str *parts, int n, char *buf, size_t buflen)
{
    size_t pos = 0;
    if (buflen > 0)
        buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            put(buf, buflen, &pos, '.');
        name_append(buf, buflen, &pos, parts[i].ptr, parts[i].len);
    }
}

size_t policy_name_format(const struct policy_object *obj, char *buf, size_t buflen)
{
    struct policy_str parts[3] = {obj->catalog, obj->schema, obj->name};
    size_t pos = 0;
    if (buflen > 0)
        buf[0] = '\0';
    int n = (unsigned)obj->kind < POLICY_KIND_COUNT ? kind_depth(obj->kind) : 0;
    for (int i = 0; i < n; i++) {
        if (i > 0)
            put(buf, buflen, &pos, '.');
        name_append(buf, buflen, &pos, parts[i].ptr ? parts[i].ptr : "", parts[i].len);
    }
    if (buflen > 0)
        buf[pos < buflen ? pos : buflen - 1] = '\0';
    return pos;
}

int policy_name_parse(enum policy_kind k, const char *s, size_t len, char *buf,
                      struct policy_object *obj, char *err, size_t errlen)
{
    static const char *const shapes[POLICY_KIND_COUNT] = {
        "catalog", "catalog.schema", "catalog.schema.experiment", "catalog.schema.model"};
    if ((unsigned)k >= POLICY_KIND_COUNT) {
        snprintf(err, errlen, "unknown securable type");
        return -1;
    }
    struct plex lx;
    struct plex_token t;
    struct policy_str parts[3];
    int n = 0;
    size_t used = 0;
    plex_init(&lx, s, len);
    for (;;) {
        plex_next(&lx, &t);
        if (t.type == PLEX_ERROR) {
            snprintf(err, errlen, "%s", t.err);
            return -1;
        }
        if (t.type != PLEX_WORD && t.type != PLEX_QUOTED) {
            goto malformed;
            return -1;
        }
        if (n == 3) {
            goto malformed;
            return -1;
        }
        parts[n].ptr = buf + used;
        parts[n].len = plex_unquote(&t, buf + used);
        used += parts[n].len;
        n++;
        plex_next(&lx, &t);
        if (t.type == PLEX_EOF)
            break;
        if (t.type != PLEX_DOT) {
            goto malformed;
            return -1;
        }
    }
    if (n != kind_depth(k))
        goto malformed;
    memset(obj, 0, sizeof(*obj));
    obj->kind = k;
    obj->catalog = parts[0];
    if (n > 1)
        obj->schema = parts[1];
    if (n > 2)
        obj->name = parts[2];
    return 0;
malformed:
    snprintf(err, errlen, "malformed name '%.*s' for %s: expected %s", (int)(len > 200 ? 200 : len),
             s, kind_names[k], shapes[k]);
    return -1;
}
