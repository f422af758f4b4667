/*
 * reload: the single entry point that re-reads Warden's reloadable state — the policy set
 * (compiled off the request path, swapped atomically, the old one kept on any error) and the
 * authentication material (JWKS, PAT and revocation files, on authn's control thread). Called
 * from the main thread on SIGHUP, from the admin thread for POST /reload and by the policy
 * file watcher. Serialised by a mutex so two triggers never compile at once. Every reload is
 * an audit event ("config_reload" for the trigger, "policy_reload" for the policy's outcome)
 * and reopens the audit file sinks (external rotation).
 */
#ifndef WARDEN_ADMIN_RELOAD_H
#define WARDEN_ADMIN_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

struct policy_store;
struct authn;
struct audit_pipeline;

struct reload_ctx {
    struct policy_store *policy;  /* may be NULL */
    struct authn *authn;          /* may be NULL */
    struct audit_pipeline *audit; /* may be NULL */
};

/*
 * Reload now. why names the trigger for the log ("SIGHUP", "admin API", "file change").
 * Writes a JSON object describing the outcome into out (NUL-terminated, truncated to outlen):
 * {"ok": true|false, "changed": bool, "version": "...", "errors": ["file:line:col: msg", ...]}.
 * Returns 0 when the policy compiled (or there is none), -1 when it was refused.
 */
int reload_all(const struct reload_ctx *ctx, const char *why, char *out, size_t outlen);

/* Reload the policy only if its files changed since the last attempt (file watcher). */
void reload_if_changed(const struct reload_ctx *ctx);

#endif
