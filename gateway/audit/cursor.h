/*
 * audit/cursor: a sink's delivery cursor, the sequence number of the last record the sink
 * confirmed, kept in <journal dir>/cursor.<sink name> so delivery resumes there after a
 * restart (at least once: a cursor that lags the truth only causes re-delivery). The file
 * holds one fixed-length line, rewritten in place with a single pwrite:
 *   warden-audit-cursor/1 seq=<20 digits> check=<8 hex>\n
 * where check is the start of SHA-256 over the text before " check=". A torn or edited
 * cursor does not decode; the pipeline then replays everything the journal retains.
 * Encoding and decoding are pure; load/store are plain file I/O on the sink's thread.
 */
#ifndef WARDEN_AUDIT_CURSOR_H
#define WARDEN_AUDIT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_CURSOR_LEN 64 /* bytes of an encoded cursor, newline included */

/* Encode seq into out (AUDIT_CURSOR_LEN bytes, not NUL-terminated). */
void audit_cursor_encode(uint64_t seq, char out[AUDIT_CURSOR_LEN]);

/* Decode; 0 with *seq, or -1 (torn, edited or something else). */
int audit_cursor_decode(const char *buf, size_t len, uint64_t *seq);

/* Open (creating) <dir>/cursor.<name> and read it: *found false for a new or undecodable
 * cursor (*seq = 0; *damaged set when it existed but did not decode). Returns the fd for
 * audit_cursor_store, or -1 with err. */
int audit_cursor_open(const char *dir, const char *name, uint64_t *seq, bool *found, bool *damaged,
                      char *err, size_t errlen);

/* Overwrite the cursor with seq (one pwrite). 0 or -1. */
int audit_cursor_store(int fd, uint64_t seq);

#endif
