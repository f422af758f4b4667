/*
 * gate: the decision stage of the request path, between the strict head parse and the
 * upstream. Given a parsed request head it says whether the request may go on, and as whom:
 * anonymous public endpoints (MLflow's /health, the UI's static assets, when configured),
 * otherwise a credential verified by auth/authn (Authorization header or TLS client
 * certificate). Runs on the worker's loop; never blocks (an unknown JWT key id parks the
 * request via authn_wait, which the connection layer handles).
 */
#ifndef WARDEN_NET_GATE_H
#define WARDEN_NET_GATE_H

#include <openssl/ssl.h>

#include "auth/obo.h"
#include "net/http1.h"

struct worker;

enum gate_verdict {
    GATE_FORWARD = 0, /* go on; principal set unless the endpoint is public */
    GATE_DENY,        /* answer status with the prepared headers and body */
    GATE_PENDING,     /* key refetch running: park with authn_wait(), then ask again */
};

struct gate_result {
    /* GATE_FORWARD with a credential: who the request is for (identity.subject) and, on behalf
     * of a user, the caller and the actor chain; references the caller releases with
     * authn_identity_release(). Empty when public. */
    struct authn_identity identity;
    bool anonymous;             /* forwarded without a credential (public endpoint) */
    int status;                 /* GATE_DENY: 401, 403, 503 ... */
    char www_authenticate[320]; /* GATE_DENY 401: the challenge header value */
    char body[400];             /* GATE_DENY: MLflow-shaped JSON */
    size_t body_len;
};

/* Decide for request r arriving on this worker; ssl is the client's TLS session or NULL;
 * auth_mask the credential kinds the listener accepts (enum authn_method_flag bits). */
enum gate_verdict gate_check(struct worker *w, const struct http1_request *r, SSL *ssl,
                             unsigned auth_mask, struct gate_result *out);

#endif
