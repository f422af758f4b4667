/*
 * ctl_audit: see ctl_audit.h. Reads each file line by line (any line length) and feeds the
 * lines to one audit_verify, so the chain must continue across files in the order given.
 * A file whose last line lacks its newline was cut mid-write (or truncated) and fails.
 */
#include "tools/ctl_audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "audit/chain.h"

const char *ctl_audit_usage(void)
{
    return "  audit verify FILE...         check the hash chain of audit logs (rotated files "
           "oldest first)\n";
}

bool ctl_audit_handles(const char *subcommand)
{
    return subcommand && strcmp(subcommand, "audit") == 0;
}

/* Returns 0 if every line of f continues the chain, 1 (message printed) otherwise. */
static int verify_file(const char *name, FILE *f, struct audit_verify *v)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long lineno = 0;
    char err[256];
    int rc = 0;
    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;
        if (line[n - 1] != '\n') {
            fprintf(stderr, "%s:%llu: chain broken: truncated record (no newline at end of file)\n",
                    name, lineno);
            rc = 1;
            goto done;
        }
        if (audit_verify_line(v, line, (size_t)n - 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s:%llu: chain broken: %s\n", name, lineno, err);
            rc = 1;
            goto done;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", name, strerror(errno));
        rc = 1;
    }
done:
    free(line);
    return rc;
}

int ctl_audit_main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "usage: wardenctl audit verify FILE...\n");
        return 2;
    }
    struct audit_verify v;
    audit_verify_init(&v);
    for (int i = 2; i < argc; i++) {
        FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open: %s\n", argv[i], strerror(errno));
            return 1;
        }
        int rc = verify_file(argv[i], f, &v);
        if (f != stdin)
            fclose(f);
        if (rc != 0)
            return 1;
    }
    if (v.count == 0) {
        fprintf(stderr, "no audit records: nothing to verify\n");
        return 1;
    }
    printf("%llu record%s, chain intact (first seq %llu, last seq %llu)%s\n",
           (unsigned long long)v.count, v.count == 1 ? "" : "s", (unsigned long long)v.first_seq,
           (unsigned long long)v.last_seq,
           v.first_is_genesis ? "" : "; the first record continues an earlier log");
    return 0;
}
