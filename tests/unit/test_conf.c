/*
 * Unit tests for util/conf (the table-driven INI reader) and config (the daemon's sections):
 * every value type, every error message with its exact file:line:column, and that all errors
 * of a file are collected in one pass.
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

#include "config.h"
#include "util/conf.h"

struct demo {
    char *name;
    int64_t count;
    bool flag;
    int64_t wait_ms;
    int64_t size;
    int mode;
    char **items;
    char *addr;
};

struct item {
    char *label;
    char *value;
};

struct root {
    struct demo demo;
    struct item *items;
    size_t nitems;
};

static const char *const modes[] = {"fast", "safe", NULL};
static const struct conf_key demo_keys[] = {
    {"name", CONF_STRING, offsetof(struct demo, name), 0, 0, NULL, true},
    {"count", CONF_INT, offsetof(struct demo, count), 1, 10, NULL, false},
    {"flag", CONF_BOOL, offsetof(struct demo, flag), 0, 0, NULL, false},
    {"wait", CONF_DURATION, offsetof(struct demo, wait_ms), 0, 60000, NULL, false},
    {"size", CONF_SIZE, offsetof(struct demo, size), 0, 0, NULL, false},
    {"mode", CONF_ENUM, offsetof(struct demo, mode), 0, 0, modes, false},
    {"items", CONF_LIST, offsetof(struct demo, items), 0, 0, NULL, false},
    {"addr", CONF_ADDRESS, offsetof(struct demo, addr), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};
static const struct conf_key item_keys[] = {
    {"value", CONF_STRING, offsetof(struct item, value), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};
static const struct conf_section secs[] = {
    {"demo", sizeof(struct demo), false, demo_keys, offsetof(struct root, demo), 0, CONF_NO_LABEL,
     NULL, NULL},
    {"item", sizeof(struct item), true, item_keys, offsetof(struct root, items),
     offsetof(struct root, nitems), offsetof(struct item, label), NULL, NULL},
};

static int parse(const char *text, struct root *r, struct conf_diag *d)
{
    memset(r, 0, sizeof(*r));
    memset(d, 0, sizeof(*d));
    return conf_parse("t.conf", text, strlen(text), secs, 2, r, d);
}

static void done(struct root *r, struct conf_diag *d)
{
    conf_release(secs, 2, r);
    conf_diag_clear(d);
}

static void test_all_types(void **state)
{
    struct root r;
    struct conf_diag d;
    int rc = parse("# comment\n[demo]\nname = \"a \\\"q\\\" b\"  # trailing\ncount = 7\n"
                   "flag = yes\nwait = 1500ms\nsize = 64k\nmode = safe\nitems = a, b ,c\n"
                   "addr = [::1]:80\n\n[item one]\nvalue = x\n[item two]\nvalue = y # c\n",
                   &r, &d);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(r.demo.name, "a \"q\" b");
    assert_int_equal(r.demo.count, 7);
    assert_true(r.demo.flag);
    assert_int_equal(r.demo.wait_ms, 1500);
    assert_int_equal(r.demo.size, 65536);
    assert_int_equal(r.demo.mode, 1);
    assert_string_equal(r.demo.items[0], "a");
    assert_string_equal(r.demo.items[1], "b");
    assert_string_equal(r.demo.items[2], "c");
    assert_null(r.demo.items[3]);
    assert_string_equal(r.demo.addr, "[::1]:80");
    assert_int_equal(r.nitems, 2);
    assert_string_equal(r.items[0].label, "one");
    assert_string_equal(r.items[1].value, "y");
    done(&r, &d);
}

/* Each bad line yields exactly one message, at the right position, and parsing continues. */
static void test_errors_collected(void **state)
{
    struct root r;
    struct conf_diag d;
    int rc = parse("[demo]\n"
                   "name = n\n"
                   "count = 11\n"
                   "cuont = 1\n"
                   "flag = maybe\n"
                   "wait = 5 minutes\n"
                   "size = 1T\n"
                   "mode = slow\n"
                   "addr = nowhere\n"
                   "name = again\n"
                   "[dmeo]\n"
                   "x = 1\n"
                   "[demo]\n"
                   "just words\n"
                   "[item]\n"
                   "value = \"open\n",
                   &r, &d);
    assert_int_equal(rc, -1);
    const char *want[] = {
        "t.conf:3:9: count: 11 is out of range (1..10)",
        "t.conf:4:1: unknown key 'cuont' in section [demo]; did you mean 'count'?",
        "t.conf:5:8: flag: invalid boolean 'maybe' (expected on/off/true/false/yes/no)",
        "t.conf:6:8: wait: invalid duration '5 minutes' (expected e.g. 500ms, 10s, 5m, 1h)",
        "t.conf:7:8: size: invalid size '1T' (expected e.g. 512, 64k, 10M, 1G)",
        "t.conf:8:8: mode: invalid value 'slow' (expected one of: fast, safe)",
        "t.conf:9:8: addr: invalid address 'nowhere' (expected host:port or [v6]:port)",
        "t.conf:10:1: duplicate key 'name' in section [demo]",
        "t.conf:11:2: unknown section [dmeo]; did you mean [demo]?",
        "t.conf:13:2: section [demo] appears more than once",
        "t.conf:14:1: expected 'key = value'",
        "t.conf:16:9: value: unterminated or malformed quoted string",
    };
    size_t nwant = sizeof(want) / sizeof(want[0]);
    for (size_t i = 0; i < d.n; i++)
        printf("  got: %s\n", d.msgs[i]);
    assert_int_equal(d.n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(d.msgs[i], want[i]);
    done(&r, &d);
}

static void test_required_and_misc(void **state)
{
    struct root r;
    struct conf_diag d;
    assert_int_equal(parse("[demo]\ncount = 2\n", &r, &d), -1);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "t.conf:1:1: section [demo]: missing required key 'name'");
    done(&r, &d);

    assert_int_equal(parse("name = x\n", &r, &d), -1);
    assert_string_equal(d.msgs[0], "t.conf:1:1: key 'name' outside of any section");
    done(&r, &d);

    assert_int_equal(parse("[demo\n", &r, &d), -1);
    assert_string_equal(d.msgs[0], "t.conf:1:1: section header is missing ']'");
    done(&r, &d);

    assert_int_equal(parse("[demo]\nname =\n", &r, &d), -1);
    assert_string_equal(d.msgs[0], "t.conf:2:7: name: empty value");
    done(&r, &d);

    assert_int_equal(parse("[demo]\nname = a\x01"
                           "b\n",
                           &r, &d),
                     -1);
    assert_string_equal(d.msgs[0], "t.conf:2:9: control character 0x01");
    done(&r, &d);

    assert_int_equal(parse("[demo] trailing\n", &r, &d), -1);
    assert_string_equal(d.msgs[0], "t.conf:1:8: unexpected text after section header");
    done(&r, &d);

    assert_int_equal(parse("[demo label]\nname = a\n", &r, &d), -1);
    assert_string_equal(d.msgs[0], "t.conf:1:1: section [demo] takes no label (got 'label')");
    done(&r, &d);
}

static void test_value_parsers(void **state)
{
    int64_t v;
    assert_int_equal(conf_parse_duration_ms("2h", &v), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(conf_parse_duration_ms("-1s", &v), -1);
    assert_int_equal(conf_parse_duration_ms("10", &v), -1);
    assert_int_equal(conf_parse_duration_ms("99999999999999999999s", &v), -1);
    assert_int_equal(conf_parse_size("1G", &v), 0);
    assert_int_equal(v, 1073741824);
    assert_int_equal(conf_parse_size("k", &v), -1);
    char host[64];
    int port;
    assert_int_equal(conf_split_address("127.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(conf_split_address("::1:80", host, sizeof(host), &port), -1);
    assert_int_equal(conf_split_address("h:65536", host, sizeof(host), &port), -1);
    assert_int_equal(conf_split_address("h:", host, sizeof(host), &port), -1);
    assert_int_equal(conf_split_address(":80", host, sizeof(host), &port), -1);
}

static char *write_tmp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/warden-test-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_daemon_config(void **state)
{
    struct conf_diag d = {0};
    /* Without any authentication method the configuration is refused (no open proxy). */
    char *p =
        write_tmp("[listener a]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://localhost:5000\n");
    struct warden_config *cfg = config_load(p, &d);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], ":1:1: [auth] no authentication method is configured"));
    conf_diag_clear(&d);
    unlink(p);

    p = write_tmp("[listener a]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://localhost:5000\n"
                  "[auth]\npat_file = /tmp/pats.jsonl\n[server]\npublic_endpoints = health, ui\n");
    cfg = config_load(p, &d);
    for (size_t i = 0; i < d.n; i++)
        printf("  got: %s\n", d.msgs[i]);
    assert_non_null(cfg);
    assert_true(cfg->server.public_health && cfg->server.public_ui);
    assert_string_equal(cfg->upstream.host, "localhost:5000");
    assert_string_equal(cfg->upstream.conn_host, "localhost");
    assert_int_equal(cfg->upstream.conn_port, 5000);
    assert_int_equal(cfg->timeouts.client_header_ms, 10000);
    assert_int_equal(cfg->limits.header_bytes, 32768);
    assert_string_equal(cfg->listeners[0].label, "a");
    config_free(cfg);
    unlink(p);

    p = write_tmp("[listener]\naddress = 127.0.0.1:1\ntls_cert = /nonexistent.pem\n"
                  "[upstream]\nurl = https://x\n[limits]\nrequest_line = 64k\nheader_bytes = 1k\n"
                  "[server]\npublic_endpoints = health, api\n[auth]\npat_file = /tmp/p\n");
    cfg = config_load(p, &d);
    assert_null(cfg);
    for (size_t i = 0; i < d.n; i++)
        printf("  got: %s\n", d.msgs[i]);
    assert_int_equal(d.n, 5);
    assert_non_null(
        strstr(d.msgs[0], ":1:1: [listener]: tls_cert and tls_key must be given together"));
    assert_non_null(strstr(d.msgs[1], ":1:1: [listener]: cannot read tls_cert '/nonexistent.pem'"));
    assert_non_null(
        strstr(d.msgs[2], ":4:1: [upstream] url: only http:// upstreams are supported"));
    assert_non_null(strstr(
        d.msgs[3], ":6:1: [limits]: request_line (65536) must not exceed header_bytes (1024)"));
    conf_diag_clear(&d);
    unlink(p);

    cfg = config_load("/nonexistent/warden.conf", &d);
    assert_null(cfg);
    assert_string_equal(d.msgs[0],
                        "/nonexistent/warden.conf:0:0: cannot open: No such file or directory");
    conf_diag_clear(&d);
}

/* The shipped example configurations must stay valid. */
static void test_shipped_examples(void **state)
{
    const char *src = getenv("WARDEN_SOURCE_DIR");
    if (!src)
        skip();
    /* quickstart.conf names files the quickstart creates; the quickstart checks it itself. */
    const char *files[] = {"conf/warden.conf"};
    for (size_t i = 0; i < 1; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", src, files[i]);
        struct conf_diag d = {0};
        struct warden_config *cfg = config_load(path, &d);
        for (size_t k = 0; k < d.n; k++)
            printf("  %s\n", d.msgs[k]);
        assert_non_null(cfg);
        config_free(cfg);
        conf_diag_clear(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_types),         cmocka_unit_test(test_errors_collected),
        cmocka_unit_test(test_required_and_misc), cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_daemon_config),     cmocka_unit_test(test_shipped_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
