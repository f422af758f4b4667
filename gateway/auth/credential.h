/*
 * credential: parses the value of an Authorization header into a credential, without judging
 * it. Pure (no I/O, clocks, globals or allocation): the Basic user/password are decoded into a
 * caller-supplied buffer. Fuzzed by tests/fuzz/fuzz_credential.c.
 *
 * Accepted forms (scheme names are case-insensitive, RFC 9110 §11.1):
 *   Bearer <b64token>            RFC 6750 §2.1: ALPHA DIGIT - . _ ~ + / then optional '='s
 *   Basic <base64(user:pass)>    RFC 7617: canonical, padded base64; user has no ':'; the
 *                                password is everything after the first ':'
 * One or more spaces separate scheme and value; surrounding spaces/tabs are ignored. Anything
 * else (other schemes, empty values, control bytes, NUL inside user or password) is refused
 * with a short client-safe reason that never quotes the credential.
 */
#ifndef WARDEN_AUTH_CREDENTIAL_H
#define WARDEN_AUTH_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

enum credential_kind {
    CREDENTIAL_BEARER = 1,
    CREDENTIAL_BASIC,
};

/* What a token looks like, decided by its syntax alone. */
enum token_shape {
    TOKEN_SHAPE_OTHER = 0,
    TOKEN_SHAPE_JWT, /* three non-empty-header dot-separated base64url parts */
    TOKEN_SHAPE_PAT, /* starts with the personal access token prefix */
};

struct credential {
    enum credential_kind kind;
    const char *token; /* Bearer: points into the header value; Basic: the password, in buf */
    size_t token_len;
    const char *user; /* Basic only (NUL-terminated, in buf); NULL for Bearer */
    size_t user_len;
    enum token_shape shape;
};

/*
 * Parse value[0..len). buf (bufcap bytes) receives the decoded Basic credentials; a buffer of
 * len bytes is always enough. Returns 0 and fills *out, or -1 with a reason in err.
 */
int credential_parse(const char *value, size_t len, char *buf, size_t bufcap,
                     struct credential *out, char *err, size_t errlen);

/*
 * Fast path for the token cache: when value uses the Bearer scheme, point *tok at what follows
 * the scheme and spaces (trailing spaces/tabs trimmed) WITHOUT validating it, and return true.
 * Only a cache lookup keyed by the hash of these bytes may use it: a hit proves the same bytes
 * were fully parsed and verified before.
 */
bool credential_bearer_fast(const char *value, size_t len, const char **tok, size_t *toklen);

/* Classify a token by syntax (used for Bearer and for Basic passwords). */
enum token_shape token_shape_of(const char *tok, size_t len);

#endif
