/*
 * jose: see jose.h.
 */
#include "auth/jose.h"

#include "auth/b64.h"
#include "auth/principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const alg_names[JOSE_ALG_COUNT] = {
    [JOSE_RS256] = "RS256", [JOSE_RS384] = "RS384", [JOSE_RS512] = "RS512", [JOSE_PS256] = "PS256",
    [JOSE_PS384] = "PS384", [JOSE_PS512] = "PS512", [JOSE_ES256] = "ES256", [JOSE_ES384] = "ES384",
    [JOSE_ES512] = "ES512", [JOSE_HS256] = "HS256", [JOSE_HS384] = "HS384", [JOSE_HS512] = "HS512",
    [JOSE_EDDSA] = "EdDSA",
};

const char *jose_alg_name(enum jose_alg alg)
{
    if (alg <= JOSE_ALG_INVALID || alg >= JOSE_ALG_COUNT)
        return "invalid";
    return alg_names[alg];
}

enum jose_alg jose_alg_from_name(const char *name)
{
    for (int a = JOSE_ALG_INVALID + 1; a < JOSE_ALG_COUNT; a++)
        if (strcmp(alg_names[a], name) == 0)
            return (enum jose_alg)a;
    return JOSE_ALG_INVALID;
}

enum jose_family jose_alg_family(enum jose_alg alg)
{
    switch (alg) {
    case JOSE_RS256:
    case JOSE_RS384:
    case JOSE_RS512:
    case JOSE_PS256:
    case JOSE_PS384:
    case JOSE_PS512:
        return JOSE_FAMILY_RSA;
    case JOSE_ES256:
    case JOSE_ES384:
    case JOSE_ES512:
        return JOSE_FAMILY_EC;
    case JOSE_HS256:
    case JOSE_HS384:
    case JOSE_HS512:
        return JOSE_FAMILY_HMAC;
    case JOSE_EDDSA:
        return JOSE_FAMILY_OKP;
    default:
        return JOSE_FAMILY_NONE;
    }
}

size_t jose_alg_hash_len(enum jose_alg alg)
{
    switch (alg) {
    case JOSE_RS256:
    case JOSE_PS256:
    case JOSE_ES256:
    case JOSE_HS256:
        return 32;
    case JOSE_RS384:
    case JOSE_PS384:
    case JOSE_ES384:
    case JOSE_HS384:
        return 48;
    case JOSE_RS512:
    case JOSE_PS512:
    case JOSE_ES512:
    case JOSE_HS512:
        return 64;
    default:
        return 0;
    }
}

int jose_split(const char *tok, size_t len, struct jwt_parts *out, char *err, size_t errlen)
{
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok))) {
        snprintf(err, errlen, "malformed token (expected three dot-separated parts)");
        return -1;
    }
    out->header = tok;
    out->header_len = (size_t)(d1 - tok);
    out->payload = d1 + 1;
    out->payload_len = (size_t)(d2 - d1 - 1);
    out->sig = d2 + 1;
    out->sig_len = len - (size_t)(d2 + 1 - tok);
    out->signed_len = (size_t)(d2 - tok);
    if (out->header_len == 0 || out->payload_len == 0) {
        snprintf(err, errlen, "malformed token (empty header or payload)");
        return -1;
    }
    if (out->sig_len == 0) {
        snprintf(err, errlen, "token is not signed");
        return -1;
    }
    return 0;
}

/* Decode base64url JSON into an object, strictly. */
static json_t *decode_object(const char *b64, size_t len, size_t max, const char *what, char *err,
                             size_t errlen)
{
    if (len > max / 3 * 4 + 4) {
        snprintf(err, errlen, "token %s too large", what);
        return NULL;
    }
    size_t cap = B64_DECODED_MAX(len), n = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (b64url_decode(b64, len, buf, cap, &n) != 0) {
        free(buf);
        snprintf(err, errlen, "token %s is not valid base64url", what);
        return NULL;
    }
    json_error_t je;
    json_t *o = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!o) {
        snprintf(err, errlen, "token %s is not valid JSON (or has duplicate keys)", what);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "token %s is not a JSON object", what);
        return NULL;
    }
    return o;
}

static bool typ_ok(const char *t)
{
    if (strncasecmp(t, "application/", 12) == 0)
        t += 12;
    return strcasecmp(t, "JWT") == 0 || strcasecmp(t, "at+jwt") == 0;
}

int jose_header_parse(const char *b64, size_t len, struct jose_header *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_t *h = decode_object(b64, len, JOSE_HEADER_MAX, "header", err, errlen);
    if (!h)
        return -1;
    json_t *alg = json_object_get(h, "alg");
    json_t *kid = json_object_get(h, "kid");
    json_t *typ = json_object_get(h, "typ");
    if (!json_is_string(alg) || strlen(json_string_value(alg)) != json_string_length(alg)) {
        snprintf(err, errlen, "token header has no algorithm");
        goto fail;
    }
    if (strcasecmp(json_string_value(alg), "none") == 0) {
        snprintf(err, errlen, "unsigned tokens (alg none) are not accepted");
        goto fail;
    }
    out->alg = jose_alg_from_name(json_string_value(alg));
    if (out->alg == JOSE_ALG_INVALID) {
        snprintf(err, errlen, "unsupported token algorithm");
        goto fail;
    }
    if (json_object_get(h, "crit")) {
        snprintf(err, errlen, "token header has critical extensions (crit) we do not support");
        goto fail;
    }
    if (json_object_get(h, "enc") || json_object_get(h, "zip")) {
        snprintf(err, errlen, "encrypted or compressed tokens are not accepted");
        goto fail;
    }
    if (typ && (!json_is_string(typ) || strlen(json_string_value(typ)) != json_string_length(typ) ||
                !typ_ok(json_string_value(typ)))) {
        snprintf(err, errlen, "token type (typ) must be JWT or at+jwt");
        goto fail;
    }
    if (kid) {
        size_t kl = json_is_string(kid) ? json_string_length(kid) : 0;
        const char *ks = json_is_string(kid) ? json_string_value(kid) : "";
        bool ok = kl >= 1 && kl <= JOSE_KID_MAX && strlen(ks) == kl;
        for (size_t i = 0; ok && i < kl; i++)
            if ((unsigned char)ks[i] < 0x20 || ks[i] == 0x7f)
                ok = false;
        if (!ok) {
            snprintf(err, errlen, "token key id (kid) is not a valid string");
            goto fail;
        }
        memcpy(out->kid, ks, kl + 1);
        out->has_kid = true;
    }
    json_decref(h);
    return 0;
fail:
    json_decref(h);
    out->alg = JOSE_ALG_INVALID;
    return -1;
}

void jose_claims_clear(struct jwt_claims *c)
{
    if (!c)
        return;
    json_decref(c->root);
    memset(c, 0, sizeof(*c));
}

static int int_claim(json_t *root, const char *name, bool *present, int64_t *out, char *err,
                     size_t errlen)
{
    json_t *v = json_object_get(root, name);
    *present = v != NULL;
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "claim \"%s\" must be an integer (seconds since the epoch)", name);
        return -1;
    }
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > 253402300799LL) { /* 9999-12-31T23:59:59Z */
        snprintf(err, errlen, "claim \"%s\" is out of range", name);
        return -1;
    }
    *out = (int64_t)x;
    return 0;
}

static bool plain_string(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

int jose_claims_parse(const char *b64, size_t len, struct jwt_claims *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->root = decode_object(b64, len, SIZE_MAX / 2, "payload", err, errlen);
    if (!out->root)
        return -1;
    bool has_exp;
    if (int_claim(out->root, "exp", &has_exp, &out->exp, err, errlen) != 0 ||
        int_claim(out->root, "nbf", &out->has_nbf, &out->nbf, err, errlen) != 0 ||
        int_claim(out->root, "iat", &out->has_iat, &out->iat, err, errlen) != 0)
        goto fail;
    if (!has_exp) {
        snprintf(err, errlen, "token has no expiry (exp)");
        goto fail;
    }
    json_t *iss = json_object_get(out->root, "iss");
    if (iss) {
        if (!plain_string(iss)) {
            snprintf(err, errlen, "claim \"iss\" must be a string");
            goto fail;
        }
        out->iss = json_string_value(iss);
    }
    json_t *jti = json_object_get(out->root, "jti");
    if (jti) {
        if (!plain_string(jti) || json_string_length(jti) > 256) {
            snprintf(err, errlen, "claim \"jti\" must be a string of at most 256 characters");
            goto fail;
        }
        out->jti = json_string_value(jti);
    }
    json_t *aud = json_object_get(out->root, "aud");
    if (aud) {
        bool ok = plain_string(aud);
        if (json_is_array(aud)) {
            ok = json_array_size(aud) > 0;
            for (size_t i = 0; ok && i < json_array_size(aud); i++)
                ok = plain_string(json_array_get(aud, i));
        }
        if (!ok) {
            snprintf(err, errlen, "claim \"aud\" must be a string or an array of strings");
            goto fail;
        }
        out->aud = aud;
    }
    return 0;
fail:
    jose_claims_clear(out);
    return -1;
}

void jose_format_time(int64_t s, char *out, size_t outlen)
{
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outlen, "%lld", (long long)s);
}

int jose_check_time(const struct jwt_claims *c, int64_t now_s, int64_t leeway_s, char *desc,
                    size_t desclen)
{
    char ts[40];
    if (now_s - leeway_s >= c->exp) {
        jose_format_time(c->exp, ts, sizeof(ts));
        snprintf(desc, desclen, "token expired at %s", ts);
        return -1;
    }
    if (c->has_nbf && now_s + leeway_s < c->nbf) {
        jose_format_time(c->nbf, ts, sizeof(ts));
        snprintf(desc, desclen, "token not valid before %s", ts);
        return -1;
    }
    if (c->has_iat && c->iat > now_s + leeway_s) {
        jose_format_time(c->iat, ts, sizeof(ts));
        snprintf(desc, desclen, "token issued in the future (%s); check clocks", ts);
        return -1;
    }
    return 0;
}

static bool aud_accepted(const char *a, const char *const *accepted, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a, accepted[i]) == 0)
            return true;
    return false;
}

int jose_check_audience(const struct jwt_claims *c, const char *const *accepted, size_t n,
                        char *desc, size_t desclen)
{
    if (!c->aud) {
        snprintf(desc, desclen, "token has no audience (aud)");
        return -1;
    }
    if (json_is_string(c->aud)) {
        if (aud_accepted(json_string_value(c->aud), accepted, n))
            return 0;
    } else {
        for (size_t i = 0; i < json_array_size(c->aud); i++)
            if (aud_accepted(json_string_value(json_array_get(c->aud, i)), accepted, n))
                return 0;
    }
    snprintf(desc, desclen, "audience not accepted");
    return -1;
}

json_t *jose_claim_path(json_t *root, const char *path)
{
    json_t *cur = root;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur) || n == 0)
            return NULL;
        cur = json_object_getn(cur, p, n);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

void jose_mapping_clear(struct jose_mapping *m)
{
    if (!m)
        return;
    free(m->scratch);
    memset(m, 0, sizeof(*m));
}

/* Collect names from an array of strings or a space-separated string. Space-separated
 * strings are copied into *scratch (appended) and split in place. */
static int collect(json_t *v, const char *what, const char **out, size_t *n, char **scratch,
                   size_t *scratch_used, size_t scratch_cap, char *desc, size_t desclen)
{
    *n = 0;
    if (!v)
        return 0;
    if (json_is_array(v)) {
        size_t cnt = json_array_size(v);
        if (cnt > JOSE_MAX_NAMES) {
            snprintf(desc, desclen, "token has too many %s", what);
            return -1;
        }
        for (size_t i = 0; i < cnt; i++) {
            json_t *e = json_array_get(v, i);
            if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e) ||
                !principal_name_ok(json_string_value(e), json_string_length(e))) {
                snprintf(desc, desclen, "token %s claim has an invalid entry", what);
                return -1;
            }
            out[(*n)++] = json_string_value(e);
        }
        return 0;
    }
    if (!plain_string(v)) {
        snprintf(desc, desclen, "token %s claim must be an array or a space-separated string",
                 what);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    if (*scratch_used + len + 1 > scratch_cap) {
        snprintf(desc, desclen, "token %s claim too large", what);
        return -1;
    }
    char *buf = *scratch + *scratch_used;
    memcpy(buf, s, len + 1);
    *scratch_used += len + 1;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (*n == JOSE_MAX_NAMES) {
            snprintf(desc, desclen, "token has too many %s", what);
            return -1;
        }
        if (!principal_name_ok(tok, strlen(tok))) {
            snprintf(desc, desclen, "token %s claim has an invalid entry", what);
            return -1;
        }
        out[(*n)++] = tok;
    }
    return 0;
}

int jose_map_claims(const struct jwt_claims *c, const char *const *user_claims, size_t nuser,
                    const char *groups_claim, const char *const *scopes_claims, size_t nscopes,
                    struct jose_mapping *out, char *desc, size_t desclen)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nuser && !out->user; i++) {
        json_t *u = jose_claim_path(c->root, user_claims[i]);
        if (u && plain_string(u) && json_string_length(u) > 0) {
            out->user = json_string_value(u);
            out->user_len = json_string_length(u);
        } else if (u && !json_is_null(u)) {
            snprintf(desc, desclen, "user claim \"%s\" is not a string", user_claims[i]);
            return -1;
        }
    }
    if (!out->user) {
        snprintf(desc, desclen, "token has no user claim (%s)", nuser ? user_claims[0] : "?");
        return -1;
    }
    if (!principal_user_ok(out->user, out->user_len)) {
        snprintf(desc, desclen, "user claim contains control characters or is too long");
        return -1;
    }
    json_t *g = groups_claim && *groups_claim ? jose_claim_path(c->root, groups_claim) : NULL;
    json_t *s = NULL;
    for (size_t i = 0; i < nscopes && !s; i++)
        s = jose_claim_path(c->root, scopes_claims[i]);
    size_t cap = (json_is_string(g) ? json_string_length(g) + 1 : 0) +
                 (json_is_string(s) ? json_string_length(s) + 1 : 0) + 1;
    size_t used = 0;
    if (!(out->scratch = malloc(cap))) {
        snprintf(desc, desclen, "out of memory");
        return -1;
    }
    if (g && json_is_null(g))
        g = NULL;
    if (s && json_is_null(s))
        s = NULL;
    if (collect(g, "groups", out->groups, &out->ngroups, &out->scratch, &used, cap, desc,
                desclen) != 0 ||
        collect(s, "scopes", out->scopes, &out->nscopes, &out->scratch, &used, cap, desc,
                desclen) != 0) {
        jose_mapping_clear(out);
        return -1;
    }
    return 0;
}

/* ---- RFC 8693 actors ---- */

static const char *opt_string(json_t *o, const char *name, bool *bad)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return NULL;
    if (!plain_string(v) || json_string_length(v) == 0) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

int jose_map_actors(const struct jwt_claims *c, struct jose_actors *out, char *desc, size_t desclen)
{
    out->n = 0;
    json_t *act = json_object_get(c->root, "act");
    while (act) {
        if (!json_is_object(act)) {
            snprintf(desc, desclen, "claim \"act\" must be an object naming the actor");
            return -1;
        }
        if (out->n == JOSE_MAX_ACTORS) {
            snprintf(desc, desclen, "claim \"act\" is nested more than %d deep", JOSE_MAX_ACTORS);
            return -1;
        }
        bool bad = false;
        const char *sub = opt_string(act, "sub", &bad);
        const char *cid = opt_string(act, "client_id", &bad);
        const char *iss = opt_string(act, "iss", &bad);
        struct jose_actor *a = &out->v[out->n];
        if (bad || (!sub && !cid)) {
            snprintf(desc, desclen,
                     "claim \"act\" must name the actor with a non-empty string sub or client_id");
            return -1;
        }
        int n = (!sub || (cid && strcmp(sub, cid) == 0))
                    ? snprintf(a->id, sizeof(a->id), "%s%s", PRINCIPAL_SP_PREFIX, cid)
                    : snprintf(a->id, sizeof(a->id), "%s", sub);
        if (n < 0 || !principal_user_ok(a->id, (size_t)n) ||
            (iss && !principal_user_ok(iss, strlen(iss)))) {
            snprintf(desc, desclen,
                     "claim \"act\" names an actor that is too long or has control characters");
            return -1;
        }
        a->iss = iss;
        out->n++;
        act = json_object_get(act, "act");
    }
    return 0;
}

bool jose_client_token(const struct jwt_claims *c, const char **client_id)
{
    json_t *cid = json_object_get(c->root, "client_id");
    json_t *sub = json_object_get(c->root, "sub");
    if (!plain_string(cid) || !plain_string(sub) || json_string_length(cid) == 0 ||
        strcmp(json_string_value(cid), json_string_value(sub)) != 0)
        return false;
    *client_id = json_string_value(cid);
    return true;
}
