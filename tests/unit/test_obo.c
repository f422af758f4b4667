/*
 * Unit tests for authentication on behalf of a user (gateway/auth/obo.c and its parts in
 * authn.c, jose.c, jwt.c, principal.c, authn_conf.c): the header form (agent credential +
 * subject token, bare or Bearer, JWT or PAT), the exchange form (RFC 8693 act chains, nested,
 * client_id actors), client-credentials tokens as service principals, subject audiences and
 * the separation of the subject-token cache, every refusal with the token that failed and its
 * message, the enabled forms, the configuration checks, and the policy view feeding
 * policy_decide_obo end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth/digest.h"
#include "auth/obo.h"
#include "auth/pat.h"
#include "auth_test_util.h"

struct fx {
    char *dir;
    char jwks[512], pats[512];
    EVP_PKEY *key;
    struct auth_test_root root;
    struct authn *a;
    struct authn_cache *c;
    char agent_pat[PAT_TOKEN_LEN + 1], user_pat[PAT_TOKEN_LEN + 1];
    char agent_v[PAT_TOKEN_LEN + 20];
};

static void pat_line(FILE *f, char *tok, const char *user, const char *groups, const char *scopes)
{
    char id[PAT_ID_LEN + 1], err[100], hex[65];
    unsigned char h[SHA256_LEN];
    assert_int_equal(pat_generate(tok, id, err, sizeof(err)), 0);
    auth_sha256(tok, strlen(tok), h);
    auth_hex(h, SHA256_LEN, hex);
    fprintf(f,
            "{\"id\":\"%s\",\"hash\":\"sha256:%s\",\"user\":\"%s\",\"groups\":[%s],"
            "\"scopes\":[%s],\"created\":1700000000,\"expires\":0,\"revoked\":0}\n",
            id, hex, user, groups, scopes);
}

static int make(void **state, const char *auth_extra)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = auth_test_tmpdir();
    f->key = EVP_EC_gen("P-256");
    snprintf(f->jwks, sizeof(f->jwks), "%s/jwks.json", f->dir);
    snprintf(f->pats, sizeof(f->pats), "%s/pats.jsonl", f->dir);
    auth_test_jwks(f->jwks, f->key, "k1", (EVP_PKEY *)NULL);
    FILE *pf = fopen(f->pats, "w");
    pat_line(pf, f->agent_pat, "sp:notebook", "\"agents\"", "\"mlflow:write\"");
    pat_line(pf, f->user_pat, "carol@x", "\"ds\"", "");
    fclose(pf);
    snprintf(f->agent_v, sizeof(f->agent_v), "Bearer %s", f->agent_pat);
    if (auth_test_conf(&f->root,
                       "[auth]\ncache_size = 16\nleeway = 0s\npat_file = %s\n%s\n"
                       "[issuer main]\nissuer = https://idp.test\naudiences = mlflow\n"
                       "subject_audiences = mlflow, agent-app\njwks_file = %s\n"
                       "[issuer other]\nissuer = https://idp2.test\naudiences = mlflow\n"
                       "jwks_file = %s\n",
                       f->pats, auth_extra, f->jwks, f->jwks) != 0)
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

static int setup(void **state)
{
    return make(state, "");
}

static int teardown(void **state)
{
    struct fx *f = *state;
    authn_cache_free(f->c);
    authn_free(f->a);
    auth_test_conf_free(&f->root);
    EVP_PKEY_free(f->key);
    auth_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* A token of issuer iss with the given claims (JSON members, no braces) added. */
static char *tok(struct fx *f, const char *iss, const char *aud, const char *members)
{
    return auth_test_mint(JOSE_ES256, f->key, "{\"alg\":\"ES256\",\"kid\":\"k1\"}",
                          "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld%s%s}", iss, aud,
                          (long long)(auth_test_now_ms() / 1000 + 600), *members ? "," : "",
                          members);
}

static enum authn_result obo(struct fx *f, const char *authz, const char *subj,
                             struct authn_identity *id, struct authn_failure *fail)
{
    return authn_check_obo(f->a, f->c, authz, authz ? strlen(authz) : 0, subj,
                           subj ? strlen(subj) : 0, auth_test_now_ms(), id, fail);
}

static void expect_fail(struct fx *f, const char *authz, const char *subj, enum authn_result want,
                        bool subject, const char *desc)
{
    struct authn_identity id;
    struct authn_failure fail;
    assert_int_equal(obo(f, authz, subj, &id, &fail), want);
    assert_null(id.subject);
    assert_null(id.caller);
    if (fail.subject != subject || strcmp(fail.desc, desc) != 0)
        fail_msg("failure (subject %d): %s\nwanted (subject %d): %s", fail.subject, fail.desc,
                 subject, desc);
}

static void test_header_form(void **state)
{
    struct fx *f = *state;
    char *alice = tok(f, "https://idp.test", "agent-app",
                      "\"sub\":\"alice@x\",\"groups\":[\"ds\"],\"scope\":\"openid mlflow:read\"");
    struct authn_identity id;
    struct authn_failure fail;
    /* Bare token and Bearer form, twice each (the second from the subject cache). */
    char bearer[4096];
    snprintf(bearer, sizeof(bearer), "Bearer %s", alice);
    const char *forms[] = {alice, bearer, alice, bearer};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(obo(f, f->agent_v, forms[i], &id, &fail), AUTHN_OK);
        assert_int_equal(id.form, AUTHN_OBO_HEADER);
        assert_string_equal(id.subject->user, "alice@x");
        assert_string_equal(id.subject->groups[0], "ds");
        assert_non_null(id.caller);
        assert_string_equal(id.caller->user, "sp:notebook");
        assert_int_equal(id.nactors, 1);
        assert_string_equal(id.actors[0].id, "sp:notebook");
        assert_string_equal(id.actors[0].issuer, "pat");
        assert_ptr_equal(id.actors[0].principal, id.caller);
        const char *name;
        assert_true(authn_actor_is_sp(&id.actors[0], &name));
        assert_string_equal(name, "notebook");
        /* The policy view: subject alice (groups ds), actor sp:notebook (groups agents), and
         * scopes mlflow:read ∩ mlflow:write = read. */
        struct authn_policy_view v;
        authn_identity_policy(&id, &v);
        assert_string_equal(v.subject.user, "alice@x");
        assert_false(v.subject.service_principal);
        assert_int_equal(v.subject.ngroups, 1);
        assert_non_null(v.actor);
        assert_string_equal(v.actor->user, "notebook");
        assert_true(v.actor->service_principal);
        assert_string_equal(v.actor->groups[0], "agents");
        const char *rd[] = {"mlflow:read"};
        assert_int_equal(v.scope_mask, policy_scope_mask(rd, 1));
        authn_identity_release(&id);
        assert_null(id.subject);
    }
    authn_identity_release(&id); /* empty: no-op */
    /* A user's personal access token works as a subject token too. */
    assert_int_equal(obo(f, f->agent_v, f->user_pat, &id, &fail), AUTHN_OK);
    assert_string_equal(id.subject->user, "carol@x");
    assert_int_equal(id.subject->method, AUTHN_METHOD_PAT);
    authn_identity_release(&id);
    /* Without a subject token: an ordinary request. */
    assert_int_equal(obo(f, f->agent_v, NULL, &id, &fail), AUTHN_OK);
    assert_int_equal(id.form, AUTHN_OBO_NONE);
    assert_int_equal(id.nactors, 0);
    assert_null(id.caller);
    assert_string_equal(id.subject->user, "sp:notebook");
    struct authn_policy_view v;
    authn_identity_policy(&id, &v);
    assert_null(v.actor);
    assert_string_equal(v.subject.user, "notebook");
    assert_true(v.subject.service_principal);
    authn_identity_release(&id);
    free(alice);
}

static void test_subject_audiences_and_cache(void **state)
{
    struct fx *f = *state;
    /* A token for the agent app is accepted as a subject token ([issuer main]
     * subject_audiences), never as a caller's credential -- not even after it was cached. */
    char *for_app = tok(f, "https://idp.test", "agent-app", "\"sub\":\"alice@x\"");
    struct authn_identity id;
    struct authn_failure fail;
    assert_int_equal(obo(f, f->agent_v, for_app, &id, &fail), AUTHN_OK);
    authn_identity_release(&id);
    char v[4096];
    snprintf(v, sizeof(v), "Bearer %s", for_app);
    expect_fail(f, v, NULL, AUTHN_INVALID, false, "audience not accepted");
    const struct principal *p;
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_INVALID);
    /* [issuer other] has no subject_audiences: its audiences apply to subject tokens. */
    char *other_app = tok(f, "https://idp2.test", "agent-app", "\"sub\":\"alice@x\"");
    expect_fail(f, f->agent_v, other_app, AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token): audience not accepted");
    char *other = tok(f, "https://idp2.test", "mlflow", "\"sub\":\"bob@x\"");
    assert_int_equal(obo(f, f->agent_v, other, &id, &fail), AUTHN_OK);
    assert_string_equal(id.subject->user, "bob@x");
    authn_identity_release(&id);
    /* A caller's credential verified first is not a subject token for free either: the
     * subject cache is separate and checks subject audiences. */
    char *mlflow_only = tok(f, "https://idp.test", "mlflow", "\"sub\":\"dave@x\"");
    snprintf(v, sizeof(v), "Bearer %s", mlflow_only);
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_OK);
    principal_release(p);
    assert_int_equal(obo(f, f->agent_v, mlflow_only, &id, &fail), AUTHN_OK); /* mlflow listed */
    authn_identity_release(&id);
    free(for_app);
    free(other_app);
    free(other);
    free(mlflow_only);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    char *alice = tok(f, "https://idp.test", "mlflow", "\"sub\":\"alice@x\"");
    char *expired = auth_test_mint(
        JOSE_ES256, f->key, "{\"alg\":\"ES256\",\"kid\":\"k1\"}",
        "{\"iss\":\"https://idp.test\",\"aud\":\"mlflow\",\"exp\":1700000000,\"sub\":\"a@x\"}");
    char *acting =
        tok(f, "https://idp.test", "mlflow", "\"sub\":\"alice@x\",\"act\":{\"sub\":\"sp:other\"}");
    char v[4096], w[4096];
    expect_fail(f, f->agent_v, expired, AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token): token expired at 2023-11-14T22:13:20Z");
    expect_fail(f, f->agent_v, "not-a-token", AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token): unrecognised token (neither a JWT nor a "
                "personal access token)");
    expect_fail(f, f->agent_v, "Basic YTpi", AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token): a subject token is a bearer token (JWT "
                "or personal access token), not Basic credentials");
    expect_fail(f, f->agent_v, "", AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token) is empty");
    expect_fail(f, NULL, alice, AUTHN_INVALID, false,
                "a subject token (X-Warden-Subject-Token) needs the caller's own credential in "
                "Authorization");
    snprintf(v, sizeof(v), "Bearer %s", expired);
    expect_fail(f, v, alice, AUTHN_INVALID, false, "token expired at 2023-11-14T22:13:20Z");
    expect_fail(f, f->agent_v, acting, AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token): it already names an actor (act claim); "
                "present an exchanged token alone, in Authorization");
    snprintf(v, sizeof(v), "Bearer %s", acting);
    expect_fail(f, v, alice, AUTHN_INVALID, false,
                "a credential that already acts for someone (act claim) cannot present a "
                "subject token");
    snprintf(w, sizeof(w), "Bearer %s", alice);
    expect_fail(f, w, alice, AUTHN_INVALID, true,
                "subject token (X-Warden-Subject-Token): it is the caller's own credential");
    free(alice);
    free(expired);
    free(acting);
}

static void test_exchange_form(void **state)
{
    struct fx *f = *state;
    char *x = tok(f, "https://idp.test", "mlflow",
                  "\"sub\":\"alice@x\",\"groups\":[\"ds\"],\"scope\":\"mlflow:write\","
                  "\"act\":{\"sub\":\"sp:notebook\",\"iss\":\"https://sts.test\","
                  "\"act\":{\"client_id\":\"cli\",\"act\":{\"sub\":\"erin@x\",\"client_id\":"
                  "\"tool\"}}}");
    char v[4096];
    snprintf(v, sizeof(v), "Bearer %s", x);
    struct authn_identity id;
    struct authn_failure fail;
    for (int i = 0; i < 2; i++) { /* verified, then from the cache */
        assert_int_equal(obo(f, v, NULL, &id, &fail), AUTHN_OK);
        assert_int_equal(id.form, AUTHN_OBO_EXCHANGE);
        assert_string_equal(id.subject->user, "alice@x");
        assert_null(id.caller);
        assert_int_equal(id.nactors, 3);
        assert_string_equal(id.actors[0].id, "sp:notebook");
        assert_string_equal(id.actors[0].issuer, "https://sts.test");
        assert_null(id.actors[0].principal);
        assert_string_equal(id.actors[1].id, "sp:cli");
        assert_string_equal(id.actors[1].issuer, "");
        assert_string_equal(id.actors[2].id, "erin@x");
        struct authn_policy_view pv;
        authn_identity_policy(&id, &pv);
        assert_string_equal(pv.actor->user, "notebook");
        assert_true(pv.actor->service_principal);
        assert_int_equal(pv.actor->ngroups, 0);
        assert_string_equal(pv.subject.groups[0], "ds");
        const char *wr[] = {"mlflow:write"};
        assert_int_equal(pv.scope_mask, policy_scope_mask(wr, 1));
        authn_identity_release(&id);
    }
    /* authn_check never lets an exchanged token pass as its user. */
    const struct principal *p = (const struct principal *)1;
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_INVALID);
    assert_null(p);
    assert_string_equal(fail.desc, "token names an actor (act claim): on-behalf-of tokens are "
                                   "not accepted here");
    /* Malformed act claims make the token invalid (client-facing text has no double quotes). */
    static const char *const bad[][2] = {
        {"\"act\":\"sp:x\"", "claim 'act' must be an object naming the actor"},
        {"\"act\":{\"iss\":\"i\"}",
         "claim 'act' must name the actor with a non-empty string sub or client_id"},
        {"\"act\":{\"sub\":\"\"}",
         "claim 'act' must name the actor with a non-empty string sub or client_id"},
        {"\"act\":{\"sub\":7}",
         "claim 'act' must name the actor with a non-empty string sub or client_id"},
        {"\"act\":{\"sub\":\"a\\nb\"}",
         "claim 'act' names an actor that is too long or has control characters"},
        {"\"act\":{\"sub\":\"a\",\"act\":{\"sub\":\"b\",\"act\":{\"sub\":\"c\",\"act\":{\"sub\":"
         "\"d\",\"act\":{\"sub\":\"e\",\"act\":{\"sub\":\"f\",\"act\":{\"sub\":\"g\",\"act\":{"
         "\"sub\":\"h\",\"act\":{\"sub\":\"i\"}}}}}}}}}",
         "claim 'act' is nested more than 8 deep"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char members[600];
        snprintf(members, sizeof(members), "\"sub\":\"alice@x\",%s", bad[i][0]);
        char *t = tok(f, "https://idp.test", "mlflow", members);
        snprintf(v, sizeof(v), "Bearer %s", t);
        expect_fail(f, v, NULL, AUTHN_INVALID, false, bad[i][1]);
        free(t);
    }
    free(x);
}

static void test_client_credentials(void **state)
{
    struct fx *f = *state;
    /* RFC 9068: client_id equal to sub is a client's own token: service principal. */
    char *cc = tok(f, "https://idp.test", "mlflow",
                   "\"sub\":\"notebook\",\"client_id\":\"notebook\",\"groups\":[\"agents\"]");
    char *user = tok(f, "https://idp.test", "mlflow", "\"sub\":\"alice@x\",\"client_id\":\"web\"");
    char v[4096];
    const struct principal *p;
    struct authn_failure fail;
    snprintf(v, sizeof(v), "Bearer %s", cc);
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_OK);
    assert_string_equal(p->user, "sp:notebook");
    const char *name;
    assert_true(principal_is_sp(p, &name));
    assert_string_equal(name, "notebook");
    principal_release(p);
    snprintf(v, sizeof(v), "Bearer %s", user);
    assert_int_equal(authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, &fail),
                     AUTHN_OK);
    assert_string_equal(p->user, "alice@x");
    assert_false(principal_is_sp(p, NULL));
    principal_release(p);
    /* The client's token as the caller of a header-form request. */
    struct authn_identity id;
    snprintf(v, sizeof(v), "Bearer %s", cc);
    char *alice = tok(f, "https://idp.test", "agent-app", "\"sub\":\"alice@x\"");
    assert_int_equal(obo(f, v, alice, &id, &fail), AUTHN_OK);
    assert_string_equal(id.actors[0].id, "sp:notebook");
    assert_string_equal(id.actors[0].issuer, "https://idp.test");
    authn_identity_release(&id);
    free(alice);
    free(cc);
    free(user);
}

static void test_from_caller(void **state)
{
    struct fx *f = *state;
    const char *groups[] = {"agents"};
    struct principal_spec spec = {
        .method = AUTHN_METHOD_MTLS,
        .user = "sp:cert-agent",
        .groups = groups,
        .ngroups = 1,
        .issuer = "mtls",
        .jti = "",
        .token_id = "aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00"};
    char *alice = tok(f, "https://idp.test", "mlflow", "\"sub\":\"alice@x\"");
    struct authn_identity id;
    struct authn_failure fail;
    assert_int_equal(authn_obo_from_caller(f->a, f->c, principal_new(&spec), alice, strlen(alice),
                                           auth_test_now_ms(), &id, &fail),
                     AUTHN_OK);
    assert_string_equal(id.actors[0].id, "sp:cert-agent");
    assert_int_equal(id.caller->method, AUTHN_METHOD_MTLS);
    authn_identity_release(&id);
    /* On failure the caller's reference is released (ASan would see a leak otherwise). */
    assert_int_equal(authn_obo_from_caller(f->a, f->c, principal_new(&spec), "x.y.z", 5,
                                           auth_test_now_ms(), &id, &fail),
                     AUTHN_INVALID);
    assert_true(fail.subject);
    assert_int_equal(authn_obo_from_caller(f->a, f->c, principal_new(&spec), NULL, 0,
                                           auth_test_now_ms(), &id, &fail),
                     AUTHN_OK);
    assert_int_equal(id.form, AUTHN_OBO_NONE);
    authn_identity_release(&id);
    free(alice);
}

/* One form enabled at a time, and none. */
static void forms_case(const char *conf, bool header, bool exchange)
{
    void *st = NULL;
    assert_int_equal(make(&st, conf), 0);
    struct fx *f = st;
    assert_int_equal(authn_obo_forms(f->a), (header ? AUTHN_OBO_HEADER_FORM : 0) |
                                                (exchange ? AUTHN_OBO_EXCHANGE_FORM : 0));
    /* The name is known whether or not the form is enabled: the connection removes it. */
    assert_string_equal(authn_obo_header(f->a), "X-Agent-For");
    assert_string_equal(authn_obo_header_lc(f->a), "x-agent-for");
    char *alice = tok(f, "https://idp.test", "mlflow", "\"sub\":\"alice@x\"");
    char *x = tok(f, "https://idp.test", "mlflow", "\"sub\":\"alice@x\",\"act\":{\"sub\":\"b\"}");
    char v[4096];
    struct authn_identity id;
    struct authn_failure fail;
    enum authn_result r = obo(f, f->agent_v, alice, &id, &fail);
    if (header) {
        assert_int_equal(r, AUTHN_OK);
        authn_identity_release(&id);
    } else {
        expect_fail(f, f->agent_v, alice, AUTHN_INVALID, true,
                    "on-behalf-of requests with a subject token (X-Agent-For) are not enabled");
    }
    snprintf(v, sizeof(v), "Bearer %s", x);
    r = obo(f, v, NULL, &id, &fail);
    if (exchange) {
        assert_int_equal(r, AUTHN_OK);
        authn_identity_release(&id);
    } else {
        expect_fail(f, v, NULL, AUTHN_INVALID, false,
                    "token names an actor (act claim) but exchanged on-behalf-of tokens are not "
                    "enabled");
    }
    free(alice);
    free(x);
    teardown(&st);
}

static void test_forms(void **state)
{
    forms_case("on_behalf_of = header\nobo_header = X-Agent-For", true, false);
    forms_case("on_behalf_of = exchange\nobo_header = X-Agent-For", false, true);
    forms_case("on_behalf_of = off\nobo_header = X-Agent-For", false, false);
}

static void test_config_checks(void **state)
{
    struct auth_test_root root;
    static const char *const bad[] = {
        "[auth]\npat_file = /dev/null\non_behalf_of = header, sideways\n",
        "[auth]\npat_file = /dev/null\non_behalf_of = off, header\n",
        "[auth]\npat_file = /dev/null\nobo_header = Authorization\n",
        "[auth]\npat_file = /dev/null\nobo_header = X-Warden-User\n",
        "[auth]\npat_file = /dev/null\nobo_header = X_Subject\n",
        "[auth]\npat_file = /dev/null\nobo_header = \"X Subject\"\n",
        "[auth]\npat_file = /dev/null\n[issuer i]\nissuer = https://i\naudiences = a\n"
        "jwks_file = /dev/null\nsubject_audiences = \"\"\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (auth_test_conf(&root, "%s", bad[i]) == 0)
            fail_msg("accepted: %s", bad[i]);
        auth_test_conf_free(&root);
    }
    assert_int_equal(auth_test_conf(&root, "[auth]\npat_file = /dev/null\n"), 0);
    assert_string_equal(root.auth.obo_header, "X-Warden-Subject-Token");
    assert_int_equal(authn_conf_obo_forms(root.auth.on_behalf_of),
                     AUTHN_OBO_HEADER_FORM | AUTHN_OBO_EXCHANGE_FORM);
    auth_test_conf_free(&root);
}

/* The identity's policy view decides end to end with policy_decide_obo. */
static void test_policy_end_to_end(void **state)
{
    struct fx *f = *state;
    const char *src = "GRANT USE CATALOG, USE SCHEMA, READ, MODIFY ON CATALOG ml TO `group:ds`;\n"
                      "GRANT USE CATALOG, USE SCHEMA, READ ON CATALOG ml TO `bob@x`;\n"
                      "GRANT DELEGATION FOR `group:ds`, `bob@x` TO `group:agents` LIMIT READ, "
                      "MODIFY;\n";
    struct policy_text t = {"p.policy", src, strlen(src)};
    struct policy_snapshot *s = policy_compile_buffers(&t, 1, NULL);
    assert_non_null(s);
    struct policy_object o = {.kind = POLICY_KIND_EXPERIMENT,
                              .catalog = {"ml", 2},
                              .schema = {"team", 4},
                              .name = {"churn", 5}};
    char *alice =
        tok(f, "https://idp.test", "agent-app", "\"sub\":\"alice@x\",\"groups\":[\"ds\"]");
    char *bob = tok(f, "https://idp.test", "agent-app", "\"sub\":\"bob@x\"");
    struct authn_identity id;
    struct authn_failure fail;
    struct authn_policy_view v;
    struct policy_obo_decision d;
    char msg[300];
    assert_int_equal(obo(f, f->agent_v, alice, &id, &fail), AUTHN_OK);
    authn_identity_policy(&id, &v);
    assert_int_equal(
        policy_decide_obo(s, &v.subject, v.actor, v.scope_mask, POLICY_PRIV_MODIFY, &o, &d), 0);
    assert_true(d.allowed);
    authn_identity_release(&id);
    assert_int_equal(obo(f, f->agent_v, bob, &id, &fail), AUTHN_OK);
    authn_identity_policy(&id, &v);
    assert_int_equal(
        policy_decide_obo(s, &v.subject, v.actor, v.scope_mask, POLICY_PRIV_MODIFY, &o, &d), 0);
    assert_false(d.allowed);
    policy_obo_message(&d, &v.subject, v.actor, &o, msg, sizeof(msg));
    assert_string_equal(msg, "bob@x lacks MODIFY on EXPERIMENT ml.team.churn");
    authn_identity_release(&id);
    policy_snapshot_unref(s);
    free(alice);
    free(bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_audiences_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exchange_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_caller, setup, teardown),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test_setup_teardown(test_policy_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
