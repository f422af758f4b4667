/*
 * jws_sign: see jws_sign.h.
 */
#include "auth/jws_sign.h"

#include "auth/b64.h"
#include "auth/digest.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const EVP_MD *md_of(enum jose_alg alg)
{
    switch (jose_alg_hash_len(alg)) {
    case 32:
        return EVP_sha256();
    case 48:
        return EVP_sha384();
    case 64:
        return EVP_sha512();
    default:
        return NULL;
    }
}

static int sign_bytes(enum jose_alg alg, EVP_PKEY *key, const unsigned char *secret,
                      size_t secret_len, const unsigned char *data, size_t len, unsigned char *sig,
                      size_t *siglen)
{
    enum jose_family fam = jose_alg_family(alg);
    if (fam == JOSE_FAMILY_HMAC) {
        unsigned int n = 0;
        if (!HMAC(md_of(alg), secret, (int)secret_len, data, len, sig, &n))
            return -1;
        *siglen = n;
        return 0;
    }
    if (!key)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der[256];
    size_t derlen = sizeof(der);
    int rc = -1;
    if (!ctx ||
        EVP_DigestSignInit(ctx, &pctx, fam == JOSE_FAMILY_OKP ? NULL : md_of(alg), NULL, key) != 1)
        goto out;
    if (alg == JOSE_PS256 || alg == JOSE_PS384 || alg == JOSE_PS512) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
            goto out;
    }
    if (fam != JOSE_FAMILY_EC) {
        if (EVP_DigestSign(ctx, sig, siglen, data, len) != 1)
            goto out;
        rc = 0;
        goto out;
    }
    if (EVP_DigestSign(ctx, der, &derlen, data, len) != 1)
        goto out;
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (!es)
        goto out;
    size_t clen = alg == JOSE_ES256 ? 32 : alg == JOSE_ES384 ? 48 : 66;
    if (BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)clen) == (int)clen &&
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + clen, (int)clen) == (int)clen) {
        *siglen = 2 * clen;
        rc = 0;
    }
    ECDSA_SIG_free(es);
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

char *jws_sign_raw(enum jose_alg alg, EVP_PKEY *key, const unsigned char *secret, size_t secret_len,
                   const char *header, size_t hlen, const char *payload, size_t plen, char *err,
                   size_t errlen)
{
    size_t cap = B64_ENCODED_SIZE(hlen) + B64_ENCODED_SIZE(plen) + B64_ENCODED_SIZE(1024) + 4;
    char *tok = malloc(cap);
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = b64url_encode((const unsigned char *)header, hlen, tok);
    tok[n++] = '.';
    n += b64url_encode((const unsigned char *)payload, plen, tok + n);
    if (sign_bytes(alg, key, secret, secret_len, (unsigned char *)tok, n, sig, &siglen) != 0) {
        snprintf(err, errlen, "signing with %s failed (does the key fit the algorithm?)",
                 jose_alg_name(alg));
        free(tok);
        return NULL;
    }
    tok[n++] = '.';
    b64url_encode(sig, siglen, tok + n);
    return tok;
}

char *jws_sign(enum jose_alg alg, EVP_PKEY *key, const unsigned char *secret, size_t secret_len,
               json_t *header, json_t *payload, char *err, size_t errlen)
{
    char *h = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *p = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *tok = NULL;
    if (!h || !p)
        snprintf(err, errlen, "out of memory");
    else
        tok = jws_sign_raw(alg, key, secret, secret_len, h, strlen(h), p, strlen(p), err, errlen);
    free(h);
    free(p);
    return tok;
}

static json_t *b64_bn(EVP_PKEY *key, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(key, param, &bn))
        return NULL;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *buf = malloc(n ? n : 1);
    char *enc = malloc(B64_ENCODED_SIZE(n));
    json_t *out = NULL;
    if (buf && enc && BN_bn2binpad(bn, buf, (int)n) == (int)n) {
        b64url_encode(buf, n, enc);
        out = json_string(enc);
    }
    free(buf);
    free(enc);
    BN_free(bn);
    return out;
}

json_t *jwk_public_json(EVP_PKEY *key, const char *kid, enum jose_alg alg)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (EVP_PKEY_is_a(key, "RSA")) {
        json_object_set_new(o, "kty", json_string("RSA"));
        json_object_set_new(o, "n", b64_bn(key, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(o, "e", b64_bn(key, OSSL_PKEY_PARAM_RSA_E, 0));
    } else if (EVP_PKEY_is_a(key, "EC")) {
        char group[64];
        size_t gl = 0;
        if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            &gl))
            goto fail;
        const char *crv = strcmp(group, "prime256v1") == 0  ? "P-256"
                          : strcmp(group, "secp384r1") == 0 ? "P-384"
                          : strcmp(group, "secp521r1") == 0 ? "P-521"
                                                            : NULL;
        size_t clen = crv && crv[2] == '2' ? 32 : crv && crv[2] == '3' ? 48 : 66;
        if (!crv)
            goto fail;
        json_object_set_new(o, "kty", json_string("EC"));
        json_object_set_new(o, "crv", json_string(crv));
        json_object_set_new(o, "x", b64_bn(key, OSSL_PKEY_PARAM_EC_PUB_X, clen));
        json_object_set_new(o, "y", b64_bn(key, OSSL_PKEY_PARAM_EC_PUB_Y, clen));
    } else if (EVP_PKEY_is_a(key, "ED25519")) {
        unsigned char raw[32];
        size_t rl = sizeof(raw);
        char enc[B64_ENCODED_SIZE(32)];
        if (EVP_PKEY_get_raw_public_key(key, raw, &rl) != 1)
            goto fail;
        b64url_encode(raw, rl, enc);
        json_object_set_new(o, "kty", json_string("OKP"));
        json_object_set_new(o, "crv", json_string("Ed25519"));
        json_object_set_new(o, "x", json_string(enc));
    } else {
        goto fail;
    }
    if (kid)
        json_object_set_new(o, "kid", json_string(kid));
    json_object_set_new(o, "use", json_string("sig"));
    if (alg != JOSE_ALG_INVALID)
        json_object_set_new(o, "alg", json_string(jose_alg_name(alg)));
    return o;
fail:
    json_decref(o);
    return NULL;
}

int jwk_default_kid(EVP_PKEY *key, char out[17])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    unsigned char h[SHA256_LEN];
    int rc = n > 0 ? auth_sha256(der, (size_t)n, h) : -1;
    OPENSSL_free(der);
    if (rc != 0)
        return -1;
    auth_hex(h, 8, out);
    return 0;
}

enum jose_alg jwk_default_alg(EVP_PKEY *key)
{
    if (EVP_PKEY_is_a(key, "RSA"))
        return JOSE_RS256;
    if (EVP_PKEY_is_a(key, "ED25519"))
        return JOSE_EDDSA;
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[64];
        size_t gl = 0;
        if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            &gl))
            return JOSE_ALG_INVALID;
        if (strcmp(group, "prime256v1") == 0)
            return JOSE_ES256;
        if (strcmp(group, "secp384r1") == 0)
            return JOSE_ES384;
        if (strcmp(group, "secp521r1") == 0)
            return JOSE_ES512;
    }
    return JOSE_ALG_INVALID;
}
