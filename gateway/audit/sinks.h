/*
 * audit/sinks: constructors of the four sink kinds (each in its own sink_<kind>.c) and the
 * pure pieces of their protocols that the unit tests exercise directly.
 *
 *   file    JSON lines or OCSF, one record per line, appended with write(2); rotated by size
 *           and by time (renamed to <path>.<UTC YYYYmmddTHHMMSS.mmmZ>[-nnn], oldest beyond
 *           max_files deleted); reopened on request (SIGUSR1 / admin reload) for external
 *           rotation; fsync per the sink's policy. It resumes from its own last line after a
 *           restart, so the file holds each record exactly once and `wardenctl audit verify`
 *           accepts it across restarts.
 *   syslog  RFC 5424, octet-counted, over TCP or TLS (syslog.h).
 *   redis   XADD <key> MAXLEN ~ <maxlen> * seq <seq> event_id <id> record <payload>,
 *           pipelined per batch; confirmed by the replies.
 *   http    POST <path> with a batch of records as JSON lines (application/x-ndjson) over
 *           http:// or https://, keep-alive; confirmed by a 2xx answer. Headers
 *           X-Warden-Audit-First-Seq / -Last-Seq let collectors de-duplicate.
 * Each constructor takes ownership of nothing from the caller; it returns a started-able
 * struct audit_sink, or NULL with err.
 */
#ifndef WARDEN_AUDIT_SINKS_H
#define WARDEN_AUDIT_SINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit_conf.h"

struct audit_sink;
struct audit_journal;

struct audit_sink *audit_file_sink_new(const struct audit_file_conf *c, const char *product_version,
                                       struct audit_journal *j, const char *journal_dir, char *err,
                                       size_t errlen);
struct audit_sink *audit_syslog_sink_new(const struct audit_syslog_conf *c,
                                         const char *product_version, struct audit_journal *j,
                                         const char *journal_dir, char *err, size_t errlen);
struct audit_sink *audit_redis_sink_new(const struct audit_redis_conf *c,
                                        const char *product_version, struct audit_journal *j,
                                        const char *journal_dir, char *err, size_t errlen);
struct audit_sink *audit_http_sink_new(const struct audit_http_conf *c, const char *product_version,
                                       struct audit_journal *j, const char *journal_dir, char *err,
                                       size_t errlen);

/* The sequence number of a file sink's line (native JSON "seq", or OCSF
 * metadata.sequence). 0 if the line is neither. Pure. */
uint64_t audit_file_line_seq(const char *line, size_t len);

/* Name for a rotated file: <path>.<YYYYmmddTHHMMSS.mmmZ> of wall_ms, plus "-<nnn>" when
 * 0 < n <= 999 (a second rotation within the same millisecond). Fixed widths: the names
 * sort in rotation order. */
int audit_rotated_name(const char *path, int64_t wall_ms, unsigned n, char *out, size_t cap);

/* Whether name (a directory entry) is a rotated file of base (the path's last component). */
bool audit_is_rotated_name(const char *base, const char *name);

/* The HTTP request head for a batch (pure). Returns its length, or 0 if cap is too small. */
size_t audit_http_head(const char *host_header, const char *path, const char *bearer,
                       size_t body_len, uint64_t first_seq, uint64_t last_seq, char *out,
                       size_t cap);

/* Whether buf[0..len) holds a complete HTTP response (head and body). Pure.
 * Returns >0: complete (bytes consumed), *status and *keep_alive set;
 *          0: incomplete (eof: the peer closed; a close-delimited body is then complete);
 *         -1: malformed. */
int audit_http_response(const char *buf, size_t len, bool eof, int *status, bool *keep_alive);

#endif
