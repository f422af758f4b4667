/*
 * jose: the pure parts of JWT (RFC 7519) / JWS compact serialisation (RFC 7515) handling:
 * splitting a token, parsing and checking the JOSE header, parsing the claims and checking the
 * time, audience and mapping rules. No keys, no I/O, no clocks (callers pass "now"). Fuzzed by
 * tests/fuzz/fuzz_jose.c.
 *
 * Header rules, applied before any signature work (security-cases §3.5):
 *  - strict JSON (jansson, duplicate keys rejected), an object, at most JOSE_HEADER_MAX bytes;
 *  - "alg" is a string naming a supported algorithm, compared case-sensitively; "none" in any
 *    spelling is refused by name so the message is clear;
 *  - "kid", when present, is a string of 1..JOSE_KID_MAX printable characters; it is only ever
 *    compared with the kids of configured keys, never used as a path, URL or query;
 *  - "typ", when present, is "JWT" or "at+jwt" (also with an "application/" prefix), any case;
 *  - "crit" present -> refused (we understand no extensions); "enc"/"zip" (JWE) -> refused;
 *  - "jku", "x5u", "jwk", "x5c" are ignored: keys come only from configuration.
 * Claims: strict JSON object; "exp" required and an integer; "nbf"/"iat" integers when
 * present; "iss" a string; "aud" a string or an array of strings; "jti" a string when present.
 */
#ifndef WARDEN_AUTH_JOSE_H
#define WARDEN_AUTH_JOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOSE_KID_MAX    256
#define JOSE_HEADER_MAX 4096

enum jose_alg {
    JOSE_ALG_INVALID = 0,
    JOSE_RS256,
    JOSE_RS384,
    JOSE_RS512,
    JOSE_PS256,
    JOSE_PS384,
    JOSE_PS512,
    JOSE_ES256,
    JOSE_ES384,
    JOSE_ES512,
    JOSE_HS256,
    JOSE_HS384,
    JOSE_HS512,
    JOSE_EDDSA,
    JOSE_ALG_COUNT,
};

enum jose_family {
    JOSE_FAMILY_NONE = 0,
    JOSE_FAMILY_RSA,  /* RS* and PS* */
    JOSE_FAMILY_EC,   /* ES* */
    JOSE_FAMILY_HMAC, /* HS* */
    JOSE_FAMILY_OKP,  /* EdDSA (Ed25519) */
};

#define JOSE_ALG_BIT(a) (1u << (a))

const char *jose_alg_name(enum jose_alg alg);
/* Exact, case-sensitive name -> alg; JOSE_ALG_INVALID when unknown. */
enum jose_alg jose_alg_from_name(const char *name);
enum jose_family jose_alg_family(enum jose_alg alg);
/* Digest size in bytes for the alg's hash (32/48/64); 0 for EdDSA. */
size_t jose_alg_hash_len(enum jose_alg alg);

struct jwt_parts {
    const char *header, *payload, *sig; /* base64url text, pointing into the token */
    size_t header_len, payload_len, sig_len;
    size_t signed_len; /* bytes of "header.payload" */
};

struct jose_header {
    enum jose_alg alg;
    bool has_kid;
    char kid[JOSE_KID_MAX + 1];
};

struct jwt_claims {
    json_t *root;    /* owned */
    const char *iss; /* NULL when absent */
    const char *jti; /* NULL when absent */
    int64_t exp, nbf, iat;
    bool has_nbf, has_iat;
    json_t *aud; /* borrowed from root; NULL when absent */
};

/* Split "h.p.s" with three non-empty parts. Returns 0 or -1 ("malformed token ..."). */
int jose_split(const char *tok, size_t len, struct jwt_parts *out, char *err, size_t errlen);

/* Decode and check the header (rules above). */
int jose_header_parse(const char *b64, size_t len, struct jose_header *out, char *err,
                      size_t errlen);

/* Decode and type-check the claims; on success *out owns a json_t (jose_claims_clear). */
int jose_claims_parse(const char *b64, size_t len, struct jwt_claims *out, char *err,
                      size_t errlen);
void jose_claims_clear(struct jwt_claims *c);

/* exp/nbf/iat against now (seconds) with leeway. desc gets e.g. "token expired at
 * 2026-11-28T10:00:00Z". */
int jose_check_time(const struct jwt_claims *c, int64_t now_s, int64_t leeway_s, char *desc,
                    size_t desclen);

/* aud must be present and intersect accepted[0..n). */
int jose_check_audience(const struct jwt_claims *c, const char *const *accepted, size_t n,
                        char *desc, size_t desclen);

/* Follow a dotted path ("realm_access.roles") through nested objects; NULL when absent. */
json_t *jose_claim_path(json_t *root, const char *path);

#define JOSE_MAX_NAMES 256

struct jose_mapping {
    const char *user; /* borrowed from the claims */
    size_t user_len;
    const char *groups[JOSE_MAX_NAMES];
    size_t ngroups;
    const char *scopes[JOSE_MAX_NAMES];
    size_t nscopes;
    char *scratch; /* owned copy of space-separated strings split in place */
};

/*
 * Map claims to a principal's fields. user_claims are tried in order (the first present,
 * non-empty string wins); groups_claim is an array of strings or a space-separated string
 * (dotted path allowed, absent = no groups); scopes_claims likewise (first present wins; "scope"
 * is conventionally a string and "scp" an array). Names failing the principal header-safety
 * rules make the token invalid. Release with jose_mapping_clear.
 */
int jose_map_claims(const struct jwt_claims *c, const char *const *user_claims, size_t nuser,
                    const char *groups_claim, const char *const *scopes_claims, size_t nscopes,
                    struct jose_mapping *out, char *desc, size_t desclen);
void jose_mapping_clear(struct jose_mapping *m);

/*
 * The RFC 8693 actor chain: "act" is an object naming the current actor, whose own "act"
 * names the prior one, and so on (at most JOSE_MAX_ACTORS deep). An actor is named by "sub";
 * an OAuth client (a "client_id" and no "sub", or a "sub" equal to its "client_id") becomes
 * the service principal "sp:<client_id>". "iss" is kept when present; other members ("exp",
 * "aud", ...) are ignored, as the RFC says they carry no meaning there. Absent "act": n = 0.
 * A malformed chain (not an object, no name, names failing principal_user_ok, too deep) makes
 * the token invalid. Pure.
 */
#define JOSE_MAX_ACTORS 8

struct jose_actor {
    char id[264];    /* NUL-terminated */
    const char *iss; /* borrowed from the claims; NULL when absent */
};

struct jose_actors {
    struct jose_actor v[JOSE_MAX_ACTORS];
    size_t n;
};

int jose_map_actors(const struct jwt_claims *c, struct jose_actors *out, char *desc,
                    size_t desclen);

/* A client-credentials token (RFC 9068 §2.2): a string "client_id" claim equal to "sub". Its
 * principal is the service principal "sp:<client_id>". *client_id points into the claims. */
bool jose_client_token(const struct jwt_claims *c, const char **client_id);

/* Format epoch seconds as 2026-11-28T10:00:00Z. out must hold 32 bytes. */
void jose_format_time(int64_t s, char *out, size_t outlen);

#endif
