/*
 * Unit tests for the authentication state machinery: the per-worker token cache (a hit costs
 * no signature verification, entries expire, revocations and key removals apply to cached
 * entries), personal access tokens (Bearer and Basic, expiry, revocation, checksum), the
 * control thread's file reloads, and the unknown-kid PENDING protocol (single refetch, then a
 * definite answer) with authn_wait() on a worker event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "auth_test_util.h"
#include "auth/b64.h"
#include "auth/jwk.h"
#include "auth/pat.h"

struct fx {
    char *dir;
    char jwks[512], pats[512], revs[512];
    EVP_PKEY *k1, *k2;
    struct auth_test_root root;
    struct authn *a;
    struct authn_cache *c;
};

static int make(void **state, const char *reload)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = auth_test_tmpdir();
    f->k1 = EVP_EC_gen("P-256");
    f->k2 = EVP_EC_gen("P-256");
    snprintf(f->jwks, sizeof(f->jwks), "%s/jwks.json", f->dir);
    snprintf(f->pats, sizeof(f->pats), "%s/pats.jsonl", f->dir);
    snprintf(f->revs, sizeof(f->revs), "%s/revoked.txt", f->dir);
    auth_test_jwks(f->jwks, f->k1, "k1", (EVP_PKEY *)NULL);
    auth_test_write(f->revs, "# nothing yet\n");
    if (auth_test_conf(&f->root,
                       "[auth]\ncache_size = 16\nleeway = 0s\npat_file = %s\n"
                       "revocation_file = %s\nreload_interval = %s\n"
                       "[issuer main]\nissuer = https://idp.test\naudiences = mlflow\n"
                       "jwks_file = %s\nrefetch_min_interval = 1h\nrefresh_interval = 2h\n",
                       f->pats, f->revs, reload, f->jwks) != 0)
        return -1;
    char err[256];
    f->a = auth_test_authn(&f->root, err, sizeof(err));
    if (!f->a) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->c = authn_cache_new(f->a, 16);
    *state = f;
    return 0;
}

static int setup_fast(void **state)
{
    return make(state, "100ms");
}

static int setup_slow(void **state)
{
    return make(state, "1h");
}

static int teardown(void **state)
{
    struct fx *f = *state;
    authn_cache_free(f->c);
    authn_free(f->a);
    auth_test_conf_free(&f->root);
    EVP_PKEY_free(f->k1);
    EVP_PKEY_free(f->k2);
    auth_test_rmdir(f->dir);
    free(f);
    return 0;
}

static char *mint(EVP_PKEY *k, const char *kid, int64_t exp_s, const char *jti)
{
    char hdr[100];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
    return auth_test_mint(JOSE_ES256, k, hdr,
                          "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":%lld,"
                          "\"sub\":\"alice\",\"groups\":[\"risk\"],\"jti\":\"%s\"}",
                          (long long)exp_s, jti);
}

static enum authn_result check_at(struct fx *f, const char *v, int64_t now_ms,
                                  struct authn_failure *fail)
{
    const struct principal *p = NULL;
    enum authn_result r = authn_check(f->a, f->c, v, strlen(v), now_ms, &p, fail);
    principal_release(p);
    return r;
}

static void wait_generation(struct fx *f, uint64_t old)
{
    for (int i = 0; i < 300 && authn_generation(f->a) == old; i++)
        usleep(10000);
    assert_true(authn_generation(f->a) > old);
}

static void test_hit_skips_verification(void **state)
{
    struct fx *f = *state;
    int64_t now = auth_test_now_ms();
    char *tok = mint(f->k1, "k1", now / 1000 + 600, "a");
    char v[2048];
    snprintf(v, sizeof(v), "Bearer %s", tok);
    struct authn_failure fail;
    uint64_t before = jwk_verify_count();
    assert_int_equal(check_at(f, v, now, &fail), AUTHN_OK);
    assert_int_equal(jwk_verify_count(), before + 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(check_at(f, v, now + i, &fail), AUTHN_OK);
    assert_int_equal(jwk_verify_count(), before + 1);
    struct authn_stats st;
    authn_get_stats(f->a, &st);
    assert_int_equal(st.cache_hits, 100);
    assert_int_equal(st.cache_misses, 1);
    /* the principal outlives eviction: take it, then flood the cache */
    const struct principal *p;
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), now, &p, &fail), AUTHN_OK);
    for (int i = 0; i < 40; i++) {
        char jti[8];
        snprintf(jti, sizeof(jti), "x%d", i);
        char *t = mint(f->k1, "k1", now / 1000 + 600, jti);
        char w[2048];
        snprintf(w, sizeof(w), "Bearer %s", t);
        assert_int_equal(check_at(f, w, now, &fail), AUTHN_OK);
        free(t);
    }
    assert_string_equal(p->user, "alice");
    principal_release(p);
    /* evicted: verified again */
    before = jwk_verify_count();
    assert_int_equal(check_at(f, v, now, &fail), AUTHN_OK);
    assert_int_equal(jwk_verify_count(), before + 1);
    /* expiry: a cached entry is not used past exp */
    assert_int_equal(check_at(f, v, (now / 1000 + 600) * 1000, &fail), AUTHN_INVALID);
    assert_non_null(strstr(fail.desc, "token expired at"));
    free(tok);
}

static void test_revocation_applies_to_cache(void **state)
{
    struct fx *f = *state;
    char err[256];
    assert_int_equal(authn_start(f->a, err, sizeof(err)), 0);
    int64_t now = auth_test_now_ms();
    char *t1 = mint(f->k1, "k1", now / 1000 + 600, "jti-1");
    char *t2 = mint(f->k1, "k1", now / 1000 + 600, "jti-2");
    char v1[2048], v2[2048];
    snprintf(v1, sizeof(v1), "Bearer %s", t1);
    snprintf(v2, sizeof(v2), "Bearer %s", t2);
    struct authn_failure fail;
    assert_int_equal(check_at(f, v1, now, &fail), AUTHN_OK);
    assert_int_equal(check_at(f, v2, now, &fail), AUTHN_OK);
    /* revoke t1 by hash and t2 by jti, in the file */
    unsigned char h[SHA256_LEN];
    char hex[65], text[300];
    auth_sha256(t1, strlen(t1), h);
    auth_hex(h, SHA256_LEN, hex);
    snprintf(text, sizeof(text), "sha256:%s\njti:jti-2\n", hex);
    uint64_t g = authn_generation(f->a);
    auth_test_write(f->revs, text);
    wait_generation(f, g);
    uint64_t before = jwk_verify_count();
    assert_int_equal(check_at(f, v1, now, &fail), AUTHN_INVALID);
    assert_string_equal(fail.desc, "token revoked");
    assert_int_equal(check_at(f, v2, now, &fail), AUTHN_INVALID);
    assert_string_equal(fail.desc, "token revoked");
    assert_int_equal(jwk_verify_count(), before); /* decided from the cache entry */
    free(t1);
    free(t2);
}

static void on_done(void *arg)
{
    struct event_base *base = arg;
    event_base_loopbreak(base);
}

static void run_wait(struct fx *f, struct event_base *base)
{
    assert_int_equal(authn_wait(f->a, base, on_done, base, NULL), 0);
    struct timeval tv = {.tv_sec = 5};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void test_unknown_kid_pending_and_key_removal(void **state)
{
    struct fx *f = *state; /* reload_interval 1h: only refetches notice file changes */
    char err[256];
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    assert_int_equal(authn_start(f->a, err, sizeof(err)), 0);
    int64_t now = auth_test_now_ms();
    char *old = mint(f->k1, "k1", now / 1000 + 600, "o");
    char *newt = mint(f->k2, "k2", now / 1000 + 600, "n");
    char vo[2048], vn[2048];
    snprintf(vo, sizeof(vo), "Bearer %s", old);
    snprintf(vn, sizeof(vn), "Bearer %s", newt);
    struct authn_failure fail;
    assert_int_equal(check_at(f, vo, now, &fail), AUTHN_OK);
    /* rotation: k2 added, k1 removed; the poller will not notice for an hour */
    auth_test_jwks(f->jwks, f->k2, "k2", (EVP_PKEY *)NULL);
    assert_int_equal(check_at(f, vn, now, &fail), AUTHN_PENDING);
    /* a second request with the same unknown kid while the fetch runs also waits */
    enum authn_result r2 = check_at(f, vn, now, &fail);
    assert_true(r2 == AUTHN_PENDING || r2 == AUTHN_OK);
    run_wait(f, base);
    assert_int_equal(check_at(f, vn, now + 1, &fail), AUTHN_OK);
    /* the cached token of the removed key is refused after that refresh */
    assert_int_equal(check_at(f, vo, now + 2, &fail), AUTHN_INVALID);
    assert_string_equal(fail.desc, "unknown key id");
    /* a flood of random kids: no more fetches within refetch_min_interval */
    struct authn_stats st;
    authn_get_stats(f->a, &st);
    uint64_t fetches = st.refetches;
    for (int i = 0; i < 200; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "rnd%d", i);
        char *t = mint(f->k2, kid, now / 1000 + 600, kid);
        char v[2048];
        snprintf(v, sizeof(v), "Bearer %s", t);
        assert_int_equal(check_at(f, v, now + 10, &fail), AUTHN_INVALID);
        assert_string_equal(fail.desc, "unknown key id");
        free(t);
    }
    authn_get_stats(f->a, &st);
    assert_int_equal(st.refetches, fetches);
    assert_int_equal(fetches, 1);
    /* cancel: a wait registered and cancelled never calls back */
    struct authn_waiter *w;
    assert_int_equal(authn_wait(f->a, base, on_done, base, &w), 0);
    authn_wait_cancel(f->a, w);
    struct timeval tv = {.tv_usec = 50000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    event_base_free(base);
    free(old);
    free(newt);
}

static void write_pat(struct fx *f, const char *token, const char *id, int64_t expires,
                      int64_t revoked)
{
    struct pat_record r = {0};
    memcpy(r.id, id, PAT_ID_LEN + 1);
    auth_sha256(token, strlen(token), r.hash);
    r.user = "bob";
    char *groups[] = {"ml", NULL};
    char *scopes[] = {"read", NULL};
    r.groups = groups;
    r.ngroups = 1;
    r.scopes = scopes;
    r.nscopes = 1;
    r.created_s = 1;
    r.expires_s = expires;
    r.revoked_s = revoked;
    char *line = pat_record_format(&r);
    char text[2048];
    snprintf(text, sizeof(text), "%s\n", line);
    auth_test_write(f->pats, text);
    free(line);
}

static void test_pat_lifecycle(void **state)
{
    struct fx *f = *state;
    char err[256];
    assert_int_equal(authn_start(f->a, err, sizeof(err)), 0);
    char tok[PAT_TOKEN_LEN + 1], id[PAT_ID_LEN + 1];
    assert_int_equal(pat_generate(tok, id, err, sizeof(err)), 0);
    int64_t now = auth_test_now_ms();
    uint64_t g = authn_generation(f->a);
    write_pat(f, tok, id, now / 1000 + 3600, 0);
    wait_generation(f, g);
    char v[200], basic[300], raw[200];
    snprintf(v, sizeof(v), "Bearer %s", tok);
    snprintf(raw, sizeof(raw), "bob:%s", tok);
    strcpy(basic, "Basic ");
    b64_encode((unsigned char *)raw, strlen(raw), basic + 6);
    const struct principal *p;
    struct authn_failure fail;
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), now, &p, &fail), AUTHN_OK);
    assert_string_equal(p->user, "bob");
    assert_int_equal(p->method, AUTHN_METHOD_PAT);
    assert_string_equal(p->jti, id);
    assert_string_equal(p->issuer, "pat");
    assert_string_equal(p->groups[0], "ml");
    assert_string_equal(p->scopes[0], "read");
    principal_release(p);
    assert_int_equal(authn_check(f->a, f->c, basic, strlen(basic), now, &p, &fail), AUTHN_OK);
    assert_int_equal(p->method, AUTHN_METHOD_BASIC_PAT);
    principal_release(p);
    /* expired (clock moved past expiry) */
    assert_int_equal(check_at(f, v, (now / 1000 + 3600) * 1000, &fail), AUTHN_INVALID);
    assert_non_null(strstr(fail.desc, "token expired at"));
    /* typo: checksum catches it without a lookup */
    char typo[200];
    strcpy(typo, v);
    typo[20] = typo[20] == 'x' ? 'y' : 'x';
    assert_int_equal(check_at(f, typo, now, &fail), AUTHN_INVALID);
    assert_non_null(strstr(fail.desc, "checksum"));
    /* a well-formed but unknown token */
    char other[PAT_TOKEN_LEN + 1], oid[PAT_ID_LEN + 1];
    pat_generate(other, oid, err, sizeof(err));
    char vo[200];
    snprintf(vo, sizeof(vo), "Bearer %s", other);
    assert_int_equal(check_at(f, vo, now, &fail), AUTHN_INVALID);
    assert_string_equal(fail.desc, "unknown personal access token");
    /* revoked in the PAT file: the cached entry stops working */
    assert_int_equal(check_at(f, v, now, &fail), AUTHN_OK);
    g = authn_generation(f->a);
    write_pat(f, tok, id, now / 1000 + 3600, now / 1000);
    wait_generation(f, g);
    assert_int_equal(check_at(f, v, now, &fail), AUTHN_INVALID);
    assert_string_equal(fail.desc, "token revoked");
    /* a broken PAT file keeps the previous state */
    g = authn_generation(f->a);
    auth_test_write(f->pats, "{not json\n");
    usleep(400000);
    assert_int_equal(authn_generation(f->a), g);
    assert_int_equal(check_at(f, v, now, &fail), AUTHN_INVALID);
}

static void test_config_refuses_open_proxy(void **state)
{
    struct auth_test_root root;
    char err[256];
    assert_int_equal(auth_test_conf(&root, "[auth]\nleeway = 10s\n"), 0);
    struct authn *a = auth_test_authn(&root, err, sizeof(err));
    assert_null(a);
    assert_non_null(strstr(err, "no authentication method"));
    auth_test_conf_free(&root);
    /* explicitly enabled method without its source */
    assert_int_equal(auth_test_conf(&root, "[auth]\nmethods = pat\n"), 0);
    assert_null(auth_test_authn(&root, err, sizeof(err)));
    assert_non_null(strstr(err, "pat_file or redis"));
    auth_test_conf_free(&root);
    /* HS without a secret, alg none, plain http discovery: refused by the section check */
    assert_int_equal(auth_test_conf(&root, "[issuer x]\nissuer = i\naudiences = a\n"
                                           "algorithms = HS256\n"),
                     -1);
    auth_test_conf_free(&root);
    assert_int_equal(auth_test_conf(&root, "[issuer x]\nissuer = i\naudiences = a\n"
                                           "algorithms = none\njwks_url = https://x/j\n"),
                     -1);
    auth_test_conf_free(&root);
    assert_int_equal(auth_test_conf(&root, "[issuer x]\nissuer = i\naudiences = a\n"
                                           "discovery_url = http://idp/.well-known\n"),
                     -1);
    auth_test_conf_free(&root);
    assert_int_equal(auth_test_conf(&root, "[auth]\nmethods = jwt, magic\n"), -1);
    auth_test_conf_free(&root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hit_skips_verification, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_applies_to_cache, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_kid_pending_and_key_removal, setup_slow,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pat_lifecycle, setup_fast, teardown),
        cmocka_unit_test(test_config_refuses_open_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
