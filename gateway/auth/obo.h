/*
 * obo: authentication on behalf of a user. An agent (the actor, usually a service principal)
 * calls for a user (the subject) in one of two forms:
 *   header    the agent's own credential in Authorization, the user's token in the subject
 *             token header ([auth] obo_header, default X-Warden-Subject-Token; "Bearer <t>"
 *             or the bare token; a JWT or a personal access token);
 *   exchange  one token from an RFC 8693 token exchange: its subject is the user and its
 *             "act" claim names the agent (nested "act" claims name prior actors; the
 *             outermost, current actor decides).
 * Every token is verified as any other (same issuers, keys, caches, revocation), except that
 * a subject token must carry one of its issuer's subject_audiences (default: audiences) and
 * is cached apart from callers' credentials. The result is an identity: the subject's
 * principal, the actor chain, and (header form) the caller's own principal. Effective rights
 * are the subject's grants ∩ the token scopes ∩ the actor's delegation: authn_identity_policy
 * gives policy_decide_obo (policy/policy.h) its inputs.
 *
 * Fail closed: a subject token without a caller credential (AUTHN_INVALID, not NO_CREDENTIAL,
 * so the reason reaches the client), a subject token that itself acts
 * for someone (act), a caller credential with an act claim and a subject token at once, the
 * same token in both places, and a form the configuration does not enable ([auth]
 * on_behalf_of) are refused with a precise reason, and fail->subject says which token failed.
 *
 * Threads: as authn_check (workers, with their own struct authn_cache; never blocks).
 */
#ifndef WARDEN_AUTH_OBO_H
#define WARDEN_AUTH_OBO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/authn.h"
#include "policy/policy.h"

enum authn_obo_form {
    AUTHN_OBO_NONE = 0, /* the caller acts for itself */
    AUTHN_OBO_HEADER,   /* caller credential + subject token header */
    AUTHN_OBO_EXCHANGE, /* one exchanged token with an act claim */
};

struct authn_actor {
    const char *id;     /* "alice@acme.example" or "sp:notebook-agent" */
    const char *issuer; /* issuer of the actor's credential or act claim; "" when unknown */
    /* Header form, actors[0]: the caller's verified principal (groups, scopes, method, token
     * id). NULL for actors named by an act claim. */
    const struct principal *principal;
};

#define AUTHN_MAX_ACTORS PRINCIPAL_MAX_ACTORS

struct authn_identity {
    const struct principal *subject; /* whose rights apply; a reference (release below) */
    const struct principal *caller;  /* header form: the actor's own principal; a reference;
                                        NULL otherwise */
    enum authn_obo_form form;
    size_t nactors;
    /* Outermost (current, decides) first; strings point into subject/caller. */
    struct authn_actor actors[AUTHN_MAX_ACTORS];
};

/*
 * Authenticate a request that may act on behalf of a user. authz: the Authorization value
 * (NULL when absent); subject_token: the value of the obo_header header (NULL when absent; a
 * request with several such headers must be refused by the caller, as for Authorization).
 * AUTHN_OK fills *out (release with authn_identity_release): form NONE for an ordinary
 * request (subject = caller), HEADER or EXCHANGE otherwise. AUTHN_PENDING: a key refetch runs
 * for one of the tokens; authn_wait() and call again. Other results: *out is empty and fail
 * says why (fail->subject: the subject token failed; its desc then starts "subject token
 * (<header>): ").
 */
enum authn_result authn_check_obo(struct authn *a, struct authn_cache *c, const char *authz,
                                  size_t authz_len, const char *subject_token, size_t subject_len,
                                  int64_t now_ms, struct authn_identity *out,
                                  struct authn_failure *fail);

/*
 * The same after the caller was authenticated another way (a TLS client certificate,
 * authn_check_mtls): caller is a reference this call takes over (released on failure).
 */
enum authn_result authn_obo_from_caller(struct authn *a, struct authn_cache *c,
                                        const struct principal *caller, const char *subject_token,
                                        size_t subject_len, int64_t now_ms,
                                        struct authn_identity *out, struct authn_failure *fail);

/* Drop the identity's references and clear it. An empty identity is a no-op. */
void authn_identity_release(struct authn_identity *id);

/* The subject token header's name ([auth] obo_header), also when the header form is not
 * enabled: the gate looks it up and passes it to authn_check_obo (which refuses it then), and
 * the connection must remove it (any case, as every identity header) before forwarding. */
const char *authn_obo_header(const struct authn *a);
/* The same in lower case, for http1_find() / http1_name_is(). */
const char *authn_obo_header_lc(const struct authn *a);
/* enum authn_obo_flag bits of the enabled forms. */
unsigned authn_obo_forms(const struct authn *a);

/* Whether an actor id names a service principal ("sp:NAME"); *name receives NAME. */
bool authn_actor_is_sp(const struct authn_actor *actor, const char **name);

/*
 * The inputs of policy_decide_obo for an identity: the subject (user or service principal,
 * token groups), the current actor (NULL when the subject acts itself; its token groups in
 * the header form, none for an act claim) and the privileges the token scopes allow (the
 * subject token's scopes, intersected with the caller credential's own in the header form).
 * The views point into the identity's principals and into *v (keep both alive meanwhile).
 */
struct authn_policy_view {
    struct policy_subject subject;
    struct policy_subject actor_storage;
    const struct policy_subject *actor; /* &actor_storage, or NULL */
    uint32_t scope_mask;
};
void authn_identity_policy(const struct authn_identity *id, struct authn_policy_view *v);

#endif
