/*
 * metrics: see metrics.h. Bucket bounds are in microseconds, rendered in seconds as Prometheus
 * expects; buckets are cumulative only at render time.
 */
#include "admin/metrics.h"

#include <stdio.h>

#include "audit/pipeline.h"

static size_t metrics_render_audit(char *buf, size_t cap);

struct metrics g_metrics;

static const uint64_t bucket_us[METRICS_LATENCY_BUCKETS] = {
    100,   250,   500,    1000,   2500,    5000,    10000,
    25000, 50000, 100000, 250000, 1000000, 5000000, 30000000};

void metrics_request_done(int status, uint64_t latency_us)
{
    int cls = status / 100;
    if (cls < 0 || cls > 5)
        cls = 0;
    atomic_fetch_add_explicit(&g_metrics.requests_by_class[cls], 1, memory_order_relaxed);
    size_t i = 0;
    while (i < METRICS_LATENCY_BUCKETS && latency_us > bucket_us[i])
        i++;
    atomic_fetch_add_explicit(&g_metrics.latency_buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_metrics.latency_sum_us, latency_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_metrics.latency_count, 1, memory_order_relaxed);
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

size_t metrics_render(char *buf, size_t cap)
{
    size_t n = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                                  \
    } while (0)
    OUT("# HELP warden_requests_total Requests answered, by status class.\n"
        "# TYPE warden_requests_total counter\n");
    static const char *const cls[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 6; i++)
        OUT("warden_requests_total{class=\"%s\"} %llu\n", cls[i],
            LOAD(g_metrics.requests_by_class[i]));
    OUT("# HELP warden_active_connections Client connections currently open.\n"
        "# TYPE warden_active_connections gauge\n"
        "warden_active_connections %lld\n",
        (long long)atomic_load_explicit(&g_metrics.active_connections, memory_order_relaxed));
    OUT("# HELP warden_connections_total Client connections accepted.\n"
        "# TYPE warden_connections_total counter\nwarden_connections_total %llu\n",
        LOAD(g_metrics.connections_total));
    OUT("# HELP warden_upstream_errors_total Upstream connect, reset and protocol errors.\n"
        "# TYPE warden_upstream_errors_total counter\nwarden_upstream_errors_total %llu\n",
        LOAD(g_metrics.upstream_errors));
    OUT("# HELP warden_upstream_connects_total Upstream connections opened.\n"
        "# TYPE warden_upstream_connects_total counter\nwarden_upstream_connects_total %llu\n",
        LOAD(g_metrics.upstream_connects));
    OUT("# HELP warden_framing_rejects_total Requests refused by the HTTP/1.1 parser.\n"
        "# TYPE warden_framing_rejects_total counter\nwarden_framing_rejects_total %llu\n",
        LOAD(g_metrics.framing_rejects));
    OUT("# HELP warden_timeouts_total Connections ended by a timeout.\n"
        "# TYPE warden_timeouts_total counter\nwarden_timeouts_total %llu\n",
        LOAD(g_metrics.timeouts));
    OUT("# HELP warden_tls_handshake_errors_total Failed TLS handshakes.\n"
        "# TYPE warden_tls_handshake_errors_total counter\n"
        "warden_tls_handshake_errors_total %llu\n",
        LOAD(g_metrics.tls_handshake_errors));
    OUT("# HELP warden_lookups_total Requests Warden made to MLflow itself (look-ups, pages).\n"
        "# TYPE warden_lookups_total counter\n"
        "warden_lookups_total %llu\n"
        "# HELP warden_lookup_cache_hits_total Look-ups answered from the cache.\n"
        "# TYPE warden_lookup_cache_hits_total counter\n"
        "warden_lookup_cache_hits_total %llu\n"
        "# HELP warden_authz_decisions_total Authorisation outcomes of requests.\n"
        "# TYPE warden_authz_decisions_total counter\n"
        "warden_authz_decisions_total{outcome=\"allowed\"} %llu\n"
        "warden_authz_decisions_total{outcome=\"denied\"} %llu\n"
        "# HELP warden_filtered_items_dropped_total List/search items hidden from callers.\n"
        "# TYPE warden_filtered_items_dropped_total counter\n"
        "warden_filtered_items_dropped_total %llu\n",
        LOAD(g_metrics.lookups), LOAD(g_metrics.lookup_cache_hits), LOAD(g_metrics.authz_allowed),
        LOAD(g_metrics.authz_denied), LOAD(g_metrics.filtered_items_dropped));
    OUT("# HELP warden_request_duration_seconds Time from request head to response end.\n"
        "# TYPE warden_request_duration_seconds histogram\n");
    unsigned long long cum = 0;
    for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
        cum += LOAD(g_metrics.latency_buckets[i]);
        OUT("warden_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_us[i] / 1e6, cum);
    }
    cum += LOAD(g_metrics.latency_buckets[METRICS_LATENCY_BUCKETS]);
    OUT("warden_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
    OUT("warden_request_duration_seconds_sum %.6f\n", LOAD(g_metrics.latency_sum_us) / 1e6);
    OUT("warden_request_duration_seconds_count %llu\n", LOAD(g_metrics.latency_count));
#undef OUT
    if (n < cap)
        n += metrics_render_audit(buf + n, cap - n);
    return n < cap ? n : cap;
}

/* ---- audit pipeline ------------------------------------------------------------------ */

static _Atomic(struct audit_pipeline *) audit_source;

void metrics_set_audit(struct audit_pipeline *p)
{
    atomic_store(&audit_source, p);
}

static size_t metrics_render_audit(char *buf, size_t cap)
{
    struct audit_pipeline *p = atomic_load(&audit_source);
    return p ? audit_pipeline_metrics(p, buf, cap) : 0;
}
