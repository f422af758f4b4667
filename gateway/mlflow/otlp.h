/*
 * otlp: the trace ids of an OTLP/HTTP trace export (POST /v1/traces), as MLflow will name
 * them (mlflow-api.md (c) risk 11: MLflow upserts spans into an existing trace whatever
 * experiment it belongs to, so Warden must know which traces a request touches). Pure: no
 * I/O, clocks or globals; any thread.
 *
 * Protobuf (application/x-protobuf): ExportTraceServiceRequest.resource_spans(1) ->
 * ResourceSpans.scope_spans(2) -> ScopeSpans.spans(2) -> Span.trace_id(1), walked with
 * protobuf's wire rules: unknown fields skipped by wire type, groups refused, a repeated
 * singular field read last-wins as protobuf does; truncated or malformed input refused.
 * JSON (application/json): the OTLP JSON mapping MLflow reads (resourceSpans, scopeSpans,
 * spans, traceId as hex). MLflow converts hex ids only under the camelCase names; a
 * snake_case member (resource_spans, scope_spans, trace_id) would be read by protobuf's JSON
 * parser as base64 instead, so those spellings are refused, as are duplicate keys and ids
 * that are not plain hex.
 *
 * MLflow's id of a span's trace: "tr-" + the trace id bytes read as a big-endian integer,
 * printed as at least 32 lower-case hex digits. Empty trace ids are refused (MLflow refuses
 * the span). Distinct ids are returned, in order of first appearance.
 */
#ifndef WARDEN_MLFLOW_OTLP_H
#define WARDEN_MLFLOW_OTLP_H

#include <stdbool.h>
#include <stddef.h>

#define OTLP_MAX_TRACES 1000
#define OTLP_ID_MAX     (3 + 64 + 1) /* "tr-" + up to 32 id bytes as hex + NUL */
#define OTLP_MAX_DEPTH  64

struct otlp_ids {
    size_t n;
    char id[OTLP_MAX_TRACES][OTLP_ID_MAX];
};

/* Fills *out with the distinct MLflow trace ids of the export in body[0..len). json selects
 * the encoding. Returns 0, or -1 with a client-safe reason in err (malformed, more than
 * OTLP_MAX_TRACES distinct traces, an id longer than 32 bytes). */
int otlp_trace_ids(const char *body, size_t len, bool json, struct otlp_ids *out, char *err,
                   size_t errlen);

#endif
