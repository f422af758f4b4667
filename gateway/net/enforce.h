/*
 * enforce: authorisation of one MLflow request against the catalog policy (issue 5, DESIGN.md
 * §1 steps 2-4, §4). Runs on the worker's loop after authentication, owned by the client
 * connection for the life of one exchange.
 *
 *   enforce_head()  canonicalises the target (mlflow/target), finds the route (mlflow/routes),
 *                   refuses unknown, denied and admin-only routes, and copies the ids MLflow's
 *                   handler will read from the path, the query or a header. A JSON route asks
 *                   for the whole body (ENFORCE_NEED_BODY).
 *   enforce_body()  reads the body strictly (mlflow/body), takes the body ids, applies Warden's
 *                   identity stamps (mlflow/stamp) and keeps the canonical re-serialisation:
 *                   that, not the client's bytes, is what MLflow receives.
 *   then            every id is resolved to its securable (net/resolve: run -> experiment ->
 *                   name and owner; names -> catalog.schema.name by mlflow/naming) and decided
 *                   (policy_decide). Look-ups may park the request (ENFORCE_PENDING; the done
 *                   callback reports the verdict later). Any failure denies.
 *   filtered routes (searches) are answered by enforce itself: it pages through MLflow with
 *                   net/subreq, keeps what the caller may see (mlflow/filter) and returns the
 *                   assembled answer (ENFORCE_ANSWER).
 *
 * Denials are MLflow-shaped JSON ({"error_code": "PERMISSION_DENIED", "message": "<user> lacks
 * READ on experiment risk.fraud.training"}); an object that does not exist and one the caller
 * may not see are answered alike, naming the object only as the caller named it.
 */
#ifndef WARDEN_NET_ENFORCE_H
#define WARDEN_NET_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http1.h"
#include "policy/policy.h"

struct worker;
struct authn_identity;
struct enforce;

enum enforce_verdict {
    ENFORCE_FORWARD = 0, /* send it on (with enforce_forward_body() when it gives one) */
    ENFORCE_ANSWER,      /* answer with enforce_answer(): a denial or a filtered result */
    ENFORCE_NEED_BODY,   /* collect the whole request body, then call enforce_body() */
    ENFORCE_PENDING,     /* waiting for look-ups: the done callback gives the verdict */
};

typedef void (*enforce_fn)(void *arg, enum enforce_verdict v);

/* Called once at start-up (page-token key, route table). Returns 0 or -1 with err set. */
int enforce_init(char *err, size_t errlen);

/* id and snap are borrowed: the caller keeps them alive until enforce_free(). Decisions are
 * the subject's rights ∩ the token scopes ∩ the actor's delegation (policy_decide_obo). snap may be
 * NULL (no policy loaded: everything but admin-free public routes is denied). */
struct enforce *enforce_new(struct worker *w, const struct authn_identity *id,
                            const struct policy_snapshot *snap, const char *request_id,
                            enforce_fn done, void *arg);
void enforce_free(struct enforce *e); /* cancels look-ups in flight; NULL is a no-op */

enum enforce_verdict enforce_head(struct enforce *e, const struct http1_request *r);
enum enforce_verdict enforce_body(struct enforce *e, const char *body, size_t len);

/* The largest body enforce_body() accepts (bigger: the caller answers 413). */
size_t enforce_body_limit(const struct enforce *e);

/* ENFORCE_FORWARD: the body to send instead of the client's (NULL: stream the client's body,
 * which only happens for routes whose body is not JSON). */
const char *enforce_forward_body(const struct enforce *e, size_t *len);

/* The Content-Type of enforce_forward_body(): application/json, or the client's own
 * (OTLP protobuf or JSON). */
const char *enforce_forward_content_type(const struct enforce *e);

/* ENFORCE_ANSWER: status and JSON body. */
int enforce_answer(const struct enforce *e, const char **body, size_t *len);

/* The exchange ended with this upstream status: forget cached facts the forwarded write may
 * have changed. */
void enforce_completed(struct enforce *e, int status);

/* For logs and the audit record. */
struct enforce_summary {
    const char *action;      /* MLflow action ("createRun"), "" before routing */
    const char *object_kind; /* "experiment", "model", "schema", ... ("" if none) */
    const char *object_name; /* the securable's name or the id the client gave */
    const char *privilege;   /* the privilege decided ("" if none) */
    const char *reason;      /* policy reason ("grant", "owner", "admin", "no-privilege", ...)
                                or why Warden answered itself ("unknown-route", ...) */
    bool allowed;
    bool admin;
};
void enforce_summary(const struct enforce *e, struct enforce_summary *out);

/* Writes what the decision knows into an audit record: action, resource (kind, securable
 * name, the ids the request named), decision (allow/deny, privilege, matched grant, policy
 * version, reason) and the allow-listed parameters of the action. */
struct audit_record;
void enforce_audit(const struct enforce *e, struct audit_record *r);

#endif
