/*
 * Unit tests for the policy evaluator (gateway/policy/eval.c): one test per semantic rule of
 * policies/README.md, the decision's fields, explain's text, invalid queries, and the
 * policy store (gateway/policy/store.c): reload, refusal keeping the old snapshot,
 * generations, change detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"
#include "policy/store.h"

static struct policy_snapshot *snap(const char *src)
{
    struct policy_diag d;
    struct policy_text t = {"p.policy", src, strlen(src)};
    policy_diag_init(&d);
    struct policy_snapshot *s = policy_compile_buffers(&t, 1, &d);
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

/* Builds an object from "TYPE" and a dotted name without quoting (tests use plain names). */
static struct policy_object obj_of(enum policy_kind k, const char *c, const char *s, const char *n,
                                   const char *owner)
{
    struct policy_object o = {
        .kind = k, .catalog = sv(c), .schema = sv(s), .name = sv(n), .owner = sv(owner)};
    return o;
}

/* Decides for user (groups comma-separated or NULL). */
static struct policy_decision decide(const struct policy_snapshot *s, const char *user,
                                     const char *groups, enum policy_priv priv,
                                     struct policy_object o)
{
    const char *g[16];
    char buf[256] = "";
    size_t n = 0;
    bool sp = strncmp(user, "sp:", 3) == 0;
    if (groups) {
        snprintf(buf, sizeof(buf), "%s", groups);
        for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            g[n++] = t;
    }
    struct policy_subject who = {sp ? user + 3 : user, sp, g, n};
    struct policy_decision d;
    assert_int_equal(policy_decide(s, &who, priv, &o, &d), 0);
    return d;
}

#define EXP(c, s, n) obj_of(POLICY_KIND_EXPERIMENT, c, s, n, NULL)
#define MOD(c, s, n) obj_of(POLICY_KIND_MODEL, c, s, n, NULL)
#define SCH(c, s)    obj_of(POLICY_KIND_SCHEMA, c, s, NULL, NULL)
#define CAT(c)       obj_of(POLICY_KIND_CATALOG, c, NULL, NULL, NULL)

static const char *base = "GRANT USE CATALOG ON CATALOG c TO `group:t`;\n"
                          "GRANT USE SCHEMA ON SCHEMA c.s TO `group:t`;\n";

static struct policy_snapshot *with_base(const char *more)
{
    char src[4096];
    snprintf(src, sizeof(src), "%s%s", base, more);
    return snap(src);
}

static void test_default_deny(void **state)
{
    struct policy_snapshot *s = snap("");
    struct policy_decision d = decide(s, "a@x", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_false(d.admin);
    assert_int_equal(d.reason, POLICY_REASON_NO_TRAVERSE);
    assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
    assert_int_equal(d.missing_on, POLICY_KIND_CATALOG);
    assert_string_equal(d.version, policy_snapshot_version(s));
    policy_snapshot_unref(s);
    /* Traversal alone grants nothing. */
    s = with_base("");
    d = decide(s, "a@x", "t", POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_PRIVILEGE);
    assert_int_equal(d.missing, POLICY_PRIV_READ);
    assert_int_equal(d.missing_on, POLICY_KIND_EXPERIMENT);
    policy_snapshot_unref(s);
}

static void test_inheritance(void **state)
{
    struct policy_snapshot *s = with_base("GRANT READ ON CATALOG c TO `group:t`;\n"
                                          "GRANT MODIFY ON SCHEMA c.s TO `group:t`;\n"
                                          "GRANT APPLY TAG ON MODEL c.s.m TO `group:t`;\n");
    /* Catalog grant reaches objects that the policy never names (present and future). */
    struct policy_decision d = decide(s, "a@x", "t", POLICY_PRIV_READ, EXP("c", "s", "new"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_GRANT);
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    assert_int_equal(d.matched, POLICY_PRIV_READ);
    assert_string_equal(d.principal, "group:t");
    assert_string_equal(d.source.file, "p.policy");
    assert_int_equal(d.source.line, 3);
    assert_int_equal(d.source.col, 1);
    d = decide(s, "a@x", "t", POLICY_PRIV_MODIFY, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_int_equal(d.inherited_from, POLICY_KIND_SCHEMA);
    assert_int_equal(d.source.line, 4);
    d = decide(s, "a@x", "t", POLICY_PRIV_APPLY_TAG, MOD("c", "s", "m"));
    assert_true(d.allowed);
    assert_int_equal(d.inherited_from, POLICY_KIND_MODEL);
    /* Not upward, not sideways. */
    d = decide(s, "a@x", "t", POLICY_PRIV_APPLY_TAG, MOD("c", "s", "m2"));
    assert_false(d.allowed);
    d = decide(s, "a@x", "t", POLICY_PRIV_MODIFY, SCH("c", "s2"));
    assert_false(d.allowed);
    /* Names are case-sensitive. */
    d = decide(s, "a@x", "t", POLICY_PRIV_READ, EXP("C", "s", "e"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_traversal(void **state)
{
    struct policy_snapshot *s = snap("GRANT READ ON SCHEMA c.s TO u;\n"
                                     "GRANT USE CATALOG ON CATALOG c TO v;\n"
                                     "GRANT READ ON SCHEMA c.s TO v;\n"
                                     "GRANT USE CATALOG, USE SCHEMA ON CATALOG c TO w;\n"
                                     "GRANT READ ON EXPERIMENT c.s.e TO w;\n");
    struct policy_decision d = decide(s, "u", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_TRAVERSE);
    assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
    d = decide(s, "v", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_TRAVERSE);
    assert_int_equal(d.missing, POLICY_PRIV_USE_SCHEMA);
    assert_int_equal(d.missing_on, POLICY_KIND_SCHEMA);
    /* USE SCHEMA granted on the catalog covers every schema in it. */
    d = decide(s, "w", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_true(d.allowed);
    /* A schema-level privilege needs USE CATALOG and USE SCHEMA too. */
    d = decide(s, "v", NULL, POLICY_PRIV_READ, SCH("c", "s"));
    assert_false(d.allowed);
    assert_int_equal(d.missing, POLICY_PRIV_USE_SCHEMA);
    /* Asking USE SCHEMA itself needs USE CATALOG only. */
    d = decide(s, "w", NULL, POLICY_PRIV_USE_SCHEMA, SCH("c", "zz"));
    assert_true(d.allowed);
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    d = decide(s, "u", NULL, POLICY_PRIV_USE_CATALOG, CAT("c"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_PRIVILEGE);
    d = decide(s, "v", NULL, POLICY_PRIV_USE_CATALOG, CAT("c"));
    assert_true(d.allowed);
    policy_snapshot_unref(s);
}

static void test_owner_of_object(void **state)
{
    struct policy_snapshot *s = with_base("ALTER EXPERIMENT c.s.e OWNER TO `a@x`;\n"
                                          "ALTER MODEL c.s.m OWNER TO `group:owners`;\n");
    for (int p = 0; p < POLICY_PRIV_COUNT; p++) {
        if (!policy_priv_applies((enum policy_priv)p, POLICY_KIND_EXPERIMENT) ||
            p == POLICY_PRIV_ALL_PRIVILEGES)
            continue;
        struct policy_decision d = decide(s, "a@x", "t", (enum policy_priv)p, EXP("c", "s", "e"));
        assert_true(d.allowed);
        assert_int_equal(d.reason, POLICY_REASON_OWNER);
        assert_int_equal(d.source.line, 3);
        assert_string_equal(d.principal, "a@x");
    }
    /* The owner still needs to reach the object. */
    struct policy_decision d = decide(s, "a@x", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_TRAVERSE);
    /* Group ownership: token group. */
    d = decide(s, "b@x", "t,owners", POLICY_PRIV_MANAGE, MOD("c", "s", "m"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_OWNER);
    assert_string_equal(d.principal, "group:owners");
    policy_snapshot_unref(s);
}

static void test_owner_from_request(void **state)
{
    struct policy_snapshot *s = with_base("ALTER EXPERIMENT c.s.fixed OWNER TO `p@x`;\n"
                                          "CREATE GROUP team WITH MEMBERS `m@x`;\n");
    struct policy_decision d = decide(s, "r@x", "t", POLICY_PRIV_MODIFY,
                                      obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "r@x"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_OWNER);
    assert_null(d.source.file);
    assert_null(d.principal);
    d = decide(s, "q@x", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "r@x"));
    assert_false(d.allowed);
    /* A service principal named like a user is not that user. */
    d = decide(s, "sp:r@x", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "r@x"));
    assert_false(d.allowed);
    d = decide(s, "sp:bot", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "sp:bot"));
    assert_true(d.allowed);
    /* Group owner recorded on the object: token group and policy-declared group. */
    d = decide(s, "z@x", "t,g1", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "group:g1"));
    assert_true(d.allowed);
    d = decide(s, "m@x", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "group:team"));
    assert_true(d.allowed);
    /* The policy's ALTER ... OWNER TO wins over the owner recorded on the object. */
    d = decide(s, "r@x", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "fixed", "r@x"));
    assert_false(d.allowed);
    d = decide(s, "p@x", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "fixed", "r@x"));
    assert_true(d.allowed);
    assert_int_equal(d.source.line, 3);
    /* A malformed recorded owner matches nobody. */
    d = decide(s, "r@x", "t", POLICY_PRIV_MODIFY,
               obj_of(POLICY_KIND_EXPERIMENT, "c", "s", "e", "svc:r@x"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_owner_of_container(void **state)
{
    struct policy_snapshot *s = snap("ALTER CATALOG c OWNER TO `co@x`;\n"
                                     "ALTER SCHEMA c.s OWNER TO `so@x`;\n"
                                     "GRANT USE CATALOG ON CATALOG c TO `so@x`;\n");
    /* Catalog owner: reaches every schema, manages everything, holds no data privilege. */
    struct policy_decision d = decide(s, "co@x", NULL, POLICY_PRIV_MANAGE, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_PARENT_OWNER);
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG); /* the owned ancestor */
    d = decide(s, "co@x", NULL, POLICY_PRIV_USE_SCHEMA, SCH("c", "other"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_PARENT_OWNER);
    d = decide(s, "co@x", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_PRIVILEGE);
    d = decide(s, "co@x", NULL, POLICY_PRIV_BROWSE, EXP("c", "s", "e"));
    assert_true(d.allowed);
    d = decide(s, "co@x", NULL, POLICY_PRIV_CREATE_MODEL, CAT("c"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_OWNER);
    /* Schema owner: owns the schema (USE SCHEMA, CREATE ...), manages its objects, but needs
     * USE CATALOG on the catalog like everyone else. */
    d = decide(s, "so@x", NULL, POLICY_PRIV_CREATE_EXPERIMENT, SCH("c", "s"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_OWNER);
    d = decide(s, "so@x", NULL, POLICY_PRIV_MANAGE, MOD("c", "s", "m"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_PARENT_OWNER);
    d = decide(s, "so@x", NULL, POLICY_PRIV_EXECUTE, MOD("c", "s", "m"));
    assert_false(d.allowed);
    d = decide(s, "so@x", NULL, POLICY_PRIV_MANAGE, SCH("c", "t"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
    s = snap("ALTER SCHEMA c.s OWNER TO `so@x`;\n");
    d = decide(s, "so@x", NULL, POLICY_PRIV_MANAGE, SCH("c", "s"));
    assert_false(d.allowed);
    assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG);
    policy_snapshot_unref(s);
}

static void test_manage_and_all_privileges(void **state)
{
    struct policy_snapshot *s = snap("GRANT ALL PRIVILEGES ON CATALOG c TO a;\n"
                                     "GRANT MANAGE ON EXPERIMENT c.s.e TO a;\n"
                                     "GRANT USE CATALOG, USE SCHEMA ON CATALOG c TO m;\n"
                                     "GRANT MANAGE ON SCHEMA c.s TO m;\n");
    /* ALL PRIVILEGES expands to everything that applies, including traversal ... */
    for (int p = 0; p < POLICY_PRIV_MANAGE; p++) {
        if (!policy_priv_applies((enum policy_priv)p, POLICY_KIND_MODEL))
            continue;
        struct policy_decision d = decide(s, "a", NULL, (enum policy_priv)p, MOD("c", "s", "m"));
        assert_true(d.allowed);
        assert_int_equal(d.matched, POLICY_PRIV_ALL_PRIVILEGES);
        assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    }
    /* ... but not MANAGE. */
    struct policy_decision d = decide(s, "a", NULL, POLICY_PRIV_MANAGE, MOD("c", "s", "m"));
    assert_false(d.allowed);
    d = decide(s, "a", NULL, POLICY_PRIV_MANAGE, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_int_equal(d.matched, POLICY_PRIV_MANAGE);
    /* MANAGE on a schema lets a non-owner manage it and its children, without data access. */
    d = decide(s, "m", NULL, POLICY_PRIV_MANAGE, EXP("c", "s", "x"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_GRANT);
    d = decide(s, "m", NULL, POLICY_PRIV_READ, EXP("c", "s", "x"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_browse(void **state)
{
    struct policy_snapshot *s = snap("GRANT READ ON EXPERIMENT c.s.e TO r;\n"
                                     "GRANT USE CATALOG ON CATALOG c TO u;\n"
                                     "GRANT BROWSE ON CATALOG c TO b;\n"
                                     "GRANT EXECUTE ON SCHEMA c.s TO x;\n");
    /* Any privilege that applies to the object implies BROWSE, without traversal. */
    struct policy_decision d = decide(s, "r", NULL, POLICY_PRIV_BROWSE, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_int_equal(d.matched, POLICY_PRIV_READ);
    d = decide(s, "r", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    /* BROWSE granted on a catalog applies downward. */
    d = decide(s, "b", NULL, POLICY_PRIV_BROWSE, MOD("c", "s", "m"));
    assert_true(d.allowed);
    assert_int_equal(d.matched, POLICY_PRIV_BROWSE);
    assert_int_equal(d.inherited_from, POLICY_KIND_CATALOG);
    /* USE CATALOG lets one see the catalog, not what is inside. */
    d = decide(s, "u", NULL, POLICY_PRIV_BROWSE, CAT("c"));
    assert_true(d.allowed);
    d = decide(s, "u", NULL, POLICY_PRIV_BROWSE, EXP("c", "s", "e"));
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_NO_PRIVILEGE);
    assert_int_equal(d.missing, POLICY_PRIV_BROWSE);
    /* EXECUTE (a model privilege) implies BROWSE on models, not on experiments. */
    d = decide(s, "x", NULL, POLICY_PRIV_BROWSE, MOD("c", "s", "m"));
    assert_true(d.allowed);
    d = decide(s, "x", NULL, POLICY_PRIV_BROWSE, EXP("c", "s", "e"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_admin(void **state)
{
    struct policy_snapshot *s =
        with_base("SET ADMIN GROUP admins;\n"
                  "CREATE GROUP admins WITH MEMBERS `root@x`, `group:sre`;\n"
                  "GRANT READ ON CATALOG c TO `group:t`;\n");
    struct policy_decision d = decide(s, "root@x", NULL, POLICY_PRIV_MANAGE, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_true(d.admin);
    assert_int_equal(d.reason, POLICY_REASON_ADMIN);
    assert_int_equal(d.missing, POLICY_PRIV_USE_CATALOG); /* what a non-admin would miss */
    d = decide(s, "p@x", "sre", POLICY_PRIV_MODIFY, EXP("z", "s", "e"));
    assert_true(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_ADMIN);
    d = decide(s, "q@x", "admins", POLICY_PRIV_MODIFY, EXP("z", "s", "e"));
    assert_true(d.allowed);
    assert_true(d.admin);
    /* An admin who also holds the grant: allowed by the grant, still flagged as admin. */
    d = decide(s, "root@x", "t", POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_true(d.admin);
    assert_int_equal(d.reason, POLICY_REASON_GRANT);
    d = decide(s, "n@x", "t", POLICY_PRIV_MODIFY, EXP("c", "s", "e"));
    assert_false(d.admin);
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_groups(void **state)
{
    struct policy_snapshot *s =
        with_base("CREATE GROUP ds WITH MEMBERS `group:risk`, `group:mkt`;\n"
                  "CREATE GROUP all WITH MEMBERS `group:ds`;\n"
                  "CREATE GROUP t WITH MEMBERS `a@x`, `sp:bot`;\n"
                  "ALTER GROUP t ADD MEMBERS `group:all`;\n"
                  "CREATE GROUP loop1 WITH MEMBERS `group:loop2`;\n"
                  "CREATE GROUP loop2 WITH MEMBERS `group:loop1`, `l@x`;\n"
                  "GRANT READ ON SCHEMA c.s TO `group:all`;\n"
                  "GRANT MODIFY ON SCHEMA c.s TO `group:t`;\n"
                  "GRANT USE CATALOG, USE SCHEMA, READ ON CATALOG c TO `group:loop1`;\n");
    /* Token group -> policy groups, transitively (risk -> ds -> all -> t). */
    struct policy_decision d = decide(s, "z@x", "risk", POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_true(d.allowed);
    assert_string_equal(d.principal, "group:all");
    d = decide(s, "z@x", "risk", POLICY_PRIV_MODIFY, EXP("c", "s", "e"));
    assert_true(d.allowed);
    /* Policy-declared membership of a user and of a service principal. */
    d = decide(s, "a@x", NULL, POLICY_PRIV_MODIFY, EXP("c", "s", "e"));
    assert_true(d.allowed);
    d = decide(s, "sp:bot", NULL, POLICY_PRIV_MODIFY, EXP("c", "s", "e"));
    assert_true(d.allowed);
    d = decide(s, "bot", NULL, POLICY_PRIV_MODIFY, EXP("c", "s", "e"));
    assert_false(d.allowed);
    /* Cycles are harmless. */
    d = decide(s, "l@x", NULL, POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_true(d.allowed);
    /* Unknown token groups are ignored. */
    d = decide(s, "z@x", "nope,other", POLICY_PRIV_READ, EXP("c", "s", "e"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_kinds_are_distinct(void **state)
{
    struct policy_snapshot *s = with_base("GRANT MODIFY ON EXPERIMENT c.s.x TO `group:t`;\n"
                                          "GRANT EXECUTE ON MODEL c.s.y TO `group:t`;\n");
    struct policy_decision d = decide(s, "a", "t", POLICY_PRIV_MODIFY, EXP("c", "s", "x"));
    assert_true(d.allowed);
    d = decide(s, "a", "t", POLICY_PRIV_EXECUTE, MOD("c", "s", "x"));
    assert_false(d.allowed);
    d = decide(s, "a", "t", POLICY_PRIV_MODIFY, EXP("c", "s", "y"));
    assert_false(d.allowed);
    policy_snapshot_unref(s);
}

static void test_invalid_queries(void **state)
{
    struct policy_snapshot *s = with_base("");
    struct policy_subject who = {"a", false, NULL, 0};
    struct policy_decision d;
    struct policy_object o = EXP("c", "s", "e");
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_ALL_PRIVILEGES, &o, &d), -1);
    assert_false(d.allowed);
    assert_int_equal(d.reason, POLICY_REASON_INVALID);
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_EXECUTE, &o, &d), -1);
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_USE_SCHEMA, &o, &d), -1);
    assert_int_equal(policy_decide(s, &who, (enum policy_priv)99, &o, &d), -1);
    o.name.len = 0;
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, &o, &d), -1);
    o = SCH("c", NULL);
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, &o, &d), -1);
    o = EXP("c", "s", "e");
    o.kind = (enum policy_kind)7;
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, &o, &d), -1);
    o = EXP("c", "s", "e");
    assert_int_equal(policy_decide(NULL, &who, POLICY_PRIV_READ, &o, &d), -1);
    assert_int_equal(policy_decide(s, NULL, POLICY_PRIV_READ, &o, &d), -1);
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, NULL, &d), -1);
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, &o, NULL), -1);
    who.ngroups = 2; /* groups NULL */
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, &o, &d), -1);
    /* A NULL user is anonymous: valid, matches nothing. */
    struct policy_subject anon = {NULL, false, NULL, 0};
    assert_int_equal(policy_decide(s, &anon, POLICY_PRIV_READ, &o, &d), 0);
    assert_false(d.allowed);
    char buf[512];
    policy_explain(s, &who, POLICY_PRIV_ALL_PRIVILEGES, &o, buf, sizeof(buf), &d);
    assert_int_equal(d.reason, POLICY_REASON_INVALID);
    assert_non_null(strstr(buf, "decision: DENY (invalid query"));
    policy_snapshot_unref(s);
}

static void test_too_many_principals(void **state)
{
    char *src = malloc(400 * 64);
    size_t n = 0;
    const char *groups[400];
    char names[400][16];
    for (int i = 0; i < 400; i++) {
        snprintf(names[i], sizeof(names[i]), "g%d", i);
        groups[i] = names[i];
        n += (size_t)sprintf(src + n, "GRANT READ ON CATALOG c TO `group:g%d`;\n", i);
    }
    struct policy_snapshot *s = snap(src);
    struct policy_subject who = {"a", false, groups, 400};
    struct policy_object o = CAT("c");
    struct policy_decision d;
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_READ, &o, &d), -1);
    assert_false(d.allowed);
    who.ngroups = 100;
    assert_int_equal(policy_decide(s, &who, POLICY_PRIV_BROWSE, &o, &d), 0);
    assert_true(d.allowed);
    policy_snapshot_unref(s);
    free(src);
}

static void test_explain(void **state)
{
    struct policy_snapshot *s =
        snap("SET ADMIN GROUP admins;\n"
             "GRANT USE CATALOG ON CATALOG risk TO `group:risk`;\n"
             "GRANT USE SCHEMA, READ ON SCHEMA risk.fraud TO `group:risk`;\n"
             "ALTER SCHEMA risk.fraud OWNER TO `group:leads`;\n"
             "CREATE GROUP ds WITH MEMBERS `group:risk`;\n");
    const char *groups[] = {"risk", "unknown"};
    struct policy_subject who = {"alice@x", false, groups, 2};
    struct policy_object o = obj_of(POLICY_KIND_EXPERIMENT, "risk", "fraud", "my run", NULL);
    struct policy_decision d;
    char buf[4096];
    size_t need = policy_explain(s, &who, POLICY_PRIV_READ, &o, buf, sizeof(buf), &d);
    assert_int_equal(need, strlen(buf));
    assert_true(d.allowed);
    assert_non_null(strstr(buf, "decision: ALLOW (READ on EXPERIMENT risk.fraud.`my run`)\n"));
    assert_non_null(strstr(buf, "policy version: "));
    assert_non_null(strstr(buf, "subject: user alice@x\n"));
    assert_non_null(strstr(buf, "  groups from token: risk, unknown (not in policy)\n"));
    assert_non_null(strstr(buf, "  groups from policy (CREATE GROUP, transitive): ds\n"));
    assert_non_null(strstr(buf, "  admin: no (admin group admins, p.policy:1)\n"));
    assert_non_null(strstr(buf, "owner of SCHEMA risk.fraud: `group:leads` (ALTER ... OWNER TO "
                                "at p.policy:4:1)\n"));
    assert_non_null(strstr(buf, "  1. USE CATALOG on CATALOG risk: held via GRANT USE CATALOG ON "
                                "CATALOG risk TO `group:risk` (p.policy:2:1)\n"));
    assert_non_null(strstr(buf, "  3. READ on EXPERIMENT risk.fraud.`my run`: held via GRANT READ "
                                "ON SCHEMA risk.fraud TO `group:risk` (p.policy:3:1), inherited "
                                "from SCHEMA risk.fraud\n"));
    who.ngroups = 0;
    policy_explain(s, &who, POLICY_PRIV_READ, &o, buf, sizeof(buf), &d);
    assert_false(d.allowed);
    assert_non_null(strstr(buf, "decision: DENY"));
    assert_non_null(strstr(buf, "reason: cannot reach the securable: missing USE CATALOG on "
                                "CATALOG risk (default deny)\n"));
    assert_non_null(strstr(buf, "  1. USE CATALOG on CATALOG risk: MISSING"));
    /* Truncation: the return value is the full length. */
    char small[32];
    size_t full = policy_explain(s, &who, POLICY_PRIV_READ, &o, small, sizeof(small), NULL);
    assert_true(full > sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    policy_snapshot_unref(s);
}

/* ---- store ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_store(void **state)
{
    char dir[] = "/tmp/policy-store-XXXXXX", a[128], b[128];
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a.policy", dir);
    snprintf(b, sizeof(b), "%s/b.policy", dir);
    write_file(a, "GRANT USE CATALOG ON CATALOG c TO u;\n");
    const char *paths[] = {dir};
    struct policy_store *st = policy_store_new(paths, 1);
    struct policy_diag d;
    bool changed;
    policy_diag_init(&d);
    assert_null(policy_store_acquire(st));
    assert_int_equal(policy_store_generation(st), 0);
    assert_true(policy_store_check_changed(st));
    assert_int_equal(policy_store_reload(st, &d, &changed), 0);
    assert_true(changed);
    assert_int_equal(policy_store_generation(st), 1);
    assert_false(policy_store_check_changed(st));
    struct policy_snapshot *held = policy_store_acquire(st);
    assert_non_null(held);
    char v1[65];
    snprintf(v1, sizeof(v1), "%s", policy_snapshot_version(held));

    /* Unchanged content: no swap. */
    assert_int_equal(policy_store_reload(st, &d, &changed), 0);
    assert_false(changed);
    assert_int_equal(policy_store_generation(st), 1);

    /* A broken new file: refused, old snapshot kept, change noticed once. */
    write_file(b, "GRANT REED ON CATALOG c TO u;\n");
    assert_true(policy_store_check_changed(st));
    assert_int_equal(policy_store_reload(st, &d, &changed), -1);
    assert_false(changed);
    assert_int_equal(d.count, 1);
    assert_non_null(strstr(d.v[0].text, "b.policy:1:7: unknown privilege 'REED'"));
    assert_false(policy_store_check_changed(st));
    assert_int_equal(policy_store_generation(st), 1);
    struct policy_snapshot *cur = policy_store_acquire(st);
    assert_string_equal(policy_snapshot_version(cur), v1);
    policy_snapshot_unref(cur);

    /* Fixed: swapped; a holder of the old snapshot keeps using it. */
    write_file(b, "GRANT READ ON CATALOG c TO u;\n");
    policy_diag_clear(&d);
    assert_int_equal(policy_store_reload(st, &d, &changed), 0);
    assert_true(changed);
    assert_int_equal(policy_store_generation(st), 2);
    assert_string_equal(policy_snapshot_version(held), v1);
    assert_int_equal(policy_snapshot_grant_count(held), 1);

    /* Worker cache helper. */
    struct policy_snapshot *mine = NULL;
    uint64_t gen = 0;
    assert_true(policy_store_refresh(st, &mine, &gen));
    assert_int_equal(gen, 2);
    assert_int_equal(policy_snapshot_grant_count(mine), 2);
    assert_false(policy_store_refresh(st, &mine, &gen));

    struct policy_store_stats stats;
    policy_store_stats(st, &stats);
    assert_int_equal(stats.generation, 2);
    assert_int_equal(stats.reloads_ok, 3);
    assert_int_equal(stats.reloads_failed, 1);
    assert_string_equal(stats.version, policy_snapshot_version(mine));

    /* Removing every file: refused, current kept. */
    unlink(a);
    unlink(b);
    assert_true(policy_store_check_changed(st));
    assert_int_equal(policy_store_reload(st, NULL, NULL), -1);
    assert_int_equal(policy_store_generation(st), 2);

    policy_snapshot_unref(mine);
    policy_snapshot_unref(held);
    policy_store_free(st);
    policy_store_free(NULL);
    policy_diag_deinit(&d);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_deny),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_traversal),
        cmocka_unit_test(test_owner_of_object),
        cmocka_unit_test(test_owner_from_request),
        cmocka_unit_test(test_owner_of_container),
        cmocka_unit_test(test_manage_and_all_privileges),
        cmocka_unit_test(test_browse),
        cmocka_unit_test(test_admin),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_kinds_are_distinct),
        cmocka_unit_test(test_invalid_queries),
        cmocka_unit_test(test_too_many_principals),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
