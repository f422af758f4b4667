/*
 * Unit tests for audit/journal (the journal and spool) and audit/cursor: appends seal a
 * verifiable chain across segments and restarts; a torn last line is cut back and a damaged
 * last record refuses the start; one process per journal; readers deliver every record in
 * order across segments, resume from a sequence number, rewind to a confirmed position and
 * let fully confirmed segments be deleted; the spool bound raises `full` and pruning clears
 * it; waiters wake on appends; cursors round-trip and reject torn or edited files. Also
 * measures the journal's append throughput. Writes temporary directories under /tmp.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit_conf.h"
#include "audit/chain.h"
#include "audit/cursor.h"
#include "audit/format.h"
#include "audit/journal.h"
#include "audit_test_util.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/warden-journal-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct audit_journal *open_j(int64_t seg, int64_t spool)
{
    char err[256] = "";
    struct audit_journal_opts o = {
        .dir = dir, .segment_size = seg, .fsync = AUDIT_FSYNC_NEVER, .spool_max = spool};
    struct audit_journal *j = audit_journal_open(&o, err, sizeof(err));
    if (!j)
        print_message("open: %s\n", err);
    return j;
}

/* Append n typical records, one append call each (batch > 1 when batch is set). */
static void append_n(struct audit_journal *j, int n, int batch)
{
    static char bodies[64][8192];
    struct audit_jentry e[64];
    struct audit_record r;
    char err[256];
    int done = 0;
    while (done < n) {
        int k = batch > 1 ? batch : 1;
        if (k > n - done)
            k = n - done;
        for (int i = 0; i < k; i++) {
            audit_fill_typical(&r, 1764349215000LL + done + i);
            size_t bl = 0;
            assert_int_equal(audit_format_json_body(&r, bodies[i], sizeof(bodies[i]), &bl), 0);
            e[i] = (struct audit_jentry){.time_ms = r.time_ms, .body = bodies[i], .blen = bl};
        }
        if (audit_journal_append(j, e, (size_t)k, err, sizeof(err)) != 0)
            fail_msg("append: %s", err);
        done += k;
    }
}

static int count_segments(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, "journal-", 8) == 0;
    closedir(d);
    return n;
}

/* Read everything a fresh reader after `after` sees; check order and the chain. */
static uint64_t read_all(struct audit_journal *j, uint64_t after, uint64_t *first)
{
    char err[256];
    uint64_t lost = 0, count = 0, seq = 0;
    struct audit_reader *rd = audit_reader_new(j, "t", after, &lost, err, sizeof(err));
    assert_non_null(rd);
    struct audit_verify v;
    audit_verify_init(&v);
    const char *line;
    size_t len;
    int r;
    while ((r = audit_reader_next(rd, &line, &len, &seq, err, sizeof(err))) == 1) {
        if (count == 0 && first)
            *first = seq;
        if (audit_verify_line(&v, line, len, err, sizeof(err)) != 0)
            fail_msg("verify: %s", err);
        count++;
    }
    assert_int_equal(r, 0);
    audit_reader_free(rd);
    return count;
}

static void test_append_and_restart(void **state)
{
    struct audit_journal *j = open_j(1 << 20, 1 << 30);
    assert_non_null(j);
    assert_int_equal(audit_journal_head_seq(j), 0);
    char inst[9];
    memcpy(inst, audit_journal_instance(j), 9);
    append_n(j, 10, 1);
    append_n(j, 20, 7);
    assert_int_equal(audit_journal_head_seq(j), 30);
    /* Only one process may use a journal directory. */
    assert_null(open_j(1 << 20, 1 << 30));
    audit_journal_free(j);

    j = open_j(1 << 20, 1 << 30);
    assert_non_null(j);
    assert_int_equal(audit_journal_head_seq(j), 30);
    assert_string_equal(audit_journal_instance(j), inst);
    append_n(j, 5, 1);
    uint64_t first = 0;
    /* The chain continues across the restart: one verifier accepts all 35. */
    assert_int_equal(read_all(j, 0, &first), 35);
    assert_int_equal(first, 1);
    audit_journal_free(j);
}

static void test_torn_tail_and_damage(void **state)
{
    struct audit_journal *j = open_j(1 << 20, 1 << 30);
    append_n(j, 3, 1);
    audit_journal_free(j);
    char path[256];
    snprintf(path, sizeof(path), "%s/journal-%020d.jsonl", dir, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t good = st.st_size;
    /* A crash mid-write leaves a partial line: cut back at the next start. */
    FILE *f = fopen(path, "ab");
    fputs("{\"v\":1,\"seq\":4,\"event_id\":\"01", f);
    fclose(f);
    j = open_j(1 << 20, 1 << 30);
    assert_non_null(j);
    assert_int_equal(audit_journal_head_seq(j), 3);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, good);
    append_n(j, 1, 1);
    assert_int_equal(read_all(j, 0, NULL), 4);
    audit_journal_free(j);

    /* An edited last record refuses the start (fail closed). */
    int fd = open(path, O_RDWR);
    assert_int_equal(stat(path, &st), 0);
    char c;
    assert_int_equal(pread(fd, &c, 1, st.st_size - 200), 1);
    c = c == 'a' ? 'b' : 'a';
    assert_int_equal(pwrite(fd, &c, 1, st.st_size - 200), 1);
    close(fd);
    assert_null(open_j(1 << 20, 1 << 30));
}

static void test_segments_readers_prune(void **state)
{
    char err[256];
    /* ~1.3 KB records, 16 KB segments: about 12 records a segment. */
    struct audit_journal *j = open_j(16384, 1 << 30);
    assert_non_null(j);
    uint64_t lost;
    struct audit_reader *a = audit_reader_new(j, "a", 0, &lost, err, sizeof(err));
    struct audit_reader *b = audit_reader_new(j, "b", 0, &lost, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    append_n(j, 100, 9);
    assert_true(count_segments() >= 7);
    uint64_t first = 0;
    assert_int_equal(read_all(j, 0, &first), 100);
    assert_int_equal(read_all(j, 50, &first), 50);
    assert_int_equal(first, 51);
    assert_int_equal(read_all(j, 100, NULL), 0);

    /* Reader a takes 60 records, rewinds to its confirmed position after 40. */
    const char *line;
    size_t len;
    uint64_t seq = 0;
    struct audit_jpos at40 = {0};
    for (int i = 1; i <= 60; i++) {
        assert_int_equal(audit_reader_next(a, &line, &len, &seq, err, sizeof(err)), 1);
        assert_int_equal(seq, (uint64_t)i);
        if (i == 40)
            at40 = audit_reader_tell(a);
    }
    assert_int_equal(at40.next_seq, 41);
    assert_int_equal(audit_reader_seek(a, &at40, err, sizeof(err)), 0);
    assert_int_equal(audit_reader_next(a, &line, &len, &seq, err, sizeof(err)), 1);
    assert_int_equal(seq, 41);
    audit_reader_confirm(a, &at40);
    uint64_t bytes, recs;
    audit_reader_backlog(a, &bytes, &recs);
    assert_int_equal(recs, 60);
    assert_true(bytes > 60 * 1000);
    /* b has confirmed nothing: every segment stays. */
    int before = count_segments();
    audit_journal_prune(j);
    assert_int_equal(count_segments(), before);
    /* b confirms all: only segments a still needs (from record 41 on) stay. */
    while (audit_reader_next(b, &line, &len, &seq, err, sizeof(err)) == 1)
        ;
    struct audit_jpos end = audit_reader_tell(b);
    audit_reader_confirm(b, &end);
    assert_true(count_segments() < before);
    uint64_t oldest = 0;
    uint64_t got = read_all(j, 0, &oldest);
    assert_int_equal(got, 100 - (oldest - 1));
    assert_true(oldest <= 41 && oldest > 1);
    /* A reader asking for pruned records starts at the oldest and reports the gap. */
    struct audit_reader *c = audit_reader_new(j, "c", 0, &lost, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(lost, oldest - 1);
    audit_reader_free(c);
    audit_reader_free(a);
    audit_reader_free(b);
    audit_journal_free(j);

    /* After a restart the readers find their records again, across segments. */
    j = open_j(16384, 1 << 30);
    assert_int_equal(read_all(j, 60, &first), 40);
    assert_int_equal(first, 61);
    audit_journal_free(j);
}

static void test_spool_full(void **state)
{
    char err[256];
    struct audit_journal *j = open_j(16384, 65536);
    uint64_t lost;
    struct audit_reader *a = audit_reader_new(j, "a", 0, &lost, err, sizeof(err));
    assert_false(audit_journal_full(j));
    int n = 0;
    while (!audit_journal_full(j) && n < 1000) {
        append_n(j, 1, 1);
        n++;
    }
    assert_true(audit_journal_full(j));
    assert_true(n >= 40 && n < 60);
    struct audit_journal_stats st;
    audit_journal_stats(j, &st);
    assert_true(st.spool_bytes >= 65536);
    /* The reader catches up and confirms: segments go, the spool has room again. */
    const char *line;
    size_t len;
    uint64_t seq;
    while (audit_reader_next(a, &line, &len, &seq, err, sizeof(err)) == 1)
        ;
    struct audit_jpos end = audit_reader_tell(a);
    audit_reader_confirm(a, &end);
    assert_false(audit_journal_full(j));
    audit_journal_stats(j, &st);
    assert_true(st.spool_bytes <= 16384 + 8192);
    audit_reader_free(a);
    audit_journal_free(j);
}

static void *appender(void *arg)
{
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    append_n(arg, 1, 1);
    return NULL;
}

static void test_wait_wakes(void **state)
{
    struct audit_journal *j = open_j(1 << 20, 1 << 30);
    assert_false(audit_journal_wait(j, 0, 0));
    pthread_t t;
    pthread_create(&t, NULL, appender, j);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_true(audit_journal_wait(j, 0, 5000));
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true(ms < 2000);
    /* Timeout without appends. */
    assert_false(audit_journal_wait(j, 1, 20));
    audit_journal_free(j);
}

static int build_event(struct audit_record *r, uint64_t last_seq, const char *last_hash, void *arg)
{
    uint64_t *seen = arg;
    *seen = last_seq;
    if (last_seq == 3)
        return 1;
    audit_record_init(r, 1764349215000LL, "warden");
    AUDIT_SET(r, decision.reason, last_hash, 64);
    return 0;
}

static void test_append_built(void **state)
{
    char err[256];
    struct audit_journal *j = open_j(1 << 20, 1 << 30);
    append_n(j, 2, 1);
    struct audit_record r;
    uint64_t seen = 0;
    assert_int_equal(audit_journal_append_built(j, &r, build_event, &seen, err, sizeof(err)), 0);
    assert_int_equal(seen, 2);
    assert_int_equal(r.seq, 3);
    /* The builder saw the head's hash, which is the record's prev_hash. */
    assert_memory_equal(r.decision.reason.s, r.prev_hash, 64);
    /* A builder may decline. */
    assert_int_equal(audit_journal_append_built(j, &r, build_event, &seen, err, sizeof(err)), 1);
    assert_int_equal(audit_journal_head_seq(j), 3);
    assert_int_equal(read_all(j, 0, NULL), 3);
    audit_journal_free(j);
}

static void test_cursor(void **state)
{
    char buf[AUDIT_CURSOR_LEN];
    uint64_t seq = 0;
    const uint64_t vals[] = {0, 1, 42, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        audit_cursor_encode(vals[i], buf);
        assert_int_equal(buf[AUDIT_CURSOR_LEN - 1], '\n');
        assert_int_equal(audit_cursor_decode(buf, sizeof(buf), &seq), 0);
        assert_true(seq == vals[i]);
    }
    audit_cursor_encode(12345, buf);
    for (size_t i = 0; i < AUDIT_CURSOR_LEN; i++) {
        char t[AUDIT_CURSOR_LEN];
        memcpy(t, buf, sizeof(t));
        t[i] ^= 0x01;
        assert_int_equal(audit_cursor_decode(t, sizeof(t), &seq), -1);
    }
    assert_int_equal(audit_cursor_decode(buf, sizeof(buf) - 1, &seq), -1);
    assert_int_equal(audit_cursor_decode("", 0, &seq), -1);

    char err[256];
    bool found, damaged;
    int fd = audit_cursor_open(dir, "sink-x", &seq, &found, &damaged, err, sizeof(err));
    assert_true(fd >= 0);
    assert_false(found);
    assert_false(damaged);
    assert_int_equal(audit_cursor_store(fd, 777), 0);
    close(fd);
    fd = audit_cursor_open(dir, "sink-x", &seq, &found, &damaged, err, sizeof(err));
    assert_true(found);
    assert_int_equal(seq, 777);
    /* A torn write (half a cursor) does not decode. */
    assert_int_equal(ftruncate(fd, 20), 0);
    close(fd);
    fd = audit_cursor_open(dir, "sink-x", &seq, &found, &damaged, err, sizeof(err));
    assert_false(found);
    assert_true(damaged);
    assert_int_equal(seq, 0);
    close(fd);
}

static void test_last_line(void **state)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/tail", dir);
    struct {
        const char *text;
        int rc;
        const char *line;
        uint64_t keep;
    } cases[] = {
        {"", 0, NULL, 0},        {"abc", 0, NULL, 0},       {"abc\n", 1, "abc", 4},
        {"a\nbc\n", 1, "bc", 5}, {"a\nbc\nde", 1, "bc", 5}, {"\n", 1, "", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(write(fd, cases[i].text, strlen(cases[i].text)),
                         (ssize_t)strlen(cases[i].text));
        char *line = NULL;
        size_t len = 0;
        uint64_t keep = 99;
        assert_int_equal(audit_file_last_line(fd, 1024, &line, &len, &keep), cases[i].rc);
        assert_int_equal(keep, cases[i].keep);
        if (cases[i].line)
            assert_string_equal(line, cases[i].line);
        free(line);
        close(fd);
    }
    /* A last line longer than the window is an error, not a silent wrong answer. */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char big[3000];
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    assert_int_equal(write(fd, "a\n", 2), 2);
    assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
    char *line = NULL;
    size_t len;
    uint64_t keep;
    assert_int_equal(audit_file_last_line(fd, 1024, &line, &len, &keep), -1);
    close(fd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Journal write throughput (sealing + write(2), bodies rendered beforehand): batches of 64
 * (the async pipeline thread) and one record per call (commit = sync). */
static void test_throughput(void **state)
{
    static char bodies[64][8192];
    struct audit_jentry e[64];
    struct audit_record r;
    char err[256];
    for (int i = 0; i < 64; i++) {
        size_t bl = 0;
        audit_fill_typical(&r, 1764349215000LL + i);
        assert_int_equal(audit_format_json_body(&r, bodies[i], sizeof(bodies[i]), &bl), 0);
        e[i] = (struct audit_jentry){.time_ms = r.time_ms, .body = bodies[i], .blen = bl};
    }
    struct audit_journal *j = open_j(16 << 20, 1LL << 34);
    const int rounds = 500;
    double t0 = now_s();
    for (int k = 0; k < rounds; k++)
        assert_int_equal(audit_journal_append(j, e, 64, err, sizeof(err)), 0);
    double batched = now_s() - t0;
    struct audit_journal_stats st;
    audit_journal_stats(j, &st);
    double bytes = (double)st.spool_bytes;
    t0 = now_s();
    for (int k = 0; k < rounds * 64; k++)
        assert_int_equal(audit_journal_append(j, &e[k % 64], 1, err, sizeof(err)), 0);
    double single = now_s() - t0;
    int n = rounds * 64;
    print_message("journal append (seal + write): batches of 64: %.0f records/s, %.0f MB/s, "
                  "%.2f us/record; one per call: %.0f records/s, %.2f us/record (%.0f-byte "
                  "lines, fsync never, %s)\n",
                  n / batched, bytes / batched / 1e6, batched / n * 1e6, n / single,
                  single / n * 1e6, bytes / n, dir);
    audit_journal_stats(j, &st);
    assert_int_equal(st.head_seq, (uint64_t)(2 * n));
    audit_journal_free(j);
}

static int reset_dir(void **state)
{
    teardown(state);
    return setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_append_and_restart, reset_dir),
        cmocka_unit_test_setup(test_torn_tail_and_damage, reset_dir),
        cmocka_unit_test_setup(test_segments_readers_prune, reset_dir),
        cmocka_unit_test_setup(test_spool_full, reset_dir),
        cmocka_unit_test_setup(test_wait_wakes, reset_dir),
        cmocka_unit_test_setup(test_append_built, reset_dir),
        cmocka_unit_test_setup(test_cursor, reset_dir),
        cmocka_unit_test_setup(test_last_line, reset_dir),
        cmocka_unit_test_setup(test_throughput, reset_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
