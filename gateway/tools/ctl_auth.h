/*
 * ctl_auth: the authentication subcommands of wardenctl: personal access tokens (pat create /
 * list / revoke), revocation by token hash or jti (revoke), developer helpers (dev-key,
 * mint), and the upstream identity assertion (assertion jwks / mint). Runs in the wardenctl process
 * only; results on stdout, diagnostics on stderr. Uses the same record formats and Redis layout as
 * the daemon (auth/pat.h, auth/revoke.h, auth/authn.h).
 */
#ifndef WARDEN_TOOLS_CTL_AUTH_H
#define WARDEN_TOOLS_CTL_AUTH_H

#include <stdbool.h>

/* argv[0] is the subcommand: "pat", "revoke", "dev-key", "mint" or "assertion". Returns the process
 * exit status (0 success, 1 failure, 2 usage error). */
int ctl_auth_main(int argc, char **argv);

/* Whether argv[0] names one of the subcommands above (for the dispatcher). */
bool ctl_auth_handles(const char *subcommand);

/* Usage text for the authentication subcommands. */
const char *ctl_auth_usage(void);

#endif
