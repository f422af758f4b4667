/*
 * obo: see obo.h. Both forms reuse authn.c's credential check (authn_check_role) so every
 * token gets the same verification, caching and revocation as an ordinary credential; this
 * file only combines the results and applies the on-behalf-of rules.
 */
#include "auth/obo.h"

#include "auth/authn_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *authn_obo_header(const struct authn *a)
{
    return a->obo_header;
}

const char *authn_obo_header_lc(const struct authn *a)
{
    return a->obo_header_lc;
}

unsigned authn_obo_forms(const struct authn *a)
{
    return a->obo_forms;
}

void authn_identity_release(struct authn_identity *id)
{
    if (!id)
        return;
    principal_release(id->subject);
    principal_release(id->caller);
    memset(id, 0, sizeof(*id));
}

static enum authn_result refuse(struct authn *a, struct authn_failure *f, bool subject,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum authn_result refuse(struct authn *a, struct authn_failure *f, bool subject,
                                const char *fmt, ...)
{
    va_list ap;
    atomic_fetch_add_explicit(&a->st_invalid, 1, memory_order_relaxed);
    va_start(ap, fmt);
    vsnprintf(f->desc, sizeof(f->desc), fmt, ap);
    va_end(ap);
    f->subject = subject;
    return AUTHN_INVALID;
}

/* An ordinary request, or the exchange form when the token carries an act chain. */
static enum authn_result single(struct authn *a, const struct principal *p,
                                struct authn_identity *out, struct authn_failure *f)
{
    if (p->nact > 0 && !(a->obo_forms & AUTHN_OBO_EXCHANGE_FORM)) {
        snprintf(f->issuer, sizeof(f->issuer), "%s", p->issuer);
        principal_release(p);
        return refuse(a, f, false,
                      "token names an actor (act claim) but exchanged on-behalf-of tokens are "
                      "not enabled");
    }
    out->subject = p;
    out->form = p->nact > 0 ? AUTHN_OBO_EXCHANGE : AUTHN_OBO_NONE;
    out->nactors = p->nact;
    for (size_t i = 0; i < p->nact; i++)
        out->actors[i] = (struct authn_actor){p->act[i].id, p->act[i].issuer, NULL};
    return AUTHN_OK;
}

enum authn_result authn_obo_from_caller(struct authn *a, struct authn_cache *c,
                                        const struct principal *caller, const char *subject_token,
                                        size_t subject_len, int64_t now_ms,
                                        struct authn_identity *out, struct authn_failure *f)
{
    memset(out, 0, sizeof(*out));
    f->desc[0] = f->issuer[0] = '\0';
    f->subject = false;
    if (!subject_token)
        return single(a, caller, out, f);
    const char *hdr = a->obo_header;
    if (!(a->obo_forms & AUTHN_OBO_HEADER_FORM)) {
        principal_release(caller);
        return refuse(a, f, true, "on-behalf-of requests with a subject token (%s) are not enabled",
                      hdr);
    }
    if (caller->nact > 0) {
        principal_release(caller);
        return refuse(a, f, false,
                      "a credential that already acts for someone (act claim) cannot present a "
                      "subject token");
    }
    const struct principal *subj = NULL;
    struct authn_failure sf;
    enum authn_result r = authn_check_role(a, c, AUTHN_ROLE_SUBJECT_CRED, subject_token,
                                           subject_len, now_ms, &subj, &sf);
    if (r != AUTHN_OK) {
        principal_release(caller);
        *f = sf;
        f->subject = true;
        if (r == AUTHN_NO_CREDENTIAL)
            return refuse(a, f, true, "subject token (%s) is empty", hdr);
        if (r == AUTHN_INVALID)
            snprintf(f->desc, sizeof(f->desc), "subject token (%.48s): %.120s", hdr, sf.desc);
        return r;
    }
    const char *why = NULL;
    if (subj->nact > 0)
        why = "it already names an actor (act claim); present an exchanged token alone, in "
              "Authorization";
    else if (strcmp(subj->token_id, caller->token_id) == 0)
        why = "it is the caller's own credential";
    if (why) {
        snprintf(f->issuer, sizeof(f->issuer), "%s", subj->issuer);
        principal_release(subj);
        principal_release(caller);
        return refuse(a, f, true, "subject token (%s): %s", hdr, why);
    }
    out->subject = subj;
    out->caller = caller;
    out->form = AUTHN_OBO_HEADER;
    out->nactors = 1;
    out->actors[0] = (struct authn_actor){caller->user, caller->issuer, caller};
    return AUTHN_OK;
}

enum authn_result authn_check_obo(struct authn *a, struct authn_cache *c, const char *authz,
                                  size_t authz_len, const char *subject_token, size_t subject_len,
                                  int64_t now_ms, struct authn_identity *out,
                                  struct authn_failure *f)
{
    memset(out, 0, sizeof(*out));
    const struct principal *caller = NULL;
    enum authn_result r =
        authn_check_role(a, c, AUTHN_ROLE_CALLER_CRED, authz, authz_len, now_ms, &caller, f);
    if (r == AUTHN_NO_CREDENTIAL && subject_token) /* INVALID: the message reaches the client */
        return refuse(a, f, false,
                      "a subject token (%s) needs the caller's own credential in Authorization",
                      a->obo_header);
    if (r != AUTHN_OK)
        return r;
    return authn_obo_from_caller(a, c, caller, subject_token, subject_len, now_ms, out, f);
}

static bool id_is_sp(const char *id, const char **name)
{
    if (!id || strncmp(id, PRINCIPAL_SP_PREFIX, PRINCIPAL_SP_PREFIX_LEN) != 0 ||
        !id[PRINCIPAL_SP_PREFIX_LEN])
        return false;
    if (name)
        *name = id + PRINCIPAL_SP_PREFIX_LEN;
    return true;
}

bool authn_actor_is_sp(const struct authn_actor *actor, const char **name)
{
    return actor && id_is_sp(actor->id, name);
}

static void view_of(const char *id, const struct principal *p, struct policy_subject *out)
{
    const char *name = id;
    memset(out, 0, sizeof(*out));
    out->service_principal = id_is_sp(id, &name);
    out->user = name;
    if (p) {
        out->groups = p->groups;
        out->ngroups = p->ngroups;
    }
}

void authn_identity_policy(const struct authn_identity *id, struct authn_policy_view *v)
{
    memset(v, 0, sizeof(*v));
    if (!id->subject)
        return;
    view_of(id->subject->user, id->subject, &v->subject);
    v->scope_mask = policy_scope_mask(id->subject->scopes, id->subject->nscopes);
    if (id->nactors > 0) {
        view_of(id->actors[0].id, id->actors[0].principal, &v->actor_storage);
        v->actor = &v->actor_storage;
    }
    if (id->caller)
        v->scope_mask &= policy_scope_mask(id->caller->scopes, id->caller->nscopes);
}
