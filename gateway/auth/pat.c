/*
 * pat: see pat.h.
 */
#include "auth/pat.h"

#include "auth/files.h"
#include "auth/principal.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t crc32_of(const char *s, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void checksum_chars(const char *s, size_t len, char out[PAT_CHECKSUM_LEN])
{
    uint32_t c = crc32_of(s, len);
    for (int i = PAT_CHECKSUM_LEN - 1; i >= 0; i--) {
        out[i] = base62[c % 62];
        c /= 62;
    }
}

int pat_generate(char out[PAT_TOKEN_LEN + 1], char id[PAT_ID_LEN + 1], char *err, size_t errlen)
{
    unsigned char rnd[PAT_RANDOM_LEN];
    unsigned char idr[8];
    memcpy(out, PAT_PREFIX, PAT_PREFIX_LEN);
    /* Rejection sampling keeps the base62 characters uniform. */
    size_t filled = 0;
    while (filled < PAT_RANDOM_LEN) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            snprintf(err, errlen, "random number generator failed");
            return -1;
        }
        for (size_t i = 0; i < sizeof(rnd) && filled < PAT_RANDOM_LEN; i++)
            if (rnd[i] < 248)
                out[PAT_PREFIX_LEN + filled++] = base62[rnd[i] % 62];
    }
    checksum_chars(out, PAT_PREFIX_LEN + PAT_RANDOM_LEN, out + PAT_PREFIX_LEN + PAT_RANDOM_LEN);
    out[PAT_TOKEN_LEN] = '\0';
    if (RAND_bytes(idr, sizeof(idr)) != 1) {
        snprintf(err, errlen, "random number generator failed");
        return -1;
    }
    memcpy(id, "pat_", 4);
    auth_hex(idr, sizeof(idr), id + 4);
    return 0;
}

bool pat_is_well_formed(const char *tok, size_t len)
{
    if (len != PAT_TOKEN_LEN || memcmp(tok, PAT_PREFIX, PAT_PREFIX_LEN) != 0)
        return false;
    for (size_t i = PAT_PREFIX_LEN; i < len; i++)
        if (!strchr(base62, tok[i]) || tok[i] == '\0')
            return false;
    char sum[PAT_CHECKSUM_LEN];
    checksum_chars(tok, PAT_PREFIX_LEN + PAT_RANDOM_LEN, sum);
    return memcmp(sum, tok + PAT_PREFIX_LEN + PAT_RANDOM_LEN, PAT_CHECKSUM_LEN) == 0;
}

void pat_record_clear(struct pat_record *r)
{
    if (!r)
        return;
    free(r->user);
    for (size_t i = 0; i < r->ngroups; i++)
        free(r->groups[i]);
    free(r->groups);
    for (size_t i = 0; i < r->nscopes; i++)
        free(r->scopes[i]);
    free(r->scopes);
    memset(r, 0, sizeof(*r));
}

static int str_array(json_t *v, const char *what, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (!json_is_array(v)) {
        snprintf(err, errlen, "\"%s\" must be an array of strings", what);
        return -1;
    }
    size_t cnt = json_array_size(v);
    if (cnt > 1024) {
        snprintf(err, errlen, "\"%s\" has too many entries", what);
        return -1;
    }
    char **arr = calloc(cnt + 1, sizeof(char *));
    if (!arr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || !principal_name_ok(json_string_value(e), json_string_length(e)) ||
            !(arr[i] = strdup(json_string_value(e)))) {
            snprintf(err, errlen, "\"%s\" entry %zu is not a valid name", what, i);
            for (size_t k = 0; k < i; k++)
                free(arr[k]);
            free(arr);
            return -1;
        }
    }
    *out = arr;
    *n = cnt;
    return 0;
}

static int int_field(json_t *o, const char *key, bool required, int64_t *out, char *err,
                     size_t errlen)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v) {
        if (required) {
            snprintf(err, errlen, "missing \"%s\"", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "\"%s\" must be a non-negative integer (epoch seconds)", key);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int pat_record_parse(const char *line, size_t len, struct pat_record *out, char *err, size_t errlen)
{
    static const char *const known[] = {"id",      "hash",    "user",    "groups", "scopes",
                                        "created", "expires", "revoked", NULL};
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "invalid JSON: %s", je.text);
        return -1;
    }
    if (!json_is_object(o)) {
        snprintf(err, errlen, "a record must be a JSON object");
        goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k) != 0)
            i++;
        if (!known[i]) {
            snprintf(err, errlen, "unknown key \"%.40s\"", k);
            goto fail;
        }
    }
    json_t *id = json_object_get(o, "id"), *hash = json_object_get(o, "hash"),
           *user = json_object_get(o, "user");
    if (!json_is_string(id) || json_string_length(id) != PAT_ID_LEN ||
        strncmp(json_string_value(id), "pat_", 4) != 0) {
        snprintf(err, errlen, "\"id\" must be a string like pat_<16 hex>");
        goto fail;
    }
    memcpy(out->id, json_string_value(id), PAT_ID_LEN + 1);
    if (!json_is_string(hash) || json_string_length(hash) != 7 + 2 * SHA256_LEN ||
        strncmp(json_string_value(hash), "sha256:", 7) != 0 ||
        auth_unhex(json_string_value(hash) + 7, 2 * SHA256_LEN, out->hash, SHA256_LEN) != 0) {
        snprintf(err, errlen, "\"hash\" must be \"sha256:<64 hex digits>\"");
        goto fail;
    }
    if (!json_is_string(user) ||
        !principal_user_ok(json_string_value(user), json_string_length(user)) ||
        strlen(json_string_value(user)) != json_string_length(user)) {
        snprintf(err, errlen, "\"user\" must be a non-empty string without control characters");
        goto fail;
    }
    if (!(out->user = strdup(json_string_value(user)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (str_array(json_object_get(o, "groups"), "groups", &out->groups, &out->ngroups, err,
                  errlen) != 0 ||
        str_array(json_object_get(o, "scopes"), "scopes", &out->scopes, &out->nscopes, err,
                  errlen) != 0)
        goto fail;
    if (int_field(o, "created", true, &out->created_s, err, errlen) != 0 ||
        int_field(o, "expires", false, &out->expires_s, err, errlen) != 0 ||
        int_field(o, "revoked", false, &out->revoked_s, err, errlen) != 0)
        goto fail;
    json_decref(o);
    return 0;
fail:
    json_decref(o);
    pat_record_clear(out);
    return -1;
}

static json_t *array_of(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

char *pat_record_format(const struct pat_record *r)
{
    char hash[8 + 2 * SHA256_LEN];
    memcpy(hash, "sha256:", 7);
    auth_hex(r->hash, SHA256_LEN, hash + 7);
    json_t *o = json_pack("{s:s, s:s, s:s, s:o?, s:o?, s:I, s:I, s:I}", "id", r->id, "hash", hash,
                          "user", r->user, "groups", array_of(r->groups, r->ngroups), "scopes",
                          array_of(r->scopes, r->nscopes), "created", (json_int_t)r->created_s,
                          "expires", (json_int_t)r->expires_s, "revoked", (json_int_t)r->revoked_s);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static char **copy_strv(char **v, size_t n)
{
    char **c = calloc(n + 1, sizeof(char *));
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            for (size_t k = 0; k < i; k++)
                free(c[k]);
            free(c);
            return NULL;
        }
    return c;
}

int pat_record_copy(struct pat_record *dst, const struct pat_record *src)
{
    *dst = *src;
    dst->user = strdup(src->user);
    dst->groups = copy_strv(src->groups, src->ngroups);
    dst->scopes = copy_strv(src->scopes, src->nscopes);
    if (!dst->user || !dst->groups || !dst->scopes) {
        free(dst->user);
        dst->user = NULL;
        if (!dst->groups)
            dst->ngroups = 0;
        if (!dst->scopes)
            dst->nscopes = 0;
        pat_record_clear(dst);
        return -1;
    }
    return 0;
}

void pat_records_free(struct pat_record *recs, size_t n)
{
    if (!recs)
        return;
    for (size_t i = 0; i < n; i++)
        pat_record_clear(&recs[i]);
    free(recs);
}

static size_t slot_of(const unsigned char *hash, size_t mask)
{
    uint64_t v;
    memcpy(&v, hash, sizeof(v));
    return (size_t)v & mask;
}

struct pat_table *pat_table_new(struct pat_record *recs, size_t n, char *err, size_t errlen)
{
    struct pat_table *t = calloc(1, sizeof(*t));
    size_t cap = 8;
    while (cap < n * 2)
        cap <<= 1;
    if (!t || !(t->slots = calloc(cap, sizeof(uint32_t)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    atomic_init(&t->refs, 1);
    t->recs = recs;
    t->n = n;
    t->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        size_t s = slot_of(recs[i].hash, t->mask);
        while (t->slots[s]) {
            if (memcmp(recs[t->slots[s] - 1].hash, recs[i].hash, SHA256_LEN) == 0) {
                snprintf(err, errlen, "records %s and %s have the same token hash",
                         recs[t->slots[s] - 1].id, recs[i].id);
                goto fail;
            }
            s = (s + 1) & t->mask;
        }
        t->slots[s] = (uint32_t)(i + 1);
    }
    return t;
fail:
    if (t) {
        free(t->slots);
        free(t);
    }
    pat_records_free(recs, n);
    return NULL;
}

const struct pat_record *pat_table_find(const struct pat_table *t,
                                        const unsigned char hash[SHA256_LEN])
{
    if (!t)
        return NULL;
    size_t s = slot_of(hash, t->mask);
    while (t->slots[s]) {
        const struct pat_record *r = &t->recs[t->slots[s] - 1];
        if (auth_ct_equal(r->hash, hash, SHA256_LEN))
            return r;
        s = (s + 1) & t->mask;
    }
    return NULL;
}

struct pat_table *pat_table_ref(struct pat_table *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void pat_table_release(struct pat_table *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    pat_records_free(t->recs, t->n);
    free(t->slots);
    free(t);
}

int pat_table_parse(const char *text, size_t len, const char *name, struct pat_record **recs,
                    size_t *n, char *err, size_t errlen)
{
    struct pat_record *arr = NULL;
    size_t cnt = 0, cap = 0;
    unsigned lineno = 0;
    size_t pos = 0;
    char reason[200];
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        size_t a = 0;
        while (a < ll && (line[a] == ' ' || line[a] == '\t' || line[a] == '\r'))
            a++;
        if (a == ll || line[a] == '#')
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct pat_record *na = realloc(arr, nc * sizeof(*arr));
            if (!na) {
                snprintf(err, errlen, "%s: out of memory", name);
                goto fail;
            }
            arr = na;
            cap = nc;
        }
        if (pat_record_parse(line, ll, &arr[cnt], reason, sizeof(reason)) != 0) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, reason);
            goto fail;
        }
        cnt++;
    }
    *recs = arr;
    *n = cnt;
    return 0;
fail:
    pat_records_free(arr, cnt);
    return -1;
}

int pat_file_read(const char *path, struct pat_record **recs, size_t *n, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    *recs = NULL;
    *n = 0;
    int rc = auth_file_read(path, 64u << 20, &text, &len, err, errlen);
    if (rc == -2)
        return 0;
    if (rc != 0)
        return -1;
    rc = pat_table_parse(text, len, path, recs, n, err, errlen);
    free(text);
    return rc;
}
