/*
 * Tests of the whole audit pipeline in one process, with sinks the test controls: a file
 * sink, an in-test HTTP collector and an in-test syslog (octet-counted TCP) receiver, each a
 * thread on a loopback port. Checked: every submitted record and lifecycle event reaches every
 * sink in sequence order; the file verifies (with signed checkpoints) across a restart; size
 * rotation and reopen; a dead collector spools and is caught up when it comes back; a sink
 * outage with a tiny spool triggers `deny` (audit_submit -1, audit_accepting false) or
 * `drop` (counted, then reported by a record); sync commit puts the record in the journal
 * before audit_submit returns. Also measures audit_submit's cost per record in both commit
 * modes. Writes under /tmp; uses loopback TCP only.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/checkpoint.h"
#include "audit/cursor.h"
#include "audit/sinks.h"
#include "audit/pipeline.h"
#include "audit/syslog.h"
#include "audit_test_util.h"
#include "tools/ctl_audit.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/warden-pipe-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int reset_dir(void **state)
{
    teardown(state);
    return setup(state);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- configuration ------------------------------------------------------------------- */

struct root {
    struct audit_conf audit;
};
static const struct conf_section sections[] = {AUDIT_CONF_SECTIONS(struct root, audit)};

static struct audit_pipeline *pipeline_from(const char *fmt, ...)
{
    char text[4096], err[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct root r;
    struct conf_diag d = {0};
    memset(&r, 0, sizeof(r));
    conf_parse("t.conf", text, strlen(text), sections, 5, &r, &d);
    struct conf_pos pos = {"t.conf", 1, 1};
    audit_conf_check_all(&r.audit, &pos, &d);
    if (d.n)
        fail_msg("config: %s", d.msgs[0]);
    conf_diag_clear(&d);
    r.audit.product_version = "test";
    struct audit_pipeline *p = audit_pipeline_new(&r.audit, err, sizeof(err));
    conf_release(sections, 5, &r);
    if (!p)
        fail_msg("pipeline: %s", err);
    if (audit_pipeline_start(p, err, sizeof(err)) != 0)
        fail_msg("start: %s", err);
    return p;
}

/* ---- loopback receivers -------------------------------------------------------------- */

#define MAXSEQ 200000

struct receiver {
    int lfd, port;
    bool syslog;              /* else HTTP */
    atomic_bool stop, refuse; /* refuse: HTTP answers 503 */
    pthread_t t;
    pthread_mutex_t mu;
    unsigned char seen[MAXSEQ]; /* times each sequence number arrived */
    uint64_t order_errors, last_seq_in_conn, records, batches;
    char last_line[8192];
};

static uint64_t seq_of(const char *l, size_t n)
{
    const char *p = memmem(l, n, "\"seq\":", 6);
    return p ? strtoull(p + 6, NULL, 10) : 0;
}

static void note(struct receiver *rc, const char *l, size_t n)
{
    uint64_t s = seq_of(l, n);
    pthread_mutex_lock(&rc->mu);
    if (s && s < MAXSEQ && rc->seen[s] < 255)
        rc->seen[s]++;
    /* Within one connection, sequence numbers only go up (replays start a connection). */
    if (s <= rc->last_seq_in_conn)
        rc->order_errors++;
    rc->last_seq_in_conn = s;
    rc->records++;
    if (n < sizeof(rc->last_line)) {
        memcpy(rc->last_line, l, n);
        rc->last_line[n] = '\0';
    }
    pthread_mutex_unlock(&rc->mu);
}

static void serve_syslog(struct receiver *rc, int fd)
{
    static __thread char buf[1 << 20];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (atomic_load(&rc->stop))
            return;
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            return;
        have += (size_t)n;
        size_t at = 0;
        for (;;) {
            const char *msg;
            size_t mlen;
            int k = audit_syslog_unframe(buf + at, have - at, &msg, &mlen);
            if (k <= 0)
                break;
            const char *json = memmem(msg, mlen, "] {", 3);
            if (json)
                note(rc, json + 2, mlen - (size_t)(json + 2 - msg));
            at += (size_t)k;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
    }
}

static void serve_http(struct receiver *rc, int fd)
{
    static __thread char buf[4 << 20];
    size_t have = 0;
    for (;;) {
        char *end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
        if (end) {
            const char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
            size_t body = cl ? strtoull(cl + 16, NULL, 10) : 0, head = (size_t)(end - buf) + 4;
            if (have >= head + body) {
                if (atomic_load(&rc->refuse)) {
                    const char *r = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
                    send(fd, r, strlen(r), MSG_NOSIGNAL);
                } else {
                    char *p = buf + head, *e = p + body;
                    while (p < e) {
                        char *nl = memchr(p, '\n', (size_t)(e - p));
                        if (!nl)
                            break;
                        note(rc, p, (size_t)(nl - p));
                        p = nl + 1;
                    }
                    pthread_mutex_lock(&rc->mu);
                    rc->batches++;
                    pthread_mutex_unlock(&rc->mu);
                    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                    send(fd, r, strlen(r), MSG_NOSIGNAL);
                }
                memmove(buf, buf + head + body, have - head - body);
                have -= head + body;
                continue;
            }
        }
        ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (atomic_load(&rc->stop))
            return;
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            return;
        have += (size_t)n;
    }
}

static void *receiver_main(void *arg)
{
    struct receiver *rc = arg;
    while (!atomic_load(&rc->stop)) {
        int fd = accept(rc->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {0, 200000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        pthread_mutex_lock(&rc->mu);
        rc->last_seq_in_conn = 0;
        pthread_mutex_unlock(&rc->mu);
        if (rc->syslog)
            serve_syslog(rc, fd);
        else
            serve_http(rc, fd);
        close(fd);
    }
    return NULL;
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void receiver_start(struct receiver *rc, bool syslog, int port)
{
    rc->syslog = syslog;
    atomic_store(&rc->stop, false);
    rc->lfd = listen_on(port);
    assert_true(rc->lfd >= 0);
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    getsockname(rc->lfd, (struct sockaddr *)&a, &al);
    rc->port = ntohs(a.sin_port);
    pthread_create(&rc->t, NULL, receiver_main, rc);
}

static void receiver_stop(struct receiver *rc)
{
    atomic_store(&rc->stop, true);
    pthread_join(rc->t, NULL);
    close(rc->lfd);
}

static struct receiver *receiver_new(void)
{
    struct receiver *rc = calloc(1, sizeof(*rc));
    pthread_mutex_init(&rc->mu, NULL);
    return rc;
}

static void receiver_free(struct receiver *rc)
{
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

/* Wait until the receiver saw every seq in 1..last at least once. */
static bool wait_all(struct receiver *rc, uint64_t last, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 20) {
        pthread_mutex_lock(&rc->mu);
        uint64_t missing = 0;
        for (uint64_t s = 1; s <= last; s++)
            missing += rc->seen[s] == 0;
        pthread_mutex_unlock(&rc->mu);
        if (!missing)
            return true;
        sleep_ms(20);
    }
    return false;
}

/* ---- helpers ------------------------------------------------------------------------- */

static void submit_n(struct audit_pipeline *p, int n)
{
    struct audit_record r;
    for (int i = 0; i < n; i++) {
        audit_fill_typical(&r, 1764349215000LL + i);
        assert_int_equal(audit_submit(p, &r), 0);
    }
}

static uint64_t metric(struct audit_pipeline *p, const char *name)
{
    static char buf[65536];
    audit_pipeline_metrics(p, buf, sizeof(buf));
    char want[256];
    snprintf(want, sizeof(want), "\n%s ", name);
    const char *at = strstr(buf, want);
    if (!at)
        fail_msg("metric %s missing", name);
    return strtoull(at + strlen(want), NULL, 10);
}

static int run_verify(const char *key, char **files, int nfiles)
{
    char *argv[64] = {"audit", "verify"};
    int argc = 2;
    if (key) {
        argv[argc++] = "--key";
        argv[argc++] = (char *)key;
    }
    for (int i = 0; i < nfiles; i++)
        argv[argc++] = files[i];
    return ctl_audit_main(argc, argv);
}

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) != -1)
        n += !needle || strstr(line, needle) != NULL;
    free(line);
    fclose(f);
    return n;
}

/* ---- tests --------------------------------------------------------------------------- */

static double now_ns_early(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct submitter_arg {
    struct audit_pipeline *p;
    int n;
};

static void *submitter(void *arg)
{
    struct submitter_arg *a = arg;
    submit_n(a->p, a->n);
    return NULL;
}

static void test_file_http_syslog(void **state)
{
    char key[128], pub[128], err[256], log[128];
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    snprintf(pub, sizeof(pub), "%s/k.pub.pem", dir);
    snprintf(log, sizeof(log), "%s/audit.log", dir);
    assert_int_equal(audit_keygen(key, pub, err, sizeof(err)), 0);
    struct receiver *http = receiver_new(), *sys = receiver_new();
    receiver_start(http, false, 0);
    receiver_start(sys, true, 0);
    const char *conf = "[audit]\njournal_dir = %s/j\ncheckpoint_key = %s\n"
                       "[audit_file f]\npath = %s\n"
                       "[audit_http h]\nurl = http://127.0.0.1:%d/ingest\nbatch_max = 100\n"
                       "[audit_syslog s]\naddress = 127.0.0.1:%d\nconfirm_delay = 0ms\n";
    struct audit_pipeline *p = pipeline_from(conf, dir, key, log, http->port, sys->port);
    audit_event(p, "startup", true, "test start");
    pthread_t t[2];
    struct submitter_arg a = {p, 2000};
    pthread_create(&t[0], NULL, submitter, &a);
    pthread_create(&t[1], NULL, submitter, &a);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    audit_event(p, "shutdown", true, "test stop");
    audit_pipeline_stop(p, 5000);
    uint64_t head = metric(p, "warden_audit_journal_head_seq");
    audit_pipeline_free(p);
    /* 4000 records, 2 events, a final checkpoint (maybe more). */
    assert_true(head >= 4003);
    assert_true(wait_all(http, head, 5000));
    assert_true(wait_all(sys, head, 5000));
    assert_int_equal(http->order_errors, 0);
    assert_int_equal(sys->order_errors, 0);
    assert_int_equal(count_lines(log, NULL), (int)head);
    char *files[] = {log};
    assert_int_equal(run_verify(pub, files, 1), 0);
    assert_int_equal(count_lines(log, "\"action\":\"startup\""), 1);
    /* The last record is the final checkpoint, after the shutdown event. */
    assert_non_null(strstr(http->last_line, "\"action\":\"audit_checkpoint\""));

    /* Restart: the chain continues in the same file; the file sink does not repeat records. */
    p = pipeline_from(conf, dir, key, log, http->port, sys->port);
    submit_n(p, 10);
    audit_pipeline_stop(p, 5000);
    uint64_t head2 = metric(p, "warden_audit_journal_head_seq");
    audit_pipeline_free(p);
    assert_true(head2 >= head + 11);
    assert_int_equal(count_lines(log, NULL), (int)head2);
    assert_int_equal(run_verify(pub, files, 1), 0);
    assert_true(wait_all(http, head2, 5000));
    receiver_stop(http);
    receiver_stop(sys);
    /* At least once, not wildly more: a clean run delivers each record once. */
    assert_int_equal(http->records, head2);
    assert_int_equal(sys->records, head2);
    receiver_free(http);
    receiver_free(sys);
}

/* A collector that is down spools records in the journal; they arrive in order when it is
 * back. A collector answering 503 is retried the same way. */
static void test_outage_catch_up(void **state)
{
    struct receiver *http = receiver_new(), *sys = receiver_new();
    receiver_start(http, false, 0);
    receiver_start(sys, true, 0);
    int hport = http->port, sport = sys->port;
    struct audit_pipeline *p = pipeline_from(
        "[audit]\njournal_dir = %s/j\n[audit_file f]\npath = %s/a.log\n"
        "[audit_http h]\nurl = http://127.0.0.1:%d/\nretry_min = 20ms\nretry_max = 200ms\n"
        "[audit_syslog s]\naddress = 127.0.0.1:%d\nretry_min = 20ms\nretry_max = 200ms\n"
        "confirm_delay = 300ms\n",
        dir, dir, hport, sport);
    submit_n(p, 500);
    assert_true(wait_all(http, 500, 5000));
    assert_true(wait_all(sys, 500, 5000));
    /* Both go down; records keep coming. */
    receiver_stop(http);
    receiver_stop(sys);
    submit_n(p, 1500);
    sleep_ms(500);
    assert_true(metric(p, "warden_audit_spool_bytes") > 1500 * 1000);
    uint64_t failures = 0;
    {
        static char buf[65536];
        audit_pipeline_metrics(p, buf, sizeof(buf));
        const char *at = strstr(buf, "warden_audit_sink_failures_total{sink=\"h\"");
        assert_non_null(at);
        failures = strtoull(strchr(at, '}') + 2, NULL, 10);
    }
    assert_true(failures > 0);
    /* They come back on the same ports; the HTTP one refuses at first. */
    atomic_store(&http->refuse, true);
    receiver_start(http, false, hport);
    receiver_start(sys, true, sport);
    submit_n(p, 500);
    sleep_ms(300);
    atomic_store(&http->refuse, false);
    assert_true(wait_all(http, 2500, 10000));
    assert_true(wait_all(sys, 2500, 10000));
    audit_pipeline_stop(p, 5000);
    audit_pipeline_free(p);
    receiver_stop(http);
    receiver_stop(sys);
    assert_int_equal(http->order_errors, 0);
    assert_int_equal(sys->order_errors, 0);
    receiver_free(http);
    receiver_free(sys);
}

static void test_overflow_deny_and_drop(void **state)
{
    for (int drop = 0; drop <= 1; drop++) {
        struct receiver *http = receiver_new();
        receiver_start(http, false, 0);
        int port = http->port;
        receiver_stop(http); /* the collector is down from the start */
        char jd[128];
        snprintf(jd, sizeof(jd), "%s/j%d", dir, drop);
        struct audit_pipeline *p = pipeline_from(
            "[audit]\njournal_dir = %s\nspool_max = 64k\noverflow = %s\ncommit = sync\n"
            "[audit_http h]\nurl = http://127.0.0.1:%d/\nretry_min = 20ms\nretry_max = 100ms\n",
            jd, drop ? "drop" : "deny", port);
        struct audit_record r;
        int accepted = 0, refused = 0;
        for (int i = 0; i < 200; i++) {
            audit_fill_typical(&r, 1764349215000LL + i);
            if (audit_submit(p, &r) == 0)
                accepted++;
            else
                refused++;
        }
        /* About 50 records of ~1.3 KB fill a 64 KB spool. */
        if (drop) {
            uint64_t dropped = metric(p, "warden_audit_dropped_total");
            assert_int_equal(refused, 0);
            assert_int_equal(accepted, 200);
            assert_true(audit_accepting(p));
            if (dropped < 100 || dropped > 160)
                fail_msg("dropped %llu", (unsigned long long)dropped);
        } else {
            if (accepted < 40 || accepted > 100)
                fail_msg("accepted %d, refused %d", accepted, refused);
            assert_false(audit_accepting(p));
            assert_int_equal(metric(p, "warden_audit_refused_total"), (uint64_t)refused);
        }
        assert_int_equal(metric(p, "warden_audit_spool_full"), 1);
        /* The collector returns: the spool drains, requests are accepted again and a record
         * reports what the overflow rule did. */
        receiver_start(http, false, port);
        for (int t = 0; t < 500 && metric(p, "warden_audit_spool_full"); t++)
            sleep_ms(20);
        assert_true(audit_accepting(p));
        const char *want =
            drop ? "\"action\":\"audit_records_dropped\"" : "\"action\":\"audit_requests_refused\"";
        bool seen = false;
        for (int t = 0; t < 200 && !seen; t++) {
            pthread_mutex_lock(&http->mu);
            seen = strstr(http->last_line, want) != NULL;
            pthread_mutex_unlock(&http->mu);
            if (!seen) {
                sleep_ms(20);
                submit_n(p, 0);
            }
        }
        assert_true(seen);
        audit_fill_typical(&r, 1);
        assert_int_equal(audit_submit(p, &r), 0);
        audit_pipeline_stop(p, 5000);
        audit_pipeline_free(p);
        receiver_stop(http);
        assert_int_equal(http->order_errors, 0);
        receiver_free(http);
    }
}

static void test_sync_commit_and_rotation(void **state)
{
    char log[128], jd[128];
    snprintf(log, sizeof(log), "%s/r.log", dir);
    snprintf(jd, sizeof(jd), "%s/j", dir);
    struct audit_pipeline *p =
        pipeline_from("[audit]\njournal_dir = %s\ncommit = sync\nfsync = never\n"
                      "[audit_file f]\npath = %s\nmax_size = 16k\nbatch_max = 4\n",
                      jd, log);
    struct audit_record r;
    audit_fill_typical(&r, 1764349215000LL);
    assert_int_equal(audit_submit(p, &r), 0);
    /* Sealed on return, and already in the journal file. */
    assert_int_equal(r.seq, 1);
    assert_int_equal(strlen(r.hash), 64);
    char seg[256];
    snprintf(seg, sizeof(seg), "%s/journal-%020d.jsonl", jd, 1);
    assert_int_equal(count_lines(seg, r.hash), 1);
    for (int i = 0; i < 199; i++) {
        audit_fill_typical(&r, 1764349215000LL + i);
        assert_int_equal(audit_submit(p, &r), 0);
        assert_int_equal(r.seq, (uint64_t)i + 2);
    }
    audit_pipeline_stop(p, 5000);
    audit_pipeline_free(p);
    /* Rotated by size into several files that verify in name order, then the live one. */
    DIR *d = opendir(dir);
    char *files[64];
    int nf = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "r.log.", 6) == 0 && nf < 62) {
            files[nf] = malloc(512);
            snprintf(files[nf], 512, "%s/%s", dir, de->d_name);
            nf++;
        }
    closedir(d);
    assert_true(nf >= 3);
    for (int i = 0; i < nf; i++)
        for (int k = i + 1; k < nf; k++)
            if (strcmp(files[i], files[k]) > 0) {
                char *t = files[i];
                files[i] = files[k];
                files[k] = t;
            }
    files[nf] = log;
    assert_int_equal(run_verify(NULL, files, nf + 1), 0);
    int total = 0;
    for (int i = 0; i <= nf; i++)
        total += count_lines(files[i], NULL);
    assert_int_equal(total, 200);
    for (int i = 0; i < nf; i++)
        free(files[i]);
}

static void test_reopen(void **state)
{
    char log[128], moved[160];
    snprintf(log, sizeof(log), "%s/o.log", dir);
    snprintf(moved, sizeof(moved), "%s/o.log.old", dir);
    struct audit_pipeline *p =
        pipeline_from("[audit]\njournal_dir = %s/j\n[audit_file f]\npath = %s\n", dir, log);
    submit_n(p, 20);
    for (int t = 0; t < 200 && count_lines(log, NULL) < 20; t++)
        sleep_ms(10);
    assert_int_equal(count_lines(log, NULL), 20);
    assert_int_equal(rename(log, moved), 0); /* what logrotate does */
    audit_pipeline_reopen(p);
    sleep_ms(50);
    submit_n(p, 5);
    audit_pipeline_stop(p, 5000);
    audit_pipeline_free(p);
    assert_int_equal(count_lines(moved, NULL), 20);
    assert_int_equal(count_lines(log, NULL), 5);
    char *files[] = {moved, log};
    assert_int_equal(run_verify(NULL, files, 2), 0);
}

/* A crash right after a rotation (the new file still empty, the stored cursor behind): the
 * file sink resumes after the rotated file's last record, so no record is written twice. */
static void test_resume_after_rotation(void **state)
{
    char log[128], rotated[256], jd[128];
    snprintf(log, sizeof(log), "%s/z.log", dir);
    snprintf(jd, sizeof(jd), "%s/j", dir);
    const char *conf = "[audit]\njournal_dir = %s\n[audit_file f]\npath = %s\n";
    struct audit_pipeline *p = pipeline_from(conf, jd, log);
    submit_n(p, 20);
    audit_pipeline_stop(p, 5000);
    audit_pipeline_free(p);
    assert_int_equal(audit_rotated_name(log, 1764349215000LL, 0, rotated, sizeof(rotated)), 0);
    assert_int_equal(rename(log, rotated), 0);
    FILE *f = fopen(log, "w");
    fclose(f);
    char err[256];
    uint64_t seq;
    bool found, damaged;
    int fd = audit_cursor_open(jd, "f", &seq, &found, &damaged, err, sizeof(err));
    assert_true(found && seq == 20);
    assert_int_equal(audit_cursor_store(fd, 5), 0);
    close(fd);
    p = pipeline_from(conf, jd, log);
    submit_n(p, 3);
    audit_pipeline_stop(p, 5000);
    audit_pipeline_free(p);
    assert_int_equal(count_lines(rotated, NULL), 20);
    assert_int_equal(count_lines(log, NULL), 3);
    char *files[] = {rotated, log};
    assert_int_equal(run_verify(NULL, files, 2), 0);
}

/* A collector that is down at shutdown does not hold the stop up to its deadline; its
 * records wait in the journal and arrive after the next start. */
static void test_stop_with_sink_down(void **state)
{
    struct receiver *http = receiver_new();
    receiver_start(http, false, 0);
    int port = http->port;
    receiver_stop(http);
    const char *conf = "[audit]\njournal_dir = %s/j\n"
                       "[audit_http h]\nurl = http://127.0.0.1:%d/\nretry_min = 50ms\n";
    struct audit_pipeline *p = pipeline_from(conf, dir, port);
    submit_n(p, 30);
    double t0 = now_ns_early();
    audit_pipeline_stop(p, 20000);
    double secs = (now_ns_early() - t0) / 1e9;
    audit_pipeline_free(p);
    assert_true(secs < 5.0);
    receiver_start(http, false, port);
    p = pipeline_from(conf, dir, port);
    assert_true(wait_all(http, 30, 10000));
    audit_pipeline_stop(p, 5000);
    audit_pipeline_free(p);
    receiver_stop(http);
    receiver_free(http);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* audit_submit's cost on the calling thread, per commit mode, with a file sink. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* audit_submit's cost on the calling thread, per commit mode, with a file sink: wall time,
 * and this thread's CPU time (what a request thread spends; wall time also counts being
 * descheduled on a busy machine). Best of 20 bursts of 200 records. */
static void test_submit_cost(void **state)
{
    static struct audit_record recs[64];
    for (int i = 0; i < 64; i++)
        audit_fill_typical(&recs[i], 1764349215000LL + i);
    const char *modes[] = {"async", "sync"};
    double wall[2], cpu[2], total[2];
    for (int m = 0; m < 2; m++) {
        char jd[128];
        snprintf(jd, sizeof(jd), "%s/cost%d", dir, m);
        struct audit_pipeline *p = pipeline_from(
            "[audit]\njournal_dir = %s\ncommit = %s\nqueue_size = 256\nfsync = never\n"
            "[audit_file f]\npath = %s/cost%d.log\nfsync = never\n",
            jd, modes[m], dir, m);
        /* Bursts within the queue (256): a longer burst than the pipeline thread drains in
         * its 1 ms nap is journaled on the calling thread, like sync. */
        const int n = 200;
        wall[m] = cpu[m] = 1e18;
        for (int round = 0; round < 20; round++) {
            double t0 = now_ns(), c0 = cpu_ns();
            for (int i = 0; i < n; i++) {
                struct audit_record *r = &recs[i & 63];
                if (audit_submit(p, r) != 0)
                    fail();
            }
            double w = (now_ns() - t0) / n, c = (cpu_ns() - c0) / n;
            wall[m] = w < wall[m] ? w : wall[m];
            cpu[m] = c < cpu[m] ? c : cpu[m];
            sleep_ms(20); /* let the queue drain between rounds */
        }
        /* Whole-process CPU per record until the file holds it: the request thread's share,
         * the pipeline thread (render, seal, journal) and the file sink thread. */
        uint64_t target = metric(p, "warden_audit_journal_head_seq") + 20000;
        struct timespec a, b;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        for (int k = 0; k < 100; k++) {
            for (int i = 0; i < 200; i++)
                if (audit_submit(p, &recs[i & 63]) != 0)
                    fail();
            sleep_ms(1);
        }
        while (metric(p, "warden_audit_sink_confirmed_seq{sink=\"f\",kind=\"file\"}") < target)
            sleep_ms(5);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        total[m] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 20000;
        audit_pipeline_stop(p, 10000);
        audit_pipeline_free(p);
    }
    print_message("audit CPU per record, all threads, until in the file: async %.0f ns, sync "
                  "%.0f ns\n",
                  total[0], total[1]);
    print_message(
        "audit_submit per record on the calling thread: async %.0f ns wall, %.0f ns "
        "CPU (queue copy of the used part of a %zu-byte record); sync %.0f ns wall, %.0f ns CPU "
        "(render + seal + write(2), fsync never)\n",
        wall[0], cpu[0], sizeof(struct audit_record), wall[1], cpu[1]);
#ifndef __SANITIZE_ADDRESS__
    /* Loose sanity bounds (a loaded CI machine); the figures above are the result. */
    assert_true(cpu[0] < 200000);
    assert_true(cpu[1] < 2000000);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_file_http_syslog, reset_dir),
        cmocka_unit_test_setup(test_outage_catch_up, reset_dir),
        cmocka_unit_test_setup(test_overflow_deny_and_drop, reset_dir),
        cmocka_unit_test_setup(test_sync_commit_and_rotation, reset_dir),
        cmocka_unit_test_setup(test_reopen, reset_dir),
        cmocka_unit_test_setup(test_stop_with_sink_down, reset_dir),
        cmocka_unit_test_setup(test_resume_after_rotation, reset_dir),
        cmocka_unit_test_setup(test_submit_cost, reset_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
