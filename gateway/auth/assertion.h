/*
 * assertion: the identity Warden asserts to its upstream in [upstream] identity = assert
 * mode: a short-lived JWT Warden signs, sent in the X-Warden-Assertion request header next to
 * the X-Warden-* identity headers, so that an upstream (or a plugin in front of MLflow) can
 * verify who the request is for with Warden's published key set instead of trusting headers.
 *
 *   header  {"alg":"ES256"|"RS256"|..., "typ":"JWT", "kid":<key id>}
 *   claims  iss (assertion_issuer), aud (assertion_audience), sub (the subject: the user the
 *           request is for, "sp:NAME" for a service principal), iat, exp (iat + lifetime,
 *           never past the subject's or the actor's credential expiry), jti (random),
 *           groups (the subject's token groups), scope (the subject's token scopes, when
 *           any), amr ([method of the subject's credential]), and act (RFC 8693) when the
 *           request is on behalf of the subject: {"sub": current actor, "act": {prior ...}}.
 *
 * The key comes from [upstream] assertion_key_file (PEM: RSA of at least 2048 bits, EC
 * P-256/P-384/P-521 or Ed25519), or is generated (ES256, P-256) at start when none is given;
 * its public JWK is served by the admin plane at GET /.well-known/jwks.json and /jwks.json.
 * A generated key changes at every start and differs between instances: fleets configure
 * the key file.
 *
 * Cost: signing is the expensive part (ES256 ~40 µs, RS256-2048 ~1 ms), so each worker keeps
 * an assertion_cache: the signed token of an identity is reused until three quarters of its
 * lifetime have passed. A hit is a hash probe and a comparison, no allocation.
 *
 * Threads: a signer is immutable after assertion_signer_new and may be shared by every
 * thread (signing uses per-call contexts); an assertion_cache belongs to one worker.
 */
#ifndef WARDEN_AUTH_ASSERTION_H
#define WARDEN_AUTH_ASSERTION_H

#include <stddef.h>
#include <stdint.h>

#include "auth/jose.h"
#include "auth/obo.h"

#define ASSERTION_HEADER       "X-Warden-Assertion"
#define ASSERTION_HEADER_LEN   18
#define ASSERTION_MIN_LIFETIME 5000    /* ms */
#define ASSERTION_MAX_LIFETIME 3600000 /* ms */
#define ASSERTION_JWKS_PATH    "/.well-known/jwks.json"

struct assertion_params {
    const char *key_file; /* PEM private key; NULL = generate a P-256 key (ES256) */
    const char *issuer;   /* NULL = "warden" */
    const char *audience; /* NULL = "mlflow" */
    int64_t lifetime_ms;  /* 0 = 60 s; else ASSERTION_MIN_LIFETIME..ASSERTION_MAX_LIFETIME */
};

struct assertion_signer;
struct assertion_cache;

/* Load (or generate) the key and prepare the JWKS. NULL with a message on error. */
struct assertion_signer *assertion_signer_new(const struct assertion_params *p, char *err,
                                              size_t errlen);
void assertion_signer_free(struct assertion_signer *s);

/* Check a key file as assertion_signer_new would load it (configuration checks). 0 or -1. */
int assertion_key_check(const char *path, char *err, size_t errlen);

/* The public key set, {"keys":[{...}]} (NUL-terminated, owned by the signer). */
const char *assertion_signer_jwks(const struct assertion_signer *s, size_t *len);
const char *assertion_signer_kid(const struct assertion_signer *s);
enum jose_alg assertion_signer_alg(const struct assertion_signer *s);
int64_t assertion_signer_lifetime_ms(const struct assertion_signer *s);

/*
 * Sign a fresh assertion for id (id->subject must be set) at now_ms. Returns a malloc'ed
 * compact JWT and its exp (epoch ms) in *exp_ms, or NULL with a message.
 */
char *assertion_mint(const struct assertion_signer *s, const struct authn_identity *id,
                     int64_t now_ms, int64_t *exp_ms, char *err, size_t errlen);

/* A per-worker cache of capacity entries (rounded up to a power of two; 0 = no caching). */
struct assertion_cache *assertion_cache_new(const struct assertion_signer *s, size_t capacity);
void assertion_cache_free(struct assertion_cache *c);

/*
 * The assertion for id at now_ms: cached when a token for the same identity (same
 * credentials and same principal contents) has at least a quarter of its lifetime left,
 * otherwise freshly signed and cached. The value and length stay valid until the next call on this
 * cache. Returns 0, or -1 with a message (the caller fails the request closed: 500).
 */
int assertion_get(struct assertion_cache *c, const struct authn_identity *id, int64_t now_ms,
                  const char **value, size_t *len, char *err, size_t errlen);

struct assertion_stats {
    uint64_t hits, mints;
};
void assertion_cache_stats(const struct assertion_cache *c, struct assertion_stats *out);

#endif
