/*
 * authn: see authn.h. This file holds construction and the worker-side request path
 * (authn_check, authn_check_mtls, the cache re-validation and the PENDING protocol); the
 * control thread lives in authn_control.c and the Redis client in authn_redis.c.
 */
#include "auth/authn_internal.h"

#include "auth/credential.h"
#include "auth/files.h"
#include "util/log.h"

#include <ctype.h>
#include <event2/event.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct authn_cache {
    struct authn *a;
    struct token_cache *tc;      /* credentials of callers */
    struct token_cache *tc_subj; /* subject tokens (on behalf of a user) */
    struct authn_state *state;
    uint64_t gen;
};

/* ---- construction ---- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static size_t strv_len(char **v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static char **strv_dup(char **v, size_t *n)
{
    size_t cnt = strv_len(v);
    char **c = calloc(cnt + 1, sizeof(char *));
    if (!c)
        return NULL;
    for (size_t i = 0; i < cnt; i++)
        if (!(c[i] = strdup(v[i]))) {
            for (size_t k = 0; k < i; k++)
                free(c[k]);
            free(c);
            return NULL;
        }
    if (n)
        *n = cnt;
    return c;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int read_secret(const char *path, struct keyset **out, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    char why[256];
    if (auth_file_read(path, 4096, &buf, &len, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "hs_secret_file: %s", why);
        return -1;
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    int rc = keyset_from_secret((unsigned char *)buf, len, out, why, sizeof(why));
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

static int setup_issuer(struct authn *a, struct issuer_rt *rt, const struct authn_config *cfg,
                        const struct authn_issuer_config *ic, char *err, size_t errlen)
{
    rt->owner = a;
    atomic_init(&rt->inflight, false);
    atomic_init(&rt->last_refetch_ms, INT64_MIN / 2);
    rt->name = dup_or_null(ic->name ? ic->name : ic->issuer);
    rt->iss = dup_or_null(ic->issuer);
    rt->audiences = strv_dup(ic->audiences, &rt->naud);
    if (ic->subject_audiences &&
        !(rt->subj_audiences = strv_dup(ic->subject_audiences, &rt->nsubj_aud))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rt->jwks_file = dup_or_null(ic->jwks_file);
    rt->jwks_url = dup_or_null(ic->jwks_url);
    rt->discovery_url = dup_or_null(ic->discovery_url);
    rt->ca_file = dup_or_null(ic->ca_file);
    rt->refresh_ms = ic->refresh_interval_ms;
    rt->refetch_min_ms = ic->refetch_min_interval_ms;
    rt->max_stale_ms = ic->max_stale_ms;
    rt->fetch_timeout_ms = ic->fetch_timeout_ms;
    rt->user_claims = strv_dup(ic->user_claim ? ic->user_claim : cfg->user_claim, &rt->nuser);
    rt->groups_claim = dup_or_null(ic->groups_claim ? ic->groups_claim : cfg->groups_claim);
    rt->scopes_claims =
        strv_dup(ic->scopes_claim ? ic->scopes_claim : cfg->scopes_claim, &rt->nscopes);
    rt->refetchable = rt->jwks_file || rt->jwks_url || rt->discovery_url;
    if (!rt->name || !rt->iss || !rt->audiences || !rt->user_claims || !rt->scopes_claims ||
        (ic->groups_claim || cfg->groups_claim ? !rt->groups_claim : false)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; ic->algorithms && ic->algorithms[i]; i++) {
        enum jose_alg alg = jose_alg_from_name(ic->algorithms[i]);
        if (alg == JOSE_ALG_INVALID) {
            snprintf(err, errlen, "issuer %s: unsupported algorithm %s", rt->name,
                     ic->algorithms[i]);
            return -1;
        }
        rt->alg_mask |= JOSE_ALG_BIT(alg);
    }
    if (ic->hs_secret_file) {
        if (read_secret(ic->hs_secret_file, &rt->hs, err, errlen) != 0)
            return -1;
    } else if (rt->alg_mask &
               (JOSE_ALG_BIT(JOSE_HS256) | JOSE_ALG_BIT(JOSE_HS384) | JOSE_ALG_BIT(JOSE_HS512))) {
        snprintf(err, errlen, "issuer %s: HS algorithms need hs_secret_file", rt->name);
        return -1;
    }
    if (rt->naud == 0) {
        snprintf(err, errlen, "issuer %s: no audiences", rt->name);
        return -1;
    }
    return 0;
}

static void issuer_clear(struct issuer_rt *rt)
{
    free(rt->name);
    free(rt->iss);
    strv_free(rt->audiences);
    strv_free(rt->subj_audiences);
    free(rt->jwks_file);
    free(rt->jwks_url);
    free(rt->discovery_url);
    free(rt->ca_file);
    strv_free(rt->user_claims);
    free(rt->groups_claim);
    strv_free(rt->scopes_claims);
    keyset_release(rt->remote);
    keyset_release(rt->hs);
    keyset_release(rt->merged);
    free(rt->jwks_uri);
}

static int parse_mtls_sources(struct authn *a, char **src, char *err, size_t errlen)
{
    static const char *const names[] = {NULL, "cn", "san-email", "san-uri", "san-dns"};
    for (size_t i = 0; src && src[i]; i++) {
        int k = 1;
        while (k <= 4 && strcmp(names[k], src[i]) != 0)
            k++;
        if (k > 4 || a->nmtls_src == 4) {
            snprintf(err, errlen, "mtls_user: unknown source %s", src[i]);
            return -1;
        }
        a->mtls_src[a->nmtls_src++] = (enum mtls_source)k;
    }
    return 0;
}

struct authn *authn_new(const struct authn_config *cfg, const struct authn_issuer_config *issuers,
                        size_t nissuers, bool mtls_possible, char *err, size_t errlen)
{
    struct authn *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->state_mu, NULL);
    pthread_mutex_init(&a->wait_mu, NULL);
    a->methods = authn_conf_methods(cfg, issuers, nissuers, mtls_possible, err, errlen);
    if (!a->methods)
        goto fail;
    a->realm = strdup(cfg->realm ? cfg->realm : "warden");
    int forms = authn_conf_obo_forms(cfg->on_behalf_of);
    if (forms < 0) {
        snprintf(err, errlen, "on_behalf_of: expected header, exchange or off");
        goto fail;
    }
    a->obo_forms = (unsigned)forms;
    a->obo_header = strdup(cfg->obo_header ? cfg->obo_header : AUTHN_OBO_DEFAULT_HEADER);
    a->obo_header_lc = a->obo_header ? strdup(a->obo_header) : NULL;
    for (char *q = a->obo_header_lc; q && *q; q++)
        *q = (char)tolower((unsigned char)*q);
    a->leeway_s = cfg->leeway_ms / 1000;
    a->max_token = (size_t)cfg->max_token_size;
    a->pat_file = dup_or_null(cfg->pat_file);
    a->revocation_file = dup_or_null(cfg->revocation_file);
    a->reload_ms = cfg->reload_interval_ms;
    a->redis_prefix = strdup(cfg->redis_prefix ? cfg->redis_prefix : "warden");
    a->redis_resync_ms = cfg->redis_resync_interval_ms;
    a->mtls_uri_prefix = dup_or_null(cfg->mtls_uri_prefix);
    a->mtls_groups = strv_dup(cfg->mtls_groups, &a->nmtls_groups);
    if (!a->realm || !a->redis_prefix || !a->mtls_groups || !a->obo_header || !a->obo_header_lc) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (parse_mtls_sources(a, cfg->mtls_user, err, errlen) != 0)
        goto fail;
    if (cfg->redis) {
        char host[256];
        if (conf_split_address(cfg->redis, host, sizeof(host), &a->redis_port) != 0 ||
            !(a->redis_host = strdup(host))) {
            snprintf(err, errlen, "redis: bad address %s", cfg->redis);
            goto fail;
        }
        if (cfg->redis_password_file) {
            char *pw = NULL;
            size_t pl = 0;
            char why[256];
            if (auth_file_read(cfg->redis_password_file, 1024, &pw, &pl, why, sizeof(why)) != 0) {
                snprintf(err, errlen, "redis_password_file: %s", why);
                goto fail;
            }
            while (pl && (pw[pl - 1] == '\n' || pw[pl - 1] == '\r'))
                pw[--pl] = '\0';
            a->redis_password = pw;
        }
    }
    if (nissuers) {
        a->issuers = calloc(nissuers, sizeof(*a->issuers));
        if (!a->issuers) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < nissuers; i++) {
        a->nissuers = i + 1;
        if (setup_issuer(a, &a->issuers[i], cfg, &issuers[i], err, errlen) != 0)
            goto fail;
    }
    bool changed;
    if (authn_load_files(a, true, &changed, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < a->nissuers; i++)
        if (authn_rebuild_keys(&a->issuers[i]) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    if (authn_rebuild_pats(a) != 0 || authn_rebuild_revs(a) != 0 || authn_publish(a) != 0) {
        snprintf(err, errlen, "cannot build the authentication state");
        goto fail;
    }
    return a;
fail:
    authn_free(a);
    return NULL;
}

void authn_free(struct authn *a)
{
    if (!a)
        return;
    authn_control_stop(a);
    authn_fire_waiters(a);
    for (size_t i = 0; i < a->nissuers; i++)
        issuer_clear(&a->issuers[i]);
    free(a->issuers);
    authn_state_release(a->state);
    pat_records_free(a->file_pats, a->nfile_pats);
    pat_records_free(a->redis_pats, a->nredis_pats);
    revoke_items_free(a->file_revs, a->nfile_revs);
    revoke_items_free(a->redis_revs, a->nredis_revs);
    pat_table_release(a->cur_pats);
    revset_release(a->cur_revs);
    free(a->realm);
    free(a->obo_header);
    free(a->obo_header_lc);
    free(a->pat_file);
    free(a->revocation_file);
    free(a->redis_host);
    free(a->redis_prefix);
    if (a->redis_password) {
        OPENSSL_cleanse(a->redis_password, strlen(a->redis_password));
        free(a->redis_password);
    }
    free(a->mtls_uri_prefix);
    strv_free(a->mtls_groups);
    pthread_mutex_destroy(&a->state_mu);
    pthread_mutex_destroy(&a->wait_mu);
    free(a);
}

unsigned authn_methods(const struct authn *a)
{
    return a->methods;
}

uint64_t authn_generation(const struct authn *a)
{
    return atomic_load(&((struct authn *)a)->gen);
}

void authn_get_stats(const struct authn *a, struct authn_stats *o)
{
    struct authn *m = (struct authn *)a;
    o->cache_hits = atomic_load_explicit(&m->st_hits, memory_order_relaxed);
    o->cache_misses = atomic_load_explicit(&m->st_misses, memory_order_relaxed);
    o->verified = atomic_load_explicit(&m->st_verified, memory_order_relaxed);
    o->invalid = atomic_load_explicit(&m->st_invalid, memory_order_relaxed);
    o->pending = atomic_load_explicit(&m->st_pending, memory_order_relaxed);
    o->refetches = atomic_load_explicit(&m->st_refetches, memory_order_relaxed);
    o->reloads = atomic_load_explicit(&m->st_reloads, memory_order_relaxed);
    o->reload_failures = atomic_load_explicit(&m->st_reload_failures, memory_order_relaxed);
}

/* ---- per-worker cache ---- */

struct authn_cache *authn_cache_new(struct authn *a, size_t capacity)
{
    struct authn_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->a = a;
    if (!(c->tc = token_cache_new(capacity)) || !(c->tc_subj = token_cache_new(capacity))) {
        token_cache_free(c->tc);
        free(c);
        return NULL;
    }
    return c;
}

void authn_cache_free(struct authn_cache *c)
{
    if (!c)
        return;
    token_cache_free(c->tc);
    token_cache_free(c->tc_subj);
    authn_state_release(c->state);
    free(c);
}

/* Make sure the cache holds the current snapshot. One atomic load when nothing changed; the
 * mutex is taken only once per worker after a change (a rare event), never per request. */
static struct authn_state *cache_sync(struct authn *a, struct authn_cache *c)
{
    uint64_t g = atomic_load_explicit(&a->gen, memory_order_acquire);
    if (c->state && c->gen == g)
        return c->state;
    pthread_mutex_lock(&a->state_mu);
    struct authn_state *s = a->state;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&a->state_mu);
    authn_state_release(c->state);
    c->state = s;
    c->gen = s->gen;
    return s;
}

/* ---- failures ---- */

static enum authn_result fail_with(struct authn *a, struct authn_failure *f, enum authn_result r,
                                   const char *issuer, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum authn_result fail_with(struct authn *a, struct authn_failure *f, enum authn_result r,
                                   const char *issuer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->desc, sizeof(f->desc), fmt, ap);
    va_end(ap);
    for (char *p = f->desc; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '\'';
    snprintf(f->issuer, sizeof(f->issuer), "%s", issuer ? issuer : "");
    if (r == AUTHN_INVALID)
        atomic_fetch_add_explicit(&a->st_invalid, 1, memory_order_relaxed);
    return r;
}

size_t authn_challenge(const struct authn *a, enum authn_result r, const struct authn_failure *f,
                       char *buf, size_t buflen)
{
    int n;
    bool basic = a->methods & (AUTHN_ALLOW_BASIC_PAT | AUTHN_ALLOW_BASIC_JWT);
    if (r == AUTHN_INVALID)
        n = snprintf(buf, buflen,
                     "Bearer realm=\"%s\", error=\"invalid_token\", error_description=\"%s\"",
                     a->realm, f ? f->desc : "");
    else
        n = snprintf(buf, buflen, "Bearer realm=\"%s\"%s%s%s", a->realm,
                     basic ? ", Basic realm=\"" : "", basic ? a->realm : "", basic ? "\"" : "");
    if (n < 0)
        return 0;
    return (size_t)n < buflen ? (size_t)n : (buflen ? buflen - 1 : 0);
}

size_t authn_error_body(enum authn_result r, const struct authn_failure *f, char *buf,
                        size_t buflen)
{
    int n;
    if (r == AUTHN_INVALID)
        n = snprintf(buf, buflen,
                     "{\"error_code\":\"UNAUTHENTICATED\",\"message\":\"Invalid credentials: %s\"}",
                     f ? f->desc : "");
    else
        n = snprintf(buf, buflen,
                     "{\"error_code\":\"UNAUTHENTICATED\",\"message\":\"Authentication required: "
                     "send Authorization: Bearer <token> (a JWT from your identity provider or a "
                     "personal access token), or Basic credentials with a token as the "
                     "password\"}");
    if (n < 0)
        return 0;
    return (size_t)n < buflen ? (size_t)n : (buflen ? buflen - 1 : 0);
}

/* ---- unknown kid: single-flight, rate-limited refetch ---- */

static enum authn_result unknown_kid(struct authn *a, struct issuer_rt *rt, int64_t now_ms,
                                     struct authn_failure *f)
{
    if (!rt->refetchable || !rt->refetch_ev)
        return fail_with(a, f, AUTHN_INVALID, rt->name, "unknown key id");
    /* Lock-free fast path: a flood of random kids between refetches never takes the lock. */
    if (!atomic_load(&rt->inflight) &&
        now_ms - atomic_load(&rt->last_refetch_ms) < rt->refetch_min_ms)
        return fail_with(a, f, AUTHN_INVALID, rt->name, "unknown key id");
    enum authn_result r;
    pthread_mutex_lock(&a->wait_mu);
    if (atomic_load(&rt->inflight)) {
        r = AUTHN_PENDING;
    } else if (now_ms - atomic_load(&rt->last_refetch_ms) < rt->refetch_min_ms) {
        r = AUTHN_INVALID;
    } else {
        atomic_store(&rt->inflight, true);
        atomic_store(&rt->last_refetch_ms, now_ms);
        atomic_fetch_add_explicit(&a->st_refetches, 1, memory_order_relaxed);
        event_active(rt->refetch_ev, EV_TIMEOUT, 0);
        r = AUTHN_PENDING;
    }
    pthread_mutex_unlock(&a->wait_mu);
    if (r == AUTHN_PENDING) {
        atomic_fetch_add_explicit(&a->st_pending, 1, memory_order_relaxed);
        snprintf(f->desc, sizeof(f->desc), "unknown key id (refetching keys)");
        snprintf(f->issuer, sizeof(f->issuer), "%s", rt->name);
        return r;
    }
    return fail_with(a, f, AUTHN_INVALID, rt->name, "unknown key id");
}

static void on_waiter(evutil_socket_t fd, short what, void *arg)
{
    struct authn_waiter *w = arg;
    if (!w->cancelled)
        w->cb(w->arg);
    event_free(w->ev);
    free(w);
}

int authn_wait(struct authn *a, struct event_base *worker_base, void (*cb)(void *), void *arg,
               struct authn_waiter **handle)
{
    struct authn_waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->cb = cb;
    w->arg = arg;
    if (!(w->ev = event_new(worker_base, -1, 0, on_waiter, w))) {
        free(w);
        return -1;
    }
    bool any = false;
    pthread_mutex_lock(&a->wait_mu);
    for (size_t i = 0; i < a->nissuers; i++)
        any = any || atomic_load(&a->issuers[i].inflight);
    if (any) {
        w->next = a->waiters;
        if (a->waiters)
            a->waiters->prev = w;
        a->waiters = w;
    } else {
        w->fired = true;
        event_active(w->ev, EV_TIMEOUT, 0);
    }
    pthread_mutex_unlock(&a->wait_mu);
    if (handle)
        *handle = w;
    return 0;
}

void authn_wait_cancel(struct authn *a, struct authn_waiter *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&a->wait_mu);
    if (!w->fired) {
        if (w->prev)
            w->prev->next = w->next;
        else
            a->waiters = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&a->wait_mu);
        event_free(w->ev);
        free(w);
        return;
    }
    w->cancelled = true;
    pthread_mutex_unlock(&a->wait_mu);
}

void authn_fire_waiters(struct authn *a)
{
    pthread_mutex_lock(&a->wait_mu);
    struct authn_waiter *w = a->waiters;
    a->waiters = NULL;
    while (w) {
        struct authn_waiter *next = w->next;
        w->fired = true;
        w->prev = w->next = NULL;
        event_active(w->ev, EV_TIMEOUT, 0);
        w = next;
    }
    pthread_mutex_unlock(&a->wait_mu);
}

/* ---- the request path ---- */

/* Re-validate a cached entry against a newer snapshot. Returns 1 still valid, 0 must be
 * re-verified from scratch, -1 revoked. */
static int revalidate(const struct authn_state *s, const struct token_entry *e)
{
    if (revset_has_hash(s->revoked, e->hash))
        return -1;
    if (e->principal->jti[0] && e->method != AUTHN_METHOD_PAT &&
        e->method != AUTHN_METHOD_BASIC_PAT && revset_has_jti(s->revoked, e->principal->jti))
        return -1;
    if (e->method == AUTHN_METHOD_JWT || e->method == AUTHN_METHOD_BASIC_JWT) {
        if (e->issuer >= s->n)
            return 0;
        return keyset_contains(s->issuers[e->issuer].keys, e->has_kid ? e->kid : NULL, e->key_fp)
                   ? 1
                   : 0;
    }
    return 0; /* PAT: the table lookup is as cheap as a recheck */
}

static enum authn_result check_pat(struct authn *a, struct token_cache *tc,
                                   const struct authn_state *s, const char *tok, size_t len,
                                   const unsigned char *hash, const char *hex, int64_t now_ms,
                                   enum authn_method method, const struct principal **out,
                                   struct authn_failure *f)
{
    if (!pat_is_well_formed(tok, len))
        return fail_with(a, f, AUTHN_INVALID, "pat",
                         "malformed personal access token (bad length or checksum)");
    const struct pat_record *r = pat_table_find(s->pats, hash);
    if (!r)
        return fail_with(a, f, AUTHN_INVALID, "pat", "unknown personal access token");
    if (r->revoked_s)
        return fail_with(a, f, AUTHN_INVALID, "pat", "token revoked");
    if (r->expires_s && now_ms / 1000 >= r->expires_s) {
        char ts[40];
        jose_format_time(r->expires_s, ts, sizeof(ts));
        return fail_with(a, f, AUTHN_INVALID, "pat", "token expired at %s", ts);
    }
    struct principal_spec spec = {
        .method = method,
        .user = r->user,
        .groups = (const char *const *)r->groups,
        .ngroups = r->ngroups,
        .scopes = (const char *const *)r->scopes,
        .nscopes = r->nscopes,
        .issuer = "pat",
        .jti = r->id,
        .expires_ms = r->expires_s * 1000,
        .token_id = hex,
    };
    struct principal *p = principal_new(&spec);
    if (!p)
        return fail_with(a, f, AUTHN_INVALID, "pat", "out of memory");
    struct token_entry e = {.principal = principal_ref(p),
                            .deadline_ms = r->expires_s ? r->expires_s * 1000 : INT64_MAX,
                            .gen = s->gen,
                            .method = method};
    memcpy(e.hash, hash, SHA256_LEN);
    token_cache_put(tc, &e);
    *out = p;
    return AUTHN_OK;
}

static enum authn_result check_jwt(struct authn *a, struct token_cache *tc,
                                   const struct authn_state *s, const struct jwt_issuer *issuers,
                                   const char *tok, size_t len, const unsigned char *hash,
                                   const char *hex, int64_t now_ms, enum authn_method method,
                                   const struct principal **out, struct authn_failure *f)
{
    struct jwt_result res;
    char desc[sizeof(f->desc)];
    enum jwt_status st =
        jwt_verify(issuers, s->n, tok, len, now_ms / 1000, method, hex, &res, desc, sizeof(desc));
    const char *iname = res.issuer_known ? a->issuers[res.issuer].name : "";
    if (st == JWT_UNKNOWN_KID)
        return unknown_kid(a, &a->issuers[res.issuer], now_ms, f);
    if (st != JWT_OK)
        return fail_with(a, f, AUTHN_INVALID, iname, "%s", desc);
    atomic_fetch_add_explicit(&a->st_verified, 1, memory_order_relaxed);
    if (res.principal->jti[0] && revset_has_jti(s->revoked, res.principal->jti)) {
        principal_release(res.principal);
        return fail_with(a, f, AUTHN_INVALID, iname, "token revoked");
    }
    struct token_entry e = {.principal = principal_ref(res.principal),
                            .deadline_ms = (res.exp_s + a->leeway_s) * 1000,
                            .gen = s->gen,
                            .method = method,
                            .issuer = res.issuer,
                            .has_kid = res.has_kid};
    memcpy(e.hash, hash, SHA256_LEN);
    memcpy(e.kid, res.kid, sizeof(e.kid));
    memcpy(e.key_fp, res.key_fp, SHA256_LEN);
    token_cache_put(tc, &e);
    *out = res.principal;
    return AUTHN_OK;
}

static const char *method_name(enum authn_method m)
{
    switch (m) {
    case AUTHN_METHOD_JWT:
        return "JWT bearer";
    case AUTHN_METHOD_PAT:
        return "personal access token";
    case AUTHN_METHOD_BASIC_PAT:
        return "Basic with a personal access token";
    case AUTHN_METHOD_BASIC_JWT:
        return "Basic with a JWT";
    default:
        return "client certificate";
    }
}

static unsigned method_flag(enum authn_method m)
{
    switch (m) {
    case AUTHN_METHOD_JWT:
        return AUTHN_ALLOW_JWT;
    case AUTHN_METHOD_PAT:
        return AUTHN_ALLOW_PAT;
    case AUTHN_METHOD_BASIC_PAT:
        return AUTHN_ALLOW_BASIC_PAT;
    case AUTHN_METHOD_BASIC_JWT:
        return AUTHN_ALLOW_BASIC_JWT;
    default:
        return AUTHN_ALLOW_MTLS;
    }
}

static enum authn_result check_value(struct authn *a, struct authn_cache *c, enum authn_role role,
                                     const char *authz_value, size_t len, int64_t now_ms,
                                     const struct principal **out, struct authn_failure *f)
{
    struct token_cache *tc = role == AUTHN_ROLE_SUBJECT_CRED ? c->tc_subj : c->tc;
    if (!authz_value || len == 0) {
        snprintf(f->desc, sizeof(f->desc), "no credentials");
        return AUTHN_NO_CREDENTIAL;
    }
    if (len > a->max_token / 3 * 4 + 64)
        return fail_with(a, f, AUTHN_INVALID, NULL, "token too large");
    /* Fast path: a Bearer token seen before is found by the hash of its bytes without
     * re-parsing them (identical bytes parse identically; the entry was fully verified). */
    const char *ftok;
    size_t flen;
    unsigned char hash[SHA256_LEN];
    bool hashed = false;
    if (credential_bearer_fast(authz_value, len, &ftok, &flen) && flen <= a->max_token &&
        auth_sha256(ftok, flen, hash) == 0) {
        hashed = true;
        struct authn_state *s = cache_sync(a, c);
        struct token_entry *e = token_cache_get(tc, hash, now_ms);
        if (e && (e->method == AUTHN_METHOD_JWT || e->method == AUTHN_METHOD_PAT)) {
            int v = e->gen == s->gen ? 1 : revalidate(s, e);
            if (v > 0) {
                e->gen = s->gen;
                atomic_fetch_add_explicit(&a->st_hits, 1, memory_order_relaxed);
                *out = principal_ref(e->principal);
                return AUTHN_OK;
            }
            token_cache_remove(tc, e);
            if (v < 0)
                return fail_with(a, f, AUTHN_INVALID, NULL, "token revoked");
        }
    }
    char stackbuf[2048];
    char *buf = len < sizeof(stackbuf) ? stackbuf : malloc(len + 1);
    if (!buf)
        return fail_with(a, f, AUTHN_INVALID, NULL, "out of memory");
    struct credential cred;
    char why[160];
    enum authn_result r;
    if (credential_parse(authz_value, len, buf, len + 1, &cred, why, sizeof(why)) != 0) {
        r = fail_with(a, f, AUTHN_INVALID, NULL, "%s", why);
        goto out;
    }
    if (role == AUTHN_ROLE_SUBJECT_CRED && cred.kind != CREDENTIAL_BEARER) {
        r = fail_with(a, f, AUTHN_INVALID, NULL,
                      "a subject token is a bearer token (JWT or personal access token), not "
                      "Basic credentials");
        goto out;
    }
    enum authn_method method;
    if (cred.shape == TOKEN_SHAPE_PAT)
        method = cred.kind == CREDENTIAL_BEARER ? AUTHN_METHOD_PAT : AUTHN_METHOD_BASIC_PAT;
    else if (cred.shape == TOKEN_SHAPE_JWT)
        method = cred.kind == CREDENTIAL_BEARER ? AUTHN_METHOD_JWT : AUTHN_METHOD_BASIC_JWT;
    else {
        r = fail_with(a, f, AUTHN_INVALID, NULL,
                      "unrecognised token (neither a JWT nor a personal access token)");
        goto out;
    }
    if (!(a->methods & method_flag(method))) {
        r = fail_with(a, f, AUTHN_INVALID, NULL, "%s authentication is not enabled",
                      method_name(method));
        goto out;
    }
    if (cred.token_len > a->max_token) {
        r = fail_with(a, f, AUTHN_INVALID, NULL, "token too large");
        goto out;
    }
    if (!(hashed && cred.kind == CREDENTIAL_BEARER) &&
        auth_sha256(cred.token, cred.token_len, hash) != 0) {
        r = fail_with(a, f, AUTHN_INVALID, NULL, "internal error");
        goto out;
    }
    struct authn_state *s = cache_sync(a, c);
    struct token_entry *e = token_cache_get(tc, hash, now_ms);
    if (e && e->method == method) {
        int v = e->gen == s->gen ? 1 : revalidate(s, e);
        if (v > 0) {
            e->gen = s->gen;
            atomic_fetch_add_explicit(&a->st_hits, 1, memory_order_relaxed);
            *out = principal_ref(e->principal);
            r = AUTHN_OK;
            goto out;
        }
        token_cache_remove(tc, e);
        if (v < 0) {
            r = fail_with(a, f, AUTHN_INVALID, NULL, "token revoked");
            goto out;
        }
    }
    atomic_fetch_add_explicit(&a->st_misses, 1, memory_order_relaxed);
    if (revset_has_hash(s->revoked, hash)) {
        r = fail_with(a, f, AUTHN_INVALID, NULL, "token revoked");
        goto out;
    }
    char hex[2 * SHA256_LEN + 1];
    auth_hex(hash, SHA256_LEN, hex);
    if (method == AUTHN_METHOD_PAT || method == AUTHN_METHOD_BASIC_PAT)
        r = check_pat(a, tc, s, cred.token, cred.token_len, hash, hex, now_ms, method, out, f);
    else
        r = check_jwt(a, tc, s, role == AUTHN_ROLE_SUBJECT_CRED ? s->subj_issuers : s->issuers,
                      cred.token, cred.token_len, hash, hex, now_ms, method, out, f);
out:
    if (buf != stackbuf) {
        OPENSSL_cleanse(buf, len + 1);
        free(buf);
    } else {
        OPENSSL_cleanse(stackbuf, len + 1);
    }
    return r;
}

/* Whether a header value names its scheme (a token alone never contains a space). */
static bool has_scheme(const char *v, size_t len)
{
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    return (len > 7 && strncasecmp(v, "bearer ", 7) == 0) ||
           (len > 6 && strncasecmp(v, "basic ", 6) == 0);
}

enum authn_result authn_check_role(struct authn *a, struct authn_cache *c, enum authn_role role,
                                   const char *value, size_t len, int64_t now_ms,
                                   const struct principal **out, struct authn_failure *f)
{
    *out = NULL;
    f->desc[0] = f->issuer[0] = '\0';
    f->subject = role == AUTHN_ROLE_SUBJECT_CRED;
    if (!value || len == 0) {
        snprintf(f->desc, sizeof(f->desc), "no credentials");
        return AUTHN_NO_CREDENTIAL;
    }
    if (role != AUTHN_ROLE_SUBJECT_CRED || has_scheme(value, len) ||
        len > a->max_token / 3 * 4 + 64)
        return check_value(a, c, role, value, len, now_ms, out, f);
    /* A bare subject token: checked exactly as "Bearer <token>". */
    char stackbuf[2048];
    char *w = len + 7 < sizeof(stackbuf) ? stackbuf : malloc(len + 7);
    if (!w)
        return fail_with(a, f, AUTHN_INVALID, NULL, "out of memory");
    memcpy(w, "Bearer ", 7);
    memcpy(w + 7, value, len);
    enum authn_result r = check_value(a, c, role, w, len + 7, now_ms, out, f);
    OPENSSL_cleanse(w, len + 7);
    if (w != stackbuf)
        free(w);
    return r;
}

enum authn_result authn_check(struct authn *a, struct authn_cache *c, const char *authz_value,
                              size_t len, int64_t now_ms, const struct principal **out,
                              struct authn_failure *f)
{
    enum authn_result r =
        authn_check_role(a, c, AUTHN_ROLE_CALLER_CRED, authz_value, len, now_ms, out, f);
    if (r == AUTHN_OK && (*out)->nact > 0) {
        /* An exchanged token acts for its subject: only authn_check_obo may accept it, with
         * the actor kept for the decision. Never let it pass as the user itself. */
        const char *iss = (*out)->issuer;
        principal_release(*out);
        *out = NULL;
        return fail_with(a, f, AUTHN_INVALID, iss,
                         "token names an actor (act claim): on-behalf-of tokens are not "
                         "accepted here");
    }
    return r;
}

/* ---- mTLS ---- */

static bool cert_user(struct authn *a, X509 *cert, enum mtls_source src, char *out, size_t outlen)
{
    if (src == MTLS_CN) {
        X509_NAME *nm = X509_get_subject_name(cert);
        int idx = nm ? X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;
        if (idx < 0 || X509_NAME_get_index_by_NID(nm, NID_commonName, idx) >= 0)
            return false; /* none, or ambiguous (several CNs) */
        ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, idx));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, d);
        bool ok = n > 0 && (size_t)n < outlen && memchr(utf8, 0, (size_t)n) == NULL;
        if (ok) {
            memcpy(out, utf8, (size_t)n);
            out[n] = '\0';
        }
        OPENSSL_free(utf8);
        return ok;
    }
    int type = src == MTLS_SAN_EMAIL ? GEN_EMAIL : src == MTLS_SAN_URI ? GEN_URI : GEN_DNS;
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    bool ok = false;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != type)
            continue;
        ASN1_IA5STRING *v = g->d.ia5;
        const char *s = (const char *)ASN1_STRING_get0_data(v);
        size_t n = (size_t)ASN1_STRING_length(v);
        if (memchr(s, 0, n))
            continue;
        if (src == MTLS_SAN_URI) {
            size_t pl = a->mtls_uri_prefix ? strlen(a->mtls_uri_prefix) : 0;
            if (!pl || n <= pl || strncmp(s, a->mtls_uri_prefix, pl) != 0)
                continue;
            s += pl;
            n -= pl;
        }
        if (n < outlen) {
            memcpy(out, s, n);
            out[n] = '\0';
            ok = true;
        }
    }
    GENERAL_NAMES_free(gens);
    return ok;
}

enum authn_result authn_check_mtls(struct authn *a, struct authn_cache *c, X509 *cert,
                                   int64_t now_ms, const struct principal **out,
                                   struct authn_failure *f)
{
    *out = NULL;
    f->desc[0] = f->issuer[0] = '\0';
    f->subject = false;
    if (!cert) {
        snprintf(f->desc, sizeof(f->desc), "no client certificate");
        return AUTHN_NO_CREDENTIAL;
    }
    if (!(a->methods & AUTHN_ALLOW_MTLS))
        return fail_with(a, f, AUTHN_INVALID, "mtls",
                         "client certificate authentication is not enabled");
    unsigned char *der = NULL;
    int dl = i2d_X509(cert, &der);
    unsigned char hash[SHA256_LEN];
    int hrc = dl > 0 ? auth_sha256(der, (size_t)dl, hash) : -1;
    OPENSSL_free(der);
    if (hrc != 0)
        return fail_with(a, f, AUTHN_INVALID, "mtls", "unreadable client certificate");
    struct authn_state *s = cache_sync(a, c);
    if (revset_has_hash(s->revoked, hash))
        return fail_with(a, f, AUTHN_INVALID, "mtls", "certificate revoked");
    const ASN1_TIME *na = X509_get0_notAfter(cert);
    struct tm tm;
    int64_t exp_ms = 0;
    if (na && ASN1_TIME_to_tm(na, &tm) == 1)
        exp_ms = (int64_t)timegm(&tm) * 1000;
    if (exp_ms && now_ms >= exp_ms)
        return fail_with(a, f, AUTHN_INVALID, "mtls", "client certificate expired");
    char user[257];
    bool found = false;
    for (size_t i = 0; i < a->nmtls_src && !found; i++)
        found = cert_user(a, cert, a->mtls_src[i], user, sizeof(user));
    if (!found)
        return fail_with(a, f, AUTHN_INVALID, "mtls",
                         "client certificate has no usable identity (see mtls_user)");
    if (!principal_user_ok(user, strlen(user)))
        return fail_with(a, f, AUTHN_INVALID, "mtls",
                         "client certificate identity contains control characters");
    char hex[2 * SHA256_LEN + 1];
    auth_hex(hash, SHA256_LEN, hex);
    struct principal_spec spec = {
        .method = AUTHN_METHOD_MTLS,
        .user = user,
        .groups = (const char *const *)a->mtls_groups,
        .ngroups = a->nmtls_groups,
        .issuer = "mtls",
        .jti = "",
        .expires_ms = exp_ms,
        .token_id = hex,
    };
    struct principal *p = principal_new(&spec);
    if (!p)
        return fail_with(a, f, AUTHN_INVALID, "mtls", "out of memory");
    *out = p;
    return AUTHN_OK;
}
