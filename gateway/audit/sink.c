/*
 * audit/sink: see sink.h. One thread per sink; nothing here runs on a worker.
 */
#include "audit/sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/cursor.h"
#include "audit/format.h"
#include "audit/journal.h"
#include "util/log.h"

#define LOG_EVERY_MS    30000 /* while a sink stays down, repeat the warning this often */
#define CURSOR_EVERY_MS 200   /* store the cursor at most this often while running */
#define LINGER_MS       5     /* after a partial batch, let a few more records arrive */
#define INFLIGHT_MAX    4096  /* stream batches awaiting confirmation */
#define STREAM_CHECK_MS 100

int64_t audit_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t audit_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t audit_backoff_ms(int64_t min_ms, int64_t max_ms, unsigned failures, double jitter01)
{
    int64_t b = min_ms;
    for (unsigned i = 1; i < failures && b < max_ms; i++)
        b *= 2;
    if (b > max_ms)
        b = max_ms;
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 >= 1)
        jitter01 = 0.999999;
    int64_t j = (int64_t)((double)b * (0.8 + 0.4 * jitter01));
    return j < 1 ? 1 : j;
}

/* ---- batches ------------------------------------------------------------------------- */

void audit_batch_init(struct audit_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void audit_batch_deinit(struct audit_batch *b)
{
    free(b->buf);
    free(b->ends);
    free(b->seq);
    memset(b, 0, sizeof(*b));
}

void audit_batch_reset(struct audit_batch *b)
{
    b->len = b->n = b->mark = 0;
}

int audit_batch_reserve(struct audit_batch *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t nc = b->cap ? b->cap : 64 * 1024;
    while (nc - b->len < more) {
        if (nc > SIZE_MAX / 2)
            return -1;
        nc *= 2;
    }
    char *p = realloc(b->buf, nc);
    if (!p)
        return -1;
    b->buf = p;
    b->cap = nc;
    return 0;
}

int audit_batch_add(struct audit_batch *b, const void *p, size_t n)
{
    if (audit_batch_reserve(b, n) != 0)
        return -1;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

int audit_batch_commit(struct audit_batch *b, uint64_t seq)
{
    if (b->n == b->items_cap) {
        size_t nc = b->items_cap ? b->items_cap * 2 : 256;
        size_t *e = realloc(b->ends, nc * sizeof(*e));
        if (!e)
            return -1;
        b->ends = e;
        uint64_t *s = realloc(b->seq, nc * sizeof(*s));
        if (!s)
            return -1;
        b->seq = s;
        b->items_cap = nc;
    }
    b->ends[b->n] = b->len;
    b->seq[b->n] = seq;
    b->n++;
    b->mark = b->len;
    return 0;
}

void audit_batch_rollback(struct audit_batch *b)
{
    b->len = b->mark;
}

const char *audit_batch_item(const struct audit_batch *b, size_t i, size_t *len)
{
    size_t start = i ? b->ends[i - 1] : 0;
    *len = b->ends[i] - start;
    return b->buf + start;
}

int audit_render_payload(int fmt, const char *product_version, const char *line, size_t len,
                         struct audit_record *scratch, struct audit_batch *b, char *err,
                         size_t errlen)
{
    if (fmt == AUDIT_OUT_JSON) {
        if (audit_batch_add(b, line, len) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    size_t n = 0;
    if (audit_parse_json(line, len, scratch, err, errlen) != 0)
        return -1;
    if (audit_batch_reserve(b, AUDIT_LINE_MAX) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (audit_format_ocsf(scratch, product_version, b->buf + b->len, b->cap - b->len, &n) != 0) {
        snprintf(err, errlen, "OCSF rendering does not fit");
        return -1;
    }
    b->len += n;
    return 0;
}

/* ---- the delivery thread ------------------------------------------------------------- */

struct inflight {
    uint64_t last_seq;
    uint64_t records;
    struct audit_jpos after;
    int64_t sent_at;
    uint64_t stream_end;
};

struct audit_sink {
    char *name;
    const struct audit_sink_ops *ops;
    void *impl;
    struct audit_delivery_conf d;
    int64_t confirm_delay_ms;
    struct audit_journal *j;
    struct audit_reader *rd;
    int cursor_fd;
    pthread_t thread;
    bool started;

    atomic_bool stop_req;
    atomic_uint_fast64_t drain_to;
    atomic_int_fast64_t deadline;
    atomic_bool reopen_req;

    struct audit_batch batch;
    struct inflight *fl;
    size_t fl_n;
    struct audit_jpos confirmed_pos;
    uint64_t confirmed_seq, stored_seq;
    int64_t stored_at;
    bool connected;
    unsigned failures;
    unsigned stop_failures; /* failures since the stop request */
    int64_t last_fail_log;
    uint64_t rng;

    atomic_uint_fast64_t delivered, failures_total, skipped, confirmed_pub;
    atomic_bool up;
};

static double rand01(struct audit_sink *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (double)(s->rng >> 11) / 9007199254740992.0;
}

static void store_cursor(struct audit_sink *s, bool force)
{
    int64_t now = audit_mono_ms();
    if (s->confirmed_seq == s->stored_seq || (!force && now - s->stored_at < CURSOR_EVERY_MS))
        return;
    if (audit_cursor_store(s->cursor_fd, s->confirmed_seq) != 0)
        log_warn("audit sink %s: cannot store its cursor: %s", s->name, strerror(errno));
    else
        s->stored_seq = s->confirmed_seq;
    s->stored_at = now;
}

static void confirm(struct audit_sink *s, const struct audit_jpos *after, uint64_t last_seq,
                    uint64_t records)
{
    s->confirmed_pos = *after;
    if (last_seq > s->confirmed_seq)
        s->confirmed_seq = last_seq;
    atomic_store(&s->confirmed_pub, s->confirmed_seq);
    atomic_fetch_add(&s->delivered, records);
    audit_reader_confirm(s->rd, after);
}

/* Sleep up to ms, woken early by a stop request (journal kick). */
static void nap(struct audit_sink *s, int64_t ms)
{
    if (atomic_load(&s->stop_req)) {
        int64_t left = atomic_load(&s->deadline) - audit_mono_ms();
        if (ms > left)
            ms = left;
    }
    if (ms > 0)
        audit_journal_wait(s->j, UINT64_MAX, ms);
}

static void fail(struct audit_sink *s, const char *what, const char *err)
{
    int64_t now = audit_mono_ms();
    s->failures++;
    atomic_fetch_add(&s->failures_total, 1);
    atomic_store(&s->up, false);
    if (s->failures == 1 || now - s->last_fail_log >= LOG_EVERY_MS) {
        uint64_t bytes, recs;
        audit_reader_backlog(s->rd, &bytes, &recs);
        log_warn("audit sink %s (%s): %s failed: %s; retrying with back-off, %llu record(s) "
                 "waiting in the journal",
                 s->name, s->ops->kind, what, err, (unsigned long long)recs);
        s->last_fail_log = now;
    }
    if (s->connected)
        s->ops->disconnect(s->impl);
    s->connected = false;
    s->fl_n = 0;
    char e[256];
    if (audit_reader_seek(s->rd, &s->confirmed_pos, e, sizeof(e)) != 0)
        log_error("audit sink %s: cannot rewind: %s", s->name, e);
    /* Stopping: one more try, not a wait until the deadline; the records stay in the
     * journal for the next start. */
    if (atomic_load(&s->stop_req) && ++s->stop_failures > 1)
        return;
    nap(s, audit_backoff_ms(s->d.retry_min_ms, s->d.retry_max_ms, s->failures, rand01(s)));
}

static void recovered(struct audit_sink *s)
{
    if (s->failures) {
        uint64_t bytes, recs;
        audit_reader_backlog(s->rd, &bytes, &recs);
        log_info("audit sink %s (%s): delivering again after %u failed attempt(s); %llu "
                 "record(s) to catch up",
                 s->name, s->ops->kind, s->failures, (unsigned long long)recs);
    }
    s->failures = 0;
    atomic_store(&s->up, true);
}

/* Confirm stream batches the peer has acknowledged. -1 when the connection is gone. */
static int check_stream(struct audit_sink *s, bool all_now)
{
    bool alive = true;
    uint64_t acked = s->ops->acked(s->impl, &alive);
    if (!alive)
        return -1;
    int64_t now = audit_mono_ms();
    size_t k = 0;
    while (k < s->fl_n && s->fl[k].stream_end <= acked &&
           (all_now || now - s->fl[k].sent_at >= s->confirm_delay_ms)) {
        confirm(s, &s->fl[k].after, s->fl[k].last_seq, s->fl[k].records);
        k++;
    }
    if (k) {
        memmove(s->fl, s->fl + k, (s->fl_n - k) * sizeof(*s->fl));
        s->fl_n -= k;
    }
    return 0;
}

/* Read and render up to one batch. Returns true if the reader reached the head. */
static bool fill_batch(struct audit_sink *s)
{
    char err[256];
    audit_batch_reset(&s->batch);
    while (s->batch.n < (size_t)s->d.batch_max && s->batch.len < (size_t)s->d.batch_bytes) {
        const char *line;
        size_t len;
        uint64_t seq;
        int r = audit_reader_next(s->rd, &line, &len, &seq, err, sizeof(err));
        if (r == 0)
            return true;
        if (r < 0) {
            atomic_fetch_add(&s->skipped, 1);
            log_error("audit sink %s: %s", s->name, err);
            continue;
        }
        if (s->ops->render(s->impl, line, len, &s->batch, err, sizeof(err)) != 0 ||
            audit_batch_commit(&s->batch, seq) != 0) {
            audit_batch_rollback(&s->batch);
            atomic_fetch_add(&s->skipped, 1);
            log_error("audit sink %s: record seq %llu not delivered: %s", s->name,
                      (unsigned long long)seq, err);
        }
    }
    return false;
}

static void *sink_main(void *arg)
{
    struct audit_sink *s = arg;
    char err[256];
    for (;;) {
        int64_t now = audit_mono_ms();
        bool stopping = atomic_load(&s->stop_req);
        if (stopping && now >= atomic_load(&s->deadline))
            break;
        if (stopping && s->fl_n == 0 && s->confirmed_seq >= atomic_load(&s->drain_to))
            break;
        if (stopping && s->stop_failures > 1)
            break; /* down at shutdown: what is left is delivered after the next start */
        if (atomic_exchange(&s->reopen_req, false) && s->ops->reopen)
            s->ops->reopen(s->impl);
        if (!s->connected) {
            if (s->ops->connect(s->impl, err, sizeof(err)) != 0) {
                fail(s, "connect", err);
                continue;
            }
            s->connected = true;
        }
        if (s->ops->acked && s->fl_n && check_stream(s, false) != 0) {
            fail(s, "delivery", "connection closed by the peer");
            continue;
        }
        if (s->fl_n >= INFLIGHT_MAX) {
            nap(s, STREAM_CHECK_MS);
            continue;
        }
        struct audit_jpos before = audit_reader_tell(s->rd);
        bool at_head = fill_batch(s);
        struct audit_jpos after = audit_reader_tell(s->rd);
        uint64_t last = after.next_seq - 1;
        if (s->batch.n == 0) {
            if (after.off != before.off || after.seg != before.seg) {
                /* Only damaged records were passed: move the cursor past them. */
                if (s->ops->acked)
                    s->fl[s->fl_n++] =
                        (struct inflight){last, 0, after, now, s->ops->written(s->impl)};
                else
                    confirm(s, &after, last, 0);
                continue;
            }
            if (stopping) {
                if (s->ops->finish && s->fl_n) {
                    /* After a clean close the peer has read every byte; otherwise what is
                     * unconfirmed is delivered again after the restart. */
                    int64_t left = atomic_load(&s->deadline) - audit_mono_ms();
                    if (left > 0 && s->ops->finish(s->impl, (int)left) == 0)
                        for (size_t k = 0; k < s->fl_n; k++)
                            confirm(s, &s->fl[k].after, s->fl[k].last_seq, s->fl[k].records);
                    s->fl_n = 0;
                    s->ops->disconnect(s->impl);
                    s->connected = false;
                }
                if (s->fl_n == 0)
                    break;
            }
            store_cursor(s, stopping);
            audit_journal_wait(s->j, last, s->fl_n ? STREAM_CHECK_MS : 1000);
            continue;
        }
        if (s->ops->send(s->impl, &s->batch, err, sizeof(err)) != 0) {
            fail(s, "delivery", err);
            continue;
        }
        recovered(s);
        if (s->ops->acked)
            s->fl[s->fl_n++] = (struct inflight){last, s->batch.n, after, audit_mono_ms(),
                                                 s->ops->written(s->impl)};
        else
            confirm(s, &after, last, s->batch.n);
        store_cursor(s, false);
        if (at_head && !stopping) {
            struct timespec ts = {0, LINGER_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    store_cursor(s, true);
    if (s->connected)
        s->ops->disconnect(s->impl);
    s->connected = false;
    return NULL;
}

struct audit_sink *audit_sink_new(const char *name, const struct audit_sink_ops *ops, void *impl,
                                  const struct audit_delivery_conf *d, int64_t confirm_delay_ms,
                                  struct audit_journal *j, const char *journal_dir,
                                  uint64_t resume_after, char *err, size_t errlen)
{
    struct audit_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        ops->free(impl);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->ops = ops;
    s->impl = impl;
    s->d = *d;
    s->confirm_delay_ms = confirm_delay_ms;
    s->j = j;
    s->cursor_fd = -1;
    s->rng = (uint64_t)audit_mono_ms() * 0x9E3779B97F4A7C15ULL | 1;
    audit_batch_init(&s->batch);
    s->name = strdup(name);
    s->fl = calloc(INFLIGHT_MAX + 1, sizeof(*s->fl));
    if (!s->name || !s->fl) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    uint64_t cursor = 0, head = audit_journal_head_seq(j), lost = 0;
    bool found = false, damaged = false;
    s->cursor_fd = audit_cursor_open(journal_dir, name, &cursor, &found, &damaged, err, errlen);
    if (s->cursor_fd < 0)
        goto fail;
    uint64_t after;
    if (damaged) {
        log_warn("audit sink %s: its cursor file is damaged; replaying every record the journal "
                 "retains (duplicates are possible)",
                 name);
        after = 0;
    } else if (!found) {
        /* A new sink receives what is recorded from now on (and what its file lacks). */
        after = head;
    } else {
        after = cursor;
        if (cursor > head) {
            log_warn("audit sink %s: cursor %llu is past the journal head %llu (the journal was "
                     "reset); delivering from the head",
                     name, (unsigned long long)cursor, (unsigned long long)head);
            after = head;
        }
    }
    /* A sink that keeps its own copy (a file) knows what it already holds. */
    if (resume_after && resume_after <= head && (resume_after > after || (!found && !damaged)))
        after = resume_after;
    s->rd = audit_reader_new(j, name, after, &lost, err, errlen);
    if (!s->rd)
        goto fail;
    if (lost && !damaged)
        log_error("audit sink %s: %llu record(s) after seq %llu are no longer in the journal and "
                  "were never delivered to this sink",
                  name, (unsigned long long)lost, (unsigned long long)after);
    s->confirmed_pos = audit_reader_tell(s->rd);
    s->confirmed_seq = s->confirmed_pos.next_seq - 1;
    s->stored_seq = found ? cursor : UINT64_MAX;
    atomic_store(&s->confirmed_pub, s->confirmed_seq);
    store_cursor(s, true);
    return s;
fail:
    audit_sink_free(s);
    return NULL;
}

int audit_sink_start(struct audit_sink *s)
{
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0)
        return -1;
    s->started = true;
    return 0;
}

void audit_sink_request_stop(struct audit_sink *s, uint64_t drain_to, int64_t deadline_ms)
{
    atomic_store(&s->drain_to, drain_to);
    atomic_store(&s->deadline, deadline_ms);
    atomic_store(&s->stop_req, true);
}

void audit_sink_join(struct audit_sink *s)
{
    if (s && s->started) {
        pthread_join(s->thread, NULL);
        s->started = false;
    }
}

void audit_sink_free(struct audit_sink *s)
{
    if (!s)
        return;
    audit_sink_join(s);
    audit_reader_free(s->rd);
    if (s->cursor_fd >= 0)
        close(s->cursor_fd);
    if (s->ops && s->impl)
        s->ops->free(s->impl);
    audit_batch_deinit(&s->batch);
    free(s->fl);
    free(s->name);
    free(s);
}

void audit_sink_reopen(struct audit_sink *s)
{
    atomic_store(&s->reopen_req, true);
}

void audit_sink_stats(struct audit_sink *s, struct audit_sink_stats *st)
{
    st->name = s->name;
    st->kind = s->ops->kind;
    st->delivered = atomic_load(&s->delivered);
    st->failures = atomic_load(&s->failures_total);
    st->skipped = atomic_load(&s->skipped);
    st->confirmed_seq = atomic_load(&s->confirmed_pub);
    st->up = atomic_load(&s->up);
    audit_reader_backlog(s->rd, &st->backlog_bytes, &st->backlog_records);
}
