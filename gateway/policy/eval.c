/*
 * policy eval: policy_decide() and policy_explain() over an immutable snapshot. Runs on any
 * thread; policy_decide never allocates (all state lives in a stack context).
 *
 * Cost: O(depth x principals) hash look-ups, shaped for a snapshot much larger than the
 * caches, where every look-up into a big table is a likely cache miss: the misses are issued
 * together in a few rounds instead of one after the other.
 *   1. Hash the subject's user and token groups and the catalog / schema / object paths
 *      (incrementally, one pass over each name), and prefetch their home slots and the
 *      grant-table slots of every (level, principal) pair: a grant slot's position comes from
 *      the two names' hashes (ph_grant), so it is known before either id is.
 *   2. Find the first slot of each look-up whose hash matches and prefetch its key record.
 *   3. Look everything up for real (verifying names against the key records), add the
 *      policy's group closures (precomputed per principal at compile time), and probe one
 *      grant slot per (level, principal) -- skipping levels and principals that no grant
 *      names. A slot holds the privilege bit mask, so the per-level masks are OR-ed together
 *      once and every rule afterwards is bit arithmetic.
 * Only the grant that decides is dereferenced for its source (one more line).
 */
#include "policy/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define POLICY_MAX_PRINCIPALS 256 /* resolved principals per decision (user + groups) */
#define DIRECT_MAX            32  /* token principals whose look-ups are prefetched */
#define BIT(p)                (1u << (p))

struct step {
    enum policy_priv priv; /* what this step needs */
    int level;             /* on which level of the path */
    bool ok;
    enum policy_reason how; /* GRANT, OWNER or PARENT_OWNER when ok */
    int from;               /* level of the grant or of the owned securable */
    enum policy_priv matched;
    const struct gslot *g;
};

/* A resolved principal. */
struct rprin {
    uint64_t hash;
    uint32_t id;
    uint32_t flags;                  /* its key's flags */
    uint32_t closure_off, closure_n; /* its groups; 0 for a group added through a closure */
    uint32_t gpos[3];                /* grant-table position per level (gslot_pos) */
};

/* A principal of the token, hashed in round 1. */
struct direct {
    const char *name;
    size_t len;
    uint64_t hash;
    enum policy_principal_kind kind;
    uint32_t gpos[3];
    const struct idslot *cand; /* round 2: idmap_candidate */
};

struct ctx {
    const struct policy_snapshot *s;
    const struct policy_subject *who;
    const struct policy_object *obj;
    struct rprin p[POLICY_MAX_PRINCIPALS];
    size_t n;
    struct direct d[DIRECT_MAX];
    size_t nd;
    size_t npre; /* p[0..npre) had their grant slots prefetched in round 1 */
    bool admin;
    int depth;
    enum policy_kind kind[3];
    struct policy_str part[3];
    uint64_t shash[3];
    const struct idslot *scand[3];
    uint32_t sec[3];
    const struct key *skey[3];
    uint32_t mask[3];
    const struct gslot *src[3][POLICY_PRIV_COUNT];
    bool owns[3];
    bool owner_from_request; /* owns[depth-1] came from obj->owner */
    struct step steps[3];
    int nsteps;
};

static inline __attribute__((always_inline)) bool add_principal(struct ctx *c,
                                                                const struct rprin *p)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->p[i].id == p->id)
            return true;
    if (c->n == POLICY_MAX_PRINCIPALS)
        return false;
    c->p[c->n++] = *p;
    return true;
}

static inline __attribute__((always_inline)) void
direct_add(struct ctx *c, enum policy_principal_kind k, const char *name)
{
    struct direct *d = &c->d[c->nd++];
    d->name = name;
    d->len = strlen(name);
    d->kind = k;
    d->hash = ph_principal(k, name, d->len);
}

static inline void prefetch_cand(const struct idslot *sl, const struct blob *b)
{
    if (sl)
        __builtin_prefetch(b->data + sl->off);
}

/* Rounds 1 and 2. */
static void prefetch(struct ctx *c)
{
    const struct policy_snapshot *s = c->s;
    uint64_t path = PH_PATH_SEED;
    for (int j = 0; j < c->depth; j++) {
        path = ph_path_add(path, c->part[j]);
        c->shash[j] = ph_securable_at(path, c->kind[j]);
        __builtin_prefetch(idmap_home(&s->sec_map, c->shash[j]));
    }
    c->nd = 0;
    if (c->who->user)
        direct_add(c, c->who->service_principal ? POLICY_PRINCIPAL_SP : POLICY_PRINCIPAL_USER,
                   c->who->user);
    for (size_t i = 0; i < c->who->ngroups && c->nd < DIRECT_MAX; i++)
        if (c->who->groups[i])
            direct_add(c, POLICY_PRINCIPAL_GROUP, c->who->groups[i]);
    for (size_t i = 0; i < c->nd; i++) {
        struct direct *d = &c->d[i];
        __builtin_prefetch(idmap_home(&s->prin_map, d->hash));
        for (int j = 0; j < c->depth; j++) {
            d->gpos[j] = gslot_pos(s, c->shash[j], d->hash);
            __builtin_prefetch(&s->gslot[d->gpos[j]]);
        }
    }
    for (int j = 0; j < c->depth; j++) {
        c->scand[j] = idmap_candidate(&s->sec_map, c->shash[j]);
        prefetch_cand(c->scand[j], &s->skeys);
    }
    for (size_t i = 0; i < c->nd; i++) {
        c->d[i].cand = idmap_candidate(&s->prin_map, c->d[i].hash);
        prefetch_cand(c->d[i].cand, &s->pkeys);
    }
}

/* Round 3 for a token principal: the candidate's key is checked, and only when it is some
 * other name with the same hash does the full look-up run. */
static inline __attribute__((always_inline)) bool add_direct(struct ctx *c, const struct direct *d)
{
    const struct policy_snapshot *s = c->s;
    const struct key *key = NULL;
    uint32_t id = PNONE;
    if (d->cand) {
        key = blob_key(&s->pkeys, d->cand->off);
        if (key->kind == (uint8_t)d->kind && key->len == d->len &&
            memcmp(key->name, d->name, d->len) == 0)
            id = d->cand->id;
        else
            id = snap_find_principal_h(s, d->kind, d->name, d->len, d->hash, &key);
    }
    if (id == PNONE)
        return true;
    struct rprin p = {d->hash,
                      id,
                      key->flags,
                      key->u.p.closure_off,
                      key->u.p.closure_n,
                      {d->gpos[0], d->gpos[1], d->gpos[2]}};
    return add_principal(c, &p);
}

/* The subject's user/SP principal, its token groups, and their policy closures. */
static bool resolve(struct ctx *c)
{
    const struct policy_snapshot *s = c->s;
    size_t first_closure;
    c->n = 0;
    for (size_t i = 0; i < c->nd; i++)
        if (!add_direct(c, &c->d[i]))
            return false;
    c->npre = c->n;
    if (c->nd == DIRECT_MAX) { /* token groups beyond the prefetched ones */
        size_t seen = c->who->user ? 1 : 0;
        for (size_t i = 0; i < c->who->ngroups; i++) {
            const char *g = c->who->groups[i];
            if (!g || seen++ < DIRECT_MAX)
                continue;
            struct direct d = {g, strlen(g), 0, POLICY_PRINCIPAL_GROUP, {0, 0, 0}, NULL};
            d.hash = ph_principal(POLICY_PRINCIPAL_GROUP, g, d.len);
            d.cand = idmap_candidate(&s->prin_map, d.hash);
            if (!add_direct(c, &d))
                return false;
        }
    }
    first_closure = c->n;
    for (size_t i = 0; i < first_closure; i++)
        if (c->p[i].closure_n)
            __builtin_prefetch(&s->closure[c->p[i].closure_off]);
    for (size_t i = 0; i < first_closure; i++) {
        if (c->p[i].closure_n == 0)
            continue;
        const struct closure_ent *ce = &s->closure[c->p[i].closure_off];
        for (uint32_t j = 0; j < c->p[i].closure_n; j++) {
            struct rprin p = {ce[j].hash, ce[j].id, ce[j].flags, 0, 0, {0, 0, 0}};
            if (!add_principal(c, &p))
                return false;
        }
    }
    c->admin = false;
    if (s->admin != PNONE)
        for (size_t i = 0; i < c->n; i++)
            if (c->p[i].id == s->admin)
                c->admin = true;
    return true;
}

static bool in_set(const struct ctx *c, uint32_t id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->p[i].id == id)
            return true;
    return false;
}

/* Whether the owner recorded on the object (principal notation) is the subject. */
static bool request_owner_matches(const struct ctx *c)
{
    enum policy_principal_kind k;
    struct policy_str name;
    const char *err;
    const struct policy_subject *w = c->who;
    if (!c->obj->owner.ptr || c->obj->owner.len == 0)
        return false;
    if (principal_parse(c->obj->owner.ptr, c->obj->owner.len, &k, &name, &err) < 0)
        return false;
    if (k != POLICY_PRINCIPAL_GROUP) {
        if (!w->user || w->service_principal != (k == POLICY_PRINCIPAL_SP))
            return false;
        return strlen(w->user) == name.len && memcmp(w->user, name.ptr, name.len) == 0;
    }
    for (size_t i = 0; i < w->ngroups; i++)
        if (w->groups[i] && strlen(w->groups[i]) == name.len &&
            memcmp(w->groups[i], name.ptr, name.len) == 0)
            return true;
    for (size_t i = 0; i < c->n; i++) {
        const struct principal *p = &c->s->prin[c->p[i].id];
        if (p->kind == POLICY_PRINCIPAL_GROUP && p->name_len == name.len &&
            memcmp(p->name, name.ptr, name.len) == 0)
            return true;
    }
    return false;
}

/* Round 3 for the path: the levels' securables, their owners and the grant masks. */
static void load_levels(struct ctx *c)
{
    const struct policy_snapshot *s = c->s;
    uint32_t parent = PNONE;
    for (int j = 0; j < c->depth; j++) {
        c->mask[j] = 0;
        c->owns[j] = false;
        c->sec[j] = PNONE;
        if (j > 0 && parent == PNONE)
            continue; /* an unknown level has no known levels below it */
        const struct idslot *sl = c->scand[j];
        if (!sl) {
            parent = PNONE; /* no securable has this path's hash */
            continue;
        }
        const struct key *k = blob_key(&s->skeys, sl->off);
        if (k->kind == (uint8_t)c->kind[j] && k->u.s.parent == parent && k->len == c->part[j].len &&
            memcmp(k->name, c->part[j].ptr, c->part[j].len) == 0) {
            c->sec[j] = sl->id;
            c->skey[j] = k;
        } else { /* another name with the same hash: the full look-up */
            c->sec[j] =
                snap_find_securable_h(s, c->kind[j], parent, c->part[j], c->shash[j], &c->skey[j]);
        }
        parent = c->sec[j];
    }
    /* Grant slots of principals added through a closure (or beyond DIRECT_MAX) were not
     * prefetched in round 1. */
    for (int j = 0; j < c->depth; j++)
        if (c->sec[j] != PNONE && (c->skey[j]->flags & KEY_HAS_GRANTS))
            for (size_t i = c->npre; i < c->n; i++)
                if (c->p[i].flags & KEY_HAS_GRANTS) {
                    c->p[i].gpos[j] = gslot_pos(s, c->shash[j], c->p[i].hash);
                    __builtin_prefetch(&s->gslot[c->p[i].gpos[j]]);
                }
    for (int j = 0; j < c->depth; j++) {
        if (c->sec[j] == PNONE)
            continue;
        const struct key *k = c->skey[j];
        if (k->flags & KEY_HAS_GRANTS) {
            for (size_t i = 0; i < c->n; i++) {
                if (!(c->p[i].flags & KEY_HAS_GRANTS))
                    continue;
                const struct gslot *g =
                    snap_find_grant(s, c->sec[j], c->p[i].id, ph_grant(c->shash[j], c->p[i].hash));
                if (!g)
                    continue;
                uint32_t fresh = g->mask & ~c->mask[j];
                while (fresh) {
                    c->src[j][__builtin_ctz(fresh)] = g;
                    fresh &= fresh - 1;
                }
                c->mask[j] |= g->mask;
            }
        }
        if (k->u.s.owner != PNONE)
            c->owns[j] = in_set(c, k->u.s.owner);
    }
    c->owner_from_request = false;
    int t = c->depth - 1;
    if ((c->sec[t] == PNONE || c->skey[t]->u.s.owner == PNONE) && request_owner_matches(c)) {
        c->owns[t] = true;
        c->owner_from_request = true;
    }
}

/* priv held by grant on level t or an ancestor (nearest level wins; ALL PRIVILEGES covers
 * everything but MANAGE). */
static bool held(const struct ctx *c, enum policy_priv priv, int t, struct step *st)
{
    for (int j = t; j >= 0; j--) {
        enum policy_priv m;
        if (c->mask[j] & BIT(priv))
            m = priv;
        else if (priv != POLICY_PRIV_MANAGE && (c->mask[j] & BIT(POLICY_PRIV_ALL_PRIVILEGES)))
            m = POLICY_PRIV_ALL_PRIVILEGES;
        else
            continue;
        st->ok = true;
        st->how = POLICY_REASON_GRANT;
        st->from = j;
        st->matched = m;
        st->g = c->src[j][m];
        return true;
    }
    return false;
}

static bool owned(const struct ctx *c, int lo, int hi, enum policy_reason how, struct step *st)
{
    for (int j = hi; j >= lo; j--) {
        if (c->owns[j]) {
            st->ok = true;
            st->how = how;
            st->from = j;
            return true;
        }
    }
    return false;
}

static void step_init(struct step *st, enum policy_priv priv, int level)
{
    memset(st, 0, sizeof(*st));
    st->priv = priv;
    st->level = level;
    st->from = -1;
}

static void eval_main(struct ctx *c, enum policy_priv priv, struct step *st)
{
    int t = c->depth - 1;
    step_init(st, priv, t);
    if (owned(c, t, t, POLICY_REASON_OWNER, st))
        return;
    if ((priv == POLICY_PRIV_BROWSE || priv == POLICY_PRIV_MANAGE ||
         priv == POLICY_PRIV_USE_SCHEMA) &&
        owned(c, 0, t - 1, POLICY_REASON_PARENT_OWNER, st))
        return;
    if (priv != POLICY_PRIV_BROWSE) {
        held(c, priv, t, st);
        return;
    }
    /* BROWSE: any privilege that applies to the object's type implies it. */
    uint32_t implies = priv_applies_mask(c->kind[t]);
    for (int j = t; j >= 0; j--) {
        uint32_t m = c->mask[j] & implies;
        if (!m)
            continue;
        st->ok = true;
        st->how = POLICY_REASON_GRANT;
        st->from = j;
        st->matched =
            (m & BIT(POLICY_PRIV_BROWSE)) ? POLICY_PRIV_BROWSE : (enum policy_priv)__builtin_ctz(m);
        st->g = c->src[j][st->matched];
        return;
    }
}

/* Fills c->steps: traversal steps first, the requested privilege last. */
static void evaluate(struct ctx *c, enum policy_priv priv)
{
    int t = c->depth - 1;
    struct step *st;
    c->nsteps = 0;
    if (priv != POLICY_PRIV_BROWSE) {
        if (!(t == 0 && priv == POLICY_PRIV_USE_CATALOG)) {
            st = &c->steps[c->nsteps++];
            step_init(st, POLICY_PRIV_USE_CATALOG, 0);
            if (!owned(c, 0, 0, POLICY_REASON_OWNER, st))
                held(c, POLICY_PRIV_USE_CATALOG, 0, st);
        }
        if (t >= 1 && !(t == 1 && priv == POLICY_PRIV_USE_SCHEMA)) {
            st = &c->steps[c->nsteps++];
            step_init(st, POLICY_PRIV_USE_SCHEMA, 1);
            if (!owned(c, 1, 1, POLICY_REASON_OWNER, st) &&
                !owned(c, 0, 0, POLICY_REASON_PARENT_OWNER, st))
                held(c, POLICY_PRIV_USE_SCHEMA, 1, st);
        }
    }
    eval_main(c, priv, &c->steps[c->nsteps++]);
}

static void fill_decision(const struct ctx *c, enum policy_priv priv, struct policy_decision *out)
{
    const struct policy_snapshot *s = c->s;
    memset(out, 0, sizeof(*out));
    out->needed = priv;
    out->admin = c->admin;
    out->version = s->version;
    out->missing = priv;
    out->missing_on = c->kind[c->depth - 1];
    const struct step *fail = NULL;
    for (int i = 0; i < c->nsteps && !fail; i++)
        if (!c->steps[i].ok)
            fail = &c->steps[i];
    if (fail) {
        out->allowed = c->admin;
        out->reason = c->admin                           ? POLICY_REASON_ADMIN
                      : fail == &c->steps[c->nsteps - 1] ? POLICY_REASON_NO_PRIVILEGE
                                                         : POLICY_REASON_NO_TRAVERSE;
        out->missing = fail->priv;
        out->missing_on = c->kind[fail->level];
        return;
    }
    const struct step *m = &c->steps[c->nsteps - 1];
    out->allowed = true;
    out->reason = m->how;
    out->inherited_from = c->kind[m->from];
    out->matched = m->how == POLICY_REASON_GRANT ? m->matched : priv;
    if (m->how == POLICY_REASON_GRANT) {
        out->source = *gslot_source(s, m->g, m->matched);
        out->principal = s->prin[m->g->prin].display;
    } else if (!(c->owner_from_request && m->from == c->depth - 1)) {
        const struct securable *sc = &s->sec[c->sec[m->from]];
        out->source = sc->owner_src;
        out->principal = s->prin[sc->owner].display;
    }
}

static bool well_formed(const struct policy_snapshot *s, const struct policy_subject *who,
                        enum policy_priv priv, const struct policy_object *obj)
{
    if (!s || !who || !obj || (unsigned)obj->kind >= POLICY_KIND_COUNT ||
        (unsigned)priv >= POLICY_PRIV_COUNT || priv == POLICY_PRIV_ALL_PRIVILEGES ||
        !policy_priv_applies(priv, obj->kind) || (who->ngroups > 0 && !who->groups))
        return false;
    const struct policy_str *parts[3] = {&obj->catalog, &obj->schema, &obj->name};
    for (int i = 0; i < kind_depth(obj->kind); i++)
        if (!parts[i]->ptr || parts[i]->len == 0)
            return false;
    return true;
}

static void invalid(const struct policy_snapshot *s, enum policy_priv priv,
                    struct policy_decision *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    out->reason = POLICY_REASON_INVALID;
    out->needed = priv;
    out->missing = priv;
    out->version = s ? s->version : NULL;
}

static int run(struct ctx *c, const struct policy_snapshot *s, const struct policy_subject *who,
               enum policy_priv priv, const struct policy_object *obj)
{
    if (!well_formed(s, who, priv, obj))
        return -1;
    c->s = s;
    c->who = who;
    c->obj = obj;
    c->depth = kind_depth(obj->kind);
    c->part[0] = obj->catalog;
    c->part[1] = obj->schema;
    c->part[2] = obj->name;
    for (int j = 0; j < c->depth; j++)
        c->kind[j] = j == 0 ? POLICY_KIND_CATALOG : j == 1 ? POLICY_KIND_SCHEMA : obj->kind;
    prefetch(c);
    if (!resolve(c))
        return -1;
    load_levels(c);
    evaluate(c, priv);
    return 0;
}

int policy_decide(const struct policy_snapshot *s, const struct policy_subject *who,
                  enum policy_priv priv, const struct policy_object *obj,
                  struct policy_decision *out)
{
    struct ctx c;
    if (!out || run(&c, s, who, priv, obj) < 0) {
        invalid(s, priv, out);
        return -1;
    }
    fill_decision(&c, priv, out);
    return 0;
}

/* ---- on behalf of a user ---- */

/* The subject's decision is c's; adds the scope and delegation sides. */
static void decide_obo(const struct ctx *c, const struct policy_subject *actor, uint32_t scope_mask,
                       enum policy_priv priv, struct policy_obo_decision *out)
{
    const struct policy_snapshot *s = c->s;
    memset(out, 0, sizeof(*out));
    fill_decision(c, priv, &out->subject);
    out->version = s->version;
    out->scope_mask = scope_mask;
    out->on_behalf = actor != NULL;
    if (!out->subject.allowed)
        out->lacking |= POLICY_OBO_BIT(POLICY_OBO_SUBJECT);
    if (!(scope_mask & BIT(priv)))
        out->lacking |= POLICY_OBO_BIT(POLICY_OBO_SCOPE);
    if (actor) {
        uint32_t aids[DELEG_MAX_ACTOR], sids[POLICY_MAX_PRINCIPALS];
        size_t na = deleg_resolve_actor(s, actor, aids, DELEG_MAX_ACTOR);
        for (size_t i = 0; i < c->n; i++)
            sids[i] = c->p[i].id;
        struct deleg_match m;
        deleg_find(s, aids, na, sids, c->n, c->sec, c->depth, priv, &m);
        out->delegated = m.first != NULL;
        out->delegation_mask = m.mask;
        const struct deleg_rec *d = m.pass ? m.pass : m.first;
        if (d) {
            out->delegation = d->src;
            out->delegation_actor = s->prin[d->actor].display;
            out->delegation_for = s->prin[d->subject].display;
        }
        if (!m.first)
            out->lacking |= POLICY_OBO_BIT(POLICY_OBO_NO_DELEGATION);
        else if (!m.pass)
            out->lacking |= POLICY_OBO_BIT(POLICY_OBO_LIMIT);
    }
    out->allowed = out->lacking == 0;
    out->side = out->lacking ? (enum policy_obo_side)__builtin_ctz(out->lacking) : POLICY_OBO_OK;
}

static bool actor_ok(const struct policy_subject *actor)
{
    return !actor || actor->ngroups == 0 || actor->groups;
}

static void obo_invalid(const struct policy_snapshot *s, const struct policy_subject *actor,
                        uint32_t scope_mask, enum policy_priv priv, struct policy_obo_decision *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    invalid(s, priv, &out->subject);
    out->side = POLICY_OBO_INVALID;
    out->lacking = POLICY_OBO_BIT(POLICY_OBO_INVALID);
    out->on_behalf = actor != NULL;
    out->scope_mask = scope_mask;
    out->version = s ? s->version : NULL;
}

int policy_decide_obo(const struct policy_snapshot *s, const struct policy_subject *subject,
                      const struct policy_subject *actor, uint32_t scope_mask,
                      enum policy_priv priv, const struct policy_object *obj,
                      struct policy_obo_decision *out)
{
    struct ctx c;
    if (!out || !actor_ok(actor) || run(&c, s, subject, priv, obj) < 0) {
        obo_invalid(s, actor, scope_mask, priv, out);
        return -1;
    }
    decide_obo(&c, actor, scope_mask, priv, out);
    return 0;
}

/* ---- explain ---- */

static void ap_ident(struct policy_out *o, const char *s, size_t len)
{
    char tmp[600];
    size_t pos = 0;
    name_append(tmp, sizeof(tmp), &pos, s, len);
    policy_ap(o, "%s", tmp);
}

static void ap_level(struct policy_out *o, const struct ctx *c, int j)
{
    char name[1024];
    name_join(c->part, j + 1, name, sizeof(name));
    policy_ap(o, "%s %s", policy_kind_name(c->kind[j]), name);
}

static void ap_grant(struct policy_out *o, const struct ctx *c, const struct step *st)
{
    const struct policy_snapshot *s = c->s;
    const struct policy_source *src = gslot_source(s, st->g, st->matched);
    const char *d = s->prin[st->g->prin].display;
    policy_ap(o, "GRANT %s ON ", policy_priv_name(st->matched));
    ap_level(o, c, st->from);
    policy_ap(o, " TO ");
    ap_ident(o, d, strlen(d));
    policy_ap(o, " (%s:%u:%u)", src->file, src->line, src->col);
}

static void ap_owner(struct policy_out *o, const struct ctx *c, int j)
{
    const struct policy_snapshot *s = c->s;
    if (c->sec[j] != PNONE && s->sec[c->sec[j]].owner != PNONE) {
        const struct securable *sc = &s->sec[c->sec[j]];
        const char *d = s->prin[sc->owner].display;
        ap_ident(o, d, strlen(d));
        policy_ap(o, " (ALTER ... OWNER TO at %s:%u:%u)", sc->owner_src.file, sc->owner_src.line,
                  sc->owner_src.col);
    } else if (j == c->depth - 1 && c->obj->owner.len > 0) {
        ap_ident(o, c->obj->owner.ptr, c->obj->owner.len);
        policy_ap(o, " (recorded on the object)");
    } else {
        policy_ap(o, "none");
    }
}

static void ap_step(struct policy_out *o, const struct ctx *c, const struct step *st, int idx)
{
    policy_ap(o, "  %d. %s on ", idx, policy_priv_name(st->priv));
    ap_level(o, c, st->level);
    if (!st->ok) {
        policy_ap(o, ": MISSING (no grant on ");
        for (int j = st->level; j >= 0; j--) {
            ap_level(o, c, j);
            policy_ap(o, "%s", j > 0 ? ", " : "");
        }
        policy_ap(o, " to any of the subject's principals, and not owned)\n");
        return;
    }
    policy_ap(o, ": held");
    if (st->how == POLICY_REASON_GRANT) {
        policy_ap(o, " via ");
        ap_grant(o, c, st);
        if (st->from != st->level) {
            policy_ap(o, ", inherited from ");
            ap_level(o, c, st->from);
        }
        if (st->matched != st->priv)
            policy_ap(o, " (%s implies %s)", policy_priv_name(st->matched),
                      policy_priv_name(st->priv));
    } else {
        policy_ap(o, " as %s of ",
                  st->how == POLICY_REASON_OWNER ? "owner" : "owner of the parent");
        ap_level(o, c, st->from);
        policy_ap(o, ": ");
        ap_owner(o, c, st->from);
    }
    policy_ap(o, "\n");
}

static void ap_subject(struct policy_out *o, const struct ctx *c)
{
    const struct policy_snapshot *s = c->s;
    const struct policy_subject *w = c->who;
    policy_ap(o, "subject: %s %s\n", w->service_principal ? "service principal" : "user",
              w->user ? w->user : "(none)");
    policy_ap(o, "  groups from token:");
    if (w->ngroups == 0)
        policy_ap(o, " none");
    for (size_t i = 0; i < w->ngroups; i++) {
        const char *g = w->groups[i] ? w->groups[i] : "";
        bool known = snap_find_principal(s, POLICY_PRINCIPAL_GROUP, g, strlen(g)) != PNONE;
        policy_ap(o, "%s %s%s", i ? "," : "", g, known ? "" : " (not in policy)");
    }
    policy_ap(o, "\n  groups from policy (CREATE GROUP, transitive):");
    bool any = false;
    for (size_t i = 0; i < c->n; i++) {
        const struct principal *p = &s->prin[c->p[i].id];
        bool from_token = false;
        if (p->kind != POLICY_PRINCIPAL_GROUP)
            continue;
        for (size_t k = 0; k < w->ngroups; k++)
            if (w->groups[k] && strcmp(w->groups[k], p->name) == 0)
                from_token = true;
        if (from_token)
            continue;
        policy_ap(o, "%s %s", any ? "," : "", p->name);
        any = true;
    }
    policy_ap(o, "%s\n", any ? "" : " none");
    if (s->admin == PNONE)
        policy_ap(o, "  admin: no (the policy sets no admin group)\n");
    else
        policy_ap(o, "  admin: %s (admin group %s, %s:%u)\n", c->admin ? "yes" : "no",
                  s->prin[s->admin].name, s->admin_src.file, s->admin_src.line);
}

size_t policy_explain(const struct policy_snapshot *s, const struct policy_subject *who,
                      enum policy_priv priv, const struct policy_object *obj, char *buf,
                      size_t buflen, struct policy_decision *dec)
{
    struct policy_out o = {buf, buflen, 0};
    struct policy_decision local;
    struct policy_decision *d = dec ? dec : &local;
    struct ctx *c = calloc(1, sizeof(*c));
    if (buflen > 0)
        buf[0] = '\0';
    if (!c || run(c, s, who, priv, obj) < 0) {
        invalid(s, priv, d);
        policy_ap(&o, "decision: DENY (invalid query: %s)\n",
                  !c ? "out of memory"
                  : (obj && (unsigned)obj->kind < POLICY_KIND_COUNT && priv < POLICY_PRIV_COUNT &&
                     priv != POLICY_PRIV_ALL_PRIVILEGES && !policy_priv_applies(priv, obj->kind))
                      ? "the privilege does not apply to this securable type"
                      : "malformed subject, object or privilege, or too many principals");
        free(c);
        return o.len;
    }
    fill_decision(c, priv, d);
    policy_ap(&o, "decision: %s", d->allowed ? "ALLOW" : "DENY");
    policy_ap(&o, " (%s on ", policy_priv_name(priv));
    ap_level(&o, c, c->depth - 1);
    policy_ap(&o, ")\n");
    switch (d->reason) {
    case POLICY_REASON_ADMIN:
        policy_ap(&o,
                  "reason: admin: the subject is in the admin group; without it the answer "
                  "would be DENY (missing %s on ",
                  policy_priv_name(d->missing));
        for (int j = 0; j < c->depth; j++)
            if (c->kind[j] == d->missing_on)
                ap_level(&o, c, j);
        policy_ap(&o, ")\n");
        break;
    case POLICY_REASON_NO_PRIVILEGE:
    case POLICY_REASON_NO_TRAVERSE:
        policy_ap(&o, "reason: %s: missing %s on ",
                  d->reason == POLICY_REASON_NO_TRAVERSE ? "cannot reach the securable"
                                                         : "privilege not held",
                  policy_priv_name(d->missing));
        for (int j = 0; j < c->depth; j++)
            if (c->kind[j] == d->missing_on)
                ap_level(&o, c, j);
        policy_ap(&o, " (default deny)\n");
        break;
    default:
        policy_ap(&o, "reason: %s\n",
                  d->reason == POLICY_REASON_GRANT   ? "granted"
                  : d->reason == POLICY_REASON_OWNER ? "the subject owns the securable"
                                                     : "the subject owns a containing securable");
        break;
    }
    policy_ap(&o, "policy version: %s\n", s->version);
    ap_subject(&o, c);
    for (int j = 0; j < c->depth; j++) {
        policy_ap(&o, "owner of ");
        ap_level(&o, c, j);
        policy_ap(&o, ": ");
        ap_owner(&o, c, j);
        policy_ap(&o, "\n");
    }
    policy_ap(&o, "chain:\n");
    for (int i = 0; i < c->nsteps; i++)
        ap_step(&o, c, &c->steps[i], i + 1);
    free(c);
    return o.len;
}

/* One delegation statement, in the language's notation. */
static void ap_delegation(struct policy_out *o, const struct policy_snapshot *s,
                          const struct deleg_rec *d)
{
    char privs[300];
    policy_privs_format(d->mask, false, privs, sizeof(privs));
    policy_ap(o, "GRANT DELEGATION ");
    if (d->sec != PNONE) {
        const struct securable *c = &s->sec[d->sec];
        char name[1024];
        name_join(c->part, kind_depth(c->kind), name, sizeof(name));
        policy_ap(o, "ON %s %s ", policy_kind_name(c->kind), name);
    }
    policy_ap(o, "FOR ");
    ap_ident(o, s->prin[d->subject].display, strlen(s->prin[d->subject].display));
    policy_ap(o, " TO ");
    ap_ident(o, s->prin[d->actor].display, strlen(s->prin[d->actor].display));
    policy_ap(o, " LIMIT %s (%s:%u:%u)", privs, d->src.file, d->src.line, d->src.col);
}

size_t policy_explain_obo(const struct policy_snapshot *s, const struct policy_subject *subject,
                          const struct policy_subject *actor, uint32_t scope_mask,
                          enum policy_priv priv, const struct policy_object *obj, char *buf,
                          size_t buflen, struct policy_obo_decision *dec)
{
    struct policy_out o = {buf, buflen, 0};
    struct policy_obo_decision local;
    struct policy_obo_decision *d = dec ? dec : &local;
    char msg[512], privs[300];
    struct ctx *c = calloc(1, sizeof(*c));
    if (buflen > 0)
        buf[0] = '\0';
    if (!c || !actor_ok(actor) || run(c, s, subject, priv, obj) < 0) {
        obo_invalid(s, actor, scope_mask, priv, d);
        policy_ap(&o, "decision: DENY (invalid query: %s)\n",
                  !c ? "out of memory" : "malformed subject, actor, object or privilege");
        free(c);
        return o.len;
    }
    decide_obo(c, actor, scope_mask, priv, d);
    policy_obo_message(d, subject, actor, obj, msg, sizeof(msg));
    policy_ap(&o, "on-behalf-of decision: %s (%s on ", d->allowed ? "ALLOW" : "DENY",
              policy_priv_name(priv));
    ap_level(&o, c, c->depth - 1);
    policy_ap(&o, ")\n");
    if (!d->allowed) {
        policy_ap(&o, "reason: %s: %s\n", policy_obo_side_name(d->side), msg);
        for (int side = d->side + 1; side < POLICY_OBO_INVALID; side++)
            if (d->lacking & POLICY_OBO_BIT(side))
                policy_ap(&o, "also lacking: %s\n",
                          policy_obo_side_name((enum policy_obo_side)side));
    }
    if (scope_mask == POLICY_SCOPES_ALL) {
        policy_ap(&o, "token scopes: not restricted (no mlflow: scope)\n");
    } else {
        policy_privs_format(scope_mask, false, privs, sizeof(privs));
        policy_ap(&o, "token scopes allow: %s\n", privs);
    }
    if (actor) {
        uint32_t aids[DELEG_MAX_ACTOR];
        size_t na = deleg_resolve_actor(s, actor, aids, DELEG_MAX_ACTOR);
        policy_ap(&o, "actor: %s %s", actor->service_principal ? "service principal" : "user",
                  actor->user ? actor->user : "(none)");
        policy_ap(&o, "; its principals in the policy:");
        for (size_t i = 0; i < na; i++)
            policy_ap(&o, "%s %s", i ? "," : "", s->prin[aids[i]].display);
        policy_ap(&o, "%s\ndelegations naming the actor or its groups:\n", na ? "" : " none");
        bool any = false;
        for (size_t i = 0; i < na; i++) {
            const struct principal *a = &s->prin[aids[i]];
            for (uint32_t k = 0; k < a->deleg_n; k++) {
                const struct deleg_rec *r = &s->deleg[s->deleg_by_actor[a->deleg_off + k]];
                bool subj = in_set(c, r->subject), here = r->sec == PNONE;
                for (int j = 0; j < c->depth && !here; j++)
                    here = c->sec[j] == r->sec;
                policy_ap(&o, "  ");
                ap_delegation(&o, s, r);
                policy_ap(&o, ": %s\n",
                          !subj   ? "does not cover the subject"
                          : !here ? "does not cover this securable"
                          : (deleg_pass_mask(r->mask) & BIT(priv))
                              ? "matches, passes the privilege"
                              : "matches, LIMIT does not pass it");
                any = true;
            }
        }
        if (!any)
            policy_ap(&o, "  none\n");
    }
    policy_ap(&o, "the subject's own decision:\n");
    size_t need = policy_explain(s, subject, priv, obj, o.len < o.cap ? o.buf + o.len : NULL,
                                 o.len < o.cap ? o.cap - o.len : 0, NULL);
    o.len += need;
    free(c);
    return o.len;
}
