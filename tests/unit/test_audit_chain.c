/*
 * Unit tests for audit/chain and `wardenctl audit verify` (tools/ctl_audit): a sealed log
 * verifies; each tamper kind (one byte of a value edited, a line deleted, two lines swapped,
 * a forged line inserted, the file cut mid-line) is reported at the right FILE:LINE with its
 * reason; rotated files verify in order and fail out of order; empty, garbage and binary
 * files fail; a chain resumed from the last line continues. Also times fill + format + hash
 * of one typical record. Single-threaded; writes temporary files under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/chain.h"
#include "audit/format.h"
#include "audit_test_util.h"
#include "tools/ctl_audit.h"

#define NREC 10

static char lines[NREC][8192];
static char dir[] = "/tmp/warden-audit-test-XXXXXX";
static char out_text[8192], err_text[8192];

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    struct audit_chain c;
    const unsigned char inst[4] = {1, 2, 3, 4};
    audit_chain_init(&c, inst);
    for (int i = 0; i < NREC; i++) {
        struct audit_record r;
        audit_fill_typical(&r, 1764349215000LL + i);
        size_t n = 0;
        char err[128];
        if (audit_chain_seal(&c, &r, lines[i], sizeof(lines[i]), &n, err, sizeof(err)) != 0)
            return -1;
        if (n != strlen(lines[i]) || lines[i][n - 1] != '\n')
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *const *parts, size_t n)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputs(parts[i], f);
    fclose(f);
}

/* Run `wardenctl audit verify` on files in dir, capturing stdout and stderr. */
static int verify(const char *f1, const char *f2)
{
    char p1[256], p2[256];
    snprintf(p1, sizeof(p1), "%s/%s", dir, f1);
    snprintf(p2, sizeof(p2), "%s/%s", dir, f2 ? f2 : "");
    char *argv[] = {"audit", "verify", p1, p2, NULL};
    int argc = f2 ? 4 : 3;
    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2);
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = ctl_audit_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    close(save_out);
    close(save_err);
    rewind(fo);
    rewind(fe);
    size_t n = fread(out_text, 1, sizeof(out_text) - 1, fo);
    out_text[n] = '\0';
    n = fread(err_text, 1, sizeof(err_text) - 1, fe);
    err_text[n] = '\0';
    fclose(fo);
    fclose(fe);
    return rc;
}

static void expect_broken(const char *file, int lineno, const char *why)
{
    char want[256];
    snprintf(want, sizeof(want), "%s/%s:%d: chain broken: ", dir, file, lineno);
    if (strncmp(err_text, want, strlen(want)) != 0)
        fail_msg("stderr \"%s\" does not start with \"%s\"", err_text, want);
    if (!strstr(err_text, why))
        fail_msg("stderr \"%s\" lacks \"%s\"", err_text, why);
}

static void all_lines(const char **parts)
{
    for (int i = 0; i < NREC; i++)
        parts[i] = lines[i];
}

static void test_intact(void **state)
{
    const char *parts[NREC];
    all_lines(parts);
    write_file("ok.log", parts, NREC);
    assert_int_equal(verify("ok.log", NULL), 0);
    assert_string_equal(out_text, "10 records, chain intact (first seq 1, last seq 10)\n");
    /* Genesis record: zero prev_hash, UUIDv7 event id. */
    assert_non_null(strstr(lines[0], "\"prev_hash\":\"0000000000000000000000000000000000000000"
                                     "000000000000000000000000\""));
    /* time 1764349215000 ms = 0x019acb688118, version 7, seq 1, instance 01 02 03 04. */
    assert_non_null(strstr(lines[0], "\"event_id\":\"019acb68-8118-7000-8102-030400000001\""));
}

static void test_edit_one_byte(void **state)
{
    char edited[8192];
    strcpy(edited, lines[4]);
    char *p = strstr(edited, "alice@");
    assert_non_null(p);
    p[4] = 'f';
    const char *parts[NREC];
    all_lines(parts);
    parts[4] = edited;
    write_file("edit.log", parts, NREC);
    assert_int_equal(verify("edit.log", NULL), 1);
    expect_broken("edit.log", 5, "seq 5: hash does not match the record's content");
    assert_string_equal(out_text, "");
    /* Editing the hash itself is caught too. */
    strcpy(edited, lines[4]);
    p = strstr(edited, "\"hash\":\"") + 8;
    *p = *p == '0' ? '1' : '0';
    write_file("edit2.log", parts, NREC);
    assert_int_equal(verify("edit2.log", NULL), 1);
    expect_broken("edit2.log", 5, "hash does not match");
    /* And an edit to prev_hash. */
    strcpy(edited, lines[4]);
    p = strstr(edited, "\"prev_hash\":\"") + 13;
    *p = *p == '0' ? '1' : '0';
    write_file("edit3.log", parts, NREC);
    assert_int_equal(verify("edit3.log", NULL), 1);
    expect_broken("edit3.log", 5, "hash does not match");
}

static void test_delete_line(void **state)
{
    const char *parts[NREC];
    all_lines(parts);
    memmove(&parts[3], &parts[4], sizeof(parts[0]) * (NREC - 4));
    write_file("del.log", parts, NREC - 1);
    assert_int_equal(verify("del.log", NULL), 1);
    expect_broken("del.log", 4, "seq 5 follows seq 3");
    assert_non_null(strstr(err_text, "removed"));
    /* Deleting the first line is not detectable from the file alone: the report says the
     * log does not start at the genesis record. */
    all_lines(parts);
    write_file("del0.log", parts + 1, NREC - 1);
    assert_int_equal(verify("del0.log", NULL), 0);
    assert_non_null(strstr(out_text, "first seq 2"));
    assert_non_null(strstr(out_text, "continues an earlier log"));
}

static void test_swap_lines(void **state)
{
    const char *parts[NREC];
    all_lines(parts);
    parts[2] = lines[3];
    parts[3] = lines[2];
    write_file("swap.log", parts, NREC);
    assert_int_equal(verify("swap.log", NULL), 1);
    expect_broken("swap.log", 3, "seq 4 follows seq 2");
}

static void test_insert_forged(void **state)
{
    /* A forger who recomputes the hash of a new record chained after line 3 still breaks the
     * link of the original line 4. */
    struct audit_chain c;
    char err[128];
    audit_chain_init(&c, NULL);
    assert_int_equal(audit_chain_resume(&c, lines[2], strlen(lines[2]) - 1, err, sizeof(err)), 0);
    struct audit_record r;
    audit_fill_typical(&r, 1);
    SETS(&r, subject.user, "mallory");
    char forged[8192];
    size_t n;
    assert_int_equal(audit_chain_seal(&c, &r, forged, sizeof(forged), &n, err, sizeof(err)), 0);
    const char *parts[NREC + 1];
    for (int i = 0, k = 0; i < NREC; i++) {
        parts[k++] = lines[i];
        if (i == 2)
            parts[k++] = forged;
    }
    write_file("forge.log", parts, NREC + 1);
    assert_int_equal(verify("forge.log", NULL), 1);
    expect_broken("forge.log", 5, "seq 4 follows seq 4");
    /* A naive insertion (copied line) is caught at the insertion itself. */
    for (int i = 0, k = 0; i < NREC; i++) {
        parts[k++] = lines[i];
        if (i == 2)
            parts[k++] = lines[7];
    }
    write_file("dup.log", parts, NREC + 1);
    assert_int_equal(verify("dup.log", NULL), 1);
    expect_broken("dup.log", 4, "seq 8 follows seq 3");
}

static void test_truncated_mid_line(void **state)
{
    char cut[8192];
    memcpy(cut, lines[NREC - 1], 100);
    cut[100] = '\0';
    const char *parts[NREC];
    all_lines(parts);
    parts[NREC - 1] = cut;
    write_file("cut.log", parts, NREC);
    assert_int_equal(verify("cut.log", NULL), 1);
    expect_broken("cut.log", NREC, "truncated record");
    /* Cut just before the newline: the record itself is whole but unterminated. */
    strcpy(cut, lines[NREC - 1]);
    cut[strlen(cut) - 1] = '\0';
    write_file("cut2.log", parts, NREC);
    assert_int_equal(verify("cut2.log", NULL), 1);
    expect_broken("cut2.log", NREC, "no newline");
    /* A cut line followed by more records (a crash, then more writes). */
    memcpy(cut, lines[4], 60);
    strcpy(cut + 60, "\n");
    all_lines(parts);
    parts[4] = cut;
    write_file("cut3.log", parts, NREC);
    assert_int_equal(verify("cut3.log", NULL), 1);
    expect_broken("cut3.log", 5, "");
}

static void test_rotated_files(void **state)
{
    const char *parts[NREC];
    all_lines(parts);
    write_file("a.log", parts, 4);
    write_file("b.log", parts + 4, NREC - 4);
    write_file("empty.log", parts, 0);
    assert_int_equal(verify("a.log", "b.log"), 0);
    assert_string_equal(out_text, "10 records, chain intact (first seq 1, last seq 10)\n");
    assert_int_equal(verify("b.log", "a.log"), 1);
    expect_broken("a.log", 1, "seq 1 follows seq 10");
    /* An empty file after rotation is fine when others hold records. */
    assert_int_equal(verify("a.log", "empty.log"), 0);
    assert_int_equal(verify("empty.log", NULL), 1);
    assert_non_null(strstr(err_text, "no audit records"));
}

static void test_garbage(void **state)
{
    const char *g1[] = {"hello world\n"};
    write_file("g1.log", g1, 1);
    assert_int_equal(verify("g1.log", NULL), 1);
    expect_broken("g1.log", 1, "not an audit record");
    const char *g2[] = {"\n"};
    write_file("g2.log", g2, 1);
    assert_int_equal(verify("g2.log", NULL), 1);
    expect_broken("g2.log", 1, "empty line");
    char bin[300];
    for (int i = 0; i < 299; i++)
        bin[i] = (char)(i * 7 + 1);
    bin[299] = '\0';
    const char *g3[] = {lines[0], bin, "\n"};
    write_file("g3.log", g3, 3);
    assert_int_equal(verify("g3.log", NULL), 1);
    expect_broken("g3.log", 2, "");
    const char *g4[] = {"{\"v\":2,\"seq\":1}\n"};
    write_file("g4.log", g4, 1);
    assert_int_equal(verify("g4.log", NULL), 1);
    expect_broken("g4.log", 1, "");
    assert_int_equal(verify("does-not-exist.log", NULL), 1);
    assert_non_null(strstr(err_text, "cannot open"));
    char *argv[] = {"audit", "check", NULL};
    assert_int_equal(ctl_audit_main(2, argv), 2);
    assert_true(ctl_audit_handles("audit"));
    assert_false(ctl_audit_handles("policy"));
    assert_non_null(strstr(ctl_audit_usage(), "audit verify"));
}

static void test_line_parser(void **state)
{
    struct audit_line l;
    char err[128];
    size_t n = strlen(lines[3]) - 1;
    assert_int_equal(audit_line_parse(lines[3], n, &l, err, sizeof(err)), 0);
    assert_int_equal(l.seq, 4);
    assert_memory_equal(lines[3] + l.hash_off, strstr(lines[3], "\"hash\":\"") + 8, 64);
    /* Every strict prefix is refused (truncation), never read past. */
    for (size_t k = 0; k < n; k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, lines[3], k);
        assert_int_equal(audit_line_parse(copy, k, &l, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        free(copy);
    }
    const char *bad[] = {
        "{\"v\":1,\"seq\":01,",
        "{\"v\":1,\"seq\":-1,",
        "{\"v\":1,\"seq\":,",
        "{\"v\":1,\"seq\":99999999999999999999999,",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[8192];
        snprintf(buf, sizeof(buf), "%s%s", bad[i], strchr(lines[3], ',') + 1);
        size_t m = strlen(buf) - 1;
        buf[m] = '\0';
        assert_int_equal(audit_line_parse(buf, m, &l, err, sizeof(err)), -1);
    }
    /* Upper-case hex is not the canonical form. */
    char up[8192];
    strcpy(up, lines[3]);
    char *h = up + l.hash_off;
    for (int i = 0; i < 64; i++)
        if (h[i] >= 'a' && h[i] <= 'f')
            h[i] = (char)(h[i] - 32);
    assert_int_equal(audit_line_parse(up, n, &l, err, sizeof(err)), -1);
}

static void test_resume_continues_chain(void **state)
{
    struct audit_chain c;
    char err[128];
    audit_chain_init(&c, NULL);
    assert_int_equal(
        audit_chain_resume(&c, lines[NREC - 1], strlen(lines[NREC - 1]) - 1, err, sizeof(err)), 0);
    assert_int_equal(c.next_seq, NREC + 1);
    char more[8192];
    struct audit_record r;
    audit_fill_typical(&r, 2);
    assert_int_equal(audit_chain_seal(&c, &r, more, sizeof(more), NULL, err, sizeof(err)), 0);
    const char *parts[NREC + 1];
    all_lines(parts);
    parts[NREC] = more;
    write_file("resume.log", parts, NREC + 1);
    assert_int_equal(verify("resume.log", NULL), 0);
    assert_string_equal(out_text, "11 records, chain intact (first seq 1, last seq 11)\n");
    assert_int_equal(audit_chain_resume(&c, "junk", 4, err, sizeof(err)), -1);
    /* A too-small buffer leaves the chain where it was. */
    uint64_t before = c.next_seq;
    assert_int_equal(audit_chain_seal(&c, &r, more, 100, NULL, err, sizeof(err)), -1);
    assert_int_equal(c.next_seq, before);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Fill + format + hash of one typical record; prints the figure (informational) and checks
 * it stays far below a request's budget. */
static void test_cost_per_record(void **state)
{
    static char buf[AUDIT_LINE_MAX];
    struct audit_chain c;
    audit_chain_init(&c, NULL);
    struct audit_record r;
    const int n = 100000;
    size_t len = 0;
    double best = 1e18;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int i = 0; i < n; i++) {
            audit_fill_typical(&r, 1764349215000LL + i);
            if (audit_chain_seal(&c, &r, buf, sizeof(buf), &len, NULL, 0) != 0)
                fail();
        }
        double per = (now_ns() - t0) / n;
        best = per < best ? per : best;
    }
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        audit_fill_typical(&r, 1764349215000LL + i);
    double fill = (now_ns() - t0) / n;
    t0 = now_ns();
    for (int i = 0; i < n; i++)
        audit_format_ocsf(&r, "0.1.0", buf, sizeof(buf), NULL);
    double ocsf = (now_ns() - t0) / n;
    t0 = now_ns();
    for (int i = 0; i < n; i++)
        audit_format_json(&r, buf, sizeof(buf), NULL);
    double json = (now_ns() - t0) / n;
    assert_int_equal(audit_chain_seal(&c, &r, buf, sizeof(buf), &len, NULL, 0), 0);
    struct audit_verify v;
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        audit_verify_init(&v);
        if (audit_verify_line(&v, buf, len - 1, NULL, 0) != 0)
            fail();
    }
    double ver = (now_ns() - t0) / n;
    printf("audit cost: fill+format+hash %.0f ns/record (fill %.0f ns, JSON format %.0f ns; "
           "line %zu bytes; OCSF format %.0f ns; verify %.0f ns/line; sizeof(struct "
           "audit_record) %zu)\n",
           best, fill, json, len, ocsf, ver, sizeof(struct audit_record));
    assert_true(best < 100000.0);
}

/* Sealing a pre-rendered body (the journal's path) writes exactly the bytes audit_chain_seal
 * writes, for typical, empty and maximal records, and advances the chain the same way. */
static void test_seal_body_matches_seal(void **state)
{
    static char a[AUDIT_LINE_MAX + AUDIT_SEAL_OVERHEAD], b[AUDIT_LINE_MAX + AUDIT_SEAL_OVERHEAD];
    static char body[AUDIT_LINE_MAX];
    const unsigned char inst[4] = {9, 8, 7, 6};
    struct audit_chain c1, c2;
    audit_chain_init(&c1, inst);
    audit_chain_init(&c2, inst);
    static struct audit_record r;
    for (int k = 0; k < 3; k++) {
        if (k == 0) {
            audit_fill_typical(&r, 1764349215000LL + k);
        } else if (k == 1) {
            audit_record_init(&r, 0, NULL);
        } else {
            audit_fill_typical(&r, -5);
            char big[1024];
            memset(big, '\x01', sizeof(big));
            AUDIT_SET(&r, decision.reason, big, sizeof(big));
            AUDIT_SET(&r, path, big, sizeof(big));
        }
        size_t n1 = 0, n2 = 0, bl = 0;
        struct audit_seal s;
        assert_int_equal(audit_format_json_body(&r, body, sizeof(body), &bl), 0);
        assert_int_equal(
            audit_chain_seal_body(&c2, r.time_ms, body, bl, b, sizeof(b), &n2, &s, NULL, 0), 0);
        assert_int_equal(audit_chain_seal(&c1, &r, a, sizeof(a), &n1, NULL, 0), 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        assert_int_equal(s.seq, r.seq);
        assert_string_equal(s.hash, r.hash);
        assert_string_equal(s.prev_hash, r.prev_hash);
        assert_string_equal(s.event_id, r.event_id);
    }
    /* Too small a buffer: refused, and the chain does not advance. */
    uint64_t next = c2.next_seq;
    size_t bl = 0, n = 0;
    assert_int_equal(audit_format_json_body(&r, body, sizeof(body), &bl), 0);
    assert_int_equal(audit_chain_seal_body(&c2, 0, body, bl, b, bl + 10, &n, NULL, NULL, 0), -1);
    assert_int_equal(c2.next_seq, next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),          cmocka_unit_test(test_edit_one_byte),
        cmocka_unit_test(test_delete_line),     cmocka_unit_test(test_swap_lines),
        cmocka_unit_test(test_insert_forged),   cmocka_unit_test(test_truncated_mid_line),
        cmocka_unit_test(test_rotated_files),   cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_line_parser),     cmocka_unit_test(test_resume_continues_chain),
        cmocka_unit_test(test_cost_per_record), cmocka_unit_test(test_seal_body_matches_seal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
