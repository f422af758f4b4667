/*
 * audit/sink: the delivery engine shared by every sink kind. Each configured sink gets one
 * thread that reads the journal through its own reader (journal.h), renders records in the
 * sink's format into a batch, hands the batch to the sink's transport and advances its
 * delivery cursor (cursor.h) once the records are confirmed:
 *   - file, Redis, HTTP: confirmed when the write / XADD replies / 2xx answer succeed;
 *   - syslog (no application acknowledgement): confirmed when the peer's TCP stack has
 *     acknowledged the bytes, the connection is still up and confirm_delay has passed; a
 *     closed or reset connection replays everything not yet confirmed. At stop, a graceful
 *     close (our FIN answered by the peer's) confirms the rest.
 * A failure rewinds the reader to the confirmed position and retries with exponential
 * back-off (retry_min doubling to retry_max, +-20% jitter); meanwhile records accumulate in
 * the journal, in order. Delivery is at least once: a record may arrive twice after a
 * failure or restart, never out of order within one delivery attempt; consumers
 * de-duplicate by sequence number.
 *
 * A sink kind supplies struct audit_sink_ops; the engine owns the thread, the reader, the
 * batch and the cursor. Batch helpers are pure. The sink object is created and stopped by
 * the pipeline (main thread); its counters are read by the admin thread.
 */
#ifndef WARDEN_AUDIT_SINK_H
#define WARDEN_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit_conf.h"
#include "audit/record.h"

struct audit_journal;

/* Rendered records awaiting one delivery. */
struct audit_batch {
    char *buf;
    size_t len, cap;
    size_t n;      /* records */
    size_t *ends;  /* end offset in buf of each record */
    uint64_t *seq; /* sequence number of each record */
    size_t items_cap;
    size_t mark; /* start of the record being rendered */
};

void audit_batch_init(struct audit_batch *b);
void audit_batch_deinit(struct audit_batch *b);
void audit_batch_reset(struct audit_batch *b);
/* Room for more bytes after len. 0 or -1. */
int audit_batch_reserve(struct audit_batch *b, size_t more);
/* Append bytes to the record being rendered. 0 or -1. */
int audit_batch_add(struct audit_batch *b, const void *p, size_t n);
/* The bytes appended since the last commit form record seq. 0 or -1. */
int audit_batch_commit(struct audit_batch *b, uint64_t seq);
/* Drop the bytes appended since the last commit. */
void audit_batch_rollback(struct audit_batch *b);
/* Record i's bytes. */
const char *audit_batch_item(const struct audit_batch *b, size_t i, size_t *len);

/* Append a journal line to b as fmt (enum audit_out_format): native JSON as is, or OCSF
 * (parsed with audit_parse_json into scratch, then rendered). Appends no newline. 0 or -1. */
int audit_render_payload(int fmt, const char *product_version, const char *line, size_t len,
                         struct audit_record *scratch, struct audit_batch *b, char *err,
                         size_t errlen);

struct audit_sink_ops {
    const char *kind; /* "file", "syslog", "redis", "http" */
    /* Append one journal line, rendered, to b (then committed by the engine). -1: the record
     * cannot be rendered (logged and skipped). */
    int (*render)(void *impl, const char *line, size_t len, struct audit_batch *b, char *err,
                  size_t errlen);
    int (*connect)(void *impl, char *err, size_t errlen);
    /* Deliver every record of b. 0 delivered (or handed to the stream for acked sinks). */
    int (*send)(void *impl, const struct audit_batch *b, char *err, size_t errlen);
    /* Stream sinks only (NULL otherwise): bytes written so far, bytes acknowledged by the
     * peer and whether the connection is still up; graceful close at stop. */
    uint64_t (*written)(void *impl);
    uint64_t (*acked)(void *impl, bool *alive);
    int (*finish)(void *impl, int timeout_ms);
    void (*disconnect)(void *impl);
    void (*reopen)(void *impl); /* NULL when the sink has nothing to reopen */
    void (*free)(void *impl);
};

struct audit_sink_stats {
    const char *name;
    const char *kind;
    uint64_t delivered; /* records confirmed since start */
    uint64_t failures;  /* failed delivery attempts */
    uint64_t skipped;   /* records that could not be read or rendered */
    uint64_t backlog_records, backlog_bytes;
    uint64_t confirmed_seq;
    bool up;
};

struct audit_sink;

/* A sink over journal j. resume_after: the sink's own view of what it already has (file
 * sinks read it from their file; 0 otherwise); delivery starts after the larger of it and
 * the stored cursor. ops/impl are owned by the sink from here on (freed on failure too). */
struct audit_sink *audit_sink_new(const char *name, const struct audit_sink_ops *ops, void *impl,
                                  const struct audit_delivery_conf *d, int64_t confirm_delay_ms,
                                  struct audit_journal *j, const char *journal_dir,
                                  uint64_t resume_after, char *err, size_t errlen);
int audit_sink_start(struct audit_sink *s);
/* Ask the thread to deliver up to seq drain_to and stop by deadline (CLOCK_MONOTONIC ms). */
void audit_sink_request_stop(struct audit_sink *s, uint64_t drain_to, int64_t deadline_ms);
void audit_sink_join(struct audit_sink *s);
void audit_sink_free(struct audit_sink *s);
/* Ask the sink to reopen its output (file sinks; any thread). */
void audit_sink_reopen(struct audit_sink *s);
void audit_sink_stats(struct audit_sink *s, struct audit_sink_stats *st);

/* Back-off after `failures` consecutive failures: min * 2^(failures-1) capped at max, then
 * scaled by jitter in [0.8, 1.2] (jitter01 in [0,1)). Pure. */
int64_t audit_backoff_ms(int64_t min_ms, int64_t max_ms, unsigned failures, double jitter01);

/* CLOCK_MONOTONIC and wall clock in milliseconds. */
int64_t audit_mono_ms(void);
int64_t audit_wall_ms(void);

#endif
