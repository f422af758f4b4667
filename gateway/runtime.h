/*
 * runtime: builds the state a validated configuration names and that can fail to load — the
 * authentication material (JWKS, HMAC secrets, PAT and revocation files) and the policy store
 * with its first compiled snapshot — so that `warden -c`, `warden --check` and `wardenctl
 * check --config` accept and refuse exactly the same things, with the same messages.
 * Main thread, at start-up.
 */
#ifndef WARDEN_RUNTIME_H
#define WARDEN_RUNTIME_H

#include <stdio.h>

struct warden_config;
struct authn;
struct policy_store;

/*
 * Load both. On success returns 0 with *authn set and *policy set (NULL when the configuration
 * has no [policy]); the caller frees them (authn_free, policy_store_free). On failure prints
 * every error to errf ("file:line:column: message", then a summary line naming the
 * configuration) and returns -1 with nothing to free.
 */
int runtime_load(const struct warden_config *cfg, FILE *errf, struct authn **authn,
                 struct policy_store **policy);

#endif
