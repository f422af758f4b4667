/*
 * ctl_audit: the audit subcommands of wardenctl. `audit verify FILE...` checks the hash chain
 * of native JSON audit logs (audit/chain.h), several rotated files in order, and names the
 * first record where it breaks. Runs in the wardenctl process only; results on stdout,
 * diagnostics on stderr.
 */
#ifndef WARDEN_TOOLS_CTL_AUDIT_H
#define WARDEN_TOOLS_CTL_AUDIT_H

#include <stdbool.h>

/* argv[0] is "audit". Returns the process exit status (0 chain intact, 1 broken or
 * unreadable, 2 usage error). */
int ctl_audit_main(int argc, char **argv);

/* Whether argv[0] names one of the subcommands above (for the dispatcher). */
bool ctl_audit_handles(const char *subcommand);

/* Usage text for the audit subcommands. */
const char *ctl_audit_usage(void);

#endif
