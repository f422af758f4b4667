/*
 * files: small file helpers for the authentication module's control thread and wardenctl:
 * bounded whole-file reads, mtime probes, and atomic replacement (write a temporary file in
 * the same directory, fsync, rename). Never called by workers.
 */
#ifndef WARDEN_AUTH_FILES_H
#define WARDEN_AUTH_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Read the whole file (at most max bytes) into a NUL-terminated malloc'ed buffer. Returns 0,
 * or -1 with a reason. ENOENT is reported as -2 so callers can treat "absent" specially. */
int auth_file_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* Modification stamp (ns since epoch, plus size folded in), 0 when the file does not exist. */
int64_t auth_file_stamp(const char *path);

/* Replace path atomically with data (mode 0600). Returns 0 or -1. */
int auth_file_replace(const char *path, const char *data, size_t len, char *err, size_t errlen);

/* Append one line (adds '\n') with O_APPEND, creating the file with mode 0600. */
int auth_file_append_line(const char *path, const char *line, char *err, size_t errlen);

/* Read a file holding one HTTP header value (e.g. "Basic dXNlcjpwYXNz", the upstream
 * service credential): one line, trailing CR/LF and blanks dropped, non-empty, at most 8 KiB,
 * no control characters. *out is malloc'ed (cleanse before freeing). Returns 0 or -1. */
int auth_header_value_load(const char *path, char **out, size_t *len, char *err, size_t errlen);

#endif
