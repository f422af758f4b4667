/*
 * assertion: see assertion.h. The signer owns the private key, its JWK set and the claims
 * layout; the per-worker cache is a direct-mapped table keyed by the credentials' token ids,
 * holding references to the principals it signed for so a hit can be confirmed by identity
 * (or, for principals rebuilt per request such as client certificates, by contents).
 */
#include "auth/assertion.h"

#include "auth/digest.h"
#include "auth/files.h"
#include "auth/jws_sign.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct assertion_signer {
    EVP_PKEY *key;
    enum jose_alg alg;
    char kid[17];
    char *issuer, *audience;
    int64_t lifetime_ms;
    char *jwks;
    size_t jwks_len;
};

/* ---- the key ---- */

static EVP_PKEY *load_key(const char *path, enum jose_alg *alg, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    char why[256];
    if (auth_file_read(path, 65536, &buf, &len, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "assertion_key_file %s: %s", path, why);
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (!key) {
        snprintf(err, errlen, "assertion_key_file %s: not a PEM private key (unencrypted)", path);
        return NULL;
    }
    *alg = jwk_default_alg(key);
    if (*alg == JOSE_ALG_INVALID) {
        snprintf(err, errlen,
                 "assertion_key_file %s: unsupported key type (RSA, EC P-256/P-384/P-521 or "
                 "Ed25519)",
                 path);
        EVP_PKEY_free(key);
        return NULL;
    }
    if (*alg == JOSE_RS256 && EVP_PKEY_get_bits(key) < 2048) {
        snprintf(err, errlen, "assertion_key_file %s: RSA keys need at least 2048 bits", path);
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

int assertion_key_check(const char *path, char *err, size_t errlen)
{
    enum jose_alg alg;
    EVP_PKEY *k = load_key(path, &alg, err, errlen);
    EVP_PKEY_free(k);
    return k ? 0 : -1;
}

struct assertion_signer *assertion_signer_new(const struct assertion_params *p, char *err,
                                              size_t errlen)
{
    struct assertion_signer *s = calloc(1, sizeof(*s));
    json_t *jwk = NULL, *doc = NULL;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->lifetime_ms = p->lifetime_ms ? p->lifetime_ms : 60000;
    if (s->lifetime_ms < ASSERTION_MIN_LIFETIME || s->lifetime_ms > ASSERTION_MAX_LIFETIME) {
        snprintf(err, errlen, "assertion_lifetime must be between 5s and 1h");
        goto fail;
    }
    if (p->key_file) {
        if (!(s->key = load_key(p->key_file, &s->alg, err, errlen)))
            goto fail;
    } else {
        s->key = EVP_EC_gen("P-256");
        s->alg = JOSE_ES256;
        if (!s->key) {
            snprintf(err, errlen, "cannot generate the assertion signing key");
            goto fail;
        }
    }
    s->issuer = strdup(p->issuer ? p->issuer : "warden");
    s->audience = strdup(p->audience ? p->audience : "mlflow");
    if (!s->issuer || !s->audience || jwk_default_kid(s->key, s->kid) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    jwk = jwk_public_json(s->key, s->kid, s->alg);
    doc = jwk ? json_pack("{s:[O]}", "keys", jwk) : NULL;
    s->jwks = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!s->jwks) {
        snprintf(err, errlen, "cannot build the assertion key set");
        goto fail;
    }
    s->jwks_len = strlen(s->jwks);
    json_decref(jwk);
    json_decref(doc);
    return s;
fail:
    json_decref(jwk);
    json_decref(doc);
    assertion_signer_free(s);
    return NULL;
}

void assertion_signer_free(struct assertion_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    free(s->issuer);
    free(s->audience);
    free(s->jwks);
    free(s);
}

const char *assertion_signer_jwks(const struct assertion_signer *s, size_t *len)
{
    if (len)
        *len = s->jwks_len;
    return s->jwks;
}

const char *assertion_signer_kid(const struct assertion_signer *s)
{
    return s->kid;
}

enum jose_alg assertion_signer_alg(const struct assertion_signer *s)
{
    return s->alg;
}

int64_t assertion_signer_lifetime_ms(const struct assertion_signer *s)
{
    return s->lifetime_ms;
}

/* ---- minting ---- */

static const char *method_name(enum authn_method m)
{
    static const char *const names[] = {"", "jwt", "pat", "basic-pat", "basic-jwt", "mtls"};
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "";
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *act_chain(const struct authn_identity *id)
{
    json_t *inner = NULL;
    for (size_t i = id->nactors; i > 0; i--) {
        const struct authn_actor *a = &id->actors[i - 1];
        json_t *o = json_object();
        if (!o) {
            json_decref(inner);
            return NULL;
        }
        json_object_set_new(o, "sub", json_string(a->id));
        if (a->issuer && a->issuer[0])
            json_object_set_new(o, "iss", json_string(a->issuer));
        if (inner)
            json_object_set_new(o, "act", inner);
        inner = o;
    }
    return inner;
}

char *assertion_mint(const struct assertion_signer *s, const struct authn_identity *id,
                     int64_t now_ms, int64_t *exp_ms, char *err, size_t errlen)
{
    const struct principal *p = id->subject;
    if (!p) {
        snprintf(err, errlen, "no subject to assert");
        return NULL;
    }
    int64_t exp = now_ms + s->lifetime_ms;
    if (p->expires_ms > 0 && p->expires_ms < exp)
        exp = p->expires_ms;
    if (id->caller && id->caller->expires_ms > 0 && id->caller->expires_ms < exp)
        exp = id->caller->expires_ms;
    if (exp < now_ms + 1000)
        exp = now_ms + 1000;
    unsigned char rnd[16];
    char jti[33];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(err, errlen, "no randomness for the assertion id");
        return NULL;
    }
    auth_hex(rnd, sizeof(rnd), jti);
    json_t *hdr =
        json_pack("{s:s, s:s, s:s}", "alg", jose_alg_name(s->alg), "typ", "JWT", "kid", s->kid);
    json_t *pl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", s->issuer, "aud", s->audience,
                           "sub", p->user, "iat", (json_int_t)(now_ms / 1000), "exp",
                           (json_int_t)(exp / 1000), "jti", jti);
    char *tok = NULL;
    if (!hdr || !pl) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    json_object_set_new(pl, "groups", string_array(p->groups, p->ngroups));
    if (p->nscopes) {
        size_t n = 1;
        for (size_t i = 0; i < p->nscopes; i++)
            n += strlen(p->scopes[i]) + 1;
        char *sc = calloc(1, n);
        if (!sc) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        for (size_t i = 0, o = 0; i < p->nscopes; i++)
            o += (size_t)sprintf(sc + o, "%s%s", i ? " " : "", p->scopes[i]);
        json_object_set_new(pl, "scope", json_string(sc));
        free(sc);
    }
    json_object_set_new(pl, "amr", json_pack("[s]", method_name(p->method)));
    if (id->nactors > 0) {
        json_t *act = act_chain(id);
        if (!act) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        json_object_set_new(pl, "act", act);
    }
    tok = jws_sign(s->alg, s->key, NULL, 0, hdr, pl, err, errlen);
    if (tok && exp_ms)
        *exp_ms = exp / 1000 * 1000;
out:
    json_decref(hdr);
    json_decref(pl);
    return tok;
}

/* ---- per-worker cache ---- */

struct slot {
    uint64_t hash;
    const struct principal *subject, *caller; /* references held by the cache */
    enum authn_obo_form form;
    char *tok;
    size_t len;
    int64_t refresh_ms; /* re-sign from here on */
};

struct assertion_cache {
    const struct assertion_signer *s;
    struct slot *slots;
    size_t mask; /* slots - 1; no slots when caching is off */
    char *last;  /* caching off: the token handed out last */
    uint64_t hits, mints;
};

struct assertion_cache *assertion_cache_new(const struct assertion_signer *s, size_t capacity)
{
    struct assertion_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->s = s;
    if (capacity) {
        size_t n = 1;
        while (n < capacity && n < ((size_t)1 << 24))
            n <<= 1;
        if (!(c->slots = calloc(n, sizeof(*c->slots)))) {
            free(c);
            return NULL;
        }
        c->mask = n - 1;
    }
    return c;
}

static void slot_clear(struct slot *sl)
{
    principal_release(sl->subject);
    principal_release(sl->caller);
    free(sl->tok);
    memset(sl, 0, sizeof(*sl));
}

void assertion_cache_free(struct assertion_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->slots && i <= c->mask; i++)
        slot_clear(&c->slots[i]);
    free(c->slots);
    free(c->last);
    free(c);
}

void assertion_cache_stats(const struct assertion_cache *c, struct assertion_stats *out)
{
    out->hits = c->hits;
    out->mints = c->mints;
}

static bool strv_equal(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* The same identity: the same object, or (a principal rebuilt for every request, such as a
 * client certificate's) the same credential with the same contents. */
static bool same_principal(const struct principal *a, const struct principal *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->method != b->method || a->expires_ms != b->expires_ms ||
        a->nact != b->nact || strcmp(a->token_id, b->token_id) != 0 ||
        strcmp(a->user, b->user) != 0 || strcmp(a->issuer, b->issuer) != 0 ||
        !strv_equal(a->groups, a->ngroups, b->groups, b->ngroups) ||
        !strv_equal(a->scopes, a->nscopes, b->scopes, b->nscopes))
        return false;
    for (size_t i = 0; i < a->nact; i++)
        if (strcmp(a->act[i].id, b->act[i].id) != 0 ||
            strcmp(a->act[i].issuer, b->act[i].issuer) != 0)
            return false;
    return true;
}

/* Token ids are SHA-256 hex: their first 16 digits are as good a hash as any (a slot match is
 * confirmed by same_principal). */
static uint64_t key_hash(const struct authn_identity *id)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)id->form;
    const char *parts[2] = {id->subject->token_id, id->caller ? id->caller->token_id : ""};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < 16 && parts[k][i]; i++)
            h = (h ^ (unsigned char)parts[k][i]) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

int assertion_get(struct assertion_cache *c, const struct authn_identity *id, int64_t now_ms,
                  const char **value, size_t *len, char *err, size_t errlen)
{
    if (!id->subject) {
        snprintf(err, errlen, "no subject to assert");
        return -1;
    }
    int64_t exp_ms = 0;
    if (!c->slots) {
        free(c->last);
        c->last = assertion_mint(c->s, id, now_ms, &exp_ms, err, errlen);
        if (!c->last)
            return -1;
        c->mints++;
        *value = c->last;
        *len = strlen(c->last);
        return 0;
    }
    uint64_t h = key_hash(id);
    struct slot *sl = &c->slots[h & c->mask];
    if (sl->tok && sl->hash == h && sl->form == id->form && now_ms < sl->refresh_ms &&
        same_principal(sl->subject, id->subject) && same_principal(sl->caller, id->caller)) {
        c->hits++;
        *value = sl->tok;
        *len = sl->len;
        return 0;
    }
    char *tok = assertion_mint(c->s, id, now_ms, &exp_ms, err, errlen);
    if (!tok)
        return -1;
    c->mints++;
    slot_clear(sl);
    sl->hash = h;
    sl->form = id->form;
    sl->subject = principal_ref(id->subject);
    sl->caller = id->caller ? principal_ref(id->caller) : NULL;
    sl->tok = tok;
    sl->len = strlen(tok);
    sl->refresh_ms = now_ms + (exp_ms - now_ms) * 3 / 4;
    *value = sl->tok;
    *len = sl->len;
    return 0;
}
