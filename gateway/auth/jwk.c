/*
 * jwk: see jwk.h. OpenSSL 3 provider APIs only (OSSL_PARAM_BLD + EVP_PKEY_fromdata); message
 * digests are fetched once per process.
 */
#include "auth/jwk.h"

#include "auth/b64.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t verify_count;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md256, *md384, *md512;

static void md_init(void)
{
    md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    md512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *md_for(enum jose_alg alg)
{
    pthread_once(&md_once, md_init);
    switch (jose_alg_hash_len(alg)) {
    case 32:
        return md256;
    case 48:
        return md384;
    case 64:
        return md512;
    default:
        return NULL;
    }
}

uint64_t jwk_verify_count(void)
{
    return atomic_load_explicit(&verify_count, memory_order_relaxed);
}

void jwk_clear(struct jwk *k)
{
    if (!k)
        return;
    free(k->kid);
    EVP_PKEY_free(k->pkey);
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    memset(k, 0, sizeof(*k));
}

/* Decode a base64url member into a malloc'ed buffer. */
static unsigned char *member(json_t *obj, const char *name, size_t *len, size_t maxlen)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return NULL;
    size_t sl = json_string_length(v);
    if (sl == 0 || sl > maxlen / 3 * 4 + 4)
        return NULL;
    size_t cap = B64_DECODED_MAX(sl);
    unsigned char *buf = malloc(cap);
    if (buf && b64url_decode(json_string_value(v), sl, buf, cap, len) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    if (pkey) {
        EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!chk || EVP_PKEY_public_check(chk) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(chk);
    }
    return pkey;
}

static int rsa_key(json_t *obj, struct jwk *out, char *err, size_t errlen)
{
    size_t nl = 0, el = 0;
    unsigned char *n = member(obj, "n", &nl, 2048), *e = member(obj, "e", &el, 16);
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    int rc = -1;
    if (!n || !e) {
        snprintf(err, errlen, "RSA key without valid n/e");
        goto out;
    }
    bn = BN_bin2bn(n, (int)nl, NULL);
    be = BN_bin2bn(e, (int)el, NULL);
    if (!bn || !be || BN_num_bits(bn) < 2048 || !BN_is_odd(be) || BN_is_one(be)) {
        snprintf(err, errlen, "RSA key too small (< 2048 bits) or with a bad exponent");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(out->pkey = from_params("RSA", bld))) {
        snprintf(err, errlen, "RSA key rejected by OpenSSL");
        goto out;
    }
    out->family = JOSE_FAMILY_RSA;
    if (auth_sha256(n, nl, out->fp) != 0)
        goto out;
    rc = 1;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return rc;
}

static int ec_key(json_t *obj, struct jwk *out, char *err, size_t errlen)
{
    json_t *crv = json_object_get(obj, "crv");
    const char *c = json_is_string(crv) ? json_string_value(crv) : "";
    const char *group;
    size_t clen;
    int nid;
    if (strcmp(c, "P-256") == 0) {
        group = SN_X9_62_prime256v1, clen = 32, nid = NID_X9_62_prime256v1;
    } else if (strcmp(c, "P-384") == 0) {
        group = SN_secp384r1, clen = 48, nid = NID_secp384r1;
    } else if (strcmp(c, "P-521") == 0) {
        group = SN_secp521r1, clen = 66, nid = NID_secp521r1;
    } else {
        snprintf(err, errlen, "unsupported EC curve");
        return 0;
    }
    size_t xl = 0, yl = 0;
    unsigned char *x = member(obj, "x", &xl, 66), *y = member(obj, "y", &yl, 66);
    unsigned char pub[1 + 2 * 66];
    OSSL_PARAM_BLD *bld = NULL;
    int rc = -1;
    if (!x || !y || xl != clen || yl != clen) {
        snprintf(err, errlen, "EC key without valid x/y for %s", c);
        goto out;
    }
    pub[0] = 0x04;
    memcpy(pub + 1, x, clen);
    memcpy(pub + 1 + clen, y, clen);
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * clen) ||
        !(out->pkey = from_params("EC", bld))) {
        snprintf(err, errlen, "EC key rejected by OpenSSL (point not on curve?)");
        goto out;
    }
    out->family = JOSE_FAMILY_EC;
    out->curve_nid = nid;
    if (auth_sha256(pub, 1 + 2 * clen, out->fp) != 0)
        goto out;
    rc = 1;
out:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return rc;
}

static int okp_key(json_t *obj, struct jwk *out, char *err, size_t errlen)
{
    json_t *crv = json_object_get(obj, "crv");
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "Ed25519") != 0) {
        snprintf(err, errlen, "unsupported OKP curve");
        return 0;
    }
    size_t xl = 0;
    unsigned char *x = member(obj, "x", &xl, 32);
    if (!x || xl != 32) {
        free(x);
        snprintf(err, errlen, "Ed25519 key without a valid x");
        return -1;
    }
    out->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
    int rc = out->pkey && auth_sha256(x, xl, out->fp) == 0 ? 1 : -1;
    free(x);
    if (rc < 0)
        snprintf(err, errlen, "Ed25519 key rejected by OpenSSL");
    out->family = JOSE_FAMILY_OKP;
    return rc;
}

int jwk_from_json(json_t *obj, struct jwk *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "key is not an object");
        return -1;
    }
    json_t *kty = json_object_get(obj, "kty"), *kid = json_object_get(obj, "kid"),
           *use = json_object_get(obj, "use"), *alg = json_object_get(obj, "alg");
    if (!json_is_string(kty)) {
        snprintf(err, errlen, "key without kty");
        return -1;
    }
    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        snprintf(err, errlen, "key not for signatures (use)");
        return 0;
    }
    if (kid) {
        if (!json_is_string(kid) || json_string_length(kid) == 0 ||
            json_string_length(kid) > JOSE_KID_MAX ||
            strlen(json_string_value(kid)) != json_string_length(kid)) {
            snprintf(err, errlen, "key with an invalid kid");
            return -1;
        }
    }
    if (alg) {
        if (!json_is_string(alg)) {
            snprintf(err, errlen, "key with a non-string alg");
            return -1;
        }
        out->alg = jose_alg_from_name(json_string_value(alg));
        if (out->alg == JOSE_ALG_INVALID) {
            snprintf(err, errlen, "key with unsupported alg");
            return 0;
        }
    }
    const char *t = json_string_value(kty);
    int rc;
    if (strcmp(t, "RSA") == 0)
        rc = rsa_key(obj, out, err, errlen);
    else if (strcmp(t, "EC") == 0)
        rc = ec_key(obj, out, err, errlen);
    else if (strcmp(t, "OKP") == 0)
        rc = okp_key(obj, out, err, errlen);
    else {
        snprintf(err, errlen, "unsupported key type %s (HMAC keys come only from a secret file)",
                 strcmp(t, "oct") == 0 ? "oct" : "");
        rc = 0;
    }
    if (rc == 1 && out->alg != JOSE_ALG_INVALID && jose_alg_family(out->alg) != out->family) {
        snprintf(err, errlen, "key alg does not match its type");
        rc = -1;
    }
    if (rc == 1 && kid && !(out->kid = strdup(json_string_value(kid)))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc != 1)
        jwk_clear(out);
    return rc;
}

static struct keyset *keyset_alloc(size_t n)
{
    struct keyset *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return NULL;
    ks->keys = calloc(n ? n : 1, sizeof(struct jwk));
    if (!ks->keys) {
        free(ks);
        return NULL;
    }
    atomic_init(&ks->refs, 1);
    return ks;
}

int keyset_from_jwks(const char *json, size_t len, struct keyset **out, size_t *skipped, char *err,
                     size_t errlen)
{
    json_error_t je;
    char why[160];
    size_t skip = 0;
    *out = NULL;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    json_t *keys = json_is_object(doc) ? json_object_get(doc, "keys") : NULL;
    struct keyset *ks = NULL;
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "not a JWKS document (need {\"keys\":[...]})");
        goto fail;
    }
    if (json_array_size(keys) > 1000) {
        snprintf(err, errlen, "JWKS has too many keys");
        goto fail;
    }
    if (!(ks = keyset_alloc(json_array_size(keys)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        int rc = jwk_from_json(json_array_get(keys, i), &ks->keys[ks->n], why, sizeof(why));
        if (rc < 0) {
            snprintf(err, errlen, "key %zu: %s", i, why);
            goto fail;
        }
        if (rc == 0)
            skip++;
        else
            ks->n++;
    }
    if (ks->n == 0) {
        snprintf(err, errlen, "JWKS has no usable signing keys");
        goto fail;
    }
    json_decref(doc);
    if (skipped)
        *skipped = skip;
    *out = ks;
    return 0;
fail:
    keyset_release(ks);
    json_decref(doc);
    return -1;
}

int keyset_from_secret(const unsigned char *secret, size_t len, struct keyset **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (len < 32) {
        snprintf(err, errlen, "HMAC secret must be at least 32 bytes");
        return -1;
    }
    struct keyset *ks = keyset_alloc(1);
    if (!ks || !(ks->keys[0].secret = malloc(len))) {
        keyset_release(ks);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(ks->keys[0].secret, secret, len);
    ks->keys[0].secret_len = len;
    ks->keys[0].family = JOSE_FAMILY_HMAC;
    auth_sha256(secret, len, ks->keys[0].fp);
    ks->n = 1;
    *out = ks;
    return 0;
}

static int jwk_copy(struct jwk *dst, const struct jwk *src)
{
    *dst = *src;
    dst->kid = NULL;
    dst->pkey = NULL;
    dst->secret = NULL;
    if (src->kid && !(dst->kid = strdup(src->kid)))
        return -1;
    if (src->pkey) {
        if (!EVP_PKEY_up_ref(src->pkey))
            return -1;
        dst->pkey = src->pkey;
    }
    if (src->secret) {
        if (!(dst->secret = malloc(src->secret_len)))
            return -1;
        memcpy(dst->secret, src->secret, src->secret_len);
    }
    return 0;
}

struct keyset *keyset_merge(const struct keyset *a, const struct keyset *b)
{
    size_t na = a ? a->n : 0, nb = b ? b->n : 0;
    struct keyset *ks = keyset_alloc(na + nb);
    if (!ks)
        return NULL;
    for (size_t i = 0; i < na + nb; i++) {
        const struct jwk *src = i < na ? &a->keys[i] : &b->keys[i - na];
        int rc = jwk_copy(&ks->keys[ks->n], src);
        ks->n++;
        if (rc != 0) {
            keyset_release(ks);
            return NULL;
        }
    }
    return ks;
}

struct keyset *keyset_ref(struct keyset *ks)
{
    if (ks)
        atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
    return ks;
}

void keyset_release(struct keyset *ks)
{
    if (!ks || atomic_fetch_sub_explicit(&ks->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < ks->n; i++)
        jwk_clear(&ks->keys[i]);
    free(ks->keys);
    free(ks);
}

bool jwk_allows(const struct jwk *k, enum jose_alg alg)
{
    if (jose_alg_family(alg) != k->family)
        return false;
    if (k->alg != JOSE_ALG_INVALID && k->alg != alg)
        return false;
    switch (alg) {
    case JOSE_ES256:
        return k->curve_nid == NID_X9_62_prime256v1;
    case JOSE_ES384:
        return k->curve_nid == NID_secp384r1;
    case JOSE_ES512:
        return k->curve_nid == NID_secp521r1;
    case JOSE_HS256:
    case JOSE_HS384:
    case JOSE_HS512:
        return k->secret && k->secret_len >= jose_alg_hash_len(alg);
    default:
        return k->pkey != NULL;
    }
}

enum keyset_select_result keyset_select(const struct keyset *ks, const char *kid, enum jose_alg alg,
                                        const struct jwk **out)
{
    *out = NULL;
    if (!ks)
        return kid ? KEYSET_UNKNOWN_KID : KEYSET_NO_KEY;
    const struct jwk *found = NULL;
    size_t matches = 0;
    if (kid) {
        for (size_t i = 0; i < ks->n; i++)
            if (ks->keys[i].kid && strcmp(ks->keys[i].kid, kid) == 0) {
                found = &ks->keys[i];
                matches++;
            }
        if (matches == 0)
            return KEYSET_UNKNOWN_KID;
        if (matches > 1)
            return KEYSET_AMBIGUOUS;
    } else {
        for (size_t i = 0; i < ks->n; i++)
            if (jwk_allows(&ks->keys[i], alg)) {
                found = &ks->keys[i];
                matches++;
            }
        if (matches != 1)
            return KEYSET_NO_KEY;
    }
    if (!jwk_allows(found, alg))
        return KEYSET_INCOMPATIBLE;
    *out = found;
    return KEYSET_FOUND;
}

bool keyset_contains(const struct keyset *ks, const char *kid, const unsigned char fp[SHA256_LEN])
{
    if (!ks)
        return false;
    for (size_t i = 0; i < ks->n; i++) {
        const struct jwk *k = &ks->keys[i];
        if ((kid == NULL) != (k->kid == NULL))
            continue;
        if (kid && strcmp(kid, k->kid) != 0)
            continue;
        if (memcmp(fp, k->fp, SHA256_LEN) == 0)
            return true;
    }
    return false;
}

static int ecdsa_der(const unsigned char *sig, size_t siglen, size_t clen, unsigned char **der,
                     int *derlen)
{
    if (siglen != 2 * clen)
        return -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)clen, NULL), *s = BN_bin2bn(sig + clen, (int)clen, NULL);
    int rc = -1;
    if (!es || !r || !s || BN_is_zero(r) || BN_is_zero(s))
        goto out;
    if (!ECDSA_SIG_set0(es, r, s))
        goto out;
    r = s = NULL;
    *der = NULL;
    *derlen = i2d_ECDSA_SIG(es, der);
    rc = *derlen > 0 ? 0 : -1;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rc;
}

int jwk_verify(const struct jwk *k, enum jose_alg alg, const unsigned char *data, size_t len,
               const unsigned char *sig, size_t siglen)
{
    if (!jwk_allows(k, alg))
        return -1;
    atomic_fetch_add_explicit(&verify_count, 1, memory_order_relaxed);
    const EVP_MD *md = md_for(alg);
    enum jose_family fam = jose_alg_family(alg);
    if (fam == JOSE_FAMILY_HMAC) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        if (!md || !HMAC(md, k->secret, (int)k->secret_len, data, len, mac, &maclen))
            return -1;
        return maclen == siglen && CRYPTO_memcmp(mac, sig, maclen) == 0 ? 0 : -1;
    }
    unsigned char *der = NULL;
    int derlen = 0;
    if (fam == JOSE_FAMILY_EC) {
        size_t clen = alg == JOSE_ES256 ? 32 : alg == JOSE_ES384 ? 48 : 66;
        if (ecdsa_der(sig, siglen, clen, &der, &derlen) != 0)
            return -1;
        sig = der;
        siglen = (size_t)derlen;
    } else if (fam == JOSE_FAMILY_RSA) {
        if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
            return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;
    if (!ctx ||
        EVP_DigestVerifyInit(ctx, &pctx, fam == JOSE_FAMILY_OKP ? NULL : md, NULL, k->pkey) != 1)
        goto out;
    if (alg == JOSE_PS256 || alg == JOSE_PS384 || alg == JOSE_PS512) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0)
            goto out;
    } else if (fam == JOSE_FAMILY_RSA) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
            goto out;
    }
    rc = EVP_DigestVerify(ctx, sig, siglen, data, len) == 1 ? 0 : -1;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return rc;
}
