/*
 * revoke: see revoke.h.
 */
#include "auth/revoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int revoke_entry_normalise(const char *in, size_t len, char *out, char *err, size_t errlen)
{
    if (len > 7 && memcmp(in, "sha256:", 7) == 0) {
        unsigned char h[SHA256_LEN];
        if (auth_unhex(in + 7, len - 7, h, SHA256_LEN) != 0) {
            snprintf(err, errlen, "sha256: entry needs exactly 64 hex digits");
            return -1;
        }
        memcpy(out, "sha256:", 7);
        auth_hex(h, SHA256_LEN, out + 7);
        return 0;
    }
    if (len > 4 && memcmp(in, "jti:", 4) == 0) {
        if (len - 4 > 256) {
            snprintf(err, errlen, "jti: value longer than 256 characters");
            return -1;
        }
        for (size_t i = 4; i < len; i++) {
            unsigned char c = (unsigned char)in[i];
            if (c < 0x21 || c == 0x7f) {
                snprintf(err, errlen, "jti: value contains whitespace or control characters");
                return -1;
            }
        }
        memcpy(out, in, len);
        out[len] = '\0';
        return 0;
    }
    snprintf(err, errlen, "entry must be sha256:<hex> or jti:<value>");
    return -1;
}

void revoke_items_free(char **items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

int revoke_parse(const char *text, size_t len, const char *name, char ***items, size_t *n,
                 char *err, size_t errlen)
{
    char **arr = NULL;
    size_t cnt = 0, cap = 0, pos = 0;
    unsigned lineno = 0;
    char reason[160], entry[REVOKE_ENTRY_MAX];
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        size_t a = 0, b;
        while (a < ll && (line[a] == ' ' || line[a] == '\t'))
            a++;
        b = a;
        while (b < ll && line[b] != ' ' && line[b] != '\t' && line[b] != '\r' && line[b] != '#')
            b++;
        size_t c = b;
        while (c < ll && (line[c] == ' ' || line[c] == '\t' || line[c] == '\r'))
            c++;
        if (c < ll && line[c] != '#') {
            snprintf(err, errlen, "%s:%u: one entry per line", name, lineno);
            goto fail;
        }
        if (a == b)
            continue;
        if (revoke_entry_normalise(line + a, b - a, entry, reason, sizeof(reason)) != 0) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, reason);
            goto fail;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **na = realloc(arr, nc * sizeof(char *));
            if (!na)
                goto oom;
            arr = na;
            cap = nc;
        }
        if (!(arr[cnt] = strdup(entry)))
            goto oom;
        cnt++;
    }
    *items = arr;
    *n = cnt;
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", name);
fail:
    revoke_items_free(arr, cnt);
    return -1;
}

struct revset *revset_new(char **items, size_t n)
{
    struct revset *s = calloc(1, sizeof(*s));
    size_t cap = 8;
    while (cap < n * 2)
        cap <<= 1;
    if (!s || !(s->slots = calloc(cap, sizeof(uint32_t)))) {
        free(s);
        revoke_items_free(items, n);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->mask = cap - 1;
    s->items = items;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = fnv1a(items[i]) & s->mask;
        bool dup = false;
        while (s->slots[k]) {
            if (strcmp(items[s->slots[k] - 1], items[i]) == 0) {
                dup = true;
                break;
            }
            k = (k + 1) & s->mask;
        }
        if (dup) {
            free(items[i]);
            continue;
        }
        items[kept] = items[i];
        s->slots[k] = (uint32_t)(kept + 1);
        kept++;
    }
    s->n = kept;
    return s;
}

struct revset *revset_with(const struct revset *base, char *const *extra, size_t nextra)
{
    size_t nb = base ? base->n : 0;
    char **items = calloc(nb + nextra + 1, sizeof(char *));
    if (!items)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < nb + nextra; i++) {
        const char *src = i < nb ? base->items[i] : extra[i - nb];
        if (!(items[n] = strdup(src))) {
            revoke_items_free(items, n);
            return NULL;
        }
        n++;
    }
    return revset_new(items, n);
}

bool revset_has(const struct revset *s, const char *entry)
{
    if (!s || s->n == 0)
        return false;
    size_t k = fnv1a(entry) & s->mask;
    while (s->slots[k]) {
        if (strcmp(s->items[s->slots[k] - 1], entry) == 0)
            return true;
        k = (k + 1) & s->mask;
    }
    return false;
}

bool revset_has_hash(const struct revset *s, const unsigned char hash[SHA256_LEN])
{
    if (!s || s->n == 0)
        return false;
    char e[8 + 2 * SHA256_LEN];
    memcpy(e, "sha256:", 7);
    auth_hex(hash, SHA256_LEN, e + 7);
    return revset_has(s, e);
}

bool revset_has_jti(const struct revset *s, const char *jti)
{
    if (!s || s->n == 0 || !jti || !*jti || strlen(jti) > 256)
        return false;
    char e[8 + 256];
    snprintf(e, sizeof(e), "jti:%s", jti);
    return revset_has(s, e);
}

struct revset *revset_ref(struct revset *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void revset_release(struct revset *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    revoke_items_free(s->items, s->n);
    free(s->slots);
    free(s);
}
