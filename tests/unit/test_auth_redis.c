/*
 * Unit tests for the Redis side of authentication against a real redis-server started on a
 * free port by the test: a PAT stored in Redis is accepted after the "pat" event, a revocation
 * published on the events channel is applied to a cached token within milliseconds, and when
 * Redis goes away the last known revocations stay in force.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "auth_test_util.h"
#include "auth/pat.h"

struct fx {
    char *dir;
    pid_t redis;
    int port;
    redisContext *rc;
    struct auth_test_root root;
    struct authn *a;
    struct authn_cache *c;
};

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(s, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    close(s);
    return ntohs(sa.sin_port);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = auth_test_tmpdir();
    f->port = free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", f->port);
    f->redis = fork();
    if (f->redis == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", f->dir, (char *)NULL);
        _exit(127);
    }
    struct timeval tv = {.tv_sec = 1};
    for (int i = 0; i < 200; i++) {
        f->rc = redisConnectWithTimeout("127.0.0.1", f->port, tv);
        if (f->rc && !f->rc->err)
            break;
        if (f->rc)
            redisFree(f->rc);
        f->rc = NULL;
        usleep(20000);
    }
    if (!f->rc) {
        fprintf(stderr, "redis-server did not start\n");
        return -1;
    }
    if (auth_test_conf(&f->root,
                       "[auth]\nredis = 127.0.0.1:%d\nredis_prefix = t\ncache_size = 100\n",
                       f->port) != 0)
        return -1;
    char err[256];
    f->a = auth_test_authn(&f->root, err, sizeof(err));
    if (!f->a || authn_start(f->a, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->c = authn_cache_new(f->a, 100);
    *state = f;
    return 0;
}

static void stop_redis(struct fx *f)
{
    if (f->redis > 0) {
        kill(f->redis, SIGTERM);
        waitpid(f->redis, NULL, 0);
        f->redis = 0;
    }
}

static int teardown(void **state)
{
    struct fx *f = *state;
    authn_cache_free(f->c);
    authn_free(f->a);
    auth_test_conf_free(&f->root);
    if (f->rc)
        redisFree(f->rc);
    stop_redis(f);
    auth_test_rmdir(f->dir);
    free(f);
    return 0;
}

static void cmd_ok(struct fx *f, redisReply *r)
{
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static enum authn_result check(struct fx *f, const char *v, struct authn_failure *fail)
{
    const struct principal *p = NULL;
    enum authn_result r = authn_check(f->a, f->c, v, strlen(v), auth_test_now_ms(), &p, fail);
    principal_release(p);
    return r;
}

/* Poll until check() gives want (the control thread applies Redis data asynchronously). */
static int64_t until(struct fx *f, const char *v, enum authn_result want)
{
    struct authn_failure fail;
    int64_t t0 = auth_test_now_ms();
    for (int i = 0; i < 1000; i++) {
        if (check(f, v, &fail) == want)
            return auth_test_now_ms() - t0;
        usleep(2000);
    }
    fail_msg("timed out waiting for result %d (last: %s)", want, fail.desc);
    return -1;
}

static void test_pat_and_revocation_through_redis(void **state)
{
    struct fx *f = *state;
    char tok[PAT_TOKEN_LEN + 1], err[200];
    struct pat_record r = {0};
    assert_int_equal(pat_generate(tok, r.id, err, sizeof(err)), 0);
    auth_sha256(tok, strlen(tok), r.hash);
    r.user = "carol";
    r.created_s = 1;
    char *line = pat_record_format(&r);
    char hex[65];
    auth_hex(r.hash, SHA256_LEN, hex);
    char v[200];
    snprintf(v, sizeof(v), "Bearer %s", tok);
    struct authn_failure fail;
    assert_int_equal(check(f, v, &fail), AUTHN_INVALID);
    cmd_ok(f, redisCommand(f->rc, "HSET t:pats %s %s", hex, line));
    cmd_ok(f, redisCommand(f->rc, "PUBLISH t:events pat"));
    until(f, v, AUTHN_OK);
    /* cached now; a published revocation applies to the cached entry */
    assert_int_equal(check(f, v, &fail), AUTHN_OK);
    /* Malformed announcements (no hash, unknown verb) are ignored: nothing is revoked. They
     * go first: once the entry is in the Redis set, any resync may legitimately apply it. */
    cmd_ok(f, redisCommand(f->rc, "PUBLISH t:events %s", "revoke sha256:"));
    cmd_ok(f, redisCommand(f->rc, "PUBLISH t:events revoke%%20x"));
    usleep(100000);
    assert_int_equal(check(f, v, &fail), AUTHN_OK);
    cmd_ok(f, redisCommand(f->rc, "SADD t:revoked sha256:%s", hex));
    char msg[100];
    snprintf(msg, sizeof(msg), "revoke sha256:%s", hex);
    cmd_ok(f, redisCommand(f->rc, "PUBLISH t:events %s", msg));
    int64_t ms = until(f, v, AUTHN_INVALID);
    assert_true(ms < 1000);
    check(f, v, &fail);
    assert_string_equal(fail.desc, "token revoked");
    /* Redis goes away: the revocation stays in force */
    stop_redis(f);
    usleep(300000);
    assert_int_equal(check(f, v, &fail), AUTHN_INVALID);
    assert_string_equal(fail.desc, "token revoked");
    free(line);
}

static void test_resync_on_start(void **state)
{
    struct fx *f = *state;
    /* a revocation recorded before this instance subscribed is picked up by the resync */
    char tok[PAT_TOKEN_LEN + 1], err[200];
    struct pat_record r = {0};
    pat_generate(tok, r.id, err, sizeof(err));
    auth_sha256(tok, strlen(tok), r.hash);
    r.user = "dave";
    r.created_s = 1;
    char *line = pat_record_format(&r);
    char hex[65];
    auth_hex(r.hash, SHA256_LEN, hex);
    cmd_ok(f, redisCommand(f->rc, "HSET t:pats %s %s", hex, line));
    cmd_ok(f, redisCommand(f->rc, "SADD t:revoked sha256:%s", hex));
    char cfg[200];
    snprintf(cfg, sizeof(cfg), "[auth]\nredis = 127.0.0.1:%d\nredis_prefix = t\n", f->port);
    struct auth_test_root root;
    assert_int_equal(auth_test_conf(&root, "%s", cfg), 0);
    struct authn *a2 = auth_test_authn(&root, err, sizeof(err));
    assert_non_null(a2);
    assert_int_equal(authn_start(a2, err, sizeof(err)), 0);
    struct authn_cache *c2 = authn_cache_new(a2, 10);
    char v[200];
    snprintf(v, sizeof(v), "Bearer %s", tok);
    struct authn_failure fail;
    const struct principal *p;
    for (int i = 0; i < 500; i++) {
        authn_check(a2, c2, v, strlen(v), auth_test_now_ms(), &p, &fail);
        if (strcmp(fail.desc, "token revoked") == 0)
            break;
        usleep(2000);
    }
    assert_string_equal(fail.desc, "token revoked");
    authn_cache_free(c2);
    authn_free(a2);
    auth_test_conf_free(&root);
    free(line);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pat_and_revocation_through_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resync_on_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
