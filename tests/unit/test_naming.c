/*
 * mlflow/naming: the three rules, their near-misses, refused names, the configured rules'
 * checks, formatting in the policy language, a round-trip property over generated names,
 * and decisions of the example policies (policies/) on mapped names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/naming.h"

static const struct naming_rules rules = {"main", "default", "users"};

static void expect_map(enum naming_what what, const char *name, size_t len, enum naming_rule rule,
                       const char *cat, const char *sch, const char *obj, const char *home)
{
    struct naming_result r;
    char err[128];
    if (naming_map(&rules, what, name, len, &r, err, sizeof(err)) != 0)
        fail_msg("'%.*s': %s", (int)len, name, err);
    assert_int_equal(r.rule, rule);
    assert_int_equal(r.catalog.len, strlen(cat));
    assert_memory_equal(r.catalog.ptr, cat, r.catalog.len);
    assert_int_equal(r.schema.len, strlen(sch));
    assert_memory_equal(r.schema.ptr, sch, r.schema.len);
    assert_int_equal(r.name.len, strlen(obj));
    assert_memory_equal(r.name.ptr, obj, r.name.len);
    assert_int_equal(r.home_user.len, strlen(home));
    if (r.home_user.len)
        assert_memory_equal(r.home_user.ptr, home, r.home_user.len);
}

#define E(name, rule, cat, sch, obj, home)                                                         \
    expect_map(NAMING_EXPERIMENT, name, sizeof(name) - 1, NAMING_RULE_##rule, cat, sch, obj, home)
#define M(name, rule, cat, sch, obj, home)                                                         \
    expect_map(NAMING_MODEL, name, sizeof(name) - 1, NAMING_RULE_##rule, cat, sch, obj, home)
#define DEF(name) E(name, DEFAULT, "main", "default", name, "")

static void test_qualified(void **state)
{
    E("risk.fraud.training", QUALIFIED, "risk", "fraud", "training", "");
    E("risk.fraud.a.b", QUALIFIED, "risk", "fraud", "a.b", "");
    E("risk.fraud.churn/baseline v2", QUALIFIED, "risk", "fraud", "churn/baseline v2", "");
    E("risk.fraud..", QUALIFIED, "risk", "fraud", ".", "");
    E("risk.fraud. ", QUALIFIED, "risk", "fraud", " ", "");
    E("R_1.s_2.x", QUALIFIED, "R_1", "s_2", "x", "");
    E("Risk.Fraud.x", QUALIFIED, "Risk", "Fraud", "x", ""); /* case-sensitive, kept */
    E("main.default.x", QUALIFIED, "main", "default", "x", "");
    E("a.b.caf\xc3\xa9", QUALIFIED, "a", "b", "caf\xc3\xa9", "");
    M("risk.fraud.scorer", QUALIFIED, "risk", "fraud", "scorer", "");
    /* the home catalog: every schema is its user's home */
    E("users.alice.x", QUALIFIED, "users", "alice", "x", "alice");
    M("users.bob.m", QUALIFIED, "users", "bob", "m", "bob");
}

static void test_home(void **state)
{
    E("/Users/alice@acme.example/churn/baseline", HOME, "users", "alice@acme.example",
      "churn/baseline", "alice@acme.example");
    E("/Users/bob/x", HOME, "users", "bob", "x", "bob");
    E("/Users/bob//x", HOME, "users", "bob", "/x", "bob");
    E("/Users/bob/x/", HOME, "users", "bob", "x/", "bob");
    E("/Users/j\xc3\xb6rg/x", HOME, "users", "j\xc3\xb6rg", "x", "j\xc3\xb6rg");
    E("/Users/john doe/x", HOME, "users", "john doe", "x", "john doe");
    E("/Users/a.b.c/x", HOME, "users", "a.b.c", "x", "a.b.c");
    E("/Users/../x", HOME, "users", "..", "x", "..");
    /* near misses fall to the default rule */
    DEF("/Users//x");
    DEF("/Users/alice/");
    DEF("/Users/alice");
    DEF("/Users/");
    DEF("/Users");
    DEF("/users/alice/x");
    DEF("/USERS/alice/x");
    DEF(" /Users/alice/x");
    DEF("/Users/group:risk/x");
    DEF("/Users/sp:bot/x");
    DEF("/Users/user:bob/x");
    DEF("/Users/a@b:c/x");
    DEF("/Shared/team/x");
    /* models have no home rule */
    M("/Users/alice/m", DEFAULT, "main", "default", "/Users/alice/m", "");
}

static void test_default(void **state)
{
    DEF("training");
    DEF("a..b");
    DEF("a.b.");
    DEF(".a.b");
    DEF("a.b");
    DEF("a.");
    DEF(".");
    DEF("..");
    DEF("...");
    DEF("a-b.c.d");
    DEF("a.b-c.d");
    DEF("a b.c.d");
    DEF("caf\xc3\xa9.b.c");
    DEF("plain experiment \xc3\xa9+&?=#%");
    DEF("`a`.b.c");
    DEF(" ");
    DEF("\xf0\x9f\x98\x80"); /* U+1F600 */
    DEF("\xef\xbf\xbf");     /* U+FFFF is not a control character */
    DEF("\xe2\x80\xa8");     /* U+2028 neither */
    M("scorer", DEFAULT, "main", "default", "scorer", "");
    /* other rules */
    const struct naming_rules other = {"lake", "misc", "home"};
    struct naming_result r;
    char err[128];
    assert_int_equal(naming_map(&other, NAMING_EXPERIMENT, "x", 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.catalog.len, 4);
    assert_memory_equal(r.catalog.ptr, "lake", 4);
    assert_memory_equal(r.schema.ptr, "misc", 4);
    assert_int_equal(naming_map(&other, NAMING_EXPERIMENT, "/Users/u/x", 10, &r, err, sizeof(err)),
                     0);
    assert_memory_equal(r.catalog.ptr, "home", 4);
    assert_int_equal(r.home_user.len, 1);
    assert_int_equal(naming_map(&other, NAMING_EXPERIMENT, "users.u.x", 9, &r, err, sizeof(err)),
                     0);
    assert_int_equal(r.home_user.len, 0); /* "users" is an ordinary catalog here */
}

static void expect_refused(const char *name, size_t len)
{
    struct naming_result r;
    char err[128] = "";
    if (naming_map(&rules, NAMING_EXPERIMENT, name, len, &r, err, sizeof(err)) != -1)
        fail_msg("accepted '%.*s'", (int)len, name);
    assert_true(err[0] != '\0');
    assert_int_equal(naming_map(&rules, NAMING_MODEL, name, len, &r, err, sizeof(err)), -1);
}

#define BAD(name) expect_refused(name, sizeof(name) - 1)

static void test_refused(void **state)
{
    BAD("");
    expect_refused(NULL, 0);
    expect_refused(NULL, 5);
    BAD("a\nb");
    BAD("a\rb");
    BAD("a\tb");
    BAD("\x1b[31m");
    BAD("a\0b");
    BAD("a\x7f");
    BAD("a\xc2\x80");        /* U+0080 (C1) */
    BAD("a\xc2\x9f");        /* U+009F (C1) */
    BAD("/Users/alice/x\n"); /* a valid prefix does not help */
    BAD("risk.fraud.\x01");  /* nor a valid qualified prefix */
    BAD("\xff");             /* not UTF-8 */
    BAD("\xc0\xaf");         /* overlong '/' */
    BAD("\xe0\x80\xaf");     /* overlong '/' */
    BAD("\xf0\x80\x80\xaf"); /* overlong '/' */
    BAD("\xed\xa0\x80");     /* surrogate */
    BAD("\xf4\x90\x80\x80"); /* beyond U+10FFFF */
    BAD("\xf5\x80\x80\x80"); /* invalid lead */
    BAD("ab\xe2\x82");       /* truncated */
    BAD("\x80");             /* lone continuation */
    BAD("\xc3\x28");         /* bad continuation */
    /* the NUL terminator is not part of the name: len counts */
    struct naming_result r;
    char err[128];
    assert_int_equal(naming_map(&rules, NAMING_EXPERIMENT, "ab", 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.name.len, 1);
    /* bad requests */
    assert_int_equal(naming_map(&rules, (enum naming_what)7, "x", 1, &r, err, sizeof(err)), -1);
    assert_int_equal(naming_map(&rules, NAMING_EXPERIMENT, "x", 1, NULL, err, sizeof(err)), -1);
}

static void test_rules_check(void **state)
{
    char err[256];
    assert_int_equal(naming_rules_check(&rules, err, sizeof(err)), 0);
    struct naming_rules bad[] = {
        {NULL, "default", "users"},    {"main", NULL, "users"},       {"main", "default", NULL},
        {"", "default", "users"},      {"main", "", "users"},         {"main", "default", ""},
        {"ma in", "default", "users"}, {"main", "de-fault", "users"}, {"main", "default", "us.ers"},
        {"main", "default", "main"},   {"m\xc3\xa9", "d", "u"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        err[0] = '\0';
        assert_int_equal(naming_rules_check(&bad[i], err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        struct naming_result r;
        assert_int_equal(naming_map(&bad[i], NAMING_EXPERIMENT, "x", 1, &r, err, sizeof(err)), -1);
    }
    assert_int_equal(naming_rules_check(NULL, err, sizeof(err)), -1);
    /* same schema name in both catalogs is fine */
    struct naming_rules ok = {"main", "users", "users"};
    assert_int_equal(naming_rules_check(&ok, err, sizeof(err)), 0);
    assert_true(naming_is_bare_word("a_1", 3));
    assert_false(naming_is_bare_word("a-1", 3));
    assert_false(naming_is_bare_word("", 0));
    assert_false(naming_is_bare_word(NULL, 1));
    assert_true(naming_is_clean_text("x", 1));
    assert_false(naming_is_clean_text("", 0));
    assert_false(naming_is_clean_text(NULL, 1));
}

static void expect_format(const char *name, enum naming_what what, const char *want)
{
    struct naming_result r;
    char err[128], buf[256];
    assert_int_equal(naming_map(&rules, what, name, strlen(name), &r, err, sizeof(err)), 0);
    size_t n = naming_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_format_and_objects(void **state)
{
    expect_format("risk.fraud.training", NAMING_EXPERIMENT, "risk.fraud.training");
    expect_format("/Users/alice@acme.example/churn/baseline", NAMING_EXPERIMENT,
                  "users.`alice@acme.example`.`churn/baseline`");
    expect_format("a..b", NAMING_EXPERIMENT, "main.default.`a..b`");
    expect_format("a`b", NAMING_MODEL, "main.default.`a``b`");
    expect_format("risk.credit.scorecard v2", NAMING_EXPERIMENT, "risk.credit.`scorecard v2`");
    /* truncation: the full length is returned, the buffer stays NUL-terminated */
    struct naming_result r;
    char err[64], small[8];
    assert_int_equal(
        naming_map(&rules, NAMING_EXPERIMENT, "risk.fraud.training", 19, &r, err, sizeof(err)), 0);
    assert_int_equal(naming_format(&r, small, sizeof(small)), 19);
    assert_string_equal(small, "risk.fr");

    struct policy_object o;
    struct policy_str owner = {"bob@x", 5};
    naming_object(&r, NAMING_MODEL, owner, &o);
    assert_int_equal(o.kind, POLICY_KIND_MODEL);
    assert_int_equal(o.owner.len, 5);
    assert_int_equal(o.name.len, 8);
    naming_object(&r, NAMING_EXPERIMENT, owner, &o);
    assert_int_equal(o.kind, POLICY_KIND_EXPERIMENT);
    naming_schema_object(&r, &o);
    assert_int_equal(o.kind, POLICY_KIND_SCHEMA);
    assert_int_equal(o.owner.len, 0);
    assert_int_equal(o.name.len, 0);
    assert_int_equal(
        naming_map(&rules, NAMING_EXPERIMENT, "/Users/carol/x", 14, &r, err, sizeof(err)), 0);
    naming_schema_object(&r, &o);
    assert_int_equal(o.owner.len, 5);
    assert_memory_equal(o.owner.ptr, "carol", 5);
}

/* Property: every clean name maps, and its parts spell the name back. */
static void test_round_trip(void **state)
{
    static const char *const atoms[] = {"a",     "B_1",      ".",  "/",     "/Users/",
                                        "Users", "users",    ":",  "@",     " ",
                                        "-",     "\xc3\xa9", "..", "x.y.z", "`"};
    const size_t na = sizeof(atoms) / sizeof(*atoms);
    unsigned seed = 12345;
    char name[128], back[256], err[128];
    for (int it = 0; it < 200000; it++) {
        size_t len = 0;
        int parts = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;
        for (int p = 0; p < parts; p++) {
            const char *a = atoms[((seed = seed * 1103515245u + 12345u) >> 16) % na];
            size_t al = strlen(a);
            memcpy(name + len, a, al);
            len += al;
        }
        for (int w = 0; w < 2; w++) {
            enum naming_what what = w ? NAMING_MODEL : NAMING_EXPERIMENT;
            struct naming_result r;
            if (naming_map(&rules, what, name, len, &r, err, sizeof(err)) != 0)
                fail_msg("'%.*s': %s", (int)len, name, err);
            assert_true(r.catalog.len > 0 && r.schema.len > 0 && r.name.len > 0);
            size_t n = 0;
            switch (r.rule) {
            case NAMING_RULE_QUALIFIED:
                n = (size_t)snprintf(back, sizeof(back), "%.*s.%.*s.%.*s", (int)r.catalog.len,
                                     r.catalog.ptr, (int)r.schema.len, r.schema.ptr,
                                     (int)r.name.len, r.name.ptr);
                assert_true(naming_is_bare_word(r.catalog.ptr, r.catalog.len));
                assert_true(naming_is_bare_word(r.schema.ptr, r.schema.len));
                break;
            case NAMING_RULE_HOME:
                assert_int_equal(what, NAMING_EXPERIMENT);
                n = (size_t)snprintf(back, sizeof(back), "/Users/%.*s/%.*s", (int)r.schema.len,
                                     r.schema.ptr, (int)r.name.len, r.name.ptr);
                assert_null(memchr(r.schema.ptr, '/', r.schema.len));
                assert_null(memchr(r.schema.ptr, ':', r.schema.len));
                break;
            case NAMING_RULE_DEFAULT:
                n = (size_t)snprintf(back, sizeof(back), "%.*s", (int)r.name.len, r.name.ptr);
                assert_int_equal(r.catalog.len, 4);
                assert_memory_equal(r.catalog.ptr, "main", 4);
                assert_int_equal(r.schema.len, 7);
                assert_memory_equal(r.schema.ptr, "default", 7);
                break;
            }
            assert_int_equal(n, len);
            assert_memory_equal(back, name, len);
            bool in_home = r.catalog.len == 5 && memcmp(r.catalog.ptr, "users", 5) == 0;
            assert_int_equal(r.home_user.len > 0, in_home);
        }
    }
}

/* The example organisation's policy on mapped names: home schemas belong to their users. */
static void test_example_policy(void **state)
{
    const char *src = getenv("WARDEN_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/policies", src ? src : ".");
    const char *paths[] = {dir};
    struct policy_diag diag;
    policy_diag_init(&diag);
    struct policy_snapshot *s = policy_compile(paths, 1, &diag);
    if (!s) {
        char buf[2048];
        policy_diag_format(&diag, buf, sizeof(buf));
        fail_msg("%s", buf);
    }
    policy_diag_deinit(&diag);
    static const char *const ds[] = {"data-scientists"}, *const mkt[] = {"marketing"};
    struct policy_subject alice = {"alice@acme.example", false, ds, 1};
    struct policy_subject bob = {"bob@acme.example", false, ds, 1};
    struct policy_subject erin = {"erin@acme.example", false, mkt, 1};
    struct {
        struct policy_subject *who;
        enum policy_priv priv;
        const char *name;
        bool schema; /* decide on the schema (creation) */
        bool allowed;
    } rows[] = {
        {&alice, POLICY_PRIV_CREATE_EXPERIMENT, "/Users/alice@acme.example/new", true, true},
        {&bob, POLICY_PRIV_CREATE_EXPERIMENT, "/Users/alice@acme.example/new", true, false},
        {&erin, POLICY_PRIV_CREATE_EXPERIMENT, "/Users/erin@acme.example/new", true, true},
        {&erin, POLICY_PRIV_CREATE_EXPERIMENT, "/Users/alice@acme.example/x", true, false},
        {&bob, POLICY_PRIV_READ, "/Users/alice@acme.example/churn/baseline", false, true},
        {&bob, POLICY_PRIV_MODIFY, "/Users/alice@acme.example/churn/baseline", false, false},
        {&alice, POLICY_PRIV_MANAGE, "/Users/alice@acme.example/anything", false, true},
        {&erin, POLICY_PRIV_MANAGE, "/Users/erin@acme.example/anything", false, true},
        {&erin, POLICY_PRIV_READ, "/Users/alice@acme.example/anything", false, false},
        {&erin, POLICY_PRIV_CREATE_EXPERIMENT, "shared.sandbox.mine", true, true},
        {&erin, POLICY_PRIV_CREATE_EXPERIMENT, "just a name", true, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
        struct naming_result r;
        char err[128];
        assert_int_equal(naming_map(&rules, NAMING_EXPERIMENT, rows[i].name, strlen(rows[i].name),
                                    &r, err, sizeof(err)),
                         0);
        struct policy_object o;
        if (rows[i].schema) {
            naming_schema_object(&r, &o);
        } else {
            struct policy_str none = {NULL, 0};
            /* no creator stamp: the home user owns it */
            naming_object(&r, NAMING_EXPERIMENT, r.home_user.len ? r.home_user : none, &o);
        }
        struct policy_decision d;
        assert_int_equal(policy_decide(s, rows[i].who, rows[i].priv, &o, &d), 0);
        if (d.allowed != rows[i].allowed)
            fail_msg("row %zu: %s %s %s: got %d", i, rows[i].who->user,
                     policy_priv_name(rows[i].priv), rows[i].name, d.allowed);
    }
    policy_snapshot_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qualified),   cmocka_unit_test(test_home),
        cmocka_unit_test(test_default),     cmocka_unit_test(test_refused),
        cmocka_unit_test(test_rules_check), cmocka_unit_test(test_format_and_objects),
        cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_example_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
