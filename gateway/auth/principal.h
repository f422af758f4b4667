/*
 * principal: who is calling, as established by authentication. An immutable, reference
 * counted object packed into a single allocation (strings and arrays included), so taking it
 * out of the per-worker token cache costs one atomic increment and releasing it one decrement.
 *
 * Lifetime: authn_check() hands the caller a reference; the caller keeps the pointer for as
 * long as the request lives and calls principal_release() when the request ends (also when it
 * ends early). The cache holds its own reference, so eviction never invalidates a principal a
 * request still uses. References may be released on any thread.
 *
 * Values come from verified credentials only. User, group and scope strings never contain
 * control characters (CR, LF, NUL, DEL, ...), and groups and scopes never contain ',' or
 * whitespace, so they can be joined into a single header value without being split.
 */
#ifndef WARDEN_AUTH_PRINCIPAL_H
#define WARDEN_AUTH_PRINCIPAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum authn_method {
    AUTHN_METHOD_JWT = 1,   /* Authorization: Bearer <JWT> */
    AUTHN_METHOD_PAT,       /* Authorization: Bearer <PAT> */
    AUTHN_METHOD_BASIC_PAT, /* Authorization: Basic, PAT as the password */
    AUTHN_METHOD_BASIC_JWT, /* Authorization: Basic, JWT as the password */
    AUTHN_METHOD_MTLS,      /* TLS client certificate */
};

#define PRINCIPAL_TOKEN_ID_LEN 64 /* lowercase hex SHA-256 of the credential */

/* Service principals: a principal whose user is "sp:NAME" is the service principal NAME (for
 * the policy, the audit and the upstream). Personal access tokens get it from their record's
 * user; JWTs from a client-credentials token (client_id claim equal to sub, RFC 9068 §2.2)
 * or from a user claim that already reads "sp:...". */
#define PRINCIPAL_SP_PREFIX     "sp:"
#define PRINCIPAL_SP_PREFIX_LEN 3

/* One entry of a token's RFC 8693 actor chain (the "act" claim). */
struct principal_actor {
    const char *id;     /* act.sub, or "sp:" + act.client_id for an OAuth client */
    const char *issuer; /* act.iss, "" when absent */
};

#define PRINCIPAL_MAX_ACTORS 8 /* nesting depth of "act" accepted */

struct principal {
    atomic_long refs;
    enum authn_method method;
    const char *user;
    const char *const *groups; /* ngroups entries */
    size_t ngroups;
    const char *const *scopes; /* nscopes entries; empty = token not scope-restricted */
    size_t nscopes;
    const char *issuer; /* JWT iss, "pat" for personal access tokens, "mtls" */
    const char *jti;    /* JWT jti or PAT id; "" when none */
    int64_t expires_ms; /* epoch ms; 0 = no expiry (mTLS: certificate notAfter) */
    char token_id[PRINCIPAL_TOKEN_ID_LEN + 1]; /* hashed credential, for audit/revocation */
    /* An exchanged token's actor chain (RFC 8693 "act"): act[0] is the current actor (the
     * outermost claim, which decides), deeper entries are prior actors. nact 0: no act. */
    const struct principal_actor *act;
    size_t nact;
};

struct principal_spec {
    enum authn_method method;
    const char *user;
    const char *const *groups;
    size_t ngroups;
    const char *const *scopes;
    size_t nscopes;
    const char *issuer;
    const char *jti;
    int64_t expires_ms;
    const char *token_id; /* 64 hex chars or NULL */
    const struct principal_actor *act;
    size_t nact;
};

/* Build a principal (refs = 1) from spec, copying every string. Returns NULL on allocation
 * failure. Duplicate groups/scopes are kept as given; callers validate with principal_*_ok. */
struct principal *principal_new(const struct principal_spec *spec);

/* Take another reference; returns p. */
const struct principal *principal_ref(const struct principal *p);

/* Drop a reference; frees at zero. NULL is a no-op. */
void principal_release(const struct principal *p);

/* Header-safety predicates (see the file comment). */
bool principal_user_ok(const char *s, size_t len);
bool principal_name_ok(const char *s, size_t len); /* group and scope names */

/* Whether p is a service principal ("sp:NAME" with a non-empty NAME); *name (optional)
 * receives NAME. */
bool principal_is_sp(const struct principal *p, const char **name);

/* Membership helpers for later stages. */
bool principal_in_group(const struct principal *p, const char *group);
bool principal_has_scope(const struct principal *p, const char *scope);

#endif
