/*
 * Unit tests for the pure parsers of the authentication module: base64/base64url strictness,
 * Authorization header parsing, JOSE header rules, claims parsing and checks (time, audience,
 * mapping), PAT token format and records, revocation entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth/b64.h"
#include "auth/credential.h"
#include "auth/jose.h"
#include "auth/pat.h"
#include "auth/revoke.h"

static char *b64u(const char *s)
{
    static char buf[32768];
    b64url_encode((const unsigned char *)s, strlen(s), buf);
    return buf;
}

static void test_b64_strict(void **state)
{
    unsigned char out[64];
    size_t n;
    assert_int_equal(b64url_decode("YWJj", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(b64url_decode("YWI", 3, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    /* padding is not base64url */
    assert_int_equal(b64url_decode("YWI=", 4, out, sizeof(out), &n), -1);
    /* non-canonical: unused trailing bits set ("YWJ" decodes "ab" with bits left over) */
    assert_int_equal(b64url_decode("YWJ", 3, out, sizeof(out), &n), -1);
    /* impossible length */
    assert_int_equal(b64url_decode("YWJjZ", 5, out, sizeof(out), &n), -1);
    /* standard alphabet characters in base64url */
    assert_int_equal(b64url_decode("a+/b", 4, out, sizeof(out), &n), -1);
    assert_int_equal(b64url_decode("a-_b", 4, out, sizeof(out), &n), 0);
    /* whitespace */
    assert_int_equal(b64url_decode("YW Jj", 5, out, sizeof(out), &n), -1);
    /* standard: padding required and canonical */
    assert_int_equal(b64_decode("YWI=", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(b64_decode("YWI", 3, out, sizeof(out), &n), -1);
    assert_int_equal(b64_decode("YWJ=", 4, out, sizeof(out), &n), -1);
    assert_int_equal(b64_decode("Y===", 4, out, sizeof(out), &n), -1);
    assert_int_equal(b64_decode("YW=j", 4, out, sizeof(out), &n), -1);
    /* output bound */
    assert_int_equal(b64url_decode("YWJjZGVm", 8, out, 5, &n), -1);
    /* round trip of all lengths */
    unsigned char in[40];
    char enc[80];
    for (size_t len = 0; len < sizeof(in); len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (unsigned char)(i * 37 + len);
        size_t el = b64url_encode(in, len, enc);
        assert_int_equal(b64url_decode(enc, el, out, sizeof(out), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(out, in, len);
        el = b64_encode(in, len, enc);
        assert_int_equal(b64_decode(enc, el, out, sizeof(out), &n), 0);
        assert_int_equal(n, len);
    }
}

static int parse(const char *v, struct credential *c, char *buf)
{
    char err[160];
    return credential_parse(v, strlen(v), buf, 512, c, err, sizeof(err));
}

static void test_credential_bearer(void **state)
{
    struct credential c;
    char buf[512];
    assert_int_equal(parse("Bearer abc.def.ghi", &c, buf), 0);
    assert_int_equal(c.kind, CREDENTIAL_BEARER);
    assert_int_equal(c.shape, TOKEN_SHAPE_JWT);
    assert_int_equal(c.token_len, 11);
    assert_int_equal(parse("bearer   abc.def.ghi  ", &c, buf), 0);
    assert_int_equal(c.token_len, 11);
    assert_int_equal(parse("BEARER wdn_pat_xyz", &c, buf), 0);
    assert_int_equal(c.shape, TOKEN_SHAPE_PAT);
    assert_int_equal(parse("Bearer opaque==", &c, buf), 0);
    assert_int_equal(c.shape, TOKEN_SHAPE_OTHER);
    assert_int_equal(parse("Bearer", &c, buf), -1);
    assert_int_equal(parse("Bearer ", &c, buf), -1);
    assert_int_equal(parse("", &c, buf), -1);
    assert_int_equal(parse("Bearer a b", &c, buf), -1);
    assert_int_equal(parse("Bearer a,b", &c, buf), -1);
    assert_int_equal(parse("Bearer =abc", &c, buf), -1);
    assert_int_equal(parse("Bearer ab=c", &c, buf), -1);
    assert_int_equal(parse("Token abc", &c, buf), -1);
    assert_int_equal(parse("Bearerabc", &c, buf), -1);
    assert_int_equal(parse("Bearer a\x01", &c, buf), -1);
    assert_int_equal(parse("Bearer \xc3\xa9", &c, buf), -1);
    /* JWT shape needs three non-empty-header parts of base64url */
    assert_int_equal(token_shape_of(".a.b", 4), TOKEN_SHAPE_OTHER);
    assert_int_equal(token_shape_of("a.b", 3), TOKEN_SHAPE_OTHER);
    assert_int_equal(token_shape_of("a.b.c.d", 7), TOKEN_SHAPE_OTHER);
    assert_int_equal(token_shape_of("a.b.", 4), TOKEN_SHAPE_JWT); /* unsigned: refused later */
}

static void test_credential_basic(void **state)
{
    struct credential c;
    char buf[512];
    /* alice:wdn_pat_abc */
    assert_int_equal(parse("Basic YWxpY2U6d2RuX3BhdF9hYmM=", &c, buf), 0);
    assert_int_equal(c.kind, CREDENTIAL_BASIC);
    assert_string_equal(c.user, "alice");
    assert_int_equal(c.token_len, 11);
    assert_memory_equal(c.token, "wdn_pat_abc", 11);
    assert_int_equal(c.shape, TOKEN_SHAPE_PAT);
    /* password may contain ':' */
    assert_int_equal(parse("basic dTphOmI=", &c, buf), 0); /* u:a:b */
    assert_string_equal(c.user, "u");
    assert_memory_equal(c.token, "a:b", 3);
    /* empty user allowed, empty password not */
    assert_int_equal(parse("Basic OnRvaw==", &c, buf), 0); /* :tok */
    assert_int_equal(c.user_len, 0);
    assert_int_equal(parse("Basic dXNlcjo=", &c, buf), -1); /* user: */
    assert_int_equal(parse("Basic dXNlcg==", &c, buf), -1); /* user (no colon) */
    assert_int_equal(parse("Basic dXNlcjo", &c, buf), -1);  /* unpadded */
    assert_int_equal(parse("Basic dXNl cjo=", &c, buf), -1);
    assert_int_equal(parse("Basic dTphAGI=", &c, buf), -1); /* u:a\0b */
    assert_int_equal(parse("Basic dTphCmI=", &c, buf), -1); /* u:a\nb */
    assert_int_equal(parse("Basic", &c, buf), -1);
}

static int header(const char *json, struct jose_header *h)
{
    char err[160];
    const char *b = b64u(json);
    return jose_header_parse(b, strlen(b), h, err, sizeof(err));
}

static void test_jose_header_rules(void **state)
{
    struct jose_header h;
    assert_int_equal(header("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", &h), 0);
    assert_int_equal(h.alg, JOSE_RS256);
    assert_true(h.has_kid);
    assert_string_equal(h.kid, "k1");
    assert_int_equal(header("{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", &h), 0);
    assert_false(h.has_kid);
    assert_int_equal(header("{\"alg\":\"ES256\",\"typ\":\"application/at+JWT\"}", &h), 0);
    /* J1: none in every spelling */
    assert_int_equal(header("{\"alg\":\"none\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"None\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"NONE\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"rs256\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\\u0000\"}", &h), -1);
    assert_int_equal(header("{}", &h), -1);
    assert_int_equal(header("{\"alg\":256}", &h), -1);
    /* crit, JWE */
    assert_int_equal(header("{\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":false}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"crit\":[]}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"enc\":\"A128GCM\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"zip\":\"DEF\"}", &h), -1);
    /* typ */
    assert_int_equal(header("{\"alg\":\"RS256\",\"typ\":\"JOSE\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"typ\":1}", &h), -1);
    /* J9: duplicate keys */
    assert_int_equal(header("{\"alg\":\"RS256\",\"alg\":\"none\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"alg\":\"RS256\"}", &h), -1);
    /* J5: kid injection is just an opaque string; non-strings and oversize refused */
    assert_int_equal(header("{\"alg\":\"RS256\",\"kid\":\"../../dev/null\"}", &h), 0);
    assert_string_equal(h.kid, "../../dev/null");
    assert_int_equal(header("{\"alg\":\"RS256\",\"kid\":\"' OR 1=1--\"}", &h), 0);
    assert_int_equal(header("{\"alg\":\"RS256\",\"kid\":7}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"kid\":\"\"}", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\",\"kid\":\"a\\nb\"}", &h), -1);
    char big[12000];
    int n = snprintf(big, sizeof(big), "{\"alg\":\"RS256\",\"kid\":\"");
    memset(big + n, 'k', 10240);
    strcpy(big + n + 10240, "\"}");
    assert_int_equal(header(big, &h), -1);
    /* J6: jku/x5u/jwk/x5c are ignored (parse ok, never used) */
    assert_int_equal(
        header("{\"alg\":\"RS256\",\"jku\":\"https://evil\",\"jwk\":{\"kty\":\"oct\"}}", &h), 0);
    /* not JSON, not an object, bad base64url */
    assert_int_equal(header("[1]", &h), -1);
    assert_int_equal(header("{\"alg\":\"RS256\"", &h), -1);
    char err[100];
    assert_int_equal(jose_header_parse("eyJ=", 4, &h, err, sizeof(err)), -1);
}

static void test_jose_split(void **state)
{
    struct jwt_parts p;
    char err[100];
    assert_int_equal(jose_split("a.b.c", 5, &p, err, sizeof(err)), 0);
    assert_int_equal(p.signed_len, 3);
    assert_int_equal(jose_split("a.b.", 4, &p, err, sizeof(err)), -1); /* J1: stripped */
    assert_int_equal(jose_split("a..c", 4, &p, err, sizeof(err)), -1);
    assert_int_equal(jose_split("a.b", 3, &p, err, sizeof(err)), -1);
    assert_int_equal(jose_split("a.b.c.d", 7, &p, err, sizeof(err)), -1);
}

static int claims(const char *json, struct jwt_claims *c)
{
    char err[160];
    const char *b = b64u(json);
    return jose_claims_parse(b, strlen(b), c, err, sizeof(err));
}

static void test_jose_claims_types(void **state)
{
    struct jwt_claims c;
    assert_int_equal(claims("{\"exp\":100,\"iss\":\"i\",\"aud\":\"a\",\"jti\":\"j\"}", &c), 0);
    assert_int_equal(c.exp, 100);
    assert_string_equal(c.iss, "i");
    assert_string_equal(c.jti, "j");
    jose_claims_clear(&c);
    /* J7: missing exp, string/float/huge exp */
    assert_int_equal(claims("{\"iss\":\"i\"}", &c), -1);
    assert_int_equal(claims("{\"exp\":\"100\"}", &c), -1);
    assert_int_equal(claims("{\"exp\":100.5}", &c), -1);
    assert_int_equal(claims("{\"exp\":1e400}", &c), -1);
    assert_int_equal(claims("{\"exp\":123456789012345678901234}", &c), -1);
    assert_int_equal(claims("{\"exp\":-1}", &c), -1);
    assert_int_equal(claims("{\"exp\":100,\"nbf\":\"x\"}", &c), -1);
    /* J8: aud as object, empty array, array with a non-string */
    assert_int_equal(claims("{\"exp\":100,\"aud\":{\"a\":1}}", &c), -1);
    assert_int_equal(claims("{\"exp\":100,\"aud\":[]}", &c), -1);
    assert_int_equal(claims("{\"exp\":100,\"aud\":[\"a\",1]}", &c), -1);
    assert_int_equal(claims("{\"exp\":100,\"iss\":5}", &c), -1);
    /* J9: duplicate claims */
    assert_int_equal(claims("{\"exp\":100,\"sub\":\"a\",\"sub\":\"b\"}", &c), -1);
    /* J10: deep nesting is refused by the parser */
    char *deep = malloc(30000);
    strcpy(deep, "{\"exp\":100,\"x\":");
    size_t n = strlen(deep);
    for (int i = 0; i < 10000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 10000; i++)
        deep[n++] = ']';
    strcpy(deep + n, "}");
    char *enc = malloc(50000);
    b64url_encode((unsigned char *)deep, strlen(deep), enc);
    char err[100];
    assert_int_equal(jose_claims_parse(enc, strlen(enc), &c, err, sizeof(err)), -1);
    free(deep);
    free(enc);
}

static void test_jose_time_and_audience(void **state)
{
    struct jwt_claims c;
    char desc[192];
    assert_int_equal(
        claims("{\"exp\":1000,\"nbf\":900,\"iat\":900,\"aud\":[\"x\",\"mlflow\"]}", &c), 0);
    assert_int_equal(jose_check_time(&c, 950, 0, desc, sizeof(desc)), 0);
    assert_int_equal(jose_check_time(&c, 1000, 0, desc, sizeof(desc)), -1);
    assert_string_equal(desc, "token expired at 1970-01-01T00:16:40Z");
    assert_int_equal(jose_check_time(&c, 1059, 60, desc, sizeof(desc)), 0); /* leeway */
    assert_int_equal(jose_check_time(&c, 1060, 60, desc, sizeof(desc)), -1);
    assert_int_equal(jose_check_time(&c, 899, 0, desc, sizeof(desc)), -1);
    assert_non_null(strstr(desc, "not valid before"));
    assert_int_equal(jose_check_time(&c, 850, 60, desc, sizeof(desc)), 0);
    const char *acc[] = {"mlflow"};
    const char *other[] = {"other"};
    assert_int_equal(jose_check_audience(&c, acc, 1, desc, sizeof(desc)), 0);
    assert_int_equal(jose_check_audience(&c, other, 1, desc, sizeof(desc)), -1);
    assert_string_equal(desc, "audience not accepted");
    jose_claims_clear(&c);
    /* iat in the far future */
    assert_int_equal(claims("{\"exp\":100000,\"iat\":5000}", &c), 0);
    assert_int_equal(jose_check_time(&c, 1000, 60, desc, sizeof(desc)), -1);
    assert_non_null(strstr(desc, "future"));
    /* aud missing */
    assert_int_equal(jose_check_audience(&c, acc, 1, desc, sizeof(desc)), -1);
    assert_string_equal(desc, "token has no audience (aud)");
    jose_claims_clear(&c);
}

static void test_jose_mapping(void **state)
{
    struct jwt_claims c;
    struct jose_mapping m;
    char desc[192];
    const char *user[] = {"email", "sub"};
    const char *scopes[] = {"scope", "scp"};
    assert_int_equal(
        claims("{\"exp\":1,\"sub\":\"u1\",\"email\":\"a@x.org\",\"realm_access\":{\"roles\":"
               "[\"risk\",\"ml\"]},\"scope\":\"read  write\"}",
               &c),
        0);
    assert_int_equal(
        jose_map_claims(&c, user, 2, "realm_access.roles", scopes, 2, &m, desc, sizeof(desc)), 0);
    assert_string_equal(m.user, "a@x.org");
    assert_int_equal(m.ngroups, 2);
    assert_string_equal(m.groups[1], "ml");
    assert_int_equal(m.nscopes, 2);
    assert_string_equal(m.scopes[0], "read");
    assert_string_equal(m.scopes[1], "write");
    jose_mapping_clear(&m);
    jose_claims_clear(&c);
    /* fallback user claim, space-separated groups, scp array */
    assert_int_equal(claims("{\"exp\":1,\"sub\":\"u1\",\"groups\":\"a b\",\"scp\":[\"s\"]}", &c),
                     0);
    assert_int_equal(jose_map_claims(&c, user, 2, "groups", scopes, 2, &m, desc, sizeof(desc)), 0);
    assert_string_equal(m.user, "u1");
    assert_int_equal(m.ngroups, 2);
    assert_int_equal(m.nscopes, 1);
    jose_mapping_clear(&m);
    jose_claims_clear(&c);
    /* I5: header-splitting values are refused */
    assert_int_equal(claims("{\"exp\":1,\"sub\":\"a\\r\\nX-Admin: 1\"}", &c), 0);
    assert_int_equal(jose_map_claims(&c, user, 2, "groups", scopes, 2, &m, desc, sizeof(desc)), -1);
    jose_claims_clear(&c);
    assert_int_equal(claims("{\"exp\":1,\"sub\":\"a\",\"groups\":[\"x,admin\"]}", &c), 0);
    assert_int_equal(jose_map_claims(&c, user, 2, "groups", scopes, 2, &m, desc, sizeof(desc)), -1);
    jose_claims_clear(&c);
    assert_int_equal(claims("{\"exp\":1,\"sub\":\"a\",\"groups\":{\"x\":1}}", &c), 0);
    assert_int_equal(jose_map_claims(&c, user, 2, "groups", scopes, 2, &m, desc, sizeof(desc)), -1);
    jose_claims_clear(&c);
    /* no user */
    assert_int_equal(claims("{\"exp\":1}", &c), 0);
    assert_int_equal(jose_map_claims(&c, user, 2, "groups", scopes, 2, &m, desc, sizeof(desc)), -1);
    jose_claims_clear(&c);
    /* user claim not a string */
    assert_int_equal(claims("{\"exp\":1,\"email\":5,\"sub\":\"u\"}", &c), 0);
    assert_int_equal(jose_map_claims(&c, user, 2, "groups", scopes, 2, &m, desc, sizeof(desc)), -1);
    jose_claims_clear(&c);
}

static void test_pat_format_and_records(void **state)
{
    char tok[PAT_TOKEN_LEN + 1], id[PAT_ID_LEN + 1], err[200];
    assert_int_equal(pat_generate(tok, id, err, sizeof(err)), 0);
    assert_int_equal(strlen(tok), PAT_TOKEN_LEN);
    assert_memory_equal(tok, "wdn_pat_", 8);
    assert_true(pat_is_well_formed(tok, PAT_TOKEN_LEN));
    tok[20] = tok[20] == 'a' ? 'b' : 'a'; /* typo -> checksum mismatch */
    assert_false(pat_is_well_formed(tok, PAT_TOKEN_LEN));
    assert_false(pat_is_well_formed(tok, PAT_TOKEN_LEN - 1));
    char tok2[PAT_TOKEN_LEN + 1];
    assert_int_equal(pat_generate(tok2, id, err, sizeof(err)), 0);
    assert_string_not_equal(tok, tok2);

    const char *line = "{\"id\":\"pat_0123456789abcdef\",\"hash\":\"sha256:"
                       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
                       "\"user\":\"bob\",\"groups\":[\"ml\"],\"scopes\":[],\"created\":10,"
                       "\"expires\":20,\"revoked\":0}";
    struct pat_record r;
    assert_int_equal(pat_record_parse(line, strlen(line), &r, err, sizeof(err)), 0);
    assert_string_equal(r.user, "bob");
    assert_int_equal(r.ngroups, 1);
    assert_int_equal(r.expires_s, 20);
    char *again = pat_record_format(&r);
    assert_string_equal(again, line);
    free(again);
    /* table */
    char text[2048];
    snprintf(text, sizeof(text), "# comment\n\n%s\n", line);
    struct pat_record *recs;
    size_t n;
    assert_int_equal(pat_table_parse(text, strlen(text), "f", &recs, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    struct pat_table *t = pat_table_new(recs, n, err, sizeof(err));
    assert_non_null(t);
    assert_non_null(pat_table_find(t, r.hash));
    unsigned char other[SHA256_LEN] = {1};
    assert_null(pat_table_find(t, other));
    pat_table_release(t);
    /* duplicate hash in a file -> refused */
    snprintf(text, sizeof(text), "%s\n%s\n", line, line);
    assert_int_equal(pat_table_parse(text, strlen(text), "f", &recs, &n, err, sizeof(err)), 0);
    assert_null(pat_table_new(recs, n, err, sizeof(err)));
    pat_record_clear(&r);
    /* strictness */
    const char *bad[] = {
        "{\"id\":\"pat_0123456789abcdef\",\"hash\":\"sha256:00\",\"user\":\"b\",\"created\":1}",
        "{\"id\":\"x\",\"hash\":\"sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"user\":\"b\","
        "\"created\":1}",
        "{\"id\":\"pat_0123456789abcdef\",\"hash\":\"sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"user\":\"b\","
        "\"created\":1,\"admin\":true}",
        "{\"id\":\"pat_0123456789abcdef\",\"id\":\"pat_0123456789abcdef\"}",
        "{\"id\":\"pat_0123456789abcdef\",\"hash\":\"sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"user\":\"b\\n\","
        "\"created\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(pat_record_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)), -1);
    snprintf(text, sizeof(text), "%s\nnot json\n", line);
    assert_int_equal(pat_table_parse(text, strlen(text), "pats", &recs, &n, err, sizeof(err)), -1);
    assert_string_equal(strstr(err, "pats:2:") ? "ok" : err, "ok");
}

static void test_revocation_entries(void **state)
{
    const char *text = "# revoked\n"
                       "sha256:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n"
                       "jti:abc-123   # leaked in a log\n"
                       "\n";
    char **items;
    size_t n;
    char err[200];
    assert_int_equal(revoke_parse(text, strlen(text), "r", &items, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    struct revset *s = revset_new(items, n);
    unsigned char h[SHA256_LEN];
    auth_unhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 64, h, 32);
    assert_true(revset_has_hash(s, h));
    h[0] = 1;
    assert_false(revset_has_hash(s, h));
    assert_true(revset_has_jti(s, "abc-123"));
    assert_false(revset_has_jti(s, "abc-12"));
    char *extra[] = {"jti:new"};
    struct revset *s2 = revset_with(s, extra, 1);
    assert_true(revset_has_jti(s2, "new"));
    assert_true(revset_has_jti(s2, "abc-123"));
    assert_false(revset_has_jti(s, "new"));
    revset_release(s);
    revset_release(s2);
    const char *bad[] = {"sha256:00\n", "jti:\n", "token\n", "jti:a b\n"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(revoke_parse(bad[i], strlen(bad[i]), "r", &items, &n, err, sizeof(err)),
                         -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_strict),
        cmocka_unit_test(test_credential_bearer),
        cmocka_unit_test(test_credential_basic),
        cmocka_unit_test(test_jose_header_rules),
        cmocka_unit_test(test_jose_split),
        cmocka_unit_test(test_jose_claims_types),
        cmocka_unit_test(test_jose_time_and_audience),
        cmocka_unit_test(test_jose_mapping),
        cmocka_unit_test(test_pat_format_and_records),
        cmocka_unit_test(test_revocation_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
