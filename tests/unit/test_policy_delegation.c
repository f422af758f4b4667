/*
 * Unit tests for acting on behalf of users in the policy engine (gateway/policy/parser.c,
 * compile.c, delegation.c, eval.c): the GRANT DELEGATION statement and its errors with
 * file:line:column, token scopes to privileges, policy_decide_obo's three sides (subject,
 * scopes, delegation) with the side reported and the client-safe messages verbatim, groups on
 * both sides (token and policy), securable-scoped delegations, admins, the introspection API
 * and explain's text. A brute-force cross-check lives in test_policy_property.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

#define B(p) (1u << (p))

static struct policy_snapshot *compile1(const char *src, struct policy_diag *d)
{
    struct policy_text t = {"d.policy", src, strlen(src)};
    return policy_compile_buffers(&t, 1, d);
}

static struct policy_snapshot *snap(const char *src)
{
    struct policy_diag d;
    policy_diag_init(&d);
    struct policy_snapshot *s = compile1(src, &d);
    if (!s)
        fail_msg("policy refused: %s", d.count ? d.v[0].text : "?");
    policy_diag_deinit(&d);
    return s;
}

static void expect_errors(const char *src, ...)
{
    struct policy_diag d;
    va_list ap;
    size_t i = 0;
    policy_diag_init(&d);
    struct policy_snapshot *s = compile1(src, &d);
    assert_null(s);
    va_start(ap, src);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
        if (i >= d.count)
            fail_msg("missing error #%zu: %s", i, want);
        if (strcmp(d.v[i].text, want) != 0)
            fail_msg("error #%zu:\n  got:  %s\n  want: %s", i, d.v[i].text, want);
    }
    va_end(ap);
    if (i != d.count)
        fail_msg("unexpected extra error: %s", d.v[i].text);
    policy_diag_deinit(&d);
}

static struct policy_str sv(const char *s)
{
    struct policy_str v = {s, s ? strlen(s) : 0};
    return v;
}

static struct policy_object exp_obj(const char *c, const char *s, const char *n)
{
    struct policy_object o = {
        .kind = POLICY_KIND_EXPERIMENT, .catalog = sv(c), .schema = sv(s), .name = sv(n)};
    return o;
}

/* A subject or actor from "name" (sp: prefix for service principals) and comma-separated
 * groups (NULL for none). Storage lives in *buf. */
struct who {
    struct policy_subject s;
    const char *g[8];
    char names[256];
};

static const struct policy_subject *who(struct who *w, const char *name, const char *groups)
{
    memset(w, 0, sizeof(*w));
    w->s.service_principal = strncmp(name, "sp:", 3) == 0;
    w->s.user = w->s.service_principal ? name + 3 : name;
    if (groups) {
        snprintf(w->names, sizeof(w->names), "%s", groups);
        for (char *save, *t = strtok_r(w->names, ",", &save); t; t = strtok_r(NULL, ",", &save))
            w->g[w->s.ngroups++] = t;
    }
    w->s.groups = w->g;
    return &w->s;
}

static const char base[] =
    "GRANT USE CATALOG ON CATALOG ml TO `group:data-scientists`;\n"
    "GRANT USE SCHEMA, READ, MODIFY ON SCHEMA ml.team TO `group:data-scientists`;\n"
    "GRANT READ ON SCHEMA ml.team TO `bob@x`;\n"
    "GRANT USE CATALOG ON CATALOG ml TO `bob@x`;\n"
    "GRANT USE SCHEMA ON SCHEMA ml.team TO `bob@x`;\n"
    "CREATE GROUP agents WITH MEMBERS `sp:helper`;\n"
    "SET ADMIN GROUP admins;\n"
    /* line 8 */
    "GRANT DELEGATION FOR `group:data-scientists` TO `sp:notebook` LIMIT READ, MODIFY;\n"
    "GRANT DELEGATION FOR `bob@x` TO `sp:notebook` LIMIT READ;\n"
    "GRANT DELEGATION ON SCHEMA ml.team FOR `alice@x` TO `group:agents` LIMIT ALL PRIVILEGES;\n"
    "GRANT DELEGATION FOR `group:admins` TO `sp:ops` LIMIT MANAGE;\n";

static struct policy_obo_decision obo(const struct policy_snapshot *s, const char *subj,
                                      const char *sg, const char *act, const char *ag,
                                      uint32_t scopes, enum policy_priv p, struct policy_object o)
{
    struct who ws, wa;
    struct policy_obo_decision d;
    assert_int_equal(
        policy_decide_obo(s, who(&ws, subj, sg), act ? who(&wa, act, ag) : NULL, scopes, p, &o, &d),
        0);
    return d;
}

static void expect_message(const struct policy_snapshot *s, const char *subj, const char *sg,
                           const char *act, const char *ag, uint32_t scopes, enum policy_priv p,
                           struct policy_object o, const char *want)
{
    struct who ws, wa;
    struct policy_obo_decision d;
    char msg[512];
    const struct policy_subject *a = act ? who(&wa, act, ag) : NULL;
    const struct policy_subject *u = who(&ws, subj, sg);
    assert_int_equal(policy_decide_obo(s, u, a, scopes, p, &o, &d), 0);
    size_t n = policy_obo_message(&d, u, a, &o, msg, sizeof(msg));
    assert_int_equal(n, strlen(msg));
    if (strcmp(msg, want) != 0)
        fail_msg("message:\n  got:  %s\n  want: %s", msg, want);
}

static void test_statement_forms(void **state)
{
    struct policy_snapshot *s = snap(base);
    assert_int_equal(policy_snapshot_delegation_count(s), 4);
    struct policy_delegation_info di;
    policy_snapshot_delegation(s, 0, &di);
    assert_string_equal(di.actor, "sp:notebook");
    assert_int_equal(di.actor_kind, POLICY_PRINCIPAL_SP);
    assert_string_equal(di.subject, "group:data-scientists");
    assert_int_equal(di.subject_kind, POLICY_PRINCIPAL_GROUP);
    assert_true(di.everywhere);
    assert_int_equal(di.mask, B(POLICY_PRIV_READ) | B(POLICY_PRIV_MODIFY));
    assert_string_equal(di.source.file, "d.policy");
    assert_int_equal(di.source.line, 8);
    assert_int_equal(di.source.col, 1);
    policy_snapshot_delegation(s, 2, &di);
    assert_false(di.everywhere);
    assert_int_equal(di.kind, POLICY_KIND_SCHEMA);
    assert_memory_equal(di.catalog.ptr, "ml", 2);
    assert_memory_equal(di.schema.ptr, "team", 4);
    assert_string_equal(di.actor, "group:agents");
    assert_int_equal(di.mask, B(POLICY_PRIV_ALL_PRIVILEGES));
    policy_snapshot_unref(s);

    /* Lists on both sides make one record per pair; keywords are case-insensitive; a LIMIT may
     * span lines and start a privilege with a statement keyword after a comma. */
    s = snap("grant delegation on experiment a.b.c for `u1@x`, `group:g` to `sp:a`, `sp:b`\n"
             "  limit READ,\n"
             "  APPLY TAG;\n"
             "GRANT DELEGATION FOR u2 TO `sp:a` LIMIT USE CATALOG,\n"
             "CREATE MODEL VERSION, CREATE EXPERIMENT;\n");
    assert_int_equal(policy_snapshot_delegation_count(s), 5);
    policy_snapshot_delegation(s, 3, &di);
    assert_string_equal(di.actor, "sp:b");
    assert_string_equal(di.subject, "group:g");
    assert_int_equal(di.mask, B(POLICY_PRIV_READ) | B(POLICY_PRIV_APPLY_TAG));
    assert_int_equal(di.kind, POLICY_KIND_EXPERIMENT);
    policy_snapshot_delegation(s, 4, &di);
    assert_int_equal(di.mask, B(POLICY_PRIV_USE_CATALOG) | B(POLICY_PRIV_CREATE_MODEL_VERSION) |
                                  B(POLICY_PRIV_CREATE_EXPERIMENT));
    assert_string_equal(di.subject, "u2");
    assert_int_equal(di.source.line, 4);
    policy_snapshot_unref(s);
}

static void test_errors(void **state)
{
    expect_errors("GRANT DELEGATION FOR `a@x` TO `sp:b`;\n",
                  "d.policy:1:37: GRANT DELEGATION needs LIMIT privilege[, ...] after the actors "
                  "(LIMIT ALL PRIVILEGES passes every privilege but MANAGE)",
                  NULL);
    expect_errors("GRANT DELEGATION TO `sp:b` FOR `a@x` LIMIT READ;\n",
                  "d.policy:1:18: expected ON or FOR, found 'TO'", NULL);
    expect_errors("GRANT DELEGATION ON SCHEMA a.b TO `sp:b` LIMIT READ;\n",
                  "d.policy:1:32: expected FOR, found 'TO'", NULL);
    expect_errors("GRANT DELEGATION FOR `a@x` `sp:b` LIMIT READ;\n",
                  "d.policy:1:28: expected TO, found 'sp:b'", NULL);
    expect_errors("GRANT DELEGATION FOR `a@x` TO `sp:b` LIMIT REED;\n",
                  "d.policy:1:44: unknown privilege 'REED' (did you mean 'READ'?)", NULL);
    expect_errors("GRANT DELEGATION FOR `a@x` TO `sp:b` LIMIT;\n",
                  "d.policy:1:43: expected a privilege, found ';'", NULL);
    expect_errors("GRANT DELEGATION ON MODEL a.b.m FOR `a@x` TO `sp:b` LIMIT READ, EXECUTE;\n",
                  "d.policy:1:59: privilege READ does not apply to MODEL (applicable: BROWSE, "
                  "EXECUTE, APPLY TAG, CREATE MODEL VERSION, MANAGE, ALL PRIVILEGES)",
                  NULL);
    expect_errors("GRANT DELEGATION ON SCHEMA a FOR `a@x` TO `sp:b` LIMIT READ;\n",
                  "d.policy:1:28: malformed name 'a' for SCHEMA: expected catalog.schema", NULL);
    expect_errors("GRANT DELEGATION FOR `svc:a` TO `sp:b` LIMIT READ;\n",
                  "d.policy:1:22: unknown principal prefix (use user:, group: or sp:): 'svc:a'",
                  NULL);
    expect_errors("GRANT DELEGATION FOR `a@x` TO `sp:b` LIMIT READ, x y z;\n",
                  "d.policy:1:50: unknown privilege 'X Y Z'", NULL);
    /* A missing ';' before the next statement is reported where the statement ends; both the
     * error and the next statement are still seen. */
    expect_errors("GRANT DELEGATION FOR `a@x` TO `sp:b` LIMIT READ\n"
                  "GRANT REED ON CATALOG c TO u;\n",
                  "d.policy:1:48: missing ';' at the end of the statement",
                  "d.policy:2:7: unknown privilege 'REED' (did you mean 'READ'?)", NULL);
    expect_errors("REVOKE DELEGATION FOR `a@x` TO `sp:b`;\n",
                  "d.policy:1:1: REVOKE is not supported: policies are allow-only, remove the "
                  "GRANT instead",
                  NULL);
}

static void test_scope_mask(void **state)
{
    const char *none[] = {"openid", "profile", "read"};
    assert_int_equal(policy_scope_mask(none, 3), POLICY_SCOPES_ALL);
    assert_int_equal(policy_scope_mask(NULL, 0), POLICY_SCOPES_ALL);
    const char *rd[] = {"openid", "mlflow:read"};
    uint32_t m = policy_scope_mask(rd, 2);
    assert_int_equal(m, B(POLICY_PRIV_USE_CATALOG) | B(POLICY_PRIV_USE_SCHEMA) |
                            B(POLICY_PRIV_BROWSE) | B(POLICY_PRIV_READ) | B(POLICY_PRIV_EXECUTE));
    const char *wr[] = {"mlflow:write"};
    m = policy_scope_mask(wr, 1);
    assert_true(m & B(POLICY_PRIV_MODIFY));
    assert_true(m & B(POLICY_PRIV_CREATE_MODEL_VERSION));
    assert_true(m & B(POLICY_PRIV_READ));
    assert_false(m & B(POLICY_PRIV_MANAGE));
    const char *mg[] = {"mlflow:manage"};
    assert_int_equal(policy_scope_mask(mg, 1), POLICY_SCOPES_ALL & ~B(POLICY_PRIV_ALL_PRIVILEGES));
    /* An unknown mlflow: scope restricts to nothing (fail closed), case-sensitive. */
    const char *odd[] = {"mlflow:READ"};
    assert_int_equal(policy_scope_mask(odd, 1), 0);
    char buf[200];
    assert_int_equal(policy_privs_format(policy_scope_mask(rd, 2), true, buf, sizeof(buf)),
                     strlen("READ, EXECUTE"));
    assert_string_equal(buf, "READ, EXECUTE");
    policy_privs_format(0, true, buf, sizeof(buf));
    assert_string_equal(buf, "nothing");
    policy_privs_format(B(POLICY_PRIV_USE_SCHEMA) | B(POLICY_PRIV_ALL_PRIVILEGES), false, buf,
                        sizeof(buf));
    assert_string_equal(buf, "USE SCHEMA, ALL PRIVILEGES");
}

static void test_three_sides(void **state)
{
    struct policy_snapshot *s = snap(base);
    struct policy_object o = exp_obj("ml", "team", "churn");
    /* Allowed: alice (data scientist) holds MODIFY; the agent may pass READ, MODIFY. */
    struct policy_obo_decision d = obo(s, "alice@x", "data-scientists", "sp:notebook", NULL,
                                       POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, o);
    assert_true(d.allowed);
    assert_int_equal(d.side, POLICY_OBO_OK);
    assert_int_equal(d.lacking, 0);
    assert_true(d.on_behalf);
    assert_true(d.delegated);
    assert_true(d.subject.allowed);
    assert_int_equal(d.delegation.line, 8);
    assert_string_equal(d.delegation_actor, "sp:notebook");
    assert_string_equal(d.delegation_for, "group:data-scientists");
    assert_true(d.delegation_mask & B(POLICY_PRIV_USE_CATALOG));
    assert_true(d.delegation_mask & B(POLICY_PRIV_BROWSE));
    assert_false(d.delegation_mask & B(POLICY_PRIV_MANAGE));
    assert_non_null(d.version);
    /* The user's own rights bound the agent: bob may only READ. */
    d = obo(s, "bob@x", NULL, "sp:notebook", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ, o);
    assert_true(d.allowed);
    assert_int_equal(d.delegation.line, 9);
    expect_message(s, "bob@x", NULL, "sp:notebook", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, o,
                   "delegation of sp:notebook for bob@x limits to READ; MODIFY needed");
    d = obo(s, "bob@x", NULL, "sp:notebook", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, o);
    assert_false(d.allowed);
    assert_int_equal(d.side, POLICY_OBO_LIMIT);
    /* bob lacks MODIFY himself too: both sides are listed, the delegation is named first. */
    assert_int_equal(d.lacking,
                     POLICY_OBO_BIT(POLICY_OBO_LIMIT) | POLICY_OBO_BIT(POLICY_OBO_SUBJECT));
    assert_int_equal(d.subject.missing, POLICY_PRIV_MODIFY);
    /* An agent without a delegation. */
    expect_message(s, "alice@x", "data-scientists", "sp:rogue", NULL, POLICY_SCOPES_ALL,
                   POLICY_PRIV_READ, o,
                   "agent sp:rogue has no delegation to act for alice@x on EXPERIMENT "
                   "ml.team.churn");
    d = obo(s, "alice@x", "data-scientists", "sp:rogue", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ,
            o);
    assert_int_equal(d.side, POLICY_OBO_NO_DELEGATION);
    assert_true(d.subject.allowed);
    assert_false(d.delegated);
    assert_null(d.delegation_actor);
    /* The same name as a user is another principal than the service principal. */
    d = obo(s, "alice@x", "data-scientists", "notebook", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ,
            o);
    assert_int_equal(d.side, POLICY_OBO_NO_DELEGATION);
    /* The user lacks it: mallory is no data scientist (and the delegation is for the group). */
    expect_message(s, "mallory@x", NULL, "sp:notebook", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ,
                   o,
                   "agent sp:notebook has no delegation to act for mallory@x on EXPERIMENT "
                   "ml.team.churn");
    /* Scopes: a read-only token. */
    const char *rd[] = {"mlflow:read"};
    uint32_t ro = policy_scope_mask(rd, 1);
    expect_message(s, "alice@x", "data-scientists", "sp:notebook", NULL, ro, POLICY_PRIV_MODIFY, o,
                   "the token's scopes allow READ, EXECUTE; MODIFY needed");
    d = obo(s, "alice@x", "data-scientists", "sp:notebook", NULL, ro, POLICY_PRIV_READ, o);
    assert_true(d.allowed);
    /* The subject lacking it, with every other side fine. */
    struct policy_object other = exp_obj("ml", "private", "x");
    expect_message(s, "alice@x", "data-scientists", "sp:notebook", NULL, POLICY_SCOPES_ALL,
                   POLICY_PRIV_READ, other, "alice@x lacks USE SCHEMA on SCHEMA ml.private");
    d = obo(s, "alice@x", "data-scientists", "sp:notebook", NULL, POLICY_SCOPES_ALL,
            POLICY_PRIV_READ, other);
    assert_int_equal(d.side, POLICY_OBO_SUBJECT);
    assert_int_equal(d.subject.reason, POLICY_REASON_NO_TRAVERSE);
    expect_message(s, "alice@x", "data-scientists", "sp:notebook", NULL, POLICY_SCOPES_ALL,
                   POLICY_PRIV_MANAGE, o,
                   "delegation of sp:notebook for alice@x limits to READ, MODIFY; MANAGE needed");
    policy_snapshot_unref(s);
}

static void test_without_actor(void **state)
{
    struct policy_snapshot *s = snap(base);
    struct policy_object o = exp_obj("ml", "team", "churn");
    /* No actor: the subject's own rights under the token's scopes; no delegation needed. */
    struct policy_obo_decision d =
        obo(s, "alice@x", "data-scientists", NULL, NULL, POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, o);
    assert_true(d.allowed);
    assert_false(d.on_behalf);
    const char *rd[] = {"mlflow:read", "openid"};
    expect_message(s, "alice@x", "data-scientists", NULL, NULL, policy_scope_mask(rd, 2),
                   POLICY_PRIV_MODIFY, o, "the token's scopes allow READ, EXECUTE; MODIFY needed");
    expect_message(s, "bob@x", NULL, NULL, NULL, POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, o,
                   "bob@x lacks MODIFY on EXPERIMENT ml.team.churn");
    expect_message(s, "bob@x", NULL, NULL, NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ, o, "allowed");
    policy_snapshot_unref(s);
}

static void test_groups_and_securables(void **state)
{
    struct policy_snapshot *s = snap(base);
    struct policy_object in = exp_obj("ml", "team", "churn");
    struct policy_object out = exp_obj("ml", "other", "x");
    /* The delegation names the policy group agents: sp:helper is a member by CREATE GROUP; a
     * token group works as well. alice holds nothing on ml.other herself. */
    struct policy_obo_decision d = obo(s, "alice@x", "data-scientists", "sp:helper", NULL,
                                       POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, in);
    assert_true(d.allowed);
    assert_string_equal(d.delegation_actor, "group:agents");
    assert_string_equal(d.delegation_for, "alice@x");
    d = obo(s, "alice@x", "data-scientists", "sp:someone", "agents", POLICY_SCOPES_ALL,
            POLICY_PRIV_MODIFY, in);
    assert_true(d.allowed);
    /* Outside ml.team the statement does not apply. */
    d = obo(s, "alice@x", "data-scientists", "sp:helper", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ,
            out);
    assert_int_equal(d.side, POLICY_OBO_NO_DELEGATION);
    assert_true(d.lacking & POLICY_OBO_BIT(POLICY_OBO_SUBJECT));
    /* ALL PRIVILEGES does not pass MANAGE (as in grants); the schema itself is covered. */
    d = obo(s, "alice@x", "data-scientists", "sp:helper", NULL, POLICY_SCOPES_ALL,
            POLICY_PRIV_MANAGE, in);
    assert_true(d.lacking & POLICY_OBO_BIT(POLICY_OBO_LIMIT));
    struct policy_object schema = {
        .kind = POLICY_KIND_SCHEMA, .catalog = sv("ml"), .schema = sv("team")};
    d = obo(s, "alice@x", "data-scientists", "sp:helper", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ,
            schema);
    assert_true(d.allowed);
    /* Delegations add up: helper also acts for the group with sp:notebook's statement? No:
     * the statement names sp:notebook only. */
    d = obo(s, "carol@x", "data-scientists", "sp:helper", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ,
            in);
    assert_int_equal(d.side, POLICY_OBO_NO_DELEGATION);
    /* An agent in several groups collects every matching statement's LIMIT. */
    struct policy_snapshot *s2 =
        snap("GRANT READ, MODIFY, APPLY TAG ON CATALOG c TO u;\n"
             "GRANT USE CATALOG, USE SCHEMA ON CATALOG c TO u;\n"
             "GRANT DELEGATION FOR u TO `group:a` LIMIT READ;\n"
             "GRANT DELEGATION ON SCHEMA c.s FOR u TO `group:b` LIMIT MODIFY;\n");
    struct policy_object cso = exp_obj("c", "s", "o");
    d = obo(s2, "u", NULL, "sp:x", "a,b", POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, cso);
    assert_true(d.allowed);
    assert_int_equal(d.delegation.line, 4);
    d = obo(s2, "u", NULL, "sp:x", "a,b", POLICY_SCOPES_ALL, POLICY_PRIV_APPLY_TAG, cso);
    assert_int_equal(d.side, POLICY_OBO_LIMIT);
    assert_int_equal(d.delegation.line, 3); /* the first statement that matched */
    char msg[300];
    struct who wa, wu;
    policy_obo_message(&d, who(&wu, "u", NULL), who(&wa, "sp:x", "a,b"), &cso, msg, sizeof(msg));
    assert_string_equal(msg, "delegation of sp:x for u limits to READ, MODIFY; APPLY TAG needed");
    policy_snapshot_unref(s2);
    policy_snapshot_unref(s);
}

static void test_admins(void **state)
{
    struct policy_snapshot *s = snap(base);
    struct policy_object o = exp_obj("ml", "secret", "x");
    /* An admin subject holds everything, but the agent still needs a delegation and a LIMIT
     * that passes the privilege. */
    struct policy_obo_decision d =
        obo(s, "root@x", "admins", "sp:ops", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_MANAGE, o);
    assert_true(d.allowed);
    assert_true(d.subject.admin);
    assert_int_equal(d.subject.reason, POLICY_REASON_ADMIN);
    d = obo(s, "root@x", "admins", "sp:ops", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ, o);
    assert_int_equal(d.side, POLICY_OBO_LIMIT);
    d = obo(s, "root@x", "admins", "sp:notebook", NULL, POLICY_SCOPES_ALL, POLICY_PRIV_READ, o);
    assert_int_equal(d.side, POLICY_OBO_NO_DELEGATION);
    /* An admin actor gets nothing from being an admin. */
    d = obo(s, "mallory@x", NULL, "sp:ops", "admins", POLICY_SCOPES_ALL, POLICY_PRIV_READ, o);
    assert_int_equal(d.side, POLICY_OBO_NO_DELEGATION);
    assert_true(d.lacking & POLICY_OBO_BIT(POLICY_OBO_SUBJECT));
    policy_snapshot_unref(s);
}

static void test_invalid_and_explain(void **state)
{
    struct policy_snapshot *s = snap(base);
    struct policy_object o = exp_obj("ml", "team", "churn");
    struct who wu, wa;
    struct policy_obo_decision d;
    assert_int_equal(policy_decide_obo(s, who(&wu, "alice@x", NULL), who(&wa, "sp:notebook", NULL),
                                       POLICY_SCOPES_ALL, POLICY_PRIV_ALL_PRIVILEGES, &o, &d),
                     -1);
    assert_int_equal(d.side, POLICY_OBO_INVALID);
    assert_false(d.allowed);
    struct policy_subject broken = {"x", true, NULL, 2};
    assert_int_equal(policy_decide_obo(s, who(&wu, "alice@x", NULL), &broken, POLICY_SCOPES_ALL,
                                       POLICY_PRIV_READ, &o, &d),
                     -1);
    assert_int_equal(policy_decide_obo(s, who(&wu, "alice@x", NULL), NULL, POLICY_SCOPES_ALL,
                                       POLICY_PRIV_READ, &o, NULL),
                     -1);
    char msg[100];
    policy_obo_message(&d, &wu.s, &broken, &o, msg, sizeof(msg));
    assert_string_equal(msg, "invalid authorization query");
    assert_string_equal(policy_obo_side_name(POLICY_OBO_LIMIT), "limit");
    assert_string_equal(policy_obo_side_name(POLICY_OBO_NO_DELEGATION), "no-delegation");

    char text[8192];
    const char *rd[] = {"mlflow:read"};
    size_t need = policy_explain_obo(s, who(&wu, "bob@x", NULL), who(&wa, "sp:notebook", NULL),
                                     policy_scope_mask(rd, 1), POLICY_PRIV_MODIFY, &o, text,
                                     sizeof(text), &d);
    assert_int_equal(need, strlen(text));
    assert_false(d.allowed);
    const char *want[] = {
        "on-behalf-of decision: DENY (MODIFY on EXPERIMENT ml.team.churn)\n",
        "reason: limit: delegation of sp:notebook for bob@x limits to READ; MODIFY needed\n",
        "also lacking: scope\n",
        "also lacking: subject\n",
        "token scopes allow: USE CATALOG, USE SCHEMA, BROWSE, READ, EXECUTE\n",
        "actor: service principal notebook; its principals in the policy: sp:notebook\n",
        "  GRANT DELEGATION FOR `group:data-scientists` TO `sp:notebook` LIMIT READ, MODIFY "
        "(d.policy:8:1): does not cover the subject\n",
        "  GRANT DELEGATION FOR `bob@x` TO `sp:notebook` LIMIT READ (d.policy:9:1): matches, "
        "LIMIT does not pass it\n",
        "the subject's own decision:\ndecision: DENY (MODIFY on EXPERIMENT ml.team.churn)\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(text, want[i]))
            fail_msg("explain lacks:\n%s\n--- text ---\n%s", want[i], text);
    /* Truncation still reports the full length. */
    char small[40];
    assert_int_equal(policy_explain_obo(s, &wu.s, &wa.s, policy_scope_mask(rd, 1),
                                        POLICY_PRIV_MODIFY, &o, small, sizeof(small), NULL),
                     need);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    need = policy_explain_obo(s, who(&wu, "alice@x", "data-scientists"), NULL, POLICY_SCOPES_ALL,
                              POLICY_PRIV_READ, &o, text, sizeof(text), &d);
    assert_true(d.allowed);
    assert_non_null(strstr(text, "on-behalf-of decision: ALLOW"));
    assert_non_null(strstr(text, "token scopes: not restricted (no mlflow: scope)"));
    assert_null(strstr(text, "actor:"));
    policy_snapshot_unref(s);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: steadier on a loaded machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Figures: a decision on behalf of a user against the subject's own decision, on a policy
 * with 2,000 delegation statements besides the grants (bounds are loose: shared machines and
 * sanitizer builds; the figures are printed). */
static void test_cost(void **state)
{
    size_t cap = 400000, len = 0;
    char *src = malloc(cap);
    len += (size_t)snprintf(src + len, cap - len, "%s", base);
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(src + len, cap - len,
                                "GRANT DELEGATION ON SCHEMA ml.s%d FOR `group:g%d` TO `sp:a%d` "
                                "LIMIT READ;\n",
                                i, i % 50, i % 200);
    struct policy_snapshot *s = snap(src);
    free(src);
    struct policy_object o = exp_obj("ml", "team", "churn");
    struct who wu, wa;
    const struct policy_subject *u = who(&wu, "alice@x", "data-scientists,g1,g2");
    const struct policy_subject *a = who(&wa, "sp:notebook", "g3");
    struct policy_decision d;
    struct policy_obo_decision od;
    int n = 1000000;
    double t0 = seconds();
    for (int i = 0; i < n; i++)
        policy_decide(s, u, POLICY_PRIV_MODIFY, &o, &d);
    double plain = (seconds() - t0) / n * 1e9;
    t0 = seconds();
    for (int i = 0; i < n; i++)
        policy_decide_obo(s, u, a, POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, &o, &od);
    double obo = (seconds() - t0) / n * 1e9;
    assert_true(od.allowed);
    t0 = seconds();
    for (int i = 0; i < n; i++)
        policy_decide_obo(s, u, NULL, POLICY_SCOPES_ALL, POLICY_PRIV_MODIFY, &o, &od);
    double noactor = (seconds() - t0) / n * 1e9;
    print_message("policy_decide %.0f ns, policy_decide_obo %.0f ns (with actor), %.0f ns "
                  "(no actor)\n",
                  plain, obo, noactor);
    assert_true(obo < 100000);
    policy_snapshot_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_scope_mask),
        cmocka_unit_test(test_three_sides),
        cmocka_unit_test(test_without_actor),
        cmocka_unit_test(test_groups_and_securables),
        cmocka_unit_test(test_admins),
        cmocka_unit_test(test_invalid_and_explain),
        cmocka_unit_test(test_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
