/*
 * jws_sign: producing signed tokens and public JWKs, for wardenctl (dev keys, minting) and the
 * tests. Never used on the request path. Any thread.
 */
#ifndef WARDEN_AUTH_JWS_SIGN_H
#define WARDEN_AUTH_JWS_SIGN_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#include "auth/jose.h"

/*
 * Sign header and payload (serialised compactly as given) into a compact JWS. For HS* pass
 * key = NULL and the secret; otherwise key must fit alg. Returns a malloc'ed token or NULL
 * with a message in err. ES* signatures are emitted in the JOSE r||s form.
 */
char *jws_sign(enum jose_alg alg, EVP_PKEY *key, const unsigned char *secret, size_t secret_len,
               json_t *header, json_t *payload, char *err, size_t errlen);

/* Same with raw header/payload bytes (tests use this to craft odd JSON). */
char *jws_sign_raw(enum jose_alg alg, EVP_PKEY *key, const unsigned char *secret, size_t secret_len,
                   const char *header, size_t hlen, const char *payload, size_t plen, char *err,
                   size_t errlen);

/* The public JWK of key: {"kty":..., "kid":kid, "alg":alg?, "use":"sig", ...}. alg may be
 * JOSE_ALG_INVALID to omit it. NULL on failure. */
json_t *jwk_public_json(EVP_PKEY *key, const char *kid, enum jose_alg alg);

/* A stable key id: 16 hex digits of SHA-256 over the DER SubjectPublicKeyInfo. */
int jwk_default_kid(EVP_PKEY *key, char out[17]);

/* The natural algorithm for a key: RSA -> RS256, P-256 -> ES256, P-384 -> ES384,
 * P-521 -> ES512, Ed25519 -> EdDSA; JOSE_ALG_INVALID otherwise. */
enum jose_alg jwk_default_alg(EVP_PKEY *key);

#endif
