/*
 * filter: response filtering, Warden page tokens and the refill planner for MLflow list and
 * search endpoints. See filter.h for the table, the token format and the planner's rules.
 * Pure (no I/O, clocks or globals besides the constant table); any thread; a planner and a
 * filter_page belong to one request.
 */
#include "mlflow/filter.h"
#include "util/hex.h"

#include "auth/b64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct filter_spec specs[FILTER_KIND_COUNT] = {
    [FILTER_EXPERIMENTS] = {FILTER_EXPERIMENTS,
                            "experiments",
                            "experiments",
                            {"experiment_id", NULL, NULL},
                            FILTER_KEY_EXPERIMENT_ID,
                            "next_page_token",
                            1000},
    [FILTER_MODELS] = {FILTER_MODELS,
                       "models",
                       "registered_models",
                       {"name", NULL, NULL},
                       FILTER_KEY_MODEL_NAME,
                       "next_page_token",
                       100},
    [FILTER_MODEL_VERSIONS] = {FILTER_MODEL_VERSIONS,
                               "model_versions",
                               "model_versions",
                               {"name", NULL, NULL},
                               FILTER_KEY_MODEL_NAME,
                               "next_page_token",
                               10000},
    [FILTER_DATASETS] = {FILTER_DATASETS,
                         "datasets",
                         "datasets",
                         {"dataset_id", NULL, NULL},
                         FILTER_KEY_DATASET_ID,
                         "next_page_token",
                         1000},
    [FILTER_GATEWAY_ENDPOINTS] = {FILTER_GATEWAY_ENDPOINTS,
                                  "gateway_endpoints",
                                  "data",
                                  {"id", NULL, NULL},
                                  FILTER_KEY_GATEWAY_ENDPOINT,
                                  NULL,
                                  0},
    [FILTER_RUNS] = {FILTER_RUNS,
                     "runs",
                     "runs",
                     {"info", "experiment_id", NULL},
                     FILTER_KEY_EXPERIMENT_ID,
                     "next_page_token",
                     1000},
    [FILTER_LOGGED_MODELS] = {FILTER_LOGGED_MODELS,
                              "logged_models",
                              "models",
                              {"info", "experiment_id", NULL},
                              FILTER_KEY_EXPERIMENT_ID,
                              "next_page_token",
                              100},
    [FILTER_TRACES] = {FILTER_TRACES,
                       "traces",
                       "traces",
                       {"trace_location", "mlflow_experiment", "experiment_id"},
                       FILTER_KEY_EXPERIMENT_ID,
                       "next_page_token",
                       100},
};

const struct filter_spec *filter_spec_get(enum filter_kind k)
{
    if ((int)k < 0 || k >= FILTER_KIND_COUNT)
        return NULL;
    return &specs[k];
}

int filter_kind_from_route(enum route_filter f, enum filter_kind *out)
{
    switch (f) {
    case ROUTE_FILTER_EXPERIMENTS:
        *out = FILTER_EXPERIMENTS;
        return 0;
    case ROUTE_FILTER_MODELS:
        *out = FILTER_MODELS;
        return 0;
    case ROUTE_FILTER_MODEL_VERSIONS:
        *out = FILTER_MODEL_VERSIONS;
        return 0;
    case ROUTE_FILTER_DATASETS:
        *out = FILTER_DATASETS;
        return 0;
    case ROUTE_FILTER_GATEWAY_ENDPOINTS:
        *out = FILTER_GATEWAY_ENDPOINTS;
        return 0;
    default:
        return -1;
    }
}

/* ---- filter_page ---- */

static bool canonical_decimal(const char *s, size_t n)
{
    if (n == 0 || n > 19)
        return false;
    if (n > 1 && s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    if (n == 19 && strncmp(s, "9223372036854775807", 19) > 0)
        return false;
    return true;
}

/* The item's key, or NULL when missing or malformed. */
static const char *item_key(const struct filter_spec *spec, json_t *item, size_t *len)
{
    json_t *v = item;
    for (size_t i = 0; i < FILTER_KEY_PATH_MAX && spec->key_path[i]; i++) {
        if (!json_is_object(v))
            return NULL;
        v = json_object_get(v, spec->key_path[i]);
    }
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || memchr(s, '\0', n))
        return NULL;
    if (spec->key_kind == FILTER_KEY_EXPERIMENT_ID && !canonical_decimal(s, n))
        return NULL;
    *len = n;
    return s;
}

void filter_page_clear(struct filter_page *p)
{
    if (!p)
        return;
    json_decref(p->items);
    json_decref(p->rest);
    free(p->index);
    free(p->items_json);
    free(p->next_page_token);
    memset(p, 0, sizeof(*p));
}

static int serialise_items(json_t *items, char **out, size_t *outlen)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    buf[0] = '\0';
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        char *s = json_dumps(it, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s) {
            free(buf);
            return -1;
        }
        size_t sl = strlen(s);
        if (n + sl + 2 > cap) {
            size_t ncap = (n + sl + 2) * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(s);
                free(buf);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        if (i > 0)
            buf[n++] = ',';
        memcpy(buf + n, s, sl);
        n += sl;
        buf[n] = '\0';
        free(s);
    }
    *out = buf;
    *outlen = n;
    return 0;
}

int filter_page(const struct filter_spec *spec, const char *body, size_t len,
                filter_visible_fn visible, void *ctx, struct filter_page *out, char *err,
                size_t errlen)
{
    json_t *root = NULL;
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    if (!spec || !visible) {
        snprintf(err, errlen, "filter: no spec or predicate");
        return -1;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s response: not JSON: %s", spec->name, jerr.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s response: not a JSON object", spec->name);
        goto fail;
    }
    json_t *arr = json_object_get(root, spec->items_field);
    if (arr && !json_is_array(arr)) {
        snprintf(err, errlen, "%s response: \"%s\" is not an array", spec->name, spec->items_field);
        goto fail;
    }
    if (spec->token_field) {
        json_t *tok = json_object_get(root, spec->token_field);
        if (tok && !json_is_string(tok)) {
            snprintf(err, errlen, "%s response: \"%s\" is not a string", spec->name,
                     spec->token_field);
            goto fail;
        }
        if (tok && json_string_length(tok) > 0) {
            if (memchr(json_string_value(tok), '\0', json_string_length(tok))) {
                snprintf(err, errlen, "%s response: NUL in \"%s\"", spec->name, spec->token_field);
                goto fail;
            }
            out->next_page_token = strdup(json_string_value(tok));
            if (!out->next_page_token)
                goto oom;
        }
    }
    out->items = json_array();
    size_t n = arr ? json_array_size(arr) : 0;
    out->index = calloc(n ? n : 1, sizeof(*out->index));
    if (!out->items || !out->index)
        goto oom;
    out->scanned = n;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(arr, i);
        size_t klen = 0;
        const char *key = json_is_object(it) ? item_key(spec, it, &klen) : NULL;
        if (!key || !visible(ctx, spec->key_kind, key, klen, it)) {
            out->dropped++;
            continue;
        }
        out->index[json_array_size(out->items)] = i;
        if (json_array_append(out->items, it) != 0)
            goto oom;
    }
    if (serialise_items(out->items, &out->items_json, &out->items_json_len) != 0)
        goto oom;
    out->rest = json_copy(root); /* shallow: members are shared, not duplicated */
    if (!out->rest)
        goto oom;
    json_object_del(out->rest, spec->items_field);
    if (spec->token_field)
        json_object_del(out->rest, spec->token_field);
    json_decref(root);
    return 0;
oom:
    snprintf(err, errlen, "%s response: out of memory", spec->name);
fail:
    json_decref(root);
    filter_page_clear(out);
    return -1;
}

/* ---- tokens ---- */

#define TOKEN_VERSION  1
#define TOKEN_MAC_LEN  16
#define TOKEN_BIND_LEN 16
#define TOKEN_HDR_LEN  (1 + 1 + 4 + 4 + TOKEN_BIND_LEN)
#define TOKEN_UP_MAX   4096 /* longest upstream token carried */

int filter_key_init(struct filter_key *k, char *err, size_t errlen)
{
    if (RAND_bytes(k->k, sizeof(k->k)) != 1) {
        snprintf(err, errlen, "filter: RAND_bytes failed");
        return -1;
    }
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int token_mac(const struct filter_key *key, const unsigned char *m, size_t n,
                     unsigned char mac[TOKEN_MAC_LEN])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int fl = 0;
    if (!HMAC(EVP_sha256(), key->k, sizeof(key->k), m, n, full, &fl) || fl < TOKEN_MAC_LEN)
        return -1;
    memcpy(mac, full, TOKEN_MAC_LEN);
    return 0;
}

static void binding_hash(const char *b, size_t n, unsigned char out[TOKEN_BIND_LEN])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(b ? b : ""), b ? n : 0, d);
    memcpy(out, d, TOKEN_BIND_LEN);
}

int filter_token_encode(const struct filter_key *key, const char *binding, size_t binding_len,
                        const struct filter_token *t, char **out, char *err, size_t errlen)
{
    const char *up = t->upstream_token ? t->upstream_token : "";
    size_t ul = strlen(up);
    if (ul > TOKEN_UP_MAX) {
        snprintf(err, errlen, "filter: upstream page token too long (%zu bytes)", ul);
        return -1;
    }
    size_t n = TOKEN_HDR_LEN + ul + TOKEN_MAC_LEN;
    unsigned char *raw = malloc(n);
    char *txt = malloc(B64_ENCODED_SIZE(n));
    if (!raw || !txt)
        goto fail;
    raw[0] = TOKEN_VERSION;
    raw[1] = (unsigned char)t->kind;
    put32(raw + 2, t->page_size);
    put32(raw + 6, t->offset);
    binding_hash(binding, binding_len, raw + 10);
    memcpy(raw + TOKEN_HDR_LEN, up, ul);
    if (token_mac(key, raw, TOKEN_HDR_LEN + ul, raw + TOKEN_HDR_LEN + ul) != 0)
        goto fail;
    b64url_encode(raw, n, txt);
    free(raw);
    *out = txt;
    return 0;
fail:
    snprintf(err, errlen, "filter: cannot encode page token");
    free(raw);
    free(txt);
    return -1;
}

int filter_token_decode(const struct filter_key *key, const char *binding, size_t binding_len,
                        const char *tok, size_t len, struct filter_token *t, char *err,
                        size_t errlen)
{
    unsigned char raw[TOKEN_HDR_LEN + TOKEN_UP_MAX + TOKEN_MAC_LEN];
    unsigned char mac[TOKEN_MAC_LEN], bind[TOKEN_BIND_LEN];
    size_t n = 0;
    memset(t, 0, sizeof(*t));
    if (len > B64_ENCODED_SIZE(sizeof(raw)) || b64url_decode(tok, len, raw, sizeof(raw), &n) != 0 ||
        n < TOKEN_HDR_LEN + TOKEN_MAC_LEN) {
        snprintf(err, errlen, "invalid page_token");
        return -1;
    }
    size_t body = n - TOKEN_MAC_LEN;
    if (token_mac(key, raw, body, mac) != 0 || CRYPTO_memcmp(mac, raw + body, TOKEN_MAC_LEN) != 0) {
        snprintf(err, errlen, "invalid page_token (not issued by this server)");
        return -1;
    }
    binding_hash(binding, binding_len, bind);
    if (raw[0] != TOKEN_VERSION || raw[1] >= FILTER_KIND_COUNT ||
        CRYPTO_memcmp(bind, raw + 10, TOKEN_BIND_LEN) != 0) {
        snprintf(err, errlen, "invalid page_token (issued for another query)");
        return -1;
    }
    size_t ul = body - TOKEN_HDR_LEN;
    if (memchr(raw + TOKEN_HDR_LEN, '\0', ul)) {
        snprintf(err, errlen, "invalid page_token");
        return -1;
    }
    t->upstream_token = malloc(ul + 1);
    if (!t->upstream_token) {
        snprintf(err, errlen, "filter: out of memory");
        return -1;
    }
    memcpy(t->upstream_token, raw + TOKEN_HDR_LEN, ul);
    t->upstream_token[ul] = '\0';
    t->kind = (enum filter_kind)raw[1];
    t->page_size = get32(raw + 2);
    t->offset = get32(raw + 6);
    return 0;
}

/* ---- planner ---- */

struct planner {
    const struct filter_spec *spec;
    const struct filter_key *key;
    char *binding;
    size_t binding_len;
    struct planner_limits lim;
    long want;          /* N */
    uint32_t page_size; /* P */
    uint32_t skip;      /* raw items to skip in the first page fed (resumed token) */
    char *cur_token;    /* upstream token of the request in flight; NULL = first page */
    json_t *items;      /* collected */
    json_t *rest;       /* other members of the first page */
    char *resume_token; /* upstream token to resume at, when more remain */
    uint32_t resume_offset;
    bool has_more, done;
    unsigned pages;
    size_t scanned, dropped;
};

void planner_free(struct planner *p)
{
    if (!p)
        return;
    free(p->binding);
    free(p->cur_token);
    free(p->resume_token);
    json_decref(p->items);
    json_decref(p->rest);
    free(p);
}

struct planner *planner_new(const struct filter_spec *spec, const struct filter_key *key,
                            const char *binding, size_t binding_len, long max_results,
                            const char *page_token, const struct planner_limits *limits, char *err,
                            size_t errlen)
{
    struct planner *p = NULL;
    struct filter_token t = {0};
    if (!spec || !key) {
        snprintf(err, errlen, "filter: no spec or key");
        return NULL;
    }
    if (max_results != -1 && (max_results <= 0 || max_results > 0x7fffffffL)) {
        snprintf(err, errlen, "Invalid value %ld for parameter 'max_results'", max_results);
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        goto oom;
    p->spec = spec;
    p->key = key;
    p->lim.max_pages = limits && limits->max_pages ? limits->max_pages : 10;
    p->lim.max_scanned = limits && limits->max_scanned ? limits->max_scanned : 10000;
    p->binding = malloc(binding_len + 1);
    p->items = json_array();
    if (!p->binding || !p->items)
        goto oom;
    if (binding_len)
        memcpy(p->binding, binding, binding_len);
    p->binding[binding_len] = '\0';
    p->binding_len = binding_len;
    if (!spec->token_field) {
        /* not paged: one request, passed through unchanged apart from filtering */
        p->want = -1;
        return p;
    }
    p->want = max_results == -1 ? spec->default_max_results : max_results;
    p->page_size = (uint32_t)p->want;
    unsigned min_page = limits ? limits->min_page : 0;
    if (p->page_size < min_page)
        p->page_size = min_page; /* items past want are resumed from the token's offset */
    if (page_token && page_token[0]) {
        if (filter_token_decode(key, binding, binding_len, page_token, strlen(page_token), &t, err,
                                errlen) != 0)
            goto fail;
        if (t.kind != spec->kind || t.page_size == 0 || t.offset >= t.page_size) {
            snprintf(err, errlen, "invalid page_token (issued for another query)");
            goto fail;
        }
        p->page_size = t.page_size;
        p->skip = t.offset;
        if (t.upstream_token[0]) {
            p->cur_token = t.upstream_token;
            t.upstream_token = NULL;
        }
        free(t.upstream_token);
    }
    return p;
oom:
    snprintf(err, errlen, "filter: out of memory");
fail:
    free(t.upstream_token);
    planner_free(p);
    return NULL;
}

int planner_next_upstream_request(struct planner *p, struct planner_request *out)
{
    if (p->done)
        return 0;
    out->page_token = p->cur_token;
    out->max_results = p->spec->token_field ? (long)p->page_size : 0;
    return 1;
}

static int set_resume(struct planner *p, const char *up, uint32_t off)
{
    free(p->resume_token);
    p->resume_token = strdup(up ? up : "");
    p->resume_offset = off;
    p->has_more = true;
    return p->resume_token ? 0 : -1;
}

int planner_feed(struct planner *p, const char *body, size_t len, filter_visible_fn visible,
                 void *ctx, char *err, size_t errlen)
{
    struct filter_page pg;
    if (p->done) {
        snprintf(err, errlen, "filter: planner already done");
        return -1;
    }
    if (filter_page(p->spec, body, len, visible, ctx, &pg, err, errlen) != 0)
        return -1;
    p->pages++;
    p->scanned += pg.scanned;
    p->dropped += pg.dropped;
    if (!p->rest) {
        p->rest = pg.rest;
        pg.rest = NULL;
    }
    if (!p->spec->token_field) {
        json_array_extend(p->items, pg.items);
        p->done = true;
        filter_page_clear(&pg);
        return 1;
    }
    if (pg.scanned > p->page_size) {
        snprintf(err, errlen, "%s response: %zu items for max_results %u", p->spec->name,
                 pg.scanned, p->page_size);
        filter_page_clear(&pg);
        return -1;
    }
    uint32_t skip = p->skip;
    p->skip = 0;
    size_t i;
    json_t *it;
    json_array_foreach(pg.items, i, it)
    {
        if (pg.index[i] < skip)
            continue;
        if (json_array_append(p->items, it) != 0)
            goto oom;
        if ((long)json_array_size(p->items) == p->want) {
            size_t next = pg.index[i] + 1;
            if (next < pg.scanned) {
                if (set_resume(p, p->cur_token, (uint32_t)next) != 0)
                    goto oom;
            } else if (pg.next_page_token) {
                if (set_resume(p, pg.next_page_token, 0) != 0)
                    goto oom;
            }
            p->done = true;
            filter_page_clear(&pg);
            return 1;
        }
    }
    /* page exhausted without reaching N */
    if (!pg.next_page_token) {
        p->done = true;
    } else if (p->pages >= p->lim.max_pages || p->scanned >= p->lim.max_scanned) {
        if (set_resume(p, pg.next_page_token, 0) != 0)
            goto oom;
        p->done = true;
    } else {
        free(p->cur_token);
        p->cur_token = pg.next_page_token;
        pg.next_page_token = NULL;
    }
    filter_page_clear(&pg);
    return p->done ? 1 : 0;
oom:
    snprintf(err, errlen, "filter: out of memory");
    filter_page_clear(&pg);
    return -1;
}

int planner_result(struct planner *p, char **out, size_t *outlen, char *err, size_t errlen)
{
    json_t *o = NULL;
    char *tok = NULL;
    if (!p->done) {
        snprintf(err, errlen, "filter: planner not done");
        return -1;
    }
    o = p->rest ? json_deep_copy(p->rest) : json_object();
    if (!o || json_object_set(o, p->spec->items_field, p->items) != 0)
        goto oom;
    if (p->has_more) {
        struct filter_token t = {p->spec->kind, p->page_size, p->resume_offset, p->resume_token};
        if (filter_token_encode(p->key, p->binding, p->binding_len, &t, &tok, err, errlen) != 0)
            goto fail;
        if (json_object_set_new(o, p->spec->token_field, json_string(tok)) != 0)
            goto oom;
    }
    *out = json_dumps(o, JSON_COMPACT);
    if (!*out)
        goto oom;
    *outlen = strlen(*out);
    free(tok);
    json_decref(o);
    return 0;
oom:
    snprintf(err, errlen, "filter: out of memory");
fail:
    free(tok);
    json_decref(o);
    return -1;
}

size_t planner_dropped(const struct planner *p)
{
    return p->dropped;
}

unsigned planner_pages(const struct planner *p)
{
    return p->pages;
}

/* ---- request rewriting ---- */

int planner_rewrite_body(const struct planner_request *r, const char *body, size_t len, char **out,
                         size_t *outlen, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (!o || !json_is_object(o)) {
        snprintf(err, errlen, "request body is not a JSON object");
        json_decref(o);
        return -1;
    }
    json_object_del(o, "page_token");
    json_object_del(o, "pageToken");
    if (r->page_token && json_object_set_new(o, "page_token", json_string(r->page_token)) != 0)
        goto oom;
    if (r->max_results > 0) {
        json_object_del(o, "maxResults");
        if (json_object_set_new(o, "max_results", json_integer(r->max_results)) != 0)
            goto oom;
    }
    *out = json_dumps(o, JSON_COMPACT);
    if (!*out)
        goto oom;
    *outlen = strlen(*out);
    json_decref(o);
    return 0;
oom:
    snprintf(err, errlen, "filter: out of memory");
    json_decref(o);
    return -1;
}

/* Whether the parameter s[0..n) is named `name` once its name is form-decoded the way
 * Werkzeug decodes it ('+' is a space, %XX a byte), so "page%5Ftoken" counts too. */
static bool param_is(const char *s, size_t n, const char *name)
{
    size_t i = 0, k = 0, nl = strlen(name);
    while (i < n && s[i] != '=') {
        char c = s[i];
        if (c == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            c = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
            i += 3;
        } else {
            if (c == '+')
                c = ' ';
            i++;
        }
        if (k >= nl || name[k] != c)
            return false;
        k++;
    }
    return k == nl;
}

int planner_rewrite_query(const struct planner_request *r, const char *query, size_t len,
                          char **out, size_t *outlen, char *err, size_t errlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t tl = r->page_token ? strlen(r->page_token) : 0;
    size_t cap = len + 3 * tl + 64;
    char *b = malloc(cap);
    size_t n = 0;
    if (!b) {
        snprintf(err, errlen, "filter: out of memory");
        return -1;
    }
    const char *s = query, *end = query + len;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *e = amp ? amp : end;
        size_t pl = (size_t)(e - s);
        bool drop =
            param_is(s, pl, "page_token") || (r->max_results > 0 && param_is(s, pl, "max_results"));
        if (pl > 0 && !drop) {
            if (n)
                b[n++] = '&';
            memcpy(b + n, s, pl);
            n += pl;
        }
        s = amp ? amp + 1 : end;
    }
    if (r->page_token) {
        n += (size_t)sprintf(b + n, "%spage_token=", n ? "&" : "");
        for (size_t i = 0; i < tl; i++) {
            unsigned char c = (unsigned char)r->page_token[i];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~') {
                b[n++] = (char)c;
            } else {
                b[n++] = '%';
                b[n++] = hex[c >> 4];
                b[n++] = hex[c & 15];
            }
        }
    }
    if (r->max_results > 0)
        n += (size_t)sprintf(b + n, "%smax_results=%ld", n ? "&" : "", r->max_results);
    b[n] = '\0';
    *out = b;
    *outlen = n;
    return 0;
}
