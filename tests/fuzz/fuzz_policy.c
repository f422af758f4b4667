/*
 * libFuzzer target for the policy language (gateway/policy/lexer.c, parser.c, compile.c):
 * arbitrary bytes as one or two policy files (split at the first NUL), compiled; when the
 * input compiles, a few decisions and an explain run against it, and the name parser sees the
 * same bytes. Must never crash, hang, leak or trip a sanitizer. On-behalf-of decisions
 * (GRANT DELEGATION, token scopes) run too, and must be consistent: an allowed on-behalf-of
 * decision implies the subject's own decision allows, and the side named is a lacking one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    struct policy_text t[2] = {
        {"a.policy", text, nul ? (size_t)(nul - text) : size},
        {"b.policy", nul ? nul + 1 : "", nul ? size - (size_t)(nul - text) - 1 : 0}};
    struct policy_diag d;
    policy_diag_init(&d);
    struct policy_snapshot *s = policy_compile_buffers(t, nul ? 2 : 1, &d);
    char buf[2048];
    policy_diag_format(&d, buf, sizeof(buf));
    policy_diag_deinit(&d);

    char namebuf[256], err[256];
    struct policy_object obj;
    size_t nl = size < sizeof(namebuf) ? size : sizeof(namebuf);
    for (int k = 0; k < POLICY_KIND_COUNT; k++)
        policy_name_parse((enum policy_kind)k, text, nl, namebuf, &obj, err, sizeof(err));

    if (s) {
        const char *groups[] = {"risk", "admins", "g"};
        struct policy_subject who = {"alice@x", false, groups, 3};
        struct policy_object objs[] = {
            {POLICY_KIND_EXPERIMENT, {"risk", 4}, {"fraud", 5}, {"e", 1}, {"alice@x", 7}},
            {POLICY_KIND_MODEL, {"c", 1}, {"s", 1}, {"m", 1}, {"group:g", 7}},
            {POLICY_KIND_SCHEMA, {"risk", 4}, {"fraud", 5}, {NULL, 0}, {NULL, 0}},
            {POLICY_KIND_CATALOG, {"c", 1}, {NULL, 0}, {NULL, 0}, {NULL, 0}},
        };
        struct policy_decision dec;
        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
            for (int p = 0; p < POLICY_PRIV_COUNT; p++)
                policy_decide(s, &who, (enum policy_priv)p, &objs[i], &dec);
        policy_explain(s, &who, POLICY_PRIV_READ, &objs[0], buf, sizeof(buf), &dec);
        const char *agroups[] = {"agents", "g"};
        struct policy_subject actors[] = {{"bot", true, agroups, 2}, {"a@x", false, NULL, 0}};
        const char *sc[] = {"mlflow:read", "mlflow:write", "openid"};
        uint32_t masks[] = {POLICY_SCOPES_ALL, policy_scope_mask(sc, 1), policy_scope_mask(sc, 3)};
        struct policy_obo_decision od;
        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
            for (int p = 0; p < POLICY_PRIV_COUNT; p++)
                for (size_t a = 0; a < 3; a++) {
                    const struct policy_subject *act = a < 2 ? &actors[a] : NULL;
                    int rc = policy_decide_obo(s, &who, act, masks[(size_t)p % 3],
                                               (enum policy_priv)p, &objs[i], &od);
                    if (rc == 0 && od.allowed && !od.subject.allowed)
                        abort();
                    if (rc == 0 && !od.allowed && !(od.lacking & POLICY_OBO_BIT(od.side)))
                        abort();
                    policy_obo_message(&od, &who, act, &objs[i], buf, sizeof(buf));
                }
        policy_explain_obo(s, &who, &actors[0], masks[1], POLICY_PRIV_MODIFY, &objs[0], buf,
                           sizeof(buf), &od);
        for (size_t i = 0; i < policy_snapshot_delegation_count(s); i++) {
            struct policy_delegation_info di;
            policy_snapshot_delegation(s, i, &di);
        }
        for (size_t i = 0; i < policy_snapshot_grant_count(s); i++) {
            struct policy_grant_info g;
            policy_snapshot_grant(s, i, &g);
        }
        policy_snapshot_unref(s);
    }
    return 0;
}
