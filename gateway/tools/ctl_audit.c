/*
 * ctl_audit: see ctl_audit.h. Reads each file line by line (any line length) and feeds the
 * lines to one audit_verify, so the chain must continue across files in the order given.
 * A file whose last line lacks its newline was cut mid-write (or truncated) and fails.
 * Checkpoint records (audit/checkpoint.h) are checked for consistency with the chain, and
 * their Ed25519 signatures with --key.
 */
#include "tools/ctl_audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"

const char *ctl_audit_usage(void)
{
    return "  audit verify [--key PUBKEY.pem]... FILE...\n"
           "                               check the hash chain of audit logs (rotated files "
           "oldest first)\n"
           "                               and, with --key (repeatable for rotated keys), the "
           "signed checkpoints\n"
           "  audit keygen --out DIR       create an Ed25519 checkpoint key pair "
           "(audit-checkpoint.pem, .pub.pem)\n";
}

bool ctl_audit_handles(const char *subcommand)
{
    return subcommand && strcmp(subcommand, "audit") == 0;
}

#define MAX_KEYS 8

struct verify_ctx {
    struct audit_verify v;
    struct audit_pubkey *keys[MAX_KEYS]; /* --key, repeatable (key rotation) */
    size_t nkeys;
    uint64_t checkpoints;    /* checkpoint records seen (signatures checked with a key) */
    uint64_t signed_through; /* last sequence number covered by a checked signature */
};

/* Returns 0 if every line of f continues the chain, 1 (message printed) otherwise. */
static int verify_file(const char *name, FILE *f, struct verify_ctx *cx)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long lineno = 0;
    char err[320];
    int rc = 0;
    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;
        if (line[n - 1] != '\n') {
            fprintf(stderr, "%s:%llu: chain broken: truncated record (no newline at end of file)\n",
                    name, lineno);
            rc = 1;
            goto done;
        }
        size_t len = (size_t)n - 1;
        if (audit_verify_line(&cx->v, line, len, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s:%llu: chain broken: %s\n", name, lineno, err);
            rc = 1;
            goto done;
        }
        if (!audit_line_is_checkpoint(line, len))
            continue;
        struct audit_checkpoint cp;
        int parsed = audit_checkpoint_parse(line, len, &cp, err, sizeof(err));
        /* The key its key_id names (or the first, to report the mismatch). */
        const struct audit_pubkey *k = cx->nkeys ? cx->keys[0] : NULL;
        for (size_t i = 0; parsed == 0 && i < cx->nkeys; i++)
            if (strcmp(audit_pubkey_key_id(cx->keys[i]), cp.key_id) == 0)
                k = cx->keys[i];
        if (parsed != 0 || (k && audit_checkpoint_verify(k, &cp, err, sizeof(err)) != 0)) {
            fprintf(stderr, "%s:%llu: checkpoint invalid: %s\n", name, lineno, err);
            rc = 1;
            goto done;
        }
        cx->checkpoints++;
        cx->signed_through = cp.signed_seq;
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", name, strerror(errno));
        rc = 1;
    }
done:
    free(line);
    return rc;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. NULL if argv[*i] is not it. */
static const char *option(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0' || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int cmd_verify(int argc, char **argv)
{
    struct verify_ctx cx = {0};
    char err[256];
    int rc = 2, first = 1;
    audit_verify_init(&cx.v);
    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        }
        const char *key_path = option(argc, argv, &first, "--key");
        if (!key_path || cx.nkeys == MAX_KEYS) {
            fprintf(stderr, "usage: wardenctl audit verify [--key PUBKEY.pem]... FILE...\n");
            goto out;
        }
        if (!(cx.keys[cx.nkeys] = audit_pubkey_load(key_path, err, sizeof(err)))) {
            fprintf(stderr, "--key: %s\n", err);
            goto out;
        }
        cx.nkeys++;
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: wardenctl audit verify [--key PUBKEY.pem]... FILE...\n");
        goto out;
    }
    rc = 1;
    for (int i = first; i < argc; i++) {
        FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open: %s\n", argv[i], strerror(errno));
            goto out;
        }
        int r = verify_file(argv[i], f, &cx);
        if (f != stdin)
            fclose(f);
        if (r != 0)
            goto out;
    }
    if (cx.v.count == 0) {
        fprintf(stderr, "no audit records: nothing to verify\n");
        goto out;
    }
    printf("%llu record%s, chain intact (first seq %llu, last seq %llu)%s\n",
           (unsigned long long)cx.v.count, cx.v.count == 1 ? "" : "s",
           (unsigned long long)cx.v.first_seq, (unsigned long long)cx.v.last_seq,
           cx.v.first_is_genesis ? "" : "; the first record continues an earlier log");
    if (cx.nkeys) {
        if (cx.checkpoints == 0) {
            fprintf(stderr,
                    "no signed checkpoint in these records: nothing is attributable to "
                    "the given key%s\n",
                    cx.nkeys == 1 ? "" : "s");
            goto out;
        }
        uint64_t later = cx.v.last_seq - cx.signed_through;
        printf("%llu checkpoint%s verified with key%s", (unsigned long long)cx.checkpoints,
               cx.checkpoints == 1 ? "" : "s", cx.nkeys == 1 ? "" : "s");
        for (size_t i = 0; i < cx.nkeys; i++)
            printf("%s%s", i ? ", " : " ", audit_pubkey_key_id(cx.keys[i]));
        printf(": records up to seq %llu are signed", (unsigned long long)cx.signed_through);
        if (later == 1)
            printf("; 1 later record (seq %llu) not yet covered by a checkpoint",
                   (unsigned long long)cx.v.last_seq);
        else if (later)
            printf("; %llu later records (seq %llu..%llu) not yet covered by a checkpoint",
                   (unsigned long long)later, (unsigned long long)cx.signed_through + 1,
                   (unsigned long long)cx.v.last_seq);
        printf("\n");
    } else if (cx.checkpoints) {
        printf("%llu checkpoint%s present; signatures not checked (pass --key PUBKEY.pem)\n",
               (unsigned long long)cx.checkpoints, cx.checkpoints == 1 ? "" : "s");
    }
    rc = 0;
out:
    for (size_t i = 0; i < cx.nkeys; i++)
        audit_pubkey_free(cx.keys[i]);
    return rc;
}

static int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    int i = 1;
    if (i < argc)
        out = option(argc, argv, &i, "--out");
    if (!out || i + 1 != argc) {
        fprintf(stderr, "usage: wardenctl audit keygen --out DIR\n");
        return 2;
    }
    char priv[4096], pub[4096], err[256];
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    snprintf(priv, sizeof(priv), "%s/audit-checkpoint.pem", out);
    snprintf(pub, sizeof(pub), "%s/audit-checkpoint.pub.pem", out);
    if (audit_keygen(priv, pub, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct audit_pubkey *k = audit_pubkey_load(pub, err, sizeof(err));
    printf("%s\n%s\nkey id %s\n", priv, pub, k ? audit_pubkey_key_id(k) : "?");
    audit_pubkey_free(k);
    return 0;
}

int ctl_audit_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    fprintf(stderr, "usage: wardenctl audit verify [--key PUBKEY.pem]... FILE...\n"
                    "       wardenctl audit keygen --out DIR\n");
    return 2;
}
