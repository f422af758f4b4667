/*
 * Unit tests for audit/checkpoint and `wardenctl audit verify --key`: generated keys load as
 * signer and verifier with the same key id (from the private or the public PEM); a
 * checkpoint in a sealed chain parses, matches its chain fields and verifies; a forged or
 * altered signature, a wrong key, a checkpoint whose signed fields disagree with its chain
 * position, and a log whose records were rewritten with a recomputed chain are all refused,
 * the last one even though its hash chain is intact. Non-Ed25519 keys are refused. Writes
 * temporary files under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/format.h"
#include "audit_test_util.h"
#include "tools/ctl_audit.h"

static char dir[64], priv[128], pub[128], priv2[128], pub2[128];
static char out_text[8192], err_text[8192];

static int setup(void **state)
{
    char err[256];
    snprintf(dir, sizeof(dir), "/tmp/warden-ckpt-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(priv, sizeof(priv), "%s/k.pem", dir);
    snprintf(pub, sizeof(pub), "%s/k.pub.pem", dir);
    snprintf(priv2, sizeof(priv2), "%s/k2.pem", dir);
    snprintf(pub2, sizeof(pub2), "%s/k2.pub.pem", dir);
    if (audit_keygen(priv, pub, err, sizeof(err)) != 0 ||
        audit_keygen(priv2, pub2, err, sizeof(err)) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Seal n typical records with a checkpoint after record `cp_after` (0: none) into lines. */
static int build_log(struct audit_signer *s, int n, int cp_after, char lines[][8192])
{
    struct audit_chain c;
    const unsigned char inst[4] = {1, 2, 3, 4};
    audit_chain_init(&c, inst);
    char hash[AUDIT_HASH_HEX + 1] = "";
    int k = 0;
    for (int i = 0; i < n; i++) {
        struct audit_record r;
        audit_fill_typical(&r, 1764349215000LL + i);
        if (audit_chain_seal(&c, &r, lines[k++], 8192, NULL, NULL, 0) != 0)
            return -1;
        memcpy(hash, r.hash, sizeof(hash));
        if (i + 1 == cp_after) {
            audit_record_init(&r, 1764349215000LL + i, NULL);
            if (audit_checkpoint_fill(s, &r, c.next_seq - 1, hash, NULL, 0) != 0 ||
                audit_chain_seal(&c, &r, lines[k++], 8192, NULL, NULL, 0) != 0)
                return -1;
        }
    }
    return k;
}

static void write_lines(const char *name, char lines[][8192], int n)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < n; i++)
        fputs(lines[i], f);
    fclose(f);
}

static int run_verify(const char *key, const char *file)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *argv[] = {"audit", "verify", "--key", (char *)key, p, NULL};
    char *argv_nokey[] = {"audit", "verify", p, NULL};
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    FILE *fo = tmpfile(), *fe = tmpfile();
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = key ? ctl_audit_main(5, argv) : ctl_audit_main(3, argv_nokey);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    rewind(fo);
    rewind(fe);
    out_text[fread(out_text, 1, sizeof(out_text) - 1, fo)] = '\0';
    err_text[fread(err_text, 1, sizeof(err_text) - 1, fe)] = '\0';
    fclose(fo);
    fclose(fe);
    return rc;
}

static void test_keys(void **state)
{
    char err[256];
    struct audit_signer *s = audit_signer_new(priv, err, sizeof(err));
    struct audit_pubkey *a = audit_pubkey_load(pub, err, sizeof(err));
    struct audit_pubkey *b = audit_pubkey_load(priv, err, sizeof(err));
    struct audit_pubkey *c = audit_pubkey_load(pub2, err, sizeof(err));
    assert_non_null(s);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(strlen(audit_signer_key_id(s)), AUDIT_KEY_ID_HEX);
    assert_string_equal(audit_signer_key_id(s), audit_pubkey_key_id(a));
    assert_string_equal(audit_signer_key_id(s), audit_pubkey_key_id(b));
    assert_string_not_equal(audit_signer_key_id(s), audit_pubkey_key_id(c));
    /* A public key is not a signing key; a file that is no key at all is refused. */
    assert_null(audit_signer_new(pub, err, sizeof(err)));
    char bogus[256];
    snprintf(bogus, sizeof(bogus), "%s/bogus.pem", dir);
    FILE *f = fopen(bogus, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    assert_null(audit_signer_new(bogus, err, sizeof(err)));
    assert_null(audit_pubkey_load("/nonexistent/key.pem", err, sizeof(err)));
    /* An RSA key is not accepted. */
    char rsa[256], cmd[512];
    snprintf(rsa, sizeof(rsa), "%s/rsa.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out %s 2>/dev/null",
             rsa);
    if (system(cmd) == 0) {
        assert_null(audit_signer_new(rsa, err, sizeof(err)));
        assert_non_null(strstr(err, "not an Ed25519 key"));
    }
    audit_signer_free(s);
    audit_pubkey_free(a);
    audit_pubkey_free(b);
    audit_pubkey_free(c);
}

static void test_checkpoint_in_chain(void **state)
{
    static char lines[16][8192];
    char err[256];
    struct audit_signer *s = audit_signer_new(priv, err, sizeof(err));
    struct audit_pubkey *k = audit_pubkey_load(pub, err, sizeof(err));
    int n = build_log(s, 8, 5, lines);
    assert_int_equal(n, 9);
    /* Record 6 is the checkpoint over record 5. */
    for (int i = 0; i < n; i++)
        assert_int_equal(audit_line_is_checkpoint(lines[i], strlen(lines[i]) - 1), i == 5);
    struct audit_checkpoint cp;
    assert_int_equal(audit_checkpoint_parse(lines[5], strlen(lines[5]) - 1, &cp, err, sizeof(err)),
                     0);
    assert_int_equal(cp.seq, 6);
    assert_int_equal(cp.signed_seq, 5);
    assert_string_equal(cp.key_id, audit_signer_key_id(s));
    assert_int_equal(audit_checkpoint_verify(k, &cp, err, sizeof(err)), 0);
    /* The whole log verifies with the key. */
    write_lines("ok.log", lines, n);
    assert_int_equal(run_verify(pub, "ok.log"), 0);
    assert_non_null(strstr(out_text, "9 records, chain intact"));
    assert_non_null(strstr(out_text, "1 checkpoint verified with key"));
    assert_non_null(strstr(
        out_text, "records up to seq 5 are signed; 4 later records (seq 6..9) not yet covered"));
    assert_int_equal(run_verify(NULL, "ok.log"), 0);
    assert_non_null(strstr(out_text, "1 checkpoint present; signatures not checked"));
    /* The wrong key: named as such. */
    assert_int_equal(run_verify(pub2, "ok.log"), 1);
    assert_non_null(strstr(err_text, "ok.log:6: checkpoint invalid"));
    assert_non_null(strstr(err_text, "not by the given key"));
    audit_signer_free(s);
    audit_pubkey_free(k);
}

/* Someone with write access rewrites record 3 and recomputes every later hash: the chain is
 * intact again, but the checkpoint's signature no longer matches. */
static void test_rewritten_chain(void **state)
{
    static char lines[16][8192], forged[16][8192];
    char err[256];
    struct audit_signer *s = audit_signer_new(priv, err, sizeof(err));
    int n = build_log(s, 8, 5, lines);
    struct audit_chain c;
    const unsigned char inst[4] = {1, 2, 3, 4};
    audit_chain_init(&c, inst);
    for (int i = 0; i < n; i++) {
        struct audit_record r;
        assert_int_equal(audit_parse_json(lines[i], strlen(lines[i]) - 1, &r, err, sizeof(err)), 0);
        if (i == 2)
            AUDIT_SET(&r, subject.user, "mallory@example.com", 19);
        assert_int_equal(audit_chain_seal(&c, &r, forged[i], 8192, NULL, NULL, 0), 0);
    }
    write_lines("forged.log", forged, n);
    assert_int_equal(run_verify(NULL, "forged.log"), 1);
    assert_non_null(strstr(err_text, "forged.log:6: checkpoint invalid"));
    assert_non_null(strstr(err_text, "signed_hash is not its prev_hash"));
    /* Also rewriting the checkpoint's signed_hash to match does not help: the signature. */
    struct audit_record r;
    assert_int_equal(audit_parse_json(forged[5], strlen(forged[5]) - 1, &r, err, sizeof(err)), 0);
    for (int p = 0; p < r.n_params; p++)
        if (strcmp(r.params[p].key.s, "signed_hash") == 0)
            AUDIT_SET(&r, params[p].value, r.prev_hash, 64);
    audit_chain_init(&c, inst);
    for (int i = 0; i < n; i++) {
        struct audit_record x;
        assert_int_equal(audit_parse_json(forged[i], strlen(forged[i]) - 1, &x, err, sizeof(err)),
                         0);
        if (i == 5)
            x = r;
        assert_int_equal(audit_chain_seal(&c, &x, forged[i], 8192, NULL, NULL, 0), 0);
    }
    write_lines("forged2.log", forged, n);
    assert_int_equal(run_verify(NULL, "forged2.log"), 0); /* chain and fields consistent */
    assert_int_equal(run_verify(pub, "forged2.log"), 1);
    assert_non_null(strstr(err_text, "forged2.log:6: checkpoint invalid"));
    assert_non_null(strstr(err_text, "signature does not verify: records up to seq 5"));
    audit_signer_free(s);
}

static void test_malformed_checkpoints(void **state)
{
    static char lines[16][8192];
    char err[256], line[8192];
    struct audit_signer *s = audit_signer_new(priv, err, sizeof(err));
    struct audit_pubkey *k = audit_pubkey_load(pub, err, sizeof(err));
    build_log(s, 3, 2, lines);
    struct audit_checkpoint cp;
    const char *cpl = lines[2];
    size_t len = strlen(cpl) - 1;
    /* One flipped signature digit. */
    memcpy(line, cpl, len + 1);
    char *sig = strstr(line, "\"signature\":\"") + 13;
    sig[5] = sig[5] == '0' ? '1' : '0';
    assert_int_equal(audit_checkpoint_parse(line, len, &cp, err, sizeof(err)), 0);
    assert_int_equal(audit_checkpoint_verify(k, &cp, err, sizeof(err)), -1);
    /* Fields that do not match the chain position, or are missing. */
    const char *edits[][2] = {
        {"\"signed_seq\":\"2\"", "\"signed_seq\":\"1\""},
        {"\"alg\":\"ed25519\"", "\"alg\":\"hs256xx\""},
        {"\"signed_seq\":\"2\"", "\"signed_seq\":\"02\""},
        {"\"key_id\":\"", "\"key_xx\":\""},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        memcpy(line, cpl, len + 1);
        char *at = strstr(line, edits[i][0]);
        assert_non_null(at);
        size_t a = strlen(edits[i][0]), b = strlen(edits[i][1]);
        memmove(at + b, at + a, strlen(at + a) + 1);
        memcpy(at, edits[i][1], b);
        assert_int_equal(audit_checkpoint_parse(line, strlen(line) - 1, &cp, err, sizeof(err)), -1);
    }
    /* An ordinary record is no checkpoint, even if a client-visible field mentions one. */
    struct audit_record r;
    audit_fill_typical(&r, 1);
    SETS(&r, request_id, "\",\"service\":\"warden\",\"action\":\"audit_checkpoint\",");
    struct audit_chain c;
    audit_chain_init(&c, NULL);
    size_t n;
    assert_int_equal(audit_chain_seal(&c, &r, line, sizeof(line), &n, NULL, 0), 0);
    assert_false(audit_line_is_checkpoint(line, n - 1));
    assert_int_equal(audit_checkpoint_parse(line, n - 1, &cp, err, sizeof(err)), -1);
    audit_signer_free(s);
    audit_pubkey_free(k);
}

/* Key rotation: checkpoints signed by the old key, then by the new one; verify takes both. */
static void test_rotated_keys(void **state)
{
    static char lines[16][8192];
    char err[256];
    struct audit_signer *s1 = audit_signer_new(priv, err, sizeof(err));
    struct audit_signer *s2 = audit_signer_new(priv2, err, sizeof(err));
    struct audit_chain c;
    audit_chain_init(&c, NULL);
    int k = 0;
    for (int i = 0; i < 8; i++) {
        struct audit_record r;
        audit_fill_typical(&r, 1764349215000LL + i);
        assert_int_equal(audit_chain_seal(&c, &r, lines[k++], 8192, NULL, NULL, 0), 0);
        if (i == 2 || i == 6) {
            char hash[AUDIT_HASH_HEX + 1];
            memcpy(hash, r.hash, sizeof(hash));
            audit_record_init(&r, 1764349215000LL + i, NULL);
            assert_int_equal(
                audit_checkpoint_fill(i == 2 ? s1 : s2, &r, c.next_seq - 1, hash, NULL, 0), 0);
            assert_int_equal(audit_chain_seal(&c, &r, lines[k++], 8192, NULL, NULL, 0), 0);
        }
    }
    write_lines("rotated-keys.log", lines, k);
    char p[256];
    snprintf(p, sizeof(p), "%s/rotated-keys.log", dir);
    char *both[] = {"audit", "verify", "--key", pub, "--key", pub2, p, NULL};
    fflush(stdout);
    assert_int_equal(ctl_audit_main(7, both), 0);
    assert_int_equal(run_verify(pub, "rotated-keys.log"), 1);
    assert_non_null(strstr(err_text, "rotated-keys.log:9: checkpoint invalid"));
    assert_non_null(strstr(err_text, "not by the given key"));
    audit_signer_free(s1);
    audit_signer_free(s2);
}

static void test_keygen_command(void **state)
{
    char out[128];
    snprintf(out, sizeof(out), "%s/gen", dir);
    char *argv[] = {"audit", "keygen", "--out", out, NULL};
    assert_int_equal(ctl_audit_main(4, argv), 0);
    char p[256], err[256];
    snprintf(p, sizeof(p), "%s/audit-checkpoint.pem", out);
    struct audit_signer *s = audit_signer_new(p, err, sizeof(err));
    assert_non_null(s);
    audit_signer_free(s);
    /* It never overwrites a key. */
    assert_int_equal(ctl_audit_main(4, argv), 1);
    char *bad[] = {"audit", "keygen", NULL};
    assert_int_equal(ctl_audit_main(2, bad), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_checkpoint_in_chain),
        cmocka_unit_test(test_rewritten_chain),
        cmocka_unit_test(test_malformed_checkpoints),
        cmocka_unit_test(test_rotated_keys),
        cmocka_unit_test(test_keygen_command),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
