/*
 * Property test for the policy engine: random policies (generated as text, so the parser is
 * exercised too) and random queries, each decided by policy_decide and by a brute-force
 * reference evaluator written here from the rules in policies/README.md, independently of
 * eval.c: it scans every grant, owner and membership linearly. Seeded, so failures repeat.
 * The same queries are also asked on behalf of the subject by a random actor under random
 * token scopes (policy_decide_obo), against a reference that scans every GRANT DELEGATION
 * statement: allowed = subject allowed AND scopes cover it AND a matching delegation passes it,
 * and the side reported is the first lacking one.
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

#define NPOL   400 /* random policies */
#define NQUERY 60  /* queries per policy */

static uint64_t rng = 0x853c49e6748fea9bULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* The universe: catalogs c0 c1, schemas s0 s1, objects o0 o1 (experiments and models). */
static const char *const users[] = {"u0@x", "u1@x", "u2@x", "u3@x"};
static const char *const sps[] = {"bot0", "bot1"};
static const char *const groups[] = {"g0", "g1", "g2", "g3"};

struct sec {
    enum policy_kind kind;
    int c, s, o; /* indices; -1 when absent */
};

struct ref_principal {
    enum policy_principal_kind kind;
    char name[16];
};

struct ref_grant {
    enum policy_priv priv;
    struct sec on;
    struct ref_principal to;
};

struct ref_owner {
    struct sec on;
    struct ref_principal who;
};

struct ref_member {
    int group;
    struct ref_principal member;
};

struct ref_deleg {
    struct ref_principal actor, subject;
    bool everywhere;
    struct sec on;
    uint32_t limit; /* privilege bits as written */
};

struct ref_policy {
    struct ref_grant grants[64];
    int ngrants;
    struct ref_owner owners[16];
    int nowners;
    struct ref_member members[16];
    int nmembers;
    int admin; /* group index or -1 */
    struct ref_deleg delegs[8];
    int ndelegs;
};

static struct ref_principal rand_principal(void)
{
    struct ref_principal p;
    int k = (int)rnd(3);
    p.kind = k == 0 ? POLICY_PRINCIPAL_USER : k == 1 ? POLICY_PRINCIPAL_GROUP : POLICY_PRINCIPAL_SP;
    snprintf(p.name, sizeof(p.name), "%s",
             k == 0   ? users[rnd(4)]
             : k == 1 ? groups[rnd(4)]
                      : sps[rnd(2)]);
    return p;
}

static struct sec rand_sec(void)
{
    struct sec s = {(enum policy_kind)rnd(POLICY_KIND_COUNT), (int)rnd(2), -1, -1};
    if (s.kind != POLICY_KIND_CATALOG)
        s.s = (int)rnd(2);
    if (s.kind == POLICY_KIND_EXPERIMENT || s.kind == POLICY_KIND_MODEL)
        s.o = (int)rnd(2);
    return s;
}

static bool sec_eq(struct sec a, struct sec b)
{
    return a.kind == b.kind && a.c == b.c && a.s == b.s && a.o == b.o;
}

static void sec_text(struct sec s, char *buf, size_t n)
{
    if (s.kind == POLICY_KIND_CATALOG)
        snprintf(buf, n, "CATALOG c%d", s.c);
    else if (s.kind == POLICY_KIND_SCHEMA)
        snprintf(buf, n, "SCHEMA c%d.s%d", s.c, s.s);
    else
        snprintf(buf, n, "%s c%d.s%d.o%d", policy_kind_name(s.kind), s.c, s.s, s.o);
}

static void principal_text(struct ref_principal p, char *buf, size_t n)
{
    snprintf(buf, n, "`%s%s`",
             p.kind == POLICY_PRINCIPAL_GROUP ? "group:"
             : p.kind == POLICY_PRINCIPAL_SP  ? "sp:"
                                              : "",
             p.name);
}

static void generate(struct ref_policy *rp, char *text, size_t cap)
{
    size_t len = 0;
    char a[64], b[64];
    memset(rp, 0, sizeof(*rp));
    rp->admin = rnd(3) == 0 ? (int)rnd(4) : -1;
    if (rp->admin >= 0)
        len += (size_t)snprintf(text + len, cap - len, "SET ADMIN GROUP %s;\n", groups[rp->admin]);
    rp->ngrants = (int)rnd(40);
    for (int i = 0; i < rp->ngrants; i++) {
        struct ref_grant *g = &rp->grants[i];
        g->on = rand_sec();
        do {
            g->priv = (enum policy_priv)rnd(POLICY_PRIV_COUNT);
        } while (!policy_priv_applies(g->priv, g->on.kind));
        /* Bias towards traversal privileges so that many queries get through. */
        if (rnd(3) == 0)
            g->priv = g->on.kind == POLICY_KIND_CATALOG  ? POLICY_PRIV_USE_CATALOG
                      : g->on.kind == POLICY_KIND_SCHEMA ? POLICY_PRIV_USE_SCHEMA
                                                         : g->priv;
        g->to = rand_principal();
        sec_text(g->on, a, sizeof(a));
        principal_text(g->to, b, sizeof(b));
        len += (size_t)snprintf(text + len, cap - len, "GRANT %s ON %s TO %s;\n",
                                policy_priv_name(g->priv), a, b);
    }
    int nown = (int)rnd(6);
    for (int i = 0; i < nown; i++) {
        struct sec s = rand_sec();
        bool dup = false;
        for (int j = 0; j < rp->nowners; j++)
            dup |= sec_eq(rp->owners[j].on, s);
        if (dup)
            continue;
        struct ref_owner *o = &rp->owners[rp->nowners++];
        o->on = s;
        o->who = rand_principal();
        sec_text(s, a, sizeof(a));
        principal_text(o->who, b, sizeof(b));
        len += (size_t)snprintf(text + len, cap - len, "ALTER %s OWNER TO %s;\n", a, b);
    }
    rp->nmembers = (int)rnd(8);
    for (int i = 0; i < rp->nmembers; i++) {
        struct ref_member *m = &rp->members[i];
        m->group = (int)rnd(4);
        m->member = rand_principal();
        principal_text(m->member, b, sizeof(b));
        len += (size_t)snprintf(text + len, cap - len, "ALTER GROUP %s ADD MEMBERS %s;\n",
                                groups[m->group], b);
    }
    rp->ndelegs = (int)rnd(8);
    for (int i = 0; i < rp->ndelegs; i++) {
        struct ref_deleg *dl = &rp->delegs[i];
        char c[80] = "", privs[512] = "";
        size_t pl = 0;
        dl->actor = rand_principal();
        dl->subject = rand_principal();
        dl->everywhere = rnd(3) == 0;
        dl->on = rand_sec();
        dl->limit = 0;
        int n = 1 + (int)rnd(3);
        for (int k = 0; k < n; k++) {
            enum policy_priv pv = (enum policy_priv)rnd(POLICY_PRIV_COUNT);
            if (!dl->everywhere && !policy_priv_applies(pv, dl->on.kind))
                continue;
            pl += (size_t)snprintf(privs + pl, sizeof(privs) - pl, "%s%s", pl ? ", " : "",
                                   policy_priv_name(pv));
            dl->limit |= 1u << pv;
        }
        if (!dl->limit) {
            dl->limit = 1u << POLICY_PRIV_BROWSE;
            snprintf(privs, sizeof(privs), "BROWSE");
        }
        if (!dl->everywhere) {
            sec_text(dl->on, a, sizeof(a));
            snprintf(c, sizeof(c), "ON %s ", a);
        }
        principal_text(dl->subject, a, sizeof(a));
        principal_text(dl->actor, b, sizeof(b));
        len += (size_t)snprintf(text + len, cap - len,
                                "GRANT DELEGATION %sFOR %s TO %s LIMIT %s;\n", c, a, b, privs);
    }
}

/* ---- reference evaluator ---- */

struct ref_subject {
    bool sp;
    const char *name;
    bool in_group[4]; /* effective groups after closure */
};

static bool ref_is(const struct ref_subject *s, struct ref_principal p)
{
    if (p.kind == POLICY_PRINCIPAL_GROUP) {
        for (int g = 0; g < 4; g++)
            if (s->in_group[g] && strcmp(groups[g], p.name) == 0)
                return true;
        return false;
    }
    return (p.kind == POLICY_PRINCIPAL_SP) == s->sp && strcmp(p.name, s->name) == 0;
}

static void ref_closure(const struct ref_policy *rp, struct ref_subject *s)
{
    bool grew = true;
    while (grew) {
        grew = false;
        for (int i = 0; i < rp->nmembers; i++)
            if (!s->in_group[rp->members[i].group] && ref_is(s, rp->members[i].member)) {
                s->in_group[rp->members[i].group] = true;
                grew = true;
            }
    }
}

/* Whether a is b or an ancestor of b. */
static bool covers(struct sec a, struct sec b)
{
    if (a.c != b.c)
        return false;
    if (a.kind == POLICY_KIND_CATALOG)
        return true;
    if (b.kind == POLICY_KIND_CATALOG || a.s != b.s)
        return false;
    if (a.kind == POLICY_KIND_SCHEMA)
        return true;
    return sec_eq(a, b);
}

static bool ref_granted(const struct ref_policy *rp, const struct ref_subject *s,
                        enum policy_priv p, struct sec on)
{
    for (int i = 0; i < rp->ngrants; i++) {
        const struct ref_grant *g = &rp->grants[i];
        if (!covers(g->on, on) || !ref_is(s, g->to))
            continue;
        if (g->priv == p || (g->priv == POLICY_PRIV_ALL_PRIVILEGES && p != POLICY_PRIV_MANAGE))
            return true;
    }
    return false;
}

static bool ref_owns(const struct ref_policy *rp, const struct ref_subject *s, struct sec on,
                     bool leaf, const char *req_owner)
{
    for (int i = 0; i < rp->nowners; i++)
        if (sec_eq(rp->owners[i].on, on))
            return ref_is(s, rp->owners[i].who);
    if (!leaf || !req_owner)
        return false;
    struct ref_principal p;
    if (strncmp(req_owner, "group:", 6) == 0) {
        p.kind = POLICY_PRINCIPAL_GROUP;
        snprintf(p.name, sizeof(p.name), "%s", req_owner + 6);
    } else if (strncmp(req_owner, "sp:", 3) == 0) {
        p.kind = POLICY_PRINCIPAL_SP;
        snprintf(p.name, sizeof(p.name), "%s", req_owner + 3);
    } else {
        p.kind = POLICY_PRINCIPAL_USER;
        snprintf(p.name, sizeof(p.name), "%s", req_owner);
    }
    return ref_is(s, p);
}

/* Returns allowed; *admin_only set when allowed only through the admin group. */
static bool ref_decide(const struct ref_policy *rp, struct ref_subject *s, enum policy_priv p,
                       struct sec target, const char *req_owner, bool *admin, bool *admin_only)
{
    struct sec path[3];
    int depth = 0;
    path[depth++] = (struct sec){POLICY_KIND_CATALOG, target.c, -1, -1};
    if (target.kind != POLICY_KIND_CATALOG)
        path[depth++] = (struct sec){POLICY_KIND_SCHEMA, target.c, target.s, -1};
    if (target.kind == POLICY_KIND_EXPERIMENT || target.kind == POLICY_KIND_MODEL)
        path[depth++] = target;
    bool owns[3];
    for (int j = 0; j < depth; j++)
        owns[j] = ref_owns(rp, s, path[j], j == depth - 1, req_owner);
    bool parent_owner = false;
    for (int j = 0; j < depth - 1; j++)
        parent_owner |= owns[j];
    bool ok;
    if (p == POLICY_PRIV_BROWSE) {
        ok = owns[depth - 1] || parent_owner;
        for (int q = 0; q < POLICY_PRIV_COUNT && !ok; q++)
            if (policy_priv_applies((enum policy_priv)q, target.kind))
                for (int i = 0; i < rp->ngrants && !ok; i++)
                    ok = rp->grants[i].priv == (enum policy_priv)q &&
                         covers(rp->grants[i].on, target) && ref_is(s, rp->grants[i].to);
    } else {
        bool use_cat = owns[0] || ref_granted(rp, s, POLICY_PRIV_USE_CATALOG, path[0]);
        bool use_sch =
            depth < 2 || owns[0] || owns[1] || ref_granted(rp, s, POLICY_PRIV_USE_SCHEMA, path[1]);
        bool main = owns[depth - 1] || ref_granted(rp, s, p, target) ||
                    ((p == POLICY_PRIV_MANAGE || p == POLICY_PRIV_USE_SCHEMA) && parent_owner);
        if (target.kind == POLICY_KIND_CATALOG && p == POLICY_PRIV_USE_CATALOG)
            use_cat = true;
        if (target.kind == POLICY_KIND_SCHEMA && p == POLICY_PRIV_USE_SCHEMA)
            use_sch = true;
        ok = use_cat && use_sch && main;
    }
    *admin = rp->admin >= 0 && s->in_group[rp->admin];
    *admin_only = !ok && *admin;
    return ok || *admin;
}

/* ---- on behalf of: reference ---- */

static uint32_t ref_pass(uint32_t limit)
{
    uint32_t m = limit;
    if (limit & (1u << POLICY_PRIV_ALL_PRIVILEGES))
        for (int p = 0; p < POLICY_PRIV_ALL_PRIVILEGES; p++)
            if (p != POLICY_PRIV_MANAGE)
                m |= 1u << p;
    return m | (1u << POLICY_PRIV_USE_CATALOG) | (1u << POLICY_PRIV_USE_SCHEMA) |
           (1u << POLICY_PRIV_BROWSE);
}

/* 0 no statement matched, 1 matched but no LIMIT passes p, 2 passes. */
static int ref_delegation(const struct ref_policy *rp, const struct ref_subject *actor,
                          const struct ref_subject *subject, struct sec target, enum policy_priv p)
{
    int best = 0;
    for (int i = 0; i < rp->ndelegs; i++) {
        const struct ref_deleg *d = &rp->delegs[i];
        if (!ref_is(actor, d->actor) || !ref_is(subject, d->subject))
            continue;
        if (!d->everywhere && !covers(d->on, target))
            continue;
        int r = (ref_pass(d->limit) >> p) & 1 ? 2 : 1;
        if (r > best)
            best = r;
    }
    return best;
}

/* Independent table of policies/README.md "Token scopes". */
static uint32_t ref_scopes(const char *const *sc, size_t n)
{
    uint32_t read = (1u << POLICY_PRIV_USE_CATALOG) | (1u << POLICY_PRIV_USE_SCHEMA) |
                    (1u << POLICY_PRIV_BROWSE) | (1u << POLICY_PRIV_READ) |
                    (1u << POLICY_PRIV_EXECUTE);
    uint32_t write = read | (1u << POLICY_PRIV_MODIFY) | (1u << POLICY_PRIV_APPLY_TAG) |
                     (1u << POLICY_PRIV_CREATE_EXPERIMENT) | (1u << POLICY_PRIV_CREATE_MODEL) |
                     (1u << POLICY_PRIV_CREATE_MODEL_VERSION);
    uint32_t m = 0;
    bool restricted = false;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(sc[i], "mlflow:read"))
            m |= read;
        else if (!strcmp(sc[i], "mlflow:write"))
            m |= write;
        else if (!strcmp(sc[i], "mlflow:manage"))
            m |= write | (1u << POLICY_PRIV_MANAGE);
        restricted |= strncmp(sc[i], "mlflow:", 7) == 0;
    }
    return restricted ? m : POLICY_SCOPES_ALL;
}

static void test_engine_matches_reference(void **state)
{
    static char text[16384];
    struct ref_policy rp;
    size_t decisions = 0, allowed = 0, admin_only = 0;
    size_t obo_decisions = 0, obo_allowed = 0, obo_delegation_denied = 0;
    for (int n = 0; n < NPOL; n++) {
        generate(&rp, text, sizeof(text));
        struct policy_diag d;
        struct policy_text t = {"rand.policy", text, strlen(text)};
        policy_diag_init(&d);
        struct policy_snapshot *s = policy_compile_buffers(&t, 1, &d);
        if (!s)
            fail_msg("random policy refused: %s\n%s", d.v[0].text, text);
        policy_diag_deinit(&d);
        for (int q = 0; q < NQUERY; q++) {
            struct ref_subject rs = {0};
            const char *tg[3];
            size_t ntg = rnd(3);
            for (size_t i = 0; i < ntg; i++) {
                int g = (int)rnd(4);
                tg[i] = groups[g];
                rs.in_group[g] = true;
            }
            rs.sp = rnd(4) == 0;
            rs.name = rs.sp ? sps[rnd(2)] : users[rnd(4)];
            ref_closure(&rp, &rs);
            struct sec target = rand_sec();
            enum policy_priv p;
            do {
                p = (enum policy_priv)rnd(POLICY_PRIV_ALL_PRIVILEGES);
            } while (!policy_priv_applies(p, target.kind));
            const char *owners[] = {NULL, "u0@x", "group:g1", "sp:bot0", "u1@x"};
            const char *req_owner = owners[rnd(5)];
            char cn[8], sn[8], on[8];
            snprintf(cn, sizeof(cn), "c%d", target.c);
            snprintf(sn, sizeof(sn), "s%d", target.s);
            snprintf(on, sizeof(on), "o%d", target.o);
            struct policy_object obj = {.kind = target.kind, .catalog = {cn, strlen(cn)}};
            if (target.s >= 0)
                obj.schema = (struct policy_str){sn, strlen(sn)};
            if (target.o >= 0)
                obj.name = (struct policy_str){on, strlen(on)};
            if (req_owner)
                obj.owner = (struct policy_str){req_owner, strlen(req_owner)};
            struct policy_subject who = {rs.name, rs.sp, tg, ntg};
            struct policy_decision dec;
            bool r_admin, r_admin_only;
            bool want = ref_decide(&rp, &rs, p, target, req_owner, &r_admin, &r_admin_only);
            assert_int_equal(policy_decide(s, &who, p, &obj, &dec), 0);
            if (dec.allowed != want || dec.admin != r_admin ||
                (dec.reason == POLICY_REASON_ADMIN) != r_admin_only) {
                char ex[8192];
                policy_explain(s, &who, p, &obj, ex, sizeof(ex), NULL);
                fail_msg("policy #%d query #%d: engine %s (admin %d, reason %s), reference %s "
                         "(admin %d)\n--- policy ---\n%s--- explain ---\n%s",
                         n, q, dec.allowed ? "allow" : "deny", dec.admin,
                         policy_reason_name(dec.reason), want ? "allow" : "deny", r_admin, text,
                         ex);
            }
            decisions++;
            allowed += want;
            admin_only += r_admin_only;

            /* The same question asked by an actor, under token scopes. */
            static const char *const scope_pool[] = {"mlflow:read", "mlflow:write", "mlflow:manage",
                                                     "openid", "mlflow:bogus"};
            const char *sc[3];
            size_t nsc = rnd(3);
            for (size_t i = 0; i < nsc; i++)
                sc[i] = scope_pool[rnd(5)];
            uint32_t smask = policy_scope_mask(sc, nsc);
            assert_int_equal(smask, ref_scopes(sc, nsc));
            struct ref_subject ra = {0};
            const char *ag[2];
            size_t nag = rnd(2);
            for (size_t i = 0; i < nag; i++) {
                int g = (int)rnd(4);
                ag[i] = groups[g];
                ra.in_group[g] = true;
            }
            ra.sp = rnd(4) != 0;
            ra.name = ra.sp ? sps[rnd(2)] : users[rnd(4)];
            ref_closure(&rp, &ra);
            struct policy_subject actor = {ra.name, ra.sp, ag, nag};
            bool use_actor = rnd(5) != 0;
            int rdel = use_actor ? ref_delegation(&rp, &ra, &rs, target, p) : 2;
            unsigned rlack = 0;
            if (rdel == 0)
                rlack |= POLICY_OBO_BIT(POLICY_OBO_NO_DELEGATION);
            if (rdel == 1)
                rlack |= POLICY_OBO_BIT(POLICY_OBO_LIMIT);
            if (!((smask >> p) & 1))
                rlack |= POLICY_OBO_BIT(POLICY_OBO_SCOPE);
            if (!want)
                rlack |= POLICY_OBO_BIT(POLICY_OBO_SUBJECT);
            struct policy_obo_decision od;
            assert_int_equal(
                policy_decide_obo(s, &who, use_actor ? &actor : NULL, smask, p, &obj, &od), 0);
            if (od.lacking != rlack || od.allowed != (rlack == 0) ||
                od.subject.allowed != dec.allowed ||
                (rlack && od.side != (enum policy_obo_side)__builtin_ctz(rlack))) {
                char ex[8192];
                policy_explain_obo(s, &who, use_actor ? &actor : NULL, smask, p, &obj, ex,
                                   sizeof(ex), NULL);
                fail_msg("policy #%d query #%d on behalf: engine lacking %#x, reference %#x\n"
                         "--- policy ---\n%s--- explain ---\n%s",
                         n, q, od.lacking, rlack, text, ex);
            }
            obo_decisions++;
            obo_allowed += rlack == 0;
            obo_delegation_denied += (rlack & POLICY_OBO_BIT(POLICY_OBO_LIMIT)) != 0;
        }
        policy_snapshot_unref(s);
    }
    print_message("%zu decisions compared (%zu allowed, %zu via admin only)\n", decisions, allowed,
                  admin_only);
    print_message("%zu on-behalf-of decisions compared (%zu allowed, %zu stopped by a LIMIT)\n",
                  obo_decisions, obo_allowed, obo_delegation_denied);
    assert_true(obo_allowed > obo_decisions / 50);
    assert_true(obo_delegation_denied > obo_decisions / 100);
    /* The generator must exercise both outcomes substantially. */
    assert_true(allowed > decisions / 20);
    assert_true(allowed < decisions - decisions / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
