/*
 * The example policies in policies/ and their table of expected decisions, run through the
 * wardenctl policy commands (gateway/tools/ctl_policy.c): `check` must pass, `test` must pass
 * every row (on-behalf-of rows with actor=/scopes= and deny:SIDE included), and a deliberately
 * wrong expectation must fail with exit status 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/ctl_policy.h"

static char dir[1024], table[1100];

static int setup(void **state)
{
    const char *src = getenv("WARDEN_SOURCE_DIR");
    snprintf(dir, sizeof(dir), "%s/policies", src ? src : ".");
    snprintf(table, sizeof(table), "%s/expected.table", dir);
    return 0;
}

static int run(int argc, char **argv)
{
    fflush(stdout);
    return ctl_policy_main(argc, argv);
}

static void test_check(void **state)
{
    char *argv[] = {"check", "--policy", dir};
    assert_int_equal(run(3, argv), 0);
}

static void test_expected_table(void **state)
{
    char *argv[] = {"test", "--policy", dir, table};
    assert_int_equal(run(4, argv), 0);
}

static void test_mismatch_fails(void **state)
{
    char path[] = "/tmp/policy-table-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *rows = "allow  alice@acme.example  risk  READ  EXPERIMENT risk.fraud.training\n"
                       "allow  mallory@acme.example -    READ  EXPERIMENT risk.fraud.training\n";
    assert_int_equal(write(fd, rows, strlen(rows)), (ssize_t)strlen(rows));
    close(fd);
    char *argv[] = {"test", "--policy", dir, path};
    assert_int_equal(run(4, argv), 1);
    /* A malformed row is a usage error (2), not a silent pass. */
    FILE *f = fopen(path, "w");
    fputs("maybe alice@acme.example risk READ EXPERIMENT risk.fraud.training\n", f);
    fclose(f);
    assert_int_equal(run(4, argv), 2);
    unlink(path);
}

static int run_rows(const char *rows)
{
    char path[] = "/tmp/policy-table-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, rows, strlen(rows)), (ssize_t)strlen(rows));
    close(fd);
    char *argv[] = {"test", "--policy", dir, path};
    int rc = run(4, argv);
    unlink(path);
    return rc;
}

static void test_on_behalf_rows(void **state)
{
    /* The side must match: a limit denial is not a scope denial. */
    assert_int_equal(run_rows("deny:limit alice@acme.example risk CREATE_MODEL_VERSION MODEL "
                              "risk.fraud.scorer actor=sp:notebook-assistant\n"),
                     0);
    assert_int_equal(run_rows("deny:scope alice@acme.example risk CREATE_MODEL_VERSION MODEL "
                              "risk.fraud.scorer actor=sp:notebook-assistant\n"),
                     1);
    assert_int_equal(run_rows("allow alice@acme.example risk READ EXPERIMENT risk.fraud.training "
                              "actor=sp:nobody\n"),
                     1);
    assert_int_equal(run_rows("deny alice@acme.example risk READ EXPERIMENT risk.fraud.training "
                              "actor=sp:nobody actor-groups=x,y\n"),
                     0);
    /* Malformed: unknown side, unknown or repeated option, actor-groups without actor. */
    assert_int_equal(run_rows("deny:maybe alice@acme.example risk READ EXPERIMENT r.f.t "
                              "actor=sp:x\n"),
                     2);
    assert_int_equal(run_rows("deny alice@acme.example risk READ EXPERIMENT r.f.t agent=sp:x\n"),
                     2);
    assert_int_equal(run_rows("deny alice@acme.example risk READ EXPERIMENT r.f.t actor=sp:x "
                              "actor=sp:y\n"),
                     2);
    assert_int_equal(run_rows("deny alice@acme.example risk READ EXPERIMENT r.f.t "
                              "actor-groups=a\n"),
                     2);
    assert_int_equal(run_rows("deny alice@acme.example risk READ EXPERIMENT r.f.t "
                              "actor=group:g\n"),
                     2);
    /* explain on behalf of: exit 0 allow, 1 deny. */
    char *allow[] = {"explain",
                     "--policy",
                     dir,
                     "--user",
                     "alice@acme.example",
                     "--groups",
                     "risk",
                     "--privilege",
                     "MODIFY",
                     "--on",
                     "EXPERIMENT",
                     "risk.fraud.training",
                     "--actor",
                     "sp:notebook-assistant"};
    assert_int_equal(run(14, allow), 0);
    char *deny[] = {"explain",
                    "--policy",
                    dir,
                    "--user",
                    "alice@acme.example",
                    "--groups",
                    "risk",
                    "--privilege",
                    "MODIFY",
                    "--on",
                    "EXPERIMENT",
                    "risk.fraud.training",
                    "--actor",
                    "sp:notebook-assistant",
                    "--scopes",
                    "mlflow:read"};
    assert_int_equal(run(16, deny), 1);
    char *scoped[] = {
        "explain",  "--policy",    dir,    "--user", "alice@acme.example", "--groups",
        "risk",     "--privilege", "READ", "--on",   "EXPERIMENT",         "risk.fraud.training",
        "--scopes", "mlflow:read"};
    assert_int_equal(run(14, scoped), 0);
    char *lonely[] = {"explain",        "--policy", dir,    "--user",     "alice@acme.example",
                      "--privilege",    "READ",     "--on", "EXPERIMENT", "risk.fraud.training",
                      "--actor-groups", "g"};
    assert_int_equal(run(12, lonely), 2);
    char *grants[] = {"grants", "--policy", dir, "--principal", "sp:notebook-assistant"};
    assert_int_equal(run(5, grants), 0);
    char *on[] = {"grants", "--policy", dir, "--on", "SCHEMA", "risk.fraud"};
    assert_int_equal(run(6, on), 0);
}

static void test_explain_and_grants(void **state)
{
    char *allow[] = {"explain",     "--policy", dir,    "--user", "sp:fraud-scorer",
                     "--privilege", "EXECUTE",  "--on", "MODEL",  "risk.fraud.scorer"};
    assert_int_equal(run(10, allow), 0);
    char *deny[] = {"explain",     "--policy", dir,    "--user",     "mallory@acme.example",
                    "--privilege", "READ",     "--on", "EXPERIMENT", "risk.fraud.training"};
    assert_int_equal(run(10, deny), 1);
    char *bad[] = {"explain",     "--policy", dir,    "--user",     "group:risk",
                   "--privilege", "READ",     "--on", "EXPERIMENT", "risk.fraud.training"};
    assert_int_equal(run(10, bad), 2);
    char *on[] = {"grants", "--policy", dir, "--on", "EXPERIMENT", "risk.fraud.training"};
    assert_int_equal(run(6, on), 0);
    char *who[] = {"grants", "--policy", dir, "--principal", "carol@acme.example"};
    assert_int_equal(run(5, who), 0);
    char *usage[] = {"grants", "--policy", dir};
    assert_int_equal(run(3, usage), 2);
    char *unknown[] = {"frobnicate"};
    assert_int_equal(run(1, unknown), 2);
    assert_true(ctl_policy_handles("check"));
    assert_false(ctl_policy_handles("serve"));
}

static void test_check_reports_errors(void **state)
{
    char path[] = "/tmp/policy-bad-XXXXXX.policy";
    int fd = mkstemps(path, 7);
    assert_true(fd >= 0);
    const char *text = "GRANT REED ON CATALOG c TO u;\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"check", path};
    assert_int_equal(run(2, argv), 1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),          cmocka_unit_test(test_expected_table),
        cmocka_unit_test(test_mismatch_fails), cmocka_unit_test(test_explain_and_grants),
        cmocka_unit_test(test_on_behalf_rows), cmocka_unit_test(test_check_reports_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
