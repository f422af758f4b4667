/*
 * wardenctl: the admin tool. A thin dispatcher: each family of subcommands lives in its own
 * module (tools/ctl_policy.c: check/explain/test/grants; tools/ctl_auth.c: pat, revoke,
 * dev-key, mint; tools/ctl_audit.c: audit verify) and shares the daemon's own parsers, so it
 * reports exactly what the daemon would. `wardenctl check --config FILE` validates a daemon
 * configuration the way `warden --check` does, and then the policy files it names.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "auth/authn.h"
#include "config.h"
#include "policy/store.h"
#include "runtime.h"
#include "util/log.h"
#include "mlflow/routes.h"
#include "tools/ctl_audit.h"
#include "tools/ctl_auth.h"
#include "tools/ctl_policy.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wardenctl COMMAND [options]\n\n"
            "  check --config FILE          validate a daemon configuration\n"
            "  routes [--format markdown|tsv]\n"
            "                               the MLflow route table Warden enforces\n"
            "%s%s%s",
            ctl_policy_usage(), ctl_auth_usage(), ctl_audit_usage());
}

/* check --config FILE: the daemon's configuration; other check forms go to ctl_policy. */
static int check_config(const char *path)
{
    struct conf_diag d = {0};
    struct warden_config *cfg = config_load(path, &d);
    for (size_t i = 0; i < d.n && i < d.cap; i++)
        fprintf(stderr, "%s\n", d.msgs[i]);
    int rc = cfg ? 0 : 1;
    struct authn *authn = NULL;
    struct policy_store *policy = NULL;
    if (cfg && runtime_load(cfg, stderr, &authn, &policy) != 0)
        rc = 1;
    authn_free(authn);
    policy_store_free(policy);
    if (rc == 0)
        printf("%s: configuration ok\n", path);
    else if (!cfg)
        fprintf(stderr, "%s: configuration refused (%zu error%s)\n", path, d.n,
                d.n == 1 ? "" : "s");
    config_free(cfg);
    conf_diag_clear(&d);
    return rc;
}

/* routes [--format markdown|tsv]: print the route table Warden enforces. */
static int print_routes(int argc, char **argv)
{
    bool tsv = false;
    if (argc == 4 && strcmp(argv[2], "--format") == 0 &&
        (strcmp(argv[3], "tsv") == 0 || strcmp(argv[3], "markdown") == 0))
        tsv = strcmp(argv[3], "tsv") == 0;
    else if (argc != 2) {
        fprintf(stderr, "usage: wardenctl routes [--format markdown|tsv]\n");
        return 2;
    }
    char err[256];
    if (routes_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: route table: %s\n", err);
        return 1;
    }
    if (tsv)
        routes_dump_tsv(stdout);
    else
        routes_dump_markdown(stdout);
    routes_deinit();
    return 0;
}

int main(int argc, char **argv)
{
    log_setup(LOG_OFF, LOG_TEXT); /* findings are printed plainly, not logged */
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "check") == 0 && argc == 4 && strcmp(argv[2], "--config") == 0)
        return check_config(argv[3]);
    if (strcmp(cmd, "routes") == 0)
        return print_routes(argc, argv);
    if (ctl_policy_handles(cmd))
        return ctl_policy_main(argc - 1, argv + 1);
    if (ctl_auth_handles(cmd))
        return ctl_auth_main(argc - 1, argv + 1);
    if (ctl_audit_handles(cmd))
        return ctl_audit_main(argc - 1, argv + 1);
    fprintf(stderr, "wardenctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
