/*
 * audit/pipeline: the audit pipeline as the rest of Warden sees it. Workers hand it one
 * record per request (audit_submit); it seals the records into the hash chain, appends them
 * to the local journal (journal.h) and delivers them from there to every configured sink
 * (sink.h), each at its own pace; it also writes lifecycle events and signed checkpoints.
 *
 * Commit modes ([audit] commit):
 *   async (default)  audit_submit copies the record into a bounded in-memory queue (a mutex
 *                    and a memcpy; no system call in the common case) and returns; the
 *                    pipeline thread seals and journals the queue in batches within about a
 *                    millisecond. The request path never waits for a disk or a sink. A crash
 *                    loses at most the records still queued.
 *   sync             audit_submit seals the record and writes it to the journal (write(2))
 *                    before returning, on the caller's thread: a request acknowledged after
 *                    audit_submit returned has its record in the kernel, which survives
 *                    kill -9 (and power loss with fsync = always).
 * A burst that fills the async queue is journaled directly on the submitting threads (as in
 * sync mode: a local write, never a sink) and counted, so it costs latency, not records.
 * Overflow ([audit] overflow): the journal also spools for slow sinks and is bounded by
 * spool_max. When it is full:
 *   deny (default)   audit_accepting() turns false and audit_submit returns -1: the caller
 *                    answers 503 and does not forward or acknowledge the request;
 *   drop             the record is dropped and counted; once there is room again a record
 *                    (action "audit_records_dropped") says how many were lost and when.
 * Lifecycle events (audit_event) and checkpoints are always journaled (they may exceed the
 * bound by a few records).
 *
 * Threads: audit_submit, audit_accepting, audit_event: any thread. new/start/stop/free: the
 * main thread. One pipeline thread (queue, fsync interval, checkpoints, overflow reports)
 * and one thread per sink.
 */
#ifndef WARDEN_AUDIT_PIPELINE_H
#define WARDEN_AUDIT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit_conf.h"
#include "audit/record.h"

struct audit_pipeline;

/* Open the journal (recovering the chain), load the checkpoint key, create the sinks. No
 * threads yet. NULL with the reason in err. conf is copied. */
struct audit_pipeline *audit_pipeline_new(const struct audit_conf *conf, char *err, size_t errlen);

/* Start the pipeline thread and the sink threads. 0 or -1. */
int audit_pipeline_start(struct audit_pipeline *p, char *err, size_t errlen);

/* Any thread. Seals (sequence, chain) and delivers r (r may be modified: sequence, hashes).
 * Returns 0; or -1 when the record could not be accepted and the configured overflow rule is
 * `deny` (then the caller answers 503 and the request is NOT forwarded / acknowledged).
 * p == NULL (auditing not configured) accepts everything. */
int audit_submit(struct audit_pipeline *p, struct audit_record *r);

/* Whether new requests may proceed (false in deny mode while the spool is full). */
bool audit_accepting(const struct audit_pipeline *p);

/* Lifecycle events: startup, shutdown, config reload, policy reload (action names such as
 * "startup", "shutdown", "config_reload", "policy_reload"). Journaled synchronously: the
 * record is in the journal when this returns. ok gives status 200 or 500; detail becomes
 * the decision reason. */
void audit_event(struct audit_pipeline *p, const char *action, bool ok, const char *detail);

/* Reopen file sinks (after external rotation): SIGUSR1 and the admin reload. Any thread. */
void audit_pipeline_reopen(struct audit_pipeline *p);

/* Stop: seal and journal everything queued, write a final checkpoint, then let every sink
 * deliver what it has not yet delivered; sinks still behind after deadline_ms (a duration),
 * or failing twice after the stop (a collector that is down), keep their records in the
 * journal for the next start. Joins every thread. */
void audit_pipeline_stop(struct audit_pipeline *p, int64_t deadline_ms);
void audit_pipeline_free(struct audit_pipeline *p);

/* Prometheus text for /metrics (queue, journal, spool, overflow, per-sink delivery).
 * Returns bytes written (truncated at cap). Any thread. */
size_t audit_pipeline_metrics(struct audit_pipeline *p, char *buf, size_t cap);

/* Whether every sink delivered successfully last time it tried (for /readyz). */
bool audit_pipeline_sinks_up(struct audit_pipeline *p);

#endif
