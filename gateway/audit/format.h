/*
 * audit/format: renders a struct audit_record (record.h) as one line of text in a caller
 * buffer, without allocating. Two renderings:
 *
 * Native JSON (audit_format_json), schema version AUDIT_SCHEMA_VERSION. Members always
 * appear, in this order (empty text is "", absent numbers are 0):
 *   v                 schema version (1)
 *   seq               per-instance sequence number (from 1)
 *   event_id          UUIDv7 text (see chain.h)
 *   time              request start, UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"
 *   request_id        the id returned to the client
 *   service, action   "mlflow" and the MLflow RPC name
 *   method, path      HTTP method and path (no query)
 *   status            status sent to the client; upstream_status MLflow's (0: not forwarded)
 *   subject           {user, groups[], groups_omitted, auth_method, token_id}
 *   actors            [{kind, id}] on-behalf-of chain, outermost first
 *   source            {ip, port, user_agent}   (user_agent is client-supplied, untrusted)
 *   resource          {kind, name, ids{key: value}}
 *   decision          {result: "allow"|"deny"|"none", privilege, grant, policy_version, reason}
 *   params            {key: value} allow-listed, redacted ("[REDACTED]"), size-capped
 *   params_redacted   [keys whose value was redacted]
 *   params_truncated  [keys whose key or value was cut]
 *   params_dropped    parameters not recorded (caps, duplicates)
 *   truncated         true if any field was cut or dropped
 *   redacted          true if any text field other than a parameter looked like a
 *                     credential and was replaced by "[REDACTED]"
 *   latency_us, bytes_in, bytes_out
 *   prev_hash, hash   64 lowercase hex digits each; hash is always the last member
 * Strings are JSON-escaped for any input bytes: '"', '\\' and controls escaped, DEL as
 * \u007f, valid UTF-8 copied, every byte of an invalid sequence written as \ufffd. No
 * whitespace between tokens and no trailing newline (audit_chain_seal adds it).
 *
 * OCSF API Activity (audit_format_ocsf): class_uid 6003, category_uid 6, activity_id from the
 * action name when it starts with a CRUD verb, else from the method (POST create, GET/HEAD
 * read, PUT/PATCH update, DELETE delete, other 99), type_uid = 600300 + activity_id. Only
 * attribute names of ocsf-schema 1.9.0-dev (a5cfc68) are used; Warden-specific fields (seq,
 * hashes, actor chain, auth method, parameters, bytes, truncation) go under "unmapped".
 *
 * Both return 0, or -1 when the buffer is too small (buf then holds a partial line; callers
 * must not emit it). Pure; any thread.
 */
#ifndef WARDEN_AUDIT_FORMAT_H
#define WARDEN_AUDIT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "audit/record.h"

/* A buffer this size holds any record in either rendering (every byte of every field
 * escaped as \ufffd is the worst case, 6 bytes per byte). */
#define AUDIT_LINE_MAX (6 * sizeof(struct audit_record) + 4096)

int audit_format_json(const struct audit_record *r, char *buf, size_t cap, size_t *out_len);

/* The part of the native JSON line that sealing does not change: every member from "time"
 * through "bytes_out", each preceded by its comma (",\"time\":...,\"bytes_out\":N"). The
 * request path renders it outside any lock; audit_chain_seal_body adds the rest. */
int audit_format_json_body(const struct audit_record *r, char *buf, size_t cap, size_t *out_len);

int audit_format_ocsf(const struct audit_record *r, const char *product_version, char *buf,
                      size_t cap, size_t *out_len);

/* The inverse of audit_format_json: fill r from a native JSON line (no newline), for sinks
 * that render another format from the journal. Strict: every member of the schema, in any
 * order, no other member, no duplicate. Text comes back as the line's decoded JSON strings
 * (a \ufffd written for invalid input stays U+FFFD), so formatting the result again yields
 * an equivalent line; a string longer than its field (three bytes per U+FFFD can exceed it)
 * is cut at a character boundary and the record marked truncated. Pure (jansson).
 * Returns 0, or -1 with the reason in err. */
int audit_parse_json(const char *line, size_t len, struct audit_record *r, char *err,
                     size_t errlen);

/* OCSF activity_id for a method and action (1 create, 2 read, 3 update, 4 delete, 99 other). */
int audit_ocsf_activity(const char *method, const char *action);

/* Internal writer shared by the two formatters. */
struct audit_writer {
    char *buf;
    size_t cap, len;
    bool over;
};
void audit_w_raw(struct audit_writer *w, const char *s, size_t n);
void audit_w_lit(struct audit_writer *w, const char *s);
void audit_w_str(struct audit_writer *w, const char *s, size_t n); /* quoted, escaped */
void audit_w_u64(struct audit_writer *w, unsigned long long v);
void audit_w_i64(struct audit_writer *w, long long v);
/* The members of the actor chain array: {"kind":...,"id":...},... (brackets not included). */
struct audit_record;
void audit_w_actors(struct audit_writer *w, const struct audit_record *r);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (quoted) */
void audit_w_time(struct audit_writer *w, long long ms);

#endif
