/*
 * policy delegation: the on-behalf-of side of the policy engine. Owns the index of GRANT
 * DELEGATION statements by actor (built once at compile time), the resolution of an actor to
 * its policy principals, the delegation match of a decision, the mapping of token scopes to
 * privileges, and the names and client-safe sentences of on-behalf-of decisions. The
 * decision itself (policy_decide_obo) runs in eval.c, which owns the subject's evaluation.
 * Pure functions over an immutable snapshot; any thread; nothing on the decision path
 * allocates.
 */
#include "policy/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define BIT(p) (1u << (p))
#define IMPLIED                                                                                    \
    (BIT(POLICY_PRIV_USE_CATALOG) | BIT(POLICY_PRIV_USE_SCHEMA) | BIT(POLICY_PRIV_BROWSE))

uint32_t deleg_pass_mask(uint32_t limit)
{
    uint32_t m = limit & POLICY_SCOPES_ALL;
    if (m & BIT(POLICY_PRIV_ALL_PRIVILEGES))
        m |= POLICY_SCOPES_ALL & ~BIT(POLICY_PRIV_MANAGE);
    return (m | IMPLIED) & ~BIT(POLICY_PRIV_ALL_PRIVILEGES);
}

/* ---- compile time ---- */

int deleg_build_index(struct policy_snapshot *s)
{
    if (s->ndeleg == 0)
        return 0;
    s->deleg_by_actor = malloc(s->ndeleg * sizeof(*s->deleg_by_actor));
    if (!s->deleg_by_actor)
        return -1;
    for (size_t i = 0; i < s->nprin; i++)
        s->prin[i].deleg_off = s->prin[i].deleg_n = 0;
    for (size_t i = 0; i < s->ndeleg; i++)
        s->prin[s->deleg[i].actor].deleg_n++;
    uint32_t off = 0;
    for (size_t i = 0; i < s->nprin; i++) {
        s->prin[i].deleg_off = off;
        off += s->prin[i].deleg_n;
        s->prin[i].deleg_n = 0;
    }
    /* Statement order within each actor is kept: "first matching statement" is well defined. */
    for (size_t i = 0; i < s->ndeleg; i++) {
        struct principal *a = &s->prin[s->deleg[i].actor];
        s->deleg_by_actor[a->deleg_off + a->deleg_n++] = (uint32_t)i;
    }
    return 0;
}

/* ---- decision time ---- */

static bool has_id(const uint32_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static size_t add_with_closure(const struct policy_snapshot *s, uint32_t id, uint32_t *ids,
                               size_t n, size_t max)
{
    if (id == PNONE || has_id(ids, n, id) || n == max)
        return n;
    ids[n++] = id;
    const struct principal *p = &s->prin[id];
    for (uint32_t j = 0; j < p->closure_n && n < max; j++) {
        uint32_t g = s->closure[p->closure_off + j].id;
        if (!has_id(ids, n, g))
            ids[n++] = g;
    }
    return n;
}

size_t deleg_resolve_actor(const struct policy_snapshot *s, const struct policy_subject *actor,
                           uint32_t *ids, size_t max)
{
    size_t n = 0;
    if (!actor)
        return 0;
    if (actor->user)
        n = add_with_closure(s,
                             snap_find_principal(s,
                                                 actor->service_principal ? POLICY_PRINCIPAL_SP
                                                                          : POLICY_PRINCIPAL_USER,
                                                 actor->user, strlen(actor->user)),
                             ids, n, max);
    for (size_t i = 0; i < actor->ngroups && actor->groups; i++)
        if (actor->groups[i])
            n = add_with_closure(s,
                                 snap_find_principal(s, POLICY_PRINCIPAL_GROUP, actor->groups[i],
                                                     strlen(actor->groups[i])),
                                 ids, n, max);
    return n;
}

void deleg_find(const struct policy_snapshot *s, const uint32_t *actor_ids, size_t nactor,
                const uint32_t *subject_ids, size_t nsubject, const uint32_t *sec, int depth,
                enum policy_priv priv, struct deleg_match *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nactor; i++) {
        const struct principal *a = &s->prin[actor_ids[i]];
        for (uint32_t k = 0; k < a->deleg_n; k++) {
            const struct deleg_rec *d = &s->deleg[s->deleg_by_actor[a->deleg_off + k]];
            if (!has_id(subject_ids, nsubject, d->subject))
                continue;
            bool here = d->sec == PNONE;
            for (int j = 0; j < depth && !here; j++)
                here = sec[j] == d->sec;
            if (!here)
                continue;
            uint32_t m = deleg_pass_mask(d->mask);
            out->mask |= m;
            if (!out->first || d < out->first)
                out->first = d;
            if ((m & BIT(priv)) && (!out->pass || d < out->pass))
                out->pass = d;
        }
    }
}

/* ---- token scopes ---- */

uint32_t policy_scope_mask(const char *const *scopes, size_t n)
{
    static const uint32_t read = IMPLIED | BIT(POLICY_PRIV_READ) | BIT(POLICY_PRIV_EXECUTE);
    static const uint32_t write = read | BIT(POLICY_PRIV_MODIFY) | BIT(POLICY_PRIV_APPLY_TAG) |
                                  BIT(POLICY_PRIV_CREATE_EXPERIMENT) |
                                  BIT(POLICY_PRIV_CREATE_MODEL) |
                                  BIT(POLICY_PRIV_CREATE_MODEL_VERSION);
    bool restricted = false;
    uint32_t m = 0;
    for (size_t i = 0; scopes && i < n; i++) {
        const char *sc = scopes[i];
        if (!sc || strncmp(sc, "mlflow:", 7) != 0)
            continue;
        restricted = true;
        if (strcmp(sc + 7, "read") == 0)
            m |= read;
        else if (strcmp(sc + 7, "write") == 0)
            m |= write;
        else if (strcmp(sc + 7, "manage") == 0)
            m |= write | BIT(POLICY_PRIV_MANAGE);
    }
    return restricted ? m : POLICY_SCOPES_ALL;
}

/* ---- names and messages ---- */

const char *policy_obo_side_name(enum policy_obo_side side)
{
    static const char *const n[] = {"ok", "no-delegation", "limit", "scope", "subject", "invalid"};
    return (unsigned)side < sizeof(n) / sizeof(n[0]) ? n[side] : "?";
}

size_t policy_privs_format(uint32_t mask, bool skip_implied, char *buf, size_t buflen)
{
    struct policy_out o = {buf, buflen, 0};
    if (buflen)
        buf[0] = '\0';
    if (skip_implied)
        mask &= ~IMPLIED;
    mask &= POLICY_SCOPES_ALL;
    if (!mask)
        policy_ap(&o, "nothing");
    for (int p = 0; p < POLICY_PRIV_COUNT; p++)
        if (mask & BIT(p))
            policy_ap(&o, "%s%s", o.len ? ", " : "", policy_priv_name((enum policy_priv)p));
    return o.len;
}

/* "sp:name" or the user name, for messages. */
static void ap_who(struct policy_out *o, const struct policy_subject *w)
{
    if (!w || !w->user)
        policy_ap(o, "(unknown)");
    else
        policy_ap(o, "%s%s", w->service_principal ? "sp:" : "", w->user);
}

/* "EXPERIMENT a.b.c", or the containing level named by kind. */
static void ap_object(struct policy_out *o, const struct policy_object *obj, enum policy_kind kind)
{
    struct policy_object t = *obj;
    char name[1024];
    if (kind == POLICY_KIND_CATALOG || kind == POLICY_KIND_SCHEMA) {
        t.kind = kind;
        if (kind == POLICY_KIND_CATALOG)
            t.schema.len = 0;
        t.name.len = 0;
    }
    policy_name_format(&t, name, sizeof(name));
    policy_ap(o, "%s %s", policy_kind_name(t.kind), name);
}

size_t policy_obo_message(const struct policy_obo_decision *d, const struct policy_subject *subject,
                          const struct policy_subject *actor, const struct policy_object *obj,
                          char *buf, size_t buflen)
{
    struct policy_out o = {buf, buflen, 0};
    char have[256];
    if (buflen)
        buf[0] = '\0';
    const char *need = policy_priv_name(d->subject.needed);
    switch (d->side) {
    case POLICY_OBO_OK:
        policy_ap(&o, "allowed");
        break;
    case POLICY_OBO_NO_DELEGATION:
        policy_ap(&o, "agent ");
        ap_who(&o, actor);
        policy_ap(&o, " has no delegation to act for ");
        ap_who(&o, subject);
        policy_ap(&o, " on ");
        ap_object(&o, obj, obj->kind);
        break;
    case POLICY_OBO_LIMIT:
        policy_privs_format(d->delegation_mask, true, have, sizeof(have));
        policy_ap(&o, "delegation of ");
        ap_who(&o, actor);
        policy_ap(&o, " for ");
        ap_who(&o, subject);
        policy_ap(&o, " limits to %s; %s needed", have, need);
        break;
    case POLICY_OBO_SCOPE:
        policy_privs_format(d->scope_mask, true, have, sizeof(have));
        policy_ap(&o, "the token's scopes allow %s; %s needed", have, need);
        break;
    case POLICY_OBO_SUBJECT:
        ap_who(&o, subject);
        policy_ap(&o, " lacks %s on ", policy_priv_name(d->subject.missing));
        ap_object(&o, obj, d->subject.missing_on);
        break;
    default:
        policy_ap(&o, "invalid authorization query");
        break;
    }
    return o.len;
}
