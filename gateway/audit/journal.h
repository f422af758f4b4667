/*
 * audit/journal: the local, append-only audit journal, which is both the durability point and
 * the spool. Every sealed record is appended here first, as its native JSON line (chain.h),
 * to segment files  <dir>/journal-<first seq, 20 digits>.jsonl ; each sink then reads the
 * journal through its own reader and delivery cursor, so a slow or dead sink simply falls
 * behind (its records stay on disk, in order) and catches up when it returns. A segment is
 * deleted once every sink has confirmed every record in it; the bytes still retained are
 * the spool, bounded by spool_max.
 *
 * Start-up (audit_journal_open): takes an exclusive flock on <dir>/lock (one process per
 * journal), reads or creates <dir>/instance (4 random bytes that make event ids unique),
 * lists the segments, removes a torn last line (a write cut by a crash: no newline), checks
 * the last record's own hash and continues the chain after it (sequence numbers and
 * prev_hash carry on across restarts, so `wardenctl audit verify` accepts a log spanning
 * them). A last record whose hash does not match refuses the start (fail closed).
 *
 * Durability: audit_journal_append returns after write(2): the line is in the kernel and
 * survives the process being killed. fsync policy (for power loss): always = fdatasync
 * before returning (concurrent appenders share one fdatasync: group commit); interval =
 * audit_journal_sync called periodically by the pipeline thread; never = left to the
 * kernel. Rotated segments are fdatasync'ed and the directory fsync'ed unless never.
 *
 * Threads: appends from any thread (one mutex: seal + write of a few microseconds); each
 * reader belongs to one sink thread and reads files with pread outside the mutex, up to the
 * committed head only.
 */
#ifndef WARDEN_AUDIT_JOURNAL_H
#define WARDEN_AUDIT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/record.h"

struct audit_journal;
struct audit_reader;

struct audit_journal_opts {
    const char *dir;
    int64_t segment_size; /* rotate the active segment beyond this many bytes */
    int fsync;            /* enum audit_fsync */
    int64_t spool_max;    /* audit_journal_full() beyond this many retained bytes */
};

struct audit_journal *audit_journal_open(const struct audit_journal_opts *o, char *err,
                                         size_t errlen);
void audit_journal_free(struct audit_journal *j);

/* One record to append: its time and pre-rendered body (format.h audit_format_json_body);
 * seal receives what sealing assigned. */
struct audit_jentry {
    int64_t time_ms;
    const char *body;
    size_t blen;
    struct audit_seal seal;
};

/* Seal and append n records with one write(2) per segment touched. All or nothing: on error
 * the chain and the file are left as before. Returns 0 or -1. */
int audit_journal_append(struct audit_journal *j, struct audit_jentry *e, size_t n, char *err,
                         size_t errlen);

/* Append one record built under the journal lock by fill(r, last_seq, last_hash_hex, arg),
 * for records that refer to the chain head (signed checkpoints). fill returns 0 to append,
 * 1 to skip (nothing appended, returns 1), -1 on error. r is caller storage (initialised by
 * the caller). Returns 0 appended, 1 skipped, -1 error. */
typedef int (*audit_journal_fill_fn)(struct audit_record *r, uint64_t last_seq,
                                     const char *last_hash_hex, void *arg);
int audit_journal_append_built(struct audit_journal *j, struct audit_record *r,
                               audit_journal_fill_fn fill, void *arg, char *err, size_t errlen);

/* fdatasync the active segment up to the current head (no-op if already synced). 0 or -1. */
int audit_journal_sync(struct audit_journal *j);

struct audit_journal_stats {
    uint64_t head_seq;    /* last sequence number appended (0: none yet) */
    uint64_t spool_bytes; /* bytes retained on disk (all segments) */
    uint64_t segments;
    uint64_t appended; /* records appended by this process */
    uint64_t write_errors;
};
void audit_journal_stats(struct audit_journal *j, struct audit_journal_stats *st);

/* Whether the retained bytes reached spool_max (lock-free). */
bool audit_journal_full(struct audit_journal *j);

/* Delete segments no reader needs; call once every reader exists (the pipeline does, after
 * creating its sinks). */
void audit_journal_prune(struct audit_journal *j);

/* The last sequence number appended (0 when the journal is empty). */
uint64_t audit_journal_head_seq(struct audit_journal *j);

/* The journal's 4 instance bytes, as 8 hex digits. */
const char *audit_journal_instance(const struct audit_journal *j);

/* Wait until the head moves past seq or timeout_ms passes (0: do not wait). Returns true if
 * records after seq exist. Appenders wake waiters without a system call unless one sleeps. */
bool audit_journal_wait(struct audit_journal *j, uint64_t seq, int64_t timeout_ms);
/* Wake every waiter now (stop, reopen). */
void audit_journal_kick(struct audit_journal *j);

/* A delivery position: the next record to read. */
struct audit_jpos {
    uint64_t seg;      /* first seq of the segment (its name) */
    uint64_t off;      /* byte offset in that segment */
    uint64_t next_seq; /* sequence number of the record at that position */
};

/* A reader starting at the first record after after_seq (records older than the oldest
 * retained one are gone: it starts at the oldest and *lost says how many were missing;
 * after_seq beyond the head, as after the journal was reset, starts at the head). name is
 * for messages. */
struct audit_reader *audit_reader_new(struct audit_journal *j, const char *name, uint64_t after_seq,
                                      uint64_t *lost, char *err, size_t errlen);
void audit_reader_free(struct audit_reader *rd);

/* The next complete line (without its newline), valid until the next call. Returns 1 with
 * *line, *len and *seq; 0 when the reader is at the head; -1 on an I/O error or a damaged
 * line (err says which; the reader then skips past it). */
int audit_reader_next(struct audit_reader *rd, const char **line, size_t *len, uint64_t *seq,
                      char *err, size_t errlen);

/* Position of the next unread line; seek back to one (a failed delivery is retried from its
 * confirmed position). */
struct audit_jpos audit_reader_tell(const struct audit_reader *rd);
int audit_reader_seek(struct audit_reader *rd, const struct audit_jpos *pos, char *err,
                      size_t errlen);

/* Everything before pos has been delivered: segments no reader needs any more are deleted. */
void audit_reader_confirm(struct audit_reader *rd, const struct audit_jpos *pos);

/* Bytes and records between the reader's confirmed position and the head. */
void audit_reader_backlog(struct audit_reader *rd, uint64_t *bytes, uint64_t *records);

/* Find the last complete line of a file's tail (for sinks that resume from their own file).
 * Reads at most the last max bytes; returns 1 with a malloc'ed copy in *line, 0 if the file
 * is empty or has no complete line, -1 on error. *torn_at receives the length of the file
 * up to the end of its last complete line (a crash may have left a partial line after it). */
int audit_file_last_line(int fd, size_t max, char **line, size_t *len, uint64_t *torn_at);

#endif
