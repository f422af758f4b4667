/*
 * metrics: process-wide counters for /metrics, updated lock-free by every worker with relaxed
 * atomics (a few increments per request) and read by the admin thread. The latency histogram
 * has fixed buckets so updating it is one comparison scan and two increments.
 */
#ifndef WARDEN_ADMIN_METRICS_H
#define WARDEN_ADMIN_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_LATENCY_BUCKETS 14

struct metrics {
    atomic_uint_fast64_t requests_by_class[6]; /* index = status / 100; 0 = no response */
    atomic_int_fast64_t active_connections;
    atomic_uint_fast64_t connections_total;
    atomic_uint_fast64_t upstream_errors;
    atomic_uint_fast64_t upstream_connects;
    atomic_uint_fast64_t framing_rejects;
    atomic_uint_fast64_t timeouts;
    atomic_uint_fast64_t tls_handshake_errors;
    atomic_uint_fast64_t latency_buckets[METRICS_LATENCY_BUCKETS + 1]; /* last = +Inf */
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t latency_count;
    /* authorisation (net/enforce) */
    atomic_uint_fast64_t lookups; /* Warden's own requests to MLflow (look-ups, pages) */
    atomic_uint_fast64_t lookup_cache_hits;
    atomic_uint_fast64_t authz_allowed;
    atomic_uint_fast64_t authz_denied;
    atomic_uint_fast64_t filtered_items_dropped;
};

extern struct metrics g_metrics;

/* Account one finished request: its status (0 if none was sent) and latency. */
void metrics_request_done(int status, uint64_t latency_us);

/* Render Prometheus text exposition format into buf; returns bytes written (truncated at cap). */
size_t metrics_render(char *buf, size_t cap);

/* ---- audit pipeline (gateway/audit/pipeline.c) ----------------------------------------
 * The pipeline whose figures metrics_render appends (queue depth, journal, spool, overflow,
 * per-sink delivery; see audit_pipeline_metrics). Set by main once the pipeline runs, cleared
 * (NULL) before it is freed. */
struct audit_pipeline;
void metrics_set_audit(struct audit_pipeline *p);

#endif
