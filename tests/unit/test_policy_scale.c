/*
 * Unit tests for the policy engine's look-up structures (gateway/policy/compile.c, eval.c):
 * large policies whose decisions and explanation fields are checked one by one, names that
 * only the securable hierarchy tells apart, names of every length (key records crossing cache
 * lines), token group lists longer than the prefetched ones, grants reached through policy
 * group closures, and owners that hold no grant (the "names no grant" skips must not hide
 * them). The semantics themselves are covered by test_policy_eval and test_policy_property.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

struct text {
    char *p;
    size_t len, cap;
    unsigned lines;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            break;
        }
        t->cap = t->cap ? t->cap * 2 : 4096;
        while (t->cap <= t->len + (size_t)n)
            t->cap *= 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    for (const char *c = fmt; *c; c++)
        t->lines += *c == '\n';
}

static struct policy_snapshot *compile(struct text *t)
{
    struct policy_diag d;
    struct policy_text pt = {"big.policy", t->p ? t->p : "", t->len};
    policy_diag_init(&d);
    struct policy_snapshot *s = policy_compile_buffers(&pt, 1, &d);
    if (!s)
        fail_msg("policy refused: %s", d.count ? d.v[0].text : "?");
    policy_diag_deinit(&d);
    return s;
}

static struct policy_str sv(const char *s)
{
    struct policy_str v = {s, s ? strlen(s) : 0};
    return v;
}

static struct policy_decision decide(const struct policy_snapshot *s, const char *user,
                                     const char *const *groups, size_t ngroups,
                                     enum policy_priv priv, enum policy_kind kind, const char *c,
                                     const char *sc, const char *n)
{
    struct policy_subject who = {user, false, groups, ngroups};
    struct policy_object o = {kind, sv(c), sv(sc), sv(n), {NULL, 0}};
    struct policy_decision d;
    assert_int_equal(policy_decide(s, &who, priv, &o, &d), 0);
    return d;
}

/* 20,000 users, each with READ on its own experiment (line 3 + i) and APPLY TAG on the model
 * of the same name; traversal for everyone through a token group. */
static void test_many_grants_exact_sources(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct text t = {0};
    add(&t, "GRANT USE CATALOG, USE SCHEMA ON CATALOG c0 TO `group:all`;\n");
    add(&t, "GRANT USE CATALOG, USE SCHEMA ON CATALOG c1 TO `group:all`;\n");
    for (unsigned i = 0; i < N; i++)
        add(&t, "GRANT READ ON EXPERIMENT c%u.s%u.e%u TO `u%u@x`;\n", i % 2, i % 13, i, i);
    for (unsigned i = 0; i < N; i++)
        add(&t, "GRANT APPLY TAG ON MODEL c%u.s%u.e%u TO `u%u@x`;\n", i % 2, i % 13, i, i);
    struct policy_snapshot *s = compile(&t);
    assert_int_equal(policy_snapshot_grant_count(s), 4 + 2 * N); /* two per first line */
    const char *all[] = {"all"};
    for (unsigned i = 0; i < N; i += 7) {
        char user[32], cat[8], sch[8], exp[16], other[16];
        snprintf(user, sizeof(user), "u%u@x", i);
        snprintf(cat, sizeof(cat), "c%u", i % 2);
        snprintf(sch, sizeof(sch), "s%u", i % 13);
        snprintf(exp, sizeof(exp), "e%u", i);
        snprintf(other, sizeof(other), "e%u", (i + 26) % N);
        struct policy_decision d =
            decide(s, user, all, 1, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, cat, sch, exp);
        assert_true(d.allowed);
        assert_int_equal(d.reason, POLICY_REASON_GRANT);
        assert_int_equal(d.source.line, 3 + i);
        assert_string_equal(d.source.file, "big.policy");
        assert_int_equal(d.inherited_from, POLICY_KIND_EXPERIMENT);
        assert_string_equal(d.principal, user);
        /* Same catalog and schema, somebody else's experiment. */
        d = decide(s, user, all, 1, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, cat, sch, other);
        assert_false(d.allowed);
        assert_int_equal(d.reason, POLICY_REASON_NO_PRIVILEGE);
        assert_int_equal(d.missing, POLICY_PRIV_READ);
        assert_int_equal(d.missing_on, POLICY_KIND_EXPERIMENT);
        /* The model of the same name is another securable. */
        d = decide(s, user, all, 1, POLICY_PRIV_APPLY_TAG, POLICY_KIND_MODEL, cat, sch, exp);
        assert_true(d.allowed);
        assert_int_equal(d.source.line, 3 + N + i);
        d = decide(s, user, all, 1, POLICY_PRIV_APPLY_TAG, POLICY_KIND_EXPERIMENT, cat, sch, exp);
        assert_false(d.allowed);
        /* BROWSE is implied by READ; without the token group the catalog is unreachable. */
        d = decide(s, user, NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_EXPERIMENT, cat, sch, exp);
        assert_true(d.allowed);
        assert_int_equal(d.matched, POLICY_PRIV_READ);
        d = decide(s, user, NULL, 0, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, cat, sch, exp);
        assert_false(d.allowed);
        assert_int_equal(d.reason, POLICY_REASON_NO_TRAVERSE);
        assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
        /* In the other catalog nothing is found. */
        snprintf(cat, sizeof(cat), "c%u", 1 - i % 2);
        d = decide(s, user, all, 1, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, cat, sch, exp);
        assert_false(d.allowed);
        assert_int_equal(d.missing_on, POLICY_KIND_EXPERIMENT);
    }
    assert_true(policy_snapshot_memory(s) > 0);
    policy_snapshot_unref(s);
    free(t.p);
}

/* Paths whose concatenated parts are equal, and names reused at other levels and types. */
static void test_paths_told_apart(void **state)
{
    (void)state;
    struct text t = {0};
    add(&t, "GRANT USE CATALOG, USE SCHEMA ON CATALOG a TO `u@x`;\n"
            "GRANT USE CATALOG, USE SCHEMA ON CATALOG ab TO `u@x`;\n"
            "GRANT READ ON SCHEMA a.bc TO `u@x`;\n"
            "GRANT MODIFY ON EXPERIMENT ab.c.x TO `u@x`;\n"
            "GRANT EXECUTE ON MODEL a.a.a TO `u@x`;\n"
            "GRANT BROWSE ON CATALOG bc TO `u@x`;\n");
    struct policy_snapshot *s = compile(&t);
    struct policy_decision d;
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "a", "bc", "x");
    assert_true(d.allowed);
    assert_int_equal(d.inherited_from, POLICY_KIND_SCHEMA);
    assert_int_equal(d.source.line, 3);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "ab", "c", "x");
    assert_false(d.allowed);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_MODIFY, POLICY_KIND_EXPERIMENT, "a", "bc", "x");
    assert_false(d.allowed);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_MODIFY, POLICY_KIND_EXPERIMENT, "ab", "c", "x");
    assert_true(d.allowed);
    assert_int_equal(d.source.line, 4);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_EXECUTE, POLICY_KIND_MODEL, "a", "a", "a");
    assert_true(d.allowed);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_SCHEMA, "a", "a", NULL);
    assert_true(d.allowed); /* USE SCHEMA, inherited from catalog a, applies to a schema */
    assert_int_equal(d.matched, POLICY_PRIV_USE_SCHEMA);
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_EXPERIMENT, "a", "a", "a");
    assert_false(d.allowed); /* EXECUTE is on the model a.a.a */
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_CATALOG, "bc", NULL, NULL);
    assert_true(d.allowed);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_SCHEMA, "a", "bc", NULL);
    assert_true(d.allowed);
    d = decide(s, "u@x", NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_SCHEMA, "bc", "a", NULL);
    assert_true(d.allowed); /* inherited from CATALOG bc */
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    policy_snapshot_unref(s);
    free(t.p);
}

/* Names of every length from 1 to 300 bytes, for users, groups, catalogs, schemas and
 * experiments, so that key records start at every offset of a cache line. */
static void test_name_lengths(void **state)
{
    (void)state;
    enum { MAXLEN = 300 };
    static char name[MAXLEN + 1];
    struct text t = {0};
    for (int len = 1; len <= MAXLEN; len++) {
        memset(name, 'a' + len % 26, (size_t)len);
        name[len] = '\0';
        name[len - 1] = (char)('0' + len % 10);
        add(&t, "GRANT USE CATALOG, USE SCHEMA ON CATALOG `%s` TO `group:%s`;\n", name, name);
        add(&t, "GRANT READ ON EXPERIMENT `%s`.`%s`.`%s` TO `%s@x`;\n", name, name, name, name);
    }
    struct policy_snapshot *s = compile(&t);
    for (int len = 1; len <= MAXLEN; len++) {
        char user[MAXLEN + 8];
        memset(name, 'a' + len % 26, (size_t)len);
        name[len] = '\0';
        name[len - 1] = (char)('0' + len % 10);
        snprintf(user, sizeof(user), "%s@x", name);
        const char *g[] = {name};
        struct policy_decision d =
            decide(s, user, g, 1, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, name, name, name);
        assert_true(d.allowed);
        assert_int_equal(d.source.line, 2 * len);
        assert_string_equal(d.principal, user);
        /* One byte shorter: another name at every level. */
        name[len - 1] = '\0';
        if (len > 1) {
            d = decide(s, user, g, 1, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, name, name, name);
            assert_false(d.allowed);
            assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
        }
    }
    policy_snapshot_unref(s);
    free(t.p);
}

/* More token groups than a decision prefetches: a grant held only by the 41st, and the first
 * of two granting groups (in token order) is the one reported. */
static void test_many_token_groups(void **state)
{
    (void)state;
    struct text t = {0};
    for (int i = 0; i < 60; i++)
        add(&t, "CREATE GROUP g%d;\n", i);
    add(&t, "GRANT USE CATALOG, USE SCHEMA ON CATALOG c TO `group:g40`;\n"); /* line 61 */
    add(&t, "GRANT READ ON SCHEMA c.s TO `group:g50`;\n");                   /* line 62 */
    add(&t, "GRANT READ ON SCHEMA c.s TO `group:g45`;\n");                   /* line 63 */
    struct policy_snapshot *s = compile(&t);
    char names[60][8];
    const char *g[70];
    size_t n = 0;
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof(names[i]), "g%d", i);
        g[n++] = names[i];
        if (i % 6 == 0)
            g[n++] = "unknown"; /* not in the policy */
    }
    struct policy_decision d =
        decide(s, "nobody@x", g, n, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_true(d.allowed);
    assert_int_equal(d.inherited_from, POLICY_KIND_SCHEMA);
    assert_string_equal(d.principal, "group:g45");
    assert_int_equal(d.source.line, 63);
    /* Reversed token order: g50 comes first. */
    for (size_t i = 0; i < n / 2; i++) {
        const char *x = g[i];
        g[i] = g[n - 1 - i];
        g[n - 1 - i] = x;
    }
    d = decide(s, "nobody@x", g, n, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_true(d.allowed);
    assert_string_equal(d.principal, "group:g50");
    /* Without g40 (the first 40 groups only) the catalog is unreachable. */
    for (int i = 0; i < 40; i++)
        g[i] = names[i];
    d = decide(s, "nobody@x", g, 40, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_TRAVERSE);
    policy_snapshot_unref(s);
    free(t.p);
}

/* Grants reached only through policy groups (nested), next to many unrelated grants. */
static void test_closure_grants(void **state)
{
    (void)state;
    struct text t = {0};
    add(&t, "CREATE GROUP inner WITH MEMBERS `alice@x`;\n"
            "CREATE GROUP outer WITH MEMBERS `group:inner`;\n"
            "CREATE GROUP top WITH MEMBERS `group:outer`, `sp:bot`;\n"
            "GRANT USE CATALOG ON CATALOG c TO `group:top`;\n"
            "GRANT USE SCHEMA ON SCHEMA c.s TO `group:outer`;\n"
            "GRANT MODIFY ON EXPERIMENT c.s.e TO `group:inner`;\n");
    for (int i = 0; i < 5000; i++)
        add(&t, "GRANT READ ON EXPERIMENT c.s.x%d TO `group:other%d`;\n", i, i);
    struct policy_snapshot *s = compile(&t);
    struct policy_decision d =
        decide(s, "alice@x", NULL, 0, POLICY_PRIV_MODIFY, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_true(d.allowed);
    assert_string_equal(d.principal, "group:inner");
    assert_int_equal(d.source.line, 6);
    struct policy_subject bot = {"bot", true, NULL, 0};
    struct policy_object o = {POLICY_KIND_EXPERIMENT, sv("c"), sv("s"), sv("e"), {NULL, 0}};
    assert_int_equal(policy_decide(s, &bot, POLICY_PRIV_MODIFY, &o, &d), 0);
    assert_false(d.allowed);
    assert_int_equal(d.missing, POLICY_PRIV_USE_SCHEMA); /* top holds USE CATALOG only */
    assert_int_equal(d.missing_on, POLICY_KIND_SCHEMA);
    policy_snapshot_unref(s);
    free(t.p);
}

/* Owners that no grant names, on securables that no grant names. */
static void test_owners_without_grants(void **state)
{
    (void)state;
    struct text t = {0};
    add(&t, "CREATE GROUP owners WITH MEMBERS `bob@x`;\n"
            "ALTER CATALOG c OWNER TO `group:owners`;\n"
            "ALTER EXPERIMENT d.s.e OWNER TO `carol@x`;\n"
            "GRANT USE CATALOG ON CATALOG d TO `carol@x`;\n");
    struct policy_snapshot *s = compile(&t);
    struct policy_decision d =
        decide(s, "bob@x", NULL, 0, POLICY_PRIV_MANAGE, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_PARENT_OWNER);
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    assert_string_equal(d.principal, "group:owners");
    assert_int_equal(d.source.line, 2);
    d = decide(s, "bob@x", NULL, 0, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_false(d.allowed);
    assert_int_equal(d.missing, POLICY_PRIV_READ);
    /* carol owns d.s.e but has no USE SCHEMA on d.s. */
    d = decide(s, "carol@x", NULL, 0, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "d", "s", "e");
    assert_false(d.allowed);
    assert_int_equal(d.missing, POLICY_PRIV_USE_SCHEMA);
    d = decide(s, "carol@x", NULL, 0, POLICY_PRIV_BROWSE, POLICY_KIND_EXPERIMENT, "d", "s", "e");
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_OWNER);
    assert_int_equal(d.source.line, 3);
    policy_snapshot_unref(s);
    free(t.p);
}

/* Policies without grants: nothing but the admin group and ownership from the request. */
static void test_no_grants(void **state)
{
    (void)state;
    struct text t = {0};
    struct policy_snapshot *s = compile(&t);
    struct policy_decision d =
        decide(s, "a@x", NULL, 0, POLICY_PRIV_READ, POLICY_KIND_EXPERIMENT, "c", "s", "e");
    assert_false(d.allowed);
    assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
    struct policy_subject who = {"a@x", false, NULL, 0};
    struct policy_object o = {POLICY_KIND_EXPERIMENT, sv("c"), sv("s"), sv("e"), sv("a@x")};
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_BROWSE, &o, &d), 0);
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_OWNER);
    assert_null(d.principal);
    policy_snapshot_unref(s);
    add(&t, "SET ADMIN GROUP root;\n");
    s = compile(&t);
    const char *g[] = {"root"};
    d = decide(s, "a@x", g, 1, POLICY_PRIV_MANAGE, POLICY_KIND_MODEL, "c", "s", "m");
    assert_true(d.allowed);
    assert_true(d.admin);
    assert_int_equal(d.reason, POLICY_REASON_ADMIN);
    assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
    policy_snapshot_unref(s);
    free(t.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_grants_exact_sources),
        cmocka_unit_test(test_paths_told_apart),
        cmocka_unit_test(test_name_lengths),
        cmocka_unit_test(test_many_token_groups),
        cmocka_unit_test(test_closure_grants),
        cmocka_unit_test(test_owners_without_grants),
        cmocka_unit_test(test_no_grants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
