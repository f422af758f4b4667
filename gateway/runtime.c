/*
 * runtime: see runtime.h.
 */
#include "runtime.h"

#include <stdbool.h>

#include "auth/authn.h"
#include "config.h"
#include "mlflow/naming.h"
#include "net/enforce.h"
#include "policy/store.h"

int runtime_load(const struct warden_config *cfg, FILE *errf, struct authn **authn_out,
                 struct policy_store **policy_out)
{
    char err[512];
    const struct naming_rules nr = {cfg->policy.default_catalog, cfg->policy.default_schema,
                                    cfg->policy.home_catalog};
    if (naming_rules_check(&nr, err, sizeof(err)) < 0) {
        fprintf(errf, "%s: [policy] naming: %s\n", cfg->path, err);
        return -1;
    }
    if (enforce_init(err, sizeof(err)) < 0) {
        fprintf(errf, "%s: %s\n", cfg->path, err);
        return -1;
    }
    bool mtls = false;
    for (size_t i = 0; i < cfg->nlisteners; i++)
        mtls |= cfg->listeners[i].tls_client_ca != NULL;
    struct authn *authn =
        authn_new(&cfg->auth, cfg->issuers, cfg->nissuers, mtls, err, sizeof(err));
    if (!authn) {
        fprintf(errf, "%s: authentication: %s\n", cfg->path, err);
        return -1;
    }
    struct policy_store *policy = NULL;
    if (cfg->policy.paths) {
        size_t np = 0;
        while (cfg->policy.paths[np])
            np++;
        policy = policy_store_new((const char *const *)cfg->policy.paths, np);
        struct policy_diag pd;
        policy_diag_init(&pd);
        bool changed;
        if (!policy || policy_store_reload(policy, &pd, &changed) != 0) {
            for (size_t i = 0; i < pd.count; i++)
                fprintf(errf, "%s\n", pd.v[i].text);
            fprintf(errf, "%s: policy refused (%zu error%s)\n", cfg->path, pd.count,
                    pd.count == 1 ? "" : "s");
            policy_diag_deinit(&pd);
            policy_store_free(policy);
            authn_free(authn);
            return -1;
        }
        policy_diag_deinit(&pd);
    }
    *authn_out = authn;
    *policy_out = policy;
    return 0;
}
