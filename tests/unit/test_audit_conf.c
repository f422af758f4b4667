/*
 * Unit tests for audit/audit_conf: the [audit] section and the four sink sections parse into
 * struct audit_conf with their defaults; every check refuses what it should with a message
 * naming the section (missing journal_dir, unnamed or badly named sinks, duplicate names or
 * paths, sinks without [audit], [audit] without sinks, TLS options on TCP, half a client
 * certificate, bad URLs, bad syslog names, retry bounds, a segment larger than the spool, a
 * checkpoint key that is not Ed25519); audit_url_split splits what it should. Pure apart from
 * temporary key files.
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

#include "audit/audit_conf.h"
#include "audit/checkpoint.h"

struct root {
    struct audit_conf audit;
};

static const struct conf_section sections[] = {AUDIT_CONF_SECTIONS(struct root, audit)};
#define NSECT (sizeof(sections) / sizeof(sections[0]))

static char dir[64], key[128];

static int setup(void **state)
{
    char err[256], pub[128];
    snprintf(dir, sizeof(dir), "/tmp/warden-aconf-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    snprintf(pub, sizeof(pub), "%s/k.pub.pem", dir);
    return audit_keygen(key, pub, err, sizeof(err));
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Parse text; run the whole-file check; return the number of errors (joined in msgs). */
static size_t parse(const char *text, struct root *r, char *msgs, size_t cap)
{
    struct conf_diag d = {0};
    memset(r, 0, sizeof(*r));
    conf_parse("t.conf", text, strlen(text), sections, NSECT, r, &d);
    struct conf_pos pos = {"t.conf", 1, 1};
    audit_conf_check_all(&r->audit, &pos, &d);
    size_t n = d.n, k = 0;
    msgs[0] = '\0';
    for (size_t i = 0; i < d.n && i < d.cap; i++)
        k += (size_t)snprintf(msgs + k, k < cap ? cap - k : 0, "%s\n", d.msgs[i]);
    conf_diag_clear(&d);
    return n;
}

static void release(struct root *r)
{
    conf_release(sections, NSECT, r);
}

static void test_full_config(void **state)
{
    char text[4096], msgs[4096];
    snprintf(text, sizeof(text),
             "[audit]\n"
             "journal_dir = /var/lib/warden/audit\n"
             "commit = sync\nfsync = always\noverflow = drop\nspool_max = 2G\n"
             "segment_size = 8M\nqueue_size = 4096\ncheckpoint_key = %s\n"
             "checkpoint_interval = 5m\n"
             "[audit_file main]\npath = /var/log/warden/audit.log\nmax_size = 10M\n"
             "rotate_interval = 1h\nmax_files = 30\nformat = ocsf\n"
             "[audit_syslog siem]\naddress = siem.example:6514\ntransport = tls\n"
             "ca_file = %s\nfacility = local4\nconfirm_delay = 5s\nbatch_max = 50\n"
             "[audit_redis stream]\naddress = 127.0.0.1:6379\nkey = a:b\nmaxlen = 5000\n"
             "[audit_http collector]\nurl = https://collect.example/v1/audit\n"
             "retry_min = 50ms\nretry_max = 10s\ntimeout = 3s\n",
             key, key);
    struct root r;
    assert_int_equal(parse(text, &r, msgs, sizeof(msgs)), 0);
    struct audit_conf *c = &r.audit;
    assert_true(audit_conf_enabled(c));
    assert_string_equal(c->journal_dir, "/var/lib/warden/audit");
    assert_int_equal(c->commit, AUDIT_COMMIT_SYNC);
    assert_int_equal(c->fsync, AUDIT_FSYNC_ALWAYS);
    assert_int_equal(c->overflow, AUDIT_OVERFLOW_DROP);
    assert_int_equal(c->spool_max, 2LL << 30);
    assert_int_equal(c->segment_size, 8 << 20);
    assert_int_equal(c->queue_size, 4096);
    assert_int_equal(c->checkpoint_interval_ms, 300000);
    assert_int_equal(c->nfiles, 1);
    assert_string_equal(c->files[0].name, "main");
    assert_int_equal(c->files[0].d.format, AUDIT_OUT_OCSF);
    assert_int_equal(c->files[0].max_files, 30);
    assert_int_equal(c->files[0].rotate_interval_ms, 3600000);
    assert_int_equal(c->files[0].fsync, AUDIT_FSYNC_INTERVAL);
    assert_int_equal(c->nsyslogs, 1);
    assert_int_equal(c->syslogs[0].transport, AUDIT_TRANSPORT_TLS);
    assert_int_equal(c->syslogs[0].facility, 20);
    assert_string_equal(audit_syslog_facilities[c->syslogs[0].facility], "local4");
    assert_int_equal(c->syslogs[0].confirm_delay_ms, 5000);
    assert_int_equal(c->syslogs[0].d.batch_max, 50);
    assert_string_equal(c->syslogs[0].app_name, "warden");
    assert_int_equal(c->nredis, 1);
    assert_int_equal(c->redis[0].maxlen, 5000);
    assert_string_equal(c->redis[0].key, "a:b");
    assert_int_equal(c->nhttps, 1);
    assert_int_equal(c->https[0].d.retry_min_ms, 50);
    assert_int_equal(c->https[0].d.retry_max_ms, 10000);
    assert_int_equal(c->https[0].d.timeout_ms, 3000);
    release(&r);
}

static void test_defaults_and_absent(void **state)
{
    char msgs[4096];
    struct root r;
    /* No [audit]: auditing off, no error. */
    assert_int_equal(parse("", &r, msgs, sizeof(msgs)), 0);
    assert_false(audit_conf_enabled(&r.audit));
    release(&r);
    assert_int_equal(
        parse("[audit]\njournal_dir = /j\n[audit_file f]\npath = /a.log\n", &r, msgs, sizeof(msgs)),
        0);
    struct audit_conf *c = &r.audit;
    assert_int_equal(c->commit, AUDIT_COMMIT_ASYNC);
    assert_int_equal(c->fsync, AUDIT_FSYNC_INTERVAL);
    assert_int_equal(c->fsync_interval_ms, 1000);
    assert_int_equal(c->overflow, AUDIT_OVERFLOW_DENY);
    assert_int_equal(c->spool_max, 1LL << 30);
    assert_int_equal(c->queue_size, 256);
    assert_null(c->checkpoint_key);
    assert_int_equal(c->files[0].max_size, 100 << 20);
    assert_int_equal(c->files[0].d.format, AUDIT_OUT_JSON);
    assert_int_equal(c->files[0].d.batch_max, 1000);
    assert_int_equal(c->files[0].d.retry_min_ms, 100);
    assert_int_equal(c->files[0].d.retry_max_ms, 30000);
    release(&r);
}

static void expect_error(const char *text, const char *want)
{
    char msgs[4096];
    struct root r;
    size_t n = parse(text, &r, msgs, sizeof(msgs));
    release(&r);
    if (n == 0 || !strstr(msgs, want))
        fail_msg("config:\n%s\nwanted an error containing \"%s\"; got:\n%s", text, want, msgs);
}

static void test_errors(void **state)
{
    const char *base = "[audit]\njournal_dir = /j\n";
    char t[2048];
#define WITH(extra) (snprintf(t, sizeof(t), "%s%s", base, extra), t)
    expect_error("[audit]\ncommit = async\n[audit_file f]\npath = /a\n",
                 "missing required key 'journal_dir'");
    expect_error("[audit_file f]\npath = /a\n", "need an [audit] section");
    expect_error(base, "needs at least one sink");
    expect_error(WITH("[audit_file]\npath = /a\n"), "needs a name: [audit_file NAME]");
    expect_error(WITH("[audit_file a/b]\npath = /a\n"), "a sink name is 1..64");
    expect_error(WITH("[audit_file x]\npath = /a\n[audit_http x]\nurl = http://h/\n"),
                 "two audit sinks are named 'x'");
    expect_error(WITH("[audit_file x]\npath = /a\n[audit_file y]\npath = /a\n"),
                 "write the same path");
    expect_error(WITH("[audit_file x]\npath = /a\nmax_size = 100\n"), "max_size: at least 4k");
    expect_error(WITH("[audit_file x]\npath = /a\nformat = xml\n"), "format");
    expect_error(WITH("[audit_syslog s]\naddress = h:514\nca_file = /etc/hosts\n"),
                 "need transport = tls");
    expect_error(
        WITH("[audit_syslog s]\naddress = h:514\ntransport = tls\ntls_cert = /etc/hosts\n"),
        "tls_cert and tls_key must be given together");
    expect_error(WITH("[audit_syslog s]\naddress = h:514\napp_name = \"a b\"\n"), "app_name");
    expect_error(WITH("[audit_syslog s]\naddress = h:514\nfacility = local9\n"), "facility");
    expect_error(WITH("[audit_syslog s]\naddress = h:514\ntransport = tls\n"
                      "ca_file = /nonexistent/ca.pem\n"),
                 "cannot read '/nonexistent/ca.pem'");
    expect_error(WITH("[audit_redis r]\naddress = h:6379\nusername = u\n"),
                 "username needs password_file");
    expect_error(WITH("[audit_http h]\nurl = ftp://x/\n"), "url: expected http://");
    expect_error(WITH("[audit_http h]\nurl = http://x/\nca_file = /etc/hosts\n"),
                 "only used with an https:// url");
    expect_error(WITH("[audit_http h]\nurl = http://x/\nretry_min = 5s\nretry_max = 1s\n"),
                 "retry_min is longer than retry_max");
    expect_error(WITH("[audit_file f]\npath = /a\nunknown_key = 1\n"), "unknown_key");
    snprintf(t, sizeof(t),
             "[audit]\njournal_dir = /j\ncheckpoint_key = /etc/hosts\n"
             "[audit_file f]\npath = /a\n");
    expect_error(t, "checkpoint_key: '/etc/hosts' holds no PEM private key");
#undef WITH
}

static void test_url_split(void **state)
{
    struct {
        const char *url;
        int ok;
        bool tls;
        const char *host;
        int port;
        const char *path;
    } cases[] = {
        {"http://h/", 0, false, "h", 80, "/"},
        {"http://h", 0, false, "h", 80, "/"},
        {"https://collector.example:8443/v1/audit?x=1", 0, true, "collector.example", 8443,
         "/v1/audit?x=1"},
        {"HTTP://H:81/a", 0, false, "H", 81, "/a"},
        {"http://[::1]:9000/in", 0, false, "::1", 9000, "/in"},
        {"http://[::1]/in", 0, false, "::1", 80, "/in"},
        {"http://u:p@h/", -1, false, "", 0, ""},
        {"http:///x", -1, false, "", 0, ""},
        {"http://h:0/", -1, false, "", 0, ""},
        {"http://h:65536/", -1, false, "", 0, ""},
        {"http://h:/", -1, false, "", 0, ""},
        {"http://h/a b", -1, false, "", 0, ""},
        {"http://h/#frag", -1, false, "", 0, ""},
        {"http://h?q", -1, false, "", 0, ""},
        {"ftp://h/", -1, false, "", 0, ""},
        {"http://[::1/", -1, false, "", 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool tls = false;
        char host[64] = "", path[64] = "";
        int port = 0;
        int rc = audit_url_split(cases[i].url, &tls, host, sizeof(host), &port, path, sizeof(path));
        if (rc != cases[i].ok)
            fail_msg("%s: rc %d", cases[i].url, rc);
        if (rc == 0) {
            assert_int_equal(tls, cases[i].tls);
            assert_string_equal(host, cases[i].host);
            assert_int_equal(port, cases[i].port);
            assert_string_equal(path, cases[i].path);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults_and_absent),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_url_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
