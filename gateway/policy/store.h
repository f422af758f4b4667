/*
 * policy store: the daemon's thread-safe holder of the current policy snapshot.
 *
 * Threads. policy_store_reload() and policy_store_check_changed() run on a non-request
 * thread (SIGHUP handler thread, admin endpoint, file-watch timer); they compile off the
 * request path and swap the new snapshot in under a short mutex. Workers take a reference
 * with policy_store_acquire() and keep it for the whole request, so requests in flight
 * finish on the snapshot they started with; the old snapshot is freed when its last
 * reference goes. A failed reload keeps the current snapshot. Each successful swap bumps a
 * generation counter that workers read lock-free (policy_store_generation) to invalidate
 * per-worker decision caches; policy_store_refresh() packages that pattern.
 *
 * Logging: every reload logs one line (version, files, grants, milliseconds) or, on failure,
 * one line per error; results are also counted in policy_store_stats.
 */
#ifndef WARDEN_POLICY_STORE_H
#define WARDEN_POLICY_STORE_H

#include "policy/policy.h"

struct policy_store;

struct policy_store_stats {
    uint64_t generation;     /* successful swaps so far (0 before the first load) */
    uint64_t reloads_ok;     /* reloads that compiled (swapped or unchanged) */
    uint64_t reloads_failed; /* reloads refused (the previous snapshot stayed) */
    uint64_t last_reload_us; /* duration of the last reload attempt */
    char version[65];        /* current version, "" when none */
};

/* Copies the paths (files or directories, see policy_compile). Nothing is loaded yet. */
struct policy_store *policy_store_new(const char *const *paths, size_t npaths);
void policy_store_free(struct policy_store *st); /* NULL is a no-op; drops its reference */

/* Recompiles from the configured paths. On success swaps the new snapshot in (unless its
 * version equals the current one: then nothing changes and *changed is false) and returns 0;
 * on error keeps the current snapshot, fills diag (may be NULL) and returns -1. */
int policy_store_reload(struct policy_store *st, struct policy_diag *diag, bool *changed);

/* Whether any configured file (or the set of *.policy files in a configured directory)
 * changed since the last reload attempt, by inode, size and mtime. */
bool policy_store_check_changed(struct policy_store *st);

/* The current snapshot with a reference the caller must drop (policy_snapshot_unref), or
 * NULL if nothing has been loaded. */
struct policy_snapshot *policy_store_acquire(struct policy_store *st);

/* Lock-free read of the generation counter. */
uint64_t policy_store_generation(const struct policy_store *st);

/* Per-worker cache helper: if *gen differs from the store's generation, replaces *snap
 * (dropping the old reference) with a fresh reference and updates *gen. Returns true when
 * it changed (the caller should then drop decision caches). */
bool policy_store_refresh(struct policy_store *st, struct policy_snapshot **snap, uint64_t *gen);

void policy_store_stats(struct policy_store *st, struct policy_store_stats *out);

#endif
