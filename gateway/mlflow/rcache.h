/*
 * rcache: the per-worker cache of look-up answers (DESIGN.md §2 and §4), with coalescing of
 * concurrent look-ups of the same object. One cache per worker thread, used only from that
 * thread (no locks); it does no I/O and reads no clock: the caller passes monotonic
 * milliseconds. It owns its entries and in-flight records; waiters are caller-owned storage.
 *
 * Key: (route object kind, id bytes) as given to lookup_request(). Value: a copy of the
 * struct lookup_facts, in one allocation with the key. Entries live for the kind's TTL
 * (conf.ttl_ms[kind]; rcache_conf_default: 10 min for facts that never change: run, trace,
 * logged model, label schema, review queue, issue and job -> experiment; 30 s for facts
 * that writes change: experiment name/owner/lifecycle, model owner/prompt flag, and dataset
 * -> experiments, which addDatasetToExperiments / removeDatasetFromExperiments change and
 * which other Warden instances would not see invalidated). The cache is bounded by entries
 * and by bytes, evicting the least recently used; get, put and evict are O(1). Hashing is
 * SipHash-1-3 with a per-cache random key, so client-chosen ids cannot flood one bucket.
 * Answers that are not LOOKUP_FOUND are never stored (no negative caching).
 *
 * Coalescing. rcache_get() on an absent key returns RCACHE_MISS and records that a look-up
 * is in flight: the caller performs it and then MUST call rcache_fill() (found) or
 * rcache_fail() (not found, error) for that key exactly once. A get for the same key while
 * the look-up is in flight registers the caller's waiter and returns RCACHE_WAITING; fill and
 * fail wake every waiter synchronously, in registration order, by calling its callback. A
 * callback may call back into the cache (get, fill, fail, cancel, invalidate, clear...), but
 * not rcache_free. A waiter is cancelled in O(1) with rcache_cancel() (client gone); a woken
 * or cancelled waiter is unlinked and may be reused. A look-up in flight for longer than
 * conf.flight_timeout_ms is abandoned by the next get of its key: its waiters are woken with
 * LOOKUP_ERROR and that get becomes the new MISS (a late fill is still stored).
 *
 * Writes. rcache_invalidate() drops a key after Warden forwarded a write that changes its
 * facts (rename, delete/restore, warden.owner tag, dataset experiment links): call it once
 * the upstream has answered the write. A look-up of that key in flight at that moment still
 * wakes its waiters, but its answer is not stored (it may predate the write).
 *
 * Lifetimes. The facts rcache_get() returns point into the cache and stay valid until the
 * next call that changes the cache (any rcache_* call but rcache_stats); copy what must live
 * longer (lookup_facts_copy). The facts given to a callback are the caller's argument of
 * rcache_fill and are valid during the callback only. rcache_free() unlinks the waiters still
 * registered without calling them: to fail them first, call rcache_fail_all().
 */
#ifndef WARDEN_MLFLOW_RCACHE_H
#define WARDEN_MLFLOW_RCACHE_H

#include "mlflow/lookup.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rcache;
struct rcache_flight;

/* st is LOOKUP_FOUND with facts, or NOT_FOUND / ERROR with facts NULL. */
typedef void (*rcache_wake_fn)(void *arg, enum lookup_status st, const struct lookup_facts *facts);

/* Caller-owned; embed it in the request. Fields are private to rcache. Zero-initialise it
 * before its first use; it is linked only from a get that returned RCACHE_WAITING until its
 * wake-up or rcache_cancel, and must not be freed while linked. */
struct rcache_waiter {
    struct rcache_waiter *prev, *next;
    struct rcache_flight *flight;
    rcache_wake_fn fn;
    void *arg;
};

struct rcache_conf {
    size_t max_entries;              /* >= 1; default 10000 */
    size_t max_bytes;                /* keys + facts + bookkeeping; default 16 MiB */
    int64_t ttl_ms[ROUTE_OBJ_COUNT]; /* per kind; 0 = never stored (still coalesced) */
    int64_t flight_timeout_ms;       /* > 0; default 30000 */
    unsigned char hash_key[16];      /* SipHash key; all zero = random (getrandom) */
};

#define RCACHE_TTL_IMMUTABLE_MS (10 * 60 * 1000)
#define RCACHE_TTL_MUTABLE_MS   (30 * 1000)

enum rcache_result {
    RCACHE_HIT = 0, /* *facts set */
    RCACHE_MISS,    /* look it up, then rcache_fill / rcache_fail */
    RCACHE_WAITING, /* the waiter is registered; its callback will run */
};

struct rcache_stats {
    uint64_t hits, misses, waits, fills, failures, evictions, expirations, invalidations,
        abandoned; /* look-ups in flight for longer than flight_timeout_ms */
    size_t entries, bytes, flights, waiters;
};

void rcache_conf_default(struct rcache_conf *conf);

/* Returns a cache, or NULL with a message in err (invalid conf, out of memory). */
struct rcache *rcache_new(const struct rcache_conf *conf, char *err, size_t errlen);
/* Frees every entry and in-flight record; registered waiters are unlinked without being
 * called. NULL is a no-op. Not from a wake-up callback. */
void rcache_free(struct rcache *c);

/*
 * Looks (kind, id) up. HIT: *facts points at the cached facts (see Lifetimes). MISS: the
 * caller must look it up and call rcache_fill or rcache_fail. WAITING: a look-up is in
 * flight; w was registered and fn(arg, ...) will be called once (unless cancelled). When w
 * is NULL, a key in flight gives RCACHE_MISS without registering anything: the caller looks
 * it up alone (its fill or fail is then harmless). A w that is still linked elsewhere is
 * cancelled first.
 */
enum rcache_result rcache_get(struct rcache *c, enum route_object kind, const char *id, size_t len,
                              int64_t now_ms, const struct lookup_facts **facts,
                              struct rcache_waiter *w, rcache_wake_fn fn, void *arg);

/* A hit without side effects on misses: returns true with *facts (see Lifetimes) when the key
 * has a live entry, false otherwise; never records a look-up in flight nor registers a
 * waiter (for callers that only use facts already known, e.g. filtering a list). */
bool rcache_peek(struct rcache *c, enum route_object kind, const char *id, size_t len,
                 int64_t now_ms, const struct lookup_facts **facts);

/* Stores the facts found for (kind, id) (unless the kind's TTL is 0, the key was invalidated
 * while in flight, or the entry would exceed max_bytes) and wakes the waiters with them.
 * Returns 0, or -1 when the entry could not be stored for lack of memory (waiters are woken
 * all the same). */
int rcache_fill(struct rcache *c, enum route_object kind, const char *id, size_t len,
                int64_t now_ms, const struct lookup_facts *facts);

/* The look-up of (kind, id) failed with st (LOOKUP_NOT_FOUND or LOOKUP_ERROR; FOUND is
 * treated as ERROR): wakes the waiters with it. NOT_FOUND also drops a cached entry. */
void rcache_fail(struct rcache *c, enum route_object kind, const char *id, size_t len,
                 enum lookup_status st);

/* Unlinks a registered waiter: its callback will not run. No-op when not linked. O(1). */
void rcache_cancel(struct rcache_waiter *w);

/* Drops the entry of (kind, id), and marks a look-up in flight for it as stale. */
void rcache_invalidate(struct rcache *c, enum route_object kind, const char *id, size_t len);

/* Drops every entry and marks every look-up in flight as stale (upstream or config change). */
void rcache_clear(struct rcache *c);

/* Wakes every waiter of every look-up in flight with st and forgets those look-ups (shutdown:
 * later fills/fails for them are harmless). */
void rcache_fail_all(struct rcache *c, enum lookup_status st);

void rcache_stats(const struct rcache *c, struct rcache_stats *out);

#endif
