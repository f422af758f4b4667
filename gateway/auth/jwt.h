/*
 * jwt: verification of a JWT against a set of configured issuers, producing a principal.
 * Combines the pure checks of jose.c with the keys of jwk.c. No I/O, no clocks (callers pass
 * now), no locks: the issuer views and key sets it reads are immutable snapshots. Any thread.
 *
 * Order of checks (cheap and key-independent first, so floods of bad tokens cost little and an
 * unknown kid triggers a key refetch only for otherwise plausible tokens):
 *   size -> split -> header rules -> claims types -> iss (exact) -> alg in the issuer's
 *   allowlist -> exp/nbf/iat with leeway -> aud -> key by kid (alg pinned by the key) ->
 *   signature -> claims mapping (user, groups, scopes; a client-credentials token becomes the
 *   service principal "sp:<client_id>"; the RFC 8693 act chain into principal.act).
 */
#ifndef WARDEN_AUTH_JWT_H
#define WARDEN_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/jwk.h"
#include "auth/principal.h"

struct jwt_issuer {
    const char *name;
    const char *iss;
    const char *const *audiences;
    size_t naud;
    uint32_t alg_mask;         /* JOSE_ALG_BIT(alg) */
    const struct keyset *keys; /* may be NULL (not loaded yet) */
    int64_t leeway_s;
    const char *const *user_claims;
    size_t nuser;
    const char *groups_claim;
    const char *const *scopes_claims;
    size_t nscopes;
};

enum jwt_status {
    JWT_OK = 0,
    JWT_INVALID,     /* desc says why */
    JWT_UNKNOWN_KID, /* otherwise plausible token whose kid is not in the issuer's key set */
};

struct jwt_result {
    size_t issuer; /* index into the issuers array, when issuer_known */
    bool issuer_known;
    bool has_kid;
    char kid[JOSE_KID_MAX + 1];
    unsigned char key_fp[SHA256_LEN];
    int64_t exp_s;
    struct principal *principal; /* OK only; one reference for the caller */
};

enum jwt_status jwt_verify(const struct jwt_issuer *issuers, size_t n, const char *tok, size_t len,
                           int64_t now_s, enum authn_method method, const char *token_id_hex,
                           struct jwt_result *out, char *desc, size_t desclen);

#endif
