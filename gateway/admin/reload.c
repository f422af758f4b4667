/*
 * reload: see reload.h. Outcomes are logged (one line per result, one per policy error),
 * counted by the policy store (exported by /metrics) and recorded as audit events.
 */
#include "admin/reload.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "audit/pipeline.h"
#include "auth/authn.h"
#include "policy/store.h"
#include "util/log.h"

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

/* Append s to out as a JSON string body. */
static size_t json_str(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            out[n++] = '\\', out[n++] = (char)ch;
        else if (ch < 0x20)
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
    return n;
}

int reload_all(const struct reload_ctx *ctx, const char *why, char *out, size_t outlen)
{
    pthread_mutex_lock(&reload_lock);
    if (ctx->authn)
        authn_reload(ctx->authn);
    int rc = 0;
    bool changed = false;
    struct policy_diag diag;
    policy_diag_init(&diag);
    if (ctx->policy)
        rc = policy_store_reload(ctx->policy, &diag, &changed);
    struct policy_store_stats st = {0};
    if (ctx->policy)
        policy_store_stats(ctx->policy, &st);
    if (rc == 0)
        log_info("reload (%s): %s, policy version %s", why,
                 !ctx->policy ? "no policy configured"
                 : changed    ? "policy changed"
                              : "policy unchanged",
                 st.version[0] ? st.version : "-");
    else
        log_error("reload (%s): policy refused with %zu error(s); keeping version %s", why,
                  diag.count, st.version[0] ? st.version : "-");
    if (ctx->audit) {
        char detail[512];
        snprintf(detail, sizeof(detail),
                 "reload (%s): authentication material re-read, audit files reopened, policy %s",
                 why, rc == 0 ? "accepted" : "refused");
        audit_pipeline_reopen(ctx->audit);
        audit_event(ctx->audit, "config_reload", rc == 0, detail);
        if (ctx->policy) {
            if (rc == 0)
                snprintf(detail, sizeof(detail), "policy %s (%s), version %s",
                         changed ? "changed" : "unchanged", why, st.version[0] ? st.version : "-");
            else
                snprintf(detail, sizeof(detail),
                         "policy refused (%s) with %zu error(s)%s%s; keeping version %s", why,
                         diag.count, diag.count ? ", first: " : "",
                         diag.count ? diag.v[0].text : "", st.version[0] ? st.version : "-");
            audit_event(ctx->audit, "policy_reload", rc == 0, detail);
        }
    }
    if (out && outlen) {
        size_t n =
            (size_t)snprintf(out, outlen,
                             "{\"ok\": %s, \"changed\": %s, \"version\": \"%s\", "
                             "\"errors\": [",
                             rc == 0 ? "true" : "false", changed ? "true" : "false", st.version);
        for (size_t i = 0; i < diag.count && n + 16 < outlen; i++) {
            if (i)
                n += (size_t)snprintf(out + n, outlen - n, ", ");
            out[n++] = '"';
            n += json_str(out + n, outlen - n - 4, diag.v[i].text);
            out[n++] = '"';
        }
        if (n + 4 < outlen)
            snprintf(out + n, outlen - n, "]}\n");
    }
    policy_diag_deinit(&diag);
    pthread_mutex_unlock(&reload_lock);
    return rc;
}

void reload_if_changed(const struct reload_ctx *ctx)
{
    if (ctx->policy && policy_store_check_changed(ctx->policy))
        reload_all(ctx, "file change", NULL, 0);
}
