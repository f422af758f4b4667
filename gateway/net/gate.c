/*
 * gate: see gate.h. Public endpoints are recognised on the canonical path only (the target is
 * decoded once by mlflow/target and must be free of dot segments and escapes), so no spelling
 * of a private route can pass as public.
 */
#include "util/clock.h"
#include "net/gate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/authn.h"
#include "config.h"
#include "mlflow/target.h"
#include "net/worker.h"

static bool starts_with(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && memcmp(p, lit, l) == 0;
}

/* GET/HEAD of MLflow's health check or the UI's static assets, when configured public. */
static bool is_public(struct worker *w, const struct http1_request *r)
{
    const struct server_conf *s = &w->cfg->server;
    if (r->method != HTTP1_M_GET && r->method != HTTP1_M_HEAD)
        return false;
    if (!s->public_health && !s->public_ui)
        return false;
    if (!starts_with(r->target, r->target_len, "/health") &&
        !starts_with(r->target, r->target_len, "/static-files/") &&
        !starts_with(r->target, r->target_len, "/build/"))
        return false;
    struct target_error err;
    if (r->target_len > w->target_buf_cap || target_parse(r->target, r->target_len, w->target_buf,
                                                          w->target_buf_cap, w->target, &err) != 0)
        return false; /* not canonical: let authentication decide, then MLflow */
    const struct target *t = w->target;
    if (s->public_health && target_str_eq(t->path, "/health"))
        return true;
    if (s->public_ui && t->nseg >= 2 && !t->trailing_slash &&
        (target_str_eq(t->seg[0], "static-files") || target_str_eq(t->seg[0], "build")))
        return true;
    return false;
}

static void deny_401(struct authn *a, enum authn_result res, const struct authn_failure *fail,
                     struct gate_result *out)
{
    out->status = 401;
    authn_challenge(a, res, fail, out->www_authenticate, sizeof(out->www_authenticate));
    out->body_len = authn_error_body(res, fail, out->body, sizeof(out->body));
    if (out->body_len >= sizeof(out->body))
        out->body_len = sizeof(out->body) - 1;
}

enum gate_verdict gate_check(struct worker *w, const struct http1_request *r, SSL *ssl,
                             unsigned auth_mask, struct gate_result *out)
{
    memset(out, 0, sizeof(*out));
    if (is_public(w, r)) {
        out->anonymous = true;
        return GATE_FORWARD;
    }
    struct authn *a = w->shared->authn;
    struct authn_failure fail = {0};
    enum authn_result res;
    const struct http1_header *ah = http1_find(r->headers, r->nheaders, "authorization");
    const char *obo_lc = authn_obo_header_lc(a);
    const struct http1_header *st = obo_lc ? http1_find(r->headers, r->nheaders, obo_lc) : NULL;
    X509 *cert = ssl && !ah && (authn_methods(a) & auth_mask & AUTHN_ALLOW_MTLS)
                     ? SSL_get0_peer_certificate(ssl)
                     : NULL;
    struct authn_identity *id = &out->identity;
    if (cert) {
        const struct principal *p = NULL;
        res = authn_check_mtls(a, w->authn_cache, cert, clock_wall_ms(), &p, &fail);
        if (res == AUTHN_OK && st) {
            res = authn_obo_from_caller(a, w->authn_cache, p, st->value, st->value_len,
                                        clock_wall_ms(), id, &fail);
        } else if (res == AUTHN_OK) {
            id->subject = p;
            id->form = AUTHN_OBO_NONE;
        }
    } else {
        res = authn_check_obo(a, w->authn_cache, ah ? ah->value : NULL, ah ? ah->value_len : 0,
                              st ? st->value : NULL, st ? st->value_len : 0, clock_wall_ms(), id,
                              &fail);
    }
    /* The listener's accepted kinds apply to the credential presented in Authorization (or the
     * client certificate): the caller's in the header form, else the token itself. */
    const struct principal *presented = id->caller ? id->caller : id->subject;
    if (res == AUTHN_OK && !(auth_mask & (1u << (presented->method - 1)))) {
        static const char *const kinds[] = {"JWT", "personal access token", "Basic (PAT)",
                                            "Basic (JWT)", "client certificate"};
        snprintf(fail.desc, sizeof(fail.desc), "this listener does not accept %s credentials",
                 kinds[(presented->method - 1) % 5]);
        authn_identity_release(id);
        deny_401(a, AUTHN_INVALID, &fail, out);
        return GATE_DENY;
    }
    if (res == AUTHN_OK)
        return GATE_FORWARD;
    if (res == AUTHN_PENDING)
        return GATE_PENDING;
    deny_401(a, res, &fail, out);
    return GATE_DENY;
}
