/*
 * ctl_policy: the policy subcommands of wardenctl (check, explain, test, grants). Runs in the
 * wardenctl process only; uses the policy engine's public API (policy/policy.h) exactly as
 * the daemon does, so `wardenctl check` prints the same messages the daemon logs.
 */
#ifndef WARDEN_TOOLS_CTL_POLICY_H
#define WARDEN_TOOLS_CTL_POLICY_H

#include <stdbool.h>

/* argv[0] is the subcommand: "check", "explain", "test" or "grants". Prints to stdout
 * (results) and stderr (errors). Returns the process exit status: 0 success (explain:
 * allowed), 1 failure (policy errors, a denied explain, a test mismatch), 2 usage error. */
int ctl_policy_main(int argc, char **argv);

/* Whether argv[0] names one of the subcommands above (for the dispatcher). */
bool ctl_policy_handles(const char *subcommand);

/* Usage text for the policy subcommands. */
const char *ctl_policy_usage(void);

#endif
