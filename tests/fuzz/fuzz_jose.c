/*
 * libFuzzer target for auth/jose (JOSE header rules, claims parsing, time/audience checks and
 * claims mapping), auth/jwk (JWK/JWKS conversion) and auth/pat + auth/revoke record parsers.
 * Input layout: byte 0 selects the mode; the rest is the text.
 *   mode 0: the rest is a compact token: split, header, claims, checks, mapping;
 *   mode 1: the rest is raw JSON for the header and the claims (base64url-encoded here);
 *   mode 2: the rest is a JWKS document;
 *   mode 3: the rest is a PAT file and a revocation file.
 * Invariants: accepted headers have a valid algorithm and a printable kid of bounded length;
 * accepted claims have exp; mapped names (and RFC 8693 actor chains) pass the header-safety
 * predicates; every parse either succeeds or gives a reason. Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/b64.h"
#include "auth/jose.h"
#include "auth/jwk.h"
#include "auth/pat.h"
#include "auth/principal.h"
#include "auth/revoke.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static void claims_path(const char *b64, size_t len)
{
    struct jwt_claims c;
    char err[200];
    if (jose_claims_parse(b64, len, &c, err, sizeof(err)) != 0) {
        CHECK(err[0]);
        return;
    }
    char desc[192];
    const char *acc[] = {"mlflow"};
    (void)jose_check_time(&c, 1700000000, 60, desc, sizeof(desc));
    (void)jose_check_audience(&c, acc, 1, desc, sizeof(desc));
    const char *user[] = {"email", "sub"};
    const char *scopes[] = {"scope", "scp"};
    struct jose_mapping m;
    if (jose_map_claims(&c, user, 2, "realm_access.roles", scopes, 2, &m, desc, sizeof(desc)) ==
        0) {
        CHECK(principal_user_ok(m.user, m.user_len));
        for (size_t i = 0; i < m.ngroups; i++)
            CHECK(principal_name_ok(m.groups[i], strlen(m.groups[i])));
        for (size_t i = 0; i < m.nscopes; i++)
            CHECK(principal_name_ok(m.scopes[i], strlen(m.scopes[i])));
        jose_mapping_clear(&m);
    } else {
        CHECK(desc[0]);
    }
    struct jose_actors act;
    if (jose_map_actors(&c, &act, desc, sizeof(desc)) == 0) {
        CHECK(act.n <= JOSE_MAX_ACTORS);
        for (size_t i = 0; i < act.n; i++) {
            CHECK(principal_user_ok(act.v[i].id, strlen(act.v[i].id)));
            CHECK(!act.v[i].iss || principal_user_ok(act.v[i].iss, strlen(act.v[i].iss)));
        }
    } else {
        CHECK(desc[0]);
    }
    const char *cid = NULL;
    if (jose_client_token(&c, &cid))
        CHECK(cid && cid[0]);
    jose_claims_clear(&c);
}

static void header_path(const char *b64, size_t len)
{
    struct jose_header h;
    char err[200];
    if (jose_header_parse(b64, len, &h, err, sizeof(err)) == 0) {
        CHECK(h.alg > JOSE_ALG_INVALID && h.alg < JOSE_ALG_COUNT);
        if (h.has_kid) {
            size_t kl = strlen(h.kid);
            CHECK(kl >= 1 && kl <= JOSE_KID_MAX);
        }
    } else {
        CHECK(err[0]);
        CHECK(h.alg == JOSE_ALG_INVALID);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    int mode = data[0] & 3;
    size_t len = size - 1;
    char *t = malloc(len + 1);
    if (!t)
        return 0;
    memcpy(t, data + 1, len);
    t[len] = '\0';
    char err[300];
    if (mode == 0) {
        struct jwt_parts p;
        if (jose_split(t, len, &p, err, sizeof(err)) == 0) {
            CHECK(p.header_len && p.payload_len && p.sig_len);
            CHECK(p.signed_len == p.header_len + 1 + p.payload_len);
            header_path(p.header, p.header_len);
            claims_path(p.payload, p.payload_len);
        }
    } else if (mode == 1) {
        /* split raw JSON at the first 0xff byte into header / claims */
        char *sep = memchr(t, 0xff, len);
        size_t hl = sep ? (size_t)(sep - t) : len;
        size_t cl = sep ? len - hl - 1 : 0;
        char *enc = malloc(B64_ENCODED_SIZE(len) + 1);
        if (enc) {
            size_t n = b64url_encode((unsigned char *)t, hl, enc);
            header_path(enc, n);
            if (sep) {
                n = b64url_encode((unsigned char *)sep + 1, cl, enc);
                claims_path(enc, n);
            }
            free(enc);
        }
    } else if (mode == 2) {
        struct keyset *ks = NULL;
        size_t skipped = 0;
        if (keyset_from_jwks(t, len, &ks, &skipped, err, sizeof(err)) == 0) {
            CHECK(ks->n > 0);
            const struct jwk *k;
            for (int a = JOSE_ALG_INVALID + 1; a < JOSE_ALG_COUNT; a++)
                if (keyset_select(ks, NULL, (enum jose_alg)a, &k) == KEYSET_FOUND)
                    CHECK(jwk_allows(k, (enum jose_alg)a));
            keyset_release(ks);
        } else {
            CHECK(err[0]);
        }
    } else {
        struct pat_record *recs;
        size_t n;
        if (pat_table_parse(t, len, "f", &recs, &n, err, sizeof(err)) == 0) {
            struct pat_table *tb = pat_table_new(recs, n, err, sizeof(err));
            for (size_t i = 0; tb && i < tb->n; i++)
                CHECK(pat_table_find(tb, tb->recs[i].hash) != NULL);
            pat_table_release(tb);
        }
        char **items;
        if (revoke_parse(t, len, "r", &items, &n, err, sizeof(err)) == 0) {
            struct revset *s = revset_new(items, n);
            for (size_t i = 0; s && i < s->n; i++)
                CHECK(revset_has(s, s->items[i]));
            revset_release(s);
        }
    }
    free(t);
    return 0;
}
