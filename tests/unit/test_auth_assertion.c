/*
 * Unit tests for the upstream identity assertion (gateway/auth/assertion.c) and the
 * [upstream] identity keys (gateway/config.c, auth/files.c): a minted assertion verifies with
 * the published JWKS through Warden's own JWT verifier (claims, groups, scopes, the RFC 8693
 * act chain), tampered and expired assertions fail, exp never outlives the credentials, key
 * files (EC, RSA, refused kinds), the per-worker cache (hits, refresh after three quarters of
 * the lifetime, identity by contents), the service credential file, and the cost figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth/assertion.h"
#include "auth/b64.h"
#include "auth/files.h"
#include "auth/jwk.h"
#include "auth/jwt.h"
#include "auth_test_util.h"
#include "config.h"

static const char *const grp[] = {"ds", "risk"};
static const char *const scp[] = {"mlflow:read"};

static struct principal *mk(const char *user, const char *tid, int64_t exp_ms,
                            const struct principal_actor *act, size_t nact)
{
    char hex[65];
    snprintf(hex, sizeof(hex), "%064d", 0);
    memcpy(hex, tid, strlen(tid));
    struct principal_spec s = {.method = AUTHN_METHOD_JWT,
                               .user = user,
                               .groups = grp,
                               .ngroups = 2,
                               .scopes = scp,
                               .nscopes = 1,
                               .issuer = "https://idp.test",
                               .jti = "j",
                               .expires_ms = exp_ms,
                               .token_id = hex,
                               .act = act,
                               .nact = nact};
    return principal_new(&s);
}

/* Verifies tok with the signer's JWKS as any issuer's token; returns the principal or NULL
 * (desc says why). */
static struct principal *verify(const struct assertion_signer *s, const char *tok, int64_t now_s,
                                char *desc, size_t desclen)
{
    size_t len, skipped;
    const char *jwks = assertion_signer_jwks(s, &len);
    struct keyset *ks = NULL;
    char err[256];
    if (keyset_from_jwks(jwks, len, &ks, &skipped, err, sizeof(err)) != 0)
        fail_msg("JWKS refused: %s", err);
    const char *aud[] = {"mlflow"}, *user[] = {"sub"}, *scopes[] = {"scope"};
    struct jwt_issuer is = {.name = "warden",
                            .iss = "warden",
                            .audiences = aud,
                            .naud = 1,
                            .alg_mask = JOSE_ALG_BIT(assertion_signer_alg(s)),
                            .keys = ks,
                            .leeway_s = 0,
                            .user_claims = user,
                            .nuser = 1,
                            .groups_claim = "groups",
                            .scopes_claims = scopes,
                            .nscopes = 1};
    struct jwt_result res;
    enum jwt_status st =
        jwt_verify(&is, 1, tok, strlen(tok), now_s, AUTHN_METHOD_JWT, NULL, &res, desc, desclen);
    keyset_release(ks);
    return st == JWT_OK ? res.principal : NULL;
}

static void test_mint_and_verify(void **state)
{
    char err[256], desc[200];
    struct assertion_params p = {0};
    struct assertion_signer *s = assertion_signer_new(&p, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(assertion_signer_alg(s), JOSE_ES256);
    assert_int_equal(assertion_signer_lifetime_ms(s), 60000);
    assert_int_equal(strlen(assertion_signer_kid(s)), 16);
    size_t jl;
    const char *jwks = assertion_signer_jwks(s, &jl);
    assert_int_equal(jl, strlen(jwks));
    assert_non_null(strstr(jwks, "\"kid\":\""));
    assert_non_null(strstr(jwks, "\"alg\":\"ES256\""));
    assert_null(strstr(jwks, "\"d\""));
    int64_t now = auth_test_now_ms();
    /* On behalf of: alice by sp:notebook, for cli-tool before it. */
    struct principal_actor prior[] = {{"sp:cli", "https://sts.test"}};
    struct principal *alice = mk("alice@x", "aa", now + 3600000, NULL, 0);
    struct principal *agent = mk("sp:notebook", "bb", 0, NULL, 0);
    struct authn_identity id = {.subject = alice, .caller = agent, .form = AUTHN_OBO_HEADER};
    id.nactors = 2;
    id.actors[0] = (struct authn_actor){"sp:notebook", "pat", agent};
    id.actors[1] = (struct authn_actor){prior[0].id, prior[0].issuer, NULL};
    int64_t exp;
    char *tok = assertion_mint(s, &id, now, &exp, err, sizeof(err));
    assert_non_null(tok);
    assert_int_equal(exp, (now + 60000) / 1000 * 1000);
    struct principal *v = verify(s, tok, now / 1000, desc, sizeof(desc));
    if (!v)
        fail_msg("assertion does not verify: %s", desc);
    assert_string_equal(v->user, "alice@x");
    assert_int_equal(v->ngroups, 2);
    assert_string_equal(v->groups[1], "risk");
    assert_int_equal(v->nscopes, 1);
    assert_string_equal(v->scopes[0], "mlflow:read");
    assert_int_equal(v->nact, 2);
    assert_string_equal(v->act[0].id, "sp:notebook");
    assert_string_equal(v->act[0].issuer, "pat");
    assert_string_equal(v->act[1].id, "sp:cli");
    assert_string_equal(v->act[1].issuer, "https://sts.test");
    assert_int_equal(v->expires_ms, exp);
    assert_true(v->jti[0]);
    principal_release(v);
    /* The claims as text: amr and a fresh jti each time. */
    struct jwt_parts parts;
    assert_int_equal(jose_split(tok, strlen(tok), &parts, err, sizeof(err)), 0);
    char json[4096];
    size_t jn = 0;
    assert_int_equal(b64url_decode(parts.payload, parts.payload_len, (unsigned char *)json,
                                   sizeof(json) - 1, &jn),
                     0);
    json[jn] = '\0';
    assert_non_null(strstr(json, "\"amr\":[\"jwt\"]"));
    assert_non_null(strstr(json, "\"iss\":\"warden\""));
    assert_non_null(strstr(json, "\"aud\":\"mlflow\""));
    char *tok2 = assertion_mint(s, &id, now, &exp, err, sizeof(err));
    assert_string_not_equal(tok, tok2);
    /* Tampered: a changed claim, a changed signature byte; expired: verified too late. */
    char *bad = strdup(tok);
    bad[parts.payload - tok + 5] ^= 1;
    assert_null(verify(s, bad, now / 1000, desc, sizeof(desc)));
    strcpy(bad, tok);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    assert_null(verify(s, bad, now / 1000, desc, sizeof(desc)));
    assert_string_equal(desc, "invalid token signature");
    assert_null(verify(s, tok, now / 1000 + 61, desc, sizeof(desc)));
    assert_non_null(strstr(desc, "token expired at"));
    /* Another signer's key set does not verify it. */
    struct assertion_signer *other = assertion_signer_new(&p, err, sizeof(err));
    assert_null(verify(other, tok, now / 1000, desc, sizeof(desc)));
    free(bad);
    free(tok);
    free(tok2);
    /* exp never outlives the credentials; a subject without actors has no act claim. */
    struct principal *short_lived = mk("bob@x", "cc", now + 10000, NULL, 0);
    struct authn_identity id2 = {.subject = short_lived};
    tok = assertion_mint(s, &id2, now, &exp, err, sizeof(err));
    assert_int_equal(exp, (now + 10000) / 1000 * 1000);
    v = verify(s, tok, now / 1000, desc, sizeof(desc));
    assert_non_null(v);
    assert_int_equal(v->nact, 0);
    principal_release(v);
    free(tok);
    struct principal *expiring = mk("sp:a", "dd", now + 5000, NULL, 0);
    id.caller = expiring;
    tok = assertion_mint(s, &id, now, &exp, err, sizeof(err));
    assert_int_equal(exp, (now + 5000) / 1000 * 1000);
    free(tok);
    struct authn_identity empty = {0};
    assert_null(assertion_mint(s, &empty, now, &exp, err, sizeof(err)));
    principal_release(expiring);
    principal_release(short_lived);
    principal_release(alice);
    principal_release(agent);
    assertion_signer_free(other);
    assertion_signer_free(s);
}

static void write_key(const char *path, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

static void test_key_files(void **state)
{
    char *dir = auth_test_tmpdir();
    char path[512], err[512], desc[200];
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    write_key(path, rsa);
    struct assertion_params p = {.key_file = path,
                                 .issuer = "https://warden.test",
                                 .audience = "mlflow-prod",
                                 .lifetime_ms = 30000};
    struct assertion_signer *s = assertion_signer_new(&p, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(assertion_signer_alg(s), JOSE_RS256);
    assert_int_equal(assertion_key_check(path, err, sizeof(err)), 0);
    /* The same key file gives the same kid (fleets share it). */
    struct assertion_signer *s2 = assertion_signer_new(&p, err, sizeof(err));
    assert_string_equal(assertion_signer_kid(s), assertion_signer_kid(s2));
    int64_t now = auth_test_now_ms(), exp;
    struct principal *u = mk("u@x", "ee", 0, NULL, 0);
    struct authn_identity id = {.subject = u};
    char *tok = assertion_mint(s2, &id, now, &exp, err, sizeof(err));
    assert_int_equal(exp, (now + 30000) / 1000 * 1000);
    /* verify() expects iss warden / aud mlflow: these differ, so check the failure is the
     * issuer and not the signature. */
    assert_null(verify(s, tok, now / 1000, desc, sizeof(desc)));
    assert_string_equal(desc, "unknown issuer");
    free(tok);
    principal_release(u);
    assertion_signer_free(s);
    assertion_signer_free(s2);
    EVP_PKEY_free(rsa);

    EVP_PKEY *small = EVP_RSA_gen(1024);
    write_key(path, small);
    assert_int_equal(assertion_key_check(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at least 2048 bits"));
    EVP_PKEY_free(small);
    EVP_PKEY *ec = EVP_EC_gen("P-384");
    write_key(path, ec);
    s = assertion_signer_new(&p, err, sizeof(err));
    assert_int_equal(assertion_signer_alg(s), JOSE_ES384);
    assertion_signer_free(s);
    EVP_PKEY_free(ec);
    auth_test_write(path, "not a key\n");
    assert_null(assertion_signer_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "not a PEM private key"));
    p.key_file = "/nonexistent/key.pem";
    assert_null(assertion_signer_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/key.pem"));
    p.key_file = NULL;
    p.lifetime_ms = 1000;
    assert_null(assertion_signer_new(&p, err, sizeof(err)));
    assert_string_equal(err, "assertion_lifetime must be between 5s and 1h");
    auth_test_rmdir(dir);
}

static void test_cache(void **state)
{
    char err[256];
    struct assertion_params p = {.lifetime_ms = 60000};
    struct assertion_signer *s = assertion_signer_new(&p, err, sizeof(err));
    struct assertion_cache *c = assertion_cache_new(s, 100);
    int64_t now = auth_test_now_ms();
    struct principal *a = mk("alice@x", "a1", 0, NULL, 0);
    struct principal *b = mk("bob@x", "b1", 0, NULL, 0);
    struct authn_identity ia = {.subject = a}, ib = {.subject = b};
    const char *v1, *v2, *v3;
    size_t l1, l2, l3;
    assert_int_equal(assertion_get(c, &ia, now, &v1, &l1, err, sizeof(err)), 0);
    assert_int_equal(l1, strlen(v1));
    char first[2048];
    snprintf(first, sizeof(first), "%s", v1);
    assert_int_equal(assertion_get(c, &ia, now + 44000, &v2, &l2, err, sizeof(err)), 0);
    assert_string_equal(v2, first); /* reused for three quarters of its lifetime */
    assert_int_equal(assertion_get(c, &ib, now + 44000, &v3, &l3, err, sizeof(err)), 0);
    assert_string_not_equal(v3, first);
    assert_int_equal(assertion_get(c, &ia, now + 45001, &v2, &l2, err, sizeof(err)), 0);
    assert_string_not_equal(v2, first); /* then signed afresh */
    struct assertion_stats st;
    assertion_cache_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.mints, 3);
    /* The same credential rebuilt per request (client certificates): a hit by contents; a
     * changed record (other groups) under the same token id: a miss. */
    snprintf(first, sizeof(first), "%s", v2);
    struct principal *a_again = mk("alice@x", "a1", 0, NULL, 0);
    struct authn_identity ia2 = {.subject = a_again};
    assert_int_equal(assertion_get(c, &ia2, now + 46000, &v2, &l2, err, sizeof(err)), 0);
    assert_string_equal(v2, first);
    struct principal_spec sp = {.method = AUTHN_METHOD_JWT,
                                .user = "alice@x",
                                .issuer = "https://idp.test",
                                .jti = "j",
                                .token_id = a->token_id};
    struct principal *a_changed = principal_new(&sp);
    struct authn_identity ia3 = {.subject = a_changed};
    assert_int_equal(assertion_get(c, &ia3, now + 46000, &v2, &l2, err, sizeof(err)), 0);
    assert_string_not_equal(v2, first);
    /* On behalf of: the caller is part of the key. */
    struct principal *agent = mk("sp:x", "c1", 0, NULL, 0);
    struct authn_identity obo = {
        .subject = a, .caller = agent, .form = AUTHN_OBO_HEADER, .nactors = 1};
    obo.actors[0] = (struct authn_actor){"sp:x", "pat", agent};
    assert_int_equal(assertion_get(c, &obo, now + 46000, &v3, &l3, err, sizeof(err)), 0);
    assert_non_null(v3);
    /* The cache holds references: dropping ours keeps its entries valid. */
    principal_release(a);
    principal_release(agent);
    assert_int_equal(assertion_get(c, &ib, now + 46000, &v3, &l3, err, sizeof(err)), 0);
    assertion_cache_free(c);
    /* No caching: a fresh token every time. */
    c = assertion_cache_new(s, 0);
    assert_int_equal(assertion_get(c, &ib, now, &v1, &l1, err, sizeof(err)), 0);
    snprintf(first, sizeof(first), "%s", v1);
    assert_int_equal(assertion_get(c, &ib, now, &v1, &l1, err, sizeof(err)), 0);
    assert_string_not_equal(v1, first);
    struct authn_identity none = {0};
    assert_int_equal(assertion_get(c, &none, now, &v1, &l1, err, sizeof(err)), -1);
    assertion_cache_free(c);
    assertion_cache_free(NULL);
    principal_release(b);
    principal_release(a_again);
    principal_release(a_changed);
    assertion_signer_free(s);
    assertion_signer_free(NULL);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: steadier on a loaded machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Figures: signing cost (ES256, RS256) and a cache hit. Bounds are loose (shared machine,
 * sanitizer builds); the figures are printed. */
static void test_cost(void **state)
{
    char err[256], *dir = auth_test_tmpdir(), path[512];
    snprintf(path, sizeof(path), "%s/rsa.pem", dir);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    write_key(path, rsa);
    EVP_PKEY_free(rsa);
    struct assertion_params pe = {0}, pr = {.key_file = path};
    struct assertion_signer *ses = assertion_signer_new(&pe, err, sizeof(err));
    struct assertion_signer *srs = assertion_signer_new(&pr, err, sizeof(err));
    struct principal *a = mk("alice@x", "a1", 0, NULL, 0);
    struct principal *agent = mk("sp:x", "c1", 0, NULL, 0);
    struct authn_identity id = {
        .subject = a, .caller = agent, .form = AUTHN_OBO_HEADER, .nactors = 1};
    id.actors[0] = (struct authn_actor){"sp:x", "pat", agent};
    int64_t now = auth_test_now_ms(), exp;
    struct assertion_signer *ss[2] = {ses, srs};
    const char *names[2] = {"ES256", "RS256-2048"};
    for (int k = 0; k < 2; k++) {
        int n = k ? 200 : 2000;
        double t0 = seconds();
        for (int i = 0; i < n; i++)
            free(assertion_mint(ss[k], &id, now, &exp, err, sizeof(err)));
        double us = (seconds() - t0) / n * 1e6;
        print_message("assertion mint (uncached) %s: %.1f us\n", names[k], us);
        assert_true(us < 50000);
    }
    struct assertion_cache *c = assertion_cache_new(ses, 1024);
    const char *v;
    size_t l;
    assert_int_equal(assertion_get(c, &id, now, &v, &l, err, sizeof(err)), 0);
    int n = 1000000;
    double t0 = seconds();
    for (int i = 0; i < n; i++)
        assertion_get(c, &id, now + 1, &v, &l, err, sizeof(err));
    double ns = (seconds() - t0) / n * 1e9;
    print_message("assertion cached (hit): %.0f ns\n", ns);
    assert_true(ns < 100000);
    assertion_cache_free(c);
    principal_release(a);
    principal_release(agent);
    assertion_signer_free(ses);
    assertion_signer_free(srs);
    auth_test_rmdir(dir);
}

static void test_service_credential_and_config(void **state)
{
    char *dir = auth_test_tmpdir(), path[512], conf[512], key[512], err[512], *v = NULL;
    size_t n;
    snprintf(path, sizeof(path), "%s/cred", dir);
    auth_test_write(path, "Basic d2FyZGVuOnMzY3JldA==\r\n");
    assert_int_equal(auth_header_value_load(path, &v, &n, err, sizeof(err)), 0);
    assert_string_equal(v, "Basic d2FyZGVuOnMzY3JldA==");
    assert_int_equal(n, 26);
    free(v);
    static const char *const bad[][2] = {{"\n", "is empty"},
                                         {"Basic a\nBasic b\n", "must hold a single line"},
                                         {"Basic a\tb\x01", "contains control characters"}};
    for (size_t i = 0; i < 3; i++) {
        auth_test_write(path, bad[i][0]);
        assert_int_equal(auth_header_value_load(path, &v, &n, err, sizeof(err)), -1);
        assert_null(v);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: %s", bad[i][1], err);
    }
    /* [upstream] identity keys through the daemon's configuration loader. */
    snprintf(conf, sizeof(conf), "%s/w.conf", dir);
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    write_key(key, k);
    EVP_PKEY_free(k);
    auth_test_write(path, "Basic d2FyZGVuOnMzY3JldA==\n");
    char text[4096];
    snprintf(text, sizeof(text),
             "[listener]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://127.0.0.1:5000\n"
             "identity = assert\nassertion_key_file = %s\nassertion_issuer = https://w\n"
             "assertion_audience = mlflow-x\nassertion_lifetime = 2m\n"
             "service_credential_file = %s\n[auth]\npat_file = /dev/null\n",
             key, path);
    auth_test_write(conf, text);
    struct conf_diag d = {0};
    struct warden_config *cfg = config_load(conf, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msgs[i]);
    assert_non_null(cfg);
    assert_int_equal(cfg->upstream.identity, UPSTREAM_IDENTITY_ASSERT);
    assert_string_equal(cfg->upstream.assertion_key_file, key);
    assert_string_equal(cfg->upstream.assertion_issuer, "https://w");
    assert_string_equal(cfg->upstream.assertion_audience, "mlflow-x");
    assert_int_equal(cfg->upstream.assertion_lifetime_ms, 120000);
    assert_string_equal(cfg->upstream.service_credential_file, path);
    config_free(cfg);
    /* Defaults. */
    snprintf(text, sizeof(text),
             "[listener]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://127.0.0.1:5000\n"
             "[auth]\npat_file = /dev/null\n");
    auth_test_write(conf, text);
    cfg = config_load(conf, &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->upstream.identity, UPSTREAM_IDENTITY_ASSERT);
    assert_null(cfg->upstream.assertion_key_file);
    assert_string_equal(cfg->upstream.assertion_issuer, "warden");
    assert_string_equal(cfg->upstream.assertion_audience, "mlflow");
    assert_int_equal(cfg->upstream.assertion_lifetime_ms, 60000);
    assert_null(cfg->upstream.service_credential_file);
    config_free(cfg);
    /* Refused: a bad key file, a passthrough upstream with a key, a bad credential file, an
     * unknown mode, a lifetime out of bounds. */
    auth_test_write(path, "two\nlines\n");
    static const char *const refused[][2] = {
        {"identity = assert\nassertion_key_file = ", "/cred"},
        {"identity = passthrough\nassertion_key_file = ", "/k.pem"},
        {"service_credential_file = ", "/cred"},
        {"identity = impersonate\n#", ""},
        {"assertion_lifetime = 2h\n#", ""},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char up[1024];
        snprintf(up, sizeof(up), "%s%s%s\n", refused[i][0], dir, refused[i][1]);
        snprintf(text, sizeof(text),
                 "[listener]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://127.0.0.1:5000\n"
                 "%s[auth]\npat_file = /dev/null\n",
                 up);
        auth_test_write(conf, text);
        cfg = config_load(conf, &d);
        if (cfg)
            fail_msg("accepted:\n%s", text);
        assert_true(d.n > 0);
        conf_diag_clear(&d);
    }
    auth_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_and_verify),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cost),
        cmocka_unit_test(test_service_credential_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
