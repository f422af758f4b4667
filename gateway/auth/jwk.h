/*
 * jwk: JSON Web Keys (RFC 7517/7518/8037) turned into OpenSSL keys, key sets, and JWS
 * signature verification with those keys.
 *
 * A keyset is immutable and reference counted; it is built once per JWKS load on the control
 * thread (keys are parsed once, never per request) and read lock-free by workers. Supported
 * keys: RSA (n, e; at least 2048 bits), EC P-256/P-384/P-521 (x, y; the point is validated),
 * OKP Ed25519. Symmetric ("oct") keys in a JWKS are skipped: HMAC keys come only from a
 * configured secret file (keyset_from_secret). Keys with "use" other than "sig" are skipped.
 *
 * Key selection and compatibility (keyset_select) pin the algorithm to the key: the header alg
 * must be in the issuer's allowlist (checked by the caller), must belong to the key's family,
 * must equal the key's own "alg" when the JWK states one, and EC curves must match (ES256 only
 * with P-256, ...). Duplicate kids make that kid unusable (ambiguous), never "first wins".
 */
#ifndef WARDEN_AUTH_JWK_H
#define WARDEN_AUTH_JWK_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/digest.h"
#include "auth/jose.h"

struct jwk {
    char *kid; /* NULL when the JWK has none */
    enum jose_family family;
    enum jose_alg alg;     /* JOSE_ALG_INVALID when the JWK does not state one */
    int curve_nid;         /* EC only */
    EVP_PKEY *pkey;        /* asymmetric keys */
    unsigned char *secret; /* HMAC keys */
    size_t secret_len;
    unsigned char fp[SHA256_LEN]; /* fingerprint of the public material (for cache rechecks) */
};

struct keyset {
    atomic_long refs;
    struct jwk *keys;
    size_t n;
};

/* Convert one JWK object. Returns 1 on success, 0 when the key is skipped (reason in err:
 * unsupported kty/curve, use != sig, oct), -1 when it is malformed. */
int jwk_from_json(json_t *obj, struct jwk *out, char *err, size_t errlen);
void jwk_clear(struct jwk *k);

/* Parse a JWKS document {"keys":[...]}. Malformed keys are errors; skipped keys are counted in
 * *skipped (may be NULL). An empty usable set is an error (keeping the last good set is the
 * caller's policy). */
int keyset_from_jwks(const char *json, size_t len, struct keyset **out, size_t *skipped, char *err,
                     size_t errlen);

/* An HMAC key set of one key. The secret must be at least 32 bytes. */
int keyset_from_secret(const unsigned char *secret, size_t len, struct keyset **out, char *err,
                       size_t errlen);

/* Append the keys of b to a copy of a (both may be NULL). Returns NULL on allocation failure. */
struct keyset *keyset_merge(const struct keyset *a, const struct keyset *b);

struct keyset *keyset_ref(struct keyset *ks);
void keyset_release(struct keyset *ks);

enum keyset_select_result {
    KEYSET_FOUND = 0,
    KEYSET_UNKNOWN_KID, /* no key with this kid (a refetch may help) */
    KEYSET_NO_KEY,      /* no kid in the token and no unique compatible key */
    KEYSET_AMBIGUOUS,   /* the kid occurs more than once */
    KEYSET_INCOMPATIBLE /* the key cannot be used with this alg */
};

enum keyset_select_result keyset_select(const struct keyset *ks, const char *kid, enum jose_alg alg,
                                        const struct jwk **out);

/* True when the key may verify alg (family, stated alg, curve, size). */
bool jwk_allows(const struct jwk *k, enum jose_alg alg);

/* Find a key by kid and fingerprint (the cache's "is my key still there" check). */
bool keyset_contains(const struct keyset *ks, const char *kid, const unsigned char fp[SHA256_LEN]);

/* Verify a JWS signature over data with key k for alg. ES* signatures are the JOSE fixed-size
 * r||s form (converted to DER here; r or s zero or out of size is refused). Returns 0 when
 * valid, -1 otherwise. */
int jwk_verify(const struct jwk *k, enum jose_alg alg, const unsigned char *data, size_t len,
               const unsigned char *sig, size_t siglen);

/* Number of asymmetric/HMAC verifications performed by this process (test and metrics hook). */
uint64_t jwk_verify_count(void);

#endif
