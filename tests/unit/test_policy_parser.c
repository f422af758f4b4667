/*
 * Unit tests for the policy parser and compiler (gateway/policy/parser.c, compile.c): the
 * statement forms, case-insensitive keywords, quoting, multi-file order and the version
 * checksum, and every error message with its file:line:column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

static struct policy_snapshot *compile1(const char *src, struct policy_diag *d)
{
    struct policy_text t = {"t.policy", src, strlen(src)};
    return policy_compile_buffers(&t, 1, d);
}

/* Compiles src, expects failure with exactly the given errors (NULL-terminated list). */
static void expect_errors(const char *src, ...)
{
    struct policy_diag d;
    va_list ap;
    size_t i = 0;
    policy_diag_init(&d);
    struct policy_snapshot *s = compile1(src, &d);
    assert_null(s);
    va_start(ap, src);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
        if (i >= d.count)
            fail_msg("missing error #%zu: %s", i, want);
        if (strcmp(d.v[i].text, want) != 0)
            fail_msg("error #%zu:\n  got:  %s\n  want: %s", i, d.v[i].text, want);
    }
    va_end(ap);
    if (i != d.count)
        fail_msg("unexpected extra error: %s", d.v[i].text);
    policy_diag_deinit(&d);
}

static void test_statements(void **state)
{
    const char *src = "-- header\n"
                      "grant Use Catalog ON CATALOG risk TO `group:risk`;\n"
                      "GRANT READ, modify ON EXPERIMENT risk.fraud.`train/v1` TO `a@x`, `sp:bot`;\n"
                      "ALTER SCHEMA risk.fraud OWNER TO `group:leads`;\n"
                      "CREATE GROUP leads WITH MEMBERS `carol@x`, `group:sre`;\n"
                      "ALTER GROUP `group:leads` ADD MEMBER `dave@x`;\n"
                      "SET ADMIN GROUP admins;\n"
                      "GRANT USE_SCHEMA ON SCHEMA risk.fraud TO `user:odd:name`;;\n";
    struct policy_diag d;
    policy_diag_init(&d);
    struct policy_snapshot *s = compile1(src, &d);
    assert_non_null(s);
    assert_int_equal(d.count, 0);
    assert_int_equal(policy_snapshot_grant_count(s), 6);
    struct policy_grant_info g;
    policy_snapshot_grant(s, 0, &g);
    assert_int_equal(g.priv, POLICY_PRIV_USE_CATALOG);
    assert_int_equal(g.kind, POLICY_KIND_CATALOG);
    assert_memory_equal(g.catalog.ptr, "risk", 4);
    assert_string_equal(g.principal, "group:risk");
    assert_int_equal(g.principal_kind, POLICY_PRINCIPAL_GROUP);
    assert_int_equal(g.source.line, 2);
    assert_int_equal(g.source.col, 1);
    assert_string_equal(g.source.file, "t.policy");
    policy_snapshot_grant(s, 1, &g);
    assert_int_equal(g.priv, POLICY_PRIV_READ);
    assert_int_equal(g.name.len, 8);
    assert_memory_equal(g.name.ptr, "train/v1", 8);
    assert_string_equal(g.principal, "a@x");
    policy_snapshot_grant(s, 4, &g);
    assert_string_equal(g.principal, "sp:bot");
    assert_int_equal(g.principal_kind, POLICY_PRINCIPAL_SP);
    policy_snapshot_grant(s, 5, &g);
    assert_int_equal(g.priv, POLICY_PRIV_USE_SCHEMA);
    assert_string_equal(g.principal, "user:odd:name");
    assert_int_equal(policy_snapshot_owner_count(s), 1);
    struct policy_owner_info o;
    policy_snapshot_owner(s, 0, &o);
    assert_string_equal(o.principal, "group:leads");
    assert_int_equal(o.kind, POLICY_KIND_SCHEMA);
    assert_int_equal(policy_snapshot_member_count(s), 3);
    struct policy_group_info m;
    policy_snapshot_member(s, 2, &m);
    assert_string_equal(m.group, "leads");
    assert_string_equal(m.member, "dave@x");
    assert_string_equal(policy_snapshot_admin_group(s), "admins");
    assert_true(policy_snapshot_in_group(s, "carol@x", "leads"));
    assert_true(policy_snapshot_in_group(s, "group:sre", "leads"));
    assert_true(policy_snapshot_in_group(s, "group:leads", "leads"));
    assert_false(policy_snapshot_in_group(s, "a@x", "leads"));
    policy_snapshot_unref(s);
    policy_diag_deinit(&d);
}

static void test_empty_policy_and_multiline(void **state)
{
    struct policy_snapshot *s = compile1("", NULL);
    assert_non_null(s);
    assert_int_equal(policy_snapshot_grant_count(s), 0);
    assert_null(policy_snapshot_admin_group(s));
    policy_snapshot_unref(s);
    s = compile1("GRANT\n  READ\n  ON\tSCHEMA a . b\nTO\n x ;", NULL);
    assert_non_null(s);
    assert_int_equal(policy_snapshot_grant_count(s), 1);
    policy_snapshot_unref(s);
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char d[32];
    unsigned int n;
    EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_version_and_file_order(void **state)
{
    struct policy_text t[2] = {
        {"b.policy", "ALTER CATALOG c OWNER TO `x@y`;\n", 0},
        {"a.policy", "ALTER CATALOG c OWNER TO `z@y`;\n", 0},
    };
    t[0].len = strlen(t[0].data);
    t[1].len = strlen(t[1].data);
    struct policy_diag d;
    policy_diag_init(&d);
    assert_null(policy_compile_buffers(t, 2, &d));
    assert_int_equal(d.count, 1);
    /* Order is as given: the second file conflicts with the first. */
    assert_string_equal(d.v[0].text, "a.policy:1:1: conflicting owners for CATALOG c: 'z@y' "
                                     "here, 'x@y' at b.policy:1");
    policy_diag_deinit(&d);

    const char *x = "GRANT READ ON CATALOG c TO u;\n", *y = "GRANT READ ON CATALOG d TO u;\n";
    struct policy_text u[2] = {{"x", x, strlen(x)}, {"y", y, strlen(y)}};
    struct policy_snapshot *s = policy_compile_buffers(u, 2, NULL);
    char both[128], want[65];
    snprintf(both, sizeof(both), "%s%s", x, y);
    sha256_hex(both, strlen(both), want);
    assert_string_equal(policy_snapshot_version(s), want);
    assert_int_equal(policy_snapshot_file_count(s), 2);
    assert_string_equal(policy_snapshot_file(s, 1), "y");
    assert_true(policy_snapshot_memory(s) > 0);
    policy_snapshot_unref(s);
}

static void test_directory_order(void **state)
{
    char dir[] = "/tmp/policy-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    const char *names[] = {"20-b.policy", "10-a.policy", "notes.txt"};
    const char *texts[] = {"ALTER CATALOG c OWNER TO b;\n", "ALTER CATALOG c OWNER TO a;\n",
                           "not a policy"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(texts[i], f);
        fclose(f);
    }
    struct policy_diag d;
    policy_diag_init(&d);
    const char *paths[] = {dir};
    assert_null(policy_compile(paths, 1, &d));
    assert_int_equal(d.count, 1);
    char want[512];
    snprintf(want, sizeof(want),
             "%s/20-b.policy:1:1: conflicting owners for CATALOG c: 'b' here, 'a' at "
             "%s/10-a.policy:1",
             dir, dir);
    assert_string_equal(d.v[0].text, want);
    policy_diag_clear(&d);

    const char *missing[] = {"/nonexistent/x.policy"};
    assert_null(policy_compile(missing, 1, &d));
    assert_string_equal(d.v[0].text, "/nonexistent/x.policy:0:0: /nonexistent/x.policy: No "
                                     "such file or directory");
    policy_diag_deinit(&d);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void test_error_messages(void **state)
{
    expect_errors("GRANT REED ON CATALOG c TO u;",
                  "t.policy:1:7: unknown privilege 'REED' (did you mean 'READ'?)", NULL);
    expect_errors("GRANT SELECT ON CATALOG c TO u;",
                  "t.policy:1:7: unknown privilege 'SELECT' (did you mean 'READ'?)", NULL);
    expect_errors("GRANT ALL ON CATALOG c TO u;",
                  "t.policy:1:7: unknown privilege 'ALL' (write ALL PRIVILEGES)", NULL);
    expect_errors("GRANT FLY ON CATALOG c TO u;", "t.policy:1:7: unknown privilege 'FLY'", NULL);
    expect_errors("GRANT USE CATALOGUE ON CATALOG c TO u;",
                  "t.policy:1:7: unknown privilege 'USE CATALOGUE' (did you mean 'USE "
                  "CATALOG'?)",
                  NULL);
    expect_errors("GRANT READ, EXECUTE ON EXPERIMENT c.s.e TO u;",
                  "t.policy:1:13: privilege EXECUTE does not apply to EXPERIMENT (applicable: "
                  "BROWSE, READ, MODIFY, APPLY TAG, MANAGE, ALL PRIVILEGES)",
                  NULL);
    expect_errors("GRANT READ ON MODEL c.s.m TO u;",
                  "t.policy:1:7: privilege READ does not apply to MODEL (applicable: BROWSE, "
                  "EXECUTE, APPLY TAG, CREATE MODEL VERSION, MANAGE, ALL PRIVILEGES)",
                  NULL);
    expect_errors("GRANT USE CATALOG ON SCHEMA c.s TO u;",
                  "t.policy:1:7: privilege USE CATALOG does not apply to SCHEMA (applicable: USE "
                  "SCHEMA, BROWSE, CREATE EXPERIMENT, CREATE MODEL, READ, MODIFY, EXECUTE, APPLY "
                  "TAG, CREATE MODEL VERSION, MANAGE, ALL PRIVILEGES)",
                  NULL);
    expect_errors("GRANT READ ON TABLE c.s.t TO u;",
                  "t.policy:1:15: unknown securable type 'TABLE' (expected CATALOG, SCHEMA, "
                  "EXPERIMENT or MODEL)",
                  NULL);
    expect_errors("GRANT READ ON EXPERIMNET c.s.t TO u;",
                  "t.policy:1:15: unknown securable type 'EXPERIMNET' (did you mean "
                  "'EXPERIMENT'?)",
                  NULL);
    expect_errors("GRANT READ ON `SCHEMA` c.s TO u;",
                  "t.policy:1:15: expected a securable type (CATALOG, SCHEMA, EXPERIMENT or "
                  "MODEL), found 'SCHEMA'",
                  NULL);
    expect_errors("GRANT READ ON EXPERIMENT c.s TO u;",
                  "t.policy:1:26: malformed name 'c.s' for EXPERIMENT: expected "
                  "catalog.schema.experiment",
                  NULL);
    expect_errors("GRANT READ ON CATALOG c.s TO u;",
                  "t.policy:1:23: malformed name 'c.s' for CATALOG: expected catalog", NULL);
    expect_errors("GRANT READ ON SCHEMA c.s.`x y`.z TO u;",
                  "t.policy:1:22: malformed name 'c.s.`x y`.z' for SCHEMA: expected "
                  "catalog.schema",
                  NULL);
    expect_errors("GRANT READ ON SCHEMA c..s TO u;",
                  "t.policy:1:24: expected a name part after '.', found '.'", NULL);
    expect_errors("GRANT READ ON SCHEMA c. TO u;",
                  "t.policy:1:25: expected a name part after '.', found 'TO'", NULL);
    expect_errors("GRANT READ ON SCHEMA ;", "t.policy:1:22: expected a name, found ';'", NULL);
    expect_errors("ALTER SCHEMA c.s OWNER TO a;\nALTER SCHEMA c.s OWNER TO `group:b`;",
                  "t.policy:2:1: conflicting owners for SCHEMA c.s: 'group:b' here, 'a' at "
                  "t.policy:1",
                  NULL);
    expect_errors("ALTER MODEL c.s.m OWNER TO a, b;",
                  "t.policy:1:29: an owner is a single principal (use a group to share "
                  "ownership)",
                  NULL);
    expect_errors("ALTER MODEL c.s.m OWNER a;", "t.policy:1:25: expected TO, found 'a'", NULL);
    expect_errors("ALTER MODEL c.s.m TO a;", "t.policy:1:19: expected OWNER, found 'TO'", NULL);
    expect_errors("GRANT READ ON CATALOG `c TO u;\nGRANT READ ON CATALOG d TO u;",
                  "t.policy:1:23: unterminated quoted identifier (missing closing backtick)", NULL);
    expect_errors("GRANT READ ON CATALOG c TO u\nGRANT READ ON CATALOG d TO u;",
                  "t.policy:1:29: missing ';' at the end of the statement", NULL);
    expect_errors("GRANT READ ON CATALOG c TO u",
                  "t.policy:1:29: missing ';' at the end of "
                  "the statement",
                  NULL);
    expect_errors("GRANT READ ON CATALOG c TO u v;", "t.policy:1:30: expected ';', found 'v'",
                  NULL);
    expect_errors("GRAND READ ON CATALOG c TO u;",
                  "t.policy:1:1: unknown statement 'GRAND' (did you mean 'GRANT'?)", NULL);
    expect_errors("SELECT * FROM t;",
                  "t.policy:1:1: unknown statement 'SELECT' (expected GRANT, ALTER, CREATE GROUP "
                  "or SET ADMIN GROUP)",
                  "t.policy:1:8: unexpected character", NULL);
    expect_errors("`x`;", "t.policy:1:1: expected a statement, found 'x'", NULL);
    expect_errors("REVOKE READ ON CATALOG c FROM u;",
                  "t.policy:1:1: REVOKE is not supported: policies are allow-only, remove the "
                  "GRANT instead",
                  NULL);
    expect_errors("deny READ ON CATALOG c TO u;",
                  "t.policy:1:1: deny is not supported: policies are allow-only, remove the "
                  "GRANT instead",
                  NULL);
    expect_errors("GRANT READ ON CATALOG c TO ``;", "t.policy:1:28: empty quoted identifier", NULL);
    expect_errors("GRANT READ ON CATALOG c TO `group:`;",
                  "t.policy:1:28: empty name after principal prefix: 'group:'", NULL);
    expect_errors("GRANT READ ON CATALOG c TO `svc:x`;",
                  "t.policy:1:28: unknown principal prefix (use user:, group: or sp:): 'svc:x'",
                  NULL);
    expect_errors("GRANT READ ON CATALOG c TO ;", "t.policy:1:28: expected a principal, found ';'",
                  NULL);
    expect_errors("GRANT READ ON CATALOG c u;", "t.policy:1:25: expected TO, found 'u'", NULL);
    expect_errors("GRANT ON CATALOG c TO u;", "t.policy:1:7: expected a privilege, found 'ON'",
                  NULL);
    expect_errors("GRANT READ TO u;",
                  "t.policy:1:12: expected ',' or ON after the privilege, "
                  "found 'TO'",
                  NULL);
    expect_errors("GRANT READ, ON CATALOG c TO u;",
                  "t.policy:1:13: expected a privilege, found 'ON'", NULL);
    expect_errors("GRANT READ ON CATALOG c TO 'u';",
                  "t.policy:1:28: unexpected quote: identifiers are quoted with backticks "
                  "(`name`)",
                  NULL);
    expect_errors("GRANT READ ON CATALOG c TO u; #", "t.policy:1:31: unexpected character", NULL);
    expect_errors("GRANT READ ON CATALOG `a\tb` TO u;",
                  "t.policy:1:23: control character in quoted identifier", NULL);
    expect_errors("SET ADMIN GROUP a;\nSET ADMIN GROUP b;",
                  "t.policy:2:17: admin group is already set to 'a' at t.policy:1", NULL);
    expect_errors("SET ADMIN a;", "t.policy:1:11: expected GROUP, found 'a'", NULL);
    expect_errors("SET ADMIN GROUP `sp:x`;",
                  "t.policy:1:17: group name must be a plain name or group:name", NULL);
    expect_errors("CREATE GROUP g;\nCREATE GROUP `group:g` WITH MEMBERS a;",
                  "t.policy:2:14: group 'g' is already created at t.policy:1", NULL);
    expect_errors("CREATE g;", "t.policy:1:8: expected GROUP, found 'g'", NULL);
    expect_errors("CREATE GROUP g WITH a;", "t.policy:1:21: expected MEMBERS, found 'a'", NULL);
    expect_errors("ALTER GROUP g MEMBERS a;", "t.policy:1:15: expected ADD, found 'MEMBERS'", NULL);
    expect_errors("ALTER GROUP g ADD a;", "t.policy:1:19: expected MEMBERS, found 'a'", NULL);
}

static void test_every_error_is_reported(void **state)
{
    /* Independent errors on several lines are all listed, and the valid statements between
     * them do not rescue the set. */
    expect_errors("GRANT REED ON CATALOG c TO u;\n"
                  "GRANT READ ON CATALOG ok TO u;\n"
                  "GRANT READ ON SCHEMA x TO u;\n"
                  "GRAND READ ON CATALOG c TO u;\n"
                  "GRANT READ ON MODEL a.b.c TO u;\n",
                  "t.policy:1:7: unknown privilege 'REED' (did you mean 'READ'?)",
                  "t.policy:3:22: malformed name 'x' for SCHEMA: expected catalog.schema",
                  "t.policy:4:1: unknown statement 'GRAND' (did you mean 'GRANT'?)",
                  "t.policy:5:7: privilege READ does not apply to MODEL (applicable: BROWSE, "
                  "EXECUTE, APPLY TAG, CREATE MODEL VERSION, MANAGE, ALL PRIVILEGES)",
                  NULL);
}

static void test_too_many_errors(void **state)
{
    size_t n = (POLICY_DIAG_MAX + 50) * 6;
    char *src = malloc(n + 1);
    for (size_t i = 0; i < n; i += 6)
        memcpy(src + i, "GRAND;", 6);
    src[n] = '\0';
    struct policy_diag d;
    policy_diag_init(&d);
    assert_null(compile1(src, &d));
    assert_int_equal(d.count, POLICY_DIAG_MAX + 1);
    assert_string_equal(d.v[POLICY_DIAG_MAX].message, "too many errors, giving up");
    char buf[64];
    size_t need = policy_diag_format(&d, buf, sizeof(buf));
    assert_true(need > sizeof(buf));
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    policy_diag_deinit(&d);
    free(src);
}

static void test_name_parse_and_format(void **state)
{
    struct policy_object o;
    char buf[64], err[128], out[64];
    const char *n = "risk.fraud.`model ``v2```";
    assert_int_equal(policy_name_parse(POLICY_KIND_MODEL, n, strlen(n), buf, &o, err, sizeof(err)),
                     0);
    assert_int_equal(o.name.len, 10);
    assert_memory_equal(o.name.ptr, "model `v2`", 10);
    policy_name_format(&o, out, sizeof(out));
    assert_string_equal(out, n);
    assert_int_equal(policy_name_parse(POLICY_KIND_SCHEMA, "a.b.c", 5, buf, &o, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "malformed name 'a.b.c' for SCHEMA: expected catalog.schema");
    assert_int_equal(policy_name_parse(POLICY_KIND_MODEL, "a.b", 3, buf, &o, err, sizeof(err)), -1);
    assert_string_equal(err, "malformed name 'a.b' for MODEL: expected catalog.schema.model");
    assert_int_equal(policy_name_parse(POLICY_KIND_CATALOG, "`a", 2, buf, &o, err, sizeof(err)),
                     -1);
}

static void test_keyword_helpers(void **state)
{
    enum policy_priv p;
    enum policy_kind k;
    assert_int_equal(policy_priv_parse("create_model_version", 20, &p), 0);
    assert_int_equal(p, POLICY_PRIV_CREATE_MODEL_VERSION);
    assert_int_equal(policy_priv_parse("  Apply  Tag ", 13, &p), 0);
    assert_int_equal(p, POLICY_PRIV_APPLY_TAG);
    assert_int_equal(policy_priv_parse("APPLYTAG", 8, &p), -1);
    assert_int_equal(policy_kind_parse("model", 5, &k), 0);
    assert_int_equal(k, POLICY_KIND_MODEL);
    assert_string_equal(policy_priv_name(POLICY_PRIV_ALL_PRIVILEGES), "ALL PRIVILEGES");
    assert_string_equal(policy_kind_name(POLICY_KIND_EXPERIMENT), "EXPERIMENT");
    assert_string_equal(policy_reason_name(POLICY_REASON_NO_TRAVERSE), "no-traverse");
    assert_true(policy_priv_applies(POLICY_PRIV_READ, POLICY_KIND_CATALOG));
    assert_false(policy_priv_applies(POLICY_PRIV_USE_SCHEMA, POLICY_KIND_EXPERIMENT));
    enum policy_principal_kind pk;
    struct policy_str name;
    char err[128];
    assert_int_equal(policy_principal_parse("SP:bot", 6, &pk, &name, err, sizeof(err)), 0);
    assert_int_equal(pk, POLICY_PRINCIPAL_SP);
    assert_int_equal(name.len, 3);
    assert_int_equal(policy_principal_parse("a@b:c", 5, &pk, &name, err, sizeof(err)), 0);
    assert_int_equal(pk, POLICY_PRINCIPAL_USER);
    assert_int_equal(policy_principal_parse("", 0, &pk, &name, err, sizeof(err)), -1);
    assert_string_equal(err, "empty principal: ''");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statements),
        cmocka_unit_test(test_empty_policy_and_multiline),
        cmocka_unit_test(test_version_and_file_order),
        cmocka_unit_test(test_directory_order),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_every_error_is_reported),
        cmocka_unit_test(test_too_many_errors),
        cmocka_unit_test(test_name_parse_and_format),
        cmocka_unit_test(test_keyword_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
