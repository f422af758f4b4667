/*
 * log: the daemon's diagnostic log (not the audit trail). One line per event, either plain
 * text ("2026-11-28T15:52:32.123Z info worker 1: message") or a JSON object per line
 * ({"ts":...,"level":...,"msg":...}). Thread-safe: every line is formatted into a local buffer
 * and written with one write(2) to stderr, so lines from workers never interleave.
 * Configuration is set once at start-up, before threads exist.
 */
#ifndef WARDEN_UTIL_LOG_H
#define WARDEN_UTIL_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_TEXT = 0, LOG_JSON };

void log_setup(enum log_level min, enum log_format fmt);
bool log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) (log_enabled(LOG_DEBUG) ? log_msg(LOG_DEBUG, __VA_ARGS__) : (void)0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
