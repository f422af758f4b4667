/*
 * audit/pipeline: see pipeline.h.
 *
 * The async queue is a ring of struct audit_record slots under one mutex. Submitters copy a
 * record into the slot after the last one; the pipeline thread claims the oldest k slots,
 * renders and journals them outside the lock (submitters never touch claimed slots), then
 * frees them. The pipeline thread naps 1 ms between batches while records keep coming and
 * only then sleeps on the condition variable, so under load submitters never make a system
 * call: they signal a sleeping thread once, or a napping one when the queue is half full.
 */
#include "audit/pipeline.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/checkpoint.h"
#include "audit/format.h"
#include "audit/journal.h"
#include "audit/sink.h"
#include "audit/sinks.h"
#include "util/log.h"

#define BATCH_MAX       256 /* records journaled per write */
#define NAP_MS          1
#define IDLE_MAX_MS     1000
#define RETRY_MS        100
#define ERROR_LOG_EVERY 10000

struct audit_pipeline {
    struct audit_conf c; /* scalars only; strings below */
    char *journal_dir;
    char *product_version;
    struct audit_journal *j;
    struct audit_signer *signer;
    struct audit_sink **sinks;
    size_t nsinks;

    pthread_mutex_t qmu;
    pthread_cond_t qcv;   /* wakes the pipeline thread */
    pthread_cond_t qdone; /* a batch was journaled */
    struct audit_record *ring;
    size_t qcap, qhead, qcount;
    bool idle, napping, signaled, stop;
    pthread_t thread;
    bool started;

    pthread_key_t body_key; /* sync mode: one body buffer per submitting thread */
    bool key_ok;
    char *bodies; /* pipeline thread: rendered bodies of one batch */
    size_t bodies_cap;
    struct audit_jentry entries[BATCH_MAX];

    uint64_t last_checkpoint_seq;
    int64_t next_checkpoint, next_fsync;

    pthread_mutex_t omu; /* overflow bookkeeping */
    uint64_t drop_pending, refuse_pending;
    int64_t overflow_first_ms, overflow_last_ms;
    int64_t last_error_log;

    atomic_uint_fast64_t submitted, dropped, refused, journal_errors, checkpoints, queue_hwm,
        queue_full;
};

static void set_err(char *err, size_t errlen, const char *msg, const char *detail)
{
    snprintf(err, errlen, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
}

static void log_journal_error(struct audit_pipeline *p, const char *what, const char *err)
{
    atomic_fetch_add(&p->journal_errors, 1);
    pthread_mutex_lock(&p->omu);
    int64_t now = audit_mono_ms();
    bool log = p->last_error_log == 0 || now - p->last_error_log >= ERROR_LOG_EVERY;
    if (log)
        p->last_error_log = now;
    pthread_mutex_unlock(&p->omu);
    if (log)
        log_error("audit: %s: %s", what, err);
}

/* The overflow rule for one record that cannot be accepted. */
static int overflow(struct audit_pipeline *p)
{
    int64_t now = audit_wall_ms();
    bool deny = p->c.overflow == AUDIT_OVERFLOW_DENY;
    atomic_fetch_add(deny ? &p->refused : &p->dropped, 1);
    pthread_mutex_lock(&p->omu);
    if (p->drop_pending == 0 && p->refuse_pending == 0)
        p->overflow_first_ms = now;
    p->overflow_last_ms = now;
    if (deny)
        p->refuse_pending++;
    else
        p->drop_pending++;
    pthread_mutex_unlock(&p->omu);
    return deny ? -1 : 0;
}

static void body_free(void *b)
{
    free(b);
}

static void fill_event(struct audit_record *r, const char *action, bool ok, const char *detail)
{
    audit_record_init(r, audit_wall_ms(), "warden");
    AUDIT_SET(r, action, action, strlen(action));
    r->status = ok ? 200 : 500;
    if (detail)
        AUDIT_SET(r, decision.reason, detail, strlen(detail));
}

/* Journal one record now, on this thread (events; sync submissions). */
static int journal_one(struct audit_pipeline *p, struct audit_record *r, char *body, char *err,
                       size_t errlen)
{
    struct audit_jentry e = {.time_ms = r->time_ms, .body = body};
    if (audit_format_json_body(r, body, AUDIT_LINE_MAX, &e.blen) != 0) {
        snprintf(err, errlen, "record does not fit a line");
        return -1;
    }
    if (audit_journal_append(p->j, &e, 1, err, errlen) != 0)
        return -1;
    r->seq = e.seal.seq;
    memcpy(r->event_id, e.seal.event_id, sizeof(r->event_id));
    memcpy(r->prev_hash, e.seal.prev_hash, sizeof(r->prev_hash));
    memcpy(r->hash, e.seal.hash, sizeof(r->hash));
    return 0;
}

static void emit_event(struct audit_pipeline *p, struct audit_record *r)
{
    char err[256];
    char *body = malloc(AUDIT_LINE_MAX);
    if (!body || journal_one(p, r, body, err, sizeof(err)) != 0)
        log_journal_error(p, "cannot journal an event", body ? err : "out of memory");
    else
        atomic_fetch_add(&p->submitted, 1);
    free(body);
}

/* Copy a record into a queue slot, skipping the unused parameter slots (half the struct). */
static void copy_record(struct audit_record *dst, const struct audit_record *src)
{
    _Static_assert(offsetof(struct audit_record, latency_us) >=
                       offsetof(struct audit_record, params) + sizeof(src->params),
                   "params precede the record's tail");
    size_t head = offsetof(struct audit_record, params);
    size_t tail = offsetof(struct audit_record, latency_us);
    size_t np = src->n_params <= AUDIT_PARAMS ? src->n_params : AUDIT_PARAMS;
    memcpy(dst, src, head);
    memcpy(dst->params, src->params, np * sizeof(src->params[0]));
    memcpy((char *)dst + tail, (const char *)src + tail, sizeof(*src) - tail);
}

/* Seal and journal r on the calling thread (commit = sync, or a full async queue). */
static int submit_direct(struct audit_pipeline *p, struct audit_record *r)
{
    char err[256];
    char *body = pthread_getspecific(p->body_key);
    if (!body) {
        body = malloc(AUDIT_LINE_MAX);
        if (!body || pthread_setspecific(p->body_key, body) != 0) {
            free(body);
            log_journal_error(p, "cannot journal a record", "out of memory");
            return overflow(p);
        }
    }
    if (journal_one(p, r, body, err, sizeof(err)) != 0) {
        log_journal_error(p, "cannot journal a record", err);
        return overflow(p);
    }
    atomic_fetch_add_explicit(&p->submitted, 1, memory_order_relaxed);
    return 0;
}

int audit_submit(struct audit_pipeline *p, struct audit_record *r)
{
    if (!p)
        return 0;
    if (audit_journal_full(p->j))
        return overflow(p);
    if (p->c.commit == AUDIT_COMMIT_SYNC)
        return submit_direct(p, r);
    pthread_mutex_lock(&p->qmu);
    if (p->qcount == p->qcap) {
        /* A burst beyond the queue: this record goes to the journal directly, like commit =
         * sync (a local write, never a sink). */
        pthread_mutex_unlock(&p->qmu);
        atomic_fetch_add_explicit(&p->queue_full, 1, memory_order_relaxed);
        return submit_direct(p, r);
    }
    size_t slot = p->qhead + p->qcount;
    if (slot >= p->qcap)
        slot -= p->qcap;
    copy_record(&p->ring[slot], r);
    p->qcount++;
    if (p->qcount > atomic_load_explicit(&p->queue_hwm, memory_order_relaxed))
        atomic_store_explicit(&p->queue_hwm, p->qcount, memory_order_relaxed);
    if (!p->signaled && (p->idle || (p->napping && p->qcount >= p->qcap / 2))) {
        p->signaled = true;
        pthread_cond_signal(&p->qcv);
    }
    pthread_mutex_unlock(&p->qmu);
    return 0;
}

bool audit_accepting(const struct audit_pipeline *p)
{
    return !p || p->c.overflow != AUDIT_OVERFLOW_DENY || !audit_journal_full(p->j);
}

/* Journal k claimed slots starting at qhead; retried until it works or the pipeline stops
 * for good. Returns how many were journaled. */
static size_t journal_batch(struct audit_pipeline *p, size_t head, size_t k)
{
    char err[256];
    size_t need = k * AUDIT_LINE_MAX;
    if (p->bodies_cap < need) {
        char *b = realloc(p->bodies, need);
        if (!b) {
            log_journal_error(p, "cannot journal records", "out of memory");
            return 0;
        }
        p->bodies = b;
        p->bodies_cap = need;
    }
    size_t used = 0, n = 0;
    for (size_t i = 0; i < k; i++) {
        size_t slot = (head + i) % p->qcap;
        struct audit_record *r = &p->ring[slot];
        struct audit_jentry *e = &p->entries[n];
        size_t blen = 0;
        if (audit_format_json_body(r, p->bodies + used, p->bodies_cap - used, &blen) != 0) {
            log_journal_error(p, "cannot render a record", "does not fit a line");
            continue;
        }
        *e = (struct audit_jentry){.time_ms = r->time_ms, .body = p->bodies + used, .blen = blen};
        used += blen;
        n++;
    }
    int64_t give_up = 0;
    while (n && audit_journal_append(p->j, p->entries, n, err, sizeof(err)) != 0) {
        log_journal_error(p, "cannot write the journal (records kept in memory, retrying)", err);
        int64_t now = audit_mono_ms();
        if (p->stop) {
            if (!give_up)
                give_up = now + 2000;
            else if (now >= give_up) {
                log_error("audit: %zu queued record(s) lost at shutdown: the journal cannot be "
                          "written",
                          n);
                atomic_fetch_add(&p->dropped, n);
                return k;
            }
        }
        struct timespec ts = {0, RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add_explicit(&p->submitted, n, memory_order_relaxed);
    return k;
}

static int checkpoint_fill(struct audit_record *r, uint64_t last_seq, const char *last_hash_hex,
                           void *arg)
{
    struct audit_pipeline *p = arg;
    char err[128];
    if (last_seq == 0 || last_seq == p->last_checkpoint_seq)
        return 1;
    if (audit_checkpoint_fill(p->signer, r, last_seq, last_hash_hex, err, sizeof(err)) != 0) {
        log_error("audit: checkpoint: %s", err);
        return -1;
    }
    return 0;
}

static void checkpoint(struct audit_pipeline *p)
{
    char err[256];
    if (!p->signer)
        return;
    struct audit_record *r = malloc(sizeof(*r));
    if (!r)
        return;
    audit_record_init(r, audit_wall_ms(), NULL);
    int rc = audit_journal_append_built(p->j, r, checkpoint_fill, p, err, sizeof(err));
    if (rc == 0) {
        p->last_checkpoint_seq = r->seq;
        atomic_fetch_add(&p->checkpoints, 1);
    } else if (rc < 0) {
        log_journal_error(p, "cannot write a checkpoint", err);
    }
    free(r);
}

static void iso_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)ms);
}

/* Once the journal has room again, say what the overflow rule did. */
static void overflow_report(struct audit_pipeline *p)
{
    if (audit_journal_full(p->j))
        return;
    pthread_mutex_lock(&p->omu);
    uint64_t dropped = p->drop_pending, refused = p->refuse_pending;
    int64_t first = p->overflow_first_ms, last = p->overflow_last_ms;
    p->drop_pending = p->refuse_pending = 0;
    pthread_mutex_unlock(&p->omu);
    if (!dropped && !refused)
        return;
    struct audit_record *r = malloc(sizeof(*r));
    if (!r)
        return;
    char detail[256], a[32], b[32], n[24];
    iso_time(first, a);
    iso_time(last, b);
    if (dropped) {
        snprintf(detail, sizeof(detail),
                 "%llu audit record(s) dropped between %s and %s: the audit journal was full "
                 "(overflow = drop)",
                 (unsigned long long)dropped, a, b);
        fill_event(r, "audit_records_dropped", false, detail);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)dropped);
        audit_record_add_param(r, "count", 5, n, strlen(n));
    } else {
        snprintf(detail, sizeof(detail),
                 "%llu request(s) refused with 503 between %s and %s: the audit journal was "
                 "full (overflow = deny)",
                 (unsigned long long)refused, a, b);
        fill_event(r, "audit_requests_refused", false, detail);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)refused);
        audit_record_add_param(r, "count", 5, n, strlen(n));
    }
    audit_record_add_param(r, "first", 5, a, strlen(a));
    audit_record_add_param(r, "last", 4, b, strlen(b));
    log_warn("audit: %s", detail);
    emit_event(p, r);
    free(r);
}

static void timers(struct audit_pipeline *p, bool final)
{
    int64_t now = audit_mono_ms();
    if (p->c.fsync == AUDIT_FSYNC_INTERVAL && (final || now >= p->next_fsync)) {
        if (audit_journal_sync(p->j) != 0)
            log_journal_error(p, "fdatasync of the journal failed", strerror(errno));
        p->next_fsync = now + p->c.fsync_interval_ms;
    }
    if (p->signer && (final || now >= p->next_checkpoint)) {
        checkpoint(p);
        p->next_checkpoint = now + p->c.checkpoint_interval_ms;
    }
    overflow_report(p);
}

static int64_t next_due(const struct audit_pipeline *p)
{
    int64_t due = audit_mono_ms() + IDLE_MAX_MS;
    if (p->c.fsync == AUDIT_FSYNC_INTERVAL && p->next_fsync < due)
        due = p->next_fsync;
    if (p->signer && p->next_checkpoint < due)
        due = p->next_checkpoint;
    return due;
}

static void *pipeline_main(void *arg)
{
    struct audit_pipeline *p = arg;
    bool napped = false;
    for (;;) {
        pthread_mutex_lock(&p->qmu);
        if (p->qcount == 0 && !p->stop) {
            if (!napped) {
                /* Records may still be arriving: look again in a moment; submitters signal
                 * only if the queue reaches half its capacity meanwhile. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += NAP_MS * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                p->napping = true;
                p->signaled = false;
                while (p->qcount < p->qcap / 2 && !p->stop &&
                       pthread_cond_timedwait(&p->qcv, &p->qmu, &ts) != ETIMEDOUT)
                    ;
                p->napping = false;
                pthread_mutex_unlock(&p->qmu);
                napped = true;
                timers(p, false);
                continue;
            }
            int64_t due = next_due(p), now = audit_mono_ms();
            if (due > now) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t wait = due - now;
                ts.tv_sec += wait / 1000;
                ts.tv_nsec += (wait % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                p->idle = true;
                p->signaled = false;
                while (p->qcount == 0 && !p->stop &&
                       pthread_cond_timedwait(&p->qcv, &p->qmu, &ts) != ETIMEDOUT)
                    ;
                p->idle = false;
            }
        }
        size_t k = p->qcount < BATCH_MAX ? p->qcount : BATCH_MAX, head = p->qhead;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->qmu);
        if (k) {
            journal_batch(p, head, k);
            pthread_mutex_lock(&p->qmu);
            p->qhead = (p->qhead + k) % p->qcap;
            p->qcount -= k;
            pthread_cond_broadcast(&p->qdone);
            pthread_mutex_unlock(&p->qmu);
            napped = false;
        }
        timers(p, false);
        if (stop && k == 0)
            break;
    }
    timers(p, true);
    return NULL;
}

/* Wait (bounded) until everything queued before now is journaled. */
static void drain_queue(struct audit_pipeline *p, int64_t timeout_ms)
{
    if (p->c.commit != AUDIT_COMMIT_ASYNC || !p->started)
        return;
    int64_t deadline = audit_mono_ms() + timeout_ms;
    pthread_mutex_lock(&p->qmu);
    while (p->qcount > 0 && audit_mono_ms() < deadline) {
        pthread_cond_signal(&p->qcv);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->qdone, &p->qmu, &ts);
    }
    pthread_mutex_unlock(&p->qmu);
}

void audit_event(struct audit_pipeline *p, const char *action, bool ok, const char *detail)
{
    if (!p || !action)
        return;
    /* Records submitted before the event come before it in the log. */
    drain_queue(p, 2000);
    struct audit_record *r = malloc(sizeof(*r));
    if (!r) {
        log_journal_error(p, "cannot journal an event", "out of memory");
        return;
    }
    fill_event(r, action, ok, detail);
    emit_event(p, r);
    free(r);
}

void audit_pipeline_reopen(struct audit_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsinks; i++)
        audit_sink_reopen(p->sinks[i]);
    audit_journal_kick(p->j);
}

static int add_sink(struct audit_pipeline *p, struct audit_sink *s)
{
    if (!s)
        return -1;
    p->sinks[p->nsinks++] = s;
    return 0;
}

struct audit_pipeline *audit_pipeline_new(const struct audit_conf *conf, char *err, size_t errlen)
{
    char e[512];
    struct audit_pipeline *p = calloc(1, sizeof(*p));
    if (!p) {
        set_err(err, errlen, "out of memory", NULL);
        return NULL;
    }
    p->c = *conf;
    p->c.journal_dir = NULL;
    p->c.checkpoint_key = NULL;
    p->c.files = NULL;
    p->c.syslogs = NULL;
    p->c.redis = NULL;
    p->c.https = NULL;
    pthread_mutex_init(&p->qmu, NULL);
    pthread_mutex_init(&p->omu, NULL);
    pthread_cond_init(&p->qcv, NULL);
    pthread_cond_init(&p->qdone, NULL);
    p->journal_dir = strdup(conf->journal_dir ? conf->journal_dir : "");
    p->product_version = strdup(conf->product_version ? conf->product_version : "");
    p->qcap = (size_t)(conf->queue_size > 0 ? conf->queue_size : 256);
    size_t nsinks = conf->nfiles + conf->nsyslogs + conf->nredis + conf->nhttps;
    p->sinks = calloc(nsinks + 1, sizeof(*p->sinks));
    if (!p->journal_dir || !p->product_version || !p->sinks) {
        set_err(err, errlen, "out of memory", NULL);
        goto fail;
    }
    if (conf->commit == AUDIT_COMMIT_ASYNC && !(p->ring = calloc(p->qcap, sizeof(*p->ring)))) {
        set_err(err, errlen, "out of memory for the audit queue", NULL);
        goto fail;
    }
    if (pthread_key_create(&p->body_key, body_free) != 0) {
        set_err(err, errlen, "cannot create a thread key", NULL);
        goto fail;
    }
    p->key_ok = true;
    if (conf->checkpoint_key) {
        p->signer = audit_signer_new(conf->checkpoint_key, e, sizeof(e));
        if (!p->signer) {
            set_err(err, errlen, "checkpoint_key", e);
            goto fail;
        }
    }
    /* Segments at most an eighth of the spool, so the bound is kept closely. */
    int64_t seg = conf->segment_size;
    if (seg > conf->spool_max / 8)
        seg = conf->spool_max / 8;
    if (seg < 16384)
        seg = 16384;
    struct audit_journal_opts jo = {.dir = p->journal_dir,
                                    .segment_size = seg,
                                    .fsync = conf->fsync,
                                    .spool_max = conf->spool_max};
    p->j = audit_journal_open(&jo, e, sizeof(e));
    if (!p->j) {
        set_err(err, errlen, "audit journal", e);
        goto fail;
    }
    const char *v = p->product_version, *d = p->journal_dir;
    for (size_t i = 0; i < conf->nfiles; i++)
        if (add_sink(p, audit_file_sink_new(&conf->files[i], v, p->j, d, e, sizeof(e))) != 0)
            goto sink_fail;
    for (size_t i = 0; i < conf->nsyslogs; i++)
        if (add_sink(p, audit_syslog_sink_new(&conf->syslogs[i], v, p->j, d, e, sizeof(e))) != 0)
            goto sink_fail;
    for (size_t i = 0; i < conf->nredis; i++)
        if (add_sink(p, audit_redis_sink_new(&conf->redis[i], v, p->j, d, e, sizeof(e))) != 0)
            goto sink_fail;
    for (size_t i = 0; i < conf->nhttps; i++)
        if (add_sink(p, audit_http_sink_new(&conf->https[i], v, p->j, d, e, sizeof(e))) != 0)
            goto sink_fail;
    audit_journal_prune(p->j);
    return p;
sink_fail:
    set_err(err, errlen, "audit sink", e);
fail:
    audit_pipeline_free(p);
    return NULL;
}

int audit_pipeline_start(struct audit_pipeline *p, char *err, size_t errlen)
{
    int64_t now = audit_mono_ms();
    p->next_fsync = now + p->c.fsync_interval_ms;
    p->next_checkpoint = now + p->c.checkpoint_interval_ms;
    if (pthread_create(&p->thread, NULL, pipeline_main, p) != 0) {
        set_err(err, errlen, "cannot start the audit pipeline thread", NULL);
        return -1;
    }
    p->started = true;
    for (size_t i = 0; i < p->nsinks; i++)
        if (audit_sink_start(p->sinks[i]) != 0) {
            set_err(err, errlen, "cannot start an audit sink thread", NULL);
            return -1;
        }
    struct audit_journal_stats st;
    audit_journal_stats(p->j, &st);
    log_info("audit: journal %s (instance %s, head seq %llu, %llu bytes spooled), commit %s, "
             "overflow %s, %zu sink(s)%s",
             p->journal_dir, audit_journal_instance(p->j), (unsigned long long)st.head_seq,
             (unsigned long long)st.spool_bytes,
             p->c.commit == AUDIT_COMMIT_SYNC ? "sync" : "async",
             p->c.overflow == AUDIT_OVERFLOW_DENY ? "deny" : "drop", p->nsinks,
             p->signer ? ", signed checkpoints" : ", no checkpoint_key: checkpoints off");
    return 0;
}

void audit_pipeline_stop(struct audit_pipeline *p, int64_t deadline_ms)
{
    if (!p || !p->started)
        return;
    int64_t deadline = audit_mono_ms() + deadline_ms;
    pthread_mutex_lock(&p->qmu);
    p->stop = true;
    pthread_cond_signal(&p->qcv);
    pthread_mutex_unlock(&p->qmu);
    pthread_join(p->thread, NULL);
    p->started = false;
    uint64_t head = audit_journal_head_seq(p->j);
    for (size_t i = 0; i < p->nsinks; i++)
        audit_sink_request_stop(p->sinks[i], head, deadline);
    audit_journal_kick(p->j);
    for (size_t i = 0; i < p->nsinks; i++) {
        struct audit_sink_stats st;
        audit_sink_join(p->sinks[i]);
        audit_sink_stats(p->sinks[i], &st);
        if (st.confirmed_seq < head)
            log_warn("audit sink %s (%s): %llu record(s) not delivered before the shutdown "
                     "deadline; kept in the journal for the next start",
                     st.name, st.kind, (unsigned long long)(head - st.confirmed_seq));
    }
}

void audit_pipeline_free(struct audit_pipeline *p)
{
    if (!p)
        return;
    audit_pipeline_stop(p, 0);
    for (size_t i = 0; i < p->nsinks; i++)
        audit_sink_free(p->sinks[i]);
    free(p->sinks);
    audit_journal_free(p->j);
    audit_signer_free(p->signer);
    if (p->key_ok) {
        free(pthread_getspecific(p->body_key));
        pthread_key_delete(p->body_key);
    }
    pthread_mutex_destroy(&p->qmu);
    pthread_mutex_destroy(&p->omu);
    pthread_cond_destroy(&p->qcv);
    pthread_cond_destroy(&p->qdone);
    free(p->ring);
    free(p->bodies);
    free(p->journal_dir);
    free(p->product_version);
    free(p);
}

bool audit_pipeline_sinks_up(struct audit_pipeline *p)
{
    for (size_t i = 0; p && i < p->nsinks; i++) {
        struct audit_sink_stats st;
        audit_sink_stats(p->sinks[i], &st);
        if (!st.up && st.failures > 0)
            return false;
    }
    return true;
}

size_t audit_pipeline_metrics(struct audit_pipeline *p, char *buf, size_t cap)
{
    size_t n = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                                  \
    } while (0)
#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))
    struct audit_journal_stats js;
    audit_journal_stats(p->j, &js);
    pthread_mutex_lock(&p->qmu);
    size_t depth = p->qcount;
    pthread_mutex_unlock(&p->qmu);
    OUT("# HELP warden_audit_records_total Audit records journaled by this process.\n"
        "# TYPE warden_audit_records_total counter\nwarden_audit_records_total %llu\n",
        LOAD(p->submitted));
    OUT("# HELP warden_audit_dropped_total Audit records dropped (overflow = drop, or lost at "
        "shutdown).\n# TYPE warden_audit_dropped_total counter\nwarden_audit_dropped_total %llu\n",
        LOAD(p->dropped));
    OUT("# HELP warden_audit_refused_total Requests refused because the audit journal was full "
        "(overflow = deny).\n# TYPE warden_audit_refused_total counter\n"
        "warden_audit_refused_total %llu\n",
        LOAD(p->refused));
    OUT("# HELP warden_audit_queue_depth Records queued for the journal (commit = async).\n"
        "# TYPE warden_audit_queue_depth gauge\nwarden_audit_queue_depth %zu\n"
        "# HELP warden_audit_queue_max_depth Highest queue depth since start.\n"
        "# TYPE warden_audit_queue_max_depth gauge\nwarden_audit_queue_max_depth %llu\n"
        "# HELP warden_audit_queue_capacity Queue capacity in records.\n"
        "# TYPE warden_audit_queue_capacity gauge\nwarden_audit_queue_capacity %zu\n"
        "# HELP warden_audit_queue_full_total Records journaled on the request thread because "
        "the queue was full.\n# TYPE warden_audit_queue_full_total counter\n"
        "warden_audit_queue_full_total %llu\n",
        depth, LOAD(p->queue_hwm), p->c.commit == AUDIT_COMMIT_ASYNC ? p->qcap : (size_t)0,
        LOAD(p->queue_full));
    OUT("# HELP warden_audit_journal_head_seq Sequence number of the newest journaled record.\n"
        "# TYPE warden_audit_journal_head_seq gauge\nwarden_audit_journal_head_seq %llu\n",
        (unsigned long long)js.head_seq);
    OUT("# HELP warden_audit_spool_bytes Journal bytes retained for sinks that are behind.\n"
        "# TYPE warden_audit_spool_bytes gauge\nwarden_audit_spool_bytes %llu\n"
        "# HELP warden_audit_spool_max_bytes The spool bound (spool_max).\n"
        "# TYPE warden_audit_spool_max_bytes gauge\nwarden_audit_spool_max_bytes %lld\n"
        "# HELP warden_audit_spool_full Whether the spool is full (the overflow rule applies).\n"
        "# TYPE warden_audit_spool_full gauge\nwarden_audit_spool_full %d\n"
        "# HELP warden_audit_journal_segments Journal segment files on disk.\n"
        "# TYPE warden_audit_journal_segments gauge\nwarden_audit_journal_segments %llu\n",
        (unsigned long long)js.spool_bytes, (long long)p->c.spool_max,
        audit_journal_full(p->j) ? 1 : 0, (unsigned long long)js.segments);
    OUT("# HELP warden_audit_journal_errors_total Journal write or sync failures.\n"
        "# TYPE warden_audit_journal_errors_total counter\n"
        "warden_audit_journal_errors_total %llu\n"
        "# HELP warden_audit_checkpoints_total Signed checkpoints written.\n"
        "# TYPE warden_audit_checkpoints_total counter\nwarden_audit_checkpoints_total %llu\n",
        LOAD(p->journal_errors), LOAD(p->checkpoints));
    static const char *const names[] = {"up",
                                        "delivered_total",
                                        "failures_total",
                                        "skipped_total",
                                        "backlog_records",
                                        "backlog_bytes",
                                        "confirmed_seq"};
    static const char *const help[] = {
        "Whether the sink's last delivery attempt succeeded.",
        "Records confirmed delivered since start.",
        "Failed delivery attempts (each is retried).",
        "Records that could not be read from the journal or rendered.",
        "Records waiting for the sink in the journal.",
        "Journal bytes waiting for the sink.",
        "Sequence number of the last record the sink confirmed."};
    for (size_t m = 0; m < sizeof(names) / sizeof(names[0]); m++) {
        OUT("# HELP warden_audit_sink_%s %s\n# TYPE warden_audit_sink_%s %s\n", names[m], help[m],
            names[m], strstr(names[m], "_total") ? "counter" : "gauge");
        for (size_t i = 0; i < p->nsinks; i++) {
            struct audit_sink_stats st;
            audit_sink_stats(p->sinks[i], &st);
            unsigned long long v[] = {st.up ? 1 : 0,   st.delivered,       st.failures,
                                      st.skipped,      st.backlog_records, st.backlog_bytes,
                                      st.confirmed_seq};
            OUT("warden_audit_sink_%s{sink=\"%s\",kind=\"%s\"} %llu\n", names[m], st.name, st.kind,
                v[m]);
        }
    }
#undef LOAD
#undef OUT
    return n < cap ? n : cap;
}
