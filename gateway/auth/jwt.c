/*
 * jwt: see jwt.h.
 */
#include "auth/jwt.h"

#include "auth/b64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAX 1024 /* RSA 8192 bits */

enum jwt_status jwt_verify(const struct jwt_issuer *issuers, size_t n, const char *tok, size_t len,
                           int64_t now_s, enum authn_method method, const char *token_id_hex,
                           struct jwt_result *out, char *desc, size_t desclen)
{
    struct jwt_parts parts;
    struct jose_header hdr;
    struct jwt_claims claims;
    struct jose_mapping map;
    memset(out, 0, sizeof(*out));
    memset(&claims, 0, sizeof(claims));
    memset(&map, 0, sizeof(map));
    enum jwt_status st = JWT_INVALID;
    if (jose_split(tok, len, &parts, desc, desclen) != 0 ||
        jose_header_parse(parts.header, parts.header_len, &hdr, desc, desclen) != 0 ||
        jose_claims_parse(parts.payload, parts.payload_len, &claims, desc, desclen) != 0)
        return JWT_INVALID;
    if (!claims.iss) {
        snprintf(desc, desclen, "token has no issuer (iss)");
        goto out;
    }
    const struct jwt_issuer *is = NULL;
    for (size_t i = 0; i < n && !is; i++)
        if (strcmp(issuers[i].iss, claims.iss) == 0) {
            is = &issuers[i];
            out->issuer = i;
            out->issuer_known = true;
        }
    if (!is) {
        snprintf(desc, desclen, "unknown issuer");
        goto out;
    }
    if (!(is->alg_mask & JOSE_ALG_BIT(hdr.alg))) {
        snprintf(desc, desclen, "algorithm %s not accepted for this issuer",
                 jose_alg_name(hdr.alg));
        goto out;
    }
    if (jose_check_time(&claims, now_s, is->leeway_s, desc, desclen) != 0 ||
        jose_check_audience(&claims, is->audiences, is->naud, desc, desclen) != 0)
        goto out;
    const struct jwk *key = NULL;
    switch (keyset_select(is->keys, hdr.has_kid ? hdr.kid : NULL, hdr.alg, &key)) {
    case KEYSET_FOUND:
        break;
    case KEYSET_UNKNOWN_KID:
        out->has_kid = true;
        memcpy(out->kid, hdr.kid, sizeof(hdr.kid));
        snprintf(desc, desclen, "unknown key id");
        st = JWT_UNKNOWN_KID;
        goto out;
    case KEYSET_NO_KEY:
        snprintf(desc, desclen, "token has no key id and no single key matches");
        goto out;
    case KEYSET_AMBIGUOUS:
        snprintf(desc, desclen, "key id is ambiguous in the issuer's key set");
        goto out;
    case KEYSET_INCOMPATIBLE:
        snprintf(desc, desclen, "algorithm %s does not match the key", jose_alg_name(hdr.alg));
        goto out;
    }
    unsigned char sig[SIG_MAX];
    size_t siglen = 0;
    if (parts.sig_len > B64_ENCODED_SIZE(SIG_MAX) ||
        b64url_decode(parts.sig, parts.sig_len, sig, sizeof(sig), &siglen) != 0) {
        snprintf(desc, desclen, "token signature is not valid base64url");
        goto out;
    }
    if (jwk_verify(key, hdr.alg, (const unsigned char *)tok, parts.signed_len, sig, siglen) != 0) {
        snprintf(desc, desclen, "invalid token signature");
        goto out;
    }
    /* A client-credentials token names a service principal: "sp:<client_id>". */
    static const char *const client_claim[] = {"client_id"};
    const char *client_id = NULL;
    bool client = jose_client_token(&claims, &client_id);
    if (jose_map_claims(&claims, client ? client_claim : is->user_claims, client ? 1 : is->nuser,
                        is->groups_claim, is->scopes_claims, is->nscopes, &map, desc, desclen) != 0)
        goto out;
    struct jose_actors actors;
    if (jose_map_actors(&claims, &actors, desc, desclen) != 0)
        goto out;
    char user[PRINCIPAL_SP_PREFIX_LEN + 260];
    size_t ul = 0;
    if (client) {
        memcpy(user, PRINCIPAL_SP_PREFIX, PRINCIPAL_SP_PREFIX_LEN);
        ul = PRINCIPAL_SP_PREFIX_LEN;
    }
    memcpy(user + ul, map.user, map.user_len);
    ul += map.user_len;
    user[ul] = '\0';
    if (!principal_user_ok(user, ul)) {
        snprintf(desc, desclen, "user claim contains control characters or is too long");
        goto out;
    }
    struct principal_actor act[JOSE_MAX_ACTORS];
    for (size_t i = 0; i < actors.n; i++) {
        act[i].id = actors.v[i].id;
        act[i].issuer = actors.v[i].iss ? actors.v[i].iss : "";
    }
    struct principal_spec spec = {
        .method = method,
        .user = user,
        .groups = map.groups,
        .ngroups = map.ngroups,
        .scopes = map.scopes,
        .nscopes = map.nscopes,
        .issuer = is->iss,
        .jti = claims.jti ? claims.jti : "",
        .expires_ms = claims.exp * 1000,
        .token_id = token_id_hex,
        .act = act,
        .nact = actors.n,
    };
    if (!(out->principal = principal_new(&spec))) {
        snprintf(desc, desclen, "out of memory");
        goto out;
    }
    out->has_kid = hdr.has_kid;
    if (hdr.has_kid)
        memcpy(out->kid, hdr.kid, sizeof(hdr.kid));
    memcpy(out->key_fp, key->fp, SHA256_LEN);
    out->exp_s = claims.exp;
    st = JWT_OK;
out:
    jose_mapping_clear(&map);
    jose_claims_clear(&claims);
    return st;
}
