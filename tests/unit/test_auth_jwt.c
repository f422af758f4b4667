/*
 * Unit tests for JWT authentication end to end through authn_check(): JWK -> EVP_PKEY
 * conversion for RSA, EC (P-256/P-384) and Ed25519 with signatures made by OpenSSL here, HMAC
 * with a configured secret, and every JWT attack of security-cases §3.5 (J1-J10) refused with
 * a precise, credential-free reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "auth_test_util.h"
#include "auth/b64.h"
#include "auth/jwk.h"
#include "auth/files.h"

struct fx {
    char *dir;
    EVP_PKEY *rsa, *ec256, *ec384, *ed;
    struct auth_test_root root;
    struct authn *a;
    struct authn_cache *c;
    char *rsa_pem;
    size_t rsa_pem_len;
    int64_t now_s;
};

static const char secret[] = "0123456789abcdef0123456789abcdef-hs-secret";

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = auth_test_tmpdir();
    f->rsa = EVP_RSA_gen(2048);
    f->ec256 = EVP_EC_gen("P-256");
    f->ec384 = EVP_EC_gen("P-384");
    f->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char path[512], spath[512];
    snprintf(path, sizeof(path), "%s/jwks.json", f->dir);
    auth_test_jwks(path, f->rsa, "rsa1", f->ec256, "ec1", f->ec384, "ec384", f->ed, "ed1",
                   (EVP_PKEY *)NULL);
    snprintf(spath, sizeof(spath), "%s/secret", f->dir);
    auth_test_write(spath, secret);
    if (auth_test_conf(&f->root,
                       "[auth]\nleeway = 60s\ncache_size = 100\n"
                       "[issuer main]\nissuer = https://idp.test\naudiences = mlflow, other\n"
                       "jwks_file = %s\nuser_claim = email, sub\n"
                       "groups_claim = realm_access.roles\n"
                       "[issuer hs]\nissuer = https://hs.test\naudiences = mlflow\n"
                       "algorithms = HS256\nhs_secret_file = %s\n",
                       path, spath) != 0)
        return -1;
    char err[256];
    f->a = auth_test_authn(&f->root, err, sizeof(err));
    if (!f->a) {
        fprintf(stderr, "authn_new: %s\n", err);
        return -1;
    }
    f->c = authn_cache_new(f->a, 100);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, f->rsa);
    char *d;
    long n = BIO_get_mem_data(b, &d);
    f->rsa_pem = malloc((size_t)n + 1);
    memcpy(f->rsa_pem, d, (size_t)n);
    f->rsa_pem_len = (size_t)n;
    BIO_free(b);
    f->now_s = auth_test_now_ms() / 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    authn_cache_free(f->c);
    authn_free(f->a);
    auth_test_conf_free(&f->root);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ec256);
    EVP_PKEY_free(f->ec384);
    EVP_PKEY_free(f->ed);
    free(f->rsa_pem);
    auth_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Standard valid claims for the main issuer. */
static char *mint(struct fx *f, enum jose_alg alg, EVP_PKEY *k, const char *kid)
{
    char hdr[200];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             jose_alg_name(alg), kid);
    return auth_test_mint(alg, k, hdr,
                          "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                          "\"iat\":%lld,\"email\":\"alice@example.org\",\"sub\":\"u-1\","
                          "\"realm_access\":{\"roles\":[\"risk\",\"ml\"]},\"scope\":\"read\","
                          "\"jti\":\"j-%s\"}",
                          (long long)f->now_s + 3600, (long long)f->now_s, kid);
}

static enum authn_result check(struct fx *f, const char *tok, struct authn_failure *fail)
{
    const struct principal *p = NULL;
    const char *v = auth_test_bearer(tok);
    enum authn_result r = authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, fail);
    if (r == AUTHN_OK)
        assert_non_null(p);
    else
        assert_null(p);
    /* a failure never echoes the token */
    if (r != AUTHN_OK && strlen(tok) > 16) {
        char head[17];
        memcpy(head, tok, 16);
        head[16] = 0;
        assert_null(strstr(fail->desc, head));
    }
    principal_release(p);
    return r;
}

static void expect_invalid(struct fx *f, const char *tok, const char *desc_part)
{
    struct authn_failure fail;
    enum authn_result r = check(f, tok, &fail);
    if (r != AUTHN_INVALID || !strstr(fail.desc, desc_part))
        fail_msg("expected INVALID with '%s', got %d '%s'", desc_part, r, fail.desc);
}

static void test_valid_algorithms(void **state)
{
    struct fx *f = *state;
    struct {
        enum jose_alg alg;
        EVP_PKEY *k;
        const char *kid;
    } cases[] = {
        {JOSE_RS256, f->rsa, "rsa1"},    {JOSE_RS384, f->rsa, "rsa1"},
        {JOSE_RS512, f->rsa, "rsa1"},    {JOSE_PS256, f->rsa, "rsa1"},
        {JOSE_PS512, f->rsa, "rsa1"},    {JOSE_ES256, f->ec256, "ec1"},
        {JOSE_ES384, f->ec384, "ec384"}, {JOSE_EDDSA, f->ed, "ed1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *tok = mint(f, cases[i].alg, cases[i].k, cases[i].kid);
        assert_non_null(tok);
        const struct principal *p = NULL;
        struct authn_failure fail;
        const char *v = auth_test_bearer(tok);
        enum authn_result r = authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail);
        if (r != AUTHN_OK)
            fail_msg("%s: %s", jose_alg_name(cases[i].alg), fail.desc);
        assert_string_equal(p->user, "alice@example.org");
        assert_int_equal(p->ngroups, 2);
        assert_string_equal(p->groups[0], "risk");
        assert_int_equal(p->nscopes, 1);
        assert_string_equal(p->scopes[0], "read");
        assert_int_equal(p->method, AUTHN_METHOD_JWT);
        assert_string_equal(p->issuer, "https://idp.test");
        assert_int_equal(strlen(p->token_id), 64);
        assert_int_equal(p->expires_ms, (f->now_s + 3600) * 1000);
        principal_release(p);
        /* the same token as a Basic password */
        char basic[4096], raw[3000];
        snprintf(raw, sizeof(raw), "alice:%s", tok);
        strcpy(basic, "Basic ");
        b64_encode((unsigned char *)raw, strlen(raw), basic + 6);
        r = authn_check(f->a, f->c, basic, strlen(basic), auth_test_now_ms(), &p, &fail);
        assert_int_equal(r, AUTHN_OK);
        assert_int_equal(p->method, AUTHN_METHOD_BASIC_JWT);
        principal_release(p);
        /* tampered payload -> bad signature */
        char *dot = strchr(tok, '.');
        dot[3] = dot[3] == 'A' ? 'B' : 'A';
        expect_invalid(f, tok, "");
        free(tok);
    }
    /* HMAC with the configured secret */
    const char *hp = "{\"iss\":\"https://hs.test\",\"aud\":\"mlflow\",\"exp\":99999999999,"
                     "\"sub\":\"svc\"}";
    char err[64];
    char *tok = jws_sign_raw(JOSE_HS256, NULL, (const unsigned char *)secret, strlen(secret),
                             "{\"alg\":\"HS256\"}", 15, hp, strlen(hp), err, sizeof(err));
    assert_non_null(tok);
    struct authn_failure fail;
    assert_int_equal(check(f, tok, &fail), AUTHN_OK);
    free(tok);
}

static void test_j1_none_and_unsigned(void **state)
{
    struct fx *f = *state;
    const char *payload = "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":99999999999,"
                          "\"sub\":\"x\"}";
    const char *algs[] = {"none", "None", "NONE"};
    for (int i = 0; i < 3; i++) {
        char hdr[64], tok[1024];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i]);
        size_t n = b64url_encode((unsigned char *)hdr, strlen(hdr), tok);
        tok[n++] = '.';
        n += b64url_encode((unsigned char *)payload, strlen(payload), tok + n);
        strcpy(tok + n, ".");
        expect_invalid(f, tok, "not signed"); /* signature stripped */
        strcpy(tok + n, ".AAAA");
        expect_invalid(f, tok, "alg none");
    }
    char *good = mint(f, JOSE_RS256, f->rsa, "rsa1");
    *(strrchr(good, '.') + 1) = '\0';
    expect_invalid(f, good, "not signed");
    free(good);
}

static void test_j2_j3_algorithm_confusion(void **state)
{
    struct fx *f = *state;
    const char *payload = "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":99999999999,"
                          "\"sub\":\"x\"}";
    char err[100];
    /* HS256 signed with the RSA public key PEM (with and without trailing newline) and DER */
    size_t lens[] = {f->rsa_pem_len, f->rsa_pem_len - 1};
    for (int i = 0; i < 2; i++) {
        char *tok = jws_sign_raw(JOSE_HS256, NULL, (unsigned char *)f->rsa_pem, lens[i],
                                 "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", 28, payload,
                                 strlen(payload), err, sizeof(err));
        expect_invalid(f, tok, "HS256 not accepted");
        free(tok);
    }
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(f->rsa, &der);
    char *tok = jws_sign_raw(JOSE_HS256, NULL, der, (size_t)dl, "{\"alg\":\"HS256\"}", 15, payload,
                             strlen(payload), err, sizeof(err));
    expect_invalid(f, tok, "HS256 not accepted");
    free(tok);
    OPENSSL_free(der);
    /* J3: HS256 with an empty key */
    tok = jws_sign_raw(JOSE_HS256, NULL, (const unsigned char *)"", 0,
                       "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", 28, payload, strlen(payload), err,
                       sizeof(err));
    expect_invalid(f, tok, "HS256 not accepted");
    free(tok);
    /* the HS issuer with a token signed by another secret */
    const char *hp = "{\"iss\":\"https://hs.test\",\"aud\":\"mlflow\",\"exp\":99999999999,"
                     "\"sub\":\"x\"}";
    tok = jws_sign_raw(JOSE_HS256, NULL, (unsigned char *)f->rsa_pem, f->rsa_pem_len,
                       "{\"alg\":\"HS256\"}", 15, hp, strlen(hp), err, sizeof(err));
    expect_invalid(f, tok, "invalid token signature");
    free(tok);
    /* algorithm pinned by the key: ES256 header with the RSA kid, RS256 with the EC kid,
     * ES384 header with the P-256 key */
    tok = mint(f, JOSE_ES256, f->ec256, "rsa1");
    expect_invalid(f, tok, "does not match the key");
    free(tok);
    tok = mint(f, JOSE_RS256, f->rsa, "ec1");
    expect_invalid(f, tok, "does not match the key");
    free(tok);
    tok = mint(f, JOSE_ES384, f->ec384, "ec1");
    expect_invalid(f, tok, "does not match the key");
    free(tok);
}

static void test_j4_psychic_signatures(void **state)
{
    struct fx *f = *state;
    char *tok = mint(f, JOSE_ES256, f->ec256, "ec1");
    char *sig = strrchr(tok, '.') + 1;
    unsigned char raw[64];
    char enc[100];
    /* r = s = 0 */
    memset(raw, 0, 64);
    b64url_encode(raw, 64, enc);
    char *forged = malloc(strlen(tok) + 200);
    memcpy(forged, tok, (size_t)(sig - tok));
    strcpy(forged + (sig - tok), enc);
    expect_invalid(f, forged, "invalid token signature");
    /* r = 0 only, s = 0 only */
    size_t n;
    assert_int_equal(b64url_decode(sig, strlen(sig), raw, sizeof(raw), &n), 0);
    unsigned char tmp[64];
    memcpy(tmp, raw, 64);
    memset(tmp, 0, 32);
    b64url_encode(tmp, 64, enc);
    strcpy(forged + (sig - tok), enc);
    expect_invalid(f, forged, "invalid token signature");
    memcpy(tmp, raw, 64);
    memset(tmp + 32, 0, 32);
    b64url_encode(tmp, 64, enc);
    strcpy(forged + (sig - tok), enc);
    expect_invalid(f, forged, "invalid token signature");
    /* r = n (order), s = n: out of range */
    static const unsigned char order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                            0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    memcpy(tmp, order, 32);
    memcpy(tmp + 32, order, 32);
    b64url_encode(tmp, 64, enc);
    strcpy(forged + (sig - tok), enc);
    expect_invalid(f, forged, "invalid token signature");
    /* oversize signature (DER instead of r||s, or 65 bytes) */
    unsigned char big[65] = {1};
    b64url_encode(big, 65, enc);
    strcpy(forged + (sig - tok), enc);
    expect_invalid(f, forged, "invalid token signature");
    free(forged);
    free(tok);
}

static void test_j5_kid_handling(void **state)
{
    struct fx *f = *state;
    const char *kids[] = {"../../dev/null", "' OR 1=1--", "unknown"};
    for (int i = 0; i < 3; i++) {
        char *tok = mint(f, JOSE_RS256, f->rsa, kids[i]);
        expect_invalid(f, tok, "unknown key id");
        free(tok);
    }
    /* duplicate kid values in a JWKS make that kid unusable */
    char path[512];
    snprintf(path, sizeof(path), "%s/dup.json", f->dir);
    auth_test_jwks(path, f->rsa, "same", f->ec256, "same", (EVP_PKEY *)NULL);
    char *text = NULL;
    size_t len;
    char err[200];
    assert_int_equal(auth_file_read(path, 1 << 20, &text, &len, err, sizeof(err)), 0);
    struct keyset *ks;
    assert_int_equal(keyset_from_jwks(text, len, &ks, NULL, err, sizeof(err)), 0);
    const struct jwk *k;
    assert_int_equal(keyset_select(ks, "same", JOSE_RS256, &k), KEYSET_AMBIGUOUS);
    assert_int_equal(keyset_select(ks, NULL, JOSE_RS256, &k), KEYSET_FOUND);
    keyset_release(ks);
    free(text);
}

static void test_j7_time_claims(void **state)
{
    struct fx *f = *state;
    const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";
    long long now = (long long)f->now_s;
    char *tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                               "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                               "\"sub\":\"x\"}",
                               now - 120);
    expect_invalid(f, tok, "token expired at ");
    free(tok);
    /* within leeway */
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                         "\"sub\":\"x\"}",
                         now - 30);
    struct authn_failure fail;
    assert_int_equal(check(f, tok, &fail), AUTHN_OK);
    free(tok);
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"sub\":\"x\"}");
    expect_invalid(f, tok, "no expiry");
    free(tok);
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                         "\"nbf\":%lld,\"sub\":\"x\"}",
                         now + 3600, now + 600);
    expect_invalid(f, tok, "not valid before");
    free(tok);
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                         "\"iat\":%lld,\"sub\":\"x\"}",
                         now + 7200, now + 3600);
    expect_invalid(f, tok, "future");
    free(tok);
    const char *bad_exp[] = {"\"123\"", "1.5", "1e400"};
    for (int i = 0; i < 3; i++) {
        tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                             "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%s,"
                             "\"sub\":\"x\"}",
                             bad_exp[i]);
        expect_invalid(f, tok, "");
        free(tok);
    }
}

static void test_j8_issuer_audience(void **state)
{
    struct fx *f = *state;
    const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";
    long long exp = (long long)f->now_s + 600;
    const char *iss[] = {"https://idp.test/", "https://IDP.test", "https://evil.test"};
    for (int i = 0; i < 3; i++) {
        char *tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                                   "{\"iss\":\"%s\",\"aud\":\"mlflow\",\"exp\":%lld,\"sub\":\"x\"}",
                                   iss[i], exp);
        expect_invalid(f, tok, "unknown issuer");
        free(tok);
    }
    char *tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                               "{\"aud\":\"mlflow\",\"exp\":%lld,\"sub\":\"x\"}", exp);
    expect_invalid(f, tok, "no issuer");
    free(tok);
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"exp\":%lld,\"sub\":\"x\"}", exp);
    expect_invalid(f, tok, "no audience");
    free(tok);
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":[\"a\",\"b\"],\"exp\":%lld,"
                         "\"sub\":\"x\"}",
                         exp);
    expect_invalid(f, tok, "audience not accepted");
    free(tok);
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":{\"mlflow\":1},\"exp\":%lld,"
                         "\"sub\":\"x\"}",
                         exp);
    expect_invalid(f, tok, "aud");
    free(tok);
    /* array containing an accepted audience is fine */
    tok = auth_test_mint(JOSE_RS256, f->rsa, hdr,
                         "{\"iss\":\"https://idp.test\",\"aud\":[\"a\",\"other\"],\"exp\":%lld,"
                         "\"sub\":\"x\"}",
                         exp);
    struct authn_failure fail;
    assert_int_equal(check(f, tok, &fail), AUTHN_OK);
    free(tok);
}

static void test_j9_j10_duplicates_and_size(void **state)
{
    struct fx *f = *state;
    long long exp = (long long)f->now_s + 600;
    char *tok = auth_test_mint(JOSE_RS256, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                               "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                               "\"sub\":\"x\",\"sub\":\"admin\"}",
                               exp);
    expect_invalid(f, tok, "duplicate");
    free(tok);
    tok =
        auth_test_mint(JOSE_RS256, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"alg\":\"RS256\"}",
                       "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                       "\"sub\":\"x\"}",
                       exp);
    expect_invalid(f, tok, "duplicate");
    free(tok);
    /* 64 KB and 1 MB tokens are refused before any parsing */
    size_t sizes[] = {64 * 1024, 1024 * 1024};
    for (int i = 0; i < 2; i++) {
        char *big = malloc(sizes[i] + 1);
        memset(big, 'a', sizes[i]);
        big[10] = big[20] = '.';
        big[sizes[i]] = 0;
        char *v = malloc(sizes[i] + 10);
        sprintf(v, "Bearer %s", big);
        const struct principal *p;
        struct authn_failure fail;
        assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                         AUTHN_INVALID);
        assert_string_equal(fail.desc, "token too large");
        free(v);
        free(big);
    }
}

static void test_failure_rendering(void **state)
{
    struct fx *f = *state;
    const struct principal *p;
    struct authn_failure fail;
    char buf[512];
    assert_int_equal(authn_check(f->a, f->c, NULL, 0, auth_test_now_ms(), &p, &fail),
                     AUTHN_NO_CREDENTIAL);
    authn_challenge(f->a, AUTHN_NO_CREDENTIAL, &fail, buf, sizeof(buf));
    /* Basic is enabled (a JWT may be the password), so both challenges are offered */
    assert_string_equal(buf, "Bearer realm=\"warden\", Basic realm=\"warden\"");
    authn_error_body(AUTHN_NO_CREDENTIAL, &fail, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"error_code\":\"UNAUTHENTICATED\""));
    char *tok = mint(f, JOSE_RS256, f->rsa, "nope");
    assert_int_equal(check(f, tok, &fail), AUTHN_INVALID);
    authn_challenge(f->a, AUTHN_INVALID, &fail, buf, sizeof(buf));
    assert_string_equal(buf, "Bearer realm=\"warden\", error=\"invalid_token\", "
                             "error_description=\"unknown key id\"");
    authn_error_body(AUTHN_INVALID, &fail, buf, sizeof(buf));
    assert_string_equal(buf, "{\"error_code\":\"UNAUTHENTICATED\",\"message\":\"Invalid "
                             "credentials: unknown key id\"}");
    free(tok);
    /* Bearer of an unknown shape, method not enabled (no PAT source configured) */
    const char *v = "Bearer wdn_pat_abc";
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_INVALID);
    assert_non_null(strstr(fail.desc, "not enabled"));
    v = "Bearer opaque";
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_INVALID);
}

static void test_jwk_conversion_rules(void **state)
{
    struct fx *f = *state;
    char err[200];
    struct keyset *ks;
    /* RSA 1024 is refused */
    EVP_PKEY *small = EVP_RSA_gen(1024);
    json_t *jwk = jwk_public_json(small, "s", JOSE_ALG_INVALID);
    json_t *doc = json_pack("{s:[o]}", "keys", jwk);
    char *s = json_dumps(doc, 0);
    assert_int_equal(keyset_from_jwks(s, strlen(s), &ks, NULL, err, sizeof(err)), -1);
    free(s);
    json_decref(doc);
    EVP_PKEY_free(small);
    /* an oct key is skipped (HMAC keys never come from a JWKS); alone it leaves no keys */
    const char *oct = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";
    assert_int_equal(keyset_from_jwks(oct, strlen(oct), &ks, NULL, err, sizeof(err)), -1);
    /* EC point not on the curve */
    jwk = jwk_public_json(f->ec256, "e", JOSE_ALG_INVALID);
    char y[100];
    strcpy(y, json_string_value(json_object_get(jwk, "y")));
    y[5] = y[5] == 'A' ? 'B' : 'A';
    json_object_set_new(jwk, "y", json_string(y));
    doc = json_pack("{s:[o]}", "keys", jwk);
    s = json_dumps(doc, 0);
    assert_int_equal(keyset_from_jwks(s, strlen(s), &ks, NULL, err, sizeof(err)), -1);
    free(s);
    json_decref(doc);
    /* a stated alg pins the key: RS256 key refuses PS256 */
    jwk = jwk_public_json(f->rsa, "r", JOSE_RS256);
    doc = json_pack("{s:[o, {s:s, s:s}]}", "keys", jwk, "kty", "EC", "use", "enc");
    s = json_dumps(doc, 0);
    size_t skipped = 0;
    assert_int_equal(keyset_from_jwks(s, strlen(s), &ks, &skipped, err, sizeof(err)), 0);
    assert_int_equal(skipped, 1);
    const struct jwk *k;
    assert_int_equal(keyset_select(ks, "r", JOSE_PS256, &k), KEYSET_INCOMPATIBLE);
    assert_int_equal(keyset_select(ks, "r", JOSE_RS256, &k), KEYSET_FOUND);
    assert_int_equal(keyset_select(ks, "r", JOSE_HS256, &k), KEYSET_INCOMPATIBLE);
    keyset_release(ks);
    free(s);
    json_decref(doc);
    /* duplicate keys in a JWKS document */
    const char *dup = "{\"keys\":[],\"keys\":[]}";
    assert_int_equal(keyset_from_jwks(dup, strlen(dup), &ks, NULL, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_algorithms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j1_none_and_unsigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j2_j3_algorithm_confusion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j4_psychic_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j5_kid_handling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j7_time_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j8_issuer_audience, setup, teardown),
        cmocka_unit_test_setup_teardown(test_j9_j10_duplicates_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_rendering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwk_conversion_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
